// MemoryStore: the embedded, default graph_store (docs/memory-store.md).
//
// A Boost.Graph bidirectional adjacency_list with an id -> vertex index and
// interned strings; durable through a write-ahead log plus periodic snapshots
// in `data_dir` (docs/memory-store.md describes the files and the recovery).
// Thread-safe: many readers or one writer at a time (std::shared_mutex).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tlflow/graph_store.hpp"

namespace tlflow {

class metrics_registry;

// When the write-ahead log is flushed to the disk (fdatasync). Every record
// is written with write(2) before the mutating call returns, which survives a
// crash of the process in every mode; the modes differ on power loss
// (docs/memory-store.md, "Durability").
enum class wal_fsync_policy : std::uint8_t {
  none,     // never (the kernel writes back in its own time); tests, benchmarks
  interval, // at most wal_fsync_interval_ms after the write, by a background thread
  commit,   // a write returns after an fdatasync covering it (group commit)
};
std::optional<wal_fsync_policy> parse_wal_fsync_policy(std::string_view text) noexcept;
std::string_view to_string(wal_fsync_policy p) noexcept;

// How a snapshot is built (docs/memory-store.md, "Snapshots").
enum class snapshot_mode : std::uint8_t {
  // Writers wait only while the log segment is sealed; the snapshot is built
  // off the live graph, in a second graph loaded from the previous snapshot
  // plus the sealed segments. Readers never wait. The default.
  compact,
  // The live graph is serialised while writers wait (close(), when nothing
  // is served any more, and the benchmark's comparison).
  locked,
};

struct memory_store_options {
  std::string data_dir = "data";          // created if missing
  bool ephemeral = false;                 // no files at all, nothing survives
  unsigned snapshot_interval_s = 300;     // 0: snapshot only on close()
  wal_fsync_policy wal_fsync = wal_fsync_policy::commit;
  unsigned wal_fsync_interval_ms = 200;   // for wal_fsync_policy::interval
  metrics_registry* metrics = nullptr;    // optional: store-size gauges
  metrics_registry* wal_metrics = nullptr; // optional: log flush and recovery figures
  std::uint32_t max_record_bytes = 1u << 30; // largest log record, writing and reading
  // commit mode: how long apply() keeps retrying a failed flush of its batch
  // before returning store_unavailable (docs/memory-store.md, "A failed flush").
  std::chrono::milliseconds apply_flush_retry{30000};
  // Fault injection: replaces fdatasync(fd); gets the highest sequence number
  // the flush covers. Returns 0, or -1 with errno set.
  std::function<int(int fd, std::uint64_t upto_seq)> wal_sync_for_tests;
  // Fault injection: called at each step of a compacting snapshot ("sealed",
  // "replayed", "written", "renamed", "deleted"); a test kills the process
  // there to prove that no step loses anything.
  std::function<void(std::string_view step)> snapshot_step_for_tests;
};

// What start-up found in the log (shown by /status and /metrics).
struct recovery_report {
  std::uint64_t snapshot_seq = 0;      // sequence number the snapshot holds
  std::uint64_t segments = 0;          // log segments read
  std::uint64_t records_replayed = 0;  // records applied on top of the snapshot
  std::uint64_t records_skipped = 0;   // records already in the snapshot
  std::uint64_t torn_tail_bytes = 0;   // cut off the end of the log (a write cut short)
  bool finished_repair = false;        // an interrupted `tlflow repair` was completed
};

// A backup being read (memory_store::begin_backup): the container of
// docs/memory-store.md, "Backups", piece by piece. The files it covers were
// opened when the backup began, so snapshots taken meanwhile (which replace
// or delete them) change nothing in it. Not thread-safe; one reader.
class backup_stream {
public:
  virtual ~backup_stream() = default;
  // The next piece (at most about 1 MiB), or nullopt after the last one.
  // io_error when a file cannot be read: the container is then incomplete,
  // which a restore detects (no end part).
  virtual result<std::optional<std::string>> next() = 0;
  virtual std::uint64_t last_seq() const noexcept = 0; // the frozen log position
  virtual std::uint64_t total_bytes() const noexcept = 0; // of the whole container
};

// What `tlflow restore` did (memory_store::restore_backup).
struct restore_report {
  std::uint64_t snapshot_seq = 0; // of the snapshot in the backup (0: none)
  std::uint64_t last_seq = 0;     // the backup's frozen log position
  std::uint64_t segments = 0;     // log segments restored
  std::uint64_t bytes = 0;        // file bytes written
  std::uint64_t vertices = 0;     // of the restored store, opened as a check
  std::uint64_t edges = 0;
};

// What `tlflow repair` did (memory_store::repair).
struct repair_report {
  bool changed = false;                // false: the log was intact, nothing touched
  std::uint64_t records_kept = 0;      // intact records after the snapshot, renumbered
  std::uint64_t records_dropped = 0;   // sequence numbers missing or undecodable
  std::vector<std::pair<std::uint64_t, std::uint64_t>> dropped_seqs; // inclusive ranges
  std::uint64_t bytes_set_aside = 0;   // damaged bytes copied to damaged/
  std::vector<std::string> set_aside;  // files written to or moved into damaged/
  std::vector<std::string> unreadable; // segments that could not be read at all
};
std::string to_string(const repair_report& r);

class memory_store final : public graph_store {
public:
  // Loads snapshot + log from data_dir (unless ephemeral). io_error when the
  // directory cannot be used or a snapshot is unreadable.
  static result<std::unique_ptr<memory_store>> open(const memory_store_options& options);

  ~memory_store() override;
  memory_store(const memory_store&) = delete;
  memory_store& operator=(const memory_store&) = delete;

  std::string_view kind() const noexcept override { return "memory"; }
  result<vertex_view> get_vertex(std::string_view id) override;
  result<put_vertex_result> put_vertex(std::string_view id, const properties& set,
                                       const std::vector<std::string>& unset) override;
  result<removed_set> remove_vertex(std::string_view id) override;
  result<vertex_page> list_vertices(const vertex_query& q) override;
  result<std::uint64_t> count_vertices() override;
  result<std::vector<neighbor>> neighbors(std::string_view id, const neighbor_query& q) override;
  result<edge_page> list_edges(const edge_query& q) override;
  result<std::uint64_t> count_edges() override;
  result<add_edge_result> add_edge(const add_edge_request& req) override;
  result<removed_set> remove_edges(std::string_view from, std::string_view to,
                                   std::optional<edge_kind> kind) override;
  result<std::vector<std::string>> shortest_path(std::string_view from, std::string_view to,
                                                 const path_query& q) override;
  status restore(const removed_set& removed) override;
  status apply(const std::vector<interaction>& batch) override;
  result<std::vector<location_flow>> location_flows(std::size_t limit) override;
  // Walks the vertex slots a chunk at a time under the shared lock, released
  // between chunks (ingestion waits for one chunk at most); remembers per
  // slot the interned id it handed over (4 bytes a slot), so an edge goes
  // out only when both its ends did.
  status scan(const slice& s, scan_sink& sink) override;
  std::uint64_t set_change_listener(change_listener* listener) override;
  store_health health() override;
  void close() override;

  // Writes a snapshot now and drops the log it covers (no-op when ephemeral).
  status snapshot(snapshot_mode mode = snapshot_mode::compact);

  // Starts a backup: seals the log (writers wait for that only) and opens the
  // current snapshot and the sealed segments; everything acknowledged before
  // the call is in it. not_supported when ephemeral.
  result<std::unique_ptr<backup_stream>> begin_backup();

  // Offline: checks the backup `file` whole (every part's checksum, the end
  // part), then writes it into `data_dir`, which must be empty or absent:
  // the files are written into a sibling directory that is renamed into
  // place once the store opens from it, so a refusal or a failure leaves
  // nothing behind. invalid_argument for a damaged or truncated file or a
  // non-empty directory, io_error when writing fails.
  static result<restore_report> restore_backup(const std::string& file, const std::string& data_dir);

  // Offline: rewrites the log of options.data_dir keeping every record that
  // is intact (CRC and decoding), renumbered without gaps; damaged bytes and
  // the original segments go to `data_dir/damaged/`. io_error when the
  // directory is in use or the snapshot itself is unreadable.
  static result<repair_report> repair(const memory_store_options& options);
  recovery_report recovery() const;

  struct stats {
    std::uint64_t vertices = 0;
    std::uint64_t edges = 0;
    std::uint64_t interned_strings = 0;
    std::uint64_t wal_bytes = 0;       // size of the log since the last snapshot
    std::uint64_t last_seq = 0;        // sequence number of the last mutation
    std::uint64_t dropped_on_load = 0; // torn log-tail bytes dropped at open
    std::uint64_t wal_syncs = 0;         // fdatasyncs of the log that succeeded
    std::uint64_t wal_sync_failures = 0; // and that failed
    std::uint64_t adjacency_entries = 0;  // 2 per edge
    std::uint64_t adjacency_capacity = 0; // room in the adjacency vectors
    std::uint64_t interner_bytes = 0;
    std::uint64_t flow_pairs = 0;         // location pairs in the flow table
    std::uint64_t hubs = 0;               // vertices keeping their neighbour order
    std::uint64_t hub_entries = 0;        // entries of those orders
    std::uint64_t kind_list_entries = 0;  // room in the per-kind vertex lists
    std::uint64_t last_seal_us = 0;  // writers held back by the last compacting snapshot's seal
  };
  stats statistics();

  struct impl;

private:
  explicit memory_store(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace tlflow
