// Store conformance: accounts as provisioning manages them (PutAccounts, DeleteAccount,
// RemoveDeletedAccounts): one uid one account, deletion without inheritance.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/conformance/store_conformance.h"
#include "store/store.h"

namespace mailwarden::conformance {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

AccountSpec Spec(std::string name, std::vector<Uid> uids, std::string report_to = "") {
  AccountSpec spec;
  spec.name = std::move(name);
  spec.uids = std::move(uids);
  spec.report_to = std::move(report_to);
  return spec;
}

std::vector<AccountPut> PutIn(Store& store, std::vector<AccountSpec> specs,
                              AccountPutMode mode = AccountPutMode::kCreateOrUpdate) {
  auto put = store.PutAccounts(specs, mode, "admin", kT0);
  EXPECT_TRUE(put.has_value()) << put.error().message;
  return put.value_or(std::vector<AccountPut>{});
}

std::optional<std::string> OwnerIn(Store& store, Uid uid) {
  auto a = store.FindAccountByUid(uid);
  EXPECT_TRUE(a.has_value());
  return a && *a ? std::optional<std::string>((*a)->name) : std::nullopt;
}

TEST_P(StoreConformance, AUidOfAnAccountOutsideTheBatchIsRefusedNamingIt) {
  MakeAccount("alice", {1001});
  const auto put = PutIn(*store_, {Spec("bob", {1001, 1002}), Spec("carol", {1003})});
  ASSERT_EQ(put.size(), 2u);
  EXPECT_EQ(put[0].outcome, AccountPutOutcome::kRefused);
  ASSERT_TRUE(put[0].refused);
  EXPECT_EQ(put[0].refused->code, ErrorCode::kConflict);
  EXPECT_NE(put[0].refused->message.find("\"alice\""), std::string::npos);
  EXPECT_NE(put[0].refused->message.find("1001"), std::string::npos);
  EXPECT_EQ(put[1].outcome, AccountPutOutcome::kCreated);
  EXPECT_EQ(OwnerIn(*store_, 1001), "alice");
  EXPECT_EQ(OwnerIn(*store_, 1002), std::nullopt);  // nothing of the refused spec was written
  EXPECT_EQ(OwnerIn(*store_, 1003), "carol");
}

TEST_P(StoreConformance, AUidMovesBetweenTwoAccountsOfOneBatch) {
  MakeAccount("alice", {1001, 1002});
  MakeAccount("bob", {2001});
  const auto put =
      PutIn(*store_, {Spec("bob", {2001, 1002}), Spec("alice", {1001}, "alice@example.com")});
  ASSERT_EQ(put.size(), 2u);
  EXPECT_EQ(put[0].outcome, AccountPutOutcome::kUpdated);
  EXPECT_EQ(put[1].outcome, AccountPutOutcome::kUpdated);
  EXPECT_EQ(OwnerIn(*store_, 1002), "bob");
  EXPECT_EQ(OwnerIn(*store_, 1001), "alice");
}

TEST_P(StoreConformance, ARefusedSpecKeepsItsUidsAndRefusesWhoCountedOnThem) {
  MakeAccount("alice", {1001});
  MakeAccount("bob", {2001});
  // alice would give 1001 up to carol, but alice's own new uid is bob's: alice is refused,
  // keeps 1001, and carol is refused in turn.
  const auto put = PutIn(*store_, {Spec("carol", {1001}), Spec("alice", {2001})});
  ASSERT_EQ(put.size(), 2u);
  EXPECT_EQ(put[0].outcome, AccountPutOutcome::kRefused);
  EXPECT_EQ(put[1].outcome, AccountPutOutcome::kRefused);
  EXPECT_EQ(OwnerIn(*store_, 1001), "alice");
  EXPECT_EQ(OwnerIn(*store_, 2001), "bob");
  // One uid given to two specs of one batch: the second is refused.
  const auto twice = PutIn(*store_, {Spec("dave", {3001}), Spec("erin", {3001})});
  EXPECT_EQ(twice[0].outcome, AccountPutOutcome::kCreated);
  EXPECT_EQ(twice[1].outcome, AccountPutOutcome::kRefused);
}

TEST_P(StoreConformance, OutcomesFollowTheModeAndChangesAreAudited) {
  EXPECT_EQ(PutIn(*store_, {Spec("alice", {1001})}, AccountPutMode::kUpdate)[0].refused->code,
            ErrorCode::kNotFound);
  EXPECT_EQ(PutIn(*store_, {Spec("alice", {1001})}, AccountPutMode::kCreate)[0].outcome,
            AccountPutOutcome::kCreated);
  EXPECT_EQ(PutIn(*store_, {Spec("alice", {1001})}, AccountPutMode::kCreate)[0].refused->code,
            ErrorCode::kConflict);
  EXPECT_EQ(PutIn(*store_, {Spec("alice", {1001})})[0].outcome, AccountPutOutcome::kUnchanged);
  AccountSpec changed = Spec("alice", {1001}, "new@example.com");
  changed.max_per_day = 50;
  EXPECT_EQ(PutIn(*store_, {changed})[0].outcome, AccountPutOutcome::kUpdated);
  const Account a = GetAccount("alice");
  EXPECT_EQ(a.report_to, "new@example.com");
  EXPECT_EQ(a.max_per_day, 50);
  EXPECT_EQ(PutIn(*store_, {Spec("", {}), Spec("bob", {}), Spec("bob", {})})[2].refused->code,
            ErrorCode::kInvalidInput);
  auto audit = store_->ListAudit(a.id, 10, 0);
  ASSERT_TRUE(audit.has_value());
  ASSERT_EQ(audit->size(), 2u);  // CREATE and CHANGE; nothing for the unchanged put
  EXPECT_EQ((*audit)[0].action, "CHANGE");
  EXPECT_EQ((*audit)[0].actor, "admin");
  EXPECT_NE((*audit)[0].reason.find("new@example.com"), std::string::npos);
  EXPECT_EQ((*audit)[1].action, "CREATE");
}

TEST_P(StoreConformance, DeleteIsRefusedWithUnfinishedMailUnlessPurged) {
  const AccountId id = MakeAccount("alice", {1001});
  const AccountId other = MakeAccount("bob", {2001});
  const auto ids = Insert({Message(id, kT0), Message(id, kT0 + minutes(1))});
  Insert({Message(other, kT0)});
  const auto claimed = Claim(kT0 + minutes(2), 1);  // one of them in flight
  ASSERT_EQ(claimed.size(), 1u);
  auto refused = store_->DeleteAccount("alice", false, "admin", kT0 + minutes(3));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict);
  EXPECT_EQ(GetAccount("alice").pending, 2);

  auto deleted = store_->DeleteAccount("alice", true, "admin", kT0 + minutes(3));
  ASSERT_TRUE(deleted.has_value()) << deleted.error().message;
  EXPECT_EQ(deleted->id, id);
  EXPECT_EQ(deleted->purged, 2);
  // Nothing of it is delivered: the queued one is never claimed, the in-flight one's late
  // outcome is ignored.
  for (const auto& m : Claim(kT0 + minutes(4))) EXPECT_EQ(m.account, other);
  if (claimed[0].account == id) {
    Record(AllRecipients(claimed, RecipientStatus::kSent, "250 ok"), kT0 + minutes(5));
    auto counters = store_->GetCounters(id, LocalDayNumber(kT0));
    ASSERT_TRUE(counters.has_value());
    EXPECT_EQ(counters->sent, 0);
    EXPECT_EQ(counters->purged, 2);
  }
  // Its purged rows go as a PURGE's do, resumed after a restart as theirs are.
  EXPECT_EQ(store_->AccountsWithPurgedRows().value(), std::vector<AccountId>{id});
  auto left = store_->PurgeBatch(id, 100, kT0 + minutes(6));
  ASSERT_TRUE(left.has_value()) << left.error().message;
  EXPECT_EQ(*left, 0);
  EXPECT_TRUE(store_->AccountsWithPurgedRows().value().empty());
  EXPECT_FALSE(store_->GetMessage(ids[1]).value_or(std::nullopt).has_value());
  // Mail stored afterwards never takes the id of a purged message (one may still be in flight).
  const auto later = Insert({Message(other, kT0 + minutes(7))});
  ASSERT_EQ(later.size(), 1u);
  EXPECT_GT(later[0], ids[1]);
}

TEST_P(StoreConformance, DeletingSeveralAtOnceAnswersEachAndARefusalKeepsOnlyItsAccount) {
  const AccountId alice = MakeAccount("alice", {1001});
  const AccountId bob = MakeAccount("bob", {2001});
  MakeAccount("carol", {3001});
  Insert({Message(alice, kT0)});  // unfinished: refused without purge
  const std::vector<std::string> names = {"alice", "bob", "nobody", "bob"};
  auto deleted = store_->DeleteAccounts(names, false, "admin import", kT0 + minutes(1));
  ASSERT_TRUE(deleted.has_value()) << deleted.error().message;
  ASSERT_EQ(deleted->size(), 4u);
  ASSERT_FALSE((*deleted)[0].has_value());
  EXPECT_EQ((*deleted)[0].error().code, ErrorCode::kConflict);
  ASSERT_TRUE((*deleted)[1].has_value()) << (*deleted)[1].error().message;
  EXPECT_EQ((*deleted)[1]->id, bob);
  ASSERT_FALSE((*deleted)[2].has_value());
  EXPECT_EQ((*deleted)[2].error().code, ErrorCode::kNotFound);
  ASSERT_FALSE((*deleted)[3].has_value());  // deleted a moment before, in the same transaction
  EXPECT_EQ((*deleted)[3].error().code, ErrorCode::kNotFound);

  EXPECT_TRUE(store_->FindAccount("alice").value().has_value());
  EXPECT_EQ(GetAccount("alice").pending, 1);
  EXPECT_FALSE(store_->FindAccount("bob").value().has_value());
  EXPECT_FALSE(store_->FindAccountByUid(2001).value().has_value());
  EXPECT_TRUE(store_->FindAccount("carol").value().has_value());
  // Audited as one at a time is, by the actor given.
  auto audit = store_->ListAudit(bob, 10, 0);
  ASSERT_TRUE(audit.has_value());
  ASSERT_FALSE(audit->empty());
  EXPECT_EQ(audit->front().action, "DELETE");
  EXPECT_EQ(audit->front().actor, "admin import");

  // With purge, the one with mail goes too, its mail purged.
  const std::vector<std::string> again = {"alice"};
  deleted = store_->DeleteAccounts(again, true, "admin import", kT0 + minutes(2));
  ASSERT_TRUE(deleted.has_value()) << deleted.error().message;
  ASSERT_TRUE((*deleted)[0].has_value()) << (*deleted)[0].error().message;
  EXPECT_EQ((*deleted)[0]->purged, 1);
  EXPECT_FALSE(store_->FindAccount("alice").value().has_value());
}

TEST_P(StoreConformance, ADeletedAccountIsGoneAndANewOneOfItsNameInheritsNothing) {
  const AccountId id = MakeAccount("alice", {1001});
  ASSERT_TRUE(store_->AddToken(id, std::string(64, 'a'), kT0).has_value());
  ASSERT_TRUE(store_->SetSmtpPassword(id, "hash").has_value());
  Insert({Message(id, kT0)});
  Record(AllRecipients(Claim(kT0), RecipientStatus::kFailed, "550 no"), kT0);
  ASSERT_EQ(GetCounters(id).errors, 1);

  auto deleted = store_->DeleteAccount("alice", false, "admin", kT0 + minutes(1));
  ASSERT_TRUE(deleted.has_value()) << deleted.error().message;
  EXPECT_FALSE(store_->FindAccount("alice").value().has_value());
  EXPECT_FALSE(store_->FindAccountByUid(1001).value().has_value());
  EXPECT_FALSE(store_->FindAccountByToken(std::string(64, 'a'), kT0).value().has_value());
  EXPECT_FALSE(store_->GetSmtpPasswordHash("alice").value().has_value());
  EXPECT_TRUE(store_->ListAccounts().value().empty());
  EXPECT_TRUE(store_->AccountsToReport(LocalDayNumber(kT0)).value().empty());
  EXPECT_EQ(store_->DeleteAccount("alice", false, "admin", kT0).error().code, ErrorCode::kNotFound);
  // Mail of a submission that found the account before it was deleted is not stored.
  const std::vector<NewMessage> late = {Message(id, kT0 + minutes(2))};
  auto stored = store_->InsertMessages(late, ArrivalLease{});
  ASSERT_TRUE(stored.has_value()) << stored.error().message;
  ASSERT_TRUE(stored->messages[0].refused.has_value());
  EXPECT_EQ(stored->messages[0].refused->code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->GetAccount(id).value()->pending, 0);
  // Kept for the provider's records, by id.
  EXPECT_EQ(GetCounters(id).errors, 1);
  auto audit = store_->ListAudit(id, 10, 0);
  ASSERT_TRUE(audit.has_value());
  ASSERT_FALSE(audit->empty());
  EXPECT_EQ((*audit)[0].action, "DELETE");

  const auto put = PutIn(*store_, {Spec("alice", {1001})}, AccountPutMode::kCreate);
  ASSERT_EQ(put[0].outcome, AccountPutOutcome::kCreated);
  EXPECT_NE(put[0].id, id);
  EXPECT_EQ(GetCounters(put[0].id).errors, 0);
  EXPECT_TRUE(store_->ListTokens(put[0].id).value().empty());
  EXPECT_EQ(store_->ListAudit(put[0].id, 10, 0).value().size(), 1u);  // its CREATE only
  EXPECT_EQ(OwnerIn(*store_, 1001), "alice");

  // After store.keep_finished the old one goes with its history; the new one stays.
  EXPECT_EQ(store_->RemoveDeletedAccounts(kT0, 10).value(), 0);
  EXPECT_EQ(store_->RemoveDeletedAccounts(kT0 + hours(24 * 31), 10).value(), 1);
  EXPECT_FALSE(store_->GetAccount(id).value().has_value());
  EXPECT_TRUE(store_->ListAudit(id, 10, 0).value().empty());
  EXPECT_EQ(GetAccount("alice").id, put[0].id);
}

}  // namespace
}  // namespace mailwarden::conformance
