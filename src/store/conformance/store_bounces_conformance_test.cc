// Store conformance: bounces that come back after the relay took the message.
#include <gtest/gtest.h>

#include <string>

#include "core/local_day.h"
#include "store/conformance/store_conformance.h"
#include "store/store.h"

namespace mailwarden::conformance {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

DeliveryOutcome AllSent(MessageId id, int recipients) {
  DeliveryOutcome o{.id = id, .recipients = {}, .next_attempt = {}};
  for (int i = 0; i < recipients; ++i) {
    o.recipients.push_back({.index = i, .status = RecipientStatus::kSent, .reply = "250 queued"});
  }
  return o;
}

TEST_P(StoreConformance, ABounceBeforeItsDeliveryIsStoredRecordsNothingUntilItIs) {
  const AccountId id = MakeAccount("demo");
  auto ids = Insert({Message(id, kT0, {"gone@example.net", "fine@example.net"}, "two")});
  ASSERT_EQ(Claim(kT0).size(), 1u);  // being delivered: the relay has it, its outcome not yet
  const Bounce bounce{.message = ids[0],
                      .account = id,
                      .recipients = {{.address = "gone@example.net",
                                      .reply = "5.1.1 smtp; 550 5.1.1 no such user",
                                      .category = "bad_mailbox"}}};
  auto early = store_->RecordBounce(bounce, kT0 + minutes(1));
  ASSERT_TRUE(early.has_value()) << early.error().message;
  EXPECT_TRUE(early->found);
  EXPECT_EQ(early->not_yet, 1);
  EXPECT_TRUE(early->failed.empty());
  EXPECT_EQ(GetMessage(ids[0]).recipients[0].status, RecipientStatus::kPending);
  EXPECT_EQ(store_->GetCounters(id, LocalDayNumber(kT0))->errors, 0);

  // Once the outcome is stored, the same bounce (its sender trying again) fails the recipient.
  Record({AllSent(ids[0], 2)}, kT0 + minutes(2));
  auto later = store_->RecordBounce(bounce, kT0 + minutes(3));
  ASSERT_TRUE(later.has_value()) << later.error().message;
  EXPECT_EQ(later->not_yet, 0);
  EXPECT_EQ(later->failed, std::vector<std::string>{"bad_mailbox"});
  EXPECT_EQ(GetMessage(ids[0]).recipients[0].status, RecipientStatus::kFailed);
  EXPECT_EQ(store_->GetCounters(id, LocalDayNumber(kT0))->errors, 1);
}

TEST_P(StoreConformance, ABounceFailsARecipientTheRelayTookAndCountsOnce) {
  const AccountId id = MakeAccount("demo");
  const AccountId other = MakeAccount("other");
  auto ids = Insert({Message(id, kT0, {"Gone@Example.NET", "fine@example.net"}, "two"),
                     Message(id, kT0, {"solo@example.net"}, "one")});
  Claim(kT0);
  Record({AllSent(ids[0], 2), AllSent(ids[1], 1)}, kT0 + minutes(1));
  const TimePoint later = kT0 + hours(2);

  const Bounce bounce{
      .message = ids[0],
      .account = id,
      .recipients = {
          {.address = "gone@example.net",
           .reply = "5.1.1 smtp; 550 5.1.1 no such user",
           .category = "bad_mailbox"},
          {.address = "stranger@example.net", .reply = "5.1.1", .category = "bad_mailbox"}}};
  auto r = store_->RecordBounce(bounce, later);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_TRUE(r->found);
  EXPECT_EQ(r->sender, "www@site.example");
  EXPECT_EQ(r->account_name, "demo");
  EXPECT_EQ(r->failed, std::vector<std::string>{"bad_mailbox"});
  EXPECT_EQ(r->unmatched, 1);

  StoredMessage m = GetMessage(ids[0]);
  EXPECT_EQ(m.recipients[0].status, RecipientStatus::kFailed);
  EXPECT_EQ(m.recipients[0].category, "bad_mailbox");
  EXPECT_EQ(m.recipients[0].updated_at, later);
  EXPECT_EQ(m.recipients[1].status, RecipientStatus::kSent);

  // In the errors list and the counters of the day it came, as a refusal at hand-over.
  auto errors = store_->ListErrors(id, kT0, 10, std::nullopt);
  ASSERT_TRUE(errors.has_value()) << errors.error().message;
  ASSERT_EQ(errors->size(), 1u);
  EXPECT_EQ((*errors)[0].recipient, "Gone@Example.NET");
  EXPECT_EQ((*errors)[0].reply, "5.1.1 smtp; 550 5.1.1 no such user");
  EXPECT_EQ((*errors)[0].category, "bad_mailbox");
  EXPECT_EQ((*errors)[0].at, later);
  auto c = store_->GetCounters(id, LocalDayNumber(later));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->errors, 1);
  EXPECT_EQ(c->sent, 2) << "the message was sent; one of its recipients failed later";
  auto to_report = store_->AccountsToReport(LocalDayNumber(later));
  ASSERT_TRUE(to_report.has_value());
  EXPECT_EQ(*to_report, std::vector<AccountId>{id});

  // The same bounce again (a relay retrying after a lost 250) counts nothing more.
  auto again = store_->RecordBounce(bounce, later + minutes(1));
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->found);
  EXPECT_TRUE(again->failed.empty());
  EXPECT_EQ(store_->GetCounters(id, LocalDayNumber(later))->errors, 1);
  // One event, of the first time: the recipient as the message has it, its category and why.
  auto events = store_->ClaimEvents("n1", later + hours(1), later + hours(2), 10);
  ASSERT_TRUE(events.has_value()) << events.error().message;
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].type, "message.bounced");
  EXPECT_EQ((*events)[0].account_name, "demo");
  EXPECT_EQ((*events)[0].at, later);
  EXPECT_EQ((*events)[0].data,
            "{\"message\":" + std::to_string(ids[0]) +
                ",\"recipients\":[{\"address\":\"Gone@Example.NET\",\"category\":"
                "\"bad_mailbox\",\"diagnostic\":\"5.1.1 smtp; 550 5.1.1 no such user\","
                "\"status\":\"failed\"}],\"version\":1}");

  // A bounce naming no address fails the only recipient of a one-recipient message.
  auto plain = store_->RecordBounce(
      {.message = ids[1],
       .account = id,
       .recipients = {{.address = "", .reply = "550 gone", .category = "unclassified"}}},
      later);
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(plain->failed, std::vector<std::string>{"unclassified"});

  // Another account's claim on the message, or no message at all: nothing recorded.
  auto wrong = store_->RecordBounce(
      {.message = ids[0],
       .account = other,
       .recipients = {{.address = "fine@example.net", .reply = "550", .category = "other"}}},
      later);
  ASSERT_TRUE(wrong.has_value());
  EXPECT_FALSE(wrong->found);
  EXPECT_EQ(GetMessage(ids[0]).recipients[1].status, RecipientStatus::kSent);
  auto none =
      store_->RecordBounce({.message = ids[1] + 1000, .account = id, .recipients = {}}, later);
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->found);
}

TEST_P(StoreConformance, ADelayIsNotedNotCounted) {
  const AccountId id = MakeAccount("demo");
  auto ids = Insert({Message(id, kT0, {"slow@example.net"})});
  Claim(kT0);
  Record({AllSent(ids[0], 1)}, kT0 + minutes(1));
  auto r = store_->RecordBounce(
      {.message = ids[0],
       .account = id,
       .recipients = {{.address = "slow@example.net",
                       .delayed = true,
                       .reply = "4.4.1 smtp; 421 4.4.1 Connection timed out"}}},
      kT0 + hours(4));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->delayed, 1);
  EXPECT_TRUE(r->failed.empty());
  StoredMessage m = GetMessage(ids[0]);
  EXPECT_EQ(m.recipients[0].status, RecipientStatus::kSent);
  EXPECT_EQ(m.recipients[0].note, "4.4.1 smtp; 421 4.4.1 Connection timed out");
  EXPECT_EQ(GetCounters(id).errors, 0);
}

TEST_P(StoreConformance, ABounceForAPurgedOrPendingMessageChangesNothing) {
  const AccountId id = MakeAccount("demo");
  auto ids = Insert({Message(id, kT0, {"a@example.net"}), Message(id, kT0, {"b@example.net"})});
  // The second is still pending (never handed over): a bounce cannot be for it yet.
  SetState(id, AccountState::kActive, AccountState::kBlocked, BlockedBy::kCustomer);
  auto pending = store_->RecordBounce(
      {.message = ids[1],
       .account = id,
       .recipients = {{.address = "b@example.net", .reply = "550", .category = "other"}}},
      kT0 + minutes(1));
  ASSERT_TRUE(pending.has_value());
  EXPECT_TRUE(pending->failed.empty());
  EXPECT_EQ(GetMessage(ids[1]).recipients[0].status, RecipientStatus::kPending);
  StartPurge(id, kT0 + minutes(2));
  auto purged = store_->RecordBounce(
      {.message = ids[0],
       .account = id,
       .recipients = {{.address = "a@example.net", .reply = "550", .category = "other"}}},
      kT0 + minutes(3));
  ASSERT_TRUE(purged.has_value()) << purged.error().message;
  EXPECT_FALSE(purged->found);
  EXPECT_EQ(GetCounters(id).errors, 0);
}

// The intake's group commit: bounces that arrived together in one call, one transaction, each
// recorded as if alone, in the order given.
TEST_P(StoreConformance, BouncesRecordedTogetherCountEachOnceInTheirOrder) {
  const AccountId id = MakeAccount("demo");
  const AccountId other = MakeAccount("other");
  auto ids = Insert({Message(id, kT0, {"gone@example.net"}), Message(other, kT0, {"x@example.net"}),
                     Message(other, kT0, {"slow@example.net"})});
  Claim(kT0);
  Record({AllSent(ids[0], 1), AllSent(ids[1], 1), AllSent(ids[2], 1)}, kT0 + minutes(1));
  const TimePoint later = kT0 + hours(2);
  auto failure = [](MessageId m, AccountId a, std::string address) {
    return Bounce{.message = m,
                  .account = a,
                  .recipients = {{.address = std::move(address),
                                  .reply = "5.1.1 smtp; 550 5.1.1 no such user",
                                  .category = "bad_mailbox"}}};
  };
  const std::vector<Bounce> group = {
      failure(ids[0], id, "gone@example.net"),
      failure(ids[1], other, "x@example.net"),
      failure(ids[0], id, "gone@example.net"),  // the same again (a relay's retry): counts once
      failure(ids[1] + 1000, other, "x@example.net"),  // no such message: found false
      {.message = ids[2],
       .account = other,
       .recipients = {{.address = "slow@example.net", .delayed = true, .reply = "4.4.1 later"}}},
  };
  auto r = store_->RecordBounces(group, later);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), group.size());
  EXPECT_EQ((*r)[0].account_name, "demo");
  EXPECT_EQ((*r)[0].failed, std::vector<std::string>{"bad_mailbox"});
  EXPECT_EQ((*r)[1].account_name, "other");
  EXPECT_EQ((*r)[1].failed, std::vector<std::string>{"bad_mailbox"});
  EXPECT_TRUE((*r)[2].found);
  EXPECT_TRUE((*r)[2].failed.empty()) << "the second time in the same group fails nothing";
  EXPECT_FALSE((*r)[3].found);
  EXPECT_EQ((*r)[4].delayed, 1);
  EXPECT_EQ(store_->GetCounters(id, LocalDayNumber(later))->errors, 1);
  EXPECT_EQ(store_->GetCounters(other, LocalDayNumber(later))->errors, 1);
  EXPECT_EQ(GetMessage(ids[0]).recipients[0].status, RecipientStatus::kFailed);
  EXPECT_EQ(GetMessage(ids[2]).recipients[0].note, "4.4.1 later");
  // One message.bounced event per message failed now.
  auto events = store_->ClaimEvents("n1", later + hours(1), later + hours(2), 10);
  ASSERT_TRUE(events.has_value()) << events.error().message;
  EXPECT_EQ(events->size(), 2u);
  // An empty group is no error.
  auto none = store_->RecordBounces({}, later);
  ASSERT_TRUE(none.has_value()) << none.error().message;
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace mailwarden::conformance
