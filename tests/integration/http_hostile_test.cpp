// Hostile and unusual HTTP clients against the real binary on loopback:
// header and chunk floods, slow connections, descriptor exhaustion, and the
// HTTP/1.1 corners (TRACE, HEAD, OPTIONS, Expect: 100-continue, malformed
// request lines). Each case is bounded in time; memory and CPU are read from
// /proc/<pid> of the service.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "support/api_client.hpp"
#include "support/service_process.hpp"

using namespace tlflow::test;
using clock_type = std::chrono::steady_clock;

namespace {

long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

// utime + stime of a process, in clock ticks.
long cpu_ticks(pid_t pid) {
  std::ostringstream read;
  read << std::ifstream("/proc/" + std::to_string(pid) + "/stat").rdbuf();
  const std::string all = read.str();
  std::istringstream rest(all.substr(all.rfind(')') + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; rest >> field; ++i) {  // field 3 is the state
    if (i == 14) utime = std::atol(field.c_str());
    if (i == 15) {
      stime = std::atol(field.c_str());
      break;
    }
  }
  return utime + stime;
}

long ms_since(clock_type::time_point t0) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t0).count());
}

// A raw, non-blocking loopback connection.
class conn {
public:
  explicit conn(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
    if (fd_ >= 0) ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
  }
  ~conn() {
    if (fd_ >= 0) ::close(fd_);
  }
  conn(const conn&) = delete;
  conn& operator=(const conn&) = delete;

  bool ok() const { return fd_ >= 0; }
  // Sends what the socket takes now; false once the peer is gone.
  bool send_some(const std::string& data, std::size_t* sent = nullptr) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
    if (sent != nullptr) *sent = static_cast<std::size_t>(n);
    return true;
  }
  // Sends all of `data` within `timeout_ms`.
  bool send_all(const std::string& data, int timeout_ms = 2000) {
    std::size_t pos = 0;
    const auto t0 = clock_type::now();
    while (pos < data.size() && ms_since(t0) < timeout_ms) {
      std::size_t n = 0;
      if (!send_some(data.substr(pos), &n)) return false;
      pos += n;
      if (n == 0) wait(POLLOUT, 10);
    }
    return pos == data.size();
  }
  // Reads what is there; false when the peer closed (or reset).
  bool pump() {
    char buf[65536];
    while (true) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        in_.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
      closed_ = true;
      return false;
    }
  }
  // Reads until `pred(in)` holds, the peer closes, or the time is up.
  template <class Pred>
  void read_until(Pred pred, int timeout_ms) {
    const auto t0 = clock_type::now();
    while (!pred(in_) && ms_since(t0) < timeout_ms) {
      wait(POLLIN, 20);
      if (!pump()) {
        closed_ = true;
        return;
      }
    }
  }
  void read_to_close(int timeout_ms) {
    read_until([](const std::string&) { return false; }, timeout_ms);
  }
  const std::string& in() const { return in_; }
  bool closed() const { return closed_; }
  int status() const { return in_.rfind("HTTP/1.", 0) == 0 ? std::atoi(in_.c_str() + 9) : 0; }
  void wait(short events, int ms) {
    pollfd p{fd_, events, 0};
    ::poll(&p, 1, ms);
  }

private:
  int fd_ = -1;
  std::string in_;
  bool closed_ = false;
};

bool has_head(const std::string& s) { return s.find("\r\n\r\n") != std::string::npos; }

// The body of the first response in `raw` (by Content-Length).
http_reply first_reply(const std::string& raw) {
  http_reply r;
  const auto end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || end == std::string::npos) return r;
  r.status = std::atoi(raw.c_str() + 9);
  std::istringstream head(raw.substr(0, end));
  std::string line;
  std::getline(head, line);
  std::size_t length = 0;
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    if (name == "content-length") length = std::strtoull(value.c_str(), nullptr, 10);
    r.headers.emplace_back(name, value);
  }
  r.body = raw.substr(end + 4, length);
  return r;
}

service_process& svc() {
  static service_process s({{"--ephemeral"}, {}, {}});
  static const bool started = s.start();
  if (!started) FAIL("tlflow did not start: " << s.stderr_text());
  return s;
}

} // namespace

TEST_CASE("header flood: 431 or closed, memory bounded") {
  const long before = rss_kib(svc().pid());
  conn c(svc().port());
  REQUIRE(c.ok());
  REQUIRE(c.send_all("GET /status HTTP/1.1\r\nHost: x\r\n"));
  const std::string line = "X-Flood: " + std::string(1000, 'a') + "\r\n";
  const auto t0 = clock_type::now();
  std::size_t sent = 0;
  while (ms_since(t0) < 2000 && !c.closed() && c.in().empty()) {
    std::size_t n = 0;
    if (!c.send_some(line, &n)) break;
    sent += n;
    if (!c.pump()) break;
    if (n == 0) c.wait(POLLIN | POLLOUT, 10);
  }
  c.read_until(has_head, 1000);
  INFO("sent " << sent << " bytes in " << ms_since(t0) << " ms; got " << c.in().substr(0, 200));
  CHECK(ms_since(t0) < 2500);
  CHECK((c.status() == 431 || c.closed()));
  if (c.status() != 0) expect_error(first_reply(c.in()), 431, "header_too_large");
  CHECK(rss_kib(svc().pid()) - before < 16 * 1024);
  // A large header sent at once gets the JSON 431 too.
  auto r = send_raw(svc().port(), "GET /status HTTP/1.1\r\nHost: x\r\nX-Big: " +
                                      std::string(20000, 'b') + "\r\n\r\n",
                    3000);
  expect_error(r, 431, "header_too_large");
  CHECK(svc().get("/status").status == 200);
}

TEST_CASE("chunked flood with chunk size 7ffffff0: 413 and close within 1 s") {
  const long before = rss_kib(svc().pid());
  conn c(svc().port());
  REQUIRE(c.ok());
  REQUIRE(c.send_all("POST /edges HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n7ffffff0\r\n"));
  const std::string data(64 * 1024, 'z');
  const auto t0 = clock_type::now();
  long answered_ms = -1;
  while (ms_since(t0) < 3000 && !c.closed()) {
    std::size_t n = 0;
    const bool sending = c.send_some(data, &n);
    const bool open = c.pump();
    if (answered_ms < 0 && has_head(c.in())) answered_ms = ms_since(t0);
    if (!sending || !open) break;
    if (n == 0) c.wait(POLLIN | POLLOUT, 10);
  }
  c.read_to_close(1500);
  if (answered_ms < 0 && has_head(c.in())) answered_ms = ms_since(t0);
  const long closed_ms = ms_since(t0);
  INFO("answered after " << answered_ms << " ms, closed after " << closed_ms << " ms");
  expect_error(first_reply(c.in()), 413, "payload_too_large");
  CHECK(answered_ms >= 0);
  CHECK(answered_ms < 1000);
  CHECK(c.closed());
  CHECK(closed_ms < 2000);
  CHECK(rss_kib(svc().pid()) - before < 16 * 1024);
  CHECK(svc().get("/status").status == 200);
}

TEST_CASE("TRACE and CONNECT are 405 JSON and never echo the request") {
  for (const char* method : {"TRACE", "CONNECT", "BREW"}) {
    INFO(method);
    auto r = send_raw(svc().port(),
                      std::string(method) +
                          " /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                          "Authorization: Bearer s3cret-token-value\r\nX-Secret: hidden-value\r\n\r\n");
    expect_error(r, 405, "method_not_allowed");
    CHECK(r.body.find("s3cret") == std::string::npos);
    CHECK(r.body.find("hidden-value") == std::string::npos);
    CHECK(r.header("allow").has_value());
  }
}

TEST_CASE("HEAD gives the GET headers without a body") {
  auto get = svc().get("/vertices/count");
  REQUIRE(get.status == 200);
  conn c(svc().port());
  REQUIRE(c.ok());
  REQUIRE(c.send_all("HEAD /vertices/count HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  c.read_to_close(3000);
  CHECK(c.closed());
  const auto r = first_reply(c.in());
  CHECK(r.status == 200);
  CHECK(r.header("content-length").value_or("") == std::to_string(get.body.size()));
  CHECK(r.header("content-type") == get.header("content-type"));
  CHECK(c.in().substr(c.in().find("\r\n\r\n") + 4).empty());
  // HEAD on a path without GET is 405; on an unknown path 404.
  conn d(svc().port());
  REQUIRE(d.ok());
  REQUIRE(d.send_all("HEAD /edges/a/b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  d.read_to_close(3000);
  CHECK(d.status() == 405);
  CHECK(d.in().substr(d.in().find("\r\n\r\n") + 4).empty());
}

TEST_CASE("OPTIONS is 204 with Allow") {
  auto r = send_raw(svc().port(), "OPTIONS /vertices/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(r.status == 204);
  CHECK(r.header("allow").value_or("") == "GET, HEAD, PUT, DELETE, OPTIONS");
  r = send_raw(svc().port(), "OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(r.status == 204);
  CHECK(r.header("allow").value_or("").find("POST") != std::string::npos);
  expect_error(send_raw(svc().port(), "OPTIONS /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
               404, "not_found");
}

TEST_CASE("Expect: 100-continue is answered") {
  const std::string body = R"({"from":"expect:a","to":"expect:b"})";
  conn c(svc().port());
  REQUIRE(c.ok());
  REQUIRE(c.send_all("POST /edges HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     "Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n"));
  const auto t0 = clock_type::now();
  c.read_until(has_head, 2000);
  CHECK(ms_since(t0) < 1000);
  REQUIRE(c.in().rfind("HTTP/1.1 100", 0) == 0);
  REQUIRE(c.send_all(body));
  c.read_to_close(3000);
  const std::string rest = c.in().substr(c.in().find("\r\n\r\n") + 4);
  CHECK(first_reply(rest).status == 201);

  // Refused before the body: the final error comes at once, no 100.
  conn d(svc().port());
  REQUIRE(d.ok());
  REQUIRE(d.send_all("POST /edges HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "Expect: 100-continue\r\nContent-Length: 99999999\r\n\r\n"));
  d.read_to_close(2000);
  CHECK(d.closed());
  expect_error(first_reply(d.in()), 413, "payload_too_large");
  conn e(svc().port());
  REQUIRE(e.ok());
  REQUIRE(e.send_all("POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "Expect: 100-continue\r\nContent-Length: 10\r\n\r\n"));
  e.read_to_close(2000);
  expect_error(first_reply(e.in()), 404, "not_found");
}

TEST_CASE("bad escapes and malformed requests get the JSON error object") {
  expect_error(svc().get("/vertices/%zz"), 400, "invalid_argument");
  expect_error(svc().get("/paths/%/b"), 400, "invalid_argument");
  for (const std::string& raw : {std::string("GET\r\n\r\n"), std::string("HELLO WORLD\r\n\r\n"),
                                std::string("GET /status HTTP/1.1\r\nBad Header\r\n\r\n"),
                                std::string("GET /status HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"),
                                std::string("\x01\x02 / HTTP/1.1\r\n\r\n")}) {
    INFO(raw);
    expect_error(send_raw(svc().port(), raw, 3000), 400, "invalid_argument");
  }
}

TEST_CASE("keep-alive with pipelined requests answers in order") {
  conn c(svc().port());
  REQUIRE(c.ok());
  REQUIRE(c.send_all("GET /vertices/count HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  c.read_to_close(3000);
  const std::string& all = c.in();
  const auto a = all.find("HTTP/1.1 200");
  const auto b = all.find("HTTP/1.1 404");
  const auto d = all.find("HTTP/1.1 200", b == std::string::npos ? 0 : b);
  CHECK(a == 0);
  CHECK(b != std::string::npos);
  CHECK(d != std::string::npos);
  CHECK(c.closed());
}

TEST_CASE("500 slow connections are closed by the header timeout; /status stays fast") {
  service_process s({{"--ephemeral", "--header-timeout", "2", "--max-connections-per-client", "2000"},
                     {},
                     {}});
  REQUIRE(s.start());
  std::vector<std::unique_ptr<conn>> slow;
  for (int i = 0; i < 500; ++i) {
    slow.push_back(std::make_unique<conn>(s.port()));
    REQUIRE(slow.back()->ok());
    REQUIRE(slow.back()->send_all("GET /status HTTP/1.1\r\nHost: x\r\n"));
  }
  const auto t0 = clock_type::now();
  long worst_ms = 0;
  int probes = 0;
  auto next_line = t0;
  while (ms_since(t0) < 4500) {
    if (clock_type::now() >= next_line) {
      for (auto& c : slow) c->send_some("X-Slow: 1\r\n");
      next_line += std::chrono::seconds(1);
    }
    const auto p0 = clock_type::now();
    const auto r = s.get("/status");
    worst_ms = std::max(worst_ms, ms_since(p0));
    CHECK(r.status == 200);
    ++probes;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  int closed = 0;
  for (auto& c : slow) {
    c->read_to_close(10);
    if (c->closed()) ++closed;
  }
  INFO("probes " << probes << ", slowest /status " << worst_ms << " ms");
  CHECK(closed == 500);
  CHECK(worst_ms < 100);
}

TEST_CASE("descriptor exhaustion: no spinning, serving again once released") {
  service_process s({{"--ephemeral", "--max-connections-per-client", "2000"}, {}, {}});
  REQUIRE(s.start());
  rlimit lim{64, 64};
  REQUIRE(::prlimit(s.pid(), RLIMIT_NOFILE, &lim, nullptr) == 0);
  std::vector<std::unique_ptr<conn>> hog;
  for (int i = 0; i < 120; ++i) {
    hog.push_back(std::make_unique<conn>(s.port()));
    REQUIRE(hog.back()->ok());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const long ticks0 = cpu_ticks(s.pid());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const long used = cpu_ticks(s.pid()) - ticks0;
  const long hz = ::sysconf(_SC_CLK_TCK);
  INFO("CPU over 2 s: " << used << " ticks of " << hz);
  CHECK(used * 10 < hz * 2);  // under 10 % of one core
  hog.clear();
  const auto t0 = clock_type::now();
  int status = 0;
  while (ms_since(t0) < 5000 && status != 200) {
    status = http_request(s.port(), "GET", "/status").status;
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(status == 200);
  const auto metrics = s.get("/metrics");
  CHECK(metrics.body.find("tlflow_http_accept_pauses_total ") != std::string::npos);
  CHECK(metrics.body.find("tlflow_http_accept_pauses_total 0") == std::string::npos);
}

TEST_CASE("connection caps: per client address, answered 503 JSON") {
  service_process s({{"--ephemeral", "--max-connections-per-client", "4"}, {}, {}});
  REQUIRE(s.start());
  // start()'s own probes may still be closing.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::vector<std::unique_ptr<conn>> held;
  for (int i = 0; i < 4; ++i) held.push_back(std::make_unique<conn>(s.port()));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  for (auto& c : held) CHECK(c->pump());  // all four admitted
  auto r = http_request(s.port(), "GET", "/status");
  expect_error(r, 503, "overloaded");
  held.clear();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(http_request(s.port(), "GET", "/status").status == 200);
}

TEST_CASE("idle keep-alive connections are closed after --idle-timeout") {
  service_process s({{"--ephemeral", "--idle-timeout", "1"}, {}, {}});
  REQUIRE(s.start());
  conn c(s.port());
  REQUIRE(c.ok());
  REQUIRE(c.send_all("GET /status HTTP/1.1\r\nHost: x\r\n\r\n"));
  c.read_until(has_head, 2000);
  CHECK(c.status() == 200);
  const auto t0 = clock_type::now();
  c.read_to_close(4000);
  CHECK(c.closed());
  CHECK(ms_since(t0) >= 700);
  CHECK(ms_since(t0) < 2500);
}

TEST_CASE("a path search over --path-budget is 422 too_expensive") {
  service_process s({{"--ephemeral", "--path-budget", "4"}, {}, {}});
  REQUIRE(s.start());
  for (const char* body : {R"({"from":"pb:a","to":"pb:1"})", R"({"from":"pb:1","to":"pb:2"})",
                           R"({"from":"pb:2","to":"pb:3"})", R"({"from":"pb:3","to":"pb:b"})",
                           R"({"from":"pb:1","to":"pb:x"})", R"({"from":"pb:2","to":"pb:y"})"}) {
    REQUIRE(s.request("POST", "/edges", body).status == 201);
  }
  expect_error(s.get("/paths/pb%3Aa/pb%3Ab"), 422, "too_expensive");
  CHECK(s.get("/paths/pb%3Aa/pb%3A1").status == 200);
}

TEST_CASE("a path search beyond the inline attempt's budget is finished on the worker pool") {
  // a - hub - 4,200 leaves, one of which (leaf 4150) knows b: the forward
  // search visits every leaf before the backward one starts, more than the
  // 4,096 vertices the I/O thread's attempt may visit.
  service_process s({{"--ephemeral"}, {}, {}});
  REQUIRE(s.start());
  REQUIRE(s.request("POST", "/edges", R"({"from":"ib:a","to":"ib:hub"})").status == 201);
  for (int i = 0; i < 4200; ++i) {
    const std::string leaf = "ib:" + std::to_string(i);
    REQUIRE(s.request("POST", "/edges", R"({"from":"ib:hub","to":")" + leaf + R"("})").status == 201);
  }
  REQUIRE(s.request("POST", "/edges", R"({"from":"ib:4150","to":"ib:b"})").status == 201);
  auto r = s.get("/paths/ib%3Aa/ib%3Ab");
  REQUIRE(r.status == 200);
  CHECK(r.body == R"({"path":["ib:a","ib:hub","ib:4150","ib:b"],"length":3})");
  r = s.get("/vertices/find_path/ib%3Aa/ib%3Ab");
  CHECK(r.status == 200);
}
