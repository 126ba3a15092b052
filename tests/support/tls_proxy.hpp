// A real TLS server on loopback in front of a plain test server: it
// terminates TLS with a certificate it makes for itself at start (a fresh
// P-256 key, self-signed, subjectAltName DNS:localhost only) and relays the
// bytes both ways to 127.0.0.1:<upstream>. Tests point a client at
// https://localhost:PORT or wss://localhost:PORT and give it ca_file() to
// trust; connecting as 127.0.0.1 (a name the certificate does not hold) or
// without that CA must fail verification. The server name each client sent
// (SNI) and the handshakes that failed are recorded.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/temp_dir.hpp"

namespace tlflow::test {

class tls_proxy {
public:
  explicit tls_proxy(std::uint16_t upstream_port);
  ~tls_proxy();
  tls_proxy(const tls_proxy&) = delete;
  tls_proxy& operator=(const tls_proxy&) = delete;

  std::uint16_t port() const { return port_; }
  // "<scheme>://localhost:PORT", e.g. url("https"), url("wss").
  std::string url(const std::string& scheme) const;
  // PEM file holding the certificate (its own issuer): what a client trusts.
  const std::string& ca_file() const { return ca_file_; }

  std::vector<std::string> server_names() const;  // SNI of completed handshakes
  int handshakes_ok() const { return ok_.load(); }
  int handshakes_failed() const { return failed_.load(); }

private:
  struct tls;
  void accept_loop();
  void relay(int client_fd);

  std::uint16_t upstream_;
  std::uint16_t port_ = 0;
  int listen_fd_ = -1;
  temp_dir ca_dir_; // removed also when the constructor throws
  std::string ca_file_;
  std::unique_ptr<tls> tls_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> ok_{0}, failed_{0};
  std::thread acceptor_;
  mutable std::mutex mutex_;
  std::vector<std::thread> threads_;
  std::vector<std::string> names_;
};

} // namespace tlflow::test
