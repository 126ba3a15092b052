// The benchmark graph of graph_bench, snapshot_bench, export_bench and
// rebuild_bench (docs/memory-store.md, "Benchmark"): every account acts (the
// acting account is uniform), the accounts acted upon follow a power law
// (index = N * u^3, so the most-mentioned account gets about 1% of all
// edges, as a celebrity does), shuffled over the id space. Kinds: 60%
// mention, 20% reply, 15% repost, 5% quote; one or two of 50 hashtags; half
// the accounts have one of 200 locations. Deterministic for a seed.
#pragma once

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "tlflow/model.hpp"
#include "tlflow/error.hpp"

namespace tlflow::bench {

class graph_generator {
public:
  graph_generator(std::uint64_t vertices, std::uint64_t seed) : n_(vertices), rng_(seed) {
    mult_ = 2654435761ull % n_;
    while (mult_ < 2 || gcd(mult_, n_) != 1) ++mult_;
    for (int i = 0; i < 50; ++i) tags_.push_back("tag" + std::to_string(i));
    for (int i = 0; i < 200; ++i) places_.push_back("City " + std::to_string(i) + ", Country");
  }

  static std::string id_of(std::uint64_t i) { return "twitter:" + std::to_string(1000000000ull + i); }
  std::uint64_t vertices() const noexcept { return n_; }
  std::uint64_t produced() const noexcept { return produced_; }

  // Replaces `batch` with the next `want` interactions.
  void next(std::vector<interaction>& batch, std::uint64_t want) {
    batch.clear();
    char at[32];
    for (std::uint64_t k = 0; k < want; ++k, ++produced_) {
      interaction x;
      const std::uint64_t from = static_cast<std::uint64_t>(unit_(rng_) * static_cast<double>(n_)) % n_;
      const double u = unit_(rng_);
      const std::uint64_t to = shuffle_id(static_cast<std::uint64_t>(u * u * u * static_cast<double>(n_)) % n_);
      x.post_id = "twitter:p" + std::to_string(produced_);
      fill_account(x.from, from);
      fill_account(x.to, to == from ? (to + 1) % n_ : to);
      const double kr = unit_(rng_);
      x.kind = kr < 0.60 ? edge_kind::mention
             : kr < 0.80 ? edge_kind::reply
             : kr < 0.95 ? edge_kind::repost
                         : edge_kind::quote;
      x.hashtags.push_back(tags_[rng_() % tags_.size()]);
      if (rng_() % 3 == 0) x.hashtags.push_back(tags_[rng_() % tags_.size()]);
      const std::uint32_t t = t0_ + static_cast<std::uint32_t>(rng_() % (7 * 86400));
      const std::time_t tt = t;
      std::tm tm{};
      gmtime_r(&tt, &tm);
      std::strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
      x.at = at;
      batch.push_back(std::move(x));
    }
  }

  // A bijection of [0, n) that scatters the power-law head over the ids;
  // shuffle_id(0) is the biggest hub.
  std::uint64_t shuffle_id(std::uint64_t i) const {
    return static_cast<std::uint64_t>((__extension__ static_cast<unsigned __int128>(i) * mult_) % n_);
  }

private:
  static std::uint64_t gcd(std::uint64_t a, std::uint64_t b) {
    while (b) {
      const auto t = a % b;
      a = b;
      b = t;
    }
    return a;
  }
  void fill_account(account& a, std::uint64_t i) const {
    a.id = id_of(i);
    a.platform = "twitter";
    a.handle = "user" + std::to_string(i);
    if (i % 2 == 0) a.location = places_[i % places_.size()];
  }

  std::uint64_t n_;
  std::mt19937_64 rng_;
  std::uniform_real_distribution<double> unit_{0.0, 1.0};
  std::uint64_t mult_ = 2;
  std::vector<std::string> tags_;
  std::vector<std::string> places_;
  std::uint64_t produced_ = 0;
  static constexpr std::uint32_t t0_ = 1795000000u; // late 2026
};

// Applies batches of `gen`'s interactions (at most `batch_size` each) to
// `store` until it holds `edges` edges; `edit` may change each batch before
// it is applied. Returns the store's edge count, or the error of an apply.
template <class Store, class Edit>
result<std::uint64_t> fill(Store& store, graph_generator& gen, std::uint64_t edges,
                           std::size_t batch_size, Edit edit) {
  std::vector<interaction> batch;
  batch.reserve(batch_size);
  std::uint64_t now = store.count_edges().value();
  while (now < edges) {
    gen.next(batch, std::min<std::uint64_t>(batch_size, edges - now));
    edit(batch);
    if (auto s = store.apply(batch); !s.ok()) return std::move(s).err();
    now = store.count_edges().value();
  }
  return now;
}
template <class Store>
result<std::uint64_t> fill(Store& store, graph_generator& gen, std::uint64_t edges, std::size_t batch_size) {
  return fill(store, gen, edges, batch_size, [](std::vector<interaction>&) {});
}

} // namespace tlflow::bench
