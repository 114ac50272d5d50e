// The margin engine inside cascade::Engine (docs/margin.md): positions and their PnL, fees,
// open order notional, pre-trade risk, withdrawals, funding, mark prices and the maintenance
// watch. The order book calls in at each lifecycle step; the margin engine never touches the
// book (the engine cancels orders it names). Integers only, nothing allocated after init().
#pragma once

#include <cstdint>
#include <vector>

#include "cascade/account_table.hpp"
#include "cascade/brackets.hpp"
#include "cascade/engine.hpp"
#include "cascade/event_output.hpp"
#include "cascade/fixed_point.hpp"
#include "cascade/order_pool.hpp"
#include "cascade/positions.hpp"
#include "cascade/types.hpp"
#include "cascade/watch_heap.hpp"
#include "cascade/wire.hpp"
#include "cascade/zeroed_array.hpp"

namespace cascade {

namespace snap {
class Writer;
class Reader;
}  // namespace snap

// An order as the margin engine counts it: its side, quantity, the price its notional is
// valued at and whether it is reduce-only.
struct OrderTerms {
  Side side;
  Price price;  // limit price; a stop-market's trigger; a market order's effective limit
  Qty qty;
  bool reduce_only;
};

class MarginEngine {
 public:
  // Positions whose account could reach this notional at the book's highest price are
  // refused (NotionalOverflow), so every money amount stays far inside 64 bits.
  static constexpr fx::i128 kMaxNotional = fx::i128{1} << 62;
  // Rounding slack of one position's equity and maintenance between two marks (micros).
  static constexpr fx::i128 kWatchSlop = 16;

  bool init(const EngineConfig& cfg, AccountTable* accounts, EventOutput* out) noexcept;

  // --- instruments ---
  // Tiers and mark_band of a definition (docs/margin.md); the book's checks come first.
  static bool valid_definition(const wire::InstrumentDefinition& d) noexcept;
  // A redefinition may not change the decimals while positions are open.
  bool may_redefine(const wire::InstrumentDefinition& d) const noexcept;
  bool define(const wire::InstrumentDefinition& d) noexcept;  // false: memory refused

  // --- records ---
  PosIdx find(AccountId a, InstrumentId i) const noexcept { return positions_.find(a, i); }
  // Hints for the stops of a chain (the engine loads the next ones while one trades), in
  // the order their addresses become known: the account's record, its find(a, i) slot and
  // its reported figures (end of the event); then the position record; then, once that is
  // in cache, the watch heap entries and holder slot its fill moves.
  void prefetch(AccountId a, InstrumentId i) const noexcept {
    positions_.prefetch(a, i);
    __builtin_prefetch(&(*accounts_)[a]);
    __builtin_prefetch(&reported_[a]);
  }
  void prefetch_position(PosIdx p) const noexcept { positions_.prefetch_record(p); }
  void prefetch_watch(PosIdx p) const noexcept {
    const Position& r = positions_[p];
    const Inst& in = inst_[r.instrument];
    in.lo.prefetch_slot(r.heap_lo);
    in.hi.prefetch_slot(r.heap_hi);
    if (r.holder != 0) __builtin_prefetch(&in.holders[r.holder]);
  }
  // Running ahead of a batch (Engine::prefetch): what an event of account a (< max accounts)
  // on instrument i loads first (the account record, its last report, the position slot),
  // then the position record that slot points at, once the slot is in cache.
  void prefetch_account(AccountId a, InstrumentId i) const noexcept {
    prefetch(a, i);
    __builtin_prefetch(&reported_[a]);
  }
  void prefetch_position(AccountId a, InstrumentId i) const noexcept { positions_.prefetch_record(a, i); }
  PosIdx ensure(AccountId a, InstrumentId i) noexcept;  // kNilPos when the table is full
  void release_if_empty(PosIdx p) noexcept;
  bool reclaim_empty() noexcept;  // releases records emptied during the event; true if any
  const Position& position(PosIdx p) const noexcept { return positions_[p]; }

  // --- orders ---
  static OrderTerms terms(const OrderNode& n) noexcept {
    return OrderTerms{n.side, n.type == OrderType::StopMarket ? n.trigger : n.price, n.qty,
                      (n.flags & order_flags::kReduceOnly) != 0};
  }
  void add_order(PosIdx p, const OrderTerms& t) noexcept;
  void remove_order(PosIdx p, const OrderTerms& t) noexcept;
  // Pre-trade risk of a new order (old == nullptr) or of replacing `old` by `now`.
  wire::RejectReason check_order(PosIdx p, const OrderTerms& now, const OrderTerms* old) const noexcept;
  // True when the record's open reduce-only quantity no longer fits its position.
  bool reduce_only_excess(PosIdx p) const noexcept {
    const Position& r = positions_[p];
    if (r.reduce_only == 0) return false;
    return r.reduce_only > 0 ? r.size < r.reduce_only : r.size > r.reduce_only;
  }

  // --- fills ---
  // Fee of one side of a fill of value v (docs/margin.md, "Fees").
  Money fee(InstrumentId i, fx::i128 v, bool maker) const noexcept;
  // Applies a fill to both sides (fees, PnL, isolated margin) and emits their PositionUpdates.
  void fill(InstrumentId i, PosIdx maker, PosIdx taker, Side aggressor, Price px, Qty q, fx::i128 v, Money maker_fee,
            Money taker_fee) noexcept;

  // --- transfers, settings, funding, index ---
  wire::RejectReason check_withdrawal(AccountId a, Money amount) const noexcept;
  void deposit(AccountId a, Money amount) noexcept;
  void withdraw(AccountId a, Money amount) noexcept;
  wire::RejectReason settings(const wire::AccountSettings& s) noexcept;
  void funding(InstrumentId i, Rate rate) noexcept;
  void set_index(InstrumentId i, Price p) noexcept;
  void touch(AccountId a) noexcept;  // a MarginUpdate for it at the end of the event
  void touch_orders(AccountId a) noexcept;  // the same after a change of open orders alone
  void touch_mark(InstrumentId i) noexcept;

  // --- change log (auto-deleveraging keeps its ranking between steps with it) ---
  // Once started, every account whose figures change (touch(), settings) is listed once,
  // until a mark moves, an instrument is defined or a restore ends: then the log stops, and
  // change_log_on() says the figures of unlisted accounts may have moved too.
  void change_log_start() noexcept;
  void change_log_clear() noexcept;  // forgets the listed accounts, keeps logging
  bool change_log_on() const noexcept { return log_on_; }
  std::uint32_t changes() const noexcept { return log_count_; }
  AccountId change(std::uint32_t k) const noexcept { return log_[k]; }

  // --- liquidation (docs/liquidation.md) ---
  // A unit: the cross account (pos == kNilPos) or one isolated position.
  struct UnitFigures {
    fx::i128 equity = 0;
    fx::i128 mm = 0;
  };
  UnitFigures unit(AccountId a, PosIdx iso) const noexcept;
  // Re-certifies the accounts changed since the last call, so every unit below maintenance
  // is a candidate; returns nothing, candidates are read with the two calls below.
  void evaluate_pending() noexcept;
  std::uint32_t candidates() const noexcept { return cand_count_; }
  // Candidate k as (account, isolated record or kNilPos); clear_candidates() drops the flags.
  AccountId candidate_account(std::uint32_t k) const noexcept { return cand_[k].account; }
  PosIdx candidate_pos(std::uint32_t k) const noexcept { return cand_[k].pos; }
  void clear_candidates() noexcept;
  bool below(AccountId a, PosIdx iso) const noexcept;
  bool queued(AccountId a, PosIdx iso) const noexcept;
  // Queued units are not watched (their step re-examines them); reevaluate() arms them again.
  void set_queued(AccountId a, PosIdx iso, bool q) noexcept;
  void reevaluate(AccountId a, PosIdx iso) noexcept;
  // A fill applied to both sides without output; emit_fill_positions() writes the two
  // PositionUpdates afterwards (the liquidation fee needs the taker's equity after the fill).
  void fill_quiet(InstrumentId i, PosIdx maker, PosIdx taker, Side aggressor, Price px, Qty q, fx::i128 v,
                  Money maker_fee, Money& maker_realized, Money& taker_realized) noexcept;
  void emit_fill_positions(PosIdx maker, PosIdx taker, Money maker_realized, Money taker_realized) noexcept;
  // Moves up to `fee` (never below 0) from the account to the insurance fund; returns it.
  void pay_liquidation_fee(AccountId a, InstrumentId i, Money fee) noexcept;
  // Writes off a negative collateral: fund payout, then the socialized rest. Returns L.
  Money bankrupt(AccountId a, InstrumentId i, Money& socialized) noexcept;
  bool has_cross_position(AccountId a) const noexcept;
  bool isolated_margined(AccountId a) const noexcept;  // holds an isolated position with requirements
  // Below maintenance and subject to liquidation (docs/liquidation.md, "Units of liquidation"):
  // a unit with a maintenance margin, or a cross unit whose only positions are isolated ones.
  bool liquidatable(AccountId a, PosIdx iso, const UnitFigures& f) const noexcept;
  PosIdx first_position(AccountId a) const noexcept { return (*accounts_)[a].positions; }
  Money insurance_fund() const noexcept { return insurance_; }
  Price mark(InstrumentId i) const noexcept { return inst_[i].mark; }
  int money_exp(InstrumentId i) const noexcept { return inst_[i].m; }
  const Brackets& brackets(InstrumentId i) const noexcept { return inst_[i].brackets; }
  fx::i128 position_notional(PosIdx p) const noexcept { return notional(positions_[p], inst_[positions_[p].instrument]); }
  // The unit holding record p right after it took q at px on `side` at the current marks
  // (docs/liquidation.md step 7: a backstop's takeover), without changing anything.
  UnitFigures unit_after_fill(PosIdx p, Side side, Price px, Qty q) const noexcept;
  fx::i128 position_mm(PosIdx p) const noexcept;
  fx::i128 position_unrealized(PosIdx p) const noexcept {
    return unrealized(positions_[p], inst_[positions_[p].instrument]);
  }
  std::uint32_t holder_count(InstrumentId i) const noexcept { return inst_[i].holder_count; }
  PosIdx holder(InstrumentId i, std::uint32_t k) const noexcept { return inst_[i].holders[k + 1]; }

  // --- end of the input event ---
  // Marks of the instruments the event touched, from their book and last trade.
  std::uint32_t touched_marks() const noexcept { return touched_count_; }
  InstrumentId touched_mark(std::uint32_t k) const noexcept { return touched_[k]; }
  void update_mark(InstrumentId i, Price bid, Price ask, Price last) noexcept;
  void report_accounts() noexcept;  // MarginUpdates, ascending account
  void publish_marks() noexcept;    // MarkPrice events, ascending instrument

  // --- queries (not for the hot path) ---
  MarkView mark_view(InstrumentId i) const noexcept;
  AccountView account_view(AccountId a) const;
  bool active(AccountId a) const noexcept;
  MarginTotals totals() const noexcept;
  Money total_deposits() const noexcept { return deposits_; }
  InstrumentTotals instrument_totals(InstrumentId i) const noexcept;

  // --- snapshots (cascade/snapshot.hpp; the engine drives them, between input events) ---
  void save_instrument(InstrumentId i, snap::Writer& w) const;  // after the engine's fields
  bool restore_instrument(InstrumentId i, snap::Reader& r) noexcept;  // after define()
  void save_positions(AccountId a, snap::Writer& w) const;  // kPosition records, oldest first
  bool restore_position(snap::Reader& r) noexcept;          // false: malformed, or no room
  void save_totals(snap::Writer& w) const;
  bool restore_totals(snap::Reader& r) noexcept;
  void rearm(AccountId a) noexcept;  // once everything is back: certify the account's watch
  void finish_restore() noexcept;    // forgets what the restore itself touched

 private:
  struct Inst {
    bool defined = false;
    Brackets brackets;
    int m = 0;  // money exponent: a price unit times a quantity unit is 10^m micros
    std::int64_t unit_value = 0;  // 10^m when m >= 0 (values are exact products), else 0
    std::uint8_t price_decimals = 0, qty_decimals = 0;
    Price min_price = 0, max_price = 0;
    // The largest position or open quantity per side whose value at max_price stays within
    // kMaxNotional (value_up is non-decreasing in the quantity): the pre-trade bound.
    Qty max_qty = 0;
    Rate maker_fee = 0, taker_fee = 0, mark_band = 0;
    Price mark = 0, index = 0, last = 0;
    Price published_mark = 0, published_index = 0;
    // figures_clock_ when the mark or the brackets last changed: an account's equity and MM
    // computed at a later reading still hold for its records on this instrument.
    std::uint64_t figures_at = 0;
    bool touched = false;
    ZeroedArray<PosIdx> holders;  // records with a position, any order; 1-based
    std::uint32_t holder_count = 0;
    WatchHeap lo;  // keyed by -watch_lo: pops when the mark falls below watch_lo
    WatchHeap hi;  // keyed by watch_hi: pops when the mark rises above watch_hi
    // The watch distance d = floor((allot - kWatchSlop) * watch_num / (|s| * watch_den)) as
    // two factors fixed by the decimals and the last tier's mmr (0: watch_num exceeds 64
    // bits, the range is computed instead of compared; see certified()).
    std::uint64_t watch_num = 0, watch_den = 0;
    fx::i128 open_interest = 0;  // 128 bits: between a fill's two sides it may pass 2^63
    Money fees = 0, funding_paid = 0, funding_received = 0;
  };

  // Cross figures of one account at current marks; `order_p` / `order_w` replace one
  // record's worst-case notional (pre-trade).
  struct Summary {
    fx::i128 equity = 0;  // C + cross unrealized PnL
    fx::i128 imr = 0;
    fx::i128 mm = 0;
    fx::i128 notional = 0;  // sum of cross notionals (watch allotment)
  };
  Summary summarize(AccountId a, bool with_mm = true) const noexcept;  // mm left at 0 without
  Summary maintenance_summary(AccountId a) const noexcept;  // imr left at 0
  // The same, counting the cross positions and keeping the first `cap` notionals in order.
  Summary maintenance_summary(AccountId a, fx::i128* notionals, std::uint32_t cap, std::uint32_t& cross) const noexcept;
  fx::i128 initial_requirement(AccountId a) const noexcept;   // the IMR alone
  fx::i128 initial_one(const Position& r) const noexcept;      // the same for the account's only record
  bool initial_if_current(AccountId a, std::uint64_t at, fx::i128& imr) const noexcept;
  fx::i128 worst_case(const Position& r, const Inst& in, fx::i128 dbuy, fx::i128 dsell) const noexcept;
  // The same from the position's signed notional ps, already valued.
  static fx::i128 worst_case_from(fx::i128 ps, const Position& r, fx::i128 dbuy, fx::i128 dsell) noexcept;
  fx::i128 requirement(const Position& r, const Inst& in, fx::i128 w) const noexcept;
  fx::i128 notional(const Position& r, const Inst& in) const noexcept;
  fx::i128 unrealized(const Position& r, const Inst& in) const noexcept;
  // Notional and unrealized PnL of a non-flat position, valuing it once where both use the
  // same value (a short, or any position with a non-negative money exponent).
  struct Figures {
    fx::i128 notional, unrealized;
  };
  static Figures figures(const Position& r, const Inst& in) noexcept;
  static Figures figures_wide(const Position& r, const Inst& in) noexcept;

  void apply(PosIdx p, Inst& in, Qty dq, Price px, fx::i128 v, Money fee, Money& realized) noexcept;
  static void settle(Position& r, Money& balance, const Inst& in, Qty dq, Price px, fx::i128 v,
                     Money& realized) noexcept;
  void size_changed(PosIdx p, Inst& in, Qty before) noexcept;
  void emit_position(const Position& r, Money realized) noexcept;

  static Qty largest_quantity(Price p, int m) noexcept;  // Inst::max_qty

  // Maintenance watch (docs/margin.md, "Maintenance watch").
  Summary evaluate(AccountId a) noexcept;     // the cross unit and every isolated position
  Summary evaluate_one(AccountId a, PosIdx p) noexcept;  // the same for an account of one record
  void evaluate_isolated(PosIdx p) noexcept;
  void arm(PosIdx p, const Inst& in, fx::i128 allot) noexcept;
  void arm_slow(PosIdx p, const Inst& in, fx::i128 allot) noexcept;  // arm() past the kept range
  bool unit_queued(const Position& r) const noexcept;
  // Whether the armed range of p is still certified by `allot` at the current mark: 1 yes,
  // 0 no, -1 not decidable by the 128-bit comparison (compute the range instead).
  static int certified(const Position& r, const Inst& in, fx::i128 allot) noexcept;
  void disarm(PosIdx p, Inst& in) noexcept;
  void set_below(std::uint8_t& flags, std::uint8_t bit, bool below) noexcept;

  AccountTable* accounts_ = nullptr;
  EventOutput* out_ = nullptr;
  PositionTable positions_;
  std::vector<Inst> inst_;
  std::uint32_t max_positions_ = 0;
  std::uint32_t max_accounts_ = 0;
  bool prefault_ = false;  // EngineConfig::prefault: commit each instrument's tables when defined

  ZeroedArray<AccountId> dirty_;
  std::uint32_t dirty_count_ = 0;
  ZeroedArray<InstrumentId> touched_;
  std::uint32_t touched_count_ = 0;
  void log_change(AccountId a) noexcept {
    if (!log_on_ || logged_[a] == log_gen_) return;
    logged_[a] = log_gen_;
    log_[log_count_++] = a;
  }
  ZeroedArray<AccountId> log_;
  ZeroedArray<std::uint32_t> logged_;  // == log_gen_: listed since the last clear
  std::uint32_t log_count_ = 0;
  std::uint32_t log_gen_ = 1;
  bool log_on_ = false;
  ZeroedArray<std::uint64_t> scratch_;  // funding order: (account << 32) | record
  ZeroedArray<std::uint64_t> scratch2_;  // the radix sort's other buffer
  ZeroedArray<std::uint32_t> radix_count_;  // its bucket offsets, up to 3 passes of 2^kRadixBits
  static constexpr int kRadixBits = 11;
  static constexpr std::uint32_t kRadixMin = 512;  // fewer holders: std::sort
  static constexpr std::uint32_t kFundingAhead = 12;
  static constexpr std::uint32_t kEvaluateAhead = 8;
  void sort_holders(std::uint32_t n) noexcept;
  // An Account is 24 bytes and may straddle two lines.
  void prefetch_account_record(AccountId a) const noexcept {
    const auto* p = reinterpret_cast<const char*>(&(*accounts_)[a]);
    __builtin_prefetch(p);
    __builtin_prefetch(p + sizeof(Account) - 1);
  }
  ZeroedArray<AccountId> pending_;       // changed since evaluate_pending()
  std::uint32_t pending_count_ = 0;
  // The equity and MM evaluate_pending() computed, reused by report_accounts() when
  // nothing changed in between (stamp == round_): the last round of the cascade loop runs
  // after the event's last change, so most reports need no second summary. Any change that
  // can move a summary (touch, touch_mark, orders, marks) starts a new round.
  // Across events they still hold while the account was not touched since (every change of
  // its balance or positions touches it, and evaluate_pending() then replaces them) and no
  // instrument of a cross position changed mark or brackets after `at`, a figures_clock_
  // reading: an account whose open orders alone changed then needs only a new IMR.
  struct Reported {
    Money equity, mm;
    std::uint64_t stamp;
    std::uint64_t at;  // 0: not evaluated by this engine (a fresh or restored one)
  };
  static_assert(sizeof(Reported) == 32);
  ZeroedArray<Reported> reported_;
  std::uint64_t round_ = 1;
  std::uint64_t figures_clock_ = 1;
  struct Candidate {
    AccountId account;
    PosIdx pos;  // kNilPos: the cross unit
  };
  static_assert(sizeof(Candidate) == 8);
  ZeroedArray<Candidate> cand_;  // units found below, each once (kCandidate flags)
  std::uint32_t cand_count_ = 0;
  void add_candidate(AccountId a, PosIdx iso) noexcept;

  Money deposits_ = 0, withdrawals_ = 0, fees_ = 0, insurance_ = 0, socialized_ = 0;
  Money funding_paid_ = 0, funding_received_ = 0;
  std::uint32_t below_ = 0;
};

}  // namespace cascade
