#include "api/auth.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <rapidjson/document.h>

#include "api/cursor.hpp"
#include "util/log.hpp"

namespace tlflow::api {

namespace {

// Owning wrappers: every OpenSSL object is freed on every path.
struct pkey_free { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct pctx_free { void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); } };
struct mdctx_free { void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); } };
struct bn_free { void operator()(BIGNUM* p) const { BN_free(p); } };
struct bld_free { void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); } };
struct param_free { void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); } };
struct sig_free { void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); } };
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using pctx_ptr = std::unique_ptr<EVP_PKEY_CTX, pctx_free>;
using mdctx_ptr = std::unique_ptr<EVP_MD_CTX, mdctx_free>;
using bn_ptr = std::unique_ptr<BIGNUM, bn_free>;
using bld_ptr = std::unique_ptr<OSSL_PARAM_BLD, bld_free>;
using param_ptr = std::unique_ptr<OSSL_PARAM, param_free>;
using sig_ptr = std::unique_ptr<ECDSA_SIG, sig_free>;

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// Equal in time independent of where the two differ: both are hashed first,
// so neither the length nor a common prefix leaks.
bool secret_equal(std::string_view presented, std::string_view expected) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> a{};
  std::array<unsigned char, SHA256_DIGEST_LENGTH> b{};
  SHA256(bytes(presented), presented.size(), a.data());
  SHA256(bytes(expected), expected.size(), b.data());
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
  return out;
}

error unauthorized(std::string message) { return {errc::unauthorized, std::move(message)}; }

const char* scope_name(access a) {
  switch (a) {
    case access::admin: return "tlflow:admin";
    case access::write: return "tlflow:write";
    default: return "tlflow:read";
  }
}

} // namespace

// ---------------------------------------------------------------- key set

struct jwk {
  std::string kid;
  std::string alg;   // from the JWK; empty when absent
  enum class type { rsa, ec_p256 } kty = type::rsa;
  pkey_ptr key;
};

class key_set {
public:
  std::vector<jwk> keys;
};

std::size_t key_count(const key_set& keys) { return keys.keys.size(); }

namespace {

std::optional<std::string> b64_member(const rapidjson::Value& o, const char* name) {
  auto it = o.FindMember(name);
  if (it == o.MemberEnd() || !it->value.IsString()) return std::nullopt;
  auto d = base64url_decode(std::string_view(it->value.GetString(), it->value.GetStringLength()));
  if (!d || d->empty()) return std::nullopt;
  return d;
}

std::string str_member(const rapidjson::Value& o, const char* name) {
  auto it = o.FindMember(name);
  if (it == o.MemberEnd() || !it->value.IsString()) return {};
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

pkey_ptr from_params(const char* type, OSSL_PARAM_BLD* bld) {
  param_ptr params(OSSL_PARAM_BLD_to_param(bld));
  pctx_ptr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) return nullptr;
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) return nullptr;
  return pkey_ptr(raw);
}

// The reason a JWK is skipped, or "" with `out` filled.
std::string read_jwk(const rapidjson::Value& o, jwk& out) {
  if (!o.IsObject()) return "not an object";
  const std::string kty = str_member(o, "kty");
  const std::string use = str_member(o, "use");
  out.kid = str_member(o, "kid");
  out.alg = str_member(o, "alg");
  if (!use.empty() && use != "sig") return "use is '" + use + "', not sig";
  if (kty == "RSA") {
    auto n = b64_member(o, "n");
    auto e = b64_member(o, "e");
    if (!n || !e) return "RSA key without n or e";
    bn_ptr bn_n(BN_bin2bn(bytes(*n), static_cast<int>(n->size()), nullptr));
    bn_ptr bn_e(BN_bin2bn(bytes(*e), static_cast<int>(e->size()), nullptr));
    bld_ptr bld(OSSL_PARAM_BLD_new());
    if (!bn_n || !bn_e || !bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
      return "RSA key not usable";
    }
    out.key = from_params("RSA", bld.get());
    if (!out.key) return "RSA key not usable";
    if (EVP_PKEY_get_bits(out.key.get()) < 2048) return "RSA key shorter than 2048 bits";
    out.kty = jwk::type::rsa;
    return {};
  }
  if (kty == "EC") {
    if (str_member(o, "crv") != "P-256") return "EC key on a curve other than P-256";
    auto x = b64_member(o, "x");
    auto y = b64_member(o, "y");
    if (!x || !y || x->size() != 32 || y->size() != 32) return "EC key without 32-byte x and y";
    const std::string point = std::string(1, '\x04') + *x + *y;
    bld_ptr bld(OSSL_PARAM_BLD_new());
    if (!bld ||
        OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                         point.size()) != 1) {
      return "EC key not usable";
    }
    out.key = from_params("EC", bld.get());
    if (!out.key) return "EC key not usable (point not on P-256)";
    out.kty = jwk::type::ec_p256;
    return {};
  }
  if (kty == "oct") return "symmetric keys are not taken from a key set (use TLFLOW_JWT_SECRET)";
  return "kty '" + kty + "' not supported";
}

} // namespace

result<std::shared_ptr<const key_set>> parse_jwks(std::string_view json) {
  rapidjson::Document d;
  d.Parse(json.data(), json.size());
  if (d.HasParseError() || !d.IsObject()) return error{errc::invalid_argument, "the JWKS is not a JSON object"};
  auto it = d.FindMember("keys");
  if (it == d.MemberEnd() || !it->value.IsArray()) {
    return error{errc::invalid_argument, "the JWKS has no \"keys\" array"};
  }
  auto set = std::make_shared<key_set>();
  std::size_t index = 0;
  for (const auto& k : it->value.GetArray()) {
    jwk key;
    const std::string why = read_jwk(k, key);
    if (why.empty()) {
      set->keys.push_back(std::move(key));
    } else {
      log::warn("auth", "JWKS key ", index, key.kid.empty() ? "" : " (kid '" + key.kid + "')",
                " skipped: ", why);
    }
    ++index;
  }
  if (set->keys.empty()) return error{errc::invalid_argument, "the JWKS holds no usable key"};
  return std::shared_ptr<const key_set>(std::move(set));
}

// ---------------------------------------------------------------- JWT

namespace {

result<rapidjson::Document> json_object_part(std::string_view part, const char* what) {
  auto raw = base64url_decode(part);
  if (!raw) return unauthorized(std::string("malformed token: the ") + what + " is not base64url");
  rapidjson::Document d;
  d.Parse(raw->data(), raw->size());
  if (d.HasParseError() || !d.IsObject()) {
    return unauthorized(std::string("malformed token: the ") + what + " is not a JSON object");
  }
  return d;
}

bool verify_signature(const jwk& key, std::string_view input, std::string_view sig) {
  std::string der;
  if (key.kty == jwk::type::ec_p256) {
    // JWS carries r||s, 32 bytes each; OpenSSL verifies DER.
    if (sig.size() != 64) return false;
    sig_ptr s(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(bytes(sig), 32, nullptr);
    BIGNUM* ss = BN_bin2bn(bytes(sig) + 32, 32, nullptr);
    if (!s || r == nullptr || ss == nullptr || ECDSA_SIG_set0(s.get(), r, ss) != 1) {
      BN_free(r);
      BN_free(ss);
      return false;
    }
    const int len = i2d_ECDSA_SIG(s.get(), nullptr);
    if (len <= 0) return false;
    der.resize(static_cast<std::size_t>(len));
    auto* p = reinterpret_cast<unsigned char*>(der.data());
    if (i2d_ECDSA_SIG(s.get(), &p) != len) return false;
    sig = der;
  }
  mdctx_ptr md(EVP_MD_CTX_new());
  if (!md || EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key.key.get()) != 1) {
    return false;
  }
  return EVP_DigestVerify(md.get(), bytes(sig), sig.size(), bytes(input), input.size()) == 1;
}

bool hmac_ok(std::string_view secret, std::string_view input, std::string_view sig) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), bytes(input), input.size(),
           mac.data(), &len) == nullptr) {
    return false;
  }
  // The length is public (32 for HS256); the bytes are compared in constant time.
  return sig.size() == len && CRYPTO_memcmp(mac.data(), sig.data(), len) == 0;
}

access level_of(std::string_view scope) {
  if (scope == "tlflow:admin") return access::admin;
  if (scope == "tlflow:write") return access::write;
  if (scope == "tlflow:read") return access::read;
  return access::open;
}

void grant_words(std::string_view text, access& granted) {
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t j = std::min(text.find(' ', i), text.size());
    granted = std::max(granted, level_of(text.substr(i, j - i)));
    i = j + 1;
  }
}

} // namespace

result<jwt_claims> verify_jwt(std::string_view token, const jwt_check& check, bool* unknown_kid) {
  if (unknown_kid != nullptr) *unknown_kid = false;
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return unauthorized("malformed token: a JWT has three dot-separated parts");
  }
  const std::string_view signing_input = token.substr(0, dot2);
  auto header = json_object_part(token.substr(0, dot1), "header");
  if (!header) return std::move(header).err();
  auto sig = base64url_decode(token.substr(dot2 + 1));
  if (!sig) return unauthorized("malformed token: the signature is not base64url");

  const rapidjson::Value& h = *header;
  auto alg_it = h.FindMember("alg");
  if (alg_it == h.MemberEnd() || !alg_it->value.IsString()) {
    return unauthorized("malformed token: the header has no alg");
  }
  const std::string alg(alg_it->value.GetString(), alg_it->value.GetStringLength());
  if (lower(alg) == "none") return unauthorized("unsigned tokens (alg none) are not accepted");
  if (h.HasMember("crit")) return unauthorized("token header extensions (crit) are not supported");
  std::optional<std::string> kid;
  if (auto k = h.FindMember("kid"); k != h.MemberEnd()) {
    if (!k->value.IsString()) return unauthorized("malformed token: kid is not a string");
    kid = std::string(k->value.GetString(), k->value.GetStringLength());
  }

  // The algorithm picks the verification path, and the path accepts only its
  // own kind of key: a shared secret never comes from a key set, and a key
  // set's public key is never used as an HMAC secret.
  if (alg == "HS256") {
    if (check.secret.empty()) return unauthorized("HS256 tokens are not accepted (no shared secret configured)");
    if (!hmac_ok(check.secret, signing_input, *sig)) return unauthorized("invalid token signature");
  } else if (alg == "RS256" || alg == "ES256") {
    if (check.keys == nullptr) return unauthorized(alg + " tokens are not accepted (no JWKS configured)");
    const jwk::type wanted = alg == "RS256" ? jwk::type::rsa : jwk::type::ec_p256;
    const jwk* key = nullptr;
    if (kid) {
      for (const auto& k : check.keys->keys) {
        if (k.kid == *kid) { key = &k; break; }
      }
      if (key == nullptr) {
        if (unknown_kid != nullptr) *unknown_kid = true;
        return unauthorized("unknown key id '" + *kid + "'");
      }
      if (key->kty != wanted) {
        return unauthorized("key '" + *kid + "' is " +
                            (key->kty == jwk::type::rsa ? "an RSA" : "a P-256") + " key; the token says " + alg);
      }
    } else {
      std::size_t matching = 0;
      for (const auto& k : check.keys->keys) {
        if (k.kty == wanted && (k.alg.empty() || k.alg == alg)) {
          key = &k;
          ++matching;
        }
      }
      if (matching != 1) {
        return unauthorized(matching == 0 ? "no key in the JWKS fits " + alg
                                          : "the token has no kid and several keys fit " + alg);
      }
    }
    if (!key->alg.empty() && key->alg != alg) {
      return unauthorized("key '" + key->kid + "' is for " + key->alg + "; the token says " + alg);
    }
    if (!verify_signature(*key, signing_input, *sig)) return unauthorized("invalid token signature");
  } else {
    return unauthorized("token algorithm '" + alg + "' is not accepted (RS256, ES256, HS256)");
  }

  // Claims are looked at only once the signature holds.
  auto payload = json_object_part(token.substr(dot1 + 1, dot2 - dot1 - 1), "payload");
  if (!payload) return std::move(payload).err();
  const rapidjson::Value& p = *payload;
  const auto leeway = static_cast<double>(jwt_leeway.count());
  const auto now = static_cast<double>(check.now);
  auto exp = p.FindMember("exp");
  if (exp == p.MemberEnd() || !exp->value.IsNumber()) return unauthorized("the token has no exp claim");
  if (now >= exp->value.GetDouble() + leeway) return unauthorized("the token has expired");
  if (auto nbf = p.FindMember("nbf"); nbf != p.MemberEnd()) {
    if (!nbf->value.IsNumber()) return unauthorized("malformed token: nbf is not a number");
    if (now + leeway < nbf->value.GetDouble()) return unauthorized("the token is not valid yet (nbf)");
  }
  if (!check.issuer.empty()) {
    auto iss = p.FindMember("iss");
    if (iss == p.MemberEnd() || !iss->value.IsString() ||
        std::string_view(iss->value.GetString(), iss->value.GetStringLength()) != check.issuer) {
      return unauthorized("the token's issuer (iss) is not the one configured");
    }
  }
  if (!check.audience.empty()) {
    bool found = false;
    if (auto aud = p.FindMember("aud"); aud != p.MemberEnd()) {
      const auto is_ours = [&](const rapidjson::Value& v) {
        return v.IsString() &&
               std::string_view(v.GetString(), v.GetStringLength()) == check.audience;
      };
      if (aud->value.IsArray()) {
        for (const auto& v : aud->value.GetArray()) found = found || is_ours(v);
      } else {
        found = is_ours(aud->value);
      }
    }
    if (!found) return unauthorized("the token's audience (aud) does not include this service");
  }

  jwt_claims out;
  if (auto s = p.FindMember("scope"); s != p.MemberEnd() && s->value.IsString()) {
    grant_words(std::string_view(s->value.GetString(), s->value.GetStringLength()), out.granted);
  }
  if (auto s = p.FindMember("scp"); s != p.MemberEnd()) {
    if (s->value.IsArray()) {
      for (const auto& v : s->value.GetArray()) {
        if (v.IsString()) out.granted = std::max(out.granted, level_of({v.GetString(), v.GetStringLength()}));
      }
    } else if (s->value.IsString()) {
      grant_words(std::string_view(s->value.GetString(), s->value.GetStringLength()), out.granted);
    }
  }
  if (auto s = p.FindMember("sub"); s != p.MemberEnd() && s->value.IsString()) {
    out.subject.assign(s->value.GetString(), s->value.GetStringLength());
  }
  return out;
}

// ---------------------------------------------------------------- authenticator

namespace {

bool is_url(std::string_view s) { return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0; }

result<std::shared_ptr<const key_set>> load_jwks(const auth_settings& s) {
  std::string text;
  if (is_url(s.jwks_source)) {
    if (!s.fetch) return error{errc::invalid_argument, "a JWKS URL needs a fetcher: " + s.jwks_source};
    auto r = s.fetch(s.jwks_source, s.ca_file, s.jwks_timeout);
    if (!r) return error{errc::io_error, "fetching the JWKS " + s.jwks_source + ": " + r.err().message};
    text = std::move(r).value();
  } else {
    std::ifstream in(s.jwks_source, std::ios::binary);
    if (!in) return error{errc::io_error, "cannot read the JWKS file " + s.jwks_source};
    std::ostringstream os;
    os << in.rdbuf();
    text = os.str();
  }
  auto keys = parse_jwks(text);
  if (!keys) return error{keys.err().code, s.jwks_source + ": " + keys.err().message};
  return keys;
}

auth_outcome refuse(errc code, std::string message, std::string challenge) {
  auth_outcome o;
  o.allowed = false;
  o.code = code;
  o.message = std::move(message);
  o.www_authenticate = std::move(challenge);
  return o;
}

const char* const basic_challenge = "Bearer realm=\"tlflow\"";

} // namespace

struct authenticator::impl {
  auth_settings s;
  mutable std::mutex mu;  // guards keys, last_on_demand, stopping
  std::shared_ptr<const key_set> keys;
  std::optional<std::chrono::steady_clock::time_point> last_on_demand;
  mutable std::mutex fetch_mu;  // one fetch at a time
  std::condition_variable cv;
  bool stopping = false;  // guarded by mu
  std::thread refresher;

  std::shared_ptr<const key_set> current() const {
    std::lock_guard<std::mutex> lock(mu);
    return keys;
  }

  // Fetches the key set again. An unknown kid asks at most once per
  // jwks_min_refetch, so a stream of tokens with made-up kids cannot turn
  // tlflow into a flood of requests to the issuer. False when nothing new
  // was loaded.
  bool refetch(bool on_demand) {
    std::lock_guard<std::mutex> one(fetch_mu);
    {
      std::lock_guard<std::mutex> lock(mu);
      const auto now = std::chrono::steady_clock::now();
      if (on_demand) {
        if (last_on_demand && now - *last_on_demand < s.jwks_min_refetch) return false;
        last_on_demand = now;
      }
    }
    auto loaded = load_jwks(s);
    if (!loaded) {
      log::warn("auth", "JWKS refresh failed, keeping the keys held: ", loaded.err().message);
      return false;
    }
    std::lock_guard<std::mutex> lock(mu);
    keys = std::move(loaded).value();
    log::debug("auth", "JWKS refreshed: ", key_count(*keys), " keys");
    return true;
  }

  void refresh_loop() {
    std::unique_lock<std::mutex> lock(mu);
    while (!cv.wait_for(lock, s.jwks_refresh, [this] { return stopping; })) {
      lock.unlock();
      refetch(false);
      lock.lock();
    }
  }
};

authenticator::authenticator(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

authenticator::~authenticator() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->refresher.joinable()) impl_->refresher.join();
}

result<std::shared_ptr<authenticator>> authenticator::create(auth_settings settings) {
  auto i = std::make_unique<impl>();
  i->s = std::move(settings);
  if (!i->s.jwt_secret.empty() && i->s.jwt_secret.size() < 32) {
    return error{errc::invalid_argument,
                 "TLFLOW_JWT_SECRET must be at least 32 bytes (HS256 needs a key as long as its hash)"};
  }
  if (!i->s.jwks_source.empty()) {
    auto keys = load_jwks(i->s);
    if (!keys) return std::move(keys).err();
    i->keys = std::move(keys).value();
    log::info("auth", "JWKS ", i->s.jwks_source, ": ", key_count(*i->keys), " keys");
  }
  std::shared_ptr<authenticator> a(new authenticator(std::move(i)));
  if (is_url(a->impl_->s.jwks_source)) {
    impl* self = a->impl_.get();
    a->impl_->refresher = std::thread([self] { self->refresh_loop(); });
  }
  return a;
}

bool authenticator::open() const noexcept { return impl_->s.open; }

auth_outcome authenticator::check(access needed,
                                  const std::optional<std::string_view>& authorization) const {
  const auth_settings& s = impl_->s;
  if (needed == access::open || s.open) return {};
  if (needed == access::read && !s.auth_reads) return {};
  if (!authorization) return refuse(errc::unauthorized, "a bearer token is required", basic_challenge);
  std::string_view value = *authorization;
  if (value.size() < 7 || lower(value.substr(0, 7)) != "bearer ") {
    return refuse(errc::unauthorized, "the Authorization header must be 'Bearer <token>'", basic_challenge);
  }
  value.remove_prefix(7);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);

  if (!s.static_token.empty() && secret_equal(value, s.static_token)) return {};
  const bool jwt_on = !s.jwt_secret.empty() || !s.jwks_source.empty();
  if (!jwt_on || std::count(value.begin(), value.end(), '.') != 2) {
    return refuse(errc::unauthorized, "invalid bearer token", basic_challenge);
  }

  jwt_check c;
  c.secret = s.jwt_secret;
  c.issuer = s.jwt_issuer;
  c.audience = s.jwt_audience;
  c.now = static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
  auto keys = impl_->current();
  c.keys = keys.get();
  bool unknown_kid = false;
  auto claims = verify_jwt(value, c, &unknown_kid);
  // A new kid usually means the issuer rotated its keys: fetch once more.
  if (!claims && unknown_kid && impl_->refetch(true)) {
    keys = impl_->current();
    c.keys = keys.get();
    claims = verify_jwt(value, c, &unknown_kid);
  }
  if (!claims) {
    return refuse(errc::unauthorized, claims.err().message,
                  std::string(basic_challenge) + ", error=\"invalid_token\"");
  }
  if (claims->granted < needed) {
    return refuse(errc::forbidden, std::string("the token lacks the scope ") + scope_name(needed),
                  std::string(basic_challenge) + ", error=\"insufficient_scope\", scope=\"" +
                      scope_name(needed) + "\"");
  }
  return {};
}

// ---------------------------------------------------------------- start-up

bool is_loopback_host(std::string_view host) {
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  // 127.0.0.0/8 as a dotted quad.
  if (host.rfind("127.", 0) != 0) return false;
  int parts = 0;
  std::size_t i = 0;
  while (i <= host.size()) {
    const std::size_t j = std::min(host.find('.', i), host.size());
    const std::string_view p = host.substr(i, j - i);
    if (p.empty() || p.size() > 3 || !std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoi(std::string(p)) > 255) {
      return false;
    }
    ++parts;
    i = j + 1;
  }
  return parts == 4;
}

namespace {

error io_fail(const std::string& what, const std::string& path) {
  return {errc::io_error, what + " " + path + ": " + std::strerror(errno)};
}

result<std::string> read_token_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return io_fail("cannot open", path);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return error{errc::invalid_argument, path + " is not a regular file"};
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return error{errc::invalid_argument, path + " is readable or writable by others; chmod 600 it"};
  }
  std::string text;
  char buf[512];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return io_fail("cannot read", path);
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > 4096) break;
  }
  ::close(fd);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  if (text.empty() || text.size() > 4096 || text.find_first_of(" \t\r\n") != std::string::npos) {
    return error{errc::invalid_argument, path + " holds no token (one line, no spaces)"};
  }
  return text;
}

} // namespace

result<std::string> load_or_create_token_file(const std::string& data_dir, bool& created) {
  created = false;
  const std::string path = (std::filesystem::path(data_dir) / "api-token").string();
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return error{errc::io_error, "cannot create " + data_dir + ": " + ec.message()};
  if (::access(path.c_str(), F_OK) == 0) return read_token_file(path);

  std::array<unsigned char, 32> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    return error{errc::internal, "the random generator failed"};
  }
  const std::string token =
      base64url_encode(std::string_view(reinterpret_cast<const char*>(random.data()), random.size()));
  OPENSSL_cleanse(random.data(), random.size());

  // Written in full under a private name, then linked into place: a reader
  // never sees half a token, and of two starts racing, one link wins and the
  // other reads the winner's file.
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return io_fail("cannot create", tmp);
  const std::string line = token + "\n";
  bool ok = ::fchmod(fd, 0600) == 0 && ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
            ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(tmp.c_str());
    errno = saved;
    return io_fail("cannot write", tmp);
  }
  const int linked = ::link(tmp.c_str(), path.c_str());
  const int link_errno = errno;
  ::unlink(tmp.c_str());
  if (linked != 0) {
    if (link_errno == EEXIST) return read_token_file(path);
    errno = link_errno;
    return io_fail("cannot create", path);
  }
  if (const int dfd = ::open(data_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  created = true;
  return token;
}

result<std::shared_ptr<authenticator>> make_authenticator(const config& cfg, url_fetcher fetch) {
  auth_settings s;
  s.fetch = std::move(fetch);
  s.static_token = cfg.api_token;
  s.auth_reads = cfg.auth_reads;
  s.jwt_secret = cfg.jwt_secret;
  s.jwks_source = cfg.jwt_jwks;
  s.jwt_issuer = cfg.jwt_issuer;
  s.jwt_audience = cfg.jwt_audience;
  s.ca_file = cfg.ca_file;
  const bool configured = !s.static_token.empty() || !s.jwt_secret.empty() || !s.jwks_source.empty();
  const bool loopback = is_loopback_host(cfg.host);

  if (cfg.no_auth) {
    if (configured) {
      return error{errc::invalid_argument,
                   "--no-auth contradicts the credentials configured (TLFLOW_API_TOKEN, "
                   "TLFLOW_JWT_SECRET or --jwt-jwks): drop one or the other"};
    }
    if (cfg.auth_reads) return error{errc::invalid_argument, "--no-auth contradicts --auth-reads"};
    s.open = true;
    log::warn("auth", "--no-auth: every route, writes included, is open to anyone who can reach ",
              cfg.host, loopback ? "" : " (not a loopback address)");
  } else if (!configured && loopback && !cfg.auth_reads) {
    s.open = true;
    log::info("auth", "no credentials configured; listening on loopback ", cfg.host,
              " only, so every route is open");
  } else if (!configured) {
    if (cfg.ephemeral) {
      const std::string why = loopback ? "--auth-reads" : "listening on " + cfg.host;
      return error{errc::invalid_argument,
                   why + " with --ephemeral and no credentials: there is no data directory to keep a "
                         "generated token in. Set TLFLOW_API_TOKEN (or a JWT setting)" +
                       (loopback ? std::string(", or drop --auth-reads")
                                 : std::string(", listen on 127.0.0.1, or pass --no-auth"))};
    }
    bool created = false;
    auto token = load_or_create_token_file(cfg.data_dir, created);
    if (!token) return error{token.err().code, "API token file: " + token.err().message};
    const std::string path = (std::filesystem::path(cfg.data_dir) / "api-token").string();
    if (created) {
      log::warn("auth", "no credentials configured and listening on ", cfg.host,
                ": generated an API token; writes need it. Read it with `cat ", path,
                "` and send `Authorization: Bearer <token>`");
    } else {
      log::debug("auth", "API token from ", path);
    }
    s.static_token = std::move(token).value();
  }
  return authenticator::create(std::move(s));
}

} // namespace tlflow::api
