// What the SQLite store tells its callers is stored is on the disk: a durable write returns
// only after the WAL is fsync'd (DESIGN.md, promise 1), while the progress of delivery does not
// wait for the disk. Seen through a VFS that passes every call to SQLite's own and counts the
// WAL's syncs.
#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/test_vfs.h"
#include "testing/temp_dir.h"

namespace mailwarden {

using testing::TempDir;
namespace {

class SqliteDurability : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { vfs_ = new TestVfs(); }
  static void TearDownTestSuite() {
    delete vfs_;
    vfs_ = nullptr;
  }

  void SetUp() override {
    auto store = SqliteStore::Open(dir_.path() / "mailwarden.db");
    ASSERT_TRUE(store.has_value()) << store.error().message;
    store_ = std::move(*store);
    AccountSpec spec;
    spec.name = "shop";
    auto account = store_->UpsertAccount(spec);
    ASSERT_TRUE(account.has_value()) << account.error().message;
    account_ = *account;
  }

  NewMessage Message() const {
    NewMessage m;
    m.account = account_;
    m.sender = "shop@example.com";
    m.recipients = {"customer@example.net"};
    m.body = "Subject: Your order\r\n\r\nThank you.\r\n";
    m.subject = "Your order";
    m.uid = 1000;
    m.received_at = now_;
    return m;
  }

  // The customer's BLOCK of the account, as the API writes it.
  Result<void> Block() {
    return store_->SetAccountState({.account = account_,
                                    .from = AccountState::kActive,
                                    .to = AccountState::kBlocked,
                                    .blocked_by = BlockedBy::kCustomer,
                                    .reason = "checking the site",
                                    .at = now_,
                                    .actor = "customer",
                                    .action = "BLOCK"});
  }

  static int WalSyncs() { return vfs_->wal_syncs.load(); }

  static inline TestVfs* vfs_ = nullptr;
  TempDir dir_{"mw_durability_test"};
  std::unique_ptr<SqliteStore> store_;
  AccountId account_ = 0;
  TimePoint now_ = TimePoint{std::chrono::milliseconds{1'790'000'000'000}};
};

TEST_F(SqliteDurability, StoredMailIsOnTheDiskWhenInsertReturns) {
  const std::vector<NewMessage> batch = {Message(), Message()};
  const int before = WalSyncs();
  auto ids = store_->InsertMessages(batch);
  ASSERT_TRUE(ids.has_value()) << ids.error().message;
  EXPECT_EQ(ids->size(), 2u);
  // One group commit, one fsync.
  EXPECT_EQ(WalSyncs() - before, 1);
}

TEST_F(SqliteDurability, ABlockIsOnTheDiskWhenItReturns) {
  const int before = WalSyncs();
  auto changed = Block();
  ASSERT_TRUE(changed.has_value()) << changed.error().message;
  EXPECT_EQ(WalSyncs() - before, 1);
}

TEST_F(SqliteDurability, DeliveryProgressDoesNotWaitForTheDisk) {
  auto ids = store_->InsertMessages(std::vector<NewMessage>{Message()});
  ASSERT_TRUE(ids.has_value()) << ids.error().message;
  const int before = WalSyncs();
  auto claimed = store_->ClaimDue(
      {.now = now_, .limit = 10, .lease_until = now_ + std::chrono::minutes(5), .node = "web1"});
  ASSERT_TRUE(claimed.has_value()) << claimed.error().message;
  ASSERT_EQ(claimed->messages.size(), 1u);
  const DeliveryOutcome sent{
      .id = ids->front(),
      .recipients = {
          {.index = 0, .status = RecipientStatus::kSent, .reply = "250 2.0.0 queued as 1A2B"}}};
  ASSERT_TRUE(store_->RecordOutcomes(std::span(&sent, 1), now_).has_value());
  EXPECT_EQ(WalSyncs() - before, 0);
  // The next durable commit makes that progress durable with it.
  ASSERT_TRUE(store_->InsertMessages(std::vector<NewMessage>{Message()}).has_value());
  EXPECT_EQ(WalSyncs() - before, 1);
}

// Linux reports a failed writeback once and marks its pages clean: the next fsync succeeds,
// though the WAL has a hole that recovery would stop at, dropping every later commit. So after
// a failed fsync nothing more is acknowledged, until the store is opened anew.
TEST_F(SqliteDurability, AfterAFailedFsyncNothingMoreIsCommittedUntilReopened) {
  ASSERT_TRUE(store_->InsertMessages(std::vector<NewMessage>{Message()}).has_value());
  vfs_->fail_wal_syncs = true;
  auto failed = store_->InsertMessages(std::vector<NewMessage>{Message()});
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable);
  ASSERT_FALSE(vfs_->fail_wal_syncs) << "the sync was not tried";

  // The disk's next fsync would succeed: still nothing is acknowledged, durable or not.
  auto later = store_->InsertMessages(std::vector<NewMessage>{Message()});
  ASSERT_FALSE(later.has_value()) << "a commit after a failed fsync was acknowledged";
  EXPECT_EQ(later.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(later.error().message.find("fsync failed"), std::string::npos) << later.error().message;
  auto block = Block();
  EXPECT_FALSE(block.has_value());
  // Reads go on: the panel still shows what is there.
  EXPECT_TRUE(store_->FindAccount("shop").has_value());

  store_.reset();
  auto reopened = SqliteStore::Open(dir_.path() / "mailwarden.db");
  ASSERT_TRUE(reopened.has_value()) << reopened.error().message;
  store_ = std::move(*reopened);
  auto ids = store_->InsertMessages(std::vector<NewMessage>{Message()});
  ASSERT_TRUE(ids.has_value()) << ids.error().message;
}

}  // namespace
}  // namespace mailwarden
