// Integer arithmetic of the margin engine (docs/margin.md, "Units"): mathematical floor and
// ceiling division, powers of ten, the value of a quantity at a price, and a multiply-divide
// whose product may exceed 128 bits. Everything is exact; the caller picks the rounding.
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>

#include "cascade/types.hpp"

namespace cascade::fx {

using i128 = __int128;
using u128 = unsigned __int128;

inline constexpr i128 kI128Max = static_cast<i128>(~u128{0} >> 1);

// True when v is representable as int64: the divisions below then run in 64 bits (a
// 128-bit division is a libgcc call, __divmodti4, even by a constant). Same results.
constexpr bool fits64(i128 v) noexcept { return v == static_cast<std::int64_t>(v); }

// Towards -infinity / +infinity / zero, for any signs; b != 0.
constexpr i128 floor_div(i128 a, i128 b) noexcept {
  if (fits64(a) && fits64(b) && b > 0) {
    const auto x = static_cast<std::int64_t>(a), y = static_cast<std::int64_t>(b);
    const std::int64_t q = x / y;
    return (x % y != 0 && x < 0) ? q - 1 : q;
  }
  const i128 q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
constexpr i128 ceil_div(i128 a, i128 b) noexcept {
  if (fits64(a) && fits64(b) && b > 0) {
    const auto x = static_cast<std::int64_t>(a), y = static_cast<std::int64_t>(b);
    const std::int64_t q = x / y;
    return (x % y != 0 && x > 0) ? q + 1 : q;
  }
  const i128 q = a / b;
  return (a % b != 0 && ((a < 0) == (b < 0))) ? q + 1 : q;
}
constexpr i128 trunc_div(i128 a, i128 b) noexcept {
  if (fits64(a) && fits64(b) && b > 0) return static_cast<std::int64_t>(a) / static_cast<std::int64_t>(b);
  return a / b;
}

// 10^n for 0 <= n <= 38 (a table: exponents are runtime values on the hot path).
namespace detail {
struct Pow10Table {
  i128 v[39];
  constexpr Pow10Table() noexcept : v{} {
    v[0] = 1;
    for (int i = 1; i <= 38; ++i) v[i] = v[i - 1] * 10;
  }
};
inline constexpr Pow10Table kPow10{};
}  // namespace detail
constexpr i128 pow10(int n) noexcept { return detail::kPow10.v[n]; }

// Clamps into the int64 range (Money, Price, Qty).
constexpr std::int64_t saturate(i128 v) noexcept {
  constexpr i128 lo = std::numeric_limits<std::int64_t>::min();
  constexpr i128 hi = std::numeric_limits<std::int64_t>::max();
  return static_cast<std::int64_t>(v < lo ? lo : (v > hi ? hi : v));
}

// floor(a * b / c) and ceil(a * b / c) for a, b >= 0 and c > 0, exact even when a * b needs
// more than 127 bits (then a 256-bit product and a shift-subtract division). The quotient
// must fit in 127 bits; it saturates to kI128Max otherwise.
namespace detail {
struct U256 {
  u128 hi, lo;
};
constexpr U256 mul_wide(u128 a, u128 b) noexcept {
  const u128 mask = (u128{1} << 64) - 1;
  const u128 a0 = a & mask, a1 = a >> 64, b0 = b & mask, b1 = b >> 64;
  const u128 p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const u128 mid = (p00 >> 64) + (p01 & mask) + (p10 & mask);
  const u128 lo = (p00 & mask) | (mid << 64);
  const u128 hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
  return {hi, lo};
}
// (q, remainder != 0) of the 256-bit n divided by d > 0.
constexpr bool div_wide(U256 n, u128 d, u128& q) noexcept {
  if (n.hi >= d) {  // quotient needs more than 128 bits
    q = ~u128{0};
    return true;
  }
  u128 rem = n.hi;
  q = 0;
  for (int i = 127; i >= 0; --i) {
    const bool carry = (rem >> 127) != 0;
    rem = (rem << 1) | ((n.lo >> i) & 1);
    q <<= 1;
    if (carry || rem >= d) {
      rem -= d;
      q |= 1;
    }
  }
  return rem != 0;
}

// x86-64: n / d in one divq when the quotient fits 64 bits (n's high half below d), where a
// 128-bit division would be a libgcc call (__udivti3 / __divmodti4). False: not done.
inline bool div_128_by_64(u128 n, std::uint64_t d, std::uint64_t& q, std::uint64_t& r) noexcept {
#if defined(__x86_64__)
  const auto hi = static_cast<std::uint64_t>(n >> 64);
  if (hi >= d) return false;  // the quotient would not fit: divq would fault
  __asm__("divq %[d]" : "=a"(q), "=d"(r) : [d] "rm"(d), "a"(static_cast<std::uint64_t>(n)), "d"(hi));
  return true;
#else
  (void)n, (void)d, (void)q, (void)r;
  return false;
#endif
}
}  // namespace detail

// The 128- and 256-bit products: out of line, so that the common cases above inline.
[[gnu::noinline]] constexpr i128 mul_div_wide(i128 a, i128 b, i128 c, bool round_up) noexcept {
  i128 p;
  if (!__builtin_mul_overflow(a, b, &p)) return round_up ? ceil_div(p, c) : floor_div(p, c);
  u128 q;
  const bool inexact = detail::div_wide(detail::mul_wide(static_cast<u128>(a), static_cast<u128>(b)),
                                        static_cast<u128>(c), q);
  if (q >= static_cast<u128>(kI128Max)) return kI128Max;
  return static_cast<i128>(q) + (round_up && inexact ? 1 : 0);
}

[[gnu::always_inline]] constexpr i128 mul_div(i128 a, i128 b, i128 c, bool round_up) noexcept {
  std::int64_t p64;
  if (fits64(a) && fits64(b) &&
      !__builtin_mul_overflow(static_cast<std::int64_t>(a), static_cast<std::int64_t>(b), &p64))
    return round_up ? ceil_div(p64, c) : floor_div(p64, c);
  // Non-negative 64-bit factors whose product needs 128 bits, a 64-bit divisor (a margin rate
  // against 1e8, a slack against a notional): one hardware divide when the quotient fits.
  if (!std::is_constant_evaluated() && a >= 0 && b >= 0 && c > 0 && fits64(a) && fits64(b) && fits64(c)) {
    std::uint64_t q, r;
    if (detail::div_128_by_64(static_cast<u128>(a) * static_cast<u128>(b), static_cast<std::uint64_t>(c), q, r))
      return static_cast<i128>(q) + (round_up && r != 0 ? 1 : 0);
  }
  return mul_div_wide(a, b, c, round_up);
}
constexpr i128 mul_div_floor(i128 a, i128 b, i128 c) noexcept { return mul_div(a, b, c, false); }
constexpr i128 mul_div_ceil(i128 a, i128 b, i128 c) noexcept { return mul_div(a, b, c, true); }

// The money exponent of an instrument: a price unit times a quantity unit is 10^m micros.
constexpr int money_exponent(int price_decimals, int qty_decimals) noexcept {
  return kMoneyDecimals - price_decimals - qty_decimals;
}

namespace detail {
// p * 10^m * q for m >= 0: a plain product when it fits 64 bits (no division by 1).
constexpr i128 value_exact(i128 p, i128 q, int m) noexcept {
  std::int64_t a, r;
  if (m <= 18 && fits64(p) && fits64(q) &&
      !__builtin_mul_overflow(static_cast<std::int64_t>(p), static_cast<std::int64_t>(pow10(m)), &a) &&
      !__builtin_mul_overflow(a, static_cast<std::int64_t>(q), &r))
    return r;
  return mul_div_floor(p * pow10(m), q, 1);
}
}  // namespace detail

// value(p, q) = p * q * 10^m, rounded down (value) or up (value_up) when m < 0. p, q >= 0.
// Saturates to kI128Max if it does not fit (impossible for validated instruments).
constexpr i128 value(i128 p, i128 q, int m) noexcept {
  if (m >= 0) return detail::value_exact(p, q, m);
  return mul_div_floor(p, q, pow10(-m));
}
constexpr i128 value_up(i128 p, i128 q, int m) noexcept {
  if (m >= 0) return detail::value_exact(p, q, m);
  return mul_div_ceil(p, q, pow10(-m));
}

// p * q * 10^m * rate / 1e8 rounded down or up: funding and similar products of a value and
// a rate, without rounding the value first. p, q, rate >= 0.
constexpr i128 value_times_rate(i128 p, i128 q, int m, i128 rate, bool round_up) noexcept {
  if (m >= 0) return mul_div(value(p, q, m), rate, kRateOne, round_up);
  return mul_div(mul_div_floor(p, q, 1), rate, static_cast<i128>(kRateOne) * pow10(-m), round_up);
}

}  // namespace cascade::fx
