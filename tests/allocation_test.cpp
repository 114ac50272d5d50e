// Proves the engine does not allocate in steady state: every global operator new of this
// executable is counted, and a mixed stream (every order type, fills, stop cascades, STP,
// cancels, modifies, mass cancels, transfers, rejects, and the margin engine's events: index
// prices, funding, reduce-only orders, isolated margin, pre-trade rejects) processed after a
// warm-up must not raise the count.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <random>
#include <vector>

#include "cascade/engine.hpp"
#include "cascade/event_buffer.hpp"
#include "cascade/event_reader.hpp"
#include "support/events.hpp"

namespace {
std::atomic<std::uint64_t> g_allocations{0};

void* counted_alloc(std::size_t n, std::size_t align = 0) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (n == 0) n = 1;
  void* p = nullptr;
  if (align > alignof(std::max_align_t)) {
    if (posix_memalign(&p, align, n) != 0) p = nullptr;
  } else {
    p = std::malloc(n);
  }
  if (!p) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(std::size_t n) { return counted_alloc(n); }
void* operator new[](std::size_t n) { return counted_alloc(n); }
void* operator new(std::size_t n, std::align_val_t a) { return counted_alloc(n, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return counted_alloc(n, static_cast<std::size_t>(a)); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted_alloc(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted_alloc(n);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace {

using namespace cascade;
namespace t = cascade::testing;

constexpr InstrumentId kInstruments = 3;
constexpr AccountId kAccounts = 8;

struct Counts {
  std::uint64_t events = 0;
  std::uint64_t by_type[256] = {};
};

// A pre-encoded input stream, so building it is not counted.
std::vector<std::byte> mixed_stream(std::uint64_t seed, SeqNo& seq, Timestamp& ts, OrderId& next_id, int events) {
  std::vector<std::byte> buf;
  const auto put = [&](auto m) {
    m.header.seq = ++seq;
    m.header.ts_ns = (ts += 100);
    const auto* p = reinterpret_cast<const std::byte*>(&m);
    buf.insert(buf.end(), p, p + sizeof m);
  };
  std::mt19937_64 rng(seed);
  for (int i = 0; i < events; ++i) {
    // Account and instrument follow from the order id, so cancels and modifies of a random
    // earlier id usually name its owner and book (and sometimes, on purpose, not).
    const OrderId id = next_id;
    const auto acct_of = [](OrderId o) { return static_cast<AccountId>(o % kAccounts); };
    const auto inst_of = [](OrderId o) { return static_cast<InstrumentId>(o / kAccounts % kInstruments); };
    AccountId acct = acct_of(id);
    InstrumentId inst = inst_of(id);
    const Side side = rng() % 2 ? Side::Buy : Side::Sell;
    const Price px = 900 + static_cast<Price>(rng() % 200);
    const Qty qty = 1 + static_cast<Qty>(rng() % 50);
    const OrderId target = next_id > 200 ? next_id - 1 - rng() % 200 : 1;
    const auto kind = rng() % 20;
    if (kind >= 10 && kind <= 13) {  // cancel or modify
      acct = rng() % 8 ? acct_of(target) : acct_of(target + 1);
      inst = inst_of(target);
    }
    const auto stp = static_cast<SelfTradePrevention>(rng() % 4);
    switch (kind) {
      case 0: case 1: case 2: case 3: case 4: {
        auto o = t::limit(0, 0, next_id++, acct, inst, side, px, qty);
        o.stp = stp;
        if (rng() % 8 == 0) o.flags = order_flags::kReduceOnly;
        put(o);
        break;
      }
      case 5: put(t::limit(0, 0, next_id++, acct, inst, side, px, qty, TimeInForce::IOC)); break;
      case 6: put(t::limit(0, 0, next_id++, acct, inst, side, px, qty, TimeInForce::FOK)); break;
      case 7: put(t::market(0, 0, next_id++, acct, inst, side, qty, 0, rng() % 2 ? TimeInForce::IOC : TimeInForce::FOK)); break;
      case 8: {  // a third of the stops trigger on the mark price, the rest on the last trade
        auto o = t::stop_market(0, 0, next_id++, acct, inst, side, px, qty);
        if (rng() % 3 == 0) o.flags = order_flags::kMarkTrigger;
        put(o);
        break;
      }
      case 9: {
        auto o = t::stop_limit(0, 0, next_id++, acct, inst, side, px, side == Side::Buy ? px + 5 : px - 5, qty);
        if (rng() % 3 == 0) o.flags = order_flags::kMarkTrigger;
        put(o);
        break;
      }
      case 10: case 11: put(t::cancel(0, 0, target, acct, inst)); break;
      case 12: case 13: put(t::modify(0, 0, target, acct, inst, px, qty)); break;
      case 14: put(t::mass_cancel(0, 0, acct, rng() % 2 ? inst : kAllInstruments)); break;
      case 16: case 17: put(t::index_price(0, 0, inst, 950 + static_cast<Price>(rng() % 100))); break;
      case 18:
        if (rng() % 4) put(t::funding_rate(0, 0, inst, static_cast<Rate>(rng() % 200'000) - 100'000));
        else put(t::account_settings(0, 0, acct, inst, rng() % 2 ? wire::MarginMode::Isolated : wire::MarginMode::Cross));
        break;
      default:
        if (rng() % 2) put(t::deposit(0, 0, acct, 1 + static_cast<Money>(rng() % 1000), rng()));
        else put(t::withdrawal(0, 0, acct, 1 + static_cast<Money>(rng() % 1000), rng()));
        break;
    }
  }
  // Some rejects of every kind of input, too.
  put(t::limit(0, 0, 0, 0, 0, Side::Buy, 1000, 1));
  put(t::limit(0, 0, next_id++, 0, 99, Side::Buy, 1000, 1));
  put(t::cancel(0, 0, 1, 0, 0));
  put(t::deposit(0, 0, 0, -1, 1));
  put(t::index_price(0, 0, 0, 1000));
  put(t::heartbeat(0, 0));
  return buf;
}

TEST(Allocation, SteadyStateProcessingDoesNotAllocate) {
  EngineConfig cfg;
  cfg.max_instruments = 8;
  cfg.max_accounts = 64;
  cfg.max_orders = 4096;
  cfg.max_levels_per_book = 1 << 16;
  Engine eng(cfg);
  EventBuffer out(1 << 20);
  SeqNo seq = 0;
  Timestamp ts = 1'000'000;
  OrderId next_id = 1;

  std::vector<std::byte> setup;
  for (InstrumentId i = 0; i < kInstruments; ++i) {
    auto d = t::instrument(++seq, ts, i, 1, 1, 1, 60000, 100000);
    d.reference_price = 1000;
    d.market_band = 5'000'000;
    if (i == 0) {  // margined, with a maker rebate; the others carry positions without tiers
      d.qty_decimals = 2;
      d.maker_fee = -10'000;
      d.taker_fee = 50'000;
      d.mark_band = 2'000'000;
      d.tier_count = 2;
      d.tiers[0] = {20'000'000'000, 2'000'000, 1'000'000, 0};
      d.tiers[1] = {1'000'000'000'000, 10'000'000, 5'000'000, 800'000'000};
    }
    const auto* p = reinterpret_cast<const std::byte*>(&d);
    setup.insert(setup.end(), p, p + sizeof d);
  }
  for (AccountId a = 0; a < kAccounts; ++a) {
    auto dep = t::deposit(++seq, ts, a, 2'000'000'000 + 1'000'000'000 * static_cast<Money>(a), a + 1);
    const auto* p = reinterpret_cast<const std::byte*>(&dep);
    setup.insert(setup.end(), p, p + sizeof dep);
  }
  const auto warm = mixed_stream(1, seq, ts, next_id, 20000);
  const auto steady = mixed_stream(2, seq, ts, next_id, 20000);

  const auto run = [&](const std::vector<std::byte>& buf) {
    EventReader reader({buf.data(), buf.size()});
    EventView ev;
    Counts c;
    while (reader.next(ev)) {
      out.clear();
      eng.process(ev, out);
      ++c.events;
      EventReader produced(out.bytes());
      EventView o;
      while (produced.next(o)) ++c.by_type[static_cast<std::uint8_t>(o.type())];
    }
    EXPECT_TRUE(reader.ok());
    return c;
  };
  run(setup);
  run(warm);
  ASSERT_EQ(eng.instrument_ids().size(), kInstruments);

  const std::uint64_t before = g_allocations.load();
  const SeqNo out_before = eng.output_seq();
  const Counts c = run(steady);
  const std::uint64_t allocations = g_allocations.load() - before;

  EXPECT_EQ(allocations, 0u);
  EXPECT_EQ(c.events, 20006u);
  EXPECT_EQ(eng.output_seq() - out_before, [&] {
    std::uint64_t n = 0;
    for (auto x : c.by_type) n += x;
    return n;
  }());
  // The stream really exercised the engine.
  using wire::MsgType;
  const auto count = [&](MsgType t) { return c.by_type[static_cast<std::uint8_t>(t)]; };
  EXPECT_GT(count(MsgType::Fill), 2000u);
  EXPECT_GT(count(MsgType::StopTriggered), 100u);
  EXPECT_GT(count(MsgType::OrderModified), 100u);
  EXPECT_GT(count(MsgType::OrderCancelled), 2000u);
  EXPECT_GT(count(MsgType::Rejected), 1000u);
  EXPECT_GT(count(MsgType::BalanceChange), 500u);
  EXPECT_GT(count(MsgType::DepthLevel), 5000u);  // a fifth of the events are margin inputs
  EXPECT_GT(count(MsgType::TopOfBook), 1000u);
  EXPECT_GT(count(MsgType::PositionUpdate), 4000u);
  EXPECT_GT(count(MsgType::MarginUpdate), 10000u);
  EXPECT_GT(count(MsgType::MarkPrice), 1000u);
  EXPECT_GT(count(MsgType::FundingPayment), 1000u);
  EXPECT_GT(eng.live_orders(), 0u);
}

// Liquidations in steady state: every cycle 20 accounts open longs at up to 10x, the index
// falls 15%, and all of them are liquidated through the makers' bids in one cascade. Events are built on
// the stack; only the engine could allocate.
TEST(Allocation, LiquidationCascadesDoNotAllocate) {
  EngineConfig cfg;
  cfg.max_instruments = 2;
  cfg.max_accounts = 64;
  cfg.max_orders = 4096;
  cfg.max_levels_per_book = 1 << 17;
  cfg.max_positions = 256;
  Engine eng(cfg);
  EventBuffer out(1 << 20);
  SeqNo seq = 0;
  Timestamp ts = 1'000'000;
  OrderId next_id = 1;
  std::uint64_t transfer = 0;
  constexpr Money kUsd = 1'000'000;
  constexpr AccountId kMaker = 40, kLongs = 20;
  std::uint64_t liquidation_events = 0;
  const auto send = [&](auto m) {
    m.header.seq = ++seq;
    m.header.ts_ns = (ts += 100);
    out.clear();
    eng.process(m, out);
    EventReader produced(out.bytes());
    EventView o;
    while (produced.next(o)) liquidation_events += o.type() == wire::MsgType::Liquidation;
  };
  auto d = t::instrument(0, 0, 0, 1, 1, 1, 100'000, 1'000'000);
  d.tier_count = 2;
  d.tiers[0] = {10'000 * kUsd, 10'000'000, 5'000'000, 0};
  d.tiers[1] = {10'000'000 * kUsd, 20'000'000, 10'000'000, 500 * kUsd};
  d.liquidation_fee = 1'000'000;
  d.mark_band = 1;
  send(d);
  send(t::index_price(0, 0, 0, 100));
  send(t::deposit(0, 0, kMaker, 100'000'000 * kUsd, ++transfer));
  const auto cycle = [&] {
    Qty total = 0;
    for (AccountId a = 1; a <= kLongs; ++a) {
      if (eng.balance(a) < 1'000 * kUsd) send(t::deposit(0, 0, a, 1'000 * kUsd, ++transfer));
      const Qty q = 100;  // 10,000 USD: IM 1,000
      send(t::limit(0, 0, next_id++, kMaker, 0, Side::Sell, 100, q));
      send(t::limit(0, 0, next_id++, a, 0, Side::Buy, 100, q, TimeInForce::IOC));
      total += q;
    }
    send(t::limit(0, 0, next_id++, kMaker, 0, Side::Buy, 96, total / 2));
    send(t::limit(0, 0, next_id++, kMaker, 0, Side::Buy, 95, total));
    send(t::index_price(0, 0, 0, 85));  // below maintenance with anything under 2,000 USD
    send(t::mass_cancel(0, 0, kMaker, 0));
    send(t::index_price(0, 0, 0, 100));
  };
  for (int k = 0; k < 5; ++k) cycle();
  const std::uint64_t before = g_allocations.load();
  const std::uint64_t liq_before = eng.liquidation_totals().liquidations;
  liquidation_events = 0;
  for (int k = 0; k < 20; ++k) cycle();
  EXPECT_EQ(g_allocations.load() - before, 0u);
  EXPECT_EQ(eng.liquidation_totals().liquidations - liq_before, 20u * kLongs);
  EXPECT_EQ(liquidation_events, 20u * kLongs * 4);  // triggered, orders cancelled, book order, completed
  EXPECT_EQ(eng.totals().below_maintenance, 0u);
}

TEST(Allocation, TheCounterSeesAllocations) {
  const std::uint64_t before = g_allocations.load();
  auto* v = new std::vector<int>(100);
  delete v;
  EXPECT_GE(g_allocations.load() - before, 2u);
}

}  // namespace
