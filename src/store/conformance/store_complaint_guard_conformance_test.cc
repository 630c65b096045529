// Store conformance: the complaint guard (RecordComplaint blocks in its transaction), and the
// migration that lets accounts.blocked_by say complaint_guard, from the version before with
// data in it.
#include <gtest/gtest.h>

#include <string>

#include "core/account_state.h"
#include "core/block_reason.h"
#include "store/account_change.h"
#include "store/conformance/store_conformance.h"
#include "store/schema.h"
#include "store/store.h"

namespace mailwarden::conformance {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

// Ten messages of the account sent at kT0, and a complaint recorder with rate 0.2 over at
// least 10 sent: the third complaint (3 of 10) passes it.
class ComplaintGuard {
 public:
  static Complaint Of(MessageId message, AccountId account) {
    return Complaint{.message = message,
                     .account = account,
                     .feedback_type = "abuse",
                     .complaint_rate = 0.2,
                     .complaint_min = 10};
  }
};

TEST_P(StoreConformance, TheComplaintGuardBlocksInTheComplaintsTransactionAndUnblockDoublesIt) {
  const AccountId id = MakeAccount("shop");
  std::vector<NewMessage> batch;
  for (int i = 0; i < 10; ++i) batch.push_back(Message(id, kT0, {"r@mailbox.example"}, "offer"));
  const auto ids = Insert(std::move(batch));
  auto claimed = Claim(kT0);
  ASSERT_EQ(claimed.size(), 10u);
  std::vector<DeliveryOutcome> sent;
  for (const MessageId m : ids) {
    sent.push_back(DeliveryOutcome{
        .id = m, .recipients = {{.index = 0, .status = RecipientStatus::kSent, .reply = "250"}}});
  }
  Record(std::move(sent), kT0 + minutes(1));
  ASSERT_EQ(GetCounters(id).sent_today, 10);

  auto complain = [&](int i, TimePoint at) {
    auto r = store_->RecordComplaint(ComplaintGuard::Of(ids[i], id), at);
    EXPECT_TRUE(r.has_value()) << r.error().message;
    return r.value_or(ComplaintRecorded{});
  };
  // 1 and 2 of 10: at most the rate, nothing.
  EXPECT_FALSE(complain(0, kT0 + minutes(2)).blocked.has_value());
  EXPECT_FALSE(complain(1, kT0 + minutes(3)).blocked.has_value());
  EXPECT_EQ(GetAccount("shop").state, AccountState::kActive);
  // 3 of 10: blocked, with the numbers, in the same transaction.
  const ComplaintRecorded third = complain(2, kT0 + minutes(4));
  ASSERT_TRUE(third.blocked.has_value());
  EXPECT_EQ(third.blocked->state, AccountState::kActive) << "the account as it was";
  EXPECT_EQ(third.blocked->report_to, "shop@example.com");
  EXPECT_EQ(third.complaints_today, 3);
  const Account blocked = GetAccount("shop");
  EXPECT_EQ(blocked.state, AccountState::kBlocked);
  EXPECT_EQ(blocked.blocked_by, BlockedBy::kComplaintGuard);
  EXPECT_EQ(blocked.reason, third.block_reason);
  EXPECT_EQ(blocked.since, kT0 + minutes(4));
  const auto code = ParseBlockReason(blocked.reason);
  ASSERT_TRUE(code.has_value()) << blocked.reason;
  EXPECT_EQ(code->code, "complaint_rate");
  EXPECT_EQ(code->params, (std::vector<std::pair<std::string, std::int64_t>>{
                              {"complaints", 3}, {"sent", 10}, {"rate", 3000}, {"limit", 2000}}));
  // Its audit record, and its events after the complaints' own.
  auto audit = store_->ListAudit(id, 10, 0);
  ASSERT_TRUE(audit.has_value()) << audit.error().message;
  ASSERT_FALSE(audit->empty());
  EXPECT_EQ(audit->front().actor, "complaint_guard");
  EXPECT_EQ(audit->front().action, "BLOCK");
  EXPECT_EQ(audit->front().to, AccountState::kBlocked);
  EXPECT_EQ(db_->QueryInt("SELECT COUNT(*) FROM events WHERE type = 'complaint'"), 3);
  EXPECT_EQ(db_->QueryInt("SELECT COUNT(*) FROM events WHERE type = 'account.blocked' AND "
                          "data LIKE '%\"blocked_by\":\"complaint_guard\"%'"),
            1);
  EXPECT_EQ(db_->QueryInt("SELECT COUNT(*) FROM events WHERE type = 'guard.tripped' AND "
                          "data LIKE '%\"guard\":\"complaint_guard\"%'"),
            1);

  // UNBLOCK doubles the tolerance for 24 hours: the stored status carries it.
  auto unblock =
      Decide(StatusOf(blocked), AccountAction::kUnblock, Actor::kCustomer, "", kT0 + minutes(8));
  ASSERT_TRUE(unblock.has_value());
  auto lifted = store_->SetAccountState(
      ChangeFor(blocked, *unblock, Actor::kCustomer, AccountAction::kUnblock));
  ASSERT_TRUE(lifted.has_value()) << lifted.error().message;
  const Account active = GetAccount("shop");
  EXPECT_EQ(active.state, AccountState::kActive);
  EXPECT_EQ(active.complaint_tolerance_until, kT0 + minutes(8) + hours(24));
  EXPECT_EQ(active.bounce_tolerance_until, TimePoint{});
  // 4 of 10 is above 0.2 but not above 0.4: still active. 5 of 10 passes the doubled rate,
  // and the block says so.
  EXPECT_FALSE(complain(3, kT0 + minutes(9)).blocked.has_value());
  EXPECT_EQ(GetAccount("shop").state, AccountState::kActive);
  const ComplaintRecorded fifth = complain(4, kT0 + minutes(10));
  ASSERT_TRUE(fifth.blocked.has_value());
  const auto doubled = ParseBlockReason(GetAccount("shop").reason);
  ASSERT_TRUE(doubled.has_value());
  EXPECT_EQ(doubled->code, "complaint_rate_doubled");
  EXPECT_EQ(GetAccount("shop").complaint_tolerance_until, kT0 + minutes(8) + hours(24));
  // Blocked already: a sixth complaint counts and blocks nothing more.
  const ComplaintRecorded sixth = complain(5, kT0 + minutes(11));
  EXPECT_FALSE(sixth.blocked.has_value());
  EXPECT_EQ(sixth.complaints_today, 6);
  EXPECT_EQ(GetAccount("shop").since, kT0 + minutes(10));
}

TEST_P(StoreConformance, TheComplaintGuardWaitsForComplaintMinAndSparesTheInternalAccount) {
  for (const std::string name : {"small", "_mailwarden"}) {
    const AccountId id = MakeAccount(name);
    const auto ids = Insert({Message(id, kT0, {"r@mailbox.example"}, "offer")});
    auto claimed = Claim(kT0);
    ASSERT_EQ(claimed.size(), 1u);
    Record({DeliveryOutcome{
               .id = ids[0],
               .recipients = {{.index = 0, .status = RecipientStatus::kSent, .reply = "250"}}}},
           kT0 + minutes(1));
    Complaint c = ComplaintGuard::Of(ids[0], id);
    c.complaint_min = name == "small" ? 2 : 1;  // small: 1 sent, below it
    for (int i = 0; i < 3; ++i) {
      auto r = store_->RecordComplaint(c, kT0 + minutes(2 + i));
      ASSERT_TRUE(r.has_value()) << r.error().message;
      EXPECT_FALSE(r->blocked.has_value()) << name;
    }
    EXPECT_EQ(GetAccount(name).state, AccountState::kActive) << name;
  }
}

// The schema of the version before this one, with accounts, their uids, mail, counters and
// audit in it, migrated by opening it: every row stays, the references hold, and a block by
// the complaint guard can be stored.
TEST_P(StoreConformance, MigratingFromTheVersionBeforeKeepsTheAccountsAndAllowsComplaintGuard) {
  store_.reset();
  db_ = GetParam().make();
  const bool pg = GetParam().name == "postgresql";
  if (!pg) {
    auto* sqlite = dynamic_cast<SqliteTestDatabase*>(db_.get());
    ASSERT_NE(sqlite, nullptr);
    std::filesystem::create_directories(sqlite->file().parent_path());
  }
  db_->Exec(std::string(schema::kCreateSchemaVersionTable));
  for (const schema::Migration& m : schema::kMigrations) {
    if (m.version >= schema::kSchemaVersion) break;
    db_->Exec(std::string(pg ? m.postgres : m.sqlite));
    db_->Exec("INSERT INTO schema_version (version, applied_ms) VALUES (" +
              std::to_string(m.version) + ", 1)");
  }
  ASSERT_EQ(db_->QueryInt("SELECT MAX(version) FROM schema_version"), schema::kSchemaVersion - 1);
  db_->Exec(
      "INSERT INTO accounts (id, name, state, blocked_by, reason, since_ms, report_to, language, "
      "pending, created_ms, bounce_tolerance_until_ms, sent, errors) VALUES "
      "(7, 'shop', 'blocked', 'bounce_guard', 'bounce_guard: 4 of 4', 1000, 'o@example.com', "
      "'pl', 1, 500, 90000, 12, 4), "
      "(8, 'quiet', 'active', '', '', 1000, '', 'en', 0, 500, 0, 0, 0)");
  if (pg) {
    db_->Exec("INSERT INTO account_names (name, account_id) VALUES ('shop', 7), ('quiet', 8)");
    // Ids given by hand leave the identity where it was; the daemon never gives them.
    db_->Exec("SELECT setval(pg_get_serial_sequence('accounts', 'id'), 8)");
  }
  db_->Exec("INSERT INTO account_uids (uid, account_id) VALUES (1000, 7), (1001, 8)");
  db_->Exec(
      "INSERT INTO messages (id, account_id, status, received_ms, next_attempt_ms, uid, size, "
      "sender, subject, script) VALUES (70, 7, 0, 1000, 1000, 1000, 10, 's@shop.example', "
      "'held one', '')");
  db_->Exec(
      "INSERT INTO recipients (message_id, idx, account_id, address, updated_ms) VALUES "
      "(70, 0, 7, 'r@mailbox.example', 1000)");
  db_->Exec(
      "INSERT INTO audit (at_ms, account_id, actor, action, from_state, to_state, reason) "
      "VALUES (1000, 7, 'bounce_guard', 'BLOCK', 'active', 'blocked', 'bounce_guard: 4 of 4')");
  db_->Exec(
      "INSERT INTO daily_counters (account_id, day, sent, errors) VALUES (7, 20231114, 12, 4)");

  store_ = OpenOrDie();
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(db_->QueryInt("SELECT MAX(version) FROM schema_version"), schema::kSchemaVersion);
  const Account shop = GetAccount("shop");
  EXPECT_EQ(shop.id, 7);
  EXPECT_EQ(shop.state, AccountState::kBlocked);
  EXPECT_EQ(shop.blocked_by, BlockedBy::kBounceGuard);
  EXPECT_EQ(shop.reason, "bounce_guard: 4 of 4");
  EXPECT_EQ(shop.language, "pl");
  EXPECT_EQ(shop.pending, 1);
  EXPECT_EQ(shop.bounce_tolerance_until, FromUnixMillis(90000));
  EXPECT_EQ(shop.complaint_tolerance_until, TimePoint{});
  EXPECT_EQ(shop.uids, std::vector<Uid>{1000});
  EXPECT_EQ(GetMessage(70).account, 7);
  EXPECT_EQ(db_->QueryInt("SELECT COUNT(*) FROM audit WHERE account_id = 7"), 1);
  EXPECT_EQ(db_->QueryInt("SELECT sent FROM accounts WHERE id = 7"), 12);
  if (!pg) {
    // The references hold, and the indexes and the trigger of accounts are there again.
    EXPECT_EQ(db_->QueryInt("SELECT COUNT(*) FROM pragma_foreign_key_check"), 0);
    EXPECT_EQ(db_->QueryInt("SELECT COUNT(*) FROM sqlite_schema WHERE type = 'index' AND "
                            "tbl_name = 'accounts' AND name LIKE 'accounts_%'"),
              6);  // the four it had, and accounts_with_quota and accounts_deleted of later ones
    EXPECT_EQ(db_->QueryInt("SELECT COUNT(*) FROM sqlite_schema WHERE type = 'trigger' AND "
                            "name = 'purge_raises_message_id_floor'"),
              1);
    EXPECT_EQ(db_->QueryInt("SELECT COUNT(*) FROM sqlite_schema WHERE name = 'accounts_new'"), 0);
  }
  // A complaint_guard block of the other account is allowed now.
  SetState(8, AccountState::kActive, AccountState::kBlocked, BlockedBy::kComplaintGuard);
  EXPECT_EQ(GetAccount("quiet").blocked_by, BlockedBy::kComplaintGuard);
  const AccountId added = MakeAccount("new");
  EXPECT_GT(added, 8);
}

}  // namespace
}  // namespace mailwarden::conformance

namespace mailwarden::conformance {
namespace {

TEST_P(StoreConformance, AMessageIsFoundByItsMessageIdWhenOneAccountHasIt) {
  const AccountId shop = MakeAccount("shop");
  const AccountId other = MakeAccount("other");
  auto with_id = [&](AccountId account, std::string id) {
    NewMessage m = Message(account, kT0, {"r@mailbox.example"}, "offer");
    m.message_id = std::move(id);
    return m;
  };
  const auto ids = Insert({with_id(shop, "a.1@shop.example"), with_id(shop, "twice@shop.example"),
                           with_id(shop, "twice@shop.example"), with_id(other, "copied@x"),
                           with_id(shop, "copied@x"), with_id(shop, "")});
  auto found = store_->FindByMessageId("a.1@shop.example");
  ASSERT_TRUE(found.has_value()) << found.error().message;
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->message, ids[0]);
  EXPECT_EQ((*found)->account, shop);
  // Twice in one account: the newest.
  found = store_->FindByMessageId("twice@shop.example");
  ASSERT_TRUE(found.has_value() && found->has_value());
  EXPECT_EQ((*found)->message, ids[2]);
  // In two accounts: neither.
  found = store_->FindByMessageId("copied@x");
  ASSERT_TRUE(found.has_value());
  EXPECT_FALSE(found->has_value());
  // None, and the empty id of a message without one.
  for (const char* id : {"nobody@x", ""}) {
    found = store_->FindByMessageId(id);
    ASSERT_TRUE(found.has_value());
    EXPECT_FALSE(found->has_value()) << id;
  }
}

}  // namespace
}  // namespace mailwarden::conformance
