// Store conformance: the configuration file's accounts at start and reload
// (ApplyConfigAccounts, ConfigAccountsToWrite): only what the store does not have as the file
// writes it is written, with the file's rules unchanged.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/config_accounts.h"
#include "store/conformance/store_conformance.h"
#include "store/store.h"

namespace mailwarden::conformance {
namespace {

using std::chrono::minutes;

AccountSpec FileAccount(std::string name, std::vector<Uid> uids, std::string report_to = "") {
  AccountSpec spec;
  spec.name = std::move(name);
  spec.uids = std::move(uids);
  spec.report_to = std::move(report_to);
  return spec;
}

std::int64_t AuditCount(Store& store) {
  auto audit = store.ListAudit(std::nullopt, 1000, 0);
  EXPECT_TRUE(audit.has_value()) << audit.error().message;
  return audit ? static_cast<std::int64_t>(audit->size()) : -1;
}

TEST_P(StoreConformance, ConfigAccountsToWriteListsOnlyWhatTheStoreHasOtherwise) {
  ASSERT_TRUE(store_->PutPlan({.name = "small"}, "config", kT0).has_value());
  ASSERT_TRUE(store_->PutPlan({.name = "big"}, "config", kT0).has_value());
  std::vector<AccountSpec> file = {
      FileAccount("same", {1001, 1002}, "a@example.com"),
      FileAccount("report", {2001}, "b@example.com"),
      FileAccount("quota", {3001}),
      FileAccount("planned", {4001}),
      FileAccount("domains", {5001}),
      FileAccount("language", {6001}),
  };
  file[2].max_per_hour = 10;
  file[3].plan = "small";
  file[4].domains = {"shop.example"};
  ASSERT_TRUE(ApplyConfigAccounts(*store_, file, kT0).has_value());
  auto none = ConfigAccountsToWrite(*store_, file);
  ASSERT_TRUE(none.has_value()) << none.error().message;
  EXPECT_TRUE(none->empty());

  std::vector<AccountSpec> next = file;
  next[0].uids = {1002, 1001, 1002};  // the same uids, in another order and repeated
  next[1].report_to = "other@example.com";
  next[2].max_per_hour = std::nullopt;
  next[3].plan = "big";
  next[4].domains = {"shop.example", "blog.example"};
  next[5].language = "pl";
  next.push_back(FileAccount("new", {7001}));
  auto changed = ConfigAccountsToWrite(*store_, next);
  ASSERT_TRUE(changed.has_value()) << changed.error().message;
  EXPECT_EQ(*changed, (std::vector<std::size_t>{1, 2, 3, 4, 5, 6}));

  // A plan the file does not name is left as it is (the API's), and is no change.
  next = file;
  next[3].plan = std::nullopt;
  changed = ConfigAccountsToWrite(*store_, next);
  ASSERT_TRUE(changed.has_value());
  EXPECT_TRUE(changed->empty());
  // A domain the store lists beside the file's is no change (the file removes none).
  ASSERT_TRUE(store_->AddDomain(GetAccount("domains").id, "more.example", kT0).has_value());
  changed = ConfigAccountsToWrite(*store_, file);
  ASSERT_TRUE(changed.has_value());
  EXPECT_TRUE(changed->empty());
}

TEST_P(StoreConformance, AnUnchangedFileWritesNothingAndAChangedOneWritesItsChanges) {
  const std::vector<AccountSpec> file = {FileAccount("alice", {1001, 1002}),
                                         FileAccount("bob", {2001}, "bob@example.com")};
  ASSERT_TRUE(ApplyConfigAccounts(*store_, file, kT0).has_value());
  const std::int64_t created = AuditCount(*store_);
  EXPECT_EQ(created, 2);
  ASSERT_TRUE(ApplyConfigAccounts(*store_, file, kT0 + minutes(1)).has_value());
  EXPECT_EQ(AuditCount(*store_), created);

  // An account the API changed is the file's again; one the API deleted is made again.
  ASSERT_TRUE(store_
                  ->PutAccounts(std::vector{FileAccount("bob", {2001}, "api@example.com")},
                                AccountPutMode::kUpdate, "admin", kT0 + minutes(2))
                  .has_value());
  ASSERT_TRUE(store_->DeleteAccount("alice", false, "admin", kT0 + minutes(2)).has_value());
  ASSERT_TRUE(ApplyConfigAccounts(*store_, file, kT0 + minutes(3)).has_value());
  EXPECT_EQ(GetAccount("bob").report_to, "bob@example.com");
  auto alice = store_->FindAccountByUid(1002);
  ASSERT_TRUE(alice.has_value() && alice->has_value());
  EXPECT_EQ((*alice)->name, "alice");

  // A uid moved from one account of the file to another moves in one start.
  const std::vector<AccountSpec> moved = {FileAccount("alice", {1001}),
                                          FileAccount("bob", {2001, 1002}, "bob@example.com")};
  ASSERT_TRUE(ApplyConfigAccounts(*store_, moved, kT0 + minutes(4)).has_value());
  auto bob = store_->FindAccountByUid(1002);
  ASSERT_TRUE(bob.has_value() && bob->has_value());
  EXPECT_EQ((*bob)->name, "bob");
  auto again = ConfigAccountsToWrite(*store_, moved);
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->empty());
}

TEST_P(StoreConformance, AFileUidHeldByAnApiAccountStillRefusesTheStart) {
  ASSERT_TRUE(store_
                  ->PutAccounts(std::vector{FileAccount("api", {1001})}, AccountPutMode::kCreate,
                                "admin", kT0)
                  .has_value());
  const std::vector<AccountSpec> file = {FileAccount("ok", {2001}), FileAccount("taker", {1001})};
  auto applied = ApplyConfigAccounts(*store_, file, kT0);
  ASSERT_FALSE(applied.has_value());
  EXPECT_EQ(applied.error().code, ErrorCode::kConflict);
  EXPECT_NE(applied.error().message.find("\"taker\""), std::string::npos);
  EXPECT_NE(applied.error().message.find("\"api\""), std::string::npos);
  // The account without a conflict is written; the next start refuses again.
  EXPECT_EQ(GetAccount("ok").uids, std::vector<Uid>{2001});
  auto left = ConfigAccountsToWrite(*store_, file);
  ASSERT_TRUE(left.has_value());
  EXPECT_EQ(*left, std::vector<std::size_t>{1});
  EXPECT_FALSE(ApplyConfigAccounts(*store_, file, kT0).has_value());
}

TEST_P(StoreConformance, AccountsWithAQuotaBelowALimitAreListedByTheirIds) {
  std::vector<AccountSpec> file = {FileAccount("none", {1001}), FileAccount("hour", {1002}),
                                   FileAccount("day", {1003}), FileAccount("large", {1004}),
                                   FileAccount("gone", {1005})};
  file[1].max_per_hour = 5;
  file[2].max_per_day = 19;
  file[3].max_per_hour = 20;
  file[3].max_per_day = 500;
  file[4].max_per_hour = 1;
  ASSERT_TRUE(ApplyConfigAccounts(*store_, file, kT0).has_value());
  ASSERT_TRUE(store_->DeleteAccount("gone", false, "admin", kT0).has_value());
  auto below = store_->ListAccountsWithQuotaBelow(20);
  ASSERT_TRUE(below.has_value()) << below.error().message;
  EXPECT_EQ(*below, (std::vector<AccountId>{GetAccount("hour").id, GetAccount("day").id}));
}

}  // namespace
}  // namespace mailwarden::conformance
