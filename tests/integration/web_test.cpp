// The web view served by the real binary (docs/web.md, "Serving"): the
// page and every file of web/ with its type and security headers, open even
// with --auth-reads; ETag and 304; HEAD; unknown files as the 404 error
// object; nothing in the files loads from another origin; --web-root.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include "support/api_client.hpp"
#include "support/service_process.hpp"
#include "support/temp_dir.hpp"

using namespace tlflow::test;
namespace fs = std::filesystem;

namespace {

const std::string token = "web-test-token-0123456789";

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

// The files of web/ the binary serves (by extension), relative to web/.
std::vector<std::string> served_files() {
  static const std::regex served(R"(.*\.(html|js|css|svg|png|ico|txt)$)");
  std::vector<std::string> out;
  const fs::path root = fs::path(TLFLOW_SOURCE_DIR) / "web";
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    const std::string rel = fs::relative(e.path(), root).generic_string();
    if (std::regex_match(rel, served)) out.push_back(rel);
  }
  return out;
}

std::string expected_type(const std::string& name) {
  const std::string ext = name.substr(name.rfind('.') + 1);
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "js") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "txt") return "text/plain; charset=utf-8";
  if (ext == "png") return "image/png";
  return "image/x-icon";
}

void check_security_headers(const http_reply& r) {
  const std::string csp = r.header("content-security-policy").value_or("");
  CHECK(csp.find("default-src 'none'") != std::string::npos);
  CHECK(csp.find("script-src 'self'") != std::string::npos);
  CHECK(csp.find("style-src 'self'") != std::string::npos);
  CHECK(csp.find("connect-src 'self'") != std::string::npos);
  CHECK(csp.find("frame-ancestors 'none'") != std::string::npos);
  CHECK(csp.find("unsafe") == std::string::npos);
  CHECK(csp.find("http") == std::string::npos);  // no other origin allowed
  CHECK(r.header("x-content-type-options").value_or("") == "nosniff");
  CHECK(r.header("referrer-policy").value_or("") == "no-referrer");
  CHECK(r.header("etag").has_value());
}

// HEAD by hand: the support client would wait for the Content-Length bytes
// a HEAD answer announces but never sends. Reads until the server closes.
http_reply head_request(std::uint16_t port, const std::string& target) {
  http_reply r;
  const int fd = connect_loopback(port, 5000);
  if (fd < 0) return r;
  const std::string req = "HEAD " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return r;
  }
  std::string data;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) data.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  const auto end = data.find("\r\n\r\n");
  if (end == std::string::npos || data.rfind("HTTP/1.1 ", 0) != 0) return r;
  r.status = std::atoi(data.c_str() + 9);
  r.body = data.substr(end + 4);  // must stay empty
  std::istringstream lines(data.substr(0, end));
  std::string line;
  std::getline(lines, line);
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    r.headers.emplace_back(name, line.substr(line.find_first_not_of(' ', colon + 1)));
  }
  return r;
}

} // namespace

TEST_CASE("web: the page and every file of web/ are served, typed, with a strict CSP, without a token") {
  service_process s({{"--ephemeral", "--auth-reads"}, {{"TLFLOW_API_TOKEN", token}}, {}});
  REQUIRE_MESSAGE(s.start(), s.stderr_text());
  CHECK(s.get("/vertices/count").status == 401);  // reads are guarded, the page is not

  const http_reply page = s.get("/");
  REQUIRE(page.status == 200);
  CHECK(page.header("content-type").value_or("") == "text/html; charset=utf-8");
  CHECK(page.body == read_file(fs::path(TLFLOW_SOURCE_DIR) / "web/index.html"));
  check_security_headers(page);

  const auto files = served_files();
  CHECK(files.size() >= 6);
  bool saw_vendor = false;
  for (const auto& name : files) {
    CAPTURE(name);
    const http_reply r = s.get("/ui/" + name);
    REQUIRE(r.status == 200);
    CHECK(r.header("content-type").value_or("") == expected_type(name));
    CHECK(r.body == read_file(fs::path(TLFLOW_SOURCE_DIR) / "web" / name));
    check_security_headers(r);
    saw_vendor = saw_vendor || name == "vendor/sigma.min.js";
  }
  CHECK(saw_vendor);
}

TEST_CASE("web: ETag and If-None-Match give 304, HEAD gives the headers only") {
  service_process s({{"--ephemeral"}, {}, {}});
  REQUIRE_MESSAGE(s.start(), s.stderr_text());
  const http_reply first = s.get("/ui/app.js");
  REQUIRE(first.status == 200);
  const std::string etag = first.header("etag").value_or("");
  REQUIRE(etag.size() > 2);
  CHECK(etag.front() == '"');
  CHECK(first.header("cache-control").value_or("") == "no-cache");

  const http_reply again = s.request("GET", "/ui/app.js", "", {{"If-None-Match", etag}});
  CHECK(again.status == 304);
  CHECK(again.body.empty());
  CHECK(again.header("etag").value_or("") == etag);
  CHECK(s.request("GET", "/ui/app.js", "", {{"If-None-Match", "\"x\", W/" + etag}}).status == 304);
  CHECK(s.request("GET", "/ui/app.js", "", {{"If-None-Match", "*"}}).status == 304);
  CHECK(s.request("GET", "/ui/app.js", "", {{"If-None-Match", "\"other\""}}).status == 200);
  // Another file's tag is not this one's.
  const std::string css_etag = s.get("/ui/style.css").header("etag").value_or("");
  CHECK(css_etag != etag);
  CHECK(s.request("GET", "/ui/app.js", "", {{"If-None-Match", css_etag}}).status == 200);

  const http_reply head = head_request(s.port(), "/");
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  CHECK(head.header("content-length").value_or("") == std::to_string(s.get("/").body.size()));
  CHECK(head.header("content-type").value_or("") == "text/html; charset=utf-8");
  check_security_headers(head);
}

TEST_CASE("web: an unknown or forbidden name is the 404 error object") {
  service_process s({{"--ephemeral"}, {}, {}});
  REQUIRE_MESSAGE(s.start(), s.stderr_text());
  for (const char* path : {"/ui/nope.js", "/ui/vendor/nope.js", "/ui/vendor/README.md", "/ui/.app.js",
                           "/ui/%2E%2E/CMakeLists.txt", "/ui/..%2FCMakeLists.txt", "/ui/vendor%2Fsigma.min.js%2Fx",
                           "/ui/a/b/c.js", "/ui/index.htm"}) {
    CAPTURE(path);
    expect_error(s.get(path), 404, "not_found");
  }
  CHECK(s.request("POST", "/", "{}").status == 405);
}

TEST_CASE("web: no file of web/ loads anything from another origin") {
  // A URL with a scheme, or a protocol-relative one (`"//host`, `url(//host`)
  // in markup, scripts or styles; XML namespace names are identifiers,
  // never fetched.
  static const std::regex url(R"((https?://|["'(`]//)[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)");
  static const std::regex namespace_name(R"(https?://www\.w3\.org)");
  for (const auto& name : served_files()) {
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".txt") == 0) continue;  // licences
    CAPTURE(name);
    const std::string text = read_file(fs::path(TLFLOW_SOURCE_DIR) / "web" / name);
    for (std::sregex_iterator it(text.begin(), text.end(), url), end; it != end; ++it) {
      const std::string found = it->str();
      if (std::regex_match(found, namespace_name)) continue;
      FAIL_CHECK("reference to another origin: " << found);
    }
  }
  // The page names only its own files.
  const std::string page = read_file(fs::path(TLFLOW_SOURCE_DIR) / "web/index.html");
  static const std::regex ref(R"((src|href)=\"([^\"]*)\")");
  int refs = 0;
  for (std::sregex_iterator it(page.begin(), page.end(), ref), end; it != end; ++it, ++refs) {
    CAPTURE((*it)[2].str());
    CHECK((*it)[2].str().rfind("/ui/", 0) == 0);
  }
  CHECK(refs >= 4);
  // No inline script or style: the CSP would block them.
  CHECK(page.find("<script>") == std::string::npos);
  CHECK(page.find("<style") == std::string::npos);
  CHECK(page.find(" style=") == std::string::npos);
  CHECK(page.find(" onclick=") == std::string::npos);
}

TEST_CASE("web: --web-root serves the files of a folder, read on every request") {
  temp_dir root;
  write_file(root.file("index.html"), "<!doctype html><title>dev</title>");
  write_file(root.file("app.js"), "export const a = 1;\n");
  service_process s({{"--ephemeral", "--web-root", root.path()}, {}, {}});
  REQUIRE_MESSAGE(s.start(), s.stderr_text());
  CHECK(s.get("/").body == "<!doctype html><title>dev</title>");
  const http_reply js = s.get("/ui/app.js");
  CHECK(js.body == "export const a = 1;\n");
  CHECK(js.header("content-type").value_or("") == "text/javascript; charset=utf-8");
  check_security_headers(js);
  write_file(root.file("app.js"), "export const a = 2;\n");
  const http_reply edited = s.request("GET", "/ui/app.js", "", {{"If-None-Match", js.header("etag").value_or("")}});
  CHECK(edited.status == 200);
  CHECK(edited.body == "export const a = 2;\n");
  expect_error(s.get("/ui/style.css"), 404, "not_found");  // not in that folder: no fallback

  temp_dir empty;
  auto [rc, out] = run_tlflow({"--ephemeral", "--host", "127.0.0.1", "--port", std::to_string(free_port()),
                               "--web-root", empty.path()});
  CHECK(rc == 2);
  CHECK(out.find("holds no index.html") != std::string::npos);
}
