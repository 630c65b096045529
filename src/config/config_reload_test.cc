#include "config/config_reload.h"

#include <gtest/gtest.h>

namespace mailwarden {
namespace {

Config Parse(std::string_view toml) {
  auto c = ParseConfig(toml, "/etc/mw");
  EXPECT_TRUE(c.has_value()) << c.error().message;
  return c.value_or(Config{});
}

constexpr std::string_view kRunning = R"(
[smtp]
listen = ["127.0.0.1:2587"]
[policy]
max_per_hour = 300
[log]
level = "info"
[daemon]
user = "mailwarden"
[[account]]
name = "demo"
uids = [1000]
)";

TEST(PlanReload, TakesPolicyReportLogAndAccountsFromTheFile) {
  const Config running = Parse(kRunning);
  const Config fresh = Parse(R"(
[smtp]
listen = ["127.0.0.1:2587"]
[policy]
max_per_hour = 2
hold = "1h"
[report]
from = "reports@example.com"
[log]
level = "debug"
[daemon]
user = "mailwarden"
[auto_accounts]
uids = "2000-2999"
[[account]]
name = "demo"
uids = [1000, 1001]
[[account]]
name = "shop"
uids = [1002]
)");
  const ReloadPlan plan = PlanReload(running, fresh);
  EXPECT_TRUE(plan.kept.empty());
  EXPECT_EQ(plan.config.auto_accounts.uid_min, 2000u);
  EXPECT_EQ(plan.config.auto_accounts.uid_max, 2999u);
  EXPECT_EQ(plan.config.policy.max_per_hour, 2);
  EXPECT_EQ(plan.config.policy.hold, std::chrono::hours(1));
  EXPECT_EQ(plan.config.report.from, "reports@example.com");
  EXPECT_EQ(plan.config.log.level, "debug");
  ASSERT_EQ(plan.config.accounts.size(), 2u);
  EXPECT_EQ(plan.config.accounts[1].name, "shop");
}

TEST(PlanReload, KeysBoundAtStartKeepTheirRunningValueAndAreNamed) {
  const Config running = Parse(kRunning);
  const Config fresh = Parse(R"(
[store]
url = "sqlite:/var/lib/other.db"
[submit]
socket = "/run/other.sock"
[smtp]
listen = ["127.0.0.1:2588"]
[http]
listen = "127.0.0.1:9000"
[policy]
max_per_hour = 7
[daemon]
user = "nobody"
)");
  const ReloadPlan plan = PlanReload(running, fresh);
  EXPECT_EQ(plan.kept, (std::vector<std::string>{"store.url", "submit.socket", "smtp.listen",
                                                 "http.listen", "daemon.user"}));
  EXPECT_EQ(plan.config.store.url, running.store.url);
  EXPECT_EQ(plan.config.submit.socket, running.submit.socket);
  EXPECT_EQ(plan.config.smtp.listen, running.smtp.listen);
  EXPECT_EQ(plan.config.http.listen, running.http.listen);
  EXPECT_EQ(plan.config.daemon.user, "mailwarden");
  EXPECT_EQ(plan.config.policy.max_per_hour, 7) << "the rest of the file is still taken";
}

TEST(PlanReload, TheSameFileChangesNothing) {
  const Config running = Parse(kRunning);
  const ReloadPlan plan = PlanReload(running, Parse(kRunning));
  EXPECT_TRUE(plan.kept.empty());
  EXPECT_EQ(plan.config.policy.max_per_hour, running.policy.max_per_hour);
}

}  // namespace
}  // namespace mailwarden
