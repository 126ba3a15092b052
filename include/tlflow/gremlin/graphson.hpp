// GraphSON 1.0 (untyped), 2.0 and 3.0 (typed `@type`/`@value`): a value model
// and its readers and writers, plus the Gremlin Server request and response
// messages (WIRE.md §1.3, §1.4, §1.7).
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

class value {
public:
  value() noexcept : i_(0) {} // null
  value(const value& o);
  value(value&& o) noexcept;
  value& operator=(const value& o);
  value& operator=(value&& o) noexcept;
  ~value();

  // Scalars.
  static value boolean(bool b);
  static value int32(std::int32_t i);
  static value int64(std::int64_t i);
  static value float32(float f);
  static value float64(double d);
  static value integer(std::int64_t i);   // untyped JSON integer
  static value number(double d);          // untyped JSON double
  static value string(std::string s);
  static value uuid(std::string text);
  static value date(std::int64_t epoch_ms);
  static value timestamp(std::int64_t epoch_ms);
  static value t(std::string token);              // id, label, key, value
  static value direction(std::string dir);        // OUT, IN, BOTH

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
  static value vertex(value id, std::string label);
  static value vertex(value id, std::string label, value properties);
  static value vertex_property(value id, value v, std::string label);
  static value vertex_property(value id, value v, std::string label, value meta);
  static value property(std::string key, value v);
  static value edge(value id, std::string label, std::string in_label, std::string out_label,
                    value in_v, value out_v, value properties);
  static value path(value labels, value objects);
  static value traverser(std::int64_t bulk, value v);
  static value typed(std::string tag, value payload);
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
  // string, uuid, t, direction: the text; typed: the tag.
  const std::string& as_string() const noexcept {
    return storage_of(kind_) == storage::text ? s_ : text_of_other();
  }

  // list, set, array: the items. bulkset: value, bulk, value, bulk, ...
  // map, object and element payloads: key, value, key, value, ... (object
  // and element keys are strings). typed: the tag as a string, the payload.
  // Other kinds: empty (and what is added to it is dropped).
  const std::vector<value>& items() const noexcept {
    return storage_of(kind_) == storage::children ? items_ : no_items();
  }
  std::vector<value>& items() noexcept {
    return storage_of(kind_) == storage::children ? items_ : dropped_items();
  }

  // Member of an object or element payload, or value of a map entry whose
  // key is that string. nullptr when absent.
  const value* get(std::string_view key) const noexcept;
  // typed: the payload.
  const value& payload() const noexcept { return items().back(); }

  // Map, object and element entries as pairs.
  std::vector<std::pair<value, value>> entries() const;

  // Adds a member (object) or entry (map).
  void put(std::string key, value v);

  friend bool operator==(const value& a, const value& b);
  friend bool operator!=(const value& a, const value& b) { return !(a == b); }

private:
  friend struct sax_access;
  // What a kind keeps: nothing but the scalars, text (s_), or children (items_).
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
  static const std::vector<value>& no_items() noexcept;
  static std::vector<value>& dropped_items() noexcept;
  void destroy() noexcept; // ends s_ or items_, as kind_ says
  const std::string& text_of_other() const noexcept;
  // Takes o's kind and contents; *this holds no storage.
  void steal(value& o) noexcept;

  // 48 bytes, as text and children share their space (72 otherwise): a
  // result of 1,000 vertices is about 34,000 values.
  kind kind_ = kind::null;
  bool b_ = false;
  union {
    std::int64_t i_; // integral kinds
    double d_;       // float32, float64, number
  };
  union {
    std::string s_;              // storage::text
    std::vector<value> items_;   // storage::children
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

// A RequestMessage (WIRE.md §1.3). `args` is an object of op arguments.
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

// A ResponseMessage (WIRE.md §1.4).
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
