// What `cascade replay` measures besides counts and digests: each input event's time inside the
// engine (a timestamp counter read around Engine::process, stored in a preallocated array),
// per-second series of the input's own clock (liquidations and their notional by side,
// backstop and ADL volume, index prices, book depth near the mid), the burst window, the
// figures docs/scenarios.md compares with real crashes, and the circuit breakers' pauses.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cascade/engine.hpp"

namespace cascade::cli {

// Reads the CPU's timestamp counter (steady_clock elsewhere); calibrated against steady_clock
// over the run.
std::uint64_t ticks_now() noexcept;

struct Percentiles {
  std::uint64_t count = 0;
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;  // nanoseconds
};

struct Second {
  std::uint64_t events = 0;
  std::uint64_t liquidations = 0;  // Liquidation(Triggered)
  double long_usd = 0, short_usd = 0;  // liquidated notional (book, backstop and ADL fills) by position side
  double backstop_usd = 0, adl_usd = 0;
  Money fund = 0;  // insurance fund balance after the second's last InsuranceFund event
  bool fund_seen = false;
  std::uint64_t rss_kb = 0;  // resident memory when the second's first event was processed
};

struct InstrumentFigures {
  InstrumentId id = 0;
  std::string symbol;
  double start = 0, high = 0, low = 0, end = 0;  // index; high: the highest before the low
  std::int64_t low_s = 0;                        // second of the low
  double depth_before = 0, depth_burst = 0;      // USD within 1% of the mid, both sides
  double spread_before = 0, spread_burst = 0;    // (ask - bid) / mid: median before the burst, widest in it
  double oi_before = 0, oi_after = 0;            // open interest, USD at the index: the highest
                                                 // before the burst, the lowest from it on
  double liquidated_usd = 0, backstop_usd = 0, adl_usd = 0;
};

// An instrument's circuit breaker over the run (docs/liquidation.md, "Circuit breaker").
struct BreakerFigures {
  InstrumentId id = 0;
  std::string symbol;
  Rate band = 0;                     // of the definition at the end; 0: no breaker
  std::uint32_t window_ms = 0, pause_ms = 0;
  std::uint64_t pauses = 0;
  std::int64_t paused_ns = 0;        // input time from each pause to its resume (or the last input)
  std::uint64_t refused = 0;         // orders and modifies Rejected(InstrumentPaused)
};

class ReplayStats {
 public:
  ReplayStats(std::size_t events, std::int64_t first_ts, std::int64_t last_ts, std::int64_t burst_seconds);

  // The hot loop's bookkeeping: one store per array, no allocation.
  // Stops fired inside the event count as a cascade too (docs/matching.md: triggered stops are
  // part of the cascade); the report keeps the two kinds apart.
  void record(std::size_t i, std::int64_t ts, std::uint64_t ticks, std::uint64_t liquidation_steps,
              std::uint64_t stops_fired) noexcept {
    ticks_[i] = ticks > UINT32_MAX ? UINT32_MAX : static_cast<std::uint32_t>(ticks);
    steps_[i] = liquidation_steps > UINT32_MAX ? UINT32_MAX : static_cast<std::uint32_t>(liquidation_steps);
    stops_[i] = stops_fired > UINT32_MAX ? UINT32_MAX : static_cast<std::uint32_t>(stops_fired);
    ++sec_[second(ts)].events;
  }
  std::size_t second(std::int64_t ts) const noexcept {
    const std::int64_t s = (ts - t0_) / 1'000'000'000;
    return s < 0 ? 0 : static_cast<std::size_t>(s) < sec_.size() ? static_cast<std::size_t>(s) : sec_.size() - 1;
  }
  // A further replay of the same events (--repeat): each event keeps its least time over the
  // replays, so an interruption by the machine, which lands on different events each time, drops
  // out. The first replay's ticks stay as they are.
  void start_repeats() { min_ticks_ = ticks_; }
  void record_repeat(std::size_t i, std::uint64_t ticks) noexcept {
    const auto t = ticks > UINT32_MAX ? UINT32_MAX : static_cast<std::uint32_t>(ticks);
    if (t < min_ticks_[i]) min_ticks_[i] = t;
  }
  // Output events: liquidations, liquidation fills, index prices, circuit breakers and the
  // orders they refused.
  void scan_output(std::span<const std::byte> out, const Engine& engine);
  // Book depth near the mid of every instrument, once per second of input time.
  void sample_depth(std::size_t sec, const Engine& engine);
  // Resident memory, once per second of input time (outside the timed windows).
  void sample_memory(std::size_t sec, std::uint64_t rss_kb) noexcept { sec_[sec].rss_kb = std::max(sec_[sec].rss_kb, rss_kb); }
  // The timestamp counter's rate, measured against steady_clock over the run.
  void calibrate(double ns_per_tick) noexcept { ns_per_tick_ = ns_per_tick; }
  // The insurance fund before the first event (the report's "before" figures).
  void set_fund_start(Money fund) noexcept { fund_start_ = fund; }
  void set_largest(std::size_t index, std::int64_t ts, SeqNo seq, std::uint64_t steps, std::uint64_t out_events) noexcept {
    largest_ = {index, ts, seq, steps, out_events};
  }

  // --- results, after the run ---
  void finish(const Engine& engine, std::size_t events);
  double engine_seconds() const noexcept { return engine_s_; }
  double burst_engine_seconds() const noexcept { return burst_engine_s_; }
  std::uint64_t burst_events() const noexcept { return burst_events_; }
  std::int64_t burst_start_s() const noexcept { return burst_begin_; }
  std::int64_t burst_len_s() const noexcept { return burst_end_ - burst_begin_; }
  std::int64_t epoch_s(std::int64_t sec) const noexcept { return t0_ / 1'000'000'000 + sec; }
  const Percentiles& all() const noexcept { return all_; }
  const Percentiles& burst() const noexcept { return burst_; }
  const Percentiles& stop_chains() const noexcept { return stop_chains_; }  // burst events firing stops, no liquidation
  const Percentiles& cascades() const noexcept { return cascades_; }  // burst events starting liquidations
  // The first two together: every burst event that starts no liquidation, stop chains included
  // (the stricter reading of the burst target).
  const Percentiles& no_liquidation() const noexcept { return no_liquidation_; }
  // The same four groups over each event's least time of all the replays (repeats() > 0).
  bool repeated() const noexcept { return !min_ticks_.empty(); }
  const Percentiles& min_all() const noexcept { return min_all_; }
  const Percentiles& min_burst() const noexcept { return min_burst_; }
  const Percentiles& min_stop_chains() const noexcept { return min_stop_chains_; }
  const Percentiles& min_cascades() const noexcept { return min_cascades_; }
  const Percentiles& min_no_liquidation() const noexcept { return min_no_liquidation_; }
  double min_engine_seconds() const noexcept { return min_engine_s_; }
  std::uint64_t liquidations() const noexcept { return liquidations_; }
  std::uint64_t burst_liquidations() const noexcept { return burst_liquidations_; }
  std::uint64_t peak_liquidations() const noexcept { return peak_; }
  std::int64_t peak_second() const noexcept { return peak_s_; }
  double liquidated_usd() const noexcept { return long_usd_ + short_usd_; }
  double long_share() const noexcept { return liquidated_usd() > 0 ? long_usd_ / liquidated_usd() : 0; }
  double adl_share() const noexcept { return liquidated_usd() > 0 ? adl_usd_ / liquidated_usd() : 0; }
  double backstop_usd() const noexcept { return backstop_usd_; }
  double adl_usd() const noexcept { return adl_usd_; }
  const std::vector<InstrumentFigures>& instruments() const noexcept { return figures_; }
  // Every defined instrument, ascending; any_breaker(): one has a breaker or paused.
  const std::vector<BreakerFigures>& breakers() const noexcept { return breakers_; }
  bool any_breaker() const noexcept { return any_breaker_; }
  struct Largest {
    std::size_t index = 0;
    std::int64_t ts = 0;
    SeqNo seq = 0;
    std::uint64_t steps = 0, out_events = 0;
  };
  const Largest& largest() const noexcept { return largest_; }
  double largest_ns() const noexcept { return static_cast<double>(ticks_[largest_.index]) * ns_per_tick_; }
  // The burst window's own figures: liquidated notional, backstop and ADL volume, the
  // insurance fund at its start and end, and its largest cascade (index and steps from
  // finish(); the caller fills in seq and ts from the input, out_events stays 0).
  double burst_liquidated_usd() const noexcept { return burst_long_usd_ + burst_short_usd_; }
  double burst_long_share() const noexcept {
    return burst_liquidated_usd() > 0 ? burst_long_usd_ / burst_liquidated_usd() : 0;
  }
  double burst_backstop_usd() const noexcept { return burst_backstop_usd_; }
  double burst_adl_usd() const noexcept { return burst_adl_usd_; }
  Money fund_start() const noexcept { return fund_start_; }
  std::uint64_t burst_peak_rss_kb() const noexcept { return burst_rss_kb_; }  // 0: not sampled
  Money burst_fund_before() const noexcept { return burst_fund_before_; }
  Money burst_fund_after() const noexcept { return burst_fund_after_; }
  const Largest& burst_largest() const noexcept { return burst_largest_; }
  void set_burst_largest_origin(SeqNo seq, std::int64_t ts) noexcept {
    burst_largest_.seq = seq;
    burst_largest_.ts = ts;
  }
  double burst_largest_ns() const noexcept { return static_cast<double>(ticks_[burst_largest_.index]) * ns_per_tick_; }

  // per_second.csv and, with gnuplot, three PNGs; false with a message when the CSV fails.
  bool write_plots(const std::string& dir, std::string& message) const;

 private:
  Percentiles percentiles(std::vector<std::uint32_t>& v) const;
  std::vector<double>& series(std::vector<std::vector<double>>& v, InstrumentId id);

  std::int64_t t0_;
  std::int64_t last_ts_;
  std::int64_t burst_seconds_;
  double ns_per_tick_ = 1.0;
  std::vector<std::uint32_t> ticks_;
  std::vector<std::uint32_t> min_ticks_;  // with --repeat: each event's least ticks over the replays
  std::vector<std::uint32_t> steps_;
  std::vector<std::uint32_t> stops_;
  std::vector<Second> sec_;
  std::vector<std::vector<double>> index_;  // per instrument, per second: last index (quote units), 0 = none
  std::vector<std::vector<double>> depth_;  // per instrument, per second: USD within 1% of the mid
  std::vector<std::vector<double>> oi_;     // per instrument, per second: open interest, USD at the index
  std::vector<std::vector<double>> spread_; // per instrument, per second: (ask - bid) / mid of its last top of
                                            // book, 0 = none or one side empty
  std::vector<int> value_exp_;              // per instrument: 10^(6 - pd - qd) exponent, INT32_MIN unknown
  std::vector<double> price_scale_;
  struct Volume {
    double liquidated = 0, backstop = 0, adl = 0;
  };
  std::vector<Volume> volume_;  // per instrument
  struct Breaker {
    std::uint64_t pauses = 0, refused = 0;
    std::int64_t paused_ns = 0, since = 0;
    bool paused = false;
  };
  std::vector<Breaker> breaker_;  // per instrument
  Largest largest_, burst_largest_;
  Money fund_start_ = 0, burst_fund_before_ = 0, burst_fund_after_ = 0;
  std::uint64_t burst_rss_kb_ = 0;
  double burst_long_usd_ = 0, burst_short_usd_ = 0, burst_backstop_usd_ = 0, burst_adl_usd_ = 0;

  double engine_s_ = 0, burst_engine_s_ = 0;
  std::uint64_t burst_events_ = 0, liquidations_ = 0, burst_liquidations_ = 0, peak_ = 0;
  std::int64_t burst_begin_ = 0, burst_end_ = 0, peak_s_ = 0;
  double long_usd_ = 0, short_usd_ = 0, backstop_usd_ = 0, adl_usd_ = 0;
  Percentiles all_, burst_, stop_chains_, cascades_, no_liquidation_;
  Percentiles min_all_, min_burst_, min_stop_chains_, min_cascades_, min_no_liquidation_;
  double min_engine_s_ = 0;
  std::vector<InstrumentFigures> figures_;
  std::vector<BreakerFigures> breakers_;
  bool any_breaker_ = false;
};

}  // namespace cascade::cli
