// What every converted file starts with: instrument definitions for equities replayed as
// cascade instruments, and collateral for the two accounts converters trade through.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cascade/types.hpp"
#include "cascade/wire.hpp"
#include "import/emitter.hpp"

namespace cascade::import {

// Collateral deposited to each converter account, in micros: far beyond what any day of
// equity flow needs, so margin never rejects a converted order.
inline constexpr Money kConverterDeposit = 1'000'000'000'000'000'000;  // 10^12 quote units
inline constexpr Qty kConverterMaxOrderQty = 1'000'000'000'000;

// Book range for prices seen in [lo, hi] on a `tick` grid: the data plus a margin of half
// its span (at least 100 ticks) each way, shrunk if needed to fit max_levels levels.
// False with a message if the data alone needs more levels.
bool choose_price_range(Price lo, Price hi, Price tick, std::uint32_t max_levels, Price& min_price,
                        Price& max_price, std::string& error);

// An equity as a cascade instrument: qty_decimals 0, lot 1, no bands, no fees, no circuit
// breaker, no margin tiers (tier_count 0: positions and PnL are kept, nothing is required).
wire::InstrumentDefinition equity_instrument(InstrumentId id, std::string_view symbol, std::uint8_t price_decimals,
                                             Price tick, Price min_price, Price max_price);

// Deposits kConverterDeposit to kRestingAccount and kAggressorAccount.
void emit_accounts(Emitter& out);

std::uint64_t gcd_u64(std::uint64_t a, std::uint64_t b) noexcept;

}  // namespace cascade::import
