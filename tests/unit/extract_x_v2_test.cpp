// X API v2 extraction: stream lines, includes joins, twarc2 pages and
// flattened posts, stream problems, and the ambiguous cases of
// docs/extraction-rules.md.
#include "extract_support.hpp"

using namespace tlflow;
using extract::format;

namespace {
extract::extraction x(const std::string& name) {
  return extract::extract(format::x_v2, test::fixture("x_v2/" + name));
}
} // namespace

TEST_CASE("x v2: reply with leading mention counts as reply and mention") {
  TLFLOW_CHECK_RECORDING(x("reply.json"), {
      "post twitter:1790000000000000001 by twitter:1000000000000000001 at 2024-05-13T10:00:00Z tags [graphs] rules [graphs-en]",
      "  reply twitter:1000000000000000001 -> twitter:1000000000000000002",
      "  mention twitter:1000000000000000001 -> twitter:1000000000000000002",
      "account twitter:1000000000000000001 platform=twitter handle=alice_example name=Alice location=Berlin",
      "account twitter:1000000000000000002 platform=twitter handle=bob_example name=Bob"
  });
}
TEST_CASE("x v2: retweet credits the original author and the original's mentions, not the RT prefix") {
  TLFLOW_CHECK_RECORDING(x("retweet.json"), {
      "post twitter:1790000000000000010 by twitter:1000000000000000003 at 2024-05-13T11:00:05Z tags [climate,cop,cop29] rules [climate]",
      "  repost twitter:1000000000000000003 -> twitter:1000000000000000001",
      "  mention twitter:1000000000000000003 -> twitter:1000000000000000004",
      "  mention twitter:1000000000000000003 -> twitter:1000000000000000005",
      "account twitter:1000000000000000003 platform=twitter handle=carol_c name=Carol location=Lagos, Nigeria",
      "account twitter:1000000000000000001 platform=twitter handle=alice_example name=Alice location=Berlin",
      "account twitter:1000000000000000004 platform=twitter handle=dave_x name=Dave",
      "account twitter:1000000000000000005 platform=twitter handle=erin_e name=Erin location=Paris"
  });
}
TEST_CASE("x v2: quote of a retweet credits the quoted post's author") {
  TLFLOW_CHECK_RECORDING(x("quote_of_retweet.json"), {
      "post twitter:1790000000000000020 by twitter:1000000000000000005 at 2024-05-13T12:00:00Z tags [climate]",
      "  quote twitter:1000000000000000005 -> twitter:1000000000000000003",
      "account twitter:1000000000000000005 platform=twitter handle=erin_e name=Erin location=Paris",
      "account twitter:1000000000000000003 platform=twitter handle=carol_c name=Carol location=Lagos, Nigeria"
  });
}
TEST_CASE("x v2: retweet of a quote is a repost only") {
  TLFLOW_CHECK_RECORDING(x("retweet_of_quote.json"), {
      "post twitter:1790000000000000030 by twitter:1000000000000000004 at 2024-05-13T12:30:00Z tags [climate]",
      "  repost twitter:1000000000000000004 -> twitter:1000000000000000005",
      "account twitter:1000000000000000004 platform=twitter handle=dave_x name=Dave",
      "account twitter:1000000000000000005 platform=twitter handle=erin_e name=Erin location=Paris"
  });
}
TEST_CASE("x v2: self-mentions and self-replies are dropped, duplicates counted once") {
  TLFLOW_CHECK_RECORDING(x("self_mention.json"), {
      "post twitter:1790000000000000040 by twitter:1000000000000000001 at 2024-05-13T13:00:00Z tags [graphs]",
      "  mention twitter:1000000000000000001 -> twitter:1000000000000000002",
      "account twitter:1000000000000000001 platform=twitter handle=alice_example name=Alice location=Berlin",
      "account twitter:1000000000000000002 platform=twitter handle=bob_example name=Bob"
  });
}
TEST_CASE("x v2: referenced posts in includes.posts") {
  TLFLOW_CHECK_RECORDING(x("includes_posts.json"), {
      "post twitter:1790000000000000050 by twitter:1000000000000000006 at 2024-05-13T14:00:00Z tags [election2024] rules [election]",
      "  quote twitter:1000000000000000006 -> twitter:1000000000000000007",
      "account twitter:1000000000000000006 platform=twitter handle=frank_f name=Frank location=São Paulo",
      "account twitter:1000000000000000007 platform=twitter handle=grace_g name=Grace location=Tokyo"
  });
}
TEST_CASE("x v2: deleted referenced posts") {
  TLFLOW_CHECK_RECORDING(x("deleted_reference.json"), {
      "post twitter:1790000000000000060 by twitter:1000000000000000006 at 2024-05-13T15:00:00Z tags [election2024]",
      "  reply twitter:1000000000000000006 -> twitter:1000000000000000007",
      "  mention twitter:1000000000000000006 -> twitter:1000000000000000007",
      "account twitter:1000000000000000006 platform=twitter handle=frank_f name=Frank location=São Paulo",
      "account twitter:1000000000000000007 platform=twitter handle=grace_g name=Grace location=Tokyo"
  });
}
TEST_CASE("x v2: place as location when the profile has none") {
  TLFLOW_CHECK_RECORDING(x("place.json"), {
      "post twitter:1790000000000000070 by twitter:1000000000000000008 at 2024-05-13T14:00:00Z tags [worldcupfinal]",
      "account twitter:1000000000000000008 platform=twitter handle=heidi_h name=Heidi location=Manhattan, NY"
  });
}
TEST_CASE("x v2: note_tweet entities and unicode hashtags") {
  TLFLOW_CHECK_RECORDING(x("note_tweet.json"), {
      "post twitter:1790000000000000080 by twitter:1000000000000000009 at 2024-05-13T17:00:00Z tags [élection,выборы]",
      "  mention twitter:1000000000000000009 -> twitter:1000000000000000007",
      "account twitter:1000000000000000009 platform=twitter handle=ivan_i name=Ivan 🚀 location=Москва",
      "account twitter:1000000000000000007 platform=twitter handle=grace_g name=Grace location=Tokyo"
  });
}
TEST_CASE("x v2: twarc2 page with a bad post keeps the others") {
  TLFLOW_CHECK_RECORDING(x("twarc2_page.json"), {
      "post twitter:1790000000000000091 by twitter:1000000000000000001 at 2024-05-13T18:00:00Z tags [graphs]",
      "  mention twitter:1000000000000000001 -> twitter:1000000000000000002",
      "post twitter:1790000000000000093 by twitter:1000000000000000003 at 2024-05-13T18:01:00Z tags [graphs]",
      "  repost twitter:1000000000000000003 -> twitter:1000000000000000001",
      "  mention twitter:1000000000000000003 -> twitter:1000000000000000002",
      "account twitter:1000000000000000001 platform=twitter handle=alice_example name=Alice location=Berlin",
      "account twitter:1000000000000000002 platform=twitter handle=bob_example name=Bob",
      "account twitter:1000000000000000003 platform=twitter handle=carol_c name=Carol location=Lagos, Nigeria"
  });
}
TEST_CASE("x v2: twarc2 flattened post") {
  TLFLOW_CHECK_RECORDING(x("twarc2_flat.json"), {
      "post twitter:1790000000000000100 by twitter:1000000000000000001 at 2024-05-13T19:00:00Z tags [graphs] rules [graphs]",
      "  reply twitter:1000000000000000001 -> twitter:1000000000000000002",
      "  quote twitter:1000000000000000001 -> twitter:1000000000000000003",
      "  mention twitter:1000000000000000001 -> twitter:1000000000000000002",
      "  mention twitter:1000000000000000001 -> twitter:1000000000000000005",
      "account twitter:1000000000000000001 platform=twitter handle=alice_example name=Alice location=Berlin",
      "account twitter:1000000000000000002 platform=twitter handle=bob_example name=Bob",
      "account twitter:1000000000000000003 platform=twitter handle=carol_c name=Carol location=Lagos, Nigeria",
      "account twitter:1000000000000000005 platform=twitter handle=erin_e name=Erin location=Paris"
  });
}
TEST_CASE("x v2: stream problems are notices") {
  TLFLOW_CHECK_RECORDING(x("disconnect.json"), {
      "notice disconnect"
  });
  TLFLOW_CHECK_RECORDING(x("connection_exception.json"), {
      "notice stream_error"
  });
}

TEST_CASE("x v2: a page listing the same post twice yields it once") {
  const auto x = extract::extract(
      format::x_v2,
      R"({"data":[{"id":"9","author_id":"1","entities":{"mentions":[{"username":"b","id":"2"}]}},)"
      R"({"id":"9","author_id":"1","entities":{"mentions":[{"username":"b","id":"2"}]}}]})");
  TLFLOW_CHECK_RECORDING(x, {
      "post twitter:9 by twitter:1 at  tags []",
      "  mention twitter:1 -> twitter:2",
      "account twitter:1 platform=twitter",
      "account twitter:2 platform=twitter handle=b"
  });
}

// An edge's hashtags are what made the platform match the post: a quote
// without hashtags of its own carries those of the quoted post, read with its
// full entities (note_tweet).
TEST_CASE("x v2: a quote carries the quoted post's hashtags, note_tweet included") {
  TLFLOW_CHECK_RECORDING(x("quote_tagged_original.json"), {
      "post twitter:1790000000000000090 by twitter:1000000000000000002 at 2024-05-13T18:00:00Z tags [graphdb,graphs] rules [graphs-en]",
      "  quote twitter:1000000000000000002 -> twitter:1000000000000000001",
      "account twitter:1000000000000000002 platform=twitter handle=bob_example name=Bob",
      "account twitter:1000000000000000001 platform=twitter handle=alice_example name=Alice location=Berlin"
  });
}
// tlflow tags the rule of a tracked hashtag `tlflow:<tag>`: such a matching
// rule names a hashtag of the post even when the post's entities lack it (the
// quoted post is withheld here); keyword rules and others' rules name none.
TEST_CASE("x v2: matching rules tagged tlflow:<tag> name the post's tracked hashtags") {
  TLFLOW_CHECK_RECORDING(x("tracked_rules.json"), {
      "post twitter:1790000000000000091 by twitter:1000000000000000002 at 2024-05-13T18:05:00Z tags [climate,cop29] rules [tlflow:climate,tlflow:kw:summit,someone-else,tlflow:COP29]",
      "  mention twitter:1000000000000000002 -> twitter:1000000000000000003",
      "account twitter:1000000000000000002 platform=twitter handle=bob_example name=Bob",
      "account twitter:1000000000000000003 platform=twitter handle=carol_c name=Carol"
  });
}
