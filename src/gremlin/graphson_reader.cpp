// GraphSON text to values: read, read_request, read_response.
#include "gremlin/graphson_internal.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <system_error>

// RapidJSON with its SSE2 string and whitespace scans, in a namespace of
// this file's own: those scans load 16 aligned bytes at a time and may read
// up to 15 bytes past the end of the text, which parse_value's buffer pads
// with zeros; the other parsers of tlflow read unpadded buffers and use the
// plain `rapidjson` namespace without them.
#if defined(__SSE2__)
#define RAPIDJSON_SSE2
#endif
#define RAPIDJSON_NAMESPACE tlflow_graphson_rapidjson
#define RAPIDJSON_NAMESPACE_BEGIN namespace tlflow_graphson_rapidjson {
#define RAPIDJSON_NAMESPACE_END }
#include <rapidjson/reader.h>
#include <rapidjson/error/en.h>
namespace rapidjson = tlflow_graphson_rapidjson;

namespace tlflow::gremlin::graphson {

// ---- reader ---------------------------------------------------------------
// RapidJSON SAX events build the value tree directly (no DOM in between).
// A {"@type": tag, "@value": payload} wrapper is recognised as its keys
// arrive and never built: its tag is remembered, its payload is built as the
// wrapper's value, and on the closing brace the payload is retyped where it
// lies (a g:List's array becomes the list, a g:Int64's number the int64).
// An object that turns out to be something else is rebuilt as an object.

namespace {

// s == literal, compared inline (a known length lets the compiler unroll it).
template <std::size_t N> bool is(std::string_view s, const char (&lit)[N]) {
  return s.size() == N - 1 && std::memcmp(s.data(), lit, N - 1) == 0;
}

// The children of every open container, on one flat stack: a container's
// closing event moves their bytes into its exactly sized block.
class value_stack {
public:
  value_stack() = default;
  ~value_stack() {
    clear();
    ::operator delete(p_);
  }
  value_stack(const value_stack&) = delete;
  value_stack& operator=(const value_stack&) = delete;

  std::size_t size() const noexcept { return n_; }
  value& back() noexcept { return p_[n_ - 1]; }
  TLFLOW_INLINE value& emplace_back() {
    if (n_ == cap_) grow(n_ + 1);
    return *new (p_ + n_++) value();
  }
  void pop_back() noexcept { p_[--n_].~value(); }
  // The values from `base` on, moved into a new block (they leave).
  std::pair<value*, std::size_t> take_from(std::size_t base) {
    const std::size_t n = n_ - base;
    value* block = sax_access::new_block(sax_access::checked_size(n));
    sax_access::relocate(block, p_ + base, n);
    n_ = base;
    return {block, n};
  }
  // Puts n values (moved from `from`) at `pos`, after the values before it.
  void insert(std::size_t pos, value* from, std::size_t n) {
    if (n_ + n > cap_) grow(n_ + n);
    std::memmove(static_cast<void*>(p_ + pos + n), static_cast<const void*>(p_ + pos), (n_ - pos) * sizeof(value));
    for (std::size_t i = 0; i < n; ++i) new (p_ + pos + i) value(std::move(from[i]));
    n_ += n;
  }
  // Empties the stack; above `keep` values of room, gives it back.
  void clear(std::size_t keep = SIZE_MAX) noexcept {
    while (n_ > 0) pop_back();
    if (cap_ > keep) {
      ::operator delete(p_);
      p_ = nullptr;
      cap_ = 0;
    }
  }

private:
  void grow(std::size_t need) {
    std::size_t cap = std::max({need, cap_ * 2, std::size_t{256}});
    auto* p = static_cast<value*>(::operator new(cap * sizeof(value)));
    sax_access::relocate(p, p_, n_);
    ::operator delete(p_);
    p_ = p;
    cap_ = cap;
  }
  value* p_ = nullptr;
  std::size_t n_ = 0, cap_ = 0;
};

struct sax_builder : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, sax_builder> {
  // Children of open containers (an object's keys as strings, each before
  // its value) on the stack; each open container's frame.
  enum class wrap : std::uint8_t {
    none,      // a plain object (or not yet known)
    type_key,  // its first key was "@type"
    tag,       // ... then a string: the tag
    value_key, // ... then "@value": what follows is the payload
  };
  struct frame {
    std::size_t base;      // first child in vals
    wrap w;
    std::string_view tag;  // points into the parsed buffer
  };
  using access = sax_access;
  version ver;
  // Per thread, so that their capacity outlives one parse.
  value_stack& vals;
  std::vector<frame>& frames;
  value root;
  std::string error;

  sax_builder(version v, value_stack& stack, std::vector<frame>& open_frames)
      : ver(v), vals(stack), frames(open_frames) {}
  ~sax_builder() { // left over after an error
    vals.clear(4096);
    frames.clear();
  }
  sax_builder(const sax_builder&) = delete;
  sax_builder& operator=(const sax_builder&) = delete;

  bool fail(std::string why) {
    if (error.empty()) error = std::move(why);
    return false;
  }

  // A wrapper that turned out to be a plain object: its suppressed "@type"
  // key, tag and "@value" key are put back where they belong.
  void unwrap(frame& f) {
    if (f.w == wrap::none) return;
    value put_back[3];
    std::size_t n = 0;
    access::set_string(put_back[n++], "@type", 5);
    if (f.w != wrap::type_key) access::set_string(put_back[n++], f.tag.data(), f.tag.size());
    if (f.w == wrap::value_key) access::set_string(put_back[n++], "@value", 6);
    f.w = wrap::none;
    // Before the payload, if it has been read already.
    vals.insert(f.base, put_back, n);
  }
  // Where the next value goes: the root, or the innermost container.
  TLFLOW_INLINE value& slot() {
    if (frames.empty()) return root;
    if (frames.back().w == wrap::type_key) unwrap(frames.back()); // a tag that is not a string
    return vals.emplace_back();
  }

  bool Null() { slot(); return true; }
  bool Bool(bool b) { access::set_bool(slot(), b); return true; }
  // Numbers arrive as their text (RapidJSON has checked the grammar) and
  // are converted here: RapidJSON 1.1's full-precision conversion gets a
  // zero with an exponent wrong ("0E47" read as 4.8e111, found by
  // graphson_fuzz), and its fast one is not exact. from_chars is both.
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
    const char* end = s + n;
    std::int64_t i = 0;
    if (auto r = std::from_chars(s, end, i); r.ec == std::errc() && r.ptr == end) { // an integer that fits
      access::set_int(slot(), kind::integer, i);
      return true;
    }
    double d = 0;
    auto [ptr, ec] = std::from_chars(s, end, d);
    if (ec == std::errc::result_out_of_range) {
      // Too small: zero (as RapidJSON and Java read it). Too big: an error.
      const char* e = std::find_if(s, end, [](char c) { return c == 'e' || c == 'E'; });
      if (e + 1 < end && e[1] == '-') d = *s == '-' ? -0.0 : 0.0;
      else return fail("number out of range: " + std::string(s, std::min<std::size_t>(n, 40)));
    } else if (ec != std::errc() || ptr != end) {
      return fail("not a number: " + std::string(s, std::min<std::size_t>(n, 40)));
    }
    access::set_double(slot(), kind::number, d);
    return true;
  }
  bool String(const char* s, rapidjson::SizeType n, bool) {
    if (!frames.empty() && frames.back().w == wrap::type_key) {
      frames.back().w = wrap::tag;
      frames.back().tag = std::string_view(s, n);
      return true;
    }
    access::set_padded_string(slot(), s, n);
    return true;
  }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    frame& f = frames.back();
    const std::string_view k(s, n);
    if (f.w == wrap::none) {
      if (ver != version::v1 && is(k, "@type") && vals.size() == f.base) {
        f.w = wrap::type_key;
        return true;
      }
    } else if (f.w == wrap::tag && is(k, "@value")) {
      f.w = wrap::value_key;
      return true;
    } else {
      unwrap(f);
    }
    access::set_padded_string(vals.emplace_back(), s, n);
    return true;
  }
  bool StartObject() { return open(); }
  bool StartArray() { return open(); }
  // Deeper input is refused before RapidJSON's recursion (and then this
  // tree's destructor and writer) can run out of stack; Gremlin results
  // nest a few dozen levels at most.
  static constexpr std::size_t max_depth = 256;
  bool open() {
    if (frames.size() >= max_depth) return fail("nested deeper than " + std::to_string(max_depth) + " levels");
    if (!frames.empty() && frames.back().w == wrap::type_key) unwrap(frames.back());
    frames.push_back({vals.size(), wrap::none, {}});
    return true;
  }

  // Closes the innermost container as a value of kind `k`.
  bool close(kind k) {
    const std::size_t base = frames.back().base;
    frames.pop_back();
    auto [block, n] = vals.take_from(base);
    access::adopt(slot(), k, block, n); // where the values were: no allocation, no leak
    return true;
  }
  bool EndObject(rapidjson::SizeType) {
    frame& f = frames.back();
    if (f.w == wrap::value_key && vals.size() == f.base + 1) {
      const std::string_view tag = f.tag;
      frames.pop_back();
      if (frames.empty()) { // the payload was the root's only child
        root = std::move(vals.back());
        vals.pop_back();
        return retyped(tag, root);
      }
      return retyped(tag, vals.back());
    }
    unwrap(f);
    return close(kind::object);
  }
  bool EndArray(rapidjson::SizeType) { return close(ver == version::v3 ? kind::array : kind::list); }

  bool int_payload(value& p, kind k) {
    if (!p.is_numeric()) return fail("expected an integer payload");
    std::int64_t i = p.as_int();
    if (k == kind::int32) i = static_cast<std::int32_t>(i);
    access::set_int(p, k, i);
    return true;
  }
  bool double_payload(value& p, kind k) {
    double d = 0;
    if (p.is_numeric()) {
      d = p.as_double();
    } else if (p.is_string()) {
      std::string s(p.as_string());
      for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (s == "nan") d = std::nan("");
      else if (s == "infinity" || s == "inf") d = HUGE_VAL;
      else if (s == "-infinity" || s == "-inf") d = -HUGE_VAL;
      else return fail("expected a number payload");
      p = value();
    } else {
      return fail("expected a number payload");
    }
    if (k == kind::float32) d = static_cast<float>(d);
    access::set_double(p, k, d);
    return true;
  }
  bool string_payload(value& p, kind k) {
    if (!p.is_string()) return fail("expected a string payload");
    access::retype(p, k);
    return true;
  }
  bool seq_payload(value& p, kind k, bool pairs) {
    if (!p.is_sequence()) return fail("expected an array payload");
    if (pairs && p.items().size() % 2 != 0) return fail("odd number of items in a g:Map or g:BulkSet");
    access::retype(p, k);
    return true;
  }
  // A bulk set stands for its items repeated and the client expands it: a
  // few bytes with a bulk of 10^13 must not become 10^13 copies, nor a
  // 1 MB string with a bulk of 2^20 a terabyte. So the copies are bounded
  // by the message that carries them: all the bulk sets of one message
  // together may expand to at most bulk_budget bytes of values (set by
  // parse_value from the message's size), each copy costing what the item
  // occupies in memory.
  std::int64_t bulk_budget = 0;
  static std::int64_t footprint(const value& v) { // bytes, depth bounded by max_depth
    std::int64_t n = static_cast<std::int64_t>(sizeof(value));
    const std::string_view t = v.as_string();
    if (t.size() > 24) n += static_cast<std::int64_t>(t.size());
    for (const value& c : v.items()) n += footprint(c);
    return n;
  }
  bool bulks_bounded(const value& p) {
    for (std::size_t i = 1; i < p.items().size(); i += 2) {
      const value& b = p.items()[i];
      if (!b.is_integral() || b.as_int() < 0) return fail("a g:BulkSet bulk is not a count");
      const std::int64_t copy = footprint(p.items()[i - 1]);
      if (b.as_int() > bulk_budget / copy)
        return fail("a g:BulkSet expands past what its message can carry (bulk " + std::to_string(b.as_int()) +
                    " of a " + std::to_string(copy) + "-byte item)");
      bulk_budget -= b.as_int() * copy;
    }
    return true;
  }
  bool element_payload(value& p, kind k) {
    if (p.k() != kind::object) return fail("expected an object payload");
    access::retype(p, k);
    return true;
  }

  // Turns payload `p` of a wrapper tagged `tag` into the value it stands for.
  bool retyped(std::string_view tag, value& p) {
    if (tag.size() > 2 && tag[0] == 'g' && tag[1] == ':') {
      const std::string_view t = tag.substr(2);
      // The most frequent tags first.
      if (is(t, "Int64")) return int_payload(p, kind::int64);
      if (is(t, "List")) return seq_payload(p, kind::list, false);
      if (is(t, "VertexProperty")) return element_payload(p, kind::vertex_property);
      if (is(t, "Vertex")) return element_payload(p, kind::vertex);
      if (is(t, "Int32")) return int_payload(p, kind::int32);
      if (is(t, "Double")) return double_payload(p, kind::float64);
      if (is(t, "Float")) return double_payload(p, kind::float32);
      if (is(t, "UUID")) return string_payload(p, kind::uuid);
      if (is(t, "Date")) return int_payload(p, kind::date);
      if (is(t, "Timestamp")) return int_payload(p, kind::timestamp);
      if (is(t, "T")) return string_payload(p, kind::t);
      if (is(t, "Direction")) return string_payload(p, kind::direction);
      if (is(t, "Set")) return seq_payload(p, kind::set, false);
      if (is(t, "Map")) return seq_payload(p, kind::map, true);
      if (is(t, "BulkSet")) return seq_payload(p, kind::bulkset, true) && bulks_bounded(p);
      if (is(t, "Edge")) return element_payload(p, kind::edge);
      if (is(t, "Property")) return element_payload(p, kind::property);
      if (is(t, "Path")) return element_payload(p, kind::path);
      if (is(t, "Traverser")) return element_payload(p, kind::traverser);
    }
    p = value::typed(tag, std::move(p));
    return true;
  }
};

result<value> parse_value(std::string_view text, version ver) {
  thread_local value_stack stack;
  thread_local std::vector<sax_builder::frame> frames;
  sax_builder b(ver, stack, frames);
  // A plain list already costs up to 16 bytes of values per byte of text
  // ("0," is two bytes, a value 32): bulk sets may expand as much again,
  // plus 64 KiB for tiny messages.
  b.bulk_budget = static_cast<std::int64_t>(std::min<std::size_t>(text.size(), std::size_t{1} << 40)) * 16 + 65536;
  rapidjson::Reader reader;
  // Parsed in place in a per-thread, null-terminated copy: strings are
  // unescaped where they lie instead of char by char through a stack. The
  // zeros after it are for set_padded_string and the SSE2 scans (see the
  // includes).
  thread_local std::string buf;
  buf.assign(text.data(), text.size());
  buf.append(sax_access::padding, '\0');
  rapidjson::InsituStringStream is(buf.data());
  reader.Parse<rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseInsituFlag>(is, b);
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
  auto it = obj.items();
  for (std::size_t i = 0; i + 1 < it.size(); i += 2)
    if (it[i].is_string() && it[i].as_string() == key) return std::move(it[i + 1]);
  return {};
}

std::optional<std::string> id_text(const value& v) {
  if (v.k() == kind::string || v.k() == kind::uuid) return std::string(v.as_string());
  return std::nullopt;
}

} // namespace

result<value> read(std::string_view text, version ver) {
  return parse_value(text, ver);
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
  if (code->as_int() < 0 || code->as_int() > 100000) return error{errc::invalid_argument, "status.code out of range"};
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

} // namespace tlflow::gremlin::graphson
