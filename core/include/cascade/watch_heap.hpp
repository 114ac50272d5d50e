// One side of an instrument's maintenance watch: a binary min-heap of (key, position) with
// each position remembering its slot, so a key changes or leaves in O(log n). A mark update
// pops only the entries whose key it crossed; positions far from their limits are never
// looked at (docs/margin.md, "Maintenance watch").
#pragma once

#include <cstdint>

#include "cascade/positions.hpp"
#include "cascade/types.hpp"
#include "cascade/zeroed_array.hpp"

namespace cascade {

class WatchHeap {
 public:
  struct Entry {
    Price key;
    PosIdx pos;
    std::uint32_t pad0;
  };
  static_assert(sizeof(Entry) == 16);

  // slot: the Position field holding this heap's 1-based slot (0 = absent).
  bool init(std::uint32_t capacity, Position* records, std::uint32_t Position::*slot) noexcept {
    records_ = records;
    slot_ = slot;
    size_ = 0;
    if (entries_.size() == std::size_t{capacity} + 1) return true;
    return entries_.allocate(std::size_t{capacity} + 1);
  }
  void rebind(Position* records) noexcept { records_ = records; }
  void commit() noexcept { entries_.commit(); }

  std::uint32_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  const Entry& top() const noexcept { return entries_[1]; }
  // A hint that the entry at 1-based slot i (0 = none) changes soon.
  void prefetch_slot(std::uint32_t i) const noexcept {
    if (i != 0) __builtin_prefetch(&entries_[i]);
  }

  // Inserts the position or moves its key.
  void set(PosIdx p, Price key) noexcept {
    std::uint32_t i = records_[p].*slot_;
    if (i == 0) {
      i = ++size_;
      entries_[i] = Entry{key, p, 0};
      records_[p].*slot_ = i;
      up(i);
      return;
    }
    const Price old = entries_[i].key;
    entries_[i].key = key;
    if (key < old) up(i); else down(i);
  }

  void erase(PosIdx p) noexcept {
    const std::uint32_t i = records_[p].*slot_;
    if (i == 0) return;
    records_[p].*slot_ = 0;
    const Entry last = entries_[size_--];
    if (i > size_) return;  // it was the last entry
    entries_[i] = last;
    records_[last.pos].*slot_ = i;
    const std::uint32_t parent = i / 2;
    if (parent >= 1 && last.key < entries_[parent].key) up(i); else down(i);
  }

 private:
  void place(std::uint32_t i, const Entry& e) noexcept {
    entries_[i] = e;
    records_[e.pos].*slot_ = i;
  }
  void up(std::uint32_t i) noexcept {
    const Entry e = entries_[i];
    while (i > 1 && e.key < entries_[i / 2].key) {
      place(i, entries_[i / 2]);
      i /= 2;
    }
    place(i, e);
  }
  void down(std::uint32_t i) noexcept {
    const Entry e = entries_[i];
    for (;;) {
      std::uint32_t c = 2 * i;
      if (c > size_) break;
      if (c + 1 <= size_ && entries_[c + 1].key < entries_[c].key) ++c;
      if (!(entries_[c].key < e.key)) break;
      place(i, entries_[c]);
      i = c;
    }
    place(i, e);
  }

  ZeroedArray<Entry> entries_;  // 1-based
  Position* records_ = nullptr;
  std::uint32_t Position::*slot_ = nullptr;
  std::uint32_t size_ = 0;
};

}  // namespace cascade
