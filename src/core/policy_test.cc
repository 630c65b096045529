#include "core/policy.h"

#include <gtest/gtest.h>

namespace mailwarden {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// A whole minute, so that minute buckets line up with the offsets below.
const TimePoint kT0 = FromUnixMillis(1'700'000'040'000);

TEST(RollingHourCounter, CountsAnHourOfMinutes) {
  RollingHourCounter c;
  EXPECT_EQ(c.Count(kT0), 0);
  c.Add(kT0 + seconds(59), 2);
  c.Add(kT0 + minutes(10));
  c.Add(kT0 + minutes(10) + seconds(30), 3);
  struct Case {
    Duration at;
    std::int64_t count;
  };
  const Case cases[] = {
      {seconds(0), 2},
      {minutes(10), 6},
      {minutes(59) + seconds(59), 6},
      {minutes(60), 4},  // the minute of the first send has left the window
      {minutes(69) + seconds(59), 4},
      {minutes(70), 0},
      {hours(5), 0},
  };
  for (const auto& c2 : cases) EXPECT_EQ(c.Count(kT0 + c2.at), c2.count) << c2.at.count();
}

TEST(RollingHourCounter, ReusesBucketsAsTheWindowRolls) {
  RollingHourCounter c;
  c.Add(kT0, 5);
  c.Add(kT0 + minutes(60), 1);  // the same slot, an hour later
  EXPECT_EQ(c.Count(kT0 + minutes(60)), 1);
  c.Add(kT0 + minutes(61), 1);
  EXPECT_EQ(c.Count(kT0 + minutes(61)), 2);
  // Many hours on, each minute's slot holds only that minute.
  for (int m = 0; m < 180; ++m) c.Add(kT0 + hours(3) + minutes(m));
  EXPECT_EQ(c.Count(kT0 + hours(3) + minutes(179)), 60);
}

TEST(RollingHourCounter, DropsAddsOlderThanItsWindow) {
  RollingHourCounter c;
  c.Add(kT0 + minutes(60), 1);
  c.Add(kT0, 7);  // same slot, an hour before the latest add
  EXPECT_EQ(c.Count(kT0 + minutes(60)), 1);
  c.Add(kT0 + minutes(30), 2);  // late, but inside the window: counted
  EXPECT_EQ(c.Count(kT0 + minutes(60)), 3);
}

TEST(RollingHourCounter, BelowAtIsWhenEnoughMinutesHaveLeft) {
  RollingHourCounter c;
  c.Add(kT0, 1);
  c.Add(kT0 + minutes(10), 1);
  c.Add(kT0 + minutes(20), 1);
  const TimePoint now = kT0 + minutes(30) + seconds(15);
  struct Case {
    std::int64_t limit;
    TimePoint at;
  };
  const Case cases[] = {
      {4, now},                // under the limit: now
      {3, kT0 + minutes(60)},  // one must leave
      {2, kT0 + minutes(70)},  // two must leave
      {1, kT0 + minutes(80)},  // all must leave
  };
  for (const auto& c2 : cases) EXPECT_EQ(c.BelowAt(now, c2.limit), c2.at) << c2.limit;
}

const LocalDay kToday{kT0 - hours(10), kT0 + hours(14)};

TEST(CheckQuota, DefersAtTheLimitsAndSaysUntilWhen) {
  RollingHourCounter hour;
  hour.Add(kT0, 200);
  hour.Add(kT0 + minutes(20), 100);
  const TimePoint now = kT0 + minutes(30);
  struct Case {
    const char* name;
    QuotaLimits limits;
    std::int64_t sent_today;
    std::int64_t may_send;
    TimePoint next_send;
  };
  const Case cases[] = {
      {"under both", {400, 1000}, 500, 100, now},
      {"day is tighter", {400, 1000}, 950, 50, now},
      {"hour at limit", {300, 1000}, 500, 0, kT0 + minutes(60)},
      {"hour over limit, oldest minute enough", {250, 1000}, 500, 0, kT0 + minutes(60)},
      {"hour over limit, both minutes must leave", {50, 1000}, 500, 0, kT0 + minutes(80)},
      {"day at limit", {400, 1000}, 1000, 0, kToday.end},
      {"day over limit", {400, 1000}, 1200, 0, kToday.end},
      {"both, day ends later", {300, 1000}, 1000, 0, kToday.end},
      {"no hour limit", {0, 1000}, 10, 990, now},
      {"no limits", {0, -1}, 1'000'000, QuotaVerdict::kUnlimited, now},
  };
  for (const auto& c : cases) {
    const QuotaVerdict v = CheckQuota(c.limits, hour, c.sent_today, kToday, now);
    EXPECT_EQ(v.may_send, c.may_send) << c.name;
    EXPECT_EQ(v.next_send, c.next_send) << c.name;
  }
}

TEST(CheckQuota, BothFullWaitsForTheLaterRelease) {
  RollingHourCounter hour;
  const TimePoint now = kToday.end - minutes(10);
  hour.Add(now - minutes(5), 300);
  const QuotaLimits limits{300, 1000};
  // The hour frees at now + 55 min, after the day's end.
  QuotaVerdict v = CheckQuota(limits, hour, 1000, kToday, now);
  EXPECT_EQ(v.may_send, 0);
  EXPECT_EQ(v.next_send, now + minutes(55));
  // With the hour freeing first, the day's end decides.
  RollingHourCounter early;
  early.Add(now - minutes(55), 300);
  v = CheckQuota(limits, early, 1000, kToday, now);
  EXPECT_EQ(v.may_send, 0);
  EXPECT_EQ(v.next_send, kToday.end);
}

TEST(CheckQuota, ANewDayForgetsYesterdaysCount) {
  RollingHourCounter hour;
  const QuotaLimits limits{0, 1000};
  EXPECT_EQ(CheckQuota(limits, hour, 1000, kToday, kToday.end - seconds(1)).may_send, 0);
  EXPECT_EQ(CheckQuota(limits, hour, 1000, kToday, kToday.end).may_send, 1000);
  // A 23-hour day (daylight saving) ends where the caller says.
  const LocalDay short_day{kT0, kT0 + hours(23)};
  const QuotaVerdict v = CheckQuota(limits, hour, 1000, short_day, kT0 + hours(22));
  EXPECT_EQ(v.next_send, kT0 + hours(23));
}

TEST(SpamGuardTrips, OnlyAboveTheLimit) {
  struct Case {
    std::int64_t submitted, limit;
    bool trips;
  };
  const Case cases[] = {
      {0, 3000, false},        {2999, 3000, false},   {3000, 3000, false}, {3001, 3000, true},
      {1'000'000, 3000, true}, {1'000'000, 0, false}, {5, -1, false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(SpamGuardTrips(c.submitted, c.limit), c.trips) << c.submitted << "/" << c.limit;
  }
}

TEST(BounceGuardTrips, AboveTheRateOverEnoughAttempts) {
  struct Case {
    std::int64_t failures, attempts;
    double rate;
    std::int64_t min;
    bool doubled;
    bool trips;
  };
  const Case cases[] = {
      // Below bounce_min nothing trips, even all failures.
      {19, 19, 0.2, 20, false, false},
      {0, 0, 0.2, 0, false, false},
      // At exactly the rate: not yet passed.
      {4, 20, 0.2, 20, false, false},
      {5, 20, 0.2, 20, false, true},
      {3, 10, 0.3, 10, false, false},
      {4, 10, 0.3, 10, false, true},
      // Doubled tolerance doubles the rate, not bounce_min.
      {5, 20, 0.2, 20, true, false},
      {8, 20, 0.2, 20, true, false},
      {9, 20, 0.2, 20, true, true},
      {19, 19, 0.2, 20, true, false},
      {20, 20, 0.5, 20, true, false},
      {0, 20, 0.0, 20, false, false},
      {1, 20, 0.0, 20, false, true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(BounceGuardTrips(c.failures, c.attempts, c.rate, c.min, c.doubled), c.trips)
        << c.failures << "/" << c.attempts << " rate " << c.rate << " min " << c.min
        << (c.doubled ? " doubled" : "");
  }
}

TEST(ComplaintGuardTrips, AboveTheRateOverEnoughMessagesSent) {
  struct Case {
    std::int64_t complaints, sent;
    double rate;
    std::int64_t min;
    bool doubled;
    bool trips;
  };
  const Case cases[] = {
      // Below complaint_min nothing trips, however many complain.
      {50, 999, 0.003, 1000, false, false},
      {1, 0, 0.003, 0, false, false},
      // At exactly the rate (3 of 1000 is 0.003): not yet passed; one more passes it.
      {3, 1000, 0.003, 1000, false, false},
      {4, 1000, 0.003, 1000, false, true},
      {30, 10'000, 0.003, 1000, false, false},
      {31, 10'000, 0.003, 1000, false, true},
      // Complaints about yesterday's mail may outnumber today's: still a rate above.
      {2000, 1000, 0.003, 1000, false, true},
      // Doubled tolerance doubles the rate, not complaint_min.
      {4, 1000, 0.003, 1000, true, false},
      {6, 1000, 0.003, 1000, true, false},
      {7, 1000, 0.003, 1000, true, true},
      {50, 999, 0.003, 1000, true, false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ComplaintGuardTrips(c.complaints, c.sent, c.rate, c.min, c.doubled), c.trips)
        << c.complaints << "/" << c.sent << " rate " << c.rate << " min " << c.min
        << (c.doubled ? " doubled" : "");
  }
}

}  // namespace
}  // namespace mailwarden
