#include "api/undo.hpp"

#include <array>

namespace tlflow::api {

undo_tickets::undo_tickets(clock::duration ttl, std::size_t capacity, std::size_t max_bytes)
    : ttl_(ttl), capacity_(capacity == 0 ? 1 : capacity), max_bytes_(max_bytes) {}

namespace {
// A std::map node and a string's heap block, roughly: what a property costs.
constexpr std::size_t node_overhead = 64;

std::size_t props_bytes(const properties& props) {
  std::size_t n = 0;
  for (const auto& [key, value] : props) {
    n += node_overhead + key.size();
    if (const auto* text = std::get_if<std::string>(&value)) n += text->size();
  }
  return n;
}
} // namespace

std::size_t undo_tickets::footprint(const removed_set& removed) {
  std::size_t n = sizeof(removed_set);
  if (removed.removed_vertex) n += removed.removed_vertex->id.size() + props_bytes(removed.removed_vertex->props);
  for (const edge& e : removed.edges) {
    n += sizeof(edge) + e.key.from.size() + e.key.to.size() + e.first_seen.size() + e.last_seen.size() +
         props_bytes(e.props);
    for (const auto& h : e.hashtags) n += sizeof(std::string) + h.size();
  }
  return n;
}

void undo_tickets::erase_locked(std::map<std::string, entry>::iterator it) {
  bytes_ -= it->second.bytes;
  by_ticket_.erase(it);
}

void undo_tickets::expire_locked(clock::time_point now) {
  while (!order_.empty()) {
    auto it = by_ticket_.find(order_.front());
    if (it == by_ticket_.end()) {  // already redeemed
      order_.pop_front();
      continue;
    }
    // One being redeemed is kept until its restore has succeeded or failed;
    // the newest is kept whatever its size.
    const bool within = by_ticket_.size() <= capacity_ && (bytes_ <= max_bytes_ || by_ticket_.size() == 1);
    if ((it->second.expires > now && within) || it->second.redeeming) break;
    erase_locked(it);
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
  const std::size_t cost = footprint(removed);
  by_ticket_.emplace(ticket, entry{std::move(removed), now + ttl_, cost});
  bytes_ += cost;
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
  erase_locked(it);
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
    if (it != by_ticket_.end()) erase_locked(it);
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

std::size_t undo_tickets::bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return bytes_;
}

} // namespace tlflow::api
