#include "analytics/engine.hpp"

#include <algorithm>
#include <chrono>
#include <functional>

#include "util/iso_time.hpp"
#include "util/log.hpp"
#include "util/thread.hpp"

namespace tlflow::analytics {

// ---- search folding ---------------------------------------------------------

namespace {

// U+00C0..U+00FF folded; '\0': keep the code point; '1' "ae", '2' "th", '3' "ss".
constexpr char latin1[] =
    "aaaaaa1ceeeeiiii"  // C0..CF
    "dnooooo\0ouuuuy23" // D0..DF (D7 × kept)
    "aaaaaa1ceeeeiiii"  // E0..EF
    "dnooooo\0ouuuuy2y"; // F0..FF (F7 ÷ kept)
static_assert(sizeof(latin1) == 65, "one entry per code point");

// U+0100..U+017F; '4' "ij", '5' "oe".
constexpr char latin_ext_a[] =
    "aaaaaa" "cccccccc" "dddd" "eeeeeeeeee" "gggggggg" "hhhh" "iiiiiiiiii" "44" "jj" "kkk"
    "llllllllll" "nnnnnnnnn" "oooooo" "55" "rrrrrr" "ssssssss" "tttttt" "uuuuuuuuuuuu" "ww"
    "yyy" "zzzzzz" "s";
static_assert(sizeof(latin_ext_a) == 129, "one entry per code point");

void append_folded(std::string& out, char c) {
  switch (c) {
    case '1': out += "ae"; break;
    case '2': out += "th"; break;
    case '3': out += "ss"; break;
    case '4': out += "ij"; break;
    case '5': out += "oe"; break;
    default: out += c;
  }
}

} // namespace

std::string fold_for_search(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b < 0x80) {
      out += (b >= 'A' && b <= 'Z') ? static_cast<char>(b - 'A' + 'a') : static_cast<char>(b);
      ++i;
      continue;
    }
    // Two-byte sequences cover every code point folded here.
    if ((b & 0xE0) == 0xC0 && i + 1 < text.size() &&
        (static_cast<unsigned char>(text[i + 1]) & 0xC0) == 0x80) {
      const unsigned cp = ((b & 0x1Fu) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3Fu);
      if (cp >= 0xC0 && cp <= 0xFF && latin1[cp - 0xC0] != '\0') {
        append_folded(out, latin1[cp - 0xC0]);
        i += 2;
        continue;
      }
      if (cp >= 0x100 && cp <= 0x17F) {
        append_folded(out, latin_ext_a[cp - 0x100]);
        i += 2;
        continue;
      }
      if (cp >= 0x300 && cp <= 0x36F) { // combining marks: é written as e + U+0301
        i += 2;
        continue;
      }
    }
    out += text[i++];
  }
  return out;
}

// ---- snapshot ---------------------------------------------------------------

snapshot::snapshot(std::shared_ptr<const slice_graph> g, std::uint32_t computed_at,
                   const engine_options& options, std::uint64_t computed_at_ms)
    : g_(std::move(g)),
      computed_at_(computed_at),
      computed_at_ms_(computed_at_ms != 0 ? computed_at_ms : std::uint64_t{computed_at} * 1000),
      options_(options),
      cache_(std::make_shared<cache>()) {
  options_.changes = nullptr; // a snapshot never calls back into the service
}

namespace {
std::uint64_t now_ms() {
  using namespace std::chrono;
  return static_cast<std::uint64_t>(
      duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}
} // namespace

const pagerank_result& snapshot::pagerank() const {
  std::call_once(pagerank_once_, [&] {
    pagerank_options o;
    o.warm_start = warm_;
    if (warm_) o.max_iterations = warm_max_iterations_ != 0 ? warm_max_iterations_ : o.max_iterations;
    // Arc weights are positive and the options valid: no error can come back.
    auto r = analytics::pagerank(g_->graph(), o);
    if (r) pagerank_ = std::move(*r);
    pagerank_info_.warm_start = warm_ != nullptr;
    pagerank_info_.max_iterations = warm_ ? warm_max_iterations_ : 0;
    pagerank_info_.refreshes = 1;
    pagerank_info_.total_iterations = pagerank_.iterations;
    pagerank_info_.updated_at_ms = now_ms();
  });
  return pagerank_;
}

const pagerank_provenance& snapshot::pagerank_info() const {
  pagerank();
  return pagerank_info_;
}

std::shared_ptr<snapshot> snapshot::continued(std::uint32_t max_iterations) const {
  const pagerank_result& from = pagerank();
  auto next = std::make_shared<snapshot>(g_, computed_at_, options_, computed_at_ms_);
  next->cache_ = cache_;
  pagerank_options o;
  o.warm_start = from.scores.empty() ? nullptr : &from.scores;
  if (max_iterations != 0) o.max_iterations = max_iterations;
  auto r = analytics::pagerank(g_->graph(), o);
  std::call_once(next->pagerank_once_, [&] {
    if (r) next->pagerank_ = std::move(*r);
    next->pagerank_info_ = pagerank_info_;
    next->pagerank_info_.max_iterations = max_iterations;
    next->pagerank_info_.refreshes += 1;
    next->pagerank_info_.total_iterations += next->pagerank_.iterations;
    next->pagerank_info_.updated_at_ms = now_ms();
  });
  return next;
}

const betweenness_result& snapshot::betweenness() const {
  cache_->betweenness_asked_ms = now_ms();
  return compute_betweenness();
}

const betweenness_result& snapshot::compute_betweenness() const {
  cache& c = *cache_;
  std::call_once(c.betweenness_once, [&] {
    betweenness_options o;
    const std::uint32_t n = g_->vertex_count();
    if (n > options_.betweenness_exact_max) {
      const std::size_t wanted = betweenness_samples_for(n, options_.betweenness_epsilon, o.delta);
      o.samples = std::min(wanted, options_.betweenness_max_samples);
      if (options_.betweenness_max_work != 0) {
        const std::uint64_t per_source = std::uint64_t{n} + g_->graph().arc_count();
        const std::uint64_t affordable = std::max<std::uint64_t>(1, options_.betweenness_max_work / per_source);
        o.samples = static_cast<std::size_t>(std::min<std::uint64_t>(o.samples, affordable));
      }
    }
    auto r = analytics::betweenness(g_->graph(), o);
    if (r) c.betweenness = std::move(*r);
    c.betweenness_done = true;
  });
  return c.betweenness;
}

result<communities> snapshot::louvain(std::uint64_t seed) const {
  louvain_options o;
  o.seed = seed;
  if (seed != 0) return analytics::louvain(g_->graph(), o);
  cache& c = *cache_;
  std::call_once(c.louvain_once, [&] { c.louvain.emplace(analytics::louvain(g_->graph(), o)); });
  return *c.louvain;
}

result<communities> snapshot::label_propagation(std::uint64_t seed) const {
  label_propagation_options o;
  o.seed = seed;
  if (seed != 0) return analytics::label_propagation(g_->graph(), o);
  cache& c = *cache_;
  std::call_once(c.lp_once, [&] { c.lp.emplace(analytics::label_propagation(g_->graph(), o)); });
  return *c.lp;
}

const std::vector<double>& snapshot::weighted_degrees() const {
  cache& c = *cache_;
  std::call_once(c.wd_once, [&] {
    c.weighted.resize(g_->vertex_count());
    for (std::uint32_t v = 0; v < g_->vertex_count(); ++v) c.weighted[v] = g_->weighted_degree(v);
  });
  return c.weighted;
}

void snapshot::build_search() const {
  cache& c = *cache_;
  std::call_once(c.search_once, [&] {
    std::string& search_text = c.search_text;
    std::vector<std::uint64_t>& record = c.record;
    record.reserve(std::size_t{g_->vertex_count()} + 1);
    // Control characters (a handle PUT by hand may hold any) become spaces,
    // so the separators stay unique; a query holds none.
    auto add = [&](const std::string& text) {
      for (char ch : fold_for_search(text))
        search_text += static_cast<unsigned char>(ch) < 0x20 ? ' ' : ch;
    };
    for (std::uint32_t v = 0; v < g_->vertex_count(); ++v) {
      record.push_back(search_text.size());
      add(g_->handle(v));
      search_text += '\x01';
      add(g_->name(v));
      search_text += '\0';
    }
    record.push_back(search_text.size());
    search_text.shrink_to_fit();
  });
}

std::vector<snapshot::search_hit> snapshot::search(std::string_view needle) const {
  build_search();
  const std::string& search_text = cache_->search_text;
  const std::vector<std::uint64_t>& record = cache_->record;
  std::vector<search_hit> hits;
  if (needle.empty()) return hits;
  const std::string_view text(search_text);
  const std::boyer_moore_horspool_searcher find(needle.begin(), needle.end());
  auto from = text.begin();
  for (;;) {
    const auto at = std::search(from, text.end(), find);
    if (at == text.end()) break;
    const auto pos = static_cast<std::uint64_t>(at - text.begin());
    // The record holding the hit (the needle has no separator, so the hit
    // lies inside one handle or one name).
    const auto v = static_cast<std::uint32_t>(
        std::upper_bound(record.begin(), record.end(), pos) - record.begin() - 1);
    const std::string_view rec = text.substr(record[v], record[v + 1] - 1 - record[v]);
    const auto sep = rec.find('\x01');
    const std::string_view handle = rec.substr(0, sep), name = rec.substr(sep + 1);
    search_hit h;
    h.vertex = v;
    if (handle == needle) h.match = 0;
    else if (handle.substr(0, needle.size()) == needle || name.substr(0, needle.size()) == needle)
      h.match = 1;
    hits.push_back(h);
    from = text.begin() + static_cast<std::ptrdiff_t>(record[v + 1]); // next account
  }
  return hits;
}

void snapshot::compute_all(const std::vector<double>* warm, std::uint32_t max_iterations,
                           bool with_betweenness) {
  warm_ = warm;
  warm_max_iterations_ = max_iterations;
  pagerank();
  warm_ = nullptr;
  if (with_betweenness) compute_betweenness();
  (void)louvain(0);
  (void)label_propagation(0);
  weighted_degrees();
  build_search();
}

// ---- engine -----------------------------------------------------------------

engine::engine(graph_store& store, engine_options options)
    : store_(store), options_(std::move(options)) {}

engine::~engine() { stop(); }

void engine::start() {
  if (options_.refresh_s == 0 || thread_.joinable()) return;
  thread_ = std::thread([this] {
    util::name_this_thread("tlflow-analytic");
    run();
  });
}

void engine::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cancel_ = true; // a rebuild under way stops reading the store
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::shared_ptr<const snapshot> engine::published() {
  if (options_.refresh_s == 0) return nullptr;
  std::lock_guard<std::mutex> lock(mutex_);
  return current_;
}

result<std::shared_ptr<const snapshot>> engine::view(const slice& s) {
  const bool background = options_.refresh_s != 0;
  if (s.whole_graph() && background) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (current_) return current_;
    }
    std::lock_guard<std::mutex> build(build_mutex_);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (current_) return current_; // built while this request waited
    }
    return rebuild();
  }
  const std::uint64_t at_ms = now_ms();
  auto g = slice_graph::build(store_, s, options_.max_elements);
  if (!g) return std::move(g).err();
  return std::shared_ptr<const snapshot>(std::make_shared<snapshot>(
      std::move(*g), static_cast<std::uint32_t>(at_ms / 1000), options_, at_ms));
}

result<std::shared_ptr<const snapshot>> engine::rebuild() {
  const std::uint64_t changes = options_.changes ? options_.changes() : 0;
  const std::uint64_t at_ms = now_ms();
  auto g = slice_graph::build(store_, slice{}, options_.max_elements, &cancel_);
  if (!g) return std::move(g).err();
  std::shared_ptr<const snapshot> previous;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    previous = current_;
  }
  auto next = std::make_shared<snapshot>(std::move(*g), static_cast<std::uint32_t>(at_ms / 1000),
                                         options_, at_ms);
  // Warm start: the previous scores mapped by id (both id lists ascending).
  std::vector<double> warm;
  if (previous && !previous->pagerank().scores.empty() && next->graph().vertex_count() > 0) {
    const auto& old_ids = previous->graph().ids();
    const auto& new_ids = next->graph().ids();
    std::vector<std::int64_t> index(new_ids.size(), -1);
    std::size_t j = 0;
    for (std::size_t i = 0; i < new_ids.size(); ++i) {
      while (j < old_ids.size() && old_ids[j] < new_ids[i]) ++j;
      if (j < old_ids.size() && old_ids[j] == new_ids[i]) index[i] = static_cast<std::int64_t>(j);
    }
    warm = make_warm_start(previous->pagerank().scores, index, next->graph().vertex_count());
  }
  const bool bounded = next->graph().graph().arc_count() >= options_.pagerank_bound_arcs;
  if (previous) next->carry_betweenness_asked(*previous);
  const std::uint64_t asked = next->betweenness_asked_ms();
  const bool wanted = asked != 0 && at_ms - std::min(at_ms, asked) < options_.betweenness_keep_ms;
  next->compute_all(warm.empty() ? nullptr : &warm, bounded ? options_.pagerank_refresh_iterations : 0, wanted);
  std::shared_ptr<const snapshot> published = next;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    current_ = published;
    changes_at_build_ = changes;
    last_failed_ = false;
    built_at_ = std::chrono::steady_clock::now();
  }
  ++rebuilds_;
  return published;
}

void engine::run() {
  using namespace std::chrono;
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, seconds(1));
    if (stopping_) break;
    const std::uint64_t now_changes = options_.changes ? options_.changes() : 0;
    const auto age = steady_clock::now() - built_at_;
    const bool have = current_ != nullptr;
    const std::uint64_t changed = now_changes - changes_at_build_;
    const bool due_time =
        age >= seconds(options_.refresh_s) && (changed > 0 || !options_.changes || last_failed_);
    const bool due_changes = changed >= options_.refresh_changes && options_.refresh_changes > 0;
    // A rebuild waits at least as long as the last one took: at most half
    // of a core for the background, however fast changes arrive.
    const bool rested = age >= last_build_;
    if ((have || last_failed_) && (!rested || (!due_time && !due_changes))) {
      // No rebuild due: advance an unconverged PageRank on the same graph.
      if (!have || options_.pagerank_refresh_iterations == 0 || current_->pagerank().converged)
        continue;
      const std::shared_ptr<const snapshot> from = current_;
      lock.unlock();
      {
        std::lock_guard<std::mutex> build(build_mutex_);
        std::shared_ptr<const snapshot> next = from->continued(options_.pagerank_refresh_iterations);
        std::lock_guard<std::mutex> l2(mutex_);
        if (current_ == from) {
          current_ = std::move(next);
          ++continuations_;
        }
      }
      lock.lock();
      continue;
    }
    lock.unlock();
    {
      std::lock_guard<std::mutex> build(build_mutex_);
      const auto t0 = steady_clock::now();
      auto r = rebuild();
      if (!r) {
        log::warn("analytics", "background refresh failed: ", r.err().message);
        // Retry on the next period, not every second.
        std::lock_guard<std::mutex> l2(mutex_);
        built_at_ = steady_clock::now();
        last_failed_ = true;
      } else {
        const auto took = steady_clock::now() - t0;
        log::debug("analytics", "refreshed the whole-graph analytics in ",
                   duration_cast<milliseconds>(took).count(), " ms");
        std::lock_guard<std::mutex> l2(mutex_);
        last_build_ = took;
      }
    }
    lock.lock();
  }
}

} // namespace tlflow::analytics
