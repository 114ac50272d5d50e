#include "support/debug_print.hpp"

#include <cstdint>
#include <string_view>

namespace cascade::testing {

namespace {

using namespace cascade::wire;

std::string num(std::uint64_t v) { return std::to_string(v); }
std::string num(std::int64_t v) { return std::to_string(v); }
std::string num(std::uint32_t v) { return std::to_string(v); }
std::string num(std::int32_t v) { return std::to_string(v); }
std::string num(std::uint8_t v) { return std::to_string(unsigned{v}); }
std::string num(std::uint16_t v) { return std::to_string(unsigned{v}); }

template <std::size_t N>
std::string named(unsigned v, const std::string_view (&names)[N]) {
  if (v < N && !names[v].empty()) return std::string(names[v]);
  return std::to_string(v);
}

std::string side(Side s) {
  static constexpr std::string_view n[] = {"", "buy", "sell"};
  return named(static_cast<unsigned>(s), n);
}
std::string order_type(OrderType t) {
  static constexpr std::string_view n[] = {"", "limit", "market", "stop_market", "stop_limit"};
  return named(static_cast<unsigned>(t), n);
}
std::string tif(TimeInForce t) {
  static constexpr std::string_view n[] = {"", "gtc", "ioc", "fok"};
  return named(static_cast<unsigned>(t), n);
}
std::string stp(SelfTradePrevention s) {
  static constexpr std::string_view n[] = {"default", "cancel_incoming", "cancel_resting", "cancel_both"};
  return named(static_cast<unsigned>(s), n);
}
std::string reject_reason(RejectReason r) {
  static constexpr std::string_view n[] = {"none",
                                           "unknown_instrument",
                                           "unknown_account",
                                           "invalid_side",
                                           "invalid_order_type",
                                           "invalid_time_in_force",
                                           "invalid_flags",
                                           "invalid_quantity",
                                           "quantity_off_lot",
                                           "invalid_price",
                                           "price_off_tick",
                                           "price_out_of_band",
                                           "price_out_of_range",
                                           "duplicate_order_id",
                                           "unknown_order",
                                           "not_order_owner",
                                           "post_only_would_take",
                                           "order_capacity",
                                           "account_capacity",
                                           "instrument_capacity",
                                           "invalid_instrument",
                                           "timestamp_backwards",
                                           "insufficient_margin",
                                           "insufficient_funds",
                                           "reduce_only_would_increase",
                                           "invalid_amount",
                                           "notional_overflow",
                                           "instrument_paused",
                                           "modify_no_change",
                                           "invalid_stp",
                                           "invalid_trigger_price",
                                           "account_in_liquidation",
                                           "invalid_settings",
                                           "invalid_order_id"};
  return named(static_cast<unsigned>(r), n);
}
std::string cancel_reason(CancelReason r) {
  static constexpr std::string_view n[] = {
      "",           "user",        "mass_cancel", "ioc_remainder", "fok_not_filled", "no_liquidity",
      "self_trade", "liquidation", "reduce_only"};
  return named(static_cast<unsigned>(r), n);
}
std::string balance_reason(BalanceReason r) {
  static constexpr std::string_view n[] = {"",        "deposit",         "withdrawal", "fee", "realized_pnl",
                                           "funding", "liquidation_fee", "bankruptcy"};
  return named(static_cast<unsigned>(r), n);
}
std::string at(Qty qty, Price price) {
  std::string s = num(qty);
  s += '@';
  s += num(price);
  return s;
}
std::string instrument(InstrumentId id) { return id == kAllInstruments ? std::string("all") : num(id); }

// Builds "key=value" lists.
struct Line {
  std::string s;
  Line& operator()(std::string_view key, const std::string& value) {
    s += ' ';
    s += key;
    s += '=';
    s += value;
    return *this;
  }
};

void body(const EventView& ev, Line& l) {
  switch (ev.type()) {
    case MsgType::InstrumentDefinition: {
      const auto& m = ev.as<InstrumentDefinition>();
      l("instrument", num(m.instrument))("price_decimals", num(m.price_decimals))("qty_decimals", num(m.qty_decimals))(
          "tier_count", num(m.tier_count))("tick", num(m.tick_size))("lot", num(m.lot_size))(
          "min_price", num(m.min_price))("max_price", num(m.max_price))("max_order_qty", num(m.max_order_qty))(
          "reference_price", num(m.reference_price))("price_band", num(m.price_band))("market_band",
                                                                                      num(m.market_band));
      if (m.maker_fee || m.taker_fee) l("maker_fee", num(m.maker_fee))("taker_fee", num(m.taker_fee));
      if (m.mark_band) l("mark_band", num(m.mark_band));
      for (int k = 0; k < m.tier_count && k < kMaxTiers; ++k) {
        const MarginTier& t = m.tiers[k];
        l("tier" + std::to_string(k), num(t.max_notional) + "/" + num(t.imr) + "/" + num(t.mmr) + "/" +
                                          num(t.maint_amount));
      }
      break;
    }
    case MsgType::Deposit: {
      const auto& m = ev.as<Deposit>();
      l("account", num(m.account))("amount", num(m.amount))("transfer_id", num(m.transfer_id));
      break;
    }
    case MsgType::Withdrawal: {
      const auto& m = ev.as<Withdrawal>();
      l("account", num(m.account))("amount", num(m.amount))("transfer_id", num(m.transfer_id));
      break;
    }
    case MsgType::AccountSettings: {
      const auto& m = ev.as<AccountSettings>();
      l("account", num(m.account))("instrument", instrument(m.instrument))(
          "margin_mode", num(static_cast<std::uint8_t>(m.margin_mode)))("role", num(static_cast<std::uint8_t>(m.role)));
      break;
    }
    case MsgType::NewOrder:
    case MsgType::OrderAccepted: {
      // OrderAccepted has NewOrder's body.
      const auto& m = ev.as<NewOrder>();
      l("order_id", num(m.order_id));
      if (m.client_order_id) l("client_order_id", num(m.client_order_id));
      l("account", num(m.account))("instrument", instrument(m.instrument))("side", side(m.side))(
          "type", order_type(m.order_type))("tif", tif(m.tif))("price", num(m.price))("qty", num(m.qty));
      if (m.trigger_price) l("trigger", num(m.trigger_price));
      if (m.flags) l("flags", num(m.flags));
      l("stp", stp(m.stp));
      break;
    }
    case MsgType::CancelOrder: {
      const auto& m = ev.as<CancelOrder>();
      l("order_id", num(m.order_id))("account", num(m.account))("instrument", instrument(m.instrument));
      break;
    }
    case MsgType::ModifyOrder: {
      const auto& m = ev.as<ModifyOrder>();
      l("order_id", num(m.order_id))("account", num(m.account))("instrument", instrument(m.instrument))(
          "new_price", num(m.new_price))("new_qty", num(m.new_qty));
      break;
    }
    case MsgType::MassCancel: {
      const auto& m = ev.as<MassCancel>();
      l("account", num(m.account))("instrument", instrument(m.instrument));
      break;
    }
    case MsgType::IndexPrice: {
      const auto& m = ev.as<IndexPrice>();
      l("instrument", num(m.instrument))("price", num(m.price));
      break;
    }
    case MsgType::FundingRate: {
      const auto& m = ev.as<FundingRate>();
      l("instrument", num(m.instrument))("rate", num(m.rate));
      break;
    }
    case MsgType::Heartbeat:
      break;
    case MsgType::Rejected: {
      const auto& m = ev.as<Rejected>();
      l("id", num(m.id));
      if (m.client_order_id) l("client_order_id", num(m.client_order_id));
      l("account", num(m.account))("instrument", instrument(m.instrument))("reason", reject_reason(m.reason))(
          "input", type_name(m.input_type));
      break;
    }
    case MsgType::OrderCancelled: {
      const auto& m = ev.as<OrderCancelled>();
      l("order_id", num(m.order_id))("account", num(m.account))("instrument", num(m.instrument))(
          "qty", num(m.cancelled_qty))("reason", cancel_reason(m.reason))("side", side(m.side));
      break;
    }
    case MsgType::OrderModified: {
      const auto& m = ev.as<OrderModified>();
      l("order_id", num(m.order_id))("account", num(m.account))("instrument", num(m.instrument))(
          "new_price", num(m.new_price))("new_qty", num(m.new_qty))("priority_kept", num(m.priority_kept));
      break;
    }
    case MsgType::Fill: {
      const auto& m = ev.as<Fill>();
      l("maker", num(m.maker_order_id))("taker", num(m.taker_order_id))("maker_account", num(m.maker_account))(
          "taker_account", num(m.taker_account))("instrument", num(m.instrument))("aggressor", side(m.aggressor_side))(
          "price", num(m.price))("qty", num(m.qty))("maker_leaves", num(m.maker_leaves))("taker_leaves",
                                                                                         num(m.taker_leaves));
      if (m.flags) l("flags", num(m.flags));
      if (m.maker_fee || m.taker_fee) l("maker_fee", num(m.maker_fee))("taker_fee", num(m.taker_fee));
      break;
    }
    case MsgType::StopTriggered: {
      const auto& m = ev.as<StopTriggered>();
      l("order_id", num(m.order_id))("account", num(m.account))("instrument", num(m.instrument))(
          "trigger", num(m.trigger_price))("last", num(m.last_price));
      break;
    }
    case MsgType::TopOfBook: {
      const auto& m = ev.as<TopOfBook>();
      l("instrument", num(m.instrument))("bid", at(m.bid_qty, m.bid_price))("ask", at(m.ask_qty, m.ask_price));
      break;
    }
    case MsgType::DepthLevel: {
      const auto& m = ev.as<DepthLevel>();
      l("instrument", num(m.instrument))("side", side(m.side))("price", num(m.price))("qty", num(m.qty))(
          "orders", num(m.order_count));
      break;
    }
    case MsgType::BalanceChange: {
      const auto& m = ev.as<BalanceChange>();
      l("account", num(m.account))("reason", balance_reason(m.reason))("delta", num(m.delta))("balance",
                                                                                              num(m.balance));
      break;
    }
    case MsgType::MarkPrice: {
      const auto& m = ev.as<MarkPrice>();
      l("instrument", num(m.instrument))("mark", num(m.mark))("index", num(m.index))("last", num(m.last));
      break;
    }
    case MsgType::PositionUpdate: {
      const auto& m = ev.as<PositionUpdate>();
      l("account", num(m.account))("instrument", num(m.instrument))("size", num(m.size))(
          "entry_value", num(m.entry_value))("realized_pnl", num(m.realized_pnl));
      break;
    }
    case MsgType::MarginUpdate: {
      const auto& m = ev.as<MarginUpdate>();
      l("account", num(m.account))("collateral", num(m.collateral))("equity", num(m.equity))(
          "im", num(m.initial_margin))("mm", num(m.maintenance_margin));
      break;
    }
    case MsgType::FundingPayment: {
      const auto& m = ev.as<FundingPayment>();
      l("account", num(m.account))("instrument", num(m.instrument))("position", num(m.position))(
          "rate", num(m.rate))("amount", num(m.amount));
      break;
    }
    case MsgType::InsuranceFund: {
      const auto& m = ev.as<InsuranceFund>();
      static constexpr std::string_view reasons[] = {"", "liquidation_fee", "liquidation_surplus",
                                                     "bankruptcy_payout", "funding_remainder"};
      l("instrument", num(m.instrument))("reason", named(static_cast<unsigned>(m.reason), reasons))(
          "delta", num(m.delta))("balance", num(m.balance));
      break;
    }
    case MsgType::Liquidation: {
      const auto& m = ev.as<Liquidation>();
      l("account", num(m.account))("instrument", num(m.instrument))("side", side(m.side))(
          "stage", num(static_cast<std::uint8_t>(m.stage)))("depth", num(m.depth))("qty", num(m.qty))(
          "price", num(m.price))("amount", num(m.amount))("origin", num(m.cascade_origin));
      break;
    }
    case MsgType::Deleverage: {
      const auto& m = ev.as<Deleverage>();
      l("account", num(m.account))("counter_account", num(m.counter_account))("instrument", num(m.instrument))(
          "rank", num(m.rank))("qty", num(m.qty))("price", num(m.price));
      break;
    }
    case MsgType::CircuitBreaker: {
      const auto& m = ev.as<CircuitBreaker>();
      l("instrument", num(m.instrument))("paused", num(m.paused))("reference_price", num(m.reference_price))(
          "until", num(m.until_ns));
      break;
    }
    default:
      l("length", num(ev.header().length));
      break;
  }
}

}  // namespace

std::string describe(const EventView& event, bool with_header) {
  Line l;
  l.s = type_name(event.type());
  if (with_header) {
    const auto& h = event.header();
    l("seq", num(h.seq))("ts", num(h.ts_ns))("ref", num(h.ref));
    if (h.flags) l("flags", num(h.flags));
  }
  body(event, l);
  return l.s;
}

std::vector<std::string> describe_all(std::span<const std::byte> events, bool with_header) {
  std::vector<std::string> r;
  EventReader reader(events);
  EventView ev;
  while (reader.next(ev)) r.push_back(describe(ev, with_header));
  if (!reader.ok()) {
    std::string e = "<";
    e += reader.error().message();
    e += '>';
    r.push_back(std::move(e));
  }
  return r;
}

std::string describe_block(std::span<const std::byte> events) {
  std::string s;
  for (const auto& line : describe_all(events)) {
    s += "    ";
    s += line;
    s += '\n';
  }
  if (s.empty()) s = "    (nothing)\n";
  return s;
}

}  // namespace cascade::testing
