// The margin engine against docs/margin.md, with hand-computed expected values: the integer
// helpers, every bracket boundary, the mark price, fills (open, increase, reduce, close, flip),
// fees with rebates and rounding, pre-trade risk, reduce-only, withdrawals, funding, isolated
// margin and the maintenance watch. Each worked example of docs/margin.md is a test here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "cascade/brackets.hpp"
#include "cascade/engine.hpp"
#include "cascade/event_buffer.hpp"
#include "cascade/event_reader.hpp"
#include "cascade/fixed_point.hpp"
#include "cascade/mark_price.hpp"
#include "support/events.hpp"

namespace {

using namespace cascade;
namespace t = cascade::testing;
using wire::MsgType;
using wire::RejectReason;
using Lines = std::vector<std::string>;
using fx::i128;

std::string s(std::int64_t v) { return std::to_string(v); }

// ---------------------------------------------------------------------------------------------
// Integer helpers

TEST(FixedPoint, FloorCeilAndTruncDivisionForEverySign) {
  EXPECT_EQ(fx::floor_div(7, 2), 3);
  EXPECT_EQ(fx::floor_div(-7, 2), -4);
  EXPECT_EQ(fx::floor_div(7, -2), -4);
  EXPECT_EQ(fx::floor_div(-7, -2), 3);
  EXPECT_EQ(fx::ceil_div(7, 2), 4);
  EXPECT_EQ(fx::ceil_div(-7, 2), -3);
  EXPECT_EQ(fx::ceil_div(7, -2), -3);
  EXPECT_EQ(fx::ceil_div(-7, -2), 4);
  EXPECT_EQ(fx::trunc_div(-7, 2), -3);
  EXPECT_EQ(fx::floor_div(6, 2), 3);
  EXPECT_EQ(fx::ceil_div(-6, 2), -3);
}

// The 64-bit fast paths must agree with 128-bit division on both sides of the int64 range.
TEST(FixedPoint, SixtyFourBitFastPathsAgreeWithWideDivision) {
  const i128 big = i128{1} << 63;
  const i128 as[] = {0, 1, -1, 7, -7, 99'999'999, -100'000'001, big - 1, -big, -big + 1, big, -big - 1,
                     (big - 1) * 3, -(big - 1) * 5, i128{1} << 100};
  const i128 bs[] = {1, 2, 3, 7, 100'000'000, 1'000'000, big - 1, big, i128{1} << 70};
  for (const i128 a : as)
    for (const i128 b : bs) {
      const i128 q = a / b, r = a % b;  // truncating, as the hardware divides
      const i128 floor = (r != 0 && a < 0) ? q - 1 : q;
      const i128 ceil = (r != 0 && a > 0) ? q + 1 : q;
      EXPECT_EQ(fx::floor_div(a, b), floor);
      EXPECT_EQ(fx::ceil_div(a, b), ceil);
      EXPECT_EQ(fx::trunc_div(a, b), q);
    }
  // mul_div: products around 2^63 take the 64-bit path below and the 128-bit one above.
  const i128 third = (big - 1) / 3;
  EXPECT_EQ(fx::mul_div_floor(third, 3, 100'000'000), (third * 3) / 100'000'000);
  EXPECT_EQ(fx::mul_div_ceil(third + 1, 3, 100'000'000), ((third + 1) * 3 + 99'999'999) / 100'000'000);
  EXPECT_EQ(fx::mul_div_floor(big - 1, big - 1, big - 1), big - 1);
  EXPECT_EQ(fx::mul_div_ceil(7, 3, 2), 11);
  EXPECT_EQ(fx::mul_div_floor(7, 3, 2), 10);
  EXPECT_EQ(fx::pow10(0), 1);
  EXPECT_EQ(fx::pow10(18), i128{1'000'000'000'000'000'000});
  EXPECT_EQ(fx::pow10(38) / fx::pow10(19), fx::pow10(19));
}

// mul_div of 64-bit factors whose product needs 128 bits by a 64-bit divisor: the single
// 128-by-64 divide where the quotient fits 64 bits, the wide path where it does not (the
// product's high half at or above the divisor), both against plain 128-bit arithmetic.
TEST(FixedPoint, WideProductsByA64BitDivisorAgreeWithWideDivision) {
  const i128 big = i128{1} << 63;
  const i128 fs[] = {3, 99'999'999, 100'000'000, 123'456'789'012, big / 3, big - 1};
  const i128 cs[] = {1, 7, 100'000'000, 105'000'000'000, (i128{1} << 62) + 11, big - 1};
  for (const i128 a : fs)
    for (const i128 b : fs)
      for (const i128 c : cs) {
        const i128 p = a * b;  // < 2^126
        EXPECT_EQ(fx::mul_div_floor(a, b, c), p / c) << static_cast<double>(a) << " " << static_cast<double>(b);
        EXPECT_EQ(fx::mul_div_ceil(a, b, c), p / c + (p % c != 0 ? 1 : 0));
      }
  // A quotient between 2^63 and 2^64 (no int64, still one divide) stays positive.
  EXPECT_EQ(fx::mul_div_floor(big - 1, 4, 2), (big - 1) * 2);
  // A 40% rate against 1e8 on a notional of 2^62 micros.
  EXPECT_EQ(fx::mul_div_ceil(i128{1} << 62, 40'000'000, 100'000'000), i128{1'844'674'407'370'955'162});
}

// docs/margin.md, "Units": BTC-PERP (pd 1, qd 3, m = 2), 0.250 BTC at 101,500.5 USD.
TEST(FixedPoint, ValueWithNonNegativeExponentIsExact) {
  EXPECT_EQ(fx::money_exponent(1, 3), 2);
  EXPECT_EQ(fx::value(1'015'005, 250, 2), 25'375'125'000);
  EXPECT_EQ(fx::value_up(1'015'005, 250, 2), 25'375'125'000);
  EXPECT_EQ(fx::value(7, 3, 6), 21'000'000);  // pd 0, qd 0: one unit is one quote
}

TEST(FixedPoint, ValueWithNegativeExponentRoundsAsAsked) {
  // pd 3, qd 4: m = -1. 3400.125 x 0.0007 = 2.3800875 quote.
  EXPECT_EQ(fx::money_exponent(3, 4), -1);
  EXPECT_EQ(fx::value(3'400'125, 7, -1), 2'380'087);
  EXPECT_EQ(fx::value_up(3'400'125, 7, -1), 2'380'088);
  EXPECT_EQ(fx::value(10, 5, -1), 5);  // exact: both roundings agree
  EXPECT_EQ(fx::value_up(10, 5, -1), 5);
  EXPECT_EQ(fx::value(1, 1, -30), 0);
  EXPECT_EQ(fx::value_up(1, 1, -30), 1);
}

TEST(FixedPoint, MulDivBeyond128Bits) {
  const i128 big = i128{1} << 100;
  // (2^100 * 2^60) / 2^90 = 2^70: the product needs 161 bits.
  EXPECT_EQ(fx::mul_div_floor(big, i128{1} << 60, i128{1} << 90), i128{1} << 70);
  // (2^100 * 3) / 7 rounds down and up.
  const i128 exact_floor = (big / 7) * 3 + ((big % 7) * 3) / 7;
  EXPECT_EQ(fx::mul_div_floor(big, 3, 7), exact_floor);
  EXPECT_EQ(fx::mul_div_ceil(big, 3, 7), exact_floor + 1);
  // Wide path: (2^120 + 1) * 10^12 / 10^12 is exact.
  const i128 x = (i128{1} << 120) + 1;
  EXPECT_EQ(fx::mul_div_floor(x, fx::pow10(12), fx::pow10(12)), x);
  EXPECT_EQ(fx::mul_div_ceil(x, fx::pow10(12), fx::pow10(12)), x);
  // A quotient that cannot fit saturates.
  EXPECT_EQ(fx::mul_div_floor(i128{1} << 120, i128{1} << 120, 1), fx::kI128Max);
  EXPECT_EQ(fx::saturate(fx::kI128Max), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(fx::saturate(-fx::kI128Max), std::numeric_limits<std::int64_t>::min());
}

TEST(FixedPoint, ValueTimesRateRoundsOnceAtTheEnd) {
  // docs/margin.md, "Funding": 3400.125 x 0.0007 ETH at 1% = 0.023800875 quote.
  EXPECT_EQ(fx::value_times_rate(3'400'125, 7, -1, 1'000'000, true), 23'801);
  EXPECT_EQ(fx::value_times_rate(3'400'125, 7, -1, 1'000'000, false), 23'800);
  // m >= 0: 0.5 BTC at 100,000 at 0.01% = 5 USD exactly.
  EXPECT_EQ(fx::value_times_rate(1'000'000, 500, 2, 10'000, true), 5'000'000);
  EXPECT_EQ(fx::value_times_rate(1'000'000, 500, 2, 10'000, false), 5'000'000);
}

// ---------------------------------------------------------------------------------------------
// Brackets

// Three tiers, Binance-style: 1%/0.5% to 100k USD, 2%/1% to 1M, 5%/2.5% to 5M.
wire::InstrumentDefinition btc(InstrumentId id = 0) {
  auto d = t::instrument(0, 0, id, 1, 1, 500'000, 1'500'000, 100'000);
  std::memcpy(d.symbol, "BTC-PERP", 8);
  d.price_decimals = 1;
  d.qty_decimals = 3;
  d.maker_fee = -10'000;  // -0.01%
  d.taker_fee = 50'000;   // 0.05%
  d.mark_band = 1'000'000;  // 1%
  d.tier_count = 3;
  d.tiers[0] = {100'000'000'000, 1'000'000, 500'000, 0};
  d.tiers[1] = {1'000'000'000'000, 2'000'000, 1'000'000, 500'000'000};
  d.tiers[2] = {5'000'000'000'000, 5'000'000, 2'500'000, 15'500'000'000};
  return d;
}

TEST(Brackets, EveryBoundaryAndOneUnitAbove) {
  Brackets b;
  const auto d = btc();
  ASSERT_TRUE(Brackets::valid(d));
  b.set(d);
  // Exactly at max_notional: that tier. One micro above: the next.
  EXPECT_EQ(b.bracket(100'000'000'000), 0);
  EXPECT_EQ(b.bracket(100'000'000'001), 1);
  EXPECT_EQ(b.bracket(1'000'000'000'000), 1);
  EXPECT_EQ(b.bracket(1'000'000'000'001), 2);
  EXPECT_EQ(b.bracket(5'000'000'000'000), 2);
  EXPECT_EQ(b.bracket(5'000'000'000'001), 2);  // above the last tier the last applies
  EXPECT_EQ(b.max_notional(), 5'000'000'000'000);
  EXPECT_EQ(b.max_mmr(), 2'500'000);
  // IM = ceil(N * imr / 1e8).
  EXPECT_EQ(b.initial(100'000'000'000), 1'000'000'000);
  EXPECT_EQ(b.initial(100'000'000'001), 2'000'000'001);  // ceil(2'000'000'000.02)
  EXPECT_EQ(b.initial(1'000'000'000'000), 20'000'000'000);
  EXPECT_EQ(b.initial(1'000'000'000'001), 50'000'000'001);
  EXPECT_EQ(b.initial(5'000'000'000'000), 250'000'000'000);
  EXPECT_EQ(b.initial(0), 0);
  EXPECT_EQ(b.initial(1), 1);  // ceil(0.01)
  // MM = max(0, ceil(N * mmr / 1e8) - maint_amount): continuous at each boundary.
  EXPECT_EQ(b.maintenance(100'000'000'000), 500'000'000);
  EXPECT_EQ(b.maintenance(100'000'000'001), 500'000'001);   // ceil(1e9 + 0.01) - 5e8
  EXPECT_EQ(b.maintenance(1'000'000'000'000), 9'500'000'000);
  EXPECT_EQ(b.maintenance(1'000'000'000'001), 9'500'000'001);  // ceil(2.5e10 + 0.025) - 1.55e10
  EXPECT_EQ(b.maintenance(5'000'000'000'000), 109'500'000'000);
  EXPECT_EQ(b.maintenance(1), 1);
  // The share of a part at the rate of the whole position's bracket.
  EXPECT_EQ(b.initial_part(50'000'000'000, 150'000'000'000), 1'000'000'000);
}

// The branch-free bracket search and the 64-bit rate products against the definitions: the
// first tier whose max_notional holds n (the last above all), ceil(n * rate / 1e8) in 128 bits.
TEST(Brackets, SearchAndRatesMatchTheDefinitionsOnRandomTiers) {
  std::mt19937_64 rng(20261205);
  const auto pick = [&](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  for (int round = 0; round < 2000; ++round) {
    auto d = t::instrument(0, 0, 0, 1, 1, 1, 1'000'000, 100);
    d.tier_count = static_cast<std::uint8_t>(pick(1, wire::kMaxTiers));
    // Bounds anywhere from a micro to near the top of 64 bits, rates up to 100%.
    const bool huge = round % 4 == 0;
    std::int64_t cap = 0;
    Rate imr = 0, mmr = 0;
    Money maint = 0;
    for (int k = 0; k < d.tier_count; ++k) {
      const std::int64_t step = huge ? pick(1, std::numeric_limits<std::int64_t>::max() / 16) : pick(1, 10'000'000'000'000);
      const Rate next_imr = static_cast<Rate>(pick(std::max<std::int64_t>(imr, 1), kRateOne));
      const Rate next_mmr = static_cast<Rate>(pick(std::max<std::int64_t>(mmr, 1), next_imr));
      if (k > 0) maint += static_cast<Money>(fx::floor_div(fx::i128{cap} * (next_mmr - mmr), kRateOne));
      cap += step;
      imr = next_imr;
      mmr = next_mmr;
      d.tiers[k] = {cap, imr, mmr, maint};
    }
    ASSERT_TRUE(Brackets::valid(d)) << "round " << round;
    Brackets b;
    b.set(d);
    const auto scan = [&](fx::i128 n) {
      for (int k = 0; k < d.tier_count - 1; ++k)
        if (n <= d.tiers[k].max_notional) return k;
      return d.tier_count - 1;
    };
    std::vector<fx::i128> ns = {-1, 0, 1, std::numeric_limits<std::int64_t>::max(),
                                fx::i128{std::numeric_limits<std::int64_t>::max()} + 1, fx::i128{1} << 100,
                                std::numeric_limits<std::int64_t>::min(), fx::i128{std::numeric_limits<std::int64_t>::min()} - 1};
    for (int k = 0; k < d.tier_count; ++k)
      for (const std::int64_t delta : {-1, 0, 1}) ns.push_back(fx::i128{d.tiers[k].max_notional} + delta);
    for (int k = 0; k < 20; ++k) ns.push_back(pick(1, std::min<std::int64_t>(cap * 2, std::numeric_limits<std::int64_t>::max() / 2)));
    for (const fx::i128 n : ns) {
      ASSERT_EQ(b.bracket(n), scan(n)) << "round " << round;
      if (n <= 0) {
        EXPECT_EQ(b.initial(n), 0);
        EXPECT_EQ(b.maintenance(n), 0);
        continue;
      }
      const wire::MarginTier& tier = d.tiers[scan(n)];
      ASSERT_EQ(b.initial(n), fx::mul_div_ceil(n, tier.imr, kRateOne)) << "round " << round;
      const fx::i128 mm = fx::mul_div_ceil(n, tier.mmr, kRateOne) - tier.maint_amount;
      ASSERT_EQ(b.maintenance(n), mm > 0 ? mm : 0) << "round " << round;
    }
  }
}

TEST(Brackets, NoTiersMeansNoRequirement) {
  Brackets b;
  b.set(t::instrument(0, 0, 0, 1, 1, 1, 100, 10));
  EXPECT_FALSE(b.margined());
  EXPECT_EQ(b.initial(1'000'000'000'000), 0);
  EXPECT_EQ(b.maintenance(1'000'000'000'000), 0);
  EXPECT_EQ(b.max_notional(), fx::kI128Max);
}

TEST(Brackets, ValidationRules) {
  using D = wire::InstrumentDefinition;
  const auto with = [](auto f) {
    D d = btc();
    f(d);
    return Brackets::valid(d);
  };
  EXPECT_TRUE(with([](D&) {}));
  EXPECT_TRUE(with([](D& d) { d.tier_count = 0, d.tiers[0] = d.tiers[1] = d.tiers[2] = {}; }));
  EXPECT_FALSE(with([](D& d) { d.tier_count = 2; }));                       // a used entry past the count
  EXPECT_FALSE(with([](D& d) { d.tiers[0].max_notional = 0; }));
  EXPECT_FALSE(with([](D& d) { d.tiers[1].max_notional = 100'000'000'000; }));  // not increasing
  EXPECT_FALSE(with([](D& d) { d.tiers[0].mmr = 0; }));
  EXPECT_FALSE(with([](D& d) { d.tiers[0].mmr = 1'000'001; }));              // mmr > imr
  EXPECT_FALSE(with([](D& d) { d.tiers[2].imr = 100'000'001; }));            // imr > 1
  EXPECT_FALSE(with([](D& d) { d.tiers[1].imr = 900'000; }));               // imr decreasing
  EXPECT_FALSE(with([](D& d) { d.tiers[0].maint_amount = 1; }));
  EXPECT_FALSE(with([](D& d) { d.tiers[1].maint_amount = 500'000'001; }));  // MM would jump
  EXPECT_FALSE(with([](D& d) { d.tiers[2].maint_amount = 15'499'999'999; }));
  EXPECT_FALSE(with([](D& d) { d.tier_count = 9; }));
}

// ---------------------------------------------------------------------------------------------
// Mark price

TEST(MarkPrice, MedianOfIndexAndBookClampedByTheBand) {
  MarkInputs in{1'000'000, 999'000, 1'001'000, 0, 1'000'000, 1, 2'000'000};
  EXPECT_EQ(mark_price(in), 1'000'000);  // index between bid and ask
  in.bid = 1'002'000, in.ask = 1'004'000;
  EXPECT_EQ(mark_price(in), 1'002'000);  // book above the index: the bid is the median
  in.bid = 1'020'000, in.ask = 1'030'000;
  EXPECT_EQ(mark_price(in), 1'010'000);  // thin book far above: clamped at index + 1%
  in.bid = 970'000, in.ask = 980'000;
  EXPECT_EQ(mark_price(in), 990'000);    // and at index - 1%
  in.band = 0;
  EXPECT_EQ(mark_price(in), 980'000);    // no band: the median
  in.ask = 0;
  EXPECT_EQ(mark_price(in), 1'000'000);  // one side only: the index
  in.band = 333;  // d = floor(1e6 * 333 / 1e8) = 3
  in.bid = 990'000, in.ask = 995'000;
  EXPECT_EQ(mark_price(in), 999'997);
}

TEST(MarkPrice, WithoutAnIndexTheLastTradeElseNone) {
  MarkInputs in{0, 999'000, 1'001'000, 0, 1'000'000, 1, 2'000'000};
  EXPECT_EQ(mark_price(in), 0);
  in.last = 1'000'500;
  EXPECT_EQ(mark_price(in), 1'000'500);
}

TEST(MarkPrice, StaysInsideTheBooksRange) {
  MarkInputs in{5'000'000, 0, 0, 0, 0, 100, 2'000'000};
  EXPECT_EQ(mark_price(in), 2'000'000);
  in.index = 50;
  EXPECT_EQ(mark_price(in), 100);
}

// ---------------------------------------------------------------------------------------------
// The engine

const char* reject_name(RejectReason r) {
  switch (r) {
    case RejectReason::InsufficientMargin: return "insufficient_margin";
    case RejectReason::InsufficientFunds: return "insufficient_funds";
    case RejectReason::ReduceOnlyWouldIncrease: return "reduce_only_would_increase";
    case RejectReason::NotionalOverflow: return "notional_overflow";
    case RejectReason::InvalidSettings: return "invalid_settings";
    case RejectReason::InvalidInstrument: return "invalid_instrument";
    default: return "other";
  }
}

std::string render(const EventView& ev) {
  switch (ev.type()) {
    case MsgType::OrderAccepted: return "accepted " + s(static_cast<std::int64_t>(ev.as<wire::OrderAccepted>().order_id));
    case MsgType::Rejected: {
      const auto& m = ev.as<wire::Rejected>();
      return "rejected " + s(static_cast<std::int64_t>(m.id)) + " " + reject_name(m.reason);
    }
    case MsgType::OrderCancelled: {
      const auto& m = ev.as<wire::OrderCancelled>();
      return "cancelled " + s(static_cast<std::int64_t>(m.order_id)) + " qty=" + s(m.cancelled_qty) +
             (m.reason == wire::CancelReason::ReduceOnly      ? " reduce_only"
              : m.reason == wire::CancelReason::FokNotFilled ? " fok_not_filled"
                                                              : " other");
    }
    case MsgType::Fill: {
      const auto& m = ev.as<wire::Fill>();
      return "fill " + s(m.maker_account) + "<-" + s(m.taker_account) + " " + s(m.qty) + "@" + s(m.price) +
             " fees=" + s(m.maker_fee) + "/" + s(m.taker_fee);
    }
    case MsgType::PositionUpdate: {
      const auto& m = ev.as<wire::PositionUpdate>();
      return "position " + s(m.account) + " size=" + s(m.size) + " entry=" + s(m.entry_value) +
             " pnl=" + s(m.realized_pnl);
    }
    case MsgType::MarginUpdate: {
      const auto& m = ev.as<wire::MarginUpdate>();
      return "margin " + s(m.account) + " c=" + s(m.collateral) + " eq=" + s(m.equity) +
             " im=" + s(m.initial_margin) + " mm=" + s(m.maintenance_margin);
    }
    case MsgType::MarkPrice: {
      const auto& m = ev.as<wire::MarkPrice>();
      return "mark " + s(m.instrument) + " " + s(m.mark) + " index=" + s(m.index) + " last=" + s(m.last);
    }
    case MsgType::FundingPayment: {
      const auto& m = ev.as<wire::FundingPayment>();
      return "funding " + s(m.account) + " pos=" + s(m.position) + " amount=" + s(m.amount);
    }
    case MsgType::InsuranceFund: {
      const auto& m = ev.as<wire::InsuranceFund>();
      return "insurance delta=" + s(m.delta) + " bal=" + s(m.balance) +
             (m.reason == wire::InsuranceReason::FundingRemainder ? " funding_remainder" : " other");
    }
    case MsgType::BalanceChange: {
      const auto& m = ev.as<wire::BalanceChange>();
      return "balance " + s(m.account) + " delta=" + s(m.delta) + " bal=" + s(m.balance);
    }
    default: return "";  // book market data: engine_test covers it
  }
}

EngineConfig config() {
  EngineConfig c;
  c.max_instruments = 4;
  c.max_accounts = 16;
  c.max_orders = 256;
  c.max_levels_per_book = 1u << 20;
  c.max_positions = 64;
  c.liquidation = false;  // the margin engine alone: accounts below maintenance stay flagged
  return c;
}

constexpr AccountId A = 1, B = 2, C = 3, D = 4;
constexpr auto Buy = Side::Buy;
constexpr auto Sell = Side::Sell;
constexpr Money kUsd = 1'000'000;  // micros

class MarginEngineTest : public ::testing::Test {
 protected:
  MarginEngineTest() : eng(config()) {}

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
    return r;
  }
  template <class T>
  void quiet(T m) {
    send(m);
  }

  static wire::NewOrder lim(OrderId id, AccountId a, Side side, Price p, Qty q, InstrumentId inst = 0,
                            TimeInForce tif = TimeInForce::GTC) {
    return t::limit(0, 0, id, a, inst, side, p, q, tif);
  }
  static wire::NewOrder ro(OrderId id, AccountId a, Side side, Price p, Qty q, InstrumentId inst = 0) {
    auto o = lim(id, a, side, p, q, inst);
    o.flags = order_flags::kReduceOnly;
    return o;
  }
  void deposit(AccountId a, Money amount) { ASSERT_EQ(send(t::deposit(0, 0, a, amount, ++transfer)).size(), 2u); }

  Engine eng;
  EventBuffer out;
  SeqNo seq = 0;
  Timestamp ts = 1'000'000;
  std::uint64_t transfer = 0;
};

// docs/margin.md, "A fill": open, increase, reduce (the worked example), close and flip, with
// fees on every fill (maker rebate rounded down, taker fee rounded up).
TEST_F(MarginEngineTest, FillsOpenReduceAndFlipWithRealizedPnlAndFees) {
  ASSERT_EQ(send(btc()), Lines{});
  for (AccountId a : {A, B, C, D}) deposit(a, 1'000'000 * kUsd);
  EXPECT_EQ(send(t::index_price(0, 0, 0, 1'000'000)), Lines{"mark 0 1000000 index=1000000 last=0"});

  // B rests 2 BTC at 100,000; A takes them: V = 1e6 * 2000 * 100 = 200,000 USD.
  // Maker rebate floor(2e11 * 1e4 / 1e8) = 20 USD, taker fee ceil(2e11 * 5e4 / 1e8) = 100 USD.
  // IM: W = 200,000 USD is in tier 1 (2%): 4,000 USD. MM: 1% - 500 = 1,500 USD.
  EXPECT_EQ(send(lim(1, B, Sell, 1'000'000, 2000)),
            (Lines{"accepted 1", "margin 2 c=1000000000000 eq=1000000000000 im=4000000000 mm=0"}));
  EXPECT_EQ(send(lim(2, A, Buy, 1'000'000, 2000)),
            (Lines{"accepted 2", "fill 2<-1 2000@1000000 fees=-20000000/100000000",
                   "position 2 size=-2000 entry=-200000000000 pnl=0", "position 1 size=2000 entry=200000000000 pnl=0",
                   "margin 1 c=999900000000 eq=999900000000 im=4000000000 mm=1500000000",
                   "margin 2 c=1000020000000 eq=1000020000000 im=4000000000 mm=1500000000"}));

  // The worked example: long 2 BTC with E = 200,000 USD sells 0.5 at 110,000:
  // R = 50,000, Vc = 55,000, r = +5,000 USD. A is the maker: rebate floor(5.5e10 * 1e-4) = 5.5 USD.
  EXPECT_EQ(send(lim(3, A, Sell, 1'100'000, 500)).front(), "accepted 3");
  EXPECT_EQ(send(lim(4, C, Buy, 1'100'000, 500)),
            (Lines{"accepted 4", "fill 1<-3 500@1100000 fees=-5500000/27500000",
                   "position 1 size=1500 entry=150000000000 pnl=5000000000",
                   "position 3 size=500 entry=55000000000 pnl=0",
                   // A: C = 999,900 + 5,000 + 5.5; mark 100,000: U = 150,000 - 150,000 = 0.
                   "margin 1 c=1004905500000 eq=1004905500000 im=3000000000 mm=1000000000",
                   // C: U = 50,000 - 55,000 = -5,000 USD; IM 1% of 50,000.
                   "margin 3 c=999972500000 eq=994972500000 im=500000000 mm=250000000"}));

  // B (short 2, E = -200,000) buys 3 at 90,000 from D: closes 2 (Vc = 180,000, r = +20,000)
  // and opens 1 long with E = 270,000 - 180,000 = 90,000.
  EXPECT_EQ(send(lim(5, D, Sell, 900'000, 3000)).front(), "accepted 5");
  const Lines flip = send(lim(6, B, Buy, 900'000, 3000));
  ASSERT_GE(flip.size(), 4u);
  EXPECT_EQ(flip[1], "fill 4<-2 3000@900000 fees=-27000000/135000000");
  EXPECT_EQ(flip[2], "position 4 size=-3000 entry=-270000000000 pnl=0");
  EXPECT_EQ(flip[3], "position 2 size=1000 entry=90000000000 pnl=20000000000");

  // A closes its 1.5 BTC at 90,000 against a fresh bid: R = E = 150,000, r = 135,000 - 150,000.
  EXPECT_EQ(send(lim(7, D, Buy, 900'000, 1500)).front(), "accepted 7");
  const Lines close = send(lim(8, A, Sell, 900'000, 1500, 0, TimeInForce::IOC));
  ASSERT_GE(close.size(), 4u);
  EXPECT_EQ(close[3], "position 1 size=0 entry=0 pnl=-15000000000");

  // Money conservation (docs/margin.md): deposits = sum (C - E) + F.
  const MarginTotals tot = eng.totals();
  i128 sum = 0;
  for (AccountId a : eng.active_accounts()) {
    const AccountView v = eng.account(a);
    sum += v.collateral;
    for (const PositionView& p : v.positions) sum -= p.entry_value;
  }
  EXPECT_EQ(sum + tot.fees_collected, tot.deposits - tot.withdrawals);
  // Longs: B 1 BTC and C 0.5; D is short 1.5.
  EXPECT_EQ(eng.instrument_totals(0).open_interest, 1500);
  EXPECT_EQ(eng.instrument_totals(0).holders, 3u);
}

// Fees when the value is not a whole number of micros (m = -1): charges round up, rebates down.
TEST_F(MarginEngineTest, FeeRoundingAgainstTheAccountWithANegativeExponent) {
  auto eth = t::instrument(0, 0, 1, 1, 1, 3'000'000, 3'900'000, 1'000'000);
  eth.price_decimals = 3;  // 3400.125 is 3'400'125
  eth.qty_decimals = 4;    // m = 6 - 3 - 4 = -1
  eth.maker_fee = -10'000;
  eth.taker_fee = 50'000;
  ASSERT_EQ(send(eth), Lines{});
  // 0.0007 ETH at 3400.125: V = floor(23'800'875 / 10) = 2'380'087 micros.
  // Taker ceil(1190.0435) = 1191; maker rebate floor(238.0087) = 238.
  EXPECT_EQ(send(lim(1, B, Sell, 3'400'125, 7, 1)).front(), "accepted 1");
  const Lines l = send(lim(2, A, Buy, 3'400'125, 7, 1));
  ASSERT_GE(l.size(), 4u);
  EXPECT_EQ(l[1], "fill 2<-1 7@3400125 fees=-238/1191");
  EXPECT_EQ(l[2], "position 2 size=-7 entry=-2380087 pnl=0");
  EXPECT_EQ(l[3], "position 1 size=7 entry=2380087 pnl=0");
  // No index: the mark is the last trade. The long's value rounds down (U = 0), the short's
  // up (U = -1): unrealized PnL never creates money.
  EXPECT_EQ(l[4], "margin 1 c=-1191 eq=-1191 im=0 mm=0");
  EXPECT_EQ(l[5], "margin 2 c=238 eq=237 im=0 mm=0");
  EXPECT_EQ(l[6], "mark 1 3400125 index=0 last=3400125");
  EXPECT_EQ(eng.totals().fees_collected, 1191 - 238);
  EXPECT_EQ(eng.instrument_totals(1).fees, 953);
}

// docs/margin.md, "Pre-trade risk": IMR <= equity, exactly at the limit and one micro short.
TEST_F(MarginEngineTest, PreTradeAcceptsUpToEquityExactly) {
  ASSERT_EQ(send(btc()), Lines{});
  quiet(t::index_price(0, 0, 0, 1'000'000));
  // 1 BTC at 100,000 is W = 100,000 USD: tier 0, IM 1,000 USD.
  deposit(A, 1'000 * kUsd - 1);
  EXPECT_EQ(send(lim(1, A, Buy, 1'000'000, 1000)), Lines{"rejected 1 insufficient_margin"});
  deposit(A, 1);
  EXPECT_EQ(send(lim(1, A, Buy, 1'000'000, 1000)),
            (Lines{"accepted 1", "margin 1 c=1000000000 eq=1000000000 im=1000000000 mm=0"}));
  // A sell of 0.999 at 100,010 (99,909.99 USD) leaves W = max(|0 + 1e11|, |0 - 9.990999e10|)
  // unchanged: IM did not increase, so it is accepted at the limit.
  EXPECT_EQ(send(lim(2, A, Sell, 1'000'100, 999)),
            (Lines{"accepted 2", "margin 1 c=1000000000 eq=1000000000 im=1000000000 mm=0"}));
  // One more unit on the bid side raises W past equity's reach.
  EXPECT_EQ(send(lim(3, A, Buy, 500'000, 1)), Lines{"rejected 3 insufficient_margin"});
  // A stop-market counts at its trigger; a market order at its effective limit (no band:
  // max_price 150,000 for a buy, 0.001 BTC = 150 USD, IM 1.5 USD).
  EXPECT_EQ(send(t::stop_market(0, 0, 4, A, 0, Buy, 1'200'000, 1)), Lines{"rejected 4 insufficient_margin"});
  EXPECT_EQ(send(t::market(0, 0, 5, A, 0, Buy, 1)), Lines{"rejected 5 insufficient_margin"});
  // Cancelling the bid frees the margin.
  quiet(t::cancel(0, 0, 1, A, 0));
  EXPECT_EQ(eng.account(A).initial_margin, 999'099'900);  // the ask alone: 1% of 99,909.99 USD
}

TEST_F(MarginEngineTest, ExposureReducingOrdersAreAlwaysAllowed) {
  ASSERT_EQ(send(btc()), Lines{});
  quiet(t::index_price(0, 0, 0, 1'000'000));
  deposit(A, 1'100 * kUsd);
  deposit(B, 100'000 * kUsd);
  quiet(lim(1, B, Sell, 1'000'000, 1000));
  quiet(lim(2, A, Buy, 1'000'000, 1000));  // A long 1 BTC, C = 1,100 - 50 fee
  // The index falls 5%: equity 1,050 - 5,000 < 0 < IMR.
  quiet(t::index_price(0, 0, 0, 950'000));
  EXPECT_LT(eng.account(A).equity, 0);
  EXPECT_EQ(send(lim(3, A, Buy, 950'000, 1)), Lines{"rejected 3 insufficient_margin"});
  // A sell that shrinks W is accepted though the account is under water.
  EXPECT_EQ(send(lim(4, A, Sell, 960'000, 500)).front(), "accepted 4");
  // Selling more than the position would turn W the other way and grow it past 1 BTC: rejected.
  EXPECT_EQ(send(lim(5, A, Sell, 960'000, 1600)), Lines{"rejected 5 insufficient_margin"});
}

// The last tier's max_notional caps W: 50 BTC at 100,000 is exactly 5M USD.
TEST_F(MarginEngineTest, WorstCaseBeyondTheLastTierIsRejected) {
  ASSERT_EQ(send(btc()), Lines{});
  quiet(t::index_price(0, 0, 0, 1'000'000));
  deposit(A, 1'000'000 * kUsd);
  EXPECT_EQ(send(lim(1, A, Buy, 1'000'000, 50'000)),
            (Lines{"accepted 1", "margin 1 c=1000000000000 eq=1000000000000 im=250000000000 mm=0"}));
  EXPECT_EQ(send(lim(2, A, Buy, 1'000'000, 1)), Lines{"rejected 2 insufficient_margin"});
  // Cancel and place 50.001 at once: also beyond.
  quiet(t::cancel(0, 0, 1, A, 0));
  EXPECT_EQ(send(lim(3, A, Buy, 1'000'000, 50'001)), Lines{"rejected 3 insufficient_margin"});
}

TEST_F(MarginEngineTest, NotionalOverflowBoundsWhatAPositionCanReach) {
  auto d = t::instrument(0, 0, 2, 1, 1, 1, 1'000'000, std::numeric_limits<Qty>::max() / 2);
  ASSERT_EQ(send(d), Lines{});  // pd 0, qd 0: a unit is one quote
  // value(max_price 1e6, q) = q * 1e12 micros must stay within 2^62: q <= 4'611'686.
  EXPECT_EQ(send(lim(1, A, Buy, 1, 4'611'686, 2)).front(), "accepted 1");
  EXPECT_EQ(send(lim(2, A, Buy, 1, 1, 2)), Lines{"rejected 2 notional_overflow"});
  EXPECT_EQ(send(lim(3, A, Sell, 1, 4'611'687, 2)), Lines{"rejected 3 notional_overflow"});
}

// docs/margin.md, "Reduce-only": against the position only, and cancelled newest first when
// the position shrinks below them.
TEST_F(MarginEngineTest, ReduceOnlyAcceptedAgainstThePositionAndCancelledNewestFirst) {
  ASSERT_EQ(send(btc()), Lines{});
  quiet(t::index_price(0, 0, 0, 1'000'000));
  for (AccountId a : {A, B, C}) deposit(a, 1'000'000 * kUsd);
  EXPECT_EQ(send(ro(1, A, Sell, 1'010'000, 1)), Lines{"rejected 1 reduce_only_would_increase"});  // flat
  quiet(lim(2, B, Sell, 1'000'000, 2000));
  quiet(lim(3, A, Buy, 1'000'000, 2000));  // A long 2
  EXPECT_EQ(send(ro(4, A, Buy, 990'000, 1)), Lines{"rejected 4 reduce_only_would_increase"});  // wrong side
  EXPECT_EQ(send(ro(5, A, Sell, 1'010'000, 1000)).front(), "accepted 5");
  EXPECT_EQ(send(ro(6, A, Sell, 1'020'000, 1000)).front(), "accepted 6");
  EXPECT_EQ(send(ro(7, A, Sell, 1'030'000, 1)), Lines{"rejected 7 reduce_only_would_increase"});  // 2 + 0.001 > 2
  // Reduce-only orders count nothing in W: A's IMR is its position's alone (tier 1: 2% of 200k).
  EXPECT_EQ(eng.account(A).initial_margin, 4'000'000'000);
  // A plain sell of 1 fills: the position (1) no longer covers 2 of reduce-only sells; the
  // newest (6) goes.
  quiet(lim(8, C, Buy, 1'000'000, 1000));
  const Lines l = send(lim(9, A, Sell, 1'000'000, 1000));
  EXPECT_EQ(l[0], "accepted 9");
  EXPECT_EQ(l[1], "fill 3<-1 1000@1000000 fees=-10000000/50000000");
  EXPECT_EQ(l[3], "position 1 size=1000 entry=100000000000 pnl=0");
  EXPECT_EQ(l[4], "cancelled 6 qty=1000 reduce_only");
  EXPECT_EQ(eng.account(A).positions[0].reduce_only, 1000);
  // A modify of a reduce-only order is checked the same way.
  EXPECT_EQ(send(t::modify(0, 0, 5, A, 0, 1'010'000, 1001)), Lines{"rejected 5 reduce_only_would_increase"});
  // The reduce-only order itself fills: it reduces and stays within the position.
  const Lines f = send(lim(10, C, Buy, 1'010'000, 1000, 0, TimeInForce::IOC));
  EXPECT_EQ(f[2], "position 1 size=0 entry=0 pnl=1000000000");
  EXPECT_EQ(eng.account(A).positions.size(), 0u);  // record released
}

TEST_F(MarginEngineTest, AFlipCancelsEveryReduceOnlyOrder) {
  ASSERT_EQ(send(btc()), Lines{});
  quiet(t::index_price(0, 0, 0, 1'000'000));
  for (AccountId a : {A, B, C}) deposit(a, 1'000'000 * kUsd);
  quiet(lim(1, B, Sell, 1'000'000, 1000));
  quiet(lim(2, A, Buy, 1'000'000, 1000));  // A long 1
  EXPECT_EQ(send(ro(3, A, Sell, 1'050'000, 400)).front(), "accepted 3");
  EXPECT_EQ(send(ro(4, A, Sell, 1'060'000, 600)).front(), "accepted 4");
  quiet(lim(5, C, Buy, 990'000, 3000));
  const Lines l = send(lim(6, A, Sell, 990'000, 3000, 0, TimeInForce::IOC));  // to short 2
  EXPECT_EQ(l[3], "position 1 size=-2000 entry=-198000000000 pnl=-1000000000");
  EXPECT_EQ(l[4], "cancelled 4 qty=600 reduce_only");
  EXPECT_EQ(l[5], "cancelled 3 qty=400 reduce_only");
}

// FOK is all-or-nothing against the book at arrival: reduce-only orders that the sweep's own
// earlier fills cancel are not liquidity it can count on.
TEST_F(MarginEngineTest, FokCountsOnlyTheReduceOnlyOrdersItsSweepLeaves) {
  ASSERT_EQ(send(btc()), Lines{});
  quiet(t::index_price(0, 0, 0, 1'000'000));
  for (AccountId a : {A, B, C}) deposit(a, 1'000'000 * kUsd);
  quiet(lim(1, B, Sell, 1'000'000, 2000));
  quiet(lim(2, A, Buy, 1'000'000, 2000));                  // A long 2
  quiet(ro(3, A, Sell, 1'020'000, 1000));                  // older, worse price
  quiet(ro(4, A, Sell, 1'010'000, 1000));                  // newer, better price
  quiet(lim(5, A, Sell, 1'000'000, 1000));                 // plain
  // Filling 5 leaves A long 1: 4 (the newest) is cancelled, 3 still fits. 3 lots are on the
  // book but only 2 can fill.
  EXPECT_EQ(send(lim(6, C, Buy, 1'020'000, 3000, 0, TimeInForce::FOK)),
            (Lines{"accepted 6", "cancelled 6 qty=3000 fok_not_filled",
                   "margin 3 c=1000000000000 eq=1000000000000 im=0 mm=0"}));
  const Lines l = send(lim(7, C, Buy, 1'020'000, 2000, 0, TimeInForce::FOK));
  const Lines fills_and_cancels = [&] {
    Lines x;
    for (const std::string& s : l)
      if (s.rfind("fill", 0) == 0 || s.rfind("cancelled", 0) == 0) x.push_back(s);
    return x;
  }();
  EXPECT_EQ(fills_and_cancels, (Lines{"fill 1<-3 1000@1000000 fees=-10000000/50000000", "cancelled 4 qty=1000 reduce_only",
                                      "fill 1<-3 1000@1020000 fees=-10200000/51000000"}));
  EXPECT_EQ(eng.account(A).positions.size(), 0u);  // flat
}

// docs/margin.md, "Withdrawal": amount <= min(C, equity) - IMR.
TEST_F(MarginEngineTest, WithdrawalUpToFreeCollateral) {
  ASSERT_EQ(send(btc()), Lines{});
  quiet(t::index_price(0, 0, 0, 1'000'000));
  deposit(A, 10'000 * kUsd);
  deposit(B, 100'000 * kUsd);
  quiet(lim(1, B, Sell, 1'000'000, 1000));
  quiet(lim(2, A, Buy, 1'000'000, 1000));  // C = 9,950; IMR 1,000
  quiet(t::index_price(0, 0, 0, 1'020'000));  // U = +2,000: equity 11,950 > C
  const AccountView v = eng.account(A);
  EXPECT_EQ(v.collateral, 9'950 * kUsd);
  EXPECT_EQ(v.equity, 11'950 * kUsd);
  EXPECT_EQ(v.initial_margin, 2'040 * kUsd);  // W = 102,000 USD: tier 1, 2%
  // Free: min(9,950, 11,950) - 2,040 = 7,910 USD.
  EXPECT_EQ(send(t::withdrawal(0, 0, A, 7'910 * kUsd + 1, 7)), Lines{"rejected 7 insufficient_funds"});
  EXPECT_EQ(send(t::withdrawal(0, 0, A, 7'910 * kUsd, 8)),
            (Lines{"balance 1 delta=-7910000000 bal=2040000000",
                   "margin 1 c=2040000000 eq=4040000000 im=2040000000 mm=520000000"}));
  // Unrealized profit is not withdrawable; with a loss, equity is the limit.
  quiet(t::index_price(0, 0, 0, 980'000));  // U = -2,000: equity 40 < IMR 980
  EXPECT_EQ(send(t::withdrawal(0, 0, A, 1, 9)), Lines{"rejected 9 insufficient_funds"});
}

// docs/margin.md, "Funding": payers round up, receivers down, the remainder to the fund.
TEST_F(MarginEngineTest, FundingInAscendingAccountOrderWithTheRemainderToTheInsuranceFund) {
  auto eth = t::instrument(0, 0, 1, 1, 1, 3'000'000, 3'900'000, 1'000'000);
  eth.price_decimals = 3;
  eth.qty_decimals = 4;  // m = -1
  ASSERT_EQ(send(eth), Lines{});
  quiet(t::index_price(0, 0, 1, 3'400'125));
  quiet(lim(1, C, Sell, 3'400'125, 4, 1));
  quiet(lim(2, B, Sell, 3'400'125, 3, 1));
  quiet(lim(3, A, Buy, 3'400'125, 7, 1));  // A long 7; C short 4, B short 3
  // f = 1% of 0.0007 ETH at 3400.125: A pays ceil(23,800.875) = 23,801 micros; B receives
  // floor(10,200.375) = 10,200; C floor(13,600.5) = 13,600; the fund keeps 1. (B's short is
  // valued up: E = -1,020,037, value 1,020,038, so its equity is 1 below its collateral.)
  EXPECT_EQ(send(t::funding_rate(0, 0, 1, 1'000'000)),
            (Lines{"funding 1 pos=7 amount=-23801", "funding 2 pos=-3 amount=10200", "funding 3 pos=-4 amount=13600",
                   "insurance delta=1 bal=1 funding_remainder", "margin 1 c=-23801 eq=-23801 im=0 mm=0",
                   "margin 2 c=10200 eq=10199 im=0 mm=0", "margin 3 c=13600 eq=13600 im=0 mm=0"}));
  // Negative rate: shorts pay (rounded up), longs receive (rounded down).
  EXPECT_EQ(send(t::funding_rate(0, 0, 1, -1'000'000)),
            (Lines{"funding 1 pos=7 amount=23800", "funding 2 pos=-3 amount=-10201", "funding 3 pos=-4 amount=-13601",
                   "insurance delta=2 bal=3 funding_remainder", "margin 1 c=-1 eq=-1 im=0 mm=0",
                   "margin 2 c=-1 eq=-2 im=0 mm=0", "margin 3 c=-1 eq=-1 im=0 mm=0"}));
  const MarginTotals tot = eng.totals();
  EXPECT_EQ(tot.insurance_fund, 3);
  EXPECT_EQ(tot.funding_paid, 23'801 + 10'201 + 13'601);
  EXPECT_EQ(tot.funding_received, 10'200 + 13'600 + 23'800);
  // A zero rate still reports every holder.
  EXPECT_EQ(send(t::funding_rate(0, 0, 1, 0)).size(), 6u);
}

// Enough holders for the radix sort of the payment order (one, two and three passes over the
// account bits): payments and MarginUpdates in ascending account order whatever the order
// the records were created in, each holder once.
TEST(MarginFunding, ManyHoldersPaidInAscendingAccountOrder) {
  for (const std::uint32_t max_accounts : {1u << 10, 1u << 20, 1u << 24}) {
    SCOPED_TRACE(max_accounts);
    EngineConfig c;
    c.max_instruments = 1;
    c.max_accounts = max_accounts;
    c.max_orders = 4096;
    c.max_levels_per_book = 1u << 12;
    c.max_positions = 4096;
    c.liquidation = false;
    Engine eng(c);
    EventBuffer out;
    SeqNo seq = 0;
    Timestamp ts = 1'000'000;
    const auto send = [&](auto m) {
      m.header.seq = ++seq;
      m.header.ts_ns = (ts += 1000);
      out.clear();
      eng.process(m, out);
    };
    send(t::instrument(0, 0, 0, 1, 1, 1, 4000, 1'000'000));
    // Account 0 sells to every holder, which buy in a scrambled order of their accounts.
    const std::uint32_t holders = std::min<std::uint32_t>(max_accounts - 1, 3000);
    send(t::limit(0, 0, 1, 0, 0, Side::Sell, 500, holders * 2));
    std::vector<AccountId> expected{0};
    for (std::uint32_t k = 0; k < holders; ++k) {
      const auto a = static_cast<AccountId>(1 + (std::uint64_t{k} * 2'654'435'761u) % (max_accounts - 1));
      if (std::find(expected.begin(), expected.end(), a) != expected.end()) continue;
      expected.push_back(a);
      send(t::limit(0, 0, 2 + k, a, 0, Side::Buy, 500, 1 + k % 3));
    }
    std::sort(expected.begin(), expected.end());
    ASSERT_GT(expected.size(), 600u);
    send(t::funding_rate(0, 0, 0, 1'000'000));
    std::vector<AccountId> paid, reported;
    EventReader reader(out.bytes());
    for (EventView ev; reader.next(ev);) {
      if (ev.type() == MsgType::FundingPayment) paid.push_back(ev.as<wire::FundingPayment>().account);
      if (ev.type() == MsgType::MarginUpdate) reported.push_back(ev.as<wire::MarginUpdate>().account);
    }
    EXPECT_EQ(paid, expected);
    EXPECT_EQ(reported, expected);
  }
}

// docs/margin.md, "Isolated margin".
TEST_F(MarginEngineTest, IsolatedMarginMovesWithThePosition) {
  ASSERT_EQ(send(btc()), Lines{});
  quiet(t::index_price(0, 0, 0, 1'000'000));
  deposit(A, 10'000 * kUsd);
  deposit(B, 100'000 * kUsd);
  deposit(C, 100'000 * kUsd);
  EXPECT_EQ(send(t::account_settings(0, 0, A, 0, wire::MarginMode::Isolated)), Lines{});
  // Pre-trade for an isolated instrument: IMR <= min(C, equity).
  quiet(lim(1, B, Sell, 1'000'000, 1000));
  EXPECT_EQ(send(lim(2, A, Buy, 1'000'000, 1000, 0, TimeInForce::IOC)),
            (Lines{"accepted 2", "fill 2<-1 1000@1000000 fees=-10000000/50000000",
                   "position 2 size=-1000 entry=-100000000000 pnl=0", "position 1 size=1000 entry=100000000000 pnl=0",
                   // 1% of 100,000 moved into B: C = 10,000 - 1,000 - 50 fee. The position's
                   // own requirement is covered by B: it adds nothing to IMR; cross MM is 0.
                   "margin 1 c=8950000000 eq=8950000000 im=0 mm=0",
                   "margin 2 c=100010000000 eq=100010000000 im=1000000000 mm=500000000"}));
  AccountView v = eng.account(A);
  ASSERT_EQ(v.positions.size(), 1u);
  EXPECT_TRUE(v.positions[0].isolated);
  EXPECT_EQ(v.positions[0].isolated_margin, 1'000 * kUsd);
  // The mode cannot change while the position is open.
  EXPECT_EQ(send(t::account_settings(0, 0, A, 0, wire::MarginMode::Cross)), Lines{"rejected 0 invalid_settings"});
  // Half closed at 101,000: share B * 500 / 1000 = 500 USD back, r = +500 USD.
  quiet(lim(3, C, Buy, 1'010'000, 500));
  const Lines l = send(lim(4, A, Sell, 1'010'000, 500, 0, TimeInForce::IOC));
  ASSERT_GE(l.size(), 5u);
  EXPECT_EQ(l[3], "position 1 size=500 entry=50000000000 pnl=500000000");
  // C = 8,950 + 500 (share) + 500 (pnl) - 25.25 (taker fee on 50,500).
  EXPECT_EQ(l[4], "margin 1 c=9924750000 eq=9924750000 im=0 mm=0");
  v = eng.account(A);
  EXPECT_EQ(v.positions[0].isolated_margin, 500 * kUsd);
  // Isolated equity B + U = 500 USD against MM 0.5% of 50,000 = 250: above.
  EXPECT_FALSE(v.positions[0].below_maintenance);
  // The index falls 0.6%: U = -300, B + U = 200 < MM 248.5: the position alone is below.
  quiet(t::index_price(0, 0, 0, 994'000));
  v = eng.account(A);
  EXPECT_TRUE(v.positions[0].below_maintenance);
  EXPECT_FALSE(v.below_maintenance);
  // A flip releases the whole B first.
  quiet(lim(5, C, Buy, 994'000, 1000));
  const Lines f = send(lim(6, A, Sell, 994'000, 1000, 0, TimeInForce::IOC));
  ASSERT_GE(f.size(), 4u);
  EXPECT_EQ(f[3], "position 1 size=-500 entry=-49700000000 pnl=-300000000");
  // New IM of the short half at 99,400: 1% of 49,700 = 497 USD.
  EXPECT_EQ(eng.account(A).positions[0].isolated_margin, 497 * kUsd);
}

TEST_F(MarginEngineTest, AccountDefaultModeChangesOnlyWithoutPositionsOrOrders) {
  ASSERT_EQ(send(btc()), Lines{});
  deposit(A, 10'000 * kUsd);
  EXPECT_EQ(send(t::account_settings(0, 0, A, kAllInstruments, wire::MarginMode::Isolated)), Lines{});
  EXPECT_TRUE(eng.account(A).isolated_default);
  quiet(lim(1, A, Buy, 1'000'000, 10));
  ASSERT_EQ(eng.account(A).positions.size(), 1u);
  EXPECT_TRUE(eng.account(A).positions[0].isolated);
  EXPECT_EQ(send(t::account_settings(0, 0, A, kAllInstruments, wire::MarginMode::Cross)),
            Lines{"rejected 0 invalid_settings"});
  quiet(t::cancel(0, 0, 1, A, 0));
  EXPECT_EQ(send(t::account_settings(0, 0, A, kAllInstruments, wire::MarginMode::Cross,
                                     wire::AccountRole::Backstop)),
            Lines{});
  EXPECT_FALSE(eng.account(A).isolated_default);
  EXPECT_TRUE(eng.account(A).backstop);
}

// docs/margin.md, "Mark price": published with index and last whenever mark or index moves.
TEST_F(MarginEngineTest, MarkPriceFollowsIndexAndBookWithinTheBand) {
  ASSERT_EQ(send(btc()), Lines{});
  deposit(A, 100'000 * kUsd);
  // Without an index or a trade there is no mark.
  EXPECT_EQ(eng.mark(0).mark, 0);
  EXPECT_EQ(send(t::index_price(0, 0, 0, 1'000'000)), Lines{"mark 0 1000000 index=1000000 last=0"});
  EXPECT_EQ(send(t::index_price(0, 0, 0, 1'000'000)), Lines{});  // nothing moved
  // A thin book far above the index: bid 102,000, ask 103,000; median 102,000, band 1% -> 101,000.
  quiet(lim(1, A, Buy, 1'020'000, 1));
  EXPECT_EQ(send(lim(2, A, Sell, 1'030'000, 1)),
            (Lines{"accepted 2", "margin 1 c=100000000000 eq=100000000000 im=1030000 mm=0",
                   "mark 0 1010000 index=1000000 last=0"}));
  EXPECT_EQ(send(t::index_price(0, 0, 0, 1'025'000)), Lines{"mark 0 1025000 index=1025000 last=0"});
  const MarkView mv = eng.mark(0);
  EXPECT_EQ(mv.mark, 1'025'000);
  EXPECT_EQ(mv.index, 1'025'000);
  EXPECT_EQ(mv.last, 0);
}

// docs/margin.md, "Maintenance watch": below maintenance is known after every event, and a
// mark move looks only at positions whose certified range it left.
TEST_F(MarginEngineTest, BelowMaintenanceFollowsTheMark) {
  ASSERT_EQ(send(btc()), Lines{});
  quiet(t::index_price(0, 0, 0, 1'000'000));
  deposit(A, 1'000 * kUsd);
  deposit(B, 100'000 * kUsd);
  quiet(lim(1, B, Sell, 1'000'000, 1000));
  quiet(lim(2, A, Buy, 1'000'000, 1000));  // A long 1 BTC: C = 950, MM = 500
  EXPECT_FALSE(eng.account(A).below_maintenance);
  // At 99,560: equity 950 - 440 = 510 >= MM 497.8.
  quiet(t::index_price(0, 0, 0, 995'600));
  EXPECT_FALSE(eng.account(A).below_maintenance);
  EXPECT_EQ(eng.totals().below_maintenance, 0u);
  // At 99,500: equity 450 < MM 497.5.
  quiet(t::index_price(0, 0, 0, 995'000));
  EXPECT_TRUE(eng.account(A).below_maintenance);
  EXPECT_EQ(eng.totals().below_maintenance, 1u);
  EXPECT_FALSE(eng.account(B).below_maintenance);
  quiet(t::index_price(0, 0, 0, 1'000'000));
  EXPECT_FALSE(eng.account(A).below_maintenance);
  EXPECT_EQ(eng.totals().below_maintenance, 0u);
}

// An account of one cross position (the one-record evaluation) exactly at its maintenance
// margin is not below it; one tick further it is. The mark walks there in steps while the
// account is touched at each one, so its watch range is kept or re-armed on the way.
TEST_F(MarginEngineTest, OneLongPositionAtMaintenanceExactlyIsNotBelow) {
  ASSERT_EQ(send(btc()), Lines{});
  quiet(t::index_price(0, 0, 0, 1'000'000));
  deposit(A, 1'000'038'500);
  deposit(B, 100'000 * kUsd);
  quiet(lim(1, B, Sell, 1'000'000, 1000));
  quiet(lim(2, A, Buy, 1'000'000, 1000));  // A long 1 BTC, C = 1,000.0385 - 50 fee
  OrderId id = 10;
  // Equity 950,038,500 + (p - 1e6) * 1e5 against MM ceil(500 p): equal at p = 995,477.
  for (Price p : {999'000, 997'000, 995'600, 995'478, 995'477}) {
    quiet(t::index_price(0, 0, 0, p));
    quiet(lim(++id, A, Sell, 1'400'000, 1));  // reduces: accepted, touches A
    const Lines l = send(t::cancel(0, 0, id, A, 0));
    ASSERT_EQ(l.size(), 2u);
    if (p == 995'477) {
      EXPECT_EQ(l[1], "margin 1 c=950038500 eq=497738500 im=995477000 mm=497738500");
    }
    EXPECT_FALSE(eng.account(A).below_maintenance) << p;
  }
  EXPECT_EQ(eng.account(A).equity, 497'738'500);
  EXPECT_EQ(eng.account(A).maintenance_margin, 497'738'500);
  quiet(t::index_price(0, 0, 0, 995'476));  // equity 497,638,500 < MM 497,738,000
  EXPECT_TRUE(eng.account(A).below_maintenance);
  EXPECT_EQ(eng.totals().below_maintenance, 1u);
  quiet(t::index_price(0, 0, 0, 995'477));
  EXPECT_FALSE(eng.account(A).below_maintenance);
  EXPECT_EQ(eng.totals().below_maintenance, 0u);
}

// The same for a short, above the first bracket (tier 1: 1% less 500 USD).
TEST_F(MarginEngineTest, OneShortPositionAtMaintenanceExactlyIsNotBelow) {
  ASSERT_EQ(send(btc()), Lines{});
  quiet(t::index_price(0, 0, 0, 1'000'000));
  deposit(A, 100'000 * kUsd);
  deposit(B, 1'000'056'000);
  quiet(lim(1, A, Buy, 1'000'000, 1000));
  quiet(lim(2, B, Sell, 1'000'000, 1000));  // B short 1 BTC, C = 1,000.056 - 50 fee
  OrderId id = 10;
  // Equity 950,056,000 + 1e11 - 1e5 p against MM 1000 p - 5e8: equal at p = 1,004,456.
  for (Price p : {1'001'000, 1'003'000, 1'004'400, 1'004'455, 1'004'456}) {
    quiet(t::index_price(0, 0, 0, p));
    quiet(lim(++id, B, Buy, 600'000, 1));
    const Lines l = send(t::cancel(0, 0, id, B, 0));
    ASSERT_EQ(l.size(), 2u);
    if (p == 1'004'456) {
      EXPECT_EQ(l[1], "margin 2 c=950056000 eq=504456000 im=2008912000 mm=504456000");
    }
    EXPECT_FALSE(eng.account(B).below_maintenance) << p;
  }
  quiet(t::index_price(0, 0, 0, 1'004'457));  // equity 504,356,000 < MM 504,457,000
  EXPECT_TRUE(eng.account(B).below_maintenance);
  quiet(t::index_price(0, 0, 0, 1'004'456));
  EXPECT_FALSE(eng.account(B).below_maintenance);
}

// A withdrawal shrinks the slack while the mark stays inside the armed range: the range is
// no longer certified and shrinks too, so a small move afterwards is caught.
TEST_F(MarginEngineTest, ALossOfSlackShrinksTheArmedRange) {
  ASSERT_EQ(send(btc()), Lines{});
  quiet(t::index_price(0, 0, 0, 1'000'000));
  deposit(A, 5'000 * kUsd);
  deposit(B, 100'000 * kUsd);
  quiet(lim(1, B, Sell, 1'000'000, 1000));
  quiet(lim(2, A, Buy, 1'000'000, 1000));  // armed from a slack of 4,450 USD
  ASSERT_EQ(send(t::withdrawal(0, 0, A, 3'000 * kUsd, ++transfer)).size(), 2u);  // slack 1,450
  // Equity 1,950,000,000 + (p - 1e6) * 1e5 against MM 500 p: equal at p = 985,427.1.
  quiet(t::index_price(0, 0, 0, 985'428));
  EXPECT_FALSE(eng.account(A).below_maintenance);
  quiet(t::index_price(0, 0, 0, 985'427));
  EXPECT_TRUE(eng.account(A).below_maintenance);
}

// The one-record evaluation against the general one: the same random stream through two
// engines, where in the second every account also rests an order on an unmargined
// instrument (a second record that changes no figure). Every output line and every flag
// must agree, cross and isolated, on either side of maintenance; the initial margin of the
// MarginUpdates too (the one-record IMR against the general sum), with resting orders on both
// sides and reduce-only orders.
TEST(MarginWatch, OneRecordAndGeneralEvaluationAgree) {
  EngineConfig c = config();
  c.max_orders = 4096;
  Engine fast(c), general(c);
  EventBuffer out;
  SeqNo seq = 0;
  const auto send = [&](Engine& e, auto m) {
    m.header.seq = ++seq;
    m.header.ts_ns = 1'000'000 + seq * 1000;
    out.clear();
    e.process(m, out);
    Lines r;
    EventReader reader(out.bytes());
    EventView ev;
    while (reader.next(ev))
      if (std::string l = render(ev); !l.empty()) r.push_back(l);
    return r;
  };
  const auto both = [&](auto m) {
    const Lines f = send(fast, m);
    --seq;
    const Lines g = send(general, m);
    EXPECT_EQ(f, g);
  };
  constexpr AccountId kAccounts = 8;
  both(btc());
  both(t::instrument(0, 0, 1, 1, 1, 1, 10'000, 1'000));  // no tiers
  both(t::index_price(0, 0, 0, 1'000'000));
  std::uint64_t x = 42;
  const auto next = [&](std::uint64_t n) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    return (x >> 33) % n;
  };
  for (AccountId a = 1; a <= kAccounts; ++a) {
    if (a % 3 == 0) both(t::account_settings(0, 0, a, 0, wire::MarginMode::Isolated));
    both(t::deposit(0, 0, a, static_cast<Money>(300 + next(3000)) * kUsd, a));
    send(general, t::limit(0, 0, 1'000'000 + a, a, 1, Side::Buy, 1, 1));
  }
  Price index = 1'000'000;
  OrderId id = 0;
  int below_steps = 0;
  for (int step = 0; step < 1500; ++step) {
    const auto k = next(10);
    const AccountId a = static_cast<AccountId>(1 + next(kAccounts));
    if (k < 3) {
      index = std::clamp<Price>(index + static_cast<Price>(next(8001)) - 4000, 900'000, 1'100'000);
      both(t::index_price(0, 0, 0, index));
    } else if (k < 6) {
      const Side side = next(2) ? Side::Buy : Side::Sell;
      const Price px = index + (side == Side::Buy ? -1 : 1) * static_cast<Price>(next(5000));
      both(t::limit(0, 0, ++id, a, 0, side, px, static_cast<Qty>(1 + next(3000))));
    } else if (k < 8) {
      const Side side = next(2) ? Side::Buy : Side::Sell;
      const Price px = index + (side == Side::Buy ? 1 : -1) * static_cast<Price>(next(20'000));
      both(t::limit(0, 0, ++id, a, 0, side, px, static_cast<Qty>(1 + next(3000)), TimeInForce::IOC));
    } else if (k < 9) {
      if (next(2)) {
        if (id > 0) both(t::cancel(0, 0, 1 + next(id), a, 0));
      } else {  // a resting reduce-only order (rejected when it faces no position)
        const Side side = next(2) ? Side::Buy : Side::Sell;
        const Price px = index + (side == Side::Buy ? -1 : 1) * static_cast<Price>(next(5000));
        auto o = t::limit(0, 0, ++id, a, 0, side, px, static_cast<Qty>(1 + next(1000)));
        o.flags = order_flags::kReduceOnly;
        both(o);
      }
    } else {
      both(t::deposit(0, 0, a, static_cast<Money>(next(200)) * kUsd, 100 + static_cast<std::uint64_t>(step)));
    }
    for (AccountId b = 1; b <= kAccounts; ++b)
      ASSERT_EQ(fast.account(b).below_maintenance, general.account(b).below_maintenance) << step << " " << b;
    ASSERT_EQ(fast.totals().below_maintenance, general.totals().below_maintenance) << step;
    below_steps += fast.totals().below_maintenance > 0;
  }
  // The stream reached both sides of maintenance.
  EXPECT_GT(below_steps, 100);
  EXPECT_LT(below_steps, 1400);
}

TEST_F(MarginEngineTest, UnmarginedInstrumentsStillCarryPositionsAndFees) {
  auto eq = t::instrument(0, 0, 2, 1, 1, 1, 10'000, 1'000);  // tier_count 0
  eq.taker_fee = 100'000;  // 0.1%
  ASSERT_EQ(send(eq), Lines{});
  quiet(lim(1, B, Sell, 100, 10, 2));
  EXPECT_EQ(send(lim(2, A, Buy, 100, 10, 2)),
            (Lines{"accepted 2", "fill 2<-1 10@100 fees=0/1000000", "position 2 size=-10 entry=-1000000000 pnl=0",
                   "position 1 size=10 entry=1000000000 pnl=0", "margin 1 c=-1000000 eq=-1000000 im=0 mm=0",
                   "margin 2 c=0 eq=0 im=0 mm=0", "mark 2 100 index=0 last=100"}));
}

// An order placed or cancelled moves only the IMR, and its MarginUpdate reuses the equity
// and MM of the account's last evaluation while they hold. They must not outlive a mark move
// on any instrument the account holds, nor new brackets (docs/margin.md, "Margin updates").
TEST_F(MarginEngineTest, AnOrderAloneReportsEquityAndMaintenanceAtTheCurrentMarks) {
  ASSERT_EQ(send(btc()), Lines{});
  ASSERT_EQ(send(btc(1)), Lines{});
  quiet(t::index_price(0, 0, 0, 1'000'000));
  quiet(t::index_price(0, 0, 1, 1'000'000));
  deposit(A, 10'000 * kUsd);
  deposit(B, 100'000 * kUsd);
  quiet(lim(1, B, Sell, 1'000'000, 1000));
  quiet(lim(2, A, Buy, 1'000'000, 1000));  // A long 1 BTC on instrument 0: C = 9,950
  // One record; the mark falls 440 after A's last evaluation: equity 9,510, MM 0.5% of 99,560.
  quiet(t::index_price(0, 0, 0, 995'600));
  // IMR: tier 2 (2%) of the worst case long, 99,560 + 90,000; then 1% of 99,560 again.
  EXPECT_EQ(send(lim(3, A, Buy, 900'000, 1000)),
            (Lines{"accepted 3", "margin 1 c=9950000000 eq=9510000000 im=3791200000 mm=497800000"}));
  EXPECT_EQ(send(t::cancel(0, 0, 3, A, 0)),
            (Lines{"cancelled 3 qty=1000 other", "margin 1 c=9950000000 eq=9510000000 im=995600000 mm=497800000"}));
  // Two records: a short 1 on instrument 1 (C = 9,900), then its mark rises 1,000.
  quiet(lim(4, B, Buy, 1'000'000, 1000, 1));
  quiet(lim(5, A, Sell, 1'000'000, 1000, 1));
  quiet(t::index_price(0, 0, 1, 1'010'000));
  // Equity 9,900 - 440 - 1,000; the short's 101,000 is in tier 2: MM 497.8 + 1,010 - 500,
  // IMR 3,791.2 (or 995.6) + 2,020.
  EXPECT_EQ(send(lim(6, A, Buy, 900'000, 1000)),
            (Lines{"accepted 6", "margin 1 c=9900000000 eq=8460000000 im=5811200000 mm=1007800000"}));
  EXPECT_EQ(send(t::cancel(0, 0, 6, A, 0)),
            (Lines{"cancelled 6 qty=1000 other", "margin 1 c=9900000000 eq=8460000000 im=3015600000 mm=1007800000"}));
  // A deposit re-evaluates A at these marks; then new brackets on instrument 0, maintenance
  // 0.75% in the first tier: MM 746.7 + 510.
  deposit(A, 100 * kUsd);
  auto d = btc();
  d.tiers[0].mmr = 750'000;
  d.tiers[1].maint_amount = 250'000'000;
  d.tiers[2].maint_amount = 15'250'000'000;
  EXPECT_EQ(send(d), Lines{});
  EXPECT_EQ(send(lim(7, A, Buy, 900'000, 1000)),
            (Lines{"accepted 7", "margin 1 c=10000000000 eq=8560000000 im=5811200000 mm=1256700000"}));
}

TEST_F(MarginEngineTest, RedefinitionKeepsDecimalsWhilePositionsAreOpen) {
  ASSERT_EQ(send(btc()), Lines{});
  for (AccountId a : {A, B}) deposit(a, 100'000 * kUsd);
  quiet(lim(1, B, Sell, 1'000'000, 1000));
  quiet(lim(2, A, Buy, 1'000'000, 1000));
  auto d = btc();
  d.qty_decimals = 4;
  EXPECT_EQ(send(d), Lines{"rejected 0 invalid_instrument"});
  d = btc();
  d.tiers[0].imr = 2'000'000;  // new brackets are fine
  EXPECT_EQ(send(d), Lines{});
  EXPECT_EQ(eng.account(A).initial_margin, 2'000'000'000);
}

}  // namespace
