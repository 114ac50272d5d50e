// Recovery on a crash day (docs/snapshots.md, "How it is tested"): a small crash scenario is
// run once; then at cut points inside its liquidation burst (right after events that started
// a cascade, around the deepest one, the first backstop takeover and deleverage, while the
// backstop holds positions, while an instrument is paused by its circuit breaker, and a
// spread over the burst) a snapshot is restored into a fresh engine, which must snapshot to
// the same bytes and continue with the rest of the day's output byte for byte. The cascade
// tool does the same from files: gen, snapshot --at N inside the burst, recover.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cascade/engine.hpp"
#include "cascade/event_buffer.hpp"
#include "cascade/event_file.hpp"
#include "cascade/event_reader.hpp"
#include "cascade/snapshot.hpp"
#include "scenario/scenario.hpp"

namespace {

using namespace cascade;
using namespace cascade::scenario;

constexpr AccountId kBackstop = 1;  // the generator's vault (docs/scenarios.md, "Accounts")

// 1,500 traders over 6 minutes: 1 of calm, a 3-minute drop, 2 of rebound. The small
// vault runs out on the thin books, so the chain goes book, backstop, deleveraging.
Params crash_day() {
  Params p = preset(Kind::Crash);
  p.accounts = 1'500;
  p.shape.duration_ms = 6 * 60'000;
  p.shape.drop_start_ms = 1 * 60'000;
  p.shape.drop_ms = 3 * 60'000;
  p.shape.rebound_ms = 2 * 60'000;
  p.tick_ms = 500;
  p.mm_levels = 3;
  p.taker_rate = 10;
  p.backstop_usd = 40'000;
  return p;
}

// What one input event's output held.
struct EventStats {
  std::uint32_t liquidations = 0;  // Liquidation(Triggered)
  std::uint32_t max_depth = 0;
  std::uint32_t backstop = 0, deleveraged = 0, trips = 0, rejects = 0;
  bool paused_after = false;    // some instrument paused after the event
  bool reopening_after = false; // some instrument resumed and not traded since
  bool backstop_holds = false;  // the vault holds a position after the event
};

struct Day {
  EventBuffer input{1 << 20};
  std::vector<std::size_t> in_off;   // input event k is [in_off[k], in_off[k+1])
  std::vector<std::byte> output;     // the original run's output, event after event
  std::vector<std::size_t> out_off;  // the output of input k is [out_off[k], out_off[k+1])
  std::vector<EventStats> stats;
  EngineConfig config;
  Summary summary;
  std::size_t events() const { return in_off.size() - 1; }
  EventView event(std::size_t k) const { return EventView(input.bytes().data() + in_off[k]); }
};

// Generates the day in memory and runs it once, recording each input event's output.
void run_day(Day& d, const Params& p) {
  std::string error;
  ASSERT_TRUE(generate(p, [&](std::span<const std::byte> b) { d.input.append_raw(b.data(), b.size()); }, d.summary, error))
      << error;
  ASSERT_EQ(d.summary.rejects, 0u) << d.summary.first_reject;
  // The generator's ids are dense: accounts below total_accounts, a few instruments.
  d.config = {.max_instruments = 16, .max_accounts = d.summary.total_accounts + 1, .max_orders = 1u << 16,
              .max_positions = 1u << 16};
  {
    std::byte* base = const_cast<std::byte*>(d.input.bytes().data());
    EventReader rd(d.input.bytes());
    for (EventView ev; rd.next(ev);) {
      const std::size_t off = static_cast<std::size_t>(ev.data() - base);
      d.in_off.push_back(off);
      ASSERT_EQ(ev.header().seq, d.in_off.size()) << "the generator numbers its events from 1";
    }
    ASSERT_TRUE(rd.ok());
    d.in_off.push_back(d.input.size());
  }
  Engine engine(d.config);
  EventBuffer out(1 << 20);
  std::map<InstrumentId, Qty> vault;
  std::set<InstrumentId> paused, reopening;
  d.out_off.push_back(0);
  for (std::size_t k = 0; k < d.events(); ++k) {
    out.clear();
    engine.process(d.event(k), out);
    d.output.insert(d.output.end(), out.bytes().begin(), out.bytes().end());
    d.out_off.push_back(d.output.size());
    EventStats s;
    EventReader rd(out.bytes());
    for (EventView o; rd.next(o);) {
      switch (o.type()) {
        case wire::MsgType::Liquidation: {
          const auto& l = o.as<wire::Liquidation>();
          s.max_depth = std::max<std::uint32_t>(s.max_depth, l.depth);
          s.liquidations += l.stage == wire::LiquidationStage::Triggered;
          s.backstop += l.stage == wire::LiquidationStage::Backstop;
          s.deleveraged += l.stage == wire::LiquidationStage::Deleveraged;
          break;
        }
        case wire::MsgType::PositionUpdate: {
          const auto& u = o.as<wire::PositionUpdate>();
          if (u.account == kBackstop) vault[u.instrument] = u.size;
          break;
        }
        case wire::MsgType::CircuitBreaker: {
          const auto& c = o.as<wire::CircuitBreaker>();
          if (c.paused) {
            paused.insert(c.instrument);
            ++s.trips;
          } else {
            paused.erase(c.instrument);
            reopening.insert(c.instrument);
          }
          break;
        }
        case wire::MsgType::Fill:
          reopening.erase(o.as<wire::Fill>().instrument);
          break;
        case wire::MsgType::Rejected:
          ++s.rejects;
          break;
        default:
          break;
      }
    }
    s.paused_after = !paused.empty();
    s.reopening_after = !reopening.empty();
    s.backstop_holds = std::any_of(vault.begin(), vault.end(), [](const auto& v) { return v.second != 0; });
    d.stats.push_back(s);
  }
}

// Cut k: the snapshot is taken after the first k input events.
std::vector<std::size_t> cut_points(const Day& d) {
  std::set<std::size_t> cuts;
  const std::size_t n = d.events();
  std::size_t first = n, last = 0, deepest = 0, busiest = 0;
  bool backstop = false, deleverage = false, paused = false, reopening = false, holds = false;
  std::vector<std::size_t> starts, in_pause, holding;
  for (std::size_t k = 0; k < n; ++k) {
    const EventStats& s = d.stats[k];
    if (s.liquidations > 0) {
      first = std::min(first, k);
      last = k;
      // Right after an event that started a cascade (the one before it liquidated nobody).
      if (k == 0 || d.stats[k - 1].liquidations == 0) starts.push_back(k + 1);
      if (s.max_depth > d.stats[deepest].max_depth) deepest = k;
      if (s.liquidations > d.stats[busiest].liquidations) busiest = k;
    }
    if (s.backstop > 0 && !std::exchange(backstop, true)) cuts.insert(k + 1);
    if (s.deleveraged > 0 && !std::exchange(deleverage, true)) cuts.insert(k + 1);
    if (s.trips > 0 && !std::exchange(paused, true)) cuts.insert(k + 1);
    if (s.reopening_after && !std::exchange(reopening, true)) cuts.insert(k + 1);
    if (s.paused_after) in_pause.push_back(k + 1);
    if (s.backstop_holds) holding.push_back(k + 1);
    if (s.backstop_holds && !std::exchange(holds, true)) cuts.insert(k + 1);
  }
  if (first == n) return {};
  for (const std::size_t k : {deepest, busiest}) {
    cuts.insert(k);  // just before it: its cascade starts from the restored state
    cuts.insert(k + 1);
  }
  // The first two cascades, and three spread over the others.
  for (std::size_t i = 0; i < starts.size() && i < 2; ++i) cuts.insert(starts[i]);
  for (std::size_t i = 1; i < 4 && starts.size() > 2; ++i) cuts.insert(starts[2 + (starts.size() - 2) * i / 4]);
  for (const std::vector<std::size_t>* v : {&in_pause, &holding})
    if (!v->empty()) cuts.insert((*v)[v->size() / 2]);
  for (std::size_t i = 1; i < 6; ++i) cuts.insert(first + (last - first) * i / 6);  // five over the burst
  cuts.erase(n);
  return {cuts.begin(), cuts.end()};
}

// The first input event at or after `from` whose output differs, or the number of events.
std::size_t first_difference(const Day& d, std::size_t from, std::span<const std::byte> got) {
  for (std::size_t k = from; k < d.events(); ++k) {
    const std::size_t a = d.out_off[k] - d.out_off[from], b = d.out_off[k + 1] - d.out_off[from];
    if (b > got.size() || !std::equal(got.begin() + a, got.begin() + b, d.output.begin() + d.out_off[k])) return k;
  }
  return d.events();
}

void check_recovery(const Day& d, const std::vector<std::size_t>& cuts) {
  Engine engine(d.config);
  EventBuffer out(1 << 20);
  std::size_t done = 0;
  for (const std::size_t k : cuts) {
    for (; done < k; ++done) {
      out.clear();
      engine.process(d.event(done), out);
    }
    std::vector<std::byte> snap;
    save_snapshot(engine, SnapshotInfo{k, k}, snap);
    SnapshotInfo info;
    std::string error;
    const std::unique_ptr<Engine> restored = restore_snapshot(snap, info, error);
    ASSERT_NE(restored, nullptr) << "cut " << k << ": " << error;
    ASSERT_EQ(info.input_events, k);
    std::vector<std::byte> again;
    save_snapshot(*restored, info, again);
    ASSERT_EQ(again, snap) << "cut " << k << ": the restored engine snapshots differently";
    out.clear();
    for (std::size_t i = k; i < d.events(); ++i) restored->process(d.event(i), out);
    const std::span<const std::byte> want(d.output.data() + d.out_off[k], d.output.size() - d.out_off[k]);
    const bool same = out.size() == want.size() && std::equal(want.begin(), want.end(), out.bytes().begin());
    ASSERT_TRUE(same) << "cut " << k << " (of " << d.events() << "): output of input event "
                      << first_difference(d, k, out.bytes()) << " differs after the restore";
  }
}

void describe(const Day& d, const std::vector<std::size_t>& cuts) {
  std::uint64_t liq = 0, backstop = 0, adl = 0, trips = 0;
  std::uint32_t depth = 0;
  for (const EventStats& s : d.stats) {
    liq += s.liquidations;
    backstop += s.backstop;
    adl += s.deleveraged;
    trips += s.trips;
    depth = std::max(depth, s.max_depth);
  }
  std::string where;
  for (const std::size_t k : cuts) where += " " + std::to_string(k);
  std::printf("%zu events, %llu liquidations, %llu backstop, %llu deleveraged, %llu trips, max depth %u; cuts:%s\n",
              d.events(), static_cast<unsigned long long>(liq), static_cast<unsigned long long>(backstop),
              static_cast<unsigned long long>(adl), static_cast<unsigned long long>(trips), depth, where.c_str());
}

TEST(SnapshotCrash, RecoveryInsideTheCascadeGivesTheOriginalOutput) {
  Day d;
  run_day(d, crash_day());
  if (HasFatalFailure()) return;
  const std::vector<std::size_t> cuts = cut_points(d);
  describe(d, cuts);
  std::uint64_t backstop = 0, adl = 0, rejects = 0;
  for (const EventStats& s : d.stats) {
    backstop += s.backstop;
    adl += s.deleveraged;
    rejects += s.rejects;
  }
  EXPECT_EQ(rejects, 0u) << "the test's capacities hold the day";
  EXPECT_GT(d.summary.liquidations, 100u);
  EXPECT_GT(backstop, 0u);
  EXPECT_GT(adl, 0u);
  std::uint64_t holding_cuts = 0;
  for (const std::size_t k : cuts) holding_cuts += k > 0 && d.stats[k - 1].backstop_holds;
  EXPECT_GT(holding_cuts, 0u) << "a cut while the backstop holds positions";
  ASSERT_GE(cuts.size(), 10u);
  check_recovery(d, cuts);
}

TEST(SnapshotCrash, RecoveryWhileCircuitBreakersPause) {
  // The same day with a breaker on every instrument: 4% in a minute pauses taker flow for
  // 5 s, and liquidations during a pause go straight to the backstop and deleveraging.
  Params p = crash_day();
  p.circuit_band = 0.04;
  p.circuit_window_ms = 60'000;
  p.circuit_pause_ms = 5'000;
  Day d;
  run_day(d, p);
  if (HasFatalFailure()) return;
  const std::vector<std::size_t> cuts = cut_points(d);
  describe(d, cuts);
  std::uint64_t trips = 0, paused_cuts = 0, reopening_cuts = 0;
  std::uint64_t adl = 0;
  for (const EventStats& s : d.stats) {
    trips += s.trips;
    adl += s.deleveraged;
  }
  EXPECT_GT(adl, 0u);
  for (const std::size_t k : cuts) {
    paused_cuts += k > 0 && d.stats[k - 1].paused_after;
    reopening_cuts += k > 0 && d.stats[k - 1].reopening_after;
  }
  EXPECT_GT(trips, 0u);
  EXPECT_GT(paused_cuts, 0u) << "a cut while an instrument is paused";
  EXPECT_GT(reopening_cuts, 0u) << "a cut after a resume, before the reopening trade";
  ASSERT_GE(cuts.size(), 10u);
  check_recovery(d, cuts);
}

}  // namespace

// --- the cascade tool: gen a crash day, snapshot --at N inside its burst, recover -----------------

#ifndef CASCADE_CLI
#define CASCADE_CLI ""
#endif

TEST(SnapshotCrashCli, RecoverInsideTheBurstGivesTheTailOfTheReplay) {
  if (std::string(CASCADE_CLI).empty()) GTEST_SKIP() << "the cascade tool is not built (CASCADE_BUILD_TOOLS=OFF)";
  char tmpl[] = "/tmp/cascade-snapshot-crash-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const auto run = [&](const std::string& args) {
    const std::string cmd = "cd '" + dir + "' && '" + CASCADE_CLI + "' " + args + " > log 2>&1";
    const int status = std::system(cmd.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  // Five minutes of the large cap: flat for two, down 13% in the next two, half back in the last.
  {
    std::FILE* f = std::fopen((dir + "/path.csv").c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("1760126400,116605\n1760126460,116700\n1760126520,116650\n1760126580,112000\n"
               "1760126625,104000\n1760126640,101500\n1760126670,106000\n1760126700,108000\n", f);
    std::fclose(f);
  }
  ASSERT_EQ(run("gen crash --accounts 1000 --index-csv path.csv --mm-levels 3 --taker-rate 5 --backstop-usd 20000 "
                "-o day.cev"), 0);
  ASSERT_EQ(run("replay day.cev -o full.cev"), 0);
  MappedFile day, full;
  std::string error;
  ASSERT_TRUE(day.open(dir + "/day.cev", error) && full.open(dir + "/full.cev", error)) << error;
  std::uint64_t events = 0;
  EventReader in(day.bytes().subspan(sizeof(wire::FileHeader)));
  for (EventView ev; in.next(ev);) ASSERT_EQ(ev.header().seq, ++events);
  const std::span<const std::byte> all = full.bytes().subspan(sizeof(wire::FileHeader));

  // Input seqs run from 1, so the cut after the input event with seq S is --at S.
  std::map<SeqNo, std::uint32_t> per_origin;  // liquidations per input event that started a cascade
  EventReader rd(all);
  for (EventView o; rd.next(o);)
    if (o.type() == wire::MsgType::Liquidation && o.as<wire::Liquidation>().stage == wire::LiquidationStage::Triggered)
      ++per_origin[o.as<wire::Liquidation>().cascade_origin];
  ASSERT_TRUE(rd.ok());
  ASSERT_GT(per_origin.size(), 2u) << "the day should liquidate";
  const auto busiest = std::max_element(per_origin.begin(), per_origin.end(),
                                        [](const auto& a, const auto& b) { return a.second < b.second; });
  for (const SeqNo at : {per_origin.begin()->first, busiest->first - 1, busiest->first}) {
    SCOPED_TRACE("--at " + std::to_string(at));
    ASSERT_EQ(run("snapshot day.cev --at " + std::to_string(at) + " -o day.snap"), 0);
    ASSERT_EQ(run("recover day.snap day.cev -o rest.cev"), 0);
    std::string log;
    {
      std::FILE* f = std::fopen((dir + "/log").c_str(), "r");
      ASSERT_NE(f, nullptr);
      char buf[256];
      while (std::fgets(buf, sizeof buf, f)) log += buf;
      std::fclose(f);
    }
    EXPECT_NE(log.find("replayed        " + std::to_string(events - at) + " events"), std::string::npos) << log;
    MappedFile rest;
    ASSERT_TRUE(rest.open(dir + "/rest.cev", error)) << error;
    const std::span<const std::byte> tail = rest.bytes().subspan(sizeof(wire::FileHeader));
    ASSERT_LT(tail.size(), all.size());
    EXPECT_TRUE(std::equal(tail.begin(), tail.end(), all.end() - static_cast<std::ptrdiff_t>(tail.size())));
  }
  std::system(("rm -rf '" + dir + "'").c_str());
}
