// MemoryStore-only behaviour: durability (log, snapshots, recovery from a
// torn log, SIGKILL), ephemeral mode, the data-directory lock.
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <atomic>
#include <mutex>
#include <thread>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/memory/iso_time.hpp"
#include "store/memory/codec.hpp"
#include "store/memory/memory_store.hpp"
#include "memory_store_support.hpp"
#include "store/memory/wal.hpp"
#include "util/metrics.hpp"

using namespace tlflow;
using tlflow::test::durable;
using tlflow::test::open_store;
namespace fs = std::filesystem;

namespace {

struct temp_dir {
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "tlflow-memstore-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string path;
};

std::string show(const property_value& v) {
  std::ostringstream os;
  std::visit([&](const auto& x) { os << x; }, v);
  return std::to_string(v.index()) + ":" + os.str();
}

// Everything observable about a store, as text, to compare two of them.
std::string dump(graph_store& s) {
  std::ostringstream os;
  vertex_query vq;
  vq.limit = 1000;
  for (;;) {
    auto page = s.list_vertices(vq);
    REQUIRE(page.ok());
    for (const auto& v : page->vertices) {
      os << "V " << v.v.id << " in=" << v.in_degree << " out=" << v.out_degree;
      for (const auto& [k, val] : v.v.props) os << " " << k << "=" << show(val);
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
      os << "E " << e.key.from << " " << e.key.to << " " << to_string(e.key.kind)
         << " w=" << e.weight << " " << e.first_seen << " " << e.last_seen << " tags=";
      for (const auto& t : e.hashtags) os << t << ",";
      for (const auto& [k, val] : e.props) os << " " << k << "=" << show(val);
      os << "\n";
    }
    if (!page->next_after) break;
    eq.after = page->next_after;
  }
  os << "count " << s.count_vertices().value() << " " << s.count_edges().value() << "\n";
  return os.str();
}

interaction inter(std::string from, std::string to, edge_kind k, std::vector<std::string> tags,
                  std::string at) {
  interaction x;
  x.post_id = "p";
  x.from.id = std::move(from);
  x.from.platform = "twitter";
  x.from.location = "Paris";
  x.to.id = std::move(to);
  x.kind = k;
  x.hashtags = std::move(tags);
  x.at = std::move(at);
  return x;
}

// One of every mutation, so that every log record type is exercised.
void mutate_everything(graph_store& s) {
  REQUIRE(s.put_vertex("a", {{"handle", std::string("alice")}, {"n", std::int64_t{-3}},
                             {"d", 2.25}, {"b", true}, {"first_seen", std::string("odd")}},
                       {})
              .ok());
  REQUIRE(s.put_vertex("a", {{"name", std::string("Alice")}}, {"b"}).ok());
  add_edge_request req;
  req.key = {"a", "b", edge_kind::link};
  req.props = {{"why", std::string("manual")}};
  req.at = "2026-11-22T06:00:00Z";
  REQUIRE(s.add_edge(req).ok());
  req.key = {"x').drop();g.V().drop();//", "emoji \xF0\x9F\x98\x80", edge_kind::quote};
  req.at.clear();
  REQUIRE(s.add_edge(req).ok());
  REQUIRE(s.apply({inter("a", "c", edge_kind::mention, {"one", "two"}, "2026-11-20T00:00:00Z"),
                   inter("a", "c", edge_kind::mention, {"three"}, "2026-11-21T00:00:00Z"),
                   inter("c", "d", edge_kind::reply, {}, "bad time"),
                   inter("d", "e", edge_kind::repost, {"x"}, "2026-11-21T00:00:00Z")})
              .ok());
  auto removed = s.remove_vertex("d");
  REQUIRE(removed.ok());
  REQUIRE(s.put_vertex("d", {{"handle", std::string("other")}}, {}).ok());
  auto removed_edges = s.remove_edges("a", "c", std::nullopt);
  REQUIRE(removed_edges.ok());
  REQUIRE(s.restore(*removed).ok());
  REQUIRE(s.restore(*removed_edges).ok());
  REQUIRE(s.remove_edges("a", "b", edge_kind::link).ok());
}

// Runs `body` in a child process that then dies of SIGKILL; the parent
// waits. The child reports a failed step with exit code 2.
template <class F>
void in_killed_child(F&& body) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (!body()) ::_exit(2);
    ::raise(SIGKILL);
    ::_exit(3);
  }
  int st = 0;
  REQUIRE(::waitpid(pid, &st, 0) == pid);
  REQUIRE_MESSAGE(WIFSIGNALED(st), "child exited with ", WEXITSTATUS(st));
  CHECK(WTERMSIG(st) == SIGKILL);
}

std::vector<std::string> logs_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".log") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace

TEST_CASE("memory store: everything survives close and reopen") {
  temp_dir dir;
  std::string before;
  {
    auto s = open_store(durable(dir.path));
    mutate_everything(*s);
    before = dump(*s);
    s->close();
  }
  CHECK(fs::exists(dir.path + "/snapshot.bin"));
  auto s = open_store(durable(dir.path));
  CHECK(dump(*s) == before);
  CHECK(s->statistics().dropped_on_load == 0);
  // And once more, from the snapshot written by this second close.
  REQUIRE(s->put_vertex("late", {}, {}).ok());
  before = dump(*s);
  s->close();
  s.reset();
  CHECK(dump(*open_store(durable(dir.path))) == before);
}

TEST_CASE("memory store: SIGKILL right after N acknowledged writes loses none of them") {
  temp_dir dir;
  constexpr int n = 300;
  in_killed_child([&] {
    auto r = memory_store::open(durable(dir.path));
    if (!r.ok()) return false;
    auto& s = *r.value().release(); // never closed: killed with the store open
    for (int i = 0; i < n; ++i) {
      add_edge_request req;
      req.key = {"v" + std::to_string(i), "v" + std::to_string(i + 1), edge_kind::mention};
      if (!s.add_edge(req).ok()) return false;
    }
    return true;
  });
  CHECK_FALSE(fs::exists(dir.path + "/snapshot.bin"));
  auto s = open_store(durable(dir.path));
  CHECK(s->count_edges().value() == n);
  CHECK(s->count_vertices().value() == n + 1);
  CHECK(s->statistics().last_seq == n);
  path_query q;
  q.max_depth = 32;
  CHECK(s->shortest_path("v0", "v32", q).value().size() == 33);
}

TEST_CASE("memory store: snapshot + log replay after a crash, in every fsync mode") {
  for (auto mode : {wal_fsync_policy::none, wal_fsync_policy::interval, wal_fsync_policy::commit}) {
    CAPTURE(to_string(mode));
    temp_dir dir;
    auto opts = durable(dir.path);
    opts.wal_fsync = mode;
    std::string expected;
    {
      // The expected state, computed in an ephemeral store.
      memory_store_options e;
      e.ephemeral = true;
      auto ref = open_store(e);
      mutate_everything(*ref);
      REQUIRE(ref->put_vertex("after-snapshot", {{"k", std::string("v")}}, {}).ok());
      REQUIRE(ref->apply({inter("after-snapshot", "a", edge_kind::mention, {"t"},
                                "2026-11-22T01:00:00Z")})
                  .ok());
      expected = dump(*ref);
    }
    in_killed_child([&] {
      auto r = memory_store::open(opts);
      if (!r.ok()) return false;
      auto& s = *r.value().release(); // never closed: killed with the store open
      mutate_everything(s);
      if (!s.snapshot().ok()) return false;
      if (!s.put_vertex("after-snapshot", {{"k", std::string("v")}}, {}).ok()) return false;
      return s.apply({inter("after-snapshot", "a", edge_kind::mention, {"t"},
                            "2026-11-22T01:00:00Z")})
          .ok();
    });
    CHECK(fs::exists(dir.path + "/snapshot.bin"));
    CHECK(logs_in(dir.path).size() == 1); // the pre-snapshot log was dropped
    auto s = open_store(opts);
    // "now" times differ between the two runs: compare everything else.
    auto strip_now = [](std::string text) {
      std::string out;
      std::istringstream in(text);
      for (std::string line; std::getline(in, line);)
        if (line.find(" quote ") == std::string::npos && line.find("E c d") == std::string::npos &&
            line.find("V c ") == std::string::npos && line.find("V d ") == std::string::npos)
          out += line + "\n";
      return out;
    };
    CHECK(strip_now(dump(*s)) == strip_now(expected));
    CHECK(s->count_edges().value() == 5);
  }
}

TEST_CASE("memory store: a crash between snapshot rename and log deletion replays nothing twice") {
  temp_dir dir;
  auto bump = [&](int times) {
    in_killed_child([&] {
      auto r = memory_store::open(durable(dir.path));
      if (!r.ok()) return false;
      auto* s = r.value().release();
      add_edge_request req;
      req.key = {"a", "b", edge_kind::mention};
      for (int i = 0; i < times; ++i)
        if (!s->add_edge(req).ok()) return false;
      return true;
    });
  };
  bump(7);
  const auto old_logs = logs_in(dir.path);
  REQUIRE(old_logs.size() == 1);
  const std::string saved = dir.path + "/saved.bin";
  fs::copy_file(old_logs[0], saved);
  // Snapshot (covers the 7), then 5 more, then a crash.
  in_killed_child([&] {
    auto r = memory_store::open(durable(dir.path));
    if (!r.ok()) return false;
    auto* s = r.value().release();
    if (!s->snapshot().ok()) return false;
    add_edge_request req;
    req.key = {"a", "b", edge_kind::mention};
    for (int i = 0; i < 5; ++i)
      if (!s->add_edge(req).ok()) return false;
    return true;
  });
  CHECK_FALSE(fs::exists(old_logs[0]));
  fs::rename(saved, old_logs[0]); // as if the deletion never happened
  auto s = open_store(durable(dir.path));
  edge_query q;
  q.from = "a";
  auto page = s->list_edges(q);
  REQUIRE(page.ok());
  REQUIRE(page->edges.size() == 1);
  CHECK(page->edges[0].weight == 12);
  CHECK(s->statistics().last_seq == 12);
}

TEST_CASE("memory store: a torn or corrupt log tail is dropped, the rest kept") {
  temp_dir dir;
  constexpr int n = 20;
  auto write_n = [&] {
    in_killed_child([&] {
      auto r = memory_store::open(durable(dir.path));
      if (!r.ok()) return false;
      auto* s = r.value().release(); // never closed: killed with the store open
      for (int i = 0; i < n; ++i)
        if (!s->put_vertex("v" + std::to_string(i), {{"i", std::int64_t{i}}}, {}).ok())
          return false;
      return true;
    });
  };
  write_n();
  auto logs = logs_in(dir.path);
  REQUIRE(logs.size() == 1);
  const auto full = fs::file_size(logs[0]);

  SUBCASE("truncated by a few bytes") {
    fs::resize_file(logs[0], full - 3);
    auto s = open_store(durable(dir.path));
    CHECK(s->count_vertices().value() == n - 1);
    CHECK(s->recovery().torn_tail_bytes > 0);
    CHECK(s->recovery().records_replayed == n - 1);
    CHECK(s->get_vertex("v18").ok());
    CHECK(s->get_vertex("v19").err().code == errc::vertex_not_found);
    CHECK(s->statistics().dropped_on_load > 0);
    // The store goes on writing after the cut.
    REQUIRE(s->put_vertex("v19", {}, {}).ok());
    s->close();
    s.reset();
    CHECK(open_store(durable(dir.path))->count_vertices().value() == n);
  }
  SUBCASE("a flipped byte in the last record") {
    {
      std::fstream f(logs[0], std::ios::in | std::ios::out | std::ios::binary);
      f.seekg(static_cast<std::streamoff>(full - 2));
      char c = 0;
      f.read(&c, 1);
      c = static_cast<char>(c ^ 0x5A);
      f.seekp(static_cast<std::streamoff>(full - 2));
      f.write(&c, 1);
    }
    auto s = open_store(durable(dir.path));
    CHECK(s->count_vertices().value() == n - 1);
    CHECK(s->statistics().dropped_on_load > 0);
  }
  SUBCASE("bytes overwritten in the middle: refused, not cut (the test below repairs)") {
    {
      std::fstream f(logs[0], std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(static_cast<std::streamoff>(full / 2));
      f.write("\xFF\xFF\xFF\xFF", 4);
    }
    auto s = memory_store::open(durable(dir.path));
    REQUIRE_FALSE(s.ok());
    CHECK(s.err().code == errc::io_error);
    CHECK(fs::file_size(logs[0]) == full); // nothing cut
  }
  SUBCASE("garbage length field") {
    {
      std::ofstream f(logs[0], std::ios::app | std::ios::binary);
      f.write("\xFF\xFF\xFF\x7F\x00\x00\x00\x00junk", 12);
    }
    auto s = open_store(durable(dir.path));
    CHECK(s->count_vertices().value() == n);
  }
  SUBCASE("an empty log and a leftover temporary snapshot") {
    fs::resize_file(logs[0], 0);
    { std::ofstream(dir.path + "/snapshot.bin.tmp") << "half a snapshot"; }
    auto s = open_store(durable(dir.path));
    CHECK(s->count_vertices().value() == 0);
    CHECK_FALSE(fs::exists(dir.path + "/snapshot.bin.tmp"));
  }
}

TEST_CASE("memory store: a failed log write is store_unavailable and changes nothing") {
  // Fault injection: the log file may not grow past 4 KiB (RLIMIT_FSIZE), so
  // some write fails part-way. The child reports how many writes succeeded
  // through its exit code; 200+ means a check failed.
  temp_dir dir;
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    auto r = memory_store::open(durable(dir.path));
    if (!r.ok()) ::_exit(201);
    auto* s = r.value().release();
    rlimit lim{};
    lim.rlim_cur = lim.rlim_max = 4096;
    if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) ::_exit(202);
    const std::string filler(200, 'x');
    for (int i = 0; i < 100; ++i) {
      const std::string id = "v" + std::to_string(i);
      auto put = s->put_vertex(id, {{"filler", filler}}, {});
      if (put.ok()) continue;
      if (put.err().code != errc::store_unavailable) ::_exit(203);
      if (s->count_vertices().value() != static_cast<std::uint64_t>(i)) ::_exit(204);
      if (s->get_vertex(id).ok()) ::_exit(205);
      if (s->health().ok) ::_exit(206);
      ::_exit(i);
    }
    ::_exit(207);
  }
  int st = 0;
  REQUIRE(::waitpid(pid, &st, 0) == pid);
  REQUIRE(WIFEXITED(st));
  const int acknowledged = WEXITSTATUS(st);
  REQUIRE_MESSAGE(acknowledged < 200, "child check failed: ", acknowledged);
  CHECK(acknowledged > 5);
  auto s = open_store(durable(dir.path));
  CHECK(s->statistics().dropped_on_load == 0); // the partial record was cut off
  CHECK(s->count_vertices().value() == static_cast<std::uint64_t>(acknowledged));
  for (int i = 0; i < acknowledged; ++i) CHECK(s->get_vertex("v" + std::to_string(i)).ok());
}

TEST_CASE("memory store: a corrupt snapshot is refused, not half-loaded") {
  temp_dir dir;
  {
    auto s = open_store(durable(dir.path));
    mutate_everything(*s);
    s->close();
  }
  const std::string snap = dir.path + "/snapshot.bin";
  const auto size = fs::file_size(snap);
  {
    std::fstream f(snap, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size / 2));
    f.write("\x01\x02\x03", 3);
  }
  auto r = memory_store::open(durable(dir.path));
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().code == errc::io_error);
  fs::resize_file(snap, 5);
  auto r2 = memory_store::open(durable(dir.path));
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.err().code == errc::io_error);
}

TEST_CASE("memory store: periodic snapshots from the background thread") {
  temp_dir dir;
  auto opts = durable(dir.path);
  opts.snapshot_interval_s = 1;
  opts.wal_fsync = wal_fsync_policy::interval;
  opts.wal_fsync_interval_ms = 20;
  auto s = open_store(opts);
  REQUIRE(s->put_vertex("a", {}, {}).ok());
  for (int i = 0; i < 40 && !fs::exists(dir.path + "/snapshot.bin"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(fs::exists(dir.path + "/snapshot.bin"));
  CHECK(s->health().ok);
}

TEST_CASE("memory store: one process per data directory") {
  temp_dir dir;
  auto s = open_store(durable(dir.path));
  auto second = memory_store::open(durable(dir.path));
  REQUIRE_FALSE(second.ok());
  CHECK(second.err().code == errc::io_error);
  auto bad = memory_store::open(durable(dir.path + "/LOCK/sub"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.err().code == errc::io_error);
}

TEST_CASE("memory store: ephemeral writes nothing to disk") {
  temp_dir dir;
  const std::string where = dir.path + "/data";
  memory_store_options o;
  o.data_dir = where;
  o.ephemeral = true;
  auto s = open_store(o);
  mutate_everything(*s);
  CHECK(s->snapshot().ok());
  s->close();
  CHECK_FALSE(fs::exists(where));
  CHECK(fs::is_empty(dir.path));
}

TEST_CASE("memory store: ISO-8601 times") {
  using namespace tlflow::mem;
  CHECK(parse_iso8601("2026-11-22T06:55:14Z") == 1795330514u);
  CHECK(format_iso8601(1795330514u) == "2026-11-22T06:55:14Z");
  CHECK(parse_iso8601("2026-11-22T07:55:14+01:00") == 1795330514u);
  CHECK(parse_iso8601("2026-11-22T06:55:14.123Z") == 1795330514u);
  CHECK(parse_iso8601("2026-11-22T06:55:14") == 1795330514u);
  CHECK(parse_iso8601("1970-01-01T00:00:00Z") == 0u);
  CHECK(format_iso8601(0) == "1970-01-01T00:00:00Z");
  CHECK(format_iso8601(UINT32_MAX) == "2106-02-07T06:28:15Z");
  CHECK_FALSE(parse_iso8601("").has_value());
  CHECK_FALSE(parse_iso8601("yesterday").has_value());
  CHECK_FALSE(parse_iso8601("2026-13-01T00:00:00Z").has_value());
  CHECK_FALSE(parse_iso8601("2026-11-22T06:55:14Zjunk").has_value());
  CHECK_FALSE(parse_iso8601("1969-12-31T23:59:59Z").has_value());
  CHECK_FALSE(parse_iso8601("2200-01-01T00:00:00Z").has_value());
}

TEST_CASE("memory store: store-size gauges, also after the store is gone") {
  metrics_registry registry;
  {
    memory_store_options o;
    o.ephemeral = true;
    o.metrics = &registry;
    auto s = open_store(o);
    add_edge_request req;
    req.key = {"a", "b", edge_kind::mention};
    REQUIRE(s->add_edge(req).ok());
    const std::string text = registry.render();
    CHECK(text.find("tlflow_store_vertices 2") != std::string::npos);
    CHECK(text.find("tlflow_store_edges 1") != std::string::npos);
  }
  CHECK(registry.render().find("tlflow_store_vertices 0") != std::string::npos);
}

TEST_CASE("memory store: fsync policy names") {
  CHECK(parse_wal_fsync_policy("none") == wal_fsync_policy::none);
  CHECK(parse_wal_fsync_policy("interval") == wal_fsync_policy::interval);
  CHECK(parse_wal_fsync_policy("commit") == wal_fsync_policy::commit);
  CHECK_FALSE(parse_wal_fsync_policy("sometimes").has_value());
  CHECK(memory_store_options{}.wal_fsync == wal_fsync_policy::commit);
  for (auto p : {wal_fsync_policy::none, wal_fsync_policy::interval, wal_fsync_policy::commit})
    CHECK(parse_wal_fsync_policy(to_string(p)) == p);
}

namespace {

// Offsets of the records of a log segment, in order.
std::vector<std::size_t> record_offsets(const std::string& path) {
  std::string data;
  REQUIRE(mem::read_file(path, data).ok());
  std::vector<std::size_t> out;
  std::size_t pos = 0;
  while (auto f = mem::frame_at(data, pos, 1u << 30)) {
    out.push_back(pos);
    pos += 8 + f->size();
  }
  REQUIRE(pos == data.size());
  return out;
}

void flip_byte(const std::string& path, std::size_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x10);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

// put_vertex v<from> .. v<to - 1> in a child killed afterwards (the log is
// kept: no snapshot); each run starts a new log segment.
void put_in_killed_child(const std::string& dir, int from, int to) {
  in_killed_child([&] {
    auto r = memory_store::open(durable(dir));
    if (!r.ok()) return false;
    auto* s = r.value().release();
    for (int i = from; i < to; ++i)
      if (!s->put_vertex("v" + std::to_string(i), {}, {}).ok()) return false;
    return true;
  });
}

std::size_t files_in(const std::string& dir) {
  if (!fs::exists(dir)) return 0;
  return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

} // namespace

TEST_CASE("memory store: group commit — no write returns before an fdatasync covering it") {
  temp_dir dir;
  auto opts = durable(dir.path);
  opts.wal_fsync = wal_fsync_policy::commit;
  std::atomic<std::uint64_t> durable_upto{0};
  std::atomic<int> flushes{0};
  opts.wal_sync_for_tests = [&](int fd, std::uint64_t upto) {
    const int rc = ::fdatasync(fd);
    // A slow disk, so that writers pile up behind a flush.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    ++flushes;
    std::uint64_t cur = durable_upto.load();
    while (cur < upto && !durable_upto.compare_exchange_weak(cur, upto)) {
    }
    return rc;
  };
  metrics_registry registry;
  opts.wal_metrics = &registry;
  auto s = open_store(opts);
  constexpr int threads = 16;
  constexpr int per_thread = 40;
  std::mutex m;
  std::vector<std::pair<std::string, std::uint64_t>> acked; // id, durable_upto at return
  std::vector<std::thread> pool;
  std::atomic<int> failures{0};
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        const std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        if (!s->put_vertex(id, {}, {}).ok()) {
          ++failures;
          continue;
        }
        const std::uint64_t seen = durable_upto.load();
        std::lock_guard<std::mutex> l(m);
        acked.emplace_back(id, seen);
      }
    });
  }
  for (auto& th : pool) th.join();
  REQUIRE(failures == 0);
  REQUIRE(acked.size() == threads * per_thread);
  // Each write's sequence number, from the log itself.
  std::map<std::string, std::uint64_t> seq_of;
  for (const auto& log : logs_in(dir.path)) {
    std::string data;
    REQUIRE(mem::read_file(log, data).ok());
    std::size_t pos = 0;
    while (auto f = mem::frame_at(data, pos, 1u << 30)) {
      mem::bin_reader r(*f);
      const std::uint64_t seq = r.u64();
      r.u8();
      seq_of[std::string(r.str())] = seq;
      pos += 8 + f->size();
    }
  }
  int early = 0;
  for (const auto& [id, seen] : acked) {
    REQUIRE(seq_of.count(id) == 1);
    if (seq_of[id] > seen) ++early;
  }
  CHECK(early == 0); // every call returned after the flush that covered it
  // Group commit groups: fewer flushes than writes.
  MESSAGE(flushes.load(), " flushes for ", acked.size(), " writes");
  CHECK(flushes.load() < static_cast<int>(acked.size()));
  CHECK(s->statistics().wal_syncs == static_cast<std::uint64_t>(flushes.load()));
  CHECK(registry.render().find("tlflow_wal_syncs_total " + std::to_string(flushes.load())) !=
        std::string::npos);
}

TEST_CASE("memory store: a failed fdatasync refuses writes until a flush succeeds") {
  temp_dir dir;
  std::atomic<bool> fail{false};
  auto opts = durable(dir.path);
  opts.wal_fsync = wal_fsync_policy::commit;
  opts.wal_sync_for_tests = [&](int fd, std::uint64_t) {
    if (fail) {
      errno = EIO;
      return -1;
    }
    return ::fdatasync(fd);
  };
  metrics_registry registry;
  opts.wal_metrics = &registry;
  auto s = open_store(opts);
  REQUIRE(s->put_vertex("before", {}, {}).ok());
  CHECK(s->health().ok);

  fail = true;
  auto first = s->put_vertex("during", {}, {});
  REQUIRE_FALSE(first.ok());
  CHECK(first.err().code == errc::store_unavailable);
  CHECK_FALSE(s->health().ok);
  CHECK(s->health().detail.find("Input/output error") != std::string::npos);
  // Refused before anything is written while flushes keep failing.
  const auto seq = s->statistics().last_seq;
  auto refused = s->add_edge(add_edge_request{{"a", "b", edge_kind::mention}, {}, {}});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.err().code == errc::store_unavailable);
  CHECK(s->statistics().last_seq == seq);
  CHECK_FALSE(s->apply({inter("a", "b", edge_kind::mention, {}, "")}).ok());
  CHECK(s->statistics().wal_sync_failures >= 2);
  CHECK(registry.render().find("tlflow_wal_sync_failures_total 0") == std::string::npos);

  SUBCASE("the next write retries the flush") {
    fail = false;
    REQUIRE(s->put_vertex("after", {}, {}).ok());
    CHECK(s->health().ok);
  }
  SUBCASE("the background timer retries it without a write") {
    fail = false;
    for (int i = 0; i < 50 && !s->health().ok; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK(s->health().ok);
    REQUIRE(s->put_vertex("after", {}, {}).ok());
  }
  s->close();
  s.reset();
  auto again = open_store(durable(dir.path));
  CHECK(again->get_vertex("before").ok());
  CHECK(again->get_vertex("after").ok());
}

TEST_CASE("memory store: interval mode — a failed background flush also refuses writes") {
  temp_dir dir;
  std::atomic<bool> fail{false};
  auto opts = durable(dir.path);
  opts.wal_fsync = wal_fsync_policy::interval;
  opts.wal_fsync_interval_ms = 10;
  opts.wal_sync_for_tests = [&](int fd, std::uint64_t) {
    if (fail) {
      errno = EIO;
      return -1;
    }
    return ::fdatasync(fd);
  };
  auto s = open_store(opts);
  fail = true;
  REQUIRE(s->put_vertex("a", {}, {}).ok()); // answered before the flush
  for (int i = 0; i < 100 && s->health().ok; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK_FALSE(s->health().ok);
  auto refused = s->put_vertex("b", {}, {});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.err().code == errc::store_unavailable);
  fail = false;
  REQUIRE(s->put_vertex("b", {}, {}).ok());
  CHECK(s->health().ok);
}

TEST_CASE("memory store: the writer refuses a record the reader would refuse") {
  temp_dir dir;
  auto opts = durable(dir.path);
  opts.max_record_bytes = 4096;
  {
    auto s = open_store(opts);
    auto big = s->put_vertex("big", {{"blob", std::string(5000, 'x')}}, {});
    REQUIRE_FALSE(big.ok());
    CHECK(big.err().code == errc::payload_too_large);
    CHECK(big.err().message.find("4096") != std::string::npos);
    CHECK_FALSE(s->get_vertex("big").ok());
    CHECK(s->health().ok); // the store itself is fine
    REQUIRE(s->put_vertex("small", {{"blob", std::string(3000, 'x')}}, {}).ok());
  }
  auto again = open_store(opts);
  CHECK(again->get_vertex("small").ok());
  CHECK(again->count_vertices().value() == 1);
}

TEST_CASE("memory store: a damaged record followed by intact ones refuses to open; repair keeps 199 of 200") {
  temp_dir dir;
  put_in_killed_child(dir.path, 0, 200);
  auto logs = logs_in(dir.path);
  REQUIRE(logs.size() == 1);
  const auto offsets = record_offsets(logs[0]);
  REQUIRE(offsets.size() == 200);
  flip_byte(logs[0], offsets[56] + 14); // a payload byte of seq 57 = v56
  const auto size = fs::file_size(logs[0]);

  auto refused = memory_store::open(durable(dir.path));
  REQUIRE_FALSE(refused.ok());
  const std::string& why = refused.err().message;
  INFO(why);
  CHECK(why.find(fs::path(logs[0]).filename().string()) != std::string::npos);
  CHECK(why.find("offset " + std::to_string(offsets[56])) != std::string::npos);
  CHECK(why.find("after sequence number 56") != std::string::npos);
  CHECK(why.find("from sequence number 58") != std::string::npos);
  CHECK(why.find("tlflow repair --data-dir " + dir.path) != std::string::npos);
  CHECK(fs::file_size(logs[0]) == size); // untouched

  auto report = memory_store::repair(durable(dir.path));
  REQUIRE_MESSAGE(report.ok(), (report.ok() ? "" : report.err().message));
  CHECK(report->changed);
  CHECK(report->records_kept == 199);
  CHECK(report->records_dropped == 1);
  REQUIRE(report->dropped_seqs.size() == 1);
  CHECK(report->dropped_seqs[0] == std::make_pair(std::uint64_t{57}, std::uint64_t{57}));
  CHECK(report->bytes_set_aside == offsets[57] - offsets[56]);
  const std::string damaged = dir.path + "/damaged/" + fs::path(logs[0]).filename().string() + "." +
                              std::to_string(offsets[56]) + ".bin";
  CHECK(fs::file_size(damaged) == offsets[57] - offsets[56]);
  CHECK(to_string(*report).find("sequence number(s) 57") != std::string::npos);

  {
    auto s = open_store(durable(dir.path));
    CHECK(s->count_vertices().value() == 199);
    CHECK_FALSE(s->get_vertex("v56").ok());
    CHECK(s->get_vertex("v55").ok());
    CHECK(s->get_vertex("v57").ok());
    CHECK(s->get_vertex("v199").ok());
    CHECK(s->recovery().records_replayed == 199);
    REQUIRE(s->put_vertex("new", {}, {}).ok());
  }
  // A second repair finds nothing to do.
  auto second = memory_store::repair(durable(dir.path));
  REQUIRE(second.ok());
  CHECK_FALSE(second->changed);
  CHECK(open_store(durable(dir.path))->count_vertices().value() == 200);
}

TEST_CASE("memory store: an unreadable segment or a sequence gap refuses to open; repair drops what is gone") {
  temp_dir dir;
  put_in_killed_child(dir.path, 0, 50);
  put_in_killed_child(dir.path, 50, 100);
  put_in_killed_child(dir.path, 100, 150);
  auto logs = logs_in(dir.path);
  REQUIRE(logs.size() == 3);
  std::string expect;
  SUBCASE("unreadable: the middle segment replaced by a directory") {
    // root reads any file whatever its mode: a directory of the same name
    // is what cannot be read as a segment.
    fs::remove(logs[1]);
    fs::create_directory(logs[1]);
    expect = "unreadable";
  }
  SUBCASE("gap: the middle segment deleted") {
    fs::remove(logs[1]);
    expect = "records 51-100 are missing";
  }
  auto refused = memory_store::open(durable(dir.path));
  REQUIRE_FALSE(refused.ok());
  INFO(refused.err().message);
  CHECK(refused.err().message.find(expect) != std::string::npos);
  CHECK(refused.err().message.find("tlflow repair") != std::string::npos);

  auto report = memory_store::repair(durable(dir.path));
  REQUIRE_MESSAGE(report.ok(), (report.ok() ? "" : report.err().message));
  CHECK(report->records_kept == 100);
  CHECK(report->records_dropped == 50);
  REQUIRE(report->dropped_seqs.size() == 1);
  CHECK(report->dropped_seqs[0] == std::make_pair(std::uint64_t{51}, std::uint64_t{100}));
  CHECK(files_in(dir.path + "/damaged") >= 2); // the original segments, kept
  auto s = open_store(durable(dir.path));
  CHECK(s->count_vertices().value() == 100);
  CHECK(s->get_vertex("v49").ok());
  CHECK_FALSE(s->get_vertex("v50").ok());
  CHECK(s->get_vertex("v100").ok());
}

TEST_CASE("memory store: an interrupted repair is finished by the next open") {
  temp_dir dir;
  put_in_killed_child(dir.path, 0, 30);
  auto logs = logs_in(dir.path);
  REQUIRE(logs.size() == 1);
  // A repair that stopped after writing its new log (wal-repair.done) but
  // before moving the old segment aside: the new log holds records 1-10.
  std::string data;
  REQUIRE(mem::read_file(logs[0], data).ok());
  const auto offsets = record_offsets(logs[0]);
  { std::ofstream(dir.path + "/wal-repair.done", std::ios::binary) << data.substr(0, offsets[10]); }
  { std::ofstream(dir.path + "/wal-repair.tmp", std::ios::binary) << "half"; }
  auto s = open_store(durable(dir.path));
  CHECK(s->recovery().finished_repair);
  CHECK(s->count_vertices().value() == 10);
  CHECK_FALSE(fs::exists(dir.path + "/wal-repair.done"));
  CHECK_FALSE(fs::exists(dir.path + "/wal-repair.tmp"));
  CHECK(files_in(dir.path + "/damaged") == 1);
}

TEST_CASE("memory store: a failed snapshot leaves no temporary file") {
  // Fault injection: the snapshot may not grow past 8 KiB (RLIMIT_FSIZE).
  temp_dir dir;
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    auto r = memory_store::open(durable(dir.path));
    if (!r.ok()) ::_exit(2);
    auto* s = r.value().release();
    for (int i = 0; i < 20; ++i)
      if (!s->put_vertex("v" + std::to_string(i), {{"filler", std::string(1000, 'x')}}, {}).ok()) ::_exit(3);
    rlimit lim{};
    lim.rlim_cur = lim.rlim_max = 8192;
    if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) ::_exit(4);
    if (s->snapshot().ok()) ::_exit(5);
    if (fs::exists(dir.path + "/snapshot.bin.tmp")) ::_exit(6);
    if (fs::exists(dir.path + "/snapshot.bin")) ::_exit(7);
    ::_exit(0);
  }
  int st = 0;
  REQUIRE(::waitpid(pid, &st, 0) == pid);
  REQUIRE(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 0);
  CHECK(open_store(durable(dir.path))->count_vertices().value() == 20);
}

TEST_CASE("memory store: apply() waits out a failed flush instead of failing a batch it applied") {
  temp_dir dir;
  std::atomic<int> failures_left{3};
  auto opts = durable(dir.path);
  opts.wal_fsync = wal_fsync_policy::commit;
  opts.wal_sync_for_tests = [&](int fd, std::uint64_t) {
    if (failures_left.fetch_sub(1) > 0) {
      errno = EIO;
      return -1;
    }
    return ::fdatasync(fd);
  };
  auto s = open_store(opts);
  // A failed result would make the pipeline apply the batch again.
  REQUIRE(s->apply({inter("a", "b", edge_kind::mention, {}, "")}).ok());
  CHECK(s->statistics().wal_sync_failures == 3);
  CHECK(s->health().ok);
  edge_query q;
  q.from = "a";
  CHECK(s->list_edges(q).value().edges.at(0).weight == 1);

  SUBCASE("it gives up after apply_flush_retry") {
    temp_dir other;
    auto o = durable(other.path);
    o.wal_fsync = wal_fsync_policy::commit;
    o.apply_flush_retry = std::chrono::milliseconds(50);
    o.wal_sync_for_tests = [](int, std::uint64_t) {
      errno = EIO;
      return -1;
    };
    auto broken = open_store(o);
    auto r = broken->apply({inter("a", "b", edge_kind::mention, {}, "")});
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().code == errc::store_unavailable);
  }
}
