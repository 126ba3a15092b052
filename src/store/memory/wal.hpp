// Files of a durable MemoryStore (docs/memory-store.md, "Files"):
//   LOCK                      flock()ed while a process has the store open
//   snapshot.bin              the graph as of sequence number S
//   snapshot.bin.tmp          a snapshot being written (ignored, removed)
//   wal-<first seq>.log       log segments: records with seq > S are replayed
// A log record is  u32 length | u32 crc32(payload) | payload, and a payload
// starts with its u64 sequence number.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tlflow/error.hpp"

namespace tlflow::mem {

std::uint32_t crc32_of(std::string_view data, std::uint32_t crc = 0) noexcept;

// An open file descriptor shared between the writer and the fsync thread.
class fd_holder {
public:
  explicit fd_holder(int fd) noexcept : fd_(fd) {}
  ~fd_holder();
  fd_holder(const fd_holder&) = delete;
  fd_holder& operator=(const fd_holder&) = delete;
  int get() const noexcept { return fd_; }
private:
  int fd_;
};

// How the log reaches the disk: called with the descriptor to flush and the
// highest sequence number the flush covers; returns 0 or -1 with errno set
// (fdatasync's contract). Tests inject one to count flushes or to fail them.
using wal_sync_function = std::function<int(int fd, std::uint64_t upto_seq)>;

// Largest log record payload, enforced by the writer and the reader alike.
constexpr std::uint32_t default_max_record = 1u << 30;

// Appends records to the current log segment and makes them durable by group
// commit (docs/memory-store.md, "Group commit"). append() is not thread-safe
// (the store's exclusive lock serialises appends); wait_durable(), sync() and
// the accessors may run concurrently with it and with each other.
class wal_writer {
public:
  wal_writer();
  void set_sync_function(wal_sync_function f) { sync_fn_ = std::move(f); }
  void set_max_record(std::uint32_t bytes) noexcept { max_record_ = bytes; }
  // Told the outcome of every flush (metrics); called without the lock.
  void set_flush_observer(std::function<void(bool ok)> f) { observer_ = std::move(f); }
  // The sequence number the log starts after (the last one recovered).
  void start_at(std::uint64_t seq);
  // Opens (creating, appending) `dir/wal-<first_seq>.log`; what was appended
  // to the previous segment is made durable first.
  status open_segment(const std::string& dir, std::uint64_t first_seq);
  // The same without waiting for the disk (a snapshot seals the log while
  // writers wait): the previous segment's last records and the new file's
  // directory entry are flushed by the next flush, before it counts anything
  // as durable.
  status rotate(const std::string& dir, std::uint64_t first_seq);
  // Writes record `seq` with write(2). On failure the segment is cut back to
  // its previous length so that no torn record stays in the middle of it:
  // store_unavailable (payload_too_large past the record limit).
  status append(std::string_view payload, std::uint64_t seq);
  // Returns once an fdatasync that started after record `seq` was written
  // has succeeded. The first waiter to find no flush running flushes for
  // everyone appended so far; the others wait for it. store_unavailable when
  // the flush covering `seq` failed.
  status wait_durable(std::uint64_t seq);
  // Flushes everything appended so far (the interval mode's timer, close).
  status sync() { return wait_durable(written_seq()); }
  // After a failed flush: false until a later flush succeeds.
  bool healthy() const;
  // Tries one flush if the last one failed; ok once the log is healthy again.
  status recover_from_failure();
  std::uint64_t segment_bytes() const noexcept { return bytes_; }
  std::uint64_t written_seq() const;
  std::uint64_t synced_seq() const;
  std::uint64_t sync_count() const;
  std::uint64_t sync_failures() const;
  std::string last_failure() const;
  void close();

private:
  status flush_as_leader(std::unique_lock<std::mutex>& lock);

  wal_sync_function sync_fn_;
  std::function<void(bool)> observer_;
  std::uint32_t max_record_ = default_max_record;
  mutable std::mutex mutex_; // guards everything below but bytes_ and frame_
  std::condition_variable flushed_;
  std::shared_ptr<fd_holder> fd_;
  std::vector<std::shared_ptr<fd_holder>> retired_; // rotated away, not yet flushed
  std::string dir_to_sync_;                         // holds a segment created by rotate()
  std::uint64_t written_ = 0;  // last sequence number appended
  std::uint64_t synced_ = 0;   // last sequence number known on disk
  bool flushing_ = false;      // a leader is in fdatasync
  bool failed_ = false;        // the last flush failed
  std::uint64_t failures_ = 0; // flushes that failed; also a failure epoch
  std::uint64_t syncs_ = 0;    // flushes that succeeded
  std::string failure_;        // errno text of the last failure
  std::uint64_t bytes_ = 0;
  std::string frame_;
};

std::string segment_name(std::uint64_t first_seq);
// Segments in `dir`, sorted by their first sequence number.
struct segment_file {
  std::uint64_t first_seq;
  std::string path;
};
std::vector<segment_file> list_segments(const std::string& dir);

// A record frame at `pos` of `data` whose length is within `max_record` and
// whose CRC matches; its payload, which starts with a u64 sequence number.
std::optional<std::string_view> frame_at(std::string_view data, std::size_t pos,
                                         std::uint32_t max_record);
// The first offset after `from` where an intact frame starts (resynchronising
// on record headers after damage), or npos.
std::size_t next_frame(std::string_view data, std::size_t from, std::uint32_t max_record);
std::uint64_t payload_seq(std::string_view payload);

// Whole-file helpers. All return io_error with errno text on failure.
status make_dirs(const std::string& dir);
status fsync_dir(const std::string& dir);
status truncate_file(const std::string& path, std::uint64_t size);
status read_file(const std::string& path, std::string& out);
bool file_exists(const std::string& path);

// Buffered writer for snapshot files: write(2) in large chunks, running CRC.
// The file is removed again unless finish() succeeded.
class file_sink {
public:
  // crc_trailer: finish() appends the CRC-32 of everything written.
  status open(const std::string& path, bool crc_trailer = true);
  status write(std::string_view data);
  // Appends the CRC (if asked for), fsyncs and closes.
  status finish();
  ~file_sink();
private:
  status flush();
  int fd_ = -1;
  std::string buf_;
  std::uint32_t crc_ = 0;
  bool failed_ = false;
  bool finished_ = false;
  bool crc_trailer_ = true;
  std::string path_;
};

// Exclusive, advisory lock on `dir/LOCK` for the life of the object.
class dir_lock {
public:
  status acquire(const std::string& dir);
  ~dir_lock();
private:
  int fd_ = -1;
};

} // namespace tlflow::mem
