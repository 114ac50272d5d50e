// LOBSTER (lobsterdata.com) message/orderbook files -> cascade input events, and the
// engine's book printed back in LOBSTER's orderbook layout. docs/importers.md explains the
// conversion; its promise is that replaying the events reproduces the orderbook file.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "cascade/engine.hpp"
#include "import/calendar.hpp"
#include "import/emitter.hpp"

namespace cascade::import {

// Appends one orderbook-file row for the engine's current book of `instrument` to `row`
// (no newline): for each level 1..depth "ask price,ask size,bid price,bid size", prices in
// the instrument's price units, empty levels as 9999999999,0 / -9999999999,0.
void lobster_book_row(const Engine& engine, InstrumentId instrument, int depth, std::string& row);

inline constexpr Price kLobsterEmptyAsk = 9'999'999'999;
inline constexpr Price kLobsterEmptyBid = -9'999'999'999;

enum class LobsterType : std::uint8_t {
  Add = 1,
  PartialCancel = 2,
  Delete = 3,
  Execute = 4,
  HiddenExecute = 5,
  Cross = 6,
  Halt = 7,
};

// One line of a message file.
struct LobsterMessage {
  Timestamp time_ns;  // after midnight
  LobsterType type;
  std::int8_t direction;  // 1 buy, -1 sell (executions: the resting order's side)
  std::uint64_t order_id;
  Qty size;
  Price price;  // 10^-4 dollars
};

// An orderbook file: one row of `depth` levels per message, 4 numbers per level.
struct LobsterBook {
  int depth = 0;
  std::size_t rows = 0;
  std::vector<std::int64_t> cells;  // rows * 4 * depth
  const std::int64_t* row(std::size_t i) const noexcept { return cells.data() + i * 4 * static_cast<std::size_t>(depth); }
};

// What LOBSTER's file names carry: TICKER_YYYY-MM-DD_STARTMS_ENDMS_{message|orderbook}_LEVEL.csv
struct LobsterFileName {
  std::string symbol;
  Date date;
  std::int64_t start_ms = 0, end_ms = 0;
  bool is_message = false;
  int level = 0;
};
bool parse_lobster_file_name(std::string_view path, LobsterFileName& out);

// The orderbook file that goes with a message file ("" if the name is not LOBSTER's).
std::string lobster_book_path(std::string_view message_path);

// Parsers; errors name the 1-based line.
bool parse_lobster_messages(std::string_view text, std::vector<LobsterMessage>& out, std::string& error);
bool parse_lobster_book(std::string_view text, LobsterBook& out, std::string& error);

struct LobsterOptions {
  InstrumentId instrument = 0;
  std::string symbol;          // instrument symbol (at most 15 characters are kept)
  int depth = 0;               // expected levels per row; 0 = whatever the orderbook file has
  Timestamp day_start_ns = 0;  // added to the message times (midnight of the trading day)
  std::uint32_t max_levels = EngineConfig{}.max_levels_per_book;
};

// Converts one day: events go to `out`, every event of message k (1-based) with ref k.
bool convert_lobster(const std::vector<LobsterMessage>& messages, const LobsterBook& book,
                     const LobsterOptions& options, EventSink& out, ConvertStats& stats, std::string& error);

// Reads and converts a message file and its orderbook file. Symbol and date default to those
// in the message file's name (the date's midnight in New York); `date` overrides the date.
bool convert_lobster_files(const std::string& message_path, const std::string& book_path, LobsterOptions options,
                           const Date* date, EventSink& out, ConvertStats& stats, std::string& error);

}  // namespace cascade::import
