// The ingestion pipeline without sockets: backpressure, de-duplication
// (also across a restart), batching, retries, counters, local filter.
#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <sstream>
#include <thread>

#include "pipeline/extract_adapter.hpp"
#include "pipeline/pipeline.hpp"
#include "support/recording_store.hpp"
#include "support/temp_dir.hpp"

using namespace tlflow;
using tlflow::test::recording_store;

namespace {

// Test extractor: "POSTID FROM TO [tag...]" -> one mention; "bad:<reason>"
// -> malformed; "notice" -> a notice.
extracted fake_extract(const raw_message& m) {
  extracted e;
  if (m.bytes.rfind("bad:", 0) == 0) {
    e.malformed = m.bytes.substr(4);
    return e;
  }
  if (m.bytes == "notice") {
    e.notice = true;
    return e;
  }
  std::istringstream in(m.bytes);
  interaction i;
  std::string post, from, to, tag;
  in >> post >> from >> to;
  i.post_id = "test:" + post;
  i.from.id = "test:" + from;
  i.to.id = "test:" + to;
  while (in >> tag) i.hashtags.push_back(tag);
  e.posts = 1;
  e.interactions.push_back(i);
  return e;
}

raw_message msg(const std::string& bytes, wire_format f = wire_format::x_v2) {
  raw_message m;
  m.source = "test";
  m.format = f;
  m.bytes = bytes;
  return m;
}

} // namespace

TEST_CASE("pipeline: backpressure blocks producers on a slow store, nothing is dropped") {
  recording_store store;
  store.apply_delay = std::chrono::milliseconds(2);
  metrics_registry metrics;
  pipeline_options o;
  o.queue_capacity = 4;
  o.batch_max = 1;
  o.batch_interval = std::chrono::milliseconds(1);
  pipeline p(store, metrics, fake_extract, o);
  REQUIRE(p.start().ok());

  constexpr int n = 200;
  std::atomic<std::uint64_t> max_depth{0};
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    while (!done) {
      max_depth = std::max<std::uint64_t>(max_depth, p.stats().queue_depth);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) CHECK(p.push(msg(std::to_string(i) + " a b")));
  auto push_time = std::chrono::steady_clock::now() - t0;
  p.drain();
  done = true;
  watcher.join();

  // 200 single-interaction batches at >= 2 ms each, with room for only
  // 4 + 64 + 2 in flight: the producer must have waited for the store
  // for at least (200 - 70) * 2 ms.
  CHECK(push_time >= std::chrono::milliseconds(200));
  CHECK(max_depth.load() <= 4);
  CHECK(store.interactions() == 0 + n);
  CHECK(store.total_weight() == n);
  CHECK(p.stats().interactions == n);
  p.stop();
}

TEST_CASE("pipeline: a full queue makes push() wait until the worker catches up") {
  recording_store store;
  store.apply_delay = std::chrono::milliseconds(50);
  metrics_registry metrics;
  pipeline_options o;
  o.queue_capacity = 1;
  o.batch_max = 1;
  pipeline p(store, metrics, fake_extract, o);
  REQUIRE(p.start().ok());
  // The worker->writer queue holds at least 64; fill everything, then time one push.
  for (int i = 0; i < 70; ++i) REQUIRE(p.push(msg(std::to_string(i) + " a b")));
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(p.push(msg("last a b")));
  CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(20));
  p.drain();
  CHECK(store.total_weight() == 71);
}

TEST_CASE("pipeline: a post seen twice raises the weight once") {
  recording_store store;
  metrics_registry metrics;
  pipeline p(store, metrics, fake_extract);
  REQUIRE(p.start().ok());
  p.push(msg("1 alice bob"));
  p.push(msg("2 alice bob"));
  p.push(msg("1 alice bob"));  // a reconnect repeats post 1
  p.push(msg("3 bob alice"));
  p.drain();
  CHECK(store.dump() == std::vector<std::string>{"test:alice -mention-> test:bob x2 []",
                                                 "test:bob -mention-> test:alice x1 []"});
  auto s = p.stats();
  CHECK(s.duplicates == 1);
  CHECK(s.posts == 4);
  CHECK(s.interactions == 3);
  CHECK(metrics.render().find("tlflow_ingest_duplicates_total 1") != std::string::npos);
}

TEST_CASE("pipeline: de-duplication survives a restart (seen-set in the data dir)") {
  tlflow::test::temp_dir dir;
  recording_store store;
  metrics_registry metrics;
  pipeline_options o;
  o.seen_path = dir.file("seen_posts.bin");
  {
    pipeline p(store, metrics, fake_extract, o);
    REQUIRE(p.start().ok());
    for (int i = 0; i < 100; ++i) p.push(msg(std::to_string(i) + " a b"));
    p.stop();
  }
  CHECK(store.total_weight() == 100);
  CHECK(std::filesystem::file_size(o.seen_path) == 100 * 8);
  {
    pipeline p(store, metrics, fake_extract, o);
    REQUIRE(p.start().ok());
    CHECK(p.stats().seen_posts == 100);
    for (int i = 50; i < 150; ++i) p.push(msg(std::to_string(i) + " a b"));  // half replayed
    p.stop();
    CHECK(p.stats().duplicates == 50);
  }
  CHECK(store.total_weight() == 150);
}

TEST_CASE("pipeline: in memory only, a new pipeline forgets") {
  recording_store store;
  metrics_registry metrics;
  for (int round = 0; round < 2; ++round) {
    pipeline p(store, metrics, fake_extract);
    REQUIRE(p.start().ok());
    p.push(msg("1 a b"));
    p.stop();
  }
  CHECK(store.total_weight() == 2);
}

TEST_CASE("pipeline: failed applies are retried, nothing lost or doubled") {
  recording_store store;
  store.fail_next = 3;
  metrics_registry metrics;
  pipeline_options o;
  o.retry_initial = std::chrono::milliseconds(1);
  pipeline p(store, metrics, fake_extract, o);
  REQUIRE(p.start().ok());
  for (int i = 0; i < 10; ++i) p.push(msg(std::to_string(i) + " a b"));
  p.drain();
  CHECK(store.total_weight() == 10);
  CHECK(p.stats().store_errors == 3);
}

TEST_CASE("pipeline: batches by count") {
  recording_store store;
  metrics_registry metrics;
  pipeline_options o;
  o.batch_max = 10;
  o.batch_interval = std::chrono::milliseconds(10000);
  pipeline p(store, metrics, fake_extract, o);
  REQUIRE(p.start().ok());
  for (int i = 0; i < 30; ++i) p.push(msg(std::to_string(i) + " a b"));
  // 30 interactions in batches of 10: three applies without waiting 10 s.
  auto t0 = std::chrono::steady_clock::now();
  p.drain();
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  CHECK(store.applies() == 3);
  p.stop();
}

TEST_CASE("pipeline: batches by time") {
  recording_store store;
  metrics_registry metrics;
  pipeline_options o;
  o.batch_max = 1000;
  o.batch_interval = std::chrono::milliseconds(30);
  pipeline p(store, metrics, fake_extract, o);
  REQUIRE(p.start().ok());
  p.push(msg("1 a b"));
  p.push(msg("2 a b"));
  auto t0 = std::chrono::steady_clock::now();
  p.drain();
  auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(waited < std::chrono::milliseconds(1000));
  CHECK(store.applies() == 1);
  CHECK(store.total_weight() == 2);
}

TEST_CASE("pipeline: malformed messages and notices are counted by reason") {
  recording_store store;
  metrics_registry metrics;
  pipeline p(store, metrics, fake_extract);
  REQUIRE(p.start().ok());
  p.push(msg("bad:malformed_json"));
  p.push(msg("bad:malformed_json"));
  p.push(msg("bad:invalid_utf8"));
  p.push(msg("notice"));
  p.push(msg("1 a b"));
  p.drain();
  auto s = p.stats();
  CHECK(s.messages == 5);
  CHECK(s.malformed == 3);
  CHECK(s.malformed_by_reason["malformed_json"] == 2);
  CHECK(s.malformed_by_reason["invalid_utf8"] == 1);
  CHECK(s.notices == 1);
  CHECK(store.total_weight() == 1);
  std::string text = metrics.render();
  CHECK(text.find("tlflow_ingest_malformed_total{reason=\"malformed_json\"} 2") != std::string::npos);
  CHECK(text.find("tlflow_ingest_messages_total{source=\"test\"} 5") != std::string::npos);
}

TEST_CASE("pipeline: tracked hashtags only on edges; Jetstream filtered locally") {
  recording_store store;
  metrics_registry metrics;
  pipeline p(store, metrics, fake_extract);
  REQUIRE(p.start().ok());
  tracking_set t;
  t.hashtags = {"graphs"};
  p.set_tracking(t);
  p.push(msg("1 a b graphs other"));                        // X: kept, tag reduced
  p.push(msg("2 c d other"));                               // X: kept (server-side filtered)
  p.push(msg("3 e f graphs", wire_format::jetstream));      // kept
  p.push(msg("4 g h other", wire_format::jetstream));       // dropped locally
  p.push(msg("5 i j", wire_format::jetstream));             // dropped locally
  p.push(msg("6 k l other", wire_format::detect));          // not a file: not filtered
  p.drain();
  CHECK(store.dump() == std::vector<std::string>{
                            "test:a -mention-> test:b x1 [graphs]",
                            "test:c -mention-> test:d x1 []",
                            "test:e -mention-> test:f x1 [graphs]",
                            "test:k -mention-> test:l x1 []"});
  CHECK(p.stats().filtered == 2);
  // Tracking changes apply live.
  t.hashtags = {"other"};
  p.set_tracking(t);
  p.push(msg("7 g h other", wire_format::jetstream));
  p.drain();
  CHECK(store.total_weight() == 5);
}

TEST_CASE("pipeline: files are filtered locally while hashtags are tracked") {
  recording_store store;
  metrics_registry metrics;
  pipeline p(store, metrics, fake_extract);
  REQUIRE(p.start().ok());
  auto file_msg = [](const std::string& bytes) {
    raw_message m = msg(bytes, wire_format::detect);
    m.source = "file:archive.ndjson";
    return m;
  };
  p.push(file_msg("1 a b other"));  // nothing tracked: a whole archive is kept
  p.drain();
  tracking_set t;
  t.hashtags = {"graphs"};
  p.set_tracking(t);
  p.push(file_msg("2 c d other"));  // dropped
  p.push(file_msg("3 e f graphs"));
  p.drain();
  CHECK(store.dump() == std::vector<std::string>{"test:a -mention-> test:b x1 [other]",
                                                  "test:e -mention-> test:f x1 [graphs]"});
  CHECK(p.stats().filtered == 1);
}

TEST_CASE("pipeline: a Bluesky repost of a tracked post is kept with the post's tags") {
  recording_store store;
  metrics_registry metrics;
  pipeline_options o;
  o.recent_tracked_posts = 2;
  pipeline p(store, metrics, default_extractor(), o);
  REQUIRE(p.start().ok());
  tracking_set t;
  t.hashtags = {"graphs"};
  p.set_tracking(t);
  auto did = [](char c) { return "did:plc:" + std::string(24, c); };
  // A post by `a` with tags (and no interaction), then a repost of it by `r`.
  auto post = [&](char author, const std::string& rkey, const std::string& tags) {
    return msg(R"({"did":")" + did(author) +
                   R"(","time_us":1715594400000000,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":")" +
                   rkey + R"(","record":{"text":"hello","createdAt":"2024-05-13T10:00:00Z","tags":[)" +
                   tags + "]}}}",
               wire_format::jetstream);
  };
  auto repost = [&](char author, const std::string& rkey, char subject_author,
                    const std::string& subject_rkey) {
    return msg(R"({"did":")" + did(author) +
                   R"(","time_us":1715594401000000,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.repost","rkey":")" +
                   rkey + R"(","record":{"subject":{"uri":"at://)" + did(subject_author) +
                   "/app.bsky.feed.post/" + subject_rkey + R"(","cid":"bafy"}}}})",
               wire_format::jetstream);
  };
  p.push(post('a', "post1", R"("Graphs","other")"));
  p.push(post('b', "post2", R"("other")"));
  p.push(repost('r', "rp1", 'a', "post1"));  // kept: post1 was tracked
  p.push(repost('r', "rp2", 'b', "post2"));  // dropped: post2 was not
  p.push(repost('s', "rp3", 'c', "never"));  // dropped: never seen
  p.drain();
  CHECK(store.dump() == std::vector<std::string>{"bluesky:" + did('r') + " -repost-> bluesky:" +
                                                 did('a') + " x1 [graphs]"});
  CHECK(p.stats().filtered == 2);
  // Only the most recent tracked posts are remembered.
  p.push(post('c', "post3", R"("graphs")"));
  p.push(post('d', "post4", R"("graphs")"));
  p.push(repost('s', "rp4", 'a', "post1"));  // post1 forgotten (capacity 2)
  p.push(repost('s', "rp5", 'd', "post4"));
  p.drain();
  CHECK(store.total_weight() == 2);
  CHECK(p.stats().filtered == 3);
}

// A Jetstream quote names the quoted post without its hashtags: the quote is
// kept with the tracked tags the pipeline saw on that post, and is then
// itself a tracked post (a quote of the quote passes too).
TEST_CASE("pipeline: a Bluesky quote of a tracked post is kept with the post's tags") {
  recording_store store;
  metrics_registry metrics;
  pipeline p(store, metrics, default_extractor());
  REQUIRE(p.start().ok());
  tracking_set t;
  t.hashtags = {"graphs", "rust"};
  p.set_tracking(t);
  auto did = [](char c) { return "did:plc:" + std::string(24, c); };
  // A post by `author`, with `tags`, quoting (author q, rkey qr) when given.
  auto post = [&](char author, const std::string& rkey, const std::string& tags, char q = 0,
                  const std::string& qr = {}) {
    std::string embed;
    if (q)
      embed = R"(,"embed":{"$type":"app.bsky.embed.record","record":{"uri":"at://)" + did(q) +
              "/app.bsky.feed.post/" + qr + R"(","cid":"bafy"}})";
    return msg(R"({"did":")" + did(author) +
                   R"(","time_us":1715594400000000,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":")" +
                   rkey + R"(","record":{"text":"hello","createdAt":"2024-05-13T10:00:00Z","tags":[)" +
                   tags + "]" + embed + "}}}",
               wire_format::jetstream);
  };
  p.push(post('a', "p1", R"("Graphs","other")"));
  p.push(post('b', "p2", R"("other")"));
  p.push(post('q', "q1", "", 'a', "p1"));         // kept: [graphs] from p1
  p.push(post('r', "q2", "", 'q', "q1"));         // kept: q1 is now a tracked post
  p.push(post('s', "q3", R"("rust")", 'a', "p1")); // own tag and p1's: [graphs,rust]
  p.push(post('u', "q4", "", 'b', "p2"));         // dropped: p2 was not tracked
  p.push(post('v', "q5", "", 'c', "never"));      // dropped: never seen
  p.drain();
  CHECK(store.dump() == std::vector<std::string>{
                            "bluesky:" + did('q') + " -quote-> bluesky:" + did('a') + " x1 [graphs]",
                            "bluesky:" + did('r') + " -quote-> bluesky:" + did('q') + " x1 [graphs]",
                            "bluesky:" + did('s') + " -quote-> bluesky:" + did('a') + " x1 [graphs,rust]"});
  CHECK(p.stats().filtered == 2);
}

TEST_CASE("pipeline: push after stop is refused; stop is idempotent") {
  recording_store store;
  metrics_registry metrics;
  pipeline p(store, metrics, fake_extract);
  REQUIRE(p.start().ok());
  p.push(msg("1 a b"));
  p.stop();
  p.stop();
  CHECK_FALSE(p.push(msg("2 a b")));
  CHECK(store.total_weight() == 1);
}

TEST_CASE("seen_set: insert, rollback, torn tail repaired") {
  tlflow::test::temp_dir dir;
  const std::string path = dir.file("seen.bin");
  {
    seen_set s;
    REQUIRE(s.open(path).ok());
    CHECK(s.insert(post_id_hash("x:1")));
    CHECK_FALSE(s.insert(post_id_hash("x:1")));
    CHECK(s.insert(post_id_hash("x:2")));
    REQUIRE(s.commit().ok());
    CHECK(s.insert(post_id_hash("x:3")));
    s.rollback();
    CHECK_FALSE(s.contains(post_id_hash("x:3")));
    CHECK(s.contains(post_id_hash("x:2")));
    for (int i = 0; i < 5000; ++i) s.insert(post_id_hash("y:" + std::to_string(i)));
    s.rollback();  // backward-shift deletion keeps the table consistent
    CHECK(s.size() == 2);
    CHECK(s.contains(post_id_hash("x:1")));
    CHECK(s.contains(post_id_hash("x:2")));
  }
  {  // a crash mid-append leaves a partial record
    std::FILE* f = std::fopen(path.c_str(), "ab");
    std::fwrite("abc", 1, 3, f);
    std::fclose(f);
  }
  {
    seen_set s;
    REQUIRE(s.open(path).ok());
    CHECK(s.size() == 2);
    CHECK(s.insert(post_id_hash("x:4")));
    REQUIRE(s.commit().ok());
  }
  CHECK(std::filesystem::file_size(path) == 24);
  seen_set s;
  REQUIRE(s.open(path).ok());
  CHECK(s.contains(post_id_hash("x:4")));
  CHECK(s.size() == 3);
}

TEST_CASE("seen_set: a partial append (file size limit) is cut back and retried") {
  // Fault injection: the file may not grow past 20 bytes (RLIMIT_FSIZE), so
  // appending two records (16 bytes) after the first (8) fails part-way,
  // after 12 of the 16 bytes.
  tlflow::test::temp_dir dir;
  const std::string path = dir.file("seen.bin");
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    seen_set s;
    if (!s.open(path).ok()) ::_exit(2);
    s.insert(post_id_hash("a"));
    if (!s.commit().ok()) ::_exit(3);
    rlimit lim{};
    lim.rlim_cur = lim.rlim_max = 20;
    if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) ::_exit(4);
    s.insert(post_id_hash("b"));
    s.insert(post_id_hash("c"));
    if (s.commit().ok()) ::_exit(5);                      // 8 + 16 > 20
    if (std::filesystem::file_size(path) != 8) ::_exit(6); // cut back, aligned
    lim.rlim_cur = lim.rlim_max = RLIM_INFINITY;
    if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) {
      // An unprivileged process cannot raise the hard limit again.
      ::_exit(0);
    }
    s.insert(post_id_hash("d"));
    if (!s.commit().ok()) ::_exit(7);                      // b, c retried with d
    ::_exit(std::filesystem::file_size(path) == 32 ? 0 : 8);
  }
  int st = 0;
  REQUIRE(::waitpid(pid, &st, 0) == pid);
  REQUIRE(WIFEXITED(st));
  REQUIRE(WEXITSTATUS(st) == 0);
  seen_set s;
  REQUIRE(s.open(path).ok());
  CHECK(s.contains(post_id_hash("a")));
  if (std::filesystem::file_size(path) == 32) {
    CHECK(s.contains(post_id_hash("b")));
    CHECK(s.contains(post_id_hash("c")));
    CHECK(s.contains(post_id_hash("d")));
  }
}

TEST_CASE("seen_set: many ids, distinct hashes") {
  seen_set s;
  for (int i = 0; i < 200000; ++i) REQUIRE(s.insert(post_id_hash("twitter:" + std::to_string(1790000000000000000LL + i))));
  CHECK(s.size() == 200000);
  for (int i = 0; i < 200000; i += 997) CHECK(s.contains(post_id_hash("twitter:" + std::to_string(1790000000000000000LL + i))));
  CHECK_FALSE(s.contains(post_id_hash("twitter:1")));
}
