// A VFS over SQLite's own that writes a transaction's WAL frames, and a checkpoint's copies
// of them, with few system calls.
//
// SQLite appends each frame to the WAL with two pwrite calls, its 24-byte header and then the
// page, and a checkpoint copies each frame into the database file with one pread and one
// pwrite: for a 100 KB message, 56 calls and then 52 more, each with its fixed cost in the
// kernel. Through this VFS:
// - Appends to a WAL gather in a buffer of the connection's and go to the file in one write
//   when the commit frame has been appended, and before anything could need them on disk or
//   in the file: the WAL is read, synced, truncated or sized, or closed; the database file's
//   shared memory is touched through a barrier or a lock (SQLite publishes new frames to
//   other connections only after a barrier, in walIndexWriteHdr, and gives up the write lock
//   through xShmLock, so no other connection reads or overwrites them before); a write does
//   not continue the buffer; or the buffer reaches kMaxBufferedBytes.
// - Writes to the database file (a checkpoint's, in page order) gather alike, and go to the
//   file at its sync, which comes before the checkpoint records what it copied, or at any
//   other use of the file or its shared memory. So a connection must not run with
//   synchronous = OFF, where a checkpoint records its progress without a sync: the store runs
//   with NORMAL.
// - A read of the WAL that goes on where the last one ended, past the next frame's header (a
//   checkpoint's scan), reads up to 120 KiB ahead; what was read ahead is forgotten when the
//   connection writes the WAL or touches the shared memory (every transaction's start and
//   end), so it never outlives the frames it holds.
// A failed write fails the commit, or the checkpoint's sync, that counts on it: made in a call
// whose result SQLite heeds (xWrite, xSync, xRead...), it is that call's error; made where no
// error can be returned or SQLite ignores it (a barrier, a lock, a file control's hint), it is
// the error of the file's next such call. Other files (journals, temporary files) pass through
// unchanged.
//
// Every call is handed to the VFS that is SQLite's default when the file is opened (a test's
// counting VFS, registered as the default, then sits below this one).
#pragma once

#include <cstddef>
#include <cstdint>

namespace mailwarden {

// Writes gathered at most, to a WAL or a database file, before they are made.
inline constexpr std::size_t kMaxBufferedBytes = std::size_t{1} << 20;

// The VFS's name for sqlite3_open_v2; registers it (not as the default) on the first call.
const char* WalBufferVfs();

// What the VFS did since the process started: the appends SQLite made to WALs; the writes
// that carried them and the database files' writes to the files; the reads of WALs it made.
struct WalBufferCounts {
  std::uint64_t appends = 0;
  std::uint64_t writes = 0;
  std::uint64_t wal_reads = 0;
};
WalBufferCounts WalBufferTotals();

}  // namespace mailwarden
