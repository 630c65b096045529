#include "core/limit_windows.h"

#include <gtest/gtest.h>

namespace mailwarden {
namespace {

const TimePoint kT0 = TimePoint{} + std::chrono::hours(24 * 20000);

TEST(FinerWindows, ASendersLimitHoldsOnlyThatSender) {
  SendLimits limits;
  limits.max_per_sender_per_hour = 2;
  FinerWindows w;
  w.Count({.sender = "News@Shop.example"}, kT0);
  w.Count({.sender = "news@shop.example"}, kT0);
  auto hit = w.Check(limits, {.sender = "NEWS@shop.example"}, kT0);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->key, "max_per_sender_per_hour");
  EXPECT_GT(hit->free_at, kT0);
  EXPECT_LE(hit->free_at, kT0 + std::chrono::hours(1));
  EXPECT_FALSE(w.Check(limits, {.sender = "orders@shop.example"}, kT0));
  EXPECT_FALSE(w.Check(limits, {.sender = "news@shop.example"}, kT0 + std::chrono::hours(1)));
}

TEST(FinerWindows, AScriptsLimitHoldsOnlyThatScript) {
  SendLimits limits;
  limits.max_per_script_per_hour = 1;
  FinerWindows w;
  w.Count({.sender = "a@x", .script = "1000:/www/contact.php"}, kT0);
  auto hit = w.Check(limits, {.sender = "b@x", .script = "1000:/www/contact.php"}, kT0);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->key, "max_per_script_per_hour");
  EXPECT_FALSE(w.Check(limits, {.sender = "a@x", .script = "1000:/www/shop.php"}, kT0));
  EXPECT_FALSE(w.Check(limits, {.sender = "a@x"}, kT0));
}

// One envelope sender, many From addresses (a form script sending "as" its visitors): the
// From limit holds only the From it counts.
TEST(FinerWindows, AFromsLimitHoldsOnlyThatFromAddress) {
  SendLimits limits;
  limits.max_per_from_per_hour = 2;
  FinerWindows w;
  w.Count({.sender = "www@host", .from = "Alerts@Shop.example"}, kT0);
  w.Count({.sender = "www@host", .from = "alerts@shop.example"}, kT0);
  auto hit = w.Check(limits, {.sender = "www@host", .from = "ALERTS@shop.example"}, kT0);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->key, "max_per_from_per_hour");
  EXPECT_EQ(hit->limit, 2);
  EXPECT_LE(hit->free_at, kT0 + std::chrono::hours(1));
  EXPECT_FALSE(w.Check(limits, {.sender = "www@host", .from = "orders@shop.example"}, kT0));
  EXPECT_FALSE(w.Check(limits, {.sender = "www@host"}, kT0)) << "no From address: not counted";
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
