#include "sources/file_source.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "sources/framing.hpp"
#include "util/log.hpp"

namespace tlflow {

file_source::file_source(source_context ctx, std::string path)
    : source_base("file:" + path, std::move(ctx), millis(0)), path_(std::move(path)) {}

file_source::~file_source() { stop(); }

void file_source::start() {
  spawn([this] { run_here(); });
}

bool file_source::run_here() {
  int fd = path_ == "-" ? 0 : ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    on_error("cannot open " + path_ + ": " + std::strerror(errno));
    set_finished();
    return false;
  }
  on_attempt(true);
  on_connected();
  const std::string origin = path_ == "-" ? std::string("stdin") : path_;
  line_splitter lines;
  std::vector<char> buf(1 << 20);
  bool refused = false;
  while (!stopping() && !refused) {
    pollfd p{fd, POLLIN, 0};
    int pr = ::poll(&p, 1, 100);
    if (pr == 0) continue;
    if (pr < 0 && errno == EINTR) continue;
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      on_error("read " + path_ + ": " + std::strerror(errno));
      break;
    }
    if (n == 0) {
      // A last line without a final newline is still a line.
      lines.feed(std::string_view("\n", 1),
                 [&](std::string_view line) {
                   ++lines_;
                   if (!deliver(wire_format::detect, std::string(line), origin)) refused = true;
                 },
                 [&] { on_error("line longer than the limit; discarded"); });
      break;
    }
    on_bytes(static_cast<std::size_t>(n));
    lines.feed(std::string_view(buf.data(), static_cast<std::size_t>(n)),
               [&](std::string_view line) {
                 ++lines_;
                 if (!refused && !deliver(wire_format::detect, std::string(line), origin))
                   refused = true;
               },
               [&] { on_error("line longer than the limit; discarded"); });
  }
  if (fd != 0) ::close(fd);
  on_disconnected();
  set_finished();
  log::info("source", name(), ": finished after ", lines_.load(), " lines");
  return true;
}

} // namespace tlflow
