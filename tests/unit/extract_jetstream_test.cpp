// Bluesky Jetstream extraction: facets (UTF-8 byte offsets), replies and
// quotes resolved from AT-URIs, reposts, deletes and ignored events.
#include "extract_support.hpp"

using namespace tlflow;
using extract::format;

namespace {
extract::extraction js(const std::string& name) {
  return extract::extract(format::jetstream, test::fixture("jetstream/" + name));
}
} // namespace

TEST_CASE("jetstream: post with mention, tag, reply parent and quote") {
  TLFLOW_CHECK_RECORDING(js("post.json"), {
      "post bluesky:at://did:plc:aaaaaaaaaaaaaaaaaaaaaaaa/app.bsky.feed.post/3kseqabcd1x2y by bluesky:did:plc:aaaaaaaaaaaaaaaaaaaaaaaa at 2024-05-13T10:00:00Z tags [graphs]",
      "  mention bluesky:did:plc:aaaaaaaaaaaaaaaaaaaaaaaa -> bluesky:did:plc:bbbbbbbbbbbbbbbbbbbbbbbb",
      "  reply bluesky:did:plc:aaaaaaaaaaaaaaaaaaaaaaaa -> bluesky:did:plc:bbbbbbbbbbbbbbbbbbbbbbbb",
      "  quote bluesky:did:plc:aaaaaaaaaaaaaaaaaaaaaaaa -> bluesky:did:plc:cccccccccccccccccccccccc",
      "account bluesky:did:plc:aaaaaaaaaaaaaaaaaaaaaaaa platform=bluesky",
      "account bluesky:did:plc:bbbbbbbbbbbbbbbbbbbbbbbb platform=bluesky",
      "account bluesky:did:plc:cccccccccccccccccccccccc platform=bluesky"
  });
}
TEST_CASE("jetstream: repost") {
  TLFLOW_CHECK_RECORDING(js("repost.json"), {
      "post bluesky:at://did:plc:aaaaaaaaaaaaaaaaaaaaaaaa/app.bsky.feed.repost/3kseqabce2z2y by bluesky:did:plc:aaaaaaaaaaaaaaaaaaaaaaaa at 2024-05-13T10:00:01Z tags []",
      "  repost bluesky:did:plc:aaaaaaaaaaaaaaaaaaaaaaaa -> bluesky:did:plc:bbbbbbbbbbbbbbbbbbbbbbbb",
      "account bluesky:did:plc:aaaaaaaaaaaaaaaaaaaaaaaa platform=bluesky",
      "account bluesky:did:plc:bbbbbbbbbbbbbbbbbbbbbbbb platform=bluesky"
  });
  // The reposted post is named, so the local filter can follow it.
  auto ex = js("repost.json");
  REQUIRE(ex.posts.size() == 1);
  CHECK(ex.posts[0].reposted_post_id ==
        "bluesky:at://did:plc:bbbbbbbbbbbbbbbbbbbbbbbb/app.bsky.feed.post/3ksparent000a");
}
TEST_CASE("jetstream: emoji and multi-byte facet offsets; misaligned facets ignored") {
  TLFLOW_CHECK_RECORDING(js("emoji_facets.json"), {
      "post bluesky:at://did:plc:aaaaaaaaaaaaaaaaaaaaaaaa/app.bsky.feed.post/3ksemoji00001 by bluesky:did:plc:aaaaaaaaaaaaaaaaaaaaaaaa at 2024-05-13T10:01:40Z tags [extra,fútbol,worldcup,日本]",
      "  mention bluesky:did:plc:aaaaaaaaaaaaaaaaaaaaaaaa -> bluesky:did:plc:cccccccccccccccccccccccc",
      "  quote bluesky:did:plc:aaaaaaaaaaaaaaaaaaaaaaaa -> bluesky:did:plc:dddddddddddddddddddddddd",
      "account bluesky:did:plc:aaaaaaaaaaaaaaaaaaaaaaaa platform=bluesky",
      "account bluesky:did:plc:cccccccccccccccccccccccc platform=bluesky",
      "account bluesky:did:plc:dddddddddddddddddddddddd platform=bluesky"
  });
}
TEST_CASE("jetstream: embedded list is not a quote; handle AT-URIs cannot be credited") {
  TLFLOW_CHECK_RECORDING(js("embed_list_handle_uri.json"), {
      "post bluesky:at://did:plc:aaaaaaaaaaaaaaaaaaaaaaaa/app.bsky.feed.post/3kslist000001 by bluesky:did:plc:aaaaaaaaaaaaaaaaaaaaaaaa at 2024-05-13T10:03:20Z tags []",
      "account bluesky:did:plc:aaaaaaaaaaaaaaaaaaaaaaaa platform=bluesky"
  });
}
TEST_CASE("jetstream: delete, identity, account and other collections") {
  TLFLOW_CHECK_RECORDING(js("delete.json"), {
      "notice delete bluesky:at://did:plc:aaaaaaaaaaaaaaaaaaaaaaaa/app.bsky.feed.post/3kseqabcd1x2y"
  });
  TLFLOW_CHECK_RECORDING(js("identity.json"), {
      "notice ignored"
  });
  TLFLOW_CHECK_RECORDING(js("account.json"), {
      "notice ignored"
  });
  TLFLOW_CHECK_RECORDING(js("like.json"), {
      "notice ignored"
  });
  CHECK(extract::extract(format::jetstream, R"({"did":"did:plc:x","kind":"commit"})").error ==
        extract::error_reason::missing_field);
  CHECK(extract::extract(format::jetstream,
                         R"({"did":"did:plc:aaaaaaaa","kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"r"}})")
            .error == extract::error_reason::missing_field);
}
