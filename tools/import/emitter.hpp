// Where converters put the input events they produce: a sink (file or memory) behind an
// emitter that numbers them and stamps the current source message's time and reference.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>

#include "cascade/event_buffer.hpp"
#include "cascade/event_file.hpp"
#include "cascade/wire.hpp"

namespace cascade::import {

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void put(std::span<const std::byte> message) = 0;
};

class BufferSink final : public EventSink {
 public:
  explicit BufferSink(EventBuffer& out) : out_(out) {}
  void put(std::span<const std::byte> m) override { out_.append_raw(m.data(), m.size()); }

 private:
  EventBuffer& out_;
};

class FileSink final : public EventSink {
 public:
  explicit FileSink(EventFileWriter& out) : out_(out) {}
  void put(std::span<const std::byte> m) override { out_.write_raw(m); }

 private:
  EventFileWriter& out_;
};

// What a conversion did; `convert` prints it.
struct ConvertStats {
  std::uint64_t messages = 0;         // source messages read
  std::uint64_t events = 0;           // input events written
  std::uint64_t synthetic = 0;        // of those, flagged wire::header_flags::kSynthetic
  std::uint64_t repairs = 0;          // source inconsistencies repaired (docs/importers.md)
  std::uint64_t reductions = 0;       // executions written as cancels/decreases (ITCH)
  std::uint64_t skipped = 0;          // order messages that could not be converted
  std::uint64_t instruments = 0;      // instruments defined
  std::uint64_t peak_orders = 0;      // most orders resting after any source message
};

class Emitter {
 public:
  Emitter(EventSink& sink, ConvertStats& stats) : sink_(sink), stats_(stats) {}

  // Time and source reference of the events that follow; time never goes backwards.
  void at(Timestamp ts_ns, std::uint64_t ref) noexcept {
    if (ts_ns > ts_) ts_ = ts_ns;
    ref_ = ref;
  }
  Timestamp now() const noexcept { return ts_; }
  std::uint64_t ref() const noexcept { return ref_; }

  template <class T>
  void emit(T msg, bool synthetic = false) {
    msg.header.length = sizeof(T);
    msg.header.type = T::kType;
    msg.header.flags = synthetic ? wire::header_flags::kSynthetic : 0;
    msg.header.reserved = 0;
    msg.header.seq = ++seq_;
    msg.header.ts_ns = ts_;
    msg.header.ref = ref_;
    sink_.put(std::as_bytes(std::span(&msg, 1)));
    ++stats_.events;
    if (synthetic) ++stats_.synthetic;
  }

 private:
  EventSink& sink_;
  ConvertStats& stats_;
  SeqNo seq_ = 0;
  Timestamp ts_ = std::numeric_limits<Timestamp>::min();
  std::uint64_t ref_ = 0;
};

}  // namespace cascade::import
