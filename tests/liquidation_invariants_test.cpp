// Randomized streams that drive accounts at varied leverage into cascades (index walks with
// gaps, thin books, backstops, isolated positions, funding), checking after every event:
// - money conservation (docs/liquidation.md, "Money");
// - once the cascade settled, no unit with a maintenance margin is below it, and the flags
//   agree with a from-scratch computation;
// - no collateral is negative unless the account still holds a cross position carrying it;
//   every bankruptcy is reported and paid by the fund or reported as socialized;
// - every Liquidation event names the input event as its cascade origin, depths never
//   decrease inside one cascade;
// and that the same stream gives the same output digest twice.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "cascade/digest.hpp"
#include "cascade/engine.hpp"
#include "cascade/event_buffer.hpp"
#include "cascade/event_reader.hpp"
#include "support/events.hpp"

namespace {

using namespace cascade;
namespace t = cascade::testing;
using i128 = __int128;

constexpr Money kUsd = 1'000'000;
constexpr AccountId kMakers = 4;     // accounts 0..3 quote both sides
constexpr AccountId kBackstops = 2;  // accounts 4..5
constexpr AccountId kAccounts = 40;

wire::InstrumentDefinition perp(InstrumentId id) {
  // pd 1, qd 2 (m = 3): prices in dimes, quantities in hundredths.
  auto d = t::instrument(0, 0, id, 5, 10, 1'000, 400'000, 100'000);
  d.price_decimals = 1;
  d.qty_decimals = 2;
  d.tier_count = 3;
  d.tiers[0] = wire::MarginTier{20'000 * kUsd, 5'000'000, 2'500'000, 0};
  d.tiers[1] = wire::MarginTier{100'000 * kUsd, 10'000'000, 5'000'000, 500 * kUsd};
  d.tiers[2] = wire::MarginTier{1'000'000 * kUsd, 25'000'000, 12'500'000, 8'000 * kUsd};
  d.maker_fee = -10'000;
  d.taker_fee = 50'000;
  d.liquidation_fee = 500'000;
  d.mark_band = 2'000'000;
  return d;
}

class Stream {
 public:
  explicit Stream(std::uint64_t seed) : rng_{seed}, eng_(cfg()) {}

  static EngineConfig cfg() {
    EngineConfig c;
    c.max_instruments = 2;
    c.max_accounts = kAccounts;
    c.max_orders = 400;
    c.max_levels_per_book = 1u << 17;
    c.max_positions = 128;
    return c;
  }

  std::uint64_t go(int events) {
    for (InstrumentId i = 0; i < 2; ++i) {
      send(perp(i));
      index_[i] = 100'000;
      send(t::index_price(0, 0, i, index_[i]));
    }
    for (AccountId a = 0; a < kAccounts; ++a) {
      const Money amount = a < kMakers ? 5'000'000 * kUsd : a < kMakers + kBackstops ? pick(500, 8'000) * kUsd
                                                                                     : pick(200, 5'000) * kUsd;
      send(t::deposit(0, 0, a, amount, ++transfer_));
      if (a >= kMakers && a < kMakers + kBackstops)
        send(t::account_settings(0, 0, a, kAllInstruments, wire::MarginMode::Cross, wire::AccountRole::Backstop));
      else if (a >= kMakers + kBackstops && a % 5 == 0)
        send(t::account_settings(0, 0, a, kAllInstruments, wire::MarginMode::Isolated));
    }
    for (int k = 0; k < events; ++k) step();
    return digest_.value();
  }

  std::uint64_t liquidations() const { return liquidations_; }
  std::uint32_t max_depth() const { return max_depth_; }
  const Engine& engine() const { return eng_; }

 private:
  std::int64_t pick(std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng_);
  }

  void step() {
    const auto i = static_cast<InstrumentId>(pick(0, 1));
    const std::int64_t r = pick(0, 99);
    if (r < 30) {  // a maker quotes around the index, thin and uneven
      const auto a = static_cast<AccountId>(pick(0, kMakers - 1));
      const Side side = pick(0, 1) ? Side::Buy : Side::Sell;
      const Price off = pick(1, 60) * 50;
      const Price p = side == Side::Buy ? index_[i] - off : index_[i] + off;
      send(t::limit(0, 0, ++order_, a, i, side, p, pick(1, 30) * 10));
    } else if (r < 55) {  // a trader takes liquidity at up to 20x
      const auto a = static_cast<AccountId>(pick(kMakers, kAccounts - 1));
      const Side side = pick(0, 1) ? Side::Buy : Side::Sell;
      const Price p = side == Side::Buy ? index_[i] + 3'000 : index_[i] - 3'000;
      send(t::limit(0, 0, ++order_, a, i, side, p, pick(1, 60) * 10, TimeInForce::IOC));
    } else if (r < 62) {  // a trader rests an order (cancelled on liquidation)
      const auto a = static_cast<AccountId>(pick(kMakers + kBackstops, kAccounts - 1));
      const Side side = pick(0, 1) ? Side::Buy : Side::Sell;
      const Price p = side == Side::Buy ? index_[i] - pick(1, 20) * 50 : index_[i] + pick(1, 20) * 50;
      send(t::limit(0, 0, ++order_, a, i, side, p, pick(1, 10) * 10));
    } else if (r < 87) {  // the index walks, sometimes gaps
      const std::int64_t g = pick(0, 19);
      const Price move = g == 0 ? pick(-15'000, 15'000) : pick(-600, 600);
      index_[i] = std::clamp<Price>((index_[i] + move) / 5 * 5, 50'000, 200'000);
      send(t::index_price(0, 0, i, index_[i]));
    } else if (r < 90) {
      send(t::funding_rate(0, 0, i, static_cast<Rate>(pick(-50'000, 50'000))));
    } else if (r < 94) {
      send(t::deposit(0, 0, static_cast<AccountId>(pick(kMakers, kAccounts - 1)), pick(1, 500) * kUsd, ++transfer_));
    } else if (r < 97) {
      send(t::withdrawal(0, 0, static_cast<AccountId>(pick(kMakers, kAccounts - 1)), pick(1, 500) * kUsd,
                         ++transfer_));
    } else {
      send(t::mass_cancel(0, 0, static_cast<AccountId>(pick(0, kMakers - 1)), i));
    }
  }

  template <class T>
  void send(T m) {
    m.header.seq = ++seq_;
    m.header.ts_ns = (ts_ += 1000);
    out_.clear();
    eng_.process(m, out_);
    digest_.update(out_.bytes());
    check_output(m.header.seq);
    check_state();
  }

  void check_output(SeqNo input) {
    EventReader reader(out_.bytes());
    EventView ev;
    std::uint32_t depth = 0;
    Money payout = 0, bankrupt = 0, socialized = 0;
    while (reader.next(ev)) {
      if (ev.type() == wire::MsgType::InsuranceFund &&
          ev.as<wire::InsuranceFund>().reason == wire::InsuranceReason::BankruptcyPayout)
        payout -= ev.as<wire::InsuranceFund>().delta;
      if (ev.type() != wire::MsgType::Liquidation) continue;
      const auto& l = ev.as<wire::Liquidation>();
      ASSERT_EQ(l.cascade_origin, input);
      ASSERT_GE(l.depth, depth);
      depth = l.depth;
      max_depth_ = std::max<std::uint32_t>(max_depth_, l.depth);
      if (l.stage == wire::LiquidationStage::Triggered) {
        ++liquidations_;
        ASSERT_LT(l.amount, 0);
      }
      if (l.stage == wire::LiquidationStage::Bankrupt) bankrupt += l.amount;
      if (l.stage == wire::LiquidationStage::Socialized) socialized += l.amount;
    }
    ASSERT_EQ(bankrupt, payout + socialized);
  }

  void check_state() {
    const MarginTotals tot = eng_.totals();
    i128 sum = 0;
    for (AccountId a = 0; a < kAccounts; ++a) {
      const AccountView v = eng_.account(a);
      sum += v.collateral;
      bool cross_position = false;
      i128 cross_mm = 0;
      for (const PositionView& p : v.positions) {
        sum += p.isolated_margin - p.entry_value;
        if (p.size == 0) continue;
        if (p.isolated) {
          const bool below = p.isolated_margin + p.unrealized_pnl < p.maintenance_margin;
          ASSERT_EQ(p.below_maintenance, below) << "account " << a;
          ASSERT_FALSE(below && p.maintenance_margin > 0) << "isolated unit left below maintenance: " << a;
        } else {
          cross_position = true;
          cross_mm += p.maintenance_margin;
        }
      }
      ASSERT_EQ(v.maintenance_margin, cross_mm);
      ASSERT_EQ(v.below_maintenance, v.equity < v.maintenance_margin) << "account " << a;
      ASSERT_FALSE(v.below_maintenance && v.maintenance_margin > 0) << "cross unit left below maintenance: " << a;
      if (v.collateral < 0) {
        ASSERT_TRUE(cross_position) << "negative collateral without a position: " << a;
      }
    }
    ASSERT_EQ(i128{tot.deposits} - tot.withdrawals, sum + tot.insurance_fund + tot.fees_collected - tot.socialized_losses);
    ASSERT_GE(tot.insurance_fund, 0);
  }

  std::mt19937_64 rng_;
  Engine eng_;
  EventBuffer out_;
  Fnv1a64 digest_;
  SeqNo seq_ = 0;
  Timestamp ts_ = 1'000'000;
  OrderId order_ = 0;
  std::uint64_t transfer_ = 0;
  Price index_[2] = {0, 0};
  std::uint64_t liquidations_ = 0;
  std::uint32_t max_depth_ = 0;
};

class LiquidationInvariants : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(LiquidationInvariants, HoldAfterEveryEvent) {
  Stream s(GetParam());
  s.go(4'000);
  if (::testing::Test::HasFatalFailure()) return;
  // The stream must actually exercise cascades.
  EXPECT_GT(s.liquidations(), 0u);
  // ... and the backstop and the fund.
  const LiquidationTotals lt = s.engine().liquidation_totals();
  EXPECT_GT(lt.book_fills, 0u);
  EXPECT_GT(lt.backstop_takeovers, 0u);
}

INSTANTIATE_TEST_SUITE_P(Seeds, LiquidationInvariants, ::testing::Values(1, 2, 3, 4, 5, 6, 7, 8));

TEST(LiquidationDeterminism, SameStreamSameDigest) {
  Stream a(42), b(42);
  const std::uint64_t da = a.go(3'000), db = b.go(3'000);
  EXPECT_EQ(da, db);
  EXPECT_GT(a.liquidations(), 0u);
}

}  // namespace
