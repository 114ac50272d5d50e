// Crash scenarios: seeded, deterministic input event files of a venue's day (docs/scenarios.md).
// The generator runs a cascade::Engine over every event it writes, so it knows which orders
// are live and every event it writes is one the engine accepts (but for taker and trader
// orders into an instrument its circuit breaker paused); the same parameters and seed always
// give the same bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "cascade/types.hpp"
#include "scenario/index_path.hpp"

namespace cascade::scenario {

enum class Kind : std::uint8_t { Crash, Calm, Squeeze };

struct InstrumentSpec {
  std::string symbol;
  double price;           // start price (quote units)
  int price_decimals;
  int qty_decimals;
  Price tick;             // in price units
  double beta;            // relative move versus the large cap's
  double max_leverage;    // of the first bracket
  double first_bracket;   // its notional cap, USD; each further bracket is 5x wider
  double weight;          // share of traders holding it
  double level_usd;       // market-maker depth per level near the mid, USD, for 100,000 traders
  double stress_half;     // the market maker's half-spread under full stress (thin books widest)
};

struct Params {
  Kind kind = Kind::Crash;
  std::uint64_t seed = 1;
  std::uint32_t accounts = 1'000'000;  // traders
  std::vector<InstrumentSpec> instruments;
  PathShape shape;                     // synthetic path of instrument 0
  std::string index_csv;               // or instrument 0's path from timestamp,price lines
  std::string index_klines;            // or from a Binance 1-minute kline file
  Timestamp start_ns = 1'760'126'400'000'000'000;  // 2025-10-10 20:00:00 UTC
  std::int64_t tick_ms = 100;          // index ticks and market-maker requotes
  double long_share = 0.72;            // traders holding a long position
  double leverage_skew = 2.5;          // leverage = max^(u^(1/skew)): larger is heavier at max
  double leverage_cap = 0;             // cap on every trader's leverage (0 = the brackets' max)
  double min_deposit = 10, max_deposit = 10'000;  // USD, log-uniform
  double late_share = 0.15;            // traders opening during the move (after the calm)
  double stop_share = 0.25;            // traders with a reduce-only stop-loss
  std::uint32_t mm_levels = 10;        // per side and instrument
  double mm_spread = 0.0002;           // half-spread at calm (each instrument's stress_half under stress)
  double mm_step = 0.0005;             // between levels
  double mm_pull = 0.95;               // fraction of near-mid depth pulled under stress
  std::uint32_t takers = 64;
  double taker_rate = 40;              // orders per second at calm (x10 under stress)
  double backstop_usd = 0;             // backstop vault's capital (0: 50 USD per trader)
  double funding_rate = 0.0001;        // per funding interval, before the move
  std::int64_t funding_interval_ms = 3600 * 1000;
  // Every instrument's circuit breaker (docs/liquidation.md, "Circuit breaker"). A band of 0
  // leaves it off and the definitions as they were; window and pause default to US equities'
  // limit up-limit down (a 5-minute reference, a 5-minute pause).
  double circuit_band = 0;             // move from the window's anchor that pauses, 0.05 = 5%
  std::uint32_t circuit_window_ms = 300'000;
  std::uint32_t circuit_pause_ms = 300'000;
};

// Defaults of a preset (crash, calm, squeeze); the instruments are BTC, SOL and three meme coins.
Params preset(Kind kind);
bool parse_kind(const std::string& name, Kind& out);
const char* kind_name(Kind kind);

struct InstrumentSummary {
  std::string symbol;
  double start = 0, low = 0, high = 0, end = 0;  // index prices
  std::int64_t low_ms = 0, high_ms = 0;
  std::uint64_t pauses = 0;  // circuit-breaker pauses
};

struct Summary {
  std::uint64_t events = 0;
  std::uint64_t bytes = 0;
  std::uint64_t positions_opened = 0;
  std::uint64_t stops = 0;
  std::uint64_t taker_orders = 0;
  std::uint64_t mm_updates = 0;   // new orders and modifies of the market makers
  std::uint64_t index_ticks = 0;
  std::uint64_t rejects = 0;      // events the engine rejected: 0 for a valid scenario
  std::string first_reject;       // what the first one was, for a bug report
  // Taker and trader orders a paused instrument refused (InstrumentPaused): the breaker at
  // work, not a bug, so not in `rejects`. A market maker or fund refused so is still a bug.
  std::uint64_t paused_rejects = 0;
  std::uint64_t pauses = 0;       // circuit-breaker pauses, as the generator's engine saw them
  std::uint64_t liquidations = 0; // as the generator's engine saw them
  Timestamp start_ns = 0, end_ns = 0;
  std::uint32_t total_accounts = 0;  // traders plus market makers, funds, takers and backstop
  std::vector<InstrumentSummary> instruments;
};

// Receives the event bytes (no file header) in order, in chunks of about a megabyte.
using Sink = std::function<void(std::span<const std::byte>)>;

// False with a message for parameters that cannot give a valid file (or an unreadable path).
bool generate(const Params& params, const Sink& sink, Summary& summary, std::string& error);

}  // namespace cascade::scenario
