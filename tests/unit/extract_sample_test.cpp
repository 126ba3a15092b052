// The shipped sample corpus (samples/x-v2-sample.ndjson, written by
// scripts/gen_sample.py): every line extracts, entity offsets point at their
// text as X's do, and the totals make a graph worth looking at (all kinds,
// several hashtags and locations).
#include "extract_support.hpp"

#include <rapidjson/document.h>

#include <map>
#include <set>

using namespace tlflow;

namespace {
// X entity indices count code points: slice [start, end) of a UTF-8 text.
std::string slice_code_points(const std::string& text, unsigned start, unsigned end) {
  std::vector<std::size_t> at; // byte offset of each code point
  for (std::size_t i = 0; i < text.size(); ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) at.push_back(i);
  at.push_back(text.size());
  if (end < start || end >= at.size()) return "<out of range>";
  return text.substr(at[start], at[end] - at[start]);
}

// Every mention and hashtag entity points at its own text, as X's do.
void check_entities(const rapidjson::Value& post) {
  const std::string text = post["text"].GetString();
  if (!post.HasMember("entities")) return;
  const auto& ents = post["entities"];
  if (ents.HasMember("mentions"))
    for (const auto& m : ents["mentions"].GetArray())
      CHECK(slice_code_points(text, m["start"].GetUint(), m["end"].GetUint()) ==
            std::string("@") + m["username"].GetString());
  if (ents.HasMember("hashtags"))
    for (const auto& h : ents["hashtags"].GetArray())
      CHECK(slice_code_points(text, h["start"].GetUint(), h["end"].GetUint()) ==
            std::string("#") + h["tag"].GetString());
}
} // namespace

TEST_CASE("sample corpus: every line extracts and the totals are plausible") {
  const std::string path = std::string(TLFLOW_SOURCE_DIR) + "/samples/x-v2-sample.ndjson";
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "missing " << path);
  std::string line;
  std::size_t lines = 0, posts = 0;
  std::map<edge_kind, std::size_t> kinds;
  std::set<std::string> hashtags, rules, locations, accounts, post_ids, unlocated;
  extract::extraction x;
  while (std::getline(in, line)) {
    ++lines;
    rapidjson::Document doc;
    doc.Parse(line.data(), line.size());
    REQUIRE(!doc.HasParseError());
    check_entities(doc["data"]);
    if (doc["includes"].HasMember("tweets"))
      for (const auto& t : doc["includes"]["tweets"].GetArray()) check_entities(t);
    extract::extract(extract::format::auto_detect, line, x);
    REQUIRE_MESSAGE(x.ok(), "line " << lines << ": " << extract::to_string(x.error) << " " << x.detail);
    CHECK(x.detected == extract::format::x_v2);
    posts += x.posts.size();
    for (const auto& p : x.posts) {
      post_ids.insert(p.post_id);
      CHECK(p.at.size() == 20);
      for (const auto& t : p.hashtags) hashtags.insert(t);
      for (const auto& r : p.rule_tags) rules.insert(r);
      if (p.author.location.empty()) unlocated.insert(p.author.id);
    }
    for (const auto& i : x.interactions) ++kinds[i.kind];
    for (const auto& a : x.accounts) {
      accounts.insert(a.id);
      if (!a.location.empty()) locations.insert(a.location);
    }
  }
  MESSAGE("lines " << lines << ", accounts " << accounts.size() << ", mentions "
                   << kinds[edge_kind::mention] << ", replies " << kinds[edge_kind::reply]
                   << ", reposts " << kinds[edge_kind::repost] << ", quotes "
                   << kinds[edge_kind::quote] << ", hashtags " << hashtags.size()
                   << ", locations " << locations.size());
  CHECK(lines >= 2000);
  CHECK(posts == lines);
  CHECK(post_ids.size() == lines); // ids unique
  CHECK(accounts.size() >= 300);
  CHECK(kinds[edge_kind::mention] >= lines / 5);
  CHECK(kinds[edge_kind::reply] >= lines / 10);
  CHECK(kinds[edge_kind::repost] >= lines / 5);
  CHECK(kinds[edge_kind::quote] >= lines / 20);
  CHECK(hashtags.size() >= 9);
  CHECK(rules == std::set<std::string>{"climate-summit", "election", "football-final"});
  CHECK(locations.size() >= 10);
  CHECK(!unlocated.empty());
  CHECK(hashtags.count("cop29") == 1);
  CHECK(hashtags.count("election2024") == 1);
  CHECK(hashtags.count("uclfinal") == 1);
}
