// cascade serve: a primary. Runs the threaded pipeline over an input file as if it arrived
// from a gateway (optionally paced), journaling every event before it is processed, and
// writes the output stream as it leaves the pipeline (one write(2) per batch, so a killed
// primary leaves every published batch in the file). tools/failover-demo.sh pairs it with
// `cascade follow`.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "cascade/digest.hpp"
#include "cascade/event_file.hpp"
#include "cascade/pipeline.hpp"
#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "cli/io.hpp"
#include "cli/replay_threads.hpp"

namespace {

constexpr const char* kHelp =
    "usage: cascade serve FILE --journal J [-o OUT] [--rate R] [--batch N] [--durability D]\n"
    "                         [--snapshot S [--snapshot-every N]] [--spin] [--pin E[,O]]\n"
    "\n"
    "Runs the input events of FILE through the threaded pipeline as a primary would: each\n"
    "batch is appended to the journal J (created, or appended to if it exists) and committed\n"
    "before the engine processes it; the output is written to OUT as it leaves the pipeline.\n"
    "Prints events in and out and the output digest (FNV-1a 64, header excluded) at the end.\n"
    "\n"
    "  --journal J       the input journal (an input event file)\n"
    "  -o, --output OUT  the output stream (an output event file), written per batch\n"
    "  --rate R          submit at R events/s (default: as fast as possible)\n"
    "  --batch N         events per submit (default 64)\n"
    "  --durability D    none, flush (default) or fsync per batch\n"
    "  --snapshot S      write the engine's state to S every N input events (between two\n"
    "                    batches, on the engine thread), with the journal position, for\n"
    "                    'cascade recover S J'\n"
    "  --snapshot-every N  default 1000000\n"
    "  --spin, --pin     as for 'cascade replay --threads'\n"
    "  -h, --help        this help\n";

constexpr cascade::cli::OptionSpec kOptions[] = {
    {"journal", 0, true}, {"output", 'o', true}, {"rate", 0, true}, {"batch", 0, true},
    {"durability", 0, true}, {"snapshot", 0, true}, {"snapshot-every", 0, true}, {"spin", 0, false}, {"pin", 0, true}, {"help", 'h', false},
};

bool write_all(int fd, const std::byte* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

}  // namespace

int cmd_serve(int argc, char** argv) {
  using namespace cascade;
  cli::Args args;
  std::string error;
  if (!args.parse(argc, argv, kOptions, error)) return cli::usage_error("serve", error);
  if (args.has("help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  if (args.operands().size() != 1) return cli::usage_error("serve", "expected one FILE operand");
  if (!args.has("journal")) return cli::usage_error("serve", "--journal is required");
  cli::ThreadedOptions options;
  if (!cli::parse_threaded_options(args, options, error)) return cli::usage_error("serve", error);

  cli::InputEventFile in;
  if (!in.open(args.operands()[0], error)) return cli::data_error("serve", error);
  if (in.file().header().kind != wire::StreamKind::Input)
    return cli::data_error("serve", cli::display_name(args.operands()[0]) + ": not an input stream");

  int fd = -1;
  bool write_failed = false;
  if (args.has("output")) {
    const std::string out = args.value("output");
    fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const wire::FileHeader h = make_file_header(wire::StreamKind::Output, in.file().header().created_ns, "cascade serve");
    if (fd < 0 || !write_all(fd, reinterpret_cast<const std::byte*>(&h), sizeof h))
      return cli::data_error("serve", out + ": " + std::strerror(errno));
  }
  options.sink = [fd, &write_failed](std::span<const std::byte> b) {
    if (fd >= 0 && !write_failed && !write_all(fd, b.data(), b.size())) write_failed = true;
  };
  cli::ThreadedReplay run;
  const bool ok = cli::replay_threaded(in.file(), options, run, error);
  if (fd >= 0 && ::close(fd) != 0) write_failed = true;
  std::printf("events in       %llu\nevents out      %llu\noutput bytes    %llu\noutput digest   fnv1a64:%s\n"
              "journal         %s (%s)\nsnapshots       %llu\n",
              static_cast<unsigned long long>(run.stats.events_in), static_cast<unsigned long long>(run.stats.events_out),
              static_cast<unsigned long long>(run.stats.output_bytes), digest_hex(run.digest).c_str(),
              options.pipeline.journal_path.c_str(), durability_name(options.pipeline.durability),
              static_cast<unsigned long long>(run.stats.snapshots));
  if (!ok) return cli::data_error("serve", error);
  if (write_failed) return cli::data_error("serve", args.value("output") + ": write failed");
  return 0;
}
