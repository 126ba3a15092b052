// Mastodon extraction: acct qualification, mentions, replies resolved through
// mentions, reblogs, quotes, the WebSocket envelope and delete payloads.
#include "extract_support.hpp"

using namespace tlflow;
using extract::format;

namespace {
extract::extraction md(const std::string& name) {
  return extract::extract(format::mastodon, test::fixture("mastodon/" + name));
}
} // namespace

TEST_CASE("mastodon: local acct qualified from the account url, duplicate mention once") {
  TLFLOW_CHECK_RECORDING(md("mention_hashtag.json"), {
      "post mastodon:https://example.social/users/alice/statuses/112345678901234567 by mastodon:alice@example.social at 2024-05-13T10:00:00Z tags [graphs,musictuesday]",
      "  mention mastodon:alice@example.social -> mastodon:bob@example.social",
      "  mention mastodon:alice@example.social -> mastodon:carol@other.example",
      "account mastodon:alice@example.social platform=mastodon handle=alice@example.social name=Alice",
      "account mastodon:bob@example.social platform=mastodon handle=bob@example.social",
      "account mastodon:carol@other.example platform=mastodon handle=Carol@other.example"
  });
}
TEST_CASE("mastodon: reply resolved to an acct through the mentions") {
  TLFLOW_CHECK_RECORDING(md("reply_resolved.json"), {
      "post mastodon:https://other.example/users/Carol/statuses/55 by mastodon:carol@other.example at 2024-05-13T10:05:00Z tags [graphs]",
      "  reply mastodon:carol@other.example -> mastodon:alice@example.social",
      "  mention mastodon:carol@other.example -> mastodon:alice@example.social",
      "account mastodon:carol@other.example platform=mastodon handle=Carol@other.example name=Carol",
      "account mastodon:alice@example.social platform=mastodon handle=alice@example.social"
  });
}
TEST_CASE("mastodon: reply that cannot be resolved keeps the local account id") {
  TLFLOW_CHECK_RECORDING(md("reply_unresolved.json"), {
      "post mastodon:https://example.social/users/bob/statuses/112345678901234571 by mastodon:bob@example.social at 2024-05-13T10:06:00Z tags [graphs]",
      "  reply mastodon:bob@example.social -> mastodon:id:109876543212",
      "account mastodon:bob@example.social platform=mastodon handle=bob@example.social name=Bob",
      "account mastodon:id:109876543212 platform=mastodon"
  });
}
TEST_CASE("mastodon: self-reply and self-mention dropped") {
  TLFLOW_CHECK_RECORDING(md("self_reply.json"), {
      "post mastodon:https://example.social/users/alice/statuses/112345678901234572 by mastodon:alice@example.social at 2024-05-13T10:07:00Z tags [graphs]",
      "account mastodon:alice@example.social platform=mastodon handle=alice@example.social name=Alice"
  });
}
TEST_CASE("mastodon: reblog credits the original author and its mentions") {
  TLFLOW_CHECK_RECORDING(md("reblog.json"), {
      "post mastodon:https://example.social/users/dave/statuses/112345678901234580/activity by mastodon:dave@example.social at 2024-05-13T11:00:00Z tags [graphs]",
      "  repost mastodon:dave@example.social -> mastodon:alice@example.social",
      "  mention mastodon:dave@example.social -> mastodon:bob@example.social",
      "account mastodon:dave@example.social platform=mastodon handle=dave@example.social name=Dave 🌍",
      "account mastodon:alice@example.social platform=mastodon handle=alice@example.social name=Alice",
      "account mastodon:bob@example.social platform=mastodon handle=bob@example.social"
  });
}
TEST_CASE("mastodon: quote (4.4 quote object), host lower-cased") {
  TLFLOW_CHECK_RECORDING(md("quote.json"), {
      "post mastodon:https://example.social/users/erin/statuses/112345678901234590 by mastodon:erin@example.social at 2024-05-13T12:00:00Z tags [graphs]",
      "  quote mastodon:erin@example.social -> mastodon:carol@other.example",
      "account mastodon:erin@example.social platform=mastodon handle=erin@example.social name=Erin",
      "account mastodon:carol@other.example platform=mastodon handle=Carol@other.example name=Carol"
  });
}
TEST_CASE("mastodon: a quote carries the quoted status's tags") {
  TLFLOW_CHECK_RECORDING(md("quote_tagged_original.json"), {
      "post mastodon:https://example.social/users/erin/statuses/112345678901234591 by mastodon:erin@example.social at 2024-05-13T12:10:00Z tags [graphs]",
      "  quote mastodon:erin@example.social -> mastodon:carol@other.example",
      "account mastodon:erin@example.social platform=mastodon handle=erin@example.social name=Erin",
      "account mastodon:carol@other.example platform=mastodon handle=Carol@other.example name=Carol"
  });
}
TEST_CASE("mastodon: WebSocket envelope and SSE delete payloads") {
  TLFLOW_CHECK_RECORDING(md("ws_update.json"), {
      "post mastodon:https://example.social/users/bob/statuses/1 by mastodon:bob@example.social at 2024-05-13T10:00:00Z tags [graphs]",
      "  mention mastodon:bob@example.social -> mastodon:alice@example.social",
      "account mastodon:bob@example.social platform=mastodon handle=bob@example.social",
      "account mastodon:alice@example.social platform=mastodon handle=alice@example.social"
  });
  TLFLOW_CHECK_RECORDING(md("ws_delete.json"), {
      "notice delete mastodon:112345678901234500"
  });
  TLFLOW_CHECK_RECORDING(md("ws_notification.json"), {
      "notice ignored"
  });
  TLFLOW_CHECK_RECORDING(extract::extract(format::mastodon, "112345678901234500"), {
      "notice delete mastodon:112345678901234500"
  });
  TLFLOW_CHECK_RECORDING(extract::extract(format::mastodon, "\"112345678901234500\""), {
      "notice delete mastodon:112345678901234500"
  });
  TLFLOW_CHECK_RECORDING(md("stream_error.json"), {
      "notice stream_error"
  });
  // Nested envelopes are not unwrapped twice.
  CHECK(extract::extract(format::mastodon,
                         R"({"stream":["x"],"event":"update","payload":"{\"stream\":[\"x\"],\"event\":\"update\",\"payload\":\"{}\"}"})")
            .error == extract::error_reason::not_a_post);
}
TEST_CASE("mastodon: a local acct with no url takes the status uri's host; none at all is missing_field") {
  TLFLOW_CHECK_RECORDING(md("unqualified.json"), {
      "post mastodon:https://example.social/users/x/statuses/5 by mastodon:x@example.social at  tags []",
      "account mastodon:x@example.social platform=mastodon handle=x@example.social"
  });
  CHECK(extract::extract(format::mastodon,
                         R"({"id":"5","account":{"id":"9","username":"x","acct":"x"},"mentions":[],"tags":[]})")
            .error == extract::error_reason::missing_field);
}
