// Leverage brackets (tiered margin) of one instrument: which tier a notional falls in, and
// its initial and maintenance margin (docs/margin.md, "Margin requirements").
#pragma once

#include <cstdint>

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
  }

  int count() const noexcept { return count_; }
  bool margined() const noexcept { return count_ > 0; }
  const wire::MarginTier& tier(int k) const noexcept { return tiers_[k]; }
  // The largest notional a position or order may reach; unbounded without tiers.
  fx::i128 max_notional() const noexcept { return count_ ? tiers_[count_ - 1].max_notional : fx::kI128Max; }
  Rate max_mmr() const noexcept { return count_ ? tiers_[count_ - 1].mmr : 0; }

  // First tier whose max_notional is at least n; the last above all of them.
  int bracket(fx::i128 n) const noexcept {
    for (int k = 0; k < count_ - 1; ++k)
      if (n <= tiers_[k].max_notional) return k;
    return count_ - 1;
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
  // ceil(n * rate / 1e8) for n > 0 and a tier's rate (0, 1e8]: inline in 64 bits while the
  // product fits, else fx::mul_div_ceil.
  static fx::i128 rate_up(fx::i128 n, Rate rate) noexcept {
    std::int64_t p;
    if (fx::fits64(n) && !__builtin_mul_overflow(static_cast<std::int64_t>(n), std::int64_t{rate}, &p))
      return p / kRateOne + (p % kRateOne != 0 ? 1 : 0);
    return fx::mul_div_ceil(n, rate, kRateOne);
  }

  wire::MarginTier tiers_[wire::kMaxTiers]{};
  int count_ = 0;
};

}  // namespace cascade
