// Store conformance: plans and limits of accounts, notices, and the event outbox.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/conformance/store_conformance.h"
#include "store/store.h"

namespace mailwarden::conformance {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

std::vector<std::string> Types(const std::vector<OutboxEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.account_name + " " + e.type);
  return out;
}

TEST_P(StoreConformance, AccountLimitsAreKeptAndReplacedWhole) {
  const AccountId shop = MakeAccount("shop");
  const AccountId blog = MakeAccount("blog");
  auto none = store_->GetAccountLimits(shop);
  ASSERT_TRUE(none.has_value()) << none.error().message;
  EXPECT_EQ(none->plan, "");
  EXPECT_EQ(none->limits, LimitOverrides{});

  AccountLimits set{.account = shop, .plan = "small"};
  set.limits.max_recipients = 20;
  set.limits.over_limit = OverLimit::kRefuse;
  ASSERT_TRUE(store_->SetAccountLimits(set).has_value());
  auto back = store_->GetAccountLimits(shop);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->plan, "small");
  EXPECT_EQ(back->limits, set.limits);

  set.limits = {};
  set.limits.warn_at = 0.5;
  ASSERT_TRUE(store_->SetAccountLimits(set).has_value());
  store_ = OpenOrDie();
  auto all = store_->ListAccountLimits();
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].account, shop);
  EXPECT_EQ((*all)[0].limits.max_recipients, std::nullopt);
  EXPECT_EQ((*all)[0].limits.warn_at, 0.5);
  (void)blog;

  auto missing = store_->SetAccountLimits({.account = 9999, .plan = "x"});
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_P(StoreConformance, StateChangesWriteTheirEventsInTheirTransaction) {
  const AccountId shop = MakeAccount("shop");
  Insert({Message(shop, kT0), Message(shop, kT0)});
  SetState(shop, AccountState::kActive, AccountState::kBlocked, BlockedBy::kSpamGuard);
  StartPurge(shop, kT0 + seconds(1));
  SetState(shop, AccountState::kPurging, AccountState::kActive);
  // A refused change (the state moved on) writes no event.
  auto refused = store_->SetAccountState({.account = shop,
                                          .from = AccountState::kBlocked,
                                          .from_blocked_by = BlockedBy::kCustomer,
                                          .to = AccountState::kActive,
                                          .blocked_by = BlockedBy::kNone,
                                          .reason = "",
                                          .at = kT0});
  EXPECT_FALSE(refused.has_value());

  std::vector<std::string> seen;
  std::string purged_data;
  for (int round = 0; round < 10; ++round) {
    auto events = store_->ClaimEvents("n1", kT0 + minutes(1), kT0 + minutes(2), 10);
    ASSERT_TRUE(events.has_value()) << events.error().message;
    if (events->empty()) break;
    // One account: one event at a time, the oldest first.
    ASSERT_EQ(events->size(), 1u);
    const OutboxEvent& e = (*events)[0];
    seen.push_back(e.type);
    if (e.type == "account.purged") purged_data = e.data;
    ASSERT_TRUE(store_
                    ->RecordEventAttempt({.event = e.id,
                                          .account = e.account,
                                          .node = "n1",
                                          .finished = true,
                                          .tries = {{.url = "http://h/", .status = 200}},
                                          .at = kT0 + minutes(1)})
                    .has_value());
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"account.blocked", "guard.tripped", "account.purged",
                                            "account.unblocked"}));
  EXPECT_NE(purged_data.find("\"purged\":2"), std::string::npos) << purged_data;
  auto attempts = store_->ListEventAttempts(10);
  ASSERT_TRUE(attempts.has_value());
  ASSERT_EQ(attempts->size(), 4u);
  EXPECT_EQ((*attempts)[0].type, "account.unblocked");  // newest first
  EXPECT_EQ((*attempts)[0].account_name, "shop");
  EXPECT_EQ((*attempts)[0].status, 200);
}

TEST_P(StoreConformance, AnAccountsNextEventWaitsForItsOldestAndOthersGoOn) {
  const AccountId a = MakeAccount("a");
  const AccountId b = MakeAccount("b");
  for (const auto& [account, type] : std::vector<std::pair<AccountId, std::string>>{
           {a, "limit.warning"}, {b, "limit.warning"}, {a, "limit.reached"}}) {
    ASSERT_TRUE(
        store_->AddEvent({.type = type, .account = account, .data = "{}", .at = kT0}).has_value());
  }
  auto first = store_->ClaimEvents("n1", kT0, kT0 + minutes(1), 10);
  ASSERT_TRUE(first.has_value()) << first.error().message;
  EXPECT_EQ(Types(*first), (std::vector<std::string>{"a limit.warning", "b limit.warning"}));
  // Leased: another node gets nothing, nor does this one again.
  auto second_store = OpenOrDie();
  EXPECT_TRUE(second_store->ClaimEvents("n2", kT0, kT0 + minutes(1), 10).value().empty());

  // a's fails: it is due again later, with what was sent kept; b's is sent.
  ASSERT_TRUE(store_
                  ->RecordEventAttempt({.event = (*first)[0].id,
                                        .account = a,
                                        .node = "n1",
                                        .finished = false,
                                        .next_attempt = kT0 + seconds(30),
                                        .sent_to = "http://one/",
                                        .tries = {{.url = "http://two/", .reply = "refused"}},
                                        .at = kT0})
                  .has_value());
  ASSERT_TRUE(
      store_
          ->RecordEventAttempt(
              {.event = (*first)[1].id, .account = b, .node = "n1", .finished = true, .at = kT0})
          .has_value());
  EXPECT_TRUE(
      second_store->ClaimEvents("n2", kT0 + seconds(10), kT0 + minutes(1), 10).value().empty());
  auto again = second_store->ClaimEvents("n2", kT0 + seconds(30), kT0 + minutes(1), 10);
  ASSERT_TRUE(again.has_value());
  ASSERT_EQ(Types(*again), std::vector<std::string>{"a limit.warning"});
  EXPECT_EQ((*again)[0].sent_to, "http://one/");
  EXPECT_EQ((*again)[0].attempts, 1);
  // A late answer from n1 (its lease ran out, n2 holds it) changes nothing.
  ASSERT_TRUE(store_
                  ->RecordEventAttempt({.event = (*again)[0].id,
                                        .account = a,
                                        .node = "n1",
                                        .finished = true,
                                        .at = kT0 + seconds(31)})
                  .has_value());
  // A lease that runs out makes the event due again, for any node.
  auto after_lease =
      store_->ClaimEvents("n1", kT0 + seconds(30) + minutes(1), kT0 + minutes(5), 10);
  ASSERT_TRUE(after_lease.has_value());
  EXPECT_EQ(Types(*after_lease), std::vector<std::string>{"a limit.warning"});
}

TEST_P(StoreConformance, ClaimNoticeWritesOncePerAccountDayAndKind) {
  const AccountId shop = MakeAccount("shop");
  const AccountId system = MakeAccount("_mailwarden");
  const int day = LocalDayNumber(kT0);
  const NewEvent event{.type = "limit.warning", .account = shop, .data = "{}", .at = kT0};
  std::optional<NewMessage> notice = Message(system, kT0, {"owner@example.com"}, "notice");
  auto first = store_->ClaimNotice(shop, day, "limit.warning", event, notice);
  ASSERT_TRUE(first.has_value()) << first.error().message;
  EXPECT_TRUE(*first);
  auto second_store = OpenOrDie();
  EXPECT_FALSE(second_store->ClaimNotice(shop, day, "limit.warning", event, notice).value_or(true));
  EXPECT_TRUE(store_->ClaimNotice(shop, day, "limit.reached", event, std::nullopt).value_or(false));
  EXPECT_TRUE(store_->ClaimNotice(shop, day + 1, "limit.warning", event, notice).value_or(false));
  // Two notices stored for the internal account, three events in the outbox.
  auto counters = store_->GetCounters(system, day);
  ASSERT_TRUE(counters.has_value());
  EXPECT_EQ(counters->submitted, 2);
  EXPECT_EQ(store_->ClaimEvents("n1", kT0, kT0 + minutes(1), 10).value().size(), 1u);
}

}  // namespace
}  // namespace mailwarden::conformance
