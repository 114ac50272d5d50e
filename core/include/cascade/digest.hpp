// 64-bit FNV-1a over a byte stream: a cheap, well-known digest to compare two event streams
// (e.g. the output of two replays). Fed in pieces it gives the same value as in one piece.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace cascade {

class Fnv1a64 {
 public:
  static constexpr std::uint64_t kOffsetBasis = 0xcbf29ce484222325ull;
  static constexpr std::uint64_t kPrime = 0x100000001b3ull;

  constexpr void update(std::span<const std::byte> bytes) noexcept {
    std::uint64_t h = h_;
    for (const std::byte b : bytes) h = (h ^ static_cast<std::uint8_t>(b)) * kPrime;
    h_ = h;
  }
  constexpr std::uint64_t value() const noexcept { return h_; }

 private:
  std::uint64_t h_ = kOffsetBasis;
};

// 16 lowercase hex digits.
inline std::string digest_hex(std::uint64_t v) {
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[static_cast<std::size_t>(i)] = "0123456789abcdef"[v & 15];
  return s;
}

}  // namespace cascade
