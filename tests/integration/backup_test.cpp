// GET /backup and `tlflow restore` with the real binary: a backup taken while
// a writer writes restores, into a new directory, every vertex and edge
// acknowledged before it began, with the same weights, and the service
// starts on it; a flipped byte, a truncated file and a non-empty directory
// are refused with nothing written; the route needs the admin scope; a
// Gremlin store answers 501 not_supported.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "support/api_client.hpp"
#include "support/gremlin_test_server.hpp"
#include "support/jwt_builder.hpp"
#include "support/service_process.hpp"

using namespace tlflow::test;
namespace fs = std::filesystem;

namespace {

const std::string secret = "a-backup-test-hs256-secret-of-32-bytes-or-more";

header_pairs bearer_scope(const std::string& scope) {
  const std::string claims = "{\"sub\":\"backup-test\",\"scope\":\"" + scope +
                             "\",\"exp\":" + std::to_string(unix_now() + 600) + "}";
  return {{"Authorization", "Bearer " + jwt_hs256(secret, claims)}};
}

void write_file(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

// Waits until the service logged a snapshot (--snapshot-interval).
bool wait_for_log(const service_process& s, const std::string& text, int seconds) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (s.stderr_text().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// to -> weight of every out-edge of `from` (paged through).
std::map<std::string, std::uint64_t> out_edges(const service_process& s, const std::string& from) {
  std::map<std::string, std::uint64_t> out;
  std::string cursor;
  for (;;) {
    auto r = s.get("/edges?limit=1000&from=" + pct(from) + (cursor.empty() ? "" : "&cursor=" + pct(cursor)));
    REQUIRE(r.status == 200);
    auto doc = json_of(r);
    for (const auto& e : doc["edges"].GetArray()) out[e["to"].GetString()] = e["weight"].GetUint64();
    if (!doc.HasMember("next_cursor") || !doc["next_cursor"].IsString()) break;
    cursor = doc["next_cursor"].GetString();
  }
  return out;
}

// A service on a durable store with a snapshot and a log after it.
struct populated {
  temp_dir root;
  service_process s;
  explicit populated(std::vector<std::string> extra = {})
      : s([&] {
          service_process::options o;
          o.args = {"--snapshot-interval", "1"};
          o.args.insert(o.args.end(), extra.begin(), extra.end());
          o.env = {{"TLFLOW_JWT_SECRET", secret}};
          o.data_dir = root.path() + "/data";
          return o;
        }()) {
    REQUIRE_MESSAGE(s.start(), s.stderr_text());
    const auto w = bearer_scope("tlflow:write");
    REQUIRE(s.request("PUT", "/vertices/bk%3Aa", R"({"properties":{"location":"Lyon","n":7}})", w).status == 201);
    for (int i = 0; i < 3; ++i)
      REQUIRE(s.request("POST", "/edges", R"({"from":"bk:a","to":"bk:b","kind":"reply"})", w).status / 100 == 2);
    REQUIRE(wait_for_log(s, "snapshot at seq", 15)); // these are in the snapshot
    for (int i = 0; i < 2; ++i)                        // these in the log after it
      REQUIRE(s.request("POST", "/edges", R"({"from":"bk:a","to":"bk:c"})", w).status / 100 == 2);
  }
};

} // namespace

TEST_CASE("GET /backup while a writer writes: restored whole, same weights, the service starts on it") {
  populated p;
  service_process& s = p.s;
  std::mutex mu;
  std::vector<int> acked;
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    const auto w = bearer_scope("tlflow:write");
    for (int i = 0; !stop && i < 5000; ++i) {
      const auto r = s.request("POST", "/edges", "{\"from\":\"bk:w\",\"to\":\"bk:t" + std::to_string(i) + "\"}", w);
      if (r.status == 201) {
        std::lock_guard<std::mutex> l(mu);
        acked.push_back(i);
      }
    }
  });
  const auto acked_now = [&] {
    std::lock_guard<std::mutex> l(mu);
    return acked.size();
  };
  while (acked_now() < 100) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::vector<int> before;
  {
    std::lock_guard<std::mutex> l(mu);
    before = acked;
  }
  const auto backup = s.request("GET", "/backup", {}, bearer_scope("tlflow:admin"));
  const std::size_t during = acked_now();
  std::this_thread::sleep_for(std::chrono::milliseconds(200)); // the writer goes on after it
  stop = true;
  writer.join();
  REQUIRE(backup.status == 200);
  CHECK(backup.header("content-type").value_or("") == "application/octet-stream");
  REQUIRE(backup.body.compare(0, 8, "TLFBKUP1") == 0);
  CHECK(acked_now() > during); // writes went on while it streamed and after

  const std::string file = p.root.path() + "/tlflow.backup";
  write_file(file, backup.body);
  const std::string target = p.root.path() + "/restored";
  auto [rc, out] = run_tlflow({"restore", file, "--data-dir", target});
  REQUIRE_MESSAGE(rc == 0, out);
  CHECK(out.find("the store opens") != std::string::npos);

  service_process::options o;
  o.data_dir = target;
  service_process r(o);
  REQUIRE_MESSAGE(r.start(), r.stderr_text());
  auto a = json_of(r.get("/vertices/bk%3Aa"));
  REQUIRE(a.IsObject());
  CHECK(std::string(a["properties"]["location"].GetString()) == "Lyon");
  const auto from_a = out_edges(r, "bk:a");
  CHECK(from_a.at("bk:b") == 3);
  CHECK(from_a.at("bk:c") == 2);
  const auto from_w = out_edges(r, "bk:w");
  for (int i : before) {
    CAPTURE(i);
    const auto it = from_w.find("bk:t" + std::to_string(i));
    REQUIRE(it != from_w.end());
    CHECK(it->second == 1);
  }
  CHECK(from_w.size() >= before.size());
}

TEST_CASE("GET /backup: the admin scope only") {
  populated p;
  CHECK(p.s.request("GET", "/backup").status == 401);
  expect_error(p.s.request("GET", "/backup", {}, bearer_scope("tlflow:read")), 403, "forbidden");
  expect_error(p.s.request("GET", "/backup", {}, bearer_scope("tlflow:write")), 403, "forbidden");
  CHECK(p.s.request("GET", "/backup", {}, bearer_scope("tlflow:admin")).status == 200);
}

TEST_CASE("tlflow restore refuses a damaged or truncated backup and a non-empty directory") {
  populated p;
  const auto backup = p.s.request("GET", "/backup", {}, bearer_scope("tlflow:admin"));
  REQUIRE(backup.status == 200);
  const std::string& good = backup.body;
  REQUIRE(good.size() > 100);
  const std::string target = p.root.path() + "/target";
  const auto refused = [&](const std::string& bytes, const std::string& says) {
    const std::string file = p.root.path() + "/bad.backup";
    write_file(file, bytes);
    auto [rc, out] = run_tlflow({"restore", file, "--data-dir", target});
    CHECK(rc == 1);
    CHECK_MESSAGE(out.find(says) != std::string::npos, out);
    CHECK_FALSE(fs::exists(target));
    CHECK_FALSE(fs::exists(target + ".restore.tmp"));
  };
  std::string flipped = good;
  flipped[good.size() - 30] = static_cast<char>(flipped[good.size() - 30] ^ 0x10);
  refused(flipped, "is damaged");
  refused(good.substr(0, good.size() - 10), "is truncated");
  refused(good.substr(0, good.size() / 3), "is truncated");

  const std::string file = p.root.path() + "/good.backup";
  write_file(file, good);
  fs::create_directories(target);
  write_file(target + "/keep.txt", "someone's file");
  auto [rc, out] = run_tlflow({"restore", file, "--data-dir", target});
  CHECK(rc == 1);
  CHECK_MESSAGE(out.find("not empty") != std::string::npos, out);
  CHECK(fs::exists(target + "/keep.txt"));
  CHECK_FALSE(fs::exists(target + "/snapshot.bin"));
  fs::remove(target + "/keep.txt");
  std::tie(rc, out) = run_tlflow({"restore", file, "--data-dir", target}); // empty now: fine
  CHECK_MESSAGE(rc == 0, out);
  // Usage: the file comes first; a missing file is named.
  std::tie(rc, out) = run_tlflow({"restore", "--data-dir", p.root.path() + "/x"});
  CHECK(rc == 2);
  CHECK(out.find("the backup file comes first") != std::string::npos);
  std::tie(rc, out) = run_tlflow({"restore", p.root.path() + "/missing.backup", "--data-dir", p.root.path() + "/x"});
  CHECK(rc == 1);
  CHECK(out.find("cannot open") != std::string::npos);
  CHECK_FALSE(fs::exists(p.root.path() + "/x"));
}

TEST_CASE("GET /backup on a Gremlin store: 501 not_supported, the database's job") {
  gremlin_test_server gremlin;
  service_process::options o;
  o.args = {"--ephemeral", "--store", "gremlin", "--gremlin-url", gremlin.url()};
  service_process s(o);
  REQUIRE_MESSAGE(s.start(), s.stderr_text());
  const auto r = s.get("/backup");
  expect_error(r, 501, "not_supported");
  CHECK(r.body.find("database") != std::string::npos);
}
