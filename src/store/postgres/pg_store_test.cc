// What only the PostgreSQL store has: several nodes at once, a connection that can drop, and
// notifications to other nodes. Needs a server: MW_TEST_PG_URL (an admin url); skipped
// without one. What every store does is in store_conformance_test.cc.
#include "store/postgres/pg_store.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/local_day.h"
#include "store/postgres/pg_listener.h"
#include "store/postgres/pg_session.h"
#include "store/schema.h"
#include "testing/pg_test_database.h"

namespace mailwarden {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

const TimePoint kT0 = FromUnixMillis(1'700'000'000'000);

using testing::PgAdminUrl;

std::int64_t AdminQueryInt(const std::string& sql) {
  const std::int64_t value = testing::PgQueryInt(sql);
  EXPECT_NE(value, -1) << sql;
  return value;
}

AccountSpec Spec(std::string name) {
  AccountSpec spec;
  spec.name = std::move(name);
  return spec;
}

class PgStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (PgAdminUrl() == nullptr) GTEST_SKIP() << "MW_TEST_PG_URL is not set";
    db_ = std::make_unique<testing::PgTestDatabase>("mw_p");
    name_ = db_->name();
    url_ = db_->url();
  }

  std::unique_ptr<PgStore> Open() {
    auto store = PgStore::Open(url_);
    if (!store) {
      ADD_FAILURE() << store.error().message;
      return nullptr;
    }
    return std::move(*store);
  }

  // Ends the server side of every connection of this database named application_name.
  std::int64_t KillConnections(const std::string& application_name) {
    return AdminQueryInt(
        "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '" + name_ +
        "' AND application_name = '" + application_name + "'");
  }

  static NewMessage Message(AccountId account, TimePoint received) {
    NewMessage m;
    m.account = account;
    m.sender = "www@site.example";
    m.recipients = {"to@example.net"};
    m.subject = "hello";
    m.body = std::string("Subject: hello\r\n\r\n\x01\xff\x80 8-bit body\r\n");
    m.received_at = received;
    return m;
  }

  std::unique_ptr<testing::PgTestDatabase> db_;
  std::string name_;
  std::string url_;
};

TEST_F(PgStoreTest, ALostConnectionFailsOneCallAndTheNextReconnects) {
  auto store = Open();
  ASSERT_TRUE(store);
  auto id = store->UpsertAccount(Spec("demo"));
  ASSERT_TRUE(id.has_value()) << id.error().message;
  ASSERT_GE(KillConnections("mailwardend"), 1);

  auto failed = store->InsertMessages(std::vector<NewMessage>{Message(*id, kT0)});
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable) << failed.error().message;

  auto again = store->InsertMessages(std::vector<NewMessage>{Message(*id, kT0)});
  ASSERT_TRUE(again.has_value()) << again.error().message;
  auto account = store->GetAccount(*id);
  ASSERT_TRUE(account.has_value() && account->has_value());
  EXPECT_EQ((*account)->pending, 1) << "the failed call stored nothing";
  auto message = store->GetMessage(again->front());
  ASSERT_TRUE(message.has_value() && message->has_value());
  EXPECT_EQ((*message)->size, static_cast<std::int64_t>(Message(*id, kT0).body.size()));
}

// Statements queued in a transaction are sent later, pipelined: one that fails must fail the
// call that reads the pipeline and leave nothing of the transaction, and those that succeed
// must commit with COMMIT, in order.
TEST_F(PgStoreTest, AQueuedStatementThatFailsFailsItsTransactionAndCommitsNothing) {
  auto store = Open();
  ASSERT_TRUE(store);
  auto account = store->UpsertAccount(Spec("demo"));
  ASSERT_TRUE(account.has_value()) << account.error().message;
  auto inserted = store->InsertMessages(std::vector<NewMessage>{Message(*account, kT0)});
  ASSERT_TRUE(inserted.has_value()) << inserted.error().message;
  const MessageId id = inserted->front();
  const std::string count_events =
      "SELECT COUNT(*) FROM message_events WHERE message_id = " + std::to_string(id);
  const std::int64_t events = testing::PgQueryInt(count_events, url_);

  auto session = PgSession::Connect(url_);
  ASSERT_TRUE(session.has_value()) << session.error().message;
  ASSERT_TRUE((*session)->SetSchemaReady().has_value());
  auto event = [&](std::string_view detail) {
    return Params().Int(*account).Int(id).Int(1).Text("deferred").Int(0).Text(detail);
  };
  // A recipient of a message that does not exist: a foreign key refuses it.
  const Params orphan = Params().Int(id + 1000).Int(0).Int(*account).Text("x@example.net").Int(1);

  // Read by the next Run: it fails with the queued statement's error, and nothing commits.
  ASSERT_TRUE((*session)->Begin(TxKind::kWrite).has_value());
  ASSERT_TRUE((*session)->Queue(Sql::kInsertMessageEvent, event("first")).has_value());
  ASSERT_TRUE((*session)->Queue(Sql::kInsertRecipient, orphan).has_value());
  ASSERT_TRUE((*session)->Queue(Sql::kInsertMessageEvent, event("after")).has_value());
  auto read = (*session)->Run(Sql::kSelectAccountName, Params().Int(*account));
  ASSERT_FALSE(read.has_value());
  EXPECT_EQ(read.error().code, ErrorCode::kInvalidInput) << read.error().message;
  (*session)->Rollback();
  EXPECT_EQ(testing::PgQueryInt(count_events, url_), events);

  // Read by COMMIT: the commit fails, and nothing commits.
  ASSERT_TRUE((*session)->Begin(TxKind::kNoSync).has_value());
  ASSERT_TRUE((*session)->Queue(Sql::kInsertMessageEvent, event("first")).has_value());
  ASSERT_TRUE((*session)->Queue(Sql::kInsertRecipient, orphan).has_value());
  EXPECT_FALSE((*session)->Commit().has_value());
  EXPECT_EQ(testing::PgQueryInt(count_events, url_), events);

  // The session is usable again; what is queued commits with COMMIT, and a group read at once
  // answers each statement's rows in order.
  ASSERT_TRUE((*session)->Begin(TxKind::kWrite).has_value());
  ASSERT_TRUE((*session)->Queue(Sql::kInsertMessageEvent, event("one")).has_value());
  const SqlSession::Statement names[] = {{Sql::kSelectAccountName, Params().Int(*account)},
                                         {Sql::kSelectAccountName, Params().Int(*account + 1000)},
                                         {Sql::kSelectAccountName, Params().Int(*account)}};
  auto all = (*session)->RunAll(names);
  ASSERT_TRUE(all.has_value()) << all.error().message;
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].Text(0, 0), "demo");
  EXPECT_TRUE((*all)[1].empty());
  EXPECT_EQ((*all)[2].Text(0, 0), "demo");
  ASSERT_TRUE((*session)->Queue(Sql::kInsertMessageEvent, event("two")).has_value());
  ASSERT_TRUE((*session)->Commit().has_value());
  EXPECT_EQ(testing::PgQueryInt(count_events, url_), events + 2);
}

TEST_F(PgStoreTest, NodesStartingAtOnceOnAnEmptyDatabaseMigrateItOnce) {
  constexpr int kNodes = 6;
  std::vector<std::thread> nodes;
  std::atomic<int> opened{0};
  std::atomic<bool> go{false};
  for (int i = 0; i < kNodes; ++i) {
    nodes.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      auto store = PgStore::Open(url_);
      if (store) {
        ++opened;
      } else {
        ADD_FAILURE() << store.error().message;
      }
    });
  }
  go = true;
  for (auto& node : nodes) node.join();
  EXPECT_EQ(opened.load(), kNodes);
  const std::string table(schema::kSchemaVersionTable);
  EXPECT_EQ(testing::PgQueryInt("SELECT COUNT(*) FROM " + table, url_), schema::kSchemaVersion)
      << "every migration applied once";
  EXPECT_EQ(testing::PgQueryInt("SELECT MAX(version) FROM " + table, url_), schema::kSchemaVersion);
}

TEST_F(PgStoreTest, APartOfANameIsSearchedThroughTheTrigramIndexWherePgTrgmIsThere) {
  auto store = PgStore::Open(url_);
  ASSERT_TRUE(store.has_value()) << store.error().message;
  if (testing::PgQueryInt("SELECT COUNT(*) FROM pg_available_extensions WHERE name = 'pg_trgm'",
                          url_) == 0) {
    GTEST_SKIP() << "pg_trgm is not installed with this PostgreSQL";
  }
  EXPECT_EQ(testing::PgQueryInt(
                "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'accounts_name_trigrams'", url_),
            1);
}

TEST_F(PgStoreTest, NodesClaimingAtOnceNeverShareAMessageAndCountExactly) {
  constexpr int kNodes = 4;
  constexpr int kAccounts = 5;
  constexpr int kPerAccount = 60;
  auto setup = Open();
  ASSERT_TRUE(setup);
  std::vector<AccountId> accounts;
  for (int a = 0; a < kAccounts; ++a) {
    accounts.push_back(*setup->UpsertAccount(Spec("site" + std::to_string(a))));
  }
  // Every node submits to every account at once: the counters must add up exactly.
  std::vector<std::thread> threads;
  for (int n = 0; n < kNodes; ++n) {
    threads.emplace_back([&, n] {
      auto store = Open();
      if (!store) return;
      for (int i = n; i < kPerAccount; i += kNodes) {
        std::vector<NewMessage> batch;
        for (AccountId account : accounts) batch.push_back(Message(account, kT0));
        auto ids = store->InsertMessages(batch);
        EXPECT_TRUE(ids.has_value()) << ids.error().message;
      }
    });
  }
  for (auto& t : threads) t.join();
  threads.clear();

  std::vector<std::vector<MessageId>> claimed(kNodes);
  for (int n = 0; n < kNodes; ++n) {
    threads.emplace_back([&, n] {
      auto store = Open();
      if (!store) return;
      for (;;) {
        ClaimRequest request{.now = kT0 + seconds(1),
                             .limit = 7,
                             .lease_until = kT0 + minutes(5),
                             .node = "node" + std::to_string(n)};
        auto batch = store->ClaimDue(request);
        ASSERT_TRUE(batch.has_value()) << batch.error().message;
        if (batch->messages.empty()) return;
        std::vector<DeliveryOutcome> outcomes;
        for (const auto& m : batch->messages) {
          claimed[n].push_back(m.id);
          outcomes.push_back(
              {.id = m.id,
               .recipients = {{.index = 0, .status = RecipientStatus::kSent, .reply = "250 ok"}}});
        }
        auto recorded = store->RecordOutcomes(outcomes, kT0 + seconds(2));
        ASSERT_TRUE(recorded.has_value()) << recorded.error().message;
      }
    });
  }
  for (auto& t : threads) t.join();

  std::set<MessageId> all;
  std::size_t total = 0;
  for (const auto& ids : claimed) {
    total += ids.size();
    all.insert(ids.begin(), ids.end());
  }
  EXPECT_EQ(total, all.size()) << "a message was claimed by two nodes";
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kAccounts * kPerAccount));
  for (AccountId account : accounts) {
    auto c = setup->GetCounters(account, LocalDayNumber(kT0 + seconds(2)));
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->submitted, kPerAccount);
    EXPECT_EQ(c->sent, kPerAccount);
    EXPECT_EQ(c->sent_today, kPerAccount);
    EXPECT_EQ(c->queued, 0);
  }
}

// Runs io until done() or a deadline; false on the deadline.
bool RunUntil(boost::asio::io_context& io, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    io.restart();
    io.run_for(std::chrono::milliseconds(20));
  }
  return true;
}

TEST_F(PgStoreTest, TheListenerHearsOtherNodesChangesAndListensAgainAfterADrop) {
  auto store = Open();
  ASSERT_TRUE(store);
  const AccountId id = *store->UpsertAccount(Spec("demo"));

  boost::asio::io_context io;
  std::vector<std::pair<std::string, AccountId>> heard;
  PgChangeListener listener(io.get_executor(), url_, [&](std::string_view kind, AccountId account) {
    heard.emplace_back(std::string(kind), account);
  });
  listener.Start();
  ASSERT_TRUE(RunUntil(io, [&] { return listener.listening(); }));
  ASSERT_EQ(heard.size(), 1u);
  EXPECT_EQ(heard[0].first, "listen");

  ASSERT_TRUE(store->InsertMessages(std::vector<NewMessage>{Message(id, kT0)}).has_value());
  ASSERT_TRUE(store
                  ->SetAccountState({.account = id,
                                     .from = AccountState::kActive,
                                     .to = AccountState::kBlocked,
                                     .blocked_by = BlockedBy::kAdmin,
                                     .reason = "test",
                                     .at = kT0})
                  .has_value());
  ASSERT_TRUE(RunUntil(io, [&] { return heard.size() >= 3; }));
  EXPECT_EQ(heard[1], std::make_pair(std::string("mail"), id));
  EXPECT_EQ(heard[2], std::make_pair(std::string("state"), id));

  ASSERT_EQ(KillConnections("mailwardend-listen"), 1);
  ASSERT_TRUE(RunUntil(io, [&] { return heard.size() >= 4; }));
  EXPECT_EQ(heard[3].first, "listen") << "listening again, and saying so";
  auto released = store->ReleaseHeld(id, {.subject = "hello"}, kT0);
  ASSERT_TRUE(released.has_value()) << released.error().message;
  EXPECT_EQ(*released, 1);
  ASSERT_TRUE(RunUntil(io, [&] { return heard.size() >= 5; }));
  EXPECT_EQ(heard[4], std::make_pair(std::string("release"), id));
  listener.Stop();
}

}  // namespace
}  // namespace mailwarden
