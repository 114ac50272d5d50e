// Owning array of zero-initialised trivially copyable elements from calloc: pages nobody
// touches are never committed, so capacity sized for the worst case costs address space only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <type_traits>

namespace cascade {

template <class T, std::size_t Align = alignof(T)>
class ZeroedArray {
  static_assert(std::is_trivially_copyable_v<T>);
  static_assert(Align >= alignof(T) && (Align & (Align - 1)) == 0);

 public:
  ZeroedArray() = default;
  ~ZeroedArray() { std::free(raw_); }
  ZeroedArray(const ZeroedArray&) = delete;
  ZeroedArray& operator=(const ZeroedArray&) = delete;
  ZeroedArray(ZeroedArray&& o) noexcept : raw_(o.raw_), data_(o.data_), size_(o.size_) {
    o.raw_ = nullptr;
    o.data_ = nullptr;
    o.size_ = 0;
  }
  ZeroedArray& operator=(ZeroedArray&& o) noexcept {
    if (this != &o) {
      std::free(raw_);
      raw_ = o.raw_;
      data_ = o.data_;
      size_ = o.size_;
      o.raw_ = nullptr;
      o.data_ = nullptr;
      o.size_ = 0;
    }
    return *this;
  }

  // Replaces the contents with n zeroed elements; false (and empty) if memory is refused.
  bool allocate(std::size_t n) noexcept {
    std::free(raw_);
    raw_ = nullptr;
    data_ = nullptr;
    size_ = 0;
    if (n == 0) return true;
    if (n > (SIZE_MAX - Align) / sizeof(T)) return false;
    // calloc only promises 16-byte alignment; over-allocate and align by hand rather than
    // use aligned_alloc + memset, which would commit every page.
    const std::size_t extra = Align > 16 ? Align : 0;
    raw_ = std::calloc(1, n * sizeof(T) + extra);
    if (!raw_) return false;
    auto addr = reinterpret_cast<std::uintptr_t>(raw_);
    addr = (addr + Align - 1) & ~static_cast<std::uintptr_t>(Align - 1);
    data_ = reinterpret_cast<T*>(addr);
    size_ = n;
    return true;
  }

  T& operator[](std::size_t i) noexcept { return data_[i]; }
  const T& operator[](std::size_t i) const noexcept { return data_[i]; }
  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }

 private:
  void* raw_ = nullptr;
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace cascade
