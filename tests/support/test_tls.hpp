// support/test_tls.hpp — TLS material made by a test, and a blocking HTTPS
// client to talk to the service with.
//
// test_ca is a certificate authority of the test's own (a fresh P-256 key,
// self-signed) that issues server certificates for localhost and
// 127.0.0.1, written as PEM files into a temporary directory under TMPDIR.
// https_exchange() connects to 127.0.0.1, sends SNI and verifies the
// server's certificate against a given CA and host name (OpenSSL's C API,
// nothing of the service's own code), with the protocol versions and
// ciphers a test chooses, and reports what was negotiated.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "support/service_process.hpp"
#include "support/temp_dir.hpp"

namespace tlflow::test {

class test_ca {
public:
  explicit test_ca(const std::string& common_name = "tlflow test CA");
  ~test_ca();
  test_ca(const test_ca&) = delete;
  test_ca& operator=(const test_ca&) = delete;

  const std::string& ca_file() const { return ca_file_; }
  std::string file(const std::string& name) const { return dir_.file(name); }

  struct issued {
    std::string cert_file;  // <stem>.crt
    std::string key_file;   // <stem>.key
    std::string serial;     // hexadecimal, as OpenSSL prints it
  };
  // A new key and certificate (subject CN=`common_name`, SAN DNS:localhost
  // and IP:127.0.0.1, valid from an hour ago for a day) signed by this CA.
  issued issue(const std::string& stem, long serial, const std::string& common_name);

private:
  struct keys;
  temp_dir dir_;
  std::string ca_file_;
  std::unique_ptr<keys> keys_;
};

struct tls_client_options {
  tls_client_options(std::string trusted_ca = {}) : ca_file(std::move(trusted_ca)) {}  // NOLINT: implicit on purpose

  std::string ca_file;              // trusted CA; empty: the peer is not verified
  std::string host = "localhost";   // SNI and the name the certificate must hold
  int min_version = 0;              // TLS1_2_VERSION ...; 0: OpenSSL's default
  int max_version = 0;
  std::string cipher_list;          // e.g. "DEFAULT@SECLEVEL=0" to offer TLS 1.1 at all
  int timeout_ms = 10000;
  bool read_to_eof = false;         // keep reading after the first response (see raw)
};

struct https_reply : http_reply {
  bool handshake_ok = false;
  std::string tls_error;     // why the connection or handshake failed
  std::string version;       // "TLSv1.3"
  std::string cipher;
  std::string alpn;
  std::string peer_subject;  // RFC 2253, e.g. "CN=first"
  std::string peer_serial;   // hexadecimal
  std::string raw;           // every byte read (with read_to_eof: until the server closed)
};

// Sends `raw` over a fresh TLS connection to 127.0.0.1:port and reads one
// response (until it is complete or the server closes).
https_reply https_exchange(std::uint16_t port, const std::string& raw, const tls_client_options& o);

// A well-formed request with `Connection: close` (see http_request).
https_reply https_request(std::uint16_t port, const tls_client_options& o, const std::string& method,
                          const std::string& target, const std::string& body = {},
                          const header_pairs& headers = {});

} // namespace tlflow::test
