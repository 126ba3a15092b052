// GremlinStore's write queue: scripts (with their bindings) that could not
// reach the server, kept in order until they can. With a directory, every
// entry is a file written (and fsync'ed) before push() returns, so queued
// writes survive a crash or restart; memory holds only the sequence numbers.
// A file is written under a temporary name and renamed; the rename is a
// change of the directory, which survives a power loss only once the
// directory itself is fsync'ed, so push() (and setting an entry aside) do
// that too. pop()'s unlink is not synced: an entry that comes back after a
// power loss is sent again, and its batch marker makes that a no-op.
// Without one (ephemeral), entries live in memory. Bounded: push() refuses
// with store_unavailable when max_entries are queued (backpressure, no drop).
//
// Thread safety: all methods are safe to call concurrently.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "store/gremlin/scripts.hpp"
#include "tlflow/error.hpp"

namespace tlflow::gremlin {

class write_spool {
public:
  // What flushes a file descriptor to the disk (fsync(2)); `path` names
  // what fd is open on (an entry, or the directory). Replaceable so that a
  // test can see each call and make one fail.
  using sync_fn = std::function<int(int fd, const std::string& path)>;

  // Creates `dir` if needed and loads what a previous run left there.
  static result<std::unique_ptr<write_spool>> open(const std::string& dir, std::size_t max_entries,
                                                   sync_fn sync = {});

  status push(const script_request& w);
  std::optional<script_request> front();  // nullopt when empty
  void pop();                           // drops the front entry
  void pop_to_dead_letter();            // keeps the front entry aside (dir/dead/), drops it from the queue
  std::size_t size() const;

private:
  write_spool(std::string dir, std::size_t max) : dir_(std::move(dir)), max_(max) {}
  std::string path_of(std::uint64_t seq) const;
  bool write_file_synced(const std::string& path, const std::string& bytes);
  bool sync_dir(const std::string& dir);

  mutable std::mutex mu_;
  std::string dir_;
  std::size_t max_;
  std::deque<std::uint64_t> seqs_;
  std::deque<script_request> mem_; // ephemeral mode only
  std::uint64_t next_ = 1;
  sync_fn sync_;
};

} // namespace tlflow::gremlin
