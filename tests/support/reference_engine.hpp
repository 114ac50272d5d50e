// The reference engine: a deliberately simple implementation of docs/matching.md used as the
// oracle of the differential tests. Clarity over speed: ordered maps, lists and plain loops,
// and the code follows the document section by section so each rule can be checked by eye.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <vector>

#include "cascade/engine.hpp"
#include "cascade/event_buffer.hpp"
#include "cascade/event_reader.hpp"
#include "cascade/types.hpp"
#include "cascade/wire.hpp"

namespace cascade::testing {

class ReferenceEngine {
 public:
  explicit ReferenceEngine(const EngineConfig& config = {}) : config_(config) {}

  void process(const EventView& event, EventBuffer& out);

  template <class T>
  void process(const T& msg, EventBuffer& out) {
    static_assert(wire::is_input(T::kType));
    process(EventView(reinterpret_cast<const std::byte*>(&msg)), out);
  }

  // --- queries, for tests ---
  const wire::InstrumentDefinition* instrument(InstrumentId id) const;
  std::vector<LevelView> depth(InstrumentId id, Side side) const;  // best first
  TopView top(InstrumentId id) const;
  Price last_price(InstrumentId id) const;
  Money balance(AccountId account) const;
  std::size_t live_orders() const { return orders_.size(); }
  SeqNo output_seq() const { return out_seq_; }

 private:
  // A live order: resting on a book, or an untriggered stop. Also the incoming order while
  // it matches (then it is in no list and not in orders_).
  struct Order {
    OrderId id = 0;
    std::uint64_t client_order_id = 0;
    AccountId account = 0;
    InstrumentId instrument = 0;
    Side side = Side::Buy;
    OrderType type = OrderType::Limit;
    TimeInForce tif = TimeInForce::GTC;
    std::uint8_t flags = 0;
    SelfTradePrevention stp = SelfTradePrevention::Default;
    Price price = 0;
    Qty qty = 0;  // open quantity
    Price trigger = 0;
    bool waiting_stop = false;   // an untriggered stop (off book)
    std::uint64_t accepted = 0;  // acceptance rank: mass-cancel order and stop tie-break
  };

  // A price level is a FIFO of orders, oldest first. Every live order is in exactly one list:
  // a level, or its instrument's stop list; orders_ points at it by id.
  using Level = std::list<Order>;
  struct Book {
    std::map<Price, Level> bids;  // best = highest price (rbegin)
    std::map<Price, Level> asks;  // best = lowest price (begin)
  };

  struct Instrument {
    wire::InstrumentDefinition def{};
    Price last = 0;   // last trade price, 0 before the first trade
    Price index = 0;  // last index price, 0 before the first one
    Book book;
    std::list<Order> stops;  // untriggered stops, in acceptance order
  };

  // (qty, order count) per price of one book, for the market-data diff.
  struct Snapshot {
    std::map<Price, std::pair<Qty, std::uint32_t>> bids, asks;
  };

  // --- input handlers ---
  void on_instrument(const wire::InstrumentDefinition& m);
  void on_deposit(const wire::Deposit& m);
  void on_withdrawal(const wire::Withdrawal& m);
  void on_account_settings(const wire::AccountSettings& m);
  void on_new_order(const wire::NewOrder& m);
  void on_cancel(const wire::CancelOrder& m);
  void on_modify(const wire::ModifyOrder& m);
  void on_mass_cancel(const wire::MassCancel& m);
  void on_index_price(const wire::IndexPrice& m);
  void on_funding_rate(const wire::FundingRate& m);

  // --- rules ---
  Instrument* find_instrument(InstrumentId id);
  const Instrument* find_instrument(InstrumentId id) const;
  static Price reference(const Instrument& ins);
  static bool in_band(const Instrument& ins, Price price);
  static bool acceptable(Side taker_side, Price resting_price, Price limit);
  bool fok_fillable(const Order& o, const Instrument& ins, Price limit) const;
  void run_incoming(Order o, std::uint8_t fill_flags);
  void check_stops(InstrumentId instrument);
  void rest(const Order& o);
  Order take_out(OrderId id);                          // removes a live order from its list and from orders_
  void cancel(OrderId id, wire::CancelReason reason);  // a live order

  // --- output ---
  template <class T>
  void emit(T msg);
  void reject(wire::RejectReason reason);
  void emit_cancelled(const Order& o, Qty qty, wire::CancelReason reason);
  Snapshot snapshot(InstrumentId id) const;
  void emit_market_data(InstrumentId id, const Snapshot& before);

  EngineConfig config_;
  std::map<InstrumentId, Instrument> instruments_;
  std::map<OrderId, Order*> orders_;  // every live order, by id
  std::map<AccountId, Money> balances_;
  std::uint64_t accept_counter_ = 0;
  SeqNo out_seq_ = 0;
  bool clock_set_ = false;
  Timestamp clock_ = 0;

  // The input event being processed.
  EventView current_;
  EventBuffer* out_ = nullptr;
};

}  // namespace cascade::testing
