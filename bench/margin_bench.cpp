// Cost of the margin engine (docs/margin.md): pre-trade risk per order, and a mark price
// update (an index event) with 1, 1k and 1M accounts holding positions. A mark update looks
// only at positions whose certified range it leaves, so with every account far from its
// limits the cost must not grow with the number of accounts; the `near` variants put a fixed
// number of accounts at their limit to show what the cost does scale with.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "cascade/engine.hpp"
#include "bench_support.hpp"
#include "cascade/event_buffer.hpp"

namespace {

using namespace cascade;

constexpr Price kMid = 1'000'000;  // 100,000.0 USD at price_decimals 1

wire::InstrumentDefinition btc(InstrumentId id) {
  auto d = bench::btc_perp(id);
  d.maker_fee = -10'000;
  d.taker_fee = 50'000;
  d.mark_band = 1'000'000;
  bench::three_tiers(d);
  return d;
}

class Driver {
 public:
  explicit Driver(const EngineConfig& cfg) : eng(cfg), out(1 << 20) {}

  template <class T>
  void send(T m) {
    m.header.seq = ++seq;
    m.header.ts_ns = (ts += 1000);
    out.clear();
    eng.process(m, out);
  }
  wire::NewOrder order(OrderId id, AccountId a, InstrumentId i, Side side, Price p, Qty q,
                       TimeInForce tif = TimeInForce::GTC) {
    auto o = wire::make<wire::NewOrder>();
    o.order_id = id;
    o.account = a;
    o.instrument = i;
    o.side = side;
    o.order_type = OrderType::Limit;
    o.tif = tif;
    o.price = p;
    o.qty = q;
    return o;
  }
  void deposit(AccountId a, Money amount) {
    auto d = wire::make<wire::Deposit>();
    d.account = a;
    d.amount = amount;
    d.transfer_id = ++transfers;
    send(d);
  }
  void index(InstrumentId i, Price p) {
    auto x = wire::make<wire::IndexPrice>();
    x.instrument = i;
    x.price = p;
    send(x);
  }
  // Accounts first..first+2n-1 end up in n long/short pairs of `lots` each on instrument i.
  void pairs(AccountId first, std::uint32_t n, InstrumentId i, Qty lots) {
    for (std::uint32_t k = 0; k < n; ++k) {
      const AccountId s = first + 2 * k, b = s + 1;
      send(order(++ids, s, i, Side::Sell, kMid, lots));
      send(order(++ids, b, i, Side::Buy, kMid, lots, TimeInForce::IOC));
    }
  }

  Engine eng;
  EventBuffer out;
  SeqNo seq = 0;
  Timestamp ts = 1'000'000;
  OrderId ids = 0;
  std::uint64_t transfers = 0;
};

EngineConfig config(std::uint32_t accounts) {
  EngineConfig c;
  c.max_instruments = 8;
  c.max_accounts = accounts + 16;
  c.max_positions = accounts + 64;
  c.max_orders = 1u << 16;
  c.max_levels_per_book = 1u << 20;
  c.liquidation = false;  // the "near" cases keep accounts below maintenance on purpose
  return c;
}

// An order the pre-trade check refuses: validation plus the whole margin check (the
// account's worst-case notional on every instrument it holds, its equity at the marks), no
// state change. Argument: instruments the account holds positions and orders on.
void BM_PreTradeReject(benchmark::State& state) {
  const auto held = static_cast<InstrumentId>(state.range(0));
  Driver d(config(1024));
  for (InstrumentId i = 0; i < held; ++i) {
    d.send(btc(i));
    d.index(i, kMid);
  }
  const AccountId a = 2;
  d.deposit(a, 10'000'000'000);  // 10,000 USD
  d.deposit(3, 1'000'000'000'000);
  for (InstrumentId i = 0; i < held; ++i) {
    d.send(d.order(++d.ids, 3, i, Side::Sell, kMid, 100));
    d.send(d.order(++d.ids, a, i, Side::Buy, kMid, 100, TimeInForce::IOC));  // 10,000 USD long
    d.send(d.order(++d.ids, a, i, Side::Buy, kMid - 1000, 10));             // and a resting bid
  }
  // 40 BTC (4M USD, inside the last bracket): 5% initial margin, far beyond the equity.
  const wire::NewOrder big = d.order(1'000'000, a, 0, Side::Buy, kMid - 500, 40'000);
  for (auto _ : state) {
    d.send(big);
    benchmark::DoNotOptimize(d.out.size());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PreTradeReject)->Arg(1)->Arg(4)->Arg(8);

// A resting order accepted and cancelled: per pair of events, two pre-trade passes (the
// order, then the account's MarginUpdate after each event) plus the book's work. Argument 1:
// margined instrument, 0: no tiers (the book and bookkeeping without requirements).
void BM_PlaceAndCancel(benchmark::State& state) {
  Driver d(config(1024));
  auto def = btc(0);
  if (state.range(0) == 0) {
    def.tier_count = 0;
    for (auto& t : def.tiers) t = {};
  }
  d.send(def);
  d.index(0, kMid);
  d.deposit(2, 1'000'000'000'000);
  auto c = wire::make<wire::CancelOrder>();
  c.account = 2;
  c.instrument = 0;
  for (auto _ : state) {
    const OrderId id = ++d.ids;
    d.send(d.order(id, 2, 0, Side::Buy, kMid - 100, 10));
    c.order_id = id;
    d.send(c);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PlaceAndCancel)->Arg(0)->Arg(1);

// An index event that moves the mark by one tick, back and forth, with `accounts` accounts
// holding positions far from their limits (and `near` more at their limit, re-examined on
// every move). Setup trades every position into place first.
void BM_MarkUpdate(benchmark::State& state) {
  const auto accounts = static_cast<std::uint32_t>(state.range(0));
  const auto near = static_cast<std::uint32_t>(state.range(1));
  const AccountId sellers = accounts + near + 1;  // counterparties of the near accounts, 20 BTC each
  Driver d(config(accounts + near + near / 20 + 4));
  d.send(btc(0));
  d.index(0, kMid);
  // Far: 1,000,000 USD behind a 0.01 BTC position (1,000 USD notional).
  for (AccountId a = 1; a <= accounts; ++a) d.deposit(a, 1'000'000'000'000);
  d.pairs(1, accounts / 2, 0, 10);
  if (accounts % 2) {  // an odd account trades with the last one
    d.send(d.order(++d.ids, accounts, 0, Side::Sell, kMid, 10));
    d.deposit(accounts + near + 1, 1'000'000'000'000);
    d.send(d.order(++d.ids, accounts + near + 1, 0, Side::Buy, kMid, 10, TimeInForce::IOC));
  }
  // Near: accounts at their limit (1 BTC long on 1,000 USD, 50 USD fees paid), pushed below
  // maintenance by the index: they are re-examined on every move of the mark.
  for (std::uint32_t k = 0; k < near; ++k) {
    const AccountId a = accounts + 1 + k;
    d.deposit(a, 1'000'000'000);
    d.deposit(sellers + k / 20, 1'000'000'000'000);
    d.send(d.order(++d.ids, sellers + k / 20, 0, Side::Sell, kMid, 1000));
    d.send(d.order(++d.ids, a, 0, Side::Buy, kMid, 1000, TimeInForce::IOC));
  }
  if (near) d.index(0, kMid - 4600);  // equity 950 - 460 = 490 < maintenance 497.7
  const Price base = near ? kMid - 4600 : kMid;
  if (d.eng.instrument_totals(0).holders < accounts) state.SkipWithError("setup did not open every position");
  bool up = false;
  for (auto _ : state) {
    up = !up;
    d.index(0, up ? base + 1 : base);
    benchmark::DoNotOptimize(d.out.size());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["holders"] = d.eng.instrument_totals(0).holders;
  state.counters["below"] = d.eng.totals().below_maintenance;
}
BENCHMARK(BM_MarkUpdate)
    ->Args({1, 0})
    ->Args({1'000, 0})
    ->Args({1'000'000, 0})
    ->Args({1'000, 10})
    ->Args({1'000, 100})
    ->Unit(benchmark::kNanosecond);

}  // namespace

BENCHMARK_MAIN();
