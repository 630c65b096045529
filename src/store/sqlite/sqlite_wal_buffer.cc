#include "store/sqlite/sqlite_wal_buffer.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <utility>

namespace mailwarden {
namespace {

constexpr int kFrameHeaderBytes = 24;  // before each page in a WAL (SQLite's file format)
// The most one write below is given: SQLite's unix VFS writes a count modulo 128 KiB
// (seekAndWriteFd masks it with 0x1ffff), and fails a larger write as a full disk.
constexpr std::size_t kMaxWriteBytes = 120 * 1024;
// What a scan of the WAL's frames (a checkpoint's) reads at once.
constexpr std::size_t kReadAheadBytes = 120 * 1024;

std::atomic<std::uint64_t> total_appends{0};
std::atomic<std::uint64_t> total_writes{0};
std::atomic<std::uint64_t> total_reads{0};

// SQLite's default VFS: the one every call is handed to.
sqlite3_vfs* Below() { return sqlite3_vfs_find(nullptr); }

// A file of this VFS. SQLite allocates it (szOsFile) and this constructs it in place; the
// file of the VFS below is allocated apart, since its size is known only when it is opened.
struct File {
  enum class Kind { kOther, kMain, kWal };

  sqlite3_file base{};
  sqlite3_file* below = nullptr;
  Kind kind = Kind::kOther;
  File* wal = nullptr;   // a database file: its connection's WAL, while open
  File* main = nullptr;  // a WAL: its connection's database file
  // Writes not made yet: they belong at pending_at in the file.
  std::string pending;
  sqlite3_int64 pending_at = 0;
  bool commit_frame = false;  // the last append was a commit frame's header: its page follows
  // A WAL read ahead of a scan of its frames: the file's ahead_size bytes from ahead_at, in
  // a buffer of kReadAheadBytes made at the first scan (never zero-filled: it is read into).
  std::unique_ptr<char[]> ahead;
  std::size_t ahead_size = 0;
  sqlite3_int64 ahead_at = 0;
  sqlite3_int64 last_read_end = -1;
  int failed = SQLITE_OK;  // a failed write not reported yet (see Reported)

  // Makes the buffered writes. A failure is kept until a call whose result SQLite heeds
  // reports it: a write made where no error can be returned, or where SQLite ignores the
  // result (a file control's hint, a lock given back), must still fail the commit, or the
  // checkpoint's sync, that counts on it.
  void WritePending() {
    int rc = SQLITE_OK;
    for (std::size_t done = 0; done < pending.size() && rc == SQLITE_OK;) {
      const std::size_t n = std::min(pending.size() - done, kMaxWriteBytes);
      rc = below->pMethods->xWrite(below, pending.data() + done, static_cast<int>(n),
                                   pending_at + static_cast<sqlite3_int64>(done));
      total_writes.fetch_add(1, std::memory_order_relaxed);
      done += n;
    }
    // Written or not, the bytes are dropped: SQLite is told of a failure and writes again
    // what it still wants; kept, they could land later over newer data.
    pending.clear();
    if (failed == SQLITE_OK) failed = rc;
  }

  // Makes the buffered writes; the first failure not reported yet, which is reported now.
  int Reported() {
    WritePending();
    return std::exchange(failed, SQLITE_OK);
  }

  // Before the file is used otherwise: what is buffered is written, what was read ahead is
  // forgotten.
  void Settle() {
    ahead_size = 0;
    last_read_end = -1;
    WritePending();
  }

  // Adds a write to pending: pending is written first if the write does not continue it, and
  // with it once it reaches kMaxBufferedBytes or when `then_write`. Reports a failure, also
  // one an earlier call could not report.
  int Gather(const void* in, int n, sqlite3_int64 at, bool then_write) {
    if (!pending.empty() && at != pending_at + static_cast<sqlite3_int64>(pending.size())) {
      WritePending();
    }
    if (failed != SQLITE_OK) return std::exchange(failed, SQLITE_OK);
    if (pending.empty()) pending_at = at;
    pending.append(static_cast<const char*>(in), static_cast<std::size_t>(n));
    return then_write || pending.size() >= kMaxBufferedBytes ? Reported() : SQLITE_OK;
  }

  // Reads n bytes at `at` from what was read ahead, reading ahead first when the read is the
  // next frame's page of a scan (it begins a frame header after where the last one ended).
  int ReadWal(void* out, int n, sqlite3_int64 at) {
    const auto count = static_cast<std::size_t>(n);
    const bool scanning = at == last_read_end + kFrameHeaderBytes;
    last_read_end = at + n;
    if (at < ahead_at || at + n > ahead_at + static_cast<sqlite3_int64>(ahead_size)) {
      ahead_size = 0;
      sqlite3_int64 size = 0;
      if (!scanning || below->pMethods->xFileSize(below, &size) != SQLITE_OK || at + n > size) {
        total_reads.fetch_add(1, std::memory_order_relaxed);
        return below->pMethods->xRead(below, out, n, at);
      }
      // Up to the end of the file, which frames only ever grow into: no short read.
      if (ahead == nullptr) ahead = std::make_unique_for_overwrite<char[]>(kReadAheadBytes);
      ahead_size = static_cast<std::size_t>(
          std::min<sqlite3_int64>(size - at, static_cast<sqlite3_int64>(kReadAheadBytes)));
      ahead_at = at;
      total_reads.fetch_add(1, std::memory_order_relaxed);
      if (const int rc =
              below->pMethods->xRead(below, ahead.get(), static_cast<int>(ahead_size), at);
          rc != SQLITE_OK) {
        ahead_size = 0;
        return rc;
      }
    }
    std::memcpy(out, ahead.get() + (at - ahead_at), count);
    return SQLITE_OK;
  }
};

File* Of(sqlite3_file* f) { return reinterpret_cast<File*>(f); }
sqlite3_file* Below(sqlite3_file* f) { return Of(f)->below; }

int Close(sqlite3_file* f) {
  File* file = Of(f);
  file->Settle();
  int rc = file->Reported();
  if (file->wal != nullptr) file->wal->main = nullptr;
  if (file->main != nullptr) file->main->wal = nullptr;
  const int closed = file->below->pMethods->xClose(file->below);
  if (rc == SQLITE_OK) rc = closed;
  sqlite3_free(file->below);
  file->~File();
  return rc;
}

int Read(sqlite3_file* f, void* out, int n, sqlite3_int64 at) {
  File* file = Of(f);
  if (const int rc = file->Reported(); rc != SQLITE_OK) return rc;
  if (file->kind == File::Kind::kWal) return file->ReadWal(out, n, at);
  return file->below->pMethods->xRead(file->below, out, n, at);
}

int Write(sqlite3_file* f, const void* in, int n, sqlite3_int64 at) {
  File* file = Of(f);
  switch (file->kind) {
    case File::Kind::kOther:
      return file->below->pMethods->xWrite(file->below, in, n, at);
    case File::Kind::kMain:
      // A checkpoint's copies of pages, in page order: written at its sync.
      return file->Gather(in, n, at, /*then_write=*/false);
    case File::Kind::kWal:
      break;
  }
  total_appends.fetch_add(1, std::memory_order_relaxed);
  file->ahead_size = 0;
  // The page after a commit frame's header ends the commit. A frame header's bytes 4-7 hold
  // the database's size after a commit, 0 in other frames.
  const bool ends_commit = std::exchange(file->commit_frame, false);
  const auto* bytes = static_cast<const unsigned char*>(in);
  file->commit_frame = n == kFrameHeaderBytes && (bytes[4] | bytes[5] | bytes[6] | bytes[7]);
  return file->Gather(in, n, at, ends_commit);
}

int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  Of(f)->Settle();
  if (const int rc = Of(f)->Reported(); rc != SQLITE_OK) return rc;
  return Below(f)->pMethods->xTruncate(Below(f), size);
}

int Sync(sqlite3_file* f, int flags) {
  if (const int rc = Of(f)->Reported(); rc != SQLITE_OK) return rc;
  return Below(f)->pMethods->xSync(Below(f), flags);
}

int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  if (const int rc = Of(f)->Reported(); rc != SQLITE_OK) return rc;
  return Below(f)->pMethods->xFileSize(Below(f), size);
}

// Calls whose results SQLite may ignore: the buffered writes are made, and a failure of them
// waits for the next call that reports (Reported).
int Lock(sqlite3_file* f, int level) {
  Of(f)->Settle();
  return Below(f)->pMethods->xLock(Below(f), level);
}
int Unlock(sqlite3_file* f, int level) {
  Of(f)->Settle();
  return Below(f)->pMethods->xUnlock(Below(f), level);
}
int CheckReservedLock(sqlite3_file* f, int* out) {
  Of(f)->Settle();
  return Below(f)->pMethods->xCheckReservedLock(Below(f), out);
}

int FileControl(sqlite3_file* f, int op, void* arg) {
  Of(f)->Settle();
  return Below(f)->pMethods->xFileControl(Below(f), op, arg);
}

int SectorSize(sqlite3_file* f) { return Below(f)->pMethods->xSectorSize(Below(f)); }
int DeviceCharacteristics(sqlite3_file* f) {
  return Below(f)->pMethods->xDeviceCharacteristics(Below(f));
}

// The database file's shared memory, where SQLite publishes WAL frames and checkpoints to
// other connections and takes and gives back its locks: the connection's buffered writes,
// to the database file and to its WAL, are made first, and what was read ahead is forgotten.
void SettleBoth(sqlite3_file* f) {
  File* main = Of(f);
  main->Settle();
  if (main->wal != nullptr) main->wal->Settle();
}

int ShmMap(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
  return Below(f)->pMethods->xShmMap(Below(f), page, size, extend, out);
}

// A lock taken or given back. WAL frames still buffered then are those of a transaction that
// did not commit (a commit's are written with its commit frame), and a checkpoint's page
// copies are written at its sync; a failure here waits for the next call that reports.
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  SettleBoth(f);
  return Below(f)->pMethods->xShmLock(Below(f), offset, n, flags);
}

void ShmBarrier(sqlite3_file* f) {
  // No error can be returned here. The commit frame's write has emptied the WAL's buffer
  // before SQLite publishes a commit, and the sync a checkpoint's, so this writes only if
  // those rules ever missed a case.
  SettleBoth(f);
  Below(f)->pMethods->xShmBarrier(Below(f));
}

int ShmUnmap(sqlite3_file* f, int remove) {
  SettleBoth(f);
  return Below(f)->pMethods->xShmUnmap(Below(f), remove);
}

int Fetch(sqlite3_file* f, sqlite3_int64 at, int n, void** out) {
  if (const int rc = Of(f)->Reported(); rc != SQLITE_OK) return rc;
  return Below(f)->pMethods->xFetch(Below(f), at, n, out);
}
int Unfetch(sqlite3_file* f, sqlite3_int64 at, void* p) {
  return Below(f)->pMethods->xUnfetch(Below(f), at, p);
}

// One table per version of the file below: SQLite calls a method only if the version has it.
constexpr sqlite3_io_methods MethodsOfVersion(int version) {
  return {version,
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
          Fetch,
          Unfetch};
}
const sqlite3_io_methods kMethods[3] = {MethodsOfVersion(1), MethodsOfVersion(2),
                                        MethodsOfVersion(3)};

int Open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  sqlite3_vfs* below_vfs = Below();
  auto* file = new (f) File{};
  file->below = static_cast<sqlite3_file*>(sqlite3_malloc(below_vfs->szOsFile));
  if (file->below == nullptr) {
    file->~File();
    return SQLITE_NOMEM;
  }
  std::memset(file->below, 0, static_cast<std::size_t>(below_vfs->szOsFile));
  const int rc = below_vfs->xOpen(below_vfs, name, file->below, flags, out_flags);
  // SQLite calls xClose only on a file whose methods are set, whatever the open returned.
  if (file->below->pMethods == nullptr) {
    sqlite3_free(file->below);
    file->~File();
    return rc;
  }
  const int version = std::clamp(file->below->pMethods->iVersion, 1, 3);
  file->base.pMethods = &kMethods[version - 1];
  if ((flags & SQLITE_OPEN_MAIN_DB) != 0) file->kind = File::Kind::kMain;
  if ((flags & SQLITE_OPEN_WAL) != 0) file->kind = File::Kind::kWal;
  if (file->kind == File::Kind::kWal && name != nullptr) {
    sqlite3_file* main = sqlite3_database_file_object(name);
    if (main != nullptr && main->pMethods >= &kMethods[0] && main->pMethods <= &kMethods[2]) {
      file->main = Of(main);
      file->main->wal = file;
    }
  }
  return rc;
}

int Delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return Below()->xDelete(Below(), name, sync_dir);
}
int Access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return Below()->xAccess(Below(), name, flags, out);
}
int FullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return Below()->xFullPathname(Below(), name, n, out);
}
void* DlOpen(sqlite3_vfs*, const char* name) { return Below()->xDlOpen(Below(), name); }
void DlError(sqlite3_vfs*, int n, char* out) { Below()->xDlError(Below(), n, out); }
void (*DlSym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return Below()->xDlSym(Below(), handle, symbol);
}
void DlClose(sqlite3_vfs*, void* handle) { Below()->xDlClose(Below(), handle); }
int Randomness(sqlite3_vfs*, int n, char* out) { return Below()->xRandomness(Below(), n, out); }
int Sleep(sqlite3_vfs*, int micros) { return Below()->xSleep(Below(), micros); }
int CurrentTime(sqlite3_vfs*, double* out) { return Below()->xCurrentTime(Below(), out); }
int GetLastError(sqlite3_vfs*, int n, char* out) {
  return Below()->xGetLastError != nullptr ? Below()->xGetLastError(Below(), n, out) : 0;
}
int CurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  if (Below()->iVersion >= 2 && Below()->xCurrentTimeInt64 != nullptr) {
    return Below()->xCurrentTimeInt64(Below(), out);
  }
  double days = 0;
  const int rc = Below()->xCurrentTime(Below(), &days);
  *out = static_cast<sqlite3_int64>(days * 86'400'000.0);
  return rc;
}

sqlite3_vfs vfs{};

void Register() {
  sqlite3_vfs* below = Below();
  vfs.iVersion = 2;
  vfs.szOsFile = static_cast<int>(sizeof(File));
  vfs.mxPathname = below->mxPathname;
  vfs.zName = "mailwarden-wal-buffer";
  vfs.xOpen = Open;
  vfs.xDelete = Delete;
  vfs.xAccess = Access;
  vfs.xFullPathname = FullPathname;
  vfs.xDlOpen = DlOpen;
  vfs.xDlError = DlError;
  vfs.xDlSym = DlSym;
  vfs.xDlClose = DlClose;
  vfs.xRandomness = Randomness;
  vfs.xSleep = Sleep;
  vfs.xCurrentTime = CurrentTime;
  vfs.xGetLastError = GetLastError;
  vfs.xCurrentTimeInt64 = CurrentTimeInt64;
  sqlite3_vfs_register(&vfs, /*makeDflt=*/0);
}

}  // namespace

const char* WalBufferVfs() {
  static const bool registered = (Register(), true);
  (void)registered;
  return vfs.zName;
}

WalBufferCounts WalBufferTotals() {
  return {.appends = total_appends.load(std::memory_order_relaxed),
          .writes = total_writes.load(std::memory_order_relaxed),
          .wal_reads = total_reads.load(std::memory_order_relaxed)};
}

}  // namespace mailwarden
