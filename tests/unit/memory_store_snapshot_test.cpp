// Compacting snapshots and backups of the MemoryStore: a snapshot built off
// the live graph equals it; no lock is held while it replays and writes; a
// crash after any step of it loses nothing; a backup taken while writes go
// on restores everything acknowledged before it began; a damaged or
// truncated backup is refused with nothing written.
#include <doctest/doctest.h>

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

#include "store/memory/memory_store.hpp"
#include "memory_store_support.hpp"
#include "store/memory/wal.hpp"
#include "support/temp_dir.hpp"

using namespace tlflow;
using tlflow::test::durable;
using tlflow::test::open_store;
using tlflow::test::temp_dir;
namespace fs = std::filesystem;

namespace {

// Everything the tests compare: vertices with their properties, edges with
// weight, hashtags and times.
std::string dump(graph_store& s) {
  std::ostringstream os;
  vertex_query vq;
  vq.limit = 1000;
  for (;;) {
    auto page = s.list_vertices(vq);
    REQUIRE(page.ok());
    for (const auto& v : page->vertices) {
      os << "V " << v.v.id;
      for (const auto& [k, val] : v.v.props)
        if (auto* str = std::get_if<std::string>(&val)) os << " " << k << "=" << *str;
      os << "\n";
    }
    if (!page->next_after) break;
    vq.after = page->next_after;
  }
  edge_query eq;
  eq.limit = 1000;
  for (;;) {
    auto page = s.list_edges(eq);
    REQUIRE(page.ok());
    for (const auto& e : page->edges) {
      os << "E " << e.key.from << ">" << e.key.to << " " << to_string(e.key.kind) << " w=" << e.weight
         << " " << e.first_seen << " " << e.last_seen;
      for (const auto& h : e.hashtags) os << " #" << h;
      os << "\n";
    }
    if (!page->next_after) break;
    eq.after = page->next_after;
  }
  return os.str();
}

interaction inter(int from, int to, edge_kind kind) {
  interaction x;
  x.from.id = "twitter:" + std::to_string(from);
  x.from.handle = "u" + std::to_string(from);
  x.from.location = from % 2 ? "Paris" : "";
  x.to.id = "twitter:" + std::to_string(to);
  x.kind = kind;
  x.hashtags = {"t" + std::to_string(from % 3)};
  x.at = "2026-01-0" + std::to_string(1 + from % 9) + "T10:00:00Z";
  return x;
}

// Every kind of log record, `round` making each call's data different.
void mutate(memory_store& s, int round) {
  std::vector<interaction> batch;
  for (int i = 0; i < 40; ++i)
    batch.push_back(inter(round * 7 + i % 13, i % 11, static_cast<edge_kind>(i % 4)));
  REQUIRE(s.apply(batch).ok());
  add_edge_request req;
  req.key = {"twitter:1", "twitter:2", edge_kind::link};
  req.at = "2026-02-01T00:00:00Z"; // with no `at` the time is now: dumps compare by value
  REQUIRE(s.add_edge(req).ok());
  REQUIRE(s.put_vertex("twitter:" + std::to_string(round), {{"name", std::string("n") + std::to_string(round)}},
                       {"location"})
              .ok());
  auto removed = s.remove_vertex("twitter:3");
  if (removed.ok() && round % 2 == 0) REQUIRE(s.restore(*removed).ok());
  (void)s.remove_edges("twitter:5", "twitter:6", std::nullopt);
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

void write_all(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

std::string take_backup(memory_store& s) {
  auto b = s.begin_backup();
  REQUIRE_MESSAGE(b.ok(), (b.ok() ? "" : b.err().message));
  std::string out;
  for (;;) {
    auto piece = (*b)->next();
    REQUIRE_MESSAGE(piece.ok(), (piece.ok() ? "" : piece.err().message));
    if (!*piece) break;
    out += **piece;
  }
  CHECK(out.size() == (*b)->total_bytes());
  return out;
}

} // namespace

TEST_CASE("compacting snapshot: equals the live graph, snapshot after snapshot") {
  temp_dir dir;
  // In a child that dies without close() (which would write a snapshot of
  // its own): the reopen comes from the compacted snapshot + the log.
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto r = memory_store::open(durable(dir.path()));
    if (!r.ok()) ::_exit(2);
    auto* s = r.value().release();
    for (int round = 0; round < 4; ++round) {
      mutate(*s, round);
      if (!s->snapshot(snapshot_mode::compact).ok()) ::_exit(3);
      if (!fs::exists(dir.path() + "/snapshot.bin") || fs::exists(dir.path() + "/snapshot.bin.tmp"))
        ::_exit(4);
    }
    mutate(*s, 9); // in the log only
    write_all(dir.path() + "/expected.txt", dump(*s));
    ::raise(SIGKILL);
  }
  int st = 0;
  REQUIRE(::waitpid(pid, &st, 0) == pid);
  REQUIRE_MESSAGE(WIFSIGNALED(st), "child exited with ", WEXITSTATUS(st));
  const std::string expected = read_all(dir.path() + "/expected.txt");
  REQUIRE(!expected.empty());
  auto reopened = open_store(durable(dir.path()));
  CHECK(reopened->recovery().records_replayed >= 3);
  CHECK(dump(*reopened) == expected);
}

TEST_CASE("compacting snapshot: no lock is held while it replays and writes") {
  temp_dir dir;
  auto o = durable(dir.path());
  memory_store* store = nullptr;
  std::atomic<int> answered{0};
  o.snapshot_step_for_tests = [&](std::string_view step) {
    if (step != "sealed" && step != "replayed" && step != "written") return;
    // From another thread, as a request would: a writer and a reader. Were
    // any lock of the store held here, they would wait for ever.
    auto f = std::async(std::launch::async, [&] {
      add_edge_request req;
      req.key = {"twitter:100", "twitter:101", edge_kind::mention};
      req.at = "2026-03-01T00:00:00Z";
      if (store->add_edge(req).ok() && store->get_vertex("twitter:100").ok()) ++answered;
    });
    REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  };
  auto s = open_store(o);
  store = s.get();
  mutate(*s, 1);
  REQUIRE(s->snapshot().ok());
  CHECK(answered == 3);
  // The three edges written after the seal are in the log, not the snapshot.
  const std::string expected = dump(*s);
  s.reset(); // close() writes a locked snapshot (the hook sees no "sealed")
  auto reopened = open_store(durable(dir.path()));
  CHECK(dump(*reopened) == expected);
}

TEST_CASE("compacting snapshot: a crash after any step loses nothing") {
  for (const char* step : {"sealed", "replayed", "written", "renamed", "deleted"}) {
    CAPTURE(step);
    temp_dir dir;
    std::string expected;
    {
      // The same operations on an ephemeral store: what must be there.
      memory_store_options e;
      e.ephemeral = true;
      auto ref = open_store(e);
      for (int round = 0; round < 3; ++round) mutate(*ref, round);
      add_edge_request req;
      req.key = {"twitter:200", "twitter:201", edge_kind::quote};
      req.at = "2026-04-01T00:00:00Z";
      REQUIRE(ref->add_edge(req).ok());
      expected = dump(*ref);
    }
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      auto o = durable(dir.path());
      memory_store* raw = nullptr;
      bool armed = false;
      o.snapshot_step_for_tests = [&](std::string_view at) {
        if (!armed) return;
        if (at == "sealed") {
          // A write after the seal: in the new segment only.
          add_edge_request req;
          req.key = {"twitter:200", "twitter:201", edge_kind::quote};
          req.at = "2026-04-01T00:00:00Z";
          if (!raw->add_edge(req).ok()) ::_exit(4);
        }
        if (at == step) ::raise(SIGKILL);
      };
      auto r = memory_store::open(o);
      if (!r.ok()) ::_exit(2);
      raw = r.value().release();
      mutate(*raw, 0);
      if (!raw->snapshot().ok()) ::_exit(3); // the first one: no previous snapshot
      mutate(*raw, 1);
      mutate(*raw, 2);
      armed = true;
      (void)raw->snapshot(); // killed at `step`
      ::_exit(5);
    }
    int st = 0;
    REQUIRE(::waitpid(pid, &st, 0) == pid);
    REQUIRE_MESSAGE(WIFSIGNALED(st), "child exited with ", WEXITSTATUS(st));
    auto s = open_store(durable(dir.path()));
    CHECK(dump(*s) == expected);
    CHECK_FALSE(fs::exists(dir.path() + "/snapshot.bin.tmp"));
  }
}

TEST_CASE("compacting snapshot: a damaged sealed segment is refused, nothing replaced") {
  temp_dir dir;
  auto s = open_store(durable(dir.path()));
  mutate(*s, 0);
  REQUIRE(s->snapshot().ok());
  const std::string snap_before = read_all(dir.path() + "/snapshot.bin");
  mutate(*s, 1);
  mutate(*s, 2);
  std::string seg;
  for (const auto& e : fs::directory_iterator(dir.path()))
    if (e.path().extension() == ".log") seg = e.path().string();
  REQUIRE(!seg.empty());
  // Flip a byte in the middle of the log the store is writing (the disk
  // went bad under it): the compaction reading it must not go on.
  std::string bytes = read_all(seg);
  REQUIRE(bytes.size() > 100);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x20);
  write_all(seg, bytes);
  auto r = s->snapshot();
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().code == errc::io_error);
  CHECK(r.err().message.find("damaged") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.path() + "/snapshot.bin.tmp"));
  CHECK(read_all(dir.path() + "/snapshot.bin") == snap_before);
  CHECK(fs::exists(seg)); // the log it could not compact stays
  // The live store goes on.
  add_edge_request req;
  req.key = {"twitter:1", "twitter:9", edge_kind::mention};
  CHECK(s->add_edge(req).ok());
}

TEST_CASE("backup: taken while a writer writes, restored whole into a new directory") {
  temp_dir dir;
  temp_dir out;
  auto s = open_store(durable(dir.path()));
  mutate(*s, 0);
  REQUIRE(s->snapshot().ok());
  mutate(*s, 1); // after the snapshot: in the log only
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      add_edge_request req;
      req.key = {"twitter:w", "twitter:" + std::to_string(i % 50), edge_kind::reply};
      req.at = "2026-05-01T00:00:00Z";
      if (s->add_edge(req).ok()) ++written;
    }
  });
  while (written < 200) std::this_thread::yield();
  stop = true;
  writer.join();
  const std::string expected = dump(*s); // everything acknowledged so far
  auto b = s->begin_backup();
  REQUIRE(b.ok());
  // Writes and a snapshot after the backup began: not in it, and the
  // snapshot deleting the files it reads changes nothing.
  mutate(*s, 5);
  REQUIRE(s->snapshot().ok());
  std::string backup;
  for (;;) {
    auto piece = (*b)->next();
    REQUIRE(piece.ok());
    if (!*piece) break;
    backup += **piece;
  }
  write_all(out.file("b.backup"), backup);
  const std::string target = out.file("restored/data");
  auto report = memory_store::restore_backup(out.file("b.backup"), target);
  REQUIRE_MESSAGE(report.ok(), (report.ok() ? "" : report.err().message));
  CHECK(report->segments >= 1);
  CHECK(report->snapshot_seq > 0);
  CHECK(report->last_seq == (*b)->last_seq());
  CHECK_FALSE(fs::exists(target + ".restore.tmp"));
  auto restored = open_store(durable(target));
  CHECK(dump(*restored) == expected);

  SUBCASE("into an existing empty directory; a non-empty one is refused") {
    restored.reset();
    fs::create_directories(out.file("empty"));
    CHECK(memory_store::restore_backup(out.file("b.backup"), out.file("empty")).ok());
    auto again = memory_store::restore_backup(out.file("b.backup"), target);
    REQUIRE_FALSE(again.ok());
    CHECK(again.err().code == errc::invalid_argument);
    CHECK(again.err().message.find("not empty") != std::string::npos);
  }
}

TEST_CASE("backup: a flipped byte or a truncated file is refused, nothing written") {
  temp_dir dir;
  temp_dir out;
  std::string good;
  {
    auto s = open_store(durable(dir.path()));
    mutate(*s, 0);
    REQUIRE(s->snapshot().ok());
    mutate(*s, 1);
    good = take_backup(*s);
  }
  REQUIRE(good.size() > 200);
  const auto refused = [&](const std::string& bytes, const std::string& says) {
    write_all(out.file("bad.backup"), bytes);
    const std::string target = out.file("target");
    auto r = memory_store::restore_backup(out.file("bad.backup"), target);
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().code == errc::invalid_argument);
    CHECK_MESSAGE(r.err().message.find(says) != std::string::npos, r.err().message);
    CHECK_FALSE(fs::exists(target));
    CHECK_FALSE(fs::exists(target + ".restore.tmp"));
  };
  // Every 97th byte flipped in turn: header, names, sizes, data, checksums,
  // the end part.
  for (std::size_t at = 8; at < good.size(); at += 97) {
    CAPTURE(at);
    std::string bad = good;
    bad[at] = static_cast<char>(bad[at] ^ 0x01);
    write_all(out.file("bad.backup"), bad);
    auto r = memory_store::restore_backup(out.file("bad.backup"), out.file("target"));
    REQUIRE_FALSE(r.ok());
    CHECK_FALSE(fs::exists(out.file("target")));
  }
  std::string flipped = good;
  flipped[good.size() / 2] = static_cast<char>(flipped[good.size() / 2] ^ 0x40);
  refused(flipped, "is damaged");
  refused(good.substr(0, good.size() - 1), "truncated");
  refused(good.substr(0, good.size() / 2), "truncated");
  refused(good.substr(0, 8), "truncated");
  refused(good + "x", "follow the end part");
  refused("not a backup at all", "not a tlflow backup");
  // The good one restores.
  CHECK(memory_store::restore_backup(out.file("good.backup"), out.file("t2")).ok() == false); // absent file
  write_all(out.file("good.backup"), good);
  CHECK(memory_store::restore_backup(out.file("good.backup"), out.file("t2")).ok());
}

TEST_CASE("backup: an ephemeral store has none") {
  memory_store_options e;
  e.ephemeral = true;
  auto s = open_store(e);
  auto b = s->begin_backup();
  REQUIRE_FALSE(b.ok());
  CHECK(b.err().code == errc::not_supported);
}

TEST_CASE("log rotation for a seal: the old segment and the directory are flushed before durability") {
  temp_dir dir;
  std::vector<std::pair<int, std::uint64_t>> flushes; // (fd, covering seq)
  bool fail_next = false;
  mem::wal_writer w;
  w.set_sync_function([&](int fd, std::uint64_t upto) {
    flushes.emplace_back(fd, upto);
    if (fail_next) {
      fail_next = false;
      errno = EIO;
      return -1;
    }
    return 0;
  });
  w.start_at(0);
  REQUIRE(w.open_segment(dir.path(), 1).ok());
  flushes.clear();
  const auto record = [](std::uint64_t seq) {
    std::string p(8, '\0');
    for (int i = 0; i < 8; ++i) p[static_cast<std::size_t>(i)] = static_cast<char>((seq >> (8 * i)) & 0xFF);
    return p + "x";
  };
  REQUIRE(w.append(record(1), 1).ok()); // not flushed yet
  REQUIRE(w.rotate(dir.path(), 2).ok());
  CHECK(flushes.empty()); // the seal itself waits for no disk
  REQUIRE(w.append(record(2), 2).ok());
  // The first flush after the rotation fails on the old segment: nothing
  // counts as durable, and the next flush tries the old segment again.
  fail_next = true;
  CHECK_FALSE(w.wait_durable(1).ok());
  CHECK(w.synced_seq() == 0);
  REQUIRE(flushes.size() == 1);
  const int old_fd = flushes[0].first;
  flushes.clear();
  REQUIRE(w.recover_from_failure().ok());
  REQUIRE(flushes.size() == 2);
  CHECK(flushes[0].first == old_fd);  // the rotated-away segment first
  CHECK(flushes[1].first != old_fd);  // then the new one
  CHECK(flushes[1].second == 2);
  CHECK(w.synced_seq() == 2);
  flushes.clear();
  REQUIRE(w.append(record(3), 3).ok());
  REQUIRE(w.wait_durable(3).ok());
  CHECK(flushes.size() == 1); // the old segment is done with
  CHECK(fs::exists(dir.path() + "/" + mem::segment_name(2)));
}

TEST_CASE("compacting snapshot: close() does not wait for a periodic one to finish") {
  temp_dir dir;
  std::string expected;
  {
    auto o = durable(dir.path());
    o.snapshot_interval_s = 1;
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::string> steps;
    o.snapshot_step_for_tests = [&](std::string_view step) {
      {
        std::lock_guard<std::mutex> l(mu);
        steps.emplace_back(step);
      }
      cv.notify_all();
      // As if the replay were long: close() comes meanwhile.
      if (step == "sealed") std::this_thread::sleep_for(std::chrono::milliseconds(500));
    };
    auto s = open_store(o);
    mutate(*s, 0);
    {
      std::unique_lock<std::mutex> l(mu);
      REQUIRE(cv.wait_for(l, std::chrono::seconds(10), [&] { return !steps.empty(); }));
    }
    s->close(); // the compaction gives up; close() writes its own snapshot
    std::lock_guard<std::mutex> l(mu);
    // Sealed, then given up: never replayed nor written (close()'s own locked
    // snapshot then goes through "renamed" and "deleted").
    REQUIRE(!steps.empty());
    CHECK(steps.front() == "sealed");
    CHECK(std::count(steps.begin(), steps.end(), "replayed") == 0);
    CHECK(std::count(steps.begin(), steps.end(), "written") == 0);
    CHECK_FALSE(fs::exists(dir.path() + "/snapshot.bin.tmp"));
    expected = dump(*s);
  }
  auto reopened = open_store(durable(dir.path()));
  CHECK(reopened->recovery().records_replayed == 0); // all in close()'s snapshot
  CHECK(dump(*reopened) == expected);
}
