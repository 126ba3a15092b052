// extract/mastodon.cpp — Mastodon Status JSON (the SSE `update` payload) and
// the WebSocket envelope {"stream":[...],"event":"update","payload":"<json>"}.
//
// Account vertices are `mastodon:<user>@<domain>`, lower-cased (Mastodon
// matches usernames and domains case-insensitively). A local account's `acct`
// is a bare user name: its domain is taken from the account's `url`.
#include "extract/detail.hpp"

namespace tlflow::extract::detail {
namespace {

// Host of an http(s) URL, lower-cased; empty when there is none.
std::string host_of(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  url.remove_prefix(scheme + 3);
  const auto end = url.find_first_of("/?#");
  if (end != std::string_view::npos) url = url.substr(0, end);
  if (const auto at = url.rfind('@'); at != std::string_view::npos) url.remove_prefix(at + 1);
  if (const auto colon = url.find(':'); colon != std::string_view::npos) url = url.substr(0, colon);
  std::string h(url);
  for (auto& c : h)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return h;
}

// `acct` qualified with a domain: a local acct takes the host of the
// account's `url`, else of `fallback_url` (the status `uri`, which for a local
// account's status is on the same instance).
account qualified(std::string_view acct, std::string_view username, std::string_view url,
                  std::string_view name, std::string_view fallback_url = {}) {
  account a;
  a.platform = "mastodon";
  if (acct.empty()) acct = username;
  if (acct.empty()) return a;
  if (acct.front() == '@') acct.remove_prefix(1);
  std::string full(acct);
  if (full.find('@') == std::string::npos) {
    std::string host = host_of(url);
    if (host.empty()) host = host_of(fallback_url);
    if (host.empty()) return a; // cannot tell which instance: no stable id
    full += '@';
    full += host;
  }
  a.handle = clean_text(full);
  std::string id = "mastodon:" + full;
  for (std::size_t i = 9; i < id.size(); ++i)
    if (id[i] >= 'A' && id[i] <= 'Z') id[i] = static_cast<char>(id[i] + 32);
  a.id = std::move(id);
  a.name = clean_text(name);
  return a;
}

account account_of(const json* acc, std::string_view status_uri = {}) {
  return qualified(get_str(acc, "acct"), get_str(acc, "username"), get_str(acc, "url"),
                   get_str(acc, "display_name"), status_uri);
}

void tags(const json& s, post_builder& b) {
  if (const json* arr = get_arr(&s, "tags"))
    for (auto& t : arr->GetArray()) b.hashtag(get_str(&t, "name"));
}

void mentions(const json& s, post_builder& b) {
  if (const json* arr = get_arr(&s, "mentions"))
    for (auto& m : arr->GetArray())
      b.interact(qualified(get_str(&m, "acct"), get_str(&m, "username"), get_str(&m, "url"), {}),
                 edge_kind::mention);
}

// The quoted status: Mastodon 4.4+ `quote: {state, quoted_status}`, or forks
// that put the Status itself in `quote`.
const json* quoted_status(const json& s) {
  const json* q = get_obj(&s, "quote");
  if (!q) return nullptr;
  if (const json* inner = get_obj(q, "quoted_status")) return inner;
  return get_obj(q, "account") ? q : nullptr;
}

void status(const json& s, extraction& out) {
  std::string_view id = get_str(&s, "uri"); // global; `id` is local to one instance
  if (id.empty()) id = get_str(&s, "id");
  const json* acc = get_obj(&s, "account");
  account author = account_of(acc, get_str(&s, "uri"));
  if (id.empty() || author.id.empty()) {
    fail(out, error_reason::missing_field, "status without id or qualified account");
    return;
  }
  post_builder b(out);
  if (!b.begin("mastodon:" + std::string(id), std::move(author),
               normalize_time(get_str(&s, "created_at")))) {
    fail(out, error_reason::missing_field, "status id or account unusable");
    return;
  }
  tags(s, b);
  if (const json* reblog = get_obj(&s, "reblog")) {
    b.interact(account_of(get_obj(reblog, "account"), get_str(reblog, "uri")), edge_kind::repost);
    tags(*reblog, b);
    if (const json* q = quoted_status(*reblog)) tags(*q, b);
    mentions(*reblog, b);
  } else {
    const std::string_view reply_acc = get_str(&s, "in_reply_to_account_id");
    if (!reply_acc.empty() && reply_acc != get_str(acc, "id")) {
      account to;
      if (const json* arr = get_arr(&s, "mentions")) {
        for (auto& m : arr->GetArray()) {
          if (get_str(&m, "id") == reply_acc) {
            to = qualified(get_str(&m, "acct"), get_str(&m, "username"), get_str(&m, "url"), {});
            break;
          }
        }
      }
      if (to.id.empty()) {
        // Only the instance-local account id is known: keep it, marked.
        to.platform = "mastodon";
        to.id = "mastodon:id:" + std::string(reply_acc);
      }
      b.interact(std::move(to), edge_kind::reply);
    }
    if (const json* q = quoted_status(s)) {
      b.interact(account_of(get_obj(q, "account"), get_str(q, "uri")), edge_kind::quote);
      tags(*q, b);
    }
    mentions(s, b);
  }
  b.finish();
}

} // namespace

void extract_mastodon(const json& root, extraction& out, int depth) {
  const json* event = get(&root, "event");
  if (event && get(&root, "stream")) {
    const std::string_view name = str(event);
    const json* payload = get(&root, "payload");
    if ((name == "update" || name == "status.update") && payload && payload->IsString()) {
      if (depth > 0) {
        fail(out, error_reason::not_a_post, "nested envelope");
        return;
      }
      extract_nested(format::mastodon, str(payload), out, depth + 1);
      out.detected = format::mastodon;
      return;
    }
    if (name == "delete" && payload && payload->IsString()) {
      const std::string_view id = str(payload);
      if (clean_id(id)) out.deleted_post_id = "mastodon:" + std::string(id);
      note(out, notice_kind::delete_post, "status deleted");
      return;
    }
    note(out, notice_kind::ignored, "event without a status");
    return;
  }
  if (get(&root, "account") && (get(&root, "id") || get(&root, "uri"))) {
    status(root, out);
    return;
  }
  if (get(&root, "error")) {
    note(out, notice_kind::stream_error, brief(get_str(&root, "error"), 200));
    return;
  }
  if (get(&root, "content") || get(&root, "uri")) {
    fail(out, error_reason::missing_field, "status without account");
    return;
  }
  fail(out, error_reason::not_a_post, "not a Mastodon status");
}

} // namespace tlflow::extract::detail
