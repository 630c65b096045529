#include "store/postgres/pg_session.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <optional>
#include <vector>

#include "store/sql/sql_text.h"

namespace mailwarden {
namespace {

// The type oids of the columns read as integers (int8, int2, int4, oid), booleans and bytea.
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kOidOid = 26;
constexpr Oid kNumericOid = 1700;  // SUM of bigints: always whole numbers here
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

// What a failed call means to the caller, from its SQLSTATE: the environment failing (retry
// later: connection lost, serialization failure, deadlock, server shutting down or out of
// resources), bad input (a constraint or a value the server refuses), or a bug.
Error PgError(PGconn* conn, const PGresult* result, std::string_view what) {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const std::string sqlstate = state != nullptr ? state : "";
  ErrorCode code = ErrorCode::kInternal;
  const std::string cls = sqlstate.substr(0, 2);
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK || sqlstate.empty() || cls == "08" ||
      cls == "40" || cls == "53" || cls == "57" || cls == "58" || sqlstate == "55P03") {
    code = ErrorCode::kUnavailable;
  } else if (cls == "23" || cls == "22") {
    code = ErrorCode::kInvalidInput;
  }
  std::string detail = result != nullptr ? PgMessageLine(PQresultErrorMessage(result)) : "";
  if (detail.empty() && conn != nullptr) detail = PgMessageLine(PQerrorMessage(conn));
  if (detail.empty()) detail = "no answer from the server";
  return Error{code, fmt::format("postgresql: {}: {}{}", what, detail,
                                 sqlstate.empty() ? "" : fmt::format(" (SQLSTATE {})", sqlstate))};
}

// A bytea value in the text format, hex ("\x4142..."), decoded.
std::string DecodeBytea(const char* text, std::size_t length) {
  if (length < 2 || text[0] != '\\' || text[1] != 'x') return std::string(text, length);
  std::string bytes;
  bytes.resize((length - 2) / 2);
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return c - 'A' + 10;
  };
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<char>((nibble(text[2 + 2 * i]) << 4) | nibble(text[3 + 2 * i]));
  }
  return bytes;
}

Rows ReadRows(const PGresult* result) {
  const int columns = PQnfields(result);
  const int rows = PQntuples(result);
  std::vector<Rows::Cell> cells;
  cells.reserve(static_cast<std::size_t>(rows) * static_cast<std::size_t>(columns));
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < columns; ++c) {
      if (PQgetisnull(result, r, c) != 0) {
        cells.emplace_back(std::monostate{});
        continue;
      }
      const char* text = PQgetvalue(result, r, c);
      const auto length = static_cast<std::size_t>(PQgetlength(result, r, c));
      switch (PQftype(result, c)) {
        case kInt8Oid:
        case kInt2Oid:
        case kInt4Oid:
        case kOidOid:
        case kNumericOid: {
          std::int64_t value = 0;
          std::from_chars(text, text + length, value);
          cells.emplace_back(value);
          break;
        }
        case kBoolOid:
          cells.emplace_back(std::int64_t{text[0] == 't' ? 1 : 0});
          break;
        case kByteaOid:
          cells.emplace_back(DecodeBytea(text, length));
          break;
        default:
          cells.emplace_back(std::string(text, length));
      }
    }
  }
  std::int64_t changed = 0;
  if (const char* n = PQcmdTuples(const_cast<PGresult*>(result)); n != nullptr) {
    std::from_chars(n, n + std::strlen(n), changed);
  }
  return Rows(columns, std::move(cells), changed);
}

void IgnoreNotice(void* /*arg*/, const char* message) {
  spdlog::debug("postgresql: {}", PgMessageLine(message));
}

std::string StatementName(Sql sql) { return fmt::format("mw{}", static_cast<int>(sql)); }

}  // namespace

std::string PgMessageLine(const char* message) {
  std::string s;
  for (const char* c = message != nullptr ? message : ""; *c != '\0'; ++c) {
    const bool space = *c == '\n' || *c == '\t' || *c == ' ';
    if (space && (s.empty() || s.back() == ' ')) continue;
    s += space ? ' ' : *c;
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

Result<std::unique_ptr<PgSession>> PgSession::Connect(std::string_view url) {
  auto session = std::unique_ptr<PgSession>(new PgSession(std::string(url)));
  MW_RETURN_IF_ERROR(session->Reconnect());
  return session;
}

PgSession::~PgSession() = default;

Result<void> PgSession::SetSchemaReady() {
  schema_ready_ = true;
  return EnsureReady();
}

Result<void> PgSession::EnsureReady() {
  if (conn_ == nullptr || PQstatus(conn_.get()) != CONNECTION_OK) MW_RETURN_IF_ERROR(Reconnect());
  const PGTransactionStatusType tx = PQtransactionStatus(conn_.get());
  if (tx == PQTRANS_UNKNOWN || tx == PQTRANS_ACTIVE) {
    MW_RETURN_IF_ERROR(Reconnect());
  } else if (tx != PQTRANS_IDLE) {
    MW_RETURN_IF_ERROR(Exec("ROLLBACK"));
  }
  if (!prepared_ && schema_ready_) MW_RETURN_IF_ERROR(PrepareAll());
  return {};
}

Result<void> PgSession::Reconnect() {
  prepared_ = false;
  pipeline_ = false;
  queued_ = 0;
  // Defaults first: what the url says wins (expand_dbname), so an operator can change them.
  const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {"10", "mailwardend", url_.c_str(), nullptr};
  conn_.reset(PQconnectdbParams(keys, values, /*expand_dbname=*/1));
  if (conn_ == nullptr) return Fail(ErrorCode::kUnavailable, "postgresql: out of memory");
  if (PQstatus(conn_.get()) != CONNECTION_OK) {
    return Fail(ErrorCode::kUnavailable, fmt::format("postgresql: cannot connect: {}",
                                                     PgMessageLine(PQerrorMessage(conn_.get()))));
  }
  PQsetNoticeProcessor(conn_.get(), IgnoreNotice, nullptr);
  // Times and days are computed by the daemon; the session needs nothing but UTF-8.
  MW_RETURN_IF_ERROR(Exec("SET client_encoding = 'UTF8'"));
  return {};
}

Result<void> PgSession::PrepareAll() {
  for (int i = 0; i < kSqlCount; ++i) {
    const auto sql = static_cast<Sql>(i);
    const std::string text = PgSql(sql);
    if (text.empty()) continue;
    parameter_counts_[static_cast<std::size_t>(i)] = ParameterCount(text);
    has_text_[static_cast<std::size_t>(i)] = true;
    ResultPtr result(PQprepare(conn_.get(), StatementName(sql).c_str(), text.c_str(), 0, nullptr));
    if (!result || PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
      return std::unexpected(PgError(conn_.get(), result.get(), text.substr(0, 60)));
    }
  }
  prepared_ = true;
  return {};
}

Result<void> PgSession::Begin(TxKind kind) {
  MW_RETURN_IF_ERROR(EnsureReady());
  // Sent with the first statement that is read, or with COMMIT: no round trip of its own.
  if (PQenterPipelineMode(conn_.get()) != 1) {
    return std::unexpected(PgError(conn_.get(), nullptr, "pipeline mode"));
  }
  pipeline_ = true;
  queued_ = 0;
  Result<void> sent =
      SendText(kind == TxKind::kRead ? "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"
                                     : "BEGIN ISOLATION LEVEL READ COMMITTED");
  if (sent && kind == TxKind::kNoSync) sent = SendText("SET LOCAL synchronous_commit = off");
  if (!sent) {
    conn_.reset();  // made again by the next call
    pipeline_ = false;
    queued_ = 0;
    return sent;
  }
  in_transaction_ = true;
  return {};
}

// COMMIT, reporting success only if the server says it committed (a COMMIT of a transaction
// that failed answers ROLLBACK, and one after a failed statement of the pipeline did not run).
Result<void> PgSession::Commit() {
  in_transaction_ = false;
  std::vector<PGresult*> last(1, nullptr);
  Result<void> sent = {};
  if (pipeline_) {
    sent = SendText("COMMIT");
    if (sent) sent = Drain(&last, queued_ - 1);
  } else {
    last[0] = PQexec(conn_.get(), "COMMIT");
  }
  ResultPtr result(last[0]);
  if (sent && result && PQresultStatus(result.get()) == PGRES_COMMAND_OK &&
      std::string_view(PQcmdStatus(result.get())) == "COMMIT") {
    return {};
  }
  Error error = sent ? PgError(conn_.get(), result.get(), "COMMIT") : std::move(sent).error();
  if (error.code == ErrorCode::kInternal) error.code = ErrorCode::kUnavailable;
  return std::unexpected(std::move(error));
}

void PgSession::Rollback() {
  in_transaction_ = false;
  if (pipeline_) (void)Drain();
  if (conn_ == nullptr || PQstatus(conn_.get()) != CONNECTION_OK) return;
  if (PQtransactionStatus(conn_.get()) == PQTRANS_IDLE) return;
  ResultPtr result(PQexec(conn_.get(), "ROLLBACK"));
}

namespace {

// An array of texts in PostgreSQL's input syntax: {"a","b"}, each element quoted, with `"` and
// `\` escaped by a backslash. An element ends at its first NUL, which no text value can hold.
std::string TextArrayLiteral(const std::vector<std::string>& texts) {
  std::string out = "{";
  for (std::size_t k = 0; k < texts.size(); ++k) {
    if (k > 0) out += ',';
    out += '"';
    for (const char c : texts[k]) {
      if (c == '\0') break;
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

// A statement's parameters as libpq takes them: integers and arrays as text, strings and
// bytes as binary, by reference.
class BoundParams {
 public:
  Result<void> Bind(Sql sql, const Params& params, int count) {
    owned_.reserve(static_cast<std::size_t>(count));
    const auto& given = params.values();
    for (int i = 0; i < count && i < static_cast<int>(given.size()); ++i) {
      const Params::Value& v = given[static_cast<std::size_t>(i)];
      std::string_view value;
      bool binary = false;
      if (std::holds_alternative<std::monostate>(v)) {
        values_.push_back(nullptr);
        lengths_.push_back(0);
        formats_.push_back(0);
        continue;
      }
      if (const auto* n = std::get_if<std::int64_t>(&v)) {
        value = owned_.emplace_back(std::to_string(*n));
      } else if (const auto* text = std::get_if<std::string>(&v)) {
        value = *text;
        binary = true;
      } else if (const auto* bytes = std::get_if<Params::Bytes>(&v)) {
        value = bytes->data;
        binary = true;
      } else if (const auto* array = std::get_if<std::vector<std::int64_t>>(&v)) {
        std::string text = "{";
        for (std::size_t k = 0; k < array->size(); ++k) {
          if (k > 0) text += ',';
          text += std::to_string((*array)[k]);
        }
        text += '}';
        value = owned_.emplace_back(std::move(text));
      } else if (const auto* texts = std::get_if<std::vector<std::string>>(&v)) {
        value = owned_.emplace_back(TextArrayLiteral(*texts));
      } else {
        return Fail(ErrorCode::kInternal,
                    fmt::format("store: {}: a value PostgreSQL cannot take", SqlName(sql)));
      }
      // A text-format value is read up to its NUL; std::string keeps one after its data.
      values_.push_back(value.data() != nullptr ? value.data() : "");
      lengths_.push_back(static_cast<int>(value.size()));
      formats_.push_back(binary ? 1 : 0);
    }
    return {};
  }
  int size() const { return static_cast<int>(values_.size()); }
  const char* const* values() const { return values_.data(); }
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }

 private:
  std::vector<std::string> owned_;  // reserved: its strings never move
  std::vector<const char*> values_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

// Statements queued before the pipeline is read: bounded, so that neither side's buffers fill
// with what the other has not read yet.
constexpr int kMostQueued = 256;

}  // namespace

Result<PGresult*> PgSession::ExecPrepared(Sql sql, const Params& params) {
  if (!has_text_[static_cast<std::size_t>(sql)]) {
    return Fail(ErrorCode::kInternal,
                fmt::format("store: {} has no PostgreSQL text", SqlName(sql)));
  }
  BoundParams bound;
  MW_RETURN_IF_ERROR(bound.Bind(sql, params, parameter_counts_[static_cast<std::size_t>(sql)]));
  const std::string name = StatementName(sql);
  if (pipeline_) {
    if (PQsendQueryPrepared(conn_.get(), name.c_str(), bound.size(), bound.values(),
                            bound.lengths(), bound.formats(), 0) != 1) {
      return std::unexpected(PgError(conn_.get(), nullptr, SqlName(sql)));
    }
    ++queued_;
    return nullptr;
  }
  return PQexecPrepared(conn_.get(), name.c_str(), bound.size(), bound.values(), bound.lengths(),
                        bound.formats(), 0);
}

Result<void> PgSession::SendText(const char* text) {
  if (PQsendQueryParams(conn_.get(), text, 0, nullptr, nullptr, nullptr, nullptr, 0) != 1) {
    return std::unexpected(PgError(conn_.get(), nullptr, text));
  }
  ++queued_;
  return {};
}

Result<void> PgSession::Drain(std::vector<PGresult*>* kept, int first_kept) {
  std::optional<Error> failed;
  if (PQpipelineSync(conn_.get()) != 1) {
    failed = PgError(conn_.get(), nullptr, "pipeline sync");
  }
  // Each statement's results end with a null; the sync's is PGRES_PIPELINE_SYNC. A connection
  // that is gone answers nulls only.
  int statement = 0;
  bool after_null = false;
  while (!failed || PQstatus(conn_.get()) == CONNECTION_OK) {
    PGresult* r = PQgetResult(conn_.get());
    if (r == nullptr) {
      if (after_null) {
        if (!failed) failed = PgError(conn_.get(), nullptr, "pipeline");
        break;
      }
      after_null = true;
      ++statement;
      continue;
    }
    after_null = false;
    ResultPtr result(r);
    const ExecStatusType status = PQresultStatus(r);
    if (status == PGRES_PIPELINE_SYNC) break;
    if (status == PGRES_FATAL_ERROR && !failed) {
      failed = PgError(conn_.get(), r, statement >= first_kept ? "statement" : "queued statement");
    }
    if (kept != nullptr && statement >= first_kept) {
      const auto at = static_cast<std::size_t>(statement - first_kept);
      if (at < kept->size()) {
        if ((*kept)[at] != nullptr) PQclear((*kept)[at]);
        (*kept)[at] = result.release();
      }
    }
  }
  queued_ = 0;
  pipeline_ = false;
  if (PQexitPipelineMode(conn_.get()) != 1 && !failed) {
    failed = PgError(conn_.get(), nullptr, "pipeline end");
  }
  if (failed) return std::unexpected(std::move(*failed));
  return {};
}

Result<Rows> PgSession::Run(Sql sql, const Params& params) {
  // Outside a transaction a lost connection is made again first. Inside one it is not: the
  // statement fails, and with it the transaction, rather than run outside it.
  if (!in_transaction_) MW_RETURN_IF_ERROR(EnsureReady());
  MW_ASSIGN_OR_RETURN(PGresult * sent, ExecPrepared(sql, params));
  std::vector<PGresult*> last(1, sent);
  if (pipeline_) {
    if (auto drained = Drain(&last, queued_ - 1); !drained) {
      if (last[0] != nullptr) PQclear(last[0]);
      Error error = std::move(drained).error();
      error.message = fmt::format("{} (in {})", error.message, SqlName(sql));
      return std::unexpected(std::move(error));
    }
  }
  ResultPtr result(last[0]);
  const ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return std::unexpected(PgError(conn_.get(), result.get(), SqlName(sql)));
  }
  return ReadRows(result.get());
}

Result<void> PgSession::Queue(Sql sql, const Params& params) {
  if (!in_transaction_) {
    MW_RETURN_IF_ERROR(Run(sql, params));
    return {};
  }
  if (!pipeline_) {
    if (PQenterPipelineMode(conn_.get()) != 1) {
      return std::unexpected(PgError(conn_.get(), nullptr, "pipeline mode"));
    }
    pipeline_ = true;
    queued_ = 0;
  }
  MW_RETURN_IF_ERROR(ExecPrepared(sql, params));
  if (queued_ >= kMostQueued) MW_RETURN_IF_ERROR(Drain());
  return {};
}

Result<std::vector<Rows>> PgSession::RunAll(std::span<const Statement> statements) {
  if (!in_transaction_) return SqlSession::RunAll(statements);
  std::vector<Rows> all;
  all.reserve(statements.size());
  // In pieces, as Queue bounds what is in flight.
  for (std::size_t from = 0; from < statements.size();) {
    if (!pipeline_) {
      if (PQenterPipelineMode(conn_.get()) != 1) {
        return std::unexpected(PgError(conn_.get(), nullptr, "pipeline mode"));
      }
      pipeline_ = true;
      queued_ = 0;
    }
    const int first = queued_;
    const std::size_t to =
        std::min(statements.size(), from + static_cast<std::size_t>(kMostQueued));
    for (std::size_t i = from; i < to; ++i) {
      MW_RETURN_IF_ERROR(ExecPrepared(statements[i].sql, statements[i].params));
    }
    std::vector<PGresult*> kept(to - from, nullptr);
    auto drained = Drain(&kept, first);
    std::vector<ResultPtr> owned;
    for (PGresult* r : kept) owned.emplace_back(r);
    MW_RETURN_IF_ERROR(drained);
    for (std::size_t i = from; i < to; ++i) {
      const PGresult* r = owned[i - from].get();
      const ExecStatusType status = r != nullptr ? PQresultStatus(r) : PGRES_FATAL_ERROR;
      if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        return std::unexpected(PgError(conn_.get(), r, SqlName(statements[i].sql)));
      }
      all.push_back(ReadRows(r));
    }
    from = to;
  }
  return all;
}

Result<Rows> PgSession::Exec(std::string_view sql) {
  // What was queued runs first, in order (constant text is run on its own, not pipelined).
  if (pipeline_) MW_RETURN_IF_ERROR(Drain());
  const std::string text(sql);
  ResultPtr result(PQexec(conn_.get(), text.c_str()));
  const ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    std::string_view what = sql;
    while (!what.empty() && (what.front() == '\n' || what.front() == ' ')) what.remove_prefix(1);
    return std::unexpected(PgError(conn_.get(), result.get(), what.substr(0, 60)));
  }
  return ReadRows(result.get());
}

}  // namespace mailwarden
