// SqliteStore: the Store on one SQLite file, the embedded default for a single daemon.
//
// The file is opened in WAL mode, and a method that returns success has fsync'd its
// transaction's WAL (the progress of delivery aside: see Transaction in sqlite_store.cc), so
// acknowledged mail survives a crash and a power cut. Writers take
// the write lock at BEGIN (BEGIN IMMEDIATE) and wait for it up to a busy timeout, so several
// SqliteStore objects (threads, or processes such as two daemons during a restart) may share
// one file. Every statement is prepared once, at open, and reused.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "store/store.h"

namespace mailwarden {

class SqliteConnection;

class SqliteStore final : public Store {
 public:
  // Opens the database file at path, creating it (readable by its owner only: it holds the
  // customers' mail) if missing; the folder must exist. Sets the connection up and applies
  // missing migrations. Fails with kUnavailable if the file cannot be opened or migrated, or
  // was written by a newer mailwarden (its schema version is higher than schema.h's).
  static Result<std::unique_ptr<SqliteStore>> Open(const std::filesystem::path& path);

  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  Result<AccountId> UpsertAccount(const AccountSpec& spec) override;
  Result<std::optional<Account>> FindAccount(std::string_view name) override;
  Result<std::optional<Account>> GetAccount(AccountId id) override;
  Result<std::optional<Account>> FindAccountByUid(Uid uid) override;
  Result<std::vector<Account>> ListAccounts() override;
  Result<void> SetAccountState(const AccountStateChange& change) override;
  using Store::InsertMessages;
  Result<InsertedBatch> InsertMessages(std::span<const NewMessage> messages,
                                       const ArrivalLease& lease) override;
  Result<ClaimedBatch> ClaimDue(const ClaimRequest& request) override;
  Result<void> RecordOutcomes(std::span<const DeliveryOutcome> outcomes, TimePoint now) override;
  Result<void> ReleaseLeases(std::string_view node) override;
  Result<std::optional<TimePoint>> NextDueTime(std::span<const AccountId> skip) override;
  using Store::NextDueTime;
  Result<std::optional<StoredMessage>> GetMessage(MessageId id) override;
  Result<std::vector<AccountId>> AccountsInState(AccountState state) override;
  Result<std::vector<AuditRecord>> ListAudit(std::optional<AccountId> account, int limit,
                                             std::int64_t before_id) override;
  Result<std::int64_t> PurgeBatch(AccountId account, int limit, TimePoint now) override;
  Result<std::int64_t> ExpireHeld(TimePoint cutoff, int limit, TimePoint now) override;
  Result<std::int64_t> DeleteFinished(TimePoint cutoff, int limit) override;
  Result<std::vector<StoredMessage>> ListPending(AccountId account, int limit,
                                                 MessageId before_id) override;
  Result<std::int64_t> ReleaseHeld(AccountId account, const MessageSelector& selector,
                                   TimePoint now) override;
  Result<std::int64_t> DeleteHeld(AccountId account, const MessageSelector& selector,
                                  TimePoint now) override;
  Result<void> AddToken(AccountId account, std::string_view token_hash, TimePoint now) override;
  Result<std::optional<Account>> FindAccountByToken(std::string_view token_hash) override;
  Result<void> SetSmtpPassword(AccountId account, std::string_view password_hash) override;
  Result<std::optional<std::string>> GetSmtpPasswordHash(std::string_view account_name) override;
  Result<AccountCounters> GetCounters(AccountId account, int today) override;
  Result<std::vector<DailyVolume>> GetVolumes(AccountId account, int first_day,
                                              int last_day) override;
  Result<std::vector<DeliveryError>> ListErrors(AccountId account, TimePoint since, int limit,
                                                std::optional<ErrorCursor> after) override;
  Result<std::vector<AccountId>> AccountsToReport(int day) override;
  Result<std::optional<MessageId>> ClaimReport(AccountId account, int day, const NewMessage& report,
                                               TimePoint now) override;
  Result<StoreTotals> GetTotals() override;
  Result<MailSources> GetSources(AccountId account, int hours, TimePoint now, int top) override;
  Result<std::string> GetMessageHeaders(AccountId account, MessageId id) override;

  // EXPLAIN QUERY PLAN of the statements that run per claim, per delivery outcome, per purge
  // batch and per request of the panel, as prepared: each statement's name (as in
  // docs/performance.md) and its plan's lines, indented by level. For the tests that keep
  // every one of them on its index.
  struct QueryPlan {
    std::string statement;
    std::vector<std::string> lines;
  };
  Result<std::vector<QueryPlan>> ExplainHotStatements();

 private:
  explicit SqliteStore(std::unique_ptr<SqliteConnection> db);

  std::unique_ptr<SqliteConnection> db_;
  // Sources of hours below this are known pruned (by this object; another one sharing the
  // file may prune too, which only makes a call find nothing to delete).
  std::int64_t sources_pruned_below_ = 0;
  // The node this store claims for (the last ClaimDue or ReleaseLeases; the daemon releases
  // its leases at start). New messages carry it in lease_node, which counts only while a
  // message is delivering: the claim's UPDATE then keeps the row's size, and SQLite
  // overwrites the row in place, writing only the pages that changed. A row that changes
  // size is rewritten whole, a 100 KB body's 25 overflow pages freed and written again.
  std::string lease_node_hint_;
};

}  // namespace mailwarden
