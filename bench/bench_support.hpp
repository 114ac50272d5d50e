// Shared pieces of the benchmarks: a seeded generator, a cycle-counter clock calibrated
// against steady_clock, a preallocated latency log reported as percentiles, and a writer
// that stamps input events with sequence numbers and timestamps.
#pragma once

#include <benchmark/benchmark.h>
#include <x86intrin.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cascade/event_buffer.hpp"
#include "cascade/types.hpp"
#include "cascade/wire.hpp"

// Client requests let a callgrind run count only the timed loop
// (valgrind --tool=callgrind --collect-atstart=no); outside valgrind they cost a few instructions.
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define CASCADE_BENCH_COLLECT_TOGGLE() CALLGRIND_TOGGLE_COLLECT
#else
#define CASCADE_BENCH_COLLECT_TOGGLE() ((void)0)
#endif

namespace cascade::bench {

// The BTC-PERP the margin, liquidation and pipeline benchmarks trade: pd 1, qd 3 (m = 2),
// prices 50,000.0 to 150,000.0; each benchmark adds its fees, band and tiers.
inline wire::InstrumentDefinition btc_perp(InstrumentId id) {
  auto d = wire::make<wire::InstrumentDefinition>();
  d.instrument = id;
  std::memcpy(d.symbol, "BTC-PERP", 8);
  d.price_decimals = 1;
  d.qty_decimals = 3;
  d.tick_size = 1;
  d.lot_size = 1;
  d.min_price = 500'000;
  d.max_price = 1'500'000;
  d.max_order_qty = 1'000'000;
  return d;
}

// 1% / 0.5% up to 100k USD, then 2% / 1%, then 5% / 2.5% up to 5M USD.
inline void three_tiers(wire::InstrumentDefinition& d) {
  d.tier_count = 3;
  d.tiers[0] = {100'000'000'000, 1'000'000, 500'000, 0};
  d.tiers[1] = {1'000'000'000'000, 2'000'000, 1'000'000, 500'000'000};
  d.tiers[2] = {5'000'000'000'000, 5'000'000, 2'500'000, 15'500'000'000};
}

// A size from the environment (for short profiling runs), else the default.
inline std::size_t env_size(const char* name, std::size_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  const unsigned long long n = std::strtoull(v, nullptr, 10);
  return n > 0 ? static_cast<std::size_t>(n) : fallback;
}

// Brackets the timed loop for profilers: toggles callgrind collection, and when
// CASCADE_PERF_CTL / CASCADE_PERF_ACK name perf's control fifos
// (perf record -D -1 --control fifo:CTL,ACK) enables perf sampling for the loop only.
class ProfileWindow {
 public:
  ProfileWindow() {
    perf("enable\n");
    CASCADE_BENCH_COLLECT_TOGGLE();
  }
  ~ProfileWindow() {
    CASCADE_BENCH_COLLECT_TOGGLE();
    perf("disable\n");
  }
  ProfileWindow(const ProfileWindow&) = delete;
  ProfileWindow& operator=(const ProfileWindow&) = delete;

 private:
  static void perf(const char* cmd) {
    const char* ctl = std::getenv("CASCADE_PERF_CTL");
    const char* ack = std::getenv("CASCADE_PERF_ACK");
    if (ctl == nullptr || ack == nullptr) return;
    if (std::FILE* f = std::fopen(ctl, "w")) {
      std::fputs(cmd, f);
      std::fclose(f);
    }
    if (std::FILE* f = std::fopen(ack, "r")) {
      char buf[8];
      (void)std::fgets(buf, sizeof buf, f);
      std::fclose(f);
    }
  }
};

// xoshiro256**: fast, seeded, identical streams on every machine.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) noexcept {
    for (auto& w : s_) {
      seed += 0x9E3779B97F4A7C15ull;
      std::uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      w = z ^ (z >> 31);
    }
  }

  std::uint64_t next() noexcept {
    const std::uint64_t r = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return r;
  }

  // Uniform in [0, n), n > 0.
  std::uint64_t below(std::uint64_t n) noexcept {
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }
  // Uniform in [0, 1).
  double unit() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  bool chance(double p) noexcept { return unit() < p; }
  // Geometric on {0, 1, 2, ...} with the given mean.
  std::int64_t geometric(double mean) noexcept {
    const double u = 1.0 - unit();  // (0, 1]
    return static_cast<std::int64_t>(std::floor(std::log(u) / std::log(mean / (mean + 1.0))));
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

// Time-stamp counter reads, ordered so that the measured code cannot leak out of the window.
inline std::uint64_t tsc_begin() noexcept {
  _mm_lfence();
  const std::uint64_t t = __rdtsc();
  _mm_lfence();
  return t;
}
inline std::uint64_t tsc_end() noexcept {
  unsigned aux;
  const std::uint64_t t = __rdtscp(&aux);
  _mm_lfence();
  return t;
}

struct TscCalibration {
  double ticks_per_ns = 1.0;
  std::uint64_t overhead_ticks = 0;  // median of an empty begin/end pair, subtracted from samples
};

// Calibrates once: TSC ticks per steady_clock nanosecond over ~50 ms, and the empty-window cost.
inline const TscCalibration& tsc_calibration() {
  static const TscCalibration cal = [] {
    TscCalibration c;
    using clock = std::chrono::steady_clock;
    const auto w0 = clock::now();
    const std::uint64_t t0 = tsc_begin();
    while (clock::now() - w0 < std::chrono::milliseconds(50)) {
    }
    const std::uint64_t t1 = tsc_end();
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - w0).count();
    c.ticks_per_ns = static_cast<double>(t1 - t0) / static_cast<double>(ns);
    std::vector<std::uint64_t> empty(20000);
    for (auto& e : empty) {
      const std::uint64_t a = tsc_begin();
      e = tsc_end() - a;
    }
    std::nth_element(empty.begin(), empty.begin() + empty.size() / 2, empty.end());
    c.overhead_ticks = empty[empty.size() / 2];
    return c;
  }();
  return cal;
}

// Per-event latencies in TSC ticks, tagged with an operation kind; preallocated so recording
// is a store. Reports percentiles in nanoseconds as benchmark counters.
class LatencyLog {
 public:
  static constexpr int kMaxKinds = 8;

  LatencyLog(std::size_t capacity, std::vector<std::string> kind_names)
      : ticks_(capacity), kinds_(capacity), names_(std::move(kind_names)) {}

  void record(std::uint8_t kind, std::uint64_t ticks) noexcept {
    ticks_[n_] = static_cast<std::uint32_t>(std::min<std::uint64_t>(ticks, UINT32_MAX));
    kinds_[n_] = kind;
    ++n_;
  }

  // Counters: p50_ns, p99_ns, p999_ns, max_ns over all events, then <kind>_p50_ns,
  // <kind>_p99_ns, <kind>_p999_ns per kind that occurred, and timer_ns (the subtracted cost
  // of one empty clock window).
  void report(benchmark::State& state) const {
    const TscCalibration& cal = tsc_calibration();
    std::vector<std::uint32_t> all(ticks_.begin(), ticks_.begin() + static_cast<std::ptrdiff_t>(n_));
    put(state, "", all, true);
    for (std::size_t k = 0; k < names_.size(); ++k) {
      std::vector<std::uint32_t> one;
      for (std::size_t i = 0; i < n_; ++i)
        if (kinds_[i] == k) one.push_back(ticks_[i]);
      if (!one.empty()) put(state, names_[k] + "_", one, false);
    }
    state.counters["timer_ns"] = static_cast<double>(cal.overhead_ticks) / cal.ticks_per_ns;
  }

 private:
  static void put(benchmark::State& state, const std::string& prefix, std::vector<std::uint32_t>& v,
                  bool with_max) {
    if (v.empty()) return;
    const TscCalibration& cal = tsc_calibration();
    std::sort(v.begin(), v.end());
    auto ns = [&](double q) {
      // nearest rank, then the timer's own cost removed
      const std::size_t rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
      const std::uint64_t t = v[std::min(v.size(), std::max<std::size_t>(rank, 1)) - 1];
      return static_cast<double>(t > cal.overhead_ticks ? t - cal.overhead_ticks : 0) / cal.ticks_per_ns;
    };
    state.counters[prefix + "p50_ns"] = ns(0.50);
    state.counters[prefix + "p99_ns"] = ns(0.99);
    state.counters[prefix + "p999_ns"] = ns(0.999);
    if (with_max) state.counters[prefix + "max_ns"] = ns(1.0);
  }

  std::vector<std::uint32_t> ticks_;
  std::vector<std::uint8_t> kinds_;
  std::vector<std::string> names_;
  std::size_t n_ = 0;
};

// Appends input events to a buffer, stamping each header with the next sequence number and a
// timestamp that advances by step_ns per event (the engine rejects timestamps that go back).
class StreamWriter {
 public:
  explicit StreamWriter(std::size_t reserve_bytes = 1 << 20, Timestamp start_ns = 1'700'000'000'000'000'000,
                        Timestamp step_ns = 1000)
      : buf_(reserve_bytes), ts_(start_ns), step_(step_ns) {}

  // Returns the message as stamped.
  template <class T>
  T add(T msg) {
    msg.header.length = sizeof(T);
    msg.header.type = T::kType;
    msg.header.seq = ++seq_;
    msg.header.ts_ns = ts_;
    msg.header.ref = seq_;
    ts_ += step_;
    buf_.append(msg);
    ++count_;
    return msg;
  }

  EventBuffer& buffer() noexcept { return buf_; }
  const EventBuffer& buffer() const noexcept { return buf_; }
  std::size_t count() const noexcept { return count_; }
  SeqNo seq() const noexcept { return seq_; }
  Timestamp ts() const noexcept { return ts_; }

 private:
  EventBuffer buf_;
  SeqNo seq_ = 0;
  Timestamp ts_;
  Timestamp step_;
  std::size_t count_ = 0;
};

}  // namespace cascade::bench
