// api/web_routes.hpp — the web view (docs/web.md): GET / is web/index.html,
// GET /ui/{file} and /ui/{dir}/{file} the other files of web/. Open to
// anyone (the page asks for a token itself); every answer carries a strict
// Content-Security-Policy, nosniff, no-referrer, an ETag (If-None-Match →
// 304) and `Cache-Control: no-cache`. An unknown file is 404 not_found.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/router.hpp"
#include "tlflow/error.hpp"

namespace tlflow::api {

// The Content-Security-Policy of the page and its assets.
extern const char* const web_content_security_policy;

// Content type of a web file by its extension; nullopt for a kind not served.
std::optional<std::string> web_content_type(std::string_view name);

// Where the files come from: the embedded copy, or a folder read on every
// request (--web-root, for development and for packagers who install the
// assets beside the binary).
class web_assets {
public:
  // `root` empty: the embedded files. Otherwise a folder holding index.html
  // (invalid_argument if it does not).
  static result<std::shared_ptr<web_assets>> open(const std::string& root);

  struct file {
    std::string body;
    std::string content_type;
    std::string etag;  // quoted
  };
  // The file `name` (e.g. "index.html", "vendor/sigma.min.js"); nullopt if
  // there is none or the name is not one an asset may have.
  std::optional<file> get(std::string_view name) const;

private:
  explicit web_assets(std::string root) : root_(std::move(root)) {}
  std::string root_;
};

// Adds GET /, /ui/{file} and /ui/{dir}/{file}, all access::open.
void add_web_routes(router& r, std::shared_ptr<const web_assets> assets);

} // namespace tlflow::api
