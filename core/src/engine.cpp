// The engine: validation, matching, stops, cancels and per-event market data, as specified by
// docs/matching.md, with the margin engine (docs/margin.md) called at each lifecycle step.
// Single-threaded; everything preallocated.
#include "cascade/engine.hpp"

#include <algorithm>
#include <limits>
#include <new>

#include "cascade/account_table.hpp"
#include "cascade/circuit_breaker.hpp"
#include "cascade/depth_tracker.hpp"
#include "cascade/event_output.hpp"
#include "cascade/fixed_point.hpp"
#include "cascade/liquidation_adl.hpp"
#include "cascade/liquidation_queue.hpp"
#include "cascade/margin_engine.hpp"
#include "cascade/order_book.hpp"
#include "cascade/order_index.hpp"
#include "cascade/order_pool.hpp"
#include "cascade/prefetch_reader.hpp"
#include "cascade/stop_book.hpp"

namespace cascade {

namespace {

using i128 = __int128;
using wire::RejectReason;
constexpr std::uint32_t kNone = OrderBook::kNone;

// In 64 bits when the operands fit (bands, ticks): a 128-bit division is a libgcc call.
using fx::ceil_div;
using fx::floor_div;
Price clamp_price(i128 v) noexcept {
  constexpr i128 lo = std::numeric_limits<Price>::min();
  constexpr i128 hi = std::numeric_limits<Price>::max();
  return static_cast<Price>(v < lo ? lo : (v > hi ? hi : v));
}

bool valid_side(Side s) noexcept { return s == Side::Buy || s == Side::Sell; }
bool is_stop(OrderType t) noexcept { return t == OrderType::StopMarket || t == OrderType::StopLimit; }

// Aligned to a line, so no two instruments share one, and sized to a power of two (1024
// bytes), so that indexing the array is a shift.
struct alignas(64) Instrument {
  bool defined = false;
  wire::InstrumentDefinition def{};
  OrderBook book;
  StopBook stops;
  Price last = 0;   // last trade price (0 = never traded)
  Price index = 0;  // last index price (0 = none)
  std::uint32_t live = 0;  // pool nodes owned: resting, stops, and the order in flight
  CircuitBreakerState breaker;

  bool on_tick(Price p) const noexcept { return p % def.tick_size == 0; }
  bool in_range(Price p) const noexcept { return p >= def.min_price && p <= def.max_price; }
  Price reference() const noexcept {
    if (last != 0) return last;
    if (index != 0) return index;
    return def.reference_price;
  }
};
static_assert((sizeof(Instrument) & (sizeof(Instrument) - 1)) == 0, "see above: pad Instrument to a power of two");

// The order being matched: a new order, a re-priced modify or a triggered stop.
struct Incoming {
  OrderId id;
  AccountId account;
  InstrumentId instrument;
  Price price;  // limit price, or a market order's worst price (0 = none)
  Qty qty;      // remaining
  OrderIdx node;  // pool node if it already has one (stop, modify), else kNilOrder
  PosIdx pos;     // the account's position record on the instrument
  Side side;
  bool market;
  TimeInForce tif;
  std::uint8_t flags;
  SelfTradePrevention stp;
  std::uint8_t fill_flags;
};

}  // namespace

struct Engine::Impl {
  EngineConfig cfg;
  OrderPool pool;
  OrderIndex index;
  AccountTable accounts;
  DepthTracker tracker;
  std::vector<Instrument> instruments;
  // Stops triggered by the mark price, per instrument (docs/matching.md, "Stop orders"); kept
  // apart from Instrument so its layout, read on every event, stays as it is.
  std::vector<StopBook> mark_stops;
  std::uint32_t mark_stop_count = 0;  // live mark stops of all instruments: 0 skips the checks
  EventOutput output;
  MarginEngine margin;

  Timestamp clock = 0;
  bool have_clock = false;
  std::uint32_t paused_count = 0;  // instruments paused by their circuit breaker

  // Liquidation (docs/liquidation.md): the cascade queue, scratch for one detection round and
  // one ADL ranking, the backstop accounts in ascending id.
  LiquidationQueue liq_queue;
  ZeroedArray<LiquidationUnit> liq_found;
  ZeroedArray<AdlCandidate> adl;
  // The ranking of the last deleveraged (instrument, side) stays in `adl` as a heap of
  // adl_size entries between steps while the margin engine's change log runs (no mark has
  // moved): the next step ranks only the accounts changed since and pushes them; an entry
  // whose stamp is no longer its account's is stale and dropped when it surfaces. So every
  // opposite holder has exactly one live entry, ranked on its current figures.
  ZeroedArray<std::uint32_t> adl_stamp;  // per account: stamp of its live entry
  std::uint32_t adl_gen = 0;
  std::uint32_t adl_size = 0;
  InstrumentId adl_id = 0;
  Side adl_side = Side::Buy;
  bool adl_valid = false;
  ZeroedArray<AccountId> backstops;
  std::uint32_t backstop_count = 0;
  SeqNo origin = 0;  // seq of the input event being processed
  std::uint64_t cascade_steps = 0;
  LiquidationTotals liq{};

  explicit Impl(const EngineConfig& c) : cfg(c), instruments(c.max_instruments), mark_stops(c.max_instruments) {
    const std::size_t units = std::size_t{c.max_accounts} + c.max_positions + 1;
    if (!pool.init(c.max_orders, c.huge_pages) || !index.init(c.max_orders, &pool, c.huge_pages) || !accounts.init(c.max_accounts, &pool) ||
        !tracker.init(std::size_t{c.max_orders} + 16) || !margin.init(c, &accounts, &output) ||
        !liq_queue.init(units) || !liq_found.allocate(units) || !adl.allocate(2 * (std::size_t{c.max_positions} + 1)) ||
        !adl_stamp.allocate(c.max_accounts) ||
        !backstops.allocate(c.max_accounts))
      throw std::bad_alloc();
    if (c.prefault) {  // the margin engine commits its own tables
      pool.commit();
      index.commit();
      accounts.commit();
      tracker.commit();
      liq_queue.commit();
      liq_found.commit();
      adl.commit();
      adl_stamp.commit();
      backstops.commit();
    }
  }

  // ---------------------------------------------------------------------------------------
  // output
  template <class T>
  T make() noexcept {
    return output.make<T>();
  }
  template <class T>
  void emit(const T& m) noexcept {
    output.emit(m);
  }
  template <class T>
  T& put() noexcept {
    return output.put<T>();
  }

  void reject(const EventView& ev, RejectReason reason) noexcept {
    auto r = make<wire::Rejected>();
    r.reason = reason;
    r.input_type = ev.type();
    switch (ev.type()) {
      case wire::MsgType::NewOrder: {
        const auto& m = ev.as<wire::NewOrder>();
        r.id = m.order_id;
        r.client_order_id = m.client_order_id;
        r.account = m.account;
        r.instrument = m.instrument;
        break;
      }
      case wire::MsgType::CancelOrder: {
        const auto& m = ev.as<wire::CancelOrder>();
        r.id = m.order_id;
        r.account = m.account;
        r.instrument = m.instrument;
        break;
      }
      case wire::MsgType::ModifyOrder: {
        const auto& m = ev.as<wire::ModifyOrder>();
        r.id = m.order_id;
        r.account = m.account;
        r.instrument = m.instrument;
        break;
      }
      case wire::MsgType::MassCancel: {
        const auto& m = ev.as<wire::MassCancel>();
        r.account = m.account;
        r.instrument = m.instrument;
        break;
      }
      case wire::MsgType::Deposit: {
        const auto& m = ev.as<wire::Deposit>();
        r.id = m.transfer_id;
        r.account = m.account;
        break;
      }
      case wire::MsgType::Withdrawal: {
        const auto& m = ev.as<wire::Withdrawal>();
        r.id = m.transfer_id;
        r.account = m.account;
        break;
      }
      case wire::MsgType::InstrumentDefinition:
        r.instrument = ev.as<wire::InstrumentDefinition>().instrument;
        break;
      case wire::MsgType::IndexPrice:
        r.instrument = ev.as<wire::IndexPrice>().instrument;
        break;
      case wire::MsgType::FundingRate:
        r.instrument = ev.as<wire::FundingRate>().instrument;
        break;
      case wire::MsgType::AccountSettings: {
        const auto& m = ev.as<wire::AccountSettings>();
        r.account = m.account;
        r.instrument = m.instrument;
        break;
      }
      default:
        break;
    }
    emit(r);
  }

  void emit_cancelled(OrderId id, AccountId account, InstrumentId instrument, Side side, Qty qty,
                      wire::CancelReason reason) noexcept {
    auto& c = put<wire::OrderCancelled>();
    c.order_id = id;
    c.account = account;
    c.instrument = instrument;
    c.cancelled_qty = qty;
    c.reason = reason;
    c.side = side;
    margin.touch_orders(account);
    margin.touch_mark(instrument);
  }

  Instrument* defined(InstrumentId id) noexcept {
    if (id >= cfg.max_instruments) return nullptr;
    Instrument& in = instruments[id];
    return in.defined ? &in : nullptr;
  }

  // ---------------------------------------------------------------------------------------
  // order lifetime

  // Drops a node that left the book for good (filled, cancelled, or an incoming remainder).
  void release(Instrument& ins, OrderIdx o) noexcept {
    OrderNode& n = pool[o];
    index.erase(n.id, o);
    accounts.unlink(n.account, o);
    pool.release(o);
    --ins.live;
  }

  PosIdx pos_of(const OrderNode& n) const noexcept { return margin.find(n.account, n.instrument); }

  void remove_resting(Instrument& ins, OrderIdx o) noexcept {
    margin.remove_order(pos_of(pool[o]), MarginEngine::terms(pool[o]));
    ins.book.unlink(o);
    release(ins, o);
  }

  bool out_of_band(const Instrument& ins, Price p) const noexcept {
    if (ins.def.price_band <= 0) return false;
    const Price ref = ins.reference();
    if (ref == 0) return false;
    const i128 d = floor_div(static_cast<i128>(ref) * ins.def.price_band, kRateOne);
    return p > ref + d || p < ref - d;
  }

  Price market_limit(const Instrument& ins, Side side, Price worst) const noexcept {
    i128 lim = worst != 0 ? worst : (side == Side::Buy ? ins.def.max_price : ins.def.min_price);
    const Price ref = ins.reference();
    if (ins.def.market_band > 0 && ref != 0) {
      const i128 d = floor_div(static_cast<i128>(ref) * ins.def.market_band, kRateOne);
      const i128 tick = ins.def.tick_size;
      if (side == Side::Buy) lim = std::min(lim, floor_div(ref + d, tick) * tick);
      else lim = std::max(lim, ceil_div(ref - d, tick) * tick);
    }
    return clamp_price(lim);
  }

  // ---------------------------------------------------------------------------------------
  // matching

  // FOK pre-check: a dry run of the sweep. Can other accounts' liquidity at acceptable
  // prices, in priority order up to the first own order that would stop matching, fill the
  // whole order? A reduce-only order that the sweep's earlier fills would cancel
  // (docs/margin.md) does not count. The run marks the orders it passes and clears them.
  bool fok_fillable(const Instrument& ins, const Incoming& in, Price limit) noexcept {
    const OrderBook& book = ins.book;
    const Side opp = opposite(in.side);
    Qty need = in.qty;
    bool fillable = false, done = false;
    std::uint64_t marked = 0;
    for (std::uint32_t l = book.best(opp); l != kNone && !done; l = book.next_worse(opp, l)) {
      const Price px = book.price(l);
      if (in.side == Side::Buy ? px > limit : px < limit) break;
      for (OrderIdx o = book.level(l).head; o != kNilOrder && !done; o = pool[o].next) {
        OrderNode& n = pool[o];
        if (n.account == in.account) {
          done = in.stp != SelfTradePrevention::CancelResting;  // the sweep would stop here
          continue;
        }
        if ((n.flags & order_flags::kReduceOnly) && !reduce_only_survives(o, in.qty - need)) {
          n.sweep = kSweepDropped;
          ++marked;
          continue;
        }
        if (n.qty >= need) {
          fillable = done = true;
          continue;
        }
        need -= n.qty;
        n.sweep = kSweepFilled;
        ++marked;
      }
    }
    for (std::uint32_t l = book.best(opp); marked > 0; l = book.next_worse(opp, l))
      for (OrderIdx o = book.level(l).head; o != kNilOrder && marked > 0; o = pool[o].next)
        if (pool[o].sweep != 0) {
          pool[o].sweep = 0;
          --marked;
        }
    return fillable;
  }

  // Whether the dry run reaches reduce-only order `o` still live, `swept` having been filled
  // so far. Fills cancel reduce-only orders newest first until the rest fit in the position,
  // and the position only shrinks during one sweep, so `o` is live exactly when the
  // unfilled reduce-only orders accepted up to it fit in what the maker's fills left of it.
  bool reduce_only_survives(OrderIdx o, Qty swept) const noexcept {
    const OrderNode& n = pool[o];
    const Position& r = margin.position(pos_of(n));
    const fx::i128 cover = n.side == Side::Sell ? fx::i128{r.size} : -fx::i128{r.size};
    const fx::i128 open = r.reduce_only < 0 ? -fx::i128{r.reduce_only} : fx::i128{r.reduce_only};
    if (open + swept <= cover) return true;  // not even the whole sweep so far could make it not fit
    fx::i128 left = cover;
    fx::i128 upto = 0;
    bool before = true;
    for (OrderIdx x = accounts[n.account].head; x != kNilOrder; x = pool[x].acct_next) {
      const OrderNode& a = pool[x];
      if (a.instrument != n.instrument) continue;
      if (a.sweep == kSweepFilled) left -= a.qty;
      else if (before && (a.flags & order_flags::kReduceOnly) && a.side == n.side) upto += a.qty;
      if (x == o) before = false;
    }
    return upto <= left;
  }

  void finish_incoming(Instrument& ins, const Incoming& in) noexcept {
    if (in.node != kNilOrder) release(ins, in.node);
  }

  void cancel_incoming(Instrument& ins, const Incoming& in, wire::CancelReason reason) noexcept {
    emit_cancelled(in.id, in.account, in.instrument, in.side, in.qty, reason);
    finish_incoming(ins, in);
  }

  void rest(Instrument& ins, const Incoming& in) noexcept {
    OrderIdx o = in.node;
    if (o == kNilOrder) {
      o = pool.alloc();  // cannot fail: capacity was checked at validation and only shrank since
      OrderNode& n = pool[o];
      n.id = in.id;
      n.account = in.account;
      n.instrument = in.instrument;
      n.side = in.side;
      n.type = OrderType::Limit;
      n.tif = in.tif;
      n.flags = in.flags;
      n.stp = in.stp;
      index.insert(in.id, o);
      accounts.push_back(in.account, o);
      ++ins.live;
    }
    OrderNode& n = pool[o];
    n.price = in.price;
    n.qty = in.qty;
    n.type = OrderType::Limit;
    n.state = OrderState::Resting;
    ins.book.push_back(o);
    margin.add_order(in.pos, MarginEngine::terms(n));
  }

  // A fill or a liquidation shrank the position below its open reduce-only quantity (or
  // flipped it): cancel reduce-only orders, newest first, until the rest fit.
  void cancel_reduce_only(Instrument& ins, PosIdx pos) noexcept {
    const Position& r = margin.position(pos);
    OrderIdx o = accounts[r.account].tail;
    const InstrumentId id = r.instrument;
    while (o != kNilOrder && margin.reduce_only_excess(pos)) {
      const OrderIdx prev = pool[o].acct_prev;
      const OrderNode& n = pool[o];
      if (n.instrument == id && (n.flags & order_flags::kReduceOnly) && n.state != OrderState::Incoming)
        cancel_live(ins, o, wire::CancelReason::ReduceOnly);
      o = prev;
    }
  }

  void match(Instrument& ins, Incoming& in) noexcept {
    const Price limit = in.market ? market_limit(ins, in.side, in.price) : in.price;
    if (in.tif == TimeInForce::FOK && !fok_fillable(ins, in, limit)) {
      cancel_incoming(ins, in, wire::CancelReason::FokNotFilled);
      return;
    }
    OrderBook& book = ins.book;
    const Side opp = opposite(in.side);
    bool filled = false;
    while (in.qty > 0) {
      const std::uint32_t l = book.best(opp);
      if (l == kNone) break;
      const Price px = book.price(l);
      if (in.side == Side::Buy ? px > limit : px < limit) break;
      const OrderIdx h = book.level(l).head;
      OrderNode& mk = pool[h];
      if (mk.account == in.account) {
        if (in.stp == SelfTradePrevention::CancelResting || in.stp == SelfTradePrevention::CancelBoth) {
          emit_cancelled(mk.id, mk.account, mk.instrument, mk.side, mk.qty, wire::CancelReason::SelfTrade);
          remove_resting(ins, h);
          if (in.stp == SelfTradePrevention::CancelResting) continue;
        }
        cancel_incoming(ins, in, wire::CancelReason::SelfTrade);
        return;
      }
      const Qty q = std::min(in.qty, mk.qty);
      const PosIdx maker_pos = pos_of(mk);
      margin.remove_order(maker_pos, MarginEngine::terms(mk));
      book.reduce(h, q);
      margin.add_order(maker_pos, MarginEngine::terms(mk));
      in.qty -= q;
      ins.breaker.before_trade(ins.def, clock, ins.last, px);
      ins.last = px;
      filled = true;
      const fx::i128 value = fx::value(px, q, fx::money_exponent(ins.def.price_decimals, ins.def.qty_decimals));
      const Money maker_fee = margin.fee(in.instrument, value, true);
      const Money taker_fee = margin.fee(in.instrument, value, false);
      auto& f = put<wire::Fill>();
      f.maker_order_id = mk.id;
      f.taker_order_id = in.id;
      f.maker_account = mk.account;
      f.taker_account = in.account;
      f.instrument = in.instrument;
      f.aggressor_side = in.side;
      f.flags = in.fill_flags;
      f.price = px;
      f.qty = q;
      f.maker_leaves = mk.qty;
      f.taker_leaves = in.qty;
      f.maker_fee = maker_fee;
      f.taker_fee = taker_fee;
      margin.fill(in.instrument, maker_pos, in.pos, in.side, px, q, value, maker_fee, taker_fee);
      if (mk.qty == 0) remove_resting(ins, h);
      if (margin.reduce_only_excess(maker_pos)) cancel_reduce_only(ins, maker_pos);
      if (margin.reduce_only_excess(in.pos)) cancel_reduce_only(ins, in.pos);
      after_trade(ins, in.instrument);
    }
    if (in.qty == 0) {
      finish_incoming(ins, in);
    } else if (!in.market && in.tif == TimeInForce::GTC) {
      rest(ins, in);
    } else {
      cancel_incoming(ins, in,
                      in.market && !filled ? wire::CancelReason::NoLiquidity : wire::CancelReason::IocRemainder);
    }
  }

  // An order that already owns a pool node (a triggered stop, a re-priced modify) as the
  // incoming order; pos is its position record, which the caller has looked up already.
  Incoming from_node(OrderIdx o, PosIdx pos, Price price, Qty qty, bool market, std::uint8_t fill_flags) const noexcept {
    const OrderNode& n = pool[o];
    Incoming in{};
    in.id = n.id;
    in.account = n.account;
    in.instrument = n.instrument;
    in.price = price;
    in.qty = qty;
    in.node = o;
    in.pos = pos;
    in.side = n.side;
    in.market = market;
    in.tif = n.tif;
    in.flags = n.flags;
    in.stp = n.stp;
    in.fill_flags = fill_flags;
    return in;
  }

  // Fires stops until none is triggered; each triggered order may trade and fire more.
  void run_stops(Instrument& ins, InstrumentId id) noexcept {
    StopsAhead ahead;
    // Most books hold no stops: skip both bitmap walks then.
    while (ins.last != 0 && !ins.stops.empty()) {
      const OrderIdx o = ins.stops.first_triggered(ins.last);
      if (o == kNilOrder) return;
      const PosIdx pos = load_ahead(ins, o, ahead);
      ins.stops.unlink(o);
      fire_stop(ins, id, o, pos, ins.last);
    }
  }

  // An unlinked stop that fired at price `at` becomes the order it stands for and trades.
  void fire_stop(Instrument& ins, InstrumentId id, OrderIdx o, PosIdx pos, Price at) noexcept {
    OrderNode& n = pool[o];
    margin.remove_order(pos, MarginEngine::terms(n));
    n.state = OrderState::Incoming;
    auto st = make<wire::StopTriggered>();
    st.order_id = n.id;
    st.account = n.account;
    st.instrument = id;
    st.trigger_price = n.trigger;
    st.last_price = at;
    emit(st);
    margin.touch_orders(n.account);
    // stop-market -> market with the stop's worst price; stop-limit -> limit, same tif.
    Incoming in = from_node(o, pos, n.price, n.qty, n.type == OrderType::StopMarket, wire::fill_flags::kStopTriggered);
    match(ins, in);
  }

  // Fires one mark-price stop, if any is triggered at the marks just computed: on the lowest
  // instrument id, the first in that book's firing order; then the last-price stops its trades
  // trigger. Only an instrument whose mark was computed during this event can hold a newly
  // triggered one (accepting a stop computes its instrument's mark too). True if one fired: the
  // caller computes the marks again before looking for the next.
  bool fire_mark_stop() noexcept {
    if (mark_stop_count == 0) return false;
    InstrumentId id = kAllInstruments;
    OrderIdx o = kNilOrder;
    for (std::uint32_t k = 0; k < margin.touched_marks(); ++k) {
      const InstrumentId i = margin.touched_mark(k);
      if (i >= id || mark_stops[i].empty() || margin.mark(i) == 0) continue;
      const OrderIdx t = mark_stops[i].first_triggered(margin.mark(i));
      if (t == kNilOrder) continue;
      id = i;
      o = t;
    }
    if (o == kNilOrder) return false;
    Instrument& ins = instruments[id];
    unlink_stop(ins, o);
    fire_stop(ins, id, o, pos_of(pool[o]), margin.mark(id));
    run_stops(ins, id);
    return true;
  }

  // A chain of stops (an order crossing into other traders' stops, each of their fills
  // setting off more) touches another account per stop, each far away in memory: its
  // account record, the (account, instrument) index slot, the position record, the watch
  // heap entries and holder slot its fill moves, the order index slot its release erases.
  // While one stop trades, the next ones in firing order (StopBook::following) are loaded a
  // stage a stop, each stage reading only what the stage before loaded a stop earlier.
  struct StopsAhead {
    static constexpr std::uint32_t kDepth = 4;
    enum Stage : std::uint8_t {
      kNode,     // the node requested
      kAccount,  // node read: account, index slots and reported figures requested
      kRecord,   // index slot read: `pos` found, the position record requested
      kWatch,    // record read: its watch heap entries and holder slot requested
    };
    OrderIdx node[kDepth];  // nearest first
    PosIdx pos[kDepth];
    Stage stage[kDepth];
    std::uint32_t size = 0;
  };

  // o: the stop about to fire, still linked. Returns its position record (found ahead of
  // time when o was expected) and takes the stops after it one stage further. Hints only:
  // a stop that does not fire costs a few wasted loads. Within one run_stops no order is
  // created and a live stop's record is never released, so a node expected here still
  // names the same stop when it fires, and the record found for it is still its own.
  PosIdx load_ahead(const Instrument& ins, OrderIdx o, StopsAhead& a) noexcept {
    PosIdx pos = kNilPos;
    const bool expected = a.size > 0 && a.node[0] == o;
    if (expected) {
      if (a.stage[0] >= StopsAhead::kRecord) pos = a.pos[0];
      for (std::uint32_t k = 1; k < a.size; ++k) {
        a.node[k - 1] = a.node[k];
        a.pos[k - 1] = a.pos[k];
        a.stage[k - 1] = a.stage[k];
      }
      --a.size;
    } else {
      a.size = 0;  // another side fired, or a stop was cancelled: start again from o
    }
    if (pos == kNilPos) pos = pos_of(pool[o]);
    for (std::uint32_t k = 0; k < a.size; ++k) {
      const OrderNode& n = pool[a.node[k]];
      if (n.state != OrderState::Stop) {  // cancelled by a reduce-only check: the chain ends
        a.size = k;
        break;
      }
      switch (a.stage[k]) {
        case StopsAhead::kNode:
          margin.prefetch(n.account, n.instrument);
          index.prefetch(n.id);
          a.stage[k] = StopsAhead::kAccount;
          break;
        case StopsAhead::kAccount:
          a.pos[k] = pos_of(n);
          margin.prefetch_position(a.pos[k]);
          a.stage[k] = StopsAhead::kRecord;
          break;
        case StopsAhead::kRecord:
          margin.prefetch_watch(a.pos[k]);
          a.stage[k] = StopsAhead::kWatch;
          break;
        case StopsAhead::kWatch:
          break;
      }
    }
    // One more at the end, found from the last one's node (read a stage ago). While the ring
    // fills (a chain of two or more so far), one more from the node just requested: a stall
    // now, so that the later stops have their stages.
    for (int extra = expected ? 2 : 1; extra > 0 && a.size < StopsAhead::kDepth; --extra) {
      if (a.size > 0 && a.stage[a.size - 1] == StopsAhead::kNode && extra == 2) break;
      bool fires = false;
      const OrderIdx s = ins.stops.following(a.size == 0 ? o : a.node[a.size - 1], ins.last, fires);
      if (s == kNilOrder) break;
      const std::uint32_t k = a.size++;
      a.node[k] = s;
      a.stage[k] = StopsAhead::kNode;
      if (k == 0 && fires) {
        // Right after o and sure to fire: read its node now.
        const OrderNode& n = pool[s];
        margin.prefetch(n.account, n.instrument);
        index.prefetch(n.id);
        a.stage[k] = StopsAhead::kAccount;
      } else {
        __builtin_prefetch(&pool[s]);
      }
    }
    return pos;
  }

  // ---------------------------------------------------------------------------------------
  // circuit breaker (docs/liquidation.md)

  void emit_breaker(InstrumentId id, const CircuitBreakerState& b, bool paused) noexcept {
    auto c = make<wire::CircuitBreaker>();
    c.instrument = id;
    c.paused = paused ? 1 : 0;
    c.reference_price = b.anchor();
    c.until_ns = b.until();
    emit(c);
  }

  // After a trade's settlement: a move beyond the band pauses the instrument; the order that
  // made it keeps matching.
  void after_trade(Instrument& ins, InstrumentId id) noexcept {
    if (!ins.breaker.after_trade(ins.def, clock, ins.last)) return;
    ++paused_count;
    emit_breaker(id, ins.breaker, true);
  }

  // While paused, a market order or a limit crossing the opposite best would take liquidity.
  static bool takes_while_paused(const Instrument& ins, Side side, bool market, Price price) noexcept {
    if (!ins.breaker.paused()) return false;
    if (market) return true;
    const OrderBook& b = ins.book;
    return side == Side::Buy ? (b.best_ask() != kNone && price >= b.price(b.best_ask()))
                             : (b.best_bid() != kNone && price <= b.price(b.best_bid()));
  }

  // Pauses that end at or before this input's timestamp, instruments ascending. Only runs
  // while some instrument is paused.
  void resume_breakers() noexcept {
    for (InstrumentId id = 0; id < cfg.max_instruments && paused_count > 0; ++id) {
      Instrument& ins = instruments[id];
      if (!ins.breaker.paused() || clock < ins.breaker.until()) continue;
      emit_breaker(id, ins.breaker, false);
      ins.breaker.resume();
      --paused_count;
    }
  }

  // ---------------------------------------------------------------------------------------
  // input events

  void on_new_order(const EventView& ev) noexcept {
    const auto& o = ev.as<wire::NewOrder>();
    Instrument* ip = defined(o.instrument);
    if (!ip) return reject(ev, RejectReason::UnknownInstrument);
    Instrument& ins = *ip;
    const auto& def = ins.def;
    if (o.account >= cfg.max_accounts) return reject(ev, RejectReason::UnknownAccount);
    if (o.order_id == 0) return reject(ev, RejectReason::InvalidOrderId);
    if (!valid_side(o.side)) return reject(ev, RejectReason::InvalidSide);
    const auto type = static_cast<std::uint8_t>(o.order_type);
    if (type < 1 || type > 4) return reject(ev, RejectReason::InvalidOrderType);
    const auto tif = static_cast<std::uint8_t>(o.tif);
    if (tif < 1 || tif > 3) return reject(ev, RejectReason::InvalidTimeInForce);
    if (static_cast<std::uint8_t>(o.stp) > 3) return reject(ev, RejectReason::InvalidStp);
    if (o.flags & ~order_flags::kAll) return reject(ev, RejectReason::InvalidFlags);
    const bool post_only = o.flags & order_flags::kPostOnly;
    if (post_only && !(o.order_type == OrderType::Limit && o.tif == TimeInForce::GTC))
      return reject(ev, RejectReason::InvalidFlags);
    if ((o.flags & order_flags::kMarkTrigger) && !is_stop(o.order_type)) return reject(ev, RejectReason::InvalidFlags);
    const bool market = o.order_type == OrderType::Market || o.order_type == OrderType::StopMarket;
    if (market && o.tif == TimeInForce::GTC) return reject(ev, RejectReason::InvalidTimeInForce);
    if (o.qty <= 0 || o.qty > def.max_order_qty) return reject(ev, RejectReason::InvalidQuantity);
    if (o.qty % def.lot_size != 0) return reject(ev, RejectReason::QuantityOffLot);
    if (!market) {
      if (o.price <= 0) return reject(ev, RejectReason::InvalidPrice);
      if (!ins.on_tick(o.price)) return reject(ev, RejectReason::PriceOffTick);
      if (!ins.in_range(o.price)) return reject(ev, RejectReason::PriceOutOfRange);
      if (out_of_band(ins, o.price)) return reject(ev, RejectReason::PriceOutOfBand);
    } else if (o.price != 0) {
      if (o.price < 0) return reject(ev, RejectReason::InvalidPrice);
      if (!ins.on_tick(o.price)) return reject(ev, RejectReason::PriceOffTick);
      if (!ins.in_range(o.price)) return reject(ev, RejectReason::PriceOutOfRange);
    }
    const bool stop = is_stop(o.order_type);
    if (stop) {
      if (o.trigger_price <= 0 || !ins.on_tick(o.trigger_price) || !ins.in_range(o.trigger_price))
        return reject(ev, RejectReason::InvalidTriggerPrice);
    } else if (o.trigger_price != 0) {
      return reject(ev, RejectReason::InvalidTriggerPrice);
    }
    if (index.find(o.order_id) != kNilOrder) return reject(ev, RejectReason::DuplicateOrderId);
    const bool may_rest = stop || (o.order_type == OrderType::Limit && o.tif == TimeInForce::GTC);
    if (may_rest && pool.full()) return reject(ev, RejectReason::OrderCapacity);
    if (post_only) {
      const OrderBook& b = ins.book;
      if (o.side == Side::Buy ? (b.best_ask() != kNone && o.price >= b.price(b.best_ask()))
                              : (b.best_bid() != kNone && o.price <= b.price(b.best_bid())))
        return reject(ev, RejectReason::PostOnlyWouldTake);
    }
    if (!stop && takes_while_paused(ins, o.side, market, o.price)) return reject(ev, RejectReason::InstrumentPaused);
    const PosIdx pos = margin.ensure(o.account, o.instrument);
    if (pos == kNilPos) return reject(ev, RejectReason::AccountCapacity);
    const Price counted_at = o.order_type == OrderType::StopMarket ? o.trigger_price
                             : o.order_type == OrderType::Market  ? market_limit(ins, o.side, o.price)
                                                                  : o.price;
    const RejectReason risk =
        margin.check_order(pos, OrderTerms{o.side, counted_at, o.qty, (o.flags & order_flags::kReduceOnly) != 0}, nullptr);
    if (risk != RejectReason::None) {
      margin.release_if_empty(pos);
      return reject(ev, risk);
    }

    auto& a = put<wire::OrderAccepted>();
    a.order_id = o.order_id;
    a.client_order_id = o.client_order_id;
    a.account = o.account;
    a.instrument = o.instrument;
    a.price = o.price;
    a.qty = o.qty;
    a.trigger_price = o.trigger_price;
    a.side = o.side;
    a.order_type = o.order_type;
    a.tif = o.tif;
    a.flags = o.flags;
    a.stp = o.stp;
    margin.touch_orders(o.account);
    margin.touch_mark(o.instrument);

    if (stop) {
      const OrderIdx idx = pool.alloc();
      OrderNode& n = pool[idx];
      n.id = o.order_id;
      n.price = o.price;
      n.qty = o.qty;
      n.trigger = o.trigger_price;
      n.account = o.account;
      n.instrument = o.instrument;
      n.side = o.side;
      n.type = o.order_type;
      n.tif = o.tif;
      n.flags = o.flags;
      n.stp = o.stp;
      n.state = OrderState::Stop;
      index.insert(o.order_id, idx);
      accounts.push_back(o.account, idx);
      ++ins.live;
      link_stop(ins, idx);  // a mark stop is checked when the marks are next computed
      margin.add_order(pos, MarginEngine::terms(n));
    } else {
      Incoming in{};
      in.id = o.order_id;
      in.account = o.account;
      in.instrument = o.instrument;
      in.price = o.price;
      in.qty = o.qty;
      in.node = kNilOrder;
      in.pos = pos;
      in.side = o.side;
      in.market = market;
      in.tif = o.tif;
      in.flags = o.flags;
      in.stp = o.stp;
      match(ins, in);
    }
    run_stops(ins, o.instrument);
  }

  // Shared checks of cancel and modify; the live order, or kNilOrder after a reject.
  OrderIdx find_owned(const EventView& ev, OrderId id, AccountId account, InstrumentId instrument) noexcept {
    if (!defined(instrument)) return reject(ev, RejectReason::UnknownInstrument), kNilOrder;
    if (account >= cfg.max_accounts) return reject(ev, RejectReason::UnknownAccount), kNilOrder;
    const OrderIdx o = id != 0 ? index.find(id) : kNilOrder;
    if (o == kNilOrder || pool[o].instrument != instrument) return reject(ev, RejectReason::UnknownOrder), kNilOrder;
    if (pool[o].account != account) return reject(ev, RejectReason::NotOrderOwner), kNilOrder;
    return o;
  }

  void on_cancel(const EventView& ev) noexcept {
    const auto& c = ev.as<wire::CancelOrder>();
    const OrderIdx o = find_owned(ev, c.order_id, c.account, c.instrument);
    if (o == kNilOrder) return;
    cancel_live(instruments[c.instrument], o, wire::CancelReason::User);
  }

  void cancel_live(Instrument& ins, OrderIdx o, wire::CancelReason reason) noexcept {
    const OrderNode& n = pool[o];
    emit_cancelled(n.id, n.account, n.instrument, n.side, n.qty, reason);
    if (n.state == OrderState::Stop) {
      margin.remove_order(pos_of(n), MarginEngine::terms(n));
      unlink_stop(ins, o);
      release(ins, o);
    } else {
      remove_resting(ins, o);
    }
  }

  // A waiting stop joins, or leaves, the stop book of its trigger: the last trade price's, or
  // (order flag mark_trigger) the mark price's, whose count says whether any rests at all.
  void link_stop(Instrument& ins, OrderIdx o) noexcept {
    if (pool[o].flags & order_flags::kMarkTrigger) {
      mark_stops[pool[o].instrument].push_back(o);
      ++mark_stop_count;
    } else {
      ins.stops.push_back(o);
    }
  }
  void unlink_stop(Instrument& ins, OrderIdx o) noexcept {
    if (pool[o].flags & order_flags::kMarkTrigger) {
      mark_stops[pool[o].instrument].unlink(o);
      --mark_stop_count;
    } else {
      ins.stops.unlink(o);
    }
  }

  void on_modify(const EventView& ev) noexcept {
    const auto& m = ev.as<wire::ModifyOrder>();
    const OrderIdx o = find_owned(ev, m.order_id, m.account, m.instrument);
    if (o == kNilOrder) return;
    Instrument& ins = instruments[m.instrument];
    OrderNode& n = pool[o];
    if (n.state == OrderState::Stop) return reject(ev, RejectReason::InvalidOrderType);
    if (m.new_qty <= 0 || m.new_qty > ins.def.max_order_qty) return reject(ev, RejectReason::InvalidQuantity);
    if (m.new_qty % ins.def.lot_size != 0) return reject(ev, RejectReason::QuantityOffLot);
    if (m.new_price <= 0) return reject(ev, RejectReason::InvalidPrice);
    if (!ins.on_tick(m.new_price)) return reject(ev, RejectReason::PriceOffTick);
    if (!ins.in_range(m.new_price)) return reject(ev, RejectReason::PriceOutOfRange);
    if (out_of_band(ins, m.new_price)) return reject(ev, RejectReason::PriceOutOfBand);
    if (m.new_price == n.price && m.new_qty == n.qty) return reject(ev, RejectReason::ModifyNoChange);
    if (n.flags & order_flags::kPostOnly) {
      const OrderBook& b = ins.book;
      if (n.side == Side::Buy ? (b.best_ask() != kNone && m.new_price >= b.price(b.best_ask()))
                              : (b.best_bid() != kNone && m.new_price <= b.price(b.best_bid())))
        return reject(ev, RejectReason::PostOnlyWouldTake);
    }
    if (takes_while_paused(ins, n.side, false, m.new_price)) return reject(ev, RejectReason::InstrumentPaused);
    const PosIdx pos = pos_of(n);
    const OrderTerms old = MarginEngine::terms(n);
    const RejectReason risk = margin.check_order(pos, OrderTerms{n.side, m.new_price, m.new_qty, old.reduce_only}, &old);
    if (risk != RejectReason::None) return reject(ev, risk);

    const bool keep = m.new_price == n.price && m.new_qty < n.qty;
    auto& r = put<wire::OrderModified>();
    r.order_id = n.id;
    r.account = n.account;
    r.instrument = n.instrument;
    r.new_price = m.new_price;
    r.new_qty = m.new_qty;
    r.priority_kept = keep ? 1 : 0;
    margin.touch_orders(n.account);
    margin.touch_mark(m.instrument);
    margin.remove_order(pos, old);
    if (keep) {
      ins.book.reduce(o, n.qty - m.new_qty);
      margin.add_order(pos, MarginEngine::terms(n));
      return;
    }
    ins.book.unlink(o);
    n.state = OrderState::Incoming;
    Incoming in = from_node(o, pos, m.new_price, m.new_qty, false, 0);
    match(ins, in);
    run_stops(ins, m.instrument);
  }

  void on_mass_cancel(const EventView& ev) noexcept {
    const auto& m = ev.as<wire::MassCancel>();
    if (m.account >= cfg.max_accounts) return reject(ev, RejectReason::UnknownAccount);
    if (m.instrument != kAllInstruments && !defined(m.instrument))
      return reject(ev, RejectReason::UnknownInstrument);
    OrderIdx o = accounts[m.account].head;
    while (o != kNilOrder) {
      const OrderIdx next = pool[o].acct_next;
      const InstrumentId id = pool[o].instrument;
      if (m.instrument == kAllInstruments || id == m.instrument)
        cancel_live(instruments[id], o, wire::CancelReason::MassCancel);
      o = next;
    }
  }

  void on_instrument(const EventView& ev) noexcept {
    const auto& d = ev.as<wire::InstrumentDefinition>();
    const auto bad = [&] { reject(ev, RejectReason::InvalidInstrument); };
    if (d.instrument >= cfg.max_instruments || d.price_decimals > 18 || d.qty_decimals > 18) return bad();
    if (d.tick_size <= 0 || d.lot_size <= 0) return bad();
    if (d.min_price <= 0 || d.min_price > d.max_price) return bad();
    if (d.min_price % d.tick_size != 0 || d.max_price % d.tick_size != 0) return bad();
    const std::uint64_t levels = static_cast<std::uint64_t>((d.max_price - d.min_price) / d.tick_size) + 1;
    if (levels > cfg.max_levels_per_book) return bad();
    if (d.max_order_qty <= 0 || d.max_order_qty % d.lot_size != 0) return bad();
    if (d.tier_count > wire::kMaxTiers) return bad();
    if (!MarginEngine::valid_definition(d) || !margin.may_redefine(d)) return bad();
    Instrument& ins = instruments[d.instrument];
    if (ins.defined && ins.live > 0) return bad();

    // Every allocation comes first, so a definition refused for memory changes nothing (the
    // margin terms of open positions included).
    const auto n = static_cast<std::uint32_t>(levels);
    const bool reuse = ins.defined && ins.book.levels() == n;
    OrderBook book;
    StopBook stops, marked;
    if (!reuse && (!book.init(d.instrument, d.min_price, d.tick_size, n, &pool, &tracker) ||
                   !stops.init(d.min_price, d.tick_size, n, &pool) || !marked.init(d.min_price, d.tick_size, n, &pool)))
      return reject(ev, RejectReason::InstrumentCapacity);
    if (!margin.define(d)) return reject(ev, RejectReason::InstrumentCapacity);
    if (reuse) {
      ins.book.init(d.instrument, d.min_price, d.tick_size, n, &pool, &tracker);  // reuses memory
      ins.stops.init(d.min_price, d.tick_size, n, &pool);
      mark_stops[d.instrument].init(d.min_price, d.tick_size, n, &pool);
    } else {
      ins.book = std::move(book);
      ins.stops = std::move(stops);
      mark_stops[d.instrument] = std::move(marked);
      if (cfg.prefault) {
        ins.book.commit();
        ins.stops.commit();
        mark_stops[d.instrument].commit();
      }
    }
    ins.def = d;
    ins.defined = true;
    ins.breaker.redefine();
  }

  void on_deposit(const EventView& ev) noexcept {
    const auto& d = ev.as<wire::Deposit>();
    if (d.account >= cfg.max_accounts) return reject(ev, RejectReason::UnknownAccount);
    if (d.amount <= 0) return reject(ev, RejectReason::InvalidAmount);
    Money after;
    // Per-account balances and the engine's deposit total both stay exact in 64 bits.
    if (__builtin_add_overflow(accounts[d.account].balance, d.amount, &after) ||
        __builtin_add_overflow(margin.total_deposits(), d.amount, &after))
      return reject(ev, RejectReason::InvalidAmount);
    margin.deposit(d.account, d.amount);
    emit_balance(d.account, wire::BalanceReason::Deposit, d.amount, accounts[d.account].balance);
  }

  void on_withdrawal(const EventView& ev) noexcept {
    const auto& w = ev.as<wire::Withdrawal>();
    if (w.account >= cfg.max_accounts) return reject(ev, RejectReason::UnknownAccount);
    if (w.amount <= 0) return reject(ev, RejectReason::InvalidAmount);
    const RejectReason risk = margin.check_withdrawal(w.account, w.amount);
    if (risk != RejectReason::None) return reject(ev, risk);
    margin.withdraw(w.account, w.amount);
    emit_balance(w.account, wire::BalanceReason::Withdrawal, -w.amount, accounts[w.account].balance);
  }

  void emit_balance(AccountId account, wire::BalanceReason reason, Money delta, Money balance) noexcept {
    auto b = make<wire::BalanceChange>();
    b.account = account;
    b.reason = reason;
    b.delta = delta;
    b.balance = balance;
    emit(b);
  }

  void on_index_price(const EventView& ev) noexcept {
    const auto& p = ev.as<wire::IndexPrice>();
    Instrument* ins = defined(p.instrument);
    if (!ins) return reject(ev, RejectReason::UnknownInstrument);
    if (p.price <= 0) return reject(ev, RejectReason::InvalidPrice);
    ins->index = p.price;
    margin.set_index(p.instrument, p.price);
  }

  void on_funding_rate(const EventView& ev) noexcept {
    const auto& f = ev.as<wire::FundingRate>();
    if (!defined(f.instrument)) return reject(ev, RejectReason::UnknownInstrument);
    margin.funding(f.instrument, f.rate);
  }

  void on_account_settings(const EventView& ev) noexcept {
    const auto& s = ev.as<wire::AccountSettings>();
    if (s.account >= cfg.max_accounts) return reject(ev, RejectReason::UnknownAccount);
    if (s.instrument != kAllInstruments && !defined(s.instrument))
      return reject(ev, RejectReason::UnknownInstrument);
    if (static_cast<std::uint8_t>(s.margin_mode) > 1 || static_cast<std::uint8_t>(s.role) > 1)
      return reject(ev, RejectReason::InvalidSettings);
    const RejectReason r = margin.settings(s);
    if (r != RejectReason::None) return reject(ev, r);
    set_backstop(s.account, s.role == wire::AccountRole::Backstop);
  }

  void set_backstop(AccountId a, bool on) noexcept {
    std::uint32_t k = 0;
    while (k < backstop_count && backstops[k] < a) ++k;
    const bool present = k < backstop_count && backstops[k] == a;
    if (on && !present) {
      for (std::uint32_t j = backstop_count; j > k; --j) backstops[j] = backstops[j - 1];
      backstops[k] = a;
      ++backstop_count;
    } else if (!on && present) {
      for (std::uint32_t j = k + 1; j < backstop_count; ++j) backstops[j - 1] = backstops[j];
      --backstop_count;
    }
  }


  // ---------------------------------------------------------------------------------------
  // liquidation (docs/liquidation.md)

  void run_cascade() noexcept {
    if (!cfg.liquidation) {
      do refresh_marks();
      while (fire_mark_stop());
      margin.evaluate_pending();
      margin.clear_candidates();
      return;
    }
    std::uint32_t depth = 0;
    std::uint64_t steps = 0;
    for (;;) {
      refresh_marks();
      if (fire_mark_stop()) continue;  // mark stops before liquidations, one at a time
      margin.evaluate_pending();
      detect(depth);
      if (liq_queue.empty()) break;
      const LiquidationUnit u = liq_queue.pop();
      margin.set_queued(u.account, u.pos, false);
      if (liquidate(u)) ++steps;
      depth = u.depth + 1;
    }
    if (steps > liq.largest_cascade) {
      liq.largest_cascade = steps;
      liq.largest_cascade_origin = origin;
    }
  }

  // Candidates still below maintenance and not queued join the queue in unit order.
  void detect(std::uint32_t depth) noexcept {
    const std::uint32_t n = margin.candidates();
    if (n == 0) return;
    std::uint32_t found = 0;
    for (std::uint32_t k = 0; k < n; ++k) {
      const AccountId a = margin.candidate_account(k);
      const PosIdx p = margin.candidate_pos(k);
      if (!margin.below(a, p) || margin.queued(a, p)) continue;  // recovered, or already waiting
      liq_found[found++] = LiquidationUnit{a, p, p == kNilPos ? kAllInstruments : margin.position(p).instrument, depth};
    }
    margin.clear_candidates();
    std::sort(liq_found.data(), liq_found.data() + found,
              [](const LiquidationUnit& x, const LiquidationUnit& y) { return x.key() < y.key(); });
    for (std::uint32_t k = 0; k < found; ++k) {
      margin.set_queued(liq_found[k].account, liq_found[k].pos, true);
      liq_queue.push(liq_found[k]);
    }
  }

  void emit_liq(const LiquidationUnit& u, wire::LiquidationStage stage, InstrumentId instrument, Side side, Qty qty,
                Price price, Money amount) noexcept {
    auto l = make<wire::Liquidation>();
    l.account = u.account;
    l.instrument = instrument;
    l.side = side;
    l.stage = stage;
    l.depth = static_cast<std::uint16_t>(std::min<std::uint32_t>(u.depth, 0xFFFF));
    l.qty = qty;
    l.price = price;
    l.amount = amount;
    l.cascade_origin = origin;
    emit(l);
  }

  static Money to_money(i128 v) noexcept { return fx::saturate(v); }

  // floor(x / (|s| * 10^m)) price units, exactly, for any sign of x (steps 5 and 8).
  static i128 price_distance(i128 x, i128 size, int m) noexcept {
    if (m >= 0) return floor_div(x, size * fx::pow10(m));
    if (x >= 0) return fx::mul_div_floor(x, fx::pow10(-m), size);
    return -fx::mul_div_ceil(-x, fx::pow10(-m), size);
  }

  // One step for a unit. False when it recovered while queued (nothing is emitted).
  bool liquidate(const LiquidationUnit& u) noexcept {
    const AccountId a = u.account;
    MarginEngine::UnitFigures f = margin.unit(a, u.pos);
    if (!margin.liquidatable(a, u.pos, f)) {
      margin.reevaluate(a, u.pos);  // recovered while queued: watch it again
      return false;
    }
    ++liq.liquidations;
    liq.max_depth = std::max(liq.max_depth, u.depth);
    margin.touch(a);
    constexpr Side kNoSide = static_cast<Side>(0);
    emit_liq(u, wire::LiquidationStage::Triggered, u.instrument, kNoSide, 0, 0, to_money(f.equity - f.mm));

    // 2. cancel the unit's orders, acceptance order
    std::uint32_t cancelled = 0;
    for (OrderIdx o = accounts[a].head; o != kNilOrder;) {
      const OrderIdx next = pool[o].acct_next;
      const OrderNode& n = pool[o];
      const bool mine = u.pos == kNilPos ? !(margin.position(pos_of(n)).flags & position_flags::kIsolated)
                                         : n.instrument == u.instrument;
      if (mine) {
        cancel_live(instruments[n.instrument], o, wire::CancelReason::Liquidation);
        ++cancelled;
      }
      o = next;
    }
    emit_liq(u, wire::LiquidationStage::OrdersCancelled, u.instrument, kNoSide, cancelled, 0, 0);
    if (cancelled > 0) {
      refresh_marks();
      f = margin.unit(a, u.pos);
      if (f.equity >= f.mm) {
        emit_liq(u, wire::LiquidationStage::Completed, u.instrument, kNoSide, 0, 0, to_money(f.equity - f.mm));
        return true;
      }
    }

    // 3. the position: largest MM, ties by lowest instrument
    PosIdx p = u.pos;
    if (p == kNilPos) {
      i128 best_mm = -1;
      for (PosIdx r = margin.first_position(a); r != kNilPos; r = margin.position(r).acct_next) {
        const Position& pr = margin.position(r);
        if (pr.size == 0 || (pr.flags & position_flags::kIsolated)) continue;
        const i128 mm = margin.position_mm(r);
        if (mm > best_mm || (mm == best_mm && pr.instrument < margin.position(p).instrument)) {
          best_mm = mm;
          p = r;
        }
      }
    }
    InstrumentId closed = kAllInstruments;
    if (p != kNilPos && margin.position(p).size != 0) {
      closed = margin.position(p).instrument;
      close_step(u, p, f.equity);
    }

    // 10. bankruptcy
    if (accounts[a].balance < 0 && !margin.has_cross_position(a)) {
      Money socialized = 0;
      const Money loss = margin.bankrupt(a, u.instrument, socialized);
      ++liq.bankruptcies;
      liq.bankruptcy_loss += loss;
      emit_liq(u, wire::LiquidationStage::Bankrupt, u.instrument, kNoSide, 0, 0, loss);
      if (socialized > 0) emit_liq(u, wire::LiquidationStage::Socialized, u.instrument, kNoSide, 0, 0, socialized);
    }
    f = margin.unit(a, u.pos);
    emit_liq(u, wire::LiquidationStage::Completed, u.instrument, kNoSide, 0, 0, to_money(f.equity - f.mm));
    // Stops come after the whole step (docs/liquidation.md, the cascade loop).
    if (closed != kAllInstruments) run_stops(instruments[closed], closed);
    return true;
  }

  // Steps 4 to 9 for position p of the unit, at the marks of the step's start.
  void close_step(const LiquidationUnit& u, PosIdx p, i128 equity) noexcept {
    const InstrumentId id = margin.position(p).instrument;
    Instrument& ins = instruments[id];
    const i128 size = margin.position(p).size;
    const i128 abs_s = size < 0 ? -size : size;
    const Side close = size > 0 ? Side::Sell : Side::Buy;
    const i128 mark = margin.mark(id);
    const int m = margin.money_exp(id);
    const Brackets& br = margin.brackets(id);

    // 4. step quantity: down to the top of the next lower bracket
    i128 q = abs_s;
    const int k = br.margined() ? br.bracket(fx::value_up(mark, abs_s, m)) : 0;
    if (k > 0) {
      const i128 cap = br.tier(k - 1).max_notional;
      i128 r = m >= 0 ? floor_div(cap, mark * fx::pow10(m)) : fx::mul_div_floor(cap, fx::pow10(-m), mark);
      r -= r % ins.def.lot_size;
      q = abs_s - r;
    }

    // 5. bankruptcy price
    const i128 tick = ins.def.tick_size;
    const i128 d = price_distance(equity, abs_s, m);
    i128 bp = close == Side::Sell ? ceil_div(mark - d, tick) * tick : floor_div(mark + d, tick) * tick;
    bp = std::clamp<i128>(bp, ins.def.min_price, ins.def.max_price);
    const auto bpx = static_cast<Price>(bp);
    auto rem = static_cast<Qty>(q);
    emit_liq(u, wire::LiquidationStage::BookOrder, id, close, rem, bpx, 0);

    // 6. through the book, unless the circuit breaker paused the instrument
    if (!ins.breaker.paused()) rem = liq_match(ins, id, u, p, close, bpx, rem);
    // 7. backstop
    if (rem > 0) rem = take_by_backstop(u, p, id, close, bpx, rem);
    // 8. through the book with the insurance fund
    const Money fund = margin.insurance_fund();
    if (rem > 0 && fund > 0 && !ins.breaker.paused()) {
      const i128 g = price_distance(fund, rem, m);
      i128 bpi = close == Side::Sell ? ceil_div(bp - g, tick) * tick : floor_div(bp + g, tick) * tick;
      bpi = std::clamp<i128>(bpi, ins.def.min_price, ins.def.max_price);
      if (bpi != bp) {
        emit_liq(u, wire::LiquidationStage::BookOrder, id, close, rem, static_cast<Price>(bpi), 0);
        rem = liq_match(ins, id, u, p, close, static_cast<Price>(bpi), rem);
      }
    }
    // 9. auto-deleveraging
    if (rem > 0) deleverage(u, p, id, close, bpx, rem);
  }

  // An IOC liquidation order of the unit against the book; returns the unfilled quantity.
  Qty liq_match(Instrument& ins, InstrumentId id, const LiquidationUnit& u, PosIdx pos, Side side, Price limit,
                Qty qty) noexcept {
    OrderBook& book = ins.book;
    const Side opp = opposite(side);
    const int m = margin.money_exp(id);
    const Rate lf_rate = ins.def.liquidation_fee;
    while (qty > 0) {
      const std::uint32_t l = book.best(opp);
      if (l == kNone) break;
      const Price px = book.price(l);
      if (side == Side::Buy ? px > limit : px < limit) break;
      const OrderIdx h = book.level(l).head;
      OrderNode& mk = pool[h];
      const Qty q = std::min(qty, mk.qty);
      const PosIdx maker_pos = pos_of(mk);
      margin.remove_order(maker_pos, MarginEngine::terms(mk));
      book.reduce(h, q);
      margin.add_order(maker_pos, MarginEngine::terms(mk));
      qty -= q;
      ins.breaker.before_trade(ins.def, clock, ins.last, px);
      ins.last = px;
      const i128 value = fx::value(px, q, m);
      const Money maker_fee = margin.fee(id, value, true);
      Money rm = 0, rt = 0;
      margin.fill_quiet(id, maker_pos, pos, side, px, q, value, maker_fee, rm, rt);
      // The liquidation fee never takes the unit's equity below zero.
      i128 fee = lf_rate > 0 ? fx::mul_div_ceil(value, lf_rate, kRateOne) : 0;
      fee = std::min(fee, std::max<i128>(0, margin.unit(u.account, u.pos).equity));
      auto f = make<wire::Fill>();
      f.maker_order_id = mk.id;
      f.taker_order_id = 0;
      f.maker_account = mk.account;
      f.taker_account = u.account;
      f.instrument = id;
      f.aggressor_side = side;
      f.flags = wire::fill_flags::kLiquidation;
      f.price = px;
      f.qty = q;
      f.maker_leaves = mk.qty;
      f.taker_leaves = qty;
      f.maker_fee = maker_fee;
      f.taker_fee = to_money(fee);
      emit(f);
      margin.emit_fill_positions(maker_pos, pos, rm, rt);
      if (fee > 0) margin.pay_liquidation_fee(u.account, id, to_money(fee));
      margin.touch_mark(id);
      ++liq.book_fills;
      liq.book_notional += to_money(value);
      liq.fees += to_money(fee);
      if (mk.qty == 0) remove_resting(ins, h);
      if (margin.reduce_only_excess(maker_pos)) cancel_reduce_only(ins, maker_pos);
      if (margin.reduce_only_excess(pos)) cancel_reduce_only(ins, pos);
      after_trade(ins, id);
    }
    return qty;
  }

  // A fill at bp against a counterparty without an order (backstop or deleveraging).
  void direct_fill(InstrumentId id, PosIdx maker_pos, PosIdx pos, AccountId taker, Side side, Price bp, Qty q,
                   Qty taker_leaves, std::uint8_t flags) noexcept {
    Instrument& ins = instruments[id];
    const i128 value = fx::value(bp, q, margin.money_exp(id));
    Money rm = 0, rt = 0;
    margin.fill_quiet(id, maker_pos, pos, side, bp, q, value, 0, rm, rt);
    auto f = make<wire::Fill>();
    f.maker_account = margin.position(maker_pos).account;
    f.taker_account = taker;
    f.instrument = id;
    f.aggressor_side = side;
    f.flags = flags;
    f.price = bp;
    f.qty = q;
    f.taker_leaves = taker_leaves;
    emit(f);
    margin.emit_fill_positions(maker_pos, pos, rm, rt);
    if (margin.reduce_only_excess(maker_pos)) cancel_reduce_only(ins, maker_pos);
    if (margin.reduce_only_excess(pos)) cancel_reduce_only(ins, pos);
  }

  // 7. The first backstop account (ascending id) whose pre-trade check accepts takes it all.
  Qty take_by_backstop(const LiquidationUnit& u, PosIdx pos, InstrumentId id, Side side, Price bp, Qty rem) noexcept {
    for (std::uint32_t k = 0; k < backstop_count; ++k) {
      const AccountId b = backstops[k];
      if (b == u.account) continue;
      PosIdx bpos = margin.ensure(b, id);
      // A full table may hold records emptied earlier in this event (docs/margin.md: a record
      // is a position, live orders or an explicit mode); they make room first.
      if (bpos == kNilPos && margin.reclaim_empty()) bpos = margin.ensure(b, id);
      if (bpos == kNilPos) continue;
      if (margin.check_order(bpos, OrderTerms{opposite(side), bp, rem, false}, nullptr) != RejectReason::None ||
          backstop_under_water_after(bpos, opposite(side), bp, rem)) {
        margin.release_if_empty(bpos);
        continue;
      }
      direct_fill(id, bpos, pos, u.account, side, bp, rem, 0, wire::fill_flags::kLiquidation | wire::fill_flags::kBackstop);
      emit_liq(u, wire::LiquidationStage::Backstop, id, side, rem, bp, b);
      ++liq.backstop_takeovers;
      liq.backstop_notional += to_money(fx::value(bp, rem, margin.money_exp(id)));
      return 0;
    }
    return rem;
  }

  // Would taking q at bp leave the backstop's unit below maintenance at the step's marks? A
  // takeover that does would only hand the position on to the next backstop, and back.
  bool backstop_under_water_after(PosIdx bpos, Side take, Price bp, Qty q) const noexcept {
    const MarginEngine::UnitFigures f = margin.unit_after_fill(bpos, take, bp, q);
    return f.equity < f.mm;
  }

  // 9. Close the remainder against opposite positions in ADL rank order.
  void deleverage(const LiquidationUnit& u, PosIdx pos, InstrumentId id, Side side, Price bp, Qty rem) noexcept {
    adl_prepare(id, side);
    const auto after = [](const AdlCandidate& x, const AdlCandidate& y) { return adl_before(y, x); };
    // The unit's own record is on the closing side, so its account never ranks; kept exact anyway.
    AdlCandidate own{};
    bool have_own = false;
    Qty total = 0;
    for (std::uint32_t k = 0; adl_size > 0 && rem > 0;) {
      std::pop_heap(adl.data(), adl.data() + adl_size, after);
      const AdlCandidate c = adl[--adl_size];
      if (c.pad0 != adl_stamp[c.account]) continue;  // stale: ranked again since
      if (c.account == u.account) {
        own = c;
        have_own = true;
        continue;
      }
      const Qty have = margin.position(c.pos).size;
      const Qty q = std::min<Qty>(rem, have < 0 ? -have : have);
      rem -= q;
      total += q;
      auto d = make<wire::Deleverage>();
      d.account = c.account;
      d.counter_account = u.account;
      d.instrument = id;
      d.rank = ++k;
      d.qty = q;
      d.price = bp;
      emit(d);
      direct_fill(id, c.pos, pos, u.account, side, bp, q, rem, wire::fill_flags::kLiquidation | wire::fill_flags::kDeleverage);
      ++liq.deleverages;
      liq.deleverage_notional += to_money(fx::value(bp, q, margin.money_exp(id)));
    }
    if (have_own) {
      adl[adl_size++] = own;
      std::push_heap(adl.data(), adl.data() + adl_size, after);
    }
    emit_liq(u, wire::LiquidationStage::Deleveraged, id, side, total, bp, 0);
  }

  // The rank of record hp if it is an opposite holder for a close on `side`.
  bool adl_entry(PosIdx hp, Side side, std::uint32_t stamp, AdlCandidate& out) const noexcept {
    const Position& r = margin.position(hp);
    if (side == Side::Sell ? r.size >= 0 : r.size <= 0) return false;
    const PosIdx unit_pos = (r.flags & position_flags::kIsolated) ? hp : kNilPos;
    out = adl_rank(margin.position_unrealized(hp), r.entry, margin.position_notional(hp),
                   margin.unit(r.account, unit_pos).equity, r.account, hp);
    out.pad0 = stamp;
    return true;
  }

  // Brings the heap up to date for (id, side): pushes the accounts changed since the last
  // step, or ranks every holder again (O(holders)) when the marks moved, another instrument
  // or side was ranked last, or the changes are many.
  void adl_prepare(InstrumentId id, Side side) noexcept {
    const auto after = [](const AdlCandidate& x, const AdlCandidate& y) { return adl_before(y, x); };
    const std::uint32_t holders = margin.holder_count(id);
    const std::uint32_t changed = margin.changes();
    const bool reuse = adl_valid && adl_id == id && adl_side == side && margin.change_log_on() &&
                       std::uint64_t{changed} * 4 <= holders && adl_size + std::uint64_t{changed} <= adl.size() &&
                       adl_gen <= UINT32_MAX - changed - 1;
    if (reuse) {
      for (std::uint32_t k = 0; k < changed; ++k) {
        const AccountId a = margin.change(k);
        adl_stamp[a] = ++adl_gen;
        const PosIdx hp = margin.find(a, id);
        if (hp != kNilPos && adl_entry(hp, side, adl_gen, adl[adl_size])) {
          ++adl_size;
          std::push_heap(adl.data(), adl.data() + adl_size, after);
        }
      }
      margin.change_log_clear();
      return;
    }
    if (adl_gen > UINT32_MAX - holders - 1) {
      std::fill(adl_stamp.data(), adl_stamp.data() + cfg.max_accounts, 0u);
      adl_gen = 0;
    }
    const std::uint32_t stamp = ++adl_gen;
    adl_size = 0;
    for (std::uint32_t k = 0; k < holders; ++k) {
      const PosIdx hp = margin.holder(id, k);
      if (adl_entry(hp, side, stamp, adl[adl_size])) adl_stamp[adl[adl_size++].account] = stamp;
    }
    // Only the first few ranks are usually needed: a heap gives them in rank order in
    // O(n + k log n) instead of sorting all n holders.
    std::make_heap(adl.data(), adl.data() + adl_size, after);
    adl_id = id;
    adl_side = side;
    adl_valid = true;
    margin.change_log_start();
  }

  // ---------------------------------------------------------------------------------------
  // market data: one DepthLevel per changed (side, price), then TopOfBook if it moved

  void emit_depth(InstrumentId id, Side side, Price price, Qty qty, std::uint32_t count) noexcept {
    auto& d = put<wire::DepthLevel>();
    d.instrument = id;
    d.side = side;
    d.price = price;
    d.qty = qty;
    d.order_count = count;
  }

  // Emits the level's change on one side, if it changed there.
  void depth_change(const OrderBook& book, InstrumentId id, const TouchedLevel& t, Side side) noexcept {
    const auto li = static_cast<std::uint32_t>(t.key);
    const Level& l = book.level(li);
    const bool was = t.start_count > 0 && t.start_side == side;
    const bool is = l.count > 0 && book.level_side(li) == side;
    const Qty q0 = was ? t.start_qty : 0, q1 = is ? l.qty : 0;
    const std::uint32_t c0 = was ? t.start_count : 0, c1 = is ? l.count : 0;
    if (q0 != q1 || c0 != c1) emit_depth(id, side, book.price(li), q1, c1);
  }

  void flush_market_data() noexcept {
    if (tracker.empty()) return;
    tracker.sort();
    const std::uint32_t total = tracker.size();
    for (std::uint32_t i = 0; i < total;) {
      const auto id = static_cast<InstrumentId>(tracker[i].key >> 32);
      std::uint32_t j = i;
      while (j < total && (tracker[j].key >> 32) == id) ++j;
      OrderBook& book = instruments[id].book;
      for (std::uint32_t k = j; k-- > i;) depth_change(book, id, tracker[k], Side::Buy);
      for (std::uint32_t k = i; k < j; ++k) {  // the sell pass also ends each level's tracking
        depth_change(book, id, tracker[k], Side::Sell);
        book.end_event_level(static_cast<std::uint32_t>(tracker[k].key));
      }
      const TopView now = book.top();
      const TopView& was = book.top_before();
      if (now.bid_price != was.bid_price || now.bid_qty != was.bid_qty || now.ask_price != was.ask_price ||
          now.ask_qty != was.ask_qty) {
        auto& t = put<wire::TopOfBook>();
        t.instrument = id;
        t.bid_price = now.bid_price;
        t.bid_qty = now.bid_qty;
        t.ask_price = now.ask_price;
        t.ask_qty = now.ask_qty;
      }
      book.end_event();
      i = j;
    }
    tracker.clear();
  }

  void process(const EventView& ev, EventBuffer& buf) noexcept {
    const wire::MsgType type = ev.type();
    if (!wire::is_input(type) || wire::message_size(type) == 0) return;
    const Timestamp ts = ev.header().ts_ns;
    output.begin(&buf, ts, ev.header().seq);
    origin = ev.header().seq;
    if (have_clock && ts < clock) return reject(ev, RejectReason::TimestampBackwards);
    clock = ts;
    have_clock = true;
    if (paused_count > 0) resume_breakers();
    switch (type) {
      case wire::MsgType::NewOrder: on_new_order(ev); break;
      case wire::MsgType::CancelOrder: on_cancel(ev); break;
      case wire::MsgType::ModifyOrder: on_modify(ev); break;
      case wire::MsgType::MassCancel: on_mass_cancel(ev); break;
      case wire::MsgType::InstrumentDefinition: on_instrument(ev); break;
      case wire::MsgType::Deposit: on_deposit(ev); break;
      case wire::MsgType::Withdrawal: on_withdrawal(ev); break;
      case wire::MsgType::IndexPrice: on_index_price(ev); break;
      case wire::MsgType::FundingRate: on_funding_rate(ev); break;
      case wire::MsgType::AccountSettings: on_account_settings(ev); break;
      default: break;  // heartbeat: the clock check is all
    }
    end_event();
  }

  // Marks of every instrument whose index, book or last price changed during the event.
  void refresh_marks() noexcept {
    for (std::uint32_t k = 0; k < margin.touched_marks(); ++k) {
      const InstrumentId id = margin.touched_mark(k);
      const Instrument& ins = instruments[id];
      const TopView t = ins.book.top();
      margin.update_mark(id, t.bid_qty > 0 ? t.bid_price : 0, t.ask_qty > 0 ? t.ask_price : 0, ins.last);
    }
  }

  // The cascade (marks and liquidations until no unit is below maintenance), then one
  // MarginUpdate per touched account, the book's market data, and the marks that moved.
  void end_event() noexcept {
    run_cascade();
    margin.report_accounts();
    flush_market_data();
    margin.publish_marks();
  }
};

Engine::Engine(const EngineConfig& config) : impl_(std::make_unique<Impl>(config)) {}
Engine::~Engine() = default;
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;

void Engine::process(const EventView& event, EventBuffer& out) noexcept { impl_->process(event, out); }

const wire::InstrumentDefinition* Engine::instrument(InstrumentId id) const noexcept {
  if (id >= impl_->cfg.max_instruments || !impl_->instruments[id].defined) return nullptr;
  return &impl_->instruments[id].def;
}

std::vector<InstrumentId> Engine::instrument_ids() const {
  std::vector<InstrumentId> ids;
  for (InstrumentId i = 0; i < impl_->cfg.max_instruments; ++i)
    if (impl_->instruments[i].defined) ids.push_back(i);
  return ids;
}

std::size_t Engine::depth(InstrumentId id, Side side, std::size_t max_levels, LevelView* out) const noexcept {
  if (id >= impl_->cfg.max_instruments || !impl_->instruments[id].defined) return 0;
  const OrderBook& book = impl_->instruments[id].book;
  std::size_t n = 0;
  for (std::uint32_t l = book.best(side); l != kNone && n < max_levels; l = book.next_worse(side, l)) {
    const Level& lv = book.level(l);
    out[n++] = LevelView{book.price(l), lv.qty, lv.count};
  }
  return n;
}

TopView Engine::top(InstrumentId id) const noexcept {
  if (id >= impl_->cfg.max_instruments || !impl_->instruments[id].defined) return {};
  return impl_->instruments[id].book.top();
}

Price Engine::last_price(InstrumentId id) const noexcept {
  if (id >= impl_->cfg.max_instruments) return 0;
  return impl_->instruments[id].last;
}

Money Engine::balance(AccountId account) const noexcept {
  if (account >= impl_->cfg.max_accounts) return 0;
  return impl_->accounts[account].balance;
}

std::size_t Engine::live_orders() const noexcept { return impl_->pool.used(); }
SeqNo Engine::output_seq() const noexcept { return impl_->output.seq(); }

MarkView Engine::mark(InstrumentId id) const noexcept {
  if (id >= impl_->cfg.max_instruments || !impl_->instruments[id].defined) return {};
  return impl_->margin.mark_view(id);
}

AccountView Engine::account(AccountId account) const {
  if (account >= impl_->cfg.max_accounts) return {};
  return impl_->margin.account_view(account);
}

std::vector<AccountId> Engine::active_accounts() const {
  std::vector<AccountId> ids;
  for (AccountId a = 0; a < impl_->cfg.max_accounts; ++a)
    if (impl_->margin.active(a)) ids.push_back(a);
  return ids;
}

MarginTotals Engine::totals() const noexcept { return impl_->margin.totals(); }
LiquidationTotals Engine::liquidation_totals() const noexcept { return impl_->liq; }

InstrumentTotals Engine::instrument_totals(InstrumentId id) const noexcept {
  if (id >= impl_->cfg.max_instruments || !impl_->instruments[id].defined) return {};
  return impl_->margin.instrument_totals(id);
}
const EngineConfig& Engine::config() const noexcept { return impl_->cfg; }

}  // namespace cascade

// =============================================================================================
// Batches (docs/embedding.md, "Batches"): hints for events processed later, read-only. Each
// field is checked before it indexes anything, so any bytes are safe; a stale or wrong hint
// costs a wasted load, never a different output.
// =============================================================================================

namespace cascade {

namespace {
// The input message behind ev if ev is one of type T with T's exact length, else nullptr.
template <class T>
const T* input_as(const EventView& ev) noexcept {
  return ev.type() == T::kType && ev.size() == sizeof(T) ? &ev.as<T>() : nullptr;
}
}  // namespace

void Engine::prefetch(const EventView& event) const noexcept {
  const Impl& m = *impl_;
  const auto account = [&m](AccountId a, InstrumentId i) {
    if (a < m.cfg.max_accounts) m.margin.prefetch_account(a, i);
  };
  // The level a limit price rests at (deep levels are cold on a large book).
  const auto level = [&m](InstrumentId i, Price p) {
    if (i >= m.cfg.max_instruments) return;
    const Instrument& ins = m.instruments[i];
    if (!ins.defined || p <= 0 || !ins.in_range(p) || !ins.on_tick(p)) return;
    if (const std::uint32_t l = ins.book.index(p); l < ins.book.levels()) __builtin_prefetch(&ins.book.level(l));
  };
  switch (event.type()) {
    case wire::MsgType::NewOrder:
      if (const auto* o = input_as<wire::NewOrder>(event)) {
        if (o->order_id != 0) m.index.prefetch(o->order_id);  // the duplicate check
        account(o->account, o->instrument);
        if (o->order_type == OrderType::Limit) level(o->instrument, o->price);
      }
      break;
    case wire::MsgType::CancelOrder:
      if (const auto* c = input_as<wire::CancelOrder>(event)) {
        if (c->order_id != 0) m.index.prefetch(c->order_id);
        account(c->account, c->instrument);
      }
      break;
    case wire::MsgType::ModifyOrder:
      if (const auto* c = input_as<wire::ModifyOrder>(event)) {
        if (c->order_id != 0) m.index.prefetch(c->order_id);
        account(c->account, c->instrument);
        level(c->instrument, c->new_price);
      }
      break;
    case wire::MsgType::Deposit:
      if (const auto* d = input_as<wire::Deposit>(event); d && d->account < m.cfg.max_accounts)
        __builtin_prefetch(&m.accounts[d->account]);
      break;
    case wire::MsgType::Withdrawal:
      if (const auto* w = input_as<wire::Withdrawal>(event); w && w->account < m.cfg.max_accounts)
        __builtin_prefetch(&m.accounts[w->account]);
      break;
    default:
      break;
  }
}

void Engine::prefetch_resolved(const EventView& event) const noexcept {
  const Impl& m = *impl_;
  const auto position = [&m](AccountId a, InstrumentId i) {
    if (a < m.cfg.max_accounts) m.margin.prefetch_position(a, i);
  };
  // The order's node (the slot prefetch() loaded names it): cancel and modify read it first.
  // Not find(): that would wait for the node to check the id.
  const auto order = [&m](OrderId id) {
    if (id == 0) return;
    if (const OrderIdx o = m.index.candidate(id); o != kNilOrder) __builtin_prefetch(&m.pool[o]);
  };
  switch (event.type()) {
    case wire::MsgType::NewOrder:
      if (const auto* o = input_as<wire::NewOrder>(event)) position(o->account, o->instrument);
      break;
    case wire::MsgType::CancelOrder:
      if (const auto* c = input_as<wire::CancelOrder>(event)) {
        order(c->order_id);
        position(c->account, c->instrument);
      }
      break;
    case wire::MsgType::ModifyOrder:
      if (const auto* c = input_as<wire::ModifyOrder>(event)) {
        order(c->order_id);
        position(c->account, c->instrument);
      }
      break;
    default:
      break;
  }
}

void Engine::prefetch_linked(const EventView& event) const noexcept {
  const Impl& m = *impl_;
  OrderId id = 0;
  if (const auto* c = input_as<wire::CancelOrder>(event)) id = c->order_id;
  else if (const auto* c = input_as<wire::ModifyOrder>(event)) id = c->order_id;
  if (id == 0) return;
  const OrderIdx o = m.index.find(id);
  if (o == kNilOrder) return;
  const OrderNode& n = m.pool[o];
  // Unlinking touches both neighbours in the level's FIFO and in the account's list.
  __builtin_prefetch(&m.pool[n.next]);
  __builtin_prefetch(&m.pool[n.prev]);
  __builtin_prefetch(&m.pool[n.acct_next]);
  __builtin_prefetch(&m.pool[n.acct_prev]);
  if (n.instrument < m.cfg.max_instruments) {
    const Instrument& ins = m.instruments[n.instrument];
    if (!ins.defined || n.state != OrderState::Resting || !ins.in_range(n.price)) return;
    if (const std::uint32_t l = ins.book.index(n.price); l < ins.book.levels()) __builtin_prefetch(&ins.book.level(l));
  }
}

std::size_t Engine::process_batch(std::span<const std::byte> events, EventBuffer& out) noexcept {
  PrefetchReader r(*this, events);
  std::size_t done = 0;
  for (EventView ev; r.next(ev);) {
    impl_->process(ev, out);
    done = static_cast<std::size_t>(ev.data() - events.data()) + ev.size();
  }
  return done;
}

}  // namespace cascade

// =============================================================================================
// Snapshots (cascade/snapshot.hpp, docs/snapshots.md): the state as semantic records, and a
// restore that rebuilds every structure from them through the same operations the engine
// uses while running. Taken and restored between input events only.
// =============================================================================================

#include "cascade/snapshot.hpp"
#include "snapshot_codec.hpp"

namespace cascade {

namespace {
constexpr std::uint8_t kSavedAccountFlags =
    account_flags::kIsolatedDefault | account_flags::kBackstop | account_flags::kBelow;

void save_order(const OrderNode& n, snap::Writer& w) {
  w.begin(snap::kOrder);
  w.put(n.instrument);
  w.put(n.id);
  w.put(n.account);
  w.put(n.side);
  w.put(n.type);
  w.put(n.tif);
  w.put(n.flags);
  w.put(n.stp);
  w.put(n.state);
  w.put(n.price);
  w.put(n.qty);
  w.put(n.trigger);
  w.end();
}
}  // namespace

void SnapshotAccess::save(const Engine& e, snap::Writer& w) {
  const Engine::Impl& m = *e.impl_;
  const EngineConfig& c = m.cfg;
  w.begin(snap::kConfig);
  w.put(c.max_instruments);
  w.put(c.max_accounts);
  w.put(c.max_orders);
  w.put(c.max_levels_per_book);
  w.put(c.max_positions);
  w.put(static_cast<std::uint8_t>(c.liquidation));
  w.end();

  w.begin(snap::kClock);
  w.put(m.clock);
  w.put(static_cast<std::uint8_t>(m.have_clock));
  w.put(m.output.seq());
  w.end();

  const LiquidationTotals& l = m.liq;
  w.begin(snap::kLiquidationTotals);
  for (const std::uint64_t v : {l.liquidations, l.book_fills, l.backstop_takeovers, l.deleverages, l.bankruptcies,
                                l.largest_cascade, std::uint64_t{l.largest_cascade_origin}})
    w.put(v);
  for (const Money v : {l.book_notional, l.fees, l.backstop_notional, l.deleverage_notional, l.bankruptcy_loss}) w.put(v);
  w.put(l.max_depth);
  w.end();

  w.begin(snap::kMarginTotals);
  m.margin.save_totals(w);
  w.end();

  for (InstrumentId id = 0; id < c.max_instruments; ++id) {
    const Instrument& ins = m.instruments[id];
    if (!ins.defined) continue;
    w.begin(snap::kInstrument);
    w.put(id);
    w.raw(&ins.def, sizeof ins.def);
    w.put(ins.last);
    w.put(ins.index);
    m.margin.save_instrument(id, w);
    const CircuitBreakerState::Saved b = ins.breaker.save();
    w.put(b.window);
    w.put(b.anchor);
    w.put(b.until);
    w.put(b.window_state);
    w.put(b.paused);
    w.end();
  }

  for (AccountId a = 0; a < c.max_accounts; ++a) {
    const Account& acc = m.accounts[a];
    if (acc.balance == 0 && !(acc.flags & kSavedAccountFlags) && acc.positions == kNilPos && acc.head == kNilOrder)
      continue;
    w.begin(snap::kAccount);
    w.put(a);
    w.put(acc.balance);
    w.put(static_cast<std::uint8_t>(acc.flags & kSavedAccountFlags));
    w.end();
    m.margin.save_positions(a, w);
  }

  // Live orders in queue order: each book's levels from the lowest price, then each side's
  // stop triggers from the lowest.
  for (InstrumentId id = 0; id < c.max_instruments; ++id) {
    const Instrument& ins = m.instruments[id];
    if (!ins.defined) continue;
    const OrderBook& b = ins.book;
    for (std::uint32_t i = b.level(0).count ? 0 : b.next_worse(Side::Sell, 0); i != OrderBook::kNone;
         i = b.next_worse(Side::Sell, i))
      for (OrderIdx o = b.level(i).head; o != kNilOrder; o = m.pool[o].next) save_order(m.pool[o], w);
    for (const StopBook* stops : {&ins.stops, &m.mark_stops[id]}) {
      if (stops->empty()) continue;
      for (const Side s : {Side::Buy, Side::Sell})
        for (std::uint32_t i = 0; i < stops->levels(); ++i)
          for (OrderIdx o = stops->queue_head(s, i); o != kNilOrder; o = m.pool[o].next) save_order(m.pool[o], w);
    }
  }

  // Each account's live orders in acceptance order (mass cancel and reduce-only walk it).
  for (AccountId a = 0; a < c.max_accounts; ++a) {
    const Account& acc = m.accounts[a];
    if (acc.head == kNilOrder) continue;
    std::uint32_t n = 0;
    for (OrderIdx o = acc.head; o != kNilOrder; o = m.pool[o].acct_next) ++n;
    w.begin(snap::kAccountOrders);
    w.put(a);
    w.put(n);
    for (OrderIdx o = acc.head; o != kNilOrder; o = m.pool[o].acct_next) w.put(m.pool[o].id);
    w.end();
  }
}

bool SnapshotAccess::restore(Engine& e, snap::Reader& records, std::string& error) {
  Engine::Impl& m = *e.impl_;
  const EngineConfig& c = m.cfg;
  std::uint64_t orders = 0, linked = 0;
  const auto fail = [&](const char* what) {
    error = what;
    return false;
  };
  std::uint16_t tag = 0;
  for (snap::Reader r; records.next(tag, r);) {
    switch (tag) {
      case snap::kClock: {
        std::uint8_t have = 0;
        SeqNo seq = 0;
        if (!r.get(m.clock) || !r.get(have) || !r.get(seq)) return fail("bad clock record");
        m.have_clock = have != 0;
        m.output.restore_seq(seq);
        break;
      }
      case snap::kLiquidationTotals: {
        LiquidationTotals& l = m.liq;
        std::uint64_t origin = 0;
        if (!r.get(l.liquidations) || !r.get(l.book_fills) || !r.get(l.backstop_takeovers) || !r.get(l.deleverages) ||
            !r.get(l.bankruptcies) || !r.get(l.largest_cascade) || !r.get(origin) || !r.get(l.book_notional) ||
            !r.get(l.fees) || !r.get(l.backstop_notional) || !r.get(l.deleverage_notional) ||
            !r.get(l.bankruptcy_loss) || !r.get(l.max_depth))
          return fail("bad liquidation totals record");
        l.largest_cascade_origin = origin;
        break;
      }
      case snap::kMarginTotals:
        if (!m.margin.restore_totals(r)) return fail("bad margin totals record");
        break;
      case snap::kInstrument: {
        InstrumentId id = 0;
        auto d = wire::make<wire::InstrumentDefinition>();
        if (!r.get(id) || !r.raw(&d, sizeof d) || id >= c.max_instruments || d.instrument != id ||
            m.instruments[id].defined)
          return fail("bad instrument record");
        // The checks of on_instrument, so that the book below is addressable.
        if (d.tick_size <= 0 || d.min_price <= 0 || d.min_price > d.max_price || d.min_price % d.tick_size != 0 ||
            d.max_price % d.tick_size != 0 || (d.max_price - d.min_price) / d.tick_size + 1 > c.max_levels_per_book ||
            !MarginEngine::valid_definition(d))
          return fail("instrument record with an invalid definition");
        const auto levels = static_cast<std::uint32_t>((d.max_price - d.min_price) / d.tick_size + 1);
        Instrument& ins = m.instruments[id];
        if (!m.margin.define(d) || !ins.book.init(id, d.min_price, d.tick_size, levels, &m.pool, &m.tracker) ||
            !ins.stops.init(d.min_price, d.tick_size, levels, &m.pool) ||
            !m.mark_stops[id].init(d.min_price, d.tick_size, levels, &m.pool))
          return fail("out of memory for an instrument's book");
        if (c.prefault) {
          ins.book.commit();
          ins.stops.commit();
          m.mark_stops[id].commit();
        }
        ins.def = d;
        ins.defined = true;
        CircuitBreakerState::Saved b{};
        if (!r.get(ins.last) || !r.get(ins.index) || !m.margin.restore_instrument(id, r) || !r.get(b.window) ||
            !r.get(b.anchor) || !r.get(b.until) || !r.get(b.window_state) || !r.get(b.paused) || b.window_state > 2 ||
            b.paused > 1)
          return fail("bad instrument record");
        ins.breaker.restore(b);
        if (b.paused) ++m.paused_count;
        break;
      }
      case snap::kAccount: {
        AccountId a = 0;
        Money balance = 0;
        std::uint8_t flags = 0;
        if (!r.get(a) || !r.get(balance) || !r.get(flags) || a >= c.max_accounts || (flags & ~kSavedAccountFlags))
          return fail("bad account record");
        m.accounts[a].balance = balance;
        m.accounts[a].flags = flags;
        if (flags & account_flags::kBackstop) m.set_backstop(a, true);
        break;
      }
      case snap::kPosition:
        if (!m.margin.restore_position(r)) return fail("bad position record (or no room for it)");
        break;
      case snap::kOrder: {
        OrderNode n{};
        if (!r.get(n.instrument) || !r.get(n.id) || !r.get(n.account) || !r.get(n.side) || !r.get(n.type) ||
            !r.get(n.tif) || !r.get(n.flags) || !r.get(n.stp) || !r.get(n.state) || !r.get(n.price) ||
            !r.get(n.qty) || !r.get(n.trigger))
          return fail("bad order record");
        Instrument* ins = m.defined(n.instrument);
        const bool stop = n.state == OrderState::Stop;
        if (!ins || n.account >= c.max_accounts || n.id == 0 || !valid_side(n.side) ||
            (n.state != OrderState::Resting && !stop) || stop != is_stop(n.type) || n.qty <= 0 ||
            (n.flags & ~order_flags::kAll) ||
            m.index.find(n.id) != kNilOrder)
          return fail("bad order record");
        const Price at = stop ? n.trigger : n.price;
        if (!ins->on_tick(at) || !ins->in_range(at)) return fail("order record off its book");
        const PosIdx pos = m.margin.find(n.account, n.instrument);
        if (pos == kNilPos) return fail("order record without its position record");
        const OrderIdx o = m.pool.alloc();
        if (o == kNilOrder) return fail("more orders than max_orders");
        m.pool[o] = n;
        m.index.insert(n.id, o);
        if (stop) m.link_stop(*ins, o); else ins->book.push_back(o);
        ++ins->live;
        m.margin.add_order(pos, MarginEngine::terms(m.pool[o]));
        ++orders;
        break;
      }
      case snap::kAccountOrders: {
        AccountId a = 0;
        std::uint32_t n = 0;
        if (!r.get(a) || !r.get(n) || a >= c.max_accounts || m.accounts[a].head != kNilOrder)
          return fail("bad account orders record");
        for (std::uint32_t k = 0; k < n; ++k) {
          OrderId id = 0;
          const OrderIdx o = r.get(id) ? m.index.find(id) : kNilOrder;
          if (o == kNilOrder || m.pool[o].account != a) return fail("bad account orders record");
          m.accounts.push_back(a, o);
          ++linked;
        }
        break;
      }
      case snap::kEnd:
        break;
      default:
        break;  // a record a later version added: not needed to run
    }
    if (!r.ok()) return fail("truncated record");
  }
  if (!records.ok()) return fail("truncated snapshot");
  if (linked != orders) return fail("orders missing from their accounts' lists");

  // Forget the market data bookkeeping of the orders just put back, certify every watch.
  for (std::uint32_t k = 0; k < m.tracker.size(); ++k) {
    const std::uint64_t key = m.tracker[k].key;
    m.instruments[key >> 32].book.end_event_level(static_cast<std::uint32_t>(key));
  }
  m.tracker.clear();
  for (Instrument& ins : m.instruments)
    if (ins.defined) ins.book.end_event();
  for (AccountId a = 0; a < c.max_accounts; ++a) m.margin.rearm(a);
  m.margin.finish_restore();
  return true;
}

}  // namespace cascade
