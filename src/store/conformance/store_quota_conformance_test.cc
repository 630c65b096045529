// Store conformance: what the store keeps at most (StorageLimits): each account's unfinished
// mail counted in bytes as it is stored and ends, a quota per account that refuses that
// account's next message alone, and the free room a batch of new mail must leave.
#include <gtest/gtest.h>

#include <string>

#include "store/conformance/store_conformance.h"
#include "store/store.h"

namespace mailwarden::conformance {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

std::int64_t Size(const NewMessage& m) { return static_cast<std::int64_t>(m.body.size()); }

// The test's store opened again, keeping these bounds.
void Reopen(TestDatabase& db, std::unique_ptr<Store>& store, const StorageLimits& limits) {
  store.reset();
  auto opened = db.Open({.storage = limits});
  ASSERT_TRUE(opened.has_value()) << opened.error().message;
  store = std::move(*opened);
}

TEST_P(StoreConformance, PendingBytesFollowEachMessageFromStoredToItsEnd) {
  const AccountId id = MakeAccount("demo");
  const AccountId other = MakeAccount("other");
  const auto ids = Insert(SizedMessages(id, {1000, 2000, 3000, 4000, 5000}));
  ASSERT_EQ(ids.size(), 5u);
  EXPECT_EQ(GetAccount("demo").pending_bytes, 15000);

  // Delivered: the first message's bytes leave; a deferred one's stay.
  auto claimed = Claim(kT0 + minutes(1), 2);
  ASSERT_EQ(Ids(claimed), (std::vector<MessageId>{ids[0], ids[1]}));
  auto outcomes = AllRecipients({claimed[0]}, RecipientStatus::kSent, "250 ok");
  auto deferred = AllRecipients({claimed[1]}, RecipientStatus::kPending, "451 later");
  deferred[0].next_attempt = kT0 + hours(1);
  outcomes.push_back(deferred[0]);
  Record(outcomes, kT0 + minutes(2));
  EXPECT_EQ(GetAccount("demo").pending_bytes, 14000);
  Insert(SizedMessages(other, {777}));
  EXPECT_EQ(GetAccount("other").pending_bytes, 777);

  // Held: a selective delete and an expiry take theirs; a purge takes the rest at once.
  SetState(id, AccountState::kActive, AccountState::kBlocked, BlockedBy::kCustomer);
  ASSERT_EQ(store_->DeleteHeld(id, {.ids = {ids[2]}}, kT0 + minutes(3)).value_or(-1), 1);
  EXPECT_EQ(GetAccount("demo").pending_bytes, 11000);
  // ids[1] was deferred (queued, due later): held and old, it expires with ids[3] and ids[4]
  // unless the cutoff stops before them: only the mail received before it expires.
  auto expired = store_->ExpireHeld(kT0 + std::chrono::milliseconds(4), 100, kT0 + hours(80));
  ASSERT_TRUE(expired.has_value()) << expired.error().message;
  EXPECT_EQ(*expired, 2);  // ids[1] and ids[3]; ids[4] was received at the cutoff
  EXPECT_EQ(GetAccount("demo").pending_bytes, 5000);
  StartPurge(id, kT0 + hours(81));
  EXPECT_EQ(GetAccount("demo").pending_bytes, 0);
  EXPECT_EQ(GetAccount("demo").pending, 0);
  EXPECT_EQ(GetAccount("other").pending_bytes, 777);  // another account's mail is its own
}

TEST_P(StoreConformance, AnAccountPastItsMessageQuotaHasOnlyItsOwnNextMessageRefused) {
  const AccountId id = MakeAccount("demo");
  const AccountId other = MakeAccount("other");
  Reopen(*db_, store_, {.max_account_messages = 2});
  // One batch: the account's third message is refused; the other account's, and the rest of
  // the batch, are stored in the same commit.
  std::vector<NewMessage> batch = {Message(id, kT0), Message(id, kT0), Message(other, kT0),
                                   Message(id, kT0), Message(other, kT0)};
  auto stored = store_->InsertMessages(batch, ArrivalLease{});
  ASSERT_TRUE(stored.has_value()) << stored.error().message;
  ASSERT_EQ(stored->messages.size(), 5u);
  for (int i : {0, 1, 2, 4}) {
    EXPECT_FALSE(stored->messages[i].refused) << i;
    EXPECT_NE(stored->messages[i].id, 0) << i;
  }
  ASSERT_TRUE(stored->messages[3].refused);
  EXPECT_EQ(stored->messages[3].refused->code, ErrorCode::kNoRoom);
  EXPECT_EQ(stored->messages[3].id, 0);
  EXPECT_EQ(GetAccount("demo").pending, 2);
  EXPECT_EQ(GetCounters(id).submitted, 2);  // a refused message was never taken
  EXPECT_EQ(GetAccount("other").pending, 2);

  // Once one of its messages has gone, the account may store one more.
  auto claimed = Claim(kT0 + minutes(1), 1);
  ASSERT_EQ(claimed.size(), 1u);
  Record(AllRecipients(claimed, RecipientStatus::kSent, "250 ok"), kT0 + minutes(1));
  EXPECT_EQ(Insert({Message(id, kT0 + minutes(2))}).size(), 1u);
  auto again = store_->InsertMessages(std::vector<NewMessage>{Message(id, kT0 + minutes(2))},
                                      ArrivalLease{});
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->messages[0].refused);

  // A purge empties the account's store: it takes mail again.
  SetState(id, AccountState::kActive, AccountState::kBlocked, BlockedBy::kCustomer);
  StartPurge(id, kT0 + minutes(3));
  auto after = store_->InsertMessages(std::vector<NewMessage>{Message(id, kT0 + minutes(4))},
                                      ArrivalLease{});
  ASSERT_TRUE(after.has_value());
  EXPECT_FALSE(after->messages[0].refused);
}

TEST_P(StoreConformance, AnAccountPastItsByteQuotaIsRefusedWhatWouldGoOverIt) {
  const AccountId id = MakeAccount("demo");
  Reopen(*db_, store_, {.max_account_bytes = 10000});
  auto batch = SizedMessages(id, {6000, 3000, 2000, 1000});
  auto stored = store_->InsertMessages(batch, ArrivalLease{});
  ASSERT_TRUE(stored.has_value()) << stored.error().message;
  // 6000 + 3000 fit; 2000 more would not; 1000 more still fits, to the byte.
  EXPECT_FALSE(stored->messages[0].refused);
  EXPECT_FALSE(stored->messages[1].refused);
  EXPECT_TRUE(stored->messages[2].refused);
  EXPECT_FALSE(stored->messages[3].refused);
  EXPECT_EQ(GetAccount("demo").pending_bytes, Size(batch[0]) + Size(batch[1]) + Size(batch[3]));
  EXPECT_EQ(GetAccount("demo").pending_bytes, 10000);
  // Without bounds again, it takes everything.
  Reopen(*db_, store_, {});
  EXPECT_EQ(Insert(SizedMessages(id, {5000})).size(), 1u);
  EXPECT_EQ(GetAccount("demo").pending_bytes, 15000);
}

TEST_P(StoreConformance, ABatchThatWouldLeaveTooLittleRoomIsRefusedWhole) {
  const AccountId id = MakeAccount("demo");
  // More free room than any disk has: SQLite, which sees its disk, refuses the batch whole
  // and stores nothing; PostgreSQL's disk is the server's, which the store does not see.
  Reopen(*db_, store_, {.min_free_bytes = std::int64_t{1} << 60});
  auto stored = store_->InsertMessages(std::vector<NewMessage>{Message(id, kT0)}, ArrivalLease{});
  if (GetParam().name == "sqlite") {
    ASSERT_FALSE(stored.has_value());
    EXPECT_EQ(stored.error().code, ErrorCode::kNoRoom);
    EXPECT_EQ(GetAccount("demo").pending, 0);
    EXPECT_EQ(GetCounters(id).submitted, 0);
  } else {
    ASSERT_TRUE(stored.has_value()) << stored.error().message;
  }
  // State changes and purges are not new mail: they go on whatever the room.
  SetState(id, AccountState::kActive, AccountState::kBlocked, BlockedBy::kCustomer);
  StartPurge(id, kT0 + minutes(1));
  Reopen(*db_, store_, {.min_free_bytes = 1});
  EXPECT_EQ(Insert({Message(id, kT0 + minutes(2))}).size(), 1u);
}

}  // namespace
}  // namespace mailwarden::conformance
