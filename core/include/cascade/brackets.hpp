// Leverage brackets (tiered margin) of one instrument: which tier a notional falls in, and
// its initial and maintenance margin (docs/margin.md, "Margin requirements").
#pragma once

#include <cstdint>
#include <limits>

#include "cascade/fixed_point.hpp"
#include "cascade/types.hpp"
#include "cascade/wire.hpp"

namespace cascade {

class Brackets {
 public:
  // Checks the tiers of a definition: strictly increasing max_notional > 0,
  // 0 < mmr <= imr <= 1e8, both non-decreasing, maint_amount_0 = 0 and
  // maint_amount_k = maint_amount_{k-1} + floor(max_notional_{k-1} * (mmr_k - mmr_{k-1}) / 1e8),
  // unused entries zero. tier_count 0 is valid: no margin requirements.
  static bool valid(const wire::InstrumentDefinition& d) noexcept {
    if (d.tier_count > wire::kMaxTiers) return false;
    for (int k = 0; k < d.tier_count; ++k) {
      const wire::MarginTier& t = d.tiers[k];
      if (t.max_notional <= 0 || t.mmr <= 0 || t.mmr > t.imr || t.imr > kRateOne) return false;
      if (k == 0) {
        if (t.maint_amount != 0) return false;
        continue;
      }
      const wire::MarginTier& p = d.tiers[k - 1];
      if (t.max_notional <= p.max_notional || t.imr < p.imr || t.mmr < p.mmr) return false;
      const fx::i128 step = fx::floor_div(static_cast<fx::i128>(p.max_notional) * (t.mmr - p.mmr), kRateOne);
      if (static_cast<fx::i128>(t.maint_amount) != p.maint_amount + step) return false;
    }
    for (int k = d.tier_count; k < wire::kMaxTiers; ++k) {
      const wire::MarginTier& t = d.tiers[k];
      if (t.max_notional != 0 || t.imr != 0 || t.mmr != 0 || t.maint_amount != 0) return false;
    }
    return true;
  }

  void set(const wire::InstrumentDefinition& d) noexcept {
    count_ = d.tier_count;
    for (int k = 0; k < count_; ++k) tiers_[k] = d.tiers[k];
    // The last tier takes everything above the others: no bound of its own.
    for (int k = 0; k < wire::kMaxTiers; ++k)
      bound_[k] = k < count_ - 1 ? tiers_[k].max_notional : std::numeric_limits<std::int64_t>::max();
  }

  int count() const noexcept { return count_; }
  bool margined() const noexcept { return count_ > 0; }
  const wire::MarginTier& tier(int k) const noexcept { return tiers_[k]; }
  // The largest notional a position or order may reach; unbounded without tiers.
  fx::i128 max_notional() const noexcept { return count_ ? tiers_[count_ - 1].max_notional : fx::kI128Max; }
  Rate max_mmr() const noexcept { return count_ ? tiers_[count_ - 1].mmr : 0; }

  // First tier whose max_notional is at least n; the last above all of them.
  // The tiers' bounds increase strictly, so the bracket is the number of bounds below n: a
  // three-step search without branches over eight slots (unused ones are INT64_MAX and never
  // count), where a scan from the first tier costs a 128-bit compare per tier passed.
  int bracket(fx::i128 n) const noexcept {
    static_assert(wire::kMaxTiers == 8, "the search below takes three halvings of eight slots");
    if (count_ == 0) return -1;
    if (!fx::fits64(n)) return n < 0 ? 0 : count_ - 1;
    const auto v = static_cast<std::int64_t>(n);
    int k = v > bound_[3] ? 4 : 0;
    k += v > bound_[k + 1] ? 2 : 0;
    k += v > bound_[k] ? 1 : 0;
    return k;
  }
  fx::i128 initial(fx::i128 n) const noexcept {
    if (count_ == 0 || n <= 0) return 0;
    return rate_up(n, tiers_[bracket(n)].imr);
  }
  fx::i128 maintenance(fx::i128 n) const noexcept {
    if (count_ == 0 || n <= 0) return 0;
    const wire::MarginTier& t = tiers_[bracket(n)];
    const fx::i128 mm = rate_up(n, t.mmr) - t.maint_amount;
    return mm > 0 ? mm : 0;
  }
  // Initial margin of `part` of a position whose whole notional is n, at n's bracket rate.
  fx::i128 initial_part(fx::i128 part, fx::i128 n) const noexcept {
    if (count_ == 0 || part <= 0) return 0;
    return fx::mul_div_ceil(part, tiers_[bracket(n)].imr, kRateOne);
  }

 private:
  // ceil(n * rate / 1e8) for n > 0 and a tier's rate (0, 1e8]. Within 64 bits, n split at 1e8:
  // q * rate <= q * 1e8 <= n and r * rate < 1e16 both fit, and the divisions by the constant
  // are multiplications; fx::mul_div_ceil (a 128-bit product and a divide) only beyond.
  static fx::i128 rate_up(fx::i128 n, Rate rate) noexcept {
    if (fx::fits64(n)) {
      const auto v = static_cast<std::uint64_t>(n);
      const std::uint64_t q = v / kRateOne, r = v % kRateOne, rr = r * static_cast<std::uint64_t>(rate);
      return static_cast<fx::i128>(q * static_cast<std::uint64_t>(rate) + rr / kRateOne + (rr % kRateOne != 0 ? 1 : 0));
    }
    return fx::mul_div_ceil(n, rate, kRateOne);
  }

  std::int64_t bound_[wire::kMaxTiers]{};  // max_notional of tiers 0..count-2, then INT64_MAX
  wire::MarginTier tiers_[wire::kMaxTiers]{};
  int count_ = 0;
};

}  // namespace cascade
