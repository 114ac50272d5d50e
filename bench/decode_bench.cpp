// Decoder throughput: EventReader over a stream of order-entry sized events, from memory and
// from a memory-mapped event file. The consumer reads one field of each event's body, as a
// real consumer must, so the loop cannot skip the bytes.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "cascade/event_file.hpp"
#include "cascade/event_reader.hpp"

namespace {

using namespace cascade;
using cascade::bench::Rng;
using cascade::bench::StreamWriter;

// An in-memory stream of about `bytes` bytes: 40% new_order (88 B), 35% cancel (48 B),
// 10% modify (64 B), 15% fill (112 B), in random order; 72 B per event on average.
struct Stream {
  std::unique_ptr<StreamWriter> writer;
  std::size_t events = 0;
  std::span<const std::byte> bytes() const { return writer->buffer().bytes(); }
};

Stream make_stream(std::size_t bytes) {
  Stream s;
  s.writer = std::make_unique<StreamWriter>(bytes + 4096);
  StreamWriter& w = *s.writer;
  Rng rng(42);
  OrderId next_id = 1;
  while (w.buffer().size() + sizeof(wire::Fill) <= bytes) {
    const std::uint64_t pick = rng.below(100);
    const auto price = static_cast<Price>(131072 + rng.geometric(1000) * (rng.chance(0.5) ? 1 : -1));
    if (pick < 40) {
      auto m = wire::make<wire::NewOrder>();
      m.order_id = next_id++;
      m.account = static_cast<AccountId>(1 + rng.below(1000));
      m.instrument = 1;
      m.price = price;
      m.qty = 1 + rng.geometric(50);
      m.side = rng.chance(0.5) ? Side::Buy : Side::Sell;
      m.order_type = OrderType::Limit;
      m.tif = TimeInForce::GTC;
      w.add(m);
    } else if (pick < 75) {
      auto m = wire::make<wire::CancelOrder>();
      m.order_id = 1 + rng.below(next_id);
      m.account = static_cast<AccountId>(1 + rng.below(1000));
      m.instrument = 1;
      w.add(m);
    } else if (pick < 85) {
      auto m = wire::make<wire::ModifyOrder>();
      m.order_id = 1 + rng.below(next_id);
      m.account = static_cast<AccountId>(1 + rng.below(1000));
      m.instrument = 1;
      m.new_price = price;
      m.new_qty = 1 + rng.geometric(50);
      w.add(m);
    } else {
      auto m = wire::make<wire::Fill>();
      m.maker_order_id = 1 + rng.below(next_id);
      m.taker_order_id = next_id++;
      m.instrument = 1;
      m.aggressor_side = Side::Buy;
      m.price = price;
      m.qty = 1 + rng.geometric(20);
      w.add(m);
    }
  }
  s.events = w.count();
  return s;
}

const Stream& stream_of(std::size_t bytes) {
  static std::vector<std::pair<std::size_t, std::unique_ptr<Stream>>> cache;
  for (auto& [n, s] : cache)
    if (n == bytes) return *s;
  cache.emplace_back(bytes, std::make_unique<Stream>(make_stream(bytes)));
  return *cache.back().second;
}

// Decodes every event and folds its type and sequence number into the result: the decoder's
// own cost, with no branch on the type.
inline bool consume_headers(EventReader& r, std::uint64_t& sum, std::size_t& n) noexcept {
  EventView ev;
  while (r.next(ev)) {
    sum += static_cast<std::uint8_t>(ev.type()) + ev.header().seq;
    ++n;
  }
  return r.ok();
}

// Decodes every event and folds one body field per type into the result, as a consumer that
// dispatches on the type does (the types come in random order, so the dispatch mispredicts).
inline bool consume(EventReader& r, std::uint64_t& sum, std::size_t& n) noexcept {
  EventView ev;
  while (r.next(ev)) {
    switch (ev.type()) {
      case wire::MsgType::NewOrder:
        sum += static_cast<std::uint64_t>(ev.as<wire::NewOrder>().qty);
        break;
      case wire::MsgType::CancelOrder:
        sum += ev.as<wire::CancelOrder>().order_id;
        break;
      case wire::MsgType::ModifyOrder:
        sum += static_cast<std::uint64_t>(ev.as<wire::ModifyOrder>().new_qty);
        break;
      case wire::MsgType::Fill:
        sum += static_cast<std::uint64_t>(ev.as<wire::Fill>().qty);
        break;
      default:
        sum += static_cast<std::uint8_t>(ev.type());
        break;
    }
    ++n;
  }
  return r.ok();
}

void BM_DecodeMemory(benchmark::State& state) {
  const Stream& s = stream_of(static_cast<std::size_t>(state.range(0)));
  const bool dispatch = state.range(1) != 0;
  std::size_t n = 0;
  for (auto _ : state) {
    EventReader r(s.bytes());
    std::uint64_t sum = 0;
    const bool ok = dispatch ? consume(r, sum, n) : consume_headers(r, sum, n);
    if (!ok) state.SkipWithError("decode error");
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(n));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * s.bytes().size()));
  state.counters["events"] = static_cast<double>(s.events);
}
// 256 KiB stays in L2 (decode cost alone); 64 MiB streams from memory. dispatch:0 reads
// headers only, dispatch:1 switches on the type and reads a body field.
BENCHMARK(BM_DecodeMemory)->ArgNames({"bytes", "dispatch"})->ArgsProduct({{256 << 10, 64 << 20}, {0, 1}});

// The ceiling: the same bytes summed as 64-bit words, no decoding.
void BM_ReadMemory(benchmark::State& state) {
  const Stream& s = stream_of(static_cast<std::size_t>(state.range(0)));
  const auto* words = reinterpret_cast<const std::uint64_t*>(s.bytes().data());
  const std::size_t n = s.bytes().size() / 8;
  for (auto _ : state) {
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < n; ++i) sum += words[i];
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * s.events));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * s.bytes().size()));
}
BENCHMARK(BM_ReadMemory)->Arg(256 << 10)->Arg(64 << 20);

// A temporary event file holding the 64 MiB stream; removed at exit.
struct TempEventFile {
  std::string path;
  std::size_t events = 0;
  std::size_t bytes = 0;
  TempEventFile() {
    path = (std::filesystem::temp_directory_path() /
            ("cascade_decode_bench_" + std::to_string(::getpid()) + ".events"))
               .string();
    const Stream& s = stream_of(64 << 20);
    EventFileWriter w;
    std::string err;
    if (!w.open(path, make_file_header(wire::StreamKind::Input, 0, "decode_bench"), err)) return;
    w.write_raw(s.bytes());
    if (!w.close(err)) return;
    events = s.events;
    bytes = s.bytes().size();
  }
  ~TempEventFile() { std::filesystem::remove(path); }
};

const TempEventFile& temp_file() {
  static TempEventFile f;
  return f;
}

// Mapped once: after the first pass the page tables are populated, so this is the decoder
// over page-cache memory.
void BM_DecodeMappedFile(benchmark::State& state) {
  const TempEventFile& tf = temp_file();
  EventFile f;
  std::string err;
  if (tf.events == 0 || !f.open(tf.path, err)) {
    state.SkipWithError(("cannot write or open the event file " + tf.path + " " + err).c_str());
    return;
  }
  std::size_t n = 0;
  for (auto _ : state) {
    EventReader r = f.reader();
    std::uint64_t sum = 0;
    if (!consume(r, sum, n)) state.SkipWithError("decode error");
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(n));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * tf.bytes));
}
BENCHMARK(BM_DecodeMappedFile);

// Open, map, decode, unmap each time: includes the page faults of a fresh mapping
// (the file itself stays in the page cache).
void BM_DecodeOpenMappedFile(benchmark::State& state) {
  const TempEventFile& tf = temp_file();
  if (tf.events == 0) {
    state.SkipWithError(("cannot write the event file " + tf.path).c_str());
    return;
  }
  std::size_t n = 0;
  for (auto _ : state) {
    EventFile f;
    std::string err;
    if (!f.open(tf.path, err)) {
      state.SkipWithError(err.c_str());
      break;
    }
    EventReader r = f.reader();
    std::uint64_t sum = 0;
    if (!consume(r, sum, n)) state.SkipWithError("decode error");
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(n));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * tf.bytes));
}
BENCHMARK(BM_DecodeOpenMappedFile)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
