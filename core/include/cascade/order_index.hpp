// Order id -> pool index: open addressing, linear probing, backward-shift deletion (no
// tombstones, so probe lengths never degrade under churn). Capacity is a power of two at
// least twice the order pool (at most 2^32), so the load factor stays <= 0.5.
//
// A slot is 8 bytes: the pool index and a 32-bit tag, the top half of the id's hash. The id
// itself is not stored: a lookup compares tags and confirms a match with the id in the
// order's node, which the caller reads next anyway, so a hit costs no extra miss and the
// table is half the size a stored id would make it. The home slot is the hash's top
// log2(capacity) bits, which the tag holds, so deletion's backward shift finds every
// entry's home without reading its node. Pool index 0 (kNilOrder) marks an empty slot.
#pragma once

#include <bit>
#include <cstdint>

#include "cascade/backward_shift.hpp"
#include "cascade/order_pool.hpp"
#include "cascade/types.hpp"
#include "cascade/zeroed_array.hpp"

namespace cascade {

class OrderIndex {
 public:
  struct Slot {
    OrderIdx idx;
    std::uint32_t tag;
  };
  static_assert(sizeof(Slot) == 8);

  // pool: where the ids of the indexed orders are read; it must outlive the index.
  bool init(std::uint32_t max_orders, const OrderPool* pool, bool huge_pages = false) noexcept {
    std::uint64_t cap = std::bit_ceil(std::uint64_t{max_orders} * 2);
    if (cap < 16) cap = 16;
    // The tag holds the home only up to 2^32 slots. Pool indices stop at 2^32 - 1, so a
    // table clamped there still keeps an empty slot (only above 2^31 orders, 128 GiB of pool).
    if (cap > (std::uint64_t{1} << 32)) cap = std::uint64_t{1} << 32;
    mask_ = cap - 1;
    shift_ = 64 - static_cast<unsigned>(std::countr_zero(cap));
    size_ = 0;
    pool_ = pool;
    return slots_.allocate(cap, huge_pages);
  }

  OrderIdx find(OrderId id) const noexcept {
    const std::uint64_t h = hash(id);
    const auto tag = static_cast<std::uint32_t>(h >> 32);
    for (std::uint64_t i = h >> shift_;; i = (i + 1) & mask_) {
      const Slot s = slots_[i];
      if (s.idx == kNilOrder) return kNilOrder;
      if (s.tag == tag && (*pool_)[s.idx].id == id) return s.idx;
    }
  }

  // The node find(id) would most likely return, without reading any node: the first slot
  // whose tag matches. A prefetch hint only (rarely another order's node, or a miss).
  OrderIdx candidate(OrderId id) const noexcept {
    const std::uint64_t h = hash(id);
    const auto tag = static_cast<std::uint32_t>(h >> 32);
    for (std::uint64_t i = h >> shift_;; i = (i + 1) & mask_) {
      const Slot s = slots_[i];
      if (s.idx == kNilOrder || s.tag == tag) return s.idx;
    }
  }

  // A hint that find(id) comes soon: loads the id's home slot.
  void prefetch(OrderId id) const noexcept { __builtin_prefetch(&slots_[hash(id) >> shift_]); }

  // id must be absent and non-zero, idx the live node holding it.
  void insert(OrderId id, OrderIdx idx) noexcept {
    const std::uint64_t h = hash(id);
    std::uint64_t i = h >> shift_;
    while (slots_[i].idx != kNilOrder) i = (i + 1) & mask_;
    slots_[i] = Slot{idx, static_cast<std::uint32_t>(h >> 32)};
    ++size_;
  }

  // Removes the entry of node idx, which holds id (a pool index is in one slot at most, so
  // no node is read).
  void erase(OrderId id, OrderIdx idx) noexcept {
    std::uint64_t i = hash(id) >> shift_;
    while (slots_[i].idx != idx) {
      if (slots_[i].idx == kNilOrder) return;
      i = (i + 1) & mask_;
    }
    const unsigned tag_shift = shift_ - 32;
    backward_shift_erase(
        slots_.data(), mask_, i, [](const Slot& s) { return s.idx == kNilOrder; },
        [tag_shift](const Slot& s) { return std::uint64_t{s.tag} >> tag_shift; });
    --size_;
  }

  void commit() noexcept { slots_.commit(); }

  std::uint64_t capacity() const noexcept { return mask_ + 1; }
  std::uint64_t size() const noexcept { return size_; }
  std::uint64_t home(OrderId id) const noexcept { return hash(id) >> shift_; }

 private:
  // Fibonacci hashing: sequential ids spread over the whole table.
  static std::uint64_t hash(OrderId id) noexcept { return id * 0x9E3779B97F4A7C15ull; }

  ZeroedArray<Slot> slots_;
  const OrderPool* pool_ = nullptr;
  std::uint64_t mask_ = 0;
  unsigned shift_ = 64;
  std::uint64_t size_ = 0;
};

}  // namespace cascade
