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

  // How the next trade's window is anchored: Set, the current window's anchor stays for its
  // trades; None, a new window anchors at the last price; Reopen, the first trade after a pause
  // reopens the market and anchors its window at its own price.
  enum class Window : std::uint8_t { None = 0, Set = 1, Reopen = 2 };

  // The whole state, for snapshots (docs/snapshots.md).
  struct Saved {
    std::int64_t window;  // fits: a timestamp divided by at least 1e6
    Price anchor;
    Timestamp until;
    std::uint8_t window_state, paused;  // window_state: a Window
  };
  Saved save() const noexcept {
    return {static_cast<std::int64_t>(window_), anchor_, until_, static_cast<std::uint8_t>(state_), paused_};
  }
  // window_state must be a Window (the snapshot reader checks it).
  void restore(const Saved& s) noexcept {
    window_ = s.window;
    anchor_ = s.anchor;
    until_ = s.until;
    state_ = static_cast<Window>(s.window_state);
    paused_ = s.paused != 0;
  }

  // A redefinition keeps a pause but starts a new window at the next trade (a reopening stays
  // one).
  void redefine() noexcept {
    if (state_ == Window::Set) state_ = Window::None;
  }

  // Before a trade at `price` at time ts: a trade in a new window fixes the window's anchor,
  // the last price before it (the trade's own price on a first trade or a reopening).
  void before_trade(const wire::InstrumentDefinition& d, Timestamp ts, Price last, Price price) noexcept {
    if (!enabled(d)) return;
    const fx::i128 w = window_of(d, ts);
    if (state_ == Window::Set && window_ == w) return;
    anchor_ = last != 0 && state_ != Window::Reopen ? last : price;
    state_ = Window::Set;
    window_ = w;
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

  // At an input event at ts >= until(): the pause ends; the next trade reopens the market.
  // Anchoring at the price from before the pause would trip again at once whenever the market
  // moved during the pause, chaining pauses; venues reopen at a new reference instead.
  void resume() noexcept {
    paused_ = false;
    state_ = Window::Reopen;
  }

 private:
  static fx::i128 window_of(const wire::InstrumentDefinition& d, Timestamp ts) noexcept {
    return fx::floor_div(ts, fx::i128{d.circuit_window_ms} * 1'000'000);
  }

  fx::i128 window_ = 0;  // floor(ts_ns / (window_ms * 1e6)), negative timestamps floored
  Price anchor_ = 0;
  Timestamp until_ = 0;
  Window state_ = Window::None;
  bool paused_ = false;
};
static_assert(sizeof(CircuitBreakerState) == 48);

}  // namespace cascade
