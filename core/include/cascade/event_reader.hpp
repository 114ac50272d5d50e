// Zero-copy decoder over a buffer of framed events. Never trusts a length: every message is
// checked against the bytes that remain and against its type's fixed size before it is used.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "cascade/wire.hpp"

namespace cascade {

enum class DecodeError : std::uint8_t {
  None = 0,
  Truncated,        // fewer bytes remain than the header or the declared length needs
  BadLength,        // length too small, not a multiple of 8, or not the type's size
  UnknownType,
  BadFlags,         // undefined header flag bits set
  NonZeroReserved,  // header.reserved must be 0
  BadFileHeader,
  Misaligned,       // buffer not 8-byte aligned
};

const char* describe(DecodeError e) noexcept;

// One decoded event: a view into the underlying buffer, valid while the buffer lives.
class EventView {
 public:
  EventView() = default;
  explicit EventView(const std::byte* p) noexcept : p_(p) {}

  const wire::MessageHeader& header() const noexcept {
    return *reinterpret_cast<const wire::MessageHeader*>(p_);
  }
  wire::MsgType type() const noexcept { return header().type; }
  std::size_t size() const noexcept { return header().length; }
  const std::byte* data() const noexcept { return p_; }

  // The message as T; the caller has checked type() == T::kType. Buffers handed to
  // EventReader are 8-byte aligned and every message is a multiple of 8 bytes, so the
  // cast is aligned; T is trivially copyable with no padding the wire doesn't have.
  template <class T>
  const T& as() const noexcept {
    static_assert(wire::is_message_v<T>);
    return *reinterpret_cast<const T*>(p_);
  }

 private:
  const std::byte* p_ = nullptr;
};

struct ReadError {
  DecodeError code = DecodeError::None;
  std::uint64_t offset = 0;     // byte offset of the bad message (from the start of the file)
  std::uint8_t type = 0;        // the bad message's type byte, when its header was readable
  std::uint32_t length = 0;     // its declared length
  std::uint64_t remaining = 0;  // bytes left in the buffer at that offset
  std::string message() const;  // "offset N: truncated event (new_order needs 88 bytes, 40 remain)"
};

// Decodes events from [begin, end). base_offset is the file offset of `begin`, so errors
// name file offsets.
class EventReader {
 public:
  EventReader() = default;
  EventReader(std::span<const std::byte> buf, std::uint64_t base_offset = 0) noexcept
      : p_(buf.data()), end_(buf.data() + buf.size()), begin_(buf.data()), base_(base_offset) {
    if (reinterpret_cast<std::uintptr_t>(p_) % 8 != 0) fail(DecodeError::Misaligned, {}, buf.size());
  }

  // The next event, or false at the end of the buffer or at the first bad message
  // (then error() says what and where; every event before it was returned).
  bool next(EventView& ev) noexcept {
    const std::size_t left = static_cast<std::size_t>(end_ - p_);
    if (left < sizeof(wire::MessageHeader)) {
      if (left != 0 && err_.code == DecodeError::None) fail(DecodeError::Truncated, {}, left);
      return false;
    }
    // The first 8 header bytes (length, type, flags, reserved) in one load straight from the
    // buffer: copying the header first puts a store-to-load forward on the path from one
    // event's type to the next event's address. The wire and the host are little-endian.
    std::uint64_t w;
    std::memcpy(&w, p_, sizeof w);
    const auto length = static_cast<std::uint16_t>(w);
    const auto type = static_cast<wire::MsgType>(w >> 16);
    const auto flags = static_cast<std::uint8_t>(w >> 24);
    const std::uint16_t want = wire::message_size(type);
    if (want == 0 || length != want || want > left || (flags & ~wire::header_flags::kAll) || (w >> 32) != 0)
      return reject(left);
    __builtin_prefetch(p_ + 1024);  // a hint: never faults, even past the end
    ev = EventView(p_);
    p_ += want;
    return true;
  }

  bool ok() const noexcept { return err_.code == DecodeError::None; }
  const ReadError& error() const noexcept { return err_; }
  std::uint64_t offset() const noexcept { return base_ + static_cast<std::uint64_t>(p_ - begin_); }
  bool at_end() const noexcept { return p_ == end_; }

 private:
  // The checks of next() in order, on a copy of the header: which one failed decides the error.
  bool reject(std::size_t left) noexcept {
    wire::MessageHeader h;
    std::memcpy(&h, p_, sizeof h);
    const std::uint16_t want = wire::message_size(h.type);
    if (want == 0) return fail(DecodeError::UnknownType, h, left);
    if (h.length != want) return fail(DecodeError::BadLength, h, left);
    if (want > left) return fail(DecodeError::Truncated, h, left);
    if (h.flags & ~wire::header_flags::kAll) return fail(DecodeError::BadFlags, h, left);
    return fail(DecodeError::NonZeroReserved, h, left);
  }

  bool fail(DecodeError e, const wire::MessageHeader& h, std::size_t left) noexcept {
    err_.code = e;
    err_.offset = offset();
    err_.type = static_cast<std::uint8_t>(h.type);
    err_.length = h.length;
    err_.remaining = left;
    end_ = p_;  // sticky: nothing after a bad message is decoded
    return false;
  }

  const std::byte* p_ = nullptr;
  const std::byte* end_ = nullptr;
  const std::byte* begin_ = nullptr;
  std::uint64_t base_ = 0;
  ReadError err_{};
};

}  // namespace cascade
