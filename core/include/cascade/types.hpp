// Fixed-point scalar types shared by the wire format, the book and the margin engine.
// Everything is an integer: prices, quantities, money and rates are scaled counts.
#pragma once

#include <cstdint>
#include <limits>

namespace cascade {

// Price in price units of the instrument: 10^-price_decimals quote currency.
using Price = std::int64_t;
// Quantity in quantity units of the instrument: 10^-qty_decimals base currency.
using Qty = std::int64_t;
// Money (collateral, fees, PnL) in 10^-6 quote currency ("micros").
using Money = std::int64_t;
// Dimensionless rates (fees, margin rates, funding, bands) in 10^-8 (1.0 == 100'000'000).
using Rate = std::int32_t;

using OrderId = std::uint64_t;
using AccountId = std::uint32_t;
using InstrumentId = std::uint32_t;
using SeqNo = std::uint64_t;
using Timestamp = std::int64_t;  // nanoseconds since the Unix epoch

inline constexpr int kMoneyDecimals = 6;
inline constexpr int kRateDecimals = 8;
inline constexpr Rate kRateOne = 100'000'000;
inline constexpr InstrumentId kAllInstruments = std::numeric_limits<InstrumentId>::max();

enum class Side : std::uint8_t { Buy = 1, Sell = 2 };

constexpr Side opposite(Side s) noexcept { return s == Side::Buy ? Side::Sell : Side::Buy; }

enum class OrderType : std::uint8_t { Limit = 1, Market = 2, StopMarket = 3, StopLimit = 4 };

enum class TimeInForce : std::uint8_t { GTC = 1, IOC = 2, FOK = 3 };

// What happens when an order would trade against a resting order of the same account.
enum class SelfTradePrevention : std::uint8_t {
  Default = 0,  // same as CancelIncoming
  CancelIncoming = 1,
  CancelResting = 2,
  CancelBoth = 3,
};

namespace order_flags {
inline constexpr std::uint8_t kPostOnly = 1;
inline constexpr std::uint8_t kReduceOnly = 2;
inline constexpr std::uint8_t kMarkTrigger = 4;  // a stop triggered by the mark price, not the last trade
inline constexpr std::uint8_t kAll = kPostOnly | kReduceOnly | kMarkTrigger;
}  // namespace order_flags

}  // namespace cascade
