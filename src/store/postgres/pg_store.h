// PgStore: the Store on a PostgreSQL database that many daemons share (DESIGN.md, Multi-node).
//
// One libpq connection per PgStore (PgSession), used by one thread at a time like every Store.
// The steps of every method are SqlStore's; this file holds PostgreSQL's hooks. Writers run at
// READ COMMITTED and keep the invariants SqliteStore gets from its single writer with row
// locks: counters are only ever incremented in SQL, state changes are compare-and-set, and
// rows a transaction will change are locked (FOR UPDATE) when chosen.
//
// Transactions that change what delivery may claim send NOTIFY mailwarden, '<kind>:<account>'
// (kind state, release or mail) on commit; PgChangeListener wakes other nodes with it.
#pragma once

#include <memory>
#include <string_view>

#include "store/postgres/pg_session.h"
#include "store/sql/sql_store.h"

namespace mailwarden {

class PgStore final : public SqlStore {
 public:
  // Connects to url (a libpq connection URI: postgresql://...) and applies missing
  // migrations, under an advisory lock so that nodes starting at once do not race. Fails with
  // kUnavailable if the server cannot be reached or the schema was written by a newer
  // mailwarden. Error messages never contain the url (it may hold a password).
  static Result<std::unique_ptr<PgStore>> Open(std::string_view url);

 private:
  explicit PgStore(std::unique_ptr<PgSession> session);

  Result<AccountId> UpsertAccountRow(const AccountSpec& spec, std::int64_t now_ms) override;
  Result<void> FreeAccountName(std::string_view name) override;
  Result<MessageId> InsertMessageRow(const NewMessage& m, std::optional<TimePoint> lease_until,
                                     std::string_view lease_node) override;
  Result<std::vector<ClaimedMessage>> LeaseMessages(std::span<const LeaseItem> items,
                                                    const ClaimRequest& request) override;
  Result<void> LockAccountsOfMessages(std::span<const MessageId> ids) override;
  Result<void> DeleteUnfinished(AccountId account, std::span<const MessageId> ids) override;
  Result<std::vector<Rows>> LockMessageStates(std::span<const MessageId> ids) override;
  Result<std::vector<Rows>> UpdateRecipients(std::span<const RecipientUpdate> updates,
                                             std::int64_t now_ms) override;
  Result<std::vector<Rows>> ReadRecipientStates(std::span<const MessageKey> messages) override;
  Result<void> FinishMessages(std::span<const MessageKey> messages, std::int64_t now_ms) override;
  Result<std::vector<Rows>> ForgetReleased(std::span<const MessageKey> messages) override;
  Result<void> WriteMessageEvents(std::span<const EventRow> events, std::int64_t at_ms) override;
  Result<std::vector<Rows>> SelectSuppressions(
      std::span<const std::pair<AccountId, std::string>> keys, std::int64_t now_ms) override;
  Result<void> Notify(std::string_view kind, AccountId account) override;
  Result<void> LockMigrations() override;
  std::string_view MigrationSql(const schema::Migration& migration) const override;

  PgSession& pg_;
};

}  // namespace mailwarden
