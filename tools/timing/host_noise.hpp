// How much of the CPU the machine takes from a thread that never blocks: a spin loop reads the
// clock back to back and counts the gaps between two readings, each of which is time the
// thread did not run (an interrupt, the hypervisor, another task). Per-event latencies
// measured on the same machine carry these gaps: with R gaps a second above some length L and
// events of mean duration t, about R * t of the events contain one, so a percentile above
// 1 - R * t cannot be below L whatever the engine does (docs/performance.md, "Host noise").
#pragma once

#include <chrono>
#include <cstdint>

namespace cascade::timing {

struct HostNoise {
  double seconds = 0;           // length of the measurement
  double gaps_10us_per_s = 0;   // gaps above 10 microseconds, per second
  double gaps_20us_per_s = 0;
  double gaps_50us_per_s = 0;
  double max_gap_ns = 0;
  double lost_share = 0;        // share of the time in gaps above 1 microsecond
};

inline HostNoise measure_host_noise(double seconds) noexcept {
  using Clock = std::chrono::steady_clock;
  HostNoise n;
  if (seconds <= 0) return n;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::uint64_t over10 = 0, over20 = 0, over50 = 0;
  double lost = 0, max_gap = 0;
  auto prev = start;
  for (auto now = start; now < end; prev = now) {
    now = Clock::now();
    const double gap = static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(now - prev).count());
    if (gap < 1'000) continue;
    lost += gap;
    max_gap = gap > max_gap ? gap : max_gap;
    over10 += gap > 10'000;
    over20 += gap > 20'000;
    over50 += gap > 50'000;
  }
  const double s = std::chrono::duration<double>(prev - start).count();
  n.seconds = s;
  n.gaps_10us_per_s = static_cast<double>(over10) / s;
  n.gaps_20us_per_s = static_cast<double>(over20) / s;
  n.gaps_50us_per_s = static_cast<double>(over50) / s;
  n.max_gap_ns = max_gap;
  n.lost_share = lost / (s * 1e9);
  return n;
}

}  // namespace cascade::timing
