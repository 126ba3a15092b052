// What every extractor shares: bad input handling, format detection, time and
// hashtag normalisation, the local tracking filter.
#include "extract_support.hpp"

using namespace tlflow;
using extract::error_reason;
using extract::format;

TEST_CASE("extract: bad input is a typed error, never an exception") {
  const std::string good = test::fixture("x_v2/reply.json");
  struct bad_case {
    std::string raw;
    error_reason want;
  };
  const std::vector<bad_case> cases = {
      {"", error_reason::empty},
      {"\r\n", error_reason::empty},
      {good.substr(0, good.size() / 2), error_reason::malformed_json},  // truncated
      {good.substr(0, good.size() - 3), error_reason::malformed_json},  // truncated near the end
      {good + "{}", error_reason::malformed_json},                      // two documents
      {std::string("{\"data\":{}}\0garbage", 19), error_reason::malformed_json},
      {"{\"data\":{\"id\":\"1\",\"text\":\"\xC3\x28\"}}", error_reason::invalid_utf8},
      {"{\"data\":{\"id\":\"1\",\"text\":\"\xED\xA0\x80\"}}", error_reason::invalid_utf8},
      {"{\"data\":{\"id\":\"1\",\"text\":\"\\ud800\"}}", error_reason::invalid_utf8},
      {"\xFF\xFE{}", error_reason::invalid_utf8},                      // UTF-16 BOM
      {"{\"a\":\"\xF0\x9F\x98\"}", error_reason::invalid_utf8},           // cut emoji
      {"{\"data\":{\"id\":\"1\",\"author_id\":\"2\\udc00\"}}", error_reason::missing_field},
      {"[1,2,3]", error_reason::not_a_post},
      {"\"just a string\"", error_reason::not_a_post},
      {"{\"data\":5}", error_reason::not_a_post},
      {"{\"hello\":\"world\"}", error_reason::not_a_post},
      {"{\"data\":{\"id\":\"1\",\"text\":\"no author\"}}", error_reason::missing_field},
      {"{\"data\":{\"author_id\":\"1\",\"text\":\"no id\"}}", error_reason::missing_field},
      {"{\"data\":{\"id\":\"1\\u0000\",\"author_id\":\"2\"}}", error_reason::missing_field},
      {std::string(100000, '['), error_reason::malformed_json},
  };
  for (const auto& c : cases) {
    CAPTURE(c.raw.substr(0, 60));
    const auto x = extract::extract(format::x_v2, c.raw);
    CHECK(x.error == c.want);
    CHECK(x.notice == extract::notice_kind::none);
    CHECK(x.posts.empty());
    CHECK(x.interactions.empty());
    CHECK(x.accounts.empty());
    CHECK(!x.detail.empty());
  }
}

TEST_CASE("extract: every format reports bad input the same way") {
  const std::string good = test::fixture("twitter_v1/quote_reply.json");
  const std::vector<std::pair<std::string, error_reason>> cases = {
      {" \t\r\n", error_reason::empty},
      {good.substr(0, 100), error_reason::malformed_json},
      {good + "]", error_reason::malformed_json},
      {std::string("{}\0{}", 5), error_reason::malformed_json},
      {"{\"text\":\"\xE2\x82\"}", error_reason::invalid_utf8},
      {"{\"text\":\"\xC0\xAF\"}", error_reason::invalid_utf8}, // overlong
      {"{\"t\":\"\\ud800x\"}", error_reason::invalid_utf8},   // unpaired high surrogate
      {"[{\"id\":\"1\"}]", error_reason::not_a_post},
      {"{}", error_reason::not_a_post},
  };
  for (format f : {format::x_v2, format::twitter_v1, format::mastodon, format::jetstream,
                   format::auto_detect}) {
    for (const auto& c : cases) {
      CAPTURE(extract::to_string(f));
      CAPTURE(c.first.substr(0, 40));
      const auto x = extract::extract(f, c.first);
      CHECK(x.error == c.second);
      CHECK(x.posts.empty());
    }
  }
}

TEST_CASE("extract: deep nesting costs no native stack") {
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  CHECK(extract::extract(format::x_v2, deep).error == error_reason::not_a_post);
  const std::string in_object = "{\"data\":{\"id\":\"1\",\"author_id\":\"2\",\"x\":" + deep + "}}";
  CHECK(extract::extract(format::x_v2, in_object).ok());
  CHECK(extract::extract(format::auto_detect, std::string(200000, '{')).error ==
        error_reason::malformed_json);
}

TEST_CASE("extract: a lone escaped low surrogate never reaches a property") {
  const auto x = extract::extract(
      format::x_v2,
      R"({"data":{"id":"1","author_id":"2"},"includes":{"users":[{"id":"2","username":"u","name":"bad \udc00 name","location":"\udfff"}]}})");
  REQUIRE(x.ok());
  REQUIRE(x.accounts.size() == 1);
  CHECK(x.accounts[0].handle == "u");
  CHECK(x.accounts[0].name.empty());
  CHECK(x.accounts[0].location.empty());
}

TEST_CASE("extract: escaped surrogate pairs decode; lone ones never reach a hashtag") {
  const auto x = extract::extract(
      format::x_v2,
      R"({"data":{"id":"1","author_id":"2","entities":{"hashtags":[{"tag":"ok\ud83c\udf89"},{"tag":"bad\udc00"}]}},)"
      R"("includes":{"users":[{"id":"2","username":"u","name":"\ud83d\ude00 Smiley"}]}})");
  REQUIRE(x.ok());
  REQUIRE(x.posts.size() == 1);
  CHECK(x.posts[0].hashtags == std::vector<std::string>{"ok\xF0\x9F\x8E\x89"});
  CHECK(x.accounts[0].name == "\xF0\x9F\x98\x80 Smiley");
  // A backslash before "u" that is itself escaped is not an escape.
  const auto y = extract::extract(
      format::x_v2, R"({"data":{"id":"1","author_id":"2"},"includes":{"users":[{"id":"2","name":"a\\udc00"}]}})");
  REQUIRE(y.ok());
  CHECK(y.accounts[0].name == "a\\udc00");
}

TEST_CASE("extract: trailing newline or CR is accepted") {
  const std::string good = test::fixture("x_v2/reply.json");
  CHECK(extract::extract(format::x_v2, good + "\r\n").ok());
  CHECK(extract::extract(format::x_v2, good + "\n").ok());
}

TEST_CASE("extract: the wrong format is not_a_post, auto-detection finds the right one") {
  const std::string v1 = test::fixture("twitter_v1/quote_reply.json");
  CHECK(extract::extract(format::mastodon, v1).error == error_reason::not_a_post);
  CHECK(extract::extract(format::jetstream, v1).error == error_reason::not_a_post);
  CHECK(extract::detect_format(v1) == format::twitter_v1);
  CHECK(extract::detect_format(test::fixture("x_v2/reply.json")) == format::x_v2);
  CHECK(extract::detect_format(test::fixture("x_v2/twarc2_page.json")) == format::x_v2);
  CHECK(extract::detect_format(test::fixture("x_v2/twarc2_flat.json")) == format::x_v2);
  CHECK(extract::detect_format(test::fixture("x_v2/disconnect.json")) == format::x_v2);
  CHECK(extract::detect_format(test::fixture("mastodon/mention_hashtag.json")) == format::mastodon);
  CHECK(extract::detect_format(test::fixture("jetstream/post.json")) == format::jetstream);
  CHECK(extract::detect_format("{\"delete\":{\"status\":{\"id_str\":\"1\"}}}") == format::twitter_v1);
  CHECK(extract::detect_format("{\"limit\":{\"track\":3}}") == format::twitter_v1);
  CHECK(extract::detect_format("{nope") == format::auto_detect);
  CHECK(extract::detect_format("{}") == format::auto_detect);
  const auto a = extract::extract(format::auto_detect, v1);
  CHECK(a.ok());
  CHECK(a.detected == format::twitter_v1);
  CHECK(extract::extract(format::auto_detect, "{}").error == error_reason::not_a_post);
}

TEST_CASE("extract: the reusing overload leaves nothing of the previous message") {
  extract::extraction x;
  extract::extract(format::x_v2, test::fixture("x_v2/retweet.json"), x);
  CHECK(x.interactions.size() == 3);
  extract::extract(format::x_v2, "{\"limit\":{\"track\":1}}", x);
  CHECK(x.is_error());
  CHECK(x.interactions.empty());
  CHECK(x.posts.empty());
  extract::extract(format::twitter_v1, "{\"limit\":{\"track\":1}}", x);
  CHECK(x.notice == extract::notice_kind::limit);
  CHECK(x.limit_count == 1);
  CHECK(x.error == error_reason::none);
}

TEST_CASE("normalize_time") {
  using extract::normalize_time;
  CHECK(normalize_time("Wed Oct 10 20:19:24 +0000 2018") == "2018-10-10T20:19:24Z");
  CHECK(normalize_time("Wed Oct 10 20:19:24 +0130 2018") == "2018-10-10T18:49:24Z");
  CHECK(normalize_time("Mon Dec 31 23:30:00 -0100 2018") == "2019-01-01T00:30:00Z");
  CHECK(normalize_time("2024-05-13T10:00:00.000Z") == "2024-05-13T10:00:00Z");
  CHECK(normalize_time("2024-05-13T10:00:00Z") == "2024-05-13T10:00:00Z");
  CHECK(normalize_time("2024-05-13T10:00:00.123456789+02:00") == "2024-05-13T08:00:00Z");
  CHECK(normalize_time("2024-03-01T00:30:00+01:00") == "2024-02-29T23:30:00Z");
  CHECK(normalize_time("2024-05-13T10:00:00") == "2024-05-13T10:00:00Z");
  CHECK(normalize_time("2024-05-13T10:00:00-0530") == "2024-05-13T15:30:00Z");
  CHECK(normalize_time("2018-10-10 20:19:24+00:00") == "2018-10-10T20:19:24Z");
  CHECK(normalize_time("0999-01-01T00:00:00Z") == "0999-01-01T00:00:00Z");
  CHECK(normalize_time("9999-12-31T23:59:59Z") == "9999-12-31T23:59:59Z");
  CHECK(normalize_time("9999-12-31T23:59:59-01:00").empty()); // past year 9999
  CHECK(normalize_time("1970-01-01T00:00:60Z") == "1970-01-01T00:00:59Z");
  CHECK(normalize_time("").empty());
  CHECK(normalize_time("yesterday").empty());
  CHECK(normalize_time("2024-13-13T10:00:00Z").empty());
  CHECK(normalize_time("2024-02-30T10:00:00Z").empty());
  CHECK(normalize_time("2024-05-13T25:00:00Z").empty());
  CHECK(normalize_time("2024-05-13T10:00:00.Z").empty());
  CHECK(normalize_time("2024-05-13T10:00:00Zjunk").empty());
  CHECK(normalize_time("Wed Foo 10 20:19:24 +0000 2018").empty());
  CHECK(normalize_time("Wed Oct 10 20:19:24 0000 2018 ").empty());
}

TEST_CASE("normalize_hashtag") {
  using extract::normalize_hashtag;
  CHECK(normalize_hashtag("#COP29") == "cop29");
  CHECK(normalize_hashtag("Climate") == "climate");
  CHECK(normalize_hashtag("\xEF\xBC\x83Tag") == "tag"); // fullwidth number sign
  CHECK(normalize_hashtag("ÉLECTION") == "élection");
  CHECK(normalize_hashtag("ŁÓDŹ") == "łódź");
  CHECK(normalize_hashtag("ΑΘΗΝΑ") == "αθηνα");
  CHECK(normalize_hashtag("ВЫБОРЫ") == "выборы");
  CHECK(normalize_hashtag("ЁЖ") == "ёж");
  CHECK(normalize_hashtag("日本語") == "日本語");
  CHECK(normalize_hashtag("🎉Party") == "🎉party");
  CHECK(normalize_hashtag("##x") == "#x");
  CHECK(normalize_hashtag("").empty());
}

TEST_CASE("format and reason names are stable") {
  CHECK(extract::parse_format("x") == format::x_v2);
  CHECK(extract::parse_format("twarc2") == format::x_v2);
  CHECK(extract::parse_format("twarc") == format::twitter_v1);
  CHECK(extract::parse_format("twitter-v1") == format::twitter_v1);
  CHECK(extract::parse_format("mastodon") == format::mastodon);
  CHECK(extract::parse_format("bluesky") == format::jetstream);
  CHECK(extract::parse_format("auto") == format::auto_detect);
  CHECK_FALSE(extract::parse_format("myspace"));
  CHECK(extract::to_string(error_reason::malformed_json) == "malformed_json");
  CHECK(extract::to_string(error_reason::invalid_utf8) == "invalid_utf8");
  CHECK(extract::to_string(error_reason::not_a_post) == "not_a_post");
  CHECK(extract::to_string(error_reason::missing_field) == "missing_field");
  CHECK(extract::to_string(extract::notice_kind::delete_post) == "delete");
  CHECK(extract::to_string(format::x_v2) == "x-v2");
}

TEST_CASE("extract: an NDJSON file mixing every format, auto-detected line by line") {
  std::istringstream in(test::fixture("mixed.ndjson"));
  std::string line;
  std::vector<std::string> got;
  extract::extraction x;
  while (std::getline(in, line)) {
    extract::extract(format::auto_detect, line, x);
    std::string l = std::string(extract::to_string(x.detected)) + " ";
    if (x.is_error()) l += std::string(extract::to_string(x.error));
    else if (x.is_notice()) l += std::string(extract::to_string(x.notice));
    else l += std::to_string(x.posts.size()) + " post(s), " + std::to_string(x.interactions.size()) + " interaction(s)";
    got.push_back(l);
  }
  const std::vector<std::string> want = {
      "x-v2 1 post(s), 2 interaction(s)",
      "twitter-v1 1 post(s), 3 interaction(s)",
      "mastodon 1 post(s), 2 interaction(s)",
      "jetstream 1 post(s), 3 interaction(s)",
      "auto empty",
      "twitter-v1 limit",
      "x-v2 1 post(s), 4 interaction(s)",
      "mastodon 1 post(s), 1 interaction(s)",
      "jetstream ignored",
      "auto not_a_post",
      "auto malformed_json",
  };
  test::print_on_mismatch(got, want);
  CHECK(got == want);
}
