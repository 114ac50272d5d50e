#include "import/setup.hpp"

#include <algorithm>
#include <cstring>

#include "import/book_model.hpp"

namespace cascade::import {

bool choose_price_range(Price lo, Price hi, Price tick, std::uint32_t max_levels, Price& min_price,
                        Price& max_price, std::string& error) {
  if (lo <= 0 || hi < lo || tick <= 0 || lo % tick != 0 || hi % tick != 0) {
    error = "internal: bad price range";
    return false;
  }
  const std::int64_t span = (hi - lo) / tick;  // in ticks
  if (span + 1 > static_cast<std::int64_t>(max_levels)) {
    error = "prices span " + std::to_string(span + 1) + " ticks (" + std::to_string(lo) + " to " +
            std::to_string(hi) + "), more than the " + std::to_string(max_levels) +
            " price levels a book holds; convert with --max-levels " + std::to_string(span + 1) +
            " or more and replay with the same --max-levels";
    return false;
  }
  std::int64_t margin = std::max<std::int64_t>(span / 2, 100);
  margin = std::min<std::int64_t>(margin, (static_cast<std::int64_t>(max_levels) - 1 - span) / 2);
  min_price = std::max(tick, lo - margin * tick);
  max_price = hi + margin * tick;
  return true;
}

wire::InstrumentDefinition equity_instrument(InstrumentId id, std::string_view symbol, std::uint8_t price_decimals,
                                             Price tick, Price min_price, Price max_price) {
  auto d = wire::make<wire::InstrumentDefinition>();
  d.instrument = id;
  d.price_decimals = price_decimals;
  d.qty_decimals = 0;
  std::memcpy(d.symbol, symbol.data(), std::min(symbol.size(), sizeof d.symbol - 1));
  d.tick_size = tick;
  d.lot_size = 1;
  d.min_price = min_price;
  d.max_price = max_price;
  d.max_order_qty = kConverterMaxOrderQty;
  d.tier_count = 0;  // unmargined: a replayed equity book has no leverage brackets (docs/margin.md)
  return d;
}

void emit_accounts(Emitter& out) {
  std::uint64_t transfer = 0;
  for (AccountId a : {kRestingAccount, kAggressorAccount}) {
    auto d = wire::make<wire::Deposit>();
    d.account = a;
    d.amount = kConverterDeposit;
    d.transfer_id = ++transfer;
    out.emit(d);
  }
}

std::uint64_t gcd_u64(std::uint64_t a, std::uint64_t b) noexcept {
  while (b) {
    const std::uint64_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

}  // namespace cascade::import
