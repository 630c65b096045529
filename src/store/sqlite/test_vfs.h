// TestVfs: a VFS for the store's tests, SQLite's default while it lives. It hands every call
// to the VFS that was the default before, counts the syncs of WAL files and the reads of
// database and WAL files, and fails writes to WAL or database files, and the next sync of a
// WAL, when told to, as a full or failing disk would.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <new>

namespace mailwarden {

class TestVfs {
 public:
  // Registers the VFS as the default; at most one lives at a time.
  TestVfs() {
    real_ = sqlite3_vfs_find(nullptr);
    vfs_ = *real_;
    vfs_.zName = "mailwarden-test";
    vfs_.szOsFile = static_cast<int>(sizeof(File)) + real_->szOsFile;
    vfs_.xOpen = Open;
    vfs_.pNext = nullptr;
    active() = this;
    sqlite3_vfs_register(&vfs_, /*makeDflt=*/1);
  }
  // Makes the VFS before it the default again.
  ~TestVfs() {
    sqlite3_vfs_unregister(&vfs_);
    sqlite3_vfs_register(real_, /*makeDflt=*/1);
    active() = nullptr;
  }
  TestVfs(const TestVfs&) = delete;
  TestVfs& operator=(const TestVfs&) = delete;

  std::atomic<int> wal_syncs{0};
  std::atomic<int> reads{0};  // of database and WAL files
  std::atomic<bool> fail_wal_writes{false};
  std::atomic<bool> fail_db_writes{false};
  std::atomic<bool> fail_wal_syncs{false};  // as Linux reports a failed writeback: EIO once

 private:
  // A file of this VFS: the real VFS's file follows it in the same allocation.
  struct File {
    sqlite3_file base;
    bool is_wal;
    bool is_db;
    sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
  };

  static TestVfs*& active() {
    static TestVfs* vfs = nullptr;
    return vfs;
  }
  static File* Of(sqlite3_file* f) { return reinterpret_cast<File*>(f); }
  static sqlite3_file* Real(sqlite3_file* f) { return Of(f)->real(); }

  static int Close(sqlite3_file* f) { return Real(f)->pMethods->xClose(Real(f)); }
  static int Read(sqlite3_file* f, void* out, int n, sqlite3_int64 at) {
    if (Of(f)->is_db || Of(f)->is_wal) active()->reads.fetch_add(1);
    return Real(f)->pMethods->xRead(Real(f), out, n, at);
  }
  static int Write(sqlite3_file* f, const void* in, int n, sqlite3_int64 at) {
    if ((Of(f)->is_wal && active()->fail_wal_writes) ||
        (Of(f)->is_db && active()->fail_db_writes)) {
      return SQLITE_IOERR_WRITE;
    }
    return Real(f)->pMethods->xWrite(Real(f), in, n, at);
  }
  static int Truncate(sqlite3_file* f, sqlite3_int64 size) {
    return Real(f)->pMethods->xTruncate(Real(f), size);
  }
  static int Sync(sqlite3_file* f, int flags) {
    if (Of(f)->is_wal) {
      active()->wal_syncs.fetch_add(1);
      if (active()->fail_wal_syncs.exchange(false)) return SQLITE_IOERR_FSYNC;
    }
    return Real(f)->pMethods->xSync(Real(f), flags);
  }
  static int FileSize(sqlite3_file* f, sqlite3_int64* size) {
    return Real(f)->pMethods->xFileSize(Real(f), size);
  }
  static int Lock(sqlite3_file* f, int level) { return Real(f)->pMethods->xLock(Real(f), level); }
  static int Unlock(sqlite3_file* f, int level) {
    return Real(f)->pMethods->xUnlock(Real(f), level);
  }
  static int CheckReservedLock(sqlite3_file* f, int* out) {
    return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
  }
  static int FileControl(sqlite3_file* f, int op, void* arg) {
    return Real(f)->pMethods->xFileControl(Real(f), op, arg);
  }
  static int SectorSize(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }
  static int DeviceCharacteristics(sqlite3_file* f) {
    return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
  }
  static int ShmMap(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
    return Real(f)->pMethods->xShmMap(Real(f), page, size, extend, out);
  }
  static int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
    return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
  }
  static void ShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
  static int ShmUnmap(sqlite3_file* f, int remove) {
    return Real(f)->pMethods->xShmUnmap(Real(f), remove);
  }

  // Version 2: shared memory (WAL mode) but no memory-mapped reads, which SQLite then goes
  // without.
  static constexpr sqlite3_io_methods kMethods = {2,
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
                                                  nullptr};

  static int Open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags,
                  int* out_flags) {
    auto* f = new (file) File{};
    f->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
    f->is_db = (flags & SQLITE_OPEN_MAIN_DB) != 0;
    sqlite3_vfs* real = active()->real_;
    const int rc = real->xOpen(real, name, f->real(), flags, out_flags);
    // SQLite calls xClose only on a file whose methods are set.
    f->base.pMethods = f->real()->pMethods != nullptr ? &kMethods : nullptr;
    return rc;
  }

  sqlite3_vfs* real_ = nullptr;
  sqlite3_vfs vfs_{};
};

}  // namespace mailwarden
