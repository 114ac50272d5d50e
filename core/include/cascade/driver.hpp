// Embedding: the engine's output delivered to a listener chosen at compile time.
//
//   struct Printer {
//     void on_event(const cascade::EventView& ev) { if (ev.type() == cascade::wire::MsgType::Fill) ... }
//   };
//   cascade::Driver driver(config);
//   Printer printer;
//   driver.process(order, printer);   // printer.on_event(...) for each output event, in order
//
// driver.process(bytes, printer) takes a batch of framed events and runs the engine's prefetch
// ahead of them (prefetch_reader.hpp); the printer sees the same events in the same order.
//
// The listener is a template parameter, so each call is direct (and usually inlined): no
// virtual call and no std::function per event. The Engine inside is the same object the
// Pipeline (pipeline.hpp) runs on its own thread; both stay single-threaded. docs/embedding.md.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "cascade/engine.hpp"
#include "cascade/event_buffer.hpp"
#include "cascade/event_reader.hpp"
#include "cascade/prefetch_reader.hpp"
#include "cascade/wire.hpp"

namespace cascade {

template <class L>
concept EventListener = requires(L& l, const EventView& ev) { l.on_event(ev); };

// Calls listener.on_event for each event of bytes the engine wrote. The engine frames its own
// output correctly, so lengths are trusted here (EventReader is for bytes from outside).
template <EventListener Listener>
void for_each_output(std::span<const std::byte> bytes, Listener& listener) {
  const std::byte* p = bytes.data();
  const std::byte* const end = p + bytes.size();
  while (p < end) {
    const EventView ev(p);
    listener.on_event(ev);
    p += ev.size();
  }
}

// An Engine plus the buffer its output goes through on the way to a listener.
class Driver {
 public:
  explicit Driver(const EngineConfig& config = {}) : engine_(config) {}
  explicit Driver(Engine&& engine) : engine_(std::move(engine)) {}

  // Processes one input event; the listener sees its output events before this returns.
  template <EventListener Listener>
  void process(const EventView& event, Listener& listener) noexcept(noexcept(listener.on_event(event))) {
    out_.clear();
    engine_.process(event, out_);
    for_each_output(out_.bytes(), listener);
  }

  template <class T, EventListener Listener>
    requires wire::is_message_v<T>
  void process(const T& msg, Listener& listener) noexcept(noexcept(listener.on_event(EventView()))) {
    static_assert(wire::is_input(T::kType));
    process(EventView(reinterpret_cast<const std::byte*>(&msg)), listener);
  }

  // Processes a batch of framed input events (8-byte aligned, as EventReader takes) in order,
  // running the engine's prefetch ahead of them (PrefetchReader); the listener sees each
  // event's output before the next event is processed, the same events as from process()
  // one at a time. Returns the bytes consumed: bytes.size(), or the offset of the first
  // malformed event (nothing from it on is processed).
  template <EventListener Listener>
  std::size_t process(std::span<const std::byte> bytes, Listener& listener,
                      std::uint32_t distance = kPrefetchDistance) noexcept(noexcept(listener.on_event(EventView()))) {
    PrefetchReader r(engine_, bytes, 0, distance);
    std::size_t done = 0;
    for (EventView ev; r.next(ev);) {
      process(ev, listener);
      done = static_cast<std::size_t>(ev.data() - bytes.data()) + ev.size();
    }
    return done;
  }

  Engine& engine() noexcept { return engine_; }
  const Engine& engine() const noexcept { return engine_; }

 private:
  Engine engine_;
  EventBuffer out_;
};

}  // namespace cascade
