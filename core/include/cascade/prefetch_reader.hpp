// An EventReader that decodes a window of events ahead of the one it returns and tells the
// engine what they will touch (Engine::prefetch, prefetch_resolved, prefetch_linked), so the cache
// misses of several events overlap instead of following each other. The events come out in
// order, unchanged: processing them gives the same output as a plain EventReader.
//
//   PrefetchReader r(engine, bytes);
//   for (EventView ev; r.next(ev);) engine.process(ev, out);
//   if (!r.ok()) ... r.error() as EventReader's, once every event before it was returned
//
// For events decoded beforehand (a vector of views), prefetch_ahead() is the same schedule.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "cascade/engine.hpp"
#include "cascade/event_reader.hpp"

namespace cascade {

// Events between prefetch_resolved() and process(); prefetch() runs twice as far ahead and
// prefetch_linked() half as far. One event costs 0.2-2 us on a large book and a miss
// 0.16-0.23 us, so each stage is at least one event ahead of the load that needs it; 1 to 4
// measured alike (docs/performance.md, "Prefetching across events").
inline constexpr std::uint32_t kPrefetchDistance = 2;
inline constexpr std::uint32_t kMaxPrefetchDistance = 15;

// The three stages for event i of a decoded batch: prefetch() for i + 2d, prefetch_resolved()
// for i + d, prefetch_linked() for i + d/2 (d >= 2). Call it right before processing event i;
// d = 0 issues nothing.
inline void prefetch_ahead(const Engine& engine, std::span<const EventView> events, std::size_t i,
                           std::uint32_t d = kPrefetchDistance) noexcept {
  if (d == 0) return;
  if (i + 2 * std::size_t{d} < events.size()) engine.prefetch(events[i + 2 * std::size_t{d}]);
  if (i + d < events.size()) engine.prefetch_resolved(events[i + d]);
  if (d >= 2 && i + d / 2 < events.size()) engine.prefetch_linked(events[i + d / 2]);
}

class PrefetchReader {
 public:
  // distance 0 prefetches nothing (a plain EventReader); above kMaxPrefetchDistance it is capped.
  PrefetchReader(const Engine& engine, std::span<const std::byte> buf, std::uint64_t base_offset = 0,
                 std::uint32_t distance = kPrefetchDistance) noexcept
      : engine_(&engine), reader_(buf, base_offset),
        d_(distance < kMaxPrefetchDistance ? distance : kMaxPrefetchDistance), window_(2 * d_ + 1) {}

  // The next event in order, or false at the end or at the first malformed event, exactly
  // as EventReader::next.
  bool next(EventView& ev) noexcept {
    // Keep up to 2d + 1 events decoded: each one entering the window is 2d ahead.
    while (count_ < window_ && reader_.next(ring_[(head_ + count_) & kMask])) {
      if (d_ != 0) engine_->prefetch(ring_[(head_ + count_) & kMask]);
      ++count_;
    }
    if (count_ == 0) return false;
    ev = ring_[head_];
    if (count_ > d_ && d_ != 0) engine_->prefetch_resolved(ring_[(head_ + d_) & kMask]);
    if (count_ > d_ / 2 && d_ >= 2) engine_->prefetch_linked(ring_[(head_ + d_ / 2) & kMask]);
    head_ = (head_ + 1) & kMask;
    --count_;
    return true;
  }

  // As EventReader's, but the decoder runs ahead: ok() turns false (and error() is set) while
  // events before the bad one are still to be returned; read them after next() returns false.
  bool ok() const noexcept { return reader_.ok(); }
  const ReadError& error() const noexcept { return reader_.error(); }
  std::uint32_t distance() const noexcept { return d_; }

 private:
  static constexpr std::uint32_t kRing = 32;  // > 2 * kMaxPrefetchDistance + 1, a power of two
  static constexpr std::uint32_t kMask = kRing - 1;
  static_assert(kRing > 2 * kMaxPrefetchDistance + 1);

  const Engine* engine_;
  EventReader reader_;
  std::uint32_t d_;
  std::uint32_t window_;
  std::uint32_t head_ = 0;
  std::uint32_t count_ = 0;
  std::array<EventView, kRing> ring_{};
};

}  // namespace cascade
