// Tracking: normalisation and validation, persistence, observers, and the
// /tracking routes through the router (no server).
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "api/tracking_routes.hpp"
#include "tracking/tracking.hpp"
#include "support/temp_dir.hpp"

using namespace tlflow;

TEST_CASE("tracking: hashtag normalisation") {
  CHECK(*normalize_hashtag("#Graphs") == "graphs");
  CHECK(*normalize_hashtag("  GRAPHS ") == "graphs");
  CHECK(*normalize_hashtag("graph_db2") == "graph_db2");
  CHECK(*normalize_hashtag("\xEF\xBC\x83" "Tag") == "tag");                 // full-width #
  CHECK(*normalize_hashtag("#ÑANDÚ") == "ñandú");                            // Latin-1
  CHECK(*normalize_hashtag("#МОСКВА") == "москва");                          // Cyrillic
  CHECK(*normalize_hashtag("#日本語") == "日本語");                              // CJK letters
  CHECK(*normalize_hashtag("#हिन्दी") == "हिन्दी");                              // combining marks
  CHECK(*normalize_hashtag("#١٢٣abc") == "١٢٣abc");                          // Arabic-Indic digits
  CHECK(normalize_hashtag(std::string(100, 'a')).ok());
  CHECK(normalize_hashtag(std::string(50, 'a') + std::string(50 * 0, 'b') + "日").ok());
}

TEST_CASE("tracking: invalid hashtags") {
  for (const char* bad : {"", "#", "   ", "two words", "dash-ed", "a#b", "##x", "emoji😀", "semi;colon",
                          "quote\"", "tab\tx", "slash/x", "\xff\xfe"}) {
    auto r = normalize_hashtag(bad);
    CHECK_MESSAGE(!r.ok(), bad);
    if (!r.ok()) CHECK(r.err().code == errc::invalid_argument);
  }
  CHECK_FALSE(normalize_hashtag(std::string(101, 'a')).ok());
  std::string hundred_cjk;
  for (int i = 0; i < 100; ++i) hundred_cjk += "日";
  CHECK(normalize_hashtag(hundred_cjk).ok());              // 100 characters, 300 bytes
  CHECK_FALSE(normalize_hashtag(hundred_cjk + "日").ok());
}

TEST_CASE("tracking: keywords") {
  CHECK(*normalize_keyword("  graph   database ") == "graph database");
  CHECK_FALSE(normalize_keyword("").ok());
  CHECK_FALSE(normalize_keyword("a\"b").ok());
  CHECK_FALSE(normalize_keyword("a\x01" "b").ok());
  CHECK_FALSE(normalize_keyword(std::string(101, 'k')).ok());
}

TEST_CASE("tracking: sets are sorted and unique; JSON round trip") {
  tracking_set in;
  in.hashtags = {"#B", "a", "b"};
  in.keywords = {"z", "y"};
  auto n = normalize_tracking(in);
  REQUIRE(n.ok());
  CHECK(n->hashtags == std::vector<std::string>{"a", "b"});
  CHECK(n->keywords == std::vector<std::string>{"y", "z"});
  CHECK(tracking_to_json(*n) == R"({"hashtags":["a","b"],"keywords":["y","z"]})");
  auto back = tracking_from_json(tracking_to_json(*n));
  REQUIRE(back.ok());
  CHECK(*back == *n);
  CHECK(tracking_from_json("{").err().code == errc::malformed_json);
  CHECK(tracking_from_json("[]").err().code == errc::invalid_argument);
  CHECK(tracking_from_json(R"({"hashtags":"x"})").err().code == errc::invalid_argument);
  CHECK(tracking_from_json(R"({"hashtags":[1]})").err().code == errc::invalid_argument);
  CHECK(tracking_from_json(R"({"tags":[]})").err().code == errc::invalid_argument);
  CHECK(tracking_from_json(R"({"hashtags":null})")->hashtags.empty());
}

TEST_CASE("tracking: persisted atomically, wins over the initial set on restart") {
  tlflow::test::temp_dir dir;
  tracking_set initial;
  initial.hashtags = {"Graphs"};
  {
    tracking t(dir.path(), initial);
    REQUIRE(t.load().ok());
    CHECK(t.get().hashtags == std::vector<std::string>{"graphs"});
    REQUIRE(t.add_hashtag("#Rust").ok());
    REQUIRE(t.remove_hashtag("graphs").ok());
  }
  // Read through rdbuf(): GCC 12 sees a null dereference in libstdc++'s
  // istreambuf_iterator path (a false -Wnull-dereference in our file).
  std::ostringstream body;
  body << std::ifstream(dir.file("tracking.json")).rdbuf();
  CHECK(body.str() == "{\"hashtags\":[\"rust\"],\"keywords\":[]}\n");
  CHECK_FALSE(std::filesystem::exists(dir.file("tracking.json.tmp")));
  tracking again(dir.path(), initial);
  REQUIRE(again.load().ok());
  CHECK(again.get().hashtags == std::vector<std::string>{"rust"});
}

TEST_CASE("tracking: a corrupt file is an error, not silently replaced") {
  tlflow::test::temp_dir dir;
  std::ofstream(dir.file("tracking.json")) << "{not json";
  tracking t(dir.path(), {});
  auto st = t.load();
  REQUIRE_FALSE(st.ok());
  CHECK(st.err().code == errc::malformed_json);
}

TEST_CASE("tracking: observers see every change, in order, after it is persisted") {
  tlflow::test::temp_dir dir;
  tracking t(dir.path(), {});
  REQUIRE(t.load().ok());
  std::vector<std::vector<std::string>> seen;
  auto id = t.subscribe([&](const tracking_set& s) {
    seen.push_back(s.hashtags);
    CHECK(t.get() == s);  // observers may read back
  });
  REQUIRE(t.add_hashtag("a").ok());
  REQUIRE(t.add_hashtag("a").ok());  // no change, no notification
  REQUIRE(t.add_hashtag("b").ok());
  tracking_set r;
  r.hashtags = {"c"};
  REQUIRE(t.replace(r).ok());
  CHECK(t.remove_hashtag("zzz").err().code == errc::not_found);
  CHECK(t.add_hashtag("bad tag").err().code == errc::invalid_argument);
  t.unsubscribe(id);
  REQUIRE(t.add_hashtag("d").ok());
  CHECK(seen == std::vector<std::vector<std::string>>{{"a"}, {"a", "b"}, {"c"}});
}

TEST_CASE("tracking: ephemeral (no data dir) keeps it in memory") {
  tracking_set initial;
  initial.hashtags = {"x"};
  tracking t("", initial);
  REQUIRE(t.load().ok());
  REQUIRE(t.add_hashtag("y").ok());
  CHECK(t.get().hashtags == std::vector<std::string>{"x", "y"});
}

namespace {
api::response call(api::router& r, const std::string& method, const std::string& path,
                   const std::string& body = {}) {
  auto m = r.match(method, path);
  REQUIRE(m.outcome == api::match_result::kind::found);
  api::request q;
  q.method = method;
  q.path = path;
  q.params = m.params;
  q.body = body;
  q.content_type = "application/json";
  try {
    return m.matched->fn(q);
  } catch (const api::api_error& e) {
    api::response resp;
    resp.status = api::http_status(e.code());
    resp.body = std::string(to_string(e.code()));
    return resp;
  }
}
} // namespace

TEST_CASE("tracking routes: GET, PUT, POST, DELETE and their errors") {
  tlflow::test::temp_dir dir;
  tracking t(dir.path(), {});
  REQUIRE(t.load().ok());
  api::router r;
  api::add_tracking_routes(r, t);
  for (const auto& route : r.routes())
    CHECK(route.options.mutating == (route.method != "GET"));

  auto g = call(r, "GET", "/tracking");
  CHECK(g.status == 200);
  CHECK(g.body == R"({"hashtags":[],"keywords":[]})");

  auto p = call(r, "PUT", "/tracking", R"({"hashtags":["#Graphs","rust"],"keywords":["graph db"]})");
  CHECK(p.status == 200);
  CHECK(p.body == R"({"hashtags":["graphs","rust"],"keywords":["graph db"]})");

  auto a = call(r, "POST", "/tracking/hashtags", R"({"hashtag":"#NewTag"})");
  CHECK(a.status == 201);
  CHECK(a.body == R"({"hashtags":["graphs","newtag","rust"],"keywords":["graph db"]})");
  CHECK(call(r, "POST", "/tracking/hashtags", R"({"hashtag":"newtag"})").status == 200);

  auto d = call(r, "DELETE", "/tracking/hashtags/NewTag");
  CHECK(d.status == 200);
  CHECK(d.body == R"({"hashtags":["graphs","rust"],"keywords":["graph db"]})");
  auto d2 = call(r, "DELETE", "/tracking/hashtags/%C3%B1and%C3%BA");
  CHECK(d2.status == 404);
  CHECK(d2.body == "not_found");

  CHECK(call(r, "PUT", "/tracking", "{").body == "malformed_json");
  CHECK(call(r, "PUT", "/tracking", R"({"hashtags":["no spaces"]})").status == 400);
  CHECK(call(r, "POST", "/tracking/hashtags", R"({"tag":"x"})").status == 400);
  CHECK(call(r, "POST", "/tracking/hashtags", R"({"hashtag":"a-b"})").body == "invalid_argument");
  CHECK(t.get().hashtags == std::vector<std::string>{"graphs", "rust"});
}

namespace {
std::string tag_n(std::size_t i) { return "t" + std::to_string(10000 + i); }
} // namespace

TEST_CASE("tracking: one hashtag limit for add, replace and the saved file") {
  tlflow::test::temp_dir dir;
  tracking t(dir.path(), {});
  REQUIRE(t.load().ok());
  tracking_set full;
  for (std::size_t i = 0; i < max_tracked_hashtags; ++i) full.hashtags.push_back(tag_n(i));
  REQUIRE(t.replace(full).ok());
  auto more = t.add_hashtag("onemore");
  REQUIRE_FALSE(more.ok());
  CHECK(more.err().code == errc::limit_reached);
  CHECK(t.add_hashtag(tag_n(3)).ok());  // already tracked: unchanged, not an error
  CHECK(t.get().hashtags.size() == max_tracked_hashtags);

  tracking_set over = full;
  over.hashtags.push_back("onemore");
  auto r = t.replace(over);
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().code == errc::invalid_argument);
  // The limit counts normalised entries: duplicates do not count twice.
  tracking_set dup = full;
  dup.hashtags.push_back("#" + tag_n(0));
  CHECK(t.replace(dup).ok());

  tracking_set kw;
  for (std::size_t i = 0; i <= max_tracked_keywords; ++i) kw.keywords.push_back("kw " + std::to_string(i));
  CHECK(t.replace(kw).err().code == errc::invalid_argument);

  // Over the limit is refused in the initial set too (--track is held to it
  // by the configuration; this is the same rule one level down).
  tlflow::test::temp_dir dir2;
  tracking seeded(dir2.path(), over);
  CHECK(seeded.load().err().code == errc::invalid_argument);
}

TEST_CASE("tracking: a saved file over the limit loads its first entries instead of failing") {
  tlflow::test::temp_dir dir;
  {
    std::ofstream f(dir.file("tracking.json"));
    f << R"({"hashtags":["no spaces")";
    for (std::size_t i = 0; i <= max_tracked_hashtags; ++i) f << ",\"" << tag_n(i) << '"';
    f << R"(],"keywords":["graph db"]})";
  }
  tracking t(dir.path(), {});
  REQUIRE(t.load().ok());
  auto got = t.get();
  REQUIRE(got.hashtags.size() == max_tracked_hashtags);
  CHECK(got.hashtags.front() == tag_n(0));
  CHECK(got.hashtags.back() == tag_n(max_tracked_hashtags - 1));
  CHECK(got.keywords == std::vector<std::string>{"graph db"});
  // Full: one more is refused, removing one makes room.
  CHECK(t.add_hashtag("x").err().code == errc::limit_reached);
  REQUIRE(t.remove_hashtag(tag_n(0)).ok());
  CHECK(t.add_hashtag("x").ok());
}

TEST_CASE("tracking routes: 409 limit_reached when full, 400 for a PUT over the limit") {
  tlflow::test::temp_dir dir;
  tracking t(dir.path(), {});
  REQUIRE(t.load().ok());
  api::router r;
  api::add_tracking_routes(r, t);
  std::string body = R"({"hashtags":[)";
  for (std::size_t i = 0; i < max_tracked_hashtags; ++i) body += (i ? ",\"" : "\"") + tag_n(i) + '"';
  CHECK(call(r, "PUT", "/tracking", body + "]}").status == 200);
  auto full = call(r, "POST", "/tracking/hashtags", R"({"hashtag":"onemore"})");
  CHECK(full.status == 409);
  CHECK(full.body == "limit_reached");
  CHECK(call(r, "POST", "/tracking/hashtags", "{\"hashtag\":\"" + tag_n(1) + "\"}").status == 200);
  auto over = call(r, "PUT", "/tracking", body + R"(,"onemore"]})");
  CHECK(over.status == 400);
  CHECK(over.body == "invalid_argument");
}
