#include "store/sqlite/sqlite_session.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <map>

#include "store/sqlite/sqlite_wal_buffer.h"

namespace mailwarden {
namespace {

// Another connection (a second daemon during a restart, the operator's sqlite3 shell, a WAL
// checkpoint) may hold the write lock for a moment; waiting this long for it beats failing a
// submission. Past it the caller gets kUnavailable and the script "try again later".
constexpr int kBusyTimeoutMs = 5000;

// Creates the database file readable by its owner only, if it does not exist: it holds the
// customers' mail. SQLite gives the -wal and -shm files it creates the mode of this file.
// No fsync of the folder is needed here: the first transaction creates the journal or WAL in
// the same folder, and SQLite fsyncs the folder then, which makes this entry durable too.
//
// An existing file is not opened at all. The daemon opens its reader connections after the
// writer, and closing any descriptor of the file drops every POSIX lock the process holds on
// it, SQLite's included: another program's connection (the sqlite3 shell, a backup) would then
// believe itself the last one when it closes, checkpoint, and delete the WAL the daemon still
// appends to, and every commit after that would be lost at the daemon's next start.
Result<void> CreatePrivateFile(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return {};
    return Fail(ErrorCode::kUnavailable,
                fmt::format("{}: cannot create: {}", path.string(), std::strerror(errno)));
  }
  ::close(fd);  // new: no connection of this process has it open yet
  return {};
}

std::string_view StatementText(sqlite3_stmt* stmt) {
  const char* text = sqlite3_sql(stmt);
  return std::string_view(text != nullptr ? text : "").substr(0, 72);
}

}  // namespace

Error SqliteError(sqlite3* db, int rc, std::string_view what) {
  ErrorCode code = ErrorCode::kInternal;
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_NOMEM:
    case SQLITE_PERM:
    case SQLITE_NOLFS:
      code = ErrorCode::kUnavailable;
      break;
    case SQLITE_FULL:  // the file system (or the database's size limit) has no room left
      code = ErrorCode::kNoRoom;
      break;
    case SQLITE_CONSTRAINT:
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
      code = ErrorCode::kInvalidInput;
      break;
    default:
      break;
  }
  const char* detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return Error{code, fmt::format("sqlite: {}: {} (code {})", what, detail, rc)};
}

Result<std::unique_ptr<SqliteSession>> SqliteSession::Open(const std::filesystem::path& path) {
  MW_RETURN_IF_ERROR(CreatePrivateFile(path));
  // Once per process, before SQLite initializes: without the statistics of its memory use,
  // which it would otherwise keep under a global mutex at every allocation. Nothing here
  // reads them.
  static const int kMemStatusOff = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)kMemStatusOff;

  sqlite3* handle = nullptr;
  // NOMUTEX: a Store is used by one thread at a time (store.h), so SQLite's own locking of
  // the connection would only cost. EXRESCODE: extended error codes, for clearer messages.
  // WalBufferVfs: a transaction's WAL frames go to the file in one write (sqlite_wal_buffer.h).
  const int rc = sqlite3_open_v2(
      path.c_str(), &handle,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
      WalBufferVfs());
  auto session = std::unique_ptr<SqliteSession>(new SqliteSession(handle));  // closes handle
  if (rc != SQLITE_OK) return std::unexpected(SqliteError(handle, rc, "open"));
  sqlite3_busy_timeout(handle, kBusyTimeoutMs);
  MW_RETURN_IF_ERROR(session->Pragmas());
  for (auto [stmt, text] :
       {std::pair{&session->begin_read_, "BEGIN DEFERRED"},
        std::pair{&session->begin_write_, "BEGIN IMMEDIATE"},
        std::pair{&session->commit_, "COMMIT"}, std::pair{&session->rollback_, "ROLLBACK"}}) {
    const int prc = sqlite3_prepare_v3(handle, text, -1, SQLITE_PREPARE_PERSISTENT, stmt, nullptr);
    if (prc != SQLITE_OK) return std::unexpected(SqliteError(handle, prc, text));
  }
  return session;
}

Result<void> SqliteSession::Pragmas() {
  // WAL: readers (API lists, reports) never block the writer nor it them, and a commit is one
  // append to the log plus one fsync, which is what makes group commit cheap.
  MW_ASSIGN_OR_RETURN(const Rows mode, Exec("PRAGMA journal_mode = WAL"));
  if (mode.empty() || mode.Text(0, 0) != "wal") {
    return Fail(ErrorCode::kUnavailable,
                fmt::format("cannot use WAL mode (journal_mode is '{}'): the file must be on a "
                            "local file system",
                            mode.empty() ? "" : mode.Text(0, 0)));
  }
  // NORMAL: COMMIT writes the WAL without waiting for the disk. Durable commits (every one
  // that stores what a script or a user was told is done, DESIGN.md promise 1) then fsync the
  // WAL themselves (Commit), as FULL would inside COMMIT; delivery's progress does not wait
  // for the disk (kNoSync).
  MW_RETURN_IF_ERROR(Exec("PRAGMA synchronous = NORMAL"));
  // FAST, not Debian's default ON: a dropped body would otherwise be zero-filled page by page,
  // and every one of those pages written to the WAL and again at checkpoint, doubling the
  // writes of large mail. FAST still clears what is deleted from pages written anyway; the
  // file is private to the daemon's user (CreatePrivateFile), as a queue folder would be.
  MW_RETURN_IF_ERROR(Exec("PRAGMA secure_delete = FAST"));
  // 16 MiB of pages per connection rather than SQLite's 2 MiB (pages are taken as they are
  // read): the rows of a thousand accounts sending at once, spread over a table of 100,000,
  // and their day's counters stay in memory instead of being read again from the file for
  // every batch of outcomes.
  MW_RETURN_IF_ERROR(Exec("PRAGMA cache_size = -16384"));
  // Off by default, per connection: recipients and uids must point at existing rows.
  MW_RETURN_IF_ERROR(Exec("PRAGMA foreign_keys = ON"));
  return {};
}

SqliteSession::~SqliteSession() {
  for (sqlite3_stmt* stmt : statements_) sqlite3_finalize(stmt);
  for (sqlite3_stmt* stmt : {begin_read_, begin_write_, commit_, rollback_}) {
    sqlite3_finalize(stmt);
  }
  // The last connection to close checkpoints the WAL into the database file.
  sqlite3_close_v2(db_);
}

Result<void> SqliteSession::PrepareStatements() {
  for (int i = 0; i < kSqlCount; ++i) {
    const std::string text = SqliteSql(static_cast<Sql>(i));
    if (text.empty()) continue;
    const int rc = sqlite3_prepare_v3(db_, text.c_str(), static_cast<int>(text.size()) + 1,
                                      SQLITE_PREPARE_PERSISTENT, &statements_[i], nullptr);
    if (rc != SQLITE_OK) return std::unexpected(SqliteError(db_, rc, text));
  }
  return {};
}

Result<void> SqliteSession::Step(sqlite3_stmt* stmt, std::string_view what) {
  const int rc = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return std::unexpected(SqliteError(db_, rc, what));
  return {};
}

Result<void> SqliteSession::Begin(TxKind kind) {
  if (kind != TxKind::kRead && !sync_failure_.empty()) {
    return Fail(ErrorCode::kUnavailable,
                "sqlite: the store commits nothing more since an fsync failed (" + sync_failure_ +
                    "); it must be reopened (restart the daemon) to be checked");
  }
  MW_RETURN_IF_ERROR(Step(kind == TxKind::kRead ? begin_read_ : begin_write_, "BEGIN"));
  in_transaction_ = true;
  kind_ = kind;
  return {};
}

// Makes the transaction durable (kWrite): it returns after the WAL is fsync'd. If COMMIT fails
// nothing of it is kept. If the fsync fails, it is kept but not known to be on disk, and the
// caller must not say it is: a script told to try again may then send its mail twice, which
// loses nothing.
Result<void> SqliteSession::Commit() {
  in_transaction_ = false;
  if (auto r = Step(commit_, "COMMIT"); !r) {
    // COMMIT syncs by itself when it checkpoints or restarts the WAL.
    const int code = sqlite3_extended_errcode(db_);
    if (code == SQLITE_IOERR_FSYNC || code == SQLITE_IOERR_DIR_FSYNC) SyncFailed(r.error());
    Rollback();
    return r;
  }
  if (kind_ == TxKind::kWrite) MW_RETURN_IF_ERROR(SyncWal());
  return {};
}

void SqliteSession::Rollback() {
  in_transaction_ = false;
  // Fails only if SQLite has already rolled back by itself (after SQLITE_FULL, SQLITE_IOERR...)
  // or there is no transaction, which is the same outcome.
  if (sqlite3_get_autocommit(db_) == 0) (void)Step(rollback_, "ROLLBACK");
}

// Cheaper than switching synchronous between FULL and NORMAL per transaction, which SQLite
// would parse as SQL each time.
Result<void> SqliteSession::SyncWal() {
  sqlite3_file* wal = nullptr;
  int rc = sqlite3_file_control(db_, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal);
  if (rc == SQLITE_OK && (wal == nullptr || wal->pMethods == nullptr)) rc = SQLITE_IOERR_FSYNC;
  if (rc == SQLITE_OK) rc = wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL);
  if (rc != SQLITE_OK) {
    // Not the connection's last error: this call went around it.
    Error error = SqliteError(nullptr, rc, "fsync of the WAL");
    SyncFailed(error);
    return std::unexpected(std::move(error));
  }
  return {};
}

void SqliteSession::SyncFailed(const Error& error) {
  if (!sync_failure_.empty()) return;
  sync_failure_ = error.message;
  spdlog::critical(
      "store: an fsync failed ({}); nothing more is committed, mail is refused with "
      "\"try again later\" until the daemon is restarted and the store reopened",
      error.message);
}

namespace {

// Binds params to stmt, as many as its text names; reports the first failure.
int Bind(sqlite3_stmt* stmt, const Params& params) {
  const int count = sqlite3_bind_parameter_count(stmt);
  const auto& values = params.values();
  for (int i = 0; i < count && i < static_cast<int>(values.size()); ++i) {
    const int index = i + 1;
    const Params::Value& v = values[static_cast<std::size_t>(i)];
    int rc = SQLITE_OK;
    // Static: every value outlives the statement's run (Run steps it to its end before it
    // returns), so SQLite copies nothing.
    if (std::holds_alternative<std::monostate>(v)) {
      rc = sqlite3_bind_null(stmt, index);
    } else if (const auto* n = std::get_if<std::int64_t>(&v)) {
      rc = sqlite3_bind_int64(stmt, index, *n);
    } else if (const auto* text = std::get_if<std::string>(&v)) {
      rc = sqlite3_bind_text64(stmt, index, text->data(), text->size(), SQLITE_STATIC, SQLITE_UTF8);
    } else if (const auto* bytes = std::get_if<Params::Bytes>(&v)) {
      rc = sqlite3_bind_blob64(stmt, index, bytes->data.data(), bytes->data.size(), SQLITE_STATIC);
    } else if (const auto* zero = std::get_if<Params::ZeroBytes>(&v)) {
      rc = sqlite3_bind_zeroblob64(stmt, index, zero->size);
    } else {
      rc = SQLITE_MISMATCH;  // an array: SQLite has none
    }
    if (rc != SQLITE_OK) return rc;
  }
  return SQLITE_OK;
}

Rows::Cell ReadCell(sqlite3_stmt* stmt, int column) {
  switch (sqlite3_column_type(stmt, column)) {
    case SQLITE_NULL:
      return std::monostate{};
    case SQLITE_INTEGER:
    case SQLITE_FLOAT:
      return std::int64_t{sqlite3_column_int64(stmt, column)};
    default: {
      // Pointer first, then size: the order SQLite documents for a stable result.
      const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt, column));
      const int size = sqlite3_column_bytes(stmt, column);
      return data == nullptr ? std::string() : std::string(data, static_cast<std::size_t>(size));
    }
  }
}

}  // namespace

Result<Rows> SqliteSession::Run(Sql sql, const Params& params) {
  sqlite3_stmt* stmt = statements_[static_cast<std::size_t>(sql)];
  if (stmt == nullptr) {
    return Fail(ErrorCode::kInternal, fmt::format("store: {} has no SQLite text", SqlName(sql)));
  }
  // Reset on every return: an unreset statement would pin a WAL snapshot and stall
  // checkpoints.
  struct Reset {
    sqlite3_stmt* stmt;
    ~Reset() {
      sqlite3_reset(stmt);
      sqlite3_clear_bindings(stmt);
    }
  } reset{stmt};
  if (const int rc = Bind(stmt, params); rc != SQLITE_OK) {
    return std::unexpected(SqliteError(db_, rc, StatementText(stmt)));
  }
  const int columns = sqlite3_column_count(stmt);
  std::vector<Rows::Cell> cells;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    for (int c = 0; c < columns; ++c) cells.push_back(ReadCell(stmt, c));
  }
  if (rc != SQLITE_DONE) return std::unexpected(SqliteError(db_, rc, StatementText(stmt)));
  const std::int64_t changed = sqlite3_stmt_readonly(stmt) ? 0 : sqlite3_changes64(db_);
  return Rows(columns, std::move(cells), changed);
}

Result<Rows> SqliteSession::Exec(std::string_view sql) {
  // Possibly several statements (migrations): each run to its end; the last one's rows are
  // returned.
  Rows rows;
  const char* next = sql.data();
  const char* end = sql.data() + sql.size();
  while (next < end) {
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v2(db_, next, static_cast<int>(end - next), &stmt, &tail);
    if (rc != SQLITE_OK) {
      return std::unexpected(
          SqliteError(db_, rc, std::string_view(next, end - next).substr(0, 72)));
    }
    next = tail;
    if (stmt == nullptr) continue;  // white space or a comment
    const int columns = sqlite3_column_count(stmt);
    std::vector<Rows::Cell> cells;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      for (int c = 0; c < columns; ++c) cells.push_back(ReadCell(stmt, c));
    }
    Error error = SqliteError(db_, rc, StatementText(stmt));
    const std::int64_t changed = sqlite3_stmt_readonly(stmt) ? 0 : sqlite3_changes64(db_);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) return std::unexpected(std::move(error));
    rows = Rows(columns, std::move(cells), changed);
  }
  return rows;
}

Result<std::string> SqliteSession::ReadBlob(std::string_view table, std::string_view column,
                                            std::int64_t rowid) {
  sqlite3_blob* blob = nullptr;
  std::string bytes;
  int rc = sqlite3_blob_open(db_, "main", std::string(table).c_str(), std::string(column).c_str(),
                             rowid, /*write=*/0, &blob);
  if (rc == SQLITE_OK) {
    bytes.resize(static_cast<std::size_t>(sqlite3_blob_bytes(blob)));
    rc = sqlite3_blob_read(blob, bytes.data(), static_cast<int>(bytes.size()), 0);
  }
  const int closed = sqlite3_blob_close(blob);  // a null handle is fine
  if (rc == SQLITE_OK) rc = closed;
  if (rc != SQLITE_OK) return std::unexpected(SqliteError(db_, rc, "reading a message body"));
  return bytes;
}

Result<void> SqliteSession::WriteBlob(std::string_view table, std::string_view column,
                                      std::int64_t rowid, std::string_view bytes) {
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return Fail(ErrorCode::kInvalidInput, "a message body over 2 GB cannot be stored");
  }
  sqlite3_blob* blob = nullptr;
  int rc = sqlite3_blob_open(db_, "main", std::string(table).c_str(), std::string(column).c_str(),
                             rowid, /*write=*/1, &blob);
  if (rc == SQLITE_OK) {
    rc = sqlite3_blob_write(blob, bytes.data(), static_cast<int>(bytes.size()), 0);
  }
  const int closed = sqlite3_blob_close(blob);  // a null handle is fine
  if (rc == SQLITE_OK) rc = closed;
  if (rc != SQLITE_OK) return std::unexpected(SqliteError(db_, rc, "writing a message body"));
  return {};
}

Result<std::vector<std::string>> SqliteSession::ExplainQueryPlan(Sql sql) {
  const std::string text = "EXPLAIN QUERY PLAN " + SqliteSql(sql);
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, text.c_str(), static_cast<int>(text.size()) + 1, &stmt, nullptr);
  if (rc != SQLITE_OK) return std::unexpected(SqliteError(db_, rc, text));
  std::vector<std::string> lines;
  std::map<int, int> depth;  // line id -> its depth
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    const int id = sqlite3_column_int(stmt, 0);
    const int parent = sqlite3_column_int(stmt, 1);
    const auto* detail = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3));
    const auto up = depth.find(parent);
    depth[id] = up == depth.end() ? 0 : up->second + 1;
    lines.push_back(std::string(2 * static_cast<std::size_t>(depth[id]), ' ') +
                    (detail != nullptr ? detail : ""));
  }
  Error error = SqliteError(db_, rc, text);
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) return std::unexpected(std::move(error));
  return lines;
}

}  // namespace mailwarden
