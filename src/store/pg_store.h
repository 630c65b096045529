// PgStore: the Store on a PostgreSQL database that many daemons share (DESIGN.md, Multi-node).
//
// One libpq connection per PgStore, used by one thread at a time like every Store. Every
// statement is prepared once per connection and run with bound parameters (bodies as binary
// bytea). Writers run at READ COMMITTED and keep the invariants SqliteStore gets from its
// single writer with row locks: counters are only ever incremented in SQL, state changes are
// compare-and-set, and rows a transaction will change are locked (FOR UPDATE) when chosen.
//
// A lost connection fails the call in progress with kUnavailable (nothing of it committed);
// the next call reconnects and prepares its statements again. Commits are synchronous on the
// server (synchronous_commit as configured there, on by default): success means durable.
//
// Transactions that change what delivery may claim send NOTIFY mailwarden, '<kind>:<account>'
// (kind state, release or mail) on commit; PgChangeListener wakes other nodes with it.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "store/store.h"

namespace mailwarden {

// A libpq message (several lines, with tabs) as one line for a log or an error.
std::string PgMessageLine(const char* message);

class PgConnection;

// The channel PgStore notifies and PgChangeListener listens on.
inline constexpr std::string_view kPgNotifyChannel = "mailwarden";

class PgStore final : public Store {
 public:
  // Connects to url (a libpq connection URI: postgresql://...) and applies missing
  // migrations, under an advisory lock so that nodes starting at once do not race. Fails with
  // kUnavailable if the server cannot be reached or the schema was written by a newer
  // mailwarden. Error messages never contain the url (it may hold a password).
  static Result<std::unique_ptr<PgStore>> Open(std::string_view url);

  ~PgStore() override;
  PgStore(const PgStore&) = delete;
  PgStore& operator=(const PgStore&) = delete;

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

 private:
  explicit PgStore(std::unique_ptr<PgConnection> db);

  std::unique_ptr<PgConnection> db_;
  // As SqliteStore's: sources of hours below this are known pruned by this object.
  std::int64_t sources_pruned_below_ = 0;
};

}  // namespace mailwarden
