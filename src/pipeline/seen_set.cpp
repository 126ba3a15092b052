#include "pipeline/seen_set.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tlflow {

std::uint64_t post_id_hash(std::string_view id) noexcept {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : id) {
    h ^= c;
    h *= 1099511628211ull;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

namespace {
std::uint64_t normalise(std::uint64_t h) noexcept { return h == 0 ? 1 : h; }
} // namespace

seen_set::seen_set() : slots_(1024, 0) {}

seen_set::~seen_set() {
  if (fd_ >= 0) ::close(fd_);
}

status seen_set::open(const std::string& path) {
  if (path.empty()) return ok_v;
  if (std::FILE* in = std::fopen(path.c_str(), "rb")) {
    unsigned char buf[8 * 4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, in)) > 0) {
      for (std::size_t i = 0; i + 8 <= n; i += 8) {
        std::uint64_t h = 0;
        for (int b = 7; b >= 0; --b) h = (h << 8) | buf[i + static_cast<std::size_t>(b)];
        insert_raw(normalise(h));
      }
      if (n % 8 != 0) break; // torn final record: only at the end of the file
    }
    std::fclose(in);
  }
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) return error{errc::io_error, "cannot open " + path + ": " + std::strerror(errno)};
  path_ = path;
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return error{errc::io_error, "cannot stat " + path + ": " + std::strerror(errno)};
  // Cut a torn tail so that later records stay aligned.
  committed_bytes_ = static_cast<std::uint64_t>(st.st_size) / 8 * 8;
  if (committed_bytes_ != static_cast<std::uint64_t>(st.st_size) &&
      ::ftruncate(fd_, static_cast<off_t>(committed_bytes_)) != 0)
    return error{errc::io_error, "cannot repair " + path + ": " + std::strerror(errno)};
  return ok_v;
}

bool seen_set::contains(std::uint64_t h) const noexcept {
  h = normalise(h);
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = h & mask;; i = (i + 1) & mask) {
    if (slots_[i] == h) return true;
    if (slots_[i] == 0) return false;
  }
}

bool seen_set::insert(std::uint64_t h) {
  h = normalise(h);
  if (!insert_raw(h)) return false;
  pending_.push_back(h);
  return true;
}

bool seen_set::insert_raw(std::uint64_t h) {
  if ((size_ + 1) * 2 > slots_.size()) grow();
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = h & mask;; i = (i + 1) & mask) {
    if (slots_[i] == h) return false;
    if (slots_[i] == 0) {
      slots_[i] = h;
      ++size_;
      return true;
    }
  }
}

void seen_set::grow() {
  std::vector<std::uint64_t> old;
  old.swap(slots_);
  slots_.assign(old.size() * 2, 0);
  size_ = 0;
  for (std::uint64_t h : old)
    if (h) insert_raw(h);
}

// Backward-shift deletion keeps linear probing correct without tombstones.
void seen_set::erase_raw(std::uint64_t h) {
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = h & mask;
  while (slots_[i] != h) {
    if (slots_[i] == 0) return;
    i = (i + 1) & mask;
  }
  slots_[i] = 0;
  --size_;
  for (std::size_t j = (i + 1) & mask; slots_[j] != 0; j = (j + 1) & mask) {
    std::uint64_t v = slots_[j];
    std::size_t home = v & mask;
    // Move v into the hole if the hole lies cyclically in [home, j).
    bool move = (i <= j) ? (home <= i || home > j) : (home <= i && home > j);
    if (move) {
      slots_[i] = v;
      slots_[j] = 0;
      i = j;
    }
  }
}

void seen_set::rollback() {
  for (std::uint64_t h : pending_) erase_raw(h);
  pending_.clear();
}

status seen_set::commit() {
  if (fd_ < 0) {
    pending_.clear();
    return ok_v;
  }
  if (pending_.empty()) return ok_v;
  std::vector<unsigned char> buf(pending_.size() * 8);
  for (std::size_t k = 0; k < pending_.size(); ++k)
    for (int b = 0; b < 8; ++b)
      buf[k * 8 + static_cast<std::size_t>(b)] = static_cast<unsigned char>(pending_[k] >> (8 * b));
  std::size_t done = 0;
  int err = 0;
  while (done < buf.size()) {
    const ssize_t w = ::write(fd_, buf.data() + done, buf.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      err = w < 0 ? errno : EIO;
      break;
    }
    done += static_cast<std::size_t>(w);
  }
  if (err == 0 && ::fdatasync(fd_) != 0) err = errno;
  if (err != 0) {
    // Part of the records may be in the file: cut back to the last good
    // commit so that the retry appends whole, aligned records again.
    if (::ftruncate(fd_, static_cast<off_t>(committed_bytes_)) != 0) { /* open() cuts a torn tail */ }
    return error{errc::io_error, "cannot append to the seen-post file " + path_ + ": " + std::strerror(err)};
  }
  committed_bytes_ += buf.size();
  pending_.clear();
  return ok_v;
}

} // namespace tlflow
