// A real order-level feed through the engine (docs/performance.md, "A real feed"): the
// LOBSTER GOOG day (21 June 2012, level 1) converted in memory as `cascade convert --from
// lobster` does, then replayed into a fresh engine per iteration with each event's time read
// from the TSC. Unlike book_bench's one-million-order books, this book is as small as the
// exchange's was, so the figure is the engine's cost per event with its state in cache.
// The data is read from $CASCADE_DATA_DIR/lobster (default: ../shared/data beside the source
// tree); without it the benchmark is skipped with a message.
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "cascade/engine.hpp"
#include "cascade/event_reader.hpp"
#include "import/emitter.hpp"
#include "import/lobster.hpp"

namespace {

using namespace cascade;

struct Feed {
  std::vector<std::uint64_t> words;  // the events, 8-byte aligned
  std::size_t bytes = 0, events = 0;
  std::string error;
};

const Feed& goog_day() {
  static const Feed f = [] {
    Feed x;
    const char* env = std::getenv("CASCADE_DATA_DIR");
    const std::string dir = env && *env ? env : CASCADE_DATA_DIR;
    const std::string messages = dir + "/lobster/GOOG_2012-06-21_34200000_57600000_message_1.csv";
    EventBuffer all(64u << 20);
    import::BufferSink sink(all);
    import::ConvertStats stats;
    std::string error;
    if (!import::convert_lobster_files(messages, import::lobster_book_path(messages), {}, nullptr, sink, stats, error)) {
      x.error = "LOBSTER day not available (" + error + "); set CASCADE_DATA_DIR to the folder holding lobster/";
      return x;
    }
    x.bytes = all.size();
    x.words.resize((x.bytes + 7) / 8);
    std::memcpy(x.words.data(), all.bytes().data(), x.bytes);
    EventReader r(std::span<const std::byte>(reinterpret_cast<const std::byte*>(x.words.data()), x.bytes));
    for (EventView ev; r.next(ev);) ++x.events;
    return x;
  }();
  return f;
}

std::uint8_t kind_of(wire::MsgType t) {
  switch (t) {
    case wire::MsgType::NewOrder: return 0;
    case wire::MsgType::CancelOrder: return 1;
    case wire::MsgType::ModifyOrder: return 2;
    default: return 3;
  }
}

void BM_LobsterDay(benchmark::State& state) {
  const Feed& f = goog_day();
  if (!f.error.empty()) {
    state.SkipWithError(f.error.c_str());
    return;
  }
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(f.words.data()), f.bytes);
  // Capacities sized to the feed (two converter accounts, a few thousand live orders), as a
  // venue sizes its engine: tables of the default million-order size would be touched for
  // the first time inside the timed loop, and each first touch is a page fault.
  EngineConfig config;
  config.max_accounts = 16;
  config.max_positions = 64;
  config.max_orders = 1u << 16;
  config.max_instruments = 4;
  EventBuffer out(16u << 20);
  std::uint64_t processed = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto engine = std::make_unique<Engine>(config);
    bench::LatencyLog log(f.events, {"new_order", "cancel", "modify", "other"});
    state.ResumeTiming();
    EventReader r(bytes);
    EventView ev;
    std::uint64_t ticks = 0;
    {
      bench::ProfileWindow window;
      while (r.next(ev)) {
        out.clear();
        const std::uint64_t t0 = bench::tsc_begin();
        engine->process(ev, out);
        const std::uint64_t t = bench::tsc_end() - t0;
        ticks += t;
        log.record(kind_of(ev.type()), t);
      }
    }
    state.SetIterationTime(static_cast<double>(ticks) / bench::tsc_calibration().ticks_per_ns / 1e9);
    processed += f.events;
    state.PauseTiming();
    log.report(state);
    engine.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(processed));
  state.counters["events"] = static_cast<double>(f.events);
}
BENCHMARK(BM_LobsterDay)->UseManualTime()->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
