#include "api/json.hpp"

#include <rapidjson/encodings.h>
#include <rapidjson/error/en.h>

namespace tlflow::api {

void write_string(json_writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

std::string error_body(errc code, std::string_view message) {
  rapidjson::StringBuffer sb;
  json_writer w(sb);
  w.StartObject();
  w.Key("error");
  w.StartObject();
  w.Key("code");
  write_string(w, to_string(code));
  w.Key("message");
  write_string(w, message);
  w.EndObject();
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

response json_response(int status, std::string body) {
  response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

std::optional<rapidjson::Document> parse_body(const request& req) {
  if (req.body.empty()) return std::nullopt;
  rapidjson::Document doc;
  // kParseValidateEncodingFlag: invalid UTF-8 in a string is a parse error,
  // so no id or property with bad UTF-8 ever reaches the store; the iterative
  // parser keeps a 1 MiB `[[[[...` from exhausting the stack.
  doc.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(req.body.data(), req.body.size());
  if (doc.HasParseError()) {
    throw api_error(errc::malformed_json,
                    std::string("body is not valid JSON: ") +
                        rapidjson::GetParseError_En(doc.GetParseError()) + " at offset " +
                        std::to_string(doc.GetErrorOffset()));
  }
  return doc;
}

rapidjson::Document parse_object_body(const request& req) {
  auto doc = parse_body(req);
  if (!doc) throw api_error(errc::invalid_argument, "a JSON object body is required");
  if (!doc->IsObject()) throw api_error(errc::invalid_argument, "body must be a JSON object");
  return std::move(*doc);
}

void write_property_value(json_writer& w, const property_value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) write_string(w, *s);
  else if (const auto* i = std::get_if<std::int64_t>(&v)) w.Int64(*i);
  else if (const auto* d = std::get_if<double>(&v)) w.Double(*d);
  else if (const auto* b = std::get_if<bool>(&v)) w.Bool(*b);
}

void write_properties(json_writer& w, const properties& props) {
  w.StartObject();
  for (const auto& [k, v] : props) {
    write_string(w, k);
    write_property_value(w, v);
  }
  w.EndObject();
}

void write_vertex(json_writer& w, const vertex_view& v) {
  w.StartObject();
  w.Key("id");
  write_string(w, v.v.id);
  w.Key("properties");
  write_properties(w, v.v.props);
  w.Key("in_degree");
  w.Uint64(v.in_degree);
  w.Key("out_degree");
  w.Uint64(v.out_degree);
  w.EndObject();
}

void write_edge(json_writer& w, const edge& e) {
  w.StartObject();
  w.Key("from");
  write_string(w, e.key.from);
  w.Key("to");
  write_string(w, e.key.to);
  w.Key("kind");
  write_string(w, to_string(e.key.kind));
  w.Key("weight");
  w.Uint64(e.weight);
  w.Key("hashtags");
  w.StartArray();
  for (const auto& h : e.hashtags) write_string(w, h);
  w.EndArray();
  w.Key("first_seen");
  write_string(w, e.first_seen);
  w.Key("last_seen");
  write_string(w, e.last_seen);
  w.Key("properties");
  write_properties(w, e.props);
  w.EndObject();
}

void read_properties(const rapidjson::Value& obj, std::string_view where, properties& set,
                     std::vector<std::string>* unset) {
  if (!obj.IsObject()) {
    throw api_error(errc::invalid_argument, std::string(where) + " must be a JSON object");
  }
  for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it) {
    std::string key(it->name.GetString(), it->name.GetStringLength());
    if (key.empty() || key.size() > 256) {
      throw api_error(errc::invalid_argument,
                      std::string(where) + ": property names must be 1-256 bytes");
    }
    const rapidjson::Value& v = it->value;
    if (v.IsNull()) {
      if (unset == nullptr) {
        throw api_error(errc::invalid_argument,
                        std::string(where) + "." + key + ": null is not allowed here");
      }
      unset->push_back(key);
    } else if (v.IsString()) {
      set[key] = std::string(v.GetString(), v.GetStringLength());
    } else if (v.IsBool()) {
      set[key] = v.GetBool();
    } else if (v.IsInt64()) {
      set[key] = v.GetInt64();
    } else if (v.IsNumber()) {
      set[key] = v.GetDouble();
    } else {
      throw api_error(errc::invalid_argument,
                      std::string(where) + "." + key +
                          ": property values must be strings, numbers, booleans or null");
    }
  }
}

} // namespace tlflow::api
