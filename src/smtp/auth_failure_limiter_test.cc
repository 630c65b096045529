#include "smtp/auth_failure_limiter.h"

#include <gtest/gtest.h>

#include <string>

namespace mailwarden {
namespace {

TEST(AuthFailureLimiterTest, CountsFailuresInASlidingMinute) {
  AuthFailureLimiter limiter(3, std::chrono::seconds(60));
  const auto t0 = std::chrono::steady_clock::time_point() + std::chrono::hours(1);
  EXPECT_TRUE(limiter.Allowed("a", t0));
  limiter.RecordFailure("a", t0);
  limiter.RecordFailure("a", t0 + std::chrono::seconds(10));
  EXPECT_TRUE(limiter.Allowed("a", t0 + std::chrono::seconds(20)));
  limiter.RecordFailure("a", t0 + std::chrono::seconds(20));
  EXPECT_FALSE(limiter.Allowed("a", t0 + std::chrono::seconds(30)));
  EXPECT_TRUE(limiter.Allowed("b", t0 + std::chrono::seconds(30)));
  // The first failure leaves the window: one more try.
  EXPECT_TRUE(limiter.Allowed("a", t0 + std::chrono::seconds(60)));
  EXPECT_EQ(limiter.tracked_keys(), 1u);
  EXPECT_TRUE(limiter.Allowed("a", t0 + std::chrono::seconds(81)));
  EXPECT_EQ(limiter.tracked_keys(), 0u);
}

TEST(AuthFailureLimiterTest, MemoryIsBounded) {
  AuthFailureLimiter limiter(2, std::chrono::seconds(60), /*max_keys=*/100);
  const auto t0 = std::chrono::steady_clock::time_point() + std::chrono::hours(1);
  for (int i = 0; i < 1000; ++i) {
    limiter.RecordFailure("key" + std::to_string(i), t0 + std::chrono::milliseconds(i));
  }
  EXPECT_LE(limiter.tracked_keys(), 100u);
  EXPECT_TRUE(limiter.Allowed("key0", t0 + std::chrono::seconds(1)));
  limiter.RecordFailure("key999", t0 + std::chrono::seconds(1));
  EXPECT_FALSE(limiter.Allowed("key999", t0 + std::chrono::seconds(1)));
}

}  // namespace
}  // namespace mailwarden
