// The margin engine: docs/margin.md in code. Every product is 128-bit (or wider through
// fx::mul_div); every division names its rounding.
#include "cascade/margin_engine.hpp"

#include <algorithm>
#include <bit>
#include <limits>

#include "cascade/mark_price.hpp"

namespace cascade {

namespace {

using fx::i128;

constexpr Price kNoLo = std::numeric_limits<Price>::min();
constexpr Price kNoHi = std::numeric_limits<Price>::max();

constexpr i128 abs128(i128 v) noexcept { return v < 0 ? -v : v; }
constexpr Money money(i128 v) noexcept { return fx::saturate(v); }

}  // namespace

bool MarginEngine::init(const EngineConfig& cfg, AccountTable* accounts, EventOutput* out) noexcept {
  accounts_ = accounts;
  out_ = out;
  max_positions_ = cfg.max_positions;
  max_accounts_ = cfg.max_accounts;
  prefault_ = cfg.prefault;
  inst_ = std::vector<Inst>(cfg.max_instruments);
  if (!positions_.init(cfg.max_positions) || !dirty_.allocate(cfg.max_accounts) ||
      !touched_.allocate(cfg.max_instruments) || !scratch_.allocate(std::size_t{cfg.max_positions} + 1) ||
      !scratch2_.allocate(std::size_t{cfg.max_positions} + 1) || !radix_count_.allocate(std::size_t{3} << kRadixBits) ||
      !pending_.allocate(cfg.max_accounts) || !reported_.allocate(cfg.max_accounts) ||
      !log_.allocate(cfg.max_accounts) || !logged_.allocate(cfg.max_accounts) ||
      !cand_.allocate(std::size_t{cfg.max_accounts} + cfg.max_positions + 1))
    return false;
  if (prefault_) {
    positions_.commit();
    dirty_.commit();
    touched_.commit();
    scratch_.commit();
    scratch2_.commit();
    radix_count_.commit();
    pending_.commit();
    reported_.commit();
    log_.commit();
    logged_.commit();
    cand_.commit();
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// instruments

bool MarginEngine::valid_definition(const wire::InstrumentDefinition& d) noexcept {
  if (!Brackets::valid(d)) return false;
  if (d.mark_band < 0 || d.mark_band > kRateOne) return false;
  if (d.maker_fee < -kRateOne || d.maker_fee > kRateOne || d.taker_fee < -kRateOne || d.taker_fee > kRateOne)
    return false;
  return true;
}

bool MarginEngine::may_redefine(const wire::InstrumentDefinition& d) const noexcept {
  const Inst& in = inst_[d.instrument];
  if (!in.defined || in.holder_count == 0) return true;
  return d.price_decimals == in.price_decimals && d.qty_decimals == in.qty_decimals;
}

// The largest quantity whose value at price p (exponent m) stays within kMaxNotional: a binary
// search, value_up being non-decreasing in the quantity.
Qty MarginEngine::largest_quantity(Price p, int m) noexcept {
  Qty lo = 0, hi = std::numeric_limits<Qty>::max();
  while (lo < hi) {
    const Qty q = lo + (hi - lo) / 2 + 1;
    if (fx::value_up(p, q, m) <= kMaxNotional) lo = q; else hi = q - 1;
  }
  return lo;
}

bool MarginEngine::define(const wire::InstrumentDefinition& d) noexcept {
  log_on_ = false;
  Inst& in = inst_[d.instrument];
  if (!in.defined) {
    if (!in.holders.allocate(std::size_t{max_positions_} + 1) ||
        !in.lo.init(max_positions_, positions_.data(), &Position::heap_lo) ||
        !in.hi.init(max_positions_, positions_.data(), &Position::heap_hi))
      return false;
    if (prefault_) {
      in.holders.commit();
      in.lo.commit();
      in.hi.commit();
    }
  }
  in.brackets.set(d);
  in.m = fx::money_exponent(d.price_decimals, d.qty_decimals);
  in.unit_value = in.m >= 0 ? static_cast<std::int64_t>(fx::pow10(in.m)) : 0;  // m <= 6
  in.price_decimals = d.price_decimals;
  in.qty_decimals = d.qty_decimals;
  in.min_price = d.min_price;
  in.max_price = d.max_price;
  in.max_qty = largest_quantity(in.max_price, in.m);
  in.maker_fee = d.maker_fee;
  in.taker_fee = d.taker_fee;
  in.mark_band = d.mark_band;
  {
    // watch_range()'s quotient as floor(a * num / (|s| * den)); den <= 2e8 * 10^6 always.
    const Rate mmr = in.brackets.max_mmr();
    const fx::i128 num = (mmr == 0 ? 1 : fx::i128{kRateOne}) * fx::pow10(in.m < 0 ? -in.m : 0);
    const fx::i128 den = (mmr == 0 ? 1 : fx::i128{kRateOne} + mmr) * fx::pow10(in.m > 0 ? in.m : 0);
    in.watch_num = num <= std::numeric_limits<std::uint64_t>::max() ? static_cast<std::uint64_t>(num) : 0;
    in.watch_den = static_cast<std::uint64_t>(den);
  }
  const bool redefined = in.defined;
  in.defined = true;
  in.figures_at = ++figures_clock_;
  touch_mark(d.instrument);
  // New brackets invalidate every watch range on the instrument: certify its holders again,
  // whole accounts (an isolated position becoming margined makes a cross unit with a negative
  // C liquidatable, docs/liquidation.md "Readings").
  if (redefined)
    for (std::uint32_t k = 1; k <= in.holder_count; ++k) evaluate(positions_[in.holders[k]].account);
  return true;
}

// ---------------------------------------------------------------------------------------------
// records

PosIdx MarginEngine::ensure(AccountId a, InstrumentId i) noexcept {
  PosIdx p = positions_.find(a, i);
  if (p != kNilPos) return p;
  Account& acc = (*accounts_)[a];
  p = positions_.create(a, i, acc.positions);
  if (p != kNilPos) {
    Position& r = positions_[p];
    r.watch_lo = kNoLo;
    r.watch_hi = kNoHi;
    if (acc.flags & account_flags::kIsolatedDefault) r.flags |= position_flags::kIsolated;
  }
  return p;
}

// Records emptied during this event are released at its end; a backstop's takeover needing a
// record before then frees those of the accounts changed so far (a queued unit's stays).
bool MarginEngine::reclaim_empty() noexcept {
  bool freed = false;
  for (std::uint32_t k = 0; k < dirty_count_; ++k) {
    Account& acc = (*accounts_)[dirty_[k]];
    for (PosIdx p = acc.positions; p != kNilPos;) {
      const PosIdx next = positions_[p].acct_next;
      const Position& r = positions_[p];
      const bool empty = r.size == 0 && r.orders == 0 && r.isolated == 0 &&
                         !(r.flags & (position_flags::kExplicitMode | position_flags::kQueued | position_flags::kCandidate));
      if (empty) {
        positions_.release(p, acc.positions);
        freed = true;
      }
      p = next;
    }
  }
  return freed;
}

void MarginEngine::release_if_empty(PosIdx p) noexcept {
  const Position& r = positions_[p];
  if (r.size != 0 || r.orders != 0 || r.isolated != 0 || (r.flags & position_flags::kExplicitMode)) return;
  positions_.release(p, (*accounts_)[r.account].positions);
}

// ---------------------------------------------------------------------------------------------
// orders

void MarginEngine::add_order(PosIdx p, const OrderTerms& t) noexcept {
  ++round_;
  Position& r = positions_[p];
  ++r.orders;
  if (t.reduce_only) {
    r.reduce_only += t.side == Side::Sell ? t.qty : -t.qty;
    return;
  }
  const Money v = money(fx::value(t.price, t.qty, inst_[r.instrument].m));
  if (t.side == Side::Buy) {
    r.open_buy += v;
    r.open_buy_qty += t.qty;
  } else {
    r.open_sell += v;
    r.open_sell_qty += t.qty;
  }
}

void MarginEngine::remove_order(PosIdx p, const OrderTerms& t) noexcept {
  ++round_;
  Position& r = positions_[p];
  --r.orders;
  if (t.reduce_only) {
    r.reduce_only -= t.side == Side::Sell ? t.qty : -t.qty;
    return;
  }
  const Money v = money(fx::value(t.price, t.qty, inst_[r.instrument].m));
  if (t.side == Side::Buy) {
    r.open_buy -= v;
    r.open_buy_qty -= t.qty;
  } else {
    r.open_sell -= v;
    r.open_sell_qty -= t.qty;
  }
}

namespace {
// What an initial margin im leaves to cover once an isolated position's margin counts.
[[gnu::always_inline]] inline i128 net_of_isolated(bool iso, Money isolated, i128 im) noexcept {
  if (!iso) return im;
  return im > isolated ? im - isolated : 0;
}
// The body of requirement(), inlined into the pre-trade check and the summaries, which call it
// per record (the report's one-record path keeps the call: inlined there it costs more).
[[gnu::always_inline]] inline i128 requirement_in(const Position& r, const Brackets& b, i128 w) noexcept {
  return net_of_isolated(r.flags & position_flags::kIsolated, r.isolated, b.initial(w));
}
}  // namespace

wire::RejectReason MarginEngine::check_order(PosIdx p, const OrderTerms& now, const OrderTerms* old) const noexcept {
  const Position& r = positions_[p];
  const Inst& in = inst_[r.instrument];
  const i128 size = abs128(r.size);
  if (now.reduce_only) {
    // Only against the position, and within what other reduce-only orders leave of it.
    const Side closing = r.size > 0 ? Side::Sell : Side::Buy;
    const i128 avail = size - abs128(r.reduce_only) + (old ? old->qty : 0);
    if (r.size == 0 || now.side != closing || now.qty > avail) return wire::RejectReason::ReduceOnlyWouldIncrease;
    return wire::RejectReason::None;
  }
  const bool buy = now.side == Side::Buy;
  const bool same_side_old = old && !old->reduce_only && old->side == now.side;
  const i128 side_qty = i128{buy ? r.open_buy_qty : r.open_sell_qty} + now.qty - (same_side_old ? old->qty : 0);
  // The quantity must fit a Qty too: where a unit is worth far less than a micro the value
  // bound alone would let a position wrap.
  if (size + side_qty > in.max_qty) return wire::RejectReason::NotionalOverflow;
  // Without tiers there is no requirement to meet (docs/margin.md): nothing more to check.
  if (!in.brackets.margined()) return wire::RejectReason::None;

  i128 dbuy = 0, dsell = 0;
  const i128 v = fx::value(now.price, now.qty, in.m);
  (buy ? dbuy : dsell) += v;
  if (old && !old->reduce_only) (old->side == Side::Buy ? dbuy : dsell) -= fx::value(old->price, old->qty, in.m);
  Figures f{0, 0};
  if (r.size != 0) f = figures(r, in);  // valued once, for both worst cases and the equity
  const i128 ps = r.size < 0 ? -f.notional : f.notional;
  const i128 w0 = worst_case_from(ps, r, 0, 0);
  const i128 w1 = worst_case_from(ps, r, dbuy, dsell);
  // The initial margin does not decrease with the worst case: an order that does not raise it
  // cannot raise the requirement.
  if (w1 <= w0) return wire::RejectReason::None;
  if (w1 > in.brackets.max_notional()) return wire::RejectReason::InsufficientMargin;
  const i128 im0 = in.brackets.initial(w0), im1 = in.brackets.initial(w1);
  if (im1 <= im0) return wire::RejectReason::None;  // no requirement, or the same after rounding
  const Account& acc = (*accounts_)[r.account];
  const bool iso = r.flags & position_flags::kIsolated;
  i128 equity, imr;
  if (acc.positions == p && r.acct_next == kNilPos) {
    // The account's only record: its summary is this record's figures.
    equity = acc.balance + (iso ? 0 : f.unrealized);
    imr = net_of_isolated(iso, r.isolated, im1);
  } else {
    const Summary s = summarize(r.account, false);
    equity = s.equity;
    imr = s.imr - net_of_isolated(iso, r.isolated, im0) + net_of_isolated(iso, r.isolated, im1);
  }
  const i128 c = acc.balance;
  const i128 limit = iso ? std::min(c, equity) : equity;
  return imr <= limit ? wire::RejectReason::None : wire::RejectReason::InsufficientMargin;
}

// ---------------------------------------------------------------------------------------------
// requirements

MarginEngine::Figures MarginEngine::figures_wide(const Position& r, const Inst& in) noexcept {
  const i128 up = fx::value_up(in.mark, abs128(r.size), in.m);
  if (r.size < 0) return Figures{up, -up - r.entry};
  // value == value_up when m >= 0 (both exact).
  return Figures{up, (in.m >= 0 ? up : fx::value(in.mark, r.size, in.m)) - r.entry};
}

// Inlined at its callers: mark * 10^m * |s| in 64 bits when it fits (value and value_up are
// then this exact product), else figures_wide().
inline MarginEngine::Figures MarginEngine::figures(const Position& r, const Inst& in) noexcept {
  if (in.unit_value != 0 && r.size != std::numeric_limits<Qty>::min()) {
    const Qty size = r.size < 0 ? -r.size : r.size;
    std::int64_t mv, v;
    if (!__builtin_mul_overflow(in.mark, in.unit_value, &mv) && !__builtin_mul_overflow(mv, size, &v))
      return Figures{v, (r.size < 0 ? -i128{v} : i128{v}) - r.entry};
  }
  return figures_wide(r, in);
}

i128 MarginEngine::notional(const Position& r, const Inst& in) const noexcept {
  return r.size == 0 ? 0 : figures(r, in).notional;
}

i128 MarginEngine::unrealized(const Position& r, const Inst& in) const noexcept {
  if (r.size > 0) return fx::value(in.mark, r.size, in.m) - r.entry;
  if (r.size < 0) return -fx::value_up(in.mark, -i128{r.size}, in.m) - r.entry;
  return 0;
}

// The larger of the two worst-case positions, long with every buy filled or short with every
// sell filled; in 64 bits while every term and sum fits (always, for validated instruments and
// accepted orders), else in 128.
inline i128 MarginEngine::worst_case(const Position& r, const Inst& in, i128 dbuy, i128 dsell) const noexcept {
  i128 ps = 0;
  if (r.size != 0) {
    const i128 n = figures(r, in).notional;
    ps = r.size < 0 ? -n : n;
  }
  return worst_case_from(ps, r, dbuy, dsell);
}

inline i128 MarginEngine::worst_case_from(i128 ps, const Position& r, i128 dbuy, i128 dsell) noexcept {
  using i64 = std::int64_t;
  i64 up, down;
  if (fx::fits64(ps) && fx::fits64(dbuy) && fx::fits64(dsell) &&
      !__builtin_add_overflow(static_cast<i64>(ps), r.open_buy, &up) &&
      !__builtin_add_overflow(up, static_cast<i64>(dbuy), &up) &&
      !__builtin_sub_overflow(static_cast<i64>(ps), r.open_sell, &down) &&
      !__builtin_sub_overflow(down, static_cast<i64>(dsell), &down) && up != std::numeric_limits<i64>::min() &&
      down != std::numeric_limits<i64>::min())
    return std::max(up < 0 ? -up : up, down < 0 ? -down : down);
  const i128 up128 = ps + r.open_buy + dbuy;
  const i128 down128 = ps - r.open_sell - dsell;
  return std::max(abs128(up128), abs128(down128));
}

i128 MarginEngine::requirement(const Position& r, const Inst& in, i128 w) const noexcept {
  return requirement_in(r, in.brackets, w);
}

// The cross unit's equity, maintenance margin and notional without the initial margin: what
// detection and liquidation read (the IMR's worst-case positions cost most of summarize()).
MarginEngine::Summary MarginEngine::maintenance_summary(AccountId a) const noexcept {
  std::uint32_t cross;
  return maintenance_summary(a, nullptr, 0, cross);
}

MarginEngine::Summary MarginEngine::maintenance_summary(AccountId a, i128* notionals, std::uint32_t cap,
                                                        std::uint32_t& cross) const noexcept {
  const Account& acc = (*accounts_)[a];
  Summary s;
  s.equity = acc.balance;
  cross = 0;
  for (PosIdx p = acc.positions; p != kNilPos; p = positions_[p].acct_next) {
    const Position& r = positions_[p];
    if (r.size == 0 || (r.flags & position_flags::kIsolated)) continue;
    const Inst& in = inst_[r.instrument];
    const Figures f = figures(r, in);
    s.equity += f.unrealized;
    s.mm += in.brackets.maintenance(f.notional);
    s.notional += f.notional;
    if (cross < cap) notionals[cross] = f.notional;
    ++cross;
  }
  return s;
}

i128 MarginEngine::initial_requirement(AccountId a) const noexcept {
  i128 imr = 0;
  for (PosIdx p = (*accounts_)[a].positions; p != kNilPos; p = positions_[p].acct_next) {
    const Position& r = positions_[p];
    const Inst& in = inst_[r.instrument];
    if (in.brackets.margined()) imr += requirement_in(r, in.brackets, worst_case(r, in, 0, 0));
  }
  return imr;
}

MarginEngine::Summary MarginEngine::summarize(AccountId a, bool with_mm) const noexcept {
  const Account& acc = (*accounts_)[a];
  Summary s;
  s.equity = acc.balance;
  for (PosIdx p = acc.positions; p != kNilPos; p = positions_[p].acct_next) {
    const Position& r = positions_[p];
    const Inst& in = inst_[r.instrument];
    Figures f{0, 0};
    if (r.size != 0) f = figures(r, in);  // valued once, for the worst case and the equity
    // Unmargined: the requirement is 0 whatever the worst case, so it is not computed.
    s.imr += requirement_in(r, in.brackets, in.brackets.margined() ? worst_case_from(r.size < 0 ? -f.notional : f.notional, r, 0, 0) : 0);
    if (r.size == 0 || (r.flags & position_flags::kIsolated)) continue;
    s.equity += f.unrealized;
    if (with_mm) s.mm += in.brackets.maintenance(f.notional);
    s.notional += f.notional;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// fills

Money MarginEngine::fee(InstrumentId i, i128 v, bool maker) const noexcept {
  const i128 rate = maker ? inst_[i].maker_fee : inst_[i].taker_fee;
  // Charges round up, rebates round down: both against the account.
  if (rate >= 0) return money(fx::mul_div_ceil(v, rate, kRateOne));
  return money(-fx::mul_div_floor(v, -rate, kRateOne));
}

void MarginEngine::fill(InstrumentId i, PosIdx maker, PosIdx taker, Side aggressor, Price px, Qty q, i128 v,
                        Money maker_fee, Money taker_fee) noexcept {
  Inst& in = inst_[i];
  const Qty dq = aggressor == Side::Buy ? q : -q;
  Money realized = 0;
  apply(maker, in, -dq, px, v, maker_fee, realized);
  emit_position(positions_[maker], realized);
  apply(taker, in, dq, px, v, taker_fee, realized);
  emit_position(positions_[taker], realized);
  fees_ += maker_fee + taker_fee;
  in.fees += maker_fee + taker_fee;
}

void MarginEngine::apply(PosIdx p, Inst& in, Qty dq, Price px, i128 v, Money fee, Money& realized) noexcept {
  Position& r = positions_[p];
  Account& acc = (*accounts_)[r.account];
  const Qty before = r.size;
  settle(r, acc.balance, in, dq, px, v, realized);
  acc.balance -= fee;
  size_changed(p, in, before);
  touch(r.account);
}

// A fill's effect on one record and its account's balance, fees aside.
void MarginEngine::settle(Position& r, Money& balance, const Inst& in, Qty dq, Price px, i128 v,
                          Money& realized) noexcept {
  const bool iso = r.flags & position_flags::kIsolated;
  const Qty before = r.size;
  const int dir = dq > 0 ? 1 : -1;
  const i128 adq = abs128(dq);
  i128 opened = 0;  // value of the part that opens or increases the position
  realized = 0;
  if (before == 0 || (before > 0) == (dq > 0)) {
    r.size += dq;
    r.entry = money(r.entry + dir * v);
    opened = v;
  } else {
    const i128 s = abs128(before);
    const i128 c = std::min(adq, s);
    const i128 removed = c == s ? i128{r.entry} : fx::trunc_div(i128{r.entry} * c, s);
    const i128 vc = c < adq ? fx::value(px, c, in.m) : v;
    const i128 pnl = -dir * vc - removed;
    realized = money(pnl);
    balance = money(balance + pnl);
    r.entry = money(r.entry - removed);
    if (iso) {
      const i128 share = c == s ? i128{r.isolated} : fx::trunc_div(i128{r.isolated} * c, s);
      r.isolated = money(r.isolated - share);
      balance = money(balance + share);
    }
    r.size = static_cast<Qty>(before + dir * c);
    if (c < adq) {
      r.size = static_cast<Qty>(r.size + dir * (adq - c));
      r.entry = money(r.entry + dir * (v - vc));
      opened = v - vc;
    }
  }
  if (iso && opened > 0) {
    // The initial margin of the increase, at the fill price, moves into the position.
    const i128 moved = in.brackets.initial_part(opened, fx::value_up(px, abs128(r.size), in.m));
    balance = money(balance - moved);
    r.isolated = money(r.isolated + moved);
  }
}

void MarginEngine::size_changed(PosIdx p, Inst& in, Qty before) noexcept {
  Position& r = positions_[p];
  const Qty after = r.size;
  in.open_interest += std::max<Qty>(after, 0) - std::max<Qty>(before, 0);
  if (before == 0 && after != 0) {
    in.holders[++in.holder_count] = p;
    r.holder = in.holder_count;
  } else if (before != 0 && after == 0) {
    const PosIdx last = in.holders[in.holder_count--];
    in.holders[r.holder] = last;
    positions_[last].holder = r.holder;
    r.holder = 0;
    disarm(p, in);
    set_below(r.flags, position_flags::kBelow, false);
  }
}

void MarginEngine::emit_position(const Position& r, Money realized) noexcept {
  auto& m = out_->put<wire::PositionUpdate>();
  m.account = r.account;
  m.instrument = r.instrument;
  m.size = r.size;
  m.entry_value = r.entry;
  m.realized_pnl = realized;
}

// ---------------------------------------------------------------------------------------------
// transfers, settings, funding, index

wire::RejectReason MarginEngine::check_withdrawal(AccountId a, Money amount) const noexcept {
  const Summary s = summarize(a, false);
  const i128 free = std::min<i128>((*accounts_)[a].balance, s.equity) - s.imr;
  return amount <= free ? wire::RejectReason::None : wire::RejectReason::InsufficientFunds;
}

void MarginEngine::deposit(AccountId a, Money amount) noexcept {
  (*accounts_)[a].balance += amount;
  deposits_ += amount;
  touch(a);
}

void MarginEngine::withdraw(AccountId a, Money amount) noexcept {
  (*accounts_)[a].balance -= amount;
  withdrawals_ += amount;
  touch(a);
}

wire::RejectReason MarginEngine::settings(const wire::AccountSettings& s) noexcept {
  Account& acc = (*accounts_)[s.account];
  log_change(s.account);
  const bool iso = s.margin_mode == wire::MarginMode::Isolated;
  // A mode may change only where the account has neither a position nor orders.
  const auto busy = [&](const Position& r) { return r.size != 0 || r.orders != 0; };
  if (s.instrument == kAllInstruments) {
    const bool was = acc.flags & account_flags::kIsolatedDefault;
    for (PosIdx p = acc.positions; p != kNilPos; p = positions_[p].acct_next) {
      const Position& r = positions_[p];
      if (iso != was && !(r.flags & position_flags::kExplicitMode) && busy(r)) return wire::RejectReason::InvalidSettings;
    }
    for (PosIdx p = acc.positions; p != kNilPos; p = positions_[p].acct_next) {
      Position& r = positions_[p];
      if (r.flags & position_flags::kExplicitMode) continue;
      r.flags = static_cast<std::uint8_t>(iso ? r.flags | position_flags::kIsolated : r.flags & ~position_flags::kIsolated);
    }
    acc.flags = static_cast<std::uint8_t>(iso ? acc.flags | account_flags::kIsolatedDefault
                                              : acc.flags & ~account_flags::kIsolatedDefault);
  } else {
    PosIdx p = positions_.find(s.account, s.instrument);
    const bool was = p != kNilPos ? (positions_[p].flags & position_flags::kIsolated) != 0
                                  : (acc.flags & account_flags::kIsolatedDefault) != 0;
    if (p != kNilPos && iso != was && busy(positions_[p])) return wire::RejectReason::InvalidSettings;
    if (p == kNilPos) p = ensure(s.account, s.instrument);
    if (p == kNilPos) return wire::RejectReason::AccountCapacity;
    Position& r = positions_[p];
    r.flags = static_cast<std::uint8_t>((iso ? r.flags | position_flags::kIsolated : r.flags & ~position_flags::kIsolated) |
                                        position_flags::kExplicitMode);
  }
  acc.flags = static_cast<std::uint8_t>(s.role == wire::AccountRole::Backstop ? acc.flags | account_flags::kBackstop
                                                                               : acc.flags & ~account_flags::kBackstop);
  return wire::RejectReason::None;
}

// Ascending (account << 32 | record) keys: an account holds one record per instrument, so
// the account bits alone order the holders, and an LSD radix sort on them (two passes of
// 10 bits at a million accounts) replaces a comparison sort of up to a million keys. Keys
// sharing an account (never produced by ensure()) fall back to the comparison sort.
void MarginEngine::sort_holders(std::uint32_t n) noexcept {
  std::uint64_t* a = scratch_.data();
  const int bits = max_accounts_ > 1 ? std::bit_width(max_accounts_ - 1) : 1;
  if (n < kRadixMin || bits > 32) {
    std::sort(a, a + n);
    return;
  }
  const int passes = (bits + kRadixBits - 1) / kRadixBits;
  const int width = (bits + passes - 1) / passes;
  const std::uint64_t mask = (std::uint64_t{1} << width) - 1;
  std::uint32_t* count = radix_count_.data();
  std::fill(count, count + (static_cast<std::size_t>(passes) << width), 0u);
  for (std::uint32_t k = 0; k < n; ++k)
    for (int d = 0; d < passes; ++d) ++count[(static_cast<std::size_t>(d) << width) + ((a[k] >> (32 + d * width)) & mask)];
  std::uint64_t* b = scratch2_.data();
  for (int d = 0; d < passes; ++d) {
    std::uint32_t* c = count + (static_cast<std::size_t>(d) << width);
    std::uint32_t sum = 0;
    for (std::uint64_t j = 0; j <= mask; ++j) {
      const std::uint32_t x = c[j];
      c[j] = sum;
      sum += x;
    }
    const int shift = 32 + d * width;
    for (std::uint32_t k = 0; k < n; ++k) b[c[(a[k] >> shift) & mask]++] = a[k];
    std::swap(a, b);
  }
  if (a != scratch_.data()) std::copy(a, a + n, scratch_.data());
  a = scratch_.data();
  for (std::uint32_t k = 1; k < n; ++k)
    if ((a[k] >> 32) == (a[k - 1] >> 32)) {
      std::sort(a, a + n);
      return;
    }
}

void MarginEngine::funding(InstrumentId i, Rate rate) noexcept {
  Inst& in = inst_[i];
  const std::uint32_t n = in.holder_count;
  // The holders' records are a random million-entry working set: each loop loads the
  // records (and accounts) it will need kFundingAhead holders later.
  for (std::uint32_t k = 0; k < n; ++k) {
    if (k + kFundingAhead < n) __builtin_prefetch(&positions_[in.holders[k + 1 + kFundingAhead]]);
    const PosIdx p = in.holders[k + 1];
    scratch_[k] = (std::uint64_t{positions_[p].account} << 32) | p;
  }
  sort_holders(n);
  const i128 f = abs128(rate);
  i128 net = 0;  // sum of what accounts received
  for (std::uint32_t k = 0; k < n; ++k) {
    if (k + kFundingAhead < n) {
      const std::uint64_t ahead = scratch_[k + kFundingAhead];
      __builtin_prefetch(&positions_[static_cast<PosIdx>(ahead & 0xFFFFFFFFu)]);
      prefetch_account_record(static_cast<AccountId>(ahead >> 32));
    }
    const auto p = static_cast<PosIdx>(scratch_[k] & 0xFFFFFFFFu);
    const Position& r = positions_[p];
    // Positive rate: longs pay. The payer's share rounds up, the receiver's down.
    const bool pays = rate != 0 && (r.size > 0) == (rate > 0);
    const i128 amount = fx::value_times_rate(in.mark, abs128(r.size), in.m, f, pays);
    const Money signed_amount = money(pays ? -amount : amount);
    Account& acc = (*accounts_)[r.account];
    acc.balance += signed_amount;
    net += signed_amount;
    if (pays) {
      funding_paid_ -= signed_amount;
      in.funding_paid -= signed_amount;
    } else {
      funding_received_ += signed_amount;
      in.funding_received += signed_amount;
    }
    auto m = out_->make<wire::FundingPayment>();
    m.account = r.account;
    m.instrument = i;
    m.position = r.size;
    m.rate = rate;
    m.amount = signed_amount;
    out_->emit(m);
    touch(r.account);
  }
  if (net != 0) {
    insurance_ -= money(net);
    auto m = out_->make<wire::InsuranceFund>();
    m.instrument = i;
    m.reason = wire::InsuranceReason::FundingRemainder;
    m.delta = money(-net);
    m.balance = insurance_;
    out_->emit(m);
  }
}

void MarginEngine::set_index(InstrumentId i, Price p) noexcept {
  inst_[i].index = p;
  touch_mark(i);
}

void MarginEngine::change_log_start() noexcept {
  log_on_ = true;
  change_log_clear();
}

void MarginEngine::change_log_clear() noexcept {
  log_count_ = 0;
  if (++log_gen_ == 0) {  // wrapped: no stale listing may match again
    std::fill(logged_.data(), logged_.data() + max_accounts_, 0u);
    log_gen_ = 1;
  }
}

void MarginEngine::touch(AccountId a) noexcept {
  ++round_;
  log_change(a);
  Account& acc = (*accounts_)[a];
  if (!(acc.flags & account_flags::kPending)) {
    acc.flags |= account_flags::kPending;
    pending_[pending_count_++] = a;
  }
  if (acc.flags & account_flags::kDirty) return;
  acc.flags |= account_flags::kDirty;
  dirty_[dirty_count_++] = a;
}

void MarginEngine::touch_orders(AccountId a) noexcept {
  Account& acc = (*accounts_)[a];
  // Open orders move the IMR only. Equity and MM, and with them every certified watch
  // range, are what they were, so the cascade loop's evaluation would re-arm nothing and
  // find no candidate: the MarginUpdate reads a summary instead. While any unit is below
  // maintenance, the full touch keeps re-examining the way the loop always has.
  if (below_ != 0 || (acc.flags & (account_flags::kBelow | account_flags::kQueued | account_flags::kCandidate))) {
    touch(a);
    return;
  }
  ++round_;
  log_change(a);
  if (acc.flags & account_flags::kDirty) return;
  acc.flags |= account_flags::kDirty;
  dirty_[dirty_count_++] = a;
}

void MarginEngine::touch_mark(InstrumentId i) noexcept {
  ++round_;
  Inst& in = inst_[i];
  if (in.touched) return;
  in.touched = true;
  touched_[touched_count_++] = i;
}

// ---------------------------------------------------------------------------------------------
// end of the event

void MarginEngine::update_mark(InstrumentId i, Price bid, Price ask, Price last) noexcept {
  Inst& in = inst_[i];
  in.last = last;
  const Price mark = mark_price(MarkInputs{in.index, bid, ask, last, in.mark_band, in.min_price, in.max_price});
  if (mark == in.mark) return;
  ++round_;
  log_on_ = false;
  in.mark = mark;
  in.figures_at = ++figures_clock_;
  // Only positions whose certified range the mark left are looked at again.
  const auto unit = [&](PosIdx p) {
    if (positions_[p].flags & position_flags::kIsolated) evaluate_isolated(p); else evaluate(positions_[p].account);
  };
  while (!in.lo.empty() && in.lo.top().key < -static_cast<i128>(mark)) unit(in.lo.top().pos);
  while (!in.hi.empty() && in.hi.top().key < mark) unit(in.hi.top().pos);
}

// initial_requirement() of an account holding the one record r, without the walk over the
// account's records.
inline i128 MarginEngine::initial_one(const Position& r) const noexcept {
  const Inst& in = inst_[r.instrument];
  return in.brackets.margined() ? requirement(r, in, worst_case(r, in, 0, 0)) : 0;
}

// The IMR, if the equity and MM evaluated at figures_clock_ reading `at` still hold: no
// instrument of a cross position changed mark or brackets since. False leaves imr undefined.
bool MarginEngine::initial_if_current(AccountId a, std::uint64_t at, i128& imr) const noexcept {
  imr = 0;
  for (PosIdx p = (*accounts_)[a].positions; p != kNilPos; p = positions_[p].acct_next) {
    const Position& r = positions_[p];
    const Inst& in = inst_[r.instrument];
    if (r.size != 0 && !(r.flags & position_flags::kIsolated) && in.figures_at > at) return false;
    if (in.brackets.margined()) imr += requirement_in(r, in.brackets, worst_case(r, in, 0, 0));
  }
  return true;
}

void MarginEngine::report_accounts() noexcept {
  // A funding event touches its holders in ascending order already.
  if (dirty_count_ > 1 && !std::is_sorted(dirty_.data(), dirty_.data() + dirty_count_))
    std::sort(dirty_.data(), dirty_.data() + dirty_count_);
  const std::uint32_t n = dirty_count_;
  for (std::uint32_t k = 0; k < n; ++k) {
    if (k + 2 * kEvaluateAhead < n) {
      const AccountId b = dirty_[k + 2 * kEvaluateAhead];
      prefetch_account_record(b);
      __builtin_prefetch(&reported_[b]);
    }
    if (k + kEvaluateAhead < n) {
      const PosIdx p = (*accounts_)[dirty_[k + kEvaluateAhead]].positions;
      if (p != kNilPos) positions_.prefetch_record(p);
    }
    const AccountId a = dirty_[k];
    Account& acc = (*accounts_)[a];
    acc.flags &= static_cast<std::uint8_t>(~account_flags::kDirty);
    // The cascade loop evaluated every changed account after the last change.
    auto& m = out_->put<wire::MarginUpdate>();
    m.account = a;
    m.collateral = acc.balance;
    const Reported& c = reported_[a];
    const PosIdx p = acc.positions;
    const bool one = p != kNilPos && positions_[p].acct_next == kNilPos;
    const bool kept = c.at != 0 && !(acc.flags & account_flags::kPending);  // see Reported
    i128 imr;
    if (c.stamp == round_) {
      // The cascade loop's evaluation reads equity and MM only: the IMR is computed here.
      m.equity = c.equity;
      m.initial_margin = money(one ? initial_one(positions_[p]) : initial_requirement(a));
      m.maintenance_margin = c.mm;
    } else if (one) {
      // Mostly an account whose open orders alone changed (touch_orders()): summarize()
      // of its one record, without the walk.
      const Position& r = positions_[p];
      const Inst& in = inst_[r.instrument];
      m.initial_margin = money(initial_one(r));
      if (r.size == 0 || (r.flags & position_flags::kIsolated)) {
        m.equity = acc.balance;
        m.maintenance_margin = 0;
      } else if (kept && in.figures_at <= c.at) {
        m.equity = c.equity;
        m.maintenance_margin = c.mm;
      } else {
        const Figures f = figures(r, in);
        m.equity = money(i128{acc.balance} + f.unrealized);
        m.maintenance_margin = money(in.brackets.maintenance(f.notional));
      }
    } else if (kept && initial_if_current(a, c.at, imr)) {
      m.equity = c.equity;
      m.initial_margin = money(imr);
      m.maintenance_margin = c.mm;
    } else {
      const Summary s = summarize(a);
      m.equity = money(s.equity);
      m.initial_margin = money(s.imr);
      m.maintenance_margin = money(s.mm);
    }
    for (PosIdx q = p; q != kNilPos;) {
      const Position& rq = positions_[q];
      const PosIdx next = rq.acct_next;
      if (rq.size == 0 && rq.orders == 0) release_if_empty(q);  // most hold a position: no call
      q = next;
    }
  }
  dirty_count_ = 0;
  for (std::uint32_t k = 0; k < pending_count_; ++k)
    (*accounts_)[pending_[k]].flags &= static_cast<std::uint8_t>(~account_flags::kPending);
  pending_count_ = 0;
}

void MarginEngine::publish_marks() noexcept {
  if (touched_count_ > 1) std::sort(touched_.data(), touched_.data() + touched_count_);
  for (std::uint32_t k = 0; k < touched_count_; ++k) {
    const InstrumentId i = touched_[k];
    Inst& in = inst_[i];
    in.touched = false;
    if (in.mark == in.published_mark && in.index == in.published_index) continue;
    in.published_mark = in.mark;
    in.published_index = in.index;
    auto m = out_->make<wire::MarkPrice>();
    m.instrument = i;
    m.mark = in.mark;
    m.index = in.index;
    m.last = in.last;
    out_->emit(m);
  }
  touched_count_ = 0;
}

// ---------------------------------------------------------------------------------------------
// maintenance watch

MarginEngine::Summary MarginEngine::evaluate(AccountId a) noexcept {
  Account& acc = (*accounts_)[a];
  if (acc.positions != kNilPos && positions_[acc.positions].acct_next == kNilPos) return evaluate_one(a, acc.positions);
  // The summary's notionals, kept for the allotments below (recomputed past the first few).
  constexpr std::uint32_t kKept = 8;
  i128 kept[kKept];
  std::uint32_t cross;
  const Summary s = maintenance_summary(a, kept, kKept, cross);
  set_below(acc.flags, account_flags::kBelow, s.equity < s.mm);
  const i128 slack = s.equity - s.mm;
  if (s.equity < s.mm && (s.mm > 0 || (cross == 0 && isolated_margined(a)))) add_candidate(a, kNilPos);
  std::uint32_t j = 0;  // cross positions passed
  for (PosIdx p = acc.positions; p != kNilPos; p = positions_[p].acct_next) {
    const Position& r = positions_[p];
    if (r.size == 0) continue;
    if (r.flags & position_flags::kIsolated) {
      evaluate_isolated(p);
      continue;
    }
    // Each cross position may lose its share of the slack, in proportion to its notional.
    const Inst& in = inst_[r.instrument];
    i128 allot = -1;
    if (slack >= 0) {
      if (cross == 1) {
        allot = slack;  // the only cross position: n == s.notional, or s.notional == 0 and slack / 1
      } else {
        const i128 n = j < kKept ? kept[j] : notional(r, in);
        allot = s.notional > 0 ? fx::mul_div_floor(slack, n, s.notional) : slack / cross;
      }
    }
    arm(p, in, allot);
    ++j;
  }
  return s;
}

// evaluate() for the common account of one record: its figures are the unit's, the whole
// slack is its allotment, and nothing is summed or shared.
MarginEngine::Summary MarginEngine::evaluate_one(AccountId a, PosIdx p) noexcept {
  Account& acc = (*accounts_)[a];
  const Position& r = positions_[p];
  Summary s;
  s.equity = acc.balance;
  if (r.size == 0) {  // no position: the collateral alone, nothing to watch
    set_below(acc.flags, account_flags::kBelow, s.equity < 0);
    return s;
  }
  const Inst& in = inst_[r.instrument];
  if (r.flags & position_flags::kIsolated) {
    // The cross unit holds no position: liquidatable below 0 only beside a margined isolated one.
    set_below(acc.flags, account_flags::kBelow, s.equity < 0);
    if (s.equity < 0 && in.brackets.margined()) add_candidate(a, kNilPos);
    evaluate_isolated(p);
    return s;
  }
  const Figures f = figures(r, in);
  s.equity += f.unrealized;
  s.mm = in.brackets.maintenance(f.notional);
  s.notional = f.notional;
  const bool below = s.equity < s.mm;
  set_below(acc.flags, account_flags::kBelow, below);
  if (below && s.mm > 0) add_candidate(a, kNilPos);
  arm(p, in, below ? -1 : s.equity - s.mm);
  return s;
}

void MarginEngine::evaluate_isolated(PosIdx p) noexcept {
  Position& r = positions_[p];
  const Inst& in = inst_[r.instrument];
  const Figures f = r.size != 0 ? figures(r, in) : Figures{0, 0};
  const i128 mm = in.brackets.maintenance(f.notional);
  const i128 slack = r.isolated + f.unrealized - mm;
  set_below(r.flags, position_flags::kBelow, slack < 0);
  if (slack < 0 && mm > 0) add_candidate(r.account, p);
  arm(p, in, slack < 0 ? -1 : slack);
}

namespace {
// The mark range around `mark` over which a position of `size` loses at most `allot`:
// equity and maintenance move by at most |size| * 10^m * (1 + max_mmr) per price unit
// against the position, plus kWatchSlop of rounding either way.
void watch_range(Price mark, Qty size, int m, Rate max_mmr, Price min_price, Price max_price, i128 allot,
                 i128 slop, Price& lo, Price& hi) {
  if (allot < slop) {
    lo = hi = mark;  // any move at all
    return;
  }
  const i128 a = allot - slop;
  const i128 s = abs128(size);
  const i128 per = i128{kRateOne} + max_mmr;
  // max_mmr 0 (unmargined): per == kRateOne cancels, the same quotient without the product.
  const i128 d = max_mmr == 0 ? (m >= 0 ? fx::floor_div(a, s * fx::pow10(m)) : fx::mul_div_floor(a, fx::pow10(-m), s))
                 : m >= 0     ? fx::mul_div_floor(a, kRateOne, s * per * fx::pow10(m))
                              : fx::mul_div_floor(a * kRateOne, fx::pow10(-m), s * per);
  lo = kNoLo;
  hi = kNoHi;
  if (size > 0) {
    const i128 l = i128{mark} - d;
    if (l > min_price) lo = static_cast<Price>(l);  // the mark never goes below min_price
  } else {
    const i128 h = i128{mark} + d;
    if (h < max_price) hi = static_cast<Price>(h);
  }
}
}  // namespace

// The armed range holds the mark. watch_range(allot) would contain it when its distance
// d = floor(A / B) reaches the armed one, D: A >= D * B, with A = (allot - slop) * watch_num
// and B = |s| * watch_den, compared in 128 bits. For a long the armed lower bound counts as
// at least min_price (a computed bound at or below it is none), for a short the upper one as
// at most max_price; below the slop the range is the mark alone.
inline int MarginEngine::certified(const Position& r, const Inst& in, i128 allot) noexcept {
  if (allot < kWatchSlop) return r.watch_lo == in.mark && r.watch_hi == in.mark;
  using u64 = std::uint64_t;
  // The armed distance, as the difference of two prices in 64 bits (exact once positive).
  const Price from = r.size > 0 ? std::max(r.watch_lo, in.min_price) : in.mark;
  const Price to = r.size > 0 ? in.mark : std::min(r.watch_hi, in.max_price);
  if (to <= from) return 1;  // d >= 0 always
  const u64 dist = static_cast<u64>(to) - static_cast<u64>(from);
  const u64 size = r.size > 0 ? static_cast<u64>(r.size) : 0 - static_cast<u64>(r.size);
  u64 ds;
  if (in.watch_num == 0 || !fx::fits64(allot) || __builtin_mul_overflow(dist, size, &ds)) return -1;
  const auto a = static_cast<u64>(static_cast<std::int64_t>(allot) - kWatchSlop);
  return fx::u128{a} * in.watch_num >= fx::u128{ds} * in.watch_den;
}

// Whether the unit holding record r (its own if isolated, else the account's cross unit) waits
// in the liquidation queue.
inline bool MarginEngine::unit_queued(const Position& r) const noexcept {
  return (r.flags & position_flags::kIsolated) ? (r.flags & position_flags::kQueued) != 0
                                               : ((*accounts_)[r.account].flags & account_flags::kQueued) != 0;
}

// Most evaluations keep every range (still certified, holding the mark): that test inline at
// the callers, everything else in arm_slow(), which tests again from the start.
inline void MarginEngine::arm(PosIdx p, const Inst& in, i128 allot) noexcept {
  const Position& r = positions_[p];
  if (!unit_queued(r) && r.size != 0 && (r.flags & position_flags::kArmed) && r.watch_lo <= in.mark && in.mark <= r.watch_hi &&
      certified(r, in, allot) > 0)
    return;
  arm_slow(p, in, allot);
}

[[gnu::noinline]] void MarginEngine::arm_slow(PosIdx p, const Inst& in, i128 allot) noexcept {
  Position& r = positions_[p];
  // A queued unit is looked at again when its step comes: watching it would re-evaluate it
  // on every move of the mark while the cascade walks the price (quadratic in a cascade).
  const bool queued = unit_queued(r);
  // A flat record has nothing to watch (a recovered isolated unit may be flat when its step
  // comes); left armed, it would stay in the heap after a switch to cross and never re-arm.
  if (queued || r.size == 0) {
    disarm(p, inst_[r.instrument]);
    return;
  }
  // Keep a range that is still certified and holds the mark: no heap work on most events.
  if ((r.flags & position_flags::kArmed) && r.watch_lo <= in.mark && in.mark <= r.watch_hi) {
    const int c = certified(r, in, allot);
    if (c > 0) return;
    if (c < 0) {
      Price valid_lo, valid_hi;
      watch_range(in.mark, r.size, in.m, in.brackets.max_mmr(), in.min_price, in.max_price, allot, kWatchSlop,
                  valid_lo, valid_hi);
      if (r.watch_lo >= valid_lo && r.watch_hi <= valid_hi) return;
    }
  }
  // Arm with 63/64 of the allotment: a mark walking towards the limit re-examines the
  // position only a few times (Cascade100k: 15/16 199 ms, 31/32 186 ms, 63/64 180 ms), and a
  // later small loss (a fee) still often leaves the armed range certified.
  Price lo, hi;
  watch_range(in.mark, r.size, in.m, in.brackets.max_mmr(), in.min_price, in.max_price, allot < 0 ? allot : allot - allot / 64,
              kWatchSlop, lo, hi);
  r.watch_lo = lo;
  r.watch_hi = hi;
  r.flags |= position_flags::kArmed;
  Inst& mi = inst_[r.instrument];
  if (lo != kNoLo) mi.lo.set(p, -lo); else mi.lo.erase(p);
  if (hi != kNoHi) mi.hi.set(p, hi); else mi.hi.erase(p);
}

void MarginEngine::disarm(PosIdx p, Inst& in) noexcept {
  Position& r = positions_[p];
  in.lo.erase(p);
  in.hi.erase(p);
  r.watch_lo = kNoLo;
  r.watch_hi = kNoHi;
  r.flags &= static_cast<std::uint8_t>(~position_flags::kArmed);
}

inline void MarginEngine::set_below(std::uint8_t& flags, std::uint8_t bit, bool below) noexcept {
  if (((flags & bit) != 0) == below) return;
  if (below) {
    flags |= bit;
    ++below_;
  } else {
    flags &= static_cast<std::uint8_t>(~bit);
    --below_;
  }
}

// ---------------------------------------------------------------------------------------------
// liquidation

MarginEngine::UnitFigures MarginEngine::unit(AccountId a, PosIdx iso) const noexcept {
  UnitFigures f;
  if (iso == kNilPos) {
    const Summary s = maintenance_summary(a);
    f.equity = s.equity;
    f.mm = s.mm;
    return f;
  }
  const Position& r = positions_[iso];
  const Inst& in = inst_[r.instrument];
  f.equity = r.isolated + unrealized(r, in);
  f.mm = in.brackets.maintenance(notional(r, in));
  return f;
}

// The unit holding record p if it took q at px on `side` (no fee), at the current marks.
MarginEngine::UnitFigures MarginEngine::unit_after_fill(PosIdx p, Side side, Price px, Qty q) const noexcept {
  const Position& r = positions_[p];
  const Inst& in = inst_[r.instrument];
  Position after = r;
  Money balance = (*accounts_)[r.account].balance;
  Money realized = 0;
  settle(after, balance, in, side == Side::Buy ? q : -q, px, fx::value(px, q, in.m), realized);
  UnitFigures f;
  if (r.flags & position_flags::kIsolated) {
    f.equity = after.isolated + unrealized(after, in);
    f.mm = in.brackets.maintenance(notional(after, in));
    return f;
  }
  f = unit(r.account, kNilPos);
  f.equity += i128{balance} - (*accounts_)[r.account].balance + unrealized(after, in) - unrealized(r, in);
  f.mm += in.brackets.maintenance(notional(after, in)) - in.brackets.maintenance(notional(r, in));
  return f;
}

i128 MarginEngine::position_mm(PosIdx p) const noexcept {
  const Position& r = positions_[p];
  const Inst& in = inst_[r.instrument];
  return in.brackets.maintenance(notional(r, in));
}

void MarginEngine::evaluate_pending() noexcept {
  ++round_;
  const std::uint32_t n = pending_count_;
  for (std::uint32_t k = 0; k < n; ++k) {
    // A long list (a funding event's holders) is a random walk over records: load each
    // account and its report slot two distances ahead, its first record one ahead.
    if (k + 2 * kEvaluateAhead < n) {
      const AccountId b = pending_[k + 2 * kEvaluateAhead];
      prefetch_account_record(b);
      __builtin_prefetch(&reported_[b], 1);
    }
    if (k + kEvaluateAhead < n) {
      const PosIdx p = (*accounts_)[pending_[k + kEvaluateAhead]].positions;
      if (p != kNilPos) positions_.prefetch_record(p);
    }
    const AccountId a = pending_[k];
    (*accounts_)[a].flags &= static_cast<std::uint8_t>(~account_flags::kPending);
    const Summary s = evaluate(a);
    reported_[a] = Reported{money(s.equity), money(s.mm), round_, figures_clock_};
  }
  pending_count_ = 0;
}

void MarginEngine::add_candidate(AccountId a, PosIdx iso) noexcept {
  std::uint8_t& flags = iso == kNilPos ? (*accounts_)[a].flags : positions_[iso].flags;
  const std::uint8_t bit = iso == kNilPos ? account_flags::kCandidate : position_flags::kCandidate;
  if (flags & bit) return;
  flags |= bit;
  cand_[cand_count_++] = Candidate{a, iso};
}

void MarginEngine::clear_candidates() noexcept {
  for (std::uint32_t k = 0; k < cand_count_; ++k) {
    const Candidate c = cand_[k];
    if (c.pos == kNilPos)
      (*accounts_)[c.account].flags &= static_cast<std::uint8_t>(~account_flags::kCandidate);
    else
      positions_[c.pos].flags &= static_cast<std::uint8_t>(~position_flags::kCandidate);
  }
  cand_count_ = 0;
}

bool MarginEngine::below(AccountId a, PosIdx iso) const noexcept {
  return iso == kNilPos ? ((*accounts_)[a].flags & account_flags::kBelow) != 0
                        : (positions_[iso].flags & position_flags::kBelow) != 0;
}

bool MarginEngine::queued(AccountId a, PosIdx iso) const noexcept {
  return iso == kNilPos ? ((*accounts_)[a].flags & account_flags::kQueued) != 0
                        : (positions_[iso].flags & position_flags::kQueued) != 0;
}

void MarginEngine::set_queued(AccountId a, PosIdx iso, bool q) noexcept {
  std::uint8_t& flags = iso == kNilPos ? (*accounts_)[a].flags : positions_[iso].flags;
  const std::uint8_t bit = iso == kNilPos ? account_flags::kQueued : position_flags::kQueued;
  flags = static_cast<std::uint8_t>(q ? flags | bit : flags & ~bit);
  if (!q) return;
  if (iso != kNilPos) {
    disarm(iso, inst_[positions_[iso].instrument]);
    return;
  }
  for (PosIdx p = (*accounts_)[a].positions; p != kNilPos; p = positions_[p].acct_next)
    if (!(positions_[p].flags & position_flags::kIsolated)) disarm(p, inst_[positions_[p].instrument]);
}

void MarginEngine::reevaluate(AccountId a, PosIdx iso) noexcept {
  if (iso == kNilPos) evaluate(a); else evaluate_isolated(iso);
}

void MarginEngine::fill_quiet(InstrumentId i, PosIdx maker, PosIdx taker, Side aggressor, Price px, Qty q, i128 v,
                              Money maker_fee, Money& maker_realized, Money& taker_realized) noexcept {
  Inst& in = inst_[i];
  const Qty dq = aggressor == Side::Buy ? q : -q;
  apply(maker, in, -dq, px, v, maker_fee, maker_realized);
  apply(taker, in, dq, px, v, 0, taker_realized);
  fees_ += maker_fee;
  in.fees += maker_fee;
}

void MarginEngine::emit_fill_positions(PosIdx maker, PosIdx taker, Money maker_realized,
                                       Money taker_realized) noexcept {
  emit_position(positions_[maker], maker_realized);
  emit_position(positions_[taker], taker_realized);
}

void MarginEngine::pay_liquidation_fee(AccountId a, InstrumentId i, Money fee) noexcept {
  (*accounts_)[a].balance -= fee;
  insurance_ += fee;
  touch(a);
  auto m = out_->make<wire::InsuranceFund>();
  m.instrument = i;
  m.reason = wire::InsuranceReason::LiquidationFee;
  m.delta = fee;
  m.balance = insurance_;
  out_->emit(m);
}

Money MarginEngine::bankrupt(AccountId a, InstrumentId i, Money& socialized) noexcept {
  Account& acc = (*accounts_)[a];
  const Money loss = -acc.balance;
  const Money paid = std::min(loss, std::max<Money>(insurance_, 0));
  insurance_ -= paid;
  acc.balance = 0;
  socialized = loss - paid;
  socialized_ += socialized;
  touch(a);
  auto m = out_->make<wire::InsuranceFund>();
  m.instrument = i;
  m.reason = wire::InsuranceReason::BankruptcyPayout;
  m.delta = -paid;
  m.balance = insurance_;
  out_->emit(m);
  return loss;
}

bool MarginEngine::isolated_margined(AccountId a) const noexcept {
  for (PosIdx p = (*accounts_)[a].positions; p != kNilPos; p = positions_[p].acct_next) {
    const Position& r = positions_[p];
    if (r.size != 0 && (r.flags & position_flags::kIsolated) && inst_[r.instrument].brackets.margined()) return true;
  }
  return false;
}

bool MarginEngine::liquidatable(AccountId a, PosIdx iso, const UnitFigures& f) const noexcept {
  if (f.equity >= f.mm) return false;
  if (f.mm > 0) return true;
  return iso == kNilPos && !has_cross_position(a) && isolated_margined(a);
}

bool MarginEngine::has_cross_position(AccountId a) const noexcept {
  for (PosIdx p = (*accounts_)[a].positions; p != kNilPos; p = positions_[p].acct_next)
    if (positions_[p].size != 0 && !(positions_[p].flags & position_flags::kIsolated)) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------
// queries

MarkView MarginEngine::mark_view(InstrumentId i) const noexcept {
  const Inst& in = inst_[i];
  return MarkView{in.mark, in.index, in.last};
}

bool MarginEngine::active(AccountId a) const noexcept {
  const Account& acc = (*accounts_)[a];
  return acc.balance != 0 || acc.positions != kNilPos;
}

AccountView MarginEngine::account_view(AccountId a) const {
  const Account& acc = (*accounts_)[a];
  const Summary s = summarize(a);
  AccountView v;
  v.collateral = acc.balance;
  v.equity = money(s.equity);
  v.initial_margin = money(s.imr);
  v.maintenance_margin = money(s.mm);
  v.below_maintenance = acc.flags & account_flags::kBelow;
  v.isolated_default = acc.flags & account_flags::kIsolatedDefault;
  v.backstop = acc.flags & account_flags::kBackstop;
  for (PosIdx p = acc.positions; p != kNilPos; p = positions_[p].acct_next) {
    const Position& r = positions_[p];
    const Inst& in = inst_[r.instrument];
    PositionView pv;
    pv.instrument = r.instrument;
    pv.size = r.size;
    pv.entry_value = r.entry;
    pv.isolated = r.flags & position_flags::kIsolated;
    pv.isolated_margin = r.isolated;
    const i128 n = notional(r, in);
    pv.notional = money(n);
    pv.unrealized_pnl = money(unrealized(r, in));
    pv.initial_margin = money(in.brackets.initial(worst_case(r, in, 0, 0)));
    pv.maintenance_margin = money(in.brackets.maintenance(n));
    pv.open_buy = r.open_buy;
    pv.open_sell = r.open_sell;
    pv.reduce_only = r.reduce_only;
    pv.orders = r.orders;
    pv.below_maintenance = r.flags & position_flags::kBelow;
    v.positions.push_back(pv);
  }
  std::sort(v.positions.begin(), v.positions.end(),
            [](const PositionView& x, const PositionView& y) { return x.instrument < y.instrument; });
  return v;
}

MarginTotals MarginEngine::totals() const noexcept {
  MarginTotals t;
  t.deposits = deposits_;
  t.withdrawals = withdrawals_;
  t.fees_collected = fees_;
  t.insurance_fund = insurance_;
  t.socialized_losses = socialized_;
  t.funding_paid = funding_paid_;
  t.funding_received = funding_received_;
  t.below_maintenance = below_;
  t.position_records = positions_.used();
  return t;
}

InstrumentTotals MarginEngine::instrument_totals(InstrumentId i) const noexcept {
  const Inst& in = inst_[i];
  InstrumentTotals t;
  t.open_interest = static_cast<Qty>(std::min<i128>(in.open_interest, std::numeric_limits<Qty>::max()));
  t.holders = in.holder_count;
  t.fees = in.fees;
  t.funding_paid = in.funding_paid;
  t.funding_received = in.funding_received;
  return t;
}

}  // namespace cascade

// ---------------------------------------------------------------------------------------------
// snapshots (cascade/snapshot.hpp, docs/snapshots.md): semantic fields only; open order sums
// come back through add_order, watch ranges through rearm().

#include "snapshot_codec.hpp"

namespace cascade {

void MarginEngine::save_instrument(InstrumentId i, snap::Writer& w) const {
  const Inst& in = inst_[i];
  w.put(in.mark);
  w.put(in.index);
  w.put(in.last);
  w.put(in.published_mark);
  w.put(in.published_index);
  w.put(in.open_interest);
  w.put(in.fees);
  w.put(in.funding_paid);
  w.put(in.funding_received);
}

bool MarginEngine::restore_instrument(InstrumentId i, snap::Reader& r) noexcept {
  Inst& in = inst_[i];
  in.figures_at = ++figures_clock_;
  return r.get(in.mark) && r.get(in.index) && r.get(in.last) && r.get(in.published_mark) &&
         r.get(in.published_index) && r.get(in.open_interest) && r.get(in.fees) && r.get(in.funding_paid) &&
         r.get(in.funding_received);
}

namespace {
constexpr std::uint8_t kSavedPositionFlags =
    position_flags::kIsolated | position_flags::kExplicitMode | position_flags::kBelow;
}  // namespace

void MarginEngine::save_positions(AccountId a, snap::Writer& w) const {
  // The account's list is newest first; written oldest first so that re-creating the records
  // in file order gives the same list.
  PosIdx tail = kNilPos;
  for (PosIdx p = (*accounts_)[a].positions; p != kNilPos; p = positions_[p].acct_next) tail = p;
  for (PosIdx p = tail; p != kNilPos; p = positions_[p].acct_prev) {
    const Position& r = positions_[p];
    w.begin(snap::kPosition);
    w.put(r.account);
    w.put(r.instrument);
    w.put(r.size);
    w.put(r.entry);
    w.put(r.isolated);
    w.put(static_cast<std::uint8_t>(r.flags & kSavedPositionFlags));
    w.end();
  }
}

bool MarginEngine::restore_position(snap::Reader& rd) noexcept {
  AccountId a = 0;
  InstrumentId i = 0;
  Qty size = 0;
  Money entry = 0, isolated = 0;
  std::uint8_t flags = 0;
  if (!rd.get(a) || !rd.get(i) || !rd.get(size) || !rd.get(entry) || !rd.get(isolated) || !rd.get(flags)) return false;
  if (a >= accounts_->size() || i >= inst_.size() || !inst_[i].defined || (flags & ~kSavedPositionFlags) ||
      positions_.find(a, i) != kNilPos)
    return false;
  const PosIdx p = positions_.create(a, i, (*accounts_)[a].positions);
  if (p == kNilPos) return false;
  Position& r = positions_[p];
  r.size = size;
  r.entry = entry;
  r.isolated = isolated;
  r.flags = flags;
  r.watch_lo = kNoLo;
  r.watch_hi = kNoHi;
  if (flags & position_flags::kBelow) ++below_;
  if (size != 0) {
    Inst& in = inst_[i];
    in.holders[++in.holder_count] = p;
    r.holder = in.holder_count;
  }
  return true;
}

void MarginEngine::save_totals(snap::Writer& w) const {
  w.put(deposits_);
  w.put(withdrawals_);
  w.put(fees_);
  w.put(insurance_);
  w.put(socialized_);
  w.put(funding_paid_);
  w.put(funding_received_);
}

bool MarginEngine::restore_totals(snap::Reader& r) noexcept {
  return r.get(deposits_) && r.get(withdrawals_) && r.get(fees_) && r.get(insurance_) && r.get(socialized_) &&
         r.get(funding_paid_) && r.get(funding_received_);
}

void MarginEngine::rearm(AccountId a) noexcept {
  Account& acc = (*accounts_)[a];
  if (acc.flags & account_flags::kBelow) ++below_;  // restored raw; evaluate() keeps the count from here
  if (acc.positions != kNilPos) evaluate(a);
}

void MarginEngine::finish_restore() noexcept {
  log_on_ = false;
  clear_candidates();
  for (std::uint32_t k = 0; k < touched_count_; ++k) inst_[touched_[k]].touched = false;
  touched_count_ = 0;
  for (std::uint32_t k = 0; k < dirty_count_; ++k)
    (*accounts_)[dirty_[k]].flags &= static_cast<std::uint8_t>(~account_flags::kDirty);
  dirty_count_ = 0;
  for (std::uint32_t k = 0; k < pending_count_; ++k)
    (*accounts_)[pending_[k]].flags &= static_cast<std::uint8_t>(~account_flags::kPending);
  pending_count_ = 0;
}

}  // namespace cascade
