// LOBSTER import: a converted day replayed through the engine must print the orderbook file
// exactly, one row per message. Checked on the bundled real day, on generated multi-level
// days (pre-existing orders, orders outside the depth) and on small hand-made cases.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include <unistd.h>

#include "cascade/engine.hpp"
#include "cascade/event_buffer.hpp"
#include "cascade/event_reader.hpp"
#include "import/book_model.hpp"
#include "import/calendar.hpp"
#include "import/lobster.hpp"

namespace {

using namespace cascade;
using namespace cascade::import;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(line);
  }
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Converted {
  EventBuffer events{1 << 16};
  ConvertStats stats;
  std::string error;
  bool ok = false;
};

void convert_text(const std::string& messages, const std::string& book, Converted& out, LobsterOptions options = {}) {
  std::vector<LobsterMessage> parsed;
  LobsterBook rows;
  out.ok = parse_lobster_messages(messages, parsed, out.error) && parse_lobster_book(book, rows, out.error);
  if (!out.ok) return;
  BufferSink sink(out.events);
  out.ok = convert_lobster(parsed, rows, options, sink, out.stats, out.error);
}

struct Replay {
  std::vector<std::string> rows;  // one per group of events sharing a nonzero ref
  std::uint64_t rejects = 0;
  std::string first_reject;
};

// Replays events through the engine and prints a row after each group of consecutive events
// sharing a nonzero ref (an event with ref 0 is a group alone), as `cascade book --each` does.
Replay replay(const EventBuffer& events, int depth, InstrumentId instrument = 0, const EngineConfig& config = {}) {
  Replay r;
  Engine engine(config);
  EventBuffer out;
  EventReader reader(events.bytes());
  EventView ev;
  bool pending = false;
  std::uint64_t group = 0;
  auto print = [&] {
    std::string row;
    lobster_book_row(engine, instrument, depth, row);
    r.rows.push_back(row);
  };
  while (reader.next(ev)) {
    const std::uint64_t ref = ev.header().ref;
    if (pending && (ref == 0 || ref != group)) print();
    engine.process(ev, out);
    EventReader o(out.bytes());
    EventView oe;
    while (o.next(oe)) {
      if (oe.type() != wire::MsgType::Rejected) continue;
      if (r.rejects++ == 0)
        r.first_reject = "ref " + std::to_string(ref) + ": " + wire::type_name(ev.type()) + " rejected, reason " +
                         std::to_string(static_cast<int>(oe.as<wire::Rejected>().reason));
    }
    out.clear();
    pending = true;
    group = ref;
  }
  EXPECT_TRUE(reader.ok()) << reader.error().message();
  if (pending) print();
  return r;
}

// "" when equal, else the first difference.
std::string first_mismatch(const std::vector<std::string>& got, const std::vector<std::string>& want) {
  for (std::size_t i = 0; i < std::min(got.size(), want.size()); ++i)
    if (got[i] != want[i])
      return "line " + std::to_string(i + 1) + ":\n  replayed  " + got[i] + "\n  orderbook " + want[i];
  if (got.size() != want.size())
    return std::to_string(got.size()) + " rows replayed, the orderbook file has " + std::to_string(want.size());
  return "";
}

void expect_replays_to(const Converted& c, const std::string& book, int depth, const EngineConfig& config = {}) {
  ASSERT_TRUE(c.ok) << c.error;
  const Replay r = replay(c.events, depth, 0, config);
  EXPECT_EQ(r.rejects, 0u) << r.first_reject;
  EXPECT_EQ(first_mismatch(r.rows, lines_of(book)), "");
}

struct Event {
  wire::MsgType type;
  std::uint8_t flags;
  std::uint64_t ref;
  OrderId id;  // order events
  const std::byte* p;
};

std::vector<Event> events_of(const EventBuffer& buf) {
  std::vector<Event> out;
  EventReader r(buf.bytes());
  EventView ev;
  while (r.next(ev)) {
    OrderId id = 0;
    if (ev.type() == wire::MsgType::NewOrder) id = ev.as<wire::NewOrder>().order_id;
    if (ev.type() == wire::MsgType::CancelOrder) id = ev.as<wire::CancelOrder>().order_id;
    if (ev.type() == wire::MsgType::ModifyOrder) id = ev.as<wire::ModifyOrder>().order_id;
    out.push_back({ev.type(), ev.header().flags, ev.header().ref, id, ev.data()});
  }
  return out;
}

// Compact description of the events of one source message: "new 11 | +new S1 | cancel 7 | modify 5->30".
// Synthetic events are marked '+', synthetic ids print as S<n>, aggressors as A<k>.
std::string describe(const EventBuffer& buf, std::uint64_t ref) {
  auto id_name = [](OrderId id) {
    if (id >= kRemappedIdBase) return std::string("R").append(std::to_string(id - kRemappedIdBase));
    if (id >= kAggressorIdBase) return std::string("A").append(std::to_string(id - kAggressorIdBase));
    if (id >= kSyntheticIdBase) return std::string("S").append(std::to_string(id - kSyntheticIdBase));
    return std::to_string(id);
  };
  std::string s;
  for (const Event& e : events_of(buf)) {
    if (e.ref != ref) continue;
    if (!s.empty()) s += " | ";
    if (e.flags & wire::header_flags::kSynthetic) s += '+';
    const EventView v(e.p);
    switch (e.type) {
      case wire::MsgType::NewOrder: {
        const auto& m = v.as<wire::NewOrder>();
        s += std::string(m.tif == TimeInForce::IOC ? "ioc " : "new ") + id_name(m.order_id) +
             (m.side == Side::Buy ? " buy " : " sell ") + std::to_string(m.qty) + "@" + std::to_string(m.price);
        break;
      }
      case wire::MsgType::CancelOrder: s += "cancel " + id_name(e.id); break;
      case wire::MsgType::ModifyOrder: s += "modify " + id_name(e.id) + "->" + std::to_string(v.as<wire::ModifyOrder>().new_qty); break;
      default: s += wire::type_name(e.type);
    }
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// A generated exchange day: a full book with price-time priority, written as LOBSTER writes
// level-N files (only messages that touch the N visible levels, one row per message).
// ---------------------------------------------------------------------------------------------

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : s_(seed) {}
  std::uint64_t next() {  // splitmix64: the same sequence on every platform
    std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  std::int64_t uniform(std::int64_t lo, std::int64_t hi) { return lo + static_cast<std::int64_t>(next() % static_cast<std::uint64_t>(hi - lo + 1)); }
  bool chance(int percent) { return uniform(1, 100) <= percent; }

 private:
  std::uint64_t s_;
};

struct GeneratedDay {
  std::string messages, book;
  std::size_t lines = 0;
};

class Exchange {
 public:
  Exchange(int depth, Rng& rng) : depth_(depth), rng_(rng) {}

  GeneratedDay run(int preexisting, int steps) {
    for (int i = 0; i < preexisting; ++i) random_add(false);
    for (int i = 0; i < steps; ++i) {
      time_ += rng_.uniform(1, 2'000'000);
      const std::int64_t roll = rng_.uniform(1, 100);
      if (roll <= 42) random_add(true);
      else if (roll <= 50) random_partial_cancel();
      else if (roll <= 72) random_delete();
      else if (roll <= 92) random_execution();
      else if (roll <= 98) write(5, 0, rng_.uniform(1, 300), mid() / 100 * 100 + 50, rng_.chance(50) ? 1 : -1);
      else write(7, 0, 0, -1, -1);
    }
    return day_;
  }

 private:
  struct Order {
    Side side;
    Price price;
    Qty qty;
  };
  using Levels = std::map<Price, std::deque<std::uint64_t>>;

  Levels& side(Side s) { return s == Side::Buy ? bids_ : asks_; }
  // Levels better than `price` on side s.
  int rank(Side s, Price price) {
    int n = 0;
    for (const auto& [p, q] : side(s))
      if (s == Side::Buy ? p > price : p < price) ++n;
    return n;
  }
  bool visible(Side s, Price price) { return rank(s, price) < depth_; }
  Price best(Side s) {
    if (side(s).empty()) return 0;
    return s == Side::Buy ? side(s).rbegin()->first : side(s).begin()->first;
  }
  Price mid() {
    const Price b = best(Side::Buy), a = best(Side::Sell);
    if (b && a) return (a + b) / 2;
    return b ? b + 500 : a ? a - 500 : 1'000'000;
  }

  void write(int type, std::uint64_t id, Qty size, Price price, int direction) {
    char line[128];
    std::snprintf(line, sizeof line, "%lld.%09lld,%d,%llu,%lld,%lld,%d\n", static_cast<long long>(time_ / 1'000'000'000),
                  static_cast<long long>(time_ % 1'000'000'000), type, static_cast<unsigned long long>(id),
                  static_cast<long long>(size), static_cast<long long>(price), direction);
    day_.messages += line;
    std::string row;
    auto level = [&](Side s, int i, std::string& out) {
      int n = 0;
      auto emit = [&](Price p, const std::deque<std::uint64_t>& q) {
        if (n++ != i) return false;
        Qty total = 0;
        for (std::uint64_t o : q) total += orders_[o].qty;
        out += std::to_string(p) + ',' + std::to_string(total);
        return true;
      };
      bool found = false;
      if (s == Side::Buy) {
        for (auto it = bids_.rbegin(); it != bids_.rend() && !found; ++it) found = emit(it->first, it->second);
      } else {
        for (auto it = asks_.begin(); it != asks_.end() && !found; ++it) found = emit(it->first, it->second);
      }
      if (!found) out += s == Side::Buy ? "-9999999999,0" : "9999999999,0";
    };
    for (int i = 0; i < depth_; ++i) {
      if (i) row += ',';
      level(Side::Sell, i, row);
      row += ',';
      level(Side::Buy, i, row);
    }
    day_.book += row + '\n';
    ++day_.lines;
  }

  void random_add(bool emit) {
    Side s = rng_.chance(50) ? Side::Buy : Side::Sell;
    if (side(Side::Buy).size() < 2 && rng_.chance(70)) s = Side::Buy;
    if (side(Side::Sell).size() < 2 && rng_.chance(70)) s = Side::Sell;
    const Price other = best(opposite(s));
    const Price anchor = other ? other : mid();
    // From one tick inside the opposite best to 14 ticks away: improves the best, joins it,
    // or lands deep and out of sight.
    Price price = s == Side::Buy ? anchor - 100 * rng_.uniform(1, 14) : anchor + 100 * rng_.uniform(1, 14);
    if (!other) price = s == Side::Buy ? anchor - 100 * rng_.uniform(0, 10) : anchor + 100 * rng_.uniform(0, 10);
    if (price <= 0) return;
    const Qty qty = rng_.chance(60) ? 100 * rng_.uniform(1, 5) : rng_.uniform(1, 400);
    const std::uint64_t id = next_id_++;
    orders_[id] = {s, price, qty};
    side(s)[price].push_back(id);
    if (emit && visible(s, price)) write(1, id, qty, price, s == Side::Buy ? 1 : -1);
  }

  std::uint64_t random_order() {
    if (orders_.empty()) return 0;
    // Favour the top of the book, where most cancels happen, but reach everywhere.
    if (rng_.chance(60)) {
      const Side s = rng_.chance(50) ? Side::Buy : Side::Sell;
      if (!side(s).empty()) {
        const auto& q = s == Side::Buy ? side(s).rbegin()->second : side(s).begin()->second;
        return q[static_cast<std::size_t>(rng_.uniform(0, static_cast<std::int64_t>(q.size()) - 1))];
      }
    }
    auto it = orders_.begin();
    std::advance(it, rng_.uniform(0, static_cast<std::int64_t>(orders_.size()) - 1));
    return it->first;
  }

  void remove(std::uint64_t id) {
    const Order o = orders_[id];
    auto& q = side(o.side)[o.price];
    q.erase(std::find(q.begin(), q.end(), id));
    if (q.empty()) side(o.side).erase(o.price);
    orders_.erase(id);
  }

  void random_partial_cancel() {
    const std::uint64_t id = random_order();
    if (!id || orders_[id].qty < 2) return;
    Order& o = orders_[id];
    const bool seen = visible(o.side, o.price);
    const Qty q = rng_.uniform(1, o.qty - 1);
    o.qty -= q;
    if (seen) write(2, id, q, o.price, o.side == Side::Buy ? 1 : -1);
  }

  void random_delete() {
    const std::uint64_t id = random_order();
    if (!id) return;
    const Order o = orders_[id];
    const bool seen = visible(o.side, o.price);
    remove(id);
    if (seen) write(3, id, o.qty, o.price, o.side == Side::Buy ? 1 : -1);
  }

  // A marketable order sweeping the resting side: one execution message per resting order.
  void random_execution() {
    const Side resting = rng_.chance(50) ? Side::Buy : Side::Sell;
    Qty left = rng_.uniform(1, 700);
    while (left > 0 && !side(resting).empty()) {
      const Price p = best(resting);
      const std::uint64_t id = side(resting)[p].front();
      Order& o = orders_[id];
      const Qty fill = std::min(left, o.qty);
      left -= fill;
      o.qty -= fill;
      if (o.qty == 0) remove(id);
      write(4, id, fill, p, resting == Side::Buy ? 1 : -1);
      time_ += rng_.uniform(0, 50);
    }
  }

  int depth_;
  Rng& rng_;
  Levels bids_, asks_;
  std::unordered_map<std::uint64_t, Order> orders_;
  std::uint64_t next_id_ = 1000;
  std::int64_t time_ = 34'200'000'000'000;
  GeneratedDay day_;
};

GeneratedDay generate_day(std::uint64_t seed, int depth, int preexisting, int steps) {
  Rng rng(seed);
  Exchange x(depth, rng);
  return x.run(preexisting, steps);
}

// ---------------------------------------------------------------------------------------------
// The bundled real day
// ---------------------------------------------------------------------------------------------

const std::string kGoog = std::string(CASCADE_DATA_DIR) + "/lobster/GOOG_2012-06-21_34200000_57600000_";

TEST(LobsterGoog, ReplaysToTheOrderbookFileRowByRow) {
  const std::string msg_path = kGoog + "message_1.csv", book_path = kGoog + "orderbook_1.csv";
  if (!std::ifstream(msg_path) || !std::ifstream(book_path))
    GTEST_SKIP() << "LOBSTER sample not found at " << msg_path << " (set CASCADE_DATA_DIR)";
  Converted c;
  BufferSink sink(c.events);
  c.ok = convert_lobster_files(msg_path, book_path, {}, nullptr, sink, c.stats, c.error);
  ASSERT_TRUE(c.ok) << c.error;
  EXPECT_EQ(c.stats.messages, 49482u);
  EXPECT_EQ(c.stats.events, 62374u);
  EXPECT_EQ(c.stats.synthetic, 12680u);
  EXPECT_EQ(c.stats.peak_orders, 823u);  // far below the engine's default capacity
  EXPECT_EQ(c.stats.repairs, 0u);
  EXPECT_EQ(c.stats.instruments, 1u);
  expect_replays_to(c, read_file(book_path), 1);

  // Every event carries its message's line number; refs run 1..49482 without a gap.
  std::uint64_t last = 1;
  for (const Event& e : events_of(c.events)) {
    ASSERT_TRUE(e.ref == last || e.ref == last + 1) << "ref " << e.ref << " after " << last;
    last = e.ref;
  }
  EXPECT_EQ(last, 49482u);

  // The instrument: 4 price decimals on the cent grid, symbol and time from the file name.
  const auto& def = EventView(events_of(c.events)[0].p).as<wire::InstrumentDefinition>();
  EXPECT_STREQ(def.symbol, "GOOG");
  EXPECT_EQ(def.price_decimals, 4);
  EXPECT_EQ(def.tick_size, 100);
  EXPECT_EQ(def.lot_size, 1);
  EXPECT_EQ(def.min_price, 5'554'500);
  EXPECT_EQ(def.max_price, 5'884'900);
  // 2012-06-21 is daylight time: midnight in New York is 04:00 UTC.
  EXPECT_EQ(def.header.ts_ns, 1'340'251'200'000'000'000 + 34'200'015'105'074);
}

TEST(LobsterGoog, CliConvertThenBookEachDiffsClean) {
#ifndef CASCADE_CLI
  GTEST_SKIP() << "the cascade CLI is not built";
#else
  const std::string msg_path = kGoog + "message_1.csv", book_path = kGoog + "orderbook_1.csv";
  if (!std::ifstream(msg_path)) GTEST_SKIP() << "LOBSTER sample not found at " << msg_path << " (set CASCADE_DATA_DIR)";
  // Per process: suites of several build trees may run at once, and a file rewritten under
  // another process's mapping ends that process with SIGBUS.
  const std::string dir = ::testing::TempDir() + "cascade_" + std::to_string(::getpid()) + "_";
  const std::string events = dir + "lobster_goog.events", rows = dir + "lobster_goog.rows", report = dir + "lobster_goog.txt";
  const std::string cli = CASCADE_CLI;
  ASSERT_EQ(std::system((cli + " convert --from lobster '" + msg_path + "' --depth 1 -o '" + events + "' > '" + report + "'").c_str()), 0);
  EXPECT_EQ(read_file(report),
            "messages read     49482\n"
            "events written    62374\n"
            "synthetic events  12680\n"
            "instruments       1\n"
            "peak orders       823\n");
  ASSERT_EQ(std::system((cli + " book '" + events + "' --depth 1 --format lobster --each > '" + rows + "'").c_str()), 0);
  EXPECT_TRUE(read_file(rows) == read_file(book_path)) << "cascade book --each differs from " << book_path;
  std::remove(events.c_str());
  std::remove(rows.c_str());
  std::remove(report.c_str());
#endif
}

// ---------------------------------------------------------------------------------------------
// Generated multi-level days
// ---------------------------------------------------------------------------------------------

class LobsterDepth : public ::testing::TestWithParam<std::pair<int, std::uint64_t>> {};

TEST_P(LobsterDepth, ReplaysToTheOrderbookFileRowByRow) {
  const auto [depth, seed] = GetParam();
  const GeneratedDay day = generate_day(seed, depth, 60, 4000);
  ASSERT_GT(day.lines, 1000u);
  Converted c;
  convert_text(day.messages, day.book, c);
  expect_replays_to(c, day.book, depth);
  EXPECT_EQ(c.stats.messages, day.lines);
  EXPECT_GT(c.stats.synthetic, 0u);  // the pre-existing book and what moved into view
  EXPECT_EQ(c.stats.repairs, 0u);    // consistent data needs none
}

INSTANTIATE_TEST_SUITE_P(Depths, LobsterDepth,
                         ::testing::Values(std::pair{1, 11u}, std::pair{2, 12u}, std::pair{3, 13u}, std::pair{4, 14u},
                                           std::pair{5, 15u}, std::pair{3, 16u}, std::pair{5, 17u},
                                           std::pair{10, 18u}));

TEST(LobsterGenerated, SameDayAtEveryDepthOfTheSameSimulation) {
  // One simulation written at depths 1..6: each file converts and replays to itself.
  for (int depth = 1; depth <= 6; ++depth) {
    const GeneratedDay day = generate_day(99, depth, 80, 2500);
    Converted c;
    convert_text(day.messages, day.book, c);
    SCOPED_TRACE("depth " + std::to_string(depth));
    expect_replays_to(c, day.book, depth);
  }
}

// A depth-2 day with stub quotes: an ask at $199,999.99 and a bid at $0.01.
constexpr const char* kStubMessages =
    "34200.1,1,11,100,1000000,1\n"
    "34200.2,1,12,100,1999999900,-1\n"
    "34200.3,1,13,100,100,1\n"
    "34200.4,1,14,5,1000100,-1\n"
    "34200.5,3,12,100,1999999900,-1\n";
constexpr const char* kStubBook =
    "9999999999,0,1000000,100,9999999999,0,-9999999999,0\n"
    "1999999900,100,1000000,100,9999999999,0,-9999999999,0\n"
    "1999999900,100,1000000,100,9999999999,0,100,100\n"
    "1000100,5,1000000,100,1999999900,100,100,100\n"
    "1000100,5,1000000,100,9999999999,0,100,100\n";

TEST(LobsterGenerated, CliConvertThenBookEachDiffsClean) {
#ifndef CASCADE_CLI
  GTEST_SKIP() << "the cascade CLI is not built";
#else
  const GeneratedDay day = generate_day(7, 4, 50, 1500);
  const std::string dir = ::testing::TempDir() + "cascade_" + std::to_string(::getpid()) + "/";
  std::filesystem::create_directories(dir);
  const std::string base = dir + "TEST_2020-01-02_34200000_57600000_";
  const std::string msg = base + "message_4.csv", book = base + "orderbook_4.csv";
  const std::string events = dir + "lobster_gen.events", rows = dir + "lobster_gen.rows";
  std::ofstream(msg) << day.messages;
  std::ofstream(book) << day.book;
  const std::string cli = CASCADE_CLI;
  ASSERT_EQ(std::system((cli + " convert --from lobster '" + msg + "' -o '" + events + "' > /dev/null").c_str()), 0);
  ASSERT_EQ(std::system((cli + " book '" + events + "' --depth 4 --format lobster --each > '" + rows + "'").c_str()), 0);
  EXPECT_TRUE(read_file(rows) == day.book);
  // A depth that disagrees with the file is refused.
  EXPECT_NE(std::system((cli + " convert --from lobster '" + msg + "' --depth 3 -o '" + events + "' 2> /dev/null").c_str()), 0);
  std::filesystem::remove_all(dir);
#endif
}

TEST(LobsterGenerated, CliConvertsAndReplaysStubQuotesWithMoreLevels) {
#ifndef CASCADE_CLI
  GTEST_SKIP() << "the cascade CLI is not built";
#else
  const std::string dir = ::testing::TempDir() + "cascade_stub_" + std::to_string(::getpid()) + "/";
  std::filesystem::create_directories(dir);
  const std::string base = dir + "STUB_2020-01-02_34200000_57600000_";
  const std::string msg = base + "message_2.csv", book = base + "orderbook_2.csv";
  const std::string events = dir + "stub.events", rows = dir + "stub.rows";
  std::ofstream(msg) << kStubMessages;
  std::ofstream(book) << kStubBook;
  const std::string cli = CASCADE_CLI;
  EXPECT_NE(std::system((cli + " convert --from lobster '" + msg + "' -o '" + events + "' 2> /dev/null").c_str()), 0);
  ASSERT_EQ(std::system((cli + " convert --from lobster '" + msg + "' --max-levels 20000000 -o '" + events +
                         "' > /dev/null").c_str()),
            0);
  ASSERT_EQ(std::system((cli + " book '" + events + "' --max-levels 20000000 --depth 2 --format lobster --each > '" +
                         rows + "'").c_str()),
            0);
  EXPECT_EQ(read_file(rows), kStubBook);
  std::filesystem::remove_all(dir);
#endif
}

// ---------------------------------------------------------------------------------------------
// Small cases, event by event
// ---------------------------------------------------------------------------------------------

constexpr const char* kEmptyAsk = "9999999999,0";
constexpr const char* kEmptyBid = "-9999999999,0";

TEST(LobsterConvert, InitialBookIsSyntheticAndFoldedIntoMessageOne) {
  // Message 1 adds a bid; the row also shows an ask no message explains.
  const std::string msgs = "34200.5,1,11,100,1000000,1\n";
  const std::string book = "1000100,50,1000000,100\n";
  Converted c;
  convert_text(msgs, book, c);
  ASSERT_TRUE(c.ok) << c.error;
  const auto ev = events_of(c.events);
  ASSERT_EQ(ev.size(), 5u);
  EXPECT_EQ(ev[0].type, wire::MsgType::InstrumentDefinition);
  EXPECT_EQ(ev[1].type, wire::MsgType::Deposit);
  EXPECT_EQ(ev[2].type, wire::MsgType::Deposit);
  for (const Event& e : ev) EXPECT_EQ(e.ref, 1u);
  EXPECT_EQ(describe(c.events, 1), "instrument | deposit | deposit | new 11 buy 100@1000000 | +new S1 sell 50@1000100");
  EXPECT_EQ(c.stats.synthetic, 1u);
  expect_replays_to(c, book, 1);
}

TEST(LobsterConvert, ExecutionOfAnOrderRestingBeforeTheFileAddsItFirst) {
  // As the GOOG day starts: 4 shares of a pre-existing bid trade, 496 remain.
  const std::string msgs = "34200.015105074,4,15818974,4,5794000,1\n34200.05990197,4,15818974,300,5794000,1\n";
  const std::string book = "5802300,100,5794000,496\n5802300,100,5794000,196\n";
  Converted c;
  convert_text(msgs, book, c);
  ASSERT_TRUE(c.ok) << c.error;
  // Just enough to trade and still show 496; the IOC sells from account 2 at the trade price.
  EXPECT_EQ(describe(c.events, 1),
            "instrument | deposit | deposit | +new S1 buy 500@5794000 | ioc A1 sell 4@5794000 | +new S2 sell 100@5802300");
  EXPECT_EQ(describe(c.events, 2), "ioc A2 sell 300@5794000");
  const auto ev = events_of(c.events);
  const auto& ioc = EventView(ev[4].p).as<wire::NewOrder>();
  EXPECT_EQ(ioc.account, kAggressorAccount);
  EXPECT_EQ(ioc.order_type, OrderType::Limit);
  EXPECT_EQ(EventView(ev[3].p).as<wire::NewOrder>().account, kRestingAccount);
  expect_replays_to(c, book, 1);
}

TEST(LobsterConvert, HiddenExecutionCrossAndHaltAreHeartbeats) {
  // Cross trades carry LOBSTER's pseudo order ids: -1 opening, -2 closing, -3 other.
  const std::string msgs =
      "34200.1,1,11,100,1000000,1\n"
      "34200.2,5,0,30,1000050,-1\n"
      "34200.3,6,-1,500,1000000,1\n"
      "34200.4,7,0,0,-1,-1\n"      // halt
      "34200.45,7,0,0,0,-1\n"      // quoting resumes
      "34200.5,7,0,0,1,-1\n"       // trading resumes
      "57599.9,6,-2,800,1000100,-1\n"
      "57599.95,6,-3,20,1000000,1\n";
  const std::string book = std::string(kEmptyAsk) + ",1000000,100\n";
  std::string rows;
  for (int i = 0; i < 8; ++i) rows += book;
  Converted c;
  convert_text(msgs, rows, c);
  ASSERT_TRUE(c.ok) << c.error;
  for (std::uint64_t ref = 2; ref <= 8; ++ref) EXPECT_EQ(describe(c.events, ref), "heartbeat") << ref;
  expect_replays_to(c, rows, 1);

  Converted d;  // only a cross trade has a negative id
  convert_text("34200.1,1,-11,100,1000000,1\n", book, d);
  EXPECT_FALSE(d.ok);
  EXPECT_EQ(d.error, "line 1: bad order id '-11'");
}

TEST(LobsterConvert, LevelMovingIntoViewIsReconciledWithTheRow) {
  // Depth 1. Bid 11 at 99.00; 12 improves to 99.01 (99.00 leaves the view). 12 is deleted and
  // 99.00 reappears with 30: 70 of order 11 went away unseen (11 is never named again).
  // Then 13 improves again and is deleted; 99.00 reappears with 180: 150 joined unseen.
  const std::string msgs =
      "34200.1,1,11,100,990000,1\n"
      "34200.2,1,12,50,990100,1\n"
      "34200.3,3,12,50,990100,1\n"
      "34200.4,1,13,10,990100,1\n"
      "34200.5,3,13,10,990100,1\n";
  const std::string a = "1000000,5,";
  const std::string book = a + "990000,100\n" + a + "990100,50\n" + a + "990000,30\n" + a + "990100,10\n" + a + "990000,180\n";
  Converted c;
  convert_text(msgs, book, c);
  ASSERT_TRUE(c.ok) << c.error;
  EXPECT_EQ(describe(c.events, 3), "cancel 12 | +modify 11->30");
  EXPECT_EQ(describe(c.events, 5), "cancel 13 | +new S2 buy 150@990000");
  expect_replays_to(c, book, 1);
}

TEST(LobsterConvert, ExecutionFillsTheEngineQueueAndLaterDeletesFollowTheQuantity) {
  // Depth 1. 200 shares bid before the file (synthetic S1). Order 21 joins behind them, yet
  // the exchange executes 60 of 21: the engine's IOC fills S1 (its queue head) instead. The
  // level still shows 240. Deleting 21's remaining 40 then decreases 21's engine order, which
  // still holds 100; the pre-file 200 go with an unknown order's delete.
  const std::string msgs =
      "34200.1,5,0,1,1000000,1\n"
      "34200.2,1,21,100,1000000,1\n"
      "34200.3,4,21,60,1000000,1\n"
      "34200.4,3,21,40,1000000,1\n"
      "34200.5,3,7,200,1000000,1\n";
  const std::string a = "1000100,10,";
  const std::string book = a + "1000000,200\n" + a + "1000000,300\n" + a + "1000000,240\n" + a + "1000000,200\n" + a + kEmptyBid + "\n";
  Converted c;
  convert_text(msgs, book, c);
  ASSERT_TRUE(c.ok) << c.error;
  EXPECT_EQ(describe(c.events, 1), "instrument | deposit | deposit | heartbeat | +new S1 sell 10@1000100 | +new S2 buy 200@1000000");
  EXPECT_EQ(describe(c.events, 3), "ioc A3 sell 60@1000000");
  EXPECT_EQ(describe(c.events, 4), "modify 21->60");
  // 21's engine order (60) and S2 (140) are both anonymous now: the larger goes first.
  EXPECT_EQ(describe(c.events, 5), "cancel S2 | cancel 21");
  EXPECT_EQ(c.stats.synthetic, 2u);
  expect_replays_to(c, book, 1);
}

TEST(LobsterConvert, DeepLevelsEmptySidesAndBothSidesAtOnce) {
  // Depth 3: levels appear beyond the first, a side empties, a deep level is deleted.
  const std::string msgs =
      "34200.1,1,1,10,1000000,1\n"
      "34200.2,1,2,20,999900,1\n"
      "34200.3,3,1,10,1000000,1\n"
      "34200.4,4,2,20,999900,1\n";
  const std::string e = std::string(kEmptyAsk) + ",";
  const std::string book =
      "1000200,5,1000000,10,1000300,6,999800,7," + e + kEmptyBid + "\n" +
      "1000200,5,1000000,10,1000300,6,999900,20,9999999999,0,999800,7\n" +
      "1000200,5,999900,20,1000300,6,999800,7," + e + kEmptyBid + "\n" +
      "1000200,5,999800,7,1000300,6," + kEmptyBid + "," + e + kEmptyBid + "\n";
  Converted c;
  convert_text(msgs, book, c);
  ASSERT_TRUE(c.ok) << c.error;
  expect_replays_to(c, book, 3);
  EXPECT_EQ(c.stats.synthetic, 3u);  // 1000200, 1000300 and 999800, all in message 1
}

TEST(LobsterConvert, TimestampsComeFromTheDayStartAndNeverGoBack) {
  const std::string msgs = "34200.000000001,1,1,10,1000000,1\n34200,1,2,10,1000000,1\n34201.5,1,3,10,1000000,1\n";
  const std::string book = "9999999999,0,1000000,10\n9999999999,0,1000000,20\n9999999999,0,1000000,30\n";
  LobsterOptions o;
  o.day_start_ns = us_eastern_midnight_ns({2020, 1, 2});  // standard time: 05:00 UTC
  Converted c;
  convert_text(msgs, book, c, o);
  ASSERT_TRUE(c.ok) << c.error;
  const Timestamp midnight = 1'577'941'200'000'000'000;
  std::vector<Timestamp> ts;
  for (const Event& e : events_of(c.events))
    if (e.type == wire::MsgType::NewOrder) ts.push_back(EventView(e.p).header().ts_ns);
  EXPECT_EQ(ts, (std::vector<Timestamp>{midnight + 34'200'000'000'001, midnight + 34'200'000'000'001,
                                        midnight + 34'201'500'000'000}));
}

TEST(LobsterConvert, IdsOfRealSyntheticAndAggressorOrdersAreDisjoint) {
  const GeneratedDay day = generate_day(5, 3, 40, 1500);
  Converted c;
  convert_text(day.messages, day.book, c);
  ASSERT_TRUE(c.ok) << c.error;
  std::uint64_t real = 0, synthetic = 0, aggressors = 0;
  for (const Event& e : events_of(c.events)) {
    if (e.type != wire::MsgType::NewOrder) continue;
    const auto& m = EventView(e.p).as<wire::NewOrder>();
    if (e.flags & wire::header_flags::kSynthetic) {
      ++synthetic;
      EXPECT_GE(m.order_id, kSyntheticIdBase);
      EXPECT_LT(m.order_id, kAggressorIdBase);
      EXPECT_EQ(m.tif, TimeInForce::GTC);
      EXPECT_EQ(m.account, kRestingAccount);
    } else if (m.tif == TimeInForce::IOC) {
      ++aggressors;
      EXPECT_EQ(m.order_id, kAggressorIdBase + e.ref);
      EXPECT_EQ(m.account, kAggressorAccount);
    } else {
      ++real;
      EXPECT_LT(m.order_id, kSyntheticIdBase);
      EXPECT_EQ(m.account, kRestingAccount);
    }
  }
  EXPECT_GT(real, 0u);
  EXPECT_GT(synthetic, 0u);
  EXPECT_GT(aggressors, 0u);
}

TEST(LobsterConvert, AnIdAddedTwiceGetsAFreshEngineId) {
  const std::string msgs = "34200.1,1,5,10,1000000,1\n34200.2,1,5,20,999900,1\n";
  const std::string book = "9999999999,0,1000000,10,9999999999,0,-9999999999,0\n"
                           "9999999999,0,1000000,10,9999999999,0,999900,20\n";
  Converted c;
  convert_text(msgs, book, c);
  ASSERT_TRUE(c.ok) << c.error;
  EXPECT_EQ(describe(c.events, 2), "new R1 buy 20@999900");
  EXPECT_EQ(c.stats.repairs, 1u);
  expect_replays_to(c, book, 2);
}

TEST(LobsterConvert, InconsistentMessagesAreRepairedAndCounted) {
  // Message 2 adds a bid at the ask (an exchange would have traded it); message 3 executes a
  // bid behind the best. The converter clears what stands in the way, synthetically.
  const std::string msgs =
      "34200.1,1,1,100,1000000,1\n"
      "34200.2,1,2,10,1000100,1\n"
      "34200.3,4,1,100,1000000,1\n";
  const std::string book = "1000100,50,1000000,100\n1000200,5,1000100,10\n1000200,5,1000100,10\n";
  Converted c;
  convert_text(msgs, book, c);
  ASSERT_TRUE(c.ok) << c.error;
  EXPECT_EQ(describe(c.events, 2), "+cancel S1 | new 2 buy 10@1000100 | +new S2 sell 5@1000200");
  EXPECT_EQ(describe(c.events, 3), "+cancel 2 | ioc A3 sell 100@1000000 | +new S3 buy 10@1000100");
  EXPECT_EQ(c.stats.repairs, 2u);
  expect_replays_to(c, book, 1);
}

TEST(LobsterConvert, CrlfLinesAndMissingFinalNewlineParse) {
  Converted c;
  convert_text("34200.1,1,11,100,1000000,1\r\n34200.2,3,11,100,1000000,1", "9999999999,0,1000000,100\r\n9999999999,0,-9999999999,0", c);
  ASSERT_TRUE(c.ok) << c.error;
  EXPECT_EQ(c.stats.messages, 2u);
  EXPECT_EQ(describe(c.events, 2), "cancel 11");
}

TEST(LobsterConvert, RefusesInconsistentFiles) {
  const std::string one = "34200.1,1,11,100,1000000,1\n";
  const std::string row = "9999999999,0,1000000,100\n";
  Converted c;
  convert_text(one + one, row, c);
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.error, "the message file has 2 lines but the orderbook file has 1: each message needs exactly one orderbook row");

  Converted d;
  LobsterOptions o;
  o.depth = 2;
  convert_text(one, row, d, o);
  EXPECT_FALSE(d.ok);
  EXPECT_EQ(d.error, "depth 2 requested, but the orderbook file has 1 levels per row");

  Converted e;
  convert_text(one, "9999999999,0,1000000,100,5\n", e);
  EXPECT_FALSE(e.ok);
  EXPECT_EQ(e.error, "line 1: 5 columns: an orderbook row has 4 per level");

  Converted f;
  convert_text(one + one, row + "9999999999,0,1000000,100,1,2,3,4\n", f);
  EXPECT_EQ(f.error, "line 2: 8 columns, the first row has 4");

  Converted g;
  convert_text(one, "1000000,5,1000000,100\n", g);
  EXPECT_EQ(g.error, "orderbook line 1: crossed or locked book (bid 1000000 >= ask 1000000), which a matching engine cannot hold");

  Converted h;
  convert_text("34200.1,9,11,100,1000000,1\n", row, h);
  EXPECT_EQ(h.error, "line 1: bad event type '9' (1..7)");

  Converted i;
  convert_text("34200.1,1,11,100,1000000,0\n", row, i);
  EXPECT_EQ(i.error, "line 1: bad direction '0' (1 or -1)");

  Converted j;
  convert_text("34200.1,1,11,100\n", row, j);
  EXPECT_EQ(j.error, "line 1: expected 6 fields (time,type,order id,size,price,direction)");

  Converted k;
  convert_text(one, "9999999999,0,1000000,100,9999999999,0,1000100,5\n", k);
  EXPECT_EQ(k.error, "orderbook line 1: bid level 2 is out of order or not positive");

  Converted l;
  convert_text(one, "9999999999,0,-9999999999,0,9999999999,0,1000000,5\n", l);
  EXPECT_EQ(l.error, "orderbook line 1: a level after an empty one");
}

TEST(LobsterConvert, PriceRangeFollowsTheDataAndFitsTheBook) {
  LobsterOptions o;
  o.max_levels = 2000;
  Converted c;
  convert_text("34200.1,1,11,100,1000000,1\n", "1050000,5,1000000,100\n", c, o);
  ASSERT_TRUE(c.ok) << c.error;
  const auto& def = EventView(events_of(c.events)[0].p).as<wire::InstrumentDefinition>();
  EXPECT_EQ(def.tick_size, 100);
  EXPECT_EQ(def.min_price, 1'000'000 - 250 * 100);  // half the 500-tick span each way
  EXPECT_EQ(def.max_price, 1'050'000 + 250 * 100);

  o.max_levels = 700;  // the margin shrinks to fit
  Converted d;
  convert_text("34200.1,1,11,100,1000000,1\n", "1050000,5,1000000,100\n", d, o);
  ASSERT_TRUE(d.ok) << d.error;
  const auto& def2 = EventView(events_of(d.events)[0].p).as<wire::InstrumentDefinition>();
  EXPECT_EQ(def2.min_price, 1'000'000 - 99 * 100);
  EXPECT_EQ((def2.max_price - def2.min_price) / 100 + 1, 699);

  o.max_levels = 100;  // the data alone does not fit
  Converted e;
  convert_text("34200.1,1,11,100,1000000,1\n", "1050000,5,1000000,100\n", e, o);
  EXPECT_FALSE(e.ok);
  EXPECT_EQ(e.error,
            "prices span 501 ticks (1000000 to 1050000), more than the 100 price levels a book holds; convert with "
            "--max-levels 501 or more and replay with the same --max-levels");

  Converted f;  // a sub-penny price puts the instrument on a finer grid
  convert_text("34200.1,1,11,100,5050,1\n", "5100,5,5050,100\n", f);
  ASSERT_TRUE(f.ok) << f.error;
  EXPECT_EQ(EventView(events_of(f.events)[0].p).as<wire::InstrumentDefinition>().tick_size, 50);
  expect_replays_to(f, "5100,5,5050,100\n", 1);
}

// Deep LOBSTER files show market makers' stub quotes far from the market ($199,999.99 asks,
// $0.01 bids): 20 M ticks, past the default book. A larger --max-levels converts and replays
// such a day exactly; the book commits memory only around prices that hold orders.
TEST(LobsterConvert, StubQuotesFarFromTheMarketNeedAndGetMoreLevels) {
  Converted c;
  convert_text(kStubMessages, kStubBook, c);
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.error,
            "prices span 19999999 ticks (100 to 1999999900), more than the 4194304 price levels a book holds; convert "
            "with --max-levels 19999999 or more and replay with the same --max-levels");

  LobsterOptions o;
  o.max_levels = 1u << 25;
  Converted d;
  convert_text(kStubMessages, kStubBook, d, o);
  ASSERT_TRUE(d.ok) << d.error;
  EXPECT_EQ(d.stats.synthetic, 0u);
  EXPECT_EQ(d.stats.peak_orders, 4u);  // 11 to 14, before 12 is deleted
  EngineConfig config;
  config.max_levels_per_book = 1u << 25;
  expect_replays_to(d, kStubBook, 2, config);
}

TEST(LobsterFileNames, ParseTheLobsterPattern) {
  LobsterFileName n;
  ASSERT_TRUE(parse_lobster_file_name("/data/GOOG_2012-06-21_34200000_57600000_message_10.csv", n));
  EXPECT_EQ(n.symbol, "GOOG");
  EXPECT_EQ(n.date.year, 2012);
  EXPECT_EQ(n.date.month, 6);
  EXPECT_EQ(n.date.day, 21);
  EXPECT_EQ(n.start_ms, 34200000);
  EXPECT_EQ(n.end_ms, 57600000);
  EXPECT_TRUE(n.is_message);
  EXPECT_EQ(n.level, 10);
  ASSERT_TRUE(parse_lobster_file_name("BRK_A_2020-02-29_0_100_orderbook_1.csv", n));
  EXPECT_EQ(n.symbol, "BRK_A");
  EXPECT_FALSE(n.is_message);
  EXPECT_FALSE(parse_lobster_file_name("GOOG_2012-02-30_34200000_57600000_message_1.csv", n));  // no such day
  EXPECT_FALSE(parse_lobster_file_name("GOOG_2012-06-21_34200000_57600000_trades_1.csv", n));
  EXPECT_FALSE(parse_lobster_file_name("messages.csv", n));
  EXPECT_EQ(lobster_book_path("d/X_2012-06-21_1_2_message_5.csv"), "d/X_2012-06-21_1_2_orderbook_5.csv");
  EXPECT_EQ(lobster_book_path("d/messages.csv"), "");
}

TEST(Calendar, NewYorkMidnightFollowsDaylightSavingTime) {
  EXPECT_EQ(days_from_civil({1970, 1, 1}), 0);
  EXPECT_EQ(days_from_civil({2012, 6, 21}), 15512);
  EXPECT_EQ(us_eastern_midnight_ns({2012, 6, 21}), 1'340'251'200'000'000'000);
  // 2012: daylight time from Sunday 11 March to Sunday 4 November.
  EXPECT_EQ(us_eastern_offset_s({2012, 3, 11}), -5 * 3600);
  EXPECT_EQ(us_eastern_offset_s({2012, 3, 12}), -4 * 3600);
  EXPECT_EQ(us_eastern_offset_s({2012, 11, 4}), -4 * 3600);
  EXPECT_EQ(us_eastern_offset_s({2012, 11, 5}), -5 * 3600);
  // 2005 rules: first Sunday of April (3 April) to last Sunday of October (30 October).
  EXPECT_EQ(us_eastern_offset_s({2005, 4, 3}), -5 * 3600);
  EXPECT_EQ(us_eastern_offset_s({2005, 4, 4}), -4 * 3600);
  EXPECT_EQ(us_eastern_offset_s({2005, 10, 30}), -4 * 3600);
  EXPECT_EQ(us_eastern_offset_s({2005, 10, 31}), -5 * 3600);
  Date d;
  EXPECT_TRUE(parse_date("2019-12-30", d));
  EXPECT_FALSE(parse_date("2019-13-01", d));
  EXPECT_FALSE(parse_date("2019-2-01", d));
}

}  // namespace
