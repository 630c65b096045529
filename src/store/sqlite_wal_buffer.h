// A VFS over SQLite's own that writes a transaction's WAL frames with one system call.
//
// SQLite appends each frame to the WAL with two pwrite calls, its 24-byte header and then the
// page: 56 calls for a 100 KB message, and as many again as each call's fixed cost in the
// kernel. Through this VFS, appends to a WAL gather in a buffer of the connection's and go to
// the file in one write: when the commit frame has been appended, and before anything could
// need them on disk or in the file:
// - the WAL is read, synced, truncated or sized, or closed;
// - the database file's shared memory is touched through a barrier or a lock: SQLite publishes
//   new frames to other connections only after a barrier (walIndexWriteHdr), and gives up the
//   write lock through xShmLock, so no other connection can read or overwrite them before;
// - a write that does not continue the buffer, or the buffer reaching kMaxBufferedWalBytes.
// A failed write of the buffer fails the xWrite (the commit) or xSync that made it, as
// SQLite's own write would. Files other than a WAL pass through unchanged.
//
// Every call is handed to the VFS that is SQLite's default when the file is opened (a test's
// counting VFS, registered as the default, then sits below this one).
#pragma once

#include <cstddef>
#include <cstdint>

namespace mailwarden {

// Appends gathered at most before they are written.
inline constexpr std::size_t kMaxBufferedWalBytes = std::size_t{1} << 20;

// The VFS's name for sqlite3_open_v2; registers it (not as the default) on the first call.
const char* WalBufferVfs();

// What went to WALs through the VFS since the process started: the appends SQLite made, and
// the writes that carried them to the files.
struct WalBufferCounts {
  std::uint64_t appends = 0;
  std::uint64_t writes = 0;
};
WalBufferCounts WalBufferTotals();

}  // namespace mailwarden
