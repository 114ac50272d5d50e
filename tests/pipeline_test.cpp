// The embedding API (Driver), the threaded Pipeline and the input journal: the pipeline's
// output equals the single-threaded engine's byte for byte (spinning or blocking, with queues
// small enough to stall and split events), the journal holds exactly the input, a torn journal
// tail is cut off, and a process killed with SIGKILL mid-run loses no acknowledged event.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "cascade/digest.hpp"
#include "cascade/driver.hpp"
#include "cascade/engine.hpp"
#include "cascade/event_file.hpp"
#include "cascade/journal.hpp"
#include "cascade/pipeline.hpp"
#include "cascade/snapshot.hpp"
#include "support/random_events.hpp"

namespace {

using namespace cascade;
namespace t = cascade::testing;

t::GeneratorConfig gen_config() {
  t::GeneratorConfig g;
  g.engine = {.max_instruments = 4, .max_accounts = 6, .max_orders = 256, .max_levels_per_book = 4096};
  g.instruments = 4;
  g.accounts = 5;
  return g;
}

// A random input stream and the single-threaded engine's output for it.
struct Stream {
  std::vector<std::uint64_t> words;      // input events, 8-byte aligned
  std::vector<std::size_t> in_end;       // byte offset after input event i
  std::vector<std::byte> output;
  std::vector<std::size_t> out_end;      // output bytes after input event i
  LiquidationTotals liquidation;

  std::span<const std::byte> input() const {
    return {reinterpret_cast<const std::byte*>(words.data()), in_end.empty() ? 0 : in_end.back()};
  }
  std::span<const std::byte> input_upto(std::size_t events) const {
    return input().first(events ? in_end[events - 1] : 0);
  }
  std::span<const std::byte> output_upto(std::size_t events) const {
    return std::span<const std::byte>(output).first(events ? out_end[events - 1] : 0);
  }
};

Stream make_stream(std::uint64_t seed, std::size_t n) {
  const t::GeneratorConfig g = gen_config();
  t::RandomEvents gen(seed, g);
  Engine engine(g.engine);
  EventBuffer out;
  Stream s;
  std::vector<std::byte> in;
  for (std::size_t i = 0; i < n; ++i) {
    const EventView ev = gen.next();
    in.insert(in.end(), ev.data(), ev.data() + ev.size());
    s.in_end.push_back(in.size());
    out.clear();
    engine.process(ev, out);
    gen.observe(out.bytes());
    s.output.insert(s.output.end(), out.bytes().begin(), out.bytes().end());
    s.out_end.push_back(s.output.size());
  }
  s.words.resize(in.size() / 8);
  std::memcpy(s.words.data(), in.data(), in.size());
  s.liquidation = engine.liquidation_totals();
  return s;
}

const Stream& stream() {
  static const Stream s = make_stream(0x919E1, 6000);
  return s;
}

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "cascade-pipeline-" + std::to_string(::getpid()) + "-" + name;
}

// --- Driver ---------------------------------------------------------------------------------------

struct Collect {
  std::vector<std::byte> bytes;
  std::uint64_t fills = 0;
  void on_event(const EventView& ev) {
    bytes.insert(bytes.end(), ev.data(), ev.data() + ev.size());
    if (ev.type() == wire::MsgType::Fill) ++fills;
  }
};

TEST(Driver, ListenerSeesTheEngineOutputInOrder) {
  const Stream& s = stream();
  Driver driver(gen_config().engine);
  Collect c;
  EventReader r(s.input());
  for (EventView ev; r.next(ev);) driver.process(ev, c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(c.bytes, s.output);
  EXPECT_GT(c.fills, 0u);
  EXPECT_GT(s.liquidation.liquidations, 0u);  // the stream exercises the liquidation engine too
  EXPECT_EQ(driver.engine().output_seq(), 0u + [&] {
    std::uint64_t n = 0;
    EventReader o(s.output);
    for (EventView ev; o.next(ev);) ++n;
    return n;
  }());
}

// --- Pipeline -------------------------------------------------------------------------------------

struct PipelineRun {
  std::vector<std::byte> output;
  PipelineStats stats;
};

// Submits the stream in batches of 1..max_batch events (sizes drawn from the seed).
PipelineRun run_pipeline(const Stream& s, PipelineConfig config, std::size_t max_batch, std::uint64_t seed) {
  PipelineRun run;
  Pipeline p(Engine(gen_config().engine), config,
             [&run](std::span<const std::byte> b) { run.output.insert(run.output.end(), b.begin(), b.end()); });
  std::string error;
  EXPECT_TRUE(p.start(error)) << error;
  t::Rng rng(seed);
  std::size_t i = 0;
  while (i < s.in_end.size()) {
    const std::size_t n = std::min<std::size_t>(s.in_end.size() - i, 1 + rng.below(max_batch));
    const std::size_t from = i ? s.in_end[i - 1] : 0;
    EXPECT_TRUE(p.submit(s.input().subspan(from, s.in_end[i + n - 1] - from), error)) << error;
    i += n;
  }
  run.stats = p.finish();
  return run;
}

TEST(Pipeline, OutputEqualsTheSingleThreadedEngineBlocking) {
  const Stream& s = stream();
  PipelineConfig c;
  c.wait = WaitMode::Block;
  const PipelineRun run = run_pipeline(s, c, 64, 1);
  EXPECT_EQ(run.output, s.output);
  EXPECT_EQ(run.stats.events_in, s.in_end.size());
  EXPECT_EQ(run.stats.output_bytes, s.output.size());
  EXPECT_EQ(run.stats.input.bytes, s.input().size());
  EXPECT_GT(run.stats.latency.samples, 0u);
  EXPECT_LE(run.stats.latency.p50, run.stats.latency.max);
}

TEST(Pipeline, OutputEqualsTheSingleThreadedEngineSpinningWithTinyQueues) {
  const Stream& s = stream();
  PipelineConfig c;
  c.wait = WaitMode::Spin;
  // The smallest queues (64 KiB): a whole-stream submit cannot fit and must stall.
  c.input_queue_bytes = 1;
  c.output_queue_bytes = 1;
  const PipelineRun run = run_pipeline(s, c, s.in_end.size(), 2);
  EXPECT_EQ(run.output, s.output);
  EXPECT_EQ(run.stats.events_in, s.in_end.size());
}

TEST(Pipeline, FullQueuesStallTheProducerAndDropNothing) {
  const Stream& s = stream();
  PipelineConfig c;
  c.input_queue_bytes = 1;
  c.output_queue_bytes = 1;
  PipelineRun run;
  std::uint64_t calls = 0;
  Pipeline p(Engine(gen_config().engine), c, [&](std::span<const std::byte> b) {
    if (++calls % 4 == 0) usleep(200);  // a slow consumer
    run.output.insert(run.output.end(), b.begin(), b.end());
  });
  std::string error;
  ASSERT_TRUE(p.start(error)) << error;
  for (int rep = 0; rep < 3; ++rep) ASSERT_TRUE(p.submit(s.input(), error)) << error;
  run.stats = p.finish();
  EXPECT_EQ(run.stats.events_in, 3 * s.in_end.size());
  EXPECT_GT(run.stats.input.stalls, 0u);
  EXPECT_GT(run.stats.input.stall_ns, 0u);
  // The first pass is what the engine wrote alone.
  ASSERT_GE(run.output.size(), s.output.size());
  EXPECT_TRUE(std::equal(s.output.begin(), s.output.end(), run.output.begin()));
}

TEST(Pipeline, RejectsMalformedInputWithoutQueuingIt) {
  Pipeline p(Engine(gen_config().engine), {}, nullptr);
  std::string error;
  ASSERT_TRUE(p.start(error));
  alignas(8) std::byte bad[40] = {};
  bad[0] = std::byte{40};  // length 40 for an unknown type 0
  EXPECT_FALSE(p.submit(bad, error));
  EXPECT_NE(error.find("offset 0"), std::string::npos) << error;
  EXPECT_EQ(p.finish().events_in, 0u);
}

// --- Journal --------------------------------------------------------------------------------------

std::vector<std::byte> read_file(const std::string& path) {
  MappedFile m;
  std::string error;
  EXPECT_TRUE(m.open(path, error)) << error;
  return {m.bytes().begin(), m.bytes().end()};
}

TEST(Journal, HoldsExactlyTheInputUnderEveryPolicy) {
  const Stream& s = stream();
  for (const Durability d : {Durability::None, Durability::Flush, Durability::Fsync}) {
    const std::string path = temp_path(std::string("journal-") + durability_name(d));
    ::unlink(path.c_str());
    PipelineConfig c;
    c.journal_path = path;
    c.durability = d;
    const PipelineRun run = run_pipeline(s, c, d == Durability::Fsync ? 2000 : 64, 3);
    EXPECT_TRUE(run.stats.journal_ok) << run.stats.journal_error;
    EXPECT_EQ(run.output, s.output);
    const std::vector<std::byte> j = read_file(path);
    ASSERT_EQ(j.size(), sizeof(wire::FileHeader) + s.input().size()) << durability_name(d);
    EXPECT_TRUE(std::equal(s.input().begin(), s.input().end(), j.begin() + sizeof(wire::FileHeader)));
    EventFile f;
    std::string error;
    ASSERT_TRUE(f.open(path, error)) << error;
    EXPECT_EQ(f.header().kind, wire::StreamKind::Input);
    ::unlink(path.c_str());
  }
}

TEST(Journal, ReopeningCutsATornTailAndAppends) {
  const Stream& s = stream();
  const std::string path = temp_path("torn");
  ::unlink(path.c_str());
  Journal j;
  std::string error;
  ASSERT_TRUE(j.open(path, Durability::Flush, error)) << error;
  ASSERT_TRUE(j.append(s.input_upto(10)) && j.commit());
  ASSERT_TRUE(j.close(error)) << error;
  // A crash in the middle of writing event 11: half of it reaches the file.
  {
    const std::span<const std::byte> e11 = s.input_upto(11).subspan(s.in_end[9]);
    const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, e11.data(), e11.size() / 2), static_cast<ssize_t>(e11.size() / 2));
    ::close(fd);
  }
  JournalScan scan;
  ReadError rerr;
  {
    const std::vector<std::byte> bytes = read_file(path);
    ASSERT_TRUE(scan_journal(bytes, scan, rerr)) << rerr.message();
  }
  EXPECT_TRUE(scan.torn);
  EXPECT_EQ(scan.events, 10u);
  EXPECT_EQ(scan.end_offset, sizeof(wire::FileHeader) + s.in_end[9]);

  ASSERT_TRUE(j.open(path, Durability::Flush, error)) << error;
  EXPECT_EQ(j.events(), 10u);
  ASSERT_TRUE(j.append(s.input_upto(20).subspan(s.in_end[9])) && j.commit());
  ASSERT_TRUE(j.close(error)) << error;
  const std::vector<std::byte> bytes = read_file(path);
  ASSERT_EQ(bytes.size(), sizeof(wire::FileHeader) + s.in_end[19]);
  EXPECT_TRUE(std::equal(bytes.begin() + sizeof(wire::FileHeader), bytes.end(), s.input().begin()));
  ::unlink(path.c_str());
}

TEST(Journal, RefusesAnOutputStream) {
  const std::string path = temp_path("output-stream");
  EventFileWriter w;
  std::string error;
  ASSERT_TRUE(w.open(path, make_file_header(wire::StreamKind::Output, 0, "test"), error));
  ASSERT_TRUE(w.close(error));
  Journal j;
  EXPECT_FALSE(j.open(path, Durability::Flush, error));
  EXPECT_NE(error.find(path), std::string::npos) << error;
  ::unlink(path.c_str());
}

// A child runs a journaled pipeline, snapshotting every 300 events, and reports each
// acknowledgement down a pipe; the parent kills it with SIGKILL mid-stream. Every acknowledged
// event must be in the journal; replaying the journal must give the uninterrupted run's output
// for those events, and so must the latest snapshot plus the journal from its position.
void kill_and_recover(Durability durability, std::size_t batch) {
  const Stream& s = stream();
  const std::string path = temp_path(std::string("killed-") + durability_name(durability));
  ::unlink(path.c_str());
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    PipelineConfig c;
    c.journal_path = path;
    c.durability = durability;
    c.snapshot_path = path + ".snap";
    c.snapshot_every = 300;
    Pipeline p(Engine(gen_config().engine), c, nullptr);
    std::string error;
    if (!p.start(error)) ::_exit(3);
    for (std::size_t i = 0; i < s.in_end.size(); i += batch) {
      const std::size_t last = std::min(i + batch, s.in_end.size());
      const std::size_t from = i ? s.in_end[i - 1] : 0;
      if (!p.submit(s.input().subspan(from, s.in_end[last - 1] - from), error)) ::_exit(4);
      while (p.acknowledged() < last) std::this_thread::yield();
      const std::uint64_t acked = p.acknowledged();
      if (::write(fds[1], &acked, sizeof acked) != sizeof acked) ::_exit(5);
    }
    ::pause();  // never reached in the test: killed long before
    ::_exit(0);
  }
  ::close(fds[1]);
  std::uint64_t acked = 0, msg = 0;
  const std::uint64_t kill_after = s.in_end.size() / 3;
  while (acked < kill_after && ::read(fds[0], &msg, sizeof msg) == sizeof msg) acked = msg;
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ::close(fds[0]);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
  ASSERT_GE(acked, kill_after);
  ASSERT_LT(acked, s.in_end.size()) << "the child finished before it was killed";

  // Recovery: the journal's whole events, replayed by a fresh engine.
  const std::vector<std::byte> bytes = read_file(path);
  JournalScan scan;
  ReadError rerr;
  ASSERT_TRUE(scan_journal(bytes, scan, rerr)) << rerr.message();
  EXPECT_GE(scan.events, acked);
  ASSERT_LE(scan.events, s.in_end.size());
  const std::span<const std::byte> journaled(bytes.data() + sizeof(wire::FileHeader),
                                             scan.end_offset - sizeof(wire::FileHeader));
  const std::span<const std::byte> expected_in = s.input_upto(scan.events);
  ASSERT_TRUE(std::equal(journaled.begin(), journaled.end(), expected_in.begin(), expected_in.end()));
  Driver driver(gen_config().engine);
  Collect c;
  EventReader r(journaled);
  for (EventView ev; r.next(ev);) driver.process(ev, c);
  const std::span<const std::byte> expected_out = s.output_upto(scan.events);
  EXPECT_TRUE(std::equal(c.bytes.begin(), c.bytes.end(), expected_out.begin(), expected_out.end()));

  // Recovery from the latest snapshot the child wrote, then the journal from its position.
  SnapshotInfo info;
  std::string error;
  std::unique_ptr<Engine> restored = read_snapshot_file(path + ".snap", info, error);
  ASSERT_NE(restored, nullptr) << error;
  EXPECT_GE(info.input_events, 300u);
  ASSERT_LE(info.input_events, scan.events);
  const std::size_t last_start = info.input_events > 1 ? s.in_end[info.input_events - 2] : 0;
  EXPECT_EQ(info.last_input_seq, EventView(s.input().data() + last_start).header().seq);
  Driver resumed(std::move(*restored));
  Collect tail;
  EventReader rest(s.input_upto(scan.events).subspan(info.input_events ? s.in_end[info.input_events - 1] : 0));
  for (EventView ev; rest.next(ev);) resumed.process(ev, tail);
  const std::span<const std::byte> expected_tail = expected_out.subspan(s.out_end[info.input_events - 1]);
  EXPECT_TRUE(std::equal(tail.bytes.begin(), tail.bytes.end(), expected_tail.begin(), expected_tail.end()))
      << "snapshot after " << info.input_events << " events";
  ::unlink(path.c_str());
  ::unlink((path + ".snap").c_str());
  ::unlink((path + ".snap.tmp").c_str());
}

TEST(Journal, KilledProcessLosesNoAcknowledgedEventFlush) { kill_and_recover(Durability::Flush, 4); }
TEST(Journal, KilledProcessLosesNoAcknowledgedEventFsync) { kill_and_recover(Durability::Fsync, 40); }

}  // namespace

// --- failover on one machine: tools/failover-demo.sh ----------------------------------------------

#ifndef CASCADE_CLI
#define CASCADE_CLI ""
#endif

TEST(Failover, FollowerMatchesAKilledPrimary) {
  if (std::string(CASCADE_CLI).empty()) GTEST_SKIP() << "the cascade tool is not built (CASCADE_BUILD_TOOLS=OFF)";
  const std::string cmd = std::string("bash '") + CASCADE_SOURCE_DIR + "/tools/failover-demo.sh' '" + CASCADE_CLI +
                          "' 20000 40000 2>&1";
  std::FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  const int status = ::pclose(p);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("result          identical"), std::string::npos) << out;
  EXPECT_NE(out.find("failover-demo: ok"), std::string::npos) << out;
}

TEST(ReplayThreads, ReportsTheSameDigestAsTheSingleThreadedRun) {
  if (std::string(CASCADE_CLI).empty()) GTEST_SKIP() << "the cascade tool is not built (CASCADE_BUILD_TOOLS=OFF)";
  const Stream& s = stream();
  const std::string in = temp_path("replay-in"), journal = temp_path("replay-journal");
  ::unlink(journal.c_str());
  {
    EventFileWriter w;
    std::string error;
    ASSERT_TRUE(w.open(in, make_file_header(wire::StreamKind::Input, 0, "pipeline_test"), error)) << error;
    w.write_raw(s.input());
    ASSERT_TRUE(w.close(error)) << error;
  }
  for (const std::string& opts : {std::string("--batch 7"), std::string("--spin --batch 1000"),
                                  "--rate 200000 --journal '" + journal + "'"}) {
    const std::string cmd = std::string("'") + CASCADE_CLI + "' replay '" + in + "' --threads --json " + opts + " 2>&1";
    std::FILE* p = ::popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string out;
    char buf[4096];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    EXPECT_EQ(::pclose(p), 0) << opts << "\n" << out;
    EXPECT_NE(out.find("\"same_digest\":true"), std::string::npos) << opts << "\n" << out;
    EXPECT_NE(out.find("\"threaded\":{"), std::string::npos) << opts << "\n" << out;
  }
  // The journal holds the input, after its header.
  const std::vector<std::byte> j = read_file(journal);
  ASSERT_EQ(j.size(), sizeof(wire::FileHeader) + s.input().size());
  EXPECT_TRUE(std::equal(s.input().begin(), s.input().end(), j.begin() + sizeof(wire::FileHeader)));
  ::unlink(in.c_str());
  ::unlink(journal.c_str());
}
