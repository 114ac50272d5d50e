// A growable, 8-byte aligned buffer of encoded events. The engine appends its output here;
// capacity is kept across clear(), so steady-state appends do not allocate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <span>

#include "cascade/wire.hpp"

namespace cascade {

class EventBuffer {
 public:
  explicit EventBuffer(std::size_t initial_capacity = 1 << 16) { reserve(initial_capacity); }
  ~EventBuffer() { std::free(data_); }
  EventBuffer(const EventBuffer&) = delete;
  EventBuffer& operator=(const EventBuffer&) = delete;
  EventBuffer(EventBuffer&& o) noexcept : data_(o.data_), size_(o.size_), cap_(o.cap_) {
    o.data_ = nullptr;
    o.size_ = o.cap_ = 0;
  }

  template <class T>
  void append(const T& msg) {
    static_assert(wire::is_message_v<T>);
    append_raw(&msg, sizeof(T));
  }

  // A zeroed T at the end, to be filled in place (no copy through the stack). The reference
  // is valid until the next append or emplace, which may move the buffer.
  template <class T>
  T& emplace() {
    static_assert(wire::is_message_v<T>);
    if (size_ + sizeof(T) > cap_) grow(size_ + sizeof(T));
    T* m = ::new (static_cast<void*>(data_ + size_)) T();  // value-initialised: all bytes zero
    size_ += sizeof(T);
    return *m;
  }

  void append_raw(const void* p, std::size_t n) {
    if (size_ + n > cap_) grow(size_ + n);
    std::memcpy(data_ + size_, p, n);
    size_ += n;
  }

  std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  void clear() noexcept { size_ = 0; }

  void reserve(std::size_t n) {
    if (n > cap_) grow(n);
  }

 private:
  void grow(std::size_t need) {
    std::size_t cap = cap_ ? cap_ : 4096;
    while (cap < need) cap *= 2;
    // malloc alignment (>= 16) keeps every message 8-byte aligned for EventReader.
    auto* p = static_cast<std::byte*>(std::realloc(data_, cap));
    if (!p) throw std::bad_alloc();
    data_ = p;
    cap_ = cap;
  }

  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t cap_ = 0;
};

}  // namespace cascade
