// Reference engine. Sections follow docs/matching.md; each rule cites the sentence it
// implements where that helps.
//
// Readings of points the document leaves open (the engine must agree):
//  - The first input passes the clock check whatever its ts_ns; equal timestamps pass.
//  - Rejected carries the input's order id (transfer id for transfers), client_order_id (new
//    orders), and the account and instrument fields the input has, else 0 — for every reason.
//  - BalanceChange.delta is +amount / -amount; a deposit that would overflow the balance is
//    InvalidAmount.
//  - Stops never trigger on an instrument that has not traded yet (there is no last price).
//  - A triggered stop is not validated again (its limit price is not re-banded).
//  - A re-priced modify emits OrderModified before the events of its re-entry, and keeps its
//    acceptance rank for mass cancels.
//  - Fill.flags has fill_flags::kStopTriggered when the taker is a stop that just triggered.
//  - OrderAccepted echoes the order's fields as received (a market order's price 0 stays 0).
//  - Market data is the difference between the books before and after the input.
//  - Accepted instrument, index price, funding rate and account settings events write nothing;
//    margin_mode and role must be 0 or 1.
#include "support/reference_engine.hpp"

#include <algorithm>
#include <iterator>
#include <set>

namespace cascade::testing {

using wire::BalanceReason;
using wire::CancelReason;
using wire::RejectReason;
namespace fill_flags = wire::fill_flags;

namespace {

using wire::MsgType;
using I128 = __int128;

// --- integer helpers -------------------------------------------------------------------------

I128 floor_div(I128 a, I128 b) {  // b > 0
  I128 q = a / b;
  if (a % b != 0 && a < 0) --q;
  return q;
}
I128 floor_to_tick(I128 p, Price tick) { return floor_div(p, tick) * tick; }
I128 ceil_to_tick(I128 p, Price tick) { return -floor_div(-p, tick) * tick; }
bool on_tick(Price p, Price tick) { return p % tick == 0; }
bool on_lot(Qty q, Qty lot) { return q % lot == 0; }
bool in_range(const wire::InstrumentDefinition& d, Price p) { return p >= d.min_price && p <= d.max_price; }

// --- what a Rejected says about the input it rejects ------------------------------------------

struct Identity {
  std::uint64_t id = 0;
  std::uint64_t client_order_id = 0;
  AccountId account = 0;
  InstrumentId instrument = 0;
};

Identity identity_of(const EventView& ev) {
  Identity r;
  switch (ev.type()) {
    case MsgType::InstrumentDefinition:
      r.instrument = ev.as<wire::InstrumentDefinition>().instrument;
      break;
    case MsgType::Deposit: {
      const auto& m = ev.as<wire::Deposit>();
      r.id = m.transfer_id;
      r.account = m.account;
      break;
    }
    case MsgType::Withdrawal: {
      const auto& m = ev.as<wire::Withdrawal>();
      r.id = m.transfer_id;
      r.account = m.account;
      break;
    }
    case MsgType::AccountSettings: {
      const auto& m = ev.as<wire::AccountSettings>();
      r.account = m.account;
      r.instrument = m.instrument;
      break;
    }
    case MsgType::NewOrder: {
      const auto& m = ev.as<wire::NewOrder>();
      r.id = m.order_id;
      r.client_order_id = m.client_order_id;
      r.account = m.account;
      r.instrument = m.instrument;
      break;
    }
    case MsgType::CancelOrder: {
      const auto& m = ev.as<wire::CancelOrder>();
      r.id = m.order_id;
      r.account = m.account;
      r.instrument = m.instrument;
      break;
    }
    case MsgType::ModifyOrder: {
      const auto& m = ev.as<wire::ModifyOrder>();
      r.id = m.order_id;
      r.account = m.account;
      r.instrument = m.instrument;
      break;
    }
    case MsgType::MassCancel: {
      const auto& m = ev.as<wire::MassCancel>();
      r.account = m.account;
      r.instrument = m.instrument;
      break;
    }
    case MsgType::IndexPrice:
      r.instrument = ev.as<wire::IndexPrice>().instrument;
      break;
    case MsgType::FundingRate:
      r.instrument = ev.as<wire::FundingRate>().instrument;
      break;
    default:
      break;
  }
  return r;
}

}  // namespace

// =============================================================================================
// Output
// =============================================================================================

// Header: seq = output counter, ts_ns = the input's ts_ns, ref = the input's seq, flags = 0.
template <class T>
void ReferenceEngine::emit(T msg) {
  msg.header.length = sizeof(T);
  msg.header.type = T::kType;
  msg.header.flags = 0;
  msg.header.reserved = 0;
  msg.header.seq = ++out_seq_;
  msg.header.ts_ns = current_.header().ts_ns;
  msg.header.ref = current_.header().seq;
  out_->append(msg);
}

void ReferenceEngine::reject(RejectReason reason) {
  const Identity who = identity_of(current_);
  auto r = wire::make<wire::Rejected>();
  r.id = who.id;
  r.client_order_id = who.client_order_id;
  r.account = who.account;
  r.instrument = who.instrument;
  r.reason = reason;
  r.input_type = current_.type();
  emit(r);
}

void ReferenceEngine::emit_cancelled(const Order& o, Qty qty, CancelReason reason) {
  auto c = wire::make<wire::OrderCancelled>();
  c.order_id = o.id;
  c.account = o.account;
  c.instrument = o.instrument;
  c.cancelled_qty = qty;
  c.reason = reason;
  c.side = o.side;
  emit(c);
}

ReferenceEngine::Snapshot ReferenceEngine::snapshot(InstrumentId id) const {
  Snapshot s;
  const Book& book = instruments_.at(id).book;
  auto totals = [&](const std::map<Price, Level>& side, auto& dst) {
    for (const auto& [price, level] : side) {
      Qty q = 0;
      for (const Order& o : level) q += o.qty;
      dst[price] = {q, static_cast<std::uint32_t>(level.size())};
    }
  };
  totals(book.bids, s.bids);
  totals(book.asks, s.asks);
  return s;
}

// Market data for one instrument: every level whose (qty, count) differs from `before`, bids
// from the highest price down, then asks from the lowest up; then TopOfBook if the best bid or
// ask changed.
void ReferenceEngine::emit_market_data(InstrumentId id, const Snapshot& before) {
  const Snapshot after = snapshot(id);

  using Totals = std::map<Price, std::pair<Qty, std::uint32_t>>;
  auto changed_prices = [](const Totals& a, const Totals& b) {
    std::set<Price> prices;
    for (const auto& [p, v] : a) {
      auto it = b.find(p);
      if (it == b.end() || it->second != v) prices.insert(p);
    }
    for (const auto& [p, v] : b)
      if (!a.count(p)) prices.insert(p);
    return prices;
  };
  auto level_msg = [&](Side side, Price price, const Totals& now) {
    auto d = wire::make<wire::DepthLevel>();
    d.instrument = id;
    d.side = side;
    d.price = price;
    auto it = now.find(price);
    if (it != now.end()) {
      d.qty = it->second.first;
      d.order_count = it->second.second;
    }
    emit(d);
  };
  const auto bid_changes = changed_prices(before.bids, after.bids);
  for (auto it = bid_changes.rbegin(); it != bid_changes.rend(); ++it) level_msg(Side::Buy, *it, after.bids);
  for (Price p : changed_prices(before.asks, after.asks)) level_msg(Side::Sell, p, after.asks);

  auto top_of = [](const Snapshot& s) {
    TopView t;
    if (!s.bids.empty()) {
      t.bid_price = s.bids.rbegin()->first;
      t.bid_qty = s.bids.rbegin()->second.first;
    }
    if (!s.asks.empty()) {
      t.ask_price = s.asks.begin()->first;
      t.ask_qty = s.asks.begin()->second.first;
    }
    return t;
  };
  const TopView t0 = top_of(before), t1 = top_of(after);
  if (t0.bid_price != t1.bid_price || t0.bid_qty != t1.bid_qty || t0.ask_price != t1.ask_price ||
      t0.ask_qty != t1.ask_qty) {
    auto t = wire::make<wire::TopOfBook>();
    t.instrument = id;
    t.bid_price = t1.bid_price;
    t.bid_qty = t1.bid_qty;
    t.ask_price = t1.ask_price;
    t.ask_qty = t1.ask_qty;
    emit(t);
  }
}

// =============================================================================================
// Driver: clock check, dispatch, market data
// =============================================================================================

void ReferenceEngine::process(const EventView& event, EventBuffer& out) {
  if (!wire::is_input(event.type())) return;  // output events are ignored
  current_ = event;
  out_ = &out;

  // "ts_ns lower than the previous accepted input's ts_ns -> Rejected(TimestampBackwards)";
  // an event that passes advances the clock even if a later check rejects it.
  const Timestamp ts = event.header().ts_ns;
  if (clock_set_ && ts < clock_) return reject(RejectReason::TimestampBackwards);
  clock_set_ = true;
  clock_ = ts;

  // Books this event may change, snapshotted for the market-data diff.
  std::vector<InstrumentId> touched;
  auto touch = [&](InstrumentId id) {
    if (find_instrument(id)) touched.push_back(id);
  };
  switch (event.type()) {
    case MsgType::NewOrder:
      touch(event.as<wire::NewOrder>().instrument);
      break;
    case MsgType::CancelOrder:
      touch(event.as<wire::CancelOrder>().instrument);
      break;
    case MsgType::ModifyOrder:
      touch(event.as<wire::ModifyOrder>().instrument);
      break;
    case MsgType::MassCancel: {
      const InstrumentId id = event.as<wire::MassCancel>().instrument;
      if (id == kAllInstruments) {
        for (const auto& [iid, ins] : instruments_) touched.push_back(iid);
      } else {
        touch(id);
      }
      break;
    }
    default:
      break;
  }
  std::vector<Snapshot> before;
  for (InstrumentId id : touched) before.push_back(snapshot(id));

  switch (event.type()) {
    case MsgType::InstrumentDefinition:
      on_instrument(event.as<wire::InstrumentDefinition>());
      break;
    case MsgType::Deposit:
      on_deposit(event.as<wire::Deposit>());
      break;
    case MsgType::Withdrawal:
      on_withdrawal(event.as<wire::Withdrawal>());
      break;
    case MsgType::AccountSettings:
      on_account_settings(event.as<wire::AccountSettings>());
      break;
    case MsgType::NewOrder:
      on_new_order(event.as<wire::NewOrder>());
      break;
    case MsgType::CancelOrder:
      on_cancel(event.as<wire::CancelOrder>());
      break;
    case MsgType::ModifyOrder:
      on_modify(event.as<wire::ModifyOrder>());
      break;
    case MsgType::MassCancel:
      on_mass_cancel(event.as<wire::MassCancel>());
      break;
    case MsgType::IndexPrice:
      on_index_price(event.as<wire::IndexPrice>());
      break;
    case MsgType::FundingRate:
      on_funding_rate(event.as<wire::FundingRate>());
      break;
    case MsgType::Heartbeat:
      break;
    default:
      break;
  }

  // "market data, per instrument whose book changed, instruments ascending" (touched is
  // ascending: one id, or the ordered map's keys). A rejected event changed nothing.
  for (std::size_t i = 0; i < touched.size(); ++i) emit_market_data(touched[i], before[i]);
}

// =============================================================================================
// Reference price and bands
// =============================================================================================

ReferenceEngine::Instrument* ReferenceEngine::find_instrument(InstrumentId id) {
  auto it = instruments_.find(id);
  return it == instruments_.end() ? nullptr : &it->second;
}
const ReferenceEngine::Instrument* ReferenceEngine::find_instrument(InstrumentId id) const {
  auto it = instruments_.find(id);
  return it == instruments_.end() ? nullptr : &it->second;
}

// Last trade price if traded, else last index price, else the definition's (0 = none).
Price ReferenceEngine::reference(const Instrument& ins) {
  if (ins.last != 0) return ins.last;
  if (ins.index != 0) return ins.index;
  return ins.def.reference_price;
}

// Limit price band: d = floor(ref * price_band / 1e8); [ref - d, ref + d] is accepted.
bool ReferenceEngine::in_band(const Instrument& ins, Price price) {
  const Price ref = reference(ins);
  if (ins.def.price_band <= 0 || ref == 0) return true;
  const I128 d = floor_div(I128{ref} * ins.def.price_band, kRateOne);
  return I128{price} <= ref + d && I128{price} >= ref - d;
}

namespace {
// Market order effective limit: the worst price or the range end, tightened by the market band.
// Kept in I128: ref +- d may leave the int64 range.
I128 effective_market_limit(const wire::InstrumentDefinition& def, Price ref, Side side, Price worst) {
  I128 limit = worst != 0 ? worst : (side == Side::Buy ? def.max_price : def.min_price);
  if (def.market_band > 0 && ref != 0) {
    const I128 d = floor_div(I128{ref} * def.market_band, kRateOne);
    if (side == Side::Buy)
      limit = std::min(limit, floor_to_tick(I128{ref} + d, def.tick_size));
    else
      limit = std::max(limit, ceil_to_tick(I128{ref} - d, def.tick_size));
  }
  return limit;
}
}  // namespace

bool ReferenceEngine::acceptable(Side taker_side, Price resting_price, Price limit) {
  return taker_side == Side::Buy ? resting_price <= limit : resting_price >= limit;
}

// =============================================================================================
// Validation and handlers
// =============================================================================================

void ReferenceEngine::on_instrument(const wire::InstrumentDefinition& m) {
  const auto bad = [&] { reject(RejectReason::InvalidInstrument); };
  if (m.instrument >= config_.max_instruments) return bad();
  if (m.price_decimals > 18 || m.qty_decimals > 18) return bad();
  if (m.tick_size <= 0 || m.lot_size <= 0) return bad();
  if (!(0 < m.min_price && m.min_price <= m.max_price)) return bad();
  if (!on_tick(m.min_price, m.tick_size) || !on_tick(m.max_price, m.tick_size)) return bad();
  const I128 levels = (I128{m.max_price} - m.min_price) / m.tick_size + 1;
  if (levels > config_.max_levels_per_book) return bad();
  if (m.max_order_qty <= 0 || !on_lot(m.max_order_qty, m.lot_size)) return bad();
  if (m.tier_count > wire::kMaxTiers) return bad();
  // Redefining an instrument that has live orders (resting or untriggered stops).
  for (const auto& [id, o] : orders_)
    if (o->instrument == m.instrument) return bad();
  // The new definition replaces the old one; last price and index are kept.
  instruments_[m.instrument].def = m;
}

void ReferenceEngine::on_deposit(const wire::Deposit& m) {
  if (m.account >= config_.max_accounts) return reject(RejectReason::UnknownAccount);
  if (m.amount <= 0) return reject(RejectReason::InvalidAmount);
  const Money before = balance(m.account);
  Money after = 0;
  if (__builtin_add_overflow(before, m.amount, &after)) return reject(RejectReason::InvalidAmount);
  balances_[m.account] = after;
  auto b = wire::make<wire::BalanceChange>();
  b.account = m.account;
  b.reason = BalanceReason::Deposit;
  b.delta = m.amount;
  b.balance = after;
  emit(b);
}

void ReferenceEngine::on_withdrawal(const wire::Withdrawal& m) {
  if (m.account >= config_.max_accounts) return reject(RejectReason::UnknownAccount);
  if (m.amount <= 0) return reject(RejectReason::InvalidAmount);
  const Money before = balance(m.account);
  if (m.amount > before) return reject(RejectReason::InsufficientFunds);
  balances_[m.account] = before - m.amount;
  auto b = wire::make<wire::BalanceChange>();
  b.account = m.account;
  b.reason = BalanceReason::Withdrawal;
  b.delta = -m.amount;
  b.balance = before - m.amount;
  emit(b);
}

void ReferenceEngine::on_account_settings(const wire::AccountSettings& m) {
  if (m.account >= config_.max_accounts) return reject(RejectReason::UnknownAccount);
  if (m.instrument != kAllInstruments && !find_instrument(m.instrument)) return reject(RejectReason::UnknownInstrument);
  const auto mode = static_cast<std::uint8_t>(m.margin_mode);
  const auto role = static_cast<std::uint8_t>(m.role);
  if (mode > 1 || role > 1) return reject(RejectReason::InvalidSettings);
  // Accepted; margin settings have no effect on matching.
}

void ReferenceEngine::on_index_price(const wire::IndexPrice& m) {
  Instrument* ins = find_instrument(m.instrument);
  if (!ins) return reject(RejectReason::UnknownInstrument);
  if (m.price <= 0) return reject(RejectReason::InvalidPrice);
  ins->index = m.price;
}

void ReferenceEngine::on_funding_rate(const wire::FundingRate& m) {
  if (!find_instrument(m.instrument)) return reject(RejectReason::UnknownInstrument);
}

void ReferenceEngine::on_new_order(const wire::NewOrder& m) {
  using R = RejectReason;
  // 1. instrument defined
  Instrument* ins = find_instrument(m.instrument);
  if (!ins) return reject(R::UnknownInstrument);
  const auto& def = ins->def;
  // 2. account in range
  if (m.account >= config_.max_accounts) return reject(R::UnknownAccount);
  // 3. order id non-zero
  if (m.order_id == 0) return reject(R::InvalidOrderId);
  // 4. enumerations
  const auto side = static_cast<std::uint8_t>(m.side);
  const auto type = static_cast<std::uint8_t>(m.order_type);
  const auto tif = static_cast<std::uint8_t>(m.tif);
  const auto stp = static_cast<std::uint8_t>(m.stp);
  if (side != 1 && side != 2) return reject(R::InvalidSide);
  if (type < 1 || type > 4) return reject(R::InvalidOrderType);
  if (tif < 1 || tif > 3) return reject(R::InvalidTimeInForce);
  if (stp > 3) return reject(R::InvalidStp);
  const bool is_market = m.order_type == OrderType::Market || m.order_type == OrderType::StopMarket;
  const bool is_stop = m.order_type == OrderType::StopMarket || m.order_type == OrderType::StopLimit;
  const bool post_only = (m.flags & order_flags::kPostOnly) != 0;
  // 5. flags
  if (m.flags & ~order_flags::kAll) return reject(R::InvalidFlags);
  if (post_only && !(m.order_type == OrderType::Limit && m.tif == TimeInForce::GTC)) return reject(R::InvalidFlags);
  // 6. market and stop-market are IOC or FOK
  if (is_market && m.tif == TimeInForce::GTC) return reject(R::InvalidTimeInForce);
  // 7. quantity
  if (m.qty <= 0 || m.qty > def.max_order_qty) return reject(R::InvalidQuantity);
  if (!on_lot(m.qty, def.lot_size)) return reject(R::QuantityOffLot);
  // 8. price
  if (!is_market) {
    if (m.price <= 0) return reject(R::InvalidPrice);
    if (!on_tick(m.price, def.tick_size)) return reject(R::PriceOffTick);
    if (!in_range(def, m.price)) return reject(R::PriceOutOfRange);
    if (!in_band(*ins, m.price)) return reject(R::PriceOutOfBand);
  } else if (m.price != 0) {
    if (m.price < 0) return reject(R::InvalidPrice);
    if (!on_tick(m.price, def.tick_size)) return reject(R::PriceOffTick);
    if (!in_range(def, m.price)) return reject(R::PriceOutOfRange);
  }
  // 9. trigger
  if (is_stop) {
    if (m.trigger_price <= 0 || !on_tick(m.trigger_price, def.tick_size) || !in_range(def, m.trigger_price))
      return reject(R::InvalidTriggerPrice);
  } else if (m.trigger_price != 0) {
    return reject(R::InvalidTriggerPrice);
  }
  // 10. id not live
  if (orders_.count(m.order_id)) return reject(R::DuplicateOrderId);
  // 11. capacity, for an order that could rest
  const bool could_rest = (m.order_type == OrderType::Limit && m.tif == TimeInForce::GTC) || is_stop;
  if (could_rest && orders_.size() >= config_.max_orders) return reject(R::OrderCapacity);
  // 12. post-only would take, whoever owns the resting orders
  if (post_only) {
    if (m.side == Side::Buy && !ins->book.asks.empty() && m.price >= ins->book.asks.begin()->first)
      return reject(R::PostOnlyWouldTake);
    if (m.side == Side::Sell && !ins->book.bids.empty() && m.price <= ins->book.bids.rbegin()->first)
      return reject(R::PostOnlyWouldTake);
  }

  auto a = wire::make<wire::OrderAccepted>();
  a.order_id = m.order_id;
  a.client_order_id = m.client_order_id;
  a.account = m.account;
  a.instrument = m.instrument;
  a.price = m.price;
  a.qty = m.qty;
  a.trigger_price = m.trigger_price;
  a.side = m.side;
  a.order_type = m.order_type;
  a.tif = m.tif;
  a.flags = m.flags;
  a.stp = m.stp;
  emit(a);

  Order o;
  o.id = m.order_id;
  o.client_order_id = m.client_order_id;
  o.account = m.account;
  o.instrument = m.instrument;
  o.side = m.side;
  o.type = m.order_type;
  o.tif = m.tif;
  o.flags = m.flags;
  o.stp = m.stp;
  o.price = m.price;
  o.qty = m.qty;
  o.trigger = m.trigger_price;
  o.accepted = ++accept_counter_;
  if (is_stop) {
    // Waits off book; an arriving stop whose condition holds triggers in check_stops below.
    o.waiting_stop = true;
    ins->stops.push_back(o);
    orders_[o.id] = &ins->stops.back();
  } else {
    run_incoming(o, 0);
  }
  check_stops(m.instrument);
}

void ReferenceEngine::on_cancel(const wire::CancelOrder& m) {
  if (!find_instrument(m.instrument)) return reject(RejectReason::UnknownInstrument);
  if (m.account >= config_.max_accounts) return reject(RejectReason::UnknownAccount);
  auto it = orders_.find(m.order_id);
  if (it == orders_.end() || it->second->instrument != m.instrument) return reject(RejectReason::UnknownOrder);
  if (it->second->account != m.account) return reject(RejectReason::NotOrderOwner);
  cancel(m.order_id, CancelReason::User);
}

void ReferenceEngine::on_modify(const wire::ModifyOrder& m) {
  using R = RejectReason;
  Instrument* ins = find_instrument(m.instrument);
  if (!ins) return reject(R::UnknownInstrument);
  const auto& def = ins->def;
  if (m.account >= config_.max_accounts) return reject(R::UnknownAccount);
  auto it = orders_.find(m.order_id);
  if (it == orders_.end() || it->second->instrument != m.instrument) return reject(R::UnknownOrder);
  Order& o = *it->second;
  if (o.account != m.account) return reject(R::NotOrderOwner);
  if (o.waiting_stop) return reject(R::InvalidOrderType);
  if (m.new_qty <= 0 || m.new_qty > def.max_order_qty) return reject(R::InvalidQuantity);
  if (!on_lot(m.new_qty, def.lot_size)) return reject(R::QuantityOffLot);
  if (m.new_price <= 0) return reject(R::InvalidPrice);
  if (!on_tick(m.new_price, def.tick_size)) return reject(R::PriceOffTick);
  if (!in_range(def, m.new_price)) return reject(R::PriceOutOfRange);
  if (!in_band(*ins, m.new_price)) return reject(R::PriceOutOfBand);
  if (m.new_price == o.price && m.new_qty == o.qty) return reject(R::ModifyNoChange);
  if (o.flags & order_flags::kPostOnly) {
    if (o.side == Side::Buy && !ins->book.asks.empty() && m.new_price >= ins->book.asks.begin()->first)
      return reject(R::PostOnlyWouldTake);
    if (o.side == Side::Sell && !ins->book.bids.empty() && m.new_price <= ins->book.bids.rbegin()->first)
      return reject(R::PostOnlyWouldTake);
  }

  auto mod = wire::make<wire::OrderModified>();
  mod.order_id = o.id;
  mod.account = o.account;
  mod.instrument = o.instrument;
  mod.new_price = m.new_price;
  mod.new_qty = m.new_qty;

  // Same price and a smaller quantity: reduced in place, time priority kept.
  if (m.new_price == o.price && m.new_qty < o.qty) {
    o.qty = m.new_qty;
    mod.priority_kept = 1;
    emit(mod);
    return;
  }
  // Otherwise it leaves the book and re-enters as an incoming GTC order.
  mod.priority_kept = 0;
  emit(mod);
  Order moving = take_out(o.id);
  moving.price = m.new_price;
  moving.qty = m.new_qty;
  run_incoming(moving, 0);
  check_stops(m.instrument);
}

void ReferenceEngine::on_mass_cancel(const wire::MassCancel& m) {
  if (m.account >= config_.max_accounts) return reject(RejectReason::UnknownAccount);
  if (m.instrument != kAllInstruments && !find_instrument(m.instrument)) return reject(RejectReason::UnknownInstrument);
  // Every live order of the account (resting and untriggered stops), in acceptance order.
  std::vector<std::pair<std::uint64_t, OrderId>> victims;
  for (const auto& [id, o] : orders_)
    if (o->account == m.account && (m.instrument == kAllInstruments || o->instrument == m.instrument))
      victims.push_back({o->accepted, id});
  std::sort(victims.begin(), victims.end());
  for (const auto& [rank, id] : victims) cancel(id, CancelReason::MassCancel);
}

// =============================================================================================
// Matching
// =============================================================================================

void ReferenceEngine::rest(const Order& o) {
  Book& book = instruments_.at(o.instrument).book;
  Level& level = (o.side == Side::Buy ? book.bids : book.asks)[o.price];
  level.push_back(o);  // tail of its level
  level.back().waiting_stop = false;
  orders_[o.id] = &level.back();
}

ReferenceEngine::Order ReferenceEngine::take_out(OrderId id) {
  const Order o = *orders_.at(id);
  orders_.erase(id);
  Instrument& ins = instruments_.at(o.instrument);
  auto same_id = [&](const Order& x) { return x.id == id; };
  if (o.waiting_stop) {
    ins.stops.remove_if(same_id);
    return o;
  }
  auto& side = o.side == Side::Buy ? ins.book.bids : ins.book.asks;
  auto level = side.find(o.price);
  level->second.remove_if(same_id);
  if (level->second.empty()) side.erase(level);
  return o;
}

void ReferenceEngine::cancel(OrderId id, CancelReason reason) {
  const Order o = take_out(id);
  emit_cancelled(o, o.qty, reason);
}

// FOK: walk the opposite side in priority order over acceptable prices, summing other accounts'
// quantity; an own order stops the walk (CancelIncoming/CancelBoth/Default) or is skipped
// (CancelResting).
bool ReferenceEngine::fok_fillable(const Order& o, const Instrument& ins, Price limit) const {
  I128 sum = 0;
  auto walk_level = [&](const Level& level) {  // false: the walk stops here
    for (const Order& r : level) {
      if (r.account == o.account) {
        if (o.stp == SelfTradePrevention::CancelResting) continue;
        return false;
      }
      sum += r.qty;
    }
    return true;
  };
  if (o.side == Side::Buy) {
    for (auto it = ins.book.asks.begin(); it != ins.book.asks.end() && acceptable(o.side, it->first, limit); ++it)
      if (!walk_level(it->second)) break;
  } else {
    for (auto it = ins.book.bids.rbegin(); it != ins.book.bids.rend() && acceptable(o.side, it->first, limit); ++it)
      if (!walk_level(it->second)) break;
  }
  return sum >= o.qty;
}

// An incoming order (new order, re-priced modify, triggered stop): match, then handle the
// remainder. `o` is not on the book and not in orders_ while it matches.
void ReferenceEngine::run_incoming(Order o, std::uint8_t fill_flags) {
  Instrument& ins = instruments_.at(o.instrument);
  const bool is_market = o.type == OrderType::Market || o.type == OrderType::StopMarket;
  // The effective limit, with the reference at the moment the order starts matching.
  const I128 wide_limit = is_market ? effective_market_limit(ins.def, reference(ins), o.side, o.price) : I128{o.price};
  // Clamping is exact: book prices are positive, and a limit past INT64_MAX only comes from a
  // tick grid that does not contain INT64_MAX.
  const Price limit = wide_limit > I128{INT64_MAX}   ? INT64_MAX
                      : wide_limit < I128{INT64_MIN} ? INT64_MIN
                                                     : static_cast<Price>(wide_limit);

  if (o.tif == TimeInForce::FOK && !fok_fillable(o, ins, limit)) {
    emit_cancelled(o, o.qty, CancelReason::FokNotFilled);
    return;
  }

  auto& opposite = o.side == Side::Buy ? ins.book.asks : ins.book.bids;
  bool filled_any = false;
  while (o.qty > 0 && !opposite.empty()) {
    auto best = o.side == Side::Buy ? opposite.begin() : std::prev(opposite.end());
    if (!acceptable(o.side, best->first, limit)) break;
    Order& maker = best->second.front();  // head of the best level: FIFO

    if (maker.account == o.account) {  // self-trade prevention, by the incoming order's stp
      if (o.stp == SelfTradePrevention::CancelResting) {
        cancel(maker.id, CancelReason::SelfTrade);
        continue;
      }
      if (o.stp == SelfTradePrevention::CancelBoth) cancel(maker.id, CancelReason::SelfTrade);
      emit_cancelled(o, o.qty, CancelReason::SelfTrade);  // nothing rests
      return;
    }

    // The fill is at the resting order's price for min(taker remaining, maker remaining).
    const Qty q = std::min(o.qty, maker.qty);
    maker.qty -= q;
    o.qty -= q;
    ins.last = maker.price;
    filled_any = true;
    auto f = wire::make<wire::Fill>();
    f.maker_order_id = maker.id;
    f.taker_order_id = o.id;
    f.maker_account = maker.account;
    f.taker_account = o.account;
    f.instrument = o.instrument;
    f.aggressor_side = o.side;
    f.flags = fill_flags;
    f.price = maker.price;
    f.qty = q;
    f.maker_leaves = maker.qty;
    f.taker_leaves = o.qty;
    emit(f);
    if (maker.qty == 0) take_out(maker.id);  // a partly filled maker keeps its place at the head
  }
  if (o.qty == 0) return;

  if (!is_market) {
    if (o.tif == TimeInForce::GTC)
      rest(o);
    else
      emit_cancelled(o, o.qty, CancelReason::IocRemainder);
  } else {
    emit_cancelled(o, o.qty, filled_any ? CancelReason::IocRemainder : CancelReason::NoLiquidity);
  }
}

// =============================================================================================
// Stop orders
// =============================================================================================

// While any stop of the instrument is triggered by the last trade price, take one: buy stops
// before sell stops; lowest buy trigger / highest sell trigger; ties by acceptance order.
void ReferenceEngine::check_stops(InstrumentId instrument) {
  Instrument& ins = instruments_.at(instrument);
  for (;;) {
    if (ins.last == 0) return;  // no trade yet: no last trade price to reach a trigger
    const Order* pick = nullptr;
    for (const Order& s : ins.stops) {  // in acceptance order: the first of equals wins
      if (s.side == Side::Buy && ins.last >= s.trigger && (!pick || s.trigger < pick->trigger)) pick = &s;
    }
    if (!pick) {
      for (const Order& s : ins.stops) {
        if (s.side == Side::Sell && ins.last <= s.trigger && (!pick || s.trigger > pick->trigger)) pick = &s;
      }
    }
    if (!pick) return;

    Order o = take_out(pick->id);
    o.waiting_stop = false;
    auto t = wire::make<wire::StopTriggered>();
    t.order_id = o.id;
    t.account = o.account;
    t.instrument = o.instrument;
    t.trigger_price = o.trigger;
    t.last_price = ins.last;
    emit(t);
    // stop-market -> market with the stop's price as worst price; stop-limit -> limit.
    run_incoming(o, fill_flags::kStopTriggered);
  }
}

// =============================================================================================
// Queries
// =============================================================================================

const wire::InstrumentDefinition* ReferenceEngine::instrument(InstrumentId id) const {
  const Instrument* ins = find_instrument(id);
  return ins ? &ins->def : nullptr;
}

std::vector<LevelView> ReferenceEngine::depth(InstrumentId id, Side side) const {
  std::vector<LevelView> r;
  const Instrument* ins = find_instrument(id);
  if (!ins) return r;
  auto add = [&](Price p, const Level& level) {
    Qty q = 0;
    for (const Order& o : level) q += o.qty;
    r.push_back({p, q, static_cast<std::uint32_t>(level.size())});
  };
  if (side == Side::Buy)
    for (auto it = ins->book.bids.rbegin(); it != ins->book.bids.rend(); ++it) add(it->first, it->second);
  else
    for (const auto& [p, level] : ins->book.asks) add(p, level);
  return r;
}

TopView ReferenceEngine::top(InstrumentId id) const {
  TopView t;
  auto bids = depth(id, Side::Buy);
  auto asks = depth(id, Side::Sell);
  if (!bids.empty()) t.bid_price = bids[0].price, t.bid_qty = bids[0].qty;
  if (!asks.empty()) t.ask_price = asks[0].price, t.ask_qty = asks[0].qty;
  return t;
}

Price ReferenceEngine::last_price(InstrumentId id) const {
  const Instrument* ins = find_instrument(id);
  return ins ? ins->last : 0;
}

Money ReferenceEngine::balance(AccountId account) const {
  auto it = balances_.find(account);
  return it == balances_.end() ? 0 : it->second;
}

}  // namespace cascade::testing
