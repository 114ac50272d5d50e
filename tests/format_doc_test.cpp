// docs/format.md must agree with wire.hpp: every layout table (offset, length, type, name of
// each field), every message type, enum value and flag bit is checked against the compiler's
// offsetof/sizeof and the enumerators, so the document cannot drift from the code.
#include <gtest/gtest.h>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "cascade/event_reader.hpp"
#include "cascade/types.hpp"
#include "cascade/wire.hpp"

namespace {

using namespace cascade;
using namespace cascade::wire;

// ---- what the code says -------------------------------------------------------------------

// The doc's spelling of a field type: u8..u64, i32/i64, char, T[N], or a nested struct's name.
template <class T>
std::string type_label() {
  if constexpr (std::is_array_v<T>) {
    return type_label<std::remove_extent_t<T>>().append("[").append(std::to_string(std::extent_v<T>)).append("]");
  } else if constexpr (std::is_same_v<T, MessageHeader>) {
    return "MessageHeader";
  } else if constexpr (std::is_same_v<T, MarginTier>) {
    return "MarginTier";
  } else if constexpr (std::is_enum_v<T>) {
    return type_label<std::underlying_type_t<T>>();
  } else if constexpr (std::is_same_v<T, char>) {
    return "char";
  } else {
    static_assert(std::is_integral_v<T>, "the wire holds integers only");
    std::string label(std::is_signed_v<T> ? "i" : "u");  // appended, not "i" + s: GCC 12 -Wrestrict
    return label.append(std::to_string(8 * sizeof(T)));
  }
}

struct Field {
  std::string name;
  std::size_t offset;
  std::size_t size;
  std::string type;
};

struct Layout {
  std::string name;
  int type_code;  // -1 for structs that are not messages
  std::size_t size;
  bool no_padding;
  std::vector<Field> fields;
};

template <class T>
Layout make_layout(std::string name, std::vector<Field> fields) {
  int code = -1;
  if constexpr (requires { T::kType; }) code = static_cast<int>(T::kType);
  return {std::move(name), code, sizeof(T), std::has_unique_object_representations_v<T>, std::move(fields)};
}

#define LAYOUT(T, ...)                                 \
  [] {                                                 \
    using S = T;                                       \
    return make_layout<S>(#T, {__VA_ARGS__});          \
  }()
#define F(f) Field{#f, offsetof(S, f), sizeof(S::f), type_label<decltype(S::f)>()}

const std::vector<Layout>& layouts() {
  static const std::vector<Layout> all = {
      LAYOUT(FileHeader, F(magic), F(version), F(header_size), F(kind), F(pad0), F(created_ns), F(creator)),
      LAYOUT(MessageHeader, F(length), F(type), F(flags), F(reserved), F(seq), F(ts_ns), F(ref)),
      LAYOUT(MarginTier, F(max_notional), F(imr), F(mmr), F(maint_amount)),
      // input
      LAYOUT(InstrumentDefinition, F(header), F(instrument), F(price_decimals), F(qty_decimals), F(tier_count),
             F(pad0), F(symbol), F(tick_size), F(lot_size), F(min_price), F(max_price), F(max_order_qty),
             F(reference_price), F(price_band), F(market_band), F(maker_fee), F(taker_fee), F(liquidation_fee),
             F(circuit_band), F(circuit_window_ms), F(circuit_pause_ms), F(mark_band), F(pad1), F(tiers)),
      LAYOUT(Deposit, F(header), F(account), F(pad0), F(amount), F(transfer_id)),
      LAYOUT(Withdrawal, F(header), F(account), F(pad0), F(amount), F(transfer_id)),
      LAYOUT(AccountSettings, F(header), F(account), F(instrument), F(margin_mode), F(role), F(pad0), F(pad1)),
      LAYOUT(NewOrder, F(header), F(order_id), F(client_order_id), F(account), F(instrument), F(price), F(qty),
             F(trigger_price), F(side), F(order_type), F(tif), F(flags), F(stp), F(pad0)),
      LAYOUT(CancelOrder, F(header), F(order_id), F(account), F(instrument)),
      LAYOUT(ModifyOrder, F(header), F(order_id), F(account), F(instrument), F(new_price), F(new_qty)),
      LAYOUT(MassCancel, F(header), F(account), F(instrument)),
      LAYOUT(IndexPrice, F(header), F(instrument), F(pad0), F(price)),
      LAYOUT(FundingRate, F(header), F(instrument), F(rate)),
      LAYOUT(Heartbeat, F(header)),
      // output
      LAYOUT(OrderAccepted, F(header), F(order_id), F(client_order_id), F(account), F(instrument), F(price), F(qty),
             F(trigger_price), F(side), F(order_type), F(tif), F(flags), F(stp), F(pad0)),
      LAYOUT(Rejected, F(header), F(id), F(client_order_id), F(account), F(instrument), F(reason), F(input_type),
             F(pad0)),
      LAYOUT(OrderCancelled, F(header), F(order_id), F(account), F(instrument), F(cancelled_qty), F(reason), F(side),
             F(pad0)),
      LAYOUT(OrderModified, F(header), F(order_id), F(account), F(instrument), F(new_price), F(new_qty),
             F(priority_kept), F(pad0)),
      LAYOUT(Fill, F(header), F(maker_order_id), F(taker_order_id), F(maker_account), F(taker_account), F(instrument),
             F(aggressor_side), F(flags), F(pad0), F(price), F(qty), F(maker_leaves), F(taker_leaves), F(maker_fee),
             F(taker_fee)),
      LAYOUT(StopTriggered, F(header), F(order_id), F(account), F(instrument), F(trigger_price), F(last_price)),
      LAYOUT(TopOfBook, F(header), F(instrument), F(pad0), F(bid_price), F(bid_qty), F(ask_price), F(ask_qty)),
      LAYOUT(DepthLevel, F(header), F(instrument), F(side), F(pad0), F(price), F(qty), F(order_count), F(pad1)),
      LAYOUT(MarkPrice, F(header), F(instrument), F(pad0), F(mark), F(index), F(last)),
      LAYOUT(BalanceChange, F(header), F(account), F(reason), F(pad0), F(delta), F(balance)),
      LAYOUT(PositionUpdate, F(header), F(account), F(instrument), F(size), F(entry_value), F(realized_pnl)),
      LAYOUT(MarginUpdate, F(header), F(account), F(pad0), F(collateral), F(equity), F(initial_margin),
             F(maintenance_margin)),
      LAYOUT(FundingPayment, F(header), F(account), F(instrument), F(position), F(rate), F(pad0), F(amount)),
      LAYOUT(Liquidation, F(header), F(account), F(instrument), F(side), F(stage), F(depth), F(pad0), F(qty), F(price),
             F(amount), F(cascade_origin)),
      LAYOUT(Deleverage, F(header), F(account), F(counter_account), F(instrument), F(rank), F(qty), F(price)),
      LAYOUT(InsuranceFund, F(header), F(instrument), F(reason), F(pad0), F(delta), F(balance)),
      LAYOUT(CircuitBreaker, F(header), F(instrument), F(paused), F(pad0), F(reference_price), F(until_ns)),
  };
  return all;
}
#undef F
#undef LAYOUT

struct Value {
  std::string name;
  std::uint64_t value;
};

struct ValueTable {
  std::string name;
  std::string type;  // u8 / u16, plus " bits" for flag sets
  std::vector<Value> values;
};

// Enumerator names by value. A switch without a default: with -Wall -Werror (-Wswitch) the test
// stops compiling when an enumerator is added to wire.hpp and not here, so the tables built
// from these are complete.
#define NAME(v) \
  case X::v:    \
    return #v;
#define ENUM_NAMES(E, ...)           \
  const char* enum_name(E x) {       \
    using X = E;                     \
    switch (x) { __VA_ARGS__ }       \
    return nullptr;                  \
  }

ENUM_NAMES(StreamKind, NAME(Input) NAME(Output))
ENUM_NAMES(Side, NAME(Buy) NAME(Sell))
ENUM_NAMES(OrderType, NAME(Limit) NAME(Market) NAME(StopMarket) NAME(StopLimit))
ENUM_NAMES(TimeInForce, NAME(GTC) NAME(IOC) NAME(FOK))
ENUM_NAMES(SelfTradePrevention, NAME(Default) NAME(CancelIncoming) NAME(CancelResting) NAME(CancelBoth))
ENUM_NAMES(MarginMode, NAME(Cross) NAME(Isolated))
ENUM_NAMES(AccountRole, NAME(Trader) NAME(Backstop))
ENUM_NAMES(RejectReason, NAME(None) NAME(UnknownInstrument) NAME(UnknownAccount) NAME(InvalidSide)
           NAME(InvalidOrderType) NAME(InvalidTimeInForce) NAME(InvalidFlags) NAME(InvalidQuantity)
           NAME(QuantityOffLot) NAME(InvalidPrice) NAME(PriceOffTick) NAME(PriceOutOfBand) NAME(PriceOutOfRange)
           NAME(DuplicateOrderId) NAME(UnknownOrder) NAME(NotOrderOwner) NAME(PostOnlyWouldTake)
           NAME(OrderCapacity) NAME(AccountCapacity) NAME(InstrumentCapacity) NAME(InvalidInstrument)
           NAME(TimestampBackwards) NAME(InsufficientMargin) NAME(InsufficientFunds)
           NAME(ReduceOnlyWouldIncrease) NAME(InvalidAmount) NAME(NotionalOverflow) NAME(InstrumentPaused)
           NAME(ModifyNoChange) NAME(InvalidStp) NAME(InvalidTriggerPrice) NAME(AccountInLiquidation)
           NAME(InvalidSettings) NAME(InvalidOrderId))
ENUM_NAMES(CancelReason, NAME(User) NAME(MassCancel) NAME(IocRemainder) NAME(FokNotFilled) NAME(NoLiquidity)
           NAME(SelfTrade) NAME(Liquidation) NAME(ReduceOnly))
ENUM_NAMES(BalanceReason, NAME(Deposit) NAME(Withdrawal) NAME(Fee) NAME(RealizedPnl) NAME(Funding)
           NAME(LiquidationFee) NAME(Bankruptcy))
ENUM_NAMES(LiquidationStage, NAME(Triggered) NAME(OrdersCancelled) NAME(BookOrder) NAME(Backstop)
           NAME(Deleveraged) NAME(Bankrupt) NAME(Completed) NAME(Socialized))
ENUM_NAMES(InsuranceReason, NAME(LiquidationFee) NAME(LiquidationSurplus) NAME(BankruptcyPayout)
           NAME(FundingRemainder))
ENUM_NAMES(DecodeError, NAME(None) NAME(Truncated) NAME(BadLength) NAME(UnknownType) NAME(BadFlags)
           NAME(NonZeroReserved) NAME(BadFileHeader) NAME(Misaligned))
#undef ENUM_NAMES
#undef NAME

// Every value of E's underlying type that names an enumerator, ascending.
template <class E>
ValueTable enum_table(const char* name) {
  ValueTable t{name, type_label<E>(), {}};
  using U = std::underlying_type_t<E>;
  for (std::uint64_t v = 0; v <= std::numeric_limits<U>::max(); ++v)
    if (const char* n = enum_name(static_cast<E>(v))) t.values.push_back({n, v});
  return t;
}

#define V(v) Value{#v, static_cast<std::uint64_t>(X::v)}
#define FLAGS(N, ...)                                \
  [] {                                               \
    namespace X = N;                                 \
    return ValueTable{#N, "u8 bits", {__VA_ARGS__}}; \
  }()

const std::vector<ValueTable>& value_tables() {
  static const std::vector<ValueTable> all = {
      enum_table<StreamKind>("StreamKind"),
      enum_table<Side>("Side"),
      enum_table<OrderType>("OrderType"),
      enum_table<TimeInForce>("TimeInForce"),
      enum_table<SelfTradePrevention>("SelfTradePrevention"),
      enum_table<MarginMode>("MarginMode"),
      enum_table<AccountRole>("AccountRole"),
      enum_table<RejectReason>("RejectReason"),
      enum_table<CancelReason>("CancelReason"),
      enum_table<BalanceReason>("BalanceReason"),
      enum_table<LiquidationStage>("LiquidationStage"),
      enum_table<InsuranceReason>("InsuranceReason"),
      enum_table<DecodeError>("DecodeError"),
      FLAGS(header_flags, V(kSynthetic)),
      FLAGS(order_flags, V(kPostOnly), V(kReduceOnly), V(kMarkTrigger)),
      FLAGS(fill_flags, V(kLiquidation), V(kBackstop), V(kDeleverage), V(kStopTriggered)),
  };
  return all;
}
#undef FLAGS
#undef V

// ---- what the document says ---------------------------------------------------------------

// A level-2 or level-3 heading and the body rows of the first table under it.
struct Section {
  std::string heading;                         // text after the #'s
  std::vector<std::vector<std::string>> rows;  // cells trimmed, backticks removed
};

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split_row(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  for (std::size_t i = 1; i < line.size(); ++i) {  // line[0] is the leading '|'
    if (line[i] == '|') {
      cells.push_back(trim(cell));
      cell.clear();
    } else if (line[i] != '`') {
      cell += line[i];
    }
  }
  return cells;
}

std::vector<Section> parse_doc() {
  std::ifstream in(std::string(CASCADE_SOURCE_DIR) + "/docs/format.md");
  std::vector<Section> sections;
  std::string line;
  int table = 0;        // tables seen in the current section
  bool in_table = false;
  bool header_row = false;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0 || line.rfind("### ", 0) == 0) {
      sections.push_back({trim(line.substr(line.find(' ') + 1)), {}});
      table = 0;
      in_table = false;
    } else if (!line.empty() && line[0] == '|') {
      if (!in_table) {
        in_table = true;
        header_row = true;
        ++table;
      }
      if (header_row) {
        header_row = false;
      } else if (line.find_first_not_of("|-: ") == std::string::npos) {
        // separator row
      } else if (table == 1 && !sections.empty()) {
        sections.back().rows.push_back(split_row(line));
      }
    } else {
      in_table = false;
    }
  }
  return sections;
}

const std::vector<Section>& doc() {
  static const std::vector<Section> sections = parse_doc();
  return sections;
}

// A heading "[0xHH ]Name (detail)".
struct Heading {
  std::string code;  // "0x10", or empty
  std::string name;
  std::string detail;
};

bool parse_heading(const std::string& h, Heading& out) {
  std::size_t i = 0;
  out = {};
  if (h.size() > 5 && h.compare(0, 2, "0x") == 0 && h[4] == ' ') {
    out.code = h.substr(0, 4);
    i = 5;
  }
  const std::size_t name_begin = i;
  while (i < h.size() && (std::isalnum(static_cast<unsigned char>(h[i])) || h[i] == '_')) ++i;
  out.name = h.substr(name_begin, i - name_begin);
  if (out.name.empty() || h.compare(i, 2, " (") != 0 || h.back() != ')') return false;
  out.detail = h.substr(i + 2, h.size() - i - 3);
  return true;
}

// "### [0xHH ]Name (N bytes)": N is returned in size.
bool layout_heading(const std::string& h, Heading& out, std::string& size) {
  static const std::string kBytes = " bytes";
  if (!parse_heading(h, out) || out.detail.size() <= kBytes.size() ||
      out.detail.compare(out.detail.size() - kBytes.size(), kBytes.size(), kBytes) != 0)
    return false;
  size = out.detail.substr(0, out.detail.size() - kBytes.size());
  return size.find_first_not_of("0123456789") == std::string::npos;
}

// "### Name (u8)", "### Name (u16)" or "### Name (u8 bits)".
bool value_heading(const std::string& h, Heading& out) {
  return parse_heading(h, out) && out.code.empty() &&
         (out.detail == "u8" || out.detail == "u16" || out.detail == "u8 bits");
}

std::string hex_code(int code) {  // "0x1F"
  const char* digits = "0123456789ABCDEF";
  std::string s = "0x";
  s += digits[(code >> 4) & 15];
  s += digits[code & 15];
  return s;
}

// ---- checks --------------------------------------------------------------------------------

TEST(FormatDoc, DocumentIsThere) {
  ASSERT_FALSE(doc().empty()) << "cannot read " << CASCADE_SOURCE_DIR << "/docs/format.md";
}

// The field lists above are complete: they tile each struct from 0 to sizeof with no gap,
// and the struct has no padding bytes, so no field can be missing from them.
TEST(FormatDoc, FieldListsCoverEveryByte) {
  for (const auto& l : layouts()) {
    SCOPED_TRACE(l.name);
    EXPECT_TRUE(l.no_padding);
    std::size_t at = 0;
    for (const auto& f : l.fields) {
      EXPECT_EQ(f.offset, at) << f.name;
      at = f.offset + f.size;
    }
    EXPECT_EQ(at, l.size);
    EXPECT_EQ(l.size % 8, 0u);
  }
}

TEST(FormatDoc, EveryLayoutTableMatchesTheCode) {
  for (const auto& l : layouts()) {
    SCOPED_TRACE(l.name);
    const Section* s = nullptr;
    Heading h;
    std::string size;
    for (const auto& sec : doc())
      if (layout_heading(sec.heading, h, size) && h.name == l.name) {
        s = &sec;
        break;
      }
    ASSERT_NE(s, nullptr) << "no heading '### " << (l.type_code >= 0 ? hex_code(l.type_code) : "") << " " << l.name
                          << " (" << l.size << " bytes)'";
    EXPECT_EQ(h.code, l.type_code >= 0 ? hex_code(l.type_code) : "") << "type code in the heading";
    EXPECT_EQ(size, std::to_string(l.size)) << "size in the heading";
    ASSERT_EQ(s->rows.size(), l.fields.size()) << "rows in the table";
    for (std::size_t i = 0; i < l.fields.size(); ++i) {
      const auto& f = l.fields[i];
      const auto& row = s->rows[i];
      ASSERT_GE(row.size(), 5u) << "row " << i << " needs Offset | Length | Type | Name | Description";
      EXPECT_EQ(row[0], std::to_string(f.offset)) << f.name << " offset";
      EXPECT_EQ(row[1], std::to_string(f.size)) << f.name << " length";
      EXPECT_EQ(row[2], f.type) << f.name << " type";
      EXPECT_EQ(row[3], f.name) << "name at offset " << f.offset;
      EXPECT_FALSE(row[4].empty()) << f.name << " has no description";
    }
  }
}

TEST(FormatDoc, NoStaleLayoutTables) {
  for (const auto& s : doc()) {
    Heading h;
    std::string size;
    if (!layout_heading(s.heading, h, size)) continue;
    bool known = false;
    for (const auto& l : layouts()) known = known || l.name == h.name;
    EXPECT_TRUE(known) << "docs/format.md describes '" << s.heading << "', which wire.hpp does not have";
  }
}

// Every type the decoder accepts has a layout above and a row in the summary table.
TEST(FormatDoc, EveryMessageTypeIsDocumented) {
  const Section* summary = nullptr;
  for (const auto& s : doc())
    if (s.heading == "Message types") summary = &s;
  ASSERT_NE(summary, nullptr) << "no '## Message types' table";
  std::map<std::string, const std::vector<std::string>*> rows;
  for (const auto& r : summary->rows) {
    ASSERT_GE(r.size(), 5u) << "Type | Message | CLI name | Length | Direction";
    rows[r[0]] = &r;
  }

  int known = 0;
  for (int code = 0; code < 256; ++code) {
    const auto t = static_cast<MsgType>(code);
    const auto size = message_size(t);
    if (size == 0) {
      EXPECT_EQ(rows.count(hex_code(code)), 0u) << hex_code(code) << " is not a message type";
      continue;
    }
    ++known;
    SCOPED_TRACE(hex_code(code));
    const Layout* layout = nullptr;
    for (const auto& l : layouts())
      if (l.type_code == code) layout = &l;
    ASSERT_NE(layout, nullptr) << "no field list for this type in the test";
    EXPECT_EQ(layout->size, size);
    ASSERT_EQ(rows.count(hex_code(code)), 1u) << "missing from the summary table";
    const auto& r = *rows[hex_code(code)];
    EXPECT_EQ(r[1], layout->name);
    EXPECT_EQ(r[2], type_name(t));
    EXPECT_EQ(r[3], std::to_string(size));
    EXPECT_EQ(r[4], is_input(t) ? "input" : "output");
  }
  EXPECT_EQ(summary->rows.size(), static_cast<std::size_t>(known));
}

TEST(FormatDoc, EnumAndFlagTablesMatchTheCode) {
  for (const auto& t : value_tables()) {
    SCOPED_TRACE(t.name);
    const Section* s = nullptr;
    Heading h;
    for (const auto& sec : doc())
      if (value_heading(sec.heading, h) && h.name == t.name) {
        s = &sec;
        break;
      }
    ASSERT_NE(s, nullptr) << "no heading '### " << t.name << " (" << t.type << ")'";
    EXPECT_EQ(h.detail, t.type);
    ASSERT_EQ(s->rows.size(), t.values.size()) << "rows in the table";
    for (std::size_t i = 0; i < t.values.size(); ++i) {
      const auto& r = s->rows[i];
      ASSERT_GE(r.size(), 3u) << "Value | Name | Meaning";
      EXPECT_EQ(std::stoull(r[0], nullptr, 0), t.values[i].value) << t.values[i].name;
      EXPECT_EQ(r[1], t.values[i].name);
      EXPECT_FALSE(r[2].empty()) << t.values[i].name << " has no meaning";
    }
  }
}

TEST(FormatDoc, FlagSetsAreComplete) {
  EXPECT_EQ(header_flags::kAll, header_flags::kSynthetic);
  EXPECT_EQ(order_flags::kAll, order_flags::kPostOnly | order_flags::kReduceOnly | order_flags::kMarkTrigger);
}

TEST(FormatDoc, NoStaleValueTables) {
  for (const auto& s : doc()) {
    Heading h;
    if (!value_heading(s.heading, h)) continue;
    bool known = false;
    for (const auto& t : value_tables()) known = known || t.name == h.name;
    EXPECT_TRUE(known) << "docs/format.md has a value table '" << s.heading << "' the test does not know";
  }
}

}  // namespace
