// The Store conformance suite: one set of tests that every Store implementation passes.
//
// A target is a way to make a fresh, empty database that tests can open (and reopen) as a
// Store and edit behind its back with plain SQL. Adding an engine is one TestDatabase class
// and one entry in the INSTANTIATE_TEST_SUITE_P at the bottom.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "store/schema.h"
#include "store/store.h"
#include "store/test_temp_dir.h"

namespace mailwarden {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// One database, private to a test.
class TestDatabase {
 public:
  virtual ~TestDatabase() = default;
  // Opens the database as a Store (migrating it); each call opens it anew.
  virtual Result<std::unique_ptr<Store>> Open() = 0;
  // Runs SQL on the database directly, as an operator or another version would.
  virtual void Exec(const std::string& sql) = 0;
  // The first column of the first row of a query.
  virtual std::int64_t QueryInt(const std::string& sql) = 0;
};

struct StoreTarget {
  std::string name;
  std::function<std::unique_ptr<TestDatabase>()> make;
};

// Names the engine in test output instead of a byte dump of the parameter.
void PrintTo(const StoreTarget& target, std::ostream* os) { *os << target.name; }

// A database file in a temporary folder of its own, removed at the end of the test.
class SqliteTestDatabase final : public TestDatabase {
 public:
  // The url's folder does not exist yet: OpenStore creates it.
  std::filesystem::path file() const { return dir_.path() / "var" / "mailwarden.db"; }

  Result<std::unique_ptr<Store>> Open() override { return OpenStore("sqlite:" + file().string()); }

  void Exec(const std::string& sql) override {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(file().c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << (error ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);
  }

  std::int64_t QueryInt(const std::string& sql) override {
    sqlite3* db = nullptr;
    sqlite3_stmt* stmt = nullptr;
    std::int64_t value = -1;
    if (sqlite3_open(file().c_str(), &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      value = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return value;
  }

 private:
  TempDir dir_{"mw_store_test"};
};

// The admin url of a PostgreSQL server to test on (e.g. postgresql://postgres@/postgres?host=
// /run/postgresql), or none: then the PostgreSQL tests are skipped.
const char* PgAdminUrl() {
  const char* url = std::getenv("MW_TEST_PG_URL");
  return url != nullptr && *url != '\0' ? url : nullptr;
}

// A database of its own on the server of MW_TEST_PG_URL, created for the test and dropped
// after it.
class PgTestDatabase final : public TestDatabase {
 public:
  PgTestDatabase() {
    static std::atomic<int> counter{0};
    name_ = "mw_t_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    const std::string admin = PgAdminUrl();
    url_ = admin + (admin.find('?') == std::string::npos ? "?" : "&") + "dbname=" + name_;
    AdminExec("CREATE DATABASE " + name_);
  }
  ~PgTestDatabase() override { AdminExec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)"); }

  const std::string& url() const { return url_; }

  Result<std::unique_ptr<Store>> Open() override { return OpenStore(url_); }

  void Exec(const std::string& sql) override {
    PGconn* conn = PQconnectdb(url_.c_str());
    PGresult* result = PQexec(conn, sql.c_str());
    const ExecStatusType status = PQresultStatus(result);
    EXPECT_TRUE(status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
        << sql << ": " << PQerrorMessage(conn);
    PQclear(result);
    PQfinish(conn);
  }

  std::int64_t QueryInt(const std::string& sql) override {
    PGconn* conn = PQconnectdb(url_.c_str());
    PGresult* result = PQexec(conn, sql.c_str());
    std::int64_t value = -1;
    if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) > 0 &&
        !PQgetisnull(result, 0, 0)) {
      value = std::strtoll(PQgetvalue(result, 0, 0), nullptr, 10);
    }
    PQclear(result);
    PQfinish(conn);
    return value;
  }

 private:
  static void AdminExec(const std::string& sql) {
    PGconn* conn = PQconnectdb(PgAdminUrl());
    PGresult* result = PQexec(conn, sql.c_str());
    EXPECT_EQ(PQresultStatus(result), PGRES_COMMAND_OK) << sql << ": " << PQerrorMessage(conn);
    PQclear(result);
    PQfinish(conn);
  }

  std::string name_;
  std::string url_;
};

const TimePoint kT0 = FromUnixMillis(1'700'000'000'000);

class StoreConformance : public ::testing::TestWithParam<StoreTarget> {
 protected:
  void SetUp() override {
    if (GetParam().name == "postgresql" && PgAdminUrl() == nullptr) {
      GTEST_SKIP() << "MW_TEST_PG_URL is not set: no PostgreSQL server to test on";
    }
    db_ = GetParam().make();
    store_ = OpenOrDie();
  }

  std::unique_ptr<Store> OpenOrDie() {
    auto store = db_->Open();
    if (!store) {
      ADD_FAILURE() << "open: " << store.error().message;
      return nullptr;
    }
    return std::move(*store);
  }

  AccountId MakeAccount(const std::string& name, std::vector<Uid> uids = {}) {
    AccountSpec spec;
    spec.name = name;
    spec.uids = std::move(uids);
    spec.report_to = name + "@example.com";
    auto id = store_->UpsertAccount(spec);
    EXPECT_TRUE(id.has_value()) << id.error().message;
    return id.value_or(0);
  }

  static NewMessage Message(AccountId account, TimePoint received,
                            std::vector<std::string> recipients = {"to@example.net"},
                            std::string subject = "hello") {
    NewMessage m;
    m.account = account;
    m.sender = "www@site.example";
    m.recipients = std::move(recipients);
    m.subject = std::move(subject);
    m.body = "Subject: " + m.subject + "\r\n\r\nbody of " + m.subject + "\r\n";
    m.script = "/home/site/contact.php";
    m.uid = 1000;
    m.received_at = received;
    return m;
  }

  // Messages of `account` a millisecond apart, their bodies of these sizes.
  static std::vector<NewMessage> SizedMessages(AccountId account,
                                               std::initializer_list<std::size_t> sizes) {
    std::vector<NewMessage> batch;
    for (const std::size_t size : sizes) {
      NewMessage m = Message(account, kT0 + milliseconds(batch.size()));
      m.body.resize(size, 'x');
      batch.push_back(std::move(m));
    }
    return batch;
  }

  std::vector<MessageId> Insert(std::vector<NewMessage> messages) {
    auto ids = store_->InsertMessages(messages);
    EXPECT_TRUE(ids.has_value()) << ids.error().message;
    return ids.value_or(std::vector<MessageId>{});
  }

  std::vector<ClaimedMessage> Claim(TimePoint now, int limit = 100, std::string node = "n1",
                                    Store* store = nullptr) {
    ClaimRequest request;
    request.now = now;
    request.limit = limit;
    request.lease_until = now + minutes(5);
    request.node = std::move(node);
    auto claimed = (store ? store : store_.get())->ClaimDue(request);
    EXPECT_TRUE(claimed.has_value()) << claimed.error().message;
    return claimed ? std::move(claimed->messages) : std::vector<ClaimedMessage>{};
  }

  static std::vector<MessageId> Ids(const std::vector<ClaimedMessage>& claimed) {
    std::vector<MessageId> ids;
    for (const auto& m : claimed) ids.push_back(m.id);
    return ids;
  }

  void Record(std::vector<DeliveryOutcome> outcomes, TimePoint now) {
    auto r = store_->RecordOutcomes(outcomes, now);
    EXPECT_TRUE(r.has_value()) << r.error().message;
  }

  Account GetAccount(const std::string& name) {
    auto a = store_->FindAccount(name);
    EXPECT_TRUE(a.has_value() && a->has_value()) << name;
    return a.has_value() && a->has_value() ? **a : Account{};
  }

  AccountCounters GetCounters(AccountId account) {
    auto c = store_->GetCounters(account, LocalDayOf(kT0));
    EXPECT_TRUE(c.has_value()) << c.error().message;
    return c.value_or(AccountCounters{});
  }

  StoredMessage GetMessage(MessageId id) {
    auto m = store_->GetMessage(id);
    EXPECT_TRUE(m.has_value() && m->has_value()) << id;
    return m.has_value() && m->has_value() ? **m : StoredMessage{};
  }

  void SetState(AccountId account, AccountState from, AccountState to,
                BlockedBy by = BlockedBy::kNone) {
    auto r = store_->SetAccountState({.account = account,
                                      .from = from,
                                      .to = to,
                                      .blocked_by = by,
                                      .reason = "test",
                                      .at = kT0});
    EXPECT_TRUE(r.has_value()) << r.error().message;
  }

  // A customer's purge of blocked account: blocked -> purging, the held mail purged at once.
  void StartPurge(AccountId account, TimePoint at) {
    auto r = store_->SetAccountState({.account = account,
                                      .from = AccountState::kBlocked,
                                      .to = AccountState::kPurging,
                                      .blocked_by = BlockedBy::kCustomer,
                                      .reason = "",
                                      .at = at,
                                      .start_purge = true});
    ASSERT_TRUE(r.has_value()) << r.error().message;
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<Store> store_;
};

// --- Accounts ---

TEST_P(StoreConformance, UpsertCreatesAnAccountFoundByNameAndUid) {
  AccountSpec spec;
  spec.name = "demo";
  spec.uids = {1000, 1001};
  spec.report_to = "admin@example.com";
  spec.language = "pl";
  spec.max_per_day = 500;
  auto id = store_->UpsertAccount(spec);
  ASSERT_TRUE(id.has_value()) << id.error().message;

  Account a = GetAccount("demo");
  EXPECT_EQ(a.id, *id);
  auto by_id = store_->GetAccount(*id);
  ASSERT_TRUE(by_id.has_value() && by_id->has_value());
  EXPECT_EQ((*by_id)->name, "demo");
  auto missing = store_->GetAccount(*id + 1000);
  ASSERT_TRUE(missing.has_value());
  EXPECT_FALSE(missing->has_value());
  EXPECT_EQ(a.uids, (std::vector<Uid>{1000, 1001}));
  EXPECT_EQ(a.state, AccountState::kActive);
  EXPECT_EQ(a.blocked_by, BlockedBy::kNone);
  EXPECT_EQ(a.report_to, "admin@example.com");
  EXPECT_EQ(a.language, "pl");
  EXPECT_EQ(a.max_per_day, 500);
  EXPECT_EQ(a.max_per_hour, std::nullopt);
  EXPECT_EQ(a.pending, 0);

  auto by_uid = store_->FindAccountByUid(1001);
  ASSERT_TRUE(by_uid.has_value() && by_uid->has_value());
  EXPECT_EQ((*by_uid)->name, "demo");

  auto none = store_->FindAccount("nobody");
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->has_value());
  auto no_uid = store_->FindAccountByUid(4242);
  ASSERT_TRUE(no_uid.has_value());
  EXPECT_FALSE(no_uid->has_value());
}

TEST_P(StoreConformance, UpsertUpdatesSettingsAndKeepsStateAndCounters) {
  const AccountId id = MakeAccount("demo", {1000});
  Insert({Message(id, kT0)});
  SetState(id, AccountState::kActive, AccountState::kBlocked, BlockedBy::kCustomer);

  AccountSpec spec;
  spec.name = "demo";
  spec.uids = {1002};
  spec.report_to = "new@example.com";
  spec.max_per_hour = 10;
  auto again = store_->UpsertAccount(spec);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, id);

  Account a = GetAccount("demo");
  EXPECT_EQ(a.uids, std::vector<Uid>{1002});
  EXPECT_EQ(a.report_to, "new@example.com");
  EXPECT_EQ(a.max_per_hour, 10);
  EXPECT_EQ(a.state, AccountState::kBlocked);
  EXPECT_EQ(a.blocked_by, BlockedBy::kCustomer);
  EXPECT_EQ(a.pending, 1);
  auto old_uid = store_->FindAccountByUid(1000);
  ASSERT_TRUE(old_uid.has_value());
  EXPECT_FALSE(old_uid->has_value()) << "a uid no longer listed belongs to no account";
}

TEST_P(StoreConformance, UpsertMovesAUidFromAnotherAccount) {
  MakeAccount("first", {1000, 1001});
  MakeAccount("second", {1001});
  EXPECT_EQ(GetAccount("first").uids, std::vector<Uid>{1000});
  EXPECT_EQ(GetAccount("second").uids, std::vector<Uid>{1001});
  auto owner = store_->FindAccountByUid(1001);
  ASSERT_TRUE(owner.has_value() && owner->has_value());
  EXPECT_EQ((*owner)->name, "second");
}

TEST_P(StoreConformance, UpsertRefusesAnEmptyName) {
  auto id = store_->UpsertAccount(AccountSpec{});
  ASSERT_FALSE(id.has_value());
  EXPECT_EQ(id.error().code, ErrorCode::kInvalidInput);
}

TEST_P(StoreConformance, ListAccountsGivesEveryAccountWithItsUids) {
  MakeAccount("a", {10, 11});
  MakeAccount("b");
  MakeAccount("c", {12});
  auto list = store_->ListAccounts();
  ASSERT_TRUE(list.has_value());
  std::map<std::string, std::vector<Uid>> got;
  for (const auto& a : *list) got[a.name] = a.uids;
  EXPECT_EQ(got,
            (std::map<std::string, std::vector<Uid>>{{"a", {10, 11}}, {"b", {}}, {"c", {12}}}));
}

TEST_P(StoreConformance, SetAccountStateComparesThenSets) {
  const AccountId id = MakeAccount("demo");
  ASSERT_TRUE(store_
                  ->SetAccountState({.account = id,
                                     .from = AccountState::kActive,
                                     .to = AccountState::kBlocked,
                                     .blocked_by = BlockedBy::kSpamGuard,
                                     .reason = "3001 messages in an hour",
                                     .at = kT0 + seconds(7)})
                  .has_value());
  Account a = GetAccount("demo");
  EXPECT_EQ(a.state, AccountState::kBlocked);
  EXPECT_EQ(a.blocked_by, BlockedBy::kSpamGuard);
  EXPECT_EQ(a.reason, "3001 messages in an hour");
  EXPECT_EQ(a.since, kT0 + seconds(7));

  // Another node already moved it: the stale decision is refused and changes nothing.
  auto stale = store_->SetAccountState({.account = id,
                                        .from = AccountState::kActive,
                                        .to = AccountState::kBlocked,
                                        .blocked_by = BlockedBy::kCustomer,
                                        .reason = "",
                                        .at = kT0});
  ASSERT_FALSE(stale.has_value());
  EXPECT_EQ(stale.error().code, ErrorCode::kConflict);
  EXPECT_EQ(GetAccount("demo").blocked_by, BlockedBy::kSpamGuard);

  auto missing = store_->SetAccountState({.account = id + 100,
                                          .from = AccountState::kActive,
                                          .to = AccountState::kBlocked,
                                          .blocked_by = BlockedBy::kCustomer,
                                          .reason = "",
                                          .at = kT0});
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

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

// --- Account control: audit, purge, expiry, release, delete, tokens, counters ---

// Outcomes for every pending recipient of each claimed message.
std::vector<DeliveryOutcome> AllRecipients(const std::vector<ClaimedMessage>& claimed,
                                           RecipientStatus status, std::string reply) {
  std::vector<DeliveryOutcome> outcomes;
  for (const auto& c : claimed) {
    DeliveryOutcome o{.id = c.id, .recipients = {}, .next_attempt = {}};
    for (const auto& r : c.recipients) {
      o.recipients.push_back({.index = r.index, .status = status, .reply = reply});
    }
    outcomes.push_back(std::move(o));
  }
  return outcomes;
}

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
  auto counters = store_->GetCounters(id, LocalDayOf(kT0));
  ASSERT_TRUE(counters.has_value());
  EXPECT_EQ(counters->purged, 5);
  EXPECT_EQ(counters->held, 0);
  EXPECT_EQ(counters->queued, 0);
  auto days = store_->GetVolumes(id, LocalDayOf(kT0), LocalDayOf(kT0));
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
  counters = store_->GetCounters(id, LocalDayOf(kT0));
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
    EXPECT_EQ(r.reply, "expired: held for longer than policy.hold");
    EXPECT_EQ(r.updated_at, now);
  }
  EXPECT_EQ(GetMessage(young[0]).status, MessageStatus::kQueued);
  EXPECT_EQ(GetMessage(active_ids[0]).status, MessageStatus::kQueued) << "active: not held";
  EXPECT_EQ(GetAccount("held").pending, 1);
  EXPECT_EQ(db_->QueryInt("SELECT COUNT(*) FROM " + std::string(schema::kMessagesTable) +
                          " WHERE body IS NOT NULL AND account_id = " + std::to_string(held)),
            1);
  auto c = store_->GetCounters(held, LocalDayOf(now));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->expired, 3);
  EXPECT_EQ(c->errors, 3) << "one per expired message";
  EXPECT_EQ(c->errors_today, 3);
  EXPECT_EQ(c->held, 1);

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

  auto c = store_->GetCounters(id, LocalDayOf(kT0));
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
  c = store_->GetCounters(id, LocalDayOf(kT0 + minutes(2)));
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
  EXPECT_EQ(store_->GetCounters(id, LocalDayOf(kT0))->held, 3)
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
  auto c = store_->GetCounters(id, LocalDayOf(kT0));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->purged, 2);
  auto days = store_->GetVolumes(id, LocalDayOf(kT0), LocalDayOf(kT0));
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

TEST_P(StoreConformance, TokensAndSmtpPasswordsAreFoundByTheirHash) {
  const AccountId id = MakeAccount("demo", {1000});
  const std::string hash(64, 'a');
  ASSERT_TRUE(store_->AddToken(id, hash, kT0).has_value());
  auto found = store_->FindAccountByToken(hash);
  ASSERT_TRUE(found.has_value() && found->has_value());
  EXPECT_EQ((*found)->name, "demo");
  EXPECT_EQ((*found)->uids, std::vector<Uid>{1000});
  auto unknown = store_->FindAccountByToken(std::string(64, 'b'));
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
           .recipients = {{.index = 0, .status = RecipientStatus::kFailed, .reply = "550 gone"}},
           .next_attempt = {}}},
         day2);
  // A replay counts nothing twice.
  Record({{.id = ids[1],
           .recipients = {{.index = 0, .status = RecipientStatus::kFailed, .reply = "550 gone"}},
           .next_attempt = {}}},
         day2);

  auto c = store_->GetCounters(id, LocalDayOf(day2));
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->submitted, 2);
  EXPECT_EQ(c->sent, 1) << "a message with one recipient accepted counts as sent";
  EXPECT_EQ(c->sent_today, 0);
  EXPECT_EQ(c->errors, 2);
  EXPECT_EQ(c->errors_today, 1);
  EXPECT_EQ(c->held, 0);
  EXPECT_EQ(c->queued, 0);
  auto missing = store_->GetCounters(id + 100, LocalDayOf(day2));
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);

  auto days = store_->GetVolumes(id, LocalDayOf(day1), LocalDayOf(day2));
  ASSERT_TRUE(days.has_value());
  ASSERT_EQ(days->size(), 2u);
  EXPECT_EQ((*days)[0].day, LocalDayOf(day1));
  EXPECT_EQ((*days)[0].submitted, 2);
  EXPECT_EQ((*days)[0].sent, 1);
  EXPECT_EQ((*days)[0].errors, 1);
  EXPECT_EQ((*days)[1].day, LocalDayOf(day2));
  EXPECT_EQ((*days)[1].errors, 1);
  EXPECT_EQ(store_->GetVolumes(id, LocalDayOf(day2), LocalDayOf(day2))->size(), 1u);

  auto errors = store_->ListErrors(id, day1, 1, std::nullopt);
  ASSERT_TRUE(errors.has_value()) << errors.error().message;
  ASSERT_EQ(errors->size(), 1u);
  EXPECT_EQ((*errors)[0].recipient, "gone@example.net");
  EXPECT_EQ((*errors)[0].reply, "550 gone");
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
  auto days = store_->GetVolumes(id, LocalDayOf(day1), LocalDayOf(day1));
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

// --- Durability and schema ---

TEST_P(StoreConformance, EverythingSurvivesReopening) {
  const AccountId id = MakeAccount("demo", {1000});
  auto ids = Insert({Message(id, kT0, {"a@example.net", "b@example.net"}), Message(id, kT0)});
  Claim(kT0, 1);
  Record({{.id = ids[0],
           .recipients = {{.index = 0, .status = RecipientStatus::kFailed, .reply = "550 no"}},
           .next_attempt = kT0 + minutes(1)}},
         kT0 + seconds(1));
  store_.reset();

  store_ = OpenOrDie();
  ASSERT_NE(store_, nullptr);
  Account a = GetAccount("demo");
  EXPECT_EQ(a.uids, std::vector<Uid>{1000});
  EXPECT_EQ(a.pending, 2);
  StoredMessage m = GetMessage(ids[0]);
  EXPECT_EQ(m.status, MessageStatus::kQueued);
  EXPECT_EQ(m.attempts, 1);
  EXPECT_EQ(m.recipients[0].reply, "550 no");
  EXPECT_EQ(Ids(Claim(kT0 + minutes(1))), (std::vector<MessageId>{ids[1], ids[0]}));
}

TEST_P(StoreConformance, ReopeningAppliesNoMigrationTwice) {
  store_.reset();
  for (int i = 0; i < 3; ++i) {
    auto again = db_->Open();
    ASSERT_TRUE(again.has_value()) << again.error().message;
  }
  const std::string table(schema::kSchemaVersionTable);
  EXPECT_EQ(db_->QueryInt("SELECT COUNT(*) FROM " + table), schema::kSchemaVersion);
  EXPECT_EQ(db_->QueryInt("SELECT MAX(version) FROM " + table), schema::kSchemaVersion);
}

TEST_P(StoreConformance, ADatabaseOfANewerVersionIsRefused) {
  const AccountId id = MakeAccount("demo");
  Insert({Message(id, kT0)});
  store_.reset();
  db_->Exec("INSERT INTO " + std::string(schema::kSchemaVersionTable) +
            " (version, applied_ms) VALUES (" + std::to_string(schema::kSchemaVersion + 1) +
            ", 0)");
  auto refused = db_->Open();
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(refused.error().message.find("newer"), std::string::npos) << refused.error().message;
  EXPECT_EQ(db_->QueryInt("SELECT COUNT(*) FROM " + std::string(schema::kMessagesTable)), 1)
      << "refusing touches nothing";
}

INSTANTIATE_TEST_SUITE_P(
    Engines, StoreConformance,
    ::testing::Values(StoreTarget{"sqlite", [] { return std::make_unique<SqliteTestDatabase>(); }},
                      StoreTarget{"postgresql", [] { return std::make_unique<PgTestDatabase>(); }}),
    [](const ::testing::TestParamInfo<StoreTarget>& info) { return info.param.name; });

// --- OpenStore's url handling (not engine behaviour) ---

TEST(OpenStore, RefusesUnknownSchemesNamingOnlyTheScheme) {
  auto store = OpenStore("mysql://admin:secret@db/mail");
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(store.error().message.find("'mysql'"), std::string::npos) << store.error().message;
  EXPECT_EQ(store.error().message.find("secret"), std::string::npos) << store.error().message;

  for (std::string_view bad : {"", "/var/lib/mailwarden.db", "sqlite:"}) {
    auto refused = OpenStore(bad);
    ASSERT_FALSE(refused.has_value()) << bad;
    EXPECT_EQ(refused.error().code, ErrorCode::kInvalidInput) << bad;
  }
}

TEST(OpenStore, AnUnreachablePostgresqlServerIsUnavailableAndItsPasswordNotShown) {
  // Port 1 of the loopback: nothing listens there, so the connection is refused at once.
  auto store = OpenStore("postgresql://mail:s3cr3t-pw@127.0.0.1:1/mailwarden");
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(store.error().message.find("cannot connect"), std::string::npos)
      << store.error().message;
  EXPECT_EQ(store.error().message.find("s3cr3t-pw"), std::string::npos) << store.error().message;
}

TEST(OpenStore, SqliteCreatesThePrivateFileAndItsFolder) {
  SqliteTestDatabase db;
  ASSERT_FALSE(std::filesystem::exists(db.file().parent_path()));
  auto store = db.Open();
  ASSERT_TRUE(store.has_value()) << store.error().message;
  const auto perms = std::filesystem::status(db.file()).permissions();
  EXPECT_EQ(perms & (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
            std::filesystem::perms::none);
}

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

  auto day_of_failure = store_->AccountsToReport(LocalDayOf(sent_at));
  ASSERT_TRUE(day_of_failure.has_value()) << day_of_failure.error().message;
  EXPECT_EQ(*day_of_failure, std::vector<AccountId>{failing});
  EXPECT_EQ(store_->AccountsToReport(LocalDayOf(expired_at)).value_or(std::vector<AccountId>{}),
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
  const int day = LocalDayOf(kT0);
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
}  // namespace mailwarden
