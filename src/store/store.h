// The store: the source of truth for accounts, queued mail, outcomes and counters.
//
// Two implementations: SqliteStore (embedded default, one daemon) and, later, PgStore (many
// daemons on one PostgreSQL). Nothing engine-specific appears here: callers see accounts,
// messages and outcomes, never SQL, rowids or file names.
//
// Threading: a Store object is used by one thread at a time (StoreRunner owns it). It is not
// internally synchronised. Several Store objects may be open on the same database (one per
// thread or per node); the database's transactions keep them consistent.
//
// Durability: every mutating method is one transaction. When it returns success, what it
// wrote is committed and durable (fsync'd by the engine); when it fails, nothing of it is.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/store_types.h"

namespace mailwarden {

class Store {
 public:
  virtual ~Store() = default;

  // Creates the account, or updates uids, report_to, language and quotas of the account of
  // that name. State and counters of an existing account are kept. A uid that belongs to
  // another account is moved to this one.
  virtual Result<AccountId> UpsertAccount(const AccountSpec& spec) = 0;

  // Creates or updates the accounts of `specs` (uids, report_to, language, quotas) as `mode`
  // says, all in one transaction: one spec refused leaves the others to be written. State,
  // counters, tokens and history of an existing account are kept. One uid, one account: a uid
  // that belongs to an account outside the batch is refused (its mail stays where it is); a
  // uid moves between two accounts only when both are in the batch (the one losing it no
  // longer lists it), in the same transaction. Each created or changed account gets an audit
  // record (action CREATE or CHANGE, the new values as its reason) by `actor` at `at`; an
  // unchanged one none. Returns one AccountPut per spec, in order. Durable on success.
  virtual Result<std::vector<AccountPut>> PutAccounts(std::span<const AccountSpec> specs,
                                                      AccountPutMode mode, std::string_view actor,
                                                      TimePoint at) = 0;

  // Deletes the account of that name, in one transaction: refused with kConflict while it has
  // unfinished mail (held, queued or being delivered) unless `purge`, which purges it as a
  // PURGE does (at once, the rows deleted afterwards by PurgeBatch; an outcome in flight is
  // ignored). Its tokens and SMTP password are revoked and its uids freed from the commit on;
  // its name is free at once (the row is kept under a name no account can take, marked
  // deleted): a new account of that name and uids inherits nothing. The deleted account is no
  // longer found by name, uid or token, nor listed or reported on; its counters, errors and
  // audit stay until RemoveDeletedAccounts. Audited (action DELETE) by `actor` at `at`.
  // kNotFound: no such account.
  virtual Result<AccountDeleted> DeleteAccount(std::string_view name, bool purge,
                                               std::string_view actor, TimePoint at) = 0;
  // DeleteAccount for each name, all in one write transaction (an import's removals): each
  // name gets its own answer, and one refused (kNotFound, kConflict) leaves the others
  // deleted. Fails as a whole, deleting none, only when the store does.
  virtual Result<std::vector<Result<AccountDeleted>>> DeleteAccounts(
      std::span<const std::string> names, bool purge, std::string_view actor, TimePoint at) = 0;

  // Removes, with everything kept of them (counters, days, sources, reports, audit, messages),
  // up to `limit` accounts deleted before `cutoff` (purged rows still on disk too). Returns
  // how many. One transaction for what is kept of them, one for their rows (a row a failure
  // left, nothing else of it, goes the next time).
  virtual Result<std::int64_t> RemoveDeletedAccounts(TimePoint cutoff, int limit) = 0;

  virtual Result<std::optional<Account>> FindAccount(std::string_view name) = 0;
  virtual Result<std::optional<Account>> GetAccount(AccountId id) = 0;
  virtual Result<std::optional<Account>> FindAccountByUid(Uid uid) = 0;
  virtual Result<std::vector<Account>> ListAccounts() = 0;
  // A page of accounts for the operator's overview, as `query` orders and filters them; the
  // system's own account and deleted ones are never listed. Reads an index in the page's
  // order (by name; today's counters by day and value; unfinished mail by amount) and the
  // page's rows, never every account.
  virtual Result<std::vector<AccountPageEntry>> ListAccountPage(const AccountPageQuery& query) = 0;

  // Writes the account's state, blocked_by, reason, since and bounce_tolerance_until, the
  // audit record (change.at, actor, action, from, to, audit_text or else reason) and, with
  // start_purge, the purge watermark, all in one transaction. Does not judge the transition:
  // core/ does. Fails with kNotFound if there is no such account and with kConflict, writing
  // nothing, if its state is no longer change.from or its blocker no longer
  // change.from_blocked_by. Held mail needs nothing more: the
  // scheduler reads the state, so blocking holds and unblocking releases (oldest first) at
  // once. Durable on success, audit record included.
  virtual Result<void> SetAccountState(const AccountStateChange& change) = 0;

  // The ids of the accounts in `state`, ascending (e.g. kPurging at start: purges to resume).
  virtual Result<std::vector<AccountId>> AccountsInState(AccountState state) = 0;

  // Audit records, newest first: of one account or of all; up to limit, older than before_id
  // when it is > 0 (the previous page's last id). An unknown account has none.
  virtual Result<std::vector<AuditRecord>> ListAudit(std::optional<AccountId> account, int limit,
                                                     std::int64_t before_id) = 0;

  // The ids of the accounts with purged rows still on disk (Account::purge_left > 0), deleted
  // accounts included, ascending: at start, the deletions a previous run had not finished.
  virtual Result<std::vector<AccountId>> AccountsWithPurgedRows() = 0;

  // Deletes from disk up to `limit` of the account's purged messages (unfinished, id <= its
  // purge_upto; see AccountStateChange::start_purge), oldest first, with their recipients.
  // Changes no counter: they were counted purged when the purge started. Returns how many
  // purged rows remain (Account::purge_left; 0: nothing left to delete). One transaction: on
  // success the batch is durably gone; on failure nothing is. kNotFound: no account.
  virtual Result<std::int64_t> PurgeBatch(AccountId account, int limit, TimePoint now) = 0;

  // Expires held mail: in blocked or purging accounts, and messages held for themselves
  // (NewMessage::held_reason) in any account, finishes up to `limit` unfinished
  // messages received before cutoff, oldest first: status done, body dropped, each pending
  // recipient failed with "expired: not sent, held while sending was blocked for longer than
  // allowed" and category "expired"; pending decremented,
  // expired and errors (one per message) counted on the local day of `now`. Released and in
  // flight messages are left to delivery. Returns how many expired; call again while it
  // returns `limit`. One transaction, durable on success, nothing on failure.
  virtual Result<std::int64_t> ExpireHeld(TimePoint cutoff, int limit, TimePoint now) = 0;

  // The account's unfinished messages, newest first, up to limit, with ids below before_id
  // when it is > 0; with recipients, without bodies. Read only.
  virtual Result<std::vector<StoredMessage>> ListPending(AccountId account, int limit,
                                                         MessageId before_id) = 0;

  // Releases the selected held messages of a blocked or purging account: the scheduler
  // delivers them although the account stays held, without reading the rest of its held mail.
  // Of an active account, only messages held for themselves (NewMessage::held_reason) are
  // held, and released (due at once); so are they in a held account, as the rest.
  // Returns how many were newly released. Messages
  // in flight, finished, already released or of another account are not counted. One
  // transaction. kNotFound: no account; kConflict: the account is no longer as
  // selector.decided_on says (nothing released).
  virtual Result<std::int64_t> ReleaseHeld(AccountId account, const MessageSelector& selector,
                                           TimePoint now) = 0;

  // Deletes the selected unfinished messages of a blocked or purging account (of an active
  // one, only those held for themselves), with their recipients; adjusts pending and adds them to
  // the purged counters on the local day of `now`. A message in flight is left alone. Returns how
  // many were deleted. One transaction. kNotFound: no account; kConflict: as ReleaseHeld's.
  virtual Result<std::int64_t> DeleteHeld(AccountId account, const MessageSelector& selector,
                                          TimePoint now) = 0;

  // Adds a customer API token of the account, by its hash (the caller hashes: SHA-256, hex);
  // a token is never given to the store in clear. It is valid until `expires` (nullopt: until
  // revoked). kNotFound: no account; kInvalidInput: that hash exists already. Durable on
  // success.
  virtual Result<void> AddToken(AccountId account, std::string_view token_hash, TimePoint now,
                                std::optional<TimePoint> expires) = 0;
  Result<void> AddToken(AccountId account, std::string_view token_hash, TimePoint now) {
    return AddToken(account, token_hash, now, std::nullopt);
  }
  // The account a token hash belongs to, if any and if the token is valid at `now` (not
  // expired; a revoked token is gone).
  virtual Result<std::optional<Account>> FindAccountByToken(std::string_view token_hash,
                                                            TimePoint now) = 0;
  // The account's tokens, oldest first, expired ones too (until revoked). Read only.
  virtual Result<std::vector<TokenInfo>> ListTokens(AccountId account) = 0;
  // Revokes the account's token named `id` (TokenInfo::id): it is deleted, and no request
  // carrying it is let in from the commit on. kNotFound: the account has no such token.
  // Durable on success.
  virtual Result<void> RevokeToken(AccountId account, std::string_view id) = 0;

  // Sets (replaces) the account's SMTP AUTH password hash (the caller hashes). kNotFound: no
  // account. Durable on success.
  virtual Result<void> SetSmtpPassword(AccountId account, std::string_view password_hash) = 0;
  // The SMTP password hash of the account of that name; nullopt if no such account or none set.
  virtual Result<std::optional<std::string>> GetSmtpPasswordHash(std::string_view account_name) = 0;

  // The account's counters, with today's from local day `today` (YYYYMMDD, see core/local_day.h).
  // Read from the counters kept as events happen, never by counting rows. kNotFound: no
  // account.
  virtual Result<AccountCounters> GetCounters(AccountId account, int today) = 0;
  // The account's days from first_day to last_day (YYYYMMDD, inclusive), ascending; days on
  // which nothing happened are absent.
  virtual Result<std::vector<DailyVolume>> GetVolumes(AccountId account, int first_day,
                                                      int last_day) = 0;
  // The account's failed deliveries at or after since, newest first, up to limit, after the
  // cursor when given. Expired messages appear once per recipient. Read only.
  virtual Result<std::vector<DeliveryError>> ListErrors(AccountId account, TimePoint since,
                                                        int limit,
                                                        std::optional<ErrorCursor> after) = 0;

  // Stores all messages in one transaction (group commit). On success returns their ids in
  // the same order, and every one of them is durable; on failure none is stored. Each counts
  // as submitted on the local day of its received_at, and in the same transaction counts
  // toward its account's sources (GetSources) in the unix hour of its received_at. Sources
  // older than kSourceHoursKept hours before the batch's newest message are pruned on the way,
  // a bounded number of rows per call (the rest by the next calls).
  //
  // With a lease.node, the same transaction leases the first lease.limit messages that
  // belong to active accounts not in lease.skip, in the batch's order, to lease.node (each
  // until its received_at + lease.lease_for; durable as the rest of the batch): they are
  // stored as ClaimDue would leave them, and their outcomes are recorded by RecordOutcomes.
  // Mail of blocked or purging accounts is never leased. The caller must know that no older
  // due mail of those accounts is queued (ArrivalLease).
  //
  // A message that would take its account past StorageLimits is not stored (its
  // InsertedMessage says why); a batch that would leave the store less free room than
  // StorageLimits::min_free_bytes fails whole with kNoRoom, as does one the disk cannot take.
  virtual Result<InsertedBatch> InsertMessages(std::span<const NewMessage> messages,
                                               const ArrivalLease& lease) = 0;
  // The same without leasing anything; returns the ids in the order given (0 for a message
  // refused by StorageLimits).
  Result<std::vector<MessageId>> InsertMessages(std::span<const NewMessage> messages);

  // Where the account's mail came from in the last `hours` unix hours up to now's (the current,
  // partial hour included; 1 to kSourceHoursKept): for each kind the `top` values counted most.
  // Read from counters kept as messages arrive (InsertMessages), never from the messages. An
  // unknown account has none. Read only.
  virtual Result<MailSources> GetSources(AccountId account, int hours, TimePoint now, int top) = 0;

  // The header section of the account's unfinished message `id` (its body is kept until it is
  // finished): the text before the first empty line, at most kMaxHeaderSectionBytes (cut
  // there if longer). kNotFound if there is no such message, it is finished, or it is another
  // account's. Read only.
  virtual Result<std::string> GetMessageHeaders(AccountId account, MessageId id) = 0;

  // Claims up to request.limit messages that are due (next attempt <= now) and belong to
  // active accounts, oldest first, fairly across accounts; leases them to request.node until
  // request.lease_until. Never reads the held messages of a blocked or purging account; its
  // released ones (ReleaseHeld) are claimed as those of an active account. Messages whose
  // lease has run out are due again. The accounts in request.skip are not visited; those in
  // request.most give at most their number; request.max_bytes bounds their bodies' bytes.
  // Durable against a crash of the daemon, not of the
  // machine: the commit does not wait for the disk, and a power cut may undo the last leases,
  // which leaves their messages due again.
  virtual Result<ClaimedBatch> ClaimDue(const ClaimRequest& request) = 0;

  // Records the outcomes of delivery attempts, all in one transaction, and ends their leases.
  // Counts, on the local day of `now`, one error per recipient that failed and one sent
  // message per message finished with at least one recipient sent. Durable as ClaimDue: a power
  // cut may undo the last outcomes, and those messages are then delivered again.
  virtual Result<void> RecordOutcomes(std::span<const DeliveryOutcome> outcomes, TimePoint now) = 0;

  // Ends every lease held by node (at start: this node's earlier life died mid-delivery).
  virtual Result<void> ReleaseLeases(std::string_view node) = 0;

  // The earliest next attempt among the due-able messages of active accounts and the released
  // messages of held ones, if any; the scheduler sleeps until then or until woken by new mail.
  // The accounts in `skip` (waiting for their quota window, as in ClaimRequest) are left out.
  virtual Result<std::optional<TimePoint>> NextDueTime(std::span<const AccountId> skip) = 0;
  Result<std::optional<TimePoint>> NextDueTime() { return NextDueTime({}); }

  virtual Result<std::optional<StoredMessage>> GetMessage(MessageId id) = 0;

  // Daily error reports (DESIGN.md promise 5).
  //
  // The accounts with errors (failed deliveries or expired messages) counted on local day
  // `day` (YYYYMMDD) whose report of that day has not been claimed yet, ascending. Read only;
  // reads only the days' accounts with errors (an index on day), never the messages.
  virtual Result<std::vector<AccountId>> AccountsToReport(int day) = 0;
  // Claims the report of (account, day) and stores its message, in one transaction: returns
  // the message's id when this call claimed it (the claim and the message are durable
  // together, so a crash can neither lose the report nor let it be sent twice), nullopt when
  // the report of that day was claimed before, by this or another node (nothing is stored).
  // report is stored as InsertMessages stores a message (it counts as submitted for
  // report.account, the internal account). kNotFound: no account `account`.
  virtual Result<std::optional<MessageId>> ClaimReport(AccountId account, int day,
                                                       const NewMessage& report, TimePoint now) = 0;

  // Deletes up to `limit` finished messages (every recipient sent or failed: delivered,
  // bounced, expired) that finished before `cutoff`, with their recipients, the longest
  // finished first, and returns how many. Counters, volumes and sources stay (they are kept
  // apart from the messages); the errors list and the reports reach back to `cutoff` only.
  // Unfinished mail is never touched. Read through an index of finished messages by time.
  virtual Result<std::int64_t> DeleteFinished(TimePoint cutoff, int limit) = 0;

  // Totals over all accounts, from the accounts' counters (no message is read; the counter
  // sums read every account row once). Read only, one snapshot.
  virtual Result<StoreTotals> GetTotals() = 0;

  // Records a bounce that came back after hand-over, in one transaction, looking the message
  // up by its id alone (never a scan). A bounce recipient is matched to the message's
  // recipient of the same address (ASCII case-insensitive); one naming no recipient of a
  // message that has exactly one is that one's. A failure turns a recipient the relay took
  // (sent) into failed, with its reply and category, at `now`, and counts one error on the
  // local day of `now`, exactly as a refusal at hand-over (errors list, reports); a recipient
  // already failed or still pending is left as it is, so a bounce given twice counts once.
  // A delay is noted on the recipient (StoredRecipient::note), nothing counted. A message
  // that is not there (purged, deleted after store.keep_finished, never was) or is another
  // account's records nothing: found is false. Durable on success (the intake answers 250
  // after it).
  //
  // The bounces are recorded in the order given, all in one transaction (the intake's group
  // commit: bounces that arrive together share one fsync), each as if alone: a later one sees
  // what an earlier one did (the same bounce twice in a batch counts once). On failure nothing
  // of the batch is recorded. Returns what each did, in the order given.
  virtual Result<std::vector<BounceRecorded>> RecordBounces(std::span<const Bounce> bounces,
                                                            TimePoint now) = 0;
  // One bounce (RecordBounces).
  Result<BounceRecorded> RecordBounce(const Bounce& bounce, TimePoint now) {
    auto recorded = RecordBounces(std::span<const Bounce>(&bounce, 1), now);
    if (!recorded) return std::unexpected(std::move(recorded).error());
    return std::move(recorded->front());
  }
  // --- Content scanning (docs/scanning.md). A message stored with NewMessage::scan waits,
  // queued but never due, until RecordVerdict lets it go or quarantines it; held mail of a
  // blocked account waits (and is scanned) the same way. Every read below goes through a
  // partial index of the waiting or quarantined messages, never through the queue.

  // Up to `limit` waiting messages with ids above `after`, ascending, with their recipients;
  // purged ones left out. Read only.
  virtual Result<std::vector<UnscannedMessage>> ListUnscanned(MessageId after, int limit) = 0;
  // The whole message as stored, while it is still waiting; nullopt once it has a verdict, is
  // purged, deleted or expired. Read only.
  virtual Result<std::optional<std::string>> GetUnscannedBody(AccountId account, MessageId id) = 0;
  // Stores the verdicts of waiting messages, all in one transaction: each let go (due at once)
  // or quarantined (never due until released), with its result, counted scanned, quarantined
  // or suspicious on the local day of `now`. Returns, in the order given, whether each
  // applied: false, writing nothing for it, when the message no longer waits (another node's
  // verdict came first, or it was purged, deleted or expired). kNoSync, as outcomes: a verdict
  // a power cut undoes leaves the message waiting, and it is scanned again.
  virtual Result<std::vector<bool>> RecordVerdicts(std::span<const ScanVerdict> verdicts,
                                                   TimePoint now) = 0;
  // One verdict (RecordVerdicts).
  Result<bool> RecordVerdict(const ScanVerdict& verdict, TimePoint now) {
    auto applied = RecordVerdicts(std::span<const ScanVerdict>(&verdict, 1), now);
    if (!applied) return std::unexpected(std::move(applied).error());
    return applied->front();
  }
  // The account's quarantined messages (unfinished), newest first, up to limit, below
  // before_id when it is > 0; with recipients and verdicts, without bodies. Read only.
  virtual Result<std::vector<StoredMessage>> ListQuarantined(AccountId account, int limit,
                                                             MessageId before_id) = 0;
  // Lets the account's quarantined messages among `ids` go: due at once if the account is
  // active (held with the rest of its mail if it is not). Others are ignored. Returns how
  // many were released. One transaction, durable on success.
  virtual Result<std::int64_t> ReleaseQuarantined(AccountId account, std::span<const MessageId> ids,
                                                  TimePoint now) = 0;
  // Deletes the account's quarantined messages among `ids`, counted purged on the local day
  // of `now` (as DeleteHeld). Returns how many. One transaction, durable on success.
  virtual Result<std::int64_t> DeleteQuarantined(AccountId account, std::span<const MessageId> ids,
                                                 TimePoint now) = 0;
  // Expires quarantined messages received before cutoff, in any account, oldest first, as
  // ExpireHeld expires held mail (one error each, counted expired). Returns how many; call
  // again while it returns `limit`. One transaction.
  virtual Result<std::int64_t> ExpireQuarantined(TimePoint cutoff, int limit, TimePoint now) = 0;
  // Sender identity (docs/sender-identity.md). Domains are given normalised
  // (core/sender_domain.h's NormalizeDomain); every lookup is one of a primary key or index.

  // Lists `domain` as the account's. A domain belongs to one account: kConflict, naming the
  // account, when another has it; the account's own again changes nothing. kNotFound: no
  // account. Durable on success.
  virtual Result<void> AddDomain(AccountId account, std::string_view domain, TimePoint at) = 0;
  // Removes the account's `domain` (its DKIM keys stay: GetDkimKeys). kNotFound: the account
  // does not list it. Durable on success.
  virtual Result<void> RemoveDomain(AccountId account, std::string_view domain) = 0;
  // The account's domains, ascending. Read only.
  virtual Result<std::vector<std::string>> ListDomains(AccountId account) = 0;
  // Who owns the name: the first of DomainAndParents(name) that is listed; nullopt if none
  // is. One primary-key lookup per candidate. Read only.
  virtual Result<std::optional<DomainOwner>> FindDomainOwner(std::string_view name) = 0;

  // Stores a new key of key.domain (key.retired ignored: it signs from the commit on); with
  // retire_others, the domain's other signing keys are retired at key.created in the same
  // transaction (a rotation). kConflict: the domain has that selector already. Durable.
  virtual Result<void> AddDkimKey(const DkimKey& key, bool retire_others) = 0;
  // The domain's keys, newest first, retired ones too. Read only.
  virtual Result<std::vector<DkimKey>> GetDkimKeys(std::string_view domain) = 0;
  // Every signing key (not retired), by domain, newest first: what the signer keeps in memory.
  // Reads the whole (small) table. Read only.
  virtual Result<std::vector<DkimKey>> GetSigningKeys() = 0;
  // Deletes a key. kNotFound: no such key. Durable on success.
  virtual Result<void> DeleteDkimKey(std::string_view domain, std::string_view selector) = 0;

  // The account's messages held for themselves (NewMessage::held_reason), newest first, up to
  // limit, with ids below before_id when it is > 0; as ListPending. For an active account
  // these are its held mail; ReleaseHeld and DeleteHeld act on them alone (by ids or match),
  // for a blocked one on them with the rest. Read only.
  virtual Result<std::vector<StoredMessage>> ListHeldForSender(AccountId account, int limit,
                                                               MessageId before_id) = 0;
  // Counts a submission of the account refused by the From check on the local day of `at`
  // (a message held for its sender is counted as it is stored). Durable on success.
  virtual Result<void> CountSenderRefused(AccountId account, TimePoint at) = 0;
  // The From check's days of the account from first_day to last_day (YYYYMMDD, inclusive),
  // ascending; days with nothing held or refused are absent. Read only.
  virtual Result<std::vector<SenderCheckDay>> GetSenderChecks(AccountId account, int first_day,
                                                              int last_day) = 0;
  // --- Plans, limits and the event outbox.

  // Sets the account's plan ("" for none) and its own overrides (max_per_day and max_per_hour
  // aside: UpsertAccount's), replacing what was set. kNotFound: no account. Durable.
  virtual Result<void> SetAccountLimits(const AccountLimits& limits) = 0;
  // The account's plan and overrides (none set: an empty plan, no overrides).
  virtual Result<AccountLimits> GetAccountLimits(AccountId account) = 0;
  // Those of every account that is not deleted and has a plan or an override, by id.
  virtual Result<std::vector<AccountLimits>> ListAccountLimits() = 0;
  // The accounts (not deleted) whose own max_per_hour or max_per_day is set from 1 to
  // limit - 1, by id: those whose quota may cap a claim of `limit` messages (the scheduler
  // knows them before their mail comes). One read of the accounts' rows, no account built.
  virtual Result<std::vector<AccountId>> ListAccountsWithQuotaBelow(std::int64_t limit) = 0;

  // Claims the notice of (account, day, kind) (e.g. "limit.warning" of a day) and writes its
  // event, and, when given, stores its message as InsertMessages would (for the internal
  // account), all in one transaction: true when this call claimed it, false when it was
  // claimed before, by this node or another (nothing is written). Durable on success.
  virtual Result<bool> ClaimNotice(AccountId account, int day, std::string_view kind,
                                   const NewEvent& event,
                                   const std::optional<NewMessage>& message) = 0;

  // Claims, for node until lease_until, the oldest unsent event of each account whose turn it
  // is (due at now, not leased to a node whose lease lasts), up to limit, oldest first. An
  // account's next event is never claimed while an older one is unsent: events go out in
  // order per account, and each by one node at a time (a lease, as deliveries are leased).
  virtual Result<std::vector<OutboxEvent>> ClaimEvents(std::string_view node, TimePoint now,
                                                       TimePoint lease_until, int limit) = 0;
  // Records a round of sending an event, with its tries, in one transaction. Ignored (but its
  // tries are kept) when the event is no longer leased to attempt.node.
  virtual Result<void> RecordEventAttempt(const EventAttempt& attempt) = 0;
  // The latest attempts, newest first, up to limit (at most kEventAttemptsKept are kept).
  virtual Result<std::vector<EventAttemptRecord>> ListEventAttempts(int limit) = 0;
  // Writes one event in a transaction of its own, for causes outside the store's.
  virtual Result<void> AddEvent(const NewEvent& event) = 0;

  // --- Plans (DESIGN.md, "Plans and limits"): named sets of policy keys, shared by every node.

  // Every plan, by name. Read only.
  virtual Result<std::vector<PlanRecord>> ListPlans() = 0;
  // The plan of that name, or nullopt. Read only.
  virtual Result<std::optional<PlanRecord>> GetPlan(std::string_view name) = 0;
  // Creates the plan or replaces its keys, in one transaction with its audit record (under
  // the internal account, kSystemAccountName, made if missing: action CREATE or CHANGE, by
  // actor at `at`, the reason naming the plan and its keys); nothing is written when the keys
  // are the same (kUnchanged). Applies to the next message of every account on it, on every
  // node. Durable on success.
  virtual Result<AccountPutOutcome> PutPlan(const PlanRecord& plan, std::string_view actor,
                                            TimePoint at) = 0;
  // Deletes the plan, audited as PutPlan (action DELETE). kNotFound: no such plan; kConflict,
  // nothing written: accounts that are not deleted name it (the message says how many, and
  // the first few names). Durable on success.
  virtual Result<void> DeletePlan(std::string_view name, std::string_view actor, TimePoint at) = 0;

  // --- Suppression (policy.suppress_for; core/suppression.h). RecordOutcomes and RecordBounce
  // write a suppression, in their transaction, for each recipient they fail as a bad mailbox
  // or domain (replacing the address's earlier one); ClaimDue and InsertMessages' arrival
  // lease look each claimed recipient up by its primary key (account, address), never a scan.
  // DeleteFinished also deletes suppressions that have run out.

  // The account's suppressions that hold at `now`, by address, up to limit, with addresses
  // above `after` (the previous page's last). Read only; a range of the primary key.
  virtual Result<std::vector<Suppression>> ListSuppressions(AccountId account, TimePoint now,
                                                            int limit, std::string_view after) = 0;
  // Lifts the account's suppression of `address` (keyed as SuppressionAddress keys it): its
  // mail goes to the address again from the commit on. Audited in the same transaction: action
  // DELETE by `actor` ("customer", "admin") at `now`, the reason naming the address and what
  // the suppression was for. kNotFound, nothing written: none holds at `now`. Durable on
  // success.
  virtual Result<void> DeleteSuppression(AccountId account, std::string_view address,
                                         std::string_view actor, TimePoint now) = 0;

  // --- Complaints (docs/bounces.md). Records a feedback-loop report about the account's
  // message, found by its id alone: counts one complaint of the account on the local day of
  // `now` and writes the "complaint" event, in one transaction. A message that is not there
  // (purged, deleted after store.keep_finished) or is another account's records nothing:
  // found is false. Durable on success (the intake answers 250 after it). When the day's
  // counts then pass the complaint guard (Complaint::complaint_rate over at least
  // complaint_min sent) and the account is active, it is blocked as complaint_guard in the same
  // transaction, as SetAccountState blocks (audit record and events included); `blocked` says
  // so. The internal account is never blocked. A message counts one complaint at most: a
  // second report of it (the same report again, another reporter's) is `duplicate`, and
  // changes nothing.
  virtual Result<ComplaintRecorded> RecordComplaint(const Complaint& complaint, TimePoint now) = 0;

  // --- The fleet (the operator's overview). Writes the node's row: its version, when it
  // started and when it was last seen (a daemon calls it at start and now and then).
  virtual Result<void> RecordNodeSeen(const NodeSeen& node) = 0;
  // The fleet summary, in one read transaction: the accounts not active through their index,
  // the total by one count of the accounts (the only read of every account's row), the guard
  // blocks from the audit by time, the busiest from the sources of the recent hours (every
  // message counts once there, by its envelope sender), the nodes' rows. No message is read.
  virtual Result<FleetSummary> GetFleetSummary(const FleetQuery& query) = 0;

  // The newest message stored with this Message-ID (NewMessage::message_id, without angle
  // brackets), for a complaint whose original carries no return path of ours. nullopt when no
  // message has it, or when messages of more than one account have it (an id a script copied
  // from another's mail names neither).
  virtual Result<std::optional<MessageRef>> FindByMessageId(std::string_view message_id) = 0;

  // --- Message tracking. Each message's history (MessageEvent) is written by the operation
  // that makes it, in its transaction: stored (InsertMessages: how, held for itself), released
  // (ReleaseHeld, ReleaseQuarantined), each recipient's attempt (RecordOutcomes), a later
  // bounce or delay (RecordBounce), quarantined (RecordVerdicts), expired (ExpireHeld,
  // ExpireQuarantined). It goes with the message (DeleteFinished, a purge, DeleteHeld). A block,
  // unblock or purge of the whole account writes no row per message: its audit record says it.

  // The account's messages as `search` selects them, newest first: a term's through an index
  // of the terms stored with each message (SearchTerm of its recipients, envelope sender, From
  // address, Message-ID and subject), a finished status's through the messages' outcome, an
  // unfinished one's through the queue; at most kMaxSearchCandidates read. Read only.
  virtual Result<MessageSearchPage> SearchMessages(AccountId account,
                                                   const MessageSearch& search) = 0;
  // The account's message `id` with its history, oldest first; nullopt if it is not there
  // (another account's, deleted after store.keep_finished, purged and deleted). Read only.
  virtual Result<std::optional<TrackedMessage>> GetTrackedMessage(AccountId account,
                                                                  MessageId id) = 0;
};

std::string_view DkimAlgorithmName(DkimAlgorithm algorithm);  // "rsa", "ed25519"
std::optional<DkimAlgorithm> ParseDkimAlgorithm(std::string_view name);

// What a store is told at its opening (config's [store]).
struct StoreOptions {
  // Distinct values of each kind of source one account gets rows for in one unix hour; the
  // messages of further values of that hour are counted in one row for the rest ("other",
  // MailSources::other). Bounds the rows that values chosen by an account's scripts make:
  // at most 4 * (this + 1) an account and hour.
  std::int64_t max_sources_per_hour = kDefaultMaxSourcesPerHour;
  // What InsertMessages keeps at most (none by default).
  StorageLimits storage{};
};

// Opens (creating if needed) and migrates the store named by url: "sqlite:/abs/path.db" or
// "postgresql://...". Fails with kInvalidInput for an unknown scheme, kUnavailable when the
// database cannot be reached or migrated.
Result<std::unique_ptr<Store>> OpenStore(std::string_view url, const StoreOptions& options = {});

}  // namespace mailwarden
