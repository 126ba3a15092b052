// The same posts give the same graph whichever way they arrive: a recorded
// Twitter v1.1 / X v2 stream played once by a loopback streaming server to
// the real source, and once as a file through `tlflow import` (filtered
// locally while hashtags are tracked). The input holds what the platform
// matches beyond a post's own hashtags — quotes of tagged posts, retweets
// whose tag is only in the original's full entities, X rules tagged
// tlflow:<tag> — so both paths must name the tracked hashtag on every edge.
#include <doctest/doctest.h>

#include <fstream>

#include "pipeline/import.hpp"
#include "sources/x_source.hpp"
#include "support/source_harness.hpp"
#include "support/stream_fixtures.hpp"
#include "support/stream_server.hpp"
#include "support/temp_dir.hpp"

using namespace tlflow;
using namespace tlflow::test;
using namespace std::chrono_literals;

namespace {

std::string fixture_line(const std::string& rel) {
  std::ifstream in(std::string(TLFLOW_SOURCE_DIR) + "/tests/data/extract/" + rel, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "missing fixture " << rel);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string uid(int n) { return std::to_string(1000000000000000000LL + n); }

std::string v1_user(int n) {
  return R"({"id_str":")" + uid(n) + R"(","name":"User )" + std::to_string(n) +
         R"(","screen_name":"user)" + std::to_string(n) + R"(","location":"City )" +
         std::to_string(n % 3) + "\"}";
}

// A v1.1 quote by `author` without hashtags of its own, of a long post by
// `quoted` whose only hashtag is past the 140 characters (extended_tweet).
std::string v1_quote(const std::string& id, int author, int quoted, const std::string& tag) {
  return R"({"created_at":"Mon May 13 12:00:00 +0000 2019","id_str":")" + id +
         R"(","text":"so true","truncated":false,"user":)" + v1_user(author) +
         R"(,"entities":{"hashtags":[],"user_mentions":[]},"is_quote_status":true,"quoted_status":{"id_str":"9)" +
         id.substr(1) + R"(","text":"long…","truncated":true,"user":)" + v1_user(quoted) +
         R"(,"entities":{"hashtags":[],"user_mentions":[]},"extended_tweet":{"full_text":"long… #)" + tag +
         R"(","entities":{"hashtags":[{"text":")" + tag + R"(","indices":[6,14]}],"user_mentions":[]}}}})";
}

// A v1.1 retweet by `author` of a post by `original` that quotes a tagged
// post: the tag is on neither the retweet nor the original.
std::string v1_retweet_of_quote(const std::string& id, int author, int original, int quoted,
                                const std::string& tag) {
  const std::string q = R"({"id_str":"8)" + id.substr(1) + R"(","text":"#)" + tag +
                        R"( matters","user":)" + v1_user(quoted) +
                        R"(,"entities":{"hashtags":[{"text":")" + tag +
                        R"(","indices":[0,7]}],"user_mentions":[]}})";
  return R"({"created_at":"Mon May 13 12:30:00 +0000 2019","id_str":")" + id +
         R"(","text":"RT @user)" + std::to_string(original) + R"(: look","user":)" + v1_user(author) +
         R"(,"entities":{"hashtags":[],"user_mentions":[{"id_str":")" + uid(original) +
         R"(","screen_name":"user)" + std::to_string(original) +
         R"(","indices":[3,12]}]},"quoted_status":)" + q + R"(,"retweeted_status":{"id_str":"7)" +
         id.substr(1) + R"(","text":"look","user":)" + v1_user(original) +
         R"(,"entities":{"hashtags":[],"user_mentions":[]},"quoted_status":)" + q + "}}";
}

std::vector<std::string> v1_stream() {
  std::vector<std::string> out;
  for (const char* f : {"quote_reply.json", "extended.json", "full_text.json", "quote_deleted.json",
                        "retweet.json", "retweet_of_quote.json", "self_mention.json",
                        "quote_tagged_original.json"})
    out.push_back(fixture_line(std::string("twitter_v1/") + f));
  for (int i = 0; i < 40; ++i)
    out.push_back(twitter_v1_line(std::to_string(1128000000000000000LL + i), i % 31, {(i * 7 + 2) % 31},
                                  {i % 3 ? "graphs" : "worldcup", "other"}));
  for (int i = 0; i < 20; ++i)
    out.push_back(v1_quote(std::to_string(1129000000000000000LL + i), i % 31, (i * 5 + 4) % 31,
                           i % 2 ? "Graphs" : "WorldCup"));
  for (int i = 0; i < 10; ++i)
    out.push_back(v1_retweet_of_quote(std::to_string(1130000000000000000LL + i), i % 31,
                                      (i * 3 + 1) % 31, (i + 5) % 31, "graphs"));
  return out;
}

std::string x_user(int n) {
  return R"({"id":")" + uid(n) + R"(","name":"User )" + std::to_string(n) + R"(","username":"user)" +
         std::to_string(n) + "\"}";
}

// An X v2 quote without hashtags of its own; the quoted post (in
// includes.tweets) carries `tag` in its note_tweet only.
std::string x_quote(const std::string& id, int author, int quoted, const std::string& tag) {
  const std::string qid = "9" + id.substr(1);
  return R"({"data":{"id":")" + id + R"(","text":"this","author_id":")" + uid(author) +
         R"(","created_at":"2024-05-13T10:00:00.000Z","referenced_tweets":[{"type":"quoted","id":")" + qid +
         R"("}]},"includes":{"users":[)" + x_user(author) + "," + x_user(quoted) +
         R"(],"tweets":[{"id":")" + qid + R"(","text":"long…","author_id":")" + uid(quoted) +
         R"(","note_tweet":{"text":"long… #)" + tag + R"(","entities":{"hashtags":[{"start":6,"end":14,"tag":")" +
         tag + R"("}]}}}]},"matching_rules":[{"id":"1","tag":"foreign"}]})";
}

// An X v2 post X matched on the tracked rule `tlflow:<tag>` although no
// hashtag is in what the message carries (the quoted post is withheld).
std::string x_rule_matched(const std::string& id, int author, int mentioned, const std::string& tag) {
  return R"({"data":{"id":")" + id + R"(","text":"@user)" + std::to_string(mentioned) +
         R"( see","author_id":")" + uid(author) +
         R"(","created_at":"2024-05-13T10:00:00.000Z","entities":{"mentions":[{"start":0,"end":6,"username":"user)" +
         std::to_string(mentioned) + R"(","id":")" + uid(mentioned) +
         R"("}]},"referenced_tweets":[{"type":"quoted","id":"1"}]},"includes":{"users":[)" + x_user(author) +
         "," + x_user(mentioned) + R"(]},"matching_rules":[{"id":"7","tag":"tlflow:)" + tag + R"("}]})";
}

std::vector<std::string> x_stream() {
  std::vector<std::string> out;
  for (const char* f : {"reply.json", "retweet.json", "quote_of_retweet.json", "retweet_of_quote.json",
                        "self_mention.json", "includes_posts.json", "deleted_reference.json",
                        "note_tweet.json", "place.json", "quote_tagged_original.json",
                        "tracked_rules.json"})
    out.push_back(fixture_line(std::string("x_v2/") + f));
  for (int i = 0; i < 40; ++i)
    out.push_back(x_v2_line(std::to_string(1791000000000000000LL + i), i % 31,
                            {(i * 7 + 1) % 31, (i * 3 + 3) % 31}, {i % 2 ? "graphs" : "climate", "other"}));
  for (int i = 0; i < 15; ++i)
    out.push_back(x_quote(std::to_string(1792000000000000000LL + i), i % 31, (i * 5 + 4) % 31,
                          i % 2 ? "Graphs" : "Climate"));
  for (int i = 0; i < 10; ++i)
    out.push_back(x_rule_matched(std::to_string(1793000000000000000LL + i), i % 31, (i * 3 + 2) % 31,
                                 i % 2 ? "graphs" : "climate"));
  return out;
}

std::size_t empty_tag_edges(const std::vector<std::string>& dump) {
  std::size_t n = 0;
  for (const auto& l : dump)
    if (l.size() >= 2 && l.compare(l.size() - 2, 2, "[]") == 0) ++n;
  return n;
}

// Streams `lines` from a loopback server to the source `make` builds, and
// returns the store's edges once every post arrived.
template <class Make>
std::vector<std::string> by_stream(const std::string& method, const std::string& path,
                                   const std::vector<std::string>& lines, const tracking_set& t,
                                   Make make) {
  stream_server server;
  x_rules_emulator rules(server);
  server.on(method, path, [&](http_conn& c) {
    c.begin_chunked();
    for (const auto& l : lines) c.chunk(l + "\r\n");
    while (c.sleep(20ms) && c.chunk("\r\n")) {
    }
  });
  harness h;
  h.pipe->set_tracking(t);
  auto src = make(h.context(), server.http_url());
  src->on_tracking_changed(t);
  src->start();
  REQUIRE(stream_server::wait_until([&] { return h.stats().posts >= lines.size(); }, 10s));
  h.pipe->drain();
  src->stop();
  CHECK(h.stats().malformed == 0);
  return h.store.dump();
}

std::vector<std::string> by_import(const std::vector<std::string>& lines, const tracking_set& t,
                                   std::uint64_t& filtered) {
  temp_dir dir;
  const std::string file = dir.file("stream.ndjson");
  {
    std::ofstream out(file, std::ios::binary);
    for (const auto& l : lines) out << l << '\n';
  }
  config cfg;
  cfg.ephemeral = true;
  cfg.import_file = file;
  cfg.track = t.hashtags;
  recording_store store;
  metrics_registry metrics;
  import_summary s;
  CHECK(run_import(cfg, store, metrics, &s) == 0);
  CHECK(s.stats.posts == lines.size());
  filtered = s.stats.filtered;
  return store.dump();
}

} // namespace

TEST_CASE("parity: a v1.1 stream and the same lines imported give the same edges") {
  const auto lines = v1_stream();
  tracking_set t;
  t.hashtags = {"graphs", "worldcup"};
  auto streamed = by_stream("POST", "/1.1/statuses/filter.json", lines, t,
                            [](source_context ctx, const std::string& url) {
                              twitter_v1_options o;
                              o.url = url;
                              return std::make_unique<twitter_v1_source>(std::move(ctx), o);
                            });
  std::uint64_t filtered = 0;
  auto imported = by_import(lines, t, filtered);
  MESSAGE("v1.1: " << lines.size() << " posts; stream " << streamed.size() << " edges ("
                   << empty_tag_edges(streamed) << " without hashtags), import " << imported.size()
                   << " edges (" << filtered << " interactions filtered)");
  CHECK(streamed.size() >= 60);
  CHECK(empty_tag_edges(streamed) == 0);
  CHECK(filtered == 0);
  CHECK(streamed == imported);
}

TEST_CASE("parity: an X v2 stream and the same lines imported give the same edges") {
  const auto lines = x_stream();
  tracking_set t;
  t.hashtags = {"climate", "election2024", "graphs", "worldcupfinal", "élection"};
  auto streamed = by_stream("GET", "/2/tweets/search/stream", lines, t,
                            [](source_context ctx, const std::string& url) {
                              x_source_options o;
                              o.api_url = url;
                              return std::make_unique<x_source>(std::move(ctx), o);
                            });
  std::uint64_t filtered = 0;
  auto imported = by_import(lines, t, filtered);
  MESSAGE("x v2: " << lines.size() << " posts; stream " << streamed.size() << " edges ("
                   << empty_tag_edges(streamed) << " without hashtags), import " << imported.size()
                   << " edges (" << filtered << " interactions filtered)");
  CHECK(streamed.size() >= 60);
  CHECK(empty_tag_edges(streamed) == 0);
  CHECK(filtered == 0);
  CHECK(streamed == imported);
}
