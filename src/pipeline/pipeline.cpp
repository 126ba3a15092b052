#include "pipeline/pipeline.hpp"

#include <algorithm>

#include "util/log.hpp"
#include "util/thread.hpp"

namespace tlflow {

pipeline::pipeline(graph_store& store, metrics_registry& metrics, extract_fn extract,
                   pipeline_options opts)
    : store_(store),
      metrics_(metrics),
      extract_(std::move(extract)),
      opts_(std::move(opts)),
      raw_(opts_.queue_capacity),
      extracted_(std::max<std::size_t>(64, opts_.queue_capacity / 4)),
      tracked_(std::make_shared<const std::unordered_set<std::string>>()),
      m_posts_(metrics.counter("tlflow_ingest_posts_total", "Posts read from all sources")),
      m_interactions_(metrics.counter("tlflow_ingest_interactions_total",
                                      "Interactions applied to the store")),
      m_duplicates_(metrics.counter("tlflow_ingest_duplicates_total",
                                    "Posts skipped because their id was already ingested")),
      m_filtered_(metrics.counter("tlflow_ingest_filtered_total",
                                  "Interactions dropped by the local hashtag filter")),
      m_notices_(metrics.counter("tlflow_ingest_notices_total",
                                 "Stream notices (delete, limit, disconnect)")),
      m_batches_(metrics.counter("tlflow_ingest_batches_total", "Batches applied to the store")),
      m_store_errors_(metrics.counter("tlflow_ingest_store_errors_total",
                                      "Failed graph_store::apply calls (retried)")),
      m_batch_seconds_(metrics.histogram("tlflow_ingest_batch_seconds",
                                         "Latency of one graph_store::apply batch")),
      m_queue_depth_(metrics.gauge("tlflow_ingest_queue_depth",
                                   "Raw messages waiting in the ingest queue")) {
  stats_.queue_capacity = raw_.capacity();
}

pipeline::~pipeline() { stop(); }

status pipeline::start() {
  std::lock_guard<std::mutex> lock(lifecycle_mutex_);
  if (started_) return ok_v;
  if (auto st = seen_.open(opts_.seen_path); !st) return st;
  {
    std::lock_guard<std::mutex> sl(stats_mutex_);
    stats_.seen_posts = seen_.size();
  }
  if (!opts_.seen_path.empty())
    log::info("pipeline", "loaded ", seen_.size(), " seen post ids");
  started_ = true;
  unsigned n = std::max(1u, opts_.workers);
  workers_left_ = n;
  for (unsigned i = 0; i < n; ++i) workers_.emplace_back([this] {
    util::name_this_thread("tlflow-extract");
    worker_loop();
  });
  writer_ = std::thread([this] {
    util::name_this_thread("tlflow-writer");
    writer_loop();
  });
  return ok_v;
}

bool pipeline::push(raw_message msg) {
  if (stopping_.load(std::memory_order_relaxed)) return false;
  accepted_.fetch_add(1);
  if (!raw_.push(std::move(msg))) {
    accepted_.fetch_sub(1);
    std::lock_guard<std::mutex> lock(drain_mutex_);
    drained_.notify_all();
    return false;
  }
  return true;
}

void pipeline::set_tracking(const tracking_set& t) {
  auto next = std::make_shared<const std::unordered_set<std::string>>(t.hashtags.begin(),
                                                                      t.hashtags.end());
  std::lock_guard<std::mutex> lock(tracking_mutex_);
  tracked_ = std::move(next);
}

counter_metric& pipeline::malformed_counter(const std::string& reason) {
  // called with stats_mutex_ held
  auto it = malformed_counters_.find(reason);
  if (it != malformed_counters_.end()) return *it->second;
  auto& c = metrics_.counter("tlflow_ingest_malformed_total",
                             "Messages no extractor could use, by reason", {{"reason", reason}});
  malformed_counters_.emplace(reason, &c);
  return c;
}

counter_metric& pipeline::messages_counter(const std::string& source) {
  auto it = message_counters_.find(source);
  if (it != message_counters_.end()) return *it->second;
  auto& c = metrics_.counter("tlflow_ingest_messages_total", "Raw messages received, by source",
                             {{"source", source}});
  message_counters_.emplace(source, &c);
  return c;
}

void pipeline::worker_loop() {
  for (;;) {
    std::optional<raw_message> msg = raw_.pop();
    if (!msg) break;
    work w;
    w.source = std::move(msg->source);
    if (msg->format == wire_format::jetstream) w.local = work::filter::always;
    else if (w.source.compare(0, 5, "file:") == 0) w.local = work::filter::while_tracking;
    try {
      w.result = extract_(*msg);
    } catch (const std::exception& e) {
      // Extractors do not throw; this guards the process against a bug.
      w.result = extracted{};
      w.result.malformed = "extractor_exception";
      log::error("pipeline", "extractor threw: ", e.what());
    }
    if (!extracted_.push(std::move(w))) break;
  }
  if (--workers_left_ == 0) extracted_.close();
}

void pipeline::handle(work& w, std::vector<interaction>& batch, std::uint64_t& batch_msgs) {
  ++batch_msgs;
  extracted& r = w.result;
  if (batch_msgs == 1 || !tracked_local_) {  // a fresh snapshot per batch
    std::lock_guard<std::mutex> lock(tracking_mutex_);
    tracked_local_ = tracked_;
  }
  const auto& tracked = tracked_local_;
  std::uint64_t filtered = 0, duplicates = 0;

  if (r.malformed.empty() && (w.local == work::filter::always ||
                              (w.local == work::filter::while_tracking && !tracked->empty())))
    filtered = filter_locally(r, *tracked);
  if (r.malformed.empty() && !r.interactions.empty()) {
    if (!tracked->empty()) {
      for (auto& i : r.interactions) {
        auto end = std::remove_if(i.hashtags.begin(), i.hashtags.end(),
                                  [&](const std::string& h) { return !tracked->count(h); });
        i.hashtags.erase(end, i.hashtags.end());
      }
    }
    // De-duplication by post id: decide once per distinct id in the message.
    std::vector<std::pair<std::uint64_t, bool>> decided; // hash -> fresh
    for (auto& i : r.interactions) {
      std::uint64_t h = post_id_hash(i.post_id);
      auto it = std::find_if(decided.begin(), decided.end(),
                             [&](const auto& d) { return d.first == h; });
      bool fresh;
      if (it != decided.end()) {
        fresh = it->second;
      } else {
        fresh = seen_.insert(h);
        if (!fresh) ++duplicates;
        decided.emplace_back(h, fresh);
      }
      if (fresh) batch.push_back(std::move(i));
    }
  }

  // Counted locally by the writer thread, published once per batch.
  pending_counts& c = counts_;
  ++c.messages;
  auto& per_source = c.by_source[w.source];
  ++per_source;
  if (!r.malformed.empty()) {
    ++c.malformed;
    ++c.malformed_by_reason[r.malformed];
    return;
  }
  if (r.notice) ++c.notices;
  c.posts += r.posts;
  c.filtered += filtered;
  c.duplicates += duplicates;
}

// Keeps the interactions whose post carries a tracked hashtag (the
// extractors already merged in those of the quoted or reposted post when the
// message carries that post), or that repost or quote a recent tracked post
// named only by its id (Jetstream): the post then takes that post's tracked
// tags. Returns how many interactions were dropped.
std::uint64_t pipeline::filter_locally(extracted& r, const std::unordered_set<std::string>& tracked) {
  auto tracked_of = [&](const std::vector<std::string>& tags) {
    std::vector<std::string> out;
    for (const auto& h : tags)
      if (tracked.count(h)) out.push_back(h);
    return out;
  };
  // The tracked tags each post of the message ends with, by post id.
  std::vector<std::pair<const std::string*, std::vector<std::string>>> inherited;
  for (const auto& p : r.post_refs) {
    std::vector<std::string> tags = tracked_of(p.hashtags);
    for (const std::string* ref : {&p.reposted_post_id, &p.quoted_post_id}) {
      if (ref->empty()) continue;
      auto it = recent_tracked_.find(*ref);
      if (it != recent_tracked_.end()) tags.insert(tags.end(), it->second.begin(), it->second.end());
    }
    std::sort(tags.begin(), tags.end());
    tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
    if (tags.empty()) continue;
    // Remembered so that later reposts and quotes of it pass too (a quote
    // that passed through the post it quotes can itself be quoted; a repost
    // record cannot).
    if (p.reposted_post_id.empty() && !recent_tracked_.count(p.post_id)) {
      if (recent_order_.size() >= opts_.recent_tracked_posts && !recent_order_.empty()) {
        recent_tracked_.erase(recent_order_.front());
        recent_order_.pop_front();
      }
      recent_tracked_.emplace(p.post_id, tags);
      recent_order_.push_back(p.post_id);
    }
    inherited.emplace_back(&p.post_id, std::move(tags));
  }
  auto keep = [&](interaction& i) {
    for (const auto& [post_id, tags] : inherited) {
      if (*post_id != i.post_id) continue;
      i.hashtags.insert(i.hashtags.end(), tags.begin(), tags.end());
      std::sort(i.hashtags.begin(), i.hashtags.end());
      i.hashtags.erase(std::unique(i.hashtags.begin(), i.hashtags.end()), i.hashtags.end());
      break;
    }
    return std::any_of(i.hashtags.begin(), i.hashtags.end(),
                       [&](const std::string& h) { return tracked.count(h) != 0; });
  };
  auto end = std::stable_partition(r.interactions.begin(), r.interactions.end(), keep);
  auto dropped = static_cast<std::uint64_t>(r.interactions.end() - end);
  r.interactions.erase(end, r.interactions.end());
  return dropped;
}

void pipeline::publish_counts() {
  pending_counts& c = counts_;
  if (c.messages == 0) return;
  std::lock_guard<std::mutex> lock(stats_mutex_);
  stats_.messages += c.messages;
  for (const auto& [src, n] : c.by_source) messages_counter(src).inc(n);
  stats_.malformed += c.malformed;
  for (const auto& [reason, n] : c.malformed_by_reason) {
    stats_.malformed_by_reason[reason] += n;
    malformed_counter(reason).inc(n);
  }
  stats_.notices += c.notices;
  m_notices_.inc(c.notices);
  stats_.posts += c.posts;
  m_posts_.inc(c.posts);
  stats_.filtered += c.filtered;
  m_filtered_.inc(c.filtered);
  stats_.duplicates += c.duplicates;
  m_duplicates_.inc(c.duplicates);
  stats_.seen_posts = seen_.size();
  m_queue_depth_.set(static_cast<double>(raw_.size()));
  c = pending_counts{};
}

bool pipeline::apply_batch(std::vector<interaction>& batch) {
  if (batch.empty()) return true;
  auto delay = opts_.retry_initial;
  for (;;) {
    auto t0 = std::chrono::steady_clock::now();
    status st = store_.apply(batch);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    m_batch_seconds_.observe(secs);
    if (st) {
      if (auto c = seen_.commit(); !c) log::error("pipeline", c.err().message);
      std::lock_guard<std::mutex> lock(stats_mutex_);
      stats_.interactions += batch.size();
      ++stats_.batches;
      stats_.seen_posts = seen_.size();
      m_interactions_.inc(batch.size());
      m_batches_.inc();
      return true;
    }
    {
      std::lock_guard<std::mutex> lock(stats_mutex_);
      ++stats_.store_errors;
      stats_.last_store_error = st.err().message;
      m_store_errors_.inc();
    }
    if (stopping_ && raw_.closed_and_empty() && extracted_.closed_and_empty()) {
      // Shutting down and the store still refuses: the batch is lost; forget
      // its ids so that a replay after restart can bring it back.
      log::error("pipeline", "dropping a batch of ", batch.size(),
                 " interactions at shutdown: ", st.err().message);
      seen_.rollback();
      std::lock_guard<std::mutex> lock(stats_mutex_);
      stats_.lost += batch.size();
      return false;
    }
    log::warn("pipeline", "store apply failed (", st.err().message, "); retrying in ",
              delay.count(), " ms");
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, opts_.retry_max);
  }
}

void pipeline::writer_loop() {
  std::vector<interaction> batch;
  batch.reserve(opts_.batch_max);
  std::uint64_t batch_msgs = 0;
  auto first = std::chrono::steady_clock::now();
  auto flush = [&] {
    apply_batch(batch);
    batch.clear();
    publish_counts();
    if (batch_msgs) {
      std::lock_guard<std::mutex> lock(drain_mutex_);
      completed_ += batch_msgs;
      drained_.notify_all();
    }
    batch_msgs = 0;
  };
  for (;;) {
    auto wait = opts_.batch_interval;
    if (batch_msgs) {
      auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - first);
      wait = elapsed >= opts_.batch_interval ? std::chrono::milliseconds(0)
                                              : opts_.batch_interval - elapsed;
    }
    std::optional<work> w = extracted_.pop_for(wait);
    if (w) {
      if (batch_msgs == 0) first = std::chrono::steady_clock::now();
      handle(*w, batch, batch_msgs);
      if (batch.size() >= opts_.batch_max) flush();
      continue;
    }
    if (extracted_.closed_and_empty()) break;
    if (batch_msgs) flush();
  }
  flush();
}

void pipeline::drain() {
  std::unique_lock<std::mutex> lock(drain_mutex_);
  drained_.wait(lock, [&] { return completed_ >= accepted_.load(); });
}

void pipeline::stop() {
  std::lock_guard<std::mutex> lock(lifecycle_mutex_);
  if (!started_ || stopping_.exchange(true)) return;
  raw_.close();
  for (auto& t : workers_) t.join();
  workers_.clear();
  if (writer_.joinable()) writer_.join();
  std::lock_guard<std::mutex> dl(drain_mutex_);
  completed_ = accepted_.load();
  drained_.notify_all();
}

ingest_stats pipeline::stats() const {
  std::lock_guard<std::mutex> lock(stats_mutex_);
  ingest_stats s = stats_;
  s.queue_depth = raw_.size();
  m_queue_depth_.set(static_cast<double>(s.queue_depth));
  return s;
}

} // namespace tlflow
