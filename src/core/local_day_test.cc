#include "core/local_day.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>

namespace mailwarden {
namespace {

using std::chrono::hours;

// Central European time by a POSIX rule (no tzdata needed): summer time from the last Sunday
// of March, 02:00, to the last Sunday of October, 03:00.
class LocalDayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* tz = std::getenv("TZ")) saved_ = tz;
    ::setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
    ::tzset();
  }
  void TearDown() override {
    if (saved_) {
      ::setenv("TZ", saved_->c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }

  static TimePoint Utc(int y, int m, int d, int h) {
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    return std::chrono::system_clock::from_time_t(::timegm(&tm));
  }

 private:
  std::optional<std::string> saved_;
};

TEST_F(LocalDayTest, NumberIsTheLocalDate) {
  struct Case {
    TimePoint t;
    int want;
  };
  const Case cases[] = {
      {Utc(2026, 12, 6, 12), 20261206}, {Utc(2026, 12, 6, 22), 20261206},  // 23:00 local
      {Utc(2026, 12, 6, 23), 20261207},                                    // midnight local
      {Utc(2026, 6, 30, 21), 20260630},                                    // 23:00 summer time
      {Utc(2026, 6, 30, 22), 20260701}, {Utc(2026, 12, 31, 23), 20270101},
  };
  for (const Case& c : cases) EXPECT_EQ(LocalDayNumber(c.t), c.want) << c.want;
}

TEST_F(LocalDayTest, StartIsLocalMidnightAndCarriesOverMonths) {
  EXPECT_EQ(LocalDayStart(20261206), Utc(2026, 12, 5, 23));
  EXPECT_EQ(LocalDayStart(20260701), Utc(2026, 6, 30, 22));
  EXPECT_EQ(LocalDayStart(20260131, 1), Utc(2026, 1, 31, 23));   // 1 February
  EXPECT_EQ(LocalDayStart(20260301, -1), Utc(2026, 2, 27, 23));  // 28 February
  EXPECT_EQ(LocalDayStart(20261231, 1), Utc(2026, 12, 31, 23));  // 1 January 2027
  EXPECT_EQ(LocalDayNumber(LocalDayStart(20261206, -400)), 20251101);
}

TEST_F(LocalDayTest, AroundHoldsTheTimeAndFollowsSummerTime) {
  struct Case {
    TimePoint t;
    TimePoint start;
    hours length;
  };
  const Case cases[] = {
      {Utc(2026, 12, 6, 12), Utc(2026, 12, 5, 23), hours(24)},
      {Utc(2026, 3, 29, 12), Utc(2026, 3, 28, 23), hours(23)},    // summer time begins
      {Utc(2026, 10, 25, 12), Utc(2026, 10, 24, 22), hours(25)},  // and ends
  };
  for (const Case& c : cases) {
    const LocalDay day = LocalDayAround(c.t);
    EXPECT_EQ(day.start, c.start);
    EXPECT_EQ(day.end - day.start, c.length);
    EXPECT_LE(day.start, c.t);
    EXPECT_LT(c.t, day.end);
  }
}

TEST(ParseDayTest, OnlyRealDatesAsYyyyMmDd) {
  struct Case {
    std::string text;
    std::optional<int> want;
  };
  const Case cases[] = {
      {"2026-12-06", 20261206},      {"2026-01-01", 20260101},
      {"1970-01-01", 19700101},      {"9999-12-31", 99991231},
      {"2024-02-29", 20240229},  // a leap year
      {"2000-02-29", 20000229},  // divisible by 400
      {"2026-02-30", std::nullopt},  {"2026-02-29", std::nullopt},
      {"1900-02-29", std::nullopt},  // divisible by 100 only... and before 1970
      {"2100-02-29", std::nullopt},  {"2026-04-31", std::nullopt},
      {"2026-13-01", std::nullopt},  {"2026-00-10", std::nullopt},
      {"2026-01-00", std::nullopt},  {"1969-12-31", std::nullopt},
      {"26-01-01", std::nullopt},    {"2026-1-1", std::nullopt},
      {"2026-01-1 ", std::nullopt},  {"2026/01/01", std::nullopt},
      {"2026-01-01x", std::nullopt}, {"+026-01-01", std::nullopt},
      {"yesterday", std::nullopt},   {"", std::nullopt},
  };
  for (const Case& c : cases) {
    auto got = ParseDay(c.text);
    if (c.want) {
      ASSERT_TRUE(got.has_value()) << c.text;
      EXPECT_EQ(*got, *c.want);
      EXPECT_EQ(FormatDay(*got), c.text);
    } else {
      ASSERT_FALSE(got.has_value()) << c.text;
      EXPECT_EQ(got.error().code, ErrorCode::kInvalidInput);
      EXPECT_NE(got.error().message.find("YYYY-MM-DD"), std::string::npos);
    }
  }
}

TEST(FormatDayTest, PadsWithZeros) {
  EXPECT_EQ(FormatDay(20260105), "2026-01-05");
  EXPECT_EQ(FormatDay(99991231), "9999-12-31");
}

}  // namespace
}  // namespace mailwarden
