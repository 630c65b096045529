#include "store/sql/sql_text.h"

#include <fmt/format.h>

#include <array>
#include <cctype>

#include "store/schema.h"

namespace mailwarden {
namespace {

constexpr std::array<std::string_view, kSqlCount> kNames = {
    "kSelectAccountIdByName",
    "kUpsertAccount",
    "kInsertAccountName",
    "kInsertAccount",
    "kUpdateAccount",
    "kDeleteAccountUids",
    "kPutAccountUid",
    "kSelectAccountById",
    "kSelectAccountIdByUid",
    "kSelectAccountUids",
    "kSelectAllAccounts",
    "kSelectAllAccountUids",
    "kSelectAccountPageByName",
    "kSelectAccountPageBySent",
    "kSelectAccountPageByErrors",
    "kSelectAccountPageByPending",
    "kSelectAccountPageByComplaints",
    "kSelectAccountPageByQuarantined",
    "kSelectAccountPageByErrorRate",
    "kSelectAccountPageByHeld",
    "kSelectAccountPageByQueued",
    "kSelectAccountPageByRecent",
    "kSelectAccountPageByNameLike",
    "kSelectAccountState",
    "kLockAccountState",
    "kSetAccountStateFull",
    "kSetPurgeWatermark",
    "kClearReleased",
    "kZeroReleasedPending",
    "kInsertAudit",
    "kSelectAudit",
    "kSelectAuditOfAccount",
    "kSelectAccountsInState",
    "kInsertToken",
    "kSelectAccountIdByToken",
    "kSelectTokens",
    "kDeleteToken",
    "kSetSmtpPassword",
    "kSelectSmtpPassword",
    "kInsertMessage",
    "kInsertRecipient",
    "kBumpAccount",
    "kBumpDay",
    "kBumpSource",
    "kPruneSources",
    "kSelectDueAccounts",
    "kSelectDueMessages",
    "kSelectDueReleased",
    "kSelectAccountName",
    "kLeaseMessage",
    "kSelectPendingRecipients",
    "kLeaseMessages",
    "kSelectLeasedBody",
    "kSelectClaimedRecipients",
    "kLockMessageState",
    "kUpdateRecipient",
    "kRecipientStates",
    "kRequeueMessage",
    "kFinishMessage",
    "kReleaseLeases",
    "kSelectNextDue",
    "kSelectMessage",
    "kSelectRecipients",
    "kLockPurgeState",
    "kSelectPurgeBatch",
    "kDeleteMessage",
    "kDeletePurged",
    "kDeleteFinished",
    "kForgetReleased",
    "kSelectHoldingAccounts",
    "kSelectUnfinishedPage",
    "kIsReleased",
    "kSelectMessageSize",
    "kExpireRecipients",
    "kSelectPendingPage",
    "kSelectHeldById",
    "kSelectHeldByMatch",
    "kInsertReleased",
    "kSelectMessageHead",
    "kSelectCounters",
    "kSelectDay",
    "kSelectVolumes",
    "kSelectErrors",
    "kSelectAccountsToReport",
    "kInsertReport",
    "kSetReportMessage",
    "kSelectTotals",
    "kSelectSources",
    "kMarkAccountDeleted",
    "kDeleteAccountTokens",
    "kDeleteAccountName",
    "kSelectDeletedAccounts",
    "kSelectPurgedRowsLeft",
    "kRemoveAccountSources",
    "kRemoveAccountDays",
    "kRemoveAccountReports",
    "kRemoveAccountAudit",
    "kRemoveAccountMessages",
    "kRemoveAccountRow",
    "kAccountRowNamed",
    "kNotify",
    "kFailSentRecipient",
    "kNoteRecipient",
    "kMarkForScan",
    "kSelectUnscanned",
    "kSelectUnscannedBody",
    "kSetVerdict",
    "kBumpScanDay",
    "kSelectScanResult",
    "kSelectQuarantinedPage",
    "kSelectQuarantinedById",
    "kReleaseQuarantined",
    "kSelectQuarantineAged",
    "kSelectScanVolumes",
    "kInsertDomain",
    "kSelectDomainOwner",
    "kDeleteDomain",
    "kSelectDomains",
    "kDeleteAccountDomains",
    "kInsertDkimKey",
    "kRetireDkimKeys",
    "kSelectDkimKeys",
    "kSelectSigningKeys",
    "kDeleteDkimKey",
    "kInsertHeldForSender",
    "kSetNeverDue",
    "kIsHeldForSender",
    "kForgetHeldForSender",
    "kMakeDue",
    "kSelectHeldForSenderPage",
    "kCountHeldForSender",
    "kSelectHeldForSenderDue",
    "kBumpSenderChecks",
    "kSelectSenderChecks",
    "kRemoveAccountSenderChecks",
    "kPutAccountLimits",
    "kSelectAccountLimits",
    "kSelectAllAccountLimits",
    "kRemoveAccountLimits",
    "kRemoveAccountNotices",
    "kInsertNotice",
    "kInsertEvent",
    "kSelectEventHeads",
    "kLeaseEvent",
    "kSelectEvent",
    "kFinishEvent",
    "kRetryEvent",
    "kInsertEventAttempt",
    "kPruneEventAttempts",
    "kSelectEventAttempts",
    "kPutPlan",
    "kSelectPlan",
    "kSelectPlans",
    "kDeletePlan",
    "kSelectPlanUsers",
    "kCountPlanUsers",
    "kSelectSuppression",
    "kPutSuppression",
    "kSelectSuppressionPage",
    "kDeleteSuppression",
    "kPruneSuppressions",
    "kSelectRecipientAddress",
    "kRemoveAccountSuppressions",
    "kBumpComplaints",
    "kSelectByMessageId",
    "kPutNode",
    "kSelectNodes",
    "kCountAccountStates",
    "kCountAccounts",
    "kSelectGuardBlocks",
    "kSelectBusyAccounts",
    "kSelectSubmittedSince",
    "kInsertMessageEvent",
    "kInsertMessageTerm",
    "kSetOutcome",
    "kSelectMessageEvents",
    "kSearchFinished",
    "kSearchByOutcome",
    "kSearchUnfinished",
    "kSearchByTerm",
    "kSelectTrackedMessage",
    "kSelectAccountsWithQuotaBelow",
    "kLockAccountsOfMessages",
    "kMarkComplained",
    "kLockMessageStates",
    "kUpdateRecipients",
    "kRecipientStatesOf",
    "kFinishMessages",
    "kInsertMessageEvents",
    "kSelectSuppressions",
    "kForgetReleasedOf",
};
static_assert(kNames.back() == "kForgetReleasedOf", "kNames follows enum Sql");

// The earliest next attempt among the unfinished messages of active account a.id: one seek of
// messages_due within the account's purge epoch, so that purged rows still on disk (all due
// long ago) are never read.
constexpr std::string_view kActiveHead =
    "(SELECT m.next_attempt_ms FROM {messages} m WHERE m.account_id = a.id"
    " AND m.purge_epoch = a.purge_upto AND m.status < {done}"
    " ORDER BY m.next_attempt_ms LIMIT 1)";

// The earliest next attempt among the released messages of held account a.id.
constexpr std::string_view kReleasedHead =
    "(SELECT MIN(m.next_attempt_ms) FROM {released} r JOIN {messages} m"
    " ON m.account_id = r.account_id AND m.id = r.message_id"
    " WHERE r.account_id = a.id AND m.status < {done})";

// Where a message of account a stands, for tracking (kSearchFinished and the other searches): each
// flag one primary-key lookup.
constexpr std::string_view kTrackedColumns =
    "m.id, m.status, m.outcome, m.received_ms, m.scan_state,"
    " CASE WHEN m.status < {done} AND m.id <= a.purge_upto THEN 1 ELSE 0 END,"
    " CASE WHEN EXISTS (SELECT 1 FROM {held_messages} h WHERE h.account_id = m.account_id"
    " AND h.message_id = m.id) THEN 1 ELSE 0 END,"
    " CASE WHEN EXISTS (SELECT 1 FROM {released} r WHERE r.account_id = m.account_id"
    " AND r.message_id = m.id) THEN 1 ELSE 0 END";

// A finished message m's outcome from its recipients: 3 expired, 2 failed, 1 delivered
// (kSetOutcome for one message, PostgreSQL's kFinishMessages for a batch).
constexpr std::string_view kOutcomeOfM =
    "CASE WHEN EXISTS (SELECT 1 FROM {recipients} r WHERE r.account_id = m.account_id"
    " AND r.message_id = m.id AND r.status = {r_failed} AND r.category = 'expired') THEN 3"
    " WHEN EXISTS (SELECT 1 FROM {recipients} r WHERE r.account_id = m.account_id"
    " AND r.message_id = m.id AND r.status = {r_failed}) THEN 2 ELSE 1 END";

}  // namespace

std::string_view SqlName(Sql sql) { return kNames[static_cast<std::size_t>(sql)]; }

std::string_view SharedSqlText(Sql sql) {
  switch (sql) {
    case Sql::kFailSentRecipient:
      return "UPDATE {recipients} SET status = {r_failed}, reply = ?4, updated_ms = ?5, "
             "category = ?6 WHERE account_id = ?1 AND message_id = ?2 AND idx = ?3 "
             "AND status = {r_sent}";
    case Sql::kMarkComplained:
      // One complaint per message: a feedback report sent twice, or a second reporter's report
      // of the same message, finds it marked.
      return "UPDATE {messages} SET complained = 1 WHERE account_id = ?1 AND id = ?2 "
             "AND complained = 0";
    case Sql::kNoteRecipient:
      return "UPDATE {recipients} SET note = ?4 WHERE account_id = ?1 AND message_id = ?2 "
             "AND idx = ?3";
    case Sql::kPutAccountLimits:
      return "INSERT INTO {account_limits} (account_id, plan, limits) VALUES (?1, ?2, ?3) "
             "ON CONFLICT (account_id) DO UPDATE SET plan = excluded.plan, "
             "limits = excluded.limits";
    case Sql::kSelectAccountLimits:
      return "SELECT plan, limits FROM {account_limits} WHERE account_id = ?1";
    case Sql::kSelectAllAccountLimits:
      return "SELECT l.account_id, l.plan, l.limits FROM {account_limits} l "
             "JOIN {accounts} a ON a.id = l.account_id WHERE a.deleted_ms = 0 "
             "ORDER BY l.account_id";
    case Sql::kRemoveAccountLimits:
      return "DELETE FROM {account_limits} WHERE account_id = ?1";
    case Sql::kRemoveAccountNotices:
      return "DELETE FROM {notices} WHERE account_id = ?1";
    case Sql::kInsertNotice:
      return "INSERT INTO {notices} (account_id, day, kind) VALUES (?1, ?2, ?3) "
             "ON CONFLICT DO NOTHING";
    case Sql::kInsertEvent:
      return "INSERT INTO {events} (account_id, account_name, type, at_ms, data) "
             "SELECT id, name, CAST(?2 AS TEXT), CAST(?3 AS BIGINT), CAST(?4 AS TEXT) "
             "FROM {accounts} WHERE id = ?1";
    case Sql::kSelectEventHeads:
      // Each account's oldest unsent event (events_by_account, or the primary key), and only
      // if that one is due and not leased: the next of an account waits for it.
      return "SELECT e.account_id, e.id FROM {events} e WHERE e.id = (SELECT MIN(f.id) "
             "FROM {events} f WHERE f.account_id = e.account_id) AND e.next_attempt_ms <= ?1 "
             "AND e.lease_until_ms <= ?1 ORDER BY e.id LIMIT ?2";
    case Sql::kLeaseEvent:
      // Compare and set: of two nodes choosing the same event, one leases it.
      return "UPDATE {events} SET lease_node = ?3, lease_until_ms = ?4, attempts = attempts + 1 "
             "WHERE account_id = ?1 AND id = ?2 AND lease_until_ms <= ?5";
    case Sql::kSelectEvent:
      return "SELECT account_name, type, at_ms, data, attempts, sent_to FROM {events} "
             "WHERE account_id = ?1 AND id = ?2";
    case Sql::kFinishEvent:
      return "DELETE FROM {events} WHERE account_id = ?1 AND id = ?2 AND lease_node = ?3";
    case Sql::kRetryEvent:
      return "UPDATE {events} SET next_attempt_ms = ?4, sent_to = ?5, lease_node = '', "
             "lease_until_ms = 0 WHERE account_id = ?1 AND id = ?2 AND lease_node = ?3";
    case Sql::kInsertEventAttempt:
      return "INSERT INTO {event_attempts} (at_ms, event_id, account_name, type, url, node, "
             "status, reply) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
    case Sql::kPruneEventAttempts:
      return "DELETE FROM {event_attempts} WHERE id <= (SELECT MAX(id) FROM {event_attempts}) "
             "- CAST(?1 AS BIGINT)";
    case Sql::kSelectEventAttempts:
      return "SELECT id, at_ms, event_id, account_name, type, url, node, status, reply "
             "FROM {event_attempts} ORDER BY id DESC LIMIT ?1";
    case Sql::kPutPlan:
      return "INSERT INTO {plans} (name, limits) VALUES (?1, ?2) "
             "ON CONFLICT (name) DO UPDATE SET limits = excluded.limits";
    case Sql::kSelectPlan:
      return "SELECT limits FROM {plans} WHERE name = ?1";
    case Sql::kSelectPlans:
      return "SELECT name, limits FROM {plans} ORDER BY name";
    case Sql::kDeletePlan:
      return "DELETE FROM {plans} WHERE name = ?1";
    case Sql::kSelectPlanUsers:
      return "SELECT a.name FROM {account_limits} l JOIN {accounts} a ON a.id = l.account_id "
             "WHERE l.plan = ?1 AND a.deleted_ms = 0 ORDER BY a.name LIMIT ?2";
    case Sql::kCountPlanUsers:
      return "SELECT COUNT(*) FROM {account_limits} l JOIN {accounts} a ON a.id = l.account_id "
             "WHERE l.plan = ?1 AND a.deleted_ms = 0";
    case Sql::kSelectSuppression:
      return "SELECT category, status, reply, message_id, at_ms, until_ms FROM {suppressions} "
             "WHERE account_id = ?1 AND address = ?2 AND until_ms > ?3";
    case Sql::kPutSuppression:
      return "INSERT INTO {suppressions} (account_id, address, category, status, reply, "
             "message_id, at_ms, until_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
             "ON CONFLICT (account_id, address) DO UPDATE SET category = excluded.category, "
             "status = excluded.status, reply = excluded.reply, "
             "message_id = excluded.message_id, at_ms = excluded.at_ms, "
             "until_ms = excluded.until_ms";
    case Sql::kSelectSuppressionPage:
      return "SELECT address, category, status, reply, message_id, at_ms, until_ms "
             "FROM {suppressions} WHERE account_id = ?1 AND address > ?2 AND until_ms > ?3 "
             "ORDER BY address LIMIT ?4";
    case Sql::kDeleteSuppression:
      return "DELETE FROM {suppressions} WHERE account_id = ?1 AND address = ?2 "
             "AND until_ms > ?3";
    case Sql::kPruneSuppressions:
      return "DELETE FROM {suppressions} WHERE (account_id, address) IN (SELECT account_id, "
             "address FROM {suppressions} WHERE until_ms <= ?1 ORDER BY until_ms LIMIT ?2)";
    case Sql::kSelectRecipientAddress:
      return "SELECT address FROM {recipients} WHERE account_id = ?1 AND message_id = ?2 "
             "AND idx = ?3";
    case Sql::kRemoveAccountSuppressions:
      return "DELETE FROM {suppressions} WHERE account_id = ?1";
    case Sql::kPutNode:
      return "INSERT INTO {nodes} (name, version, started_ms, seen_ms) VALUES (?1, ?2, ?3, ?4) "
             "ON CONFLICT (name) DO UPDATE SET version = excluded.version, "
             "started_ms = excluded.started_ms, seen_ms = excluded.seen_ms";
    case Sql::kSelectNodes:
      return "SELECT name, version, started_ms, seen_ms FROM {nodes} ORDER BY name";
    case Sql::kCountAccountStates:
      // Those not active through accounts_by_state (its WHERE repeated): the blocked and
      // purging accounts' rows only.
      return "SELECT state, blocked_by, COUNT(*) FROM {accounts} "
             "WHERE state <> 'active' AND deleted_ms = 0 AND substr(name, 1, 1) <> '_' "
             "GROUP BY state, blocked_by ORDER BY state, blocked_by";
    case Sql::kSelectAccountsWithQuotaBelow:
      // The first term repeats accounts_with_quota's WHERE (SQLite takes a partial index only
      // for a query that does): only the few accounts with a quota of their own are read.
      return "SELECT id FROM {accounts} WHERE (max_per_hour > 0 OR max_per_day > 0) "
             "AND deleted_ms = 0 AND "
             "((max_per_hour > 0 AND max_per_hour < ?1) OR (max_per_day > 0 AND max_per_day < ?1)) "
             "ORDER BY id";
    case Sql::kCountAccounts:
      // By the name alone, so that the names' index answers without the rows: a deleted
      // account's name holds '~' (no account's may), the system's own starts with '_'.
      return "SELECT COUNT(*) FROM {accounts} "
             "WHERE substr(name, 1, 1) <> '_' AND name NOT LIKE '%~%'";
    case Sql::kSelectGuardBlocks:
      return "SELECT u.at_ms, a.name, u.actor, u.reason, "
             "CASE WHEN a.state = 'blocked' AND a.blocked_by = u.actor THEN 1 ELSE 0 END "
             "FROM {audit} u JOIN {accounts} a ON a.id = u.account_id "
             "WHERE u.at_ms >= ?1 AND u.to_state = 'blocked' AND u.from_state = 'active' "
             "AND u.actor LIKE '%!_guard' ESCAPE '!' AND a.deleted_ms = 0 "
             "ORDER BY u.at_ms DESC, u.id DESC LIMIT ?2";
    case Sql::kSelectBusyAccounts:
      // The recent hours' rows of every account (sources_by_hour), summed per account first;
      // the accounts' rows are read for those accounts only.
      return "SELECT a.name, t.submitted FROM (SELECT account_id, SUM(count) AS submitted "
             "FROM {sources} WHERE hour >= ?1 AND kind = {source_sender} GROUP BY account_id) t "
             "JOIN {accounts} a ON a.id = t.account_id "
             "WHERE a.deleted_ms = 0 AND substr(a.name, 1, 1) <> '_' "
             "ORDER BY t.submitted DESC, a.name LIMIT ?2";
    case Sql::kSelectSubmittedSince:
      return "SELECT COALESCE(SUM(count), 0) FROM {sources} "
             "WHERE account_id = ?1 AND kind = {source_sender} AND hour >= ?2";
    case Sql::kBumpComplaints:
      return "INSERT INTO {daily_counters} (account_id, day, complaints) VALUES (?1, ?2, 1) "
             "ON CONFLICT (account_id, day) DO UPDATE "
             "SET complaints = {daily_counters}.complaints + 1 RETURNING complaints, sent";
    case Sql::kSelectByMessageId:
      // messages_by_message_id; two rows are enough to tell one account's from several.
      return "SELECT id, account_id FROM {messages} WHERE message_id = ?1 "
             "ORDER BY id DESC LIMIT 8";
    case Sql::kDeleteAccountUids:
      return "DELETE FROM {account_uids} WHERE account_id = ?1";
    case Sql::kPutAccountUid:
      return "INSERT INTO {account_uids} (uid, account_id) VALUES (?1, ?2) "
             "ON CONFLICT (uid) DO UPDATE SET account_id = excluded.account_id";
    case Sql::kSelectAccountById:
      return "SELECT {account_columns} FROM {accounts} WHERE id = ?1";
    case Sql::kSelectAccountIdByUid:
      return "SELECT account_id FROM {account_uids} WHERE uid = ?1";
    case Sql::kSelectAccountUids:
      return "SELECT uid FROM {account_uids} WHERE account_id = ?1 ORDER BY uid";
    case Sql::kSelectAllAccounts:
      return "SELECT {account_columns} FROM {accounts} WHERE deleted_ms = 0 ORDER BY id";
    case Sql::kSelectAllAccountUids:
      return "SELECT account_id, uid FROM {account_uids} ORDER BY account_id, uid";
    // The overview's pages read an index in their order and stop at the limit; the filters
    // are checked on the rows read. Accounts' and daily_counters' column names do not meet.
    case Sql::kSelectAccountPageByName:
      return "SELECT {account_columns}, released_pending, COALESCE(d.sent, 0), "
             "COALESCE(d.errors, 0), COALESCE(d.quarantined, 0), COALESCE(d.complaints, 0) "
             "FROM {accounts} a "
             "LEFT JOIN {daily_counters} d "
             "ON d.account_id = a.id AND d.day = ?1 "
             "WHERE a.name > ?2 AND {account_page_filter} ORDER BY a.name LIMIT ?6";
    case Sql::kSelectAccountPageBySent:
      return "SELECT {account_columns}, released_pending, d.sent, d.errors, d.quarantined, "
             "d.complaints FROM {daily_counters} d JOIN {accounts} a ON a.id = d.account_id "
             "WHERE d.day = ?1 AND d.sent > 0 AND (d.sent, d.account_id) < (?2, ?7) "
             "AND {account_page_filter} ORDER BY d.sent DESC, d.account_id DESC LIMIT ?6";
    case Sql::kSelectAccountPageByErrors:
      return "SELECT {account_columns}, released_pending, d.sent, d.errors, d.quarantined, "
             "d.complaints FROM {daily_counters} d JOIN {accounts} a ON a.id = d.account_id "
             "WHERE d.day = ?1 AND d.errors > 0 AND (d.errors, d.account_id) < (?2, ?7) "
             "AND {account_page_filter} ORDER BY d.errors DESC, d.account_id DESC LIMIT ?6";
    case Sql::kSelectAccountPageByPending:
      return "SELECT {account_columns}, released_pending, COALESCE(d.sent, 0), "
             "COALESCE(d.errors, 0), COALESCE(d.quarantined, 0), COALESCE(d.complaints, 0) "
             "FROM {accounts} a "
             "LEFT JOIN {daily_counters} d "
             "ON d.account_id = a.id AND d.day = ?1 "
             "WHERE a.pending > 0 AND a.deleted_ms = 0 AND (a.pending, a.id) < (?2, ?7) "
             "AND {account_page_filter} ORDER BY a.pending DESC, a.id DESC LIMIT ?6";
    case Sql::kSelectAccountPageByNameLike:
      // As ByName, the pattern a condition of its own (no "?5 = ''" beside it), so that
      // PostgreSQL's trigram index of the names (migration 25, where pg_trgm is there) serves.
      return "SELECT {account_columns}, released_pending, COALESCE(d.sent, 0), "
             "COALESCE(d.errors, 0), COALESCE(d.quarantined, 0), COALESCE(d.complaints, 0) "
             "FROM {accounts} a "
             "LEFT JOIN {daily_counters} d "
             "ON d.account_id = a.id AND d.day = ?1 "
             "WHERE a.name LIKE ?5 ESCAPE '!' AND a.name > ?2 AND {account_page_filter} "
             "ORDER BY a.name LIMIT ?6";
    case Sql::kSelectAccountPageByComplaints:
      return "SELECT {account_columns}, released_pending, d.sent, d.errors, d.quarantined, "
             "d.complaints FROM {daily_counters} d JOIN {accounts} a ON a.id = d.account_id "
             "WHERE d.day = ?1 AND d.complaints > 0 AND (d.complaints, d.account_id) < (?2, ?7) "
             "AND {account_page_filter} ORDER BY d.complaints DESC, d.account_id DESC LIMIT ?6";
    case Sql::kSelectAccountPageByQuarantined:
      return "SELECT {account_columns}, released_pending, d.sent, d.errors, d.quarantined, "
             "d.complaints FROM {daily_counters} d JOIN {accounts} a ON a.id = d.account_id "
             "WHERE d.day = ?1 AND d.quarantined > 0 AND (d.quarantined, d.account_id) < (?2, ?7) "
             "AND {account_page_filter} ORDER BY d.quarantined DESC, d.account_id DESC LIMIT ?6";
    case Sql::kSelectAccountPageByErrorRate:
      // The rate as daily_errors_by_rate has it (ErrorRatePpm), so that the index serves.
      return "SELECT {account_columns}, released_pending, d.sent, d.errors, d.quarantined, "
             "d.complaints FROM {daily_counters} d JOIN {accounts} a ON a.id = d.account_id "
             "WHERE d.day = ?1 AND d.errors > 0 "
             "AND (d.errors * 1000000 / NULLIF(d.sent + d.errors, 0), d.account_id) < (?2, ?7) "
             "AND {account_page_filter} ORDER BY d.errors * 1000000 / NULLIF(d.sent + d.errors, 0) "
             "DESC, d.account_id DESC LIMIT ?6";
    case Sql::kSelectAccountPageByHeld:
      return "SELECT {account_columns}, released_pending, COALESCE(d.sent, 0), "
             "COALESCE(d.errors, 0), COALESCE(d.quarantined, 0), COALESCE(d.complaints, 0) "
             "FROM {accounts} a "
             "LEFT JOIN {daily_counters} d "
             "ON d.account_id = a.id AND d.day = ?1 "
             "WHERE a.pending > 0 AND a.deleted_ms = 0 AND {held_of_a} > 0 "
             "AND ({held_of_a}, a.id) < (?2, ?7) "
             "AND {account_page_filter} ORDER BY {held_of_a} DESC, a.id DESC LIMIT ?6";
    case Sql::kSelectAccountPageByQueued:
      return "SELECT {account_columns}, released_pending, COALESCE(d.sent, 0), "
             "COALESCE(d.errors, 0), COALESCE(d.quarantined, 0), COALESCE(d.complaints, 0) "
             "FROM {accounts} a "
             "LEFT JOIN {daily_counters} d "
             "ON d.account_id = a.id AND d.day = ?1 "
             "WHERE a.pending > 0 AND a.deleted_ms = 0 AND {queued_of_a} > 0 "
             "AND ({queued_of_a}, a.id) < (?2, ?7) "
             "AND {account_page_filter} ORDER BY {queued_of_a} DESC, a.id DESC LIMIT ?6";
    case Sql::kSelectAccountPageByRecent:
      // As kSelectBusyAccounts: the recent hours' rows summed per account first.
      return "SELECT {account_columns}, released_pending, COALESCE(d.sent, 0), "
             "COALESCE(d.errors, 0), COALESCE(d.quarantined, 0), COALESCE(d.complaints, 0) "
             "FROM (SELECT account_id, SUM(count) AS submitted FROM {sources} "
             "WHERE hour >= ?8 AND kind = {source_sender} GROUP BY account_id) t "
             "JOIN {accounts} a ON a.id = t.account_id "
             "LEFT JOIN {daily_counters} d "
             "ON d.account_id = a.id AND d.day = ?1 "
             "WHERE (t.submitted, a.id) < (?2, ?7) "
             "AND {account_page_filter} ORDER BY t.submitted DESC, a.id DESC LIMIT ?6";
    case Sql::kSelectAccountState:
      // The name too, for mail leased on arrival (InsertMessages).
      return "SELECT state, name, pending, pending_bytes, deleted_ms FROM {accounts} WHERE id = ?1";
    case Sql::kSelectAccountName:
      return "SELECT name FROM {accounts} WHERE id = ?1";
    case Sql::kSetAccountStateFull:
      // The compare (state and blocker as decided on) and the set are one statement: two
      // nodes acting on one account at once cannot both win.
      return "UPDATE {accounts} SET state = ?2, blocked_by = ?3, reason = ?4, since_ms = ?5, "
             "bounce_tolerance_until_ms = ?7, complaint_tolerance_until_ms = ?9 "
             "WHERE id = ?1 AND state = ?6 AND blocked_by = ?8";
    case Sql::kClearReleased:
      return "DELETE FROM {released} WHERE account_id = ?1";
    case Sql::kZeroReleasedPending:
      return "UPDATE {accounts} SET released_pending = 0 WHERE id = ?1";
    case Sql::kInsertAudit:
      return "INSERT INTO {audit} (at_ms, account_id, actor, action, from_state, to_state, "
             "reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
    case Sql::kSelectAudit:
      return "SELECT l.id, l.at_ms, a.name, l.actor, l.action, l.from_state, l.to_state, "
             "l.reason FROM {audit} l JOIN {accounts} a ON a.id = l.account_id "
             "WHERE l.id < ?1 ORDER BY l.id DESC LIMIT ?2";
    case Sql::kSelectAuditOfAccount:
      return "SELECT l.id, l.at_ms, a.name, l.actor, l.action, l.from_state, l.to_state, "
             "l.reason FROM {audit} l JOIN {accounts} a ON a.id = l.account_id "
             "WHERE l.account_id = ?3 AND l.id < ?1 ORDER BY l.id DESC LIMIT ?2";
    case Sql::kInsertToken:
      return "INSERT INTO {tokens} (hash, account_id, created_ms, expires_ms) "
             "VALUES (?1, ?2, ?3, ?4)";
    case Sql::kSelectAccountIdByToken:
      return "SELECT account_id FROM {tokens} WHERE hash = ?1 "
             "AND (expires_ms = 0 OR expires_ms > ?2)";
    case Sql::kSelectTokens:
      // 16: kTokenIdChars.
      return "SELECT substr(hash, 1, 16), created_ms, expires_ms FROM {tokens} "
             "WHERE account_id = ?1 ORDER BY created_ms, hash";
    case Sql::kDeleteToken:
      return "DELETE FROM {tokens} WHERE account_id = ?1 AND substr(hash, 1, 16) = ?2";
    case Sql::kSetSmtpPassword:
      return "UPDATE {accounts} SET smtp_password_hash = ?2 WHERE id = ?1";
    case Sql::kSelectSmtpPassword:
      return "SELECT smtp_password_hash FROM {accounts} WHERE id = ?1";
    case Sql::kInsertRecipient:
      return "INSERT INTO {recipients} (message_id, idx, account_id, address, status, reply, "
             "updated_ms) VALUES (?1, ?2, ?3, ?4, {r_pending}, '', ?5)";
    case Sql::kSelectDueAccounts:
      // Each sending account's head (its earliest unfinished message) is one index seek;
      // MATERIALIZED computes it once per account rather than once per use. The second
      // branch: held accounts with released mail, whose head is read from their released rows
      // only. The third column is the account's purge epoch: its due messages are those stored
      // since its last purge (kSelectDueMessages), never the purged ones still on disk.
      return "WITH heads AS MATERIALIZED ("
             " SELECT a.id AS id, 0 AS released_only, {active_head} AS head,"
             "  a.purge_upto AS epoch"
             " FROM {accounts} a WHERE a.state = 'active' AND a.pending > 0"
             " UNION ALL"
             " SELECT a.id, 1, {released_head}, 0"
             " FROM {accounts} a WHERE a.state <> 'active' AND a.pending > 0"
             "  AND a.released_pending > 0)"
             " SELECT id, released_only, epoch FROM heads WHERE head <= ?1 ORDER BY head, id "
             "LIMIT ?2";
    case Sql::kSelectNextDue:
      // The earliest heads, by account: the caller skips the accounts waiting for their quota
      // and asks for one more row than it skips.
      return "SELECT id, head FROM ("
             " SELECT a.id AS id, {active_head} AS head"
             " FROM {accounts} a WHERE a.state = 'active' AND a.pending > 0"
             " UNION ALL"
             " SELECT a.id, {released_head}"
             " FROM {accounts} a WHERE a.state <> 'active' AND a.pending > 0"
             "  AND a.released_pending > 0) AS heads"
             " WHERE head IS NOT NULL AND head < {never} ORDER BY head LIMIT ?1";
    case Sql::kForgetReleased:
      return "DELETE FROM {released} WHERE account_id = ?1 AND message_id = ?2";
    case Sql::kSelectHoldingAccounts:
      return "SELECT id FROM {accounts} WHERE state <> 'active' AND pending > 0 AND id > ?1 "
             "ORDER BY id";
    case Sql::kSelectMessageSize:
      return "SELECT size FROM {messages} WHERE account_id = ?1 AND id = ?2";
    case Sql::kIsReleased:
      return "SELECT EXISTS (SELECT 1 FROM {released} WHERE account_id = ?1 AND message_id = ?2)";
    case Sql::kInsertReleased:
      return "INSERT INTO {released} (account_id, message_id) VALUES (?1, ?2) "
             "ON CONFLICT DO NOTHING";
    case Sql::kSelectCounters:
      return "SELECT state, pending, released_pending, submitted, sent, errors, expired, "
             "purged FROM {accounts} WHERE id = ?1";
    case Sql::kSelectDay:
      return "SELECT sent, errors, complaints FROM {daily_counters} WHERE account_id = ?1 "
             "AND day = ?2";
    case Sql::kSelectVolumes:
      return "SELECT day, submitted, sent, errors, expired, purged, complaints "
             "FROM {daily_counters} "
             "WHERE account_id = ?1 AND day >= ?2 AND day <= ?3 ORDER BY day";
    case Sql::kSelectAccountsToReport:
      // "errors > 0" repeats daily_errors_by_day's WHERE.
      // "errors > 0" and "quarantined > 0" repeat the WHERE of daily_errors_by_day and
      // daily_quarantined_by_day: the day's accounts with failures, and those with
      // quarantined mail (the report names it).
      return "SELECT x.account_id FROM (SELECT account_id FROM {daily_counters} "
             "WHERE day = ?1 AND errors > 0 UNION SELECT account_id FROM {daily_counters} "
             "WHERE day = ?1 AND quarantined > 0) x "
             "WHERE NOT EXISTS (SELECT 1 FROM {reports} r WHERE r.account_id = x.account_id "
             "AND r.day = ?1) AND NOT EXISTS (SELECT 1 FROM {accounts} a "
             "WHERE a.id = x.account_id AND a.deleted_ms > 0) ORDER BY x.account_id";
    case Sql::kInsertReport:
      return "INSERT INTO {reports} (account_id, day, sent_ms) VALUES (?1, ?2, ?3) "
             "ON CONFLICT (account_id, day) DO NOTHING";
    case Sql::kSetReportMessage:
      return "UPDATE {reports} SET message_id = ?3 WHERE account_id = ?1 AND day = ?2";
    case Sql::kPruneSources:
      // At most ?2 rows a call: a long idle daemon's first commit must not stall on a
      // backlog of old hours; the rest goes with the next commits.
      return "DELETE FROM {sources} WHERE (account_id, kind, hour, value) IN ("
             "SELECT account_id, kind, hour, value FROM {sources} WHERE hour < ?1 LIMIT ?2)";
    case Sql::kSelectSources:
      // The "other" row ?6 first, if there is one, then the values counted most.
      return "SELECT value, SUM(count) AS n FROM {sources} WHERE account_id = ?1 AND kind = ?2 "
             "AND hour > ?3 AND hour <= ?4 GROUP BY value ORDER BY value = ?6 DESC, n DESC, "
             "value LIMIT ?5";
    case Sql::kMarkAccountDeleted:
      return "UPDATE {accounts} SET name = ?2, deleted_ms = ?3, smtp_password_hash = NULL "
             "WHERE id = ?1";
    case Sql::kDeleteAccountTokens:
      return "DELETE FROM {tokens} WHERE account_id = ?1";
    case Sql::kSelectDeletedAccounts:
      return "SELECT id FROM {accounts} WHERE deleted_ms > 0 AND deleted_ms < ?1 "
             "ORDER BY id LIMIT ?2";
    case Sql::kSelectPurgedRowsLeft:
      return "SELECT id FROM {accounts} WHERE purge_left > 0 ORDER BY id";
    case Sql::kRemoveAccountSources:
      return "DELETE FROM {sources} WHERE account_id = ?1";
    case Sql::kRemoveAccountDays:
      return "DELETE FROM {daily_counters} WHERE account_id = ?1";
    case Sql::kRemoveAccountReports:
      return "DELETE FROM {reports} WHERE account_id = ?1";
    case Sql::kRemoveAccountAudit:
      return "DELETE FROM {audit} WHERE account_id = ?1";
    case Sql::kRemoveAccountMessages:
      // Recipients and released marks go with them (ON DELETE CASCADE).
      return "DELETE FROM {messages} WHERE account_id = ?1";
    case Sql::kRemoveAccountRow:
      return "DELETE FROM {accounts} WHERE id = ?1";
    // Content scanning. "scan_state = N AND status = 0" repeats the partial indexes' WHERE.
    case Sql::kMarkForScan:
      return "UPDATE {messages} SET scan_state = 1, next_attempt_ms = {never} "
             "WHERE account_id = ?1 AND id = ?2";
    case Sql::kSelectUnscanned:
      return "SELECT m.id, m.account_id, a.name, m.sender, m.script, m.uid, m.size "
             "FROM {messages} m JOIN {accounts} a ON a.id = m.account_id "
             "WHERE m.scan_state = 1 AND m.status = 0 AND m.id > ?1 AND m.id > a.purge_upto "
             "ORDER BY m.id LIMIT ?2";
    case Sql::kSelectUnscannedBody:
      return "SELECT body FROM {messages} WHERE account_id = ?1 AND id = ?2 "
             "AND scan_state = 1 AND status = 0";
    case Sql::kSetVerdict:
      // A message let go is due at once, in its place in the oldest-first order.
      return "UPDATE {messages} SET scan_state = ?3, scan_action = ?4, scan_score_milli = ?5, "
             "scan_symbols = ?6, next_attempt_ms = CASE WHEN ?3 = 2 THEN {never} "
             "ELSE received_ms END WHERE account_id = ?1 AND id = ?2 AND scan_state = 1 "
             "AND status = 0 AND id > {upto_of_1}";
    case Sql::kBumpScanDay:
      return "INSERT INTO {daily_counters} AS d (account_id, day, scanned, quarantined, "
             "suspicious) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (account_id, day) DO UPDATE "
             "SET scanned = d.scanned + excluded.scanned, "
             "quarantined = d.quarantined + excluded.quarantined, "
             "suspicious = d.suspicious + excluded.suspicious";
    case Sql::kSelectScanResult:
      return "SELECT scan_state, scan_action, scan_score_milli, scan_symbols FROM {messages} "
             "WHERE account_id = ?1 AND id = ?2";
    case Sql::kSelectQuarantinedPage:
      return "SELECT id FROM {messages} WHERE account_id = ?1 AND scan_state = 2 "
             "AND status = 0 AND id < ?2 AND id > {upto_of_1} ORDER BY id DESC LIMIT ?3";
    case Sql::kSelectQuarantinedById:
      return "SELECT size FROM {messages} WHERE account_id = ?1 AND id = ?2 AND scan_state = 2 "
             "AND status = 0 AND id > {upto_of_1}";
    case Sql::kReleaseQuarantined:
      return "UPDATE {messages} SET scan_state = 0, next_attempt_ms = received_ms "
             "WHERE account_id = ?1 AND id = ?2 AND scan_state = 2 AND status = 0 "
             "AND id > {upto_of_1}";
    case Sql::kSelectQuarantineAged:
      return "SELECT m.id, m.account_id, m.size FROM {messages} m "
             "JOIN {accounts} a ON a.id = m.account_id "
             "WHERE m.scan_state = 2 AND m.status = 0 AND m.received_ms < ?1 "
             "AND m.id > a.purge_upto ORDER BY m.received_ms LIMIT ?2";
    case Sql::kSelectScanVolumes:
      return "SELECT day, scanned, quarantined, suspicious FROM {daily_counters} "
             "WHERE account_id = ?1 AND day >= ?2 AND day <= ?3 ORDER BY day";
    case Sql::kInsertDomain:
      return "INSERT INTO {account_domains} (domain, account_id, added_ms) VALUES (?1, ?2, ?3) "
             "ON CONFLICT (domain) DO NOTHING";
    case Sql::kSelectDomainOwner:
      return "SELECT d.account_id, a.name FROM {account_domains} d JOIN {accounts} a "
             "ON a.id = d.account_id WHERE d.domain = ?1";
    case Sql::kDeleteDomain:
      return "DELETE FROM {account_domains} WHERE account_id = ?1 AND domain = ?2";
    case Sql::kSelectDomains:
      return "SELECT domain FROM {account_domains} WHERE account_id = ?1 ORDER BY domain";
    case Sql::kDeleteAccountDomains:
      return "DELETE FROM {account_domains} WHERE account_id = ?1";
    case Sql::kInsertDkimKey:
      return "INSERT INTO {dkim_keys} (domain, selector, algorithm, private_key, public_key, "
             "created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (domain, selector) "
             "DO NOTHING";
    case Sql::kRetireDkimKeys:
      return "UPDATE {dkim_keys} SET retired_ms = ?2 WHERE domain = ?1 AND retired_ms = 0 "
             "AND selector <> ?3";
    case Sql::kSelectDkimKeys:
      return "SELECT selector, algorithm, private_key, public_key, created_ms, retired_ms "
             "FROM {dkim_keys} WHERE domain = ?1 ORDER BY created_ms DESC, selector";
    case Sql::kSelectSigningKeys:
      return "SELECT k.domain, k.selector, k.algorithm, k.private_key, k.public_key, "
             "k.created_ms, COALESCE(d.account_id, 0) FROM {dkim_keys} k "
             "LEFT JOIN {account_domains} d ON d.domain = k.domain WHERE k.retired_ms = 0 "
             "ORDER BY k.domain, k.created_ms DESC";
    case Sql::kDeleteDkimKey:
      return "DELETE FROM {dkim_keys} WHERE domain = ?1 AND selector = ?2";
    case Sql::kInsertHeldForSender:
      return "INSERT INTO {held_messages} (account_id, message_id, reason) VALUES (?1, ?2, ?3)";
    case Sql::kSetNeverDue:
      return "UPDATE {messages} SET next_attempt_ms = ?3 WHERE account_id = ?1 AND id = ?2";
    case Sql::kIsHeldForSender:
      return "SELECT reason FROM {held_messages} WHERE account_id = ?1 AND message_id = ?2";
    case Sql::kForgetHeldForSender:
      return "DELETE FROM {held_messages} WHERE account_id = ?1 AND message_id = ?2";
    case Sql::kMakeDue:
      return "UPDATE {messages} SET next_attempt_ms = ?3 WHERE account_id = ?1 AND id = ?2 "
             "AND status = {queued}";
    case Sql::kSelectHeldForSenderPage:
      // A held account's expiry may have finished one: unfinished ones only.
      return "SELECT h.message_id FROM {held_messages} h JOIN {messages} m "
             "ON m.account_id = h.account_id AND m.id = h.message_id WHERE h.account_id = ?1 "
             "AND h.message_id < ?2 AND h.message_id > {upto_of_1} AND m.status = {queued} "
             "ORDER BY h.message_id DESC LIMIT ?3";
    case Sql::kCountHeldForSender:
      return "SELECT COUNT(*) FROM {held_messages} h JOIN {messages} m "
             "ON m.account_id = h.account_id AND m.id = h.message_id WHERE h.account_id = ?1 "
             "AND h.message_id > {upto_of_1} AND m.status = {queued}";
    case Sql::kSelectHeldForSenderDue:
      // held_messages is small (mail held for its sender only): read whole, oldest first.
      return "SELECT h.account_id, h.message_id, m.size FROM {held_messages} h "
             "JOIN {messages} m ON m.account_id = h.account_id AND m.id = h.message_id "
             "JOIN {accounts} a ON a.id = h.account_id "
             "WHERE m.received_ms < ?1 AND m.status = {queued} AND m.id > a.purge_upto "
             "ORDER BY h.message_id LIMIT ?2";
    case Sql::kBumpSenderChecks:
      return "INSERT INTO {sender_checks} (account_id, day, held, refused) "
             "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (account_id, day) DO UPDATE "
             "SET held = {sender_checks}.held + excluded.held, "
             "refused = {sender_checks}.refused + excluded.refused";
    case Sql::kSelectSenderChecks:
      return "SELECT day, held, refused FROM {sender_checks} WHERE account_id = ?1 "
             "AND day >= ?2 AND day <= ?3 ORDER BY day";
    case Sql::kRemoveAccountSenderChecks:
      return "DELETE FROM {sender_checks} WHERE account_id = ?1";
    case Sql::kInsertMessageEvent:
      return "INSERT INTO {message_events} (account_id, message_id, at_ms, kind, recipient, "
             "detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
    case Sql::kInsertMessageTerm:
      return "INSERT INTO {message_terms} (account_id, message_id, term) VALUES (?1, ?2, ?3) "
             "ON CONFLICT DO NOTHING";
    case Sql::kSetOutcome:
      return "UPDATE {messages} AS m SET outcome = {outcome_of_m} "
             "WHERE m.account_id = ?1 AND m.id = ?2 AND m.status = {done}";
    case Sql::kSelectMessageEvents:
      return "SELECT at_ms, kind, recipient, detail FROM {message_events} "
             "WHERE account_id = ?1 AND message_id = ?2 ORDER BY id";
    case Sql::kSearchFinished:
      // Partial on status = 2, which the WHERE repeats literally.
      return "SELECT {tracked_columns} FROM {messages} m JOIN {accounts} a ON a.id = m.account_id "
             "WHERE m.account_id = ?1 AND m.status = 2 AND m.id < ?2 "
             "ORDER BY m.id DESC LIMIT ?3";
    case Sql::kSearchByOutcome:
      // Partial on status = 2, which the WHERE repeats literally.
      return "SELECT {tracked_columns} FROM {messages} m JOIN {accounts} a ON a.id = m.account_id "
             "WHERE m.account_id = ?1 AND m.status = 2 AND m.outcome = ?4 AND m.id < ?2 "
             "ORDER BY m.id DESC LIMIT ?3";
    case Sql::kSearchUnfinished:
      return "SELECT {tracked_columns} FROM {messages} m JOIN {accounts} a ON a.id = m.account_id "
             "WHERE m.account_id = ?1 AND m.status < 2 AND m.id < ?2 "
             "ORDER BY m.id DESC LIMIT ?3";
    case Sql::kSearchByTerm:
      return "SELECT {tracked_columns} FROM {message_terms} t "
             "JOIN {messages} m ON m.account_id = t.account_id AND m.id = t.message_id "
             "JOIN {accounts} a ON a.id = m.account_id "
             "WHERE t.account_id = ?1 AND t.term = ?4 AND t.message_id < ?2 "
             "ORDER BY t.message_id DESC LIMIT ?3";
    case Sql::kSelectTrackedMessage:
      return "SELECT m.sender, m.subject, m.script, m.uid, m.size, m.attempts, "
             "m.next_attempt_ms, m.done_ms, {tracked_columns} FROM {messages} m "
             "JOIN {accounts} a ON a.id = m.account_id WHERE m.account_id = ?1 AND m.id = ?2";
    default:
      return "";
  }
}

std::string EngineSql(Sql sql, std::string_view own_text, Placeholders placeholders) {
  std::string text(own_text.empty() ? SharedSqlText(sql) : own_text);
  if (text.empty()) return text;
  for (const auto& [name, fragment] :
       {std::pair<std::string_view, std::string_view>{"{active_head}", kActiveHead},
        {"{released_head}", kReleasedHead},
        {"{tracked_columns}", kTrackedColumns},
        {"{outcome_of_m}", kOutcomeOfM}}) {
    if (const auto at = text.find(name); at != std::string::npos) {
      text.replace(at, name.size(), fragment);
    }
  }
  std::string formatted = fmt::format(
      fmt::runtime(text), fmt::arg("schema_version", schema::kSchemaVersionTable),
      fmt::arg("accounts", schema::kAccountsTable),
      fmt::arg("account_uids", schema::kAccountUidsTable),
      fmt::arg("account_names", schema::kAccountNamesTable),
      fmt::arg("messages", schema::kMessagesTable),
      fmt::arg("recipients", schema::kRecipientsTable),
      fmt::arg("released", schema::kReleasedTable), fmt::arg("audit", schema::kAuditTable),
      fmt::arg("tokens", schema::kTokensTable),
      fmt::arg("daily_counters", schema::kDailyCountersTable),
      fmt::arg("reports", schema::kReportsTable), fmt::arg("sources", schema::kSourcesTable),
      // The overview's filters (see kSelectAccountPageByName): never a deleted account, nor
      // the system's own (its name starts with '_').
      fmt::arg("account_page_filter",
               "a.deleted_ms = 0 AND substr(a.name, 1, 1) <> '_' AND (?3 = '' OR a.state = ?3) "
               "AND (?4 = '' OR a.blocked_by = ?4) AND (?5 = '' OR a.name LIKE ?5 ESCAPE '!')"),
      // What AccountPageEntry counts as held and as queued, of the account row a.
      fmt::arg("held_of_a",
               "(CASE WHEN a.state = 'active' THEN 0 WHEN a.released_pending < a.pending "
               "THEN a.pending - a.released_pending ELSE 0 END)"),
      fmt::arg("queued_of_a",
               "(CASE WHEN a.state = 'active' THEN a.pending WHEN a.released_pending < a.pending "
               "THEN a.released_pending ELSE a.pending END)"),
      fmt::arg("account_domains", schema::kAccountDomainsTable),
      fmt::arg("dkim_keys", schema::kDkimKeysTable),
      fmt::arg("held_messages", schema::kHeldMessagesTable),
      fmt::arg("sender_checks", schema::kSenderChecksTable),
      fmt::arg("account_limits", schema::kAccountLimitsTable),
      fmt::arg("suppressions", schema::kSuppressionsTable),
      fmt::arg("events", schema::kEventsTable),
      fmt::arg("event_attempts", schema::kEventAttemptsTable),
      fmt::arg("notices", schema::kNoticesTable), fmt::arg("plans", schema::kPlansTable),
      fmt::arg("nodes", schema::kNodesTable), fmt::arg("source_sender", schema::kSourceSender),
      fmt::arg("message_events", schema::kMessageEventsTable),
      fmt::arg("message_terms", schema::kMessageTermsTable),
      fmt::arg("account_columns",
               "id, name, state, blocked_by, reason, since_ms, report_to, language, "
               "max_per_day, max_per_hour, pending, bounce_tolerance_until_ms, purge_upto, "
               "purge_left, pending_bytes, complaint_tolerance_until_ms"),
      // The purge watermark of the account bound to ?1: an account's unfinished messages are
      // read after it (a range of messages_unfinished), never the purged ones.
      fmt::arg("upto_of_1",
               fmt::format("(SELECT purge_upto FROM {} WHERE id = ?1)", schema::kAccountsTable)),
      fmt::arg("never", schema::kNeverDueMs), fmt::arg("queued", schema::kMessageQueued),
      fmt::arg("delivering", schema::kMessageDelivering), fmt::arg("done", schema::kMessageDone),
      fmt::arg("r_pending", schema::kRecipientPending), fmt::arg("r_sent", schema::kRecipientSent),
      fmt::arg("r_failed", schema::kRecipientFailed));
  if (placeholders == Placeholders::kQuestion) return formatted;
  // ?N outside string literals becomes $N. No statement here has a '?' of its own.
  bool quoted = false;
  for (std::size_t i = 0; i < formatted.size(); ++i) {
    if (formatted[i] == '\'') quoted = !quoted;
    if (!quoted && formatted[i] == '?' && i + 1 < formatted.size() &&
        std::isdigit(static_cast<unsigned char>(formatted[i + 1]))) {
      formatted[i] = '$';
    }
  }
  return formatted;
}

int ParameterCount(std::string_view text) {
  int most = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\'') quoted = !quoted;
    if (quoted || (text[i] != '?' && text[i] != '$')) continue;
    int n = 0;
    std::size_t j = i + 1;
    while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) {
      n = n * 10 + (text[j] - '0');
      ++j;
    }
    if (n > most) most = n;
  }
  return most;
}

}  // namespace mailwarden
