// NASDAQ TotalView-ITCH 5.0 import. Small feeds are written here byte by byte from the
// published specification (the generator below also wrote tests/data/itch/*.itch; set
// CASCADE_WRITE_TEST_DATA=1 to rewrite them) and the engine's book after each message must be
// the one the specification implies. The real sample file checks framing, skipping and the
// stock directory.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "cascade/engine.hpp"
#include "cascade/event_buffer.hpp"
#include "cascade/event_reader.hpp"
#include "import/book_model.hpp"
#include "import/itch.hpp"

namespace {

using namespace cascade;
using namespace cascade::import;

// ---------------------------------------------------------------------------------------------
// Writer of ITCH 5.0 messages, field by field as the specification lays them out: every
// message starts with type (1), stock locate (2), tracking number (2), timestamp (6, ns since
// midnight); integers are big-endian, alpha fields left-justified and space-padded. Each
// message is framed with a 2-byte big-endian length, as in NASDAQ's daily files.
// ---------------------------------------------------------------------------------------------

class ItchWriter {
 public:
  void system_event(std::int64_t ts, char code) {
    begin('S', 0, ts);
    alpha(std::string(1, code), 1);
    end();
  }
  void stock_directory(std::uint16_t locate, std::int64_t ts, const std::string& stock) {
    begin('R', locate, ts);
    alpha(stock, 8);
    alpha("Q", 1);   // market category: NASDAQ Global Select
    alpha("N", 1);   // financial status: normal
    u(100, 4);       // round lot size
    alpha("N", 1);   // round lots only
    alpha("C", 1);   // issue classification: common stock
    alpha("Z", 2);   // issue sub-type
    alpha("P", 1);   // authenticity: live
    alpha("N", 1);   // short sale threshold
    alpha(" ", 1);   // IPO flag
    alpha("1", 1);   // LULD reference price tier
    alpha("N", 1);   // ETP flag
    u(0, 4);         // ETP leverage factor
    alpha("N", 1);   // inverse indicator
    end();
  }
  void trading_action(std::uint16_t locate, std::int64_t ts, const std::string& stock, char state) {
    begin('H', locate, ts);
    alpha(stock, 8);
    alpha(std::string(1, state), 1);
    alpha(" ", 1);  // reserved
    alpha("", 4);   // reason
    end();
  }
  void add(std::uint16_t locate, std::int64_t ts, std::uint64_t ref, char side, std::uint32_t shares,
           const std::string& stock, std::uint32_t price) {
    begin('A', locate, ts);
    add_body(ref, side, shares, stock, price);
    end();
  }
  void add_mpid(std::uint16_t locate, std::int64_t ts, std::uint64_t ref, char side, std::uint32_t shares,
                const std::string& stock, std::uint32_t price, const std::string& mpid) {
    begin('F', locate, ts);
    add_body(ref, side, shares, stock, price);
    alpha(mpid, 4);
    end();
  }
  void executed(std::uint16_t locate, std::int64_t ts, std::uint64_t ref, std::uint32_t shares, std::uint64_t match) {
    begin('E', locate, ts);
    u(ref, 8);
    u(shares, 4);
    u(match, 8);
    end();
  }
  void executed_with_price(std::uint16_t locate, std::int64_t ts, std::uint64_t ref, std::uint32_t shares,
                           std::uint64_t match, char printable, std::uint32_t price) {
    begin('C', locate, ts);
    u(ref, 8);
    u(shares, 4);
    u(match, 8);
    alpha(std::string(1, printable), 1);
    u(price, 4);
    end();
  }
  void cancel(std::uint16_t locate, std::int64_t ts, std::uint64_t ref, std::uint32_t shares) {
    begin('X', locate, ts);
    u(ref, 8);
    u(shares, 4);
    end();
  }
  void del(std::uint16_t locate, std::int64_t ts, std::uint64_t ref) {
    begin('D', locate, ts);
    u(ref, 8);
    end();
  }
  void replace(std::uint16_t locate, std::int64_t ts, std::uint64_t ref, std::uint64_t new_ref, std::uint32_t shares,
               std::uint32_t price) {
    begin('U', locate, ts);
    u(ref, 8);
    u(new_ref, 8);
    u(shares, 4);
    u(price, 4);
    end();
  }
  // Non-cross trade of a hidden order: no book change.
  void trade(std::uint16_t locate, std::int64_t ts, std::uint64_t ref, char side, std::uint32_t shares,
             const std::string& stock, std::uint32_t price, std::uint64_t match) {
    begin('P', locate, ts);
    u(ref, 8);
    alpha(std::string(1, side), 1);
    u(shares, 4);
    alpha(stock, 8);
    u(price, 4);
    u(match, 8);
    end();
  }
  // Any bytes as one framed message (types the converter must skip, broken messages).
  void raw(const std::string& bytes) {
    u(bytes.size(), 2);
    out_ += bytes;
  }

  const std::string& bytes() const { return out_; }
  std::span<const std::byte> span() const { return {reinterpret_cast<const std::byte*>(out_.data()), out_.size()}; }

 private:
  void begin(char type, std::uint16_t locate, std::int64_t ts) {
    msg_.clear();
    in_message_ = true;
    msg_ += type;
    u(locate, 2);
    u(0, 2);  // tracking number
    u(static_cast<std::uint64_t>(ts), 6);
  }
  void add_body(std::uint64_t ref, char side, std::uint32_t shares, const std::string& stock, std::uint32_t price) {
    u(ref, 8);
    alpha(std::string(1, side), 1);
    u(shares, 4);
    alpha(stock, 8);
    u(price, 4);
  }
  void u(std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) target() += static_cast<char>((v >> (8 * i)) & 0xff);
  }
  void alpha(const std::string& s, std::size_t n) {
    std::string f = s.substr(0, n);
    f.resize(n, ' ');
    target() += f;
  }
  void end() {
    std::string m;
    m.swap(msg_);
    in_message_ = false;
    u(m.size(), 2);
    out_ += m;
  }
  std::string& target() { return in_message_ ? msg_ : out_; }

  std::string out_, msg_;
  bool in_message_ = false;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

const std::string kDataDir = std::string(CASCADE_SOURCE_DIR) + "/tests/data/itch/";

// Compares a generated feed with its committed copy (or rewrites the copy on request).
void expect_committed(const std::string& name, const ItchWriter& w) {
  const std::string path = kDataDir + name;
  if (std::getenv("CASCADE_WRITE_TEST_DATA")) std::ofstream(path, std::ios::binary) << w.bytes();
  EXPECT_TRUE(read_file(path) == w.bytes()) << path << " differs from the generator; CASCADE_WRITE_TEST_DATA=1 rewrites it";
}

// ---------------------------------------------------------------------------------------------
// The book-building feed: two stocks, every order message type, and types to skip.
// ---------------------------------------------------------------------------------------------

constexpr std::uint16_t kZvzzt = 7, kZxzzt = 9;  // stock locates

struct Step {
  std::string expect_zvzzt = {};  // ZVZZT's book after the message ("" = unchanged)
  std::string expect_zxzzt = {};
};

// Builds the feed and, per message, the book the specification implies.
std::vector<Step> book_feed(ItchWriter& w) {
  std::vector<Step> s;
  std::int64_t t = 34'200'000'000'000;  // 09:30
  auto at = [&] { return t += 1'000'000; };
  w.system_event(at(), 'O');                                   s.push_back({});
  w.stock_directory(kZvzzt, at(), "ZVZZT");                    s.push_back({});
  w.stock_directory(kZxzzt, at(), "ZXZZT");                    s.push_back({});
  w.trading_action(kZvzzt, at(), "ZVZZT", 'T');                s.push_back({});
  w.add(kZvzzt, at(), 101, 'B', 100, "ZVZZT", 100000);         s.push_back({"B 100000x100"});
  w.add(kZvzzt, at(), 102, 'B', 200, "ZVZZT", 100000);         s.push_back({"B 100000x300"});
  w.add_mpid(kZvzzt, at(), 103, 'S', 300, "ZVZZT", 100100, "GSCO");
  s.push_back({"A 100100x300 | B 100000x300"});
  w.add(kZvzzt, at(), 104, 'S', 50, "ZVZZT", 100200);          s.push_back({"A 100100x300 100200x50 | B 100000x300"});
  w.add(kZxzzt, at(), 201, 'B', 10, "ZXZZT", 50000);           s.push_back({"", "B 50000x10"});
  w.add(kZvzzt, at(), 105, 'B', 70, "ZVZZT", 99900);
  s.push_back({"A 100100x300 100200x50 | B 100000x300 99900x70"});
  w.executed(kZvzzt, at(), 101, 40, 1);                        // 101 is at the head: 60 left
  s.push_back({"A 100100x300 100200x50 | B 100000x260 99900x70"});
  w.executed_with_price(kZvzzt, at(), 103, 100, 2, 'Y', 100050);  // printed at 10.005
  s.push_back({"A 100100x200 100200x50 | B 100000x260 99900x70"});
  w.cancel(kZvzzt, at(), 102, 50);                             // 102: 150 left
  s.push_back({"A 100100x200 100200x50 | B 100000x210 99900x70"});
  w.executed(kZvzzt, at(), 102, 100, 3);                       // 102 executes although 101 is ahead
  s.push_back({"A 100100x200 100200x50 | B 100000x110 99900x70"});
  w.del(kZvzzt, at(), 101);                                    // 101's 60 leave
  s.push_back({"A 100100x200 100200x50 | B 100000x50 99900x70"});
  w.replace(kZvzzt, at(), 104, 106, 80, 100300);
  s.push_back({"A 100100x200 100300x80 | B 100000x50 99900x70"});
  w.trade(kZvzzt, at(), 0, 'B', 25, "ZVZZT", 100050, 4);       s.push_back({});
  w.raw(std::string("Z\x00\x07", 3));  // a type the specification does not define: skipped by its length
  s.push_back({});
  w.executed(kZvzzt, at(), 105, 70, 5);                        // not at the best bid: a cancel
  s.push_back({"A 100100x200 100300x80 | B 100000x50"});
  w.cancel(kZxzzt, at(), 201, 5);                              s.push_back({"", "B 50000x5"});
  w.del(kZvzzt, at(), 106);                                    s.push_back({"A 100100x200 | B 100000x50"});
  w.executed(kZvzzt, at(), 999, 10, 6);                        // never added: skipped
  s.push_back({});
  w.executed(kZvzzt, at(), 102, 50, 7);                        s.push_back({"A 100100x200"});
  w.system_event(at(), 'C');                                   s.push_back({});
  return s;
}

std::string book_string(const Engine& e, InstrumentId id) {
  std::string out;
  for (Side side : {Side::Sell, Side::Buy}) {
    LevelView levels[16];
    const std::size_t n = e.depth(id, side, 16, levels);
    if (n == 0) continue;
    if (!out.empty()) out += " | ";
    out += side == Side::Sell ? "A" : "B";
    for (std::size_t i = 0; i < n; ++i) (out += ' ').append(std::to_string(levels[i].price)).append(1, 'x').append(std::to_string(levels[i].qty));
  }
  return out;
}

struct Converted {
  EventBuffer events{1 << 16};
  ConvertStats stats;
  std::string error;
  bool ok = false;
};

Converted convert(std::span<const std::byte> feed, const std::string& symbol = "") {
  Converted c;
  BufferSink sink(c.events);
  itch::Options o;
  o.symbol = symbol;
  c.ok = itch::convert(feed, o, sink, c.stats, c.error);
  return c;
}

// Replays events message by message (events of message n have ref n); calls check(n, engine)
// after each of messages 1..messages.
template <class F>
void replay(const Converted& c, std::size_t messages, F&& check) {
  Engine engine;
  EventBuffer out;
  EventReader r(c.events.bytes());
  EventView ev;
  bool have = r.next(ev);
  for (std::size_t n = 1; n <= messages; ++n) {
    for (; have && ev.header().ref <= n; have = r.next(ev)) {
      ASSERT_EQ(ev.header().ref, n) << "events out of message order";
      engine.process(ev, out);
      EventReader o(out.bytes());
      EventView oe;
      while (o.next(oe))
        EXPECT_NE(oe.type(), wire::MsgType::Rejected)
            << "message " << n << ": " << wire::type_name(ev.type()) << " rejected, reason "
            << static_cast<int>(oe.as<wire::Rejected>().reason);
      out.clear();
    }
    check(n, engine);
  }
  EXPECT_FALSE(have) << "events with a ref beyond the last message";
  EXPECT_TRUE(r.ok());
}

std::string describe(const EventBuffer& buf, std::uint64_t ref) {
  auto id_name = [](OrderId id) {
    if (id >= kAggressorIdBase) return "A" + std::to_string(id - kAggressorIdBase);
    if (id >= kSyntheticIdBase) return "S" + std::to_string(id - kSyntheticIdBase);
    return std::to_string(id);
  };
  std::string s;
  EventReader r(buf.bytes());
  EventView v;
  while (r.next(v)) {
    if (v.header().ref != ref) continue;
    if (!s.empty()) s += " | ";
    if (v.header().flags) s += '+';
    switch (v.type()) {
      case wire::MsgType::NewOrder: {
        const auto& m = v.as<wire::NewOrder>();
        s += std::string(m.tif == TimeInForce::IOC ? "ioc " : "new ") + id_name(m.order_id) +
             (m.side == Side::Buy ? " buy " : " sell ") + std::to_string(m.qty) + "@" + std::to_string(m.price) + " i" +
             std::to_string(m.instrument);
        break;
      }
      case wire::MsgType::CancelOrder: s += "cancel " + id_name(v.as<wire::CancelOrder>().order_id); break;
      case wire::MsgType::ModifyOrder:
        s += "modify " + id_name(v.as<wire::ModifyOrder>().order_id) + "->" + std::to_string(v.as<wire::ModifyOrder>().new_qty);
        break;
      case wire::MsgType::InstrumentDefinition:
        s += std::string("instrument ") + std::to_string(v.as<wire::InstrumentDefinition>().instrument) + " " +
             v.as<wire::InstrumentDefinition>().symbol;
        break;
      default: s += wire::type_name(v.type());
    }
  }
  return s;
}

TEST(ItchFeed, CommittedSampleMatchesTheGenerator) {
  ItchWriter w;
  book_feed(w);
  expect_committed("book.itch", w);
}

TEST(ItchFeed, OneStockBookAfterEachMessageIsTheSpecifications) {
  ItchWriter w;
  const std::vector<Step> steps = book_feed(w);
  const Converted c = convert(w.span(), "ZVZZT");
  ASSERT_TRUE(c.ok) << c.error;
  EXPECT_EQ(c.stats.messages, steps.size());
  EXPECT_EQ(c.stats.instruments, 1u);
  EXPECT_EQ(c.stats.synthetic, 0u);
  EXPECT_EQ(c.stats.reductions, 1u);  // message 19
  EXPECT_EQ(c.stats.skipped, 1u);     // message 22
  EXPECT_EQ(c.stats.peak_orders, 5u);  // 101 to 105 rest before the executions
  std::string want;
  replay(c, steps.size(), [&](std::size_t n, const Engine& e) {
    if (!steps[n - 1].expect_zvzzt.empty()) want = steps[n - 1].expect_zvzzt;
    EXPECT_EQ(book_string(e, 0), want) << "after message " << n;
  });

  // Setup rides with message 1; each order message becomes the events the docs describe.
  EXPECT_EQ(describe(c.events, 1), "instrument 0 ZVZZT | deposit | deposit");
  EXPECT_EQ(describe(c.events, 5), "new 101 buy 100@100000 i0");
  EXPECT_EQ(describe(c.events, 11), "ioc A11 sell 40@100000 i0");
  // C: the engine trades at the resting order's price, not the printed 10.005.
  EXPECT_EQ(describe(c.events, 12), "ioc A12 buy 100@100100 i0");
  EXPECT_EQ(describe(c.events, 13), "modify 102->150");
  // The engine's FIFO fills 101 (60) and 40 of 102, which keeps 110 for the exchange's 50...
  EXPECT_EQ(describe(c.events, 14), "ioc A14 sell 100@100000 i0");
  // ...so deleting 101 (gone from the engine) takes its 60 from 102's engine order.
  EXPECT_EQ(describe(c.events, 15), "modify 102->50");
  EXPECT_EQ(describe(c.events, 16), "cancel 104 | new 106 sell 80@100300 i0");
  EXPECT_EQ(describe(c.events, 17), "");
  EXPECT_EQ(describe(c.events, 19), "cancel 105");
  EXPECT_EQ(describe(c.events, 20), "");  // the other stock
  EXPECT_EQ(describe(c.events, 23), "ioc A23 sell 50@100000 i0");
}

TEST(ItchFeed, AllStocksOneInstrumentEachInLocateOrder) {
  ItchWriter w;
  const std::vector<Step> steps = book_feed(w);
  const Converted c = convert(w.span());
  ASSERT_TRUE(c.ok) << c.error;
  EXPECT_EQ(c.stats.instruments, 2u);
  EXPECT_EQ(c.stats.peak_orders, 6u);  // and 201 of the other stock
  EXPECT_EQ(describe(c.events, 1), "instrument 0 ZVZZT | instrument 1 ZXZZT | deposit | deposit");
  EXPECT_EQ(describe(c.events, 9), "new 201 buy 10@50000 i1");
  std::string want0, want1;
  replay(c, steps.size(), [&](std::size_t n, const Engine& e) {
    if (!steps[n - 1].expect_zvzzt.empty()) want0 = steps[n - 1].expect_zvzzt;
    if (!steps[n - 1].expect_zxzzt.empty()) want1 = steps[n - 1].expect_zxzzt;
    EXPECT_EQ(book_string(e, 0), want0) << "after message " << n;
    EXPECT_EQ(book_string(e, 1), want1) << "after message " << n;
  });
}

TEST(ItchFeed, InstrumentsTakePriceGridAndRangeFromTheStock) {
  ItchWriter w;
  w.stock_directory(1, 1, "CENT");
  w.stock_directory(2, 2, "PENNY");
  w.add(1, 3, 1, 'B', 100, "CENT", 123400);
  w.add(2, 4, 2, 'S', 5000, "PENNY", 5123);  // sub-dollar: $0.0001 grid
  const Converted c = convert(w.span());
  ASSERT_TRUE(c.ok) << c.error;
  EventReader r(c.events.bytes());
  EventView v;
  std::vector<wire::InstrumentDefinition> defs;
  while (r.next(v))
    if (v.type() == wire::MsgType::InstrumentDefinition) defs.push_back(v.as<wire::InstrumentDefinition>());
  ASSERT_EQ(defs.size(), 2u);
  EXPECT_STREQ(defs[0].symbol, "CENT");
  EXPECT_EQ(defs[0].price_decimals, 4);
  EXPECT_EQ(defs[0].tick_size, 100);
  EXPECT_EQ(defs[0].min_price, 123400 - 100 * 100);
  EXPECT_EQ(defs[0].max_price, 123400 + 100 * 100);
  EXPECT_STREQ(defs[1].symbol, "PENNY");
  EXPECT_EQ(defs[1].tick_size, 1);
  EXPECT_EQ(defs[1].min_price, 5123 - 100);
  replay(c, 4, [](std::size_t, const Engine&) {});
}

TEST(ItchFeed, FramingAndLengthErrorsNameTheMessage) {
  {
    ItchWriter w;
    w.system_event(1, 'O');
    std::string bytes = w.bytes() + std::string("\x00\x24" "A\x00\x01", 5);  // says 36 bytes, has 3
    const Converted c = convert({reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()});
    EXPECT_FALSE(c.ok);
    EXPECT_EQ(c.error, "offset 14: truncated message (length 36, 3 bytes remain)");
  }
  {
    ItchWriter w;
    w.raw(std::string("A\x00\x01\x00\x00", 5));  // an add order of 5 bytes
    const Converted c = convert(w.span());
    EXPECT_FALSE(c.ok);
    EXPECT_EQ(c.error, "message 1 (offset 0): 'A' message of 5 bytes, ITCH 5.0 gives it 36");
  }
  {
    ItchWriter w;
    w.add(1, 1, 1, 'Q', 1, "X", 10000);
    const Converted c = convert(w.span());
    EXPECT_EQ(c.error, "message 1 (offset 0): 'A' message with side 'Q' (B or S)");
  }
  {
    ItchWriter w;
    w.stock_directory(1, 1, "ABC");
    const Converted c = convert(w.span(), "XYZ");
    EXPECT_EQ(c.error, "stock 'XYZ' is not in the feed's stock directory");
  }
}

TEST(ItchFeed, DecodesEveryFieldOfTheOrderMessages) {
  ItchWriter w;
  w.add_mpid(5, 0x010203040506, 0x1122334455667788, 'S', 300, "ZVZZT", 1234567, "GSCO");
  w.executed_with_price(5, 7, 42, 17, 99, 'N', 100050);
  w.replace(5, 8, 42, 43, 18, 100100);
  itch::FrameReader f(w.span());
  std::span<const std::byte> m;
  itch::Message d;
  std::string error;
  ASSERT_TRUE(f.next(m));
  ASSERT_TRUE(itch::decode(m, d, error)) << error;
  EXPECT_EQ(d.type, 'F');
  EXPECT_EQ(d.locate, 5);
  EXPECT_EQ(d.timestamp_ns, 0x010203040506);
  EXPECT_EQ(d.ref, 0x1122334455667788u);
  EXPECT_EQ(d.side, Side::Sell);
  EXPECT_EQ(d.shares, 300u);
  EXPECT_STREQ(d.stock, "ZVZZT");
  EXPECT_EQ(d.price, 1234567u);
  EXPECT_STREQ(d.mpid, "GSCO");
  ASSERT_TRUE(f.next(m));
  ASSERT_TRUE(itch::decode(m, d, error));
  EXPECT_EQ(d.type, 'C');
  EXPECT_EQ(d.ref, 42u);
  EXPECT_EQ(d.shares, 17u);
  EXPECT_EQ(d.match, 99u);
  EXPECT_EQ(d.printable, 'N');
  EXPECT_EQ(d.price, 100050u);
  ASSERT_TRUE(f.next(m));
  ASSERT_TRUE(itch::decode(m, d, error));
  EXPECT_EQ(d.type, 'U');
  EXPECT_EQ(d.ref, 42u);
  EXPECT_EQ(d.new_ref, 43u);
  EXPECT_EQ(d.shares, 18u);
  EXPECT_EQ(d.price, 100100u);
  EXPECT_FALSE(f.next(m));
  EXPECT_TRUE(f.ok());
}

TEST(ItchFeed, FileDatesAndTimestamps) {
  Date d;
  ASSERT_TRUE(itch::parse_file_date("/data/12302019.NASDAQ_ITCH50", d));
  EXPECT_EQ(d.year, 2019);
  EXPECT_EQ(d.month, 12);
  EXPECT_EQ(d.day, 30);
  EXPECT_FALSE(itch::parse_file_date("sample.itch", d));
  EXPECT_FALSE(itch::parse_file_date("13302019.NASDAQ_ITCH50", d));

  ItchWriter w;
  w.add(1, 34'200'123'456'789, 1, 'B', 1, "X", 10000);
  Converted c;
  BufferSink sink(c.events);
  itch::Options o;
  o.day_start_ns = us_eastern_midnight_ns({2019, 12, 30});
  ASSERT_TRUE(itch::convert(w.span(), o, sink, c.stats, c.error)) << c.error;
  EventReader r(c.events.bytes());
  EventView v;
  while (r.next(v)) EXPECT_EQ(v.header().ts_ns, 1'577'682'000'000'000'000 + 34'200'123'456'789);
}

// ---------------------------------------------------------------------------------------------
// The real sample: the opening of a NASDAQ daily file (no order messages)
// ---------------------------------------------------------------------------------------------

const std::string kSample = std::string(CASCADE_DATA_DIR) + "/itch/sample.itch";

std::string sample_or_skip() { return read_file(kSample); }

TEST(ItchSample, FramingSkippingAndStockDirectory) {
  const std::string bytes = sample_or_skip();
  if (bytes.empty()) GTEST_SKIP() << "ITCH sample not found at " << kSample << " (set CASCADE_DATA_DIR)";
  const std::span<const std::byte> feed(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size());
  ASSERT_EQ(bytes.size(), 40874u);
  itch::FrameReader f(feed);
  std::span<const std::byte> m;
  std::map<char, int> types;
  std::map<std::uint16_t, std::string> directory;
  std::int64_t first_ts = -1, last_ts = 0;
  std::string error;
  while (f.next(m)) {
    itch::Message d;
    ASSERT_TRUE(itch::decode(m, d, error)) << error;
    ASSERT_EQ(m.size(), itch::message_length(d.type)) << "type " << d.type;
    ++types[d.type];
    if (d.type == 'R') directory[d.locate] = d.stock;
    if (first_ts < 0) first_ts = d.timestamp_ns;
    EXPECT_GE(d.timestamp_ns, last_ts);
    last_ts = d.timestamp_ns;
  }
  ASSERT_TRUE(f.ok()) << f.error();
  EXPECT_EQ(f.offset(), 40874u);
  EXPECT_EQ(types, (std::map<char, int>{{'R', 993}, {'H', 3}, {'Y', 3}, {'S', 1}}));
  EXPECT_EQ(directory.size(), 993u);
  EXPECT_EQ(directory[1], "A");
  EXPECT_EQ(directory[2], "AA");
  EXPECT_EQ(directory[13], "AAPL");
  EXPECT_EQ(first_ts, 11'072'057'543'747);  // 03:04:32 New York time

  // Everything converts to nothing: no stock has orders.
  const Converted all = convert(feed);
  ASSERT_TRUE(all.ok) << all.error;
  EXPECT_EQ(all.stats.messages, 1000u);
  EXPECT_EQ(all.stats.events, 0u);
  EXPECT_EQ(all.stats.instruments, 0u);

  // One named stock is defined even without orders, and its setup rides with message 1.
  const Converted aapl = convert(feed, "AAPL");
  ASSERT_TRUE(aapl.ok) << aapl.error;
  EXPECT_EQ(aapl.stats.instruments, 1u);
  EXPECT_EQ(describe(aapl.events, 1), "instrument 0 AAPL | deposit | deposit");
  replay(aapl, 1000, [](std::size_t, const Engine& e) { EXPECT_NE(e.instrument(0), nullptr); });
}

TEST(ItchSample, CliConvertsAndReports) {
#ifndef CASCADE_CLI
  GTEST_SKIP() << "the cascade CLI is not built";
#else
  if (sample_or_skip().empty()) GTEST_SKIP() << "ITCH sample not found at " << kSample << " (set CASCADE_DATA_DIR)";
  const std::string out = ::testing::TempDir() + "itch_sample.events", report = ::testing::TempDir() + "itch_sample.txt";
  const std::string cmd = std::string(CASCADE_CLI) + " convert --from itch '" + kSample + "' --symbol AAPL -o '" + out +
                          "' > '" + report + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_EQ(read_file(report),
            "messages read     1000\n"
            "events written    3\n"
            "synthetic events  0\n"
            "instruments       1\n"
            "peak orders       0\n");
  std::remove(out.c_str());
  std::remove(report.c_str());
#endif
}

TEST(ItchFeed, CliConvertsTheCommittedFeed) {
#ifndef CASCADE_CLI
  GTEST_SKIP() << "the cascade CLI is not built";
#else
  const std::string out = ::testing::TempDir() + "itch_book.events", report = ::testing::TempDir() + "itch_book.txt";
  const std::string cmd = std::string(CASCADE_CLI) + " convert --from itch '" + kDataDir + "book.itch' --symbol ZVZZT -o '" +
                          out + "' > '" + report + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_EQ(read_file(report),
            "messages read     24\n"
            "events written    18\n"
            "synthetic events  0\n"
            "instruments       1\n"
            "peak orders       5\n"
            "executions as cancels  1  (not at the engine's best price)\n"
            "skipped           1  (order messages naming orders the feed never added)\n");
  std::remove(out.c_str());
  std::remove(report.c_str());
#endif
}

}  // namespace
