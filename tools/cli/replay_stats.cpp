#include "cli/replay_stats.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/stat.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include "cascade/circuit_breaker.hpp"
#include "cascade/event_reader.hpp"
#include "cli/replay_plots_gp.hpp"

namespace cascade::cli {

std::uint64_t ticks_now() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  return __rdtsc();
#else
  return static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
#endif
}

ReplayStats::ReplayStats(std::size_t events, std::int64_t first_ts, std::int64_t last_ts, std::int64_t burst_seconds)
    : t0_(first_ts - (first_ts % 1'000'000'000 + 1'000'000'000) % 1'000'000'000),
      last_ts_(last_ts),
      burst_seconds_(std::max<std::int64_t>(1, burst_seconds)),
      ticks_(events),
      steps_(events),
      stops_(events) {
  const std::int64_t span = last_ts > t0_ ? (last_ts - t0_) / 1'000'000'000 + 1 : 1;
  // A file spanning years would make per-second arrays absurd; clamp (the last bucket collects).
  sec_.resize(static_cast<std::size_t>(std::min<std::int64_t>(span, 40'000'000)));
}

std::vector<double>& ReplayStats::series(std::vector<std::vector<double>>& v, InstrumentId id) {
  if (v.size() <= id) v.resize(id + 1);
  if (v[id].empty()) v[id].assign(sec_.size(), 0.0);
  return v[id];
}

void ReplayStats::scan_output(std::span<const std::byte> out, const Engine& engine) {
  EventReader r(out);
  for (EventView ev; r.next(ev);) {
    const wire::MsgType t = ev.type();
    if (t == wire::MsgType::Liquidation) {
      if (ev.as<wire::Liquidation>().stage == wire::LiquidationStage::Triggered) ++sec_[second(ev.header().ts_ns)].liquidations;
    } else if (t == wire::MsgType::Fill) {
      const auto& f = ev.as<wire::Fill>();
      if (!(f.flags & wire::fill_flags::kLiquidation)) continue;
      if (value_exp_.size() <= f.instrument) value_exp_.resize(f.instrument + 1, INT_MIN);
      int& e = value_exp_[f.instrument];
      if (e == INT_MIN) {
        const wire::InstrumentDefinition* d = engine.instrument(f.instrument);
        e = d ? 6 - d->price_decimals - d->qty_decimals : 0;
      }
      const double usd = static_cast<double>(f.price) * static_cast<double>(f.qty) * std::pow(10.0, e) / 1e6;
      Second& s = sec_[second(f.header.ts_ns)];
      (f.aggressor_side == Side::Sell ? s.long_usd : s.short_usd) += usd;
      if (volume_.size() <= f.instrument) volume_.resize(f.instrument + 1);
      Volume& v = volume_[f.instrument];
      v.liquidated += usd;
      if (f.flags & wire::fill_flags::kDeleverage) s.adl_usd += usd, v.adl += usd;
      else if (f.flags & wire::fill_flags::kBackstop) s.backstop_usd += usd, v.backstop += usd;
    } else if (t == wire::MsgType::TopOfBook) {
      // The second's last top of book: the state its last input event left.
      const auto& b = ev.as<wire::TopOfBook>();
      const double mid = (static_cast<double>(b.bid_price) + static_cast<double>(b.ask_price)) / 2;
      series(spread_, b.instrument)[second(b.header.ts_ns)] =
          b.bid_qty > 0 && b.ask_qty > 0 && mid > 0 ? static_cast<double>(b.ask_price - b.bid_price) / mid : 0.0;
    } else if (t == wire::MsgType::InsuranceFund) {
      const auto& m = ev.as<wire::InsuranceFund>();
      Second& s = sec_[second(m.header.ts_ns)];
      s.fund = m.balance;
      s.fund_seen = true;
    } else if (t == wire::MsgType::MarkPrice) {
      const auto& m = ev.as<wire::MarkPrice>();
      if (m.index <= 0) continue;
      if (price_scale_.size() <= m.instrument) price_scale_.resize(m.instrument + 1, 0.0);
      double& scale = price_scale_[m.instrument];
      if (scale == 0) {
        const wire::InstrumentDefinition* d = engine.instrument(m.instrument);
        scale = d ? std::pow(10.0, -d->price_decimals) : 1.0;
      }
      series(index_, m.instrument)[second(m.header.ts_ns)] = static_cast<double>(m.index) * scale;
    } else if (t == wire::MsgType::CircuitBreaker) {
      const auto& c = ev.as<wire::CircuitBreaker>();
      if (breaker_.size() <= c.instrument) breaker_.resize(c.instrument + 1);
      Breaker& b = breaker_[c.instrument];
      if (c.paused) {
        ++b.pauses;
        b.paused = true;
        b.since = c.header.ts_ns;
      } else if (b.paused) {
        b.paused = false;
        b.paused_ns += c.header.ts_ns - b.since;
      }
    } else if (t == wire::MsgType::Rejected) {
      const auto& x = ev.as<wire::Rejected>();
      if (x.reason != wire::RejectReason::InstrumentPaused) continue;
      if (breaker_.size() <= x.instrument) breaker_.resize(x.instrument + 1);
      ++breaker_[x.instrument].refused;
    }
  }
}

void ReplayStats::sample_depth(std::size_t sec, const Engine& engine) {
  LevelView levels[256];
  for (const InstrumentId id : engine.instrument_ids()) {
    const wire::InstrumentDefinition* d = engine.instrument(id);
    const double value = std::pow(10.0, 6 - d->price_decimals - d->qty_decimals) / 1e6;  // USD per price x qty unit
    const Price index = engine.mark(id).index;
    if (index > 0)
      series(oi_, id)[sec] = static_cast<double>(engine.instrument_totals(id).open_interest) * static_cast<double>(index) * value;
    const TopView top = engine.top(id);
    if (top.bid_qty == 0 || top.ask_qty == 0) continue;
    const double mid = (static_cast<double>(top.bid_price) + static_cast<double>(top.ask_price)) / 2;
    double usd = 0;
    for (const Side side : {Side::Buy, Side::Sell}) {
      const std::size_t n = engine.depth(id, side, 256, levels);
      for (std::size_t k = 0; k < n; ++k) {
        const double p = static_cast<double>(levels[k].price);
        if (std::abs(p - mid) > mid * 0.01) break;
        usd += p * static_cast<double>(levels[k].qty) * value;
      }
    }
    series(depth_, id)[sec] = usd;
  }
}

namespace {

// The median of a per-second series over the first half of the time before the burst, from
// its first nonzero second (past the setup); 0 if it has none there.
double median_before(const std::vector<double>& v, std::int64_t burst_begin) {
  std::int64_t s0 = 0;
  while (s0 < burst_begin && v[static_cast<std::size_t>(s0)] == 0) ++s0;
  std::vector<double> before;
  for (std::int64_t s = s0; s < s0 + (burst_begin - s0) / 2; ++s)
    if (v[static_cast<std::size_t>(s)] > 0) before.push_back(v[static_cast<std::size_t>(s)]);
  if (before.empty()) return 0;
  std::nth_element(before.begin(), before.begin() + static_cast<std::ptrdiff_t>(before.size() / 2), before.end());
  return before[before.size() / 2];
}

}  // namespace

Percentiles ReplayStats::percentiles(std::vector<std::uint32_t>& v) const {
  Percentiles p;
  p.count = v.size();
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  const auto at = [&](double q) {
    const std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size()))) - (q > 0));
    return static_cast<double>(v[i]) * ns_per_tick_;
  };
  p.p50 = at(0.5);
  p.p90 = at(0.9);
  p.p99 = at(0.99);
  p.p999 = at(0.999);
  p.max = static_cast<double>(v.back()) * ns_per_tick_;
  return p;
}

void ReplayStats::finish(const Engine& engine, std::size_t events) {
  ticks_.resize(events);
  steps_.resize(events);
  const auto n_sec = static_cast<std::int64_t>(sec_.size());
  // The burst window: the burst_seconds with the most liquidations (most events without any).
  for (const Second& s : sec_) liquidations_ += s.liquidations;
  const auto weight = [&](const Second& s) { return liquidations_ ? s.liquidations : s.events; };
  const std::int64_t w = std::min(burst_seconds_, n_sec);
  std::uint64_t run = 0, best = 0;
  for (std::int64_t s = 0; s < n_sec; ++s) {
    run += weight(sec_[static_cast<std::size_t>(s)]);
    if (s >= w) run -= weight(sec_[static_cast<std::size_t>(s - w)]);
    if (s + 1 >= w && run > best) {
      best = run;
      burst_begin_ = s + 1 - w;
    }
  }
  burst_end_ = burst_begin_ + w;
  // Events are in time order: the burst is a contiguous range of them.
  std::size_t first = 0;
  for (std::int64_t s = 0; s < burst_begin_; ++s) first += sec_[static_cast<std::size_t>(s)].events;
  std::size_t last = first;
  for (std::int64_t s = burst_begin_; s < burst_end_; ++s) {
    last += sec_[static_cast<std::size_t>(s)].events;
    burst_liquidations_ += sec_[static_cast<std::size_t>(s)].liquidations;
  }
  last = std::min(last, events);
  burst_events_ = last - first;

  double total_ticks = 0, burst_ticks = 0;
  std::vector<std::uint32_t> v(ticks_.begin(), ticks_.end());
  for (const std::uint32_t t : v) total_ticks += t;
  engine_s_ = total_ticks * ns_per_tick_ / 1e9;
  all_ = percentiles(v);
  std::vector<std::uint32_t> b, s, c;
  for (std::size_t i = first; i < last; ++i) {
    burst_ticks += ticks_[i];
    (steps_[i] ? c : stops_[i] ? s : b).push_back(ticks_[i]);
    if (steps_[i] > burst_largest_.steps) burst_largest_ = {i, 0, 0, steps_[i], 0};
  }
  Money fund = fund_start_;
  for (std::int64_t k = 0; k < burst_end_ && k < n_sec; ++k) {
    if (k == burst_begin_) burst_fund_before_ = fund;
    const Second& x = sec_[static_cast<std::size_t>(k)];
    if (x.fund_seen) fund = x.fund;
    if (k < burst_begin_) continue;
    burst_rss_kb_ = std::max(burst_rss_kb_, x.rss_kb);
    burst_long_usd_ += x.long_usd;
    burst_short_usd_ += x.short_usd;
    burst_backstop_usd_ += x.backstop_usd;
    burst_adl_usd_ += x.adl_usd;
  }
  burst_fund_after_ = fund;
  burst_engine_s_ = burst_ticks * ns_per_tick_ / 1e9;
  const auto joined = [](const std::vector<std::uint32_t>& x, const std::vector<std::uint32_t>& y) {
    std::vector<std::uint32_t> u(x);
    u.insert(u.end(), y.begin(), y.end());
    return u;
  };
  std::vector<std::uint32_t> u = joined(b, s);
  no_liquidation_ = percentiles(u);
  burst_ = percentiles(b);
  stop_chains_ = percentiles(s);
  cascades_ = percentiles(c);
  if (!min_ticks_.empty()) {
    min_ticks_.resize(events);
    std::vector<std::uint32_t> m(min_ticks_.begin(), min_ticks_.end());
    double min_ticks = 0;
    for (const std::uint32_t t : m) min_ticks += t;
    min_engine_s_ = min_ticks * ns_per_tick_ / 1e9;
    min_all_ = percentiles(m);
    b.clear();
    s.clear();
    c.clear();
    for (std::size_t i = first; i < last; ++i) (steps_[i] ? c : stops_[i] ? s : b).push_back(min_ticks_[i]);
    u = joined(b, s);
    min_no_liquidation_ = percentiles(u);
    min_burst_ = percentiles(b);
    min_stop_chains_ = percentiles(s);
    min_cascades_ = percentiles(c);
  }

  for (std::int64_t s = 0; s < n_sec; ++s) {
    const Second& x = sec_[static_cast<std::size_t>(s)];
    long_usd_ += x.long_usd;
    short_usd_ += x.short_usd;
    backstop_usd_ += x.backstop_usd;
    adl_usd_ += x.adl_usd;
    if (x.liquidations > peak_) {
      peak_ = x.liquidations;
      peak_s_ = s;
    }
  }

  for (InstrumentId id = 0; id < index_.size(); ++id) {
    if (index_[id].empty()) continue;
    InstrumentFigures f;
    f.id = id;
    const wire::InstrumentDefinition* d = engine.instrument(id);
    f.symbol = d ? std::string(d->symbol, strnlen(d->symbol, sizeof d->symbol)) : std::to_string(id);
    double cur = 0, run_high = 0, high_at_low = 0;
    for (std::int64_t s = 0; s < n_sec; ++s) {
      const double x = index_[id][static_cast<std::size_t>(s)];
      if (x <= 0) continue;
      cur = x;
      if (f.start == 0) f.start = x;
      run_high = std::max(run_high, x);
      if (f.low == 0 || x < f.low) {
        f.low = x;
        f.low_s = s;
        high_at_low = run_high;
      }
    }
    f.high = high_at_low;
    f.end = cur;
    if (id < volume_.size()) {
      f.liquidated_usd = volume_[id].liquidated;
      f.backstop_usd = volume_[id].backstop;
      f.adl_usd = volume_[id].adl;
    }
    if (id < depth_.size() && !depth_[id].empty()) {
      // Before: the median over the first half of the time before the burst; in the burst: the
      // lowest second.
      f.depth_before = median_before(depth_[id], burst_begin_);
      f.depth_burst = -1;
      for (std::int64_t s = burst_begin_; s < burst_end_; ++s) {
        const double x = depth_[id][static_cast<std::size_t>(s)];
        if (f.depth_burst < 0 || x < f.depth_burst) f.depth_burst = x;
      }
      if (f.depth_burst < 0) f.depth_burst = 0;
    }
    if (id < spread_.size() && !spread_[id].empty()) {  // as the depth, the widest second in the burst
      f.spread_before = median_before(spread_[id], burst_begin_);
      for (std::int64_t s = burst_begin_; s < burst_end_; ++s)
        f.spread_burst = std::max(f.spread_burst, spread_[id][static_cast<std::size_t>(s)]);
    }
    if (id < oi_.size() && !oi_[id].empty()) {
      for (std::int64_t s = 0; s < burst_begin_; ++s) f.oi_before = std::max(f.oi_before, oi_[id][static_cast<std::size_t>(s)]);
      f.oi_after = f.oi_before;
      for (std::int64_t s = burst_begin_; s < n_sec; ++s) {
        const double x = oi_[id][static_cast<std::size_t>(s)];
        if (x > 0) f.oi_after = std::min(f.oi_after, x);
      }
    }
    figures_.push_back(f);
  }

  for (const InstrumentId id : engine.instrument_ids()) {
    const wire::InstrumentDefinition* d = engine.instrument(id);
    BreakerFigures f;
    f.id = id;
    f.symbol = std::string(d->symbol, strnlen(d->symbol, sizeof d->symbol));
    if (CircuitBreakerState::enabled(*d)) {
      f.band = d->circuit_band;
      f.window_ms = d->circuit_window_ms;
      f.pause_ms = d->circuit_pause_ms;
    }
    if (id < breaker_.size()) {
      const Breaker& b = breaker_[id];
      f.pauses = b.pauses;
      f.refused = b.refused;
      // A pause still on at the end lasted as long as the input.
      f.paused_ns = b.paused_ns + (b.paused ? std::max<std::int64_t>(0, last_ts_ - b.since) : 0);
    }
    any_breaker_ = any_breaker_ || f.band > 0 || f.pauses > 0;
    breakers_.push_back(f);
  }
}

bool ReplayStats::write_plots(const std::string& dir, std::string& message) const {
  ::mkdir(dir.c_str(), 0777);
  const std::string csv = dir + "/per_second.csv";
  std::FILE* f = std::fopen(csv.c_str(), "w");
  if (!f) {
    message = csv + ": cannot write";
    return false;
  }
  std::fprintf(f, "minute,epoch_s,events,latency_p50_ns,latency_p99_ns,latency_max_ns,liquidations,long_usd,short_usd,"
                  "backstop_usd,adl_usd,cumulative_liquidations,cumulative_liquidated_usd");
  for (const InstrumentFigures& x : figures_)
    std::fprintf(f, ",index_%s,index100_%s,depth1pct_usd_%s", x.symbol.c_str(), x.symbol.c_str(), x.symbol.c_str());
  std::fputc('\n', f);
  std::size_t first = 0;
  std::uint64_t cum = 0;
  double cum_usd = 0;
  std::vector<std::uint32_t> slice;
  std::vector<double> last_index(figures_.size(), 0.0);
  for (std::size_t s = 0; s < sec_.size(); ++s) {
    const Second& x = sec_[s];
    const std::size_t end = std::min(first + x.events, ticks_.size());
    cum += x.liquidations;
    cum_usd += x.long_usd + x.short_usd;
    for (std::size_t k = 0; k < figures_.size(); ++k) {
      const double ix = index_[figures_[k].id][s];
      if (ix > 0) last_index[k] = ix;
    }
    if (x.events == 0 && x.liquidations == 0) {
      first = end;
      continue;
    }
    slice.assign(ticks_.begin() + static_cast<std::ptrdiff_t>(first), ticks_.begin() + static_cast<std::ptrdiff_t>(end));
    double p50 = 0, p99 = 0, mx = 0;
    if (!slice.empty()) {
      std::sort(slice.begin(), slice.end());
      p50 = slice[slice.size() / 2] * ns_per_tick_;
      p99 = slice[std::min(slice.size() - 1, slice.size() * 99 / 100)] * ns_per_tick_;
      mx = slice.back() * ns_per_tick_;
    }
    first = end;
    std::fprintf(f, "%.4f,%lld,%llu,%.0f,%.0f,%.0f,%llu,%.2f,%.2f,%.2f,%.2f,%llu,%.2f", static_cast<double>(s) / 60.0,
                 static_cast<long long>(epoch_s(static_cast<std::int64_t>(s))), static_cast<unsigned long long>(x.events), p50,
                 p99, mx, static_cast<unsigned long long>(x.liquidations), x.long_usd, x.short_usd, x.backstop_usd, x.adl_usd,
                 static_cast<unsigned long long>(cum), cum_usd);
    for (std::size_t k = 0; k < figures_.size(); ++k) {
      const InstrumentId id = figures_[k].id;
      const double dep = id < depth_.size() && !depth_[id].empty() ? depth_[id][s] : 0.0;
      const double start = figures_[k].start;
      std::fprintf(f, ",%.10g,%.6g,%.2f", last_index[k], last_index[k] > 0 && start > 0 ? 100 * last_index[k] / start : 0.0,
                   dep);
    }
    std::fputc('\n', f);
  }
  const bool csv_ok = std::fclose(f) == 0;
  if (!csv_ok) {
    message = csv + ": write failed";
    return false;
  }

  // tools/replay_plots.gp beside the data, so the pictures can be redrawn or restyled.
  const std::string gp = dir + "/plots.gp";
  std::FILE* g = std::fopen(gp.c_str(), "w");
  bool gp_ok = g != nullptr && std::fputs(kReplayPlotsGp, g) >= 0;
  if (g != nullptr && std::fclose(g) != 0) gp_ok = false;
  if (!gp_ok) {
    message = gp + ": cannot write";
    return false;
  }

  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    message = "gnuplot not found: wrote " + csv + " and " + gp +
              "; install gnuplot (Debian: apt-get install gnuplot-nox) and run 'gnuplot plots.gp' in " + dir;
    return true;
  }
  const std::string cmd = "cd '" + dir + "' && gnuplot plots.gp";
  if (std::system(cmd.c_str()) != 0) {
    message = "gnuplot failed on " + gp + "; the CSV is in " + csv;
    return true;
  }
  message = "wrote " + csv + ", price_liquidations.png, latency.png and cumulative_liquidations.png in " + dir;
  return true;
}

}  // namespace cascade::cli
