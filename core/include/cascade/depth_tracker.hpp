// Levels changed by the current input event, with their state before the event, so the
// engine can emit one DepthLevel per changed level after the event (and nothing for levels
// that ended where they started). Sized for the worst case: one event touches at most every
// level holding a live order plus the levels it adds orders to, so max_orders + a few.
#pragma once

#include <algorithm>
#include <cstdint>

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

  void add(InstrumentId instrument, std::uint32_t level, Qty qty, std::uint32_t count, Side side) noexcept {
    if (size_ == items_.size()) return;  // unreachable by the sizing argument above
    items_[size_++] = TouchedLevel{(std::uint64_t{instrument} << 32) | level, qty, count, side, {}};
  }

  void sort() noexcept {
    if (size_ < 2) return;  // most events touch one level
    std::sort(items_.data(), items_.data() + size_,
              [](const TouchedLevel& a, const TouchedLevel& b) { return a.key < b.key; });
  }

  std::uint32_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  const TouchedLevel& operator[](std::uint32_t i) const noexcept { return items_[i]; }
  void clear() noexcept { size_ = 0; }

 private:
  ZeroedArray<TouchedLevel> items_;
  std::uint32_t size_ = 0;
};

}  // namespace cascade
