// Batches (docs/embedding.md, "Batches"): Engine::process_batch, Driver's batch overload and
// PrefetchReader must write the same output bytes as process() one event at a time, and the
// prefetch hints must be harmless on any bytes.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "cascade/driver.hpp"
#include "cascade/engine.hpp"
#include "cascade/event_buffer.hpp"
#include "cascade/event_reader.hpp"
#include "cascade/prefetch_reader.hpp"
#include "support/small_crash.hpp"
#include "support/events.hpp"
#include "support/random_events.hpp"

namespace {

using namespace cascade;
namespace ev = cascade::testing;

struct Collector {
  EventBuffer* out;
  void on_event(const EventView& e) { out->append_raw(e.data(), e.size()); }
};

// Index of the first differing byte, or -1 when equal.
long long first_difference(std::span<const std::byte> a, std::span<const std::byte> b) {
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return static_cast<long long>(i);
  return a.size() == b.size() ? -1 : static_cast<long long>(n);
}

// The input bytes and the output of one-at-a-time processing for a random stream; the
// generator learns from the engine's output as the differential tests' does from the reference.
struct Recorded {
  EventBuffer input{1 << 20};
  EventBuffer output{1 << 20};
};

Recorded record(std::uint64_t seed, const ev::GeneratorConfig& config, std::size_t events) {
  Recorded r;
  ev::RandomEvents gen(seed, config);
  Engine engine(config.engine);
  EventBuffer one;
  for (std::size_t i = 0; i < events; ++i) {
    const EventView e = gen.next();
    r.input.append_raw(e.data(), e.size());
    one.clear();
    engine.process(e, one);
    gen.observe(one.bytes());
    r.output.append_raw(one.bytes().data(), one.size());
  }
  return r;
}

// Every batch path over `input`, each on a fresh engine, against `want`.
void expect_batches_match(const EngineConfig& config, std::span<const std::byte> input, std::span<const std::byte> want,
                          const std::string& what) {
  {
    Engine engine(config);
    EventBuffer out;
    EXPECT_EQ(engine.process_batch(input, out), input.size()) << what;
    EXPECT_EQ(first_difference(out.bytes(), want), -1) << what << ": process_batch";
  }
  {  // batches of 1 to 97 events: the window restarts at every boundary
    Engine engine(config);
    EventBuffer out;
    EventReader cut(input);
    std::size_t start = 0, n = 0, limit = 1;
    for (EventView e; cut.next(e);) {
      const std::size_t end = static_cast<std::size_t>(e.data() - input.data()) + e.size();
      if (++n == limit) {
        EXPECT_EQ(engine.process_batch(input.subspan(start, end - start), out), end - start) << what;
        start = end;
        n = 0;
        limit = limit % 97 + 1;
      }
    }
    engine.process_batch(input.subspan(start), out);
    EXPECT_EQ(first_difference(out.bytes(), want), -1) << what << ": process_batch in pieces";
  }
  for (const std::uint32_t d : {1u, 15u, 40u}) {  // 40 is capped at kMaxPrefetchDistance
    Driver driver(config);
    EventBuffer out;
    Collector c{&out};
    EXPECT_EQ(driver.process(input, c, d), input.size()) << what;
    EXPECT_EQ(first_difference(out.bytes(), want), -1) << what << ": Driver, distance " << d;
  }
}

TEST(Batch, RandomStreamsMatchOneAtATime) {
  struct Case {
    const char* name;
    ev::GeneratorConfig config;
  };
  std::vector<Case> cases;
  {
    ev::GeneratorConfig c;
    c.engine = {.max_instruments = 4, .max_accounts = 6, .max_orders = 256, .max_levels_per_book = 4096};
    c.instruments = 4;
    c.accounts = 5;
    cases.push_back({"small", c});
  }
  {
    ev::GeneratorConfig c;  // capacities exhausted: rejects for orders, positions, accounts
    c.engine = {.max_instruments = 2, .max_accounts = 3, .max_orders = 10, .max_levels_per_book = 256,
                .max_positions = 4};
    c.instruments = 2;
    c.accounts = 3;
    cases.push_back({"tiny", c});
  }
  {
    ev::GeneratorConfig c;  // deep books, many accounts, stops cascading
    c.engine = {.max_instruments = 4, .max_accounts = 64, .max_orders = 1u << 14, .max_levels_per_book = 1u << 12};
    c.instruments = 3;
    c.accounts = 40;
    c.account_base = 20;
    c.aggression_per_mille = 300;
    cases.push_back({"deep", c});
  }
  {
    ev::GeneratorConfig c;
    c.engine = {.max_instruments = 4, .max_accounts = 6, .max_orders = 256, .max_levels_per_book = 4096};
    c.layouts = ev::Layouts::Extreme;
    cases.push_back({"extreme", c});
  }
  for (const Case& c : cases) {
    for (const std::uint64_t seed : {1ull, 0x5eedull}) {
      const Recorded r = record(seed, c.config, 6000);
      ASSERT_GT(r.output.size(), 0u);
      expect_batches_match(c.config.engine, r.input.bytes(), r.output.bytes(),
                           std::string(c.name) + " seed " + std::to_string(seed));
    }
  }
}

TEST(Batch, CrashDayMatchesOneAtATime) {
  EventBuffer day(1 << 22);
  cascade::scenario::Summary summary;
  std::string error;
  ASSERT_TRUE(cascade::testing::small_crash_day(day, summary, error)) << error;

  Engine one;
  EventBuffer want(1 << 24), step;
  EventReader r(day.bytes());
  for (EventView e; r.next(e);) {
    step.clear();
    one.process(e, step);
    want.append_raw(step.bytes().data(), step.size());
  }
  ASSERT_TRUE(r.ok());
  ASSERT_GT(one.liquidation_totals().liquidations, 0u);
  expect_batches_match(EngineConfig{}, day.bytes(), want.bytes(), "crash day");

  Engine batch;
  EventBuffer got(1 << 24);
  batch.process_batch(day.bytes(), got);
  EXPECT_EQ(batch.output_seq(), one.output_seq());
  EXPECT_EQ(batch.live_orders(), one.live_orders());
  EXPECT_EQ(batch.liquidation_totals().liquidations, one.liquidation_totals().liquidations);
}

// A batch stops at its first malformed event, after processing every event before it.
TEST(Batch, StopsAtTheFirstMalformedEvent) {
  EventBuffer in;
  in.append(ev::instrument(1, 1000, 0, 1, 1, 1, 100000, 1000));
  in.append(ev::deposit(2, 1001, 7, 1'000'000'000'000, 1));
  in.append(ev::limit(3, 1002, 11, 7, 0, Side::Buy, 500, 3));
  const std::size_t good = in.size();
  auto bad = ev::cancel(4, 1003, 11, 7, 0);
  bad.header.length = 40;  // not the cancel's size
  in.append(bad);
  in.append(ev::cancel(5, 1004, 11, 7, 0));

  Engine a, b;
  EventBuffer want, got;
  EventReader r(in.bytes());
  for (EventView e; r.next(e);) a.process(e, want);
  EXPECT_EQ(r.error().code, DecodeError::BadLength);
  EXPECT_EQ(b.process_batch(in.bytes(), got), good);
  EXPECT_EQ(first_difference(got.bytes(), want.bytes()), -1);
  EXPECT_EQ(b.live_orders(), 1u);

  // Misaligned: nothing is decoded, nothing processed.
  std::vector<std::uint64_t> words(in.size() / 8 + 1);
  std::memcpy(reinterpret_cast<std::byte*>(words.data()) + 4, in.bytes().data(), good);
  Engine c;
  EventBuffer none;
  EXPECT_EQ(c.process_batch(std::span<const std::byte>(reinterpret_cast<const std::byte*>(words.data()) + 4, good), none), 0u);
  EXPECT_TRUE(none.empty());

  PrefetchReader pr(c, in.bytes());
  std::size_t n = 0;
  for (EventView e; pr.next(e);) ++n;
  EXPECT_EQ(n, 3u);
  EXPECT_FALSE(pr.ok());
  EXPECT_EQ(pr.error().code, DecodeError::BadLength);
  EXPECT_EQ(pr.error().offset, good);
}

// The hints read nothing outside the engine's tables and change nothing, whatever the bytes:
// every type byte with every length, and fields at and past their limits.
TEST(Prefetch, AnyBytesAreHarmless) {
  const EngineConfig config{.max_instruments = 4, .max_accounts = 8, .max_orders = 64, .max_levels_per_book = 1024,
                            .max_positions = 16};
  EventBuffer setup;
  setup.append(ev::instrument(1, 1000, 2, 1, 1, 1, 1000, 1000));
  setup.append(ev::deposit(2, 1001, 3, 1'000'000'000'000, 1));
  setup.append(ev::limit(3, 1002, 42, 3, 2, Side::Sell, 600, 5));
  setup.append(ev::limit(4, 1003, 43, 3, 2, Side::Buy, 400, 5));
  Engine hinted(config), plain(config);
  EventBuffer out_hinted, out_plain;
  ASSERT_EQ(hinted.process_batch(setup.bytes(), out_hinted), setup.size());
  ASSERT_EQ(plain.process_batch(setup.bytes(), out_plain), setup.size());

  ev::Rng rng(7);
  alignas(8) std::byte buf[256];
  const std::uint64_t extremes[] = {0, 1, 2, 3, 4, 7, 8, 42, 43, 63, 64, 1000, 1024, 0xFFFF, 0xFFFFFFFF,
                                    0x8000000000000000ull, 0xFFFFFFFFFFFFFFFFull};
  std::size_t calls = 0;
  for (unsigned type = 0; type < 256; ++type) {
    const std::uint16_t want = wire::message_size(static_cast<wire::MsgType>(type));
    for (const std::uint16_t length : {std::uint16_t{0}, std::uint16_t{32}, want, static_cast<std::uint16_t>(want + 8),
                                       std::uint16_t{0xFFF8}}) {
      for (int trial = 0; trial < 40; ++trial) {
        // Random bodies, or every 8-byte field set to one extreme value.
        for (std::size_t k = 0; k < sizeof buf; k += 8) {
          const std::uint64_t v = trial < 20 ? rng.next() : extremes[(trial + k / 8) % std::size(extremes)];
          std::memcpy(buf + k, &v, 8);
        }
        wire::MessageHeader h{};
        std::memcpy(&h, buf, sizeof h);
        h.type = static_cast<wire::MsgType>(type);
        h.length = length;
        std::memcpy(buf, &h, sizeof h);
        const EventView e(buf);
        hinted.prefetch(e);
        hinted.prefetch_resolved(e);
        hinted.prefetch_linked(e);
        ++calls;
      }
    }
  }
  EXPECT_EQ(calls, 256u * 5 * 40);
  EXPECT_EQ(hinted.output_seq(), plain.output_seq());
  EXPECT_EQ(hinted.live_orders(), plain.live_orders());
  // The same next events give the same output: the hints changed no state.
  EventBuffer next;
  next.append(ev::cancel(5, 1004, 42, 3, 2));
  next.append(ev::limit(6, 1005, 44, 3, 2, Side::Buy, 600, 2));
  out_hinted.clear();
  out_plain.clear();
  hinted.process_batch(next.bytes(), out_hinted);
  plain.process_batch(next.bytes(), out_plain);
  EXPECT_EQ(first_difference(out_hinted.bytes(), out_plain.bytes()), -1);
  EXPECT_FALSE(out_plain.empty());
}

}  // namespace
