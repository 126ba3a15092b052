#include "pipeline/extract_adapter.hpp"

#include "extract/extract.hpp"

namespace tlflow {
namespace {

extract::format to_extract_format(wire_format f) {
  switch (f) {
    case wire_format::x_v2: return extract::format::x_v2;
    case wire_format::twitter_v1: return extract::format::twitter_v1;
    case wire_format::mastodon: return extract::format::mastodon;
    case wire_format::jetstream: return extract::format::jetstream;
    case wire_format::detect: break;
  }
  return extract::format::auto_detect;
}

} // namespace

extracted extract_message(const raw_message& msg) {
  thread_local extract::extraction ex;
  extract::extract(to_extract_format(msg.format), msg.bytes, ex);
  extracted out;
  if (ex.is_error()) {
    if (ex.error != extract::error_reason::empty) out.malformed = std::string(to_string(ex.error));
    else out.notice = true;  // a blank keep-alive: nothing to count as malformed
    return out;
  }
  out.notice = ex.is_notice();
  out.posts = static_cast<std::uint32_t>(ex.posts.size());
  if (ex.detected == extract::format::jetstream) {
    for (auto& p : ex.posts)
      out.post_refs.push_back({p.post_id, p.reposted_post_id, p.quoted_post_id, p.hashtags});
  }
  out.interactions = std::move(ex.interactions);
  ex.interactions.clear();
  return out;
}

extract_fn default_extractor() { return &extract_message; }

} // namespace tlflow
