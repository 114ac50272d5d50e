// A crash day small enough for a test (300 traders, 12 minutes, 2 s ticks) that still runs
// cascades, backstop takeovers and deleveraging: the generator's crash preset shrunk.
#pragma once

#include <string>

#include "cascade/event_buffer.hpp"
#include "scenario/scenario.hpp"

namespace cascade::testing {

// Appends the day's input events (no file header) to out and describes them in summary;
// false with the generator's message.
bool small_crash_day(EventBuffer& out, scenario::Summary& summary, std::string& error);

}  // namespace cascade::testing
