// The one function that writes user data into Gremlin text, for servers that
// accept no bindings (Amazon Neptune). Everything else uses bindings.
//
// The literal is single-quoted and pure printable ASCII: `'` and `\` are
// backslash-escaped, every other character outside 0x20..0x7E is written as
// \uXXXX (UTF-16, surrogate pairs above U+FFFF; invalid UTF-8 bytes become
// U+FFFD). So no input can end the literal early or inject a token, in the
// Groovy grammar and in TinkerPop's gremlin-language grammar alike
// (fuzz/neptune_escape_fuzz.cpp checks it).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tlflow::gremlin {

std::string gremlin_string_literal(std::string_view utf8);

// Reads back a literal written by gremlin_string_literal (the reference
// decoder the fuzz target and the tests use). nullopt when `text` is not
// exactly one such literal.
std::optional<std::string> parse_gremlin_string_literal(std::string_view text);

} // namespace tlflow::gremlin
