// cascade snapshot / cascade recover: write the engine's state after the first N events of an
// input stream, and resume from such a snapshot with the rest of a journal.
#include <cstdio>
#include <string>

#include "cascade/digest.hpp"
#include "cascade/engine.hpp"
#include "cascade/event_file.hpp"
#include "cascade/journal.hpp"
#include "cascade/snapshot.hpp"
#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "cli/io.hpp"

namespace {

constexpr const char* kSnapshotHelp =
    "usage: cascade snapshot FILE -o SNAPSHOT [--at N]\n"
    "\n"
    "Runs the engine over the first N input events of FILE (default: all of them) and writes\n"
    "its whole state to SNAPSHOT (docs/snapshots.md), with N and the last event's seq, so that\n"
    "'cascade recover SNAPSHOT JOURNAL' resumes after them. Prints the events processed and the\n"
    "digest of their output.\n"
    "\n"
    "  -o, --output SNAPSHOT  the snapshot file (written to SNAPSHOT.tmp, then renamed)\n"
    "  --at N                 snapshot after N events (fewer if FILE has fewer)\n"
    "  -h, --help             this help\n";

constexpr const char* kRecoverHelp =
    "usage: cascade recover SNAPSHOT JOURNAL [-o OUT]\n"
    "\n"
    "Restores the engine from SNAPSHOT, skips the input events of JOURNAL the snapshot already\n"
    "covers, and runs the engine over the rest (a torn last event, left by a crash, is\n"
    "ignored). The output is what the original run wrote for those events, byte for byte.\n"
    "Prints the snapshot's position, the events replayed and the output's size and digest.\n"
    "\n"
    "  -o, --output OUT  write the output stream of the replayed events to OUT\n"
    "  -h, --help        this help\n";

constexpr cascade::cli::OptionSpec kSnapshotOptions[] = {{"output", 'o', true}, {"at", 0, true}, {"help", 'h', false}};
constexpr cascade::cli::OptionSpec kRecoverOptions[] = {{"output", 'o', true}, {"help", 'h', false}};

}  // namespace

int cmd_snapshot(int argc, char** argv) {
  using namespace cascade;
  cli::Args args;
  std::string error;
  if (!args.parse(argc, argv, kSnapshotOptions, error)) return cli::usage_error("snapshot", error);
  if (args.has("help")) {
    std::fputs(kSnapshotHelp, stdout);
    return 0;
  }
  if (args.operands().size() != 1) return cli::usage_error("snapshot", "expected one FILE operand");
  if (!args.has("output")) return cli::usage_error("snapshot", "-o SNAPSHOT is required");
  std::uint64_t at = UINT64_MAX;
  if (args.has("at") && !cli::parse_count(args.value("at"), 0, UINT64_MAX, at))
    return cli::usage_error("snapshot", "--at: expected a count of events");
  cli::InputEventFile in;
  if (!in.open(args.operands()[0], error)) return cli::data_error("snapshot", error);
  if (in.file().header().kind != wire::StreamKind::Input)
    return cli::data_error("snapshot", cli::display_name(args.operands()[0]) + ": not an input stream");

  Engine engine;
  EventBuffer out;
  Fnv1a64 digest;
  SnapshotInfo info;
  EventReader r = in.file().reader();
  for (EventView ev; info.input_events < at && r.next(ev);) {
    out.clear();
    engine.process(ev, out);
    digest.update(out.bytes());
    ++info.input_events;
    info.last_input_seq = ev.header().seq;
  }
  if (!r.ok()) return cli::data_error("snapshot", cli::display_name(args.operands()[0]) + ": " + r.error().message());
  if (!write_snapshot_file(args.value("output"), engine, info, error)) return cli::data_error("snapshot", error);
  std::printf("events          %llu (last seq %llu)\noutput digest   fnv1a64:%s\nsnapshot        %s\n",
              static_cast<unsigned long long>(info.input_events), static_cast<unsigned long long>(info.last_input_seq),
              digest_hex(digest.value()).c_str(), args.value("output").c_str());
  return 0;
}

int cmd_recover(int argc, char** argv) {
  using namespace cascade;
  cli::Args args;
  std::string error;
  if (!args.parse(argc, argv, kRecoverOptions, error)) return cli::usage_error("recover", error);
  if (args.has("help")) {
    std::fputs(kRecoverHelp, stdout);
    return 0;
  }
  if (args.operands().size() != 2) return cli::usage_error("recover", "expected SNAPSHOT and JOURNAL operands");
  SnapshotInfo info;
  std::unique_ptr<Engine> engine = read_snapshot_file(args.operands()[0], info, error);
  if (!engine) return cli::data_error("recover", error);
  cli::InputEventFile in;
  if (!in.open(args.operands()[1], error)) return cli::data_error("recover", error);
  const std::string name = cli::display_name(args.operands()[1]);
  if (in.file().header().kind != wire::StreamKind::Input) return cli::data_error("recover", name + ": not an input stream");

  EventFileWriter writer;
  const bool write_out = args.has("output");
  if (write_out && !writer.open(args.value("output"), make_file_header(wire::StreamKind::Output, in.file().header().created_ns,
                                                                       "cascade recover"),
                                error))
    return cli::data_error("recover", error);
  EventBuffer out;
  Fnv1a64 digest;
  std::uint64_t skipped = 0, replayed = 0, out_bytes = 0;
  EventReader r = in.file().reader();
  for (EventView ev; r.next(ev);) {
    if (skipped < info.input_events) {
      if (++skipped == info.input_events && info.last_input_seq != 0 && ev.header().seq != info.last_input_seq)
        return cli::data_error("recover", name + ": event " + std::to_string(skipped) + " has seq " +
                                              std::to_string(ev.header().seq) + ", the snapshot was taken after seq " +
                                              std::to_string(info.last_input_seq));
      continue;
    }
    out.clear();
    engine->process(ev, out);
    digest.update(out.bytes());
    out_bytes += out.size();
    if (write_out) writer.write_raw(out.bytes());
    ++replayed;
  }
  const bool torn = !r.ok() && r.error().code == DecodeError::Truncated;
  if (!r.ok() && !torn) return cli::data_error("recover", name + ": " + r.error().message());
  if (skipped < info.input_events)
    return cli::data_error("recover", name + ": " + std::to_string(skipped) + " events, the snapshot covers " +
                                          std::to_string(info.input_events));
  if (write_out && !writer.close(error)) return cli::data_error("recover", error);
  std::printf("snapshot        after %llu events (seq %llu)\nreplayed        %llu events%s\noutput bytes    %llu\n"
              "output digest   fnv1a64:%s\n",
              static_cast<unsigned long long>(info.input_events), static_cast<unsigned long long>(info.last_input_seq),
              static_cast<unsigned long long>(replayed), torn ? " (torn last event ignored)" : "",
              static_cast<unsigned long long>(out_bytes), digest_hex(digest.value()).c_str());
  return 0;
}
