// Store conformance: accounts, their uids and settings.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "store/conformance/store_conformance.h"
#include "store/schema.h"
#include "store/store.h"

namespace mailwarden::conformance {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// --- Accounts ---

TEST_P(StoreConformance, UpsertCreatesAnAccountFoundByNameAndUid) {
  AccountSpec spec;
  spec.name = "demo";
  spec.uids = {1000, 1001};
  spec.report_to = "admin@example.com";
  spec.language = "pl";
  spec.max_per_day = 500;
  auto id = store_->UpsertAccount(spec);
  ASSERT_TRUE(id.has_value()) << id.error().message;

  Account a = GetAccount("demo");
  EXPECT_EQ(a.id, *id);
  auto by_id = store_->GetAccount(*id);
  ASSERT_TRUE(by_id.has_value() && by_id->has_value());
  EXPECT_EQ((*by_id)->name, "demo");
  auto missing = store_->GetAccount(*id + 1000);
  ASSERT_TRUE(missing.has_value());
  EXPECT_FALSE(missing->has_value());
  EXPECT_EQ(a.uids, (std::vector<Uid>{1000, 1001}));
  EXPECT_EQ(a.state, AccountState::kActive);
  EXPECT_EQ(a.blocked_by, BlockedBy::kNone);
  EXPECT_EQ(a.report_to, "admin@example.com");
  EXPECT_EQ(a.language, "pl");
  EXPECT_EQ(a.max_per_day, 500);
  EXPECT_EQ(a.max_per_hour, std::nullopt);
  EXPECT_EQ(a.pending, 0);

  auto by_uid = store_->FindAccountByUid(1001);
  ASSERT_TRUE(by_uid.has_value() && by_uid->has_value());
  EXPECT_EQ((*by_uid)->name, "demo");

  auto none = store_->FindAccount("nobody");
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->has_value());
  auto no_uid = store_->FindAccountByUid(4242);
  ASSERT_TRUE(no_uid.has_value());
  EXPECT_FALSE(no_uid->has_value());
}

TEST_P(StoreConformance, UpsertUpdatesSettingsAndKeepsStateAndCounters) {
  const AccountId id = MakeAccount("demo", {1000});
  Insert({Message(id, kT0)});
  SetState(id, AccountState::kActive, AccountState::kBlocked, BlockedBy::kCustomer);

  AccountSpec spec;
  spec.name = "demo";
  spec.uids = {1002};
  spec.report_to = "new@example.com";
  spec.max_per_hour = 10;
  auto again = store_->UpsertAccount(spec);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, id);

  Account a = GetAccount("demo");
  EXPECT_EQ(a.uids, std::vector<Uid>{1002});
  EXPECT_EQ(a.report_to, "new@example.com");
  EXPECT_EQ(a.max_per_hour, 10);
  EXPECT_EQ(a.state, AccountState::kBlocked);
  EXPECT_EQ(a.blocked_by, BlockedBy::kCustomer);
  EXPECT_EQ(a.pending, 1);
  auto old_uid = store_->FindAccountByUid(1000);
  ASSERT_TRUE(old_uid.has_value());
  EXPECT_FALSE(old_uid->has_value()) << "a uid no longer listed belongs to no account";
}

TEST_P(StoreConformance, UpsertMovesAUidFromAnotherAccount) {
  MakeAccount("first", {1000, 1001});
  MakeAccount("second", {1001});
  EXPECT_EQ(GetAccount("first").uids, std::vector<Uid>{1000});
  EXPECT_EQ(GetAccount("second").uids, std::vector<Uid>{1001});
  auto owner = store_->FindAccountByUid(1001);
  ASSERT_TRUE(owner.has_value() && owner->has_value());
  EXPECT_EQ((*owner)->name, "second");
}

TEST_P(StoreConformance, UpsertRefusesAnEmptyName) {
  auto id = store_->UpsertAccount(AccountSpec{});
  ASSERT_FALSE(id.has_value());
  EXPECT_EQ(id.error().code, ErrorCode::kInvalidInput);
}

TEST_P(StoreConformance, ListAccountsGivesEveryAccountWithItsUids) {
  MakeAccount("a", {10, 11});
  MakeAccount("b");
  MakeAccount("c", {12});
  auto list = store_->ListAccounts();
  ASSERT_TRUE(list.has_value());
  std::map<std::string, std::vector<Uid>> got;
  for (const auto& a : *list) got[a.name] = a.uids;
  EXPECT_EQ(got,
            (std::map<std::string, std::vector<Uid>>{{"a", {10, 11}}, {"b", {}}, {"c", {12}}}));
}

TEST_P(StoreConformance, SetAccountStateComparesThenSets) {
  const AccountId id = MakeAccount("demo");
  ASSERT_TRUE(store_
                  ->SetAccountState({.account = id,
                                     .from = AccountState::kActive,
                                     .to = AccountState::kBlocked,
                                     .blocked_by = BlockedBy::kSpamGuard,
                                     .reason = "3001 messages in an hour",
                                     .at = kT0 + seconds(7)})
                  .has_value());
  Account a = GetAccount("demo");
  EXPECT_EQ(a.state, AccountState::kBlocked);
  EXPECT_EQ(a.blocked_by, BlockedBy::kSpamGuard);
  EXPECT_EQ(a.reason, "3001 messages in an hour");
  EXPECT_EQ(a.since, kT0 + seconds(7));

  // Another node already moved it: the stale decision is refused and changes nothing.
  auto stale = store_->SetAccountState({.account = id,
                                        .from = AccountState::kActive,
                                        .to = AccountState::kBlocked,
                                        .blocked_by = BlockedBy::kCustomer,
                                        .reason = "",
                                        .at = kT0});
  ASSERT_FALSE(stale.has_value());
  EXPECT_EQ(stale.error().code, ErrorCode::kConflict);
  EXPECT_EQ(GetAccount("demo").blocked_by, BlockedBy::kSpamGuard);

  auto missing = store_->SetAccountState({.account = id + 100,
                                          .from = AccountState::kActive,
                                          .to = AccountState::kBlocked,
                                          .blocked_by = BlockedBy::kCustomer,
                                          .reason = "",
                                          .at = kT0});
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace mailwarden::conformance
