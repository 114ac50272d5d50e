// The scenario generator (docs/scenarios.md). One pass over time in ticks of tick_ms: market
// makers requote around the index, the index moves, traders open positions against funds
// (and place stop-losses), takers send IOC orders, funding is paid on the hour. Every event
// goes through a private Engine at once, so the generator sees fills and cancels of its market
// makers' orders and counts any reject (apart: orders a circuit breaker's pause refused).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "cascade/engine.hpp"
#include "cascade/event_buffer.hpp"
#include "cascade/event_reader.hpp"
#include "cascade/wire.hpp"
#include "scenario/scenario.hpp"

namespace cascade::scenario {

Params preset(Kind kind) {
  Params p;
  p.kind = kind;
  // Under full stress the large cap's quotes widen 21 times and the thin books' to several
  // percent a side: a crash's spreads go from single basis points to double-digit percent.
  //            symbol           price     pd qd tick beta  lev  bracket  weight level_usd  stress_half
  p.instruments = {
      {"BTC-PERP", 116'605.0, 1, 4, 10, 1.0, 125, 50'000, 0.40, 3'000'000, 0.0042},
      {"SOL-PERP", 220.0, 3, 2, 10, 2.2, 50, 20'000, 0.25, 600'000, 0.01},
      {"DOGE-PERP", 0.25, 5, 0, 1, 4.0, 20, 5'000, 0.13, 60'000, 0.04},
      {"WIF-PERP", 0.706, 4, 0, 1, 6.3, 20, 5'000, 0.12, 30'000, 0.08},
      {"1000PEPE-PERP", 0.00927, 6, 0, 1, 3.5, 20, 5'000, 0.10, 30'000, 0.05},
  };
  switch (kind) {
    case Kind::Crash:
      break;
    case Kind::Calm:
      p.shape.drop = 0;
      p.shape.pump = 0;
      p.shape.noise = 0.0002;
      p.shape.drop_start_ms = p.shape.duration_ms / 2;
      // 5x: a liquidation needs a move of about 15% against the position, twice the widest
      // swing of the memes' calm noise over the day (10x liquidated a few hundred WIF
      // traders in a million).
      p.leverage_cap = 5;
      p.long_share = 0.5;
      p.mm_pull = 0;
      p.late_share = 0.3;
      break;
    case Kind::Squeeze:
      p.shape.drop = -0.10;  // up 10%, memes up to +63%
      p.long_share = 0.3;
      break;
  }
  return p;
}

bool parse_kind(const std::string& name, Kind& out) {
  if (name == "crash") out = Kind::Crash;
  else if (name == "calm") out = Kind::Calm;
  else if (name == "squeeze") out = Kind::Squeeze;
  else return false;
  return true;
}

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::Crash: return "crash";
    case Kind::Calm: return "calm";
    case Kind::Squeeze: return "squeeze";
  }
  return "?";
}

namespace {

constexpr std::uint32_t kMaxAccounts = 1u << 20;  // EngineConfig's default: replay uses it
constexpr int kTiers = 8;
constexpr OrderId kMmBit = OrderId{1} << 62;      // market-maker order ids carry their slot
constexpr double kMicros = 1e6;

double pow10(int e) { return std::pow(10.0, e); }

// One instrument while generating: its definition in numbers and its market maker's ladder.
struct Inst {
  InstrumentSpec spec;
  IndexPath path;
  double units_per_quote = 0;  // price units per quote unit
  double micros_per_pq = 0;    // value in micros of one price unit times one quantity unit
  Price min_price = 0, max_price = 0;
  Qty max_qty = 0;
  double imr[kTiers] = {}, cap_usd[kTiers] = {};
  double move = 0;             // |relative move| at the path's extreme, for the stress measure
  double run_max = 0, run_min = 0;  // recent extremes, decaying towards the price (stress)
  double ema = 0;                   // ~30 s average of the price (momentum of the taker flow)
  double base_qty = 0;              // market-maker quantity per level at calm
  Price last_index = 0;
  double last_iu = 0;
  AccountId mm = 0;
  AccountId fund_base = 0;
  std::uint32_t funds = 0;
  std::uint64_t pauses = 0;    // circuit-breaker pauses
};

struct MmOrder {
  OrderId id = 0;  // 0: not live
  Price price = 0;
  Qty qty = 0;     // open quantity
  std::uint32_t gen = 0;
};

struct Trader {
  std::int64_t open_ms;
  Money deposit;
  float leverage;
  std::uint8_t inst;
  bool is_long;
  bool stop;
  std::uint32_t index;  // account = trader_base + index
};

Price floor_tick(double units, Price tick) { return static_cast<Price>(std::floor(units / static_cast<double>(tick))) * tick; }
Price ceil_tick(double units, Price tick) { return static_cast<Price>(std::ceil(units / static_cast<double>(tick))) * tick; }
Price round_tick(double units, Price tick) { return static_cast<Price>(std::llround(units / static_cast<double>(tick))) * tick; }

class Generator {
 public:
  Generator(const Params& p, const Sink& sink, Summary& s) : p_(p), sink_(sink), sum_(s), rng_(p.seed) {}

  bool run(std::string& error);

 private:
  // --- emitting ---
  template <class T>
  void emit(T m) {
    m.header.seq = ++seq_;
    m.header.ts_ns = (ts_ += kStepNs);
    chunk_.append(m);
    out_.clear();
    engine_.process(m, out_);
    scan();
    ++sum_.events;
    if (chunk_.size() >= (1u << 20)) flush();
  }
  void flush() {
    if (chunk_.empty()) return;
    sum_.bytes += chunk_.size();
    sink_(chunk_.bytes());
    chunk_.clear();
  }
  void scan();

  // --- building blocks ---
  bool setup_instruments(std::string& error);
  void define(std::uint32_t id, Inst& in);
  void deposit(AccountId a, Money amount) {
    auto d = wire::make<wire::Deposit>();
    d.account = a;
    d.amount = amount;
    d.transfer_id = ++transfers_;
    emit(d);
  }
  void order(AccountId a, std::uint32_t inst, Side side, Price price, Qty qty, TimeInForce tif, OrderId id = 0) {
    auto o = wire::make<wire::NewOrder>();
    o.order_id = id ? id : ++ids_;
    o.account = a;
    o.instrument = inst;
    o.side = side;
    o.order_type = OrderType::Limit;
    o.tif = tif;
    o.price = price;
    o.qty = qty;
    emit(o);
  }
  void plan_traders();
  void open_position(const Trader& t);
  void requote(std::uint32_t j, double iu, double stress);
  void tick_index(std::uint32_t j, double iu);
  void taker(double stress);
  double stress(const Inst& in, double price) const;
  // Book depth and taker sizes grow with the traders (level_usd is for 100,000), so the
  // share of liquidations the books absorb does not depend on the scenario's size.
  double depth_scale() const { return std::max(0.05, p_.accounts / 100'000.0); }

  static constexpr Timestamp kStepNs = 50;

  const Params& p_;
  const Sink& sink_;
  Summary& sum_;
  Rng rng_;
  Engine engine_;
  EventBuffer out_{1 << 20};
  EventBuffer chunk_{2 << 20};
  SeqNo seq_ = 0;
  Timestamp ts_ = 0;
  OrderId ids_ = 0;
  std::uint64_t transfers_ = 0;
  std::vector<Inst> inst_;
  std::vector<MmOrder> mm_;  // [inst][side][level]
  std::vector<Trader> traders_;
  std::vector<Money> fund_deposit_;
  AccountId backstop_ = 1, mm_base_ = 2, taker_base_ = 0, trader_base_ = 0;
  std::int64_t early_end_ms_ = 0, late_start_ms_ = 0, duration_ms_ = 0, extreme_ms_ = 0;
  double taker_credit_ = 0;
  bool last_rejected_ = false;
};

void Generator::scan() {
  last_rejected_ = false;
  EventReader r(out_.bytes());
  for (EventView ev; r.next(ev);) {
    switch (ev.type()) {
      case wire::MsgType::Fill: {
        const auto& f = ev.as<wire::Fill>();
        if (f.maker_order_id & kMmBit) {
          MmOrder& o = mm_[f.maker_order_id & 0xFFFF];
          if (o.id == f.maker_order_id) {
            o.qty = f.maker_leaves;
            if (o.qty == 0) o.id = 0;
          }
        }
        break;
      }
      case wire::MsgType::OrderCancelled: {
        const auto& c = ev.as<wire::OrderCancelled>();
        if (c.order_id & kMmBit) {
          MmOrder& o = mm_[c.order_id & 0xFFFF];
          if (o.id == c.order_id) o.id = 0;
        }
        break;
      }
      case wire::MsgType::Rejected: {
        const auto& x = ev.as<wire::Rejected>();
        last_rejected_ = true;
        // Takers and traders keep sending into a pause, as real ones do; the venue refuses them.
        const bool taker_or_trader = x.account >= trader_base_ || (x.account >= taker_base_ && x.account < inst_[0].fund_base);
        if (x.reason == wire::RejectReason::InstrumentPaused && taker_or_trader) {
          ++sum_.paused_rejects;
          break;
        }
        ++sum_.rejects;
        if (sum_.first_reject.empty()) {
          const char* who = x.account == backstop_ ? "backstop" : x.account < taker_base_ ? "market maker"
                            : x.account < inst_[0].fund_base ? "taker" : x.account < trader_base_ ? "fund" : "trader";
          sum_.first_reject = std::string(wire::type_name(x.input_type)) + " of a " + who + " (account " +
                              std::to_string(x.account) + "), reason " + std::to_string(static_cast<int>(x.reason));
        }
        if (x.id & kMmBit) {
          MmOrder& o = mm_[x.id & 0xFFFF];
          if (o.id == x.id) o.id = 0;
        }
        break;
      }
      case wire::MsgType::Liquidation:
        if (ev.as<wire::Liquidation>().stage == wire::LiquidationStage::Triggered) ++sum_.liquidations;
        break;
      case wire::MsgType::CircuitBreaker: {
        const auto& c = ev.as<wire::CircuitBreaker>();
        if (c.paused) ++sum_.pauses, ++inst_[c.instrument].pauses;
        break;
      }
      default:
        break;
    }
  }
}

bool Generator::setup_instruments(std::string& error) {
  if (p_.instruments.empty() || p_.instruments.size() > 64) {
    error = "between 1 and 64 instruments";
    return false;
  }
  IndexPath base;
  std::int64_t epoch_ms = p_.start_ns / 1'000'000;
  if (!p_.index_klines.empty()) {
    if (!load_binance_klines(p_.index_klines, base, epoch_ms, error)) return false;
  } else if (!p_.index_csv.empty()) {
    if (!load_price_csv(p_.index_csv, base, epoch_ms, error)) return false;
  } else {
    base = synthetic_path(p_.shape, p_.instruments[0].price, 1.0, rng_.fork(1));
  }
  sum_.start_ns = epoch_ms * 1'000'000;
  duration_ms_ = base.duration_ms();
  if (duration_ms_ < 60'000) {
    error = "the index path must span at least a minute";
    return false;
  }
  // The move's start: the highest (crash) or lowest (squeeze) price before the extreme.
  const PricePoint lo = base.low(), hi = base.high();
  const bool up = p_.kind == Kind::Squeeze;
  const PricePoint extreme = up ? hi : lo;
  PricePoint start = base.points().front();
  for (const PricePoint& pt : base.points()) {
    if (pt.t_ms > extreme.t_ms) break;
    if (up ? pt.price < start.price : pt.price > start.price) start = pt;
  }
  const double base_move = std::abs(extreme.price / start.price - 1.0);
  extreme_ms_ = extreme.t_ms;
  if (p_.index_klines.empty() && p_.index_csv.empty()) {
    late_start_ms_ = p_.shape.drop_start_ms;
    early_end_ms_ = std::max<std::int64_t>(60'000, p_.shape.drop_start_ms - 5 * 60'000);
  } else {
    late_start_ms_ = std::max(start.t_ms, duration_ms_ / 10);
    early_end_ms_ = late_start_ms_;
  }
  const double start_price = base.first();
  for (std::size_t j = 0; j < p_.instruments.size(); ++j) {
    Inst in;
    in.spec = p_.instruments[j];
    if (j == 0) in.spec.price = start_price;
    const InstrumentSpec& s = in.spec;
    if (s.price <= 0 || s.price_decimals < 0 || s.price_decimals > 9 || s.qty_decimals < 0 || s.qty_decimals > 9 ||
        s.tick <= 0 || s.max_leverage < 1 || s.beta <= 0 || s.symbol.size() > 15) {
      error = "invalid instrument " + s.symbol;
      return false;
    }
    in.path = j == 0 ? base : follow_path(base, s.price, s.beta, p_.shape.noise, rng_.fork(100 + j));
    in.units_per_quote = pow10(s.price_decimals);
    in.micros_per_pq = pow10(6 - s.price_decimals - s.qty_decimals);
    const double p0 = s.price * in.units_per_quote;
    in.min_price = std::max(s.tick, floor_tick(p0 * 0.01, s.tick));
    in.max_price = ceil_tick(p0 * 3.0, s.tick);
    if ((in.max_price - in.min_price) / s.tick + 1 > static_cast<Price>(EngineConfig{}.max_levels_per_book)) {
      error = s.symbol + ": too many price levels for the engine's default book; raise the tick";
      return false;
    }
    in.max_qty = 1'000'000'000'000;
    double imr0 = 1.0 / s.max_leverage;
    for (int k = 0; k < kTiers; ++k) {
      in.imr[k] = k + 1 == kTiers ? 1.0 : std::min(0.5, imr0 * std::pow(2.0, k));
      in.cap_usd[k] = k + 1 == kTiers ? 1e11 : s.first_bracket * std::pow(5.0, k);
    }
    in.move = std::max(0.02, std::min(0.98, base_move * s.beta));
    inst_.push_back(std::move(in));
  }
  return true;
}

void Generator::define(std::uint32_t id, Inst& in) {
  const InstrumentSpec& s = in.spec;
  auto d = wire::make<wire::InstrumentDefinition>();
  d.instrument = id;
  d.price_decimals = static_cast<std::uint8_t>(s.price_decimals);
  d.qty_decimals = static_cast<std::uint8_t>(s.qty_decimals);
  std::memcpy(d.symbol, s.symbol.data(), s.symbol.size());
  d.tick_size = s.tick;
  d.lot_size = 1;
  d.min_price = in.min_price;
  d.max_price = in.max_price;
  d.max_order_qty = in.max_qty;
  d.reference_price = round_tick(s.price * in.units_per_quote, s.tick);
  d.market_band = s.beta > 3 ? 15'000'000 : 5'000'000;
  d.maker_fee = 20'000;       // 0.02%
  d.taker_fee = 50'000;       // 0.05%
  d.liquidation_fee = 1'000'000;  // 1%
  d.mark_band = 1'000'000;    // the mark stays within 1% of the index
  if (p_.circuit_band > 0) {
    d.circuit_band = static_cast<Rate>(std::llround(p_.circuit_band * kRateOne));
    d.circuit_window_ms = p_.circuit_window_ms;
    d.circuit_pause_ms = p_.circuit_pause_ms;
  }
  d.tier_count = kTiers;
  Money maint = 0;
  Rate prev_mmr = 0;
  for (int k = 0; k < kTiers; ++k) {
    const Rate imr = static_cast<Rate>(std::llround(in.imr[k] * kRateOne));
    const Rate mmr = imr / 2;
    const Money cap = static_cast<Money>(in.cap_usd[k] * kMicros);
    if (k > 0) maint += static_cast<Money>(static_cast<__int128>(d.tiers[k - 1].max_notional) * (mmr - prev_mmr) / kRateOne);
    d.tiers[k] = {cap, imr, mmr, maint};
    prev_mmr = mmr;
  }
  emit(d);
}

void Generator::plan_traders() {
  Rng r = rng_.fork(2);
  double total_weight = 0;
  for (const Inst& in : inst_) total_weight += in.spec.weight;
  traders_.resize(p_.accounts);
  const std::int64_t late_end = std::max(late_start_ms_ + 1, duration_ms_ * 97 / 100);
  for (std::uint32_t i = 0; i < p_.accounts; ++i) {
    Trader& t = traders_[i];
    t.index = i;
    double w = r.uniform() * total_weight;
    std::uint8_t j = 0;
    while (j + 1u < inst_.size() && w >= inst_[j].spec.weight) w -= inst_[j++].spec.weight;
    t.inst = j;
    const bool late = r.chance(p_.late_share);
    // Late traders: half chase the move in its last five minutes (against the rebound to come),
    // half arrive at any time after it started.
    const bool chaser = late && r.chance(0.5) && extreme_ms_ > late_start_ms_;
    t.is_long = chaser ? p_.kind == Kind::Squeeze : late ? r.chance(0.5) : r.chance(p_.long_share);
    const std::int64_t chase_from = std::max(late_start_ms_, extreme_ms_ - 5 * 60'000);
    t.open_ms = chaser ? chase_from + static_cast<std::int64_t>(r.below(static_cast<std::uint64_t>(extreme_ms_ - chase_from + 1)))
                : late ? late_start_ms_ + static_cast<std::int64_t>(r.below(static_cast<std::uint64_t>(late_end - late_start_ms_)))
                       : static_cast<std::int64_t>(r.below(static_cast<std::uint64_t>(early_end_ms_)));
    t.deposit = static_cast<Money>(r.log_uniform(p_.min_deposit, p_.max_deposit) * kMicros);
    double max_lev = inst_[j].spec.max_leverage;
    if (p_.leverage_cap > 0) max_lev = std::min(max_lev, p_.leverage_cap);
    // Heavy at high leverage: the median trader uses max^(0.5^(1/skew)).
    t.leverage = static_cast<float>(std::pow(max_lev, std::pow(r.uniform(), 1.0 / p_.leverage_skew)));
    t.stop = r.chance(p_.stop_share);
  }
  std::stable_sort(traders_.begin(), traders_.end(), [](const Trader& a, const Trader& b) { return a.open_ms < b.open_ms; });
  // Each fund takes the other side of its traders; 1x leverage on the worst case so a fund is
  // never liquidated, whatever the path does.
  for (const Trader& t : traders_) {
    const Inst& in = inst_[t.inst];
    const std::uint32_t f = in.fund_base - inst_[0].fund_base + t.index % in.funds;
    fund_deposit_[f] += static_cast<Money>(static_cast<double>(t.deposit) * t.leverage * 3.0);
  }
}

double Generator::stress(const Inst& in, double price) const {
  // A calm day has no move to measure against: its noise is not a crash.
  if (p_.kind == Kind::Calm) return 0.0;
  const double d = std::max(1.0 - price / in.run_max, price / in.run_min - 1.0);
  return std::min(1.0, d / (0.25 * in.move));
}

void Generator::open_position(const Trader& t) {
  Inst& in = inst_[t.inst];
  const std::uint32_t j = t.inst;
  const Price p = round_tick(in.last_iu, in.spec.tick);
  // The largest leverage the brackets allow for this notional, with a 10% margin.
  double lev = t.leverage;
  const double dep_usd = static_cast<double>(t.deposit) / kMicros;
  for (int k = 0; k < kTiers; ++k) {
    if (dep_usd * lev > in.cap_usd[k]) continue;
    if (lev * in.imr[k] > 0.9) lev = 0.9 / in.imr[k];
    if (dep_usd * lev <= in.cap_usd[k]) break;
  }
  const Qty q = static_cast<Qty>(static_cast<double>(t.deposit) * lev / (static_cast<double>(p) * in.micros_per_pq));
  if (q < 1) return;
  const AccountId a = trader_base_ + t.index;
  const AccountId fund = in.fund_base + t.index % in.funds;
  const Side side = t.is_long ? Side::Buy : Side::Sell;
  const OrderId fund_order = ++ids_;
  order(fund, j, opposite(side), p, q, TimeInForce::GTC, fund_order);
  order(a, j, side, p, q, TimeInForce::IOC);
  if (last_rejected_) {
    auto c = wire::make<wire::CancelOrder>();
    c.order_id = fund_order;
    c.account = fund;
    c.instrument = j;
    emit(c);
    return;
  }
  ++sum_.positions_opened;
  if (!t.stop) return;
  // A stop-loss halfway to the liquidation price.
  const double dist = 0.5 * (1.0 / lev);
  const double trig = static_cast<double>(p) * (t.is_long ? 1.0 - dist : 1.0 + dist);
  const Price trigger = t.is_long ? floor_tick(trig, in.spec.tick) : ceil_tick(trig, in.spec.tick);
  if (trigger <= in.min_price || trigger >= in.max_price || trigger == p) return;
  auto o = wire::make<wire::NewOrder>();
  o.order_id = ++ids_;
  o.account = a;
  o.instrument = j;
  o.side = opposite(side);
  o.order_type = OrderType::StopMarket;
  o.tif = TimeInForce::IOC;
  o.flags = order_flags::kReduceOnly;
  o.trigger_price = trigger;
  o.qty = q;
  emit(o);
  ++sum_.stops;
}

void Generator::requote(std::uint32_t j, double iu, double st) {
  Inst& in = inst_[j];
  const Price tick = in.spec.tick;
  // Quotes widen with the square of the stress beyond 0.4, up to 1 + kWiden times: the noise
  // before a move (stress about 0.24, at most 0.4) leaves them alone. A thin book's widen
  // further, to its stress_half, only near full stress (the fourth power): the wick, not the
  // whole day.
  constexpr double kWiden = 20.0;
  const double w = std::max(0.0, st - 0.4) / 0.6;
  const double widest = p_.mm_spread * (1.0 + kWiden);
  const double thin = std::max(0.0, in.spec.stress_half - widest) * (st * st) * (st * st);
  const double half = std::max((p_.mm_spread * (1.0 + kWiden * w * w) + thin) * iu, 2.0 * static_cast<double>(tick));
  const double step = std::max(p_.mm_step * iu, static_cast<double>(tick));
  // Depth in steps of 5%, so a quiet market does not rewrite every level every tick.
  const double keep = std::round((1.0 - p_.mm_pull * st) * 20.0) / 20.0;
  const double base_qty = in.base_qty;
  const bool rising = iu >= in.last_iu;
  const std::uint32_t L = p_.mm_levels;
  for (int pass = 0; pass < 2; ++pass) {
    // Moving up: asks first; moving down: bids first. The ladder never crosses itself.
    const Side side = (pass == 0) == rising ? Side::Sell : Side::Buy;
    for (std::uint32_t k = 0; k < L; ++k) {
      const double off = half + step * k;
      Price px = side == Side::Buy ? floor_tick(iu - off, tick) : ceil_tick(iu + off, tick);
      px = std::clamp(px, in.min_price, in.max_price);
      const double f = k < L / 2 ? keep : std::sqrt(keep);  // near levels are pulled hardest
      const Qty qty = std::max<Qty>(1, static_cast<Qty>(base_qty * f * (1.0 + 0.15 * k)));
      const std::uint32_t slot = (j * 2 + (side == Side::Sell)) * L + k;
      MmOrder& o = mm_[slot];
      if (o.id != 0) {
        // A lazy market maker: a level moves when it drifted a quarter of its spacing.
        const double tol = std::max(static_cast<double>(tick), 0.25 * (k == 0 ? half : step));
        if (std::abs(static_cast<double>(o.price - px)) < tol) px = o.price;
        if (o.price == px && o.qty == qty) continue;
        auto m = wire::make<wire::ModifyOrder>();
        m.order_id = o.id;
        m.account = in.mm;
        m.instrument = j;
        m.new_price = px;
        m.new_qty = qty;
        o.price = px;
        o.qty = qty;
        emit(m);  // scan() clears o.id if it traded away or was refused
      } else {
        o.id = kMmBit | (OrderId{++o.gen} << 16) | slot;
        o.price = px;
        o.qty = qty;
        order(in.mm, j, side, px, qty, TimeInForce::GTC, o.id);
      }
      ++sum_.mm_updates;
    }
  }
}

void Generator::tick_index(std::uint32_t j, double iu) {
  Inst& in = inst_[j];
  const Price px = std::clamp(round_tick(iu, 1), in.min_price, in.max_price);
  in.last_iu = iu;
  if (px == in.last_index) return;
  in.last_index = px;
  auto x = wire::make<wire::IndexPrice>();
  x.instrument = j;
  x.price = px;
  emit(x);
  ++sum_.index_ticks;
}

void Generator::taker(double st) {
  double total_weight = 0;
  for (const Inst& in : inst_) total_weight += in.spec.weight;
  double w = rng_.uniform() * total_weight;
  std::uint32_t j = 0;
  while (j + 1 < inst_.size() && w >= inst_[j].spec.weight) w -= inst_[j++].spec.weight;
  const Inst& in = inst_[j];
  // The flow leans with the last half minute's move: sellers into a fall, buyers into a rise.
  const double iu = in.last_iu;
  const double momentum = std::clamp((iu / in.ema - 1.0) / 0.005, -1.0, 1.0);
  const bool sell = rng_.chance(0.5 - 0.25 * momentum * std::max(st, 0.2));
  const Price px = std::clamp(sell ? floor_tick(iu * 0.99, in.spec.tick) : ceil_tick(iu * 1.01, in.spec.tick), in.min_price,
                              in.max_price);
  const double usd = in.spec.level_usd * depth_scale() * rng_.log_uniform(0.01, 0.3);
  const Qty q = std::max<Qty>(1, static_cast<Qty>(usd * kMicros / (iu * in.micros_per_pq)));
  order(taker_base_ + static_cast<AccountId>(rng_.below(p_.takers)), j, sell ? Side::Sell : Side::Buy, px, q,
        TimeInForce::IOC);
  ++sum_.taker_orders;
}

bool Generator::run(std::string& error) {
  if (p_.accounts == 0 || p_.mm_levels == 0 || p_.mm_levels > 512 || p_.takers == 0 || p_.tick_ms <= 0) {
    error = "accounts, market-maker levels (1..512), takers and the tick must be positive";
    return false;
  }
  if (!(p_.circuit_band >= 0 && p_.circuit_band <= 1) || (p_.circuit_band > 0 && p_.circuit_window_ms == 0)) {
    error = "the circuit breaker's band must be in [0, 100%] and, when on, its window positive";
    return false;
  }
  if (!setup_instruments(error)) return false;
  const auto n = static_cast<std::uint32_t>(inst_.size());
  // Accounts: 1 backstop, then one market maker per instrument, takers, funds, traders.
  std::uint32_t next = mm_base_ + n;
  taker_base_ = next;
  next += p_.takers;
  for (Inst& in : inst_) {
    in.mm = mm_base_ + static_cast<AccountId>(&in - inst_.data());
    in.funds = std::max<std::uint32_t>(4, static_cast<std::uint32_t>(p_.accounts * in.spec.weight / 2000));
    in.fund_base = next;
    next += in.funds;
  }
  trader_base_ = next;
  if (static_cast<std::uint64_t>(next) + p_.accounts > kMaxAccounts) {
    error = "too many accounts: at most " + std::to_string(kMaxAccounts - next) + " traders fit the engine's default capacity";
    return false;
  }
  sum_.total_accounts = next + p_.accounts;
  fund_deposit_.assign(next - inst_[0].fund_base, 1'000'000 * static_cast<Money>(kMicros));
  mm_.assign(static_cast<std::size_t>(n) * 2 * p_.mm_levels, MmOrder{});
  plan_traders();

  // Setup, in the ten seconds before the start: instruments, accounts, the first book.
  ts_ = sum_.start_ns - 10'000'000'000;
  for (std::uint32_t j = 0; j < n; ++j) define(j, inst_[j]);
  auto role = wire::make<wire::AccountSettings>();
  role.account = backstop_;
  role.instrument = kAllInstruments;
  role.role = wire::AccountRole::Backstop;
  emit(role);
  const double backstop_usd = p_.backstop_usd > 0 ? p_.backstop_usd : 50.0 * p_.accounts;
  deposit(backstop_, static_cast<Money>(backstop_usd * kMicros));
  for (const Inst& in : inst_) deposit(in.mm, static_cast<Money>(1e10 * depth_scale() * kMicros));
  for (std::uint32_t k = 0; k < p_.takers; ++k) deposit(taker_base_ + k, static_cast<Money>(1e9 * depth_scale() * kMicros));
  for (std::size_t f = 0; f < fund_deposit_.size(); ++f) deposit(inst_[0].fund_base + static_cast<AccountId>(f), fund_deposit_[f]);
  {
    std::vector<Money> by_index(p_.accounts);
    for (const Trader& t : traders_) by_index[t.index] = t.deposit;
    for (std::uint32_t i = 0; i < p_.accounts; ++i) deposit(trader_base_ + i, by_index[i]);
  }
  for (std::uint32_t j = 0; j < n; ++j) {
    Inst& in = inst_[j];
    const double iu = in.path.first() * in.units_per_quote;
    in.run_max = in.run_min = in.ema = iu;
    in.last_iu = iu;
    in.base_qty = in.spec.level_usd * depth_scale() * kMicros / (iu * in.micros_per_pq);
    tick_index(j, iu);
    requote(j, iu, 0.0);
  }

  // The day.
  std::size_t next_trader = 0;
  const std::int64_t epoch_ms = sum_.start_ns / 1'000'000;
  const bool crashing = p_.kind != Kind::Squeeze;
  for (std::int64_t t = 0; t <= duration_ms_; t += p_.tick_ms) {
    ts_ = std::max(ts_, sum_.start_ns + t * 1'000'000);
    double max_stress = 0;
    for (std::uint32_t j = 0; j < n; ++j) {
      Inst& in = inst_[j];
      const double iu = in.path.at(t) * in.units_per_quote;
      // Extremes fade over ~20 minutes: depth returns once the market settles.
      const double fade = static_cast<double>(p_.tick_ms) / 1'200'000.0;
      in.run_max = std::max(iu, in.run_max - (in.run_max - iu) * fade);
      in.run_min = std::min(iu, in.run_min + (iu - in.run_min) * fade);
      in.ema += (iu - in.ema) * std::min(1.0, static_cast<double>(p_.tick_ms) / 30'000.0);
      const double st = stress(in, iu);
      max_stress = std::max(max_stress, st);
      requote(j, iu, st);  // market makers lead the index: liquidations meet the pulled book
      tick_index(j, iu);
    }
    // At each funding boundary the tick crosses (a CSV path may start off the tick grid).
    if (t > 0 && (epoch_ms + t) / p_.funding_interval_ms != (epoch_ms + t - p_.tick_ms) / p_.funding_interval_ms) {
      for (std::uint32_t j = 0; j < n; ++j) {
        auto fr = wire::make<wire::FundingRate>();
        fr.instrument = j;
        // Under stress the perps trade below the index in a crash (shorts pay) and above it
        // in a squeeze; a calm day keeps its rate.
        const double rate = p_.kind == Kind::Calm || t < late_start_ms_ ? p_.funding_rate
                                                                        : (crashing ? -2.0 : 2.0) * p_.funding_rate;
        fr.rate = static_cast<Rate>(std::llround(rate * kRateOne));
        emit(fr);
      }
    }
    while (next_trader < traders_.size() && traders_[next_trader].open_ms <= t) open_position(traders_[next_trader++]);
    taker_credit_ += p_.taker_rate * (1.0 + 9.0 * max_stress) * static_cast<double>(p_.tick_ms) / 1000.0;
    while (taker_credit_ >= 1.0) {
      taker(max_stress);
      taker_credit_ -= 1.0;
    }
  }
  flush();
  sum_.end_ns = ts_;
  for (const Inst& in : inst_) {
    InstrumentSummary is;
    is.symbol = in.spec.symbol;
    is.start = in.path.first();
    const PricePoint lo = in.path.low(), hi = in.path.high();
    is.low = lo.price;
    is.low_ms = lo.t_ms;
    is.high = hi.price;
    is.high_ms = hi.t_ms;
    is.end = in.path.points().back().price;
    is.pauses = in.pauses;
    sum_.instruments.push_back(is);
  }
  return true;
}

}  // namespace

bool generate(const Params& params, const Sink& sink, Summary& summary, std::string& error) {
  summary = Summary{};
  Generator g(params, sink, summary);
  return g.run(error);
}

}  // namespace cascade::scenario
