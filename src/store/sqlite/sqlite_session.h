// SqliteSession: the SQL store's session on one SQLite connection (sql_session.h), and what
// SqliteStore needs beyond it (a row's blob read and written in place, the last rowid, query
// plans).
//
// Transactions: kRead is BEGIN DEFERRED, a consistent snapshot without the write lock. kWrite
// and kNoSync are BEGIN IMMEDIATE: the write lock is taken at BEGIN, so the transaction either
// waits for it there (busy timeout) or fails before doing anything; a deferred transaction that
// read first and then wrote could instead fail with SQLITE_BUSY half way, when another writer
// committed in between, and no waiting helps that. The connection runs with synchronous =
// NORMAL: COMMIT writes the WAL without waiting for the disk, and Commit of a kWrite
// transaction then fsyncs the WAL itself; kNoSync does not.
//
// After a failed fsync of the WAL the session commits nothing more: every later kWrite or
// kNoSync transaction fails at Begin with kUnavailable (a script is told to try again later),
// reads go on. Linux marks the pages of a failed writeback clean: a later fsync can succeed
// while the WAL has a hole, and at the next start SQLite's recovery stops at the first frame
// whose checksum does not follow, dropping every later commit, acknowledged ones too. Only a
// store opened anew (the daemon restarted), whose recovery read the WAL from the disk, commits
// again.
#pragma once

#include <sqlite3.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "store/sql/sql_session.h"

namespace mailwarden {

// What a failed SQLite call means to the caller: the environment failing (retry later), bad
// input, or a bug.
Error SqliteError(sqlite3* db, int rc, std::string_view what);

class SqliteSession final : public SqlSession {
 public:
  // Opens the file (creating it readable by its owner only if missing) in WAL mode through the
  // WAL buffer VFS, and prepares what needs no table. Fails with kUnavailable.
  static Result<std::unique_ptr<SqliteSession>> Open(const std::filesystem::path& path);
  ~SqliteSession() override;
  SqliteSession(const SqliteSession&) = delete;
  SqliteSession& operator=(const SqliteSession&) = delete;

  // After migrations: prepares every statement SQLite has a text for, once for the
  // connection's life.
  Result<void> PrepareStatements();

  Result<void> Begin(TxKind kind) override;
  Result<void> Commit() override;
  void Rollback() override;
  Result<Rows> Run(Sql sql, const Params& params) override;
  using SqlSession::Run;
  Result<Rows> Exec(std::string_view sql) override;

  std::int64_t LastInsertId() const { return sqlite3_last_insert_rowid(db_); }
  // Reads the whole of a row's blob column straight from its pages, with no copy of the row's
  // record in between.
  Result<std::string> ReadBlob(std::string_view table, std::string_view column, std::int64_t rowid);
  // Writes bytes over the blob (made with Params zero bytes, as long) in place: no copy of the
  // whole value is made, as a bound blob's would be when SQLite builds the row.
  Result<void> WriteBlob(std::string_view table, std::string_view column, std::int64_t rowid,
                         std::string_view bytes);
  // EXPLAIN QUERY PLAN of a statement as prepared: each line's detail, indented two spaces per
  // level below the top.
  Result<std::vector<std::string>> ExplainQueryPlan(Sql sql);

 private:
  explicit SqliteSession(sqlite3* db) : db_(db) {}
  Result<void> Pragmas();
  Result<void> Step(sqlite3_stmt* stmt, std::string_view what);
  // Makes every commit so far durable: one fsync of the WAL.
  Result<void> SyncWal();
  // Notes a failed fsync: from now on nothing is committed (see the top of this file).
  void SyncFailed(const Error& error);

  sqlite3* db_;
  std::array<sqlite3_stmt*, kSqlCount> statements_{};
  sqlite3_stmt* begin_read_ = nullptr;
  sqlite3_stmt* begin_write_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  sqlite3_stmt* rollback_ = nullptr;
  bool in_transaction_ = false;
  TxKind kind_ = TxKind::kRead;
  std::string sync_failure_;  // the first failed fsync's error; empty while none failed
};

// SQLite's text of sql (its own, or the shared one), as prepared; "" if SQLite does not use it.
std::string SqliteSql(Sql sql);

}  // namespace mailwarden
