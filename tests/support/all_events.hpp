// One event of every message type with distinctive values in every field, for the wire,
// text-format and corrupt-file tests. Instrument 7 (BTC-PERP, price_decimals 1,
// qty_decimals 3) is defined first, so later prices and quantities have decimals.
#pragma once

#include <cstdint>

#include "cascade/event_buffer.hpp"
#include "cascade/wire.hpp"

namespace cascade::testing {

inline constexpr Timestamp kAllEventsTs0 = 1'700'000'000'000'000'000;
inline constexpr int kAllEventsCount = 28;

struct AllEvents {
  // input, seq 1..11
  wire::InstrumentDefinition instrument;
  wire::Deposit deposit;
  wire::Withdrawal withdrawal;
  wire::AccountSettings account_settings;
  wire::NewOrder new_order;
  wire::CancelOrder cancel;
  wire::ModifyOrder modify;
  wire::MassCancel mass_cancel;
  wire::IndexPrice index_price;
  wire::FundingRate funding_rate;
  wire::Heartbeat heartbeat;
  // output, seq 12..28
  wire::OrderAccepted accepted;
  wire::Rejected rejected;
  wire::OrderCancelled cancelled;
  wire::OrderModified modified;
  wire::Fill fill;
  wire::StopTriggered stop_triggered;
  wire::TopOfBook top_of_book;
  wire::DepthLevel depth;
  wire::MarkPrice mark_price;
  wire::BalanceChange balance;
  wire::PositionUpdate position;
  wire::MarginUpdate margin;
  wire::FundingPayment funding_payment;
  wire::Liquidation liquidation;
  wire::Deleverage deleverage;
  wire::InsuranceFund insurance_fund;
  wire::CircuitBreaker circuit_breaker;
};

AllEvents make_all_events();

// Appends the 28 events in declaration order.
void append_all(const AllEvents& e, EventBuffer& out);

// A whole event file image: input-kind header (created_ns kAllEventsTs0, creator
// "all-events test"), then the 28 events.
EventBuffer all_events_file();

}  // namespace cascade::testing
