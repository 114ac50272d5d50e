// The crash day through the engine (docs/performance.md, "Crash day"): `cascade gen crash`'s
// scenario generated once in memory (default one million traders; CASCADE_BENCH_ACCOUNTS
// shrinks it), then replayed into a fresh engine per iteration with each input event's time
// read from the TSC. Counters: input events/s and liquidations/s of engine time over the day
// and over the burst window (the 60 s of input time with the most liquidations), latency
// percentiles (p50, p90, p99, p99.9, max) over the whole day, over the burst window for the
// events that start no cascade, and the whole-chain time of the burst's
// events that fire stops (no liquidation) and of those that start liquidations, and the
// funding events' time per payment. prefetch:1
// decodes through PrefetchReader, which issues the engine's prefetch for the events D and 2D
// ahead; that happens inside the timed window of the event it precedes (the hints are counted
// in engine time). prefetch:0 is one event at a time. prefault:1 commits the engine's tables
// when it is built (EngineConfig::prefault), outside the timed loop; the books' own at their
// instrument definitions, inside it. The noise_* counters are what the machine took from a
// spinning thread for one second before the day (tools/timing/host_noise.hpp): gaps of that
// length land in the latency percentiles too.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "bench_support.hpp"
#include "cascade/engine.hpp"
#include "cascade/event_reader.hpp"
#include "cascade/prefetch_reader.hpp"
#include "scenario/scenario.hpp"
#include "timing/host_noise.hpp"

namespace {

using namespace cascade;

struct Day {
  std::vector<std::uint64_t> words;  // the events, 8-byte aligned
  std::size_t bytes = 0;
  scenario::Summary summary;
  double generate_s = 0;
};

const Day& day() {
  static const Day d = [] {
    Day x;
    scenario::Params p = scenario::preset(scenario::Kind::Crash);
    p.accounts = static_cast<std::uint32_t>(bench::env_size("CASCADE_BENCH_ACCOUNTS", 1'000'000));
    EventBuffer all(1u << 30);
    std::string error;
    const auto t0 = std::chrono::steady_clock::now();
    if (!scenario::generate(p, [&](std::span<const std::byte> b) { all.append_raw(b.data(), b.size()); }, x.summary, error)) {
      std::fprintf(stderr, "crash_bench: %s\n", error.c_str());
      std::exit(1);
    }
    x.generate_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    x.bytes = all.size();
    x.words.resize((x.bytes + 7) / 8);
    std::memcpy(x.words.data(), all.bytes().data(), x.bytes);
    return x;
  }();
  return d;
}

double percentile_ns(std::vector<std::uint32_t>& v, double q) {
  if (v.empty()) return 0;
  const std::size_t rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(rank ? rank - 1 : 0), v.end());
  return static_cast<double>(v[rank ? rank - 1 : 0]) / bench::tsc_calibration().ticks_per_ns;
}

void put(benchmark::State& state, const std::string& prefix, std::vector<std::uint32_t> v) {
  state.counters[prefix + "events"] = static_cast<double>(v.size());
  if (v.empty()) return;
  state.counters[prefix + "p50_ns"] = percentile_ns(v, 0.5);
  state.counters[prefix + "p90_ns"] = percentile_ns(v, 0.9);
  state.counters[prefix + "p99_ns"] = percentile_ns(v, 0.99);
  state.counters[prefix + "p999_ns"] = percentile_ns(v, 0.999);
  state.counters[prefix + "max_ns"] = static_cast<double>(*std::max_element(v.begin(), v.end())) / bench::tsc_calibration().ticks_per_ns;
}

// A stop chain measured on its own: five or more stops fired, no liquidation.
bool is_chain(std::uint32_t liquidation_steps, std::uint32_t fired) { return liquidation_steps == 0 && fired >= 5; }

// Which events a profiling replay collects in (CASCADE_BENCH_PROFILE).
enum class Profile { Whole, Stops, Liquidations, Funding };

Profile profile_choice() {
  const char* v = std::getenv("CASCADE_BENCH_PROFILE");
  if (v != nullptr && std::strcmp(v, "liquidations") == 0) return Profile::Liquidations;
  if ((v != nullptr && std::strcmp(v, "funding") == 0) || bench::env_size("CASCADE_BENCH_PROFILE_FUNDING", 0) != 0)
    return Profile::Funding;
  if ((v != nullptr && std::strcmp(v, "stops") == 0) || bench::env_size("CASCADE_BENCH_PROFILE_STOPS", 0) != 0)
    return Profile::Stops;
  return Profile::Whole;
}

// Replays the day into a fresh engine with callgrind collecting only while the selected
// events run, so `callgrind_annotate` gives the instructions of the stop path (divide by the
// chain5_stops counter for a fired stop's share), of the events that start liquidations
// (divide by the liquidations counter for a step's share; the input event's own work and its
// MarginUpdates are included) or of the funding events (divide by funding_payments).
void profile_events(std::span<const std::byte> bytes, std::uint32_t distance, const std::vector<std::uint8_t>& selected) {
  auto engine = std::make_unique<Engine>();
  EventBuffer out(64u << 20);
  PrefetchReader r(*engine, bytes, 0, distance);
  std::size_t i = 0;
  for (EventView ev; r.next(ev); ++i) {
    out.clear();
    if (selected[i]) CASCADE_BENCH_COLLECT_TOGGLE();
    engine->process(ev, out);
    if (selected[i]) CASCADE_BENCH_COLLECT_TOGGLE();
  }
}

void BM_CrashDay(benchmark::State& state) {
  const Day& d = day();
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(d.words.data()), d.bytes);
  const std::size_t n = d.summary.events;
  std::vector<std::uint32_t> ticks(n), steps(n), stops(n);
  std::vector<std::uint8_t> funding(n);
  std::uint64_t funding_payments = 0;
  std::vector<std::int64_t> ts(n);
  EventBuffer out(64u << 20);
  std::uint64_t liquidations = 0;
  double engine_s = 0;
  const std::uint32_t distance = state.range(0) != 0 ? kPrefetchDistance : 0;
  EngineConfig config;
  config.prefault = state.range(1) != 0;
  const timing::HostNoise noise = timing::measure_host_noise(1.0);
  // CASCADE_BENCH_PROFILE=stops (or CASCADE_BENCH_PROFILE_STOPS=1) / =liquidations / =funding
  // (or CASCADE_BENCH_PROFILE_FUNDING=1): callgrind collects only inside the stop chains / the
  // events starting liquidations / the funding events, on a second replay (below), instead of
  // around the whole timed loop.
  const Profile profile = profile_choice();
  for (auto _ : state) {
    auto engine = std::make_unique<Engine>(config);
    PrefetchReader r(*engine, bytes, 0, distance);
    EventView ev;
    std::size_t i = 0;
    std::uint64_t liq = 0, total_ticks = 0;
    funding_payments = 0;
    {
      std::unique_ptr<bench::ProfileWindow> window;
      if (profile == Profile::Whole) window = std::make_unique<bench::ProfileWindow>();
      for (;;) {
        out.clear();
        const std::uint64_t t0 = bench::tsc_begin();
        if (!r.next(ev)) break;  // decoding and the hints for later events count as this event's
        engine->process(ev, out);
        const std::uint64_t t1 = bench::tsc_end();
        const std::uint64_t now = engine->liquidation_totals().liquidations;
        ticks[i] = static_cast<std::uint32_t>(std::min<std::uint64_t>(t1 - t0, UINT32_MAX));
        steps[i] = static_cast<std::uint32_t>(now - liq);
        std::uint32_t fired = 0;  // outside the timed call
        EventReader o(out.bytes());
        for (EventView x; o.next(x);) {
          fired += x.type() == wire::MsgType::StopTriggered;
          funding_payments += x.type() == wire::MsgType::FundingPayment;
        }
        stops[i] = fired;
        funding[i] = ev.type() == wire::MsgType::FundingRate;
        ts[i] = ev.header().ts_ns;
        total_ticks += t1 - t0;
        liq = now;
        ++i;
      }
    }
    if (i != n) state.SkipWithError("the generated day did not decode whole");
    if (profile != Profile::Whole) {
      std::vector<std::uint8_t> selected(n);
      for (std::size_t k = 0; k < n; ++k)
        selected[k] = profile == Profile::Stops          ? is_chain(steps[k], stops[k])
                      : profile == Profile::Liquidations ? steps[k] > 0
                                                         : funding[k];
      profile_events(bytes, distance, selected);
    }
    liquidations = liq;
    engine_s = static_cast<double>(total_ticks) / bench::tsc_calibration().ticks_per_ns / 1e9;
    state.SetIterationTime(engine_s);
    state.PauseTiming();
    engine.reset();
    state.ResumeTiming();
  }
  // The burst window: the 60 s of input time with the most liquidations.
  const std::int64_t t0 = ts.front();
  const auto sec = [&](std::size_t i) { return (ts[i] - t0) / 1'000'000'000; };
  std::vector<std::uint64_t> per_sec(static_cast<std::size_t>(sec(n - 1)) + 1);
  for (std::size_t i = 0; i < n; ++i) per_sec[static_cast<std::size_t>(sec(i))] += steps[i];
  std::size_t best_start = 0;
  std::uint64_t run = 0, best = 0, peak = 0;
  for (std::size_t s = 0; s < per_sec.size(); ++s) {
    run += per_sec[s];
    peak = std::max(peak, per_sec[s]);
    if (s >= 60) run -= per_sec[s - 60];
    if (s + 1 >= 60 && run > best) best = run, best_start = s + 1 - 60;
  }
  std::vector<std::uint32_t> all(ticks), burst, chains, starts;
  double burst_ticks = 0;
  std::size_t burst_n = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto s = static_cast<std::size_t>(sec(i));
    if (s < best_start || s >= best_start + 60) continue;
    ++burst_n;
    burst_ticks += ticks[i];
    (steps[i] ? starts : stops[i] ? chains : burst).push_back(ticks[i]);
  }
  put(state, "all_", std::move(all));
  put(state, "burst_", std::move(burst));
  put(state, "stops_", std::move(chains));
  put(state, "cascade_", std::move(starts));
  // The stop path on its own: events firing five or more stops and no liquidation, whole day.
  std::vector<std::uint32_t> chain5;
  double chain5_ticks = 0, chain5_stops = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (is_chain(steps[i], stops[i])) {
      chain5.push_back(ticks[i]);
      chain5_ticks += ticks[i];
      chain5_stops += stops[i];
    }
  state.counters["chain5_stops"] = chain5_stops;
  state.counters["chain5_ns_per_stop"] =
      chain5_stops > 0 ? chain5_ticks / bench::tsc_calibration().ticks_per_ns / chain5_stops : 0;
  put(state, "chain5_", std::move(chain5));
  // The funding events on their own: each pays every holder of its instrument.
  double funding_ticks = 0, funding_events = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (funding[i]) funding_ticks += ticks[i], ++funding_events;
  state.counters["funding_events"] = funding_events;
  state.counters["funding_payments"] = static_cast<double>(funding_payments);
  state.counters["funding_ms"] = funding_ticks / bench::tsc_calibration().ticks_per_ns / 1e6;
  state.counters["funding_ns_per_payment"] =
      funding_payments > 0 ? funding_ticks / bench::tsc_calibration().ticks_per_ns / static_cast<double>(funding_payments) : 0;
  const double cal = bench::tsc_calibration().ticks_per_ns;
  state.counters["events_per_s"] = static_cast<double>(n) / engine_s;
  state.counters["burst_events_per_s"] = burst_ticks > 0 ? static_cast<double>(burst_n) / (burst_ticks / cal / 1e9) : 0;
  state.counters["liquidations"] = static_cast<double>(liquidations);
  state.counters["liquidations_per_s"] = static_cast<double>(liquidations) / engine_s;
  state.counters["peak_liq_per_input_s"] = static_cast<double>(peak);
  state.counters["burst_liquidations"] = static_cast<double>(best);
  // Liquidations per second of the engine's time in the burst window (its whole cascades).
  state.counters["burst_liquidations_per_s"] = burst_ticks > 0 ? static_cast<double>(best) / (burst_ticks / cal / 1e9) : 0;
  state.counters["input_events"] = static_cast<double>(n);
  state.counters["generate_s"] = d.generate_s;
  state.counters["rejected_at_generation"] = static_cast<double>(d.summary.rejects);
  state.counters["noise_gaps10us_per_s"] = noise.gaps_10us_per_s;
  state.counters["noise_gaps20us_per_s"] = noise.gaps_20us_per_s;
  state.counters["noise_lost_pct"] = noise.lost_share * 100;
}
BENCHMARK(BM_CrashDay)->ArgNames({"prefetch", "prefault"})->Args({0, 0})->Args({1, 0})->Args({1, 1})->UseManualTime()->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
