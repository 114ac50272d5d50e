// The engine: one object per venue, driven by input events in a single thread.
// process() is the whole hot loop body: decode-free access to one input event, output events
// appended to an EventBuffer. No I/O, no threads, no exceptions, no allocation in steady state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

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
};

struct LevelView {
  Price price;
  Qty qty;
  std::uint32_t orders;
};

struct TopView {
  Price bid_price = 0;  // 0 with bid_qty 0 when the side is empty
  Qty bid_qty = 0;
  Price ask_price = 0;
  Qty ask_qty = 0;
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

  // --- queries (not for the hot path) ---
  const wire::InstrumentDefinition* instrument(InstrumentId id) const noexcept;  // nullptr if undefined
  std::vector<InstrumentId> instrument_ids() const;                               // ascending
  // Up to max_levels levels of one side, best first; returns how many were written.
  std::size_t depth(InstrumentId id, Side side, std::size_t max_levels, LevelView* out) const noexcept;
  TopView top(InstrumentId id) const noexcept;
  Price last_price(InstrumentId id) const noexcept;  // 0 before the first trade
  Money balance(AccountId account) const noexcept;
  std::size_t live_orders() const noexcept;           // resting plus untriggered stops
  SeqNo output_seq() const noexcept;                  // seq of the last output event written
  const EngineConfig& config() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cascade
