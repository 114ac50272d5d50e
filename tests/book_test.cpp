// The book's building blocks against brute-force models: the hierarchical level bitmap, the
// order id and key hash tables, the order pool, the price ladder with its cached best prices and
// per-event depth tracking, and the stop book.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <set>
#include <unordered_map>
#include <vector>

#include "cascade/account_table.hpp"
#include "cascade/depth_tracker.hpp"
#include "cascade/key_index.hpp"
#include "cascade/level_bitmap.hpp"
#include "cascade/order_book.hpp"
#include "cascade/order_index.hpp"
#include "cascade/order_pool.hpp"
#include "cascade/stop_book.hpp"
#include "cascade/zeroed_array.hpp"

namespace {

using namespace cascade;
constexpr std::uint32_t kNone = LevelBitmap::kNone;

std::uint32_t model_next(const std::set<std::uint32_t>& s, std::uint64_t i) {
  auto it = s.lower_bound(static_cast<std::uint32_t>(std::min<std::uint64_t>(i, UINT32_MAX)));
  if (i > UINT32_MAX || it == s.end()) return kNone;
  return *it;
}
std::uint32_t model_prev(const std::set<std::uint32_t>& s, std::uint64_t i) {
  auto it = s.upper_bound(static_cast<std::uint32_t>(std::min<std::uint64_t>(i, UINT32_MAX)));
  if (it == s.begin()) return kNone;
  return *--it;
}

TEST(ZeroedArray, ZeroedAndAligned) {
  ZeroedArray<std::uint64_t, 64> a;
  ASSERT_TRUE(a.allocate(1000));
  EXPECT_EQ(a.size(), 1000u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a.data()) % 64, 0u);
  for (std::size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], 0u);
  ZeroedArray<std::uint64_t, 64> b = std::move(a);
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(b.size(), 1000u);
  EXPECT_FALSE(b.allocate(SIZE_MAX / 4));
  EXPECT_EQ(b.size(), 0u);
}

TEST(LevelBitmap, EdgesOfEveryLayer) {
  for (std::uint32_t n : {2u, 63u, 64u, 65u, 4095u, 4096u, 4097u, 262144u, 262145u}) {
    SCOPED_TRACE(n);
    LevelBitmap b;
    ASSERT_TRUE(b.init(n));
    EXPECT_TRUE(b.empty());
    EXPECT_EQ(b.next(0), kNone);
    EXPECT_EQ(b.prev(n - 1), kNone);
    EXPECT_EQ(b.first(), kNone);
    EXPECT_EQ(b.last(), kNone);
    b.set(n - 1);
    EXPECT_FALSE(b.empty());
    EXPECT_EQ(b.first(), n - 1);
    EXPECT_EQ(b.last(), n - 1);
    EXPECT_EQ(b.next(0), n - 1);
    EXPECT_EQ(b.next(n - 1), n - 1);
    EXPECT_EQ(b.next(n), kNone);
    EXPECT_EQ(b.prev(UINT32_MAX), n - 1);
    b.set(0);
    EXPECT_EQ(b.first(), 0u);
    EXPECT_EQ(b.last(), n - 1);
    EXPECT_EQ(b.prev(n - 2), 0u);
    EXPECT_EQ(b.next(1), n - 1);
    b.clear(n - 1);
    EXPECT_EQ(b.next(1), kNone);
    EXPECT_EQ(b.prev(n - 1), 0u);
    b.clear(0);
    EXPECT_TRUE(b.empty());
    EXPECT_FALSE(b.test(0));
  }
}

TEST(LevelBitmap, SingleLevel) {
  LevelBitmap b;
  ASSERT_TRUE(b.init(1));
  b.set(0);
  EXPECT_EQ(b.first(), 0u);
  EXPECT_EQ(b.last(), 0u);
  EXPECT_EQ(b.next(0), 0u);
  EXPECT_EQ(b.next(1), kNone);
  EXPECT_EQ(b.prev(0), 0u);
  b.clear(0);
  EXPECT_EQ(b.prev(0), kNone);
  EXPECT_TRUE(b.empty());
}

TEST(LevelBitmap, MatchesAnOrderedSet) {
  std::mt19937 rng(7);
  for (std::uint32_t n : {100u, 5000u, 300000u}) {
    LevelBitmap b;
    ASSERT_TRUE(b.init(n));
    std::set<std::uint32_t> model;
    for (int step = 0; step < 20000; ++step) {
      // Cluster the indices so that words fill and drain completely.
      const std::uint32_t base = static_cast<std::uint32_t>(rng() % 8) * (n / 8);
      const std::uint32_t i = std::min(n - 1, base + static_cast<std::uint32_t>(rng() % 200));
      if (rng() % 2) {
        b.set(i);
        model.insert(i);
      } else {
        b.clear(i);
        model.erase(i);
      }
      const std::uint32_t q = static_cast<std::uint32_t>(rng() % n);
      ASSERT_EQ(b.test(q), model.count(q) == 1);
      ASSERT_EQ(b.next(q), model_next(model, q)) << n << " " << q;
      ASSERT_EQ(b.prev(q), model_prev(model, q)) << n << " " << q;
      ASSERT_EQ(b.first(), model.empty() ? kNone : *model.begin());
      ASSERT_EQ(b.last(), model.empty() ? kNone : *model.rbegin());
      ASSERT_EQ(b.empty(), model.empty());
    }
  }
}

TEST(OrderPool, AllocatesUpToCapacityAndReuses) {
  static_assert(sizeof(OrderNode) == 64);
  static_assert(alignof(OrderNode) == 64);
  OrderPool p;
  ASSERT_TRUE(p.init(3));
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(&p[1]) % 64, 0u);
  const OrderIdx a = p.alloc(), b = p.alloc(), c = p.alloc();
  EXPECT_EQ(a, 1u);
  EXPECT_EQ(b, 2u);
  EXPECT_EQ(c, 3u);
  EXPECT_TRUE(p.full());
  EXPECT_EQ(p.alloc(), kNilOrder);
  EXPECT_EQ(p.used(), 3u);
  p[b].id = 99;
  p[b].qty = 5;
  p.release(b);
  EXPECT_EQ(p.used(), 2u);
  const OrderIdx d = p.alloc();
  EXPECT_EQ(d, b);
  EXPECT_EQ(p[d].id, 0u);  // a reused node starts clean
  EXPECT_EQ(p[d].qty, 0);
  EXPECT_EQ(p.alloc(), kNilOrder);
}

TEST(KeyIndex, CapacityIsAPowerOfTwoAtLeastTwiceTheEntries) {
  KeyIndex ix;
  ASSERT_TRUE(ix.init(1000));
  EXPECT_EQ(ix.capacity(), 2048u);
  ASSERT_TRUE(ix.init(1024));
  EXPECT_EQ(ix.capacity(), 2048u);
  ASSERT_TRUE(ix.init(1));
  EXPECT_EQ(ix.capacity(), 16u);
}

TEST(KeyIndex, BackwardShiftKeepsCollidingChainsFindable) {
  KeyIndex ix;
  ASSERT_TRUE(ix.init(8));  // 16 slots
  // Keys sharing a home slot near the end of the table, so their run wraps around.
  std::vector<std::uint64_t> same;
  const std::uint64_t target = ix.capacity() - 2;
  for (std::uint64_t key = 1; same.size() < 5; ++key)
    if (ix.home(key) == target) same.push_back(key);
  for (std::size_t i = 0; i < same.size(); ++i) ix.insert(same[i], static_cast<std::uint32_t>(i + 1));
  for (std::size_t i = 0; i < same.size(); ++i) EXPECT_EQ(ix.find(same[i]), i + 1);
  ix.erase(same[1]);
  EXPECT_EQ(ix.find(same[1]), 0u);
  for (std::size_t i = 0; i < same.size(); ++i) {
    if (i != 1) {
      EXPECT_EQ(ix.find(same[i]), i + 1);
    }
  }
  ix.erase(same[0]);
  ix.erase(same[4]);
  EXPECT_EQ(ix.find(same[2]), 3u);
  EXPECT_EQ(ix.find(same[3]), 4u);
  EXPECT_EQ(ix.size(), 2u);
  ix.erase(12345678);  // absent: no effect
  EXPECT_EQ(ix.size(), 2u);
}

TEST(KeyIndex, MatchesAHashMapUnderChurn) {
  KeyIndex ix;
  ASSERT_TRUE(ix.init(64));
  std::unordered_map<std::uint64_t, std::uint32_t> model;
  std::mt19937_64 rng(3);
  for (int step = 0; step < 200000; ++step) {
    const std::uint64_t key = 1 + rng() % 200;  // dense keys: long runs
    const auto it = model.find(key);
    if (it == model.end()) {
      if (model.size() < 64) {
        const auto v = static_cast<std::uint32_t>(1 + rng() % 1000);
        ix.insert(key, v);
        model[key] = v;
      }
    } else if (rng() % 2) {
      ix.erase(key);
      model.erase(it);
    }
    const std::uint64_t q = 1 + rng() % 220;
    const auto m = model.find(q);
    ASSERT_EQ(ix.find(q), m == model.end() ? 0u : m->second) << step;
  }
  EXPECT_EQ(ix.size(), model.size());
}

// The order id index keeps no ids: entries point at pool nodes holding them.
class OrderIndexTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(pool.init(64)); }
  OrderIdx add(OrderId id) {
    const OrderIdx o = pool.alloc();
    pool[o].id = id;
    ix.insert(id, o);
    return o;
  }
  void remove(OrderIdx o) {
    ix.erase(pool[o].id, o);
    pool.release(o);
  }
  // Ids whose hashes differ by d: the same tag (and home) for small d, as long as the
  // hash's low half does not carry into the tag.
  static OrderId with_hash_plus(OrderId id, std::uint64_t d) {
    std::uint64_t inv = 0x9E3779B97F4A7C15ull;  // Newton: inverse of the multiplier mod 2^64
    for (int k = 0; k < 6; ++k) inv *= 2 - 0x9E3779B97F4A7C15ull * inv;
    return id + d * inv;
  }
  OrderPool pool;
  OrderIndex ix;
};

TEST_F(OrderIndexTest, CapacityIsAPowerOfTwoAtLeastTwiceTheOrders) {
  ASSERT_TRUE(ix.init(1000, &pool));
  EXPECT_EQ(ix.capacity(), 2048u);
  ASSERT_TRUE(ix.init(1024, &pool));
  EXPECT_EQ(ix.capacity(), 2048u);
  ASSERT_TRUE(ix.init(1, &pool));
  EXPECT_EQ(ix.capacity(), 16u);
  static_assert(sizeof(OrderIndex::Slot) == 8);
}

TEST_F(OrderIndexTest, EqualTagsAreToldApartByTheNode) {
  ASSERT_TRUE(ix.init(8, &pool));  // 16 slots
  OrderId base = 1;
  while ((base * 0x9E3779B97F4A7C15ull & 0xFFFFFFFFull) > 0xFFFFFF00ull) ++base;  // no carry below
  const OrderId a = base, b = with_hash_plus(base, 1), c = with_hash_plus(base, 2);
  ASSERT_EQ(ix.home(a), ix.home(b));
  ASSERT_EQ(ix.home(a), ix.home(c));
  const OrderIdx oa = add(a);
  const OrderIdx ob = add(b);
  EXPECT_EQ(ix.find(a), oa);
  EXPECT_EQ(ix.find(b), ob);
  EXPECT_EQ(ix.find(c), kNilOrder);  // its tag matches both slots, its id neither node
  EXPECT_EQ(ix.candidate(a), oa);
  EXPECT_EQ(ix.candidate(b), oa);  // the hint's rare miss: the first equal tag
  remove(oa);
  EXPECT_EQ(ix.find(a), kNilOrder);
  EXPECT_EQ(ix.find(b), ob);
  EXPECT_EQ(ix.candidate(b), ob);
  EXPECT_EQ(ix.candidate(a), ob);
  remove(ob);
  EXPECT_EQ(ix.find(b), kNilOrder);
  EXPECT_EQ(ix.candidate(b), kNilOrder);
  EXPECT_EQ(ix.size(), 0u);
}

TEST_F(OrderIndexTest, BackwardShiftKeepsCollidingChainsFindable) {
  ASSERT_TRUE(ix.init(8, &pool));  // 16 slots
  // Ids sharing a home slot near the end of the table, so their run wraps around.
  std::vector<OrderId> same;
  const std::uint64_t target = ix.capacity() - 2;
  for (OrderId id = 1; same.size() < 5; ++id)
    if (ix.home(id) == target) same.push_back(id);
  std::vector<OrderIdx> node;
  for (const OrderId id : same) node.push_back(add(id));
  for (std::size_t i = 0; i < same.size(); ++i) EXPECT_EQ(ix.find(same[i]), node[i]);
  remove(node[1]);
  EXPECT_EQ(ix.find(same[1]), kNilOrder);
  for (std::size_t i = 0; i < same.size(); ++i) {
    if (i != 1) {
      EXPECT_EQ(ix.find(same[i]), node[i]);
    }
  }
  remove(node[0]);
  remove(node[4]);
  EXPECT_EQ(ix.find(same[2]), node[2]);
  EXPECT_EQ(ix.find(same[3]), node[3]);
  EXPECT_EQ(ix.size(), 2u);
  ix.erase(12345678, 63);  // absent: no effect
  EXPECT_EQ(ix.size(), 2u);
}

TEST_F(OrderIndexTest, MatchesAHashMapUnderChurn) {
  ASSERT_TRUE(ix.init(64, &pool));
  // Dense ids (long runs) and, for some, an id with the same tag (told apart by the node).
  std::vector<OrderId> ids;
  for (OrderId id = 1; id <= 200; ++id) ids.push_back(id);
  for (OrderId id = 1; id <= 40; ++id) ids.push_back(with_hash_plus(id, 1 + id % 3));
  std::unordered_map<OrderId, OrderIdx> model;
  std::mt19937_64 rng(3);
  for (int step = 0; step < 200000; ++step) {
    const OrderId id = ids[rng() % ids.size()];
    const auto it = model.find(id);
    if (it == model.end()) {
      if (model.size() < 64) model[id] = add(id);
    } else if (rng() % 2) {
      remove(it->second);
      model.erase(it);
    }
    const OrderId q = rng() % 8 == 0 ? 1000 + rng() % 20 : ids[rng() % ids.size()];
    const auto m = model.find(q);
    ASSERT_EQ(ix.find(q), m == model.end() ? kNilOrder : m->second) << step;
  }
  EXPECT_EQ(ix.size(), model.size());
}

// An order book over a pool, driven directly.
class OrderBookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(pool.init(32));
    ASSERT_TRUE(tracker.init(64));
    ASSERT_TRUE(book.init(7, 100, 5, 201, &pool, &tracker));  // prices 100..1100 step 5
  }
  OrderIdx add(Side side, Price price, Qty qty) {
    const OrderIdx o = pool.alloc();
    pool[o].side = side;
    pool[o].price = price;
    pool[o].qty = qty;
    book.push_back(o);
    return o;
  }
  void end_event() {
    for (std::uint32_t i = 0; i < tracker.size(); ++i) book.end_event_level(static_cast<std::uint32_t>(tracker[i].key));
    book.end_event();
    tracker.clear();
  }
  std::vector<OrderIdx> queue(Price p) const {
    std::vector<OrderIdx> r;
    for (OrderIdx o = book.level(book.index(p)).head; o != kNilOrder; o = pool[o].next) r.push_back(o);
    return r;
  }

  OrderPool pool;
  DepthTracker tracker;
  OrderBook book;
};

TEST_F(OrderBookTest, PriceIndexMapping) {
  EXPECT_EQ(book.index(100), 0u);
  EXPECT_EQ(book.index(1100), 200u);
  EXPECT_EQ(book.price(3), 115);
  EXPECT_EQ(book.levels(), 201u);
}

TEST_F(OrderBookTest, FifoQueuesAndBestPrices) {
  EXPECT_EQ(book.best_bid(), kNone);
  EXPECT_EQ(book.best_ask(), kNone);
  const OrderIdx b1 = add(Side::Buy, 500, 1), b2 = add(Side::Buy, 500, 2), b3 = add(Side::Buy, 495, 3);
  const OrderIdx a1 = add(Side::Sell, 600, 4), a2 = add(Side::Sell, 505, 5);
  EXPECT_EQ(book.price(book.best_bid()), 500);
  EXPECT_EQ(book.price(book.best_ask()), 505);
  EXPECT_EQ(queue(500), (std::vector<OrderIdx>{b1, b2}));
  EXPECT_EQ(book.level(book.index(500)).qty, 3);
  EXPECT_EQ(book.level(book.index(500)).count, 2u);
  // Removing from the middle, head and tail of a queue.
  const OrderIdx b4 = add(Side::Buy, 500, 4);
  book.unlink(b2);
  EXPECT_EQ(queue(500), (std::vector<OrderIdx>{b1, b4}));
  book.unlink(b1);
  EXPECT_EQ(queue(500), (std::vector<OrderIdx>{b4}));
  EXPECT_EQ(book.price(book.best_bid()), 500);
  book.unlink(b4);
  EXPECT_EQ(book.price(book.best_bid()), 495);  // drained best level: next one down
  book.unlink(b3);
  EXPECT_EQ(book.best_bid(), kNone);
  book.unlink(a2);
  EXPECT_EQ(book.price(book.best_ask()), 600);  // drained best ask: next one up
  book.reduce(a1, 3);
  EXPECT_EQ(pool[a1].qty, 1);
  EXPECT_EQ(book.top().ask_qty, 1);
  book.unlink(a1);
  EXPECT_EQ(book.best_ask(), kNone);
  EXPECT_EQ(book.top().ask_price, 0);
  EXPECT_EQ(book.next_worse(Side::Buy, 0), kNone);
}

TEST_F(OrderBookTest, DepthTrackerRecordsEachLevelOnceWithItsStartState) {
  add(Side::Buy, 500, 1);
  add(Side::Sell, 600, 2);
  end_event();
  EXPECT_FALSE(book.touched());
  const OrderIdx x = add(Side::Buy, 500, 3);
  add(Side::Buy, 500, 4);
  book.unlink(x);
  add(Side::Sell, 700, 5);
  ASSERT_TRUE(book.touched());
  EXPECT_EQ(book.top_before().bid_price, 500);
  EXPECT_EQ(book.top_before().bid_qty, 1);
  EXPECT_EQ(book.top_before().ask_qty, 2);
  ASSERT_EQ(tracker.size(), 2u);
  tracker.sort();
  EXPECT_EQ(tracker[0].key, (std::uint64_t{7} << 32) | book.index(500));
  EXPECT_EQ(tracker[0].start_qty, 1);
  EXPECT_EQ(tracker[0].start_count, 1u);
  EXPECT_EQ(tracker[0].start_side, Side::Buy);
  EXPECT_EQ(tracker[1].key, (std::uint64_t{7} << 32) | book.index(700));
  EXPECT_EQ(tracker[1].start_count, 0u);
  end_event();
  add(Side::Buy, 500, 1);
  ASSERT_EQ(tracker.size(), 1u);
  EXPECT_EQ(tracker[0].start_qty, 5);
  EXPECT_EQ(tracker[0].start_count, 2u);
}

TEST(StopBook, FiringOrder) {
  OrderPool pool;
  ASSERT_TRUE(pool.init(16));
  StopBook stops;
  ASSERT_TRUE(stops.init(10, 1, 1000, &pool));
  const auto add = [&](Side side, Price trigger) {
    const OrderIdx o = pool.alloc();
    pool[o].side = side;
    pool[o].trigger = trigger;
    stops.push_back(o);
    return o;
  };
  EXPECT_TRUE(stops.empty());
  EXPECT_EQ(stops.first_triggered(500), kNilOrder);
  const OrderIdx b100 = add(Side::Buy, 100), b90 = add(Side::Buy, 90), b90b = add(Side::Buy, 90);
  const OrderIdx s80 = add(Side::Sell, 80), s70 = add(Side::Sell, 70);
  EXPECT_EQ(stops.first_triggered(85), kNilOrder);
  EXPECT_EQ(stops.first_triggered(90), b90);  // lowest buy trigger, oldest first
  stops.unlink(b90);
  EXPECT_EQ(stops.first_triggered(95), b90b);
  stops.unlink(b90b);
  EXPECT_EQ(stops.first_triggered(95), kNilOrder);
  EXPECT_EQ(stops.first_triggered(100), b100);
  EXPECT_EQ(stops.first_triggered(80), s80);  // highest sell trigger
  stops.unlink(s80);
  EXPECT_EQ(stops.first_triggered(10), s70);
  stops.unlink(s70);
  stops.unlink(b100);
  EXPECT_TRUE(stops.empty());
}

TEST(StopBook, FollowingIsTheFiringOrderOfOneSide) {
  OrderPool pool;
  ASSERT_TRUE(pool.init(16));
  StopBook stops;
  ASSERT_TRUE(stops.init(10, 1, 1000, &pool));
  const auto add = [&](Side side, Price trigger) {
    const OrderIdx o = pool.alloc();
    pool[o].side = side;
    pool[o].trigger = trigger;
    stops.push_back(o);
    return o;
  };
  const OrderIdx s80 = add(Side::Sell, 80), s70 = add(Side::Sell, 70), s80b = add(Side::Sell, 80);
  const OrderIdx s10 = add(Side::Sell, 10), b90 = add(Side::Buy, 90), b95 = add(Side::Buy, 95);
  bool fires = false;
  // The rest of the queue fires at any price that fired its head.
  EXPECT_EQ(stops.following(s80, 1000, fires), s80b);
  EXPECT_TRUE(fires);
  // Then the next lower sell trigger: fired once the last price is at or below it.
  EXPECT_EQ(stops.following(s80b, 75, fires), s70);
  EXPECT_FALSE(fires);
  EXPECT_EQ(stops.following(s80b, 70, fires), s70);
  EXPECT_TRUE(fires);
  EXPECT_EQ(stops.following(s70, 70, fires), s10);
  EXPECT_FALSE(fires);
  EXPECT_EQ(stops.following(s10, 5, fires), kNilOrder);  // the lowest trigger (index 0)
  // Buys go up.
  EXPECT_EQ(stops.following(b90, 94, fires), b95);
  EXPECT_FALSE(fires);
  EXPECT_EQ(stops.following(b90, 95, fires), b95);
  EXPECT_TRUE(fires);
  EXPECT_EQ(stops.following(b95, 1000, fires), kNilOrder);
  // After an unlink the queue closes over the gap.
  stops.unlink(s80b);
  EXPECT_EQ(stops.following(s80, 70, fires), s70);
  EXPECT_TRUE(fires);
}

TEST(AccountTable, ListKeepsAcceptanceOrder) {
  OrderPool pool;
  ASSERT_TRUE(pool.init(8));
  AccountTable accounts;
  ASSERT_TRUE(accounts.init(4, &pool));
  OrderIdx o[4];
  for (auto& x : o) {
    x = pool.alloc();
    accounts.push_back(2, x);
  }
  accounts.unlink(2, o[0]);
  accounts.unlink(2, o[2]);
  std::vector<OrderIdx> seen;
  for (OrderIdx i = accounts[2].head; i != kNilOrder; i = pool[i].acct_next) seen.push_back(i);
  EXPECT_EQ(seen, (std::vector<OrderIdx>{o[1], o[3]}));
  EXPECT_EQ(accounts[2].tail, o[3]);
  accounts.unlink(2, o[3]);
  accounts.unlink(2, o[1]);
  EXPECT_EQ(accounts[2].head, kNilOrder);
  EXPECT_EQ(accounts[2].tail, kNilOrder);
}

}  // namespace
