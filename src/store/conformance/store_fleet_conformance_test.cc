// Store conformance: the fleet summary of the operator's overview (GetFleetSummary) and the
// nodes' rows (RecordNodeSeen).
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "store/conformance/store_conformance.h"
#include "store/store.h"
#include "store/store_common.h"

namespace mailwarden::conformance {
namespace {

using Totals = std::vector<std::pair<std::string, std::int64_t>>;

class Fleet : public StoreConformance {
 protected:
  FleetSummary Summary(FleetQuery q = {}) {
    if (q.busy_from_hour == 0) q.busy_from_hour = UnixHour(kT0);
    if (q.blocks_since == TimePoint{}) q.blocks_since = kT0 - std::chrono::hours(24);
    auto summary = store_->GetFleetSummary(q);
    EXPECT_TRUE(summary.has_value()) << summary.error().message;
    return summary.value_or(FleetSummary{});
  }

  // A block of `account` by `actor` (a guard's name, or "admin"), at `at`.
  void BlockBy(AccountId account, BlockedBy by, std::string actor, TimePoint at) {
    auto r = store_->SetAccountState({.account = account,
                                      .from = AccountState::kActive,
                                      .from_blocked_by = BlockedBy::kNone,
                                      .to = AccountState::kBlocked,
                                      .blocked_by = by,
                                      .reason = actor + " reason",
                                      .at = at,
                                      .actor = std::move(actor),
                                      .action = "BLOCK"});
    ASSERT_TRUE(r.has_value()) << r.error().message;
  }

  void Unblock(AccountId account, BlockedBy was, TimePoint at) {
    auto r = store_->SetAccountState({.account = account,
                                      .from = AccountState::kBlocked,
                                      .from_blocked_by = was,
                                      .to = AccountState::kActive,
                                      .blocked_by = BlockedBy::kNone,
                                      .reason = "",
                                      .at = at,
                                      .actor = "admin",
                                      .action = "UNBLOCK"});
    ASSERT_TRUE(r.has_value()) << r.error().message;
  }

  void Submit(AccountId account, int n, TimePoint at) {
    std::vector<NewMessage> batch;
    for (int i = 0; i < n; ++i) batch.push_back(Message(account, at));
    Insert(batch);
  }
};

TEST_P(Fleet, CountsAccountsPerStateAndBlockerLeavingOutTheSystemsAndDeletedOnes) {
  const AccountId a = MakeAccount("alpha");
  const AccountId b = MakeAccount("bravo");
  MakeAccount("charlie");
  MakeAccount("delta");
  MakeAccount("_mailwarden");
  BlockBy(a, BlockedBy::kSpamGuard, "spam_guard", kT0);
  BlockBy(b, BlockedBy::kCustomer, "customer", kT0);
  ASSERT_TRUE(store_->DeleteAccount("delta", false, "admin", kT0).has_value());

  const FleetSummary s = Summary();
  EXPECT_EQ(s.states, (Totals{{"active", 1}, {"blocked", 2}}));
  EXPECT_EQ(s.blocked_by, (Totals{{"customer", 1}, {"spam_guard", 1}}));
}

TEST_P(Fleet, GuardBlocksOfTheLastDayNewestFirstSayingWhetherTheyStillHold) {
  const AccountId a = MakeAccount("alpha");
  const AccountId b = MakeAccount("bravo");
  const AccountId c = MakeAccount("charlie");
  const AccountId old = MakeAccount("old");
  BlockBy(old, BlockedBy::kSpamGuard, "spam_guard", kT0 - std::chrono::hours(30));
  BlockBy(a, BlockedBy::kSpamGuard, "spam_guard", kT0 - std::chrono::hours(2));
  Unblock(a, BlockedBy::kSpamGuard, kT0 - std::chrono::hours(1));
  BlockBy(b, BlockedBy::kBounceGuard, "bounce_guard", kT0 - std::chrono::minutes(30));
  BlockBy(c, BlockedBy::kAdmin, "admin", kT0 - std::chrono::minutes(10));  // not a guard

  const FleetSummary s = Summary();
  ASSERT_EQ(s.guard_blocks.size(), 2u);
  EXPECT_EQ(s.guard_blocks[0].account, "bravo");
  EXPECT_EQ(s.guard_blocks[0].guard, "bounce_guard");
  EXPECT_EQ(s.guard_blocks[0].reason, "bounce_guard reason");
  EXPECT_EQ(s.guard_blocks[0].at, kT0 - std::chrono::minutes(30));
  EXPECT_TRUE(s.guard_blocks[0].still_blocked);
  EXPECT_EQ(s.guard_blocks[1].account, "alpha");
  EXPECT_FALSE(s.guard_blocks[1].still_blocked);

  FleetQuery one;
  one.blocks_limit = 1;
  EXPECT_EQ(Summary(one).guard_blocks.size(), 1u);
}

TEST_P(Fleet, BusiestAccountsBySubmittedMailSinceTheHourAsked) {
  const AccountId a = MakeAccount("alpha");
  const AccountId b = MakeAccount("bravo");
  const AccountId c = MakeAccount("charlie");
  Submit(a, 2, kT0);
  Submit(b, 5, kT0);
  Submit(c, 9, kT0 - std::chrono::hours(3));  // before the hours asked for

  const FleetSummary s = Summary();
  ASSERT_EQ(s.busiest.size(), 2u);
  EXPECT_EQ(s.busiest[0].account, "bravo");
  EXPECT_EQ(s.busiest[0].submitted, 5);
  EXPECT_EQ(s.busiest[1].account, "alpha");
  EXPECT_EQ(s.busiest[1].submitted, 2);

  FleetQuery earlier;
  earlier.busy_from_hour = UnixHour(kT0) - 3;
  earlier.busiest_limit = 1;
  const FleetSummary wide = Summary(earlier);
  ASSERT_EQ(wide.busiest.size(), 1u);
  EXPECT_EQ(wide.busiest[0].account, "charlie");
}

TEST_P(Fleet, NodesAreRecordedOnceEachWithWhenTheyWereLastSeen) {
  ASSERT_TRUE(
      store_
          ->RecordNodeSeen(
              {.name = "web2.example.net", .version = "1.0", .started_at = kT0, .seen_at = kT0})
          .has_value());
  ASSERT_TRUE(
      store_
          ->RecordNodeSeen(
              {.name = "web1.example.net", .version = "1.0", .started_at = kT0, .seen_at = kT0})
          .has_value());
  const TimePoint later = kT0 + std::chrono::seconds(30);
  ASSERT_TRUE(store_
                  ->RecordNodeSeen({.name = "web2.example.net",
                                    .version = "1.1",
                                    .started_at = kT0 + std::chrono::seconds(5),
                                    .seen_at = later})
                  .has_value());
  const FleetSummary s = Summary();
  ASSERT_EQ(s.nodes.size(), 2u);
  EXPECT_EQ(s.nodes[0].name, "web1.example.net");
  EXPECT_EQ(s.nodes[0].seen_at, kT0);
  EXPECT_EQ(s.nodes[1].name, "web2.example.net");
  EXPECT_EQ(s.nodes[1].version, "1.1");
  EXPECT_EQ(s.nodes[1].started_at, kT0 + std::chrono::seconds(5));
  EXPECT_EQ(s.nodes[1].seen_at, later);
}

INSTANTIATE_TEST_SUITE_P(
    Engines, Fleet,
    ::testing::Values(StoreTarget{"sqlite", [] { return std::make_unique<SqliteTestDatabase>(); }},
                      StoreTarget{"postgresql", [] { return std::make_unique<PgTestDatabase>(); }}),
    [](const ::testing::TestParamInfo<StoreTarget>& info) { return info.param.name; });

}  // namespace
}  // namespace mailwarden::conformance
