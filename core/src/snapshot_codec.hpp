// Snapshot records (docs/snapshots.md): each is a u16 tag, a u16 zero, a u32 payload length,
// then the payload, fields little-endian in a fixed order. A reader skips tags it does not
// know, so a later minor version may add records. Internal to the library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace cascade::snap {

enum Tag : std::uint16_t {
  kConfig = 1,
  kClock = 2,
  kLiquidationTotals = 3,
  kMarginTotals = 4,
  kInstrument = 5,
  kAccount = 6,
  kPosition = 7,
  kOrder = 8,
  kAccountOrders = 9,
  kEnd = 0xFFFF,  // payload: FNV-1a 64 of every byte before this record
};

class Writer {
 public:
  explicit Writer(std::vector<std::byte>& out) : out_(out) {}

  void begin(Tag tag) {
    start_ = out_.size();
    put(static_cast<std::uint16_t>(tag));
    put(std::uint16_t{0});
    put(std::uint32_t{0});
  }
  void end() {
    const auto n = static_cast<std::uint32_t>(out_.size() - start_ - 8);
    std::memcpy(out_.data() + start_ + 4, &n, sizeof n);
  }

  template <class T>
  void put(T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* p = reinterpret_cast<const std::byte*>(&v);
    out_.insert(out_.end(), p, p + sizeof v);
  }
  void raw(const void* p, std::size_t n) {
    const auto* b = static_cast<const std::byte*>(p);
    out_.insert(out_.end(), b, b + n);
  }

 private:
  std::vector<std::byte>& out_;
  std::size_t start_ = 0;
};

// Reads one record's payload (or the record stream).
class Reader {
 public:
  Reader() = default;
  explicit Reader(std::span<const std::byte> b) : p_(b.data()), end_(b.data() + b.size()) {}

  template <class T>
  bool get(T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (static_cast<std::size_t>(end_ - p_) < sizeof v) return bad_ = true, false;
    std::memcpy(&v, p_, sizeof v);
    p_ += sizeof v;
    return true;
  }
  template <class T>
  T get() {
    T v{};
    get(v);
    return v;
  }
  bool raw(void* dst, std::size_t n) {
    if (static_cast<std::size_t>(end_ - p_) < n) return bad_ = true, false;
    std::memcpy(dst, p_, n);
    p_ += n;
    return true;
  }
  // The next record of a record stream: its tag and a reader over its payload.
  bool next(std::uint16_t& tag, Reader& payload) {
    std::uint16_t zero = 0;
    std::uint32_t n = 0;
    if (p_ == end_) return false;
    if (!get(tag) || !get(zero) || !get(n) || static_cast<std::size_t>(end_ - p_) < n) return bad_ = true, false;
    payload = Reader({p_, n});
    p_ += n;
    return true;
  }
  bool ok() const noexcept { return !bad_; }
  const std::byte* pos() const noexcept { return p_; }

 private:
  const std::byte* p_ = nullptr;
  const std::byte* end_ = nullptr;
  bool bad_ = false;
};

}  // namespace cascade::snap

namespace cascade {

class Engine;

// The engine's side (engine.cpp, its snapshot section): records in, records out.
struct SnapshotAccess {
  static void save(const Engine& e, snap::Writer& w);
  static bool restore(Engine& e, snap::Reader& records, std::string& error);
};

}  // namespace cascade
