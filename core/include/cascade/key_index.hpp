// Non-zero u64 key -> u32 value (0 = absent): open addressing, linear probing, backward-shift
// deletion (no tombstones, so probe lengths never degrade under churn). Capacity is a power
// of two at least twice the entries, so the load factor stays <= 0.5. Key 0 marks an empty
// slot. The position table's (account, instrument) index; order ids have their own, half as
// large, in order_index.hpp.
#pragma once

#include <bit>
#include <cstdint>

#include "cascade/backward_shift.hpp"
#include "cascade/zeroed_array.hpp"

namespace cascade {

class KeyIndex {
 public:
  struct Slot {
    std::uint64_t key;
    std::uint32_t value;
    std::uint32_t pad0;
  };
  static_assert(sizeof(Slot) == 16);

  bool init(std::uint32_t max_entries, bool huge_pages = false) noexcept {
    std::uint64_t cap = std::bit_ceil(std::uint64_t{max_entries} * 2);
    if (cap < 16) cap = 16;
    mask_ = cap - 1;
    shift_ = 64 - static_cast<unsigned>(std::countr_zero(cap));
    size_ = 0;
    return slots_.allocate(cap, huge_pages);
  }

  std::uint32_t find(std::uint64_t key) const noexcept {
    for (std::uint64_t i = home(key);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == key) return s.value;
      if (s.key == 0) return 0;
    }
  }

  // A hint that find(key) comes soon: loads the key's home slot.
  void prefetch(std::uint64_t key) const noexcept { __builtin_prefetch(&slots_[home(key)]); }

  // key must be absent and non-zero, value non-zero.
  void insert(std::uint64_t key, std::uint32_t value) noexcept {
    std::uint64_t i = home(key);
    while (slots_[i].key != 0) i = (i + 1) & mask_;
    slots_[i] = Slot{key, value, 0};
    ++size_;
  }

  void erase(std::uint64_t key) noexcept {
    std::uint64_t i = home(key);
    while (slots_[i].key != key) {
      if (slots_[i].key == 0) return;
      i = (i + 1) & mask_;
    }
    backward_shift_erase(
        slots_.data(), mask_, i, [](const Slot& s) { return s.key == 0; },
        [this](const Slot& s) { return home(s.key); });
    --size_;
  }

  void commit() noexcept { slots_.commit(); }

  std::uint64_t capacity() const noexcept { return mask_ + 1; }
  std::uint64_t size() const noexcept { return size_; }
  std::uint64_t home(std::uint64_t key) const noexcept {
    return (key * 0x9E3779B97F4A7C15ull) >> shift_;  // Fibonacci hashing: sequential keys spread
  }

 private:
  ZeroedArray<Slot> slots_;
  std::uint64_t mask_ = 0;
  unsigned shift_ = 64;
  std::uint64_t size_ = 0;
};

}  // namespace cascade
