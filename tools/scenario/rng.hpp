// The scenario generator's random numbers: splitmix64, so a seed gives the same stream on every
// platform and standard library (std:: distributions are implementation-defined).
#pragma once

#include <cmath>
#include <cstdint>

namespace cascade::scenario {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) noexcept : s_(seed) {}

  std::uint64_t next() noexcept {
    std::uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1), 53 bits.
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) noexcept { return lo + (hi - lo) * uniform(); }
  // Uniform in [0, n).
  std::uint64_t below(std::uint64_t n) noexcept { return n ? next() % n : 0; }
  bool chance(double p) noexcept { return uniform() < p; }
  // Log-uniform in [lo, hi]: as many small accounts per decade as large ones.
  double log_uniform(double lo, double hi) noexcept { return lo * std::exp(uniform() * std::log(hi / lo)); }
  // Standard normal (Box-Muller, one of the pair).
  double normal() noexcept {
    const double u = 1.0 - uniform();
    return std::sqrt(-2.0 * std::log(u)) * std::cos(6.283185307179586 * uniform());
  }
  // A derived stream: independent of how much the parent has drawn.
  Rng fork(std::uint64_t salt) const noexcept { return Rng(s_ ^ (salt * 0xD1B54A32D192ED03ull)); }

 private:
  std::uint64_t s_;
};

}  // namespace cascade::scenario
