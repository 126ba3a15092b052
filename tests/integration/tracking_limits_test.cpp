// The tracking limit with the real binary: POST /tracking/hashtags up to the
// limit, the one past it refused with 409 limit_reached, a PUT over it 400;
// after a restart the service starts and serves the same set. A saved file
// over the limit (an older version wrote it) starts the service on its first
// entries with a warning instead of stopping it at every start.
#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "support/api_client.hpp"
#include "support/service_process.hpp"
#include "tlflow/source.hpp"

using namespace tlflow::test;

namespace {

std::string tag_n(std::size_t i) { return "t" + std::to_string(10000 + i); }

std::vector<std::string> hashtags_of(const http_reply& r) {
  auto d = json_of(r);
  std::vector<std::string> out;
  REQUIRE(d.IsObject());
  for (const auto& v : d["hashtags"].GetArray()) out.emplace_back(v.GetString(), v.GetStringLength());
  return out;
}

} // namespace

TEST_CASE("tracking limit: the API fills up to it, refuses past it, and the service restarts") {
  temp_dir root;
  service_process::options o;
  o.data_dir = root.path() + "/data";
  std::vector<std::string> before;
  {
    service_process s(o);
    REQUIRE_MESSAGE(s.start(), s.stderr_text());
    auto t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < tlflow::max_tracked_hashtags; ++i) {
      auto r = s.request("POST", "/tracking/hashtags", "{\"hashtag\":\"#" + tag_n(i) + "\"}");
      REQUIRE_MESSAGE(r.status == 201, i << ": " << r.body);
    }
    MESSAGE("POSTed " << tlflow::max_tracked_hashtags << " hashtags in "
                      << std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - t0).count() << " ms");
    auto full = s.request("POST", "/tracking/hashtags", R"({"hashtag":"onemore"})");
    CHECK(full.status == 409);
    CHECK(str(json_of(full)["error"], "code") == "limit_reached");
    // Already tracked is still fine when full.
    CHECK(s.request("POST", "/tracking/hashtags", "{\"hashtag\":\"" + tag_n(7) + "\"}").status == 200);

    std::string body = R"({"hashtags":["onemore")";
    for (std::size_t i = 0; i < tlflow::max_tracked_hashtags; ++i) body += ",\"" + tag_n(i) + '"';
    auto over = s.request("PUT", "/tracking", body + "]}");
    CHECK(over.status == 400);
    CHECK(str(json_of(over)["error"], "code") == "invalid_argument");

    before = hashtags_of(s.get("/tracking"));
    CHECK(before.size() == tlflow::max_tracked_hashtags);
    CHECK(s.terminate() == 0);
  }
  service_process again(o);
  REQUIRE_MESSAGE(again.start(), again.stderr_text());
  CHECK(hashtags_of(again.get("/tracking")) == before);
}

TEST_CASE("tracking limit: a saved file over it starts the service on its first entries") {
  temp_dir root;
  service_process::options o;
  o.data_dir = root.path() + "/data";
  std::filesystem::create_directories(o.data_dir);
  {
    std::ofstream f(o.data_dir + "/tracking.json");
    f << R"({"hashtags":[)";
    for (std::size_t i = 0; i < tlflow::max_tracked_hashtags + 5; ++i) f << (i ? ",\"" : "\"") << tag_n(i) << '"';
    f << R"(],"keywords":[]})";
  }
  service_process s(o);
  REQUIRE_MESSAGE(s.start(), s.stderr_text());
  auto got = hashtags_of(s.get("/tracking"));
  REQUIRE(got.size() == tlflow::max_tracked_hashtags);
  CHECK(got.back() == tag_n(tlflow::max_tracked_hashtags - 1));
  CHECK(s.stderr_text().find("the limit") != std::string::npos);
  CHECK(s.request("POST", "/tracking/hashtags", R"({"hashtag":"onemore"})").status == 409);
}
