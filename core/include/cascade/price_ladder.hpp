// Price levels of one book in a flat array indexed by (price - min_price) / tick, one array
// for both sides (the book is never crossed: every bid level lies below every ask level),
// plus a hierarchical bitmap of the non-empty levels. No node-based map anywhere.
#pragma once

#include <cstdint>

#include "cascade/level_bitmap.hpp"
#include "cascade/order_pool.hpp"
#include "cascade/types.hpp"
#include "cascade/zeroed_array.hpp"

namespace cascade {

// 24 bytes: a 2^22-level book is 96 MiB of address space, of which only the pages around
// prices that ever held an order are committed (calloc).
struct Level {
  OrderIdx head;        // oldest order (kNilOrder when empty)
  OrderIdx tail;        // newest order
  std::uint32_t count;  // orders at this level
  std::uint8_t touched;  // 1 while recorded by the current event's depth tracking
  // Side of the orders while count > 0 (the book never crosses, so a level holds one side):
  // depth tracking reads it here instead of from the head order, a cold node on deep levels.
  Side side;
  std::uint16_t pad0;
  Qty qty;              // total open quantity
};
static_assert(sizeof(Level) == 24);

class PriceLadder {
 public:
  static constexpr std::uint32_t kNone = LevelBitmap::kNone;

  bool init(std::uint32_t levels) noexcept { return levels_.allocate(levels) && bits_.init(levels); }
  void commit() noexcept {
    levels_.commit();
    bits_.commit();
  }

  std::uint32_t size() const noexcept { return static_cast<std::uint32_t>(levels_.size()); }
  Level& operator[](std::uint32_t i) noexcept { return levels_[i]; }
  const Level& operator[](std::uint32_t i) const noexcept { return levels_[i]; }

  void mark_non_empty(std::uint32_t i) noexcept { bits_.set(i); }
  void mark_empty(std::uint32_t i) noexcept { bits_.clear(i); }
  // Nearest non-empty level strictly above / below i.
  std::uint32_t above(std::uint32_t i) const noexcept { return bits_.next(std::uint64_t{i} + 1); }
  std::uint32_t below(std::uint32_t i) const noexcept { return i == 0 ? kNone : bits_.prev(i - 1); }
  const LevelBitmap& bitmap() const noexcept { return bits_; }

 private:
  ZeroedArray<Level> levels_;
  LevelBitmap bits_;
};

}  // namespace cascade
