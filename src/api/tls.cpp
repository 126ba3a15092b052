#include "api/tls.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace tlflow::api {

namespace net = boost::asio;

namespace {

// Mozilla's "intermediate" TLS 1.2 list without the finite-field DHE suites:
// forward secrecy from ECDHE only, AEAD only. TLS 1.3 suites are OpenSSL's
// defaults, all of them AEAD.
constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

error bad(const std::string& message) { return error{errc::invalid_argument, message}; }

result<std::string> read_pem(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return bad("cannot read the TLS " + std::string(what) + " " + path + ": " + std::strerror(errno));
  std::ostringstream out;
  out << in.rdbuf();
  if (out.str().empty()) return bad("the TLS " + std::string(what) + " " + path + " is empty");
  return out.str();
}

// ALPN: HTTP/1.1 is all this server speaks; a client offering only h2 gets
// no ALPN answer and decides for itself.
int select_http11(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
                  unsigned int in_len, void*) {
  static const unsigned char http11[] = {'h', 't', 't', 'p', '/', '1', '.', '1'};
  for (unsigned int i = 0; i < in_len;) {
    const unsigned int n = in[i];
    if (i + 1 + n > in_len) break;
    if (n == sizeof http11 && std::memcmp(in + i + 1, http11, n) == 0) {
      *out = in + i + 1;
      *out_len = static_cast<unsigned char>(n);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + n;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

std::string subject_of(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, n > 0 ? static_cast<std::size_t>(n) : 0);
  BIO_free(bio);
  return out;
}

std::string serial_of(X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  if (bn == nullptr) return {};
  char* hex = BN_bn2hex(bn);
  std::string out = hex != nullptr ? hex : "";
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

std::int64_t not_after_of(X509* cert) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) return 0;
  return static_cast<std::int64_t>(::timegm(&tm));
}

} // namespace

result<server_tls_context> load_server_tls(const std::string& cert_file, const std::string& key_file) {
  auto cert_pem = read_pem(cert_file, "certificate");
  if (!cert_pem) return std::move(cert_pem).err();
  auto key_pem = read_pem(key_file, "key");
  if (!key_pem) return std::move(key_pem).err();
  if (key_pem->find("ENCRYPTED") != std::string::npos) {
    return bad("the TLS key " + key_file +
               " is encrypted; give an unencrypted key readable by the service's user only");
  }

  auto ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  // Never a passphrase prompt on the terminal (OpenSSL's default callback).
  ctx->set_password_callback([](std::size_t, net::ssl::context::password_purpose) { return std::string(); });

  // The key first: OpenSSL then drops a key that does not match the
  // certificate, and the check below says so in these words.
  boost::system::error_code ec;
  ctx->use_private_key(net::buffer(*key_pem), net::ssl::context::pem, ec);
  if (ec) return bad("cannot use the TLS key " + key_file + ": " + ec.message());
  ctx->use_certificate_chain(net::buffer(*cert_pem), ec);
  if (ec) return bad("cannot use the TLS certificate " + cert_file + ": " + ec.message());
  if (SSL_CTX_check_private_key(native) != 1) {
    return bad("the TLS key " + key_file + " does not belong to the certificate " + cert_file);
  }

  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(native, 0);  // the newest the library has: 1.3
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
#ifdef SSL_OP_NO_CLIENT_RENEGOTIATION
  SSL_CTX_set_options(native, SSL_OP_NO_CLIENT_RENEGOTIATION);
#endif
  if (SSL_CTX_set_cipher_list(native, tls12_ciphers) != 1 ||
      SSL_CTX_set1_groups_list(native, "X25519:P-256:P-384") != 1) {
    return bad("this OpenSSL lacks the ECDHE ciphers or groups the server needs");
  }
  // Idle keep-alive connections then hold no read/write buffers.
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_alpn_select_cb(native, select_http11, nullptr);

  server_tls_context out;
  X509* leaf = SSL_CTX_get0_certificate(native);
  if (leaf == nullptr) return bad("the TLS certificate " + cert_file + " holds no certificate");
  out.subject = subject_of(leaf);
  out.serial = serial_of(leaf);
  out.not_after = not_after_of(leaf);
  out.context = std::move(ctx);
  return out;
}

} // namespace tlflow::api
