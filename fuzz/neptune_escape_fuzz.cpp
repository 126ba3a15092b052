// libFuzzer target: no input escapes its Gremlin string literal.
//
// For any bytes, gremlin_string_literal() must give one single-quoted token
// of printable ASCII in which every quote is escaped, that the reference
// decoder reads back as the input (with invalid UTF-8 replaced by U+FFFD),
// and that stays one literal when spliced into a Neptune template by
// inline_bindings(): the text around it is unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "gremlin/escape.hpp"
#include "tlflow/gremlin/graphson.hpp"
#include "store/gremlin/scripts.hpp"
#include "tlflow/model.hpp"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

// Scans a literal the way a Gremlin lexer does: from the opening quote to the
// first quote not preceded by a backslash escape. Returns the end index.
std::size_t lex_literal(const std::string& s, std::size_t at) {
  check(s[at] == '\'');
  for (std::size_t i = at + 1; i < s.size(); ++i) {
    if (s[i] == '\\') { ++i; continue; }
    if (s[i] == '\'') return i;
  }
  std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  std::string lit = tlflow::gremlin::gremlin_string_literal(in);

  check(lit.size() >= 2 && lit.front() == '\'' && lit.back() == '\'');
  for (char c : lit) check(c >= 0x20 && c <= 0x7E);
  check(lex_literal(lit, 0) == lit.size() - 1); // the literal ends exactly at its end

  auto back = tlflow::gremlin::parse_gremlin_string_literal(lit);
  check(back.has_value());
  if (tlflow::is_valid_utf8(in)) check(*back == in);

  // Spliced into a template, the text before and after is intact.
  const std::string before = "g.V().has('account','vid',";
  const std::string after = ").drop()";
  auto text = tlflow::gremlin::inline_bindings(
      before + "b_x" + after,
      tlflow::gremlin::graphson::value::object({{"b_x", tlflow::gremlin::graphson::value::string(in)}}));
  check(text.ok());
  check(text->compare(0, before.size(), before) == 0);
  std::size_t end = lex_literal(*text, before.size());
  check(text->substr(end + 1) == after);
  return 0;
}
