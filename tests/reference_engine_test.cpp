// Hand-computed scenarios for the reference engine, the oracle of the differential tests.
// Each expectation is worked out from docs/matching.md and docs/margin.md by hand; outputs are
// compared as the debug printer's lines (headers left out except in the header test). The
// matching scenarios trade an unmargined instrument with unfunded accounts and leave out the
// margin engine's events (positions, margin, marks, funding); the margin scenarios show
// everything.
#include "support/reference_engine.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "support/debug_print.hpp"
#include "support/random_events.hpp"

namespace {

namespace in = cascade::testing::input;
using cascade::EngineConfig;
using cascade::EventBuffer;
using cascade::kAllInstruments;
using cascade::OrderType;
using cascade::SelfTradePrevention;
using cascade::Side;
using cascade::TimeInForce;
using cascade::testing::ReferenceEngine;
using Lines = std::vector<std::string>;

constexpr auto Buy = Side::Buy;
constexpr auto Sell = Side::Sell;

class ReferenceEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The matching scenarios trade with unfunded accounts: liquidation (tested below) stays off.
    reset({.max_instruments = 4, .max_accounts = 8, .max_orders = 64, .max_levels_per_book = 1024,
           .liquidation = false});
  }

  // A fresh engine with instrument 0: tick 1, lot 1, prices 90..110, max qty 100, no bands.
  void reset(const EngineConfig& config) {
    engine = std::make_unique<ReferenceEngine>(config);
    seq = 0;
    ts = 1000;
    EXPECT_EQ(send(in::instrument(0, 1, 1, 90, 110, 100)), Lines{});
  }

  template <class T>
  Lines send(T msg, cascade::Timestamp at = 0, bool headers = false) {
    msg.header.seq = ++seq;
    ts = at ? at : ts + 10;
    msg.header.ts_ns = ts;
    out.clear();
    engine->process(cascade::EventView(reinterpret_cast<const std::byte*>(&msg)), out);
    Lines lines;
    cascade::EventReader reader(out.bytes());
    cascade::EventView ev;
    while (reader.next(ev)) {
      using cascade::wire::MsgType;
      const MsgType t = ev.type();
      if (book_only && (t == MsgType::PositionUpdate || t == MsgType::MarginUpdate || t == MsgType::MarkPrice ||
                        t == MsgType::FundingPayment))
        continue;
      lines.push_back(cascade::testing::describe(ev, headers));
    }
    return lines;
  }

  bool book_only = true;  // leave out the margin engine's events

  static cascade::wire::NewOrder order(cascade::OrderId id, cascade::AccountId account, Side side, OrderType type,
                                       TimeInForce tif, cascade::Price price, cascade::Qty qty,
                                       cascade::Price trigger = 0,
                                       SelfTradePrevention stp = SelfTradePrevention::Default,
                                       cascade::InstrumentId instrument = 0) {
    return in::new_order({.id = id,
                          .account = account,
                          .instrument = instrument,
                          .side = side,
                          .type = type,
                          .tif = tif,
                          .price = price,
                          .qty = qty,
                          .trigger = trigger,
                          .stp = stp});
  }
  static cascade::wire::NewOrder ioc(cascade::OrderId id, cascade::AccountId account, Side side, cascade::Price price,
                                     cascade::Qty qty, SelfTradePrevention stp = SelfTradePrevention::Default) {
    return order(id, account, side, OrderType::Limit, TimeInForce::IOC, price, qty, 0, stp);
  }
  static cascade::wire::NewOrder gtc(cascade::OrderId id, cascade::AccountId account, Side side, cascade::Price price,
                                     cascade::Qty qty, SelfTradePrevention stp = SelfTradePrevention::Default) {
    return order(id, account, side, OrderType::Limit, TimeInForce::GTC, price, qty, 0, stp);
  }

  std::unique_ptr<ReferenceEngine> engine;
  EventBuffer out;
  cascade::SeqNo seq = 0;
  cascade::Timestamp ts = 0;
};

TEST_F(ReferenceEngineTest, OutputHeadersCountOutputsAndCopyTheInputTimeAndSeq) {
  book_only = false;
  auto first = in::limit(1, 1, Buy, 100, 5);
  first.header.flags = cascade::wire::header_flags::kSynthetic;  // input flags are not copied
  EXPECT_EQ(send(first, 5000, true),
            (Lines{"accepted seq=1 ts=5000 ref=2 order_id=1 account=1 instrument=0 side=buy type=limit tif=gtc "
                   "price=100 qty=5 stp=default",
                   "margin seq=2 ts=5000 ref=2 account=1 collateral=0 equity=0 im=0 mm=0",
                   "depth seq=3 ts=5000 ref=2 instrument=0 side=buy price=100 qty=5 orders=1",
                   "top_of_book seq=4 ts=5000 ref=2 instrument=0 bid=5@100 ask=0@0"}));
  for (const auto& line : send(in::heartbeat(), 5000, true)) ADD_FAILURE() << line;
  EXPECT_EQ(send(in::limit(2, 1, Sell, 105, 1), 6000, true),
            (Lines{"accepted seq=5 ts=6000 ref=4 order_id=2 account=1 instrument=0 side=sell type=limit tif=gtc "
                   "price=105 qty=1 stp=default",
                   "margin seq=6 ts=6000 ref=4 account=1 collateral=0 equity=0 im=0 mm=0",
                   "depth seq=7 ts=6000 ref=4 instrument=0 side=sell price=105 qty=1 orders=1",
                   "top_of_book seq=8 ts=6000 ref=4 instrument=0 bid=5@100 ask=1@105"}));
  EXPECT_EQ(engine->output_seq(), 8u);
}

TEST_F(ReferenceEngineTest, AcceptedEchoesTheOrderAndRejectCarriesItsIdentity) {
  send(in::limit(1, 2, Sell, 100, 4));
  send(ioc(2, 3, Buy, 100, 4));  // account 3 is long 4: its reduce-only sell is accepted
  auto o = in::new_order({.id = 7,
                          .account = 3,
                          .side = Sell,
                          .type = OrderType::StopLimit,
                          .tif = TimeInForce::FOK,
                          .price = 95,
                          .qty = 4,
                          .trigger = 96,
                          .flags = cascade::order_flags::kReduceOnly,
                          .stp = SelfTradePrevention::CancelBoth,
                          .client_order_id = 77});
  EXPECT_EQ(send(o), (Lines{"accepted order_id=7 client_order_id=77 account=3 instrument=0 side=sell type=stop_limit "
                            "tif=fok price=95 qty=4 trigger=96 flags=2 stp=cancel_both"}));
  EXPECT_EQ(send(o), (Lines{"rejected id=7 client_order_id=77 account=3 instrument=0 reason=duplicate_order_id "
                            "input=new_order"}));
  EXPECT_EQ(engine->live_orders(), 1u);
}

TEST_F(ReferenceEngineTest, CrossingOrderFillsAtRestingPricesThenRests) {
  send(in::limit(1, 1, Buy, 100, 5));
  EXPECT_EQ(
      send(in::limit(2, 1, Buy, 100, 3)),
      (Lines{"accepted order_id=2 account=1 instrument=0 side=buy type=limit tif=gtc price=100 qty=3 stp=default",
             "depth instrument=0 side=buy price=100 qty=8 orders=2", "top_of_book instrument=0 bid=8@100 ask=0@0"}));
  EXPECT_EQ(
      send(in::limit(3, 2, Sell, 99, 10)),
      (Lines{"accepted order_id=3 account=2 instrument=0 side=sell type=limit tif=gtc price=99 qty=10 stp=default",
             "fill maker=1 taker=3 maker_account=1 taker_account=2 instrument=0 aggressor=sell price=100 qty=5 "
             "maker_leaves=0 taker_leaves=5",
             "fill maker=2 taker=3 maker_account=1 taker_account=2 instrument=0 aggressor=sell price=100 qty=3 "
             "maker_leaves=0 taker_leaves=2",
             "depth instrument=0 side=buy price=100 qty=0 orders=0",
             "depth instrument=0 side=sell price=99 qty=2 orders=1", "top_of_book instrument=0 bid=0@0 ask=2@99"}));
  EXPECT_EQ(engine->last_price(0), 100);
  EXPECT_EQ(engine->live_orders(), 1u);
}

TEST_F(ReferenceEngineTest, FifoWithinLevelPartlyFilledMakerKeepsItsPlace) {
  send(in::limit(1, 1, Buy, 100, 5));
  send(in::limit(2, 2, Buy, 100, 5));
  send(in::limit(3, 1, Buy, 99, 4));
  EXPECT_EQ(
      send(ioc(10, 3, Sell, 100, 3)),
      (Lines{"accepted order_id=10 account=3 instrument=0 side=sell type=limit tif=ioc price=100 qty=3 stp=default",
             "fill maker=1 taker=10 maker_account=1 taker_account=3 instrument=0 aggressor=sell price=100 qty=3 "
             "maker_leaves=2 taker_leaves=0",
             "depth instrument=0 side=buy price=100 qty=7 orders=2", "top_of_book instrument=0 bid=7@100 ask=0@0"}));
  EXPECT_EQ(
      send(ioc(11, 3, Sell, 100, 10)),
      (Lines{"accepted order_id=11 account=3 instrument=0 side=sell type=limit tif=ioc price=100 qty=10 stp=default",
             "fill maker=1 taker=11 maker_account=1 taker_account=3 instrument=0 aggressor=sell price=100 qty=2 "
             "maker_leaves=0 taker_leaves=8",
             "fill maker=2 taker=11 maker_account=2 taker_account=3 instrument=0 aggressor=sell price=100 qty=5 "
             "maker_leaves=0 taker_leaves=3",
             "cancelled order_id=11 account=3 instrument=0 qty=3 reason=ioc_remainder side=sell",
             "depth instrument=0 side=buy price=100 qty=0 orders=0", "top_of_book instrument=0 bid=4@99 ask=0@0"}));
}

TEST_F(ReferenceEngineTest, WalksLevelsInPriceOrderUpToTheLimit) {
  send(in::limit(1, 2, Sell, 101, 5));
  send(in::limit(2, 2, Sell, 102, 5));
  send(in::limit(3, 2, Sell, 104, 5));
  EXPECT_EQ(
      send(ioc(4, 1, Buy, 102, 12)),
      (Lines{"accepted order_id=4 account=1 instrument=0 side=buy type=limit tif=ioc price=102 qty=12 stp=default",
             "fill maker=1 taker=4 maker_account=2 taker_account=1 instrument=0 aggressor=buy price=101 qty=5 "
             "maker_leaves=0 taker_leaves=7",
             "fill maker=2 taker=4 maker_account=2 taker_account=1 instrument=0 aggressor=buy price=102 qty=5 "
             "maker_leaves=0 taker_leaves=2",
             "cancelled order_id=4 account=1 instrument=0 qty=2 reason=ioc_remainder side=buy",
             "depth instrument=0 side=sell price=101 qty=0 orders=0",
             "depth instrument=0 side=sell price=102 qty=0 orders=0", "top_of_book instrument=0 bid=0@0 ask=5@104"}));
  // Bids are listed before asks.
  EXPECT_EQ(
      send(gtc(5, 1, Buy, 104, 7)),
      (Lines{"accepted order_id=5 account=1 instrument=0 side=buy type=limit tif=gtc price=104 qty=7 stp=default",
             "fill maker=3 taker=5 maker_account=2 taker_account=1 instrument=0 aggressor=buy price=104 qty=5 "
             "maker_leaves=0 taker_leaves=2",
             "depth instrument=0 side=buy price=104 qty=2 orders=1",
             "depth instrument=0 side=sell price=104 qty=0 orders=0", "top_of_book instrument=0 bid=2@104 ask=0@0"}));
}

TEST_F(ReferenceEngineTest, MarketOrders) {
  EXPECT_EQ(send(order(1, 1, Buy, OrderType::Market, TimeInForce::IOC, 0, 5)),
            (Lines{"accepted order_id=1 account=1 instrument=0 side=buy type=market tif=ioc price=0 qty=5 stp=default",
                   "cancelled order_id=1 account=1 instrument=0 qty=5 reason=no_liquidity side=buy"}));
  send(in::limit(2, 2, Sell, 105, 3));
  EXPECT_EQ(
      send(order(3, 1, Buy, OrderType::Market, TimeInForce::IOC, 104, 5)),  // worst price 104
      (Lines{"accepted order_id=3 account=1 instrument=0 side=buy type=market tif=ioc price=104 qty=5 stp=default",
             "cancelled order_id=3 account=1 instrument=0 qty=5 reason=no_liquidity side=buy"}));
  EXPECT_EQ(
      send(order(4, 1, Buy, OrderType::Market, TimeInForce::IOC, 0, 5)),
      (Lines{"accepted order_id=4 account=1 instrument=0 side=buy type=market tif=ioc price=0 qty=5 stp=default",
             "fill maker=2 taker=4 maker_account=2 taker_account=1 instrument=0 aggressor=buy price=105 qty=3 "
             "maker_leaves=0 taker_leaves=2",
             "cancelled order_id=4 account=1 instrument=0 qty=2 reason=ioc_remainder side=buy",
             "depth instrument=0 side=sell price=105 qty=0 orders=0", "top_of_book instrument=0 bid=0@0 ask=0@0"}));
  EXPECT_EQ(send(order(5, 1, Buy, OrderType::Market, TimeInForce::FOK, 0, 1)),  // FOK checks first
            (Lines{"accepted order_id=5 account=1 instrument=0 side=buy type=market tif=fok price=0 qty=1 stp=default",
                   "cancelled order_id=5 account=1 instrument=0 qty=1 reason=fok_not_filled side=buy"}));
}

TEST_F(ReferenceEngineTest, MarketBandFollowsTheReferenceAtMatchTime) {
  // Instrument 1: tick 5, ref 100, market band 6%, price band 10%.
  auto def = in::instrument(1, 5, 1, 50, 200, 100);
  def.reference_price = 100;
  def.market_band = 6'000'000;
  def.price_band = 10'000'000;
  EXPECT_EQ(send(def), Lines{});
  send(in::limit(1, 2, Sell, 100, 2, 1));
  send(in::limit(2, 2, Sell, 105, 2, 1));
  send(in::limit(3, 2, Sell, 110, 2, 1));
  // ref 100: d = 6, a buy's limit is floor_to_tick(106) = 105.
  EXPECT_EQ(
      send(order(4, 1, Buy, OrderType::Market, TimeInForce::IOC, 0, 10, 0, SelfTradePrevention::Default, 1)),
      (Lines{"accepted order_id=4 account=1 instrument=1 side=buy type=market tif=ioc price=0 qty=10 stp=default",
             "fill maker=1 taker=4 maker_account=2 taker_account=1 instrument=1 aggressor=buy price=100 qty=2 "
             "maker_leaves=0 taker_leaves=8",
             "fill maker=2 taker=4 maker_account=2 taker_account=1 instrument=1 aggressor=buy price=105 qty=2 "
             "maker_leaves=0 taker_leaves=6",
             "cancelled order_id=4 account=1 instrument=1 qty=6 reason=ioc_remainder side=buy",
             "depth instrument=1 side=sell price=100 qty=0 orders=0",
             "depth instrument=1 side=sell price=105 qty=0 orders=0", "top_of_book instrument=1 bid=0@0 ask=2@110"}));
  // Now ref = last = 105: d = 6, limit floor_to_tick(111) = 110.
  EXPECT_EQ(
      send(order(5, 1, Buy, OrderType::Market, TimeInForce::IOC, 0, 1, 0, SelfTradePrevention::Default, 1)),
      (Lines{"accepted order_id=5 account=1 instrument=1 side=buy type=market tif=ioc price=0 qty=1 stp=default",
             "fill maker=3 taker=5 maker_account=2 taker_account=1 instrument=1 aggressor=buy price=110 qty=1 "
             "maker_leaves=1 taker_leaves=0",
             "depth instrument=1 side=sell price=110 qty=1 orders=1", "top_of_book instrument=1 bid=0@0 ask=1@110"}));
  // ref 110, price band d = 11: 121 is out of band, 120 is in; 95 < 99 is out.
  EXPECT_EQ(send(in::limit(6, 1, Buy, 125, 1, 1)),
            (Lines{"rejected id=6 account=1 instrument=1 reason=price_out_of_band input=new_order"}));
  EXPECT_EQ(send(in::limit(7, 3, Sell, 95, 2, 1)),
            (Lines{"rejected id=7 account=3 instrument=1 reason=price_out_of_band input=new_order"}));
  send(in::limit(8, 3, Buy, 100, 2, 1));
  // A sell's limit is ceil_to_tick(110 - 6) = 105: the 100 bid is not acceptable.
  EXPECT_EQ(send(order(9, 1, Sell, OrderType::Market, TimeInForce::IOC, 0, 1, 0, SelfTradePrevention::Default, 1)),
            (Lines{"accepted order_id=9 account=1 instrument=1 side=sell type=market tif=ioc price=0 qty=1 stp=default",
                   "cancelled order_id=9 account=1 instrument=1 qty=1 reason=no_liquidity side=sell"}));
  // A market order's worst price is not banded.
  EXPECT_EQ(
      send(order(10, 1, Sell, OrderType::Market, TimeInForce::IOC, 50, 1, 0, SelfTradePrevention::Default, 1)),
      (Lines{"accepted order_id=10 account=1 instrument=1 side=sell type=market tif=ioc price=50 qty=1 stp=default",
             "cancelled order_id=10 account=1 instrument=1 qty=1 reason=no_liquidity side=sell"}));
}

TEST_F(ReferenceEngineTest, PriceBandReferenceIsLastTradeElseIndexElseDefinition) {
  auto def = in::instrument(2, 1, 1, 1, 1000, 100);
  def.price_band = 5'000'000;
  EXPECT_EQ(send(def), Lines{});
  EXPECT_EQ(send(in::limit(1, 1, Buy, 900, 1, 2)).size(), 3u);  // no reference: not banded
  send(in::cancel(1, 1, 2));
  def.reference_price = 500;
  EXPECT_EQ(send(def), Lines{});  // no live orders: replaced
  EXPECT_EQ(send(in::limit(2, 1, Buy, 526, 1, 2)),
            (Lines{"rejected id=2 account=1 instrument=2 reason=price_out_of_band input=new_order"}));
  EXPECT_EQ(send(in::index_price(2, 200)), Lines{});
  // ref = index 200, d = 10.
  EXPECT_EQ(send(in::limit(3, 1, Buy, 211, 1, 2)),
            (Lines{"rejected id=3 account=1 instrument=2 reason=price_out_of_band input=new_order"}));
  EXPECT_EQ(send(in::limit(4, 1, Buy, 189, 1, 2)),
            (Lines{"rejected id=4 account=1 instrument=2 reason=price_out_of_band input=new_order"}));
  EXPECT_EQ(send(in::limit(5, 1, Sell, 210, 1, 2)).size(), 3u);
  EXPECT_EQ(send(in::limit(6, 2, Buy, 210, 1, 2)).size(), 4u);  // trades at 210
  // ref = last 210, d = 10: 221 out, 220 in.
  EXPECT_EQ(send(in::limit(7, 1, Buy, 221, 1, 2)),
            (Lines{"rejected id=7 account=1 instrument=2 reason=price_out_of_band input=new_order"}));
  EXPECT_EQ(send(in::limit(8, 1, Buy, 220, 1, 2)).size(), 3u);
}

TEST_F(ReferenceEngineTest, SelfTradePrevention) {
  send(in::limit(1, 1, Sell, 100, 5));
  send(in::limit(2, 2, Sell, 101, 5));
  EXPECT_EQ(send(gtc(3, 1, Buy, 101, 10, SelfTradePrevention::CancelIncoming)),
            (Lines{"accepted order_id=3 account=1 instrument=0 side=buy type=limit tif=gtc price=101 qty=10 "
                   "stp=cancel_incoming",
                   "cancelled order_id=3 account=1 instrument=0 qty=10 reason=self_trade side=buy"}));
  EXPECT_EQ(
      send(gtc(4, 1, Buy, 101, 10, SelfTradePrevention::Default)),
      (Lines{"accepted order_id=4 account=1 instrument=0 side=buy type=limit tif=gtc price=101 qty=10 stp=default",
             "cancelled order_id=4 account=1 instrument=0 qty=10 reason=self_trade side=buy"}));
  EXPECT_EQ(
      send(gtc(5, 1, Buy, 101, 7, SelfTradePrevention::CancelResting)),
      (Lines{"accepted order_id=5 account=1 instrument=0 side=buy type=limit tif=gtc price=101 qty=7 "
             "stp=cancel_resting",
             "cancelled order_id=1 account=1 instrument=0 qty=5 reason=self_trade side=sell",
             "fill maker=2 taker=5 maker_account=2 taker_account=1 instrument=0 aggressor=buy price=101 qty=5 "
             "maker_leaves=0 taker_leaves=2",
             "depth instrument=0 side=buy price=101 qty=2 orders=1",
             "depth instrument=0 side=sell price=100 qty=0 orders=0",
             "depth instrument=0 side=sell price=101 qty=0 orders=0", "top_of_book instrument=0 bid=2@101 ask=0@0"}));
  send(in::limit(6, 1, Sell, 102, 3));
  send(in::limit(7, 3, Sell, 102, 3));
  EXPECT_EQ(
      send(gtc(8, 1, Buy, 102, 6, SelfTradePrevention::CancelBoth)),
      (Lines{"accepted order_id=8 account=1 instrument=0 side=buy type=limit tif=gtc price=102 qty=6 stp=cancel_both",
             "cancelled order_id=6 account=1 instrument=0 qty=3 reason=self_trade side=sell",
             "cancelled order_id=8 account=1 instrument=0 qty=6 reason=self_trade side=buy",
             "depth instrument=0 side=sell price=102 qty=3 orders=1", "top_of_book instrument=0 bid=2@101 ask=3@102"}));
  // After partial fills the remainder is cancelled for the self trade, not as an IOC remainder.
  send(in::limit(9, 2, Sell, 103, 2));
  send(in::limit(10, 1, Sell, 104, 2));
  EXPECT_EQ(
      send(order(11, 1, Buy, OrderType::Market, TimeInForce::IOC, 0, 8)),
      (Lines{"accepted order_id=11 account=1 instrument=0 side=buy type=market tif=ioc price=0 qty=8 stp=default",
             "fill maker=7 taker=11 maker_account=3 taker_account=1 instrument=0 aggressor=buy price=102 qty=3 "
             "maker_leaves=0 taker_leaves=5",
             "fill maker=9 taker=11 maker_account=2 taker_account=1 instrument=0 aggressor=buy price=103 qty=2 "
             "maker_leaves=0 taker_leaves=3",
             "cancelled order_id=11 account=1 instrument=0 qty=3 reason=self_trade side=buy",
             "depth instrument=0 side=sell price=102 qty=0 orders=0",
             "depth instrument=0 side=sell price=103 qty=0 orders=0", "top_of_book instrument=0 bid=2@101 ask=2@104"}));
}

TEST_F(ReferenceEngineTest, FillOrKillCountsOnlyWhatItCouldTake) {
  send(in::limit(1, 2, Sell, 100, 3));
  send(in::limit(2, 1, Sell, 101, 4));
  send(in::limit(3, 3, Sell, 102, 5));
  // Own order at 101 stops the walk: 3 < 8.
  EXPECT_EQ(send(order(4, 1, Buy, OrderType::Limit, TimeInForce::FOK, 102, 8)),
            (Lines{"accepted order_id=4 account=1 instrument=0 side=buy type=limit tif=fok price=102 qty=8 stp=default",
                   "cancelled order_id=4 account=1 instrument=0 qty=8 reason=fok_not_filled side=buy"}));
  // CancelResting skips it, but only prices up to 101 count: 3 < 8.
  EXPECT_EQ(send(order(5, 1, Buy, OrderType::Limit, TimeInForce::FOK, 101, 8, 0, SelfTradePrevention::CancelResting)),
            (Lines{"accepted order_id=5 account=1 instrument=0 side=buy type=limit tif=fok price=101 qty=8 "
                   "stp=cancel_resting",
                   "cancelled order_id=5 account=1 instrument=0 qty=8 reason=fok_not_filled side=buy"}));
  // 3 + 5 = 8: matches as IOC, cancelling its own order on the way.
  EXPECT_EQ(
      send(order(6, 1, Buy, OrderType::Limit, TimeInForce::FOK, 102, 8, 0, SelfTradePrevention::CancelResting)),
      (Lines{"accepted order_id=6 account=1 instrument=0 side=buy type=limit tif=fok price=102 qty=8 "
             "stp=cancel_resting",
             "fill maker=1 taker=6 maker_account=2 taker_account=1 instrument=0 aggressor=buy price=100 qty=3 "
             "maker_leaves=0 taker_leaves=5",
             "cancelled order_id=2 account=1 instrument=0 qty=4 reason=self_trade side=sell",
             "fill maker=3 taker=6 maker_account=3 taker_account=1 instrument=0 aggressor=buy price=102 qty=5 "
             "maker_leaves=0 taker_leaves=0",
             "depth instrument=0 side=sell price=100 qty=0 orders=0",
             "depth instrument=0 side=sell price=101 qty=0 orders=0",
             "depth instrument=0 side=sell price=102 qty=0 orders=0", "top_of_book instrument=0 bid=0@0 ask=0@0"}));
}

TEST_F(ReferenceEngineTest, PostOnly) {
  send(in::limit(1, 2, Sell, 101, 5));
  auto po = [](cascade::OrderId id, cascade::AccountId account, cascade::Price price, TimeInForce tif) {
    return in::new_order({.id = id,
                          .account = account,
                          .side = Buy,
                          .tif = tif,
                          .price = price,
                          .qty = 1,
                          .flags = cascade::order_flags::kPostOnly});
  };
  EXPECT_EQ(send(po(2, 1, 101, TimeInForce::GTC)),
            (Lines{"rejected id=2 account=1 instrument=0 reason=post_only_would_take input=new_order"}));
  EXPECT_EQ(send(po(3, 2, 102, TimeInForce::GTC)),  // whoever owns the resting order
            (Lines{"rejected id=3 account=2 instrument=0 reason=post_only_would_take input=new_order"}));
  EXPECT_EQ(send(po(4, 1, 100, TimeInForce::IOC)),
            (Lines{"rejected id=4 account=1 instrument=0 reason=invalid_flags input=new_order"}));
  EXPECT_EQ(
      send(po(5, 1, 100, TimeInForce::GTC)),
      (Lines{"accepted order_id=5 account=1 instrument=0 side=buy type=limit tif=gtc price=100 qty=1 flags=1 "
             "stp=default",
             "depth instrument=0 side=buy price=100 qty=1 orders=1", "top_of_book instrument=0 bid=1@100 ask=5@101"}));
  EXPECT_EQ(send(in::modify(5, 1, 101, 1)),
            (Lines{"rejected id=5 account=1 instrument=0 reason=post_only_would_take input=modify"}));
  EXPECT_EQ(
      send(in::modify(5, 1, 99, 1)),
      (Lines{"modified order_id=5 account=1 instrument=0 new_price=99 new_qty=1 priority_kept=0",
             "depth instrument=0 side=buy price=100 qty=0 orders=0",
             "depth instrument=0 side=buy price=99 qty=1 orders=1", "top_of_book instrument=0 bid=1@99 ask=5@101"}));
}

TEST_F(ReferenceEngineTest, NewOrderValidationOrderFirstFailingCheckWins) {
  auto def = in::instrument(3, 5, 10, 50, 200, 1000);
  def.reference_price = 100;
  def.price_band = 20'000'000;  // d = 20
  EXPECT_EQ(send(def), Lines{});
  send(in::limit(50, 1, Buy, 100, 10, 3));  // live id 50

  struct Case {
    const char* reason;
    in::Order order;
  };
  const in::Order base{.id = 1, .account = 1, .instrument = 3, .side = Buy, .price = 100, .qty = 10};
  auto with = [&](auto change) {
    in::Order o = base;
    change(o);
    return o;
  };
  const std::vector<Case> cases = {
      {"unknown_instrument", with([](in::Order& o) { o.instrument = 7, o.account = 99; })},
      {"unknown_instrument", with([](in::Order& o) { o.instrument = kAllInstruments; })},
      {"unknown_account", with([](in::Order& o) { o.account = 8, o.id = 0; })},
      {"invalid_order_id", with([](in::Order& o) { o.id = 0, o.side = Side{0}; })},
      {"invalid_side", with([](in::Order& o) { o.side = Side{3}, o.type = OrderType{9}; })},
      {"invalid_order_type", with([](in::Order& o) { o.type = OrderType{0}, o.tif = TimeInForce{0}; })},
      {"invalid_time_in_force", with([](in::Order& o) { o.tif = TimeInForce{4}, o.stp = SelfTradePrevention{4}; })},
      {"invalid_stp", with([](in::Order& o) { o.stp = SelfTradePrevention{4}, o.flags = 8; })},
      {"invalid_flags", with([](in::Order& o) { o.flags = 4, o.qty = 0; })},
      {"invalid_flags", with([](in::Order& o) { o.flags = 1, o.tif = TimeInForce::IOC, o.qty = 0; })},
      {"invalid_flags", with([](in::Order& o) { o.flags = 1, o.type = OrderType::StopLimit, o.trigger = 100; })},
      {"invalid_time_in_force", with([](in::Order& o) { o.type = OrderType::Market, o.qty = 0; })},
      {"invalid_time_in_force", with([](in::Order& o) { o.type = OrderType::StopMarket, o.trigger = 100; })},
      {"invalid_quantity", with([](in::Order& o) { o.qty = 0, o.price = 0; })},
      {"invalid_quantity", with([](in::Order& o) { o.qty = -10; })},
      {"invalid_quantity", with([](in::Order& o) { o.qty = 1010; })},
      {"quantity_off_lot", with([](in::Order& o) { o.qty = 15, o.price = 0; })},
      {"invalid_price", with([](in::Order& o) { o.price = 0, o.trigger = 5; })},
      {"invalid_price", with([](in::Order& o) { o.price = -5; })},
      {"price_off_tick", with([](in::Order& o) { o.price = 102, o.trigger = 5; })},
      {"price_out_of_range", with([](in::Order& o) { o.price = 45; })},
      {"price_out_of_range", with([](in::Order& o) { o.price = 205; })},
      {"price_out_of_band", with([](in::Order& o) { o.price = 125, o.trigger = 5; })},
      {"price_out_of_band", with([](in::Order& o) { o.price = 75; })},
      {"invalid_trigger_price", with([](in::Order& o) { o.trigger = 100; })},
      {"invalid_trigger_price", with([](in::Order& o) { o.type = OrderType::StopLimit; })},
      {"invalid_trigger_price", with([](in::Order& o) { o.type = OrderType::StopLimit, o.trigger = 102; })},
      {"invalid_trigger_price", with([](in::Order& o) { o.type = OrderType::StopLimit, o.trigger = 45; })},
      {"invalid_price", with([](in::Order& o) { o.type = OrderType::Market, o.tif = TimeInForce::IOC, o.price = -5; })},
      {"price_off_tick",
       with([](in::Order& o) { o.type = OrderType::Market, o.tif = TimeInForce::IOC, o.price = 101; })},
      {"price_out_of_range",
       with([](in::Order& o) { o.type = OrderType::StopMarket, o.tif = TimeInForce::IOC, o.price = 250; })},
      {"duplicate_order_id", with([](in::Order& o) { o.id = 50, o.flags = 1; })},
  };
  for (const auto& c : cases) {
    const auto msg = in::new_order(c.order);
    const std::string expected =
        "rejected id=" + std::to_string(msg.order_id) + " account=" + std::to_string(msg.account) +
        " instrument=" + (msg.instrument == kAllInstruments ? std::string("all") : std::to_string(msg.instrument)) +
        " reason=" + c.reason + " input=new_order";
    EXPECT_EQ(send(msg), Lines{expected}) << c.reason;
  }
  // A market order's worst price is not banded: 50 (below ref - d = 80) is accepted.
  EXPECT_EQ(
      send(order(2, 2, Sell, OrderType::Market, TimeInForce::IOC, 50, 10, 0, SelfTradePrevention::Default, 3)),
      (Lines{"accepted order_id=2 account=2 instrument=3 side=sell type=market tif=ioc price=50 qty=10 stp=default",
             "fill maker=50 taker=2 maker_account=1 taker_account=2 instrument=3 aggressor=sell price=100 qty=10 "
             "maker_leaves=0 taker_leaves=0",
             "depth instrument=3 side=buy price=100 qty=0 orders=0", "top_of_book instrument=3 bid=0@0 ask=0@0"}));
}

TEST_F(ReferenceEngineTest, OrderCapacityCountsOrdersThatCouldRest) {
  reset({.max_instruments = 4, .max_accounts = 8, .max_orders = 2, .max_levels_per_book = 1024, .liquidation = false});
  send(in::limit(1, 1, Sell, 101, 5));
  send(in::limit(2, 2, Buy, 99, 5));
  // Would fill completely, but could rest: rejected.
  EXPECT_EQ(send(gtc(3, 3, Buy, 101, 5)),
            (Lines{"rejected id=3 account=3 instrument=0 reason=order_capacity input=new_order"}));
  EXPECT_EQ(send(order(4, 3, Buy, OrderType::StopMarket, TimeInForce::IOC, 0, 1, 105)),
            (Lines{"rejected id=4 account=3 instrument=0 reason=order_capacity input=new_order"}));
  EXPECT_EQ(send(order(5, 3, Buy, OrderType::StopLimit, TimeInForce::IOC, 105, 1, 105)),
            (Lines{"rejected id=5 account=3 instrument=0 reason=order_capacity input=new_order"}));
  EXPECT_EQ(send(ioc(6, 3, Buy, 101, 1)).size(), 4u);
  EXPECT_EQ(send(order(7, 3, Sell, OrderType::Market, TimeInForce::IOC, 0, 1)).size(), 4u);
  // Validation order: duplicate before capacity.
  EXPECT_EQ(send(gtc(1, 3, Buy, 100, 1)),
            (Lines{"rejected id=1 account=3 instrument=0 reason=duplicate_order_id input=new_order"}));
  send(in::cancel(2, 2));
  EXPECT_EQ(send(gtc(3, 3, Buy, 101, 4)).size(), 4u);  // fills 4 of 4: accepted, fill, depth, top
  EXPECT_EQ(engine->live_orders(), 0u);
}

TEST_F(ReferenceEngineTest, ClockRejectsBackwardsTimestampsAndAdvancesOnOtherRejects) {
  EXPECT_EQ(send(in::heartbeat(), 2000), Lines{});
  EXPECT_EQ(send(in::limit(1, 1, Buy, 100, 5), 1999),
            (Lines{"rejected id=1 account=1 instrument=0 reason=timestamp_backwards input=new_order"}));
  EXPECT_EQ(send(in::limit(1, 1, Buy, 100, 5), 2000).size(), 3u);  // equal is fine
  EXPECT_EQ(send(in::limit(2, 1, Buy, 100, 5, 3), 3000),
            (Lines{"rejected id=2 account=1 instrument=3 reason=unknown_instrument input=new_order"}));
  EXPECT_EQ(send(in::heartbeat(), 2999),
            (Lines{"rejected id=0 account=0 instrument=0 reason=timestamp_backwards input=heartbeat"}));
  EXPECT_EQ(send(in::deposit(4, 10, 12), 2998),
            (Lines{"rejected id=12 account=4 instrument=0 reason=timestamp_backwards input=deposit"}));
  EXPECT_EQ(send(in::cancel(1, 1), 2),
            (Lines{"rejected id=1 account=1 instrument=0 reason=timestamp_backwards input=cancel"}));
  EXPECT_EQ(send(in::mass_cancel(1), 2),
            (Lines{"rejected id=0 account=1 instrument=all reason=timestamp_backwards input=mass_cancel"}));
  auto not_input = cascade::wire::make<cascade::wire::TopOfBook>();
  EXPECT_EQ(send(not_input, 1), Lines{});  // output events are ignored
  EXPECT_EQ(send(in::deposit(4, 10, 13), 3000), (Lines{"balance account=4 reason=deposit delta=10 balance=10"}));
}

TEST_F(ReferenceEngineTest, CancelAndModifyRejects) {
  auto def1 = in::instrument(1, 1, 1, 1, 1000, 100);
  send(def1);
  send(in::limit(1, 1, Buy, 100, 5));
  send(order(2, 1, Sell, OrderType::StopMarket, TimeInForce::IOC, 0, 1, 95));
  EXPECT_EQ(send(in::cancel(99, 1)),
            (Lines{"rejected id=99 account=1 instrument=0 reason=unknown_order input=cancel"}));
  EXPECT_EQ(send(in::cancel(1, 2)),
            (Lines{"rejected id=1 account=2 instrument=0 reason=not_order_owner input=cancel"}));
  EXPECT_EQ(send(in::cancel(1, 1, 1)),
            (Lines{"rejected id=1 account=1 instrument=1 reason=unknown_order input=cancel"}));
  EXPECT_EQ(send(in::cancel(1, 9, 9)),
            (Lines{"rejected id=1 account=9 instrument=9 reason=unknown_instrument input=cancel"}));
  EXPECT_EQ(send(in::cancel(1, 8)),
            (Lines{"rejected id=1 account=8 instrument=0 reason=unknown_account input=cancel"}));
  EXPECT_EQ(send(in::modify(2, 1, 95, 1)),
            (Lines{"rejected id=2 account=1 instrument=0 reason=invalid_order_type input=modify"}));
  EXPECT_EQ(send(in::modify(1, 2, 0, 0)),
            (Lines{"rejected id=1 account=2 instrument=0 reason=not_order_owner input=modify"}));
  EXPECT_EQ(send(in::modify(1, 1, 0, 0)),
            (Lines{"rejected id=1 account=1 instrument=0 reason=invalid_quantity input=modify"}));
  EXPECT_EQ(send(in::modify(1, 1, 0, 101)),
            (Lines{"rejected id=1 account=1 instrument=0 reason=invalid_quantity input=modify"}));
  EXPECT_EQ(send(in::modify(1, 1, 0, 5)),
            (Lines{"rejected id=1 account=1 instrument=0 reason=invalid_price input=modify"}));
  EXPECT_EQ(send(in::modify(1, 1, 111, 5)),
            (Lines{"rejected id=1 account=1 instrument=0 reason=price_out_of_range input=modify"}));
  EXPECT_EQ(send(in::modify(1, 1, 100, 5)),
            (Lines{"rejected id=1 account=1 instrument=0 reason=modify_no_change input=modify"}));
  EXPECT_EQ(send(in::cancel(2, 1)), (Lines{"cancelled order_id=2 account=1 instrument=0 qty=1 reason=user side=sell"}));
  EXPECT_EQ(send(in::cancel(1, 1)), (Lines{"cancelled order_id=1 account=1 instrument=0 qty=5 reason=user side=buy",
                                           "depth instrument=0 side=buy price=100 qty=0 orders=0",
                                           "top_of_book instrument=0 bid=0@0 ask=0@0"}));
  EXPECT_EQ(send(in::cancel(1, 1)), (Lines{"rejected id=1 account=1 instrument=0 reason=unknown_order input=cancel"}));
  EXPECT_EQ(send(in::modify(1, 1, 100, 4)),
            (Lines{"rejected id=1 account=1 instrument=0 reason=unknown_order input=modify"}));
  EXPECT_EQ(engine->live_orders(), 0u);
}

TEST_F(ReferenceEngineTest, ModifyKeepsPriorityOnlyForAPureDecrease) {
  send(in::limit(1, 1, Buy, 100, 5));
  send(in::limit(2, 2, Buy, 100, 5));
  send(in::limit(3, 3, Buy, 100, 5));
  EXPECT_EQ(
      send(in::modify(1, 1, 100, 3)),
      (Lines{"modified order_id=1 account=1 instrument=0 new_price=100 new_qty=3 priority_kept=1",
             "depth instrument=0 side=buy price=100 qty=13 orders=3", "top_of_book instrument=0 bid=13@100 ask=0@0"}));
  EXPECT_EQ(
      send(in::modify(2, 2, 100, 6)),
      (Lines{"modified order_id=2 account=2 instrument=0 new_price=100 new_qty=6 priority_kept=0",
             "depth instrument=0 side=buy price=100 qty=14 orders=3", "top_of_book instrument=0 bid=14@100 ask=0@0"}));
  // Queue is now 1 (3), 3 (5), 2 (6).
  EXPECT_EQ(
      send(ioc(4, 4, Sell, 100, 9)),
      (Lines{"accepted order_id=4 account=4 instrument=0 side=sell type=limit tif=ioc price=100 qty=9 stp=default",
             "fill maker=1 taker=4 maker_account=1 taker_account=4 instrument=0 aggressor=sell price=100 qty=3 "
             "maker_leaves=0 taker_leaves=6",
             "fill maker=3 taker=4 maker_account=3 taker_account=4 instrument=0 aggressor=sell price=100 qty=5 "
             "maker_leaves=0 taker_leaves=1",
             "fill maker=2 taker=4 maker_account=2 taker_account=4 instrument=0 aggressor=sell price=100 qty=1 "
             "maker_leaves=5 taker_leaves=0",
             "depth instrument=0 side=buy price=100 qty=5 orders=1", "top_of_book instrument=0 bid=5@100 ask=0@0"}));
  EXPECT_EQ(
      send(in::modify(2, 2, 101, 5)),
      (Lines{"modified order_id=2 account=2 instrument=0 new_price=101 new_qty=5 priority_kept=0",
             "depth instrument=0 side=buy price=101 qty=5 orders=1",
             "depth instrument=0 side=buy price=100 qty=0 orders=0", "top_of_book instrument=0 bid=5@101 ask=0@0"}));
  send(in::limit(5, 4, Sell, 103, 2));
  // A crossing modify trades first, then rests.
  EXPECT_EQ(
      send(in::modify(2, 2, 103, 5)),
      (Lines{"modified order_id=2 account=2 instrument=0 new_price=103 new_qty=5 priority_kept=0",
             "fill maker=5 taker=2 maker_account=4 taker_account=2 instrument=0 aggressor=buy price=103 qty=2 "
             "maker_leaves=0 taker_leaves=3",
             "depth instrument=0 side=buy price=103 qty=3 orders=1",
             "depth instrument=0 side=buy price=101 qty=0 orders=0",
             "depth instrument=0 side=sell price=103 qty=0 orders=0", "top_of_book instrument=0 bid=3@103 ask=0@0"}));
  EXPECT_EQ(send(in::modify(1, 1, 100, 4)),
            (Lines{"rejected id=1 account=1 instrument=0 reason=unknown_order input=modify"}));
  // A modify whose new open quantity equals the current one after fills is a no-change.
  EXPECT_EQ(send(in::modify(2, 2, 103, 3)),
            (Lines{"rejected id=2 account=2 instrument=0 reason=modify_no_change input=modify"}));
}

TEST_F(ReferenceEngineTest, StopsCascade) {
  send(in::limit(1, 2, Sell, 101, 1));
  send(in::limit(2, 2, Sell, 102, 1));
  send(in::limit(3, 2, Sell, 103, 5));
  // Nothing has traded yet: stops wait, and are off book.
  EXPECT_EQ(send(order(10, 3, Buy, OrderType::StopMarket, TimeInForce::IOC, 0, 1, 101)),
            (Lines{"accepted order_id=10 account=3 instrument=0 side=buy type=stop_market tif=ioc price=0 qty=1 "
                   "trigger=101 stp=default"}));
  send(order(11, 4, Buy, OrderType::StopMarket, TimeInForce::IOC, 0, 2, 102));
  send(order(12, 5, Sell, OrderType::StopMarket, TimeInForce::IOC, 0, 2, 110));
  EXPECT_EQ(engine->live_orders(), 6u);
  EXPECT_EQ(
      send(ioc(20, 1, Buy, 101, 1)),
      (Lines{"accepted order_id=20 account=1 instrument=0 side=buy type=limit tif=ioc price=101 qty=1 stp=default",
             "fill maker=1 taker=20 maker_account=2 taker_account=1 instrument=0 aggressor=buy price=101 qty=1 "
             "maker_leaves=0 taker_leaves=0",
             // buy stops come before the (also triggered) sell stop at 110
             "stop_triggered order_id=10 account=3 instrument=0 trigger=101 last=101",
             "fill maker=2 taker=10 maker_account=2 taker_account=3 instrument=0 aggressor=buy price=102 qty=1 "
             "maker_leaves=0 taker_leaves=0 flags=8",
             "stop_triggered order_id=11 account=4 instrument=0 trigger=102 last=102",
             "fill maker=3 taker=11 maker_account=2 taker_account=4 instrument=0 aggressor=buy price=103 qty=2 "
             "maker_leaves=3 taker_leaves=0 flags=8",
             "stop_triggered order_id=12 account=5 instrument=0 trigger=110 last=103",
             "cancelled order_id=12 account=5 instrument=0 qty=2 reason=no_liquidity side=sell",
             "depth instrument=0 side=sell price=101 qty=0 orders=0",
             "depth instrument=0 side=sell price=102 qty=0 orders=0",
             "depth instrument=0 side=sell price=103 qty=3 orders=1", "top_of_book instrument=0 bid=0@0 ask=3@103"}));
  EXPECT_EQ(engine->last_price(0), 103);
  EXPECT_EQ(engine->live_orders(), 1u);
}

TEST_F(ReferenceEngineTest, StopPriorityTiesAndImmediateTrigger) {
  send(in::limit(1, 1, Sell, 100, 1));
  send(ioc(2, 2, Buy, 100, 1));  // last = 100
  send(in::limit(3, 2, Sell, 103, 1));
  send(in::limit(4, 2, Sell, 104, 1));
  send(in::limit(5, 2, Sell, 105, 5));
  EXPECT_EQ(send(order(10, 3, Buy, OrderType::StopLimit, TimeInForce::GTC, 105, 1, 105)).size(), 1u);
  EXPECT_EQ(send(order(11, 3, Buy, OrderType::StopLimit, TimeInForce::GTC, 103, 1, 103)).size(), 1u);
  EXPECT_EQ(send(order(12, 4, Buy, OrderType::StopLimit, TimeInForce::GTC, 104, 1, 103)).size(), 1u);
  EXPECT_EQ(
      send(ioc(20, 1, Buy, 105, 1)),
      (Lines{"accepted order_id=20 account=1 instrument=0 side=buy type=limit tif=ioc price=105 qty=1 stp=default",
             "fill maker=3 taker=20 maker_account=2 taker_account=1 instrument=0 aggressor=buy price=103 qty=1 "
             "maker_leaves=0 taker_leaves=0",
             // equal triggers: acceptance order; 11 cannot trade at 103 and rests
             "stop_triggered order_id=11 account=3 instrument=0 trigger=103 last=103",
             "stop_triggered order_id=12 account=4 instrument=0 trigger=103 last=103",
             "fill maker=4 taker=12 maker_account=2 taker_account=4 instrument=0 aggressor=buy price=104 qty=1 "
             "maker_leaves=0 taker_leaves=0 flags=8",
             "depth instrument=0 side=buy price=103 qty=1 orders=1",
             "depth instrument=0 side=sell price=103 qty=0 orders=0",
             "depth instrument=0 side=sell price=104 qty=0 orders=0", "top_of_book instrument=0 bid=1@103 ask=5@105"}));
  // last 104 <= 104: an arriving sell stop triggers at once.
  EXPECT_EQ(
      send(order(30, 5, Sell, OrderType::StopMarket, TimeInForce::IOC, 0, 2, 104)),
      (Lines{"accepted order_id=30 account=5 instrument=0 side=sell type=stop_market tif=ioc price=0 qty=2 "
             "trigger=104 stp=default",
             "stop_triggered order_id=30 account=5 instrument=0 trigger=104 last=104",
             "fill maker=11 taker=30 maker_account=3 taker_account=5 instrument=0 aggressor=sell price=103 qty=1 "
             "maker_leaves=0 taker_leaves=1 flags=8",
             "cancelled order_id=30 account=5 instrument=0 qty=1 reason=ioc_remainder side=sell",
             "depth instrument=0 side=buy price=103 qty=0 orders=0", "top_of_book instrument=0 bid=0@0 ask=5@105"}));
  EXPECT_EQ(send(in::mass_cancel(3)),
            (Lines{"cancelled order_id=10 account=3 instrument=0 qty=1 reason=mass_cancel side=buy"}));
}

TEST_F(ReferenceEngineTest, MassCancelInAcceptanceOrder) {
  send(in::instrument(1, 1, 1, 1, 1000, 100));
  send(in::limit(5, 1, Buy, 100, 5));
  send(in::limit(3, 1, Sell, 500, 5, 1));
  send(order(9, 1, Sell, OrderType::StopMarket, TimeInForce::IOC, 0, 1, 95));
  send(in::limit(1, 1, Buy, 99, 1));
  send(in::limit(7, 2, Buy, 98, 1));
  send(in::modify(5, 1, 100, 6));  // loses time priority, keeps its acceptance rank
  EXPECT_EQ(
      send(in::mass_cancel(1)),
      (Lines{"cancelled order_id=5 account=1 instrument=0 qty=6 reason=mass_cancel side=buy",
             "cancelled order_id=3 account=1 instrument=1 qty=5 reason=mass_cancel side=sell",
             "cancelled order_id=9 account=1 instrument=0 qty=1 reason=mass_cancel side=sell",
             "cancelled order_id=1 account=1 instrument=0 qty=1 reason=mass_cancel side=buy",
             "depth instrument=0 side=buy price=100 qty=0 orders=0",
             "depth instrument=0 side=buy price=99 qty=0 orders=0", "top_of_book instrument=0 bid=1@98 ask=0@0",
             "depth instrument=1 side=sell price=500 qty=0 orders=0", "top_of_book instrument=1 bid=0@0 ask=0@0"}));
  EXPECT_EQ(send(in::mass_cancel(1)), Lines{});
  EXPECT_EQ(send(in::mass_cancel(2, 1)), Lines{});
  EXPECT_EQ(send(in::mass_cancel(2, 9)),
            (Lines{"rejected id=0 account=2 instrument=9 reason=unknown_instrument input=mass_cancel"}));
  EXPECT_EQ(send(in::mass_cancel(8, 9)),
            (Lines{"rejected id=0 account=8 instrument=9 reason=unknown_account input=mass_cancel"}));
  EXPECT_EQ(send(in::mass_cancel(2, 0)),
            (Lines{"cancelled order_id=7 account=2 instrument=0 qty=1 reason=mass_cancel side=buy",
                   "depth instrument=0 side=buy price=98 qty=0 orders=0", "top_of_book instrument=0 bid=0@0 ask=0@0"}));
}

TEST_F(ReferenceEngineTest, InstrumentDefinitionRules) {
  auto reject = [](cascade::InstrumentId id) {
    return Lines{"rejected id=0 account=0 instrument=" + std::to_string(id) +
                 " reason=invalid_instrument input=instrument"};
  };
  const auto good = in::instrument(1, 1, 1, 1, 1024, 100);  // exactly 1024 levels
  auto bad = good;
  bad.instrument = 4;
  EXPECT_EQ(send(bad), reject(4));
  bad = good, bad.max_price = 1025;
  EXPECT_EQ(send(bad), reject(1));
  bad = good, bad.price_decimals = 19;
  EXPECT_EQ(send(bad), reject(1));
  bad = good, bad.qty_decimals = 19;
  EXPECT_EQ(send(bad), reject(1));
  bad = good, bad.tick_size = 0;
  EXPECT_EQ(send(bad), reject(1));
  bad = good, bad.lot_size = 0;
  EXPECT_EQ(send(bad), reject(1));
  bad = good, bad.min_price = 0;
  EXPECT_EQ(send(bad), reject(1));
  bad = good, bad.min_price = 5, bad.max_price = 4;
  EXPECT_EQ(send(bad), reject(1));
  bad = good, bad.tick_size = 5, bad.min_price = 52, bad.max_price = 100;
  EXPECT_EQ(send(bad), reject(1));
  bad = good, bad.tick_size = 5, bad.min_price = 50, bad.max_price = 101;
  EXPECT_EQ(send(bad), reject(1));
  bad = good, bad.lot_size = 10, bad.max_order_qty = 105;
  EXPECT_EQ(send(bad), reject(1));
  bad = good, bad.max_order_qty = 0;
  EXPECT_EQ(send(bad), reject(1));
  bad = good, bad.tier_count = 9;
  EXPECT_EQ(send(bad), reject(1));
  EXPECT_EQ(send(in::limit(1, 1, Buy, 10, 1, 1)),
            (Lines{"rejected id=1 account=1 instrument=1 reason=unknown_instrument input=new_order"}));
  EXPECT_EQ(send(good), Lines{});
  EXPECT_NE(engine->instrument(1), nullptr);

  // Trade at 100 on instrument 0, leave a stop live: redefinition is refused.
  send(in::limit(1, 1, Sell, 100, 1));
  send(ioc(2, 2, Buy, 100, 1));
  send(order(3, 1, Buy, OrderType::StopMarket, TimeInForce::IOC, 0, 1, 105));
  auto redef = in::instrument(0, 1, 1, 90, 110, 100);
  redef.price_band = 1'000'000;  // 1%
  EXPECT_EQ(send(redef), reject(0));
  send(in::cancel(3, 1));
  EXPECT_EQ(send(redef), Lines{});
  // The last price survives the redefinition: ref 100, d = 1.
  EXPECT_EQ(send(in::limit(4, 1, Buy, 102, 1)),
            (Lines{"rejected id=4 account=1 instrument=0 reason=price_out_of_band input=new_order"}));
  EXPECT_EQ(engine->last_price(0), 100);
}

TEST_F(ReferenceEngineTest, DepositsAndWithdrawals) {
  EXPECT_EQ(send(in::deposit(1, 100, 1)), (Lines{"balance account=1 reason=deposit delta=100 balance=100"}));
  EXPECT_EQ(send(in::withdrawal(1, 150, 2)),
            (Lines{"rejected id=2 account=1 instrument=0 reason=insufficient_funds input=withdrawal"}));
  EXPECT_EQ(send(in::withdrawal(1, 40, 3)), (Lines{"balance account=1 reason=withdrawal delta=-40 balance=60"}));
  EXPECT_EQ(send(in::deposit(1, 0, 4)),
            (Lines{"rejected id=4 account=1 instrument=0 reason=invalid_amount input=deposit"}));
  EXPECT_EQ(send(in::deposit(8, 5, 5)),
            (Lines{"rejected id=5 account=8 instrument=0 reason=unknown_account input=deposit"}));
  EXPECT_EQ(send(in::withdrawal(1, -5, 6)),
            (Lines{"rejected id=6 account=1 instrument=0 reason=invalid_amount input=withdrawal"}));
  EXPECT_EQ(send(in::withdrawal(1, 60, 7)), (Lines{"balance account=1 reason=withdrawal delta=-60 balance=0"}));
  EXPECT_EQ(engine->balance(1), 0);
  // The running total of deposits (100 so far) may not overflow either, whatever the balances.
  constexpr cascade::Money kMax = std::numeric_limits<cascade::Money>::max();
  EXPECT_EQ(send(in::deposit(2, kMax - 100, 8)),
            (Lines{"balance account=2 reason=deposit delta=9223372036854775707 balance=9223372036854775707"}));
  EXPECT_EQ(send(in::deposit(2, 1, 9)),
            (Lines{"rejected id=9 account=2 instrument=0 reason=invalid_amount input=deposit"}));
  send(in::withdrawal(2, kMax - 100, 10));
  EXPECT_EQ(send(in::deposit(3, 1, 11)),
            (Lines{"rejected id=11 account=3 instrument=0 reason=invalid_amount input=deposit"}));
}

TEST_F(ReferenceEngineTest, IndexFundingSettingsAndHeartbeat) {
  EXPECT_EQ(send(in::index_price(5, 100)),
            (Lines{"rejected id=0 account=0 instrument=5 reason=unknown_instrument input=index_price"}));
  EXPECT_EQ(send(in::index_price(0, 0)),
            (Lines{"rejected id=0 account=0 instrument=0 reason=invalid_price input=index_price"}));
  EXPECT_EQ(send(in::index_price(0, 100)), Lines{});
  EXPECT_EQ(send(in::funding_rate(2, 5)),
            (Lines{"rejected id=0 account=0 instrument=2 reason=unknown_instrument input=funding_rate"}));
  EXPECT_EQ(send(in::funding_rate(0, -5)), Lines{});
  EXPECT_EQ(send(in::account_settings(8, 0, 0, 0)),
            (Lines{"rejected id=0 account=8 instrument=0 reason=unknown_account input=account_settings"}));
  EXPECT_EQ(send(in::account_settings(1, 5, 0, 0)),
            (Lines{"rejected id=0 account=1 instrument=5 reason=unknown_instrument input=account_settings"}));
  EXPECT_EQ(send(in::account_settings(1, 0, 2, 0)),
            (Lines{"rejected id=0 account=1 instrument=0 reason=invalid_settings input=account_settings"}));
  EXPECT_EQ(send(in::account_settings(1, kAllInstruments, 1, 2)),
            (Lines{"rejected id=0 account=1 instrument=all reason=invalid_settings input=account_settings"}));
  EXPECT_EQ(send(in::account_settings(1, kAllInstruments, 1, 1)), Lines{});
  EXPECT_EQ(send(in::heartbeat()), Lines{});
}

}  // namespace

// =============================================================================================
// Margin (docs/margin.md)
// =============================================================================================

namespace margin {

using cascade::wire::InstrumentDefinition;

// Instrument 1 is the page's BTC-PERP: price_decimals 1, qty_decimals 3, so m = 2 and value(p, q)
// = p * q * 100. Three brackets (MM continuous: 750 USD = 50,000 * (2.5% - 1%), 7,000 USD =
// 750 + 250,000 * (5% - 2.5%)), a maker rebate of 0.01%, a taker fee of 0.05%, a 1% mark band.
InstrumentDefinition btc() {
  auto d = in::instrument(1, 5, 1, 900'000, 1'200'000, 10'000);
  d.price_decimals = 1;
  d.qty_decimals = 3;
  d.maker_fee = -10'000;
  d.taker_fee = 50'000;
  d.mark_band = 1'000'000;
  d.tier_count = 3;
  d.tiers[0] = {50'000'000'000, 2'000'000, 1'000'000, 0};
  d.tiers[1] = {250'000'000'000, 5'000'000, 2'500'000, 750'000'000};
  d.tiers[2] = {1'000'000'000'000, 10'000'000, 5'000'000, 7'000'000'000};
  return d;
}

// Instrument 2: price_decimals 4, qty_decimals 3, so m = -1 and value(p, q) = p * q / 10 rounded;
// fees 0.03% / 0.07% (rounded up); no tiers: unmargined.
InstrumentDefinition cents() {
  auto d = in::instrument(2, 1, 1, 3000, 4000, 100);
  d.price_decimals = 4;
  d.qty_decimals = 3;
  d.maker_fee = 30'000;
  d.taker_fee = 70'000;
  return d;
}

}  // namespace margin

class MarginTest : public ReferenceEngineTest {
 protected:
  void SetUp() override {
    reset({.max_instruments = 4, .max_accounts = 8, .max_orders = 64, .max_levels_per_book = 1 << 17,
           .liquidation = false});
    book_only = false;
    EXPECT_EQ(send(margin::btc()), Lines{});
    EXPECT_EQ(send(margin::cents()), Lines{});
  }

  static cascade::wire::NewOrder lim(cascade::OrderId id, cascade::AccountId account, Side side, cascade::Price price,
                                     cascade::Qty qty, cascade::InstrumentId instrument,
                                     TimeInForce tif = TimeInForce::GTC, std::uint8_t flags = 0) {
    return in::new_order({.id = id,
                          .account = account,
                          .instrument = instrument,
                          .side = side,
                          .type = OrderType::Limit,
                          .tif = tif,
                          .price = price,
                          .qty = qty,
                          .flags = flags});
  }
  // deposits - withdrawals == sum (C - E + B) + insurance fund + fees collected.
  void expect_money_conserved(std::initializer_list<cascade::AccountId> accounts) {
    const auto t = engine->totals();
    __int128 held = 0;
    for (const auto a : accounts) {
      held += engine->balance(a);
      for (cascade::InstrumentId i = 0; i < 4; ++i)
        held += __int128{engine->position(a, i).isolated_margin} - engine->position(a, i).entry_value;
    }
    EXPECT_TRUE(t.deposits - t.withdrawals == held + t.insurance_fund + t.fees_collected - t.socialized_losses);
  }
};

TEST_F(MarginTest, WorkedExampleFeesPositionsMarginUpdatesAndMarks) {
  EXPECT_EQ(send(in::deposit(1, 1'000'000'000'000, 1)),
            (Lines{"balance account=1 reason=deposit delta=1000000000000 balance=1000000000000",
                   "margin account=1 collateral=1000000000000 equity=1000000000000 im=0 mm=0"}));
  send(in::deposit(2, 1'000'000'000'000, 2));
  send(in::deposit(3, 1'000'000'000'000, 3));
  // A resting sell of 2 BTC at 100,000: W = 200,000 USD, bracket 1 (5%): IM 10,000 USD.
  EXPECT_EQ(send(lim(1, 2, Sell, 1'000'000, 2000, 1)),
            (Lines{"accepted order_id=1 account=2 instrument=1 side=sell type=limit tif=gtc price=1000000 qty=2000 "
                   "stp=default",
                   "margin account=2 collateral=1000000000000 equity=1000000000000 im=10000000000 mm=0",
                   "depth instrument=1 side=sell price=1000000 qty=2000 orders=1",
                   "top_of_book instrument=1 bid=0@0 ask=2000@1000000"}));
  // Long 2 BTC, E = 200,000 USD. Fees: rebate floor(2e11 * 0.01%) = 20 USD, taker 100 USD.
  // MM = 200,000 * 2.5% - 750 = 4,250 USD. The mark is the last price (no index).
  EXPECT_EQ(send(lim(2, 1, Buy, 1'000'000, 2000, 1, TimeInForce::IOC)),
            (Lines{"accepted order_id=2 account=1 instrument=1 side=buy type=limit tif=ioc price=1000000 qty=2000 "
                   "stp=default",
                   "fill maker=1 taker=2 maker_account=2 taker_account=1 instrument=1 aggressor=buy price=1000000 "
                   "qty=2000 maker_leaves=0 taker_leaves=0 maker_fee=-20000000 taker_fee=100000000",
                   "position account=2 instrument=1 size=-2000 entry_value=-200000000000 realized_pnl=0",
                   "position account=1 instrument=1 size=2000 entry_value=200000000000 realized_pnl=0",
                   "margin account=1 collateral=999900000000 equity=999900000000 im=10000000000 mm=4250000000",
                   "margin account=2 collateral=1000020000000 equity=1000020000000 im=10000000000 mm=4250000000",
                   "depth instrument=1 side=sell price=1000000 qty=0 orders=0",
                   "top_of_book instrument=1 bid=0@0 ask=0@0",
                   "mark_price instrument=1 mark=1000000 index=0 last=1000000"}));
  EXPECT_EQ(send(lim(3, 3, Buy, 1'100'000, 500, 1)),
            (Lines{"accepted order_id=3 account=3 instrument=1 side=buy type=limit tif=gtc price=1100000 qty=500 "
                   "stp=default",
                   "margin account=3 collateral=1000000000000 equity=1000000000000 im=2750000000 mm=0",
                   "depth instrument=1 side=buy price=1100000 qty=500 orders=1",
                   "top_of_book instrument=1 bid=500@1100000 ask=0@0"}));
  // The page's example: sell 0.5 at 110,000: R = 50,000, Vc = 55,000, r = +5,000 USD. The sell
  // does not raise W (the long is larger), so it needs no margin. Account 2 changed nothing:
  // no MarginUpdate although the mark moved.
  EXPECT_EQ(send(lim(4, 1, Sell, 1'100'000, 500, 1, TimeInForce::IOC)),
            (Lines{"accepted order_id=4 account=1 instrument=1 side=sell type=limit tif=ioc price=1100000 qty=500 "
                   "stp=default",
                   "fill maker=3 taker=4 maker_account=3 taker_account=1 instrument=1 aggressor=sell price=1100000 "
                   "qty=500 maker_leaves=0 taker_leaves=0 maker_fee=-5500000 taker_fee=27500000",
                   "position account=3 instrument=1 size=500 entry_value=55000000000 realized_pnl=0",
                   "position account=1 instrument=1 size=1500 entry_value=150000000000 realized_pnl=5000000000",
                   // C = 999,900 + 5,000 - 27.5; U = 165,000 - 150,000; IM 5% of 165,000;
                   // MM 2.5% of 165,000 - 750.
                   "margin account=1 collateral=1004872500000 equity=1019872500000 im=8250000000 mm=3375000000",
                   "margin account=3 collateral=1000005500000 equity=1000005500000 im=2750000000 mm=625000000",
                   "depth instrument=1 side=buy price=1100000 qty=0 orders=0",
                   "top_of_book instrument=1 bid=0@0 ask=0@0",
                   "mark_price instrument=1 mark=1100000 index=0 last=1100000"}));
  EXPECT_EQ(engine->position(1, 1).entry_value, 150'000'000'000);
  // Account 2, short 2 BTC from 100,000 at a mark of 110,000: U = -20,000 USD.
  EXPECT_EQ(engine->margin(2).equity, 1'000'020'000'000 - 20'000'000'000);
  EXPECT_EQ(engine->totals().fees_collected, 102'000'000);
  expect_money_conserved({1, 2, 3});
}

TEST_F(MarginTest, RoundingWithNegativeValueExponentFlipAndTruncatedBasis) {
  // Instrument 2: value(p, q) = floor(p * q / 10). Nobody is funded: the instrument has no
  // margin requirements, collateral goes negative by the fees.
  send(lim(1, 2, Sell, 3333, 3, 2));
  // V = floor(999.9) = 999; fees ceil(0.2997) = 1 and ceil(0.6993) = 1.
  // Account 2 short 3: U = -ceil(999.9) + 999 = -1.
  EXPECT_EQ(send(lim(2, 1, Buy, 3333, 3, 2, TimeInForce::IOC)),
            (Lines{"accepted order_id=2 account=1 instrument=2 side=buy type=limit tif=ioc price=3333 qty=3 stp=default",
                   "fill maker=1 taker=2 maker_account=2 taker_account=1 instrument=2 aggressor=buy price=3333 qty=3 "
                   "maker_leaves=0 taker_leaves=0 maker_fee=1 taker_fee=1",
                   "position account=2 instrument=2 size=-3 entry_value=-999 realized_pnl=0",
                   "position account=1 instrument=2 size=3 entry_value=999 realized_pnl=0",
                   "margin account=1 collateral=-1 equity=-1 im=0 mm=0",
                   "margin account=2 collateral=-1 equity=-2 im=0 mm=0",
                   "depth instrument=2 side=sell price=3333 qty=0 orders=0", "top_of_book instrument=2 bid=0@0 ask=0@0",
                   "mark_price instrument=2 mark=3333 index=0 last=3333"}));
  send(lim(3, 3, Buy, 3337, 5, 2));
  // Account 1 sells 5 while long 3: closes 3 (R = E = 999, Vc = floor(1001.1) = 1001, r = 2) and
  // opens a short of 2 with E = -(1668 - 1001) = -667, where V = floor(1668.5) = 1668.
  // Fees ceil(0.5004) = 1, ceil(1.1676) = 2. Short 2 at 3337: U = -ceil(667.4) + 667 = -1.
  EXPECT_EQ(send(lim(4, 1, Sell, 3337, 5, 2, TimeInForce::IOC)),
            (Lines{"accepted order_id=4 account=1 instrument=2 side=sell type=limit tif=ioc price=3337 qty=5 "
                   "stp=default",
                   "fill maker=3 taker=4 maker_account=3 taker_account=1 instrument=2 aggressor=sell price=3337 qty=5 "
                   "maker_leaves=0 taker_leaves=0 maker_fee=1 taker_fee=2",
                   "position account=3 instrument=2 size=5 entry_value=1668 realized_pnl=0",
                   "position account=1 instrument=2 size=-2 entry_value=-667 realized_pnl=2",
                   "margin account=1 collateral=-1 equity=-2 im=0 mm=0",
                   "margin account=3 collateral=-1 equity=-1 im=0 mm=0",
                   "depth instrument=2 side=buy price=3337 qty=0 orders=0", "top_of_book instrument=2 bid=0@0 ask=0@0",
                   "mark_price instrument=2 mark=3337 index=0 last=3337"}));
  // Account 2 (short 3 at E = -999, U = -ceil(1001.1) + 999 = -3 at 3337) bids to close.
  EXPECT_EQ(send(lim(5, 2, Buy, 3335, 3, 2)),
            (Lines{"accepted order_id=5 account=2 instrument=2 side=buy type=limit tif=gtc price=3335 qty=3 stp=default",
                   "margin account=2 collateral=-1 equity=-4 im=0 mm=0",
                   "depth instrument=2 side=buy price=3335 qty=3 orders=1",
                   "top_of_book instrument=2 bid=3@3335 ask=0@0"}));
  // V = floor(1000.5) = 1000. Account 2 closes: r = -1000 + 999 = -1. Account 3 sells 3 of 5:
  // R = trunc(1668 * 3 / 5) = trunc(1000.8) = 1000, r = 0, E = 668.
  EXPECT_EQ(send(lim(6, 3, Sell, 3335, 3, 2, TimeInForce::IOC)),
            (Lines{"accepted order_id=6 account=3 instrument=2 side=sell type=limit tif=ioc price=3335 qty=3 "
                   "stp=default",
                   "fill maker=5 taker=6 maker_account=2 taker_account=3 instrument=2 aggressor=sell price=3335 qty=3 "
                   "maker_leaves=0 taker_leaves=0 maker_fee=1 taker_fee=1",
                   "position account=2 instrument=2 size=0 entry_value=0 realized_pnl=-1",
                   "position account=3 instrument=2 size=2 entry_value=668 realized_pnl=0",
                   "margin account=2 collateral=-3 equity=-3 im=0 mm=0",
                   "margin account=3 collateral=-2 equity=-3 im=0 mm=0",
                   "depth instrument=2 side=buy price=3335 qty=0 orders=0", "top_of_book instrument=2 bid=0@0 ask=0@0",
                   "mark_price instrument=2 mark=3335 index=0 last=3335"}));
  EXPECT_EQ(engine->totals().fees_collected, 7);
  expect_money_conserved({1, 2, 3});

  // Funding at 5%: P = 3335 * 2 / 10 * 5% = 33.35. The long pays 34, the short receives 33,
  // ascending accounts; the remainder goes to the insurance fund.
  EXPECT_EQ(send(in::funding_rate(2, 5'000'000)),
            (Lines{"funding_payment account=1 instrument=2 position=-2 rate=5000000 amount=33",
                   "funding_payment account=3 instrument=2 position=2 rate=5000000 amount=-34",
                   "insurance_fund instrument=2 reason=funding_remainder delta=1 balance=1",
                   "margin account=1 collateral=32 equity=32 im=0 mm=0",
                   "margin account=3 collateral=-36 equity=-37 im=0 mm=0"}));
  EXPECT_EQ(send(in::funding_rate(2, -5'000'000)),
            (Lines{"funding_payment account=1 instrument=2 position=-2 rate=-5000000 amount=-34",
                   "funding_payment account=3 instrument=2 position=2 rate=-5000000 amount=33",
                   "insurance_fund instrument=2 reason=funding_remainder delta=1 balance=2",
                   "margin account=1 collateral=-2 equity=-2 im=0 mm=0",
                   "margin account=3 collateral=-3 equity=-4 im=0 mm=0"}));
  // The value is not rounded before the rate applies: at a mark of 3333 the position is worth
  // 666.6 micros, and 50% of it is 333.3: the long pays 334, the short receives 333 (666 * 50%
  // would be 333 for both). Short 2: U = -ceil(666.6) + 667 = 0; long 2: U = 666 - 668 = -2.
  send(in::index_price(2, 3333));
  EXPECT_EQ(send(in::funding_rate(2, 50'000'000)),
            (Lines{"funding_payment account=1 instrument=2 position=-2 rate=50000000 amount=333",
                   "funding_payment account=3 instrument=2 position=2 rate=50000000 amount=-334",
                   "insurance_fund instrument=2 reason=funding_remainder delta=1 balance=3",
                   "margin account=1 collateral=331 equity=331 im=0 mm=0",
                   "margin account=3 collateral=-337 equity=-339 im=0 mm=0"}));
  // A zero rate still writes a payment per position.
  EXPECT_EQ(send(in::funding_rate(2, 0)),
            (Lines{"funding_payment account=1 instrument=2 position=-2 rate=0 amount=0",
                   "funding_payment account=3 instrument=2 position=2 rate=0 amount=0",
                   "margin account=1 collateral=331 equity=331 im=0 mm=0",
                   "margin account=3 collateral=-337 equity=-339 im=0 mm=0"}));
  EXPECT_TRUE(engine->totals().insurance_fund == 3);
  EXPECT_EQ(send(in::funding_rate(1, 100'000)), Lines{});  // nobody holds instrument 1
  expect_money_conserved({1, 2, 3});
}

TEST_F(MarginTest, InitialMarginBracketsAndPreTradeChecks) {
  send(in::deposit(5, 1'000'000'000, 1));  // 1,000 USD
  // 0.5 BTC at 100,000: W = 50,000 USD, exactly the first bracket's edge: IM 2% = 1,000 USD.
  EXPECT_EQ(send(lim(10, 5, Buy, 1'000'000, 500, 1)),
            (Lines{"accepted order_id=10 account=5 instrument=1 side=buy type=limit tif=gtc price=1000000 qty=500 "
                   "stp=default",
                   "margin account=5 collateral=1000000000 equity=1000000000 im=1000000000 mm=0",
                   "depth instrument=1 side=buy price=1000000 qty=500 orders=1",
                   "top_of_book instrument=1 bid=500@1000000 ask=0@0"}));
  // 0.001 more: W = 50,100 USD, second bracket: IM 2,505 USD > equity.
  EXPECT_EQ(send(lim(11, 5, Buy, 1'000'000, 1, 1)),
            (Lines{"rejected id=11 account=5 instrument=1 reason=insufficient_margin input=new_order"}));
  // Sells offset the buys in W = max(|Ps + Nbuy|, |Ps - Nsell|): 44,000 USD of sells keep W.
  EXPECT_EQ(send(lim(12, 5, Sell, 1'100'000, 400, 1)),
            (Lines{"accepted order_id=12 account=5 instrument=1 side=sell type=limit tif=gtc price=1100000 qty=400 "
                   "stp=default",
                   "margin account=5 collateral=1000000000 equity=1000000000 im=1000000000 mm=0",
                   "depth instrument=1 side=sell price=1100000 qty=400 orders=1",
                   "top_of_book instrument=1 bid=500@1000000 ask=400@1100000"}));
  EXPECT_EQ(send(lim(13, 5, Sell, 1'100'000, 101, 1)),
            (Lines{"rejected id=13 account=5 instrument=1 reason=insufficient_margin input=new_order"}));
  // A modify is checked as the order it becomes: 0.5 at 100,000.5 is 50,000.25 USD, bracket 1.
  EXPECT_EQ(send(in::modify(10, 5, 1'000'005, 500, 1)),
            (Lines{"rejected id=10 account=5 instrument=1 reason=insufficient_margin input=modify"}));
  // A decrease only lowers W: W = max(40,000, 44,000) = 44,000, IM 880 USD.
  EXPECT_EQ(send(in::modify(10, 5, 1'000'000, 400, 1)),
            (Lines{"modified order_id=10 account=5 instrument=1 new_price=1000000 new_qty=400 priority_kept=1",
                   "margin account=5 collateral=1000000000 equity=1000000000 im=880000000 mm=0",
                   "depth instrument=1 side=buy price=1000000 qty=400 orders=1",
                   "top_of_book instrument=1 bid=400@1000000 ask=400@1100000"}));

  // The last bracket caps W at 1,000,000 USD, whatever the equity.
  send(in::deposit(6, 10'000'000'000'000, 2));
  EXPECT_EQ(send(lim(20, 6, Buy, 1'000'000, 10'000, 1))[1],
            "margin account=6 collateral=10000000000000 equity=10000000000000 im=100000000000 mm=0");
  EXPECT_EQ(send(lim(21, 6, Buy, 900'000, 1, 1)),
            (Lines{"rejected id=21 account=6 instrument=1 reason=insufficient_margin input=new_order"}));

  // A market order counts at its effective limit: max_price without a worst price (120,000 USD
  // per BTC: IM 5% of 120,000 = 6,000 USD > 5,000 USD), else the worst price (IM 5,000 USD).
  send(in::deposit(7, 5'000'000'000, 3));
  auto market = in::new_order({.id = 30,
                               .account = 7,
                               .instrument = 1,
                               .side = Buy,
                               .type = OrderType::Market,
                               .tif = TimeInForce::IOC,
                               .price = 0,
                               .qty = 1000});
  EXPECT_EQ(send(market), (Lines{"rejected id=30 account=7 instrument=1 reason=insufficient_margin input=new_order"}));
  market.price = 1'000'000;
  // Accepted and cancelled in the same event: named by OrderAccepted, so a MarginUpdate.
  EXPECT_EQ(send(market),
            (Lines{"accepted order_id=30 account=7 instrument=1 side=buy type=market tif=ioc price=1000000 qty=1000 "
                   "stp=default",
                   "cancelled order_id=30 account=7 instrument=1 qty=1000 reason=no_liquidity side=buy",
                   "margin account=7 collateral=5000000000 equity=5000000000 im=0 mm=0"}));
  // A stop-market counts at its trigger price.
  auto stop = in::new_order({.id = 31,
                             .account = 7,
                             .instrument = 1,
                             .side = Buy,
                             .type = OrderType::StopMarket,
                             .tif = TimeInForce::IOC,
                             .qty = 1000,
                             .trigger = 1'000'005});
  EXPECT_EQ(send(stop), (Lines{"rejected id=31 account=7 instrument=1 reason=insufficient_margin input=new_order"}));
  stop.trigger_price = 1'000'000;
  EXPECT_EQ(send(stop),
            (Lines{"accepted order_id=31 account=7 instrument=1 side=buy type=stop_market tif=ioc price=0 qty=1000 "
                   "trigger=1000000 stp=default",
                   "margin account=7 collateral=5000000000 equity=5000000000 im=5000000000 mm=0"}));
  // Withdrawals are limited to min(C, equity) - IMR.
  EXPECT_EQ(send(in::withdrawal(7, 1, 4)),
            (Lines{"rejected id=4 account=7 instrument=0 reason=insufficient_funds input=withdrawal"}));
  send(in::cancel(31, 7, 1));
  EXPECT_EQ(send(in::withdrawal(5, 120'000'001, 5)),
            (Lines{"rejected id=5 account=5 instrument=0 reason=insufficient_funds input=withdrawal"}));
  EXPECT_EQ(send(in::withdrawal(5, 120'000'000, 6)),
            (Lines{"balance account=5 reason=withdrawal delta=-120000000 balance=880000000",
                   "margin account=5 collateral=880000000 equity=880000000 im=880000000 mm=0"}));
}

TEST_F(MarginTest, ReduceOnlyOrdersAndTheirCancellation) {
  send(in::deposit(1, 1'000'000'000'000, 1));
  send(in::deposit(2, 1'000'000'000'000, 2));
  send(lim(1, 2, Sell, 1'000'000, 1500, 1));
  send(lim(2, 1, Buy, 1'000'000, 1500, 1, TimeInForce::IOC));  // account 1 long 1.5 BTC
  constexpr std::uint8_t kRO = cascade::order_flags::kReduceOnly;
  // Reduce-only orders count no notional: W stays 150,000 USD (IM 7,500 USD).
  EXPECT_EQ(send(lim(3, 1, Sell, 1'050'000, 400, 1, TimeInForce::GTC, kRO)),
            (Lines{"accepted order_id=3 account=1 instrument=1 side=sell type=limit tif=gtc price=1050000 qty=400 "
                   "flags=2 stp=default",
                   "margin account=1 collateral=999925000000 equity=999925000000 im=7500000000 mm=3000000000",
                   "depth instrument=1 side=sell price=1050000 qty=400 orders=1",
                   "top_of_book instrument=1 bid=0@0 ask=400@1050000"}));
  auto stop = in::new_order({.id = 4,
                             .account = 1,
                             .instrument = 1,
                             .side = Sell,
                             .type = OrderType::StopMarket,
                             .tif = TimeInForce::IOC,
                             .qty = 600,
                             .trigger = 950'000,
                             .flags = kRO});
  EXPECT_EQ(send(stop).size(), 2u);  // 400 + 600 <= 1500
  EXPECT_EQ(send(lim(5, 1, Sell, 1'060'000, 501, 1, TimeInForce::GTC, kRO)),
            (Lines{"rejected id=5 account=1 instrument=1 reason=reduce_only_would_increase input=new_order"}));
  EXPECT_EQ(send(lim(6, 1, Buy, 990'000, 1, 1, TimeInForce::GTC, kRO)),
            (Lines{"rejected id=6 account=1 instrument=1 reason=reduce_only_would_increase input=new_order"}));
  EXPECT_EQ(send(lim(7, 3, Buy, 990'000, 1, 1, TimeInForce::GTC, kRO)),  // no position at all
            (Lines{"rejected id=7 account=3 instrument=1 reason=reduce_only_would_increase input=new_order"}));
  // A reduce-only modify may not grow past the position either (the order itself left out).
  EXPECT_EQ(send(in::modify(3, 1, 1'050'000, 901, 1)),
            (Lines{"rejected id=3 account=1 instrument=1 reason=reduce_only_would_increase input=modify"}));
  // A plain sell of 1 BTC leaves long 0.5 < 1.0 of reduce-only sells: the newest (the stop)
  // is cancelled right after the fill's position updates; 0.4 still fits.
  send(lim(8, 2, Buy, 1'000'000, 1000, 1));
  EXPECT_EQ(send(lim(9, 1, Sell, 1'000'000, 1000, 1, TimeInForce::IOC)),
            (Lines{"accepted order_id=9 account=1 instrument=1 side=sell type=limit tif=ioc price=1000000 qty=1000 "
                   "stp=default",
                   "fill maker=8 taker=9 maker_account=2 taker_account=1 instrument=1 aggressor=sell price=1000000 "
                   "qty=1000 maker_leaves=0 taker_leaves=0 maker_fee=-10000000 taker_fee=50000000",
                   "position account=2 instrument=1 size=-500 entry_value=-50000000000 realized_pnl=0",
                   "position account=1 instrument=1 size=500 entry_value=50000000000 realized_pnl=0",
                   "cancelled order_id=4 account=1 instrument=1 qty=600 reason=reduce_only side=sell",
                   "margin account=1 collateral=999875000000 equity=999875000000 im=1000000000 mm=500000000",
                   "margin account=2 collateral=1000025000000 equity=1000025000000 im=1000000000 mm=500000000",
                   "depth instrument=1 side=buy price=1000000 qty=0 orders=0",
                   "top_of_book instrument=1 bid=0@0 ask=400@1050000"}));
  // The position flips through zero: every reduce-only sell left goes.
  send(lim(10, 2, Buy, 990'000, 800, 1));
  const Lines flip = send(lim(11, 1, Sell, 990'000, 800, 1, TimeInForce::IOC));
  ASSERT_EQ(flip.size(), 11u);
  EXPECT_EQ(flip[3], "position account=1 instrument=1 size=-300 entry_value=-29700000000 realized_pnl=-500000000");
  EXPECT_EQ(flip[4], "cancelled order_id=3 account=1 instrument=1 qty=400 reason=reduce_only side=sell");
  EXPECT_EQ(flip[5], "margin account=1 collateral=999335400000 equity=999335400000 im=594000000 mm=297000000");
  EXPECT_EQ(engine->live_orders(), 0u);
  expect_money_conserved({1, 2});
}

TEST_F(MarginTest, MarkIsTheClampedMedianOfIndexAndBook) {
  send(in::deposit(1, 1'000'000'000'000, 1));
  EXPECT_EQ(send(in::index_price(1, 1'000'000)), (Lines{"mark_price instrument=1 mark=1000000 index=1000000 last=0"}));
  EXPECT_EQ(send(in::index_price(1, 1'000'000)), Lines{});  // nothing changed
  EXPECT_EQ(send(lim(1, 1, Buy, 990'000, 1, 1)).size(), 4u);  // one side only: mark = index
  EXPECT_EQ(send(lim(2, 1, Sell, 1'010'000, 1, 1)).size(), 4u);  // median(100,000, 99,000, 101,000)
  // median(105,000, 99,000, 101,000) = 101,000, clamped to 105,000 - 1% = 103,950.
  EXPECT_EQ(send(in::index_price(1, 1'050'000)), (Lines{"mark_price instrument=1 mark=1039500 index=1050000 last=0"}));
  EXPECT_EQ(send(in::index_price(1, 1'000'500)), (Lines{"mark_price instrument=1 mark=1000500 index=1000500 last=0"}));
  // The bid goes: one side, mark = index, unchanged: no MarkPrice.
  EXPECT_EQ(send(in::cancel(1, 1, 1)),
            (Lines{"cancelled order_id=1 account=1 instrument=1 qty=1 reason=user side=buy",
                   "margin account=1 collateral=1000000000000 equity=1000000000000 im=2020000 mm=0",
                   "depth instrument=1 side=buy price=990000 qty=0 orders=0",
                   "top_of_book instrument=1 bid=0@0 ask=1@1010000"}));
  // A bid at 100,500 makes the median the bid; MarkPrice comes after the market data.
  EXPECT_EQ(send(lim(3, 1, Buy, 1'005'000, 1, 1)),
            (Lines{"accepted order_id=3 account=1 instrument=1 side=buy type=limit tif=gtc price=1005000 qty=1 "
                   "stp=default",
                   "margin account=1 collateral=1000000000000 equity=1000000000000 im=2020000 mm=0",
                   "depth instrument=1 side=buy price=1005000 qty=1 orders=1",
                   "top_of_book instrument=1 bid=1@1005000 ask=1@1010000",
                   "mark_price instrument=1 mark=1005000 index=1000500 last=0"}));
  EXPECT_EQ(engine->mark(1), 1'005'000);
  EXPECT_EQ(engine->mark(2), 0);  // no index, no trade
}

TEST_F(MarginTest, IsolatedPositionsKeepTheirOwnMargin) {
  send(in::deposit(4, 10'000'000'000, 1));
  send(in::deposit(2, 1'000'000'000'000, 2));
  EXPECT_EQ(send(in::account_settings(4, 1, 1, 0)), Lines{});
  send(lim(1, 2, Sell, 1'000'000, 500, 1));
  // IM of the increase, 2% of 50,000 USD = 1,000 USD, moves from C to B; the isolated position
  // is in neither the cross equity nor the IMR.
  EXPECT_EQ(send(lim(2, 4, Buy, 1'000'000, 500, 1, TimeInForce::IOC)),
            (Lines{"accepted order_id=2 account=4 instrument=1 side=buy type=limit tif=ioc price=1000000 qty=500 "
                   "stp=default",
                   "fill maker=1 taker=2 maker_account=2 taker_account=4 instrument=1 aggressor=buy price=1000000 "
                   "qty=500 maker_leaves=0 taker_leaves=0 maker_fee=-5000000 taker_fee=25000000",
                   "position account=2 instrument=1 size=-500 entry_value=-50000000000 realized_pnl=0",
                   "position account=4 instrument=1 size=500 entry_value=50000000000 realized_pnl=0",
                   "margin account=2 collateral=1000005000000 equity=1000005000000 im=1000000000 mm=500000000",
                   "margin account=4 collateral=8975000000 equity=8975000000 im=0 mm=0",
                   "depth instrument=1 side=sell price=1000000 qty=0 orders=0",
                   "top_of_book instrument=1 bid=0@0 ask=0@0",
                   "mark_price instrument=1 mark=1000000 index=0 last=1000000"}));
  EXPECT_EQ(engine->position(4, 1).isolated_margin, 1'000'000'000);
  EXPECT_TRUE(engine->isolated(4, 1));
  // The mode cannot change under a position; setting the same mode is accepted.
  EXPECT_EQ(send(in::account_settings(4, 1, 0, 0)),
            (Lines{"rejected id=0 account=4 instrument=1 reason=invalid_settings input=account_settings"}));
  EXPECT_EQ(send(in::account_settings(4, kAllInstruments, 0, 0)), Lines{});  // instrument 1 has its own
  EXPECT_EQ(send(in::account_settings(4, 1, 1, 0)), Lines{});
  // Selling 0.2 of 0.5 returns the share trunc(1,000 * 0.2 / 0.5) = 400 USD plus r = 0.
  send(lim(3, 2, Buy, 1'000'000, 200, 1));
  send(lim(4, 4, Sell, 1'000'000, 200, 1, TimeInForce::IOC));
  EXPECT_EQ(engine->position(4, 1).isolated_margin, 600'000'000);
  EXPECT_EQ(engine->balance(4), 8'975'000'000 + 400'000'000 - 10'000'000);
  // Closing returns all of B.
  send(lim(5, 2, Buy, 1'000'000, 300, 1));
  send(lim(6, 4, Sell, 1'000'000, 300, 1, TimeInForce::IOC));
  EXPECT_EQ(engine->position(4, 1).isolated_margin, 0);
  EXPECT_EQ(engine->balance(4), 9'950'000'000);
  EXPECT_EQ(send(in::account_settings(4, 1, 0, 0)), Lines{});
  EXPECT_FALSE(engine->isolated(4, 1));
  expect_money_conserved({2, 4});
  // An isolated order needs IM(W) <= C: 10 BTC at 100,000 needs 100,000 USD.
  send(in::account_settings(4, 1, 1, 0));
  EXPECT_EQ(send(lim(7, 4, Buy, 1'000'000, 10'000, 1)),
            (Lines{"rejected id=7 account=4 instrument=1 reason=insufficient_margin input=new_order"}));
}

TEST_F(MarginTest, TierDefinitionsMustBeIncreasingBoundedAndContinuous) {
  auto reject = Lines{"rejected id=0 account=0 instrument=3 reason=invalid_instrument input=instrument"};
  auto good = in::instrument(3, 1, 1, 1, 100, 100);
  good.tier_count = 2;
  // maint_1 = floor(123,457 * (3% - 1.5%)) = floor(1,851.855) = 1,851 micros.
  good.tiers[0] = {123'457, 3'000'000, 1'500'000, 0};
  good.tiers[1] = {1'000'003, 7'000'000, 3'000'000, 1851};
  auto bad = good;
  bad.tiers[1].maint_amount = 1852;
  EXPECT_EQ(send(bad), reject);
  bad = good, bad.tiers[0].maint_amount = 1, bad.tiers[1].maint_amount = 1852;  // maint_0 must be 0
  EXPECT_EQ(send(bad), reject);
  bad = good, bad.tiers[1].max_notional = 123'457;
  EXPECT_EQ(send(bad), reject);
  bad = good, bad.tiers[0].max_notional = 0;
  EXPECT_EQ(send(bad), reject);
  bad = good, bad.tiers[0].mmr = 0;
  EXPECT_EQ(send(bad), reject);
  bad = good, bad.tiers[1].mmr = 7'000'001;
  EXPECT_EQ(send(bad), reject);
  bad = good, bad.tiers[1].imr = 100'000'001;
  EXPECT_EQ(send(bad), reject);
  bad = good, bad.tiers[1].imr = 2'999'999, bad.tiers[1].mmr = 1'500'000, bad.tiers[1].maint_amount = 0;
  EXPECT_EQ(send(bad), reject);  // imr falls
  bad = good, bad.tiers[1].mmr = 1'000'000, bad.tiers[1].maint_amount = -618;
  EXPECT_EQ(send(bad), reject);  // mmr falls (even with the continuous, floored -617.285 -> -618)
  bad = good, bad.tiers[2].max_notional = 2'000'000;
  EXPECT_EQ(send(bad), reject);  // an entry past tier_count
  bad = good, bad.mark_band = 100'000'001;
  EXPECT_EQ(send(bad), reject);
  bad = good, bad.mark_band = -1;
  EXPECT_EQ(send(bad), reject);
  bad = good, bad.maker_fee = -100'000'001;
  EXPECT_EQ(send(bad), reject);
  bad = good, bad.taker_fee = 100'000'001;
  EXPECT_EQ(send(bad), reject);
  EXPECT_EQ(send(good), Lines{});
  // imr = mmr = 100%, fees and mark band at their limits.
  good.tiers[1] = {1'000'003, 100'000'000, 100'000'000, 121'605};  // floor(123,457 * 98.5%)
  good.maker_fee = -100'000'000;
  good.taker_fee = 100'000'000;
  good.mark_band = 100'000'000;
  EXPECT_EQ(send(good), Lines{});

  // A redefinition keeps its decimals while positions are open.
  send(in::deposit(1, 1'000'000'000, 1));
  send(in::deposit(2, 1'000'000'000, 2));
  send(lim(1, 1, Sell, 50, 1, 3));
  send(lim(2, 2, Buy, 50, 1, 3, TimeInForce::IOC));
  ASSERT_EQ(engine->position(2, 3).size, 1);
  ASSERT_EQ(engine->live_orders(), 0u);
  auto other = good;
  other.price_decimals = 3;
  EXPECT_EQ(send(other), reject);
  other = good, other.tier_count = 0, other.tiers[0] = {}, other.tiers[1] = {};
  EXPECT_EQ(send(other), Lines{});  // tiers, fees and band may change
}

TEST_F(MarginTest, NotionalOverflowBoundsWhatAPositionCanReach) {
  // m = 6, highest price 2^40: value_up(2^40, n) = n * 2^40 * 1e6 <= 2^62 for n <= 4.
  auto big = in::instrument(3, 1 << 30, 1, 1 << 30, cascade::Price{1} << 40, 100);
  big.price_decimals = 0;
  big.qty_decimals = 0;
  EXPECT_EQ(send(big), Lines{});
  const cascade::Price low = 1 << 30, high = cascade::Price{1} << 40;
  EXPECT_EQ(send(lim(1, 1, Buy, low, 4, 3)).size(), 4u);
  EXPECT_EQ(send(lim(2, 1, Buy, low, 1, 3)),
            (Lines{"rejected id=2 account=1 instrument=3 reason=notional_overflow input=new_order"}));
  EXPECT_EQ(send(lim(3, 1, Sell, high, 4, 3)).size(), 4u);  // the other side counts apart
  EXPECT_EQ(send(in::modify(3, 1, high, 5, 3)),
            (Lines{"rejected id=3 account=1 instrument=3 reason=notional_overflow input=modify"}));
  // A position counts too: account 2 buys 3, then may only have 1 more on its buy side.
  send(lim(4, 2, Buy, high, 3, 3, TimeInForce::IOC));
  EXPECT_EQ(engine->position(2, 3).size, 3);
  EXPECT_EQ(send(lim(5, 2, Buy, low, 2, 3)),
            (Lines{"rejected id=5 account=2 instrument=3 reason=notional_overflow input=new_order"}));
  EXPECT_EQ(send(lim(6, 2, Buy, low, 1, 3)).size(), 4u);

  // |s| + Q must also fit a 64-bit quantity: with m = -30 a unit at price 1 is worth 1e-30
  // micros, so there only the quantity can overflow.
  auto tiny = in::instrument(0, 1, 1, 1, 1, std::numeric_limits<cascade::Qty>::max());
  tiny.price_decimals = 18;
  tiny.qty_decimals = 18;
  EXPECT_EQ(send(tiny), Lines{});
  EXPECT_EQ(send(lim(7, 5, Buy, 1, std::numeric_limits<cascade::Qty>::max() - 3, 0)).size(), 4u);
  EXPECT_EQ(send(lim(8, 5, Buy, 1, 1, 0)).size(), 4u);  // |s| + Q = INT64_MAX - 2
  EXPECT_EQ(send(lim(9, 5, Buy, 1, 3, 0)),
            (Lines{"rejected id=9 account=5 instrument=0 reason=notional_overflow input=new_order"}));
}

TEST_F(MarginTest, PositionRecordsAreLimited) {
  reset({.max_instruments = 4, .max_accounts = 8, .max_orders = 64, .max_levels_per_book = 1 << 17, .max_positions = 2,
         .liquidation = false});
  send(margin::btc());
  send(margin::cents());
  const auto capacity = [](cascade::OrderId id, cascade::AccountId a, cascade::InstrumentId i) {
    return Lines{"rejected id=" + std::to_string(id) + " account=" + std::to_string(a) +
                 " instrument=" + std::to_string(i) + " reason=account_capacity input=new_order"};
  };
  EXPECT_EQ(send(lim(1, 1, Buy, 3100, 1, 2)).size(), 4u);  // record (1, 2)
  EXPECT_EQ(send(lim(2, 2, Sell, 3900, 1, 2)).size(), 4u);  // record (2, 2): the table is full
  EXPECT_EQ(send(lim(3, 3, Buy, 3100, 1, 2)), capacity(3, 3, 2));
  EXPECT_EQ(send(lim(4, 1, Buy, 1'000'000, 1, 1)), capacity(4, 1, 1));
  // Even an order that could not rest needs its record while it is checked.
  EXPECT_EQ(send(lim(5, 3, Buy, 3100, 1, 2, TimeInForce::IOC)), capacity(5, 3, 2));
  EXPECT_EQ(send(lim(6, 1, Buy, 3101, 1, 2)).size(), 4u);  // (1, 2) has its record
  // A per-instrument setting keeps a record; the account default needs none.
  EXPECT_EQ(send(in::account_settings(4, 2, 1, 0)),
            (Lines{"rejected id=0 account=4 instrument=2 reason=account_capacity input=account_settings"}));
  EXPECT_EQ(send(in::account_settings(4, kAllInstruments, 1, 0)), Lines{});
  // A record without orders or position goes: (2, 2) is freed.
  send(in::cancel(2, 2, 2));
  EXPECT_EQ(send(in::account_settings(4, 2, 0, 0)), Lines{});  // takes (4, 2) for good
  EXPECT_EQ(send(lim(7, 3, Buy, 3100, 1, 2)), capacity(7, 3, 2));
}

// =============================================================================================
// Liquidation (docs/liquidation.md)
// =============================================================================================
//
// Instruments 1 and 2 (same terms): decimals 0 so m = 6 and value(p, q) = p * q * 1e6 micros;
// tick 1, lot 1, prices 50..150; no trading fees; liquidation fee 5%. Brackets: up to 1,000 USD
// IM 10% / MM 5%, up to 10,000 USD IM 20% / MM 10% (maint_amount 50 USD). Expectations list
// the liquidation-related events only (no MarginUpdate, market data or MarkPrice).
namespace liq {

cascade::wire::InstrumentDefinition perp(cascade::InstrumentId id) {
  auto d = in::instrument(id, 1, 1, 50, 150, 1000);
  d.price_decimals = 0;
  d.qty_decimals = 0;
  d.liquidation_fee = 5'000'000;
  d.tier_count = 2;
  d.tiers[0] = {1'000'000'000, 10'000'000, 5'000'000, 0};
  d.tiers[1] = {10'000'000'000, 20'000'000, 10'000'000, 50'000'000};
  return d;
}

}  // namespace liq

class LiquidationTest : public MarginTest {
 protected:
  void SetUp() override {
    reset({.max_instruments = 4, .max_accounts = 8, .max_orders = 64, .max_levels_per_book = 1 << 17});
    book_only = false;
    EXPECT_EQ(send(liq::perp(1)), Lines{});
    EXPECT_EQ(send(liq::perp(2)), Lines{});
  }
  // The liquidation-related lines of an input's output.
  template <class T>
  Lines liq(T msg) {
    Lines r;
    for (auto& line : send(msg)) {
      for (const char* p : {"liquidation ", "fill ", "position ", "insurance_fund ", "deleverage ", "cancelled "})
        if (line.rfind(p, 0) == 0) r.push_back(line);
    }
    return r;
  }
  // Account `a` opens a position of `qty` on `instrument` at `price` against `b`.
  void open(cascade::AccountId a, cascade::AccountId b, Side side, cascade::Price price, cascade::Qty qty,
            cascade::InstrumentId instrument = 1) {
    const cascade::OrderId id = next_id;
    next_id += 2;
    EXPECT_EQ(send(lim(id, b, side == Buy ? Sell : Buy, price, qty, instrument)).size(), 4u);
    for (const auto& line : send(lim(id + 1, a, side, price, qty, instrument, TimeInForce::IOC)))
      EXPECT_EQ(line.find("rejected"), std::string::npos) << line;
  }
  void no_unit_below() { EXPECT_FALSE(engine->any_unit_below()); }
  cascade::OrderId next_id = 100;
};

// Long 10 at 100 with 100 USD; the index falls to 94: equity 40 < MM 47 USD. D = 40 / 10 = 4,
// bp = 90; the IOC sells 5 at 95 and 5 at 94. The first fee is 5% of 475 = 23.75 USD; the
// second (23.5) is capped by the equity left, 21.25 USD: the account ends at 0.
TEST_F(LiquidationTest, LongThroughTheBookWithTheFeeCappedByEquity) {
  send(in::deposit(1, 100'000'000, 1));
  send(in::deposit(3, 10'000'000'000, 2));
  open(1, 3, Buy, 100, 10);
  send(lim(1, 3, Buy, 95, 5, 1));
  send(lim(2, 3, Buy, 94, 5, 1));
  EXPECT_EQ(liq(in::index_price(1, 95)), Lines{});  // equity 50 >= MM 47.5
  EXPECT_EQ(liq(in::index_price(1, 94)),
            (Lines{"liquidation account=1 instrument=4294967295 side=0 stage=1 depth=0 qty=0 price=0 amount=-7000000 origin=11",
                   "liquidation account=1 instrument=4294967295 side=0 stage=2 depth=0 qty=0 price=0 amount=0 origin=11",
                   "liquidation account=1 instrument=1 side=sell stage=3 depth=0 qty=10 price=90 amount=0 origin=11",
                   "fill maker=1 taker=0 maker_account=3 taker_account=1 instrument=1 aggressor=sell price=95 qty=5 "
                   "maker_leaves=0 taker_leaves=5 flags=1 maker_fee=0 taker_fee=23750000",
                   "position account=3 instrument=1 size=-5 entry_value=-500000000 realized_pnl=25000000",
                   "position account=1 instrument=1 size=5 entry_value=500000000 realized_pnl=-25000000",
                   "insurance_fund instrument=1 reason=liquidation_fee delta=23750000 balance=23750000",
                   "fill maker=2 taker=0 maker_account=3 taker_account=1 instrument=1 aggressor=sell price=94 qty=5 "
                   "maker_leaves=0 taker_leaves=0 flags=1 maker_fee=0 taker_fee=21250000",
                   "position account=3 instrument=1 size=0 entry_value=0 realized_pnl=30000000",
                   "position account=1 instrument=1 size=0 entry_value=0 realized_pnl=-30000000",
                   "insurance_fund instrument=1 reason=liquidation_fee delta=21250000 balance=45000000",
                   "liquidation account=1 instrument=4294967295 side=0 stage=7 depth=0 qty=0 price=0 amount=0 origin=11"}));
  EXPECT_EQ(engine->balance(1), 0);
  EXPECT_EQ(engine->totals().insurance_fund, 45'000'000);
  no_unit_below();
  expect_money_conserved({1, 3});
}

// Long 20 at 100 (2,000 USD: bracket 1, IM 20%) with 400 USD; index 86: equity 120 < MM
// 172 - 50 = 122. The step only reduces to the top of bracket 0: r = floor(1000 / 86) = 11, so
// q = 9; D = 120 / 20 = 6, bp = 80. 9 sell at 85: r = 765 - 900 = -135; fee 5% of 765 =
// 38.25 USD (equity after the fill 111). Left: 11 at mark 86 (946 USD, MM 47.3), equity 72.75.
TEST_F(LiquidationTest, PartialStepReducesToTheBracketBelow) {
  send(in::deposit(1, 400'000'000, 1));
  send(in::deposit(3, 10'000'000'000, 2));
  open(1, 3, Buy, 100, 20);
  send(lim(1, 3, Buy, 85, 9, 1));
  EXPECT_EQ(liq(in::index_price(1, 86)),
            (Lines{"liquidation account=1 instrument=4294967295 side=0 stage=1 depth=0 qty=0 price=0 amount=-2000000 "
                   "origin=9",
                   "liquidation account=1 instrument=4294967295 side=0 stage=2 depth=0 qty=0 price=0 amount=0 origin=9",
                   "liquidation account=1 instrument=1 side=sell stage=3 depth=0 qty=9 price=80 amount=0 origin=9",
                   "fill maker=1 taker=0 maker_account=3 taker_account=1 instrument=1 aggressor=sell price=85 qty=9 "
                   "maker_leaves=0 taker_leaves=0 flags=1 maker_fee=0 taker_fee=38250000",
                   "position account=3 instrument=1 size=-11 entry_value=-1100000000 realized_pnl=135000000",
                   "position account=1 instrument=1 size=11 entry_value=1100000000 realized_pnl=-135000000",
                   "insurance_fund instrument=1 reason=liquidation_fee delta=38250000 balance=38250000",
                   "liquidation account=1 instrument=4294967295 side=0 stage=7 depth=0 qty=0 price=0 amount=25450000 "
                   "origin=9"}));
  EXPECT_EQ(engine->position(1, 1).size, 11);
  no_unit_below();
  expect_money_conserved({1, 3});
}

// Long 10 at 100 with 100 USD; index 88: equity -20, bp = 88 + 2 = 90. The only bid (89) is
// below bp; no backstop; the fund (45 USD from an earlier liquidation's fees) pays
// G = 45 / 10 = 4 price units: a second order at 86 sells at 89, C = -10, the fund pays 10.
TEST_F(LiquidationTest, BankruptcyPaidByTheInsuranceFund) {
  send(in::deposit(1, 100'000'000, 1));
  send(in::deposit(2, 100'000'000, 2));
  send(in::deposit(3, 10'000'000'000, 3));
  open(2, 3, Buy, 100, 10);  // account 2 fills the fund first, as in the test above
  send(lim(1, 3, Buy, 95, 5, 1));
  send(lim(2, 3, Buy, 94, 5, 1));
  send(in::index_price(1, 94));
  EXPECT_EQ(engine->totals().insurance_fund, 45'000'000);
  send(in::index_price(1, 100));
  open(1, 3, Buy, 100, 10);
  send(lim(3, 3, Buy, 89, 10, 1));
  EXPECT_EQ(liq(in::index_price(1, 88)),
            (Lines{"liquidation account=1 instrument=4294967295 side=0 stage=1 depth=0 qty=0 price=0 amount=-64000000 "
                   "origin=16",
                   "liquidation account=1 instrument=4294967295 side=0 stage=2 depth=0 qty=0 price=0 amount=0 origin=16",
                   "liquidation account=1 instrument=1 side=sell stage=3 depth=0 qty=10 price=90 amount=0 origin=16",
                   "liquidation account=1 instrument=1 side=sell stage=3 depth=0 qty=10 price=86 amount=0 origin=16",
                   "fill maker=3 taker=0 maker_account=3 taker_account=1 instrument=1 aggressor=sell price=89 qty=10 "
                   "maker_leaves=0 taker_leaves=0 flags=1",
                   "position account=3 instrument=1 size=0 entry_value=0 realized_pnl=110000000",
                   "position account=1 instrument=1 size=0 entry_value=0 realized_pnl=-110000000",
                   "insurance_fund instrument=4294967295 reason=bankruptcy_payout delta=-10000000 balance=35000000",
                   "liquidation account=1 instrument=4294967295 side=0 stage=6 depth=0 qty=0 price=0 amount=10000000 "
                   "origin=16",
                   "liquidation account=1 instrument=4294967295 side=0 stage=7 depth=0 qty=0 price=0 amount=0 origin=16"}));
  EXPECT_EQ(engine->balance(1), 0);
  EXPECT_EQ(engine->totals().insurance_fund, 35'000'000);
  EXPECT_EQ(engine->totals().socialized_losses, 0);
  no_unit_below();
  expect_money_conserved({1, 2, 3});
}

// No bids: the backstop (account 5) buys all 10 at bp 90; it holds them at mark 94 in profit.
TEST_F(LiquidationTest, BackstopTakesTheWholeRemainder) {
  send(in::deposit(1, 100'000'000, 1));
  send(in::deposit(3, 10'000'000'000, 2));
  send(in::deposit(5, 10'000'000'000, 3));
  EXPECT_EQ(send(in::account_settings(5, kAllInstruments, 0, 1)), Lines{});
  open(1, 3, Buy, 100, 10);
  EXPECT_EQ(liq(in::index_price(1, 94)),
            (Lines{"liquidation account=1 instrument=4294967295 side=0 stage=1 depth=0 qty=0 price=0 amount=-7000000 "
                   "origin=10",
                   "liquidation account=1 instrument=4294967295 side=0 stage=2 depth=0 qty=0 price=0 amount=0 origin=10",
                   "liquidation account=1 instrument=1 side=sell stage=3 depth=0 qty=10 price=90 amount=0 origin=10",
                   "fill maker=0 taker=0 maker_account=5 taker_account=1 instrument=1 aggressor=sell price=90 qty=10 "
                   "maker_leaves=0 taker_leaves=0 flags=3",
                   "position account=5 instrument=1 size=10 entry_value=900000000 realized_pnl=0",
                   "position account=1 instrument=1 size=0 entry_value=0 realized_pnl=-100000000",
                   "liquidation account=1 instrument=1 side=sell stage=4 depth=0 qty=10 price=90 amount=5 origin=10",
                   "liquidation account=1 instrument=4294967295 side=0 stage=7 depth=0 qty=0 price=0 amount=0 origin=10"}));
  EXPECT_EQ(engine->position(5, 1).size, 10);
  EXPECT_EQ(engine->balance(1), 0);
  no_unit_below();
  expect_money_conserved({1, 3, 5});
}

// Long 10 at 100 against shorts of 8 (account 2, 1,000 USD) and 4 (account 3, 100 USD); account
// 5 is long 2. Index 88: bp 90, no book, no backstop, no fund: deleveraging. Both shorts earn
// 12% (pnl = 12e6); leverage: account 3 352 / 148 -> 237,837,837, account 2 704 / 1,096 ->
// 64,233,576: account 3 first (all 4), then account 2 (6 of its 8).
TEST_F(LiquidationTest, AutoDeleveragingRanksByProfitTimesLeverage) {
  send(in::deposit(1, 100'000'000, 1));
  send(in::deposit(2, 1'000'000'000, 2));
  send(in::deposit(3, 100'000'000, 3));
  send(in::deposit(5, 1'000'000'000, 4));
  open(5, 2, Buy, 100, 2);
  open(1, 2, Buy, 100, 6);
  open(1, 3, Buy, 100, 4);
  EXPECT_EQ(engine->position(2, 1).size, -8);
  EXPECT_EQ(liq(in::index_price(1, 88)),
            (Lines{"liquidation account=1 instrument=4294967295 side=0 stage=1 depth=0 qty=0 price=0 amount=-64000000 "
                   "origin=14",
                   "liquidation account=1 instrument=4294967295 side=0 stage=2 depth=0 qty=0 price=0 amount=0 origin=14",
                   "liquidation account=1 instrument=1 side=sell stage=3 depth=0 qty=10 price=90 amount=0 origin=14",
                   "deleverage account=3 counter_account=1 instrument=1 rank=1 qty=4 price=90",
                   "fill maker=0 taker=0 maker_account=3 taker_account=1 instrument=1 aggressor=sell price=90 qty=4 "
                   "maker_leaves=0 taker_leaves=6 flags=5",
                   "position account=3 instrument=1 size=0 entry_value=0 realized_pnl=40000000",
                   "position account=1 instrument=1 size=6 entry_value=600000000 realized_pnl=-40000000",
                   "deleverage account=2 counter_account=1 instrument=1 rank=2 qty=6 price=90",
                   "fill maker=0 taker=0 maker_account=2 taker_account=1 instrument=1 aggressor=sell price=90 qty=6 "
                   "maker_leaves=0 taker_leaves=0 flags=5",
                   "position account=2 instrument=1 size=-2 entry_value=-200000000 realized_pnl=60000000",
                   "position account=1 instrument=1 size=0 entry_value=0 realized_pnl=-60000000",
                   "liquidation account=1 instrument=1 side=sell stage=5 depth=0 qty=10 price=90 amount=0 origin=14",
                   "liquidation account=1 instrument=4294967295 side=0 stage=7 depth=0 qty=0 price=0 amount=0 origin=14"}));
  EXPECT_EQ(engine->position(2, 1).size, -2);
  EXPECT_EQ(engine->position(3, 1).size, 0);
  no_unit_below();
  expect_money_conserved({1, 2, 3, 5});
}

// Without an index the mark is the last trade. Accounts 1 (100 USD) and 2 (120 USD) are long 10
// at 100. A sale at 94 puts account 1 below (40 < 47); its step sells at 91, which moves the
// mark to 91 and puts account 2 below (30 < 45.5) at depth 1; it sells at 89.
TEST_F(LiquidationTest, TwoAccountCascade) {
  send(in::deposit(1, 100'000'000, 1));
  send(in::deposit(2, 120'000'000, 2));
  send(in::deposit(3, 10'000'000'000, 3));
  send(in::deposit(4, 100'000'000, 4));
  open(1, 3, Buy, 100, 10);
  open(2, 3, Buy, 100, 10);
  send(lim(1, 3, Buy, 94, 1, 1));
  send(lim(2, 3, Buy, 91, 10, 1));
  send(lim(3, 3, Buy, 89, 10, 1));
  EXPECT_EQ(liq(lim(4, 4, Sell, 94, 1, 1, TimeInForce::IOC)),
            (Lines{"fill maker=1 taker=4 maker_account=3 taker_account=4 instrument=1 aggressor=sell price=94 qty=1 "
                   "maker_leaves=0 taker_leaves=0",
                   "position account=3 instrument=1 size=-19 entry_value=-1900000000 realized_pnl=6000000",
                   "position account=4 instrument=1 size=-1 entry_value=-94000000 realized_pnl=0",
                   "liquidation account=1 instrument=4294967295 side=0 stage=1 depth=0 qty=0 price=0 amount=-7000000 "
                   "origin=15",
                   "liquidation account=1 instrument=4294967295 side=0 stage=2 depth=0 qty=0 price=0 amount=0 origin=15",
                   "liquidation account=1 instrument=1 side=sell stage=3 depth=0 qty=10 price=90 amount=0 origin=15",
                   "fill maker=2 taker=0 maker_account=3 taker_account=1 instrument=1 aggressor=sell price=91 qty=10 "
                   "maker_leaves=0 taker_leaves=0 flags=1 maker_fee=0 taker_fee=10000000",
                   "position account=3 instrument=1 size=-9 entry_value=-900000000 realized_pnl=90000000",
                   "position account=1 instrument=1 size=0 entry_value=0 realized_pnl=-90000000",
                   "insurance_fund instrument=1 reason=liquidation_fee delta=10000000 balance=10000000",
                   "liquidation account=1 instrument=4294967295 side=0 stage=7 depth=0 qty=0 price=0 amount=0 origin=15",
                   "liquidation account=2 instrument=4294967295 side=0 stage=1 depth=1 qty=0 price=0 amount=-15500000 "
                   "origin=15",
                   "liquidation account=2 instrument=4294967295 side=0 stage=2 depth=1 qty=0 price=0 amount=0 origin=15",
                   "liquidation account=2 instrument=1 side=sell stage=3 depth=1 qty=10 price=88 amount=0 origin=15",
                   "fill maker=3 taker=0 maker_account=3 taker_account=2 instrument=1 aggressor=sell price=89 qty=10 "
                   "maker_leaves=0 taker_leaves=0 flags=1 maker_fee=0 taker_fee=10000000",
                   "position account=3 instrument=1 size=1 entry_value=89000000 realized_pnl=99000000",
                   "position account=2 instrument=1 size=0 entry_value=0 realized_pnl=-110000000",
                   "insurance_fund instrument=1 reason=liquidation_fee delta=10000000 balance=20000000",
                   "liquidation account=2 instrument=4294967295 side=0 stage=7 depth=1 qty=0 price=0 amount=0 origin=15"}));
  no_unit_below();
  expect_money_conserved({1, 2, 3, 4});
}

// Cross account long 10 on instrument 1 and 5 on instrument 2 (150 USD). Index of 1 at 90:
// equity 50 < MM 45 + 25. The position with the larger MM (instrument 1) goes first: bp 85,
// sold at 88, fee capped at the 30 USD left. Still below (0 < 25): instrument 2 at depth 1,
// bp 100; the bid at 99 is below it; the fund's 30 USD allow bpi 94: sold at 99, C = -5, the
// fund pays 5.
TEST_F(LiquidationTest, CrossAccountWithTwoInstruments) {
  send(in::deposit(1, 150'000'000, 1));
  send(in::deposit(3, 10'000'000'000, 2));
  open(1, 3, Buy, 100, 10, 1);
  open(1, 3, Buy, 100, 5, 2);
  send(lim(1, 3, Buy, 88, 10, 1));
  send(lim(2, 3, Buy, 99, 5, 2));
  EXPECT_EQ(liq(in::index_price(1, 95)), Lines{});
  EXPECT_EQ(liq(in::index_price(1, 90)),
            (Lines{"liquidation account=1 instrument=4294967295 side=0 stage=1 depth=0 qty=0 price=0 amount=-20000000 "
                   "origin=13",
                   "liquidation account=1 instrument=4294967295 side=0 stage=2 depth=0 qty=0 price=0 amount=0 origin=13",
                   "liquidation account=1 instrument=1 side=sell stage=3 depth=0 qty=10 price=85 amount=0 origin=13",
                   "fill maker=1 taker=0 maker_account=3 taker_account=1 instrument=1 aggressor=sell price=88 qty=10 "
                   "maker_leaves=0 taker_leaves=0 flags=1 maker_fee=0 taker_fee=30000000",
                   "position account=3 instrument=1 size=0 entry_value=0 realized_pnl=120000000",
                   "position account=1 instrument=1 size=0 entry_value=0 realized_pnl=-120000000",
                   "insurance_fund instrument=1 reason=liquidation_fee delta=30000000 balance=30000000",
                   "liquidation account=1 instrument=4294967295 side=0 stage=7 depth=0 qty=0 price=0 amount=-25000000 "
                   "origin=13",
                   "liquidation account=1 instrument=4294967295 side=0 stage=1 depth=1 qty=0 price=0 amount=-25000000 "
                   "origin=13",
                   "liquidation account=1 instrument=4294967295 side=0 stage=2 depth=1 qty=0 price=0 amount=0 origin=13",
                   "liquidation account=1 instrument=2 side=sell stage=3 depth=1 qty=5 price=100 amount=0 origin=13",
                   "liquidation account=1 instrument=2 side=sell stage=3 depth=1 qty=5 price=94 amount=0 origin=13",
                   "fill maker=2 taker=0 maker_account=3 taker_account=1 instrument=2 aggressor=sell price=99 qty=5 "
                   "maker_leaves=0 taker_leaves=0 flags=1",
                   "position account=3 instrument=2 size=0 entry_value=0 realized_pnl=5000000",
                   "position account=1 instrument=2 size=0 entry_value=0 realized_pnl=-5000000",
                   "insurance_fund instrument=4294967295 reason=bankruptcy_payout delta=-5000000 balance=25000000",
                   "liquidation account=1 instrument=4294967295 side=0 stage=6 depth=1 qty=0 price=0 amount=5000000 "
                   "origin=13",
                   "liquidation account=1 instrument=4294967295 side=0 stage=7 depth=1 qty=0 price=0 amount=0 origin=13"}));
  EXPECT_EQ(engine->balance(1), 0);
  EXPECT_EQ(engine->totals().insurance_fund, 25'000'000);
  no_unit_below();
  expect_money_conserved({1, 3});
}
