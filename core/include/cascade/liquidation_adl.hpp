// Auto-deleveraging rank (docs/liquidation.md, step 9): profit ratio times effective
// leverage. Candidates in profit come first, highest score first; ties by ascending account.
#pragma once

#include <cstdint>

#include "cascade/fixed_point.hpp"
#include "cascade/positions.hpp"
#include "cascade/types.hpp"

namespace cascade {

struct AdlCandidate {
  fx::i128 score;
  AccountId account;
  PosIdx pos;
  std::uint32_t profit;  // 1: U > 0
  std::uint32_t pad0;
};
static_assert(sizeof(AdlCandidate) == 32);

// U: unrealized PnL of the position, e: its entry value, n: its notional, equity: that of
// the unit holding it. A product beyond 128 bits saturates (only absurd ratios reach it).
inline AdlCandidate adl_rank(fx::i128 u, fx::i128 e, fx::i128 n, fx::i128 equity, AccountId a, PosIdx p) noexcept {
  const fx::i128 ae = e < 0 ? -e : e;
  const fx::i128 pnl = fx::floor_div(u * kRateOne, ae > 0 ? ae : 1);
  const fx::i128 lev = fx::floor_div(n * kRateOne, equity > 1 ? equity : 1);
  AdlCandidate c{};
  c.account = a;
  c.pos = p;
  c.profit = u > 0 ? 1 : 0;
  if (u > 0) {
    fx::i128 s;
    c.score = __builtin_mul_overflow(pnl, lev, &s) ? fx::kI128Max : s;
  } else {
    c.score = fx::floor_div(pnl * kRateOne, lev > 1 ? lev : 1);
  }
  return c;
}

// Strict order: true when x is deleveraged before y.
inline bool adl_before(const AdlCandidate& x, const AdlCandidate& y) noexcept {
  if (x.profit != y.profit) return x.profit > y.profit;
  if (x.score != y.score) return x.score > y.score;
  return x.account < y.account;
}

}  // namespace cascade
