// api/auth.hpp — who may call which route: the static bearer token, JSON Web
// Tokens (RS256, ES256 with keys from a JWKS; HS256 with a shared secret),
// and the rule that decides whether authentication is on at all.
//
// Transport-independent: the HTTP server hands over the Authorization header
// of a request and what its route needs (router.hpp, route_options::needed)
// and gets back an outcome; it never looks at tokens itself.
//
// Rules (docs/api.md, "Authentication"):
//  * Nothing configured and a loopback-only bind (127.0.0.0/8, ::1,
//    localhost): open, as before. Nothing configured and any other bind: a
//    token is generated once into <data-dir>/api-token (mode 0600) and
//    required. --no-auth is the only way to serve writes to the network
//    without credentials.
//  * The static token grants everything. A JWT grants what its scopes say:
//    tlflow:read < tlflow:write < tlflow:admin (each implies the ones before).
//  * Reads need credentials only with --auth-reads; `open` routes never do.
//
// Thread safety: check() is const and may run on any thread concurrently;
// the JWKS it reads is swapped under a mutex when refreshed.
#pragma once

#include <chrono>
#include <functional>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tlflow/config.hpp"
#include "tlflow/error.hpp"

namespace tlflow::api {

// What a route needs. Ordered: each level includes the ones before.
enum class access { open, read, write, admin };

// `code` and `message` mean something only when !allowed: unauthorized (401:
// no, malformed, invalid or expired credentials) or forbidden (403: valid
// credentials lacking the scope). `www_authenticate` is the challenge header
// to send with the refusal.
struct auth_outcome {
  bool allowed = true;
  errc code = errc::unauthorized;
  std::string message;
  std::string www_authenticate;
};

// Skew tolerated on `exp` and `nbf`.
inline constexpr std::chrono::seconds jwt_leeway{60};

// Fetches a JWKS URL: the body of a 200 answer, or an error saying why not.
// Given by the caller (main wires the sources' libcurl client), so the API
// makes no outgoing HTTP connection of its own.
using url_fetcher = std::function<result<std::string>(const std::string& url, const std::string& ca_file,
                                                      std::chrono::milliseconds timeout)>;

struct auth_settings {
  std::string static_token;      // empty: none
  bool auth_reads = false;
  bool open = false;             // no credentials needed at all (loopback or --no-auth)
  std::string jwt_secret;        // HS256 secret; empty: HS256 tokens refused
  std::string jwks_source;       // file path or http(s):// URL; empty: RS256/ES256 refused
  std::string jwt_issuer;        // empty: `iss` not checked
  std::string jwt_audience;      // empty: `aud` not checked
  std::string ca_file;           // extra CAs for an https JWKS URL
  std::chrono::seconds jwks_refresh{900};        // periodic refetch of a JWKS URL
  std::chrono::seconds jwks_min_refetch{10};     // at most one refetch per unknown-kid burst
  std::chrono::milliseconds jwks_timeout{5000};  // per fetch
  url_fetcher fetch;             // needed when jwks_source is a URL
};

// The claims of a verified token that tlflow acts on.
struct jwt_claims {
  access granted = access::open;  // open: no tlflow scope at all
  std::string subject;
};

// A JWKS parsed into OpenSSL keys. Keys tlflow cannot use (unknown kty,
// `use` other than sig, RSA under 2048 bits, curves other than P-256, `oct`
// keys: a shared secret never comes from a key set) are skipped.
class key_set;

// Parses a JWKS document. invalid_argument when it is not a JWKS or holds no
// usable key.
result<std::shared_ptr<const key_set>> parse_jwks(std::string_view json);
std::size_t key_count(const key_set& keys);

// Verifies `token` (compact JWS) at time `now` (seconds since the epoch):
// header, algorithm against the key's type, signature, exp/nbf with
// jwt_leeway, iss and aud when configured. `keys` may be null (then only
// HS256 with `secret` can pass). unauthorized with a message for a person
// on any failure; `unknown_kid` is set when only the key was missing.
struct jwt_check {
  std::string_view secret;
  const key_set* keys = nullptr;
  std::string_view issuer;
  std::string_view audience;
  std::int64_t now = 0;
};
result<jwt_claims> verify_jwt(std::string_view token, const jwt_check& check,
                              bool* unknown_kid = nullptr);

class authenticator {
public:
  // Loads the JWKS (file or URL, fetched now) when one is configured.
  // invalid_argument / io_error when it cannot be read or holds no key.
  static result<std::shared_ptr<authenticator>> create(auth_settings settings);
  ~authenticator();
  authenticator(const authenticator&) = delete;
  authenticator& operator=(const authenticator&) = delete;

  // `authorization`: the Authorization header's value, or nullopt when absent.
  auth_outcome check(access needed, const std::optional<std::string_view>& authorization) const;

  bool open() const noexcept;

private:
  struct impl;
  explicit authenticator(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

// True for 127.0.0.0/8, ::1 (also as [::1]) and localhost.
bool is_loopback_host(std::string_view host);

// <data_dir>/api-token: read when it exists, else created atomically (a
// temporary file with mode 0600, then link(2), so two starts never see half a
// token) from 32 bytes of RAND_bytes in base64url. `created` tells whether
// this call made it. io_error when the directory or file fails us;
// invalid_argument when the file exists but holds no token or is readable
// by others.
result<std::string> load_or_create_token_file(const std::string& data_dir, bool& created);

// The whole start-up decision from the configuration (the rules above),
// logging what was decided: the token file's path at its creation, a warning
// for --no-auth at every start. invalid_argument for contradictory settings
// (--no-auth with a token or JWT setting, --ephemeral on a non-loopback bind
// with nothing configured).
result<std::shared_ptr<authenticator>> make_authenticator(const config& cfg, url_fetcher fetch = {});

} // namespace tlflow::api
