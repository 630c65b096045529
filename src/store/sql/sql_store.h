// SqlStore: the Store written once over an SQL engine's session (sql_session.h). Every method's
// steps, transactions, row readers and counter tallies are here; an engine supplies its
// session, its statements' text, and the few hooks below that are really different (how an
// account row is made, how a message row is inserted and leased, locking, notifications).
//
// Invariants both engines keep: counters change in the transaction that changes the messages
// (never recounted from rows), and are written as increments in account order (Tally), so that
// several writers add up exactly; a state change is compare-and-set; the rows a write
// transaction will change are locked when chosen (PostgreSQL's FOR UPDATE; SQLite's single
// writer holds the whole database).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/schema.h"
#include "store/sql/sql_session.h"
#include "store/store.h"

namespace mailwarden {

class Tally;

class SqlStore : public Store {
 public:
  ~SqlStore() override;
  SqlStore(const SqlStore&) = delete;
  SqlStore& operator=(const SqlStore&) = delete;

  Result<AccountId> UpsertAccount(const AccountSpec& spec) override;
  Result<std::vector<AccountPut>> PutAccounts(std::span<const AccountSpec> specs,
                                              AccountPutMode mode, std::string_view actor,
                                              TimePoint at) override;
  Result<AccountDeleted> DeleteAccount(std::string_view name, bool purge, std::string_view actor,
                                       TimePoint at) override;
  Result<std::vector<Result<AccountDeleted>>> DeleteAccounts(std::span<const std::string> names,
                                                             bool purge, std::string_view actor,
                                                             TimePoint at) override;
  Result<std::int64_t> RemoveDeletedAccounts(TimePoint cutoff, int limit) override;
  Result<std::vector<AccountId>> AccountsWithPurgedRows() override;
  Result<std::optional<Account>> FindAccount(std::string_view name) override;
  Result<std::optional<Account>> GetAccount(AccountId id) override;
  Result<std::optional<Account>> FindAccountByUid(Uid uid) override;
  Result<std::vector<Account>> ListAccounts() override;
  Result<std::vector<AccountPageEntry>> ListAccountPage(const AccountPageQuery& query) override;
  Result<void> SetAccountState(const AccountStateChange& change) override;
  Result<std::optional<MessageRef>> FindByMessageId(std::string_view message_id) override;
  Result<std::vector<AccountId>> AccountsInState(AccountState state) override;
  Result<std::vector<AuditRecord>> ListAudit(std::optional<AccountId> account, int limit,
                                             std::int64_t before_id) override;
  using Store::AddToken;
  Result<void> AddToken(AccountId account, std::string_view token_hash, TimePoint now,
                        std::optional<TimePoint> expires) override;
  Result<std::optional<Account>> FindAccountByToken(std::string_view token_hash,
                                                    TimePoint now) override;
  Result<std::vector<TokenInfo>> ListTokens(AccountId account) override;
  Result<void> RevokeToken(AccountId account, std::string_view id) override;
  Result<void> SetSmtpPassword(AccountId account, std::string_view password_hash) override;
  Result<std::optional<std::string>> GetSmtpPasswordHash(std::string_view account_name) override;

  using Store::InsertMessages;
  Result<InsertedBatch> InsertMessages(std::span<const NewMessage> messages,
                                       const ArrivalLease& lease) override;
  Result<ClaimedBatch> ClaimDue(const ClaimRequest& request) override;
  Result<void> RecordOutcomes(std::span<const DeliveryOutcome> outcomes, TimePoint now) override;
  Result<void> ReleaseLeases(std::string_view node) override;
  using Store::NextDueTime;
  Result<std::optional<TimePoint>> NextDueTime(std::span<const AccountId> skip) override;

  Result<std::optional<StoredMessage>> GetMessage(MessageId id) override;
  Result<std::int64_t> PurgeBatch(AccountId account, int limit, TimePoint now) override;
  Result<std::int64_t> ExpireHeld(TimePoint cutoff, int limit, TimePoint now) override;
  Result<std::int64_t> DeleteFinished(TimePoint cutoff, int limit) override;
  Result<std::vector<StoredMessage>> ListPending(AccountId account, int limit,
                                                 MessageId before_id) override;
  Result<std::int64_t> ReleaseHeld(AccountId account, const MessageSelector& selector,
                                   TimePoint now) override;
  Result<std::int64_t> DeleteHeld(AccountId account, const MessageSelector& selector,
                                  TimePoint now) override;
  Result<std::string> GetMessageHeaders(AccountId account, MessageId id) override;

  Result<AccountCounters> GetCounters(AccountId account, int today) override;
  Result<std::vector<DailyVolume>> GetVolumes(AccountId account, int first_day,
                                              int last_day) override;
  Result<std::vector<DeliveryError>> ListErrors(AccountId account, TimePoint since, int limit,
                                                std::optional<ErrorCursor> after) override;
  Result<std::vector<AccountId>> AccountsToReport(int day) override;
  Result<std::optional<MessageId>> ClaimReport(AccountId account, int day, const NewMessage& report,
                                               TimePoint now) override;
  Result<StoreTotals> GetTotals() override;
  Result<std::vector<BounceRecorded>> RecordBounces(std::span<const Bounce> bounces,
                                                    TimePoint now) override;
  Result<MailSources> GetSources(AccountId account, int hours, TimePoint now, int top) override;

  Result<std::vector<UnscannedMessage>> ListUnscanned(MessageId after, int limit) override;
  Result<std::optional<std::string>> GetUnscannedBody(AccountId account, MessageId id) override;
  Result<std::vector<bool>> RecordVerdicts(std::span<const ScanVerdict> verdicts,
                                           TimePoint now) override;
  Result<std::vector<StoredMessage>> ListQuarantined(AccountId account, int limit,
                                                     MessageId before_id) override;
  Result<std::int64_t> ReleaseQuarantined(AccountId account, std::span<const MessageId> ids,
                                          TimePoint now) override;
  Result<std::int64_t> DeleteQuarantined(AccountId account, std::span<const MessageId> ids,
                                         TimePoint now) override;
  Result<std::int64_t> ExpireQuarantined(TimePoint cutoff, int limit, TimePoint now) override;
  Result<void> AddDomain(AccountId account, std::string_view domain, TimePoint at) override;
  Result<void> RemoveDomain(AccountId account, std::string_view domain) override;
  Result<std::vector<std::string>> ListDomains(AccountId account) override;
  Result<std::optional<DomainOwner>> FindDomainOwner(std::string_view name) override;
  Result<void> AddDkimKey(const DkimKey& key, bool retire_others) override;
  Result<std::vector<DkimKey>> GetDkimKeys(std::string_view domain) override;
  Result<std::vector<DkimKey>> GetSigningKeys() override;
  Result<void> DeleteDkimKey(std::string_view domain, std::string_view selector) override;
  Result<std::vector<StoredMessage>> ListHeldForSender(AccountId account, int limit,
                                                       MessageId before_id) override;
  Result<void> CountSenderRefused(AccountId account, TimePoint at) override;
  Result<std::vector<SenderCheckDay>> GetSenderChecks(AccountId account, int first_day,
                                                      int last_day) override;
  Result<void> SetAccountLimits(const AccountLimits& limits) override;
  Result<AccountLimits> GetAccountLimits(AccountId account) override;
  Result<std::vector<AccountLimits>> ListAccountLimits() override;
  Result<std::vector<AccountId>> ListAccountsWithQuotaBelow(std::int64_t limit) override;
  Result<bool> ClaimNotice(AccountId account, int day, std::string_view kind, const NewEvent& event,
                           const std::optional<NewMessage>& message) override;
  Result<std::vector<OutboxEvent>> ClaimEvents(std::string_view node, TimePoint now,
                                               TimePoint lease_until, int limit) override;
  Result<void> RecordEventAttempt(const EventAttempt& attempt) override;
  Result<std::vector<EventAttemptRecord>> ListEventAttempts(int limit) override;
  Result<void> AddEvent(const NewEvent& event) override;
  Result<std::vector<PlanRecord>> ListPlans() override;
  Result<std::optional<PlanRecord>> GetPlan(std::string_view name) override;
  Result<AccountPutOutcome> PutPlan(const PlanRecord& plan, std::string_view actor,
                                    TimePoint at) override;
  Result<void> DeletePlan(std::string_view name, std::string_view actor, TimePoint at) override;
  Result<std::vector<Suppression>> ListSuppressions(AccountId account, TimePoint now, int limit,
                                                    std::string_view after) override;
  Result<void> DeleteSuppression(AccountId account, std::string_view address,
                                 std::string_view actor, TimePoint now) override;
  Result<ComplaintRecorded> RecordComplaint(const Complaint& complaint, TimePoint now) override;
  Result<void> RecordNodeSeen(const NodeSeen& node) override;
  Result<FleetSummary> GetFleetSummary(const FleetQuery& query) override;
  Result<MessageSearchPage> SearchMessages(AccountId account, const MessageSearch& search) override;
  Result<std::optional<TrackedMessage>> GetTrackedMessage(AccountId account, MessageId id) override;

  // StoreOptions; set by OpenStore before the store is used.
  void SetOptions(const StoreOptions& options) {
    max_sources_per_hour_ = options.max_sources_per_hour;
    limits_ = options.storage;
  }

 protected:
  explicit SqlStore(std::unique_ptr<SqlSession> session);

  SqlSession& session() { return *session_; }

  // Writes an event to the outbox in the caller's write transaction, so that it commits with
  // what caused it, or not at all (docs/webhooks.md): the one way events are made. data is
  // a JSON object's text.
  Result<void> WriteEvent(const NewEvent& event);

  // Brings the schema up to schema::kSchemaVersion, once however many stores start at once:
  // LockMigrations makes a second one wait, then read the version the first one wrote. A
  // database newer than this program fails with kUnavailable and a sentence saying so.
  Result<void> Migrate();

  // A due message chosen by ClaimDue, to lease.
  struct LeaseItem {
    AccountId account = 0;
    MessageId id = 0;
    std::int64_t size = 0;
  };

  // --- The hooks: what each engine does its own way. Called inside the caller's transaction.

  // Creates the account row of spec.name, or updates report_to, language and quotas of the
  // existing one; returns its id. now is a new account's first `since`.
  virtual Result<AccountId> UpsertAccountRow(const AccountSpec& spec, std::int64_t now_ms) = 0;
  // Inserts the message row (not its recipients): queued and due at once, or, with
  // lease_until, leased to lease_node until then, its first attempt counted.
  virtual Result<MessageId> InsertMessageRow(const NewMessage& m,
                                             std::optional<TimePoint> lease_until,
                                             std::string_view lease_node) = 0;
  // Leases the chosen messages to request.node until request.lease_until (status delivering,
  // an attempt counted) and reads each one's sender, subject, attempts before this one,
  // received_at, body and pending recipients; in the order given.
  virtual Result<std::vector<ClaimedMessage>> LeaseMessages(std::span<const LeaseItem> items,
                                                            const ClaimRequest& request) = 0;
  // Before outcomes are recorded: locks the accounts of these messages, in the order every
  // writer takes them. Nothing where the engine has a single writer.
  virtual Result<void> LockAccountsOfMessages(std::span<const MessageId> ids);
  // Deletes these unfinished messages of the account, with their recipients and marks.
  virtual Result<void> DeleteUnfinished(AccountId account, std::span<const MessageId> ids);

  // A batch's statements of one kind. Here each item's statement runs on its own (RunAll, in
  // the order given); an engine with arrays runs one statement for the whole batch. Each gives
  // every item the Rows its own statement would have given (Changed() for a write).
  struct MessageKey {
    AccountId account = 0;
    MessageId id = 0;
  };
  struct RecipientUpdate {
    MessageKey message;
    int index = 0;
    int status = 0;  // RecipientCode
    std::string_view reply;
    std::string_view category;
  };
  struct EventRow {
    MessageKey message;
    std::string_view kind;
    int recipient = -1;
    std::string detail;
  };
  // kLockMessageState of each message, ids ascending and distinct.
  virtual Result<std::vector<Rows>> LockMessageStates(std::span<const MessageId> ids);
  // kUpdateRecipient of each, no recipient twice.
  virtual Result<std::vector<Rows>> UpdateRecipients(std::span<const RecipientUpdate> updates,
                                                     std::int64_t now_ms);
  // kRecipientStates of each message, no message twice.
  virtual Result<std::vector<Rows>> ReadRecipientStates(std::span<const MessageKey> messages);
  // kFinishMessage, then kSetOutcome, of each message; rows not read (Queue).
  virtual Result<void> FinishMessages(std::span<const MessageKey> messages, std::int64_t now_ms);
  // kForgetReleased of each message (its released mark deleted, if it has one).
  virtual Result<std::vector<Rows>> ForgetReleased(std::span<const MessageKey> messages);
  // kInsertMessageEvent of each, in order, all at at_ms; rows not read (Queue).
  virtual Result<void> WriteMessageEvents(std::span<const EventRow> events, std::int64_t at_ms);
  // kSelectSuppression of each (account, address as SuppressionAddress keeps it).
  virtual Result<std::vector<Rows>> SelectSuppressions(
      std::span<const std::pair<AccountId, std::string>> keys, std::int64_t now_ms);
  // Tells other nodes, at commit, that delivery may have something new to claim (kind: state,
  // release or mail). Nothing where there are no other nodes.
  virtual Result<void> Notify(std::string_view kind, AccountId account);
  // The node this store delivers for (a claim, a release of leases, an offer to lease on
  // arrival), for an engine that keeps it with new rows.
  virtual void NoteNode(std::string_view node);
  // The bytes the store could still write: its file system's free space and the free space
  // inside its files. nullopt where the engine cannot see its disk (a database server's).
  virtual Result<std::optional<std::int64_t>> FreeBytes();
  // A deleted account's name is free from the commit on (the name's own lookup row, where the
  // engine keeps one). Nothing where the accounts row alone holds the name.
  virtual Result<void> FreeAccountName(std::string_view name);
  // The rows of removed accounts, whose other rows RemoveDeletedAccounts deleted just before
  // (kRemoveAccountRow). One transaction; the foreign keys check that nothing names them.
  virtual Result<void> RemoveAccountRows(std::span<const AccountId> ids);
  // Migrations: wait for any other store migrating the same database; the text of a migration.
  virtual Result<void> LockMigrations();
  virtual std::string_view MigrationSql(const schema::Migration& migration) const = 0;
  // Checked after the migrations ran, before they commit (SQLite: the foreign keys, which are
  // off while a table is made anew).
  virtual Result<void> CheckMigrated() { return {}; }

 private:
  // The selected held mail, up to selector.limit; with unreleased_only, none released yet;
  // with for_sender_only, only messages held for themselves (held_messages).
  Result<std::vector<MessageId>> SelectHeld(AccountId account, const MessageSelector& selector,
                                            bool unreleased_only, bool for_sender_only = false);
  // Releases these messages held for themselves (those that are): no longer held, due at
  // `now`. Returns how many were. In the caller's write transaction.
  Result<std::int64_t> ReleaseHeldForSender(AccountId account, std::span<const MessageId> ids,
                                            TimePoint now);
  // Expires up to `limit` messages held for themselves received before cutoff, as ExpireHeld
  // does the mail of held accounts. In the caller's write transaction, with its tally.
  Result<std::int64_t> ExpireHeldForSender(std::int64_t cutoff_ms, std::int64_t limit,
                                           TimePoint now, Tally& tally);
  Result<std::optional<Account>> ReadOneAccount(AccountId id);
  // Purges the account's unfinished mail at once (the watermark), counted purged on the local
  // day of `at`; returns how many. In the caller's write transaction.
  Result<std::int64_t> StartPurge(AccountId account, TimePoint at);
  // DeleteAccount's work in the caller's write transaction: the outer Result fails when the
  // store does, the inner one is the account's refusal (kNotFound, kConflict), decided before
  // anything of it is written.
  Result<Result<AccountDeleted>> DeleteAccountIn(std::string_view name, bool purge,
                                                 std::string_view actor, TimePoint at);
  // SetAccountState's work, in the caller's write transaction (the complaint guard blocks in
  // RecordComplaint's).
  Result<void> ApplyAccountState(const AccountStateChange& change);
  // One bounce of RecordBounces, in its write transaction (the accounts of its messages
  // locked), with its tally.
  Result<BounceRecorded> RecordOneBounce(const Bounce& bounce, TimePoint now, Tally& tally);
  // The complaint guard, after RecordComplaint counted one (store/store.h).
  Result<void> CheckComplaintGuard(const Complaint& complaint, TimePoint now,
                                   ComplaintRecorded& recorded);
  Result<std::optional<StoredMessage>> ReadMessage(MessageId id);
  // A page of the account's messages: the ids `page` gives (account, before id, limit), newest
  // first, then each message, all from one read snapshot (ListPending, ListHeldForSender,
  // ListQuarantined).
  Result<std::vector<StoredMessage>> ReadMessagePage(Sql page, AccountId account, int limit,
                                                     MessageId before_id);
  // The scan state and verdict of message (read by ReadMessage).
  Result<void> ReadScanResult(StoredMessage& message);
  // Adds the message's recipients, with their status, reply and category, in index order.
  Result<void> ReadRecipients(StoredMessage& message, AccountId account, MessageId id);
  Result<AccountState> ReadAccountState(AccountId account, bool lock);
  // The internal account's id (kSystemAccountName), made if missing: the records of changes
  // that belong to no customer's account (plans) are audited under it. In the caller's write
  // transaction.
  Result<AccountId> SystemAccountForAudit(std::int64_t now_ms);
  // kConflict unless the account (locked by the caller) is as `seen` says; nothing if unset.
  Result<void> CheckDecidedOn(AccountId account, const std::optional<BlockSeen>& seen);
  // InsertMessages past CheckRoom.
  Result<InsertedBatch> StoreBatch(std::span<const NewMessage> messages, const ArrivalLease& lease);
  // kNoRoom if storing `incoming` bytes would leave less than limits_.min_free_bytes free.
  Result<void> CheckRoom(std::int64_t incoming);
  // Whether the last batch found room: logged when the store runs short of room (why) and when
  // it has room again, not at every refusal.
  void NoteRoom(bool room, std::string_view why);
  // For each message of the batch, why it is not stored, if it is not: its account's quota
  // refuses it (StorageLimits, counting the batch's earlier messages; kNoRoom), or its account
  // was deleted (kNotFound). Read in the caller's write transaction.
  Result<std::vector<std::optional<Error>>> RefusedAtStore(std::span<const NewMessage> messages);
  Result<MessageId> InsertMessageWithRecipients(const NewMessage& m,
                                                std::optional<TimePoint> lease_until,
                                                std::string_view lease_node);

  // RecordOutcomes' work for outcomes of distinct messages in id order, in its transaction.
  Result<void> RecordRound(std::span<const DeliveryOutcome* const> round, TimePoint now,
                           Tally& tally);
  // The account's suppression of `address` (any case: it is keyed here) if one holds at now:
  // one primary-key lookup. In the caller's transaction.
  Result<std::optional<Suppression>> FindSuppression(AccountId account, std::string_view address,
                                                     std::int64_t now_ms);
  // FindSuppression of each (account, address), in order, the lookups sent together.
  Result<std::vector<std::optional<Suppression>>> FindSuppressions(
      std::span<const std::pair<AccountId, std::string_view>> addresses, std::int64_t now_ms);
  // Suppresses `address`, a recipient of the account's message, until now + suppress_for, for
  // the failure (category, reply) just recorded, if its category suppresses
  // (core/suppression.h) and suppress_for is above 0. In the caller's write transaction.
  Result<void> SuppressRecipient(AccountId account, MessageId message, std::string_view address,
                                 std::string_view category, std::string_view reply, TimePoint now,
                                 Duration suppress_for);

  // Writes one event of the message's history (detail cut to kMaxEventDetailBytes); in the
  // caller's write transaction.
  Result<void> WriteMessageEvent(AccountId account, MessageId id, std::int64_t at_ms,
                                 std::string_view kind, int recipient, std::string_view detail);
  // The received (and held) events and the search terms of message `id`, just stored as m.
  Result<void> WriteArrival(const NewMessage& m, MessageId id);
  // The account's message `id` as tracking shows it, with its history or without.
  Result<std::optional<TrackedMessage>> ReadTracked(AccountId account, MessageId id,
                                                    bool with_events);
  // A finished message's outcome (delivered, failed, expired), from its recipients.
  Result<void> SetOutcome(AccountId account, MessageId id);

  std::unique_ptr<SqlSession> session_;
  // Sources of hours below this are known pruned (by this object; another one sharing the
  // database may prune too, which only makes a call find nothing to delete).
  std::int64_t sources_pruned_below_ = 0;
  StorageLimits limits_;
  bool short_of_room_ = false;  // the last batch had no room (NoteRoom)
  std::int64_t max_sources_per_hour_ = kDefaultMaxSourcesPerHour;
};

}  // namespace mailwarden
