// Deletion for open addressing with linear probing, shared by the order id index and the
// (account, instrument) index: no tombstones, so probe lengths never degrade under churn.
#pragma once

#include <cstdint>

namespace cascade {

// Empties slot `hole` of a power-of-two table (mask = capacity - 1), pulling later members of
// its probe run back into the hole unless their home lies cyclically in (hole, j]; then no
// lookup ever crosses an empty slot it should not. A value-initialised Slot is empty.
template <class Slot, class IsEmpty, class HomeOf>
inline void backward_shift_erase(Slot* slots, std::uint64_t mask, std::uint64_t hole, IsEmpty is_empty,
                                 HomeOf home_of) noexcept {
  std::uint64_t j = hole;
  for (;;) {
    j = (j + 1) & mask;
    if (is_empty(slots[j])) break;
    const std::uint64_t k = home_of(slots[j]);
    const bool stays = hole <= j ? (hole < k && k <= j) : (hole < k || k <= j);
    if (stays) continue;
    slots[hole] = slots[j];
    hole = j;
  }
  slots[hole] = Slot{};
}

}  // namespace cascade
