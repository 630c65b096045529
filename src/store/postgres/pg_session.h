// PgSession: the SQL store's session on one libpq connection (sql_session.h).
//
// Every statement is prepared once per connection and run with bound parameters: integers as
// text, strings and bytes as binary (any byte reaches the server as it is: the wire's text
// format could not hold a NUL, and the server refuses what its encoding cannot hold rather
// than truncating it). Results are read in text format and converted by column type: integers
// and booleans (as 0/1) to Int, bytea decoded from hex.
//
// Transactions: kRead is a read-only REPEATABLE READ transaction, one snapshot for several
// SELECTs; kWrite is READ COMMITTED with row locks taken where rows are chosen; kNoSync is
// kWrite with synchronous_commit off for that transaction only. Commits are synchronous on the
// server otherwise (synchronous_commit as configured there, on by default): success means
// durable.
//
// Round trips: inside a transaction, BEGIN and the statements queued (Queue) are sent in
// libpq's pipeline mode and their results read with those of the next statement that is read
// (Run) or of COMMIT: a transaction costs one round trip per statement whose rows it reads,
// plus one for COMMIT. Nothing else changes: the statements run in the order given, in the
// one transaction, and the first failure fails the call that reads it and the transaction.
//
// A lost connection fails the call in progress with kUnavailable (nothing of it committed);
// the next call reconnects and prepares its statements again.
#pragma once

#include <libpq-fe.h>

#include <array>
#include <memory>
#include <string>
#include <string_view>

#include "store/sql/sql_session.h"

namespace mailwarden {

// A libpq message (several lines, with tabs) as one line for a log or an error.
std::string PgMessageLine(const char* message);

// The channel PgStore notifies and PgChangeListener listens on.
inline constexpr std::string_view kPgNotifyChannel = "mailwarden";

class PgSession final : public SqlSession {
 public:
  // Connects; the url is only handed to libpq, never written anywhere.
  static Result<std::unique_ptr<PgSession>> Connect(std::string_view url);
  ~PgSession() override;

  // After migrations: statements can be prepared now, and again after each reconnect.
  Result<void> SetSchemaReady();

  Result<void> Begin(TxKind kind) override;
  Result<void> Commit() override;
  void Rollback() override;
  Result<Rows> Run(Sql sql, const Params& params) override;
  using SqlSession::Run;
  Result<void> Queue(Sql sql, const Params& params) override;
  Result<std::vector<Rows>> RunAll(std::span<const Statement> statements) override;
  Result<Rows> Exec(std::string_view sql) override;

 private:
  explicit PgSession(std::string url) : url_(std::move(url)) {}
  // Before a call: a connection lost since the last one is made again (and its statements
  // prepared again), and a transaction left open by a failure is ended.
  Result<void> EnsureReady();
  Result<void> Reconnect();
  Result<void> PrepareAll();
  // Sends a prepared statement (pipeline mode) or runs it; what Run and Queue share.
  Result<void> Send(Sql sql, const Params& params);
  Result<PGresult*> ExecPrepared(Sql sql, const Params& params);
  // Sends constant text in pipeline mode (BEGIN, SET LOCAL, COMMIT), its result read later.
  Result<void> SendText(const char* text);
  // Ends the pipeline: a sync, then every result sent is read, in order. The results of the
  // statements from `first_kept` on (counted from the pipeline's first) are kept in `kept` if
  // given. The first failure is returned (the statements after it did not run); the pipeline
  // is left in any case.
  Result<void> Drain(std::vector<PGresult*>* kept = nullptr, int first_kept = 0);

  struct ConnDeleter {
    void operator()(PGconn* c) const { PQfinish(c); }
  };

  std::string url_;
  std::unique_ptr<PGconn, ConnDeleter> conn_;
  std::array<int, kSqlCount> parameter_counts_{};  // what each prepared text names
  std::array<bool, kSqlCount> has_text_{};
  bool prepared_ = false;
  bool schema_ready_ = false;
  bool in_transaction_ = false;
  bool pipeline_ = false;
  int queued_ = 0;  // statements sent in pipeline mode, their results not read yet
};

// PostgreSQL's text of sql (its own, or the shared one), as prepared; "" if it does not use it.
std::string PgSql(Sql sql);

}  // namespace mailwarden
