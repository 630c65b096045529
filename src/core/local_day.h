// The daemon's local days: counters, quotas, volumes and reports are kept per day of the
// process's time zone (TZ, as localtime_r reads it). A day is named by its number YYYYMMDD
// (20261206) in the store and by "YYYY-MM-DD" in the API and on the command line.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "core/types.h"

namespace mailwarden {

// A local day as a span of time: [start, end). end is the next day's start, 23 or 25 hours
// after start across a daylight saving change.
struct LocalDay {
  TimePoint start{};
  TimePoint end{};
};

// The local day of t as YYYYMMDD.
int LocalDayNumber(TimePoint t);

// The start of local day `day` (YYYYMMDD) moved by offset_days days (negative: back): its
// first second, which is midnight unless the zone skips midnight that day. A day past a
// month's end carries into the next month (20260131 + 1 is 20260201).
TimePoint LocalDayStart(int day, int offset_days = 0);

// The local day that contains t.
LocalDay LocalDayAround(TimePoint t);

// Parses "YYYY-MM-DD" exactly (four, two and two digits) naming a real calendar date of the
// years 1970 to 9999, into YYYYMMDD. On failure kInvalidInput, with a sentence quoting text.
Result<int> ParseDay(std::string_view text);

// day (YYYYMMDD) as "YYYY-MM-DD", what ParseDay reads back.
std::string FormatDay(int day);

}  // namespace mailwarden
