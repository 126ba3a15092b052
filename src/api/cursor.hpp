// api/cursor.hpp — opaque paging cursors: base64url (no padding) of the
// store's resume key with a tag, so a vertex cursor is refused on /edges.
// Clients must treat them as opaque; a malformed one is 400 invalid_argument.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "tlflow/model.hpp"

namespace tlflow::api {

std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

std::string vertex_cursor(const std::string& after_id);
std::optional<std::string> parse_vertex_cursor(std::string_view cursor);

std::string edge_cursor(const edge_key& after);
std::optional<edge_key> parse_edge_cursor(std::string_view cursor);

} // namespace tlflow::api
