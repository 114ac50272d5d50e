// Calendar dates for feeds whose clocks count from local midnight (LOBSTER, NASDAQ ITCH).
#pragma once

#include <cstdint>
#include <string_view>

#include "cascade/types.hpp"

namespace cascade::import {

struct Date {
  int year = 0;
  int month = 0;  // 1..12
  int day = 0;    // 1..31
};

// "YYYY-MM-DD"; false unless it names a real calendar day.
bool parse_date(std::string_view text, Date& out) noexcept;

bool valid_date(const Date& d) noexcept;

// Days from 1970-01-01 to d (proleptic Gregorian; negative before 1970).
std::int64_t days_from_civil(const Date& d) noexcept;

// UTC offset of US Eastern time at local midnight of d, in seconds: -4h during daylight
// saving time (second Sunday of March to first Sunday of November since 2007; first
// Sunday of April to last Sunday of October before), else -5h. US markets are closed on
// the switch-over Sundays, so one offset serves the whole trading day.
std::int64_t us_eastern_offset_s(const Date& d) noexcept;

// Nanoseconds since the Unix epoch of midnight, New York time, starting day d.
Timestamp us_eastern_midnight_ns(const Date& d) noexcept;

}  // namespace cascade::import
