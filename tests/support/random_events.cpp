#include "support/random_events.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

namespace cascade::testing {

// =============================================================================================
// Builders
// =============================================================================================

namespace input {

wire::InstrumentDefinition instrument(InstrumentId id, Price tick, Qty lot, Price min_price, Price max_price,
                                      Qty max_order_qty) {
  auto m = wire::make<wire::InstrumentDefinition>();
  m.instrument = id;
  m.price_decimals = 2;
  m.qty_decimals = 3;
  m.symbol[0] = 'T';
  m.symbol[1] = static_cast<char>('0' + id % 10);
  m.tick_size = tick;
  m.lot_size = lot;
  m.min_price = min_price;
  m.max_price = max_price;
  m.max_order_qty = max_order_qty;
  return m;
}

wire::NewOrder new_order(const Order& o) {
  auto m = wire::make<wire::NewOrder>();
  m.order_id = o.id;
  m.client_order_id = o.client_order_id;
  m.account = o.account;
  m.instrument = o.instrument;
  m.price = o.price;
  m.qty = o.qty;
  m.trigger_price = o.trigger;
  m.side = o.side;
  m.order_type = o.type;
  m.tif = o.tif;
  m.flags = o.flags;
  m.stp = o.stp;
  return m;
}

wire::NewOrder limit(OrderId id, AccountId account, Side side, Price price, Qty qty, InstrumentId instrument) {
  return new_order({.id = id, .account = account, .instrument = instrument, .side = side, .price = price, .qty = qty});
}

wire::CancelOrder cancel(OrderId id, AccountId account, InstrumentId instrument) {
  auto m = wire::make<wire::CancelOrder>();
  m.order_id = id;
  m.account = account;
  m.instrument = instrument;
  return m;
}

wire::ModifyOrder modify(OrderId id, AccountId account, Price new_price, Qty new_qty, InstrumentId instrument) {
  auto m = wire::make<wire::ModifyOrder>();
  m.order_id = id;
  m.account = account;
  m.instrument = instrument;
  m.new_price = new_price;
  m.new_qty = new_qty;
  return m;
}

wire::MassCancel mass_cancel(AccountId account, InstrumentId instrument) {
  auto m = wire::make<wire::MassCancel>();
  m.account = account;
  m.instrument = instrument;
  return m;
}

wire::IndexPrice index_price(InstrumentId instrument, Price price) {
  auto m = wire::make<wire::IndexPrice>();
  m.instrument = instrument;
  m.price = price;
  return m;
}

wire::FundingRate funding_rate(InstrumentId instrument, Rate rate) {
  auto m = wire::make<wire::FundingRate>();
  m.instrument = instrument;
  m.rate = rate;
  return m;
}

wire::Deposit deposit(AccountId account, Money amount, std::uint64_t transfer_id) {
  auto m = wire::make<wire::Deposit>();
  m.account = account;
  m.amount = amount;
  m.transfer_id = transfer_id;
  return m;
}

wire::Withdrawal withdrawal(AccountId account, Money amount, std::uint64_t transfer_id) {
  auto m = wire::make<wire::Withdrawal>();
  m.account = account;
  m.amount = amount;
  m.transfer_id = transfer_id;
  return m;
}

wire::AccountSettings account_settings(AccountId account, InstrumentId instrument, std::uint8_t mode,
                                       std::uint8_t role) {
  auto m = wire::make<wire::AccountSettings>();
  m.account = account;
  m.instrument = instrument;
  m.margin_mode = static_cast<wire::MarginMode>(mode);
  m.role = static_cast<wire::AccountRole>(role);
  return m;
}

wire::Heartbeat heartbeat() { return wire::make<wire::Heartbeat>(); }

}  // namespace input

// =============================================================================================
// Generator
// =============================================================================================
//
// Every draw is its own statement: the order in which function arguments are evaluated is
// unspecified, and the stream must not depend on the compiler.

namespace {

constexpr Rate pct(int p) { return static_cast<Rate>(p) * 1'000'000; }

// Saturating conversion, so the generator's own arithmetic never overflows on extreme layouts.
std::int64_t saturate(__int128 v) {
  constexpr __int128 lo = std::numeric_limits<std::int64_t>::min();
  constexpr __int128 hi = std::numeric_limits<std::int64_t>::max();
  return static_cast<std::int64_t>(v < lo ? lo : v > hi ? hi : v);
}

// Tiers with the maintenance amounts docs/margin.md requires for a continuous MM:
// maint_k = maint_{k-1} + floor(max_notional_{k-1} * (mmr_k - mmr_{k-1}) / 1e8).
struct TierRow {
  Money max_notional;
  Rate imr;
  Rate mmr;
};
template <std::size_t N>
constexpr std::array<wire::MarginTier, 4> tiers(const TierRow (&rows)[N]) {
  std::array<wire::MarginTier, 4> t{};
  for (std::size_t k = 0; k < N; ++k) {
    t[k] = {rows[k].max_notional, rows[k].imr, rows[k].mmr, 0};
    if (k > 0) {
      const __int128 num = static_cast<__int128>(rows[k - 1].max_notional) * (rows[k].mmr - rows[k - 1].mmr);
      __int128 q = num / 100'000'000;
      if (num % 100'000'000 != 0 && num < 0) --q;
      t[k].maint_amount = t[k - 1].maint_amount + static_cast<Money>(q);
    }
  }
  return t;
}

constexpr Price kP58 = Price{1} << 58;
constexpr Qty kQ40 = Qty{1} << 40;

// Queue entry: the message bytes and whether its timestamp may be made to go backwards.
constexpr std::byte kForwardOnly{1};

}  // namespace

RandomEvents::RandomEvents(std::uint64_t seed, const GeneratorConfig& config)
    : rng_(seed), cfg_(config), ts_(config.start_ts) {
  // Small price ranges so levels collide and drain; each instrument has a second layout (wider
  // range, coarser tick, other lot and bands) it switches to in a regrid sequence.
  // Instrument 3 sits near zero with market bands above 100%, so ref - d is negative.
  static constexpr Grid kGrids[4][2] = {
      {{1, 1, 90, 110, 50, 100, pct(8), pct(3)}, {2, 1, 80, 120, 60, 100, pct(10), 0}},
      {{5, 10, 1000, 1200, 1000, 1100, 0, pct(1)}, {10, 5, 950, 1250, 1000, 1100, pct(6), pct(2)}},
      {{25, 100, 2500, 3500, 5000, 0, pct(10), 0}, {50, 50, 2000, 4000, 5000, 3000, pct(12), pct(5)}},
      {{1, 1, 2, 12, 20, 5, 0, pct(150)}, {2, 2, 2, 20, 40, 0, pct(100), pct(200)}},
  };
  // Extreme: 0: prices up to 30 * 2^58 with bands of 150% around 2^62 (ref + d > 2^63);
  // 1: quantities up to 2^60; 2: market band 1000% (ref - d far below zero);
  // 3: a reference price of 2^63 - 6 far above the range (every limit order out of band
  // until an index price or a trade replaces it).
  static constexpr Price kHuge = std::numeric_limits<Price>::max() - 5;
  static constexpr Grid kExtreme[4][2] = {
      {{kP58, kQ40, 2 * kP58, 30 * kP58, 64 * kQ40, 16 * kP58, pct(150), pct(200)},
       {2 * kP58, 2 * kQ40, 2 * kP58, 30 * kP58, 64 * kQ40, 16 * kP58, pct(40), 0}},
      {{3, kQ40, 3, 120, Qty{1} << 60, 60, pct(50), pct(20)}, {6, kQ40 * 4, 6, 120, Qty{1} << 60, 0, 0, pct(100)}},
      {{1, 1, 1, 8, 1000, 1, pct(500), pct(1000)}, {1, 3, 1, 8, 999, 4, pct(50), pct(2000)}},
      {{1, 1, 1, 100, 100, kHuge, pct(1), pct(50)}, {5, 1, 5, 100, 100, kHuge, pct(2000), pct(2000)}},
  };
  // Margin terms. Small layouts: instrument 0 trades about $1 per unit (m = 4), 1 about a cent
  // with m = -1 (value and fee rounding, tier boundaries whose maintenance amounts round),
  // 2 about $30 per unit with four brackets, 3 has one bracket and is unmargined in its second
  // layout. Extreme layouts: decimals with m < 0 keep every amount inside int64, and the
  // brackets cap positions so sizes stay inside int64 too.
  constexpr auto kT0 = tiers({{50'000'000, pct(10), pct(5)}, {200'000'000, pct(20), pct(10)}, {500'000'000, pct(50), pct(25)}});
  constexpr auto kT0b = tiers({{1'000'000'000, pct(25), 12'500'000}});
  constexpr auto kT1 = tiers({{123'457, pct(3), 1'500'000}, {1'000'003, pct(7), pct(3)}, {2'000'000, pct(15), pct(9)}});
  constexpr auto kT2 = tiers({{200'000'000, pct(5), 2'500'000},
                              {1'000'000'000, pct(10), pct(5)},
                              {4'000'000'000, pct(25), 12'500'000},
                              {10'000'000'000, pct(50), pct(30)}});
  constexpr auto kT3 = tiers({{1'000'000'000, pct(20), pct(10)}});
  constexpr auto kE0 = tiers({{1'000'000'000, pct(10), pct(5)}});
  constexpr auto kE1 = tiers({{300'000'000, pct(20), pct(10)}, {1'000'000'000, pct(50), pct(40)}});
  constexpr auto kE2 = tiers({{10'000'000'000, pct(100), pct(50)}});
  constexpr auto kE3 = tiers({{5'000'000'000, pct(100), pct(100)}, {std::numeric_limits<Money>::max(), pct(100), pct(100)}});
  auto spec = [](std::uint8_t pd, std::uint8_t qd, Rate maker, Rate taker, Rate mark_band, std::uint8_t count,
                 const std::array<wire::MarginTier, 4>& t) {
    MarginSpec m{pd, qd, maker, taker, mark_band, count, {}};
    for (int k = 0; k < 4; ++k) m.tiers[k] = t[k];
    return m;
  };
  const MarginSpec kSpecs[4][2] = {
      {spec(0, 2, -10'000, 50'000, pct(1), 3, kT0), spec(0, 2, -10'000, 60'000, 500'000, 1, kT0b)},
      {spec(4, 3, 20'000, 70'000, 0, 3, kT1), spec(4, 3, -25'000, 40'000, pct(3), 3, kT1)},
      {spec(1, 3, -25'000, 75'000, pct(5), 4, kT2), spec(1, 3, -25'000, 75'000, pct(2), 4, kT2)},
      {spec(0, 0, 0, 100'000, pct(50), 1, kT3), spec(0, 0, -10'000, 30'000, pct(50), 0, kT3)},
  };
  const MarginSpec kExtremeSpecs[4][2] = {
      {spec(18, 12, -10'000, 50'000, pct(100), 1, kE0), spec(18, 12, 0, 50'000, 0, 1, kE0)},
      {spec(6, 10, -20'000, 80'000, pct(100), 2, kE1), spec(6, 10, 0, 0, 1, 2, kE1)},
      {spec(0, 0, -pct(5), pct(6), 0, 0, kE2), spec(0, 0, -pct(100), pct(100), pct(1), 1, kE2)},
      {spec(0, 0, -pct(50), pct(60), 1, 2, kE3), spec(0, 0, 0, pct(1), pct(100), 2, kE3)},
  };
  const std::uint32_t n = std::min<std::uint32_t>(cfg_.instruments, 4);
  for (std::uint32_t i = 0; i < n; ++i) {
    Model m{};
    m.id = i;
    const bool extreme = cfg_.layouts == Layouts::Extreme;
    const auto& grids = extreme ? kExtreme[i] : kGrids[i];
    m.grids[0] = grids[0];
    m.grids[1] = grids[1];
    m.margins[0] = extreme ? kExtremeSpecs[i][0] : kSpecs[i][0];
    m.margins[1] = extreme ? kExtremeSpecs[i][1] : kSpecs[i][1];
    models_.push_back(m);
  }
  for (auto& m : models_) {
    m.mid = start_mid(m);
    push(definition(m, 0));
  }
  // Collateral from a few dollars to tens of thousands: small accounts hit InsufficientMargin.
  static constexpr Money kFunding[] = {3'000'000, 30'000'000, 300'000'000, 3'000'000'000, 30'000'000'000};
  for (AccountId a = 0; a < cfg_.accounts; ++a) {
    const Money amount = kFunding[rng_.below(5)];
    push(input::deposit(cfg_.account_base + a, amount, next_transfer_id_++));
  }
  // Some accounts isolated by default, some on one instrument.
  for (AccountId a = 0; a < cfg_.accounts; ++a) {
    const std::uint64_t roll = rng_.below(10);
    if (roll < 2) push(input::account_settings(cfg_.account_base + a, kAllInstruments, 1, 0));
    if (roll >= 2 && roll < 5 && !models_.empty())
      push(input::account_settings(cfg_.account_base + a, pick_model().id, 1, 0));
  }
  for (auto& q : queue_) q.back() = kForwardOnly;
}

template <class T>
void RandomEvents::push(const T& msg) {
  std::vector<std::byte> bytes(sizeof(T) + 1);
  std::memcpy(bytes.data(), &msg, sizeof(T));
  bytes.back() = std::byte{0};  // trailing marker byte: kForwardOnly or 0
  queue_.push_back(std::move(bytes));
}

EventView RandomEvents::next() {
  while (queue_.empty()) draw();
  std::vector<std::byte> bytes = std::move(queue_.front());
  queue_.pop_front();
  const bool forward_only = bytes.back() == kForwardOnly;
  std::memcpy(buf_, bytes.data(), bytes.size() - 1);
  auto& h = *reinterpret_cast<wire::MessageHeader*>(buf_);
  h.seq = ++seq_;
  h.ref = seq_ * 10;
  const std::uint64_t step = rng_.below(4);
  const bool backwards = !forward_only && rng_.per_mille(cfg_.backwards_per_mille);
  if (backwards) {
    const std::int64_t back = rng_.between(1, 10'000);
    h.ts_ns = ts_ - back;  // rejected; the clock stays where it was
  } else {
    ts_ += static_cast<Timestamp>(step) * 250;  // step 0: the same timestamp again
    h.ts_ns = ts_;
  }
  h.flags = rng_.per_mille(20) ? wire::header_flags::kSynthetic : 0;
  return EventView(buf_);
}

void RandomEvents::draw() {
  const std::uint64_t r = rng_.below(1000);
  if (r < 626) return gen_new_order();
  if (r < 736) return gen_cancel();
  if (r < 866) return gen_modify();
  if (r < 870) return gen_mass_cancel();
  if (r < 898) return gen_index_price();
  if (r < 920) return gen_transfer(true);
  if (r < 940) return gen_transfer(false);
  if (r < 946) return gen_account_settings();
  if (r < 950) return gen_mode_switch();
  if (r < 962) return gen_funding_rate();
  if (r < 981) return push(input::heartbeat());
  if (r < 989) return gen_redefinition();
  if (r < 995) return gen_invalid_definition();
  if (r < 997) return gen_regrid();
  return gen_output_event();
}

// --- helpers ---------------------------------------------------------------------------------

Price RandomEvents::Model::mid_low() const {
  const Price low = std::max(grids[0].min_price, grids[1].min_price);
  return (low + g().tick - 1) / g().tick * g().tick + 2 * g().tick;
}

Price RandomEvents::Model::mid_high() const {
  const Price high = std::min(grids[0].max_price, grids[1].max_price);
  return high / g().tick * g().tick - 2 * g().tick;
}

Price RandomEvents::start_mid(const Model& m) {
  const Grid& g = m.g();
  if (g.reference_price >= m.mid_low() && g.reference_price <= m.mid_high()) return g.reference_price;
  return m.mid_low() + (m.mid_high() - m.mid_low()) / 2 / g.tick * g.tick;
}

Price RandomEvents::ticks_from(Price p, std::int64_t ticks, Price tick) const {
  return saturate(static_cast<__int128>(p) + static_cast<__int128>(ticks) * tick);
}

wire::InstrumentDefinition RandomEvents::definition(const Model& m, int grid) const {
  const Grid& g = m.grids[grid];
  auto d = input::instrument(m.id, g.tick, g.lot, g.min_price, g.max_price, g.max_order_qty);
  d.reference_price = g.reference_price;
  d.price_band = g.price_band;
  d.market_band = g.market_band;
  const MarginSpec& ms = m.margins[grid];
  d.price_decimals = ms.price_decimals;
  d.qty_decimals = ms.qty_decimals;
  d.maker_fee = ms.maker_fee;
  d.taker_fee = ms.taker_fee;
  d.mark_band = ms.mark_band;
  d.tier_count = ms.tier_count;
  for (int k = 0; k < ms.tier_count; ++k) d.tiers[k] = ms.tiers[k];
  // Liquidation fees and circuit breakers (docs/liquidation.md), fixed per instrument and layout
  // so they take no draws: a 1-2 ms window and a band a few ticks wide pause the busier books.
  constexpr Rate kLiquidationFees[4][2] = {{500'000, 1'000'000}, {1'000'000, 0}, {200'000, 2'000'000}, {2'000'000, 300'000}};
  constexpr Rate kCircuitBands[4][2] = {{0, 3'000'000}, {2'000'000, 0}, {4'000'000, 4'000'000}, {0, 25'000'000}};
  constexpr std::uint32_t kWindows[4][2] = {{0, 1}, {1, 0}, {2, 2}, {0, 1}};
  constexpr std::uint32_t kPauses[4][2] = {{0, 0}, {1, 0}, {1, 2}, {0, 1}};
  const int id = static_cast<int>(m.id % 4);
  d.liquidation_fee = kLiquidationFees[id][grid];
  d.circuit_band = kCircuitBands[id][grid];
  d.circuit_window_ms = kWindows[id][grid];
  d.circuit_pause_ms = kPauses[id][grid];
  return d;
}

RandomEvents::Model& RandomEvents::pick_model() { return models_[rng_.below(models_.size())]; }

InstrumentId RandomEvents::bad_instrument() {
  const std::uint64_t r = rng_.below(4);
  if (r == 0) return kAllInstruments;
  if (r == 1) return static_cast<InstrumentId>(models_.size());  // in range, never defined
  if (r == 2) return cfg_.engine.max_instruments;
  return cfg_.engine.max_instruments + static_cast<InstrumentId>(rng_.below(1000));
}

AccountId RandomEvents::pick_account() { return cfg_.account_base + static_cast<AccountId>(rng_.below(cfg_.accounts)); }

AccountId RandomEvents::bad_account() {
  if (rng_.below(2) == 0) return cfg_.engine.max_accounts;
  return std::numeric_limits<AccountId>::max() - static_cast<AccountId>(rng_.below(10));
}

Price RandomEvents::clamp(const Model& m, Price p) const { return std::clamp(p, m.g().min_price, m.g().max_price); }

Price RandomEvents::around_mid(const Model& m, std::int64_t lo_ticks, std::int64_t hi_ticks) {
  const std::int64_t k = rng_.between(lo_ticks, hi_ticks);
  return clamp(m, ticks_from(m.mid, k, m.g().tick));
}

Qty RandomEvents::pick_qty(const Model& m) {
  const Grid& g = m.g();
  const std::int64_t max_lots = g.max_order_qty / g.lot;
  std::int64_t lots = rng_.between(1, 6);
  if (rng_.per_mille(150)) lots = rng_.between(5, 20);
  if (cfg_.layouts == Layouts::Extreme && rng_.per_mille(300)) lots = rng_.between(max_lots / 2, max_lots);
  return std::min(lots, max_lots) * g.lot;
}

void RandomEvents::remember(const Recent& r) {
  if (recent_.size() < 40) {
    recent_.push_back(r);
  } else {
    recent_[recent_next_] = r;
    recent_next_ = (recent_next_ + 1) % recent_.size();
  }
}

RandomEvents::Recent* RandomEvents::pick_recent() {
  if (recent_.empty()) return nullptr;
  if (rng_.per_mille(700) && recent_.size() == 40) {  // mostly the newest dozen
    const std::size_t back = rng_.below(12);
    return &recent_[(recent_next_ + 40 - 1 - back) % 40];
  }
  return &recent_[rng_.below(recent_.size())];
}

RandomEvents::Recent* RandomEvents::pick_live() {
  if (live_.empty()) return nullptr;
  return &live_[rng_.below(live_.size())];
}

void RandomEvents::forget_live(OrderId id) {
  auto it = live_pos_.find(id);
  if (it == live_pos_.end()) return;
  const std::size_t pos = it->second;
  live_pos_.erase(it);
  if (pos + 1 != live_.size()) {
    live_[pos] = live_.back();
    live_pos_[live_[pos].id] = pos;
  }
  live_.pop_back();
}

void RandomEvents::observe(std::span<const std::byte> output) {
  EventReader reader(output);
  EventView ev;
  auto find = [&](OrderId id) -> Recent* {
    auto it = live_pos_.find(id);
    return it == live_pos_.end() ? nullptr : &live_[it->second];
  };
  while (reader.next(ev)) {
    switch (ev.type()) {
      case wire::MsgType::OrderAccepted: {
        const auto& a = ev.as<wire::OrderAccepted>();
        const bool stop = a.order_type == OrderType::StopMarket || a.order_type == OrderType::StopLimit;
        live_pos_[a.order_id] = live_.size();
        live_.push_back({a.order_id, a.account, a.instrument, a.side, stop, a.price, a.qty});
        break;
      }
      case wire::MsgType::Fill: {
        const auto& f = ev.as<wire::Fill>();
        if (Recent* r = find(f.maker_order_id)) r->qty = f.maker_leaves;
        if (Recent* r = find(f.taker_order_id)) r->qty = f.taker_leaves;
        if (f.maker_leaves == 0) forget_live(f.maker_order_id);
        if (f.taker_leaves == 0) forget_live(f.taker_order_id);
        for (auto& m : models_) {  // the mid follows the trades
          if (m.id != f.instrument) continue;
          const Grid& g = m.g();
          m.mid = std::clamp(f.price / g.tick * g.tick, m.mid_low(), m.mid_high());
        }
        break;
      }
      case wire::MsgType::OrderCancelled:
        forget_live(ev.as<wire::OrderCancelled>().order_id);
        break;
      case wire::MsgType::OrderModified: {
        const auto& mo = ev.as<wire::OrderModified>();
        if (Recent* r = find(mo.order_id)) {
          r->price = mo.new_price;
          r->qty = mo.new_qty;
        }
        break;
      }
      case wire::MsgType::StopTriggered:
        if (Recent* r = find(ev.as<wire::StopTriggered>().order_id)) r->stop = false;
        break;
      case wire::MsgType::PositionUpdate: {
        const auto& u = ev.as<wire::PositionUpdate>();
        positions_[{u.account, u.instrument}] = u.size;
        break;
      }
      case wire::MsgType::MarginUpdate: {
        const auto& u = ev.as<wire::MarginUpdate>();
        margins_[u.account] = {u.collateral, u.equity, u.initial_margin};
        break;
      }
      default:
        break;
    }
  }
}

// --- new orders ------------------------------------------------------------------------------

void RandomEvents::gen_new_order() {
  Model& m = pick_model();
  const Grid& g = m.g();
  if (rng_.per_mille(150)) {  // the mid walks, drawn back towards the middle of the range
    const Price center = m.mid_low() + (m.mid_high() - m.mid_low()) / 2;
    const Price quarter = (m.mid_high() - m.mid_low()) / 4;
    const std::uint32_t up_per_mille = m.mid < center - quarter ? 750 : m.mid > center + quarter ? 250 : 500;
    const bool up = rng_.per_mille(up_per_mille);
    m.mid = std::clamp(ticks_from(m.mid, up ? 1 : -1, g.tick), m.mid_low(), m.mid_high());
  }

  input::Order o;
  o.id = next_order_id_++;
  if (rng_.per_mille(20)) {  // reuse a recent id: usually dead, so accepted
    if (const Recent* r = pick_recent()) o.id = r->id;
  } else if (rng_.per_mille(10)) {  // reuse a live id: DuplicateOrderId
    if (const Recent* r = pick_live()) o.id = r->id;
  }
  o.client_order_id = next_client_id_++;
  o.account = pick_account();
  o.instrument = m.id;
  o.side = rng_.below(2) == 0 ? Side::Buy : Side::Sell;
  const std::uint64_t type_roll = rng_.below(100);
  o.type = type_roll < 66   ? OrderType::Limit
           : type_roll < 76 ? OrderType::Market
           : type_roll < 87 ? OrderType::StopMarket
                            : OrderType::StopLimit;
  const std::uint64_t tif_roll = rng_.below(100);
  switch (o.type) {
    case OrderType::Limit:
      o.tif = tif_roll < 68 ? TimeInForce::GTC : tif_roll < 86 ? TimeInForce::IOC : TimeInForce::FOK;
      break;
    case OrderType::StopLimit:
      o.tif = tif_roll < 60 ? TimeInForce::GTC : tif_roll < 80 ? TimeInForce::IOC : TimeInForce::FOK;
      break;
    default:
      o.tif = tif_roll < 70 ? TimeInForce::IOC : TimeInForce::FOK;
      break;
  }
  const bool post_only = o.type == OrderType::Limit && o.tif == TimeInForce::GTC && rng_.per_mille(120);
  if (post_only) o.flags |= order_flags::kPostOnly;
  const bool reduce_only = rng_.per_mille(100);
  if (reduce_only) o.flags |= order_flags::kReduceOnly;
  // A quarter of the stops wait for the mark; no draw, so the rest of the stream stays as it was.
  const bool stop_order = o.type == OrderType::StopMarket || o.type == OrderType::StopLimit;
  if (stop_order && (o.id & 3) == 0) o.flags |= order_flags::kMarkTrigger;
  o.stp = static_cast<SelfTradePrevention>(rng_.below(4));
  o.qty = pick_qty(m);
  // A reduce-only order mostly faces the position, for up to its size (sometimes a bit more).
  const auto held = positions_.find({o.account, o.instrument});
  if (reduce_only && held != positions_.end() && held->second != 0 && rng_.per_mille(850)) {
    const Qty size = held->second;
    o.side = size > 0 ? Side::Sell : Side::Buy;
    const Qty abs_size = size > 0 ? size : -size;
    const Qty lots = abs_size / g.lot;
    if (lots > 0) {
      const std::int64_t k = rng_.per_mille(150) ? lots + rng_.between(1, 2) : rng_.between(1, lots);
      o.qty = std::min<Qty>(k, g.max_order_qty / g.lot) * g.lot;
    }
  }
  const bool buy = o.side == Side::Buy;

  // Stops sit a few ticks beyond the mid (sometimes already triggered).
  auto trigger = [&] {
    const bool wrong_side = rng_.per_mille(150);
    if (buy) return wrong_side ? around_mid(m, -3, 0) : around_mid(m, 0, 4);
    return wrong_side ? around_mid(m, 0, 3) : around_mid(m, -4, 0);
  };
  auto worst = [&]() -> Price {
    if (!rng_.per_mille(400)) return 0;
    return buy ? around_mid(m, 0, 6) : around_mid(m, -6, 0);
  };
  switch (o.type) {
    case OrderType::Limit:
      if (post_only || !rng_.per_mille(cfg_.aggression_per_mille))
        o.price = buy ? around_mid(m, -6, 0) : around_mid(m, 0, 6);
      else
        o.price = buy ? around_mid(m, -6, 1) : around_mid(m, -1, 6);
      break;
    case OrderType::Market:
      o.price = worst();
      break;
    case OrderType::StopMarket:
      o.trigger = trigger();
      o.price = worst();
      break;
    case OrderType::StopLimit: {
      o.trigger = trigger();
      const std::int64_t k = rng_.between(-1, 3);
      o.price = clamp(m, ticks_from(o.trigger, buy ? k : -k, g.tick));
      break;
    }
  }

  if (rng_.per_mille(cfg_.invalid_per_mille)) {
    // One to three broken fields, so the validation order is exercised too.
    int count = 1;
    if (rng_.per_mille(250)) ++count;
    if (rng_.per_mille(100)) ++count;
    for (int i = 0; i < count; ++i) {
      const std::uint64_t k = rng_.below(25);
      const std::int64_t small = rng_.between(1, 5);
      switch (k) {
        case 0:
          o.instrument = bad_instrument();
          break;
        case 1:
          o.account = bad_account();
          break;
        case 2:
          o.id = 0;
          break;
        case 3:
          o.side = static_cast<Side>(rng_.below(2) == 0 ? 0 : 2 + small);
          break;
        case 4:
          o.type = static_cast<OrderType>(rng_.below(2) == 0 ? 0 : 4 + small);
          break;
        case 5:
          o.tif = static_cast<TimeInForce>(rng_.below(2) == 0 ? 0 : 3 + small);
          break;
        case 6:
          o.stp = static_cast<SelfTradePrevention>(3 + small);
          break;
        case 7:
          // an unknown bit, or the mark trigger on an order that is not a stop
          o.flags |= static_cast<std::uint8_t>(rng_.below(6) == 0 ? order_flags::kMarkTrigger : 8u << rng_.below(5));
          break;
        case 8:
          o.flags |= order_flags::kPostOnly;
          break;
        case 9:
          o.type = rng_.below(2) == 0 ? OrderType::Market : OrderType::StopMarket;
          o.tif = TimeInForce::GTC;
          break;
        case 10:
          o.qty = 0;
          break;
        case 11:
          o.qty = saturate(-static_cast<__int128>(g.lot) * small);
          break;
        case 12:
          o.qty = saturate(static_cast<__int128>(g.max_order_qty) + static_cast<__int128>(g.lot) * small);
          break;
        case 13:
          if (g.lot > 1)
            o.qty = saturate(static_cast<__int128>(o.qty) + rng_.between(1, g.lot - 1));
          else
            o.qty = saturate(static_cast<__int128>(g.max_order_qty) + small);
          break;
        case 14:
          o.price = 0;
          break;
        case 15:
          o.price = ticks_from(0, -small, g.tick);
          break;
        case 16:
          if (g.tick > 1)
            o.price = saturate(static_cast<__int128>(o.price) + rng_.between(1, g.tick - 1));
          else
            o.price = -small;
          break;
        case 17:
          o.price =
              rng_.below(2) == 0 ? ticks_from(g.min_price, -small, g.tick) : ticks_from(g.max_price, small, g.tick);
          break;
        case 18: {  // far from the mid: often outside the band
          const std::int64_t far = rng_.between(4, 12);
          o.price = clamp(m, ticks_from(m.mid, rng_.below(2) == 0 ? far : -far, g.tick));
          break;
        }
        case 19:
          o.trigger = m.mid;
          break;
        case 20:
          o.trigger = rng_.below(2) == 0 ? 0 : ticks_from(0, -small, g.tick);
          break;
        case 21:
          if (g.tick > 1)
            o.trigger = m.mid + rng_.between(1, g.tick - 1);
          else
            o.trigger = ticks_from(g.max_price, small, 1);
          break;
        case 22:
          o.trigger =
              rng_.below(2) == 0 ? ticks_from(g.min_price, -small, g.tick) : ticks_from(g.max_price, small, g.tick);
          break;
        case 23:
          if (!recent_.empty()) o.id = recent_[(recent_next_ + recent_.size() - 1) % recent_.size()].id;
          break;
        default: {  // extremes: overflow bait for the band and lot arithmetic
          const std::uint64_t which = rng_.below(4);
          if (which == 0) o.price = std::numeric_limits<Price>::max();
          if (which == 1) o.price = std::numeric_limits<Price>::min();
          if (which == 2) o.qty = std::numeric_limits<Qty>::max();
          if (which == 3) o.qty = std::numeric_limits<Qty>::min();
          break;
        }
      }
    }
  }

  const bool stop = o.type == OrderType::StopMarket || o.type == OrderType::StopLimit;
  if (o.id != 0) remember({o.id, o.account, o.instrument, o.side, stop, o.price, o.qty});
  push(input::new_order(o));
}

// --- cancels and modifies --------------------------------------------------------------------

void RandomEvents::gen_cancel() {
  const Recent* r = rng_.per_mille(750) ? pick_live() : nullptr;
  if (!r) r = pick_recent();
  OrderId id = r ? r->id : next_order_id_;
  AccountId account = r ? r->account : pick_account();
  InstrumentId instrument = r ? r->instrument : 0;
  const std::uint64_t roll = rng_.below(100);
  if (roll < 6)
    account = pick_account();
  else if (roll < 9)
    account = bad_account();
  else if (roll < 12)
    instrument = pick_model().id;
  else if (roll < 14)
    instrument = bad_instrument();
  else if (roll < 17)
    id = rng_.below(2) == 0 ? 0 : next_order_id_ + 1000;
  push(input::cancel(id, account, instrument));
}

void RandomEvents::gen_modify() {
  Recent* r = rng_.per_mille(800) ? pick_live() : nullptr;
  const bool live = r != nullptr;  // observe() keeps live entries up to date
  if (!r) r = pick_recent();
  if (!r) return gen_new_order();
  const Model* model = nullptr;
  for (const auto& m : models_)
    if (m.id == r->instrument) model = &m;
  if (!model) return gen_cancel();
  const Grid& g = model->g();
  Price price = r->price;
  Qty qty = r->qty;
  AccountId account = r->account;
  InstrumentId instrument = r->instrument;
  const std::uint64_t roll = rng_.below(100);
  if (roll < 35) {  // same price, smaller: keeps priority when the order still has more
    qty = saturate(static_cast<__int128>(qty) - static_cast<__int128>(g.lot) * rng_.between(1, 2));
    if (qty <= 0) qty = g.lot;
  } else if (roll < 55) {  // same price, bigger: loses priority
    qty = saturate(static_cast<__int128>(qty) + static_cast<__int128>(g.lot) * rng_.between(1, 3));
  } else if (roll < 88) {  // new price, often crossing
    const std::int64_t k = rng_.between(-4, 4);
    price = clamp(*model, ticks_from(price > 0 ? price : model->mid, k, g.tick));
    if (rng_.below(2) == 0) qty = pick_qty(*model);
  }  // else: unchanged (ModifyNoChange when nothing filled)
  qty = std::min(qty, g.max_order_qty);

  if (rng_.per_mille(cfg_.invalid_per_mille * 2)) {
    const std::uint64_t k = rng_.below(11);
    switch (k) {
      case 0:
        qty = 0;
        break;
      case 1:
        qty = -g.lot;
        break;
      case 2:
        qty = saturate(static_cast<__int128>(g.max_order_qty) + g.lot);
        break;
      case 3:
        qty = g.lot > 1 ? saturate(static_cast<__int128>(qty) + 1) : 0;
        break;
      case 4:
        price = 0;
        break;
      case 5:
        price = g.tick > 1 ? saturate(static_cast<__int128>(price) + 1) : -1;
        break;
      case 6:
        price = ticks_from(g.max_price, 1, g.tick);
        break;
      case 7:
        price = clamp(*model, ticks_from(model->mid, rng_.below(2) == 0 ? 10 : -10, g.tick));
        break;
      case 8:
        account = cfg_.account_base + (account - cfg_.account_base + 1) % cfg_.accounts;
        break;
      case 9:
        account = bad_account();
        break;
      default:
        instrument = bad_instrument();
        break;
    }
  } else if (!live) {
    r->price = price;
    r->qty = qty;
  }
  push(input::modify(r->id, account, price, qty, instrument));
}

void RandomEvents::gen_mass_cancel() {
  AccountId account = pick_account();
  if (rng_.per_mille(50)) account = bad_account();
  const std::uint64_t roll = rng_.below(100);
  InstrumentId instrument = kAllInstruments;
  if (roll >= 50) instrument = roll < 95 ? pick_model().id : bad_instrument();
  push(input::mass_cancel(account, instrument));
}

// --- reference data, money, misc -------------------------------------------------------------

void RandomEvents::gen_index_price() {
  const Model& m = pick_model();
  // Mostly near the trades; sometimes far, so the mark band clamps and equity swings.
  Price price = rng_.per_mille(200) ? around_mid(m, -12, 12) : around_mid(m, -3, 3);
  if (rng_.per_mille(30)) {  // outside the book's range: the mark stops at its edge
    const std::int64_t k = rng_.between(1, 20);
    price = rng_.below(2) == 0 ? ticks_from(m.g().max_price, k, m.g().tick)
                               : std::max<Price>(1, ticks_from(m.g().min_price, -k, m.g().tick));
  }
  InstrumentId instrument = m.id;
  if (rng_.per_mille(cfg_.invalid_per_mille * 2)) {
    const std::uint64_t k = rng_.below(3);
    if (k == 0) price = 0;
    if (k == 1) price = -m.g().tick;
    if (k == 2) instrument = bad_instrument();
  }
  push(input::index_price(instrument, price));
}

void RandomEvents::gen_transfer(bool deposit) {
  AccountId account = pick_account();
  Money amount = 0;
  if (deposit) {
    amount = rng_.per_mille(100) ? rng_.between(10'000'000, 3'000'000'000) : rng_.between(1, 5'000'000);
  } else {
    // Mostly near the free collateral min(C, equity) - IMR of the last MarginUpdate (stale when
    // marks moved since, which is fine): just below, at, or just above it.
    const Free f = margins_.count(account) ? margins_.at(account) : Free{};
    const Money free = std::min(f.collateral, f.equity) - f.initial_margin;
    const std::uint64_t roll = rng_.below(10);
    if (roll < 5 && free > 3)
      amount = free + rng_.between(-3, 3);
    else if (roll < 8 && free > 100)
      amount = free / 100 * rng_.between(1, 99);
    else
      amount = rng_.between(1, 3'000'000'000);
  }
  if (rng_.per_mille(cfg_.invalid_per_mille * 2)) {
    const std::uint64_t k = rng_.below(3);
    if (k == 0) amount = 0;
    if (k == 1) amount = -rng_.between(1, 1000);
    if (k == 2) account = bad_account();
  }
  const std::uint64_t transfer = next_transfer_id_++;
  if (deposit)
    push(input::deposit(account, amount, transfer));
  else
    push(input::withdrawal(account, amount, transfer));
}

void RandomEvents::gen_account_settings() {
  AccountId account = pick_account();
  if (rng_.per_mille(100)) account = bad_account();
  const std::uint64_t roll = rng_.below(10);
  const InstrumentId instrument = roll < 4 ? kAllInstruments : roll < 8 ? pick_model().id : bad_instrument();
  const auto mode = static_cast<std::uint8_t>(rng_.below(3));
  const auto role = static_cast<std::uint8_t>(rng_.below(3));
  push(input::account_settings(account, instrument, mode, role));
}

void RandomEvents::gen_funding_rate() {
  const InstrumentId instrument = rng_.per_mille(100) ? bad_instrument() : pick_model().id;
  auto rate = static_cast<Rate>(rng_.between(-100'000, 100'000));
  if (rng_.per_mille(100)) rate = static_cast<Rate>(rng_.between(-5'000'000, 5'000'000));
  if (rng_.per_mille(20)) rate = 0;
  push(input::funding_rate(instrument, rate));
}

// Flatten one account on one instrument (cancel its orders, close the position with a
// reduce-only market order), then switch the instrument's margin mode: accepted when the
// account ended flat.
void RandomEvents::gen_mode_switch() {
  const Model& m = pick_model();
  const AccountId account = pick_account();
  push(input::mass_cancel(account, m.id));
  const auto held = positions_.find({account, m.id});
  if (held != positions_.end() && held->second != 0) {
    input::Order o;
    o.id = next_order_id_++;
    o.client_order_id = next_client_id_++;
    o.account = account;
    o.instrument = m.id;
    o.side = held->second > 0 ? Side::Sell : Side::Buy;
    o.type = OrderType::Market;
    o.tif = TimeInForce::IOC;
    o.flags = order_flags::kReduceOnly;
    const Qty size = held->second > 0 ? held->second : -held->second;
    o.qty = std::min(size, m.g().max_order_qty);
    push(input::new_order(o));
  }
  const auto mode = static_cast<std::uint8_t>(rng_.below(2));
  const InstrumentId instrument = rng_.per_mille(200) ? kAllInstruments : m.id;
  push(input::account_settings(account, instrument, mode, 0));
}

// The same layout with another reference price and bands; accepted only when the instrument
// has no live orders.
void RandomEvents::gen_redefinition() {
  const Model& m = pick_model();
  auto d = definition(m, m.grid);
  d.reference_price = rng_.below(3) == 0 ? 0 : m.mid;
  static constexpr Rate kBands[] = {0, pct(1), pct(3), pct(10), pct(150)};
  d.price_band = kBands[rng_.below(5)];
  d.market_band = kBands[rng_.below(5)];
  // Sometimes other margin terms: fees (rebates too), mark band, fewer or no brackets.
  if (rng_.per_mille(300)) {
    static constexpr Rate kFees[] = {-50'000, -10'000, 0, 10'000, 100'000};
    d.maker_fee = kFees[rng_.below(5)];
    d.taker_fee = kFees[rng_.below(5)];
    static constexpr Rate kMarkBands[] = {0, pct(100), 1, pct(1), pct(20)};
    d.mark_band = kMarkBands[rng_.below(5)];
    // (Extreme layouts keep their brackets: they are what bounds the position sizes.)
    if (d.tier_count > 0 && cfg_.layouts == Layouts::Small) {
      d.tier_count = static_cast<std::uint8_t>(rng_.below(d.tier_count + 1u));
      for (int k = d.tier_count; k < wire::kMaxTiers; ++k) d.tiers[k] = {};
    }
  }
  push(d);
}

void RandomEvents::gen_invalid_definition() {
  const Model& m = pick_model();
  auto d = definition(m, static_cast<int>(rng_.below(2)));
  const std::int64_t small = rng_.between(1, 5);
  switch (rng_.below(21)) {
    case 0:
      d.instrument =
          rng_.below(2) == 0 ? kAllInstruments : cfg_.engine.max_instruments + static_cast<InstrumentId>(small);
      break;
    case 1:
      d.price_decimals = static_cast<std::uint8_t>(18 + small);
      break;
    case 2:
      d.qty_decimals = static_cast<std::uint8_t>(18 + small);
      break;
    case 3:
      d.tick_size = rng_.below(2) == 0 ? 0 : -d.tick_size;
      break;
    case 4:
      d.lot_size = rng_.below(2) == 0 ? 0 : -small;
      break;
    case 5:
      d.min_price = rng_.below(2) == 0 ? 0 : -d.tick_size;
      break;
    case 6:
      std::swap(d.min_price, d.max_price);
      break;
    case 7:
      d.min_price = d.tick_size > 1 ? d.min_price + 1 : 0;
      break;
    case 8:
      d.max_price = d.tick_size > 1 ? d.max_price - 1 : -1;
      break;
    case 9:
      d.max_price = ticks_from(d.min_price, cfg_.engine.max_levels_per_book, d.tick_size);
      break;
    case 10:
      d.max_order_qty = 0;
      break;
    case 11:
      d.max_order_qty = d.lot_size > 1 ? d.max_order_qty + 1 : -d.lot_size;
      break;
    case 12:
      d.tier_count = static_cast<std::uint8_t>(wire::kMaxTiers + small);
      break;
    case 13:
      d.max_order_qty = -d.max_order_qty;
      break;
    case 14:
      d.mark_band = rng_.below(2) == 0 ? -1 : 100'000'001;
      break;
    case 15: {
      const bool maker = rng_.below(2) == 0;
      const Rate rate = rng_.below(2) == 0 ? -100'000'001 : 100'000'001;
      (maker ? d.maker_fee : d.taker_fee) = rate;
      break;
    }
    case 16:  // other decimals: refused while positions are open (small layouts: the values shrink)
      if (cfg_.layouts == Layouts::Small)
        d.price_decimals = static_cast<std::uint8_t>(d.price_decimals + 1);
      else
        d.tiers[wire::kMaxTiers - 1].imr = 1;
      break;
    default: {  // broken brackets (docs/margin.md): give it two valid ones first
      if (d.tier_count < 2) {
        d.tier_count = 2;
        d.tiers[0] = {1'000'000, pct(10), pct(5), 0};
        d.tiers[1] = {2'000'000, pct(20), pct(10), 50'000};
      }
      const int k = static_cast<int>(rng_.below(d.tier_count));
      wire::MarginTier& t = d.tiers[k];
      switch (rng_.below(10)) {
        case 0:  // not strictly increasing
          d.tiers[d.tier_count - 1].max_notional = d.tiers[d.tier_count - 2].max_notional;
          break;
        case 1:
          t.mmr = rng_.below(2) == 0 ? 0 : -t.mmr;
          break;
        case 2:
          t.mmr = t.imr + 1;
          break;
        case 3:
          t.imr = 100'000'001;
          break;
        case 4:  // discontinuous maintenance margin
          d.tiers[d.tier_count - 1].maint_amount += rng_.below(2) == 0 ? 1 : -1;
          break;
        case 5:
          t.imr = 0;
          break;
        case 6:
          d.tiers[0].max_notional = rng_.below(2) == 0 ? 0 : -1;
          break;
        case 7:  // maintenance amounts from a nonzero start
          for (int j = 0; j < d.tier_count; ++j) d.tiers[j].maint_amount += 1;
          break;
        case 8:  // an entry past tier_count
          if (d.tier_count < wire::kMaxTiers) d.tiers[d.tier_count].max_notional = 1;
          else d.tiers[0].mmr = 0;
          break;
        default:
          t.mmr = std::numeric_limits<Rate>::min();
          break;
      }
      break;
    }
  }
  push(d);
}

// Mass-cancel every trading account on one instrument, then switch it to its other layout.
void RandomEvents::gen_regrid() {
  Model& m = pick_model();
  for (AccountId a = 0; a < cfg_.accounts; ++a) {
    push(input::mass_cancel(cfg_.account_base + a, m.id));
    queue_.back().back() = kForwardOnly;
  }
  m.grid ^= 1;
  m.mid = start_mid(m);
  push(definition(m, m.grid));
  queue_.back().back() = kForwardOnly;
}

// An output event on the input stream: the engines ignore it.
void RandomEvents::gen_output_event() {
  auto t = wire::make<wire::TopOfBook>();
  t.instrument = pick_model().id;
  t.bid_price = 1;
  t.bid_qty = 2;
  push(t);
}

}  // namespace cascade::testing
