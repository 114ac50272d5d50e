// The reference engine: a deliberately simple implementation of docs/matching.md and
// docs/margin.md used as the oracle of the differential tests. Clarity over speed: ordered maps,
// lists and plain loops; every margin number is recomputed from the positions and the live
// orders whenever it is needed, and the code follows the documents section by section so each
// rule can be checked by eye.
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
  Money balance(AccountId account) const;  // collateral C
  std::size_t live_orders() const { return orders_.size(); }
  SeqNo output_seq() const { return out_seq_; }

  // --- margin queries, for tests ---
  struct PositionState {
    Qty size = 0;
    Money entry_value = 0;      // E
    Money isolated_margin = 0;  // B
  };
  struct MarginState {  // the numbers a MarginUpdate reports
    Money collateral = 0;
    Money equity = 0;
    Money initial_margin = 0;
    Money maintenance_margin = 0;
  };
  struct Totals {  // the terms of the money identity (docs/margin.md, "Money conservation")
    __int128 deposits = 0;
    __int128 withdrawals = 0;
    __int128 fees_collected = 0;  // F
    __int128 insurance_fund = 0;
    __int128 socialized_losses = 0;
  };
  struct OrderState {  // a live order as the margin rules see it
    OrderId id;
    AccountId account;
    InstrumentId instrument;
    Side side;
    OrderType type;
    std::uint8_t flags;
    Price price;
    Qty qty;
    Price trigger;
    bool waiting_stop;
  };
  // Accounts that ever held collateral, a position or a setting, ascending (an account with
  // only orders has no money and no position).
  std::vector<AccountId> accounts() const;
  PositionState position(AccountId account, InstrumentId instrument) const;
  bool isolated(AccountId account, InstrumentId instrument) const;
  MarginState margin(AccountId account) const;
  Price mark(InstrumentId id) const;
  Price index(InstrumentId id) const;
  Totals totals() const { return totals_; }
  std::vector<OrderState> orders() const;  // every live order, by id
  // Liquidation checks: no unit is left that docs/liquidation.md would liquidate.
  bool any_unit_below() const { return !units_below().empty(); }
  std::uint64_t mark_stops_fired() const { return mark_stops_fired_; }
  bool paused(InstrumentId id) const;

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
    // Circuit breaker (docs/liquidation.md): the current window and its anchor; a pause.
    bool window_set = false;
    bool reopening = false;  // resumed from a pause, not traded since
    __int128 window = 0;
    Price anchor = 0;
    bool paused = false;
    Timestamp until = 0;
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

  // --- margin (docs/margin.md) ---
  struct Position {
    Qty size = 0;
    Money entry = 0;     // E
    Money isolated = 0;  // B
  };
  struct Account {
    Money collateral = 0;                         // C
    std::map<InstrumentId, Position> positions;  // flat positions may stay in the map
    std::map<InstrumentId, wire::MarginMode> modes;  // per-instrument settings
    wire::MarginMode default_mode = wire::MarginMode::Cross;
    wire::AccountRole role = wire::AccountRole::Trader;
  };
  Account& account(AccountId id) { return accounts_[id]; }
  Position position_of(AccountId a, InstrumentId i) const;
  bool is_isolated(AccountId a, InstrumentId i) const;
  Price mark_of(const Instrument& ins) const;
  // Open notional of the account's live orders on the instrument, plus `extra` (the order
  // being checked; nullptr for none), leaving out the order `skip` (0 for none).
  std::pair<__int128, __int128> open_notional(AccountId a, InstrumentId i, const Order* extra, OrderId skip) const;
  __int128 worst_case(AccountId a, InstrumentId i, const Order* extra, OrderId skip) const;  // W
  __int128 equity(AccountId a) const;                                                       // cross
  __int128 initial_requirement(AccountId a) const;                                          // IMR
  __int128 maintenance_requirement(AccountId a) const;                                      // cross
  Price counted_price(const Order& o) const;  // the price an order's notional counts at
  __int128 requirement(AccountId a, InstrumentId i, __int128 w) const;  // the instrument's part of IMR
  bool margin_allows(const Order& o, OrderId replaces);
  bool notional_bounded(const Order& o, OrderId replaces) const;
  bool has_record(AccountId a, InstrumentId i) const;
  bool records_full() const;
  Qty reduce_only_capacity(AccountId a, InstrumentId i, Side side) const;
  __int128 reduce_only_open(AccountId a, InstrumentId i, Side side, OrderId skip) const;
  void settle_fill(const Order& maker, const Order& taker, Qty q, Money maker_fee, Money taker_fee);
  Money apply_to_position(AccountId a, InstrumentId i, Side side, Qty q, Price p);  // returns r
  void enforce_reduce_only(AccountId a, InstrumentId i);
  void emit_margin_updates(std::size_t from);  // for the accounts named in out_ since `from`

  // --- liquidation (docs/liquidation.md) ---
  struct Unit {  // a cross account (instrument kAllInstruments) or one isolated position
    AccountId account = 0;
    InstrumentId instrument = kAllInstruments;
    std::uint32_t depth = 0;
    bool operator==(const Unit& o) const { return account == o.account && instrument == o.instrument; }
  };
  std::vector<Unit> units_below() const;  // a scan of every unit, in unit order
  bool liquidatable(AccountId a, InstrumentId i) const;
  __int128 unrealized(AccountId a, InstrumentId i) const;  // U at the mark
  __int128 unit_equity(AccountId a, InstrumentId i) const;
  __int128 unit_mm(AccountId a, InstrumentId i) const;
  bool has_cross_position(AccountId a) const;
  void freeze_marks();
  void run_cascade();
  void liquidate(const Unit& u);
  void close_step(const Unit& u, InstrumentId i, __int128 unit_eq);
  Qty liquidation_order(const Unit& u, InstrumentId i, Side side, Price limit, Qty qty);
  Qty backstop(const Unit& u, InstrumentId i, Side side, Price bp, Qty qty);
  void deleverage(const Unit& u, InstrumentId i, Side side, Price bp, Qty qty);
  void direct_fill(AccountId maker, AccountId taker, InstrumentId i, Side side, Price bp, Qty q, Qty taker_leaves,
                   std::uint8_t flags);
  void emit_liquidation(const Unit& u, wire::LiquidationStage stage, InstrumentId instrument, Side side, Qty qty,
                        Price price, __int128 amount);
  void emit_fund(InstrumentId i, wire::InsuranceReason reason, __int128 delta);

  // --- circuit breaker ---
  void circuit_resume();
  void circuit_before_trade(Instrument& ins, Price price);
  void circuit_after_trade(Instrument& ins);
  bool takes_while_paused(const Instrument& ins, Side side, bool market, Price price) const;

  // --- rules ---
  Instrument* find_instrument(InstrumentId id);
  const Instrument* find_instrument(InstrumentId id) const;
  static Price reference(const Instrument& ins);
  static bool in_band(const Instrument& ins, Price price);
  static bool acceptable(Side taker_side, Price resting_price, Price limit);
  bool fok_fillable(const Order& o, const Instrument& ins, Price limit) const;
  void run_incoming(Order o, std::uint8_t fill_flags);
  void check_stops(InstrumentId instrument);
  bool fire_mark_stop();  // true if a stop triggered by the mark price fired
  std::uint64_t mark_stops_fired_ = 0;
  const Order* mark_stop_triggered() const;
  const Order* first_triggered(const Instrument& ins, Price at, bool mark) const;
  void fire_stop(OrderId id, Price at);
  static bool by_mark(const Order& o) { return (o.flags & order_flags::kMarkTrigger) != 0; }
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
  std::map<AccountId, Account> accounts_;
  Totals totals_;
  std::uint64_t accept_counter_ = 0;
  // Inside a liquidation step every price uses the marks at the step's start.
  bool frozen_ = false;
  std::map<InstrumentId, Price> frozen_marks_;
  SeqNo out_seq_ = 0;
  bool clock_set_ = false;
  Timestamp clock_ = 0;

  // The input event being processed.
  EventView current_;
  EventBuffer* out_ = nullptr;
};

}  // namespace cascade::testing
