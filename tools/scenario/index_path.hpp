// An index price path: (time, price) points, linear in between. Built synthetically (calm,
// drop, wick, partial rebound), or read from a CSV of timestamps and prices, or from Binance
// 1-minute kline files (each candle walked through open, high, low and close).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "scenario/rng.hpp"

namespace cascade::scenario {

struct PricePoint {
  std::int64_t t_ms;  // since the scenario's start
  double price;
};

class IndexPath {
 public:
  IndexPath() = default;
  explicit IndexPath(std::vector<PricePoint> points) : points_(std::move(points)) {}

  bool empty() const noexcept { return points_.empty(); }
  const std::vector<PricePoint>& points() const noexcept { return points_; }
  std::int64_t duration_ms() const noexcept { return points_.empty() ? 0 : points_.back().t_ms; }
  double first() const noexcept { return points_.empty() ? 0 : points_.front().price; }
  // Linear interpolation; flat before the first and after the last point.
  double at(std::int64_t t_ms) const noexcept;
  // Lowest (highest) price and its time.
  PricePoint low() const noexcept;
  PricePoint high() const noexcept;

 private:
  std::vector<PricePoint> points_;
  mutable std::size_t hint_ = 0;  // at() is called with rising times: resume the search here
};

// The shape of a synthetic day, as fractions of the start price (1.0).
struct PathShape {
  std::int64_t duration_ms = 2 * 3600 * 1000;
  std::int64_t drop_start_ms = 50 * 60 * 1000;  // end of the calm period
  std::int64_t drop_ms = 35 * 60 * 1000;        // from drop start to the low
  double drop = 0.13;           // fraction lost at the low; negative: a squeeze upward
  double grind_share = 0.4;     // part of the drop taken slowly before the wick
  double wick_share = 0.12;     // last part of the drop's time, where the rest of it happens
  double pump = 0.005;          // rise just before the drop (stops out the highest-leverage shorts)
  double rebound = 0.70;        // part of the drop recovered after the low (10 Oct 2025: 101.5k back to 112k)
  std::int64_t rebound_ms = 12 * 60 * 1000;
  double noise = 0.0004;        // random walk, per sqrt(second), as a fraction
  std::int64_t step_ms = 1000;  // spacing of the generated points
};

// The shape's path for a start price, scaled by beta (an instrument moving beta times the
// large cap's relative move, never below 2% of its start), with its own noise stream.
IndexPath synthetic_path(const PathShape& shape, double start_price, double beta, Rng rng);

// The same relative moves as `base` (a path of the large cap), scaled by beta and started at
// start_price, with extra noise: the other instruments of a day driven by a real path.
IndexPath follow_path(const IndexPath& base, double start_price, double beta, double noise, Rng rng);

// "timestamp,price" lines (a header line is skipped). Timestamps are epoch seconds,
// milliseconds, microseconds or nanoseconds (told apart by magnitude) and must not go
// backwards. start_epoch_ms receives the first timestamp.
bool load_price_csv(const std::string& path, IndexPath& out, std::int64_t& start_epoch_ms, std::string& error);

// Binance kline CSV (12 columns, header optional). Each candle becomes open at its open time,
// then high and low (low first for a rising candle, high first for a falling one) at one third
// and two thirds of the minute, then close at its close time.
bool load_binance_klines(const std::string& path, IndexPath& out, std::int64_t& start_epoch_ms, std::string& error);

}  // namespace cascade::scenario
