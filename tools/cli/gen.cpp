// cascade gen: writes a generated scenario (crash, calm, squeeze) as an input event file.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cascade/event_file.hpp"
#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "scenario/scenario.hpp"

namespace {

constexpr const char* kHelp =
    "usage: cascade gen crash|calm|squeeze [options] -o FILE\n"
    "\n"
    "Writes a seeded, deterministic scenario as an input event file (docs/scenarios.md):\n"
    "instruments (BTC, SOL and three thin meme books), traders with leverage heavy at the\n"
    "brackets' maximum, funds taking their other side, market makers quoting around the index\n"
    "and pulling depth under stress, takers, stop-losses, funding, and an index path:\n"
    "  crash    calm, a drop (13% for BTC, deeper for the memes) with a wick, a partial rebound\n"
    "  calm     small moves, leverage at most 5x: no liquidations\n"
    "  squeeze  a move up (10% for BTC) against a short-heavy market\n"
    "The same options and seed give the same bytes. Every event is one the engine accepts.\n"
    "\n"
    "  -o, --output FILE     the event file to write (- for standard output)\n"
    "  --seed N              random seed (default 1)\n"
    "  --accounts N          traders (default 1000000; with the venue's own accounts at most\n"
    "                        the engine's default capacity of 1048576)\n"
    "  --minutes N           length of a synthetic day (default 120)\n"
    "  --calm-minutes N      calm before the move (default 50)\n"
    "  --drop-minutes N      from the start of the move to the extreme (default 35)\n"
    "  --drop PCT            the large cap's move at the extreme, in % (default 13;\n"
    "                        squeeze: the rise, default 10)\n"
    "  --rebound PCT         part of the move recovered afterwards, in % (default 70)\n"
    "  --grind-share PCT     part of the move taken slowly before the wick, in % (default 40)\n"
    "  --wick-share PCT      last part of the move's time, where the rest of it happens, in %\n"
    "                        (default 12)\n"
    "  --pump PCT            rise in the 5 minutes before the move, in % (default 0.5; calm 0)\n"
    "  --funding-rate PCT    funding rate per interval before the move, in % (default 0.01;\n"
    "                        during a crash it turns to -2x, during a squeeze to 2x)\n"
    "  --funding-minutes N   funding interval (default 60), on the clock's boundaries\n"
    "  --long-share PCT      traders holding longs, in % (default 72; calm 50; squeeze 30)\n"
    "  --late-share PCT      traders opening during the move, half of them chasing it into\n"
    "                        its extreme, in % (default 15; calm 30)\n"
    "  --leverage-cap X      no trader above X (default: the brackets' maximum; calm 5)\n"
    "  --leverage-skew X     how heavy leverage is at the maximum: a trader's leverage is\n"
    "                        max^(u^(1/X)), u uniform in [0, 1) (default 2.5; 1 is\n"
    "                        log-uniform from 1x to the maximum)\n"
    "  --stop-share PCT      traders with a stop-loss, in % (default 25)\n"
    "  --mm-levels N         market-maker levels per side (default 10)\n"
    "  --mm-pull PCT         near-mid depth pulled under full stress, in % (default 95)\n"
    "  --taker-rate N        taker orders per second at calm (default 40, x10 under stress)\n"
    "  --tick-ms N           index ticks and market-maker requotes every N ms (default 100;\n"
    "                        a whole day of candles generates far fewer events at 1000)\n"
    "  --betas B,B,B,B       SOL's, DOGE's, WIF's and PEPE's move as multiples of BTC's\n"
    "                        (default 2.2,4,6.3,3.5, 10 Oct 2025's; each in [0.1, 20])\n"
    "  --backstop-usd N      the backstop vault's capital (default 50 USD per trader)\n"
    "  --circuit-band PCT    a circuit breaker on every instrument: taker flow pauses when the\n"
    "                        price moves more than PCT % within a window (default 0: none)\n"
    "  --circuit-window-ms N its window (default 300000: the 5 minutes of US equities' limit\n"
    "                        up-limit down); needs --circuit-band\n"
    "  --circuit-pause-ms N  how long a pause lasts (default 300000); needs --circuit-band\n"
    "  --index-csv FILE      the large cap's index from timestamp,price lines\n"
    "  --index-klines FILE   the large cap's index from a Binance kline file of any bar\n"
    "                        length (the day's length and start come from the file); for\n"
    "                        10 Oct 2025: binance-um-klines-1m/BTCUSDT-1m-2025-10-10_2000-2359.csv,\n"
    "                        for the whole of 4 Nov 2025, its 5-minute mark-price candles:\n"
    "                        binance-markprice-klines/BTCUSDT-5m-2025-11-04.csv\n"
    "  -h, --help            this help\n";

constexpr cascade::cli::OptionSpec kOptions[] = {
    {"output", 'o', true},       {"seed", 0, true},        {"accounts", 0, true},   {"minutes", 0, true},
    {"calm-minutes", 0, true},   {"drop-minutes", 0, true}, {"drop", 0, true},      {"rebound", 0, true},
    {"long-share", 0, true},     {"leverage-cap", 0, true}, {"stop-share", 0, true}, {"mm-levels", 0, true},
    {"mm-pull", 0, true},        {"taker-rate", 0, true},   {"backstop-usd", 0, true}, {"index-csv", 0, true},
    {"index-klines", 0, true},   {"late-share", 0, true},   {"circuit-band", 0, true}, {"circuit-window-ms", 0, true},
    {"circuit-pause-ms", 0, true}, {"leverage-skew", 0, true}, {"grind-share", 0, true}, {"wick-share", 0, true},
    {"pump", 0, true},           {"funding-rate", 0, true}, {"funding-minutes", 0, true}, {"tick-ms", 0, true},
    {"betas", 0, true},          {"help", 'h', false},
};

// The whole of text as a number in [min, max].
bool parse_number(const std::string& text, double min, double max, double& out) {
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return !text.empty() && end == text.c_str() + text.size() && out >= min && out <= max;
}

}  // namespace

int cmd_gen(int argc, char** argv) {
  using namespace cascade;
  cli::Args args;
  std::string error;
  if (!args.parse(argc, argv, kOptions, error)) return cli::usage_error("gen", error);
  if (args.has("help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  scenario::Kind kind{};
  if (args.operands().size() != 1 || !scenario::parse_kind(args.operands()[0], kind))
    return cli::usage_error("gen", "expected one scenario: crash, calm or squeeze");
  if (!args.has("output")) return cli::usage_error("gen", "-o FILE is required");
  scenario::Params p = scenario::preset(kind);

  bool bad = false;
  const auto count = [&](const char* name, std::uint64_t min, std::uint64_t max, auto& field) {
    if (!args.has(name)) return;
    std::uint64_t v = 0;
    if (!cli::parse_count(args.value(name), min, max, v)) {
      error = std::string("--") + name + ": expected a whole number in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
      bad = true;
      return;
    }
    field = static_cast<std::remove_reference_t<decltype(field)>>(v);
  };
  const auto percent = [&](const char* name, std::uint64_t max, double& field) {
    if (!args.has(name)) return;
    std::uint64_t v = 0;
    if (!cli::parse_count(args.value(name), 0, max, v)) {
      error = std::string("--") + name + ": expected a whole percentage in [0, " + std::to_string(max) + "]";
      bad = true;
      return;
    }
    field = static_cast<double>(v) / 100.0;
  };
  const auto decimal = [&](const char* name, double min, double max, double scale, double& field) {
    if (!args.has(name)) return;
    const std::string text = args.value(name);
    double v = 0;
    if (!parse_number(text, min, max, v)) {
      char range[96];
      std::snprintf(range, sizeof range, "a number in [%g, %g]", min, max);
      error = std::string("--") + name + ": expected " + range + ", got '" + text + "'";
      bad = true;
      return;
    }
    field = v * scale;
  };
  std::uint64_t minutes = 0, calm = 0, drop_minutes = 0, backstop = 0, leverage_cap = 0, funding_minutes = 0;
  count("seed", 0, UINT64_MAX, p.seed);
  count("accounts", 1, 1u << 20, p.accounts);
  count("minutes", 0, 7 * 24 * 60, minutes);
  count("calm-minutes", 0, 7 * 24 * 60, calm);
  count("drop-minutes", 0, 7 * 24 * 60, drop_minutes);
  count("leverage-cap", 0, 1000, leverage_cap);
  count("mm-levels", 1, 512, p.mm_levels);
  count("tick-ms", 10, 60'000, p.tick_ms);
  count("backstop-usd", 0, 1'000'000'000'000, backstop);
  count("circuit-window-ms", 1, UINT32_MAX, p.circuit_window_ms);
  count("circuit-pause-ms", 0, UINT32_MAX, p.circuit_pause_ms);
  double drop = -1, taker_rate = -1;
  percent("drop", 98, drop);
  percent("rebound", 100, p.shape.rebound);
  percent("long-share", 100, p.long_share);
  percent("late-share", 100, p.late_share);
  percent("stop-share", 100, p.stop_share);
  percent("mm-pull", 100, p.mm_pull);
  percent("circuit-band", 100, p.circuit_band);
  percent("grind-share", 100, p.shape.grind_share);
  decimal("wick-share", 1, 100, 0.01, p.shape.wick_share);
  decimal("pump", 0, 50, 0.01, p.shape.pump);
  decimal("leverage-skew", 0.1, 100, 1, p.leverage_skew);
  decimal("funding-rate", -5, 5, 0.01, p.funding_rate);
  count("funding-minutes", 1, 7 * 24 * 60, funding_minutes);
  if (funding_minutes) p.funding_interval_ms = static_cast<std::int64_t>(funding_minutes) * 60'000;
  if (args.has("taker-rate")) {
    std::uint64_t v = 0;
    if (!cli::parse_count(args.value("taker-rate"), 0, 1'000'000, v)) {
      error = "--taker-rate: expected a whole number of orders per second";
      bad = true;
    }
    taker_rate = static_cast<double>(v);
  }
  if (args.has("betas")) {
    // Instrument 0 is the path itself; the others follow it by their betas.
    const std::string text = args.value("betas");
    std::vector<double> betas;
    bool ok = true;
    for (std::size_t at = 0; at <= text.size();) {
      const std::size_t comma = std::min(text.find(',', at), text.size());
      double v = 0;
      ok = parse_number(text.substr(at, comma - at), 0.1, 20, v) && ok;
      betas.push_back(v);
      at = comma + 1;
    }
    if (!ok || betas.size() + 1 != p.instruments.size()) {
      error = "--betas: expected " + std::to_string(p.instruments.size() - 1) +
              " numbers in [0.1, 20] for SOL, DOGE, WIF and PEPE, comma-separated, got '" + text + "'";
      bad = true;
    } else {
      for (std::size_t j = 0; j < betas.size(); ++j) p.instruments[j + 1].beta = betas[j];
    }
  }
  if (bad) return cli::usage_error("gen", error);
  if (!args.has("circuit-band") && (args.has("circuit-window-ms") || args.has("circuit-pause-ms")))
    return cli::usage_error("gen", "--circuit-window-ms and --circuit-pause-ms need --circuit-band");
  if (minutes) p.shape.duration_ms = static_cast<std::int64_t>(minutes) * 60'000;
  if (args.has("calm-minutes")) p.shape.drop_start_ms = static_cast<std::int64_t>(calm) * 60'000;
  if (drop_minutes) p.shape.drop_ms = static_cast<std::int64_t>(drop_minutes) * 60'000;
  if (drop >= 0) p.shape.drop = kind == scenario::Kind::Squeeze ? -drop : drop;
  if (taker_rate >= 0) p.taker_rate = taker_rate;
  if (args.has("backstop-usd")) p.backstop_usd = static_cast<double>(backstop);
  if (args.has("leverage-cap")) p.leverage_cap = static_cast<double>(leverage_cap);
  p.index_csv = args.value("index-csv");
  p.index_klines = args.value("index-klines");
  if (!p.index_csv.empty() && !p.index_klines.empty()) return cli::usage_error("gen", "--index-csv and --index-klines exclude each other");
  if (p.index_csv.empty() && p.index_klines.empty() &&
      p.shape.drop_start_ms + p.shape.drop_ms + p.shape.rebound_ms > p.shape.duration_ms)
    return cli::usage_error("gen", "the calm, the move and its rebound (12 minutes) must fit in --minutes");

  const std::string out_path = args.value("output");
  EventFileWriter writer;
  // created_ns is the scenario's start: known only after the path is read, so the header is
  // written with the preset's start and the path's start must agree (klines: see below).
  std::int64_t start_ns = p.start_ns;
  if (!p.index_klines.empty() || !p.index_csv.empty()) {
    scenario::IndexPath probe;
    std::int64_t epoch_ms = 0;
    const bool ok = p.index_klines.empty() ? scenario::load_price_csv(p.index_csv, probe, epoch_ms, error)
                                           : scenario::load_binance_klines(p.index_klines, probe, epoch_ms, error);
    if (!ok) return cli::data_error("gen", error);
    start_ns = epoch_ms * 1'000'000;
  }
  if (!writer.open(out_path, make_file_header(wire::StreamKind::Input, start_ns, "cascade gen"), error))
    return cli::data_error("gen", error);

  scenario::Summary s;
  const auto t0 = std::chrono::steady_clock::now();
  const bool ok = scenario::generate(
      p, [&](std::span<const std::byte> bytes) { writer.write_raw(bytes); }, s, error);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!ok) return cli::data_error("gen", error);
  if (!writer.close(error)) return cli::data_error("gen", out_path + ": " + error);

  std::FILE* report = out_path == "-" ? stderr : stdout;
  const auto u = [](std::uint64_t v) { return static_cast<unsigned long long>(v); };
  std::fprintf(report, "scenario        %s, seed %llu\n", scenario::kind_name(kind), u(p.seed));
  std::fprintf(report, "events          %llu (%llu bytes)\n", u(s.events), u(s.bytes + sizeof(wire::FileHeader)));
  std::fprintf(report, "accounts        %u (%u traders)\n", s.total_accounts, p.accounts);
  std::fprintf(report, "positions       %llu opened, %llu stop-losses\n", u(s.positions_opened), u(s.stops));
  std::fprintf(report, "flow            %llu index ticks, %llu market-maker updates, %llu taker orders\n", u(s.index_ticks),
               u(s.mm_updates), u(s.taker_orders));
  std::fprintf(report, "span            %.1f minutes\n", static_cast<double>(s.end_ns - s.start_ns) / 60e9);
  for (const auto& in : s.instruments)
    std::fprintf(report, "  %-14s start %-12.6g low %-12.6g (%+.1f%% at %lld min)  end %-12.6g\n", in.symbol.c_str(), in.start,
                 in.low, (in.low / in.start - 1) * 100, static_cast<long long>(in.low_ms / 60'000), in.end);
  if (p.circuit_band > 0 || s.pauses > 0) {
    std::fprintf(report, "breaker         %g%% within %g s windows, %g s pause: %llu pause%s\n", p.circuit_band * 100,
                 p.circuit_window_ms / 1e3, p.circuit_pause_ms / 1e3, u(s.pauses), s.pauses == 1 ? "" : "s");
    for (const auto& in : s.instruments)
      if (in.pauses) std::fprintf(report, "  %-14s%llu pause%s\n", in.symbol.c_str(), u(in.pauses), in.pauses == 1 ? "" : "s");
    std::fprintf(report, "  refused       %llu taker and trader orders while paused\n", u(s.paused_rejects));
  }
  std::fprintf(report, "rejected        %llu\n", u(s.rejects));
  if (s.rejects) std::fprintf(report, "  first         %s\n", s.first_reject.c_str());
  std::fprintf(report, "generated in    %.2f s\n", secs);
  return 0;
}
