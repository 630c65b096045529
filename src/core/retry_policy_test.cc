#include "core/retry_policy.h"

#include <gtest/gtest.h>

#include "core/smtp_reply_class.h"

namespace mailwarden {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(ClassifyReply, MapsCodesToOutcomes) {
  struct Case {
    int code;
    ReplyClass expected;
  };
  const Case cases[] = {
      {250, ReplyClass::kAccepted},  {251, ReplyClass::kAccepted},  {200, ReplyClass::kAccepted},
      {421, ReplyClass::kTemporary}, {450, ReplyClass::kTemporary}, {452, ReplyClass::kTemporary},
      {550, ReplyClass::kPermanent}, {554, ReplyClass::kPermanent}, {552, ReplyClass::kPermanent},
      {0, ReplyClass::kTemporary},   {354, ReplyClass::kTemporary}, {199, ReplyClass::kTemporary},
      {600, ReplyClass::kTemporary},
  };
  for (const auto& c : cases) EXPECT_EQ(ClassifyReply(c.code), c.expected) << c.code;
}

TEST(NextAttempt, DoublesUpToTheCap) {
  RetryPolicy p{seconds(60), minutes(10), hours(120)};
  const TimePoint t0 = FromUnixMillis(1'700'000'000'000);
  struct Case {
    int attempts;
    Duration delay;
  };
  const Case cases[] = {{1, seconds(60)},  {2, seconds(120)}, {3, seconds(240)},
                        {4, seconds(480)}, {5, minutes(10)},  {40, minutes(10)}};
  for (const auto& c : cases) {
    auto next = NextAttempt(p, t0, c.attempts, t0);
    ASSERT_TRUE(next.has_value());
    EXPECT_EQ(*next - t0, c.delay) << c.attempts;
  }
}

TEST(NextAttempt, GivesUpAfterMaxLifetime) {
  RetryPolicy p{seconds(60), hours(1), hours(2)};
  const TimePoint t0 = FromUnixMillis(1'700'000'000'000);
  EXPECT_FALSE(NextAttempt(p, t0, 3, t0 + hours(2)).has_value());
  EXPECT_FALSE(NextAttempt(p, t0, 3, t0 + hours(3)).has_value());
  // Close to the deadline the last try is at the deadline itself.
  auto last = NextAttempt(p, t0, 10, t0 + hours(2) - seconds(30));
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(*last, t0 + hours(2));
}

}  // namespace
}  // namespace mailwarden
