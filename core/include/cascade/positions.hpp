// Position records: one per (account, instrument) pair that has a position, live orders,
// isolated margin or an explicit margin mode. A preallocated pool addressed by u32 index
// (0 = nil), an open-addressing (account, instrument) -> record index, and per-account
// intrusive lists. No node containers, nothing allocated after init().
#pragma once

#include <cstdint>

#include "cascade/zeroed_array.hpp"
#include "cascade/key_index.hpp"
#include "cascade/types.hpp"

namespace cascade {

using PosIdx = std::uint32_t;
inline constexpr PosIdx kNilPos = 0;

namespace position_flags {
inline constexpr std::uint8_t kIsolated = 1;      // effective margin mode
inline constexpr std::uint8_t kExplicitMode = 2;  // set per instrument, not from the account default
inline constexpr std::uint8_t kBelow = 4;         // isolated position below its maintenance margin
inline constexpr std::uint8_t kArmed = 8;         // watch_lo/watch_hi hold a certified range
inline constexpr std::uint8_t kCandidate = 16;    // isolated unit found below, awaiting detection
inline constexpr std::uint8_t kQueued = 32;       // isolated unit in the liquidation queue
}  // namespace position_flags

// Two cache lines. Line 0 is what fills and pre-trade checks read and write; line 1 is
// bookkeeping and the maintenance watch, touched once per event per account at most.
struct alignas(64) Position {
  // line 0
  Qty size;             // signed: > 0 long
  Money entry;          // E: signed cost basis of the open position
  Money isolated;       // B: isolated margin (0 in cross mode)
  Money open_buy;       // Nbuy: sum of value(price, open qty) over live non-reduce-only buys
  Money open_sell;      // Nsell
  Qty reduce_only;      // open reduce-only quantity: > 0 on the sell side, < 0 on the buy side
  AccountId account;
  InstrumentId instrument;
  PosIdx acct_next;     // the account's records, most recently created first
  PosIdx acct_prev;
  // line 1
  Qty open_buy_qty;     // open quantity of those buys (bounds the position the orders can reach)
  Qty open_sell_qty;
  Price watch_lo;       // the mark range in which this position cannot take its margin unit
  Price watch_hi;       // below maintenance (docs/margin.md, "Maintenance watch")
  std::uint32_t heap_lo;  // slots in the instrument's watch heaps, 0 = not there
  std::uint32_t heap_hi;
  std::uint32_t holder;   // slot in the instrument's holder list, 0 = size is 0
  std::uint32_t orders;   // live orders of the account on the instrument
  std::uint8_t flags;     // position_flags
  std::uint8_t pad0[15];
};
static_assert(sizeof(Position) == 128, "two cache lines per position record");

class PositionTable {
 public:
  bool init(std::uint32_t capacity) noexcept {
    capacity_ = capacity;
    free_head_ = kNilPos;
    high_water_ = 1;
    used_ = 0;
    return records_.allocate(std::size_t{capacity} + 1) && index_.init(capacity);
  }
  void commit() noexcept {
    records_.commit();
    index_.commit();
  }

  PosIdx find(AccountId a, InstrumentId i) const noexcept { return index_.find(key(a, i)); }
  void prefetch(AccountId a, InstrumentId i) const noexcept { index_.prefetch(key(a, i)); }
  // Both lines of the record find(a, i) names, if any (the slot should be in cache by now).
  void prefetch_record(AccountId a, InstrumentId i) const noexcept {
    const PosIdx p = find(a, i);
    if (p != kNilPos) prefetch_record(p);
  }
  void prefetch_record(PosIdx p) const noexcept {  // both lines: an order's change writes both
    __builtin_prefetch(&records_[p]);
    __builtin_prefetch(reinterpret_cast<const char*>(&records_[p]) + 64);
  }

  // A new zeroed record linked at the head of the account's list (*head); kNilPos when full.
  PosIdx create(AccountId a, InstrumentId i, PosIdx& head) noexcept {
    PosIdx p;
    if (free_head_ != kNilPos) {
      p = free_head_;
      free_head_ = records_[p].acct_next;
    } else if (high_water_ <= capacity_) {
      p = high_water_++;
    } else {
      return kNilPos;
    }
    ++used_;
    Position& r = records_[p];
    r = Position{};
    r.account = a;
    r.instrument = i;
    r.acct_next = head;
    if (head != kNilPos) records_[head].acct_prev = p;
    head = p;
    index_.insert(key(a, i), p);
    return p;
  }

  void release(PosIdx p, PosIdx& head) noexcept {
    Position& r = records_[p];
    if (r.acct_prev != kNilPos) records_[r.acct_prev].acct_next = r.acct_next; else head = r.acct_next;
    if (r.acct_next != kNilPos) records_[r.acct_next].acct_prev = r.acct_prev;
    index_.erase(key(r.account, r.instrument));
    r = Position{};
    r.acct_next = free_head_;
    free_head_ = p;
    --used_;
  }

  Position& operator[](PosIdx p) noexcept { return records_[p]; }
  const Position& operator[](PosIdx p) const noexcept { return records_[p]; }
  Position* data() noexcept { return records_.data(); }
  std::uint32_t used() const noexcept { return used_; }
  std::uint32_t capacity() const noexcept { return capacity_; }

 private:
  // Never 0 (the index's empty mark): instrument ids stop below kAllInstruments.
  static std::uint64_t key(AccountId a, InstrumentId i) noexcept {
    return ((std::uint64_t{a} << 32) | i) + 1;
  }

  ZeroedArray<Position> records_;  // page-aligned, so each record is two whole cache lines
  KeyIndex index_;
  std::uint32_t capacity_ = 0;
  PosIdx free_head_ = kNilPos;
  PosIdx high_water_ = 1;
  std::uint32_t used_ = 0;
};

}  // namespace cascade
