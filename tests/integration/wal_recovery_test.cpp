// Log recovery with the real binary: a damaged log stops the service with a
// message saying what is damaged and how to proceed; `tlflow repair` keeps
// every intact record; a torn tail is cut and reported in /status and
// /metrics; a full disk fails writes with a JSON 503, leaves no temporary
// file, keeps the undo ticket, and loses nothing acknowledged.
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "store/memory/wal.hpp"
#include "support/api_client.hpp"
#include "support/service_process.hpp"
#include "support/skip.hpp"

using namespace tlflow::test;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> logs_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".log") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::size_t> record_offsets(const std::string& path) {
  std::string data;
  REQUIRE(tlflow::mem::read_file(path, data).ok());
  std::vector<std::size_t> out;
  std::size_t pos = 0;
  while (auto f = tlflow::mem::frame_at(data, pos, 1u << 30)) {
    out.push_back(pos);
    pos += 8 + f->size();
  }
  return out;
}

// PUT /vertices/v<from> .. v<to - 1>, then SIGKILL (the log stays: no snapshot).
void put_then_kill(const service_process::options& o, int from, int to) {
  service_process s(o);
  REQUIRE_MESSAGE(s.start(), s.stderr_text());
  for (int i = from; i < to; ++i)
    REQUIRE(s.request("PUT", "/vertices/v" + std::to_string(i), R"({"properties":{}})").status == 201);
  s.kill();
}

std::uint64_t vertex_count(const service_process& s) {
  return json_of(s.get("/vertices/count"))["count"].GetUint64();
}

// A tmpfs of `size` mounted on `dir` for the life of the object.
class small_tmpfs {
public:
  small_tmpfs(const std::string& dir, const char* size) : dir_(dir) {
    fs::create_directories(dir);
    const std::string opts = std::string("size=") + size;
    mounted_ = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, opts.c_str()) == 0;
    if (!mounted_) error_ = std::strerror(errno);
  }
  ~small_tmpfs() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

private:
  std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

// Writes zeros to `path` until the file system is full.
void fill(const std::string& path) {
  std::ofstream f(path, std::ios::binary);
  const std::string block(64 * 1024, '\0');
  while (f.write(block.data(), static_cast<std::streamsize>(block.size()))) f.flush();
  f.clear();
  // Fill the last partial block too.
  for (int i = 0; i < 64 * 1024 && f.put('\0'); ++i) f.flush();
}

} // namespace

TEST_CASE("wal recovery: a flipped bit mid-log stops the service; tlflow repair keeps 199 of 200") {
  temp_dir root;
  service_process::options o;
  o.data_dir = root.path() + "/data";
  o.args = {"--snapshot-interval", "0"};
  put_then_kill(o, 0, 200);
  auto logs = logs_in(o.data_dir);
  REQUIRE(logs.size() == 1);
  const auto offsets = record_offsets(logs[0]);
  REQUIRE(offsets.size() == 200);
  {
    std::fstream f(logs[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(offsets[100] + 12));
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x01); // one bit of record 101 (v100)
    f.seekp(static_cast<std::streamoff>(offsets[100] + 12));
    f.write(&c, 1);
  }
  {
    service_process s(o);
    REQUIRE_FALSE(s.start());
    const std::string err = s.stderr_text();
    INFO(err);
    CHECK(err.find(fs::path(logs[0]).filename().string()) != std::string::npos);
    CHECK(err.find("offset " + std::to_string(offsets[100])) != std::string::npos);
    CHECK(err.find("after sequence number 100") != std::string::npos);
    CHECK(err.find("tlflow repair --data-dir " + o.data_dir) != std::string::npos);
  }
  auto [rc, out] = run_tlflow({"repair", "--data-dir", o.data_dir});
  INFO(out);
  CHECK(rc == 0);
  CHECK(out.find("kept 199 intact") != std::string::npos);
  CHECK(out.find("dropped 1 record(s), sequence number(s) 101") != std::string::npos);
  CHECK(fs::exists(o.data_dir + "/damaged/" + fs::path(logs[0]).filename().string() + "." +
                   std::to_string(offsets[100]) + ".bin"));

  service_process s(o);
  REQUIRE_MESSAGE(s.start(), s.stderr_text());
  CHECK(vertex_count(s) == 199);
  CHECK(s.get("/vertices/v100").status == 404);
  CHECK(s.get("/vertices/v199").status == 200);
  auto status = json_of(s.get("/status"));
  CHECK(status["store_ok"].GetBool());
  // repair proved the store opens, and closing it wrote a snapshot.
  CHECK(status["recovery"]["snapshot_seq"].GetUint64() == 199);
  CHECK(status["recovery"]["torn_tail_bytes"].GetUint64() == 0);
}

TEST_CASE("wal recovery: a deleted middle segment is a sequence gap; repair drops exactly it") {
  temp_dir root;
  service_process::options o;
  o.data_dir = root.path() + "/data";
  o.args = {"--snapshot-interval", "0"};
  put_then_kill(o, 0, 40);   // each start opens a new segment
  put_then_kill(o, 40, 80);
  put_then_kill(o, 80, 120);
  auto logs = logs_in(o.data_dir);
  REQUIRE(logs.size() == 3);
  fs::remove(logs[1]);
  {
    service_process s(o);
    REQUIRE_FALSE(s.start());
    INFO(s.stderr_text());
    CHECK(s.stderr_text().find("records 41-80 are missing") != std::string::npos);
    CHECK(s.stderr_text().find("tlflow repair") != std::string::npos);
  }
  auto [rc, out] = run_tlflow({"repair", "--data-dir", o.data_dir});
  INFO(out);
  CHECK(rc == 0);
  CHECK(out.find("dropped 40 record(s), sequence number(s) 41-80") != std::string::npos);
  service_process s(o);
  REQUIRE_MESSAGE(s.start(), s.stderr_text());
  CHECK(vertex_count(s) == 80);
}

TEST_CASE("wal recovery: a torn tail is cut automatically and shown in /status and /metrics") {
  temp_dir root;
  service_process::options o;
  o.data_dir = root.path() + "/data";
  o.args = {"--snapshot-interval", "0"};
  put_then_kill(o, 0, 50);
  auto logs = logs_in(o.data_dir);
  REQUIRE(logs.size() == 1);
  fs::resize_file(logs[0], fs::file_size(logs[0]) - 5); // the last write cut short
  service_process s(o);
  REQUIRE_MESSAGE(s.start(), s.stderr_text());
  CHECK(vertex_count(s) == 49);
  auto status = json_of(s.get("/status"));
  CHECK(status["store_ok"].GetBool());
  const auto torn = status["recovery"]["torn_tail_bytes"].GetUint64();
  CHECK(torn > 0);
  CHECK(status["recovery"]["records_replayed"].GetUint64() == 49);
  const std::string metrics = s.get("/metrics").body;
  CHECK(metrics.find("tlflow_recovery_torn_tail_bytes " + std::to_string(torn)) != std::string::npos);
  CHECK(metrics.find("tlflow_recovery_records_replayed 49") != std::string::npos);
  CHECK(s.stderr_text().find("torn tail") != std::string::npos);
}

TEST_CASE("wal recovery: disk full — JSON 503, no temp file, undo kept for a retry, nothing acknowledged lost") {
  temp_dir root;
  const std::string mnt = root.path() + "/small";
  small_tmpfs disk(mnt, "2m");
  if (!disk.mounted()) {
    skip("cannot mount a tmpfs here (" + disk.error() + "); the disk-full case needs one");
    return;
  }
  service_process::options o;
  o.data_dir = mnt + "/data";
  o.args = {"--snapshot-interval", "1"};
  std::vector<std::string> acknowledged;
  std::string ticket;
  {
    service_process s(o);
    REQUIRE_MESSAGE(s.start(), s.stderr_text());
    for (int i = 0; i < 50; ++i) {
      const std::string id = "v" + std::to_string(i);
      REQUIRE(s.request("PUT", "/vertices/" + id, R"({"properties":{"n":1}})").status == 201);
      acknowledged.push_back(id);
    }
    // Its restore record is larger than a page, so it cannot fit in what is
    // left of the log's last page once the file system is full.
    const std::string pad(6000, 'p');
    REQUIRE(s.request("PUT", "/vertices/gone", R"({"properties":{"pad":")" + pad + R"("}})").status == 201);
    auto del = s.request("DELETE", "/vertices/gone");
    REQUIRE(del.status == 200);
    ticket = del.header("x-undo-ticket").value_or("");
    REQUIRE_FALSE(ticket.empty());

    fill(mnt + "/filler");
    int refused = 0;
    const std::string big(6000, 'x');
    for (int i = 0; i < 200; ++i) {
      const std::string id = "full" + std::to_string(i);
      auto r = s.request("PUT", "/vertices/" + id, R"({"properties":{"pad":")" + big + R"("}})");
      if (r.status == 201) {
        acknowledged.push_back(id);
        continue;
      }
      CHECK(r.status == 503);
      CHECK(is_error_object(r));
      CHECK(error_code(r) == "store_unavailable");
      ++refused;
    }
    CHECK(refused > 0);
    auto undo = s.request("POST", "/undo/" + ticket);
    CHECK(undo.status == 503);
    CHECK(json_of(s.get("/status"))["store_ok"].GetBool() == false);
    // A periodic snapshot runs (and fails) meanwhile: nothing left behind.
    ::sleep(2);
    CHECK_FALSE(fs::exists(o.data_dir + "/snapshot.bin.tmp"));

    fs::remove(mnt + "/filler");
    undo = s.request("POST", "/undo/" + ticket);
    CHECK(undo.status == 200);
    CHECK(s.get("/vertices/gone").status == 200);
    REQUIRE(s.request("PUT", "/vertices/after", R"({"properties":{}})").status == 201);
    acknowledged.push_back("after");
    CHECK(json_of(s.get("/status"))["store_ok"].GetBool());
    s.kill();
  }
  service_process again(o);
  REQUIRE_MESSAGE(again.start(), again.stderr_text());
  int missing = 0;
  for (const auto& id : acknowledged)
    if (again.get("/vertices/" + id).status != 200) ++missing;
  CHECK(missing == 0);
  CHECK(again.get("/vertices/gone").status == 200);
  CHECK(again.terminate() == 0);
  CHECK_FALSE(fs::exists(o.data_dir + "/snapshot.bin.tmp"));
}
