// Untriggered stop orders of one instrument. Trigger prices are on the book's tick grid and
// inside its range, so stops sit in per-trigger-price FIFO queues (acceptance order within
// one trigger) on a ladder per side, with a hierarchical bitmap each: the next stop to fire
// is the lowest buy trigger / highest sell trigger, kept up to date as stops come and go (the
// check after every trade reads two prices); cancel unlinks in O(1). No heap, no lazy
// deletion, no growth.
#pragma once

#include <cstdint>
#include <limits>

#include "cascade/level_bitmap.hpp"
#include "cascade/order_pool.hpp"
#include "cascade/types.hpp"
#include "cascade/zeroed_array.hpp"

namespace cascade {

class StopBook {
 public:
  static constexpr std::uint32_t kNone = LevelBitmap::kNone;

  struct Queue {
    OrderIdx head;
    OrderIdx tail;
  };
  static_assert(sizeof(Queue) == 8);

  bool init(Price min_price, Price tick, std::uint32_t levels, OrderPool* pool) noexcept {
    pool_ = pool;
    buy_first_ = kNoBuy;
    sell_last_ = kNoSell;
    min_price_ = min_price;
    tick_ = tick;
    if (buy_.size() == levels) return true;
    return buy_.allocate(levels) && sell_.allocate(levels) && buy_bits_.init(levels) &&
           sell_bits_.init(levels);
  }
  void commit() noexcept {
    buy_.commit();
    sell_.commit();
    buy_bits_.commit();
    sell_bits_.commit();
  }

  void push_back(OrderIdx o) noexcept {
    OrderNode& n = (*pool_)[o];
    const std::uint32_t i = index(n.trigger);
    Queue& q = queues(n.side)[i];
    n.next = kNilOrder;
    n.prev = q.tail;
    q.tail = o;
    if (n.prev != kNilOrder) {
      (*pool_)[n.prev].next = o;
      return;
    }
    q.head = o;
    bits(n.side).set(i);
    if (n.side == Side::Buy) {
      if (n.trigger < buy_first_) buy_first_ = n.trigger;
    } else if (n.trigger > sell_last_) {
      sell_last_ = n.trigger;
    }
  }

  void unlink(OrderIdx o) noexcept {
    OrderNode& n = (*pool_)[o];
    const std::uint32_t i = index(n.trigger);
    Queue& q = queues(n.side)[i];
    if (n.prev != kNilOrder) (*pool_)[n.prev].next = n.next; else q.head = n.next;
    if (n.next != kNilOrder) (*pool_)[n.next].prev = n.prev; else q.tail = n.prev;
    n.next = n.prev = kNilOrder;
    if (q.head != kNilOrder) return;
    bits(n.side).clear(i);
    if (n.side == Side::Buy) {
      if (n.trigger != buy_first_) return;
      const std::uint32_t b = buy_bits_.next(std::uint64_t{i} + 1);
      buy_first_ = b == kNone ? kNoBuy : price(b);
    } else {
      if (n.trigger != sell_last_) return;
      const std::uint32_t l = i > 0 ? sell_bits_.prev(i - 1) : kNone;
      sell_last_ = l == kNone ? kNoSell : price(l);
    }
  }

  // The stop that fires first at last trade price `last`: the oldest buy stop at the lowest
  // trigger <= last, else the oldest sell stop at the highest trigger >= last; kNilOrder if
  // none has fired.
  OrderIdx first_triggered(Price last) const noexcept {
    if (buy_first_ <= last) return buy_[index(buy_first_)].head;
    if (sell_last_ >= last) return sell_[index(sell_last_)].head;
    return kNilOrder;
  }

  // The stop after linked stop o in firing order on its side, whatever the last price: the
  // next in o's queue, else the oldest at the next trigger the price moves towards. A chain
  // of stops fires in this order, so it says what to load ahead. kNilOrder at the end.
  // `fires` says whether it has fired at `last` already (read from the ladder, not the node).
  OrderIdx following(OrderIdx o, Price last, bool& fires) const noexcept {
    const OrderNode& n = (*pool_)[o];
    fires = true;
    if (n.next != kNilOrder) return n.next;
    const std::uint32_t i = index(n.trigger);
    const bool buy = n.side == Side::Buy;
    const std::uint32_t l = buy ? buy_bits_.next(std::uint64_t{i} + 1) : (i > 0 ? sell_bits_.prev(i - 1) : kNone);
    if (l == kNone) return kNilOrder;
    fires = buy ? price(l) <= last : price(l) >= last;
    return (buy ? buy_ : sell_)[l].head;
  }

  bool empty() const noexcept { return buy_first_ == kNoBuy && sell_last_ == kNoSell; }

  // Walking every queue (snapshots): trigger levels, and the oldest stop at one of them.
  std::uint32_t levels() const noexcept { return static_cast<std::uint32_t>(buy_.size()); }
  OrderIdx queue_head(Side s, std::uint32_t i) const noexcept { return (s == Side::Buy ? buy_ : sell_)[i].head; }

 private:
  std::uint32_t index(Price p) const noexcept { return static_cast<std::uint32_t>((p - min_price_) / tick_); }
  Price price(std::uint32_t i) const noexcept { return min_price_ + static_cast<Price>(i) * tick_; }
  ZeroedArray<Queue>& queues(Side s) noexcept { return s == Side::Buy ? buy_ : sell_; }
  LevelBitmap& bits(Side s) noexcept { return s == Side::Buy ? buy_bits_ : sell_bits_; }

  static constexpr Price kNoBuy = std::numeric_limits<Price>::max();
  static constexpr Price kNoSell = std::numeric_limits<Price>::min();

  ZeroedArray<Queue> buy_;
  ZeroedArray<Queue> sell_;
  LevelBitmap buy_bits_;
  LevelBitmap sell_bits_;
  OrderPool* pool_ = nullptr;
  Price min_price_ = 0;
  Price tick_ = 1;
  Price buy_first_ = kNoBuy;    // lowest buy trigger, kNoBuy without buy stops
  Price sell_last_ = kNoSell;   // highest sell trigger, kNoSell without sell stops
};

}  // namespace cascade
