// api/json.hpp — JSON in and out of the REST layer (RapidJSON), shared by
// every route file: the error object, the model types, body parsing.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "api/router.hpp"
#include "tlflow/graph_store.hpp"
#include "tlflow/model.hpp"

namespace tlflow::api {

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

// `{"error":{"code":"...","message":"..."}}`
std::string error_body(errc code, std::string_view message);

// A response with the given status and a JSON body.
response json_response(int status, std::string body);

// Body as a JSON document. malformed_json if it does not parse (or is not
// valid UTF-8); nullopt if the body is empty.
std::optional<rapidjson::Document> parse_body(const request& req);

// Like parse_body but the body must be present and an object.
rapidjson::Document parse_object_body(const request& req);

void write_string(json_writer& w, std::string_view s);
void write_property_value(json_writer& w, const property_value& v);
void write_properties(json_writer& w, const properties& props);
void write_vertex(json_writer& w, const vertex_view& v);
void write_edge(json_writer& w, const edge& e);

// `properties` object of a request: scalars are set, `null` removes the key.
// invalid_argument (as api_error) on arrays, objects or bad keys.
void read_properties(const rapidjson::Value& obj, std::string_view where, properties& set,
                     std::vector<std::string>* unset);

} // namespace tlflow::api
