// Exports through the HTTP API (docs/analytics.md, "Exports"): every format
// streamed with chunked encoding, slices, hostile ids escaped, bad input,
// and the job lifecycle (done, file, cancel, unknown ids, restart, retention).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>
#include <thread>

#include <doctest/doctest.h>

#include "support/api_client.hpp"
#include "support/gremlin_test_server.hpp"
#include "support/service_process.hpp"
#include "support/stream_server.hpp"

using namespace tlflow::test;
namespace fs = std::filesystem;

namespace {

const header_pairs json_body = {{"Content-Type", "application/json"}};

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// A small graph with hostile ids and names: 4 vertices, 4 edges (two kinds
// between the same pair).
void build_small(const service_process& s) {
  REQUIRE(s.request("PUT", "/vertices/" + pct("x:<a href=\"]]>\">&'"),
                    R"({"properties":{"name":"Bad\u0001Name]]>","platform":"twitter"}})").status == 201);
  REQUIRE(s.request("PUT", "/vertices/b", R"({"properties":{"handle":"bee","platform":"mastodon"}})").status == 201);
  REQUIRE(s.request("PUT", "/vertices/c", "{}").status == 201);
  REQUIRE(s.request("PUT", "/vertices/lonely", "{}").status == 201);
  const std::string hostile = R"("x:<a href=\"]]>\">&'")";
  REQUIRE(s.request("POST", "/edges", "{\"from\":" + hostile + ",\"to\":\"b\",\"kind\":\"mention\"}").status == 201);
  REQUIRE(s.request("POST", "/edges", "{\"from\":" + hostile + ",\"to\":\"b\",\"kind\":\"reply\"}").status == 201);
  REQUIRE(s.request("POST", "/edges", "{\"from\":" + hostile + ",\"to\":\"b\",\"kind\":\"reply\"}").status == 200);
  REQUIRE(s.request("POST", "/edges", R"({"from":"b","to":"c","kind":"mention"})").status == 201);
  REQUIRE(s.request("POST", "/edges", R"({"from":"c","to":"b","kind":"quote"})").status == 201);
}

// X v2 posts: `posts` posts by `users` accounts, each mentioning `per_post`
// others, so about posts * per_post mention edges.
std::string write_posts(const std::string& path, int posts, int users, int per_post) {
  std::ofstream out(path);
  unsigned long long state = 12345;
  auto next = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<int>((state >> 33) % static_cast<unsigned long long>(users));
  };
  for (int p = 0; p < posts; ++p) {
    const int author = next();
    std::string mentions, text;
    for (int k = 0; k < per_post; ++k) {
      const int to = next();
      if (k) mentions += ',';
      mentions += R"({"username":"u)" + std::to_string(to) + R"(","id":")" + std::to_string(1000 + to) + "\"}";
      text += "@u" + std::to_string(to) + " ";
    }
    out << R"({"data":{"id":")" << (9000000 + p) << R"(","author_id":")" << (1000 + author)
        << R"(","created_at":"2024-11-15T09:)" << (10 + p % 50) << R"(:00.000Z","text":")" << text
        << R"(#tag)" << (p % 7) << R"(","entities":{"mentions":[)" << mentions
        << R"(],"hashtags":[{"tag":"tag)" << (p % 7) << R"("}]}},"includes":{"users":[{"id":")"
        << (1000 + author) << R"(","name":"User )" << author << R"(","username":"u)" << author
        << "\"}]}}\n";
  }
  return path;
}

std::uint64_t count(const service_process& s, const std::string& what) {
  auto r = s.get("/" + what + "/count");
  REQUIRE(r.status == 200);
  return json_of(r)["count"].GetUint64();
}

std::string start_job(const service_process& s, const std::string& body) {
  auto r = s.request("POST", "/exports", body, json_body);
  REQUIRE(r.status == 202);
  auto d = json_of(r);
  const std::string id = str(d, "id");
  CHECK(id.size() == 32);
  CHECK(r.header("location") == "/exports/" + id);
  return id;
}

// A client that sends a request and then reads only what it is asked to.
class slow_client {
public:
  slow_client(std::uint16_t port, const std::string& target) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // A small receive buffer, so that the kernel does not soak up the export.
    int small = 16 << 10;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    const std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    REQUIRE(::send(fd_, req.data(), req.size(), 0) == static_cast<ssize_t>(req.size()));
  }
  ~slow_client() { close(); }
  std::string read_some(std::size_t n) {
    std::string out(n, '\0');
    const auto got = ::recv(fd_, out.data(), n, 0);
    out.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
    return out;
  }
  // Reads to the end; the bytes received.
  std::size_t drain() {
    std::string buf(1 << 20, '\0');
    std::size_t total = 0;
    for (;;) {
      const auto got = ::recv(fd_, buf.data(), buf.size(), 0);
      if (got <= 0) return total;
      total += static_cast<std::size_t>(got);
    }
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

private:
  int fd_ = -1;
};

bool ingested(const service_process& s, int posts) {
  auto r = s.get("/status");
  if (r.status != 200) return false;
  auto d = json_of(r);
  return d["ingest"]["posts"].GetInt() == posts && d["ingest"]["queue"]["depth"].GetInt() == 0 &&
         d["queued_writes"].GetInt() == 0 && d["ingest"]["sources"][0]["finished"].GetBool();
}

std::vector<std::string> sorted_lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < text.size()) {
    auto end = text.find("\r\n", at);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(at, end - at));
    at = end + 2;
  }
  std::sort(out.begin(), out.end());
  return out;
}

long rss_kib(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

} // namespace

TEST_CASE("a slow reader holds a streamed export back; a client gone frees its place") {
  temp_dir dir;
  const auto posts = write_posts(dir.path() + "/posts.ndjson", 20000, 20000, 10);
  const std::string data = dir.path() + "/data";
  auto [rc, out] = run_tlflow({"import", posts, "--data-dir", data}, {});
  REQUIRE_MESSAGE(rc == 0, out);
  service_process::options o;
  o.data_dir = data;
  o.args = {"--analytics-refresh", "0"};  // no snapshot built meanwhile in the background
  service_process s(o);
  REQUIRE(s.start());
  REQUIRE(count(s, "edges") >= 100000);
  // One whole export first: what any export touches once (allocator arenas)
  // is in the baseline.
  const std::size_t document_bytes = slow_client(s.port(), "/export?format=graphml").drain();
  REQUIRE(document_bytes > (20u << 20));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const long before = rss_kib(s.pid());

  std::vector<std::unique_ptr<slow_client>> slow;
  for (int i = 0; i < 4; ++i) {
    slow.push_back(std::make_unique<slow_client>(s.port(), "/export?format=graphml"));
    CHECK(slow.back()->read_some(512).rfind("HTTP/1.1 200", 0) == 0);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  // Four exports unread: each holds one scan chunk's text and 256 KiB of
  // pieces, not the document.
  const long held = rss_kib(s.pid()) - before;
  const long document = static_cast<long>(document_bytes / 1024);
  CHECK_MESSAGE(held < document / 2, "the service grew by " << held << " KiB; one document is "
                                                             << document << " KiB");
  MESSAGE("four stalled streamed exports of " << document << " KiB each: +" << held << " KiB resident");
  expect_error(s.get("/export?format=graphml"), 429, "throttled");

  for (auto& c : slow) c->close();
  // HEAD answers the headers and lets go of its export.
  for (int i = 0; i < 6; ++i) {
    bool answered = false;
    for (int k = 0; k < 100 && !answered; ++k) {
      auto h = s.request("HEAD", "/export?format=graphml");
      answered = h.status == 200;
      if (!answered) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    CHECK(answered);
  }
  bool freed = false;
  for (int i = 0; i < 100 && !freed; ++i) {
    auto r = s.get("/export?format=csv&part=nodes");
    freed = r.status == 200;
    if (freed) CHECK(count_of(r.body, "\r\n") == count(s, "vertices") + 1);
    else std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(freed);
}

TEST_CASE("GET /export streams every format, chunked, with hostile strings escaped") {
  service_process s;
  REQUIRE(s.start());
  build_small(s);

  auto r = s.get("/export?format=graphml");
  REQUIRE(r.status == 200);
  CHECK(r.header("transfer-encoding") == "chunked");
  CHECK(r.header("content-type")->find("application/graphml+xml") == 0);
  CHECK(r.header("content-disposition") == "attachment; filename=\"tlflow-export.graphml\"");
  CHECK(count_of(r.body, "<node ") == 4);
  CHECK(count_of(r.body, "<edge ") == 4);  // parallel edges of two kinds stay apart
  CHECK(r.body.find("<node id=\"x:&lt;a href=&quot;]]&gt;&quot;&gt;&amp;&apos;\">") != std::string::npos);
  CHECK(r.body.find("Bad\xEF\xBF\xBDName]]&gt;") != std::string::npos);
  CHECK(r.body.find("<data key=\"e_kind\">reply</data><data key=\"e_weight\">2</data>") != std::string::npos);
  CHECK(r.body.find("]]>") == std::string::npos);

  r = s.get("/export?format=gexf");
  REQUIRE(r.status == 200);
  CHECK(count_of(r.body, "<node ") == 4);
  CHECK(count_of(r.body, "<edge ") == 4);
  CHECK(r.body.find("weight=\"2\"") != std::string::npos);

  r = s.get("/export?format=json");
  REQUIRE(r.status == 200);
  auto d = json_of(r);
  CHECK(d["directed"].GetBool());
  CHECK(d["multigraph"].GetBool());
  CHECK(d["nodes"].Size() == 4);
  CHECK(d["links"].Size() == 4);

  r = s.get("/export?format=csv&part=nodes");
  REQUIRE(r.status == 200);
  CHECK(r.header("content-disposition") == "attachment; filename=\"tlflow-export-nodes.csv\"");
  CHECK(count_of(r.body, "\r\n") == 5);
  CHECK(r.body.find("\"x:<a href=\"\"]]>\"\">&'\",") != std::string::npos);
  r = s.get("/export?format=csv&part=edges");
  REQUIRE(r.status == 200);
  CHECK(count_of(r.body, "\r\n") == 5);
}

TEST_CASE("GET /export of a slice: its edges, and the accounts at their ends") {
  service_process s;
  REQUIRE(s.start());
  build_small(s);
  auto r = s.get("/export?format=json&kind=reply");
  REQUIRE(r.status == 200);
  auto d = json_of(r);
  CHECK(d["nodes"].Size() == 2);
  REQUIRE(d["links"].Size() == 1);
  CHECK(str(d["links"][0], "kind") == "reply");
  CHECK(d["links"][0]["weight"].GetUint64() == 2);

  r = s.get("/export?format=graphml&min_weight=2");
  REQUIRE(r.status == 200);
  CHECK(count_of(r.body, "<edge ") == 1);
  r = s.get("/export?format=csv&part=edges&platform=mastodon");
  REQUIRE(r.status == 200);
  CHECK(count_of(r.body, "\r\n") == 2);  // header + b -> c
}

TEST_CASE("include=pagerank,community: the analytics' scores and communities per account") {
  service_process s;
  REQUIRE(s.start());
  build_small(s);
  auto ranks = s.get("/rankings?by=pagerank&limit=100");
  REQUIRE(ranks.status == 200);
  auto rd = json_of(ranks);
  std::map<std::string, double> score;
  for (const auto& e : rd["rankings"].GetArray()) score[str(e, "id")] = e["score"].GetDouble();
  REQUIRE(score.size() == 4);

  auto r = s.get("/export?format=json&include=pagerank,community");
  REQUIRE(r.status == 200);
  auto d = json_of(r);
  REQUIRE(d["nodes"].Size() == 4);
  for (const auto& n : d["nodes"].GetArray()) {
    const std::string id = str(n, "id");
    REQUIRE(n.HasMember("pagerank"));
    CHECK(n["pagerank"].GetDouble() == doctest::Approx(score[id]).epsilon(1e-12));
    auto c = s.get("/vertices/" + pct(id) + "/community");
    REQUIRE(c.status == 200);
    CHECK(n["community"].GetInt64() == json_of(c)["community"].GetInt64());
  }

  r = s.get("/export?format=csv&part=nodes&include=community");
  REQUIRE(r.status == 200);
  CHECK(r.body.rfind("id,handle,name,platform,location,first_seen,last_seen,in_degree,out_degree,community\r\n", 0) == 0);

  // A job keeps what it includes across its record.
  const auto id = start_job(s, R"({"format":"graphml","include":["pagerank"]})");
  auto job = wait_for_export(s, id);
  CHECK(str(job, "include") == "pagerank");
  auto file = s.get("/exports/" + id + "/file");
  CHECK(file.body.find("<key id=\"v_pagerank\" for=\"node\" attr.name=\"pagerank\" attr.type=\"double\"/>") !=
        std::string::npos);
  CHECK(count_of(file.body, "<data key=\"v_pagerank\">") == 4);
}

TEST_CASE("GET /export refuses bad input with 400") {
  service_process s;
  REQUIRE(s.start());
  expect_error(s.get("/export"), 400, "invalid_argument");
  expect_error(s.get("/export?format=xml"), 400, "invalid_argument");
  expect_error(s.get("/export?format=csv"), 400, "invalid_argument");
  expect_error(s.get("/export?format=gexf&part=nodes"), 400, "invalid_argument");
  expect_error(s.get("/export?format=gexf&kind=bogus"), 400, "invalid_argument");
  expect_error(s.get("/export?format=gexf&include=colour"), 400, "invalid_argument");
  expect_error(s.get("/export?format=gexf&include=pagerank,size"), 400, "invalid_argument");
}

TEST_CASE("export jobs: done, file equal to the streamed export, removal, unknown ids") {
  service_process s;
  REQUIRE(s.start());
  build_small(s);

  const auto id = start_job(s, R"({"format":"graphml","kind":["mention","reply"]})");
  auto d = wait_for_export(s, id);
  CHECK(str(d, "state") == "done");
  CHECK(d["progress"].GetDouble() == 1.0);
  CHECK(d["items"].GetUint64() == 6);  // the slice: 3 edges and the 3 accounts at their ends
  CHECK(str(d, "query") == "kind=mention&kind=reply");
  auto file = s.get("/exports/" + id + "/file");
  REQUIRE(file.status == 200);
  CHECK(file.header("content-disposition") ==
        "attachment; filename=\"tlflow-export-" + id + ".graphml\"");
  auto streamed = s.get("/export?format=graphml&kind=mention,reply");
  REQUIRE(streamed.status == 200);
  CHECK(file.body == streamed.body);
  CHECK(fs::exists(s.data_dir() + "/exports/" + id + ".graphml"));

  auto r = s.request("DELETE", "/exports/" + id);
  CHECK(r.status == 204);
  expect_error(s.get("/exports/" + id), 404, "not_found");
  CHECK_FALSE(fs::exists(s.data_dir() + "/exports/" + id + ".graphml"));
  CHECK_FALSE(fs::exists(s.data_dir() + "/exports/" + id + ".record"));

  expect_error(s.get("/exports/0123456789abcdef0123456789abcdef"), 404, "not_found");
  expect_error(s.get("/exports/nonsense/file"), 404, "not_found");
  expect_error(s.request("DELETE", "/exports/0123456789abcdef0123456789abcdef"), 404, "not_found");

  expect_error(s.request("POST", "/exports", R"({"kind":"reply"})", json_body), 400, "invalid_argument");
  expect_error(s.request("POST", "/exports", R"({"format":"csv"})", json_body), 400, "invalid_argument");
  expect_error(s.request("POST", "/exports", R"({"format":"json","colour":"red"})", json_body), 400,
               "invalid_argument");
  expect_error(s.request("POST", "/exports", R"({"format":"json","min_weight":-1})", json_body), 400,
               "invalid_argument");
  expect_error(s.request("POST", "/exports", R"({"format":"json","include":["colour"]})", json_body),
               400, "invalid_argument");

  const auto csv = start_job(s, R"({"format":"csv","part":"edges","min_weight":2})");
  d = wait_for_export(s, csv);
  CHECK(str(d, "state") == "done");
  CHECK(str(d, "file_name") == "tlflow-export-" + csv + "-edges.csv");
  file = s.get("/exports/" + csv + "/file");
  CHECK(count_of(file.body, "\r\n") == 2);
}

TEST_CASE("export jobs: cancelled while queued or running, the file never appears") {
  temp_dir dir;
  const auto posts = write_posts(dir.path() + "/posts.ndjson", 20000, 20000, 10);
  const std::string data = dir.path() + "/data";
  auto [rc, out] = run_tlflow({"import", posts, "--data-dir", data}, {});
  REQUIRE_MESSAGE(rc == 0, out);

  service_process::options o;
  o.data_dir = data;
  o.args = {"--export-jobs", "1"};
  service_process s(o);
  REQUIRE(s.start());
  REQUIRE(count(s, "edges") >= 100000);

  const auto first = start_job(s, R"({"format":"gexf"})");
  const auto second = start_job(s, R"({"format":"graphml"})");  // waits behind the first
  auto r = s.request("DELETE", "/exports/" + second);
  REQUIRE(r.status == 200);
  CHECK(str(json_of(r), "state") == "cancelled");
  r = s.request("DELETE", "/exports/" + first);
  REQUIRE(r.status == 200);  // 100k edges take longer than one round trip
  CHECK(str(json_of(r), "state") == "cancelled");

  for (const auto& id : {first, second}) {
    auto d = wait_for_export(s, id);
    CHECK(str(d, "state") == "cancelled");
    expect_error(s.get("/exports/" + id + "/file"), 409, "conflict");
  }
  // The running one stops at its next chunk and removes its partial file.
  bool clean = false;
  for (int i = 0; i < 100 && !clean; ++i) {
    clean = true;
    for (const auto& e : fs::directory_iterator(data + "/exports"))
      if (e.path().extension() != ".record") clean = false;
    if (!clean) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(clean);

  // A cancelled job's record is removed by a second DELETE.
  CHECK(s.request("DELETE", "/exports/" + first).status == 204);
  expect_error(s.get("/exports/" + first), 404, "not_found");

  // And a job left alone finishes with every vertex and edge.
  const auto whole = start_job(s, R"({"format":"csv","part":"edges"})");
  auto d = wait_for_export(s, whole);
  REQUIRE(str(d, "state") == "done");
  auto file = s.get("/exports/" + whole + "/file");
  CHECK(count_of(file.body, "\r\n") == count(s, "edges") + 1);
}

TEST_CASE("export jobs survive a restart; an interrupted one is marked failed; retention removes") {
  temp_dir dir;
  const auto posts = write_posts(dir.path() + "/posts.ndjson", 20000, 20000, 10);
  const std::string data = dir.path() + "/data";
  auto [rc, out] = run_tlflow({"import", posts, "--data-dir", data}, {});
  REQUIRE_MESSAGE(rc == 0, out);

  std::string done_id, cut_id;
  {
    service_process::options o;
    o.data_dir = data;
    service_process s(o);
    REQUIRE(s.start());
    done_id = start_job(s, R"({"format":"json","hashtag":"tag3"})");
    REQUIRE(str(wait_for_export(s, done_id), "state") == "done");
    cut_id = start_job(s, R"({"format":"gexf"})");
    for (int i = 0; i < 200 && str(json_of(s.get("/exports/" + cut_id)), "state") == "queued"; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    s.kill();  // mid-export
  }
  {
    service_process::options o;
    o.data_dir = data;
    o.args = {"--export-retention", "3"};
    service_process s(o);
    REQUIRE(s.start());
    auto d = json_of(s.get("/exports/" + done_id));
    CHECK(str(d, "state") == "done");
    auto file = s.get("/exports/" + done_id + "/file");
    REQUIRE(file.status == 200);
    CHECK(json_of(file)["links"].Size() > 0);

    auto r = s.get("/exports/" + cut_id);
    REQUIRE(r.status == 200);
    d = json_of(r);
    if (str(d, "state") != "done") {  // the kill may come after a small export finished
      CHECK(str(d, "state") == "failed");
      CHECK(str(d, "error") == "interrupted by restart");
    }
    for (const auto& e : fs::directory_iterator(data + "/exports"))
      CHECK(e.path().extension() != ".part");

    // Finished before this start, so at most 3 s from now both are gone
    // with their files.
    std::this_thread::sleep_for(std::chrono::milliseconds(4500));
    expect_error(s.get("/exports/" + done_id), 404, "not_found");
    expect_error(s.get("/exports/" + cut_id), 404, "not_found");
    CHECK(fs::is_empty(data + "/exports"));
  }
}

TEST_CASE("gremlin store: GET /export refused above --export-stream-limit, a job writes what the memory store streams") {
  const std::string sample = std::string(TLFLOW_SOURCE_DIR) + "/samples/x-v2-sample.ndjson";
  gremlin_test_server gremlin;
  service_process::options mo;
  mo.args = {"--ephemeral", "--source", "file:" + sample};
  service_process mem(mo);
  service_process::options go;
  go.args = {"--ephemeral", "--source", "file:" + sample, "--store", "gremlin", "--gremlin-url",
             gremlin.url(), "--export-stream-limit", "1000"};
  service_process grem(go);
  REQUIRE(mem.start());
  REQUIRE(grem.start());
  REQUIRE(stream_server::wait_until([&] { return ingested(mem, 3000); }, std::chrono::seconds(60)));
  REQUIRE(stream_server::wait_until([&] { return ingested(grem, 3000); }, std::chrono::seconds(120)));

  auto r = grem.get("/export?format=csv&part=edges");
  expect_error(r, 422, "too_expensive");
  CHECK(r.body.find("POST /exports") != std::string::npos);

  for (const std::string part : {"nodes", "edges"}) {
    auto streamed = mem.get("/export?format=csv&part=" + part);
    REQUIRE(streamed.status == 200);
    const auto id = start_job(grem, "{\"format\":\"csv\",\"part\":\"" + part + "\"}");
    REQUIRE(str(wait_for_export(grem, id), "state") == "done");
    auto file = grem.get("/exports/" + id + "/file");
    REQUIRE(file.status == 200);
    CHECK(sorted_lines(file.body) == sorted_lines(streamed.body));
  }
  // Ephemeral: the job files were in a temporary directory, gone at shutdown.
  CHECK(grem.terminate() == 0);
}
