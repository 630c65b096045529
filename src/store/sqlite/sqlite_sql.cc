// SQLite's text of the statements it does not share with PostgreSQL (sql_statement.h gives
// each one's parameters). A term that must match a partial index's WHERE ("status < 2") is
// spelled out from the codes, since SQLite uses a partial index only when the query repeats
// its term; INDEXED BY keeps a statement on the index its plan needs where the primary key's
// range would read every account's mail. sqlite_plans_test checks the plans.
#include <string>

#include "store/sql/sql_text.h"
#include "store/sqlite/sqlite_session.h"

namespace mailwarden {
namespace {

constexpr std::string_view SqliteText(Sql sql) {
  switch (sql) {
    case Sql::kSelectAccountIdByName:
      return "SELECT id FROM {accounts} WHERE name = ?1";
    case Sql::kUpsertAccount:
      return "INSERT INTO {accounts} (name, report_to, language, max_per_day, max_per_hour, "
             "since_ms, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) "
             "ON CONFLICT (name) DO UPDATE SET report_to = excluded.report_to, "
             "language = excluded.language, max_per_day = excluded.max_per_day, "
             "max_per_hour = excluded.max_per_hour RETURNING id";
    case Sql::kAccountRowNamed:
      // SQLite's own (SqliteStore::RemoveAccountRows). What the foreign keys to accounts would look
      // for, through each table's index by account: for messages, the two partial indexes that
      // together hold every message.
      return "SELECT 1 WHERE EXISTS (SELECT 1 FROM {messages} WHERE account_id = ?1 "
             "AND status < {done}) OR EXISTS (SELECT 1 FROM {messages} WHERE account_id = ?1 "
             "AND status = {done}) OR EXISTS (SELECT 1 FROM {account_uids} WHERE account_id = ?1) "
             "OR EXISTS (SELECT 1 FROM {tokens} WHERE account_id = ?1) "
             "OR EXISTS (SELECT 1 FROM {sources} WHERE account_id = ?1) "
             "OR EXISTS (SELECT 1 FROM {reports} WHERE account_id = ?1) "
             "OR EXISTS (SELECT 1 FROM {daily_counters} WHERE account_id = ?1) "
             "OR EXISTS (SELECT 1 FROM {audit} WHERE account_id = ?1)";
    case Sql::kLockAccountState:
      // The single writer holds the whole database: nothing more to lock.
      return "SELECT state FROM {accounts} WHERE id = ?1";
    case Sql::kSetPurgeWatermark:
      // Every unfinished message has an id <= the newest unfinished one: all that pending
      // counts is purged now (the right-hand sides read the row as it was), and its rows join
      // those left to delete.
      return "UPDATE {accounts} SET purge_upto = MAX(purge_upto, COALESCE((SELECT MAX(m.id) "
             "FROM {messages} m WHERE m.account_id = ?1 AND m.status < {done}), 0)), "
             "purge_left = purge_left + pending, purged = purged + pending, pending = 0, "
             "pending_bytes = 0, released_pending = 0 WHERE id = ?1 RETURNING purged - ?2";
    case Sql::kSelectAccountsInState:
      // "state <> 'active'" repeats accounts_by_state's WHERE; ?2 is 1 for the active state,
      // which that index does not hold (a walk of the table, in id order).
      return "SELECT id FROM {accounts} WHERE state = ?1 AND state <> 'active' AND ?2 = 0 "
             "UNION ALL SELECT id FROM {accounts} WHERE state = 'active' AND ?2 = 1 "
             "ORDER BY id";
    case Sql::kInsertMessage:
      // (account, received, uid, size, sender, subject, script, body, lease_node, status,
      // attempts, next attempt). purge_epoch: the account's watermark now (see schema.h).
      // lease_node: the node that will claim it (SqliteStore::NoteNode), so the claim keeps
      // the row's size; or, for mail leased on arrival, the node that holds the lease.
      // id: above every id stored and above every purge watermark (message_id_floor, see
      // migration 12). SQLite would otherwise reuse the ids of the newest rows once they are
      // deleted (a purge's, or old history's): mail stored after a purge whose rows are gone
      // would have ids under its account's watermark (counted, but hidden as purged and its
      // outcomes ignored), or the id of another account's purged message still in flight,
      // whose late outcome would then finish it unsent. (MAX(id) of the rowid is one seek.)
      return "INSERT INTO {messages} (id, account_id, status, attempts, received_ms, "
             "next_attempt_ms, uid, size, sender, subject, script, body, purge_epoch, "
             "lease_node, message_id) VALUES (MAX(COALESCE((SELECT MAX(id) FROM {messages}), "
             "0), (SELECT id FROM message_id_floor)) + 1, "
             "?1, ?10, ?11, ?2, ?12, ?3, ?4, ?5, ?6, ?7, ?8, "
             "(SELECT purge_upto FROM {accounts} WHERE id = ?1), ?9, NULLIF(?13, ''))";
    case Sql::kBumpAccount:
      return "UPDATE {accounts} SET pending = pending + ?2, "
             "released_pending = released_pending + ?3, purge_left = MAX(0, purge_left + ?4), "
             "submitted = submitted + ?5, sent = sent + ?6, errors = errors + ?7, "
             "expired = expired + ?8, purged = purged + ?9, "
             "pending_bytes = MAX(0, pending_bytes + ?10) WHERE id = ?1";
    case Sql::kBumpDay:
      return "INSERT INTO {daily_counters} (account_id, day, submitted, sent, errors, expired, "
             "purged) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (account_id, day) DO UPDATE "
             "SET submitted = submitted + excluded.submitted, sent = sent + excluded.sent, "
             "errors = errors + excluded.errors, expired = expired + excluded.expired, "
             "purged = purged + excluded.purged";
    case Sql::kBumpSource:
      // A value new to its hour gets a row of its own while the hour has fewer than ?6 of
      // them (the "other" row ?7 not counted); else it is counted in the "other" row. CASE
      // stops at the first true WHEN: a value already there costs one lookup. "WHERE true":
      // SQLite's upsert after a SELECT needs a WHERE.
      return "INSERT INTO {sources} (account_id, kind, hour, value, count) "
             "SELECT ?1, ?2, ?3, CASE "
             "WHEN EXISTS (SELECT 1 FROM {sources} WHERE account_id = ?1 AND kind = ?2 "
             "AND hour = ?3 AND value = ?4) THEN ?4 "
             "WHEN (SELECT COUNT(*) FROM (SELECT 1 FROM {sources} WHERE account_id = ?1 "
             "AND kind = ?2 AND hour = ?3 AND value <> ?7 LIMIT ?6)) < ?6 THEN ?4 "
             "ELSE ?7 END, ?5 WHERE true "
             "ON CONFLICT (account_id, kind, hour, value) "
             "DO UPDATE SET count = count + excluded.count";
    case Sql::kSelectDueMessages:
      return "SELECT id, size FROM {messages} WHERE account_id = ?1 AND purge_epoch = ?4 "
             "AND status < {done} AND next_attempt_ms <= ?2 "
             "ORDER BY next_attempt_ms, status, id LIMIT ?3";
    case Sql::kSelectDueReleased:
      return "SELECT m.id, m.size FROM {released} r JOIN {messages} m ON m.id = r.message_id "
             "WHERE r.account_id = ?1 AND m.status < {done} AND m.next_attempt_ms <= ?2 "
             "ORDER BY m.next_attempt_ms, m.status, m.id LIMIT ?3";
    case Sql::kLeaseMessage:
      // A large body (?4) is not returned: the result would hold a copy of it; the caller
      // reads it from its pages.
      return "UPDATE {messages} SET status = {delivering}, attempts = attempts + 1, "
             "next_attempt_ms = ?2, lease_node = ?3 WHERE id = ?1 "
             "RETURNING sender, subject, attempts, received_ms, "
             "CASE WHEN ?4 THEN NULL ELSE body END, script";
    case Sql::kSelectPendingRecipients:
      return "SELECT idx, address FROM {recipients} WHERE message_id = ?1 "
             "AND status = {r_pending} ORDER BY idx";
    case Sql::kLockMessageState:
      return "SELECT m.account_id, m.status, m.id <= a.purge_upto, a.released_pending > 0, "
             "m.size FROM {messages} m JOIN {accounts} a ON a.id = m.account_id WHERE m.id = ?1";
    case Sql::kUpdateRecipient:
      return "UPDATE {recipients} SET status = ?4, reply = ?5, updated_ms = ?6, category = ?7 "
             "WHERE message_id = ?2 AND idx = ?3 AND status = {r_pending}";
    case Sql::kRecipientStates:
      // Whether any recipient is still pending, and whether any was sent: one read of the
      // message's few recipient rows (its primary key's range) for both.
      return "SELECT MAX(status = {r_pending}), MAX(status = {r_sent}) FROM {recipients} "
             "WHERE message_id = ?2";
    case Sql::kRequeueMessage:
      // lease_node stays (it counts only while status is delivering): the row keeps its size.
      return "UPDATE {messages} SET status = {queued}, next_attempt_ms = ?3 WHERE id = ?2";
    case Sql::kFinishMessage:
      return "UPDATE {messages} SET status = {done}, done_ms = ?3, lease_node = NULL, "
             "body = NULL WHERE id = ?2";
    case Sql::kReleaseLeases:
      // received_ms is in the past, so the message is due at once, and in its original place
      // in the oldest-first order.
      return "UPDATE {messages} SET status = {queued}, next_attempt_ms = received_ms "
             "WHERE status = {delivering} AND lease_node = ?1";
    case Sql::kSelectMessage:
      // A purged message is gone, whether or not its row is deleted yet.
      return "SELECT account_id, sender, subject, script, uid, size, status, attempts, "
             "received_ms, next_attempt_ms FROM {messages} m WHERE id = ?1 AND NOT "
             "(status < {done} AND id <= (SELECT purge_upto FROM {accounts} WHERE id = "
             "m.account_id))";
    case Sql::kSelectRecipients:
      return "SELECT idx, address, status, reply, updated_ms, category, note FROM {recipients} "
             "WHERE message_id = ?2 ORDER BY idx";
    case Sql::kLockPurgeState:
      return "SELECT purge_upto, purge_left, state FROM {accounts} WHERE id = ?1";
    case Sql::kSelectPurgeBatch:
      return "SELECT id FROM {messages} INDEXED BY messages_unfinished WHERE account_id = ?1 "
             "AND status < {done} AND id <= ?2 ORDER BY id LIMIT ?3";
    case Sql::kDeleteMessage:
      // Recipients and the released mark go with it (ON DELETE CASCADE).
      return "DELETE FROM {messages} WHERE id = ?2 AND status < {done}";
    case Sql::kDeleteFinished:
      // The longest finished first. Recipients go with them (ON DELETE CASCADE).
      return "DELETE FROM {messages} WHERE id IN (SELECT id FROM {messages} "
             "INDEXED BY messages_finished WHERE status = {done} AND done_ms < ?1 "
             "ORDER BY done_ms LIMIT ?2)";
    case Sql::kSelectUnfinishedPage:
      return "SELECT id, status, received_ms, size FROM {messages} "
             "INDEXED BY messages_unfinished "
             "WHERE account_id = ?1 AND status < {done} AND id > MAX(?2, {upto_of_1}) "
             "ORDER BY id LIMIT ?3";
    case Sql::kExpireRecipients:
      return "UPDATE {recipients} SET status = {r_failed}, reply = ?3, updated_ms = ?4, "
             "category = 'expired' "
             "WHERE message_id = ?2 AND status = {r_pending}";
    // Tracking's searches, each on its index whatever the statistics say (the partial
    // indexes repeat their terms literally).
    case Sql::kSearchFinished:
      return "SELECT {tracked_columns} FROM {messages} m INDEXED BY messages_finished_by_account "
             "JOIN {accounts} a ON a.id = m.account_id WHERE m.account_id = ?1 AND m.status = 2 "
             "AND m.id < ?2 ORDER BY m.id DESC LIMIT ?3";
    case Sql::kSearchByOutcome:
      return "SELECT {tracked_columns} FROM {messages} m INDEXED BY messages_by_outcome "
             "JOIN {accounts} a ON a.id = m.account_id WHERE m.account_id = ?1 AND m.status = 2 "
             "AND m.outcome = ?4 AND m.id < ?2 ORDER BY m.id DESC LIMIT ?3";
    case Sql::kSearchUnfinished:
      return "SELECT {tracked_columns} FROM {messages} m INDEXED BY messages_unfinished "
             "JOIN {accounts} a ON a.id = m.account_id WHERE m.account_id = ?1 AND m.status < 2 "
             "AND m.id < ?2 ORDER BY m.id DESC LIMIT ?3";
    case Sql::kSelectPendingPage:
      return "SELECT id FROM {messages} INDEXED BY messages_unfinished WHERE account_id = ?1 "
             "AND status < {done} AND id < ?2 AND id > {upto_of_1} ORDER BY id DESC LIMIT ?3";
    case Sql::kSelectHeldById:
      return "SELECT id FROM {messages} WHERE id = ?1 AND account_id = ?2 "
             "AND status = {queued} AND id > (SELECT purge_upto FROM {accounts} WHERE id = ?2)";
    case Sql::kSelectHeldByMatch:
      // instr, not LIKE: no wildcard in a customer's text means anything.
      return "SELECT m.id FROM {messages} m INDEXED BY messages_unfinished "
             "WHERE m.account_id = ?1 AND m.status < {done} AND m.id > {upto_of_1} "
             "AND m.status = {queued} "
             "AND (?2 = '' OR instr(lower(m.sender), ?2) > 0) "
             "AND (?4 = '' OR instr(lower(m.subject), ?4) > 0) "
             "AND (?3 = '' OR EXISTS (SELECT 1 FROM {recipients} r WHERE r.message_id = m.id "
             "AND instr(lower(r.address), ?3) > 0)) "
             "AND (?6 = 0 OR NOT EXISTS (SELECT 1 FROM {released} x WHERE x.account_id = ?1 "
             "AND x.message_id = m.id)) "
             "AND (?7 = 0 OR EXISTS (SELECT 1 FROM {held_messages} h WHERE h.account_id = ?1 "
             "AND h.message_id = m.id)) ORDER BY m.id LIMIT ?5";
    case Sql::kSelectMessageHead:
      // substr of a BLOB counts bytes. A finished message's body is NULL: no row.
      return "SELECT substr(body, 1, ?3) FROM {messages} WHERE id = ?1 AND account_id = ?2 "
             "AND status < {done} AND body IS NOT NULL "
             "AND id > (SELECT purge_upto FROM {accounts} WHERE id = ?2)";
    case Sql::kSelectErrors:
      // The row value compare is the cursor: strictly older than the previous page's last.
      return "SELECT r.updated_ms, r.message_id, r.idx, r.address, r.reply, m.subject, "
             "r.category "
             "FROM {recipients} r JOIN {messages} m ON m.id = r.message_id "
             "WHERE r.account_id = ?1 AND r.status = {r_failed} AND r.updated_ms >= ?2 "
             "AND (r.updated_ms, r.message_id, r.idx) < (?3, ?4, ?5) "
             "ORDER BY r.updated_ms DESC, r.message_id DESC, r.idx DESC LIMIT ?6";
    case Sql::kSelectHeldForSenderDue:
      // As the shared text, from held_messages (small) by CROSS JOIN, which fixes SQLite's
      // order: without statistics it walked every message (the expiry's once a minute, a
      // million rows with a flood queued) to find the few held for their sender.
      return "SELECT h.account_id, h.message_id, m.size FROM {held_messages} h "
             "CROSS JOIN {messages} m ON m.account_id = h.account_id AND m.id = h.message_id "
             "CROSS JOIN {accounts} a ON a.id = h.account_id "
             "WHERE m.received_ms < ?1 AND m.status = {queued} AND m.id > a.purge_upto "
             "ORDER BY h.message_id LIMIT ?2";
    case Sql::kRemoveAccountMessages:
      // As the shared text, through the two partial indexes that hold an account's unfinished
      // and finished mail (every status is one or the other): SQLite has no index of
      // account_id alone and would walk every account's mail.
      return "DELETE FROM {messages} WHERE id IN ("
             "SELECT id FROM {messages} WHERE account_id = ?1 AND status < {done} UNION ALL "
             "SELECT id FROM {messages} WHERE account_id = ?1 AND status = {done})";
    case Sql::kSelectTotals:
      // The terms repeat accounts_sending's and accounts_holding's WHERE: only accounts with
      // unfinished mail are read. Released mail of a held account is going out (queued).
      // The five counters are summed in one pass over the accounts (one subquery each read
      // the table five times: 77 ms at 100,000 accounts).
      return "SELECT (SELECT COALESCE(SUM(pending), 0) FROM {accounts} "
             "WHERE state = 'active' AND pending > 0), "
             "(SELECT COALESCE(SUM(pending), 0) FROM {accounts} "
             "WHERE state <> 'active' AND pending > 0), "
             "(SELECT COALESCE(SUM(MIN(released_pending, pending)), 0) FROM {accounts} "
             "WHERE state <> 'active' AND pending > 0), "
             "COALESCE(SUM(submitted), 0), COALESCE(SUM(sent), 0), COALESCE(SUM(errors), 0), "
             "COALESCE(SUM(expired), 0), COALESCE(SUM(purged), 0) FROM {accounts}";
    case Sql::kSelectBusyAccounts:
      // As the shared text; without statistics SQLite would rather walk the sources of every
      // account in key order than sort the recent hours' rows.
      return "SELECT a.name, t.submitted FROM (SELECT account_id, SUM(count) AS submitted "
             "FROM {sources} INDEXED BY sources_by_hour WHERE hour >= ?1 "
             "AND kind = {source_sender} GROUP BY account_id) t "
             "JOIN {accounts} a ON a.id = t.account_id "
             "WHERE a.deleted_ms = 0 AND substr(a.name, 1, 1) <> '_' "
             "ORDER BY t.submitted DESC, a.name LIMIT ?2";
    case Sql::kSelectAccountPageByErrorRate:
      // As the shared text; SQLite would rather range over daily_errors_by_count (its
      // "errors > 0") and sort than read the rate's index in order.
      return "SELECT {account_columns}, released_pending, d.sent, d.errors, d.quarantined, "
             "d.complaints FROM {daily_counters} d INDEXED BY daily_errors_by_rate "
             "JOIN {accounts} a ON a.id = d.account_id "
             "WHERE d.day = ?1 AND d.errors > 0 "
             "AND (d.errors * 1000000 / NULLIF(d.sent + d.errors, 0), d.account_id) < (?2, ?7) "
             "AND {account_page_filter} ORDER BY d.errors * 1000000 / NULLIF(d.sent + d.errors, 0) "
             "DESC, d.account_id DESC LIMIT ?6";
    case Sql::kSelectAccountPageByRecent:
      // As the shared text, through sources_by_hour for the same reason.
      return "SELECT {account_columns}, released_pending, COALESCE(d.sent, 0), "
             "COALESCE(d.errors, 0), COALESCE(d.quarantined, 0), COALESCE(d.complaints, 0) "
             "FROM (SELECT account_id, SUM(count) AS submitted FROM {sources} "
             "INDEXED BY sources_by_hour WHERE hour >= ?8 AND kind = {source_sender} "
             "GROUP BY account_id) t "
             "JOIN {accounts} a ON a.id = t.account_id "
             "LEFT JOIN {daily_counters} d "
             "ON d.account_id = a.id AND d.day = ?1 "
             "WHERE (t.submitted, a.id) < (?2, ?7) "
             "AND {account_page_filter} ORDER BY t.submitted DESC, a.id DESC LIMIT ?6";
    default:
      return "";
  }
}

}  // namespace

std::string SqliteSql(Sql sql) { return EngineSql(sql, SqliteText(sql), Placeholders::kQuestion); }

}  // namespace mailwarden
