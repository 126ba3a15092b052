#include "stream_server.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <stdexcept>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace tlflow::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

namespace {

std::string decode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 420: return "Enhance Your Calm";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

} // namespace

std::string http_req::param(const std::string& name) const {
  auto v = params(name);
  return v.empty() ? std::string() : v.front();
}

std::vector<std::string> http_req::params(const std::string& name) const {
  std::vector<std::string> out;
  std::string_view q(query);
  while (!q.empty()) {
    auto amp = q.find('&');
    std::string_view kv = q.substr(0, amp);
    auto eq = kv.find('=');
    if (decode(kv.substr(0, eq)) == name)
      out.push_back(eq == std::string_view::npos ? std::string() : decode(kv.substr(eq + 1)));
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

// ------------------------------------------------------------ http_conn

struct http_conn::impl {
  int fd = -1;
  bool closed = false;
  net::io_context ioc;
  std::unique_ptr<websocket::stream<net::ip::tcp::socket>> ws;
  // Once ws_read() was called, a read is always pending (Beast cannot
  // resume a stream after a cancelled read, so there is no polling read).
  bool reading = false;
  beast::flat_buffer rbuf;
  std::deque<std::string> inbox;

  void arm_read() {
    ws->async_read(rbuf, [this](beast::error_code ec, std::size_t) {
      if (ec) {
        closed = true;
        return;
      }
      inbox.push_back(beast::buffers_to_string(rbuf.data()));
      rbuf.consume(rbuf.size());
      arm_read();
    });
  }
  void pump(std::chrono::milliseconds d) {
    if (ioc.stopped()) ioc.restart();
    ioc.run_for(d);
  }
};

http_conn::http_conn(stream_server& s, http_req req, std::unique_ptr<impl> i)
    : server_(s), req_(std::move(req)), impl_(std::move(i)) {}

http_conn::~http_conn() = default;

bool http_conn::stopping() const { return server_.stopping(); }

bool http_conn::write(std::string_view bytes) {
  if (impl_->closed || stopping()) return false;
  return send_all(impl_->fd, bytes);
}

bool http_conn::begin_chunked(int status, const std::string& content_type) {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " + reason(status) +
                     "\r\nContent-Type: " + content_type +
                     "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
  return write(head);
}

bool http_conn::chunk(std::string_view data) {
  if (data.empty()) return true;
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return write(size) && write(data) && write("\r\n");
}

bool http_conn::end_chunked() { return write("0\r\n\r\n"); }

bool http_conn::respond(int status, const std::string& body, const std::string& content_type,
                        const std::vector<std::string>& extra_headers) {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " + reason(status) +
                     "\r\nContent-Type: " + content_type +
                     "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n";
  for (const auto& h : extra_headers) head += h + "\r\n";
  head += "\r\n";
  return write(head) && write(body);
}

void http_conn::drop() {
  if (impl_->closed) return;
  impl_->closed = true;
  linger lg{1, 0};  // RST instead of FIN: the client sees the connection reset
  ::setsockopt(impl_->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  ::shutdown(impl_->fd, SHUT_RDWR);
}

bool http_conn::ws_send(std::string_view text) {
  if (!impl_->ws || impl_->closed || stopping()) return false;
  beast::error_code ec;
  impl_->ws->text(true);
  if (!impl_->reading) {
    impl_->ws->write(net::buffer(text.data(), text.size()), ec);
    return !ec;
  }
  // A read is pending: write asynchronously on the same io_context.
  bool done = false;
  impl_->ws->async_write(net::buffer(text.data(), text.size()), [&](beast::error_code e, std::size_t) {
    ec = e;
    done = true;
  });
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!done && std::chrono::steady_clock::now() < end) impl_->pump(std::chrono::milliseconds(5));
  if (!done) {
    beast::error_code ignored;
    impl_->ws->next_layer().close(ignored);
    while (!done) impl_->pump(std::chrono::milliseconds(5));
    impl_->closed = true;
    return false;
  }
  return !ec;
}

bool http_conn::ws_ping() {
  if (!impl_->ws || impl_->closed || stopping()) return false;
  beast::error_code ec;
  if (!impl_->reading) {
    impl_->ws->ping({}, ec);
    return !ec;
  }
  bool done = false;
  impl_->ws->async_ping({}, [&](beast::error_code e) {
    ec = e;
    done = true;
  });
  while (!done) impl_->pump(std::chrono::milliseconds(5));
  return !ec;
}

bool http_conn::ws_read(std::string& out, std::chrono::milliseconds timeout) {
  if (!impl_->ws) return false;
  if (!impl_->reading && !impl_->closed) {
    impl_->reading = true;
    impl_->arm_read();
  }
  auto end = std::chrono::steady_clock::now() + timeout;
  while (impl_->inbox.empty()) {
    if (impl_->closed || stopping() || std::chrono::steady_clock::now() >= end) return false;
    impl_->pump(std::chrono::milliseconds(5));
  }
  out = std::move(impl_->inbox.front());
  impl_->inbox.pop_front();
  return true;
}

void http_conn::ws_close() {
  if (!impl_->ws || impl_->closed) return;
  beast::error_code ec;
  impl_->ws->close(websocket::close_code::normal, ec);
  impl_->closed = true;
}

bool http_conn::peer_closed() {
  if (impl_->closed) return true;
  if (impl_->reading) {  // the pending read sees the close
    if (impl_->ioc.stopped()) impl_->ioc.restart();
    impl_->ioc.poll();
    return impl_->closed;
  }
  char c;
  ssize_t n = ::recv(impl_->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return true;
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return true;
  if (n > 0 && !impl_->ws) {
    // The client sent more bytes (it should not); drain them.
    char buf[4096];
    (void)::recv(impl_->fd, buf, sizeof buf, MSG_DONTWAIT);
  }
  return false;
}

bool http_conn::sleep(std::chrono::milliseconds d) {
  auto end = std::chrono::steady_clock::now() + d;
  for (;;) {
    if (stopping() || peer_closed()) return false;
    auto now = std::chrono::steady_clock::now();
    if (now >= end) return true;
    auto step = std::min<std::chrono::steady_clock::duration>(end - now, std::chrono::milliseconds(5));
    if (impl_->reading) impl_->pump(std::chrono::duration_cast<std::chrono::milliseconds>(step));
    else std::this_thread::sleep_for(step);
  }
}

// ---------------------------------------------------------- stream_server

stream_server::stream_server() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("socket failed");
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 64) != 0)
    throw std::runtime_error(std::string("bind/listen failed: ") + std::strerror(errno));
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

stream_server::~stream_server() { stop(); }

std::string stream_server::http_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
std::string stream_server::ws_url() const { return "ws://127.0.0.1:" + std::to_string(port_); }

void stream_server::on(const std::string& method, const std::string& path, handler h) {
  std::lock_guard<std::mutex> lock(mutex_);
  handlers_[method + " " + path] = std::move(h);
}

std::vector<http_req> stream_server::requests(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<http_req> out;
  for (const auto& r : log_)
    if (path.empty() || r.path == path) out.push_back(r);
  return out;
}

int stream_server::active(const std::string& path, const std::string& tag) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = active_.find(tag.empty() ? path : path + "?tag=" + tag);
  return it == active_.end() ? 0 : it->second;
}

bool stream_server::wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

void stream_server::stop() {
  if (stopping_.exchange(true)) return;
  ::shutdown(listen_fd_, SHUT_RDWR);
  if (acceptor_.joinable()) acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    threads.swap(threads_);
  }
  for (auto& t : threads)
    if (t.joinable()) t.join();
}

void stream_server::accept_loop() {
  for (;;) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      return;  // shut down
    }
    if (stopping_) {
      ::close(fd);
      return;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::lock_guard<std::mutex> lock(mutex_);
    fds_.push_back(fd);
    threads_.emplace_back([this, fd] { serve(fd); });
  }
}

void stream_server::serve(int fd) {
  // Read the request head (and a Content-Length body).
  std::string data;
  char buf[8192];
  std::size_t head_end = std::string::npos;
  while (head_end == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    int pr = ::poll(&p, 1, 100);
    if (stopping_) break;
    if (pr <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    data.append(buf, static_cast<std::size_t>(n));
    head_end = data.find("\r\n\r\n");
  }
  auto finish = [&] {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      fds_.erase(std::remove(fds_.begin(), fds_.end(), fd), fds_.end());
    }
    ::close(fd);
  };
  if (head_end == std::string::npos) {
    finish();
    return;
  }
  http_req req;
  req.at = std::chrono::steady_clock::now();
  std::string_view head(data.data(), head_end);
  std::size_t line_end = head.find("\r\n");
  std::string_view line = head.substr(0, line_end);
  auto sp1 = line.find(' ');
  auto sp2 = line.find(' ', sp1 + 1);
  req.method = std::string(line.substr(0, sp1));
  req.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  auto qm = req.target.find('?');
  req.path = req.target.substr(0, qm);
  if (qm != std::string::npos) req.query = req.target.substr(qm + 1);
  std::string_view rest = line_end == std::string_view::npos ? std::string_view() : head.substr(line_end + 2);
  while (!rest.empty()) {
    auto e = rest.find("\r\n");
    std::string_view h = rest.substr(0, e);
    auto colon = h.find(':');
    if (colon != std::string_view::npos) {
      std::string name(h.substr(0, colon));
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string_view v = h.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      req.headers[name] = std::string(v);
    }
    if (e == std::string_view::npos) break;
    rest.remove_prefix(e + 2);
  }
  req.body = data.substr(head_end + 4);
  if (auto it = req.headers.find("content-length"); it != req.headers.end()) {
    std::size_t want = std::stoul(it->second);
    while (req.body.size() < want && !stopping_) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      req.body.append(buf, static_cast<std::size_t>(n));
    }
  }
  auto up = req.headers.find("upgrade");
  req.websocket = up != req.headers.end() && (up->second == "websocket" || up->second == "WebSocket");

  handler h;
  const std::string key = (req.websocket ? std::string("WS") : req.method) + " " + req.path;
  const std::string tag = req.param("tag");
  {
    std::lock_guard<std::mutex> lock(mutex_);
    log_.push_back(req);
    if (auto it = handlers_.find(key); it != handlers_.end()) h = it->second;
    else if (auto any = handlers_.find("* " + req.path); any != handlers_.end()) h = any->second;
    ++active_[req.path];
    if (!tag.empty()) ++active_[req.path + "?tag=" + tag];
  }
  auto i = std::make_unique<http_conn::impl>();
  i->fd = fd;
  http_conn conn(*this, req, std::move(i));
  if (req.websocket && h) {
    // Hand the socket to Beast for the upgrade.
    int dupfd = ::dup(fd);
    auto& im = *conn.impl_;
    net::ip::tcp::socket sock(im.ioc);
    beast::error_code ec;
    sock.assign(net::ip::tcp::v4(), dupfd, ec);
    im.ws = std::make_unique<websocket::stream<net::ip::tcp::socket>>(std::move(sock));
    beast::http::request<beast::http::string_body> breq;
    breq.method_string(req.method);
    breq.target(req.target);
    breq.version(11);
    for (const auto& [k, v] : req.headers) breq.set(k, v);
    im.ws->accept(breq, ec);
    if (ec) h = nullptr;
  }
  if (h) {
    try {
      h(conn);
    } catch (...) {
    }
  } else {
    conn.respond(404, "{\"error\":\"Not found\"}");
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    --active_[req.path];
    if (!tag.empty()) --active_[req.path + "?tag=" + tag];
  }
  if (conn.impl_->ws) {
    beast::error_code ec;
    conn.impl_->ws->next_layer().close(ec);
  }
  finish();
}

// ----------------------------------------------------- x_rules_emulator

x_rules_emulator::x_rules_emulator(stream_server& s) {
  const std::string path = "/2/tweets/search/stream/rules";
  s.on("GET", path, [this](http_conn& c) {
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    w.StartObject();
    std::lock_guard<std::mutex> lock(mutex_);
    if (!rules_.empty()) {
      w.Key("data");
      w.StartArray();
      for (const auto& r : rules_) {
        w.StartObject();
        w.Key("id"); w.String(r.id.c_str());
        w.Key("value"); w.String(r.value.c_str());
        if (!r.tag.empty()) { w.Key("tag"); w.String(r.tag.c_str()); }
        w.EndObject();
      }
      w.EndArray();
    }
    w.Key("meta");
    w.StartObject();
    w.Key("sent"); w.String("2024-05-13T10:00:00.000Z");
    w.Key("result_count"); w.Uint64(rules_.size());
    w.EndObject();
    w.EndObject();
    c.respond(200, sb.GetString());
  });
  s.on("POST", path, [this](http_conn& c) {
    rapidjson::Document doc;
    doc.Parse(c.req().body.c_str());
    if (doc.HasParseError() || !doc.IsObject()) {
      c.respond(400, R"({"title":"Invalid Request"})");
      return;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    ++posts_;
    int created = 0, deleted = 0;
    if (auto a = doc.FindMember("add"); a != doc.MemberEnd() && a->value.IsArray()) {
      for (const auto& r : a->value.GetArray()) {
        rule nr;
        nr.id = std::to_string(next_id_++);
        nr.value = r["value"].GetString();
        if (r.HasMember("tag")) nr.tag = r["tag"].GetString();
        bool dup = std::any_of(rules_.begin(), rules_.end(), [&](const rule& x) { return x.value == nr.value; });
        if (!dup) {
          rules_.push_back(nr);
          ++created;
        }
      }
    }
    if (auto d = doc.FindMember("delete"); d != doc.MemberEnd() && d->value.IsObject()) {
      if (auto ids = d->value.FindMember("ids"); ids != d->value.MemberEnd()) {
        for (const auto& id : ids->value.GetArray()) {
          std::string wanted = id.GetString();
          auto before = rules_.size();
          rules_.erase(std::remove_if(rules_.begin(), rules_.end(), [&](const rule& x) { return x.id == wanted; }),
                       rules_.end());
          deleted += static_cast<int>(before - rules_.size());
        }
      }
    }
    c.respond(200, "{\"meta\":{\"sent\":\"2024-05-13T10:00:00.000Z\",\"summary\":{\"created\":" +
                       std::to_string(created) + ",\"deleted\":" + std::to_string(deleted) + "}}}");
  });
}

void x_rules_emulator::add(const std::string& value, const std::string& tag) {
  std::lock_guard<std::mutex> lock(mutex_);
  rules_.push_back({std::to_string(next_id_++), value, tag});
}

std::vector<x_rules_emulator::rule> x_rules_emulator::rules() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return rules_;
}

std::vector<std::string> x_rules_emulator::summary() const {
  std::vector<std::string> out;
  for (const auto& r : rules()) out.push_back(r.value + "|" + r.tag);
  std::sort(out.begin(), out.end());
  return out;
}

int x_rules_emulator::posts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return posts_;
}

} // namespace tlflow::test
