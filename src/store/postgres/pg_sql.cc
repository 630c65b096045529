// PostgreSQL's text of the statements it does not share with SQLite (sql_statement.h gives
// each one's parameters).
#include <string>

#include "store/postgres/pg_session.h"
#include "store/sql/sql_text.h"

namespace mailwarden {
namespace {

// The text of each statement in PostgreSQL's spelling ($N, LEAST,
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
constexpr std::string_view PgText(Sql sql) {
  switch (sql) {
    case Sql::kSelectAccountIdByName:
      return "SELECT account_id FROM {account_names} WHERE name = $1";
    case Sql::kInsertAccountName:
      // The new account's id is taken here, before its accounts row exists: the name's row is
      // what two nodes creating one account at once conflict on.
      return "INSERT INTO {account_names} (name, account_id) "
             "VALUES ($1, nextval(pg_get_serial_sequence('{accounts}', 'id'))) "
             "ON CONFLICT (name) DO NOTHING RETURNING account_id";
    case Sql::kDeleteAccountName:
      return "DELETE FROM {account_names} WHERE name = $1";
    case Sql::kInsertAccount:
      return "INSERT INTO {accounts} (id, name, report_to, language, max_per_day, max_per_hour, "
             "since_ms, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)";
    case Sql::kUpdateAccount:
      return "UPDATE {accounts} SET report_to = $2, language = $3, max_per_day = $4, "
             "max_per_hour = $5 WHERE id = $1";
    case Sql::kLockAccountState:
      return "SELECT state FROM {accounts} WHERE id = $1 FOR UPDATE";
    case Sql::kInsertMessage:
      // purge_epoch: the account's watermark now (see schema.h). The batch has updated the
      // accounts row already, so a purge on another node waits for this commit, and then
      // counts these messages in. $9-$12: queued, no attempt, due at once, no lease; or leased
      // on arrival: delivering, one attempt, due again at the lease's end, the lease's node.
      return "INSERT INTO {messages} (account_id, status, attempts, received_ms, "
             "next_attempt_ms, uid, size, sender, subject, script, body, purge_epoch, "
             "lease_node, message_id) VALUES ($1, $9, $10, $2, $11, $3, $4, $5, $6, $7, $8, "
             "(SELECT purge_upto FROM {accounts} WHERE id = $1), NULLIF($12, ''), "
             "NULLIF($13, '')) RETURNING id";
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
    case Sql::kLeaseMessages:
      // A body of $5 bytes or more is read alone (kSelectLeasedBody): the result of this
      // statement holds every body it returns, hex-encoded, until it is freed.
      return "UPDATE {messages} m SET status = {delivering}, attempts = m.attempts + 1, "
             "next_attempt_ms = $3, lease_node = $4 "
             "FROM unnest($1::bigint[], $2::bigint[]) AS p(account_id, id) "
             "WHERE m.account_id = p.account_id AND m.id = p.id "
             "RETURNING m.id, m.sender, m.subject, m.attempts, m.received_ms, "
             "CASE WHEN m.size < $5 THEN m.body END, m.script";
    case Sql::kSelectLeasedBody:
      return "SELECT body FROM {messages} WHERE account_id = $1 AND id = $2";
    case Sql::kSelectClaimedRecipients:
      return "SELECT r.message_id, r.idx, r.address FROM {recipients} r "
             "JOIN unnest($1::bigint[], $2::bigint[]) AS p(account_id, id) "
             "ON r.account_id = p.account_id AND r.message_id = p.id "
             "WHERE r.status = {r_pending} ORDER BY r.message_id, r.idx";
    case Sql::kLockAccountsOfMessages:
      // Accounts before messages, in id order, as every writer takes them: no deadlock.
      return "SELECT id FROM {accounts} WHERE id IN (SELECT account_id FROM {messages} "
             "WHERE id = ANY($1::bigint[])) ORDER BY id FOR UPDATE";
    case Sql::kLockMessageState:
      // The third column: purged; the fourth: whether the account may have released marks
      // to forget (the caller holds the account's lock, so neither can change meanwhile).
      return "SELECT m.account_id, m.status, m.id <= a.purge_upto, a.released_pending > 0, "
             "m.size FROM {messages} m JOIN {accounts} a ON a.id = m.account_id WHERE m.id = $1 "
             "FOR UPDATE OF m";
    case Sql::kUpdateRecipient:
      return "UPDATE {recipients} SET status = $4, reply = $5, updated_ms = $6, category = $7 "
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
    case Sql::kSelectMessage:
      // A purged message is gone, whether or not its row is deleted yet.
      return "SELECT m.account_id, m.sender, m.subject, m.script, m.uid, m.size, m.status, "
             "m.attempts, m.received_ms, m.next_attempt_ms FROM {messages} m "
             "JOIN {accounts} a ON a.id = m.account_id "
             "WHERE m.id = $1 AND NOT (m.status < {done} AND m.id <= a.purge_upto)";
    case Sql::kSelectRecipients:
      return "SELECT idx, address, status, reply, updated_ms, category, note FROM {recipients} "
             "WHERE account_id = $1 AND message_id = $2 ORDER BY idx";
    case Sql::kSetPurgeWatermark:
      // Every unfinished message has an id <= the newest unfinished one: all that pending
      // counts is purged now (the right-hand sides read the row as it was), and its rows join
      // those left to delete. The caller holds the account's lock, so `old` is the row the
      // UPDATE changes; it returns how many were purged, for the day's counter.
      return "WITH old AS (SELECT pending FROM {accounts} WHERE id = $1) "
             "UPDATE {accounts} SET purge_upto = GREATEST(purge_upto, COALESCE((SELECT MAX(m.id) "
             "FROM {messages} m WHERE m.account_id = $1 AND m.status < {done}), 0)), "
             "purge_left = purge_left + pending, purged = purged + pending, pending = 0, "
             "pending_bytes = 0, "
             "released_pending = 0 WHERE id = $1 RETURNING (SELECT pending FROM old)";
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
    case Sql::kBumpAccount:
      return "UPDATE {accounts} SET pending = pending + $2, "
             "released_pending = released_pending + $3, "
             "purge_left = GREATEST(0, purge_left + $4), "
             "submitted = submitted + $5, sent = sent + $6, errors = errors + $7, "
             "expired = expired + $8, purged = purged + $9, "
             "pending_bytes = GREATEST(0, pending_bytes + $10) WHERE id = $1";
    case Sql::kBumpDay:
      return "INSERT INTO {daily_counters} AS d (account_id, day, submitted, sent, errors, "
             "expired, purged) VALUES ($1, $2, $3, $4, $5, $6, $7) "
             "ON CONFLICT (account_id, day) DO UPDATE "
             "SET submitted = d.submitted + excluded.submitted, sent = d.sent + excluded.sent, "
             "errors = d.errors + excluded.errors, expired = d.expired + excluded.expired, "
             "purged = d.purged + excluded.purged";
    case Sql::kSelectUnfinishedPage:
      // A page of the account's oldest unfinished messages after id $2, locked: the walk of
      // ExpireHeld, which stops at the first young one.
      return "SELECT id, status, received_ms, size FROM {messages} "
             "WHERE (account_id, id) > ($1, GREATEST($2, {upto_of_1})) AND account_id <= $1 "
             "AND status < {done} ORDER BY account_id, id LIMIT $3 FOR UPDATE";
    case Sql::kExpireRecipients:
      return "UPDATE {recipients} SET status = {r_failed}, reply = $3, updated_ms = $4, "
             "category = 'expired' "
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
             "AND ($6 = 0 OR NOT EXISTS (SELECT 1 FROM {released} x WHERE x.account_id = $1 "
             "AND x.message_id = m.id)) "
             "AND ($7 = 0 OR EXISTS (SELECT 1 FROM {held_messages} h WHERE h.account_id = $1 "
             "AND h.message_id = m.id)) "
             "ORDER BY m.account_id, m.id LIMIT $5 FOR UPDATE OF m";
    case Sql::kSelectErrors:
      return "SELECT r.updated_ms, r.message_id, r.idx, r.address, r.reply, m.subject, "
             "r.category "
             "FROM {recipients} r JOIN {messages} m "
             "ON m.account_id = r.account_id AND m.id = r.message_id "
             "WHERE r.account_id = $1 AND r.status = {r_failed} AND r.updated_ms >= $2 "
             "AND (r.updated_ms, r.message_id, r.idx::bigint) < ($3::bigint, $4::bigint, "
             "$5::bigint) ORDER BY r.updated_ms DESC, r.message_id DESC, r.idx DESC LIMIT $6";
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
      // As SQLite's (sqlite_sql.cc). Two nodes adding new values to one hour at once may each
      // see room for one more: the bound is then passed by at most one row per node.
      return "INSERT INTO {sources} AS s (account_id, kind, hour, value, count) "
             "SELECT $1::bigint, $2::integer, $3::bigint, CASE "
             "WHEN EXISTS (SELECT 1 FROM {sources} WHERE account_id = $1 AND kind = $2 "
             "AND hour = $3 AND value = $4::text) THEN $4::text "
             "WHEN (SELECT COUNT(*) FROM (SELECT 1 FROM {sources} WHERE account_id = $1 "
             "AND kind = $2 AND hour = $3 AND value <> $7::text LIMIT $6) AS hour_rows) "
             "< $6 THEN $4::text ELSE $7::text END, $5::bigint "
             "ON CONFLICT (account_id, kind, hour, value) "
             "DO UPDATE SET count = s.count + excluded.count";
    case Sql::kSelectMessageHead:
      return "SELECT substr(body, 1, $3) FROM {messages} WHERE account_id = $2 AND id = $1 "
             "AND status < {done} AND body IS NOT NULL "
             "AND id > (SELECT purge_upto FROM {accounts} WHERE id = $2)";
    case Sql::kNotify:
      return "SELECT pg_notify($1, $2)";
    // A batch's statements of one kind, as one statement over arrays: each is, item by item,
    // the statement of one (above and sql_text.cc) joined to unnest(...).
    case Sql::kLockMessageStates:
      // Locked in id order, as kLockMessageState one after another locks them.
      return "SELECT m.id, m.account_id, m.status, m.id <= a.purge_upto, "
             "a.released_pending > 0, m.size FROM {messages} m "
             "JOIN {accounts} a ON a.id = m.account_id WHERE m.id = ANY($1::bigint[]) "
             "ORDER BY m.id FOR UPDATE OF m";
    case Sql::kUpdateRecipients:
      return "UPDATE {recipients} r SET status = p.status, reply = p.reply, updated_ms = $7, "
             "category = p.category FROM unnest($1::bigint[], $2::bigint[], $3::integer[], "
             "$4::integer[], $5::text[], $6::text[]) "
             "AS p(account_id, message_id, idx, status, reply, category) "
             "WHERE r.account_id = p.account_id AND r.message_id = p.message_id "
             "AND r.idx = p.idx AND r.status = {r_pending} RETURNING r.message_id, r.idx";
    case Sql::kRecipientStatesOf:
      return "SELECT p.id, COALESCE(bool_or(r.status = {r_pending}), false), "
             "COALESCE(bool_or(r.status = {r_sent}), false) "
             "FROM unnest($1::bigint[], $2::bigint[]) AS p(account_id, id) "
             "LEFT JOIN {recipients} r ON r.account_id = p.account_id AND r.message_id = p.id "
             "GROUP BY p.id";
    case Sql::kFinishMessages:
      return "UPDATE {messages} m SET status = {done}, done_ms = $3, lease_node = NULL, "
             "body = NULL, outcome = {outcome_of_m} "
             "FROM unnest($1::bigint[], $2::bigint[]) AS p(account_id, id) "
             "WHERE m.account_id = p.account_id AND m.id = p.id";
    case Sql::kInsertMessageEvents:
      // In the order given: a message's history is read in the order of the events' ids.
      return "INSERT INTO {message_events} (account_id, message_id, at_ms, kind, recipient, "
             "detail) SELECT p.account_id, p.message_id, $3, p.kind, p.recipient, p.detail "
             "FROM unnest($1::bigint[], $2::bigint[], $4::text[], $5::integer[], $6::text[]) "
             "WITH ORDINALITY AS p(account_id, message_id, kind, recipient, detail, n) "
             "ORDER BY p.n";
    case Sql::kForgetReleasedOf:
      return "DELETE FROM {released} r USING unnest($1::bigint[], $2::bigint[]) "
             "AS p(account_id, message_id) WHERE r.account_id = p.account_id "
             "AND r.message_id = p.message_id RETURNING r.message_id";
    case Sql::kSelectSuppressions:
      return "SELECT p.n, s.category, s.status, s.reply, s.message_id, s.at_ms, s.until_ms "
             "FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS p(account_id, address, n) "
             "JOIN {suppressions} s ON s.account_id = p.account_id AND s.address = p.address "
             "AND s.until_ms > $3";
    default:
      return "";
  }
}

}  // namespace

std::string PgSql(Sql sql) { return EngineSql(sql, PgText(sql), Placeholders::kDollar); }

}  // namespace mailwarden
