// cascade accounts: replays an input file and prints the final state of every account —
// collateral, positions, equity, margin requirements and margin ratio — in decimals, so a
// replay can be checked by hand against docs/margin.md.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cascade/decimal.hpp"
#include "cascade/engine.hpp"
#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "cli/engine_options.hpp"
#include "cli/io.hpp"

namespace {

constexpr const char* kHelp =
    "usage: cascade accounts FILE [--account ID]\n"
    "\n"
    "Runs the engine over the input events of FILE and prints the final state of every\n"
    "account with collateral or a position record, ascending (docs/margin.md gives every\n"
    "formula). Money is in quote units with 6 decimals, prices and sizes in the instrument's\n"
    "decimals. Per account:\n"
    "\n"
    "  collateral          C: deposits - withdrawals + realized PnL - fees + funding\n"
    "  equity              C + unrealized PnL of cross positions at the mark\n"
    "  initial margin      IMR: what orders and positions require (pre-trade, withdrawals)\n"
    "  maintenance margin  MM of cross positions; below it the account can be liquidated\n"
    "  margin ratio        maintenance margin / equity ('-' when equity <= 0)\n"
    "  below maintenance   yes when equity < maintenance margin\n"
    "\n"
    "then one line per instrument: size (> 0 long), entry value E and entry price E / size,\n"
    "the mark, notional and unrealized PnL at the mark, the position's own initial and\n"
    "maintenance margin, isolated margin for isolated positions, and live orders. The last\n"
    "block gives the venue's totals and the money-conservation identity of docs/margin.md.\n"
    "\n"
    "  FILE          input event file, or - for standard input\n"
    "  --account ID  only this account (totals are still printed)\n"
    CASCADE_CLI_ENGINE_OPTIONS_HELP
    "  -h, --help    this help\n"
    "\n"
    "On a truncated or corrupt file every complete event before the problem is processed and\n"
    "the accounts printed, then the problem and its byte offset go to standard error; exit 1.\n";

constexpr cascade::cli::OptionSpec kOptions[] = {
    {"account", 0, true},
    {"help", 'h', false},
};
constexpr auto kAllOptions = cascade::cli::with_engine_options(kOptions);

std::string money(cascade::Money m) { return cascade::format_decimal(m, cascade::kMoneyDecimals, true); }

// E / size in price units, truncated to two more decimals than the instrument's prices.
std::string entry_price(const cascade::wire::InstrumentDefinition& d, cascade::Money entry, cascade::Qty size) {
  if (size == 0) return "-";
  const int m = cascade::kMoneyDecimals - d.price_decimals - d.qty_decimals;
  // price units * 100 = E * 100 / (size * 10^m)
  __int128 num = static_cast<__int128>(entry) * 100;
  __int128 den = size;
  for (int i = 0; i < m; ++i) den *= 10;
  for (int i = 0; i < -m; ++i) num *= 10;
  const __int128 q = num / den;
  return cascade::format_decimal(static_cast<std::int64_t>(q), d.price_decimals + 2, true);
}

// MM / equity as a percentage with two decimals, rounded down.
std::string ratio(cascade::Money mm, cascade::Money equity) {
  if (equity <= 0) return "-";
  const __int128 bp = static_cast<__int128>(mm) * 10000 / equity;
  return cascade::format_decimal(static_cast<std::int64_t>(bp), 2, true) + "%";
}

void print_account(std::string& out, const cascade::Engine& engine, cascade::AccountId a) {
  using namespace cascade;
  const AccountView v = engine.account(a);
  out += "account " + std::to_string(a);
  if (v.isolated_default) out += "  (isolated by default)";
  if (v.backstop) out += "  (backstop)";
  out += "\n";
  char buf[256];
  const auto row = [&](const char* name, const std::string& value) {
    std::snprintf(buf, sizeof buf, "  %-20s %22s\n", name, value.c_str());
    out += buf;
  };
  row("collateral", money(v.collateral));
  row("equity", money(v.equity));
  row("initial margin", money(v.initial_margin));
  row("maintenance margin", money(v.maintenance_margin));
  row("margin ratio", ratio(v.maintenance_margin, v.equity));
  row("below maintenance", v.below_maintenance ? "yes" : "no");
  for (const PositionView& p : v.positions) {
    const wire::InstrumentDefinition* d = engine.instrument(p.instrument);
    if (!d) continue;
    const std::string symbol(d->symbol, strnlen(d->symbol, sizeof d->symbol));
    const MarkView mv = engine.mark(p.instrument);
    out += "  " + symbol + " (" + std::to_string(p.instrument) + ") " + (p.isolated ? "isolated" : "cross") +
           "  size " + format_decimal(p.size, d->qty_decimals, true) + "  entry value " + money(p.entry_value) +
           "  entry price " + entry_price(*d, p.entry_value, p.size) + "\n";
    out += "    mark " + format_decimal(mv.mark, d->price_decimals, true) + "  notional " + money(p.notional) +
           "  unrealized " + money(p.unrealized_pnl) + "  initial " + money(p.initial_margin) + "  maintenance " +
           money(p.maintenance_margin) + "\n";
    if (p.isolated)
      out += std::string("    isolated margin ") + money(p.isolated_margin) + "  isolated equity " +
             money(p.isolated_margin + p.unrealized_pnl) + "  below maintenance " +
             (p.below_maintenance ? "yes" : "no") + "\n";
    if (p.orders)
      out += "    orders " + std::to_string(p.orders) + "  open buy " + money(p.open_buy) + "  open sell " +
             money(p.open_sell) + "  reduce-only " + format_decimal(p.reduce_only, d->qty_decimals, true) + "\n";
  }
}

}  // namespace

int cmd_accounts(int argc, char** argv) {
  using namespace cascade;
  cli::Args args;
  std::string error;
  if (!args.parse(argc, argv, kAllOptions, error)) return cli::usage_error("accounts", error);
  if (args.has("help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  if (args.operands().size() != 1) return cli::usage_error("accounts", "expected one FILE operand");
  std::uint64_t only = 0;
  const bool have_only = args.has("account");
  if (have_only && !cli::parse_count(args.value("account"), 0, 0xFFFFFFFEu, only))
    return cli::usage_error("accounts", "--account needs an account id, got '" + args.value("account") + "'");
  const std::string path = args.operands()[0];
  const std::string name = cli::display_name(path);

  cli::EngineRun run;
  if (const int status = cli::start_engine_run("accounts", args, path, run)) return status;
  const cli::InputEventFile& in = run.in;
  Engine& engine = *run.engine;

  EventBuffer out(1 << 20);
  EventReader r = in.file().reader();
  EventView ev;
  while (r.next(ev)) {
    out.clear();
    engine.process(ev, out);
  }

  std::string text;
  bool first = true;
  Money sum = 0;  // sum over accounts of C - E + B
  for (const AccountId a : engine.active_accounts()) {
    const AccountView v = engine.account(a);
    sum += v.collateral;
    for (const PositionView& p : v.positions) sum += p.isolated_margin - p.entry_value;
    if (have_only && a != only) continue;
    if (!first) text += "\n";
    first = false;
    print_account(text, engine, a);
  }
  if (have_only && first) text += "account " + std::to_string(only) + ": no collateral and no positions\n";

  const MarginTotals t = engine.totals();
  char buf[256];
  const auto row = [&](const char* label, Money m) {
    std::snprintf(buf, sizeof buf, "  %-28s %22s\n", label, money(m).c_str());
    text += buf;
  };
  text += "\ntotals\n";
  row("deposits", t.deposits);
  row("withdrawals", t.withdrawals);
  row("fees collected", t.fees_collected);
  row("funding paid", t.funding_paid);
  row("funding received", t.funding_received);
  row("insurance fund", t.insurance_fund);
  row("socialized losses", t.socialized_losses);
  row("sum of C - E + B", sum);
  const Money lhs = t.deposits - t.withdrawals;
  const Money rhs = sum + t.insurance_fund + t.fees_collected - t.socialized_losses;
  text += std::string("  deposits - withdrawals = sum(C - E + B) + insurance + fees - socialized: ") +
          (lhs == rhs ? "holds" : "BROKEN") + "\n";
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
  if (!r.ok()) return cli::data_error("accounts", name + ": " + r.error().message());
  return 0;
}
