// The threaded pipeline (cascade/pipeline.hpp) and the queue under it:
// - BM_SpscBytes: Boost.Lockfree spsc_queue<std::byte> moving bytes from this thread to a
//   consumer thread in chunks of 64 B .. 64 KiB (bytes/s; a chunk of 64 B is ~one event);
// - BM_PipelineEndToEnd: 200k input events (order flow with fills, cancels, modifies) from this
//   thread through the engine thread to the output thread, batches of 1..1024 events per
//   submit, blocking or spinning waits; events/s end to end, sampled latency, stalls;
// - BM_PipelineRoundTrip: one event at a time, waiting for its output to reach the sink:
//   the latency of an idle pipeline (two queue hops and two wake-ups).
// Three threads on a machine with fewer idle cores measure the scheduler as much as the code.
#include <benchmark/benchmark.h>

#include <atomic>
#include <boost/lockfree/spsc_queue.hpp>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "bench_support.hpp"
#include "cascade/engine.hpp"
#include "cascade/event_reader.hpp"
#include "cascade/pipeline.hpp"

namespace {

using namespace cascade;

// --- the raw queue --------------------------------------------------------------------------------

void BM_SpscBytes(benchmark::State& state) {
  const std::size_t chunk = static_cast<std::size_t>(state.range(0));
  boost::lockfree::spsc_queue<std::byte> q(1 << 20);
  std::atomic<bool> stop{false};
  std::thread consumer([&] {
    std::vector<std::byte> sink(1 << 16);
    while (!stop.load(std::memory_order_relaxed)) q.pop(sink.data(), sink.size());
  });
  std::vector<std::byte> data(chunk, std::byte{7});
  for (auto _ : state) {
    std::size_t left = chunk;
    const std::byte* p = data.data();
    while (left) {
      const std::size_t k = q.push(p, left);
      p += k;
      left -= k;
    }
  }
  stop = true;
  consumer.join();
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * chunk));
}
BENCHMARK(BM_SpscBytes)->Arg(64)->Arg(1024)->Arg(16 << 10)->Arg(64 << 10)->UseRealTime();

// --- a stream -------------------------------------------------------------------------------------

constexpr AccountId kAccounts = 1000;
constexpr Price kMid = 1'000'000;

wire::InstrumentDefinition btc() {
  auto d = bench::btc_perp(0);
  d.taker_fee = 50'000;
  d.tier_count = 1;
  d.tiers[0] = {1'000'000'000'000'000, 1'000'000, 500'000, 0};
  return d;
}

EngineConfig config() {
  EngineConfig c;
  c.max_instruments = 4;
  c.max_accounts = kAccounts;
  c.max_orders = 1 << 16;
  c.max_levels_per_book = 1 << 20;
  c.max_positions = 4096;
  return c;
}

// Definition, deposits, then limit orders around a drifting mid (about a third cross), cancels
// of recent orders and modifies.
const bench::StreamWriter& stream() {
  static const bench::StreamWriter w = [] {
    bench::StreamWriter s(32 << 20);
    s.add(btc());
    for (AccountId a = 0; a < kAccounts; ++a) {
      auto d = wire::make<wire::Deposit>();
      d.account = a;
      d.amount = 1'000'000'000'000'000;
      d.transfer_id = a + 1;
      s.add(d);
    }
    bench::Rng rng(42);
    OrderId next = 1;
    Price mid = kMid;
    while (s.count() < 200'000) {
      const std::uint64_t r = rng.below(100);
      if (r < 70 || next < 100) {
        auto o = wire::make<wire::NewOrder>();
        o.order_id = next++;
        o.account = static_cast<AccountId>(rng.below(kAccounts));
        o.side = rng.chance(0.5) ? Side::Buy : Side::Sell;
        const std::int64_t off = static_cast<std::int64_t>(rng.below(40)) - 12;  // some cross
        o.price = o.side == Side::Buy ? mid - off : mid + off;
        o.qty = 1 + static_cast<Qty>(rng.below(50));
        o.order_type = OrderType::Limit;
        o.tif = TimeInForce::GTC;
        s.add(o);
      } else if (r < 95) {
        auto c = wire::make<wire::CancelOrder>();
        c.order_id = next - 1 - rng.below(std::min<OrderId>(next - 1, 200));
        c.account = static_cast<AccountId>(rng.below(kAccounts));  // mostly the wrong account: rejected
        s.add(c);
      } else {
        mid += static_cast<Price>(rng.below(5)) - 2;
        auto ix = wire::make<wire::IndexPrice>();
        ix.instrument = 0;
        ix.price = mid;
        s.add(ix);
      }
    }
    return s;
  }();
  return w;
}

// Offsets where each batch of `batch` events ends.
std::vector<std::size_t> batch_ends(std::span<const std::byte> bytes, std::size_t batch) {
  std::vector<std::size_t> ends;
  EventReader r(bytes);
  std::size_t n = 0;
  for (EventView ev; r.next(ev);)
    if (++n % batch == 0) ends.push_back(r.offset());
  if (ends.empty() || ends.back() != bytes.size()) ends.push_back(bytes.size());
  return ends;
}

void BM_PipelineEndToEnd(benchmark::State& state) {
  const std::size_t batch = static_cast<std::size_t>(state.range(0));
  const bool spin = state.range(1) != 0;
  const std::span<const std::byte> bytes = stream().buffer().bytes();
  const std::vector<std::size_t> ends = batch_ends(bytes, batch);
  PipelineStats last;
  for (auto _ : state) {
    PipelineConfig pc;
    pc.wait = spin ? WaitMode::Spin : WaitMode::Block;
    std::uint64_t out = 0;
    Pipeline p(Engine(config()), pc, [&out](std::span<const std::byte> b) { out += b.size(); });
    std::string error;
    if (!p.start(error)) state.SkipWithError(error.c_str());
    std::size_t from = 0;
    for (const std::size_t e : ends) {
      p.submit(bytes.subspan(from, e - from), error);
      from = e;
    }
    last = p.finish();
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * stream().count()));
  state.counters["p50_us"] = static_cast<double>(last.latency.p50) / 1e3;
  state.counters["p99_us"] = static_cast<double>(last.latency.p99) / 1e3;
  state.counters["in_stalls"] = static_cast<double>(last.input.stalls);
  state.counters["engine_busy_ms"] = static_cast<double>(last.engine_busy_ns) / 1e6;
}
BENCHMARK(BM_PipelineEndToEnd)
    ->ArgNames({"batch", "spin"})
    ->Args({1, 0})
    ->Args({64, 0})
    ->Args({1024, 0})
    ->Args({64, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3);

void BM_PipelineRoundTrip(benchmark::State& state) {
  const bool spin = state.range(0) != 0;
  PipelineConfig pc;
  pc.wait = spin ? WaitMode::Spin : WaitMode::Block;
  std::atomic<std::uint64_t> delivered{0};
  Pipeline p(Engine(config()), pc, [&delivered](std::span<const std::byte> b) {
    delivered.fetch_add(b.size(), std::memory_order_release);
  });
  std::string error;
  if (!p.start(error)) state.SkipWithError(error.c_str());
  bench::StreamWriter w(1 << 20);
  const std::span<const std::byte> setup = stream().buffer().bytes();
  p.submit(setup.subspan(0, batch_ends(setup, kAccounts + 1).front()), error);  // definition and deposits
  std::uint64_t seen = 0;
  while ((seen = delivered.load(std::memory_order_acquire)) == 0) std::this_thread::yield();
  alignas(8) std::byte ev[sizeof(wire::NewOrder)];
  auto o = wire::make<wire::NewOrder>();
  o.account = 1;
  o.side = Side::Buy;
  o.price = kMid;
  o.qty = 1;
  o.order_type = OrderType::Limit;
  o.tif = TimeInForce::IOC;  // nothing rests: each one is accepted and cancelled
  SeqNo seq = 1'000'000;
  for (auto _ : state) {
    o.order_id = ++seq;
    o.header.seq = seq;
    o.header.ts_ns = 1'800'000'000'000'000'000 + static_cast<Timestamp>(seq);
    std::memcpy(ev, &o, sizeof o);
    p.submit(ev, error);
    std::uint64_t now;
    while ((now = delivered.load(std::memory_order_acquire)) == seen) {
    }
    seen = now;
  }
  p.finish();
}
BENCHMARK(BM_PipelineRoundTrip)->ArgName("spin")->Arg(0)->Arg(1)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
