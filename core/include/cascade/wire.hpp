// The cascade binary event stream, version 1: every message the engine reads or writes.
// Byte-by-byte tables are in docs/format.md; this header is the normative layout.
//
// Layout rules (checked by static_assert below):
//  - little-endian, naturally aligned fields, no implicit padding (explicit pad fields are 0);
//  - every message starts with the 32-byte MessageHeader and has one fixed size per type,
//    a multiple of 8, so a stream of messages stays 8-byte aligned;
//  - input types are 0x01..0x7F, output types 0x80..0xFF.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "cascade/types.hpp"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the wire format is little-endian");

namespace cascade::wire {

inline constexpr std::uint16_t kFormatVersion = 1;

enum class MsgType : std::uint8_t {
  // input
  InstrumentDefinition = 0x01,
  Deposit = 0x02,
  Withdrawal = 0x03,
  AccountSettings = 0x04,
  NewOrder = 0x10,
  CancelOrder = 0x11,
  ModifyOrder = 0x12,
  MassCancel = 0x13,
  IndexPrice = 0x20,
  FundingRate = 0x21,
  Heartbeat = 0x30,
  // output
  OrderAccepted = 0x80,
  Rejected = 0x81,
  OrderCancelled = 0x82,
  OrderModified = 0x83,
  Fill = 0x84,
  StopTriggered = 0x85,
  TopOfBook = 0x88,
  DepthLevel = 0x89,
  MarkPrice = 0x8A,
  BalanceChange = 0x90,
  PositionUpdate = 0x91,
  MarginUpdate = 0x92,
  FundingPayment = 0x93,
  Liquidation = 0xA0,
  Deleverage = 0xA1,
  InsuranceFund = 0xA2,
  CircuitBreaker = 0xA3,
};

constexpr bool is_input(MsgType t) noexcept { return static_cast<std::uint8_t>(t) < 0x80; }

namespace header_flags {
// Input added by a converter to explain liquidity the source never showed (e.g. orders resting
// before a LOBSTER file starts); never set by a real gateway.
inline constexpr std::uint8_t kSynthetic = 1;
inline constexpr std::uint8_t kAll = kSynthetic;
}  // namespace header_flags

// seq: input events carry the sequencer's number; output events carry their own output
//      sequence number (1, 2, 3, ... per engine).
// ts_ns: input events carry the gateway's timestamp; output events copy the timestamp of the
//      input event that caused them, so output never depends on the wall clock.
// ref: input events: a source reference (converters put the source message number there,
//      so tools can show state after each source message); output events: the seq of the
//      input event that caused them.
struct MessageHeader {
  std::uint16_t length;  // whole message in bytes, header included
  MsgType type;
  std::uint8_t flags;
  std::uint32_t reserved;  // 0
  SeqNo seq;
  Timestamp ts_ns;
  std::uint64_t ref;
};
static_assert(sizeof(MessageHeader) == 32);

// ---------------------------------------------------------------------------------------------
// Input events
// ---------------------------------------------------------------------------------------------

inline constexpr int kMaxTiers = 8;

// One leverage bracket: applies to positions whose notional is at most max_notional.
// Maintenance margin = notional * mmr - maint_amount (see docs/margin.md).
struct MarginTier {
  Money max_notional;
  Rate imr;  // initial margin rate
  Rate mmr;  // maintenance margin rate
  Money maint_amount;
};
static_assert(sizeof(MarginTier) == 24);

struct InstrumentDefinition {
  static constexpr MsgType kType = MsgType::InstrumentDefinition;
  MessageHeader header;
  InstrumentId instrument;
  std::uint8_t price_decimals;  // a price unit is 10^-price_decimals quote
  std::uint8_t qty_decimals;    // a quantity unit is 10^-qty_decimals base
  std::uint8_t tier_count;      // 0..kMaxTiers
  std::uint8_t pad0;
  char symbol[16];              // NUL-padded ASCII
  Price tick_size;              // prices must be multiples of this
  Qty lot_size;                 // quantities must be multiples of this
  Price min_price;              // the book's addressable price range, inclusive
  Price max_price;
  Qty max_order_qty;
  Price reference_price;        // initial reference for price bands (0 = none until a trade)
  Rate price_band;              // limit orders further than this from the reference are rejected (0 = off)
  Rate market_band;             // market orders never trade further than this from the reference (0 = off)
  Rate maker_fee;               // may be negative (a rebate)
  Rate taker_fee;
  Rate liquidation_fee;
  Rate circuit_band;            // circuit breaker move that pauses taker flow (0 = off)
  std::uint32_t circuit_window_ms;
  std::uint32_t circuit_pause_ms;
  Rate mark_band;               // the mark stays within this fraction of the index (0 = off)
  std::uint32_t pad1;           // keeps tiers 8-byte aligned
  MarginTier tiers[kMaxTiers];
};
static_assert(sizeof(InstrumentDefinition) == 336);

struct Deposit {
  static constexpr MsgType kType = MsgType::Deposit;
  MessageHeader header;
  AccountId account;
  std::uint32_t pad0;
  Money amount;  // > 0
  std::uint64_t transfer_id;
};
static_assert(sizeof(Deposit) == 56);

struct Withdrawal {
  static constexpr MsgType kType = MsgType::Withdrawal;
  MessageHeader header;
  AccountId account;
  std::uint32_t pad0;
  Money amount;  // > 0
  std::uint64_t transfer_id;
};
static_assert(sizeof(Withdrawal) == 56);

enum class MarginMode : std::uint8_t { Cross = 0, Isolated = 1 };
enum class AccountRole : std::uint8_t { Trader = 0, Backstop = 1 };

struct AccountSettings {
  static constexpr MsgType kType = MsgType::AccountSettings;
  MessageHeader header;
  AccountId account;
  InstrumentId instrument;  // kAllInstruments for the account default
  MarginMode margin_mode;
  AccountRole role;
  std::uint16_t pad0;
  std::uint32_t pad1;
};
static_assert(sizeof(AccountSettings) == 48);

struct NewOrder {
  static constexpr MsgType kType = MsgType::NewOrder;
  MessageHeader header;
  OrderId order_id;  // unique, assigned by the gateway
  std::uint64_t client_order_id;
  AccountId account;
  InstrumentId instrument;
  Price price;          // limit price; market orders: worst acceptable price (0 = use the band)
  Qty qty;
  Price trigger_price;  // stop orders only, else 0
  Side side;
  OrderType order_type;
  TimeInForce tif;
  std::uint8_t flags;  // order_flags
  SelfTradePrevention stp;
  std::uint8_t pad0[3];
};
static_assert(sizeof(NewOrder) == 88);

struct CancelOrder {
  static constexpr MsgType kType = MsgType::CancelOrder;
  MessageHeader header;
  OrderId order_id;
  AccountId account;
  InstrumentId instrument;
};
static_assert(sizeof(CancelOrder) == 48);

// Replace price and/or remaining quantity. Keeps time priority only for a pure decrease.
struct ModifyOrder {
  static constexpr MsgType kType = MsgType::ModifyOrder;
  MessageHeader header;
  OrderId order_id;
  AccountId account;
  InstrumentId instrument;
  Price new_price;
  Qty new_qty;  // the new open (remaining) quantity
};
static_assert(sizeof(ModifyOrder) == 64);

struct MassCancel {
  static constexpr MsgType kType = MsgType::MassCancel;
  MessageHeader header;
  AccountId account;
  InstrumentId instrument;  // kAllInstruments for every instrument
};
static_assert(sizeof(MassCancel) == 40);

struct IndexPrice {
  static constexpr MsgType kType = MsgType::IndexPrice;
  MessageHeader header;
  InstrumentId instrument;
  std::uint32_t pad0;
  Price price;
};
static_assert(sizeof(IndexPrice) == 48);

// Longs pay shorts rate * position notional at mark (negative rate: shorts pay longs).
struct FundingRate {
  static constexpr MsgType kType = MsgType::FundingRate;
  MessageHeader header;
  InstrumentId instrument;
  Rate rate;
};
static_assert(sizeof(FundingRate) == 40);

struct Heartbeat {
  static constexpr MsgType kType = MsgType::Heartbeat;
  MessageHeader header;
};
static_assert(sizeof(Heartbeat) == 32);

// ---------------------------------------------------------------------------------------------
// Output events
// ---------------------------------------------------------------------------------------------

// Same body as NewOrder: the order as the engine accepted it.
struct OrderAccepted {
  static constexpr MsgType kType = MsgType::OrderAccepted;
  MessageHeader header;
  OrderId order_id;
  std::uint64_t client_order_id;
  AccountId account;
  InstrumentId instrument;
  Price price;
  Qty qty;
  Price trigger_price;
  Side side;
  OrderType order_type;
  TimeInForce tif;
  std::uint8_t flags;
  SelfTradePrevention stp;
  std::uint8_t pad0[3];
};
static_assert(sizeof(OrderAccepted) == 88);

enum class RejectReason : std::uint16_t {
  None = 0,
  UnknownInstrument = 1,
  UnknownAccount = 2,
  InvalidSide = 3,
  InvalidOrderType = 4,
  InvalidTimeInForce = 5,
  InvalidFlags = 6,
  InvalidQuantity = 7,       // zero, negative or above max_order_qty
  QuantityOffLot = 8,
  InvalidPrice = 9,          // zero or negative where a price is required
  PriceOffTick = 10,
  PriceOutOfBand = 11,
  PriceOutOfRange = 12,      // outside the book's addressable range
  DuplicateOrderId = 13,
  UnknownOrder = 14,         // never existed, or already filled or cancelled
  NotOrderOwner = 15,
  PostOnlyWouldTake = 16,
  OrderCapacity = 17,        // order pool full
  AccountCapacity = 18,
  InstrumentCapacity = 19,
  InvalidInstrument = 20,    // malformed instrument definition
  TimestampBackwards = 21,
  InsufficientMargin = 22,
  InsufficientFunds = 23,    // withdrawal beyond free collateral
  ReduceOnlyWouldIncrease = 24,
  InvalidAmount = 25,
  NotionalOverflow = 26,
  InstrumentPaused = 27,
  ModifyNoChange = 28,
  InvalidStp = 29,
  InvalidTriggerPrice = 30,
  AccountInLiquidation = 31,
  InvalidSettings = 32,
  InvalidOrderId = 33,       // order id 0
};

struct Rejected {
  static constexpr MsgType kType = MsgType::Rejected;
  MessageHeader header;
  std::uint64_t id;  // order id, or transfer id for deposits/withdrawals, else 0
  std::uint64_t client_order_id;
  AccountId account;
  InstrumentId instrument;
  RejectReason reason;
  MsgType input_type;  // type of the rejected input event
  std::uint8_t pad0[5];
};
static_assert(sizeof(Rejected) == 64);

enum class CancelReason : std::uint8_t {
  User = 1,
  MassCancel = 2,
  IocRemainder = 3,    // IOC/market remainder after matching
  FokNotFilled = 4,
  NoLiquidity = 5,     // market order found nothing acceptable to trade against
  SelfTrade = 6,       // self-trade prevention
  Liquidation = 7,     // open orders cancelled before liquidating the account
  ReduceOnly = 8,      // a reduce-only order that would now increase the position
};

struct OrderCancelled {
  static constexpr MsgType kType = MsgType::OrderCancelled;
  MessageHeader header;
  OrderId order_id;
  AccountId account;
  InstrumentId instrument;
  Qty cancelled_qty;  // open quantity removed
  CancelReason reason;
  Side side;
  std::uint8_t pad0[6];
};
static_assert(sizeof(OrderCancelled) == 64);

struct OrderModified {
  static constexpr MsgType kType = MsgType::OrderModified;
  MessageHeader header;
  OrderId order_id;
  AccountId account;
  InstrumentId instrument;
  Price new_price;
  Qty new_qty;
  std::uint8_t priority_kept;  // 1 for a pure quantity decrease
  std::uint8_t pad0[7];
};
static_assert(sizeof(OrderModified) == 72);

namespace fill_flags {
inline constexpr std::uint8_t kLiquidation = 1;  // the taker is a liquidation order
inline constexpr std::uint8_t kBackstop = 2;     // position taken over by the backstop vault
inline constexpr std::uint8_t kDeleverage = 4;   // auto-deleveraging
inline constexpr std::uint8_t kStopTriggered = 8;
}  // namespace fill_flags

struct Fill {
  static constexpr MsgType kType = MsgType::Fill;
  MessageHeader header;
  OrderId maker_order_id;
  OrderId taker_order_id;
  AccountId maker_account;
  AccountId taker_account;
  InstrumentId instrument;
  Side aggressor_side;
  std::uint8_t flags;  // fill_flags
  std::uint16_t pad0;
  Price price;  // always the resting (maker) order's price
  Qty qty;      // > 0
  Qty maker_leaves;
  Qty taker_leaves;
  Money maker_fee;
  Money taker_fee;
};
static_assert(sizeof(Fill) == 112);

struct StopTriggered {
  static constexpr MsgType kType = MsgType::StopTriggered;
  MessageHeader header;
  OrderId order_id;
  AccountId account;
  InstrumentId instrument;
  Price trigger_price;
  Price last_price;  // the price that triggered it
};
static_assert(sizeof(StopTriggered) == 64);

// Best bid and ask after the input event; qty 0 means the side is empty.
struct TopOfBook {
  static constexpr MsgType kType = MsgType::TopOfBook;
  MessageHeader header;
  InstrumentId instrument;
  std::uint32_t pad0;
  Price bid_price;
  Qty bid_qty;
  Price ask_price;
  Qty ask_qty;
};
static_assert(sizeof(TopOfBook) == 72);

// A price level whose total changed; qty 0 means the level is gone.
struct DepthLevel {
  static constexpr MsgType kType = MsgType::DepthLevel;
  MessageHeader header;
  InstrumentId instrument;
  Side side;
  std::uint8_t pad0[3];
  Price price;
  Qty qty;
  std::uint32_t order_count;
  std::uint32_t pad1;
};
static_assert(sizeof(DepthLevel) == 64);

struct MarkPrice {
  static constexpr MsgType kType = MsgType::MarkPrice;
  MessageHeader header;
  InstrumentId instrument;
  std::uint32_t pad0;
  Price mark;
  Price index;
  Price last;
};
static_assert(sizeof(MarkPrice) == 64);

enum class BalanceReason : std::uint8_t {
  Deposit = 1,
  Withdrawal = 2,
  Fee = 3,
  RealizedPnl = 4,
  Funding = 5,
  LiquidationFee = 6,
  Bankruptcy = 7,  // negative equity written off (insurance fund or deleveraging)
};

struct BalanceChange {
  static constexpr MsgType kType = MsgType::BalanceChange;
  MessageHeader header;
  AccountId account;
  BalanceReason reason;
  std::uint8_t pad0[3];
  Money delta;
  Money balance;  // collateral after the change
};
static_assert(sizeof(BalanceChange) == 56);

struct PositionUpdate {
  static constexpr MsgType kType = MsgType::PositionUpdate;
  MessageHeader header;
  AccountId account;
  InstrumentId instrument;
  Qty size;           // signed: > 0 long, < 0 short
  Money entry_value;  // signed cost basis of the open position (size * entry price)
  Money realized_pnl; // realized by the change that produced this update
};
static_assert(sizeof(PositionUpdate) == 64);

struct MarginUpdate {
  static constexpr MsgType kType = MsgType::MarginUpdate;
  MessageHeader header;
  AccountId account;
  std::uint32_t pad0;
  Money collateral;
  Money equity;
  Money initial_margin;
  Money maintenance_margin;
};
static_assert(sizeof(MarginUpdate) == 72);

struct FundingPayment {
  static constexpr MsgType kType = MsgType::FundingPayment;
  MessageHeader header;
  AccountId account;
  InstrumentId instrument;
  Qty position;
  Rate rate;
  std::uint32_t pad0;
  Money amount;  // signed: paid (< 0) or received (> 0) by the account
};
static_assert(sizeof(FundingPayment) == 64);

enum class LiquidationStage : std::uint8_t {
  Triggered = 1,      // account found below maintenance margin
  OrdersCancelled = 2,
  BookOrder = 3,      // liquidation order sent to the book
  Backstop = 4,       // remainder taken by the backstop vault
  Deleveraged = 5,    // remainder closed against opposite positions
  Bankrupt = 6,       // loss beyond collateral covered (insurance fund or ADL)
  Completed = 7,      // account back above maintenance or flat
  Socialized = 8,     // part of a bankruptcy loss the insurance fund could not pay
};

struct Liquidation {
  static constexpr MsgType kType = MsgType::Liquidation;
  MessageHeader header;
  AccountId account;
  InstrumentId instrument;
  Side side;  // side of the closing order
  LiquidationStage stage;
  std::uint16_t depth;  // 0 for liquidations started directly by the input event
  std::uint32_t pad0;
  Qty qty;
  Price price;             // bankruptcy price
  Money amount;            // stage-specific money amount (loss, fee, shortfall)
  SeqNo cascade_origin;    // seq of the input event that started this cascade
};
static_assert(sizeof(Liquidation) == 80);

struct Deleverage {
  static constexpr MsgType kType = MsgType::Deleverage;
  MessageHeader header;
  AccountId account;           // deleveraged (profitable) account
  AccountId counter_account;   // bankrupt account
  InstrumentId instrument;
  std::uint32_t rank;          // 1 = first in the ADL queue
  Qty qty;
  Price price;                 // bankruptcy price of the counter account
};
static_assert(sizeof(Deleverage) == 64);

enum class InsuranceReason : std::uint8_t {
  LiquidationFee = 1,
  LiquidationSurplus = 2,
  BankruptcyPayout = 3,
  FundingRemainder = 4,  // rounding remainder of a funding round (docs/margin.md)
};

struct InsuranceFund {
  static constexpr MsgType kType = MsgType::InsuranceFund;
  MessageHeader header;
  InstrumentId instrument;
  InsuranceReason reason;
  std::uint8_t pad0[3];
  Money delta;
  Money balance;
};
static_assert(sizeof(InsuranceFund) == 56);

struct CircuitBreaker {
  static constexpr MsgType kType = MsgType::CircuitBreaker;
  MessageHeader header;
  InstrumentId instrument;
  std::uint8_t paused;  // 1 paused, 0 resumed
  std::uint8_t pad0[3];
  Price reference_price;
  Timestamp until_ns;
};
static_assert(sizeof(CircuitBreaker) == 56);

// ---------------------------------------------------------------------------------------------
// Type table
// ---------------------------------------------------------------------------------------------

// Calls f(T{}) style visitor with a null pointer of the message struct for `t`.
// Returns false for an unknown type.
template <class F>
constexpr bool visit_type(MsgType t, F&& f) {
  switch (t) {
#define CASCADE_WIRE_CASE(T) \
  case MsgType::T:           \
    f(static_cast<const T*>(nullptr)); \
    return true;
    CASCADE_WIRE_CASE(InstrumentDefinition)
    CASCADE_WIRE_CASE(Deposit)
    CASCADE_WIRE_CASE(Withdrawal)
    CASCADE_WIRE_CASE(AccountSettings)
    CASCADE_WIRE_CASE(NewOrder)
    CASCADE_WIRE_CASE(CancelOrder)
    CASCADE_WIRE_CASE(ModifyOrder)
    CASCADE_WIRE_CASE(MassCancel)
    CASCADE_WIRE_CASE(IndexPrice)
    CASCADE_WIRE_CASE(FundingRate)
    CASCADE_WIRE_CASE(Heartbeat)
    CASCADE_WIRE_CASE(OrderAccepted)
    CASCADE_WIRE_CASE(Rejected)
    CASCADE_WIRE_CASE(OrderCancelled)
    CASCADE_WIRE_CASE(OrderModified)
    CASCADE_WIRE_CASE(Fill)
    CASCADE_WIRE_CASE(StopTriggered)
    CASCADE_WIRE_CASE(TopOfBook)
    CASCADE_WIRE_CASE(DepthLevel)
    CASCADE_WIRE_CASE(MarkPrice)
    CASCADE_WIRE_CASE(BalanceChange)
    CASCADE_WIRE_CASE(PositionUpdate)
    CASCADE_WIRE_CASE(MarginUpdate)
    CASCADE_WIRE_CASE(FundingPayment)
    CASCADE_WIRE_CASE(Liquidation)
    CASCADE_WIRE_CASE(Deleverage)
    CASCADE_WIRE_CASE(InsuranceFund)
    CASCADE_WIRE_CASE(CircuitBreaker)
#undef CASCADE_WIRE_CASE
  }
  return false;
}

// Size of a message of type t, 0 for an unknown type. A table so the decoder's check is a load.
struct SizeTable {
  std::uint16_t size[256]{};
  constexpr SizeTable() {
    for (int i = 0; i < 256; ++i) {
      visit_type(static_cast<MsgType>(i), [&](auto* p) {
        size[i] = sizeof(std::remove_pointer_t<decltype(p)>);
      });
    }
  }
};
inline constexpr SizeTable kSizes{};

constexpr std::uint16_t message_size(MsgType t) noexcept {
  return kSizes.size[static_cast<std::uint8_t>(t)];
}

const char* type_name(MsgType t) noexcept;  // "new_order", ..., "unknown"

// A message with its header filled in for type T (length and type); other fields zero.
template <class T>
constexpr T make() noexcept {
  T m{};
  m.header.length = sizeof(T);
  m.header.type = T::kType;
  return m;
}

template <class T>
inline constexpr bool is_message_v =
    std::is_trivially_copyable_v<T> && std::is_standard_layout_v<T> && sizeof(T) % 8 == 0;

// ---------------------------------------------------------------------------------------------
// Event file header
// ---------------------------------------------------------------------------------------------

inline constexpr char kMagic[8] = {'C', 'A', 'S', 'C', 'A', 'D', 'E', '\0'};

enum class StreamKind : std::uint8_t { Input = 1, Output = 2 };

struct FileHeader {
  char magic[8];
  std::uint16_t version;      // kFormatVersion
  std::uint16_t header_size;  // sizeof(FileHeader)
  StreamKind kind;
  std::uint8_t pad0[3];
  Timestamp created_ns;       // from the producer's input, never the wall clock (0 = unknown)
  char creator[40];           // NUL-padded ASCII: what wrote the file
};
static_assert(sizeof(FileHeader) == 64);

}  // namespace cascade::wire
