// Twitter v1.1 extraction: extended tweets, retweets, quotes, replies,
// numeric ids, places, and every stream notice.
#include "extract_support.hpp"

using namespace tlflow;
using extract::format;

namespace {
extract::extraction v1(const std::string& name) {
  return extract::extract(format::twitter_v1, test::fixture("twitter_v1/" + name));
}
} // namespace

TEST_CASE("v1.1: quote reply with leading mention") {
  TLFLOW_CHECK_RECORDING(v1("quote_reply.json"), {
      "post twitter:1127000000000000001 by twitter:1000000000000000001 at 2019-05-13T10:00:00Z tags [graphs]",
      "  reply twitter:1000000000000000001 -> twitter:1000000000000000002",
      "  quote twitter:1000000000000000001 -> twitter:1000000000000000003",
      "  mention twitter:1000000000000000001 -> twitter:1000000000000000002",
      "account twitter:1000000000000000001 platform=twitter handle=alice_example name=Alice location=Berlin",
      "account twitter:1000000000000000002 platform=twitter handle=bob_example name=Bob",
      "account twitter:1000000000000000003 platform=twitter handle=carol name=Carol location=Lagos"
  });
}
// The quoted post's hashtags, from its full entities (extended_tweet), are
// the quote's too: track= matched the quote on them.
TEST_CASE("v1.1: a quote carries the quoted post's hashtags from its extended_tweet") {
  TLFLOW_CHECK_RECORDING(v1("quote_tagged_original.json"), {
      "post twitter:1127000000000000020 by twitter:1000000000000000002 at 2019-05-13T12:00:00Z tags [graphs]",
      "  quote twitter:1000000000000000002 -> twitter:1000000000000000001",
      "account twitter:1000000000000000002 platform=twitter handle=bob_example name=Bob",
      "account twitter:1000000000000000001 platform=twitter handle=alice_example name=Alice location=Berlin"
  });
}
TEST_CASE("v1.1: truncated tweet reads extended_tweet, place is the location fallback") {
  TLFLOW_CHECK_RECORDING(v1("extended.json"), {
      "post twitter:1151000000000000001 by twitter:1000000000000000011 at 2019-07-16T06:15:00Z tags [final,worldcup]",
      "  mention twitter:1000000000000000011 -> twitter:1000000000000000012",
      "  mention twitter:1000000000000000011 -> twitter:1000000000000000013",
      "account twitter:1000000000000000011 platform=twitter handle=kim_k name=Kim 🇰🇷 location=Seoul, Republic of Korea",
      "account twitter:1000000000000000012 platform=twitter handle=fifa_x name=FIFA",
      "account twitter:1000000000000000013 platform=twitter handle=ref_y name=Ref"
  });
}
TEST_CASE("v1.1: retweet of an extended tweet credits the full original's mentions") {
  TLFLOW_CHECK_RECORDING(v1("retweet.json"), {
      "post twitter:1151000000000000002 by twitter:1000000000000000014 at 2019-07-16T09:00:00Z tags [final,worldcup]",
      "  repost twitter:1000000000000000014 -> twitter:1000000000000000011",
      "  mention twitter:1000000000000000014 -> twitter:1000000000000000012",
      "  mention twitter:1000000000000000014 -> twitter:1000000000000000013",
      "account twitter:1000000000000000014 platform=twitter handle=lee_l name=Lee location=Busan",
      "account twitter:1000000000000000011 platform=twitter handle=kim_k name=Kim",
      "account twitter:1000000000000000012 platform=twitter handle=fifa_x name=FIFA",
      "account twitter:1000000000000000013 platform=twitter handle=ref_y name=Ref"
  });
}
TEST_CASE("v1.1: retweet of a quote tweet ignores the root quoted_status") {
  TLFLOW_CHECK_RECORDING(v1("retweet_of_quote.json"), {
      "post twitter:1127000000000000009 by twitter:1000000000000000004 at 2019-05-13T11:00:00Z tags [graphs]",
      "  repost twitter:1000000000000000004 -> twitter:1000000000000000001",
      "  mention twitter:1000000000000000004 -> twitter:1000000000000000002",
      "account twitter:1000000000000000004 platform=twitter handle=dave_x name=Dave",
      "account twitter:1000000000000000001 platform=twitter handle=alice_example name=Alice location=Berlin",
      "account twitter:1000000000000000002 platform=twitter handle=bob_example name=Bob"
  });
}
TEST_CASE("v1.1: self-reply and self-mention dropped, repeated mention once") {
  TLFLOW_CHECK_RECORDING(v1("self_mention.json"), {
      "post twitter:1127000000000000010 by twitter:1000000000000000001 at 2019-05-13T12:00:00Z tags [graphs]",
      "  mention twitter:1000000000000000001 -> twitter:1000000000000000002",
      "account twitter:1000000000000000001 platform=twitter handle=alice_example name=Alice location=Berlin",
      "account twitter:1000000000000000002 platform=twitter handle=bob_example"
  });
}
TEST_CASE("v1.1: deleted quoted post, numeric ids only, blank location") {
  TLFLOW_CHECK_RECORDING(v1("quote_deleted.json"), {
      "post twitter:1127000000000000011 by twitter:1000000000000000021 at 2019-05-13T13:00:00Z tags [graphs]",
      "account twitter:1000000000000000021 platform=twitter handle=mallory_m name=Mallory"
  });
}
TEST_CASE("v1.1: REST full_text form") {
  TLFLOW_CHECK_RECORDING(v1("full_text.json"), {
      "post twitter:1127000000000000012 by twitter:1000000000000000002 at 2019-05-13T14:00:00Z tags [graphs]",
      "  reply twitter:1000000000000000002 -> twitter:1000000000000000003",
      "  mention twitter:1000000000000000002 -> twitter:1000000000000000003",
      "account twitter:1000000000000000002 platform=twitter handle=bob_example name=Bob location=Oslo",
      "account twitter:1000000000000000003 platform=twitter handle=carol name=Carol"
  });
}
TEST_CASE("v1.1: notices") {
  TLFLOW_CHECK_RECORDING(v1("notice_delete.json"), {
      "notice delete twitter:1234"
  });
  TLFLOW_CHECK_RECORDING(v1("notice_scrub_geo.json"), {
      "notice scrub_geo"
  });
  TLFLOW_CHECK_RECORDING(v1("notice_limit.json"), {
      "notice limit 1234"
  });
  TLFLOW_CHECK_RECORDING(v1("notice_disconnect.json"), {
      "notice disconnect"
  });
  TLFLOW_CHECK_RECORDING(v1("notice_warning.json"), {
      "notice warning"
  });
  TLFLOW_CHECK_RECORDING(v1("notice_withheld.json"), {
      "notice ignored"
  });
  const auto d = v1("notice_disconnect.json");
  CHECK(d.detail == "code 4: Duplicate stream connected");
  CHECK(v1("notice_warning.json").detail == "FALLING_BEHIND");
}
TEST_CASE("v1.1: a status without user is missing_field") {
  CHECK(extract::extract(format::twitter_v1, R"({"id_str":"1","text":"x"})").error ==
        extract::error_reason::missing_field);
  CHECK(extract::extract(format::twitter_v1, R"({"id_str":"1","text":"x","user":{"screen_name":"a"}})").error ==
        extract::error_reason::missing_field);
}
