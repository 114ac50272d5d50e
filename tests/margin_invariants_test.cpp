// Randomized streams through the engine, checked after every event against a simple model of
// the accounts written from docs/margin.md alone (maps, plain formulas, no shared code):
//  - per instrument the position sizes sum to zero;
//  - money is conserved exactly: deposits - withdrawals = sum (C - E + B) + insurance + F;
//  - every PositionUpdate, FundingPayment, fee and MarginUpdate equals the model's value, and
//    each MarginUpdate equals a from-scratch recomputation of that account from engine state;
//  - pre-trade and withdrawal decisions agree with the model; below-maintenance flags agree;
//  - open reduce-only quantity never exceeds the position it reduces.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "cascade/engine.hpp"
#include "cascade/event_buffer.hpp"
#include "cascade/event_reader.hpp"
#include "support/events.hpp"

namespace {

using namespace cascade;
namespace t = cascade::testing;
using i128 = __int128;
using wire::RejectReason;

constexpr i128 kOne = 100'000'000;

i128 floor_div(i128 a, i128 b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0); }
i128 ceil_div(i128 a, i128 b) { return a / b + ((a % b != 0) && ((a < 0) == (b < 0)) ? 1 : 0); }
i128 pow10(int n) {
  i128 r = 1;
  while (n-- > 0) r *= 10;
  return r;
}
i128 abs_(i128 v) { return v < 0 ? -v : v; }

// --- the model ------------------------------------------------------------------------------

struct Tier {
  i128 max, imr, mmr, maint;
};

struct Inst {
  int m = 0;
  Price min_price = 0, max_price = 0;
  i128 maker = 0, taker = 0, band = 0;
  std::vector<Tier> tiers;
  Price index = 0, last = 0, bid = 0, ask = 0, mark = 0;

  i128 value(i128 p, i128 q, bool up = false) const {
    if (m >= 0) return p * q * pow10(m);
    return up ? ceil_div(p * q, pow10(-m)) : floor_div(p * q, pow10(-m));
  }
  const Tier* tier(i128 n) const {
    if (tiers.empty()) return nullptr;
    for (const Tier& t : tiers)
      if (n <= t.max) return &t;
    return &tiers.back();
  }
  i128 im(i128 n) const {
    const Tier* t = tier(n);
    return t && n > 0 ? ceil_div(n * t->imr, kOne) : 0;
  }
  i128 mm(i128 n) const {
    const Tier* t = tier(n);
    return t && n > 0 ? std::max<i128>(0, ceil_div(n * t->mmr, kOne) - t->maint) : 0;
  }
  i128 fee(i128 v, bool is_maker) const {
    const i128 r = is_maker ? maker : taker;
    return r >= 0 ? ceil_div(v * r, kOne) : -floor_div(v * -r, kOne);
  }
  void update_mark() {
    if (index == 0) {
      mark = last;
      return;
    }
    i128 x = index;
    if (bid && ask) {
      i128 v[3] = {index, bid, ask};
      std::sort(v, v + 3);
      x = v[1];
    }
    if (band > 0) {
      const i128 d = floor_div(i128{index} * band, kOne);
      x = std::clamp<i128>(x, index - d, index + d);
    }
    mark = static_cast<Price>(std::clamp<i128>(x, min_price, max_price));
  }
};

struct Pos {
  i128 size = 0, entry = 0, iso_margin = 0;
};

struct Order {
  AccountId account;
  InstrumentId instrument;
  Side side;
  Price price;  // as counted: limit price, or a stop-market's trigger
  Qty qty;
  bool ro;
  bool live;  // resting or an untriggered stop
};

struct Figures {
  i128 c = 0, equity = 0, imr = 0, mm = 0;
};

struct Model {
  std::vector<Inst> inst;
  std::map<AccountId, i128> collateral;
  std::map<std::pair<AccountId, InstrumentId>, Pos> pos;
  std::map<std::pair<AccountId, InstrumentId>, bool> isolated;  // explicit per instrument
  std::map<AccountId, bool> iso_default;
  std::map<OrderId, Order> orders;
  i128 deposits = 0, withdrawals = 0, fees = 0, insurance = 0;

  bool is_iso(AccountId a, InstrumentId i) const {
    auto it = isolated.find({a, i});
    if (it != isolated.end()) return it->second;
    auto d = iso_default.find(a);
    return d != iso_default.end() && d->second;
  }
  i128 notional(const Inst& in, const Pos& p) const { return p.size == 0 ? 0 : in.value(in.mark, abs_(p.size), true); }
  i128 upnl(const Inst& in, const Pos& p) const {
    if (p.size > 0) return in.value(in.mark, p.size) - p.entry;
    if (p.size < 0) return -in.value(in.mark, -p.size, true) - p.entry;
    return 0;
  }
  // Worst-case notional with an optional extra order (buy > 0 / sell > 0 notional).
  i128 worst(AccountId a, InstrumentId i, i128 extra_buy, i128 extra_sell) const {
    const Inst& in = inst[i];
    i128 nb = extra_buy, ns = extra_sell;
    for (const auto& [id, o] : orders)
      if (o.live && !o.ro && o.account == a && o.instrument == i) (o.side == Side::Buy ? nb : ns) += in.value(o.price, o.qty);
    auto it = pos.find({a, i});
    const i128 ps = it == pos.end() ? 0 : (it->second.size > 0 ? 1 : -1) * notional(in, it->second);
    return std::max(abs_(ps + nb), abs_(ps - ns));
  }
  i128 term(AccountId a, InstrumentId i, i128 w) const {
    const i128 im = inst[i].im(w);
    if (!is_iso(a, i)) return im;
    auto it = pos.find({a, i});
    const i128 b = it == pos.end() ? 0 : it->second.iso_margin;
    return std::max<i128>(0, im - b);
  }
  Figures figures(AccountId a, InstrumentId swap_i = ~0u, i128 swap_w = 0) const {
    Figures f;
    auto c = collateral.find(a);
    f.c = c == collateral.end() ? 0 : c->second;
    f.equity = f.c;
    for (InstrumentId i = 0; i < inst.size(); ++i) {
      const i128 w = i == swap_i ? swap_w : worst(a, i, 0, 0);
      f.imr += term(a, i, w);
      auto it = pos.find({a, i});
      if (it == pos.end() || it->second.size == 0 || is_iso(a, i)) continue;
      f.equity += upnl(inst[i], it->second);
      f.mm += inst[i].mm(notional(inst[i], it->second));
    }
    return f;
  }
  // The pre-trade answer of docs/margin.md for a new order (or a modify replacing `old_id`).
  RejectReason check(AccountId a, InstrumentId i, Side side, Price price, Qty qty, bool ro, const Order* old) const {
    const Inst& in = inst[i];
    auto it = pos.find({a, i});
    const Pos p = it == pos.end() ? Pos{} : it->second;
    if (ro) {
      i128 open_ro = 0;
      for (const auto& [id, o] : orders)
        if (o.live && o.ro && o.account == a && o.instrument == i) open_ro += o.qty;
      if (old) open_ro -= old->qty;
      const Side closing = p.size > 0 ? Side::Sell : Side::Buy;
      if (p.size == 0 || side != closing || qty > abs_(p.size) - open_ro) return RejectReason::ReduceOnlyWouldIncrease;
      return RejectReason::None;
    }
    i128 side_qty = qty;
    for (const auto& [id, o] : orders)
      if (o.live && !o.ro && o.account == a && o.instrument == i && o.side == side) side_qty += o.qty;
    if (old) side_qty -= old->qty;
    if (in.value(in.max_price, abs_(p.size) + side_qty, true) > (i128{1} << 62)) return RejectReason::NotionalOverflow;
    i128 eb = 0, es = 0;
    (side == Side::Buy ? eb : es) += in.value(price, qty);
    if (old) (old->side == Side::Buy ? eb : es) -= in.value(old->price, old->qty);
    const i128 w0 = worst(a, i, 0, 0), w1 = worst(a, i, eb, es);
    if (!in.tiers.empty() && w1 > in.tiers.back().max && w1 > w0) return RejectReason::InsufficientMargin;
    if (in.im(w1) <= in.im(w0)) return RejectReason::None;
    const Figures f = figures(a, i, w1);
    const i128 limit = is_iso(a, i) ? std::min(f.c, f.equity) : f.equity;
    return f.imr <= limit ? RejectReason::None : RejectReason::InsufficientMargin;
  }

  // docs/margin.md, "A fill", one side.
  i128 apply(AccountId a, InstrumentId i, i128 dq, Price px, i128 v, i128 fee) {
    const Inst& in = inst[i];
    Pos& p = pos[{a, i}];
    i128& c = collateral[a];
    const bool iso = is_iso(a, i);
    const i128 dir = dq > 0 ? 1 : -1;
    i128 realized = 0, opened = 0;
    if (p.size == 0 || (p.size > 0) == (dq > 0)) {
      p.size += dq;
      p.entry += dir * v;
      opened = v;
    } else {
      const i128 s = abs_(p.size), c_ = std::min(abs_(dq), s);
      const i128 r = c_ == s ? p.entry : p.entry * c_ / s;
      const i128 vc = c_ < abs_(dq) ? in.value(px, c_) : v;
      realized = -dir * vc - r;
      c += realized;
      p.entry -= r;
      if (iso) {
        const i128 share = c_ == s ? p.iso_margin : p.iso_margin * c_ / s;
        p.iso_margin -= share;
        c += share;
      }
      p.size += dir * c_;
      if (c_ < abs_(dq)) {
        p.size += dir * (abs_(dq) - c_);
        p.entry += dir * (v - vc);
        opened = v - vc;
      }
    }
    if (iso && opened > 0) {
      const Tier* t = in.tier(in.value(px, abs_(p.size), true));
      const i128 moved = t ? ceil_div(opened * t->imr, kOne) : 0;
      c -= moved;
      p.iso_margin += moved;
    }
    c -= fee;
    return realized;
  }
};

// --- the stream -----------------------------------------------------------------------------

struct Rng {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  std::int64_t between(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(next() % static_cast<std::uint64_t>(hi - lo + 1));
  }
  bool chance(int percent) { return static_cast<int>(next() % 100) < percent; }
};

constexpr AccountId kAccounts = 7;  // 1..6 trade

std::vector<wire::InstrumentDefinition> definitions() {
  std::vector<wire::InstrumentDefinition> v;
  // 0: BTC-like, pd 1 qd 3 (m = 2), three tiers, rebate, 1% mark band.
  auto b = t::instrument(0, 0, 0, 5, 1, 900'000, 1'100'000, 5'000);
  b.price_decimals = 1, b.qty_decimals = 3;
  b.maker_fee = -10'000, b.taker_fee = 50'000, b.mark_band = 1'000'000;
  b.tier_count = 3;
  b.tiers[0] = {50'000'000'000, 1'000'000, 500'000, 0};
  b.tiers[1] = {200'000'000'000, 2'000'000, 1'000'000, 250'000'000};
  b.tiers[2] = {1'000'000'000'000, 10'000'000, 5'000'000, 8'250'000'000};
  v.push_back(b);
  // 1: pd 3 qd 4 (m = -1): values round; two tiers.
  auto e = t::instrument(0, 0, 1, 25, 5, 3'000'000, 3'800'000, 50'000);
  e.price_decimals = 3, e.qty_decimals = 4;
  e.maker_fee = 20'000, e.taker_fee = 70'000, e.mark_band = 0;
  e.tier_count = 2;
  e.tiers[0] = {5'000'000, 5'000'000, 2'000'000, 0};
  e.tiers[1] = {50'000'000, 10'000'000, 5'000'000, 150'000};
  v.push_back(e);
  // 2: unmargined, pd 0 qd 0 (m = 6).
  auto u = t::instrument(0, 0, 2, 1, 1, 90, 110, 50);
  u.taker_fee = 1'000'000;
  v.push_back(u);
  return v;
}

Price mid_of(const wire::InstrumentDefinition& d) { return (d.min_price + d.max_price) / 2 / d.tick_size * d.tick_size; }

class Stream {
 public:
  explicit Stream(std::uint64_t seed) : rng_{seed}, eng_(cfg()) {}

  static EngineConfig cfg() {
    EngineConfig c;
    c.max_instruments = 3;
    c.max_accounts = kAccounts;
    c.max_orders = 200;
    c.max_levels_per_book = 1u << 16;
    c.max_positions = 64;
    return c;
  }

  void go(int events) {
    for (const auto& d : definitions()) {
      Inst in;
      in.m = 6 - d.price_decimals - d.qty_decimals;
      in.min_price = d.min_price, in.max_price = d.max_price;
      in.maker = d.maker_fee, in.taker = d.taker_fee, in.band = d.mark_band;
      for (int k = 0; k < d.tier_count; ++k)
        in.tiers.push_back({d.tiers[k].max_notional, d.tiers[k].imr, d.tiers[k].mmr, d.tiers[k].maint_amount});
      model_.inst.push_back(in);
      defs_.push_back(d);
      step(d);
    }
    for (int n = 0; n < events && !::testing::Test::HasFailure(); ++n) random_event();
    EXPECT_GT(fills_, 100) << "the stream should trade";
    EXPECT_GT(margin_rejects_, 5) << "the stream should reach the margin limits";
  }

 private:
  void random_event() {
    const int k = static_cast<int>(rng_.next() % 100);
    const AccountId a = static_cast<AccountId>(rng_.between(1, kAccounts - 1));
    const InstrumentId i = static_cast<InstrumentId>(rng_.between(0, 2));
    const auto& d = defs_[i];
    const Price tick = d.tick_size;
    const Price center = model_.inst[i].index ? model_.inst[i].index : mid_of(d);
    const auto near = [&](int ticks) {
      const Price p = (center / tick + rng_.between(-ticks, ticks)) * tick;
      return std::clamp(p, d.min_price, d.max_price);
    };
    const auto qty = [&] { return d.lot_size * rng_.between(1, 40); };
    const Side side = rng_.chance(50) ? Side::Buy : Side::Sell;
    if (k < 40) {
      auto o = t::limit(0, 0, ++ids_, a, i, side, near(12), qty(), rng_.chance(70) ? TimeInForce::GTC : TimeInForce::IOC);
      if (rng_.chance(15)) o.flags = order_flags::kReduceOnly;
      step(o);
    } else if (k < 46) {
      step(t::market(0, 0, ++ids_, a, i, side, qty(), rng_.chance(50) ? near(20) : 0));
    } else if (k < 50) {
      const Price trig = near(10);
      auto o = rng_.chance(50) ? t::stop_market(0, 0, ++ids_, a, i, side, trig, qty())
                               : t::stop_limit(0, 0, ++ids_, a, i, side, trig, near(10), qty());
      if (rng_.chance(20)) o.flags = order_flags::kReduceOnly;
      step(o);
    } else if (k < 58) {
      if (const OrderId id = some_live(a)) step(t::cancel(0, 0, id, a, model_.orders[id].instrument));
    } else if (k < 64) {
      if (const OrderId id = some_live(a)) {
        const Order& o = model_.orders[id];
        const auto& od = defs_[o.instrument];
        const Price c2 = model_.inst[o.instrument].index ? model_.inst[o.instrument].index : mid_of(od);
        const Price p = std::clamp((c2 / od.tick_size + rng_.between(-12, 12)) * od.tick_size, od.min_price, od.max_price);
        step(t::modify(0, 0, id, a, o.instrument, p, od.lot_size * rng_.between(1, 40)));
      }
    } else if (k < 76) {
      // The index walks; now and then it jumps.
      const Price step_ticks = rng_.chance(10) ? 60 : 6;
      Price p = (model_.inst[i].index ? model_.inst[i].index : mid_of(d)) + tick * rng_.between(-step_ticks, step_ticks);
      step(t::index_price(0, 0, i, std::clamp(p, d.min_price, d.max_price)));
    } else if (k < 80) {
      step(t::funding_rate(0, 0, i, static_cast<Rate>(rng_.between(-300'000, 300'000))));
    } else if (k < 86) {
      step(t::deposit(0, 0, a, rng_.between(1, 3'000) * 1'000'000 + rng_.between(0, 999'999), ++transfers_));
    } else if (k < 92) {
      step(t::withdrawal(0, 0, a, rng_.between(1, 2'000) * 1'000'000 + rng_.between(0, 999'999), ++transfers_));
    } else if (k < 95) {
      step(t::account_settings(0, 0, a, rng_.chance(30) ? kAllInstruments : i,
                               rng_.chance(50) ? wire::MarginMode::Isolated : wire::MarginMode::Cross));
    } else if (k < 97) {
      step(t::mass_cancel(0, 0, a, rng_.chance(50) ? kAllInstruments : i));
    } else {
      // Fresh collateral for everyone now and then keeps the stream trading.
      step(t::deposit(0, 0, a, 20'000'000'000, ++transfers_));
    }
  }

  OrderId some_live(AccountId a) {
    std::vector<OrderId> v;
    for (const auto& [id, o] : model_.orders)
      if (o.live && o.account == a) v.push_back(id);
    return v.empty() ? 0 : v[rng_.next() % v.size()];
  }

  static bool margin_reason(RejectReason r) {
    return r == RejectReason::InsufficientMargin || r == RejectReason::ReduceOnlyWouldIncrease ||
           r == RejectReason::NotionalOverflow || r == RejectReason::InsufficientFunds;
  }

  template <class T>
  void step(T m) {
    m.header.seq = ++seq_;
    m.header.ts_ns = (ts_ += 1000);
    const std::string what = "event " + std::to_string(seq_) + " type " + wire::type_name(T::kType);
    SCOPED_TRACE(what);
    // The model's answer before the event.
    RejectReason expect = RejectReason::None;
    if constexpr (std::is_same_v<T, wire::NewOrder>) {
      const Inst& in = model_.inst[m.instrument];
      const Price counted = m.order_type == OrderType::StopMarket ? m.trigger_price
                            : m.order_type == OrderType::Market
                                ? (m.price ? m.price : (m.side == Side::Buy ? in.max_price : in.min_price))
                                : m.price;
      expect = model_.check(m.account, m.instrument, m.side, counted, m.qty, m.flags & order_flags::kReduceOnly, nullptr);
    } else if constexpr (std::is_same_v<T, wire::ModifyOrder>) {
      const Order old = model_.orders.at(m.order_id);
      expect = model_.check(m.account, m.instrument, old.side, m.new_price, m.new_qty, old.ro, &old);
    } else if constexpr (std::is_same_v<T, wire::Withdrawal>) {
      const Figures f = model_.figures(m.account);
      if (i128{m.amount} > std::min(f.c, f.equity) - f.imr) expect = RejectReason::InsufficientFunds;
    }
    out_.clear();
    eng_.process(m, out_);

    bool rejected = false;
    EventReader reader(out_.bytes());
    EventView ev;
    std::vector<wire::MarginUpdate> margins;
    std::vector<InstrumentId> marks;
    i128 funding_net = 0;
    while (reader.next(ev)) {
      switch (ev.type()) {
        case wire::MsgType::Rejected: {
          rejected = true;
          const RejectReason r = ev.as<wire::Rejected>().reason;
          // A check of the book's (docs/matching.md) may come first; the margin ones must agree.
          if (margin_reason(r)) {
            EXPECT_EQ(static_cast<int>(r), static_cast<int>(expect)) << "margin decision";
            ++margin_rejects_;
          }
          break;
        }
        case wire::MsgType::OrderAccepted: {
          const auto& a = ev.as<wire::OrderAccepted>();
          EXPECT_EQ(static_cast<int>(expect), 0) << "accepted, the model rejects";
          const bool stop = a.order_type == OrderType::StopMarket || a.order_type == OrderType::StopLimit;
          model_.orders[a.order_id] = Order{a.account, a.instrument, a.side,
                                            a.order_type == OrderType::StopMarket ? a.trigger_price : a.price, a.qty,
                                            (a.flags & order_flags::kReduceOnly) != 0, stop};
          if (!stop) in_flight_[a.order_id] = a.order_type == OrderType::Limit && a.tif == TimeInForce::GTC;
          if (a.order_type == OrderType::StopLimit && a.tif == TimeInForce::GTC) stop_limit_gtc_[a.order_id] = true;
          break;
        }
        case wire::MsgType::StopTriggered: {
          const auto& st = ev.as<wire::StopTriggered>();
          Order& o = model_.orders.at(st.order_id);
          o.live = false;
          in_flight_[st.order_id] = stop_limit_gtc_.count(st.order_id) != 0;  // a stop-limit GTC may rest
          break;
        }
        case wire::MsgType::OrderModified: {
          const auto& mo = ev.as<wire::OrderModified>();
          EXPECT_EQ(static_cast<int>(expect), 0);
          Order& o = model_.orders.at(mo.order_id);
          o.price = mo.new_price;
          o.qty = mo.new_qty;
          if (!mo.priority_kept) {
            o.live = false;
            in_flight_[mo.order_id] = true;
          }
          break;
        }
        case wire::MsgType::OrderCancelled: {
          const auto& c = ev.as<wire::OrderCancelled>();
          model_.orders.erase(c.order_id);
          in_flight_.erase(c.order_id);
          break;
        }
        case wire::MsgType::Fill: fill(ev.as<wire::Fill>()); break;
        case wire::MsgType::PositionUpdate: {
          const auto& p = ev.as<wire::PositionUpdate>();
          ASSERT_FALSE(expected_positions_.empty());
          const auto [acc, inst, size, entry, realized] = expected_positions_.front();
          expected_positions_.erase(expected_positions_.begin());
          EXPECT_EQ(p.account, acc);
          EXPECT_EQ(p.instrument, inst);
          EXPECT_EQ(i128{p.size}, size);
          EXPECT_EQ(i128{p.entry_value}, entry) << "entry of account " << acc;
          EXPECT_EQ(i128{p.realized_pnl}, realized);
          break;
        }
        case wire::MsgType::FundingPayment: {
          const auto& f = ev.as<wire::FundingPayment>();
          const Inst& in = model_.inst[f.instrument];
          const Pos& p = model_.pos[{f.account, f.instrument}];
          EXPECT_EQ(i128{f.position}, p.size);
          const bool pays = f.rate != 0 && (p.size > 0) == (f.rate > 0);
          const i128 exact_num = i128{in.mark} * abs_(p.size) * abs_(i128{f.rate});
          const i128 den = in.m >= 0 ? kOne : kOne * pow10(-in.m);
          const i128 num = in.m >= 0 ? exact_num * pow10(in.m) : exact_num;
          const i128 amount = pays ? -ceil_div(num, den) : floor_div(num, den);
          EXPECT_EQ(i128{f.amount}, amount) << "funding of account " << f.account;
          model_.collateral[f.account] += amount;
          funding_net += amount;
          break;
        }
        case wire::MsgType::InsuranceFund: {
          const auto& f = ev.as<wire::InsuranceFund>();
          EXPECT_EQ(i128{f.delta}, -funding_net);
          model_.insurance += f.delta;
          EXPECT_EQ(i128{f.balance}, model_.insurance);
          break;
        }
        case wire::MsgType::BalanceChange: {
          const auto& b = ev.as<wire::BalanceChange>();
          model_.collateral[b.account] += b.delta;
          (b.delta > 0 ? model_.deposits : model_.withdrawals) += abs_(b.delta);
          EXPECT_EQ(i128{b.balance}, model_.collateral[b.account]);
          break;
        }
        case wire::MsgType::MarginUpdate: margins.push_back(ev.as<wire::MarginUpdate>()); break;
        case wire::MsgType::TopOfBook: {
          const auto& tb = ev.as<wire::TopOfBook>();
          model_.inst[tb.instrument].bid = tb.bid_qty ? tb.bid_price : 0;
          model_.inst[tb.instrument].ask = tb.ask_qty ? tb.ask_price : 0;
          break;
        }
        case wire::MsgType::MarkPrice: marks.push_back(ev.as<wire::MarkPrice>().instrument); break;
        default: break;
      }
    }
    ASSERT_TRUE(reader.ok());
    EXPECT_TRUE(expected_positions_.empty());
    if (!rejected && expect != RejectReason::None) ADD_FAILURE() << "model rejects " << static_cast<int>(expect);
    if constexpr (std::is_same_v<T, wire::IndexPrice>) {
      if (!rejected) model_.inst[m.instrument].index = m.price;
    }
    if constexpr (std::is_same_v<T, wire::AccountSettings>) {
      if (!rejected) {
        if (m.instrument == kAllInstruments) model_.iso_default[m.account] = m.margin_mode == wire::MarginMode::Isolated;
        else model_.isolated[{m.account, m.instrument}] = m.margin_mode == wire::MarginMode::Isolated;
      }
    }
    // Orders still in flight at the end of the event rest if they can; the rest are gone.
    for (const auto& [id, rests] : in_flight_) {
      auto it = model_.orders.find(id);
      if (it == model_.orders.end()) continue;
      if (rests && it->second.qty > 0) it->second.live = true; else model_.orders.erase(it);
    }
    in_flight_.clear();
    // Marks from the model's index, book and last trade.
    for (InstrumentId i = 0; i < model_.inst.size(); ++i) {
      Inst& in = model_.inst[i];
      const Price before = in.mark;
      in.update_mark();
      const MarkView mv = eng_.mark(i);
      EXPECT_EQ(mv.mark, in.mark) << "mark of " << i;
      EXPECT_EQ(mv.index, in.index);
      const bool published = std::find(marks.begin(), marks.end(), i) != marks.end();
      if (before != in.mark) {
        EXPECT_TRUE(published) << "mark of " << i << " moved unpublished";
      }
    }
    check_state(margins);
  }

  void fill(const wire::Fill& f) {
    ++fills_;
    Inst& in = model_.inst[f.instrument];
    const i128 v = in.value(f.price, f.qty);
    EXPECT_EQ(i128{f.maker_fee}, in.fee(v, true));
    EXPECT_EQ(i128{f.taker_fee}, in.fee(v, false));
    model_.fees += in.fee(v, true) + in.fee(v, false);
    in.last = f.price;
    const i128 dq = f.aggressor_side == Side::Buy ? f.qty : -f.qty;
    const i128 rm = model_.apply(f.maker_account, f.instrument, -dq, f.price, v, in.fee(v, true));
    const Pos pm = model_.pos[{f.maker_account, f.instrument}];
    expected_positions_.push_back({f.maker_account, f.instrument, pm.size, pm.entry, rm});
    const i128 rt = model_.apply(f.taker_account, f.instrument, dq, f.price, v, in.fee(v, false));
    const Pos pt = model_.pos[{f.taker_account, f.instrument}];
    expected_positions_.push_back({f.taker_account, f.instrument, pt.size, pt.entry, rt});
    auto mk = model_.orders.find(f.maker_order_id);
    if (mk != model_.orders.end()) mk->second.qty = f.maker_leaves;
    auto tk = model_.orders.find(f.taker_order_id);
    if (tk != model_.orders.end()) tk->second.qty = f.taker_leaves;
  }

  void check_state(const std::vector<wire::MarginUpdate>& margins) {
    // Every MarginUpdate equals the model's recomputation, and the engine's own.
    for (const auto& mu : margins) {
      const Figures f = model_.figures(mu.account);
      EXPECT_EQ(i128{mu.collateral}, f.c) << "collateral of " << mu.account;
      EXPECT_EQ(i128{mu.equity}, f.equity) << "equity of " << mu.account;
      EXPECT_EQ(i128{mu.initial_margin}, f.imr) << "IMR of " << mu.account;
      EXPECT_EQ(i128{mu.maintenance_margin}, f.mm) << "MM of " << mu.account;
    }
    std::vector<i128> sums(model_.inst.size(), 0);
    i128 money = 0;
    for (AccountId a = 0; a < kAccounts; ++a) {
      const AccountView v = eng_.account(a);
      const Figures f = model_.figures(a);
      EXPECT_EQ(i128{v.collateral}, f.c) << "account " << a;
      EXPECT_EQ(i128{v.equity}, f.equity) << "account " << a;
      EXPECT_EQ(i128{v.initial_margin}, f.imr) << "account " << a;
      EXPECT_EQ(i128{v.maintenance_margin}, f.mm) << "account " << a;
      EXPECT_EQ(v.below_maintenance, f.equity < f.mm) << "account " << a;
      money += v.collateral;
      for (const PositionView& p : v.positions) {
        sums[p.instrument] += p.size;
        money += p.isolated_margin - p.entry_value;
        const Pos& mp = model_.pos[{a, p.instrument}];
        EXPECT_EQ(i128{p.size}, mp.size);
        EXPECT_EQ(i128{p.entry_value}, mp.entry);
        EXPECT_EQ(i128{p.isolated_margin}, mp.iso_margin);
        EXPECT_EQ(p.isolated, model_.is_iso(a, p.instrument));
        if (p.isolated && p.size != 0) {
          const Inst& in = model_.inst[p.instrument];
          const bool below = mp.iso_margin + model_.upnl(in, mp) < in.mm(model_.notional(in, mp));
          EXPECT_EQ(p.below_maintenance, below) << "isolated position of " << a << " on " << p.instrument;
        }
        // Open reduce-only quantity fits inside the position it reduces.
        if (p.reduce_only != 0) {
          EXPECT_TRUE(p.reduce_only > 0 ? p.size >= p.reduce_only : p.size <= p.reduce_only)
              << "reduce-only " << p.reduce_only << " against " << p.size;
        }
      }
    }
    for (InstrumentId i = 0; i < sums.size(); ++i) EXPECT_EQ(sums[i], 0) << "instrument " << i;
    const MarginTotals tot = eng_.totals();
    EXPECT_EQ(i128{tot.deposits}, model_.deposits);
    EXPECT_EQ(i128{tot.withdrawals}, model_.withdrawals);
    EXPECT_EQ(i128{tot.fees_collected}, model_.fees);
    EXPECT_EQ(i128{tot.insurance_fund}, model_.insurance);
    // docs/margin.md, "Money conservation", exactly.
    EXPECT_EQ(i128{tot.deposits} - tot.withdrawals,
              money + tot.insurance_fund + tot.fees_collected - tot.socialized_losses);
    // Below-maintenance count: cross accounts plus isolated positions.
    std::uint32_t below = 0;
    for (AccountId a = 0; a < kAccounts; ++a) {
      const AccountView v = eng_.account(a);
      below += v.below_maintenance;
      for (const PositionView& p : v.positions) below += p.below_maintenance;
    }
    EXPECT_EQ(tot.below_maintenance, below);
  }

  Rng rng_;
  Engine eng_;
  EventBuffer out_;
  Model model_;
  std::vector<wire::InstrumentDefinition> defs_;
  std::map<OrderId, bool> in_flight_;  // orders seen this event that are not resting yet
  std::map<OrderId, bool> stop_limit_gtc_;
  std::vector<std::tuple<AccountId, InstrumentId, i128, i128, i128>> expected_positions_;
  SeqNo seq_ = 0;
  Timestamp ts_ = 1'000'000;
  OrderId ids_ = 0;
  std::uint64_t transfers_ = 0;
  int fills_ = 0;
  int margin_rejects_ = 0;
};

class MarginInvariants : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(MarginInvariants, HoldAfterEveryEvent) {
  Stream stream(GetParam());
  stream.go(6'000);
}

INSTANTIATE_TEST_SUITE_P(Seeds, MarginInvariants, ::testing::Values(1, 2, 3, 4, 5, 6));

}  // namespace
