// Every statement the SQL store runs, named once for both engines, with its contract: the
// parameters in order (?1 ...) and the columns it returns. The text is per engine where the
// engines differ (sqlite_sql.cc, pg_sql.cc) and shared where it is the same (sql_text.cc).
// An engine's text may leave trailing parameters unused; both sessions bind only as many as
// the text names. A statement one engine does not use has no text there and is never run on it.
#pragma once

#include <string_view>

namespace mailwarden {

enum class Sql {
  // Accounts.
  kSelectAccountIdByName,  // (name) -> account_id
  kUpsertAccount,          // SQLite: (name, report_to, language, max/day, max/hour, now) -> id
  kInsertAccountName,      // PostgreSQL: (name) -> account_id, or no row if the name exists
  kInsertAccount,          // PostgreSQL: (id, name, report_to, language, max/day, max/hour, now)
  kUpdateAccount,          // PostgreSQL: (id, report_to, language, max/day, max/hour)
  kDeleteAccountUids,      // (account)
  kPutAccountUid,          // (uid, account)
  kSelectAccountById,      // (id) -> {account_columns}
  kSelectAccountIdByUid,   // (uid) -> account_id
  kSelectAccountUids,      // (account) -> uid, ascending
  kSelectAllAccounts,      // () -> {account_columns}, by id
  kSelectAllAccountUids,   // () -> account_id, uid, by both
  // The accounts overview (ListAccountPage): each -> {account_columns}, released_pending,
  // sent, errors, quarantined and complaints today. Parameters: (day, after, state, blocked_by,
  // name LIKE pattern,
  // limit, after_id[, recent_from_hour]); after is a name for ByName, a value otherwise; empty
  // filters are off; only ByRecent reads recent_from_hour.
  kSelectAccountPageByName,
  kSelectAccountPageBySent,
  kSelectAccountPageByErrors,
  kSelectAccountPageByPending,
  kSelectAccountPageByComplaints,
  kSelectAccountPageByQuarantined,
  kSelectAccountPageByErrorRate,
  kSelectAccountPageByHeld,
  kSelectAccountPageByQueued,
  kSelectAccountPageByRecent,
  kSelectAccountPageByNameLike,  // by name, of the names LIKE ?5 (not empty)
  kSelectAccountState,           // (id) -> state, name, pending, pending_bytes, deleted_ms
  kLockAccountState,             // (id) -> state; the row locked until the end of the transaction
  kSetAccountStateFull,     // (id, state, blocked_by, reason, since, from_state, tolerance_until,
                            //  from_blocked_by)
  kSetPurgeWatermark,       // (account, purged before) -> how many were purged now
  kClearReleased,           // (account)
  kZeroReleasedPending,     // (account)
  kInsertAudit,             // (at, account, actor, action, from, to, reason)
  kSelectAudit,             // (before_id, limit) -> id, at, name, actor, action, from, to, reason
  kSelectAuditOfAccount,    // (before_id, limit, account) -> as kSelectAudit
  kSelectAccountsInState,   // (state, 1 if it is active else 0) -> id, ascending
  kInsertToken,             // (hash, account, now, expires: 0 for never)
  kSelectAccountIdByToken,  // (hash, now) -> account_id, if not expired
  kSelectTokens,            // (account) -> id (kTokenIdChars of the hash), created, expires
  kDeleteToken,             // (account, id)
  kSetSmtpPassword,         // (account, hash)
  kSelectSmtpPassword,      // (account) -> hash or NULL
  // Messages in.
  kInsertMessage,    // per engine (SqlStore::InsertMessageRow)
  kInsertRecipient,  // (message, idx, account, address, received)
  kBumpAccount,      // (account, pending, released, purge_left, submitted, sent, errors,
                     //  expired, purged, pending_bytes): each added
  kBumpDay,          // (account, day, submitted, sent, errors, expired, purged): each added
  kBumpSource,       // (account, kind, hour, value, count): count added
  kPruneSources,     // (below hour, limit)
  // Delivery.
  kSelectDueAccounts,  // (now, limit) -> account, released_only, purge epoch; longest waiting first
  kSelectDueMessages,  // (account, now, limit, epoch) -> id, size; oldest due first
  kSelectDueReleased,  // (account, now, limit) -> id, size; oldest due first
  kSelectAccountName,  // (id) -> name
  kLeaseMessage,       // SQLite: (id, lease_until, node, 1 if the body is read alone)
                       //   -> sender, subject, attempts, received, body or NULL
  kSelectPendingRecipients,  // SQLite: (id) -> idx, address
  kLeaseMessages,            // PostgreSQL: (accounts[], ids[], lease_until, node, large body size)
                             //   -> id, sender, subject, attempts, received, body or NULL
  kSelectLeasedBody,         // PostgreSQL: (account, id) -> body
  kSelectClaimedRecipients,  // PostgreSQL: (accounts[], ids[]) -> message, idx, address
  kLockMessageState,  // (id) -> account, status, purged (0/1), may have released marks (0/1),
                      //  size
  kUpdateRecipient,   // (account, message, idx, status, reply, now, category); only a pending one
  kRecipientStates,   // (account, message) -> any pending (0/1), any sent (0/1)
  kRequeueMessage,    // (account, message, next attempt)
  kFinishMessage,     // (account, message, now)
  kReleaseLeases,     // (node)
  kSelectNextDue,     // (limit) -> account, head; earliest first
  // Held mail, purges, expiry, history.
  kSelectMessage,          // (id) -> account, sender, subject, script, uid, size, status, attempts,
                           //   received, next attempt; none if purged
  kSelectRecipients,       // (account, message) -> idx, address, status, reply, updated,
                           //   category, note
  kLockPurgeState,         // (account) -> purge_upto, purge_left, state; the row locked
  kSelectPurgeBatch,       // (account, upto, limit) -> id, ascending
  kDeleteMessage,          // (account, id): an unfinished one, with its recipients and mark
  kDeletePurged,           // PostgreSQL: (account, ids[]): as kDeleteMessage, for many
  kDeleteFinished,         // (cutoff, limit): the longest finished first
  kForgetReleased,         // (account, message)
  kSelectHoldingAccounts,  // (after id) -> id of held accounts with unfinished mail, ascending
  kSelectUnfinishedPage,   // (account, after id, limit) -> id, status, received, size;
                           //   unpurged, ascending, locked
  kIsReleased,             // (account, message) -> 0/1
  kSelectMessageSize,      // (account, message) -> size
  kExpireRecipients,       // (account, message, reply, now): every pending one failed
  kSelectPendingPage,      // (account, before id, limit) -> id, descending
  kSelectHeldById,         // (id, account) -> id if queued and not purged; locked
  kSelectHeldByMatch,      // (account, from, to, subject: lower case, '' for any, limit,
                           //  1 to leave out released mail, 1 for mail held for itself only)
                           //  -> id, ascending
  kInsertReleased,         // (account, message)
  kSelectMessageHead,      // (id, account, max bytes) -> the body's first bytes; unfinished only
  // Counters and reports.
  kSelectCounters,  // (account) -> state, pending, released_pending, submitted, sent, errors,
                    //   expired, purged
  kSelectDay,       // (account, day) -> sent, errors
  kSelectVolumes,   // (account, first day, last day) -> day, submitted, sent, errors, expired,
                    //   purged
  kSelectErrors,    // (account, since, cursor at, cursor message, cursor idx, limit) -> at,
                    //  message, idx, address, reply, subject, category; newest first
  kSelectAccountsToReport,  // (day) -> account_id
  kInsertReport,            // (account, day, now); no change if claimed before
  kSetReportMessage,        // (account, day, message)
  kSelectTotals,   // () -> active pending, held pending, released of held, submitted, sent,
                   //   errors, expired, purged
  kSelectSources,  // (account, kind, first hour excluded, last hour, limit) -> value, count
  // Provisioning.
  kMarkAccountDeleted,     // (id, name no account can take, now): no SMTP password either
  kDeleteAccountTokens,    // (account)
  kDeleteAccountName,      // PostgreSQL: (name)
  kSelectDeletedAccounts,  // (deleted before, limit) -> id
  kSelectPurgedRowsLeft,   // () -> id of accounts with purge_left > 0, ascending
  kRemoveAccountSources,   // (account)
  kRemoveAccountDays,      // (account)
  kRemoveAccountReports,   // (account)
  kRemoveAccountAudit,     // (account)
  kRemoveAccountMessages,  // (account): with their recipients and released marks
  kRemoveAccountRow,       // (account)
  kAccountRowNamed,        // SQLite: (account) -> 1 if a row whose foreign key names it is left
  kNotify,                 // PostgreSQL: (channel, payload)
  // Bounces that come later.
  kFailSentRecipient,  // (account, message, idx, reply, now, category); only a sent one
  kNoteRecipient,      // (account, message, idx, note)
  // Content scanning.
  kMarkForScan,            // (account, message): waiting for its verdict, never due until then
  kSelectUnscanned,        // (after id, limit) -> id, account, name, sender, script, uid, size;
                           //   waiting and not purged, ascending
  kSelectUnscannedBody,    // (account, message) -> body, if still waiting
  kSetVerdict,             // (account, message, scan_state, action, score milli, symbols, now);
                           //   only a waiting, unpurged one
  kBumpScanDay,            // (account, day, scanned, quarantined, suspicious): each added
  kSelectScanResult,       // (account, message) -> scan_state, action, score milli, symbols
  kSelectQuarantinedPage,  // (account, before id, limit) -> id, descending; unpurged
  kSelectQuarantinedById,  // (account, message) -> size, if quarantined and unpurged
  kReleaseQuarantined,     // (account, message): let go, due at once
  kSelectQuarantineAged,   // (received before, limit) -> id, account, size; unpurged, oldest
  kSelectScanVolumes,      // (account, first day, last day) -> day, scanned, quarantined,
                           //   suspicious
  // Sender identity.
  kInsertDomain,               // (domain, account, now); no change if the domain is listed
  kSelectDomainOwner,          // (domain) -> account_id, account name
  kDeleteDomain,               // (account, domain)
  kSelectDomains,              // (account) -> domain, ascending
  kDeleteAccountDomains,       // (account)
  kInsertDkimKey,              // (domain, selector, algorithm, private, public, now); no change if
                               //   the selector exists
  kRetireDkimKeys,             // (domain, now, selector kept): every other signing key retired
  kSelectDkimKeys,             // (domain) -> selector, algorithm, private, public, created,
                               //   retired; newest first
  kSelectSigningKeys,          // () -> domain, selector, algorithm, private, public, created,
                               //   account listing the domain (0: none)
  kDeleteDkimKey,              // (domain, selector)
  kInsertHeldForSender,        // (account, message, reason)
  kSetNeverDue,                // (account, message, never-due ms)
  kIsHeldForSender,            // (account, message) -> reason; no row if not held for itself
  kForgetHeldForSender,        // (account, message)
  kMakeDue,                    // (account, message, now): a queued message due now
  kSelectHeldForSenderPage,    // (account, before id, limit) -> message id, descending, unpurged
  kCountHeldForSender,         // (account) -> how many, unpurged
  kSelectHeldForSenderDue,     // (received before, limit) -> account, message, size; queued,
                               //   unpurged, oldest first
  kBumpSenderChecks,           // (account, day, held, refused): each added
  kSelectSenderChecks,         // (account, first day, last day) -> day, held, refused; by day
  kRemoveAccountSenderChecks,  // (account)
  // Plans, limits and the event outbox.
  kPutAccountLimits,        // (account, plan, limits)
  kSelectAccountLimits,     // (account) -> plan, limits
  kSelectAllAccountLimits,  // () -> account, plan, limits; of accounts not deleted
  kRemoveAccountLimits,     // (account)
  kRemoveAccountNotices,    // (account)
  kInsertNotice,            // (account, day, kind); no change if claimed before
  kInsertEvent,             // (account, type, at, data); the account's name from its row
  kSelectEventHeads,        // (now, limit) -> account, id: each account's oldest, if its turn
  kLeaseEvent,              // (account, id, node, lease until, now): changed 1 if leased
  kSelectEvent,             // (account, id) -> name, type, at, data, attempts, sent_to
  kFinishEvent,             // (account, id, node)
  kRetryEvent,              // (account, id, node, next attempt, sent_to)
  kInsertEventAttempt,      // (at, event, account name, type, url, node, status, reply)
  kPruneEventAttempts,      // (kept)
  kSelectEventAttempts,     // (limit) -> id, at, event, name, type, url, node, status, reply
  // Plans.
  kPutPlan,          // (name, limits)
  kSelectPlan,       // (name) -> limits
  kSelectPlans,      // () -> name, limits; by name
  kDeletePlan,       // (name)
  kSelectPlanUsers,  // (plan, limit) -> account name; accounts not deleted, by name
  kCountPlanUsers,   // (plan) -> how many accounts not deleted name it
  // Suppression.
  kSelectSuppression,          // (account, address, now) -> category, status, reply, message,
                               //   at, until; if it holds at now
  kPutSuppression,             // (account, address, category, status, reply, message, at, until)
  kSelectSuppressionPage,      // (account, after address, now, limit) -> address, category,
                               //   status, reply, message, at, until; by address
  kDeleteSuppression,          // (account, address, now): if it holds at now
  kPruneSuppressions,          // (ran out before, limit)
  kSelectRecipientAddress,     // (account, message, index) -> address
  kRemoveAccountSuppressions,  // (account)
  // Complaints.
  kBumpComplaints,     // (account, day) -> complaints, sent: the day's, after adding one
  kSelectByMessageId,  // (message_id) -> id, account_id; newest first, at most 8
  // The fleet.
  kPutNode,               // (name, version, started, seen)
  kSelectNodes,           // () -> name, version, started, seen; by name
  kCountAccountStates,    // () -> state, blocked_by, accounts; not active, not deleted, not the
                          //   system's
  kCountAccounts,         // () -> accounts; not deleted, not the system's
  kSelectGuardBlocks,     // (since, limit) -> at, name, actor, reason, still blocked by it (0/1);
                          //   newest first
  kSelectBusyAccounts,    // (from hour, limit) -> name, submitted; most first
  kSelectSubmittedSince,  // (account, from hour) -> submitted
  // Message tracking. {tracked_columns}: id, status, outcome, received, scan_state, purged
  // (0/1), held for itself (0/1), released (0/1).
  kInsertMessageEvent,    // (account, message, at, kind, recipient, detail)
  kInsertMessageTerm,     // (account, message, term); no change if the message has it
  kSetOutcome,            // (account, message): a finished one's outcome, from its recipients
  kSelectMessageEvents,   // (account, message) -> at, kind, recipient, detail; oldest first
  kSearchFinished,        // (account, before id, limit) -> {tracked_columns}; newest first
  kSearchByOutcome,       // (account, before id, limit, outcome) -> as kSearchFinished
  kSearchUnfinished,      // (account, before id, limit) -> as kSearchFinished; purged ones too
  kSearchByTerm,          // (account, before id, limit, term) -> as kSearchFinished
  kSelectTrackedMessage,  // (account, message) -> sender, subject, script, uid, size, attempts,
                          //   next attempt, done or NULL, {tracked_columns}
  kSelectAccountsWithQuotaBelow,  // (limit) -> id; not deleted, own max_per_hour or max_per_day
                                  //   from 1 to limit - 1; by id
  kLockAccountsOfMessages,        // PostgreSQL: (ids[]): locks the messages' accounts' rows in
                                  //   id order
  kMarkComplained,                // (account, message); changes none if it was already
  // PostgreSQL: a batch's statements of one kind as one statement over arrays (unnest), each
  // doing for every item what the statement named does for one.
  kLockMessageStates,    // (ids[]) -> id, then kLockMessageState's columns; by id
  kUpdateRecipients,     // (accounts[], messages[], idxs[], statuses[], replies[], categories[],
                         //   now) -> message, idx of each one changed (kUpdateRecipient)
  kRecipientStatesOf,    // (accounts[], messages[]) -> message, kRecipientStates' columns
  kFinishMessages,       // (accounts[], messages[], now): kFinishMessage and kSetOutcome
  kInsertMessageEvents,  // (accounts[], messages[], at, kinds[], recipients[], details[])
  kSelectSuppressions,   // (accounts[], addresses[], now) -> item (from 1), then
                         //   kSelectSuppression's columns
  kForgetReleasedOf,     // (accounts[], messages[]) -> message of each mark deleted
  kCount,
};

inline constexpr int kSqlCount = static_cast<int>(Sql::kCount);

// The statement's name as written above ("kSelectDueAccounts"), for plans and errors.
std::string_view SqlName(Sql sql);

}  // namespace mailwarden
