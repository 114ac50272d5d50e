// NASDAQ TotalView-ITCH 5.0 -> cascade input events. The feed is framed as in NASDAQ's daily
// files: each message preceded by its length, 2 bytes big-endian. Book building uses the
// stock directory (R) and the order messages A, F, E, C, X, D, U; every other type is
// skipped by its length. docs/importers.md explains the conversion.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "cascade/engine.hpp"
#include "cascade/types.hpp"
#include "import/calendar.hpp"
#include "import/emitter.hpp"

namespace cascade::import::itch {

// Walks the framed messages of a buffer.
class FrameReader {
 public:
  explicit FrameReader(std::span<const std::byte> bytes) noexcept : p_(bytes.data()), end_(p_ + bytes.size()), begin_(p_) {}

  // The next message (without its length prefix); false at the end or at a bad frame
  // (then error() says where).
  bool next(std::span<const std::byte>& message) noexcept;
  bool ok() const noexcept { return error_.empty(); }
  const std::string& error() const noexcept { return error_; }
  std::uint64_t offset() const noexcept { return static_cast<std::uint64_t>(p_ - begin_); }

 private:
  const std::byte* p_;
  const std::byte* end_;
  const std::byte* begin_;
  std::string error_;
};

// The fields of the message types the converter reads; others leave them zero.
struct Message {
  char type = 0;
  std::uint16_t locate = 0;
  std::uint16_t tracking = 0;
  std::int64_t timestamp_ns = 0;  // since midnight
  std::uint64_t ref = 0;          // order reference (U: the original order)
  std::uint64_t new_ref = 0;      // U
  Side side = Side::Buy;          // A, F
  std::uint32_t shares = 0;       // A, F, U: shares; E, C: executed; X: cancelled
  std::uint32_t price = 0;        // A, F, U: limit; C: execution price (10^-4 dollars)
  std::uint64_t match = 0;        // E, C
  char stock[9] = {};             // A, F, R: symbol, right-padded with spaces in the feed; trimmed here
  char mpid[5] = {};              // F
  char printable = 0;             // C
};

// The length ITCH 5.0 gives a message type, 0 for a type it does not define.
std::size_t message_length(char type) noexcept;

// Decodes a message. Types the converter reads must have their specified length (false with a
// message otherwise); other types only get type, locate, tracking and timestamp decoded.
bool decode(std::span<const std::byte> message, Message& out, std::string& error);

// NASDAQ daily file names start with the date as MMDDYYYY ("12302019.NASDAQ_ITCH50").
bool parse_file_date(std::string_view path, Date& out) noexcept;

struct Options {
  std::string symbol;          // convert only this stock; empty = every stock with orders
  Timestamp day_start_ns = 0;  // added to the feed's times (midnight of the trading day)
  std::uint32_t max_levels = EngineConfig{}.max_levels_per_book;
};

// Converts a feed: every event of ITCH message n (1-based, counting every message in the
// file) has ref n; the setup events (instruments, deposits) have ref 1. Instruments are the
// converted stocks in stock-locate order, numbered from 0.
bool convert(std::span<const std::byte> feed, const Options& options, EventSink& out, ConvertStats& stats,
             std::string& error);

// Maps and converts a file; the date defaults to the one in the file name (midnight in
// New York), `date` overrides it.
bool convert_file(const std::string& path, Options options, const Date* date, EventSink& out, ConvertStats& stats,
                  std::string& error);

}  // namespace cascade::import::itch
