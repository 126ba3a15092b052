// api/tls.hpp — the HTTPS listener's TLS context, built from a PEM
// certificate chain and private key (http_server loads one at start and
// again on reload; a connection keeps the context it was accepted with).
//
// What every context offers: TLS 1.2 and 1.3 only (1.3 chosen when the
// client has it), ECDHE key exchange with AEAD ciphers only for 1.2, no
// compression, no renegotiation, ALPN http/1.1.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "tlflow/error.hpp"

namespace tlflow::api {

struct server_tls_context {
  std::shared_ptr<boost::asio::ssl::context> context;
  // Of the leaf certificate, for the log and the metrics.
  std::string subject;     // RFC 2253, e.g. "CN=tlflow.example.org"
  std::string serial;      // hexadecimal
  std::int64_t not_after = 0;  // Unix time
};

// Reads both files now (nothing is kept open). invalid_argument naming the
// file when one cannot be read, holds no certificate or key, the key is
// encrypted, or the key does not belong to the certificate.
result<server_tls_context> load_server_tls(const std::string& cert_file, const std::string& key_file);

} // namespace tlflow::api
