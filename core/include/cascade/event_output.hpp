// Where the engine's parts write output events: stamps each with the engine's output
// counter and the input event's timestamp and seq (docs/matching.md, "Output order").
#pragma once

#include "cascade/event_buffer.hpp"
#include "cascade/types.hpp"
#include "cascade/wire.hpp"

namespace cascade {

class EventOutput {
 public:
  void begin(EventBuffer* buf, Timestamp ts, SeqNo ref) noexcept {
    buf_ = buf;
    ts_ = ts;
    ref_ = ref;
  }

  template <class T>
  T make() noexcept {
    T m = wire::make<T>();
    m.header.seq = ++seq_;
    m.header.ts_ns = ts_;
    m.header.ref = ref_;
    return m;
  }
  // make() and emit() in one, built in the output buffer: fill the fields in before the
  // next put() or emit() (the buffer may move then).
  template <class T>
  T& put() noexcept {
    T& m = buf_->emplace<T>();
    m.header.length = sizeof(T);
    m.header.type = T::kType;
    m.header.seq = ++seq_;
    m.header.ts_ns = ts_;
    m.header.ref = ref_;
    return m;
  }
  template <class T>
  void emit(const T& m) noexcept {
    buf_->append(m);
  }

  SeqNo seq() const noexcept { return seq_; }
  void restore_seq(SeqNo s) noexcept { seq_ = s; }  // snapshots: continue the numbering

 private:
  EventBuffer* buf_ = nullptr;
  SeqNo seq_ = 0;
  Timestamp ts_ = 0;
  SeqNo ref_ = 0;
};

}  // namespace cascade
