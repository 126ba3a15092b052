#include "sources/x_source.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "sources/http_client.hpp"
#include "sources/reconnect.hpp"
#include "util/log.hpp"

namespace tlflow {
namespace {

constexpr const char* rule_tag_prefix = "tlflow:";

std::string trim_slash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

struct rule {
  std::string id;
  std::string value;
  std::string tag;
};

// The rules tlflow wants for a tracking set: tag -> value.
std::map<std::string, std::string> wanted_rules(const tracking_set& t) {
  std::map<std::string, std::string> out;
  for (const auto& h : t.hashtags) out[std::string(rule_tag_prefix) + h] = "#" + h;
  for (const auto& k : t.keywords) out[std::string(rule_tag_prefix) + "kw:" + k] = "\"" + k + "\"";
  return out;
}

std::string json_string(const rapidjson::Value& v, const char* key) {
  auto it = v.FindMember(key);
  if (it == v.MemberEnd() || !it->value.IsString()) return {};
  return {it->value.GetString(), it->value.GetStringLength()};
}

} // namespace

// ---------------------------------------------------------------- x_source

x_source::x_source(source_context ctx, x_source_options opts)
    : source_base("x", std::move(ctx), default_stall_timeout), opts_(std::move(opts)) {
  opts_.api_url = trim_slash(opts_.api_url);
}

x_source::~x_source() { stop(); }

std::string x_source::stream_query() {
  return "tweet.fields=author_id,conversation_id,created_at,entities,geo,in_reply_to_user_id,lang,"
         "referenced_tweets"
         "&expansions=author_id,entities.mentions.username,in_reply_to_user_id,referenced_tweets.id,"
         "referenced_tweets.id.author_id,geo.place_id"
         "&user.fields=id,location,name,username"
         "&place.fields=country,country_code,full_name,name";
}

void x_source::start() {
  spawn([this] { stream_loop(); });
  spawn([this] { rules_loop(); });
}

void x_source::on_stop() { abort_ = true; }

void x_source::on_tracking_changed(const tracking_set& t) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (t == tracking_ && tracking_gen_ > 0) return;
    tracking_ = t;
    ++tracking_gen_;
  }
  wake();
}

std::uint64_t x_source::rule_syncs() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return syncs_;
}

bool x_source::rules_in_sync() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return synced_gen_ == tracking_gen_;
}

void x_source::stream_loop() {
  backoff b(ctx_.backoff);
  bool first = true;
  stream_options so;
  so.stall_timeout = stall_timeout();
  so.connect_timeout = ctx_.connect_timeout;
  while (!stopping()) {
    on_attempt(first);
    http_request req;
    req.url = opts_.api_url + "/2/tweets/search/stream?" + stream_query();
    if (!first && opts_.backfill_minutes > 0)
      req.url += "&backfill_minutes=" + std::to_string(std::min(5u, opts_.backfill_minutes));
    if (!opts_.bearer_token.empty()) req.headers.push_back("Authorization: Bearer " + opts_.bearer_token);
    req.user_agent = ctx_.user_agent;
    req.ca_file = ctx_.ca_file;
    first = false;

    bool refused = false;
    stream_result r = stream_ndjson(req, so, abort_, wire_format::x_v2, refused);
    if (r.what == stream_result::outcome::stopped || refused) break;
    if (r.what != stream_result::outcome::ended || !r.established) on_error(describe(r));
    else log::info("source", name(), ": ", r.message);
    if (!wait_backoff(reconnect_delay(b, r))) break;
  }
}

void x_source::rules_loop() {
  backoff b(ctx_.backoff);
  millis retry = opts_.rules_retry;
  while (!stopping()) {
    tracking_set want;
    std::uint64_t gen;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      want = tracking_;
      gen = tracking_gen_;
    }
    if (gen != 0 && gen != synced_gen_) {
      status st = sync_rules(want);
      if (st) {
        std::lock_guard<std::mutex> lock(mutex_);
        synced_gen_ = gen;
        ++syncs_;
        retry = opts_.rules_retry;
        continue;  // tracking may have changed during the sync
      }
      on_error("rules sync failed: " + st.err().message);
      if (!sleep_for(retry)) break;
      retry = std::min(retry * 2, millis(320000));
      continue;
    }
    if (!sleep_for(millis(60000))) break;
  }
}

status x_source::sync_rules(const tracking_set& want) {
  const std::string url = opts_.api_url + "/2/tweets/search/stream/rules";
  auto base_request = [&] {
    http_request req;
    if (!opts_.bearer_token.empty()) req.headers.push_back("Authorization: Bearer " + opts_.bearer_token);
    req.user_agent = ctx_.user_agent;
    req.ca_file = ctx_.ca_file;
    return req;
  };
  // 1. read every rule (paginated)
  std::vector<rule> current;
  std::string next_token;
  for (int page = 0; page < 100; ++page) {
    http_request req = base_request();
    req.url = url + "?max_results=1000";
    if (!next_token.empty()) req.url += "&pagination_token=" + url_encode(next_token);
    auto resp = http_call(req, ctx_.connect_timeout * 2);
    if (!resp) return resp.err();
    if (resp->status != 200)
      return error{errc::store_unavailable, "GET rules: HTTP " + std::to_string(resp->status)};
    // Iterative: a hostile reply of deeply nested brackets costs heap, not
    // native stack (the recursive parser overflows it). The Document's pool
    // allocator frees without recursing.
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseIterativeFlag>(resp->body.data(), resp->body.size());
    if (doc.HasParseError() || !doc.IsObject())
      return error{errc::malformed_json, "GET rules: response is not a JSON object"};
    if (auto d = doc.FindMember("data"); d != doc.MemberEnd() && d->value.IsArray()) {
      for (const auto& r : d->value.GetArray()) {
        if (!r.IsObject()) continue;
        current.push_back({json_string(r, "id"), json_string(r, "value"), json_string(r, "tag")});
      }
    }
    next_token.clear();
    if (auto m = doc.FindMember("meta"); m != doc.MemberEnd() && m->value.IsObject())
      next_token = json_string(m->value, "next_token");
    if (next_token.empty()) break;
  }

  // 2. diff: only rules tagged tlflow:* are ours
  auto wanted = wanted_rules(want);
  std::vector<std::string> delete_ids;
  std::set<std::string> have;
  for (const auto& r : current) {
    if (r.tag.rfind(rule_tag_prefix, 0) != 0) continue;
    auto it = wanted.find(r.tag);
    if (it == wanted.end() || it->second != r.value || have.count(r.tag)) {
      if (!r.id.empty()) delete_ids.push_back(r.id);
    } else {
      have.insert(r.tag);
    }
  }
  std::vector<std::pair<std::string, std::string>> add; // tag, value
  for (const auto& [tag, value] : wanted)
    if (!have.count(tag)) add.emplace_back(tag, value);

  auto post = [&](const std::string& body, const char* what) -> status {
    http_request req = base_request();
    req.method = "POST";
    req.url = url;
    req.headers.push_back("Content-Type: application/json");
    req.body = body;
    auto resp = http_call(req, ctx_.connect_timeout * 2);
    if (!resp) return resp.err();
    if (resp->status < 200 || resp->status >= 300)
      return error{errc::store_unavailable,
                   std::string(what) + " rules: HTTP " + std::to_string(resp->status)};
    rapidjson::Document doc; // iterative, as above
    doc.Parse<rapidjson::kParseIterativeFlag>(resp->body.data(), resp->body.size());
    if (!doc.HasParseError() && doc.IsObject()) {
      if (auto e = doc.FindMember("errors"); e != doc.MemberEnd() && e->value.IsArray() &&
                                             !e->value.Empty()) {
        // Invalid or duplicate rules: reported, not retried forever. The
        // reply's own text, cut: writing the value back (Accept) recurses.
        log::warn("source", name(), ": ", what, " rules reported errors: ", resp->body.substr(0, 500));
      }
    }
    return ok_v;
  };

  if (!delete_ids.empty()) {
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    w.StartObject();
    w.Key("delete");
    w.StartObject();
    w.Key("ids");
    w.StartArray();
    for (const auto& id : delete_ids) w.String(id.c_str(), static_cast<rapidjson::SizeType>(id.size()));
    w.EndArray();
    w.EndObject();
    w.EndObject();
    if (auto st = post(sb.GetString(), "delete"); !st) return st;
  }
  // X accepts at most 100 rules per add request.
  for (std::size_t i = 0; i < add.size(); i += 100) {
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    w.StartObject();
    w.Key("add");
    w.StartArray();
    for (std::size_t k = i; k < std::min(add.size(), i + 100); ++k) {
      w.StartObject();
      w.Key("value");
      w.String(add[k].second.c_str(), static_cast<rapidjson::SizeType>(add[k].second.size()));
      w.Key("tag");
      w.String(add[k].first.c_str(), static_cast<rapidjson::SizeType>(add[k].first.size()));
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    if (auto st = post(sb.GetString(), "add"); !st) return st;
  }
  log::info("source", name(), ": rules synced (", add.size(), " added, ", delete_ids.size(),
            " deleted)");
  return ok_v;
}

// ------------------------------------------------------ twitter_v1_source

twitter_v1_source::twitter_v1_source(source_context ctx, twitter_v1_options opts)
    : source_base("twitter-v1", std::move(ctx), default_stall_timeout), opts_(std::move(opts)) {
  opts_.url = trim_slash(opts_.url);
}

twitter_v1_source::~twitter_v1_source() { stop(); }

std::string twitter_v1_source::track_param(const tracking_set& t) {
  std::string out;
  for (const auto& h : t.hashtags) {
    if (!out.empty()) out += ',';
    out += '#' + h;
  }
  for (const auto& k : t.keywords) {
    if (!out.empty()) out += ',';
    out += k;
  }
  return out;
}

void twitter_v1_source::start() { spawn([this] { loop(); }); }

void twitter_v1_source::on_stop() { abort_ = true; }

void twitter_v1_source::on_tracking_changed(const tracking_set& t) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (t == tracking_) return;
    tracking_ = t;
  }
  abort_ = true;  // reconnect with the new track=
  wake();
}

void twitter_v1_source::loop() {
  backoff b(ctx_.backoff);
  bool first = true;
  stream_options so;
  so.stall_timeout = stall_timeout();
  so.connect_timeout = ctx_.connect_timeout;
  while (!stopping()) {
    abort_ = false;
    if (stopping()) break;
    std::string track;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      track = track_param(tracking_);
    }
    if (track.empty()) {  // v1.1 needs a predicate: wait for one
      if (!sleep_for(millis(60000))) break;
      continue;
    }
    on_attempt(first);
    first = false;
    http_request req;
    req.method = "POST";
    req.url = opts_.url + "/1.1/statuses/filter.json";
    req.headers.push_back("Content-Type: application/x-www-form-urlencoded");
    req.body = "track=" + url_encode(track) + "&stall_warning=true";
    if (opts_.oauth.complete())
      req.headers.push_back("Authorization: " +
                            oauth1_authorization(opts_.oauth, req.method, req.url,
                                                 {{"track", track}, {"stall_warning", "true"}}));
    else if (!opts_.bearer_token.empty())
      req.headers.push_back("Authorization: Bearer " + opts_.bearer_token);
    req.user_agent = ctx_.user_agent;
    req.ca_file = ctx_.ca_file;

    bool refused = false;
    stream_result r = stream_ndjson(req, so, abort_, wire_format::twitter_v1, refused);
    if (refused || stopping()) break;
    if (r.what == stream_result::outcome::stopped) {
      b.reset();  // tracking changed: reconnect at once
      continue;
    }
    if (r.what != stream_result::outcome::ended || !r.established) on_error(describe(r));
    if (!wait_backoff(reconnect_delay(b, r))) break;
  }
}

} // namespace tlflow
