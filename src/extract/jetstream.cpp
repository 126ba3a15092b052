// extract/jetstream.cpp — Bluesky Jetstream events (`/subscribe`, v1 wire
// shape; the v2 server adds `cursor`, which is ignored here).
//
// Jetstream gives DIDs only. The acted-upon account of a reply, quote or
// repost is the DID in the AT-URI of the referenced record
// (`at://<did>/app.bsky.feed.post/<rkey>`); mentions carry their DID in the
// facet. Facet indices are UTF-8 byte offsets; a facet whose range is not
// inside the text on character boundaries is ignored.
#include "extract/detail.hpp"

namespace tlflow::extract::detail {
namespace {

constexpr std::string_view post_nsid = "app.bsky.feed.post";
constexpr std::string_view repost_nsid = "app.bsky.feed.repost";

bool plausible_did(std::string_view did) noexcept {
  if (did.size() < 8 || did.size() > 200 || did.substr(0, 4) != "did:") return false;
  for (char c : did) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == ':' || c == '.' || c == '_' || c == '-' || c == '%';
    if (!ok) return false;
  }
  return true;
}

account did_account(std::string_view did) {
  account a;
  a.platform = "bluesky";
  if (!plausible_did(did)) return a;
  a.id.reserve(8 + did.size());
  a.id.append("bluesky:").append(did);
  return a;
}

struct at_uri {
  std::string_view authority, collection, rkey;
};
// at://<authority>/<collection>/<rkey>
bool parse_at_uri(std::string_view uri, at_uri& out) noexcept {
  constexpr std::string_view scheme = "at://";
  if (uri.substr(0, scheme.size()) != scheme) return false;
  uri.remove_prefix(scheme.size());
  const auto s1 = uri.find('/');
  out.authority = uri.substr(0, s1);
  if (s1 == std::string_view::npos) return !out.authority.empty();
  uri.remove_prefix(s1 + 1);
  const auto s2 = uri.find('/');
  out.collection = uri.substr(0, s2);
  if (s2 != std::string_view::npos) out.rkey = uri.substr(s2 + 1);
  return !out.authority.empty();
}

// The account that authored the record a strongRef points to; handles as
// authority cannot be resolved offline (DIDs are what the network writes).
account ref_author(const json* strong_ref, bool posts_only) {
  at_uri u;
  if (!parse_at_uri(get_str(strong_ref, "uri"), u)) return {};
  if (posts_only && u.collection != post_nsid) return {};
  return did_account(u.authority);
}

bool char_boundary(std::string_view text, std::uint64_t i) noexcept {
  return i == text.size() || (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80;
}

void facets(const json& rec, post_builder& b) {
  const std::string_view text = get_str(&rec, "text");
  const json* arr = get_arr(&rec, "facets");
  if (!arr) return;
  for (auto& f : arr->GetArray()) {
    const json* index = get_obj(&f, "index");
    const json* bs = get(index, "byteStart");
    const json* be = get(index, "byteEnd");
    if (!bs || !be || !bs->IsUint64() || !be->IsUint64()) continue;
    const std::uint64_t start = bs->GetUint64(), end = be->GetUint64();
    if (start >= end || end > text.size() || !char_boundary(text, start) ||
        !char_boundary(text, end))
      continue;
    const json* features = get_arr(&f, "features");
    if (!features) continue;
    for (auto& feat : features->GetArray()) {
      const std::string_view type = get_str(&feat, "$type");
      if (type == "app.bsky.richtext.facet#mention") {
        b.interact(did_account(get_str(&feat, "did")), edge_kind::mention);
      } else if (type == "app.bsky.richtext.facet#tag") {
        b.hashtag(get_str(&feat, "tag"));
      }
    }
  }
}

void post_record(const json& rec, post_builder& b) {
  facets(rec, b);
  if (const json* tags = get_arr(&rec, "tags"))
    for (auto& t : tags->GetArray()) b.hashtag(str(&t));
  if (const json* reply = get_obj(&rec, "reply"))
    b.interact(ref_author(get_obj(reply, "parent"), true), edge_kind::reply);
  if (const json* embed = get_obj(&rec, "embed")) {
    const std::string_view type = get_str(embed, "$type");
    const json* ref = nullptr;
    if (type == "app.bsky.embed.record") ref = get_obj(embed, "record");
    else if (type == "app.bsky.embed.recordWithMedia")
      ref = get_obj(get_obj(embed, "record"), "record");
    // Only an embedded post is a quote (lists, feeds, starter packs are not).
    if (ref) {
      account to = ref_author(ref, true);
      if (!to.id.empty()) {
        // The quoted post's tags are not in the event: the pipeline knows
        // them when it saw that post (docs/extraction-rules.md).
        b.quotes(std::string("bluesky:").append(get_str(ref, "uri")));
        b.interact(std::move(to), edge_kind::quote);
      }
    }
  }
}

// app.bsky.feed.repost: {"subject": {"uri": "at://<did>/app.bsky.feed.post/<rkey>", "cid"}}
void repost_record(const json& rec, post_builder& b) {
  const json* subject = get_obj(&rec, "subject");
  account to = ref_author(subject, true);
  if (to.id.empty()) return;
  const std::string_view uri = get_str(subject, "uri");
  b.reposts(std::string("bluesky:").append(uri));
  b.interact(std::move(to), edge_kind::repost);
}

} // namespace

void extract_jetstream(const json& root, extraction& out) {
  const std::string_view kind = get_str(&root, "kind");
  const std::string_view did = get_str(&root, "did");
  if (kind.empty() || did.empty()) {
    fail(out, error_reason::not_a_post, "not a Jetstream event");
    return;
  }
  if (kind != "commit") {
    note(out, notice_kind::ignored, "non-commit event");
    return;
  }
  const json* commit = get_obj(&root, "commit");
  if (!commit) {
    fail(out, error_reason::missing_field, "commit event without commit");
    return;
  }
  const std::string_view collection = get_str(commit, "collection");
  const std::string_view op = get_str(commit, "operation");
  const std::string_view rkey = get_str(commit, "rkey");
  if (collection != post_nsid && collection != repost_nsid) {
    note(out, notice_kind::ignored, "collection not followed");
    return;
  }
  account author = did_account(did);
  if (author.id.empty() || rkey.empty() || !clean_id(rkey)) {
    fail(out, error_reason::missing_field, "commit without usable did or rkey");
    return;
  }
  std::string post_id;
  post_id.reserve(16 + did.size() + collection.size() + rkey.size());
  post_id.append("bluesky:at://").append(did).append("/").append(collection).append("/").append(rkey);
  if (op == "delete") {
    out.deleted_post_id = std::move(post_id);
    note(out, notice_kind::delete_post, "record deleted");
    return;
  }
  if (op != "create" && op != "update") {
    note(out, notice_kind::ignored, "unknown operation");
    return;
  }
  const json* rec = get_obj(commit, "record");
  if (!rec) {
    fail(out, error_reason::missing_field, "commit without record");
    return;
  }
  // time_us is the relay's clock; the record's createdAt is set by the client
  // and may be anything, so it is only the fallback.
  std::string at;
  if (const json* t = get(&root, "time_us"); t && t->IsInt64())
    at = iso_from_unix_seconds(t->GetInt64() / 1000000);
  if (at.empty()) at = normalize_time(get_str(rec, "createdAt"));
  post_builder b(out);
  if (!b.begin(std::move(post_id), std::move(author), std::move(at))) {
    fail(out, error_reason::missing_field, "record id unusable");
    return;
  }
  if (collection == post_nsid) post_record(*rec, b);
  else repost_record(*rec, b);
  b.finish();
}

} // namespace tlflow::extract::detail
