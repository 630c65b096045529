// Store conformance: content scanning (waiting for a verdict, verdicts, the quarantine).
#include <gtest/gtest.h>

#include <algorithm>

#include "core/local_day.h"
#include "store/conformance/store_conformance.h"
#include "store/store.h"

namespace mailwarden::conformance {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;

NewMessage ScannedMessage(NewMessage m) {
  m.scan = true;
  return m;
}

ScanVerdict Reject(AccountId account, MessageId id) {
  return {.account = account,
          .id = id,
          .quarantine = true,
          .suspicious = false,
          .result = ScanResult{.action = "reject", .score = 15.2, .symbols = {"GTUBE", "PHISH"}}};
}

ScanVerdict Clean(AccountId account, MessageId id, bool suspicious = false) {
  return {.account = account,
          .id = id,
          .quarantine = false,
          .suspicious = suspicious,
          .result = ScanResult{.action = suspicious ? "add header" : "no action",
                               .score = suspicious ? 7.5 : 0.25,
                               .symbols = {"MISSING_DATE"}}};
}

TEST_P(StoreConformance, MailWaitingForItsVerdictIsNeverClaimed) {
  const AccountId id = MakeAccount("demo");
  ArrivalLease lease{.node = "n1", .limit = 10, .lease_for = minutes(5)};
  std::vector<NewMessage> batch = {ScannedMessage(Message(id, kT0)),
                                   ScannedMessage(Message(id, kT0 + milliseconds(1)))};
  auto inserted = store_->InsertMessages(batch, lease);
  ASSERT_TRUE(inserted.has_value()) << inserted.error().message;
  EXPECT_FALSE(inserted->messages[0].leased) << "waiting mail is never leased on arrival";
  EXPECT_FALSE(inserted->messages[1].leased);
  const MessageId a = inserted->messages[0].id;
  const MessageId b = inserted->messages[1].id;

  EXPECT_TRUE(Claim(kT0 + hours(1)).empty()) << "nothing waiting is due";
  auto next = store_->NextDueTime();
  ASSERT_TRUE(next.has_value());
  EXPECT_FALSE(next->has_value()) << "waiting mail gives no due time";
  EXPECT_EQ(GetMessage(a).scan_state, ScanState::kWaiting);

  auto waiting = store_->ListUnscanned(0, 10);
  ASSERT_TRUE(waiting.has_value()) << waiting.error().message;
  ASSERT_EQ(waiting->size(), 2u);
  EXPECT_EQ((*waiting)[0].id, a);
  EXPECT_EQ((*waiting)[0].account_name, "demo");
  EXPECT_EQ((*waiting)[0].recipients, std::vector<std::string>{"to@example.net"});
  EXPECT_EQ((*waiting)[0].script, "/home/site/contact.php");
  auto after = store_->ListUnscanned(a, 10);
  ASSERT_TRUE(after.has_value());
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0].id, b);
  auto body = store_->GetUnscannedBody(id, a);
  ASSERT_TRUE(body.has_value() && body->has_value());
  EXPECT_EQ(**body, batch[0].body);

  // Let go: due at once; a verdict given twice applies once.
  auto done = store_->RecordVerdict(Clean(id, a, /*suspicious=*/true), kT0);
  ASSERT_TRUE(done.has_value()) << done.error().message;
  EXPECT_TRUE(*done);
  auto again = store_->RecordVerdict(Clean(id, a), kT0);
  ASSERT_TRUE(again.has_value());
  EXPECT_FALSE(*again);
  const auto claimed = Claim(kT0 + hours(1));
  std::vector<MessageId> ids = Ids(claimed);
  EXPECT_NE(std::find(ids.begin(), ids.end(), a), ids.end());
  EXPECT_EQ(std::find(ids.begin(), ids.end(), b), ids.end());
  Record(AllRecipients(claimed, RecipientStatus::kSent, "250 ok"), kT0 + hours(1));
  const StoredMessage sent = GetMessage(a);
  ASSERT_TRUE(sent.scan.has_value());
  EXPECT_EQ(sent.scan->action, "add header");
  EXPECT_DOUBLE_EQ(sent.scan->score, 7.5);
  EXPECT_EQ(sent.scan->symbols, std::vector<std::string>{"MISSING_DATE"});
  auto body_gone = store_->GetUnscannedBody(id, a);
  ASSERT_TRUE(body_gone.has_value());
  EXPECT_FALSE(body_gone->has_value());

  // Quarantined: listed with its verdict, never due, not waiting any more.
  auto q = store_->RecordVerdict(Reject(id, b), kT0);
  ASSERT_TRUE(q.has_value() && *q);
  EXPECT_TRUE(Claim(kT0 + hours(2)).empty());
  auto none = store_->ListUnscanned(0, 10);
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
  auto listed = store_->ListQuarantined(id, 10, 0);
  ASSERT_TRUE(listed.has_value()) << listed.error().message;
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, b);
  EXPECT_EQ((*listed)[0].scan_state, ScanState::kQuarantined);
  ASSERT_TRUE((*listed)[0].scan.has_value());
  EXPECT_DOUBLE_EQ((*listed)[0].scan->score, 15.2);
  EXPECT_EQ((*listed)[0].scan->symbols, (std::vector<std::string>{"GTUBE", "PHISH"}));

  auto volumes = store_->GetVolumes(id, LocalDayNumber(kT0), LocalDayNumber(kT0));
  ASSERT_TRUE(volumes.has_value());
  ASSERT_EQ(volumes->size(), 1u);
  EXPECT_EQ((*volumes)[0].scanned, 2);
  EXPECT_EQ((*volumes)[0].quarantined, 1);
  EXPECT_EQ((*volumes)[0].suspicious, 1);
  // The accounts overview shows it too.
  AccountPageQuery query;
  query.day = LocalDayNumber(kT0);
  auto page = store_->ListAccountPage(query);
  ASSERT_TRUE(page.has_value()) << page.error().message;
  const auto entry = std::ranges::find_if(*page, [&](const auto& e) { return e.account.id == id; });
  ASSERT_NE(entry, page->end());
  EXPECT_EQ(entry->quarantined_today, 1);

  // Released: due at once.
  const MessageId other_ids[] = {b, b, 999999};
  auto released = store_->ReleaseQuarantined(id, other_ids, kT0);
  ASSERT_TRUE(released.has_value()) << released.error().message;
  EXPECT_EQ(*released, 1);
  EXPECT_EQ(Ids(Claim(kT0 + hours(3))), std::vector<MessageId>{b});
}

TEST_P(StoreConformance, VerdictsAreWrittenInOneBatchEachOnce) {
  const AccountId demo = MakeAccount("demo");
  const AccountId other = MakeAccount("other");
  const MessageId a = Insert({ScannedMessage(Message(demo, kT0))})[0];
  const MessageId b = Insert({ScannedMessage(Message(other, kT0 + milliseconds(1)))})[0];
  const std::vector<ScanVerdict> batch = {Reject(other, b), Clean(demo, a, true), Clean(demo, a)};
  auto applied = store_->RecordVerdicts(batch, kT0);
  ASSERT_TRUE(applied.has_value()) << applied.error().message;
  EXPECT_EQ(*applied, (std::vector<bool>{true, true, false}));
  EXPECT_EQ(Ids(Claim(kT0 + minutes(1))), std::vector<MessageId>{a});
  auto volumes = store_->GetVolumes(demo, LocalDayNumber(kT0), LocalDayNumber(kT0));
  ASSERT_TRUE(volumes.has_value());
  ASSERT_EQ(volumes->size(), 1u);
  EXPECT_EQ((*volumes)[0].scanned, 1);
  EXPECT_EQ((*volumes)[0].suspicious, 1);
  // The quarantine's event, written with its verdict; none for the mail let go.
  auto events = store_->ClaimEvents("n1", kT0, kT0 + minutes(1), 10);
  ASSERT_TRUE(events.has_value()) << events.error().message;
  ASSERT_EQ(events->size(), 1u);
  const OutboxEvent& e = (*events)[0];
  EXPECT_EQ(e.account_name, "other");
  EXPECT_EQ(e.type, "message.quarantined");
  EXPECT_EQ(e.at, kT0);
  EXPECT_NE(e.data.find("\"message\":" + std::to_string(b)), std::string::npos) << e.data;
  EXPECT_NE(e.data.find("\"action\":\"reject\""), std::string::npos) << e.data;
  EXPECT_NE(e.data.find("\"symbols\":[\"GTUBE\",\"PHISH\"]"), std::string::npos) << e.data;
  EXPECT_NE(e.data.find("\"version\":1"), std::string::npos) << e.data;
}

TEST_P(StoreConformance, UnscannedDeliveryWithoutAVerdictCountsNoScan) {
  const AccountId id = MakeAccount("demo");
  const MessageId a = Insert({ScannedMessage(Message(id, kT0))})[0];
  auto done = store_->RecordVerdict(
      {.account = id, .id = a, .quarantine = false, .suspicious = false, .result = std::nullopt},
      kT0);
  ASSERT_TRUE(done.has_value() && *done);
  EXPECT_EQ(Ids(Claim(kT0 + minutes(1))), std::vector<MessageId>{a});
  EXPECT_FALSE(GetMessage(a).scan.has_value());
  auto volumes = store_->GetVolumes(id, LocalDayNumber(kT0), LocalDayNumber(kT0));
  ASSERT_TRUE(volumes.has_value());
  ASSERT_EQ(volumes->size(), 1u);
  EXPECT_EQ((*volumes)[0].scanned, 0);
}

TEST_P(StoreConformance, HeldMailIsScannedAndStaysHeld) {
  const AccountId id = MakeAccount("demo");
  SetState(id, AccountState::kActive, AccountState::kBlocked, BlockedBy::kCustomer);
  const auto ids = Insert(
      {ScannedMessage(Message(id, kT0)), ScannedMessage(Message(id, kT0 + milliseconds(1)))});
  auto waiting = store_->ListUnscanned(0, 10);
  ASSERT_TRUE(waiting.has_value());
  EXPECT_EQ(waiting->size(), 2u) << "held mail is scanned too";
  ASSERT_TRUE(store_->RecordVerdict(Clean(id, ids[0]), kT0).has_value());
  ASSERT_TRUE(store_->RecordVerdict(Reject(id, ids[1]), kT0).has_value());
  EXPECT_TRUE(Claim(kT0 + hours(1)).empty()) << "held is held";
  auto pending = store_->ListPending(id, 10, 0);
  ASSERT_TRUE(pending.has_value());
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].scan_state, ScanState::kQuarantined);
  EXPECT_EQ((*pending)[1].scan_state, ScanState::kNone);

  // Unblocked: the clean one goes, the quarantined one stays.
  SetState(id, AccountState::kBlocked, AccountState::kActive);
  EXPECT_EQ(Ids(Claim(kT0 + hours(1))), std::vector<MessageId>{ids[0]});
}

TEST_P(StoreConformance, QuarantinedMailIsDeletedOrExpires) {
  const AccountId id = MakeAccount("demo");
  const auto ids =
      Insert({ScannedMessage(Message(id, kT0)), ScannedMessage(Message(id, kT0 + hours(2)))});
  ASSERT_TRUE(store_->RecordVerdict(Reject(id, ids[0]), kT0).has_value());
  ASSERT_TRUE(store_->RecordVerdict(Reject(id, ids[1]), kT0).has_value());
  EXPECT_EQ(GetAccount("demo").pending, 2);

  auto expired = store_->ExpireQuarantined(kT0 + hours(1), 10, kT0 + hours(73));
  ASSERT_TRUE(expired.has_value()) << expired.error().message;
  EXPECT_EQ(*expired, 1);
  EXPECT_EQ(GetMessage(ids[0]).status, MessageStatus::kDone);
  EXPECT_EQ(GetAccount("demo").pending, 1);

  const MessageId both[] = {ids[0], ids[1]};
  auto deleted = store_->DeleteQuarantined(id, both, kT0);
  ASSERT_TRUE(deleted.has_value()) << deleted.error().message;
  EXPECT_EQ(*deleted, 1) << "the expired one is finished, not quarantined";
  EXPECT_EQ(GetAccount("demo").pending, 0);
  auto listed = store_->ListQuarantined(id, 10, 0);
  ASSERT_TRUE(listed.has_value());
  EXPECT_TRUE(listed->empty());
  EXPECT_EQ(GetCounters(id).purged, 1);
}

TEST_P(StoreConformance, PurgedWaitingMailIsNeitherScannedNorGivenAVerdict) {
  const AccountId id = MakeAccount("demo");
  SetState(id, AccountState::kActive, AccountState::kBlocked, BlockedBy::kCustomer);
  const MessageId a = Insert({ScannedMessage(Message(id, kT0))})[0];
  StartPurge(id, kT0);
  auto waiting = store_->ListUnscanned(0, 10);
  ASSERT_TRUE(waiting.has_value());
  EXPECT_TRUE(waiting->empty());
  auto done = store_->RecordVerdict(Clean(id, a), kT0);
  ASSERT_TRUE(done.has_value());
  EXPECT_FALSE(*done);
}

}  // namespace
}  // namespace mailwarden::conformance
