// Fixed-point integers <-> decimal text ("65000.5" with 1 decimal is 650005). Exact in both
// directions for any number of decimals; used by the text form and the tools, never the hot path.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cascade {

enum class DecimalError : std::uint8_t {
  None = 0,
  NotANumber,       // not [-]digits[.digits]
  TooManyDecimals,  // a nonzero digit beyond the allowed decimals
  OutOfRange,       // does not fit the target integer
};

const char* describe(DecimalError e) noexcept;

// Appends `value` scaled by 10^-decimals. Shortest form ("1.5", "2", "-0.0002") unless
// `fixed`, which keeps every decimal ("1.500") for aligned columns.
void append_decimal(std::string& out, std::int64_t value, int decimals, bool fixed = false);
std::string format_decimal(std::int64_t value, int decimals, bool fixed = false);

// Parses [-]digits[.digits] into value * 10^decimals. Extra decimals are accepted only when
// they are zeros ("1.50" with 1 decimal). `negative_ok` false rejects a leading '-'.
DecimalError parse_decimal(std::string_view text, int decimals, std::int64_t& out, bool negative_ok = true) noexcept;

}  // namespace cascade
