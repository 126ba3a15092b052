#include "sources/oauth1.hpp"

#include <algorithm>
#include <chrono>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "sources/http_client.hpp"

namespace tlflow {
namespace {

std::string hmac_sha1_base64(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  std::string out(4 * ((len + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), mac, static_cast<int>(len));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string random_nonce() {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {  // practically never; still unique enough
    auto t = std::chrono::steady_clock::now().time_since_epoch().count();
    for (std::size_t i = 0; i < sizeof bytes; ++i) bytes[i] = static_cast<unsigned char>(t >> (i % 8));
  }
  std::string out;
  for (unsigned char b : bytes) out += alphabet[b % (sizeof alphabet - 1)];
  return out;
}

} // namespace

std::string oauth1_header(const oauth1_credentials& c, std::string_view method,
                          std::string_view url, const oauth1_params& params,
                          std::string_view nonce, std::uint64_t timestamp) {
  const oauth1_params protocol = {
      {"oauth_consumer_key", c.consumer_key},
      {"oauth_nonce", std::string(nonce)},
      {"oauth_signature_method", "HMAC-SHA1"},
      {"oauth_timestamp", std::to_string(timestamp)},
      {"oauth_token", c.token},
      {"oauth_version", "1.0"},
  };
  // §3.4.1.3.2: encode names and values, sort by name then value, join.
  std::vector<std::pair<std::string, std::string>> all;
  for (const auto* set : {&params, &protocol})
    for (const auto& [k, v] : *set) all.emplace_back(url_encode(k), url_encode(v));
  std::sort(all.begin(), all.end());
  std::string normalized;
  for (const auto& [k, v] : all) {
    if (!normalized.empty()) normalized += '&';
    normalized.append(k).append("=").append(v);
  }
  const std::string_view base_url = url.substr(0, url.find('?'));
  std::string base(method);
  base.append("&").append(url_encode(base_url)).append("&").append(url_encode(normalized));
  const std::string key = url_encode(c.consumer_secret) + "&" + url_encode(c.token_secret);

  std::string header = "OAuth ";
  for (const auto& [k, v] : protocol) header.append(k).append("=\"").append(url_encode(v)).append("\", ");
  header.append("oauth_signature=\"").append(url_encode(hmac_sha1_base64(key, base))).append("\"");
  return header;
}

std::string oauth1_authorization(const oauth1_credentials& c, std::string_view method,
                                 std::string_view url, const oauth1_params& params) {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return oauth1_header(c, method, url, params, random_nonce(),
                       static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(now).count()));
}

} // namespace tlflow
