// libFuzzer target: no input escapes its XML, CSV or JSON context in an
// export (api/export_format.hpp).
//
// For any bytes: the XML text is valid UTF-8 holding no character XML 1.0
// forbids, no '<', '>', '"', '\'' and no '&' that does not start one of the
// entities or references the escaper writes; the CSV field is one field
// (quoted exactly when it must be, every inner quote doubled); the JSON
// string is one string token with no raw control character.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "api/export_format.hpp"
#include "tlflow/model.hpp"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool starts_with(const std::string& s, std::size_t at, const char* lit) {
  return s.compare(at, std::char_traits<char>::length(lit), lit) == 0;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);

  std::string x;
  tlflow::api::append_xml_escaped(x, in);
  check(tlflow::is_valid_utf8(x));
  for (std::size_t i = 0; i < x.size(); ++i) {
    const auto c = static_cast<unsigned char>(x[i]);
    check(c >= 0x20);  // tab, LF and CR leave as references: attribute values keep them
    check(c != '<' && c != '>' && c != '"' && c != '\'');
    if (c == '&') {
      check(starts_with(x, i, "&amp;") || starts_with(x, i, "&lt;") || starts_with(x, i, "&gt;") ||
            starts_with(x, i, "&quot;") || starts_with(x, i, "&apos;") || starts_with(x, i, "&#9;") ||
            starts_with(x, i, "&#10;") || starts_with(x, i, "&#13;"));
    }
  }
  check(x.find("\xEF\xBF\xBE") == std::string::npos && x.find("\xEF\xBF\xBF") == std::string::npos);

  std::string c;
  tlflow::api::append_csv_field(c, in);
  check(tlflow::is_valid_utf8(c));
  if (!c.empty() && c.front() == '"') {
    check(c.size() >= 2 && c.back() == '"');
    const std::string inner = c.substr(1, c.size() - 2);
    for (std::size_t i = 0; i < inner.size(); ++i) {
      if (inner[i] != '"') continue;
      check(i + 1 < inner.size() && inner[i + 1] == '"');
      ++i;
    }
  } else {
    check(c.find_first_of(",\"\r\n") == std::string::npos);
  }

  std::string j;
  tlflow::api::append_json_string(j, in);
  check(tlflow::is_valid_utf8(j));
  check(j.size() >= 2 && j.front() == '"' && j.back() == '"');
  for (std::size_t i = 1; i + 1 < j.size(); ++i) {
    check(static_cast<unsigned char>(j[i]) >= 0x20);
    if (j[i] == '\\') {
      ++i;
      continue;
    }
    check(j[i] != '"');
  }
  return 0;
}
