// The cascade's queue of units below maintenance (docs/liquidation.md, "The cascade loop"):
// first in, first out, each unit tagged with the depth at which it was found. A unit is in
// the queue at most once (the margin engine's kQueued flags), so accounts plus position
// records bound its size and the ring never grows.
#pragma once

#include <cstdint>

#include "cascade/positions.hpp"
#include "cascade/types.hpp"
#include "cascade/zeroed_array.hpp"

namespace cascade {

struct LiquidationUnit {
  AccountId account;
  PosIdx pos;                 // kNilPos: the cross unit
  InstrumentId instrument;    // kAllInstruments for the cross unit
  std::uint32_t depth;
  // Unit order: (account, instrument), a cross unit after the account's isolated ones.
  std::uint64_t key() const noexcept { return (std::uint64_t{account} << 32) | instrument; }
};
static_assert(sizeof(LiquidationUnit) == 16);

class LiquidationQueue {
 public:
  bool init(std::size_t capacity) noexcept {
    head_ = size_ = 0;
    return ring_.allocate(capacity);
  }
  void commit() noexcept { ring_.commit(); }
  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }
  void push(const LiquidationUnit& u) noexcept {
    std::size_t t = head_ + size_;
    if (t >= ring_.size()) t -= ring_.size();
    ring_[t] = u;
    ++size_;
  }
  LiquidationUnit pop() noexcept {
    const LiquidationUnit u = ring_[head_];
    if (++head_ == ring_.size()) head_ = 0;
    --size_;
    return u;
  }

 private:
  ZeroedArray<LiquidationUnit> ring_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace cascade
