// cascade follow: a follower (hot standby). Tails an input journal another process is
// writing, runs its own engine over every whole event as it appears, and stops once the
// journal has stopped growing for --idle-ms (the primary is gone). Its output is what the
// primary published for the same events, byte for byte: --primary-output checks that.
// With --idle-ms 0 it recovers a crashed process's state from its journal and stops.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "cascade/digest.hpp"
#include "cascade/engine.hpp"
#include "cascade/event_file.hpp"
#include "cascade/journal.hpp"
#include "cli/args.hpp"
#include "cli/commands.hpp"

namespace {

constexpr const char* kHelp =
    "usage: cascade follow JOURNAL [-o OUT] [--idle-ms N] [--primary-output P]\n"
    "\n"
    "Tails JOURNAL (an input event file being appended to, e.g. by 'cascade serve'), running\n"
    "the engine over each whole event as it arrives; a torn last event waits for its rest.\n"
    "Stops when the journal has not grown for N ms (waiting that long for it to appear), then\n"
    "prints the events followed, the output's size and digest (FNV-1a 64, header excluded).\n"
    "\n"
    "  -o, --output OUT     write the output stream to OUT\n"
    "  --idle-ms N          stop after N ms without growth (default 500; 0: process what the\n"
    "                       journal holds now and stop, i.e. recover from it)\n"
    "  --primary-output P   an output stream the primary wrote (possibly cut short by a crash):\n"
    "                       check that its whole events are a prefix of this output, and print\n"
    "                       both digests over that prefix; exit status 1 if they differ\n"
    "  -h, --help           this help\n";

constexpr cascade::cli::OptionSpec kOptions[] = {
    {"output", 'o', true}, {"idle-ms", 0, true}, {"primary-output", 0, true}, {"help", 'h', false}};

// A growing, 8-byte aligned copy of the journal's bytes.
class Tail {
 public:
  // Reads whatever was appended since the last call; false on a read error.
  bool read_more(int fd) {
    for (;;) {
      if (words_.size() * 8 < size_ + (1 << 16)) words_.resize((size_ + (1 << 16)) / 8 * 2);
      const ssize_t n = ::read(fd, reinterpret_cast<std::byte*>(words_.data()) + size_, words_.size() * 8 - size_);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return false;
      if (n == 0) return true;
      size_ += static_cast<std::size_t>(n);
    }
  }
  std::span<const std::byte> bytes() const { return {reinterpret_cast<const std::byte*>(words_.data()), size_}; }

 private:
  std::vector<std::uint64_t> words_;
  std::size_t size_ = 0;
};

}  // namespace

int cmd_follow(int argc, char** argv) {
  using namespace cascade;
  using Clock = std::chrono::steady_clock;
  cli::Args args;
  std::string error;
  if (!args.parse(argc, argv, kOptions, error)) return cli::usage_error("follow", error);
  if (args.has("help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  if (args.operands().size() != 1) return cli::usage_error("follow", "expected one JOURNAL operand");
  std::uint64_t idle_ms = 500;
  if (args.has("idle-ms") && !cli::parse_count(args.value("idle-ms"), 0, 86'400'000, idle_ms))
    return cli::usage_error("follow", "--idle-ms: expected milliseconds");
  const std::string path = args.operands()[0];

  EventFileWriter writer;
  const bool write_out = args.has("output");
  if (write_out &&
      !writer.open(args.value("output"), make_file_header(wire::StreamKind::Output, 0, "cascade follow"), error))
    return cli::data_error("follow", error);

  int fd = -1;
  auto last_growth = Clock::now();
  const auto idle = std::chrono::milliseconds(idle_ms);
  while ((fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC)) < 0) {
    if (errno != ENOENT || Clock::now() - last_growth >= idle)
      return cli::data_error("follow", path + ": " + std::strerror(errno));
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  Tail tail;
  Engine engine;
  EventBuffer out(1 << 20);
  Fnv1a64 digest;
  std::uint64_t events = 0, out_bytes = 0;
  std::size_t done = 0;  // bytes of the journal processed (header included)
  bool header_ok = false;
  for (;;) {
    const std::size_t before = tail.bytes().size();
    if (!tail.read_more(fd)) return cli::data_error("follow", path + ": " + std::strerror(errno));
    const std::span<const std::byte> b = tail.bytes();
    if (b.size() != before) last_growth = Clock::now();
    if (!header_ok && b.size() >= sizeof(wire::FileHeader)) {
      wire::FileHeader h;
      ReadError rerr;
      if (!parse_file_header(b, h, rerr) || h.kind != wire::StreamKind::Input)
        return cli::data_error("follow", path + ": not an input event file");
      header_ok = true;
      done = sizeof h;
    }
    if (header_ok) {
      EventReader r(b.subspan(done), done);
      for (EventView ev; r.next(ev);) {
        out.clear();
        engine.process(ev, out);
        digest.update(out.bytes());
        out_bytes += out.size();
        if (write_out) writer.write_raw(out.bytes());
        ++events;
      }
      done = r.offset();
      if (!r.ok() && r.error().code != DecodeError::Truncated)
        return cli::data_error("follow", path + ": " + r.error().message());
    }
    if (Clock::now() - last_growth >= idle) break;
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  ::close(fd);
  if (write_out && !writer.close(error)) return cli::data_error("follow", error);

  const std::size_t torn = tail.bytes().size() - done;
  std::printf("journal         %s\nevents          %llu\ntorn tail       %zu bytes\noutput bytes    %llu\n"
              "output digest   fnv1a64:%s\n",
              path.c_str(), static_cast<unsigned long long>(events), torn, static_cast<unsigned long long>(out_bytes),
              digest_hex(digest.value()).c_str());
  if (!args.has("primary-output")) return 0;

  // The primary's published output: its whole events, against the same number of bytes here.
  if (!write_out) return cli::usage_error("follow", "--primary-output needs -o OUT to compare against");
  MappedFile primary, mine;
  if (!primary.open(args.value("primary-output"), error) || !mine.open(args.value("output"), error))
    return cli::data_error("follow", error);
  const std::span<const std::byte> p = primary.bytes(), m = mine.bytes();
  if (p.size() < sizeof(wire::FileHeader)) return cli::data_error("follow", "primary output has no header");
  EventReader pr(p.subspan(sizeof(wire::FileHeader)), sizeof(wire::FileHeader));
  std::uint64_t p_events = 0;
  for (EventView ev; pr.next(ev);) ++p_events;
  const std::size_t n = pr.offset() - sizeof(wire::FileHeader);
  const std::span<const std::byte> pb = p.subspan(sizeof(wire::FileHeader), n);
  Fnv1a64 dp, dm;
  dp.update(pb);
  const bool fits = m.size() >= sizeof(wire::FileHeader) + n;
  if (fits) dm.update(m.subspan(sizeof(wire::FileHeader), n));
  const bool same = fits && std::memcmp(pb.data(), m.data() + sizeof(wire::FileHeader), n) == 0;
  std::printf("primary output  %llu output events, %zu bytes%s\n  primary digest  fnv1a64:%s\n  follower digest fnv1a64:%s (same prefix)\n"
              "  result          %s\n",
              static_cast<unsigned long long>(p_events), n, pr.ok() ? "" : " (torn tail ignored)",
              digest_hex(dp.value()).c_str(), digest_hex(dm.value()).c_str(),
              same ? "identical: the follower continues where the primary stopped" : "DIFFERENT");
  return same ? 0 : 1;
}
