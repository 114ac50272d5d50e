// Readable one-line descriptions of events with raw integer fields, for test failure messages.
// Unlike the text format it needs no instrument decimals, so it can print any single event.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "cascade/event_reader.hpp"

namespace cascade::testing {

// "fill maker_order_id=1 taker_order_id=2 ... taker_leaves=0"; with_header prefixes
// "seq=N ts=N ref=N" (and "flags=N" when set).
std::string describe(const EventView& event, bool with_header = true);

// One description per event of an 8-byte aligned buffer of whole events.
std::vector<std::string> describe_all(std::span<const std::byte> events, bool with_header = true);

// describe_all joined with newlines and an indent, for a failure message.
std::string describe_block(std::span<const std::byte> events);

}  // namespace cascade::testing
