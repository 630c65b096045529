// Store conformance: account control (audit, purge, expiry, release, delete, tokens, counters).
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

// --- Account control: audit, purge, expiry, release, delete, tokens, counters ---

TEST_P(StoreConformance, SetAccountStateWritesTheAuditRecordAndTolerance) {
  const AccountId id = MakeAccount("demo");
  const AccountId other = MakeAccount("other");
  ASSERT_TRUE(store_
                  ->SetAccountState({.account = id,
                                     .from = AccountState::kActive,
                                     .to = AccountState::kBlocked,
                                     .blocked_by = BlockedBy::kBounceGuard,
                                     .reason = "20% failed",
                                     .at = kT0,
                                     .actor = "bounce_guard",
                                     .action = "BLOCK",
                                     .audit_text = "blocked: 20% failed",
                                     .start_purge = false,
                                     .bounce_tolerance_until = {}})
                  .has_value());
  SetState(other, AccountState::kActive, AccountState::kBlocked, BlockedBy::kAdmin);
  ASSERT_TRUE(
      store_
          ->SetAccountState({.account = id,
                             .from = AccountState::kBlocked,
                             .from_blocked_by = BlockedBy::kBounceGuard,
                             .to = AccountState::kActive,
                             .blocked_by = BlockedBy::kNone,
                             .reason = "",
                             .at = kT0 + minutes(1),
                             .actor = "customer",
                             .action = "UNBLOCK",
                             .audit_text = "tolerance doubled for 24h",
                             .start_purge = false,
                             .bounce_tolerance_until = kT0 + minutes(1) + std::chrono::hours(24)})
          .has_value());
  EXPECT_EQ(GetAccount("demo").bounce_tolerance_until, kT0 + minutes(1) + std::chrono::hours(24));

  // A refused change writes no record.
  auto stale = store_->SetAccountState({.account = id,
                                        .from = AccountState::kBlocked,
                                        .from_blocked_by = BlockedBy::kBounceGuard,
                                        .to = AccountState::kActive,
                                        .blocked_by = BlockedBy::kNone,
                                        .reason = "",
                                        .at = kT0,
                                        .actor = "admin",
                                        .action = "UNBLOCK"});
  ASSERT_FALSE(stale.has_value());

  auto all = store_->ListAudit(std::nullopt, 10, 0);
  ASSERT_TRUE(all.has_value()) << all.error().message;
  ASSERT_EQ(all->size(), 3u);
  const AuditRecord& newest = (*all)[0];
  EXPECT_EQ(newest.account_name, "demo");
  EXPECT_EQ(newest.actor, "customer");
  EXPECT_EQ(newest.action, "UNBLOCK");
  EXPECT_EQ(newest.from, AccountState::kBlocked);
  EXPECT_EQ(newest.to, AccountState::kActive);
  EXPECT_EQ(newest.reason, "tolerance doubled for 24h");
  EXPECT_EQ(newest.at, kT0 + minutes(1));
  EXPECT_EQ((*all)[1].account_name, "other");
  EXPECT_EQ((*all)[1].reason, "test") << "without audit_text, the reason";
  EXPECT_GT((*all)[0].id, (*all)[1].id);

  auto mine = store_->ListAudit(id, 1, 0);
  ASSERT_TRUE(mine.has_value());
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ((*mine)[0].action, "UNBLOCK");
  auto older = store_->ListAudit(id, 10, (*mine)[0].id);
  ASSERT_TRUE(older.has_value());
  ASSERT_EQ(older->size(), 1u);
  EXPECT_EQ((*older)[0].action, "BLOCK");
  EXPECT_EQ((*older)[0].reason, "blocked: 20% failed");
  EXPECT_EQ((*older)[0].at, kT0);
}

// A customer reads a customer block and decides to lift it; before the write, an
// administrator takes the block over. The customer's decision was made on a block it may lift,
// not on the administrator's: it must not undo it.
TEST_P(StoreConformance, AStateChangeComparesTheBlockerItWasDecidedOn) {
  const AccountId id = MakeAccount("demo");
  SetState(id, AccountState::kActive, AccountState::kBlocked, BlockedBy::kCustomer);
  const AccountStateChange unblock{.account = id,
                                   .from = AccountState::kBlocked,
                                   .from_blocked_by = BlockedBy::kCustomer,
                                   .to = AccountState::kActive,
                                   .blocked_by = BlockedBy::kNone,
                                   .reason = "",
                                   .at = kT0 + seconds(2),
                                   .actor = "customer",
                                   .action = "UNBLOCK"};
  SetState(id, AccountState::kBlocked, AccountState::kBlocked, BlockedBy::kAdmin);  // take-over
  auto lifted = store_->SetAccountState(unblock);
  ASSERT_FALSE(lifted.has_value());
  EXPECT_EQ(lifted.error().code, ErrorCode::kConflict);
  EXPECT_NE(lifted.error().message.find("admin"), std::string::npos) << lifted.error().message;
  const Account a = GetAccount("demo");
  EXPECT_EQ(a.state, AccountState::kBlocked);
  EXPECT_EQ(a.blocked_by, BlockedBy::kAdmin);
  auto audit = store_->ListAudit(id, 10, 0);
  ASSERT_TRUE(audit.has_value());
  EXPECT_EQ(audit->size(), 2u) << "the refused change wrote no record";
}

// The same race for a selective release or delete: judged on the customer's block, refused
// on the administrator's.
TEST_P(StoreConformance, ReleaseAndDeleteHeldCompareTheBlockTheyWereDecidedOn) {
  const AccountId id = MakeAccount("demo");
  SetState(id, AccountState::kActive, AccountState::kBlocked, BlockedBy::kCustomer);
  const auto held = Insert({Message(id, kT0), Message(id, kT0 + seconds(1))});
  SetState(id, AccountState::kBlocked, AccountState::kBlocked, BlockedBy::kAdmin);
  const BlockSeen customer{AccountState::kBlocked, BlockedBy::kCustomer};
  auto released = store_->ReleaseHeld(id, {.ids = held, .decided_on = customer}, kT0);
  ASSERT_FALSE(released.has_value());
  EXPECT_EQ(released.error().code, ErrorCode::kConflict);
  auto deleted = store_->DeleteHeld(id, {.ids = {}, .to = "@", .decided_on = customer}, kT0);
  ASSERT_FALSE(deleted.has_value());
  EXPECT_EQ(deleted.error().code, ErrorCode::kConflict);
  auto pending = store_->ListPending(id, 10, 0);
  ASSERT_TRUE(pending.has_value());
  EXPECT_EQ(pending->size(), 2u);
  EXPECT_EQ(GetCounters(id).held, 2);
  // Decided on the block as it is, they act.
  const BlockSeen admin{AccountState::kBlocked, BlockedBy::kAdmin};
  EXPECT_EQ(store_->ReleaseHeld(id, {.ids = {held[0]}, .decided_on = admin}, kT0).value_or(-1), 1);
  EXPECT_EQ(store_->DeleteHeld(id, {.ids = {held[1]}, .decided_on = admin}, kT0).value_or(-1), 1);
}

// A large selection is acted on in bounded batches: each call takes at most `limit`, lowest
// ids first, and the next call with the same selector goes on where it ended.
TEST_P(StoreConformance, ReleaseAndDeleteHeldActInBatchesOfTheLimit) {
  const AccountId id = MakeAccount("demo");
  std::vector<NewMessage> flood;
  for (int i = 0; i < 5; ++i) flood.push_back(Message(id, kT0 + milliseconds(i)));
  const auto held = Insert(flood);
  SetState(id, AccountState::kActive, AccountState::kBlocked, BlockedBy::kCustomer);
  const MessageSelector by_match{.ids = {}, .to = "@", .limit = 2};
  std::vector<std::int64_t> released;
  for (int i = 0; i < 4; ++i)
    released.push_back(store_->ReleaseHeld(id, by_match, kT0).value_or(-1));
  EXPECT_EQ(released, (std::vector<std::int64_t>{2, 2, 1, 0}));
  EXPECT_EQ(GetCounters(id).queued, 5);

  const AccountId other = MakeAccount("other");
  std::vector<NewMessage> more;
  for (int i = 0; i < 5; ++i) more.push_back(Message(other, kT0 + milliseconds(i)));
  const auto ids = Insert(more);
  SetState(other, AccountState::kActive, AccountState::kBlocked, BlockedBy::kCustomer);
  EXPECT_EQ(store_->ReleaseHeld(other, {.ids = ids, .limit = 3}, kT0).value_or(-1), 3);
  EXPECT_EQ(store_->ReleaseHeld(other, {.ids = ids, .limit = 3}, kT0).value_or(-1), 2)
      << "the released ones are not chosen again";
  EXPECT_EQ(store_->DeleteHeld(other, {.ids = ids, .limit = 4}, kT0).value_or(-1), 4);
  EXPECT_EQ(store_->DeleteHeld(other, {.ids = {}, .to = "@", .limit = 4}, kT0).value_or(-1), 1);
  EXPECT_EQ(GetCounters(other).purged, 5);
  EXPECT_EQ(held.size(), 5u);
}

TEST_P(StoreConformance, PurgeRemovesExactlyTheMailHeldWhenAskedAtOnceThenItsRowsInBatches) {
  const AccountId id = MakeAccount("demo");
  const AccountId bystander = MakeAccount("bystander");
  std::vector<NewMessage> flood;
  for (int i = 0; i < 5; ++i) {
    flood.push_back(Message(id, kT0 + milliseconds(i), {"a@example.net", "b@example.net"}));
  }
  auto held = Insert(flood);
  auto other = Insert({Message(bystander, kT0)});
  SetState(id, AccountState::kActive, AccountState::kBlocked, BlockedBy::kSpamGuard);
  const std::int64_t released = *store_->ReleaseHeld(id, {.ids = {held[4]}}, kT0);
  ASSERT_EQ(released, 1);
  ASSERT_TRUE(store_
                  ->SetAccountState({.account = id,
                                     .from = AccountState::kBlocked,
                                     .from_blocked_by = BlockedBy::kSpamGuard,
                                     .to = AccountState::kPurging,
                                     .blocked_by = BlockedBy::kSpamGuard,
                                     .reason = "flood",
                                     .at = kT0 + seconds(1),
                                     .actor = "admin",
                                     .action = "PURGE",
                                     .audit_text = "purge",
                                     .start_purge = true,
                                     .bounce_tolerance_until = {}})
                  .has_value());
  // Purged at once: counted, out of pending, not listed, not found, released mark and all.
  Account demo = GetAccount("demo");
  EXPECT_EQ(demo.purge_upto, held.back());
  EXPECT_EQ(demo.pending, 0);
  EXPECT_EQ(demo.purge_left, 5);
  auto counters = store_->GetCounters(id, LocalDayNumber(kT0));
  ASSERT_TRUE(counters.has_value());
  EXPECT_EQ(counters->purged, 5);
  EXPECT_EQ(counters->held, 0);
  EXPECT_EQ(counters->queued, 0);
  auto days = store_->GetVolumes(id, LocalDayNumber(kT0), LocalDayNumber(kT0));
  ASSERT_TRUE(days.has_value() && days->size() == 1u);
  EXPECT_EQ((*days)[0].purged, 5);
  for (MessageId m : held) {
    auto gone = store_->GetMessage(m);
    ASSERT_TRUE(gone.has_value());
    EXPECT_FALSE(gone->has_value()) << m;
  }
  EXPECT_TRUE(store_->ListPending(id, 10, 0)->empty());
  EXPECT_EQ(Ids(Claim(kT0 + seconds(1))), other) << "only the bystander's";
  // Mail submitted after the purge was asked for is held, not purged.
  auto later = Insert({Message(id, kT0 + seconds(2)), Message(id, kT0 + seconds(3))});

  auto purging = store_->AccountsInState(AccountState::kPurging);
  ASSERT_TRUE(purging.has_value());
  EXPECT_EQ(*purging, std::vector<AccountId>{id});
  auto active = store_->AccountsInState(AccountState::kActive);
  ASSERT_TRUE(active.has_value());
  EXPECT_EQ(*active, std::vector<AccountId>{bystander});

  // The rows go in batches, oldest first, changing no counter.
  auto left = store_->PurgeBatch(id, 2, kT0 + seconds(4));
  ASSERT_TRUE(left.has_value()) << left.error().message;
  EXPECT_EQ(*left, 3);
  EXPECT_EQ(db_->QueryInt("SELECT COUNT(*) FROM " + std::string(schema::kMessagesTable) +
                          " WHERE id = " + std::to_string(held[0])),
            0)
      << "oldest first";
  EXPECT_EQ(GetAccount("demo").pending, 2);
  // A reopened store (a restarted daemon) goes on where the last batch ended.
  store_.reset();
  store_ = OpenOrDie();
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(GetAccount("demo").purge_left, 3);
  EXPECT_EQ(*store_->PurgeBatch(id, 2, kT0 + seconds(5)), 1);
  EXPECT_EQ(*store_->PurgeBatch(id, 2, kT0 + seconds(5)), 0);
  EXPECT_EQ(*store_->PurgeBatch(id, 2, kT0 + seconds(6)), 0);

  EXPECT_EQ(GetAccount("demo").pending, 2);
  EXPECT_EQ(GetAccount("demo").purge_left, 0);
  for (MessageId m : later) EXPECT_EQ(GetMessage(m).status, MessageStatus::kQueued);
  EXPECT_EQ(GetMessage(other[0]).status, MessageStatus::kDelivering);
  EXPECT_EQ(db_->QueryInt("SELECT COUNT(*) FROM " + std::string(schema::kRecipientsTable) +
                          " WHERE account_id = " + std::to_string(id)),
            2)
      << "the purged messages' recipients went with them";
  counters = store_->GetCounters(id, LocalDayNumber(kT0));
  ASSERT_TRUE(counters.has_value());
  EXPECT_EQ(counters->purged, 5);
  EXPECT_EQ(counters->submitted, 7);
  EXPECT_EQ(counters->held, 2);
  EXPECT_EQ(counters->queued, 0);

  auto missing = store_->PurgeBatch(id + 100, 10, kT0);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

// Between the purge and the deletion of its rows the account may be active again (the purge
// ends at once): its new mail goes out, the purged mail never does, and nothing else sees it.
TEST_P(StoreConformance, PurgedMailIsGoneBeforeItsRowsAre) {
  const AccountId id = MakeAccount("demo");
  auto first = Insert({Message(id, kT0), Message(id, kT0 + milliseconds(1))});
  auto in_flight = Claim(kT0 + seconds(1), 1);
  ASSERT_EQ(Ids(in_flight), std::vector<MessageId>{first[0]});
  SetState(id, AccountState::kActive, AccountState::kBlocked, BlockedBy::kCustomer);
  auto held = Insert({Message(id, kT0 + seconds(2))});
  StartPurge(id, kT0 + seconds(3));
  SetState(id, AccountState::kPurging, AccountState::kActive);
  EXPECT_EQ(GetAccount("demo").purge_left, 3);
  EXPECT_EQ(GetCounters(id).purged, 3);

  // The late outcome of the message in flight is ignored: no sent, no pending change.
  Record({{.id = first[0],
           .recipients = {{.index = 0, .status = RecipientStatus::kSent, .reply = "250 ok"}},
           .next_attempt = {}}},
         kT0 + seconds(4));
  EXPECT_EQ(GetCounters(id).sent, 0);
  EXPECT_EQ(GetAccount("demo").pending, 0);

  // Nothing is due: no claim, no due time, though the purged rows are due long since.
  auto next = store_->NextDueTime();
  ASSERT_TRUE(next.has_value());
  EXPECT_FALSE(next->has_value());
  EXPECT_TRUE(Claim(kT0 + std::chrono::hours(1)).empty());

  // New mail goes out, and only it.
  auto fresh = Insert({Message(id, kT0 + seconds(5))});
  next = store_->NextDueTime();
  ASSERT_TRUE(next.has_value() && next->has_value());
  EXPECT_EQ(**next, kT0 + seconds(5));
  EXPECT_EQ(Ids(Claim(kT0 + std::chrono::hours(1))), fresh);

  // Blocked again: held lists, releases, deletes and expiry see only the new mail.
  auto fresh2 = Insert({Message(id, kT0 + seconds(6))});
  SetState(id, AccountState::kActive, AccountState::kBlocked, BlockedBy::kCustomer);
  std::vector<MessageId> listed;
  const auto pending = store_->ListPending(id, 10, 0);
  ASSERT_TRUE(pending.has_value());
  for (const auto& m : *pending) listed.push_back(m.id);
  EXPECT_EQ(listed, (std::vector<MessageId>{fresh2[0], fresh[0]}));
  EXPECT_EQ(*store_->ReleaseHeld(id, {.ids = {first[1], held[0]}}, kT0), 0);
  auto headers = store_->GetMessageHeaders(id, held[0]);
  ASSERT_FALSE(headers.has_value());
  EXPECT_EQ(headers.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(*store_->ExpireHeld(kT0 + std::chrono::hours(100), 10, kT0 + std::chrono::hours(100)),
            1)
      << "the new held message only (the one in flight is left to delivery)";
  EXPECT_EQ(GetCounters(id).expired, 1);
  auto fresh3 = Insert({Message(id, kT0 + std::chrono::hours(101))});
  EXPECT_EQ(*store_->DeleteHeld(id, {.ids = {first[1], held[0], fresh3[0]}}, kT0), 1);
  EXPECT_EQ(GetCounters(id).purged, 4);
}

TEST_P(StoreConformance, EachPurgeHidesTheMailBeforeIt) {
  const AccountId id = MakeAccount("demo");
  const AccountId other = MakeAccount("other");
  auto purge = [&](TimePoint at) {
    SetState(id, AccountState::kActive, AccountState::kBlocked, BlockedBy::kCustomer);
    StartPurge(id, at);
    SetState(id, AccountState::kPurging, AccountState::kActive);
  };
  Insert({Message(id, kT0), Message(id, kT0 + seconds(1))});
  purge(kT0 + seconds(2));
  // Mail of another account stored between purges takes ids between them.
  auto others = Insert({Message(other, kT0 + seconds(3))});
  Insert({Message(id, kT0 + seconds(4))});  // purged by the second purge
  purge(kT0 + seconds(5));
  auto third = Insert({Message(id, kT0 + seconds(6)), Message(id, kT0 + seconds(7))});
  EXPECT_EQ(GetAccount("demo").purge_left, 3) << "no row deleted yet";

  // Only the mail since the last purge, oldest first; the other account keeps its own.
  auto next = store_->NextDueTime();
  ASSERT_TRUE(next.has_value() && next->has_value());
  EXPECT_EQ(**next, kT0 + seconds(3));
  std::vector<MessageId> expected = {others[0], third[0], third[1]};
  std::vector<MessageId> claimed = Ids(Claim(kT0 + std::chrono::hours(1), 10));
  std::ranges::sort(claimed);
  std::ranges::sort(expected);
  EXPECT_EQ(claimed, expected);
  EXPECT_TRUE(Claim(kT0 + std::chrono::hours(1), 10).empty()) << "leased, nothing else due";
}

TEST_P(StoreConformance, ExpireHeldFinishesOnlyOldHeldMail) {
  const AccountId held = MakeAccount("held");
  const AccountId active = MakeAccount("active");
  auto old_ids = Insert({Message(held, kT0, {"a@example.net", "b@example.net"}, "old1"),
                         Message(held, kT0 + seconds(1), {"c@example.net"}, "old2"),
                         Message(held, kT0 + seconds(2), {"d@example.net"}, "old3")});
  auto young = Insert({Message(held, kT0 + std::chrono::hours(80))});
  auto active_ids = Insert({Message(active, kT0)});
  SetState(held, AccountState::kActive, AccountState::kBlocked, BlockedBy::kCustomer);

  const TimePoint now = kT0 + std::chrono::hours(100);
  const TimePoint cutoff = now - std::chrono::hours(72);
  auto first = store_->ExpireHeld(cutoff, 2, now);
  ASSERT_TRUE(first.has_value()) << first.error().message;
  EXPECT_EQ(*first, 2);
  EXPECT_EQ(*store_->ExpireHeld(cutoff, 2, now), 1);
  EXPECT_EQ(*store_->ExpireHeld(cutoff, 2, now), 0);

  StoredMessage m = GetMessage(old_ids[0]);
  EXPECT_EQ(m.status, MessageStatus::kDone);
  ASSERT_EQ(m.recipients.size(), 2u);
  for (const auto& r : m.recipients) {
    EXPECT_EQ(r.status, RecipientStatus::kFailed);
    EXPECT_EQ(r.reply, "expired: not sent, held while sending was blocked for longer than allowed");
    EXPECT_EQ(r.updated_at, now);
  }
  EXPECT_EQ(GetMessage(young[0]).status, MessageStatus::kQueued);
  EXPECT_EQ(GetMessage(active_ids[0]).status, MessageStatus::kQueued) << "active: not held";
  EXPECT_EQ(GetAccount("held").pending, 1);
  EXPECT_EQ(db_->QueryInt("SELECT COUNT(*) FROM " + std::string(schema::kMessagesTable) +
                          " WHERE body IS NOT NULL AND account_id = " + std::to_string(held)),
            1);
  auto c = store_->GetCounters(held, LocalDayNumber(now));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->expired, 3);
  EXPECT_EQ(c->errors, 3) << "one per expired message";
  EXPECT_EQ(c->errors_today, 3);
  EXPECT_EQ(c->held, 1);
  auto listed = store_->ListErrors(held, kT0, 10, std::nullopt);
  ASSERT_TRUE(listed.has_value()) << listed.error().message;
  ASSERT_EQ(listed->size(), 4u) << "once per recipient";
  for (const DeliveryError& e : *listed) EXPECT_EQ(e.category, "expired");

  // Unblocked, the young message goes out; the expired ones never do.
  SetState(held, AccountState::kBlocked, AccountState::kActive);
  auto claimed = Claim(now);
  std::set<MessageId> got;
  for (const auto& x : claimed) got.insert(x.id);
  EXPECT_EQ(got, (std::set<MessageId>{young[0], active_ids[0]}));
}

TEST_P(StoreConformance, ReleasedMailIsDeliveredWhileTheAccountStaysBlocked) {
  const AccountId id = MakeAccount("demo");
  auto ids = Insert({Message(id, kT0, {"ceo@example.net"}, "Invoice"),
                     Message(id, kT0 + seconds(1), {"x@spam.example"}, "CHEAP pills"),
                     Message(id, kT0 + seconds(2), {"y@spam.example"}, "cheap watches")});
  SetState(id, AccountState::kActive, AccountState::kBlocked, BlockedBy::kSpamGuard);
  EXPECT_TRUE(Claim(kT0 + minutes(1)).empty());

  auto none = store_->ReleaseHeld(id, MessageSelector{}, kT0);
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(*none, 0) << "an empty selector matches nothing";
  auto released = store_->ReleaseHeld(id, {.ids = {ids[0], ids[0] + 1000}}, kT0 + minutes(1));
  ASSERT_TRUE(released.has_value()) << released.error().message;
  EXPECT_EQ(*released, 1);
  EXPECT_EQ(*store_->ReleaseHeld(id, {.ids = {ids[0]}}, kT0), 0) << "already released";

  auto c = store_->GetCounters(id, LocalDayNumber(kT0));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->held, 2);
  EXPECT_EQ(c->queued, 1);
  EXPECT_EQ(*store_->NextDueTime(), kT0);

  auto claimed = Claim(kT0 + minutes(1));
  EXPECT_EQ(Ids(claimed), std::vector<MessageId>{ids[0]});
  EXPECT_EQ(GetAccount("demo").state, AccountState::kBlocked);
  EXPECT_TRUE(Claim(kT0 + minutes(2)).empty()) << "in flight, and the rest is held";
  Record(AllRecipients(claimed, RecipientStatus::kSent, "250 ok"), kT0 + minutes(2));
  EXPECT_EQ(GetMessage(ids[0]).status, MessageStatus::kDone);
  c = store_->GetCounters(id, LocalDayNumber(kT0 + minutes(2)));
  EXPECT_EQ(c->queued, 0);
  EXPECT_EQ(c->held, 2);
  EXPECT_EQ(c->sent, 1);
  EXPECT_FALSE(store_->NextDueTime()->has_value());

  // By match: case-insensitive substring of the subject.
  EXPECT_EQ(*store_->ReleaseHeld(id, {.ids = {}, .from = "", .to = "", .subject = "cheap"}, kT0),
            2);
  EXPECT_EQ(Claim(kT0 + minutes(3)).size(), 2u);

  // Unblocking forgets the marks: a later block holds all the account's mail again.
  auto late = Insert({Message(id, kT0 + minutes(4), {"z@example.net"}, "late")});
  ASSERT_EQ(*store_->ReleaseHeld(id, {.ids = late}, kT0), 1);
  SetState(id, AccountState::kBlocked, AccountState::kActive);
  SetState(id, AccountState::kActive, AccountState::kBlocked, BlockedBy::kCustomer);
  EXPECT_TRUE(Claim(kT0 + minutes(5)).empty());
  EXPECT_EQ(store_->GetCounters(id, LocalDayNumber(kT0))->held, 3)
      << "the late one, and the two still in flight, unfinished";

  // An active account holds nothing to release.
  const AccountId open = MakeAccount("open");
  auto open_ids = Insert({Message(open, kT0)});
  EXPECT_EQ(*store_->ReleaseHeld(open, {.ids = open_ids}, kT0), 0);
  auto missing = store_->ReleaseHeld(open + 100, {.ids = {1}}, kT0);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_P(StoreConformance, DeleteHeldRemovesTheChosenMailButNotMailInFlight) {
  const AccountId id = MakeAccount("demo");
  NewMessage from_spammer = Message(id, kT0, {"a@example.net"}, "one");
  from_spammer.sender = "Spammer@Bad.example";
  auto ids = Insert({from_spammer, Message(id, kT0 + seconds(1), {"Boss@Corp.example"}, "two"),
                     Message(id, kT0 + seconds(2), {"c@example.net"}, "three")});
  SetState(id, AccountState::kActive, AccountState::kBlocked, BlockedBy::kCustomer);
  // The third is released and in flight: matched, but left alone.
  ASSERT_EQ(*store_->ReleaseHeld(id, {.ids = {ids[2]}}, kT0), 1);
  ASSERT_EQ(Claim(kT0 + minutes(1)).size(), 1u);

  EXPECT_EQ(*store_->DeleteHeld(id, {.ids = {}, .from = "bad.EXAMPLE", .to = "", .subject = ""},
                                kT0 + minutes(1)),
            1);
  EXPECT_EQ(*store_->DeleteHeld(id, {.ids = {}, .from = "", .to = "boss@corp", .subject = ""},
                                kT0 + minutes(1)),
            1);
  EXPECT_EQ(*store_->DeleteHeld(id, {.ids = {ids[2]}}, kT0 + minutes(1)), 0) << "in flight";
  EXPECT_EQ(*store_->DeleteHeld(id, MessageSelector{}, kT0), 0);
  EXPECT_FALSE(store_->GetMessage(ids[0])->has_value());
  EXPECT_FALSE(store_->GetMessage(ids[1])->has_value());
  EXPECT_EQ(GetMessage(ids[2]).status, MessageStatus::kDelivering);
  EXPECT_EQ(GetAccount("demo").pending, 1);
  auto c = store_->GetCounters(id, LocalDayNumber(kT0));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->purged, 2);
  auto days = store_->GetVolumes(id, LocalDayNumber(kT0), LocalDayNumber(kT0));
  ASSERT_TRUE(days.has_value());
  ASSERT_EQ(days->size(), 1u);
  EXPECT_EQ((*days)[0].purged, 2);
  EXPECT_EQ((*days)[0].submitted, 3);
}

TEST_P(StoreConformance, ListPendingGivesUnfinishedMailNewestFirstWithRecipients) {
  const AccountId id = MakeAccount("demo");
  auto ids = Insert({Message(id, kT0, {"a@example.net", "b@example.net"}, "first"),
                     Message(id, kT0 + seconds(1), {"c@example.net"}, "second"),
                     Message(id, kT0 + seconds(2), {"d@example.net"}, "third")});
  auto done = Claim(kT0, 1);
  Record(AllRecipients(done, RecipientStatus::kSent, "250"), kT0 + seconds(3));
  auto page = store_->ListPending(id, 1, 0);
  ASSERT_TRUE(page.has_value()) << page.error().message;
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].id, ids[2]);
  EXPECT_EQ((*page)[0].subject, "third");
  ASSERT_EQ((*page)[0].recipients.size(), 1u);
  EXPECT_EQ((*page)[0].recipients[0].address, "d@example.net");
  auto next = store_->ListPending(id, 10, (*page)[0].id);
  ASSERT_TRUE(next.has_value());
  ASSERT_EQ(next->size(), 1u) << "the finished first message is not pending";
  EXPECT_EQ((*next)[0].id, ids[1]);
}

// Tokens are listed by account (never their hash), expire, and are revoked by their id.
TEST_P(StoreConformance, TokensAreListedExpireAndAreRevoked) {
  const AccountId id = MakeAccount("demo");
  const AccountId other = MakeAccount("other");
  const std::string forever = "0123456789abcdef" + std::string(48, 'a');
  const std::string day = "fedcba9876543210" + std::string(48, 'b');
  ASSERT_TRUE(store_->AddToken(id, forever, kT0).has_value());
  ASSERT_TRUE(store_->AddToken(id, day, kT0 + seconds(1), kT0 + std::chrono::hours(24)));
  ASSERT_TRUE(store_->AddToken(other, std::string(64, 'c'), kT0).has_value());

  auto list = store_->ListTokens(id);
  ASSERT_TRUE(list.has_value()) << list.error().message;
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, "0123456789abcdef");
  EXPECT_EQ((*list)[0].created, kT0);
  EXPECT_FALSE((*list)[0].expires.has_value());
  EXPECT_EQ((*list)[1].id, "fedcba9876543210");
  EXPECT_EQ((*list)[1].expires, kT0 + std::chrono::hours(24));

  auto before = store_->FindAccountByToken(day, kT0 + std::chrono::hours(23));
  ASSERT_TRUE(before.has_value() && before->has_value());
  auto after = store_->FindAccountByToken(day, kT0 + std::chrono::hours(24));
  ASSERT_TRUE(after.has_value());
  EXPECT_FALSE(after->has_value()) << "expired";

  auto foreign = store_->RevokeToken(other, "0123456789abcdef");
  ASSERT_FALSE(foreign.has_value());
  EXPECT_EQ(foreign.error().code, ErrorCode::kNotFound) << "another account's token";
  ASSERT_TRUE(store_->RevokeToken(id, "0123456789abcdef").has_value());
  auto revoked = store_->FindAccountByToken(forever, kT0);
  ASSERT_TRUE(revoked.has_value());
  EXPECT_FALSE(revoked->has_value());
  EXPECT_EQ(store_->ListTokens(id)->size(), 1u);
  auto again = store_->RevokeToken(id, "0123456789abcdef");
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->ListTokens(other)->size(), 1u);
}

TEST_P(StoreConformance, TokensAndSmtpPasswordsAreFoundByTheirHash) {
  const AccountId id = MakeAccount("demo", {1000});
  const std::string hash(64, 'a');
  ASSERT_TRUE(store_->AddToken(id, hash, kT0).has_value());
  auto found = store_->FindAccountByToken(hash, kT0);
  ASSERT_TRUE(found.has_value() && found->has_value());
  EXPECT_EQ((*found)->name, "demo");
  EXPECT_EQ((*found)->uids, std::vector<Uid>{1000});
  auto unknown = store_->FindAccountByToken(std::string(64, 'b'), kT0);
  ASSERT_TRUE(unknown.has_value());
  EXPECT_FALSE(unknown->has_value());
  auto twice = store_->AddToken(id, hash, kT0);
  ASSERT_FALSE(twice.has_value());
  EXPECT_EQ(twice.error().code, ErrorCode::kInvalidInput);
  auto nobody = store_->AddToken(id + 100, std::string(64, 'c'), kT0);
  ASSERT_FALSE(nobody.has_value());
  EXPECT_EQ(nobody.error().code, ErrorCode::kNotFound);

  auto none = store_->GetSmtpPasswordHash("demo");
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(store_->SetSmtpPassword(id, "$argon2id$one").has_value());
  ASSERT_TRUE(store_->SetSmtpPassword(id, "$argon2id$two").has_value());
  EXPECT_EQ(store_->GetSmtpPasswordHash("demo")->value_or(""), "$argon2id$two");
  EXPECT_FALSE(store_->GetSmtpPasswordHash("nobody")->has_value());
  auto missing = store_->SetSmtpPassword(id + 100, "x");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_P(StoreConformance, CountersFollowDeliveriesPerDayAndErrorsAreListed) {
  const AccountId id = MakeAccount("demo");
  const TimePoint day1 = kT0;
  const TimePoint day2 = kT0 + std::chrono::hours(24);
  auto ids = Insert({Message(id, day1, {"a@example.net", "nobody@example.net"}, "mixed"),
                     Message(id, day1, {"gone@example.net"}, "bounced")});
  auto claimed = Claim(day1, 10);
  ASSERT_EQ(claimed.size(), 2u);
  Record({{.id = ids[0],
           .recipients = {{.index = 0, .status = RecipientStatus::kSent, .reply = "250 ok"},
                          {.index = 1, .status = RecipientStatus::kFailed, .reply = "550 no"}},
           .next_attempt = {}},
          {.id = ids[1],
           .recipients = {{.index = 0, .status = RecipientStatus::kPending, .reply = "451"}},
           .next_attempt = day2}},
         day1 + seconds(1));
  Claim(day2, 10);
  Record({{.id = ids[1],
           .recipients = {{.index = 0,
                           .status = RecipientStatus::kFailed,
                           .reply = "550 gone",
                           .category = "bad_mailbox"}},
           .next_attempt = {}}},
         day2);
  // A replay counts nothing twice.
  Record({{.id = ids[1],
           .recipients = {{.index = 0, .status = RecipientStatus::kFailed, .reply = "550 gone"}},
           .next_attempt = {}}},
         day2);

  auto c = store_->GetCounters(id, LocalDayNumber(day2));
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->submitted, 2);
  EXPECT_EQ(c->sent, 1) << "a message with one recipient accepted counts as sent";
  EXPECT_EQ(c->sent_today, 0);
  EXPECT_EQ(c->errors, 2);
  EXPECT_EQ(c->errors_today, 1);
  EXPECT_EQ(c->held, 0);
  EXPECT_EQ(c->queued, 0);
  auto missing = store_->GetCounters(id + 100, LocalDayNumber(day2));
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);

  auto days = store_->GetVolumes(id, LocalDayNumber(day1), LocalDayNumber(day2));
  ASSERT_TRUE(days.has_value());
  ASSERT_EQ(days->size(), 2u);
  EXPECT_EQ((*days)[0].day, LocalDayNumber(day1));
  EXPECT_EQ((*days)[0].submitted, 2);
  EXPECT_EQ((*days)[0].sent, 1);
  EXPECT_EQ((*days)[0].errors, 1);
  EXPECT_EQ((*days)[1].day, LocalDayNumber(day2));
  EXPECT_EQ((*days)[1].errors, 1);
  EXPECT_EQ(store_->GetVolumes(id, LocalDayNumber(day2), LocalDayNumber(day2))->size(), 1u);

  auto errors = store_->ListErrors(id, day1, 1, std::nullopt);
  ASSERT_TRUE(errors.has_value()) << errors.error().message;
  ASSERT_EQ(errors->size(), 1u);
  EXPECT_EQ((*errors)[0].recipient, "gone@example.net");
  EXPECT_EQ((*errors)[0].reply, "550 gone");
  EXPECT_EQ((*errors)[0].category, "bad_mailbox");
  EXPECT_EQ((*errors)[0].subject, "bounced");
  EXPECT_EQ((*errors)[0].at, day2);
  auto more = store_->ListErrors(
      id, day1, 10,
      ErrorCursor{
          .at = (*errors)[0].at, .message = (*errors)[0].message, .index = (*errors)[0].index});
  ASSERT_TRUE(more.has_value());
  ASSERT_EQ(more->size(), 1u);
  EXPECT_EQ((*more)[0].recipient, "nobody@example.net");
  EXPECT_EQ((*more)[0].subject, "mixed");
  EXPECT_EQ((*more)[0].category, "") << "given none";
  EXPECT_EQ(store_->ListErrors(id, day2, 10, std::nullopt)->size(), 1u) << "since";
}

TEST_P(StoreConformance, DeleteFinishedRemovesOnlyMailFinishedBeforeTheCutoffOldestFirst) {
  const AccountId id = MakeAccount("demo");
  const TimePoint day1 = kT0;
  const TimePoint day2 = kT0 + std::chrono::hours(24);
  // Finished on day 1: sent (0), bounced (1), and one more sent (2), in that order in time;
  // finished on day 2 (3); deferred, still unfinished (4); never tried (5).
  auto ids = Insert({Message(id, day1, {"a@example.net"}, "sent"),
                     Message(id, day1, {"gone@example.net"}, "bounced"),
                     Message(id, day1, {"b@example.net"}, "sent later"),
                     Message(id, day1, {"c@example.net"}, "sent next day"),
                     Message(id, day1, {"slow@example.net"}, "deferred"),
                     Message(id, day2, {"d@example.net"}, "queued")});
  ASSERT_EQ(Claim(day1, 5).size(), 5u);
  auto finish = [](MessageId m, RecipientStatus status, std::string reply) {
    return DeliveryOutcome{.id = m,
                           .recipients = {{.index = 0, .status = status, .reply = reply}},
                           .next_attempt = {}};
  };
  Record({finish(ids[1], RecipientStatus::kFailed, "550 gone")}, day1 + seconds(1));
  Record({finish(ids[0], RecipientStatus::kSent, "250 ok")}, day1 + seconds(2));
  Record({finish(ids[2], RecipientStatus::kSent, "250 ok")}, day1 + seconds(3));
  Record({{.id = ids[4],
           .recipients = {{.index = 0, .status = RecipientStatus::kPending, .reply = "451 later"}},
           .next_attempt = day2 + std::chrono::hours(1)}},
         day1 + seconds(4));
  Record({finish(ids[3], RecipientStatus::kSent, "250 ok")}, day2);
  const AccountCounters before = GetCounters(id);

  // The limit holds, and the longest finished go first: the bounce, then the first sent.
  auto deleted = store_->DeleteFinished(day2, 2);
  ASSERT_TRUE(deleted.has_value()) << deleted.error().message;
  EXPECT_EQ(*deleted, 2);
  auto gone = store_->GetMessage(ids[1]);
  ASSERT_TRUE(gone.has_value());
  EXPECT_FALSE(gone->has_value());
  EXPECT_FALSE(store_->GetMessage(ids[0])->has_value());
  EXPECT_TRUE(store_->GetMessage(ids[2])->has_value());
  // The rest of what finished before the cutoff; then nothing more.
  EXPECT_EQ(store_->DeleteFinished(day2, 100).value_or(-1), 1);
  EXPECT_EQ(store_->DeleteFinished(day2, 100).value_or(-1), 0);
  EXPECT_FALSE(store_->GetMessage(ids[2])->has_value());

  EXPECT_EQ(GetMessage(ids[3]).status, MessageStatus::kDone) << "finished at the cutoff: kept";
  EXPECT_EQ(GetMessage(ids[4]).status, MessageStatus::kQueued) << "unfinished: never deleted";
  EXPECT_EQ(GetMessage(ids[5]).status, MessageStatus::kQueued);
  EXPECT_EQ(db_->QueryInt("SELECT COUNT(*) FROM " + std::string(schema::kRecipientsTable)), 3)
      << "the recipients of deleted messages go with them";

  // The figures are kept apart from the messages and do not change.
  const AccountCounters after = GetCounters(id);
  EXPECT_EQ(after.submitted, before.submitted);
  EXPECT_EQ(after.sent, before.sent);
  EXPECT_EQ(after.errors, before.errors);
  EXPECT_EQ(after.queued, 2);
  auto days = store_->GetVolumes(id, LocalDayNumber(day1), LocalDayNumber(day1));
  ASSERT_TRUE(days.has_value());
  ASSERT_EQ(days->size(), 1u);
  EXPECT_EQ((*days)[0].errors, 1);
  // The errors list reaches back to the cutoff only.
  auto errors = store_->ListErrors(id, day1, 10, std::nullopt);
  ASSERT_TRUE(errors.has_value()) << errors.error().message;
  EXPECT_TRUE(errors->empty());
  // Delivery goes on as before.
  std::vector<MessageId> due = Ids(Claim(day2 + std::chrono::hours(2)));
  std::sort(due.begin(), due.end());
  EXPECT_EQ(due, (std::vector<MessageId>{ids[4], ids[5]}));
}

// The claim changes a message's state, not its body: SQLite must not write the body again.
// A row whose size changes is rewritten whole (a 100 KB body's 25 overflow pages freed and
// written anew); the claim keeps the size, so only the pages that changed reach the WAL.
TEST_P(StoreConformance, ClaimingALargeMessageDoesNotWriteItsBodyAgain) {
  if (GetParam().name != "sqlite") GTEST_SKIP() << "how SQLite writes rows";
  const AccountId id = MakeAccount("demo");
  ASSERT_TRUE(store_->ReleaseLeases("n1").has_value());  // as the daemon does at start
  NewMessage big = Message(id, kT0);
  big.body = "Subject: big\r\n\r\n";
  while (big.body.size() < 100 * 1024) big.body += std::string(76, 'x') + "\r\n";
  Insert({big});
  const auto wal = static_cast<SqliteTestDatabase&>(*db_).file().string() + "-wal";
  db_->Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  ASSERT_EQ(std::filesystem::file_size(wal), 0u);

  auto claimed = Claim(kT0, 1, "n1");
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].body, big.body);
  // A WAL frame is a 24-byte header and a 4 KB page, after the WAL's 32-byte header.
  const auto frames = (std::filesystem::file_size(wal) - 32) / (24 + 4096);
  EXPECT_LT(frames, 10u) << "pages written by the claim; the body alone is 26";
}

// A large body (SQLite writes it into its pages after the row is made) is stored byte for
// byte, beside a small one of the same group commit.
TEST_P(StoreConformance, ALargeBodyIsStoredWhole) {
  const AccountId id = MakeAccount("demo");
  NewMessage big = Message(id, kT0);
  big.body = "Subject: big\r\n\r\n";
  for (int line = 0; big.body.size() < 1'500'000; ++line) {
    big.body += std::to_string(line * 7919) + std::string(static_cast<std::size_t>(line % 70), 'x');
    big.body += "\r\n";
  }
  NewMessage small = Message(id, kT0);
  small.body = "Subject: small\r\n\r\nhi\r\n";
  auto ids = Insert({big, small});

  auto claimed = Claim(kT0, 2);
  ASSERT_EQ(claimed.size(), 2u);
  for (const ClaimedMessage& m : claimed) {
    EXPECT_EQ(m.body, m.id == ids[0] ? big.body : small.body) << "message " << m.id;
  }
  auto headers = store_->GetMessageHeaders(id, ids[0]);
  ASSERT_TRUE(headers.has_value()) << headers.error().message;
  EXPECT_EQ(*headers, "Subject: big\r\n");
}

// Decided once for both engines: a batch reads no more purged rows than purge_left says are
// left, and a counter ahead of the rows (a bug) ends the job rather than keeping it going.
TEST_P(StoreConformance, PurgeBatchReadsNoMoreThanIsLeftAndEndsOnACounterAheadOfTheRows) {
  const AccountId id = MakeAccount("demo");
  auto held = Insert(
      {Message(id, kT0), Message(id, kT0 + milliseconds(1)), Message(id, kT0 + milliseconds(2))});
  SetState(id, AccountState::kActive, AccountState::kBlocked, BlockedBy::kCustomer);
  StartPurge(id, kT0 + seconds(1));
  auto later = Insert({Message(id, kT0 + seconds(2))});
  // A limit far above what is left deletes exactly the purged rows, none stored since.
  auto left = store_->PurgeBatch(id, 1000, kT0 + seconds(3));
  ASSERT_TRUE(left.has_value()) << left.error().message;
  EXPECT_EQ(*left, 0);
  EXPECT_EQ(GetAccount("demo").purge_left, 0);
  EXPECT_EQ(GetMessage(later[0]).status, MessageStatus::kQueued);
  EXPECT_EQ(db_->QueryInt("SELECT COUNT(*) FROM " + std::string(schema::kMessagesTable) +
                          " WHERE account_id = " + std::to_string(id)),
            1);

  // A counter that says more is left than there is: the next batch finds fewer rows than it
  // asked for, and the job ends.
  db_->Exec("UPDATE " + std::string(schema::kAccountsTable) +
            " SET purge_left = 7 WHERE id = " + std::to_string(id));
  left = store_->PurgeBatch(id, 3, kT0 + seconds(4));
  ASSERT_TRUE(left.has_value()) << left.error().message;
  EXPECT_EQ(*left, 0) << "three asked, none found: nothing is left under the watermark";
  EXPECT_EQ(GetAccount("demo").purge_left, 0);
  EXPECT_EQ(GetMessage(later[0]).status, MessageStatus::kQueued) << "never the newer mail";
  EXPECT_EQ(held.size(), 3u);
}

// Decided once for both engines: ids given twice (or in any order) are looked up once each,
// and each message counts once.
TEST_P(StoreConformance, ReleaseAndDeleteCountAnIdGivenTwiceOnce) {
  const AccountId id = MakeAccount("demo");
  auto held = Insert(
      {Message(id, kT0), Message(id, kT0 + milliseconds(1)), Message(id, kT0 + milliseconds(2))});
  SetState(id, AccountState::kActive, AccountState::kBlocked, BlockedBy::kCustomer);
  auto released = store_->ReleaseHeld(id, {.ids = {held[1], held[0], held[1], held[1]}}, kT0);
  ASSERT_TRUE(released.has_value()) << released.error().message;
  EXPECT_EQ(*released, 2);
  EXPECT_EQ(GetCounters(id).queued, 2);
  auto deleted = store_->DeleteHeld(id, {.ids = {held[2], held[2], held[2]}}, kT0);
  ASSERT_TRUE(deleted.has_value()) << deleted.error().message;
  EXPECT_EQ(*deleted, 1);
  const AccountCounters counters = GetCounters(id);
  EXPECT_EQ(counters.purged, 1);
  EXPECT_EQ(counters.held, 0);
  EXPECT_EQ(GetAccount("demo").pending, 2);
}

// Ids are never reused under a purge's watermark: once a purge's rows are deleted, mail stored
// after it is listed, found, released and delivered like any other.
TEST_P(StoreConformance, MailStoredAfterAPurgeWhoseRowsAreGoneIsListedFoundAndDelivered) {
  const AccountId id = MakeAccount("demo");
  Insert(
      {Message(id, kT0), Message(id, kT0 + milliseconds(1)), Message(id, kT0 + milliseconds(2))});
  SetState(id, AccountState::kActive, AccountState::kBlocked, BlockedBy::kCustomer);
  StartPurge(id, kT0 + seconds(1));
  ASSERT_EQ(*store_->PurgeBatch(id, 100, kT0 + seconds(1)), 0);
  SetState(id, AccountState::kPurging, AccountState::kActive);
  SetState(id, AccountState::kActive, AccountState::kBlocked, BlockedBy::kCustomer);
  auto later = Insert({Message(id, kT0 + seconds(2)), Message(id, kT0 + seconds(3))});
  EXPECT_GT(later[0], GetAccount("demo").purge_upto);
  auto listed = store_->ListPending(id, 10, 0);
  ASSERT_TRUE(listed.has_value());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].id, later[1]);
  EXPECT_EQ(GetMessage(later[0]).status, MessageStatus::kQueued);
  EXPECT_EQ(*store_->ReleaseHeld(id, {.ids = {later[0]}}, kT0 + seconds(4)), 1);
  auto claimed = Claim(kT0 + seconds(5));
  ASSERT_EQ(Ids(claimed), std::vector<MessageId>{later[0]});
  Record(AllRecipients(claimed, RecipientStatus::kSent, "250 ok"), kT0 + seconds(6));
  EXPECT_EQ(GetCounters(id).sent, 1) << "its outcome is recorded, not ignored as purged";
  EXPECT_EQ(GetCounters(id).held, 1);
}

// A purge deletes the rows of mail that may be in flight; when its delivery ends, the outcome
// names the purged message's id. No mail stored after the purge, of any account, may have that
// id: the outcome would finish it unsent.
TEST_P(StoreConformance, ALatePurgedOutcomeNeverFinishesAnotherAccountsNewMail) {
  const AccountId id = MakeAccount("demo");
  const AccountId other = MakeAccount("other");
  Insert({Message(id, kT0), Message(id, kT0 + milliseconds(1))});
  auto in_flight = Claim(kT0 + seconds(1));
  ASSERT_EQ(in_flight.size(), 2u);
  SetState(id, AccountState::kActive, AccountState::kBlocked, BlockedBy::kCustomer);
  StartPurge(id, kT0 + seconds(2));
  ASSERT_EQ(*store_->PurgeBatch(id, 100, kT0 + seconds(2)), 0);  // the rows are gone
  const auto later = Insert({Message(other, kT0 + seconds(3)), Message(id, kT0 + seconds(3))});
  for (const auto& purged : in_flight) {
    EXPECT_NE(later[0], purged.id);
    EXPECT_NE(later[1], purged.id);
  }
  Record(AllRecipients(in_flight, RecipientStatus::kSent, "250 ok"), kT0 + seconds(4));
  EXPECT_EQ(GetMessage(later[0]).status, MessageStatus::kQueued) << "still to be delivered";
  EXPECT_EQ(GetAccount("other").pending, 1);
  EXPECT_EQ(GetCounters(other).sent, 0);
  EXPECT_EQ(Ids(Claim(kT0 + seconds(5))), std::vector<MessageId>{later[0]});
}

}  // namespace
}  // namespace mailwarden::conformance
