// What the SQL store needs of a database engine: a session that runs transactions of a kind,
// prepared statements with bound parameters, and reads their rows. SqlStore (sql_store.h) is
// written once against this; SqliteSession and PgSession are the two engines.
//
// Threading: a session is used by one thread at a time, as the Store that owns it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/result.h"
#include "store/sql/sql_statement.h"

namespace mailwarden {

// The kinds of transaction.
// - kRead: one consistent snapshot for several SELECTs; writes nothing.
// - kWrite: a write whose commit is durable when Commit returns (what a script or a user is
//   told is done, DESIGN.md promise 1).
// - kNoSync: a write whose commit does not wait for the disk, for the progress of delivery only
//   (leases, outcomes, old history). A crash of the daemon loses none of it; a power cut (or a
//   crash of the database server) may undo the last of it, and what that restores is safe: the
//   messages are due again and go out again (delivery is at-least-once, as Postfix's).
enum class TxKind { kRead, kWrite, kNoSync };

// The parameters of one statement, in the order of its contract (sql_statement.h). Texts are
// owned; bytes given by reference must outlive the Run that uses them (a body can be 25 MB).
class Params {
 public:
  struct Bytes {
    std::string_view data;
  };
  struct ZeroBytes {
    std::size_t size = 0;
  };
  using Value = std::variant<std::monostate, std::int64_t, std::string, Bytes, ZeroBytes,
                             std::vector<std::int64_t>, std::vector<std::string>>;

  Params& Int(std::int64_t value) {
    values_.emplace_back(value);
    return *this;
  }
  Params& OptionalInt(std::optional<std::int64_t> value) {
    if (value) return Int(*value);
    values_.emplace_back(std::monostate{});
    return *this;
  }
  Params& Text(std::string_view text) {
    values_.emplace_back(std::string(text));
    return *this;
  }
  // Not copied: bytes must outlive the Run.
  Params& BytesRef(std::string_view bytes) {
    values_.emplace_back(Bytes{bytes});
    return *this;
  }
  // Only for SQLite: room for `size` bytes, stored without making them in memory, to be
  // written in place afterwards (SqliteSession::WriteBlob).
  Params& ZeroBytesOf(std::size_t size) {
    values_.emplace_back(ZeroBytes{size});
    return *this;
  }
  // Only for statements of an engine that has arrays (PostgreSQL's = ANY($1)).
  Params& IntArray(std::vector<std::int64_t> values) {
    values_.emplace_back(std::move(values));
    return *this;
  }
  // The same for texts ($1::text[]); an element ends at its first NUL, which no text holds.
  Params& TextArray(std::vector<std::string> values) {
    values_.emplace_back(std::move(values));
    return *this;
  }

  const std::vector<Value>& values() const { return values_; }

 private:
  std::vector<Value> values_;
};

// The rows a statement returned, read whole (every statement here has a bound LIMIT or reads
// one account's few rows), and the number of rows it changed. Integers (and booleans, as 0 or
// 1) read with Int; texts and bytes with Text.
class Rows {
 public:
  using Cell = std::variant<std::monostate, std::int64_t, std::string>;

  Rows() = default;
  Rows(int columns, std::vector<Cell> cells, std::int64_t changed)
      : columns_(columns), cells_(std::move(cells)), changed_(changed) {}

  int size() const { return columns_ == 0 ? 0 : static_cast<int>(cells_.size()) / columns_; }
  bool empty() const { return size() == 0; }
  // Rows changed by an INSERT, UPDATE or DELETE (not those of a cascade).
  std::int64_t Changed() const { return changed_; }

  bool IsNull(int row, int column) const {
    return std::holds_alternative<std::monostate>(At(row, column));
  }
  // 0 for NULL.
  std::int64_t Int(int row, int column) const {
    const Cell& cell = At(row, column);
    if (const auto* value = std::get_if<std::int64_t>(&cell)) return *value;
    return 0;
  }
  std::optional<std::int64_t> OptionalInt(int row, int column) const {
    if (IsNull(row, column)) return std::nullopt;
    return Int(row, column);
  }
  bool Bool(int row, int column) const { return Int(row, column) != 0; }
  // "" for NULL.
  const std::string& Text(int row, int column) const {
    static const std::string kEmpty;
    const Cell& cell = At(row, column);
    if (const auto* value = std::get_if<std::string>(&cell)) return *value;
    return kEmpty;
  }
  // Row `row` alone, from column `first` on: a statement run once for many items gives each
  // item the rows its own statement would have (the first columns saying which item).
  Rows Slice(int row, int first) const {
    std::vector<Cell> cells;
    for (int c = first; c < columns_; ++c) cells.push_back(At(row, c));
    return Rows(columns_ - first, std::move(cells), 0);
  }
  // The text moved out (a body is not copied twice).
  std::string TakeText(int row, int column) {
    Cell& cell = cells_[Index(row, column)];
    if (auto* value = std::get_if<std::string>(&cell)) return std::move(*value);
    return {};
  }

 private:
  std::size_t Index(int row, int column) const {
    return static_cast<std::size_t>(row) * static_cast<std::size_t>(columns_) +
           static_cast<std::size_t>(column);
  }
  const Cell& At(int row, int column) const { return cells_[Index(row, column)]; }

  int columns_ = 0;
  std::vector<Cell> cells_;
  std::int64_t changed_ = 0;
};

class SqlSession {
 public:
  virtual ~SqlSession() = default;

  // Starts a transaction of the kind. A write transaction takes what the engine needs so that
  // it cannot fail half way for another writer (SQLite: the write lock at BEGIN).
  virtual Result<void> Begin(TxKind kind) = 0;
  // Commits; for kWrite, success means durable. On failure nothing of it is kept, or (a failed
  // fsync after COMMIT) it is not known to be on disk and the caller must not say it is.
  virtual Result<void> Commit() = 0;
  // Undoes the open transaction, if any. Never fails: an engine that rolled back by itself
  // already is in the same state.
  virtual void Rollback() = 0;

  // Runs a prepared statement with the parameters of its contract and reads its rows. Outside a
  // transaction a statement is its own transaction.
  virtual Result<Rows> Run(Sql sql, const Params& params) = 0;
  Result<Rows> Run(Sql sql) { return Run(sql, Params()); }

  // Runs a statement whose rows the caller does not read, in the open transaction. An engine
  // may send it later, with the next statement that is read or with the commit (PostgreSQL
  // pipelines them: one round trip for all); a failure of it then fails that call, and with it
  // the transaction, so a write is all or nothing as with Run. Outside a transaction it is run
  // at once, as Run.
  virtual Result<void> Queue(Sql sql, const Params& params) {
    MW_RETURN_IF_ERROR(Run(sql, params));
    return {};
  }

  // A statement with its parameters, for RunAll.
  struct Statement {
    Sql sql;
    Params params;
  };
  // Runs the statements in the order given and reads each one's rows, as Run on each would;
  // an engine may send them together (PostgreSQL: one round trip for all, in a transaction).
  // The first failure fails the call; the statements after it have not run.
  virtual Result<std::vector<Rows>> RunAll(std::span<const Statement> statements) {
    std::vector<Rows> all;
    all.reserve(statements.size());
    for (const Statement& s : statements) {
      MW_ASSIGN_OR_RETURN(Rows rows, Run(s.sql, s.params));
      all.push_back(std::move(rows));
    }
    return all;
  }

  // Runs constant SQL text (migrations): never values.
  virtual Result<Rows> Exec(std::string_view sql) = 0;
};

// A transaction that rolls back unless committed.
class SqlTransaction {
 public:
  static Result<SqlTransaction> Begin(SqlSession& session, TxKind kind) {
    MW_RETURN_IF_ERROR(session.Begin(kind));
    return SqlTransaction(&session);
  }
  SqlTransaction(SqlTransaction&& other) noexcept
      : session_(std::exchange(other.session_, nullptr)) {}
  SqlTransaction& operator=(SqlTransaction&&) = delete;
  ~SqlTransaction() {
    if (session_ != nullptr) session_->Rollback();
  }

  Result<void> Commit() { return std::exchange(session_, nullptr)->Commit(); }

 private:
  explicit SqlTransaction(SqlSession* session) : session_(session) {}
  SqlSession* session_;
};

}  // namespace mailwarden
