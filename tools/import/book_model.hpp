// A converter's exact model of the engine's book for one instrument: price levels with FIFO
// queues of engine orders, changed only through the input events it emits. Matching is
// deterministic (docs/matching.md), so the model knows which engine order holds which
// quantity and can translate "remove q of exchange order X" into events on whichever engine
// orders still hold it, even after the engine's queue order has drifted from the exchange's.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <unordered_map>

#include "cascade/types.hpp"
#include "import/emitter.hpp"

namespace cascade::import {

// Resting orders (real and synthetic) belong to one account and aggressors to another, so
// self-trade prevention never stops an execution the source reports.
inline constexpr AccountId kRestingAccount = 1;
inline constexpr AccountId kAggressorAccount = 2;

// Engine order ids: source ids below kSyntheticIdBase are used as they are; the ranges
// above are disjoint from them and from each other.
inline constexpr OrderId kSyntheticIdBase = OrderId{1} << 62;  // + running number
inline constexpr OrderId kAggressorIdBase = OrderId{2} << 62;  // + source message number
inline constexpr OrderId kRemappedIdBase = OrderId{3} << 62;   // + running number

class BookModel {
 public:
  struct Order {
    Side side;
    Price price;
    Qty qty;             // open quantity in the engine
    std::uint64_t tag;   // source order id whose quantity this order stands for; 0 = anonymous
  };

  BookModel(InstrumentId instrument, Emitter& out) : instrument_(instrument), out_(out) {}

  InstrumentId instrument() const noexcept { return instrument_; }

  // A GTC limit order that rests in full (the caller has removed anything it would cross).
  void add(OrderId id, std::uint64_t tag, Side side, Price price, Qty qty, bool synthetic);

  // Removes up to qty from level (side, price) with cancels and priority-keeping decreases:
  // first from order `prefer`, then anonymous orders, then orders whose tag is never
  // referenced again (referenced_later), then any; newest first within each class.
  // Returns the quantity removed.
  Qty take(Side side, Price price, Qty qty, OrderId prefer, bool synthetic);

  // An IOC limit order of the aggressor account from the other side of resting_side at
  // `price` for qty; the model fills it exactly as the engine does. Returns the quantity filled.
  Qty execute(OrderId aggressor, Side resting_side, Price price, Qty qty);

  // Removes (synthetic) the liquidity of the other side that an order at (side, price) would
  // trade with. Returns the quantity removed.
  Qty clear_crossing(Side side, Price price);

  // Removes (synthetic) every level of `side` better than price.
  Qty clear_better(Side side, Price price);

  // The source order behind `id` is gone; what the engine order still holds is anonymous.
  void untag(OrderId id) noexcept;

  const Order* find(OrderId id) const noexcept;
  bool live(OrderId id) const noexcept { return find(id) != nullptr; }
  Qty level_qty(Side side, Price price) const noexcept;
  bool best(Side side, Price& price) const noexcept;
  std::size_t levels(Side side) const noexcept { return book(side).size(); }
  std::size_t orders() const noexcept { return orders_.size(); }

  // Calls f(price, qty) for the levels of `side`, best first, until f returns false.
  template <class F>
  void for_each_level(Side side, F&& f) const {
    for (const auto& [key, level] : book(side))
      if (!f(price_of(side, key), level.total)) return;
  }

  // Order ids of one level, head first (tests and diagnostics).
  std::deque<OrderId> queue(Side side, Price price) const;

  // Whether a source order id appears in a later source message (set by converters that
  // can look ahead); without it every tagged order counts as still referenced.
  std::function<bool(std::uint64_t tag)> referenced_later;

 private:
  struct Level {
    Qty total = 0;
    std::deque<OrderId> queue;  // head (oldest) first
  };
  // Keyed so that ascending key order is best-first on both sides.
  using Levels = std::map<Price, Level>;

  static Price key_of(Side side, Price price) noexcept { return side == Side::Buy ? -price : price; }
  static Price price_of(Side side, Price key) noexcept { return side == Side::Buy ? -key : key; }
  Levels& book(Side side) noexcept { return side == Side::Buy ? bids_ : asks_; }
  const Levels& book(Side side) const noexcept { return side == Side::Buy ? bids_ : asks_; }

  // Removes qty of engine order id (a cancel if that is all of it, else a decrease).
  void reduce(OrderId id, Qty qty, bool synthetic);

  InstrumentId instrument_;
  Emitter& out_;
  Levels bids_, asks_;
  std::unordered_map<OrderId, Order> orders_;
};

}  // namespace cascade::import
