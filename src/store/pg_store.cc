#include "store/pg_store.h"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "store/schema.h"
#include "store/store_common.h"

namespace mailwarden {
namespace {

// Every statement the store runs, prepared once per connection (after migrations) and reused.
enum class Sql {
  kSelectAccountIdByName,
  kInsertAccountName,
  kInsertAccount,
  kUpdateAccount,
  kDeleteAccountUids,
  kPutAccountUid,
  kSelectAccountById,
  kSelectAccountIdByUid,
  kSelectAccountUids,
  kSelectAllAccounts,
  kSelectAllAccountUids,
  kSelectAccountState,
  kLockAccountState,
  kInsertMessage,
  kInsertRecipient,
  kSelectDueAccounts,
  kSelectDueMessages,
  kSelectDueReleased,
  kSelectAccountName,
  kLeaseMessages,
  kSelectLeasedBody,
  kSelectClaimedRecipients,
  kSelectAccountsOfMessages,
  kLockAccounts,
  kLockMessageState,
  kUpdateRecipient,
  kRecipientStates,
  kRequeueMessage,
  kFinishMessage,
  kReleaseLeases,
  kSelectNextDue,
  kSelectMessage,
  kSelectRecipients,
  kSetAccountStateFull,
  kSetPurgeWatermark,
  kClearReleased,
  kZeroReleasedPending,
  kInsertAudit,
  kSelectAudit,
  kSelectAuditOfAccount,
  kSelectAccountsInState,
  kLockPurgeState,
  kSelectPurgeBatch,
  kDeleteFinished,
  kDeletePurged,
  kDeleteMessage,
  kForgetReleased,
  kBumpAccount,
  kBumpDay,
  kSelectHoldingAccounts,
  kSelectUnfinishedPage,
  kIsReleased,
  kExpireRecipients,
  kSelectPendingPage,
  kSelectHeldById,
  kSelectHeldByMatch,
  kInsertReleased,
  kInsertToken,
  kSelectAccountIdByToken,
  kSetSmtpPassword,
  kSelectSmtpPassword,
  kSelectCounters,
  kSelectDay,
  kSelectVolumes,
  kSelectErrors,
  kSelectAccountsToReport,
  kInsertReport,
  kSetReportMessage,
  kSelectTotals,
  kBumpSource,
  kPruneSources,
  kSelectSources,
  kSelectMessageHead,
  kNotify,
  kCount,
};
constexpr int kSqlCount = static_cast<int>(Sql::kCount);

// The text of each statement, as SqliteStore's with PostgreSQL's spelling ($N, LEAST,
// GREATEST, strpos). Rows a transaction is about to change are locked where they are chosen
// (FOR UPDATE): writers run at READ COMMITTED, and a row chosen from a snapshot may have been
// changed by another node since; the lock waits for that node and re-checks the WHERE.
// Recipient and released rows are always reached with their account_id (the first column of
// their keys). Integer arrays arrive as text ('{1,2}') and are cast.
//
// An account's unfinished mail on one side of its purge watermark is a range of
// messages_unfinished (account_id, id), written so that no other index can serve it whatever
// the statistics or parameters: a row comparison (account_id, id) > ($1, upto) as its start,
// with account_id <= $1 as its end (not account_id = $1, with which the scan starts at the
// account's first row), and ORDER BY account_id, id, an order messages_by_id cannot give.
// Without them the planner takes messages_by_id (its order follows the table's) or the
// covering messages_due, and reads every purged row or every account's mail since.
constexpr std::string_view SqlText(Sql sql) {
  switch (sql) {
    case Sql::kSelectAccountIdByName:
      return "SELECT account_id FROM {account_names} WHERE name = $1";
    case Sql::kInsertAccountName:
      // The new account's id is taken here, before its accounts row exists: the name's row is
      // what two nodes creating one account at once conflict on.
      return "INSERT INTO {account_names} (name, account_id) "
             "VALUES ($1, nextval(pg_get_serial_sequence('{accounts}', 'id'))) "
             "ON CONFLICT (name) DO NOTHING RETURNING account_id";
    case Sql::kInsertAccount:
      return "INSERT INTO {accounts} (id, name, report_to, language, max_per_day, max_per_hour, "
             "since_ms, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)";
    case Sql::kUpdateAccount:
      return "UPDATE {accounts} SET report_to = $2, language = $3, max_per_day = $4, "
             "max_per_hour = $5 WHERE id = $1";
    case Sql::kDeleteAccountUids:
      return "DELETE FROM {account_uids} WHERE account_id = $1";
    case Sql::kPutAccountUid:
      return "INSERT INTO {account_uids} (uid, account_id) VALUES ($1, $2) "
             "ON CONFLICT (uid) DO UPDATE SET account_id = excluded.account_id";
    case Sql::kSelectAccountById:
      return "SELECT {account_columns} FROM {accounts} WHERE id = $1";
    case Sql::kSelectAccountIdByUid:
      return "SELECT account_id FROM {account_uids} WHERE uid = $1";
    case Sql::kSelectAccountUids:
      return "SELECT uid FROM {account_uids} WHERE account_id = $1 ORDER BY uid";
    case Sql::kSelectAllAccounts:
      return "SELECT {account_columns} FROM {accounts} ORDER BY id";
    case Sql::kSelectAllAccountUids:
      return "SELECT account_id, uid FROM {account_uids} ORDER BY account_id, uid";
    case Sql::kSelectAccountState:
      // The name too, for mail leased on arrival (InsertMessages).
      return "SELECT state, name FROM {accounts} WHERE id = $1";
    case Sql::kLockAccountState:
      return "SELECT state FROM {accounts} WHERE id = $1 FOR UPDATE";
    case Sql::kInsertMessage:
      // purge_epoch: the account's watermark now (see schema.h). The batch has updated the
      // accounts row already, so a purge on another node waits for this commit, and then
      // counts these messages in. $9-$12: queued, no attempt, due at once, no lease; or leased
      // on arrival: delivering, one attempt, due again at the lease's end, the lease's node.
      return "INSERT INTO {messages} (account_id, status, attempts, received_ms, "
             "next_attempt_ms, uid, size, sender, subject, script, body, purge_epoch, "
             "lease_node) VALUES ($1, $9, $10, $2, $11, $3, $4, $5, $6, $7, $8, "
             "(SELECT purge_upto FROM {accounts} WHERE id = $1), NULLIF($12, '')) RETURNING id";
    case Sql::kInsertRecipient:
      return "INSERT INTO {recipients} (message_id, idx, account_id, address, status, reply, "
             "updated_ms) VALUES ($1, $2, $3, $4, {r_pending}, '', $5)";
    case Sql::kSelectDueAccounts:
      // The third column is the account's purge epoch: its due messages are those stored
      // since its last purge (kSelectDueMessages), never the purged ones still on disk.
      return "WITH heads AS MATERIALIZED ("
             " SELECT a.id AS id, 0 AS released_only, {active_head} AS head,"
             "  a.purge_upto AS epoch"
             " FROM {accounts} a WHERE a.state = 'active' AND a.pending > 0"
             " UNION ALL"
             " SELECT a.id, 1, {released_head}, 0"
             " FROM {accounts} a WHERE a.state <> 'active' AND a.pending > 0"
             "  AND a.released_pending > 0)"
             " SELECT id, released_only, epoch FROM heads WHERE head <= $1 ORDER BY head, id "
             "LIMIT $2";
    case Sql::kSelectDueMessages:
      // SKIP LOCKED: what another node is claiming right now is left to it, not waited for.
      return "SELECT id, size FROM {messages} WHERE account_id = $1 AND purge_epoch = $4 "
             "AND status < {done} AND next_attempt_ms <= $2 "
             "ORDER BY next_attempt_ms, status, id LIMIT $3 FOR UPDATE SKIP LOCKED";
    case Sql::kSelectDueReleased:
      return "SELECT m.id, m.size FROM {released} r JOIN {messages} m "
             "ON m.account_id = r.account_id AND m.id = r.message_id "
             "WHERE r.account_id = $1 AND m.status < {done} AND m.next_attempt_ms <= $2 "
             "ORDER BY m.next_attempt_ms, m.status, m.id LIMIT $3 FOR UPDATE OF m SKIP LOCKED";
    case Sql::kSelectAccountName:
      return "SELECT name FROM {accounts} WHERE id = $1";
    case Sql::kLeaseMessages:
      // A body of $5 bytes or more is read alone (kSelectLeasedBody): the result of this
      // statement holds every body it returns, hex-encoded, until it is freed.
      return "UPDATE {messages} m SET status = {delivering}, attempts = m.attempts + 1, "
             "next_attempt_ms = $3, lease_node = $4 "
             "FROM unnest($1::bigint[], $2::bigint[]) AS p(account_id, id) "
             "WHERE m.account_id = p.account_id AND m.id = p.id "
             "RETURNING m.id, m.sender, m.subject, m.attempts, m.received_ms, "
             "CASE WHEN m.size < $5 THEN m.body END";
    case Sql::kSelectLeasedBody:
      return "SELECT body FROM {messages} WHERE account_id = $1 AND id = $2";
    case Sql::kSelectClaimedRecipients:
      return "SELECT r.message_id, r.idx, r.address FROM {recipients} r "
             "JOIN unnest($1::bigint[], $2::bigint[]) AS p(account_id, id) "
             "ON r.account_id = p.account_id AND r.message_id = p.id "
             "WHERE r.status = {r_pending} ORDER BY r.message_id, r.idx";
    case Sql::kSelectAccountsOfMessages:
      return "SELECT DISTINCT account_id FROM {messages} WHERE id = ANY($1::bigint[])";
    case Sql::kLockAccounts:
      // Accounts before messages, in id order, as every writer takes them: no deadlock.
      return "SELECT id FROM {accounts} WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE";
    case Sql::kLockMessageState:
      // The third column: purged; the fourth: whether the account may have released marks
      // to forget (the caller holds the account's lock, so neither can change meanwhile).
      return "SELECT m.account_id, m.status, m.id <= a.purge_upto, a.released_pending > 0 "
             "FROM {messages} m JOIN {accounts} a ON a.id = m.account_id WHERE m.id = $1 "
             "FOR UPDATE OF m";
    case Sql::kUpdateRecipient:
      return "UPDATE {recipients} SET status = $4, reply = $5, updated_ms = $6 "
             "WHERE account_id = $1 AND message_id = $2 AND idx = $3 AND status = {r_pending}";
    case Sql::kRecipientStates:
      // Whether any recipient is still pending, and whether any was sent: one round trip.
      return "SELECT COALESCE(bool_or(status = {r_pending}), false), "
             "COALESCE(bool_or(status = {r_sent}), false) FROM {recipients} "
             "WHERE account_id = $1 AND message_id = $2";
    case Sql::kRequeueMessage:
      return "UPDATE {messages} SET status = {queued}, next_attempt_ms = $3, lease_node = NULL "
             "WHERE account_id = $1 AND id = $2";
    case Sql::kFinishMessage:
      return "UPDATE {messages} SET status = {done}, done_ms = $3, lease_node = NULL, "
             "body = NULL WHERE account_id = $1 AND id = $2";
    case Sql::kReleaseLeases:
      return "UPDATE {messages} SET status = {queued}, next_attempt_ms = received_ms, "
             "lease_node = NULL WHERE status = {delivering} AND lease_node = $1";
    case Sql::kSelectNextDue:
      return "SELECT id, head FROM ("
             " SELECT a.id AS id, {active_head} AS head"
             " FROM {accounts} a WHERE a.state = 'active' AND a.pending > 0"
             " UNION ALL"
             " SELECT a.id, {released_head}"
             " FROM {accounts} a WHERE a.state <> 'active' AND a.pending > 0"
             "  AND a.released_pending > 0) AS heads"
             " WHERE head IS NOT NULL ORDER BY head LIMIT $1";
    case Sql::kSelectMessage:
      // A purged message is gone, whether or not its row is deleted yet.
      return "SELECT m.account_id, m.sender, m.subject, m.script, m.uid, m.size, m.status, "
             "m.attempts, m.received_ms, m.next_attempt_ms FROM {messages} m "
             "JOIN {accounts} a ON a.id = m.account_id "
             "WHERE m.id = $1 AND NOT (m.status < {done} AND m.id <= a.purge_upto)";
    case Sql::kSelectRecipients:
      return "SELECT idx, address, status, reply, updated_ms FROM {recipients} "
             "WHERE account_id = $1 AND message_id = $2 ORDER BY idx";
    case Sql::kSetAccountStateFull:
      return "UPDATE {accounts} SET state = $2, blocked_by = $3, reason = $4, since_ms = $5, "
             "bounce_tolerance_until_ms = $7 WHERE id = $1 AND state = $6";
    case Sql::kSetPurgeWatermark:
      // Every unfinished message has an id <= the newest unfinished one: all that pending
      // counts is purged now (the right-hand sides read the row as it was), and its rows join
      // those left to delete. The caller holds the account's lock, so `old` is the row the
      // UPDATE changes; it returns how many were purged, for the day's counter.
      return "WITH old AS (SELECT pending FROM {accounts} WHERE id = $1) "
             "UPDATE {accounts} SET purge_upto = GREATEST(purge_upto, COALESCE((SELECT MAX(m.id) "
             "FROM {messages} m WHERE m.account_id = $1 AND m.status < {done}), 0)), "
             "purge_left = purge_left + pending, purged = purged + pending, pending = 0, "
             "released_pending = 0 WHERE id = $1 RETURNING (SELECT pending FROM old)";
    case Sql::kClearReleased:
      return "DELETE FROM {released} WHERE account_id = $1";
    case Sql::kZeroReleasedPending:
      return "UPDATE {accounts} SET released_pending = 0 WHERE id = $1";
    case Sql::kInsertAudit:
      return "INSERT INTO {audit} (at_ms, account_id, actor, action, from_state, to_state, "
             "reason) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    case Sql::kSelectAudit:
      return "SELECT l.id, l.at_ms, a.name, l.actor, l.action, l.from_state, l.to_state, "
             "l.reason FROM {audit} l JOIN {accounts} a ON a.id = l.account_id "
             "WHERE l.id < $1 ORDER BY l.id DESC LIMIT $2";
    case Sql::kSelectAuditOfAccount:
      return "SELECT l.id, l.at_ms, a.name, l.actor, l.action, l.from_state, l.to_state, "
             "l.reason FROM {audit} l JOIN {accounts} a ON a.id = l.account_id "
             "WHERE l.account_id = $3 AND l.id < $1 ORDER BY l.id DESC LIMIT $2";
    case Sql::kSelectAccountsInState:
      return "SELECT id FROM {accounts} WHERE state = $1 ORDER BY id";
    case Sql::kLockPurgeState:
      // Two nodes purging one account take turns: each batch sees the one before it.
      return "SELECT purge_upto, purge_left, state FROM {accounts} WHERE id = $1 FOR UPDATE";
    case Sql::kSelectPurgeBatch:
      return "SELECT id FROM {messages} WHERE account_id >= $1 AND (account_id, id) <= ($1, $2) "
             "AND status < {done} ORDER BY account_id, id LIMIT $3 FOR UPDATE";
    case Sql::kDeleteFinished:
      // The longest finished first, through messages_finished; rows another node is deleting
      // are skipped. Recipients go with them (ON DELETE CASCADE).
      return "DELETE FROM {messages} WHERE (account_id, id) IN (SELECT account_id, id "
             "FROM {messages} WHERE status = {done} AND done_ms < $1 ORDER BY done_ms "
             "LIMIT $2 FOR UPDATE SKIP LOCKED)";
    case Sql::kDeletePurged:
      // Recipients and any released mark go with them (ON DELETE CASCADE).
      return "DELETE FROM {messages} WHERE account_id = $1 AND id = ANY($2::bigint[]) "
             "AND status < {done}";
    case Sql::kDeleteMessage:
      // Recipients and the released mark go with it (ON DELETE CASCADE).
      return "DELETE FROM {messages} WHERE account_id = $1 AND id = $2 AND status < {done}";
    case Sql::kForgetReleased:
      return "DELETE FROM {released} WHERE account_id = $1 AND message_id = $2";
    case Sql::kBumpAccount:
      return "UPDATE {accounts} SET pending = pending + $2, "
             "released_pending = released_pending + $3, "
             "purge_left = GREATEST(0, purge_left + $4), "
             "submitted = submitted + $5, sent = sent + $6, errors = errors + $7, "
             "expired = expired + $8, purged = purged + $9 WHERE id = $1";
    case Sql::kBumpDay:
      return "INSERT INTO {daily_counters} AS d (account_id, day, submitted, sent, errors, "
             "expired, purged) VALUES ($1, $2, $3, $4, $5, $6, $7) "
             "ON CONFLICT (account_id, day) DO UPDATE "
             "SET submitted = d.submitted + excluded.submitted, sent = d.sent + excluded.sent, "
             "errors = d.errors + excluded.errors, expired = d.expired + excluded.expired, "
             "purged = d.purged + excluded.purged";
    case Sql::kSelectHoldingAccounts:
      return "SELECT id FROM {accounts} WHERE state <> 'active' AND pending > 0 AND id > $1 "
             "ORDER BY id";
    case Sql::kSelectUnfinishedPage:
      // A page of the account's oldest unfinished messages after id $2, locked: the walk of
      // ExpireHeld, which stops at the first young one.
      return "SELECT id, status, received_ms FROM {messages} "
             "WHERE (account_id, id) > ($1, GREATEST($2, {upto_of_1})) AND account_id <= $1 "
             "AND status < {done} ORDER BY account_id, id LIMIT $3 FOR UPDATE";
    case Sql::kIsReleased:
      return "SELECT EXISTS (SELECT 1 FROM {released} WHERE account_id = $1 AND message_id = $2)";
    case Sql::kExpireRecipients:
      return "UPDATE {recipients} SET status = {r_failed}, reply = $3, updated_ms = $4 "
             "WHERE account_id = $1 AND message_id = $2 AND status = {r_pending}";
    case Sql::kSelectPendingPage:
      // Backwards, the lower bound must be a plain id > upto (the second member of a row
      // comparison does not end a scan); index-only here, messages_by_id cannot compete.
      return "SELECT id FROM {messages} WHERE account_id = $1 AND status < {done} AND id < $2 "
             "AND id > {upto_of_1} ORDER BY id DESC LIMIT $3";
    case Sql::kSelectHeldById:
      return "SELECT id FROM {messages} WHERE account_id = $2 AND id = $1 "
             "AND status = {queued} AND id > (SELECT purge_upto FROM {accounts} WHERE id = $2) "
             "FOR UPDATE";
    case Sql::kSelectHeldByMatch:
      // lower() in the "C" collation folds ASCII only, as SQLite's does. strpos, not LIKE: no
      // wildcard in a customer's text means anything.
      // status + 0: messages_due holds status, and would be taken for it.
      return "SELECT m.id FROM {messages} m WHERE (m.account_id, m.id) > ($1, {upto_of_1}) "
             "AND m.account_id <= $1 AND m.status < {done} AND m.status + 0 = {queued} "
             "AND ($2 = '' OR strpos(lower(m.sender COLLATE \"C\"), $2) > 0) "
             "AND ($4 = '' OR strpos(lower(m.subject COLLATE \"C\"), $4) > 0) "
             "AND ($3 = '' OR EXISTS (SELECT 1 FROM {recipients} r "
             "WHERE r.account_id = m.account_id AND r.message_id = m.id "
             "AND strpos(lower(r.address COLLATE \"C\"), $3) > 0)) "
             "ORDER BY m.account_id, m.id FOR UPDATE OF m";
    case Sql::kInsertReleased:
      return "INSERT INTO {released} (account_id, message_id) VALUES ($1, $2) "
             "ON CONFLICT DO NOTHING";
    case Sql::kInsertToken:
      return "INSERT INTO {tokens} (hash, account_id, created_ms) VALUES ($1, $2, $3)";
    case Sql::kSelectAccountIdByToken:
      return "SELECT account_id FROM {tokens} WHERE hash = $1";
    case Sql::kSetSmtpPassword:
      return "UPDATE {accounts} SET smtp_password_hash = $2 WHERE id = $1";
    case Sql::kSelectSmtpPassword:
      return "SELECT smtp_password_hash FROM {accounts} WHERE id = $1";
    case Sql::kSelectCounters:
      return "SELECT state, pending, released_pending, submitted, sent, errors, expired, "
             "purged FROM {accounts} WHERE id = $1";
    case Sql::kSelectDay:
      return "SELECT sent, errors FROM {daily_counters} WHERE account_id = $1 AND day = $2";
    case Sql::kSelectVolumes:
      return "SELECT day, submitted, sent, errors, expired, purged FROM {daily_counters} "
             "WHERE account_id = $1 AND day >= $2 AND day <= $3 ORDER BY day";
    case Sql::kSelectErrors:
      return "SELECT r.updated_ms, r.message_id, r.idx, r.address, r.reply, m.subject "
             "FROM {recipients} r JOIN {messages} m "
             "ON m.account_id = r.account_id AND m.id = r.message_id "
             "WHERE r.account_id = $1 AND r.status = {r_failed} AND r.updated_ms >= $2 "
             "AND (r.updated_ms, r.message_id, r.idx::bigint) < ($3::bigint, $4::bigint, "
             "$5::bigint) ORDER BY r.updated_ms DESC, r.message_id DESC, r.idx DESC LIMIT $6";
    case Sql::kSelectAccountsToReport:
      return "SELECT d.account_id FROM {daily_counters} d WHERE d.day = $1 AND d.errors > 0 "
             "AND NOT EXISTS (SELECT 1 FROM {reports} r WHERE r.account_id = d.account_id "
             "AND r.day = $1) ORDER BY d.account_id";
    case Sql::kInsertReport:
      return "INSERT INTO {reports} (account_id, day, sent_ms) VALUES ($1, $2, $3) "
             "ON CONFLICT (account_id, day) DO NOTHING";
    case Sql::kSetReportMessage:
      return "UPDATE {reports} SET message_id = $3 WHERE account_id = $1 AND day = $2";
    case Sql::kSelectTotals:
      return "SELECT (SELECT COALESCE(SUM(pending), 0) FROM {accounts} "
             "WHERE state = 'active' AND pending > 0), "
             "(SELECT COALESCE(SUM(pending), 0) FROM {accounts} "
             "WHERE state <> 'active' AND pending > 0), "
             "(SELECT COALESCE(SUM(LEAST(released_pending, pending)), 0) FROM {accounts} "
             "WHERE state <> 'active' AND pending > 0), "
             "COALESCE(SUM(submitted), 0), COALESCE(SUM(sent), 0), COALESCE(SUM(errors), 0), "
             "COALESCE(SUM(expired), 0), COALESCE(SUM(purged), 0) FROM {accounts}";
    case Sql::kBumpSource:
      return "INSERT INTO {sources} AS s (account_id, kind, hour, value, count) "
             "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, kind, hour, value) "
             "DO UPDATE SET count = s.count + excluded.count";
    case Sql::kPruneSources:
      return "DELETE FROM {sources} WHERE (account_id, kind, hour, value) IN ("
             "SELECT account_id, kind, hour, value FROM {sources} WHERE hour < $1 LIMIT $2)";
    case Sql::kSelectSources:
      return "SELECT value, SUM(count) AS n FROM {sources} WHERE account_id = $1 AND kind = $2 "
             "AND hour > $3 AND hour <= $4 GROUP BY value ORDER BY n DESC, value LIMIT $5";
    case Sql::kSelectMessageHead:
      return "SELECT substr(body, 1, $3) FROM {messages} WHERE account_id = $2 AND id = $1 "
             "AND status < {done} AND body IS NOT NULL "
             "AND id > (SELECT purge_upto FROM {accounts} WHERE id = $2)";
    case Sql::kNotify:
      return "SELECT pg_notify($1, $2)";
    case Sql::kCount:
      break;
  }
  return "";
}

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

std::string FormatSql(Sql sql) {
  std::string text(SqlText(sql));
  if (const auto at = text.find("{active_head}"); at != std::string::npos) {
    text.replace(at, std::string_view("{active_head}").size(), kActiveHead);
  }
  if (const auto at = text.find("{released_head}"); at != std::string::npos) {
    text.replace(at, std::string_view("{released_head}").size(), kReleasedHead);
  }
  return fmt::format(
      fmt::runtime(text), fmt::arg("accounts", schema::kAccountsTable),
      fmt::arg("account_uids", schema::kAccountUidsTable),
      fmt::arg("account_names", schema::kAccountNamesTable),
      fmt::arg("messages", schema::kMessagesTable),
      fmt::arg("recipients", schema::kRecipientsTable),
      fmt::arg("released", schema::kReleasedTable), fmt::arg("audit", schema::kAuditTable),
      fmt::arg("tokens", schema::kTokensTable),
      fmt::arg("daily_counters", schema::kDailyCountersTable),
      fmt::arg("reports", schema::kReportsTable), fmt::arg("sources", schema::kSourcesTable),
      fmt::arg("account_columns",
               "id, name, state, blocked_by, reason, since_ms, report_to, language, "
               "max_per_day, max_per_hour, pending, bounce_tolerance_until_ms, purge_upto, "
               "purge_left"),
      // The purge watermark of the account bound to $1: an account's unfinished messages are
      // read after it (a range of messages_unfinished), never the purged ones.
      fmt::arg("upto_of_1",
               fmt::format("(SELECT purge_upto FROM {} WHERE id = $1)", schema::kAccountsTable)),
      fmt::arg("queued", schema::kMessageQueued),
      fmt::arg("delivering", schema::kMessageDelivering), fmt::arg("done", schema::kMessageDone),
      fmt::arg("r_pending", schema::kRecipientPending), fmt::arg("r_sent", schema::kRecipientSent),
      fmt::arg("r_failed", schema::kRecipientFailed));
}

// Any key unique to mailwarden: migrations of every node wait on it in turn.
constexpr std::int64_t kMigrationLockKey = 0x6d61696c77617264;  // "mailward"

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnDeleter>;

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

// The parameters of one statement. Integers go as text; strings and bytes as binary, so that
// any byte reaches the server as it is (text in the wire's text format could not hold a NUL,
// and the server refuses what its encoding cannot hold rather than truncating it).
class Params {
 public:
  Params& Int(std::int64_t value) {
    return Add(owned_.emplace_back(std::to_string(value)), /*binary=*/false);
  }
  Params& OptionalInt(std::optional<std::int64_t> value) {
    if (!value) {
      values_.push_back(nullptr);
      lengths_.push_back(0);
      formats_.push_back(0);
      return *this;
    }
    return Int(*value);
  }
  Params& Text(std::string_view text) { return Add(owned_.emplace_back(text), /*binary=*/true); }
  // Not copied (a body can be 25 MB): bytes must outlive the call.
  Params& BytesRef(std::string_view bytes) { return Add(bytes, /*binary=*/true); }
  Params& IntArray(const std::vector<std::int64_t>& values) {
    std::string text = "{";
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (i > 0) text += ',';
      text += std::to_string(values[i]);
    }
    text += '}';
    return Add(owned_.emplace_back(std::move(text)), /*binary=*/false);
  }

  int size() const { return static_cast<int>(values_.size()); }
  const char* const* values() const { return values_.data(); }
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }

 private:
  Params& Add(std::string_view value, bool binary) {
    // A text-format value is read up to its NUL; std::string keeps one after its data.
    values_.push_back(value.data() != nullptr ? value.data() : "");
    lengths_.push_back(static_cast<int>(value.size()));
    formats_.push_back(binary ? 1 : 0);
    return *this;
  }

  std::deque<std::string> owned_;  // a deque: adding never moves the strings already there
  std::vector<const char*> values_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

// The rows of a statement's result, in text format.
class Rows {
 public:
  explicit Rows(ResultPtr result) : result_(std::move(result)) {}

  int size() const { return PQntuples(result_.get()); }
  bool empty() const { return size() == 0; }
  // Rows changed by an INSERT, UPDATE or DELETE.
  std::int64_t Changed() const {
    const char* n = PQcmdTuples(result_.get());
    std::int64_t value = 0;
    if (n != nullptr) std::from_chars(n, n + std::strlen(n), value);
    return value;
  }
  bool IsNull(int row, int column) const { return PQgetisnull(result_.get(), row, column) != 0; }
  std::int64_t Int(int row, int column) const {
    const char* text = PQgetvalue(result_.get(), row, column);
    const int length = PQgetlength(result_.get(), row, column);
    std::int64_t value = 0;
    std::from_chars(text, text + length, value);
    return value;
  }
  std::optional<std::int64_t> OptionalInt(int row, int column) const {
    if (IsNull(row, column)) return std::nullopt;
    return Int(row, column);
  }
  bool Bool(int row, int column) const { return PQgetvalue(result_.get(), row, column)[0] == 't'; }
  std::string Text(int row, int column) const {
    return std::string(PQgetvalue(result_.get(), row, column),
                       static_cast<std::size_t>(PQgetlength(result_.get(), row, column)));
  }
  // A bytea column, which the text format sends as hex ("\x4142...").
  std::string Bytes(int row, int column) const {
    const char* text = PQgetvalue(result_.get(), row, column);
    const auto length = static_cast<std::size_t>(PQgetlength(result_.get(), row, column));
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

 private:
  ResultPtr result_;
};

void IgnoreNotice(void* /*arg*/, const char* message) {
  spdlog::debug("postgresql: {}", PgMessageLine(message));
}

}  // namespace

// The connection, its prepared statements, and the way back after the server went away.
class PgConnection {
 public:
  // Connects; the url is only handed to libpq, never written anywhere.
  static Result<std::unique_ptr<PgConnection>> Connect(std::string_view url) {
    auto db = std::unique_ptr<PgConnection>(new PgConnection(std::string(url)));
    MW_RETURN_IF_ERROR(db->Reconnect());
    return db;
  }

  // Before a call: a connection lost since the last one is made again (and its statements
  // prepared again), and a transaction left open by a failure is ended.
  Result<void> EnsureReady() {
    if (conn_ == nullptr || PQstatus(conn_.get()) != CONNECTION_OK) {
      MW_RETURN_IF_ERROR(Reconnect());
    }
    const PGTransactionStatusType tx = PQtransactionStatus(conn_.get());
    if (tx == PQTRANS_UNKNOWN || tx == PQTRANS_ACTIVE) {
      MW_RETURN_IF_ERROR(Reconnect());
    } else if (tx != PQTRANS_IDLE) {
      MW_RETURN_IF_ERROR(Exec("ROLLBACK"));
    }
    if (!prepared_ && schema_ready_) MW_RETURN_IF_ERROR(PrepareAll());
    return {};
  }

  // After migrations: statements can be prepared now, and again after each reconnect.
  void SetSchemaReady() { schema_ready_ = true; }

  Result<void> Begin(std::string_view begin) {
    MW_RETURN_IF_ERROR(EnsureReady());
    MW_RETURN_IF_ERROR(Exec(begin));
    in_transaction_ = true;
    return {};
  }

  // Runs a prepared statement.
  Result<Rows> Run(Sql sql, const Params& params = Params()) {
    // Outside a transaction a lost connection is made again first. Inside one it is not: the
    // statement fails, and with it the transaction, rather than run outside it.
    if (!in_transaction_) MW_RETURN_IF_ERROR(EnsureReady());
    const std::string name = StatementName(sql);
    ResultPtr result(PQexecPrepared(conn_.get(), name.c_str(), params.size(), params.values(),
                                    params.lengths(), params.formats(), 0));
    const ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      return std::unexpected(PgError(conn_.get(), result.get(), SqlText(sql).substr(0, 60)));
    }
    return Rows(std::move(result));
  }

  // Runs constant SQL text, possibly several statements (migrations). Never values.
  Result<Rows> Exec(std::string_view sql) {
    const std::string text(sql);
    ResultPtr result(PQexec(conn_.get(), text.c_str()));
    const ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      std::string_view what = sql;
      while (!what.empty() && (what.front() == '\n' || what.front() == ' ')) what.remove_prefix(1);
      return std::unexpected(PgError(conn_.get(), result.get(), what.substr(0, 60)));
    }
    return Rows(std::move(result));
  }

  // COMMIT, reporting success only if the server says it committed (a COMMIT of a
  // transaction that failed answers ROLLBACK).
  Result<void> Commit() {
    in_transaction_ = false;
    ResultPtr result(PQexec(conn_.get(), "COMMIT"));
    if (result && PQresultStatus(result.get()) == PGRES_COMMAND_OK &&
        std::string_view(PQcmdStatus(result.get())) == "COMMIT") {
      return {};
    }
    Error error = PgError(conn_.get(), result.get(), "COMMIT");
    if (error.code == ErrorCode::kInternal) error.code = ErrorCode::kUnavailable;
    return std::unexpected(std::move(error));
  }

  void Rollback() {
    in_transaction_ = false;
    if (conn_ == nullptr || PQstatus(conn_.get()) != CONNECTION_OK) return;
    if (PQtransactionStatus(conn_.get()) == PQTRANS_IDLE) return;
    ResultPtr result(PQexec(conn_.get(), "ROLLBACK"));
  }

 private:
  explicit PgConnection(std::string url) : url_(std::move(url)) {}

  static std::string StatementName(Sql sql) { return fmt::format("mw{}", static_cast<int>(sql)); }

  Result<void> Reconnect() {
    prepared_ = false;
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

  Result<void> PrepareAll() {
    for (int i = 0; i < kSqlCount; ++i) {
      const auto sql = static_cast<Sql>(i);
      const std::string text = FormatSql(sql);
      ResultPtr result(
          PQprepare(conn_.get(), StatementName(sql).c_str(), text.c_str(), 0, nullptr));
      if (!result || PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
        return std::unexpected(PgError(conn_.get(), result.get(), text.substr(0, 60)));
      }
    }
    prepared_ = true;
    return {};
  }

  std::string url_;
  ConnPtr conn_;
  bool prepared_ = false;
  bool schema_ready_ = false;
  bool in_transaction_ = false;
};

namespace {

// A transaction that rolls back unless committed. kRead is a read-only REPEATABLE READ
// transaction: one snapshot for several SELECTs. kWrite is READ COMMITTED with row locks.
class Transaction {
 public:
  // kNoSync: a write whose commit does not wait for the server's WAL flush (synchronous_commit
  // off for this transaction only), for the progress of delivery only (leases, outcomes). A
  // crash of the server may undo the last of it, and what that restores is safe: the messages
  // are due again and go out again (delivery is at-least-once). Every node sees the commit at
  // once, as any other.
  enum class Kind { kRead, kWrite, kNoSync };

  static Result<Transaction> Begin(PgConnection& db, Kind kind) {
    switch (kind) {
      case Kind::kRead:
        MW_RETURN_IF_ERROR(db.Begin("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"));
        break;
      case Kind::kWrite:
        MW_RETURN_IF_ERROR(db.Begin("BEGIN ISOLATION LEVEL READ COMMITTED"));
        break;
      case Kind::kNoSync:
        MW_RETURN_IF_ERROR(
            db.Begin("BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL synchronous_commit = off"));
        break;
    }
    return Transaction(&db);
  }
  Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction() {
    if (db_ != nullptr) db_->Rollback();
  }

  Result<void> Commit() {
    PgConnection* db = std::exchange(db_, nullptr);
    return db->Commit();
  }

 private:
  explicit Transaction(PgConnection* db) : db_(db) {}
  PgConnection* db_;
};

using Kind = Transaction::Kind;

std::int64_t Millis(TimePoint t) { return ToUnixMillis(t); }

Result<void> Migrate(PgConnection& db) {
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(db, Kind::kWrite));
  // Held until the end of the transaction: a second node starting now waits here, then reads
  // the version the first one wrote.
  MW_RETURN_IF_ERROR(db.Exec(fmt::format("SELECT pg_advisory_xact_lock({})", kMigrationLockKey)));
  MW_RETURN_IF_ERROR(db.Exec(schema::kCreateSchemaVersionTable));
  MW_ASSIGN_OR_RETURN(const Rows rows,
                      db.Exec(fmt::format("SELECT COALESCE(MAX(version), 0) FROM {}",
                                          schema::kSchemaVersionTable)));
  const std::int64_t version = rows.empty() ? 0 : rows.Int(0, 0);
  if (version > schema::kSchemaVersion) {
    return Fail(ErrorCode::kUnavailable,
                fmt::format("the database's schema version is {}, newer than this mailwarden "
                            "knows ({}): run the mailwarden that wrote it, or a newer one",
                            version, schema::kSchemaVersion));
  }
  const std::int64_t now = Millis(std::chrono::system_clock::now());
  for (const schema::Migration& migration : schema::kMigrations) {
    if (migration.version <= version) continue;
    MW_RETURN_IF_ERROR(db.Exec(migration.postgres));
    MW_RETURN_IF_ERROR(db.Exec(fmt::format("INSERT INTO {} (version, applied_ms) VALUES ({}, {})",
                                           schema::kSchemaVersionTable, migration.version, now)));
  }
  MW_RETURN_IF_ERROR(tx.Commit());
  if (version < schema::kSchemaVersion) {
    spdlog::info("store: schema migrated from version {} to {}", version, schema::kSchemaVersion);
  }
  return {};
}

// Reads the columns of {account_columns} of one row.
Result<Account> ReadAccount(const Rows& rows, int row) {
  Account account;
  account.id = rows.Int(row, 0);
  account.name = rows.Text(row, 1);
  const std::string state = rows.Text(row, 2);
  const std::string blocked_by = rows.Text(row, 3);
  auto parsed_state = ParseAccountState(state);
  auto parsed_blocked_by = ParseBlockedBy(blocked_by);
  if (!parsed_state || !parsed_blocked_by) {
    return Fail(ErrorCode::kInternal, fmt::format("store: account {} has state '{}' by '{}'",
                                                  account.id, state, blocked_by));
  }
  account.state = *parsed_state;
  account.blocked_by = *parsed_blocked_by;
  account.reason = rows.Text(row, 4);
  account.since = FromUnixMillis(rows.Int(row, 5));
  account.report_to = rows.Text(row, 6);
  account.language = rows.Text(row, 7);
  account.max_per_day = rows.OptionalInt(row, 8);
  account.max_per_hour = rows.OptionalInt(row, 9);
  account.pending = rows.Int(row, 10);
  account.bounce_tolerance_until = FromUnixMillis(rows.Int(row, 11));
  account.purge_upto = rows.Int(row, 12);
  account.purge_left = rows.Int(row, 13);
  return account;
}

// The id of the account named `name`, if any (a name is never changed nor removed).
Result<std::optional<AccountId>> FindAccountId(PgConnection& db, std::string_view name) {
  MW_ASSIGN_OR_RETURN(const Rows rows, db.Run(Sql::kSelectAccountIdByName, Params().Text(name)));
  if (rows.empty()) return std::optional<AccountId>();
  return std::optional<AccountId>(rows.Int(0, 0));
}

Result<std::optional<Account>> ReadOneAccount(PgConnection& db, Sql sql, const Params& key) {
  MW_ASSIGN_OR_RETURN(const Rows rows, db.Run(sql, key));
  if (rows.empty()) return std::optional<Account>();
  MW_ASSIGN_OR_RETURN(Account account, ReadAccount(rows, 0));
  MW_ASSIGN_OR_RETURN(const Rows uids, db.Run(Sql::kSelectAccountUids, Params().Int(account.id)));
  for (int i = 0; i < uids.size(); ++i) account.uids.push_back(static_cast<Uid>(uids.Int(i, 0)));
  return std::optional<Account>(std::move(account));
}

// As SqliteStore's Tally: counter changes gathered during a transaction and written at its
// end as increments (n = n + delta), in account order, so that concurrent nodes add up
// exactly and take the rows' locks in one order.
class Tally {
 public:
  explicit Tally(PgConnection& db) : db_(db) {}

  AccountDelta& Of(AccountId account) { return accounts_[account]; }

  void Count(AccountId account, int day, const CounterDelta& d) {
    accounts_[account].counters.Add(d);
    days_[{account, day}].Add(d);
  }

  // An unfinished message of the account, not purged, ends (finished or about to be
  // deleted): it leaves pending and loses its released mark. The caller holds its row lock.
  // marked: whether it may have a released mark (false when the account has no released
  // mail: nothing to delete).
  Result<void> EndMessage(AccountId account, MessageId id, bool marked = true) {
    AccountDelta& delta = accounts_[account];
    --delta.pending;
    if (!marked) return {};
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        db_.Run(Sql::kForgetReleased, Params().Int(account).Int(id)));
    delta.released -= rows.Changed();
    return {};
  }

  Result<void> Flush() {
    for (const auto& [account, d] : accounts_) {
      MW_ASSIGN_OR_RETURN(const Rows rows, db_.Run(Sql::kBumpAccount, Params()
                                                                          .Int(account)
                                                                          .Int(d.pending)
                                                                          .Int(d.released)
                                                                          .Int(d.purge_left)
                                                                          .Int(d.counters.submitted)
                                                                          .Int(d.counters.sent)
                                                                          .Int(d.counters.errors)
                                                                          .Int(d.counters.expired)
                                                                          .Int(d.counters.purged)));
      if (rows.Changed() == 0) {
        return Fail(ErrorCode::kNotFound, fmt::format("no account with id {}", account));
      }
    }
    for (const auto& [key, d] : days_) {
      MW_RETURN_IF_ERROR(db_.Run(Sql::kBumpDay, Params()
                                                    .Int(key.first)
                                                    .Int(key.second)
                                                    .Int(d.submitted)
                                                    .Int(d.sent)
                                                    .Int(d.errors)
                                                    .Int(d.expired)
                                                    .Int(d.purged)));
    }
    accounts_.clear();
    days_.clear();
    return {};
  }

 private:
  PgConnection& db_;
  std::map<AccountId, AccountDelta> accounts_;
  std::map<std::pair<AccountId, int>, CounterDelta> days_;
};

Result<AccountState> ReadAccountState(PgConnection& db, AccountId account, bool lock) {
  MW_ASSIGN_OR_RETURN(
      const Rows rows,
      db.Run(lock ? Sql::kLockAccountState : Sql::kSelectAccountState, Params().Int(account)));
  if (rows.empty())
    return Fail(ErrorCode::kNotFound, fmt::format("no account with id {}", account));
  const auto state = ParseAccountState(rows.Text(0, 0));
  if (!state) return Fail(ErrorCode::kInternal, fmt::format("store: account {} state", account));
  return *state;
}

// Sent at commit to every listening node (PgChangeListener).
Result<void> Notify(PgConnection& db, std::string_view kind, AccountId account) {
  MW_RETURN_IF_ERROR(db.Run(
      Sql::kNotify, Params().Text(kPgNotifyChannel).Text(fmt::format("{}:{}", kind, account))));
  return {};
}

// The ids of the account's queued unfinished messages the selector chooses, ascending, locked.
Result<std::vector<MessageId>> SelectHeld(PgConnection& db, AccountId account,
                                          const MessageSelector& selector) {
  std::vector<MessageId> ids;
  if (!selector.ids.empty()) {
    std::vector<MessageId> wanted = selector.ids;
    std::sort(wanted.begin(), wanted.end());
    wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
    for (const MessageId id : wanted) {
      MW_ASSIGN_OR_RETURN(const Rows rows,
                          db.Run(Sql::kSelectHeldById, Params().Int(id).Int(account)));
      if (!rows.empty()) ids.push_back(id);
    }
    return ids;
  }
  if (selector.from.empty() && selector.to.empty() && selector.subject.empty()) return ids;
  MW_ASSIGN_OR_RETURN(const Rows rows,
                      db.Run(Sql::kSelectHeldByMatch, Params()
                                                          .Int(account)
                                                          .Text(AsciiLower(selector.from))
                                                          .Text(AsciiLower(selector.to))
                                                          .Text(AsciiLower(selector.subject))));
  for (int i = 0; i < rows.size(); ++i) ids.push_back(rows.Int(i, 0));
  return ids;
}

Result<RecipientStatus> RecipientStatusFromCode(std::int64_t code) {
  switch (code) {
    case schema::kRecipientPending:
      return RecipientStatus::kPending;
    case schema::kRecipientSent:
      return RecipientStatus::kSent;
    case schema::kRecipientFailed:
      return RecipientStatus::kFailed;
    default:
      return Fail(ErrorCode::kInternal, fmt::format("store: unknown recipient status {}", code));
  }
}

int RecipientCode(RecipientStatus s) {
  switch (s) {
    case RecipientStatus::kPending:
      return schema::kRecipientPending;
    case RecipientStatus::kSent:
      return schema::kRecipientSent;
    case RecipientStatus::kFailed:
      return schema::kRecipientFailed;
  }
  return schema::kRecipientPending;
}

Result<MessageStatus> MessageStatusFromCode(std::int64_t code) {
  switch (code) {
    case schema::kMessageQueued:
      return MessageStatus::kQueued;
    case schema::kMessageDelivering:
      return MessageStatus::kDelivering;
    case schema::kMessageDone:
      return MessageStatus::kDone;
    default:
      return Fail(ErrorCode::kInternal, fmt::format("store: unknown message status {}", code));
  }
}

Result<std::optional<StoredMessage>> ReadMessage(PgConnection& db, MessageId id) {
  StoredMessage message;
  message.id = id;
  {
    MW_ASSIGN_OR_RETURN(const Rows rows, db.Run(Sql::kSelectMessage, Params().Int(id)));
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
  MW_ASSIGN_OR_RETURN(const Rows rows,
                      db.Run(Sql::kSelectRecipients, Params().Int(message.account).Int(id)));
  for (int i = 0; i < rows.size(); ++i) {
    StoredRecipient r;
    r.index = static_cast<int>(rows.Int(i, 0));
    r.address = rows.Text(i, 1);
    MW_ASSIGN_OR_RETURN(r.status, RecipientStatusFromCode(rows.Int(i, 2)));
    r.reply = rows.Text(i, 3);
    r.updated_at = FromUnixMillis(rows.Int(i, 4));
    message.recipients.push_back(std::move(r));
  }
  return std::optional<StoredMessage>(std::move(message));
}

// Inserts a message and its recipients (in the caller's write transaction, which counts it):
// queued, due at once, or, with lease_until, leased to lease_node until then, its first
// attempt counted (as kLeaseMessages leaves a claimed message).
Result<MessageId> InsertMessageRows(PgConnection& db, const NewMessage& m,
                                    std::optional<TimePoint> lease_until = std::nullopt,
                                    std::string_view lease_node = {}) {
  const std::int64_t received = Millis(m.received_at);
  MW_ASSIGN_OR_RETURN(
      const Rows rows,
      db.Run(Sql::kInsertMessage,
             Params()
                 .Int(m.account)
                 .Int(received)
                 .Int(m.uid)
                 .Int(static_cast<std::int64_t>(m.body.size()))
                 .Text(m.sender)
                 .Text(m.subject)
                 .Text(m.script)
                 .BytesRef(m.body)
                 .Int(lease_until ? schema::kMessageDelivering : schema::kMessageQueued)
                 .Int(lease_until ? 1 : 0)
                 .Int(lease_until ? Millis(*lease_until) : received)
                 .Text(lease_until ? lease_node : std::string_view())));
  if (rows.empty()) return Fail(ErrorCode::kInternal, "store: insert of a message returned no id");
  const MessageId id = rows.Int(0, 0);
  for (std::size_t i = 0; i < m.recipients.size(); ++i) {
    MW_RETURN_IF_ERROR(db.Run(Sql::kInsertRecipient, Params()
                                                         .Int(id)
                                                         .Int(static_cast<std::int64_t>(i))
                                                         .Int(m.account)
                                                         .Text(m.recipients[i])
                                                         .Int(received)));
  }
  return id;
}

// Writes the sources counted, one upsert each, in the caller's transaction.
Result<void> FlushSources(PgConnection& db, SourceCounts& sources) {
  for (const auto& [key, count] : sources.counts()) {
    const auto& [account, kind, hour, value] = key;
    MW_RETURN_IF_ERROR(
        db.Run(Sql::kBumpSource, Params().Int(account).Int(kind).Int(hour).Text(value).Int(count)));
  }
  sources.Clear();
  return {};
}

}  // namespace

Result<std::unique_ptr<PgStore>> PgStore::Open(std::string_view url) {
  MW_ASSIGN_OR_RETURN(auto db, PgConnection::Connect(url));
  if (auto r = Migrate(*db); !r) {
    Error error = std::move(r).error();
    if (error.code != ErrorCode::kUnavailable) {
      error.message = "cannot migrate the schema: " + error.message;
      error.code = ErrorCode::kUnavailable;
    }
    return std::unexpected(std::move(error));
  }
  db->SetSchemaReady();
  MW_RETURN_IF_ERROR(db->EnsureReady());
  return std::unique_ptr<PgStore>(new PgStore(std::move(db)));
}

PgStore::PgStore(std::unique_ptr<PgConnection> db) : db_(std::move(db)) {}
PgStore::~PgStore() = default;

Result<AccountId> PgStore::UpsertAccount(const AccountSpec& spec) {
  if (spec.name.empty()) return Fail(ErrorCode::kInvalidInput, "account name is empty");
  const std::int64_t now = Millis(std::chrono::system_clock::now());
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kWrite));
  MW_ASSIGN_OR_RETURN(std::optional<AccountId> existing, FindAccountId(*db_, spec.name));
  AccountId id = 0;
  if (!existing) {
    // A node creating the same account at once holds the name's row: this insert waits for
    // its commit, then inserts nothing, and the account it created is updated below.
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        db_->Run(Sql::kInsertAccountName, Params().Text(spec.name)));
    if (!rows.empty()) {
      id = rows.Int(0, 0);
      MW_RETURN_IF_ERROR(db_->Run(Sql::kInsertAccount, Params()
                                                           .Int(id)
                                                           .Text(spec.name)
                                                           .Text(spec.report_to)
                                                           .Text(spec.language)
                                                           .OptionalInt(spec.max_per_day)
                                                           .OptionalInt(spec.max_per_hour)
                                                           .Int(now)));
    } else {
      MW_ASSIGN_OR_RETURN(existing, FindAccountId(*db_, spec.name));
      if (!existing) {
        return Fail(ErrorCode::kInternal,
                    fmt::format("store: account name '{}' conflicts but is not found", spec.name));
      }
    }
  }
  if (existing) {
    id = *existing;
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        db_->Run(Sql::kUpdateAccount, Params()
                                                          .Int(id)
                                                          .Text(spec.report_to)
                                                          .Text(spec.language)
                                                          .OptionalInt(spec.max_per_day)
                                                          .OptionalInt(spec.max_per_hour)));
    if (rows.Changed() == 0) {
      return Fail(ErrorCode::kInternal,
                  fmt::format("store: account name '{}' names account {}, which does not exist",
                              spec.name, id));
    }
  }
  MW_RETURN_IF_ERROR(db_->Run(Sql::kDeleteAccountUids, Params().Int(id)));
  // In uid order: two nodes applying configurations that move uids take their locks alike.
  std::vector<Uid> uids = spec.uids;
  std::sort(uids.begin(), uids.end());
  for (const Uid uid : uids) {
    MW_RETURN_IF_ERROR(db_->Run(Sql::kPutAccountUid, Params().Int(uid).Int(id)));
  }
  MW_RETURN_IF_ERROR(tx.Commit());
  return id;
}

Result<std::optional<Account>> PgStore::FindAccount(std::string_view name) {
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kRead));
  MW_ASSIGN_OR_RETURN(const std::optional<AccountId> id, FindAccountId(*db_, name));
  if (!id) return std::optional<Account>();
  MW_ASSIGN_OR_RETURN(auto account,
                      ReadOneAccount(*db_, Sql::kSelectAccountById, Params().Int(*id)));
  MW_RETURN_IF_ERROR(tx.Commit());
  return account;
}

Result<std::optional<Account>> PgStore::GetAccount(AccountId id) {
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kRead));
  MW_ASSIGN_OR_RETURN(auto account,
                      ReadOneAccount(*db_, Sql::kSelectAccountById, Params().Int(id)));
  MW_RETURN_IF_ERROR(tx.Commit());
  return account;
}

Result<std::optional<Account>> PgStore::FindAccountByUid(Uid uid) {
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kRead));
  MW_ASSIGN_OR_RETURN(const Rows rows, db_->Run(Sql::kSelectAccountIdByUid, Params().Int(uid)));
  if (rows.empty()) return std::optional<Account>();
  MW_ASSIGN_OR_RETURN(auto account,
                      ReadOneAccount(*db_, Sql::kSelectAccountById, Params().Int(rows.Int(0, 0))));
  MW_RETURN_IF_ERROR(tx.Commit());
  return account;
}

Result<std::vector<Account>> PgStore::ListAccounts() {
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kRead));
  std::vector<Account> accounts;
  {
    MW_ASSIGN_OR_RETURN(const Rows rows, db_->Run(Sql::kSelectAllAccounts));
    for (int i = 0; i < rows.size(); ++i) {
      MW_ASSIGN_OR_RETURN(auto account, ReadAccount(rows, i));
      accounts.push_back(std::move(account));
    }
  }
  MW_ASSIGN_OR_RETURN(const Rows rows, db_->Run(Sql::kSelectAllAccountUids));
  auto next = accounts.begin();
  for (int i = 0; i < rows.size(); ++i) {
    const AccountId id = rows.Int(i, 0);
    while (next != accounts.end() && next->id < id) ++next;
    if (next != accounts.end() && next->id == id)
      next->uids.push_back(static_cast<Uid>(rows.Int(i, 1)));
  }
  MW_RETURN_IF_ERROR(tx.Commit());
  return accounts;
}

Result<void> PgStore::SetAccountState(const AccountStateChange& change) {
  // The UPDATE's WHERE state = from is the compare: at READ COMMITTED a second node's UPDATE
  // waits for the first's row lock, then re-checks the state the first one wrote.
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kWrite));
  {
    MW_ASSIGN_OR_RETURN(const Rows rows, db_->Run(Sql::kSetAccountStateFull,
                                                  Params()
                                                      .Int(change.account)
                                                      .Text(AccountStateName(change.to))
                                                      .Text(BlockedByName(change.blocked_by))
                                                      .Text(change.reason)
                                                      .Int(Millis(change.at))
                                                      .Text(AccountStateName(change.from))
                                                      .Int(Millis(change.bounce_tolerance_until))));
    if (rows.Changed() != 1) {
      MW_ASSIGN_OR_RETURN(const AccountState now, ReadAccountState(*db_, change.account, false));
      return Fail(ErrorCode::kConflict,
                  fmt::format("the account is {} now, not {}", AccountStateName(now),
                              AccountStateName(change.from)));
    }
  }
  if (change.to == AccountState::kActive) {
    for (const Sql sql : {Sql::kClearReleased, Sql::kZeroReleasedPending}) {
      MW_RETURN_IF_ERROR(db_->Run(sql, Params().Int(change.account)));
    }
  }
  if (change.start_purge) {
    // The purge itself: O(1) however much is held. The rows go later (PurgeBatch).
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        db_->Run(Sql::kSetPurgeWatermark, Params().Int(change.account)));
    const std::int64_t purged = rows.empty() ? 0 : rows.Int(0, 0);
    MW_RETURN_IF_ERROR(db_->Run(Sql::kClearReleased, Params().Int(change.account)));
    if (purged > 0) {
      MW_RETURN_IF_ERROR(db_->Run(Sql::kBumpDay, Params()
                                                     .Int(change.account)
                                                     .Int(LocalDayOf(change.at))
                                                     .Int(0)
                                                     .Int(0)
                                                     .Int(0)
                                                     .Int(0)
                                                     .Int(purged)));
    }
  }
  MW_RETURN_IF_ERROR(
      db_->Run(Sql::kInsertAudit,
               Params()
                   .Int(Millis(change.at))
                   .Int(change.account)
                   .Text(change.actor)
                   .Text(change.action)
                   .Text(AccountStateName(change.from))
                   .Text(AccountStateName(change.to))
                   .Text(change.audit_text.empty() ? std::string_view(change.reason)
                                                   : std::string_view(change.audit_text))));
  MW_RETURN_IF_ERROR(Notify(*db_, "state", change.account));
  MW_RETURN_IF_ERROR(tx.Commit());
  return {};
}

Result<InsertedBatch> PgStore::InsertMessages(std::span<const NewMessage> messages,
                                              const ArrivalLease& lease) {
  InsertedBatch inserted;
  if (messages.empty()) return inserted;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (messages[i].recipients.empty()) {
      return Fail(ErrorCode::kInvalidInput,
                  fmt::format("message {} of the batch has no recipient", i));
    }
  }
  inserted.messages.reserve(messages.size());
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kWrite));
  Tally tally(*db_);
  for (const NewMessage& m : messages) {
    tally.Of(m.account).pending += 1;
    tally.Count(m.account, LocalDayOf(m.received_at), {.submitted = 1});
  }
  // The accounts rows are updated (and so locked) first: a state change on another node waits
  // for this commit, so the states read below hold until then.
  MW_RETURN_IF_ERROR(tally.Flush());
  ArrivalLeasing leasing(lease, [this](AccountId account) -> Result<std::optional<std::string>> {
    MW_ASSIGN_OR_RETURN(const Rows rows, db_->Run(Sql::kSelectAccountState, Params().Int(account)));
    if (rows.empty() || rows.Text(0, 0) != AccountStateName(AccountState::kActive)) {
      return std::nullopt;
    }
    return rows.Text(0, 1);
  });
  // The accounts with mail left queued: the other nodes are told (a notification each).
  std::set<AccountId> queued;
  SourceCounts sources;
  for (const NewMessage& m : messages) {
    InsertedMessage& out = inserted.messages.emplace_back();
    MW_ASSIGN_OR_RETURN(const std::optional<TimePoint> lease_until,
                        leasing.Decide(m, out, inserted));
    if (!out.leased) queued.insert(m.account);
    MW_ASSIGN_OR_RETURN(out.id, InsertMessageRows(*db_, m, lease_until, lease.node));
    sources.Add(m);
  }
  MW_RETURN_IF_ERROR(FlushSources(*db_, sources));
  const std::int64_t prune_below = sources.newest_hour() - (kSourceHoursKept - 1);
  bool pruned_all = false;
  if (prune_below > sources_pruned_below_) {
    MW_ASSIGN_OR_RETURN(
        const Rows rows,
        db_->Run(Sql::kPruneSources, Params().Int(prune_below).Int(kSourcePruneBatch)));
    pruned_all = rows.Changed() < kSourcePruneBatch;
  }
  for (const AccountId account : queued) MW_RETURN_IF_ERROR(Notify(*db_, "mail", account));
  MW_RETURN_IF_ERROR(tx.Commit());
  if (pruned_all) sources_pruned_below_ = prune_below;
  return inserted;
}

Result<ClaimedBatch> PgStore::ClaimDue(const ClaimRequest& request) {
  ClaimedBatch batch;
  std::vector<ClaimedMessage>& claimed = batch.messages;
  if (request.limit <= 0) return batch;
  const auto limit = static_cast<std::size_t>(request.limit);
  const std::int64_t now = Millis(request.now);

  // One transaction: the due messages are chosen and locked (SKIP LOCKED: another node's
  // claim in progress is passed over, not waited for), then leased; the locks hold until the
  // lease is committed, so no two nodes lease one message.
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kNoSync));
  struct AccountQueue {
    AccountId account = 0;
    bool released_only = false;
    MessageId epoch = 0;  // the account's purge epoch (see schema.h)
    std::string name;
    std::vector<DueMessage> due;
  };
  std::vector<AccountQueue> queues;
  {
    MW_ASSIGN_OR_RETURN(
        const Rows rows,
        db_->Run(Sql::kSelectDueAccounts,
                 Params().Int(now).Int(static_cast<std::int64_t>(limit + request.skip.size()))));
    for (int i = 0; i < rows.size(); ++i) {
      const AccountId account = rows.Int(i, 0);
      if (std::ranges::find(request.skip, account) != request.skip.end()) continue;
      if (queues.size() == limit) break;
      AccountQueue& queue = queues.emplace_back();
      queue.account = account;
      queue.released_only = rows.Int(i, 1) != 0;
      queue.epoch = rows.Int(i, 2);
    }
  }
  const auto most_per_account = static_cast<std::int64_t>(limit - queues.size() + 1);
  for (AccountQueue& queue : queues) {
    std::int64_t most = most_per_account;
    for (const auto& [account, cap] : request.most) {
      if (account == queue.account) most = std::min<std::int64_t>(most, std::max(cap, 0));
    }
    if (most == 0) continue;
    const Sql sql = queue.released_only ? Sql::kSelectDueReleased : Sql::kSelectDueMessages;
    Params params;
    params.Int(queue.account).Int(now).Int(most);
    if (sql == Sql::kSelectDueMessages) params.Int(queue.epoch);
    MW_ASSIGN_OR_RETURN(const Rows rows, db_->Run(sql, params));
    for (int i = 0; i < rows.size(); ++i) {
      queue.due.push_back({.id = rows.Int(i, 0), .size = rows.Int(i, 1)});
    }
  }
  std::vector<std::pair<AccountQueue*, DueMessage>> picked;
  batch.budget_reached = PickRoundRobin(queues, request, picked);
  if (picked.empty()) {
    MW_RETURN_IF_ERROR(tx.Commit());
    return batch;
  }

  std::vector<std::int64_t> accounts;
  std::vector<std::int64_t> ids;
  for (auto& [queue, due] : picked) {
    accounts.push_back(queue->account);
    ids.push_back(due.id);
    if (queue->name.empty()) {
      MW_ASSIGN_OR_RETURN(const Rows rows,
                          db_->Run(Sql::kSelectAccountName, Params().Int(queue->account)));
      if (!rows.empty()) queue->name = rows.Text(0, 0);
    }
  }
  // The lease's end goes into next_attempt_ms: if this node dies, the message is due again
  // then, through the same index as any other due message.
  std::map<MessageId, ClaimedMessage> leased;
  {
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        db_->Run(Sql::kLeaseMessages, Params()
                                                          .IntArray(accounts)
                                                          .IntArray(ids)
                                                          .Int(Millis(request.lease_until))
                                                          .Text(request.node)
                                                          .Int(kLargeBodyBytes)));
    for (int i = 0; i < rows.size(); ++i) {
      ClaimedMessage& message = leased[rows.Int(i, 0)];
      message.id = rows.Int(i, 0);
      message.sender = rows.Text(i, 1);
      message.subject = rows.Text(i, 2);
      message.attempts = static_cast<int>(rows.Int(i, 3)) - 1;
      message.received_at = FromUnixMillis(rows.Int(i, 4));
      message.body = rows.Bytes(i, 5);
    }
  }
  // Large bodies one at a time, so that only one is held twice (encoded and decoded) at once.
  for (auto& [queue, due] : picked) {
    if (due.size < kLargeBodyBytes) continue;
    auto it = leased.find(due.id);
    if (it == leased.end()) continue;  // reported below
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        db_->Run(Sql::kSelectLeasedBody, Params().Int(queue->account).Int(due.id)));
    if (!rows.empty()) it->second.body = rows.Bytes(0, 0);
  }
  {
    MW_ASSIGN_OR_RETURN(const Rows rows, db_->Run(Sql::kSelectClaimedRecipients,
                                                  Params().IntArray(accounts).IntArray(ids)));
    for (int i = 0; i < rows.size(); ++i) {
      auto it = leased.find(rows.Int(i, 0));
      if (it == leased.end()) continue;
      it->second.recipients.push_back(
          {.index = static_cast<int>(rows.Int(i, 1)), .address = rows.Text(i, 2)});
    }
  }
  claimed.reserve(picked.size());
  for (auto& [queue, due] : picked) {
    auto it = leased.find(due.id);
    if (it == leased.end())
      return Fail(ErrorCode::kInternal, fmt::format("store: message {} vanished", due.id));
    it->second.account = queue->account;
    it->second.account_name = queue->name;
    claimed.push_back(std::move(it->second));
  }
  MW_RETURN_IF_ERROR(tx.Commit());
  return batch;
}

Result<void> PgStore::RecordOutcomes(std::span<const DeliveryOutcome> outcomes, TimePoint now) {
  if (outcomes.empty()) return {};
  const std::int64_t now_ms = Millis(now);
  const int day = LocalDayOf(now);
  Tally tally(*db_);

  // kNoSync: an outcome undone by a crash of the server leaves its message leased, so it is
  // delivered again (see Transaction).
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kNoSync));
  // Accounts first, then messages, in id order: the order every writer locks them in.
  std::vector<std::int64_t> ids;
  for (const DeliveryOutcome& outcome : outcomes) ids.push_back(outcome.id);
  {
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        db_->Run(Sql::kSelectAccountsOfMessages, Params().IntArray(ids)));
    std::vector<std::int64_t> accounts;
    for (int i = 0; i < rows.size(); ++i) accounts.push_back(rows.Int(i, 0));
    MW_RETURN_IF_ERROR(db_->Run(Sql::kLockAccounts, Params().IntArray(accounts)));
  }
  std::vector<const DeliveryOutcome*> ordered;
  for (const DeliveryOutcome& outcome : outcomes) ordered.push_back(&outcome);
  std::stable_sort(
      ordered.begin(), ordered.end(),
      [](const DeliveryOutcome* a, const DeliveryOutcome* b) { return a->id < b->id; });
  for (const DeliveryOutcome* outcome : ordered) {
    AccountId account = 0;
    bool marked = false;
    {
      MW_ASSIGN_OR_RETURN(const Rows rows,
                          db_->Run(Sql::kLockMessageState, Params().Int(outcome->id)));
      // Purged while in flight (its row deleted or not yet) or already finished (a late
      // outcome of a lease that ran out, or a replay): nothing is left to record, and the
      // counters stay right.
      if (rows.empty() || rows.Int(0, 1) == schema::kMessageDone || rows.Bool(0, 2)) continue;
      account = rows.Int(0, 0);
      marked = rows.Bool(0, 3);
    }
    for (const RecipientOutcome& r : outcome->recipients) {
      MW_ASSIGN_OR_RETURN(const Rows rows,
                          db_->Run(Sql::kUpdateRecipient, Params()
                                                              .Int(account)
                                                              .Int(outcome->id)
                                                              .Int(r.index)
                                                              .Int(RecipientCode(r.status))
                                                              .Text(r.reply)
                                                              .Int(now_ms)));
      if (r.status == RecipientStatus::kFailed && rows.Changed() == 1) {
        tally.Count(account, day, {.errors = 1});
      }
    }
    MW_ASSIGN_OR_RETURN(const Rows states,
                        db_->Run(Sql::kRecipientStates, Params().Int(account).Int(outcome->id)));
    if (!states.empty() && states.Bool(0, 0)) {
      MW_RETURN_IF_ERROR(
          db_->Run(Sql::kRequeueMessage,
                   Params().Int(account).Int(outcome->id).Int(Millis(outcome->next_attempt))));
    } else {
      MW_RETURN_IF_ERROR(
          db_->Run(Sql::kFinishMessage, Params().Int(account).Int(outcome->id).Int(now_ms)));
      MW_RETURN_IF_ERROR(tally.EndMessage(account, outcome->id, marked));
      if (!states.empty() && states.Bool(0, 1)) tally.Count(account, day, {.sent = 1});
    }
  }
  MW_RETURN_IF_ERROR(tally.Flush());
  MW_RETURN_IF_ERROR(tx.Commit());
  return {};
}

Result<void> PgStore::ReleaseLeases(std::string_view node) {
  MW_ASSIGN_OR_RETURN(const Rows rows, db_->Run(Sql::kReleaseLeases, Params().Text(node)));
  if (rows.Changed() > 0) {
    spdlog::info("store: {} message(s) leased to {} are due again", rows.Changed(), node);
  }
  return {};
}

Result<std::optional<TimePoint>> PgStore::NextDueTime(std::span<const AccountId> skip) {
  MW_ASSIGN_OR_RETURN(
      const Rows rows,
      db_->Run(Sql::kSelectNextDue, Params().Int(static_cast<std::int64_t>(skip.size() + 1))));
  for (int i = 0; i < rows.size(); ++i) {
    if (std::ranges::find(skip, rows.Int(i, 0)) != skip.end()) continue;
    return std::optional<TimePoint>(FromUnixMillis(rows.Int(i, 1)));
  }
  return std::optional<TimePoint>();
}

Result<std::optional<StoredMessage>> PgStore::GetMessage(MessageId id) {
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kRead));
  MW_ASSIGN_OR_RETURN(auto message, ReadMessage(*db_, id));
  MW_RETURN_IF_ERROR(tx.Commit());
  return message;
}

Result<std::vector<AccountId>> PgStore::AccountsInState(AccountState state) {
  std::vector<AccountId> ids;
  MW_ASSIGN_OR_RETURN(const Rows rows, db_->Run(Sql::kSelectAccountsInState,
                                                Params().Text(AccountStateName(state))));
  for (int i = 0; i < rows.size(); ++i) ids.push_back(rows.Int(i, 0));
  return ids;
}

Result<std::vector<AuditRecord>> PgStore::ListAudit(std::optional<AccountId> account, int limit,
                                                    std::int64_t before_id) {
  std::vector<AuditRecord> records;
  if (limit <= 0) return records;
  Params params;
  params.Int(before_id > 0 ? before_id : std::numeric_limits<std::int64_t>::max()).Int(limit);
  if (account) params.Int(*account);
  MW_ASSIGN_OR_RETURN(const Rows rows,
                      db_->Run(account ? Sql::kSelectAuditOfAccount : Sql::kSelectAudit, params));
  for (int i = 0; i < rows.size(); ++i) {
    AuditRecord r;
    r.id = rows.Int(i, 0);
    r.at = FromUnixMillis(rows.Int(i, 1));
    r.account_name = rows.Text(i, 2);
    r.actor = rows.Text(i, 3);
    r.action = rows.Text(i, 4);
    const auto from = ParseAccountState(rows.Text(i, 5));
    const auto to = ParseAccountState(rows.Text(i, 6));
    if (!from || !to)
      return Fail(ErrorCode::kInternal, fmt::format("store: audit record {} states", r.id));
    r.from = *from;
    r.to = *to;
    r.reason = rows.Text(i, 7);
    records.push_back(std::move(r));
  }
  return records;
}

Result<std::int64_t> PgStore::PurgeBatch(AccountId account, int limit, TimePoint /*now*/) {
  // One transaction: a batch of purged rows and purge_left go together. The purge was counted
  // when it started; deleting its rows changes no counter and no pending. The account's row is
  // locked first, as every writer takes it: two nodes deleting one account's rows take turns.
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kWrite));
  MessageId upto = 0;
  std::int64_t left = 0;
  {
    MW_ASSIGN_OR_RETURN(const Rows rows, db_->Run(Sql::kLockPurgeState, Params().Int(account)));
    if (rows.empty())
      return Fail(ErrorCode::kNotFound, fmt::format("no account with id {}", account));
    upto = rows.Int(0, 0);
    left = rows.Int(0, 1);
  }
  if (left == 0) return left;
  std::vector<MessageId> batch;
  {
    // No more than purge_left: the scan's end (id <= upto) is the second member of a row
    // comparison, which does not stop it; the limit does, at the last purged row.
    const std::int64_t most = std::min<std::int64_t>(std::max(limit, 0), left);
    MW_ASSIGN_OR_RETURN(const Rows rows, db_->Run(Sql::kSelectPurgeBatch,
                                                  Params().Int(account).Int(upto).Int(most)));
    for (int i = 0; i < rows.size(); ++i) batch.push_back(rows.Int(i, 0));
  }
  if (!batch.empty()) {
    MW_RETURN_IF_ERROR(db_->Run(Sql::kDeletePurged, Params().Int(account).IntArray(batch)));
  }
  std::int64_t done = static_cast<std::int64_t>(batch.size());
  if (done < limit && done < left) {
    // The scan found fewer than asked: nothing is left under the watermark, whatever the
    // counter says. A counter out of step is a bug, but must not keep the job going.
    spdlog::warn("store: account {}: purge_left was {} with {} purged rows left", account, left,
                 done);
    done = left;
  }
  Tally tally(*db_);
  tally.Of(account).purge_left -= done;
  MW_RETURN_IF_ERROR(tally.Flush());
  MW_RETURN_IF_ERROR(tx.Commit());
  return std::max<std::int64_t>(left - done, 0);
}

Result<std::int64_t> PgStore::DeleteFinished(TimePoint cutoff, int limit) {
  // One statement, one transaction. kNoSync: old history only; a deletion a crash of the
  // server undoes is done again by the next call.
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kNoSync));
  MW_ASSIGN_OR_RETURN(
      const Rows rows,
      db_->Run(Sql::kDeleteFinished, Params().Int(Millis(cutoff)).Int(std::max(limit, 0))));
  MW_RETURN_IF_ERROR(tx.Commit());
  return rows.Changed();
}

Result<std::int64_t> PgStore::ExpireHeld(TimePoint cutoff, int limit, TimePoint now) {
  constexpr std::string_view kExpiredReply = "expired: held for longer than policy.hold";
  std::int64_t expired = 0;
  if (limit <= 0) return expired;
  const std::int64_t cutoff_ms = Millis(cutoff);
  const std::int64_t now_ms = Millis(now);
  const int day = LocalDayOf(now);

  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kWrite));
  std::vector<AccountId> accounts;
  {
    MW_ASSIGN_OR_RETURN(const Rows rows, db_->Run(Sql::kSelectHoldingAccounts, Params().Int(0)));
    for (int i = 0; i < rows.size(); ++i) accounts.push_back(rows.Int(i, 0));
  }
  Tally tally(*db_);
  for (const AccountId account : accounts) {
    if (expired >= limit) break;
    // The account's row first (as every writer), then its oldest messages page by page; the
    // first one received at or after the cutoff ends the walk.
    MW_ASSIGN_OR_RETURN(const AccountState state, ReadAccountState(*db_, account, true));
    if (state == AccountState::kActive) continue;  // unblocked meanwhile
    std::vector<MessageId> due;
    MessageId after = 0;
    bool walking = true;
    while (walking && expired + static_cast<std::int64_t>(due.size()) < limit) {
      const std::int64_t page = limit - expired - static_cast<std::int64_t>(due.size()) + 16;
      MW_ASSIGN_OR_RETURN(const Rows rows, db_->Run(Sql::kSelectUnfinishedPage,
                                                    Params().Int(account).Int(after).Int(page)));
      if (rows.size() < page) walking = false;
      for (int i = 0; i < rows.size(); ++i) {
        if (expired + static_cast<std::int64_t>(due.size()) >= limit ||
            rows.Int(i, 2) >= cutoff_ms) {
          walking = false;
          break;
        }
        const MessageId id = rows.Int(i, 0);
        after = id;
        if (rows.Int(i, 1) != schema::kMessageQueued) continue;
        MW_ASSIGN_OR_RETURN(const Rows released,
                            db_->Run(Sql::kIsReleased, Params().Int(account).Int(id)));
        if (!released.empty() && released.Bool(0, 0)) continue;
        due.push_back(id);
      }
    }
    for (const MessageId id : due) {
      MW_RETURN_IF_ERROR(db_->Run(Sql::kExpireRecipients,
                                  Params().Int(account).Int(id).Text(kExpiredReply).Int(now_ms)));
      MW_RETURN_IF_ERROR(db_->Run(Sql::kFinishMessage, Params().Int(account).Int(id).Int(now_ms)));
      MW_RETURN_IF_ERROR(tally.EndMessage(account, id));
      tally.Count(account, day, {.errors = 1, .expired = 1});
      ++expired;
    }
  }
  MW_RETURN_IF_ERROR(tally.Flush());
  MW_RETURN_IF_ERROR(tx.Commit());
  return expired;
}

Result<std::vector<StoredMessage>> PgStore::ListPending(AccountId account, int limit,
                                                        MessageId before_id) {
  std::vector<StoredMessage> messages;
  if (limit <= 0) return messages;
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kRead));
  std::vector<MessageId> ids;
  {
    MW_ASSIGN_OR_RETURN(
        const Rows rows,
        db_->Run(Sql::kSelectPendingPage,
                 Params()
                     .Int(account)
                     .Int(before_id > 0 ? before_id : std::numeric_limits<std::int64_t>::max())
                     .Int(limit)));
    for (int i = 0; i < rows.size(); ++i) ids.push_back(rows.Int(i, 0));
  }
  for (const MessageId id : ids) {
    MW_ASSIGN_OR_RETURN(auto message, ReadMessage(*db_, id));
    if (message) messages.push_back(std::move(*message));
  }
  MW_RETURN_IF_ERROR(tx.Commit());
  return messages;
}

Result<std::int64_t> PgStore::ReleaseHeld(AccountId account, const MessageSelector& selector,
                                          TimePoint /*now*/) {
  // The account's row is locked first: an unblock (which clears the marks) cannot slip in
  // between reading the state and marking.
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kWrite));
  MW_ASSIGN_OR_RETURN(const AccountState state, ReadAccountState(*db_, account, true));
  if (state == AccountState::kActive) return std::int64_t{0};
  MW_ASSIGN_OR_RETURN(const auto ids, SelectHeld(*db_, account, selector));
  Tally tally(*db_);
  std::int64_t released = 0;
  for (const MessageId id : ids) {
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        db_->Run(Sql::kInsertReleased, Params().Int(account).Int(id)));
    released += rows.Changed();
  }
  tally.Of(account).released += released;
  MW_RETURN_IF_ERROR(tally.Flush());
  if (released > 0) MW_RETURN_IF_ERROR(Notify(*db_, "release", account));
  MW_RETURN_IF_ERROR(tx.Commit());
  return released;
}

Result<std::int64_t> PgStore::DeleteHeld(AccountId account, const MessageSelector& selector,
                                         TimePoint now) {
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kWrite));
  MW_ASSIGN_OR_RETURN(const AccountState state, ReadAccountState(*db_, account, true));
  if (state == AccountState::kActive) return std::int64_t{0};
  MW_ASSIGN_OR_RETURN(const auto ids, SelectHeld(*db_, account, selector));
  Tally tally(*db_);
  const int day = LocalDayOf(now);
  for (const MessageId id : ids) {
    MW_RETURN_IF_ERROR(tally.EndMessage(account, id));
    MW_RETURN_IF_ERROR(db_->Run(Sql::kDeleteMessage, Params().Int(account).Int(id)));
    tally.Count(account, day, {.purged = 1});
  }
  MW_RETURN_IF_ERROR(tally.Flush());
  MW_RETURN_IF_ERROR(tx.Commit());
  return static_cast<std::int64_t>(ids.size());
}

Result<void> PgStore::AddToken(AccountId account, std::string_view token_hash, TimePoint now) {
  if (token_hash.empty()) return Fail(ErrorCode::kInvalidInput, "token hash is empty");
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kWrite));
  MW_RETURN_IF_ERROR(ReadAccountState(*db_, account, false));
  MW_RETURN_IF_ERROR(
      db_->Run(Sql::kInsertToken, Params().Text(token_hash).Int(account).Int(Millis(now))));
  MW_RETURN_IF_ERROR(tx.Commit());
  return {};
}

Result<std::optional<Account>> PgStore::FindAccountByToken(std::string_view token_hash) {
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kRead));
  MW_ASSIGN_OR_RETURN(const Rows rows,
                      db_->Run(Sql::kSelectAccountIdByToken, Params().Text(token_hash)));
  if (rows.empty()) return std::optional<Account>();
  MW_ASSIGN_OR_RETURN(auto account,
                      ReadOneAccount(*db_, Sql::kSelectAccountById, Params().Int(rows.Int(0, 0))));
  MW_RETURN_IF_ERROR(tx.Commit());
  return account;
}

Result<void> PgStore::SetSmtpPassword(AccountId account, std::string_view password_hash) {
  MW_ASSIGN_OR_RETURN(const Rows rows,
                      db_->Run(Sql::kSetSmtpPassword, Params().Int(account).Text(password_hash)));
  if (rows.Changed() == 0)
    return Fail(ErrorCode::kNotFound, fmt::format("no account with id {}", account));
  return {};
}

Result<std::optional<std::string>> PgStore::GetSmtpPasswordHash(std::string_view account_name) {
  // No transaction: the name's account never changes.
  MW_ASSIGN_OR_RETURN(const std::optional<AccountId> id, FindAccountId(*db_, account_name));
  if (!id) return std::optional<std::string>();
  MW_ASSIGN_OR_RETURN(const Rows rows, db_->Run(Sql::kSelectSmtpPassword, Params().Int(*id)));
  if (rows.empty() || rows.IsNull(0, 0)) return std::optional<std::string>();
  return std::optional<std::string>(rows.Text(0, 0));
}

Result<AccountCounters> PgStore::GetCounters(AccountId account, int today) {
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kRead));
  AccountCounters c;
  {
    MW_ASSIGN_OR_RETURN(const Rows rows, db_->Run(Sql::kSelectCounters, Params().Int(account)));
    if (rows.empty())
      return Fail(ErrorCode::kNotFound, fmt::format("no account with id {}", account));
    const bool active = rows.Text(0, 0) == AccountStateName(AccountState::kActive);
    const std::int64_t pending = rows.Int(0, 1);
    const std::int64_t released = rows.Int(0, 2);
    c.queued = active ? pending : std::min(released, pending);
    c.held = pending - c.queued;
    c.submitted = rows.Int(0, 3);
    c.sent = rows.Int(0, 4);
    c.errors = rows.Int(0, 5);
    c.expired = rows.Int(0, 6);
    c.purged = rows.Int(0, 7);
  }
  {
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        db_->Run(Sql::kSelectDay, Params().Int(account).Int(today)));
    if (!rows.empty()) {
      c.sent_today = rows.Int(0, 0);
      c.errors_today = rows.Int(0, 1);
    }
  }
  MW_RETURN_IF_ERROR(tx.Commit());
  return c;
}

Result<std::vector<DailyVolume>> PgStore::GetVolumes(AccountId account, int first_day,
                                                     int last_day) {
  std::vector<DailyVolume> days;
  MW_ASSIGN_OR_RETURN(
      const Rows rows,
      db_->Run(Sql::kSelectVolumes, Params().Int(account).Int(first_day).Int(last_day)));
  for (int i = 0; i < rows.size(); ++i) {
    days.push_back({.day = static_cast<int>(rows.Int(i, 0)),
                    .submitted = rows.Int(i, 1),
                    .sent = rows.Int(i, 2),
                    .errors = rows.Int(i, 3),
                    .expired = rows.Int(i, 4),
                    .purged = rows.Int(i, 5)});
  }
  return days;
}

Result<std::vector<DeliveryError>> PgStore::ListErrors(AccountId account, TimePoint since,
                                                       int limit,
                                                       std::optional<ErrorCursor> after) {
  std::vector<DeliveryError> errors;
  if (limit <= 0) return errors;
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  MW_ASSIGN_OR_RETURN(const Rows rows, db_->Run(Sql::kSelectErrors,
                                                Params()
                                                    .Int(account)
                                                    .Int(Millis(since))
                                                    .Int(after ? Millis(after->at) : kMax)
                                                    .Int(after ? after->message : kMax)
                                                    .Int(after ? std::int64_t{after->index} : kMax)
                                                    .Int(limit)));
  for (int i = 0; i < rows.size(); ++i) {
    errors.push_back({.at = FromUnixMillis(rows.Int(i, 0)),
                      .message = rows.Int(i, 1),
                      .index = static_cast<int>(rows.Int(i, 2)),
                      .recipient = rows.Text(i, 3),
                      .reply = rows.Text(i, 4),
                      .subject = rows.Text(i, 5)});
  }
  return errors;
}

Result<std::vector<AccountId>> PgStore::AccountsToReport(int day) {
  std::vector<AccountId> accounts;
  MW_ASSIGN_OR_RETURN(const Rows rows, db_->Run(Sql::kSelectAccountsToReport, Params().Int(day)));
  for (int i = 0; i < rows.size(); ++i) accounts.push_back(rows.Int(i, 0));
  return accounts;
}

Result<std::optional<MessageId>> PgStore::ClaimReport(AccountId account, int day,
                                                      const NewMessage& report, TimePoint now) {
  if (report.recipients.empty())
    return Fail(ErrorCode::kInvalidInput, "the report has no recipient");
  // The claim is the unique key (account_id, day): a second claimer's INSERT waits for the
  // first's transaction and then, the row being there, does nothing, and stores nothing.
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kWrite));
  MW_RETURN_IF_ERROR(ReadAccountState(*db_, account, false));
  {
    MW_ASSIGN_OR_RETURN(const Rows rows, db_->Run(Sql::kInsertReport,
                                                  Params().Int(account).Int(day).Int(Millis(now))));
    if (rows.Changed() == 0) return std::optional<MessageId>();
  }
  Tally tally(*db_);
  tally.Of(report.account).pending += 1;
  tally.Count(report.account, LocalDayOf(report.received_at), {.submitted = 1});
  MW_RETURN_IF_ERROR(tally.Flush());
  MW_ASSIGN_OR_RETURN(const MessageId id, InsertMessageRows(*db_, report));
  MW_RETURN_IF_ERROR(db_->Run(Sql::kSetReportMessage, Params().Int(account).Int(day).Int(id)));
  MW_RETURN_IF_ERROR(Notify(*db_, "mail", report.account));
  MW_RETURN_IF_ERROR(tx.Commit());
  return std::optional<MessageId>(id);
}

Result<StoreTotals> PgStore::GetTotals() {
  MW_ASSIGN_OR_RETURN(const Rows rows, db_->Run(Sql::kSelectTotals));
  StoreTotals totals;
  if (!rows.empty()) {
    const std::int64_t held_pending = rows.Int(0, 1);
    const std::int64_t released = rows.Int(0, 2);
    totals.queued = rows.Int(0, 0) + released;
    totals.held = held_pending - released;
    totals.submitted = rows.Int(0, 3);
    totals.sent = rows.Int(0, 4);
    totals.errors = rows.Int(0, 5);
    totals.expired = rows.Int(0, 6);
    totals.purged = rows.Int(0, 7);
  }
  return totals;
}

Result<MailSources> PgStore::GetSources(AccountId account, int hours, TimePoint now, int top) {
  MailSources sources;
  if (hours <= 0 || top <= 0) return sources;
  const std::int64_t last = UnixHour(now);
  const std::int64_t first_excluded = last - std::min(hours, kSourceHoursKept);
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kRead));
  const std::pair<int, std::vector<SourceCount>*> kinds[] = {
      {schema::kSourceScript, &sources.scripts},
      {schema::kSourceSender, &sources.senders},
      {schema::kSourceDomain, &sources.domains},
      {schema::kSourceSubject, &sources.subjects}};
  for (const auto& [kind, list] : kinds) {
    MW_ASSIGN_OR_RETURN(
        const Rows rows,
        db_->Run(Sql::kSelectSources,
                 Params().Int(account).Int(kind).Int(first_excluded).Int(last).Int(top)));
    for (int i = 0; i < rows.size(); ++i) list->push_back({rows.Text(i, 0), rows.Int(i, 1)});
  }
  MW_RETURN_IF_ERROR(tx.Commit());
  return sources;
}

Result<std::string> PgStore::GetMessageHeaders(AccountId account, MessageId id) {
  MW_ASSIGN_OR_RETURN(
      const Rows rows,
      db_->Run(Sql::kSelectMessageHead, Params().Int(id).Int(account).Int(
                                            static_cast<std::int64_t>(kMaxHeaderSectionBytes))));
  if (rows.empty()) {
    return Fail(ErrorCode::kNotFound,
                fmt::format("There is no unfinished message {} of this account.", id));
  }
  std::string head = rows.Bytes(0, 0);
  CutToHeaderSection(head);
  return head;
}

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

}  // namespace mailwarden
