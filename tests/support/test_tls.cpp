#include "support/test_tls.hpp"

#include "support/service_process.hpp"

#include <arpa/inet.h>
#include <signal.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace tlflow::test {

struct test_ca::keys {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  ~keys() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
};

namespace {

void add_ext(X509* issuer, X509* cert, int nid, const char* value) {
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
  if (ext == nullptr) throw std::runtime_error("test_ca: bad extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

X509* new_cert(EVP_PKEY* key, long serial, const std::string& cn) {
  X509* c = X509_new();
  X509_set_version(c, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
  X509_gmtime_adj(X509_getm_notBefore(c), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c), 86400);
  X509_set_pubkey(c, key);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(c), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  return c;
}

void write_file(const std::string& path, X509* cert, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) throw std::runtime_error("test_ca: cannot write " + path);
  const bool ok = cert != nullptr ? PEM_write_X509(f, cert) == 1
                                  : PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  std::fclose(f);
  if (!ok) throw std::runtime_error("test_ca: cannot write " + path);
}

std::string serial_hex(X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  char* hex = BN_bn2hex(bn);
  std::string out = hex;
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
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

std::string openssl_errors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += (out.empty() ? "" : "; ") + std::string(buf);
  }
  return out;
}


} // namespace

test_ca::test_ca(const std::string& common_name) : keys_(new keys) {
  keys_->key = EVP_EC_gen("P-256");
  X509* c = keys_->cert = new_cert(keys_->key, 1, common_name);
  X509_set_issuer_name(c, X509_get_subject_name(c));
  add_ext(c, c, NID_basic_constraints, "critical,CA:TRUE");
  add_ext(c, c, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(c, c, NID_subject_key_identifier, "hash");
  if (!X509_sign(c, keys_->key, EVP_sha256())) throw std::runtime_error("test_ca: cannot sign");
  ca_file_ = dir_.file("ca.crt");
  write_file(ca_file_, c, nullptr);
}

test_ca::~test_ca() = default;

test_ca::issued test_ca::issue(const std::string& stem, long serial, const std::string& common_name) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* c = new_cert(key, serial, common_name);
  X509_set_issuer_name(c, X509_get_subject_name(keys_->cert));
  add_ext(keys_->cert, c, NID_basic_constraints, "critical,CA:FALSE");
  add_ext(keys_->cert, c, NID_key_usage, "critical,digitalSignature");
  add_ext(keys_->cert, c, NID_ext_key_usage, "serverAuth");
  add_ext(keys_->cert, c, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
  add_ext(keys_->cert, c, NID_authority_key_identifier, "keyid:always");
  issued out;
  out.cert_file = dir_.file(stem + ".crt");
  out.key_file = dir_.file(stem + ".key");
  const bool signed_ok = X509_sign(c, keys_->key, EVP_sha256()) != 0;
  if (signed_ok) {
    write_file(out.cert_file, c, nullptr);
    write_file(out.key_file, nullptr, key);
    out.serial = serial_hex(c);
  }
  X509_free(c);
  EVP_PKEY_free(key);
  if (!signed_ok) throw std::runtime_error("test_ca: cannot sign");
  return out;
}

https_reply https_exchange(std::uint16_t port, const std::string& raw, const tls_client_options& o) {
  // OpenSSL writes with write(2): a server that answered early and closed
  // (413) must fail the write, not kill the test with SIGPIPE.
  static const bool sigpipe_ignored = [] {
    ::signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void)sigpipe_ignored;
  https_reply reply;
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (o.min_version != 0) SSL_CTX_set_min_proto_version(ctx, o.min_version);
  if (o.max_version != 0) SSL_CTX_set_max_proto_version(ctx, o.max_version);
  if (!o.cipher_list.empty()) SSL_CTX_set_cipher_list(ctx, o.cipher_list.c_str());
  if (!o.ca_file.empty()) {
    SSL_CTX_load_verify_locations(ctx, o.ca_file.c_str(), nullptr);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  }
  static const unsigned char alpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn);
  SSL* ssl = SSL_new(ctx);
  SSL_set_tlsext_host_name(ssl, o.host.c_str());
  if (!o.ca_file.empty()) SSL_set1_host(ssl, o.host.c_str());
  const int fd = connect_loopback(port, o.timeout_ms);
  const auto done = [&] {
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    if (fd >= 0) ::close(fd);
    ERR_clear_error();
    return reply;
  };
  if (fd < 0) {
    reply.tls_error = "cannot connect";
    return done();
  }
  SSL_set_fd(ssl, fd);
  if (SSL_connect(ssl) != 1) {
    reply.tls_error = openssl_errors();
    const long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) reply.tls_error += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
    if (reply.tls_error.empty()) reply.tls_error = "handshake failed";
    return done();
  }
  reply.handshake_ok = true;
  reply.version = SSL_get_version(ssl);
  reply.cipher = SSL_get_cipher_name(ssl);
  const unsigned char* chosen = nullptr;
  unsigned int chosen_len = 0;
  SSL_get0_alpn_selected(ssl, &chosen, &chosen_len);
  reply.alpn.assign(reinterpret_cast<const char*>(chosen), chosen_len);
  if (X509* peer = SSL_get1_peer_certificate(ssl)) {
    reply.peer_subject = subject_of(peer);
    reply.peer_serial = serial_hex(peer);
    X509_free(peer);
  }
  if (SSL_write(ssl, raw.data(), static_cast<int>(raw.size())) <= 0) {
    reply.tls_error = "write failed: " + openssl_errors();
  }
  std::string data;
  char buf[65536];
  http_reply parsed;
  for (;;) {
    if (!o.read_to_eof && parse_reply(data, false, parsed)) break;
    const int n = SSL_read(ssl, buf, sizeof buf);
    if (n <= 0) {
      parse_reply(data, true, parsed);
      break;
    }
    data.append(buf, static_cast<std::size_t>(n));
  }
  if (o.read_to_eof) parse_reply(data, true, parsed);
  static_cast<http_reply&>(reply) = std::move(parsed);
  reply.raw = std::move(data);
  return done();
}

https_reply https_request(std::uint16_t port, const tls_client_options& o, const std::string& method,
                          const std::string& target, const std::string& body, const header_pairs& headers) {
  std::string raw = method + " " + target + " HTTP/1.1\r\nHost: " + o.host + "\r\nConnection: close\r\n";
  bool has_type = false;
  for (const auto& [k, v] : headers) {
    raw += k + ": " + v + "\r\n";
    if (k == "Content-Type" || k == "content-type") has_type = true;
  }
  if (!body.empty()) {
    if (!has_type) raw += "Content-Type: application/json\r\n";
    raw += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  raw += "\r\n" + body;
  return https_exchange(port, raw, o);
}

} // namespace tlflow::test
