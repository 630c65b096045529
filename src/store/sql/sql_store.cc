#include "store/sql/sql_store.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <limits>

#include "core/local_day.h"
#include "core/text.h"
#include "store/sql/row_readers.h"
#include "store/store_common.h"

namespace mailwarden {

SqlStore::SqlStore(std::unique_ptr<SqlSession> session) : session_(std::move(session)) {}
SqlStore::~SqlStore() = default;

Result<void> SqlStore::LockAccountsOfMessages(std::span<const MessageId> /*ids*/) { return {}; }

Result<void> SqlStore::DeleteUnfinished(AccountId account, std::span<const MessageId> ids) {
  for (const MessageId id : ids) {
    // Recipients and any released mark go with it (ON DELETE CASCADE).
    MW_RETURN_IF_ERROR(session_->Run(Sql::kDeleteMessage, Params().Int(account).Int(id)));
  }
  return {};
}

namespace {

// The statement `sql` once for each item, with the parameters params_of gives it, sent
// together (RunAll).
template <class Items, class ParamsOf>
Result<std::vector<Rows>> RunEach(SqlSession& session, Sql sql, const Items& items,
                                  ParamsOf params_of) {
  std::vector<SqlSession::Statement> statements;
  statements.reserve(items.size());
  for (const auto& item : items) statements.push_back({sql, params_of(item)});
  return session.RunAll(statements);
}

}  // namespace

Result<std::vector<Rows>> SqlStore::LockMessageStates(std::span<const MessageId> ids) {
  return RunEach(*session_, Sql::kLockMessageState, ids,
                 [](MessageId id) { return Params().Int(id); });
}

Result<std::vector<Rows>> SqlStore::UpdateRecipients(std::span<const RecipientUpdate> updates,
                                                     std::int64_t now_ms) {
  return RunEach(*session_, Sql::kUpdateRecipient, updates, [&](const RecipientUpdate& u) {
    return Params()
        .Int(u.message.account)
        .Int(u.message.id)
        .Int(u.index)
        .Int(u.status)
        .Text(u.reply)
        .Int(now_ms)
        .Text(u.category);
  });
}

Result<std::vector<Rows>> SqlStore::ReadRecipientStates(std::span<const MessageKey> messages) {
  return RunEach(*session_, Sql::kRecipientStates, messages,
                 [](const MessageKey& m) { return Params().Int(m.account).Int(m.id); });
}

Result<void> SqlStore::FinishMessages(std::span<const MessageKey> messages, std::int64_t now_ms) {
  for (const MessageKey& m : messages) {
    MW_RETURN_IF_ERROR(
        session_->Queue(Sql::kFinishMessage, Params().Int(m.account).Int(m.id).Int(now_ms)));
    MW_RETURN_IF_ERROR(SetOutcome(m.account, m.id));
  }
  return {};
}

Result<std::vector<Rows>> SqlStore::ForgetReleased(std::span<const MessageKey> messages) {
  return RunEach(*session_, Sql::kForgetReleased, messages,
                 [](const MessageKey& m) { return Params().Int(m.account).Int(m.id); });
}

Result<void> SqlStore::WriteMessageEvents(std::span<const EventRow> events, std::int64_t at_ms) {
  for (const EventRow& e : events) {
    MW_RETURN_IF_ERROR(
        WriteMessageEvent(e.message.account, e.message.id, at_ms, e.kind, e.recipient, e.detail));
  }
  return {};
}

Result<std::vector<Rows>> SqlStore::SelectSuppressions(
    std::span<const std::pair<AccountId, std::string>> keys, std::int64_t now_ms) {
  return RunEach(*session_, Sql::kSelectSuppression, keys,
                 [&](const std::pair<AccountId, std::string>& k) {
                   return Params().Int(k.first).Text(k.second).Int(now_ms);
                 });
}

Result<void> SqlStore::Notify(std::string_view /*kind*/, AccountId /*account*/) { return {}; }

void SqlStore::NoteNode(std::string_view /*node*/) {}

Result<void> SqlStore::LockMigrations() { return {}; }

Result<std::optional<std::int64_t>> SqlStore::FreeBytes() { return std::nullopt; }

Result<void> SqlStore::Migrate() {
  // One write transaction: DDL is transactional in both engines, so a migration failing half
  // way leaves the schema as it was; and the lock (SQLite's write lock at BEGIN, PostgreSQL's
  // advisory lock) makes a second store starting at once wait, then read the version the
  // first one wrote.
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(*session_, TxKind::kWrite));
  MW_RETURN_IF_ERROR(LockMigrations());
  MW_RETURN_IF_ERROR(session_->Exec(schema::kCreateSchemaVersionTable));
  MW_ASSIGN_OR_RETURN(const Rows rows,
                      session_->Exec(fmt::format("SELECT COALESCE(MAX(version), 0) FROM {}",
                                                 schema::kSchemaVersionTable)));
  const std::int64_t version = rows.empty() ? 0 : rows.Int(0, 0);
  if (version > schema::kSchemaVersion) {
    return Fail(ErrorCode::kUnavailable,
                fmt::format("the database's schema version is {}, newer than this mailwarden "
                            "knows ({}): run the mailwarden that wrote it, or a newer one",
                            version, schema::kSchemaVersion));
  }
  const std::int64_t now = ToUnixMillis(std::chrono::system_clock::now());
  for (const schema::Migration& migration : schema::kMigrations) {
    if (migration.version <= version) continue;
    MW_RETURN_IF_ERROR(session_->Exec(MigrationSql(migration)));
    // Constant numbers of this program, not values from outside.
    MW_RETURN_IF_ERROR(
        session_->Exec(fmt::format("INSERT INTO {} (version, applied_ms) VALUES "
                                   "({}, {})",
                                   schema::kSchemaVersionTable, migration.version, now)));
  }
  if (version < schema::kSchemaVersion) MW_RETURN_IF_ERROR(CheckMigrated());
  MW_RETURN_IF_ERROR(tx.Commit());
  if (version < schema::kSchemaVersion) {
    spdlog::info("store: schema migrated from version {} to {}", version, schema::kSchemaVersion);
  }
  return {};
}

Result<std::optional<Account>> SqlStore::ReadOneAccount(AccountId id) {
  MW_ASSIGN_OR_RETURN(const Rows rows, session_->Run(Sql::kSelectAccountById, Params().Int(id)));
  if (rows.empty()) return std::optional<Account>();
  MW_ASSIGN_OR_RETURN(Account account, ReadAccount(rows, 0));
  MW_ASSIGN_OR_RETURN(const Rows uids,
                      session_->Run(Sql::kSelectAccountUids, Params().Int(account.id)));
  for (int i = 0; i < uids.size(); ++i) account.uids.push_back(static_cast<Uid>(uids.Int(i, 0)));
  return std::optional<Account>(std::move(account));
}

Result<AccountState> SqlStore::ReadAccountState(AccountId account, bool lock) {
  MW_ASSIGN_OR_RETURN(const Rows rows,
                      session_->Run(lock ? Sql::kLockAccountState : Sql::kSelectAccountState,
                                    Params().Int(account)));
  if (rows.empty()) {
    return Fail(ErrorCode::kNotFound, fmt::format("no account with id {}", account));
  }
  const auto state = ParseAccountState(rows.Text(0, 0));
  if (!state) return Fail(ErrorCode::kInternal, fmt::format("store: account {} state", account));
  return *state;
}

Result<std::vector<StoredMessage>> SqlStore::ReadMessagePage(Sql page, AccountId account, int limit,
                                                             MessageId before_id) {
  std::vector<StoredMessage> messages;
  if (limit <= 0) return messages;
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(*session_, TxKind::kRead));
  std::vector<MessageId> ids;
  {
    MW_ASSIGN_OR_RETURN(
        const Rows rows,
        session_->Run(page,
                      Params()
                          .Int(account)
                          .Int(before_id > 0 ? before_id : std::numeric_limits<std::int64_t>::max())
                          .Int(limit)));
    for (int i = 0; i < rows.size(); ++i) ids.push_back(rows.Int(i, 0));
  }
  for (const MessageId id : ids) {
    MW_ASSIGN_OR_RETURN(auto message, ReadMessage(id));
    if (message) messages.push_back(std::move(*message));
  }
  MW_RETURN_IF_ERROR(tx.Commit());
  return messages;
}

Result<std::optional<StoredMessage>> SqlStore::ReadMessage(MessageId id) {
  StoredMessage message;
  message.id = id;
  {
    MW_ASSIGN_OR_RETURN(const Rows rows, session_->Run(Sql::kSelectMessage, Params().Int(id)));
    if (rows.empty()) return std::optional<StoredMessage>();
    message.account = rows.Int(0, 0);
    message.sender = rows.Text(0, 1);
    message.subject = rows.Text(0, 2);
    message.script = rows.Text(0, 3);
    message.uid = static_cast<Uid>(rows.Int(0, 4));
    message.size = rows.Int(0, 5);
    MW_ASSIGN_OR_RETURN(message.status, MessageStatusFromCode(rows.Int(0, 6)));
    message.attempts = static_cast<int>(rows.Int(0, 7));
    message.received_at = FromUnixMillis(rows.Int(0, 8));
    message.next_attempt = FromUnixMillis(rows.Int(0, 9));
  }
  {
    MW_ASSIGN_OR_RETURN(const Rows held, session_->Run(Sql::kIsHeldForSender,
                                                       Params().Int(message.account).Int(id)));
    if (!held.empty()) message.held_reason = held.Text(0, 0);
  }
  MW_RETURN_IF_ERROR(ReadRecipients(message, message.account, id));
  MW_RETURN_IF_ERROR(ReadScanResult(message));
  return std::optional<StoredMessage>(std::move(message));
}

Result<void> SqlStore::ReadRecipients(StoredMessage& message, AccountId account, MessageId id) {
  MW_ASSIGN_OR_RETURN(const Rows rows,
                      session_->Run(Sql::kSelectRecipients, Params().Int(account).Int(id)));
  for (int i = 0; i < rows.size(); ++i) {
    StoredRecipient r;
    r.index = static_cast<int>(rows.Int(i, 0));
    r.address = rows.Text(i, 1);
    MW_ASSIGN_OR_RETURN(r.status, RecipientStatusFromCode(rows.Int(i, 2)));
    r.reply = rows.Text(i, 3);
    r.updated_at = FromUnixMillis(rows.Int(i, 4));
    r.category = rows.Text(i, 5);
    r.note = rows.Text(i, 6);
    message.recipients.push_back(std::move(r));
  }
  return {};
}

Result<std::vector<MessageId>> SqlStore::SelectHeld(AccountId account,
                                                    const MessageSelector& selector,
                                                    bool unreleased_only, bool for_sender_only) {
  std::vector<MessageId> ids;
  if (selector.limit <= 0) return ids;
  if (!selector.ids.empty()) {
    // Duplicates are dropped before the query: each id is looked up (and locked) once, and
    // the answer is ascending whatever order the caller gave.
    std::vector<MessageId> wanted = selector.ids;
    std::sort(wanted.begin(), wanted.end());
    wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
    for (const MessageId id : wanted) {
      if (static_cast<std::int64_t>(ids.size()) >= selector.limit) break;
      MW_ASSIGN_OR_RETURN(const Rows rows,
                          session_->Run(Sql::kSelectHeldById, Params().Int(id).Int(account)));
      if (rows.empty()) continue;
      if (unreleased_only) {
        MW_ASSIGN_OR_RETURN(const Rows released,
                            session_->Run(Sql::kIsReleased, Params().Int(account).Int(id)));
        if (!released.empty() && released.Bool(0, 0)) continue;
      }
      if (for_sender_only) {
        MW_ASSIGN_OR_RETURN(const Rows held,
                            session_->Run(Sql::kIsHeldForSender, Params().Int(account).Int(id)));
        if (held.empty()) continue;
      }
      ids.push_back(id);
    }
    return ids;
  }
  if (selector.from.empty() && selector.to.empty() && selector.subject.empty()) return ids;
  MW_ASSIGN_OR_RETURN(const Rows rows, session_->Run(Sql::kSelectHeldByMatch,
                                                     Params()
                                                         .Int(account)
                                                         .Text(ToAsciiLower(selector.from))
                                                         .Text(ToAsciiLower(selector.to))
                                                         .Text(ToAsciiLower(selector.subject))
                                                         .Int(selector.limit)
                                                         .Int(unreleased_only ? 1 : 0)
                                                         .Int(for_sender_only ? 1 : 0)));
  for (int i = 0; i < rows.size(); ++i) ids.push_back(rows.Int(i, 0));
  return ids;
}

Result<MessageId> SqlStore::InsertMessageWithRecipients(const NewMessage& m,
                                                        std::optional<TimePoint> lease_until,
                                                        std::string_view lease_node) {
  MW_ASSIGN_OR_RETURN(const MessageId id, InsertMessageRow(m, lease_until, lease_node));
  if (!m.held_reason.empty()) {
    // Held for itself: never due until released, whatever its account's state.
    MW_RETURN_IF_ERROR(session_->Queue(Sql::kInsertHeldForSender,
                                       Params().Int(m.account).Int(id).Text(m.held_reason)));
    MW_RETURN_IF_ERROR(session_->Queue(
        Sql::kSetNeverDue, Params().Int(m.account).Int(id).Int(schema::kHeldNeverDueMs)));
    MW_RETURN_IF_ERROR(
        session_->Queue(Sql::kBumpSenderChecks,
                        Params().Int(m.account).Int(LocalDayNumber(m.received_at)).Int(1).Int(0)));
  }
  const std::int64_t received = ToUnixMillis(m.received_at);
  for (std::size_t i = 0; i < m.recipients.size(); ++i) {
    MW_RETURN_IF_ERROR(session_->Queue(Sql::kInsertRecipient, Params()
                                                                  .Int(id)
                                                                  .Int(static_cast<std::int64_t>(i))
                                                                  .Int(m.account)
                                                                  .Text(m.recipients[i])
                                                                  .Int(received)));
  }
  // A second write of the fresh row rather than another column in each engine's insert: the
  // row is at hand, and the insert stays the same whether scanning is on or off.
  if (m.scan)
    MW_RETURN_IF_ERROR(session_->Queue(Sql::kMarkForScan, Params().Int(m.account).Int(id)));
  MW_RETURN_IF_ERROR(WriteArrival(m, id));
  return id;
}

}  // namespace mailwarden
