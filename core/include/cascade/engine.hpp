// The engine: one object per venue, driven by input events in a single thread.
// process() is the whole hot loop body: decode-free access to one input event, output events
// appended to an EventBuffer. No I/O, no threads, no exceptions, no allocation in steady state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "cascade/book_view.hpp"
#include "cascade/event_buffer.hpp"
#include "cascade/event_reader.hpp"
#include "cascade/types.hpp"
#include "cascade/wire.hpp"

namespace cascade {

// Capacities, preallocated at construction. Exhausting one gives a reject, never a crash.
struct EngineConfig {
  std::uint32_t max_instruments = 256;      // instrument ids are 0 .. max_instruments-1
  std::uint32_t max_accounts = 1u << 20;    // account ids are 0 .. max_accounts-1
  std::uint32_t max_orders = 1u << 20;      // live orders: resting plus untriggered stops
  std::uint32_t max_levels_per_book = 1u << 22;  // (max_price - min_price) / tick + 1
  // Position records: (account, instrument) pairs with a position, live orders, or an
  // explicit margin mode. Exhausted: Rejected(AccountCapacity) for the order or setting.
  std::uint32_t max_positions = 1u << 20;
  // Off: units below maintenance are only flagged (docs/margin.md), never liquidated; for
  // testing the margin engine alone and for measuring detection by itself.
  bool liquidation = true;
  // Transparent huge pages for the order pool and order index (docs/performance.md): fewer
  // TLB misses on a large book, but each 2 MiB of them that is touched is committed whole.
  bool huge_pages = false;
  // Commit every table's pages up front, at construction and when an instrument is defined
  // (its book, stop book and margin watch lists), instead of on first touch inside process():
  // a page fault costs 1 to 12 us, and a crash touches price levels and table depths it never
  // reached before. Costs the memory of the full capacities (docs/performance.md, "Prefault").
  bool prefault = false;
};

// Margin state, as docs/margin.md defines it. Money is in micros.
struct MarkView {
  Price mark = 0;   // 0: no index and no trade yet
  Price index = 0;  // 0: none received
  Price last = 0;   // 0: never traded
};

struct PositionView {
  InstrumentId instrument = 0;
  Qty size = 0;               // signed, > 0 long
  Money entry_value = 0;      // E
  bool isolated = false;
  Money isolated_margin = 0;  // B
  Money notional = 0;         // value of |size| at the mark, rounded up
  Money unrealized_pnl = 0;   // at the mark, rounded against the account
  Money initial_margin = 0;   // IM(W) of the worst-case position with open orders
  Money maintenance_margin = 0;
  Money open_buy = 0;         // notional of live non-reduce-only orders
  Money open_sell = 0;
  Qty reduce_only = 0;        // open reduce-only quantity (> 0 sells, < 0 buys)
  std::uint32_t orders = 0;   // live orders
  bool below_maintenance = false;  // isolated positions: B + U < MM
};

struct AccountView {
  Money collateral = 0;          // C
  Money equity = 0;              // C + unrealized PnL of cross positions
  Money initial_margin = 0;      // IMR (docs/margin.md, "Pre-trade risk")
  Money maintenance_margin = 0;  // of cross positions
  bool below_maintenance = false;
  bool isolated_default = false;
  bool backstop = false;
  std::vector<PositionView> positions;  // every record, ascending instrument
};

struct MarginTotals {
  Money deposits = 0;
  Money withdrawals = 0;
  Money fees_collected = 0;  // F, rebates netted
  Money insurance_fund = 0;
  Money socialized_losses = 0;
  Money funding_paid = 0;      // by payers, rounded up
  Money funding_received = 0;  // by receivers, rounded down
  std::uint32_t below_maintenance = 0;  // accounts (cross) plus isolated positions below maintenance
  std::uint32_t position_records = 0;
};

// Liquidation activity since construction (docs/liquidation.md). Money in micros.
struct LiquidationTotals {
  std::uint64_t liquidations = 0;        // steps taken (Liquidation(Triggered) events)
  std::uint64_t book_fills = 0;          // liquidation fills against the book
  Money book_notional = 0;               // value of those fills
  Money fees = 0;                        // liquidation fees paid into the insurance fund
  std::uint64_t backstop_takeovers = 0;
  Money backstop_notional = 0;
  std::uint64_t deleverages = 0;         // Deleverage events
  Money deleverage_notional = 0;
  std::uint64_t bankruptcies = 0;
  Money bankruptcy_loss = 0;             // sum of L (paid by the fund or socialized)
  std::uint32_t max_depth = 0;           // deepest cascade depth reached
  std::uint64_t largest_cascade = 0;     // most steps inside one input event
  SeqNo largest_cascade_origin = 0;      // that input event's seq
};

struct InstrumentTotals {
  Qty open_interest = 0;       // sum of long positions (= sum of short positions)
  std::uint32_t holders = 0;   // accounts with a position
  Money fees = 0;              // collected on its fills, rebates netted
  Money funding_paid = 0;
  Money funding_received = 0;
};

class Engine {
 public:
  explicit Engine(const EngineConfig& config = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;

  // Processes one input event and appends its output events to out (docs/matching.md gives
  // the order). An output event of any kind is ignored.
  void process(const EventView& event, EventBuffer& out) noexcept;

  template <class T>
  void process(const T& msg, EventBuffer& out) noexcept {
    static_assert(wire::is_input(T::kType));
    process(EventView(reinterpret_cast<const std::byte*>(&msg)), out);
  }

  // --- batches (docs/embedding.md, "Batches") ---
  // On a large book or a large account table each event waits for two to four cache misses
  // one after the other (order index slot, then the order; account record, position slot,
  // then the position). A caller holding later events can start those loads early.
  //
  // Hints only: neither changes any state or output, and both are safe on any bytes (an
  // event of a wrong type or length is ignored; ids out of range are not followed).
  // prefetch: loads what `event` touches first, from its fields alone (order index slot,
  // account record, position index slot, price level). Issue it about 2D events ahead.
  void prefetch(const EventView& event) const noexcept;
  // prefetch_resolved: reads the slots prefetch() loaded and loads what they point at (the
  // order node, the position record). Issue it about D events ahead, after prefetch().
  void prefetch_resolved(const EventView& event) const noexcept;
  // prefetch_linked: for a cancel or modify, reads the node prefetch_resolved() loaded and
  // loads its neighbours in the level's FIFO and the account's list and its price level,
  // which unlinking it touches. Issue it about D/2 events ahead.
  void prefetch_linked(const EventView& event) const noexcept;

  // Decodes events (8-byte aligned framed input, as EventReader takes) and processes them in
  // order with the prefetch stages running ahead (PrefetchReader, kPrefetchDistance), the
  // output appended to out: the same bytes as process() one event at a time. Returns the
  // bytes consumed: events.size(), or the offset of the first malformed event (nothing from
  // it on is processed; EventReader at that offset says what is wrong).
  std::size_t process_batch(std::span<const std::byte> events, EventBuffer& out) noexcept;

  // --- queries (not for the hot path) ---
  const wire::InstrumentDefinition* instrument(InstrumentId id) const noexcept;  // nullptr if undefined
  std::vector<InstrumentId> instrument_ids() const;                               // ascending
  // Up to max_levels levels of one side, best first; returns how many were written.
  std::size_t depth(InstrumentId id, Side side, std::size_t max_levels, LevelView* out) const noexcept;
  TopView top(InstrumentId id) const noexcept;
  Price last_price(InstrumentId id) const noexcept;  // 0 before the first trade
  Money balance(AccountId account) const noexcept;  // collateral
  MarkView mark(InstrumentId id) const noexcept;
  AccountView account(AccountId account) const;     // recomputed from the engine's state
  // Accounts with collateral or a position record, ascending.
  std::vector<AccountId> active_accounts() const;
  MarginTotals totals() const noexcept;
  LiquidationTotals liquidation_totals() const noexcept;
  InstrumentTotals instrument_totals(InstrumentId id) const noexcept;
  std::size_t live_orders() const noexcept;           // resting plus untriggered stops
  SeqNo output_seq() const noexcept;                  // seq of the last output event written
  const EngineConfig& config() const noexcept;

 private:
  friend struct SnapshotAccess;  // cascade/snapshot.hpp: save and restore the whole state
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cascade
