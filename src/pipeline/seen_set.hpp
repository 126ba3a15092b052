// The set of platform post ids already ingested: de-duplication that
// survives a restart.
//
// A post id ("twitter:1790000000000000001") is kept as a 64-bit hash, not as
// text: 8 bytes in the file, ~16 bytes in memory (open addressing, load factor
// at most 1/2). Two distinct ids collide with probability 2^-64; among n ids
// the chance that any pair collides is about n^2 / 2^65: 3e-8 for a million
// posts, 3e-4 for a hundred million. A collision makes one post look already
// seen, so its interactions would be skipped — the error can only under-count,
// never double-count.
//
// Persistence: `<data_dir>/seen_posts.bin`, append-only, one little-endian
// uint64 per post, loaded at open. Appends are flushed (write + fdatasync) by
// commit() after the batch that introduced the ids has been applied to the
// store, so a crash between apply and commit can re-apply at most that one
// batch on replay (documented in docs/ingestion.md). A failed or short append
// (disk full) is cut back to the last whole record and retried by the next
// commit, so records stay 8-byte aligned; a torn final record left by a crash
// is cut off at open.
//
// Not thread-safe: owned by the pipeline's single writer thread.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tlflow/error.hpp"

namespace tlflow {

// FNV-1a over the bytes, finished with the MurmurHash3 64-bit mixer so that
// near-identical numeric ids spread over the whole table.
std::uint64_t post_id_hash(std::string_view id) noexcept;

class seen_set {
public:
  seen_set();
  ~seen_set();
  seen_set(const seen_set&) = delete;
  seen_set& operator=(const seen_set&) = delete;

  // Loads `path` (if it exists) and keeps it open for appending. An empty path
  // keeps the set in memory only (ephemeral mode). io_error.
  status open(const std::string& path);

  // True if the hash was absent and is now inserted (pending until commit()).
  bool insert(std::uint64_t h);
  bool contains(std::uint64_t h) const noexcept;

  // Forgets the inserts since the last commit (their batch failed to apply).
  void rollback();
  // Appends the inserts since the last commit to the file and flushes them to
  // the disk. io_error; the inserts then stay pending for the next commit.
  status commit();

  std::size_t size() const noexcept { return size_; }

private:
  void grow();
  bool insert_raw(std::uint64_t h);
  void erase_raw(std::uint64_t h);

  std::vector<std::uint64_t> slots_; // 0 = empty; a hash of 0 is stored as 1
  std::size_t size_ = 0;
  std::vector<std::uint64_t> pending_;
  int fd_ = -1;
  std::string path_;
  std::uint64_t committed_bytes_ = 0; // the file's length after the last good commit
};

} // namespace tlflow
