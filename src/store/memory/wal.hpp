// Files of a durable MemoryStore (docs/memory-store.md, "Files"):
//   LOCK                      flock()ed while a process has the store open
//   snapshot.bin              the graph as of sequence number S
//   snapshot.bin.tmp          a snapshot being written (ignored, removed)
//   wal-<first seq>.log       log segments: records with seq > S are replayed
// A log record is  u32 length | u32 crc32(payload) | payload, and a payload
// starts with its u64 sequence number.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
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

// Appends records to the current log segment. Not thread-safe for appends
// (the store's exclusive lock serialises them); sync() may run concurrently.
class wal_writer {
public:
  // Opens (creating, appending) `dir/wal-<first_seq>.log`.
  status open_segment(const std::string& dir, std::uint64_t first_seq);
  // Writes one record with write(2). On failure the segment is cut back to
  // its previous length so that no torn record stays in the middle of it.
  status append(std::string_view payload, bool fsync_now);
  // fdatasync if anything was appended since the last sync.
  status sync();
  std::uint64_t segment_bytes() const noexcept { return bytes_; }
  void close();

private:
  std::mutex mutex_; // guards fd_ (swapped on rotation) and dirty_
  std::shared_ptr<fd_holder> fd_;
  bool dirty_ = false;
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

// Reads the records of one segment, calling `on_record(payload)` for each
// intact one; stops at the first torn or corrupt record (or when on_record
// returns false) and returns the offset of the end of the last good record.
std::uint64_t read_segment(const std::string& path, std::uint64_t& file_size,
                           const std::function<bool(std::string_view)>& on_record);

// Whole-file helpers. All return io_error with errno text on failure.
status make_dirs(const std::string& dir);
status fsync_dir(const std::string& dir);
status truncate_file(const std::string& path, std::uint64_t size);
status read_file(const std::string& path, std::string& out);
bool file_exists(const std::string& path);

// Buffered writer for snapshot files: write(2) in large chunks, running CRC.
class file_sink {
public:
  status open(const std::string& path);
  status write(std::string_view data);
  // Appends the CRC of everything written, fsyncs and closes.
  status finish();
  ~file_sink();
private:
  status flush();
  int fd_ = -1;
  std::string buf_;
  std::uint32_t crc_ = 0;
  bool failed_ = false;
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
