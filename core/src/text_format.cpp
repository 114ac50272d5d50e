#include "cascade/text_format.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <cstring>
#include <limits>
#include <vector>

#include "cascade/decimal.hpp"
#include "cascade/event_file.hpp"

namespace cascade::text {
namespace {

using namespace wire;

// ---------------------------------------------------------------------------------------------
// Field tables: one row per body field, in the order the dump writes them. Any body byte no
// row covers is padding.
// ---------------------------------------------------------------------------------------------

enum class Kind : std::uint8_t {
  U8, U16, U32, U64, I64,
  Instrument,  // u32, 4294967295 written `all`
  Price, Qty,  // int64 in the instrument's decimals
  Money,       // int64, 6 decimals
  Rate,        // int32, 8 decimals
  Enum8, Enum16,
  Type,        // a MsgType byte, by its type name
  Flags8,
  Symbol,      // char[16], NUL-padded
  Tier,        // MarginTier as max_notional:imr:mmr:maint_amount
  TierCount,   // u8; inferred from the tiers when the line leaves it out
  LiqAmount,   // Liquidation.amount: money, but the backstop's account id in a Backstop stage
};

constexpr std::size_t width(Kind k) noexcept {
  switch (k) {
    case Kind::U8: case Kind::Enum8: case Kind::Type: case Kind::Flags8: case Kind::TierCount: return 1;
    case Kind::U16: case Kind::Enum16: return 2;
    case Kind::U32: case Kind::Instrument: case Kind::Rate: return 4;
    case Kind::U64: case Kind::I64: case Kind::Price: case Kind::Qty: case Kind::Money: case Kind::LiqAmount: return 8;
    case Kind::Symbol: return 16;
    case Kind::Tier: return sizeof(MarginTier);
  }
  return 0;
}

struct Name {
  std::uint16_t value;
  std::string_view name;
};

struct Field {
  std::string_view key;
  std::uint16_t offset;
  Kind kind;
  std::span<const Name> names{};  // enum values or flag bits
  bool optional = false;          // left out of the dump when zero
};

constexpr Name kSides[] = {{1, "buy"}, {2, "sell"}};
constexpr Name kOrderTypes[] = {{1, "limit"}, {2, "market"}, {3, "stop_market"}, {4, "stop_limit"}};
constexpr Name kTifs[] = {{1, "gtc"}, {2, "ioc"}, {3, "fok"}};
constexpr Name kStps[] = {{0, "default"}, {1, "cancel_incoming"}, {2, "cancel_resting"}, {3, "cancel_both"}};
constexpr Name kMarginModes[] = {{0, "cross"}, {1, "isolated"}};
constexpr Name kRoles[] = {{0, "trader"}, {1, "backstop"}};
constexpr Name kRejectReasons[] = {
    {0, "none"}, {1, "unknown_instrument"}, {2, "unknown_account"}, {3, "invalid_side"},
    {4, "invalid_order_type"}, {5, "invalid_time_in_force"}, {6, "invalid_flags"},
    {7, "invalid_quantity"}, {8, "quantity_off_lot"}, {9, "invalid_price"}, {10, "price_off_tick"},
    {11, "price_out_of_band"}, {12, "price_out_of_range"}, {13, "duplicate_order_id"},
    {14, "unknown_order"}, {15, "not_order_owner"}, {16, "post_only_would_take"},
    {17, "order_capacity"}, {18, "account_capacity"}, {19, "instrument_capacity"},
    {20, "invalid_instrument"}, {21, "timestamp_backwards"}, {22, "insufficient_margin"},
    {23, "insufficient_funds"}, {24, "reduce_only_would_increase"}, {25, "invalid_amount"},
    {26, "notional_overflow"}, {27, "instrument_paused"}, {28, "modify_no_change"},
    {29, "invalid_stp"}, {30, "invalid_trigger_price"}, {31, "account_in_liquidation"},
    {32, "invalid_settings"}, {33, "invalid_order_id"}};
constexpr Name kCancelReasons[] = {{1, "user"}, {2, "mass_cancel"}, {3, "ioc_remainder"},
                                   {4, "fok_not_filled"}, {5, "no_liquidity"}, {6, "self_trade"},
                                   {7, "liquidation"}, {8, "reduce_only"}};
constexpr Name kBalanceReasons[] = {{1, "deposit"}, {2, "withdrawal"}, {3, "fee"}, {4, "realized_pnl"},
                                    {5, "funding"}, {6, "liquidation_fee"}, {7, "bankruptcy"}};
constexpr Name kStages[] = {{1, "triggered"}, {2, "orders_cancelled"}, {3, "book_order"}, {4, "backstop"},
                            {5, "deleveraged"}, {6, "bankrupt"}, {7, "completed"},
                            {8, "socialized"}};
constexpr Name kInsuranceReasons[] = {{1, "liquidation_fee"}, {2, "liquidation_surplus"}, {3, "bankruptcy_payout"},
                                     {4, "funding_remainder"}};
constexpr Name kOrderFlags[] = {{order_flags::kPostOnly, "post_only"},
                                 {order_flags::kReduceOnly, "reduce_only"},
                                 {order_flags::kMarkTrigger, "mark_trigger"}};
constexpr Name kFillFlags[] = {{fill_flags::kLiquidation, "liquidation"}, {fill_flags::kBackstop, "backstop"},
                               {fill_flags::kDeleverage, "deleverage"}, {fill_flags::kStopTriggered, "stop_triggered"}};
constexpr Name kHeaderFlags[] = {{header_flags::kSynthetic, "synthetic"}};

#define CASCADE_F(T, member, key, kind, ...) \
  Field { key, static_cast<std::uint16_t>(offsetof(T, member)), Kind::kind, __VA_ARGS__ }

constexpr std::uint16_t tier_offset(int i) {
  return static_cast<std::uint16_t>(offsetof(InstrumentDefinition, tiers) + static_cast<std::size_t>(i) * sizeof(MarginTier));
}

constexpr Field kInstrumentFields[] = {
    CASCADE_F(InstrumentDefinition, instrument, "instrument", Instrument),
    CASCADE_F(InstrumentDefinition, symbol, "symbol", Symbol),
    CASCADE_F(InstrumentDefinition, price_decimals, "price_decimals", U8),
    CASCADE_F(InstrumentDefinition, qty_decimals, "qty_decimals", U8),
    CASCADE_F(InstrumentDefinition, tick_size, "tick_size", Price),
    CASCADE_F(InstrumentDefinition, lot_size, "lot_size", Qty),
    CASCADE_F(InstrumentDefinition, min_price, "min_price", Price),
    CASCADE_F(InstrumentDefinition, max_price, "max_price", Price),
    CASCADE_F(InstrumentDefinition, max_order_qty, "max_order_qty", Qty),
    CASCADE_F(InstrumentDefinition, reference_price, "reference_price", Price),
    CASCADE_F(InstrumentDefinition, price_band, "price_band", Rate),
    CASCADE_F(InstrumentDefinition, market_band, "market_band", Rate),
    CASCADE_F(InstrumentDefinition, maker_fee, "maker_fee", Rate),
    CASCADE_F(InstrumentDefinition, taker_fee, "taker_fee", Rate),
    CASCADE_F(InstrumentDefinition, liquidation_fee, "liquidation_fee", Rate),
    CASCADE_F(InstrumentDefinition, circuit_band, "circuit_band", Rate),
    CASCADE_F(InstrumentDefinition, circuit_window_ms, "circuit_window_ms", U32),
    CASCADE_F(InstrumentDefinition, circuit_pause_ms, "circuit_pause_ms", U32),
    CASCADE_F(InstrumentDefinition, mark_band, "mark_band", Rate),
    CASCADE_F(InstrumentDefinition, tier_count, "tier_count", TierCount),
    Field{"tier0", tier_offset(0), Kind::Tier, {}, true},
    Field{"tier1", tier_offset(1), Kind::Tier, {}, true},
    Field{"tier2", tier_offset(2), Kind::Tier, {}, true},
    Field{"tier3", tier_offset(3), Kind::Tier, {}, true},
    Field{"tier4", tier_offset(4), Kind::Tier, {}, true},
    Field{"tier5", tier_offset(5), Kind::Tier, {}, true},
    Field{"tier6", tier_offset(6), Kind::Tier, {}, true},
    Field{"tier7", tier_offset(7), Kind::Tier, {}, true},
};
static_assert(kMaxTiers == 8);
static_assert(std::size(kInstrumentFields) <= 60, "Parser keeps one slot per field in a 64-entry array");

constexpr Field kDepositFields[] = {
    CASCADE_F(Deposit, account, "account", U32),
    CASCADE_F(Deposit, amount, "amount", Money),
    CASCADE_F(Deposit, transfer_id, "transfer_id", U64),
};
constexpr Field kWithdrawalFields[] = {
    CASCADE_F(Withdrawal, account, "account", U32),
    CASCADE_F(Withdrawal, amount, "amount", Money),
    CASCADE_F(Withdrawal, transfer_id, "transfer_id", U64),
};
constexpr Field kAccountSettingsFields[] = {
    CASCADE_F(AccountSettings, account, "account", U32),
    CASCADE_F(AccountSettings, instrument, "instrument", Instrument),
    CASCADE_F(AccountSettings, margin_mode, "margin_mode", Enum8, kMarginModes),
    CASCADE_F(AccountSettings, role, "role", Enum8, kRoles),
};

// new_order and accepted share a body.
#define CASCADE_ORDER_FIELDS(T)                                                 \
  CASCADE_F(T, order_id, "order_id", U64),                                      \
  CASCADE_F(T, client_order_id, "client_order_id", U64, {}, true),              \
  CASCADE_F(T, account, "account", U32),                                        \
  CASCADE_F(T, instrument, "instrument", Instrument),                           \
  CASCADE_F(T, side, "side", Enum8, kSides),                                    \
  CASCADE_F(T, order_type, "type", Enum8, kOrderTypes),                         \
  CASCADE_F(T, tif, "tif", Enum8, kTifs),                                       \
  CASCADE_F(T, price, "price", Price),                                          \
  CASCADE_F(T, qty, "qty", Qty),                                                \
  CASCADE_F(T, trigger_price, "trigger_price", Price, {}, true),                \
  CASCADE_F(T, flags, "order_flags", Flags8, kOrderFlags, true),                \
  CASCADE_F(T, stp, "stp", Enum8, kStps, true)

constexpr Field kNewOrderFields[] = {CASCADE_ORDER_FIELDS(NewOrder)};
constexpr Field kCancelOrderFields[] = {
    CASCADE_F(CancelOrder, order_id, "order_id", U64),
    CASCADE_F(CancelOrder, account, "account", U32),
    CASCADE_F(CancelOrder, instrument, "instrument", Instrument),
};
constexpr Field kModifyOrderFields[] = {
    CASCADE_F(ModifyOrder, order_id, "order_id", U64),
    CASCADE_F(ModifyOrder, account, "account", U32),
    CASCADE_F(ModifyOrder, instrument, "instrument", Instrument),
    CASCADE_F(ModifyOrder, new_price, "new_price", Price),
    CASCADE_F(ModifyOrder, new_qty, "new_qty", Qty),
};
constexpr Field kMassCancelFields[] = {
    CASCADE_F(MassCancel, account, "account", U32),
    CASCADE_F(MassCancel, instrument, "instrument", Instrument),
};
constexpr Field kIndexPriceFields[] = {
    CASCADE_F(IndexPrice, instrument, "instrument", Instrument),
    CASCADE_F(IndexPrice, price, "price", Price),
};
constexpr Field kFundingRateFields[] = {
    CASCADE_F(FundingRate, instrument, "instrument", Instrument),
    CASCADE_F(FundingRate, rate, "rate", Rate),
};
constexpr Field kOrderAcceptedFields[] = {CASCADE_ORDER_FIELDS(OrderAccepted)};
constexpr Field kRejectedFields[] = {
    CASCADE_F(Rejected, input_type, "input_type", Type),
    CASCADE_F(Rejected, reason, "reason", Enum16, kRejectReasons),
    CASCADE_F(Rejected, id, "id", U64),
    CASCADE_F(Rejected, client_order_id, "client_order_id", U64, {}, true),
    CASCADE_F(Rejected, account, "account", U32),
    CASCADE_F(Rejected, instrument, "instrument", Instrument),
};
constexpr Field kOrderCancelledFields[] = {
    CASCADE_F(OrderCancelled, order_id, "order_id", U64),
    CASCADE_F(OrderCancelled, account, "account", U32),
    CASCADE_F(OrderCancelled, instrument, "instrument", Instrument),
    CASCADE_F(OrderCancelled, side, "side", Enum8, kSides),
    CASCADE_F(OrderCancelled, cancelled_qty, "cancelled_qty", Qty),
    CASCADE_F(OrderCancelled, reason, "reason", Enum8, kCancelReasons),
};
constexpr Field kOrderModifiedFields[] = {
    CASCADE_F(OrderModified, order_id, "order_id", U64),
    CASCADE_F(OrderModified, account, "account", U32),
    CASCADE_F(OrderModified, instrument, "instrument", Instrument),
    CASCADE_F(OrderModified, new_price, "new_price", Price),
    CASCADE_F(OrderModified, new_qty, "new_qty", Qty),
    CASCADE_F(OrderModified, priority_kept, "priority_kept", U8),
};
constexpr Field kFillFields[] = {
    CASCADE_F(Fill, instrument, "instrument", Instrument),
    CASCADE_F(Fill, price, "price", Price),
    CASCADE_F(Fill, qty, "qty", Qty),
    CASCADE_F(Fill, aggressor_side, "aggressor", Enum8, kSides),
    CASCADE_F(Fill, maker_order_id, "maker_order_id", U64),
    CASCADE_F(Fill, maker_account, "maker_account", U32),
    CASCADE_F(Fill, maker_leaves, "maker_leaves", Qty),
    CASCADE_F(Fill, maker_fee, "maker_fee", Money),
    CASCADE_F(Fill, taker_order_id, "taker_order_id", U64),
    CASCADE_F(Fill, taker_account, "taker_account", U32),
    CASCADE_F(Fill, taker_leaves, "taker_leaves", Qty),
    CASCADE_F(Fill, taker_fee, "taker_fee", Money),
    CASCADE_F(Fill, flags, "fill_flags", Flags8, kFillFlags, true),
};
constexpr Field kStopTriggeredFields[] = {
    CASCADE_F(StopTriggered, order_id, "order_id", U64),
    CASCADE_F(StopTriggered, account, "account", U32),
    CASCADE_F(StopTriggered, instrument, "instrument", Instrument),
    CASCADE_F(StopTriggered, trigger_price, "trigger_price", Price),
    CASCADE_F(StopTriggered, last_price, "last_price", Price),
};
constexpr Field kTopOfBookFields[] = {
    CASCADE_F(TopOfBook, instrument, "instrument", Instrument),
    CASCADE_F(TopOfBook, bid_price, "bid_price", Price),
    CASCADE_F(TopOfBook, bid_qty, "bid_qty", Qty),
    CASCADE_F(TopOfBook, ask_price, "ask_price", Price),
    CASCADE_F(TopOfBook, ask_qty, "ask_qty", Qty),
};
constexpr Field kDepthLevelFields[] = {
    CASCADE_F(DepthLevel, instrument, "instrument", Instrument),
    CASCADE_F(DepthLevel, side, "side", Enum8, kSides),
    CASCADE_F(DepthLevel, price, "price", Price),
    CASCADE_F(DepthLevel, qty, "qty", Qty),
    CASCADE_F(DepthLevel, order_count, "order_count", U32),
};
constexpr Field kMarkPriceFields[] = {
    CASCADE_F(MarkPrice, instrument, "instrument", Instrument),
    CASCADE_F(MarkPrice, mark, "mark", Price),
    CASCADE_F(MarkPrice, index, "index", Price),
    CASCADE_F(MarkPrice, last, "last", Price),
};
constexpr Field kBalanceChangeFields[] = {
    CASCADE_F(BalanceChange, account, "account", U32),
    CASCADE_F(BalanceChange, reason, "reason", Enum8, kBalanceReasons),
    CASCADE_F(BalanceChange, delta, "delta", Money),
    CASCADE_F(BalanceChange, balance, "balance", Money),
};
constexpr Field kPositionUpdateFields[] = {
    CASCADE_F(PositionUpdate, account, "account", U32),
    CASCADE_F(PositionUpdate, instrument, "instrument", Instrument),
    CASCADE_F(PositionUpdate, size, "size", Qty),
    CASCADE_F(PositionUpdate, entry_value, "entry_value", Money),
    CASCADE_F(PositionUpdate, realized_pnl, "realized_pnl", Money),
};
constexpr Field kMarginUpdateFields[] = {
    CASCADE_F(MarginUpdate, account, "account", U32),
    CASCADE_F(MarginUpdate, collateral, "collateral", Money),
    CASCADE_F(MarginUpdate, equity, "equity", Money),
    CASCADE_F(MarginUpdate, initial_margin, "initial_margin", Money),
    CASCADE_F(MarginUpdate, maintenance_margin, "maintenance_margin", Money),
};
constexpr Field kFundingPaymentFields[] = {
    CASCADE_F(FundingPayment, account, "account", U32),
    CASCADE_F(FundingPayment, instrument, "instrument", Instrument),
    CASCADE_F(FundingPayment, position, "position", Qty),
    CASCADE_F(FundingPayment, rate, "rate", Rate),
    CASCADE_F(FundingPayment, amount, "amount", Money),
};
constexpr Field kLiquidationFields[] = {
    CASCADE_F(Liquidation, account, "account", U32),
    CASCADE_F(Liquidation, instrument, "instrument", Instrument),
    CASCADE_F(Liquidation, stage, "stage", Enum8, kStages),
    CASCADE_F(Liquidation, side, "side", Enum8, kSides),
    CASCADE_F(Liquidation, qty, "qty", Qty),
    CASCADE_F(Liquidation, price, "price", Price),
    CASCADE_F(Liquidation, amount, "amount", LiqAmount),
    CASCADE_F(Liquidation, depth, "depth", U16),
    CASCADE_F(Liquidation, cascade_origin, "cascade_origin", U64),
};
constexpr Field kDeleverageFields[] = {
    CASCADE_F(Deleverage, account, "account", U32),
    CASCADE_F(Deleverage, counter_account, "counter_account", U32),
    CASCADE_F(Deleverage, instrument, "instrument", Instrument),
    CASCADE_F(Deleverage, rank, "rank", U32),
    CASCADE_F(Deleverage, qty, "qty", Qty),
    CASCADE_F(Deleverage, price, "price", Price),
};
constexpr Field kInsuranceFundFields[] = {
    CASCADE_F(InsuranceFund, instrument, "instrument", Instrument),
    CASCADE_F(InsuranceFund, reason, "reason", Enum8, kInsuranceReasons),
    CASCADE_F(InsuranceFund, delta, "delta", Money),
    CASCADE_F(InsuranceFund, balance, "balance", Money),
};
constexpr Field kCircuitBreakerFields[] = {
    CASCADE_F(CircuitBreaker, instrument, "instrument", Instrument),
    CASCADE_F(CircuitBreaker, paused, "paused", U8),
    CASCADE_F(CircuitBreaker, reference_price, "reference_price", Price),
    CASCADE_F(CircuitBreaker, until_ns, "until_ns", I64),
};

#undef CASCADE_ORDER_FIELDS
#undef CASCADE_F

struct Range {
  std::uint16_t offset;
  std::uint16_t size;
};

struct TypeDesc {
  MsgType type{};
  std::string_view name;
  std::uint16_t size = 0;
  std::span<const Field> fields;
  int instrument_field = -1;  // index of the field whose id picks the decimals
  std::vector<Range> padding;  // body bytes no field covers
};

std::span<const Field> fields_of(MsgType t) {
  switch (t) {
    case MsgType::InstrumentDefinition: return kInstrumentFields;
    case MsgType::Deposit: return kDepositFields;
    case MsgType::Withdrawal: return kWithdrawalFields;
    case MsgType::AccountSettings: return kAccountSettingsFields;
    case MsgType::NewOrder: return kNewOrderFields;
    case MsgType::CancelOrder: return kCancelOrderFields;
    case MsgType::ModifyOrder: return kModifyOrderFields;
    case MsgType::MassCancel: return kMassCancelFields;
    case MsgType::IndexPrice: return kIndexPriceFields;
    case MsgType::FundingRate: return kFundingRateFields;
    case MsgType::Heartbeat: return {};
    case MsgType::OrderAccepted: return kOrderAcceptedFields;
    case MsgType::Rejected: return kRejectedFields;
    case MsgType::OrderCancelled: return kOrderCancelledFields;
    case MsgType::OrderModified: return kOrderModifiedFields;
    case MsgType::Fill: return kFillFields;
    case MsgType::StopTriggered: return kStopTriggeredFields;
    case MsgType::TopOfBook: return kTopOfBookFields;
    case MsgType::DepthLevel: return kDepthLevelFields;
    case MsgType::MarkPrice: return kMarkPriceFields;
    case MsgType::BalanceChange: return kBalanceChangeFields;
    case MsgType::PositionUpdate: return kPositionUpdateFields;
    case MsgType::MarginUpdate: return kMarginUpdateFields;
    case MsgType::FundingPayment: return kFundingPaymentFields;
    case MsgType::Liquidation: return kLiquidationFields;
    case MsgType::Deleverage: return kDeleverageFields;
    case MsgType::InsuranceFund: return kInsuranceFundFields;
    case MsgType::CircuitBreaker: return kCircuitBreakerFields;
  }
  return {};
}

struct TypeTable {
  std::array<TypeDesc, 256> by_type{};
  std::vector<const TypeDesc*> known;

  TypeTable() {
    for (int i = 0; i < 256; ++i) {
      const auto t = static_cast<MsgType>(i);
      const std::uint16_t size = message_size(t);
      if (size == 0) continue;
      TypeDesc& d = by_type[static_cast<std::size_t>(i)];
      d.type = t;
      d.name = type_name(t);
      d.size = size;
      d.fields = fields_of(t);
      std::vector<bool> covered(size, false);
      for (std::size_t f = 0; f < d.fields.size(); ++f) {
        const Field& fld = d.fields[f];
        if (fld.kind == Kind::Instrument && fld.key == "instrument") d.instrument_field = static_cast<int>(f);
        for (std::size_t b = 0; b < width(fld.kind); ++b) covered[fld.offset + b] = true;
      }
      for (std::uint16_t b = sizeof(MessageHeader); b < size;) {
        if (covered[b]) {
          ++b;
          continue;
        }
        std::uint16_t e = b;
        while (e < size && !covered[e]) ++e;
        d.padding.push_back({b, static_cast<std::uint16_t>(e - b)});
        b = e;
      }
      known.push_back(&d);
    }
  }

  const TypeDesc* find(MsgType t) const noexcept {
    const TypeDesc& d = by_type[static_cast<std::uint8_t>(t)];
    return d.size ? &d : nullptr;
  }
  const TypeDesc* find(std::string_view name) const noexcept {
    for (const TypeDesc* d : known)
      if (d->name == name) return d;
    return nullptr;
  }
};

const TypeTable& types() {
  static const TypeTable table;
  return table;
}

// ---------------------------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------------------------

template <class T>
T load(const std::byte* p) noexcept {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <class T>
void store(std::byte* p, T v) noexcept {
  std::memcpy(p, &v, sizeof v);
}

template <class T>
void append_int(std::string& out, T v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_hex(std::string& out, unsigned v) {
  const char* hex = "0123456789abcdef";
  out += "0x";
  out += hex[(v >> 4) & 15];
  out += hex[v & 15];
}

bool bare_ok(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '/' || c == ':' || c == '+';
}

// Quoted unless every byte is a bare-token character (and the string is not empty).
void append_string(std::string& out, std::string_view s, bool always_quote) {
  bool bare = !always_quote && !s.empty();
  for (char c : s) bare = bare && bare_ok(c);
  if (bare) {
    out += s;
    return;
  }
  out += '"';
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u > 0x7e) {
      out += "\\x";
      const char* hex = "0123456789abcdef";
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += c;
    }
  }
  out += '"';
}

// The bytes of a NUL-padded char array up to the first NUL; `tail_bad` is the index of the
// first nonzero byte after it (n when the padding is clean).
std::string_view c_string(const char* p, std::size_t n, std::size_t& tail_bad) noexcept {
  std::size_t len = 0;
  while (len < n && p[len] != '\0') ++len;
  tail_bad = n;
  for (std::size_t i = len; i < n; ++i)
    if (p[i] != '\0') {
      tail_bad = i;
      break;
    }
  return {p, len};
}

void append_name(std::string& out, std::span<const Name> names, unsigned v) {
  for (const Name& n : names)
    if (n.value == v) {
      out += n.name;
      return;
    }
  append_int(out, v);
}

void append_flags(std::string& out, std::span<const Name> names, unsigned v) {
  if (v == 0) {
    out += '0';
    return;
  }
  bool first = true;
  for (const Name& n : names)
    if (v & n.value) {
      if (!first) out += '|';
      out += n.name;
      first = false;
      v &= ~static_cast<unsigned>(n.value);
    }
  if (v) {
    if (!first) out += '|';
    append_hex(out, v);
  }
}

// The stage field comes before amount in the Liquidation table, so a parsed line has set it.
bool backstop_stage(const std::byte* msg) {
  return load<LiquidationStage>(msg + offsetof(Liquidation, stage)) == LiquidationStage::Backstop;
}

void append_value(std::string& out, const Field& f, const std::byte* p, Decimals d) {
  switch (f.kind) {
    case Kind::U8: case Kind::TierCount: append_int(out, load<std::uint8_t>(p)); break;
    case Kind::U16: append_int(out, load<std::uint16_t>(p)); break;
    case Kind::U32: append_int(out, load<std::uint32_t>(p)); break;
    case Kind::U64: append_int(out, load<std::uint64_t>(p)); break;
    case Kind::I64: append_int(out, load<std::int64_t>(p)); break;
    case Kind::Instrument: {
      const auto id = load<std::uint32_t>(p);
      if (id == kAllInstruments) out += "all";
      else append_int(out, id);
      break;
    }
    case Kind::Price: append_decimal(out, load<std::int64_t>(p), d.price); break;
    case Kind::Qty: append_decimal(out, load<std::int64_t>(p), d.qty); break;
    case Kind::Money: append_decimal(out, load<std::int64_t>(p), kMoneyDecimals); break;
    case Kind::LiqAmount:
      if (backstop_stage(p - f.offset)) append_int(out, load<std::int64_t>(p));
      else append_decimal(out, load<std::int64_t>(p), kMoneyDecimals);
      break;
    case Kind::Rate: append_decimal(out, load<std::int32_t>(p), kRateDecimals); break;
    case Kind::Enum8: append_name(out, f.names, load<std::uint8_t>(p)); break;
    case Kind::Enum16: append_name(out, f.names, load<std::uint16_t>(p)); break;
    case Kind::Type: {
      const auto t = load<MsgType>(p);
      if (const TypeDesc* td = types().find(t)) out += td->name;
      else append_int(out, static_cast<unsigned>(t));
      break;
    }
    case Kind::Flags8: append_flags(out, f.names, load<std::uint8_t>(p)); break;
    case Kind::Symbol: {
      std::size_t tail;
      append_string(out, c_string(reinterpret_cast<const char*>(p), 16, tail), false);
      break;
    }
    case Kind::Tier: {
      const auto t = load<MarginTier>(p);
      append_decimal(out, t.max_notional, kMoneyDecimals);
      out += ':';
      append_decimal(out, t.imr, kRateDecimals);
      out += ':';
      append_decimal(out, t.mmr, kRateDecimals);
      out += ':';
      append_decimal(out, t.maint_amount, kMoneyDecimals);
      break;
    }
  }
}

bool all_zero(const std::byte* p, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i)
    if (p[i] != std::byte{0}) return false;
  return true;
}

std::string padding_error(std::uint64_t at, std::string_view what, std::uint64_t base, std::uint64_t byte) {
  return "nonzero padding at offset " + std::to_string(at) + " (byte " + std::to_string(byte) + " of the " +
         std::string(what) + " at offset " + std::to_string(base) + "): the text form cannot represent it";
}

Decimals own_decimals(const std::byte* msg) noexcept {
  return {load<std::uint8_t>(msg + offsetof(InstrumentDefinition, price_decimals)),
          load<std::uint8_t>(msg + offsetof(InstrumentDefinition, qty_decimals))};
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

bool is_space(char c) noexcept { return c == ' ' || c == '\t'; }

struct Token {
  std::string_view key;
  std::string_view value;  // raw: quoted values keep their quotes and escapes
  bool quoted = false;
};

// Decodes a quoted value's escapes. False with a reason on a bad escape.
bool unquote(std::string_view raw, std::string& out, std::string& why) {
  out.clear();
  for (std::size_t i = 1; i + 1 < raw.size(); ++i) {
    char c = raw[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    if (i + 2 >= raw.size()) {
      why = "dangling '\\'";
      return false;
    }
    c = raw[++i];
    if (c == '"' || c == '\\') {
      out += c;
    } else if (c == 'x' && i + 3 < raw.size()) {
      unsigned v = 0;
      const auto r = std::from_chars(raw.data() + i + 1, raw.data() + i + 3, v, 16);
      if (r.ptr != raw.data() + i + 3) {
        why = "bad \\x escape";
        return false;
      }
      out += static_cast<char>(v);
      i += 2;
    } else {
      why = std::string("unknown escape '\\") + c + "'";
      return false;
    }
  }
  return true;
}

template <class T>
bool parse_uint(std::string_view s, T& out) noexcept {
  std::uint64_t v = 0;
  if (s.empty() || s[0] < '0' || s[0] > '9') return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc{} || r.ptr != s.data() + s.size()) return false;
  if (v > std::numeric_limits<T>::max()) return false;
  out = static_cast<T>(v);
  return true;
}

bool parse_flag_item(std::string_view s, unsigned& out) noexcept {
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    const auto r = std::from_chars(s.data() + 2, s.data() + s.size(), out, 16);
    return r.ec == std::errc{} && r.ptr == s.data() + s.size();
  }
  return parse_uint(s, out);
}

std::string names_list(std::span<const Name> names) {
  std::string s;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i) s += i + 1 == names.size() ? " or " : ", ";
    s += names[i].name;
  }
  return s;
}

// Parses one field's value into msg. Returns an empty string or the problem (without the
// line/key prefix).
std::string parse_value(const Field& f, std::string_view v, std::byte* msg, Decimals d, InstrumentId id) {
  std::byte* p = msg + f.offset;
  const auto decimal = [&](std::string_view text, int decimals, std::int64_t& out, const char* what) -> std::string {
    const DecimalError e = parse_decimal(text, decimals, out);
    if (e == DecimalError::None) return {};
    std::string m = "'" + std::string(text) + "' ";
    if (e == DecimalError::NotANumber) return m + "is not a decimal number";
    if (e == DecimalError::OutOfRange) return m + "is out of range";
    m = "too many decimals in '" + std::string(text) + "' (";
    if (what[0] == 'p' || what[0] == 'q') {
      m += "instrument ";
      m += id == kAllInstruments ? "all" : std::to_string(id);
      m += std::string(" has ") + what + " " + std::to_string(decimals) + ")";
    } else {
      m += std::string(what) + ")";
    }
    return m;
  };
  const auto range_error = [&](const char* range) {
    return "'" + std::string(v) + "' is not an integer in " + range;
  };
  const auto parse_int64 = [&](std::int64_t& x) {
    const auto r = std::from_chars(v.data(), v.data() + v.size(), x);
    return !v.empty() && r.ec == std::errc{} && r.ptr == v.data() + v.size();
  };
  switch (f.kind) {
    case Kind::U8: case Kind::TierCount: {
      std::uint8_t x;
      if (!parse_uint(v, x)) return range_error("0..255");
      store(p, x);
      return {};
    }
    case Kind::U16: {
      std::uint16_t x;
      if (!parse_uint(v, x)) return range_error("0..65535");
      store(p, x);
      return {};
    }
    case Kind::U32: {
      std::uint32_t x;
      if (!parse_uint(v, x)) return range_error("0..4294967295");
      store(p, x);
      return {};
    }
    case Kind::U64: {
      std::uint64_t x;
      if (!parse_uint(v, x)) return range_error("0..18446744073709551615");
      store(p, x);
      return {};
    }
    case Kind::I64: {
      std::int64_t x;
      if (!parse_int64(x)) return range_error("-9223372036854775808..9223372036854775807");
      store(p, x);
      return {};
    }
    case Kind::Instrument: {
      std::uint32_t x = kAllInstruments;
      if (v != "all" && !parse_uint(v, x)) return range_error("0..4294967295 (or 'all')");
      store(p, x);
      return {};
    }
    case Kind::LiqAmount:
      if (backstop_stage(msg)) {  // an account id, kept as the field's whole int64 range
        std::int64_t x;
        if (!parse_int64(x)) return range_error("-9223372036854775808..9223372036854775807 (a backstop stage's account id)");
        store(p, x);
        return {};
      }
      [[fallthrough]];
    case Kind::Price: case Kind::Qty: case Kind::Money: {
      std::int64_t x;
      std::string e = f.kind == Kind::Price ? decimal(v, d.price, x, "price_decimals")
                      : f.kind == Kind::Qty ? decimal(v, d.qty, x, "qty_decimals")
                                            : decimal(v, kMoneyDecimals, x, "money has 6 decimals");
      if (!e.empty()) return e;
      store(p, x);
      return {};
    }
    case Kind::Rate: {
      std::int64_t x;
      std::string e = decimal(v, kRateDecimals, x, "rates have 8 decimals");
      if (!e.empty()) return e;
      if (x < INT32_MIN || x > INT32_MAX) return "'" + std::string(v) + "' is out of range for a rate";
      store(p, static_cast<std::int32_t>(x));
      return {};
    }
    case Kind::Enum8: case Kind::Enum16: {
      const unsigned max = f.kind == Kind::Enum8 ? 0xffu : 0xffffu;
      unsigned x = 0;
      bool found = false;
      for (const Name& n : f.names)
        if (n.name == v) {
          x = n.value;
          found = true;
        }
      if (!found && (!parse_uint(v, x) || x > max))
        return "unknown value '" + std::string(v) + "' (expected " + names_list(f.names) + ", or a number)";
      if (f.kind == Kind::Enum8) store(p, static_cast<std::uint8_t>(x));
      else store(p, static_cast<std::uint16_t>(x));
      return {};
    }
    case Kind::Type: {
      std::uint8_t x;
      if (const TypeDesc* td = types().find(v)) x = static_cast<std::uint8_t>(td->type);
      else if (!parse_uint(v, x)) return "unknown event type '" + std::string(v) + "'";
      store(p, x);
      return {};
    }
    case Kind::Flags8: {
      unsigned bits = 0;
      std::size_t start = 0;
      while (true) {
        const std::size_t bar = v.find('|', start);
        const std::string_view item = v.substr(start, bar == std::string_view::npos ? v.npos : bar - start);
        unsigned x = 0;
        bool found = false;
        for (const Name& n : f.names)
          if (n.name == item) {
            x = n.value;
            found = true;
          }
        if (!found && (!parse_flag_item(item, x) || x > 0xff))
          return "unknown flag '" + std::string(item) + "' (expected " + names_list(f.names) +
                 " joined by '|', or a number)";
        bits |= x;
        if (bar == std::string_view::npos) break;
        start = bar + 1;
      }
      store(p, static_cast<std::uint8_t>(bits));
      return {};
    }
    case Kind::Symbol: {
      if (v.size() > 16) return "'" + std::string(v) + "' is longer than 16 bytes";
      if (v.find('\0') != v.npos) return "a symbol cannot contain a NUL byte";
      std::memcpy(p, v.data(), v.size());
      return {};
    }
    case Kind::Tier: {
      std::string_view parts[4];
      std::size_t start = 0;
      for (int i = 0; i < 4; ++i) {
        const std::size_t colon = v.find(':', start);
        if ((i < 3) == (colon == v.npos))
          return "'" + std::string(v) + "' is not max_notional:imr:mmr:maint_amount";
        parts[i] = v.substr(start, i < 3 ? colon - start : v.npos);
        start = colon + 1;
      }
      MarginTier t{};
      std::int64_t x;
      const char* whats[4] = {"money has 6 decimals", "rates have 8 decimals", "rates have 8 decimals",
                              "money has 6 decimals"};
      for (int i = 0; i < 4; ++i) {
        std::string e = decimal(parts[i], i == 0 || i == 3 ? kMoneyDecimals : kRateDecimals, x, whats[i]);
        if (!e.empty()) return e;
        if ((i == 1 || i == 2) && (x < INT32_MIN || x > INT32_MAX))
          return "'" + std::string(parts[i]) + "' is out of range for a rate";
        if (i == 0) t.max_notional = x;
        else if (i == 1) t.imr = static_cast<Rate>(x);
        else if (i == 2) t.mmr = static_cast<Rate>(x);
        else t.maint_amount = x;
      }
      store(p, t);
      return {};
    }
  }
  return "unsupported field";
}

constexpr std::string_view kDefaultCreator = "cascade encode";

wire::FileHeader build_file_header(StreamKind kind, Timestamp created_ns, std::string_view creator) noexcept {
  wire::FileHeader h = make_file_header(kind, created_ns, "");
  std::memcpy(h.creator, creator.data(), std::min(creator.size(), sizeof h.creator));
  return h;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Formatter
// ---------------------------------------------------------------------------------------------

bool Formatter::header_line(const wire::FileHeader& h, std::string& line, std::string& error) const {
  for (std::size_t i = 0; i < sizeof h.pad0; ++i)
    if (h.pad0[i] != 0) {
      const std::size_t at = offsetof(wire::FileHeader, pad0) + i;
      error = "nonzero padding at offset " + std::to_string(at) + " (file header): the text form cannot represent it";
      return false;
    }
  std::size_t tail;
  const std::string_view creator = c_string(h.creator, sizeof h.creator, tail);
  if (tail != sizeof h.creator) {
    const std::size_t at = offsetof(wire::FileHeader, creator) + tail;
    error = "nonzero padding at offset " + std::to_string(at) +
            " (file header creator after its NUL): the text form cannot represent it";
    return false;
  }
  line += "# cascade v1 kind=";
  line += h.kind == StreamKind::Input ? "input" : "output";
  line += " created_ns=";
  append_int(line, h.created_ns);
  line += " creator=";
  append_string(line, creator, true);
  return true;
}

bool Formatter::format(const EventView& ev, std::uint64_t offset, std::string& line, std::string& error) {
  const TypeDesc* td = types().find(ev.type());
  const std::byte* msg = ev.data();
  if (!td || ev.size() != td->size) {
    error = "offset " + std::to_string(offset) + ": not a valid event";
    return false;
  }
  for (const Range& r : td->padding)
    for (std::uint16_t b = r.offset; b < r.offset + r.size; ++b)
      if (msg[b] != std::byte{0}) {
        error = padding_error(offset + b, td->name, offset, b);
        return false;
      }
  Decimals d{};
  if (td->type == MsgType::InstrumentDefinition) {
    std::size_t tail;
    c_string(reinterpret_cast<const char*>(msg + offsetof(InstrumentDefinition, symbol)), 16, tail);
    if (tail != 16) {
      const std::uint64_t b = offsetof(InstrumentDefinition, symbol) + tail;
      error = padding_error(offset + b, "instrument symbol after its NUL", offset, b);
      return false;
    }
    d = own_decimals(msg);
  } else if (td->instrument_field >= 0) {
    d = decimals_.get(load<std::uint32_t>(msg + td->fields[static_cast<std::size_t>(td->instrument_field)].offset));
  }

  const MessageHeader& h = ev.header();
  line += td->name;
  line += " seq=";
  append_int(line, h.seq);
  line += " ts=";
  append_int(line, h.ts_ns);
  if (h.ref != 0) {
    line += " ref=";
    append_int(line, h.ref);
  }
  if (h.flags != 0) {
    line += " flags=";
    append_flags(line, kHeaderFlags, h.flags);
  }
  for (const Field& f : td->fields) {
    if (f.optional && all_zero(msg + f.offset, width(f.kind))) continue;
    line += ' ';
    line += f.key;
    line += '=';
    append_value(line, f, msg + f.offset, d);
  }
  if (td->type == MsgType::InstrumentDefinition)
    decimals_.set(load<std::uint32_t>(msg + offsetof(InstrumentDefinition, instrument)), d);
  return true;
}

std::string Formatter::decimals_line(InstrumentId instrument, Decimals d) {
  decimals_.set(instrument, d);
  std::string line = "@decimals instrument=";
  if (instrument == kAllInstruments) line += "all";
  else append_int(line, instrument);
  line += " price_decimals=";
  append_int(line, d.price);
  line += " qty_decimals=";
  append_int(line, d.qty);
  return line;
}

// ---------------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------------

Parser::Line Parser::fail(std::string message) {
  error_ = "line " + std::to_string(line_no_) + ": " + std::move(message);
  return Line::Error;
}

wire::MsgType Parser::event_type() const noexcept {
  return event_size_ ? load<MsgType>(buf_ + offsetof(MessageHeader, type)) : MsgType{};
}

wire::FileHeader Parser::file_header() const noexcept {
  if (has_header_) return header_;
  const StreamKind kind = events_ && !is_input(first_type_) ? StreamKind::Output : StreamKind::Input;
  return build_file_header(kind, 0, kDefaultCreator);
}

Parser::Line Parser::parse(std::string_view line) {
  ++line_no_;
  event_size_ = 0;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

  // Split into the leading word and key=value tokens; '#' outside quotes ends the line.
  std::size_t i = 0;
  while (i < line.size() && is_space(line[i])) ++i;
  if (i == line.size()) return Line::Skip;

  const bool comment = line[i] == '#';
  if (comment) {
    // `# cascade v<digits> ...` is the header line; any other comment is skipped.
    std::size_t j = i + 1;
    while (j < line.size() && is_space(line[j])) ++j;
    const std::string_view rest = line.substr(j);
    if (rest.substr(0, 8) != "cascade " && rest.substr(0, 8) != "cascade\t") return Line::Skip;
    std::size_t k = j + 8;
    while (k < line.size() && is_space(line[k])) ++k;
    if (k + 1 >= line.size() || line[k] != 'v' || line[k + 1] < '0' || line[k + 1] > '9') return Line::Skip;
    i = j;  // parse "cascade v1 key=value..." below
  }

  std::string_view word;
  Token tokens[64];
  std::size_t ntok = 0;
  {
    const std::size_t w = i;
    while (i < line.size() && !is_space(line[i])) ++i;
    word = line.substr(w, i - w);
  }
  std::string_view version;
  while (true) {
    while (i < line.size() && is_space(line[i])) ++i;
    if (i == line.size() || line[i] == '#') break;
    const std::size_t k = i;
    while (i < line.size() && !is_space(line[i]) && line[i] != '=') ++i;
    if (i == line.size() || line[i] != '=') {
      if (comment && version.empty() && ntok == 0) {
        version = line.substr(k, i - k);
        continue;
      }
      return fail("expected key=value, got '" + std::string(line.substr(k, i - k)) + "'");
    }
    Token t;
    t.key = line.substr(k, i - k);
    if (t.key.empty()) return fail("expected key=value, got a value without a key");
    ++i;  // '='
    const std::size_t v = i;
    if (i < line.size() && line[i] == '"') {
      t.quoted = true;
      ++i;
      while (i < line.size() && line[i] != '"') i += line[i] == '\\' ? 2 : 1;
      if (i >= line.size()) return fail("key '" + std::string(t.key) + "': unterminated quoted value");
      ++i;
      if (i < line.size() && !is_space(line[i])) return fail("key '" + std::string(t.key) + "': text after the closing quote");
    } else {
      while (i < line.size() && !is_space(line[i])) {
        if (line[i] == '"') return fail("key '" + std::string(t.key) + "': stray quote in value");
        ++i;
      }
    }
    t.value = line.substr(v, i - v);
    if (t.value.empty()) return fail("key '" + std::string(t.key) + "': empty value");
    if (ntok == std::size(tokens)) return fail("too many keys");
    tokens[ntok++] = t;
  }

  std::string scratch, why;
  const auto value_of = [&](const Token& t) -> std::string_view {
    why.clear();
    if (!t.quoted) return t.value;
    if (!unquote(t.value, scratch, why)) return {};
    return scratch;
  };

  // --- the file header line ---
  if (comment) {
    if (version != "v1") return fail("unsupported text format version '" + std::string(version) + "' (this build reads v1)");
    if (has_header_) return fail("a second '# cascade' header line");
    if (events_) return fail("the '# cascade' header line must come before the first event");
    bool have_kind = false;
    StreamKind kind = StreamKind::Input;
    Timestamp created = 0;
    std::string creator;
    for (std::size_t n = 0; n < ntok; ++n) {
      const Token& t = tokens[n];
      const std::string_view v = value_of(t);
      if (!why.empty()) return fail("key '" + std::string(t.key) + "': " + why);
      if (t.key == "kind") {
        if (v == "input") kind = StreamKind::Input;
        else if (v == "output") kind = StreamKind::Output;
        else return fail("key 'kind': unknown value '" + std::string(v) + "' (expected input or output)");
        have_kind = true;
      } else if (t.key == "created_ns") {
        const auto r = std::from_chars(v.data(), v.data() + v.size(), created);
        if (v.empty() || r.ec != std::errc{} || r.ptr != v.data() + v.size())
          return fail("key 'created_ns': '" + std::string(v) + "' is not a 64-bit integer");
      } else if (t.key == "creator") {
        if (v.size() > sizeof(wire::FileHeader::creator))
          return fail("key 'creator': longer than 40 bytes");
        if (v.find('\0') != v.npos) return fail("key 'creator': cannot contain a NUL byte");
        creator = v;
      } else {
        return fail("header: unknown key '" + std::string(t.key) + "' (expected kind, created_ns, creator)");
      }
    }
    if (!have_kind) return fail("header: missing required key 'kind'");
    header_ = build_file_header(kind, created, creator);
    has_header_ = true;
    return Line::Header;
  }

  // --- directives ---
  if (word[0] == '@') {
    if (word != "@decimals") return fail("unknown directive '" + std::string(word) + "'");
    bool have_id = false;
    InstrumentId id = 0;
    Decimals d{};
    for (std::size_t n = 0; n < ntok; ++n) {
      const Token& t = tokens[n];
      const std::string_view v = value_of(t);
      if (!why.empty()) return fail("@decimals: key '" + std::string(t.key) + "': " + why);
      bool ok = true;
      if (t.key == "instrument") {
        have_id = true;
        if (v == "all") id = kAllInstruments;
        else ok = parse_uint(v, id);
      } else if (t.key == "price_decimals") {
        ok = parse_uint(v, d.price);
      } else if (t.key == "qty_decimals") {
        ok = parse_uint(v, d.qty);
      } else {
        return fail("@decimals: unknown key '" + std::string(t.key) + "' (expected instrument, price_decimals, qty_decimals)");
      }
      if (!ok) return fail("@decimals: key '" + std::string(t.key) + "': '" + std::string(v) + "' is out of range");
    }
    if (!have_id) return fail("@decimals: missing required key 'instrument'");
    decimals_.set(id, d);
    return Line::Skip;
  }

  // --- an event ---
  const TypeDesc* td = types().find(word);
  if (!td) return fail("unknown event type '" + std::string(word) + "'");
  const std::string type_prefix = std::string(td->name) + ": ";
  std::memset(buf_, 0, td->size);

  // Match every token to a header key or a field; values are parsed once the decimals are known.
  int field_token[64];
  std::fill(std::begin(field_token), std::end(field_token), -1);
  const Token* header_tok[4] = {nullptr, nullptr, nullptr, nullptr};  // seq ts ref flags
  static constexpr std::string_view kHeaderKeys[4] = {"seq", "ts", "ref", "flags"};
  for (std::size_t n = 0; n < ntok; ++n) {
    const Token& t = tokens[n];
    bool matched = false;
    for (int h = 0; h < 4 && !matched; ++h)
      if (t.key == kHeaderKeys[h]) {
        if (header_tok[h]) return fail(type_prefix + "key '" + std::string(t.key) + "' given twice");
        header_tok[h] = &t;
        matched = true;
      }
    for (std::size_t f = 0; f < td->fields.size() && !matched; ++f)
      if (t.key == td->fields[f].key) {
        if (field_token[f] >= 0) return fail(type_prefix + "key '" + std::string(t.key) + "' given twice");
        field_token[f] = static_cast<int>(n);
        matched = true;
      }
    if (!matched) return fail(type_prefix + "unknown key '" + std::string(t.key) + "'");
  }
  for (int h = 0; h < 2; ++h)
    if (!header_tok[h]) return fail(type_prefix + "missing required key '" + std::string(kHeaderKeys[h]) + "'");

  for (int h = 0; h < 4; ++h) {
    if (!header_tok[h]) continue;
    value_of(*header_tok[h]);
    if (!why.empty()) return fail(type_prefix + "key '" + std::string(kHeaderKeys[h]) + "': " + why);
  }

  MessageHeader hdr{};
  hdr.length = td->size;
  hdr.type = td->type;
  {
    const std::string_view seq = value_of(*header_tok[0]);
    if (!parse_uint(seq, hdr.seq))
      return fail(type_prefix + "key 'seq': '" + std::string(seq) + "' is not an integer in 0..18446744073709551615");
    const std::string_view ts = value_of(*header_tok[1]);
    const auto r = std::from_chars(ts.data(), ts.data() + ts.size(), hdr.ts_ns);
    if (ts.empty() || r.ec != std::errc{} || r.ptr != ts.data() + ts.size())
      return fail(type_prefix + "key 'ts': '" + std::string(ts) + "' is not a 64-bit integer");
    if (header_tok[2]) {
      const std::string_view ref = value_of(*header_tok[2]);
      if (!parse_uint(ref, hdr.ref))
        return fail(type_prefix + "key 'ref': '" + std::string(ref) + "' is not an integer in 0..18446744073709551615");
    }
    if (header_tok[3]) {
      const Field flags_field{"flags", 0, Kind::Flags8, kHeaderFlags};
      std::byte b[1]{};
      const std::string_view fv = value_of(*header_tok[3]);
      std::string e = parse_value(flags_field, fv, b, {}, 0);
      if (e.empty() && (static_cast<unsigned>(b[0]) & ~static_cast<unsigned>(header_flags::kAll)))
        e = "'" + std::string(fv) + "' sets undefined header flags (only 'synthetic' exists)";
      if (!e.empty()) return fail(type_prefix + "key 'flags': " + e);
      hdr.flags = static_cast<std::uint8_t>(b[0]);
    }
  }
  store(buf_, hdr);

  // Parse in two rounds: the fields that decide the decimals first.
  const auto parse_field = [&](std::size_t f, Decimals d, InstrumentId id) -> bool {
    if (field_token[f] < 0) return true;
    const Token& t = tokens[field_token[f]];
    const std::string_view v = value_of(t);
    if (!why.empty()) {
      fail(type_prefix + "key '" + std::string(t.key) + "': " + why);
      return false;
    }
    const std::string e = parse_value(td->fields[f], v, buf_, d, id);
    if (!e.empty()) {
      fail(type_prefix + "key '" + std::string(t.key) + "': " + e);
      return false;
    }
    return true;
  };
  const auto decides_decimals = [&](std::size_t f) {
    if (td->type == MsgType::InstrumentDefinition)
      return td->fields[f].key == "price_decimals" || td->fields[f].key == "qty_decimals" ||
             td->fields[f].key == "instrument";
    return static_cast<int>(f) == td->instrument_field;
  };
  for (std::size_t f = 0; f < td->fields.size(); ++f)
    if (decides_decimals(f) && !parse_field(f, {}, 0)) return Line::Error;
  InstrumentId id = 0;
  Decimals d{};
  if (td->type == MsgType::InstrumentDefinition) {
    id = load<std::uint32_t>(buf_ + offsetof(InstrumentDefinition, instrument));
    d = own_decimals(buf_);
  } else if (td->instrument_field >= 0) {
    id = load<std::uint32_t>(buf_ + td->fields[static_cast<std::size_t>(td->instrument_field)].offset);
    d = decimals_.get(id);
  }
  for (std::size_t f = 0; f < td->fields.size(); ++f)
    if (!decides_decimals(f) && !parse_field(f, d, id)) return Line::Error;

  if (td->type == MsgType::InstrumentDefinition) {
    // tier_count left out: one past the last nonzero tier.
    std::size_t tc_field = 0;
    while (td->fields[tc_field].kind != Kind::TierCount) ++tc_field;
    if (field_token[tc_field] < 0) {
      std::uint8_t count = 0;
      for (int t = 0; t < kMaxTiers; ++t)
        if (!all_zero(buf_ + tier_offset(t), sizeof(MarginTier))) count = static_cast<std::uint8_t>(t + 1);
      store(buf_ + offsetof(InstrumentDefinition, tier_count), count);
    }
    decimals_.set(id, d);
  }

  event_size_ = td->size;
  if (events_++ == 0) first_type_ = td->type;
  return Line::Event;
}

// ---------------------------------------------------------------------------------------------
// Whole-buffer helpers
// ---------------------------------------------------------------------------------------------

bool dump(std::span<const std::byte> file, std::string& text, std::string& error) {
  EventFile f;
  if (!f.open_buffer(file, error)) return false;
  Formatter fmt;
  if (!fmt.header_line(f.header(), text, error)) return false;
  text += '\n';
  EventReader r = f.reader();
  EventView ev;
  std::string line;
  while (true) {
    const std::uint64_t at = r.offset();
    if (!r.next(ev)) break;
    line.clear();
    if (!fmt.format(ev, at, line, error)) return false;
    text += line;
    text += '\n';
  }
  if (!r.ok()) {
    error = r.error().message();
    return false;
  }
  return true;
}

bool encode(std::string_view text, EventBuffer& file, std::string& error) {
  Parser p;
  EventBuffer events;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == text.npos ? text.size() : nl + 1);
    if (p.parse(line) == Parser::Line::Error) {
      error = p.error();
      return false;
    }
    if (p.event().size()) events.append_raw(p.event().data(), p.event().size());
  }
  file.clear();
  file.append(p.file_header());
  file.append_raw(events.bytes().data(), events.size());
  return true;
}

}  // namespace cascade::text
