// No loss: with the Gremlin server stopped or throttling, apply() queues its
// batched writes on disk; they drain in order when the server is back, also
// after the store itself restarted. Reads answer store_unavailable meanwhile.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <string>

#include "store/gremlin/gremlin_store.hpp"
#include "support/graph_store_contract.hpp"
#include "support/gremlin_test_server.hpp"
#include "support/temp_dir.hpp"

using namespace tlflow;
using tlflow::contract::make_interaction;

namespace {

std::unique_ptr<gremlin::gremlin_store> open_store(const std::string& url, const std::string& dir,
                                                   std::uint32_t marker_slots = gremlin::templates::default_marker_slots) {
  gremlin::gremlin_store_options o;
  o.marker_slots = marker_slots;
  o.client.url = url;
  o.client.max_retries = 1;
  o.client.backoff_initial = std::chrono::milliseconds(5);
  o.client.connect_timeout = std::chrono::milliseconds(300);
  o.data_dir = dir;
  o.close_drain_timeout = std::chrono::milliseconds(200);
  auto s = gremlin::gremlin_store::open(o);
  REQUIRE(s.ok());
  return std::move(*s);
}

interaction ix(int post, const std::string& from, const std::string& to, const std::string& handle) {
  auto x = make_interaction("p" + std::to_string(post), from, to, edge_kind::mention, {"t" + std::to_string(post % 3)},
                            "2026-11-22T0" + std::to_string(post % 10) + ":00:00Z");
  x.from.handle = handle;
  return x;
}

std::uint64_t weight(graph_store& s, const std::string& f, const std::string& t) {
  return contract::get_edge(s, f, t, edge_kind::mention).weight;
}

// Batch marker vertices on the test server.
std::int64_t markers(const test::gremlin_test_server& srv) {
  gremlin::client_options o;
  o.url = srv.url();
  auto c = gremlin::client::create(o);
  REQUIRE(c.ok());
  auto r = (*c)->submit("tlflow_test_batch_markers()", gremlin::graphson::value::object());
  REQUIRE(r.ok());
  REQUIRE(r->size() == 1);
  return (*r)[0].as_int();
}

} // namespace

TEST_CASE("server stopped: writes queue, reads fail with store_unavailable, all drains in order") {
  test::gremlin_test_server srv;
  test::temp_dir dir; // before the store: removed after it closed
  auto s = open_store(srv.url(), dir.path());
  REQUIRE(s->apply({ix(1, "a", "b", "h1")}).ok());
  CHECK(s->queued() == 0);

  srv.stop();
  for (int i = 2; i <= 20; ++i) REQUIRE(s->apply({ix(i, "a", "b", "h" + std::to_string(i)), ix(i, "b", "c", "")}).ok());
  CHECK(s->queued() > 0);
  auto h = s->health();
  CHECK_FALSE(h.ok);
  CHECK(h.queued_writes == s->queued());
  auto r = s->get_vertex("a");
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().code == errc::store_unavailable);

  srv.start();
  REQUIRE(s->drain(std::chrono::seconds(20)));
  CHECK(s->health().ok);
  CHECK(s->health().queued_writes == 0);
  CHECK(weight(*s, "a", "b") == 20);
  CHECK(weight(*s, "b", "c") == 19);
  // In order: the last handle written wins.
  CHECK(contract::prop_string(s->get_vertex("a")->v.props, "handle") == "h20");
  CHECK(contract::get_edge(*s, "a", "b", edge_kind::mention).hashtags ==
        std::vector<std::string>{"t0", "t1", "t2"});
}

TEST_CASE("queued writes survive a restart of the store") {
  test::gremlin_test_server srv;
  test::temp_dir dir;
  srv.stop();
  {
    auto s = open_store(srv.url(), dir.path());
    for (int i = 1; i <= 5; ++i) REQUIRE(s->apply({ix(i, "x", "y", "")}).ok());
    CHECK(s->queued() >= 5);
    s->close(); // the server is still down: the queue stays on disk
  }
  auto s2 = open_store(srv.url(), dir.path());
  CHECK(s2->queued() >= 5);
  srv.start();
  REQUIRE(s2->drain(std::chrono::seconds(20)));
  CHECK(weight(*s2, "x", "y") == 5);
  CHECK(s2->count_vertices().value() == 2);
}

TEST_CASE("Cosmos-style throttling past the retries queues instead of failing") {
  test::gremlin_test_server srv;
  test::temp_dir dir;
  auto s = open_store(srv.url(), dir.path());
  srv.throttle_next(6, "00:00:00.0050000");
  REQUIRE(s->apply({ix(1, "m", "n", "")}).ok());
  REQUIRE(s->apply({ix(2, "m", "n", "")}).ok());
  REQUIRE(s->drain(std::chrono::seconds(20)));
  CHECK(weight(*s, "m", "n") == 2);
}

TEST_CASE("a connection dropped before or after a batch ran: nothing lost, nothing counted twice") {
  // Also with a ring of 2 markers: a lost reply's batch is replayed before
  // any later batch of the store, so its slot still holds its id.
  for (std::uint32_t slots : {gremlin::templates::default_marker_slots, 2u}) {
    CAPTURE(slots);
    test::gremlin_test_server srv;
    test::temp_dir dir;
    auto s = open_store(srv.url(), dir.path(), slots);
    for (int i = 0; i < 12; ++i) {
      // Before: the server closes without running the request. After: it runs
      // the batch and closes before replying, so the store cannot know it ran
      // and sends it again; the batch's marker makes the second run a no-op.
      if (i % 2 == 0) srv.drop_connection_after(static_cast<unsigned>(i % 3));
      else srv.close_mid_stream_next(1);
      REQUIRE(s->apply({ix(i, "d", "e", ""), ix(i, "e", "f", "")}).ok());
    }
    REQUIRE(s->drain(std::chrono::seconds(20)));
    CHECK(s->queued() == 0);
    CHECK(weight(*s, "d", "e") == 12);
    CHECK(weight(*s, "e", "f") == 12);
    CHECK(markers(srv) <= slots);
  }
}

TEST_CASE("batch markers stay bounded over a long ingest, and replays still apply once") {
  test::gremlin_test_server srv;
  test::temp_dir dir;
  constexpr std::uint32_t slots = 32;
  auto s = open_store(srv.url(), dir.path(), slots);
  // 600 apply() calls, one batch request each: a marker per request would
  // leave 600 vertices; the ring keeps at most 32.
  constexpr int batches = 600;
  for (int i = 0; i < batches; ++i) {
    if (i % 50 == 7) srv.close_mid_stream_next(1); // ran, reply lost: replayed
    REQUIRE(s->apply({ix(i, "r" + std::to_string(i % 5), "s", "")}).ok());
  }
  REQUIRE(s->drain(std::chrono::seconds(20)));
  const auto n = markers(srv);
  MESSAGE("marker vertices after " << batches << " batches: " << n << " (ring of " << slots << ")");
  CHECK(n <= slots);
  CHECK(n >= slots / 2); // the ring is used, not one vertex
  for (int k = 0; k < 5; ++k) CHECK(weight(*s, "r" + std::to_string(k), "s") == batches / 5);
  CHECK(*s->count_vertices() == 6); // markers are no accounts
}

TEST_CASE("a data directory that does not exist yet is created, with its parents") {
  test::gremlin_test_server srv;
  test::temp_dir root;
  const std::string dir = root.path() + "/first/start";
  auto s = open_store(srv.url(), dir);
  srv.stop();
  REQUIRE(s->apply({ix(1, "n1", "n2", "")}).ok());
  CHECK(s->queued() > 0);
  struct stat st{};
  CHECK(::stat((dir + "/gremlin-queue").c_str(), &st) == 0);
}
