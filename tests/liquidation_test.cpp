// The liquidation engine against docs/liquidation.md, with hand-computed expected values:
// a long liquidated through the book, a partial (tier) liquidation, a bankruptcy paid by the
// insurance fund, a backstop takeover, auto-deleveraging rank and amounts, a two-account
// cascade started by one trade, and a cross account with two instruments.
//
// The instrument: whole price and quantity units (pd = qd = 0, so m = 6: value = p * q USD),
// tier 0 up to 10,000 USD (IM 10%, MM 5%), tier 1 up to 100,000 USD (IM 20%, MM 10% - 500),
// liquidation fee 1%, no trading fees, mark_band 1e-8 so that the mark is the index.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cascade/engine.hpp"
#include "cascade/event_buffer.hpp"
#include "cascade/event_reader.hpp"
#include "cascade/fixed_point.hpp"
#include "support/events.hpp"

namespace {

using namespace cascade;
namespace t = cascade::testing;
using wire::MsgType;
using Lines = std::vector<std::string>;
using fx::i128;

constexpr Money kUsd = 1'000'000;
constexpr AccountId A = 1, B = 2, C = 3, D = 4, E = 5, M = 6, V = 7, W = 8, X = 9;
constexpr auto Buy = Side::Buy;
constexpr auto Sell = Side::Sell;

std::string s(i128 v) { return std::to_string(static_cast<long long>(v)); }

std::string side_name(Side x) { return x == Side::Buy ? "buy" : x == Side::Sell ? "sell" : "-"; }

std::string stage_name(wire::LiquidationStage st) {
  switch (st) {
    case wire::LiquidationStage::Triggered: return "triggered";
    case wire::LiquidationStage::OrdersCancelled: return "orders_cancelled";
    case wire::LiquidationStage::BookOrder: return "book_order";
    case wire::LiquidationStage::Backstop: return "backstop";
    case wire::LiquidationStage::Deleveraged: return "deleveraged";
    case wire::LiquidationStage::Bankrupt: return "bankrupt";
    case wire::LiquidationStage::Completed: return "completed";
    case wire::LiquidationStage::Socialized: return "socialized";
  }
  return "?";
}

std::string inst(InstrumentId i) { return i == kAllInstruments ? "all" : s(i); }

std::string render(const EventView& ev) {
  switch (ev.type()) {
    case MsgType::OrderAccepted: return "accepted " + s(ev.as<wire::OrderAccepted>().order_id);
    case MsgType::Rejected: return "rejected " + s(ev.as<wire::Rejected>().id);
    case MsgType::OrderCancelled: {
      const auto& m = ev.as<wire::OrderCancelled>();
      return "cancelled " + s(m.order_id) + " qty=" + s(m.cancelled_qty) +
             (m.reason == wire::CancelReason::Liquidation ? " liquidation" : " other");
    }
    case MsgType::Fill: {
      const auto& m = ev.as<wire::Fill>();
      return "fill " + s(m.maker_account) + "<-" + s(m.taker_account) + " " + s(m.qty) + "@" + s(m.price) +
             " fees=" + s(m.maker_fee) + "/" + s(m.taker_fee) + " flags=" + s(m.flags) + " ids=" +
             s(m.maker_order_id) + "/" + s(m.taker_order_id);
    }
    case MsgType::PositionUpdate: {
      const auto& m = ev.as<wire::PositionUpdate>();
      return "position " + s(m.account) + "/" + s(m.instrument) + " size=" + s(m.size) + " entry=" +
             s(m.entry_value) + " pnl=" + s(m.realized_pnl);
    }
    case MsgType::MarginUpdate: {
      const auto& m = ev.as<wire::MarginUpdate>();
      return "margin " + s(m.account) + " c=" + s(m.collateral) + " eq=" + s(m.equity) + " im=" +
             s(m.initial_margin) + " mm=" + s(m.maintenance_margin);
    }
    case MsgType::MarkPrice: {
      const auto& m = ev.as<wire::MarkPrice>();
      return "mark " + s(m.instrument) + " " + s(m.mark) + " index=" + s(m.index) + " last=" + s(m.last);
    }
    case MsgType::InsuranceFund: {
      const auto& m = ev.as<wire::InsuranceFund>();
      const char* why = m.reason == wire::InsuranceReason::LiquidationFee      ? "fee"
                        : m.reason == wire::InsuranceReason::BankruptcyPayout ? "payout"
                                                                              : "other";
      return std::string("insurance ") + why + " inst=" + inst(m.instrument) + " delta=" + s(m.delta) +
             " bal=" + s(m.balance);
    }
    case MsgType::Liquidation: {
      const auto& m = ev.as<wire::Liquidation>();
      return "liq " + s(m.account) + " inst=" + inst(m.instrument) + " " + stage_name(m.stage) + " " +
             side_name(m.side) + " qty=" + s(m.qty) + " price=" + s(m.price) + " amount=" + s(m.amount) +
             " depth=" + s(m.depth) + " origin=" + s(m.cascade_origin);
    }
    case MsgType::Deleverage: {
      const auto& m = ev.as<wire::Deleverage>();
      return "adl " + s(m.account) + " vs " + s(m.counter_account) + " inst=" + s(m.instrument) + " rank=" +
             s(m.rank) + " " + s(m.qty) + "@" + s(m.price);
    }
    default: return "";  // market data, balances: other tests cover them
  }
}

wire::InstrumentDefinition perp(InstrumentId id) {
  auto d = t::instrument(0, 0, id, 1, 1, 1, 100'000, 1'000'000);
  d.tier_count = 2;
  d.tiers[0] = wire::MarginTier{10'000 * kUsd, 10'000'000, 5'000'000, 0};
  d.tiers[1] = wire::MarginTier{100'000 * kUsd, 20'000'000, 10'000'000, 500 * kUsd};
  d.liquidation_fee = 1'000'000;  // 1%
  d.mark_band = 1;                // mark = index
  return d;
}

EngineConfig config() {
  EngineConfig c;
  c.max_instruments = 4;
  c.max_accounts = 16;
  c.max_orders = 256;
  c.max_levels_per_book = 1u << 17;
  c.max_positions = 64;
  return c;
}

class LiquidationTest : public ::testing::Test {
 protected:
  LiquidationTest() : eng(config()) {}

  template <class T>
  Lines send(T m) {
    m.header.seq = ++seq;
    m.header.ts_ns = (ts += 1000);
    out.clear();
    eng.process(m, out);
    Lines r;
    EventReader reader(out.bytes());
    EventView ev;
    while (reader.next(ev))
      if (std::string l = render(ev); !l.empty()) r.push_back(l);
    check_money();
    return r;
  }
  template <class T>
  void quiet(T m) {
    send(m);
  }
  // Only the liquidation part of an event's output: from the first liq line to the last one.
  template <class T>
  Lines cascade(T m) {
    const Lines all = send(m);
    std::size_t first = all.size(), last = 0;
    for (std::size_t k = 0; k < all.size(); ++k)
      if (all[k].rfind("liq ", 0) == 0) {
        first = std::min(first, k);
        last = k;
      }
    if (first == all.size()) return {};
    return Lines(all.begin() + static_cast<std::ptrdiff_t>(first), all.begin() + static_cast<std::ptrdiff_t>(last) + 1);
  }

  // docs/liquidation.md, "Money": the identity holds after every event.
  void check_money() {
    const MarginTotals tot = eng.totals();
    i128 sum = 0;
    for (AccountId a : eng.active_accounts()) {
      const AccountView v = eng.account(a);
      sum += v.collateral;
      for (const PositionView& p : v.positions) sum += p.isolated_margin - p.entry_value;
    }
    EXPECT_EQ(i128{tot.deposits} - tot.withdrawals,
              sum + tot.insurance_fund + tot.fees_collected - tot.socialized_losses);
  }

  static wire::NewOrder lim(OrderId id, AccountId a, Side side, Price p, Qty q, InstrumentId i = 0,
                            TimeInForce tif = TimeInForce::GTC) {
    return t::limit(0, 0, id, a, i, side, p, q, tif);
  }
  void deposit(AccountId a, Money amount) { quiet(t::deposit(0, 0, a, amount, ++transfer)); }
  void index(Price p, InstrumentId i = 0) { quiet(t::index_price(0, 0, i, p)); }
  // a opens `q` long at `p` against a rich seller b.
  void open_long(OrderId id, AccountId a, AccountId b, Price p, Qty q, InstrumentId i = 0) {
    ASSERT_EQ(send(lim(id, b, Sell, p, q, i)).front(), "accepted " + s(id));
    ASSERT_EQ(send(lim(id + 1, a, Buy, p, q, i)).front(), "accepted " + s(id + 1));
  }

  Engine eng;
  EventBuffer out;
  SeqNo seq = 0;
  Timestamp ts = 1'000'000;
  std::uint64_t transfer = 0;
};

// A long 100 at 100 with 1,000 USD (IM 1,000, MM 500). At index 94: equity 1,000 - 600 = 400 <
// MM 470. bp = ceil(94 - floor(400 / 100)) = 90. The IOC sell 100 limit 90 takes 50 @ 96 and
// 50 @ 95 from C's bids; the fee is 1% of each fill (48 and 47.5 USD) while equity allows it.
TEST_F(LiquidationTest, SingleLongLiquidatedThroughTheBook) {
  ASSERT_EQ(send(perp(0)), Lines{});
  index(100);
  deposit(A, 1'000 * kUsd);
  deposit(B, 1'000'000 * kUsd);
  deposit(C, 1'000'000 * kUsd);
  open_long(1, A, B, 100, 100);
  quiet(lim(3, C, Buy, 96, 50));
  quiet(lim(4, C, Buy, 95, 100));
  index(95);  // equity 500 >= MM 475: nothing happens
  EXPECT_FALSE(eng.account(A).below_maintenance);
  const SeqNo origin = seq + 1;
  const std::string o = " depth=0 origin=" + s(origin);
  EXPECT_EQ(send(t::index_price(0, 0, 0, 94)),
            (Lines{"liq 1 inst=all triggered - qty=0 price=0 amount=-70000000" + o,
                   "liq 1 inst=all orders_cancelled - qty=0 price=0 amount=0" + o,
                   "liq 1 inst=0 book_order sell qty=100 price=90 amount=0" + o,
                   // R = 5,000, Vc = 4,800: r = -200. Equity after: 800 - 300 = 500 >= fee 48.
                   "fill 3<-1 50@96 fees=0/48000000 flags=1 ids=3/0",
                   "position 3/0 size=50 entry=4800000000 pnl=0",
                   "position 1/0 size=50 entry=5000000000 pnl=-200000000",
                   "insurance fee inst=0 delta=48000000 bal=48000000",
                   "fill 3<-1 50@95 fees=0/47500000 flags=1 ids=4/0",
                   "position 3/0 size=100 entry=9550000000 pnl=0",
                   "position 1/0 size=0 entry=0 pnl=-250000000",
                   "insurance fee inst=0 delta=47500000 bal=95500000",
                   "liq 1 inst=all completed - qty=0 price=0 amount=454500000" + o,
                   "margin 1 c=454500000 eq=454500000 im=0 mm=0",
                   // C: long 100 with E 9,550 at 94: U = -150; MM 470, IM 940 (+ its 50 left at 95).
                   "margin 3 c=1000000000000 eq=999850000000 im=2830000000 mm=470000000",
                   "mark 0 94 index=94 last=95"}));
  EXPECT_EQ(eng.totals().insurance_fund, 95'500'000);
  const LiquidationTotals lt = eng.liquidation_totals();
  EXPECT_EQ(lt.liquidations, 1u);
  EXPECT_EQ(lt.book_fills, 2u);
  EXPECT_EQ(lt.book_notional, 9'550 * kUsd);
  EXPECT_EQ(lt.fees, 95'500'000);
  EXPECT_EQ(eng.last_price(0), 95);
}

// Tier 1 position: A long 200 at 100 (20,000 USD: IM 4,000; MM 10% - 500). At 86: equity
// 4,000 - 2,800 = 1,200 < MM 1,720 - 500 = 1,220. Step quantity: down to tier 0's top,
// r = floor(10,000 / 86) = 116, q = 84. bp = ceil(86 - floor(1,200 / 200)) = 80.
TEST_F(LiquidationTest, PartialLiquidationStepsDownOneTier) {
  ASSERT_EQ(send(perp(0)), Lines{});
  index(100);
  deposit(A, 4'000 * kUsd);
  deposit(B, 1'000'000 * kUsd);
  deposit(C, 1'000'000 * kUsd);
  open_long(1, A, B, 100, 200);
  quiet(lim(3, C, Buy, 85, 500));
  index(87);  // equity 1,400 >= 1,240
  const SeqNo origin = seq + 1;
  const std::string o = " depth=0 origin=" + s(origin);
  EXPECT_EQ(cascade(t::index_price(0, 0, 0, 86)),
            (Lines{"liq 1 inst=all triggered - qty=0 price=0 amount=-20000000" + o,
                   "liq 1 inst=all orders_cancelled - qty=0 price=0 amount=0" + o,
                   "liq 1 inst=0 book_order sell qty=84 price=80 amount=0" + o,
                   // V = 7,140, R = 8,400: r = -1,260; C = 2,740. Fee 71.4.
                   "fill 3<-1 84@85 fees=0/71400000 flags=1 ids=3/0",
                   "position 3/0 size=84 entry=7140000000 pnl=0",
                   "position 1/0 size=116 entry=11600000000 pnl=-1260000000",
                   "insurance fee inst=0 delta=71400000 bal=71400000",
                   // C = 2,668.6; U = 9,976 - 11,600 = -1,624; MM 5% of 9,976 = 498.8.
                   "liq 1 inst=all completed - qty=0 price=0 amount=545800000" + o}));
  const AccountView a = eng.account(A);
  EXPECT_FALSE(a.below_maintenance);
  EXPECT_EQ(a.collateral, 2'668'600'000);
  ASSERT_EQ(a.positions.size(), 1u);
  EXPECT_EQ(a.positions[0].size, 116);
}

// A first liquidation leaves 95.5 USD in the fund (as in the first test). Then A2 long 10 at
// 94 with 100 USD falls to 85: equity 100 - 90 = 10 < MM 42.5; bp = ceil(85 - 1) = 84. No bid
// at 84 or better. The fund gives G = floor(95.5 / 10) = 9 price units: bpi = 75, and C's bid
// at 78 fills: r = 780 - 940 = -160, C = -60. The fund pays 60 USD.
TEST_F(LiquidationTest, BankruptcyPaidByTheInsuranceFund) {
  ASSERT_EQ(send(perp(0)), Lines{});
  index(100);
  deposit(A, 1'000 * kUsd);
  deposit(B, 1'000'000 * kUsd);
  deposit(C, 1'000'000 * kUsd);
  deposit(D, 100 * kUsd);
  open_long(1, A, B, 100, 100);
  quiet(lim(3, C, Buy, 96, 50));
  quiet(lim(4, C, Buy, 95, 50));
  index(94);
  ASSERT_EQ(eng.totals().insurance_fund, 95'500'000);
  open_long(5, D, B, 94, 10);
  quiet(lim(7, C, Buy, 78, 10));
  const SeqNo origin = seq + 1;
  const std::string o = " depth=0 origin=" + s(origin);
  EXPECT_EQ(cascade(t::index_price(0, 0, 0, 85)),
            (Lines{"liq 4 inst=all triggered - qty=0 price=0 amount=-32500000" + o,
                   "liq 4 inst=all orders_cancelled - qty=0 price=0 amount=0" + o,
                   "liq 4 inst=0 book_order sell qty=10 price=84 amount=0" + o,
                   "liq 4 inst=0 book_order sell qty=10 price=75 amount=0" + o,
                   // Equity after the fill is -60: no fee.
                   "fill 3<-4 10@78 fees=0/0 flags=1 ids=7/0",
                   "position 3/0 size=110 entry=10330000000 pnl=0",
                   "position 4/0 size=0 entry=0 pnl=-160000000",
                   "insurance payout inst=all delta=-60000000 bal=35500000",
                   "liq 4 inst=all bankrupt - qty=0 price=0 amount=60000000" + o,
                   "liq 4 inst=all completed - qty=0 price=0 amount=0" + o}));
  EXPECT_EQ(eng.balance(D), 0);
  EXPECT_EQ(eng.totals().insurance_fund, 35'500'000);
  EXPECT_EQ(eng.totals().socialized_losses, 0);
  EXPECT_EQ(eng.liquidation_totals().bankruptcies, 1u);
}

// No bid at all: the backstop accounts, ascending id, are offered 100 at bp 90. V (id 7) has
// 500 USD, short of the 900 IM of a 100 @ 90 buy; W (id 8) accepts and takes it all.
TEST_F(LiquidationTest, BackstopTakesThePositionAtTheBankruptcyPrice) {
  ASSERT_EQ(send(perp(0)), Lines{});
  index(100);
  deposit(A, 1'000 * kUsd);
  deposit(B, 1'000'000 * kUsd);
  deposit(V, 500 * kUsd);
  deposit(W, 100'000 * kUsd);
  using wire::AccountRole, wire::MarginMode;
  ASSERT_EQ(send(t::account_settings(0, 0, W, kAllInstruments, MarginMode::Cross, AccountRole::Backstop)), Lines{});
  ASSERT_EQ(send(t::account_settings(0, 0, V, kAllInstruments, MarginMode::Cross, AccountRole::Backstop)), Lines{});
  open_long(1, A, B, 100, 100);
  const SeqNo origin = seq + 1;
  const std::string o = " depth=0 origin=" + s(origin);
  EXPECT_EQ(send(t::index_price(0, 0, 0, 94)),
            (Lines{"liq 1 inst=all triggered - qty=0 price=0 amount=-70000000" + o,
                   "liq 1 inst=all orders_cancelled - qty=0 price=0 amount=0" + o,
                   "liq 1 inst=0 book_order sell qty=100 price=90 amount=0" + o,
                   "fill 8<-1 100@90 fees=0/0 flags=3 ids=0/0",
                   "position 8/0 size=100 entry=9000000000 pnl=0",
                   "position 1/0 size=0 entry=0 pnl=-1000000000",
                   "liq 1 inst=0 backstop sell qty=100 price=90 amount=8" + o,
                   "liq 1 inst=all completed - qty=0 price=0 amount=0" + o,
                   "margin 1 c=0 eq=0 im=0 mm=0",
                   // W: U = 9,400 - 9,000 = +400; IM 940, MM 470.
                   "margin 8 c=100000000000 eq=100400000000 im=940000000 mm=470000000",
                   "mark 0 94 index=94 last=100"}));
  EXPECT_TRUE(eng.account(V).positions.empty());
  EXPECT_EQ(eng.liquidation_totals().backstop_takeovers, 1u);
  EXPECT_EQ(eng.liquidation_totals().backstop_notional, 9'000 * kUsd);
}

// A long 100 at 100 against three shorts opened at 100: B 50 (10,000 USD), D 30 (2,000 USD),
// E 20 (100,000 USD). The index gaps to 80 with an empty book: equity -1,000, bp = ceil(80 + 10)
// = 90. At mark 80 every short has pnl ratio 0.2 (2e7); leverage N / equity: D 2,400 / 2,600,
// B 4,000 / 11,000, E 1,600 / 100,400. Rank D, B, E; each is closed entirely at 90.
TEST_F(LiquidationTest, AutoDeleveragingRanksByProfitTimesLeverage) {
  ASSERT_EQ(send(perp(0)), Lines{});
  index(100);
  deposit(A, 1'000 * kUsd);
  deposit(B, 10'000 * kUsd);
  deposit(D, 2'000 * kUsd);
  deposit(E, 100'000 * kUsd);
  quiet(lim(1, B, Sell, 100, 50));
  quiet(lim(2, D, Sell, 100, 30));
  quiet(lim(3, E, Sell, 100, 20));
  quiet(lim(4, A, Buy, 100, 100));
  const SeqNo origin = seq + 1;
  const std::string o = " depth=0 origin=" + s(origin);
  EXPECT_EQ(cascade(t::index_price(0, 0, 0, 80)),
            (Lines{"liq 1 inst=all triggered - qty=0 price=0 amount=-1400000000" + o,
                   "liq 1 inst=all orders_cancelled - qty=0 price=0 amount=0" + o,
                   "liq 1 inst=0 book_order sell qty=100 price=90 amount=0" + o,
                   "adl 4 vs 1 inst=0 rank=1 30@90",
                   "fill 4<-1 30@90 fees=0/0 flags=5 ids=0/0",
                   "position 4/0 size=0 entry=0 pnl=300000000",
                   "position 1/0 size=70 entry=7000000000 pnl=-300000000",
                   "adl 2 vs 1 inst=0 rank=2 50@90",
                   "fill 2<-1 50@90 fees=0/0 flags=5 ids=0/0",
                   "position 2/0 size=0 entry=0 pnl=500000000",
                   "position 1/0 size=20 entry=2000000000 pnl=-500000000",
                   "adl 5 vs 1 inst=0 rank=3 20@90",
                   "fill 5<-1 20@90 fees=0/0 flags=5 ids=0/0",
                   "position 5/0 size=0 entry=0 pnl=200000000",
                   "position 1/0 size=0 entry=0 pnl=-200000000",
                   "liq 1 inst=0 deleveraged sell qty=100 price=90 amount=0" + o,
                   "liq 1 inst=all completed - qty=0 price=0 amount=0" + o}));
  EXPECT_EQ(eng.balance(A), 0);
  EXPECT_EQ(eng.balance(D), 2'300 * kUsd);
  EXPECT_EQ(eng.liquidation_totals().deleverages, 3u);
}

// No index: the mark is the last trade. X's sell at 94 moves the mark to 94 and A (long 100
// at 100, 1,000 USD) goes below: its liquidation sells 100 @ 93 and moves the mark to 93, where
// B (long 100 at 100, 1,100 USD) goes below at depth 1 and sells at 90.
TEST_F(LiquidationTest, OneLiquidationTriggersTheNext) {
  auto d = perp(0);
  d.mark_band = 0;
  ASSERT_EQ(send(d), Lines{});
  deposit(A, 1'000 * kUsd);
  deposit(B, 1'100 * kUsd);
  deposit(M, 1'000'000 * kUsd);
  deposit(X, 1'000'000 * kUsd);
  quiet(lim(1, M, Sell, 100, 200));
  quiet(lim(2, A, Buy, 100, 100));
  quiet(lim(3, B, Buy, 100, 100));
  quiet(lim(4, M, Buy, 94, 100));
  quiet(lim(5, M, Buy, 93, 100));
  quiet(lim(6, M, Buy, 90, 100));
  const SeqNo origin = seq + 1;
  const std::string o0 = " depth=0 origin=" + s(origin), o1 = " depth=1 origin=" + s(origin);
  EXPECT_EQ(cascade(lim(7, X, Sell, 94, 100, 0, TimeInForce::IOC)),
            (Lines{// A at 94: equity 400 < MM 470; bp = ceil(94 - 4) = 90.
                   "liq 1 inst=all triggered - qty=0 price=0 amount=-70000000" + o0,
                   "liq 1 inst=all orders_cancelled - qty=0 price=0 amount=0" + o0,
                   "liq 1 inst=0 book_order sell qty=100 price=90 amount=0" + o0,
                   "fill 6<-1 100@93 fees=0/93000000 flags=1 ids=5/0",
                   "position 6/0 size=0 entry=0 pnl=700000000",
                   "position 1/0 size=0 entry=0 pnl=-700000000",
                   "insurance fee inst=0 delta=93000000 bal=93000000",
                   "liq 1 inst=all completed - qty=0 price=0 amount=207000000" + o0,
                   // B at 93: equity 1,100 - 700 = 400 < MM 465; bp = ceil(93 - 4) = 89.
                   "liq 2 inst=all triggered - qty=0 price=0 amount=-65000000" + o1,
                   "liq 2 inst=all orders_cancelled - qty=0 price=0 amount=0" + o1,
                   "liq 2 inst=0 book_order sell qty=100 price=89 amount=0" + o1,
                   "fill 6<-2 100@90 fees=0/90000000 flags=1 ids=6/0",
                   "position 6/0 size=100 entry=9000000000 pnl=0",
                   "position 2/0 size=0 entry=0 pnl=-1000000000",
                   "insurance fee inst=0 delta=90000000 bal=183000000",
                   "liq 2 inst=all completed - qty=0 price=0 amount=10000000" + o1}));
  EXPECT_EQ(eng.mark(0).mark, 90);
  EXPECT_EQ(eng.liquidation_totals().max_depth, 1u);
  EXPECT_EQ(eng.liquidation_totals().largest_cascade, 2u);
  EXPECT_EQ(eng.liquidation_totals().largest_cascade_origin, origin);
  EXPECT_EQ(eng.totals().below_maintenance, 0u);
}

// A cross account long 100 X and 50 Y at 100 with 2,000 USD, and one open order on each
// instrument. X's index falls to 85: equity 2,000 - 1,500 = 500 < MM 425 + 250. Both orders are
// cancelled in acceptance order; X (the larger MM) is closed at 84, and the account is left
// above maintenance with its Y position.
TEST_F(LiquidationTest, CrossAccountWithTwoInstruments) {
  ASSERT_EQ(send(perp(0)), Lines{});
  ASSERT_EQ(send(perp(1)), Lines{});
  index(100, 0);
  index(100, 1);
  deposit(A, 2'000 * kUsd);
  deposit(B, 1'000'000 * kUsd);
  deposit(C, 1'000'000 * kUsd);
  open_long(1, A, B, 100, 100, 0);
  open_long(3, A, B, 100, 50, 1);
  quiet(lim(5, A, Buy, 90, 2, 1));
  quiet(lim(6, A, Sell, 120, 1, 0));  // leaves W unchanged: accepted
  quiet(lim(7, C, Buy, 84, 100, 0));
  const SeqNo origin = seq + 1;
  const std::string o = " depth=0 origin=" + s(origin);
  EXPECT_EQ(send(t::index_price(0, 0, 0, 85)),
            (Lines{"liq 1 inst=all triggered - qty=0 price=0 amount=-175000000" + o,
                   "cancelled 5 qty=2 liquidation",
                   "cancelled 6 qty=1 liquidation",
                   "liq 1 inst=all orders_cancelled - qty=2 price=0 amount=0" + o,
                   // bp = ceil(85 - floor(500 / 100)) = 80.
                   "liq 1 inst=0 book_order sell qty=100 price=80 amount=0" + o,
                   "fill 3<-1 100@84 fees=0/84000000 flags=1 ids=7/0",
                   "position 3/0 size=100 entry=8400000000 pnl=0",
                   "position 1/0 size=0 entry=0 pnl=-1600000000",
                   "insurance fee inst=0 delta=84000000 bal=84000000",
                   // C = 2,000 - 1,600 - 84 = 316; MM of Y 250.
                   "liq 1 inst=all completed - qty=0 price=0 amount=66000000" + o,
                   "margin 1 c=316000000 eq=316000000 im=500000000 mm=250000000",
                   // C: long 100 at 84, index 85: U = +100.
                   "margin 3 c=1000000000000 eq=1000100000000 im=850000000 mm=425000000",
                   "mark 0 85 index=85 last=84"}));
  const AccountView a = eng.account(A);
  EXPECT_FALSE(a.below_maintenance);
  ASSERT_EQ(a.positions.size(), 1u);
  EXPECT_EQ(a.positions[0].instrument, 1u);
  EXPECT_EQ(a.positions[0].size, 50);
  EXPECT_EQ(eng.live_orders(), 0u);
}

// The backstop hand-off guard (step 7): V (950 USD) passes the pre-trade check of a 100 @ 90
// buy (IM 900) but would hold 100 at 90 with the mark at 80: equity 950 - 1,000 = -50 < MM
// 400, so it would be liquidated at once and hand the position on. It is skipped; W takes it.
TEST_F(LiquidationTest, BackstopLeftUnderWaterByTheTakeoverIsSkipped) {
  ASSERT_EQ(send(perp(0)), Lines{});
  index(100);
  deposit(A, 1'000 * kUsd);
  deposit(B, 1'000'000 * kUsd);
  deposit(V, 950 * kUsd);
  deposit(W, 100'000 * kUsd);
  using wire::AccountRole, wire::MarginMode;
  quiet(t::account_settings(0, 0, V, kAllInstruments, MarginMode::Cross, AccountRole::Backstop));
  quiet(t::account_settings(0, 0, W, kAllInstruments, MarginMode::Cross, AccountRole::Backstop));
  open_long(1, A, B, 100, 100);
  const SeqNo origin = seq + 1;
  const std::string o = " depth=0 origin=" + s(origin);
  // Equity 1,000 - 2,000 = -1,000, MM 400; bp = ceil(80 - floor(-1,000 / 100)) = 90.
  EXPECT_EQ(cascade(t::index_price(0, 0, 0, 80)),
            (Lines{"liq 1 inst=all triggered - qty=0 price=0 amount=-1400000000" + o,
                   "liq 1 inst=all orders_cancelled - qty=0 price=0 amount=0" + o,
                   "liq 1 inst=0 book_order sell qty=100 price=90 amount=0" + o,
                   "fill 8<-1 100@90 fees=0/0 flags=3 ids=0/0",
                   "position 8/0 size=100 entry=9000000000 pnl=0",
                   "position 1/0 size=0 entry=0 pnl=-1000000000",
                   "liq 1 inst=0 backstop sell qty=100 price=90 amount=8" + o,
                   "liq 1 inst=all completed - qty=0 price=0 amount=0" + o}));
  EXPECT_TRUE(eng.account(V).positions.empty());  // the record made for the check is released
  EXPECT_EQ(eng.liquidation_totals().liquidations, 1u);
  EXPECT_EQ(eng.liquidation_totals().backstop_takeovers, 1u);
}

// While the circuit breaker pauses the instrument, steps 6 and 8 are skipped: C's bids at 96
// and 95 would absorb A's 100 inside bp 90, but the position goes to the backstop W.
// Band 2% of the anchor 100 (the first trade): the trade at 97 is 3 away and pauses.
TEST_F(LiquidationTest, PausedInstrumentLiquidatesAgainstTheBackstop) {
  auto d = perp(0);
  d.circuit_band = 2'000'000;
  d.circuit_window_ms = 60'000;
  d.circuit_pause_ms = 60'000;
  ASSERT_EQ(send(d), Lines{});
  index(100);
  deposit(A, 1'000 * kUsd);
  deposit(B, 1'000'000 * kUsd);
  deposit(C, 1'000'000 * kUsd);
  deposit(W, 100'000 * kUsd);
  quiet(t::account_settings(0, 0, W, kAllInstruments, wire::MarginMode::Cross, wire::AccountRole::Backstop));
  open_long(1, A, B, 100, 100);
  quiet(lim(3, C, Buy, 97, 1));
  quiet(lim(4, C, Buy, 96, 50));
  quiet(lim(5, C, Buy, 95, 100));
  quiet(lim(6, B, Sell, 97, 1, 0, TimeInForce::IOC));
  EXPECT_EQ(send(lim(7, B, Sell, 96, 1, 0, TimeInForce::IOC)), Lines{"rejected 7"});  // InstrumentPaused
  const SeqNo origin = seq + 1;
  const std::string o = " depth=0 origin=" + s(origin);
  EXPECT_EQ(cascade(t::index_price(0, 0, 0, 94)),
            (Lines{"liq 1 inst=all triggered - qty=0 price=0 amount=-70000000" + o,
                   "liq 1 inst=all orders_cancelled - qty=0 price=0 amount=0" + o,
                   "liq 1 inst=0 book_order sell qty=100 price=90 amount=0" + o,
                   "fill 8<-1 100@90 fees=0/0 flags=3 ids=0/0",
                   "position 8/0 size=100 entry=9000000000 pnl=0",
                   "position 1/0 size=0 entry=0 pnl=-1000000000",
                   "liq 1 inst=0 backstop sell qty=100 price=90 amount=8" + o,
                   "liq 1 inst=all completed - qty=0 price=0 amount=0" + o}));
  EXPECT_EQ(eng.liquidation_totals().book_fills, 0u);
  EXPECT_EQ(eng.last_price(0), 97);
}

// An account whose equity is short of the maintenance margin only because of the book-only
// instrument is never liquidated: unmargined markets take no part (MM = 0).
TEST_F(LiquidationTest, BookOnlyInstrumentsAreNeverLiquidated) {
  auto d = t::instrument(0, 0, 0, 1, 1, 1, 10'000, 1'000);
  ASSERT_EQ(send(d), Lines{});
  quiet(lim(1, B, Sell, 100, 10));
  EXPECT_EQ(cascade(lim(2, A, Buy, 100, 10)), Lines{});
  quiet(lim(3, B, Buy, 50, 10));
  EXPECT_EQ(cascade(lim(4, C, Sell, 50, 10)), Lines{});
  EXPECT_LT(eng.account(A).equity, 0);
  EXPECT_EQ(eng.liquidation_totals().liquidations, 0u);
}

}  // namespace
