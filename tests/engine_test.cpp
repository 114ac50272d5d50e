// The engine against docs/matching.md: every order type, reject reason, STP mode, modify
// rule and market-data rule, with the exact output stream of each input event.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "cascade/engine.hpp"
#include "cascade/event_buffer.hpp"
#include "cascade/event_reader.hpp"
#include "support/events.hpp"

namespace {

using namespace cascade;
namespace t = cascade::testing;
using wire::MsgType;
using Lines = std::vector<std::string>;

constexpr AccountId A = 1, B = 2, C = 3, D = 4;
constexpr InstrumentId I = 0;   // tick 1, lot 1, prices 1..10000, max qty 1000
constexpr InstrumentId I1 = 1;  // tick 5, lot 10, prices 50..500, max qty 1000
constexpr auto GTC = TimeInForce::GTC;
constexpr auto IOC = TimeInForce::IOC;
constexpr auto FOK = TimeInForce::FOK;
constexpr auto Buy = Side::Buy;
constexpr auto Sell = Side::Sell;

const char* reject_name(wire::RejectReason r) {
  static const char* const names[] = {
      "none", "unknown_instrument", "unknown_account", "invalid_side", "invalid_order_type",
      "invalid_time_in_force", "invalid_flags", "invalid_quantity", "quantity_off_lot", "invalid_price",
      "price_off_tick", "price_out_of_band", "price_out_of_range", "duplicate_order_id", "unknown_order",
      "not_order_owner", "post_only_would_take", "order_capacity", "account_capacity",
      "instrument_capacity", "invalid_instrument", "timestamp_backwards", "insufficient_margin",
      "insufficient_funds", "reduce_only_would_increase", "invalid_amount", "notional_overflow",
      "instrument_paused", "modify_no_change", "invalid_stp", "invalid_trigger_price",
      "account_in_liquidation", "invalid_settings", "invalid_order_id"};
  const auto i = static_cast<unsigned>(r);
  return i < std::size(names) ? names[i] : "?";
}

const char* cancel_name(wire::CancelReason r) {
  static const char* const names[] = {"?", "user", "mass_cancel", "ioc_remainder", "fok_not_filled",
                                      "no_liquidity", "self_trade", "liquidation", "reduce_only"};
  const auto i = static_cast<unsigned>(r);
  return i < std::size(names) ? names[i] : "?";
}

const char* side_name(Side s) { return s == Buy ? "buy" : s == Sell ? "sell" : "?"; }

std::string s(std::int64_t v) { return std::to_string(v); }

// One short line per output event, every field that carries information.
std::string render(const EventView& ev) {
  switch (ev.type()) {
    case MsgType::OrderAccepted:
      return "accepted " + s(static_cast<std::int64_t>(ev.as<wire::OrderAccepted>().order_id));
    case MsgType::Rejected: {
      const auto& m = ev.as<wire::Rejected>();
      return "rejected " + s(static_cast<std::int64_t>(m.id)) + " " + reject_name(m.reason);
    }
    case MsgType::OrderCancelled: {
      const auto& m = ev.as<wire::OrderCancelled>();
      return "cancelled id=" + s(static_cast<std::int64_t>(m.order_id)) + " acct=" + s(m.account) + " inst=" +
             s(m.instrument) + " " + side_name(m.side) + " qty=" + s(m.cancelled_qty) + " " + cancel_name(m.reason);
    }
    case MsgType::OrderModified: {
      const auto& m = ev.as<wire::OrderModified>();
      return "modified id=" + s(static_cast<std::int64_t>(m.order_id)) + " acct=" + s(m.account) + " px=" +
             s(m.new_price) + " qty=" + s(m.new_qty) + " kept=" + s(m.priority_kept);
    }
    case MsgType::Fill: {
      const auto& m = ev.as<wire::Fill>();
      std::string r = "fill maker=" + s(static_cast<std::int64_t>(m.maker_order_id)) + "/" + s(m.maker_account) +
                      " taker=" + s(static_cast<std::int64_t>(m.taker_order_id)) + "/" + s(m.taker_account) + " " +
                      side_name(m.aggressor_side) + " " + s(m.qty) + "@" + s(m.price) +
                      " leaves=" + s(m.maker_leaves) + "/" + s(m.taker_leaves);
      if (m.flags) r += " flags=" + s(m.flags);
      if (m.instrument != I) r += " inst=" + s(m.instrument);
      if (m.maker_fee || m.taker_fee) r += " fees=" + s(m.maker_fee) + "/" + s(m.taker_fee);
      return r;
    }
    case MsgType::StopTriggered: {
      const auto& m = ev.as<wire::StopTriggered>();
      return "stop id=" + s(static_cast<std::int64_t>(m.order_id)) + " acct=" + s(m.account) + " trigger=" +
             s(m.trigger_price) + " last=" + s(m.last_price);
    }
    case MsgType::DepthLevel: {
      const auto& m = ev.as<wire::DepthLevel>();
      return "depth " + s(m.instrument) + " " + side_name(m.side) + " " + s(m.price) + " qty=" + s(m.qty) +
             " n=" + s(m.order_count);
    }
    case MsgType::TopOfBook: {
      const auto& m = ev.as<wire::TopOfBook>();
      return "top " + s(m.instrument) + " bid=" + s(m.bid_qty) + "@" + s(m.bid_price) + " ask=" + s(m.ask_qty) +
             "@" + s(m.ask_price);
    }
    case MsgType::BalanceChange: {
      const auto& m = ev.as<wire::BalanceChange>();
      return "balance acct=" + s(m.account) +
             (m.reason == wire::BalanceReason::Deposit ? " deposit" : m.reason == wire::BalanceReason::Withdrawal
                                                                          ? " withdrawal"
                                                                          : " other") +
             " delta=" + s(m.delta) + " bal=" + s(m.balance);
    }
    case MsgType::PositionUpdate: {
      const auto& m = ev.as<wire::PositionUpdate>();
      return "position acct=" + s(m.account) + " inst=" + s(m.instrument) + " size=" + s(m.size) +
             " entry=" + s(m.entry_value) + " pnl=" + s(m.realized_pnl);
    }
    case MsgType::MarginUpdate: {
      const auto& m = ev.as<wire::MarginUpdate>();
      return "margin acct=" + s(m.account) + " c=" + s(m.collateral) + " eq=" + s(m.equity) +
             " im=" + s(m.initial_margin) + " mm=" + s(m.maintenance_margin);
    }
    case MsgType::MarkPrice: {
      const auto& m = ev.as<wire::MarkPrice>();
      return "mark " + s(m.instrument) + " mark=" + s(m.mark) + " index=" + s(m.index) + " last=" + s(m.last);
    }
    case MsgType::FundingPayment: {
      const auto& m = ev.as<wire::FundingPayment>();
      return "funding acct=" + s(m.account) + " inst=" + s(m.instrument) + " pos=" + s(m.position) +
             " rate=" + s(m.rate) + " amount=" + s(m.amount);
    }
    case MsgType::InsuranceFund: {
      const auto& m = ev.as<wire::InsuranceFund>();
      return "insurance inst=" + s(m.instrument) + " reason=" + s(static_cast<int>(m.reason)) +
             " delta=" + s(m.delta) + " bal=" + s(m.balance);
    }
    default:
      return std::string("type ") + wire::type_name(ev.type());
  }
}

Lines render_all(const EventBuffer& out) {
  Lines r;
  EventReader reader(out.bytes());
  EventView ev;
  while (reader.next(ev)) r.push_back(render(ev));
  if (!reader.ok()) r.push_back("<decode error>");
  return r;
}

EngineConfig small_config() {
  EngineConfig c;
  c.max_instruments = 4;
  c.max_accounts = 16;
  c.max_orders = 64;
  c.max_levels_per_book = 10000;
  return c;
}

class EngineTest : public ::testing::Test {
 protected:
  explicit EngineTest(EngineConfig config = small_config()) : eng(config) {}

  void SetUp() override {
    ASSERT_EQ(send(t::instrument(0, 0, I, 1, 1, 1, 10000, 1000)), Lines{});
    ASSERT_EQ(send(t::instrument(0, 0, I1, 5, 10, 50, 500, 1000)), Lines{});
  }

  // Stamps the next seq and a later timestamp, processes, returns the rendered output.
  template <class T>
  Lines send(T m) {
    m.header.seq = ++seq;
    m.header.ts_ns = (ts += 1000);
    out.clear();
    eng.process(m, out);
    return render_all(out);
  }
  template <class T>
  std::string first(T m) {
    const Lines r = send(m);
    return r.empty() ? std::string("(nothing)") : r.front();
  }

  static wire::NewOrder lim(OrderId id, AccountId a, Side side, Price p, Qty q, TimeInForce tif = GTC,
                            SelfTradePrevention stp = SelfTradePrevention::Default) {
    auto m = t::limit(0, 0, id, a, I, side, p, q, tif);
    m.stp = stp;
    return m;
  }
  static wire::NewOrder mkt(OrderId id, AccountId a, Side side, Qty q, Price worst = 0, TimeInForce tif = IOC) {
    return t::market(0, 0, id, a, I, side, q, worst, tif);
  }
  static wire::NewOrder stop_mkt(OrderId id, AccountId a, Side side, Price trigger, Qty q, Price worst = 0) {
    return t::stop_market(0, 0, id, a, I, side, trigger, q, worst);
  }
  static wire::NewOrder mark_stop_mkt(OrderId id, AccountId a, Side side, Price trigger, Qty q) {
    auto m = stop_mkt(id, a, side, trigger, q);
    m.flags = order_flags::kMarkTrigger;
    return m;
  }
  static wire::NewOrder stop_lim(OrderId id, AccountId a, Side side, Price trigger, Price p, Qty q,
                                 TimeInForce tif = GTC) {
    return t::stop_limit(0, 0, id, a, I, side, trigger, p, q, tif);
  }
  static wire::CancelOrder cxl(OrderId id, AccountId a, InstrumentId inst = I) { return t::cancel(0, 0, id, a, inst); }
  static wire::ModifyOrder mod(OrderId id, AccountId a, Price p, Qty q, InstrumentId inst = I) {
    return t::modify(0, 0, id, a, inst, p, q);
  }

  // Rests orders without checking their output.
  void rest(std::initializer_list<wire::NewOrder> orders) {
    for (const auto& o : orders) ASSERT_EQ(first(o), "accepted " + s(static_cast<std::int64_t>(o.order_id)));
  }

  Engine eng;
  EventBuffer out;
  SeqNo seq = 0;
  Timestamp ts = 1'000'000;
};

// ---------------------------------------------------------------------------------------------
// Limit orders and the book

TEST_F(EngineTest, GtcLimitRestsWithDepthAndTop) {
  EXPECT_EQ(send(lim(1, A, Buy, 100, 5)), (Lines{"accepted 1", "margin acct=1 c=0 eq=0 im=0 mm=0",
                                                 "depth 0 buy 100 qty=5 n=1", "top 0 bid=5@100 ask=0@0"}));
  EXPECT_EQ(send(lim(2, B, Buy, 100, 7)), (Lines{"accepted 2", "margin acct=2 c=0 eq=0 im=0 mm=0",
                                                 "depth 0 buy 100 qty=12 n=2", "top 0 bid=12@100 ask=0@0"}));
  // A level behind the best changes depth only.
  EXPECT_EQ(send(lim(3, B, Buy, 99, 1)), (Lines{"accepted 3", "margin acct=2 c=0 eq=0 im=0 mm=0",
                                                "depth 0 buy 99 qty=1 n=1"}));
  EXPECT_EQ(send(lim(4, C, Sell, 101, 2)), (Lines{"accepted 4", "margin acct=3 c=0 eq=0 im=0 mm=0",
                                                  "depth 0 sell 101 qty=2 n=1", "top 0 bid=12@100 ask=2@101"}));
  EXPECT_EQ(eng.live_orders(), 4u);
  EXPECT_EQ(eng.top(I).bid_price, 100);
  EXPECT_EQ(eng.top(I).bid_qty, 12);
  EXPECT_EQ(eng.top(I).ask_price, 101);
  LevelView lv[4];
  ASSERT_EQ(eng.depth(I, Buy, 4, lv), 2u);
  EXPECT_EQ(lv[0].price, 100);
  EXPECT_EQ(lv[0].qty, 12);
  EXPECT_EQ(lv[0].orders, 2u);
  EXPECT_EQ(lv[1].price, 99);
  EXPECT_EQ(eng.depth(I, Buy, 1, lv), 1u);
}

TEST_F(EngineTest, OrderAcceptedEchoesTheOrder) {
  // A long 3 (so a reduce-only sell of 3 is accepted), last 200 (so the stop waits).
  rest({lim(1, B, Sell, 200, 3)});
  ASSERT_EQ(first(lim(2, A, Buy, 200, 3)), "accepted 2");
  auto o = t::new_order(0, 0, 9, A, I, Sell, OrderType::StopLimit, IOC, 120, 3, 130, order_flags::kReduceOnly,
                        SelfTradePrevention::CancelBoth);
  o.client_order_id = 77;
  o.header.seq = 500;
  o.header.ts_ns = 2'000'000;
  out.clear();
  eng.process(o, out);
  // The OrderAccepted, then A's MarginUpdate.
  ASSERT_EQ(out.size(), sizeof(wire::OrderAccepted) + sizeof(wire::MarginUpdate));
  wire::OrderAccepted a;
  std::memcpy(&a, out.bytes().data(), sizeof a);
  EXPECT_EQ(a.header.length, sizeof(wire::OrderAccepted));
  EXPECT_EQ(a.header.type, MsgType::OrderAccepted);
  EXPECT_EQ(a.header.flags, 0);
  EXPECT_EQ(a.header.ts_ns, 2'000'000);
  EXPECT_EQ(a.header.ref, 500u);
  EXPECT_EQ(a.order_id, 9u);
  EXPECT_EQ(a.client_order_id, 77u);
  EXPECT_EQ(a.account, A);
  EXPECT_EQ(a.instrument, I);
  EXPECT_EQ(a.price, 120);
  EXPECT_EQ(a.qty, 3);
  EXPECT_EQ(a.trigger_price, 130);
  EXPECT_EQ(a.side, Sell);
  EXPECT_EQ(a.order_type, OrderType::StopLimit);
  EXPECT_EQ(a.tif, IOC);
  EXPECT_EQ(a.flags, order_flags::kReduceOnly);
  EXPECT_EQ(a.stp, SelfTradePrevention::CancelBoth);
}

// Classic bug: a fill at the taker's price instead of the resting order's.
TEST_F(EngineTest, FillIsAtTheRestingOrdersPrice) {
  rest({lim(1, B, Sell, 100, 5)});
  EXPECT_EQ(send(lim(2, A, Buy, 105, 5)), (Lines{"accepted 2", "fill maker=1/2 taker=2/1 buy 5@100 leaves=0/0",
                                                 "position acct=2 inst=0 size=-5 entry=-500000000 pnl=0",
                                                 "position acct=1 inst=0 size=5 entry=500000000 pnl=0",
                                                 "margin acct=1 c=0 eq=0 im=0 mm=0",
                                                 "margin acct=2 c=0 eq=0 im=0 mm=0", "depth 0 sell 100 qty=0 n=0",
                                                 "top 0 bid=0@0 ask=0@0", "mark 0 mark=100 index=0 last=100"}));
  EXPECT_EQ(eng.last_price(I), 100);
  rest({lim(3, B, Buy, 90, 5)});
  EXPECT_EQ(send(lim(4, A, Sell, 80, 2)), (Lines{"accepted 4", "fill maker=3/2 taker=4/1 sell 2@90 leaves=3/0",
                                                 "position acct=2 inst=0 size=-3 entry=-300000000 pnl=20000000",
                                                 "position acct=1 inst=0 size=3 entry=300000000 pnl=-20000000",
                                                 "margin acct=1 c=-20000000 eq=-50000000 im=0 mm=0",
                                                 "margin acct=2 c=20000000 eq=50000000 im=0 mm=0",
                                                 "depth 0 buy 90 qty=3 n=1", "top 0 bid=3@90 ask=0@0",
                                                 "mark 0 mark=90 index=0 last=90"}));
  EXPECT_EQ(eng.last_price(I), 90);
  EXPECT_EQ(eng.live_orders(), 1u);
}

// Classic bug: a partly filled resting order losing its place at the head of its level.
TEST_F(EngineTest, PartlyFilledRestingOrderKeepsItsPlace) {
  rest({lim(1, B, Sell, 100, 10), lim(2, C, Sell, 100, 5)});
  EXPECT_EQ(send(lim(3, A, Buy, 100, 4, IOC)), (Lines{"accepted 3", "fill maker=1/2 taker=3/1 buy 4@100 leaves=6/0",
                                                      "position acct=2 inst=0 size=-4 entry=-400000000 pnl=0",
                                                      "position acct=1 inst=0 size=4 entry=400000000 pnl=0",
                                                      "margin acct=1 c=0 eq=0 im=0 mm=0",
                                                      "margin acct=2 c=0 eq=0 im=0 mm=0",
                                                      "depth 0 sell 100 qty=11 n=2", "top 0 bid=0@0 ask=11@100",
                                                      "mark 0 mark=100 index=0 last=100"}));
  EXPECT_EQ(send(lim(4, A, Buy, 100, 8, IOC)), (Lines{"accepted 4", "fill maker=1/2 taker=4/1 buy 6@100 leaves=0/2",
                                                      "position acct=2 inst=0 size=-10 entry=-1000000000 pnl=0",
                                                      "position acct=1 inst=0 size=10 entry=1000000000 pnl=0",
                                                      "fill maker=2/3 taker=4/1 buy 2@100 leaves=3/0",
                                                      "position acct=3 inst=0 size=-2 entry=-200000000 pnl=0",
                                                      "position acct=1 inst=0 size=12 entry=1200000000 pnl=0",
                                                      "margin acct=1 c=0 eq=0 im=0 mm=0",
                                                      "margin acct=2 c=0 eq=0 im=0 mm=0",
                                                      "margin acct=3 c=0 eq=0 im=0 mm=0",
                                                      "depth 0 sell 100 qty=3 n=1", "top 0 bid=0@0 ask=3@100"}));
}

// Classic bug: LIFO at one price.
TEST_F(EngineTest, OnePriceIsFirstInFirstOut) {
  rest({lim(1, B, Sell, 100, 1), lim(2, C, Sell, 100, 1), lim(3, B, Sell, 100, 1), lim(4, D, Sell, 100, 1)});
  EXPECT_EQ(send(lim(5, A, Buy, 100, 3)), (Lines{"accepted 5", "fill maker=1/2 taker=5/1 buy 1@100 leaves=0/2",
                                                 "position acct=2 inst=0 size=-1 entry=-100000000 pnl=0",
                                                 "position acct=1 inst=0 size=1 entry=100000000 pnl=0",
                                                 "fill maker=2/3 taker=5/1 buy 1@100 leaves=0/1",
                                                 "position acct=3 inst=0 size=-1 entry=-100000000 pnl=0",
                                                 "position acct=1 inst=0 size=2 entry=200000000 pnl=0",
                                                 "fill maker=3/2 taker=5/1 buy 1@100 leaves=0/0",
                                                 "position acct=2 inst=0 size=-2 entry=-200000000 pnl=0",
                                                 "position acct=1 inst=0 size=3 entry=300000000 pnl=0",
                                                 "margin acct=1 c=0 eq=0 im=0 mm=0",
                                                 "margin acct=2 c=0 eq=0 im=0 mm=0",
                                                 "margin acct=3 c=0 eq=0 im=0 mm=0", "depth 0 sell 100 qty=1 n=1",
                                                 "top 0 bid=0@0 ask=1@100", "mark 0 mark=100 index=0 last=100"}));
}

// Classic bug: zero-size fills (a taker that keeps matching after it is done, or a maker
// left in the book with nothing open).
TEST_F(EngineTest, ExactFillsEmitNoZeroFill) {
  rest({lim(1, B, Sell, 100, 5), lim(2, C, Sell, 100, 5), lim(3, C, Sell, 101, 5)});
  EXPECT_EQ(send(lim(4, A, Buy, 101, 5)), (Lines{"accepted 4", "fill maker=1/2 taker=4/1 buy 5@100 leaves=0/0",
                                                 "position acct=2 inst=0 size=-5 entry=-500000000 pnl=0",
                                                 "position acct=1 inst=0 size=5 entry=500000000 pnl=0",
                                                 "margin acct=1 c=0 eq=0 im=0 mm=0",
                                                 "margin acct=2 c=0 eq=0 im=0 mm=0", "depth 0 sell 100 qty=5 n=1",
                                                 "top 0 bid=0@0 ask=5@100", "mark 0 mark=100 index=0 last=100"}));
  EXPECT_EQ(send(mkt(5, A, Buy, 5)), (Lines{"accepted 5", "fill maker=2/3 taker=5/1 buy 5@100 leaves=0/0",
                                            "position acct=3 inst=0 size=-5 entry=-500000000 pnl=0",
                                            "position acct=1 inst=0 size=10 entry=1000000000 pnl=0",
                                            "margin acct=1 c=0 eq=0 im=0 mm=0", "margin acct=3 c=0 eq=0 im=0 mm=0",
                                            "depth 0 sell 100 qty=0 n=0", "top 0 bid=0@0 ask=5@101"}));
  EXPECT_EQ(send(lim(6, A, Buy, 101, 5, FOK)), (Lines{"accepted 6", "fill maker=3/3 taker=6/1 buy 5@101 leaves=0/0",
                                                      "position acct=3 inst=0 size=-10 entry=-1005000000 pnl=0",
                                                      "position acct=1 inst=0 size=15 entry=1505000000 pnl=0",
                                                      "margin acct=1 c=0 eq=10000000 im=0 mm=0",
                                                      "margin acct=3 c=0 eq=-5000000 im=0 mm=0",
                                                      "depth 0 sell 101 qty=0 n=0", "top 0 bid=0@0 ask=0@0",
                                                      "mark 0 mark=101 index=0 last=101"}));
  EXPECT_EQ(eng.live_orders(), 0u);
  EXPECT_EQ(send(mkt(7, A, Buy, 5)), (Lines{"accepted 7", "cancelled id=7 acct=1 inst=0 buy qty=5 no_liquidity",
                                            "margin acct=1 c=0 eq=10000000 im=0 mm=0"}));
}

TEST_F(EngineTest, SweepAcrossASparseBook) {
  rest({lim(1, B, Sell, 2, 1), lim(2, B, Sell, 700, 1), lim(3, B, Sell, 9999, 1), lim(4, B, Sell, 10000, 1)});
  EXPECT_EQ(send(mkt(5, A, Buy, 3)), (Lines{"accepted 5", "fill maker=1/2 taker=5/1 buy 1@2 leaves=0/2",
                                            "position acct=2 inst=0 size=-1 entry=-2000000 pnl=0",
                                            "position acct=1 inst=0 size=1 entry=2000000 pnl=0",
                                            "fill maker=2/2 taker=5/1 buy 1@700 leaves=0/1",
                                            "position acct=2 inst=0 size=-2 entry=-702000000 pnl=0",
                                            "position acct=1 inst=0 size=2 entry=702000000 pnl=0",
                                            "fill maker=3/2 taker=5/1 buy 1@9999 leaves=0/0",
                                            "position acct=2 inst=0 size=-3 entry=-10701000000 pnl=0",
                                            "position acct=1 inst=0 size=3 entry=10701000000 pnl=0",
                                            "margin acct=1 c=0 eq=19296000000 im=0 mm=0",
                                            "margin acct=2 c=0 eq=-19296000000 im=0 mm=0",
                                            "depth 0 sell 2 qty=0 n=0", "depth 0 sell 700 qty=0 n=0",
                                            "depth 0 sell 9999 qty=0 n=0", "top 0 bid=0@0 ask=1@10000",
                                            "mark 0 mark=9999 index=0 last=9999"}));
  rest({lim(6, B, Buy, 1, 1), lim(7, B, Buy, 4000, 1)});
  LevelView lv[4];
  ASSERT_EQ(eng.depth(I, Buy, 4, lv), 2u);
  EXPECT_EQ(lv[0].price, 4000);
  EXPECT_EQ(lv[1].price, 1);
}

TEST_F(EngineTest, AMovedEngineKeepsItsState) {
  rest({lim(1, B, Sell, 100, 5)});
  Engine moved(std::move(eng));
  out.clear();
  moved.process(t::limit(++seq, ts += 1000, 2, A, I, Buy, 100, 2), out);
  EXPECT_EQ(render_all(out), (Lines{"accepted 2", "fill maker=1/2 taker=2/1 buy 2@100 leaves=3/0",
                                    "position acct=2 inst=0 size=-2 entry=-200000000 pnl=0",
                                    "position acct=1 inst=0 size=2 entry=200000000 pnl=0",
                                    "margin acct=1 c=0 eq=0 im=0 mm=0", "margin acct=2 c=0 eq=0 im=0 mm=0",
                                    "depth 0 sell 100 qty=3 n=1", "top 0 bid=0@0 ask=3@100",
                                    "mark 0 mark=100 index=0 last=100"}));
  EXPECT_EQ(moved.live_orders(), 1u);
  eng = std::move(moved);
  EXPECT_EQ(eng.top(I).ask_qty, 3);
}

TEST_F(EngineTest, SweepStopsAtTheLimitAndRestsTheRemainder) {
  rest({lim(1, B, Sell, 101, 2), lim(2, B, Sell, 102, 3), lim(3, C, Sell, 104, 4), lim(4, C, Buy, 99, 1),
        lim(5, B, Buy, 98, 2)});
  EXPECT_EQ(send(lim(6, A, Buy, 103, 6)), (Lines{"accepted 6", "fill maker=1/2 taker=6/1 buy 2@101 leaves=0/4",
                                                 "position acct=2 inst=0 size=-2 entry=-202000000 pnl=0",
                                                 "position acct=1 inst=0 size=2 entry=202000000 pnl=0",
                                                 "fill maker=2/2 taker=6/1 buy 3@102 leaves=0/1",
                                                 "position acct=2 inst=0 size=-5 entry=-508000000 pnl=0",
                                                 "position acct=1 inst=0 size=5 entry=508000000 pnl=0",
                                                 "margin acct=1 c=0 eq=2000000 im=0 mm=0",
                                                 "margin acct=2 c=0 eq=-2000000 im=0 mm=0",
                                                 "depth 0 buy 103 qty=1 n=1", "depth 0 sell 101 qty=0 n=0",
                                                 "depth 0 sell 102 qty=0 n=0", "top 0 bid=1@103 ask=4@104",
                                                 "mark 0 mark=102 index=0 last=102"}));
  // Bids are listed from the highest price down, asks from the lowest up.
  EXPECT_EQ(send(lim(7, D, Sell, 98, 4)), (Lines{"accepted 7", "fill maker=6/1 taker=7/4 sell 1@103 leaves=0/3",
                                                 "position acct=1 inst=0 size=6 entry=611000000 pnl=0",
                                                 "position acct=4 inst=0 size=-1 entry=-103000000 pnl=0",
                                                 "fill maker=4/3 taker=7/4 sell 1@99 leaves=0/2",
                                                 "position acct=3 inst=0 size=1 entry=99000000 pnl=0",
                                                 "position acct=4 inst=0 size=-2 entry=-202000000 pnl=0",
                                                 "fill maker=5/2 taker=7/4 sell 2@98 leaves=0/0",
                                                 "position acct=2 inst=0 size=-3 entry=-304800000 pnl=7200000",
                                                 "position acct=4 inst=0 size=-4 entry=-398000000 pnl=0",
                                                 "margin acct=1 c=0 eq=-23000000 im=0 mm=0",
                                                 "margin acct=2 c=7200000 eq=18000000 im=0 mm=0",
                                                 "margin acct=3 c=0 eq=-1000000 im=0 mm=0",
                                                 "margin acct=4 c=0 eq=6000000 im=0 mm=0",
                                                 "depth 0 buy 103 qty=0 n=0", "depth 0 buy 99 qty=0 n=0",
                                                 "depth 0 buy 98 qty=0 n=0", "top 0 bid=0@0 ask=4@104",
                                                 "mark 0 mark=98 index=0 last=98"}));
}

TEST_F(EngineTest, LevelThatChangesSideReportsBothSides) {
  rest({lim(1, B, Buy, 100, 5)});
  EXPECT_EQ(send(lim(2, A, Sell, 100, 8)), (Lines{"accepted 2", "fill maker=1/2 taker=2/1 sell 5@100 leaves=0/3",
                                                  "position acct=2 inst=0 size=5 entry=500000000 pnl=0",
                                                  "position acct=1 inst=0 size=-5 entry=-500000000 pnl=0",
                                                  "margin acct=1 c=0 eq=0 im=0 mm=0",
                                                  "margin acct=2 c=0 eq=0 im=0 mm=0", "depth 0 buy 100 qty=0 n=0",
                                                  "depth 0 sell 100 qty=3 n=1", "top 0 bid=0@0 ask=3@100",
                                                  "mark 0 mark=100 index=0 last=100"}));
}

// Classic bug: an IOC remainder left resting.
TEST_F(EngineTest, IocRemainderIsCancelledNotRested) {
  rest({lim(1, B, Sell, 100, 2)});
  EXPECT_EQ(send(lim(2, A, Buy, 100, 5, IOC)), (Lines{"accepted 2", "fill maker=1/2 taker=2/1 buy 2@100 leaves=0/3",
                                                      "position acct=2 inst=0 size=-2 entry=-200000000 pnl=0",
                                                      "position acct=1 inst=0 size=2 entry=200000000 pnl=0",
                                                      "cancelled id=2 acct=1 inst=0 buy qty=3 ioc_remainder",
                                                      "margin acct=1 c=0 eq=0 im=0 mm=0",
                                                      "margin acct=2 c=0 eq=0 im=0 mm=0",
                                                      "depth 0 sell 100 qty=0 n=0", "top 0 bid=0@0 ask=0@0",
                                                      "mark 0 mark=100 index=0 last=100"}));
  EXPECT_EQ(send(lim(3, A, Buy, 99, 5, IOC)), (Lines{"accepted 3",
                                                     "cancelled id=3 acct=1 inst=0 buy qty=5 ioc_remainder",
                                                     "margin acct=1 c=0 eq=0 im=0 mm=0"}));
  EXPECT_EQ(eng.live_orders(), 0u);
  EXPECT_EQ(eng.top(I).bid_qty, 0);
  // Its id is free again.
  EXPECT_EQ(first(lim(3, A, Buy, 99, 5)), "accepted 3");
}

TEST_F(EngineTest, FokNotFilledHasNoOtherEffect) {
  rest({lim(1, B, Sell, 100, 2), lim(2, B, Sell, 101, 2), lim(3, B, Sell, 102, 9)});
  EXPECT_EQ(send(lim(4, A, Buy, 101, 5, FOK)), (Lines{"accepted 4",
                                                      "cancelled id=4 acct=1 inst=0 buy qty=5 fok_not_filled",
                                                      "margin acct=1 c=0 eq=0 im=0 mm=0"}));
  EXPECT_EQ(eng.last_price(I), 0);
  EXPECT_EQ(eng.top(I).ask_qty, 2);
  EXPECT_EQ(send(lim(5, A, Buy, 101, 4, FOK)), (Lines{"accepted 5", "fill maker=1/2 taker=5/1 buy 2@100 leaves=0/2",
                                                      "position acct=2 inst=0 size=-2 entry=-200000000 pnl=0",
                                                      "position acct=1 inst=0 size=2 entry=200000000 pnl=0",
                                                      "fill maker=2/2 taker=5/1 buy 2@101 leaves=0/0",
                                                      "position acct=2 inst=0 size=-4 entry=-402000000 pnl=0",
                                                      "position acct=1 inst=0 size=4 entry=402000000 pnl=0",
                                                      "margin acct=1 c=0 eq=2000000 im=0 mm=0",
                                                      "margin acct=2 c=0 eq=-2000000 im=0 mm=0",
                                                      "depth 0 sell 100 qty=0 n=0", "depth 0 sell 101 qty=0 n=0",
                                                      "top 0 bid=0@0 ask=9@102", "mark 0 mark=101 index=0 last=101"}));
}

TEST_F(EngineTest, FokCountsOnlyOtherAccountsLiquidity) {
  rest({lim(1, A, Sell, 100, 3), lim(2, B, Sell, 100, 3)});
  // An own order stops the walk under CancelIncoming (and Default, and CancelBoth).
  EXPECT_EQ(send(lim(3, A, Buy, 100, 3, FOK, SelfTradePrevention::CancelIncoming)),
            (Lines{"accepted 3", "cancelled id=3 acct=1 inst=0 buy qty=3 fok_not_filled",
                   "margin acct=1 c=0 eq=0 im=0 mm=0"}));
  EXPECT_EQ(send(lim(4, A, Buy, 100, 3, FOK, SelfTradePrevention::CancelBoth)),
            (Lines{"accepted 4", "cancelled id=4 acct=1 inst=0 buy qty=3 fok_not_filled",
                   "margin acct=1 c=0 eq=0 im=0 mm=0"}));
  // ... and is skipped under CancelResting; own 3 + other 3 still cannot fill 4.
  EXPECT_EQ(send(lim(5, A, Buy, 100, 4, FOK, SelfTradePrevention::CancelResting)),
            (Lines{"accepted 5", "cancelled id=5 acct=1 inst=0 buy qty=4 fok_not_filled",
                   "margin acct=1 c=0 eq=0 im=0 mm=0"}));
  EXPECT_EQ(send(lim(6, A, Buy, 100, 3, FOK, SelfTradePrevention::CancelResting)),
            (Lines{"accepted 6", "cancelled id=1 acct=1 inst=0 sell qty=3 self_trade",
                   "fill maker=2/2 taker=6/1 buy 3@100 leaves=0/0",
                   "position acct=2 inst=0 size=-3 entry=-300000000 pnl=0",
                   "position acct=1 inst=0 size=3 entry=300000000 pnl=0", "margin acct=1 c=0 eq=0 im=0 mm=0",
                   "margin acct=2 c=0 eq=0 im=0 mm=0", "depth 0 sell 100 qty=0 n=0", "top 0 bid=0@0 ask=0@0",
                   "mark 0 mark=100 index=0 last=100"}));
}

TEST_F(EngineTest, FokWithEnoughLiquidityBeforeAnOwnOrderFills) {
  rest({lim(1, B, Sell, 100, 3), lim(2, A, Sell, 101, 3)});
  EXPECT_EQ(send(lim(3, A, Buy, 101, 3, FOK)), (Lines{"accepted 3", "fill maker=1/2 taker=3/1 buy 3@100 leaves=0/0",
                                                      "position acct=2 inst=0 size=-3 entry=-300000000 pnl=0",
                                                      "position acct=1 inst=0 size=3 entry=300000000 pnl=0",
                                                      "margin acct=1 c=0 eq=0 im=0 mm=0",
                                                      "margin acct=2 c=0 eq=0 im=0 mm=0",
                                                      "depth 0 sell 100 qty=0 n=0", "top 0 bid=0@0 ask=3@101",
                                                      "mark 0 mark=100 index=0 last=100"}));
}

// ---------------------------------------------------------------------------------------------
// Market orders

TEST_F(EngineTest, MarketOrderOnAnEmptyBookHasNoLiquidity) {
  EXPECT_EQ(send(mkt(1, A, Buy, 5)), (Lines{"accepted 1", "cancelled id=1 acct=1 inst=0 buy qty=5 no_liquidity",
                                            "margin acct=1 c=0 eq=0 im=0 mm=0"}));
  EXPECT_EQ(send(mkt(2, A, Sell, 5, 0, FOK)), (Lines{"accepted 2",
                                                     "cancelled id=2 acct=1 inst=0 sell qty=5 fok_not_filled",
                                                     "margin acct=1 c=0 eq=0 im=0 mm=0"}));
  EXPECT_EQ(eng.live_orders(), 0u);
}

TEST_F(EngineTest, MarketOrderRemainderIsIocRemainder) {
  rest({lim(1, B, Sell, 100, 2), lim(2, B, Sell, 9000, 2)});
  EXPECT_EQ(send(mkt(3, A, Buy, 5)), (Lines{"accepted 3", "fill maker=1/2 taker=3/1 buy 2@100 leaves=0/3",
                                            "position acct=2 inst=0 size=-2 entry=-200000000 pnl=0",
                                            "position acct=1 inst=0 size=2 entry=200000000 pnl=0",
                                            "fill maker=2/2 taker=3/1 buy 2@9000 leaves=0/1",
                                            "position acct=2 inst=0 size=-4 entry=-18200000000 pnl=0",
                                            "position acct=1 inst=0 size=4 entry=18200000000 pnl=0",
                                            "cancelled id=3 acct=1 inst=0 buy qty=1 ioc_remainder",
                                            "margin acct=1 c=0 eq=17800000000 im=0 mm=0",
                                            "margin acct=2 c=0 eq=-17800000000 im=0 mm=0",
                                            "depth 0 sell 100 qty=0 n=0", "depth 0 sell 9000 qty=0 n=0",
                                            "top 0 bid=0@0 ask=0@0", "mark 0 mark=9000 index=0 last=9000"}));
}

TEST_F(EngineTest, MarketOrderWorstPriceLimitsIt) {
  rest({lim(1, B, Sell, 100, 2), lim(2, B, Sell, 105, 2), lim(3, C, Buy, 90, 2), lim(4, C, Buy, 80, 2)});
  EXPECT_EQ(send(mkt(5, A, Buy, 4, 102)), (Lines{"accepted 5", "fill maker=1/2 taker=5/1 buy 2@100 leaves=0/2",
                                                 "position acct=2 inst=0 size=-2 entry=-200000000 pnl=0",
                                                 "position acct=1 inst=0 size=2 entry=200000000 pnl=0",
                                                 "cancelled id=5 acct=1 inst=0 buy qty=2 ioc_remainder",
                                                 "margin acct=1 c=0 eq=0 im=0 mm=0",
                                                 "margin acct=2 c=0 eq=0 im=0 mm=0", "depth 0 sell 100 qty=0 n=0",
                                                 "top 0 bid=2@90 ask=2@105", "mark 0 mark=100 index=0 last=100"}));
  EXPECT_EQ(send(mkt(6, A, Sell, 4, 91)), (Lines{"accepted 6",
                                                 "cancelled id=6 acct=1 inst=0 sell qty=4 no_liquidity",
                                                 "margin acct=1 c=0 eq=0 im=0 mm=0"}));
  EXPECT_EQ(send(mkt(7, A, Sell, 3, 90, FOK)), (Lines{"accepted 7",
                                                      "cancelled id=7 acct=1 inst=0 sell qty=3 fok_not_filled",
                                                      "margin acct=1 c=0 eq=0 im=0 mm=0"}));
  EXPECT_EQ(send(mkt(8, A, Sell, 2, 90, FOK)), (Lines{"accepted 8", "fill maker=3/3 taker=8/1 sell 2@90 leaves=0/0",
                                                      "position acct=3 inst=0 size=2 entry=180000000 pnl=0",
                                                      "position acct=1 inst=0 size=0 entry=0 pnl=-20000000",
                                                      "margin acct=1 c=-20000000 eq=-20000000 im=0 mm=0",
                                                      "margin acct=3 c=0 eq=0 im=0 mm=0",
                                                      "depth 0 buy 90 qty=0 n=0", "top 0 bid=2@80 ask=2@105",
                                                      "mark 0 mark=90 index=0 last=90"}));
}

TEST_F(EngineTest, MarketBandUsesTheReferenceAndTheTickGrid) {
  auto def = t::instrument(0, 0, I, 5, 1, 5, 10000, 1000);
  def.reference_price = 1000;
  def.market_band = 1'300'000;  // 1.3%: d = 13, buy limit floor_to_tick(1013) = 1010, sell ceil_to_tick(987) = 990
  ASSERT_EQ(send(def), Lines{});
  rest({lim(1, B, Sell, 1010, 1), lim(2, B, Sell, 1015, 1), lim(3, C, Buy, 990, 1), lim(4, C, Buy, 985, 1)});
  EXPECT_EQ(send(mkt(5, A, Buy, 2)), (Lines{"accepted 5", "fill maker=1/2 taker=5/1 buy 1@1010 leaves=0/1",
                                            "position acct=2 inst=0 size=-1 entry=-1010000000 pnl=0",
                                            "position acct=1 inst=0 size=1 entry=1010000000 pnl=0",
                                            "cancelled id=5 acct=1 inst=0 buy qty=1 ioc_remainder",
                                            "margin acct=1 c=0 eq=0 im=0 mm=0", "margin acct=2 c=0 eq=0 im=0 mm=0",
                                            "depth 0 sell 1010 qty=0 n=0", "top 0 bid=1@990 ask=1@1015",
                                            "mark 0 mark=1010 index=0 last=1010"}));
  // The reference is now the last trade (1010): d = 13, sell limit ceil_to_tick(997) = 1000.
  EXPECT_EQ(send(mkt(6, A, Sell, 2)), (Lines{"accepted 6", "cancelled id=6 acct=1 inst=0 sell qty=2 no_liquidity",
                                             "margin acct=1 c=0 eq=0 im=0 mm=0"}));
  // An explicit worst price tighter than the band wins; a looser one does not.
  EXPECT_EQ(send(mkt(7, A, Buy, 1, 5000)), (Lines{"accepted 7", "fill maker=2/2 taker=7/1 buy 1@1015 leaves=0/0",
                                                  "position acct=2 inst=0 size=-2 entry=-2025000000 pnl=0",
                                                  "position acct=1 inst=0 size=2 entry=2025000000 pnl=0",
                                                  "margin acct=1 c=0 eq=5000000 im=0 mm=0",
                                                  "margin acct=2 c=0 eq=-5000000 im=0 mm=0",
                                                  "depth 0 sell 1015 qty=0 n=0", "top 0 bid=1@990 ask=0@0",
                                                  "mark 0 mark=1015 index=0 last=1015"}));
}

TEST_F(EngineTest, MarketBandFromTheIndexPriceBeforeAnyTrade) {
  auto def = t::instrument(0, 0, I, 1, 1, 1, 10000, 1000);
  def.reference_price = 1000;
  def.market_band = 1'000'000;  // 1%
  ASSERT_EQ(send(def), Lines{});
  rest({lim(1, B, Sell, 1010, 1), lim(2, B, Sell, 1020, 1)});
  ASSERT_EQ(send(t::index_price(0, 0, I, 1010)), Lines{"mark 0 mark=1010 index=1010 last=0"});  // band: 1010 + 10 = 1020
  EXPECT_EQ(send(mkt(3, A, Buy, 3)), (Lines{"accepted 3", "fill maker=1/2 taker=3/1 buy 1@1010 leaves=0/2",
                                            "position acct=2 inst=0 size=-1 entry=-1010000000 pnl=0",
                                            "position acct=1 inst=0 size=1 entry=1010000000 pnl=0",
                                            "fill maker=2/2 taker=3/1 buy 1@1020 leaves=0/1",
                                            "position acct=2 inst=0 size=-2 entry=-2030000000 pnl=0",
                                            "position acct=1 inst=0 size=2 entry=2030000000 pnl=0",
                                            "cancelled id=3 acct=1 inst=0 buy qty=1 ioc_remainder",
                                            "margin acct=1 c=0 eq=-10000000 im=0 mm=0",
                                            "margin acct=2 c=0 eq=10000000 im=0 mm=0",
                                            "depth 0 sell 1010 qty=0 n=0", "depth 0 sell 1020 qty=0 n=0",
                                            "top 0 bid=0@0 ask=0@0"}));
}

// ---------------------------------------------------------------------------------------------
// Limit price band

TEST_F(EngineTest, LimitPriceBandFollowsTheReference) {
  auto def = t::instrument(0, 0, I, 1, 1, 1, 10000, 1000);
  def.reference_price = 1000;
  def.price_band = 1'000'000;  // 1%: [990, 1010]
  ASSERT_EQ(send(def), Lines{});
  EXPECT_EQ(first(lim(1, A, Buy, 1010, 1)), "accepted 1");
  EXPECT_EQ(send(lim(2, A, Buy, 1011, 1)), Lines{"rejected 2 price_out_of_band"});
  EXPECT_EQ(send(lim(3, A, Buy, 989, 1)), Lines{"rejected 3 price_out_of_band"});
  EXPECT_EQ(first(lim(3, A, Buy, 990, 1)), "accepted 3");
  // Index price without a trade: 1050, d = floor(10.5) = 10.
  ASSERT_EQ(send(t::index_price(0, 0, I, 1050)), Lines{"mark 0 mark=1050 index=1050 last=0"});
  EXPECT_EQ(send(lim(4, B, Sell, 1061, 1)), Lines{"rejected 4 price_out_of_band"});
  EXPECT_EQ(first(lim(4, B, Sell, 1060, 1)), "accepted 4");
  // A stop's trigger is not banded, its limit price is.
  EXPECT_EQ(first(stop_lim(5, C, Buy, 5000, 1060, 1)), "accepted 5");
  EXPECT_EQ(send(stop_lim(6, C, Buy, 5000, 1061, 1)), Lines{"rejected 6 price_out_of_band"});
  // A market order's worst price is not banded.
  EXPECT_EQ(first(mkt(7, C, Buy, 1, 9000)), "accepted 7");  // trades at 1060
  EXPECT_EQ(eng.last_price(I), 1060);
  // Last trade (1060) is now the reference: d = 10, [1050, 1070].
  EXPECT_EQ(send(lim(8, A, Buy, 1049, 1)), Lines{"rejected 8 price_out_of_band"});
  EXPECT_EQ(send(mod(1, A, 1049, 1)), Lines{"rejected 1 price_out_of_band"});
  EXPECT_EQ(first(mod(1, A, 1050, 1)), "modified id=1 acct=1 px=1050 qty=1 kept=0");
}

// ---------------------------------------------------------------------------------------------
// Stops

TEST_F(EngineTest, StopMarketWaitsOffBookThenTriggers) {
  rest({lim(1, B, Sell, 100, 5), lim(2, B, Sell, 101, 5)});
  EXPECT_EQ(send(stop_mkt(3, A, Buy, 100, 3)), (Lines{"accepted 3", "margin acct=1 c=0 eq=0 im=0 mm=0"}));
  EXPECT_EQ(eng.live_orders(), 3u);
  EXPECT_EQ(send(lim(4, C, Buy, 100, 2, IOC)), (Lines{"accepted 4", "fill maker=1/2 taker=4/3 buy 2@100 leaves=3/0",
                                                      "position acct=2 inst=0 size=-2 entry=-200000000 pnl=0",
                                                      "position acct=3 inst=0 size=2 entry=200000000 pnl=0",
                                                      "stop id=3 acct=1 trigger=100 last=100",
                                                      "fill maker=1/2 taker=3/1 buy 3@100 leaves=0/0 flags=8",
                                                      "position acct=2 inst=0 size=-5 entry=-500000000 pnl=0",
                                                      "position acct=1 inst=0 size=3 entry=300000000 pnl=0",
                                                      "margin acct=1 c=0 eq=0 im=0 mm=0",
                                                      "margin acct=2 c=0 eq=0 im=0 mm=0",
                                                      "margin acct=3 c=0 eq=0 im=0 mm=0",
                                                      "depth 0 sell 100 qty=0 n=0", "top 0 bid=0@0 ask=5@101",
                                                      "mark 0 mark=100 index=0 last=100"}));
  EXPECT_EQ(eng.live_orders(), 1u);
}

TEST_F(EngineTest, StopWhoseConditionHoldsTriggersOnArrival) {
  rest({lim(1, B, Sell, 100, 2)});
  ASSERT_EQ(first(lim(2, C, Buy, 100, 1, IOC)), "accepted 2");
  EXPECT_EQ(send(stop_mkt(3, A, Buy, 100, 1)), (Lines{"accepted 3", "stop id=3 acct=1 trigger=100 last=100",
                                                      "fill maker=1/2 taker=3/1 buy 1@100 leaves=0/0 flags=8",
                                                      "position acct=2 inst=0 size=-2 entry=-200000000 pnl=0",
                                                      "position acct=1 inst=0 size=1 entry=100000000 pnl=0",
                                                      "margin acct=1 c=0 eq=0 im=0 mm=0",
                                                      "margin acct=2 c=0 eq=0 im=0 mm=0",
                                                      "depth 0 sell 100 qty=0 n=0", "top 0 bid=0@0 ask=0@0"}));
  // last = 100: a sell stop at 99 waits, one at 100 fires (and finds nothing to sell to).
  EXPECT_EQ(send(stop_mkt(4, A, Sell, 99, 1)), (Lines{"accepted 4", "margin acct=1 c=0 eq=0 im=0 mm=0"}));
  EXPECT_EQ(send(stop_mkt(5, A, Sell, 100, 1)), (Lines{"accepted 5", "stop id=5 acct=1 trigger=100 last=100",
                                                       "cancelled id=5 acct=1 inst=0 sell qty=1 no_liquidity",
                                                       "margin acct=1 c=0 eq=0 im=0 mm=0"}));
  EXPECT_EQ(eng.live_orders(), 1u);
}

// A stop flagged mark_trigger waits for the mark price (here the index: no two-sided book),
// fires at the end of the input event that moved it, and reports the mark in last_price.
TEST_F(EngineTest, MarkStopFiresOnTheMarkNotTheLastTrade) {
  rest({lim(1, B, Buy, 95, 5), lim(2, B, Buy, 90, 5)});
  const auto sl = mark_stop_mkt(3, A, Sell, 97, 2);
  EXPECT_EQ(send(sl), (Lines{"accepted 3", "margin acct=1 c=0 eq=0 im=0 mm=0"}));  // no mark yet
  // Index 100: mark 100, above the trigger.
  EXPECT_EQ(send(t::index_price(0, 0, I, 100)), (Lines{"mark 0 mark=100 index=100 last=0"}));
  // A trade at 95 moves the last price through 97: a last-price stop would fire, this one
  // waits (the mark is still the index, 100).
  EXPECT_EQ(send(mkt(4, C, Sell, 1)), (Lines{"accepted 4", "fill maker=1/2 taker=4/3 sell 1@95 leaves=4/0",
                                             "position acct=2 inst=0 size=1 entry=95000000 pnl=0",
                                             "position acct=3 inst=0 size=-1 entry=-95000000 pnl=0",
                                             "margin acct=2 c=0 eq=5000000 im=0 mm=0",
                                             "margin acct=3 c=0 eq=-5000000 im=0 mm=0", "depth 0 buy 95 qty=4 n=1",
                                             "top 0 bid=4@95 ask=0@0"}));
  EXPECT_EQ(eng.live_orders(), 3u);
  // Index 96: mark 96 <= 97, the stop fires after the event's own processing and sells into
  // the bids; its fills end the event's output as usual.
  EXPECT_EQ(send(t::index_price(0, 0, I, 96)), (Lines{"stop id=3 acct=1 trigger=97 last=96",
                                                      "fill maker=1/2 taker=3/1 sell 2@95 leaves=2/0 flags=8",
                                                      "position acct=2 inst=0 size=3 entry=285000000 pnl=0",
                                                      "position acct=1 inst=0 size=-2 entry=-190000000 pnl=0",
                                                      "margin acct=1 c=0 eq=-2000000 im=0 mm=0",
                                                      "margin acct=2 c=0 eq=3000000 im=0 mm=0",
                                                      "depth 0 buy 95 qty=2 n=1", "top 0 bid=2@95 ask=0@0",
                                                      "mark 0 mark=96 index=96 last=95"}));
  EXPECT_EQ(eng.live_orders(), 2u);
}

// Mark stops: only on stop orders; cancelled like any stop; one arriving already triggered
// fires at the end of its own event.
TEST_F(EngineTest, MarkStopRulesFlagCancelArrivalAndOrder) {
  auto bad = lim(1, A, Buy, 100, 1);
  bad.flags = order_flags::kMarkTrigger;
  EXPECT_EQ(send(bad), Lines{"rejected 1 invalid_flags"});
  ASSERT_EQ(send(t::index_price(0, 0, I, 100)), (Lines{"mark 0 mark=100 index=100 last=0"}));
  const auto far = mark_stop_mkt(2, A, Buy, 150, 1);
  EXPECT_EQ(send(far), (Lines{"accepted 2", "margin acct=1 c=0 eq=0 im=0 mm=0"}));
  EXPECT_EQ(send(cxl(2, A)), (Lines{"cancelled id=2 acct=1 inst=0 buy qty=1 user", "margin acct=1 c=0 eq=0 im=0 mm=0"}));
  rest({lim(3, B, Sell, 100, 5)});
  // Arrives triggered (mark 100 >= 99): fires at the end of its own event.
  const auto now = mark_stop_mkt(4, A, Buy, 99, 1);
  EXPECT_EQ(send(now), (Lines{"accepted 4", "stop id=4 acct=1 trigger=99 last=100",
                              "fill maker=3/2 taker=4/1 buy 1@100 leaves=4/0 flags=8",
                              "position acct=2 inst=0 size=-1 entry=-100000000 pnl=0",
                              "position acct=1 inst=0 size=1 entry=100000000 pnl=0",
                              "margin acct=1 c=0 eq=0 im=0 mm=0", "margin acct=2 c=0 eq=0 im=0 mm=0",
                              "depth 0 sell 100 qty=4 n=1", "top 0 bid=0@0 ask=4@100"}));
  EXPECT_EQ(eng.live_orders(), 1u);
}

// Classic bug, mark-price edition: a mark stop whose trade moves the mark fires the next one.
// Mark = median(index, best bid, best ask): 99 with the index at 90 and the book 99/101.
TEST_F(EngineTest, MarkStopTradesMoveTheMarkAndFireTheNext) {
  rest({lim(1, B, Buy, 99, 1), lim(2, B, Buy, 92, 5), lim(3, B, Sell, 101, 5)});
  ASSERT_EQ(send(t::index_price(0, 0, I, 90)), (Lines{"mark 0 mark=99 index=90 last=0"}));
  const auto waits = mark_stop_mkt(4, C, Sell, 95, 1);
  EXPECT_EQ(send(waits), (Lines{"accepted 4", "margin acct=3 c=0 eq=0 im=0 mm=0"}));
  const auto fires = mark_stop_mkt(5, A, Sell, 99, 1);
  // Stop 5 sells at 99, emptying that bid: the mark falls to median(90, 92, 101) = 92, which
  // fires stop 4 before the event ends.
  Lines stops_and_fills;
  for (const std::string& l : send(fires))
    if (l.rfind("stop ", 0) == 0 || l.rfind("fill ", 0) == 0 || l.rfind("mark ", 0) == 0) stops_and_fills.push_back(l);
  EXPECT_EQ(stops_and_fills, (Lines{"stop id=5 acct=1 trigger=99 last=99",
                                    "fill maker=1/2 taker=5/1 sell 1@99 leaves=0/0 flags=8",
                                    "stop id=4 acct=3 trigger=95 last=92",
                                    "fill maker=2/2 taker=4/3 sell 1@92 leaves=4/0 flags=8",
                                    "mark 0 mark=92 index=90 last=92"}));
  EXPECT_EQ(eng.live_orders(), 2u);
}

TEST_F(EngineTest, StopsWaitUntilTheFirstTrade) {
  // No last trade price yet: not even a sell stop fires.
  EXPECT_EQ(send(stop_mkt(1, A, Sell, 100, 1)), (Lines{"accepted 1", "margin acct=1 c=0 eq=0 im=0 mm=0"}));
  EXPECT_EQ(send(stop_lim(2, A, Buy, 1, 50, 1)), (Lines{"accepted 2", "margin acct=1 c=0 eq=0 im=0 mm=0"}));
  EXPECT_EQ(eng.live_orders(), 2u);
}

// Classic bug: triggered stops checked in one pass only.
TEST_F(EngineTest, TriggeredStopsTriggerFurtherStops) {
  rest({lim(1, B, Sell, 101, 1), lim(2, B, Sell, 102, 1), lim(3, B, Sell, 103, 5)});
  // Stop 6 is accepted first and at a higher trigger: a single pass in acceptance order over
  // "triggered at 101" would miss it.
  EXPECT_EQ(send(stop_mkt(6, C, Buy, 102, 1)), (Lines{"accepted 6", "margin acct=3 c=0 eq=0 im=0 mm=0"}));
  EXPECT_EQ(send(stop_mkt(5, A, Buy, 101, 1)), (Lines{"accepted 5", "margin acct=1 c=0 eq=0 im=0 mm=0"}));
  EXPECT_EQ(send(lim(7, D, Buy, 101, 1, IOC)), (Lines{"accepted 7", "fill maker=1/2 taker=7/4 buy 1@101 leaves=0/0",
                                                      "position acct=2 inst=0 size=-1 entry=-101000000 pnl=0",
                                                      "position acct=4 inst=0 size=1 entry=101000000 pnl=0",
                                                      "stop id=5 acct=1 trigger=101 last=101",
                                                      "fill maker=2/2 taker=5/1 buy 1@102 leaves=0/0 flags=8",
                                                      "position acct=2 inst=0 size=-2 entry=-203000000 pnl=0",
                                                      "position acct=1 inst=0 size=1 entry=102000000 pnl=0",
                                                      "stop id=6 acct=3 trigger=102 last=102",
                                                      "fill maker=3/2 taker=6/3 buy 1@103 leaves=4/0 flags=8",
                                                      "position acct=2 inst=0 size=-3 entry=-306000000 pnl=0",
                                                      "position acct=3 inst=0 size=1 entry=103000000 pnl=0",
                                                      "margin acct=1 c=0 eq=1000000 im=0 mm=0",
                                                      "margin acct=2 c=0 eq=-3000000 im=0 mm=0",
                                                      "margin acct=3 c=0 eq=0 im=0 mm=0",
                                                      "margin acct=4 c=0 eq=2000000 im=0 mm=0",
                                                      "depth 0 sell 101 qty=0 n=0", "depth 0 sell 102 qty=0 n=0",
                                                      "depth 0 sell 103 qty=4 n=1", "top 0 bid=0@0 ask=4@103",
                                                      "mark 0 mark=103 index=0 last=103"}));
  EXPECT_EQ(eng.last_price(I), 103);
  EXPECT_EQ(eng.live_orders(), 1u);
}

TEST_F(EngineTest, SellStopChainDownwards) {
  rest({lim(1, B, Buy, 100, 1), lim(2, B, Buy, 99, 1), lim(3, B, Buy, 98, 1)});
  rest({stop_mkt(4, A, Sell, 100, 1), stop_lim(5, C, Sell, 99, 97, 2)});
  EXPECT_EQ(send(lim(6, D, Sell, 100, 1)), (Lines{"accepted 6", "fill maker=1/2 taker=6/4 sell 1@100 leaves=0/0",
                                                  "position acct=2 inst=0 size=1 entry=100000000 pnl=0",
                                                  "position acct=4 inst=0 size=-1 entry=-100000000 pnl=0",
                                                  "stop id=4 acct=1 trigger=100 last=100",
                                                  "fill maker=2/2 taker=4/1 sell 1@99 leaves=0/0 flags=8",
                                                  "position acct=2 inst=0 size=2 entry=199000000 pnl=0",
                                                  "position acct=1 inst=0 size=-1 entry=-99000000 pnl=0",
                                                  "stop id=5 acct=3 trigger=99 last=99",
                                                  "fill maker=3/2 taker=5/3 sell 1@98 leaves=0/1 flags=8",
                                                  "position acct=2 inst=0 size=3 entry=297000000 pnl=0",
                                                  "position acct=3 inst=0 size=-1 entry=-98000000 pnl=0",
                                                  "margin acct=1 c=0 eq=1000000 im=0 mm=0",
                                                  "margin acct=2 c=0 eq=-3000000 im=0 mm=0",
                                                  "margin acct=3 c=0 eq=0 im=0 mm=0",
                                                  "margin acct=4 c=0 eq=2000000 im=0 mm=0",
                                                  "depth 0 buy 100 qty=0 n=0", "depth 0 buy 99 qty=0 n=0",
                                                  "depth 0 buy 98 qty=0 n=0", "depth 0 sell 97 qty=1 n=1",
                                                  "top 0 bid=0@0 ask=1@97", "mark 0 mark=98 index=0 last=98"}));
}

TEST_F(EngineTest, StopPriorityBuysFirstLowestTriggerThenAcceptance) {
  rest({lim(1, B, Sell, 100, 10)});
  // Stop-limits that rest after triggering, so the order of StopTriggered is all that moves.
  rest({stop_lim(10, C, Buy, 100, 50, 1), stop_lim(11, C, Buy, 99, 51, 1), stop_lim(12, C, Sell, 100, 150, 1),
        stop_lim(13, C, Buy, 99, 52, 1), stop_lim(14, C, Sell, 101, 151, 1), stop_lim(15, C, Sell, 99, 152, 1),
        stop_lim(16, C, Buy, 101, 53, 1)});
  EXPECT_EQ(send(lim(20, A, Buy, 100, 1, IOC)), (Lines{"accepted 20",
                                                       "fill maker=1/2 taker=20/1 buy 1@100 leaves=9/0",
                                                       "position acct=2 inst=0 size=-1 entry=-100000000 pnl=0",
                                                       "position acct=1 inst=0 size=1 entry=100000000 pnl=0",
                                                       "stop id=11 acct=3 trigger=99 last=100",
                                                       "stop id=13 acct=3 trigger=99 last=100",
                                                       "stop id=10 acct=3 trigger=100 last=100",
                                                       "stop id=14 acct=3 trigger=101 last=100",
                                                       "stop id=12 acct=3 trigger=100 last=100",
                                                       "margin acct=1 c=0 eq=0 im=0 mm=0",
                                                       "margin acct=2 c=0 eq=0 im=0 mm=0",
                                                       "margin acct=3 c=0 eq=0 im=0 mm=0",
                                                       "depth 0 buy 52 qty=1 n=1", "depth 0 buy 51 qty=1 n=1",
                                                       "depth 0 buy 50 qty=1 n=1", "depth 0 sell 100 qty=9 n=1",
                                                       "depth 0 sell 150 qty=1 n=1", "depth 0 sell 151 qty=1 n=1",
                                                       "top 0 bid=1@52 ask=9@100",
                                                       "mark 0 mark=100 index=0 last=100"}));
  EXPECT_EQ(eng.live_orders(), 8u);  // 1 + five rested + two waiting stops
}

TEST_F(EngineTest, TriggeredStopLimitTradesThenRests) {
  rest({lim(1, B, Sell, 100, 2), lim(2, B, Sell, 101, 2), lim(3, B, Sell, 102, 2)});
  rest({stop_lim(5, A, Buy, 100, 101, 5)});
  EXPECT_EQ(send(lim(4, C, Buy, 100, 1, IOC)), (Lines{"accepted 4", "fill maker=1/2 taker=4/3 buy 1@100 leaves=1/0",
                                                      "position acct=2 inst=0 size=-1 entry=-100000000 pnl=0",
                                                      "position acct=3 inst=0 size=1 entry=100000000 pnl=0",
                                                      "stop id=5 acct=1 trigger=100 last=100",
                                                      "fill maker=1/2 taker=5/1 buy 1@100 leaves=0/4 flags=8",
                                                      "position acct=2 inst=0 size=-2 entry=-200000000 pnl=0",
                                                      "position acct=1 inst=0 size=1 entry=100000000 pnl=0",
                                                      "fill maker=2/2 taker=5/1 buy 2@101 leaves=0/2 flags=8",
                                                      "position acct=2 inst=0 size=-4 entry=-402000000 pnl=0",
                                                      "position acct=1 inst=0 size=3 entry=302000000 pnl=0",
                                                      "margin acct=1 c=0 eq=1000000 im=0 mm=0",
                                                      "margin acct=2 c=0 eq=-2000000 im=0 mm=0",
                                                      "margin acct=3 c=0 eq=1000000 im=0 mm=0",
                                                      "depth 0 buy 101 qty=2 n=1", "depth 0 sell 100 qty=0 n=0",
                                                      "depth 0 sell 101 qty=0 n=0", "top 0 bid=2@101 ask=2@102",
                                                      "mark 0 mark=101 index=0 last=101"}));
  // It is an ordinary resting order now: modifiable, cancellable.
  EXPECT_EQ(send(mod(5, A, 101, 1)), (Lines{"modified id=5 acct=1 px=101 qty=1 kept=1",
                                            "margin acct=1 c=0 eq=1000000 im=0 mm=0", "depth 0 buy 101 qty=1 n=1",
                                            "top 0 bid=1@101 ask=2@102"}));
  EXPECT_EQ(first(cxl(5, A)), "cancelled id=5 acct=1 inst=0 buy qty=1 user");
}

TEST_F(EngineTest, TriggeredStopLimitIocAndStopMarketWorstPrice) {
  rest({lim(1, B, Sell, 100, 1), lim(2, B, Sell, 101, 5)});
  rest({stop_lim(3, A, Buy, 100, 100, 4, IOC), stop_mkt(4, C, Buy, 100, 9, 101)});
  EXPECT_EQ(send(lim(5, D, Buy, 100, 1, IOC)), (Lines{"accepted 5", "fill maker=1/2 taker=5/4 buy 1@100 leaves=0/0",
                                                      "position acct=2 inst=0 size=-1 entry=-100000000 pnl=0",
                                                      "position acct=4 inst=0 size=1 entry=100000000 pnl=0",
                                                      "stop id=3 acct=1 trigger=100 last=100",
                                                      "cancelled id=3 acct=1 inst=0 buy qty=4 ioc_remainder",
                                                      "stop id=4 acct=3 trigger=100 last=100",
                                                      "fill maker=2/2 taker=4/3 buy 5@101 leaves=0/4 flags=8",
                                                      "position acct=2 inst=0 size=-6 entry=-605000000 pnl=0",
                                                      "position acct=3 inst=0 size=5 entry=505000000 pnl=0",
                                                      "cancelled id=4 acct=3 inst=0 buy qty=4 ioc_remainder",
                                                      "margin acct=1 c=0 eq=0 im=0 mm=0",
                                                      "margin acct=2 c=0 eq=-1000000 im=0 mm=0",
                                                      "margin acct=3 c=0 eq=0 im=0 mm=0",
                                                      "margin acct=4 c=0 eq=1000000 im=0 mm=0",
                                                      "depth 0 sell 100 qty=0 n=0", "depth 0 sell 101 qty=0 n=0",
                                                      "top 0 bid=0@0 ask=0@0", "mark 0 mark=101 index=0 last=101"}));
  EXPECT_EQ(eng.live_orders(), 0u);
}

TEST_F(EngineTest, StopsAreCheckedAfterACrossingModify) {
  rest({lim(1, B, Sell, 105, 1), lim(2, B, Sell, 106, 1), lim(3, A, Buy, 100, 1), stop_mkt(4, C, Buy, 105, 1)});
  EXPECT_EQ(send(mod(3, A, 105, 1)), (Lines{"modified id=3 acct=1 px=105 qty=1 kept=0",
                                            "fill maker=1/2 taker=3/1 buy 1@105 leaves=0/0",
                                            "position acct=2 inst=0 size=-1 entry=-105000000 pnl=0",
                                            "position acct=1 inst=0 size=1 entry=105000000 pnl=0",
                                            "stop id=4 acct=3 trigger=105 last=105",
                                            "fill maker=2/2 taker=4/3 buy 1@106 leaves=0/0 flags=8",
                                            "position acct=2 inst=0 size=-2 entry=-211000000 pnl=0",
                                            "position acct=3 inst=0 size=1 entry=106000000 pnl=0",
                                            "margin acct=1 c=0 eq=1000000 im=0 mm=0",
                                            "margin acct=2 c=0 eq=-1000000 im=0 mm=0",
                                            "margin acct=3 c=0 eq=0 im=0 mm=0", "depth 0 buy 100 qty=0 n=0",
                                            "depth 0 sell 105 qty=0 n=0", "depth 0 sell 106 qty=0 n=0",
                                            "top 0 bid=0@0 ask=0@0", "mark 0 mark=106 index=0 last=106"}));
}

TEST_F(EngineTest, CancelledStopNeverTriggers) {
  rest({lim(1, B, Sell, 100, 5), stop_mkt(2, A, Buy, 100, 1)});
  EXPECT_EQ(send(cxl(2, A)), (Lines{"cancelled id=2 acct=1 inst=0 buy qty=1 user",
                                    "margin acct=1 c=0 eq=0 im=0 mm=0"}));
  EXPECT_EQ(send(lim(3, C, Buy, 100, 1)), (Lines{"accepted 3", "fill maker=1/2 taker=3/3 buy 1@100 leaves=4/0",
                                                 "position acct=2 inst=0 size=-1 entry=-100000000 pnl=0",
                                                 "position acct=3 inst=0 size=1 entry=100000000 pnl=0",
                                                 "margin acct=2 c=0 eq=0 im=0 mm=0",
                                                 "margin acct=3 c=0 eq=0 im=0 mm=0", "depth 0 sell 100 qty=4 n=1",
                                                 "top 0 bid=0@0 ask=4@100", "mark 0 mark=100 index=0 last=100"}));
  EXPECT_EQ(send(mod(2, A, 100, 1)), Lines{"rejected 2 unknown_order"});
}

// ---------------------------------------------------------------------------------------------
// Self-trade prevention

TEST_F(EngineTest, StpDefaultCancelsTheIncomingOrder) {
  rest({lim(1, A, Sell, 100, 2), lim(2, B, Sell, 100, 2)});
  EXPECT_EQ(send(lim(3, A, Buy, 101, 5)), (Lines{"accepted 3", "cancelled id=3 acct=1 inst=0 buy qty=5 self_trade",
                                                 "margin acct=1 c=0 eq=0 im=0 mm=0"}));
  EXPECT_EQ(eng.live_orders(), 2u);
}

TEST_F(EngineTest, StpCancelIncomingAfterPartialFill) {
  rest({lim(1, B, Sell, 100, 2), lim(2, A, Sell, 100, 2)});
  EXPECT_EQ(send(lim(3, A, Buy, 100, 5, GTC, SelfTradePrevention::CancelIncoming)),
            (Lines{"accepted 3", "fill maker=1/2 taker=3/1 buy 2@100 leaves=0/3",
                   "position acct=2 inst=0 size=-2 entry=-200000000 pnl=0",
                   "position acct=1 inst=0 size=2 entry=200000000 pnl=0",
                   "cancelled id=3 acct=1 inst=0 buy qty=3 self_trade", "margin acct=1 c=0 eq=0 im=0 mm=0",
                   "margin acct=2 c=0 eq=0 im=0 mm=0", "depth 0 sell 100 qty=2 n=1", "top 0 bid=0@0 ask=2@100",
                   "mark 0 mark=100 index=0 last=100"}));
}

TEST_F(EngineTest, StpCancelRestingKeepsMatching) {
  rest({lim(1, A, Sell, 100, 2), lim(2, B, Sell, 100, 2), lim(3, A, Sell, 101, 2), lim(4, B, Sell, 101, 2)});
  EXPECT_EQ(send(lim(5, A, Buy, 101, 5, GTC, SelfTradePrevention::CancelResting)),
            (Lines{"accepted 5", "cancelled id=1 acct=1 inst=0 sell qty=2 self_trade",
                   "fill maker=2/2 taker=5/1 buy 2@100 leaves=0/3",
                   "position acct=2 inst=0 size=-2 entry=-200000000 pnl=0",
                   "position acct=1 inst=0 size=2 entry=200000000 pnl=0",
                   "cancelled id=3 acct=1 inst=0 sell qty=2 self_trade",
                   "fill maker=4/2 taker=5/1 buy 2@101 leaves=0/1",
                   "position acct=2 inst=0 size=-4 entry=-402000000 pnl=0",
                   "position acct=1 inst=0 size=4 entry=402000000 pnl=0", "margin acct=1 c=0 eq=2000000 im=0 mm=0",
                   "margin acct=2 c=0 eq=-2000000 im=0 mm=0", "depth 0 buy 101 qty=1 n=1",
                   "depth 0 sell 100 qty=0 n=0", "depth 0 sell 101 qty=0 n=0", "top 0 bid=1@101 ask=0@0",
                   "mark 0 mark=101 index=0 last=101"}));
}

TEST_F(EngineTest, StpCancelBothCancelsRestingThenIncoming) {
  rest({lim(1, B, Sell, 100, 2), lim(2, A, Sell, 100, 2), lim(3, B, Sell, 100, 2)});
  EXPECT_EQ(send(lim(4, A, Buy, 100, 5, GTC, SelfTradePrevention::CancelBoth)),
            (Lines{"accepted 4", "fill maker=1/2 taker=4/1 buy 2@100 leaves=0/3",
                   "position acct=2 inst=0 size=-2 entry=-200000000 pnl=0",
                   "position acct=1 inst=0 size=2 entry=200000000 pnl=0",
                   "cancelled id=2 acct=1 inst=0 sell qty=2 self_trade",
                   "cancelled id=4 acct=1 inst=0 buy qty=3 self_trade", "margin acct=1 c=0 eq=0 im=0 mm=0",
                   "margin acct=2 c=0 eq=0 im=0 mm=0", "depth 0 sell 100 qty=2 n=1", "top 0 bid=0@0 ask=2@100",
                   "mark 0 mark=100 index=0 last=100"}));
}

TEST_F(EngineTest, StpOnAMarketOrderIsSelfTradeNotNoLiquidity) {
  rest({lim(1, A, Sell, 100, 2)});
  EXPECT_EQ(send(mkt(2, A, Buy, 1)), (Lines{"accepted 2", "cancelled id=2 acct=1 inst=0 buy qty=1 self_trade",
                                            "margin acct=1 c=0 eq=0 im=0 mm=0"}));
}

// ---------------------------------------------------------------------------------------------
// Modify

TEST_F(EngineTest, ModifyDecreaseKeepsPriority) {
  rest({lim(1, B, Sell, 100, 5), lim(2, C, Sell, 100, 5)});
  EXPECT_EQ(send(mod(1, B, 100, 3)), (Lines{"modified id=1 acct=2 px=100 qty=3 kept=1",
                                            "margin acct=2 c=0 eq=0 im=0 mm=0", "depth 0 sell 100 qty=8 n=2",
                                            "top 0 bid=0@0 ask=8@100"}));
  EXPECT_EQ(send(lim(3, A, Buy, 100, 3, IOC)), (Lines{"accepted 3", "fill maker=1/2 taker=3/1 buy 3@100 leaves=0/0",
                                                      "position acct=2 inst=0 size=-3 entry=-300000000 pnl=0",
                                                      "position acct=1 inst=0 size=3 entry=300000000 pnl=0",
                                                      "margin acct=1 c=0 eq=0 im=0 mm=0",
                                                      "margin acct=2 c=0 eq=0 im=0 mm=0",
                                                      "depth 0 sell 100 qty=5 n=1", "top 0 bid=0@0 ask=5@100",
                                                      "mark 0 mark=100 index=0 last=100"}));
}

TEST_F(EngineTest, ModifyIncreaseLosesPriority) {
  rest({lim(1, B, Sell, 100, 5), lim(2, C, Sell, 100, 5)});
  EXPECT_EQ(send(mod(1, B, 100, 6)), (Lines{"modified id=1 acct=2 px=100 qty=6 kept=0",
                                            "margin acct=2 c=0 eq=0 im=0 mm=0", "depth 0 sell 100 qty=11 n=2",
                                            "top 0 bid=0@0 ask=11@100"}));
  EXPECT_EQ(send(lim(3, A, Buy, 100, 6, IOC)), (Lines{"accepted 3", "fill maker=2/3 taker=3/1 buy 5@100 leaves=0/1",
                                                      "position acct=3 inst=0 size=-5 entry=-500000000 pnl=0",
                                                      "position acct=1 inst=0 size=5 entry=500000000 pnl=0",
                                                      "fill maker=1/2 taker=3/1 buy 1@100 leaves=5/0",
                                                      "position acct=2 inst=0 size=-1 entry=-100000000 pnl=0",
                                                      "position acct=1 inst=0 size=6 entry=600000000 pnl=0",
                                                      "margin acct=1 c=0 eq=0 im=0 mm=0",
                                                      "margin acct=2 c=0 eq=0 im=0 mm=0",
                                                      "margin acct=3 c=0 eq=0 im=0 mm=0",
                                                      "depth 0 sell 100 qty=5 n=1", "top 0 bid=0@0 ask=5@100",
                                                      "mark 0 mark=100 index=0 last=100"}));
}

TEST_F(EngineTest, ModifyPriceChangeLosesPriority) {
  rest({lim(1, B, Sell, 100, 5), lim(2, C, Sell, 101, 5)});
  EXPECT_EQ(send(mod(1, B, 101, 5)), (Lines{"modified id=1 acct=2 px=101 qty=5 kept=0",
                                            "margin acct=2 c=0 eq=0 im=0 mm=0", "depth 0 sell 100 qty=0 n=0",
                                            "depth 0 sell 101 qty=10 n=2", "top 0 bid=0@0 ask=10@101"}));
  EXPECT_EQ(send(lim(3, A, Buy, 101, 5, IOC)), (Lines{"accepted 3", "fill maker=2/3 taker=3/1 buy 5@101 leaves=0/0",
                                                      "position acct=3 inst=0 size=-5 entry=-505000000 pnl=0",
                                                      "position acct=1 inst=0 size=5 entry=505000000 pnl=0",
                                                      "margin acct=1 c=0 eq=0 im=0 mm=0",
                                                      "margin acct=3 c=0 eq=0 im=0 mm=0",
                                                      "depth 0 sell 101 qty=5 n=1", "top 0 bid=0@0 ask=5@101",
                                                      "mark 0 mark=101 index=0 last=101"}));
  // A lower price with a smaller quantity also re-queues.
  EXPECT_EQ(first(mod(1, B, 102, 4)), "modified id=1 acct=2 px=102 qty=4 kept=0");
}

// Classic bug: a crossing modify not matched.
TEST_F(EngineTest, CrossingModifyIsMatched) {
  rest({lim(1, A, Buy, 99, 5), lim(2, B, Sell, 101, 3), lim(3, C, Sell, 102, 3)});
  EXPECT_EQ(send(mod(1, A, 101, 5)), (Lines{"modified id=1 acct=1 px=101 qty=5 kept=0",
                                            "fill maker=2/2 taker=1/1 buy 3@101 leaves=0/2",
                                            "position acct=2 inst=0 size=-3 entry=-303000000 pnl=0",
                                            "position acct=1 inst=0 size=3 entry=303000000 pnl=0",
                                            "margin acct=1 c=0 eq=0 im=0 mm=0", "margin acct=2 c=0 eq=0 im=0 mm=0",
                                            "depth 0 buy 101 qty=2 n=1", "depth 0 buy 99 qty=0 n=0",
                                            "depth 0 sell 101 qty=0 n=0", "top 0 bid=2@101 ask=3@102",
                                            "mark 0 mark=101 index=0 last=101"}));
  // Fully filled by a crossing modify: the order is gone.
  EXPECT_EQ(send(mod(1, A, 102, 2)), (Lines{"modified id=1 acct=1 px=102 qty=2 kept=0",
                                            "fill maker=3/3 taker=1/1 buy 2@102 leaves=1/0",
                                            "position acct=3 inst=0 size=-2 entry=-204000000 pnl=0",
                                            "position acct=1 inst=0 size=5 entry=507000000 pnl=0",
                                            "margin acct=1 c=0 eq=3000000 im=0 mm=0",
                                            "margin acct=3 c=0 eq=0 im=0 mm=0", "depth 0 buy 101 qty=0 n=0",
                                            "depth 0 sell 102 qty=1 n=1", "top 0 bid=0@0 ask=1@102",
                                            "mark 0 mark=102 index=0 last=102"}));
  EXPECT_EQ(send(cxl(1, A)), Lines{"rejected 1 unknown_order"});
}

TEST_F(EngineTest, CrossingModifyObeysStp) {
  rest({lim(1, A, Buy, 99, 5), lim(2, A, Sell, 101, 3)});
  EXPECT_EQ(send(mod(1, A, 101, 5)), (Lines{"modified id=1 acct=1 px=101 qty=5 kept=0",
                                            "cancelled id=1 acct=1 inst=0 buy qty=5 self_trade",
                                            "margin acct=1 c=0 eq=0 im=0 mm=0", "depth 0 buy 99 qty=0 n=0",
                                            "top 0 bid=0@0 ask=3@101"}));
  EXPECT_EQ(eng.live_orders(), 1u);
}

// Classic bug: a modify acknowledged for a filled order.
TEST_F(EngineTest, ModifyOfAFilledOrderIsUnknownOrder) {
  rest({lim(1, B, Sell, 100, 5)});
  ASSERT_EQ(first(lim(2, A, Buy, 100, 5)), "accepted 2");
  EXPECT_EQ(send(mod(1, B, 100, 3)), Lines{"rejected 1 unknown_order"});
  EXPECT_EQ(send(mod(2, A, 100, 3)), Lines{"rejected 2 unknown_order"});
  rest({lim(3, B, Sell, 100, 5)});
  ASSERT_EQ(first(cxl(3, B)), "cancelled id=3 acct=2 inst=0 sell qty=5 user");
  EXPECT_EQ(send(mod(3, B, 100, 3)), Lines{"rejected 3 unknown_order"});
}

TEST_F(EngineTest, ModifyQuantityIsTheOpenQuantity) {
  rest({lim(1, B, Sell, 100, 10)});
  ASSERT_EQ(first(lim(2, A, Buy, 100, 3, IOC)), "accepted 2");
  EXPECT_EQ(send(mod(1, B, 100, 7)), Lines{"rejected 1 modify_no_change"});
  EXPECT_EQ(send(mod(1, B, 100, 8)), (Lines{"modified id=1 acct=2 px=100 qty=8 kept=0",
                                            "margin acct=2 c=0 eq=0 im=0 mm=0", "depth 0 sell 100 qty=8 n=1",
                                            "top 0 bid=0@0 ask=8@100"}));
  EXPECT_EQ(send(mod(1, B, 100, 5)), (Lines{"modified id=1 acct=2 px=100 qty=5 kept=1",
                                            "margin acct=2 c=0 eq=0 im=0 mm=0", "depth 0 sell 100 qty=5 n=1",
                                            "top 0 bid=0@0 ask=5@100"}));
}

TEST_F(EngineTest, ModifyRejectsInValidationOrder) {
  rest({lim(1, A, Buy, 100, 10), stop_mkt(2, A, Buy, 200, 10), lim(3, B, Sell, 110, 10)});
  auto po = lim(4, A, Buy, 105, 10);
  po.flags = order_flags::kPostOnly;
  rest({po});
  auto i1 = t::limit(0, 0, 5, A, I1, Buy, 100, 10);
  rest({i1});
  EXPECT_EQ(send(mod(1, A, 100, 5, 3)), Lines{"rejected 1 unknown_instrument"});
  EXPECT_EQ(send(mod(1, A, 100, 5, 200)), Lines{"rejected 1 unknown_instrument"});
  EXPECT_EQ(send(mod(1, 16, 100, 5)), Lines{"rejected 1 unknown_account"});
  EXPECT_EQ(send(mod(99, A, 100, 5)), Lines{"rejected 99 unknown_order"});
  EXPECT_EQ(send(mod(0, A, 100, 5)), Lines{"rejected 0 unknown_order"});
  EXPECT_EQ(send(mod(1, A, 100, 5, I1)), Lines{"rejected 1 unknown_order"});  // lives on I
  EXPECT_EQ(send(mod(1, B, 100, 5)), Lines{"rejected 1 not_order_owner"});
  EXPECT_EQ(send(mod(2, A, 100, 0)), Lines{"rejected 2 invalid_order_type"});  // untriggered stop
  EXPECT_EQ(send(mod(1, A, 100, 0)), Lines{"rejected 1 invalid_quantity"});
  EXPECT_EQ(send(mod(1, A, 100, -1)), Lines{"rejected 1 invalid_quantity"});
  EXPECT_EQ(send(mod(1, A, 100, 1001)), Lines{"rejected 1 invalid_quantity"});
  EXPECT_EQ(send(mod(5, A, 100, 15, I1)), Lines{"rejected 5 quantity_off_lot"});
  EXPECT_EQ(send(mod(1, A, 0, 5)), Lines{"rejected 1 invalid_price"});
  EXPECT_EQ(send(mod(1, A, -3, 5)), Lines{"rejected 1 invalid_price"});
  EXPECT_EQ(send(mod(5, A, 102, 10, I1)), Lines{"rejected 5 price_off_tick"});
  EXPECT_EQ(send(mod(5, A, 505, 10, I1)), Lines{"rejected 5 price_out_of_range"});
  EXPECT_EQ(send(mod(5, A, 45, 10, I1)), Lines{"rejected 5 price_out_of_range"});
  EXPECT_EQ(send(mod(1, A, 10001, 5)), Lines{"rejected 1 price_out_of_range"});
  EXPECT_EQ(send(mod(1, A, 100, 10)), Lines{"rejected 1 modify_no_change"});
  // Post-only: a new price that would take is rejected and the order stays as it was.
  EXPECT_EQ(send(mod(4, A, 110, 10)), Lines{"rejected 4 post_only_would_take"});
  EXPECT_EQ(send(mod(4, A, 111, 5)), Lines{"rejected 4 post_only_would_take"});
  EXPECT_EQ(eng.top(I).bid_price, 105);
  EXPECT_EQ(eng.top(I).bid_qty, 10);
  EXPECT_EQ(first(mod(4, A, 109, 10)), "modified id=4 acct=1 px=109 qty=10 kept=0");
  // Precedence: the first failing check wins.
  EXPECT_EQ(send(mod(1, 16, 0, 0, 3)), Lines{"rejected 1 unknown_instrument"});
  EXPECT_EQ(send(mod(1, B, 0, 0)), Lines{"rejected 1 not_order_owner"});
  EXPECT_EQ(send(mod(1, A, 0, 0)), Lines{"rejected 1 invalid_quantity"});
  EXPECT_EQ(send(mod(5, A, 102, 15, I1)), Lines{"rejected 5 quantity_off_lot"});
  EXPECT_EQ(eng.live_orders(), 5u);
}

// ---------------------------------------------------------------------------------------------
// Cancel and the cached best price

// Classic bug: a stale best bid after cancelling the best order.
TEST_F(EngineTest, CancelOfTheBestMovesTheTop) {
  rest({lim(1, A, Buy, 100, 5), lim(2, A, Buy, 99, 3), lim(3, A, Buy, 97, 1)});
  EXPECT_EQ(send(cxl(1, A)), (Lines{"cancelled id=1 acct=1 inst=0 buy qty=5 user",
                                    "margin acct=1 c=0 eq=0 im=0 mm=0", "depth 0 buy 100 qty=0 n=0",
                                    "top 0 bid=3@99 ask=0@0"}));
  EXPECT_EQ(send(lim(4, B, Sell, 98, 4)), (Lines{"accepted 4", "fill maker=2/1 taker=4/2 sell 3@99 leaves=0/1",
                                                 "position acct=1 inst=0 size=3 entry=297000000 pnl=0",
                                                 "position acct=2 inst=0 size=-3 entry=-297000000 pnl=0",
                                                 "margin acct=1 c=0 eq=0 im=0 mm=0",
                                                 "margin acct=2 c=0 eq=0 im=0 mm=0", "depth 0 buy 99 qty=0 n=0",
                                                 "depth 0 sell 98 qty=1 n=1", "top 0 bid=1@97 ask=1@98",
                                                 "mark 0 mark=99 index=0 last=99"}));
  EXPECT_EQ(send(cxl(3, A)), (Lines{"cancelled id=3 acct=1 inst=0 buy qty=1 user",
                                    "margin acct=1 c=0 eq=0 im=0 mm=0", "depth 0 buy 97 qty=0 n=0",
                                    "top 0 bid=0@0 ask=1@98"}));
  EXPECT_EQ(send(cxl(4, B)), (Lines{"cancelled id=4 acct=2 inst=0 sell qty=1 user",
                                    "margin acct=2 c=0 eq=0 im=0 mm=0", "depth 0 sell 98 qty=0 n=0",
                                    "top 0 bid=0@0 ask=0@0"}));
  // An empty book again works from scratch.
  EXPECT_EQ(send(lim(5, B, Sell, 3000, 1)), (Lines{"accepted 5", "margin acct=2 c=0 eq=0 im=0 mm=0",
                                                   "depth 0 sell 3000 qty=1 n=1", "top 0 bid=0@0 ask=1@3000"}));
}

TEST_F(EngineTest, CancelOfANonBestOrderLeavesTheTop) {
  rest({lim(1, A, Buy, 100, 5), lim(2, B, Buy, 100, 3), lim(3, A, Buy, 90, 1)});
  EXPECT_EQ(send(cxl(2, B)), (Lines{"cancelled id=2 acct=2 inst=0 buy qty=3 user",
                                    "margin acct=2 c=0 eq=0 im=0 mm=0", "depth 0 buy 100 qty=5 n=1",
                                    "top 0 bid=5@100 ask=0@0"}));
  EXPECT_EQ(send(cxl(3, A)), (Lines{"cancelled id=3 acct=1 inst=0 buy qty=1 user",
                                    "margin acct=1 c=0 eq=0 im=0 mm=0", "depth 0 buy 90 qty=0 n=0"}));
}

// Classic bug: a stale best ask after a level is drained exactly.
TEST_F(EngineTest, ExactlyDrainedLevelMovesTheBest) {
  rest({lim(1, B, Sell, 100, 2), lim(2, C, Sell, 100, 1), lim(3, B, Sell, 102, 3)});
  EXPECT_EQ(send(lim(4, A, Buy, 100, 3)), (Lines{"accepted 4", "fill maker=1/2 taker=4/1 buy 2@100 leaves=0/1",
                                                 "position acct=2 inst=0 size=-2 entry=-200000000 pnl=0",
                                                 "position acct=1 inst=0 size=2 entry=200000000 pnl=0",
                                                 "fill maker=2/3 taker=4/1 buy 1@100 leaves=0/0",
                                                 "position acct=3 inst=0 size=-1 entry=-100000000 pnl=0",
                                                 "position acct=1 inst=0 size=3 entry=300000000 pnl=0",
                                                 "margin acct=1 c=0 eq=0 im=0 mm=0",
                                                 "margin acct=2 c=0 eq=0 im=0 mm=0",
                                                 "margin acct=3 c=0 eq=0 im=0 mm=0", "depth 0 sell 100 qty=0 n=0",
                                                 "top 0 bid=0@0 ask=3@102", "mark 0 mark=100 index=0 last=100"}));
  EXPECT_EQ(send(lim(5, A, Buy, 101, 1)), (Lines{"accepted 5", "margin acct=1 c=0 eq=0 im=0 mm=0",
                                                 "depth 0 buy 101 qty=1 n=1", "top 0 bid=1@101 ask=3@102"}));
  EXPECT_EQ(send(lim(6, A, Buy, 102, 3)), (Lines{"accepted 6", "fill maker=3/2 taker=6/1 buy 3@102 leaves=0/0",
                                                 "position acct=2 inst=0 size=-5 entry=-506000000 pnl=0",
                                                 "position acct=1 inst=0 size=6 entry=606000000 pnl=0",
                                                 "margin acct=1 c=0 eq=6000000 im=0 mm=0",
                                                 "margin acct=2 c=0 eq=-4000000 im=0 mm=0",
                                                 "depth 0 sell 102 qty=0 n=0", "top 0 bid=1@101 ask=0@0",
                                                 "mark 0 mark=102 index=0 last=102"}));
}

TEST_F(EngineTest, CancelRejectsInValidationOrder) {
  rest({lim(1, A, Buy, 100, 5)});
  rest({lim(2, B, Sell, 100, 5)});  // fills 1
  rest({lim(3, A, Buy, 100, 5)});
  EXPECT_EQ(send(cxl(3, A, 3)), Lines{"rejected 3 unknown_instrument"});
  EXPECT_EQ(send(cxl(3, A, kAllInstruments)), Lines{"rejected 3 unknown_instrument"});
  EXPECT_EQ(send(cxl(3, 16)), Lines{"rejected 3 unknown_account"});
  EXPECT_EQ(send(cxl(1, A)), Lines{"rejected 1 unknown_order"});  // filled
  EXPECT_EQ(send(cxl(2, B)), Lines{"rejected 2 unknown_order"});  // filled as taker
  EXPECT_EQ(send(cxl(42, A)), Lines{"rejected 42 unknown_order"});
  EXPECT_EQ(send(cxl(3, A, I1)), Lines{"rejected 3 unknown_order"});
  EXPECT_EQ(send(cxl(3, B)), Lines{"rejected 3 not_order_owner"});
  EXPECT_EQ(send(cxl(3, 16, 3)), Lines{"rejected 3 unknown_instrument"});
  ASSERT_EQ(first(cxl(3, A)), "cancelled id=3 acct=1 inst=0 buy qty=5 user");
  EXPECT_EQ(send(cxl(3, A)), Lines{"rejected 3 unknown_order"});
}

// ---------------------------------------------------------------------------------------------
// Mass cancel

TEST_F(EngineTest, MassCancelInAcceptanceOrder) {
  rest({lim(1, A, Buy, 100, 1), lim(2, A, Sell, 105, 1), stop_mkt(3, A, Buy, 110, 1),
        t::limit(0, 0, 4, A, I1, Buy, 50, 10), lim(5, A, Buy, 101, 1), lim(6, B, Buy, 101, 1)});
  // A re-priced modify keeps the order's place in acceptance order.
  ASSERT_EQ(first(mod(1, A, 99, 1)), "modified id=1 acct=1 px=99 qty=1 kept=0");
  EXPECT_EQ(send(t::mass_cancel(0, 0, A)), (Lines{"cancelled id=1 acct=1 inst=0 buy qty=1 mass_cancel",
                                                  "cancelled id=2 acct=1 inst=0 sell qty=1 mass_cancel",
                                                  "cancelled id=3 acct=1 inst=0 buy qty=1 mass_cancel",
                                                  "cancelled id=4 acct=1 inst=1 buy qty=10 mass_cancel",
                                                  "cancelled id=5 acct=1 inst=0 buy qty=1 mass_cancel",
                                                  "margin acct=1 c=0 eq=0 im=0 mm=0", "depth 0 buy 101 qty=1 n=1",
                                                  "depth 0 buy 99 qty=0 n=0", "depth 0 sell 105 qty=0 n=0",
                                                  "top 0 bid=1@101 ask=0@0", "depth 1 buy 50 qty=0 n=0",
                                                  "top 1 bid=0@0 ask=0@0"}));
  EXPECT_EQ(eng.live_orders(), 1u);
  // Nothing left: no output at all.
  EXPECT_EQ(send(t::mass_cancel(0, 0, A)), Lines{});
  EXPECT_EQ(send(t::mass_cancel(0, 0, C, I)), Lines{});
}

TEST_F(EngineTest, MassCancelOfOneInstrument) {
  rest({t::limit(0, 0, 1, A, I1, Sell, 100, 10), lim(2, A, Buy, 100, 1), t::limit(0, 0, 3, A, I1, Buy, 55, 10)});
  EXPECT_EQ(send(t::mass_cancel(0, 0, A, I1)), (Lines{"cancelled id=1 acct=1 inst=1 sell qty=10 mass_cancel",
                                                      "cancelled id=3 acct=1 inst=1 buy qty=10 mass_cancel",
                                                      "margin acct=1 c=0 eq=0 im=0 mm=0",
                                                      "depth 1 buy 55 qty=0 n=0", "depth 1 sell 100 qty=0 n=0",
                                                      "top 1 bid=0@0 ask=0@0"}));
  EXPECT_EQ(eng.live_orders(), 1u);
  EXPECT_EQ(send(t::mass_cancel(0, 0, A, I1)), Lines{});
}

TEST_F(EngineTest, MassCancelRejects) {
  EXPECT_EQ(send(t::mass_cancel(0, 0, 16)), Lines{"rejected 0 unknown_account"});
  EXPECT_EQ(send(t::mass_cancel(0, 0, A, 2)), Lines{"rejected 0 unknown_instrument"});
  EXPECT_EQ(send(t::mass_cancel(0, 0, A, 4)), Lines{"rejected 0 unknown_instrument"});
  EXPECT_EQ(send(t::mass_cancel(0, 0, 16, 4)), Lines{"rejected 0 unknown_account"});
}

// ---------------------------------------------------------------------------------------------
// New order validation

struct RejectCase {
  const char* name;
  wire::NewOrder order;
  wire::RejectReason reason;
};

wire::NewOrder base_i1() { return t::limit(0, 0, 100, A, I1, Buy, 100, 10); }  // valid on I1

template <class F>
wire::NewOrder with(F f) {
  auto o = base_i1();
  f(o);
  return o;
}

TEST_F(EngineTest, NewOrderRejectsInValidationOrder) {
  using R = wire::RejectReason;
  const RejectCase cases[] = {
      {"undefined instrument", with([](auto& o) { o.instrument = 2; }), R::UnknownInstrument},
      {"instrument beyond capacity", with([](auto& o) { o.instrument = 4; }), R::UnknownInstrument},
      {"account beyond capacity", with([](auto& o) { o.account = 16; }), R::UnknownAccount},
      {"order id 0", with([](auto& o) { o.order_id = 0; }), R::InvalidOrderId},
      {"side 0", with([](auto& o) { o.side = static_cast<Side>(0); }), R::InvalidSide},
      {"side 3", with([](auto& o) { o.side = static_cast<Side>(3); }), R::InvalidSide},
      {"type 0", with([](auto& o) { o.order_type = static_cast<OrderType>(0); }), R::InvalidOrderType},
      {"type 5", with([](auto& o) { o.order_type = static_cast<OrderType>(5); }), R::InvalidOrderType},
      {"tif 0", with([](auto& o) { o.tif = static_cast<TimeInForce>(0); }), R::InvalidTimeInForce},
      {"tif 4", with([](auto& o) { o.tif = static_cast<TimeInForce>(4); }), R::InvalidTimeInForce},
      {"stp 4", with([](auto& o) { o.stp = static_cast<SelfTradePrevention>(4); }), R::InvalidStp},
      {"undefined flag", with([](auto& o) { o.flags = 4; }), R::InvalidFlags},
      {"post-only IOC", with([](auto& o) { o.flags = order_flags::kPostOnly, o.tif = IOC; }), R::InvalidFlags},
      {"post-only market",
       with([](auto& o) { o.flags = order_flags::kPostOnly, o.order_type = OrderType::Market, o.tif = IOC; }),
       R::InvalidFlags},
      {"post-only stop-limit",
       with([](auto& o) { o.flags = order_flags::kPostOnly, o.order_type = OrderType::StopLimit, o.trigger_price = 100; }),
       R::InvalidFlags},
      {"market GTC", with([](auto& o) { o.order_type = OrderType::Market, o.price = 0; }), R::InvalidTimeInForce},
      {"stop-market GTC", with([](auto& o) { o.order_type = OrderType::StopMarket, o.trigger_price = 100; }),
       R::InvalidTimeInForce},
      {"qty 0", with([](auto& o) { o.qty = 0; }), R::InvalidQuantity},
      {"qty negative", with([](auto& o) { o.qty = -10; }), R::InvalidQuantity},
      {"qty above max", with([](auto& o) { o.qty = 1010; }), R::InvalidQuantity},
      {"qty off lot", with([](auto& o) { o.qty = 15; }), R::QuantityOffLot},
      {"price 0", with([](auto& o) { o.price = 0; }), R::InvalidPrice},
      {"price negative", with([](auto& o) { o.price = -5; }), R::InvalidPrice},
      {"price off tick", with([](auto& o) { o.price = 102; }), R::PriceOffTick},
      {"price below range", with([](auto& o) { o.price = 45; }), R::PriceOutOfRange},
      {"price above range", with([](auto& o) { o.price = 505; }), R::PriceOutOfRange},
      {"stop-limit price 0",
       with([](auto& o) { o.order_type = OrderType::StopLimit, o.price = 0, o.trigger_price = 100; }), R::InvalidPrice},
      {"stop-limit price off tick",
       with([](auto& o) { o.order_type = OrderType::StopLimit, o.price = 101, o.trigger_price = 100; }),
       R::PriceOffTick},
      {"market worst negative", with([](auto& o) { o.order_type = OrderType::Market, o.tif = IOC, o.price = -5; }),
       R::InvalidPrice},
      {"market worst off tick", with([](auto& o) { o.order_type = OrderType::Market, o.tif = IOC, o.price = 102; }),
       R::PriceOffTick},
      {"market worst out of range",
       with([](auto& o) { o.order_type = OrderType::Market, o.tif = FOK, o.price = 505; }), R::PriceOutOfRange},
      {"stop-market worst out of range",
       with([](auto& o) { o.order_type = OrderType::StopMarket, o.tif = IOC, o.price = 45, o.trigger_price = 100; }),
       R::PriceOutOfRange},
      {"stop trigger 0", with([](auto& o) { o.order_type = OrderType::StopMarket, o.tif = IOC, o.price = 0; }),
       R::InvalidTriggerPrice},
      {"stop trigger negative",
       with([](auto& o) { o.order_type = OrderType::StopLimit, o.trigger_price = -100; }), R::InvalidTriggerPrice},
      {"stop trigger off tick",
       with([](auto& o) { o.order_type = OrderType::StopLimit, o.trigger_price = 103; }), R::InvalidTriggerPrice},
      {"stop trigger out of range",
       with([](auto& o) { o.order_type = OrderType::StopLimit, o.trigger_price = 600; }), R::InvalidTriggerPrice},
      {"limit with a trigger", with([](auto& o) { o.trigger_price = 100; }), R::InvalidTriggerPrice},
      {"market with a trigger",
       with([](auto& o) { o.order_type = OrderType::Market, o.tif = IOC, o.price = 0, o.trigger_price = 5; }),
       R::InvalidTriggerPrice},
      // Several faults: the first check in the document's order wins.
      {"instrument before account", with([](auto& o) { o.instrument = 2, o.account = 16; }), R::UnknownInstrument},
      {"account before id", with([](auto& o) { o.account = 16, o.order_id = 0; }), R::UnknownAccount},
      {"id before side", with([](auto& o) { o.order_id = 0, o.side = static_cast<Side>(9); }), R::InvalidOrderId},
      {"side before type", with([](auto& o) { o.side = static_cast<Side>(9), o.order_type = static_cast<OrderType>(9); }),
       R::InvalidSide},
      {"type before tif",
       with([](auto& o) { o.order_type = static_cast<OrderType>(9), o.tif = static_cast<TimeInForce>(9); }),
       R::InvalidOrderType},
      {"tif before stp",
       with([](auto& o) { o.tif = static_cast<TimeInForce>(9), o.stp = static_cast<SelfTradePrevention>(9); }),
       R::InvalidTimeInForce},
      {"stp before flags", with([](auto& o) { o.stp = static_cast<SelfTradePrevention>(9), o.flags = 0x80; }),
       R::InvalidStp},
      {"flags before market GTC",
       with([](auto& o) { o.flags = 0x80, o.order_type = OrderType::Market; }), R::InvalidFlags},
      {"market GTC before qty", with([](auto& o) { o.order_type = OrderType::Market, o.qty = 0; }),
       R::InvalidTimeInForce},
      {"qty before lot and price", with([](auto& o) { o.qty = 1015, o.price = 0; }), R::InvalidQuantity},
      {"lot before price", with([](auto& o) { o.qty = 15, o.price = 0; }), R::QuantityOffLot},
      {"off tick before range", with([](auto& o) { o.price = 503; }), R::PriceOffTick},
      {"price before trigger", with([](auto& o) { o.price = 505, o.trigger_price = 3; }), R::PriceOutOfRange},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const Lines r = send(c.order);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0], "rejected " + s(static_cast<std::int64_t>(c.order.order_id)) + " " + reject_name(c.reason));
  }
  EXPECT_EQ(eng.live_orders(), 0u);
  // The base order itself is valid.
  EXPECT_EQ(first(base_i1()), "accepted 100");
}

TEST_F(EngineTest, RejectedCarriesTheOrdersIdentity) {
  auto o = t::limit(0, 0, 31, 7, I1, Buy, 102, 10);
  o.client_order_id = 4242;
  send(o);
  ASSERT_EQ(out.size(), sizeof(wire::Rejected));
  wire::Rejected r;
  std::memcpy(&r, out.bytes().data(), sizeof r);
  EXPECT_EQ(r.id, 31u);
  EXPECT_EQ(r.client_order_id, 4242u);
  EXPECT_EQ(r.account, 7u);
  EXPECT_EQ(r.instrument, I1);
  EXPECT_EQ(r.reason, wire::RejectReason::PriceOffTick);
  EXPECT_EQ(r.input_type, MsgType::NewOrder);
  for (auto b : r.pad0) EXPECT_EQ(b, 0);

  send(t::withdrawal(0, 0, 5, 10, 9001));
  std::memcpy(&r, out.bytes().data(), sizeof r);
  EXPECT_EQ(r.id, 9001u);
  EXPECT_EQ(r.client_order_id, 0u);
  EXPECT_EQ(r.account, 5u);
  EXPECT_EQ(r.instrument, 0u);
  EXPECT_EQ(r.reason, wire::RejectReason::InsufficientFunds);
  EXPECT_EQ(r.input_type, MsgType::Withdrawal);

  send(t::mass_cancel(0, 0, 3, 9));
  std::memcpy(&r, out.bytes().data(), sizeof r);
  EXPECT_EQ(r.id, 0u);
  EXPECT_EQ(r.account, 3u);
  EXPECT_EQ(r.instrument, 9u);
  EXPECT_EQ(r.input_type, MsgType::MassCancel);
}

// Classic bug: a duplicate order id corrupting a queue.
TEST_F(EngineTest, DuplicateOrderIdIsRejectedAndTheQueueIsIntact) {
  rest({lim(1, B, Sell, 100, 2), lim(2, C, Sell, 100, 3)});
  EXPECT_EQ(send(lim(1, A, Sell, 100, 4)), Lines{"rejected 1 duplicate_order_id"});
  EXPECT_EQ(send(lim(2, B, Buy, 50, 4)), Lines{"rejected 2 duplicate_order_id"});
  EXPECT_EQ(send(stop_mkt(1, B, Buy, 200, 4)), Lines{"rejected 1 duplicate_order_id"});
  // Even an order that could never rest may not reuse a live id.
  EXPECT_EQ(send(lim(1, A, Buy, 50, 4, IOC)), Lines{"rejected 1 duplicate_order_id"});
  rest({stop_mkt(3, A, Buy, 200, 4)});
  EXPECT_EQ(send(lim(3, A, Buy, 50, 4)), Lines{"rejected 3 duplicate_order_id"});
  EXPECT_EQ(eng.top(I).ask_qty, 5);
  EXPECT_EQ(send(lim(4, A, Buy, 100, 5, IOC)), (Lines{"accepted 4", "fill maker=1/2 taker=4/1 buy 2@100 leaves=0/3",
                                                      "position acct=2 inst=0 size=-2 entry=-200000000 pnl=0",
                                                      "position acct=1 inst=0 size=2 entry=200000000 pnl=0",
                                                      "fill maker=2/3 taker=4/1 buy 3@100 leaves=0/0",
                                                      "position acct=3 inst=0 size=-3 entry=-300000000 pnl=0",
                                                      "position acct=1 inst=0 size=5 entry=500000000 pnl=0",
                                                      "margin acct=1 c=0 eq=0 im=0 mm=0",
                                                      "margin acct=2 c=0 eq=0 im=0 mm=0",
                                                      "margin acct=3 c=0 eq=0 im=0 mm=0",
                                                      "depth 0 sell 100 qty=0 n=0", "top 0 bid=0@0 ask=0@0",
                                                      "mark 0 mark=100 index=0 last=100"}));
  // A filled id may be used again.
  EXPECT_EQ(first(lim(1, A, Sell, 100, 4)), "accepted 1");
}

TEST_F(EngineTest, PostOnlyWouldTakeWhoeverOwnsTheBook) {
  rest({lim(1, A, Sell, 100, 5), lim(2, B, Buy, 90, 5)});
  auto po = [](OrderId id, Side side, Price p) {
    auto o = lim(id, A, side, p, 1);
    o.flags = order_flags::kPostOnly;
    return o;
  };
  EXPECT_EQ(send(po(3, Buy, 100)), Lines{"rejected 3 post_only_would_take"});
  EXPECT_EQ(send(po(3, Buy, 101)), Lines{"rejected 3 post_only_would_take"});
  EXPECT_EQ(send(po(4, Sell, 90)), Lines{"rejected 4 post_only_would_take"});
  EXPECT_EQ(first(po(3, Buy, 99)), "accepted 3");
  EXPECT_EQ(send(po(4, Sell, 99)), Lines{"rejected 4 post_only_would_take"});  // the new best bid
  EXPECT_EQ(first(po(4, Sell, 100)), "accepted 4");
  // A new id check comes first.
  EXPECT_EQ(send(po(1, Buy, 100)), Lines{"rejected 1 duplicate_order_id"});
}

// Classic bug: silent drops at capacity.
class SmallPoolTest : public EngineTest {
 protected:
  static EngineConfig tiny() {
    EngineConfig c = small_config();
    c.max_orders = 3;
    return c;
  }
  SmallPoolTest() : EngineTest(tiny()) {}
};

TEST_F(SmallPoolTest, OrderCapacityIsARejectNeverADrop) {
  rest({lim(1, A, Buy, 100, 1), lim(2, A, Buy, 99, 1), stop_mkt(3, A, Buy, 200, 1)});
  EXPECT_EQ(send(lim(4, B, Sell, 110, 1)), Lines{"rejected 4 order_capacity"});
  EXPECT_EQ(send(stop_lim(5, B, Sell, 50, 60, 1)), Lines{"rejected 5 order_capacity"});
  // Orders that cannot rest still trade with a full pool.
  EXPECT_EQ(send(lim(6, B, Sell, 100, 2, IOC)), (Lines{"accepted 6",
                                                       "fill maker=1/1 taker=6/2 sell 1@100 leaves=0/1",
                                                       "position acct=1 inst=0 size=1 entry=100000000 pnl=0",
                                                       "position acct=2 inst=0 size=-1 entry=-100000000 pnl=0",
                                                       "cancelled id=6 acct=2 inst=0 sell qty=1 ioc_remainder",
                                                       "margin acct=1 c=0 eq=0 im=0 mm=0",
                                                       "margin acct=2 c=0 eq=0 im=0 mm=0",
                                                       "depth 0 buy 100 qty=0 n=0", "top 0 bid=1@99 ask=0@0",
                                                       "mark 0 mark=100 index=0 last=100"}));
  EXPECT_EQ(first(mkt(7, B, Sell, 1)), "accepted 7");
  EXPECT_EQ(eng.live_orders(), 1u);
  // Space freed by the fills is usable again.
  rest({lim(8, B, Sell, 110, 1), lim(9, B, Sell, 111, 1)});
  EXPECT_EQ(send(lim(10, B, Sell, 112, 1)), Lines{"rejected 10 order_capacity"});
  // The order that hits capacity is checked after its id.
  EXPECT_EQ(send(lim(9, B, Sell, 112, 1)), Lines{"rejected 9 duplicate_order_id"});
  // Post-only is checked after capacity.
  auto po = lim(11, B, Buy, 120, 1);
  po.flags = order_flags::kPostOnly;
  EXPECT_EQ(send(po), Lines{"rejected 11 order_capacity"});
}

TEST_F(EngineTest, PriceOutsideTheBookIsARejectNeverADrop) {
  EXPECT_EQ(send(lim(1, A, Buy, 10001, 1)), Lines{"rejected 1 price_out_of_range"});
  EXPECT_EQ(send(lim(1, A, Sell, 1000000, 1)), Lines{"rejected 1 price_out_of_range"});
  EXPECT_EQ(first(lim(1, A, Sell, 10000, 1)), "accepted 1");
  EXPECT_EQ(first(lim(2, A, Buy, 1, 1)), "accepted 2");
  EXPECT_EQ(eng.top(I).ask_price, 10000);
  EXPECT_EQ(eng.top(I).bid_price, 1);
}

// ---------------------------------------------------------------------------------------------
// Clock, headers, other inputs

TEST_F(EngineTest, TimestampBackwardsIsRejectedAndDoesNotMoveTheClock) {
  auto o = lim(1, A, Buy, 100, 1);
  o.header.seq = 50;
  o.header.ts_ns = 5'000'000;
  out.clear();
  eng.process(t::limit(49, 9'000'000, 1, A, 3, Buy, 100, 1), out);  // rejected, but the clock moves
  EXPECT_EQ(render_all(out), Lines{"rejected 1 unknown_instrument"});
  out.clear();
  eng.process(o, out);
  EXPECT_EQ(render_all(out), Lines{"rejected 1 timestamp_backwards"});
  out.clear();
  eng.process(t::heartbeat(51, 8'999'999), out);
  EXPECT_EQ(render_all(out), Lines{"rejected 0 timestamp_backwards"});
  out.clear();
  eng.process(t::deposit(52, 1, 1, 10, 77), out);
  EXPECT_EQ(render_all(out), Lines{"rejected 77 timestamp_backwards"});
  // Equal timestamps are fine.
  o.header.ts_ns = 9'000'000;
  out.clear();
  eng.process(o, out);
  EXPECT_EQ(render_all(out), (Lines{"accepted 1", "margin acct=1 c=0 eq=0 im=0 mm=0", "depth 0 buy 100 qty=1 n=1",
                                    "top 0 bid=1@100 ask=0@0"}));
  out.clear();
  eng.process(t::heartbeat(54, 9'000'000), out);
  EXPECT_TRUE(out.empty());
}

TEST_F(EngineTest, OutputHeadersCountAndReferTheInput) {
  rest({lim(1, B, Sell, 100, 1)});
  const SeqNo before = eng.output_seq();
  auto o = lim(2, A, Buy, 100, 1);
  o.header.seq = 777;
  o.header.ts_ns = 123'456'789'000;
  o.header.flags = wire::header_flags::kSynthetic;
  out.clear();
  eng.process(o, out);
  EventReader reader(out.bytes());
  EventView ev;
  SeqNo expect = before;
  int n = 0;
  while (reader.next(ev)) {
    ++n;
    EXPECT_EQ(ev.header().seq, ++expect);
    EXPECT_EQ(ev.header().ts_ns, 123'456'789'000);
    EXPECT_EQ(ev.header().ref, 777u);
    EXPECT_EQ(ev.header().flags, 0);
    EXPECT_EQ(ev.header().reserved, 0u);
  }
  EXPECT_TRUE(reader.ok());
  EXPECT_EQ(n, 9);  // accepted, fill, 2 positions, 2 margins, depth, top, mark
  EXPECT_EQ(eng.output_seq(), expect);
}

TEST_F(EngineTest, OutputEventsAsInputAreIgnored) {
  auto a = wire::make<wire::OrderAccepted>();
  a.header.seq = 1;
  a.header.ts_ns = 1;  // would be backwards if it were an input
  a.order_id = 1;
  out.clear();
  eng.process(EventView(reinterpret_cast<const std::byte*>(&a)), out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(eng.live_orders(), 0u);
  EXPECT_EQ(first(lim(1, A, Buy, 100, 1)), "accepted 1");
}

TEST_F(EngineTest, DepositsAndWithdrawals) {
  EXPECT_EQ(send(t::deposit(0, 0, A, 100, 1)), (Lines{"balance acct=1 deposit delta=100 bal=100",
                                                      "margin acct=1 c=100 eq=100 im=0 mm=0"}));
  EXPECT_EQ(send(t::deposit(0, 0, A, 50, 2)), (Lines{"balance acct=1 deposit delta=50 bal=150",
                                                     "margin acct=1 c=150 eq=150 im=0 mm=0"}));
  EXPECT_EQ(send(t::withdrawal(0, 0, A, 30, 3)), (Lines{"balance acct=1 withdrawal delta=-30 bal=120",
                                                        "margin acct=1 c=120 eq=120 im=0 mm=0"}));
  EXPECT_EQ(send(t::withdrawal(0, 0, A, 121, 4)), Lines{"rejected 4 insufficient_funds"});
  EXPECT_EQ(send(t::withdrawal(0, 0, B, 1, 5)), Lines{"rejected 5 insufficient_funds"});
  EXPECT_EQ(send(t::deposit(0, 0, A, 0, 6)), Lines{"rejected 6 invalid_amount"});
  EXPECT_EQ(send(t::deposit(0, 0, A, -5, 7)), Lines{"rejected 7 invalid_amount"});
  EXPECT_EQ(send(t::withdrawal(0, 0, A, 0, 8)), Lines{"rejected 8 invalid_amount"});
  EXPECT_EQ(send(t::withdrawal(0, 0, A, -1, 9)), Lines{"rejected 9 invalid_amount"});
  EXPECT_EQ(send(t::deposit(0, 0, 16, 10, 10)), Lines{"rejected 10 unknown_account"});
  EXPECT_EQ(send(t::withdrawal(0, 0, 16, -1, 11)), Lines{"rejected 11 unknown_account"});
  EXPECT_EQ(send(t::withdrawal(0, 0, A, 120, 12)), (Lines{"balance acct=1 withdrawal delta=-120 bal=0",
                                                          "margin acct=1 c=0 eq=0 im=0 mm=0"}));
  EXPECT_EQ(eng.balance(A), 0);
  EXPECT_EQ(send(t::deposit(0, 0, 15, 7, 13)), (Lines{"balance acct=15 deposit delta=7 bal=7",
                                                      "margin acct=15 c=7 eq=7 im=0 mm=0"}));
  EXPECT_EQ(eng.balance(15), 7);
  EXPECT_EQ(eng.balance(16), 0);
}

TEST_F(EngineTest, DepositThatWouldOverflowTheBalanceIsInvalid) {
  const Money big = std::numeric_limits<Money>::max() - 5;
  EXPECT_EQ(send(t::deposit(0, 0, A, big, 1)),
            (Lines{"balance acct=1 deposit delta=" + s(big) + " bal=" + s(big),
                   "margin acct=1 c=" + s(big) + " eq=" + s(big) + " im=0 mm=0"}));
  EXPECT_EQ(send(t::deposit(0, 0, A, 6, 2)), Lines{"rejected 2 invalid_amount"});
  EXPECT_EQ(first(t::deposit(0, 0, A, 5, 3)), "balance acct=1 deposit delta=5 bal=" + s(std::numeric_limits<Money>::max()));
}

TEST_F(EngineTest, InstrumentDefinitionValidation) {
  using D = wire::InstrumentDefinition;
  const auto ok = [] { return t::instrument(0, 0, 2, 5, 10, 50, 500, 1000); };
  const auto bad = [&](auto f) {
    D d = ok();
    f(d);
    return d;
  };
  const D cases[] = {
      bad([](D& d) { d.instrument = 4; }),
      bad([](D& d) { d.instrument = kAllInstruments; }),
      bad([](D& d) { d.price_decimals = 19; }),
      bad([](D& d) { d.qty_decimals = 19; }),
      bad([](D& d) { d.tick_size = 0; }),
      bad([](D& d) { d.tick_size = -5; }),
      bad([](D& d) { d.lot_size = 0; }),
      bad([](D& d) { d.lot_size = -10; }),
      bad([](D& d) { d.min_price = 0; }),
      bad([](D& d) { d.min_price = -50; }),
      bad([](D& d) { d.min_price = 505; }),
      bad([](D& d) { d.min_price = 52; }),
      bad([](D& d) { d.max_price = 502; }),
      bad([](D& d) { d.min_price = 5, d.max_price = 5 * 10001; }),  // 10001 levels > 10000
      bad([](D& d) { d.max_order_qty = 0; }),
      bad([](D& d) { d.max_order_qty = 1005; }),
      bad([](D& d) { d.tier_count = 9; }),
      bad([](D& d) { d.tier_count = 8; }),  // tiers must be valid (margin_test checks each rule)
      bad([](D& d) { d.mark_band = -1; }),
  };
  for (const auto& d : cases) {
    SCOPED_TRACE(static_cast<int>(&d - cases));
    EXPECT_EQ(send(d), Lines{"rejected 0 invalid_instrument"});
  }
  EXPECT_EQ(eng.instrument(2), nullptr);
  // The largest accepted shapes: 10000 levels, 18 decimals, eight valid tiers.
  const auto eight_tiers = [](D& d) {
    d.tier_count = 8;
    for (int k = 0; k < 8; ++k) d.tiers[k] = {Money{1000} << k, 1'000'000 * (k + 1), 500'000 * (k + 1), 0};
    for (int k = 1; k < 8; ++k) d.tiers[k].maint_amount = d.tiers[k - 1].maint_amount + (Money{1000} << (k - 1)) * 500'000 / 100'000'000;
  };
  EXPECT_EQ(send(bad([&](D& d) { d.min_price = 5, d.max_price = 5 * 10000, d.price_decimals = 18, eight_tiers(d); })),
            Lines{});
  ASSERT_NE(eng.instrument(2), nullptr);
  EXPECT_EQ(eng.instrument(2)->max_price, 50000);
  EXPECT_EQ(send(ok()), Lines{});
  EXPECT_EQ(eng.instrument(2)->max_price, 500);
  EXPECT_EQ(eng.instrument_ids(), (std::vector<InstrumentId>{0, 1, 2}));
}

TEST_F(EngineTest, RedefinitionOnlyWithoutLiveOrdersAndKeepsLastPrice) {
  rest({lim(1, B, Sell, 100, 5)});
  ASSERT_EQ(first(lim(2, A, Buy, 100, 1)), "accepted 2");
  const auto redef = t::instrument(0, 0, I, 2, 1, 2, 20000, 1000);
  EXPECT_EQ(send(redef), Lines{"rejected 0 invalid_instrument"});
  ASSERT_EQ(first(cxl(1, B)), "cancelled id=1 acct=2 inst=0 sell qty=4 user");
  rest({stop_mkt(3, A, Buy, 200, 1)});
  EXPECT_EQ(send(redef), Lines{"rejected 0 invalid_instrument"});
  ASSERT_EQ(first(cxl(3, A)), "cancelled id=3 acct=1 inst=0 buy qty=1 user");
  EXPECT_EQ(send(redef), Lines{});
  EXPECT_EQ(eng.instrument(I)->tick_size, 2);
  EXPECT_EQ(eng.last_price(I), 100);
  EXPECT_EQ(send(lim(4, A, Buy, 101, 1)), Lines{"rejected 4 price_off_tick"});
  EXPECT_EQ(send(lim(4, A, Buy, 19998, 1)), (Lines{"accepted 4", "margin acct=1 c=0 eq=0 im=0 mm=0",
                                                   "depth 0 buy 19998 qty=1 n=1", "top 0 bid=1@19998 ask=0@0"}));
  // last = 100 survives: a buy stop at 100 fires at once.
  EXPECT_EQ(send(stop_lim(5, C, Buy, 100, 20000, 1)), (Lines{"accepted 5", "stop id=5 acct=3 trigger=100 last=100",
                                                             "margin acct=3 c=0 eq=0 im=0 mm=0",
                                                             "depth 0 buy 20000 qty=1 n=1",
                                                             "top 0 bid=1@20000 ask=0@0"}));
}

TEST_F(EngineTest, IndexFundingSettingsAndHeartbeat) {
  EXPECT_EQ(send(t::index_price(0, 0, 2, 100)), Lines{"rejected 0 unknown_instrument"});
  EXPECT_EQ(send(t::index_price(0, 0, I, 0)), Lines{"rejected 0 invalid_price"});
  EXPECT_EQ(send(t::index_price(0, 0, I, -1)), Lines{"rejected 0 invalid_price"});
  EXPECT_EQ(send(t::index_price(0, 0, I, 100)), Lines{"mark 0 mark=100 index=100 last=0"});
  EXPECT_EQ(send(t::funding_rate(0, 0, 9, 100)), Lines{"rejected 0 unknown_instrument"});
  EXPECT_EQ(send(t::funding_rate(0, 0, I, -100)), Lines{});
  EXPECT_EQ(send(t::account_settings(0, 0, 16, I)), Lines{"rejected 0 unknown_account"});
  EXPECT_EQ(send(t::account_settings(0, 0, A, 2)), Lines{"rejected 0 unknown_instrument"});
  EXPECT_EQ(send(t::account_settings(0, 0, A, I, static_cast<wire::MarginMode>(2))),
            Lines{"rejected 0 invalid_settings"});
  EXPECT_EQ(send(t::account_settings(0, 0, A, I, wire::MarginMode::Isolated, static_cast<wire::AccountRole>(2))),
            Lines{"rejected 0 invalid_settings"});
  EXPECT_EQ(send(t::account_settings(0, 0, A, kAllInstruments, wire::MarginMode::Isolated, wire::AccountRole::Backstop)),
            Lines{});
  EXPECT_EQ(send(t::heartbeat(0, 0)), Lines{});
}

// ---------------------------------------------------------------------------------------------
// Randomised invariants: no zero fills, fills at the maker's price, never crossed, market
// data consistent with the book.

TEST_F(EngineTest, RandomStreamKeepsTheBookConsistent) {
  std::mt19937_64 rng(12345);
  std::map<OrderId, Price> price_of;  // resting price of each live order we placed
  std::map<std::pair<int, Price>, std::pair<Qty, std::uint32_t>> depth;  // from DepthLevel
  TopView top;
  OrderId next_id = 1;
  for (int step = 0; step < 20000; ++step) {
    const int kind = static_cast<int>(rng() % 10);
    const AccountId acct = static_cast<AccountId>(1 + rng() % 4);
    const Side side = rng() % 2 ? Buy : Sell;
    const Price px = 950 + static_cast<Price>(rng() % 100);
    const Qty qty = 1 + static_cast<Qty>(rng() % 20);
    const auto stp = static_cast<SelfTradePrevention>(rng() % 4);
    const OrderId target = next_id > 1 ? 1 + rng() % (next_id - 1) : 1;
    wire::NewOrder o{};
    if (kind <= 4) {
      o = lim(next_id++, acct, side, px, qty, rng() % 4 == 0 ? IOC : GTC, stp);
      send(o);
    } else if (kind == 5) {
      o = mkt(next_id++, acct, side, qty);
      o.stp = stp;
      send(o);
    } else if (kind == 6) {
      send(stop_lim(next_id++, acct, side, px, side == Buy ? px + 2 : px - 2, qty));
    } else if (kind == 7) {
      send(cxl(target, acct));
    } else {
      send(mod(target, acct, px, qty));
    }
    EventReader reader(out.bytes());
    EventView ev;
    while (reader.next(ev)) {
      switch (ev.type()) {
        case MsgType::OrderAccepted: {
          const auto& a = ev.as<wire::OrderAccepted>();
          price_of[a.order_id] = a.price;
          break;
        }
        case MsgType::OrderModified: {
          const auto& m = ev.as<wire::OrderModified>();
          price_of[m.order_id] = m.new_price;
          break;
        }
        case MsgType::Fill: {
          const auto& f = ev.as<wire::Fill>();
          ASSERT_GT(f.qty, 0);
          ASSERT_EQ(f.price, price_of.at(f.maker_order_id));
          ASSERT_GE(f.maker_leaves, 0);
          ASSERT_GE(f.taker_leaves, 0);
          ASSERT_NE(f.maker_account, f.taker_account);
          break;
        }
        case MsgType::DepthLevel: {
          const auto& d = ev.as<wire::DepthLevel>();
          const auto key = std::make_pair(static_cast<int>(d.side), d.price);
          const auto prev = depth.count(key) ? depth[key] : std::pair<Qty, std::uint32_t>{0, 0};
          ASSERT_NE(prev, std::make_pair(d.qty, d.order_count)) << "DepthLevel without a change";
          if (d.qty == 0) {
            ASSERT_EQ(d.order_count, 0u);
            depth.erase(key);
          } else {
            ASSERT_GT(d.order_count, 0u);
            depth[key] = {d.qty, d.order_count};
          }
          break;
        }
        case MsgType::TopOfBook: {
          const auto& tb = ev.as<wire::TopOfBook>();
          top = TopView{tb.bid_price, tb.bid_qty, tb.ask_price, tb.ask_qty};
          break;
        }
        default:
          break;
      }
    }
    const TopView now = eng.top(I);
    ASSERT_EQ(now.bid_price, top.bid_price) << step;
    ASSERT_EQ(now.bid_qty, top.bid_qty) << step;
    ASSERT_EQ(now.ask_price, top.ask_price) << step;
    ASSERT_EQ(now.ask_qty, top.ask_qty) << step;
    if (now.bid_qty && now.ask_qty) {
      ASSERT_LT(now.bid_price, now.ask_price) << step;
    }
    // The depth replayed from DepthLevel events equals the engine's book.
    LevelView lv[256];
    for (Side sd : {Buy, Sell}) {
      const std::size_t n = eng.depth(I, sd, 256, lv);
      std::size_t replayed = 0;
      for (const auto& [k, v] : depth) replayed += k.first == static_cast<int>(sd);
      ASSERT_EQ(n, replayed) << step;
      for (std::size_t i = 0; i < n; ++i) {
        const auto& v = depth.at({static_cast<int>(sd), lv[i].price});
        ASSERT_EQ(v.first, lv[i].qty);
        ASSERT_EQ(v.second, lv[i].orders);
      }
    }
  }
  EXPECT_GT(eng.last_price(I), 0);
}

}  // namespace
