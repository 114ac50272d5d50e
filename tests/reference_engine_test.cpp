// Hand-computed scenarios for the reference engine, the oracle of the differential tests.
// Each expectation is worked out from docs/matching.md by hand; outputs are compared as the
// debug printer's lines (headers left out except in the header test).
#include "support/reference_engine.hpp"

#include <gtest/gtest.h>

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
    reset({.max_instruments = 4, .max_accounts = 8, .max_orders = 64, .max_levels_per_book = 1024});
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
    return cascade::testing::describe_all(out.bytes(), headers);
  }

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
  auto first = in::limit(1, 1, Buy, 100, 5);
  first.header.flags = cascade::wire::header_flags::kSynthetic;  // input flags are not copied
  EXPECT_EQ(send(first, 5000, true),
            (Lines{"accepted seq=1 ts=5000 ref=2 order_id=1 account=1 instrument=0 side=buy type=limit tif=gtc "
                   "price=100 qty=5 stp=default",
                   "depth seq=2 ts=5000 ref=2 instrument=0 side=buy price=100 qty=5 orders=1",
                   "top_of_book seq=3 ts=5000 ref=2 instrument=0 bid=5@100 ask=0@0"}));
  for (const auto& line : send(in::heartbeat(), 5000, true)) ADD_FAILURE() << line;
  EXPECT_EQ(send(in::limit(2, 1, Sell, 105, 1), 6000, true),
            (Lines{"accepted seq=4 ts=6000 ref=4 order_id=2 account=1 instrument=0 side=sell type=limit tif=gtc "
                   "price=105 qty=1 stp=default",
                   "depth seq=5 ts=6000 ref=4 instrument=0 side=sell price=105 qty=1 orders=1",
                   "top_of_book seq=6 ts=6000 ref=4 instrument=0 bid=5@100 ask=1@105"}));
  EXPECT_EQ(engine->output_seq(), 6u);
}

TEST_F(ReferenceEngineTest, AcceptedEchoesTheOrderAndRejectCarriesItsIdentity) {
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
  reset({.max_instruments = 4, .max_accounts = 8, .max_orders = 2, .max_levels_per_book = 1024});
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
