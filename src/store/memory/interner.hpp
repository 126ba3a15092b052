// String interning for the memory store: every vertex id, hashtag and
// property string is stored once and referred to by a small integer.
//
// Id 0 means "no string". Views returned by str() stay valid for the life of
// the interner (strings live in fixed blocks that never move). Strings are
// never freed: an interner only grows until the store is reloaded from a
// snapshot, which re-interns live strings only. Not thread-safe; the store's
// lock guards it.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace tlflow::mem {

class interner {
public:
  interner() {
    entries_.push_back({nullptr, 0});
    table_.assign(1024, 0);
  }

  // 0 when absent.
  std::uint32_t find(std::string_view s) const noexcept {
    const std::size_t mask = table_.size() - 1;
    for (std::size_t i = hash(s) & mask;; i = (i + 1) & mask) {
      const std::uint32_t id = table_[i];
      if (id == 0) return 0;
      if (str(id) == s) return id;
    }
  }

  std::uint32_t intern(std::string_view s) {
    const std::size_t mask = table_.size() - 1;
    std::size_t i = hash(s) & mask;
    for (;; i = (i + 1) & mask) {
      const std::uint32_t id = table_[i];
      if (id == 0) break;
      if (str(id) == s) return id;
    }
    const auto id = static_cast<std::uint32_t>(entries_.size());
    entries_.push_back({store(s), static_cast<std::uint32_t>(s.size())});
    table_[i] = id;
    if (entries_.size() * 2 > table_.size()) grow();
    return id;
  }

  std::string_view str(std::uint32_t id) const noexcept {
    const entry& e = entries_[id];
    return {e.data, e.size};
  }

  // Number of ids handed out, plus one for id 0.
  std::size_t size() const noexcept { return entries_.size(); }

  std::size_t memory_bytes() const noexcept {
    return bytes_ + entries_.capacity() * sizeof(entry) + table_.capacity() * sizeof(std::uint32_t);
  }

private:
  struct entry {
    const char* data;
    std::uint32_t size;
  };
  static constexpr std::size_t block_size = 1 << 20;

  static std::size_t hash(std::string_view s) noexcept {
    // FNV-1a, then a final mix so linear probing sees spread-out low bits.
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) { h ^= c; h *= 1099511628211ull; }
    h ^= h >> 29; h *= 0xbf58476d1ce4e5b9ull; h ^= h >> 32;
    return static_cast<std::size_t>(h);
  }

  const char* store(std::string_view s) {
    if (s.empty()) return "";
    if (s.size() > block_size / 4) { // big strings get a block of their own
      blocks_.emplace_back(new char[s.size()]);
      std::memcpy(blocks_.back().get(), s.data(), s.size());
      bytes_ += s.size();
      return blocks_.back().get();
    }
    if (blocks_.empty() || used_ + s.size() > block_size || current_ == nullptr) {
      blocks_.emplace_back(new char[block_size]);
      current_ = blocks_.back().get();
      used_ = 0;
      bytes_ += block_size;
    }
    char* p = current_ + used_;
    std::memcpy(p, s.data(), s.size());
    used_ += s.size();
    return p;
  }

  void grow() {
    std::vector<std::uint32_t> t(table_.size() * 2, 0);
    const std::size_t mask = t.size() - 1;
    for (std::uint32_t id = 1; id < entries_.size(); ++id) {
      std::size_t i = hash(str(id)) & mask;
      while (t[i] != 0) i = (i + 1) & mask;
      t[i] = id;
    }
    table_.swap(t);
  }

  std::vector<entry> entries_;
  std::vector<std::uint32_t> table_; // open addressing, ids, 0 = empty
  std::vector<std::unique_ptr<char[]>> blocks_;
  char* current_ = nullptr;
  std::size_t used_ = 0;
  std::size_t bytes_ = 0;
};

} // namespace tlflow::mem
