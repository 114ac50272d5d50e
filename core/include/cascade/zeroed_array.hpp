// Owning array of zero-initialised trivially copyable elements mapped straight from the
// kernel: pages nobody touches are never committed, so capacity sized for the worst case
// costs address space only — whatever allocator the host process uses (some allocators clear
// a large calloc by hand, committing every page).
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace cascade {

template <class T, std::size_t Align = alignof(T)>
class ZeroedArray {
  static_assert(std::is_trivially_copyable_v<T>);
  static_assert(Align >= alignof(T) && (Align & (Align - 1)) == 0 && Align <= 4096,
                "mappings are page aligned");

 public:
  ZeroedArray() = default;
  ~ZeroedArray() { release(); }
  ZeroedArray(const ZeroedArray&) = delete;
  ZeroedArray& operator=(const ZeroedArray&) = delete;
  ZeroedArray(ZeroedArray&& o) noexcept : data_(o.data_), size_(o.size_), bytes_(o.bytes_) {
    o.data_ = nullptr;
    o.size_ = o.bytes_ = 0;
  }
  ZeroedArray& operator=(ZeroedArray&& o) noexcept {
    if (this != &o) {
      release();
      data_ = o.data_;
      size_ = o.size_;
      bytes_ = o.bytes_;
      o.data_ = nullptr;
      o.size_ = o.bytes_ = 0;
    }
    return *this;
  }

  // Replaces the contents with n zeroed elements; false (and empty) if memory is refused.
  // `huge`: ask for transparent huge pages (2 MiB) for tables accessed at random, where a
  // 4 KiB-page TLB miss adds to every cache miss; each touched 2 MiB is then committed whole.
  bool allocate(std::size_t n, bool huge = false) noexcept {
    release();
    if (n == 0) return true;
    if (n > SIZE_MAX / sizeof(T)) return false;
    const std::size_t bytes = n * sizeof(T);
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return false;
#ifdef MADV_HUGEPAGE
    if (huge) ::madvise(p, bytes, MADV_HUGEPAGE);  // advice only: 4 KiB pages if refused
#else
    (void)huge;
#endif
    data_ = static_cast<T*>(p);
    size_ = n;
    bytes_ = bytes;
    return true;
  }

  // Commits every page now, contents unchanged, so that no first touch (a page fault: 1 to
  // 12 us, more where the hypervisor backs guest memory on demand) lands on the hot path.
  void commit() noexcept {
    if (data_ == nullptr) return;
#ifdef MADV_POPULATE_WRITE
    if (::madvise(data_, bytes_, MADV_POPULATE_WRITE) == 0) return;  // Linux 5.14+
#endif
    auto* p = reinterpret_cast<volatile unsigned char*>(data_);
    for (std::size_t o = 0; o < bytes_; o += 4096) p[o] = p[o];
  }

  T& operator[](std::size_t i) noexcept { return data_[i]; }
  const T& operator[](std::size_t i) const noexcept { return data_[i]; }
  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }

 private:
  void release() noexcept {
    if (data_) ::munmap(data_, bytes_);
    data_ = nullptr;
    size_ = bytes_ = 0;
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t bytes_ = 0;
};

}  // namespace cascade
