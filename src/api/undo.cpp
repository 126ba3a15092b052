#include "api/undo.hpp"

#include <array>

namespace tlflow::api {

undo_tickets::undo_tickets(clock::duration ttl, std::size_t capacity)
    : ttl_(ttl), capacity_(capacity == 0 ? 1 : capacity) {}

void undo_tickets::expire_locked(clock::time_point now) {
  while (!order_.empty()) {
    auto it = by_ticket_.find(order_.front());
    if (it == by_ticket_.end()) {  // already redeemed
      order_.pop_front();
      continue;
    }
    // One being redeemed is kept until its restore has succeeded or failed.
    if ((it->second.expires > now && by_ticket_.size() <= capacity_) || it->second.redeeming) break;
    by_ticket_.erase(it);
    order_.pop_front();
  }
}

std::string undo_tickets::issue(removed_set removed) {
  static constexpr char hex[] = "0123456789abcdef";
  std::lock_guard<std::mutex> lock(mutex_);
  std::string ticket;
  do {
    ticket.clear();
    for (int i = 0; i < 4; ++i) {
      std::uint32_t r = random_();
      for (int k = 0; k < 8; ++k) {
        ticket.push_back(hex[r & 0xF]);
        r >>= 4;
      }
    }
  } while (by_ticket_.count(ticket) != 0);
  const auto now = clock::now();
  by_ticket_.emplace(ticket, entry{std::move(removed), now + ttl_});
  order_.push_back(ticket);
  expire_locked(now);
  return ticket;
}

std::optional<removed_set> undo_tickets::take(const std::string& ticket) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto now = clock::now();
  expire_locked(now);
  auto it = by_ticket_.find(ticket);
  if (it == by_ticket_.end() || it->second.expires <= now || it->second.redeeming) return std::nullopt;
  removed_set out = std::move(it->second.removed);
  by_ticket_.erase(it);
  return out;
}

result<removed_set> undo_tickets::redeem(const std::string& ticket,
                                         const std::function<status(const removed_set&)>& restore) {
  removed_set removed;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto now = clock::now();
    expire_locked(now);
    auto it = by_ticket_.find(ticket);
    if (it == by_ticket_.end() || it->second.expires <= now)
      return error{errc::ticket_not_found, "unknown, used or expired undo ticket"};
    if (it->second.redeeming)
      return error{errc::conflict, "this undo ticket is being redeemed by another request"};
    it->second.redeeming = true;
    removed = it->second.removed; // the entry keeps its copy for a retry
  }
  status restored = restore(removed);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = by_ticket_.find(ticket);
  if (restored.ok()) {
    if (it != by_ticket_.end()) by_ticket_.erase(it);
    return removed;
  }
  // Expiry and capacity may have dropped it meanwhile; otherwise it stays.
  if (it != by_ticket_.end()) it->second.redeeming = false;
  return std::move(restored).err();
}

std::size_t undo_tickets::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return by_ticket_.size();
}

} // namespace tlflow::api
