#include "api/web_routes.hpp"

#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <sys/stat.h>

#include "api/web_assets.hpp"

namespace tlflow::api {

// No other origin, no inline script or style (the page's CSS is in files),
// no plugins, never framed. connect-src 'self' covers the REST calls and the
// changefeed read with fetch(). Export downloads are blob: object URLs
// followed by a link, which no directive governs.
const char* const web_content_security_policy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

std::optional<std::string> web_content_type(std::string_view name) {
  const auto dot = name.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  static const std::map<std::string_view, const char*> types{
      {"html", "text/html; charset=utf-8"}, {"js", "text/javascript; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},   {"svg", "image/svg+xml"},
      {"png", "image/png"},                 {"ico", "image/x-icon"},
      {"txt", "text/plain; charset=utf-8"}};
  auto it = types.find(name.substr(dot + 1));
  if (it == types.end()) return std::nullopt;
  return std::string(it->second);
}

namespace {

// A name an asset may have: one or two segments of letters, digits, '.',
// '_', '-', none starting with '.' (so never "..").
bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 200) return false;
  int slashes = 0;
  bool segment_start = true;
  for (char c : name) {
    if (c == '/') {
      if (segment_start || ++slashes > 1) return false;
      segment_start = true;
      continue;
    }
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok || (segment_start && c == '.')) return false;
    segment_start = false;
  }
  return !segment_start;
}

// FNV-1a, 64 bits: an ETag changes whenever the bytes do (it is no
// security boundary, only a cache key).
std::string etag_of(std::string_view bytes) {
  std::uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (int shift = 60; shift >= 0; shift -= 4) out += hex[(h >> shift) & 15];
  out += '-' + std::to_string(bytes.size()) + '"';
  return out;
}

// The embedded files with their types and ETags, built once.
const std::map<std::string, web_assets::file, std::less<>>& embedded_files() {
  static const auto files = [] {
    std::map<std::string, web_assets::file, std::less<>> out;
    for (const auto& a : embedded_web_assets()) {
      auto type = web_content_type(a.name);
      if (!type) continue;
      std::string body(reinterpret_cast<const char*>(a.data), a.size);
      std::string etag = etag_of(body);
      out.emplace(a.name, web_assets::file{std::move(body), std::move(*type), std::move(etag)});
    }
    return out;
  }();
  return files;
}

// True when If-None-Match names `etag` (or is `*`); weak tags compare equal.
bool not_modified(const request& q, const std::string& etag) {
  auto inm = q.header("if-none-match");
  if (!inm) return false;
  std::string_view list = *inm;
  while (!list.empty()) {
    const auto comma = list.find(',');
    std::string_view tag = list.substr(0, comma);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag.rfind("W/", 0) == 0) tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

response serve(const web_assets& assets, const request& q, const std::string& name) {
  auto f = assets.get(name);
  if (!f) throw api_error(errc::not_found, "no web asset /ui/" + name);
  response r;
  r.headers = {{"Content-Security-Policy", web_content_security_policy},
               {"X-Content-Type-Options", "nosniff"},
               {"Referrer-Policy", "no-referrer"},
               {"Cache-Control", "no-cache"},
               {"ETag", f->etag}};
  if (not_modified(q, f->etag)) {
    r.status = 304;
    return r;
  }
  r.status = 200;
  r.content_type = std::move(f->content_type);
  r.body = std::move(f->body);
  return r;
}

} // namespace

result<std::shared_ptr<web_assets>> web_assets::open(const std::string& root) {
  if (!root.empty()) {
    struct stat st{};
    const std::string index = root + "/index.html";
    if (::stat(index.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return error{errc::invalid_argument, "--web-root " + root + " holds no index.html"};
    }
  }
  return std::shared_ptr<web_assets>(new web_assets(root));
}

std::optional<web_assets::file> web_assets::get(std::string_view name) const {
  if (!valid_name(name)) return std::nullopt;
  auto type = web_content_type(name);
  if (!type) return std::nullopt;
  if (root_.empty()) {
    const auto& files = embedded_files();
    auto it = files.find(name);
    if (it == files.end()) return std::nullopt;
    return it->second;
  }
  // Read on every request: an edited file shows on the next reload.
  const std::string path = root_ + "/" + std::string(name);
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream body;
  body << in.rdbuf();
  file f{body.str(), std::move(*type), {}};
  f.etag = etag_of(f.body);
  return f;
}

void add_web_routes(router& r, std::shared_ptr<const web_assets> assets) {
  route_options open;
  open.needed = access::open;
  r.add_route("GET", "/", [assets](const request& q) { return serve(*assets, q, "index.html"); }, open);
  r.add_route("GET", "/ui/{file}",
              [assets](const request& q) { return serve(*assets, q, q.param("file")); }, open);
  r.add_route("GET", "/ui/{dir}/{file}", [assets](const request& q) {
    return serve(*assets, q, q.param("dir") + "/" + q.param("file"));
  }, open);
}

} // namespace tlflow::api
