#include "delivery/account_guard.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <vector>

#include "testing/temp_dir.h"

namespace mailwarden {
namespace {

using namespace std::chrono_literals;

const TimePoint kT0 = TimePoint(std::chrono::sys_days(std::chrono::year(2030) / 11 / 26)) +
                      10h;  // after the accounts are made

Config::Policy Policy() {
  Config::Policy p;
  p.spam_per_hour = 5;
  p.bounce_rate = 0.5;
  p.bounce_min = 4;
  return p;
}

TEST(GuardTrippedTest, SpamGuardTripsAboveTheHourlyLimitOnly) {
  GuardCounts counts;
  for (int i = 0; i < 5; ++i) counts.Submitted(kT0);
  EXPECT_FALSE(GuardTripped(counts, Policy(), false, kT0));
  counts.Submitted(kT0 + 1min);
  EXPECT_EQ(GuardTripped(counts, Policy(), false, kT0 + 1min), Actor::kSpamGuard);
  // An hour later the first five have left the window.
  EXPECT_FALSE(GuardTripped(counts, Policy(), false, kT0 + 60min));
  EXPECT_EQ(GuardReason(Actor::kSpamGuard, counts, Policy(), false, kT0 + 1min),
            "spam_guard: 6 messages submitted in the last hour, more than 5");
}

TEST(GuardTrippedTest, ContentGuardTripsAtTheQuarantinedLimitAndSaysContent) {
  Config::Policy policy = Policy();
  policy.quarantine_per_hour = 3;
  GuardCounts counts;
  counts.Quarantined(kT0);
  counts.Quarantined(kT0);
  EXPECT_FALSE(GuardTripped(counts, policy, false, kT0));
  counts.Quarantined(kT0 + 1min);
  EXPECT_EQ(GuardTripped(counts, policy, false, kT0 + 1min), Actor::kSpamGuard);
  EXPECT_EQ(GuardReason(Actor::kSpamGuard, counts, policy, false, kT0 + 1min),
            "spam_guard: content: 3 messages quarantined by the content scanner in the last "
            "hour, the limit is 3");
  EXPECT_FALSE(GuardTripped(counts, policy, false, kT0 + 60min));
  policy.quarantine_per_hour = 0;  // off
  EXPECT_FALSE(GuardTripped(counts, policy, false, kT0 + 1min));
}

TEST(GuardTrippedTest, BounceGuardNeedsEnoughAttemptsAndARateAboveTheLimit) {
  struct Case {
    int attempted, failed;
    bool doubled, trips;
  } cases[] = {
      {3, 3, false, false},   // below bounce_min: no fair sample yet
      {4, 2, false, false},   // exactly the rate does not pass it
      {4, 3, false, true},    //
      {10, 10, true, false},  // doubled tolerance: a rate of 0.5 becomes 1.0
  };
  for (const Case& c : cases) {
    GuardCounts counts;
    for (int i = 0; i < c.attempted; ++i) counts.Delivered(kT0, 1, i < c.failed ? 1 : 0);
    const auto tripped = GuardTripped(counts, Policy(), c.doubled, kT0);
    EXPECT_EQ(tripped.has_value(), c.trips) << c.attempted << "/" << c.failed;
    if (c.trips) {
      EXPECT_EQ(*tripped, Actor::kBounceGuard);
    }
  }
  GuardCounts counts;
  counts.Delivered(kT0, 4, 3);
  EXPECT_EQ(GuardReason(Actor::kBounceGuard, counts, Policy(), false, kT0),
            "bounce_guard: 3 of 4 deliveries in the last hour failed (75%), more than 50%");
  EXPECT_FALSE(GuardTripped(counts, Policy(), false, kT0 + 61min));
}

TEST(GuardNoticeTest, SaysWhatHappenedAndHowToLiftItInTheAccountsLanguage) {
  Account account;
  account.name = "shop";
  account.report_to = "owner@example.com";
  auto en = ComposeGuardNotice(Actor::kSpamGuard, account, "spam_guard: 6 messages", Policy(), kT0);
  EXPECT_EQ(en.to, "owner@example.com");
  EXPECT_NE(en.subject.find("shop"), std::string::npos);
  EXPECT_NE(en.text.find("Reason: spam_guard: 6 messages"), std::string::npos);
  EXPECT_NE(en.text.find("PURGE"), std::string::npos);
  EXPECT_NE(en.text.find("2030-11-26 10:00 UTC"), std::string::npos);
  auto bounce = ComposeGuardNotice(Actor::kBounceGuard, account, "bounce_guard: x", Policy(), kT0);
  EXPECT_NE(bounce.text.find("UNBLOCK"), std::string::npos);
  EXPECT_NE(bounce.text.find("24 hours"), std::string::npos);
  account.language = "pl";
  auto pl = ComposeGuardNotice(Actor::kBounceGuard, account, "bounce_guard: x", Policy(), kT0);
  EXPECT_NE(pl.subject.find("zablokowana"), std::string::npos);
  EXPECT_NE(pl.text.find("Powód: bounce_guard: x"), std::string::npos);
  EXPECT_NE(pl.text.find("24 godziny"), std::string::npos);
}

TEST(GuardNoticeTest, TheComplaintGuardsNoticeSaysWhatComplaintsAreAndThatUnblockLiftsIt) {
  Account account;
  account.name = "shop";
  account.report_to = "owner@example.com";
  const std::string reason = "complaint_guard: 4 spam complaints";
  auto en = ComposeGuardNotice(Actor::kComplaintGuard, account, reason, Policy(), kT0);
  EXPECT_NE(en.subject.find("spam complaints"), std::string::npos) << en.subject;
  EXPECT_NE(en.text.find("Reason: " + reason), std::string::npos);
  EXPECT_NE(en.text.find("marked them as spam"), std::string::npos);
  EXPECT_NE(en.text.find("UNBLOCK"), std::string::npos);
  EXPECT_NE(en.text.find("twice as many complaints"), std::string::npos);
  account.language = "pl";
  auto pl = ComposeGuardNotice(Actor::kComplaintGuard, account, reason, Policy(), kT0);
  EXPECT_NE(pl.subject.find("zgłoszenia spamu"), std::string::npos) << pl.subject;
  EXPECT_NE(pl.text.find("Powód: " + reason), std::string::npos);
  EXPECT_NE(pl.text.find("oznaczali je jako spam"), std::string::npos);
  EXPECT_NE(pl.text.find("dwa razy więcej zgłoszeń"), std::string::npos);
}

class ManualClock final : public Clock {
 public:
  TimePoint Now() const override { return now; }
  TimePoint now = kT0;
};

// The guard against a real SqliteStore: it blocks, audits, notifies, and restarts counting.
class AccountGuardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenStore("sqlite:" + (dir_.path() / "store.db").string());
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::make_unique<StoreRunner>(std::move(*store));
    config_.policy = Policy();
    shop_ = Upsert({"shop", {1000}, "owner@example.com", "pl", std::nullopt, std::nullopt});
    system_ = Upsert({"_mailwarden", {}, "", "en", std::nullopt, std::nullopt});
    guard_ = std::make_unique<AccountGuard>(io_.get_executor(), config_, *store_, clock_,
                                            [this](GuardNotice n) { notices_.push_back(n); });
  }
  void TearDown() override {
    guard_.reset();
    store_.reset();
  }
  AccountId Upsert(const AccountSpec& spec) {
    auto id = store_->RunSync<AccountId>([&](Store& s) { return s.UpsertAccount(spec); });
    EXPECT_TRUE(id);
    return *id;
  }
  Account Get(AccountId id) {
    auto a = store_->RunSync<std::optional<Account>>([&](Store& s) { return s.GetAccount(id); });
    EXPECT_TRUE(a && *a);
    return **a;
  }
  // Runs the guard's checks, and the blocks they make, to their end: the loop's work is only
  // theirs (each waits on the store thread, which keeps the loop from running out of work).
  void Settle() {
    io_.restart();
    io_.run();
  }
  void SetState(AccountId id, AccountState from, AccountState to, BlockedBy by) {
    AccountStateChange change;
    change.account = id;
    change.from = from;
    change.from_blocked_by = Get(id).blocked_by;
    change.to = to;
    change.blocked_by = by;
    change.at = clock_.now;
    change.actor = "admin";
    change.action = to == AccountState::kActive ? "UNBLOCK" : "BLOCK";
    auto r = store_->RunSync<void>([&](Store& s) { return s.SetAccountState(change); });
    ASSERT_TRUE(r) << r.error().message;
  }

  testing::TempDir dir_{"mw_guard_test"};
  boost::asio::io_context io_;
  ManualClock clock_;
  Config config_;
  std::unique_ptr<StoreRunner> store_;
  std::unique_ptr<AccountGuard> guard_;
  std::vector<GuardNotice> notices_;
  AccountId shop_ = 0;
  AccountId system_ = 0;
};

TEST_F(AccountGuardTest, FloodBlocksOnceWithAuditAndNotice) {
  clock_.now = kT0 + 1min;
  for (int i = 0; i < 5; ++i) guard_->OnSubmitted(shop_);
  Settle();
  EXPECT_EQ(Get(shop_).state, AccountState::kActive);
  guard_->OnSubmitted(shop_);
  Settle();
  for (int i = 0; i < 9; ++i) guard_->OnSubmitted(shop_);
  Settle();
  const Account a = Get(shop_);
  EXPECT_EQ(a.state, AccountState::kBlocked);
  EXPECT_EQ(a.blocked_by, BlockedBy::kSpamGuard);
  EXPECT_EQ(a.reason, "spam_guard: 6 messages submitted in the last hour, more than 5");
  EXPECT_EQ(guard_->blocks(), 1);
  ASSERT_EQ(notices_.size(), 1u);
  EXPECT_EQ(notices_[0].to, "owner@example.com");
  EXPECT_NE(notices_[0].text.find("Powód: spam_guard: 6"), std::string::npos);  // Polish
  auto audit = store_->RunSync<std::vector<AuditRecord>>(
      [&](Store& s) { return s.ListAudit(shop_, 10, 0); });
  ASSERT_TRUE(audit);
  ASSERT_EQ(audit->size(), 1u);
  EXPECT_EQ((*audit)[0].actor, "spam_guard");
  EXPECT_EQ((*audit)[0].action, "BLOCK");
}

TEST_F(AccountGuardTest, CountingRestartsAfterALift) {
  clock_.now = kT0 + 1min;
  for (int i = 0; i < 6; ++i) guard_->OnSubmitted(shop_);
  Settle();
  ASSERT_EQ(Get(shop_).state, AccountState::kBlocked);
  // Held mail keeps coming while blocked: no second block, no second notice.
  for (int i = 0; i < 20; ++i) guard_->OnSubmitted(shop_);
  Settle();
  EXPECT_EQ(notices_.size(), 1u);
  // Lifted (an admin's unblock); the flood's counts must not block it again at once.
  clock_.now = kT0 + 2min;
  SetState(shop_, AccountState::kBlocked, AccountState::kActive, BlockedBy::kNone);
  clock_.now = kT0 + 3min;
  for (int i = 0; i < 6; ++i) guard_->OnSubmitted(shop_);
  Settle();
  EXPECT_EQ(Get(shop_).state, AccountState::kActive);
  // A new flood after the lift does.
  for (int i = 0; i < 6; ++i) guard_->OnSubmitted(shop_);
  Settle();
  EXPECT_EQ(Get(shop_).blocked_by, BlockedBy::kSpamGuard);
  EXPECT_EQ(notices_.size(), 2u);
}

TEST_F(AccountGuardTest, BounceGuardBlocksOnFailuresAndNeverTheInternalAccount) {
  clock_.now = kT0 + 1min;
  for (int i = 0; i < 10; ++i) guard_->OnOutcome(system_, 1, 1);
  for (int i = 0; i < 100; ++i) guard_->OnSubmitted(system_);
  guard_->OnOutcome(shop_, 2, 2);
  guard_->OnOutcome(shop_, 2, 1);
  Settle();
  EXPECT_EQ(Get(system_).state, AccountState::kActive);
  const Account a = Get(shop_);
  EXPECT_EQ(a.blocked_by, BlockedBy::kBounceGuard);
  EXPECT_EQ(a.reason,
            "bounce_guard: 3 of 4 deliveries in the last hour failed (75%), more than 50%");
  ASSERT_EQ(notices_.size(), 1u);
  EXPECT_NE(notices_[0].text.find("24 godziny"), std::string::npos);
}

TEST_F(AccountGuardTest, AnAccountBlockedByItsOwnerIsLeftAlone) {
  SetState(shop_, AccountState::kActive, AccountState::kBlocked, BlockedBy::kCustomer);
  clock_.now = kT0 + 1min;
  for (int i = 0; i < 20; ++i) guard_->OnSubmitted(shop_);
  Settle();
  EXPECT_EQ(Get(shop_).blocked_by, BlockedBy::kCustomer);
  EXPECT_TRUE(notices_.empty());
}

}  // namespace
}  // namespace mailwarden
