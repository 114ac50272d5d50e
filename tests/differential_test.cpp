// Differential test: cascade::Engine against the reference engine (tests/support/
// reference_engine.*) on generated input streams. After every input event both must have
// written exactly the same bytes; docs/matching.md and docs/margin.md decide which one is
// wrong. After every event the reference's own state is also checked against the margin
// invariants: positions sum to zero per instrument, the money identity holds exactly, and
// every MarginUpdate it wrote equals a recomputation from its positions and live orders.
//
// About 2 million events by default (200,000 in sanitizer and unoptimized builds), spread over
// the scenarios below. CASCADE_DIFF_EVENTS sets the total and CASCADE_DIFF_SEED mixes a number into every
// scenario's seed, so other streams can be tried; e.g. a long run in a Release build:
//   for s in 1 2 3 4; do CASCADE_DIFF_SEED=$s CASCADE_DIFF_EVENTS=50000000 ./tests/differential_test; done
// On a mismatch the failure names the scenario, seed and event index, prints the recent
// inputs, the input event and both outputs, and writes the input stream up to that event
// as an event file for replay.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <ostream>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "cascade/digest.hpp"
#include "cascade/engine.hpp"
#include "cascade/event_file.hpp"
#include "cascade/event_reader.hpp"
#include "support/small_crash.hpp"
#include "support/debug_print.hpp"
#include "support/random_events.hpp"
#include "support/reference_engine.hpp"

namespace {

using cascade::EngineConfig;
using cascade::EventBuffer;
using cascade::EventView;
using cascade::testing::describe;
using cascade::testing::describe_block;
using cascade::testing::GeneratorConfig;
using cascade::testing::RandomEvents;
using cascade::testing::ReferenceEngine;
namespace wire = cascade::wire;
using I128 = __int128;

// --- docs/margin.md recomputed from scratch, apart from the reference engine's own code -------

I128 div_floor(I128 a, I128 b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0); }
I128 div_ceil(I128 a, I128 b) { return -div_floor(-a, b); }

I128 notional(const wire::InstrumentDefinition& d, I128 price, I128 qty, bool up) {
  const int m = 6 - d.price_decimals - d.qty_decimals;
  I128 scale = 1;
  for (int k = 0; k < (m < 0 ? -m : m); ++k) scale *= 10;
  if (m >= 0) return price * qty * scale;
  return up ? div_ceil(price * qty, scale) : div_floor(price * qty, scale);
}

const wire::MarginTier* tier_for(const wire::InstrumentDefinition& d, I128 n) {
  if (d.tier_count == 0) return nullptr;
  int k = 0;
  while (k + 1 < d.tier_count && n > d.tiers[k].max_notional) ++k;
  return &d.tiers[k];
}

I128 im_of(const wire::InstrumentDefinition& d, I128 n) {
  const wire::MarginTier* t = tier_for(d, n);
  return t ? div_ceil(n * t->imr, 100'000'000) : 0;
}

I128 mm_of(const wire::InstrumentDefinition& d, I128 n) {
  const wire::MarginTier* t = tier_for(d, n);
  if (!t) return 0;
  const I128 mm = div_ceil(n * t->mmr, 100'000'000) - t->maint_amount;
  return mm < 0 ? 0 : mm;
}

// The MarginUpdate numbers of one account: collateral, equity, IMR, MM.
std::array<I128, 4> recompute_margin(const ReferenceEngine& ref, const std::vector<ReferenceEngine::OrderState>& orders,
                                     cascade::AccountId a, std::uint32_t max_instruments) {
  const I128 c = ref.balance(a);
  I128 equity = c, imr = 0, mm = 0;
  for (cascade::InstrumentId i = 0; i < max_instruments; ++i) {
    const wire::InstrumentDefinition* d = ref.instrument(i);
    if (!d) continue;
    const bool isolated = ref.isolated(a, i);
    const cascade::Price mark = ref.mark(i);
    const auto pos = ref.position(a, i);
    const I128 size = pos.size;
    const I128 ps = size > 0 ? notional(*d, mark, size, true) : -notional(*d, mark, -size, true);
    if (size != 0 && !isolated) {  // equity and MM count cross positions only
      equity += size > 0 ? notional(*d, mark, size, false) - pos.entry_value : ps - pos.entry_value;
      mm += mm_of(*d, size > 0 ? ps : -ps);
    }
    I128 buys = 0, sells = 0;
    for (const auto& o : orders) {
      if (o.account != a || o.instrument != i || (o.flags & cascade::order_flags::kReduceOnly)) continue;
      // Live orders are resting limits or waiting stops: stop-market counts at its trigger.
      const cascade::Price p = o.type == cascade::OrderType::StopMarket ? o.trigger : o.price;
      (o.side == cascade::Side::Buy ? buys : sells) += notional(*d, p, o.qty, false);
    }
    const I128 up = ps + buys < 0 ? -(ps + buys) : ps + buys;
    const I128 down = ps - sells < 0 ? -(ps - sells) : ps - sells;
    const I128 im = im_of(*d, std::max(up, down));
    // An isolated instrument adds what its own margin B does not cover.
    imr += isolated ? std::max<I128>(0, im - pos.isolated_margin) : im;
  }
  return {c, equity, imr, mm};
}

// The invariants of docs/margin.md on the reference after an event; "" when they hold.
std::string check_reference(const ReferenceEngine& ref, std::span<const std::byte> output,
                            std::uint32_t max_instruments, bool liquidating = true) {
  std::string errors;
  std::vector<cascade::InstrumentId> defined;
  for (cascade::InstrumentId i = 0; i < max_instruments; ++i)
    if (ref.instrument(i)) defined.push_back(i);
  std::vector<I128> open_interest(defined.size());
  I128 held = 0;  // sum over accounts of C - E + B
  for (const auto a : ref.accounts()) {
    held += ref.balance(a);
    for (std::size_t k = 0; k < defined.size(); ++k) {
      const auto pos = ref.position(a, defined[k]);
      open_interest[k] += pos.size;
      held += I128{pos.isolated_margin} - pos.entry_value;
    }
  }
  // Positions sum to zero per instrument.
  for (std::size_t k = 0; k < defined.size(); ++k)
    if (open_interest[k] != 0)
      errors += "  positions of instrument " + std::to_string(defined[k]) + " do not sum to zero\n";
  // deposits - withdrawals = sum (C - E + B) + insurance_fund + F - socialized_losses.
  const auto t = ref.totals();
  if (t.deposits - t.withdrawals != held + t.insurance_fund + t.fees_collected - t.socialized_losses)
    errors += "  the money identity does not hold\n";
  // docs/liquidation.md: after an input event no unit with MM > 0 is below maintenance (nor a
  // cross unit left with negative equity beside margined isolated positions).
  if (liquidating && ref.any_unit_below()) errors += "  a unit is below maintenance after the event\n";
  // Every MarginUpdate equals a recomputation from the state after the event.
  cascade::EventReader reader(output);
  EventView ev;
  std::vector<ReferenceEngine::OrderState> orders;
  bool have_orders = false;
  while (reader.next(ev)) {
    if (ev.type() != wire::MsgType::MarginUpdate) continue;
    if (!have_orders) orders = ref.orders(), have_orders = true;
    const auto& u = ev.as<wire::MarginUpdate>();
    const auto want = recompute_margin(ref, orders, u.account, max_instruments);
    if (want != std::array<I128, 4>{u.collateral, u.equity, u.initial_margin, u.maintenance_margin})
      errors += "  " + describe(ev, false) + " differs from the recomputation\n";
  }
  return errors;
}

struct Scenario {
  const char* name;
  std::uint64_t seed;
  unsigned share;  // per mille of the total events
  GeneratorConfig gen;
};

GeneratorConfig make(EngineConfig engine, std::uint32_t instruments, std::uint32_t accounts,
                     std::uint32_t invalid_per_mille = 40, std::uint32_t backwards_per_mille = 12,
                     std::uint32_t aggression_per_mille = 1000) {
  GeneratorConfig g;
  g.engine = engine;
  g.instruments = instruments;
  g.accounts = accounts;
  g.invalid_per_mille = invalid_per_mille;
  g.backwards_per_mille = backwards_per_mille;
  g.aggression_per_mille = aggression_per_mille;
  return g;
}

GeneratorConfig with(GeneratorConfig g, auto change) {
  change(g);
  return g;
}

const Scenario kScenarios[] = {
    // Four instruments, five trading accounts, a pool that fills up now and then.
    {"standard", 0x5EED0001, 160,
     make({.max_instruments = 4, .max_accounts = 6, .max_orders = 256, .max_levels_per_book = 4096}, 4, 5)},
    {"standard_b", 0x5EED0002, 120,
     make({.max_instruments = 8, .max_accounts = 5, .max_orders = 400, .max_levels_per_book = 4096}, 4, 5)},
    // A pool of ten orders: OrderCapacity all the time, the book drains often.
    {"tight_capacity", 0x5EED0003, 120,
     make({.max_instruments = 2, .max_accounts = 3, .max_orders = 10, .max_levels_per_book = 256}, 2, 3)},
    // A large pool, passive flow, few rejects: deeper books and long stop cascades.
    {"deep_books", 0x5EED0004, 160,
     make({.max_instruments = 4, .max_accounts = 9, .max_orders = 1u << 14, .max_levels_per_book = 1u << 12}, 3, 8, 10,
          3, 200)},
    // 41 levels allowed: instruments 1 and 2 sit exactly at the limit; instrument 3 is out of range.
    {"level_boundary", 0x5EED0005, 80,
     make({.max_instruments = 3, .max_accounts = 4, .max_orders = 512, .max_levels_per_book = 41}, 4, 4)},
    // One instrument, two accounts: self-trade prevention on most crossings.
    {"self_trade", 0x5EED0006, 80,
     make({.max_instruments = 1, .max_accounts = 2, .max_orders = 128, .max_levels_per_book = 64}, 1, 2)},
    // Mostly malformed input and clock trouble.
    {"invalid_heavy", 0x5EED0007, 80,
     make({.max_instruments = 4, .max_accounts = 4, .max_orders = 64, .max_levels_per_book = 4096}, 4, 4, 300, 100)},
    // Prices near 2^62, quantities near 2^60, bands beyond 100%, negative timestamps.
    {"extreme", 0x5EED0008, 80,
     with(make({.max_instruments = 4, .max_accounts = 3, .max_orders = 6, .max_levels_per_book = 4096}, 4, 3),
          [](GeneratorConfig& g) {
            g.layouts = cascade::testing::Layouts::Extreme;
            g.start_ts = -5'000'000'000;
          })},
    // The highest valid account ids.
    {"high_accounts", 0x5EED0009, 50,
     with(make({.max_instruments = 4, .max_accounts = 1u << 20, .max_orders = 300, .max_levels_per_book = 4096}, 4, 4),
          [](GeneratorConfig& g) { g.account_base = (1u << 20) - 4; })},
    // A pool of one order; instruments with more than 21 levels are refused.
    {"tiny_pool", 0x5EED000A, 20,
     make({.max_instruments = 4, .max_accounts = 3, .max_orders = 1, .max_levels_per_book = 21}, 4, 3)},
    // Seven position records for five accounts on four instruments: AccountCapacity.
    {"position_records", 0x5EED000C, 40,
     make({.max_instruments = 4, .max_accounts = 6, .max_orders = 256, .max_levels_per_book = 4096, .max_positions = 7},
          4, 5)},
    // The same layout on another stream: a backstop takeover needing a record while the table
    // is full of records emptied earlier in the same event.
    {"position_records_b", 0x9E3779B921A77C19, 20,
     make({.max_instruments = 4, .max_accounts = 6, .max_orders = 256, .max_levels_per_book = 4096, .max_positions = 7},
          4, 5)},
    // One instrument: every account holds at most one record, so every MarginUpdate after an
    // evaluation takes the one-record IMR (resting orders on both sides, reduce-only orders,
    // isolated positions, tiers redefined away).
    {"one_record", 0x5EED000D, 60,
     make({.max_instruments = 1, .max_accounts = 8, .max_orders = 1024, .max_levels_per_book = 4096}, 1, 8, 10, 3,
          300)},
    // No pool at all: nothing may rest.
    {"no_pool", 0x5EED000B, 10,
     make({.max_instruments = 2, .max_accounts = 3, .max_orders = 0, .max_levels_per_book = 64}, 2, 3)},
};

void PrintTo(const Scenario& s, std::ostream* os) { *os << s.name; }

// Rules of matching.md and margin.md checked on the output alone, whatever the reference says
// (a rule both engines get wrong the same way passes the byte-for-byte comparison): an
// accepted FOK order (a new order, or a stop when it fires) fills completely or is cancelled
// with no fill; a post-only order never takes; an IOC, FOK or market order never rests, so it
// is never a maker; a reduce-only order never fills beyond the position it reduces; a fill is at
// the resting order's price (its limit, or its price after a modify); the top of the book is
// never crossed.
class OutputRules {
 public:
  // "" when the rules hold for this input event's output.
  std::string broken(const EventView& in, std::span<const std::byte> out) {
    namespace wire = cascade::wire;
    std::map<cascade::OrderId, cascade::Qty> filled;  // this event's taker fills of FOK orders
    cascade::EventReader r(out);
    for (EventView ev; r.next(ev);) {
      switch (ev.type()) {
        case wire::MsgType::OrderAccepted:
          if (in.type() == wire::MsgType::NewOrder) {
            const auto& o = in.as<wire::NewOrder>();
            if (o.order_id == ev.as<wire::OrderAccepted>().order_id)
              orders_[o.order_id] = {o.tif == cascade::TimeInForce::FOK, (o.flags & cascade::order_flags::kPostOnly) != 0,
                                     o.tif != cascade::TimeInForce::GTC, (o.flags & cascade::order_flags::kReduceOnly) != 0,
                                     o.price};
          }
          break;
        case wire::MsgType::OrderModified: {
          const auto& m = ev.as<wire::OrderModified>();
          orders_[m.order_id].price = m.new_price;
          break;
        }
        case wire::MsgType::TopOfBook: {
          const auto& t = ev.as<wire::TopOfBook>();
          if (t.bid_qty > 0 && t.ask_qty > 0 && t.bid_price >= t.ask_price)
            return "  crossed top of book on instrument " + std::to_string(t.instrument) + ": bid " +
                   std::to_string(t.bid_price) + " >= ask " + std::to_string(t.ask_price) + "\n";
          break;
        }
        case wire::MsgType::Fill: {
          const auto& f = ev.as<wire::Fill>();
          const auto taker = orders_.find(f.taker_order_id), maker = orders_.find(f.maker_order_id);
          const cascade::Side maker_side = f.aggressor_side == cascade::Side::Buy ? cascade::Side::Sell : cascade::Side::Buy;
          if (f.taker_order_id != 0 && taker != orders_.end()) {
            if (taker->second.fok) filled[f.taker_order_id] += f.qty;
            if (taker->second.post_only) return "  post-only order " + std::to_string(f.taker_order_id) + " took liquidity\n";
            if (taker->second.reduce_only && !reduces(f.taker_account, f.instrument, f.aggressor_side, f.qty))
              return "  reduce-only order " + std::to_string(f.taker_order_id) + " filled beyond its position\n";
          }
          if (f.maker_order_id != 0 && maker != orders_.end()) {
            if (f.price != maker->second.price)
              return "  fill of order " + std::to_string(f.maker_order_id) + " at " + std::to_string(f.price) +
                     ", not at its resting price " + std::to_string(maker->second.price) + "\n";
            if (maker->second.never_rests)
              return "  order " + std::to_string(f.maker_order_id) + " (IOC, FOK or market) rested and was filled as a maker\n";
            if (maker->second.reduce_only && !reduces(f.maker_account, f.instrument, maker_side, f.qty))
              return "  reduce-only order " + std::to_string(f.maker_order_id) + " filled beyond its position\n";
          }
          break;
        }
        case wire::MsgType::PositionUpdate: {
          const auto& u = ev.as<wire::PositionUpdate>();
          sizes_[{u.account, u.instrument}] = u.size;
          break;
        }
        case wire::MsgType::OrderCancelled: {
          const auto& c = ev.as<wire::OrderCancelled>();
          const auto it = orders_.find(c.order_id);
          if (it == orders_.end() || !it->second.fok) break;
          if (filled[c.order_id] != 0 || c.reason == wire::CancelReason::IocRemainder ||
              c.reason == wire::CancelReason::NoLiquidity)
            return "  FOK order " + std::to_string(c.order_id) + " partly filled: " + std::to_string(filled[c.order_id]) +
                   " filled, " + std::to_string(c.cancelled_qty) + " cancelled (reason " +
                   std::to_string(static_cast<int>(c.reason)) + ")\n";
          break;
        }
        default: break;
      }
    }
    return "";
  }

 private:
  struct Accepted {
    bool fok = false, post_only = false, never_rests = false, reduce_only = false;
    cascade::Price price = 0;  // limit price (a stop-limit's after it fires), as modified
  };
  // A fill of q on `side` takes the position (before its PositionUpdate) toward zero, no further.
  bool reduces(cascade::AccountId a, cascade::InstrumentId i, cascade::Side side, cascade::Qty q) const {
    const auto it = sizes_.find({a, i});
    const cascade::Qty s = it == sizes_.end() ? 0 : it->second;
    return side == cascade::Side::Sell ? s >= q : -s >= q;
  }
  std::map<cascade::OrderId, Accepted> orders_;  // what each accepted order id was
  std::map<std::pair<cascade::AccountId, cascade::InstrumentId>, cascade::Qty> sizes_;
};

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  if (const char* s = std::getenv(name)) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(s, &end, 0);
    if (end != s && *end == '\0') return v;
  }
  return fallback;
}

// Sanitizer and unoptimized builds run a tenth of the events: the reference engine is slow
// there, and what the sanitizers look for (memory errors, overflows) shows early.
#if defined(__SANITIZE_ADDRESS__) || !defined(__OPTIMIZE__)
constexpr bool kSlowBuild = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSlowBuild = true;
#else
constexpr bool kSlowBuild = false;
#endif
#else
constexpr bool kSlowBuild = false;
#endif
constexpr std::uint64_t kDefaultEvents = kSlowBuild ? 200'000 : 2'000'000;
std::uint64_t total_events() { return env_number("CASCADE_DIFF_EVENTS", kDefaultEvents); }

// The scenario's seed, with CASCADE_DIFF_SEED mixed in when it is set.
std::uint64_t seed_of(const Scenario& s) {
  const std::uint64_t extra = env_number("CASCADE_DIFF_SEED", 0);
  return extra == 0 ? s.seed : s.seed ^ (extra * 0x9E3779B97F4A7C15ull);
}

// Writes inputs 0..last of the scenario's stream to an event file; returns its path or "".
std::string write_repro(const Scenario& s, std::uint64_t last) {
  const std::string path = ::testing::TempDir() + "cascade-diff-" + s.name + ".events";
  cascade::EventFileWriter w;
  std::string error;
  if (!w.open(path, cascade::make_file_header(wire::StreamKind::Input, 0, "differential_test"), error)) return "";
  RandomEvents gen(seed_of(s), s.gen);
  ReferenceEngine reference(s.gen.engine);  // the stream follows the reference's output
  EventBuffer out;
  for (std::uint64_t i = 0; i <= last; ++i) {
    const EventView ev = gen.next();
    w.write_raw({ev.data(), ev.size()});
    out.clear();
    reference.process(ev, out);
    gen.observe(out.bytes());
  }
  return w.close(error) ? path : "";
}

// Both engines side by side.
struct Pair {
  explicit Pair(const EngineConfig& config) : engine(config), reference(config) {}

  // Feeds one event to both; empty when they wrote the same bytes, else both outputs.
  std::string step(const EventView& ev) {
    expected.clear();
    actual.clear();
    try {
      reference.process(ev, expected);
    } catch (const std::exception& e) {  // an amount outside the contract (std::overflow_error)
      return "  input:\n    " + describe(ev) + "\n  reference engine stopped: " + e.what() + "\n";
    }
    engine.process(ev, actual);
    if (expected.size() == actual.size() &&
        std::memcmp(expected.bytes().data(), actual.bytes().data(), expected.size()) == 0)
      return {};
    return "  input:\n    " + describe(ev) + "\n  reference (docs/matching.md):\n" + describe_block(expected.bytes()) +
           "  engine:\n" + describe_block(actual.bytes());
  }

  cascade::Engine engine;
  ReferenceEngine reference;
  EventBuffer expected, actual;
};

class Differential : public ::testing::TestWithParam<Scenario> {};

TEST_P(Differential, EngineMatchesReferenceByteForByte) {
  const Scenario& s = GetParam();
  const std::uint64_t events = std::max<std::uint64_t>(total_events() * s.share / 1000, 1);

  Pair pair(s.gen.engine);
  const cascade::Engine& engine = pair.engine;
  const ReferenceEngine& reference = pair.reference;
  RandomEvents gen(seed_of(s), s.gen);
  std::deque<std::string> recent;  // the last inputs, for context
  OutputRules rules;

  for (std::uint64_t i = 0; i < events; ++i) {
    const EventView ev = gen.next();
    std::string diff = pair.step(ev);
    diff += rules.broken(ev, pair.expected.bytes());
    const std::string broken = check_reference(reference, pair.expected.bytes(), s.gen.engine.max_instruments);
    if (!broken.empty())
      diff = "  reference engine invariants broken:\n" + broken + "  input:\n    " + describe(ev) +
             "\n  reference output:\n" + describe_block(pair.expected.bytes()) + diff;
    if (!diff.empty()) {
      std::string context;
      for (const auto& line : recent) context += "    " + line + "\n";
      const std::string repro = write_repro(s, i);
      FAIL() << "scenario " << s.name << " seed 0x" << std::hex << seed_of(s) << std::dec
             << " (CASCADE_DIFF_SEED=" << env_number("CASCADE_DIFF_SEED", 0) << ") event index " << i << " (input seq "
             << ev.header().seq << ")\n  previous inputs:\n"
             << context << diff << "  inputs 0.." << i << " written to "
             << (repro.empty() ? "(failed to write)" : repro);
    }
    gen.observe(pair.expected.bytes());
    recent.push_back(describe(ev));
    if (recent.size() > 6) recent.pop_front();
  }

  // The queries agree too.
  EXPECT_EQ(engine.live_orders(), reference.live_orders());
  EXPECT_EQ(engine.output_seq(), reference.output_seq());
  for (cascade::InstrumentId id = 0; id < s.gen.engine.max_instruments; ++id) {
    const auto t1 = engine.top(id);
    const auto t2 = reference.top(id);
    EXPECT_EQ(t1.bid_price, t2.bid_price) << id;
    EXPECT_EQ(t1.bid_qty, t2.bid_qty) << id;
    EXPECT_EQ(t1.ask_price, t2.ask_price) << id;
    EXPECT_EQ(t1.ask_qty, t2.ask_qty) << id;
    EXPECT_EQ(engine.last_price(id), reference.last_price(id)) << id;
    for (const cascade::Side side : {cascade::Side::Buy, cascade::Side::Sell}) {
      const auto want = reference.depth(id, side);
      std::vector<cascade::LevelView> got(want.size() + 8);
      got.resize(engine.depth(id, side, got.size(), got.data()));
      ASSERT_EQ(got.size(), want.size()) << id;
      for (std::size_t k = 0; k < want.size(); ++k) {
        EXPECT_EQ(got[k].price, want[k].price) << id << " level " << k;
        EXPECT_EQ(got[k].qty, want[k].qty) << id << " level " << k;
        EXPECT_EQ(got[k].orders, want[k].orders) << id << " level " << k;
      }
    }
  }
  for (cascade::AccountId a = s.gen.account_base; a < s.gen.account_base + s.gen.accounts; ++a)
    EXPECT_EQ(engine.balance(a), reference.balance(a)) << a;

  // The margin state agrees too: marks, accounts, positions, the money identity's terms.
  for (cascade::InstrumentId id = 0; id < s.gen.engine.max_instruments; ++id) {
    const auto m = engine.mark(id);
    EXPECT_EQ(m.mark, reference.mark(id)) << id;
    EXPECT_EQ(m.index, reference.index(id)) << id;
    EXPECT_EQ(m.last, reference.last_price(id)) << id;
  }
  for (const cascade::AccountId a : reference.accounts()) {
    const auto view = engine.account(a);
    const auto want = reference.margin(a);
    EXPECT_EQ(view.collateral, want.collateral) << a;
    EXPECT_EQ(view.equity, want.equity) << a;
    EXPECT_EQ(view.initial_margin, want.initial_margin) << a;
    EXPECT_EQ(view.maintenance_margin, want.maintenance_margin) << a;
    for (cascade::InstrumentId id = 0; id < s.gen.engine.max_instruments; ++id) {
      const auto pos = reference.position(a, id);
      const auto it = std::find_if(view.positions.begin(), view.positions.end(),
                                   [&](const cascade::PositionView& p) { return p.instrument == id; });
      const cascade::PositionView got = it == view.positions.end() ? cascade::PositionView{} : *it;
      EXPECT_EQ(got.size, pos.size) << a << " " << id;
      EXPECT_EQ(got.entry_value, pos.entry_value) << a << " " << id;
      EXPECT_EQ(got.isolated_margin, pos.isolated_margin) << a << " " << id;
      if (it != view.positions.end()) {
        EXPECT_EQ(got.isolated, reference.isolated(a, id)) << a << " " << id;
      }
    }
  }
  const auto got = engine.totals();
  const auto want = reference.totals();
  EXPECT_TRUE(got.deposits == want.deposits);
  EXPECT_TRUE(got.withdrawals == want.withdrawals);
  EXPECT_TRUE(got.fees_collected == want.fees_collected);
  EXPECT_TRUE(got.insurance_fund == want.insurance_fund);
  EXPECT_TRUE(got.socialized_losses == want.socialized_losses);
}

INSTANTIATE_TEST_SUITE_P(Scenarios, Differential, ::testing::ValuesIn(kScenarios),
                         [](const ::testing::TestParamInfo<Scenario>& info) { return std::string(info.param.name); });

// A small crash day of the scenario generator with its default vault: cascades run the
// backstop out and deleverage many times, within one event and across events without a
// mark move, so the engine's kept ranking (docs/liquidation.md, "Detection in the engine")
// is compared step by step with the reference engine's full sort.
TEST(DifferentialScenario, CrashDayWithDeleveragingAgrees) {
  EventBuffer day;
  cascade::scenario::Summary summary;
  std::string error;
  ASSERT_TRUE(cascade::testing::small_crash_day(day, summary, error)) << error;
  std::vector<std::uint64_t> words((day.size() + 7) / 8);
  std::memcpy(words.data(), day.bytes().data(), day.size());
  Pair pair(EngineConfig{});
  std::uint64_t events = 0, deleverages = 0;
  cascade::EventReader reader(std::span<const std::byte>(reinterpret_cast<const std::byte*>(words.data()), day.size()));
  for (EventView ev; reader.next(ev);) {
    ++events;
    const std::string diff = pair.step(ev);
    ASSERT_EQ(diff, "") << "scenario event " << events;
    cascade::EventReader out(pair.actual.bytes());
    for (EventView x; out.next(x);) deleverages += x.type() == wire::MsgType::Deleverage;
  }
  EXPECT_TRUE(reader.ok());
  EXPECT_EQ(events, summary.events);
  EXPECT_GT(deleverages, 100u) << events << " events";
}

// Inputs the generator never makes: int64 extremes, overflowing balances, definitions at the
// edge of validity, output events on the input stream.
TEST(DifferentialEdgeCases, HandPickedInputsAgree) {
  namespace in = cascade::testing::input;
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  constexpr cascade::Price kP62 = cascade::Price{1} << 62;
  Pair pair({.max_instruments = 4, .max_accounts = 4, .max_orders = 8, .max_levels_per_book = 64});
  cascade::SeqNo seq = 0;
  cascade::Timestamp ts = kMin;
  auto feed = [&](auto msg, cascade::Timestamp at) {
    msg.header.seq = ++seq;
    msg.header.ts_ns = at;
    ts = std::max(ts, at);
    const std::string diff = pair.step(EventView(reinterpret_cast<const std::byte*>(&msg)));
    EXPECT_EQ(diff, "") << "edge-case event " << seq;
  };
  auto next = [&] { return ts == kMin ? kMin : ts + 1; };
  auto order = [](cascade::OrderId id, cascade::AccountId account, cascade::InstrumentId instrument, cascade::Side side,
                  cascade::OrderType type, cascade::TimeInForce tif, cascade::Price price, cascade::Qty qty,
                  cascade::Price trigger = 0) {
    return in::new_order({.id = id,
                          .account = account,
                          .instrument = instrument,
                          .side = side,
                          .type = type,
                          .tif = tif,
                          .price = price,
                          .qty = qty,
                          .trigger = trigger});
  };
  using cascade::OrderType;
  using cascade::Side;
  using cascade::TimeInForce;

  // The clock: the most negative timestamp first, then equal, then backwards.
  feed(in::heartbeat(), kMin);
  feed(in::heartbeat(), kMin);
  feed(in::heartbeat(), -1);
  feed(in::heartbeat(), -2);
  // Balances and the running total of deposits at the int64 edge.
  feed(in::deposit(1, 1'000'000'000'000, 1), next());
  feed(in::deposit(2, 1'000'000'000'000, 2), next());
  feed(in::deposit(3, kMax - 2'000'000'000'000, 3), next());  // the total is now INT64_MAX
  feed(in::deposit(3, 1, 4), next());
  feed(in::withdrawal(3, kMin, 5), next());
  feed(in::withdrawal(3, kMax, 6), next());
  feed(in::withdrawal(3, kMax - 2'000'100'000'000, 7), next());  // leaves 100,000,000
  feed(in::deposit(1, 1, 8), next());
  // Definitions at the edge of validity.
  auto edge = in::instrument(3, kP62, 1, kP62, kP62, kMax);  // one level at 2^62, any quantity
  edge.price_decimals = 18;  // m = -30: 2^62 * (2^63 - 1) units are worth about 4.3e7 micros
  edge.qty_decimals = 18;
  edge.tier_count = 8;  // eight brackets up to the largest notional, rates at both ends
  for (int k = 0; k < 8; ++k) {
    edge.tiers[k].max_notional = k == 7 ? kMax : cascade::Money{1} << (8 + 7 * k);
    edge.tiers[k].imr = 100'000'000;
    edge.tiers[k].mmr = k == 0 ? 1 : 14'285'714 * k;
    edge.tiers[k].maint_amount =
        k == 0 ? 0
               : edge.tiers[k - 1].maint_amount +
                     static_cast<cascade::Money>(I128{edge.tiers[k - 1].max_notional} *
                                                 (edge.tiers[k].mmr - edge.tiers[k - 1].mmr) / 100'000'000);
  }
  edge.maker_fee = -100'000'000;  // the extreme fee rates and mark band allowed
  edge.taker_fee = 100'000'000;
  edge.mark_band = 100'000'000;
  edge.reference_price = kMax;
  edge.price_band = std::numeric_limits<cascade::Rate>::max();
  edge.market_band = std::numeric_limits<cascade::Rate>::max();
  feed(edge, next());
  auto wide = in::instrument(1, 1, 1, 1, kMax, 100);  // 2^63 - 1 levels
  feed(wide, next());
  wide.max_price = 64;  // exactly 64 levels
  feed(wide, next());
  auto top = in::instrument(0, kMax, 1, kMax, kMax, 10);  // the highest price there is
  top.price_decimals = 7;  // m = -1: 5 units at 2^63 - 1 are worth 2^62 micros (rounded up),
  top.qty_decimals = 0;    // the most an account's position and orders may reach (NotionalOverflow)
  top.market_band = 100'000'000;
  feed(top, next());
  auto negative = in::instrument(2, 1, 1, 1, 64, 100);  // a negative reference is not refused
  negative.reference_price = -50;
  negative.price_band = 10'000'000;
  negative.market_band = -5;
  feed(negative, next());

  // Settings at the edges.
  feed(in::account_settings(2, 3, 1, 1), next());
  feed(in::account_settings(1, cascade::kAllInstruments, 0, 1), next());
  // Orders on the edge instruments.
  feed(order(1, 3, 3, Side::Buy, OrderType::Limit, TimeInForce::GTC, kP62, kMax), next());
  feed(order(2, 2, 3, Side::Sell, OrderType::Limit, TimeInForce::FOK, kP62, kMax - 1), next());
  feed(order(3, 2, 3, Side::Sell, OrderType::Market, TimeInForce::IOC, 0, kMax), next());
  feed(order(4, 2, 3, Side::Sell, OrderType::Limit, TimeInForce::GTC, kP62, 5), next());
  feed(order(5, 1, 3, Side::Buy, OrderType::Limit, TimeInForce::FOK, kP62, kMax), next());
  feed(order(6, 1, 3, Side::Buy, OrderType::StopMarket, TimeInForce::IOC, 0, kMax, kP62), next());
  feed(order(7, 1, 0, Side::Buy, OrderType::Limit, TimeInForce::GTC, kMax, 6), next());  // one too many
  feed(order(7, 1, 0, Side::Buy, OrderType::Limit, TimeInForce::GTC, kMax, 5), next());
  feed(order(8, 2, 0, Side::Sell, OrderType::Market, TimeInForce::IOC, kMax, 5), next());
  feed(order(9, 1, 0, Side::Buy, OrderType::StopLimit, TimeInForce::GTC, kMax, 1, kMax), next());
  feed(order(10, 1, 0, Side::Sell, OrderType::StopMarket, TimeInForce::IOC, 0, 5, kMax), next());
  feed(order(25, 2, 0, Side::Sell, OrderType::StopMarket, TimeInForce::IOC, 0, 1, kMax), next());
  feed(order(11, 1, 2, Side::Buy, OrderType::Limit, TimeInForce::GTC, 50, 1), next());
  feed(order(12, 1, 2, Side::Sell, OrderType::Market, TimeInForce::IOC, 0, 1), next());
  feed(in::index_price(2, kMax), next());
  feed(order(13, 1, 2, Side::Buy, OrderType::Limit, TimeInForce::GTC, 60, 1), next());
  feed(order(14, 1, 1, Side::Buy, OrderType::Limit, TimeInForce::GTC, 64, 100), next());
  feed(order(15, 2, 1, Side::Sell, OrderType::Market, TimeInForce::FOK, 1, 100), next());
  // Malformed fields at the int64 edge.
  feed(order(16, 1, 1, Side::Buy, OrderType::Limit, TimeInForce::GTC, kMin, 1), next());
  feed(order(17, 1, 1, Side::Buy, OrderType::Limit, TimeInForce::GTC, kMax, 1), next());
  feed(order(18, 1, 1, Side::Buy, OrderType::Market, TimeInForce::IOC, kMin, 1), next());
  feed(order(19, 1, 1, Side::Buy, OrderType::Limit, TimeInForce::GTC, 10, kMin), next());
  feed(order(20, 1, 1, Side::Buy, OrderType::StopLimit, TimeInForce::GTC, 10, 1, kMin), next());
  feed(order(21, 1, 1, Side::Buy, OrderType::StopLimit, TimeInForce::GTC, 10, 1, kMax), next());
  feed(order(22, 3, cascade::kAllInstruments, Side::Buy, OrderType::Limit, TimeInForce::GTC, 10, 1), next());
  feed(order(23, std::numeric_limits<cascade::AccountId>::max(), 1, Side::Buy, OrderType::Limit, TimeInForce::GTC, 10,
             1),
       next());
  feed(order(24, 1, 1, Side::Buy, OrderType::Limit, TimeInForce::GTC, 32, 5), next());
  feed(in::modify(24, 1, kMin, kMin, 1), next());
  feed(in::modify(24, 1, kMin, 5, 1), next());
  feed(in::modify(24, 1, kMax, 5, 1), next());
  feed(in::modify(24, 1, 32, kMax, 1), next());
  feed(in::modify(24, 1, 64, 100, 1), next());
  feed(in::cancel(0, 1, 1), next());
  feed(in::cancel(cascade::OrderId(-1), 1, 1), next());
  feed(in::mass_cancel(3, cascade::kAllInstruments), next());
  feed(in::mass_cancel(std::numeric_limits<cascade::AccountId>::max(), 0), next());
  feed(in::index_price(1, kMin), next());
  feed(in::funding_rate(1, std::numeric_limits<cascade::Rate>::min()), next());
  feed(in::funding_rate(3, std::numeric_limits<cascade::Rate>::max()), next());
  feed(in::funding_rate(3, std::numeric_limits<cascade::Rate>::min()), next());
  feed(in::index_price(3, kP62), next());
  feed(in::withdrawal(1, 999'999'999'999, 9), next());
  feed(in::account_settings(3, cascade::kAllInstruments, 255, 0), next());
  // Output events on the input stream, even with an old timestamp: ignored.
  cascade::wire::visit_type(cascade::wire::MsgType::Fill, [&](auto* p) {
    using T = std::remove_const_t<std::remove_pointer_t<decltype(p)>>;
    feed(wire::make<T>(), kMin);
  });
  for (int t = 0x80; t < 0x100; ++t) {
    cascade::wire::visit_type(static_cast<wire::MsgType>(t), [&](auto* p) {
      using T = std::remove_const_t<std::remove_pointer_t<decltype(p)>>;
      feed(wire::make<T>(), 0);
    });
  }
  feed(in::heartbeat(), next());
  EXPECT_EQ(pair.engine.live_orders(), pair.reference.live_orders());
  EXPECT_EQ(pair.engine.output_seq(), pair.reference.output_seq());
}

// Chains long enough for every loading stage of the stop loop (engine.cpp, load_ahead): stops
// of many accounts over many trigger levels and in shared queues, reduce-only stops cancelled
// by an earlier stop's fill while they wait ahead in the chain, a stop-limit that rests, then a
// chain of buy stops back up.
TEST(DifferentialEdgeCases, LongStopChainsAgree) {
  namespace in = cascade::testing::input;
  using cascade::OrderType;
  using cascade::Side;
  using cascade::TimeInForce;
  Pair pair({.max_instruments = 2, .max_accounts = 64, .max_orders = 256, .max_levels_per_book = 1024});
  cascade::SeqNo seq = 0;
  auto feed = [&](auto msg) {
    msg.header.seq = ++seq;
    msg.header.ts_ns = static_cast<cascade::Timestamp>(seq) * 1000;
    EXPECT_EQ(pair.step(EventView(reinterpret_cast<const std::byte*>(&msg))), "") << "event " << seq;
  };
  cascade::OrderId id = 0;
  auto order = [&](cascade::AccountId account, Side side, OrderType type, TimeInForce tif, cascade::Price price,
                   cascade::Qty qty, cascade::Price trigger = 0, std::uint8_t flags = 0) {
    feed(in::new_order({.id = ++id,
                        .account = account,
                        .side = side,
                        .type = type,
                        .tif = tif,
                        .price = price,
                        .qty = qty,
                        .trigger = trigger,
                        .flags = flags}));
  };
  feed(in::instrument(0, 1, 1, 1, 1000, 1000));
  for (cascade::AccountId a = 1; a <= 40; ++a) feed(in::deposit(a, 1'000'000'000'000, a));
  // Account 2 goes long 3 at 600.
  order(1, Side::Sell, OrderType::Limit, TimeInForce::GTC, 600, 3);
  order(2, Side::Buy, OrderType::Limit, TimeInForce::IOC, 600, 3);
  // Its stops: a plain one that fires first and two reduce-only ones it leaves in excess.
  order(2, Side::Sell, OrderType::StopMarket, TimeInForce::IOC, 0, 2, 497);
  order(2, Side::Sell, OrderType::StopMarket, TimeInForce::IOC, 0, 2, 495, cascade::order_flags::kReduceOnly);
  order(2, Side::Sell, OrderType::StopMarket, TimeInForce::IOC, 0, 1, 490, cascade::order_flags::kReduceOnly);
  // Bids one lot a level from 499 down to 460.
  for (cascade::Price p = 499; p >= 460; --p) order(1, Side::Buy, OrderType::Limit, TimeInForce::GTC, p, 1);
  // One sell stop per account from 499 down, and four more sharing the queue at 495.
  for (cascade::AccountId a = 3; a <= 22; ++a)
    order(a, Side::Sell, OrderType::StopMarket, TimeInForce::IOC, 0, 1, 502 - static_cast<cascade::Price>(a));
  for (cascade::AccountId a = 23; a <= 26; ++a) order(a, Side::Sell, OrderType::StopMarket, TimeInForce::IOC, 0, 1, 495);
  order(27, Side::Sell, OrderType::StopLimit, TimeInForce::GTC, 476, 5, 485);
  // A far stop that never fires, at the end of the chain.
  order(28, Side::Sell, OrderType::StopMarket, TimeInForce::IOC, 0, 1, 100);
  auto count = [&](wire::MsgType type) {
    int n = 0;
    cascade::EventReader r(pair.actual.bytes());
    for (EventView ev; r.next(ev);) n += ev.type() == type;
    return n;
  };
  // The order that sets the chain off.
  order(31, Side::Sell, OrderType::Limit, TimeInForce::IOC, 499, 1);
  EXPECT_EQ(count(wire::MsgType::StopTriggered), 26);
  EXPECT_EQ(count(wire::MsgType::OrderCancelled), 2);
  // Back up: buy stops in two queues, offers above, then a buy sweeping up to 492.
  for (cascade::AccountId a = 32; a <= 37; ++a)
    order(a, Side::Buy, OrderType::StopMarket, TimeInForce::IOC, 0, 1, a <= 34 ? 490 : 492);
  for (cascade::Price p = 489; p <= 500; ++p) order(1, Side::Sell, OrderType::Limit, TimeInForce::GTC, p, 1);
  order(38, Side::Buy, OrderType::Limit, TimeInForce::IOC, 492, 10);
  EXPECT_EQ(count(wire::MsgType::StopTriggered), 6);
  feed(in::heartbeat());
  EXPECT_EQ(pair.engine.live_orders(), pair.reference.live_orders());
  EXPECT_EQ(pair.engine.output_seq(), pair.reference.output_seq());
}

// The same seed gives the same stream with every compiler and standard library (the draws are
// our own, and every one is its own statement). The digest changes when the generator or the
// reference engine's output changes on purpose; then update it.
TEST(DifferentialGenerator, StreamIsIdenticalOnEveryToolchain) {
  const Scenario& s = kScenarios[0];
  RandomEvents gen(s.seed, s.gen);
  ReferenceEngine reference(s.gen.engine);
  EventBuffer out;
  cascade::Fnv1a64 inputs, outputs;
  for (int i = 0; i < 50'000; ++i) {
    const EventView ev = gen.next();
    inputs.update({ev.data(), ev.size()});
    out.clear();
    reference.process(ev, out);
    outputs.update(out.bytes());
    gen.observe(out.bytes());
  }
  EXPECT_EQ(cascade::digest_hex(inputs.value()), "b1256a7f0d7ccf73");
  EXPECT_EQ(cascade::digest_hex(outputs.value()), "61238ac6cdf1f40f");
}

// The generator must keep reaching every outcome the contract describes; the reference engine
// alone tells us which ones a stream hit.
TEST(DifferentialGenerator, StreamsReachEveryOutcome) {
  std::map<std::string, std::uint64_t> seen;
  std::uint64_t max_triggers_per_event = 0, max_depth = 0, max_steps_per_event = 0;
  for (const Scenario& s : kScenarios) {
    ReferenceEngine reference(s.gen.engine);
    RandomEvents gen(s.seed ^ 0xC0FFEE, s.gen);
    EventBuffer out;
    std::map<std::pair<cascade::AccountId, cascade::InstrumentId>, cascade::Qty> sizes;
    for (int i = 0; i < (kSlowBuild ? 8'000 : 40'000); ++i) {
      out.clear();
      const EventView input = gen.next();
      reference.process(input, out);
      gen.observe(out.bytes());
      // The oracle's own invariants, without the engine.
      const std::string broken = check_reference(reference, out.bytes(), s.gen.engine.max_instruments);
      ASSERT_EQ(broken, "") << s.name << " event " << i << ": " << describe(input) << "\n"
                            << describe_block(out.bytes());
      std::uint64_t triggers = 0, steps = 0;
      cascade::EventReader reader(out.bytes());
      EventView ev;
      while (reader.next(ev)) {
        const auto line = describe(ev, false);
        switch (ev.type()) {
          case wire::MsgType::Rejected:
            ++seen[line.substr(line.find("reason="), line.find(" input=") - line.find("reason="))];
            break;
          case wire::MsgType::OrderCancelled:
            ++seen[line.substr(line.find("reason="), line.find(" side=") - line.find("reason="))];
            break;
          case wire::MsgType::OrderModified:
            ++seen["modified " + line.substr(line.find("priority_kept="))];
            break;
          case wire::MsgType::StopTriggered:
            ++triggers;
            break;
          case wire::MsgType::OrderAccepted:
            ++seen["accepted"];
            if (ev.as<wire::OrderAccepted>().flags & cascade::order_flags::kMarkTrigger) ++seen["accepted mark stop"];
            break;
          case wire::MsgType::Fill: {
            const auto& f = ev.as<wire::Fill>();
            namespace ff = wire::fill_flags;
            ++seen[f.flags & ff::kDeleverage ? "fill deleverage"
                   : f.flags & ff::kBackstop ? "fill backstop"
                   : f.flags & ff::kLiquidation ? "fill liquidation"
                   : f.flags ? "fill from stop"
                             : "fill"];
            if ((f.flags & ff::kLiquidation) && !(f.flags & (ff::kBackstop | ff::kDeleverage)) && f.taker_fee > 0)
              ++seen["liquidation fee"];
            if (f.maker_fee < 0) ++seen["maker rebate"];
            break;
          }
          case wire::MsgType::PositionUpdate: {
            const auto& u = ev.as<wire::PositionUpdate>();
            ++seen["position"];
            if (u.realized_pnl != 0) ++seen["realized pnl"];
            const bool isolated = reference.isolated(u.account, u.instrument);
            if (u.size != 0 && isolated) ++seen["isolated position"];
            if (u.size != 0 && reference.instrument(u.instrument)->tier_count == 0) ++seen["unmargined position"];
            cascade::Qty& was = sizes[{u.account, u.instrument}];
            if ((was > 0 && u.size < 0) || (was < 0 && u.size > 0)) ++seen[isolated ? "isolated flip" : "flip"];
            was = u.size;
            break;
          }
          case wire::MsgType::BalanceChange: {
            const auto& b = ev.as<wire::BalanceChange>();
            ++seen["balance"];
            const auto m = reference.margin(b.account);
            if (b.delta < 0 && std::min(m.collateral, m.equity) == m.initial_margin && m.initial_margin > 0)
              ++seen["withdrawal to the limit"];
            break;
          }
          case wire::MsgType::MarkPrice: {
            const auto& m = ev.as<wire::MarkPrice>();
            ++seen["mark_price"];
            const cascade::Rate band = reference.instrument(m.instrument)->mark_band;
            const I128 d = I128{m.index} * band / 100'000'000;
            if (m.index != 0 && m.mark != m.index) ++seen["mark off the index"];
            const auto* def = reference.instrument(m.instrument);
            if ((m.index > def->max_price && m.mark == def->max_price) ||
                (m.index < def->min_price && m.mark == def->min_price))
              ++seen["mark at the range edge"];
            if (m.index != 0 && band > 0 && d > 0 && (m.mark == m.index + d || m.mark == m.index - d))
              ++seen["mark at the band"];
            break;
          }
          case wire::MsgType::MarginUpdate: {
            const auto& u = ev.as<wire::MarginUpdate>();
            ++seen["margin"];
            if (u.equity < u.maintenance_margin && u.maintenance_margin > 0) ++seen["below maintenance"];
            break;
          }
          case wire::MsgType::Liquidation: {
            const auto& l = ev.as<wire::Liquidation>();
            static const char* const kStages[] = {"?", "triggered", "orders_cancelled", "book_order", "backstop",
                                                  "deleveraged", "bankrupt", "completed", "socialized"};
            const auto stage = static_cast<unsigned>(l.stage);
            ++seen[std::string("liquidation ") + (stage < 9 ? kStages[stage] : "?")];
            if (l.stage == wire::LiquidationStage::Triggered) {
              ++seen[l.instrument == cascade::kAllInstruments ? "liquidation cross" : "liquidation isolated"];
              max_depth = std::max<std::uint64_t>(max_depth, l.depth);
              ++steps;
            }
            break;
          }
          case wire::MsgType::InsuranceFund: {
            const auto reason = static_cast<unsigned>(ev.as<wire::InsuranceFund>().reason);
            ++seen["insurance_fund " + std::to_string(reason)];
            break;
          }
          case wire::MsgType::CircuitBreaker:
            ++seen[ev.as<wire::CircuitBreaker>().paused ? "circuit paused" : "circuit resumed"];
            break;
          default:
            ++seen[wire::type_name(ev.type())];
            break;
        }
      }
      max_steps_per_event = std::max(max_steps_per_event, steps);
      max_triggers_per_event = std::max(max_triggers_per_event, triggers);
    }
    seen["stop by mark"] += reference.mark_stops_fired();
  }
  std::string histogram;
  for (const auto& [what, n] : seen) histogram += "  " + what + ": " + std::to_string(n) + "\n";
  const char* required[] = {"reason=unknown_instrument",
                            "reason=unknown_account",
                            "reason=invalid_side",
                            "reason=invalid_order_type",
                            "reason=invalid_time_in_force",
                            "reason=invalid_flags",
                            "reason=invalid_quantity",
                            "reason=quantity_off_lot",
                            "reason=invalid_price",
                            "reason=price_off_tick",
                            "reason=price_out_of_band",
                            "reason=price_out_of_range",
                            "reason=duplicate_order_id",
                            "reason=unknown_order",
                            "reason=not_order_owner",
                            "reason=post_only_would_take",
                            "reason=order_capacity",
                            "reason=invalid_instrument",
                            "reason=timestamp_backwards",
                            "reason=insufficient_funds",
                            "reason=invalid_amount",
                            "reason=modify_no_change",
                            "reason=invalid_stp",
                            "reason=invalid_trigger_price",
                            "reason=invalid_settings",
                            "reason=invalid_order_id",
                            "reason=insufficient_margin",
                            "reason=account_capacity",
                            "reason=reduce_only_would_increase",
                            "reason=reduce_only",
                            "reason=user",
                            "reason=mass_cancel",
                            "reason=ioc_remainder",
                            "reason=fok_not_filled",
                            "reason=no_liquidity",
                            "reason=self_trade",
                            "modified priority_kept=0",
                            "modified priority_kept=1",
                            "fill",
                            "fill from stop",
                            "stop by mark",
                            "accepted mark stop",
                            "accepted",
                            "depth",
                            "top_of_book",
                            "balance",
                            "maker rebate",
                            "position",
                            "realized pnl",
                            "isolated position",
                            "unmargined position",
                            "margin",
                            "mark_price",
                            "mark off the index",
                            "mark at the band",
                            "mark at the range edge",
                            "funding_payment",
                            "flip",
                            "isolated flip",
                            "withdrawal to the limit",
                            // docs/liquidation.md
                            "reason=liquidation",
                            "liquidation cross",
                            "liquidation isolated",
                            "liquidation orders_cancelled",
                            "liquidation book_order",
                            "liquidation backstop",
                            "liquidation deleveraged",
                            "liquidation bankrupt",
                            "liquidation socialized",
                            "liquidation completed",
                            "fill liquidation",
                            "fill backstop",
                            "fill deleverage",
                            "liquidation fee",
                            "deleverage",
                            "insurance_fund 1",  // liquidation fee
                            "insurance_fund 3",  // bankruptcy payout
                            "insurance_fund 4",  // funding remainder
                            "circuit paused",
                            "circuit resumed",
                            "reason=instrument_paused"};
  // The streams are the same on every toolchain (see the digest test): slow builds check the
  // invariants on a part of them and leave the outcome count to the optimized builds.
  if (kSlowBuild) return;
  for (const char* r : required) EXPECT_GT(seen[r], 0u) << r << " never happened\n" << histogram;
  EXPECT_GE(max_triggers_per_event, 3u) << "stops never cascaded\n" << histogram;
  // A MarginUpdate below maintenance would mean the cascade left a unit behind.
  EXPECT_EQ(seen["below maintenance"], 0u) << histogram;
  EXPECT_GE(max_depth, 3u) << "liquidations never cascaded three deep\n" << histogram;
  EXPECT_GE(max_steps_per_event, 4u) << "no input started four liquidation steps\n" << histogram;
  std::printf("outcomes over the generated streams (reference engine):\n%slongest stop cascade: %llu\n"
              "deepest liquidation: %llu, most liquidation steps in one input: %llu\n",
              histogram.c_str(), static_cast<unsigned long long>(max_triggers_per_event),
              static_cast<unsigned long long>(max_depth), static_cast<unsigned long long>(max_steps_per_event));
}

}  // namespace
