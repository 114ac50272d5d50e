// Levels changed by the current input event, with their state before the event, so the
// engine can emit one DepthLevel per changed level after the event (and nothing for levels
// that ended where they started). Sized for the worst case: one event touches at most every
// level holding a live order plus the levels it adds orders to, so max_orders + a few.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>

#include "cascade/types.hpp"
#include "cascade/zeroed_array.hpp"

namespace cascade {

struct TouchedLevel {
  std::uint64_t key;  // instrument << 32 | level index: sorting gives the emission order
  Qty start_qty;
  std::uint32_t start_count;
  Side start_side;    // side of the level's orders before the event (valid if start_count > 0)
  std::uint8_t pad0[3];
};
static_assert(sizeof(TouchedLevel) == 24);

class DepthTracker {
 public:
  bool init(std::size_t capacity) noexcept {
    size_ = 0;
    return items_.allocate(capacity);
  }
  void commit() noexcept { items_.commit(); }

  void add(InstrumentId instrument, std::uint32_t level, Qty qty, std::uint32_t count, Side side) noexcept {
    if (size_ == items_.size()) return;  // unreachable by the sizing argument above
    items_[size_++] = TouchedLevel{(std::uint64_t{instrument} << 32) | level, qty, count, side, {}};
  }

  // Keys are distinct (a level is recorded once per event), so any sort gives the same order.
  void sort() noexcept {
    if (size_ < 2) return;  // most events touch one level
    TouchedLevel* const a = items_.data();
    if (size_ == 2) {  // a fill and the taker's own level: one compare, no sort set-up
      if (a[1].key < a[0].key) std::swap(a[0], a[1]);
      return;
    }
    if (size_ > kInsertionMax) {
      std::sort(a, a + size_, [](const TouchedLevel& x, const TouchedLevel& y) { return x.key < y.key; });
      return;
    }
    for (std::uint32_t i = 1; i < size_; ++i) {  // a few levels, often already in order
      const TouchedLevel t = a[i];
      std::uint32_t j = i;
      for (; j > 0 && t.key < a[j - 1].key; --j) a[j] = a[j - 1];
      a[j] = t;
    }
  }

  std::uint32_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  const TouchedLevel& operator[](std::uint32_t i) const noexcept { return items_[i]; }
  void clear() noexcept { size_ = 0; }

 private:
  static constexpr std::uint32_t kInsertionMax = 16;

  ZeroedArray<TouchedLevel> items_;
  std::uint32_t size_ = 0;
};

}  // namespace cascade
