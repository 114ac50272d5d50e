// cascade replay: runs the engine over an input event file; writes the output stream and
// prints a report (counts by type, digest of the output, the margin engine's totals, timing).
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <ctime>
#include <string>
#include <vector>

#include "cascade/decimal.hpp"
#include "cascade/digest.hpp"
#include "cascade/engine.hpp"
#include "cascade/event_file.hpp"
#include "cascade/prefetch_reader.hpp"
#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "cli/engine_options.hpp"
#include "cli/io.hpp"
#include "cli/replay_stats.hpp"
#include "cli/replay_threads.hpp"
#include "timing/host_noise.hpp"

namespace {

constexpr const char* kHelp =
    "usage: cascade replay FILE [-o OUT] [--json] [--plot DIR] [--burst-seconds N] [--no-prefetch]\n"
    "                      [--host-noise S] [--repeat N]\n"
    "\n"
    "Runs the engine over the input events of FILE and prints a report: events in and out\n"
    "by type, the size and digest (FNV-1a 64 over the output event bytes, file header\n"
    "excluded) of the output stream, the margin engine's state at the end (accounts with\n"
    "collateral or positions, accounts holding positions, accounts below maintenance margin,\n"
    "open interest per instrument, fees collected net of rebates, funding paid and received,\n"
    "the insurance fund; money in quote units), and timing: wall time of the replay, engine\n"
    "time (wall time less digesting, counting and writing the output) and input events per\n"
    "second of engine time. With liquidations, the figures of a crash follow (docs/scenarios.md):\n"
    "per instrument the index's start, high, low (the drop) and end and the book depth within\n"
    "1% of the mid before and during the burst; liquidated notional and its long share,\n"
    "backstop and ADL volume; the peak second of liquidations; the burst window (the\n"
    "--burst-seconds of input time with the most liquidations, or the most events) with\n"
    "its own liquidated notional, backstop and ADL volume, insurance fund at its start and\n"
    "end, and largest cascade.\n"
    "Before those, with a circuit breaker on some instrument (or a pause), per instrument its\n"
    "band, window and pause, its pauses, the input time it spent paused and the orders the\n"
    "pauses refused (always in --json: \"circuit_breakers\").\n"
    "Then the timing block: each input event's engine time, read from the CPU's timestamp\n"
    "counter around decoding it, the engine's prefetch for the events 1, 2 and 4 ahead\n"
    "(PrefetchReader) and Engine::process, into a preallocated array; percentiles for the\n"
    "whole run, for the burst window's events that start no cascade, for those that fire\n"
    "stops (the whole chain of triggered stops; no liquidation) and for those that start\n"
    "liquidations (the whole cascade), and for the first two together; the largest cascade;\n"
    "the input rate of the burst; peak memory (getrusage) and the burst window's; with\n"
    "--host-noise, what the machine itself takes from a busy thread.\n"
    "Everything before the timing block is deterministic, so two runs can be compared by their\n"
    "digests. 'cascade accounts' prints every account.\n"
    "\n"
    "  FILE              input event file, or - for standard input\n"
    "  -o, --output OUT  write the output stream to OUT (an output event file, creator\n"
    "                    \"cascade replay\", created_ns copied from FILE)\n"
    "  --json            print the report as one JSON object\n"
    "  --plot DIR        write DIR/per_second.csv (events, latency, liquidations, index and\n"
    "                    depth per second), DIR/plots.gp (tools/replay_plots.gp) and, with\n"
    "                    gnuplot, the pictures\n"
    "                    price_liquidations.png, latency.png, cumulative_liquidations.png\n"
    "  --burst-seconds N length of the burst window (default 60)\n"
    "  --no-prefetch     process one event at a time, without the prefetch (the output is\n"
    "                    the same; for comparing engine times)\n"
    "  --host-noise S    spin S seconds (at most 60) before the replay, reading the clock back\n"
    "                    to back, and report the gaps: interruptions by the machine that\n"
    "                    land in the latencies too (docs/performance.md, \"Host noise\")\n"
    "  --repeat N        replay FILE N times in all (2 to 20), each into a fresh engine, and\n"
    "                    add the percentiles of each event's least time over the N replays:\n"
    "                    the engine's own latency, without the machine's interruptions\n"
    "  --threads         then replay FILE again through the threaded pipeline (reader,\n"
    "                    engine and output threads joined by lock-free queues) and report\n"
    "                    its output digest, end-to-end events/s, latency through the queues\n"
    "                    (submit to output, sampled per batch) and queue stalls\n"
    "  --batch N         with --threads: input events per submit (default 64)\n"
    "  --rate R          with --threads: the reader paces itself to R events/s (latency\n"
    "                    of an unsaturated pipeline); default: as fast as it can\n"
    "  --spin            with --threads: waiting threads spin instead of sleeping\n"
    "  --pin E[,O]       with --threads: pin the engine (and output) thread to CPUs\n"
    "  --journal J       with --threads: journal the input to J (appends if J exists)\n"
    "  --durability D    with --journal: none, flush (default) or fsync per batch\n"
    CASCADE_CLI_ENGINE_OPTIONS_HELP
    "  -h, --help        this help\n"
    "\n"
    "On a truncated or corrupt file every complete event before the problem is processed and\n"
    "reported, then the problem and its byte offset go to standard error; exit status 1.\n";

constexpr cascade::cli::OptionSpec kOptions[] = {
    {"output", 'o', true},
    {"json", 0, false},
    {"plot", 0, true},
    {"burst-seconds", 0, true},
    {"no-prefetch", 0, false},
    {"host-noise", 0, true},
    {"repeat", 0, true},
    {"threads", 0, false},
    {"batch", 0, true},
    {"rate", 0, true},
    {"spin", 0, false},
    {"pin", 0, true},
    {"journal", 0, true},
    {"durability", 0, true},
    {"help", 'h', false},
};
constexpr auto kAllOptions = cascade::cli::with_engine_options(kOptions);

using Counts = std::array<std::uint64_t, 256>;

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + '"';
}

std::uint64_t total(const Counts& c) {
  std::uint64_t n = 0;
  for (const auto v : c) n += v;
  return n;
}

void text_counts(std::string& out, const char* title, const Counts& c) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%-16s%llu\n", title, static_cast<unsigned long long>(total(c)));
  out += buf;
  for (int t = 0; t < 256; ++t)
    if (c[static_cast<std::size_t>(t)]) {
      std::snprintf(buf, sizeof buf, "  %-18s%12llu\n", cascade::wire::type_name(static_cast<cascade::wire::MsgType>(t)),
                    static_cast<unsigned long long>(c[static_cast<std::size_t>(t)]));
      out += buf;
    }
}

void json_counts(std::string& out, const Counts& c) {
  out += '{';
  bool first = true;
  for (int t = 0; t < 256; ++t)
    if (c[static_cast<std::size_t>(t)]) {
      if (!first) out += ',';
      first = false;
      out += json_string(cascade::wire::type_name(static_cast<cascade::wire::MsgType>(t)));
      out += ':' + std::to_string(c[static_cast<std::size_t>(t)]);
    }
  out += '}';
}

struct MarginReport {
  std::uint64_t accounts = 0;
  std::uint64_t holding = 0;  // accounts with a nonzero position
  cascade::MarginTotals totals;
  cascade::LiquidationTotals liq;
  cascade::Money fund_before = 0;  // the insurance fund before the first event
  struct Oi {
    cascade::InstrumentId id;
    std::string symbol;
    std::string open_interest;  // in the instrument's quantity decimals
    std::uint32_t holders;
  };
  std::vector<Oi> open_interest;
};

MarginReport margin_report(const cascade::Engine& engine) {
  using namespace cascade;
  MarginReport r;
  for (const AccountId a : engine.active_accounts()) {
    ++r.accounts;
    const AccountView v = engine.account(a);
    for (const PositionView& p : v.positions)
      if (p.size != 0) {
        ++r.holding;
        break;
      }
  }
  r.totals = engine.totals();
  r.liq = engine.liquidation_totals();
  for (const InstrumentId id : engine.instrument_ids()) {
    const wire::InstrumentDefinition* d = engine.instrument(id);
    const InstrumentTotals t = engine.instrument_totals(id);
    r.open_interest.push_back({id, std::string(d->symbol, strnlen(d->symbol, sizeof d->symbol)),
                               format_decimal(t.open_interest, d->qty_decimals, true), t.holders});
  }
  return r;
}

std::string money(cascade::Money m) { return cascade::format_decimal(m, cascade::kMoneyDecimals); }

void text_margin(std::string& out, const MarginReport& m) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "accounts        %llu\n  with positions  %10llu\n  below maint.    %10u\n",
                static_cast<unsigned long long>(m.accounts), static_cast<unsigned long long>(m.holding),
                m.totals.below_maintenance);
  out += buf;
  out += "open interest\n";
  for (const auto& oi : m.open_interest) {
    std::snprintf(buf, sizeof buf, "  %-3u %-12s %14s  (%u accounts)\n", oi.id, oi.symbol.c_str(),
                  oi.open_interest.c_str(), oi.holders);
    out += buf;
  }
  out += "fees collected  " + money(m.totals.fees_collected) + "\n";
  out += "funding paid    " + money(m.totals.funding_paid) + "\n";
  out += "funding recv.   " + money(m.totals.funding_received) + "\n";
  out += "insurance fund  " + money(m.totals.insurance_fund) + "\n";
  if (m.liq.liquidations == 0) return;  // reports of streams without liquidations stay as they were
  const auto u = [](std::uint64_t v) { return static_cast<unsigned long long>(v); };
  std::snprintf(buf, sizeof buf, "liquidations    %llu (max depth %u; largest cascade %llu steps, from input seq %llu)\n",
                u(m.liq.liquidations), m.liq.max_depth, u(m.liq.largest_cascade), u(m.liq.largest_cascade_origin));
  out += buf;
  std::snprintf(buf, sizeof buf, "  book fills    %llu\n", u(m.liq.book_fills));
  out += buf;
  out += "  notional      " + money(m.liq.book_notional) + "\n";
  out += "  backstop      " + money(m.liq.backstop_notional) + " (" + std::to_string(m.liq.backstop_takeovers) + ")\n";
  out += "  deleveraged   " + money(m.liq.deleverage_notional) + " (" + std::to_string(m.liq.deleverages) + ")\n";
  out += "  fees to fund  " + money(m.liq.fees) + "\n";
  out += "  bankruptcies  " + money(m.liq.bankruptcy_loss) + " (" + std::to_string(m.liq.bankruptcies) + ")\n";
  out += "  socialized    " + money(m.totals.socialized_losses) + "\n";
  out += "insurance fund before " + money(m.fund_before) + ", after " + money(m.totals.insurance_fund) + "\n";
}

void json_margin(std::string& out, const MarginReport& m) {
  out += ",\"accounts\":" + std::to_string(m.accounts) + ",\"accounts_with_positions\":" + std::to_string(m.holding) +
         ",\"below_maintenance\":" + std::to_string(m.totals.below_maintenance) + ",\"open_interest\":{";
  for (std::size_t i = 0; i < m.open_interest.size(); ++i) {
    if (i) out += ',';
    out += json_string(std::to_string(m.open_interest[i].id)) + ":" + json_string(m.open_interest[i].open_interest);
  }
  out += "},\"fees_collected\":" + json_string(money(m.totals.fees_collected)) +
         ",\"funding_paid\":" + json_string(money(m.totals.funding_paid)) +
         ",\"funding_received\":" + json_string(money(m.totals.funding_received)) +
         ",\"insurance_fund\":" + json_string(money(m.totals.insurance_fund));
  if (m.liq.liquidations == 0) return;
  out += ",\"liquidations\":" + std::to_string(m.liq.liquidations) +
         ",\"liquidation_book_fills\":" + std::to_string(m.liq.book_fills) +
         ",\"liquidated_notional\":" + json_string(money(m.liq.book_notional)) +
         ",\"backstop_notional\":" + json_string(money(m.liq.backstop_notional)) +
         ",\"deleveraged_notional\":" + json_string(money(m.liq.deleverage_notional)) +
         ",\"liquidation_fees\":" + json_string(money(m.liq.fees)) +
         ",\"bankruptcies\":" + std::to_string(m.liq.bankruptcies) +
         ",\"socialized_losses\":" + json_string(money(m.totals.socialized_losses)) +
         ",\"insurance_fund_before\":" + json_string(money(m.fund_before)) +
         ",\"max_cascade_depth\":" + std::to_string(m.liq.max_depth) +
         ",\"largest_cascade\":" + std::to_string(m.liq.largest_cascade) +
         ",\"largest_cascade_origin\":" + std::to_string(m.liq.largest_cascade_origin);
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string usd(double v) {
  char buf[64];
  if (std::abs(v) >= 1e9) std::snprintf(buf, sizeof buf, "%.2fB", v / 1e9);
  else if (std::abs(v) >= 1e6) std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
  else if (std::abs(v) >= 1e3) std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

double minutes(const cascade::cli::ReplayStats&, std::int64_t sec) { return static_cast<double>(sec) / 60.0; }

std::string utc(std::int64_t epoch_s) {
  const std::time_t t = static_cast<std::time_t>(epoch_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

double drop_of(const cascade::cli::InstrumentFigures& f) { return f.high > 0 ? f.low / f.high - 1.0 : 0.0; }
double oi_change(const cascade::cli::InstrumentFigures& f) { return f.oi_before > 0 ? f.oi_after / f.oi_before - 1.0 : 0.0; }
double pulled_of(const cascade::cli::InstrumentFigures& f) {
  return f.depth_before > 0 ? 1.0 - f.depth_burst / f.depth_before : 0.0;
}

// The crash figures (deterministic: they come from the input's clock and the engine's state).
void text_crash(std::string& out, const cascade::cli::ReplayStats& st) {
  char buf[320];
  out += "crash figures   (docs/scenarios.md compares them with real crashes)\n";
  for (const auto& f : st.instruments()) {
    std::snprintf(buf, sizeof buf, "  %-14s index %.6g, high %.6g, low %.6g (%+.1f%% at minute %.1f), end %.6g\n", f.symbol.c_str(),
                  f.start, f.high, f.low, drop_of(f) * 100, minutes(st, f.low_s), f.end);
    out += buf;
    std::snprintf(buf, sizeof buf, "  %-14s depth within 1%%: %s -> %s USD (%.0f%% pulled); liquidated %s USD, backstop %s, ADL %s\n", "",
                  usd(f.depth_before).c_str(), usd(f.depth_burst).c_str(), pulled_of(f) * 100, usd(f.liquidated_usd).c_str(),
                  usd(f.backstop_usd).c_str(), usd(f.adl_usd).c_str());
    out += buf;
    std::snprintf(buf, sizeof buf,
                  "  %-14s spread %.2f%% -> %.2f%% (widest in the burst); open interest %s -> %s USD (%+.0f%%, the highest "
                  "before the burst to the lowest after)\n",
                  "", f.spread_before * 100, f.spread_burst * 100, usd(f.oi_before).c_str(), usd(f.oi_after).c_str(),
                  oi_change(f) * 100);
    out += buf;
  }
  std::snprintf(buf, sizeof buf, "  liquidated    %s USD, %.1f%% of it long; backstop %s USD, ADL %s USD (%.1f%% of liquidated)\n",
                usd(st.liquidated_usd()).c_str(), st.long_share() * 100, usd(st.backstop_usd()).c_str(), usd(st.adl_usd()).c_str(),
                st.adl_share() * 100);
  out += buf;
  std::snprintf(buf, sizeof buf, "  peak second   %llu liquidations at minute %.2f (%s UTC)\n",
                static_cast<unsigned long long>(st.peak_liquidations()), minutes(st, st.peak_second()),
                utc(st.epoch_s(st.peak_second())).c_str());
  out += buf;
  std::snprintf(buf, sizeof buf, "burst window    %lld s from minute %.2f (%s UTC): %llu input events, %llu liquidations\n",
                static_cast<long long>(st.burst_len_s()), minutes(st, st.burst_start_s()), utc(st.epoch_s(st.burst_start_s())).c_str(),
                static_cast<unsigned long long>(st.burst_events()), static_cast<unsigned long long>(st.burst_liquidations()));
  out += buf;
  std::snprintf(buf, sizeof buf, "  liquidated    %s USD, %.1f%% of it long; backstop %s USD, ADL %s USD\n",
                usd(st.burst_liquidated_usd()).c_str(), st.burst_long_share() * 100, usd(st.burst_backstop_usd()).c_str(),
                usd(st.burst_adl_usd()).c_str());
  out += buf;
  out += "  insurance fund " + money(st.burst_fund_before()) + " -> " + money(st.burst_fund_after()) + "\n";
  const auto& l = st.burst_largest();
  std::snprintf(buf, sizeof buf, "  largest cascade %llu liquidations, input seq %llu at %s UTC\n",
                static_cast<unsigned long long>(l.steps), static_cast<unsigned long long>(l.seq),
                utc(l.ts / 1'000'000'000).c_str());
  out += buf;
}

void text_percentiles(std::string& out, const char* title, const cascade::cli::Percentiles& p) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "  %-16s%10llu %9.0f %9.0f %9.0f %9.0f %11.0f\n", title, static_cast<unsigned long long>(p.count), p.p50,
                p.p90, p.p99, p.p999, p.max);
  out += buf;
}

std::string json_percentiles(const cascade::cli::Percentiles& p) {
  return "{\"events\":" + std::to_string(p.count) + ",\"p50\":" + fixed(p.p50, 0) + ",\"p90\":" + fixed(p.p90, 0) +
         ",\"p99\":" + fixed(p.p99, 0) + ",\"p99_9\":" + fixed(p.p999, 0) + ",\"max\":" + fixed(p.max, 0) + "}";
}

void json_crash(std::string& out, const cascade::cli::ReplayStats& st) {
  out += ",\"crash\":{\"liquidated_usd\":" + fixed(st.liquidated_usd(), 2) + ",\"long_share\":" + fixed(st.long_share(), 4) +
         ",\"backstop_usd\":" + fixed(st.backstop_usd(), 2) + ",\"adl_usd\":" + fixed(st.adl_usd(), 2) +
         ",\"adl_share\":" + fixed(st.adl_share(), 4) + ",\"peak_liquidations_per_second\":" + std::to_string(st.peak_liquidations()) +
         ",\"peak_second_epoch\":" + std::to_string(st.epoch_s(st.peak_second())) + ",\"instruments\":[";
  bool first = true;
  for (const auto& f : st.instruments()) {
    if (!first) out += ',';
    first = false;
    out += "{\"id\":" + std::to_string(f.id) + ",\"symbol\":" + json_string(f.symbol) + ",\"start\":" + fixed(f.start, 8) +
           ",\"high\":" + fixed(f.high, 8) + ",\"low\":" + fixed(f.low, 8) + ",\"end\":" + fixed(f.end, 8) +
           ",\"drop\":" + fixed(drop_of(f), 4) + ",\"low_epoch\":" + std::to_string(st.epoch_s(f.low_s)) +
           ",\"depth_before_usd\":" + fixed(f.depth_before, 2) + ",\"depth_burst_usd\":" + fixed(f.depth_burst, 2) +
           ",\"depth_pulled\":" + fixed(pulled_of(f), 4) + ",\"spread_before\":" + fixed(f.spread_before, 6) +
           ",\"spread_burst\":" + fixed(f.spread_burst, 6) + ",\"open_interest_before_usd\":" + fixed(f.oi_before, 2) +
           ",\"open_interest_after_usd\":" + fixed(f.oi_after, 2) + ",\"open_interest_change\":" + fixed(oi_change(f), 4) +
           ",\"liquidated_usd\":" + fixed(f.liquidated_usd, 2) +
           ",\"backstop_usd\":" + fixed(f.backstop_usd, 2) + ",\"adl_usd\":" + fixed(f.adl_usd, 2) + "}";
  }
  out += "]},\"burst_window\":{\"start_epoch\":" + std::to_string(st.epoch_s(st.burst_start_s())) +
         ",\"seconds\":" + std::to_string(st.burst_len_s()) + ",\"events\":" + std::to_string(st.burst_events()) +
         ",\"liquidations\":" + std::to_string(st.burst_liquidations()) +
         ",\"liquidated_usd\":" + fixed(st.burst_liquidated_usd(), 2) + ",\"long_share\":" + fixed(st.burst_long_share(), 4) +
         ",\"backstop_usd\":" + fixed(st.burst_backstop_usd(), 2) + ",\"adl_usd\":" + fixed(st.burst_adl_usd(), 2) +
         ",\"insurance_fund_before\":" + json_string(money(st.burst_fund_before())) +
         ",\"insurance_fund_after\":" + json_string(money(st.burst_fund_after())) +
         ",\"largest_cascade\":" + std::to_string(st.burst_largest().steps) +
         ",\"largest_cascade_seq\":" + std::to_string(st.burst_largest().seq) +
         ",\"largest_cascade_epoch_ns\":" + std::to_string(st.burst_largest().ts) + "}";
}

// The circuit breakers (docs/liquidation.md): per instrument its settings (band, window,
// pause), its pauses, the input time it spent paused and the orders the pauses refused.
std::string breaker_settings(const cascade::cli::BreakerFigures& b) {
  if (b.band == 0) return "off";
  char buf[96];
  std::snprintf(buf, sizeof buf, "%g%% in %g s windows, %g s pause", static_cast<double>(b.band) / 1e6, b.window_ms / 1e3,
                b.pause_ms / 1e3);
  return buf;
}

void text_breakers(std::string& out, const cascade::cli::ReplayStats& st) {
  char buf[256];
  out += "circuit breaker\n";
  for (const auto& b : st.breakers()) {
    std::snprintf(buf, sizeof buf, "  %-3u %-12s %s: %llu pause%s, %.1f s paused, %llu orders refused\n", b.id, b.symbol.c_str(),
                  breaker_settings(b).c_str(), static_cast<unsigned long long>(b.pauses), b.pauses == 1 ? "" : "s",
                  static_cast<double>(b.paused_ns) / 1e9,
                  static_cast<unsigned long long>(b.refused));
    out += buf;
  }
}

void json_breakers(std::string& out, const cascade::cli::ReplayStats& st) {
  out += ",\"circuit_breakers\":[";
  bool first = true;
  for (const auto& b : st.breakers()) {
    if (!first) out += ',';
    first = false;
    out += "{\"id\":" + std::to_string(b.id) + ",\"symbol\":" + json_string(b.symbol) +
           ",\"band\":" + json_string(cascade::format_decimal(b.band, 8)) + ",\"window_ms\":" + std::to_string(b.window_ms) +
           ",\"pause_ms\":" + std::to_string(b.pause_ms) + ",\"pauses\":" + std::to_string(b.pauses) +
           ",\"paused_ns\":" + std::to_string(b.paused_ns) + ",\"refused\":" + std::to_string(b.refused) + "}";
  }
  out += ']';
}

// The resident set now (Linux: /proc/self/statm), 0 where it cannot be read.
std::uint64_t resident_kb() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long long size = 0, resident = 0;
  const bool ok = std::fscanf(f, "%llu %llu", &size, &resident) == 2;
  std::fclose(f);
  return ok ? resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE)) / 1024 : 0;
}

std::uint64_t peak_rss_kb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<std::uint64_t>(u.ru_maxrss);
}

}  // namespace


int cmd_replay(int argc, char** argv) {
  using namespace cascade;
  cli::Args args;
  std::string error;
  if (!args.parse(argc, argv, kAllOptions, error)) return cli::usage_error("replay", error);
  if (args.has("help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  if (args.operands().size() != 1) return cli::usage_error("replay", "expected one FILE operand");
  std::uint64_t burst_seconds = 60;
  if (args.has("burst-seconds") && !cli::parse_count(args.value("burst-seconds"), 1, 86'400, burst_seconds))
    return cli::usage_error("replay", "--burst-seconds: expected a whole number of seconds in [1, 86400]");
  double noise_seconds = 0;
  if (args.has("host-noise")) {
    std::uint64_t s = 0;
    if (!cli::parse_count(args.value("host-noise"), 1, 60, s))
      return cli::usage_error("replay", "--host-noise: expected a whole number of seconds in [1, 60]");
    noise_seconds = static_cast<double>(s);
  }
  std::uint64_t repeats = 1;
  if (args.has("repeat") && !cli::parse_count(args.value("repeat"), 2, 20, repeats))
    return cli::usage_error("replay", "--repeat: expected a whole number of replays in [2, 20]");
  const std::string path = args.operands()[0];
  const std::string name = cli::display_name(path);
  cli::ThreadedOptions threaded;
  if (!cli::parse_threaded_options(args, threaded, error)) return cli::usage_error("replay", error);

  cli::EngineRun run;
  if (const int status = cli::start_engine_run("replay", args, path, run)) return status;
  const cli::InputEventFile& in = run.in;
  Engine& engine = *run.engine;
  threaded.engine = run.config;
  const wire::FileHeader& ih = in.file().header();

  const bool write_out = args.has("output");
  const std::string out_path = args.value("output");
  EventFileWriter writer;
  if (write_out && !writer.open(out_path, make_file_header(wire::StreamKind::Output, ih.created_ns, "cascade replay"), error))
    return cli::data_error("replay", error);

  // Measured before the replay, on the thread that runs it.
  const timing::HostNoise noise = timing::measure_host_noise(noise_seconds);

  // A first pass sizes the per-event arrays, so the timed loop never allocates.
  std::size_t n_events = 0;
  std::int64_t first_ts = 0, last_ts = 0;
  {
    EventReader pre = in.file().reader();
    for (EventView ev; pre.next(ev); ++n_events) {
      if (n_events == 0) first_ts = ev.header().ts_ns;
      last_ts = std::max(last_ts, ev.header().ts_ns);
    }
  }
  cli::ReplayStats stats(n_events, first_ts, last_ts, static_cast<std::int64_t>(burst_seconds));

  Counts in_counts{}, out_counts{};
  Fnv1a64 digest;
  std::uint64_t out_bytes = 0;
  EventBuffer out(4 << 20);
  const auto drain = [&] {
    digest.update(out.bytes());
    out_bytes += out.size();
    EventReader r(out.bytes());
    EventView ev;
    while (r.next(ev)) ++out_counts[static_cast<std::uint8_t>(ev.type())];
    stats.scan_output(out.bytes(), engine);
    if (write_out) writer.write_raw(out.bytes());
    out.clear();
  };

  // Decoding and the hints for later events are timed with the event they precede, so the
  // engine time is the same work with and without the prefetch.
  const std::span<const std::byte> file_bytes = in.file().bytes().subspan(sizeof(wire::FileHeader));
  PrefetchReader r(engine, file_bytes, sizeof(wire::FileHeader), args.has("no-prefetch") ? 0 : kPrefetchDistance);
  EventView ev;
  std::size_t i = 0, current_second = SIZE_MAX;
  std::uint64_t liquidations = engine.liquidation_totals().liquidations, largest = 0;
  stats.set_fund_start(engine.totals().insurance_fund);
  const auto start = std::chrono::steady_clock::now();
  const std::uint64_t tick_start = cli::ticks_now();
  for (;;) {  // the first pass counted exactly these events
    const std::size_t before = out.size();
    const std::uint64_t t0 = cli::ticks_now();
    if (!r.next(ev)) break;
    engine.process(ev, out);
    const std::uint64_t t1 = cli::ticks_now();
    ++in_counts[static_cast<std::uint8_t>(ev.type())];
    const std::uint64_t now = engine.liquidation_totals().liquidations;
    const std::int64_t ts = ev.header().ts_ns;
    std::uint64_t stops = 0;
    {
      EventReader o(out.bytes().subspan(before));
      for (EventView x; o.next(x);) stops += x.type() == wire::MsgType::StopTriggered;
    }
    stats.record(i, ts, t1 - t0, now - liquidations, stops);
    if (now - liquidations > largest) {
      largest = now - liquidations;
      std::uint64_t n_out = 0;
      EventReader o(out.bytes().subspan(before));
      for (EventView x; o.next(x);) ++n_out;
      stats.set_largest(i, ts, ev.header().seq, largest, n_out);
    }
    liquidations = now;
    const std::size_t sec = stats.second(ts);
    if (sec != current_second) {
      current_second = sec;
      stats.sample_depth(sec, engine);
      stats.sample_memory(sec, resident_kb());
    }
    if (out.size() >= (2u << 20)) drain();
    ++i;
  }
  const std::uint64_t tick_end = cli::ticks_now();
  const auto loop_end = std::chrono::steady_clock::now();
  drain();
  // The further replays time the same work (decoding, hints, process) into fresh engines.
  if (repeats > 1 && r.ok()) {
    stats.start_repeats();
    EventBuffer scratch(4 << 20);
    for (std::uint64_t k = 1; k < repeats; ++k) {
      auto again = std::make_unique<Engine>(run.config);
      PrefetchReader rr(*again, file_bytes, sizeof(wire::FileHeader), args.has("no-prefetch") ? 0 : kPrefetchDistance);
      for (std::size_t j = 0;; ++j) {
        const std::uint64_t t0 = cli::ticks_now();
        if (!rr.next(ev)) break;
        again->process(ev, scratch);
        stats.record_repeat(j, cli::ticks_now() - t0);
        if (scratch.size() >= (2u << 20)) scratch.clear();
      }
      scratch.clear();
    }
  }
  const auto wall = std::chrono::steady_clock::now() - start;
  const auto wall_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wall).count();
  const auto loop_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(loop_end - start).count();
  stats.calibrate(tick_end > tick_start ? static_cast<double>(loop_ns) / static_cast<double>(tick_end - tick_start) : 1.0);
  stats.finish(engine, i);
  if (stats.burst_largest().steps > 0) {  // its input event's seq and time, from the file
    EventReader again = in.file().reader();
    EventView x;
    for (std::size_t k = 0; again.next(x) && k < stats.burst_largest().index; ++k) {
    }
    stats.set_burst_largest_origin(x.header().seq, x.header().ts_ns);
  }
  // Engine time: the sum of the per-event times (reading the counter costs ~10 ns an event).
  const double engine_seconds = stats.engine_seconds();
  const auto engine_ns = static_cast<std::int64_t>(engine_seconds * 1e9);

  std::string close_error;
  const bool closed = !write_out || writer.close(close_error);
  const std::uint64_t n_in = total(in_counts);
  const double rate = engine_seconds > 0 ? static_cast<double>(n_in) / engine_seconds : 0.0;
  const double burst_rate =
      stats.burst_engine_seconds() > 0 ? static_cast<double>(stats.burst_events()) / stats.burst_engine_seconds() : 0.0;
  MarginReport margin = margin_report(engine);
  margin.fund_before = stats.fund_start();
  const bool crash = stats.liquidations() > 0;

  std::string plot_message;
  bool plot_ok = true;
  if (args.has("plot")) plot_ok = stats.write_plots(args.value("plot"), plot_message);
  cli::ThreadedReplay threaded_run;
  const bool threads = args.has("threads");
  std::string threads_error;
  const bool threads_ok = !threads || cli::replay_threaded(in.file(), threaded, threaded_run, threads_error);

  std::string report;
  if (args.has("json")) {
    report = "{\"input\":" + json_string(name) + ",\"events_in\":" + std::to_string(n_in) + ",\"in_by_type\":";
    json_counts(report, in_counts);
    report += ",\"events_out\":" + std::to_string(total(out_counts)) + ",\"out_by_type\":";
    json_counts(report, out_counts);
    report += ",\"output_bytes\":" + std::to_string(out_bytes) + ",\"digest\":\"fnv1a64:" + digest_hex(digest.value()) + "\"";
    if (write_out) report += ",\"output\":" + json_string(out_path);
    report += std::string(",\"complete\":") + (r.ok() ? "true" : "false");
    if (!r.ok()) report += ",\"error\":" + json_string(r.error().message());
    json_margin(report, margin);
    json_breakers(report, stats);
    if (crash) json_crash(report, stats);
    report += ",\"latency_ns\":{\"all\":" + json_percentiles(stats.all()) + ",\"burst\":" + json_percentiles(stats.burst()) +
              ",\"stop_chains\":" + json_percentiles(stats.stop_chains()) + ",\"cascade_starts\":" + json_percentiles(stats.cascades()) +
              ",\"burst_no_liquidation\":" + json_percentiles(stats.no_liquidation()) + "}";
    if (crash)
      report += ",\"largest_cascade_ns\":" + fixed(stats.largest_ns(), 0) +
                ",\"largest_cascade_output_events\":" + std::to_string(stats.largest().out_events) +
                ",\"largest_cascade_epoch_ns\":" + std::to_string(stats.largest().ts) +
                ",\"burst_largest_cascade_ns\":" + fixed(stats.burst_largest_ns(), 0);
    if (stats.repeated())
      report += ",\"latency_least_of_replays_ns\":{\"replays\":" + std::to_string(repeats) +
                ",\"all\":" + json_percentiles(stats.min_all()) + ",\"burst\":" + json_percentiles(stats.min_burst()) +
                ",\"stop_chains\":" + json_percentiles(stats.min_stop_chains()) +
                ",\"cascade_starts\":" + json_percentiles(stats.min_cascades()) +
                ",\"burst_no_liquidation\":" + json_percentiles(stats.min_no_liquidation()) +
                ",\"engine_ns\":" + std::to_string(static_cast<std::int64_t>(stats.min_engine_seconds() * 1e9)) + "}";
    report += ",\"burst_events_per_second\":" + std::to_string(static_cast<std::uint64_t>(burst_rate)) +
              ",\"peak_rss_kb\":" + std::to_string(peak_rss_kb()) +
              ",\"burst_peak_rss_kb\":" + std::to_string(stats.burst_peak_rss_kb());
    if (args.has("plot")) report += ",\"plot\":" + json_string(plot_message);
    if (noise.seconds > 0)
      report += ",\"host_noise\":{\"seconds\":" + fixed(noise.seconds, 3) + ",\"gaps_over_10us_per_s\":" +
                fixed(noise.gaps_10us_per_s, 1) + ",\"gaps_over_20us_per_s\":" + fixed(noise.gaps_20us_per_s, 1) +
                ",\"gaps_over_50us_per_s\":" + fixed(noise.gaps_50us_per_s, 1) + ",\"max_gap_ns\":" +
                fixed(noise.max_gap_ns, 0) + ",\"lost_share\":" + fixed(noise.lost_share, 5) + "}";
    report += ",\"build\":" + json_string(CASCADE_BUILD_INFO);
    report += ",\"wall_ns\":" + std::to_string(wall_ns) + ",\"engine_ns\":" + std::to_string(engine_ns) +
              ",\"events_per_second\":" +
              std::to_string(static_cast<std::uint64_t>(rate));
    if (threads) cli::json_threaded(report, threaded, threaded_run, digest.value());
    report += "}\n";
  } else {
    char buf[200];
    report = "input           " + name + "\n";
    text_counts(report, "events in", in_counts);
    text_counts(report, "events out", out_counts);
    report += "output bytes    " + std::to_string(out_bytes) + "\n";
    report += "output digest   fnv1a64:" + digest_hex(digest.value()) + "\n";
    if (write_out) report += "output file     " + out_path + "\n";
    text_margin(report, margin);
    if (stats.any_breaker()) text_breakers(report, stats);
    if (crash) text_crash(report, stats);
    // The timing block: everything from here on varies from run to run.
    report += "latency (ns)        events       p50       p90       p99     p99.9         max\n";
    text_percentiles(report, "whole run", stats.all());
    text_percentiles(report, "burst, no casc.", stats.burst());
    text_percentiles(report, "burst, stops", stats.stop_chains());
    text_percentiles(report, "cascade starts", stats.cascades());
    text_percentiles(report, "burst, no liq.", stats.no_liquidation());
    if (stats.repeated()) {
      std::snprintf(buf, sizeof buf, "least of %llu    (each event's least time over %llu replays; engine time %.3f ms)\n",
                    static_cast<unsigned long long>(repeats), static_cast<unsigned long long>(repeats),
                    stats.min_engine_seconds() * 1e3);
      report += buf;
      text_percentiles(report, "whole run", stats.min_all());
      text_percentiles(report, "burst, no casc.", stats.min_burst());
      text_percentiles(report, "burst, stops", stats.min_stop_chains());
      text_percentiles(report, "cascade starts", stats.min_cascades());
      text_percentiles(report, "burst, no liq.", stats.min_no_liquidation());
    }
    if (crash) {
      const auto& l = stats.largest();
      std::snprintf(buf, sizeof buf, "largest cascade %llu liquidations, %llu output events, input seq %llu at %s UTC: %.3f ms\n",
                    static_cast<unsigned long long>(l.steps), static_cast<unsigned long long>(l.out_events),
                    static_cast<unsigned long long>(l.seq), utc(l.ts / 1'000'000'000).c_str(), stats.largest_ns() / 1e6);
      report += buf;
      std::snprintf(buf, sizeof buf, "largest in burst %llu liquidations: %.3f ms\n",
                    static_cast<unsigned long long>(stats.burst_largest().steps), stats.burst_largest_ns() / 1e6);
      report += buf;
    }
    std::snprintf(buf, sizeof buf, "burst rate      %.0f events/s\npeak memory     %.1f MB (burst window: %.1f MB)\n",
                  burst_rate, static_cast<double>(peak_rss_kb()) / 1024.0,
                  static_cast<double>(stats.burst_peak_rss_kb()) / 1024.0);
    report += buf;
    if (noise.seconds > 0) {
      std::snprintf(buf, sizeof buf,
                    "host noise      %.0f s before: gaps/s over 10 us %.0f, over 20 us %.0f, over 50 us %.0f; "
                    "max %.0f us; %.1f%% of the CPU lost\n",
                    noise.seconds, noise.gaps_10us_per_s, noise.gaps_20us_per_s, noise.gaps_50us_per_s,
                    noise.max_gap_ns / 1e3, noise.lost_share * 100);
      report += buf;
    }
    if (args.has("plot")) report += "plots           " + plot_message + "\n";
    report += "build           " CASCADE_BUILD_INFO "\n";
    std::snprintf(buf, sizeof buf, "wall time       %.3f ms\nengine time     %.3f ms\ninput rate      %.0f events/s\n",
                  static_cast<double>(wall_ns) / 1e6, engine_seconds * 1e3, rate);
    report += buf;
    if (threads) cli::text_threaded(report, threaded, threaded_run, digest.value());
  }
  // The report goes to standard error when the output stream takes standard output.
  std::FILE* report_to = write_out && out_path == "-" ? stderr : stdout;
  std::fputs(report.c_str(), report_to);
  std::fflush(report_to);

  if (!r.ok()) return cli::data_error("replay", name + ": " + r.error().message());
  if (!closed) return cli::data_error("replay", out_path + ": " + close_error);
  if (!plot_ok) return cli::data_error("replay", plot_message);
  if (!threads_ok) return cli::data_error("replay", threads_error);
  if (threads && threaded_run.digest != digest.value()) return cli::data_error("replay", "threaded output differs");
  return 0;
}
