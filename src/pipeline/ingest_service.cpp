#include "pipeline/ingest_service.hpp"

#include <filesystem>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "pipeline/extract_adapter.hpp"
#include "sources/file_source.hpp"
#include "sources/jetstream_source.hpp"
#include "sources/mastodon_source.hpp"
#include "sources/x_source.hpp"
#include "util/log.hpp"

namespace tlflow {

void write_ingest_members(rapidjson::Writer<rapidjson::StringBuffer>& w, const ingest_status& s) {
  auto str = [&](const std::string& v) { w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size())); };
  const ingest_stats& p = s.pipeline;
  w.Key("messages"); w.Uint64(p.messages);
  w.Key("posts"); w.Uint64(p.posts);
  w.Key("interactions"); w.Uint64(p.interactions);
  w.Key("duplicates"); w.Uint64(p.duplicates);
  w.Key("filtered"); w.Uint64(p.filtered);
  w.Key("notices"); w.Uint64(p.notices);
  w.Key("malformed");
  w.StartObject();
  w.Key("total"); w.Uint64(p.malformed);
  w.Key("by_reason");
  w.StartObject();
  for (const auto& [reason, n] : p.malformed_by_reason) {
    w.Key(reason.c_str(), static_cast<rapidjson::SizeType>(reason.size()));
    w.Uint64(n);
  }
  w.EndObject();
  w.EndObject();
  w.Key("batches"); w.Uint64(p.batches);
  w.Key("store_errors"); w.Uint64(p.store_errors);
  w.Key("lost"); w.Uint64(p.lost);
  w.Key("queue");
  w.StartObject();
  w.Key("depth"); w.Uint64(p.queue_depth);
  w.Key("capacity"); w.Uint64(p.queue_capacity);
  w.EndObject();
  w.Key("seen_posts"); w.Uint64(p.seen_posts);
  w.Key("sources");
  w.StartArray();
  for (const auto& src : s.sources) {
    w.StartObject();
    w.Key("name"); str(src.name);
    w.Key("connected"); w.Bool(src.connected);
    w.Key("finished"); w.Bool(src.finished);
    w.Key("connections"); w.Uint64(src.connections);
    w.Key("reconnects"); w.Uint64(src.reconnects);
    w.Key("messages"); w.Uint64(src.messages);
    w.Key("bytes"); w.Uint64(src.bytes);
    w.Key("errors"); w.Uint64(src.errors);
    w.Key("last_message_at");
    if (src.last_message_at.empty()) w.Null(); else str(src.last_message_at);
    w.Key("last_error");
    if (src.last_error.empty()) w.Null(); else str(src.last_error);
    w.EndObject();
  }
  w.EndArray();
}

std::string to_json(const ingest_status& s) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  write_ingest_members(w, s);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

ingest_service::ingest_service(const config& cfg, graph_store& store, metrics_registry& metrics,
                               tracking& track, ingest_options opts)
    : cfg_(cfg), store_(store), metrics_(metrics), tracking_(track), opts_(std::move(opts)) {}

ingest_service::~ingest_service() { stop(); }

status ingest_service::start() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (started_) return ok_v;
  const std::string data_dir = cfg_.ephemeral ? std::string() : cfg_.data_dir;
  if (!data_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(data_dir, ec);
    if (ec) return error{errc::io_error, "cannot create " + data_dir + ": " + ec.message()};
  }

  source_context ctx;
  ctx.metrics = &metrics_;
  ctx.data_dir = data_dir;
  ctx.backoff = opts_.backoff;
  ctx.stall_timeout = opts_.stall_timeout;
  ctx.connect_timeout = opts_.connect_timeout;
  ctx.ca_file = cfg_.ca_file;
  for (const auto& name : cfg_.sources) {  // validate before anything starts
    if (name == "mastodon" && cfg_.mastodon_url.empty())
      return error{errc::invalid_argument, "source mastodon needs --mastodon-url"};
    if (name != "x" && name != "twitter-v1" && name != "mastodon" && name != "jetstream" &&
        !(name.rfind("file:", 0) == 0 && name.size() > 5))
      return error{errc::invalid_argument, "unknown source '" + name + "'"};
  }

  pipeline_options po = opts_.pipeline;
  po.seen_path = data_dir.empty() ? std::string() : data_dir + "/seen_posts.bin";
  pipeline_ = std::make_unique<pipeline>(store_, metrics_, default_extractor(), po);
  if (auto st = pipeline_->start(); !st) return st;
  ctx.sink = pipeline_.get();

  for (const auto& name : cfg_.sources) {
    if (name == "x") {
      x_source_options o;
      o.api_url = cfg_.x_api_url;
      o.bearer_token = cfg_.x_bearer_token;
      o.backfill_minutes = cfg_.x_backfill_minutes;
      if (o.bearer_token.empty())
        log::warn("ingest", "source x: TLFLOW_X_BEARER_TOKEN is not set; the API will refuse");
      sources_.push_back(std::make_unique<x_source>(ctx, o));
    } else if (name == "twitter-v1") {
      twitter_v1_options o;
      o.url = cfg_.twitter_v1_url;
      o.bearer_token = cfg_.x_bearer_token;
      o.oauth = {cfg_.twitter_v1_consumer_key, cfg_.twitter_v1_consumer_secret,
                 cfg_.twitter_v1_access_token, cfg_.twitter_v1_access_token_secret};
      sources_.push_back(std::make_unique<twitter_v1_source>(ctx, o));
    } else if (name == "mastodon") {
      mastodon_options o;
      o.url = cfg_.mastodon_url;
      o.token = cfg_.mastodon_token;
      sources_.push_back(std::make_unique<mastodon_source>(ctx, o));
    } else if (name == "jetstream") {
      jetstream_options o;
      o.url = cfg_.jetstream_url;
      o.rewind = opts_.jetstream_rewind;
      sources_.push_back(std::make_unique<jetstream_source>(ctx, o));
    } else {
      sources_.push_back(std::make_unique<file_source>(ctx, name.substr(5)));
    }
  }

  const tracking_set t = tracking_.get();
  pipeline_->set_tracking(t);
  for (auto& s : sources_) s->on_tracking_changed(t);
  subscription_ = tracking_.subscribe([this](const tracking_set& next) {
    pipeline_->set_tracking(next);
    for (auto& s : sources_) s->on_tracking_changed(next);
  });
  for (auto& s : sources_) {
    log::info("ingest", "starting source ", s->name());
    s->start();
  }
  started_ = true;
  return ok_v;
}

void ingest_service::stop() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!started_ || stopped_) return;
  stopped_ = true;
  tracking_.unsubscribe(subscription_);
  for (auto& s : sources_) s->stop();
  if (pipeline_) pipeline_->stop();
  auto st = pipeline_->stats();
  log::info("ingest", "stopped: ", st.messages, " messages, ", st.posts, " posts, ",
            st.interactions, " interactions, ", st.duplicates, " duplicates");
}

ingest_status ingest_service::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  ingest_status s;
  if (pipeline_) s.pipeline = pipeline_->stats();
  for (const auto& src : sources_) s.sources.push_back(src->state());
  return s;
}

} // namespace tlflow
