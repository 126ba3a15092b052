// GraphSON 1.0 (untyped), 2.0 and 3.0 (typed `@type`/`@value`): a value model
// and its readers and writers, plus the Gremlin Server request and response
// messages (TinkerPop's IO reference, "GraphSON" and "Gremlin Server").
//
// The model is a typed JSON tree: every GraphSON type TinkerPop defines has a
// kind here (scalars, collections, elements, enums); types this client does
// not interpret (gx:BigDecimal, g:Bytecode, ...) are kept as `typed` with
// their tag and payload, so that any message reads and writes back unchanged.
// Element payloads (vertex, edge, ...) are kept as the ordered object GraphSON
// sends, reachable with get("id"), get("label"), ...
//
// Plain value type: no I/O, no sharing; copy freely between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tlflow/error.hpp"

namespace tlflow::gremlin::graphson {

// v1: untyped JSON (GraphSON 1.0, also what Cosmos DB answers);
// v2, v3: typed GraphSON 2.0 / 3.0.
enum class version : std::uint8_t { v1, v2, v3 };

// "application/vnd.gremlin-v3.0+json" etc.
std::string_view mime_type(version v) noexcept;
std::optional<version> version_from_mime(std::string_view mime) noexcept;

enum class kind : std::uint8_t {
  null, boolean,
  int32, int64, float32, float64,   // typed numbers (g:Int32 ...)
  integer, number,                  // untyped JSON numbers
  string,
  list, set, map,                   // g:List / g:Set / g:Map (v2: JSON array / object)
  array, object,                    // bare JSON array / object (element payloads, v1)
  uuid, date, timestamp,
  t, direction,
  vertex, edge, vertex_property, property, path, traverser, bulkset,
  typed,                            // any other @type, kept verbatim
};

// A view of contiguous values (C++17 has no std::span).
template <class T> class span {
public:
  span() noexcept = default;
  span(T* p, std::size_t n) noexcept : p_(p), n_(n) {}
  T* begin() const noexcept { return p_; }
  T* end() const noexcept { return p_ + n_; }
  std::size_t size() const noexcept { return n_; }
  bool empty() const noexcept { return n_ == 0; }
  T& operator[](std::size_t i) const noexcept { return p_[i]; }
  T& at(std::size_t i) const {
    if (i >= n_) throw std::out_of_range("graphson::span::at");
    return p_[i];
  }
  T& front() const noexcept { return p_[0]; }
  T& back() const noexcept { return p_[n_ - 1]; }

private:
  T* p_ = nullptr;
  std::size_t n_ = 0;
};

class value {
public:
  value() noexcept : i_(0) {} // null
  value(const value& o);
  value(value&& o) noexcept { steal(o); }
  value& operator=(const value& o);
  value& operator=(value&& o) noexcept;
  ~value() { destroy(); }

  // Scalars.
  static value boolean(bool b);
  static value int32(std::int32_t i);
  static value int64(std::int64_t i);
  static value float32(float f);
  static value float64(double d);
  static value integer(std::int64_t i);   // untyped JSON integer
  static value number(double d);          // untyped JSON double
  static value string(std::string_view s);
  static value uuid(std::string_view text);
  static value date(std::int64_t epoch_ms);
  static value timestamp(std::int64_t epoch_ms);
  static value t(std::string_view token);         // id, label, key, value
  static value direction(std::string_view dir);   // OUT, IN, BOTH

  // Collections.
  static value list();
  static value list(std::vector<value> items);
  static value set();
  static value set(std::vector<value> items);
  static value array();
  static value array(std::vector<value> items);
  static value map();
  static value map(std::vector<std::pair<value, value>> entries);
  static value object();
  static value object(std::vector<std::pair<std::string, value>> members);
  // [value, bulk, value, bulk, ...] as g:BulkSet writes it.
  static value bulkset(std::vector<std::pair<value, std::int64_t>> entries);

  // Elements. `properties` is an object: vertex key -> array of
  // vertex_property; edge key -> property; null omits it.
  static value vertex(value id, std::string_view label);
  static value vertex(value id, std::string_view label, value properties);
  static value vertex_property(value id, value v, std::string_view label);
  static value vertex_property(value id, value v, std::string_view label, value meta);
  static value property(std::string_view key, value v);
  static value edge(value id, std::string_view label, std::string_view in_label, std::string_view out_label,
                    value in_v, value out_v, value properties);
  static value path(value labels, value objects);
  static value traverser(std::int64_t bulk, value v);
  static value typed(std::string_view tag, value payload);
  // An object payload re-tagged as an element kind (vertex, edge, ...).
  static value element_of(kind k, value object_payload);

  kind k() const noexcept { return kind_; }
  bool is_null() const noexcept { return kind_ == kind::null; }
  bool is_string() const noexcept { return kind_ == kind::string; }
  bool is_integral() const noexcept;   // int32, int64, integer, date, timestamp
  bool is_numeric() const noexcept;    // integral or float32, float64, number
  bool is_sequence() const noexcept;   // list, set, array
  bool is_mapping() const noexcept;    // map, object
  bool keyed() const noexcept;         // map, object or an element: items() are key, value pairs

  bool as_bool() const noexcept { return kind_ == kind::boolean && b_; }
  std::int64_t as_int() const noexcept;   // numeric kinds (doubles truncated)
  double as_double() const noexcept;
  // string, uuid, t, direction: the text; typed: the tag. Valid while the
  // value lives unchanged.
  std::string_view as_string() const noexcept {
    if (storage_of(kind_) == storage::text) return {n_ <= small_max ? small_ : big_, n_};
    return text_of_other();
  }

  // list, set, array: the items. bulkset: value, bulk, value, bulk, ...
  // map, object and element payloads: key, value, key, value, ... (object
  // and element keys are strings). typed: the tag as a string, the payload.
  // Other kinds: empty.
  // (An empty span still points somewhere: at this value.)
  span<const value> items() const noexcept {
    return storage_of(kind_) == storage::children ? span<const value>{items_.p, n_} : span<const value>{this, 0};
  }
  span<value> items() noexcept {
    return storage_of(kind_) == storage::children ? span<value>{items_.p, n_} : span<value>{this, 0};
  }
  // Appends an item (children kinds; dropped by the others).
  void push(value v);

  // Member of an object or element payload, or value of a map entry whose
  // key is that string. nullptr when absent.
  const value* get(std::string_view key) const noexcept;
  // typed: the payload.
  const value& payload() const noexcept { return items().back(); }

  // Map, object and element entries as pairs.
  std::vector<std::pair<value, value>> entries() const;

  // Adds a member (object) or entry (map).
  void put(std::string_view key, value v);

  friend bool operator==(const value& a, const value& b);
  friend bool operator!=(const value& a, const value& b) { return !(a == b); }

private:
  friend struct sax_access;
  // What a kind keeps: nothing but the scalars, text, or children.
  enum class storage : std::uint8_t { none, text, children };
  static constexpr storage storage_of(kind k) noexcept {
    switch (k) {
    case kind::string: case kind::uuid: case kind::t: case kind::direction:
      return storage::text;
    case kind::list: case kind::set: case kind::map: case kind::array: case kind::object:
    case kind::vertex: case kind::edge: case kind::vertex_property: case kind::property:
    case kind::path: case kind::traverser: case kind::bulkset: case kind::typed:
      return storage::children;
    default:
      return storage::none;
    }
  }
  static constexpr std::uint32_t small_max = 24; // text up to this long is kept inline
  std::string_view text_of_other() const noexcept;
  void destroy() noexcept { if (storage_of(kind_) != storage::none) release(); }
  void release() noexcept; // frees the text or children
  // Takes o's contents (o is left null): a value holds no pointer into
  // itself, so its bytes can move (see sax_access::relocate).
  void steal(value& o) noexcept;

  // Children: n_ of cap constructed. Named outside the union: an unnamed
  // struct inside an anonymous union is an extension (clang -Wpedantic).
  struct children_block {
    value* p;
    std::uint32_t cap;
  };

  // 32 bytes: a result of 1,000 vertices is about 38,000 values.
  kind kind_ = kind::null;
  bool b_ = false;
  std::uint32_t n_ = 0; // text length, or number of items
  union {
    std::int64_t i_;          // integral kinds
    double d_;                // float32, float64, number
    char small_[small_max];   // text of at most small_max bytes
    char* big_;               // longer text
    children_block items_;    // children: n_ of cap constructed
  };
};

// Parses one GraphSON document of the given version. malformed_json with the
// offset on a syntax error; invalid_argument on a typed value whose payload
// has the wrong shape.
result<value> read(std::string_view json, version v);

// Writes compact JSON. v1 writes plain JSON (elements as GraphSON 1.0:
// "type":"vertex"/"edge"); v2 writes lists and sets as arrays, maps as
// objects and bulk sets expanded.
std::string write(const value& v, version ver);

// A RequestMessage (TinkerPop's IO reference). `args` is an object of op arguments.
struct request {
  std::string request_id;     // UUID text
  std::string op = "eval";
  std::string processor;      // "" = standard sessionless processor
  value args = value::object();
  // Written as args "bindings" after the members of `args`, without copying
  // them (a batch's bindings are large). read_request leaves it null.
  const value* bindings = nullptr;
};

// Request as TinkerPop's GraphSON serializers write it: v3 sends `args` (and
// every nested object) as g:Map, v2 as objects; requestId as a plain string.
std::string write_request(const request& r, version v);
result<request> read_request(std::string_view json, version v);

// A ResponseMessage (TinkerPop's IO reference).
struct response {
  std::optional<std::string> request_id; // null when the server could not decode
  int code = 0;
  std::string message;
  value attributes = value::object();
  value data;                 // list of results (or null)
  value meta = value::object();
};

result<response> read_response(std::string_view json, version v);
std::string write_response(const response& r, version v);
// The same into `out` (replaced), reusing its capacity: a server writing many
// large results saves an allocation, and its page faults, per message.
void write_response(const response& r, version v, std::string& out);

// A fresh random (version 4) UUID as text.
std::string random_uuid();

} // namespace tlflow::gremlin::graphson
