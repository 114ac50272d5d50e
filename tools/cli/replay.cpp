// cascade replay: runs the engine over an input event file; writes the output stream and
// prints a report (counts by type, digest of the output, the margin engine's totals, timing).
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cascade/decimal.hpp"
#include "cascade/digest.hpp"
#include "cascade/engine.hpp"
#include "cascade/event_file.hpp"
#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "cli/io.hpp"
#include "cli/replay_threads.hpp"

namespace {

constexpr const char* kHelp =
    "usage: cascade replay FILE [-o OUT] [--json]\n"
    "\n"
    "Runs the engine over the input events of FILE and prints a report: events in and out\n"
    "by type, the size and digest (FNV-1a 64 over the output event bytes, file header\n"
    "excluded) of the output stream, the margin engine's state at the end (accounts with\n"
    "collateral or positions, accounts holding positions, accounts below maintenance margin,\n"
    "open interest per instrument, fees collected net of rebates, funding paid and received,\n"
    "the insurance fund; money in quote units), and timing: wall time of the replay, engine\n"
    "time (wall time less digesting, counting and writing the output) and input events per\n"
    "second of engine time. Everything but the three timing lines is deterministic, so two\n"
    "runs can be compared by their digests. 'cascade accounts' prints every account.\n"
    "\n"
    "  FILE              input event file, or - for standard input\n"
    "  -o, --output OUT  write the output stream to OUT (an output event file, creator\n"
    "                    \"cascade replay\", created_ns copied from FILE)\n"
    "  --json            print the report as one JSON object\n"
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
    "  -h, --help        this help\n"
    "\n"
    "On a truncated or corrupt file every complete event before the problem is processed and\n"
    "reported, then the problem and its byte offset go to standard error; exit status 1.\n";

constexpr cascade::cli::OptionSpec kOptions[] = {
    {"output", 'o', true},
    {"json", 0, false},
    {"threads", 0, false},
    {"batch", 0, true},
    {"rate", 0, true},
    {"spin", 0, false},
    {"pin", 0, true},
    {"journal", 0, true},
    {"durability", 0, true},
    {"help", 'h', false},
};

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
  out += "insurance fund before 0, after " + money(m.totals.insurance_fund) + "\n";
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
         ",\"insurance_fund_before\":\"0\"" +
         ",\"max_cascade_depth\":" + std::to_string(m.liq.max_depth) +
         ",\"largest_cascade\":" + std::to_string(m.liq.largest_cascade) +
         ",\"largest_cascade_origin\":" + std::to_string(m.liq.largest_cascade_origin);
}

}  // namespace

int cmd_replay(int argc, char** argv) {
  using namespace cascade;
  cli::Args args;
  std::string error;
  if (!args.parse(argc, argv, kOptions, error)) return cli::usage_error("replay", error);
  if (args.has("help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  if (args.operands().size() != 1) return cli::usage_error("replay", "expected one FILE operand");
  const std::string path = args.operands()[0];
  const std::string name = cli::display_name(path);
  cli::ThreadedOptions threaded;
  if (!cli::parse_threaded_options(args, threaded, error)) return cli::usage_error("replay", error);

  cli::InputEventFile in;
  if (!in.open(path, error)) return cli::data_error("replay", error);
  const wire::FileHeader& ih = in.file().header();
  if (ih.kind != wire::StreamKind::Input)
    return cli::data_error("replay", name + ": an output stream; replay reads input streams");

  const bool write_out = args.has("output");
  const std::string out_path = args.value("output");
  EventFileWriter writer;
  if (write_out && !writer.open(out_path, make_file_header(wire::StreamKind::Output, ih.created_ns, "cascade replay"), error))
    return cli::data_error("replay", error);

  Counts in_counts{}, out_counts{};
  Fnv1a64 digest;
  std::uint64_t out_bytes = 0;
  EventBuffer out(4 << 20);
  // Time spent outside the engine (digest, counting, writing), so the rate measures the engine.
  std::chrono::steady_clock::duration drain_time{};
  const auto drain = [&] {
    const auto t0 = std::chrono::steady_clock::now();
    digest.update(out.bytes());
    out_bytes += out.size();
    EventReader r(out.bytes());
    EventView ev;
    while (r.next(ev)) ++out_counts[static_cast<std::uint8_t>(ev.type())];
    if (write_out) writer.write_raw(out.bytes());
    out.clear();
    drain_time += std::chrono::steady_clock::now() - t0;
  };

  Engine engine;
  EventReader r = in.file().reader();
  EventView ev;
  const auto start = std::chrono::steady_clock::now();
  while (r.next(ev)) {
    ++in_counts[static_cast<std::uint8_t>(ev.type())];
    engine.process(ev, out);
    if (out.size() >= (2u << 20)) drain();
  }
  drain();
  const auto wall = std::chrono::steady_clock::now() - start;
  const auto wall_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wall).count();
  const auto engine_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wall - drain_time).count();

  std::string close_error;
  const bool closed = !write_out || writer.close(close_error);
  const std::uint64_t n_in = total(in_counts);
  const double engine_seconds = static_cast<double>(engine_ns) / 1e9;
  const double rate = engine_seconds > 0 ? static_cast<double>(n_in) / engine_seconds : 0.0;
  const MarginReport margin = margin_report(engine);
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
    report += ",\"wall_ns\":" + std::to_string(wall_ns) + ",\"engine_ns\":" + std::to_string(engine_ns) +
              ",\"events_per_second\":" +
              std::to_string(static_cast<std::uint64_t>(rate));
    if (threads) cli::json_threaded(report, threaded, threaded_run, digest.value());
    report += "}\n";
  } else {
    char buf[160];
    report = "input           " + name + "\n";
    text_counts(report, "events in", in_counts);
    text_counts(report, "events out", out_counts);
    report += "output bytes    " + std::to_string(out_bytes) + "\n";
    report += "output digest   fnv1a64:" + digest_hex(digest.value()) + "\n";
    if (write_out) report += "output file     " + out_path + "\n";
    text_margin(report, margin);
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
  if (!threads_ok) return cli::data_error("replay", threads_error);
  if (threads && threaded_run.digest != digest.value()) return cli::data_error("replay", "threaded output differs");
  return 0;
}
