// Durability through the HTTP API: acknowledged writes survive SIGKILL;
// SIGTERM writes a snapshot and the restart is fast; --ephemeral writes
// nothing at all.
#include <chrono>
#include <filesystem>
#include <string>

#include <doctest/doctest.h>

#include "support/api_client.hpp"
#include "support/service_process.hpp"

using namespace tlflow::test;
namespace fs = std::filesystem;

namespace {

constexpr int writes = 300;

void write_batch(const service_process& s, const std::string& prefix) {
  for (int i = 0; i < writes; ++i) {
    const std::string id = prefix + std::to_string(i);
    auto r = s.request("PUT", "/vertices/" + pct(id), R"({"properties":{"n":)" + std::to_string(i) + "}}");
    REQUIRE(r.status == 201);
    if (i % 3 == 0) {
      r = s.request("POST", "/edges", "{\"from\":\"" + id + "\",\"to\":\"" + prefix + "hub\"}");
      REQUIRE(r.status == 201);
    }
  }
}

void check_batch(const service_process& s, const std::string& prefix) {
  int found = 0;
  for (int i = 0; i < writes; ++i) {
    auto r = s.get("/vertices/" + pct(prefix + std::to_string(i)));
    if (r.status == 200 && json_of(r)["properties"]["n"].GetInt64() == i) ++found;
  }
  CHECK(found == writes);
  auto r = s.get("/vertices/" + pct(prefix + "hub"));
  REQUIRE(r.status == 200);
  CHECK(json_of(r)["in_degree"].GetUint64() == (writes + 2) / 3);
}

std::uintmax_t dir_bytes(const std::string& dir) {
  std::uintmax_t total = 0;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return 0;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec)) total += e.file_size(ec);
  }
  return total;
}

std::size_t dir_entries(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return 0;
  std::size_t n = 0;
  for (auto it = fs::directory_iterator(dir, ec); it != fs::directory_iterator(); ++it) ++n;
  return n;
}

} // namespace

TEST_CASE("acknowledged writes survive SIGKILL") {
  temp_dir data;
  service_process::options o;
  o.data_dir = data.path() + "/d";
  {
    service_process s(o);
    REQUIRE_MESSAGE(s.start(), s.stderr_text());
    write_batch(s, "kill:");
    s.kill();
  }
  service_process again(o);
  REQUIRE_MESSAGE(again.start(), again.stderr_text());
  check_batch(again, "kill:");
  CHECK(json_of(again.get("/vertices/count"))["count"].GetUint64() == writes + 1);
}

TEST_CASE("SIGTERM snapshots, exits 0, and the restart is fast") {
  temp_dir data;
  service_process::options o;
  o.data_dir = data.path() + "/d";
  {
    service_process s(o);
    REQUIRE_MESSAGE(s.start(), s.stderr_text());
    write_batch(s, "term:");
    CHECK(s.terminate() == 0);
    CHECK(dir_bytes(o.data_dir) > 0);
  }
  const auto t0 = std::chrono::steady_clock::now();
  service_process again(o);
  REQUIRE_MESSAGE(again.start(), again.stderr_text());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE("restart after SIGTERM answered /status in " << seconds << " s");
  CHECK(seconds < 5.0);
  check_batch(again, "term:");
  CHECK(again.terminate() == 0);
}

TEST_CASE("--ephemeral leaves the data directory empty") {
  temp_dir data;
  service_process::options o;
  o.data_dir = data.path() + "/d";
  o.args = {"--ephemeral"};
  service_process s(o);
  REQUIRE_MESSAGE(s.start(), s.stderr_text());
  write_batch(s, "eph:");
  CHECK(s.terminate() == 0);
  CHECK(dir_entries(o.data_dir) == 0);
}
