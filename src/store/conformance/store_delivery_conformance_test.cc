// Store conformance: inserting, claiming and recording outcomes.
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

// --- Inserting ---

TEST_P(StoreConformance, InsertReturnsIdsInOrderAndStoresEverything) {
  const AccountId id = MakeAccount("demo");
  NewMessage first = Message(id, kT0, {"a@example.net", "b@example.net"}, "first");
  first.uid = 1234;
  auto ids = Insert({first, Message(id, kT0, {"c@example.net"}, "second"),
                     Message(id, kT0 + seconds(1), {"d@example.net"}, "third")});
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_LT(ids[0], ids[1]);
  EXPECT_LT(ids[1], ids[2]);
  EXPECT_EQ(GetMessage(ids[1]).subject, "second");
  EXPECT_EQ(GetAccount("demo").pending, 3);

  StoredMessage m = GetMessage(ids[0]);
  EXPECT_EQ(m.id, ids[0]);
  EXPECT_EQ(m.account, id);
  EXPECT_EQ(m.sender, "www@site.example");
  EXPECT_EQ(m.subject, "first");
  EXPECT_EQ(m.script, "/home/site/contact.php");
  EXPECT_EQ(m.uid, 1234u);
  EXPECT_EQ(m.size, static_cast<std::int64_t>(first.body.size()));
  EXPECT_EQ(m.status, MessageStatus::kQueued);
  EXPECT_EQ(m.attempts, 0);
  EXPECT_EQ(m.received_at, kT0);
  EXPECT_EQ(m.next_attempt, kT0);
  ASSERT_EQ(m.recipients.size(), 2u);
  EXPECT_EQ(m.recipients[0].index, 0);
  EXPECT_EQ(m.recipients[0].address, "a@example.net");
  EXPECT_EQ(m.recipients[1].index, 1);
  EXPECT_EQ(m.recipients[1].address, "b@example.net");
  for (const auto& r : m.recipients) EXPECT_EQ(r.status, RecipientStatus::kPending);

  auto missing = store_->GetMessage(ids[2] + 1);
  ASSERT_TRUE(missing.has_value());
  EXPECT_FALSE(missing->has_value());
}

TEST_P(StoreConformance, InsertIsAllOrNothing) {
  const AccountId id = MakeAccount("demo");
  const AccountId unknown = id + 100;
  const std::vector<NewMessage> batch = {Message(id, kT0), Message(unknown, kT0)};
  auto ids = store_->InsertMessages(batch);
  ASSERT_FALSE(ids.has_value());
  EXPECT_EQ(ids.error().code, ErrorCode::kNotFound);

  const std::vector<NewMessage> no_recipient = {Message(id, kT0), Message(id, kT0, {})};
  auto refused = store_->InsertMessages(no_recipient);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidInput);

  EXPECT_EQ(GetAccount("demo").pending, 0);
  EXPECT_TRUE(Claim(kT0 + seconds(1)).empty());
  EXPECT_EQ(db_->QueryInt("SELECT COUNT(*) FROM " + std::string(schema::kMessagesTable)), 0);
}

// --- Claiming ---

TEST_P(StoreConformance, ClaimTakesOnlyDueMessagesOldestFirst) {
  const AccountId id = MakeAccount("demo");
  auto ids = Insert({Message(id, kT0 + seconds(2), {"x@example.net"}, "newer"),
                     Message(id, kT0, {"y@example.net"}, "older"),
                     Message(id, kT0 + minutes(10), {"z@example.net"}, "future")});
  auto claimed = Claim(kT0 + seconds(5));
  EXPECT_EQ(Ids(claimed), (std::vector<MessageId>{ids[1], ids[0]}));

  // Same due time: the lower id (the earlier submission) first.
  const AccountId other = MakeAccount("other");
  auto same = Insert({Message(other, kT0), Message(other, kT0), Message(other, kT0)});
  EXPECT_EQ(Ids(Claim(kT0 + seconds(5))), same);
}

TEST_P(StoreConformance, ClaimHandsOverWhatDeliveryNeeds) {
  const AccountId id = MakeAccount("demo");
  NewMessage m = Message(id, kT0, {"a@example.net", "b@example.net"}, "report");
  auto ids = Insert({m});
  auto claimed = Claim(kT0 + seconds(1), 10, "node-a");
  ASSERT_EQ(claimed.size(), 1u);
  const ClaimedMessage& c = claimed[0];
  EXPECT_EQ(c.id, ids[0]);
  EXPECT_EQ(c.account, id);
  EXPECT_EQ(c.account_name, "demo");
  EXPECT_EQ(c.sender, m.sender);
  EXPECT_EQ(c.subject, "report");
  EXPECT_EQ(c.body, m.body);
  EXPECT_EQ(c.attempts, 0) << "attempts made before this one";
  EXPECT_EQ(c.received_at, kT0);
  ASSERT_EQ(c.recipients.size(), 2u);
  EXPECT_EQ(c.recipients[0].index, 0);
  EXPECT_EQ(c.recipients[0].address, "a@example.net");
  EXPECT_EQ(c.recipients[1].index, 1);

  StoredMessage stored = GetMessage(ids[0]);
  EXPECT_EQ(stored.status, MessageStatus::kDelivering);
  EXPECT_EQ(stored.attempts, 1) << "attempts started, this one included";
  EXPECT_EQ(stored.next_attempt, kT0 + seconds(1) + minutes(5)) << "the lease's end";
}

TEST_P(StoreConformance, ClaimKeepsToTheLimit) {
  const AccountId id = MakeAccount("demo");
  std::vector<NewMessage> batch;
  for (int i = 0; i < 7; ++i) batch.push_back(Message(id, kT0 + milliseconds(i)));
  auto ids = Insert(batch);
  EXPECT_EQ(Ids(Claim(kT0 + seconds(1), 3)), (std::vector<MessageId>{ids[0], ids[1], ids[2]}));
  EXPECT_EQ(Ids(Claim(kT0 + seconds(1), 3)), (std::vector<MessageId>{ids[3], ids[4], ids[5]}));
  EXPECT_EQ(Ids(Claim(kT0 + seconds(1), 3)), (std::vector<MessageId>{ids[6]}));
  EXPECT_TRUE(Claim(kT0 + seconds(1), 3).empty());
  EXPECT_TRUE(Claim(kT0 + seconds(1), 0).empty());
}

// Delivery's memory: a claim keeps its bodies within max_bytes, and the first message that
// would go past it ends the claim, so that no smaller message behind it is taken first.
TEST_P(StoreConformance, ClaimKeepsToTheBytesInOrder) {
  const std::vector<MessageId> ids = Insert(SizedMessages(MakeAccount("demo"), {100, 300, 100}));
  ASSERT_EQ(ids.size(), 3u);
  auto claim = [&](std::int64_t max_bytes, bool first_regardless) {
    ClaimRequest request{
        .now = kT0 + seconds(1), .limit = 10, .lease_until = kT0 + minutes(5), .node = "n1"};
    request.max_bytes = max_bytes;
    request.first_regardless = first_regardless;
    auto claimed = store_->ClaimDue(request);
    EXPECT_TRUE(claimed.has_value()) << claimed.error().message;
    return claimed.value_or(ClaimedBatch{});
  };
  ClaimedBatch first = claim(350, false);
  EXPECT_EQ(Ids(first.messages), std::vector<MessageId>{ids[0]})
      << "100 + 300 would pass 350; the last 100 would fit but must not pass the 300";
  EXPECT_TRUE(first.budget_reached);
  ASSERT_EQ(first.messages.size(), 1u);
  EXPECT_EQ(first.messages[0].body.size(), 100u);

  ClaimedBatch none = claim(50, false);
  EXPECT_TRUE(none.messages.empty());
  EXPECT_TRUE(none.budget_reached) << "due mail is left, waiting for room";

  ClaimedBatch alone = claim(50, true);
  EXPECT_EQ(Ids(alone.messages), std::vector<MessageId>{ids[1]}) << "larger than all, alone";
  EXPECT_TRUE(alone.budget_reached);

  ClaimedBatch last = claim(100, false);
  EXPECT_EQ(Ids(last.messages), std::vector<MessageId>{ids[2]});
  EXPECT_FALSE(last.budget_reached) << "exactly max_bytes fits";

  ClaimedBatch empty = claim(100, false);
  EXPECT_TRUE(empty.messages.empty());
  EXPECT_FALSE(empty.budget_reached) << "nothing due is not a lack of room";
}

// The same for mail leased on arrival: an offer lends its bytes, and the first message past
// them, with every one after it, stays queued for a claim.
TEST_P(StoreConformance, InsertLeasesNoMoreBytesThanOffered) {
  const std::vector<NewMessage> batch = SizedMessages(MakeAccount("demo"), {100, 200, 50});
  ArrivalLease lease{.node = "n1", .limit = 5, .lease_for = minutes(15), .max_bytes = 250};
  auto stored = store_->InsertMessages(batch, lease);
  ASSERT_TRUE(stored.has_value()) << stored.error().message;
  std::vector<bool> leased;
  for (const auto& m : stored->messages) leased.push_back(m.leased);
  EXPECT_EQ(leased, (std::vector<bool>{true, false, false}));
  EXPECT_TRUE(stored->lease_exhausted);
  EXPECT_EQ(Ids(Claim(kT0 + seconds(1))),
            (std::vector<MessageId>{stored->messages[1].id, stored->messages[2].id}));
}

TEST_P(StoreConformance, ClaimIsFairAcrossAccounts) {
  // A flood in one account, older than everything else, must not starve the others.
  const AccountId flood = MakeAccount("flood");
  const AccountId quiet = MakeAccount("quiet");
  const AccountId third = MakeAccount("third");
  std::vector<NewMessage> batch;
  for (int i = 0; i < 50; ++i) batch.push_back(Message(flood, kT0 + milliseconds(i)));
  Insert(batch);
  auto quiet_ids = Insert({Message(quiet, kT0 + seconds(1)), Message(quiet, kT0 + seconds(2))});
  auto third_ids = Insert({Message(third, kT0 + seconds(3))});

  auto claimed = Claim(kT0 + minutes(1), 6);
  ASSERT_EQ(claimed.size(), 6u);
  std::map<AccountId, int> per_account;
  for (const auto& m : claimed) ++per_account[m.account];
  EXPECT_EQ(per_account[flood], 3);
  EXPECT_EQ(per_account[quiet], 2);
  EXPECT_EQ(per_account[third], 1);
  // Round-robin, longest-waiting account first: flood, quiet, third, flood, quiet, flood.
  EXPECT_EQ(claimed[0].account, flood);
  EXPECT_EQ(claimed[1].id, quiet_ids[0]);
  EXPECT_EQ(claimed[2].id, third_ids[0]);
  EXPECT_EQ(claimed[4].id, quiet_ids[1]);

  // More due accounts than the limit: the ones waiting longest go first, then the rest.
  const AccountId fourth = MakeAccount("fourth");
  Insert({Message(fourth, kT0 + seconds(4))});
  auto next = Claim(kT0 + minutes(1), 1);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].account, flood);
  next = Claim(kT0 + minutes(1), 2);
  ASSERT_EQ(next.size(), 2u);
  EXPECT_EQ(next[1].account, fourth);
}

TEST_P(StoreConformance, BlockedAndPurgingAccountsAreNeverClaimed) {
  const AccountId held = MakeAccount("held");
  const AccountId purging = MakeAccount("purging");
  const AccountId active = MakeAccount("active");
  auto held_ids = Insert({Message(held, kT0), Message(held, kT0 + seconds(1))});
  Insert({Message(purging, kT0)});
  auto active_ids = Insert({Message(active, kT0 + seconds(5))});
  SetState(held, AccountState::kActive, AccountState::kBlocked, BlockedBy::kCustomer);
  SetState(purging, AccountState::kActive, AccountState::kBlocked, BlockedBy::kSpamGuard);
  SetState(purging, AccountState::kBlocked, AccountState::kPurging, BlockedBy::kSpamGuard);

  EXPECT_EQ(Ids(Claim(kT0 + minutes(1))), active_ids);
  EXPECT_TRUE(Claim(kT0 + minutes(1)).empty());
  EXPECT_EQ(GetAccount("held").pending, 2) << "held mail stays counted as unfinished";

  // Unblocking releases the held mail at once, oldest first.
  SetState(held, AccountState::kBlocked, AccountState::kActive);
  EXPECT_EQ(Ids(Claim(kT0 + minutes(1))), held_ids);
}

TEST_P(StoreConformance, AnExpiredLeaseMakesTheMessageDueAgain) {
  const AccountId id = MakeAccount("demo");
  auto ids = Insert({Message(id, kT0, {"a@example.net", "b@example.net"})});
  ASSERT_EQ(Claim(kT0, 10, "dead-node").size(), 1u);  // leased until kT0 + 5 min
  EXPECT_TRUE(Claim(kT0 + minutes(4), 10, "n2").empty());
  auto again = Claim(kT0 + minutes(5), 10, "n2");
  ASSERT_EQ(Ids(again), ids);
  EXPECT_EQ(again[0].attempts, 1);
  EXPECT_EQ(again[0].recipients.size(), 2u);
}

TEST_P(StoreConformance, TwoStoresOnOneDatabaseNeverClaimTheSameMessage) {
  auto second = OpenOrDie();
  ASSERT_NE(second, nullptr);
  const AccountId id = MakeAccount("demo");
  std::vector<NewMessage> batch;
  for (int i = 0; i < 20; ++i) batch.push_back(Message(id, kT0 + milliseconds(i)));
  Insert(batch);
  std::set<MessageId> seen;
  for (int round = 0; round < 5; ++round) {
    for (Store* store : {store_.get(), second.get()}) {
      for (const auto& m : Claim(kT0 + seconds(1), 3, "n", store)) {
        EXPECT_TRUE(seen.insert(m.id).second) << "claimed twice: " << m.id;
      }
    }
  }
  EXPECT_EQ(seen.size(), 20u);
}

// --- Outcomes ---

TEST_P(StoreConformance, AllRecipientsDoneFinishesTheMessage) {
  const AccountId id = MakeAccount("demo");
  auto ids = Insert({Message(id, kT0, {"a@example.net", "b@example.net"}), Message(id, kT0)});
  auto claimed = Claim(kT0 + seconds(1), 1);
  ASSERT_EQ(Ids(claimed), std::vector<MessageId>{ids[0]});
  Record({{.id = ids[0],
           .recipients = {{.index = 0, .status = RecipientStatus::kSent, .reply = "250 ok"},
                          {.index = 1, .status = RecipientStatus::kSent, .reply = "250 queued"}},
           .next_attempt = {}}},
         kT0 + seconds(2));

  StoredMessage m = GetMessage(ids[0]);
  EXPECT_EQ(m.status, MessageStatus::kDone);
  EXPECT_EQ(m.recipients[0].status, RecipientStatus::kSent);
  EXPECT_EQ(m.recipients[0].reply, "250 ok");
  EXPECT_EQ(m.recipients[1].reply, "250 queued");
  EXPECT_EQ(m.recipients[1].updated_at, kT0 + seconds(2));
  EXPECT_EQ(GetAccount("demo").pending, 1);
  EXPECT_EQ(Ids(Claim(kT0 + minutes(10))), std::vector<MessageId>{ids[1]})
      << "a finished message is never claimed again";
  EXPECT_EQ(db_->QueryInt("SELECT COUNT(*) FROM " + std::string(schema::kMessagesTable) +
                          " WHERE body IS NULL"),
            1)
      << "a finished message's body is dropped";
}

TEST_P(StoreConformance, FailedRepliesAreKept) {
  const AccountId id = MakeAccount("demo");
  auto ids = Insert({Message(id, kT0, {"nobody@example.net", "b@example.net"})});
  Claim(kT0);
  Record({{.id = ids[0],
           .recipients =
               {{.index = 0, .status = RecipientStatus::kFailed, .reply = "550 5.1.1 no such user"},
                {.index = 1, .status = RecipientStatus::kSent, .reply = "250 ok"}},
           .next_attempt = {}}},
         kT0 + seconds(3));
  StoredMessage m = GetMessage(ids[0]);
  EXPECT_EQ(m.status, MessageStatus::kDone);
  EXPECT_EQ(m.recipients[0].status, RecipientStatus::kFailed);
  EXPECT_EQ(m.recipients[0].reply, "550 5.1.1 no such user");
  EXPECT_EQ(m.recipients[1].status, RecipientStatus::kSent);
  EXPECT_EQ(GetAccount("demo").pending, 0);
}

TEST_P(StoreConformance, ADeferredRecipientIsRetriedAloneAtItsNextAttempt) {
  const AccountId id = MakeAccount("demo");
  auto ids = Insert({Message(id, kT0, {"a@example.net", "b@example.net", "c@example.net"})});
  Claim(kT0);
  const TimePoint retry = kT0 + minutes(1);
  Record({{.id = ids[0],
           .recipients =
               {{.index = 0, .status = RecipientStatus::kSent, .reply = "250 ok"},
                {.index = 1, .status = RecipientStatus::kPending, .reply = "451 4.7.1 greylisted"}},
           .next_attempt = retry}},
         kT0 + seconds(1));

  StoredMessage m = GetMessage(ids[0]);
  EXPECT_EQ(m.status, MessageStatus::kQueued);
  EXPECT_EQ(m.next_attempt, retry);
  EXPECT_EQ(m.recipients[1].status, RecipientStatus::kPending);
  EXPECT_EQ(m.recipients[1].reply, "451 4.7.1 greylisted");
  EXPECT_EQ(m.recipients[2].reply, "") << "not listed: as it was";
  EXPECT_EQ(GetAccount("demo").pending, 1);

  EXPECT_TRUE(Claim(retry - milliseconds(1)).empty());
  auto again = Claim(retry);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempts, 1);
  ASSERT_EQ(again[0].recipients.size(), 2u);
  EXPECT_EQ(again[0].recipients[0].index, 1);
  EXPECT_EQ(again[0].recipients[0].address, "b@example.net");
  EXPECT_EQ(again[0].recipients[1].index, 2);
}

TEST_P(StoreConformance, OutcomesAreIdempotent) {
  const AccountId id = MakeAccount("demo");
  auto ids = Insert({Message(id, kT0, {"a@example.net"}), Message(id, kT0)});
  Claim(kT0);
  const DeliveryOutcome sent{
      .id = ids[0],
      .recipients = {{.index = 0, .status = RecipientStatus::kSent, .reply = "250 ok"}},
      .next_attempt = {}};
  Record({sent}, kT0 + seconds(1));
  EXPECT_EQ(GetAccount("demo").pending, 1);

  // A replay, a late outcome of a lost lease saying otherwise, and an unknown message: the
  // finished message and the counter stay as they are.
  Record({sent}, kT0 + seconds(2));
  Record({{.id = ids[0],
           .recipients = {{.index = 0, .status = RecipientStatus::kFailed, .reply = "550"}},
           .next_attempt = {}},
          {.id = ids[1] + 1000, .recipients = {}, .next_attempt = {}}},
         kT0 + seconds(3));
  EXPECT_EQ(GetAccount("demo").pending, 1);
  StoredMessage m = GetMessage(ids[0]);
  EXPECT_EQ(m.status, MessageStatus::kDone);
  EXPECT_EQ(m.recipients[0].status, RecipientStatus::kSent);
  EXPECT_EQ(m.recipients[0].reply, "250 ok");
}

TEST_P(StoreConformance, ReleaseLeasesMakesTheNodesMessagesDueAtOnce) {
  const AccountId id = MakeAccount("demo");
  auto ids = Insert({Message(id, kT0), Message(id, kT0 + seconds(1))});
  ASSERT_EQ(Claim(kT0 + seconds(1), 1, "crashed").size(), 1u);
  ASSERT_EQ(Claim(kT0 + seconds(1), 1, "alive").size(), 1u);
  EXPECT_TRUE(Claim(kT0 + seconds(2)).empty());

  ASSERT_TRUE(store_->ReleaseLeases("crashed").has_value());
  EXPECT_EQ(GetMessage(ids[0]).status, MessageStatus::kQueued);
  EXPECT_EQ(GetMessage(ids[1]).status, MessageStatus::kDelivering) << "another node's lease";
  EXPECT_EQ(Ids(Claim(kT0 + seconds(2))), std::vector<MessageId>{ids[0]});
  ASSERT_TRUE(store_->ReleaseLeases("nobody").has_value());
}

TEST_P(StoreConformance, InsertLeasesNewMailOfActiveAccountsUpToTheLimitInOrder) {
  const AccountId active = MakeAccount("active");
  const AccountId held = MakeAccount("held");
  const AccountId waiting = MakeAccount("waiting");
  SetState(held, AccountState::kActive, AccountState::kBlocked, BlockedBy::kCustomer);
  ArrivalLease lease;
  lease.limit = 2;
  lease.lease_for = minutes(15);
  lease.node = "n1";
  lease.skip = {waiting};
  const std::vector<NewMessage> batch = {
      Message(active, kT0, {"a@example.net", "b@example.net"}, "first"), Message(held, kT0),
      Message(waiting, kT0), Message(active, kT0 + seconds(1), {"c@example.net"}),
      Message(active, kT0 + seconds(2))};
  auto stored = store_->InsertMessages(batch, lease);
  ASSERT_TRUE(stored.has_value()) << stored.error().message;
  ASSERT_EQ(stored->messages.size(), 5u);
  std::vector<bool> leased;
  for (const auto& m : stored->messages) leased.push_back(m.leased);
  EXPECT_EQ(leased, (std::vector<bool>{true, false, false, true, false}))
      << "the blocked and the skipped account's mail stays queued; the limit is 2";
  EXPECT_TRUE(stored->lease_exhausted) << "the active account's third message waits";
  EXPECT_EQ(stored->messages[0].account_name, "active");
  const MessageId first = stored->messages[0].id;
  const MessageId third = stored->messages[4].id;

  // Stored as a claim leaves it: delivering, its first attempt counted, due at the lease's end.
  StoredMessage m = GetMessage(first);
  EXPECT_EQ(m.status, MessageStatus::kDelivering);
  EXPECT_EQ(m.attempts, 1);
  EXPECT_EQ(m.next_attempt, kT0 + minutes(15));
  ASSERT_EQ(m.recipients.size(), 2u);
  EXPECT_EQ(m.recipients[1].status, RecipientStatus::kPending);
  EXPECT_EQ(GetCounters(active).queued, 3);
  EXPECT_EQ(GetCounters(held).held, 1);

  // No claim returns leased mail; the rest is claimed as any queued mail.
  auto claimed = Claim(kT0 + seconds(3), 100, "n2");
  std::vector<MessageId> claimed_ids = Ids(claimed);
  std::sort(claimed_ids.begin(), claimed_ids.end());
  EXPECT_EQ(claimed_ids, (std::vector<MessageId>{stored->messages[2].id, third}));
  auto next = store_->NextDueTime();
  ASSERT_TRUE(next.has_value() && next->has_value());
  EXPECT_EQ(**next, kT0 + seconds(3) + minutes(5)) << "the claims' leases end first";

  // Its outcome is recorded as any claimed message's.
  Record({{.id = first,
           .recipients = {{.index = 0, .status = RecipientStatus::kSent, .reply = "250 ok"},
                          {.index = 1, .status = RecipientStatus::kFailed, .reply = "550 no"}},
           .next_attempt = {}}},
         kT0 + seconds(4));
  EXPECT_EQ(GetMessage(first).status, MessageStatus::kDone);
  AccountCounters counters = GetCounters(active);
  EXPECT_EQ(counters.sent, 1);
  EXPECT_EQ(counters.errors, 1);
  EXPECT_EQ(counters.queued, 2);

  // The node's restart gives its lease on arrival back: due again.
  ASSERT_TRUE(store_->ReleaseLeases("n1").has_value());
  EXPECT_EQ(Ids(Claim(kT0 + seconds(5))), std::vector<MessageId>{stored->messages[3].id});

  // Slots to spare: nothing is exhausted. Without a limit nothing is leased.
  auto roomy =
      store_->InsertMessages(std::vector<NewMessage>{Message(active, kT0 + seconds(6))},
                             ArrivalLease{.node = "n1", .limit = 5, .lease_for = minutes(1)});
  ASSERT_TRUE(roomy.has_value());
  EXPECT_TRUE(roomy->messages[0].leased);
  EXPECT_FALSE(roomy->lease_exhausted);
  auto none = store_->InsertMessages(std::vector<NewMessage>{Message(active, kT0 + seconds(7))},
                                     ArrivalLease{});
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->messages[0].leased);
  EXPECT_FALSE(none->lease_exhausted);
  EXPECT_EQ(GetMessage(none->messages[0].id).status, MessageStatus::kQueued);

  // An offer with no slot left leases nothing, and says whether the mail it left was leasable.
  const ArrivalLease spent{.node = "n1", .limit = 0, .lease_for = minutes(1)};
  auto full =
      store_->InsertMessages(std::vector<NewMessage>{Message(active, kT0 + seconds(8))}, spent);
  ASSERT_TRUE(full.has_value());
  EXPECT_FALSE(full->messages[0].leased);
  EXPECT_TRUE(full->lease_exhausted);
  auto held_only =
      store_->InsertMessages(std::vector<NewMessage>{Message(held, kT0 + seconds(9))}, spent);
  ASSERT_TRUE(held_only.has_value());
  EXPECT_FALSE(held_only->lease_exhausted) << "held mail is not due";
}

TEST_P(StoreConformance, NextDueTimeIsTheEarliestAttemptOfActiveAccounts) {
  auto none = store_->NextDueTime();
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->has_value());

  const AccountId held = MakeAccount("held");
  const AccountId active = MakeAccount("active");
  Insert({Message(held, kT0)});
  Insert({Message(active, kT0 + seconds(30)), Message(active, kT0 + seconds(10))});
  SetState(held, AccountState::kActive, AccountState::kBlocked, BlockedBy::kAdmin);

  auto next = store_->NextDueTime();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(*next, kT0 + seconds(10)) << "the blocked account's older mail does not count";

  // In flight, a message counts from its lease's end; finished, not at all.
  auto claimed = Claim(kT0 + seconds(30), 10);
  ASSERT_EQ(claimed.size(), 2u);
  EXPECT_EQ(*store_->NextDueTime(), kT0 + seconds(30) + minutes(5));
  std::vector<DeliveryOutcome> outcomes;
  for (const auto& c : claimed) {
    outcomes.push_back(
        {.id = c.id,
         .recipients = {{.index = 0, .status = RecipientStatus::kSent, .reply = "250"}},
         .next_attempt = {}});
  }
  Record(outcomes, kT0 + seconds(31));
  EXPECT_FALSE(store_->NextDueTime()->has_value());

  SetState(held, AccountState::kBlocked, AccountState::kActive);
  EXPECT_EQ(*store_->NextDueTime(), kT0);
}

TEST_P(StoreConformance, ClaimSkipsAccountsWaitingForQuotaAndCapsOthers) {
  const AccountId waiting = MakeAccount("waiting");
  const AccountId capped = MakeAccount("capped");
  const AccountId free = MakeAccount("free");
  Insert({Message(waiting, kT0), Message(waiting, kT0)});
  Insert({Message(capped, kT0 + seconds(1)), Message(capped, kT0 + seconds(2)),
          Message(capped, kT0 + seconds(3))});
  const auto later = Insert({Message(free, kT0 + seconds(20))});

  auto next = store_->NextDueTime(std::vector<AccountId>{waiting, capped});
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(*next, kT0 + seconds(20)) << "the skipped accounts' older mail does not count";

  ClaimRequest request;
  request.now = kT0 + seconds(30);
  request.limit = 1;  // even at the limit, skipped accounts take no place in the claim
  request.lease_until = request.now + minutes(5);
  request.node = "n1";
  request.skip = {waiting};
  request.most = {{capped, 2}};
  auto claimed = store_->ClaimDue(request);
  ASSERT_TRUE(claimed.has_value()) << claimed.error().message;
  ASSERT_EQ(claimed->messages.size(), 1u);
  EXPECT_EQ(claimed->messages[0].account, capped);

  request.limit = 10;
  claimed = store_->ClaimDue(request);
  ASSERT_TRUE(claimed.has_value()) << claimed.error().message;
  std::vector<AccountId> accounts;
  for (const auto& m : claimed->messages) accounts.push_back(m.account);
  std::ranges::sort(accounts);
  EXPECT_EQ(accounts, (std::vector<AccountId>{capped, capped, free}));
  EXPECT_EQ(GetAccount("waiting").pending, 2) << "left queued, untouched";
  EXPECT_EQ(*store_->NextDueTime(std::vector<AccountId>{waiting}), request.lease_until);
  EXPECT_EQ(*store_->NextDueTime(), kT0);
}

// Decided once for both engines: an account whose quota allows no message now is not read
// at all; the others are claimed as usual.
TEST_P(StoreConformance, ClaimReadsNothingOfAnAccountWhoseQuotaAllowsNoneNow) {
  const AccountId spent = MakeAccount("spent");
  const AccountId other = MakeAccount("other");
  Insert({Message(spent, kT0), Message(spent, kT0 + milliseconds(1))});
  auto others =
      Insert({Message(other, kT0 + milliseconds(2)), Message(other, kT0 + milliseconds(3)),
              Message(other, kT0 + milliseconds(4))});
  ClaimRequest request;
  request.now = kT0 + seconds(1);
  request.limit = 3;
  request.lease_until = request.now + minutes(5);
  request.node = "n1";
  request.most = {{spent, 0}};
  auto claimed = store_->ClaimDue(request);
  ASSERT_TRUE(claimed.has_value()) << claimed.error().message;
  EXPECT_EQ(Ids(claimed->messages), (std::vector<MessageId>{others[0], others[1]}));
  EXPECT_EQ(GetCounters(spent).queued, 2) << "left queued for its window";
}

}  // namespace
}  // namespace mailwarden::conformance

namespace mailwarden::conformance {

// One batch of outcomes of several accounts' messages (as the scheduler's, with many accounts
// sending): each account's counters, its day's and the totals count its own outcomes alone.
TEST_P(StoreConformance, ABatchOfSeveralAccountsCountsEachAccountsOutcomes) {
  const AccountId a = MakeAccount("shop-a");
  const AccountId b = MakeAccount("shop-b");
  const AccountId c = MakeAccount("shop-c");
  Insert({Message(a, kT0), Message(b, kT0), Message(c, kT0, {"x@example.net", "y@example.net"}),
          Message(a, kT0), Message(b, kT0), Message(a, kT0)});
  const TimePoint now = kT0 + std::chrono::minutes(1);
  const std::vector<ClaimedMessage> claimed = Claim(now, 100);
  ASSERT_EQ(claimed.size(), 6u);
  std::map<AccountId, int> seen;
  std::vector<DeliveryOutcome> outcomes;
  for (const ClaimedMessage& m : claimed) {
    const int k = seen[m.account]++;
    DeliveryOutcome o{.id = m.id, .recipients = {}, .next_attempt = now + std::chrono::hours(1)};
    for (const ClaimedRecipient& r : m.recipients) {
      // a: sent, sent, deferred; b: failed, sent; c: one recipient sent, one failed.
      RecipientStatus status = RecipientStatus::kSent;
      if (m.account == a && k == 2) status = RecipientStatus::kPending;
      if (m.account == b && k == 0) status = RecipientStatus::kFailed;
      if (m.account == c && r.index == 1) status = RecipientStatus::kFailed;
      o.recipients.push_back({.index = r.index, .status = status, .reply = "reply"});
    }
    outcomes.push_back(std::move(o));
  }
  Record(outcomes, now);

  const AccountCounters ca = GetCounters(a);
  EXPECT_EQ(ca.queued, 1);
  EXPECT_EQ(ca.sent, 2);
  EXPECT_EQ(ca.errors, 0);
  EXPECT_EQ(ca.sent_today, 2);
  EXPECT_EQ(ca.errors_today, 0);
  const AccountCounters cb = GetCounters(b);
  EXPECT_EQ(cb.queued, 0);
  EXPECT_EQ(cb.sent, 1);
  EXPECT_EQ(cb.errors, 1);
  EXPECT_EQ(cb.sent_today, 1);
  EXPECT_EQ(cb.errors_today, 1);
  const AccountCounters cc = GetCounters(c);
  EXPECT_EQ(cc.queued, 0);
  EXPECT_EQ(cc.sent, 1);
  EXPECT_EQ(cc.errors, 1);
  EXPECT_EQ(cc.sent_today, 1);
  EXPECT_EQ(cc.errors_today, 1);
  auto totals = store_->GetTotals();
  ASSERT_TRUE(totals.has_value()) << totals.error().message;
  EXPECT_EQ(totals->queued, 1);
  EXPECT_EQ(totals->sent, 4);
  EXPECT_EQ(totals->errors, 2);
  EXPECT_EQ(totals->submitted, 6);
  EXPECT_EQ(GetAccount("shop-a").pending, 1);
  EXPECT_EQ(GetAccount("shop-b").pending, 0);
  EXPECT_EQ(GetAccount("shop-c").pending, 0);
}

}  // namespace mailwarden::conformance
