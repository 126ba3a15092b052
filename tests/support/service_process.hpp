// support/service_process.hpp — runs the real `tlflow` binary for the
// integration tests, and a tiny raw-socket HTTP/1.1 client to talk to it.
//
// The client writes bytes as given (so tests can send malformed requests)
// and parses one response (Content-Length, chunked, or until close). Both
// talk to 127.0.0.1 only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/temp_dir.hpp"

namespace tlflow::test {

struct http_reply {
  int status = 0;                      // 0: no (parsable) response
  std::vector<std::pair<std::string, std::string>> headers; // names lower-case
  std::string body;
  std::optional<std::string> header(std::string_view lower_name) const;
};

using header_pairs = std::vector<std::pair<std::string, std::string>>;

// Parses one response out of `data` (what was read so far); false while it
// is incomplete, unless `at_eof`.
bool parse_reply(const std::string& data, bool at_eof, http_reply& out);

// Sends `raw` to 127.0.0.1:port and reads one response.
http_reply send_raw(std::uint16_t port, const std::string& raw, int timeout_ms = 10000);

// A well-formed request with `Connection: close`. A non-empty body gets
// Content-Length and `content_type` (unless headers already set one).
http_reply http_request(std::uint16_t port, const std::string& method, const std::string& target,
                        const std::string& body = {}, const header_pairs& headers = {},
                        const std::string& content_type = "application/json");

// Percent-encodes every byte outside the RFC 3986 unreserved set.
std::string pct(std::string_view text);

// A TCP port on 127.0.0.1 that was free a moment ago.
std::uint16_t free_port();

// A blocking socket connected to 127.0.0.1:port (TCP_NODELAY, send and
// receive timeouts of `timeout_ms`); -1 when the connection fails.
int connect_loopback(std::uint16_t port, int timeout_ms);

class service_process {
public:
  struct options {
    std::vector<std::string> args;   // extra flags (a --host here replaces 127.0.0.1)
    header_pairs env;                // extra environment
    std::string data_dir;            // empty: <temp>/data
  };

  explicit service_process(options o = {});
  ~service_process();  // SIGKILLs a running child
  service_process(const service_process&) = delete;
  service_process& operator=(const service_process&) = delete;

  // For args that serve HTTPS: start() then waits for GET /status over TLS,
  // trusting this CA (support/test_tls.hpp).
  void expect_tls(std::string ca_file) { tls_ca_file_ = std::move(ca_file); }

  // Spawns tlflow on a free port and waits until GET /status answers.
  // False (with stderr kept) if it exits or does not answer within 15 s.
  bool start();
  // SIGTERM and wait; the exit status (or -1 if killed by a signal).
  int terminate();
  // SIGKILL and wait.
  void kill();
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  std::uint16_t port() const { return port_; }
  const std::string& data_dir() const { return data_dir_; }
  std::string stderr_text() const;

  http_reply request(const std::string& method, const std::string& target,
                     const std::string& body = {}, const header_pairs& headers = {}) const {
    return http_request(port_, method, target, body, headers);
  }
  http_reply get(const std::string& target) const { return request("GET", target); }

private:
  options options_;
  temp_dir root_;
  std::string data_dir_;
  std::string stderr_path_;
  std::string tls_ca_file_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

// Runs the binary with `args` to completion; exit code and stdout+stderr.
std::pair<int, std::string> run_tlflow(const std::vector<std::string>& args,
                                       const header_pairs& env = {});

} // namespace tlflow::test
