// Threading map: one I/O thread (impl::thread_) runs the io_context; every
// connection does all its work on its own strand. Callers of submit() block
// on a future that a connection completes from the I/O thread. The pool's
// slot table is guarded by impl::mu_ (copied under the lock, used outside).
#include "tlflow/gremlin/client.hpp"

#include <atomic>
#include <deque>
#include <future>
#include <mutex>
#include <random>
#include <thread>
#include <type_traits>
#include <unordered_map>

#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "gremlin/protocol.hpp"
#include "util/log.hpp"

namespace tlflow::gremlin {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using graphson::value;

namespace {

constexpr std::string_view component = "gremlin";

struct outcome {
  bool ok = false;
  reply rep;
  status_action action;   // when !ok and !transport
  std::string message;
  bool transport = false; // the connection failed (or the request timed out)
  bool sent = false;      // the request reached the socket
};
using done_fn = std::function<void(outcome)>;

struct shared_config {
  client_options opts;
  endpoint ep;
  std::shared_ptr<ssl::context> tls;
};

outcome transport_failure(std::string msg, bool sent) {
  outcome o;
  o.transport = true;
  o.sent = sent;
  o.action.code = errc::store_unavailable;
  o.message = std::move(msg);
  return o;
}

class connection : public std::enable_shared_from_this<connection> {
public:
  enum class state { connecting, open, dead };
  virtual ~connection() = default;
  virtual void start() = 0;
  virtual void send(std::string id, std::shared_ptr<const std::string> frame, bool idempotent,
                    std::chrono::milliseconds timeout, done_fn done) = 0;
  virtual void shutdown() = 0;
  // Calls done(true) when the server answers a ping within `timeout`; an
  // "open" state alone may be stale (a close not yet read).
  virtual void check(std::chrono::milliseconds timeout, std::function<void(bool)> done) = 0;
  state get_state() const noexcept { return state_.load(); }
  bool ever_opened() const noexcept { return ever_opened_.load(); }
  std::size_t load() const noexcept { return inflight_.load(); }

protected:
  std::atomic<state> state_{state::connecting};
  std::atomic<bool> ever_opened_{false};
  std::atomic<std::size_t> inflight_{0};
};

template <bool Tls>
class ws_connection final : public connection {
  using next_layer = std::conditional_t<Tls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;
  using ws_type = websocket::stream<next_layer>;

  struct pending {
    done_fn done;
    std::vector<value> data;
    bool idempotent = true;
    bool auth_sent = false;
    bool sent = false;
    std::size_t bytes = 0; // of the messages received for it
    std::unique_ptr<net::steady_timer> timer;
  };
  struct queued {
    std::string id;
    std::shared_ptr<const std::string> frame;
  };

public:
  ws_connection(net::io_context& ioc, std::shared_ptr<shared_config> cfg)
      : cfg_(std::move(cfg)), strand_(net::make_strand(ioc)), resolver_(strand_) {
    if constexpr (Tls) ws_.emplace(strand_, *cfg_->tls);
    else ws_.emplace(strand_);
  }

  void start() override {
    net::post(strand_, [self = self()] {
      self->resolver_.async_resolve(self->cfg_->ep.host, self->cfg_->ep.port,
                                    beast::bind_front_handler(&ws_connection::on_resolve, self));
    });
  }

  void send(std::string id, std::shared_ptr<const std::string> frame, bool idempotent,
            std::chrono::milliseconds timeout, done_fn done) override {
    net::post(strand_, [self = self(), id = std::move(id), frame = std::move(frame), idempotent, timeout,
                        done = std::move(done)]() mutable {
      if (self->state_ == state::dead) {
        done(transport_failure("connection closed", false));
        return;
      }
      pending p;
      p.done = std::move(done);
      p.idempotent = idempotent;
      p.timer = std::make_unique<net::steady_timer>(self->strand_);
      p.timer->expires_after(timeout);
      p.timer->async_wait([self, id](beast::error_code ec) {
        if (!ec) self->on_timeout(id);
      });
      self->pending_.emplace(id, std::move(p));
      ++self->inflight_;
      self->enqueue(queued{std::move(id), std::move(frame)});
    });
  }

  void shutdown() override {
    net::post(strand_, [self = self()] { self->fail_all("client closed"); });
  }

  void check(std::chrono::milliseconds timeout, std::function<void(bool)> done) override {
    net::post(strand_, [self = self(), timeout, done = std::move(done)]() mutable {
      if (self->state_ != state::open) return done(false);
      auto timer = std::make_shared<net::steady_timer>(self->strand_, timeout);
      timer->async_wait([self, timer](beast::error_code ec) {
        if (!ec) self->answer_checks(false, timer.get());
      });
      self->checks_.push_back({std::move(timer), std::move(done)});
      if (self->pinging_) return; // one ping at a time; its pong answers every check
      self->pinging_ = true;
      self->ws_->async_ping({}, [self](beast::error_code ec) {
        self->pinging_ = false;
        if (ec) self->fail_all("ping: " + ec.message());
      });
    });
  }

private:
  std::shared_ptr<ws_connection> self() {
    return std::static_pointer_cast<ws_connection>(shared_from_this());
  }

  const client_options& opts() const { return cfg_->opts; }

  void on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (ec) return fail_all("resolve " + cfg_->ep.host + ": " + ec.message());
    beast::get_lowest_layer(*ws_).expires_after(opts().connect_timeout);
    beast::get_lowest_layer(*ws_).async_connect(
        results, beast::bind_front_handler(&ws_connection::on_connect, self()));
  }

  void on_connect(beast::error_code ec, const tcp::endpoint&) {
    if (ec) return fail_all("connect " + cfg_->ep.host + ":" + cfg_->ep.port + ": " + ec.message());
    // Requests are whole messages: no Nagle delay behind a delayed ACK.
    beast::error_code ignored;
    beast::get_lowest_layer(*ws_).socket().set_option(tcp::no_delay(true), ignored);
    if constexpr (Tls) {
      auto& tls = ws_->next_layer();
      // SNI, then certificate chain and host name verification.
      if (!SSL_set_tlsext_host_name(tls.native_handle(), cfg_->ep.host.c_str()))
        return fail_all("TLS: cannot set SNI host name");
      if (opts().verify_peer) {
        tls.set_verify_mode(ssl::verify_peer);
        tls.set_verify_callback(ssl::host_name_verification(cfg_->ep.host));
      } else {
        tls.set_verify_mode(ssl::verify_none);
      }
      beast::get_lowest_layer(*ws_).expires_after(opts().connect_timeout);
      tls.async_handshake(ssl::stream_base::client,
                          beast::bind_front_handler(&ws_connection::on_tls_handshake, self()));
    } else {
      ws_handshake();
    }
  }

  void on_tls_handshake(beast::error_code ec) {
    if (ec) return fail_all("TLS handshake with " + cfg_->ep.host + ": " + ec.message());
    ws_handshake();
  }

  void ws_handshake() {
    beast::get_lowest_layer(*ws_).expires_never();
    websocket::stream_base::timeout t{};
    t.handshake_timeout = opts().connect_timeout;
    t.idle_timeout = std::chrono::seconds(30); // health check: pinged at 15 s idle
    t.keep_alive_pings = true;
    ws_->set_option(t);
    ws_->set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(http::field::user_agent, std::string("tlflow/") + TLFLOW_VERSION + " Gremlin-Cpp");
    }));
    ws_->control_callback([this](websocket::frame_type kind, beast::string_view) {
      if (kind == websocket::frame_type::pong) answer_checks(true); // on the strand, in a read
    });
    ws_->read_message_max(64u << 20);
    ws_->write_buffer_bytes(64u << 10); // masked client frames go out in 64 KiB writes
    std::string host = cfg_->ep.host;
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    bool default_port = cfg_->ep.port == (cfg_->ep.tls ? "443" : "80");
    if (!default_port) host += ":" + cfg_->ep.port;
    ws_->async_handshake(host, cfg_->ep.path,
                         beast::bind_front_handler(&ws_connection::on_handshake, self()));
  }

  void on_handshake(beast::error_code ec) {
    if (ec) return fail_all("WebSocket handshake with " + cfg_->ep.host + ": " + ec.message());
    if (opts().send_binary) ws_->binary(true);
    else ws_->text(true);
    state_ = state::open;
    ever_opened_ = true;
    do_read();
    if (!writing_ && !writes_.empty()) do_write();
  }

  void enqueue(queued q) {
    writes_.push_back(std::move(q));
    if (state_ == state::open && !writing_) do_write();
  }

  void do_write() {
    writing_ = true;
    ws_->async_write(net::buffer(*writes_.front().frame),
                     beast::bind_front_handler(&ws_connection::on_write, self()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (ec) return fail_all("write: " + ec.message());
    if (writes_.empty()) return; // fail_all emptied it while this write was completing
    if (auto it = pending_.find(writes_.front().id); it != pending_.end()) it->second.sent = true;
    writes_.pop_front();
    if (!writes_.empty() && state_ == state::open) do_write();
  }

  void do_read() {
    ws_->async_read(buffer_, beast::bind_front_handler(&ws_connection::on_read, self()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return fail_all("connection lost: " + ec.message());
    std::string payload = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    handle(payload);
    if (state_ != state::dead) do_read();
  }

  static void append(pending& p, value&& data) {
    if (data.is_null()) return;
    if (data.is_sequence()) {
      for (auto& x : data.items()) p.data.push_back(std::move(x));
    } else if (data.k() == graphson::kind::bulkset) {
      const auto& it = data.items();
      for (std::size_t i = 0; i + 1 < it.size(); i += 2)
        for (std::int64_t n = 0; n < it[i + 1].as_int(); ++n) p.data.push_back(it[i]);
    } else {
      p.data.push_back(std::move(data));
    }
  }

  void handle(const std::string& payload) {
    auto r = graphson::read_response(payload, opts().serializer);
    if (!r) {
      log::warn(component, "unreadable response: ", r.err().message);
      return;
    }
    if (!r->request_id) {
      log::warn(component, "server could not decode a request: ", r->code, " ", r->message);
      return;
    }
    auto it = pending_.find(*r->request_id);
    if (it == pending_.end()) return; // timed out earlier
    pending& p = it->second;
    // A server may stream 206 batches without end: the result is bounded
    // by the bytes received, not by a count it announces.
    p.bytes += payload.size();
    if (p.bytes > opts().max_result_bytes) {
      outcome o;
      o.sent = true;
      o.action.act = status_action::what::fail;
      o.action.code = errc::payload_too_large;
      o.message = "gremlin result larger than max_result_bytes (" + std::to_string(opts().max_result_bytes) +
                  " bytes); the rest is dropped";
      std::string id = *r->request_id;
      complete(id, std::move(o));
      return;
    }
    if (r->code == 206) {
      append(p, std::move(r->data));
      return;
    }
    // create() refused credentials over ws:// unless allowed; checked again
    // where they would leave.
    if (r->code == 407 && !opts().user.empty() && !p.auth_sent && (cfg_->ep.tls || opts().allow_plaintext_auth)) {
      p.auth_sent = true;
      graphson::request auth;
      auth.request_id = *r->request_id; // as gremlin-python: the challenged id
      auth.op = "authentication";
      auth.args = value::object({{"saslMechanism", value::string("PLAIN")},
                                 {"sasl", value::string(sasl_plain(opts().user, opts().password))}});
      std::string json = graphson::write_request(auth, opts().serializer);
      auto frame = std::make_shared<const std::string>(
          opts().send_binary ? binary_frame(opts().serializer, json) : json);
      enqueue(queued{*r->request_id, std::move(frame)});
      return;
    }
    if (r->code == 200) append(p, std::move(r->data));
    status_action act = classify(r->code, r->attributes, p.idempotent);
    outcome o;
    o.sent = true;
    if (act.act == status_action::what::done) {
      o.ok = true;
      o.rep.code = r->code;
      o.rep.data = std::move(p.data);
      o.rep.request_charge = request_charge(r->attributes);
      o.rep.attributes = std::move(r->attributes);
    } else {
      o.action = act;
      o.message = "gremlin server " + std::to_string(act.effective_status) + ": " + r->message.substr(0, 500);
    }
    std::string id = *r->request_id;
    complete(id, std::move(o));
    if (act.act == status_action::what::retry_new_connection) fail_all("server asked for another connection");
  }

  void complete(const std::string& id, outcome o) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    it->second.timer->cancel();
    done_fn done = std::move(it->second.done);
    pending_.erase(it);
    --inflight_;
    done(std::move(o));
  }

  void on_timeout(const std::string& id) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    outcome o = transport_failure("no reply within " + std::to_string(opts().request_timeout.count()) + " ms",
                                  it->second.sent);
    complete(id, std::move(o));
  }

  // Answers the liveness checks waiting: all of them, or only the one whose
  // timer is `only`.
  void answer_checks(bool alive, const net::steady_timer* only = nullptr) {
    auto waiting = std::move(checks_);
    checks_.clear();
    for (auto& c : waiting) {
      if (only && c.timer.get() != only) {
        checks_.push_back(std::move(c));
        continue;
      }
      c.timer->cancel();
      c.done(alive);
    }
  }

  void fail_all(const std::string& why) {
    answer_checks(false);
    bool was_dead = state_ == state::dead;
    state_ = state::dead;
    if (!was_dead) log::debug(component, "connection ", cfg_->ep.host, ":", cfg_->ep.port, " closed: ", why);
    auto pend = std::move(pending_);
    pending_.clear();
    writes_.clear();
    inflight_ = 0;
    beast::error_code ignored;
    beast::get_lowest_layer(*ws_).socket().close(ignored);
    for (auto& [id, p] : pend) {
      p.timer->cancel();
      p.done(transport_failure(why, p.sent));
    }
  }

  std::shared_ptr<shared_config> cfg_;
  net::strand<net::io_context::executor_type> strand_;
  tcp::resolver resolver_;
  std::optional<ws_type> ws_;
  beast::flat_buffer buffer_;
  std::deque<queued> writes_;
  bool writing_ = false;
  std::unordered_map<std::string, pending> pending_;
  struct liveness_check {
    std::shared_ptr<net::steady_timer> timer;
    std::function<void(bool)> done;
  };
  std::vector<liveness_check> checks_;
  bool pinging_ = false;
};

} // namespace

struct client::impl {
  std::shared_ptr<shared_config> cfg;
  net::io_context ioc{1};
  net::executor_work_guard<net::io_context::executor_type> guard{ioc.get_executor()};
  std::thread thread;
  std::promise<void> stopped;

  struct slot {
    std::shared_ptr<connection> conn;
    unsigned failures = 0;
    std::chrono::steady_clock::time_point next_try{};
  };
  mutable std::mutex mu;
  std::vector<slot> slots;
  // Drawn from by every caller retrying (execute()) and by acquire(), which
  // holds mu: the generator has its own lock, so no caller needs mu for it.
  std::mutex rng_mu;
  std::mt19937_64 rng{std::random_device{}()};
  bool closed = false;

  std::atomic<std::uint64_t> n_requests{0}, n_retries{0}, n_throttled{0}, n_reconnects{0}, n_failures{0};

  const client_options& opts() const { return cfg->opts; }

  std::chrono::milliseconds backoff(unsigned attempt) {
    // Exponential with "equal jitter": half fixed, half random.
    auto base = opts().backoff_initial.count() << std::min(attempt, 16u);
    long long cap = std::min<long long>(base, opts().backoff_max.count());
    std::uniform_int_distribution<long long> d(0, std::max<long long>(cap / 2, 0));
    std::lock_guard<std::mutex> lock(rng_mu);
    return std::chrono::milliseconds(cap / 2 + d(rng));
  }

  std::shared_ptr<connection> make_connection() {
    std::shared_ptr<connection> c;
    if (cfg->ep.tls) c = std::make_shared<ws_connection<true>>(ioc, cfg);
    else c = std::make_shared<ws_connection<false>>(ioc, cfg);
    c->start();
    return c;
  }

  // The least-loaded open connection, else one being opened; opens a new one
  // when a slot is free and its backoff has passed. nullptr: none usable now.
  std::shared_ptr<connection> acquire(std::string& why) {
    std::lock_guard<std::mutex> lock(mu);
    if (closed) { why = "client closed"; return nullptr; }
    auto now = std::chrono::steady_clock::now();
    std::shared_ptr<connection> best, connecting;
    bool all_busy = true;
    slot* free_slot = nullptr;
    for (auto& s : slots) {
      if (s.conn && s.conn->get_state() == connection::state::dead) {
        if (s.conn->ever_opened()) s.failures = 0;
        else ++s.failures;
        s.next_try = s.failures ? now + backoff(s.failures - 1) : now;
        s.conn.reset();
      }
      if (!s.conn) {
        if (s.next_try <= now && !free_slot) free_slot = &s;
        continue;
      }
      if (s.conn->get_state() == connection::state::connecting) {
        if (!connecting) connecting = s.conn;
        continue;
      }
      if (s.conn->load() == 0) all_busy = false;
      if (!best || s.conn->load() < best->load()) best = s.conn;
    }
    if (free_slot && (!best || all_busy) && !connecting) {
      free_slot->conn = make_connection();
      n_reconnects.fetch_add(1, std::memory_order_relaxed);
      if (!best) return free_slot->conn;
    }
    if (best) return best;
    if (connecting) return connecting;
    auto soonest = slots.front().next_try;
    for (auto& s : slots) soonest = std::min(soonest, s.next_try);
    why = "cannot reach " + cfg->ep.host + ":" + cfg->ep.port + " (next attempt in " +
          std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(soonest - now).count()) + " ms)";
    return nullptr;
  }

  outcome attempt(const std::string& frame_json_id, std::shared_ptr<const std::string> frame, bool idempotent) {
    std::string why;
    auto conn = acquire(why);
    if (!conn) return transport_failure(why, false);
    auto pr = std::make_shared<std::promise<outcome>>();
    auto fut = pr->get_future();
    conn->send(frame_json_id, std::move(frame), idempotent, opts().request_timeout,
               [pr](outcome o) { pr->set_value(std::move(o)); });
    return fut.get();
  }
};

client::client(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

client::~client() { close(); }

result<std::unique_ptr<client>> client::create(const client_options& opts) {
  auto ep = parse_endpoint(opts.url);
  if (!ep) return std::move(ep).err();
  if (!opts.user.empty() && !ep->tls && !opts.allow_plaintext_auth)
    return error{errc::invalid_argument,
                 "gremlin: refusing to send credentials over plain ws:// (" + ep->host + ":" + ep->port +
                     "): use wss://, or allow it with allow_plaintext_auth "
                     "(tlflow: --gremlin-allow-plaintext-auth, TLFLOW_GREMLIN_ALLOW_PLAINTEXT_AUTH)"};
  auto p = std::make_unique<impl>();
  p->cfg = std::make_shared<shared_config>();
  p->cfg->opts = opts;
  if (p->cfg->opts.pool_size == 0) p->cfg->opts.pool_size = 1;
  p->cfg->ep = *ep;
  if (ep->tls) {
    try {
      auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
      ctx->set_default_verify_paths();
      if (!opts.ca_file.empty()) ctx->load_verify_file(opts.ca_file);
      p->cfg->tls = std::move(ctx);
    } catch (const std::exception& e) {
      return error{errc::invalid_argument, std::string("gremlin TLS setup: ") + e.what()};
    }
  }
  p->slots.resize(p->cfg->opts.pool_size);
  impl* raw = p.get();
  p->thread = std::thread([raw] {
    raw->ioc.run();
    raw->stopped.set_value();
  });
  return std::unique_ptr<client>(new client(std::move(p)));
}

result<std::vector<value>> client::submit(std::string_view script, const value& bindings,
                                          const submit_options& so) {
  auto r = execute(script, bindings, so);
  if (!r) return std::move(r).err();
  return std::move(r->data);
}

result<reply> client::execute(std::string_view script, const value& bindings, const submit_options& so) {
  impl& p = *impl_;
  const client_options& o = p.opts();
  graphson::request req;
  value args = value::object();
  args.put("gremlin", value::string(std::string(script)));
  if (!so.language.empty()) args.put("language", value::string(so.language));
  if (!so.aliases.empty()) {
    value al = value::object();
    for (const auto& [k, v] : so.aliases) al.put(k, value::string(v));
    args.put("aliases", std::move(al));
  }
  if (bindings.is_mapping() && !bindings.items().empty()) req.bindings = &bindings;
  if (so.evaluation_timeout_ms) args.put("evaluationTimeout", value::int64(*so.evaluation_timeout_ms));
  if (so.batch_size) args.put("batchSize", value::int32(*so.batch_size));
  req.args = std::move(args);

  std::chrono::milliseconds slept{0};
  for (unsigned attempt = 0;; ++attempt) {
    req.request_id = graphson::random_uuid();
    std::string json = graphson::write_request(req, o.serializer);
    auto frame = std::make_shared<const std::string>(o.send_binary ? binary_frame(o.serializer, json) : json);
    p.n_requests.fetch_add(1, std::memory_order_relaxed);
    outcome out = p.attempt(req.request_id, std::move(frame), so.idempotent);
    if (out.ok) {
      out.rep.attempts = attempt + 1;
      if (out.rep.request_charge > 0)
        log::debug(component, "request charge ", out.rep.request_charge, " RU");
      return std::move(out.rep);
    }
    bool retry = false;
    std::chrono::milliseconds wait = p.backoff(attempt);
    if (out.transport) {
      retry = !out.sent || so.idempotent;
    } else if (out.action.act == status_action::what::retry ||
               out.action.act == status_action::what::retry_new_connection) {
      retry = true;
      if (out.action.retry_after.count() > 0) wait = out.action.retry_after;
    }
    if (out.action.code == errc::throttled) p.n_throttled.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(p.mu);
      if (p.closed) retry = false;
    }
    if (!retry || attempt >= o.max_retries || slept + wait > o.max_retry_wait) {
      p.n_failures.fetch_add(1, std::memory_order_relaxed);
      return error{out.action.code, out.message};
    }
    p.n_retries.fetch_add(1, std::memory_order_relaxed);
    log::debug(component, "retrying in ", wait.count(), " ms: ", out.message);
    std::this_thread::sleep_for(wait);
    slept += wait;
  }
}

bool client::healthy() {
  auto deadline = std::chrono::steady_clock::now() + impl_->opts().connect_timeout;
  std::string why;
  auto c = impl_->acquire(why);
  if (!c) return false;
  while (c->get_state() == connection::state::connecting && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (c->get_state() != connection::state::open) return false;
  // Open may be stale: a server that just closed the connection is noticed
  // when the close is read. A pong is proof.
  const auto timeout = std::min<std::chrono::milliseconds>(impl_->opts().connect_timeout, std::chrono::seconds(1));
  auto answer = std::make_shared<std::promise<bool>>();
  auto alive = answer->get_future();
  c->check(timeout, [answer](bool ok) { answer->set_value(ok); });
  return alive.wait_for(timeout + std::chrono::seconds(1)) == std::future_status::ready && alive.get();
}

client_stats client::stats() const {
  client_stats s;
  s.requests = impl_->n_requests;
  s.retries = impl_->n_retries;
  s.throttled = impl_->n_throttled;
  s.reconnects = impl_->n_reconnects;
  s.failures = impl_->n_failures;
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (const auto& sl : impl_->slots)
    if (sl.conn && sl.conn->get_state() == connection::state::open) ++s.open_connections;
  return s;
}

void client::close() {
  if (!impl_) return;
  std::vector<std::shared_ptr<connection>> conns;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->closed) return;
    impl_->closed = true;
    for (auto& s : impl_->slots)
      if (s.conn) conns.push_back(std::move(s.conn));
  }
  for (auto& c : conns) c->shutdown();
  conns.clear();
  impl_->guard.reset();
  auto fut = impl_->stopped.get_future();
  if (fut.wait_for(std::chrono::seconds(2)) != std::future_status::ready) impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

} // namespace tlflow::gremlin
