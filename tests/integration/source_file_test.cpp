// NDJSON files and `tlflow import` into the real MemoryStore: formats
// recognised per line, malformed lines counted, importing twice never raises
// a weight twice (seen-set in the data dir), and the ingest service wiring
// (file source + tracking through the API routes + X rules re-synced live).
#include <doctest/doctest.h>

#include <fstream>

#include <unistd.h>

#include "api/tracking_routes.hpp"
#include "pipeline/import.hpp"
#include "pipeline/ingest_service.hpp"
#include "sources/file_source.hpp"
#include "sources/x_source.hpp"
#include "store/memory/memory_store.hpp"
#include "support/source_harness.hpp"
#include "support/stream_fixtures.hpp"
#include "support/stream_server.hpp"
#include "support/temp_dir.hpp"

using namespace tlflow;
using namespace tlflow::test;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> mixed_lines() {
  return {
      x_v2_line("1790000000000000001", 1, {2, 3}, {"graphs"}),
      twitter_v1_line("1127000000000000001", 4, {5}, {"graphs"}),
      mastodon_status("112345678901234511", "example.social", "alice", {"bob"}, {"graphs"}),
      jetstream_post(1715594400000000, "aaa", "3kseq1", {"bbb"}, {"graphs"}),
      x_v2_line("1790000000000000002", 2, {1}, {"rust"}),
  };
}

std::string write_file(const temp_dir& dir, const std::string& name, const std::vector<std::string>& lines,
                       const std::string& extra = {}) {
  std::string path = dir.file(name);
  std::ofstream out(path, std::ios::binary);
  for (const auto& l : lines) out << l << "\n\n";
  out << extra;
  return path;
}

std::vector<std::string> store_dump(graph_store& s) {
  std::vector<std::string> out;
  edge_query q;
  q.limit = 1000;
  auto page = s.list_edges(q);
  REQUIRE(page.ok());
  for (const auto& e : page->edges) {
    std::string line = e.key.from + " -" + std::string(to_string(e.key.kind)) + "-> " + e.key.to + " x" +
                       std::to_string(e.weight) + " [";
    for (std::size_t i = 0; i < e.hashtags.size(); ++i) line += (i ? "," : "") + e.hashtags[i];
    out.push_back(line + "]");
  }
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace

TEST_CASE("file source: formats detected per line, malformed counted, last line without newline") {
  temp_dir dir;
  auto lines = mixed_lines();
  auto path = write_file(dir, "in.ndjson", lines,
                         "{\"data\":{\"id\":\n"          // truncated
                         "not json at all\n"
                         "{\"unknown\":true}\n" +
                             lines[0]);                  // duplicate, no final newline
  harness h;
  file_source src(h.context(), path);
  src.start();
  REQUIRE(stream_server::wait_until([&] { return src.finished(); }));
  h.pipe->drain();
  src.stop();
  CHECK(src.lines() == lines.size() + 4);
  auto expected = extract_all(wire_format::detect, lines);
  CHECK(expected.size() >= 6);
  CHECK(h.store.dump() == expected_dump(expected));
  auto s = h.stats();
  CHECK(s.duplicates == 1);
  CHECK(s.malformed == 3);
  CHECK(s.posts == lines.size() + 1);
  CHECK(src.state().finished);
  CHECK_FALSE(src.state().connected);
}

TEST_CASE("file source: stdin (file:-) is followed as it is written, to its end") {
  auto lines = mixed_lines();
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const int saved_stdin = ::dup(0);
  REQUIRE(::dup2(fds[0], 0) == 0);
  ::close(fds[0]);
  auto write_line = [&](const std::string& l) {
    std::string b = l + "\n";
    REQUIRE(::write(fds[1], b.data(), b.size()) == static_cast<ssize_t>(b.size()));
  };
  harness h;
  file_source src(h.context(), "-");
  src.start();
  write_line(lines[0]);
  write_line(lines[1]);
  // Read while the writer is still there: a live pipe, not a file read at EOF.
  REQUIRE(stream_server::wait_until([&] { return h.stats().posts == 2; }));
  CHECK_FALSE(src.finished());
  for (std::size_t i = 2; i < lines.size(); ++i) write_line(lines[i]);
  ::close(fds[1]);
  REQUIRE(stream_server::wait_until([&] { return src.finished(); }));
  h.pipe->drain();
  src.stop();
  ::dup2(saved_stdin, 0);
  ::close(saved_stdin);
  CHECK(src.lines() == lines.size());
  CHECK(h.store.dump() == expected_dump(extract_all(wire_format::detect, lines)));
  CHECK(src.state().errors == 0);
}

TEST_CASE("file source: a missing file is an error in the state, not a crash") {
  harness h;
  file_source src(h.context(), "/nonexistent/tlflow/input.ndjson");
  src.start();
  REQUIRE(stream_server::wait_until([&] { return src.finished(); }));
  src.stop();
  CHECK(src.state().errors == 1);
  CHECK(src.state().last_error.find("cannot open") != std::string::npos);
}

TEST_CASE("tlflow import: the shipped sample, imported twice, counts once") {
  temp_dir dir;
  config cfg;
  cfg.data_dir = dir.path();
  cfg.import_file = std::string(TLFLOW_SOURCE_DIR) + "/samples/x-v2-sample.ndjson";
  memory_store_options mo;
  mo.ephemeral = true;
  auto store = memory_store::open(mo);
  REQUIRE(store.ok());
  metrics_registry metrics;

  import_summary first;
  CHECK(run_import(cfg, **store, metrics, &first) == 0);
  CHECK(first.lines == 3000);
  CHECK(first.stats.posts == 3000);
  CHECK(first.stats.malformed == 0);
  CHECK(first.stats.interactions > 1000);
  auto dump1 = store_dump(**store);
  auto edges1 = (*store)->count_edges();

  import_summary second;
  CHECK(run_import(cfg, **store, metrics, &second) == 0);
  CHECK(second.stats.duplicates > 0);
  CHECK(second.stats.duplicates + first.stats.duplicates <= 3000);
  CHECK(second.stats.interactions == 0);
  CHECK(store_dump(**store) == dump1);
  CHECK(*(*store)->count_edges() == *edges1);
  CHECK(format_summary(second).find("duplicate posts skipped") != std::string::npos);

  // Ephemeral: no seen-set, a second import raises the weights again.
  config eph = cfg;
  eph.ephemeral = true;
  CHECK(run_import(eph, **store, metrics, nullptr) == 0);
  CHECK(store_dump(**store) != dump1);

  config missing = cfg;
  missing.import_file = dir.file("nope.ndjson");
  CHECK(run_import(missing, **store, metrics, nullptr) == 1);
}

TEST_CASE("ingest service: sources from config, /status object, tracking applied live") {
  temp_dir dir;
  stream_server server;
  x_rules_emulator rules(server);
  rules.add("cats", "someone-else");
  auto lines = mixed_lines();
  server.on("GET", "/2/tweets/search/stream", [&](http_conn& c) {
    c.begin_chunked();
    c.chunk(lines[0] + "\r\n" + lines[4] + "\r\n");
    while (c.sleep(20ms) && c.chunk("\r\n")) {
    }
  });
  auto path = write_file(dir, "in.ndjson", lines);

  config cfg;
  cfg.data_dir = dir.path();
  cfg.sources = {"x", "file:" + path};
  cfg.track = {"graphs"};
  cfg.x_api_url = server.http_url();
  cfg.x_bearer_token = "tok";
  memory_store_options mo;
  mo.ephemeral = true;
  auto store = memory_store::open(mo);
  REQUIRE(store.ok());
  metrics_registry metrics;
  tracking track(cfg.data_dir, tracking_set{cfg.track, {}});
  REQUIRE(track.load().ok());
  ingest_options io;
  io.backoff = fast_backoff();
  io.pipeline.batch_interval = 5ms;
  ingest_service ingest(cfg, **store, metrics, track, io);
  REQUIRE(ingest.start().ok());
  REQUIRE(stream_server::wait_until([&] {
    auto s = ingest.stats();
    return s.sources.size() == 2 && s.sources[1].finished && s.pipeline.posts >= 7;
  }));
  REQUIRE(stream_server::wait_until([&] { return rules.summary().size() == 2; }));
  CHECK(rules.summary() == std::vector<std::string>{"#graphs|tlflow:graphs", "cats|someone-else"});

  // Through the API routes: add a hashtag -> X rules re-synced live.
  api::router r;
  api::add_tracking_routes(r, track);
  auto m = r.match("POST", "/tracking/hashtags");
  api::request q;
  q.body = R"({"hashtag":"Rust"})";
  CHECK(m.matched->fn(q).status == 201);
  REQUIRE(stream_server::wait_until([&] { return rules.summary().size() == 3; }));
  CHECK(rules.summary() ==
        std::vector<std::string>{"#graphs|tlflow:graphs", "#rust|tlflow:rust", "cats|someone-else"});

  std::string js = ingest.stats_json();
  // Lines 0 and 4 come from both sources. The file is filtered locally
  // (tracking: graphs), so its copy of line 4 (#rust) is dropped before
  // de-duplication; X filtered server-side and delivered it.
  CHECK(js.find("\"duplicates\":1") != std::string::npos);
  CHECK(js.find("\"filtered\":1") != std::string::npos);
  CHECK(js.find("\"name\":\"x\",\"connected\":true") != std::string::npos);
  CHECK(js.find("tok") == std::string::npos);
  ingest.stop();
  // Tracked-only hashtags on edges: every distinct post once.
  auto expected = extract_all(wire_format::detect, lines);
  for (auto& i : expected)
    i.hashtags.erase(std::remove_if(i.hashtags.begin(), i.hashtags.end(),
                                    [](const std::string& h) { return h != "graphs"; }),
                     i.hashtags.end());
  std::vector<std::string> dump = store_dump(**store);
  CHECK(dump == expected_dump(expected));
  CHECK(std::filesystem::exists(dir.file("seen_posts.bin")));
  CHECK(std::filesystem::exists(dir.file("tracking.json")));
}
