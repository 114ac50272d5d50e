// libFuzzer target: the engine fed arbitrary event sequences, with every invariant of
// `cascade verify` (tools/verify/verifier.hpp) checked after every event: framing, position
// sums, money conservation, books never crossed, the output-stream ledger against the
// engine, no unit left below maintenance once a cascade settled.
//
// A fixed prefix defines two margined instruments and one unmargined, funds ten accounts
// (two of them backstops, one isolated) and quotes both books, so short inputs already reach
// matching, margin and liquidation. The fuzz input is then read as compact operations: one
// byte picks the operation, the following bytes its fields, mapped near the market (prices a
// few ticks from the mid, quantities a few lots, known order ids) so mutations stay
// meaningful; one operation copies raw bytes into a whole wire event for hostile values.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cascade/engine.hpp"
#include "cascade/event_buffer.hpp"
#include "verify/verifier.hpp"

namespace {

using namespace cascade;

constexpr Money kUsd = 1'000'000;
constexpr AccountId kAccounts = 10;  // 0..9 funded; 10..11 valid but empty; 12 is out of range
constexpr Price kMid[3] = {100'000, 2'000, 50};

EngineConfig config() {
  EngineConfig c;
  c.max_instruments = 4;
  c.max_accounts = 12;
  c.max_orders = 64;
  c.max_levels_per_book = 1u << 16;
  c.max_positions = 40;
  return c;
}

// Reads the fuzz input; zeros once it is exhausted.
class Input {
 public:
  Input(const std::uint8_t* p, std::size_t n) : p_(p), n_(n) {}
  bool empty() const { return i_ >= n_; }
  std::uint8_t u8() { return i_ < n_ ? p_[i_++] : 0; }
  std::uint16_t u16() { return static_cast<std::uint16_t>(u8() | u8() << 8); }
  std::int8_t i8() { return static_cast<std::int8_t>(u8()); }
  std::int16_t i16() { return static_cast<std::int16_t>(u16()); }
  void bytes(void* out, std::size_t n) {
    auto* o = static_cast<std::uint8_t*>(out);
    for (std::size_t k = 0; k < n; ++k) o[k] = u8();
  }

 private:
  const std::uint8_t* p_;
  std::size_t n_;
  std::size_t i_ = 0;
};

class Harness {
 public:
  Harness() : engine_(config()), verifier_(engine_, {.full_every = 4}) {}

  template <class T>
  void send(T m) {
    m.header.length = sizeof(T);
    m.header.type = T::kType;
    m.header.seq = ++seq_;
    m.header.ts_ns = ts_;
    out_.clear();
    engine_.process(m, out_);
    if (!verifier_.check(EventView(reinterpret_cast<const std::byte*>(&m)), out_.bytes())) die();
  }

  void finish() {
    if (!verifier_.finish()) die();
    if (std::getenv("ENGINE_FUZZ_STATS")) {  // what an input reached, for choosing a corpus
      const verify::LedgerTotals& t = verifier_.ledger().totals();
      std::fprintf(stderr, "engine_fuzz: %llu events, liquidations %llu, book fills %llu, backstop %llu, "
                   "deleverages %llu, bankruptcies %llu, socialized %s\n",
                   static_cast<unsigned long long>(verifier_.events()), static_cast<unsigned long long>(t.liquidations),
                   static_cast<unsigned long long>(t.book_fills), static_cast<unsigned long long>(t.backstop_takeovers),
                   static_cast<unsigned long long>(t.deleverages), static_cast<unsigned long long>(t.bankruptcies),
                   verify::to_string(t.socialized).c_str());
    }
  }

  void prefix() {
    for (InstrumentId i = 0; i < 3; ++i) send(definition(i));
    for (AccountId a = 0; a < kAccounts; ++a) {
      auto d = wire::make<wire::Deposit>();
      d.account = a;
      d.amount = (a < 2 ? 10'000'000 : a < 4 ? 200'000 : 2'000 + 3'000 * a) * kUsd;
      d.transfer_id = a + 1;
      send(d);
    }
    for (AccountId a : {2u, 3u}) {
      auto s = wire::make<wire::AccountSettings>();
      s.account = a;
      s.instrument = kAllInstruments;
      s.role = wire::AccountRole::Backstop;
      send(s);
    }
    auto iso = wire::make<wire::AccountSettings>();
    iso.account = 9;
    iso.instrument = kAllInstruments;
    iso.margin_mode = wire::MarginMode::Isolated;
    send(iso);
    for (InstrumentId i = 0; i < 3; ++i) {
      auto p = wire::make<wire::IndexPrice>();
      p.instrument = i;
      p.price = kMid[i];
      send(p);
      // Makers 0 and 1 quote five levels each side.
      for (int k = 1; k <= 5; ++k) {
        send(order(0, i, Side::Buy, kMid[i] - k * tick(i), 20 * lot(i)));
        send(order(1, i, Side::Sell, kMid[i] + k * tick(i), 20 * lot(i)));
      }
    }
  }

  void step(Input& in) {
    const std::uint8_t op = in.u8();
    const std::uint8_t t = in.u8();
    ts_ += t < 250 ? t : -static_cast<Timestamp>(t);  // now and then backwards
    switch (op % 12) {
      case 0:  // limit order
      case 1: {
        auto o = order(account(in), instrument(in), in.u8() & 1 ? Side::Buy : Side::Sell, 0, 0);
        o.price = price(o.instrument, in.i8());
        o.qty = quantity(o.instrument, in.u8());
        const std::uint8_t b = in.u8();
        o.tif = static_cast<TimeInForce>(1 + b % 3);
        o.flags = static_cast<std::uint8_t>((b >> 2) & 3);
        o.stp = static_cast<SelfTradePrevention>((b >> 4) & 3);
        send(o);
        break;
      }
      case 2: {  // market order
        auto o = order(account(in), instrument(in), in.u8() & 1 ? Side::Buy : Side::Sell, 0, 0);
        o.order_type = OrderType::Market;
        o.tif = in.u8() & 1 ? TimeInForce::IOC : TimeInForce::FOK;
        o.qty = quantity(o.instrument, in.u8());
        const std::int8_t w = in.i8();
        o.price = w == 0 ? 0 : price(o.instrument, w);
        send(o);
        break;
      }
      case 3: {  // stop order
        auto o = order(account(in), instrument(in), in.u8() & 1 ? Side::Buy : Side::Sell, 0, 0);
        const bool limit = in.u8() & 1;
        o.order_type = limit ? OrderType::StopLimit : OrderType::StopMarket;
        o.tif = limit ? TimeInForce::GTC : TimeInForce::IOC;
        o.trigger_price = price(o.instrument, in.i8());
        o.price = limit ? price(o.instrument, in.i8()) : 0;
        o.qty = quantity(o.instrument, in.u8());
        o.flags = in.u8() & order_flags::kReduceOnly;
        send(o);
        break;
      }
      case 4: {  // cancel
        auto c = wire::make<wire::CancelOrder>();
        c.order_id = known_order(in);
        c.account = account(in);
        c.instrument = instrument(in);
        send(c);
        break;
      }
      case 5: {  // modify
        auto m = wire::make<wire::ModifyOrder>();
        m.order_id = known_order(in);
        m.account = account(in);
        m.instrument = instrument(in);
        m.new_price = price(m.instrument, in.i8());
        m.new_qty = quantity(m.instrument, in.u8());
        send(m);
        break;
      }
      case 6: {  // mass cancel
        auto m = wire::make<wire::MassCancel>();
        m.account = account(in);
        m.instrument = in.u8() & 1 ? kAllInstruments : instrument(in);
        send(m);
        break;
      }
      case 7: {  // the index walks, sometimes far
        auto p = wire::make<wire::IndexPrice>();
        p.instrument = instrument(in);
        const std::int16_t move = in.i16();
        p.price = kMid[p.instrument % 3] + static_cast<Price>(move) * tick(p.instrument) / 8;
        send(p);
        break;
      }
      case 8: {  // funding
        auto f = wire::make<wire::FundingRate>();
        f.instrument = instrument(in);
        f.rate = static_cast<Rate>(in.i16()) * 100;
        send(f);
        break;
      }
      case 9: {  // money in or out
        const AccountId a = account(in);
        const Money amount = static_cast<Money>(in.u16()) * kUsd / 4;
        if (in.u8() & 1) {
          auto d = wire::make<wire::Deposit>();
          d.account = a, d.amount = amount, d.transfer_id = ++transfer_;
          send(d);
        } else {
          auto w = wire::make<wire::Withdrawal>();
          w.account = a, w.amount = amount, w.transfer_id = ++transfer_;
          send(w);
        }
        break;
      }
      case 10: {  // settings
        auto s = wire::make<wire::AccountSettings>();
        s.account = account(in);
        const std::uint8_t b = in.u8();
        s.instrument = b & 1 ? kAllInstruments : instrument(in);
        s.margin_mode = static_cast<wire::MarginMode>((b >> 1) % 3);
        s.role = static_cast<wire::AccountRole>((b >> 3) % 3);
        send(s);
        break;
      }
      default:  // a whole event from raw bytes: every field hostile
        raw(in);
        break;
    }
  }

 private:
  [[noreturn]] void die() {
    const verify::Violation& v = verifier_.violation();
    std::fprintf(stderr, "engine_fuzz: violation after input event %llu (seq %llu): %s\n",
                 static_cast<unsigned long long>(v.event), static_cast<unsigned long long>(v.seq), v.what.c_str());
    std::abort();
  }

  static Price tick(InstrumentId i) { return i % 3 == 0 ? 50 : i % 3 == 1 ? 5 : 1; }
  static Qty lot(InstrumentId i) { return i % 3 == 0 ? 1 : i % 3 == 1 ? 10 : 100; }

  static wire::InstrumentDefinition definition(InstrumentId i) {
    auto d = wire::make<wire::InstrumentDefinition>();
    d.instrument = i;
    d.symbol[0] = static_cast<char>('A' + i);
    d.price_decimals = i == 0 ? 1 : 2;
    d.qty_decimals = i == 0 ? 3 : 2;
    d.tick_size = tick(i);
    d.lot_size = lot(i);
    d.min_price = kMid[i] / 2 / tick(i) * tick(i);
    d.max_price = kMid[i] * 2 / tick(i) * tick(i);
    d.max_order_qty = 10'000 * lot(i);
    d.reference_price = kMid[i];
    d.price_band = i == 0 ? 20'000'000 : 0;
    d.market_band = i == 1 ? 5'000'000 : 0;
    d.maker_fee = i == 0 ? -10'000 : 20'000;
    d.taker_fee = 50'000;
    d.liquidation_fee = i == 2 ? 0 : 500'000;
    d.mark_band = i == 0 ? 2'000'000 : 0;
    if (i < 2) {  // instrument 2 is unmargined: a book-only market
      d.tier_count = 2;
      d.tiers[0] = wire::MarginTier{5'000 * kUsd, 10'000'000, 5'000'000, 0};
      d.tiers[1] = wire::MarginTier{1'000'000 * kUsd, 20'000'000, 10'000'000, 250 * kUsd};
    }
    return d;
  }

  wire::NewOrder order(AccountId a, InstrumentId i, Side side, Price p, Qty q) {
    auto o = wire::make<wire::NewOrder>();
    o.order_id = ++order_id_;
    o.client_order_id = order_id_;
    o.account = a;
    o.instrument = i;
    o.side = side;
    o.order_type = OrderType::Limit;
    o.tif = TimeInForce::GTC;
    o.price = p;
    o.qty = q;
    return o;
  }

  static AccountId account(Input& in) { return in.u8() % (kAccounts + 3); }
  static InstrumentId instrument(Input& in) {
    const std::uint8_t b = in.u8();
    return b < 250 ? b % 3 : b % 5;  // rarely undefined (3) or beyond the table (4)
  }
  static Price price(InstrumentId i, std::int8_t ticks) { return kMid[i % 3] + ticks * tick(i); }
  static Qty quantity(InstrumentId i, std::uint8_t b) { return b == 255 ? 0 : (b % 40 + 1) * lot(i); }
  OrderId known_order(Input& in) const {
    const std::uint8_t b = in.u8();
    return order_id_ == 0 ? b : order_id_ - b % (order_id_ < 64 ? order_id_ : 64);
  }

  void raw(Input& in) {
    static constexpr wire::MsgType kTypes[] = {
        wire::MsgType::InstrumentDefinition, wire::MsgType::Deposit,     wire::MsgType::Withdrawal,
        wire::MsgType::AccountSettings,      wire::MsgType::NewOrder,    wire::MsgType::CancelOrder,
        wire::MsgType::ModifyOrder,          wire::MsgType::MassCancel,  wire::MsgType::IndexPrice,
        wire::MsgType::FundingRate,          wire::MsgType::Heartbeat,   wire::MsgType::Fill,
    };
    const wire::MsgType type = kTypes[in.u8() % (sizeof kTypes / sizeof kTypes[0])];
    alignas(8) std::byte buf[512]{};
    const std::size_t size = wire::message_size(type);
    in.bytes(buf + sizeof(wire::MessageHeader), size - sizeof(wire::MessageHeader));
    wire::MessageHeader h{};
    h.length = static_cast<std::uint16_t>(size);
    h.type = type;
    h.seq = ++seq_;
    h.ts_ns = ts_;
    std::memcpy(buf, &h, sizeof h);
    out_.clear();
    const EventView ev(buf);
    engine_.process(ev, out_);
    if (!verifier_.check(ev, out_.bytes())) die();
  }

  Engine engine_;
  verify::Verifier verifier_;
  EventBuffer out_;
  SeqNo seq_ = 0;
  Timestamp ts_ = 1'000'000'000;
  OrderId order_id_ = 0;
  std::uint64_t transfer_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  Harness h;
  h.prefix();
  for (int steps = 0; !in.empty() && steps < 2'000; ++steps) h.step(in);
  h.finish();
  return 0;
}
