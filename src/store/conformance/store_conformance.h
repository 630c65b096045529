// The Store conformance suite: one set of tests that every Store implementation passes, in the
// files of this folder by concern (accounts, delivery, held mail, reports), instantiated for
// every engine in store_conformance_test.cc.
//
// A target is a way to make a fresh, empty database that tests can open (and reopen) as a
// Store and edit behind its back with plain SQL. Adding an engine is one TestDatabase class
// and one entry in the INSTANTIATE_TEST_SUITE_P of store_conformance_test.cc.
#pragma once

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

#include "core/local_day.h"
#include "store/schema.h"
#include "store/store.h"
#include "testing/pg_test_database.h"
#include "testing/temp_dir.h"

namespace mailwarden::conformance {

using ::mailwarden::testing::TempDir;

// One database, private to a test.
class TestDatabase {
 public:
  virtual ~TestDatabase() = default;
  // Opens the database as a Store (migrating it); each call opens it anew.
  virtual Result<std::unique_ptr<Store>> Open(const StoreOptions& options = {}) = 0;
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
inline void PrintTo(const StoreTarget& target, std::ostream* os) { *os << target.name; }

// A database file in a temporary folder of its own, removed at the end of the test.
class SqliteTestDatabase final : public TestDatabase {
 public:
  // The url's folder does not exist yet: OpenStore creates it.
  std::filesystem::path file() const { return dir_.path() / "var" / "mailwarden.db"; }

  Result<std::unique_ptr<Store>> Open(const StoreOptions& options = {}) override {
    return OpenStore("sqlite:" + file().string(), options);
  }

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

using ::mailwarden::testing::PgAdminUrl;

// A database of its own on the server of MW_TEST_PG_URL, created for the test and dropped
// after it.
class PgTestDatabase final : public TestDatabase {
 public:
  const std::string& url() const { return db_.url(); }

  Result<std::unique_ptr<Store>> Open(const StoreOptions& options = {}) override {
    return OpenStore(db_.url(), options);
  }
  void Exec(const std::string& sql) override { testing::PgExec(sql, db_.url()); }
  std::int64_t QueryInt(const std::string& sql) override {
    return testing::PgQueryInt(sql, db_.url());
  }

 private:
  testing::PgTestDatabase db_{"mw_t"};
};

inline const TimePoint kT0 = FromUnixMillis(1'700'000'000'000);

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
      NewMessage m = Message(account, kT0 + std::chrono::milliseconds(batch.size()));
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
    request.lease_until = now + std::chrono::minutes(5);
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
    auto c = store_->GetCounters(account, LocalDayNumber(kT0));
    EXPECT_TRUE(c.has_value()) << c.error().message;
    return c.value_or(AccountCounters{});
  }

  StoredMessage GetMessage(MessageId id) {
    auto m = store_->GetMessage(id);
    EXPECT_TRUE(m.has_value() && m->has_value()) << id;
    return m.has_value() && m->has_value() ? **m : StoredMessage{};
  }

  BlockedBy BlockerNow(AccountId account) {
    auto a = store_->GetAccount(account);
    return a && *a ? (*a)->blocked_by : BlockedBy::kNone;
  }

  // From `from`, blocked by whoever blocked it now, to `to`, blocked by `by`.
  void SetState(AccountId account, AccountState from, AccountState to,
                BlockedBy by = BlockedBy::kNone) {
    auto r = store_->SetAccountState({.account = account,
                                      .from = from,
                                      .from_blocked_by = BlockerNow(account),
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
                                      .from_blocked_by = BlockerNow(account),
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

// Outcomes for every pending recipient of each claimed message.
inline std::vector<DeliveryOutcome> AllRecipients(const std::vector<ClaimedMessage>& claimed,
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

}  // namespace mailwarden::conformance
