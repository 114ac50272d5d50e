#include "import/calendar.hpp"

namespace cascade::import {

namespace {

bool leap(int y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int month_days(int y, int m) noexcept {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

// 0 = Sunday.
int weekday(const Date& d) noexcept {
  const std::int64_t days = days_from_civil(d);  // 1970-01-01 was a Thursday
  return static_cast<int>(((days % 7) + 7 + 4) % 7);
}

// Day of month of the n-th (1-based) Sunday of y-m; n = -1 for the last.
int nth_sunday(int y, int m, int n) noexcept {
  if (n > 0) {
    const int first = weekday({y, m, 1});
    return 1 + (7 - first) % 7 + 7 * (n - 1);
  }
  const int last = month_days(y, m);
  return last - weekday({y, m, last});
}

int two_digits(std::string_view s, std::size_t at) noexcept {
  const char a = s[at], b = s[at + 1];
  if (a < '0' || a > '9' || b < '0' || b > '9') return -1;
  return (a - '0') * 10 + (b - '0');
}

}  // namespace

bool valid_date(const Date& d) noexcept {
  return d.year >= 1900 && d.year <= 9999 && d.month >= 1 && d.month <= 12 && d.day >= 1 &&
         d.day <= month_days(d.year, d.month);
}

bool parse_date(std::string_view text, Date& out) noexcept {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  const int hi = two_digits(text, 0), lo = two_digits(text, 2);
  const int m = two_digits(text, 5), d = two_digits(text, 8);
  if (hi < 0 || lo < 0 || m < 0 || d < 0) return false;
  const Date r{hi * 100 + lo, m, d};
  if (!valid_date(r)) return false;
  out = r;
  return true;
}

// Howard Hinnant's days_from_civil.
std::int64_t days_from_civil(const Date& d) noexcept {
  const std::int64_t y = d.year - (d.month <= 2 ? 1 : 0);
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t mp = (d.month + 9) % 12;
  const std::int64_t doy = (153 * mp + 2) / 5 + d.day - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

std::int64_t us_eastern_offset_s(const Date& d) noexcept {
  constexpr std::int64_t kStandard = -5 * 3600, kDaylight = -4 * 3600;
  int start_month, start_day, end_month, end_day;
  if (d.year >= 2007) {
    start_month = 3, start_day = nth_sunday(d.year, 3, 2);
    end_month = 11, end_day = nth_sunday(d.year, 11, 1);
  } else {
    start_month = 4, start_day = nth_sunday(d.year, 4, 1);
    end_month = 10, end_day = nth_sunday(d.year, 10, -1);
  }
  const int md = d.month * 100 + d.day;
  // Midnight of the start Sunday is still standard time; midnight of the end Sunday is
  // still daylight time.
  const bool dst = md > start_month * 100 + start_day && md <= end_month * 100 + end_day;
  return dst ? kDaylight : kStandard;
}

Timestamp us_eastern_midnight_ns(const Date& d) noexcept {
  const std::int64_t utc_s = days_from_civil(d) * 86400 - us_eastern_offset_s(d);
  return utc_s * 1'000'000'000;
}

}  // namespace cascade::import
