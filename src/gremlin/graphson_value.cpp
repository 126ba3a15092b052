// GraphSON values: storage, factories, accessors; the mime types.
#include "gremlin/graphson_internal.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>

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

void value::release() noexcept {
  if (storage_of(kind_) == storage::text) {
    if (n_ > small_max) delete[] big_;
  } else {
    for (std::uint32_t i = 0; i < n_; ++i) items_.p[i].destroy();
    sax_access::free_block(items_.p, items_.cap);
  }
}

void value::steal(value& o) noexcept {
  sax_access::relocate(this, &o, 1);
  o.kind_ = kind::null;
  o.n_ = 0;
}

value::value(const value& o) : kind_(o.kind_), b_(o.b_), n_(0) {
  switch (storage_of(kind_)) {
  case storage::text: {
    std::string_view t = o.as_string();
    sax_access::set_text(*this, kind_, t.data(), t.size());
    break;
  }
  case storage::children:
    sax_access::set_children(*this, kind_, o.n_);
    try {
      for (const value& x : o.items()) {
        new (items_.p + n_) value(x);
        ++n_;
      }
    } catch (...) { // out of memory: what was copied is freed
      release();
      throw;
    }
    break;
  case storage::none:
    std::memcpy(&i_, &o.i_, sizeof i_);
    break;
  }
}

value& value::operator=(const value& o) {
  if (this != &o) {
    value copy(o);
    *this = std::move(copy);
  }
  return *this;
}

value& value::operator=(value&& o) noexcept {
  if (this == &o) return *this;
  value moved(std::move(o)); // o may live inside *this
  destroy();
  steal(moved);
  return *this;
}

void value::push(value v) {
  if (storage_of(kind_) != storage::children) return;
  if (n_ == items_.cap) {
    const std::uint32_t cap = sax_access::checked_size(std::max<std::size_t>(4, std::size_t{items_.cap} * 2));
    value* p = sax_access::new_block(cap);
    sax_access::relocate(p, items_.p, n_);
    sax_access::free_block(items_.p, items_.cap);
    items_.p = p;
    items_.cap = cap;
  }
  new (items_.p + n_) value(std::move(v));
  ++n_;
}

std::string_view value::text_of_other() const noexcept {
  if (kind_ == kind::typed && n_ > 0) return items_.p[0].as_string();
  return {};
}

value value::boolean(bool b) { value v; v.kind_ = kind::boolean; v.b_ = b; return v; }
value value::int32(std::int32_t i) { value v; v.kind_ = kind::int32; v.i_ = i; return v; }
value value::int64(std::int64_t i) { value v; v.kind_ = kind::int64; v.i_ = i; return v; }
value value::float32(float f) { value v; v.kind_ = kind::float32; v.d_ = f; return v; }
value value::float64(double d) { value v; v.kind_ = kind::float64; v.d_ = d; return v; }
value value::integer(std::int64_t i) { value v; v.kind_ = kind::integer; v.i_ = i; return v; }
value value::number(double d) { value v; v.kind_ = kind::number; v.d_ = d; return v; }
value value::date(std::int64_t ms) { value v; v.kind_ = kind::date; v.i_ = ms; return v; }
value value::timestamp(std::int64_t ms) { value v; v.kind_ = kind::timestamp; v.i_ = ms; return v; }

namespace {
value text_of(kind k, std::string_view s) {
  value v;
  sax_access::set_text(v, k, s.data(), s.size());
  return v;
}
value children_of(kind k, std::size_t cap = 0) {
  value v;
  sax_access::set_children(v, k, cap);
  return v;
}
value children_of(kind k, std::vector<value>&& items) {
  value v = children_of(k, items.size());
  for (value& x : items) v.push(std::move(x));
  return v;
}
} // namespace

value value::string(std::string_view s) { return text_of(kind::string, s); }
value value::uuid(std::string_view s) { return text_of(kind::uuid, s); }
value value::t(std::string_view s) { return text_of(kind::t, s); }
value value::direction(std::string_view s) { return text_of(kind::direction, s); }

value value::list(std::vector<value> items) { return children_of(kind::list, std::move(items)); }
value value::set(std::vector<value> items) { return children_of(kind::set, std::move(items)); }
value value::array(std::vector<value> items) { return children_of(kind::array, std::move(items)); }
value value::list() { return children_of(kind::list); }
value value::set() { return children_of(kind::set); }
value value::array() { return children_of(kind::array); }
value value::map() { return children_of(kind::map); }
value value::object() { return children_of(kind::object); }
value value::vertex(value id, std::string_view label) { return vertex(std::move(id), label, value()); }
value value::vertex_property(value id, value x, std::string_view label) {
  return vertex_property(std::move(id), std::move(x), label, value());
}

value value::map(std::vector<std::pair<value, value>> entries) {
  value v = children_of(kind::map, entries.size() * 2);
  for (auto& [k, x] : entries) { v.push(std::move(k)); v.push(std::move(x)); }
  return v;
}

value value::object(std::vector<std::pair<std::string, value>> members) {
  value v = children_of(kind::object, members.size() * 2);
  for (auto& [k, x] : members) v.put(k, std::move(x));
  return v;
}

value value::bulkset(std::vector<std::pair<value, std::int64_t>> entries) {
  value v = children_of(kind::bulkset, entries.size() * 2);
  for (auto& [x, n] : entries) { v.push(std::move(x)); v.push(value::int64(n)); }
  return v;
}

value value::element_of(kind k, value obj) {
  if (storage_of(obj.kind_) != storage::children) obj = value::object();
  obj.kind_ = k;
  return obj;
}

value value::vertex(value id, std::string_view label, value properties) {
  value v = children_of(kind::vertex, 6);
  v.put("id", std::move(id));
  v.put("label", value::string(label));
  if (!properties.is_null()) v.put("properties", std::move(properties));
  return v;
}

value value::vertex_property(value id, value x, std::string_view label, value meta) {
  value v = children_of(kind::vertex_property, 8);
  v.put("id", std::move(id));
  v.put("value", std::move(x));
  v.put("label", value::string(label));
  if (!meta.is_null()) v.put("properties", std::move(meta));
  return v;
}

value value::property(std::string_view key, value x) {
  value v = children_of(kind::property, 4);
  v.put("key", value::string(key));
  v.put("value", std::move(x));
  return v;
}

value value::edge(value id, std::string_view label, std::string_view in_label, std::string_view out_label,
                  value in_v, value out_v, value properties) {
  value v = children_of(kind::edge, 14);
  v.put("id", std::move(id));
  v.put("label", value::string(label));
  v.put("inVLabel", value::string(in_label));
  v.put("outVLabel", value::string(out_label));
  v.put("inV", std::move(in_v));
  v.put("outV", std::move(out_v));
  if (!properties.is_null()) v.put("properties", std::move(properties));
  return v;
}

value value::path(value labels, value objects) {
  value v = children_of(kind::path, 4);
  v.put("labels", std::move(labels));
  v.put("objects", std::move(objects));
  return v;
}

value value::traverser(std::int64_t bulk, value x) {
  value v = children_of(kind::traverser, 4);
  v.put("bulk", value::int64(bulk));
  v.put("value", std::move(x));
  return v;
}

value value::typed(std::string_view tag, value payload) {
  value v = children_of(kind::typed, 2);
  v.push(value::string(tag));
  v.push(std::move(payload));
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
    // Saturates: converting a double out of the range is undefined.
    if (d_ >= 0x1p63) return INT64_MAX;
    if (d_ < -0x1p63) return INT64_MIN;
    return static_cast<std::int64_t>(d_);
  }
  return 0;
}

double value::as_double() const noexcept {
  if (is_integral()) return static_cast<double>(i_);
  return d_;
}

bool value::keyed() const noexcept {
  switch (kind_) {
  case kind::map: case kind::object: case kind::vertex: case kind::edge: case kind::vertex_property:
  case kind::property: case kind::path: case kind::traverser:
    return true;
  default:
    return false;
  }
}

const value* value::get(std::string_view key) const noexcept {
  if (!keyed()) return nullptr;
  for (std::uint32_t i = 0; i + 1 < n_; i += 2)
    if (items_.p[i].kind_ == kind::string && items_.p[i].as_string() == key) return &items_.p[i + 1];
  return nullptr;
}

std::vector<std::pair<value, value>> value::entries() const {
  std::vector<std::pair<value, value>> out;
  if (!keyed()) return out;
  for (std::uint32_t i = 0; i + 1 < n_; i += 2) out.emplace_back(items_.p[i], items_.p[i + 1]);
  return out;
}

void value::put(std::string_view key, value v) {
  push(value::string(key));
  push(std::move(v));
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
    return a.as_string() == b.as_string();
  default: { // children (a typed value's tag is its first)
    if (a.n_ != b.n_) return false;
    for (std::uint32_t i = 0; i < a.n_; ++i)
      if (a.items_.p[i] != b.items_.p[i]) return false;
    return true;
  }
  }
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
