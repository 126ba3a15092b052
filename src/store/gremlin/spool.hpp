// GremlinStore's write queue: scripts (with their bindings) that could not
// reach the server, kept in order until they can. With a directory, every
// entry is a file written (and fsync'ed) before push() returns, so queued
// writes survive a crash or restart; memory holds only the sequence numbers.
// Without one (ephemeral), entries live in memory. Bounded: push() refuses
// with store_unavailable when max_entries are queued (backpressure, no drop).
//
// Thread safety: all methods are safe to call concurrently.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "store/gremlin/scripts.hpp"
#include "tlflow/error.hpp"

namespace tlflow::gremlin {

class write_spool {
public:
  // Creates `dir` if needed and loads what a previous run left there.
  static result<std::unique_ptr<write_spool>> open(const std::string& dir, std::size_t max_entries);

  status push(const script_request& w);
  std::optional<script_request> front();  // nullopt when empty
  void pop();                           // drops the front entry
  void pop_to_dead_letter();            // keeps the front entry aside (dir/dead/), drops it from the queue
  std::size_t size() const;

private:
  write_spool(std::string dir, std::size_t max) : dir_(std::move(dir)), max_(max) {}
  std::string path_of(std::uint64_t seq) const;

  mutable std::mutex mu_;
  std::string dir_;
  std::size_t max_;
  std::deque<std::uint64_t> seqs_;
  std::deque<script_request> mem_; // ephemeral mode only
  std::uint64_t next_ = 1;
};

} // namespace tlflow::gremlin
