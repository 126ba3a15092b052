// The changefeed with the real binary (docs/live.md): GET /changes resumes
// after a disconnect without missing or repeating an event, tells a client
// whose resume point is gone to reload, coalesces weight changes, drops a
// subscriber that stops reading (while writes keep their pace and memory
// stays bounded), caps subscribers; /changes/ws changes its filters live;
// /gephi's lines rebuild the slice GET /edges reports.
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <rapidjson/document.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/gremlin_test_server.hpp"
#include "support/service_process.hpp"

using namespace tlflow::test;

namespace {

using clock_type = std::chrono::steady_clock;

long ms_since(clock_type::time_point t0) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t0).count());
}

struct sse_event {
  std::string id;
  std::string type;
  std::string data;
};

// A raw-socket client of a streamed (chunked) response: SSE events or
// Gephi lines, read as they come.
class stream_client {
public:
  stream_client(std::uint16_t port, const std::string& target, const header_pairs& headers = {},
                int rcvbuf = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return;
    std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
    req += "\r\n";
    (void)!::send(fd_, req.data(), req.size(), MSG_NOSIGNAL);
  }
  ~stream_client() { close(); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // Reads the status line and headers; the status (0: none).
  int open(int timeout_ms = 5000) {
    const auto t0 = clock_type::now();
    while (raw_.find("\r\n\r\n") == std::string::npos) {
      if (!fill(timeout_ms - ms_since(t0))) return 0;
    }
    const auto end = raw_.find("\r\n\r\n");
    head_ = raw_.substr(0, end);
    raw_.erase(0, end + 4);
    if (head_.size() < 12) return 0;
    status_ = std::stoi(head_.substr(9, 3));
    chunked_ = head_.find("chunked") != std::string::npos;
    return status_;
  }
  const std::string& head() const { return head_; }

  // Whatever body bytes arrive within timeout_ms (de-chunked).
  bool read_body(int timeout_ms) {
    const auto t0 = clock_type::now();
    for (;;) {
      decode();
      if (eof_) return false;
      const long left = timeout_ms - ms_since(t0);
      if (left <= 0) return true;
      if (!fill(left)) return !eof_;
    }
  }

  // The next SSE event (comments skipped; with `comments`, returned as type ":").
  std::optional<sse_event> next(int timeout_ms, bool comments = false) {
    const auto t0 = clock_type::now();
    for (;;) {
      decode();
      const auto end = body_.find("\n\n");
      if (end != std::string::npos) {
        const std::string block = body_.substr(0, end);
        body_.erase(0, end + 2);
        sse_event e;
        std::size_t pos = 0;
        bool comment = false;
        while (pos < block.size()) {
          auto nl = block.find('\n', pos);
          if (nl == std::string::npos) nl = block.size();
          const std::string line = block.substr(pos, nl - pos);
          pos = nl + 1;
          if (line.rfind(":", 0) == 0) comment = true;
          else if (line.rfind("id: ", 0) == 0) e.id = line.substr(4);
          else if (line.rfind("event: ", 0) == 0) e.type = line.substr(7);
          else if (line.rfind("data: ", 0) == 0) e.data = line.substr(6);
        }
        if (comment && e.type.empty()) {
          if (!comments) continue;
          e.type = ":";
        }
        if (e.type.empty() && e.data.empty()) continue; // the retry: block
        return e;
      }
      if (eof_) return std::nullopt;
      const long left = timeout_ms - ms_since(t0);
      if (left <= 0 || !fill(left)) {
        decode();
        if (body_.find("\n\n") != std::string::npos) continue;
        return std::nullopt;
      }
    }
  }

  // Complete lines of the body so far (Gephi), removed from the buffer.
  std::vector<std::string> lines() {
    decode();
    std::vector<std::string> out;
    for (;;) {
      const auto nl = body_.find('\n');
      if (nl == std::string::npos) break;
      std::string line = body_.substr(0, nl);
      body_.erase(0, nl + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) out.push_back(line);
    }
    return out;
  }

  bool eof() const { return eof_; }
  std::size_t received() const { return received_; }

private:
  bool fill(long timeout_ms) {
    if (fd_ < 0 || eof_) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::max(0L, timeout_ms))) <= 0) return false;
    char buf[16384];
    const auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    received_ += static_cast<std::size_t>(n);
    raw_.append(buf, static_cast<std::size_t>(n));
    return true;
  }
  void decode() {
    if (!chunked_) {
      body_ += raw_;
      raw_.clear();
      return;
    }
    for (;;) {
      const auto crlf = raw_.find("\r\n");
      if (crlf == std::string::npos) return;
      const std::size_t size = std::stoul(raw_.substr(0, crlf), nullptr, 16);
      if (size == 0) {
        eof_ = true;
        raw_.clear();
        return;
      }
      if (raw_.size() < crlf + 2 + size + 2) return;
      body_ += raw_.substr(crlf + 2, size);
      raw_.erase(0, crlf + 2 + size + 2);
    }
  }

  int fd_ = -1;
  std::string raw_, body_, head_;
  int status_ = 0;
  bool chunked_ = false;
  bool eof_ = false;
  std::size_t received_ = 0;
};

struct id_pair {
  unsigned long long seq = 0;
  unsigned long long index = 0;
};
id_pair parse_id(const std::string& s) {
  id_pair p;
  const auto dot = s.find('.');
  p.seq = std::stoull(s.substr(0, dot));
  p.index = std::stoull(s.substr(dot + 1));
  return p;
}

http_reply post_edge(std::uint16_t port, const std::string& from, const std::string& to,
                     const std::string& kind = "mention", const std::string& extra = {}) {
  std::string body = "{\"from\":\"" + from + "\",\"to\":\"" + to + "\",\"kind\":\"" + kind + "\"";
  if (!extra.empty()) body += ",\"properties\":{\"note\":\"" + extra + "\"}";
  body += "}";
  return http_request(port, "POST", "/edges", body);
}

rapidjson::Document json(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str());
  return d;
}

long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

std::uint64_t metric(std::uint16_t port, const std::string& name) {
  auto r = http_request(port, "GET", "/metrics");
  const auto at = r.body.find("\n" + name + " ");
  if (at == std::string::npos) return 0;
  return std::stoull(r.body.substr(at + name.size() + 2));
}

} // namespace

TEST_CASE("changefeed: a client resuming with Last-Event-ID misses and repeats nothing") {
  service_process svc;
  REQUIRE(svc.start());
  constexpr int edges = 300;

  std::vector<sse_event> got;
  auto client = std::make_unique<stream_client>(svc.port(), "/changes");
  REQUIRE(client->open() == 200);
  CHECK(client->head().find("text/event-stream") != std::string::npos);

  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < edges; ++i) {
      auto r = post_edge(svc.port(), "twitter:w" + std::to_string(i), "twitter:t" + std::to_string(i));
      if (r.status != 201 && r.status != 200) break;
    }
    done = true;
  });
  // Disconnect every 40 events, reconnect with the last id seen.
  int reconnects = 0;
  const auto t0 = clock_type::now();
  while (ms_since(t0) < 60000) {
    auto e = client->next(done ? 1500 : 5000);
    if (!e) {
      if (done) break;
      continue;
    }
    if (e->type == "stats") continue;
    got.push_back(*e);
    if (got.size() % 40 == 0) {
      client = std::make_unique<stream_client>(svc.port(), "/changes", header_pairs{{"Last-Event-ID", got.back().id}});
      REQUIRE(client->open() == 200);
      ++reconnects;
    }
  }
  writer.join();
  CHECK(reconnects >= 5);
  // Every write made three events (two accounts, one edge), ids S.0..S.2,
  // and the writes are numbered without gaps: nothing missed or repeated.
  REQUIRE(got.size() == static_cast<std::size_t>(3 * edges));
  int created = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const auto id = parse_id(got[i].id);
    CHECK(json(got[i].data)["id"].GetString() == got[i].id);
    if (got[i].type == "edge_created") ++created;
    if (i == 0) continue;
    const auto prev = parse_id(got[i - 1].id);
    const bool next_in_write = id.seq == prev.seq && id.index == prev.index + 1;
    const bool next_write = id.seq == prev.seq + 1 && id.index == 0;
    INFO("after " << got[i - 1].id << " came " << got[i].id);
    CHECK((next_in_write || next_write));
  }
  CHECK(created == edges);
  CHECK(metric(svc.port(), "tlflow_changes_delivered_total") >= static_cast<std::uint64_t>(3 * edges));
}

TEST_CASE("changefeed: resuming past the retention gets `reset`, then goes on") {
  service_process::options o;
  o.args = {"--changes-retention-events", "10"};
  service_process svc(o);
  REQUIRE(svc.start());
  for (int i = 0; i < 20; ++i) REQUIRE(post_edge(svc.port(), "twitter:r" + std::to_string(i), "twitter:s").status == 201);
  stream_client c(svc.port(), "/changes", {{"Last-Event-ID", "1.0"}});
  REQUIRE(c.open() == 200);
  auto e = c.next(3000);
  REQUIRE(e);
  CHECK(e->type == "reset");
  const std::string newest = e->id;
  CHECK(!newest.empty());
  REQUIRE(post_edge(svc.port(), "twitter:late", "twitter:s").status == 201);
  e = c.next(3000);
  REQUIRE(e);
  CHECK(e->type == "vertex_created");
  CHECK(parse_id(e->id).seq == parse_id(newest).seq + 1);
  CHECK(metric(svc.port(), "tlflow_changes_resets_total") == 1);
  // A resume point still retained is no reset.
  stream_client ok(svc.port(), "/changes?after=" + newest);
  REQUIRE(ok.open() == 200);
  e = ok.next(3000);
  REQUIRE(e);
  CHECK(e->type == "vertex_created");
  // A malformed one is a 400.
  auto bad = http_request(svc.port(), "GET", "/changes?after=x1");
  CHECK(bad.status == 400);
  CHECK(bad.body.find("invalid_argument") != std::string::npos);
}

TEST_CASE("changefeed: subscribers of one slice share its walk; a slice quiet past the retention stays connected") {
  // Two subscribers of kind=reply and one of kind=mention; 30 writes of one
  // mention edge each between existing accounts (no vertex change: nothing
  // a reply subscriber looks at) go by while the retention holds 10 events,
  // then a reply, and changes of two accounts, one an end of that reply.
  service_process::options o;
  o.args = {"--changes-retention-events", "10"};
  service_process svc(o);
  REQUIRE(svc.start());
  for (int i = 0; i <= 30; ++i) {
    const std::string id = i < 30 ? "twitter%3Aq" + std::to_string(i) : std::string("twitter%3Ahub");
    REQUIRE(http_request(svc.port(), "PUT", "/vertices/" + id, R"({"properties":{"handle":"x"}})").status == 201);
  }
  stream_client r1(svc.port(), "/changes?kind=reply");
  stream_client r2(svc.port(), "/changes?kind=reply");
  stream_client m(svc.port(), "/changes?kind=mention");
  REQUIRE(r1.open() == 200);
  REQUIRE(r2.open() == 200);
  REQUIRE(m.open() == 200);
  for (int i = 0; i < 30; ++i)
    REQUIRE(post_edge(svc.port(), "twitter:q" + std::to_string(i), "twitter:hub").status == 201);
  std::set<std::string> mentions;
  while (auto e = m.next(1500))
    if (e->type == "edge_created") mentions.insert(json(e->data)["edge"]["from"].GetString());
  CHECK(mentions.size() == 30);
  REQUIRE(post_edge(svc.port(), "twitter:q3", "twitter:hub", "reply").status == 201);
  // Of two accounts changed, only q3 is an end of a delivered reply.
  REQUIRE(http_request(svc.port(), "PUT", "/vertices/twitter%3Aq4", R"({"properties":{"handle":"y"}})").status == 200);
  REQUIRE(http_request(svc.port(), "PUT", "/vertices/twitter%3Aq3", R"({"properties":{"handle":"y"}})").status == 200);
  for (auto* c : {&r1, &r2}) {
    std::vector<std::string> got;
    while (auto e = c->next(1500)) {
      if (e->type == "stats") continue;
      auto d = json(e->data);
      std::string kind; // none for a control event such as `overflow`
      if (d.IsObject() && d.HasMember("edge") && d["edge"].IsObject() && d["edge"].HasMember("kind") &&
          d["edge"]["kind"].IsString())
        kind = std::string(" ") + d["edge"]["kind"].GetString();
      if (d.IsObject() && d.HasMember("vertex") && d["vertex"].IsObject() && d["vertex"].HasMember("id"))
        kind = std::string(" ") + d["vertex"]["id"].GetString();
      got.push_back(e->type + kind);
    }
    CHECK(got == std::vector<std::string>{"edge_created reply", "vertex_updated twitter:q3"});
  }
  CHECK(metric(svc.port(), "tlflow_changes_overflows_total") == 0);
  CHECK(metric(svc.port(), "tlflow_changes_resets_total") == 0);
}

TEST_CASE("changefeed: weight changes of one edge within the window are one event") {
  service_process::options o;
  o.args = {"--changes-coalesce-ms", "1500"};
  service_process svc(o);
  REQUIRE(svc.start());
  stream_client c(svc.port(), "/changes?kind=mention");
  REQUIRE(c.open() == 200);
  REQUIRE(post_edge(svc.port(), "twitter:a", "twitter:b").status == 201);
  auto e = c.next(3000);
  REQUIRE(e);
  CHECK(e->type == "edge_created"); // vertex events: only ends of delivered edges
  const auto t0 = clock_type::now();
  for (int i = 0; i < 30; ++i) REQUIRE(post_edge(svc.port(), "twitter:a", "twitter:b").status == 200);
  INFO("30 writes took " << ms_since(t0) << " ms");
  REQUIRE(ms_since(t0) < 1400);
  std::vector<sse_event> changes;
  while (auto x = c.next(2500))
    if (x->type != "stats") changes.push_back(*x);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].type == "edge_changed");
  CHECK(json(changes[0].data)["edge"]["weight"].GetUint64() == 31);
  CHECK(metric(svc.port(), "tlflow_changes_coalesced_total") == 29);
}

TEST_CASE("changefeed: a subscriber that stops reading is dropped with `overflow`; writes keep their pace") {
  service_process::options o;
  o.args = {"--ephemeral", "--changes-budget-bytes", "65536", "--changes-coalesce-ms", "0",
            "--body-timeout", "120"};
  service_process svc(o);
  REQUIRE(svc.start());
  const std::string note(2000, 'n'); // ~2 KB per edge event
  auto pace = [&](int from, int n) {
    const auto t0 = clock_type::now();
    for (int i = from; i < from + n; ++i)
      REQUIRE(post_edge(svc.port(), "twitter:p" + std::to_string(i), "twitter:q", "mention", note).status == 201);
    return static_cast<double>(ms_since(t0)) / n;
  };
  const double before_ms = pace(0, 200);
  const long rss_before = rss_kib(svc.pid());

  stream_client stalled(svc.port(), "/changes", {}, 4096);
  REQUIRE(stalled.open() == 200);
  // Far more than the server's socket buffers: the stream blocks.
  const double during_ms = pace(1000, 4000);
  const long rss_after = rss_kib(svc.pid());
  MESSAGE("ms per POST before " << before_ms << ", with the stalled subscriber " << during_ms
          << "; RSS " << rss_before << " -> " << rss_after << " KiB");
  CHECK(during_ms < before_ms * 3 + 5);
  INFO("RSS " << rss_before << " KiB -> " << rss_after << " KiB");
  CHECK(rss_after - rss_before < 48 * 1024);
  // It reads again: what was in flight, then `overflow`, then the end.
  std::optional<sse_event> last;
  const auto t0 = clock_type::now();
  while (ms_since(t0) < 20000) {
    auto e = stalled.next(3000);
    if (!e) break;
    last = e;
  }
  REQUIRE(last);
  CHECK(last->type == "overflow");
  CHECK(stalled.eof());
  CHECK(metric(svc.port(), "tlflow_changes_overflows_total") == 1);
  CHECK(metric(svc.port(), "tlflow_changes_subscribers") == 0);
}

TEST_CASE("changefeed: subscribers past the cap get a JSON 503") {
  service_process::options o;
  o.args = {"--changes-max-subscribers", "2"};
  service_process svc(o);
  REQUIRE(svc.start());
  // HEAD answers the headers and holds no place.
  for (const char* target : {"/changes", "/changes", "/gephi"}) {
    auto h = http_request(svc.port(), "HEAD", target);
    CHECK(h.status == 200);
  }
  CHECK(metric(svc.port(), "tlflow_changes_subscribers") == 0);
  stream_client a(svc.port(), "/changes");
  REQUIRE(a.open() == 200);
  stream_client b(svc.port(), "/gephi");
  REQUIRE(b.open() == 200);
  auto r = http_request(svc.port(), "GET", "/changes");
  CHECK(r.status == 503);
  CHECK(r.body.find("\"overloaded\"") != std::string::npos);
  r = http_request(svc.port(), "GET", "/changes/ws");
  CHECK(r.status == 503);
  CHECK(metric(svc.port(), "tlflow_changes_subscribers") == 2);
  a.close();
  // The place frees once the server notices the client left.
  const auto t0 = clock_type::now();
  int status = 0;
  while (ms_since(t0) < 5000) {
    stream_client c(svc.port(), "/changes");
    status = c.open();
    if (status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(status == 200);
}

TEST_CASE("changefeed: a WebSocket subscribe message changes the filters") {
  service_process svc;
  REQUIRE(svc.start());
  namespace net = boost::asio;
  namespace ws = boost::beast::websocket;
  net::io_context ioc;
  ws::stream<boost::beast::tcp_stream> client(ioc);
  boost::beast::get_lowest_layer(client).connect({net::ip::make_address("127.0.0.1"), svc.port()});
  client.handshake("127.0.0.1", "/changes/ws?kind=mention");
  boost::beast::get_lowest_layer(client).expires_after(std::chrono::seconds(10));
  auto read = [&] {
    boost::beast::flat_buffer buf;
    client.read(buf);
    return boost::beast::buffers_to_string(buf.data());
  };
  auto next_edge = [&] {
    for (;;) {
      auto d = json(read());
      const std::string type = d["type"].GetString();
      if (type == "edge_created") return std::string(d["edge"]["kind"].GetString());
    }
  };
  REQUIRE(post_edge(svc.port(), "twitter:x", "twitter:y", "reply").status == 201);
  REQUIRE(post_edge(svc.port(), "twitter:x", "twitter:y", "mention").status == 201);
  CHECK(next_edge() == "mention");
  client.write(net::buffer(std::string(R"({"type":"subscribe","kind":["reply"]})")));
  auto ack = json(read());
  CHECK(std::string(ack["type"].GetString()) == "subscribed");
  REQUIRE(post_edge(svc.port(), "twitter:x", "twitter:z", "mention").status == 201);
  REQUIRE(post_edge(svc.port(), "twitter:x", "twitter:z", "reply").status == 201);
  CHECK(next_edge() == "reply");
  // A bad filter is an error message; the subscription stays.
  client.write(net::buffer(std::string(R"({"type":"subscribe","kind":"nope"})")));
  auto err = json(read());
  CHECK(err.HasMember("error"));
  client.close(ws::close_code::normal);
}

TEST_CASE("changefeed: an ego set follows edges within its radius") {
  service_process svc;
  REQUIRE(svc.start());
  REQUIRE(post_edge(svc.port(), "twitter:c", "twitter:n1").status == 201);
  REQUIRE(post_edge(svc.port(), "twitter:far", "twitter:away").status == 201);
  stream_client c(svc.port(), "/changes?around=twitter:c&radius=1");
  REQUIRE(c.open() == 200);
  REQUIRE(post_edge(svc.port(), "twitter:far", "twitter:away", "reply").status == 201);  // outside
  REQUIRE(post_edge(svc.port(), "twitter:n1", "twitter:c", "reply").status == 201);      // inside
  REQUIRE(post_edge(svc.port(), "twitter:c", "twitter:n2").status == 201);               // n2 joins
  REQUIRE(post_edge(svc.port(), "twitter:n2", "twitter:n3").status == 201);              // radius 2: outside
  std::vector<std::string> edges;
  while (auto e = c.next(1500)) {
    if (e->type != "edge_created") continue;
    auto d = json(e->data);
    edges.push_back(std::string(d["edge"]["from"].GetString()) + ">" + d["edge"]["to"].GetString());
  }
  CHECK(edges == std::vector<std::string>{"twitter:n1>twitter:c", "twitter:c>twitter:n2"});
  CHECK(http_request(svc.port(), "GET", "/changes?radius=3&around=a").status == 400);
}

// Subscribers of one `around` with the same starting set share the ego set
// while they learn the same members; one that starts alike but learns
// something else goes its own way and sees only its own members.
TEST_CASE("changefeed: identical ego subscribers share their set until one learns otherwise") {
  service_process svc;
  REQUIRE(svc.start());
  REQUIRE(post_edge(svc.port(), "twitter:c", "twitter:n1").status == 201);
  stream_client a(svc.port(), "/changes?around=twitter:c&radius=1");
  stream_client b(svc.port(), "/changes?around=twitter:c&radius=1");
  REQUIRE(a.open() == 200);
  REQUIRE(b.open() == 200);
  REQUIRE(post_edge(svc.port(), "twitter:c", "twitter:n5").status == 201);  // a, b: n5 joins
  REQUIRE(http_request(svc.port(), "DELETE", "/edges/twitter%3Ac/twitter%3An5?kind=mention").status / 100 == 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // Starts as a and b did ({c, n1}), after n5 joined theirs.
  stream_client g(svc.port(), "/changes?around=twitter:c&radius=1");
  REQUIRE(g.open() == 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  REQUIRE(post_edge(svc.port(), "twitter:c", "twitter:n6").status == 201);   // all: n6 joins
  REQUIRE(post_edge(svc.port(), "twitter:n5", "twitter:n1").status == 201);  // a, b only
  REQUIRE(post_edge(svc.port(), "twitter:n6", "twitter:n1").status == 201);  // all
  REQUIRE(post_edge(svc.port(), "twitter:n1", "twitter:x").status == 201);   // none: radius 1
  auto edges = [](stream_client& c) {
    std::vector<std::string> out;
    while (auto e = c.next(1500)) {
      if (e->type.rfind("edge_", 0) != 0) continue;
      auto d = json(e->data);
      out.push_back(e->type.substr(5) + " " + d["edge"]["from"].GetString() + ">" + d["edge"]["to"].GetString());
    }
    return out;
  };
  const std::vector<std::string> both{"created twitter:c>twitter:n5", "removed twitter:c>twitter:n5",
                                      "created twitter:c>twitter:n6", "created twitter:n5>twitter:n1",
                                      "created twitter:n6>twitter:n1"};
  CHECK(edges(a) == both);
  CHECK(edges(b) == both);
  CHECK(edges(g) == std::vector<std::string>{"created twitter:c>twitter:n6", "created twitter:n6>twitter:n1"});
}

TEST_CASE("gephi: the stream's lines rebuild the slice GET /edges reports, then follow it") {
  service_process svc;
  REQUIRE(svc.start());
  for (int i = 0; i < 30; ++i) {
    const std::string kind = i % 3 == 0 ? "reply" : "mention";
    REQUIRE(post_edge(svc.port(), "twitter:g" + std::to_string(i % 7), "twitter:h|" + std::to_string(i % 5), kind).status / 100 == 2);
  }
  stream_client c(svc.port(), "/gephi?kind=mention");
  REQUIRE(c.open() == 200);
  c.read_body(1000);
  std::set<std::string> nodes;
  std::map<std::string, std::pair<std::string, std::uint64_t>> graph; // id -> (from>to, weight)
  auto replay = [&](const std::vector<std::string>& lines) {
    for (const auto& line : lines) {
      auto d = json(line);
      REQUIRE(d.IsObject());
      for (auto op = d.MemberBegin(); op != d.MemberEnd(); ++op) {
        const std::string name = op->name.GetString();
        for (auto it = op->value.MemberBegin(); it != op->value.MemberEnd(); ++it) {
          const std::string id = it->name.GetString();
          const auto& a = it->value;
          if (name == "an") nodes.insert(id);
          else if (name == "dn") nodes.erase(id);
          else if (name == "ae") {
            REQUIRE(nodes.count(a["source"].GetString()) == 1);
            REQUIRE(nodes.count(a["target"].GetString()) == 1);
            CHECK(a["directed"].GetBool());
            CHECK(std::string(a["kind"].GetString()) == "mention");
            graph[id] = {std::string(a["source"].GetString()) + ">" + a["target"].GetString(), a["weight"].GetUint64()};
          } else if (name == "ce") {
            REQUIRE(graph.count(id) == 1);
            graph[id].second = a["weight"].GetUint64();
          } else if (name == "de") {
            graph.erase(id);
          }
        }
      }
    }
  };
  auto expected = [&] {
    std::map<std::string, std::pair<std::string, std::uint64_t>> out;
    auto r = http_request(svc.port(), "GET", "/edges?kind=mention&limit=1000");
    auto d = json(r.body);
    for (const auto& e : d["edges"].GetArray()) {
      std::string id;
      for (const char* part : {e["from"].GetString(), "|", e["to"].GetString(), "|", "mention"}) {
        if (std::string_view(part) == "|") { id += '|'; continue; }
        for (const char* p = part; *p; ++p) {
          if (*p == '|' || *p == '\\') id += '\\';
          id += *p;
        }
      }
      out[id] = {std::string(e["from"].GetString()) + ">" + e["to"].GetString(), e["weight"].GetUint64()};
    }
    return out;
  };
  replay(c.lines());
  CHECK(!graph.empty());
  CHECK(graph == expected());
  // Live: a new mention edge, a heavier one, a removed one; a reply is not in the slice.
  REQUIRE(post_edge(svc.port(), "twitter:new", "twitter:g1").status == 201);
  REQUIRE(post_edge(svc.port(), "twitter:g1", "twitter:h|1").status == 200);
  REQUIRE(post_edge(svc.port(), "twitter:new", "twitter:g2", "reply").status == 201);
  REQUIRE(http_request(svc.port(), "DELETE", "/edges/twitter%3Ag2/twitter%3Ah%7C2?kind=mention").status / 100 == 2);
  c.read_body(1500);
  replay(c.lines());
  CHECK(graph == expected());
}

// Gephi's node attributes pagerank and community are the whole-graph
// analytics: what /rankings?by=pagerank and /vertices/{id}/community answer,
// in the initial `an` lines and, after a newer snapshot, in `cn` lines.
TEST_CASE("gephi: nodes carry the whole-graph pagerank and community, kept current") {
  service_process::options o;
  o.args = {"--analytics-refresh-changes", "1"};
  service_process svc(o);
  REQUIRE(svc.start());
  // Two groups of five, one edge between them.
  for (const char* g : {"a", "b"})
    for (int i = 0; i < 5; ++i)
      for (int j = 0; j < 5; ++j)
        if (i != j) REQUIRE(post_edge(svc.port(), std::string("twitter:") + g + std::to_string(i),
                                      std::string("twitter:") + g + std::to_string(j)).status == 201);
  REQUIRE(post_edge(svc.port(), "twitter:a0", "twitter:b0").status == 201);

  // The analytics of the graph as the routes answer them, once the
  // background snapshot holds `accounts` accounts and stopped changing.
  struct attrs {
    double pagerank = -1;
    long community = -1;
  };
  auto analytics = [&](std::size_t accounts) {
    std::map<std::string, attrs> out;
    const auto t0 = clock_type::now();
    std::string before;
    for (;;) {
      auto r = http_request(svc.port(), "GET", "/rankings?by=pagerank&limit=1000");
      auto d = json(r.body);
      REQUIRE(d.IsObject());
      if (d["vertices"].GetUint64() == accounts) {
        // Settled: the same ranking twice, 1.5 s apart (the reply's ages move).
        const std::string ranking = r.body.substr(r.body.find("\"rankings\""));
        if (ranking == before) {
          for (const auto& x : d["rankings"].GetArray()) out[x["id"].GetString()].pagerank = x["score"].GetDouble();
          break;
        }
        before = ranking;
      }
      REQUIRE(ms_since(t0) < 20000);
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    }
    for (auto& [id, a] : out) {
      auto r = http_request(svc.port(), "GET", "/vertices/" + pct(id) + "/community");
      REQUIRE(r.status == 200);
      a.community = json(r.body)["community"].GetInt64();
    }
    return out;
  };
  std::map<std::string, attrs> seen;
  int attribute_changes = 0; // cn lines with a pagerank for a node sent before
  auto replay = [&](const std::vector<std::string>& lines) {
    for (const auto& line : lines) {
      auto d = json(line);
      REQUIRE(d.IsObject());
      for (auto op = d.MemberBegin(); op != d.MemberEnd(); ++op) {
        const std::string name = op->name.GetString();
        if (name != "an" && name != "cn") continue;
        for (auto it = op->value.MemberBegin(); it != op->value.MemberEnd(); ++it) {
          const std::string id = it->name.GetString();
          const auto& a = it->value;
          const bool had = seen.count(id) != 0 && seen[id].pagerank >= 0;
          auto& x = seen[id];
          if (a.HasMember("pagerank")) {
            x.pagerank = a["pagerank"].GetDouble();
            if (name == "cn" && had) ++attribute_changes;
          }
          if (a.HasMember("community")) x.community = a["community"].GetInt64();
        }
      }
    }
  };
  const auto first = analytics(10);
  REQUIRE(first.size() == 10);
  stream_client c(svc.port(), "/gephi");
  REQUIRE(c.open() == 200);
  c.read_body(1000);
  replay(c.lines());
  REQUIRE(seen.size() == 10);
  for (const auto& [id, a] : first) {
    INFO(id);
    REQUIRE(seen.count(id) == 1);
    CHECK(seen[id].pagerank == doctest::Approx(a.pagerank).epsilon(1e-9));
    CHECK(seen[id].community == a.community);
  }
  CHECK(seen["twitter:a0"].community != seen["twitter:b0"].community);

  // Eight new accounts all mention b1: its PageRank grows, the new ones get
  // values once a snapshot holds them (they arrive with `an` before that).
  for (int i = 0; i < 8; ++i) REQUIRE(post_edge(svc.port(), "twitter:n" + std::to_string(i), "twitter:b1").status == 201);
  const auto second = analytics(18);
  c.read_body(2500);
  replay(c.lines());
  CHECK(attribute_changes > 0);
  CHECK(second.at("twitter:b1").pagerank > 1.5 * first.at("twitter:b1").pagerank);
  for (const auto& [id, a] : second) {
    INFO(id);
    REQUIRE(seen.count(id) == 1);
    // Sent again when it moved more than 1%.
    CHECK(seen[id].pagerank == doctest::Approx(a.pagerank).epsilon(0.0101));
    CHECK(seen[id].community == a.community);
  }
}

TEST_CASE("changefeed on the Gremlin store: this process's writes, ids that keep growing across a restart") {
  gremlin_test_server gremlin;
  service_process::options o;
  o.args = {"--ephemeral", "--store", "gremlin", "--gremlin-url", gremlin.url()};
  std::string last_id;
  {
    service_process svc(o);
    REQUIRE(svc.start());
    stream_client c(svc.port(), "/changes");
    REQUIRE(c.open() == 200);
    REQUIRE(post_edge(svc.port(), "twitter:ga", "twitter:gb").status == 201);
    REQUIRE(post_edge(svc.port(), "twitter:ga", "twitter:gb").status == 200);
    auto e = c.next(5000);
    REQUIRE(e);
    CHECK(e->type == "edge_created");
    CHECK(json(e->data)["edge"]["weight"].GetUint64() == 1);
    e = c.next(5000);
    REQUIRE(e);
    CHECK(e->type == "edge_changed");
    CHECK(json(e->data)["edge"]["weight"].GetUint64() == 2);
    CHECK(parse_id(e->id).seq > parse_id(last_id.empty() ? "0.0" : last_id).seq);
    last_id = e->id;
    CHECK(svc.terminate() == 0);
  }
  // A new process: its ids start above the old ones, and the old point is
  // not retained: `reset`, then the new writes.
  service_process svc(o);
  REQUIRE(svc.start());
  stream_client c(svc.port(), "/changes", {{"Last-Event-ID", last_id}});
  REQUIRE(c.open() == 200);
  auto e = c.next(5000);
  REQUIRE(e);
  CHECK(e->type == "reset");
  REQUIRE(http_request(svc.port(), "DELETE", "/edges/twitter%3Aga/twitter%3Agb").status == 200);
  e = c.next(5000);
  REQUIRE(e);
  CHECK(e->type == "edge_removed");
  CHECK(parse_id(last_id).seq < parse_id(e->id).seq);
}

TEST_CASE("changefeed: a WebSocket subscriber that reads keeps up with an ingestion burst") {
  // Posts arrive through a FIFO once the WebSocket is subscribed: batches of
  // thousands of changes, more than the connection's queue of 1024.
  temp_dir dir;
  const std::string fifo = dir.path() + "/posts";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  service_process::options o;
  o.args = {"--ephemeral", "--source", "file:" + fifo};
  service_process svc(o);
  REQUIRE(svc.start());
  namespace net = boost::asio;
  namespace ws = boost::beast::websocket;
  net::io_context ioc;
  ws::stream<boost::beast::tcp_stream> client(ioc);
  boost::beast::get_lowest_layer(client).connect({net::ip::make_address("127.0.0.1"), svc.port()});
  client.handshake("127.0.0.1", "/changes/ws");
  constexpr int posts = 4000;
  std::thread writer([&] {
    std::ofstream out(fifo);
    for (int p = 0; p < posts; ++p) {
      const std::string a = std::to_string(1000 + p), b = std::to_string(900000 + p);
      out << R"({"data":{"id":")" << 5000000 + p << R"(","author_id":")" << a
          << R"(","created_at":"2026-12-01T00:00:00.000Z","text":"hi","entities":{"mentions":[{"username":"m)" << b
          << R"(","id":")" << b << R"("}]}},"includes":{"users":[{"id":")" << a << R"(","username":"u)" << a
          << R"("},{"id":")" << b << R"(","username":"m)" << b << R"("}]}})" << "\n";
    }
  });
  int edges = 0;
  boost::beast::get_lowest_layer(client).expires_after(std::chrono::seconds(30));
  try {
    while (edges < posts) {
      boost::beast::flat_buffer buf;
      client.read(buf);
      const std::string text = boost::beast::buffers_to_string(buf.data());
      if (text.find("\"type\":\"edge_created\"") != std::string::npos) ++edges;
    }
  } catch (const std::exception& e) {
    MESSAGE("the WebSocket ended: " << std::string(e.what()));
  }
  writer.join();
  CHECK(edges == posts);
}

TEST_CASE("changefeed: heartbeat comments on a quiet stream, and periodic stats") {
  service_process::options o;
  o.args = {"--changes-heartbeat-s", "1", "--changes-stats-s", "3"};
  service_process svc(o);
  REQUIRE(svc.start());
  REQUIRE(post_edge(svc.port(), "twitter:s1", "twitter:s2").status == 201);
  stream_client c(svc.port(), "/changes?kind=link"); // nothing of it will come
  REQUIRE(c.open() == 200);
  bool heartbeat = false;
  std::optional<sse_event> stats;
  const auto t0 = clock_type::now();
  while ((!heartbeat || !stats) && ms_since(t0) < 8000) {
    auto e = c.next(3000, true);
    if (!e) continue;
    if (e->type == ":") heartbeat = true;
    if (e->type == "stats") stats = e;
  }
  CHECK(heartbeat);
  REQUIRE(stats);
  CHECK(stats->id.empty()); // control events do not move Last-Event-ID
  auto d = json(stats->data);
  CHECK(d["vertices"].GetUint64() == 2);
  CHECK(d["edges"].GetUint64() == 1);
  CHECK(d.HasMember("posts_per_s"));
  CHECK(d.HasMember("interactions_per_s"));
}

TEST_CASE("changefeed: the platform filter selects edges by their source account") {
  service_process svc;
  REQUIRE(svc.start());
  REQUIRE(http_request(svc.port(), "PUT", "/vertices/mastodon%3Aa", R"({"properties":{"platform":"mastodon"}})").status == 201);
  REQUIRE(http_request(svc.port(), "PUT", "/vertices/twitter%3Ab", R"({"properties":{"platform":"twitter"}})").status == 201);
  stream_client c(svc.port(), "/changes?platform=mastodon");
  REQUIRE(c.open() == 200);
  REQUIRE(post_edge(svc.port(), "twitter:b", "mastodon:a").status == 201);
  REQUIRE(post_edge(svc.port(), "mastodon:a", "twitter:b").status == 201);
  REQUIRE(http_request(svc.port(), "PUT", "/vertices/twitter%3Ab", R"({"properties":{"handle":"bee"}})").status == 200);
  std::vector<std::string> got;
  while (auto e = c.next(1500)) {
    auto d = json(e->data);
    if (e->type.rfind("edge", 0) == 0)
      got.push_back(e->type + " " + d["edge"]["from"].GetString());
    else if (e->type.rfind("vertex", 0) == 0)
      got.push_back(e->type + " " + d["vertex"]["id"].GetString());
  }
  // The vertex update passes: twitter:b is an end of a delivered edge.
  CHECK(got == std::vector<std::string>{"edge_created mastodon:a", "vertex_updated twitter:b"});
  CHECK(http_request(svc.port(), "GET", "/changes?platform=myspace").status == 400);
}
