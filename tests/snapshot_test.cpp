// Snapshots: restore, then continue with the rest of the input, gives the original output byte
// for byte, at many cut points of random streams with liquidations, including right inside
// cascade periods (between the input events of a run of liquidations); a restored engine
// snapshots to the same bytes; damaged snapshots are refused with a reason.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cascade/engine.hpp"
#include "cascade/event_buffer.hpp"
#include "cascade/event_file.hpp"
#include "cascade/snapshot.hpp"
#include "support/random_events.hpp"

namespace {

using namespace cascade;
namespace t = cascade::testing;

struct Recorded {
  std::vector<std::vector<std::byte>> inputs;   // each input event
  std::vector<std::vector<std::byte>> outputs;  // the engine's output for it
  std::vector<std::vector<std::byte>> snapshots;  // taken before input k, for k in cuts
  std::vector<std::size_t> cuts;
  std::uint64_t liquidations = 0;
};

// Runs one engine over the stream, snapshotting before every 61st event and before the event
// after every one whose output holds a Liquidation (up to max_cascade_cuts of those).
Recorded record(std::uint64_t seed, const t::GeneratorConfig& g, std::size_t n, std::size_t max_cascade_cuts) {
  t::RandomEvents gen(seed, g);
  Engine engine(g.engine);
  EventBuffer out;
  Recorded r;
  bool after_liquidation = false;
  std::size_t cascade_cuts = 0;
  for (std::size_t k = 0; k < n; ++k) {
    if (k > 0 && (k % 61 == 0 || (after_liquidation && cascade_cuts < max_cascade_cuts))) {
      cascade_cuts += after_liquidation;
      r.cuts.push_back(k);
      r.snapshots.emplace_back();
      save_snapshot(engine, SnapshotInfo{k, 0}, r.snapshots.back());
    }
    const EventView ev = gen.next();
    r.inputs.emplace_back(ev.data(), ev.data() + ev.size());
    out.clear();
    engine.process(ev, out);
    gen.observe(out.bytes());
    r.outputs.emplace_back(out.bytes().begin(), out.bytes().end());
    after_liquidation = false;
    EventReader rd(out.bytes());
    for (EventView o; rd.next(o);)
      if (o.type() == wire::MsgType::Liquidation) after_liquidation = true;
    r.liquidations += after_liquidation;
  }
  return r;
}

// Index prices at the ends of every book's range, down, up, down: positions are looked at again only through
// their maintenance watch, so this checks that a restore re-certified every watch.
std::vector<std::vector<std::byte>> price_shock(const Engine& e, Timestamp ts) {
  std::vector<std::vector<std::byte>> events;
  SeqNo seq = 1'000'000'000;
  for (const InstrumentId id : e.instrument_ids()) {
    const wire::InstrumentDefinition& d = *e.instrument(id);
    // The mark never leaves the book's range: walk the index to both ends of it.
    for (const Price p : {d.min_price, d.max_price, d.min_price}) {
      wire::IndexPrice ix = t::input::index_price(id, p);
      ix.header.seq = ++seq;
      ix.header.ts_ns = ts;
      const auto* b = reinterpret_cast<const std::byte*>(&ix);
      events.emplace_back(b, b + sizeof ix);
    }
  }
  return events;
}

void check_recovery(const Recorded& r, const EngineConfig& config) {
  EventBuffer out;
  for (std::size_t s = 0; s < r.cuts.size(); ++s) {
    const std::size_t k = r.cuts[s];
    SnapshotInfo info;
    std::string error;
    std::unique_ptr<Engine> e = restore_snapshot(r.snapshots[s], info, error);
    ASSERT_NE(e, nullptr) << "cut " << k << ": " << error;
    ASSERT_EQ(info.input_events, k);
    std::vector<std::byte> again;
    save_snapshot(*e, info, again);
    ASSERT_EQ(again, r.snapshots[s]) << "cut " << k << ": the restored engine snapshots differently";
    if (s % 3 == 0) {  // the same shock to the original engine rebuilt by replay, and to a restored one
      Engine replayed(config);
      for (std::size_t i = 0; i < k; ++i) {
        out.clear();
        replayed.process(EventView(r.inputs[i].data()), out);
      }
      std::unique_ptr<Engine> shocked = restore_snapshot(r.snapshots[s], info, error);
      const Timestamp ts = EventView(r.inputs[k - 1].data()).header().ts_ns;
      for (const auto& ev : price_shock(replayed, ts)) {
        out.clear();
        replayed.process(EventView(ev.data()), out);
        const std::vector<std::byte> want(out.bytes().begin(), out.bytes().end());
        out.clear();
        shocked->process(EventView(ev.data()), out);
        const std::vector<std::byte> got(out.bytes().begin(), out.bytes().end());
        ASSERT_EQ(got, want) << "cut " << k << ": a price shock after the restore differs";
      }
    }
    for (std::size_t i = k; i < r.inputs.size(); ++i) {
      out.clear();
      e->process(EventView(r.inputs[i].data()), out);
      const std::vector<std::byte> got(out.bytes().begin(), out.bytes().end());
      ASSERT_EQ(got, r.outputs[i]) << "cut " << k << ": output of input " << i << " differs";
    }
  }
}

t::GeneratorConfig config(EngineConfig e, std::uint32_t instruments, std::uint32_t accounts) {
  t::GeneratorConfig g;
  g.engine = e;
  g.instruments = instruments;
  g.accounts = accounts;
  return g;
}

TEST(Snapshot, RecoveryMatchesTheOriginalOutputAtManyCutPoints) {
  const Recorded r = record(0x5A45, config({.max_instruments = 4, .max_accounts = 6, .max_orders = 256, .max_levels_per_book = 4096}, 4, 5),
                    5000, 40);
  ASSERT_GT(r.liquidations, 10u) << "the stream should liquidate";
  ASSERT_GT(r.cuts.size(), 80u);
  check_recovery(r, {.max_instruments = 4, .max_accounts = 6, .max_orders = 256, .max_levels_per_book = 4096});
}

TEST(Snapshot, RecoveryInsideCascadesWithDeepBooks) {
  const Recorded r = record(0x5A46, config({.max_instruments = 4, .max_accounts = 9, .max_orders = 1u << 14, .max_levels_per_book = 1u << 12}, 3, 8),
                    4000, 60);
  ASSERT_GT(r.liquidations, 0u);
  check_recovery(r, {.max_instruments = 4, .max_accounts = 9, .max_orders = 1u << 14, .max_levels_per_book = 1u << 12});
}

TEST(Snapshot, TightCapacitiesSurviveTheRestore) {
  // Ten orders and seven position records: a restore must leave the same room (capacity
  // rejects come at the same events).
  const Recorded r = record(0x5A47,
                    config({.max_instruments = 4, .max_accounts = 6, .max_orders = 10, .max_levels_per_book = 4096,
                            .max_positions = 7},
                           4, 5),
                    3000, 20);
  check_recovery(r, {.max_instruments = 4, .max_accounts = 6, .max_orders = 10, .max_levels_per_book = 4096,
                     .max_positions = 7});
}

TEST(Snapshot, DamagedSnapshotsAreRefused) {
  const Recorded r = record(0x5A48, config({.max_instruments = 4, .max_accounts = 6, .max_orders = 256, .max_levels_per_book = 4096}, 4, 5),
                    200, 0);
  ASSERT_FALSE(r.snapshots.empty());
  const std::vector<std::byte>& good = r.snapshots.back();
  SnapshotInfo info;
  std::string error;
  ASSERT_NE(restore_snapshot(good, info, error), nullptr) << error;

  std::vector<std::byte> bad = good;
  bad[good.size() / 2] ^= std::byte{1};
  EXPECT_EQ(restore_snapshot(bad, info, error), nullptr);
  EXPECT_NE(error.find("checksum"), std::string::npos) << error;

  bad.assign(good.begin(), good.end() - 5);
  EXPECT_EQ(restore_snapshot(bad, info, error), nullptr);
  EXPECT_NE(error.find("checksum"), std::string::npos) << error;

  bad = good;
  bad[0] = std::byte{'X'};
  EXPECT_EQ(restore_snapshot(bad, info, error), nullptr);
  EXPECT_NE(error.find("magic"), std::string::npos) << error;

  bad = good;
  bad[8] = std::byte{2};  // version 2
  EXPECT_EQ(restore_snapshot(bad, info, error), nullptr);
  EXPECT_NE(error.find("version 2"), std::string::npos) << error;
}

TEST(Snapshot, FilesAreReplacedWhole) {
  const Recorded r = record(0x5A49, config({.max_instruments = 4, .max_accounts = 6, .max_orders = 256, .max_levels_per_book = 4096}, 4, 5),
                    300, 0);
  SnapshotInfo info;
  std::string error;
  std::unique_ptr<Engine> e = restore_snapshot(r.snapshots.back(), info, error);
  ASSERT_NE(e, nullptr) << error;
  const std::string path = ::testing::TempDir() + "cascade-snapshot-test-" + std::to_string(::getpid()) + ".snap";
  ASSERT_TRUE(write_snapshot_file(path, *e, info, error)) << error;
  SnapshotInfo back;
  std::unique_ptr<Engine> f = read_snapshot_file(path, back, error);
  ASSERT_NE(f, nullptr) << error;
  EXPECT_EQ(back.input_events, info.input_events);
  std::vector<std::byte> a, b;
  save_snapshot(*e, info, a);
  save_snapshot(*f, back, b);
  EXPECT_EQ(a, b);
  std::remove(path.c_str());
}

}  // namespace

// --- the cascade tool: snapshot after N events, recover with the whole input as the journal -------

#ifndef CASCADE_CLI
#define CASCADE_CLI ""
#endif

TEST(SnapshotCli, RecoverGivesTheRestOfTheOriginalOutput) {
  if (std::string(CASCADE_CLI).empty()) GTEST_SKIP() << "the cascade tool is not built (CASCADE_BUILD_TOOLS=OFF)";
  // The tool runs an engine of default capacities, so the recovered output is compared with
  // the tool's own replay of the whole stream.
  const Recorded r = record(0x5A4A, config({.max_instruments = 4, .max_accounts = 6, .max_orders = 256, .max_levels_per_book = 4096}, 4, 5),
                            3000, 0);
  const std::string dir = ::testing::TempDir() + "cascade-snapshot-cli-" + std::to_string(::getpid());
  const std::string in = dir + ".in", snap = dir + ".snap", out = dir + ".out";
  {
    EventFileWriter w;
    std::string error;
    ASSERT_TRUE(w.open(in, make_file_header(wire::StreamKind::Input, 0, "snapshot_test"), error)) << error;
    for (const auto& ev : r.inputs) w.write_raw(ev);
    ASSERT_TRUE(w.close(error)) << error;
  }
  const auto run_cli = [](const std::string& args) {
    const std::string cmd = std::string("'") + CASCADE_CLI + "' " + args + " 2>&1";
    std::FILE* p = ::popen(cmd.c_str(), "r");
    std::string text;
    char buf[512];
    while (p && std::fgets(buf, sizeof buf, p)) text += buf;
    const int status = p ? ::pclose(p) : -1;
    return std::make_pair(status, text);
  };
  auto [s0, full] = run_cli("replay '" + in + "' -o '" + out + ".full'");
  ASSERT_EQ(s0, 0) << full;
  for (const std::size_t k : {1u, 777u, 2999u}) {
    auto [s1, t1] = run_cli("snapshot '" + in + "' --at " + std::to_string(k) + " -o '" + snap + "'");
    ASSERT_EQ(s1, 0) << t1;
    auto [s2, t2] = run_cli("recover '" + snap + "' '" + in + "' -o '" + out + "'");
    ASSERT_EQ(s2, 0) << t2;
    EXPECT_NE(t2.find("replayed        " + std::to_string(3000 - k) + " events"), std::string::npos) << t2;
    MappedFile whole, rest;
    std::string error;
    ASSERT_TRUE(whole.open(out + ".full", error) && rest.open(out, error)) << error;
    const auto w = whole.bytes().subspan(sizeof(wire::FileHeader));
    const auto t = rest.bytes().subspan(sizeof(wire::FileHeader));
    ASSERT_LE(t.size(), w.size());
    EXPECT_TRUE(std::equal(t.begin(), t.end(), w.end() - static_cast<std::ptrdiff_t>(t.size()))) << "cut " << k;
  }
  for (const std::string& f : {in, snap, out, out + ".full"}) std::remove(f.c_str());
}
