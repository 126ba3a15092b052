// config_internal.hpp — parse_config with an injectable environment, so the
// unit tests can check precedence without touching the process environment.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "tlflow/config.hpp"

namespace tlflow {

using env_lookup = std::function<std::optional<std::string>(const std::string& name)>;

result<parsed_config> parse_config(int argc, const char* const* argv, const env_lookup& env);

} // namespace tlflow
