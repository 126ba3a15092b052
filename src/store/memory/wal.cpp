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

constexpr std::uint32_t max_record = 1u << 30;

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

status wal_writer::open_segment(const std::string& dir, std::uint64_t first_seq) {
  const std::string path = dir + "/" + segment_name(first_seq);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return io_err("cannot open log", path);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return io_err("cannot stat log", path, e);
  }
  auto holder = std::make_shared<fd_holder>(fd);
  std::shared_ptr<fd_holder> old;
  bool was_dirty = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    old = std::move(fd_);
    fd_ = std::move(holder);
    was_dirty = dirty_;
    dirty_ = false;
    bytes_ = static_cast<std::uint64_t>(st.st_size);
  }
  if (old && was_dirty) ::fdatasync(old->get());
  return fsync_dir(dir);
}

status wal_writer::append(std::string_view payload, bool fsync_now) {
  std::shared_ptr<fd_holder> fd;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    fd = fd_;
  }
  if (!fd) return error{errc::io_error, "log is closed"};
  frame_.clear();
  bin_writer w;
  w.u32(static_cast<std::uint32_t>(payload.size()));
  w.u32(crc32_of(payload));
  frame_ = std::move(w.buffer());
  frame_.append(payload.data(), payload.size());
  if (!write_all(fd->get(), frame_.data(), frame_.size())) {
    const int e = errno;
    // Cut a partial record off so later records do not follow garbage.
    if (::ftruncate(fd->get(), static_cast<off_t>(bytes_)) != 0) { /* reported below */ }
    return error{errc::io_error, std::string("cannot write log: ") + std::strerror(e)};
  }
  bytes_ += frame_.size();
  if (fsync_now) {
    if (::fdatasync(fd->get()) != 0)
      return error{errc::io_error, std::string("cannot sync log: ") + std::strerror(errno)};
  } else {
    std::lock_guard<std::mutex> lock(mutex_);
    dirty_ = true;
  }
  return ok_v;
}

status wal_writer::sync() {
  std::shared_ptr<fd_holder> fd;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!dirty_ || !fd_) return ok_v;
    dirty_ = false;
    fd = fd_;
  }
  if (::fdatasync(fd->get()) != 0)
    return error{errc::io_error, std::string("cannot sync log: ") + std::strerror(errno)};
  return ok_v;
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
    out.push_back({std::stoull(digits), dir + "/" + name});
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(),
            [](const segment_file& a, const segment_file& b) { return a.first_seq < b.first_seq; });
  return out;
}

std::uint64_t read_segment(const std::string& path, std::uint64_t& file_size,
                           const std::function<bool(std::string_view)>& on_record) {
  std::string data;
  file_size = 0;
  if (!read_file(path, data).ok()) return 0;
  file_size = data.size();
  std::size_t pos = 0;
  while (data.size() - pos >= 8) {
    bin_reader h(std::string_view(data).substr(pos, 8));
    const std::uint32_t len = h.u32();
    const std::uint32_t crc = h.u32();
    if (len > max_record || len > data.size() - pos - 8) break;
    const std::string_view payload(data.data() + pos + 8, len);
    if (crc32_of(payload) != crc) break;
    if (!on_record(payload)) break;
    pos += 8 + len;
  }
  return pos;
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
  out.resize(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t r = ::read(fd, &out[got], out.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
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

status file_sink::open(const std::string& path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) return io_err("cannot create", path);
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
  bin_writer w;
  w.u32(crc_);
  buf_.append(w.buffer());
  if (auto s = flush(); !s) return s;
  if (::fsync(fd_) != 0) return error{errc::io_error, std::string("cannot sync snapshot: ") + std::strerror(errno)};
  const int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) return error{errc::io_error, std::string("cannot close snapshot: ") + std::strerror(errno)};
  return ok_v;
}

file_sink::~file_sink() {
  if (fd_ >= 0) ::close(fd_);
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
