#include "stream_fixtures.hpp"

#include "pipeline/extract_adapter.hpp"

namespace tlflow::test {
namespace {
std::string uid(int n) { return std::to_string(1000000000000000000LL + n); }
std::string uname(int n) { return "user" + std::to_string(n); }
} // namespace

std::string x_v2_line(const std::string& id, int author, const std::vector<int>& mentioned,
                      const std::vector<std::string>& tags) {
  std::string text;
  std::string mentions, hashtags, users;
  std::size_t pos = 0;
  for (int m : mentioned) {
    std::string t = "@" + uname(m) + " ";
    if (!mentions.empty()) mentions += ',';
    mentions += "{\"start\":" + std::to_string(pos) + ",\"end\":" + std::to_string(pos + t.size() - 1) +
                ",\"username\":\"" + uname(m) + "\",\"id\":\"" + uid(m) + "\"}";
    text += t;
    pos += t.size();
  }
  for (const auto& h : tags) {
    std::string t = "#" + h + " ";
    if (!hashtags.empty()) hashtags += ',';
    hashtags += "{\"start\":" + std::to_string(pos) + ",\"end\":" + std::to_string(pos + t.size() - 1) +
                ",\"tag\":\"" + h + "\"}";
    text += t;
    pos += t.size();
  }
  users = "{\"id\":\"" + uid(author) + "\",\"name\":\"User " + std::to_string(author) +
          "\",\"username\":\"" + uname(author) + "\",\"location\":\"City " + std::to_string(author % 3) + "\"}";
  for (int m : mentioned)
    users += ",{\"id\":\"" + uid(m) + "\",\"name\":\"User " + std::to_string(m) + "\",\"username\":\"" +
             uname(m) + "\"}";
  return "{\"data\":{\"id\":\"" + id + "\",\"text\":\"" + text + "\",\"author_id\":\"" + uid(author) +
         "\",\"created_at\":\"2024-05-13T10:00:00.000Z\",\"lang\":\"en\",\"edit_history_tweet_ids\":[\"" +
         id + "\"],\"entities\":{\"mentions\":[" + mentions + "],\"hashtags\":[" + hashtags +
         "]}},\"includes\":{\"users\":[" + users + "]},\"matching_rules\":[{\"id\":\"1\",\"tag\":\"t\"}]}";
}

std::string twitter_v1_line(const std::string& id, int author, const std::vector<int>& mentioned,
                            const std::vector<std::string>& tags) {
  std::string text, mentions, hashtags;
  std::size_t pos = 0;
  for (int m : mentioned) {
    std::string t = "@" + uname(m) + " ";
    if (!mentions.empty()) mentions += ',';
    mentions += "{\"screen_name\":\"" + uname(m) + "\",\"name\":\"User " + std::to_string(m) +
                "\",\"id\":" + uid(m) + ",\"id_str\":\"" + uid(m) + "\",\"indices\":[" +
                std::to_string(pos) + "," + std::to_string(pos + t.size() - 1) + "]}";
    text += t;
    pos += t.size();
  }
  for (const auto& h : tags) {
    std::string t = "#" + h + " ";
    if (!hashtags.empty()) hashtags += ',';
    hashtags += "{\"text\":\"" + h + "\",\"indices\":[" + std::to_string(pos) + "," +
                std::to_string(pos + t.size() - 1) + "]}";
    text += t;
    pos += t.size();
  }
  return "{\"created_at\":\"Mon May 13 10:00:00 +0000 2019\",\"id\":" + id + ",\"id_str\":\"" + id +
         "\",\"text\":\"" + text + "\",\"truncated\":false,\"user\":{\"id\":" + uid(author) +
         ",\"id_str\":\"" + uid(author) + "\",\"name\":\"User " + std::to_string(author) +
         "\",\"screen_name\":\"" + uname(author) + "\",\"location\":null},\"entities\":{\"hashtags\":[" +
         hashtags + "],\"urls\":[],\"symbols\":[],\"user_mentions\":[" + mentions +
         "]},\"place\":null,\"coordinates\":null,\"lang\":\"en\"}";
}

std::string mastodon_status(const std::string& id, const std::string& host, const std::string& user,
                            const std::vector<std::string>& mentioned,
                            const std::vector<std::string>& tags) {
  std::string mentions, tagj;
  for (const auto& m : mentioned) {
    if (!mentions.empty()) mentions += ',';
    mentions += "{\"id\":\"9" + std::to_string(m.size()) + "\",\"username\":\"" + m + "\",\"url\":\"https://" +
                host + "/@" + m + "\",\"acct\":\"" + m + "\"}";
  }
  for (const auto& t : tags) {
    if (!tagj.empty()) tagj += ',';
    tagj += "{\"name\":\"" + t + "\",\"url\":\"https://" + host + "/tags/" + t + "\"}";
  }
  return "{\"id\":\"" + id + "\",\"created_at\":\"2024-05-13T10:00:00.000Z\",\"in_reply_to_id\":null,"
         "\"in_reply_to_account_id\":null,\"language\":\"en\",\"visibility\":\"public\","
         "\"uri\":\"https://" + host + "/users/" + user + "/statuses/" + id + "\","
         "\"url\":\"https://" + host + "/@" + user + "/" + id + "\","
         "\"content\":\"<p>hello</p>\",\"reblog\":null,\"account\":{\"id\":\"1" + std::to_string(user.size()) +
         "\",\"username\":\"" + user + "\",\"acct\":\"" + user + "\",\"display_name\":\"" + user +
         "\",\"url\":\"https://" + host + "/@" + user + "\"},\"mentions\":[" + mentions + "],\"tags\":[" +
         tagj + "]}";
}

std::string jetstream_post(std::int64_t time_us, const std::string& author, const std::string& rkey,
                           const std::vector<std::string>& mentioned,
                           const std::vector<std::string>& tags) {
  std::string text, facets;
  for (const auto& m : mentioned) {
    std::string t = "@" + m + ".bsky.social";
    std::size_t start = text.size();
    text += t + " ";
    if (!facets.empty()) facets += ',';
    facets += "{\"index\":{\"byteStart\":" + std::to_string(start) + ",\"byteEnd\":" +
              std::to_string(start + t.size()) +
              "},\"features\":[{\"$type\":\"app.bsky.richtext.facet#mention\",\"did\":\"did:plc:" + m + "\"}]}";
  }
  for (const auto& h : tags) {
    std::string t = "#" + h;
    std::size_t start = text.size();
    text += t + " ";
    if (!facets.empty()) facets += ',';
    facets += "{\"index\":{\"byteStart\":" + std::to_string(start) + ",\"byteEnd\":" +
              std::to_string(start + t.size()) +
              "},\"features\":[{\"$type\":\"app.bsky.richtext.facet#tag\",\"tag\":\"" + h + "\"}]}";
  }
  return "{\"did\":\"did:plc:" + author + "\",\"time_us\":" + std::to_string(time_us) +
         ",\"kind\":\"commit\",\"commit\":{\"rev\":\"3kseqabcdef2a\",\"operation\":\"create\","
         "\"collection\":\"app.bsky.feed.post\",\"rkey\":\"" + rkey + "\",\"cid\":\"bafyreiexample\","
         "\"record\":{\"$type\":\"app.bsky.feed.post\",\"createdAt\":\"2024-05-13T10:00:00.000Z\","
         "\"langs\":[\"en\"],\"text\":\"" + text + "\",\"facets\":[" + facets + "]}}}";
}

std::vector<interaction> extract_all(wire_format f, const std::vector<std::string>& messages) {
  std::vector<interaction> out;
  for (const auto& m : messages) {
    raw_message msg;
    msg.format = f;
    msg.bytes = m;
    extracted e = extract_message(msg);
    for (auto& i : e.interactions) out.push_back(std::move(i));
  }
  return out;
}

} // namespace tlflow::test
