// cascade dump: an event file in the text form, one event per line.
#include <map>
#include <string>

#include "cascade/text_format.hpp"
#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "cli/io.hpp"

namespace {

constexpr const char* kHelp =
    "usage: cascade dump FILE [-o OUT] [--decimals-from INPUT]\n"
    "\n"
    "Prints an event file in the text form (docs/text-format.md): a '# cascade' header line,\n"
    "then one line per event. 'cascade encode' turns the text back into the same bytes.\n"
    "\n"
    "  FILE                     event file, or - for standard input\n"
    "  -o, --output OUT         write the text to OUT (default: standard output)\n"
    "  --decimals-from INPUT    start with the decimals of the instruments defined in the\n"
    "                           event file INPUT (written as '@decimals' lines), so an output\n"
    "                           stream shows decimal prices and quantities\n"
    "  -h, --help               this help\n"
    "\n"
    "On a truncated or corrupt file every complete event before the problem is printed, then\n"
    "the problem and its byte offset go to standard error and the exit status is 1.\n";

constexpr cascade::cli::OptionSpec kOptions[] = {
    {"output", 'o', true},
    {"decimals-from", 0, true},
    {"help", 'h', false},
};

// The latest decimals per instrument defined in an event file, ascending by id.
bool load_decimals(const std::string& path, std::map<cascade::InstrumentId, cascade::text::Decimals>& out,
                   std::string& error) {
  cascade::cli::InputEventFile in;
  if (!in.open(path, error)) return false;
  cascade::EventReader r = in.file().reader();
  cascade::EventView ev;
  while (r.next(ev))
    if (ev.type() == cascade::wire::MsgType::InstrumentDefinition) {
      const auto& def = ev.as<cascade::wire::InstrumentDefinition>();
      out[def.instrument] = {def.price_decimals, def.qty_decimals};
    }
  if (!r.ok()) {
    error = cascade::cli::display_name(path) + ": " + r.error().message();
    return false;
  }
  return true;
}

}  // namespace

int cmd_dump(int argc, char** argv) {
  using namespace cascade;
  cli::Args args;
  std::string error;
  if (!args.parse(argc, argv, kOptions, error)) return cli::usage_error("dump", error);
  if (args.has("help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  if (args.operands().size() != 1) return cli::usage_error("dump", "expected one FILE operand");
  const std::string path = args.operands()[0];

  std::map<InstrumentId, text::Decimals> preset;
  if (args.has("decimals-from") && !load_decimals(args.value("decimals-from"), preset, error))
    return cli::data_error("dump", error);

  cli::InputEventFile in;
  if (!in.open(path, error)) return cli::data_error("dump", error);
  cli::TextOutput out;
  if (!out.open(args.value("output", "-"), error)) return cli::data_error("dump", error);

  text::Formatter fmt;
  std::string line;
  bool ok = fmt.header_line(in.file().header(), line, error);
  if (ok) {
    line += '\n';
    for (const auto& [id, d] : preset) line += fmt.decimals_line(id, d) + '\n';
    out.write(line);
    EventReader r = in.file().reader();
    EventView ev;
    while (true) {
      const std::uint64_t at = r.offset();
      if (!r.next(ev)) break;
      line.clear();
      if (!fmt.format(ev, at, line, error)) {
        ok = false;
        break;
      }
      line += '\n';
      out.write(line);
    }
    if (ok && !r.ok()) {
      ok = false;
      error = r.error().message();
    }
  }
  std::string close_error;
  const bool closed = out.close(close_error);
  if (!ok) return cli::data_error("dump", cli::display_name(path) + ": " + error);
  if (!closed) return cli::data_error("dump", close_error);
  return 0;
}
