// extract/x_v2.cpp — X API v2: filtered-stream lines, twarc2 response pages
// (data[] + includes) and twarc2 flattened posts (author, in_reply_to_user and
// referenced posts inlined). Objects in `includes` are joined by id; referenced
// posts are looked up in `includes.tweets` and then `includes.posts` (newer
// spec name).
#include "extract/detail.hpp"

#include <algorithm>

namespace tlflow::extract::detail {
namespace {

class by_id {
public:
  void add(const json* arr) {
    if (!arr) return;
    for (auto& v : arr->GetArray()) {
      const std::string_view id = get_str(&v, "id");
      if (!id.empty()) items_.emplace_back(id, &v);
    }
  }
  void clear() noexcept { items_.clear(); }
  void seal() {
    // stable: the first object with an id wins (tweets before posts)
    std::stable_sort(items_.begin(), items_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
  }
  const json* find(std::string_view id) const noexcept {
    if (id.empty()) return nullptr;
    auto it = std::lower_bound(items_.begin(), items_.end(), id,
                               [](const auto& a, std::string_view k) { return a.first < k; });
    return (it != items_.end() && it->first == id) ? it->second : nullptr;
  }

private:
  std::vector<std::pair<std::string_view, const json*>> items_;
};

struct context {
  by_id users, tweets, places;
  const json* users_arr = nullptr;
  const json* rules = nullptr; // top-level matching_rules
};

account user_account(const json* u, std::string_view id) {
  account a;
  a.platform = "twitter";
  if (id.empty()) id = get_str(u, "id");
  if (id.empty()) return a;
  a.id.reserve(8 + id.size());
  a.id.append("twitter:").append(id);
  if (u) {
    a.handle = clean_text(get_str(u, "username"));
    a.name = clean_text(get_str(u, "name"));
    a.location = clean_location(get_str(u, "location"));
  }
  return a;
}

// Author of a post object (stream `author_id` joined with includes.users, or
// the flattened inline `author`). Empty id when unknown.
account author_of(const json& post, const context& ctx) {
  const json* inline_author = get_obj(&post, "author");
  std::string_view id = get_str(&post, "author_id");
  if (id.empty() && inline_author) id = get_str(inline_author, "id");
  const json* u = inline_author ? inline_author : ctx.users.find(id);
  return user_account(u, id);
}

const json* user_by_username(const context& ctx, std::string_view username) {
  if (!ctx.users_arr || username.empty()) return nullptr;
  for (auto& u : ctx.users_arr->GetArray()) {
    if (same_ascii_ci(get_str(&u, "username"), username)) return &u;
  }
  return nullptr;
}

// The referenced post: inlined (flattened form) or joined from includes.
const json* referenced(const json& ref, const context& ctx) {
  if (get(&ref, "author_id") || get_obj(&ref, "author")) return &ref;
  return ctx.tweets.find(get_str(&ref, "id"));
}

template <class F>
void each_entity(const json& post, std::string_view kind, F&& f) {
  const json* sets[2] = {get_obj(&post, "entities"),
                         get_obj(get_obj(&post, "note_tweet"), "entities")};
  for (const json* ents : sets) {
    if (const json* arr = get_arr(ents, kind)) {
      for (auto& e : arr->GetArray())
        if (e.IsObject()) f(e);
    }
  }
}

void hashtags(const json& post, post_builder& b) {
  each_entity(post, "hashtags", [&](const json& h) { b.hashtag(get_str(&h, "tag")); });
}

void mentions(const json& post, const context& ctx, post_builder& b, bool strip_rt_prefix) {
  bool first = true;
  each_entity(post, "mentions", [&](const json& m) {
    const bool was_first = first;
    first = false;
    if (strip_rt_prefix && was_first) {
      // "RT @author: ..." — the prefix names the reposted author, not a mention.
      const json* start = get(&m, "start");
      if (start && start->IsUint64() && start->GetUint64() == 3) return;
    }
    const std::string_view username = get_str(&m, "username");
    std::string_view id = get_str(&m, "id");
    const json* u = nullptr;
    if (get(&m, "name") || get(&m, "location")) u = &m; // flattened: merged user
    if (!u) u = id.empty() ? user_by_username(ctx, username) : ctx.users.find(id);
    if (id.empty()) id = get_str(u, "id");
    if (id.empty()) return; // a vertex needs the stable account id
    account a = user_account(u, id);
    if (a.handle.empty()) a.handle = clean_text(username);
    b.interact(std::move(a), edge_kind::mention);
  });
}

std::string place_of(const json& post, const context& ctx) {
  const json* geo = get_obj(&post, "geo");
  if (!geo) return {};
  std::string_view name = get_str(geo, "full_name"); // flattened: place merged into geo
  if (name.empty()) {
    const json* place = ctx.places.find(get_str(geo, "place_id"));
    name = get_str(place, "full_name");
    if (name.empty()) name = get_str(place, "name");
  }
  return clean_location(name);
}

// The X source tags the rule of a tracked hashtag `tlflow:<tag>` (a keyword:
// `tlflow:kw:<keyword>`). Such a tag names the hashtag that made X deliver the
// post even when the hashtag is not in the post's own entities (X also
// matches on the quoted post), so it counts as one of the post's hashtags.
constexpr std::string_view tracked_rule_prefix = "tlflow:";
constexpr std::string_view keyword_rule_prefix = "tlflow:kw:";

void rule_tags(const json* rules, post_builder& b) {
  if (!rules || !rules->IsArray()) return;
  for (auto& r : rules->GetArray()) {
    const std::string_view tag = get_str(&r, "tag");
    b.rule_tag(tag);
    if (tag.substr(0, tracked_rule_prefix.size()) == tracked_rule_prefix &&
        tag.substr(0, keyword_rule_prefix.size()) != keyword_rule_prefix)
      b.hashtag(tag.substr(tracked_rule_prefix.size()));
  }
}

// The post a post quotes, when the message carries it.
const json* quoted_of(const json& p, const context& ctx) {
  if (const json* refs = get_arr(&p, "referenced_tweets")) {
    for (auto& r : refs->GetArray())
      if (get_str(&r, "type") == "quoted") return referenced(r, ctx);
  }
  return nullptr;
}

bool one_post(const json& p, const context& ctx, extraction& out) {
  if (!p.IsObject()) return false;
  const std::string_view id = get_str(&p, "id");
  account author = author_of(p, ctx);
  if (id.empty() || author.id.empty()) return false;
  if (author.location.empty()) author.location = place_of(p, ctx);
  std::string post_id;
  post_id.reserve(8 + id.size());
  post_id.append("twitter:").append(id);
  for (const auto& seen : out.posts)
    if (seen.post_id == post_id) return true; // a page listing a post twice: once is enough
  post_builder b(out);
  if (!b.begin(std::move(post_id), std::move(author), normalize_time(get_str(&p, "created_at"))))
    return false;
  hashtags(p, b);

  const json* refs = get_arr(&p, "referenced_tweets");
  const json* original = nullptr;
  bool retweet = false;
  if (refs) {
    for (auto& r : refs->GetArray()) {
      if (get_str(&r, "type") == "retweeted") {
        retweet = true;
        original = referenced(r, ctx);
        break;
      }
    }
  }
  if (retweet) {
    // A retweet acts on one post only: quote / reply references of the
    // original are the original author's interactions, not the retweeter's.
    if (original) {
      b.interact(author_of(*original, ctx), edge_kind::repost);
      hashtags(*original, b); // the RT text is truncated; the original is not
      // A retweet of a quote shows the quoted post too (when expanded).
      if (const json* q = quoted_of(*original, ctx)) hashtags(*q, b);
      mentions(*original, ctx, b, false);
    }
    mentions(p, ctx, b, true);
  } else {
    // Reply: in_reply_to_user_id is on the post itself, so it survives a
    // deleted parent; else the parent's author.
    std::string_view reply_to = get_str(&p, "in_reply_to_user_id");
    const json* reply_user = get_obj(&p, "in_reply_to_user"); // flattened
    if (reply_to.empty() && reply_user) reply_to = get_str(reply_user, "id");
    if (!reply_to.empty()) {
      b.interact(user_account(reply_user ? reply_user : ctx.users.find(reply_to), reply_to),
                 edge_kind::reply);
    }
    if (refs) {
      for (auto& r : refs->GetArray()) {
        const std::string_view type = get_str(&r, "type");
        if (type == "quoted") {
          if (const json* q = referenced(r, ctx)) {
            b.interact(author_of(*q, ctx), edge_kind::quote);
            hashtags(*q, b); // X matches a quote on the quoted post's hashtags too
          }
        } else if (type == "replied_to" && !b.has(edge_kind::reply)) {
          if (const json* q = referenced(r, ctx)) b.interact(author_of(*q, ctx), edge_kind::reply);
        }
      }
    }
    mentions(p, ctx, b, false);
  }
  rule_tags(ctx.rules ? ctx.rules : get(&p, "matching_rules"), b);
  b.finish();
  return true;
}

void stream_problem(const json& root, extraction& out) {
  const json* errors = get_arr(&root, "errors");
  std::string detail;
  bool disconnect = false;
  if (errors) {
    for (auto& e : errors->GetArray()) {
      if (get(&e, "disconnect_type")) disconnect = true;
      if (detail.empty()) detail = brief(get_str(&e, "title"), 200);
    }
  } else {
    detail = brief(get_str(&root, "title"), 200);
  }
  note(out, disconnect ? notice_kind::disconnect : notice_kind::stream_error, std::move(detail));
}

} // namespace

void extract_x_v2(const json& root, extraction& out) {
  thread_local context ctx; // keeps its index capacity between messages
  ctx.users.clear();
  ctx.tweets.clear();
  ctx.places.clear();
  const json* data = get(&root, "data");
  const json* includes = get_obj(&root, "includes");
  ctx.users_arr = get_arr(includes, "users");
  ctx.users.add(ctx.users_arr);
  ctx.users.seal();
  ctx.tweets.add(get_arr(includes, "tweets"));
  ctx.tweets.add(get_arr(includes, "posts"));
  ctx.tweets.seal();
  ctx.places.add(get_arr(includes, "places"));
  ctx.places.seal();
  ctx.rules = get_arr(&root, "matching_rules");

  if (data && data->IsObject()) {
    if (!one_post(*data, ctx, out)) fail(out, error_reason::missing_field, "post without id or author");
    return;
  }
  if (data && data->IsArray()) {
    // twarc2 page: one bad post does not lose the others.
    std::size_t bad = 0;
    for (auto& p : data->GetArray())
      if (!one_post(p, ctx, out)) ++bad;
    if (out.posts.empty()) {
      if (bad > 0) fail(out, error_reason::missing_field, "no post with id and author on page");
      else note(out, notice_kind::ignored, "empty page");
    } else if (bad > 0) {
      out.detail = std::to_string(bad) + " post(s) on the page lacked id or author";
    }
    return;
  }
  if (data) {
    fail(out, error_reason::not_a_post, "data is neither object nor array");
    return;
  }
  // twarc2 flattened post: the post itself at top level.
  if (get(&root, "id") && (get(&root, "author_id") || get_obj(&root, "author"))) {
    if (!one_post(root, ctx, out)) fail(out, error_reason::missing_field, "post without id or author");
    return;
  }
  if (get_arr(&root, "errors") || (get(&root, "title") && get(&root, "type"))) {
    stream_problem(root, out);
    return;
  }
  if (get(&root, "meta")) {
    note(out, notice_kind::ignored, "page without data");
    return;
  }
  if (get(&root, "id") && get(&root, "text")) {
    fail(out, error_reason::missing_field, "post without author_id");
    return;
  }
  fail(out, error_reason::not_a_post, "not an X v2 message");
}

} // namespace tlflow::extract::detail
