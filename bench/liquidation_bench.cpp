// Cost of liquidation (docs/liquidation.md):
// - detection per mark tick with 1, 10, 100 and 1,000,000 accounts far from their limits
//   (liquidation on: the cascade loop runs after every event and must find nothing, cheaply);
// - throughput: 10,000 accounts pushed below maintenance by one index event, each closed
//   through a book of small orders (several fills per liquidation);
// - a cascade: 100,000 accounts whose own liquidation fills walk the price down into the
//   next ones, all started by one trade.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "cascade/engine.hpp"
#include "bench_support.hpp"
#include "cascade/event_buffer.hpp"

namespace {

using namespace cascade;

constexpr Price kMid = 1'000'000;  // 100,000.0 USD at price_decimals 1
constexpr Money kRich = 1'000'000'000'000;

// CASCADE_BENCH_ACCOUNTS shrinks the cascade for profiling runs.
std::size_t env_accounts(std::size_t fallback) {
  const char* v = std::getenv("CASCADE_BENCH_ACCOUNTS");
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

// BTC-PERP with a 0.5% liquidation fee and the three tiers.
wire::InstrumentDefinition btc(bool index_mark) {
  auto d = bench::btc_perp(0);
  d.liquidation_fee = 500'000;  // 0.5%
  d.mark_band = index_mark ? 1 : 0;
  bench::three_tiers(d);
  return d;
}

EngineConfig config(std::uint32_t accounts, std::uint32_t orders) {
  EngineConfig c;
  c.max_instruments = 2;
  c.max_accounts = accounts + 16;
  c.max_positions = accounts + 64;
  c.max_orders = orders + 1024;
  c.max_levels_per_book = 1u << 20;
  return c;
}

class Driver {
 public:
  Driver(const EngineConfig& cfg, std::size_t out_bytes) : eng(cfg), out(out_bytes) {}
  template <class T>
  void send(T m) {
    m.header.seq = ++seq;
    m.header.ts_ns = (ts += 1000);
    out.clear();
    eng.process(m, out);
  }
  void order(AccountId a, Side side, Price p, Qty q, TimeInForce tif = TimeInForce::GTC) {
    auto o = wire::make<wire::NewOrder>();
    o.order_id = ++ids;
    o.account = a;
    o.instrument = 0;
    o.side = side;
    o.order_type = OrderType::Limit;
    o.tif = tif;
    o.price = p;
    o.qty = q;
    send(o);
  }
  void deposit(AccountId a, Money amount) {
    auto d = wire::make<wire::Deposit>();
    d.account = a;
    d.amount = amount;
    d.transfer_id = ++transfers;
    send(d);
  }
  void index(Price p) {
    auto x = wire::make<wire::IndexPrice>();
    x.instrument = 0;
    x.price = p;
    send(x);
  }
  Engine eng;
  EventBuffer out;
  SeqNo seq = 0;
  Timestamp ts = 1'000'000;
  OrderId ids = 0;
  std::uint64_t transfers = 0;
};

// One index tick, back and forth, with `accounts` accounts holding 0.01 BTC behind 1M USD
// each: after every event the cascade loop refreshes the mark and finds nobody below.
void BM_DetectionPerMarkTick(benchmark::State& state) {
  const auto accounts = static_cast<std::uint32_t>(state.range(0));
  const std::uint32_t holders = accounts < 2 ? 2 : accounts;
  Driver d(config(holders + 2, 1024), 1 << 16);
  d.send(btc(true));
  d.index(kMid);
  for (AccountId a = 1; a <= holders; ++a) d.deposit(a, kRich);
  for (AccountId a = 1; a + 1 <= holders; a += 2) {
    d.order(a, Side::Sell, kMid, 10);
    d.order(a + 1, Side::Buy, kMid, 10, TimeInForce::IOC);
  }
  if (d.eng.instrument_totals(0).holders < holders / 2 * 2) state.SkipWithError("setup did not open every position");
  bool up = false;
  for (auto _ : state) {
    up = !up;
    d.index(up ? kMid + 1 : kMid);
    benchmark::DoNotOptimize(d.out.size());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["holders"] = d.eng.instrument_totals(0).holders;
  state.counters["liquidations"] = static_cast<double>(d.eng.liquidation_totals().liquidations);
}
BENCHMARK(BM_DetectionPerMarkTick)->Arg(1)->Arg(10)->Arg(100)->Arg(1'000'000)->Unit(benchmark::kNanosecond);

// 10,000 accounts long 0.05 BTC at 100,000 with 60 USD each (IM 50, MM 25). The index falls
// 0.8%: equity 20 < MM 24.8, so every one is liquidated, each through 5 resting orders.
void BM_LiquidationThroughput(benchmark::State& state) {
  constexpr std::uint32_t kAccounts = 10'000;
  constexpr Qty kSize = 50, kOrderQty = 10;
  constexpr std::uint32_t kOrders = kAccounts * (kSize / kOrderQty);
  constexpr std::uint32_t kPerMaker = 2'000;  // 20 BTC of bids per maker: inside the last tier
  std::uint64_t fills = 0, liquidations = 0;
  double seconds = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto d = std::make_unique<Driver>(config(2 * kAccounts + kOrders / kPerMaker + 8, kOrders), 256u << 20);
    d->send(btc(true));
    d->index(kMid);
    const AccountId longs = 1, shorts = longs + kAccounts, makers = shorts + kAccounts;
    for (std::uint32_t k = 0; k < kAccounts; ++k) {
      d->deposit(longs + k, 60'000'000);
      d->deposit(shorts + k, kRich);
      d->order(shorts + k, Side::Sell, kMid, kSize);
      d->order(longs + k, Side::Buy, kMid, kSize, TimeInForce::IOC);
    }
    // The book: 50 orders of 0.01 BTC per level, 1,000 levels from 99,190 down (all above
    // the bankruptcy price 98,800).
    for (std::uint32_t k = 0; k < kOrders; ++k) {
      const AccountId m = makers + k / kPerMaker;
      if (k % kPerMaker == 0) d->deposit(m, kRich);
      d->order(m, Side::Buy, kMid - 8'100 - static_cast<Price>(k / 50), kOrderQty);
    }
    const LiquidationTotals before = d->eng.liquidation_totals();
    state.ResumeTiming();
    const auto t0 = std::chrono::steady_clock::now();
    d->index(kMid - 8'000);
    const auto t1 = std::chrono::steady_clock::now();
    state.PauseTiming();
    const LiquidationTotals after = d->eng.liquidation_totals();
    fills += after.book_fills - before.book_fills;
    liquidations += after.liquidations - before.liquidations;
    seconds += std::chrono::duration<double>(t1 - t0).count();
    if (after.liquidations - before.liquidations != kAccounts) state.SkipWithError("not every account was liquidated");
    d.reset();
    state.ResumeTiming();
  }
  state.counters["fills_per_s"] = static_cast<double>(fills) / seconds;
  state.counters["liquidations_per_s"] = static_cast<double>(liquidations) / seconds;
  state.counters["fills_per_liq"] = static_cast<double>(fills) / static_cast<double>(liquidations);
}
BENCHMARK(BM_LiquidationThroughput)->Iterations(3)->Unit(benchmark::kMillisecond);

// 100,000 accounts long 0.01 BTC at 100,000 (no index: the mark is the last trade), account k
// with 10 USD + 0.98 k price units of margin: it crosses below about 99,497.5 - 0.0985 k USD.
// The bids: 0.01 BTC per level from 99,490 down. One sell of the two top levels starts it;
// each liquidation takes one level (the mark falls 0.1 USD), and the next accounts cross a
// little faster than they are processed, so the cascade runs to the last account without
// leaving any of them under water long enough to go bankrupt.
void BM_Cascade100k(benchmark::State& state) {
  const auto kAccounts = static_cast<std::uint32_t>(env_accounts(100'000));
  constexpr Qty kSize = 10;
  constexpr std::uint32_t kPerMaker = 2'000;
  std::uint64_t liquidations = 0, depth = 0, fills = 0;
  double seconds = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto d = std::make_unique<Driver>(config(2 * kAccounts + kAccounts / kPerMaker + 8, kAccounts + 16), 512u << 20);
    d->send(btc(false));
    const AccountId longs = 1, shorts = longs + kAccounts, makers = shorts + kAccounts, trigger = makers + kAccounts / kPerMaker + 1;
    for (std::uint32_t k = 0; k < kAccounts; ++k) {
      // IM 10 USD; a price unit is 0.001 USD on 0.01 BTC.
      d->deposit(longs + k, 10'000'000 + static_cast<Money>(k) * 980);
      d->deposit(shorts + k, kRich);
      d->order(shorts + k, Side::Sell, kMid, kSize);
      d->order(longs + k, Side::Buy, kMid, kSize, TimeInForce::IOC);
    }
    for (std::uint32_t k = 0; k < kAccounts + 8; ++k) {
      const AccountId m = makers + k / kPerMaker;
      if (k % kPerMaker == 0) d->deposit(m, kRich);
      d->order(m, Side::Buy, kMid - 5'100 - static_cast<Price>(k), kSize);
    }
    d->deposit(trigger, kRich);
    // A warm output buffer, as in a running venue: the cascade writes about 70 MB.
    static const std::byte zeros[1 << 16] = {};
    for (std::size_t k = 0; k < (128u << 20) / sizeof zeros; ++k) d->out.append_raw(zeros, sizeof zeros);
    d->out.clear();
    const LiquidationTotals before = d->eng.liquidation_totals();
    auto o = wire::make<wire::NewOrder>();
    o.order_id = ++d->ids;
    o.account = trigger;
    o.side = Side::Sell;
    o.order_type = OrderType::Limit;
    o.tif = TimeInForce::IOC;
    o.price = kMid - 5'101;
    o.qty = 2 * kSize;
    state.ResumeTiming();
    const auto t0 = std::chrono::steady_clock::now();
    d->send(o);
    const auto t1 = std::chrono::steady_clock::now();
    state.PauseTiming();
    const LiquidationTotals after = d->eng.liquidation_totals();
    liquidations += after.liquidations - before.liquidations;
    fills += after.book_fills - before.book_fills;
    depth = after.max_depth;
    seconds += std::chrono::duration<double>(t1 - t0).count();
    if (after.liquidations - before.liquidations < kAccounts) state.SkipWithError("the cascade stopped early");
    d.reset();
    state.ResumeTiming();
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["liquidations"] = static_cast<double>(liquidations) / n;
  state.counters["max_depth"] = static_cast<double>(depth);
  state.counters["fills_per_s"] = static_cast<double>(fills) / seconds;
  state.counters["cascade_ms"] = seconds / n * 1e3;
}
BENCHMARK(BM_Cascade100k)->Iterations(3)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
