// What the SQLite store tells its callers is stored is on the disk: a durable write returns
// only after the WAL is fsync'd (DESIGN.md, promise 1), while the progress of delivery does not
// wait for the disk. Seen through a VFS that passes every call to SQLite's own and counts the
// WAL's syncs.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <new>
#include <vector>

#include "store/sqlite_store.h"
#include "store/test_temp_dir.h"

namespace mailwarden {
namespace {

std::atomic<int> wal_syncs{0};

// A file of the counting VFS: SQLite's own file follows it in the same allocation.
struct CountingFile {
  sqlite3_file base;
  bool is_wal;
  sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};

CountingFile* Counting(sqlite3_file* file) { return reinterpret_cast<CountingFile*>(file); }
sqlite3_file* Real(sqlite3_file* file) { return Counting(file)->real(); }

int Close(sqlite3_file* f) { return Real(f)->pMethods->xClose(Real(f)); }
int Read(sqlite3_file* f, void* out, int n, sqlite3_int64 at) {
  return Real(f)->pMethods->xRead(Real(f), out, n, at);
}
int Write(sqlite3_file* f, const void* in, int n, sqlite3_int64 at) {
  return Real(f)->pMethods->xWrite(Real(f), in, n, at);
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  return Real(f)->pMethods->xTruncate(Real(f), size);
}
int Sync(sqlite3_file* f, int flags) {
  if (Counting(f)->is_wal) wal_syncs.fetch_add(1);
  return Real(f)->pMethods->xSync(Real(f), flags);
}
int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  return Real(f)->pMethods->xFileSize(Real(f), size);
}
int Lock(sqlite3_file* f, int level) { return Real(f)->pMethods->xLock(Real(f), level); }
int Unlock(sqlite3_file* f, int level) { return Real(f)->pMethods->xUnlock(Real(f), level); }
int CheckReservedLock(sqlite3_file* f, int* out) {
  return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
}
int FileControl(sqlite3_file* f, int op, void* arg) {
  return Real(f)->pMethods->xFileControl(Real(f), op, arg);
}
int SectorSize(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }
int DeviceCharacteristics(sqlite3_file* f) {
  return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
}
int ShmMap(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
  return Real(f)->pMethods->xShmMap(Real(f), page, size, extend, out);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
int ShmUnmap(sqlite3_file* f, int remove) { return Real(f)->pMethods->xShmUnmap(Real(f), remove); }

// Version 2: shared memory (WAL mode) but no memory-mapped reads, which SQLite then goes
// without.
const sqlite3_io_methods kCountingMethods = {
    2,
    Close,
    Read,
    Write,
    Truncate,
    Sync,
    FileSize,
    Lock,
    Unlock,
    CheckReservedLock,
    FileControl,
    SectorSize,
    DeviceCharacteristics,
    ShmMap,
    ShmLock,
    ShmBarrier,
    ShmUnmap,
    nullptr,
    nullptr,
};

sqlite3_vfs* real_vfs = nullptr;
sqlite3_vfs counting_vfs;

int Open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  auto* counting = new (file) CountingFile{};
  counting->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
  const int rc = real_vfs->xOpen(real_vfs, name, counting->real(), flags, out_flags);
  // SQLite calls xClose only on a file whose methods are set.
  counting->base.pMethods = counting->real()->pMethods != nullptr ? &kCountingMethods : nullptr;
  return rc;
}

class SqliteDurability : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    real_vfs = sqlite3_vfs_find(nullptr);
    ASSERT_NE(real_vfs, nullptr);
    counting_vfs = *real_vfs;
    counting_vfs.zName = "mw-counting";
    counting_vfs.szOsFile = static_cast<int>(sizeof(CountingFile)) + real_vfs->szOsFile;
    counting_vfs.xOpen = Open;
    counting_vfs.pNext = nullptr;
    ASSERT_EQ(sqlite3_vfs_register(&counting_vfs, /*makeDflt=*/1), SQLITE_OK);
  }
  static void TearDownTestSuite() {
    sqlite3_vfs_unregister(&counting_vfs);
    sqlite3_vfs_register(real_vfs, /*makeDflt=*/1);
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

  TempDir dir_{"mw_durability_test"};
  std::unique_ptr<SqliteStore> store_;
  AccountId account_ = 0;
  TimePoint now_ = TimePoint{std::chrono::milliseconds{1'790'000'000'000}};
};

TEST_F(SqliteDurability, StoredMailIsOnTheDiskWhenInsertReturns) {
  const std::vector<NewMessage> batch = {Message(), Message()};
  const int before = wal_syncs.load();
  auto ids = store_->InsertMessages(batch);
  ASSERT_TRUE(ids.has_value()) << ids.error().message;
  EXPECT_EQ(ids->size(), 2u);
  // One group commit, one fsync.
  EXPECT_EQ(wal_syncs.load() - before, 1);
}

TEST_F(SqliteDurability, ABlockIsOnTheDiskWhenItReturns) {
  const int before = wal_syncs.load();
  auto changed = store_->SetAccountState({.account = account_,
                                          .from = AccountState::kActive,
                                          .to = AccountState::kBlocked,
                                          .blocked_by = BlockedBy::kCustomer,
                                          .reason = "checking the site",
                                          .at = now_,
                                          .actor = "customer",
                                          .action = "BLOCK"});
  ASSERT_TRUE(changed.has_value()) << changed.error().message;
  EXPECT_EQ(wal_syncs.load() - before, 1);
}

TEST_F(SqliteDurability, DeliveryProgressDoesNotWaitForTheDisk) {
  auto ids = store_->InsertMessages(std::vector<NewMessage>{Message()});
  ASSERT_TRUE(ids.has_value()) << ids.error().message;
  const int before = wal_syncs.load();
  auto claimed = store_->ClaimDue(
      {.now = now_, .limit = 10, .lease_until = now_ + std::chrono::minutes(5), .node = "web1"});
  ASSERT_TRUE(claimed.has_value()) << claimed.error().message;
  ASSERT_EQ(claimed->messages.size(), 1u);
  const DeliveryOutcome sent{
      .id = ids->front(),
      .recipients = {
          {.index = 0, .status = RecipientStatus::kSent, .reply = "250 2.0.0 queued as 1A2B"}}};
  ASSERT_TRUE(store_->RecordOutcomes(std::span(&sent, 1), now_).has_value());
  EXPECT_EQ(wal_syncs.load() - before, 0);
  // The next durable commit makes that progress durable with it.
  ASSERT_TRUE(store_->InsertMessages(std::vector<NewMessage>{Message()}).has_value());
  EXPECT_EQ(wal_syncs.load() - before, 1);
}

}  // namespace
}  // namespace mailwarden
