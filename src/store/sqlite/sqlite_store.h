// SqliteStore: the Store on one SQLite file, the embedded default for a single daemon.
//
// The file is opened in WAL mode, and a method that returns success has fsync'd its
// transaction's WAL (the progress of delivery aside: see TxKind::kNoSync), so acknowledged mail
// survives a crash and a power cut. Writers take the write lock at BEGIN (BEGIN IMMEDIATE) and
// wait for it up to a busy timeout, so several SqliteStore objects (threads, or processes such
// as two daemons during a restart) may share one file. Every statement is prepared once, at
// open, and reused. The steps of every method are SqlStore's; this file holds SQLite's hooks.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "store/sql/sql_store.h"

namespace mailwarden {

class SqliteSession;

class SqliteStore final : public SqlStore {
 public:
  // Opens the database file at path, creating it (readable by its owner only: it holds the
  // customers' mail) if missing; the folder must exist. Sets the connection up and applies
  // missing migrations. Fails with kUnavailable if the file cannot be opened or migrated, or
  // was written by a newer mailwarden (its schema version is higher than schema.h's).
  static Result<std::unique_ptr<SqliteStore>> Open(const std::filesystem::path& path);

  // EXPLAIN QUERY PLAN of every statement SQLite runs (all but PostgreSQL's own, which have no
  // SQLite text), as prepared: each statement's name (as in sql_statement.h) and its plan's
  // lines, indented by level; fails if one cannot be prepared. For the tests that keep the
  // claims, outcomes, purges and the panel's requests on their indexes.
  struct QueryPlan {
    std::string statement;
    std::vector<std::string> lines;
  };
  Result<std::vector<QueryPlan>> ExplainAllStatements();

 private:
  explicit SqliteStore(std::unique_ptr<SqliteSession> session);

  Result<AccountId> UpsertAccountRow(const AccountSpec& spec, std::int64_t now_ms) override;
  Result<MessageId> InsertMessageRow(const NewMessage& m, std::optional<TimePoint> lease_until,
                                     std::string_view lease_node) override;
  Result<std::vector<ClaimedMessage>> LeaseMessages(std::span<const LeaseItem> items,
                                                    const ClaimRequest& request) override;
  void NoteNode(std::string_view node) override;
  Result<std::optional<std::int64_t>> FreeBytes() override;
  Result<void> RemoveAccountRows(std::span<const AccountId> ids) override;
  std::string_view MigrationSql(const schema::Migration& migration) const override;
  Result<void> CheckMigrated() override;

  SqliteSession& sqlite_;
  // The node this store claims for (the last ClaimDue, ReleaseLeases or offer to lease on
  // arrival; the daemon releases its leases at start). New messages carry it in lease_node,
  // which counts only while a message is delivering: the claim's UPDATE then keeps the row's
  // size, and SQLite overwrites the row in place, writing only the pages that changed. A row
  // that changes size is rewritten whole, a 100 KB body's 25 overflow pages freed and written
  // again.
  std::string lease_node_hint_;
  // The database file's folder, whose file system FreeBytes reads; empty for a database in
  // memory.
  std::filesystem::path folder_;
  std::int64_t page_size_ = 4096;  // the database's, read at open
};

}  // namespace mailwarden
