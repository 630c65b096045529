// An account deleted long enough ago is removed without reading the other accounts' mail: the
// foreign keys' check that nothing names its row goes through indexes (SqliteStore::
// RemoveAccountRows), not through the whole messages table, which a flood fills. Seen through
// the test VFS's count of the pages read.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/test_vfs.h"
#include "testing/temp_dir.h"

namespace mailwarden {

using testing::TempDir;
namespace {

const TimePoint kDeletedAt{std::chrono::milliseconds{1'790'000'000'000}};

class SqliteAccountRemoval : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { vfs_ = new TestVfs(); }
  static void TearDownTestSuite() {
    delete vfs_;
    vfs_ = nullptr;
  }

  static NewMessage Message(AccountId account) {
    NewMessage m;
    m.account = account;
    m.sender = "shop@example.com";
    m.recipients = {"customer@example.net"};
    m.body = "Subject: Offer\r\n\r\n" + std::string(1'000, 'x') + "\r\n";
    m.subject = "Offer";
    m.uid = 1000;
    m.received_at = kDeletedAt;
    return m;
  }

  // The rows of `table`, read by a connection of the test's own.
  static int Count(const std::filesystem::path& path, const std::string& table) {
    sqlite3* db = nullptr;
    int count = -1;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
      sqlite3_stmt* stmt = nullptr;
      const std::string sql = "SELECT count(*) FROM " + table;
      if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
          sqlite3_step(stmt) == SQLITE_ROW) {
        count = sqlite3_column_int(stmt, 0);
      }
      sqlite3_finalize(stmt);
    }
    sqlite3_close(db);
    return count;
  }

  static inline TestVfs* vfs_ = nullptr;
  TempDir dir_{"mw_removal_test"};
};

TEST_F(SqliteAccountRemoval, ReadsNoneOfTheOtherAccountsMessages) {
  const auto path = dir_.path() / "mailwarden.db";
  AccountId gone = 0;
  {
    auto store = SqliteStore::Open(path);
    ASSERT_TRUE(store.has_value()) << store.error().message;
    AccountSpec flood_spec;
    flood_spec.name = "flood";
    const auto flood = (*store)->UpsertAccount(flood_spec);
    ASSERT_TRUE(flood.has_value()) << flood.error().message;
    AccountSpec gone_spec;
    gone_spec.name = "gone";
    const auto made = (*store)->UpsertAccount(gone_spec);
    ASSERT_TRUE(made.has_value()) << made.error().message;
    gone = *made;
    // Another account's 3,000 queued messages of 1 KB: a walk of the table reads some 1,000
    // pages.
    for (int batch = 0; batch < 6; ++batch) {
      const std::vector<NewMessage> messages(500, Message(*flood));
      ASSERT_TRUE((*store)->InsertMessages(messages).has_value());
    }
    // And one of the account deleted, finished long ago.
    ASSERT_TRUE((*store)->InsertMessages(std::vector<NewMessage>{Message(gone)}).has_value());
    const auto deleted = (*store)->DeleteAccount("gone", /*purge=*/true, "admin", kDeletedAt);
    ASSERT_TRUE(deleted.has_value()) << deleted.error().message;
  }
  // Opened again: none of the messages' pages in its cache.
  auto store = SqliteStore::Open(path);
  ASSERT_TRUE(store.has_value()) << store.error().message;
  const int before = vfs_->reads.load();
  const auto removed = (*store)->RemoveDeletedAccounts(kDeletedAt + std::chrono::seconds(1), 10);
  ASSERT_TRUE(removed.has_value()) << removed.error().message;
  EXPECT_EQ(*removed, 1);
  EXPECT_LT(vfs_->reads.load() - before, 100) << "pages read to remove one account";

  const auto found = (*store)->GetAccount(gone);
  ASSERT_TRUE(found.has_value()) << found.error().message;
  EXPECT_FALSE(found->has_value()) << "the account's row is gone";
  // The foreign keys are on again: the other account's removal takes its messages'
  // recipients with them (ON DELETE CASCADE).
  ASSERT_EQ(Count(path, "recipients"), 3'000);
  const auto flood = (*store)->DeleteAccount("flood", /*purge=*/true, "admin",
                                             kDeletedAt + std::chrono::seconds(2));
  ASSERT_TRUE(flood.has_value()) << flood.error().message;
  const auto later = (*store)->RemoveDeletedAccounts(kDeletedAt + std::chrono::seconds(3), 10);
  ASSERT_TRUE(later.has_value()) << later.error().message;
  EXPECT_EQ(*later, 1);
  EXPECT_EQ(Count(path, "messages"), 0);
  EXPECT_EQ(Count(path, "recipients"), 0);
}

}  // namespace
}  // namespace mailwarden
