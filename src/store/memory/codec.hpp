// Binary encoding shared by the write-ahead log and the snapshot: little
// endian integers, LEB128 lengths, tagged property values. The reader never
// reads past its input: any malformed or truncated input sets `ok() == false`
// and yields zeros / empty values from then on.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "tlflow/model.hpp"

namespace tlflow::mem {

class bin_writer {
public:
  void u8(std::uint8_t v) { buf_.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) buf_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
  void u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) buf_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      buf_.push_back(static_cast<char>((v & 0x7F) | 0x80));
      v >>= 7;
    }
    buf_.push_back(static_cast<char>(v));
  }
  void str(std::string_view s) {
    varint(s.size());
    buf_.append(s.data(), s.size());
  }
  void value(const property_value& v) {
    if (auto* s = std::get_if<std::string>(&v)) {
      u8(0);
      str(*s);
    } else if (auto* i = std::get_if<std::int64_t>(&v)) {
      u8(1);
      u64(static_cast<std::uint64_t>(*i));
    } else if (auto* d = std::get_if<double>(&v)) {
      u8(2);
      std::uint64_t bits = 0;
      std::memcpy(&bits, d, sizeof bits);
      u64(bits);
    } else {
      u8(3);
      u8(std::get<bool>(v) ? 1 : 0);
    }
  }
  void props(const properties& p) {
    varint(p.size());
    for (const auto& [k, v] : p) {
      str(k);
      value(v);
    }
  }
  std::string& buffer() noexcept { return buf_; }
  std::size_t size() const noexcept { return buf_.size(); }
  void clear() noexcept { buf_.clear(); }

private:
  std::string buf_;
};

class bin_reader {
public:
  explicit bin_reader(std::string_view data) : d_(data) {}
  bool ok() const noexcept { return ok_; }
  bool at_end() const noexcept { return pos_ == d_.size(); }
  std::size_t position() const noexcept { return pos_; }

  std::uint8_t u8() {
    if (!need(1)) return 0;
    return static_cast<std::uint8_t>(d_[pos_++]);
  }
  std::uint32_t u32() {
    if (!need(4)) return 0;
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i)
      v |= static_cast<std::uint32_t>(static_cast<unsigned char>(d_[pos_ + i])) << (8 * i);
    pos_ += 4;
    return v;
  }
  std::uint64_t u64() {
    if (!need(8)) return 0;
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i)
      v |= static_cast<std::uint64_t>(static_cast<unsigned char>(d_[pos_ + i])) << (8 * i);
    pos_ += 8;
    return v;
  }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (!need(1)) return 0;
      const auto b = static_cast<unsigned char>(d_[pos_++]);
      v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return v;
    }
    ok_ = false;
    return 0;
  }
  std::string_view str() {
    const std::uint64_t n = varint();
    if (!need(n)) return {};
    std::string_view s = d_.substr(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return s;
  }
  property_value value() {
    switch (u8()) {
      case 0: return std::string(str());
      case 1: return static_cast<std::int64_t>(u64());
      case 2: {
        const std::uint64_t bits = u64();
        double d = 0;
        std::memcpy(&d, &bits, sizeof d);
        return d;
      }
      case 3: return u8() != 0;
      default: ok_ = false; return false;
    }
  }
  properties props() {
    properties p;
    const std::uint64_t n = varint();
    for (std::uint64_t i = 0; i < n && ok_; ++i) {
      std::string k(str());
      property_value v = value();
      if (ok_) p.insert_or_assign(std::move(k), std::move(v));
    }
    return p;
  }
  std::optional<edge_kind> kind() {
    const std::uint8_t k = u8();
    if (k > static_cast<std::uint8_t>(edge_kind::link)) {
      ok_ = false;
      return std::nullopt;
    }
    return static_cast<edge_kind>(k);
  }

private:
  bool need(std::uint64_t n) {
    if (!ok_ || n > d_.size() - pos_) {
      ok_ = false;
      return false;
    }
    return true;
  }
  std::string_view d_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

} // namespace tlflow::mem
