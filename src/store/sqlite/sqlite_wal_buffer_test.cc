// The WAL buffer VFS: a transaction's frames reach the file in few writes, and every commit is
// in the file before any other connection or process can see it, whatever came before it (a
// rolled back transaction, a checkpoint, a crash).
#include "store/sqlite/sqlite_wal_buffer.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "store/sqlite/test_vfs.h"
#include "testing/temp_dir.h"

namespace mailwarden {

using testing::TempDir;
namespace {

// One connection; the VFS is the buffer's unless told otherwise.
class Db {
 public:
  Db(const std::filesystem::path& path, const char* vfs) {
    rc_ = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~Db() { sqlite3_close(db_); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  bool ok() const { return rc_ == SQLITE_OK; }
  // Runs SQL text; "" if it went well, else SQLite's message.
  std::string Exec(const std::string& sql) {
    char* error = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
    std::string message = rc == SQLITE_OK ? "" : (error != nullptr ? error : "failed");
    sqlite3_free(error);
    return message;
  }
  // The first column of the first row, as text ("" if none).
  std::string One(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

// SQL for a blob of `bytes` bytes that repeats `tag`, e.g. "7,7,7,...".
std::string Blob(const std::string& tag, const std::string& bytes) {
  return "CAST(substr(replace(hex(zeroblob(" + bytes + " / length(" + tag + ") + 1)), '00', " +
         tag + " || ','), 1, " + bytes + ") AS BLOB)";
}

// A store-like table: one row per message, its body a blob of n bytes made from its id.
std::string Insert(Db& db, int id, int bytes) {
  return db.Exec("INSERT INTO m (id, body) VALUES (" + std::to_string(id) + ", " +
                 Blob(std::to_string(id), std::to_string(bytes)) + ")");
}

// How many rows have the body Insert gave them.
constexpr const char* kCountWhole =
    "SELECT count(*) FROM m WHERE body = CAST(substr(replace(hex(zeroblob(length(body) / "
    "length(id) + 1)), '00', id || ','), 1, length(body)) AS BLOB)";

std::string MakeTable(Db& db) {
  return db.Exec(
      "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
      "CREATE TABLE IF NOT EXISTS m (id INTEGER PRIMARY KEY, body BLOB NOT NULL)");
}

TEST(WalBuffer, ATransactionsFramesGoInFewWrites) {
  TempDir dir("mw-wal-buffer");
  Db db(dir.path() / "t.db", WalBufferVfs());
  ASSERT_TRUE(db.ok());
  ASSERT_EQ(MakeTable(db), "");
  const WalBufferCounts before = WalBufferTotals();
  ASSERT_EQ(Insert(db, 1, 100'000), "");
  const WalBufferCounts after = WalBufferTotals();
  // About 25 pages of body and a few of the table: two appends each (header, page).
  EXPECT_GE(after.appends - before.appends, 50u);
  // 26 frames of 4,120 bytes: 107 KB, one write (up to 120 KiB at a time).
  EXPECT_LE(after.writes - before.writes, 2u);
  EXPECT_EQ(db.One("SELECT length(body) FROM m WHERE id = 1"), "100000");
}

TEST(WalBuffer, ACheckpointCopiesInFewCallsAndOtherProgramsReadTheCopies) {
  TempDir dir("mw-wal-buffer");
  Db db(dir.path() / "t.db", WalBufferVfs());
  ASSERT_EQ(MakeTable(db), "");
  ASSERT_EQ(db.Exec("PRAGMA wal_autocheckpoint = 0"), "");
  for (int id = 1; id <= 20; ++id) ASSERT_EQ(Insert(db, id, 100'000), "");
  const WalBufferCounts before = WalBufferTotals();
  // Copies every frame (about 520 pages) into the database file, and empties the WAL.
  ASSERT_EQ(db.One("PRAGMA wal_checkpoint(TRUNCATE)"), "0");
  const WalBufferCounts after = WalBufferTotals();
  EXPECT_LE(after.wal_reads - before.wal_reads, 60u) << "read ahead, not a page at a time";
  EXPECT_LE(after.writes - before.writes, 60u) << "pages in order written together";
  ASSERT_EQ(std::filesystem::file_size(dir.path() / "t.db-wal"), 0u);

  Db plain(dir.path() / "t.db", nullptr);  // reads the database file only: the WAL is empty
  EXPECT_EQ(plain.One("SELECT count(*) FROM m"), "20");
  EXPECT_EQ(plain.One(kCountWhole), "20");
  EXPECT_EQ(plain.One("PRAGMA integrity_check"), "ok");
}

TEST(WalBuffer, EveryCommitIsInTheFileForOtherConnections) {
  TempDir dir("mw-wal-buffer");
  Db writer(dir.path() / "t.db", WalBufferVfs());
  ASSERT_EQ(MakeTable(writer), "");
  Db plain(dir.path() / "t.db", nullptr);  // SQLite's own VFS, as another program's
  Db buffered(dir.path() / "t.db", WalBufferVfs());
  for (int id = 1; id <= 300; ++id) {
    ASSERT_EQ(Insert(writer, id, 1000 + id * 97), "");
    const std::string count = std::to_string(id);
    ASSERT_EQ(plain.One("SELECT count(*) FROM m"), count);
    ASSERT_EQ(buffered.One("SELECT count(*) FROM m"), count);
    ASSERT_EQ(plain.One(std::string(kCountWhole) + " AND id = " + count), "1");
  }
  EXPECT_EQ(plain.One("PRAGMA integrity_check"), "ok");
}

// A reader's scans of large bodies in the WAL are read ahead, while another connection adds
// bodies and checkpoints after each, so that new frames take the places of frames the reader
// read before: it always reads the bodies of its snapshot.
TEST(WalBuffer, WhatWasReadAheadNeverOutlivesItsFrames) {
  TempDir dir("mw-wal-buffer");
  Db writer(dir.path() / "t.db", WalBufferVfs());
  ASSERT_EQ(MakeTable(writer), "");
  ASSERT_EQ(writer.Exec("PRAGMA wal_autocheckpoint = 0"), "");
  Db reader(dir.path() / "t.db", WalBufferVfs());
  const WalBufferCounts before = WalBufferTotals();
  for (int round = 1; round <= 60; ++round) {
    // The last row copied into the database file, so that the WAL starts over: the new
    // row's frames take the places of the last one's, which the reader read ahead. The new
    // row's pages come in order from the end of the file, so the reader's reads of them
    // follow its frames.
    ASSERT_EQ(writer.One("PRAGMA wal_checkpoint"), "0");
    ASSERT_EQ(Insert(writer, round, 60'000 + round), "");
    ASSERT_EQ(reader.One(std::string(kCountWhole) + " AND id = " + std::to_string(round)), "1")
        << "round " << round;
  }
  // Without reading ahead, the reader alone reads 60 bodies of 15 pages.
  EXPECT_LT(WalBufferTotals().wal_reads - before.wal_reads, 60u * 15 / 2);
  EXPECT_EQ(reader.One("PRAGMA integrity_check"), "ok");
}

TEST(WalBuffer, FramesOfARolledBackTransactionNeverLandOverNewerOnes) {
  TempDir dir("mw-wal-buffer");
  Db first(dir.path() / "t.db", WalBufferVfs());
  ASSERT_EQ(MakeTable(first), "");
  // A cache of a few pages: a large transaction spills frames into the WAL before its end.
  ASSERT_EQ(first.Exec("PRAGMA cache_size = 4"), "");
  Db second(dir.path() / "t.db", WalBufferVfs());
  for (int round = 0; round < 20; ++round) {
    ASSERT_EQ(first.Exec("BEGIN IMMEDIATE"), "");
    for (int i = 0; i < 5; ++i) ASSERT_EQ(Insert(first, 100'000 + round * 10 + i, 30'000), "");
    ASSERT_EQ(first.Exec("ROLLBACK"), "");
    // The other connection writes where the rolled back frames were.
    ASSERT_EQ(Insert(second, round + 1, 20'000), "");
    ASSERT_EQ(Insert(first, 1'000 + round, 5'000), "");
  }
  Db plain(dir.path() / "t.db", nullptr);
  EXPECT_EQ(plain.One("SELECT count(*) FROM m"), "40");
  EXPECT_EQ(plain.One("SELECT count(*) FROM m WHERE id >= 100000"), "0");
  EXPECT_EQ(plain.One("PRAGMA integrity_check"), "ok");
}

TEST(WalBuffer, CheckpointsAndReopeningKeepEverything) {
  TempDir dir("mw-wal-buffer");
  {
    Db db(dir.path() / "t.db", WalBufferVfs());
    ASSERT_EQ(MakeTable(db), "");
    ASSERT_EQ(db.Exec("PRAGMA wal_autocheckpoint = 50"), "");  // many checkpoints and restarts
    for (int id = 1; id <= 200; ++id) ASSERT_EQ(Insert(db, id, 2'000 + id * 1'000), "");
    ASSERT_EQ(db.Exec("DELETE FROM m WHERE id % 3 = 0"), "");  // pages freed and used again
    for (int id = 201; id <= 260; ++id) ASSERT_EQ(Insert(db, id, 150'000), "");
  }
  Db plain(dir.path() / "t.db", nullptr);
  EXPECT_EQ(plain.One("SELECT count(*) FROM m"), std::to_string(200 - 66 + 60));
  EXPECT_EQ(plain.One("SELECT length(body) FROM m WHERE id = 200"), "202000");
  EXPECT_EQ(plain.One("PRAGMA integrity_check"), "ok");
}

// A write that fails below (a full or failing disk) fails the commit that made it, or the
// checkpoint: nothing of it is kept, nothing is told stored, and what is stored before and
// after is whole.
TEST(WalBuffer, AFailedWriteFailsItsCommitAndLosesNothingElse) {
  TempDir dir("mw-wal-buffer");
  TestVfs disk;  // below the buffer
  Db db(dir.path() / "t.db", WalBufferVfs());
  ASSERT_EQ(MakeTable(db), "");
  ASSERT_EQ(db.Exec("PRAGMA wal_autocheckpoint = 0"), "");
  ASSERT_EQ(Insert(db, 1, 100'000), "");
  disk.fail_wal_writes = true;
  EXPECT_NE(Insert(db, 2, 100'000), "") << "the commit's frames were not written";
  EXPECT_NE(Insert(db, 3, 2'000), "");
  disk.fail_wal_writes = false;
  ASSERT_EQ(Insert(db, 4, 100'000), "");

  disk.fail_db_writes = true;
  EXPECT_EQ(db.One("PRAGMA wal_checkpoint(TRUNCATE)"), "") << "the checkpoint failed";
  disk.fail_db_writes = false;
  ASSERT_EQ(Insert(db, 5, 100'000), "");
  ASSERT_EQ(db.One("PRAGMA wal_checkpoint(TRUNCATE)"), "0");

  Db plain(dir.path() / "t.db", nullptr);
  EXPECT_EQ(plain.One("SELECT group_concat(id) FROM m"), "1,4,5");
  EXPECT_EQ(plain.One(kCountWhole), "3");
  EXPECT_EQ(plain.One("PRAGMA integrity_check"), "ok");
}

// A writer killed at any moment: what it committed is there, and the file is sound.
TEST(WalBuffer, AKilledWriterLosesNothingCommitted) {
  TempDir dir("mw-wal-buffer");
  const auto path = dir.path() / "t.db";
  {
    Db db(path, WalBufferVfs());
    ASSERT_EQ(MakeTable(db), "");
  }
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(pipe_fds[0]);
    Db db(path, WalBufferVfs());
    for (int id = 1;; ++id) {
      if (!Insert(db, id, 1'000 + (id % 50) * 3'000).empty()) _exit(1);
      // Told only after the commit, as a script is.
      if (write(pipe_fds[1], &id, sizeof id) != sizeof id) _exit(1);
    }
  }
  close(pipe_fds[1]);
  int acknowledged = 0;
  for (int id = 0; acknowledged < 400 && read(pipe_fds[0], &id, sizeof id) == sizeof id;) {
    acknowledged = id;
  }
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  close(pipe_fds[0]);
  ASSERT_GE(acknowledged, 400);

  Db plain(path, nullptr);
  EXPECT_EQ(plain.One("PRAGMA integrity_check"), "ok");
  const int stored = std::stoi(plain.One("SELECT count(*) FROM m"));
  EXPECT_GE(stored, acknowledged);
  EXPECT_EQ(plain.One("SELECT max(id) FROM m"), std::to_string(stored)) << "no gap";
}

}  // namespace
}  // namespace mailwarden
