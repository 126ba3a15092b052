// api/undo.hpp — undo tickets for deletes (docs/api.md: `X-Undo-Ticket`,
// `POST /undo/{ticket}`).
//
// A ticket is 128 random bits from the OS (hex, 32 characters): unguessable,
// so knowing one ticket says nothing about another. It can be redeemed once,
// within its time to live (1 h), and is used up only by a redemption that
// succeeded: a restore that failed (store unavailable, disk full) leaves the
// ticket for a retry. At most `capacity` tickets and about `max_bytes` of
// removed data are kept (the newest ticket always is, so a delete larger than
// the budget still gets one); the oldest is dropped first. Tickets live in
// memory only: a restart forgets them.
// Thread safety: every method may be called concurrently.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>

#include "tlflow/graph_store.hpp"

namespace tlflow::api {

class undo_tickets {
public:
  using clock = std::chrono::steady_clock;

  explicit undo_tickets(clock::duration ttl = std::chrono::hours(1), std::size_t capacity = 10000,
                        std::size_t max_bytes = std::size_t{64} << 20);

  std::string issue(removed_set removed);
  // The removed set, once; nullopt if unknown, used or expired.
  std::optional<removed_set> take(const std::string& ticket);
  // Calls `restore` with the ticket's removed set and uses the ticket up only
  // if it succeeds; its error otherwise. ticket_not_found if unknown, used or
  // expired; conflict while another redemption of the same ticket runs.
  result<removed_set> redeem(const std::string& ticket,
                             const std::function<status(const removed_set&)>& restore);
  std::size_t size() const;
  // Memory the kept removed sets hold, estimated (see footprint()).
  std::size_t bytes() const;

  // Estimated heap bytes of a removed set: what a ticket costs to keep.
  static std::size_t footprint(const removed_set& removed);

private:
  struct entry {
    removed_set removed;
    clock::time_point expires;
    std::size_t bytes = 0;
    bool redeeming = false; // a restore with it is running
  };
  void erase_locked(std::map<std::string, entry>::iterator it);
  void expire_locked(clock::time_point now);

  clock::duration ttl_;
  std::size_t capacity_;
  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  mutable std::mutex mutex_;
  std::map<std::string, entry> by_ticket_;
  std::deque<std::string> order_; // issue order, for expiry and capacity
  std::random_device random_;
};

} // namespace tlflow::api
