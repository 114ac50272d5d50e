// EngineConfig::prefault commits the engine's tables up front (docs/performance.md,
// "Prefault"): pages resident, contents unchanged, and the output byte for byte the same.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "cascade/engine.hpp"
#include "cascade/event_buffer.hpp"
#include "cascade/event_reader.hpp"
#include "cascade/zeroed_array.hpp"
#include "support/small_crash.hpp"

namespace {

using namespace cascade;

std::size_t resident_pages(const void* p, std::size_t bytes) {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> v((bytes + page - 1) / page);
  if (::mincore(const_cast<void*>(p), bytes, v.data()) != 0) return 0;
  std::size_t n = 0;
  for (unsigned char c : v) n += c & 1;
  return n;
}

std::size_t resident_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long size = 0, rss = 0;
  const int got = std::fscanf(f, "%lu %lu", &size, &rss);
  std::fclose(f);
  return got == 2 ? rss * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)) : 0;
}

TEST(Prefault, CommitMakesEveryPageResidentAndKeepsTheContents) {
  ZeroedArray<std::uint64_t> a;
  constexpr std::size_t kWords = 64 * 4096 / 8;  // 64 pages
  ASSERT_TRUE(a.allocate(kWords));
  EXPECT_EQ(resident_pages(a.data(), kWords * 8), 0u) << "mapped, not yet touched";
  a[5] = 42;
  a[kWords - 1] = 7;
  a.commit();
  EXPECT_EQ(resident_pages(a.data(), kWords * 8), 64u);
  EXPECT_EQ(a[5], 42u);
  EXPECT_EQ(a[kWords - 1], 7u);
  EXPECT_EQ(a[1000], 0u);
}

TEST(Prefault, TheEngineCommitsItsTablesAtConstruction) {
  EngineConfig c;
  c.max_orders = 1u << 16;  // a 4 MiB order pool (64 bytes an order)
  c.max_accounts = 1u << 12;
  c.max_positions = 1u << 12;
  c.max_instruments = 4;
  const std::size_t before = resident_bytes();
  ASSERT_GT(before, 0u) << "/proc/self/statm unreadable";
  Engine lazy(c);
  const std::size_t lazy_growth = resident_bytes() - before;
  c.prefault = true;
  const std::size_t between = resident_bytes();
  Engine eager(c);
  const std::size_t eager_growth = resident_bytes() - between;
  EXPECT_GE(eager_growth, std::size_t{c.max_orders} * 64) << "the order pool alone";
  EXPECT_LT(lazy_growth, std::size_t{c.max_orders} * 64 / 4);
}

TEST(Prefault, TheOutputIsTheSame) {
  EventBuffer day(1 << 24);
  scenario::Summary summary;
  std::string error;
  ASSERT_TRUE(cascade::testing::small_crash_day(day, summary, error)) << error;

  EngineConfig c;
  c.max_accounts = 1u << 14;
  c.max_orders = 1u << 16;
  c.max_positions = 1u << 16;
  c.max_instruments = 8;
  std::vector<EventBuffer> outs;
  for (const bool prefault : {false, true}) {
    c.prefault = prefault;
    Engine engine(c);
    EventBuffer& out = outs.emplace_back(1 << 24);
    EventReader r(day.bytes());
    for (EventView e; r.next(e);) engine.process(e, out);
    ASSERT_TRUE(r.ok());
    ASSERT_GT(engine.liquidation_totals().liquidations, 0u);
  }
  ASSERT_EQ(outs[0].size(), outs[1].size());
  EXPECT_TRUE(std::equal(outs[0].bytes().begin(), outs[0].bytes().end(), outs[1].bytes().begin()));
}

}  // namespace
