// The circuit breaker against docs/liquidation.md "Circuit breaker", with hand-computed
// expected values: the anchor of a window, the trip after the trade that crossed the band
// (the order keeps matching), InstrumentPaused for taker flow while paused, the resume at
// the first input at or after until_ns, the reopening trade's anchor and the next window's.
//
// The instrument: whole price and quantity units, no margin tiers (book-only), band 5%,
// windows of 1 s, pauses of 0.5 s.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cascade/engine.hpp"
#include "cascade/event_buffer.hpp"
#include "cascade/event_reader.hpp"
#include "support/events.hpp"

namespace {

using namespace cascade;
namespace t = cascade::testing;
using wire::MsgType;
using Lines = std::vector<std::string>;

constexpr AccountId A = 1, B = 2;
constexpr Timestamp kSecond = 1'000'000'000;
constexpr Timestamp kMs = 1'000'000;
constexpr Timestamp T0 = 10 * kSecond;  // the start of window 10

std::string n(long long v) { return std::to_string(v); }

std::string render(const EventView& ev) {
  switch (ev.type()) {
    case MsgType::OrderAccepted: return "accepted " + n(ev.as<wire::OrderAccepted>().order_id);
    case MsgType::Rejected: {
      const auto& m = ev.as<wire::Rejected>();
      return "rejected " + n(m.id) + (m.reason == wire::RejectReason::InstrumentPaused ? " paused" : " other");
    }
    case MsgType::OrderModified: return "modified " + n(ev.as<wire::OrderModified>().order_id);
    case MsgType::OrderCancelled: return "cancelled " + n(ev.as<wire::OrderCancelled>().order_id);
    case MsgType::Fill: {
      const auto& m = ev.as<wire::Fill>();
      return "fill " + n(m.qty) + "@" + n(m.price);
    }
    case MsgType::StopTriggered: return "stop " + n(ev.as<wire::StopTriggered>().order_id);
    case MsgType::CircuitBreaker: {
      const auto& m = ev.as<wire::CircuitBreaker>();
      return std::string(m.paused ? "paused" : "resumed") + " ref=" + n(m.reference_price) + " until=" + n(m.until_ns);
    }
    default: return "";  // positions, margin and market data: other tests cover them
  }
}

wire::InstrumentDefinition banded() {
  auto d = t::instrument(0, 0, 0, 1, 1, 1, 1'000, 100);
  d.circuit_band = 5'000'000;  // 5%
  d.circuit_window_ms = 1'000;
  d.circuit_pause_ms = 500;
  return d;
}

class CircuitBreakerTest : public ::testing::Test {
 protected:
  CircuitBreakerTest() : eng(EngineConfig{.max_instruments = 2, .max_accounts = 4, .max_orders = 64, .max_levels_per_book = 1024}) {}

  template <class T>
  Lines at(Timestamp ts, T m) {
    m.header.seq = ++seq;
    m.header.ts_ns = ts;
    out.clear();
    eng.process(m, out);
    Lines r;
    EventReader reader(out.bytes());
    EventView ev;
    while (reader.next(ev))
      if (std::string l = render(ev); !l.empty()) r.push_back(l);
    return r;
  }
  static wire::NewOrder lim(OrderId id, AccountId a, Side side, Price p, Qty q) {
    return t::limit(0, 0, id, a, 0, side, p, q);
  }
  static wire::NewOrder mkt(OrderId id, AccountId a, Side side, Qty q) { return t::market(0, 0, id, a, 0, side, q); }

  Engine eng;
  EventBuffer out;
  SeqNo seq = 0;
};

TEST_F(CircuitBreakerTest, TripsPausesTakersAndResumes) {
  ASSERT_EQ(at(T0, banded()), Lines{});
  // The first trade ever: the anchor is its own price, 100. The band is floor(100 * 5%) = 5.
  at(T0, lim(1, A, Side::Sell, 100, 1));
  EXPECT_EQ(at(T0 + 1 * kMs, lim(2, B, Side::Buy, 100, 1)), (Lines{"accepted 2", "fill 1@100"}));
  // 104 is 4 away: inside the band.
  at(T0 + 2 * kMs, lim(3, A, Side::Sell, 104, 1));
  EXPECT_EQ(at(T0 + 3 * kMs, lim(4, B, Side::Buy, 104, 1)), (Lines{"accepted 4", "fill 1@104"}));
  // 106 is 6 away: the trade pauses the instrument until ts + 500 ms; the order keeps matching.
  at(T0 + 4 * kMs, lim(5, A, Side::Sell, 106, 2));
  at(T0 + 4 * kMs, lim(6, A, Side::Sell, 107, 2));
  const Timestamp trip = T0 + 5 * kMs, until = trip + 500 * kMs;
  EXPECT_EQ(at(trip, mkt(7, B, Side::Buy, 3)),
            (Lines{"accepted 7", "fill 2@106", "paused ref=100 until=" + n(until), "fill 1@107"}));

  // While paused: taker flow is refused, resting flow and stops are accepted.
  const Timestamp p = trip + 100 * kMs;
  EXPECT_EQ(at(p, lim(8, B, Side::Buy, 107, 1)), Lines{"rejected 8 paused"});  // crosses the ask 107
  EXPECT_EQ(at(p, mkt(9, B, Side::Buy, 1)), Lines{"rejected 9 paused"});
  EXPECT_EQ(at(p, lim(10, B, Side::Buy, 105, 1)), Lines{"accepted 10"});
  EXPECT_EQ(at(p, t::stop_market(0, 0, 11, B, 0, Side::Buy, 200, 1)), Lines{"accepted 11"});
  EXPECT_EQ(at(p, t::modify(0, 0, 10, B, 0, 107, 1)), Lines{"rejected 10 paused"});
  EXPECT_EQ(at(p, t::modify(0, 0, 10, B, 0, 106, 1)), Lines{"modified 10"});  // below the ask: rests
  EXPECT_EQ(at(p, t::cancel(0, 0, 10, B, 0)), Lines{"cancelled 10"});
  // A pause is checked after the matching checks: a price out of range is refused as such.
  EXPECT_EQ(at(p, lim(12, B, Side::Buy, 2'000, 1)), Lines{"rejected 12 other"});

  // The first input at until_ns resumes it, before its own output; its trade reopens the
  // market and anchors a window at its own price, 107.
  EXPECT_EQ(at(until - 1, t::heartbeat(0, 0)), Lines{});
  EXPECT_EQ(at(until, mkt(13, B, Side::Buy, 1)), (Lines{"resumed ref=100 until=" + n(until), "accepted 13", "fill 1@107"}));
  // Window 11: its first trade takes the last price before it (107) as the anchor; the band
  // is floor(107 * 5%) = 5, so 112 is inside and 113 outside.
  at(T0 + kSecond, lim(14, A, Side::Sell, 112, 1));
  at(T0 + kSecond, lim(15, A, Side::Sell, 113, 1));
  EXPECT_EQ(at(T0 + kSecond, mkt(16, B, Side::Buy, 1)), (Lines{"accepted 16", "fill 1@112"}));
  EXPECT_EQ(at(T0 + kSecond + 1, mkt(17, B, Side::Buy, 1)),
            (Lines{"accepted 17", "fill 1@113", "paused ref=107 until=" + n(T0 + kSecond + 1 + 500 * kMs)}));
}

// A market that moved during the pause reopens at its first trade: that trade's price is the
// new anchor, so the move made while paused does not pause it again (anchored at the price
// from before the pause, 110, the trade at 120 would trip at once and pauses would chain).
TEST_F(CircuitBreakerTest, ReopensAtTheFirstTradeAfterThePause) {
  ASSERT_EQ(at(T0, banded()), Lines{});
  at(T0, lim(1, A, Side::Sell, 100, 1));
  at(T0, lim(2, B, Side::Buy, 100, 1));
  at(T0, lim(3, A, Side::Sell, 110, 1));
  const Timestamp until = T0 + 500 * kMs;
  EXPECT_EQ(at(T0, lim(4, B, Side::Buy, 110, 1)), (Lines{"accepted 4", "fill 1@110", "paused ref=100 until=" + n(until)}));
  // The sellers requote higher while paused (resting orders are accepted).
  EXPECT_EQ(at(T0 + 100 * kMs, lim(5, A, Side::Sell, 120, 2)), Lines{"accepted 5"});
  at(T0 + 100 * kMs, lim(6, A, Side::Sell, 126, 1));
  at(T0 + 100 * kMs, lim(7, A, Side::Sell, 127, 1));
  // The reopening trade at 120 is 10 from the old anchor, 110, but anchors the window itself.
  EXPECT_EQ(at(until, mkt(8, B, Side::Buy, 1)), (Lines{"resumed ref=100 until=" + n(until), "accepted 8", "fill 1@120"}));
  // Band floor(120 * 5%) = 6: 126 is inside, 127 outside.
  EXPECT_EQ(at(until + 1, mkt(9, B, Side::Buy, 2)), (Lines{"accepted 9", "fill 1@120", "fill 1@126"}));
  EXPECT_EQ(at(until + 2, mkt(10, B, Side::Buy, 1)),
            (Lines{"accepted 10", "fill 1@127", "paused ref=120 until=" + n(until + 2 + 500 * kMs)}));
}

// A redefinition keeps the pause; without a band the next resume starts no window, and later
// trades never pause.
TEST_F(CircuitBreakerTest, RedefinitionKeepsThePause) {
  ASSERT_EQ(at(T0, banded()), Lines{});
  at(T0, lim(1, A, Side::Sell, 100, 1));
  at(T0, lim(2, B, Side::Buy, 100, 1));
  at(T0, lim(3, A, Side::Sell, 200, 1));
  EXPECT_EQ(at(T0, lim(4, B, Side::Buy, 200, 1)),
            (Lines{"accepted 4", "fill 1@200", "paused ref=100 until=" + n(T0 + 500 * kMs)}));
  auto plain = banded();
  plain.circuit_band = 0;
  EXPECT_EQ(at(T0 + 1, plain), Lines{});
  EXPECT_EQ(at(T0 + 2, mkt(5, B, Side::Buy, 1)), Lines{"rejected 5 paused"});
  EXPECT_EQ(at(T0 + 500 * kMs, t::heartbeat(0, 0)), Lines{"resumed ref=100 until=" + n(T0 + 500 * kMs)});
  at(T0 + 500 * kMs, lim(6, A, Side::Sell, 400, 1));
  EXPECT_EQ(at(T0 + 500 * kMs, lim(7, B, Side::Buy, 400, 1)), (Lines{"accepted 7", "fill 1@400"}));
}

}  // namespace
