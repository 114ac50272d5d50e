#include "cascade/decimal.hpp"

#include <charconv>

namespace cascade {

const char* describe(DecimalError e) noexcept {
  switch (e) {
    case DecimalError::None: return "ok";
    case DecimalError::NotANumber: return "not a decimal number";
    case DecimalError::TooManyDecimals: return "too many decimals";
    case DecimalError::OutOfRange: return "out of range";
  }
  return "unknown decimal error";
}

void append_decimal(std::string& out, std::int64_t value, int decimals, bool fixed) {
  // The magnitude as unsigned so INT64_MIN negates cleanly.
  const std::uint64_t mag = value < 0 ? 0 - static_cast<std::uint64_t>(value) : static_cast<std::uint64_t>(value);
  char digits[24];
  const auto r = std::to_chars(digits, digits + sizeof digits, mag);
  const std::size_t n = static_cast<std::size_t>(r.ptr - digits);
  if (value < 0) out += '-';
  if (decimals <= 0) {
    out.append(digits, n);
    return;
  }
  const std::size_t d = static_cast<std::size_t>(decimals);
  // Integer part: the digits left of the last d, or "0".
  if (n > d) out.append(digits, n - d);
  else out += '0';
  // Fractional part: d digits, zero-padded on the left; shortest form drops trailing zeros.
  const std::size_t lead_zeros = n >= d ? 0 : d - n;
  const char* frac = n > d ? digits + (n - d) : digits;
  std::size_t frac_digits = n > d ? d : n;
  if (!fixed) {
    while (frac_digits > 0 && frac[frac_digits - 1] == '0') --frac_digits;
    if (frac_digits == 0) return;
  }
  out += '.';
  out.append(lead_zeros, '0');
  out.append(frac, frac_digits);
}

std::string format_decimal(std::int64_t value, int decimals, bool fixed) {
  std::string s;
  append_decimal(s, value, decimals, fixed);
  return s;
}

DecimalError parse_decimal(std::string_view s, int decimals, std::int64_t& out, bool negative_ok) noexcept {
  std::size_t i = 0;
  bool neg = false;
  if (i < s.size() && s[i] == '-') {
    if (!negative_ok) return DecimalError::NotANumber;
    neg = true;
    ++i;
  }
  const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  const std::size_t int_begin = i;
  while (i < s.size() && is_digit(s[i])) ++i;
  const std::size_t int_end = i;
  if (int_end == int_begin) return DecimalError::NotANumber;
  std::size_t frac_begin = i, frac_end = i;
  if (i < s.size() && s[i] == '.') {
    frac_begin = ++i;
    while (i < s.size() && is_digit(s[i])) ++i;
    frac_end = i;
    if (frac_end == frac_begin) return DecimalError::NotANumber;
  }
  if (i != s.size()) return DecimalError::NotANumber;

  const std::size_t d = decimals > 0 ? static_cast<std::size_t>(decimals) : 0;
  for (std::size_t k = frac_begin + d; k < frac_end; ++k)
    if (s[k] != '0') return DecimalError::TooManyDecimals;

  // Accumulate in 128 bits and stop as soon as the magnitude passes 2^63.
  const unsigned __int128 limit = neg ? (static_cast<unsigned __int128>(1) << 63)
                                      : static_cast<unsigned __int128>(INT64_MAX);
  unsigned __int128 mag = 0;
  const auto push = [&](int digit) {
    mag = mag * 10 + static_cast<unsigned>(digit);
    return mag <= limit;
  };
  for (std::size_t k = int_begin; k < int_end; ++k)
    if (!push(s[k] - '0')) return DecimalError::OutOfRange;
  for (std::size_t k = 0; k < d; ++k) {
    const std::size_t pos = frac_begin + k;
    if (!push(pos < frac_end ? s[pos] - '0' : 0)) return DecimalError::OutOfRange;
  }
  out = neg ? static_cast<std::int64_t>(0 - static_cast<std::uint64_t>(mag)) : static_cast<std::int64_t>(mag);
  return DecimalError::None;
}

}  // namespace cascade
