// Store conformance: daily error reports and mail sources.
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

// --- Daily error reports ---

TEST_P(StoreConformance, AccountsToReportListsTheDaysAccountsWithFailuresOrExpiredMail) {
  const AccountId failing = MakeAccount("failing");
  const AccountId fine = MakeAccount("fine");
  const AccountId expiring = MakeAccount("expiring");
  const TimePoint sent_at = kT0 + minutes(1);
  auto ids =
      Insert({Message(failing, kT0, {"bad@example.net", "good@example.net"}), Message(fine, kT0)});
  Claim(kT0);
  Record({{.id = ids[0],
           .recipients = {{.index = 0, .status = RecipientStatus::kFailed, .reply = "550 no"},
                          {.index = 1, .status = RecipientStatus::kSent, .reply = "250 ok"}}},
          {.id = ids[1],
           .recipients = {{.index = 0, .status = RecipientStatus::kSent, .reply = "250"}}}},
         sent_at);
  Insert({Message(expiring, kT0)});
  SetState(expiring, AccountState::kActive, AccountState::kBlocked, BlockedBy::kCustomer);
  const TimePoint expired_at = kT0 + std::chrono::hours(80);
  ASSERT_EQ(store_->ExpireHeld(expired_at - std::chrono::hours(72), 10, expired_at).value_or(-1),
            1);

  auto day_of_failure = store_->AccountsToReport(LocalDayNumber(sent_at));
  ASSERT_TRUE(day_of_failure.has_value()) << day_of_failure.error().message;
  EXPECT_EQ(*day_of_failure, std::vector<AccountId>{failing});
  EXPECT_EQ(store_->AccountsToReport(LocalDayNumber(expired_at)).value_or(std::vector<AccountId>{}),
            std::vector<AccountId>{expiring});
  EXPECT_TRUE(store_->AccountsToReport(20000101).value_or(std::vector<AccountId>{1}).empty());
}

TEST_P(StoreConformance, ClaimReportQueuesADaysReportOnceAcrossStoresAndReopens) {
  const AccountId customer = MakeAccount("customer");
  const AccountId system = MakeAccount("_mailwarden");
  auto ids = Insert({Message(customer, kT0, {"bad@example.net"})});
  Claim(kT0);
  Record({{.id = ids[0],
           .recipients = {{.index = 0, .status = RecipientStatus::kFailed, .reply = "550"}}}},
         kT0);
  const int day = LocalDayNumber(kT0);
  NewMessage report =
      Message(system, kT0 + std::chrono::hours(20), {"owner@example.com"}, "report");

  auto first = store_->ClaimReport(customer, day, report, kT0 + std::chrono::hours(20));
  ASSERT_TRUE(first.has_value()) << first.error().message;
  ASSERT_TRUE(first->has_value());
  StoredMessage stored = GetMessage(**first);
  EXPECT_EQ(stored.account, system);
  EXPECT_EQ(stored.subject, "report");
  ASSERT_EQ(stored.recipients.size(), 1u);
  EXPECT_EQ(stored.recipients[0].address, "owner@example.com");
  EXPECT_EQ(GetAccount("_mailwarden").pending, 1);
  EXPECT_TRUE(store_->AccountsToReport(day).value_or(std::vector<AccountId>{1}).empty());

  // Again, from this store, another one on the same database (another node), and after a
  // reopen (a restart): claimed already, nothing more is stored.
  auto again = store_->ClaimReport(customer, day, report, kT0 + std::chrono::hours(21));
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_FALSE(again->has_value());
  auto other = OpenOrDie();
  ASSERT_NE(other, nullptr);
  auto from_other = other->ClaimReport(customer, day, report, kT0 + std::chrono::hours(21));
  ASSERT_TRUE(from_other.has_value()) << from_other.error().message;
  EXPECT_FALSE(from_other->has_value());
  other.reset();
  store_.reset();
  store_ = OpenOrDie();
  EXPECT_FALSE(store_->ClaimReport(customer, day, report, kT0).value_or(MessageId{1}).has_value());
  EXPECT_EQ(GetAccount("_mailwarden").pending, 1);
  EXPECT_EQ(db_->QueryInt("SELECT message_id FROM reports WHERE account_id = " +
                          std::to_string(customer)),
            **first);

  // Another day of the same account is a report of its own.
  auto next_day = store_->ClaimReport(customer, day + 1, report, kT0 + std::chrono::hours(44));
  ASSERT_TRUE(next_day.has_value()) << next_day.error().message;
  EXPECT_TRUE(next_day->has_value());
  auto unknown = store_->ClaimReport(9999, day, report, kT0);
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
}

TEST_P(StoreConformance, TotalsSumHeldQueuedAndCountersOverAccounts) {
  const AccountId active = MakeAccount("active");
  const AccountId blocked = MakeAccount("blocked");
  auto depth0 = store_->GetTotals();
  ASSERT_TRUE(depth0.has_value()) << depth0.error().message;
  EXPECT_EQ(depth0->held, 0);
  EXPECT_EQ(depth0->queued, 0);
  Insert({Message(active, kT0), Message(active, kT0)});
  auto held = Insert({Message(blocked, kT0, {"to@example.net"}, "a"),
                      Message(blocked, kT0, {"to@example.net"}, "b"),
                      Message(blocked, kT0, {"to@example.net"}, "c")});
  SetState(blocked, AccountState::kActive, AccountState::kBlocked, BlockedBy::kCustomer);
  ASSERT_EQ(store_->ReleaseHeld(blocked, {.ids = {held[0]}}, kT0).value_or(-1), 1);
  auto depth = store_->GetTotals();
  ASSERT_TRUE(depth.has_value()) << depth.error().message;
  EXPECT_EQ(depth->queued, 3);
  EXPECT_EQ(depth->held, 2);
  EXPECT_EQ(depth->submitted, 5);
  EXPECT_EQ(depth->sent, 0);
  ASSERT_EQ(store_->DeleteHeld(blocked, {.ids = {held[1]}}, kT0).value_or(-1), 1);
  auto after = store_->GetTotals();
  ASSERT_TRUE(after.has_value()) << after.error().message;
  EXPECT_EQ(after->purged, 1);
  EXPECT_EQ(after->held, 1);
}

// --- Where the mail comes from (migration 4) ---

TEST_P(StoreConformance, SourcesCountScriptsSendersDomainsAndSubjectsOfTheWindow) {
  const AccountId id = MakeAccount("demo");
  const AccountId other = MakeAccount("other");
  std::vector<NewMessage> batch;
  for (int i = 0; i < 3; ++i) {
    NewMessage m = Message(id, kT0, {"a@One.Example", "b@one.example", "c@two.example"}, "win");
    m.script = "1000:/home/site/spam.php";
    batch.push_back(m);
  }
  NewMessage contact = Message(id, kT0 + minutes(1), {"d@two.example"}, "hello");
  contact.script = "1000:/home/site/contact.php";
  contact.sender = "";
  batch.push_back(contact);
  NewMessage smtp = Message(id, kT0 + minutes(2), {"e@two.example"}, "hello");
  smtp.script = "";  // not PHP: no script counted
  batch.push_back(smtp);
  batch.push_back(Message(other, kT0, {"x@other.example"}, "not yours"));
  Insert(batch);
  // In a second commit: the counters add up across transactions.
  NewMessage later = Message(id, kT0 + minutes(3), {"f@two.example"}, "win");
  later.script = "1000:/home/site/spam.php";
  Insert({later});
  // 30 hours old: inside a 48-hour window, outside a 24-hour one.
  NewMessage old = Message(id, kT0 - std::chrono::hours(30), {"g@three.example"}, "old");
  old.script = "1000:/home/site/old.php";
  Insert({old});

  auto sources = store_->GetSources(id, 24, kT0 + minutes(5), 10);
  ASSERT_TRUE(sources.has_value()) << sources.error().message;
  using Counts = std::vector<std::pair<std::string, std::int64_t>>;
  auto flat = [](const std::vector<SourceCount>& list) {
    Counts out;
    for (const auto& c : list) out.emplace_back(c.value, c.count);
    return out;
  };
  EXPECT_EQ(flat(sources->scripts),
            (Counts{{"1000:/home/site/spam.php", 4}, {"1000:/home/site/contact.php", 1}}));
  EXPECT_EQ(flat(sources->senders), (Counts{{"www@site.example", 5}, {"", 1}}));
  EXPECT_EQ(flat(sources->domains), (Counts{{"two.example", 6}, {"one.example", 3}}))
      << "a domain counts once per message, in lower case";
  EXPECT_EQ(flat(sources->subjects), (Counts{{"win", 4}, {"hello", 2}}));

  auto wide = store_->GetSources(id, 48, kT0 + minutes(5), 1);
  ASSERT_TRUE(wide.has_value());
  EXPECT_EQ(flat(wide->scripts), (Counts{{"1000:/home/site/spam.php", 4}})) << "top 1";
  auto old_only = store_->GetSources(id, 48, kT0 - std::chrono::hours(29), 10);
  ASSERT_TRUE(old_only.has_value());
  EXPECT_EQ(flat(old_only->scripts), (Counts{{"1000:/home/site/old.php", 1}}))
      << "nothing after `now` is counted";

  auto theirs = store_->GetSources(other, 24, kT0 + minutes(5), 10);
  ASSERT_TRUE(theirs.has_value());
  EXPECT_EQ(flat(theirs->scripts), (Counts{{"/home/site/contact.php", 1}}));
  EXPECT_EQ(flat(theirs->subjects), (Counts{{"not yours", 1}}));
  auto unknown = store_->GetSources(9999, 24, kT0, 10);
  ASSERT_TRUE(unknown.has_value());
  EXPECT_TRUE(unknown->senders.empty());
}

TEST_P(StoreConformance, SourceValuesAreCutAtACharacterAndDomainsPerMessageBounded) {
  const AccountId id = MakeAccount("demo");
  // 254 ASCII bytes and then a 2-byte character that would straddle byte 255.
  const std::string subject = std::string(254, 's') + "\xC5\x82" + "tail";
  std::vector<std::string> recipients;
  for (std::size_t i = 0; i < kMaxSourceDomainsPerMessage + 10; ++i) {
    recipients.push_back("r@d" + std::to_string(i) + ".example");
  }
  Insert({Message(id, kT0, recipients, subject)});
  auto sources = store_->GetSources(id, 1, kT0, 1000);
  ASSERT_TRUE(sources.has_value()) << sources.error().message;
  ASSERT_EQ(sources->subjects.size(), 1u);
  EXPECT_EQ(sources->subjects[0].value, std::string(254, 's'));
  EXPECT_EQ(sources->domains.size(), kMaxSourceDomainsPerMessage);
}

// The values are the account's scripts' to choose (a flood of distinct subjects, script
// paths...): an hour keeps rows for the first max_sources_per_hour distinct values of each
// kind, and counts the mail of all later values in one "other" row.
TEST_P(StoreConformance, SourcesOfAnHourAreBoundedAndTheRestCountedTogether) {
  auto bounded = db_->Open(StoreOptions{.max_sources_per_hour = 3});
  ASSERT_TRUE(bounded.has_value()) << bounded.error().message;
  store_ = std::move(*bounded);
  const AccountId id = MakeAccount("flood");
  const AccountId calm = MakeAccount("calm");
  auto subjects = [&](AccountId account, TimePoint at, int first, int last) {
    std::vector<NewMessage> batch;
    for (int i = first; i <= last; ++i) {
      batch.push_back(Message(account, at + std::chrono::milliseconds(i), {"to@example.net"},
                              "s" + std::to_string(i)));
    }
    return batch;
  };
  Insert(subjects(id, kT0, 0, 4));  // s0, s1, s2 get rows; s3 and s4 do not
  std::vector<NewMessage> second = subjects(id, kT0, 5, 9);
  second.push_back(Message(id, kT0, {"to@example.net"}, "s0"));  // a value with a row
  Insert(second);
  Insert(subjects(calm, kT0, 0, 0));
  Insert(subjects(id, kT0 + std::chrono::hours(1), 9, 9));  // a new hour has room again

  using Counts = std::vector<std::pair<std::string, std::int64_t>>;
  auto flat = [](const std::vector<SourceCount>& list) {
    Counts out;
    for (const auto& c : list) out.emplace_back(c.value, c.count);
    return out;
  };
  auto first_hour = store_->GetSources(id, 1, kT0 + minutes(1), 10);
  ASSERT_TRUE(first_hour.has_value()) << first_hour.error().message;
  EXPECT_EQ(flat(first_hour->subjects), (Counts{{"s0", 2}, {"s1", 1}, {"s2", 1}}));
  EXPECT_EQ(first_hour->other.subjects, 7);
  EXPECT_EQ(flat(first_hour->senders), (Counts{{"www@site.example", 11}}));
  EXPECT_EQ(first_hour->other.senders, 0) << "one value: no other";
  auto both = store_->GetSources(id, 2, kT0 + std::chrono::hours(1), 2);
  ASSERT_TRUE(both.has_value()) << both.error().message;
  EXPECT_EQ(flat(both->subjects), (Counts{{"s0", 2}, {"s1", 1}})) << "top 2 of real values";
  EXPECT_EQ(both->other.subjects, 7);
  auto theirs = store_->GetSources(calm, 1, kT0 + minutes(1), 10);
  ASSERT_TRUE(theirs.has_value());
  EXPECT_EQ(flat(theirs->subjects), (Counts{{"s0", 1}})) << "another account's own room";
  EXPECT_EQ(theirs->other.subjects, 0);

  const std::string rows = "SELECT COUNT(*) FROM " + std::string(schema::kSourcesTable) +
                           " WHERE kind = " + std::to_string(schema::kSourceSubject) +
                           " AND account_id = " + std::to_string(id);
  EXPECT_EQ(db_->QueryInt(rows + " AND hour = " + std::to_string(ToUnixMillis(kT0) / 3'600'000)), 4)
      << "three values and the other row";
}

TEST_P(StoreConformance, SourcesOlderThanTheKeptHoursArePrunedByLaterInserts) {
  const AccountId id = MakeAccount("demo");
  Insert({Message(id, kT0)});
  Insert({Message(id, kT0 + std::chrono::hours(1))});
  const std::string count_rows = "SELECT COUNT(*) FROM " + std::string(schema::kSourcesTable);
  EXPECT_EQ(db_->QueryInt(count_rows), 8) << "script, sender, domain, subject of each hour";
  Insert({Message(id, kT0 + std::chrono::hours(kSourceHoursKept))});
  EXPECT_EQ(
      db_->QueryInt(count_rows + " WHERE hour = " + std::to_string(ToUnixMillis(kT0) / 3'600'000)),
      0)
      << "the hour 48 hours before the newest is pruned";
  EXPECT_EQ(db_->QueryInt(count_rows), 8) << "the two newer hours stay";
}

TEST_P(StoreConformance, MessageHeadersAreTheUnfinishedMessagesHeaderSectionOfItsAccount) {
  const AccountId id = MakeAccount("demo");
  const AccountId other = MakeAccount("other");
  NewMessage crlf = Message(id, kT0);
  crlf.body = "Received: from x\r\nSubject: hi\r\n\r\nthe body\r\n\r\nmore\r\n";
  NewMessage lf = Message(id, kT0);
  lf.body = "Subject: bare\nX-A: b\n\nbody\n";
  const std::string huge_header = "X-Big: " + std::string(kMaxHeaderSectionBytes, 'x') + "\r\n";
  NewMessage big = Message(id, kT0);
  big.body = huge_header + "\r\nbody\r\n";
  auto ids = Insert({crlf, lf, big});
  ASSERT_EQ(ids.size(), 3u);

  auto headers = store_->GetMessageHeaders(id, ids[0]);
  ASSERT_TRUE(headers.has_value()) << headers.error().message;
  EXPECT_EQ(*headers, "Received: from x\r\nSubject: hi\r\n");
  headers = store_->GetMessageHeaders(id, ids[1]);
  ASSERT_TRUE(headers.has_value());
  EXPECT_EQ(*headers, "Subject: bare\nX-A: b\n");
  headers = store_->GetMessageHeaders(id, ids[2]);
  ASSERT_TRUE(headers.has_value());
  EXPECT_EQ(headers->size(), kMaxHeaderSectionBytes) << "cut at the limit";

  auto theirs = store_->GetMessageHeaders(other, ids[0]);
  ASSERT_FALSE(theirs.has_value());
  EXPECT_EQ(theirs.error().code, ErrorCode::kNotFound);
  auto missing = store_->GetMessageHeaders(id, ids[2] + 100);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);

  auto claimed = Claim(kT0, 1);
  ASSERT_EQ(claimed.size(), 1u);
  headers = store_->GetMessageHeaders(id, claimed[0].id);
  EXPECT_TRUE(headers.has_value()) << "in flight is still unfinished";
  Record(AllRecipients(claimed, RecipientStatus::kSent, "250"), kT0 + seconds(1));
  auto done = store_->GetMessageHeaders(id, claimed[0].id);
  ASSERT_FALSE(done.has_value()) << "a finished message's body is gone";
  EXPECT_EQ(done.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace mailwarden::conformance
