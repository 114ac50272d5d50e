// The text form: exact lines for every event type, byte-exact round trips (including every
// field at arbitrary values), decimal edge cases, and parse errors naming line and key.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cascade/decimal.hpp"
#include "cascade/event_file.hpp"
#include "cascade/text_format.hpp"
#include "support/all_events.hpp"

namespace cascade {
namespace {

using namespace wire;

const char* const kAllEventsText =
    "# cascade v1 kind=input created_ns=1700000000000000000 creator=\"all-events test\"\n"
    "instrument seq=1 ts=1700000000000001000 instrument=7 symbol=BTC-PERP price_decimals=1 qty_decimals=3 "
    "tick_size=0.5 lot_size=0.001 min_price=10000 max_price=200000 max_order_qty=100 reference_price=65000 "
    "price_band=0.1 market_band=0.05 maker_fee=-0.0001 taker_fee=0.0005 liquidation_fee=0.01 circuit_band=0.15 "
    "circuit_window_ms=60000 circuit_pause_ms=30000 mark_band=0.025 tier_count=2 tier0=1000000:0.01:0.005:0 "
    "tier1=5000000:0.02:0.01:5000\n"
    "deposit seq=2 ts=1700000000000002000 account=11 amount=250000 transfer_id=901\n"
    "withdrawal seq=3 ts=1700000000000003000 account=11 amount=1500.25 transfer_id=902\n"
    "account_settings seq=4 ts=1700000000000004000 account=11 instrument=all margin_mode=isolated role=backstop\n"
    "new_order seq=5 ts=1700000000000005000 ref=77 flags=synthetic order_id=1001 client_order_id=5001 account=11 "
    "instrument=7 side=sell type=stop_limit tif=gtc price=64999.5 qty=1.25 trigger_price=65050 "
    "order_flags=reduce_only stp=cancel_both\n"
    "cancel seq=6 ts=1700000000000006000 order_id=1001 account=11 instrument=7\n"
    "modify seq=7 ts=1700000000000007000 order_id=1002 account=12 instrument=7 new_price=65001 new_qty=0.5\n"
    "mass_cancel seq=8 ts=1700000000000008000 account=12 instrument=7\n"
    "index_price seq=9 ts=1700000000000009000 instrument=7 price=65012.3\n"
    "funding_rate seq=10 ts=1700000000000010000 instrument=7 rate=-0.000025\n"
    "heartbeat seq=11 ts=1700000000000011000\n"
    "accepted seq=12 ts=1700000000000012000 ref=5 order_id=1003 client_order_id=5003 account=12 instrument=7 "
    "side=buy type=limit tif=ioc price=65002 qty=1.5 order_flags=post_only|reduce_only stp=cancel_resting\n"
    "rejected seq=13 ts=1700000000000013000 ref=5 input_type=new_order reason=post_only_would_take id=1003 "
    "client_order_id=5003 account=12 instrument=7\n"
    "cancelled seq=14 ts=1700000000000014000 ref=6 order_id=1002 account=12 instrument=7 side=buy "
    "cancelled_qty=0.5 reason=ioc_remainder\n"
    "modified seq=15 ts=1700000000000015000 ref=7 order_id=1002 account=12 instrument=7 new_price=65001 "
    "new_qty=0.4 priority_kept=1\n"
    "fill seq=16 ts=1700000000000016000 ref=7 instrument=7 price=65001 qty=0.1 aggressor=sell maker_order_id=1002 "
    "maker_account=12 maker_leaves=0.3 maker_fee=-0.0065 taker_order_id=1004 taker_account=13 taker_leaves=0 "
    "taker_fee=0.032501 fill_flags=liquidation|stop_triggered\n"
    "stop_triggered seq=17 ts=1700000000000017000 ref=7 order_id=1001 account=11 instrument=7 trigger_price=65050 "
    "last_price=65051\n"
    "top_of_book seq=18 ts=1700000000000018000 ref=7 instrument=7 bid_price=65001 bid_qty=0.3 ask_price=65002 "
    "ask_qty=1.5\n"
    "depth seq=19 ts=1700000000000019000 ref=7 instrument=7 side=sell price=65002 qty=1.5 order_count=3\n"
    "mark_price seq=20 ts=1700000000000020000 ref=9 instrument=7 mark=65001.5 index=65012.3 last=65001\n"
    "balance seq=21 ts=1700000000000021000 ref=7 account=13 reason=fee delta=-0.032501 balance=249999.967499\n"
    "position seq=22 ts=1700000000000022000 ref=7 account=13 instrument=7 size=-0.1 entry_value=-6500.1 "
    "realized_pnl=1.234567\n"
    "margin seq=23 ts=1700000000000023000 ref=7 account=13 collateral=249999.967499 equity=250000 "
    "initial_margin=65.001 maintenance_margin=32.5005\n"
    "funding_payment seq=24 ts=1700000000000024000 ref=10 account=13 instrument=7 position=-0.1 rate=-0.000025 "
    "amount=0.162502\n"
    "liquidation seq=25 ts=1700000000000025000 ref=9 account=14 instrument=7 stage=book_order side=buy qty=2 "
    "price=64000 amount=-1000 depth=2 cascade_origin=9\n"
    "deleverage seq=26 ts=1700000000000026000 ref=9 account=13 counter_account=14 instrument=7 rank=1 qty=0.5 "
    "price=64000\n"
    "insurance_fund seq=27 ts=1700000000000027000 ref=9 instrument=7 reason=bankruptcy_payout delta=-250 "
    "balance=9750\n"
    "circuit_breaker seq=28 ts=1700000000000028000 ref=9 instrument=7 paused=1 reference_price=65001 "
    "until_ns=1700000030000000000\n";

std::string bytes_of(const EventBuffer& b) {
  return std::string(reinterpret_cast<const char*>(b.bytes().data()), b.size());
}

std::string dump_ok(const EventBuffer& file) {
  std::string text, error;
  EXPECT_TRUE(text::dump(file.bytes(), text, error)) << error;
  return text;
}

std::string encode_error(std::string_view text) {
  EventBuffer out;
  std::string error;
  EXPECT_FALSE(text::encode(text, out, error)) << text;
  return error;
}

// ---------------------------------------------------------------------------------------------
// Every type, exact lines, both directions
// ---------------------------------------------------------------------------------------------

TEST(TextFormat, EveryTypeDumpsToTheExpectedLines) {
  EXPECT_EQ(dump_ok(testing::all_events_file()), kAllEventsText);
}

TEST(TextFormat, EveryTypeEncodesToTheSameBytes) {
  EventBuffer out;
  std::string error;
  ASSERT_TRUE(text::encode(kAllEventsText, out, error)) << error;
  EXPECT_EQ(bytes_of(out), bytes_of(testing::all_events_file()));
}

TEST(TextFormat, LinesAreIndependentOfKeyOrderAndSpacing) {
  const std::string a =
      "new_order seq=5 ts=9 order_id=1 account=2 instrument=3 side=buy type=limit tif=gtc price=10 qty=4\n";
  const std::string b =
      "  new_order\tqty=4 price=10  tif=gtc type=limit side=buy instrument=3 account=2 order_id=1 ts=9 seq=5   \r\n";
  EventBuffer x, y;
  std::string error;
  ASSERT_TRUE(text::encode(a, x, error)) << error;
  ASSERT_TRUE(text::encode(b, y, error)) << error;
  EXPECT_EQ(bytes_of(x), bytes_of(y));
}

TEST(TextFormat, CommentsBlankLinesAndLeftOutFieldsAreZero) {
  const std::string t =
      "# a comment line\n"
      "\n"
      "   \n"
      "# cascade is not followed by a version here, so this is a comment too\n"
      "cancel seq=1 ts=2 order_id=3  # a trailing comment with key=value inside\n"
      "heartbeat seq=2 ts=3#x\n";
  EventBuffer out;
  std::string error;
  // '#' only starts a comment at the start of a token; "3#not" is a bad ts.
  EXPECT_FALSE(text::encode(t, out, error));
  EXPECT_EQ(error, "line 6: heartbeat: key 'ts': '3#x' is not a 64-bit integer");

  ASSERT_TRUE(text::encode(t.substr(0, t.rfind("heartbeat")), out, error)) << error;
  EventFile f;
  ASSERT_TRUE(f.open_buffer(out.bytes(), error));
  EventReader r = f.reader();
  EventView ev;
  ASSERT_TRUE(r.next(ev));
  const auto& c = ev.as<CancelOrder>();
  EXPECT_EQ(c.header.seq, 1u);
  EXPECT_EQ(c.header.ts_ns, 2);
  EXPECT_EQ(c.order_id, 3u);
  EXPECT_EQ(c.account, 0u);
  EXPECT_EQ(c.instrument, 0u);
  EXPECT_FALSE(r.next(ev));
  EXPECT_TRUE(r.ok());
}

TEST(TextFormat, WithoutAHeaderLineTheKindFollowsTheFirstEvent) {
  EventBuffer out;
  std::string error;
  ASSERT_TRUE(text::encode("heartbeat seq=1 ts=1\n", out, error));
  FileHeader h;
  std::memcpy(&h, out.bytes().data(), sizeof h);
  EXPECT_EQ(h.kind, StreamKind::Input);
  EXPECT_EQ(h.created_ns, 0);
  EXPECT_EQ(std::string(h.creator), "cascade encode");

  ASSERT_TRUE(text::encode("# only a comment\ntop_of_book seq=1 ts=1 instrument=2\n", out, error));
  std::memcpy(&h, out.bytes().data(), sizeof h);
  EXPECT_EQ(h.kind, StreamKind::Output);

  ASSERT_TRUE(text::encode("", out, error));
  EXPECT_EQ(out.size(), 64u);
  std::memcpy(&h, out.bytes().data(), sizeof h);
  EXPECT_EQ(h.kind, StreamKind::Input);
}

TEST(TextFormat, FileHeaderCreatorRoundTripsAnyBytes) {
  // 40 bytes, no NUL terminator, with a quote, a backslash and non-printable bytes.
  FileHeader h = make_file_header(StreamKind::Output, -42, "");
  const char creator[41] = "q\"b\\s t\x01\x7f\xff#=0123456789012345678901234567";
  std::memcpy(h.creator, creator, 40);
  EventBuffer file;
  file.append(h);
  const std::string text = dump_ok(file);
  EXPECT_EQ(text,
            "# cascade v1 kind=output created_ns=-42 "
            "creator=\"q\\\"b\\\\s t\\x01\\x7f\\xff#=0123456789012345678901234567\"\n");
  EventBuffer back;
  std::string error;
  ASSERT_TRUE(text::encode(text, back, error)) << error;
  EXPECT_EQ(bytes_of(back), bytes_of(file));
}

TEST(TextFormat, OmittedOptionalFieldsAndExplicitZeros) {
  // Optional fields are left out of the dump when zero; writing them as 0 gives the same bytes.
  const std::string dumped =
      "new_order seq=1 ts=1 order_id=1 account=1 instrument=1 side=buy type=market tif=ioc price=0 qty=5\n";
  const std::string explicit_zeros =
      "new_order seq=1 ts=1 ref=0 flags=0 order_id=1 client_order_id=0 account=1 instrument=1 side=buy "
      "type=market tif=ioc price=0 qty=5 trigger_price=0 order_flags=0 stp=default\n";
  EventBuffer a, b;
  std::string error;
  ASSERT_TRUE(text::encode(dumped, a, error)) << error;
  ASSERT_TRUE(text::encode(explicit_zeros, b, error)) << error;
  EXPECT_EQ(bytes_of(a), bytes_of(b));
  EXPECT_EQ(dump_ok(a), "# cascade v1 kind=input created_ns=0 creator=\"cascade encode\"\n" + dumped);
}

TEST(TextFormat, ABackstopStageAmountIsTheBackstopsAccountId) {
  const std::string lines =
      "liquidation seq=1 ts=1 account=14 instrument=7 stage=backstop side=sell qty=2 price=64000 amount=3 "
      "cascade_origin=1\n"
      "liquidation seq=2 ts=2 account=14 instrument=7 stage=bankrupt side=sell qty=2 price=64000 amount=3 "
      "cascade_origin=1\n";
  EventBuffer out;
  std::string error;
  ASSERT_TRUE(text::encode(lines, out, error)) << error;
  EventReader r(out.bytes().subspan(sizeof(FileHeader)));
  EventView ev;
  ASSERT_TRUE(r.next(ev));
  EXPECT_EQ(ev.as<Liquidation>().amount, 3);  // account 3
  ASSERT_TRUE(r.next(ev));
  EXPECT_EQ(ev.as<Liquidation>().amount, 3'000'000);  // 3 USD in micros
  const std::string dumped = dump_ok(out);
  EXPECT_NE(dumped.find("stage=backstop side=sell qty=2 price=64000 amount=3 "), std::string::npos) << dumped;
  EXPECT_NE(dumped.find("stage=bankrupt side=sell qty=2 price=64000 amount=3 "), std::string::npos) << dumped;
  EXPECT_FALSE(text::encode("liquidation seq=1 ts=1 account=14 instrument=7 stage=backstop amount=3.5\n", out, error));
  EXPECT_NE(error.find("a backstop stage's account id"), std::string::npos) << error;
}

TEST(TextFormat, UnnamedEnumAndFlagValuesAreNumbers) {
  NewOrder o = make<NewOrder>();
  o.side = static_cast<Side>(0);
  o.order_type = static_cast<OrderType>(9);
  o.tif = static_cast<TimeInForce>(200);
  o.flags = order_flags::kPostOnly | 0x88;
  o.stp = static_cast<SelfTradePrevention>(4);
  Rejected rj = make<Rejected>();
  rj.reason = static_cast<RejectReason>(999);
  rj.input_type = static_cast<MsgType>(0x7e);
  Fill f = make<Fill>();
  f.flags = 0xf0;
  EventBuffer file;
  file.append(make_file_header(StreamKind::Input, 0, "x"));
  file.append(o);
  file.append(rj);
  file.append(f);
  const std::string text = dump_ok(file);
  EXPECT_EQ(text,
            "# cascade v1 kind=input created_ns=0 creator=\"x\"\n"
            "new_order seq=0 ts=0 order_id=0 account=0 instrument=0 side=0 type=9 tif=200 price=0 qty=0 "
            "order_flags=post_only|0x88 stp=4\n"
            "rejected seq=0 ts=0 input_type=126 reason=999 id=0 account=0 instrument=0\n"
            "fill seq=0 ts=0 instrument=0 price=0 qty=0 aggressor=0 maker_order_id=0 maker_account=0 maker_leaves=0 "
            "maker_fee=0 taker_order_id=0 taker_account=0 taker_leaves=0 taker_fee=0 fill_flags=0xf0\n");
  EventBuffer back;
  std::string error;
  ASSERT_TRUE(text::encode(text, back, error)) << error;
  EXPECT_EQ(bytes_of(back), bytes_of(file));
  // Flags may also be written as decimal numbers and mixed with names.
  ASSERT_TRUE(text::encode("fill seq=0 ts=0 fill_flags=16|backstop|0x20\n", back, error)) << error;
  EXPECT_EQ(reinterpret_cast<const Fill*>(back.bytes().data() + 64)->flags, 0x32);
}

// ---------------------------------------------------------------------------------------------
// Decimals follow the stream's instrument definitions
// ---------------------------------------------------------------------------------------------

TEST(TextFormat, DecimalsFollowTheLatestDefinitionOfEachInstrument) {
  const std::string t =
      "# cascade v1 kind=input created_ns=0 creator=\"cascade encode\"\n"
      "index_price seq=1 ts=1 instrument=1 price=650005\n"  // not defined yet: 0 decimals
      "instrument seq=2 ts=2 instrument=1 symbol=A price_decimals=1 qty_decimals=3 tick_size=0.1 lot_size=0.001 "
      "min_price=0 max_price=0 max_order_qty=0 reference_price=0 price_band=0 market_band=0 maker_fee=0 taker_fee=0 "
      "liquidation_fee=0 circuit_band=0 circuit_window_ms=0 circuit_pause_ms=0 mark_band=0 tier_count=0\n"
      "index_price seq=3 ts=3 instrument=1 price=65000.5\n"
      "index_price seq=4 ts=4 instrument=2 price=650005\n"  // another instrument: still 0 decimals
      "instrument seq=5 ts=5 instrument=1 symbol=A price_decimals=4 qty_decimals=0 tick_size=0.0001 lot_size=1 "
      "min_price=0 max_price=0 max_order_qty=0 reference_price=0 price_band=0 market_band=0 maker_fee=0 taker_fee=0 "
      "liquidation_fee=0 circuit_band=0 circuit_window_ms=0 circuit_pause_ms=0 mark_band=0 tier_count=0\n"
      "index_price seq=6 ts=6 instrument=1 price=65.0005\n"
      "mass_cancel seq=7 ts=7 account=1 instrument=all\n";
  EventBuffer file;
  std::string error;
  ASSERT_TRUE(text::encode(t, file, error)) << error;
  const auto price_at = [&](std::size_t offset) {
    return reinterpret_cast<const IndexPrice*>(file.bytes().data() + offset)->price;
  };
  EXPECT_EQ(price_at(64), 650005);
  EXPECT_EQ(price_at(64 + 48 + 336), 650005);
  EXPECT_EQ(price_at(64 + 96 + 336), 650005);
  EXPECT_EQ(price_at(64 + 144 + 672), 650005);
  EXPECT_EQ(dump_ok(file), t);

  // The same prices in too fine a unit for the instrument are errors, naming the decimals.
  EXPECT_EQ(encode_error(t.substr(0, t.find("index_price seq=3")) + "index_price seq=3 ts=3 instrument=1 price=65000.55\n"),
            "line 4: index_price: key 'price': too many decimals in '65000.55' (instrument 1 has price_decimals 1)");
  EXPECT_EQ(encode_error("index_price seq=1 ts=1 instrument=3 price=1.5\n"),
            "line 1: index_price: key 'price': too many decimals in '1.5' (instrument 3 has price_decimals 0)");
}

TEST(TextFormat, DecimalsDirectiveAndInstrumentFieldOrder) {
  // @decimals sets decimals without an event; the instrument key may come after the prices.
  const std::string t =
      "@decimals instrument=4 price_decimals=2 qty_decimals=8\n"
      "top_of_book seq=1 ts=1 bid_qty=0.00000001 bid_price=99.99 ask_price=100.01 ask_qty=3 instrument=4\n";
  EventBuffer file;
  std::string error;
  ASSERT_TRUE(text::encode(t, file, error)) << error;
  const auto* tb = reinterpret_cast<const TopOfBook*>(file.bytes().data() + 64);
  EXPECT_EQ(tb->bid_price, 9999);
  EXPECT_EQ(tb->bid_qty, 1);
  EXPECT_EQ(tb->ask_price, 10001);
  EXPECT_EQ(tb->ask_qty, 300000000);

  text::Formatter fmt;
  EXPECT_EQ(fmt.decimals_line(4, {2, 8}), "@decimals instrument=4 price_decimals=2 qty_decimals=8");
  std::string line, err;
  ASSERT_TRUE(fmt.format(EventView(file.bytes().data() + 64), 64, line, err)) << err;
  EXPECT_EQ(line, "top_of_book seq=1 ts=1 instrument=4 bid_price=99.99 bid_qty=0.00000001 ask_price=100.01 ask_qty=3");
}

TEST(TextFormat, TierCountIsInferredWhenLeftOut) {
  const std::string base = "instrument seq=1 ts=1 instrument=1 symbol=X tier0=1:0.1:0.05:0 tier2=3:0.3:0.15:1";
  EventBuffer file;
  std::string error;
  ASSERT_TRUE(text::encode(base + "\n", file, error)) << error;
  const auto* def = reinterpret_cast<const InstrumentDefinition*>(file.bytes().data() + 64);
  EXPECT_EQ(def->tier_count, 3);
  EXPECT_EQ(def->tiers[1].max_notional, 0);
  EXPECT_EQ(def->tiers[2].max_notional, 3'000'000);
  EXPECT_EQ(def->tiers[2].imr, 30'000'000);
  EXPECT_EQ(def->tiers[2].mmr, 15'000'000);
  EXPECT_EQ(def->tiers[2].maint_amount, 1'000'000);
  ASSERT_TRUE(text::encode(base + " tier_count=9\n", file, error)) << error;
  def = reinterpret_cast<const InstrumentDefinition*>(file.bytes().data() + 64);
  EXPECT_EQ(def->tier_count, 9);  // representable, though the engine rejects it
  EventBuffer back;
  ASSERT_TRUE(text::encode(dump_ok(file), back, error)) << error;
  EXPECT_EQ(bytes_of(back), bytes_of(file));
}

// ---------------------------------------------------------------------------------------------
// Every field at arbitrary values
// ---------------------------------------------------------------------------------------------

template <class T>
void add_padding(std::vector<std::pair<std::size_t, std::size_t>>& pads) {
  if constexpr (requires(T t) { t.pad0; }) pads.emplace_back(offsetof(T, pad0), sizeof(T::pad0));
  if constexpr (requires(T t) { t.pad1; }) pads.emplace_back(offsetof(T, pad1), sizeof(T::pad1));
}

TEST(TextFormat, EveryFieldRoundTripsAtRandomValues) {
  std::mt19937_64 rng(20240611);
  std::vector<MsgType> known;
  for (int t = 0; t < 256; ++t)
    if (message_size(static_cast<MsgType>(t))) known.push_back(static_cast<MsgType>(t));

  EventBuffer file;
  file.append(make_file_header(StreamKind::Input, static_cast<Timestamp>(rng()), "random"));
  text::Formatter scratch;  // only used to find padding
  int padding_hits = 0;
  for (int i = 0; i < 3000; ++i) {
    const MsgType type = i < 28 * 4 ? known[static_cast<std::size_t>(i) % known.size()] : known[rng() % known.size()];
    alignas(8) std::byte msg[512];
    const std::size_t size = message_size(type);
    for (std::size_t b = 0; b < size; ++b) msg[b] = static_cast<std::byte>(rng() >> 56);
    MessageHeader h{};
    h.length = static_cast<std::uint16_t>(size);
    h.type = type;
    h.flags = static_cast<std::uint8_t>(rng() & 1);
    h.seq = rng();
    h.ts_ns = static_cast<Timestamp>(rng());
    h.ref = rng() % 3 == 0 ? 0 : rng();
    std::memcpy(msg, &h, sizeof h);

    std::vector<std::pair<std::size_t, std::size_t>> pads;
    visit_type(type, [&](auto* p) {
      using T = std::remove_const_t<std::remove_pointer_t<decltype(p)>>;
      add_padding<T>(pads);
      T m;
      std::memcpy(&m, msg, sizeof m);
      // Small instrument ids so definitions and later events share decimals.
      if constexpr (requires { m.instrument; }) {
        if (rng() % 8) m.instrument = static_cast<InstrumentId>(rng() % 4);
      }
      if constexpr (std::is_same_v<T, InstrumentDefinition>) {
        m.price_decimals = static_cast<std::uint8_t>(rng() % 8 == 0 ? 255 : rng() % 24);
        m.qty_decimals = static_cast<std::uint8_t>(rng() % 24);
        const std::size_t len = rng() % 17;
        std::memset(m.symbol, 0, sizeof m.symbol);
        for (std::size_t c = 0; c < len; ++c) m.symbol[c] = static_cast<char>(1 + rng() % 255);
      }
      std::memcpy(msg, &m, sizeof m);
    });

    // Zero each byte the formatter reports as nonzero padding; it must be a pad field.
    std::string line, error;
    while (!scratch.format(EventView(msg), 1000, line, error)) {
      const std::string prefix = "nonzero padding at offset ";
      ASSERT_EQ(error.compare(0, prefix.size(), prefix), 0) << error;
      const std::size_t at = std::stoull(error.substr(prefix.size())) - 1000;
      bool in_pad = false;
      for (const auto& [off, len] : pads) in_pad = in_pad || (at >= off && at < off + len);
      ASSERT_TRUE(in_pad) << type_name(type) << " byte " << at << " is not padding: " << error;
      msg[at] = std::byte{0};
      ++padding_hits;
      line.clear();
    }
    file.append_raw(msg, size);
  }
  EXPECT_GT(padding_hits, 1000);

  std::string text, error;
  ASSERT_TRUE(text::dump(file.bytes(), text, error)) << error;
  EventBuffer back;
  ASSERT_TRUE(text::encode(text, back, error)) << error;
  ASSERT_EQ(back.size(), file.size());
  EXPECT_EQ(bytes_of(back), bytes_of(file));
}

// ---------------------------------------------------------------------------------------------
// Padding the text cannot carry
// ---------------------------------------------------------------------------------------------

TEST(TextFormat, NonzeroBodyPaddingFailsTheDumpAtItsOffset) {
  EventBuffer file = testing::all_events_file();
  // new_order is the 5th event: 64 + 336 + 56 + 56 + 48 = 560; its pad0 starts at byte 85.
  std::byte* p = const_cast<std::byte*>(file.bytes().data());
  p[560 + 86] = std::byte{0x40};
  std::string text, error;
  EXPECT_FALSE(text::dump(file.bytes(), text, error));
  EXPECT_EQ(error, "nonzero padding at offset 646 (byte 86 of the new_order at offset 560): the text form cannot represent it");
  // Every event before it was dumped.
  const std::string all = kAllEventsText;
  EXPECT_EQ(text, all.substr(0, all.find("new_order")));

  p[560 + 86] = std::byte{0};
  p[64 + offsetof(InstrumentDefinition, symbol) + 10] = std::byte{'Z'};  // after the symbol's NUL
  EXPECT_FALSE(text::dump(file.bytes(), text, error));
  EXPECT_EQ(error,
            "nonzero padding at offset 114 (byte 50 of the instrument symbol after its NUL at offset 64): "
            "the text form cannot represent it");
}

TEST(TextFormat, NonzeroFileHeaderPaddingFailsTheDump) {
  FileHeader h = make_file_header(StreamKind::Input, 0, "abc");
  h.pad0[1] = 1;
  EventBuffer file;
  file.append(h);
  std::string text, error;
  EXPECT_FALSE(text::dump(file.bytes(), text, error));
  EXPECT_EQ(error, "nonzero padding at offset 14 (file header): the text form cannot represent it");
  h.pad0[1] = 0;
  h.creator[20] = 'x';
  file.clear();
  file.append(h);
  EXPECT_FALSE(text::dump(file.bytes(), text, error));
  EXPECT_EQ(error, "nonzero padding at offset 44 (file header creator after its NUL): the text form cannot represent it");
}

TEST(TextFormat, DumpOfACorruptFileKeepsTheEventsBeforeTheProblem) {
  EventBuffer file = testing::all_events_file();
  const std::size_t cut = 64 + 336 + 56 + 20;  // inside the withdrawal
  std::string text, error;
  EXPECT_FALSE(text::dump(file.bytes().first(cut), text, error));
  EXPECT_EQ(error, "offset 456: truncated event (20 bytes left, a header needs 32)");
  const std::string all = kAllEventsText;
  EXPECT_EQ(text, all.substr(0, all.find("withdrawal")));
}

// ---------------------------------------------------------------------------------------------
// Decimals
// ---------------------------------------------------------------------------------------------

TEST(Decimal, Format) {
  EXPECT_EQ(format_decimal(0, 0), "0");
  EXPECT_EQ(format_decimal(0, 3), "0");
  EXPECT_EQ(format_decimal(0, 3, true), "0.000");
  EXPECT_EQ(format_decimal(650005, 1), "65000.5");
  EXPECT_EQ(format_decimal(650000, 1), "65000");
  EXPECT_EQ(format_decimal(650000, 1, true), "65000.0");
  EXPECT_EQ(format_decimal(5, 3), "0.005");
  EXPECT_EQ(format_decimal(-5, 3), "-0.005");
  EXPECT_EQ(format_decimal(-5, 3, true), "-0.005");
  EXPECT_EQ(format_decimal(1500, 3), "1.5");
  EXPECT_EQ(format_decimal(1500, 3, true), "1.500");
  EXPECT_EQ(format_decimal(20000, 8), "0.0002");
  EXPECT_EQ(format_decimal(100000000, 8), "1");
  EXPECT_EQ(format_decimal(-2147483647 - 1, 8), "-21.47483648");
  EXPECT_EQ(format_decimal(INT64_MAX, 0), "9223372036854775807");
  EXPECT_EQ(format_decimal(INT64_MIN, 0), "-9223372036854775808");
  EXPECT_EQ(format_decimal(INT64_MIN, 18), "-9.223372036854775808");
  EXPECT_EQ(format_decimal(INT64_MAX, 19), "0.9223372036854775807");
  EXPECT_EQ(format_decimal(INT64_MIN, 25), "-0.0000009223372036854775808");
  EXPECT_EQ(format_decimal(1, 30), "0.000000000000000000000000000001");
  EXPECT_EQ(format_decimal(10, 30, true), "0.000000000000000000000000000010");
}

DecimalError parse(std::string_view s, int decimals, std::int64_t& out) { return parse_decimal(s, decimals, out); }

TEST(Decimal, ParseExactValues) {
  std::int64_t v = 0;
  EXPECT_EQ(parse("65000.5", 1, v), DecimalError::None);
  EXPECT_EQ(v, 650005);
  EXPECT_EQ(parse("65000", 1, v), DecimalError::None);
  EXPECT_EQ(v, 650000);
  EXPECT_EQ(parse("65000.50000", 1, v), DecimalError::None);  // trailing zeros are exact
  EXPECT_EQ(v, 650005);
  EXPECT_EQ(parse("-0.005", 3, v), DecimalError::None);
  EXPECT_EQ(v, -5);
  EXPECT_EQ(parse("-0", 3, v), DecimalError::None);
  EXPECT_EQ(v, 0);
  EXPECT_EQ(parse("007.10", 2, v), DecimalError::None);
  EXPECT_EQ(v, 710);
  EXPECT_EQ(parse("9223372036854775807", 0, v), DecimalError::None);
  EXPECT_EQ(v, INT64_MAX);
  EXPECT_EQ(parse("-9223372036854775808", 0, v), DecimalError::None);
  EXPECT_EQ(v, INT64_MIN);
  EXPECT_EQ(parse("922337203685477580.7", 1, v), DecimalError::None);
  EXPECT_EQ(v, INT64_MAX);
  EXPECT_EQ(parse("-0.9223372036854775808", 19, v), DecimalError::None);
  EXPECT_EQ(v, INT64_MIN);
  EXPECT_EQ(parse("0.000000000000000000000000000001", 30, v), DecimalError::None);
  EXPECT_EQ(v, 1);
  EXPECT_EQ(parse("0", 255, v), DecimalError::None);
  EXPECT_EQ(v, 0);
}

TEST(Decimal, ParseErrors) {
  std::int64_t v = 0;
  EXPECT_EQ(parse("65000.25", 1, v), DecimalError::TooManyDecimals);
  EXPECT_EQ(parse("1.0001", 3, v), DecimalError::TooManyDecimals);
  EXPECT_EQ(parse("0.5", 0, v), DecimalError::TooManyDecimals);
  EXPECT_EQ(parse("9223372036854775808", 0, v), DecimalError::OutOfRange);
  EXPECT_EQ(parse("-9223372036854775809", 0, v), DecimalError::OutOfRange);
  EXPECT_EQ(parse("922337203685477580.8", 1, v), DecimalError::OutOfRange);
  EXPECT_EQ(parse("1", 19, v), DecimalError::OutOfRange);
  EXPECT_EQ(parse("99999999999999999999999999", 0, v), DecimalError::OutOfRange);
  for (const char* bad : {"", "-", ".5", "5.", "+1", "1e5", "1,5", " 1", "1 ", "0x10", "--1", "1.2.3", "nan"})
    EXPECT_EQ(parse(bad, 3, v), DecimalError::NotANumber) << '"' << bad << '"';
  EXPECT_EQ(parse_decimal("-1", 0, v, false), DecimalError::NotANumber);
}

TEST(Decimal, RoundTripsAtEveryScale) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20000; ++i) {
    const auto value = static_cast<std::int64_t>(rng() >> (rng() % 64));
    const std::int64_t signed_value = (rng() & 1) ? value : -value;
    const int decimals = static_cast<int>(rng() % 40);
    std::int64_t back = 0;
    const std::string s = format_decimal(signed_value, decimals, rng() & 1);
    ASSERT_EQ(parse(s, decimals, back), DecimalError::None) << s;
    ASSERT_EQ(back, signed_value) << s;
  }
}

// ---------------------------------------------------------------------------------------------
// Parse errors name the line and the key
// ---------------------------------------------------------------------------------------------

TEST(TextFormatErrors, MessagesNameTheLineAndKey) {
  const std::string ok_line = "heartbeat seq=1 ts=1\n";
  const std::string def =
      "instrument seq=1 ts=1 instrument=1 price_decimals=1 qty_decimals=3\n";
  struct Case {
    std::string text;
    std::string error;
  };
  const Case cases[] = {
      {ok_line + "new_ordr seq=2 ts=2\n", "line 2: unknown event type 'new_ordr'"},
      {ok_line + ok_line + "cancel seq=2 ts=2 order=5\n", "line 3: cancel: unknown key 'order'"},
      {"cancel ts=2 order_id=5\n", "line 1: cancel: missing required key 'seq'"},
      {"cancel seq=2 order_id=5\n", "line 1: cancel: missing required key 'ts'"},
      {"cancel seq=2 ts=2 order_id=5 order_id=6\n", "line 1: cancel: key 'order_id' given twice"},
      {"cancel seq=2 seq=3 ts=2\n", "line 1: cancel: key 'seq' given twice"},
      {def + "new_order seq=2 ts=2 instrument=1 price=65000.25\n",
       "line 2: new_order: key 'price': too many decimals in '65000.25' (instrument 1 has price_decimals 1)"},
      {def + "new_order seq=2 ts=2 instrument=1 qty=0.0001\n",
       "line 2: new_order: key 'qty': too many decimals in '0.0001' (instrument 1 has qty_decimals 3)"},
      {def + "new_order seq=2 ts=2 instrument=1 qty=9223372036854776\n",
       "line 2: new_order: key 'qty': '9223372036854776' is out of range"},
      {"deposit seq=1 ts=1 amount=1.0000001\n",
       "line 1: deposit: key 'amount': too many decimals in '1.0000001' (money has 6 decimals)"},
      {"funding_rate seq=1 ts=1 rate=0.000000001\n",
       "line 1: funding_rate: key 'rate': too many decimals in '0.000000001' (rates have 8 decimals)"},
      {"funding_rate seq=1 ts=1 rate=21.47483648\n",
       "line 1: funding_rate: key 'rate': '21.47483648' is out of range for a rate"},
      {"deposit seq=1 ts=1 amount=12abc\n", "line 1: deposit: key 'amount': '12abc' is not a decimal number"},
      {"deposit seq=1 ts=1 account=4294967296\n",
       "line 1: deposit: key 'account': '4294967296' is not an integer in 0..4294967295"},
      {"deposit seq=-1 ts=1\n", "line 1: deposit: key 'seq': '-1' is not an integer in 0..18446744073709551615"},
      {"deposit seq=1 ts=9223372036854775808\n",
       "line 1: deposit: key 'ts': '9223372036854775808' is not a 64-bit integer"},
      {"new_order seq=1 ts=1 side=up\n",
       "line 1: new_order: key 'side': unknown value 'up' (expected buy or sell, or a number)"},
      {"new_order seq=1 ts=1 tif=256\n",
       "line 1: new_order: key 'tif': unknown value '256' (expected gtc, ioc or fok, or a number)"},
      {"new_order seq=1 ts=1 order_flags=post_only|hidden\n",
       "line 1: new_order: key 'order_flags': unknown flag 'hidden' (expected post_only, reduce_only or mark_trigger joined by "
       "'|', or a number)"},
      {"new_order seq=1 ts=1 flags=synthetic|0x2\n",
       "line 1: new_order: key 'flags': 'synthetic|0x2' sets undefined header flags (only 'synthetic' exists)"},
      {"rejected seq=1 ts=1 input_type=nothing\n", "line 1: rejected: key 'input_type': unknown event type 'nothing'"},
      {"instrument seq=1 ts=1 symbol=ABCDEFGHIJKLMNOPQ\n",
       "line 1: instrument: key 'symbol': 'ABCDEFGHIJKLMNOPQ' is longer than 16 bytes"},
      {"instrument seq=1 ts=1 symbol=\"a\\x00b\"\n", "line 1: instrument: key 'symbol': a symbol cannot contain a NUL byte"},
      {"instrument seq=1 ts=1 symbol=\"abc\n", "line 1: key 'symbol': unterminated quoted value"},
      {"instrument seq=1 ts=1 symbol=\"a\\qb\"\n", "line 1: instrument: key 'symbol': unknown escape '\\q'"},
      {"instrument seq=1 ts=1 symbol=a\"b\n", "line 1: key 'symbol': stray quote in value"},
      {"instrument seq=1 ts=1 tier0=1:2:3\n",
       "line 1: instrument: key 'tier0': '1:2:3' is not max_notional:imr:mmr:maint_amount"},
      {"instrument seq=1 ts=1 tier0=1:0.1:0.05:0.0000001\n",
       "line 1: instrument: key 'tier0': too many decimals in '0.0000001' (money has 6 decimals)"},
      {"instrument seq=1 ts=1 price_decimals=256\n",
       "line 1: instrument: key 'price_decimals': '256' is not an integer in 0..255"},
      {"cancel seq=1 ts=1 order_id\n", "line 1: expected key=value, got 'order_id'"},
      {"cancel seq=1 ts=1 order_id=\n", "line 1: key 'order_id': empty value"},
      {"cancel seq=1 ts=1 =5\n", "line 1: expected key=value, got a value without a key"},
      {ok_line + "# cascade v1 kind=input\n", "line 2: the '# cascade' header line must come before the first event"},
      {"# cascade v1 kind=input\n# cascade v1 kind=input\n", "line 2: a second '# cascade' header line"},
      {"# cascade v2 kind=input\n", "line 1: unsupported text format version 'v2' (this build reads v1)"},
      {"# cascade v1 created_ns=5\n", "line 1: header: missing required key 'kind'"},
      {"# cascade v1 kind=both\n", "line 1: key 'kind': unknown value 'both' (expected input or output)"},
      {"# cascade v1 kind=input colour=red\n", "line 1: header: unknown key 'colour' (expected kind, created_ns, creator)"},
      {"# cascade v1 kind=input creator=\"" + std::string(41, 'c') + "\"\n", "line 1: key 'creator': longer than 40 bytes"},
      {"@decimals price_decimals=2\n", "line 1: @decimals: missing required key 'instrument'"},
      {"@decimals instrument=1 price_decimals=300\n", "line 1: @decimals: key 'price_decimals': '300' is out of range"},
      {"@precision instrument=1\n", "line 1: unknown directive '@precision'"},
  };
  for (const Case& c : cases) EXPECT_EQ(encode_error(c.text), c.error) << c.text;
}

TEST(TextFormatErrors, ParserCountsLinesAndCanContinue) {
  text::Parser p;
  EXPECT_EQ(p.parse("# comment"), text::Parser::Line::Skip);
  EXPECT_EQ(p.parse("# cascade v1 kind=output created_ns=3 creator=\"me\""), text::Parser::Line::Header);
  EXPECT_TRUE(p.has_header());
  EXPECT_EQ(p.header().kind, StreamKind::Output);
  EXPECT_EQ(p.parse("bogus seq=1 ts=1"), text::Parser::Line::Error);
  EXPECT_EQ(p.error(), "line 3: unknown event type 'bogus'");
  EXPECT_EQ(p.parse("heartbeat seq=1 ts=1"), text::Parser::Line::Event);
  EXPECT_EQ(p.event_type(), MsgType::Heartbeat);
  EXPECT_EQ(p.event().size(), 32u);
  EXPECT_EQ(p.line_number(), 4u);
  EXPECT_EQ(p.events(), 1u);
  const FileHeader h = p.file_header();
  EXPECT_EQ(h.created_ns, 3);
  EXPECT_EQ(std::string(h.creator), "me");
}

}  // namespace
}  // namespace cascade
