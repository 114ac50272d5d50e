// The human-readable text form of an event stream: one event per line, exact in both
// directions, so `cascade dump | cascade encode` reproduces a file byte for byte.
// Full description with an example line per type: docs/text-format.md.
//
//   # cascade v1 kind=input created_ns=0 creator="cascade encode"
//   new_order seq=7 ts=1700000000000000000 order_id=42 account=1 instrument=1 side=buy type=limit tif=gtc price=65000.5 qty=0.25
//
// - A line is `<type> seq=N ts=N [ref=N] [flags=synthetic] key=value ...`; keys in any order.
//   Body keys that are left out are zero (the dump leaves out only ref, flags and a few
//   optional fields when they are zero).
// - Prices and quantities are decimals in the price_decimals/qty_decimals of the latest
//   `instrument` line for that instrument id earlier in the same stream (0 decimals when
//   there is none); money has 6 decimals and rates 8. Instrument id 4294967295 is `all`.
// - Enums are lowercase words (side=buy, reason=post_only_would_take), or the raw number
//   for a value with no name; flag sets are words joined by '|'.
// - Body padding is not written: the encoder writes zeros, and dumping an event whose
//   padding is not zero fails ("nonzero padding at offset N"), as the text cannot say it.
// - `#` starts a comment; blank lines are skipped. `@decimals instrument=N price_decimals=N
//   qty_decimals=N` sets the decimals of an instrument without an event (used to read
//   output streams, which carry no instrument definitions).
//
// Not on the hot path: this is for tools, tests and the logs of embedding hosts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cascade/event_buffer.hpp"
#include "cascade/event_reader.hpp"
#include "cascade/types.hpp"
#include "cascade/wire.hpp"

namespace cascade::text {

struct Decimals {
  std::uint8_t price = 0;
  std::uint8_t qty = 0;
};

// Decimals per instrument id, as the stream has defined them so far.
class DecimalsTable {
 public:
  Decimals get(InstrumentId id) const noexcept {
    const auto it = map_.find(id);
    return it == map_.end() ? Decimals{} : it->second;
  }
  void set(InstrumentId id, Decimals d) { map_[id] = d; }

 private:
  std::unordered_map<InstrumentId, Decimals> map_;
};

// Binary -> text.
class Formatter {
 public:
  // The first line of a dump: `# cascade v1 kind=... created_ns=N creator="..."`.
  // False (with error) if the header has bytes the line cannot carry (nonzero padding).
  bool header_line(const wire::FileHeader& header, std::string& line, std::string& error) const;

  // Appends the event's line, without a newline. `offset` is the event's offset in its
  // file, used in the error when the event has nonzero padding (then nothing is appended).
  bool format(const EventView& event, std::uint64_t offset, std::string& line, std::string& error);

  // An `@decimals` line; later events of `instrument` use these decimals.
  std::string decimals_line(InstrumentId instrument, Decimals d);

  const DecimalsTable& decimals() const noexcept { return decimals_; }

 private:
  DecimalsTable decimals_;
};

// Text -> binary, one line at a time (lines are numbered from 1 in the order given).
class Parser {
 public:
  enum class Line : std::uint8_t {
    Skip,       // blank, comment or directive: nothing to write
    Header,     // the `# cascade v1 ...` line: header() is set
    Event,      // event() holds the encoded message
    Error,      // error() says what, with the line number and the key
  };

  Line parse(std::string_view line);

  std::span<const std::byte> event() const noexcept { return {buf_, event_size_}; }
  wire::MsgType event_type() const noexcept;
  bool has_header() const noexcept { return has_header_; }
  const wire::FileHeader& header() const noexcept { return header_; }
  const std::string& error() const noexcept { return error_; }
  std::size_t line_number() const noexcept { return line_no_; }
  std::size_t events() const noexcept { return events_; }

  // The file header to write: the header line's, else one whose kind follows the first
  // event (input when there is none), created_ns 0, creator "cascade encode".
  wire::FileHeader file_header() const noexcept;

 private:
  Line fail(std::string message);

  alignas(8) std::byte buf_[512]{};
  std::size_t event_size_ = 0;
  std::size_t line_no_ = 0;
  std::size_t events_ = 0;
  bool has_header_ = false;
  wire::MsgType first_type_{};
  wire::FileHeader header_{};
  std::string error_;
  DecimalsTable decimals_;
};

// Whole-buffer helpers (tests and small tools).
// Dumps an event file image (header first) to text, one '\n'-terminated line per event.
// On a decode or padding error returns false: `text` holds every line before the problem
// and `error` names the byte offset.
bool dump(std::span<const std::byte> file, std::string& text, std::string& error);
// Encodes text into an event file image (header first). On error `file` is unspecified.
bool encode(std::string_view text, EventBuffer& file, std::string& error);

}  // namespace cascade::text
