#include "api/export_service.hpp"

#include <openssl/rand.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "api/slice_params.hpp"
#include "util/iso_time.hpp"
#include "util/log.hpp"

namespace tlflow::api {
namespace fs = std::filesystem;
namespace {

constexpr std::size_t piece_bytes = 64 << 10;   // what the writer gathers before handing over
constexpr std::size_t bytes_ahead = 256 << 10;  // what a stream holds for a slow client
constexpr const char* interrupted = "interrupted by restart";

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

result<std::string> random_id() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1)
    return error{errc::internal, "no randomness for a job id"};
  static constexpr char hex[] = "0123456789abcdef";
  std::string id;
  for (unsigned char b : bytes) {
    id += hex[b >> 4];
    id += hex[b & 0xF];
  }
  return id;
}

bool valid_id(const std::string& id) {
  return id.size() == 32 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::optional<job_state> parse_state(std::string_view s) {
  for (auto st : {job_state::queued, job_state::running, job_state::done, job_state::failed,
                  job_state::cancelled})
    if (to_string(st) == s) return st;
  return std::nullopt;
}

bool final_state(job_state s) {
  return s == job_state::done || s == job_state::failed || s == job_state::cancelled;
}

std::string record_json(const export_job& j) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.StartObject();
  w.Key("id"), w.String(j.id.c_str());
  w.Key("format"), w.String(export_format_name(j.format).data());
  w.Key("part"), w.String(export_part_name(j.format).data());
  w.Key("query"), w.String(j.query.c_str(), static_cast<rapidjson::SizeType>(j.query.size()));
  const std::string include = j.include.text();
  w.Key("include"), w.String(include.c_str());
  w.Key("state"), w.String(to_string(j.state).data());
  w.Key("items"), w.Uint64(j.items);
  w.Key("total"), w.Uint64(j.total);
  w.Key("bytes"), w.Uint64(j.bytes);
  w.Key("created"), w.String(j.created.c_str());
  w.Key("finished"), w.String(j.finished.c_str());
  w.Key("finished_at"), w.Int64(j.finished_at);
  w.Key("error"), w.String(j.error.c_str(), static_cast<rapidjson::SizeType>(j.error.size()));
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

std::optional<export_job> parse_record(const std::string& text) {
  rapidjson::Document d;
  if (d.Parse(text.data(), text.size()).HasParseError() || !d.IsObject()) return std::nullopt;
  auto str = [&](const char* k) -> std::optional<std::string> {
    auto it = d.FindMember(k);
    if (it == d.MemberEnd() || !it->value.IsString()) return std::nullopt;
    return std::string(it->value.GetString(), it->value.GetStringLength());
  };
  auto u64 = [&](const char* k) -> std::uint64_t {
    auto it = d.FindMember(k);
    return it != d.MemberEnd() && it->value.IsUint64() ? it->value.GetUint64() : 0;
  };
  export_job j;
  auto id = str("id"), format = str("format"), part = str("part"), state = str("state");
  if (!id || !valid_id(*id) || !format || !part || !state) return std::nullopt;
  try {
    j.format = parse_export_format(*format, *part);
  } catch (const api_error&) {
    return std::nullopt;
  }
  auto st = parse_state(*state);
  if (!st) return std::nullopt;
  j.id = *id;
  j.state = *st;
  j.query = str("query").value_or("");
  j.include = export_include::parse(str("include").value_or(""));
  j.items = u64("items");
  j.total = u64("total");
  j.bytes = u64("bytes");
  j.created = str("created").value_or("");
  j.finished = str("finished").value_or("");
  auto fa = d.FindMember("finished_at");
  j.finished_at = fa != d.MemberEnd() && fa->value.IsInt64() ? fa->value.GetInt64() : 0;
  j.error = str("error").value_or("");
  return j;
}

} // namespace

std::string_view to_string(job_state s) {
  switch (s) {
    case job_state::queued: return "queued";
    case job_state::running: return "running";
    case job_state::done: return "done";
    case job_state::failed: return "failed";
    case job_state::cancelled: return "cancelled";
  }
  return "failed";
}

std::string export_include::text() const {
  if (pagerank && community) return "pagerank,community";
  return pagerank ? "pagerank" : community ? "community" : "";
}

export_include export_include::parse(std::string_view text) {
  export_include in;
  std::size_t at = 0;
  while (at <= text.size()) {
    auto comma = text.find(',', at);
    if (comma == std::string_view::npos) comma = text.size();
    const auto name = text.substr(at, comma - at);
    if (name == "pagerank") in.pagerank = true;
    if (name == "community") in.community = true;
    at = comma + 1;
  }
  return in;
}

double export_job::progress() const {
  if (state == job_state::done) return 1.0;
  if (total == 0) return 0.0;
  // The total is an estimate (writes go on): never claim completion early.
  return std::min(0.99, static_cast<double>(items) / static_cast<double>(total));
}

std::string export_job::file_name() const {
  std::string name = "tlflow-export-" + id;
  if (auto part = export_part_name(format); !part.empty()) name += "-" + std::string(part);
  return name + "." + std::string(export_extension(format));
}

// ---- streamed exports ---------------------------------------------------------

// The bridge between scan (pushing, on the export's thread) and the server
// (pulling, one piece after the previous one was written).
class export_service::stream_producer final : public body_producer, public scan_sink {
public:
  stream_producer(export_format f, std::shared_ptr<const vertex_extras> extras)
      : extras_(std::move(extras)), writer_(make_export_writer(f, extras_.get())) {}

  void next(deliver_fn deliver) override {
    std::unique_lock<std::mutex> lk(mu_);
    if (!ready_.empty()) {
      std::string piece = std::move(ready_.front());
      ready_.pop_front();
      queued_ -= piece.size();
      cv_.notify_all();
      lk.unlock();
      return deliver(std::move(piece));
    }
    if (finished_) {
      lk.unlock();
      return deliver(std::nullopt);
    }
    waiting_ = std::move(deliver);
  }
  void cancel() override {
    std::lock_guard<std::mutex> lk(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }
  bool failed() const override {
    std::lock_guard<std::mutex> lk(mu_);
    return failed_;
  }

  // On the export's thread.
  void run(graph_store& store, const slice& s) {
    writer_->begin(buf_);
    auto st = store.scan(s, *this);
    if (st) {
      writer_->end(buf_);
      st = push(std::move(buf_));
    }
    if (!st && !is_cancelled())
      log::warn("export", "streamed export failed: ", st.err().message);
    finish(!st);
  }

  status vertices(std::vector<vertex_view>& chunk) override {
    writer_->vertices(chunk, buf_);
    return maybe_push();
  }
  status edges(std::vector<edge>& chunk) override {
    writer_->edges(chunk, buf_);
    return maybe_push();
  }

private:
  bool is_cancelled() const {
    std::lock_guard<std::mutex> lk(mu_);
    return cancelled_;
  }
  status maybe_push() {
    if (buf_.size() < piece_bytes) return is_cancelled() ? cancelled() : status(ok_v);
    std::string text;
    std::swap(text, buf_);
    buf_.reserve(piece_bytes * 2);
    return push(std::move(text));
  }
  static status cancelled() { return error{errc::overloaded, "export cancelled"}; }
  // Hands `text` over in pieces of at most piece_bytes, each waiting until
  // the pieces not yet taken by the server are under bytes_ahead.
  status push(std::string text) {
    const bool whole = text.size() <= piece_bytes;
    const std::size_t size = text.size();
    for (std::size_t at = 0; at < size; at += piece_bytes) {
      std::string piece = whole ? std::move(text) : text.substr(at, piece_bytes);
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [&] { return queued_ + piece.size() <= bytes_ahead || ready_.empty() || cancelled_; });
      if (cancelled_) return cancelled();
      if (waiting_) {
        auto deliver = std::move(waiting_);
        waiting_ = nullptr;
        lk.unlock();
        deliver(std::move(piece));
      } else {
        queued_ += piece.size();
        ready_.push_back(std::move(piece));
      }
      if (whole) break;
    }
    return ok_v;
  }
  void finish(bool failed) {
    std::unique_lock<std::mutex> lk(mu_);
    finished_ = true;
    failed_ = failed;
    if (waiting_) {
      auto deliver = std::move(waiting_);
      waiting_ = nullptr;
      lk.unlock();
      deliver(std::nullopt);
    }
  }

  std::shared_ptr<const vertex_extras> extras_;
  std::unique_ptr<export_writer> writer_;
  std::string buf_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> ready_;
  std::size_t queued_ = 0;  // bytes in ready_
  deliver_fn waiting_;
  bool finished_ = false;
  bool failed_ = false;
  bool cancelled_ = false;
};

// ---- jobs -------------------------------------------------------------------

// Writes a job's file, counting items for its progress.
class export_service::file_sink final : public scan_sink {
public:
  file_sink(std::FILE* f, export_format fmt, const vertex_extras* extras,
            std::shared_ptr<std::atomic<bool>> cancel, std::atomic<std::uint64_t>& items)
      : f_(f), writer_(make_export_writer(fmt, extras)), cancel_(std::move(cancel)), items_(items) {}

  status begin() {
    writer_->begin(buf_);
    return flush(false);
  }
  status vertices(std::vector<vertex_view>& chunk) override {
    writer_->vertices(chunk, buf_);
    items_ += chunk.size();
    return flush(false);
  }
  status edges(std::vector<edge>& chunk) override {
    writer_->edges(chunk, buf_);
    items_ += chunk.size();
    return flush(false);
  }
  status end() {
    writer_->end(buf_);
    return flush(true);
  }

private:
  status flush(bool all) {
    if (*cancel_) return error{errc::overloaded, "export cancelled"};
    if (!all && buf_.size() < piece_bytes) return ok_v;
    if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size())
      return error{errc::io_error, std::string("cannot write the export: ") + std::strerror(errno)};
    buf_.clear();
    return ok_v;
  }
  std::FILE* f_;
  std::unique_ptr<export_writer> writer_;
  std::shared_ptr<std::atomic<bool>> cancel_;
  std::atomic<std::uint64_t>& items_;
  std::string buf_;
};

export_service::export_service(graph_store& store, export_options options)
    : store_(store), options_(std::move(options)) {}

export_service::~export_service() { close(); }

status export_service::open() {
  std::error_code ec;
  if (options_.dir.empty()) {
    // Ephemeral: the directory is made by the first job (a process killed
    // without one leaves nothing behind).
    temporary_dir_ = true;
  } else {
    fs::create_directories(options_.dir, ec);
    if (ec) return error{errc::io_error, "cannot create " + options_.dir + ": " + ec.message()};
  }
  if (!temporary_dir_) {
    std::lock_guard<std::mutex> lk(mu_);
    for (const auto& de : fs::directory_iterator(options_.dir, ec)) {
      const auto& p = de.path();
      if (p.extension() == ".part" || p.extension() == ".tmp") {
        fs::remove(p, ec);  // a job (or a record) the last process did not finish
        continue;
      }
      if (p.extension() != ".record") continue;
      std::ifstream in(p);
      std::stringstream text;
      text << in.rdbuf();
      auto job = parse_record(text.str());
      if (!job || p.stem().string() != job->id) {
        log::warn("export", "ignoring unreadable job record ", p.filename().string());
        continue;
      }
      if (!final_state(job->state)) {
        job->state = job_state::failed;
        job->error = interrupted;
        job->finished = now_iso8601();
        job->finished_at = now_seconds();
        if (auto st = save(*job); !st) return st;
      } else if (job->state == job_state::done && !fs::exists(path_of(*job, false))) {
        job->state = job_state::failed;
        job->error = "the file is gone";
        if (auto st = save(*job); !st) return st;
      }
      jobs_[job->id].job = std::move(*job);
    }
    if (ec) return error{errc::io_error, "cannot read " + options_.dir + ": " + ec.message()};
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    opened_ = true;
  }
  sweep();
  for (std::size_t i = 0; i < std::max<std::size_t>(1, options_.max_running); ++i)
    workers_.emplace_back([this] { run_jobs(); });
  housekeeper_ = std::thread([this] { housekeeping(); });
  return ok_v;
}

void export_service::close() {
  std::list<stream_thread> streams;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& [id, e] : jobs_) *e.cancel = true;
    streams.swap(streams_);
    cv_.notify_all();
  }
  for (auto& s : streams) s.producer->cancel();
  for (auto& s : streams) s.thread.join();
  for (auto& w : workers_) w.join();
  workers_.clear();
  if (housekeeper_.joinable()) housekeeper_.join();
  if (temporary_dir_ && !options_.dir.empty()) {
    std::error_code ec;
    fs::remove_all(options_.dir, ec);
  }
}

void export_service::reap_streams() {
  for (auto it = streams_.begin(); it != streams_.end();) {
    if (*it->done) {
      it->thread.join();
      it = streams_.erase(it);
    } else {
      ++it;
    }
  }
}

result<std::shared_ptr<body_producer>> export_service::stream(export_format f, const slice& s,
                                                              const export_include& include) {
  if (options_.stream_edge_limit > 0) {
    auto edges = store_.count_edges();
    if (!edges) return std::move(edges).err();
    if (*edges > options_.stream_edge_limit)
      return error{errc::too_expensive,
                   "the store holds " + std::to_string(*edges) + " edges; exports of more than " +
                       std::to_string(options_.stream_edge_limit) +
                       " edges from this store run as jobs: POST /exports"};
  }
  if (include.any() && !options_.extras)
    return error{errc::invalid_argument, "include: the analytics are not available here"};
  {
    std::lock_guard<std::mutex> lk(mu_);
    reap_streams();
    if (streams_.size() >= options_.max_streams)
      return error{errc::throttled, "at most " + std::to_string(options_.max_streams) +
                                        " streamed exports at once; try again or POST /exports"};
  }
  std::shared_ptr<const vertex_extras> extras;
  if (include.any()) {
    auto x = options_.extras(s, include);
    if (!x) return std::move(x).err();
    extras = std::move(*x);
  }
  std::lock_guard<std::mutex> lk(mu_);
  if (stopping_) return error{errc::overloaded, "shutting down"};
  if (streams_.size() >= options_.max_streams)
    return error{errc::throttled, "at most " + std::to_string(options_.max_streams) +
                                      " streamed exports at once; try again or POST /exports"};
  auto producer = std::make_shared<stream_producer>(f, std::move(extras));
  auto done = std::make_shared<std::atomic<bool>>(false);
  stream_thread t;
  t.producer = producer;
  t.done = done;
  t.thread = std::thread([this, producer, done, s] {
    producer->run(store_, s);
    *done = true;
  });
  streams_.push_back(std::move(t));
  return std::shared_ptr<body_producer>(producer);
}

std::string export_service::path_of(const export_job& job, bool part) const {
  std::string p = (fs::path(options_.dir) / (job.id + "." + std::string(export_extension(job.format)))).string();
  if (job.format == export_format::csv_nodes) p.insert(p.size() - 4, "-nodes");
  if (job.format == export_format::csv_edges) p.insert(p.size() - 4, "-edges");
  return part ? p + ".part" : p;
}

void export_service::erase_files(const export_job& job) {
  std::error_code ec;
  fs::remove(path_of(job, true), ec);
  fs::remove(path_of(job, false), ec);
  fs::remove(fs::path(options_.dir) / (job.id + ".record"), ec);
}

status export_service::save(const export_job& job) {
  const fs::path path = fs::path(options_.dir) / (job.id + ".record");
  const std::string tmp = path.string() + ".tmp";
  const std::string text = record_json(job);
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return error{errc::io_error, "cannot write " + tmp + ": " + std::strerror(errno)};
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = std::fflush(f) == 0 && ok;
  ok = ::fsync(::fileno(f)) == 0 && ok;
  ok = std::fclose(f) == 0 && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0)
    return error{errc::io_error, "cannot write " + path.string() + ": " + std::strerror(errno)};
  return ok_v;
}

result<export_job> export_service::start(export_format f, const slice& s,
                                         const export_include& include) {
  if (include.any() && !options_.extras)
    return error{errc::invalid_argument, "include: the analytics are not available here"};
  auto id = random_id();
  if (!id) return std::move(id).err();
  std::lock_guard<std::mutex> lk(mu_);
  if (stopping_ || !opened_) return error{errc::overloaded, "shutting down"};
  if (temporary_dir_ && options_.dir.empty()) {
    std::error_code ec;
    std::string tmpl = (fs::temp_directory_path(ec) / "tlflow-exports-XXXXXX").string();
    if (ec || ::mkdtemp(tmpl.data()) == nullptr)
      return error{errc::io_error, "cannot create a temporary export directory"};
    options_.dir = tmpl;
  }
  if (queue_.size() >= options_.max_queued)
    return error{errc::throttled,
                 std::to_string(queue_.size()) + " export jobs are waiting already; try later"};
  entry e;
  e.job.id = *id;
  e.job.format = f;
  e.job.query = slice_query(s);
  e.job.include = include;
  e.job.created = now_iso8601();
  if (auto st = save(e.job); !st) return std::move(st).err();
  auto job = e.job;
  jobs_.emplace(*id, std::move(e));
  queue_.push_back(*id);
  cv_.notify_all();
  return job;
}

void export_service::run_jobs() {
  for (;;) {
    std::string id;
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      id = std::move(queue_.front());
      queue_.pop_front();
    }
    run_one(id);
  }
}

void export_service::run_one(const std::string& id) {
  std::shared_ptr<std::atomic<bool>> cancel;
  export_job job;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = jobs_.find(id);
    if (it == jobs_.end() || it->second.job.state != job_state::queued) return;
    it->second.job.state = job_state::running;
    cancel = it->second.cancel;
    job = it->second.job;
  }
  std::atomic<std::uint64_t> items{0};
  auto publish = [&](std::optional<job_state> outcome, const std::string& why) {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return;
    auto& j = it->second.job;
    j.items = items;
    j.total = job.total;
    if (outcome && j.state == job_state::running) {
      j.state = *outcome;
      j.error = why;
      j.bytes = job.bytes;
      j.finished = now_iso8601();
      j.finished_at = now_seconds();
    }
    // A cancelled job was saved by remove(); a record removed meanwhile is gone.
    if (auto st = save(j); !st) log::warn("export", "job record: ", st.err().message);
  };
  publish(std::nullopt, {});

  // Estimate for the progress; a slice holds at most this much.
  auto nv = store_.count_vertices();
  auto ne = store_.count_edges();
  job.total = (nv ? *nv : 0) + (ne ? *ne : 0);

  slice s;
  {
    request q;
    auto parsed = parse_query(job.query);
    if (parsed) q.query = std::move(*parsed);
    try {
      s = parse_slice(q);
    } catch (const api_error& e) {  // written by slice_query: never
      publish(job_state::failed, e.what());
      return;
    }
  }

  std::shared_ptr<const vertex_extras> extras;
  if (job.include.any()) {
    if (!options_.extras) {
      publish(job_state::failed, "include: the analytics are not available here");
      return;
    }
    auto x = options_.extras(s, job.include);
    if (!x) {
      publish(job_state::failed, "include: " + x.err().message);
      return;
    }
    extras = std::move(*x);
  }

  const std::string part = path_of(job, true);
  std::FILE* f = std::fopen(part.c_str(), "wb");
  status st = ok_v;
  if (f == nullptr) {
    st = error{errc::io_error, "cannot create " + part + ": " + std::strerror(errno)};
  } else {
    file_sink sink(f, job.format, extras.get(), cancel, items);
    // Progress is published from here while the scan runs, every 64 KiB.
    struct progress_sink final : scan_sink {
      file_sink& inner;
      std::function<void()> tick;
      std::chrono::steady_clock::time_point last = std::chrono::steady_clock::now();
      progress_sink(file_sink& i, std::function<void()> t) : inner(i), tick(std::move(t)) {}
      void maybe_tick() {
        auto now = std::chrono::steady_clock::now();
        if (now - last < std::chrono::milliseconds(250)) return;
        last = now;
        tick();
      }
      status vertices(std::vector<vertex_view>& c) override {
        auto r = inner.vertices(c);
        maybe_tick();
        return r;
      }
      status edges(std::vector<edge>& c) override {
        auto r = inner.edges(c);
        maybe_tick();
        return r;
      }
    } progress(sink, [&] {
      std::lock_guard<std::mutex> lk(mu_);
      auto it = jobs_.find(id);
      if (it != jobs_.end()) {
        it->second.job.items = items;
        it->second.job.total = job.total;
      }
    });
    st = sink.begin();
    if (st) st = store_.scan(s, progress);
    if (st) st = sink.end();
    bool ok = std::fflush(f) == 0;
    ok = ::fsync(::fileno(f)) == 0 && ok;
    ok = std::fclose(f) == 0 && ok;
    if (st && !ok) st = error{errc::io_error, "cannot write " + part + ": " + std::strerror(errno)};
  }
  std::error_code ec;
  if (*cancel) {
    fs::remove(part, ec);
    publish(job_state::cancelled, {});
    return;
  }
  if (!st) {
    fs::remove(part, ec);
    log::warn("export", "job ", id, " failed: ", st.err().message);
    publish(job_state::failed, st.err().message);
    return;
  }
  job.bytes = fs::file_size(part, ec);
  if (std::rename(part.c_str(), path_of(job, false).c_str()) != 0) {
    publish(job_state::failed, std::string("cannot rename the export: ") + std::strerror(errno));
    return;
  }
  publish(job_state::done, {});
}

result<export_job> export_service::get(const std::string& id) {
  sweep();
  std::lock_guard<std::mutex> lk(mu_);
  auto it = valid_id(id) ? jobs_.find(id) : jobs_.end();
  if (it == jobs_.end()) return error{errc::not_found, "no export job " + id};
  return it->second.job;
}

result<std::string> export_service::file_path(const std::string& id) {
  auto job = get(id);
  if (!job) return std::move(job).err();
  if (job->state != job_state::done)
    return error{errc::conflict, "export job " + id + " is " + std::string(to_string(job->state)) +
                                     ", not done"};
  return path_of(*job, false);
}

result<std::optional<export_job>> export_service::remove(const std::string& id) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = valid_id(id) ? jobs_.find(id) : jobs_.end();
  if (it == jobs_.end()) return error{errc::not_found, "no export job " + id};
  auto& j = it->second.job;
  if (!final_state(j.state)) {
    *it->second.cancel = true;
    queue_.erase(std::remove(queue_.begin(), queue_.end(), id), queue_.end());
    j.state = job_state::cancelled;
    j.finished = now_iso8601();
    j.finished_at = now_seconds();
    if (auto st = save(j); !st) return std::move(st).err();
    return std::optional<export_job>(j);
  }
  erase_files(j);
  jobs_.erase(it);
  return std::optional<export_job>();
}

void export_service::sweep() {
  const std::int64_t cutoff = now_seconds() - options_.retention.count();
  std::lock_guard<std::mutex> lk(mu_);
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    const auto& j = it->second.job;
    if (final_state(j.state) && j.finished_at <= cutoff) {
      erase_files(j);
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
}

void export_service::housekeeping() {
  const auto every = std::clamp<std::chrono::seconds>(options_.retention / 2, std::chrono::seconds(1),
                                                       std::chrono::seconds(60));
  std::unique_lock<std::mutex> lk(mu_);
  while (!stopping_) {
    cv_.wait_for(lk, every, [&] { return stopping_; });
    if (stopping_) return;
    lk.unlock();
    sweep();
    lk.lock();
  }
}

} // namespace tlflow::api
