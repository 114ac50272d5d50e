// One instrument's resting orders: FIFO queues (intrusive, through the order pool) on a price
// ladder, cached best bid/ask, and the hook that records each level's pre-event state the
// first time an event changes it.
#pragma once

#include <cstdint>

#include "cascade/book_view.hpp"
#include "cascade/depth_tracker.hpp"
#include "cascade/order_pool.hpp"
#include "cascade/price_ladder.hpp"
#include "cascade/types.hpp"

namespace cascade {

class OrderBook {
 public:
  static constexpr std::uint32_t kNone = PriceLadder::kNone;

  bool init(InstrumentId id, Price min_price, Price tick, std::uint32_t levels, OrderPool* pool,
            DepthTracker* tracker) noexcept {
    id_ = id;
    pool_ = pool;
    tracker_ = tracker;
    min_price_ = min_price;
    tick_ = tick;
    best_bid_ = best_ask_ = kNone;
    touched_ = false;
    if (ladder_.size() == levels) return true;  // empty book of the same shape: reuse it
    return ladder_.init(levels);
  }
  void commit() noexcept { ladder_.commit(); }

  Price min_price() const noexcept { return min_price_; }
  Price tick() const noexcept { return tick_; }
  std::uint32_t levels() const noexcept { return ladder_.size(); }
  // price must be on tick and in range.
  std::uint32_t index(Price p) const noexcept { return static_cast<std::uint32_t>((p - min_price_) / tick_); }
  Price price(std::uint32_t i) const noexcept { return min_price_ + static_cast<Price>(i) * tick_; }

  std::uint32_t best_bid() const noexcept { return best_bid_; }
  std::uint32_t best_ask() const noexcept { return best_ask_; }
  std::uint32_t best(Side s) const noexcept { return s == Side::Buy ? best_bid_ : best_ask_; }
  // Next level of the same side in priority order (lower for bids, higher for asks).
  std::uint32_t next_worse(Side s, std::uint32_t i) const noexcept {
    return s == Side::Buy ? ladder_.below(i) : ladder_.above(i);
  }
  const Level& level(std::uint32_t i) const noexcept { return ladder_[i]; }
  Level& level_mut(std::uint32_t i) noexcept { return ladder_[i]; }

  TopView top() const noexcept {
    TopView t;
    if (best_bid_ != kNone) {
      t.bid_price = price(best_bid_);
      t.bid_qty = ladder_[best_bid_].qty;
    }
    if (best_ask_ != kNone) {
      t.ask_price = price(best_ask_);
      t.ask_qty = ladder_[best_ask_].qty;
    }
    return t;
  }

  // Appends order o (side, price and qty already set) at the tail of its level.
  void push_back(OrderIdx o) noexcept {
    OrderNode& n = (*pool_)[o];
    const std::uint32_t i = index(n.price);
    touch(i);
    Level& l = ladder_[i];
    n.next = kNilOrder;
    n.prev = l.tail;
    if (l.tail != kNilOrder) {
      (*pool_)[l.tail].next = o;
    } else {
      l.head = o;
      l.side = n.side;
      ladder_.mark_non_empty(i);
      if (n.side == Side::Buy) {
        if (best_bid_ == kNone || i > best_bid_) best_bid_ = i;
      } else {
        if (best_ask_ == kNone || i < best_ask_) best_ask_ = i;
      }
    }
    l.tail = o;
    ++l.count;
    l.qty = wrap_add(l.qty, n.qty);
  }

  // Removes order o from its level; drains the level and moves the best price if needed.
  void unlink(OrderIdx o) noexcept {
    OrderNode& n = (*pool_)[o];
    const std::uint32_t i = index(n.price);
    touch(i);
    Level& l = ladder_[i];
    if (n.prev != kNilOrder) (*pool_)[n.prev].next = n.next; else l.head = n.next;
    if (n.next != kNilOrder) (*pool_)[n.next].prev = n.prev; else l.tail = n.prev;
    n.next = n.prev = kNilOrder;
    --l.count;
    l.qty = wrap_add(l.qty, -n.qty);
    if (l.count == 0) {
      l.qty = 0;
      ladder_.mark_empty(i);
      if (i == best_bid_) best_bid_ = ladder_.below(i);
      else if (i == best_ask_) best_ask_ = ladder_.above(i);
    }
  }

  // Takes `by` off order o's open quantity in place (a fill or a priority-keeping decrease).
  void reduce(OrderIdx o, Qty by) noexcept {
    OrderNode& n = (*pool_)[o];
    const std::uint32_t i = index(n.price);
    touch(i);
    n.qty -= by;
    ladder_[i].qty = wrap_add(ladder_[i].qty, -by);
  }

  // --- per-event market data bookkeeping ---
  bool touched() const noexcept { return touched_; }
  const TopView& top_before() const noexcept { return top_before_; }
  void end_event_level(std::uint32_t i) noexcept { ladder_[i].touched = 0; }
  void end_event() noexcept { touched_ = false; }
  Side level_side(std::uint32_t i) const noexcept { return ladder_[i].side; }

 private:
  // Level totals only feed market data; wrap instead of overflowing when max_order_qty is
  // near 2^63 and several such orders share a level.
  static Qty wrap_add(Qty a, Qty b) noexcept {
    return static_cast<Qty>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
  }

  void touch(std::uint32_t i) noexcept {
    Level& l = ladder_[i];
    if (l.touched) return;
    if (!touched_) {
      touched_ = true;
      top_before_ = top();
    }
    l.touched = 1;
    tracker_->add(id_, i, l.qty, l.count, l.count ? l.side : Side::Buy);
  }

  PriceLadder ladder_;
  OrderPool* pool_ = nullptr;
  DepthTracker* tracker_ = nullptr;
  Price min_price_ = 0;
  Price tick_ = 1;
  std::uint32_t best_bid_ = kNone;
  std::uint32_t best_ask_ = kNone;
  InstrumentId id_ = 0;
  bool touched_ = false;
  TopView top_before_{};
};

}  // namespace cascade
