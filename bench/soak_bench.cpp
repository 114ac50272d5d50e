// The soak run of docs/robustness.md ("Load"): crash scenarios replayed back to back through
// the threaded pipeline for minutes, checking that nothing drifts and nothing is lost.
//
// Several scenarios (crash days with different seeds, one whose backstop runs out so ADL
// runs, a squeeze) are generated once in memory and replayed once single-threaded for their
// reference output digest and event count. Then, round after round until the time is up,
// each is replayed through a fresh Engine inside a fresh Pipeline (a venue restarts its engine
// per session), and every replay must reproduce the reference digest exactly. Per round:
// end-to-end events/s, the engine thread's events/s, RSS (current, from /proc/self/statm)
// with the engines alive and after they are gone, and queue stalls. At the end a verdict:
// throughput drift (median of the last rounds over the first ones), RSS drift after the
// first round, events lost. Exit status 1 on a digest mismatch, a lost event or a drift
// beyond the tolerances.
//
// A program rather than a Google Benchmark: the figure of interest is the trend over minutes
// of rounds, not one timed loop. Not part of the test suite (it runs for minutes); --smoke
// runs one short round of small scenarios. docs/performance.md, "Soak".
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include "cascade/digest.hpp"
#include "cascade/engine.hpp"
#include "cascade/event_buffer.hpp"
#include "cascade/event_reader.hpp"
#include "cascade/pipeline.hpp"
#include "scenario/scenario.hpp"

namespace {

using namespace cascade;
using Clock = std::chrono::steady_clock;

constexpr const char* kUsage =
    "usage: soak_bench [options]\n"
    "\n"
    "Replays crash scenarios back to back through the threaded pipeline (a fresh engine per\n"
    "replay) and checks each output digest against the single-threaded replay.\n"
    "\n"
    "  --minutes X       how long to run rounds (default 3; env CASCADE_SOAK_MINUTES)\n"
    "  --rounds N        stop after N rounds instead (whichever comes first with --minutes)\n"
    "  --accounts N      traders per scenario (default 50000)\n"
    "  --day-minutes N   length of each scenario's day (default 40)\n"
    "  --batch N         input events per submit() (default 64)\n"
    "  --spin            spinning waits instead of blocking ones\n"
    "  --max-slowdown P  fail if the last rounds' median events/s is more than P% below the\n"
    "                    first rounds' (default 25)\n"
    "  --max-rss-growth M  fail if RSS after a round grows by more than M MiB over the first\n"
    "                    round's (default 32)\n"
    "  --smoke           one round of small scenarios (seconds)\n";

struct Options {
  double minutes = 3;
  std::uint64_t rounds = 0;  // 0: until the time is up
  std::uint32_t accounts = 50'000;
  std::int64_t day_minutes = 40;
  std::size_t batch = 64;
  bool spin = false;
  double max_slowdown = 25;
  double max_rss_growth_mib = 32;
};

// Current resident set, bytes (not the peak: memory returned to the system counts).
std::uint64_t rss_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long long size = 0, resident = 0;
  const int n = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  return n == 2 ? resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)) : 0;
}

std::uint64_t peak_rss_bytes() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<std::uint64_t>(u.ru_maxrss) * 1024;
}

double mib(std::uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

struct Scenario {
  std::string name;
  std::vector<std::uint64_t> words;  // the input events, 8-byte aligned
  std::size_t bytes = 0;
  std::uint64_t events = 0;
  std::vector<std::size_t> batch_ends;  // offsets where each submit() ends
  // The single-threaded replay's output.
  std::uint64_t digest = 0;
  std::uint64_t out_events = 0;
  std::uint64_t liquidations = 0;
  std::uint64_t deleverages = 0;
  double single_s = 0;

  std::span<const std::byte> input() const { return {reinterpret_cast<const std::byte*>(words.data()), bytes}; }
};

bool make_scenario(Scenario& s, const std::string& name, scenario::Kind kind, std::uint64_t seed, const Options& o,
                   double backstop_usd_per_trader, std::string& error) {
  scenario::Params p = scenario::preset(kind);
  p.seed = seed;
  p.accounts = o.accounts;
  p.shape.duration_ms = o.day_minutes * 60'000;
  // The calm, the move and the rebound scaled into the day: 30%, 30%, 20% (at most 12 minutes).
  p.shape.drop_start_ms = o.day_minutes * 60'000 * 3 / 10;
  p.shape.drop_ms = o.day_minutes * 60'000 * 3 / 10;
  p.shape.rebound_ms = std::min<std::int64_t>(12 * 60'000, o.day_minutes * 60'000 / 5);
  if (backstop_usd_per_trader > 0) p.backstop_usd = backstop_usd_per_trader * o.accounts;
  EventBuffer all(64u << 20);
  scenario::Summary summary;
  if (!scenario::generate(p, [&](std::span<const std::byte> b) { all.append_raw(b.data(), b.size()); }, summary, error))
    return false;
  if (summary.rejects) {
    error = name + ": the generator's engine rejected " + summary.first_reject;
    return false;
  }
  s.name = name;
  s.bytes = all.size();
  s.words.resize((s.bytes + 7) / 8);
  std::memcpy(s.words.data(), all.bytes().data(), s.bytes);
  return true;
}

// Reference run: the same events through one Engine on this thread; also cuts the batches.
void single_threaded(Scenario& s, std::size_t batch) {
  const auto t0 = Clock::now();
  Engine engine;
  EventBuffer out(4u << 20);
  Fnv1a64 digest;
  EventReader r(s.input());
  std::uint64_t n = 0, out_events = 0;
  for (EventView ev; r.next(ev);) {
    out.clear();
    engine.process(ev, out);
    digest.update(out.bytes());
    EventReader o(out.bytes());
    for (EventView e; o.next(e);) ++out_events;
    if (++n % batch == 0) s.batch_ends.push_back(r.offset());
  }
  if (s.batch_ends.empty() || s.batch_ends.back() != s.bytes) s.batch_ends.push_back(s.bytes);
  s.events = n;
  s.digest = digest.value();
  s.out_events = out_events;
  s.liquidations = engine.liquidation_totals().liquidations;
  s.deleverages = engine.liquidation_totals().deleverages;
  s.single_s = std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Replay {
  PipelineStats stats;
  std::uint64_t digest = 0;
  std::uint64_t rss_loaded = 0;  // with the engine alive, after the last event
  bool ok = true;
  std::string error;
};

Replay threaded(const Scenario& s, const Options& o) {
  Replay r;
  PipelineConfig pc;
  pc.wait = o.spin ? WaitMode::Spin : WaitMode::Block;
  pc.latency_sample_every = 64;
  Fnv1a64 digest;
  {
    Pipeline p(Engine(), pc, [&digest](std::span<const std::byte> b) { digest.update(b); });
    if (!p.start(r.error)) {
      r.ok = false;
      return r;
    }
    const std::span<const std::byte> in = s.input();
    std::size_t from = 0;
    for (const std::size_t e : s.batch_ends) {
      if (!p.submit(in.subspan(from, e - from), r.error)) {
        r.ok = false;
        break;
      }
      from = e;
    }
    r.stats = p.finish();
    r.rss_loaded = rss_bytes();
  }  // the engine's pools and the queues are unmapped here
  r.digest = digest.value();
  return r;
}

struct Round {
  double wall_s = 0;
  double events_per_s = 0;         // end to end, over the round's pipeline wall time
  double engine_events_per_s = 0;  // over the engine thread's busy time
  std::uint64_t rss_loaded_max = 0, rss_after = 0;
  std::uint64_t in_stalls = 0, out_stalls = 0;
  double in_stall_ms = 0, out_stall_ms = 0;
  std::uint64_t p99_ns = 0;
  std::uint64_t lost = 0, mismatches = 0;
};

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// -1: run; otherwise the exit status (0 after --help, 2 for a bad option).
int parse(int argc, char** argv, Options& o) {
  if (const char* m = std::getenv("CASCADE_SOAK_MINUTES"); m && *m) o.minutes = std::atof(m);
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto next = [&](double lo, double hi, double& v) {
      if (i + 1 >= argc) return false;
      char* end = nullptr;
      v = std::strtod(argv[++i], &end);
      return *end == '\0' && v >= lo && v <= hi;
    };
    double v = 0;
    if (a == "--minutes" && next(0.01, 7 * 24 * 60, v)) {
      o.minutes = v;
    } else if (a == "--rounds" && next(1, 1e9, v)) {
      o.rounds = static_cast<std::uint64_t>(v);
    } else if (a == "--accounts" && next(100, 1'000'000, v)) {
      o.accounts = static_cast<std::uint32_t>(v);
    } else if (a == "--day-minutes" && next(10, 24 * 60, v)) {
      o.day_minutes = static_cast<std::int64_t>(v);
    } else if (a == "--batch" && next(1, 1 << 20, v)) {
      o.batch = static_cast<std::size_t>(v);
    } else if (a == "--max-slowdown" && next(0, 100, v)) {
      o.max_slowdown = v;
    } else if (a == "--max-rss-growth" && next(0, 1 << 20, v)) {
      o.max_rss_growth_mib = v;
    } else if (a == "--spin") {
      o.spin = true;
    } else if (a == "--smoke") {
      o.rounds = 1;
      o.accounts = 2'000;
      o.day_minutes = 10;
    } else if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else {
      std::fprintf(stderr, "soak_bench: bad option or value: %s\n%s", a.c_str(), kUsage);
      return 2;
    }
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (const int status = parse(argc, argv, o); status >= 0) return status;

  std::printf("soak: %u traders per scenario, %lld-minute days, batches of %zu events, %s waits, %s\n", o.accounts,
              static_cast<long long>(o.day_minutes), o.batch, o.spin ? "spinning" : "blocking",
              o.rounds ? ("at most " + std::to_string(o.rounds) + " round(s)").c_str()
                       : ("for " + std::to_string(o.minutes) + " minutes").c_str());
  std::fflush(stdout);

  // Crash days of different seeds, one with a backstop small enough to reach ADL (docs/
  // scenarios.md: 50 USD per trader), and a squeeze.
  struct Spec {
    const char* name;
    scenario::Kind kind;
    std::uint64_t seed;
    double backstop_per_trader;
  };
  const Spec specs[] = {
      {"crash seed 1", scenario::Kind::Crash, 1, 0},
      {"crash seed 2, small backstop", scenario::Kind::Crash, 2, 50},
      {"squeeze seed 3", scenario::Kind::Squeeze, 3, 0},
  };
  std::vector<Scenario> scenarios(std::size(specs));
  std::uint64_t round_events = 0;
  const auto g0 = Clock::now();
  for (std::size_t i = 0; i < scenarios.size(); ++i) {
    std::string error;
    if (!make_scenario(scenarios[i], specs[i].name, specs[i].kind, specs[i].seed, o, specs[i].backstop_per_trader, error)) {
      std::fprintf(stderr, "soak_bench: %s\n", error.c_str());
      return 2;
    }
    single_threaded(scenarios[i], o.batch);
    const Scenario& s = scenarios[i];
    round_events += s.events;
    std::printf("scenario %-30s %9llu events %7.1f MiB -> %9llu output events, %6llu liquidations (%llu ADL), digest %s (single-threaded %.2f s)\n",
                s.name.c_str(), static_cast<unsigned long long>(s.events), mib(s.bytes),
                static_cast<unsigned long long>(s.out_events), static_cast<unsigned long long>(s.liquidations),
                static_cast<unsigned long long>(s.deleverages), digest_hex(s.digest).c_str(), s.single_s);
    std::fflush(stdout);
  }
  std::printf("generated and replayed once in %.1f s; RSS %.1f MiB (peak %.1f MiB)\n",
              std::chrono::duration<double>(Clock::now() - g0).count(), mib(rss_bytes()), mib(peak_rss_bytes()));
  std::printf("\n%5s %8s %12s %12s %11s %11s %9s %9s %12s %7s %9s\n", "round", "wall_s", "events/s", "engine_ev/s",
              "rss_live", "rss_after", "in_stall", "out_stall", "stall_ms", "p99_ms", "digests");
  std::fflush(stdout);

  const std::uint64_t rss_start = rss_bytes();
  std::vector<Round> rounds;
  const auto t0 = Clock::now();
  const auto deadline = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.minutes * 60));
  bool failed = false;
  while ((o.rounds == 0 || rounds.size() < o.rounds) && (rounds.empty() || Clock::now() < deadline)) {
    Round r;
    std::uint64_t wall_ns = 0, busy_ns = 0;
    const auto r0 = Clock::now();
    for (const Scenario& s : scenarios) {
      const Replay x = threaded(s, o);
      if (!x.ok) {
        std::fprintf(stderr, "soak_bench: round %zu, %s: %s\n", rounds.size() + 1, s.name.c_str(), x.error.c_str());
        return 1;
      }
      wall_ns += x.stats.wall_ns;
      busy_ns += x.stats.engine_busy_ns;
      r.rss_loaded_max = std::max(r.rss_loaded_max, x.rss_loaded);
      r.in_stalls += x.stats.input.stalls;
      r.out_stalls += x.stats.output.stalls;
      r.in_stall_ms += static_cast<double>(x.stats.input.stall_ns) / 1e6;
      r.out_stall_ms += static_cast<double>(x.stats.output.stall_ns) / 1e6;
      r.p99_ns = std::max(r.p99_ns, x.stats.latency.p99);
      if (x.stats.events_in != s.events || x.stats.events_out != s.out_events) {
        r.lost += (s.events > x.stats.events_in ? s.events - x.stats.events_in : 0) +
                  (s.out_events > x.stats.events_out ? s.out_events - x.stats.events_out : 0);
        std::fprintf(stderr, "soak_bench: round %zu, %s: %llu/%llu input and %llu/%llu output events\n", rounds.size() + 1,
                     s.name.c_str(), static_cast<unsigned long long>(x.stats.events_in),
                     static_cast<unsigned long long>(s.events), static_cast<unsigned long long>(x.stats.events_out),
                     static_cast<unsigned long long>(s.out_events));
      }
      if (x.digest != s.digest) {
        ++r.mismatches;
        std::fprintf(stderr, "soak_bench: round %zu, %s: output digest %s, single-threaded %s\n", rounds.size() + 1,
                     s.name.c_str(), digest_hex(x.digest).c_str(), digest_hex(s.digest).c_str());
      }
    }
    r.wall_s = std::chrono::duration<double>(Clock::now() - r0).count();
    r.events_per_s = static_cast<double>(round_events) * 1e9 / static_cast<double>(wall_ns);
    r.engine_events_per_s = static_cast<double>(round_events) * 1e9 / static_cast<double>(busy_ns);
    r.rss_after = rss_bytes();
    rounds.push_back(r);
    failed = failed || r.lost || r.mismatches;
    std::printf("%5zu %8.2f %12.0f %12.0f %9.1fMi %9.1fMi %9llu %9llu %6.0f/%-5.0f %7.1f %9s\n", rounds.size(), r.wall_s,
                r.events_per_s, r.engine_events_per_s, mib(r.rss_loaded_max), mib(r.rss_after),
                static_cast<unsigned long long>(r.in_stalls), static_cast<unsigned long long>(r.out_stalls),
                r.in_stall_ms, r.out_stall_ms, static_cast<double>(r.p99_ns) / 1e6,
                r.mismatches || r.lost ? "MISMATCH" : "same");
    std::fflush(stdout);
  }

  // Verdict. Throughput: median of the first third of the rounds against the last third.
  // Memory: RSS after each round (engines gone) against the first round's.
  const std::size_t n = rounds.size();
  const std::size_t k = std::max<std::size_t>(1, n / 3);
  std::vector<double> first, last;
  for (std::size_t i = 0; i < k; ++i) first.push_back(rounds[i].events_per_s);
  for (std::size_t i = n - k; i < n; ++i) last.push_back(rounds[i].events_per_s);
  const double ratio = median(last) / median(first);
  std::uint64_t lost = 0, mismatches = 0, rss_max_after = 0, rss_min_after = UINT64_MAX;
  for (const Round& r : rounds) {
    lost += r.lost;
    mismatches += r.mismatches;
    rss_max_after = std::max(rss_max_after, r.rss_after);
    rss_min_after = std::min(rss_min_after, r.rss_after);
  }
  // Least-squares slope of RSS after each round from the second on, per round.
  double slope = 0;
  if (n >= 3) {
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    const double m = static_cast<double>(n - 1);
    for (std::size_t i = 1; i < n; ++i) {
      const double x = static_cast<double>(i), y = mib(rounds[i].rss_after);
      sx += x, sy += y, sxx += x * x, sxy += x * y;
    }
    slope = (m * sxy - sx * sy) / (m * sxx - sx * sx);
  }
  const double growth = mib(rss_max_after) - mib(rounds.front().rss_after);
  const bool slow = n >= 3 && ratio < 1 - o.max_slowdown / 100;
  const bool grows = growth > o.max_rss_growth_mib;
  std::printf("\nverdict after %zu rounds, %.1f minutes, %llu replays of %llu input events:\n", n,
              std::chrono::duration<double>(Clock::now() - t0).count() / 60,
              static_cast<unsigned long long>(n * scenarios.size()),
              static_cast<unsigned long long>(n * round_events));
  std::printf("  throughput   median %.0f events/s over the first %zu round(s), %.0f over the last %zu: ratio %.3f%s\n",
              median(first), k, median(last), k, ratio, n < 3 ? " (too few rounds to judge)" : slow ? " DRIFT" : " flat");
  std::printf("  memory       RSS before the rounds %.1f MiB; after each round %.1f .. %.1f MiB (first %.1f, last %.1f); "
              "growth %.1f MiB, %+.2f MiB/round%s\n",
              mib(rss_start), mib(rss_min_after), mib(rss_max_after), mib(rounds.front().rss_after),
              mib(rounds.back().rss_after), growth, slope, grows ? " GROWS" : " flat");
  std::printf("  peak RSS     %.1f MiB (getrusage)\n", mib(peak_rss_bytes()));
  std::printf("  events lost  %llu; digest mismatches %llu\n", static_cast<unsigned long long>(lost),
              static_cast<unsigned long long>(mismatches));
  const bool ok = !failed && !slow && !grows;
  std::printf("  %s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
