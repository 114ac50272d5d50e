// Hierarchical 64-ary bitmap over the price levels of one book: bit i of layer 0 says level i
// is non-empty, bit w of layer k+1 says word w of layer k is non-zero. Next/previous set bit
// from any position costs at most two scans per layer (4 layers for 2^22 levels), so the
// best price after a level drains is found without walking empty levels.
#pragma once

#include <bit>
#include <cstdint>

#include "cascade/zeroed_array.hpp"

namespace cascade {

class LevelBitmap {
 public:
  static constexpr std::uint32_t kNone = UINT32_MAX;
  static constexpr int kMaxLayers = 6;  // 64^6 > 2^32

  void commit() noexcept { words_.commit(); }

  bool init(std::uint32_t n) noexcept {
    n_ = n;
    layers_ = 0;
    std::uint64_t total = 0;
    std::uint64_t bits = n ? n : 1;
    do {
      const std::uint64_t words = (bits + 63) / 64;
      offset_[layers_] = total;
      size_[layers_] = words;
      total += words;
      ++layers_;
      bits = words;
    } while (bits > 1);
    return words_.allocate(total);
  }

  std::uint32_t size() const noexcept { return n_; }
  bool empty() const noexcept { return words_[offset_[layers_ - 1]] == 0; }

  bool test(std::uint32_t i) const noexcept {
    return (words_[offset_[0] + (i >> 6)] >> (i & 63)) & 1u;
  }

  void set(std::uint32_t i) noexcept {
    std::uint64_t pos = i;
    for (int l = 0; l < layers_; ++l) {
      std::uint64_t& w = words_[offset_[l] + (pos >> 6)];
      const bool was_empty = w == 0;
      w |= std::uint64_t{1} << (pos & 63);
      if (!was_empty) return;  // parents already say this word is non-empty
      pos >>= 6;
    }
  }

  void clear(std::uint32_t i) noexcept {
    std::uint64_t pos = i;
    for (int l = 0; l < layers_; ++l) {
      std::uint64_t& w = words_[offset_[l] + (pos >> 6)];
      w &= ~(std::uint64_t{1} << (pos & 63));
      if (w != 0) return;
      pos >>= 6;
    }
  }

  // Smallest / largest set index, or kNone: next(0) and prev(n - 1) straight down from the
  // top word, without climbing first.
  std::uint32_t first() const noexcept {
    std::uint64_t pos = 0;
    for (int l = layers_ - 1; l >= 0; --l) {
      const std::uint64_t w = words_[offset_[l] + pos];
      if (w == 0) return kNone;  // only the top word can be empty
      pos = (pos << 6) + static_cast<std::uint64_t>(std::countr_zero(w));
    }
    return static_cast<std::uint32_t>(pos);
  }
  std::uint32_t last() const noexcept {
    std::uint64_t pos = 0;
    for (int l = layers_ - 1; l >= 0; --l) {
      const std::uint64_t w = words_[offset_[l] + pos];
      if (w == 0) return kNone;
      pos = (pos << 6) + 63 - static_cast<std::uint64_t>(std::countl_zero(w));
    }
    return static_cast<std::uint32_t>(pos);
  }

  // Smallest set index >= i, or kNone.
  std::uint32_t next(std::uint64_t i) const noexcept {
    if (i >= n_) return kNone;
    std::uint64_t pos = i;
    for (int l = 0; l < layers_; ++l) {
      const std::uint64_t w = pos >> 6;
      if (w >= size_[l]) return kNone;
      const std::uint64_t m = words_[offset_[l] + w] & (~std::uint64_t{0} << (pos & 63));
      if (m != 0) {
        pos = (w << 6) + static_cast<std::uint64_t>(std::countr_zero(m));
        for (int d = l - 1; d >= 0; --d)
          pos = (pos << 6) + static_cast<std::uint64_t>(std::countr_zero(words_[offset_[d] + pos]));
        return static_cast<std::uint32_t>(pos);
      }
      pos = w + 1;
    }
    return kNone;
  }

  // Largest set index <= i, or kNone.
  std::uint32_t prev(std::uint64_t i) const noexcept {
    if (n_ == 0) return kNone;
    std::uint64_t pos = i < n_ ? i : n_ - 1;
    for (int l = 0; l < layers_; ++l) {
      const std::uint64_t w = pos >> 6;
      const unsigned b = pos & 63;
      const std::uint64_t keep = b == 63 ? ~std::uint64_t{0} : (std::uint64_t{2} << b) - 1;
      const std::uint64_t m = words_[offset_[l] + w] & keep;
      if (m != 0) {
        pos = (w << 6) + 63 - static_cast<std::uint64_t>(std::countl_zero(m));
        for (int d = l - 1; d >= 0; --d)
          pos = (pos << 6) + 63 - static_cast<std::uint64_t>(std::countl_zero(words_[offset_[d] + pos]));
        return static_cast<std::uint32_t>(pos);
      }
      if (w == 0) return kNone;
      pos = w - 1;
    }
    return kNone;
  }

  std::uint64_t words() const noexcept { return words_.size(); }

 private:
  ZeroedArray<std::uint64_t> words_;
  std::uint64_t offset_[kMaxLayers]{};
  std::uint64_t size_[kMaxLayers]{};
  int layers_ = 0;
  std::uint32_t n_ = 0;
};

}  // namespace cascade
