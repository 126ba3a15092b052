#include "support/jwt_builder.hpp"

#include <chrono>
#include <stdexcept>
#include <vector>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

namespace tlflow::test {

namespace {

EVP_PKEY* raw(const std::shared_ptr<void>& p) { return static_cast<EVP_PKEY*>(p.get()); }

std::string bn_bytes(const BIGNUM* bn, int width = 0) {
  const int n = width > 0 ? width : BN_num_bytes(bn);
  std::string out(static_cast<std::size_t>(n), '\0');
  if (BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), n) != n) {
    throw std::runtime_error("BN_bn2binpad");
  }
  return out;
}

std::string bn_param(EVP_PKEY* k, const char* name, int width = 0) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(k, name, &bn) != 1) throw std::runtime_error(name);
  std::string out = bn_bytes(bn, width);
  BN_free(bn);
  return out;
}

} // namespace

std::string b64url(std::string_view in) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(alphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(alphabet[(acc << (6 - bits)) & 63]);
  return out;
}

std::string hmac_sha256(std::string_view secret, std::string_view input) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return std::string(reinterpret_cast<const char*>(mac), len);
}

test_key test_key::rsa(int bits) {
  test_key k;
  EVP_PKEY* p = EVP_RSA_gen(static_cast<unsigned>(bits));
  if (p == nullptr) throw std::runtime_error("EVP_RSA_gen");
  k.pkey_ = std::shared_ptr<void>(p, [](void* q) { EVP_PKEY_free(static_cast<EVP_PKEY*>(q)); });
  return k;
}

test_key test_key::ec_p256() {
  test_key k;
  EVP_PKEY* p = EVP_EC_gen("P-256");
  if (p == nullptr) throw std::runtime_error("EVP_EC_gen");
  k.pkey_ = std::shared_ptr<void>(p, [](void* q) { EVP_PKEY_free(static_cast<EVP_PKEY*>(q)); });
  return k;
}

bool test_key::is_rsa() const { return EVP_PKEY_is_a(raw(pkey_), "RSA") == 1; }

std::string test_key::jwk(const std::string& kid, const std::string& alg) const {
  std::string out = "{";
  if (!kid.empty()) out += "\"kid\":\"" + kid + "\",";
  if (!alg.empty()) out += "\"alg\":\"" + alg + "\",";
  if (is_rsa()) {
    out += "\"kty\":\"RSA\",\"n\":\"" + b64url(bn_param(raw(pkey_), OSSL_PKEY_PARAM_RSA_N)) +
           "\",\"e\":\"" + b64url(bn_param(raw(pkey_), OSSL_PKEY_PARAM_RSA_E)) + "\"}";
  } else {
    out += "\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" +
           b64url(bn_param(raw(pkey_), OSSL_PKEY_PARAM_EC_PUB_X, 32)) + "\",\"y\":\"" +
           b64url(bn_param(raw(pkey_), OSSL_PKEY_PARAM_EC_PUB_Y, 32)) + "\"}";
  }
  return out;
}

std::string test_key::public_pem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, raw(pkey_));
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

std::string test_key::sign(std::string_view input) const {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  std::size_t len = 0;
  if (EVP_DigestSignInit(md, nullptr, EVP_sha256(), nullptr, raw(pkey_)) != 1 ||
      EVP_DigestSign(md, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1) {
    EVP_MD_CTX_free(md);
    throw std::runtime_error("EVP_DigestSign");
  }
  std::vector<unsigned char> sig(len);
  if (EVP_DigestSign(md, sig.data(), &len, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1) {
    EVP_MD_CTX_free(md);
    throw std::runtime_error("EVP_DigestSign");
  }
  EVP_MD_CTX_free(md);
  sig.resize(len);
  if (is_rsa()) return std::string(sig.begin(), sig.end());
  // DER ECDSA-Sig-Value -> r||s, 32 bytes each.
  const unsigned char* p = sig.data();
  ECDSA_SIG* s = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
  if (s == nullptr) throw std::runtime_error("d2i_ECDSA_SIG");
  std::string out = bn_bytes(ECDSA_SIG_get0_r(s), 32) + bn_bytes(ECDSA_SIG_get0_s(s), 32);
  ECDSA_SIG_free(s);
  return out;
}

std::string jwks_of(const std::string& a, const std::string& b, const std::string& c) {
  std::string out = "{\"keys\":[" + a;
  if (!b.empty()) out += "," + b;
  if (!c.empty()) out += "," + c;
  return out + "]}";
}

std::string signing_input(const std::string& header_json, const std::string& payload_json) {
  return b64url(header_json) + "." + b64url(payload_json);
}

std::string jwt_with(const std::string& header_json, const std::string& payload_json,
                     const std::string& signature) {
  return signing_input(header_json, payload_json) + "." + b64url(signature);
}

std::string jwt_rs_es(const test_key& key, const std::string& kid, const std::string& payload_json) {
  std::string header = std::string("{\"alg\":\"") + (key.is_rsa() ? "RS256" : "ES256") +
                       "\",\"typ\":\"JWT\"";
  if (!kid.empty()) header += ",\"kid\":\"" + kid + "\"";
  header += "}";
  return jwt_with(header, payload_json, key.sign(signing_input(header, payload_json)));
}

std::string jwt_hs256(const std::string& secret, const std::string& payload_json,
                      const std::string& kid) {
  std::string header = "{\"alg\":\"HS256\",\"typ\":\"JWT\"";
  if (!kid.empty()) header += ",\"kid\":\"" + kid + "\"";
  header += "}";
  return jwt_with(header, payload_json, hmac_sha256(secret, signing_input(header, payload_json)));
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

} // namespace tlflow::test
