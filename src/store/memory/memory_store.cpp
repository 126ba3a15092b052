#include "store/memory/memory_store.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <thread>
#include <tuple>
#include <unordered_set>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "store/memory/backup.hpp"
#include "store/memory/codec.hpp"
#include "store/memory/graph_core.hpp"
#include "store/memory/iso_time.hpp"
#include "store/memory/wal.hpp"
#include "util/log.hpp"
#include "util/metrics.hpp"

namespace tlflow {

std::optional<wal_fsync_policy> parse_wal_fsync_policy(std::string_view text) noexcept {
  if (text == "none") return wal_fsync_policy::none;
  if (text == "interval") return wal_fsync_policy::interval;
  if (text == "commit") return wal_fsync_policy::commit;
  return std::nullopt;
}

std::string_view to_string(wal_fsync_policy p) noexcept {
  switch (p) {
    case wal_fsync_policy::none: return "none";
    case wal_fsync_policy::interval: return "interval";
    case wal_fsync_policy::commit: return "commit";
  }
  return "commit";
}

std::string to_string(const repair_report& r) {
  std::string out;
  if (!r.changed) return "the log is intact; nothing was changed\n";
  out += "kept " + std::to_string(r.records_kept) + " intact log record(s)\n";
  out += "dropped " + std::to_string(r.records_dropped) + " record(s)";
  if (!r.dropped_seqs.empty()) {
    out += ", sequence number(s)";
    for (const auto& [a, b] : r.dropped_seqs)
      out += " " + std::to_string(a) + (a == b ? "" : "-" + std::to_string(b));
  }
  out += "\n";
  for (const auto& u : r.unreadable) out += "unreadable segment: " + u + "\n";
  out += "set aside " + std::to_string(r.bytes_set_aside) + " damaged byte(s); in damaged/:";
  for (const auto& f : r.set_aside) out += " " + f;
  out += "\n";
  return out;
}

namespace {

// Sizes read by the metrics registry; shared so that a gauge read after the
// store is gone stays harmless.
struct size_gauges {
  std::atomic<std::uint64_t> vertices{0};
  std::atomic<std::uint64_t> edges{0};
};

error invalid_id_error(const std::string& why) {
  return error{errc::invalid_id, "invalid vertex id: " + why};
}

// Log record payload: u64 seq | u8 op | body (docs/memory-store.md).
enum class op : std::uint8_t {
  put_vertex = 1,
  remove_vertex = 2,
  add_edge = 3,
  remove_edges = 4,
  restore = 5,
  apply = 6,
};

constexpr char snapshot_magic[8] = {'T', 'L', 'F', 'S', 'N', 'A', 'P', '1'};

void encode_edge(mem::bin_writer& w, const edge& e) {
  w.str(e.key.from);
  w.str(e.key.to);
  w.u8(static_cast<std::uint8_t>(e.key.kind));
  w.u64(e.weight);
  w.varint(e.hashtags.size());
  for (const auto& t : e.hashtags) w.str(t);
  w.str(e.first_seen);
  w.str(e.last_seen);
  w.props(e.props);
}

edge decode_edge(mem::bin_reader& r) {
  edge e;
  e.key.from = std::string(r.str());
  e.key.to = std::string(r.str());
  e.key.kind = r.kind().value_or(edge_kind::link);
  e.weight = r.u64();
  const std::uint64_t n = r.varint();
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) e.hashtags.emplace_back(r.str());
  e.first_seen = std::string(r.str());
  e.last_seen = std::string(r.str());
  e.props = r.props();
  return e;
}

void encode_account(mem::bin_writer& w, const account& a) {
  w.str(a.id);
  w.str(a.platform);
  w.str(a.handle);
  w.str(a.name);
  w.str(a.location);
}

account decode_account(mem::bin_reader& r) {
  account a;
  a.id = std::string(r.str());
  a.platform = std::string(r.str());
  a.handle = std::string(r.str());
  a.name = std::string(r.str());
  a.location = std::string(r.str());
  return a;
}

// Applies the operation of one log record (`r` is past its sequence number
// and op byte) to `graph`: start-up and a compacting snapshot replay the log
// with it. False when the record does not decode.
bool apply_record(mem::graph_core& graph, std::uint8_t op_byte, mem::bin_reader& r) {
  switch (static_cast<op>(op_byte)) {
    case op::put_vertex: {
      const std::string id(r.str());
      properties set = r.props();
      std::vector<std::string> unset;
      const std::uint64_t n = r.varint();
      for (std::uint64_t i = 0; i < n && r.ok(); ++i) unset.emplace_back(r.str());
      if (!r.ok()) return false;
      graph.put_vertex(id, set, unset);
      break;
    }
    case op::remove_vertex: {
      const std::string_view id = r.str();
      if (!r.ok()) return false;
      if (auto v = graph.find(id)) graph.remove_vertex(*v);
      break;
    }
    case op::add_edge: {
      edge_key k;
      k.from = std::string(r.str());
      k.to = std::string(r.str());
      const auto kind = r.kind();
      properties props = r.props();
      const std::uint32_t at = r.u32();
      if (!r.ok() || !kind) return false;
      k.kind = *kind;
      graph.add_edge(k, props, at);
      break;
    }
    case op::remove_edges: {
      const std::string from(r.str());
      const std::string to(r.str());
      const bool has_kind = r.u8() != 0;
      const auto kind = r.kind();
      if (!r.ok() || !kind) return false;
      graph.remove_edges(from, to, has_kind ? kind : std::nullopt);
      break;
    }
    case op::restore: {
      removed_set rs;
      if (r.u8() != 0) {
        vertex v;
        v.id = std::string(r.str());
        v.props = r.props();
        rs.removed_vertex = std::move(v);
      }
      const std::uint64_t n = r.varint();
      for (std::uint64_t i = 0; i < n && r.ok(); ++i) rs.edges.push_back(decode_edge(r));
      if (!r.ok()) return false;
      graph.restore(rs);
      break;
    }
    case op::apply: {
      const std::uint64_t n = r.varint();
      std::vector<interaction> batch;
      std::vector<std::uint32_t> times;
      for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
        interaction x;
        x.from = decode_account(r);
        x.to = decode_account(r);
        const auto kind = r.kind();
        x.kind = kind.value_or(edge_kind::mention);
        const std::uint64_t nt = r.varint();
        for (std::uint64_t k = 0; k < nt && r.ok(); ++k) x.hashtags.emplace_back(r.str());
        times.push_back(r.u32());
        batch.push_back(std::move(x));
      }
      if (!r.ok()) return false;
      std::vector<mem::timed_interaction> timed;
      for (std::size_t i = 0; i < batch.size(); ++i) timed.push_back({&batch[i], times[i]});
      graph.apply(timed);
      break;
    }
    default:
      return false;
  }
  return r.at_end();
}

// Loads snapshot.bin at `path` into the empty `graph`; `seq` is the sequence
// number it holds. io_error, naming the file, when it is not intact.
status load_snapshot_file(const std::string& path, mem::graph_core& graph, std::uint64_t& seq) {
  std::string data;
  if (auto s = mem::read_file(path, data); !s) return s;
  if (data.size() < 20 || data.compare(0, 8, std::string_view(snapshot_magic, 8)) != 0)
    return error{errc::io_error, "snapshot " + path + " is not a tlflow snapshot"};
  const std::string_view all(data);
  mem::bin_reader trailer(all.substr(all.size() - 4));
  if (mem::crc32_of(all.substr(0, all.size() - 4)) != trailer.u32())
    return error{errc::io_error, "snapshot " + path + " is corrupt (checksum mismatch)"};
  mem::bin_reader r(all.substr(8, all.size() - 12));
  seq = r.u64();
  if (!graph.load(r) || !r.at_end())
    return error{errc::io_error, "snapshot " + path + " is corrupt (bad structure)"};
  return ok_v;
}

} // namespace

struct memory_store::impl {
  memory_store_options options;
  bool durable = false;
  std::string dir;
  mutable std::shared_mutex mutex;
  mem::graph_core graph;
  std::shared_ptr<size_gauges> gauges = std::make_shared<size_gauges>();
  bool closed = false;

  // Durability. last_seq is written under the exclusive lock.
  mem::dir_lock lock_file;
  mem::wal_writer wal;
  std::atomic<std::uint64_t> last_seq{0};
  std::atomic<std::uint64_t> snapshot_seq{0};
  std::uint64_t dropped_on_load = 0;
  mem::bin_writer scratch; // record being built; under the exclusive lock
  std::mutex snapshot_mutex;
  std::atomic<bool> log_failed{false};
  std::string last_error; // guarded by error_mutex; shown by health()
  std::mutex error_mutex;
  recovery_report recovered; // written by open only

  std::thread background;
  std::thread snapshotter; // periodic snapshots (snapshot_interval_s > 0)
  std::atomic<std::uint64_t> seal_us{0}; // how long the last seal held writers back
  // Set by close(): a compaction running then gives up (close() writes a
  // locked snapshot right after), so that a shutdown does not wait for it.
  std::atomic<bool> closing{false};
  std::mutex bg_mutex;
  std::condition_variable bg_cv;
  bool stop = false;

  // The changefeed (docs/live.md); set before any write, read under the
  // exclusive lock. Ephemeral stores number their writes with `change_seq`.
  change_listener* listener = nullptr;
  std::uint64_t change_seq = 0;
  std::vector<change> changes; // being built; under the exclusive lock

  std::uint64_t next_change_seq(std::uint64_t logged) {
    return durable ? logged : ++change_seq;
  }
  std::string platform_of(std::string_view id) const {
    if (auto v = graph.find(id)) {
      auto view = graph.view(*v);
      auto it = view.v.props.find("platform");
      if (it != view.v.props.end())
        if (const auto* p = std::get_if<std::string>(&it->second)) return *p;
    }
    return {};
  }
  void note_vertex(change_type t, vertex v) {
    change c;
    c.type = t;
    c.v = std::move(v);
    changes.push_back(std::move(c));
  }
  void note_edge(change_type t, edge e) {
    change c;
    c.type = t;
    c.source_platform = platform_of(e.key.from);
    c.e = std::move(e);
    changes.push_back(std::move(c));
  }
  std::optional<edge> edge_now(const edge_key& k) const {
    edge_query q;
    q.from = k.from;
    q.to = k.to;
    q.kind = k.kind;
    q.limit = 1;
    auto page = graph.list_edges(q);
    if (page.edges.empty()) return std::nullopt;
    return std::move(page.edges.front());
  }
  void note_removed(const removed_set& r) {
    for (const auto& e : r.edges) {
      note_edge(change_type::edge_removed, e);
      // The removed vertex is gone from the graph: its platform from the set.
      if (r.removed_vertex && r.removed_vertex->id == e.key.from) {
        auto it = r.removed_vertex->props.find("platform");
        if (it != r.removed_vertex->props.end())
          if (const auto* p = std::get_if<std::string>(&it->second)) changes.back().source_platform = *p;
      }
    }
    if (r.removed_vertex) note_vertex(change_type::vertex_removed, *r.removed_vertex);
  }
  // Hands the changes noted since the last call to the listener, numbered.
  void emit_changes(std::uint64_t logged) {
    if (changes.empty()) return;
    const std::uint64_t seq = next_change_seq(logged);
    for (std::size_t i = 0; i < changes.size(); ++i) {
      changes[i].seq = seq;
      changes[i].index = static_cast<std::uint32_t>(i);
    }
    listener->on_changes(changes);
    changes.clear();
  }

  // Applies an ingestion batch noting one change per account created or
  // changed (times aside) and one per edge, with its weight after the batch.
  void note_batch(const std::vector<mem::timed_interaction>& timed, std::uint64_t logged) {
    std::vector<std::pair<std::string, std::optional<vertex>>> accounts; // id, before
    std::vector<std::pair<edge_key, bool>> keys;                         // key, existed
    std::unordered_set<std::string> seen_accounts;
    std::set<std::tuple<std::string, std::string, edge_kind>> seen_keys;
    for (const auto& t : timed) {
      for (const account* a : {&t.i->from, &t.i->to}) {
        if (!seen_accounts.insert(a->id).second) continue;
        std::optional<vertex> before;
        if (auto v = graph.find(a->id)) before = graph.view(*v).v;
        accounts.emplace_back(a->id, std::move(before));
      }
      if (seen_keys.emplace(t.i->from.id, t.i->to.id, t.i->kind).second)
        keys.emplace_back(edge_key{t.i->from.id, t.i->to.id, t.i->kind},
                          graph.has_edges(t.i->from.id, t.i->to.id, t.i->kind));
    }
    graph.apply(timed);
    const auto without_times = [](properties p) {
      p.erase("first_seen");
      p.erase("last_seen");
      return p;
    };
    for (auto& [id, before] : accounts) {
      auto v = graph.find(id);
      if (!v) continue;
      vertex now = graph.view(*v).v;
      if (!before) {
        note_vertex(change_type::vertex_created, std::move(now));
      } else if (without_times(before->props) != without_times(now.props)) {
        note_vertex(change_type::vertex_updated, std::move(now));
      }
    }
    for (const auto& [k, existed] : keys)
      if (auto e = edge_now(k)) note_edge(existed ? change_type::edge_changed : change_type::edge_created, std::move(*e));
    emit_changes(logged);
  }

  void publish_sizes() {
    gauges->vertices.store(graph.vertex_count(), std::memory_order_relaxed);
    gauges->edges.store(graph.edge_count(), std::memory_order_relaxed);
  }

  void note_error(const std::string& what) {
    log::error("memory_store", what);
    std::lock_guard<std::mutex> l(error_mutex);
    last_error = what;
  }

  // Appends one record; call with the exclusive lock held, before mutating.
  // Its sequence number (0 when ephemeral) is what wait_durable() needs.
  template <class Body>
  result<std::uint64_t> log_op(op o, Body&& body) {
    if (!durable) return std::uint64_t{0};
    // After a failed flush nothing is written until a flush succeeds again:
    // the writes before it may not be on the disk, so later ones must not be
    // acknowledged as if they were.
    if (!wal.healthy()) {
      if (auto s = wal.recover_from_failure(); !s) {
        return error{errc::store_unavailable,
                     "the store refuses writes: the write-ahead log cannot be flushed to disk (" +
                         wal.last_failure() + ")"};
      }
      log::info("memory_store", "write-ahead log flushes again; writes accepted");
    }
    const std::uint64_t seq = last_seq.load(std::memory_order_relaxed) + 1;
    scratch.clear();
    scratch.u64(seq);
    scratch.u8(static_cast<std::uint8_t>(o));
    body(scratch);
    status s = wal.append(scratch.buffer(), seq);
    if (!s) {
      if (s.err().code == errc::payload_too_large) return s.err();
      log_failed = true;
      note_error("write-ahead log: " + s.err().message);
      return s.err();
    }
    log_failed = false;
    last_seq.store(seq, std::memory_order_relaxed);
    return seq;
  }

  // After the exclusive lock is released: in commit mode, returns once the
  // record `seq` is on the disk, flushed together with the records of every
  // writer waiting at that moment.
  status commit(std::uint64_t seq) {
    if (seq == 0 || options.wal_fsync != wal_fsync_policy::commit) return ok_v;
    status s = wal.wait_durable(seq);
    if (!s) note_error("write-ahead log: " + s.err().message);
    return s;
  }

  // Applies one log record during start-up; false when it does not decode.
  bool replay(std::string_view payload) {
    mem::bin_reader r(payload);
    const std::uint64_t seq = r.u64();
    const auto o = static_cast<std::uint8_t>(r.u8());
    if (!r.ok()) return false;
    if (seq <= last_seq) return true; // already in the snapshot
    if (!apply_record(graph, o, r)) return false;
    last_seq = seq;
    return true;
  }

  status load_snapshot() {
    const std::string path = dir + "/snapshot.bin";
    if (!mem::file_exists(path)) return ok_v;
    std::uint64_t seq = 0;
    if (auto s = load_snapshot_file(path, graph, seq); !s) return s;
    last_seq = seq;
    snapshot_seq = seq;
    return ok_v;
  }

  std::string repair_hint() const {
    return " The store refuses to open rather than lose acknowledged writes silently: `tlflow repair "
           "--data-dir " + dir + "` sets the damaged bytes aside in " + dir +
           "/damaged/, keeps every intact record and reports what it dropped.";
  }

  // Completes a `tlflow repair` that stopped after its new log was complete
  // (wal-repair.done) but before it replaced the old segments; forgets one
  // that stopped earlier (the old segments are still all there).
  status finish_interrupted_repair() {
    std::remove((dir + "/wal-repair.tmp").c_str());
    const std::string done = dir + "/wal-repair.done";
    if (!mem::file_exists(done)) return ok_v;
    if (auto s = set_aside_segments(nullptr); !s) return s;
    std::string data;
    if (auto s = mem::read_file(done, data); !s) return s;
    const auto first = mem::frame_at(data, 0, options.max_record_bytes);
    if (first) {
      const std::string path = dir + "/" + mem::segment_name(mem::payload_seq(*first));
      if (std::rename(done.c_str(), path.c_str()) != 0)
        return error{errc::io_error, "cannot rename " + done + " to " + path};
    } else {
      std::remove(done.c_str());
    }
    recovered.finished_repair = true;
    log::warn("memory_store", "completed an interrupted repair of ", dir);
    return mem::fsync_dir(dir);
  }

  // Moves every log segment into damaged/ (originals kept for inspection).
  status set_aside_segments(repair_report* report) {
    const std::string aside = dir + "/damaged";
    if (auto s = mem::make_dirs(aside); !s) return s;
    for (const auto& seg : mem::list_segments(dir)) {
      const std::string name = seg.path.substr(seg.path.rfind('/') + 1);
      std::string target = aside + "/" + name;
      for (int n = 1; mem::file_exists(target); ++n) target = aside + "/" + name + "." + std::to_string(n);
      if (std::rename(seg.path.c_str(), target.c_str()) != 0)
        return error{errc::io_error, "cannot move " + seg.path + " to " + target};
      if (report) report->set_aside.push_back(target.substr(aside.size() + 1));
    }
    if (auto s = mem::fsync_dir(aside); !s) return s;
    return mem::fsync_dir(dir);
  }

  status open_dir() {
    if (auto s = mem::make_dirs(dir); !s) return s;
    if (auto s = lock_file.acquire(dir); !s) return s;
    std::remove((dir + "/snapshot.bin.tmp").c_str());
    if (auto s = finish_interrupted_repair(); !s) return s;
    return load_snapshot();
  }

  // Start-up (docs/memory-store.md, "Recovery"): replays every intact record
  // after the snapshot, in sequence. Only a torn tail (damage with no intact
  // record after it) is cut off; damage followed by intact records, an
  // unreadable segment or a gap in the sequence numbers refuses to open.
  status recover() {
    if (auto s = open_dir(); !s) return s;
    recovered.snapshot_seq = snapshot_seq;
    const auto segments = mem::list_segments(dir);
    const std::uint32_t max = options.max_record_bytes;
    for (std::size_t i = 0; i < segments.size(); ++i) {
      const std::string& path = segments[i].path;
      ++recovered.segments;
      std::string bytes;
      if (auto s = mem::read_file(path, bytes); !s)
        return error{errc::io_error, "log segment " + path + " is unreadable (" + s.err().message +
                                         "); records after sequence number " +
                                         std::to_string(last_seq) + " may be in it." + repair_hint()};
      const std::string_view data(bytes);
      std::size_t pos = 0;
      while (pos < data.size()) {
        if (const auto frame = mem::frame_at(data, pos, max)) {
          const std::uint64_t seq = mem::payload_seq(*frame);
          if (seq <= snapshot_seq) {
            ++recovered.records_skipped;
          } else if (seq != last_seq + 1) {
            return error{errc::io_error,
                         "log sequence gap: " + path + " at offset " + std::to_string(pos) +
                             " holds sequence number " + std::to_string(seq) + " but " +
                             std::to_string(last_seq + 1) +
                             " is next; records " + std::to_string(last_seq + 1) + "-" +
                             (seq > last_seq + 1 ? std::to_string(seq - 1) : std::string("?")) +
                             " are missing (a deleted or lost segment?)." + repair_hint()};
          } else if (!replay(*frame)) {
            return error{errc::io_error, "log record " + std::to_string(seq) + " in " + path +
                                             " at offset " + std::to_string(pos) +
                                             " has a valid checksum but does not decode." +
                                             repair_hint()};
          } else {
            ++recovered.records_replayed;
          }
          pos += 8 + frame->size();
          continue;
        }
        // Damage at pos. Intact records after it mean the log went on past
        // it: acknowledged writes are in or after the damage.
        const std::size_t next = mem::next_frame(data, pos + 1, max);
        std::string later_segment;
        for (std::size_t j = i + 1; j < segments.size() && later_segment.empty(); ++j) {
          struct stat st {};
          if (::stat(segments[j].path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > 0)
            later_segment = segments[j].path;
        }
        if (next != std::string_view::npos || !later_segment.empty()) {
          std::string what = "log segment " + path + " is damaged at offset " + std::to_string(pos) +
                             " (" + std::to_string((next == std::string_view::npos ? data.size() : next) - pos) +
                             " bytes) after sequence number " + std::to_string(last_seq);
          if (next != std::string_view::npos)
            what += "; intact records follow at offset " + std::to_string(next) + " from sequence number " +
                    std::to_string(mem::payload_seq(*mem::frame_at(data, next, max)));
          else
            what += "; segment " + later_segment + " follows";
          return error{errc::io_error, what + "." + repair_hint()};
        }
        recovered.torn_tail_bytes += data.size() - pos;
        log::warn("memory_store", "log ", path, ": cutting off a torn tail of ", data.size() - pos,
                  " bytes at offset ", pos, " (a write cut short; nothing after it)");
        if (auto s = mem::truncate_file(path, pos); !s) return s;
        break;
      }
    }
    dropped_on_load = recovered.torn_tail_bytes;
    wal.start_at(last_seq);
    if (auto s = wal.open_segment(dir, last_seq + 1); !s) return s;
    publish_sizes();
    log::info("memory_store", "opened ", dir, ": ", graph.vertex_count(), " vertices, ",
              graph.edge_count(), " edges (", recovered.records_replayed, " log records replayed)");
    return ok_v;
  }

  void configure_wal() {
    wal.set_max_record(options.max_record_bytes);
    if (options.wal_sync_for_tests) wal.set_sync_function(options.wal_sync_for_tests);
    if (auto* m = options.wal_metrics) {
      counter_metric& ok = m->counter("tlflow_wal_syncs_total", "fdatasyncs of the write-ahead log");
      counter_metric& failed =
          m->counter("tlflow_wal_sync_failures_total", "fdatasyncs of the write-ahead log that failed");
      wal.set_flush_observer([&ok, &failed](bool good) { (good ? ok : failed).inc(); });
    }
  }

  // Offline repair; see memory_store::repair.
  result<repair_report> repair() {
    if (auto s = open_dir(); !s) return s.err();
    repair_report report;
    const std::uint32_t max = options.max_record_bytes;
    const std::string aside = dir + "/damaged";
    struct found {
      std::string payload;
      std::string where;
    };
    std::vector<found> records;
    for (const auto& seg : mem::list_segments(dir)) {
      const std::string name = seg.path.substr(seg.path.rfind('/') + 1);
      std::string bytes;
      if (!mem::read_file(seg.path, bytes).ok()) {
        report.unreadable.push_back(name);
        continue; // moved aside with the others below
      }
      const std::string_view data(bytes);
      std::size_t pos = 0;
      while (pos < data.size()) {
        if (const auto frame = mem::frame_at(data, pos, max)) {
          records.push_back({std::string(*frame), name + " offset " + std::to_string(pos)});
          pos += 8 + frame->size();
          continue;
        }
        const std::size_t next = mem::next_frame(data, pos + 1, max);
        const std::size_t end = next == std::string_view::npos ? data.size() : next;
        if (auto s = mem::make_dirs(aside); !s) return s.err();
        const std::string file = name + "." + std::to_string(pos) + ".bin";
        if (auto s = write_whole(aside + "/" + file, data.substr(pos, end - pos)); !s) return s.err();
        report.set_aside.push_back(file);
        report.bytes_set_aside += end - pos;
        pos = end;
      }
    }
    // Keep records after the snapshot in increasing sequence order; replay
    // proves each decodes. Kept records are renumbered without gaps.
    std::string log_bytes;
    std::uint64_t prev = snapshot_seq;
    const auto drop_range = [&](std::uint64_t a, std::uint64_t b) {
      report.dropped_seqs.emplace_back(a, b);
      report.records_dropped += b - a + 1;
    };
    for (auto& r : records) {
      const std::uint64_t seq = mem::payload_seq(r.payload);
      if (seq <= prev) continue; // in the snapshot, or a duplicate
      if (seq > prev + 1) drop_range(prev + 1, seq - 1);
      prev = seq;
      mem::bin_writer renumbered;
      renumbered.u64(last_seq + 1);
      r.payload.replace(0, 8, renumbered.buffer());
      if (!replay(r.payload)) {
        log::warn("memory_store", "repair: record ", seq, " (", r.where, ") does not decode; dropped");
        drop_range(seq, seq);
        continue;
      }
      mem::bin_writer head;
      head.u32(static_cast<std::uint32_t>(r.payload.size()));
      head.u32(mem::crc32_of(r.payload));
      log_bytes += head.buffer();
      log_bytes += r.payload;
      ++report.records_kept;
    }
    // A torn tail alone changes the log too (its bytes are set aside).
    report.changed = !report.unreadable.empty() || report.bytes_set_aside > 0 ||
                     report.records_dropped > 0;
    if (!report.changed) return report;
    // New log complete and on disk first (wal-repair.done), then the old
    // segments move aside, then the new one takes its place: an interruption
    // at any point is finished or forgotten by the next open.
    const std::string tmp = dir + "/wal-repair.tmp";
    const std::string done = dir + "/wal-repair.done";
    if (auto s = write_whole(tmp, log_bytes); !s) return s.err();
    if (std::rename(tmp.c_str(), done.c_str()) != 0)
      return error{errc::io_error, "cannot rename " + tmp + " to " + done};
    if (auto s = mem::fsync_dir(dir); !s) return s.err();
    if (auto s = set_aside_segments(&report); !s) return s.err();
    if (log_bytes.empty()) {
      std::remove(done.c_str());
    } else {
      const std::string path = dir + "/" + mem::segment_name(snapshot_seq + 1);
      if (std::rename(done.c_str(), path.c_str()) != 0)
        return error{errc::io_error, "cannot rename " + done + " to " + path};
    }
    if (auto s = mem::fsync_dir(dir); !s) return s.err();
    return report;
  }

  static status write_whole(const std::string& path, std::string_view data) {
    mem::file_sink out;
    if (auto s = out.open(path, false); !s) return s;
    if (auto s = out.write(data); !s) return s;
    return out.finish();
  }

  void step(std::string_view name) {
    if (options.snapshot_step_for_tests) options.snapshot_step_for_tests(name);
  }

  // Seals the current log segment: every record up to the returned sequence
  // number is in the segments before `wal-<seq+1>.log`, which no write
  // touches again. Writers wait for this only; readers not at all.
  result<std::uint64_t> seal_log() {
    // Flush without the lock first, so that the flush under it
    // (open_segment syncs the old segment) covers only the records written
    // in between, not up to an interval's worth.
    (void)wal.sync();
    std::shared_lock lock(mutex);
    const auto locked_at = std::chrono::steady_clock::now();
    const std::uint64_t seq = last_seq;
    status s = wal.rotate(dir, seq + 1);
    seal_us = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                             std::chrono::steady_clock::now() - locked_at)
                                             .count());
    if (!s) return s.err();
    return seq;
  }

  // Writes `graph` (as of sequence number seq) to snapshot.bin.tmp, fsynced.
  status write_snapshot_file(const mem::graph_core& g, std::uint64_t seq, bool cancellable) {
    mem::file_sink sink;
    if (auto s = sink.open(dir + "/snapshot.bin.tmp"); !s) return s;
    mem::bin_writer head;
    head.buffer().append(snapshot_magic, 8);
    head.u64(seq);
    if (auto s = sink.write(head.buffer()); !s) return s;
    if (auto s = g.save([&](std::string_view chunk) -> status {
          if (cancellable && closing) return cancelled();
          return sink.write(chunk);
        });
        !s)
      return s;
    return sink.finish(); // an unfinished sink removes its file
  }

  // snapshot.bin.tmp becomes snapshot.bin; then the segments it covers go.
  status install_snapshot(std::uint64_t seq) {
    const std::string tmp = dir + "/snapshot.bin.tmp";
    const std::string path = dir + "/snapshot.bin";
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
      std::remove(tmp.c_str());
      return error{errc::io_error, "cannot rename snapshot into place"};
    }
    if (auto s = mem::fsync_dir(dir); !s) return s;
    snapshot_seq = seq;
    step("renamed");
    for (const auto& seg : mem::list_segments(dir))
      if (seg.first_seq <= seq) std::remove(seg.path.c_str());
    step("deleted");
    return ok_v;
  }

  static error cancelled() {
    return error{errc::store_unavailable, "snapshot cancelled: the store is closing"};
  }

  // The old way: serialise the live graph while writers wait.
  status snapshot_locked(std::uint64_t& seq) {
    {
      std::shared_lock lock(mutex);
      seq = last_seq;
      if (auto s = wal.open_segment(dir, seq + 1); !s) return s;
      if (auto s = write_snapshot_file(graph, seq, false); !s) return s;
    }
    return install_snapshot(seq);
  }

  // Seal the log, then, off the live graph: load the previous snapshot into
  // a second graph, replay the sealed segments up to the seal (records carry
  // their resolved times, so the result equals the live graph at the seal),
  // write it, install it (docs/memory-store.md, "Snapshots").
  status snapshot_compact(std::uint64_t& seq) {
    auto sealed = seal_log();
    if (!sealed) return std::move(sealed).err();
    seq = *sealed;
    step("sealed");
    auto copy = std::make_unique<mem::graph_core>();
    std::uint64_t at = 0;
    const std::string path = dir + "/snapshot.bin";
    if (mem::file_exists(path))
      if (auto s = load_snapshot_file(path, *copy, at); !s) return s;
    const std::uint32_t max = options.max_record_bytes;
    for (const auto& seg : mem::list_segments(dir)) {
      if (seg.first_seq > seq || at >= seq) break;
      std::string bytes;
      if (auto s = mem::read_file(seg.path, bytes); !s) return s;
      const std::string_view data(bytes);
      std::size_t pos = 0;
      while (pos < data.size()) {
        const auto frame = mem::frame_at(data, pos, max);
        if (!frame)
          return error{errc::io_error, "log segment " + seg.path + " is damaged at offset " +
                                           std::to_string(pos) + "; the snapshot was not written"};
        mem::bin_reader r(*frame);
        const std::uint64_t rseq = r.u64();
        const std::uint8_t o = r.u8();
        pos += 8 + frame->size();
        if (rseq <= at) continue; // in the previous snapshot already
        if (rseq > seq) break;    // cannot happen: the segment was sealed at seq
        if (closing) return cancelled();
        if (rseq != at + 1)
          return error{errc::io_error, "log sequence gap in " + seg.path + ": " + std::to_string(rseq) +
                                           " follows " + std::to_string(at)};
        if (!r.ok() || !apply_record(*copy, o, r))
          return error{errc::io_error, "log record " + std::to_string(rseq) + " in " + seg.path +
                                           " does not decode; the snapshot was not written"};
        at = rseq;
      }
    }
    if (at != seq)
      return error{errc::io_error, "the sealed log ends at sequence number " + std::to_string(at) +
                                       ", not at " + std::to_string(seq) + "; the snapshot was not written"};
    step("replayed");
    if (auto s = write_snapshot_file(*copy, seq, true); !s) return s;
    copy.reset(); // before the rename: the second graph's memory goes back now
    step("written");
    return install_snapshot(seq);
  }

  status write_snapshot(bool force, snapshot_mode mode) {
    std::lock_guard<std::mutex> one_at_a_time(snapshot_mutex);
    if (!force && last_seq == snapshot_seq) return ok_v;
    const auto started = std::chrono::steady_clock::now();
    std::uint64_t seq = 0;
    status s = mode == snapshot_mode::locked ? snapshot_locked(seq) : snapshot_compact(seq);
    if (!s) return s;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count();
    if (mode == snapshot_mode::locked)
      log::info("memory_store", "snapshot at seq ", seq, " written in ", ms, " ms (locked)");
    else
      log::info("memory_store", "snapshot at seq ", seq, " written in ", ms,
                " ms (compacted off the live graph; writers waited ", seal_us.load() / 1000.0,
                " ms for the log seal)");
    return ok_v;
  }

  // The backup's files: under snapshot_mutex (no snapshot replaces or
  // deletes them meanwhile) the log is sealed and the snapshot and the sealed
  // segments are opened; once open they stay readable whatever happens to
  // their names.
  result<std::unique_ptr<backup_stream>> begin_backup() {
    std::lock_guard<std::mutex> one_at_a_time(snapshot_mutex);
    auto sealed = seal_log();
    if (!sealed) return std::move(sealed).err();
    const std::uint64_t seq = *sealed;
    std::vector<mem::backup_file> files;
    const auto add = [&](std::uint8_t type, const std::string& path) -> status {
      const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      struct stat st {};
      if (fd < 0 || ::fstat(fd, &st) != 0) {
        const std::string why = std::strerror(errno);
        if (fd >= 0) ::close(fd);
        return error{errc::io_error, "backup: cannot open " + path + ": " + why};
      }
      files.push_back({type, path.substr(path.rfind('/') + 1), fd, static_cast<std::uint64_t>(st.st_size)});
      return ok_v;
    };
    status s = ok_v;
    if (mem::file_exists(dir + "/snapshot.bin")) s = add(mem::backup_part_snapshot, dir + "/snapshot.bin");
    for (const auto& seg : mem::list_segments(dir))
      if (s && seg.first_seq <= seq) s = add(mem::backup_part_segment, seg.path);
    if (!s) {
      for (auto& f : files) ::close(f.fd);
      return std::move(s).err();
    }
    log::info("memory_store", "backup of ", dir, " up to sequence number ", seq, ": ", files.size(),
              " file(s)");
    return mem::make_backup_stream(std::move(files), seq);
  }

  // Periodic snapshots, on their own thread: a compaction takes seconds on
  // a large graph and must not hold back the log's interval flushes.
  void run_snapshots() {
    using clock = std::chrono::steady_clock;
    const auto every = std::chrono::seconds(options.snapshot_interval_s);
    auto next = clock::now() + every;
    std::unique_lock<std::mutex> lock(bg_mutex);
    while (!stop) {
      bg_cv.wait_until(lock, next);
      if (stop) break;
      if (clock::now() < next) continue;
      lock.unlock();
      if (auto s = write_snapshot(false, snapshot_mode::compact); !s) {
        if (closing)
          log::info("memory_store", "periodic snapshot given up: the store is closing");
        else
          note_error("snapshot: " + s.err().message);
      }
      next = clock::now() + every;
      lock.lock();
    }
  }

  void run_background() {
    const bool interval = options.wal_fsync == wal_fsync_policy::interval;
    const auto tick =
        std::chrono::milliseconds(interval ? std::max(1u, options.wal_fsync_interval_ms) : 1000u);
    std::unique_lock<std::mutex> lock(bg_mutex);
    while (!stop) {
      bg_cv.wait_for(lock, tick);
      if (stop) break;
      lock.unlock();
      if (interval) {
        if (auto s = wal.sync(); !s) note_error("write-ahead log: " + s.err().message);
      } else if (!wal.healthy()) {
        // Writes are refused until a flush succeeds; try one now and then
        // even when no write comes to try it.
        if (wal.recover_from_failure().ok())
          log::info("memory_store", "write-ahead log flushes again; writes accepted");
      }
      lock.lock();
    }
  }
};

memory_store::memory_store(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

memory_store::~memory_store() {
  if (impl_ && !impl_->closed) close();
}

result<std::unique_ptr<memory_store>> memory_store::open(const memory_store_options& options) {
  auto p = std::make_unique<impl>();
  p->options = options;
  if (options.metrics) {
    std::weak_ptr<size_gauges> g = p->gauges;
    options.metrics->callback_gauge("tlflow_store_vertices", "Vertices in the graph store", [g] {
      auto s = g.lock();
      return s ? static_cast<double>(s->vertices.load(std::memory_order_relaxed)) : 0.0;
    });
    options.metrics->callback_gauge("tlflow_store_edges", "Edges in the graph store", [g] {
      auto s = g.lock();
      return s ? static_cast<double>(s->edges.load(std::memory_order_relaxed)) : 0.0;
    });
  }
  p->durable = !options.ephemeral;
  p->dir = options.data_dir;
  if (p->durable) {
    p->configure_wal();
    try {
      if (auto s = p->recover(); !s) return s.err();
    } catch (const std::exception& e) { // e.g. out of memory while loading
      return error{errc::io_error, std::string("cannot load the store: ") + e.what()};
    }
    if (auto* m = options.wal_metrics) {
      const auto& r = p->recovered;
      m->gauge("tlflow_recovery_records_replayed", "Log records replayed at start-up")
          .set(static_cast<double>(r.records_replayed));
      m->gauge("tlflow_recovery_torn_tail_bytes", "Bytes of a torn log tail cut off at start-up")
          .set(static_cast<double>(r.torn_tail_bytes));
      m->gauge("tlflow_recovery_segments", "Log segments read at start-up")
          .set(static_cast<double>(r.segments));
    }
    // Also in commit mode: after a failed flush it retries now and then.
    p->background = std::thread([raw = p.get()] { raw->run_background(); });
    if (options.snapshot_interval_s > 0)
      p->snapshotter = std::thread([raw = p.get()] { raw->run_snapshots(); });
  }
  return std::unique_ptr<memory_store>(new memory_store(std::move(p)));
}

result<vertex_view> memory_store::get_vertex(std::string_view id) {
  std::shared_lock lock(impl_->mutex);
  const auto v = impl_->graph.find(id);
  if (!v) return error{errc::vertex_not_found, "no such vertex"};
  return impl_->graph.view(*v);
}

result<put_vertex_result> memory_store::put_vertex(std::string_view id, const properties& set,
                                                   const std::vector<std::string>& unset) {
  if (auto why = validate_vertex_id(id); !why.empty()) return invalid_id_error(why);
  std::unique_lock lock(impl_->mutex);
  auto seq = impl_->log_op(op::put_vertex, [&](mem::bin_writer& w) {
    w.str(id);
    w.props(set);
    w.varint(unset.size());
    for (const auto& k : unset) w.str(k);
  });
  if (!seq) return std::move(seq).err();
  auto r = impl_->graph.put_vertex(id, set, unset);
  if (impl_->listener) {
    impl_->note_vertex(r.created ? change_type::vertex_created : change_type::vertex_updated, r.vertex.v);
    impl_->emit_changes(*seq);
  }
  impl_->publish_sizes();
  lock.unlock();
  if (auto d = impl_->commit(*seq); !d) return std::move(d).err();
  return r;
}

result<removed_set> memory_store::remove_vertex(std::string_view id) {
  std::unique_lock lock(impl_->mutex);
  const auto v = impl_->graph.find(id);
  if (!v) return error{errc::vertex_not_found, "no such vertex"};
  auto seq = impl_->log_op(op::remove_vertex, [&](mem::bin_writer& w) { w.str(id); });
  if (!seq) return std::move(seq).err();
  auto r = impl_->graph.remove_vertex(*v);
  if (impl_->listener) {
    impl_->note_removed(r);
    impl_->emit_changes(*seq);
  }
  impl_->publish_sizes();
  lock.unlock();
  if (auto d = impl_->commit(*seq); !d) return std::move(d).err();
  return r;
}

result<vertex_page> memory_store::list_vertices(const vertex_query& q) {
  std::shared_lock lock(impl_->mutex);
  return impl_->graph.list_vertices(q);
}

result<std::uint64_t> memory_store::count_vertices() {
  std::shared_lock lock(impl_->mutex);
  return impl_->graph.vertex_count();
}

result<std::vector<neighbor>> memory_store::neighbors(std::string_view id, const neighbor_query& q) {
  std::shared_lock lock(impl_->mutex);
  const auto v = impl_->graph.find(id);
  if (!v) return error{errc::vertex_not_found, "no such vertex"};
  return impl_->graph.neighbors(*v, q);
}

result<edge_page> memory_store::list_edges(const edge_query& q) {
  std::shared_lock lock(impl_->mutex);
  return impl_->graph.list_edges(q);
}

status memory_store::scan(const slice& s, scan_sink& sink) {
  constexpr std::size_t chunk_vertices = 1000; // as the paged scan's pages
  constexpr std::size_t chunk_edges = 2000;
  auto& im = *impl_;
  const bool whole = s.whole_graph();
  std::size_t slots = 0;
  {
    std::shared_lock lock(im.mutex);
    slots = im.graph.slot_count();
  }
  // Per slot, the interned id + 1 of the vertex there: `member` (a slice's
  // edge ends), `sent` (handed to the sink); 0: none.
  std::vector<std::uint32_t> member(whole ? 0 : slots, 0);
  std::vector<std::uint32_t> sent(slots, 0);
  auto tag = [&](mem::vd v) { return im.graph.interned_id(v) + 1; };
  // The slice's filters, the cheap ones first: the whole edge is built only
  // when a hashtag or time filter needs it.
  const bool needs_edge = !s.hashtags.empty() || !s.since.empty() || !s.until.empty();
  auto admitted = [&](const mem::ed& e) {
    if (!s.kinds.empty() &&
        std::find(s.kinds.begin(), s.kinds.end(), im.graph.edge_kind_of(e)) == s.kinds.end())
      return false;
    if (im.graph.edge_weight(e) < s.min_weight) return false;
    return !needs_edge || s.admits(im.graph.edge_of(e));
  };

  // Every edge leaving slots [0, slots), by source slot, `chunk_edges` at a
  // time: take(e, from, to) under the lock, then flush() without it.
  auto walk_edges = [&](auto&& take, auto&& flush) -> status {
    mem::vd v = 0;
    while (v < slots) {
      {
        std::shared_lock lock(im.mutex);
        const mem::vd end = std::min<mem::vd>(slots, im.graph.slot_count());
        std::size_t taken = 0;
        for (; v < end && taken < chunk_edges; ++v) {
          if (!im.graph.alive(v)) continue;
          if (!s.platforms.empty() && !s.admits_platform(im.graph.vertex_of(v))) continue;
          im.graph.for_each_out_edge(v, [&](const mem::ed& e) {
            taken += take(e, v, im.graph.target(e)) ? 1 : 0;
          });
        }
        if (v < end) {
          // more to do: fall through to flush
        } else {
          v = slots;
        }
      }
      if (auto st = flush(); !st) return st;
    }
    return ok_v;
  };

  if (!whole) {
    auto st = walk_edges(
        [&](const mem::ed& e, mem::vd from, mem::vd to) {
          if (to >= slots || !admitted(e)) return false;
          member[from] = tag(from);
          member[to] = tag(to);
          return true;
        },
        [] { return status(ok_v); });
    if (!st) return st;
  }

  std::vector<vertex_view> vs;
  for (mem::vd v = 0; v < slots;) {
    vs.clear();
    {
      std::shared_lock lock(im.mutex);
      const mem::vd end = std::min<mem::vd>(slots, im.graph.slot_count());
      for (; v < end && vs.size() < chunk_vertices; ++v) {
        if (!im.graph.alive(v) || (!whole && member[v] != tag(v))) continue;
        vs.push_back(im.graph.view(v));
        sent[v] = tag(v);
      }
      if (v >= end) v = slots;
    }
    if (!vs.empty())
      if (auto st = sink.vertices(vs); !st) return st;
  }
  member = {};

  std::vector<edge> es;
  return walk_edges(
      [&](const mem::ed& e, mem::vd from, mem::vd to) {
        if (to >= slots || sent[from] != tag(from) || sent[to] != tag(to)) return false;
        if (!whole && !admitted(e)) return false;
        es.push_back(im.graph.edge_of(e));
        return true;
      },
      [&]() -> status {
        if (es.empty()) return ok_v;
        auto st = sink.edges(es);
        es.clear();
        return st;
      });
}

result<std::uint64_t> memory_store::count_edges() {
  std::shared_lock lock(impl_->mutex);
  return impl_->graph.edge_count();
}

result<add_edge_result> memory_store::add_edge(const add_edge_request& req) {
  if (auto why = validate_vertex_id(req.key.from); !why.empty())
    return invalid_id_error(why);
  if (auto why = validate_vertex_id(req.key.to); !why.empty())
    return invalid_id_error(why);
  std::uint32_t at = 0;
  if (req.at.empty()) {
    at = mem::now_seconds();
  } else if (auto t = mem::parse_iso8601(req.at)) {
    at = *t;
  } else {
    return error{errc::invalid_argument, "`at` is not an ISO-8601 time"};
  }
  std::unique_lock lock(impl_->mutex);
  auto seq = impl_->log_op(op::add_edge, [&](mem::bin_writer& w) {
    w.str(req.key.from);
    w.str(req.key.to);
    w.u8(static_cast<std::uint8_t>(req.key.kind));
    w.props(req.props);
    w.u32(at);
  });
  if (!seq) return std::move(seq).err();
  const bool fresh_from = impl_->listener && !impl_->graph.find(req.key.from);
  const bool fresh_to = impl_->listener && !impl_->graph.find(req.key.to);
  auto r = impl_->graph.add_edge(req.key, req.props, at);
  if (impl_->listener) {
    if (fresh_from) impl_->note_vertex(change_type::vertex_created, impl_->graph.view(*impl_->graph.find(req.key.from)).v);
    if (fresh_to && req.key.to != req.key.from)
      impl_->note_vertex(change_type::vertex_created, impl_->graph.view(*impl_->graph.find(req.key.to)).v);
    impl_->note_edge(r.created ? change_type::edge_created : change_type::edge_changed, r.e);
    impl_->emit_changes(*seq);
  }
  impl_->publish_sizes();
  lock.unlock();
  if (auto d = impl_->commit(*seq); !d) return std::move(d).err();
  return r;
}

result<removed_set> memory_store::remove_edges(std::string_view from, std::string_view to,
                                               std::optional<edge_kind> kind) {
  std::unique_lock lock(impl_->mutex);
  if (!impl_->graph.has_edges(from, to, kind)) return error{errc::edge_not_found, "no such edge"};
  auto seq = impl_->log_op(op::remove_edges, [&](mem::bin_writer& w) {
    w.str(from);
    w.str(to);
    w.u8(kind ? 1 : 0);
    w.u8(static_cast<std::uint8_t>(kind.value_or(edge_kind::link)));
  });
  if (!seq) return std::move(seq).err();
  auto r = impl_->graph.remove_edges(from, to, kind);
  if (impl_->listener) {
    impl_->note_removed(r);
    impl_->emit_changes(*seq);
  }
  impl_->publish_sizes();
  lock.unlock();
  if (auto d = impl_->commit(*seq); !d) return std::move(d).err();
  return r;
}

result<std::vector<std::string>> memory_store::shortest_path(std::string_view from,
                                                             std::string_view to,
                                                             const path_query& q) {
  std::shared_lock lock(impl_->mutex);
  const auto a = impl_->graph.find(from);
  if (!a) return error{errc::vertex_not_found, "no such vertex: from"};
  const auto b = impl_->graph.find(to);
  if (!b) return error{errc::vertex_not_found, "no such vertex: to"};
  bool over_budget = false;
  auto p = impl_->graph.shortest_path(*a, *b, q, &over_budget);
  if (over_budget) {
    return error{errc::too_expensive, "path search gave up after visiting " +
                                          std::to_string(q.max_visited) + " vertices"};
  }
  if (!p) return error{errc::no_path, "no path within max_depth"};
  return std::move(*p);
}

status memory_store::restore(const removed_set& removed) {
  if (removed.removed_vertex)
    if (auto why = validate_vertex_id(removed.removed_vertex->id); !why.empty())
      return invalid_id_error(why);
  for (const auto& e : removed.edges) {
    if (auto why = validate_vertex_id(e.key.from); !why.empty()) return invalid_id_error(why);
    if (auto why = validate_vertex_id(e.key.to); !why.empty()) return invalid_id_error(why);
  }
  std::unique_lock lock(impl_->mutex);
  auto seq = impl_->log_op(op::restore, [&](mem::bin_writer& w) {
    w.u8(removed.removed_vertex ? 1 : 0);
    if (removed.removed_vertex) {
      w.str(removed.removed_vertex->id);
      w.props(removed.removed_vertex->props);
    }
    w.varint(removed.edges.size());
    for (const auto& e : removed.edges) encode_edge(w, e);
  });
  if (!seq) return std::move(seq).err();
  if (impl_->listener) {
    if (removed.removed_vertex)
      impl_->note_vertex(impl_->graph.find(removed.removed_vertex->id) ? change_type::vertex_updated
                                                                       : change_type::vertex_created,
                         *removed.removed_vertex);
    std::vector<bool> existed;
    for (const auto& e : removed.edges) {
      for (const auto* id : {&e.key.from, &e.key.to})
        if (!impl_->graph.find(*id) && (!removed.removed_vertex || removed.removed_vertex->id != *id))
          impl_->note_vertex(change_type::vertex_created, vertex{*id, {}});
      existed.push_back(impl_->graph.has_edges(e.key.from, e.key.to, e.key.kind));
    }
    impl_->graph.restore(removed);
    for (std::size_t i = 0; i < removed.edges.size(); ++i)
      if (auto e = impl_->edge_now(removed.edges[i].key))
        impl_->note_edge(existed[i] ? change_type::edge_changed : change_type::edge_created, std::move(*e));
    impl_->emit_changes(*seq);
  } else {
    impl_->graph.restore(removed);
  }
  impl_->publish_sizes();
  lock.unlock();
  return impl_->commit(*seq);
}

status memory_store::apply(const std::vector<interaction>& batch) {
  std::vector<mem::timed_interaction> timed;
  timed.reserve(batch.size());
  std::uint32_t now = 0;
  std::size_t skipped = 0;
  for (const auto& x : batch) {
    if (!validate_vertex_id(x.from.id).empty() || !validate_vertex_id(x.to.id).empty()) {
      ++skipped;
      continue;
    }
    std::uint32_t at = 0;
    if (auto t = mem::parse_iso8601(x.at)) {
      at = *t;
    } else {
      if (now == 0) now = mem::now_seconds();
      at = now;
    }
    timed.push_back({&x, at});
  }
  if (skipped > 0) log::warn("memory_store", "apply: skipped ", skipped, " interaction(s) with an invalid id");
  if (timed.empty()) return ok_v;
  std::unique_lock lock(impl_->mutex);
  auto seq = impl_->log_op(op::apply, [&](mem::bin_writer& w) {
    w.varint(timed.size());
    for (const auto& t : timed) {
      encode_account(w, t.i->from);
      encode_account(w, t.i->to);
      w.u8(static_cast<std::uint8_t>(t.i->kind));
      w.varint(t.i->hashtags.size());
      for (const auto& h : t.i->hashtags) w.str(h);
      w.u32(t.at);
    }
  });
  if (!seq) return std::move(seq).err();
  if (impl_->listener) {
    impl_->note_batch(timed, *seq);
  } else {
    impl_->graph.apply(timed);
  }
  impl_->publish_sizes();
  lock.unlock();
  if (auto d = impl_->commit(*seq); !d) {
    // The batch is in the graph and in the log already: an error would make
    // the pipeline apply it again (counting it twice). Wait for a flush to
    // succeed instead, which is backpressure on ingestion, for a while.
    const auto give_up = std::chrono::steady_clock::now() + impl_->options.apply_flush_retry;
    auto pause = std::chrono::milliseconds(10);
    while (!impl_->wal.recover_from_failure().ok() || !impl_->wal.wait_durable(*seq).ok()) {
      if (std::chrono::steady_clock::now() >= give_up) return d;
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(1000));
    }
    log::info("memory_store", "apply: the log flushed after a failure; batch durable");
  }
  return ok_v;
}

result<std::vector<location_flow>> memory_store::location_flows(std::size_t limit) {
  std::shared_lock lock(impl_->mutex);
  return impl_->graph.location_flows(limit);
}

store_health memory_store::health() {
  store_health h;
  if (!impl_->durable) {
    h.detail = "memory (ephemeral)";
    return h;
  }
  h.ok = !impl_->log_failed.load() && impl_->wal.healthy();
  h.detail = "memory, data in " + impl_->dir + ", log sync " +
             std::string(to_string(impl_->options.wal_fsync));
  const recovery_report& r = impl_->recovered;
  h.recovery = {{"snapshot_seq", r.snapshot_seq},
                {"segments", r.segments},
                {"records_replayed", r.records_replayed},
                {"records_skipped", r.records_skipped},
                {"torn_tail_bytes", r.torn_tail_bytes},
                {"finished_repair", r.finished_repair ? 1u : 0u}};
  if (!h.ok) {
    std::lock_guard<std::mutex> l(impl_->error_mutex);
    h.detail += "; " + impl_->last_error;
  }
  return h;
}

void memory_store::close() {
  if (impl_->closed) return;
  impl_->closed = true;
  impl_->closing = true;
  if (impl_->background.joinable()) {
    {
      std::lock_guard<std::mutex> l(impl_->bg_mutex);
      impl_->stop = true;
    }
    impl_->bg_cv.notify_all();
    impl_->background.join();
    if (impl_->snapshotter.joinable()) impl_->snapshotter.join();
  }
  if (!impl_->durable) return;
  // Nothing is served any more: serialising the live graph is the fastest
  // way, and no second graph is needed.
  if (auto s = impl_->write_snapshot(false, snapshot_mode::locked); !s)
    impl_->note_error("snapshot on close: " + s.err().message);
  impl_->wal.close();
}

status memory_store::snapshot(snapshot_mode mode) {
  if (!impl_->durable) return ok_v;
  return impl_->write_snapshot(true, mode);
}

result<std::unique_ptr<backup_stream>> memory_store::begin_backup() {
  if (!impl_->durable)
    return error{errc::not_supported, "an ephemeral store keeps nothing on disk to back up"};
  return impl_->begin_backup();
}

result<restore_report> memory_store::restore_backup(const std::string& file,
                                                    const std::string& data_dir) {
  namespace fs = std::filesystem;
  std::string target = data_dir;
  while (target.size() > 1 && target.back() == '/') target.pop_back();
  if (target.empty()) return error{errc::invalid_argument, "no data directory given"};
  std::error_code ec;
  const auto st = fs::status(target, ec);
  if (fs::exists(st)) {
    if (!fs::is_directory(st))
      return error{errc::invalid_argument, target + " exists and is not a directory"};
    if (!fs::is_empty(target, ec) || ec)
      return error{errc::invalid_argument, target + " is not empty: a backup is restored only into an "
                                                    "empty or new directory"};
  }
  // The whole file is checked before anything is written.
  auto checked = mem::unpack_backup(file, "");
  if (!checked) return std::move(checked).err();
  // Written beside the target and renamed into place (rename(2) replaces an
  // empty directory), so the target is either untouched or complete.
  const std::string stage = target + ".restore.tmp";
  fs::remove_all(stage, ec); // a restore interrupted earlier
  if (ec) return error{errc::io_error, "cannot remove " + stage + ": " + ec.message()};
  if (auto s = mem::make_dirs(stage); !s) return std::move(s).err();
  struct cleanup {
    std::string path;
    bool keep = false;
    ~cleanup() {
      std::error_code e;
      if (!keep) fs::remove_all(path, e);
    }
  } guard{stage};
  auto report = mem::unpack_backup(file, stage);
  if (!report) return std::move(report).err();
  {
    // Proof that the service will start on it; closing also writes one
    // snapshot covering the restored log.
    memory_store_options o;
    o.data_dir = stage;
    o.snapshot_interval_s = 0;
    auto opened = open(o);
    if (!opened)
      return error{errc::invalid_argument, "the backup " + file + " checks but the store in it does not open: " +
                                               opened.err().message};
    report->vertices = (*opened)->impl_->graph.vertex_count();
    report->edges = (*opened)->impl_->graph.edge_count();
    (*opened)->close();
  }
  const std::string parent = fs::path(target).has_parent_path() ? fs::path(target).parent_path().string() : ".";
  if (std::rename(stage.c_str(), target.c_str()) != 0)
    return error{errc::io_error, "cannot rename " + stage + " to " + target + ": " + std::strerror(errno)};
  guard.keep = true;
  if (auto s = mem::fsync_dir(parent); !s) return std::move(s).err();
  return report;
}

recovery_report memory_store::recovery() const { return impl_->recovered; }

std::uint64_t memory_store::set_change_listener(change_listener* listener) {
  std::unique_lock lock(impl_->mutex);
  impl_->listener = listener;
  return impl_->durable ? impl_->last_seq.load() : impl_->change_seq;
}

result<repair_report> memory_store::repair(const memory_store_options& options) {
  auto p = std::make_unique<impl>();
  p->options = options;
  p->durable = true;
  p->dir = options.data_dir;
  try {
    return p->repair();
  } catch (const std::exception& e) {
    return error{errc::io_error, std::string("cannot repair the store: ") + e.what()};
  }
}

memory_store::stats memory_store::statistics() {
  std::shared_lock lock(impl_->mutex);
  stats s;
  s.vertices = impl_->graph.vertex_count();
  s.edges = impl_->graph.edge_count();
  s.interned_strings = impl_->graph.interned_strings();
  s.wal_bytes = impl_->durable ? impl_->wal.segment_bytes() : 0;
  s.last_seq = impl_->last_seq;
  s.dropped_on_load = impl_->dropped_on_load;
  s.wal_syncs = impl_->durable ? impl_->wal.sync_count() : 0;
  s.wal_sync_failures = impl_->durable ? impl_->wal.sync_failures() : 0;
  const auto b = impl_->graph.breakdown();
  s.adjacency_entries = b.adjacency_entries;
  s.adjacency_capacity = b.adjacency_capacity;
  s.interner_bytes = b.interner_bytes;
  s.flow_pairs = b.flow_pairs;
  s.hubs = b.hubs;
  s.hub_entries = b.hub_entries;
  s.kind_list_entries = b.kind_list_entries;
  s.last_seal_us = impl_->seal_us;
  return s;
}

} // namespace tlflow
