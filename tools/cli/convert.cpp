// cascade convert: captured market data (LOBSTER, NASDAQ ITCH 5.0) -> an input event file
// whose replay rebuilds the source's book. docs/importers.md describes the conversions.
#include <cstdio>
#include <string>

#include "cascade/event_file.hpp"
#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "import/itch.hpp"
#include "import/lobster.hpp"

namespace {

constexpr const char* kHelp =
    "usage: cascade convert --from lobster MESSAGE_FILE [--book ORDERBOOK_FILE] [--depth N] -o OUT\n"
    "       cascade convert --from itch FILE [--symbol SYMBOL] -o OUT\n"
    "\n"
    "Converts captured market data into an input event file. Replaying it rebuilds the\n"
    "source's visible book: for LOBSTER, 'cascade book OUT --depth N --format lobster --each'\n"
    "prints the orderbook file line for line. Every event of source message k (1-based) has\n"
    "header ref k. Liquidity the source never shows (orders resting before a LOBSTER file\n"
    "starts or outside its depth) is added as events flagged synthetic.\n"
    "\n"
    "  --from lobster|itch     source format\n"
    "  -o, --output OUT        input event file to write, or - for standard output\n"
    "  --book FILE             LOBSTER: the orderbook file (default: the message file's name\n"
    "                          with _message_ replaced by _orderbook_)\n"
    "  --depth N               LOBSTER: levels per orderbook row; checked against the file\n"
    "  --instrument ID         LOBSTER: instrument id (default 0)\n"
    "  --symbol SYMBOL         LOBSTER: instrument symbol (default: from the file name);\n"
    "                          ITCH: convert only this stock (default: every stock with\n"
    "                          orders, instruments numbered from 0 in stock-locate order)\n"
    "  --date YYYY-MM-DD       trading day; times are counted from its midnight in New York\n"
    "                          (default: from the file name, else 1970-01-01 UTC)\n"
    "  --max-levels N          price levels a book may span (default 4194304); a file whose\n"
    "                          prices span more needs it, and replays need the same value\n"
    "  -h, --help              this help\n"
    "\n"
    "Prints what it did: messages read, events written, synthetic events added, the most\n"
    "orders resting at once (a replay needs --max-orders at least that; to standard error\n"
    "when OUT is standard output).\n";

constexpr cascade::cli::OptionSpec kOptions[] = {
    {"from", 0, true},       {"output", 'o', true}, {"book", 0, true},   {"depth", 0, true},
    {"instrument", 0, true}, {"symbol", 0, true},   {"date", 0, true},   {"max-levels", 0, true},
    {"help", 'h', false},
};

}  // namespace

int cmd_convert(int argc, char** argv) {
  using namespace cascade;
  cli::Args args;
  std::string error;
  if (!args.parse(argc, argv, kOptions, error)) return cli::usage_error("convert", error);
  if (args.has("help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  const std::string from = args.value("from");
  if (from != "lobster" && from != "itch") return cli::usage_error("convert", "--from must be lobster or itch");
  if (args.operands().size() != 1) return cli::usage_error("convert", "expected one input FILE operand");
  if (!args.has("output")) return cli::usage_error("convert", "-o OUT is required");
  const std::string in = args.operands()[0];
  const std::string out_path = args.value("output");
  const bool lobster = from == "lobster";
  for (const char* opt : {"book", "depth", "instrument"})
    if (!lobster && args.has(opt)) return cli::usage_error("convert", std::string("--") + opt + " is for --from lobster");

  import::Date date{};
  const bool have_date = args.has("date");
  if (have_date && !import::parse_date(args.value("date"), date))
    return cli::usage_error("convert", "--date needs YYYY-MM-DD, got '" + args.value("date") + "'");

  std::uint32_t max_levels = EngineConfig{}.max_levels_per_book;
  if (args.has("max-levels")) {
    std::uint64_t v = 0;
    if (!cli::parse_count(args.value("max-levels"), 1, 1u << 30, v))
      return cli::usage_error("convert", "--max-levels needs a whole number from 1 to 1073741824, got '" +
                                             args.value("max-levels") + "'");
    max_levels = static_cast<std::uint32_t>(v);
  }

  import::LobsterOptions lobster_options;
  lobster_options.max_levels = max_levels;
  std::string book_path;
  Timestamp created = 0;
  if (lobster) {
    std::uint64_t v = 0;
    if (args.has("depth")) {
      if (!cli::parse_count(args.value("depth"), 1, 1000000, v))
        return cli::usage_error("convert", "--depth needs a whole number from 1 to 1000000, got '" + args.value("depth") + "'");
      lobster_options.depth = static_cast<int>(v);
    }
    if (args.has("instrument")) {
      if (!cli::parse_count(args.value("instrument"), 0, kAllInstruments - 1, v))
        return cli::usage_error("convert", "--instrument needs an instrument id, got '" + args.value("instrument") + "'");
      lobster_options.instrument = static_cast<InstrumentId>(v);
    }
    lobster_options.symbol = args.value("symbol");
    book_path = args.has("book") ? args.value("book") : import::lobster_book_path(in);
    if (book_path.empty())
      return cli::usage_error("convert", "--book is needed: '" + in + "' is not named like a LOBSTER message file");
    import::LobsterFileName name;
    if (have_date) created = import::us_eastern_midnight_ns(date);
    else if (import::parse_lobster_file_name(in, name)) created = import::us_eastern_midnight_ns(name.date);
  } else {
    import::Date d;
    if (have_date) created = import::us_eastern_midnight_ns(date);
    else if (import::itch::parse_file_date(in, d)) created = import::us_eastern_midnight_ns(d);
  }

  EventFileWriter writer;
  const std::string creator = "cascade convert " + from;
  if (!writer.open(out_path, make_file_header(wire::StreamKind::Input, created, creator), error))
    return cli::data_error("convert", error);
  import::FileSink sink(writer);
  import::ConvertStats stats;
  bool ok;
  if (lobster) {
    ok = import::convert_lobster_files(in, book_path, lobster_options, have_date ? &date : nullptr, sink, stats, error);
  } else {
    import::itch::Options options;
    options.symbol = args.value("symbol");
    options.max_levels = max_levels;
    ok = import::itch::convert_file(in, options, have_date ? &date : nullptr, sink, stats, error);
  }
  std::string close_error;
  const bool closed = writer.close(close_error);
  if (!ok || !closed) {
    if (out_path != "-") std::remove(out_path.c_str());
    return cli::data_error("convert", ok ? close_error : error);
  }

  std::FILE* report = out_path == "-" ? stderr : stdout;
  std::fprintf(report, "messages read     %llu\n", static_cast<unsigned long long>(stats.messages));
  std::fprintf(report, "events written    %llu\n", static_cast<unsigned long long>(stats.events));
  std::fprintf(report, "synthetic events  %llu\n", static_cast<unsigned long long>(stats.synthetic));
  std::fprintf(report, "instruments       %llu\n", static_cast<unsigned long long>(stats.instruments));
  std::fprintf(report, "peak orders       %llu%s\n", static_cast<unsigned long long>(stats.peak_orders),
               stats.peak_orders > EngineConfig{}.max_orders ? "  (more than the engine's default: replay with --max-orders)"
                                                               : "");
  if (stats.repairs)
    std::fprintf(report, "repairs           %llu  (source inconsistencies; see docs/importers.md)\n",
                 static_cast<unsigned long long>(stats.repairs));
  if (stats.reductions)
    std::fprintf(report, "executions as cancels  %llu  (not at the engine's best price)\n",
                 static_cast<unsigned long long>(stats.reductions));
  if (stats.skipped)
    std::fprintf(report, "skipped           %llu  (order messages naming orders the feed never added)\n",
                 static_cast<unsigned long long>(stats.skipped));
  return 0;
}
