// The memory store's change events (graph_store::set_change_listener,
// docs/live.md): what each write reports, numbered with its log record's
// sequence number, in commit order.
#include <doctest/doctest.h>

#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/memory/memory_store.hpp"
#include "support/temp_dir.hpp"

using namespace tlflow;

namespace {

struct recorder final : change_listener {
  std::mutex mu;
  std::vector<change> got;
  void on_changes(std::vector<change>& batch) override {
    std::lock_guard<std::mutex> l(mu);
    for (auto& c : batch) got.push_back(c);
  }
  std::vector<std::string> text() {
    static const char* names[] = {"v+", "v~", "v-", "e+", "e~", "e-"};
    std::vector<std::string> out;
    std::lock_guard<std::mutex> l(mu);
    for (const auto& c : got) {
      std::string t = std::to_string(c.seq) + "." + std::to_string(c.index) + " " +
                      names[static_cast<int>(c.type)] + " ";
      if (c.type <= change_type::vertex_removed) {
        t += c.v.id;
      } else {
        t += c.e.key.from + ">" + c.e.key.to + " w" + std::to_string(c.e.weight) + " " + c.source_platform;
      }
      out.push_back(t);
    }
    got.clear();
    return out;
  }
};

account acct(const std::string& id, const std::string& handle) {
  account a;
  a.id = "twitter:" + id;
  a.platform = "twitter";
  a.handle = handle;
  return a;
}

interaction mention(const account& from, const account& to, const std::string& at) {
  interaction i;
  i.post_id = "twitter:p" + at;
  i.from = from;
  i.to = to;
  i.kind = edge_kind::mention;
  i.at = at;
  return i;
}

} // namespace

TEST_CASE("memory store: every write's changes, numbered by its log record") {
  test::temp_dir dir;
  memory_store_options o;
  o.data_dir = dir.path();
  o.snapshot_interval_s = 0;
  o.wal_fsync = wal_fsync_policy::none;
  auto opened = memory_store::open(o);
  REQUIRE(opened.ok());
  auto store = std::move(opened).value();
  REQUIRE(store->put_vertex("twitter:0", {{"handle", std::string("zero")}}, {}).ok());
  recorder r;
  CHECK(store->set_change_listener(&r) == 1); // the last write already in the store

  REQUIRE(store->put_vertex("twitter:0", {{"location", std::string("Madrid")}}, {}).ok());
  CHECK(r.text() == std::vector<std::string>{"2.0 v~ twitter:0"});

  // A batch: new accounts, one edge twice (one event, final weight).
  const auto a = acct("1", "a"), b = acct("2", "b"), zero = acct("0", "zero");
  REQUIRE(store->apply({mention(a, b, "2026-12-01T00:00:00Z"), mention(a, b, "2026-12-01T00:00:01Z")}).ok());
  CHECK(r.text() == std::vector<std::string>{"3.0 v+ twitter:1", "3.1 v+ twitter:2",
                                             "3.2 e+ twitter:1>twitter:2 w2 twitter"});
  auto b2 = b;
  b2.location = "Lisbon";
  // twitter:1 appears again with nothing new: its last_seen alone moves, no update.
  REQUIRE(store->apply({mention(a, b2, "2026-12-02T00:00:00Z"), mention(zero, a, "2026-12-02T00:00:00Z")}).ok());
  // twitter:0 gains its platform from the batch: an update.
  CHECK(r.text() == std::vector<std::string>{"4.0 v~ twitter:2", "4.1 v~ twitter:0", "4.2 e~ twitter:1>twitter:2 w3 twitter",
                                        "4.3 e+ twitter:0>twitter:1 w1 twitter"});

  add_edge_request req;
  req.key = {"twitter:2", "twitter:9", edge_kind::reply};
  REQUIRE(store->add_edge(req).ok());
  CHECK(r.text() == std::vector<std::string>{"5.0 v+ twitter:9", "5.1 e+ twitter:2>twitter:9 w1 twitter"});
  REQUIRE(store->add_edge(req).ok());
  CHECK(r.text() == std::vector<std::string>{"6.0 e~ twitter:2>twitter:9 w2 twitter"});

  // Removing a vertex: its edges, then itself; the source's platform is
  // still known from what was removed.
  auto removed = store->remove_vertex("twitter:2");
  REQUIRE(removed.ok());
  auto events = r.text();
  REQUIRE(events.size() == 3);
  CHECK(events[0].rfind("7.0 e- ", 0) == 0);
  CHECK(events[1].rfind("7.1 e- ", 0) == 0);
  CHECK(events[0].find(" twitter", events[0].size() - 8) != std::string::npos);
  CHECK(events[2] == "7.2 v- twitter:2");
  // Undo puts back the vertex and its edges.
  REQUIRE(store->restore(*removed).ok());
  events = r.text();
  REQUIRE(events.size() == 3);
  CHECK(events[0] == "8.0 v+ twitter:2");
  CHECK(events[1].rfind("8.1 e+ ", 0) == 0);
  CHECK(events[2].rfind("8.2 e+ ", 0) == 0);

  REQUIRE(store->remove_edges("twitter:1", "twitter:2", std::nullopt).ok());
  CHECK(r.text() == std::vector<std::string>{"9.0 e- twitter:1>twitter:2 w3 twitter"});

  // Detached: nothing more.
  store->set_change_listener(nullptr);
  REQUIRE(store->put_vertex("twitter:0", {{"n", std::int64_t{1}}}, {}).ok());
  CHECK(r.text().empty());
  store->close();
}

TEST_CASE("memory store: concurrent writers' changes arrive in commit order, ephemeral ones numbered from 1") {
  memory_store_options o;
  o.ephemeral = true;
  auto opened = memory_store::open(o);
  REQUIRE(opened.ok());
  auto store = std::move(opened).value();
  recorder r;
  CHECK(store->set_change_listener(&r) == 0);
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        add_edge_request req;
        req.key = {"twitter:w" + std::to_string(t), "twitter:x", edge_kind::mention};
        REQUIRE(store->add_edge(req).ok());
      }
    });
  }
  for (auto& w : writers) w.join();
  std::lock_guard<std::mutex> l(r.mu);
  REQUIRE(!r.got.empty());
  CHECK(r.got.front().seq == 1);
  for (std::size_t i = 1; i < r.got.size(); ++i) {
    const auto& p = r.got[i - 1];
    const auto& c = r.got[i];
    CHECK(((c.seq == p.seq && c.index == p.index + 1) || (c.seq == p.seq + 1 && c.index == 0)));
  }
  CHECK(r.got.back().seq == 800);
  store->close();
}
