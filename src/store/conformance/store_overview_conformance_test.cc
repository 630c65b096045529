// Store conformance: the operator's overview of accounts (ListAccountPage), in each order,
// filtered and paged.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/local_day.h"
#include "store/conformance/store_conformance.h"
#include "store/store.h"
#include "store/store_common.h"

namespace mailwarden::conformance {
namespace {

class AccountOverview : public StoreConformance {
 protected:
  // alpha sent 3 today; bravo sent 1 and failed 2; charlie holds 2 (blocked by its customer);
  // delta has 5 queued; echo nothing; foxtrot_1 nothing, and a '_' in its name.
  void Populate() {
    alpha_ = MakeAccount("alpha", {1001});
    bravo_ = MakeAccount("bravo", {1002, 1003});
    charlie_ = MakeAccount("charlie");
    delta_ = MakeAccount("delta");
    MakeAccount("echo");
    MakeAccount("foxtrot_1");
    Deliver(alpha_, 3, RecipientStatus::kSent);
    Deliver(bravo_, 1, RecipientStatus::kSent);
    Deliver(bravo_, 2, RecipientStatus::kFailed);
    SetState(charlie_, AccountState::kActive, AccountState::kBlocked, BlockedBy::kCustomer);
    Insert({Message(charlie_, kT0), Message(charlie_, kT0)});
    std::vector<NewMessage> five;
    for (int i = 0; i < 5; ++i) five.push_back(Message(delta_, kT0));
    Insert(five);
  }

  // n new messages of the account, delivered with `status` (with any other due mail).
  std::vector<MessageId> Deliver(AccountId account, int n, RecipientStatus status) {
    std::vector<NewMessage> batch;
    for (int i = 0; i < n; ++i) batch.push_back(Message(account, kT0));
    auto ids = Insert(batch);
    Record(AllRecipients(Claim(kT0), status,
                         status == RecipientStatus::kSent ? "250 ok" : "550 5.1.1 no"),
           kT0);
    return ids;
  }

  std::vector<AccountPageEntry> Page(AccountPageQuery q) {
    q.day = LocalDayNumber(kT0);
    auto page = store_->ListAccountPage(q);
    EXPECT_TRUE(page.has_value()) << page.error().message;
    return page.value_or(std::vector<AccountPageEntry>{});
  }

  static std::vector<std::string> Names(const std::vector<AccountPageEntry>& page) {
    std::vector<std::string> names;
    for (const auto& e : page) names.push_back(e.account.name);
    return names;
  }

  // Every page of q, `limit` at a time, following the cursor as a client would.
  std::vector<std::string> AllPages(AccountPageQuery q, int limit) {
    q.limit = limit;
    std::vector<std::string> names;
    for (int pages = 0; pages < 20; ++pages) {
      auto page = Page(q);
      for (const auto& e : page) names.push_back(e.account.name);
      if (static_cast<int>(page.size()) < limit) return names;
      const AccountPageEntry& last = page.back();
      AccountPageCursor after;
      after.name = last.account.name;
      after.id = last.account.id;
      after.value = AccountOrderValue(q.order, last);
      q.after = after;
    }
    ADD_FAILURE() << "the pages never end";
    return names;
  }

  AccountId alpha_ = 0, bravo_ = 0, charlie_ = 0, delta_ = 0;
};

using List = std::vector<std::string>;

// A query, written as the tests read: Q(kSentToday).State(kBlocked).
struct Q : AccountPageQuery {
  explicit Q(AccountOrder o = AccountOrder::kName) { order = o; }
  Q& State(AccountState s) {
    state = s;
    return *this;
  }
  Q& By(BlockedBy b) {
    blocked_by = b;
    return *this;
  }
  Q& Contains(std::string part) {
    name_contains = std::move(part);
    return *this;
  }
  Q& Limit(int n) {
    limit = n;
    return *this;
  }
};

TEST_P(AccountOverview, ByNameEveryAccountPageByPage) {
  Populate();
  EXPECT_EQ(AllPages(Q(), 2), (List{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot_1"}));
  EXPECT_EQ(AllPages(Q(), 1000), AllPages(Q(), 1));
  const auto first = Page(Q().Limit(2));
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[1].account.uids, (std::vector<Uid>{1002, 1003}));
  EXPECT_EQ(first[1].sent_today, 1);
  EXPECT_EQ(first[1].errors_today, 2);
}

TEST_P(AccountOverview, ByTodaysCountersAndUnfinishedMailMostFirst) {
  Populate();
  EXPECT_EQ(AllPages(Q(AccountOrder::kSentToday), 1), (List{"alpha", "bravo"}));
  EXPECT_EQ(AllPages(Q(AccountOrder::kErrorsToday), 1), (List{"bravo"}));
  EXPECT_EQ(AllPages(Q(AccountOrder::kPending), 1), (List{"delta", "charlie"}));
  const auto pending = Page(Q(AccountOrder::kPending));
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].queued, 5);
  EXPECT_EQ(pending[0].held, 0);
  EXPECT_EQ(pending[1].held, 2);
  EXPECT_EQ(pending[1].queued, 0);
  // Another day: nobody sent then.
  AccountPageQuery tomorrow = Q(AccountOrder::kSentToday);
  tomorrow.day = LocalDayNumber(kT0 + std::chrono::hours(48));
  auto none = store_->ListAccountPage(tomorrow);
  ASSERT_TRUE(none.has_value()) << none.error().message;
  EXPECT_TRUE(none->empty());
}

TEST_P(AccountOverview, ByComplaintsQuarantinedErrorRateHeldQueuedAndRecentMostFirst) {
  const AccountId alpha = MakeAccount("alpha");
  const AccountId bravo = MakeAccount("bravo");
  const AccountId charlie = MakeAccount("charlie");
  const AccountId delta = MakeAccount("delta");
  MakeAccount("echo");
  // Delivered: alpha 3 sent and 1 failed (a rate of 1/4), bravo 1 sent and 2 failed (2/3),
  // delta 1 sent. Complaints: alpha 2, delta 1.
  const std::vector<MessageId> alphas = Deliver(alpha, 3, RecipientStatus::kSent);
  Deliver(alpha, 1, RecipientStatus::kFailed);
  Deliver(bravo, 1, RecipientStatus::kSent);
  Deliver(bravo, 2, RecipientStatus::kFailed);
  const MessageId deltas = Deliver(delta, 1, RecipientStatus::kSent)[0];
  for (const auto& [account, id] :
       {std::pair{alpha, alphas[0]}, std::pair{alpha, alphas[1]}, std::pair{delta, deltas}}) {
    auto r =
        store_->RecordComplaint({.message = id, .account = account, .feedback_type = "abuse"}, kT0);
    ASSERT_TRUE(r.has_value() && r->found) << (r ? "not found" : r.error().message);
  }
  // Quarantined by the scanner: bravo 1 (unfinished: counted queued, as in the status).
  NewMessage scanned = Message(bravo, kT0);
  scanned.scan = true;
  const auto quarantined = Insert({scanned});
  auto verdict = store_->RecordVerdict(
      {.account = bravo,
       .id = quarantined[0],
       .quarantine = true,
       .suspicious = false,
       .result = ScanResult{.action = "reject", .score = 15.0, .symbols = {"PHISH"}}},
      kT0);
  ASSERT_TRUE(verdict.has_value() && *verdict);
  // Unfinished: delta 5 queued; charlie (blocked) 2 held, of which 1 released: queued.
  std::vector<NewMessage> five;
  for (int i = 0; i < 5; ++i) five.push_back(Message(delta, kT0));
  Insert(five);
  SetState(charlie, AccountState::kActive, AccountState::kBlocked, BlockedBy::kCustomer);
  const auto held_ids = Insert({Message(charlie, kT0), Message(charlie, kT0)});
  auto released = store_->ReleaseHeld(charlie, {.ids = {held_ids[0]}}, kT0);
  ASSERT_TRUE(released.has_value() && *released == 1);

  EXPECT_EQ(AllPages(Q(AccountOrder::kComplaintsToday), 1), (List{"alpha", "delta"}));
  EXPECT_EQ(AllPages(Q(AccountOrder::kQuarantinedToday), 1), (List{"bravo"}));
  EXPECT_EQ(AllPages(Q(AccountOrder::kErrorRate), 1), (List{"bravo", "alpha"}));
  // Ties by the newest account first, as in every order.
  EXPECT_EQ(AllPages(Q(AccountOrder::kQueued), 1), (List{"delta", "charlie", "bravo"}));
  EXPECT_EQ(AllPages(Q(AccountOrder::kHeld), 1), (List{"charlie"}));
  const auto held = Page(Q(AccountOrder::kHeld));
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].held, 1);
  EXPECT_EQ(held[0].queued, 1);
  EXPECT_EQ(ErrorRatePpm(1, 2), 666'666);
  EXPECT_EQ(AccountOrderValue(AccountOrder::kErrorRate, Page(Q(AccountOrder::kErrorRate))[0]),
            666'666);

  // Submitted since the hour asked, most first: delta 6, bravo 4, alpha 4, charlie 2.
  AccountPageQuery recent = Q(AccountOrder::kSubmittedRecently);
  recent.recent_from_hour = UnixHour(kT0);
  EXPECT_EQ(AllPages(recent, 1), (List{"delta", "bravo", "alpha", "charlie"}));
  const auto first = Page(recent);
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(first[0].submitted_recently, 6);
  recent.recent_from_hour = UnixHour(kT0) + 1;  // nothing since
  EXPECT_TRUE(Page(recent).empty());
  // Filters apply as in every order.
  EXPECT_EQ(AllPages(Q(AccountOrder::kErrorRate).Contains("alp"), 1), List{"alpha"});
  EXPECT_EQ(AllPages(Q(AccountOrder::kQueued).State(AccountState::kBlocked), 1), List{"charlie"});
}

TEST_P(AccountOverview, FiltersByStateBlockerAndPartOfTheName) {
  Populate();
  EXPECT_EQ(Names(Page(Q().State(AccountState::kBlocked))), List{"charlie"});
  EXPECT_EQ(Names(Page(Q().By(BlockedBy::kCustomer))), List{"charlie"});
  EXPECT_TRUE(Page(Q().By(BlockedBy::kSpamGuard)).empty());
  EXPECT_EQ(Names(Page(Q().Contains("ra"))), (List{"bravo"}));
  EXPECT_EQ(Names(Page(Q().Contains("a"))), (List{"alpha", "bravo", "charlie", "delta"}));
  // '_' is the name's own character, not a wildcard.
  EXPECT_EQ(Names(Page(Q().Contains("_"))), List{"foxtrot_1"});
  EXPECT_EQ(Names(Page(Q(AccountOrder::kSentToday).Contains("rav"))), List{"bravo"});
  EXPECT_EQ(Names(Page(Q(AccountOrder::kPending).State(AccountState::kActive))), List{"delta"});
}

TEST_P(AccountOverview, EachEntryCountsItsMailSubmittedSinceTheHourAsked) {
  Populate();
  AccountPageQuery q = Q(AccountOrder::kPending);
  q.recent_from_hour = UnixHour(kT0);
  const auto page = Page(q);
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].account.name, "delta");
  EXPECT_EQ(page[0].submitted_recently, 5);
  EXPECT_EQ(page[1].submitted_recently, 2);
  EXPECT_EQ(page[0].complaints_today, 0);
  q.recent_from_hour = UnixHour(kT0) + 1;  // nothing since
  EXPECT_EQ(Page(q)[0].submitted_recently, 0);
  EXPECT_EQ(Page(Q(AccountOrder::kPending))[0].submitted_recently, 0) << "not asked for";
}

TEST_P(AccountOverview, DeletedAccountsAreNotListed) {
  Populate();
  auto deleted = store_->DeleteAccount("echo", false, "admin", kT0);
  ASSERT_TRUE(deleted.has_value()) << deleted.error().message;
  EXPECT_EQ(AllPages(Q(), 100), (List{"alpha", "bravo", "charlie", "delta", "foxtrot_1"}));
}

INSTANTIATE_TEST_SUITE_P(
    Engines, AccountOverview,
    ::testing::Values(StoreTarget{"sqlite", [] { return std::make_unique<SqliteTestDatabase>(); }},
                      StoreTarget{"postgresql", [] { return std::make_unique<PgTestDatabase>(); }}),
    [](const ::testing::TestParamInfo<StoreTarget>& info) { return info.param.name; });

}  // namespace
}  // namespace mailwarden::conformance
