#include "api/tracking_routes.hpp"

#include <algorithm>

#include <rapidjson/document.h>

namespace tlflow::api {

result<std::string> hashtag_from_json(std::string_view body) {
  rapidjson::Document doc;
  // Iterative: a 1 MiB `[[[[...` body must not exhaust the stack.
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(body.data(), body.size());
  if (doc.HasParseError()) return error{errc::malformed_json, "body is not valid JSON"};
  if (!doc.IsObject()) return error{errc::invalid_argument, "body must be a JSON object"};
  auto it = doc.FindMember("hashtag");
  if (it == doc.MemberEnd() || !it->value.IsString())
    return error{errc::invalid_argument, "'hashtag' (a string) is required"};
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

namespace {
response json(int code, std::string body) {
  response r;
  r.status = code;
  r.body = std::move(body);
  return r;
}
} // namespace

void add_tracking_routes(router& r, tracking& t) {
  r.add_route("GET", "/tracking", [&t](const request&) {
    return json(200, tracking_to_json(t.get()));
  });
  r.add_route(
      "PUT", "/tracking",
      [&t](const request& q) {
        tracking_set next = unwrap(tracking_from_json(q.body));
        return json(200, tracking_to_json(unwrap(t.replace(next))));
      },
      {/*mutating=*/true, access::admin});
  r.add_route(
      "POST", "/tracking/hashtags",
      [&t](const request& q) {
        std::string tag = unwrap(hashtag_from_json(q.body));
        std::string norm = unwrap(normalize_hashtag(tag));
        tracking_set before = t.get();
        bool existed = std::binary_search(before.hashtags.begin(), before.hashtags.end(), norm);
        tracking_set after = unwrap(t.add_hashtag(tag));
        return json(existed ? 200 : 201, tracking_to_json(after));
      },
      {/*mutating=*/true, access::admin});
  r.add_route(
      "DELETE", "/tracking/hashtags/{tag}",
      [&t](const request& q) {
        return json(200, tracking_to_json(unwrap(t.remove_hashtag(q.param("tag")))));
      },
      {/*mutating=*/true, access::admin});
}

} // namespace tlflow::api
