// Values to GraphSON text: write, write_request, write_response.
#include "gremlin/graphson_internal.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iterator>

// Only RapidJSON's integer and Grisu double formatting, in the plain
// `rapidjson` namespace as the other parts of tlflow use it (no SSE2: that
// is the reader's, in its own namespace, graphson_reader.cpp).
#include <rapidjson/internal/dtoa.h>
#include <rapidjson/internal/itoa.h>

namespace tlflow::gremlin::graphson {

// ---- writer ---------------------------------------------------------------

namespace {

// Compact JSON appended to one std::string, byte-for-byte what
// rapidjson::Writer produces (same escapes, same integer and Grisu double
// text), without its per-call bookkeeping: one comma/colon decision per value.
class json_writer {
public:
  // Writes into `out` from its start, sized up front and trimmed by the
  // destructor, so that each piece is a bounds check and a memcpy.
  explicit json_writer(std::string& out) : out_(out) {
    levels_.reserve(32);
    out_.resize(std::max<std::size_t>(out_.capacity(), 256));
  }
  ~json_writer() { out_.resize(n_); }
  json_writer(const json_writer&) = delete;
  json_writer& operator=(const json_writer&) = delete;

  void Null() { prefix(); put("null"); }
  void Bool(bool b) { prefix(); if (b) put("true"); else put("false"); }
  void Int(int i) { Int64(i); }
  void Int64(std::int64_t i) {
    prefix();
    char* p = room(24);
    n_ += static_cast<std::size_t>(rapidjson::internal::i64toa(i, p) - p);
  }
  void Double(double d) {
    prefix();
    char* p = room(32);
    n_ += static_cast<std::size_t>(rapidjson::internal::dtoa(d, p, 324) - p);
  }
  void String(const char* s) { String(s, std::strlen(s)); }
  void String(const char* s, std::size_t n) { prefix(); quoted(s, n); }
  void Key(const char* s) { Key(s, std::strlen(s)); }
  void Key(const char* s, std::size_t n) { prefix(); quoted(s, n); }
  // A key that needs no escaping, given with its quotes.
  template <std::size_t N> void RawKey(const char (&k)[N]) {
    prefix();
    put(k);
  }
  // {"@type":"tag","@value" for a tag that needs no escaping; the payload
  // that follows brings its colon, EndObject the closing brace.
  template <std::size_t N> void StartTyped(const char (&tag)[N]) {
    prefix();
    put("{\"@type\":\"");
    put(tag);
    put("\",\"@value\"");
    levels_.push_back(3);
  }
  void StartObject() { prefix(); put("{"); levels_.push_back(0); }
  void EndObject() { levels_.pop_back(); put("}"); }
  void StartArray() { prefix(); put("["); levels_.push_back(array_mark); }
  void EndArray() { levels_.pop_back(); put("]"); }

private:
  static constexpr std::uint32_t array_mark = 0x80000000u; // high bit: array; low bits: count
  TLFLOW_INLINE char* room(std::size_t n) {
    if (n_ + n > out_.size()) out_.resize(std::max(out_.size() * 2, n_ + n));
    return &out_[n_];
  }
  TLFLOW_INLINE void put(const char* s, std::size_t n) {
    std::memcpy(room(n), s, n);
    n_ += n;
  }
  template <std::size_t N> TLFLOW_INLINE void put(const char (&lit)[N]) { put(lit, N - 1); }
  TLFLOW_INLINE void prefix() {
    if (levels_.empty()) return;
    std::uint32_t& l = levels_.back();
    std::uint32_t n = l & ~array_mark;
    if (n > 0) put((l & array_mark) || n % 2 == 0 ? "," : ":");
    ++l;
  }
  static bool needs_escape(unsigned char c) {
    static constexpr auto table = [] {
      std::array<bool, 256> t{};
      for (std::size_t i = 0; i < 0x20; ++i) t[i] = true;
      t['"'] = t['\\'] = true;
      return t;
    }();
    return table[c];
  }
  void quoted(const char* s, std::size_t n) {
    std::size_t clean = 0;
    while (clean < n && !needs_escape(static_cast<unsigned char>(s[clean]))) ++clean;
    if (clean == n) { // the usual case: one copy
      char* p = room(n + 2);
      p[0] = '"';
      std::memcpy(p + 1, s, n);
      p[n + 1] = '"';
      n_ += n + 2;
      return;
    }
    static const char hex[] = "0123456789ABCDEF";
    put("\"");
    put(s, clean);
    std::size_t run = clean;
    for (std::size_t i = clean; i < n; ++i) {
      unsigned char c = static_cast<unsigned char>(s[i]);
      if (!needs_escape(c)) continue;
      put(s + run, i - run);
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
      put(e, len);
    }
    put(s + run, n - run);
    put("\"");
  }
  std::string& out_;
  std::size_t n_ = 0; // bytes written; out_ is longer until the destructor
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

  void str(std::string_view s) { w.String(s.data(), s.size()); }
  void key(std::string_view s) { w.Key(s.data(), s.size()); }
  template <std::size_t N> void open(const char (&tag)[N]) { w.StartTyped(tag); }
  void open(std::string_view tag) { // any tag, escaped
    w.StartObject();
    w.RawKey("\"@type\"");
    str(tag);
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

  template <std::size_t N, class F> void wrap(const char (&tag)[N], F&& body) {
    if (typed_mode()) { open(tag); body(); close(); } else body();
  }

  static std::string key_text(const value& k) {
    switch (k.k()) {
    case kind::string: case kind::uuid: case kind::t: case kind::direction: return std::string(k.as_string());
    case kind::boolean: return k.as_bool() ? "true" : "false";
    case kind::null: return "null";
    default:
      if (k.is_integral()) return std::to_string(k.as_int());
      if (k.is_numeric()) { char b[32]; std::snprintf(b, sizeof b, "%.17g", k.as_double()); return b; }
      return write(k, version::v1);
    }
  }

  void array(span<const value> items) {
    w.StartArray();
    for (const auto& x : items) any(x);
    w.EndArray();
  }

  void members(const value& v, const char* type_name = nullptr, bool skip_label = false) {
    w.StartObject();
    const auto it = v.items();
    for (std::size_t i = 0; i + 1 < it.size(); i += 2) {
      const std::string_view k = it[i].as_string();
      if (skip_label && k == "label") continue;
      key(k);
      const value& x = it[i + 1];
      if (v.k() == kind::edge && !typed_mode() && k == "properties" && x.k() == kind::object) {
        // GraphSON 1.0 edges carry bare property values.
        w.StartObject();
        for (std::size_t j = 0; j + 1 < x.items().size(); j += 2) {
          const value& p = x.items()[j + 1];
          key(x.items()[j].as_string());
          const value* pv = p.k() == kind::property ? p.get("value") : nullptr;
          any(pv ? *pv : p);
        }
        w.EndObject();
      } else {
        any(x);
      }
      if (type_name && k == "label") { w.Key("type"); w.String(type_name); }
    }
    w.EndObject();
  }

  template <std::size_t N>
  void element(const char (&tag)[N], const value& v, const char* v1_type = nullptr, bool v1_skip_label = false) {
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
        array(v.items());
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
      if (typed_mode()) { open(v.as_string()); any(v.payload()); close(); }
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

} // namespace

std::string write(const value& v, version ver) {
  return render(ver, [&](writer& w) { w.any(v); });
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
    const auto a = req.args.items();
    for (std::size_t i = 0; i + 1 < a.size(); i += 2) member(writer::key_text(a[i]), a[i + 1]);
    if (req.bindings) member("bindings", *req.bindings);
    if (v3) { w.w.EndArray(); w.close(); } else { w.w.EndObject(); }
    w.w.EndObject();
  });
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

} // namespace tlflow::gremlin::graphson
