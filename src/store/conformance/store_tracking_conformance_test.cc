// Store conformance: message tracking, each message's history and the search of an account's
// mail ("where is my mail?").
#include <gtest/gtest.h>

#include "store/conformance/store_conformance.h"
#include "store/store.h"

namespace mailwarden::conformance {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;

std::vector<std::string> Kinds(const TrackedMessage& m) {
  std::vector<std::string> kinds;
  for (const MessageEvent& e : m.events) kinds.push_back(e.kind);
  return kinds;
}

class Tracking : public StoreConformance {
 protected:
  TrackedMessage Track(AccountId account, MessageId id) {
    auto m = store_->GetTrackedMessage(account, id);
    EXPECT_TRUE(m.has_value() && m->has_value()) << id;
    return m.has_value() && m->has_value() ? **m : TrackedMessage{};
  }

  std::vector<MessageId> Search(AccountId account, MessageSearch search,
                                MessageId* next = nullptr) {
    auto page = store_->SearchMessages(account, search);
    EXPECT_TRUE(page.has_value()) << page.error().message;
    std::vector<MessageId> ids;
    if (!page) return ids;
    for (const TrackedMessage& m : page->messages) ids.push_back(m.message.id);
    if (next != nullptr) *next = page->next_before;
    return ids;
  }
};

TEST_P(Tracking, EachAttemptIsInTheHistoryWithTheRelaysReply) {
  const AccountId id = MakeAccount("demo");
  NewMessage m = Message(id, kT0, {"a@example.net", "b@example.net"}, "Invoice 7");
  m.via = "drop-in";
  m.from = "shop@site.example";
  m.message_id = "abc.123@site.example";
  const MessageId msg = Insert({m})[0];

  auto claimed = Claim(kT0);
  ASSERT_EQ(claimed.size(), 1u);
  Record({{.id = msg,
           .recipients = {{.index = 0,
                           .status = RecipientStatus::kPending,
                           .reply = "451 4.7.1 greylisted, try later"},
                          {.index = 1,
                           .status = RecipientStatus::kSent,
                           .reply = "250 2.0.0 Ok: queued as 1A2B"}},
           .next_attempt = kT0 + minutes(5)}},
         kT0 + milliseconds(10));
  EXPECT_EQ(Track(id, msg).status, TrackStatus::kQueued);
  claimed = Claim(kT0 + minutes(5));
  ASSERT_EQ(claimed.size(), 1u);
  Record({{.id = msg,
           .recipients = {{.index = 0,
                           .status = RecipientStatus::kFailed,
                           .reply = "550 5.1.1 no such user",
                           .category = "bad_mailbox"}},
           .next_attempt = {}}},
         kT0 + minutes(5) + milliseconds(10));

  const TrackedMessage t = Track(id, msg);
  EXPECT_EQ(t.status, TrackStatus::kFailed);
  ASSERT_TRUE(t.finished_at.has_value());
  EXPECT_EQ(Kinds(t), (std::vector<std::string>{"received", "deferred", "delivered", "failed"}));
  ASSERT_EQ(t.events.size(), 4u);
  EXPECT_NE(t.events[0].detail.find("via drop-in"), std::string::npos) << t.events[0].detail;
  EXPECT_NE(t.events[0].detail.find("uid 1000"), std::string::npos);
  EXPECT_NE(t.events[0].detail.find("/home/site/contact.php"), std::string::npos);
  EXPECT_EQ(t.events[1].address, "a@example.net");
  EXPECT_EQ(t.events[1].detail, "451 4.7.1 greylisted, try later");
  EXPECT_EQ(t.events[2].address, "b@example.net");
  EXPECT_EQ(t.events[2].detail, "250 2.0.0 Ok: queued as 1A2B");
  EXPECT_EQ(t.events[3].detail, "bad_mailbox: 550 5.1.1 no such user");
  EXPECT_EQ(t.events[3].at, kT0 + minutes(5) + milliseconds(10));

  // A later bounce of the recipient the relay took.
  auto bounced = store_->RecordBounce({.message = msg,
                                       .account = id,
                                       .recipients = {{.address = "b@example.net",
                                                       .delayed = false,
                                                       .reply = "5.2.2 mailbox full",
                                                       .category = "mailbox_full"}}},
                                      kT0 + hours(1));
  ASSERT_TRUE(bounced.has_value()) << bounced.error().message;
  const TrackedMessage after = Track(id, msg);
  ASSERT_EQ(after.events.size(), 5u);
  EXPECT_EQ(after.events[4].kind, "bounced");
  EXPECT_EQ(after.events[4].detail, "mailbox_full: 5.2.2 mailbox full");
}

TEST_P(Tracking, SearchFindsByRecipientSenderFromSubjectAndMessageId) {
  const AccountId id = MakeAccount("demo");
  const AccountId other = MakeAccount("other");
  NewMessage a = Message(id, kT0, {"Alice@Example.NET"}, "Order 1");
  a.from = "shop@site.example";
  a.message_id = "one@site.example";
  NewMessage b = Message(id, kT0 + milliseconds(1), {"bob@example.net"}, "Order 2");
  NewMessage c = Message(other, kT0 + milliseconds(2), {"alice@example.net"}, "Order 1");
  const auto ids = Insert({a, b, c});

  EXPECT_EQ(Search(id, {.term = "alice@example.net"}), std::vector<MessageId>{ids[0]});
  EXPECT_EQ(Search(id, {.term = " <ALICE@example.net> "}), std::vector<MessageId>{ids[0]});
  EXPECT_EQ(Search(id, {.term = "shop@site.example"}), std::vector<MessageId>{ids[0]});
  EXPECT_EQ(Search(id, {.term = "<one@site.example>"}), std::vector<MessageId>{ids[0]});
  EXPECT_EQ(Search(id, {.term = "order 2"}), std::vector<MessageId>{ids[1]});
  EXPECT_EQ(Search(id, {.term = "www@site.example"}), (std::vector<MessageId>{ids[1], ids[0]}));
  EXPECT_TRUE(Search(id, {.term = "alice"}).empty()) << "a term matches whole";
  // A recipient's domain, and a word of the subject (of 3 letters or more), any case.
  EXPECT_EQ(Search(id, {.term = "EXAMPLE.net"}), (std::vector<MessageId>{ids[1], ids[0]}));
  EXPECT_EQ(Search(id, {.term = "order"}), (std::vector<MessageId>{ids[1], ids[0]}));
  EXPECT_TRUE(Search(id, {.term = "ord"}).empty()) << "a word matches whole";
  EXPECT_TRUE(Search(id, {.term = "1"}).empty()) << "too short to be a word's term";
  EXPECT_EQ(Search(other, {.term = "alice@example.net"}), std::vector<MessageId>{ids[2]});
  EXPECT_EQ(Search(id, {}), (std::vector<MessageId>{ids[1], ids[0]}));

  auto foreign = store_->GetTrackedMessage(id, ids[2]);
  ASSERT_TRUE(foreign.has_value());
  EXPECT_FALSE(foreign->has_value()) << "another account's message is not found";
}

TEST_P(Tracking, SearchByStatusAndPagesByCursor) {
  const AccountId id = MakeAccount("demo");
  std::vector<NewMessage> batch;
  for (int i = 0; i < 5; ++i) batch.push_back(Message(id, kT0 + milliseconds(i)));
  const auto ids = Insert(batch);
  auto claimed = Claim(kT0 + hours(1), 3);
  ASSERT_EQ(claimed.size(), 3u);
  // The three oldest: two delivered, one failed; the two newest stay queued.
  std::vector<DeliveryOutcome> outcomes;
  for (const ClaimedMessage& c : claimed) {
    const bool fail = c.id == ids[2];
    outcomes.push_back(
        {.id = c.id,
         .recipients = {{.index = 0,
                         .status = fail ? RecipientStatus::kFailed : RecipientStatus::kSent,
                         .reply = fail ? "550 no" : "250 ok",
                         .category = fail ? "bad_mailbox" : ""}},
         .next_attempt = {}});
  }
  Record(outcomes, kT0 + hours(1));

  EXPECT_EQ(Search(id, {.status = TrackStatus::kDelivered}),
            (std::vector<MessageId>{ids[1], ids[0]}));
  EXPECT_EQ(Search(id, {.status = TrackStatus::kFailed}), std::vector<MessageId>{ids[2]});
  EXPECT_EQ(Search(id, {.status = TrackStatus::kQueued}), (std::vector<MessageId>{ids[4], ids[3]}));
  EXPECT_TRUE(Search(id, {.status = TrackStatus::kHeld}).empty());

  // Blocked: the unfinished mail is held, without a row written per message.
  SetState(id, AccountState::kActive, AccountState::kBlocked, BlockedBy::kCustomer);
  EXPECT_EQ(Search(id, {.status = TrackStatus::kHeld}), (std::vector<MessageId>{ids[4], ids[3]}));
  EXPECT_EQ(Kinds(Track(id, ids[4])), std::vector<std::string>{"received"});
  StartPurge(id, kT0 + hours(2));
  EXPECT_EQ(Search(id, {.status = TrackStatus::kPurged}), (std::vector<MessageId>{ids[4], ids[3]}));

  MessageId next = 0;
  EXPECT_EQ(Search(id, {.limit = 2}, &next), (std::vector<MessageId>{ids[4], ids[3]}));
  ASSERT_EQ(next, ids[3]);
  EXPECT_EQ(Search(id, {.before = next, .limit = 2}, &next),
            (std::vector<MessageId>{ids[2], ids[1]}));
  EXPECT_EQ(Search(id, {.before = next, .limit = 2}, &next), std::vector<MessageId>{ids[0]});
  EXPECT_EQ(next, 0) << "the last page has no cursor";
  EXPECT_EQ(Search(id, {.since = kT0 + milliseconds(3)}), (std::vector<MessageId>{ids[4], ids[3]}));
}

// A batch's outcomes go to PostgreSQL as arrays of texts: whatever a reply or an address
// holds comes back as it was given, each to its own message and recipient.
TEST_P(Tracking, RepliesAndAddressesOfAnyCharactersAreKeptEachWithItsOwn) {
  const AccountId id = MakeAccount("demo");
  const std::string odd = "\"odd, {1} \\\\ name\"@example.net";
  const std::vector<std::string> replies = {
      "550 5.1.1 <\"odd, {1} \\\\ name\"@example.net>: no \"such\" user {a,b} NULL",
      "250 2.0.0 \\\\N ok, \"queued\" as {x}",
      "",
      "451 4.7.1 za\xc5\xbc\xc3\xb3\xc5\x82\xc4\x87 g\xc4\x99\xc5\x9bl\xc4\x85 "
      "ja\xc5\xba\xc5\x84 " +
          std::string(1200, 'x'),
  };
  const std::vector<MessageId> ids =
      Insert({Message(id, kT0, {odd}), Message(id, kT0), Message(id, kT0), Message(id, kT0)});
  ASSERT_EQ(Claim(kT0).size(), 4u);
  std::vector<DeliveryOutcome> outcomes;
  const RecipientStatus statuses[] = {RecipientStatus::kFailed, RecipientStatus::kSent,
                                      RecipientStatus::kSent, RecipientStatus::kPending};
  for (std::size_t i = 0; i < ids.size(); ++i) {
    outcomes.push_back({.id = ids[i],
                        .recipients = {{.index = 0,
                                        .status = statuses[i],
                                        .reply = replies[i],
                                        .category = i == 0 ? "bad_mailbox" : ""}},
                        .next_attempt = kT0 + minutes(5),
                        .suppress_for = i == 0 ? hours(24) : hours(0)});
  }
  Record(outcomes, kT0 + milliseconds(10));

  for (std::size_t i = 0; i < ids.size(); ++i) {
    const StoredMessage m = GetMessage(ids[i]);
    ASSERT_EQ(m.recipients.size(), 1u);
    EXPECT_EQ(m.recipients[0].reply, replies[i]) << i;
    EXPECT_EQ(m.recipients[0].status, statuses[i]) << i;
    const TrackedMessage t = Track(id, ids[i]);
    ASSERT_EQ(t.events.size(), 2u) << i;
    const std::string detail = i == 0 ? "bad_mailbox: " + replies[i] : replies[i];
    if (i == 3) {
      EXPECT_EQ(t.events[1].detail.size(), kMaxEventDetailBytes) << "cut to what an event keeps";
      EXPECT_EQ(t.events[1].detail, detail.substr(0, kMaxEventDetailBytes));
    } else {
      EXPECT_EQ(t.events[1].detail, detail) << i;
    }
  }
  EXPECT_EQ(Track(id, ids[0]).status, TrackStatus::kFailed);
  EXPECT_EQ(Track(id, ids[1]).status, TrackStatus::kDelivered);
  EXPECT_EQ(Track(id, ids[3]).status, TrackStatus::kQueued);
  EXPECT_EQ(GetCounters(id).errors, 1);
  EXPECT_EQ(GetCounters(id).sent, 2);

  // The odd address is suppressed, and found so at the next claim beside an ordinary one.
  Insert({Message(id, kT0 + hours(1), {"plain@example.net", odd})});
  bool found = false;
  for (const ClaimedMessage& c : Claim(kT0 + hours(1))) {
    if (c.recipients.size() != 2) continue;
    found = true;
    EXPECT_FALSE(c.recipients[0].suppressed.has_value());
    ASSERT_TRUE(c.recipients[1].suppressed.has_value());
    EXPECT_EQ(c.recipients[1].suppressed->reply, replies[0]);
  }
  EXPECT_TRUE(found);
}

TEST_P(Tracking, HeldReleasedExpiredAreInTheHistoryAndGoWithTheMessage) {
  const AccountId id = MakeAccount("demo");
  NewMessage held = Message(id, kT0, {"x@example.net"});
  held.held_reason = "sender not allowed";
  NewMessage old = Message(id, kT0 + milliseconds(1), {"y@example.net"});
  old.held_reason = "sender not allowed";
  const auto ids = Insert({held, old});
  EXPECT_EQ(Track(id, ids[0]).status, TrackStatus::kHeld);

  auto released = store_->ReleaseHeld(id, {.ids = {ids[0]}}, kT0 + minutes(1));
  ASSERT_TRUE(released.has_value()) << released.error().message;
  EXPECT_EQ(Kinds(Track(id, ids[0])), (std::vector<std::string>{"received", "held", "released"}));

  auto expired = store_->ExpireHeld(kT0 + hours(1), 10, kT0 + hours(2));
  ASSERT_TRUE(expired.has_value()) << expired.error().message;
  ASSERT_EQ(*expired, 1);
  const TrackedMessage t = Track(id, ids[1]);
  EXPECT_EQ(t.status, TrackStatus::kExpired);
  EXPECT_EQ(Kinds(t), (std::vector<std::string>{"received", "held", "expired"}));
  EXPECT_EQ(Search(id, {.status = TrackStatus::kExpired}), std::vector<MessageId>{ids[1]});

  // store.keep_finished: the finished message goes, with its history and its terms.
  auto deleted = store_->DeleteFinished(kT0 + hours(3), 10);
  ASSERT_TRUE(deleted.has_value()) << deleted.error().message;
  EXPECT_EQ(*deleted, 1);
  auto gone = store_->GetTrackedMessage(id, ids[1]);
  ASSERT_TRUE(gone.has_value());
  EXPECT_FALSE(gone->has_value());
  EXPECT_EQ(db_->QueryInt("SELECT COUNT(*) FROM message_events WHERE message_id = " +
                          std::to_string(ids[1])),
            0);
  EXPECT_EQ(db_->QueryInt("SELECT COUNT(*) FROM message_terms WHERE message_id = " +
                          std::to_string(ids[1])),
            0);
  EXPECT_TRUE(Search(id, {.term = "y@example.net"}).empty());
}

INSTANTIATE_TEST_SUITE_P(
    Engines, Tracking,
    ::testing::Values(StoreTarget{"sqlite", [] { return std::make_unique<SqliteTestDatabase>(); }},
                      StoreTarget{"postgresql", [] { return std::make_unique<PgTestDatabase>(); }}),
    [](const ::testing::TestParamInfo<StoreTarget>& info) { return info.param.name; });

}  // namespace
}  // namespace mailwarden::conformance
