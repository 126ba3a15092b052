// OAuth 1.0a request signing (RFC 5849, HMAC-SHA1), as the Twitter v1.1
// streaming API requires for user-context access.
//
// The signature covers the method, the URL without its query, and every
// request parameter (query string and form body, decoded) together with the
// oauth_* protocol parameters, sorted after percent-encoding (RFC 5849
// §3.4.1). The key is the encoded consumer secret and token secret joined by
// '&'. The result is an `Authorization: OAuth ...` header value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tlflow {

struct oauth1_credentials {
  std::string consumer_key, consumer_secret;  // the app ("API key" and secret)
  std::string token, token_secret;            // the user's access token and secret
  bool complete() const noexcept {
    return !consumer_key.empty() && !consumer_secret.empty() && !token.empty() &&
           !token_secret.empty();
  }
};

using oauth1_params = std::vector<std::pair<std::string, std::string>>;  // decoded

// The Authorization header value ("OAuth oauth_consumer_key=..., ...") for a
// request with the given decoded parameters. `nonce` and `timestamp` are
// inputs so that the signature is testable; oauth1_authorization() below
// draws them.
std::string oauth1_header(const oauth1_credentials& c, std::string_view method,
                          std::string_view url, const oauth1_params& params,
                          std::string_view nonce, std::uint64_t timestamp);

// Same, with a fresh random nonce and the current time.
std::string oauth1_authorization(const oauth1_credentials& c, std::string_view method,
                                 std::string_view url, const oauth1_params& params);

} // namespace tlflow
