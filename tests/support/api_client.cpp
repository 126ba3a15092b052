#include "support/api_client.hpp"

#include <doctest/doctest.h>

#include <thread>

namespace tlflow::test {

rapidjson::Document json_of(const http_reply& r) {
  rapidjson::Document d;
  d.Parse(r.body.data(), r.body.size());
  if (d.HasParseError()) d.SetNull();
  return d;
}

std::string str(const rapidjson::Value& v, const char* member) {
  if (!v.IsObject()) return {};
  auto it = v.FindMember(member);
  if (it == v.MemberEnd() || !it->value.IsString()) return {};
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

rapidjson::Document wait_for_export(const service_process& s, const std::string& id, std::chrono::seconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  for (;;) {
    auto r = s.get("/exports/" + id);
    REQUIRE(r.status == 200);
    auto d = json_of(r);
    const std::string state = str(d, "state");
    if (state != "queued" && state != "running") return d;
    if (std::chrono::steady_clock::now() > until) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  FAIL("export job " << id << " did not finish");
  return {};
}

bool is_error_object(const http_reply& r) {
  const auto d = json_of(r);
  if (!d.IsObject() || d.MemberCount() != 1 || !d.HasMember("error")) return false;
  const auto& e = d["error"];
  return e.IsObject() && e.MemberCount() == 2 && e.HasMember("code") && e["code"].IsString() &&
         e.HasMember("message") && e["message"].IsString() &&
         r.header("content-type").value_or("").rfind("application/json", 0) == 0;
}

std::string error_code(const http_reply& r) {
  const auto d = json_of(r);
  if (!d.IsObject() || !d.HasMember("error")) return {};
  return str(d["error"], "code");
}

void expect_error(const http_reply& r, int status, const std::string& code) {
  INFO("status " << r.status << " body " << r.body.substr(0, 300));
  CHECK(r.status == status);
  CHECK(is_error_object(r));
  CHECK(error_code(r) == code);
}

} // namespace tlflow::test
