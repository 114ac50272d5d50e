#include "scenario/index_path.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <string_view>

namespace cascade::scenario {

double IndexPath::at(std::int64_t t_ms) const noexcept {
  if (points_.empty()) return 0;
  if (t_ms <= points_.front().t_ms) return points_.front().price;
  if (t_ms >= points_.back().t_ms) return points_.back().price;
  std::size_t i = hint_ < points_.size() && points_[hint_].t_ms <= t_ms ? hint_ : 0;
  while (points_[i + 1].t_ms < t_ms) ++i;
  hint_ = i;
  const PricePoint& a = points_[i];
  const PricePoint& b = points_[i + 1];
  if (b.t_ms == a.t_ms) return b.price;
  const double f = static_cast<double>(t_ms - a.t_ms) / static_cast<double>(b.t_ms - a.t_ms);
  return a.price + (b.price - a.price) * f;
}

PricePoint IndexPath::low() const noexcept {
  PricePoint best{0, 0};
  for (const PricePoint& p : points_)
    if (best.price == 0 || p.price < best.price) best = p;
  return best;
}

PricePoint IndexPath::high() const noexcept {
  PricePoint best{0, 0};
  for (const PricePoint& p : points_)
    if (p.price > best.price) best = p;
  return best;
}

namespace {

// The noiseless relative level of the shape at t (1.0 at the start).
double shape_level(const PathShape& s, std::int64_t t) {
  constexpr std::int64_t kPumpMs = 5 * 60 * 1000;
  const double top = 1.0 + (s.drop >= 0 ? s.pump : -s.pump);
  const double low = 1.0 - s.drop;
  if (t < s.drop_start_ms - kPumpMs) return 1.0;
  if (t < s.drop_start_ms) {
    const double x = static_cast<double>(t - (s.drop_start_ms - kPumpMs)) / kPumpMs;
    return 1.0 + (top - 1.0) * x;
  }
  const std::int64_t t_low = s.drop_start_ms + s.drop_ms;
  if (t < t_low) {
    const double x = static_cast<double>(t - s.drop_start_ms) / static_cast<double>(s.drop_ms);
    const double grind_end = 1.0 - s.wick_share;
    const double after_grind = top - (top - low) * s.grind_share;
    if (x < grind_end) return top - (top - after_grind) * (x / grind_end);
    const double y = (x - grind_end) / s.wick_share;
    return after_grind - (after_grind - low) * y * std::sqrt(y);  // accelerating into the low
  }
  const double r = std::min(1.0, static_cast<double>(t - t_low) / static_cast<double>(std::max<std::int64_t>(1, s.rebound_ms)));
  return low + (1.0 - low) * s.rebound * (1.0 - (1.0 - r) * (1.0 - r));
}

double scaled(double rel, double beta) { return std::max(0.02, 1.0 + beta * (rel - 1.0)); }

// Mean-reverting (over ~10 minutes) noise in log space.
struct Noise {
  double sigma;
  double n = 0;
  double step(Rng& rng, double dt_s) {
    n += -n * dt_s / 600.0 + sigma * std::sqrt(dt_s) * rng.normal();
    return std::exp(n);
  }
};

}  // namespace

IndexPath synthetic_path(const PathShape& shape, double start_price, double beta, Rng rng) {
  std::vector<PricePoint> pts;
  const std::int64_t step = std::max<std::int64_t>(1, shape.step_ms);
  pts.reserve(static_cast<std::size_t>(shape.duration_ms / step + 2));
  Noise noise{shape.noise * std::sqrt(std::max(1.0, beta))};
  for (std::int64_t t = 0; t <= shape.duration_ms; t += step) {
    const double m = t == 0 ? 1.0 : noise.step(rng, static_cast<double>(step) / 1000.0);
    pts.push_back({t, start_price * scaled(shape_level(shape, t), beta) * m});
  }
  return IndexPath(std::move(pts));
}

IndexPath follow_path(const IndexPath& base, double start_price, double beta, double noise_sigma, Rng rng) {
  std::vector<PricePoint> pts;
  pts.reserve(base.points().size());
  Noise noise{noise_sigma * std::sqrt(std::max(1.0, beta))};
  std::int64_t prev = 0;
  for (const PricePoint& p : base.points()) {
    const double m = pts.empty() ? 1.0 : noise.step(rng, static_cast<double>(p.t_ms - prev) / 1000.0);
    prev = p.t_ms;
    pts.push_back({p.t_ms, start_price * scaled(p.price / base.first(), beta) * m});
  }
  return IndexPath(std::move(pts));
}

namespace {

std::vector<std::string_view> split(std::string_view line) {
  std::vector<std::string_view> f;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= line.size(); ++i)
    if (i == line.size() || line[i] == ',') {
      f.push_back(line.substr(start, i - start));
      start = i + 1;
    }
  return f;
}

bool parse_int(std::string_view s, std::int64_t& v) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc{} && r.ptr == s.data() + s.size();
}

bool parse_price(std::string_view s, double& v) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc{} && r.ptr == s.data() + s.size() && v > 0 && std::isfinite(v);
}

std::int64_t to_ms(std::int64_t ts) {
  if (ts < 100'000'000'000) return ts * 1000;                 // seconds
  if (ts < 100'000'000'000'000) return ts;                    // milliseconds
  if (ts < 100'000'000'000'000'000) return ts / 1000;         // microseconds
  return ts / 1'000'000;                                      // nanoseconds
}

template <class Row>
bool read_rows(const std::string& path, std::string& error, Row row) {
  std::ifstream f(path);
  if (!f) {
    error = path + ": cannot open";
    return false;
  }
  std::string line;
  for (std::size_t n = 1; std::getline(f, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const std::vector<std::string_view> fields = split(line);
    std::int64_t probe = 0;
    if (n == 1 && !parse_int(fields[0], probe)) continue;  // header
    if (!row(fields, error)) {
      error = path + ":" + std::to_string(n) + ": " + error;
      return false;
    }
  }
  return true;
}

bool finish(const std::string& path, std::vector<PricePoint>& abs, IndexPath& out, std::int64_t& start_epoch_ms,
            std::string& error) {
  if (abs.size() < 2) {
    error = path + ": fewer than two prices";
    return false;
  }
  start_epoch_ms = abs.front().t_ms;
  for (PricePoint& p : abs) p.t_ms -= start_epoch_ms;
  out = IndexPath(std::move(abs));
  return true;
}

}  // namespace

bool load_price_csv(const std::string& path, IndexPath& out, std::int64_t& start_epoch_ms, std::string& error) {
  std::vector<PricePoint> abs;
  const bool ok = read_rows(path, error, [&](const std::vector<std::string_view>& f, std::string& err) {
    std::int64_t ts = 0;
    double price = 0;
    if (f.size() < 2 || !parse_int(f[0], ts) || !parse_price(f[1], price)) {
      err = "expected timestamp,price";
      return false;
    }
    const std::int64_t ms = to_ms(ts);
    if (!abs.empty() && ms < abs.back().t_ms) {
      err = "timestamp goes backwards";
      return false;
    }
    abs.push_back({ms, price});
    return true;
  });
  return ok && finish(path, abs, out, start_epoch_ms, error);
}

bool load_binance_klines(const std::string& path, IndexPath& out, std::int64_t& start_epoch_ms, std::string& error) {
  std::vector<PricePoint> abs;
  const bool ok = read_rows(path, error, [&](const std::vector<std::string_view>& f, std::string& err) {
    std::int64_t open_t = 0, close_t = 0;
    double o = 0, h = 0, l = 0, c = 0;
    if (f.size() < 7 || !parse_int(f[0], open_t) || !parse_price(f[1], o) || !parse_price(f[2], h) ||
        !parse_price(f[3], l) || !parse_price(f[4], c) || !parse_int(f[6], close_t)) {
      err = "expected a Binance kline row (open_time,open,high,low,close,volume,close_time,...)";
      return false;
    }
    open_t = to_ms(open_t);
    close_t = to_ms(close_t);
    if (close_t <= open_t || l > h || o < l || o > h || c < l || c > h) {
      err = "inconsistent candle";
      return false;
    }
    if (!abs.empty() && open_t < abs.back().t_ms) {
      err = "candles go backwards";
      return false;
    }
    const std::int64_t third = (close_t - open_t) / 3;
    const bool rising = c >= o;
    abs.push_back({open_t, o});
    abs.push_back({open_t + third, rising ? l : h});
    abs.push_back({open_t + 2 * third, rising ? h : l});
    abs.push_back({close_t, c});
    return true;
  });
  return ok && finish(path, abs, out, start_epoch_ms, error);
}

}  // namespace cascade::scenario
