// Reconnect delays, per X's documented rules ("Handling disconnections"; tlflow
// applies them to every network source):
//   * an established connection that drops -> reconnect at once;
//   * TCP/IP-level failure (refused, reset, timeout, TLS) -> linear: +250 ms
//     per attempt, capped at 16 s;
//   * HTTP error -> exponential from 5 s, doubling, capped at 320 s;
//   * HTTP 429 (and v1.1's 420) -> exponential from 1 minute, doubling; the
//     docs give no ceiling, tlflow caps it at 16 minutes (past the 15-minute
//     rate-limit window).
// Base times are fields so that tests run the same sequences scaled down.
// A connection counts as established once it delivered its first body byte;
// one that dies sooner than `min_established` after that is treated as a
// TCP/IP failure, so a server that accepts and drops at once cannot make the
// client spin.
// Not thread-safe: one instance per connection loop.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace tlflow {

using millis = std::chrono::milliseconds;

struct backoff_policy {
  millis network_step{250};
  millis network_cap{16000};
  millis http_base{5000};
  millis http_cap{320000};
  millis throttled_base{60000};
  millis throttled_cap{960000};
  millis min_established{1000};

  // Every time divided by `factor` (tests).
  backoff_policy scaled_down(long factor) const {
    backoff_policy p = *this;
    for (millis* m : {&p.network_step, &p.network_cap, &p.http_base, &p.http_cap,
                      &p.throttled_base, &p.throttled_cap, &p.min_established})
      *m = std::max(millis(1), *m / factor);
    return p;
  }
};

enum class failure_kind { dropped, network, http, throttled };

class backoff {
public:
  explicit backoff(backoff_policy p = {}) : p_(p) {}

  // The delay before the next attempt after a failure of this kind.
  millis next(failure_kind k) {
    switch (k) {
      case failure_kind::dropped:
        reset();
        return millis(0);
      case failure_kind::network: {
        ++network_;
        return std::min(p_.network_cap, p_.network_step * network_);
      }
      case failure_kind::http: {
        millis d = p_.http_base;
        for (unsigned i = 0; i < http_ && d < p_.http_cap; ++i) d *= 2;
        ++http_;
        return std::min(d, p_.http_cap);
      }
      case failure_kind::throttled: {
        millis d = p_.throttled_base;
        for (unsigned i = 0; i < throttled_ && d < p_.throttled_cap; ++i) d *= 2;
        ++throttled_;
        return std::min(d, p_.throttled_cap);
      }
    }
    return millis(0);
  }

  // A connection was established: every sequence starts over.
  void reset() { network_ = http_ = throttled_ = 0; }

  const backoff_policy& policy() const noexcept { return p_; }

private:
  backoff_policy p_;
  unsigned network_ = 0;
  unsigned http_ = 0;
  unsigned throttled_ = 0;
};

} // namespace tlflow
