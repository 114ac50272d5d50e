// Per-account state: the collateral balance, the intrusive list of live orders in acceptance
// order (mass cancel and reduce-only re-checks walk it; liquidation will too), the head of the
// account's position records and its margin flags.
#pragma once

#include <cstdint>

#include "cascade/order_pool.hpp"
#include "cascade/positions.hpp"
#include "cascade/types.hpp"
#include "cascade/zeroed_array.hpp"

namespace cascade {

namespace account_flags {
inline constexpr std::uint8_t kDirty = 1;            // reported by a MarginUpdate at the end of the event
inline constexpr std::uint8_t kBelow = 2;            // cross equity below cross maintenance margin
inline constexpr std::uint8_t kIsolatedDefault = 4;  // margin mode of instruments without their own setting
inline constexpr std::uint8_t kBackstop = 8;         // role: backstop (liquidation.md)
inline constexpr std::uint8_t kPending = 16;         // changed since the cascade loop last evaluated it
inline constexpr std::uint8_t kCandidate = 32;       // cross unit found below, awaiting detection
inline constexpr std::uint8_t kQueued = 64;          // cross unit in the liquidation queue
}  // namespace account_flags

struct Account {
  OrderIdx head;  // oldest live order
  OrderIdx tail;
  Money balance;  // collateral C
  PosIdx positions;  // head of the account's position records
  std::uint8_t flags;  // account_flags
  std::uint8_t pad0[3];
};
static_assert(sizeof(Account) == 24);

class AccountTable {
 public:
  bool init(std::uint32_t max_accounts, OrderPool* pool) noexcept {
    pool_ = pool;
    return accounts_.allocate(max_accounts);
  }

  void commit() noexcept { accounts_.commit(); }

  std::uint32_t size() const noexcept { return static_cast<std::uint32_t>(accounts_.size()); }
  Account& operator[](AccountId a) noexcept { return accounts_[a]; }
  const Account& operator[](AccountId a) const noexcept { return accounts_[a]; }

  void push_back(AccountId a, OrderIdx o) noexcept {
    Account& acc = accounts_[a];
    OrderNode& n = (*pool_)[o];
    n.acct_next = kNilOrder;
    n.acct_prev = acc.tail;
    if (acc.tail != kNilOrder) (*pool_)[acc.tail].acct_next = o; else acc.head = o;
    acc.tail = o;
  }

  void unlink(AccountId a, OrderIdx o) noexcept {
    Account& acc = accounts_[a];
    OrderNode& n = (*pool_)[o];
    if (n.acct_prev != kNilOrder) (*pool_)[n.acct_prev].acct_next = n.acct_next; else acc.head = n.acct_next;
    if (n.acct_next != kNilOrder) (*pool_)[n.acct_next].acct_prev = n.acct_prev; else acc.tail = n.acct_prev;
    n.acct_next = n.acct_prev = kNilOrder;
  }

 private:
  ZeroedArray<Account> accounts_;
  OrderPool* pool_ = nullptr;
};

}  // namespace cascade
