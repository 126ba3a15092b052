// MemoryStore's read indexes (flow table, per-kind vertex lists, hub
// neighbour order) against answers recomputed from the whole graph, after a
// random mix of every mutation and after a reload from snapshot + log.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>
#include <tuple>

#include <unistd.h>

#include "store/memory/memory_store.hpp"
#include "memory_store_support.hpp"
#include "support/temp_dir.hpp"

using namespace tlflow;
using tlflow::test::temp_dir;
namespace fs = std::filesystem;

namespace {


std::unique_ptr<memory_store> open_store(const std::string& dir) {
  return test::open_store(test::durable(dir));
}

std::vector<edge> all_edges(graph_store& s, edge_query q) {
  std::vector<edge> out;
  q.limit = 1000;
  for (;;) {
    auto page = s.list_edges(q);
    REQUIRE(page.ok());
    out.insert(out.end(), page->edges.begin(), page->edges.end());
    if (!page->next_after) return out;
    q.after = page->next_after;
  }
}

std::map<std::string, std::optional<std::string>> locations(graph_store& s) {
  std::map<std::string, std::optional<std::string>> out;
  vertex_query q;
  q.limit = 1000;
  for (;;) {
    auto page = s.list_vertices(q);
    REQUIRE(page.ok());
    for (const auto& v : page->vertices) {
      std::optional<std::string> loc;
      auto it = v.v.props.find("location");
      if (it != v.v.props.end())
        if (const auto* text = std::get_if<std::string>(&it->second)) {
          std::string n = normalize_location(*text);
          if (!n.empty()) loc = std::move(n);
        }
      out[v.v.id] = loc;
    }
    if (!page->next_after) return out;
    q.after = page->next_after;
  }
}

std::string show(const std::vector<location_flow>& flows) {
  std::ostringstream os;
  for (const auto& f : flows)
    os << f.from_location.value_or("?") << " -> " << f.to_location.value_or("?") << " w=" << f.weight
       << " e=" << f.edges << "\n";
  return os.str();
}

std::string show(const std::vector<neighbor>& list) {
  std::ostringstream os;
  for (const auto& n : list)
    os << n.id << " " << to_string(n.kind) << " " << static_cast<int>(n.dir) << " " << n.weight << "\n";
  return os.str();
}

std::string show(const std::vector<edge>& list) {
  std::ostringstream os;
  for (const auto& e : list)
    os << e.key.from << " " << e.key.to << " " << to_string(e.key.kind) << " w=" << e.weight << "\n";
  return os.str();
}

// The flows, recounted over every edge.
std::vector<location_flow> recount_flows(graph_store& s) {
  const auto loc = locations(s);
  std::map<std::pair<std::optional<std::string>, std::optional<std::string>>,
           std::pair<std::uint64_t, std::uint64_t>>
      sums;
  for (const auto& e : all_edges(s, {})) {
    auto& sum = sums[{loc.at(e.key.from), loc.at(e.key.to)}];
    sum.first += e.weight;
    sum.second += 1;
  }
  std::vector<location_flow> out;
  for (const auto& [key, sum] : sums) out.push_back({key.first, key.second, sum.first, sum.second});
  order_location_flows(out, out.size());
  return out;
}

// A neighbour page, from the vertex's whole edge lists.
std::vector<neighbor> recount_neighbors(graph_store& s, const std::string& id, const neighbor_query& q) {
  std::vector<neighbor> items;
  if (q.dir != direction::in) {
    edge_query eq;
    eq.from = id;
    eq.kind = q.kind;
    for (const auto& e : all_edges(s, eq)) items.push_back({e.key.to, e.key.kind, direction::out, e.weight});
  }
  if (q.dir != direction::out) {
    edge_query eq;
    eq.to = id;
    eq.kind = q.kind;
    for (const auto& e : all_edges(s, eq)) items.push_back({e.key.from, e.key.kind, direction::in, e.weight});
  }
  std::sort(items.begin(), items.end(), [](const neighbor& a, const neighbor& b) {
    if (a.weight != b.weight) return a.weight > b.weight;
    return std::tie(a.id, a.kind, a.dir) < std::tie(b.id, b.kind, b.dir);
  });
  if (items.size() > q.limit) items.resize(q.limit);
  return items;
}

void check_reads(graph_store& s, const std::vector<std::string>& probe) {
  {
    auto flows = s.location_flows(1u << 20);
    REQUIRE(flows.ok());
    const auto expected = recount_flows(s);
    REQUIRE(show(*flows) == show(expected));
    auto top = s.location_flows(3);
    REQUIRE(top.ok());
    std::vector<location_flow> first(expected.begin(),
                                     expected.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(3, expected.size())));
    CHECK(show(*top) == show(first));
  }
  const auto everything = all_edges(s, {});
  for (edge_kind k : all_edge_kinds) {
    std::vector<edge> expected;
    for (const auto& e : everything)
      if (e.key.kind == k) expected.push_back(e);
    // Small pages, so that cursors land inside and between vertices.
    std::vector<edge> paged;
    edge_query q;
    q.kind = k;
    q.limit = 7;
    for (;;) {
      auto page = s.list_edges(q);
      REQUIRE(page.ok());
      paged.insert(paged.end(), page->edges.begin(), page->edges.end());
      if (!page->next_after) break;
      q.after = page->next_after;
    }
    REQUIRE(show(paged) == show(expected));
  }
  for (const auto& id : probe) {
    for (direction d : {direction::out, direction::in, direction::both}) {
      std::vector<std::optional<edge_kind>> kinds{std::nullopt};
      kinds.insert(kinds.end(), std::begin(all_edge_kinds), std::end(all_edge_kinds));
      for (const auto& k : kinds)
        for (std::size_t limit : {std::size_t{1}, std::size_t{10}, std::size_t{5000}}) {
          neighbor_query q;
          q.dir = d;
          q.kind = k;
          q.limit = limit;
          auto got = s.neighbors(id, q);
          if (!got.ok()) {
            REQUIRE(got.err().code == errc::vertex_not_found);
            continue;
          }
          REQUIRE(show(*got) == show(recount_neighbors(s, id, q)));
        }
    }
  }
}

const char* const place_names[] = {"Paris", "  paris ", "PARIS", "Berlin", "new  york",
                                   "New York", "   ", "Tokyo", ""};

interaction inter(std::string from, std::string to, edge_kind k, std::string from_location) {
  interaction x;
  x.post_id = "p";
  x.from.id = std::move(from);
  x.from.location = std::move(from_location);
  x.to.id = std::move(to);
  x.kind = k;
  x.at = "2026-12-01T00:00:00Z";
  return x;
}

// One random mutation of any kind; `hub` gets a good share of them.
void mutate(memory_store& s, std::mt19937& rng, std::vector<removed_set>& tickets) {
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  auto vertex = [&]() -> std::string {
    if (pick(5) == 0) return "hub";
    return "v" + std::to_string(pick(40));
  };
  auto place = [&] { return std::string(place_names[pick(std::size(place_names))]); };
  auto kind = [&] { return all_edge_kinds[pick(std::size(all_edge_kinds))]; };
  switch (pick(9)) {
    case 0: { // location set, unset, or not a string
      const std::string id = vertex();
      const std::size_t how = pick(4);
      if (how == 0) REQUIRE(s.put_vertex(id, {}, {"location"}).ok());
      else if (how == 1) REQUIRE(s.put_vertex(id, {{"location", std::int64_t{7}}}, {}).ok());
      else REQUIRE(s.put_vertex(id, {{"location", place()}}, {}).ok());
      break;
    }
    case 1:
    case 2: {
      add_edge_request r;
      r.key = {vertex(), vertex(), kind()};
      REQUIRE(s.add_edge(r).ok());
      break;
    }
    case 3:
    case 4: { // a batch, moving accounts between places as it goes
      std::vector<interaction> batch;
      const std::size_t n = 1 + pick(20);
      for (std::size_t i = 0; i < n; ++i) {
        if (pick(2) == 0)
          batch.push_back(inter("f" + std::to_string(pick(1500)), "hub", kind(), place()));
        else
          batch.push_back(inter(vertex(), vertex(), kind(), place()));
      }
      REQUIRE(s.apply(batch).ok());
      break;
    }
    case 5: {
      std::optional<edge_kind> k;
      if (pick(2) == 0) k = kind();
      auto r = s.remove_edges(vertex(), vertex(), k);
      if (r.ok()) tickets.push_back(*r);
      else REQUIRE(r.err().code == errc::edge_not_found);
      break;
    }
    case 6: {
      // The hub rarely: it loses its order, and gets it back as edges return.
      const std::string id = pick(8) == 0 ? std::string("hub") : "v" + std::to_string(pick(40));
      auto r = s.remove_vertex(id);
      if (r.ok()) tickets.push_back(*r);
      else REQUIRE(r.err().code == errc::vertex_not_found);
      break;
    }
    case 7:
      if (!tickets.empty()) {
        const std::size_t i = pick(tickets.size());
        REQUIRE(s.restore(tickets[i]).ok());
        tickets.erase(tickets.begin() + static_cast<std::ptrdiff_t>(i));
      }
      break;
    default: { // many edges of the hub at once
      std::vector<interaction> batch;
      const std::size_t first = pick(1500);
      for (std::size_t i = 0; i < 300; ++i)
        batch.push_back(inter("f" + std::to_string((first + i) % 1500), "hub", kind(), ""));
      REQUIRE(s.apply(batch).ok());
      break;
    }
  }
}

} // namespace

TEST_CASE("memory store reads: indexes match a full recount after every kind of mutation, and after reload") {
  temp_dir dir;
  auto s = open_store(dir.path() + "/a");
  std::mt19937 rng(20261207);
  // A hub from the start: over graph_core::hub_degree edges.
  std::vector<interaction> seed;
  for (int i = 0; i < 1200; ++i)
    seed.push_back(inter("f" + std::to_string(i), "hub", all_edge_kinds[i % 4], place_names[i % 9]));
  for (int i = 0; i < 40; ++i)
    seed.push_back(inter("hub", "v" + std::to_string(i), edge_kind::link, "Paris"));
  REQUIRE(s->apply(seed).ok());
  CHECK(s->statistics().hubs == 1);
  CHECK(s->statistics().hub_entries == 1240);

  const std::vector<std::string> probe{"hub", "v1", "v2", "f3"};
  std::vector<removed_set> tickets;
  std::uint64_t saw_hub = 0;
  std::uint64_t saw_no_hub = 0;
  for (int round = 0; round < 30; ++round) {
    for (int i = 0; i < 60; ++i) mutate(*s, rng, tickets);
    if (round == 15) REQUIRE(s->snapshot().ok());
    (s->statistics().hubs > 0 ? saw_hub : saw_no_hub) += 1;
    check_reads(*s, probe);
  }
  CHECK(saw_hub > 0);

  // A second store from a copy of the files: snapshot + the log after it.
  fs::copy(dir.path() + "/a", dir.path() + "/b", fs::copy_options::recursive);
  fs::remove(dir.path() + "/b/LOCK");
  auto copy = open_store(dir.path() + "/b");
  CHECK(copy->recovery().records_replayed > 0);
  check_reads(*copy, probe);
  CHECK(show(*copy->location_flows(1000)) == show(*s->location_flows(1000)));
  neighbor_query q;
  q.limit = 50;
  CHECK(show(*copy->neighbors("hub", q)) == show(*s->neighbors("hub", q)));
  CHECK(copy->statistics().hubs == s->statistics().hubs);
  CHECK(copy->statistics().hub_entries == s->statistics().hub_entries);
  MESSAGE("rounds with a hub: ", saw_hub, ", without: ", saw_no_hub);
}

TEST_CASE("memory store reads: a hub's order follows weight changes and demotion") {
  memory_store_options o;
  o.ephemeral = true;
  auto opened = memory_store::open(o);
  REQUIRE(opened.ok());
  auto& s = **opened;
  std::vector<interaction> batch;
  for (int i = 0; i < 1100; ++i) batch.push_back(inter("f" + std::to_string(i), "hub", edge_kind::mention, ""));
  REQUIRE(s.apply(batch).ok());
  REQUIRE(s.statistics().hubs == 1);
  // f500 becomes the heaviest, then f7 overtakes it; ties by id.
  REQUIRE(s.apply(std::vector<interaction>(3, inter("f500", "hub", edge_kind::mention, ""))).ok());
  REQUIRE(s.apply(std::vector<interaction>(4, inter("f7", "hub", edge_kind::mention, ""))).ok());
  neighbor_query q;
  q.limit = 4;
  auto page = s.neighbors("hub", q);
  REQUIRE(page.ok());
  CHECK(show(*page) == "f7 mention 1 5\nf500 mention 1 4\nf0 mention 1 1\nf1 mention 1 1\n");
  // Down to half the threshold the order stays; below it, it goes.
  for (int i = 0; i < 1100 - 512; ++i) REQUIRE(s.remove_vertex("f" + std::to_string(i + 512)).ok());
  CHECK(s.statistics().hubs == 1);
  REQUIRE(s.remove_vertex("f0").ok());
  CHECK(s.statistics().hubs == 0);
  CHECK(s.statistics().hub_entries == 0);
  page = s.neighbors("hub", q);
  REQUIRE(page.ok());
  CHECK(show(*page) == "f7 mention 1 5\nf500 mention 1 4\nf1 mention 1 1\nf10 mention 1 1\n");
}
