#include "support/service_process.hpp"
#include "support/test_tls.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace tlflow::test {
namespace {

std::string lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}


} // namespace

bool parse_reply(const std::string& data, bool at_eof, http_reply& out) {
  const std::size_t head_end = data.find("\r\n\r\n");
  if (head_end == std::string::npos) return false;
  std::istringstream head(data.substr(0, head_end));
  std::string line;
  std::getline(head, line);
  http_reply r;
  if (line.rfind("HTTP/1.", 0) != 0 || line.size() < 12) return at_eof;
  r.status = std::atoi(line.c_str() + 9);
  std::optional<std::size_t> length;
  bool chunked = false;
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = lower(line.substr(0, colon));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    if (name == "content-length") length = std::strtoull(value.c_str(), nullptr, 10);
    if (name == "transfer-encoding" && lower(value).find("chunked") != std::string::npos) chunked = true;
    r.headers.emplace_back(std::move(name), std::move(value));
  }
  const std::size_t body_start = head_end + 4;
  if (chunked) {
    std::size_t pos = body_start;
    std::string body;
    while (true) {
      const std::size_t eol = data.find("\r\n", pos);
      if (eol == std::string::npos) return false;
      const std::size_t n = std::strtoull(data.substr(pos, eol - pos).c_str(), nullptr, 16);
      if (n == 0) break;
      if (data.size() < eol + 2 + n + 2) return false;
      body += data.substr(eol + 2, n);
      pos = eol + 2 + n + 2;
    }
    r.body = std::move(body);
  } else if (length) {
    if (data.size() < body_start + *length) return false;
    r.body = data.substr(body_start, *length);
  } else {
    if (!at_eof) return false;
    r.body = data.substr(body_start);
  }
  out = std::move(r);
  return true;
}

std::optional<std::string> http_reply::header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return std::nullopt;
}

http_reply send_raw(std::uint16_t port, const std::string& raw, int timeout_ms) {
  http_reply reply;
  const int fd = connect_loopback(port, timeout_ms);
  if (fd < 0) return reply;
  std::size_t sent = 0;
  while (sent < raw.size()) {
    const ssize_t n = ::send(fd, raw.data() + sent, raw.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer and close before reading it all
    sent += static_cast<std::size_t>(n);
  }
  std::string data;
  char buf[65536];
  while (true) {
    if (parse_reply(data, false, reply)) break;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      parse_reply(data, true, reply);
      break;
    }
    data.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return reply;
}

http_reply http_request(std::uint16_t port, const std::string& method, const std::string& target,
                        const std::string& body, const header_pairs& headers,
                        const std::string& content_type) {
  std::string raw = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" +
                    std::to_string(port) + "\r\nConnection: close\r\n";
  bool has_type = false;
  for (const auto& [k, v] : headers) {
    raw += k + ": " + v + "\r\n";
    if (lower(k) == "content-type") has_type = true;
  }
  if (!body.empty()) {
    if (!has_type && !content_type.empty()) raw += "Content-Type: " + content_type + "\r\n";
    raw += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  } else if (method == "POST" || method == "PUT") {
    raw += "Content-Length: 0\r\n";
  }
  raw += "\r\n" + body;
  return send_raw(port, raw);
}

std::string pct(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

int connect_loopback(std::uint16_t port, int timeout_ms) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

namespace {

std::vector<std::string> child_environment(const header_pairs& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string kv = *e;
    // The tests decide the configuration; nothing leaks in from the caller.
    if (kv.rfind("TLFLOW_", 0) == 0 || kv.rfind("PORT=", 0) == 0) continue;
    env.push_back(kv);
  }
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  return env;
}

pid_t spawn(const std::vector<std::string>& args, const header_pairs& env_extra,
            const std::string& out_path, bool merge_stdout) {
  std::vector<std::string> env = child_environment(env_extra);
  std::vector<char*> argv;
  // TLFLOW_TEST_BINARY runs the tests against another build (an older one,
  // to see a test fail without the change it tests).
  const char* other = std::getenv("TLFLOW_TEST_BINARY");
  std::string binary = other != nullptr && *other != '\0' ? other : TLFLOW_BINARY;
  argv.push_back(binary.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
      ::dup2(fd, 2);
      if (merge_stdout) ::dup2(fd, 1);
    }
    // Nothing else of the test process: an inherited listening socket (a
    // test server's) would keep its port accepting after the test stops it.
    ::close_range(3, ~0U, 0);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  return pid;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace

service_process::service_process(options o) : options_(std::move(o)) {
  data_dir_ = options_.data_dir.empty() ? root_.path() + "/data" : options_.data_dir;
  stderr_path_ = root_.path() + "/stderr.log";
}

service_process::~service_process() {
  if (pid_ > 0) kill();
}

bool service_process::start() {
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = free_port();
    // A test may bind elsewhere (`--host 0.0.0.0` in its args); it still
    // talks to 127.0.0.1 only.
    const bool own_host =
        std::find(options_.args.begin(), options_.args.end(), "--host") != options_.args.end();
    std::vector<std::string> args = {"--port", std::to_string(port_), "--data-dir", data_dir_,
                                     "--http-threads", "2"};
    if (!own_host) args.insert(args.begin(), {"--host", "127.0.0.1"});
    args.insert(args.end(), options_.args.begin(), options_.args.end());
    pid_ = spawn(args, options_.env, stderr_path_, false);
    if (pid_ < 0) return false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      int wstatus = 0;
      if (::waitpid(pid_, &wstatus, WNOHANG) == pid_) {
        pid_ = -1;
        break;  // exited: maybe the port was taken meanwhile; try another
      }
      const int status = tls_ca_file_.empty() ? http_request(port_, "GET", "/status").status
                                              : https_request(port_, tls_ca_file_, "GET", "/status").status;
      if (status == 200) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (pid_ > 0) {
      kill();
      return false;
    }
  }
  return false;
}

int service_process::terminate() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int wstatus = 0;
  ::waitpid(pid_, &wstatus, 0);
  pid_ = -1;
  return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
}

void service_process::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int wstatus = 0;
  ::waitpid(pid_, &wstatus, 0);
  pid_ = -1;
}

std::string service_process::stderr_text() const { return read_file(stderr_path_); }

std::pair<int, std::string> run_tlflow(const std::vector<std::string>& args, const header_pairs& env) {
  temp_dir dir;
  const std::string out = dir.path() + "/out.log";
  const pid_t pid = spawn(args, env, out, true);
  int wstatus = 0;
  ::waitpid(pid, &wstatus, 0);
  return {WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1, read_file(out)};
}

} // namespace tlflow::test
