#include "tlflow/gremlin/graphson.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <cctype>
#include <random>
#include <utility>

#include <rapidjson/document.h>
#include <rapidjson/encodedstream.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/internal/dtoa.h>
#include <rapidjson/internal/itoa.h>

namespace tlflow::gremlin::graphson {

namespace {
constexpr std::string_view mime_v1 = "application/vnd.gremlin-v1.0+json";
constexpr std::string_view mime_v2 = "application/vnd.gremlin-v2.0+json";
constexpr std::string_view mime_v3 = "application/vnd.gremlin-v3.0+json";
} // namespace

std::string_view mime_type(version v) noexcept {
  switch (v) {
  case version::v1: return mime_v1;
  case version::v2: return mime_v2;
  case version::v3: return mime_v3;
  }
  return mime_v3;
}

std::optional<version> version_from_mime(std::string_view mime) noexcept {
  auto semi = mime.find(';');
  std::string_view base = mime.substr(0, semi);
  std::string_view params = semi == std::string_view::npos ? std::string_view{} : mime.substr(semi);
  bool untyped = params.find("types=false") != std::string_view::npos;
  if (base == mime_v1) return version::v1;
  if (base == mime_v2) return untyped ? version::v1 : version::v2;
  if (base == mime_v3 || base == "application/json") return untyped ? version::v1 : version::v3;
  return std::nullopt;
}

// ---- value ----------------------------------------------------------------

value value::boolean(bool b) { value v; v.kind_ = kind::boolean; v.b_ = b; return v; }
value value::int32(std::int32_t i) { value v; v.kind_ = kind::int32; v.i_ = i; return v; }
value value::int64(std::int64_t i) { value v; v.kind_ = kind::int64; v.i_ = i; return v; }
value value::float32(float f) { value v; v.kind_ = kind::float32; v.d_ = f; return v; }
value value::float64(double d) { value v; v.kind_ = kind::float64; v.d_ = d; return v; }
value value::integer(std::int64_t i) { value v; v.kind_ = kind::integer; v.i_ = i; return v; }
value value::number(double d) { value v; v.kind_ = kind::number; v.d_ = d; return v; }
value value::string(std::string s) { value v; v.kind_ = kind::string; v.s_ = std::move(s); return v; }
value value::uuid(std::string s) { value v; v.kind_ = kind::uuid; v.s_ = std::move(s); return v; }
value value::date(std::int64_t ms) { value v; v.kind_ = kind::date; v.i_ = ms; return v; }
value value::timestamp(std::int64_t ms) { value v; v.kind_ = kind::timestamp; v.i_ = ms; return v; }
value value::t(std::string s) { value v; v.kind_ = kind::t; v.s_ = std::move(s); return v; }
value value::direction(std::string s) { value v; v.kind_ = kind::direction; v.s_ = std::move(s); return v; }

value value::list() { value v; v.kind_ = kind::list; return v; }
value value::set() { value v; v.kind_ = kind::set; return v; }
value value::array() { value v; v.kind_ = kind::array; return v; }
value value::map() { value v; v.kind_ = kind::map; return v; }
value value::object() { value v; v.kind_ = kind::object; return v; }
value value::vertex(value id, std::string label) { return vertex(std::move(id), std::move(label), value()); }
value value::vertex_property(value id, value x, std::string label) {
  return vertex_property(std::move(id), std::move(x), std::move(label), value());
}
value value::list(std::vector<value> items) { value v; v.kind_ = kind::list; v.items_ = std::move(items); return v; }
value value::set(std::vector<value> items) { value v; v.kind_ = kind::set; v.items_ = std::move(items); return v; }
value value::array(std::vector<value> items) { value v; v.kind_ = kind::array; v.items_ = std::move(items); return v; }

value value::map(std::vector<std::pair<value, value>> entries) {
  value v; v.kind_ = kind::map;
  v.items_.reserve(entries.size() * 2);
  for (auto& [k, x] : entries) { v.items_.push_back(std::move(k)); v.items_.push_back(std::move(x)); }
  return v;
}

value value::object(std::vector<std::pair<std::string, value>> members) {
  value v; v.kind_ = kind::object;
  for (auto& [k, x] : members) { v.keys_.push_back(std::move(k)); v.items_.push_back(std::move(x)); }
  return v;
}

value value::bulkset(std::vector<std::pair<value, std::int64_t>> entries) {
  value v; v.kind_ = kind::bulkset;
  for (auto& [x, n] : entries) { v.items_.push_back(std::move(x)); v.items_.push_back(value::int64(n)); }
  return v;
}

value value::element_of(kind k, value obj) {
  obj.kind_ = k;
  return obj;
}

#define TLFLOW_ELEMENT(k_, members_) return element_of((k_), value::object(members_))

value value::vertex(value id, std::string label, value properties) {
  std::vector<std::pair<std::string, value>> m;
  m.emplace_back("id", std::move(id));
  m.emplace_back("label", value::string(std::move(label)));
  if (!properties.is_null()) m.emplace_back("properties", std::move(properties));
  TLFLOW_ELEMENT(kind::vertex, std::move(m));
}

value value::vertex_property(value id, value x, std::string label, value meta) {
  std::vector<std::pair<std::string, value>> m;
  m.emplace_back("id", std::move(id));
  m.emplace_back("value", std::move(x));
  m.emplace_back("label", value::string(std::move(label)));
  if (!meta.is_null()) m.emplace_back("properties", std::move(meta));
  TLFLOW_ELEMENT(kind::vertex_property, std::move(m));
}

value value::property(std::string key, value x) {
  std::vector<std::pair<std::string, value>> m;
  m.emplace_back("key", value::string(std::move(key)));
  m.emplace_back("value", std::move(x));
  TLFLOW_ELEMENT(kind::property, std::move(m));
}

value value::edge(value id, std::string label, std::string in_label, std::string out_label,
                  value in_v, value out_v, value properties) {
  std::vector<std::pair<std::string, value>> m;
  m.emplace_back("id", std::move(id));
  m.emplace_back("label", value::string(std::move(label)));
  m.emplace_back("inVLabel", value::string(std::move(in_label)));
  m.emplace_back("outVLabel", value::string(std::move(out_label)));
  m.emplace_back("inV", std::move(in_v));
  m.emplace_back("outV", std::move(out_v));
  if (!properties.is_null()) m.emplace_back("properties", std::move(properties));
  TLFLOW_ELEMENT(kind::edge, std::move(m));
}

value value::path(value labels, value objects) {
  std::vector<std::pair<std::string, value>> m;
  m.emplace_back("labels", std::move(labels));
  m.emplace_back("objects", std::move(objects));
  TLFLOW_ELEMENT(kind::path, std::move(m));
}

value value::traverser(std::int64_t bulk, value x) {
  std::vector<std::pair<std::string, value>> m;
  m.emplace_back("bulk", value::int64(bulk));
  m.emplace_back("value", std::move(x));
  TLFLOW_ELEMENT(kind::traverser, std::move(m));
}
#undef TLFLOW_ELEMENT

value value::typed(std::string tag, value payload) {
  value v; v.kind_ = kind::typed; v.s_ = std::move(tag); v.items_.push_back(std::move(payload));
  return v;
}

bool value::is_integral() const noexcept {
  return kind_ == kind::int32 || kind_ == kind::int64 || kind_ == kind::integer ||
         kind_ == kind::date || kind_ == kind::timestamp;
}
bool value::is_numeric() const noexcept {
  return is_integral() || kind_ == kind::float32 || kind_ == kind::float64 || kind_ == kind::number;
}
bool value::is_sequence() const noexcept {
  return kind_ == kind::list || kind_ == kind::set || kind_ == kind::array;
}
bool value::is_mapping() const noexcept { return kind_ == kind::map || kind_ == kind::object; }

std::int64_t value::as_int() const noexcept {
  if (is_integral()) return i_;
  if (kind_ == kind::float32 || kind_ == kind::float64 || kind_ == kind::number) {
    if (!std::isfinite(d_)) return 0;
    return static_cast<std::int64_t>(d_);
  }
  return 0;
}

double value::as_double() const noexcept {
  if (is_integral()) return static_cast<double>(i_);
  return d_;
}

const value* value::get(std::string_view key) const noexcept {
  if (kind_ == kind::map) {
    for (std::size_t i = 0; i + 1 < items_.size(); i += 2)
      if (items_[i].kind_ == kind::string && items_[i].s_ == key) return &items_[i + 1];
    return nullptr;
  }
  for (std::size_t i = 0; i < keys_.size(); ++i)
    if (keys_[i] == key) return &items_[i];
  return nullptr;
}

std::vector<std::pair<value, value>> value::entries() const {
  std::vector<std::pair<value, value>> out;
  if (kind_ == kind::map) {
    for (std::size_t i = 0; i + 1 < items_.size(); i += 2) out.emplace_back(items_[i], items_[i + 1]);
  } else {
    for (std::size_t i = 0; i < keys_.size(); ++i) out.emplace_back(value::string(keys_[i]), items_[i]);
  }
  return out;
}

void value::put(std::string key, value v) {
  if (kind_ == kind::map) {
    items_.push_back(value::string(std::move(key)));
    items_.push_back(std::move(v));
  } else {
    keys_.push_back(std::move(key));
    items_.push_back(std::move(v));
  }
}

bool operator==(const value& a, const value& b) {
  if (a.kind_ != b.kind_) return false;
  switch (a.kind_) {
  case kind::null: return true;
  case kind::boolean: return a.b_ == b.b_;
  case kind::int32: case kind::int64: case kind::integer: case kind::date: case kind::timestamp:
    return a.i_ == b.i_;
  case kind::float32: case kind::float64: case kind::number:
    return a.d_ == b.d_ || (std::isnan(a.d_) && std::isnan(b.d_));
  case kind::string: case kind::uuid: case kind::t: case kind::direction:
    return a.s_ == b.s_;
  default:
    return a.s_ == b.s_ && a.keys_ == b.keys_ && a.items_ == b.items_;
  }
}

// ---- reader ---------------------------------------------------------------
// RapidJSON SAX events build the value tree directly (no DOM in between):
// every object is built as an object, and one that turns out to be exactly
// {"@type": tag, "@value": payload} is converted on its closing brace.

struct sax_access {
  static std::vector<std::string>& keys(value& v) { return v.keys_; }
};

namespace {

struct sax_builder : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, sax_builder> {
  // Children of every open container sit on one flat stack (and object keys
  // on another); a container's closing event moves its range into an exactly
  // sized vector. {"@type": tag, "@value": payload} objects are never built:
  // the payload is converted straight from the stack.
  struct frame {
    std::size_t base;      // first child in vals
    std::size_t key_base;  // first key in keys
    bool object;
  };
  version ver;
  std::vector<value> vals;
  std::vector<std::string> keys;
  std::vector<frame> frames;
  value root;
  std::string error;

  explicit sax_builder(version v) : ver(v) {
    vals.reserve(64);
    keys.reserve(64);
    frames.reserve(32);
  }

  bool add(value&& v) {
    if (frames.empty()) root = std::move(v);
    else vals.push_back(std::move(v));
    return true;
  }
  bool fail(std::string why) {
    if (error.empty()) error = std::move(why);
    return false;
  }

  bool Null() { return add(value()); }
  bool Bool(bool b) { return add(value::boolean(b)); }
  bool Int(int i) { return add(value::integer(i)); }
  bool Uint(unsigned u) { return add(value::integer(u)); }
  bool Int64(std::int64_t i) { return add(value::integer(i)); }
  bool Uint64(std::uint64_t u) {
    if (u <= static_cast<std::uint64_t>(INT64_MAX)) return add(value::integer(static_cast<std::int64_t>(u)));
    return add(value::number(static_cast<double>(u)));
  }
  bool Double(double d) { return add(value::number(d)); }
  bool String(const char* s, rapidjson::SizeType n, bool) { return add(value::string(std::string(s, n))); }
  bool StartObject() {
    frames.push_back({vals.size(), keys.size(), true});
    return true;
  }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    keys.emplace_back(s, n);
    return true;
  }
  // Moves the children of the innermost frame into `into` and pops it.
  void collect(value& into) {
    const frame f = frames.back();
    frames.pop_back();
    auto& items = into.items();
    items.reserve(vals.size() - f.base);
    for (std::size_t i = f.base; i < vals.size(); ++i) items.push_back(std::move(vals[i]));
    vals.resize(f.base);
    if (f.object) {
      auto& ks = sax_access::keys(into);
      ks.reserve(keys.size() - f.key_base);
      for (std::size_t i = f.key_base; i < keys.size(); ++i) ks.push_back(std::move(keys[i]));
      keys.resize(f.key_base);
    }
  }
  bool EndObject(rapidjson::SizeType) {
    const frame f = frames.back();
    if (ver != version::v1 && vals.size() - f.base == 2 && keys.size() - f.key_base == 2 &&
        keys[f.key_base] == "@type" && keys[f.key_base + 1] == "@value" && vals[f.base].is_string()) {
      value out;
      if (!typed(vals[f.base].as_string(), std::move(vals[f.base + 1]), out)) return false;
      frames.pop_back();
      vals.resize(f.base);
      keys.resize(f.key_base);
      return add(std::move(out));
    }
    value v = value::object();
    collect(v);
    return add(std::move(v));
  }
  bool StartArray() {
    frames.push_back({vals.size(), keys.size(), false});
    return true;
  }
  bool EndArray(rapidjson::SizeType) {
    value v = ver == version::v3 ? value::array() : value::list();
    collect(v);
    return add(std::move(v));
  }

  bool int_of(const value& p, std::int64_t& out) {
    if (!p.is_numeric()) return fail("expected an integer payload");
    out = p.as_int();
    return true;
  }
  bool double_of(const value& p, double& out) {
    if (p.is_numeric()) { out = p.as_double(); return true; }
    if (p.is_string()) {
      std::string s = p.as_string();
      for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (s == "nan") { out = std::nan(""); return true; }
      if (s == "infinity" || s == "inf") { out = HUGE_VAL; return true; }
      if (s == "-infinity" || s == "-inf") { out = -HUGE_VAL; return true; }
    }
    return fail("expected a number payload");
  }
  bool string_of(const value& p, std::string& out) {
    if (!p.is_string()) return fail("expected a string payload");
    out = p.as_string();
    return true;
  }
  bool seq_of(value&& p, value&& into, value& out, bool pairs) {
    if (!p.is_sequence()) return fail("expected an array payload");
    if (pairs && p.items().size() % 2 != 0) return fail("odd number of items in a g:Map or g:BulkSet");
    into.items() = std::move(p.items());
    out = std::move(into);
    return true;
  }
  bool element(kind k, value&& p, value& out) {
    if (p.k() != kind::object) return fail("expected an object payload");
    out = value::element_of(k, std::move(p));
    return true;
  }

  bool typed(const std::string& tag, value&& p, value& out) {
    std::int64_t i = 0;
    double d = 0;
    std::string s;
    if (tag.size() < 3 || tag[0] != 'g' || tag[1] != ':') { out = value::typed(tag, std::move(p)); return true; }
    // The most frequent tags first.
    if (tag == "g:Int64") { if (!int_of(p, i)) return false; out = value::int64(i); return true; }
    if (tag == "g:List") return seq_of(std::move(p), value::list(), out, false);
    if (tag == "g:VertexProperty") return element(kind::vertex_property, std::move(p), out);
    if (tag == "g:Vertex") return element(kind::vertex, std::move(p), out);
    if (tag == "g:Int32") { if (!int_of(p, i)) return false; out = value::int32(static_cast<std::int32_t>(i)); return true; }
    if (tag == "g:Int64") { if (!int_of(p, i)) return false; out = value::int64(i); return true; }
    if (tag == "g:Double") { if (!double_of(p, d)) return false; out = value::float64(d); return true; }
    if (tag == "g:Float") { if (!double_of(p, d)) return false; out = value::float32(static_cast<float>(d)); return true; }
    if (tag == "g:UUID") { if (!string_of(p, s)) return false; out = value::uuid(std::move(s)); return true; }
    if (tag == "g:Date") { if (!int_of(p, i)) return false; out = value::date(i); return true; }
    if (tag == "g:Timestamp") { if (!int_of(p, i)) return false; out = value::timestamp(i); return true; }
    if (tag == "g:T") { if (!string_of(p, s)) return false; out = value::t(std::move(s)); return true; }
    if (tag == "g:Direction") { if (!string_of(p, s)) return false; out = value::direction(std::move(s)); return true; }
    if (tag == "g:List") return seq_of(std::move(p), value::list(), out, false);
    if (tag == "g:Set") return seq_of(std::move(p), value::set(), out, false);
    if (tag == "g:Map") return seq_of(std::move(p), value::map(), out, true);
    if (tag == "g:BulkSet") return seq_of(std::move(p), value::bulkset({}), out, true);
    if (tag == "g:Vertex") return element(kind::vertex, std::move(p), out);
    if (tag == "g:Edge") return element(kind::edge, std::move(p), out);
    if (tag == "g:VertexProperty") return element(kind::vertex_property, std::move(p), out);
    if (tag == "g:Property") return element(kind::property, std::move(p), out);
    if (tag == "g:Path") return element(kind::path, std::move(p), out);
    if (tag == "g:Traverser") return element(kind::traverser, std::move(p), out);
    out = value::typed(tag, std::move(p));
    return true;
  }
};

result<value> parse_value(std::string_view text, version ver) {
  sax_builder b(ver);
  rapidjson::Reader reader;
  // Parsed in place in a per-thread, null-terminated copy: strings are
  // unescaped where they lie instead of char by char through a stack.
  thread_local std::string buf;
  buf.assign(text.data(), text.size());
  rapidjson::InsituStringStream is(buf.data());
  reader.Parse<rapidjson::kParseFullPrecisionFlag | rapidjson::kParseInsituFlag>(is, b);
  if (buf.capacity() > (std::size_t{4} << 20)) std::string().swap(buf); // keep at most 4 MB
  if (reader.HasParseError()) {
    if (!b.error.empty()) return error{errc::invalid_argument, "GraphSON: " + b.error};
    return error{errc::malformed_json, std::string("GraphSON: ") + rapidjson::GetParseError_En(reader.GetParseErrorCode()) +
                                           " at offset " + std::to_string(reader.GetErrorOffset())};
  }
  return std::move(b.root);
}

// Moves a member out of an object (leaving null behind).
value take(value& obj, std::string_view key) {
  const auto& ks = obj.keys();
  for (std::size_t i = 0; i < ks.size(); ++i)
    if (ks[i] == key) return std::move(obj.items()[i]);
  return {};
}

} // namespace

// ---- writer ---------------------------------------------------------------

namespace {

// Compact JSON appended to one std::string, byte-for-byte what
// rapidjson::Writer produces (same escapes, same integer and Grisu double
// text), without its per-call bookkeeping: one comma/colon decision per value.
class json_writer {
public:
  explicit json_writer(std::string& out) : out_(out) { levels_.reserve(32); }

  void Null() { prefix(); out_.append("null", 4); }
  void Bool(bool b) { prefix(); if (b) out_.append("true", 4); else out_.append("false", 5); }
  void Int(int i) { Int64(i); }
  void Int64(std::int64_t i) {
    prefix();
    char buf[24];
    char* end = rapidjson::internal::i64toa(i, buf);
    out_.append(buf, static_cast<std::size_t>(end - buf));
  }
  void Double(double d) {
    prefix();
    char buf[32];
    char* end = rapidjson::internal::dtoa(d, buf, 324);
    out_.append(buf, static_cast<std::size_t>(end - buf));
  }
  void String(const char* s) { String(s, std::strlen(s)); }
  void String(const char* s, std::size_t n) { prefix(); quoted(s, n); }
  void Key(const char* s) { Key(s, std::strlen(s)); }
  void Key(const char* s, std::size_t n) { prefix(); quoted(s, n); }
  // A key that needs no escaping, given with its quotes.
  template <std::size_t N> void RawKey(const char (&k)[N]) {
    prefix();
    out_.append(k, N - 1);
  }
  void StartObject() { prefix(); out_.push_back('{'); levels_.push_back(0); }
  void EndObject() { levels_.pop_back(); out_.push_back('}'); }
  void StartArray() { prefix(); out_.push_back('['); levels_.push_back(array_mark); }
  void EndArray() { levels_.pop_back(); out_.push_back(']'); }

private:
  static constexpr std::uint32_t array_mark = 0x80000000u; // high bit: array; low bits: count
  void prefix() {
    if (levels_.empty()) return;
    std::uint32_t& l = levels_.back();
    std::uint32_t n = l & ~array_mark;
    if (n > 0) out_.push_back((l & array_mark) || n % 2 == 0 ? ',' : ':');
    ++l;
  }
  void quoted(const char* s, std::size_t n) {
    static const char hex[] = "0123456789ABCDEF";
    out_.push_back('"');
    std::size_t run = 0;
    for (std::size_t i = 0; i < n; ++i) {
      unsigned char c = static_cast<unsigned char>(s[i]);
      if (c >= 0x20 && c != '"' && c != '\\') continue;
      out_.append(s + run, i - run);
      run = i + 1;
      char e[6] = {'\\', 0, 0, 0, 0, 0};
      std::size_t len = 2;
      switch (c) {
      case '"': e[1] = '"'; break;
      case '\\': e[1] = '\\'; break;
      case '\b': e[1] = 'b'; break;
      case '\t': e[1] = 't'; break;
      case '\n': e[1] = 'n'; break;
      case '\f': e[1] = 'f'; break;
      case '\r': e[1] = 'r'; break;
      default: e[1] = 'u'; e[2] = '0'; e[3] = '0'; e[4] = hex[c >> 4]; e[5] = hex[c & 0xF]; len = 6;
      }
      out_.append(e, len);
    }
    out_.append(s + run, n - run);
    out_.push_back('"');
  }
  std::string& out_;
  std::vector<std::uint32_t> levels_;
};

// The shortest decimal that reads back as the same float, as a double, so
// that the JSON shows 0.1 (as Java's Float.toString does), not 0.100000001.
double float_as_decimal(float f) {
  char buf[48];
  for (int prec = 1; prec <= 9; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, static_cast<double>(f));
    if (std::strtof(buf, nullptr) == f) break;
  }
  return std::strtod(buf, nullptr);
}

struct writer {
  version ver;
  json_writer& w;
  bool objects_as_maps = false; // GraphSON 3 requests: every object as g:Map

  void str(const std::string& s) { w.String(s.data(), s.size()); }
  void key(const std::string& s) { w.Key(s.data(), s.size()); }
  void open(const char* tag) {
    w.StartObject();
    w.RawKey("\"@type\"");
    w.String(tag);
    w.RawKey("\"@value\"");
  }
  void close() { w.EndObject(); }

  void dbl(double d) {
    if (std::isnan(d)) w.String("NaN");
    else if (std::isinf(d)) w.String(d > 0 ? "Infinity" : "-Infinity");
    else w.Double(d);
  }
  void flt(double d) {
    if (!std::isfinite(d)) { dbl(d); return; }
    w.Double(float_as_decimal(static_cast<float>(d)));
  }

  bool typed_mode() const { return ver != version::v1; }

  template <class F> void wrap(const char* tag, F&& body) {
    if (typed_mode()) { open(tag); body(); close(); } else body();
  }

  static std::string key_text(const value& k) {
    switch (k.k()) {
    case kind::string: case kind::uuid: case kind::t: case kind::direction: return k.as_string();
    case kind::boolean: return k.as_bool() ? "true" : "false";
    case kind::null: return "null";
    default:
      if (k.is_integral()) return std::to_string(k.as_int());
      if (k.is_numeric()) { char b[32]; std::snprintf(b, sizeof b, "%.17g", k.as_double()); return b; }
      return write(k, version::v1);
    }
  }

  void array(const std::vector<value>& items) {
    w.StartArray();
    for (const auto& x : items) any(x);
    w.EndArray();
  }

  void members(const value& v, const char* type_name = nullptr, bool skip_label = false) {
    w.StartObject();
    const auto& ks = v.keys();
    for (std::size_t i = 0; i < ks.size(); ++i) {
      if (skip_label && ks[i] == "label") continue;
      key(ks[i]);
      if (v.k() == kind::edge && !typed_mode() && ks[i] == "properties" && v.items()[i].k() == kind::object) {
        // GraphSON 1.0 edges carry bare property values.
        const value& props = v.items()[i];
        w.StartObject();
        for (std::size_t j = 0; j < props.keys().size(); ++j) {
          key(props.keys()[j]);
          const value* pv = props.items()[j].k() == kind::property ? props.items()[j].get("value") : nullptr;
          any(pv ? *pv : props.items()[j]);
        }
        w.EndObject();
      } else {
        any(v.items()[i]);
      }
      if (type_name && ks[i] == "label") { w.Key("type"); w.String(type_name); }
    }
    w.EndObject();
  }

  void element(const char* tag, const value& v, const char* v1_type = nullptr, bool v1_skip_label = false) {
    bool maps = std::exchange(objects_as_maps, false); // an element's payload stays an object
    if (typed_mode()) { open(tag); members(v); close(); }
    else members(v, v1_type, v1_skip_label);
    objects_as_maps = maps;
  }

  void any(const value& v) {
    switch (v.k()) {
    case kind::null: w.Null(); return;
    case kind::boolean: w.Bool(v.as_bool()); return;
    case kind::int32: wrap("g:Int32", [&] { w.Int64(v.as_int()); }); return;
    case kind::int64: wrap("g:Int64", [&] { w.Int64(v.as_int()); }); return;
    case kind::float32: wrap("g:Float", [&] { flt(v.as_double()); }); return;
    case kind::float64: wrap("g:Double", [&] { dbl(v.as_double()); }); return;
    case kind::integer: w.Int64(v.as_int()); return;
    case kind::number: dbl(v.as_double()); return;
    case kind::string: str(v.as_string()); return;
    case kind::uuid: wrap("g:UUID", [&] { str(v.as_string()); }); return;
    case kind::date: wrap("g:Date", [&] { w.Int64(v.as_int()); }); return;
    case kind::timestamp: wrap("g:Timestamp", [&] { w.Int64(v.as_int()); }); return;
    case kind::t: wrap("g:T", [&] { str(v.as_string()); }); return;
    case kind::direction: wrap("g:Direction", [&] { str(v.as_string()); }); return;
    case kind::list:
      if (ver == version::v3) { open("g:List"); array(v.items()); close(); } else array(v.items());
      return;
    case kind::set:
      if (ver == version::v3) { open("g:Set"); array(v.items()); close(); } else array(v.items());
      return;
    case kind::array: array(v.items()); return;
    case kind::map:
      if (ver == version::v3) { open("g:Map"); array(v.items()); close(); return; }
      w.StartObject();
      for (std::size_t i = 0; i + 1 < v.items().size(); i += 2) {
        key(key_text(v.items()[i]));
        any(v.items()[i + 1]);
      }
      w.EndObject();
      return;
    case kind::object:
      if (objects_as_maps && ver == version::v3) {
        open("g:Map");
        w.StartArray();
        for (std::size_t i = 0; i < v.keys().size(); ++i) {
          str(v.keys()[i]);
          any(v.items()[i]);
        }
        w.EndArray();
        close();
        return;
      }
      members(v);
      return;
    case kind::bulkset:
      if (ver == version::v3) { open("g:BulkSet"); array(v.items()); close(); return; }
      w.StartArray();
      for (std::size_t i = 0; i + 1 < v.items().size(); i += 2)
        for (std::int64_t n = 0; n < v.items()[i + 1].as_int(); ++n) any(v.items()[i]);
      w.EndArray();
      return;
    case kind::vertex: element("g:Vertex", v, "vertex"); return;
    case kind::edge: element("g:Edge", v, "edge"); return;
    case kind::vertex_property: element("g:VertexProperty", v, nullptr, true); return;
    case kind::property: element("g:Property", v); return;
    case kind::path: element("g:Path", v); return;
    case kind::traverser: element("g:Traverser", v); return;
    case kind::typed: {
      bool maps = std::exchange(objects_as_maps, false); // kept verbatim
      if (typed_mode()) { open(v.as_string().c_str()); any(v.payload()); close(); }
      else any(v.payload());
      objects_as_maps = maps;
      return;
    }
    }
  }
};

void render_into(std::string& out, version ver, const std::function<void(writer&)>& body) {
  out.clear();
  json_writer w(out);
  writer wr{ver, w};
  body(wr);
}
std::string render(version ver, const std::function<void(writer&)>& body) {
  std::string out;
  out.reserve(256);
  render_into(out, ver, body);
  return out;
}

std::optional<std::string> id_text(const value& v) {
  if (v.k() == kind::string || v.k() == kind::uuid) return v.as_string();
  return std::nullopt;
}

} // namespace

std::string write(const value& v, version ver) {
  return render(ver, [&](writer& w) { w.any(v); });
}

result<value> read(std::string_view text, version ver) {
  return parse_value(text, ver);
}

std::string write_request(const request& req, version ver) {
  return render(ver, [&](writer& w) {
    w.w.StartObject();
    w.w.Key("requestId"); w.str(req.request_id);
    w.w.Key("op"); w.str(req.op);
    w.w.Key("processor"); w.str(req.processor);
    w.w.Key("args");
    w.objects_as_maps = true;
    const bool v3 = ver == version::v3;
    auto member = [&](const std::string& k, const value& v) {
      if (v3) w.str(k); else w.key(k);
      w.any(v);
    };
    if (v3) { w.open("g:Map"); w.w.StartArray(); } else { w.w.StartObject(); }
    const auto& a = req.args.items();
    if (req.args.k() == kind::map) // as read_request gives GraphSON 3 args
      for (std::size_t i = 0; i + 1 < a.size(); i += 2) member(writer::key_text(a[i]), a[i + 1]);
    else
      for (std::size_t i = 0; i < req.args.keys().size(); ++i) member(req.args.keys()[i], a[i]);
    if (req.bindings) member("bindings", *req.bindings);
    if (v3) { w.w.EndArray(); w.close(); } else { w.w.EndObject(); }
    w.w.EndObject();
  });
}

result<request> read_request(std::string_view text, version ver) {
  auto parsed = parse_value(text, ver);
  if (!parsed) return std::move(parsed).err();
  value& v = *parsed;
  if (v.k() != kind::object) return error{errc::invalid_argument, "request is not an object"};
  request out;
  const value* id = v.get("requestId");
  if (!id || !id_text(*id)) return error{errc::invalid_argument, "requestId missing"};
  out.request_id = *id_text(*id);
  const value* op = v.get("op");
  if (!op || !op->is_string()) return error{errc::invalid_argument, "op missing"};
  out.op = op->as_string();
  if (const value* p = v.get("processor"); p && p->is_string()) out.processor = p->as_string();
  if (const value* a = v.get("args"); a && a->is_mapping()) out.args = take(v, "args");
  return out;
}

result<response> read_response(std::string_view text, version ver) {
  auto parsed = parse_value(text, ver);
  if (!parsed) return std::move(parsed).err();
  value& v = *parsed;
  if (v.k() != kind::object) return error{errc::invalid_argument, "response is not an object"};
  response out;
  if (const value* id = v.get("requestId"); id) out.request_id = id_text(*id);
  value st = take(v, "status");
  if (st.k() != kind::object) return error{errc::invalid_argument, "status missing"};
  const value* code = st.get("code");
  if (!code || !code->is_numeric()) return error{errc::invalid_argument, "status.code missing"};
  out.code = static_cast<int>(code->as_int());
  if (const value* m = st.get("message"); m && m->is_string()) out.message = m->as_string();
  if (st.get("attributes")) out.attributes = take(st, "attributes");
  value res = take(v, "result");
  if (res.k() == kind::object) {
    if (res.get("data")) out.data = take(res, "data");
    if (res.get("meta")) out.meta = take(res, "meta");
  }
  return out;
}

std::string write_response(const response& resp, version ver) {
  std::string out;
  out.reserve(256);
  write_response(resp, ver, out);
  return out;
}

void write_response(const response& resp, version ver, std::string& out) {
  render_into(out, ver, [&](writer& w) {
    w.w.StartObject();
    w.w.Key("requestId");
    if (resp.request_id) w.str(*resp.request_id); else w.w.Null();
    w.w.Key("status");
    w.w.StartObject();
    w.w.Key("message"); w.str(resp.message);
    w.w.Key("code"); w.w.Int(resp.code);
    w.w.Key("attributes");
    w.objects_as_maps = true;
    w.any(resp.attributes);
    w.objects_as_maps = false;
    w.w.EndObject();
    w.w.Key("result");
    w.w.StartObject();
    w.w.Key("data"); w.any(resp.data);
    w.w.Key("meta");
    w.objects_as_maps = true;
    w.any(resp.meta);
    w.w.EndObject();
    w.w.EndObject();
  });
}

std::string random_uuid() {
  thread_local std::mt19937_64 rng{std::random_device{}() ^
                                   (static_cast<std::uint64_t>(std::random_device{}()) << 32)};
  std::uint64_t hi = rng(), lo = rng();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL; // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL; // variant 10
  char buf[37];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx",
                static_cast<unsigned>(hi >> 32), static_cast<unsigned>((hi >> 16) & 0xffff),
                static_cast<unsigned>(hi & 0xffff), static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}
} // namespace tlflow::gremlin::graphson
