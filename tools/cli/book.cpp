// cascade book: replays an input file and prints the resulting order book, as a readable
// ladder or as LOBSTER orderbook rows (optionally one row per source message).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "cascade/decimal.hpp"
#include "cascade/engine.hpp"
#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "cli/engine_options.hpp"
#include "cli/io.hpp"
#include "import/lobster.hpp"

namespace {

constexpr const char* kHelp =
    "usage: cascade book FILE [--depth N] [--instrument ID] [--format text|lobster] [--each]\n"
    "\n"
    "Runs the engine over the input events of FILE and prints the order book it ends with.\n"
    "\n"
    "  FILE               input event file, or - for standard input\n"
    "  --depth N          price levels per side (default 10)\n"
    "  --instrument ID    only this instrument (default: every defined instrument)\n"
    "  --format text      a ladder per instrument: asks from the highest shown down, then\n"
    "                     bids from the best down; decimal prices and quantities (default)\n"
    "  --format lobster   LOBSTER orderbook rows: per level 'ask price,ask size,bid price,\n"
    "                     bid size' in price and quantity units, empty levels 9999999999,0\n"
    "                     and -9999999999,0; needs a single instrument (the only one the\n"
    "                     file defines, or --instrument)\n"
    "  --each             with --format lobster: one row after each source message instead\n"
    "                     of one at the end. Input events that share a nonzero header ref\n"
    "                     (converters put the source message number there) and follow each\n"
    "                     other form one message; an event with ref 0 is a message alone\n"
    CASCADE_CLI_ENGINE_OPTIONS_HELP
    "  -h, --help         this help\n"
    "\n"
    "On a truncated or corrupt file every complete event before the problem is processed and\n"
    "the book printed, then the problem and its byte offset go to standard error; exit 1.\n";

constexpr cascade::cli::OptionSpec kOptions[] = {
    {"depth", 0, true},
    {"instrument", 0, true},
    {"format", 0, true},
    {"each", 0, false},
    {"help", 'h', false},
};
constexpr auto kAllOptions = cascade::cli::with_engine_options(kOptions);

std::string pad_left(const std::string& s, std::size_t w) { return s.size() >= w ? s : std::string(w - s.size(), ' ') + s; }

// A ladder for one instrument; empty when the instrument is not defined.
std::string ladder(const cascade::Engine& engine, cascade::InstrumentId id, std::size_t depth) {
  using namespace cascade;
  const wire::InstrumentDefinition* def = engine.instrument(id);
  if (!def) return {};
  const int pd = def->price_decimals, qd = def->qty_decimals;
  std::vector<LevelView> asks(depth), bids(depth);
  asks.resize(engine.depth(id, Side::Sell, depth, asks.data()));
  bids.resize(engine.depth(id, Side::Buy, depth, bids.data()));

  std::string symbol(def->symbol, strnlen(def->symbol, sizeof def->symbol));
  std::string out = "instrument " + std::to_string(id) + " " + symbol;
  if (const Price last = engine.last_price(id)) out += "  last " + format_decimal(last, pd, true);
  out += '\n';

  struct Row {
    const char* side;
    std::string price, qty, orders;
  };
  std::vector<Row> rows;
  for (std::size_t i = asks.size(); i-- > 0;)
    rows.push_back({"ask", format_decimal(asks[i].price, pd, true), format_decimal(asks[i].qty, qd, true),
                    std::to_string(asks[i].orders)});
  const std::size_t n_asks = rows.size();
  for (const LevelView& l : bids)
    rows.push_back({"bid", format_decimal(l.price, pd, true), format_decimal(l.qty, qd, true), std::to_string(l.orders)});
  std::size_t wp = 5, wq = 3, wo = 6;  // at least as wide as the column titles
  for (const Row& r : rows) {
    wp = std::max(wp, r.price.size());
    wq = std::max(wq, r.qty.size());
    wo = std::max(wo, r.orders.size());
  }
  out += "     " + pad_left("price", wp) + "  " + pad_left("qty", wq) + "  " + pad_left("orders", wo) + "\n";
  const auto row_line = [&](const Row& r) {
    return std::string(r.side) + "  " + pad_left(r.price, wp) + "  " + pad_left(r.qty, wq) + "  " + pad_left(r.orders, wo) + "\n";
  };
  if (asks.empty()) out += "     (no asks)\n";
  for (std::size_t i = 0; i < n_asks; ++i) out += row_line(rows[i]);
  if (!asks.empty() && !bids.empty())
    out += "---  spread " + format_decimal(asks[0].price - bids[0].price, pd, true) + "\n";
  for (std::size_t i = n_asks; i < rows.size(); ++i) out += row_line(rows[i]);
  if (bids.empty()) out += "     (no bids)\n";
  return out;
}

}  // namespace

int cmd_book(int argc, char** argv) {
  using namespace cascade;
  cli::Args args;
  std::string error;
  if (!args.parse(argc, argv, kAllOptions, error)) return cli::usage_error("book", error);
  if (args.has("help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  if (args.operands().size() != 1) return cli::usage_error("book", "expected one FILE operand");
  const std::string path = args.operands()[0];
  const std::string name = cli::display_name(path);

  std::uint64_t depth = 10;
  if (args.has("depth") && !cli::parse_count(args.value("depth"), 1, 1000000, depth))
    return cli::usage_error("book", "--depth needs a whole number from 1 to 1000000, got '" + args.value("depth") + "'");
  std::uint64_t only = 0;
  const bool have_only = args.has("instrument");
  if (have_only && !cli::parse_count(args.value("instrument"), 0, kAllInstruments - 1, only))
    return cli::usage_error("book", "--instrument needs an instrument id, got '" + args.value("instrument") + "'");
  const std::string format = args.value("format", "text");
  if (format != "text" && format != "lobster")
    return cli::usage_error("book", "--format must be text or lobster, got '" + format + "'");
  const bool lobster = format == "lobster";
  const bool each = args.has("each");
  if (each && !lobster) return cli::usage_error("book", "--each needs --format lobster");

  cli::EngineRun run;
  if (const int status = cli::start_engine_run("book", args, path, run)) return status;
  const cli::InputEventFile& in = run.in;
  Engine& engine = *run.engine;

  InstrumentId instrument = static_cast<InstrumentId>(only);
  if (lobster && !have_only) {
    // LOBSTER rows carry no instrument: the file must define exactly one.
    std::set<InstrumentId> defined;
    EventReader scan = in.file().reader();
    EventView ev;
    while (scan.next(ev))
      if (ev.type() == wire::MsgType::InstrumentDefinition) defined.insert(ev.as<wire::InstrumentDefinition>().instrument);
    if (defined.size() != 1) {
      std::string ids;
      for (const InstrumentId id : defined) ids += (ids.empty() ? "" : ", ") + std::to_string(id);
      return cli::usage_error("book", "--format lobster needs --instrument: " + name + " defines " +
                                          std::to_string(defined.size()) + " instruments" +
                                          (ids.empty() ? "" : " (" + ids + ")"));
    }
    instrument = *defined.begin();
  }

  EventBuffer out(1 << 20);
  cli::TextOutput text;
  text.open("-", error);
  std::string row;
  const auto print_row = [&] {
    row.clear();
    import::lobster_book_row(engine, instrument, static_cast<int>(depth), row);
    row += '\n';
    text.write(row);
  };

  EventReader r = in.file().reader();
  EventView ev;
  bool pending = false;  // an --each group has been processed but not printed
  std::uint64_t group_ref = 0;
  while (r.next(ev)) {
    if (!wire::is_input(ev.type())) continue;
    const std::uint64_t ref = ev.header().ref;
    if (each && pending && (ref == 0 || ref != group_ref)) print_row();
    engine.process(ev, out);
    out.clear();
    pending = true;
    group_ref = ref;
  }
  if (each && pending) print_row();

  int status = 0;
  if (lobster && !each) {
    print_row();
  } else if (!lobster) {
    std::vector<InstrumentId> ids = have_only ? std::vector<InstrumentId>{instrument} : engine.instrument_ids();
    bool first = true;
    for (const InstrumentId id : ids) {
      const std::string l = ladder(engine, id, static_cast<std::size_t>(depth));
      if (l.empty()) {
        text.flush();
        status = cli::data_error("book", name + ": instrument " + std::to_string(id) + " is not defined");
        continue;
      }
      if (!first) text.write("\n");
      first = false;
      text.write(l);
    }
  }
  std::string close_error;
  const bool closed = text.close(close_error);
  if (!r.ok()) return cli::data_error("book", name + ": " + r.error().message());
  if (!closed) return cli::data_error("book", close_error);
  return status;
}
