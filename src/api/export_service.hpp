// api/export_service.hpp — exports of a slice (docs/analytics.md, "Exports"):
// streamed to the client (GET /export) or written to a file by a job
// (POST /exports).
//
// Both run graph_store::scan on a thread of their own; a streamed export
// hands the server pieces of at most 64 KiB and holds at most 256 KiB of
// them besides one scan chunk's text (the server asks for the next piece
// only after the previous one was written to the socket), so memory does
// not grow with the graph. A job
// writes `<dir>/<id>.<ext>` (`.part` until done) and keeps its record in
// `<dir>/<id>.record` (JSON), written atomically at every change of state; opening
// the service reads the records back, marking jobs that were queued or
// running failed ("interrupted by restart").
//
// Thread safety: every method may be called from any thread. close() (or
// the destructor) cancels what runs and joins every thread; it must be
// called before the store is closed.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/export_format.hpp"
#include "api/router.hpp"
#include "tlflow/graph_store.hpp"

namespace tlflow::api {

// include=: analytics attributes of the accounts.
struct export_include {
  bool pagerank = false;
  bool community = false;
  bool any() const noexcept { return pagerank || community; }
  std::string text() const;                 // "pagerank,community", "" for none
  static export_include parse(std::string_view text); // unknown names ignored
};

// The analytics attributes of a slice's accounts; errors as the analytics
// give them (too_expensive past their size cap).
using extras_provider = std::function<result<std::shared_ptr<const vertex_extras>>(
    const slice& s, const export_include& include)>;

struct export_options {
  // Where job files and records live. Empty: a temporary directory removed
  // by close() (ephemeral service: no job survives a restart).
  std::string dir;
  std::size_t max_running = 2;        // jobs running at once; more wait, queued
  std::size_t max_queued = 16;        // waiting jobs; more are refused (429)
  std::size_t max_streams = 4;        // streamed exports at once; more are refused (429)
  std::chrono::seconds retention{86400}; // finished jobs are removed this long after
  // Streamed exports of a store holding more edges are refused (422) and
  // pointed to jobs; 0: no limit.
  std::uint64_t stream_edge_limit = 0;
  // Empty: include= is refused (invalid_argument).
  extras_provider extras;
};

enum class job_state { queued, running, done, failed, cancelled };
std::string_view to_string(job_state s);

struct export_job {
  std::string id;                     // 32 hex digits, 128 random bits
  export_format format = export_format::graphml;
  std::string query;                  // the slice as slice_query writes it
  export_include include;
  job_state state = job_state::queued;
  std::uint64_t items = 0;            // vertices + edges written
  std::uint64_t total = 0;            // estimate: the store's vertices + edges at the start
  std::uint64_t bytes = 0;            // file size when done
  std::string created;                // ISO-8601 UTC
  std::string finished;               // when it reached a final state
  std::int64_t finished_at = 0;       // seconds since the epoch, for retention
  std::string error;                  // why it failed

  double progress() const;            // 0..1; 1 exactly when done
  std::string file_name() const;      // tlflow-export-<id>.<ext>
};

class export_service {
public:
  export_service(graph_store& store, export_options options);
  ~export_service();
  export_service(const export_service&) = delete;
  export_service& operator=(const export_service&) = delete;

  // Creates the directory, reads the records back, starts the job threads.
  status open();
  void close();

  // A streamed export of `s`. throttled (too many at once), too_expensive
  // (stream_edge_limit).
  result<std::shared_ptr<body_producer>> stream(export_format f, const slice& s,
                                                const export_include& include = {});

  // Queues a job. throttled when max_queued jobs wait.
  result<export_job> start(export_format f, const slice& s, const export_include& include = {});
  // not_found for an unknown (or expired) id.
  result<export_job> get(const std::string& id);
  // The finished file. not_found; conflict when the job is not done.
  result<std::string> file_path(const std::string& id);
  // Cancels a queued or running job (its record, state cancelled, stays
  // until retention) or removes a finished one with its file (nullopt).
  result<std::optional<export_job>> remove(const std::string& id);

  // Removes jobs finished more than `retention` ago (also run every few
  // seconds by the housekeeping thread).
  void sweep();

  const export_options& options() const noexcept { return options_; }

private:
  struct entry {
    export_job job;
    std::shared_ptr<std::atomic<bool>> cancel = std::make_shared<std::atomic<bool>>(false);
  };
  class stream_producer;
  class file_sink;

  void run_jobs();
  void housekeeping();
  void run_one(const std::string& id);
  status save(const export_job& job);   // under mu_ or with a copy
  std::string path_of(const export_job& job, bool part) const;
  void erase_files(const export_job& job);
  void reap_streams();

  graph_store& store_;
  export_options options_;
  bool temporary_dir_ = false;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool opened_ = false;
  std::map<std::string, entry> jobs_;
  std::deque<std::string> queue_;
  std::vector<std::thread> workers_;
  std::thread housekeeper_;

  struct stream_thread {
    std::thread thread;
    std::shared_ptr<stream_producer> producer;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::list<stream_thread> streams_;
};

} // namespace tlflow::api
