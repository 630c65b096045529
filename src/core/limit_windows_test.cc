#include "core/limit_windows.h"

#include <gtest/gtest.h>

namespace mailwarden {
namespace {

const TimePoint kT0 = TimePoint{} + std::chrono::hours(24 * 20000);

TEST(FinerWindows, ASendersLimitHoldsOnlyThatSender) {
  SendLimits limits;
  limits.max_per_sender_per_hour = 2;
  FinerWindows w;
  w.Count("News@Shop.example", "", kT0);
  w.Count("news@shop.example", "", kT0);
  auto hit = w.Check(limits, "NEWS@shop.example", "", kT0);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->key, "max_per_sender_per_hour");
  EXPECT_GT(hit->free_at, kT0);
  EXPECT_LE(hit->free_at, kT0 + std::chrono::hours(1));
  EXPECT_FALSE(w.Check(limits, "orders@shop.example", "", kT0));
  EXPECT_FALSE(w.Check(limits, "news@shop.example", "", kT0 + std::chrono::hours(1)));
}

TEST(FinerWindows, AScriptsLimitHoldsOnlyThatScript) {
  SendLimits limits;
  limits.max_per_script_per_hour = 1;
  FinerWindows w;
  w.Count("a@x", "1000:/www/contact.php", kT0);
  auto hit = w.Check(limits, "b@x", "1000:/www/contact.php", kT0);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->key, "max_per_script_per_hour");
  EXPECT_FALSE(w.Check(limits, "a@x", "1000:/www/shop.php", kT0));
  EXPECT_FALSE(w.Check(limits, "a@x", "", kT0));
}

TEST(KeyedHourCounts, ManyKeysShareOneCountPastTheBound) {
  KeyedHourCounts c(2);
  c.Add("a", kT0);
  c.Add("b", kT0);
  c.Add("c", kT0);
  c.Add("d", kT0);
  EXPECT_EQ(c.keys(), 3u);  // a, b and the shared one
  EXPECT_EQ(c.Count("c", kT0), 2);
  // An hour later the old keys are empty and make room.
  c.Add("e", kT0 + std::chrono::hours(2));
  EXPECT_EQ(c.Count("e", kT0 + std::chrono::hours(2)), 1);
}

TEST(UniqueRecipients, CountsDifferentAddressesOfTheHourUpToTheLimitPlusOne) {
  UniqueRecipients u;
  const std::vector<std::string> batch = {"a@x", "A@X", "b@x"};
  EXPECT_EQ(u.Add(batch, 3, kT0), 2);
  const std::vector<std::string> more = {"c@x", "d@x", "e@x", "f@x"};
  EXPECT_EQ(u.Add(more, 3, kT0), 4);                           // past the limit: stops at limit + 1
  EXPECT_EQ(u.Add(batch, 3, kT0 + std::chrono::hours(1)), 2);  // a new hour
  EXPECT_EQ(u.Add(batch, 0, kT0), 0);
}

}  // namespace
}  // namespace mailwarden
