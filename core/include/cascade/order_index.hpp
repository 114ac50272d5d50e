// Order id -> pool index: open addressing, linear probing, backward-shift deletion (no
// tombstones, so probe lengths never degrade under churn). Capacity is a power of two at
// least twice the order pool, so the load factor stays <= 0.5. Id 0 marks an empty slot
// (id 0 is never accepted).
#pragma once

#include <bit>
#include <cstdint>

#include "cascade/order_pool.hpp"
#include "cascade/types.hpp"
#include "cascade/zeroed_array.hpp"

namespace cascade {

class OrderIndex {
 public:
  struct Slot {
    OrderId id;
    OrderIdx idx;
    std::uint32_t pad0;
  };
  static_assert(sizeof(Slot) == 16);

  bool init(std::uint32_t max_orders, bool huge_pages = false) noexcept {
    std::uint64_t cap = std::bit_ceil(std::uint64_t{max_orders} * 2);
    if (cap < 16) cap = 16;
    mask_ = cap - 1;
    shift_ = 64 - static_cast<unsigned>(std::countr_zero(cap));
    size_ = 0;
    return slots_.allocate(cap, huge_pages);
  }

  OrderIdx find(OrderId id) const noexcept {
    for (std::uint64_t i = home(id);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id == id) return s.idx;
      if (s.id == 0) return kNilOrder;
    }
  }

  // A hint that find(id) comes soon: loads the id's home slot.
  void prefetch(OrderId id) const noexcept { __builtin_prefetch(&slots_[home(id)]); }

  // id must be absent and non-zero.
  void insert(OrderId id, OrderIdx idx) noexcept {
    std::uint64_t i = home(id);
    while (slots_[i].id != 0) i = (i + 1) & mask_;
    slots_[i] = Slot{id, idx, 0};
    ++size_;
  }

  void erase(OrderId id) noexcept {
    std::uint64_t i = home(id);
    while (slots_[i].id != id) {
      if (slots_[i].id == 0) return;
      i = (i + 1) & mask_;
    }
    // Pull later members of the probe run back into the hole unless their home lies
    // cyclically in (hole, j]; then no lookup ever crosses an empty slot it should not.
    std::uint64_t j = i;
    for (;;) {
      j = (j + 1) & mask_;
      if (slots_[j].id == 0) break;
      const std::uint64_t k = home(slots_[j].id);
      const bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
      if (stays) continue;
      slots_[i] = slots_[j];
      i = j;
    }
    slots_[i] = Slot{};
    --size_;
  }

  void commit() noexcept { slots_.commit(); }

  std::uint64_t capacity() const noexcept { return mask_ + 1; }
  std::uint64_t size() const noexcept { return size_; }
  std::uint64_t home(OrderId id) const noexcept {
    return (id * 0x9E3779B97F4A7C15ull) >> shift_;  // Fibonacci hashing: sequential ids spread
  }

 private:
  ZeroedArray<Slot> slots_;
  std::uint64_t mask_ = 0;
  unsigned shift_ = 64;
  std::uint64_t size_ = 0;
};

}  // namespace cascade
