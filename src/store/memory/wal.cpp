#include "store/memory/wal.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "store/memory/codec.hpp"

namespace tlflow::mem {
namespace {

error io_err(const std::string& what, const std::string& path, int err = errno) {
  return error{errc::io_error, what + " " + path + ": " + std::strerror(err)};
}

bool write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// A segment opened (created if absent) for appending, with its size so far.
struct appendable {
  std::shared_ptr<fd_holder> fd;
  std::uint64_t bytes = 0;
};

result<appendable> open_for_append(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return io_err("cannot open log", path);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return io_err("cannot stat log", path, e);
  }
  return appendable{std::make_shared<fd_holder>(fd), static_cast<std::uint64_t>(st.st_size)};
}

} // namespace

std::uint32_t crc32_of(std::string_view data, std::uint32_t crc) noexcept {
  uLong c = crc;
  while (!data.empty()) {
    const auto n = static_cast<uInt>(std::min<std::size_t>(data.size(), 1u << 30));
    c = ::crc32(c, reinterpret_cast<const Bytef*>(data.data()), n);
    data.remove_prefix(n);
  }
  return static_cast<std::uint32_t>(c);
}

fd_holder::~fd_holder() {
  if (fd_ >= 0) ::close(fd_);
}

std::string segment_name(std::uint64_t first_seq) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "wal-%020llu.log", static_cast<unsigned long long>(first_seq));
  return buf;
}

wal_writer::wal_writer()
    : sync_fn_([](int fd, std::uint64_t) { return ::fdatasync(fd); }) {}

void wal_writer::start_at(std::uint64_t seq) {
  std::lock_guard<std::mutex> lock(mutex_);
  written_ = std::max(written_, seq);
  synced_ = std::max(synced_, seq);
}

status wal_writer::open_segment(const std::string& dir, std::uint64_t first_seq) {
  // Rotation happens with appends excluded, so written_ is stable here: flush
  // the old segment first, so that a flush of the new one covers only it.
  if (auto s = sync(); !s) return s;
  const std::string path = dir + "/" + segment_name(first_seq);
  auto opened = open_for_append(path);
  if (!opened) return std::move(opened).err();
  auto holder = std::move(opened->fd);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    fd_ = std::move(holder);
    bytes_ = opened->bytes;
  }
  return fsync_dir(dir);
}

status wal_writer::rotate(const std::string& dir, std::uint64_t first_seq) {
  const std::string path = dir + "/" + segment_name(first_seq);
  auto opened = open_for_append(path);
  if (!opened) return std::move(opened).err();
  auto holder = std::move(opened->fd);
  std::lock_guard<std::mutex> lock(mutex_);
  if (fd_) retired_.push_back(std::move(fd_));
  fd_ = std::move(holder);
  dir_to_sync_ = dir;
  bytes_ = opened->bytes;
  return ok_v;
}

status wal_writer::append(std::string_view payload, std::uint64_t seq) {
  if (payload.size() > max_record_)
    return error{errc::payload_too_large,
                 "a log record of " + std::to_string(payload.size()) + " bytes is over the limit of " +
                     std::to_string(max_record_) + " bytes"};
  std::shared_ptr<fd_holder> fd;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    fd = fd_;
  }
  if (!fd) return error{errc::store_unavailable, "log is closed"};
  bin_writer w;
  w.u32(static_cast<std::uint32_t>(payload.size()));
  w.u32(crc32_of(payload));
  frame_ = std::move(w.buffer());
  frame_.append(payload.data(), payload.size());
  if (!write_all(fd->get(), frame_.data(), frame_.size())) {
    const int e = errno;
    // Cut a partial record off so later records do not follow garbage.
    if (::ftruncate(fd->get(), static_cast<off_t>(bytes_)) != 0) { /* the reader drops a torn tail */ }
    return error{errc::store_unavailable, std::string("cannot write log: ") + std::strerror(e)};
  }
  bytes_ += frame_.size();
  std::lock_guard<std::mutex> lock(mutex_);
  written_ = seq;
  return ok_v;
}

// Called with the lock held and no flush running; returns with the lock held.
status wal_writer::flush_as_leader(std::unique_lock<std::mutex>& lock) {
  flushing_ = true;
  const std::uint64_t target = written_;
  const std::shared_ptr<fd_holder> fd = fd_;
  // After rotate(): the segments rotated away first, then the directory
  // that holds the new one, then the new one.
  std::vector<std::shared_ptr<fd_holder>> retired = std::move(retired_);
  retired_.clear();
  std::string dir = std::move(dir_to_sync_);
  dir_to_sync_.clear();
  lock.unlock();
  int rc = 0;
  int e = 0;
  for (const auto& old : retired) {
    if (rc == 0) {
      rc = sync_fn_(old->get(), target);
      e = errno;
    }
  }
  if (rc == 0 && !dir.empty()) {
    if (auto s = fsync_dir(dir); !s) {
      rc = -1;
      e = EIO;
    }
  }
  if (rc == 0 && fd) {
    rc = sync_fn_(fd->get(), target);
    e = errno;
  }
  if (observer_ && (fd || !retired.empty())) observer_(rc == 0);
  lock.lock();
  flushing_ = false;
  flushed_.notify_all();
  if (rc != 0) {
    // Whatever was not flushed is tried again by the next flush.
    retired_.insert(retired_.begin(), retired.begin(), retired.end());
    if (dir_to_sync_.empty()) dir_to_sync_ = dir;
    failed_ = true;
    ++failures_;
    failure_ = std::strerror(e);
    return error{errc::store_unavailable, "cannot sync log: " + failure_};
  }
  failed_ = false;
  ++syncs_;
  synced_ = std::max(synced_, target);
  return ok_v;
}

status wal_writer::wait_durable(std::uint64_t seq) {
  std::unique_lock<std::mutex> lock(mutex_);
  const std::uint64_t failures_before = failures_;
  while (synced_ < seq) {
    if (failures_ != failures_before)
      return error{errc::store_unavailable, "cannot sync log: " + failure_};
    if (flushing_) {
      flushed_.wait(lock);
      continue;
    }
    if (auto s = flush_as_leader(lock); !s) return s;
  }
  return ok_v;
}

status wal_writer::recover_from_failure() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (flushing_) flushed_.wait(lock);
  if (!failed_) return ok_v;
  return flush_as_leader(lock);
}

bool wal_writer::healthy() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return !failed_;
}

std::uint64_t wal_writer::written_seq() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return written_;
}

std::uint64_t wal_writer::synced_seq() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return synced_;
}

std::uint64_t wal_writer::sync_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return syncs_;
}

std::uint64_t wal_writer::sync_failures() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failures_;
}

std::string wal_writer::last_failure() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failure_;
}

void wal_writer::close() {
  (void)sync();
  std::lock_guard<std::mutex> lock(mutex_);
  fd_.reset();
}

std::vector<segment_file> list_segments(const std::string& dir) {
  std::vector<segment_file> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.size() != 28 || name.compare(0, 4, "wal-") != 0 ||
        name.compare(24, 4, ".log") != 0)
      continue;
    const std::string digits = name.substr(4, 20);
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    std::uint64_t seq = 0;
    bool fits = true;
    for (char c : digits) {
      const auto digit = static_cast<std::uint64_t>(c - '0');
      if (seq > (UINT64_MAX - digit) / 10) fits = false;
      seq = seq * 10 + digit;
    }
    if (fits) out.push_back({seq, dir + "/" + name});
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(),
            [](const segment_file& a, const segment_file& b) { return a.first_seq < b.first_seq; });
  return out;
}

std::optional<std::string_view> frame_at(std::string_view data, std::size_t pos,
                                         std::uint32_t max_record) {
  if (pos > data.size() || data.size() - pos < 8) return std::nullopt;
  bin_reader h(data.substr(pos, 8));
  const std::uint32_t len = h.u32();
  const std::uint32_t crc = h.u32();
  // A payload holds at least its sequence number and operation.
  if (len < 9 || len > max_record || len > data.size() - pos - 8) return std::nullopt;
  const std::string_view payload = data.substr(pos + 8, len);
  if (crc32_of(payload) != crc) return std::nullopt;
  return payload;
}

std::size_t next_frame(std::string_view data, std::size_t from, std::uint32_t max_record) {
  for (std::size_t p = from; p + 8 < data.size(); ++p)
    if (frame_at(data, p, max_record)) return p;
  return std::string_view::npos;
}

std::uint64_t payload_seq(std::string_view payload) {
  bin_reader r(payload.substr(0, 8));
  return r.u64();
}

status make_dirs(const std::string& dir) {
  if (dir.empty()) return error{errc::io_error, "empty data directory"};
  std::string cur;
  std::size_t i = 0;
  while (i <= dir.size()) {
    const std::size_t slash = dir.find('/', i);
    const std::size_t end = slash == std::string::npos ? dir.size() : slash;
    cur = dir.substr(0, end);
    if (!cur.empty() && ::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST)
      return io_err("cannot create directory", cur);
    if (slash == std::string::npos) break;
    i = slash + 1;
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return error{errc::io_error, "not a directory: " + dir};
  return ok_v;
}

status fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_err("cannot open directory", dir);
  const int rc = ::fsync(fd);
  const int e = errno;
  ::close(fd);
  if (rc != 0) return io_err("cannot sync directory", dir, e);
  return ok_v;
}

status truncate_file(const std::string& path, std::uint64_t size) {
  if (::truncate(path.c_str(), static_cast<off_t>(size)) != 0) return io_err("cannot truncate", path);
  return ok_v;
}

status read_file(const std::string& path, std::string& out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_err("cannot open", path);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return io_err("cannot stat", path, e);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return error{errc::io_error, "cannot read " + path + ": not a regular file"};
  }
  out.resize(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t r = ::read(fd, &out[got], out.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      const int e = errno;
      ::close(fd);
      return io_err("cannot read", path, e);
    }
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  ::close(fd);
  out.resize(got);
  return ok_v;
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

status file_sink::open(const std::string& path, bool crc_trailer) {
  crc_trailer_ = crc_trailer;
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) return io_err("cannot create", path);
  path_ = path;
  buf_.reserve(1 << 20);
  return ok_v;
}

status file_sink::write(std::string_view data) {
  if (failed_) return error{errc::io_error, "snapshot write failed"};
  crc_ = crc32_of(data, crc_);
  buf_.append(data.data(), data.size());
  if (buf_.size() >= (1u << 20)) return flush();
  return ok_v;
}

status file_sink::flush() {
  if (!write_all(fd_, buf_.data(), buf_.size())) {
    failed_ = true;
    return error{errc::io_error, std::string("cannot write snapshot: ") + std::strerror(errno)};
  }
  buf_.clear();
  return ok_v;
}

status file_sink::finish() {
  if (failed_) return error{errc::io_error, "snapshot write failed"};
  if (crc_trailer_) {
    bin_writer w;
    w.u32(crc_);
    buf_.append(w.buffer());
  }
  if (auto s = flush(); !s) return s;
  if (::fsync(fd_) != 0) return error{errc::io_error, std::string("cannot sync snapshot: ") + std::strerror(errno)};
  const int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) return error{errc::io_error, std::string("cannot close snapshot: ") + std::strerror(errno)};
  finished_ = true;
  return ok_v;
}

file_sink::~file_sink() {
  if (fd_ >= 0) ::close(fd_);
  // A half-written file (disk full, failed fsync) must not stay behind
  // taking the space that the next attempt needs.
  if (!finished_ && !path_.empty()) ::unlink(path_.c_str());
}

status dir_lock::acquire(const std::string& dir) {
  const std::string path = dir + "/LOCK";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) return io_err("cannot open", path);
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    ::close(fd_);
    fd_ = -1;
    if (e == EWOULDBLOCK) return error{errc::io_error, "data directory " + dir + " is in use by another store"};
    return io_err("cannot lock", path, e);
  }
  return ok_v;
}

dir_lock::~dir_lock() {
  if (fd_ >= 0) ::close(fd_);
}

} // namespace tlflow::mem
