// Maps the outcome of one streaming connection to the next backoff delay.
#pragma once

#include "sources/backoff.hpp"
#include "sources/http_client.hpp"

namespace tlflow {

inline millis reconnect_delay(backoff& b, const stream_result& r) {
  using o = stream_result::outcome;
  switch (r.what) {
    case o::stopped:
      return millis(0);
    case o::ended:
    case o::stalled:
      if (r.established && r.lived >= b.policy().min_established) return b.next(failure_kind::dropped);
      return b.next(failure_kind::network);
    case o::network_error:
      return b.next(failure_kind::network);
    case o::http_error:
      return b.next((r.status == 429 || r.status == 420) ? failure_kind::throttled
                                                         : failure_kind::http);
  }
  return b.next(failure_kind::network);
}

inline std::string describe(const stream_result& r) {
  std::string m = r.message;
  if (!r.body.empty()) {
    std::string b = r.body.substr(0, 300);
    for (char& c : b)
      if (c == '\n' || c == '\r') c = ' ';
    m += ": " + b;
  }
  return m;
}

} // namespace tlflow
