// The maintenance watch's heap against a brute-force model: random inserts, key moves and
// erases on two heaps keeping their slots in the same position records, checking after each operation that the top
// holds the smallest key, that every slot names its own entry, and that popping every key
// below a threshold (as a mark move does) visits exactly the model's set.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "cascade/positions.hpp"
#include "cascade/watch_heap.hpp"
#include "cascade/zeroed_array.hpp"

namespace {

using namespace cascade;

struct Model {
  std::map<PosIdx, Price> keys;
  Price min_key() const {
    Price m = keys.begin()->second;
    for (const auto& [p, k] : keys) m = std::min(m, k);
    return m;
  }
};

void check(const WatchHeap& h, const Model& m, const ZeroedArray<Position>& slots, std::uint32_t Position::*slot,
           std::uint32_t n) {
  ASSERT_EQ(h.size(), m.keys.size());
  if (!m.keys.empty()) {
    EXPECT_EQ(h.top().key, m.min_key());
  }
  for (PosIdx p = 0; p < n; ++p) {
    EXPECT_EQ(slots[p].*slot != 0, m.keys.count(p) == 1) << p;
  }
}

TEST(WatchHeap, MatchesModelUnderRandomSetsErasesAndPops) {
  constexpr std::uint32_t kPositions = 700;
  ZeroedArray<Position> slots;
  ASSERT_TRUE(slots.allocate(kPositions + 1));
  WatchHeap lo, hi;
  ASSERT_TRUE(lo.init(kPositions, slots.data(), &Position::heap_lo));
  ASSERT_TRUE(hi.init(kPositions, slots.data(), &Position::heap_hi));
  Model mlo, mhi;
  std::mt19937_64 rng(7);
  for (int round = 0; round < 40; ++round) {
    for (int op = 0; op < 2000; ++op) {
      const bool use_lo = rng() & 1;
      WatchHeap& h = use_lo ? lo : hi;
      Model& m = use_lo ? mlo : mhi;
      const auto p = static_cast<PosIdx>(1 + rng() % kPositions);
      const auto key = static_cast<Price>(rng() % 97) - 40;  // many ties
      if (rng() % 4 == 0) {
        h.erase(p);
        m.keys.erase(p);
      } else {
        h.set(p, key);
        m.keys[p] = key;
      }
      if (op % 97 == 0) {
        check(lo, mlo, slots, &Position::heap_lo, kPositions + 1);
        check(hi, mhi, slots, &Position::heap_hi, kPositions + 1);
      }
    }
    // A mark move: every entry below the threshold pops and moves above it, or leaves.
    const auto threshold = static_cast<Price>(rng() % 60) - 30;
    std::set<PosIdx> want, got;
    for (const auto& [p, k] : mlo.keys)
      if (k < threshold) want.insert(p);
    while (!lo.empty() && lo.top().key < threshold) {
      const PosIdx p = lo.top().pos;
      EXPECT_TRUE(got.insert(p).second);
      if (p % 3 == 0) {
        lo.erase(p);
        mlo.keys.erase(p);
      } else {
        const auto k = threshold + static_cast<Price>(rng() % 50);
        lo.set(p, k);
        mlo.keys[p] = k;
      }
    }
    EXPECT_EQ(got, want);
    check(lo, mlo, slots, &Position::heap_lo, kPositions + 1);
    check(hi, mhi, slots, &Position::heap_hi, kPositions + 1);
  }
  // Emptied one by one from the top, keys come out in order.
  Price last = INT64_MIN;
  while (!hi.empty()) {
    const WatchHeap::Entry e = hi.top();
    EXPECT_LE(last, e.key);
    last = e.key;
    hi.erase(e.pos);
    EXPECT_EQ(slots[e.pos].heap_hi, 0u);
  }
}

}  // namespace
