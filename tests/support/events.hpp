// Builders of input events for tests: each returns the wire struct with its header (length,
// type, seq, ts_ns) set and every field not named zero.
#pragma once


#include "cascade/types.hpp"
#include "cascade/wire.hpp"

namespace cascade::testing {

template <class T>
T event(SeqNo seq, Timestamp ts) {
  T m = wire::make<T>();
  m.header.seq = seq;
  m.header.ts_ns = ts;
  return m;
}

// Symbol "T<id>"; no band, no reference price, no fees, no margin tiers.
inline wire::InstrumentDefinition instrument(SeqNo seq, Timestamp ts, InstrumentId id, Price tick, Qty lot,
                                             Price min_price, Price max_price, Qty max_order_qty) {
  auto m = event<wire::InstrumentDefinition>(seq, ts);
  m.instrument = id;
  m.symbol[0] = 'T';
  m.symbol[1] = static_cast<char>('0' + id % 10);
  m.tick_size = tick;
  m.lot_size = lot;
  m.min_price = min_price;
  m.max_price = max_price;
  m.max_order_qty = max_order_qty;
  return m;
}

inline wire::Deposit deposit(SeqNo seq, Timestamp ts, AccountId account, Money amount, std::uint64_t transfer_id) {
  auto m = event<wire::Deposit>(seq, ts);
  m.account = account;
  m.amount = amount;
  m.transfer_id = transfer_id;
  return m;
}

inline wire::Withdrawal withdrawal(SeqNo seq, Timestamp ts, AccountId account, Money amount,
                                   std::uint64_t transfer_id) {
  auto m = event<wire::Withdrawal>(seq, ts);
  m.account = account;
  m.amount = amount;
  m.transfer_id = transfer_id;
  return m;
}

inline wire::AccountSettings account_settings(SeqNo seq, Timestamp ts, AccountId account, InstrumentId instrument,
                                              wire::MarginMode mode = wire::MarginMode::Cross,
                                              wire::AccountRole role = wire::AccountRole::Trader) {
  auto m = event<wire::AccountSettings>(seq, ts);
  m.account = account;
  m.instrument = instrument;
  m.margin_mode = mode;
  m.role = role;
  return m;
}

inline wire::NewOrder new_order(SeqNo seq, Timestamp ts, OrderId id, AccountId account, InstrumentId instrument,
                                Side side, OrderType type, TimeInForce tif, Price price, Qty qty,
                                Price trigger = 0, std::uint8_t flags = 0,
                                SelfTradePrevention stp = SelfTradePrevention::Default) {
  auto m = event<wire::NewOrder>(seq, ts);
  m.order_id = id;
  m.account = account;
  m.instrument = instrument;
  m.side = side;
  m.order_type = type;
  m.tif = tif;
  m.price = price;
  m.qty = qty;
  m.trigger_price = trigger;
  m.flags = flags;
  m.stp = stp;
  return m;
}

inline wire::NewOrder limit(SeqNo seq, Timestamp ts, OrderId id, AccountId account, InstrumentId instrument,
                            Side side, Price price, Qty qty, TimeInForce tif = TimeInForce::GTC) {
  return new_order(seq, ts, id, account, instrument, side, OrderType::Limit, tif, price, qty);
}

// worst_price 0: limited only by the book's range and the market band.
inline wire::NewOrder market(SeqNo seq, Timestamp ts, OrderId id, AccountId account, InstrumentId instrument,
                             Side side, Qty qty, Price worst_price = 0, TimeInForce tif = TimeInForce::IOC) {
  return new_order(seq, ts, id, account, instrument, side, OrderType::Market, tif, worst_price, qty);
}

inline wire::NewOrder stop_market(SeqNo seq, Timestamp ts, OrderId id, AccountId account, InstrumentId instrument,
                                  Side side, Price trigger, Qty qty, Price worst_price = 0,
                                  TimeInForce tif = TimeInForce::IOC) {
  return new_order(seq, ts, id, account, instrument, side, OrderType::StopMarket, tif, worst_price, qty, trigger);
}

inline wire::NewOrder stop_limit(SeqNo seq, Timestamp ts, OrderId id, AccountId account, InstrumentId instrument,
                                 Side side, Price trigger, Price price, Qty qty,
                                 TimeInForce tif = TimeInForce::GTC) {
  return new_order(seq, ts, id, account, instrument, side, OrderType::StopLimit, tif, price, qty, trigger);
}

inline wire::CancelOrder cancel(SeqNo seq, Timestamp ts, OrderId id, AccountId account, InstrumentId instrument) {
  auto m = event<wire::CancelOrder>(seq, ts);
  m.order_id = id;
  m.account = account;
  m.instrument = instrument;
  return m;
}

inline wire::ModifyOrder modify(SeqNo seq, Timestamp ts, OrderId id, AccountId account, InstrumentId instrument,
                                Price new_price, Qty new_qty) {
  auto m = event<wire::ModifyOrder>(seq, ts);
  m.order_id = id;
  m.account = account;
  m.instrument = instrument;
  m.new_price = new_price;
  m.new_qty = new_qty;
  return m;
}

inline wire::MassCancel mass_cancel(SeqNo seq, Timestamp ts, AccountId account,
                                    InstrumentId instrument = kAllInstruments) {
  auto m = event<wire::MassCancel>(seq, ts);
  m.account = account;
  m.instrument = instrument;
  return m;
}

inline wire::IndexPrice index_price(SeqNo seq, Timestamp ts, InstrumentId instrument, Price price) {
  auto m = event<wire::IndexPrice>(seq, ts);
  m.instrument = instrument;
  m.price = price;
  return m;
}

inline wire::FundingRate funding_rate(SeqNo seq, Timestamp ts, InstrumentId instrument, Rate rate) {
  auto m = event<wire::FundingRate>(seq, ts);
  m.instrument = instrument;
  m.rate = rate;
  return m;
}

inline wire::Heartbeat heartbeat(SeqNo seq, Timestamp ts) { return event<wire::Heartbeat>(seq, ts); }

}  // namespace cascade::testing
