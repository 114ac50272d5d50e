// Order book throughput and per-event latency through the public engine API.
//
// Every workload is generated before timing, by driving a second ("shadow") engine with the
// same events and reading its output, so each cancel and modify names an order that is live
// at that moment and each aggressive order knows the touch. The timed engine is rebuilt for
// every repetition from the same setup events (instrument, deposits, resting book), outside
// timing, then processes the workload one event per benchmark iteration; the output buffer is
// cleared after every event, as a consumer would drain it.
//
// Each workload runs four times: timed:0 measures throughput with nothing else in the loop;
// timed:1 also reads the TSC around each process() call and reports percentiles. prefetch:1
// issues the engine's prefetch for the events 2D and D ahead before each process() call
// (prefetch_ahead, inside the timed window with timed:1); prefetch:0 is one event at a time.
//
// Environment (for short profiling runs): CASCADE_BENCH_EVENTS (workload events, default
// 2000000), CASCADE_BENCH_ORDERS (resting orders of the mixed books, default 1000000);
// CASCADE_BENCH_HUGE=0 maps the order pool and index with 4 KiB pages (default: huge pages);
// CASCADE_BENCH_PREFETCH=D sets the prefetch distance of prefetch:1 (default kPrefetchDistance).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "cascade/engine.hpp"
#include "cascade/event_reader.hpp"
#include "cascade/prefetch_reader.hpp"

namespace {

using namespace cascade;
using bench::LatencyLog;
using bench::Rng;
using bench::StreamWriter;

constexpr InstrumentId kInstrument = 1;
constexpr Price kMaxPrice = Price{1} << 18;  // tick 1: 262144 addressable levels
constexpr Price kMid = kMaxPrice / 2;
constexpr double kDeepMean = 1000;  // mean distance (ticks) of the resting book from the touch
constexpr double kNearMean = 10;    // mean distance of near-touch adds from the same-side best
constexpr double kSizeMean = 50;    // mean resting order size (lots) above 1
constexpr double kTakeMean = 60;    // mean aggressive order size (lots) above 1

// Account ranges: resting-book makers, re-quoting market makers, takers.
constexpr AccountId kMakerBase = 1, kMakers = 1000;
constexpr AccountId kQuoterBase = 1001, kQuoters = 64;
constexpr AccountId kTakerBase = 2001, kTakers = 1000;
constexpr AccountId kAccounts = 4096;

enum Kind : std::uint8_t { kAdd, kCancel, kExec, kModify, kSweep, kSetup };
const std::vector<std::string> kKindNames = {"add", "cancel", "exec", "modify", "sweep"};

std::size_t workload_events() { return bench::env_size("CASCADE_BENCH_EVENTS", 2'000'000); }
std::size_t resting_orders() { return bench::env_size("CASCADE_BENCH_ORDERS", 1'000'000); }

EngineConfig engine_config(std::size_t resting) {
  EngineConfig c;
  c.max_instruments = 4;
  c.max_accounts = kAccounts;
  c.max_orders = static_cast<std::uint32_t>(resting + resting / 4 + (1u << 16));
  c.max_levels_per_book = static_cast<std::uint32_t>(kMaxPrice);
  const char* huge = std::getenv("CASCADE_BENCH_HUGE");
  c.huge_pages = huge == nullptr || std::strcmp(huge, "0") != 0;
  return c;
}

// Unmargined (no tiers) measures the book alone; margined adds the pre-trade margin check and
// position keeping of every fill (docs/margin.md), with collateral far above any requirement.
wire::InstrumentDefinition instrument_definition(bool margined) {
  auto d = wire::make<wire::InstrumentDefinition>();
  d.instrument = kInstrument;
  d.price_decimals = 1;
  d.qty_decimals = 3;
  d.tier_count = margined ? 1 : 0;
  std::snprintf(d.symbol, sizeof d.symbol, "BTC-PERP");
  d.tick_size = 1;
  d.lot_size = 1;
  d.min_price = 1;
  d.max_price = kMaxPrice;
  d.max_order_qty = 1'000'000'000;
  d.reference_price = kMid;
  if (margined) d.tiers[0] = {Money{1} << 60, 1'000'000, 500'000, 0};  // 1% initial, 0.5% maintenance
  return d;
}

// Resting book model of the generator: live orders (dense ids) and per-price totals, enough
// to pick live orders at random and to know the touch and its quantity.
class BookModel {
 public:
  struct Order {
    Price price = 0;
    Qty qty = 0;
    AccountId account = 0;
    Side side = Side::Buy;
  };

  explicit BookModel(std::size_t max_id)
      : orders_(max_id + 1), pos_(max_id + 1, kDead) {
    for (auto& v : level_qty_) v.assign(static_cast<std::size_t>(kMaxPrice) + 2, 0);
    live_.reserve(max_id / 2);
  }

  bool live(OrderId id) const { return id < pos_.size() && pos_[id] != kDead; }
  const Order& order(OrderId id) const { return orders_[id]; }
  std::size_t size() const { return live_.size(); }
  OrderId random_live(Rng& rng) const { return live_.empty() ? 0 : live_[rng.below(live_.size())]; }

  void add(OrderId id, Side side, Price price, Qty qty, AccountId account) {
    if (live(id)) return;
    orders_[id] = {price, qty, account, side};
    pos_[id] = static_cast<std::uint32_t>(live_.size());
    live_.push_back(id);
    level(side)[static_cast<std::size_t>(price)] += qty;
    if (side == Side::Buy && price > best_[0]) best_[0] = price;
    if (side == Side::Sell && (best_[1] == 0 || price < best_[1])) best_[1] = price;
  }

  void remove(OrderId id) {
    if (!live(id)) return;
    set_qty(id, 0);
    const std::uint32_t at = pos_[id];
    live_[at] = live_.back();
    pos_[live_[at]] = at;
    live_.pop_back();
    pos_[id] = kDead;
  }

  void set_qty(OrderId id, Qty qty) {
    Order& o = orders_[id];
    level(o.side)[static_cast<std::size_t>(o.price)] += qty - o.qty;
    o.qty = qty;
    if (level(o.side)[static_cast<std::size_t>(o.price)] == 0) rescan(o.side);
  }

  void reprice(OrderId id, Price price, Qty qty) {
    Order o = orders_[id];
    remove(id);
    add(id, o.side, price, qty, o.account);
  }

  // Best price of a side, 0 when empty.
  Price best(Side s) const { return best_[s == Side::Buy ? 0 : 1]; }
  Qty qty_at(Side s, Price p) const { return level_qty_[s == Side::Buy ? 0 : 1][static_cast<std::size_t>(p)]; }

 private:
  static constexpr std::uint32_t kDead = UINT32_MAX;

  std::vector<Qty>& level(Side s) { return level_qty_[s == Side::Buy ? 0 : 1]; }

  void rescan(Side s) {
    auto& lv = level(s);
    if (s == Side::Buy) {
      Price p = best_[0];
      while (p > 0 && lv[static_cast<std::size_t>(p)] == 0) --p;
      best_[0] = p;
    } else if (best_[1] != 0) {
      Price p = best_[1];
      while (p <= kMaxPrice && lv[static_cast<std::size_t>(p)] == 0) ++p;
      best_[1] = p <= kMaxPrice ? p : 0;
    }
  }

  std::vector<Order> orders_;
  std::vector<std::uint32_t> pos_;
  std::vector<OrderId> live_;
  std::vector<Qty> level_qty_[2];
  Price best_[2] = {0, 0};
};

// A generated workload: setup events, then the measured events with their kinds.
struct Workload {
  std::string name;
  EngineConfig config;
  StreamWriter stream{std::size_t{256} << 20};
  std::size_t setup_bytes = 0;
  std::size_t setup_events = 0;
  std::vector<std::uint8_t> kinds;  // one per measured event
  std::uint64_t fills = 0;          // fills the measured events produce
  std::uint64_t rejects = 0;        // rejects among the measured events (0 expected)
  std::uint64_t setup_rejects = 0;
  SeqNo output_seq_at_start = 0;
  SeqNo output_seq_at_end = 0;
  std::size_t events() const { return kinds.size(); }
};

// Writes events into a workload while a shadow engine processes them, keeping the model in
// step with the engine's fills and cancels.
class Generator {
 public:
  Generator(Workload& w, std::size_t max_id)
      : book(max_id), w_(w), engine_(std::make_unique<Engine>(w.config)), out_(1 << 20) {}

  void begin_measured() {
    w_.setup_bytes = w_.stream.buffer().size();
    w_.setup_events = w_.stream.count();
    w_.setup_rejects = rejects_;
    rejects_ = fills_ = 0;
    w_.output_seq_at_start = engine_->output_seq();
    measured_ = true;
  }

  void finish() {
    w_.fills = fills_;
    w_.rejects = rejects_;
    w_.output_seq_at_end = engine_->output_seq();
    // The model must agree with the engine, else the workload is not what it claims to be.
    const TopView top = engine_->top(kInstrument);
    if (top.bid_price != book.best(Side::Buy) || top.ask_price != book.best(Side::Sell) ||
        engine_->live_orders() != book.size() || w_.rejects != 0 || w_.setup_rejects != 0) {
      std::fprintf(stderr,
                   "%s: generator and engine disagree: bid %lld/%lld ask %lld/%lld live %zu/%zu "
                   "rejects %llu (setup %llu)\n",
                   w_.name.c_str(), static_cast<long long>(top.bid_price),
                   static_cast<long long>(book.best(Side::Buy)), static_cast<long long>(top.ask_price),
                   static_cast<long long>(book.best(Side::Sell)), engine_->live_orders(), book.size(),
                   static_cast<unsigned long long>(w_.rejects),
                   static_cast<unsigned long long>(w_.setup_rejects));
    }
    engine_.reset();
  }

  std::size_t measured() const { return w_.kinds.size(); }

  template <class T>
  void feed(const T& msg, Kind kind) {
    const T stamped = w_.stream.add(msg);
    if (measured_) w_.kinds.push_back(kind);
    out_.clear();
    engine_->process(stamped, out_);
    apply_output();
  }

  void setup_common(bool margined = false) {
    feed(instrument_definition(margined), kSetup);
    for (AccountId a = 1; a < kAccounts; ++a) {
      auto d = wire::make<wire::Deposit>();
      d.account = a;
      d.amount = Money{1} << 50;
      d.transfer_id = a;
      feed(d, kSetup);
    }
  }

  // A resting limit order, entered into the model before the engine sees it.
  void add(OrderId id, AccountId account, Side side, Price price, Qty qty, Kind kind) {
    book.add(id, side, price, qty, account);
    feed(new_order(id, account, side, price, qty, TimeInForce::GTC), kind);
  }

  void cancel(OrderId id, Kind kind = kCancel) {
    auto c = wire::make<wire::CancelOrder>();
    c.order_id = id;
    c.account = book.order(id).account;
    c.instrument = kInstrument;
    book.remove(id);
    feed(c, kind);
  }

  void modify(OrderId id, Price price, Qty qty) {
    auto m = wire::make<wire::ModifyOrder>();
    m.order_id = id;
    m.account = book.order(id).account;
    m.instrument = kInstrument;
    m.new_price = price;
    m.new_qty = qty;
    if (price == book.order(id).price)
      book.set_qty(id, qty);
    else
      book.reprice(id, price, qty);
    feed(m, kModify);
  }

  void take(OrderId id, AccountId account, Side side, Price limit, Qty qty, Kind kind) {
    feed(new_order(id, account, side, limit, qty, TimeInForce::IOC), kind);
  }

  static wire::NewOrder new_order(OrderId id, AccountId account, Side side, Price price, Qty qty,
                                  TimeInForce tif) {
    auto o = wire::make<wire::NewOrder>();
    o.order_id = id;
    o.client_order_id = id;
    o.account = account;
    o.instrument = kInstrument;
    o.price = price;
    o.qty = qty;
    o.side = side;
    o.order_type = OrderType::Limit;
    o.tif = tif;
    return o;
  }

  BookModel book;

 private:
  void apply_output() {
    EventReader r(out_.bytes());
    EventView ev;
    while (r.next(ev)) {
      switch (ev.type()) {
        case wire::MsgType::Rejected: {
          const auto& rej = ev.as<wire::Rejected>();
          ++rejects_;
          if (rej.input_type == wire::MsgType::NewOrder) book.remove(rej.id);
          break;
        }
        case wire::MsgType::Fill: {
          const auto& f = ev.as<wire::Fill>();
          ++fills_;
          if (f.maker_leaves == 0)
            book.remove(f.maker_order_id);
          else if (book.live(f.maker_order_id))
            book.set_qty(f.maker_order_id, f.maker_leaves);
          if (book.live(f.taker_order_id)) {
            if (f.taker_leaves == 0)
              book.remove(f.taker_order_id);
            else
              book.set_qty(f.taker_order_id, f.taker_leaves);
          }
          break;
        }
        case wire::MsgType::OrderCancelled:
          book.remove(ev.as<wire::OrderCancelled>().order_id);
          break;
        default:
          break;
      }
    }
  }

  Workload& w_;
  std::unique_ptr<Engine> engine_;
  EventBuffer out_;
  std::uint64_t fills_ = 0;
  std::uint64_t rejects_ = 0;
  bool measured_ = false;
};

Side random_side(Rng& rng) { return rng.chance(0.5) ? Side::Buy : Side::Sell; }
Qty resting_size(Rng& rng) { return 1 + rng.geometric(kSizeMean); }
AccountId maker(Rng& rng) { return kMakerBase + static_cast<AccountId>(rng.below(kMakers)); }
AccountId taker(Rng& rng) { return kTakerBase + static_cast<AccountId>(rng.below(kTakers)); }

// A price on `side` that does not cross: `d` ticks away from the opposite touch's
// inside neighbour (d = 0 improves the same side's best when the spread allows it).
Price passive_price(const BookModel& b, Side side, std::int64_t d) {
  d = std::min<std::int64_t>(d, kMid - 16);
  if (side == Side::Buy) {
    const Price ask = b.best(Side::Sell) ? b.best(Side::Sell) : b.best(Side::Buy) + 2;
    return std::max<Price>(1, (ask ? ask : kMid + 1) - 1 - d);
  }
  const Price bid = b.best(Side::Buy) ? b.best(Side::Buy) : b.best(Side::Sell) - 2;
  return std::min<Price>(kMaxPrice, (bid > 0 ? bid : kMid - 1) + 1 + d);
}

// A near-touch price: mostly at or just behind the same side's best, sometimes inside the spread.
Price near_price(const BookModel& b, Side side, Rng& rng) {
  const Price bid = b.best(Side::Buy), ask = b.best(Side::Sell);
  if (bid == 0 || ask == 0) return passive_price(b, side, rng.geometric(kNearMean));
  if (ask - bid > 1 && rng.chance(0.2)) return bid + 1 + static_cast<Price>(rng.below(static_cast<std::uint64_t>(ask - bid - 1)));
  const std::int64_t d = rng.geometric(kNearMean);
  return side == Side::Buy ? std::max<Price>(1, bid - d) : std::min<Price>(kMaxPrice, ask + d);
}

// The resting book every mixed workload starts from: `orders` orders, buys below and sells
// above the mid, geometric in distance from the touch.
void populate(Generator& g, Rng& rng, std::size_t orders, OrderId& next_id, bool margined = false) {
  g.setup_common(margined);
  for (std::size_t i = 0; i < orders; ++i) {
    const Side side = random_side(rng);
    const std::int64_t d = std::min<std::int64_t>(rng.geometric(kDeepMean), kMid - 16);
    const Price price = side == Side::Buy ? kMid - 1 - d : kMid + 1 + d;
    g.add(next_id++, maker(rng), side, price, resting_size(rng), kSetup);
  }
}

// An aggressive IOC order against the touch of the opposite side, limited to the touch price.
void execution(Generator& g, Rng& rng, OrderId id) {
  const Side side = random_side(rng);
  const Price touch = g.book.best(opposite(side));
  if (touch == 0) return;
  g.take(id, taker(rng), side, touch, 1 + rng.geometric(kTakeMean), kExec);
}

// ITCH-like: 47% adds (3/4 near the touch, 1/4 deep), 38% cancels (3/4 of recently added
// orders, 1/4 uniform over the book), 8% executions, 7% modifies (half in-place quantity
// decreases, half re-prices). The book size is held near its start.
std::unique_ptr<Workload> make_itch_mix(bool margined) {
  const std::size_t n = workload_events(), resting = resting_orders();
  auto w = std::make_unique<Workload>();
  w->name = margined ? "itch_mix_margined" : "itch_mix";
  w->config = engine_config(resting);
  w->kinds.reserve(n);
  Generator g(*w, resting + n + 1);
  Rng rng(1);
  OrderId next_id = 1;
  populate(g, rng, resting, next_id, margined);
  g.begin_measured();

  std::vector<OrderId> recent(4096, 0);
  std::size_t recent_at = 0;
  auto pick = [&](double recent_share) {
    if (rng.chance(recent_share)) {
      const OrderId id = recent[rng.below(recent.size())];
      if (id != 0 && g.book.live(id)) return id;
    }
    return g.book.random_live(rng);
  };

  while (g.measured() < n) {
    std::uint64_t r = rng.below(100);
    const double fill = static_cast<double>(g.book.size()) / static_cast<double>(resting);
    if (r < 85) r = fill > 1.02 ? std::uint64_t{50} : fill < 0.98 ? std::uint64_t{0} : r;  // steer the size back
    if (r < 47) {
      const Side side = random_side(rng);
      const Price price =
          rng.chance(0.75) ? near_price(g.book, side, rng) : passive_price(g.book, side, rng.geometric(kDeepMean));
      const OrderId id = next_id++;
      g.add(id, maker(rng), side, price, resting_size(rng), kAdd);
      recent[recent_at++ % recent.size()] = id;
    } else if (r < 85) {
      const OrderId id = pick(0.75);
      if (id != 0) g.cancel(id);
    } else if (r < 93) {
      execution(g, rng, next_id++);
    } else {
      const OrderId id = pick(0.7);
      if (id == 0) continue;
      const BookModel::Order o = g.book.order(id);
      if (o.qty > 1 && rng.chance(0.5)) {
        g.modify(id, o.price, 1 + static_cast<Qty>(rng.below(static_cast<std::uint64_t>(o.qty - 1))));
      } else {
        Price p = near_price(g.book, o.side, rng);
        const Price bid = g.book.best(Side::Buy), ask = g.book.best(Side::Sell);
        if (o.side == Side::Buy && ask != 0) p = std::min(p, ask - 1);
        if (o.side == Side::Sell && bid != 0) p = std::max(p, bid + 1);
        g.modify(id, p, p == o.price ? o.qty + 1 : o.qty);
      }
    }
  }
  g.finish();
  return w;
}

// Market makers re-quoting at the touch: 90% of events are cancel/add pairs of 64 quoting
// accounts (one quote per side each), the rest IOC executions at the touch (4%) and deep-book
// adds and cancels (3% each), on the same resting book as the ITCH-like mix.
std::unique_ptr<Workload> make_cancel_heavy() {
  const std::size_t n = workload_events(), resting = resting_orders();
  auto w = std::make_unique<Workload>();
  w->name = "cancel_heavy";
  w->config = engine_config(resting);
  w->kinds.reserve(n);
  Generator g(*w, resting + n + 2 * kQuoters + 1);
  Rng rng(2);
  OrderId next_id = 1;
  populate(g, rng, resting, next_id);

  std::vector<OrderId> quotes(2 * kQuoters, 0);  // [quoter * 2 + side]
  for (AccountId q = 0; q < kQuoters; ++q)
    for (int s = 0; s < 2; ++s) {
      const Side side = s == 0 ? Side::Buy : Side::Sell;
      quotes[q * 2 + static_cast<AccountId>(s)] = next_id;
      g.add(next_id++, kQuoterBase + q, side, near_price(g.book, side, rng), resting_size(rng), kSetup);
    }
  g.begin_measured();

  // A step is a pair (two events) with probability 9/11, so 90% of events are in pairs.
  while (g.measured() < n) {
    if (rng.chance(9.0 / 11.0)) {
      const std::size_t slot = rng.below(quotes.size());
      const Side side = slot % 2 == 0 ? Side::Buy : Side::Sell;
      if (g.book.live(quotes[slot])) g.cancel(quotes[slot]);
      if (g.measured() == n) break;
      Price p = g.book.best(side);
      if (p == 0) {
        p = near_price(g.book, side, rng);
      } else {
        const Price other = g.book.best(opposite(side));
        const std::int64_t d = rng.chance(0.1) ? -1 : rng.geometric(1.0);  // -1: improve
        p = side == Side::Buy ? p - d : p + d;
        if (other != 0) p = side == Side::Buy ? std::min(p, other - 1) : std::max(p, other + 1);
      }
      quotes[slot] = next_id;
      g.add(next_id++, kQuoterBase + static_cast<AccountId>(slot / 2), side, p, resting_size(rng), kAdd);
    } else {
      const std::uint64_t r = rng.below(10);
      if (r < 4) {
        execution(g, rng, next_id++);
      } else if (r < 7) {
        const Side side = random_side(rng);
        g.add(next_id++, maker(rng), side, passive_price(g.book, side, rng.geometric(kDeepMean)), resting_size(rng),
              kAdd);
      } else {
        const OrderId id = g.book.random_live(rng);
        if (id != 0 && g.book.order(id).account < kQuoterBase) g.cancel(id);
      }
    }
  }
  g.finish();
  return w;
}

// Sweeps: a book of kSweepDepth contiguous levels per side, 4 orders each; an IOC order takes
// exactly `levels` levels (4 * levels fills), then the same orders (new ids) refill them, and
// the other side is swept. The book is the same after every cycle.
constexpr Price kSweepDepth = 5000;
constexpr int kOrdersPerLevel = 4;

std::unique_ptr<Workload> make_sweep(int levels) {
  const std::size_t n = workload_events();
  const std::size_t resting = 2 * static_cast<std::size_t>(kSweepDepth) * kOrdersPerLevel;
  auto w = std::make_unique<Workload>();
  w->name = "sweep_" + std::to_string(levels);
  w->config = engine_config(resting);
  w->kinds.reserve(n);
  Generator g(*w, resting + 2 * n + 1);
  Rng rng(3);
  OrderId next_id = 1;
  g.setup_common();

  struct Slot {
    Qty qty;
    AccountId account;
  };
  // The template of each side's levels, best first.
  std::vector<Slot> shape[2];
  for (int s = 0; s < 2; ++s) {
    const Side side = s == 0 ? Side::Buy : Side::Sell;
    for (Price l = 0; l < kSweepDepth; ++l)
      for (int k = 0; k < kOrdersPerLevel; ++k) {
        const Slot slot{1 + static_cast<Qty>(rng.below(100)), maker(rng)};
        shape[s].push_back(slot);
        g.add(next_id++, slot.account, side, side == Side::Buy ? kMid - 1 - l : kMid + 1 + l, slot.qty, kSetup);
      }
  }
  g.begin_measured();

  for (int s = 1; g.measured() < n; s ^= 1) {
    const Side book_side = s == 0 ? Side::Buy : Side::Sell;
    const Side side = opposite(book_side);
    Qty qty = 0;
    for (std::size_t i = 0; i < static_cast<std::size_t>(levels) * kOrdersPerLevel; ++i) qty += shape[s][i].qty;
    const Price limit = book_side == Side::Buy ? kMid - levels : kMid + levels;
    g.take(next_id++, taker(rng), side, limit, qty, kSweep);
    for (std::size_t i = 0; i < static_cast<std::size_t>(levels) * kOrdersPerLevel && g.measured() < n; ++i) {
      const Price l = static_cast<Price>(i / kOrdersPerLevel);
      g.add(next_id++, shape[s][i].account, book_side, book_side == Side::Buy ? kMid - 1 - l : kMid + 1 + l,
            shape[s][i].qty, kAdd);
    }
  }
  g.finish();
  return w;
}

// Builds a workload once per process (repetitions and both timing modes share it).
template <std::unique_ptr<Workload> (*Make)()>
const Workload& cached() {
  static const std::unique_ptr<Workload> w = Make();
  return *w;
}
std::unique_ptr<Workload> make_itch_mix_plain() { return make_itch_mix(false); }
std::unique_ptr<Workload> make_itch_mix_margined() { return make_itch_mix(true); }
std::unique_ptr<Workload> make_sweep_10() { return make_sweep(10); }
std::unique_ptr<Workload> make_sweep_100() { return make_sweep(100); }

void run(benchmark::State& state, const Workload& w) {
  const bool timed = state.range(0) != 0;
  const auto distance = state.range(1) != 0
      ? static_cast<std::uint32_t>(bench::env_size("CASCADE_BENCH_PREFETCH", kPrefetchDistance)) : 0u;
  if (w.events() != static_cast<std::size_t>(state.max_iterations)) {
    state.SkipWithError("workload size differs from the iteration count");
    return;
  }
  // Setup outside timing: a fresh engine brought to the workload's starting state.
  Engine engine(w.config);
  EventBuffer out(1 << 20);
  const auto bytes = w.stream.buffer().bytes();
  EventReader setup(bytes.first(w.setup_bytes));
  EventView ev;
  while (setup.next(ev)) {
    engine.process(ev, out);
    out.clear();
  }
  std::vector<EventView> events;
  events.reserve(w.events());
  EventReader measured(bytes.subspan(w.setup_bytes), w.setup_bytes);
  while (measured.next(ev)) events.push_back(ev);
  if (events.size() != w.events() || engine.output_seq() != w.output_seq_at_start) {
    state.SkipWithError("setup did not reproduce the generator's state");
    return;
  }
  LatencyLog log(timed ? w.events() : 0, kKindNames);
  if (timed) bench::tsc_calibration();

  const EventView* e = events.data();
  const std::uint8_t* kind = w.kinds.data();
  const std::span<const EventView> all(events);
  std::size_t i = 0;
  {
    const bench::ProfileWindow window;
    if (timed && distance != 0) {
      for (auto _ : state) {
        const std::uint64_t t0 = bench::tsc_begin();
        prefetch_ahead(engine, all, i++, distance);
        engine.process(*e++, out);
        const std::uint64_t t1 = bench::tsc_end();
        log.record(*kind++, t1 - t0);
        out.clear();
      }
    } else if (timed) {
      for (auto _ : state) {
        const std::uint64_t t0 = bench::tsc_begin();
        engine.process(*e++, out);
        const std::uint64_t t1 = bench::tsc_end();
        log.record(*kind++, t1 - t0);
        out.clear();
      }
    } else if (distance != 0) {
      for (auto _ : state) {
        prefetch_ahead(engine, all, i++, distance);
        engine.process(*e++, out);
        out.clear();
      }
    } else {
      for (auto _ : state) {
        engine.process(*e++, out);
        out.clear();
      }
    }
  }

  if (engine.output_seq() != w.output_seq_at_end) state.SkipWithError("output differs from the generator's run");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["outputs_per_event"] =
      static_cast<double>(w.output_seq_at_end - w.output_seq_at_start) / static_cast<double>(w.events());
  state.counters["fills_per_second"] = benchmark::Counter(static_cast<double>(w.fills), benchmark::Counter::kIsRate);
  state.counters["resting_orders"] = static_cast<double>(engine.live_orders());
  if (timed) log.report(state);
}

void BM_BookItchMix(benchmark::State& state) { run(state, cached<make_itch_mix_plain>()); }
void BM_BookItchMixMargined(benchmark::State& state) { run(state, cached<make_itch_mix_margined>()); }
void BM_BookCancelHeavy(benchmark::State& state) { run(state, cached<make_cancel_heavy>()); }
void BM_BookSweep10(benchmark::State& state) { run(state, cached<make_sweep_10>()); }
void BM_BookSweep100(benchmark::State& state) { run(state, cached<make_sweep_100>()); }

// One pass over the workload per repetition; timed:0 throughput, timed:1 latency percentiles;
// prefetch:0 one event at a time, prefetch:1 with the engine's prefetch running ahead.
void shape(benchmark::internal::Benchmark* b) {
  b->ArgNames({"timed", "prefetch"})->ArgsProduct({{0, 1}, {0, 1}})->Iterations(static_cast<benchmark::IterationCount>(workload_events()));
}
BENCHMARK(BM_BookItchMix)->Apply(shape);
BENCHMARK(BM_BookItchMixMargined)->Apply(shape);
BENCHMARK(BM_BookCancelHeavy)->Apply(shape);
BENCHMARK(BM_BookSweep10)->Apply(shape);
BENCHMARK(BM_BookSweep100)->Apply(shape);

}  // namespace

BENCHMARK_MAIN();
