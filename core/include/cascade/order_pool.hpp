// Preallocated pool of live orders (resting orders and untriggered stops), addressed by u32
// index. Index 0 is the nil sentinel, so zeroed memory reads as "no link" everywhere.
#pragma once

#include <cstdint>

#include "cascade/types.hpp"
#include "cascade/zeroed_array.hpp"

namespace cascade {

using OrderIdx = std::uint32_t;
inline constexpr OrderIdx kNilOrder = 0;

enum class OrderState : std::uint8_t { Free = 0, Resting = 1, Stop = 2, Incoming = 3 };

// One cache line per order. The matching loop reads account, qty, next and id of the head
// order; all of them sit in this line together with both intrusive lists' links.
struct alignas(64) OrderNode {
  OrderId id;
  Price price;      // limit price; stop-market: worst price (0 = none)
  Qty qty;          // open quantity
  Price trigger;    // stop orders only
  AccountId account;
  InstrumentId instrument;
  OrderIdx next;    // FIFO of the price level (or of the stop trigger level)
  OrderIdx prev;
  OrderIdx acct_next;  // the account's live orders in acceptance order
  OrderIdx acct_prev;
  Side side;
  OrderType type;
  TimeInForce tif;
  std::uint8_t flags;
  SelfTradePrevention stp;
  OrderState state;
  std::uint8_t sweep;  // FOK dry run's mark (kSweep*); zero outside it
  std::uint8_t pad0;
};
inline constexpr std::uint8_t kSweepFilled = 1;   // the dry run filled it
inline constexpr std::uint8_t kSweepDropped = 2;  // a reduce-only order an earlier fill would cancel
static_assert(sizeof(OrderNode) == 64, "one cache line per resting order");

class OrderPool {
 public:
  bool init(std::uint32_t capacity, bool huge_pages = false) noexcept {
    capacity_ = capacity;
    free_head_ = kNilOrder;
    high_water_ = 1;
    used_ = 0;
    return nodes_.allocate(static_cast<std::size_t>(capacity) + 1, huge_pages);
  }

  // kNilOrder when full. Fresh slots come from the high-water mark first so the pool only
  // commits pages as deep as the peak number of live orders.
  OrderIdx alloc() noexcept {
    OrderIdx i;
    if (free_head_ != kNilOrder) {
      i = free_head_;
      free_head_ = nodes_[i].next;
    } else if (high_water_ <= capacity_) {
      i = high_water_++;
    } else {
      return kNilOrder;
    }
    ++used_;
    nodes_[i] = OrderNode{};
    return i;
  }

  void release(OrderIdx i) noexcept {
    nodes_[i].state = OrderState::Free;
    nodes_[i].next = free_head_;
    free_head_ = i;
    --used_;
  }

  void commit() noexcept { nodes_.commit(); }

  OrderNode& operator[](OrderIdx i) noexcept { return nodes_[i]; }
  const OrderNode& operator[](OrderIdx i) const noexcept { return nodes_[i]; }
  std::uint32_t used() const noexcept { return used_; }
  std::uint32_t capacity() const noexcept { return capacity_; }
  bool full() const noexcept { return used_ >= capacity_; }

 private:
  ZeroedArray<OrderNode, 64> nodes_;
  std::uint32_t capacity_ = 0;
  OrderIdx free_head_ = kNilOrder;
  OrderIdx high_water_ = 1;
  std::uint32_t used_ = 0;
};

}  // namespace cascade
