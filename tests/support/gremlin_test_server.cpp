// Threading: one I/O thread runs the acceptor and every session (one
// implicit strand); evaluation runs on it too, under state::graph_mu so that
// tests may inspect the evaluator from their own thread.
#include "support/gremlin_test_server.hpp"

#include <atomic>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include "gremlin/protocol.hpp"
#include "support/gremlin_graph_evaluator.hpp"

namespace tlflow::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
namespace gs = gremlin::graphson;
using gs::value;

class gremlin_session;

struct gremlin_test_server::state : std::enable_shared_from_this<gremlin_test_server::state> {
  gremlin_test_server_options opts;
  net::io_context ioc{1};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> guard;
  std::thread thread;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::uint16_t port = 0;
  std::set<std::shared_ptr<gremlin_session>> sessions; // I/O thread only
  bool stalled = false;                                 // I/O thread only

  std::mutex mu; // fault knobs and last script
  std::chrono::milliseconds delay{0};
  unsigned close_mid = 0, throttle = 0, fail = 0, drop_after = 0;
  int fail_code = 0;
  bool drop_armed = false;
  std::string retry_after;
  std::string last_script;

  std::atomic<std::uint64_t> evals{0}, challenges{0}, accepted{0};

  void do_accept();
};

namespace {

struct fault {
  bool close_mid = false, throttle = false, drop = false;
  int fail_code = 0;
  std::string retry_after;
  std::chrono::milliseconds delay{0};
};

} // namespace

class gremlin_session : public std::enable_shared_from_this<gremlin_session> {
public:
  gremlin_session(tcp::socket s, std::shared_ptr<gremlin_test_server::state> st)
      : ws_(std::move(s)), st_(std::move(st)) {}

  void run() {
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ignored);
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.read_message_max(64u << 20);
    ws_.async_accept(beast::bind_front_handler(&gremlin_session::on_accept, shared_from_this()));
  }

  void close() {
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().close(ec);
  }

  // After stall(false): reads again if a stall stopped it.
  void resume() {
    if (std::exchange(stopped_reading_, false)) do_read();
  }

private:
  struct out_msg { std::string bytes; bool binary; bool close_after; };

  void on_accept(beast::error_code ec) {
    if (ec) return finish();
    do_read();
  }

  void do_read() {
    ws_.async_read(buf_, beast::bind_front_handler(&gremlin_session::on_read, shared_from_this()));
  }

  void finish() {
    close();
    st_->sessions.erase(shared_from_this());
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return finish();
    if (st_->stalled) { // the message goes unanswered, and no read answers pings
      buf_.consume(buf_.size());
      stopped_reading_ = true;
      return;
    }
    std::string payload = beast::buffers_to_string(buf_.data());
    buf_.consume(buf_.size());
    bool binary = ws_.got_binary();
    handle(payload, binary);
    do_read();
  }

  void send(const gs::response& r, gs::version v, bool binary, bool close_after = false) {
    gs::version out = st_->opts.cosmos ? gs::version::v1 : v;
    queue_.push_back(out_msg{gs::write_response(r, out), binary, close_after});
    if (!writing_) do_write();
  }

  void do_write() {
    writing_ = true;
    ws_.binary(queue_.front().binary);
    ws_.async_write(net::buffer(queue_.front().bytes),
                    beast::bind_front_handler(&gremlin_session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (ec) return finish();
    bool close_after = queue_.front().close_after;
    queue_.pop_front();
    if (close_after) return finish();
    if (!queue_.empty()) do_write();
  }

  value attrs() const {
    value a = value::object();
    if (st_->opts.cosmos) {
      a.put("x-ms-request-charge", value::number(2.5));
      a.put("x-ms-total-request-charge", value::number(2.5));
      a.put("x-ms-status-code", value::integer(200));
      a.put("x-ms-activity-id", value::string(gs::random_uuid()));
    }
    return a;
  }

  gs::response status_only(const std::string& id, int code, std::string msg) const {
    gs::response r;
    r.request_id = id;
    r.code = code;
    r.message = std::move(msg);
    r.attributes = attrs();
    return r;
  }

  void handle(const std::string& payload, bool binary) {
    gs::version v = gs::version::v3; // text frames: application/json = GraphSON 3
    std::string_view body = payload;
    if (binary) {
      auto f = gremlin::parse_binary_frame(payload);
      auto ver = f ? gs::version_from_mime(f->mime) : std::nullopt;
      if (!f || !ver) {
        gs::response r;
        r.code = 498;
        r.message = "Message could not be parsed. Check the format of the request.";
        send(r, v, binary);
        return;
      }
      v = *ver;
      body = f->body;
    }
    auto req = gs::read_request(body, v);
    if (!req) {
      gs::response r;
      r.code = 498;
      r.message = "Message could not be parsed. Check the format of the request.";
      send(r, v, binary);
      return;
    }
    if (req->op == "authentication") return authenticate(*req, v, binary);
    if (req->op != "eval") {
      send(status_only(req->request_id, 499, "Message with op code [" + req->op + "] is not recognized."), v, binary);
      return;
    }
    if (!st_->opts.user.empty() && !authenticated_) {
      saved_[req->request_id] = *req;
      last_saved_ = req->request_id;
      ++st_->challenges;
      send(status_only(req->request_id, 407, ""), v, binary);
      return;
    }
    eval(*req, v, binary);
  }

  void authenticate(const gs::request& req, gs::version v, bool binary) {
    const value* sasl = req.args.get("sasl");
    if (!sasl) {
      send(status_only(req.request_id, 401, "Failed to authenticate"), v, binary);
      return;
    }
    if (!sasl->is_string()) {
      send(status_only(req.request_id, 498, "Invalid SASL payload"), v, binary);
      return;
    }
    auto raw = gremlin::base64_decode(sasl->as_string());
    std::string expect = std::string(1, '\0') + st_->opts.user + std::string(1, '\0') + st_->opts.password;
    // Which saved request this answers: the same id (gremlin-python) or the
    // latest challenged one (the Java driver uses a fresh id).
    auto it = saved_.find(req.request_id);
    if (it == saved_.end()) it = saved_.find(last_saved_);
    if (!raw || *raw != expect) {
      send(status_only(it != saved_.end() ? it->first : req.request_id, 401,
                       "Username and/or password are incorrect"),
           v, binary);
      if (it != saved_.end()) saved_.erase(it);
      return;
    }
    authenticated_ = true;
    std::vector<gs::request> run;
    for (auto& [id, r] : saved_) run.push_back(r);
    saved_.clear();
    for (auto& r : run) eval(r, v, binary);
  }

  fault take_fault() {
    fault f;
    std::lock_guard<std::mutex> lock(st_->mu);
    f.delay = st_->delay;
    if (st_->drop_armed) {
      if (st_->drop_after == 0) { f.drop = true; st_->drop_armed = false; return f; }
      --st_->drop_after;
    }
    if (st_->fail > 0) { --st_->fail; f.fail_code = st_->fail_code; return f; }
    if (st_->throttle > 0) { --st_->throttle; f.throttle = true; f.retry_after = st_->retry_after; return f; }
    if (st_->close_mid > 0) { --st_->close_mid; f.close_mid = true; }
    return f;
  }

  void eval(const gs::request& req, gs::version v, bool binary) {
    ++st_->evals;
    fault f = take_fault();
    if (f.delay.count() > 0) {
      auto t = std::make_shared<net::steady_timer>(ws_.get_executor(), f.delay);
      t->async_wait([self = shared_from_this(), t, req, v, binary, f](beast::error_code) {
        self->run_eval(req, v, binary, f);
      });
      return;
    }
    run_eval(req, v, binary, f);
  }

  void run_eval(const gs::request& req, gs::version v, bool binary, const fault& f) {
    if (f.drop) return finish();
    const value* script = req.args.get("gremlin");
    if (!script || !script->is_string()) {
      send(status_only(req.request_id, 499,
                       "A message with an [eval] op code requires a [gremlin] argument."),
           v, binary);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(st_->mu);
      st_->last_script = script->as_string();
    }
    if (f.fail_code) {
      send(status_only(req.request_id, f.fail_code, "injected failure " + std::to_string(f.fail_code)), v, binary);
      return;
    }
    if (f.throttle) {
      gs::response r = status_only(req.request_id, 500,
                                   "\r\n\nActivityId : 0\nExceptionType : DocumentClientException\n"
                                   "ExceptionMessage : Request rate is large");
      value a = value::object();
      a.put("x-ms-retry-after-ms", value::string(f.retry_after));
      a.put("x-ms-substatus-code", value::integer(3200));
      a.put("x-ms-status-code", value::integer(429));
      a.put("x-ms-request-charge", value::number(0.0));
      a.put("x-ms-activity-id", value::string(gs::random_uuid()));
      r.attributes = std::move(a);
      send(r, v, binary);
      return;
    }
    static const value no_bindings = value::object();
    const value* found = req.args.get("bindings");
    const value& bindings = found && found->is_mapping() ? *found : no_bindings;
    std::size_t n_bindings = bindings.items().size() / 2; // key, value pairs
    if (!st_->opts.cosmos && st_->opts.max_parameters > 0 && n_bindings > st_->opts.max_parameters) {
      send(status_only(req.request_id, 499,
                       "The [eval] message contains " + std::to_string(n_bindings) +
                           " bindings which is more than is allowed by the server " +
                           std::to_string(st_->opts.max_parameters) + " configuration"),
           v, binary);
      return;
    }
    // A script that reads its bindings from one map (bb.b_x, as a Groovy
    // engine would) is evaluated as the template it was made from.
    result<std::vector<value>> res = error{errc::internal, ""};
    if (bindings.get("bb")) {
      gremlin::script_request unpacked = gremlin::unpack_bindings(script->as_string(), bindings);
      res = st_->opts.evaluator(unpacked.script, unpacked.bindings);
    } else {
      res = st_->opts.evaluator(std::string(script->as_string()), bindings);
    }
    if (!res) {
      send(status_only(req.request_id, 597, res.err().message), v, binary);
      return;
    }
    std::size_t batch = 64;
    if (const value* bs = req.args.get("batchSize"); bs && bs->is_numeric() && bs->as_int() > 0)
      batch = static_cast<std::size_t>(bs->as_int());
    auto& items = *res;
    if (items.empty()) {
      send(status_only(req.request_id, 204, ""), v, binary);
      return;
    }
    for (std::size_t i = 0; i < items.size(); i += batch) {
      bool last = i + batch >= items.size();
      gs::response r = status_only(req.request_id, last ? 200 : 206, "");
      std::vector<value> chunk(items.begin() + static_cast<std::ptrdiff_t>(i),
                               items.begin() + static_cast<std::ptrdiff_t>(std::min(items.size(), i + batch)));
      r.data = value::list(std::move(chunk));
      if (f.close_mid && !last) {
        send(r, v, binary, /*close_after=*/true);
        return;
      }
      if (f.close_mid && last) { // a single batch: close before answering
        finish();
        return;
      }
      send(r, v, binary);
    }
  }

  websocket::stream<beast::tcp_stream> ws_;
  std::shared_ptr<gremlin_test_server::state> st_;
  beast::flat_buffer buf_;
  std::deque<out_msg> queue_;
  bool writing_ = false;
  bool authenticated_ = false;
  bool stopped_reading_ = false;
  std::unordered_map<std::string, gs::request> saved_;
  std::string last_saved_;
};

void gremlin_test_server::state::do_accept() {
  if (!acceptor) return;
  acceptor->async_accept(net::make_strand(ioc), [self = shared_from_this()](beast::error_code ec, tcp::socket s) {
    if (ec) return; // stopped
    ++self->accepted;
    auto sess = std::make_shared<gremlin_session>(std::move(s), self);
    self->sessions.insert(sess);
    sess->run();
    self->do_accept();
  });
}

gremlin_test_server::gremlin_test_server(gremlin_test_server_options opts)
    : st_(std::make_shared<state>()) {
  if (!opts.evaluator) opts.evaluator = make_graph_evaluator();
  st_->opts = std::move(opts);
  st_->port = st_->opts.port;
  st_->guard.emplace(st_->ioc.get_executor());
  st_->thread = std::thread([s = st_.get()] { s->ioc.run(); });
  start();
}

gremlin_test_server::~gremlin_test_server() {
  stop();
  st_->guard.reset();
  st_->ioc.stop();
  if (st_->thread.joinable()) st_->thread.join();
  // The handlers of the operations stop() aborted hold the state (which
  // owns the io_context that holds them), and so do the sessions: run the
  // handlers here and drop the sessions, or the state is never freed.
  st_->ioc.restart();
  st_->ioc.poll();
  st_->sessions.clear();
}

void gremlin_test_server::start() {
  std::promise<void> done;
  net::post(st_->ioc, [this, &done] {
    auto a = std::make_unique<tcp::acceptor>(st_->ioc);
    tcp::endpoint ep(net::ip::make_address("127.0.0.1"), st_->port);
    a->open(ep.protocol());
    a->set_option(net::socket_base::reuse_address(true));
    a->bind(ep);
    a->listen();
    st_->port = a->local_endpoint().port();
    st_->acceptor = std::move(a);
    st_->do_accept();
    done.set_value();
  });
  done.get_future().get();
}

void gremlin_test_server::stop() {
  std::promise<void> done;
  net::post(st_->ioc, [this, &done] {
    if (st_->acceptor) {
      beast::error_code ec;
      st_->acceptor->close(ec);
      st_->acceptor.reset();
    }
    auto sessions = st_->sessions;
    for (auto& s : sessions) s->close();
    done.set_value();
  });
  done.get_future().get();
}

std::uint16_t gremlin_test_server::port() const { return st_->port; }
std::string gremlin_test_server::url() const {
  return "ws://127.0.0.1:" + std::to_string(st_->port) + "/gremlin";
}

void gremlin_test_server::stall(bool on) {
  std::promise<void> done;
  net::post(st_->ioc, [this, on, &done] {
    st_->stalled = on;
    if (!on)
      for (auto& s : st_->sessions) s->resume();
    done.set_value();
  });
  done.get_future().get();
}

void gremlin_test_server::set_delay(std::chrono::milliseconds d) {
  std::lock_guard<std::mutex> lock(st_->mu);
  st_->delay = d;
}
void gremlin_test_server::close_mid_stream_next(unsigned n) {
  std::lock_guard<std::mutex> lock(st_->mu);
  st_->close_mid = n;
}
void gremlin_test_server::throttle_next(unsigned n, std::string retry_after) {
  std::lock_guard<std::mutex> lock(st_->mu);
  st_->throttle = n;
  st_->retry_after = std::move(retry_after);
}
void gremlin_test_server::fail_next(unsigned n, int code) {
  std::lock_guard<std::mutex> lock(st_->mu);
  st_->fail = n;
  st_->fail_code = code;
}
void gremlin_test_server::drop_connection_after(unsigned n) {
  std::lock_guard<std::mutex> lock(st_->mu);
  st_->drop_after = n;
  st_->drop_armed = true;
}
std::uint64_t gremlin_test_server::eval_requests() const { return st_->evals; }
std::uint64_t gremlin_test_server::auth_challenges() const { return st_->challenges; }
std::uint64_t gremlin_test_server::connections_accepted() const { return st_->accepted; }
std::string gremlin_test_server::last_script() const {
  std::lock_guard<std::mutex> lock(st_->mu);
  return st_->last_script;
}

} // namespace tlflow::test
