// extract/twitter_v1.cpp — Twitter API v1.1 statuses (statuses/filter stream,
// twarc 1.x archives, REST `tweet_mode=extended` output) and the stream's
// control messages (delete, scrub_geo, limit, disconnect, warning).
#include "extract/detail.hpp"

namespace tlflow::extract::detail {
namespace {

account v1_user(const json* u) {
  account a;
  a.platform = "twitter";
  std::string id = id_text(get(u, "id_str"));
  if (id.empty()) id = id_text(get(u, "id"));
  if (id.empty()) return a;
  a.id = "twitter:" + id;
  a.handle = clean_text(get_str(u, "screen_name"));
  a.name = clean_text(get_str(u, "name"));
  a.location = clean_location(get_str(u, "location")); // null -> ""
  return a;
}

// Full entities: `extended_tweet.entities` for truncated stream tweets, else
// the root `entities` (also right for REST full_text output).
const json* entities_of(const json& t) {
  if (const json* ext = get_obj(get_obj(&t, "extended_tweet"), "entities")) return ext;
  return get_obj(&t, "entities");
}

void hashtags(const json& t, post_builder& b) {
  for (const json* ents : {entities_of(t), get_obj(&t, "entities")}) {
    if (const json* arr = get_arr(ents, "hashtags"))
      for (auto& h : arr->GetArray()) b.hashtag(get_str(&h, "text"));
  }
}

void mentions(const json* ents, post_builder& b, bool strip_rt_prefix) {
  const json* arr = get_arr(ents, "user_mentions");
  if (!arr) return;
  bool first = true;
  for (auto& m : arr->GetArray()) {
    const bool was_first = first;
    first = false;
    if (strip_rt_prefix && was_first) {
      const json* idx = get_arr(&m, "indices");
      if (idx && idx->Size() >= 1 && (*idx)[0].IsUint64() && (*idx)[0].GetUint64() == 3) continue;
    }
    b.interact(v1_user(&m), edge_kind::mention);
  }
}

std::string place_name(const json& t) {
  const json* place = get_obj(&t, "place");
  std::string_view name = get_str(place, "full_name");
  if (name.empty()) name = get_str(place, "name");
  return clean_location(name);
}

void notice(const json& root, extraction& out) {
  if (const json* del = get_obj(&root, "delete")) {
    const json* status = get_obj(del, "status");
    std::string id = id_text(get(status, "id_str"));
    if (id.empty()) id = id_text(get(status, "id"));
    if (!id.empty() && clean_id(id)) out.deleted_post_id = "twitter:" + id;
    note(out, notice_kind::delete_post, "status deleted");
  } else if (get(&root, "scrub_geo")) {
    note(out, notice_kind::scrub_geo, "scrub_geo");
  } else if (const json* lim = get(&root, "limit")) {
    const json* track = get(lim, "track");
    if (track && track->IsUint64()) out.limit_count = track->GetUint64();
    note(out, notice_kind::limit, "undelivered: " + std::to_string(out.limit_count));
  } else if (const json* dis = get(&root, "disconnect")) {
    std::string reason = brief(get_str(dis, "reason"), 200);
    const json* code = get(dis, "code");
    note(out, notice_kind::disconnect,
         "code " + (code && code->IsInt64() ? std::to_string(code->GetInt64()) : std::string("?")) +
             (reason.empty() ? "" : ": " + reason));
  } else if (const json* w = get(&root, "warning")) {
    std::string code = brief(get_str(w, "code"), 100);
    note(out, notice_kind::warning, code.empty() ? "warning" : code);
  } else {
    note(out, notice_kind::ignored, "stream message without interactions");
  }
}

} // namespace

void extract_twitter_v1(const json& root, extraction& out) {
  const json* user = get_obj(&root, "user");
  const bool tweet = user && (get(&root, "id_str") || get(&root, "id"));
  if (!tweet) {
    if (get(&root, "delete") || get(&root, "scrub_geo") || get(&root, "limit") ||
        get(&root, "disconnect") || get(&root, "warning") || get(&root, "status_withheld") ||
        get(&root, "user_withheld") || get(&root, "friends") || get(&root, "event") ||
        get(&root, "control")) {
      notice(root, out);
    } else if (get(&root, "id_str") || get(&root, "text") || get(&root, "full_text")) {
      fail(out, error_reason::missing_field, "status without user");
    } else {
      fail(out, error_reason::not_a_post, "not a v1.1 message");
    }
    return;
  }
  std::string id = id_text(get(&root, "id_str"));
  if (id.empty()) id = id_text(get(&root, "id"));
  account author = v1_user(user);
  if (id.empty() || author.id.empty()) {
    fail(out, error_reason::missing_field, "status without id or user id");
    return;
  }
  if (author.location.empty()) author.location = place_name(root);
  post_builder b(out);
  if (!b.begin("twitter:" + id, std::move(author), normalize_time(get_str(&root, "created_at")))) {
    fail(out, error_reason::missing_field, "status id or user id unusable");
    return;
  }
  hashtags(root, b);
  if (const json* rt = get_obj(&root, "retweeted_status")) {
    // A retweet acts on one post: the root's quoted_status (present on
    // retweets of quote tweets) and reply fields belong to the original.
    b.interact(v1_user(get_obj(rt, "user")), edge_kind::repost);
    hashtags(*rt, b);
    // track= matches a retweet on the original and on the post it quotes
    // (v1.1 puts that one inside the original and again at the root).
    if (const json* q = get_obj(rt, "quoted_status")) hashtags(*q, b);
    if (const json* q = get_obj(&root, "quoted_status")) hashtags(*q, b);
    mentions(entities_of(*rt), b, false);
    mentions(get_obj(&root, "entities"), b, true);
  } else {
    std::string reply_to = id_text(get(&root, "in_reply_to_user_id_str"));
    if (reply_to.empty()) reply_to = id_text(get(&root, "in_reply_to_user_id"));
    if (!reply_to.empty()) {
      account to;
      to.platform = "twitter";
      to.id = "twitter:" + reply_to;
      to.handle = clean_text(get_str(&root, "in_reply_to_screen_name"));
      b.interact(std::move(to), edge_kind::reply);
    }
    // A deleted or withheld quoted post leaves only quoted_status_id_str:
    // without its author there is no one to credit.
    if (const json* q = get_obj(&root, "quoted_status")) {
      b.interact(v1_user(get_obj(q, "user")), edge_kind::quote);
      hashtags(*q, b); // track= matches a quote on the quoted post too
    }
    mentions(entities_of(root), b, false);
  }
  b.finish();
}

} // namespace tlflow::extract::detail
