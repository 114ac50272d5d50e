// Seeded generator of input-event streams for the differential tests, and the small input
// builders it and the reference-engine tests use. The same seed gives the same stream on every
// compiler and standard library: the bounded draws are written here, not taken from <random>.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cascade/engine.hpp"
#include "cascade/event_reader.hpp"
#include "cascade/types.hpp"
#include "cascade/wire.hpp"

namespace cascade::testing {

// --- builders (header seq and ts are left 0 for the caller) -------------------------------------

namespace input {

wire::InstrumentDefinition instrument(InstrumentId id, Price tick, Qty lot, Price min_price, Price max_price,
                                      Qty max_order_qty);

struct Order {
  OrderId id = 0;
  AccountId account = 0;
  InstrumentId instrument = 0;
  Side side = Side::Buy;
  OrderType type = OrderType::Limit;
  TimeInForce tif = TimeInForce::GTC;
  Price price = 0;
  Qty qty = 0;
  Price trigger = 0;
  std::uint8_t flags = 0;
  SelfTradePrevention stp = SelfTradePrevention::Default;
  std::uint64_t client_order_id = 0;
};
wire::NewOrder new_order(const Order& o);
wire::NewOrder limit(OrderId id, AccountId account, Side side, Price price, Qty qty, InstrumentId instrument = 0);
wire::CancelOrder cancel(OrderId id, AccountId account, InstrumentId instrument = 0);
wire::ModifyOrder modify(OrderId id, AccountId account, Price new_price, Qty new_qty, InstrumentId instrument = 0);
wire::MassCancel mass_cancel(AccountId account, InstrumentId instrument = kAllInstruments);
wire::IndexPrice index_price(InstrumentId instrument, Price price);
wire::FundingRate funding_rate(InstrumentId instrument, Rate rate);
wire::Deposit deposit(AccountId account, Money amount, std::uint64_t transfer_id);
wire::Withdrawal withdrawal(AccountId account, Money amount, std::uint64_t transfer_id);
wire::AccountSettings account_settings(AccountId account, InstrumentId instrument, std::uint8_t mode,
                                       std::uint8_t role);
wire::Heartbeat heartbeat();

}  // namespace input

// --- random numbers ------------------------------------------------------------------------------

// splitmix64: tiny, fully specified, identical everywhere.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n > 0 (multiply-high; the tiny bias does not matter here).
  std::uint64_t below(std::uint64_t n) {
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }
  // Uniform in [lo, hi].
  std::int64_t between(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(hi - lo) + 1));
  }
  bool per_mille(std::uint32_t p) { return below(1000) < p; }

 private:
  std::uint64_t state_;
};

// --- the generator -------------------------------------------------------------------------------

enum class Layouts : std::uint8_t {
  Small,    // prices around 10..3500 with ranges of 11..41 levels
  Extreme,  // prices near 2^62, quantities near 2^60, references far outside the range:
            // every band and limit product needs 128 bits. Keep max_orders * 2^60 < 2^63.
};

struct GeneratorConfig {
  EngineConfig engine;            // the limits the engines under test run with
  std::uint32_t instruments = 3;  // ids 0 .. instruments-1 are defined at the start (at most 4)
  std::uint32_t accounts = 4;     // accounts that trade: account_base + 0 .. accounts-1
  AccountId account_base = 0;     // (all below engine.max_accounts)
  Layouts layouts = Layouts::Small;
  Timestamp start_ts = 1'700'000'000'000'000'000;
  std::uint32_t invalid_per_mille = 40;       // events given one or more invalid fields on purpose
  std::uint32_t backwards_per_mille = 12;     // events whose timestamp goes backwards
  std::uint32_t aggression_per_mille = 1000;  // limit orders allowed to cross; lower: deeper books
};

// Produces an endless stream. The first events define the instruments (with margin tiers, fees
// and mark bands; some unmargined), fund the accounts with very different amounts and make some
// of them isolated; after that every kind of input is drawn with weights that keep the books
// populated: prices walk within a few ticks of a moving mid so levels collide and drain, stops
// sit close to it so they trigger and cascade, cancels and modifies mostly aim at recent orders,
// reduce-only orders mostly face the account's position, withdrawals aim near the free
// collateral, index prices move the marks and funding rounds charge the positions.
class RandomEvents {
 public:
  RandomEvents(std::uint64_t seed, const GeneratorConfig& config);

  // The next input event; the view stays valid until the next call.
  EventView next();

  // Optional feedback: the output the reference engine wrote for the event just taken. The
  // generator learns which orders are live (so cancels and modifies mostly hit them), the
  // last trade prices (so prices follow the market and stay inside the bands), the positions
  // (for reduce-only orders and mode switches) and the margin numbers (for withdrawals near the
  // limit). The stream then depends on that output, which is deterministic too.
  void observe(std::span<const std::byte> output);

  std::uint64_t generated() const { return seq_; }

 private:
  struct Grid {  // one instrument layout
    Price tick;
    Qty lot;
    Price min_price;
    Price max_price;
    Qty max_order_qty;
    Price reference_price;
    Rate price_band;
    Rate market_band;
  };
  // Margin terms of a layout; tier maintenance amounts are derived (continuous) unless a test
  // breaks them on purpose.
  struct MarginSpec {
    std::uint8_t price_decimals;
    std::uint8_t qty_decimals;
    Rate maker_fee;
    Rate taker_fee;
    Rate mark_band;
    std::uint8_t tier_count;
    wire::MarginTier tiers[4];
  };
  struct Model {
    InstrumentId id;
    Grid grids[2];  // the instrument flips between two layouts (regrid sequences)
    MarginSpec margins[2];
    int grid = 0;
    Price mid = 0;
    const Grid& g() const { return grids[grid]; }
    // The mid stays where both layouts have prices (two ticks inside), so the last trade price,
    // which survives a regrid, always centres bands that reach the book.
    Price mid_low() const;
    Price mid_high() const;
  };
  struct Recent {  // an order the stream sent, live or not
    OrderId id;
    AccountId account;
    InstrumentId instrument;
    Side side;
    bool stop;
    Price price;
    Qty qty;
  };

  template <class T>
  void push(const T& msg);  // queue an event (header filled in when it is taken)

  void draw();  // queue the next event or sequence of events
  void gen_new_order();
  void gen_cancel();
  void gen_modify();
  void gen_mass_cancel();
  void gen_index_price();
  void gen_transfer(bool deposit);
  void gen_account_settings();
  void gen_funding_rate();
  void gen_mode_switch();
  void gen_redefinition();
  void gen_invalid_definition();
  void gen_regrid();
  void gen_output_event();

  static Price start_mid(const Model& m);
  wire::InstrumentDefinition definition(const Model& m, int grid) const;
  Model& pick_model();
  InstrumentId bad_instrument();
  AccountId pick_account();
  AccountId bad_account();
  Price clamp(const Model& m, Price p) const;
  Price around_mid(const Model& m, std::int64_t lo_ticks, std::int64_t hi_ticks);
  Qty pick_qty(const Model& m);
  Price ticks_from(Price p, std::int64_t ticks, Price tick) const;  // saturating p + ticks * tick
  void remember(const Recent& r);
  Recent* pick_recent();
  Recent* pick_live();  // nullptr when nothing is known to be live
  void forget_live(OrderId id);

  Rng rng_;
  GeneratorConfig cfg_;
  std::vector<Model> models_;
  std::vector<Recent> recent_;  // ring
  std::size_t recent_next_ = 0;
  std::vector<Recent> live_;                           // live orders as the observed output says, any order
  std::unordered_map<OrderId, std::size_t> live_pos_;  // lookups only: iteration order never matters
  std::map<std::pair<AccountId, InstrumentId>, Qty> positions_;  // as the PositionUpdates say
  struct Free {
    Money collateral = 0;
    Money equity = 0;
    Money initial_margin = 0;
  };
  std::map<AccountId, Free> margins_;  // the last MarginUpdate of each account
  std::deque<std::vector<std::byte>> queue_;
  alignas(8) std::byte buf_[512]{};
  std::uint64_t seq_ = 0;
  Timestamp ts_ = 0;
  OrderId next_order_id_ = 1;
  std::uint64_t next_transfer_id_ = 1;
  std::uint64_t next_client_id_ = 1;
};

}  // namespace cascade::testing
