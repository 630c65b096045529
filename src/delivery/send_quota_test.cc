#include "delivery/send_quota.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

namespace mailwarden {
namespace {

using namespace std::chrono_literals;

// A calendar of plain 24-hour days from the epoch, so tests do not depend on TZ.
LocalDay UtcDay(TimePoint t) {
  const auto day = std::chrono::floor<std::chrono::days>(t);
  return {.start = TimePoint(day), .end = TimePoint(day + std::chrono::days(1))};
}

// 2026-11-26 10:00:00 UTC, on a minute's start.
const TimePoint kQuotaT0 =
    TimePoint(std::chrono::sys_days(std::chrono::year(2026) / 11 / 26)) + 10h;
constexpr AccountId kShop = 7;

bool Skipped(const SendQuotas::ClaimPlan& plan, AccountId id) {
  return std::ranges::find(plan.skip, id) != plan.skip.end();
}

TEST(SendQuotasTest, HourQuotaSkipsTheAccountUntilItsWindowMovesOn) {
  SendQuotas quotas({.max_per_hour = 300, .max_per_day = 1000}, 20, UtcDay);
  quotas.SetAccount(kShop, "shop", 3, std::nullopt, kQuotaT0);
  for (int i = 0; i < 3; ++i) quotas.Count(kShop, kQuotaT0 + 10s);
  EXPECT_EQ(quotas.Check(kShop, kQuotaT0 + 10s).may_send, 0);

  auto plan = quotas.PlanClaim(kQuotaT0 + 30min);
  EXPECT_TRUE(Skipped(plan, kShop));
  EXPECT_TRUE(plan.most.empty());
  ASSERT_TRUE(plan.next_send.has_value());
  EXPECT_EQ(*plan.next_send, kQuotaT0 + 60min);  // the minute of the sends leaves the window

  // Nothing is lost: once the hour has moved on the three waiting may go, capped at three.
  plan = quotas.PlanClaim(kQuotaT0 + 60min);
  EXPECT_FALSE(Skipped(plan, kShop));
  ASSERT_EQ(plan.most.size(), 1u);
  EXPECT_EQ(plan.most[0], std::make_pair(kShop, 3));
}

TEST(SendQuotasTest, RollingHourReleasesAsOldSendsLeaveIt) {
  SendQuotas quotas({.max_per_hour = 0, .max_per_day = 0}, 20, UtcDay);
  quotas.SetAccount(kShop, "shop", 4, std::nullopt, kQuotaT0);
  quotas.Count(kShop, kQuotaT0);
  quotas.Count(kShop, kQuotaT0);
  quotas.Count(kShop, kQuotaT0 + 20min);
  quotas.Count(kShop, kQuotaT0 + 40min);
  EXPECT_EQ(quotas.Check(kShop, kQuotaT0 + 59min).may_send, 0);
  EXPECT_EQ(quotas.Check(kShop, kQuotaT0 + 59min).next_send, kQuotaT0 + 60min);
  EXPECT_EQ(quotas.Check(kShop, kQuotaT0 + 60min).may_send, 2);
  EXPECT_EQ(quotas.Check(kShop, kQuotaT0 + 80min).may_send, 3);
  EXPECT_EQ(quotas.Check(kShop, kQuotaT0 + 100min).may_send, 4);
}

TEST(SendQuotasTest, DayQuotaWaitsForTheNextLocalDay) {
  SendQuotas quotas({.max_per_hour = 0, .max_per_day = 5}, 20, UtcDay);
  quotas.SetAccount(kShop, "shop", std::nullopt, std::nullopt, kQuotaT0);
  for (int i = 0; i < 5; ++i) quotas.Count(kShop, kQuotaT0 + std::chrono::hours(i));
  const TimePoint evening = kQuotaT0 + 12h;  // 22:00, same day
  auto plan = quotas.PlanClaim(evening);
  EXPECT_TRUE(Skipped(plan, kShop));
  ASSERT_TRUE(plan.next_send.has_value());
  EXPECT_EQ(*plan.next_send, UtcDay(kQuotaT0).end);

  plan = quotas.PlanClaim(UtcDay(kQuotaT0).end);
  EXPECT_FALSE(Skipped(plan, kShop));
  EXPECT_EQ(quotas.Check(kShop, UtcDay(kQuotaT0).end).may_send, 5);
  // The new day counts from zero.
  quotas.Count(kShop, UtcDay(kQuotaT0).end + 1min);
  EXPECT_EQ(quotas.Check(kShop, UtcDay(kQuotaT0).end + 2min).may_send, 4);
}

TEST(SendQuotasTest, CapsAnAccountThatMaySendLessThanAClaim) {
  SendQuotas quotas({.max_per_hour = 10, .max_per_day = 0}, 4, UtcDay);
  quotas.SetAccount(kShop, "shop", std::nullopt, std::nullopt, kQuotaT0);
  EXPECT_TRUE(quotas.PlanClaim(kQuotaT0).most.empty());  // 10 free: no cap needed
  for (int i = 0; i < 7; ++i) quotas.Count(kShop, kQuotaT0);
  const auto plan = quotas.PlanClaim(kQuotaT0 + 1min);
  ASSERT_EQ(plan.most.size(), 1u);
  EXPECT_EQ(plan.most[0], std::make_pair(kShop, 3));
  EXPECT_TRUE(plan.skip.empty());
}

TEST(SendQuotasTest, ZeroMeansNoLimitAndReservedAccountsHaveNone) {
  SendQuotas quotas({.max_per_hour = 1, .max_per_day = 1}, 20, UtcDay);
  quotas.SetAccount(1, "_mailwarden", std::nullopt, std::nullopt, kQuotaT0);
  quotas.SetAccount(2, "unlimited", 0, 0, kQuotaT0);
  for (int i = 0; i < 100; ++i) {
    quotas.Count(1, kQuotaT0);
    quotas.Count(2, kQuotaT0);
  }
  const auto plan = quotas.PlanClaim(kQuotaT0);
  EXPECT_TRUE(plan.skip.empty());
  EXPECT_TRUE(plan.most.empty());
  EXPECT_EQ(quotas.Check(1, kQuotaT0).may_send, QuotaVerdict::kUnlimited);
  EXPECT_EQ(quotas.Check(2, kQuotaT0).may_send, QuotaVerdict::kUnlimited);
}

TEST(SendQuotasTest, RaisedLimitsTakeEffectAtOnce) {
  SendQuotas quotas({.max_per_hour = 0, .max_per_day = 0}, 20, UtcDay);
  quotas.SetAccount(kShop, "shop", 2, std::nullopt, kQuotaT0);
  quotas.Count(kShop, kQuotaT0);
  quotas.Count(kShop, kQuotaT0);
  EXPECT_TRUE(Skipped(quotas.PlanClaim(kQuotaT0), kShop));
  quotas.SetAccount(kShop, "shop", 500, std::nullopt, kQuotaT0);
  const auto plan = quotas.PlanClaim(kQuotaT0);
  EXPECT_FALSE(Skipped(plan, kShop));
  EXPECT_TRUE(plan.most.empty());
}

TEST(SendQuotasTest, NewPolicyLimitsApplyAtOnceToAccountsWithoutTheirOwn) {
  constexpr AccountId kBlog = 8;
  SendQuotas quotas({.max_per_hour = 300, .max_per_day = 1000}, 20, UtcDay);
  quotas.SetAccount(kShop, "shop", std::nullopt, std::nullopt, kQuotaT0);
  quotas.SetAccount(kBlog, "blog", 50, std::nullopt, kQuotaT0);
  for (int i = 0; i < 3; ++i) quotas.Count(kShop, kQuotaT0);
  quotas.Count(kBlog, kQuotaT0);

  quotas.SetDefaults({.max_per_hour = 3, .max_per_day = 1000}, kQuotaT0 + 1s);
  EXPECT_EQ(quotas.Check(kShop, kQuotaT0 + 1s).may_send, 0) << "what was counted stays counted";
  EXPECT_TRUE(Skipped(quotas.PlanClaim(kQuotaT0 + 1s), kShop));
  EXPECT_EQ(quotas.Check(kBlog, kQuotaT0 + 1s).may_send, 49) << "its own limit is kept";

  quotas.SetDefaults({.max_per_hour = 300, .max_per_day = 1000}, kQuotaT0 + 2s);
  EXPECT_EQ(quotas.Check(kShop, kQuotaT0 + 2s).may_send, 297);
}

TEST(SendQuotasTest, UnknownAccountsAreUnlimitedUntilKnown) {
  SendQuotas quotas({.max_per_hour = 2, .max_per_day = 0}, 20, UtcDay);
  EXPECT_FALSE(quotas.Knows(kShop));
  EXPECT_EQ(quotas.Check(kShop, kQuotaT0).may_send, QuotaVerdict::kUnlimited);
  quotas.SetAccount(kShop, "shop", std::nullopt, std::nullopt, kQuotaT0);
  EXPECT_TRUE(quotas.Knows(kShop));
  EXPECT_EQ(quotas.Check(kShop, kQuotaT0).may_send, 2);  // the policy's default
}

TEST(SendQuotasTest, UsageSaysWhichLimitHoldsTheMailAndUntilWhen) {
  SendQuotas quotas({.max_per_hour = 0, .max_per_day = 0}, 20, UtcDay);
  EXPECT_FALSE(quotas.UsageOf(kShop, kQuotaT0).has_value());
  quotas.SetAccount(kShop, "shop", 2, 3, kQuotaT0);
  quotas.Count(kShop, kQuotaT0);
  auto usage = quotas.UsageOf(kShop, kQuotaT0);
  ASSERT_TRUE(usage.has_value());
  EXPECT_EQ(usage->limits.max_per_hour, 2);
  EXPECT_EQ(usage->limits.max_per_day, 3);
  EXPECT_EQ(usage->sent_last_hour, 1);
  EXPECT_EQ(usage->reached, "");

  quotas.Count(kShop, kQuotaT0 + 1min);
  usage = quotas.UsageOf(kShop, kQuotaT0 + 2min);
  EXPECT_EQ(usage->reached, "hour");
  EXPECT_EQ(usage->next_send, kQuotaT0 + 60min);

  quotas.Count(kShop, kQuotaT0 + 70min);
  usage = quotas.UsageOf(kShop, kQuotaT0 + 71min);
  EXPECT_EQ(usage->sent_today, 3);
  EXPECT_EQ(usage->reached, "day");
  EXPECT_EQ(usage->next_send, kQuotaT0 + 14h);  // the next day's start

  quotas.SetAccount(1, "_mailwarden", 1, 1, kQuotaT0);
  EXPECT_FALSE(quotas.UsageOf(1, kQuotaT0).has_value());
}

TEST(SendQuotasTest, IdleAccountsAreForgottenAndThoseThatSentAreKept) {
  SendQuotas quotas({.max_per_hour = 300, .max_per_day = 1000}, 20, UtcDay);
  constexpr AccountId kIdle = 1, kSentThisHour = 2, kSentToday = 3, kSmallQuota = 4;
  for (const AccountId id : {kIdle, kSentThisHour, kSentToday}) {
    quotas.SetAccount(id, "site", std::nullopt, std::nullopt, kQuotaT0);
  }
  quotas.SetAccount(kSmallQuota, "small", 5, std::nullopt, kQuotaT0);  // less than a claim
  quotas.Count(kSentToday, kQuotaT0);
  quotas.Count(kSentThisHour, kQuotaT0 + 90min);

  auto forgotten = quotas.ForgetIdle(kQuotaT0 + 100min);
  EXPECT_EQ(forgotten, std::vector<AccountId>{kIdle});
  EXPECT_FALSE(quotas.Knows(kIdle));
  auto known = quotas.Known();
  std::ranges::sort(known);
  EXPECT_EQ(known, (std::vector<AccountId>{kSentThisHour, kSentToday, kSmallQuota}));
  // What was counted stays counted; the small quota still caps the claims.
  EXPECT_EQ(quotas.SentToday(kSentToday, kQuotaT0 + 100min), 1);
  EXPECT_EQ(quotas.Check(kSentThisHour, kQuotaT0 + 100min).may_send, 299);
  EXPECT_EQ(quotas.PlanClaim(kQuotaT0 + 100min).most,
            (std::vector<std::pair<AccountId, int>>{{kSmallQuota, 5}}));

  // The next day, an hour after its last message, the account that sent is idle too.
  forgotten = quotas.ForgetIdle(kQuotaT0 + 24h);
  std::ranges::sort(forgotten);
  EXPECT_EQ(forgotten, (std::vector<AccountId>{kSentThisHour, kSentToday}));
  EXPECT_EQ(quotas.Known(), std::vector<AccountId>{kSmallQuota});
}

}  // namespace
}  // namespace mailwarden
