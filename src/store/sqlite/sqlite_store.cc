#include "store/sqlite/sqlite_store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "store/sqlite/sqlite_session.h"
#include "store/store_common.h"

namespace mailwarden {

namespace {

// The store holds every account's mail: only the daemon's user may read it. A new file is
// created with mode 0600 before SQLite opens it (its -wal and -shm files take the same mode);
// an existing one that others may read or write is used, with a warning, so that an upgrade
// does not stop a running service, but an operator sees it. An existing file is only
// stat()ed, never opened here: closing any descriptor of a file drops every POSIX lock this
// process holds on it, the locks of SQLite's connections to it included.
Result<void> KeepPrivate(const std::filesystem::path& path) {
  if (path.empty() || path.string().starts_with(":") || path.string().starts_with("file:")) {
    return {};
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return {};  // SQLite's own open says why
    // No connection of this process has the file yet: this descriptor holds no one's lock.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) ::close(fd);
    return {};
  }
  if ((st.st_mode & 077) != 0) {
    spdlog::warn(
        "store: {} may be read or written by other users (mode {:o}): it holds every "
        "account's mail; chmod 600 it",
        path.string(), st.st_mode & 0777);
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::filesystem::path& path) {
  auto in_file = [&path](Error error) {
    error.message = fmt::format("{}: {}", path.string(), error.message);
    return std::unexpected(std::move(error));
  };
  if (auto r = KeepPrivate(path); !r) return in_file(std::move(r).error());
  auto session = SqliteSession::Open(path);
  if (!session) return in_file(std::move(session).error());
  SqliteSession& sqlite = **session;
  auto store = std::unique_ptr<SqliteStore>(new SqliteStore(std::move(*session)));
  const std::string& name = path.string();
  if (!name.empty() && !name.starts_with(":") && !name.starts_with("file:")) {
    store->folder_ = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  }
  // Foreign keys are off while the schema changes: a migration that makes a table anew (SQLite
  // cannot alter a constraint) drops the old one while other tables still name it; they are
  // checked before the migration commits (CheckMigrated). The pragma is a no-op inside a
  // transaction, hence here.
  if (auto r = sqlite.Exec("PRAGMA foreign_keys = OFF"); !r) return in_file(std::move(r).error());
  if (auto r = store->Migrate(); !r) return in_file(std::move(r).error());
  if (auto r = sqlite.Exec("PRAGMA foreign_keys = ON"); !r) return in_file(std::move(r).error());
  {
    // Fixed when the file was made: read once, not at every FreeBytes.
    auto page_size = sqlite.Exec("PRAGMA page_size");
    if (!page_size) return in_file(std::move(page_size).error());
    store->page_size_ = page_size->Int(0, 0);
  }
  if (auto r = sqlite.PrepareStatements(); !r) return in_file(std::move(r).error());
  return store;
}

SqliteStore::SqliteStore(std::unique_ptr<SqliteSession> session)
    : SqlStore(std::move(session)), sqlite_(static_cast<SqliteSession&>(this->session())) {}

std::string_view SqliteStore::MigrationSql(const schema::Migration& migration) const {
  return migration.sqlite;
}

Result<void> SqliteStore::CheckMigrated() {
  MW_ASSIGN_OR_RETURN(const Rows broken, sqlite_.Exec("PRAGMA foreign_key_check"));
  if (!broken.empty()) {
    return Fail(ErrorCode::kInternal,
                fmt::format("the migrated schema breaks a foreign key: table {} row {} names a "
                            "missing row of {}",
                            broken.Text(0, 0), broken.Int(0, 1), broken.Text(0, 2)));
  }
  return {};
}

void SqliteStore::NoteNode(std::string_view node) { lease_node_hint_ = node; }

Result<void> SqliteStore::RemoveAccountRows(std::span<const AccountId> ids) {
  // SQLite looks for the rows a foreign key names with a plain "account_id = ?", which none of
  // the messages table's partial indexes serves: its check would read the whole table (a
  // flood's million messages) on the store thread, for each account removed. So the check is
  // made here, through the indexes that serve it (kAccountRowNamed), with the foreign keys off
  // for these deletes alone. The setting changes only between transactions; SQLite prepares
  // its statements again after each change.
  MW_RETURN_IF_ERROR(sqlite_.Exec("PRAGMA foreign_keys = OFF"));
  Result<void> removed = [&]() -> Result<void> {
    MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(sqlite_, TxKind::kWrite));
    for (const AccountId id : ids) {
      MW_ASSIGN_OR_RETURN(const Rows named, sqlite_.Run(Sql::kAccountRowNamed, Params().Int(id)));
      if (!named.empty()) {
        return Fail(ErrorCode::kInternal,
                    fmt::format("store: account {} is not removed: rows still name it", id));
      }
      MW_RETURN_IF_ERROR(sqlite_.Run(Sql::kRemoveAccountRow, Params().Int(id)));
    }
    return tx.Commit();
  }();
  const Result<Rows> on = sqlite_.Exec("PRAGMA foreign_keys = ON");
  MW_RETURN_IF_ERROR(removed);
  MW_RETURN_IF_ERROR(on);
  return {};
}

Result<std::optional<std::int64_t>> SqliteStore::FreeBytes() {
  if (folder_.empty()) return std::nullopt;  // in memory
  struct statvfs fs {};
  if (::statvfs(folder_.c_str(), &fs) != 0) {
    return Fail(ErrorCode::kUnavailable,
                fmt::format("store: statvfs {}: {}", folder_.string(), std::strerror(errno)));
  }
  // What a purge or a delete frees stays inside the file as free pages, for later rows: it is
  // room as much as the file system's is.
  MW_ASSIGN_OR_RETURN(const Rows pages, sqlite_.Exec("PRAGMA freelist_count"));
  const auto on_disk =
      static_cast<std::int64_t>(fs.f_bavail) * static_cast<std::int64_t>(fs.f_frsize);
  return std::optional<std::int64_t>(on_disk + pages.Int(0, 0) * page_size_);
}

Result<AccountId> SqliteStore::UpsertAccountRow(const AccountSpec& spec, std::int64_t now_ms) {
  MW_ASSIGN_OR_RETURN(const Rows rows,
                      sqlite_.Run(Sql::kUpsertAccount, Params()
                                                           .Text(spec.name)
                                                           .Text(spec.report_to)
                                                           .Text(spec.language)
                                                           .OptionalInt(spec.max_per_day)
                                                           .OptionalInt(spec.max_per_hour)
                                                           .Int(now_ms)));
  if (rows.empty()) return Fail(ErrorCode::kInternal, "store: upsert of an account returned no id");
  return rows.Int(0, 0);
}

Result<MessageId> SqliteStore::InsertMessageRow(const NewMessage& m,
                                                std::optional<TimePoint> lease_until,
                                                std::string_view lease_node) {
  const std::int64_t received = ToUnixMillis(m.received_at);
  // A large body is written into its pages after the row is made, not bound: SQLite would
  // first copy it whole into the row's record, holding a large message twice.
  const bool body_in_place = static_cast<std::int64_t>(m.body.size()) >= kLargeBodyBytes;
  Params params;
  params.Int(m.account)
      .Int(received)
      .Int(m.uid)
      .Int(static_cast<std::int64_t>(m.body.size()))
      .Text(m.sender)
      .Text(m.subject)
      .Text(m.script);
  if (body_in_place) {
    params.ZeroBytesOf(m.body.size());
  } else {
    params.BytesRef(m.body);
  }
  const std::string_view node = lease_until ? lease_node : std::string_view(lease_node_hint_);
  if (node.empty()) {
    params.OptionalInt(std::nullopt);  // NULL
  } else {
    params.Text(node);
  }
  if (lease_until) {
    params.Int(schema::kMessageDelivering).Int(1).Int(ToUnixMillis(*lease_until));
  } else {
    params.Int(schema::kMessageQueued).Int(0).Int(received);
  }
  params.Text(m.message_id);
  MW_RETURN_IF_ERROR(sqlite_.Run(Sql::kInsertMessage, params));
  const MessageId id = sqlite_.LastInsertId();
  if (body_in_place)
    MW_RETURN_IF_ERROR(sqlite_.WriteBlob(schema::kMessagesTable, "body", id, m.body));
  return id;
}

Result<std::vector<ClaimedMessage>> SqliteStore::LeaseMessages(std::span<const LeaseItem> items,
                                                               const ClaimRequest& request) {
  std::vector<ClaimedMessage> claimed;
  claimed.reserve(items.size());
  for (const LeaseItem& item : items) {
    ClaimedMessage& message = claimed.emplace_back();
    message.id = item.id;
    const bool body_in_place = item.size >= kLargeBodyBytes;
    {
      MW_ASSIGN_OR_RETURN(
          Rows rows, sqlite_.Run(Sql::kLeaseMessage, Params()
                                                         .Int(item.id)
                                                         .Int(ToUnixMillis(request.lease_until))
                                                         .Text(request.node)
                                                         .Int(body_in_place ? 1 : 0)));
      if (rows.empty()) {
        return Fail(ErrorCode::kInternal, fmt::format("store: message {} vanished", item.id));
      }
      message.sender = rows.Text(0, 0);
      message.subject = rows.Text(0, 1);
      message.attempts = static_cast<int>(rows.Int(0, 2)) - 1;  // the count includes this one
      message.received_at = FromUnixMillis(rows.Int(0, 3));
      if (!body_in_place) message.body = rows.TakeText(0, 4);
      message.script = rows.Text(0, 5);
    }
    if (body_in_place) {
      MW_ASSIGN_OR_RETURN(message.body, sqlite_.ReadBlob(schema::kMessagesTable, "body", item.id));
    }
    MW_ASSIGN_OR_RETURN(const Rows recipients,
                        sqlite_.Run(Sql::kSelectPendingRecipients, Params().Int(item.id)));
    for (int i = 0; i < recipients.size(); ++i) {
      message.recipients.push_back(
          {.index = static_cast<int>(recipients.Int(i, 0)), .address = recipients.Text(i, 1)});
    }
  }
  return claimed;
}

Result<std::vector<SqliteStore::QueryPlan>> SqliteStore::ExplainAllStatements() {
  std::vector<QueryPlan> plans;
  for (int i = 0; i < kSqlCount; ++i) {
    const auto sql = static_cast<Sql>(i);
    if (SqliteSql(sql).empty()) continue;  // PostgreSQL's only
    MW_ASSIGN_OR_RETURN(auto lines, sqlite_.ExplainQueryPlan(sql));
    plans.push_back({std::string(SqlName(sql)), std::move(lines)});
  }
  return plans;
}

}  // namespace mailwarden
