// support/jwt_builder.hpp — signing keys and JSON Web Tokens made in the
// test process with OpenSSL, so that no external tool is needed: RSA and
// P-256 keys generated on the spot, their public JWKs, and compact JWS
// tokens signed RS256 / ES256 (raw r||s, as JWS wants) / HS256, or with any
// header and signature a test needs to forge.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace tlflow::test {

class test_key {
public:
  static test_key rsa(int bits = 2048);
  static test_key ec_p256();

  // The public key as a JWK object (no private part). `alg` empty: no alg member.
  std::string jwk(const std::string& kid, const std::string& alg = {}) const;
  // The public key as PEM (SubjectPublicKeyInfo).
  std::string public_pem() const;
  // JWS signature of `input`: PKCS#1 v1.5 SHA-256 for RSA, r||s for P-256.
  std::string sign(std::string_view input) const;
  bool is_rsa() const;

private:
  std::shared_ptr<void> pkey_;  // EVP_PKEY
};

std::string b64url(std::string_view bytes);
std::string hmac_sha256(std::string_view secret, std::string_view input);

// `{"keys":[a,b,...]}` from JWK objects.
std::string jwks_of(const std::string& a, const std::string& b = {}, const std::string& c = {});

// header.payload.signature, each part base64url; `sign` receives the
// signing input.
std::string jwt_with(const std::string& header_json, const std::string& payload_json,
                     const std::string& signature);
std::string signing_input(const std::string& header_json, const std::string& payload_json);

std::string jwt_rs_es(const test_key& key, const std::string& kid, const std::string& payload_json);
std::string jwt_hs256(const std::string& secret, const std::string& payload_json,
                      const std::string& kid = {});

// Seconds since the epoch, now.
std::int64_t unix_now();

} // namespace tlflow::test
