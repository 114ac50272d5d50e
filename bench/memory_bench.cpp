// The machine's dependent-load latency by working-set size: a random cyclic pointer chase,
// one cache line per hop. Gives the floor under any book operation that must follow a
// pointer into a large table (order index, order pool): one hop costs at least this much.
// huge:1 asks for transparent huge pages (madvise), showing what TLB misses add.
#include <benchmark/benchmark.h>
#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

#include "bench_support.hpp"

namespace {

struct alignas(64) Line {
  std::uint32_t next;
  std::uint32_t pad[15];
};
static_assert(sizeof(Line) == 64);

void BM_PointerChase(benchmark::State& state) {
  const std::size_t bytes = static_cast<std::size_t>(state.range(0));
  const std::size_t lines = bytes / sizeof(Line);
  void* raw = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) {
    state.SkipWithError("mmap failed");
    return;
  }
  if (state.range(1) != 0) ::madvise(raw, bytes, MADV_HUGEPAGE);
  Line* mem = static_cast<Line*>(raw);
  // One random cycle through every line (Sattolo's shuffle), so no hop is predictable.
  std::vector<std::uint32_t> order(lines);
  std::iota(order.begin(), order.end(), 0u);
  cascade::bench::Rng rng(7);
  for (std::size_t i = lines - 1; i > 0; --i) std::swap(order[i], order[rng.below(i)]);
  for (std::size_t i = 0; i < lines; ++i) mem[order[i]].next = order[(i + 1) % lines];

  std::uint32_t p = 0;
  for (std::size_t i = 0; i < lines; ++i) p = mem[p].next;  // warm: fault every page in
  constexpr int kHops = 1024;
  for (auto _ : state) {
    for (int i = 0; i < kHops; ++i) p = mem[p].next;
    benchmark::DoNotOptimize(p);
  }
  ::munmap(raw, bytes);
  state.SetItemsProcessed(state.iterations() * kHops);
  state.counters["ns_per_hop"] =
      benchmark::Counter(static_cast<double>(state.iterations() * kHops),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
// 32 KiB (L1), 1 MiB (L2), 16 MiB (beyond L2), 256 MiB (order index and pool sized).
BENCHMARK(BM_PointerChase)
    ->ArgNames({"bytes", "huge"})
    ->ArgsProduct({{32 << 10, 1 << 20, 16 << 20, 256 << 20}, {0, 1}});

}  // namespace

BENCHMARK_MAIN();
