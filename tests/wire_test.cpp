// The binary event format: sizes, a byte-exact layout check, the round trip of every message
// type through EventBuffer / EventReader / EventFile field by field, and decoder errors.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cascade/event_buffer.hpp"
#include "cascade/event_file.hpp"
#include "cascade/event_reader.hpp"
#include "cascade/wire.hpp"
#include "support/all_events.hpp"

namespace cascade {
namespace {

using namespace wire;
using testing::kAllEventsTs0;

TEST(Wire, SizesOfEveryType) {
  struct Expect {
    MsgType type;
    std::uint16_t size;
  };
  const Expect expect[] = {
      {MsgType::InstrumentDefinition, 336}, {MsgType::Deposit, 56},        {MsgType::Withdrawal, 56},
      {MsgType::AccountSettings, 48},       {MsgType::NewOrder, 88},       {MsgType::CancelOrder, 48},
      {MsgType::ModifyOrder, 64},           {MsgType::MassCancel, 40},     {MsgType::IndexPrice, 48},
      {MsgType::FundingRate, 40},           {MsgType::Heartbeat, 32},      {MsgType::OrderAccepted, 88},
      {MsgType::Rejected, 64},              {MsgType::OrderCancelled, 64}, {MsgType::OrderModified, 72},
      {MsgType::Fill, 112},                 {MsgType::StopTriggered, 64},  {MsgType::TopOfBook, 72},
      {MsgType::DepthLevel, 64},            {MsgType::MarkPrice, 64},      {MsgType::BalanceChange, 56},
      {MsgType::PositionUpdate, 64},        {MsgType::MarginUpdate, 72},   {MsgType::FundingPayment, 64},
      {MsgType::Liquidation, 80},           {MsgType::Deleverage, 64},     {MsgType::InsuranceFund, 56},
      {MsgType::CircuitBreaker, 56},
  };
  int known = 0;
  for (int t = 0; t < 256; ++t)
    if (message_size(static_cast<MsgType>(t)) != 0) ++known;
  EXPECT_EQ(known, 28);
  for (const Expect& e : expect) {
    EXPECT_EQ(message_size(e.type), e.size) << type_name(e.type);
    EXPECT_EQ(e.size % 8, 0);
    EXPECT_EQ(is_input(e.type), static_cast<std::uint8_t>(e.type) < 0x80);
  }
  EXPECT_EQ(message_size(static_cast<MsgType>(0x00)), 0);
  EXPECT_EQ(message_size(static_cast<MsgType>(0x05)), 0);
  EXPECT_EQ(message_size(static_cast<MsgType>(0xFF)), 0);
  EXPECT_STREQ(type_name(static_cast<MsgType>(0x05)), "unknown");
  EXPECT_EQ(sizeof(MessageHeader), 32u);
  EXPECT_EQ(sizeof(FileHeader), 64u);
}

TEST(Wire, DepositBytesAreLittleEndianAtTheDocumentedOffsets) {
  const testing::AllEvents e = testing::make_all_events();
  EventBuffer b;
  b.append(e.deposit);
  const auto* p = reinterpret_cast<const unsigned char*>(b.bytes().data());
  const unsigned char expect[56] = {
      56, 0, 0x02, 0, 0, 0, 0, 0,                                 // length, type, flags, reserved
      2, 0, 0, 0, 0, 0, 0, 0,                                     // seq
      0xd0, 0x07, 0x2a, 0x36, 0xfe, 0x9c, 0x97, 0x17,            // ts_ns = kAllEventsTs0 + 2000
      0, 0, 0, 0, 0, 0, 0, 0,                                     // ref
      11, 0, 0, 0, 0, 0, 0, 0,                                    // account, pad0
      0x00, 0x44, 0x29, 0x35, 0x3a, 0x00, 0x00, 0x00,            // amount 250000000000
      0x85, 0x03, 0, 0, 0, 0, 0, 0,                               // transfer_id 901
  };
  ASSERT_EQ(b.size(), sizeof expect);
  EXPECT_EQ(std::memcmp(p, expect, sizeof expect), 0);
  const Timestamp ts = kAllEventsTs0 + 2000;
  EXPECT_EQ(std::memcmp(p + 16, &ts, 8), 0);
}

TEST(Wire, NewOrderFieldOffsets) {
  EXPECT_EQ(offsetof(NewOrder, order_id), 32u);
  EXPECT_EQ(offsetof(NewOrder, client_order_id), 40u);
  EXPECT_EQ(offsetof(NewOrder, account), 48u);
  EXPECT_EQ(offsetof(NewOrder, instrument), 52u);
  EXPECT_EQ(offsetof(NewOrder, price), 56u);
  EXPECT_EQ(offsetof(NewOrder, qty), 64u);
  EXPECT_EQ(offsetof(NewOrder, trigger_price), 72u);
  EXPECT_EQ(offsetof(NewOrder, side), 80u);
  EXPECT_EQ(offsetof(NewOrder, order_type), 81u);
  EXPECT_EQ(offsetof(NewOrder, tif), 82u);
  EXPECT_EQ(offsetof(NewOrder, flags), 83u);
  EXPECT_EQ(offsetof(NewOrder, stp), 84u);
  EXPECT_EQ(offsetof(NewOrder, pad0), 85u);
  EXPECT_EQ(offsetof(InstrumentDefinition, mark_band), 136u);
  EXPECT_EQ(offsetof(InstrumentDefinition, tiers), 144u);
  EXPECT_EQ(offsetof(Fill, price), 64u);
  EXPECT_EQ(offsetof(FileHeader, created_ns), 16u);
  EXPECT_EQ(offsetof(FileHeader, creator), 24u);
}

// ---------------------------------------------------------------------------------------------
// Field-by-field checks against the values make_all_events() sets.
// ---------------------------------------------------------------------------------------------

void check_header(const MessageHeader& h, MsgType type, SeqNo seq, std::uint64_t ref = 0, std::uint8_t flags = 0) {
  EXPECT_EQ(h.length, message_size(type));
  EXPECT_EQ(h.type, type);
  EXPECT_EQ(h.flags, flags);
  EXPECT_EQ(h.reserved, 0u);
  EXPECT_EQ(h.seq, seq);
  EXPECT_EQ(h.ts_ns, kAllEventsTs0 + static_cast<Timestamp>(seq) * 1000);
  EXPECT_EQ(h.ref, ref);
}

void check(const InstrumentDefinition& m) {
  check_header(m.header, MsgType::InstrumentDefinition, 1);
  EXPECT_EQ(m.instrument, 7u);
  EXPECT_EQ(std::string(m.symbol, 16), std::string("BTC-PERP\0\0\0\0\0\0\0\0", 16));
  EXPECT_EQ(m.price_decimals, 1);
  EXPECT_EQ(m.qty_decimals, 3);
  EXPECT_EQ(m.tier_count, 2);
  EXPECT_EQ(m.pad0, 0);
  EXPECT_EQ(m.tick_size, 5);
  EXPECT_EQ(m.lot_size, 1);
  EXPECT_EQ(m.min_price, 100'000);
  EXPECT_EQ(m.max_price, 2'000'000);
  EXPECT_EQ(m.max_order_qty, 100'000);
  EXPECT_EQ(m.reference_price, 650'000);
  EXPECT_EQ(m.price_band, 10'000'000);
  EXPECT_EQ(m.market_band, 5'000'000);
  EXPECT_EQ(m.maker_fee, -10'000);
  EXPECT_EQ(m.taker_fee, 50'000);
  EXPECT_EQ(m.liquidation_fee, 1'000'000);
  EXPECT_EQ(m.circuit_band, 15'000'000);
  EXPECT_EQ(m.circuit_window_ms, 60'000u);
  EXPECT_EQ(m.circuit_pause_ms, 30'000u);
  EXPECT_EQ(m.mark_band, 2'500'000);
  EXPECT_EQ(m.pad1, 0u);
  EXPECT_EQ(m.tiers[0].max_notional, 1'000'000'000'000);
  EXPECT_EQ(m.tiers[0].imr, 1'000'000);
  EXPECT_EQ(m.tiers[0].mmr, 500'000);
  EXPECT_EQ(m.tiers[0].maint_amount, 0);
  EXPECT_EQ(m.tiers[1].max_notional, 5'000'000'000'000);
  EXPECT_EQ(m.tiers[1].imr, 2'000'000);
  EXPECT_EQ(m.tiers[1].mmr, 1'000'000);
  EXPECT_EQ(m.tiers[1].maint_amount, 5'000'000'000);
  for (int i = 2; i < kMaxTiers; ++i) {
    EXPECT_EQ(m.tiers[i].max_notional, 0);
    EXPECT_EQ(m.tiers[i].imr, 0);
    EXPECT_EQ(m.tiers[i].mmr, 0);
    EXPECT_EQ(m.tiers[i].maint_amount, 0);
  }
}

void check(const Deposit& m) {
  check_header(m.header, MsgType::Deposit, 2);
  EXPECT_EQ(m.account, 11u);
  EXPECT_EQ(m.pad0, 0u);
  EXPECT_EQ(m.amount, 250'000'000'000);
  EXPECT_EQ(m.transfer_id, 901u);
}

void check(const Withdrawal& m) {
  check_header(m.header, MsgType::Withdrawal, 3);
  EXPECT_EQ(m.account, 11u);
  EXPECT_EQ(m.pad0, 0u);
  EXPECT_EQ(m.amount, 1'500'250'000);
  EXPECT_EQ(m.transfer_id, 902u);
}

void check(const AccountSettings& m) {
  check_header(m.header, MsgType::AccountSettings, 4);
  EXPECT_EQ(m.account, 11u);
  EXPECT_EQ(m.instrument, kAllInstruments);
  EXPECT_EQ(m.margin_mode, MarginMode::Isolated);
  EXPECT_EQ(m.role, AccountRole::Backstop);
  EXPECT_EQ(m.pad0, 0u);
  EXPECT_EQ(m.pad1, 0u);
}

void check(const NewOrder& m) {
  check_header(m.header, MsgType::NewOrder, 5, 77, header_flags::kSynthetic);
  EXPECT_EQ(m.order_id, 1001u);
  EXPECT_EQ(m.client_order_id, 5001u);
  EXPECT_EQ(m.account, 11u);
  EXPECT_EQ(m.instrument, 7u);
  EXPECT_EQ(m.price, 649'995);
  EXPECT_EQ(m.qty, 1'250);
  EXPECT_EQ(m.trigger_price, 650'500);
  EXPECT_EQ(m.side, Side::Sell);
  EXPECT_EQ(m.order_type, OrderType::StopLimit);
  EXPECT_EQ(m.tif, TimeInForce::GTC);
  EXPECT_EQ(m.flags, order_flags::kReduceOnly);
  EXPECT_EQ(m.stp, SelfTradePrevention::CancelBoth);
  EXPECT_EQ(m.pad0[0] | m.pad0[1] | m.pad0[2], 0);
}

void check(const CancelOrder& m) {
  check_header(m.header, MsgType::CancelOrder, 6);
  EXPECT_EQ(m.order_id, 1001u);
  EXPECT_EQ(m.account, 11u);
  EXPECT_EQ(m.instrument, 7u);
}

void check(const ModifyOrder& m) {
  check_header(m.header, MsgType::ModifyOrder, 7);
  EXPECT_EQ(m.order_id, 1002u);
  EXPECT_EQ(m.account, 12u);
  EXPECT_EQ(m.instrument, 7u);
  EXPECT_EQ(m.new_price, 650'010);
  EXPECT_EQ(m.new_qty, 500);
}

void check(const MassCancel& m) {
  check_header(m.header, MsgType::MassCancel, 8);
  EXPECT_EQ(m.account, 12u);
  EXPECT_EQ(m.instrument, 7u);
}

void check(const IndexPrice& m) {
  check_header(m.header, MsgType::IndexPrice, 9);
  EXPECT_EQ(m.instrument, 7u);
  EXPECT_EQ(m.pad0, 0u);
  EXPECT_EQ(m.price, 650'123);
}

void check(const FundingRate& m) {
  check_header(m.header, MsgType::FundingRate, 10);
  EXPECT_EQ(m.instrument, 7u);
  EXPECT_EQ(m.rate, -2'500);
}

void check(const Heartbeat& m) { check_header(m.header, MsgType::Heartbeat, 11); }

void check(const OrderAccepted& m) {
  check_header(m.header, MsgType::OrderAccepted, 12, 5);
  EXPECT_EQ(m.order_id, 1003u);
  EXPECT_EQ(m.client_order_id, 5003u);
  EXPECT_EQ(m.account, 12u);
  EXPECT_EQ(m.instrument, 7u);
  EXPECT_EQ(m.price, 650'020);
  EXPECT_EQ(m.qty, 1'500);
  EXPECT_EQ(m.trigger_price, 0);
  EXPECT_EQ(m.side, Side::Buy);
  EXPECT_EQ(m.order_type, OrderType::Limit);
  EXPECT_EQ(m.tif, TimeInForce::IOC);
  EXPECT_EQ(m.flags, order_flags::kPostOnly | order_flags::kReduceOnly);
  EXPECT_EQ(m.stp, SelfTradePrevention::CancelResting);
  EXPECT_EQ(m.pad0[0] | m.pad0[1] | m.pad0[2], 0);
}

void check(const Rejected& m) {
  check_header(m.header, MsgType::Rejected, 13, 5);
  EXPECT_EQ(m.id, 1003u);
  EXPECT_EQ(m.client_order_id, 5003u);
  EXPECT_EQ(m.account, 12u);
  EXPECT_EQ(m.instrument, 7u);
  EXPECT_EQ(m.reason, RejectReason::PostOnlyWouldTake);
  EXPECT_EQ(m.input_type, MsgType::NewOrder);
}

void check(const OrderCancelled& m) {
  check_header(m.header, MsgType::OrderCancelled, 14, 6);
  EXPECT_EQ(m.order_id, 1002u);
  EXPECT_EQ(m.account, 12u);
  EXPECT_EQ(m.instrument, 7u);
  EXPECT_EQ(m.cancelled_qty, 500);
  EXPECT_EQ(m.reason, CancelReason::IocRemainder);
  EXPECT_EQ(m.side, Side::Buy);
}

void check(const OrderModified& m) {
  check_header(m.header, MsgType::OrderModified, 15, 7);
  EXPECT_EQ(m.order_id, 1002u);
  EXPECT_EQ(m.account, 12u);
  EXPECT_EQ(m.instrument, 7u);
  EXPECT_EQ(m.new_price, 650'010);
  EXPECT_EQ(m.new_qty, 400);
  EXPECT_EQ(m.priority_kept, 1);
}

void check(const Fill& m) {
  check_header(m.header, MsgType::Fill, 16, 7);
  EXPECT_EQ(m.maker_order_id, 1002u);
  EXPECT_EQ(m.taker_order_id, 1004u);
  EXPECT_EQ(m.maker_account, 12u);
  EXPECT_EQ(m.taker_account, 13u);
  EXPECT_EQ(m.instrument, 7u);
  EXPECT_EQ(m.aggressor_side, Side::Sell);
  EXPECT_EQ(m.flags, fill_flags::kLiquidation | fill_flags::kStopTriggered);
  EXPECT_EQ(m.pad0, 0);
  EXPECT_EQ(m.price, 650'010);
  EXPECT_EQ(m.qty, 100);
  EXPECT_EQ(m.maker_leaves, 300);
  EXPECT_EQ(m.taker_leaves, 0);
  EXPECT_EQ(m.maker_fee, -6'500);
  EXPECT_EQ(m.taker_fee, 32'501);
}

void check(const StopTriggered& m) {
  check_header(m.header, MsgType::StopTriggered, 17, 7);
  EXPECT_EQ(m.order_id, 1001u);
  EXPECT_EQ(m.account, 11u);
  EXPECT_EQ(m.instrument, 7u);
  EXPECT_EQ(m.trigger_price, 650'500);
  EXPECT_EQ(m.last_price, 650'510);
}

void check(const TopOfBook& m) {
  check_header(m.header, MsgType::TopOfBook, 18, 7);
  EXPECT_EQ(m.instrument, 7u);
  EXPECT_EQ(m.bid_price, 650'010);
  EXPECT_EQ(m.bid_qty, 300);
  EXPECT_EQ(m.ask_price, 650'020);
  EXPECT_EQ(m.ask_qty, 1'500);
}

void check(const DepthLevel& m) {
  check_header(m.header, MsgType::DepthLevel, 19, 7);
  EXPECT_EQ(m.instrument, 7u);
  EXPECT_EQ(m.side, Side::Sell);
  EXPECT_EQ(m.price, 650'020);
  EXPECT_EQ(m.qty, 1'500);
  EXPECT_EQ(m.order_count, 3u);
  EXPECT_EQ(m.pad1, 0u);
}

void check(const MarkPrice& m) {
  check_header(m.header, MsgType::MarkPrice, 20, 9);
  EXPECT_EQ(m.instrument, 7u);
  EXPECT_EQ(m.mark, 650'015);
  EXPECT_EQ(m.index, 650'123);
  EXPECT_EQ(m.last, 650'010);
}

void check(const BalanceChange& m) {
  check_header(m.header, MsgType::BalanceChange, 21, 7);
  EXPECT_EQ(m.account, 13u);
  EXPECT_EQ(m.reason, BalanceReason::Fee);
  EXPECT_EQ(m.delta, -32'501);
  EXPECT_EQ(m.balance, 249'999'967'499);
}

void check(const PositionUpdate& m) {
  check_header(m.header, MsgType::PositionUpdate, 22, 7);
  EXPECT_EQ(m.account, 13u);
  EXPECT_EQ(m.instrument, 7u);
  EXPECT_EQ(m.size, -100);
  EXPECT_EQ(m.entry_value, -6'500'100'000);
  EXPECT_EQ(m.realized_pnl, 1'234'567);
}

void check(const MarginUpdate& m) {
  check_header(m.header, MsgType::MarginUpdate, 23, 7);
  EXPECT_EQ(m.account, 13u);
  EXPECT_EQ(m.collateral, 249'999'967'499);
  EXPECT_EQ(m.equity, 250'000'000'000);
  EXPECT_EQ(m.initial_margin, 65'001'000);
  EXPECT_EQ(m.maintenance_margin, 32'500'500);
}

void check(const FundingPayment& m) {
  check_header(m.header, MsgType::FundingPayment, 24, 10);
  EXPECT_EQ(m.account, 13u);
  EXPECT_EQ(m.instrument, 7u);
  EXPECT_EQ(m.position, -100);
  EXPECT_EQ(m.rate, -2'500);
  EXPECT_EQ(m.amount, 162'502);
}

void check(const Liquidation& m) {
  check_header(m.header, MsgType::Liquidation, 25, 9);
  EXPECT_EQ(m.account, 14u);
  EXPECT_EQ(m.instrument, 7u);
  EXPECT_EQ(m.side, Side::Buy);
  EXPECT_EQ(m.stage, LiquidationStage::BookOrder);
  EXPECT_EQ(m.depth, 2);
  EXPECT_EQ(m.qty, 2'000);
  EXPECT_EQ(m.price, 640'000);
  EXPECT_EQ(m.amount, -1'000'000'000);
  EXPECT_EQ(m.cascade_origin, 9u);
}

void check(const Deleverage& m) {
  check_header(m.header, MsgType::Deleverage, 26, 9);
  EXPECT_EQ(m.account, 13u);
  EXPECT_EQ(m.counter_account, 14u);
  EXPECT_EQ(m.instrument, 7u);
  EXPECT_EQ(m.rank, 1u);
  EXPECT_EQ(m.qty, 500);
  EXPECT_EQ(m.price, 640'000);
}

void check(const InsuranceFund& m) {
  check_header(m.header, MsgType::InsuranceFund, 27, 9);
  EXPECT_EQ(m.instrument, 7u);
  EXPECT_EQ(m.reason, InsuranceReason::BankruptcyPayout);
  EXPECT_EQ(m.delta, -250'000'000);
  EXPECT_EQ(m.balance, 9'750'000'000);
}

void check(const CircuitBreaker& m) {
  check_header(m.header, MsgType::CircuitBreaker, 28, 9);
  EXPECT_EQ(m.instrument, 7u);
  EXPECT_EQ(m.paused, 1);
  EXPECT_EQ(m.reference_price, 650'010);
  EXPECT_EQ(m.until_ns, kAllEventsTs0 + 30'000'000'000);
}

const MsgType kOrder[testing::kAllEventsCount] = {
    MsgType::InstrumentDefinition, MsgType::Deposit,        MsgType::Withdrawal,     MsgType::AccountSettings,
    MsgType::NewOrder,             MsgType::CancelOrder,    MsgType::ModifyOrder,    MsgType::MassCancel,
    MsgType::IndexPrice,           MsgType::FundingRate,    MsgType::Heartbeat,      MsgType::OrderAccepted,
    MsgType::Rejected,             MsgType::OrderCancelled, MsgType::OrderModified,  MsgType::Fill,
    MsgType::StopTriggered,        MsgType::TopOfBook,      MsgType::DepthLevel,     MsgType::MarkPrice,
    MsgType::BalanceChange,        MsgType::PositionUpdate, MsgType::MarginUpdate,   MsgType::FundingPayment,
    MsgType::Liquidation,          MsgType::Deleverage,     MsgType::InsuranceFund,  MsgType::CircuitBreaker,
};

// Decodes every event from r and checks it field by field; `base` is the offset of the first.
void check_stream(EventReader r, std::uint64_t base) {
  EventView ev;
  std::uint64_t offset = base;
  int n = 0;
  while (r.next(ev)) {
    ASSERT_LT(n, testing::kAllEventsCount);
    SCOPED_TRACE(type_name(ev.type()));
    EXPECT_EQ(ev.type(), kOrder[n]);
    EXPECT_EQ(ev.size(), message_size(kOrder[n]));
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(ev.data()) % 8, 0u);
    visit_type(ev.type(), [&](auto* p) { check(ev.as<std::remove_const_t<std::remove_pointer_t<decltype(p)>>>()); });
    offset += ev.size();
    EXPECT_EQ(r.offset(), offset);
    ++n;
  }
  EXPECT_TRUE(r.ok()) << r.error().message();
  EXPECT_TRUE(r.at_end());
  EXPECT_EQ(n, testing::kAllEventsCount);
}

TEST(Wire, EveryTypeRoundTripsThroughEventBuffer) {
  EventBuffer b(64);  // small: appends grow it several times
  testing::append_all(testing::make_all_events(), b);
  std::uint64_t total = 0;
  for (const MsgType t : kOrder) total += message_size(t);
  EXPECT_EQ(b.size(), total);
  check_stream(EventReader(b.bytes()), 0);

  // clear() keeps the capacity; the buffer is reusable.
  b.clear();
  EXPECT_TRUE(b.empty());
  testing::append_all(testing::make_all_events(), b);
  check_stream(EventReader(b.bytes(), 64), 64);
}

TEST(Wire, EveryTypeRoundTripsThroughAnEventFile) {
  char path[] = "/tmp/cascade_wire_testXXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::string error;
  {
    EventFileWriter w;
    ASSERT_TRUE(w.open(path, make_file_header(StreamKind::Input, kAllEventsTs0, "wire test"), error)) << error;
    const testing::AllEvents e = testing::make_all_events();
    EventBuffer b;
    testing::append_all(e, b);
    w.write(e.instrument);
    w.write_raw(b.bytes().subspan(sizeof e.instrument));
    EXPECT_EQ(w.bytes_written(), 64 + b.size());
    ASSERT_TRUE(w.close(error)) << error;
  }
  EventFile f;
  ASSERT_TRUE(f.open(path, error)) << error;
  EXPECT_EQ(std::memcmp(f.header().magic, kMagic, 8), 0);
  EXPECT_EQ(f.header().version, kFormatVersion);
  EXPECT_EQ(f.header().header_size, 64);
  EXPECT_EQ(f.header().kind, StreamKind::Input);
  EXPECT_EQ(f.header().created_ns, kAllEventsTs0);
  EXPECT_EQ(std::string(f.header().creator), "wire test");
  check_stream(f.reader(), 64);
  std::remove(path);
}

// ---------------------------------------------------------------------------------------------
// Decoder errors
// ---------------------------------------------------------------------------------------------

struct Decoded {
  int events = 0;
  ReadError error;
};

Decoded decode(const EventBuffer& b, std::uint64_t base = 0) {
  Decoded d;
  EventReader r(b.bytes(), base);
  EventView ev;
  while (r.next(ev)) ++d.events;
  d.error = r.error();
  return d;
}

EventBuffer two_deposits_then(const void* bad, std::size_t n) {
  const testing::AllEvents e = testing::make_all_events();
  EventBuffer b;
  b.append(e.deposit);
  b.append(e.deposit);
  b.append_raw(bad, n);
  return b;
}

TEST(WireErrors, UnknownType) {
  Deposit d = testing::make_all_events().deposit;
  d.header.type = static_cast<MsgType>(0x05);
  const Decoded r = decode(two_deposits_then(&d, sizeof d), 64);
  EXPECT_EQ(r.events, 2);
  EXPECT_EQ(r.error.code, DecodeError::UnknownType);
  EXPECT_EQ(r.error.offset, 64u + 112);
  EXPECT_EQ(r.error.message(), "offset 176: unknown event type (type byte 0x05)");
}

TEST(WireErrors, BadLength) {
  Deposit d = testing::make_all_events().deposit;
  d.header.length = 48;
  Decoded r = decode(two_deposits_then(&d, sizeof d));
  EXPECT_EQ(r.events, 2);
  EXPECT_EQ(r.error.code, DecodeError::BadLength);
  EXPECT_EQ(r.error.offset, 112u);
  EXPECT_EQ(r.error.message(), "offset 112: bad event length (deposit is 56 bytes, header says 48)");

  d.header.length = 57;  // not a multiple of 8
  r = decode(two_deposits_then(&d, sizeof d));
  EXPECT_EQ(r.error.code, DecodeError::BadLength);
  d.header.length = 0;
  r = decode(two_deposits_then(&d, sizeof d));
  EXPECT_EQ(r.error.code, DecodeError::BadLength);
}

TEST(WireErrors, Truncated) {
  const Deposit d = testing::make_all_events().deposit;
  Decoded r = decode(two_deposits_then(&d, 40));
  EXPECT_EQ(r.events, 2);
  EXPECT_EQ(r.error.code, DecodeError::Truncated);
  EXPECT_EQ(r.error.offset, 112u);
  EXPECT_EQ(r.error.message(), "offset 112: truncated event (deposit needs 56 bytes, 40 remain)");

  r = decode(two_deposits_then(&d, 8));
  EXPECT_EQ(r.error.code, DecodeError::Truncated);
  EXPECT_EQ(r.error.message(), "offset 112: truncated event (8 bytes left, a header needs 32)");
}

TEST(WireErrors, NonZeroReserved) {
  Deposit d = testing::make_all_events().deposit;
  d.header.reserved = 1u << 24;
  const Decoded r = decode(two_deposits_then(&d, sizeof d));
  EXPECT_EQ(r.events, 2);
  EXPECT_EQ(r.error.code, DecodeError::NonZeroReserved);
  EXPECT_EQ(r.error.offset, 112u);
  EXPECT_EQ(r.error.message(), "offset 112: reserved header field is not zero");
}

TEST(WireErrors, BadFlags) {
  Deposit d = testing::make_all_events().deposit;
  d.header.flags = 0x02;
  const Decoded r = decode(two_deposits_then(&d, sizeof d));
  EXPECT_EQ(r.events, 2);
  EXPECT_EQ(r.error.code, DecodeError::BadFlags);
  EXPECT_EQ(r.error.message(), "offset 112: undefined header flags set");
}

TEST(WireErrors, Misaligned) {
  EventBuffer b;
  b.append(testing::make_all_events().deposit);
  b.append(testing::make_all_events().deposit);
  EventReader r(b.bytes().subspan(4));
  EventView ev;
  EXPECT_FALSE(r.next(ev));
  EXPECT_EQ(r.error().code, DecodeError::Misaligned);
  EXPECT_EQ(r.error().message(), "offset 0: buffer is not 8-byte aligned");
}

TEST(WireErrors, ErrorsAreSticky) {
  Deposit bad = testing::make_all_events().deposit;
  bad.header.flags = 0x80;
  EventBuffer b = two_deposits_then(&bad, sizeof bad);
  b.append(testing::make_all_events().deposit);  // a good event after the bad one is never read
  EventReader r(b.bytes());
  EventView ev;
  int n = 0;
  while (r.next(ev)) ++n;
  EXPECT_EQ(n, 2);
  EXPECT_FALSE(r.next(ev));
  EXPECT_EQ(r.error().code, DecodeError::BadFlags);
  EXPECT_EQ(r.offset(), 112u);
}

TEST(WireErrors, EmptyBufferIsClean) {
  EventReader r(std::span<const std::byte>{});
  EventView ev;
  EXPECT_FALSE(r.next(ev));
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.at_end());
}

TEST(WireFileHeader, BadHeadersAreRejectedWithAReason) {
  const auto try_open = [](const FileHeader& h, std::size_t n = sizeof(FileHeader)) {
    EventBuffer b;
    b.append(h);
    EventFile f;
    std::string error;
    EXPECT_FALSE(f.open_buffer(b.bytes().first(n), error));
    return error;
  };
  const FileHeader good = make_file_header(StreamKind::Output, 5, "x");
  FileHeader h = good;
  h.magic[0] = 'X';
  EXPECT_EQ(try_open(h), "offset 0: not a cascade event file (bad magic)");
  h = good;
  h.version = 2;
  EXPECT_EQ(try_open(h), "offset 0: unsupported format version 2 (this build reads version 1)");
  h = good;
  h.header_size = 72;
  EXPECT_EQ(try_open(h), "offset 0: bad file header size 72");
  h = good;
  h.kind = static_cast<StreamKind>(3);
  EXPECT_EQ(try_open(h), "offset 0: bad stream kind 3");
  EXPECT_EQ(try_open(good, 63), "offset 0: file is 63 bytes, shorter than the 64-byte file header");

  EventBuffer b;
  b.append(good);
  EventFile f;
  std::string error;
  ASSERT_TRUE(f.open_buffer(b.bytes(), error));
  EXPECT_EQ(f.header().kind, StreamKind::Output);
  EventView ev;
  EventReader r = f.reader();
  EXPECT_FALSE(r.next(ev));
  EXPECT_TRUE(r.ok());
}

TEST(WireFileHeader, MakeFileHeaderTruncatesTheCreatorTo39Bytes) {
  const FileHeader h = make_file_header(StreamKind::Input, -1, std::string(50, 'c'));
  EXPECT_EQ(std::string(h.creator), std::string(39, 'c'));
  EXPECT_EQ(h.creator[39], '\0');
  EXPECT_EQ(h.created_ns, -1);
  EXPECT_EQ(h.pad0[0] | h.pad0[1] | h.pad0[2], 0);
}

}  // namespace
}  // namespace cascade
