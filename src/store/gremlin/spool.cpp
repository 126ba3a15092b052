#include "store/gremlin/spool.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "util/log.hpp"

namespace tlflow::gremlin {

namespace {

using graphson::value;

// The data directory may not exist yet on a first start: made as the other
// parts make it; the queue directory itself is private.
bool make_dir(const std::string& d) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(d).parent_path(), ec);
  return ::mkdir(d.c_str(), 0700) == 0 || errno == EEXIST;
}

// Entry file: the script, a NUL byte, the bindings as GraphSON 3.
std::string encode(const script_request& w) {
  return w.script + std::string(1, '\0') + graphson::write(w.bindings, graphson::version::v3);
}

std::optional<script_request> decode(const std::string& bytes) {
  auto nul = bytes.find('\0');
  if (nul == std::string::npos) return std::nullopt;
  auto b = graphson::read(std::string_view(bytes).substr(nul + 1), graphson::version::v3);
  if (!b) return std::nullopt;
  return script_request{bytes.substr(0, nul), std::move(*b)};
}

} // namespace

bool write_spool::write_file_synced(const std::string& path, const std::string& bytes) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  const char* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return false;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  bool ok = sync_(fd, tmp) == 0;
  int saved = errno;
  ::close(fd);
  errno = saved;
  return ok && std::rename(tmp.c_str(), path.c_str()) == 0 && sync_dir(dir_);
}

// The directory's entries (a rename, a new name) reach the disk with an
// fsync of the directory itself.
bool write_spool::sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = sync_(fd, dir) == 0;
  int saved = errno;
  ::close(fd);
  errno = saved;
  return ok;
}

result<std::unique_ptr<write_spool>> write_spool::open(const std::string& dir, std::size_t max_entries,
                                                       sync_fn sync) {
  std::unique_ptr<write_spool> s(new write_spool(dir, max_entries));
  s->sync_ = sync ? std::move(sync) : [](int fd, const std::string&) { return ::fsync(fd); };
  if (dir.empty()) return s;
  if (!make_dir(dir) || !make_dir(dir + "/dead"))
    return error{errc::io_error, "cannot create " + dir + ": " + std::strerror(errno)};
  DIR* d = ::opendir(dir.c_str());
  if (!d) return error{errc::io_error, "cannot read " + dir + ": " + std::strerror(errno)};
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.size() == 25 && n.compare(20, 5, ".gwrq") == 0 &&
        n.find_first_not_of("0123456789") == 20)
      s->seqs_.push_back(std::stoull(n.substr(0, 20)));
  }
  ::closedir(d);
  std::sort(s->seqs_.begin(), s->seqs_.end());
  if (!s->seqs_.empty()) {
    s->next_ = s->seqs_.back() + 1;
    log::info("gremlin", s->seqs_.size(), " queued writes found in ", dir);
  }
  return s;
}

std::string write_spool::path_of(std::uint64_t seq) const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020llu.gwrq", static_cast<unsigned long long>(seq));
  return dir_ + "/" + buf;
}

status write_spool::push(const script_request& w) {
  std::lock_guard<std::mutex> lock(mu_);
  if (seqs_.size() >= max_) return error{errc::store_unavailable, "gremlin write queue is full"};
  std::uint64_t seq = next_++;
  if (dir_.empty()) {
    mem_.push_back(w);
  } else if (!write_file_synced(path_of(seq), encode(w))) {
    return error{errc::io_error, "cannot write the gremlin write queue in " + dir_ + ": " + std::strerror(errno)};
  }
  seqs_.push_back(seq);
  return ok_v;
}

std::optional<script_request> write_spool::front() {
  std::lock_guard<std::mutex> lock(mu_);
  while (!seqs_.empty()) {
    if (dir_.empty()) return mem_.front();
    std::ifstream in(path_of(seqs_.front()), std::ios::binary);
    std::ostringstream os;
    os << in.rdbuf();
    auto w = in ? decode(os.str()) : std::nullopt;
    if (w) return w;
    log::error("gremlin", "unreadable queued write ", path_of(seqs_.front()), "; set aside");
    std::rename(path_of(seqs_.front()).c_str(), (path_of(seqs_.front()) + ".bad").c_str());
    seqs_.pop_front();
  }
  return std::nullopt;
}

void write_spool::pop() {
  std::lock_guard<std::mutex> lock(mu_);
  if (seqs_.empty()) return;
  if (dir_.empty()) mem_.pop_front();
  else ::unlink(path_of(seqs_.front()).c_str());
  seqs_.pop_front();
}

void write_spool::pop_to_dead_letter() {
  std::lock_guard<std::mutex> lock(mu_);
  if (seqs_.empty()) return;
  if (dir_.empty()) {
    mem_.pop_front();
  } else {
    std::string from = path_of(seqs_.front());
    std::string to = dir_ + "/dead/" + from.substr(dir_.size() + 1);
    // Both directories change; if the rename is lost, the entry is sent
    // again on the next start and set aside again.
    if (std::rename(from.c_str(), to.c_str()) == 0) {
      sync_dir(dir_ + "/dead");
      sync_dir(dir_);
    }
  }
  seqs_.pop_front();
}

std::size_t write_spool::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return seqs_.size();
}

} // namespace tlflow::gremlin
