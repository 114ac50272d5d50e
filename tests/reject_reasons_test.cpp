// Hostile input, one test per kind (issue "Robustness"): every bad field and every exhausted
// capacity gets exactly one Rejected event with its own reason (docs/format.md, RejectReason;
// docs/matching.md and docs/margin.md say which check gives which), and the engine's state as
// its queries show it (verify::state_digest) is exactly what it was before the event.
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

#include "cascade/engine.hpp"
#include "cascade/event_buffer.hpp"
#include "cascade/event_reader.hpp"
#include "support/events.hpp"
#include "verify/state_digest.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define CASCADE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CASCADE_ASAN 1
#endif
#endif

namespace {

using namespace cascade;
namespace t = cascade::testing;
using R = wire::RejectReason;

constexpr AccountId A = 1, B = 2;
constexpr Money kUsd = 1'000'000;

class RejectReasons : public ::testing::Test {
 protected:
  static EngineConfig config() {
    EngineConfig c;
    c.max_instruments = 4;
    c.max_accounts = 8;
    c.max_orders = 8;
    c.max_levels_per_book = 1024;
    c.max_positions = 6;
    return c;
  }

  // Instrument 0: tick 5, lot 10, prices 100..1000, at most 1000 per order, 10% price band
  // around 500, 10% initial and 5% maintenance margin, no fees. Instrument 1: prices up to
  // 1,000 with any quantity, unmargined (for the notional bound).
  void SetUp() override {
    auto d = t::instrument(0, 0, 0, 5, 10, 100, 1000, 1000);
    d.reference_price = 500;
    d.price_band = 10'000'000;
    d.tier_count = 1;
    d.tiers[0] = wire::MarginTier{1'000'000'000 * kUsd, 10'000'000, 5'000'000, 0};
    accept(d);
    accept(t::instrument(0, 0, 1, 1, 1, 1, 1'000, std::numeric_limits<Qty>::max() / 2));
    for (AccountId a = 1; a < 8; ++a) accept(t::deposit(0, 0, a, 10'000 * kUsd, a));
    accept(t::index_price(0, 0, 0, 500));
    // A long 10 at 500 against B; A bids 10 at 480 (order 3); B's sell stop at 460 (order 4).
    accept(t::limit(0, 0, 1, A, 0, Side::Buy, 500, 10));
    accept(t::limit(0, 0, 2, B, 0, Side::Sell, 500, 10));
    accept(t::limit(0, 0, 3, A, 0, Side::Buy, 480, 10));
    accept(t::stop_market(0, 0, 4, B, 0, Side::Sell, 460, 10));
    ASSERT_EQ(engine.account(A).positions.at(0).size, 10);
    ASSERT_EQ(engine.live_orders(), 2u);
  }

  template <class T>
  std::vector<wire::MsgType> process(T msg) {
    msg.header.seq = ++seq;
    msg.header.ts_ns = ts += 1000;
    out.clear();
    engine.process(msg, out);
    std::vector<wire::MsgType> types;
    EventReader r(out.bytes());
    for (EventView ev; r.next(ev);) types.push_back(ev.type());
    return types;
  }

  template <class T>
  void accept(const T& msg) {
    const auto types = process(msg);
    for (const auto type : types) ASSERT_NE(type, wire::MsgType::Rejected) << "setup event " << seq;
  }

  // Sends msg; expects exactly one Rejected with `reason` naming the input, and no change to
  // anything the engine's queries show. Returns the Rejected event.
  template <class T>
  wire::Rejected reject(T msg, R reason) {
    const std::uint64_t before = verify::state_digest(engine);
    const std::size_t live = engine.live_orders();
    const auto types = process(msg);
    wire::Rejected r{};
    EXPECT_EQ(types, std::vector<wire::MsgType>{wire::MsgType::Rejected});
    if (types.size() != 1 || types[0] != wire::MsgType::Rejected) return r;
    std::memcpy(&r, out.bytes().data(), sizeof r);
    EXPECT_EQ(r.reason, reason) << "got reason " << static_cast<int>(r.reason);
    EXPECT_EQ(r.input_type, T::kType);
    EXPECT_EQ(r.header.ref, seq);
    EXPECT_EQ(verify::state_digest(engine), before) << "a rejected event changed the engine's state";
    EXPECT_EQ(engine.live_orders(), live);
    return r;
  }

  wire::NewOrder order(OrderId id, AccountId account, Side side, Price price, Qty qty, InstrumentId instrument = 0) {
    auto o = t::limit(0, 0, id, account, instrument, side, price, qty);
    o.client_order_id = 1000 + id;
    return o;
  }

  Engine engine{config()};
  EventBuffer out;
  SeqNo seq = 0;
  Timestamp ts = 1'000'000;
};

TEST_F(RejectReasons, UnknownInstrument) {
  const wire::Rejected r = reject(order(10, A, Side::Buy, 480, 10, 2), R::UnknownInstrument);
  EXPECT_EQ(r.id, 10u);
  EXPECT_EQ(r.client_order_id, 1010u);
  EXPECT_EQ(r.account, A);
  EXPECT_EQ(r.instrument, 2u);
  reject(order(11, A, Side::Buy, 480, 10, 99), R::UnknownInstrument);  // beyond max_instruments
  reject(t::cancel(0, 0, 3, A, 2), R::UnknownInstrument);
  reject(t::modify(0, 0, 3, A, 3, 485, 10), R::UnknownInstrument);
  reject(t::mass_cancel(0, 0, A, 2), R::UnknownInstrument);
  reject(t::index_price(0, 0, 2, 500), R::UnknownInstrument);
  reject(t::funding_rate(0, 0, 2, 1000), R::UnknownInstrument);
  reject(t::account_settings(0, 0, A, 2), R::UnknownInstrument);
}

TEST_F(RejectReasons, UnknownAccountIsTheAccountCapacity) {
  // Account ids are 0 .. max_accounts - 1: 8 is beyond the table, for every event naming one.
  const wire::Rejected r = reject(order(10, 8, Side::Buy, 480, 10), R::UnknownAccount);
  EXPECT_EQ(r.account, 8u);
  reject(order(11, std::numeric_limits<AccountId>::max(), Side::Buy, 480, 10), R::UnknownAccount);
  reject(t::cancel(0, 0, 3, 8, 0), R::UnknownAccount);
  reject(t::modify(0, 0, 3, 8, 0, 485, 10), R::UnknownAccount);
  reject(t::mass_cancel(0, 0, 8), R::UnknownAccount);
  EXPECT_EQ(reject(t::deposit(0, 0, 8, kUsd, 77), R::UnknownAccount).id, 77u);
  reject(t::withdrawal(0, 0, 8, kUsd, 78), R::UnknownAccount);
  reject(t::account_settings(0, 0, 8, kAllInstruments), R::UnknownAccount);
}

TEST_F(RejectReasons, ZeroOrNegativeQuantity) {
  reject(order(10, A, Side::Buy, 480, 0), R::InvalidQuantity);
  reject(order(10, A, Side::Buy, 480, -10), R::InvalidQuantity);
  reject(order(10, A, Side::Buy, 480, 1010), R::InvalidQuantity);  // above max_order_qty
  reject(t::modify(0, 0, 3, A, 0, 480, 0), R::InvalidQuantity);
  reject(t::modify(0, 0, 3, A, 0, 480, -10), R::InvalidQuantity);
  // Money amounts: deposits and withdrawals of zero or less.
  reject(t::deposit(0, 0, A, 0, 5), R::InvalidAmount);
  reject(t::deposit(0, 0, A, -kUsd, 5), R::InvalidAmount);
  reject(t::withdrawal(0, 0, A, 0, 5), R::InvalidAmount);
  reject(t::withdrawal(0, 0, A, -kUsd, 5), R::InvalidAmount);
}

TEST_F(RejectReasons, PriceOffTheTickGrid) {
  reject(order(10, A, Side::Buy, 482, 10), R::PriceOffTick);
  reject(t::modify(0, 0, 3, A, 0, 482, 10), R::PriceOffTick);
  reject(t::market(0, 0, 10, A, 0, Side::Sell, 10, 451), R::PriceOffTick);  // a market order's worst price
  reject(t::stop_market(0, 0, 10, A, 0, Side::Sell, 461, 10), R::InvalidTriggerPrice);
}

TEST_F(RejectReasons, PriceOutsideTheBand) {
  // Reference: the last trade, 500; band 10%: 450 ..= 550.
  reject(order(10, A, Side::Buy, 445, 10), R::PriceOutOfBand);
  reject(order(10, B, Side::Sell, 555, 10), R::PriceOutOfBand);
  reject(t::modify(0, 0, 3, A, 0, 445, 10), R::PriceOutOfBand);
  reject(t::stop_limit(0, 0, 10, B, 0, Side::Sell, 460, 440, 10), R::PriceOutOfBand);
  accept(order(10, A, Side::Buy, 450, 10));  // the band's edge is inside
}

TEST_F(RejectReasons, PriceOutsideTheBooksRangeIsItsCapacity) {
  reject(order(10, A, Side::Buy, 95, 10), R::PriceOutOfRange);
  reject(order(10, B, Side::Sell, 1005, 10), R::PriceOutOfRange);
  reject(t::modify(0, 0, 3, A, 0, 1005, 10), R::PriceOutOfRange);
  reject(t::market(0, 0, 10, A, 0, Side::Buy, 10, 1005), R::PriceOutOfRange);
  // A stop trigger outside the range has no queue to wait in.
  reject(t::stop_market(0, 0, 10, B, 0, Side::Sell, 95, 10), R::InvalidTriggerPrice);
  // A definition whose range needs more levels than max_levels_per_book (1024).
  reject(t::instrument(0, 0, 2, 1, 1, 1, 1025, 100), R::InvalidInstrument);
  accept(t::instrument(0, 0, 2, 1, 1, 1, 1024, 100));
}

TEST_F(RejectReasons, QuantityOffTheLotGrid) {
  reject(order(10, A, Side::Buy, 480, 15), R::QuantityOffLot);
  reject(t::modify(0, 0, 3, A, 0, 480, 15), R::QuantityOffLot);
}

TEST_F(RejectReasons, ValuesThatWouldOverflowANotional) {
  // Instrument 1: value(max_price 1000, q) = q * 1e9 micros must stay within 2^62.
  accept(order(10, A, Side::Buy, 1, 4'611'686'018, 1));
  reject(order(11, A, Side::Buy, 1, 1, 1), R::NotionalOverflow);
  reject(order(11, B, Side::Sell, 1, 4'611'686'019, 1), R::NotionalOverflow);
  reject(t::modify(0, 0, 10, A, 1, 1, 4'611'686'019), R::NotionalOverflow);
  // A deposit that would overflow the balance.
  reject(t::deposit(0, 0, A, std::numeric_limits<Money>::max(), 9), R::InvalidAmount);
}

TEST_F(RejectReasons, DuplicateOrderIds) {
  reject(order(3, B, Side::Sell, 520, 10), R::DuplicateOrderId);  // a resting order's id
  reject(order(4, A, Side::Buy, 470, 10), R::DuplicateOrderId);   // an untriggered stop's id
  reject(order(0, A, Side::Buy, 470, 10), R::InvalidOrderId);
  accept(order(1, A, Side::Buy, 470, 10));  // the id of a filled order may be used again
}

TEST_F(RejectReasons, TimestampsGoingBackwards) {
  auto o = order(10, A, Side::Buy, 480, 10);
  const std::uint64_t before = verify::state_digest(engine);
  o.header.seq = ++seq;
  o.header.ts_ns = ts - 1;
  out.clear();
  engine.process(o, out);
  ASSERT_EQ(out.size(), sizeof(wire::Rejected));
  wire::Rejected r;
  std::memcpy(&r, out.bytes().data(), sizeof r);
  EXPECT_EQ(r.reason, R::TimestampBackwards);
  EXPECT_EQ(r.header.ts_ns, ts - 1);
  EXPECT_EQ(verify::state_digest(engine), before);
  // The clock did not move back: the same timestamp as the last accepted event is fine.
  o.header.seq = ++seq;
  o.header.ts_ns = ts;
  out.clear();
  engine.process(o, out);
  EXPECT_EQ(out.bytes()[2], static_cast<std::byte>(wire::MsgType::OrderAccepted));
}

TEST_F(RejectReasons, ActingOnAnotherAccountsOrder) {
  const wire::Rejected r = reject(t::cancel(0, 0, 3, B, 0), R::NotOrderOwner);
  EXPECT_EQ(r.id, 3u);
  EXPECT_EQ(r.account, B);
  reject(t::modify(0, 0, 3, B, 0, 485, 10), R::NotOrderOwner);
  reject(t::cancel(0, 0, 4, A, 0), R::NotOrderOwner);  // B's stop
  // An id that is not live at all, or live on another instrument.
  reject(t::cancel(0, 0, 99, A, 0), R::UnknownOrder);
  reject(t::cancel(0, 0, 3, A, 1), R::UnknownOrder);
  // A mass cancel only ever reaches the account's own orders.
  process(t::mass_cancel(0, 0, B));
  EXPECT_EQ(engine.live_orders(), 1u);
  EXPECT_EQ(engine.account(A).positions.at(0).orders, 1u);
}

TEST_F(RejectReasons, WithdrawalBeyondFreeCollateral) {
  // docs/margin.md: amount <= min(C, equity) - IMR.
  const AccountView v = engine.account(A);
  const Money free = std::min(v.collateral, v.equity) - v.initial_margin;
  ASSERT_GT(v.initial_margin, 0);
  ASSERT_LT(free, v.collateral);
  EXPECT_EQ(reject(t::withdrawal(0, 0, A, free + 1, 42), R::InsufficientFunds).id, 42u);
  accept(t::withdrawal(0, 0, A, free, 43));
  EXPECT_EQ(engine.balance(A), v.collateral - free);
  reject(t::withdrawal(0, 0, A, 1, 44), R::InsufficientFunds);
}

TEST_F(RejectReasons, OrderPoolExhausted) {
  // Two live orders; six more fill the pool of eight.
  for (OrderId id = 10; id < 16; ++id) accept(order(id, id % 2 ? A : B, id % 2 ? Side::Buy : Side::Sell, id % 2 ? 470 : 530, 10));
  ASSERT_EQ(engine.live_orders(), 8u);
  reject(order(20, A, Side::Buy, 470, 10), R::OrderCapacity);
  reject(t::stop_market(0, 0, 21, B, 0, Side::Sell, 455, 10), R::OrderCapacity);  // stops share the pool
  reject(t::stop_limit(0, 0, 22, A, 0, Side::Buy, 540, 545, 10), R::OrderCapacity);
  // Orders that cannot rest still trade: an IOC takes the best bid.
  const auto types = process(t::limit(0, 0, 23, B, 0, Side::Sell, 480, 10, TimeInForce::IOC));
  EXPECT_EQ(types.at(1), wire::MsgType::Fill);
  EXPECT_EQ(engine.live_orders(), 7u);
}

TEST_F(RejectReasons, PositionRecordsExhausted) {
  // Records: (A, 0) and (B, 0); accounts 3..6 take the other four.
  for (AccountId a = 3; a <= 6; ++a) accept(order(10 + a, a, Side::Buy, 470, 10));
  ASSERT_EQ(engine.totals().position_records, 6u);
  reject(order(20, 7, Side::Buy, 470, 10), R::AccountCapacity);
  reject(t::account_settings(0, 0, 7, 0, wire::MarginMode::Isolated), R::AccountCapacity);
  accept(order(21, A, Side::Buy, 470, 10));  // an existing record still takes orders
}

TEST_F(RejectReasons, InstrumentsExhausted) {
  reject(t::instrument(0, 0, 4, 5, 10, 100, 1000, 1000), R::InvalidInstrument);
  reject(t::instrument(0, 0, kAllInstruments, 5, 10, 100, 1000, 1000), R::InvalidInstrument);
  // Redefining a book that holds live orders.
  reject(t::instrument(0, 0, 0, 5, 10, 100, 1000, 1000), R::InvalidInstrument);
}

TEST_F(RejectReasons, MarginRejectsLeaveNoRecordBehind) {
  // Account 7 has no record; an order it cannot afford is refused and its new record released.
  accept(t::withdrawal(0, 0, 7, 10'000 * kUsd - 1, 50));
  reject(order(30, 7, Side::Buy, 480, 10), R::InsufficientMargin);
  EXPECT_EQ(engine.totals().position_records, 2u);
  auto ro = order(31, 7, Side::Sell, 520, 10);
  ro.flags = order_flags::kReduceOnly;
  reject(ro, R::ReduceOnlyWouldIncrease);
}

}  // namespace

namespace {

// The digest the tests above compare does see every kind of accepted change.
TEST_F(RejectReasons, TheStateDigestSeesAcceptedEvents) {
  std::uint64_t d = verify::state_digest(engine);
  const auto changed = [&] {
    const std::uint64_t now = verify::state_digest(engine);
    const bool moved = now != d;
    d = now;
    return moved;
  };
  accept(order(10, A, Side::Buy, 475, 10));
  EXPECT_TRUE(changed());
  accept(t::modify(0, 0, 10, A, 0, 475, 20));
  EXPECT_TRUE(changed());
  accept(t::cancel(0, 0, 10, A, 0));
  EXPECT_TRUE(changed());
  accept(t::deposit(0, 0, A, 1, 90));
  EXPECT_TRUE(changed());
  accept(t::index_price(0, 0, 0, 505));
  EXPECT_TRUE(changed());
  accept(t::funding_rate(0, 0, 0, 100'000));
  EXPECT_TRUE(changed());
  accept(t::account_settings(0, 0, 5, kAllInstruments, wire::MarginMode::Isolated));
  EXPECT_TRUE(changed());
  accept(t::heartbeat(0, 0));
  EXPECT_FALSE(changed());
}

}  // namespace

namespace {

// Book memory is the allocator's: a definition whose arrays cannot be mapped is refused
// (InstrumentCapacity) with everything as it was, the margin terms of the open positions
// included. The address space is capped for the duration of the event.
TEST(InstrumentCapacity, ADefinitionThatCannotBeAllocatedChangesNothing) {
#ifdef CASCADE_ASAN
  GTEST_SKIP() << "AddressSanitizer reserves its shadow memory: an address-space limit would stop it";
#else
  EngineConfig c;
  c.max_instruments = 2;
  c.max_accounts = 4;
  c.max_orders = 16;
  c.max_positions = 8;
  c.max_levels_per_book = 1u << 30;
  Engine engine(c);
  EventBuffer out;
  SeqNo seq = 0;
  const auto send = [&](auto m) {
    m.header.seq = ++seq;
    m.header.ts_ns = static_cast<Timestamp>(seq);
    out.clear();
    engine.process(m, out);
    return out.empty() ? wire::MsgType::Heartbeat : EventView(out.bytes().data()).type();
  };
  auto d = t::instrument(0, 0, 0, 5, 10, 100, 1000, 1000);
  d.tier_count = 1;
  d.tiers[0] = wire::MarginTier{1'000'000'000 * kUsd, 10'000'000, 5'000'000, 0};
  ASSERT_EQ(send(d), wire::MsgType::Heartbeat);  // definitions have no output
  send(t::deposit(0, 0, 1, 10'000 * kUsd, 1));
  send(t::deposit(0, 0, 2, 10'000 * kUsd, 2));
  send(t::limit(0, 0, 1, 1, 0, Side::Buy, 500, 10));
  send(t::limit(0, 0, 2, 2, 0, Side::Sell, 500, 10));
  ASSERT_EQ(engine.account(1).positions.at(0).size, 10);
  const std::uint64_t before = verify::state_digest(engine);

  // The same instrument with twice the margin and 2^30 levels: ~60 GiB of book arrays.
  auto wide = d;
  wide.max_price = 100 + Price{5} * ((1 << 30) - 1);
  wide.tiers[0] = wire::MarginTier{1'000'000'000 * kUsd, 20'000'000, 10'000'000, 0};
  long pages = 0;
  std::FILE* statm = std::fopen("/proc/self/statm", "r");
  ASSERT_NE(statm, nullptr);
  ASSERT_EQ(std::fscanf(statm, "%ld", &pages), 1);
  std::fclose(statm);
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_AS, &old), 0);
  rlimit cap = old;
  cap.rlim_cur = static_cast<rlim_t>(pages) * 4096 + (1u << 30);
  ASSERT_EQ(setrlimit(RLIMIT_AS, &cap), 0);
  const wire::MsgType type = send(wide);
  ASSERT_EQ(setrlimit(RLIMIT_AS, &old), 0);

  ASSERT_EQ(type, wire::MsgType::Rejected);
  wire::Rejected r;
  std::memcpy(&r, out.bytes().data(), sizeof r);
  EXPECT_EQ(out.size(), sizeof r);
  EXPECT_EQ(r.reason, R::InstrumentCapacity);
  EXPECT_EQ(verify::state_digest(engine), before);
  EXPECT_EQ(engine.account(1).initial_margin, 500'000'000);  // 10% of 10 x 500, not 20%
  // With the memory there, the same definition is accepted.
  EXPECT_EQ(send(wide), wire::MsgType::Heartbeat);
  EXPECT_EQ(engine.account(1).initial_margin, 1'000'000'000);
#endif
}

}  // namespace
