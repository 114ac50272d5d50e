// One instrument's circuit breaker (docs/liquidation.md, "Circuit breaker"): the current
// window and its anchor price, and a pause. Pure state and arithmetic; the engine emits the
// CircuitBreaker events and refuses taker flow while paused.
#pragma once

#include <cstdint>
#include <limits>

#include "cascade/fixed_point.hpp"
#include "cascade/types.hpp"
#include "cascade/wire.hpp"

namespace cascade {

class CircuitBreakerState {
 public:
  static bool enabled(const wire::InstrumentDefinition& d) noexcept {
    return d.circuit_band > 0 && d.circuit_window_ms > 0;
  }

  bool paused() const noexcept { return paused_; }
  Timestamp until() const noexcept { return until_; }
  Price anchor() const noexcept { return anchor_; }

  // The whole state, for snapshots (docs/snapshots.md).
  struct Saved {
    std::int64_t window;  // fits: a timestamp divided by at least 1e6
    Price anchor;
    Timestamp until;
    std::uint8_t window_set, paused;
  };
  Saved save() const noexcept {
    return {static_cast<std::int64_t>(window_), anchor_, until_, window_set_, paused_};
  }
  void restore(const Saved& s) noexcept {
    window_ = s.window;
    anchor_ = s.anchor;
    until_ = s.until;
    window_set_ = s.window_set != 0;
    paused_ = s.paused != 0;
  }

  // A redefinition keeps a pause but starts a new window at the next trade.
  void redefine() noexcept { window_set_ = false; }

  // Before a trade at `price` at time ts: a trade in a new window fixes the window's anchor,
  // the last price before it (the trade's own price on a first trade).
  void before_trade(const wire::InstrumentDefinition& d, Timestamp ts, Price last, Price price) noexcept {
    if (!enabled(d)) return;
    const fx::i128 w = window_of(d, ts);
    if (window_set_ && window_ == w) return;
    window_set_ = true;
    window_ = w;
    anchor_ = last != 0 ? last : price;
  }

  // After the trade settled at last price `last`: true when it paused the instrument now.
  bool after_trade(const wire::InstrumentDefinition& d, Timestamp ts, Price last) noexcept {
    if (!enabled(d) || paused_) return false;
    const fx::i128 band = fx::floor_div(fx::i128{anchor_} * d.circuit_band, kRateOne);
    const fx::i128 move = fx::i128{last} - anchor_;
    if ((move < 0 ? -move : move) <= band) return false;
    paused_ = true;
    const fx::i128 end = fx::i128{ts} + fx::i128{d.circuit_pause_ms} * 1'000'000;
    until_ = end > std::numeric_limits<Timestamp>::max() ? std::numeric_limits<Timestamp>::max()
                                                         : static_cast<Timestamp>(end);
    return true;
  }

  // At an input event at ts >= until(): the pause ends and a new window starts at ts with the
  // last price as its anchor.
  void resume(const wire::InstrumentDefinition& d, Timestamp ts, Price last) noexcept {
    paused_ = false;
    if (!enabled(d)) return;
    window_set_ = true;
    window_ = window_of(d, ts);
    anchor_ = last;
  }

 private:
  static fx::i128 window_of(const wire::InstrumentDefinition& d, Timestamp ts) noexcept {
    return fx::floor_div(ts, fx::i128{d.circuit_window_ms} * 1'000'000);
  }

  fx::i128 window_ = 0;  // floor(ts_ns / (window_ms * 1e6)), negative timestamps floored
  Price anchor_ = 0;
  Timestamp until_ = 0;
  bool window_set_ = false;
  bool paused_ = false;
};
static_assert(sizeof(CircuitBreakerState) == 48);

}  // namespace cascade
