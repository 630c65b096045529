#include "core/send_limits.h"

#include <gtest/gtest.h>

namespace mailwarden {
namespace {

TEST(SendLimits, AnAccountKeyWinsOverThePlanWhichWinsOverTheServer) {
  SendLimits server;
  server.max_per_day = 1000;
  server.max_per_hour = 300;
  LimitOverrides plan;
  plan.max_per_day = 5000;
  plan.max_per_hour = 500;
  plan.over_limit = OverLimit::kRefuse;
  LimitOverrides account;
  account.max_per_day = 7;
  const ResolvedLimits r = ResolveLimits(server, &plan, account);
  EXPECT_EQ(r.limits.max_per_day, 7);
  EXPECT_EQ(r.count_source[1], LimitSource::kAccount);
  EXPECT_EQ(r.limits.max_per_hour, 500);
  EXPECT_EQ(r.count_source[0], LimitSource::kPlan);
  EXPECT_EQ(r.limits.max_recipients, 0);
  EXPECT_EQ(r.count_source[4], LimitSource::kServer);
  EXPECT_EQ(r.limits.over_limit, OverLimit::kRefuse);
  EXPECT_EQ(r.over_limit_source, LimitSource::kPlan);
  EXPECT_EQ(r.warn_at_source, LimitSource::kServer);

  const ResolvedLimits none = ResolveLimits(server, nullptr, account);
  EXPECT_EQ(none.limits.max_per_hour, 300);
  EXPECT_EQ(none.count_source[0], LimitSource::kServer);
}

TEST(SendLimits, OverridesGoToTextAndBack) {
  LimitOverrides o;
  ASSERT_TRUE(SetLimitOverride(o, "max_recipients", "50"));
  ASSERT_TRUE(SetLimitOverride(o, "over_limit", "refuse"));
  ASSERT_TRUE(SetLimitOverride(o, "warn_at", "0.5"));
  ASSERT_TRUE(SetLimitOverride(o, "suppress_for", "7d"));
  const std::string text = FormatLimitOverrides(o);
  EXPECT_EQ(text, "max_recipients=50 over_limit=refuse warn_at=0.5 suppress_for=7d");
  auto back = ParseLimitOverrides(text);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, o);
  EXPECT_EQ(FormatLimitOverrides({}), "");
}

TEST(SendLimits, SuppressForResolvesAndZeroTurnsItOff) {
  EXPECT_EQ(SendLimits{}.suppress_for, std::chrono::days(30));
  LimitOverrides plan;
  ASSERT_TRUE(SetLimitOverride(plan, "suppress_for", "2d"));
  LimitOverrides account;
  ResolvedLimits r = ResolveLimits(SendLimits{}, &plan, account);
  EXPECT_EQ(r.limits.suppress_for, std::chrono::days(2));
  EXPECT_EQ(r.suppress_for_source, LimitSource::kPlan);
  ASSERT_TRUE(SetLimitOverride(account, "suppress_for", "0"));
  EXPECT_EQ(FormatLimitOverrides(account), "suppress_for=0");
  r = ResolveLimits(SendLimits{}, &plan, account);
  EXPECT_EQ(r.limits.suppress_for.count(), 0);
  EXPECT_EQ(r.suppress_for_source, LimitSource::kAccount);
}

TEST(SendLimits, BadValuesNameTheirKey) {
  struct Case {
    const char* key;
    const char* value;
    const char* says;
  };
  for (const Case& c :
       {Case{"max_recipients", "-1", "max_recipients:"}, Case{"max_per_day", "x", "max_per_day:"},
        Case{"over_limit", "drop", "over_limit:"}, Case{"warn_at", "1.5", "warn_at:"},
        Case{"suppress_for", "30", "suppress_for:"}, Case{"hold", "1h", "hold:"}}) {
    LimitOverrides o;
    auto r = SetLimitOverride(o, c.key, c.value);
    ASSERT_FALSE(r) << c.key;
    EXPECT_TRUE(r.error().message.starts_with(c.says)) << r.error().message;
  }
}

}  // namespace
}  // namespace mailwarden
