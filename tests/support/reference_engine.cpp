// Reference engine. Sections follow docs/matching.md and docs/margin.md; each rule cites the
// sentence it implements where that helps.
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
//  - Accepted instrument and account settings events write nothing (an index price or funding
//    round writes only what docs/margin.md names); margin_mode and role must be 0 or 1.
//
// docs/margin.md states its own readings (value_up, the order of the pre-trade checks,
// MarginUpdate for every account an output event names, ...). Left open there and read here:
//  - The mark is a function of the state (index, best bid/ask, last trade, definition); a
//    MarkPrice goes out for every instrument whose (mark, index) differs from before the event.
//  - Reduce-only capacity is per side: |s| on the side opposite the position, 0 on the other
//    (and on both when flat); "newest" is the highest acceptance rank (kept through modifies).
//  - A per-instrument account_settings always needs a position record (it stores the setting).
//  - Amounts that leave int64 anywhere else are outside the contract: the reference throws
//    std::overflow_error, and the generator never gets there.
#include "support/reference_engine.hpp"

#include <algorithm>
#include <limits>
#include <iterator>
#include <set>
#include <stdexcept>
#include <string>

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
I128 ceil_div(I128 a, I128 b) { return -floor_div(-a, b); }  // b > 0
I128 floor_to_tick(I128 p, Price tick) { return floor_div(p, tick) * tick; }
I128 ceil_to_tick(I128 p, Price tick) { return -floor_div(-p, tick) * tick; }
bool on_tick(Price p, Price tick) { return p % tick == 0; }
bool on_lot(Qty q, Qty lot) { return q % lot == 0; }
bool in_range(const wire::InstrumentDefinition& d, Price p) { return p >= d.min_price && p <= d.max_price; }

// --- money (docs/margin.md, "Units") ---------------------------------------------------------

// A product that does not fit 128 bits, or an amount that does not fit the wire's int64, is a
// case the contract does not cover: the generator must never produce it.
[[noreturn]] void out_of_range(const char* what) {
  throw std::overflow_error(std::string("reference engine: ") + what + " out of range");
}
I128 mul(I128 a, I128 b) {
  I128 r;
  if (__builtin_mul_overflow(a, b, &r)) out_of_range("128-bit product");
  return r;
}
Money narrow(I128 v, const char* what) {
  if (v > INT64_MAX || v < INT64_MIN) out_of_range(what);
  return static_cast<Money>(v);
}
I128 pow10(int e) {
  I128 r = 1;
  for (int i = 0; i < e; ++i) r *= 10;
  return r;
}
// value(p, q): p * q * 10^m for m >= 0, else floor (or ceil) of p * q / 10^-m. p, q >= 0.
I128 value(const wire::InstrumentDefinition& d, I128 p, I128 q, bool round_up = false) {
  const int m = 6 - d.price_decimals - d.qty_decimals;
  const I128 pq = mul(p, q);
  if (m >= 0) return mul(pq, pow10(m));
  return round_up ? ceil_div(pq, pow10(-m)) : floor_div(pq, pow10(-m));
}
I128 sign(I128 v) { return v > 0 ? 1 : v < 0 ? -1 : 0; }
Side opposite_side(Side s) { return s == Side::Buy ? Side::Sell : Side::Buy; }
I128 abs128(I128 v) { return v < 0 ? -v : v; }

// The bracket of a notional: the first tier with N <= max_notional, else the last one.
const wire::MarginTier& bracket(const wire::InstrumentDefinition& d, I128 n) {
  for (int k = 0; k < d.tier_count; ++k)
    if (n <= d.tiers[k].max_notional) return d.tiers[k];
  return d.tiers[d.tier_count - 1];
}
// IM(N) = ceil(N * imr / 1e8); no tiers: 0.
I128 initial_margin(const wire::InstrumentDefinition& d, I128 n) {
  if (d.tier_count == 0) return 0;
  return ceil_div(mul(n, bracket(d, n).imr), kRateOne);
}
// MM(N) = max(0, ceil(N * mmr / 1e8) - maint_amount); no tiers: 0.
I128 maintenance_margin(const wire::InstrumentDefinition& d, I128 n) {
  if (d.tier_count == 0) return 0;
  const wire::MarginTier& t = bracket(d, n);
  return std::max<I128>(0, ceil_div(mul(n, t.mmr), kRateOne) - t.maint_amount);
}
// fee(V, r): ceil(V * r / 1e8), a rebate (r < 0) rounded down.
I128 fee(I128 v, Rate r) {
  if (r >= 0) return ceil_div(mul(v, r), kRateOne);
  return -floor_div(mul(v, -I128{r}), kRateOne);
}
// "max_notional strictly increasing and > 0; 0 < mmr <= imr <= 1e8; imr and mmr
// non-decreasing; maint_amount_0 = 0 and maint_amount_k = maint_amount_{k-1} +
// floor(max_notional_{k-1} * (mmr_k - mmr_{k-1}) / 1e8); every entry past tier_count is zero".
bool tiers_valid(const wire::InstrumentDefinition& d) {
  for (int k = 0; k < d.tier_count; ++k) {
    const wire::MarginTier& t = d.tiers[k];
    if (t.max_notional <= 0 || !(0 < t.mmr && t.mmr <= t.imr && t.imr <= kRateOne)) return false;
    if (k == 0) {
      if (t.maint_amount != 0) return false;
      continue;
    }
    const wire::MarginTier& p = d.tiers[k - 1];
    if (t.max_notional <= p.max_notional || t.imr < p.imr || t.mmr < p.mmr) return false;
    const I128 want = I128{p.maint_amount} + floor_div(I128{p.max_notional} * (I128{t.mmr} - p.mmr), kRateOne);
    if (I128{t.maint_amount} != want) return false;
  }
  for (int k = d.tier_count; k < wire::kMaxTiers; ++k) {
    const wire::MarginTier& t = d.tiers[k];
    if (t.max_notional != 0 || t.imr != 0 || t.mmr != 0 || t.maint_amount != 0) return false;
  }
  return true;
}

// --- products beyond 128 bits: funding amounts and the notional bound ----------------------

using U128 = unsigned __int128;
struct U256 {
  U128 hi = 0, lo = 0;
};
U256 mul_wide(U128 a, U128 b) {  // schoolbook on 64-bit limbs
  const U128 mask = ~std::uint64_t{0};
  const U128 p00 = (a & mask) * (b & mask), p01 = (a & mask) * (b >> 64);
  const U128 p10 = (a >> 64) * (b & mask), p11 = (a >> 64) * (b >> 64);
  const U128 mid = (p00 >> 64) + (p01 & mask) + (p10 & mask);
  return {p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64), (p00 & mask) | (mid << 64)};
}
// n / d and n % d by binary long division; the quotient must fit 127 bits.
std::pair<I128, U128> divmod_wide(U256 n, U128 d) {
  U256 q;
  U128 r = 0;
  for (int bit = 255; bit >= 0; --bit) {
    const U128 top = r >> 127;
    r = (r << 1) | (((bit >= 128 ? n.hi >> (bit - 128) : n.lo >> bit)) & 1);
    if (top || r >= d) {
      r -= d;
      (bit >= 128 ? q.hi : q.lo) |= U128{1} << (bit % 128);
    }
  }
  if (q.hi != 0 || (q.lo >> 127) != 0) out_of_range("quotient");
  return {static_cast<I128>(q.lo), r};
}
// a * b / d rounded down or up, for non-negative a, b and positive d.
I128 muldiv(I128 a, I128 b, I128 d, bool round_up) {
  const auto [q, r] = divmod_wide(mul_wide(static_cast<U128>(a), static_cast<U128>(b)), static_cast<U128>(d));
  return round_up && r != 0 ? q + 1 : q;
}

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
  // "The first input event with ts_ns >= until_ns emits CircuitBreaker(paused = 0) for the
  // instrument before its own events".
  circuit_resume();

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
  std::map<InstrumentId, Snapshot> before;
  for (InstrumentId id : touched) before.emplace(id, snapshot(id));
  // Marks before the event, for the MarkPrice difference.
  const std::size_t output_start = out.size();
  std::map<InstrumentId, std::pair<Price, Price>> marks_before;  // (mark, index)
  for (const auto& [id, ins] : instruments_) marks_before[id] = {mark_of(ins), ins.index};

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

  // docs/liquidation.md: the cascade runs after the event's own processing. It may change any
  // book, so the books the event did not touch are snapshotted first (they are unchanged).
  if (mark_stop_triggered() || (config_.liquidation && !units_below().empty())) {
    for (const auto& [id, ins] : instruments_)
      if (!before.count(id)) before.emplace(id, snapshot(id));
    run_cascade();
  }

  // "At the end of the input event, before market data: one MarginUpdate per account named by
  // an output event of this input event ... in ascending account order".
  emit_margin_updates(output_start);

  // "market data, per instrument whose book changed, instruments ascending". A book that
  // ends as it began emits nothing.
  for (const auto& [id, snap] : before) emit_market_data(id, snap);

  // "published together in a MarkPrice event whenever the mark or the index changes (after the
  // event's market data)": instruments ascending, compared with before the event.
  for (const auto& [id, ins] : instruments_) {
    const std::pair<Price, Price> now{mark_of(ins), ins.index};
    auto it = marks_before.find(id);
    const std::pair<Price, Price> was = it == marks_before.end() ? std::pair<Price, Price>{0, 0} : it->second;
    if (now == was) continue;
    auto mp = wire::make<wire::MarkPrice>();
    mp.instrument = id;
    mp.mark = now.first;
    mp.index = ins.index;
    mp.last = ins.last;
    emit(mp);
  }
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
  // docs/margin.md: brackets, "mark_band must lie in [0, 1e8]", "Fee rates must lie in
  // [-1e8, 1e8]", and a redefinition with open positions keeps its decimals.
  if (!tiers_valid(m)) return bad();
  if (m.mark_band < 0 || m.mark_band > kRateOne) return bad();
  for (const Rate fee_rate : {m.maker_fee, m.taker_fee})
    if (fee_rate < -kRateOne || fee_rate > kRateOne) return bad();
  if (const Instrument* old = find_instrument(m.instrument)) {
    bool open = false;
    for (const auto& [id, acc] : accounts_) open = open || position_of(id, m.instrument).size != 0;
    if (open && (m.price_decimals != old->def.price_decimals || m.qty_decimals != old->def.qty_decimals))
      return bad();
  }
  // Redefining an instrument that has live orders (resting or untriggered stops).
  for (const auto& [id, o] : orders_)
    if (o->instrument == m.instrument) return bad();
  // The new definition replaces the old one; last price and index are kept. The circuit
  // breaker keeps a pause; its next window starts at the next trade.
  Instrument& ins = instruments_[m.instrument];
  ins.def = m;
  ins.window_set = false;
}

void ReferenceEngine::on_deposit(const wire::Deposit& m) {
  if (m.account >= config_.max_accounts) return reject(RejectReason::UnknownAccount);
  if (m.amount <= 0) return reject(RejectReason::InvalidAmount);
  const Money before = balance(m.account);
  Money after = 0;
  if (__builtin_add_overflow(before, m.amount, &after)) return reject(RejectReason::InvalidAmount);
  // "A deposit that would overflow the balance, or the engine's running total of deposits, is
  // InvalidAmount."
  if (totals_.deposits + m.amount > INT64_MAX) return reject(RejectReason::InvalidAmount);
  account(m.account).collateral = after;
  totals_.deposits += m.amount;
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
  // "allowed when amount <= min(C, equity) - IMR, else InsufficientFunds" (cross equity, IMR).
  if (I128{m.amount} > std::min<I128>(before, equity(m.account)) - initial_requirement(m.account))
    return reject(RejectReason::InsufficientFunds);
  account(m.account).collateral = before - m.amount;
  totals_.withdrawals += m.amount;
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
  // "only while the account has no position and no orders there": refused when an instrument
  // whose effective mode would change has a position or live orders of the account.
  Account after = accounts_.count(m.account) ? accounts_.at(m.account) : Account{};
  if (m.instrument == kAllInstruments)
    after.default_mode = m.margin_mode;
  else
    after.modes[m.instrument] = m.margin_mode;
  auto mode_in = [](const Account& acc, InstrumentId i) {
    auto it = acc.modes.find(i);
    return it != acc.modes.end() ? it->second : acc.default_mode;
  };
  for (const auto& [id, ins] : instruments_) {
    const wire::MarginMode now = is_isolated(m.account, id) ? wire::MarginMode::Isolated : wire::MarginMode::Cross;
    if (mode_in(after, id) == now) continue;
    bool busy = position_of(m.account, id).size != 0;
    for (const auto& [oid, o] : orders_) busy = busy || (o->account == m.account && o->instrument == id);
    if (busy) return reject(RejectReason::InvalidSettings);
  }
  // "one that needs a new position record when the table is full is AccountCapacity".
  if (m.instrument != kAllInstruments && !has_record(m.account, m.instrument) && records_full())
    return reject(RejectReason::AccountCapacity);
  after.role = m.role;
  accounts_[m.account] = after;
}

void ReferenceEngine::on_index_price(const wire::IndexPrice& m) {
  Instrument* ins = find_instrument(m.instrument);
  if (!ins) return reject(RejectReason::UnknownInstrument);
  if (m.price <= 0) return reject(RejectReason::InvalidPrice);
  ins->index = m.price;
}

// Funding: every account with a position, ascending. "The exact amount is
// value(M, |s|) * |f| / 1e8, computed from M * |s| * 10^m * |f| without rounding the value
// first"; the payer's amount rounded up, the receiver's down, the remainder to the insurance
// fund (one InsuranceFund(FundingRemainder) event when it is not 0).
void ReferenceEngine::on_funding_rate(const wire::FundingRate& m) {
  const Instrument* ins = find_instrument(m.instrument);
  if (!ins) return reject(RejectReason::UnknownInstrument);
  const Price mark = mark_of(*ins);
  const int e = 6 - ins->def.price_decimals - ins->def.qty_decimals;
  I128 remainder = 0;
  for (auto& [id, acc] : accounts_) {
    auto it = acc.positions.find(m.instrument);
    if (it == acc.positions.end() || it->second.size == 0) continue;
    const Qty s = it->second.size;
    const bool pays = (m.rate > 0 && s > 0) || (m.rate < 0 && s < 0);
    const I128 scaled_rate = abs128(m.rate) * pow10(std::max(e, 0));
    const I128 exact_num = mul(I128{mark}, abs128(s));  // times scaled_rate / (1e8 * 10^-m)
    const I128 amount_abs = muldiv(exact_num, scaled_rate, kRateOne * pow10(std::max(-e, 0)), pays);
    const I128 amount = pays ? -amount_abs : amount_abs;
    acc.collateral = narrow(acc.collateral + amount, "collateral");
    remainder -= amount;
    auto f = wire::make<wire::FundingPayment>();
    f.account = id;
    f.instrument = m.instrument;
    f.position = s;
    f.rate = m.rate;
    f.amount = narrow(amount, "funding payment");
    emit(f);
  }
  if (remainder != 0) {
    totals_.insurance_fund += remainder;
    auto fund = wire::make<wire::InsuranceFund>();
    fund.instrument = m.instrument;
    fund.reason = wire::InsuranceReason::FundingRemainder;
    fund.delta = narrow(remainder, "insurance fund");
    fund.balance = narrow(totals_.insurance_fund, "insurance fund");
    emit(fund);
  }
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
  if ((m.flags & order_flags::kMarkTrigger) && !is_stop) return reject(R::InvalidFlags);
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

  // Circuit breaker: while paused, an order that would take liquidity (a market order, or a
  // limit crossing the opposite best) is refused; stops wait off book and are accepted.
  if (!is_stop && takes_while_paused(*ins, m.side, is_market, m.price)) return reject(R::InstrumentPaused);

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
  o.waiting_stop = is_stop;
  // docs/margin.md, "Pre-trade risk": 1. a position record; 2. reduce-only (which skips 3 and
  // 4); 3. the notional bound; 4. the margin requirement.
  if (!has_record(m.account, m.instrument) && records_full()) return reject(R::AccountCapacity);
  if (m.flags & order_flags::kReduceOnly) {
    if (I128{m.qty} > reduce_only_capacity(m.account, m.instrument, m.side) -
                          reduce_only_open(m.account, m.instrument, m.side, 0))
      return reject(R::ReduceOnlyWouldIncrease);
  } else {
    if (!notional_bounded(o, 0)) return reject(R::NotionalOverflow);
    if (!margin_allows(o, 0)) return reject(R::InsufficientMargin);
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

  o.accepted = ++accept_counter_;
  if (is_stop) {
    // Waits off book; an arriving stop whose condition holds triggers in check_stops below.
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
  if (takes_while_paused(*ins, o.side, false, m.new_price)) return reject(R::InstrumentPaused);
  // docs/margin.md, "Pre-trade risk": the order as modified replaces the order as it was.
  Order changed = o;
  changed.price = m.new_price;
  changed.qty = m.new_qty;
  if (o.flags & order_flags::kReduceOnly) {
    if (I128{m.new_qty} > reduce_only_capacity(o.account, o.instrument, o.side) -
                              reduce_only_open(o.account, o.instrument, o.side, o.id))
      return reject(R::ReduceOnlyWouldIncrease);
  } else {
    if (!notional_bounded(changed, o.id)) return reject(R::NotionalOverflow);
    if (!margin_allows(changed, o.id)) return reject(R::InsufficientMargin);
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

// FOK: a dry run of the sweep. Walk the opposite side in priority order over acceptable
// prices, summing other accounts' quantity; an own order stops the walk
// (CancelIncoming/CancelBoth/Default) or is skipped (CancelResting). Each simulated fill moves
// the maker's simulated position and cancels its reduce-only orders newest first until they
// fit, as enforce_reduce_only does; a cancelled order adds nothing when the walk reaches it.
bool ReferenceEngine::fok_fillable(const Order& o, const Instrument& ins, Price limit) const {
  I128 sum = 0;
  std::map<AccountId, Qty> size;  // makers' simulated positions on this instrument
  std::set<OrderId> gone;         // filled or cancelled by the simulated sweep
  auto simulated_size = [&](AccountId a) {
    auto [it, fresh] = size.try_emplace(a, 0);
    if (fresh) it->second = position_of(a, o.instrument).size;
    return it;
  };
  auto enforce = [&](AccountId a, Side side) {
    for (;;) {
      const Qty s = simulated_size(a)->second;
      const I128 capacity = side == Side::Sell ? (s > 0 ? s : 0) : (s < 0 ? -s : 0);
      I128 open = 0;
      const Order* newest = nullptr;
      for (const auto& [id, r] : orders_)
        if (r->account == a && r->instrument == o.instrument && r->side == side &&
            (r->flags & order_flags::kReduceOnly) && !gone.count(id)) {
          open += r->qty;
          if (!newest || r->accepted > newest->accepted) newest = r;
        }
      if (open <= capacity) return;
      gone.insert(newest->id);
    }
  };
  auto walk_level = [&](const Level& level) {  // false: the walk stops here
    for (const Order& r : level) {
      if (gone.count(r.id)) continue;
      if (r.account == o.account) {
        if (o.stp == SelfTradePrevention::CancelResting) continue;
        return false;
      }
      sum += r.qty;
      if (sum >= o.qty) return false;  // fillable: the rest of the walk does not matter
      gone.insert(r.id);
      simulated_size(r.account)->second += r.side == Side::Buy ? r.qty : -r.qty;
      enforce(r.account, r.side);
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
    circuit_before_trade(ins, maker.price);
    ins.last = maker.price;
    filled_any = true;
    // Fees (docs/margin.md, "Fees"): maker and taker each on the fill value V.
    const I128 v = value(ins.def, maker.price, q);
    const Money maker_fee = narrow(fee(v, ins.def.maker_fee), "fee");
    const Money taker_fee = narrow(fee(v, ins.def.taker_fee), "fee");
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
    f.maker_fee = maker_fee;
    f.taker_fee = taker_fee;
    emit(f);
    const Order filled_maker = maker;
    if (maker.qty == 0) take_out(maker.id);  // a partly filled maker keeps its place at the head
    settle_fill(filled_maker, o, q, maker_fee, taker_fee);
    circuit_after_trade(ins);
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

// The stop of `ins` that fires first at price `at`, among its last-price stops or (mark) its
// mark-price ones: buy stops before sell stops; lowest buy trigger / highest sell trigger;
// ties by acceptance order.
const ReferenceEngine::Order* ReferenceEngine::first_triggered(const Instrument& ins, Price at, bool mark) const {
  const Order* pick = nullptr;
  for (const Order& s : ins.stops)  // in acceptance order: the first of equals wins
    if (by_mark(s) == mark && s.side == Side::Buy && at >= s.trigger && (!pick || s.trigger < pick->trigger)) pick = &s;
  if (pick) return pick;
  for (const Order& s : ins.stops)
    if (by_mark(s) == mark && s.side == Side::Sell && at <= s.trigger && (!pick || s.trigger > pick->trigger)) pick = &s;
  return pick;
}

// StopTriggered (the price that fired it in last_price), then the order it becomes:
// stop-market -> market with the stop's price as worst price; stop-limit -> limit.
void ReferenceEngine::fire_stop(OrderId id, Price at) {
  Order o = take_out(id);
  o.waiting_stop = false;
  auto t = wire::make<wire::StopTriggered>();
  t.order_id = o.id;
  t.account = o.account;
  t.instrument = o.instrument;
  t.trigger_price = o.trigger;
  t.last_price = at;
  emit(t);
  run_incoming(o, fill_flags::kStopTriggered);
}

// While any stop of the instrument is triggered by the last trade price, fire the first.
void ReferenceEngine::check_stops(InstrumentId instrument) {
  const Instrument& ins = instruments_.at(instrument);
  for (;;) {
    if (ins.last == 0) return;  // no trade yet: no last trade price to reach a trigger
    const Order* pick = first_triggered(ins, ins.last, false);
    if (!pick) return;
    fire_stop(pick->id, ins.last);
  }
}

// A stop triggered by the mark price (order flag kMarkTrigger): buy when mark >= trigger, sell
// when mark <= trigger; no mark, no trigger. The lowest instrument id first.
const ReferenceEngine::Order* ReferenceEngine::mark_stop_triggered() const {
  for (const auto& [id, ins] : instruments_) {
    const Price mark = mark_of(ins);
    if (mark == 0) continue;
    if (const Order* pick = first_triggered(ins, mark, true)) return pick;
  }
  return nullptr;
}

bool ReferenceEngine::fire_mark_stop() {
  const Order* pick = mark_stop_triggered();
  if (!pick) return false;
  const InstrumentId instrument = pick->instrument;
  ++mark_stops_fired_;
  fire_stop(pick->id, mark_of(instruments_.at(instrument)));
  check_stops(instrument);  // the last-price stops its trades trigger
  return true;
}

// =============================================================================================
// Margin (docs/margin.md)
// =============================================================================================

ReferenceEngine::Position ReferenceEngine::position_of(AccountId a, InstrumentId i) const {
  auto acc = accounts_.find(a);
  if (acc == accounts_.end()) return {};
  auto it = acc->second.positions.find(i);
  return it == acc->second.positions.end() ? Position{} : it->second;
}

// The instrument's own setting, else the account default (Cross when never set).
bool ReferenceEngine::is_isolated(AccountId a, InstrumentId i) const {
  auto acc = accounts_.find(a);
  if (acc == accounts_.end()) return false;
  auto it = acc->second.modes.find(i);
  const wire::MarginMode mode = it != acc->second.modes.end() ? it->second : acc->second.default_mode;
  return mode == wire::MarginMode::Isolated;
}

// "with an index price I: mark = median(I, best_bid, best_ask) when both sides of the book
// exist, else I; then clamped to [I - d, I + d] with d = floor(I * mark_band / 1e8) when
// mark_band > 0. Without an index: the last trade price; without a trade either, 0. Finally
// clamped to the book's range." The engine recomputes it after every input that changes one
// of these, so it is this function of the current state.
Price ReferenceEngine::mark_of(const Instrument& ins) const {
  if (frozen_) {
    auto it = frozen_marks_.find(ins.def.instrument);
    if (it != frozen_marks_.end()) return it->second;
  }
  Price mark = ins.last;
  if (ins.index != 0) {
    mark = ins.index;
    if (!ins.book.bids.empty() && !ins.book.asks.empty()) {
      Price three[] = {ins.index, ins.book.bids.rbegin()->first, ins.book.asks.begin()->first};
      std::sort(std::begin(three), std::end(three));
      mark = three[1];
    }
    if (ins.def.mark_band > 0) {
      const I128 d = floor_div(I128{ins.index} * ins.def.mark_band, kRateOne);
      mark = static_cast<Price>(std::clamp<I128>(mark, ins.index - d, ins.index + d));
    }
  }
  if (mark == 0) return 0;  // no mark
  return std::clamp(mark, ins.def.min_price, ins.def.max_price);
}

// Stop orders count at their limit price, stop-market at their trigger price; a market order
// (or a triggered stop-market) at its effective limit.
Price ReferenceEngine::counted_price(const Order& o) const {
  const Instrument& ins = instruments_.at(o.instrument);
  if (o.type == OrderType::StopMarket && o.waiting_stop) return o.trigger;
  if (o.type == OrderType::Market || o.type == OrderType::StopMarket) {
    const I128 limit = effective_market_limit(ins.def, reference(ins), o.side, o.price);
    return static_cast<Price>(std::clamp<I128>(limit, INT64_MIN, INT64_MAX));
  }
  return o.price;
}

// Nbuy and Nsell: value(price, open qty) summed over the live orders; reduce-only orders count
// nothing.
std::pair<I128, I128> ReferenceEngine::open_notional(AccountId a, InstrumentId i, const Order* extra,
                                                     OrderId skip) const {
  const auto& def = instruments_.at(i).def;
  I128 buy = 0, sell = 0;
  auto count = [&](const Order& o) {
    if (o.flags & order_flags::kReduceOnly) return;
    (o.side == Side::Buy ? buy : sell) += value(def, counted_price(o), o.qty);
  };
  for (const auto& [id, o] : orders_)
    if (o->account == a && o->instrument == i && id != skip) count(*o);
  if (extra) count(*extra);
  return {buy, sell};
}

// W = max(|Ps + Nbuy|, |Ps - Nsell|) with Ps = sign(s) * value_up(M, |s|) (0 without a mark).
I128 ReferenceEngine::worst_case(AccountId a, InstrumentId i, const Order* extra, OrderId skip) const {
  const Instrument& ins = instruments_.at(i);
  const Price mark = mark_of(ins);
  const Qty s = position_of(a, i).size;
  const I128 ps = mark == 0 ? 0 : sign(s) * value(ins.def, mark, abs128(s), true);
  const auto [buy, sell] = open_notional(a, i, extra, skip);
  return std::max(abs128(ps + buy), abs128(ps - sell));
}

// equity = C + sum U over the cross positions; U = value(M, s) - E for a long (rounded down),
// -value(M, |s|) - E for a short (rounded up).
I128 ReferenceEngine::equity(AccountId a) const {
  auto acc = accounts_.find(a);
  if (acc == accounts_.end()) return 0;
  I128 e = acc->second.collateral;
  for (const auto& [i, pos] : acc->second.positions) {
    if (pos.size == 0 || is_isolated(a, i)) continue;
    const Instrument& ins = instruments_.at(i);
    const Price mark = mark_of(ins);
    e += pos.size > 0 ? value(ins.def, mark, pos.size) - pos.entry : -value(ins.def, mark, -I128{pos.size}, true) - pos.entry;
  }
  return e;
}

// IMR: the sum over the account's instruments of IM(W) (cross) or max(0, IM(W) - B)
// (isolated: what its own margin does not cover yet).
I128 ReferenceEngine::requirement(AccountId a, InstrumentId i, I128 w) const {
  const I128 im = initial_margin(instruments_.at(i).def, w);
  if (!is_isolated(a, i)) return im;
  return std::max<I128>(0, im - position_of(a, i).isolated);
}

I128 ReferenceEngine::initial_requirement(AccountId a) const {
  I128 r = 0;
  for (const auto& [i, ins] : instruments_) r += requirement(a, i, worst_case(a, i, nullptr, 0));
  return r;
}

// MM_account = sum MM(N) over the cross positions, N = value(M, |s|) rounded up.
I128 ReferenceEngine::maintenance_requirement(AccountId a) const {
  auto acc = accounts_.find(a);
  if (acc == accounts_.end()) return 0;
  I128 r = 0;
  for (const auto& [i, pos] : acc->second.positions) {
    if (pos.size == 0 || is_isolated(a, i)) continue;
    const Instrument& ins = instruments_.at(i);
    r += maintenance_margin(ins.def, value(ins.def, mark_of(ins), abs128(pos.size), true));
  }
  return r;
}

// "with W0, W1 the worst case before and after counting the order, it is accepted when
//  - IM(W1) <= IM(W0), or IMR1 <= equity (cross) / IMR1 <= min(C, equity) (isolated);
//  - and, on a margined instrument, W1 <= max_notional of the last tier or W1 <= W0".
bool ReferenceEngine::margin_allows(const Order& o, OrderId replaces) {
  const auto& def = instruments_.at(o.instrument).def;
  const I128 w0 = worst_case(o.account, o.instrument, nullptr, 0);
  const I128 w1 = worst_case(o.account, o.instrument, &o, replaces);
  const I128 imr1 = initial_requirement(o.account) - requirement(o.account, o.instrument, w0) +
                    requirement(o.account, o.instrument, w1);
  const I128 eq = equity(o.account);
  const I128 limit = is_isolated(o.account, o.instrument) ? std::min<I128>(balance(o.account), eq) : eq;
  const bool covered = initial_margin(def, w1) <= initial_margin(def, w0) || imr1 <= limit;
  const bool within_tiers = def.tier_count == 0 || w1 <= def.tiers[def.tier_count - 1].max_notional || w1 <= w0;
  return covered && within_tiers;
}

// "|s| + Q must fit a 64-bit quantity and value_up(max_price, |s| + Q) must not exceed 2^62
// micros, where Q is the open quantity of the account's non-reduce-only orders on the order's
// side, the order included."
bool ReferenceEngine::notional_bounded(const Order& o, OrderId replaces) const {
  const auto& def = instruments_.at(o.instrument).def;
  I128 q = abs128(position_of(o.account, o.instrument).size) + o.qty;
  for (const auto& [id, x] : orders_)
    if (x->account == o.account && x->instrument == o.instrument && x->side == o.side && id != replaces &&
        !(x->flags & order_flags::kReduceOnly))
      q += x->qty;
  if (q > INT64_MAX) return false;
  // ceil(P * q / D) <= 2^62 exactly when P * q <= 2^62 * D (P = max_price * 10^m for m >= 0).
  const int m = 6 - def.price_decimals - def.qty_decimals;
  const U256 n = mul_wide(static_cast<U128>(def.max_price * pow10(std::max(m, 0))), static_cast<U128>(q));
  const U256 limit = mul_wide(U128{1} << 62, static_cast<U128>(pow10(std::max(-m, 0))));
  return n.hi < limit.hi || (n.hi == limit.hi && n.lo <= limit.lo);
}

// Position records: (account, instrument) pairs with a position, isolated margin, live orders
// or an explicit margin mode; max_positions of them.
bool ReferenceEngine::has_record(AccountId a, InstrumentId i) const {
  const Position p = position_of(a, i);
  if (p.size != 0 || p.isolated != 0) return true;
  auto acc = accounts_.find(a);
  if (acc != accounts_.end() && acc->second.modes.count(i)) return true;
  for (const auto& [id, o] : orders_)
    if (o->account == a && o->instrument == i) return true;
  return false;
}

bool ReferenceEngine::records_full() const {
  std::set<std::pair<AccountId, InstrumentId>> records;
  for (const auto& [a, acc] : accounts_) {
    for (const auto& [i, p] : acc.positions)
      if (p.size != 0 || p.isolated != 0) records.insert({a, i});
    for (const auto& [i, mode] : acc.modes) records.insert({a, i});
  }
  for (const auto& [id, o] : orders_) records.insert({o->account, o->instrument});
  return records.size() >= config_.max_positions;
}

// Reduce-only orders may only take the position towards zero: |s| on the side opposite it.
Qty ReferenceEngine::reduce_only_capacity(AccountId a, InstrumentId i, Side side) const {
  const Qty s = position_of(a, i).size;
  if (side == Side::Sell) return s > 0 ? s : 0;
  return s < 0 ? -s : 0;
}

I128 ReferenceEngine::reduce_only_open(AccountId a, InstrumentId i, Side side, OrderId skip) const {
  I128 q = 0;
  for (const auto& [id, o] : orders_)
    if (o->account == a && o->instrument == i && o->side == side && (o->flags & order_flags::kReduceOnly) &&
        id != skip)
      q += o->qty;
  return q;
}

// "When a fill ... shrinks the position below the open reduce-only quantity, reduce-only
// orders are cancelled newest first until they fit."
void ReferenceEngine::enforce_reduce_only(AccountId a, InstrumentId i) {
  for (const Side side : {Side::Buy, Side::Sell}) {
    while (reduce_only_open(a, i, side, 0) > reduce_only_capacity(a, i, side)) {
      const Order* newest = nullptr;
      for (const auto& [id, o] : orders_)
        if (o->account == a && o->instrument == i && o->side == side && (o->flags & order_flags::kReduceOnly) &&
            (!newest || o->accepted > newest->accepted))
          newest = o;
      cancel(newest->id, CancelReason::ReduceOnly);
    }
  }
}

// One side of a fill of q at p (docs/margin.md, "A fill"), with the isolated margin transfers.
Money ReferenceEngine::apply_to_position(AccountId a, InstrumentId i, Side side, Qty q, Price p) {
  const auto& def = instruments_.at(i).def;
  const bool iso = is_isolated(a, i);
  Account& acc = account(a);
  Position& pos = acc.positions[i];
  const I128 dir = side == Side::Buy ? 1 : -1;  // sign(dq)
  const I128 v = value(def, p, q);
  I128 size = pos.size, e = pos.entry, b = pos.isolated, c = acc.collateral, r = 0;
  // Isolated: "ceil_div(Vo * imr_k, 1e8) moves from C to B, where Vo is the value of the opening
  // part and k the bracket of the whole position after the fill valued at the fill price".
  auto move_in = [&](I128 opened_value) {
    if (!iso || def.tier_count == 0) return;
    const I128 im = ceil_div(mul(opened_value, bracket(def, value(def, p, abs128(size), true)).imr), kRateOne);
    c -= im;
    b += im;
  };
  if (size == 0 || sign(size) == dir) {  // opening or increasing
    size += dir * q;
    e += dir * v;
    move_in(v);
  } else {  // reducing, closing or flipping
    const I128 closed = std::min<I128>(q, abs128(size));
    const I128 removed = closed == abs128(size) ? e : mul(e, closed) / abs128(size);  // trunc
    const I128 vc = closed < q ? value(def, p, closed) : v;
    r = -dir * vc - removed;
    if (iso) {  // "B * c / |size| (trunc; all of B when it closes) returns to C"
      const I128 share = closed == abs128(size) ? b : mul(b, closed) / abs128(size);
      b -= share;
      c += share;
    }
    c += r;
    e -= removed;
    size += dir * closed;
    if (closed < q) {  // the rest opens a position the other way
      size += dir * (q - closed);
      e += dir * (v - vc);
      move_in(v - vc);
    }
  }
  pos.size = narrow(size, "position size");
  pos.entry = narrow(e, "entry value");
  pos.isolated = narrow(b, "isolated margin");
  acc.collateral = narrow(c, "collateral");
  return narrow(r, "realized PnL");
}

// After the Fill: both positions move, PositionUpdate for the maker then the taker, fees are
// charged, then reduce-only orders that no longer fit are cancelled (maker's account first).
void ReferenceEngine::settle_fill(const Order& maker, const Order& taker, Qty q, Money maker_fee, Money taker_fee) {
  const InstrumentId i = maker.instrument;
  for (const Order* o : {&maker, &taker}) {
    const Money r = apply_to_position(o->account, i, o->side, q, maker.price);
    const Position& pos = accounts_.at(o->account).positions.at(i);
    auto u = wire::make<wire::PositionUpdate>();
    u.account = o->account;
    u.instrument = i;
    u.size = pos.size;
    u.entry_value = pos.entry;
    u.realized_pnl = r;
    emit(u);
  }
  Account& m = account(maker.account);
  m.collateral = narrow(I128{m.collateral} - maker_fee, "collateral");
  Account& t = account(taker.account);
  t.collateral = narrow(I128{t.collateral} - taker_fee, "collateral");
  totals_.fees_collected += I128{maker_fee} + taker_fee;
  enforce_reduce_only(maker.account, i);
  enforce_reduce_only(taker.account, i);
}

// The accounts named by OrderAccepted, OrderCancelled, OrderModified, StopTriggered, Fill (both
// sides), BalanceChange and FundingPayment written since `from`.
void ReferenceEngine::emit_margin_updates(std::size_t from) {
  std::set<AccountId> named;
  EventReader reader(out_->bytes().subspan(from));
  EventView ev;
  while (reader.next(ev)) {
    switch (ev.type()) {
      case MsgType::OrderAccepted:
        named.insert(ev.as<wire::OrderAccepted>().account);
        break;
      case MsgType::OrderCancelled:
        named.insert(ev.as<wire::OrderCancelled>().account);
        break;
      case MsgType::OrderModified:
        named.insert(ev.as<wire::OrderModified>().account);
        break;
      case MsgType::StopTriggered:
        named.insert(ev.as<wire::StopTriggered>().account);
        break;
      case MsgType::Fill:
        named.insert(ev.as<wire::Fill>().maker_account);
        named.insert(ev.as<wire::Fill>().taker_account);
        break;
      case MsgType::BalanceChange:
        named.insert(ev.as<wire::BalanceChange>().account);
        break;
      case MsgType::FundingPayment:
        named.insert(ev.as<wire::FundingPayment>().account);
        break;
      // Liquidation events name the unit's account (and a Deleverage both accounts).
      case MsgType::Liquidation:
        named.insert(ev.as<wire::Liquidation>().account);
        break;
      case MsgType::Deleverage:
        named.insert(ev.as<wire::Deleverage>().account);
        named.insert(ev.as<wire::Deleverage>().counter_account);
        break;
      default:
        break;
    }
  }
  for (const AccountId id : named) {
    const MarginState st = margin(id);
    auto u = wire::make<wire::MarginUpdate>();
    u.account = id;
    u.collateral = st.collateral;
    u.equity = st.equity;
    u.initial_margin = st.initial_margin;
    u.maintenance_margin = st.maintenance_margin;
    emit(u);
  }
}

// =============================================================================================
// Liquidation (docs/liquidation.md)
// =============================================================================================
//
// The page's own "Readings" section settles which units are liquidated, the fields, the fee,
// the last price, the backstop check, the stop check and the MarginUpdates. Left open there
// and read here: the depth advances past a dropped (recovered) unit as past a taken one;
// Deleverage names both its accounts for the MarginUpdates (they are also the Fill's).

I128 ReferenceEngine::unrealized(AccountId a, InstrumentId i) const {
  const Position pos = position_of(a, i);
  if (pos.size == 0) return 0;
  const Instrument& ins = instruments_.at(i);
  const Price mark = mark_of(ins);
  return pos.size > 0 ? value(ins.def, mark, pos.size) - pos.entry
                      : -value(ins.def, mark, -I128{pos.size}, true) - pos.entry;
}

// Cross: C + sum U; isolated: B + U.
I128 ReferenceEngine::unit_equity(AccountId a, InstrumentId i) const {
  if (i == kAllInstruments) return equity(a);
  return I128{position_of(a, i).isolated} + unrealized(a, i);
}

I128 ReferenceEngine::unit_mm(AccountId a, InstrumentId i) const {
  if (i == kAllInstruments) return maintenance_requirement(a);
  const Position pos = position_of(a, i);
  if (pos.size == 0) return 0;
  const Instrument& ins = instruments_.at(i);
  return maintenance_margin(ins.def, value(ins.def, mark_of(ins), abs128(pos.size), true));
}

bool ReferenceEngine::has_cross_position(AccountId a) const {
  auto acc = accounts_.find(a);
  if (acc == accounts_.end()) return false;
  for (const auto& [i, pos] : acc->second.positions)
    if (pos.size != 0 && !is_isolated(a, i)) return true;
  return false;
}

// "A unit is liquidated when it is below maintenance and its MM > 0, or, for a cross unit with
// no cross position, when equity < 0 and the account holds an isolated position on a margined
// instrument" (docs/liquidation.md, "Readings of this page").
bool ReferenceEngine::liquidatable(AccountId a, InstrumentId i) const {
  const I128 eq = unit_equity(a, i), mm = unit_mm(a, i);
  if (eq >= mm) return false;
  if (mm > 0) return true;
  if (i != kAllInstruments || has_cross_position(a) || eq >= 0) return false;
  for (const auto& [j, pos] : accounts_.at(a).positions)
    if (pos.size != 0 && is_isolated(a, j) && instruments_.at(j).def.tier_count > 0) return true;
  return false;
}

// Every liquidatable unit, in unit order: an account's isolated positions by instrument, then
// its cross unit.
std::vector<ReferenceEngine::Unit> ReferenceEngine::units_below() const {
  std::vector<Unit> r;
  for (const auto& [a, acc] : accounts_) {
    for (const auto& [i, pos] : acc.positions)
      if (pos.size != 0 && is_isolated(a, i) && liquidatable(a, i)) r.push_back({a, i, 0});
    if (liquidatable(a, kAllInstruments)) r.push_back({a, kAllInstruments, 0});
  }
  return r;
}

bool ReferenceEngine::paused(InstrumentId id) const {
  const Instrument* ins = find_instrument(id);
  return ins && ins->paused;
}

void ReferenceEngine::freeze_marks() {
  frozen_ = false;
  frozen_marks_.clear();
  for (const auto& [id, ins] : instruments_) frozen_marks_[id] = mark_of(ins);
  frozen_ = true;
}

// The cascade loop: detection by a full scan (marks are a function of the state, so they are
// always current between steps), first in first out.
void ReferenceEngine::run_cascade() {
  std::list<Unit> queue;
  std::uint32_t depth = 0;
  for (std::uint64_t steps = 0;; ++steps) {
    // Every step closes part of a position or writes off a loss, so a cascade ends; a
    // runaway loop is a bug of this model.
    if (steps > 100'000) throw std::logic_error("reference engine: liquidation cascade does not end");
    // "Stops triggered by the mark price fire first, one at a time, the marks computed again
    // after each".
    if (fire_mark_stop()) continue;
    if (!config_.liquidation) return;
    for (Unit u : units_below()) {
      if (std::find(queue.begin(), queue.end(), u) != queue.end()) continue;
      u.depth = depth;
      queue.push_back(u);
    }
    if (queue.empty()) return;
    const Unit u = queue.front();
    queue.pop_front();
    if (liquidatable(u.account, u.instrument)) liquidate(u);  // else it recovered: dropped
    depth = u.depth + 1;
  }
}

void ReferenceEngine::emit_liquidation(const Unit& u, wire::LiquidationStage stage, InstrumentId instrument, Side side,
                                       Qty qty, Price price, I128 amount) {
  auto l = wire::make<wire::Liquidation>();
  l.account = u.account;
  l.instrument = instrument;
  l.side = side;
  l.stage = stage;
  l.depth = static_cast<std::uint16_t>(std::min<std::uint32_t>(u.depth, 0xFFFF));
  l.qty = qty;
  l.price = price;
  l.amount = narrow(amount, "liquidation amount");
  l.cascade_origin = current_.header().seq;
  emit(l);
}

void ReferenceEngine::emit_fund(InstrumentId i, wire::InsuranceReason reason, I128 delta) {
  auto f = wire::make<wire::InsuranceFund>();
  f.instrument = i;
  f.reason = reason;
  f.delta = narrow(delta, "insurance fund");
  f.balance = narrow(totals_.insurance_fund, "insurance fund");
  emit(f);
}

// One step for a unit (steps 1-11).
void ReferenceEngine::liquidate(const Unit& u) {
  using S = wire::LiquidationStage;
  constexpr Side kNoSide = static_cast<Side>(0);
  const AccountId a = u.account;
  freeze_marks();
  // 1. Triggered
  emit_liquidation(u, S::Triggered, u.instrument, kNoSide, 0, 0, unit_equity(a, u.instrument) - unit_mm(a, u.instrument));
  // 2. cancel the unit's orders in acceptance order
  std::vector<std::pair<std::uint64_t, OrderId>> victims;
  for (const auto& [id, o] : orders_) {
    const bool mine = u.instrument == kAllInstruments ? !is_isolated(a, o->instrument) : o->instrument == u.instrument;
    if (o->account == a && mine) victims.push_back({o->accepted, id});
  }
  std::sort(victims.begin(), victims.end());
  for (const auto& [rank, id] : victims) cancel(id, CancelReason::Liquidation);
  emit_liquidation(u, S::OrdersCancelled, u.instrument, kNoSide, static_cast<Qty>(victims.size()), 0, 0);
  freeze_marks();  // the books changed: marks recomputed
  if (unit_equity(a, u.instrument) >= unit_mm(a, u.instrument)) {
    emit_liquidation(u, S::Completed, u.instrument, kNoSide, 0, 0, unit_equity(a, u.instrument) - unit_mm(a, u.instrument));
    frozen_ = false;
    return;
  }
  // 3. the position: the unit's own, or the cross position with the largest MM (lowest id)
  InstrumentId chosen = kAllInstruments;
  if (u.instrument != kAllInstruments) {
    if (position_of(a, u.instrument).size != 0) chosen = u.instrument;
  } else {
    I128 best = -1;
    for (const auto& [i, pos] : accounts_.at(a).positions) {
      if (pos.size == 0 || is_isolated(a, i)) continue;
      const Instrument& ins = instruments_.at(i);
      const I128 mm = maintenance_margin(ins.def, value(ins.def, mark_of(ins), abs128(pos.size), true));
      if (mm > best) best = mm, chosen = i;  // ascending ids: the first of equals stays
    }
  }
  if (chosen != kAllInstruments) close_step(u, chosen, unit_equity(a, u.instrument));
  // 10. bankruptcy
  Account& acc = account(a);
  if (acc.collateral < 0 && !has_cross_position(a)) {
    const I128 loss = -I128{acc.collateral};
    const I128 paid = std::min<I128>(loss, std::max<I128>(0, totals_.insurance_fund));
    totals_.insurance_fund -= paid;
    acc.collateral = 0;
    emit_fund(u.instrument, wire::InsuranceReason::BankruptcyPayout, -paid);
    emit_liquidation(u, S::Bankrupt, u.instrument, kNoSide, 0, 0, loss);
    if (paid < loss) {
      totals_.socialized_losses += loss - paid;
      emit_liquidation(u, S::Socialized, u.instrument, kNoSide, 0, 0, loss - paid);
    }
  }
  // 11.
  emit_liquidation(u, S::Completed, u.instrument, kNoSide, 0, 0, unit_equity(a, u.instrument) - unit_mm(a, u.instrument));
  frozen_ = false;
  // "check stop orders: triggered stops are part of the cascade"
  if (chosen != kAllInstruments) check_stops(chosen);
}

namespace {
// floor(x / (n * 10^m)) price units for any sign of x, n > 0 (steps 5 and 8).
I128 price_units(I128 x, I128 n, int m) {
  if (m >= 0) return floor_div(x, mul(n, pow10(m)));
  if (x >= 0) return muldiv(x, pow10(-m), n, false);
  return -muldiv(-x, pow10(-m), n, true);
}
}  // namespace

void ReferenceEngine::close_step(const Unit& u, InstrumentId i, I128 unit_eq) {
  using S = wire::LiquidationStage;
  Instrument& ins = instruments_.at(i);
  const auto& def = ins.def;
  const Qty s = position_of(u.account, i).size;
  const I128 abs_s = abs128(s);
  const Side side = s > 0 ? Side::Sell : Side::Buy;
  const Price mark = mark_of(ins);
  const int m = 6 - def.price_decimals - def.qty_decimals;
  // 4. step quantity: down to the top of the bracket below
  I128 q = abs_s;
  if (def.tier_count > 0) {
    const I128 n = value(def, mark, abs_s, true);
    int k = def.tier_count - 1;
    for (int t = 0; t < def.tier_count; ++t)
      if (n <= def.tiers[t].max_notional) {
        k = t;
        break;
      }
    if (k > 0) {
      // the largest r with value_up(M, r) <= cap, then down to a lot multiple
      const I128 cap = def.tiers[k - 1].max_notional;
      I128 r = m >= 0 ? floor_div(cap, mul(mark, pow10(m))) : muldiv(cap, pow10(-m), mark, false);
      r -= r % def.lot_size;
      q = abs_s - r;
    }
  }
  // 5. bankruptcy price
  const I128 d = price_units(unit_eq, abs_s, m);
  I128 bp = side == Side::Sell ? ceil_to_tick(I128{mark} - d, def.tick_size) : floor_to_tick(I128{mark} + d, def.tick_size);
  bp = std::clamp<I128>(bp, def.min_price, def.max_price);
  const auto bpx = static_cast<Price>(bp);
  Qty rem = static_cast<Qty>(q);
  emit_liquidation(u, S::BookOrder, i, side, rem, bpx, 0);
  // 6. through the book at bp
  if (!ins.paused) rem = liquidation_order(u, i, side, bpx, rem);
  // 7. backstop
  if (rem > 0) rem = backstop(u, i, side, bpx, rem);
  // 8. through the book with the insurance fund
  if (rem > 0 && !ins.paused && totals_.insurance_fund > 0) {
    const I128 g = price_units(totals_.insurance_fund, rem, m);
    I128 bpi = side == Side::Sell ? ceil_to_tick(bp - g, def.tick_size) : floor_to_tick(bp + g, def.tick_size);
    bpi = std::clamp<I128>(bpi, def.min_price, def.max_price);
    if (bpi != bp) {
      emit_liquidation(u, S::BookOrder, i, side, rem, static_cast<Price>(bpi), 0);
      rem = liquidation_order(u, i, side, static_cast<Price>(bpi), rem);
    }
  }
  // 9. auto-deleveraging
  if (rem > 0) deleverage(u, i, side, bpx, rem);
}

// An IOC of the unit's account at `limit`; fills carry the liquidation fee. Returns the rest.
Qty ReferenceEngine::liquidation_order(const Unit& u, InstrumentId i, Side side, Price limit, Qty qty) {
  Instrument& ins = instruments_.at(i);
  auto& opposite = side == Side::Buy ? ins.book.asks : ins.book.bids;
  while (qty > 0 && !opposite.empty()) {
    auto best = side == Side::Buy ? opposite.begin() : std::prev(opposite.end());
    if (!acceptable(side, best->first, limit)) break;
    Order& maker = best->second.front();
    const Qty q = std::min(qty, maker.qty);
    maker.qty -= q;
    qty -= q;
    circuit_before_trade(ins, maker.price);
    ins.last = maker.price;
    const I128 v = value(ins.def, maker.price, q);
    const Money maker_fee = narrow(fee(v, ins.def.maker_fee), "fee");
    const Order filled_maker = maker;
    if (maker.qty == 0) take_out(maker.id);
    const Money rm = apply_to_position(filled_maker.account, i, opposite_side(side), q, filled_maker.price);
    const Money rt = apply_to_position(u.account, i, side, q, filled_maker.price);
    // lf = min(ceil(V * rate / 1e8), max(0, equity after the fill))
    const I128 want = ins.def.liquidation_fee > 0 ? ceil_div(mul(v, ins.def.liquidation_fee), kRateOne) : 0;
    const I128 lf = std::min<I128>(want, std::max<I128>(0, unit_equity(u.account, u.instrument)));
    auto f = wire::make<wire::Fill>();
    f.maker_order_id = filled_maker.id;
    f.taker_order_id = 0;
    f.maker_account = filled_maker.account;
    f.taker_account = u.account;
    f.instrument = i;
    f.aggressor_side = side;
    f.flags = fill_flags::kLiquidation;
    f.price = filled_maker.price;
    f.qty = q;
    f.maker_leaves = filled_maker.qty;
    f.taker_leaves = qty;
    f.maker_fee = maker_fee;
    f.taker_fee = narrow(lf, "liquidation fee");
    emit(f);
    for (const auto& [acct, r] : {std::pair{filled_maker.account, rm}, std::pair{u.account, rt}}) {
      const Position& pos = accounts_.at(acct).positions.at(i);
      auto pu = wire::make<wire::PositionUpdate>();
      pu.account = acct;
      pu.instrument = i;
      pu.size = pos.size;
      pu.entry_value = pos.entry;
      pu.realized_pnl = r;
      emit(pu);
    }
    Account& mk = account(filled_maker.account);
    mk.collateral = narrow(I128{mk.collateral} - maker_fee, "collateral");
    totals_.fees_collected += maker_fee;
    if (lf > 0) {
      Account& t = account(u.account);
      t.collateral = narrow(I128{t.collateral} - lf, "collateral");
      totals_.insurance_fund += lf;
      emit_fund(i, wire::InsuranceReason::LiquidationFee, lf);
    }
    enforce_reduce_only(filled_maker.account, i);
    enforce_reduce_only(u.account, i);
    circuit_after_trade(ins);
  }
  return qty;
}

// A fill at bp with a counterparty that has no order (backstop, deleveraging): no fees.
void ReferenceEngine::direct_fill(AccountId maker, AccountId taker, InstrumentId i, Side side, Price bp, Qty q,
                                  Qty taker_leaves, std::uint8_t flags) {
  auto f = wire::make<wire::Fill>();
  f.maker_account = maker;
  f.taker_account = taker;
  f.instrument = i;
  f.aggressor_side = side;
  f.flags = flags;
  f.price = bp;
  f.qty = q;
  f.taker_leaves = taker_leaves;
  emit(f);
  const Money rm = apply_to_position(maker, i, opposite_side(side), q, bp);
  const Money rt = apply_to_position(taker, i, side, q, bp);
  for (const auto& [acct, r] : {std::pair{maker, rm}, std::pair{taker, rt}}) {
    const Position& pos = accounts_.at(acct).positions.at(i);
    auto pu = wire::make<wire::PositionUpdate>();
    pu.account = acct;
    pu.instrument = i;
    pu.size = pos.size;
    pu.entry_value = pos.entry;
    pu.realized_pnl = r;
    emit(pu);
  }
  enforce_reduce_only(maker, i);
  enforce_reduce_only(taker, i);
}

// 7. The first backstop account (ascending) whose pre-trade check accepts a limit order of the
// whole remainder at bp on the opposite side, and that stays at or above maintenance after
// taking it, takes it.
Qty ReferenceEngine::backstop(const Unit& u, InstrumentId i, Side side, Price bp, Qty qty) {
  for (const auto& [b, acc] : accounts_) {
    if (acc.role != wire::AccountRole::Backstop || b == u.account) continue;
    Order o;
    o.account = b;
    o.instrument = i;
    o.side = opposite_side(side);
    o.price = bp;
    o.qty = qty;
    if (!has_record(b, i) && records_full()) continue;
    if (!notional_bounded(o, 0) || !margin_allows(o, 0)) continue;
    // "and whose unit would not be below maintenance right after the takeover at the step's
    // marks": the takeover applied to a copy of the account, then undone.
    const Account saved = accounts_.at(b);
    apply_to_position(b, i, o.side, qty, bp);
    const InstrumentId unit = is_isolated(b, i) ? i : kAllInstruments;
    const bool under_water = unit_equity(b, unit) < unit_mm(b, unit);
    accounts_.at(b) = saved;
    if (under_water) continue;
    direct_fill(b, u.account, i, side, bp, qty, 0, fill_flags::kLiquidation | fill_flags::kBackstop);
    emit_liquidation(u, wire::LiquidationStage::Backstop, i, side, qty, bp, b);
    return 0;
  }
  return qty;
}

// 9. ADL: opposite positions ranked by profit ratio times leverage, closed at bp.
void ReferenceEngine::deleverage(const Unit& u, InstrumentId i, Side side, Price bp, Qty qty) {
  const Instrument& ins = instruments_.at(i);
  struct Candidate {
    bool profit;
    I128 score;
    AccountId account;
  };
  std::vector<Candidate> cands;
  for (const auto& [a, acc] : accounts_) {
    const Position pos = position_of(a, i);
    if (a == u.account || pos.size == 0 || (side == Side::Sell) != (pos.size < 0)) continue;
    const I128 upnl = unrealized(a, i);
    const I128 pnl = floor_div(mul(upnl, kRateOne), std::max<I128>(1, abs128(pos.entry)));
    const I128 n = value(ins.def, mark_of(ins), abs128(pos.size), true);
    const I128 eq = unit_equity(a, is_isolated(a, i) ? i : kAllInstruments);
    const I128 lev = floor_div(mul(n, kRateOne), std::max<I128>(1, eq));
    Candidate c{upnl > 0, 0, a};
    if (c.profit) {
      I128 sc;
      c.score = __builtin_mul_overflow(pnl, lev, &sc) ? ~(I128{1} << 127) : sc;
    } else {
      c.score = floor_div(mul(pnl, kRateOne), std::max<I128>(1, lev));
    }
    cands.push_back(c);
  }
  std::sort(cands.begin(), cands.end(), [](const Candidate& x, const Candidate& y) {
    if (x.profit != y.profit) return x.profit;
    if (x.score != y.score) return x.score > y.score;
    return x.account < y.account;
  });
  Qty total = 0;
  std::uint32_t rank = 0;
  for (const Candidate& c : cands) {
    if (qty == 0) break;
    const Qty q = std::min<Qty>(qty, static_cast<Qty>(abs128(position_of(c.account, i).size)));
    qty -= q;
    total += q;
    auto d = wire::make<wire::Deleverage>();
    d.account = c.account;
    d.counter_account = u.account;
    d.instrument = i;
    d.rank = ++rank;
    d.qty = q;
    d.price = bp;
    emit(d);
    direct_fill(c.account, u.account, i, side, bp, q, qty, fill_flags::kLiquidation | fill_flags::kDeleverage);
  }
  emit_liquidation(u, wire::LiquidationStage::Deleveraged, i, side, total, bp, 0);
}

// =============================================================================================
// Circuit breaker (docs/liquidation.md)
// =============================================================================================
//
// Readings: the pause is announced right after the settlement of the trade that moved the
// price (the order keeps matching); the resume event repeats the anchor and until_ns, and the
// first trade after it starts a new window anchored at its own price; InstrumentPaused is checked after the
// matching.md validations, before the margin checks; triggered stops still trade.

namespace {
bool circuit_on(const wire::InstrumentDefinition& d) { return d.circuit_band > 0 && d.circuit_window_ms > 0; }
}  // namespace

void ReferenceEngine::circuit_resume() {
  const Timestamp ts = current_.header().ts_ns;
  for (auto& [id, ins] : instruments_) {
    if (!ins.paused || ts < ins.until) continue;
    ins.paused = false;
    auto c = wire::make<wire::CircuitBreaker>();
    c.instrument = id;
    c.paused = 0;
    c.reference_price = ins.anchor;
    c.until_ns = ins.until;
    emit(c);
    ins.window_set = false;
    ins.reopening = true;
  }
}

// The anchor: the last trade price when the trade's window began (this trade's price if none,
// or if it is the first trade since a pause ended).
void ReferenceEngine::circuit_before_trade(Instrument& ins, Price price) {
  if (!circuit_on(ins.def)) return;
  const I128 w = floor_div(current_.header().ts_ns, I128{1000000} * ins.def.circuit_window_ms);
  if (ins.window_set && ins.window == w) return;
  ins.window_set = true;
  ins.window = w;
  ins.anchor = ins.last != 0 && !ins.reopening ? ins.last : price;
  ins.reopening = false;
}

void ReferenceEngine::circuit_after_trade(Instrument& ins) {
  if (!circuit_on(ins.def) || ins.paused) return;
  const I128 band = floor_div(I128{ins.anchor} * ins.def.circuit_band, kRateOne);
  if (abs128(I128{ins.last} - ins.anchor) <= band) return;
  ins.paused = true;
  // A pause ending beyond the last representable timestamp lasts until then.
  ins.until = static_cast<Timestamp>(std::min<I128>(I128{current_.header().ts_ns} + I128{ins.def.circuit_pause_ms} * 1000000,
                                                    std::numeric_limits<Timestamp>::max()));
  auto c = wire::make<wire::CircuitBreaker>();
  c.instrument = ins.def.instrument;
  c.paused = 1;
  c.reference_price = ins.anchor;
  c.until_ns = ins.until;
  emit(c);
}

bool ReferenceEngine::takes_while_paused(const Instrument& ins, Side side, bool market, Price price) const {
  if (!ins.paused) return false;
  if (market) return true;
  if (side == Side::Buy) return !ins.book.asks.empty() && price >= ins.book.asks.begin()->first;
  return !ins.book.bids.empty() && price <= ins.book.bids.rbegin()->first;
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
  auto it = accounts_.find(account);
  return it == accounts_.end() ? 0 : it->second.collateral;
}

std::vector<AccountId> ReferenceEngine::accounts() const {
  std::vector<AccountId> ids;
  for (const auto& [id, acc] : accounts_) ids.push_back(id);
  return ids;
}

ReferenceEngine::PositionState ReferenceEngine::position(AccountId account, InstrumentId instrument) const {
  const Position p = position_of(account, instrument);
  return {p.size, p.entry, p.isolated};
}

bool ReferenceEngine::isolated(AccountId account, InstrumentId instrument) const {
  return is_isolated(account, instrument);
}

ReferenceEngine::MarginState ReferenceEngine::margin(AccountId account) const {
  return {balance(account), narrow(equity(account), "equity"), narrow(initial_requirement(account), "IMR"),
          narrow(maintenance_requirement(account), "maintenance margin")};
}

Price ReferenceEngine::mark(InstrumentId id) const {
  const Instrument* ins = find_instrument(id);
  return ins ? mark_of(*ins) : 0;
}

Price ReferenceEngine::index(InstrumentId id) const {
  const Instrument* ins = find_instrument(id);
  return ins ? ins->index : 0;
}

std::vector<ReferenceEngine::OrderState> ReferenceEngine::orders() const {
  std::vector<OrderState> r;
  for (const auto& [id, o] : orders_)
    r.push_back({id, o->account, o->instrument, o->side, o->type, o->flags, o->price, o->qty, o->trigger,
                 o->waiting_stop});
  return r;
}

}  // namespace cascade::testing
