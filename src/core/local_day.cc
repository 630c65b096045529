#include "core/local_day.h"

#include <cstdio>
#include <ctime>

#include "core/text.h"

namespace mailwarden {
namespace {

bool IsLeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeapYear(y) ? 29 : kDays[m - 1];
}

// The digits of text[from, from + n) as a number; -1 if any is not a digit.
int Digits(std::string_view text, std::size_t from, std::size_t n) {
  int value = 0;
  for (std::size_t i = from; i < from + n; ++i) {
    if (text[i] < '0' || text[i] > '9') return -1;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

}  // namespace

int LocalDayNumber(TimePoint t) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm local{};
  ::localtime_r(&seconds, &local);
  return (local.tm_year + 1900) * 10000 + (local.tm_mon + 1) * 100 + local.tm_mday;
}

TimePoint LocalDayStart(int day, int offset_days) {
  std::tm tm{};
  tm.tm_year = day / 10000 - 1900;
  tm.tm_mon = day / 100 % 100 - 1;
  tm.tm_mday = day % 100 + offset_days;  // mktime normalises a day past the month's end
  tm.tm_isdst = -1;                      // the zone decides, as on the day itself
  return std::chrono::system_clock::from_time_t(std::mktime(&tm));
}

LocalDay LocalDayAround(TimePoint t) {
  const int day = LocalDayNumber(t);
  return LocalDay{LocalDayStart(day), LocalDayStart(day, 1)};
}

Result<int> ParseDay(std::string_view text) {
  const bool shaped = text.size() == 10 && text[4] == '-' && text[7] == '-';
  const int y = shaped ? Digits(text, 0, 4) : -1;
  const int m = shaped ? Digits(text, 5, 2) : -1;
  const int d = shaped ? Digits(text, 8, 2) : -1;
  if (y < 1970 || m < 1 || m > 12 || d < 1 || d > DaysInMonth(y, m)) {
    return Fail(ErrorCode::kInvalidInput, Quoted(text) + " is not a date as YYYY-MM-DD");
  }
  return y * 10000 + m * 100 + d;
}

std::string FormatDay(int day) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", day / 10000, day / 100 % 100, day % 100);
  return buf;
}

}  // namespace mailwarden
