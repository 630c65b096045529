#include "store/sqlite_store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <limits>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "store/schema.h"
#include "store/sqlite_wal_buffer.h"
#include "store/store_common.h"

namespace mailwarden {
namespace {

// Another connection (a second daemon during a restart, the operator's sqlite3 shell, a WAL
// checkpoint) may hold the write lock for a moment; waiting this long for it beats failing a
// submission. Past it the caller gets kUnavailable and the script "try again later".
constexpr int kBusyTimeoutMs = 5000;

// Every statement the store runs, prepared once and reused. The first group is prepared
// before migrations (it needs no table but schema_version); the rest after them.
enum class Sql {
  kBeginRead,
  kBeginWrite,
  kCommit,
  kRollback,
  kSelectSchemaVersion,
  kInsertSchemaVersion,
  // Prepared after migrations:
  kUpsertAccount,
  kDeleteAccountUids,
  kPutAccountUid,
  kSelectAccountById,
  kSelectAccountByName,
  kSelectAccountIdByUid,
  kSelectAccountUids,
  kSelectAllAccounts,
  kSelectAllAccountUids,
  kSelectAccountState,
  kInsertMessage,
  kInsertRecipient,
  kSelectDueAccounts,
  kSelectDueMessages,
  kSelectAccountName,
  kLeaseMessage,
  kSelectPendingRecipients,
  kSelectMessageState,
  kUpdateRecipient,
  kRecipientStates,
  kRequeueMessage,
  kFinishMessage,
  kReleaseLeases,
  kSelectNextDue,
  kSelectMessage,
  kSelectRecipients,
  // Migration 2: account control.
  kSetAccountStateFull,
  kSetPurgeWatermark,
  kClearReleased,
  kZeroReleasedPending,
  kInsertAudit,
  kSelectAudit,
  kSelectAuditOfAccount,
  kSelectAccountsInState,
  kSelectPurgeState,
  kSelectPurgeBatch,
  kDeleteMessage,
  kDeleteFinished,
  kForgetReleased,
  kBumpAccount,
  kBumpDay,
  kSelectHoldingAccounts,
  kSelectOldestUnfinished,
  kIsReleased,
  kExpireRecipients,
  kSelectPendingPage,
  kSelectHeldById,
  kSelectHeldByMatch,
  kInsertReleased,
  kSelectDueReleased,
  kInsertToken,
  kSelectAccountIdByToken,
  kSetSmtpPassword,
  kSelectSmtpPassword,
  kSelectCounters,
  kSelectDay,
  kSelectVolumes,
  kSelectErrors,
  // Migration 3: daily error reports.
  kSelectAccountsToReport,
  kInsertReport,
  kSetReportMessage,
  kSelectTotals,
  // Migration 4: where the mail comes from.
  kBumpSource,
  kPruneSources,
  kSelectSources,
  kSelectMessageHead,
  kCount,
};
constexpr int kFirstSqlAfterMigrations = static_cast<int>(Sql::kUpsertAccount);
constexpr int kSqlCount = static_cast<int>(Sql::kCount);

// The text of each statement. {accounts} and the like are the names of schema.h, filled in at
// prepare time; {done} and the like are the status codes. Values are always bound (?N), never
// formatted in. A term that must match a partial index's WHERE ("status < 2") is spelled out
// from the codes, since SQLite uses a partial index only when the query repeats its term.
//
// EXPLAIN QUERY PLAN of the scheduler's statements (SQLite 3.40), which read only the small
// partial indexes and never a held account's held messages:
//   kSelectDueAccounts:  MATERIALIZE heads: COMPOUND QUERY
//                          SCAN a USING COVERING INDEX accounts_sending
//                          CORRELATED SCALAR SUBQUERY 1
//                            SEARCH m USING COVERING INDEX messages_due (account_id=?)
//                          UNION ALL
//                          SCAN a USING COVERING INDEX accounts_holding
//                          CORRELATED SCALAR SUBQUERY 3
//                            SEARCH r USING PRIMARY KEY (account_id=?)     (released rows)
//                            SEARCH m USING INTEGER PRIMARY KEY (rowid=?)
//                        SCAN heads; USE TEMP B-TREE FOR ORDER BY   (sorts due accounts only)
//   kSelectDueMessages:  SEARCH messages USING INDEX messages_due
//                          (account_id=? AND purge_epoch=? AND next_attempt_ms<?)
//                          (no sort: index order; purged rows still on disk are never read;
//                          the row of each due message read up to its size, not its body)
//   kSelectDueReleased:  SEARCH r USING PRIMARY KEY (account_id=?)
//                        SEARCH m USING INTEGER PRIMARY KEY (rowid=?)
//                        USE TEMP B-TREE FOR ORDER BY           (sorts released mail only)
//   kSelectNextDue:      the two branches of kSelectDueAccounts; a top-k sort of the heads
//   kReleaseLeases:      SEARCH messages USING INDEX messages_leased (lease_node=?)
// and of the account control statements (migration 2):
//   kSetPurgeWatermark:      SEARCH m USING INDEX messages_unfinished (account_id=?)
//   kSelectPurgeBatch:       SEARCH messages USING INDEX messages_unfinished
//                              (account_id=? AND id<?)   (INDEXED BY: not the rowid range)
//   kSelectPendingPage:      SEARCH messages USING INDEX messages_unfinished
//                              (account_id=? AND id>? AND id<?)   (never the purged rows)
//   kSelectOldestUnfinished: SEARCH messages USING INDEX messages_unfinished (account_id=? AND
//                              id>?)
//   kSelectHeldByMatch:      SEARCH m USING INDEX messages_unfinished (account_id=?)
//                            CORRELATED SCALAR SUBQUERY: SEARCH r USING PRIMARY KEY
//                            (reads the account's unfinished mail: a match is over all of it)
//   kSelectHoldingAccounts:  SEARCH accounts USING COVERING INDEX accounts_holding (id>?)
//   kSelectAccountsInState:  SEARCH accounts USING COVERING INDEX accounts_by_state (state=?)
//                            MERGE (UNION ALL) SCAN accounts      (only when asked for active)
//   kSelectAudit:            SEARCH l USING INTEGER PRIMARY KEY (rowid<?)
//   kSelectAuditOfAccount:   SEARCH l USING INDEX audit_by_account (account_id=? AND id<?)
//   kSelectErrors:           SEARCH r USING INDEX recipients_failed (account_id=? AND
//                              updated_ms>? AND (updated_ms,message_id,idx)<(...))
//                            (failures only; no sort: index order, the primary key ends
//                            each entry)
//   kSelectAccountIdByToken: SEARCH tokens USING PRIMARY KEY (hash=?)
//   kSelectDay, kSelectVolumes: SEARCH daily_counters USING PRIMARY KEY (account_id=? AND day..)
//   kForgetReleased, kIsReleased: SEARCH released USING PRIMARY KEY (account_id=? AND
//                              message_id=?)
// and of the reports' (migration 3):
//   kSelectAccountsToReport: SEARCH d USING INDEX daily_errors_by_day (day=?)  (errors > 0 only)
//                            CORRELATED SCALAR SUBQUERY: SEARCH r USING PRIMARY KEY
//                              (account_id=? AND day=?)
//   kSelectTotals:           SCAN accounts USING COVERING INDEX accounts_sending,
//                            SCAN accounts USING COVERING INDEX accounts_holding, and for the
//                            counters' sums SCAN accounts (every row once, for /metrics)
// and of the sources' (migration 4):
//   kSelectSources:          SEARCH sources USING PRIMARY KEY (account_id=? AND kind=? AND
//                              hour>? AND hour<?); TEMP B-TREEs for GROUP BY and ORDER BY
//                              (over the account's rows of that kind in the window only)
//   kPruneSources:           LIST SUBQUERY: SEARCH sources USING COVERING INDEX sources_by_hour
//                              (hour<?); SEARCH sources USING COVERING INDEX sources_by_hour
//                              (hour=? AND account_id=? AND kind=?)
//   kSelectMessageHead:      SEARCH messages USING INTEGER PRIMARY KEY (rowid=?)
// and of the history's (migration 8):
//   kDeleteFinished:         LIST SUBQUERY: SEARCH messages USING INDEX messages_finished
//                              (done_ms<?) (INDEXED BY; the oldest finished first, no sort);
//                            SEARCH messages USING INTEGER PRIMARY KEY (rowid=?)
constexpr std::string_view SqlText(Sql sql) {
  switch (sql) {
    case Sql::kBeginRead:
      return "BEGIN DEFERRED";
    case Sql::kBeginWrite:
      return "BEGIN IMMEDIATE";
    case Sql::kCommit:
      return "COMMIT";
    case Sql::kRollback:
      return "ROLLBACK";
    case Sql::kSelectSchemaVersion:
      return "SELECT COALESCE(MAX(version), 0) FROM {schema_version}";
    case Sql::kInsertSchemaVersion:
      return "INSERT INTO {schema_version} (version, applied_ms) VALUES (?1, ?2)";
    case Sql::kUpsertAccount:
      return "INSERT INTO {accounts} (name, report_to, language, max_per_day, max_per_hour, "
             "since_ms, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) "
             "ON CONFLICT (name) DO UPDATE SET report_to = excluded.report_to, "
             "language = excluded.language, max_per_day = excluded.max_per_day, "
             "max_per_hour = excluded.max_per_hour RETURNING id";
    case Sql::kDeleteAccountUids:
      return "DELETE FROM {account_uids} WHERE account_id = ?1";
    case Sql::kPutAccountUid:
      return "INSERT INTO {account_uids} (uid, account_id) VALUES (?1, ?2) "
             "ON CONFLICT (uid) DO UPDATE SET account_id = excluded.account_id";
    case Sql::kSelectAccountById:
      return "SELECT {account_columns} FROM {accounts} WHERE id = ?1";
    case Sql::kSelectAccountByName:
      return "SELECT {account_columns} FROM {accounts} WHERE name = ?1";
    case Sql::kSelectAccountIdByUid:
      return "SELECT account_id FROM {account_uids} WHERE uid = ?1";
    case Sql::kSelectAccountUids:
      return "SELECT uid FROM {account_uids} WHERE account_id = ?1 ORDER BY uid";
    case Sql::kSelectAllAccounts:
      return "SELECT {account_columns} FROM {accounts} ORDER BY id";
    case Sql::kSelectAllAccountUids:
      return "SELECT account_id, uid FROM {account_uids} ORDER BY account_id, uid";
    case Sql::kSelectAccountState:
      // The name too, for mail leased on arrival (InsertMessages).
      return "SELECT state, name FROM {accounts} WHERE id = ?1";
    case Sql::kInsertMessage:
      // purge_epoch: the account's watermark now (see schema.h). lease_node: the node that
      // will claim it (lease_node_hint_ in sqlite_store.h), so the claim keeps the row's size;
      // or, for mail leased on arrival (?10 delivering, ?11 one attempt, ?12 the lease's end),
      // the node that holds the lease.
      return "INSERT INTO {messages} (account_id, status, attempts, received_ms, "
             "next_attempt_ms, uid, size, sender, subject, script, body, purge_epoch, "
             "lease_node) VALUES (?1, ?10, ?11, ?2, ?12, ?3, ?4, ?5, ?6, ?7, ?8, "
             "(SELECT purge_upto FROM {accounts} WHERE id = ?1), ?9)";
    case Sql::kInsertRecipient:
      return "INSERT INTO {recipients} (message_id, idx, account_id, address, status, reply, "
             "updated_ms) VALUES (?1, ?2, ?3, ?4, {r_pending}, '', ?5)";
    case Sql::kSelectDueAccounts:
      // Each sending account's head (its earliest unfinished message) is one index seek;
      // MATERIALIZED computes it once per account rather than once per use.
      // The second branch: held accounts with released mail, whose head is read from their
      // released rows only.
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
             " SELECT id, released_only, epoch FROM heads WHERE head <= ?1 ORDER BY head, id "
             "LIMIT ?2";
    case Sql::kSelectDueMessages:
      return "SELECT id, size FROM {messages} WHERE account_id = ?1 AND purge_epoch = ?4 "
             "AND status < {done} AND next_attempt_ms <= ?2 "
             "ORDER BY next_attempt_ms, status, id LIMIT ?3";
    case Sql::kSelectAccountName:
      return "SELECT name FROM {accounts} WHERE id = ?1";
    case Sql::kLeaseMessage:
      // A large body (?4) is not returned: RETURNING would keep a copy of it until the
      // statement is reset; the caller reads it from its pages.
      return "UPDATE {messages} SET status = {delivering}, attempts = attempts + 1, "
             "next_attempt_ms = ?2, lease_node = ?3 WHERE id = ?1 "
             "RETURNING sender, subject, attempts, received_ms, "
             "CASE WHEN ?4 THEN NULL ELSE body END";
    case Sql::kSelectPendingRecipients:
      return "SELECT idx, address FROM {recipients} WHERE message_id = ?1 "
             "AND status = {r_pending} ORDER BY idx";
    case Sql::kSelectMessageState:
      // The fourth column: whether the account may have released marks to forget.
      return "SELECT m.account_id, m.status, m.id <= a.purge_upto, a.released_pending > 0 "
             "FROM {messages} m JOIN {accounts} a ON a.id = m.account_id WHERE m.id = ?1";
    case Sql::kUpdateRecipient:
      return "UPDATE {recipients} SET status = ?3, reply = ?4, updated_ms = ?5 "
             "WHERE message_id = ?1 AND idx = ?2 AND status = {r_pending}";
    case Sql::kRecipientStates:
      // Whether any recipient is still pending, and whether any was sent: one read of the
      // message's few recipient rows (its primary key's range) for both.
      return "SELECT MAX(status = {r_pending}), MAX(status = {r_sent}) FROM {recipients} "
             "WHERE message_id = ?1";
    case Sql::kRequeueMessage:
      // lease_node stays (it counts only while status is delivering): the row keeps its size.
      return "UPDATE {messages} SET status = {queued}, next_attempt_ms = ?2 WHERE id = ?1";
    case Sql::kFinishMessage:
      return "UPDATE {messages} SET status = {done}, done_ms = ?2, lease_node = NULL, "
             "body = NULL WHERE id = ?1";
    case Sql::kReleaseLeases:
      // received_ms is in the past, so the message is due at once, and in its original place
      // in the oldest-first order.
      return "UPDATE {messages} SET status = {queued}, next_attempt_ms = received_ms "
             "WHERE status = {delivering} AND lease_node = ?1";
    case Sql::kSelectNextDue:
      // The earliest heads, by account: the caller skips the accounts waiting for their quota
      // and asks for one more row than it skips.
      return "SELECT id, head FROM ("
             " SELECT a.id AS id, {active_head} AS head"
             " FROM {accounts} a WHERE a.state = 'active' AND a.pending > 0"
             " UNION ALL"
             " SELECT a.id, {released_head}"
             " FROM {accounts} a WHERE a.state <> 'active' AND a.pending > 0"
             "  AND a.released_pending > 0)"
             " WHERE head IS NOT NULL ORDER BY head LIMIT ?1";
    case Sql::kSelectMessage:
      // A purged message is gone, whether or not its row is deleted yet.
      return "SELECT account_id, sender, subject, script, uid, size, status, attempts, "
             "received_ms, next_attempt_ms FROM {messages} m WHERE id = ?1 AND NOT "
             "(status < {done} AND id <= (SELECT purge_upto FROM {accounts} WHERE id = "
             "m.account_id))";
    case Sql::kSelectRecipients:
      return "SELECT idx, address, status, reply, updated_ms FROM {recipients} "
             "WHERE message_id = ?1 ORDER BY idx";
    case Sql::kSetAccountStateFull:
      return "UPDATE {accounts} SET state = ?2, blocked_by = ?3, reason = ?4, since_ms = ?5, "
             "bounce_tolerance_until_ms = ?7 WHERE id = ?1 AND state = ?6";
    case Sql::kSetPurgeWatermark:
      // Every unfinished message has an id <= the newest unfinished one: all that pending
      // counts is purged now (the right-hand sides read the row as it was), and its rows join
      // those left to delete. Returns how many were purged, for the day's counter.
      return "UPDATE {accounts} SET purge_upto = MAX(purge_upto, COALESCE((SELECT MAX(m.id) "
             "FROM {messages} m WHERE m.account_id = ?1 AND m.status < {done}), 0)), "
             "purge_left = purge_left + pending, purged = purged + pending, pending = 0, "
             "released_pending = 0 WHERE id = ?1 RETURNING purged - ?2";
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
    case Sql::kSelectAccountsInState:
      // "state <> 'active'" repeats accounts_by_state's WHERE; ?2 is 1 for the active state,
      // which that index does not hold (a walk of the table, in id order).
      return "SELECT id FROM {accounts} WHERE state = ?1 AND state <> 'active' AND ?2 = 0 "
             "UNION ALL SELECT id FROM {accounts} WHERE state = 'active' AND ?2 = 1 "
             "ORDER BY id";
    case Sql::kSelectPurgeState:
      return "SELECT purge_upto, purge_left, state FROM {accounts} WHERE id = ?1";
    case Sql::kSelectPurgeBatch:
      // INDEXED BY: the primary key's range (id <= ?2) would read every account's old mail.
      return "SELECT id FROM {messages} INDEXED BY messages_unfinished WHERE account_id = ?1 "
             "AND status < {done} AND id <= ?2 ORDER BY id LIMIT ?3";
    case Sql::kDeleteMessage:
      // Recipients and the released mark go with it (ON DELETE CASCADE).
      return "DELETE FROM {messages} WHERE id = ?1 AND status < {done}";
    case Sql::kDeleteFinished:
      // The longest finished first. Recipients go with them (ON DELETE CASCADE).
      return "DELETE FROM {messages} WHERE id IN (SELECT id FROM {messages} "
             "INDEXED BY messages_finished WHERE status = {done} AND done_ms < ?1 "
             "ORDER BY done_ms LIMIT ?2)";
    case Sql::kForgetReleased:
      return "DELETE FROM {released} WHERE account_id = ?1 AND message_id = ?2";
    case Sql::kBumpAccount:
      return "UPDATE {accounts} SET pending = pending + ?2, "
             "released_pending = released_pending + ?3, purge_left = MAX(0, purge_left + ?4), "
             "submitted = submitted + ?5, sent = sent + ?6, errors = errors + ?7, "
             "expired = expired + ?8, purged = purged + ?9 WHERE id = ?1";
    case Sql::kBumpDay:
      return "INSERT INTO {daily_counters} (account_id, day, submitted, sent, errors, expired, "
             "purged) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (account_id, day) DO UPDATE "
             "SET submitted = submitted + excluded.submitted, sent = sent + excluded.sent, "
             "errors = errors + excluded.errors, expired = expired + excluded.expired, "
             "purged = purged + excluded.purged";
    case Sql::kSelectHoldingAccounts:
      return "SELECT id FROM {accounts} WHERE state <> 'active' AND pending > 0 AND id > ?1 "
             "ORDER BY id";
    case Sql::kSelectOldestUnfinished:
      return "SELECT id, status, received_ms FROM {messages} INDEXED BY messages_unfinished "
             "WHERE account_id = ?1 AND status < {done} AND id > {upto_of_1} ORDER BY id";
    case Sql::kIsReleased:
      return "SELECT EXISTS (SELECT 1 FROM {released} WHERE account_id = ?1 AND message_id = ?2)";
    case Sql::kExpireRecipients:
      return "UPDATE {recipients} SET status = {r_failed}, reply = ?2, updated_ms = ?3 "
             "WHERE message_id = ?1 AND status = {r_pending}";
    case Sql::kSelectPendingPage:
      return "SELECT id FROM {messages} INDEXED BY messages_unfinished WHERE account_id = ?1 "
             "AND status < {done} AND id < ?2 AND id > {upto_of_1} ORDER BY id DESC LIMIT ?3";
    case Sql::kSelectHeldById:
      return "SELECT id FROM {messages} WHERE id = ?1 AND account_id = ?2 "
             "AND status = {queued} AND id > (SELECT purge_upto FROM {accounts} WHERE id = ?2)";
    case Sql::kSelectHeldByMatch:
      // Needles are lower-cased by the caller; '' matches everything. instr, not LIKE: no
      // wildcard in a customer's text means anything.
      return "SELECT m.id FROM {messages} m INDEXED BY messages_unfinished "
             "WHERE m.account_id = ?1 AND m.status < {done} AND m.id > {upto_of_1} "
             "AND m.status = {queued} "
             "AND (?2 = '' OR instr(lower(m.sender), ?2) > 0) "
             "AND (?4 = '' OR instr(lower(m.subject), ?4) > 0) "
             "AND (?3 = '' OR EXISTS (SELECT 1 FROM {recipients} r WHERE r.message_id = m.id "
             "AND instr(lower(r.address), ?3) > 0)) ORDER BY m.id";
    case Sql::kInsertReleased:
      return "INSERT INTO {released} (account_id, message_id) VALUES (?1, ?2) "
             "ON CONFLICT DO NOTHING";
    case Sql::kSelectDueReleased:
      return "SELECT m.id, m.size FROM {released} r JOIN {messages} m ON m.id = r.message_id "
             "WHERE r.account_id = ?1 AND m.status < {done} AND m.next_attempt_ms <= ?2 "
             "ORDER BY m.next_attempt_ms, m.status, m.id LIMIT ?3";
    case Sql::kInsertToken:
      return "INSERT INTO {tokens} (hash, account_id, created_ms) VALUES (?1, ?2, ?3)";
    case Sql::kSelectAccountIdByToken:
      return "SELECT account_id FROM {tokens} WHERE hash = ?1";
    case Sql::kSetSmtpPassword:
      return "UPDATE {accounts} SET smtp_password_hash = ?2 WHERE id = ?1";
    case Sql::kSelectSmtpPassword:
      return "SELECT smtp_password_hash FROM {accounts} WHERE name = ?1";
    case Sql::kSelectCounters:
      return "SELECT state, pending, released_pending, submitted, sent, errors, expired, "
             "purged FROM {accounts} WHERE id = ?1";
    case Sql::kSelectDay:
      return "SELECT sent, errors FROM {daily_counters} WHERE account_id = ?1 AND day = ?2";
    case Sql::kSelectVolumes:
      return "SELECT day, submitted, sent, errors, expired, purged FROM {daily_counters} "
             "WHERE account_id = ?1 AND day >= ?2 AND day <= ?3 ORDER BY day";
    case Sql::kSelectErrors:
      // The row value compare is the cursor: strictly older than the previous page's last.
      return "SELECT r.updated_ms, r.message_id, r.idx, r.address, r.reply, m.subject "
             "FROM {recipients} r JOIN {messages} m ON m.id = r.message_id "
             "WHERE r.account_id = ?1 AND r.status = {r_failed} AND r.updated_ms >= ?2 "
             "AND (r.updated_ms, r.message_id, r.idx) < (?3, ?4, ?5) "
             "ORDER BY r.updated_ms DESC, r.message_id DESC, r.idx DESC LIMIT ?6";
    case Sql::kSelectAccountsToReport:
      // "errors > 0" repeats daily_errors_by_day's WHERE.
      return "SELECT d.account_id FROM {daily_counters} d WHERE d.day = ?1 AND d.errors > 0 "
             "AND NOT EXISTS (SELECT 1 FROM {reports} r WHERE r.account_id = d.account_id "
             "AND r.day = ?1) ORDER BY d.account_id";
    case Sql::kInsertReport:
      return "INSERT INTO {reports} (account_id, day, sent_ms) VALUES (?1, ?2, ?3) "
             "ON CONFLICT (account_id, day) DO NOTHING";
    case Sql::kSetReportMessage:
      return "UPDATE {reports} SET message_id = ?3 WHERE account_id = ?1 AND day = ?2";
    case Sql::kSelectTotals:
      // The terms repeat accounts_sending's and accounts_holding's WHERE: only accounts with
      // unfinished mail are read. Released mail of a held account is going out (queued).
      return "SELECT (SELECT COALESCE(SUM(pending), 0) FROM {accounts} "
             "WHERE state = 'active' AND pending > 0), "
             "(SELECT COALESCE(SUM(pending), 0) FROM {accounts} "
             "WHERE state <> 'active' AND pending > 0), "
             "(SELECT COALESCE(SUM(MIN(released_pending, pending)), 0) FROM {accounts} "
             "WHERE state <> 'active' AND pending > 0), "
             "(SELECT COALESCE(SUM(submitted), 0) FROM {accounts}), "
             "(SELECT COALESCE(SUM(sent), 0) FROM {accounts}), "
             "(SELECT COALESCE(SUM(errors), 0) FROM {accounts}), "
             "(SELECT COALESCE(SUM(expired), 0) FROM {accounts}), "
             "(SELECT COALESCE(SUM(purged), 0) FROM {accounts})";
    case Sql::kBumpSource:
      return "INSERT INTO {sources} (account_id, kind, hour, value, count) "
             "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (account_id, kind, hour, value) "
             "DO UPDATE SET count = count + excluded.count";
    case Sql::kPruneSources:
      // At most ?2 rows a call: a long idle daemon's first commit must not stall on a
      // backlog of old hours; the rest goes with the next commits.
      return "DELETE FROM {sources} WHERE (account_id, kind, hour, value) IN ("
             "SELECT account_id, kind, hour, value FROM {sources} WHERE hour < ?1 LIMIT ?2)";
    case Sql::kSelectSources:
      return "SELECT value, SUM(count) AS n FROM {sources} WHERE account_id = ?1 AND kind = ?2 "
             "AND hour > ?3 AND hour <= ?4 GROUP BY value ORDER BY n DESC, value LIMIT ?5";
    case Sql::kSelectMessageHead:
      // substr of a BLOB counts bytes. A finished message's body is NULL: no row.
      return "SELECT substr(body, 1, ?3) FROM {messages} WHERE id = ?1 AND account_id = ?2 "
             "AND status < {done} AND body IS NOT NULL "
             "AND id > (SELECT purge_upto FROM {accounts} WHERE id = ?2)";
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
    "(SELECT MIN(m.next_attempt_ms) FROM {released} r JOIN {messages} m ON m.id = r.message_id"
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
      fmt::runtime(text), fmt::arg("schema_version", schema::kSchemaVersionTable),
      fmt::arg("accounts", schema::kAccountsTable),
      fmt::arg("account_uids", schema::kAccountUidsTable),
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
      // The purge watermark of the account bound to ?1: an account's unfinished messages are
      // read after it (a range of messages_unfinished), never the purged ones.
      fmt::arg("upto_of_1",
               fmt::format("(SELECT purge_upto FROM {} WHERE id = ?1)", schema::kAccountsTable)),
      fmt::arg("queued", schema::kMessageQueued),
      fmt::arg("delivering", schema::kMessageDelivering), fmt::arg("done", schema::kMessageDone),
      fmt::arg("r_pending", schema::kRecipientPending), fmt::arg("r_sent", schema::kRecipientSent),
      fmt::arg("r_failed", schema::kRecipientFailed));
}

// What a failed SQLite call means to the caller: the environment failing (retry later), bad
// input, or a bug.
Error SqliteError(sqlite3* db, int rc, std::string_view what) {
  ErrorCode code = ErrorCode::kInternal;
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_NOMEM:
    case SQLITE_PERM:
    case SQLITE_NOLFS:
      code = ErrorCode::kUnavailable;
      break;
    case SQLITE_CONSTRAINT:
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
      code = ErrorCode::kInvalidInput;
      break;
    default:
      break;
  }
  const char* detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return Error{code, fmt::format("sqlite: {}: {} (code {})", what, detail, rc)};
}

std::int64_t Millis(TimePoint t) { return ToUnixMillis(t); }

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

// One use of a cached statement: bind, step, read columns. On destruction it resets the
// statement, which also ends the read it may hold open (an unreset statement would pin a WAL
// snapshot and stall checkpoints). A bind error is kept and reported by the next Step().
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* stmt, bool* in_use) : db_(db), stmt_(stmt), in_use_(in_use) {
    if (*in_use_) {
      // Two live uses of one statement would reset each other's scan: a bug in this file.
      spdlog::critical("store: statement used twice at once: {}", sqlite3_sql(stmt_));
      std::abort();
    }
    *in_use_ = true;
  }
  ~Stmt() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    *in_use_ = false;
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& Bind(int index, std::int64_t value) {
    return Check(sqlite3_bind_int64(stmt_, index, value));
  }
  Stmt& Bind(int index, std::optional<std::int64_t> value) {
    return Check(value ? sqlite3_bind_int64(stmt_, index, *value)
                       : sqlite3_bind_null(stmt_, index));
  }
  // Text is copied by SQLite: the argument may be a temporary.
  Stmt& Bind(int index, std::string_view text) {
    return Check(
        sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  // Not copied (a body can be 25 MB): bytes must outlive the last Step().
  Stmt& BindBlobRef(int index, std::string_view bytes) {
    return Check(sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_STATIC));
  }
  // A blob of `size` zero bytes, which SQLite stores without making them in memory: room for
  // SqliteConnection::WriteBlob.
  Stmt& BindZeroBlob(int index, std::size_t size) {
    return Check(sqlite3_bind_zeroblob64(stmt_, index, size));
  }

  // Runs the statement to its next row: true if there is one, false when it is done.
  Result<bool> Step() {
    if (bind_rc_ != SQLITE_OK) return std::unexpected(SqliteError(db_, bind_rc_, Sql()));
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return std::unexpected(SqliteError(db_, rc, Sql()));
  }
  // Runs a statement that returns no rows.
  Result<void> Run() {
    MW_ASSIGN_OR_RETURN(const bool row, Step());
    if (row) return Fail(ErrorCode::kInternal, fmt::format("store: rows from {}", Sql()));
    return {};
  }
  // Rows changed by the last INSERT, UPDATE or DELETE run on this connection.
  std::int64_t Changes() const { return sqlite3_changes64(db_); }

  std::int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::optional<std::int64_t> OptionalInt(int column) const {
    if (sqlite3_column_type(stmt_, column) == SQLITE_NULL) return std::nullopt;
    return Int(column);
  }
  std::string Text(int column) const {
    // Pointer first, then size: the order SQLite documents for a stable result.
    const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
    const int size = sqlite3_column_bytes(stmt_, column);
    return data == nullptr ? std::string() : std::string(data, static_cast<std::size_t>(size));
  }

 private:
  Stmt& Check(int rc) {
    if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
    return *this;
  }
  std::string_view Sql() const {
    std::string_view text = sqlite3_sql(stmt_);
    return text.substr(0, 72);
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  bool* in_use_;
  int bind_rc_ = SQLITE_OK;
};

}  // namespace

// The open database handle and its statements.
class SqliteConnection {
 public:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  ~SqliteConnection() {
    for (sqlite3_stmt* stmt : statements_) sqlite3_finalize(stmt);
    // The last connection to close checkpoints the WAL into the database file.
    sqlite3_close_v2(db_);
  }
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  Stmt Use(Sql sql) {
    const auto i = static_cast<std::size_t>(sql);
    return Stmt(db_, statements_[i], &in_use_[i]);
  }

  // Prepares statements [first, last) for reuse for the connection's whole life.
  Result<void> Prepare(int first, int last) {
    for (int i = first; i < last; ++i) {
      const std::string text = FormatSql(static_cast<Sql>(i));
      const int rc = sqlite3_prepare_v3(db_, text.c_str(), static_cast<int>(text.size()) + 1,
                                        SQLITE_PREPARE_PERSISTENT, &statements_[i], nullptr);
      if (rc != SQLITE_OK) return std::unexpected(SqliteError(db_, rc, text));
    }
    return {};
  }

  // Runs constant SQL text, possibly several statements (pragmas, migrations). Never values.
  Result<void> Exec(std::string_view sql) {
    const std::string text(sql);
    const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return std::unexpected(SqliteError(db_, rc, text.substr(0, 72)));
    return {};
  }

  // Makes every commit so far durable: one fsync of the WAL (synchronous is NORMAL, so
  // COMMIT itself only writes it). Cheaper than switching synchronous between FULL and
  // NORMAL per transaction, which SQLite would parse as SQL each time.
  Result<void> SyncWal() {
    sqlite3_file* wal = nullptr;
    int rc = sqlite3_file_control(db_, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal);
    if (rc == SQLITE_OK && (wal == nullptr || wal->pMethods == nullptr)) rc = SQLITE_IOERR_FSYNC;
    if (rc == SQLITE_OK) rc = wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL);
    if (rc != SQLITE_OK) return std::unexpected(SqliteError(db_, rc, "fsync of the WAL"));
    return {};
  }

  // Runs a pragma and returns the first column of its answer.
  Result<std::string> Pragma(std::string_view sql) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
    if (rc != SQLITE_OK) return std::unexpected(SqliteError(db_, rc, sql));
    std::string value;
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
      const auto* text = sqlite3_column_text(stmt, 0);
      if (text != nullptr) value = reinterpret_cast<const char*>(text);
      rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
      rc = SQLITE_OK;
    }
    if (rc != SQLITE_OK) {
      Error error = SqliteError(db_, rc, sql);
      sqlite3_finalize(stmt);
      return std::unexpected(std::move(error));
    }
    sqlite3_finalize(stmt);
    return value;
  }

  std::int64_t LastInsertId() const { return sqlite3_last_insert_rowid(db_); }

  // Reads the whole of a row's blob column straight from its pages, with no copy of the
  // row's record in between.
  Result<std::string> ReadBlob(std::string_view table, std::string_view column,
                               std::int64_t rowid) {
    sqlite3_blob* blob = nullptr;
    std::string bytes;
    int rc = sqlite3_blob_open(db_, "main", std::string(table).c_str(), std::string(column).c_str(),
                               rowid, /*write=*/0, &blob);
    if (rc == SQLITE_OK) {
      bytes.resize(static_cast<std::size_t>(sqlite3_blob_bytes(blob)));
      rc = sqlite3_blob_read(blob, bytes.data(), static_cast<int>(bytes.size()), 0);
    }
    const int closed = sqlite3_blob_close(blob);  // a null handle is fine
    if (rc == SQLITE_OK) rc = closed;
    if (rc != SQLITE_OK) return std::unexpected(SqliteError(db_, rc, "reading a message body"));
    return bytes;
  }

  // Writes `bytes` over the blob (made with BindZeroBlob, as long) in column `column` of row
  // `rowid` of `table`, straight into its pages: no copy of the whole value is made, as a
  // bound blob's would be when SQLite builds the row.
  Result<void> WriteBlob(std::string_view table, std::string_view column, std::int64_t rowid,
                         std::string_view bytes) {
    if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
      return Fail(ErrorCode::kInvalidInput, "a message body over 2 GB cannot be stored");
    }
    sqlite3_blob* blob = nullptr;
    int rc = sqlite3_blob_open(db_, "main", std::string(table).c_str(), std::string(column).c_str(),
                               rowid, /*write=*/1, &blob);
    if (rc == SQLITE_OK) {
      rc = sqlite3_blob_write(blob, bytes.data(), static_cast<int>(bytes.size()), 0);
    }
    const int closed = sqlite3_blob_close(blob);  // a null handle is fine
    if (rc == SQLITE_OK) rc = closed;
    if (rc != SQLITE_OK) return std::unexpected(SqliteError(db_, rc, "writing a message body"));
    return {};
  }

  // EXPLAIN QUERY PLAN of a statement's text: the detail of each line, indented two spaces
  // per level below the top.
  Result<std::vector<std::string>> ExplainQueryPlan(Sql sql) {
    const std::string text = "EXPLAIN QUERY PLAN " + FormatSql(sql);
    sqlite3_stmt* stmt = nullptr;
    int rc =
        sqlite3_prepare_v2(db_, text.c_str(), static_cast<int>(text.size()) + 1, &stmt, nullptr);
    if (rc != SQLITE_OK) return std::unexpected(SqliteError(db_, rc, text));
    std::vector<std::string> lines;
    std::map<int, int> depth;  // line id -> its depth
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      const int id = sqlite3_column_int(stmt, 0);
      const int parent = sqlite3_column_int(stmt, 1);
      const auto* detail = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3));
      const auto up = depth.find(parent);
      depth[id] = up == depth.end() ? 0 : up->second + 1;
      lines.push_back(std::string(2 * static_cast<std::size_t>(depth[id]), ' ') +
                      (detail != nullptr ? detail : ""));
    }
    Error error = SqliteError(db_, rc, text);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) return std::unexpected(std::move(error));
    return lines;
  }

 private:
  sqlite3* db_;
  std::array<sqlite3_stmt*, kSqlCount> statements_{};
  std::array<bool, kSqlCount> in_use_{};
};

namespace {

// A transaction that rolls back unless committed. kRead is BEGIN DEFERRED: a consistent
// snapshot for several SELECTs, without taking the write lock. kWrite is BEGIN IMMEDIATE: the
// write lock is taken at BEGIN, so the transaction either waits for it there (busy timeout) or
// fails before doing anything; a deferred transaction that read first and then wrote could
// instead fail with SQLITE_BUSY half way, when another writer committed in between, and no
// waiting helps that.
class Transaction {
 public:
  // kNoSync: a write whose commit does not wait for the disk, for the progress of delivery
  // only (leases, outcomes). A crash of the daemon loses none of it (the WAL is written before
  // COMMIT returns); a power cut may undo the last of it, and what that restores is safe: the
  // messages are due again and go out again (delivery is at-least-once, as Postfix's after a
  // power cut). The WAL is written in order, so the next durable commit's fsync makes it
  // durable too; other connections see it at once.
  enum class Kind { kRead, kWrite, kNoSync };

  static Result<Transaction> Begin(SqliteConnection& db, Kind kind) {
    auto begin = db.Use(kind == Kind::kRead ? Sql::kBeginRead : Sql::kBeginWrite);
    MW_RETURN_IF_ERROR(begin.Run());
    return Transaction(&db, kind);
  }
  Transaction(Transaction&& other) noexcept
      : db_(std::exchange(other.db_, nullptr)), kind_(other.kind_) {}
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction() {
    if (db_ == nullptr) return;
    // Undo everything since BEGIN. It fails only if SQLite has already rolled back by itself
    // (after SQLITE_FULL, SQLITE_IOERR...), which is the same outcome.
    auto rollback = db_->Use(Sql::kRollback);
    (void)rollback.Step();
  }

  // Makes the transaction durable (every kind but kNoSync): it returns after the WAL is
  // fsync'd. If COMMIT fails nothing of it is kept. If the fsync fails, it is kept but not
  // known to be on disk, and the caller must not say it is: a script told to try again may
  // then send its mail twice, which loses nothing.
  Result<void> Commit() {
    auto commit = db_->Use(Sql::kCommit);
    MW_RETURN_IF_ERROR(commit.Run());
    SqliteConnection& db = *std::exchange(db_, nullptr);
    if (kind_ == Kind::kWrite) MW_RETURN_IF_ERROR(db.SyncWal());
    return {};
  }

 private:
  Transaction(SqliteConnection* db, Kind kind) : db_(db), kind_(kind) {}
  SqliteConnection* db_;
  Kind kind_;
};

using Kind = Transaction::Kind;

// Brings the schema up to schema::kSchemaVersion.
Result<void> Migrate(SqliteConnection& db) {
  // BEGIN IMMEDIATE: two daemons starting at once on one file must not both apply a
  // migration; the write lock makes the second wait, then read the version the first wrote.
  // DDL is transactional in SQLite: a migration failing half way leaves the schema as it was.
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(db, Kind::kWrite));
  std::int64_t version = 0;
  {
    auto st = db.Use(Sql::kSelectSchemaVersion);
    MW_ASSIGN_OR_RETURN(const bool row, st.Step());
    if (row) version = st.Int(0);
  }
  if (version > schema::kSchemaVersion) {
    return Fail(ErrorCode::kUnavailable,
                fmt::format("the database's schema version is {}, newer than this mailwarden "
                            "knows ({}): run the mailwarden that wrote it, or a newer one",
                            version, schema::kSchemaVersion));
  }
  const std::int64_t now = Millis(std::chrono::system_clock::now());
  for (const schema::Migration& migration : schema::kMigrations) {
    if (migration.version <= version) continue;
    MW_RETURN_IF_ERROR(db.Exec(migration.sqlite));
    auto st = db.Use(Sql::kInsertSchemaVersion);
    st.Bind(1, std::int64_t{migration.version}).Bind(2, now);
    MW_RETURN_IF_ERROR(st.Run());
  }
  MW_RETURN_IF_ERROR(tx.Commit());
  if (version < schema::kSchemaVersion) {
    spdlog::info("store: schema migrated from version {} to {}", version, schema::kSchemaVersion);
  }
  return {};
}

// Creates the database file readable by its owner only, if it does not exist: it holds the
// customers' mail. SQLite gives the -wal and -shm files it creates the mode of this file.
// No fsync of the folder is needed here: the first transaction creates the journal or WAL in
// the same folder, and SQLite fsyncs the folder then, which makes this entry durable too.
//
// An existing file is not opened at all. The daemon opens its reader connections after the
// writer, and closing any descriptor of the file drops every POSIX lock the process holds on
// it, SQLite's included: another program's connection (the sqlite3 shell, a backup) would then
// believe itself the last one when it closes, checkpoint, and delete the WAL the daemon still
// appends to, and every commit after that would be lost at the daemon's next start.
Result<void> CreatePrivateFile(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return {};
    return Fail(ErrorCode::kUnavailable,
                fmt::format("{}: cannot create: {}", path.string(), std::strerror(errno)));
  }
  ::close(fd);  // new: no connection of this process has it open yet
  return {};
}

// Reads the columns of {account_columns}, in their order.
Result<Account> ReadAccount(const Stmt& st) {
  Account account;
  account.id = st.Int(0);
  account.name = st.Text(1);
  const std::string state = st.Text(2);
  const std::string blocked_by = st.Text(3);
  auto parsed_state = ParseAccountState(state);
  auto parsed_blocked_by = ParseBlockedBy(blocked_by);
  if (!parsed_state || !parsed_blocked_by) {
    return Fail(ErrorCode::kInternal, fmt::format("store: account {} has state '{}' by '{}'",
                                                  account.id, state, blocked_by));
  }
  account.state = *parsed_state;
  account.blocked_by = *parsed_blocked_by;
  account.reason = st.Text(4);
  account.since = FromUnixMillis(st.Int(5));
  account.report_to = st.Text(6);
  account.language = st.Text(7);
  account.max_per_day = st.OptionalInt(8);
  account.max_per_hour = st.OptionalInt(9);
  account.pending = st.Int(10);
  account.bounce_tolerance_until = FromUnixMillis(st.Int(11));
  account.purge_upto = st.Int(12);
  account.purge_left = st.Int(13);
  return account;
}

Result<std::vector<Uid>> ReadUids(SqliteConnection& db, AccountId id) {
  std::vector<Uid> uids;
  auto st = db.Use(Sql::kSelectAccountUids);
  st.Bind(1, id);
  for (;;) {
    MW_ASSIGN_OR_RETURN(const bool row, st.Step());
    if (!row) break;
    uids.push_back(static_cast<Uid>(st.Int(0)));
  }
  return uids;
}

// Reads the one account a kSelectAccountBy* statement finds, with its uids.
Result<std::optional<Account>> ReadOneAccount(SqliteConnection& db, Sql sql, auto key) {
  Account account;
  {
    auto st = db.Use(sql);
    st.Bind(1, key);
    MW_ASSIGN_OR_RETURN(const bool row, st.Step());
    if (!row) return std::optional<Account>();
    MW_ASSIGN_OR_RETURN(account, ReadAccount(st));
  }
  MW_ASSIGN_OR_RETURN(account.uids, ReadUids(db, account.id));
  return std::optional<Account>(std::move(account));
}

// What a write transaction changes in the accounts' counters, gathered while it runs and
// written at its end (Flush): one UPDATE per account and one upsert per account and day,
// however many messages the transaction touched. Counters are never recomputed by counting
// rows, so they must change in the very transaction that changes the messages.
class Tally {
 public:
  explicit Tally(SqliteConnection& db) : db_(db) {}

  AccountDelta& Of(AccountId account) { return accounts_[account]; }

  void Count(AccountId account, int day, const CounterDelta& d) {
    accounts_[account].counters.Add(d);
    days_[{account, day}].Add(d);
  }

  // An unfinished message of the account, not purged, ends (finished or about to be
  // deleted): it leaves pending and loses its released mark. marked: whether it may have one
  // (false when the account has no released mail: nothing to delete).
  Result<void> EndMessage(AccountId account, MessageId id, bool marked = true) {
    AccountDelta& delta = accounts_[account];
    --delta.pending;
    if (!marked) return {};
    auto st = db_.Use(Sql::kForgetReleased);
    st.Bind(1, account).Bind(2, id);
    MW_RETURN_IF_ERROR(st.Run());
    delta.released -= st.Changes();
    return {};
  }

  // Writes the gathered changes. kNotFound if an account does not exist.
  Result<void> Flush() {
    for (const auto& [account, d] : accounts_) {
      auto st = db_.Use(Sql::kBumpAccount);
      st.Bind(1, account)
          .Bind(2, d.pending)
          .Bind(3, d.released)
          .Bind(4, d.purge_left)
          .Bind(5, d.counters.submitted)
          .Bind(6, d.counters.sent)
          .Bind(7, d.counters.errors)
          .Bind(8, d.counters.expired)
          .Bind(9, d.counters.purged);
      MW_RETURN_IF_ERROR(st.Run());
      if (st.Changes() == 0) {
        return Fail(ErrorCode::kNotFound, fmt::format("no account with id {}", account));
      }
    }
    for (const auto& [key, d] : days_) {
      auto st = db_.Use(Sql::kBumpDay);
      st.Bind(1, key.first)
          .Bind(2, std::int64_t{key.second})
          .Bind(3, d.submitted)
          .Bind(4, d.sent)
          .Bind(5, d.errors)
          .Bind(6, d.expired)
          .Bind(7, d.purged);
      MW_RETURN_IF_ERROR(st.Run());
    }
    accounts_.clear();
    days_.clear();
    return {};
  }

 private:
  SqliteConnection& db_;
  std::map<AccountId, AccountDelta> accounts_;
  std::map<std::pair<AccountId, int>, CounterDelta> days_;
};

// The state of an account, kNotFound if there is none.
Result<AccountState> ReadAccountState(SqliteConnection& db, AccountId account) {
  auto st = db.Use(Sql::kSelectAccountState);
  st.Bind(1, account);
  MW_ASSIGN_OR_RETURN(const bool row, st.Step());
  if (!row) return Fail(ErrorCode::kNotFound, fmt::format("no account with id {}", account));
  const auto state = ParseAccountState(st.Text(0));
  if (!state) return Fail(ErrorCode::kInternal, fmt::format("store: account {} state", account));
  return *state;
}

// The ids of the account's queued (not in flight) unfinished messages the selector chooses,
// ascending.
Result<std::vector<MessageId>> SelectHeld(SqliteConnection& db, AccountId account,
                                          const MessageSelector& selector) {
  std::vector<MessageId> ids;
  if (!selector.ids.empty()) {
    for (const MessageId id : selector.ids) {
      auto st = db.Use(Sql::kSelectHeldById);
      st.Bind(1, id).Bind(2, account);
      MW_ASSIGN_OR_RETURN(const bool row, st.Step());
      if (row) ids.push_back(id);
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
  }
  if (selector.from.empty() && selector.to.empty() && selector.subject.empty()) return ids;
  auto st = db.Use(Sql::kSelectHeldByMatch);
  st.Bind(1, account)
      .Bind(2, AsciiLower(selector.from))
      .Bind(3, AsciiLower(selector.to))
      .Bind(4, AsciiLower(selector.subject));
  for (;;) {
    MW_ASSIGN_OR_RETURN(const bool row, st.Step());
    if (!row) break;
    ids.push_back(st.Int(0));
  }
  return ids;
}

// Reads a message's recipients (kSelectRecipients) into message.
Result<void> ReadRecipients(SqliteConnection& db, StoredMessage& message) {
  auto st = db.Use(Sql::kSelectRecipients);
  st.Bind(1, message.id);
  for (;;) {
    MW_ASSIGN_OR_RETURN(const bool row, st.Step());
    if (!row) break;
    StoredRecipient r;
    r.index = static_cast<int>(st.Int(0));
    r.address = st.Text(1);
    MW_ASSIGN_OR_RETURN(r.status, RecipientStatusFromCode(st.Int(2)));
    r.reply = st.Text(3);
    r.updated_at = FromUnixMillis(st.Int(4));
    message.recipients.push_back(std::move(r));
  }
  return {};
}

// Reads a message without its body; nullopt if there is none.
Result<std::optional<StoredMessage>> ReadMessage(SqliteConnection& db, MessageId id) {
  StoredMessage message;
  message.id = id;
  {
    auto st = db.Use(Sql::kSelectMessage);
    st.Bind(1, id);
    MW_ASSIGN_OR_RETURN(const bool row, st.Step());
    if (!row) return std::optional<StoredMessage>();
    message.account = st.Int(0);
    message.sender = st.Text(1);
    message.subject = st.Text(2);
    message.script = st.Text(3);
    message.uid = static_cast<Uid>(st.Int(4));
    message.size = st.Int(5);
    MW_ASSIGN_OR_RETURN(message.status, MessageStatusFromCode(st.Int(6)));
    message.attempts = static_cast<int>(st.Int(7));
    message.received_at = FromUnixMillis(st.Int(8));
    message.next_attempt = FromUnixMillis(st.Int(9));
  }
  MW_RETURN_IF_ERROR(ReadRecipients(db, message));
  return std::optional<StoredMessage>(std::move(message));
}

// Inserts a message and its recipients (in the caller's write transaction, which counts it):
// queued, due at once, or, with lease_until, leased to lease_node until then, its first
// attempt counted (as kLeaseMessage leaves a claimed message).
Result<MessageId> InsertMessageRows(SqliteConnection& db, const NewMessage& m,
                                    std::string_view lease_node,
                                    std::optional<TimePoint> lease_until = std::nullopt) {
  const std::int64_t received = Millis(m.received_at);
  // A large body is written into its pages after the row is made, not bound: SQLite would
  // first copy it whole into the row's record, holding a large message twice.
  const bool body_in_place = static_cast<std::int64_t>(m.body.size()) >= kLargeBodyBytes;
  {
    auto st = db.Use(Sql::kInsertMessage);
    st.Bind(1, m.account)
        .Bind(2, received)
        .Bind(3, std::int64_t{m.uid})
        .Bind(4, static_cast<std::int64_t>(m.body.size()))
        .Bind(5, m.sender)
        .Bind(6, m.subject)
        .Bind(7, m.script);
    if (body_in_place) {
      st.BindZeroBlob(8, m.body.size());
    } else {
      st.BindBlobRef(8, m.body);
    }
    if (lease_node.empty()) {
      st.Bind(9, std::optional<std::int64_t>());  // NULL
    } else {
      st.Bind(9, lease_node);
    }
    if (lease_until) {
      st.Bind(10, std::int64_t{schema::kMessageDelivering})
          .Bind(11, std::int64_t{1})
          .Bind(12, Millis(*lease_until));
    } else {
      st.Bind(10, std::int64_t{schema::kMessageQueued})
          .Bind(11, std::int64_t{0})
          .Bind(12, received);
    }
    MW_RETURN_IF_ERROR(st.Run());
  }
  const MessageId id = db.LastInsertId();
  if (body_in_place) MW_RETURN_IF_ERROR(db.WriteBlob(schema::kMessagesTable, "body", id, m.body));
  for (std::size_t i = 0; i < m.recipients.size(); ++i) {
    auto st = db.Use(Sql::kInsertRecipient);
    st.Bind(1, id)
        .Bind(2, static_cast<std::int64_t>(i))
        .Bind(3, m.account)
        .Bind(4, m.recipients[i])
        .Bind(5, received);
    MW_RETURN_IF_ERROR(st.Run());
  }
  return id;
}

// Writes the sources counted, one upsert each, in the caller's transaction.
Result<void> FlushSources(SqliteConnection& db, SourceCounts& sources) {
  for (const auto& [key, count] : sources.counts()) {
    const auto& [account, kind, hour, value] = key;
    auto st = db.Use(Sql::kBumpSource);
    st.Bind(1, account).Bind(2, std::int64_t{kind}).Bind(3, hour).Bind(4, value).Bind(5, count);
    MW_RETURN_IF_ERROR(st.Run());
  }
  sources.Clear();
  return {};
}

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::filesystem::path& path) {
  auto in_file = [&path](Error error) {
    error.message = fmt::format("{}: {}", path.string(), error.message);
    return std::unexpected(std::move(error));
  };
  if (auto created = CreatePrivateFile(path); !created) return std::unexpected(created.error());

  // Once per process, before SQLite initializes: without the statistics of its memory use,
  // which it would otherwise keep under a global mutex at every allocation. Nothing here
  // reads them.
  static const int kMemStatusOff = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)kMemStatusOff;

  sqlite3* handle = nullptr;
  // NOMUTEX: a Store is used by one thread at a time (store.h), so SQLite's own locking of
  // the connection would only cost. EXRESCODE: extended error codes, for clearer messages.
  // WalBufferVfs: a transaction's WAL frames go to the file in one write (sqlite_wal_buffer.h).
  const int rc = sqlite3_open_v2(
      path.c_str(), &handle,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
      WalBufferVfs());
  auto db = std::make_unique<SqliteConnection>(handle);  // closes handle on every return
  if (rc != SQLITE_OK) return in_file(SqliteError(handle, rc, "open"));
  sqlite3_busy_timeout(handle, kBusyTimeoutMs);

  // WAL: readers (API lists, reports) never block the writer nor it them, and a commit is one
  // append to the log plus one fsync, which is what makes group commit cheap.
  auto mode = db->Pragma("PRAGMA journal_mode = WAL");
  if (!mode) return in_file(mode.error());
  if (*mode != "wal") {
    return in_file(Error{ErrorCode::kUnavailable,
                         fmt::format("cannot use WAL mode (journal_mode is '{}'): the file "
                                     "must be on a local file system",
                                     *mode)});
  }
  // NORMAL: COMMIT writes the WAL without waiting for the disk. Durable commits (every one
  // that stores what a script or a user was told is done, DESIGN.md promise 1) then fsync the
  // WAL themselves (Transaction::Commit), as FULL would inside COMMIT; delivery's progress
  // does not wait for the disk (Kind::kNoSync).
  if (auto r = db->Exec("PRAGMA synchronous = NORMAL"); !r) return in_file(r.error());
  // FAST, not Debian's default ON: a dropped body would otherwise be zero-filled page by page,
  // and every one of those pages written to the WAL and again at checkpoint, doubling the
  // writes of large mail. FAST still clears what is deleted from pages written anyway; the
  // file is private to the daemon's user (CreatePrivateFile), as a queue folder would be.
  if (auto r = db->Exec("PRAGMA secure_delete = FAST"); !r) return in_file(r.error());
  // Off by default, per connection: recipients and uids must point at existing rows.
  if (auto r = db->Exec("PRAGMA foreign_keys = ON"); !r) return in_file(r.error());

  if (auto r = db->Exec(schema::kCreateSchemaVersionTable); !r) return in_file(r.error());
  if (auto r = db->Prepare(0, kFirstSqlAfterMigrations); !r) return in_file(r.error());
  if (auto r = Migrate(*db); !r) return in_file(r.error());
  if (auto r = db->Prepare(kFirstSqlAfterMigrations, kSqlCount); !r) return in_file(r.error());
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(db)));
}

SqliteStore::SqliteStore(std::unique_ptr<SqliteConnection> db) : db_(std::move(db)) {}
SqliteStore::~SqliteStore() = default;

Result<AccountId> SqliteStore::UpsertAccount(const AccountSpec& spec) {
  if (spec.name.empty()) return Fail(ErrorCode::kInvalidInput, "account name is empty");
  // Store has no clock here; the creation time is only the new account's first `since`.
  const std::int64_t now = Millis(std::chrono::system_clock::now());
  // One write transaction: the account and its uids change together, and a uid moving from
  // another account is never seen belonging to both or to neither.
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kWrite));
  AccountId id = 0;
  {
    auto st = db_->Use(Sql::kUpsertAccount);
    st.Bind(1, spec.name)
        .Bind(2, spec.report_to)
        .Bind(3, spec.language)
        .Bind(4, spec.max_per_day)
        .Bind(5, spec.max_per_hour)
        .Bind(6, now);
    MW_ASSIGN_OR_RETURN(const bool row, st.Step());
    if (!row) return Fail(ErrorCode::kInternal, "store: upsert of an account returned no id");
    id = st.Int(0);
  }
  {
    auto st = db_->Use(Sql::kDeleteAccountUids);
    st.Bind(1, id);
    MW_RETURN_IF_ERROR(st.Run());
  }
  for (const Uid uid : spec.uids) {
    auto st = db_->Use(Sql::kPutAccountUid);
    st.Bind(1, std::int64_t{uid}).Bind(2, id);
    MW_RETURN_IF_ERROR(st.Run());
  }
  MW_RETURN_IF_ERROR(tx.Commit());
  return id;
}

Result<std::optional<Account>> SqliteStore::FindAccount(std::string_view name) {
  // A read transaction: the account row and its uids from one snapshot.
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kRead));
  MW_ASSIGN_OR_RETURN(auto account, ReadOneAccount(*db_, Sql::kSelectAccountByName, name));
  MW_RETURN_IF_ERROR(tx.Commit());
  return account;
}

Result<std::optional<Account>> SqliteStore::GetAccount(AccountId id) {
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kRead));
  MW_ASSIGN_OR_RETURN(auto account, ReadOneAccount(*db_, Sql::kSelectAccountById, id));
  MW_RETURN_IF_ERROR(tx.Commit());
  return account;
}

Result<std::optional<Account>> SqliteStore::FindAccountByUid(Uid uid) {
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kRead));
  AccountId id = 0;
  {
    auto st = db_->Use(Sql::kSelectAccountIdByUid);
    st.Bind(1, std::int64_t{uid});
    MW_ASSIGN_OR_RETURN(const bool row, st.Step());
    if (!row) return std::optional<Account>();
    id = st.Int(0);
  }
  MW_ASSIGN_OR_RETURN(auto account, ReadOneAccount(*db_, Sql::kSelectAccountById, id));
  MW_RETURN_IF_ERROR(tx.Commit());
  return account;
}

Result<std::vector<Account>> SqliteStore::ListAccounts() {
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kRead));
  std::vector<Account> accounts;
  {
    auto st = db_->Use(Sql::kSelectAllAccounts);
    for (;;) {
      MW_ASSIGN_OR_RETURN(const bool row, st.Step());
      if (!row) break;
      MW_ASSIGN_OR_RETURN(auto account, ReadAccount(st));
      accounts.push_back(std::move(account));
    }
  }
  {
    // Both lists are in id order: one pass joins them, with no query per account.
    auto st = db_->Use(Sql::kSelectAllAccountUids);
    auto next = accounts.begin();
    for (;;) {
      MW_ASSIGN_OR_RETURN(const bool row, st.Step());
      if (!row) break;
      const AccountId id = st.Int(0);
      while (next != accounts.end() && next->id < id) ++next;
      if (next != accounts.end() && next->id == id) {
        next->uids.push_back(static_cast<Uid>(st.Int(1)));
      }
    }
  }
  MW_RETURN_IF_ERROR(tx.Commit());
  return accounts;
}

Result<void> SqliteStore::SetAccountState(const AccountStateChange& change) {
  // One write transaction: the compare (state = from), the set, the watermark and the audit
  // record are atomic against every other connection, on this node or another. A transition
  // is never without its audit record, nor a record without its transition.
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kWrite));
  {
    auto st = db_->Use(Sql::kSetAccountStateFull);
    st.Bind(1, change.account)
        .Bind(2, AccountStateName(change.to))
        .Bind(3, BlockedByName(change.blocked_by))
        .Bind(4, change.reason)
        .Bind(5, Millis(change.at))
        .Bind(6, AccountStateName(change.from))
        .Bind(7, Millis(change.bounce_tolerance_until));
    MW_RETURN_IF_ERROR(st.Run());
    if (st.Changes() != 1) {
      // Nothing changed: say why, from the same snapshot.
      MW_ASSIGN_OR_RETURN(const AccountState now, ReadAccountState(*db_, change.account));
      return Fail(ErrorCode::kConflict,
                  fmt::format("the account is {} now, not {}", AccountStateName(now),
                              AccountStateName(change.from)));
    }
  }
  if (change.to == AccountState::kActive) {
    // Everything unfinished goes out now: released marks mean nothing any more, and must not
    // let mail through a later block.
    for (const Sql sql : {Sql::kClearReleased, Sql::kZeroReleasedPending}) {
      auto st = db_->Use(sql);
      st.Bind(1, change.account);
      MW_RETURN_IF_ERROR(st.Run());
    }
  }
  if (change.start_purge) {
    // The purge itself: O(1) however much is held. The rows go later (PurgeBatch).
    std::int64_t purged = 0;
    {
      auto before = db_->Use(Sql::kSelectCounters);
      before.Bind(1, change.account);
      MW_ASSIGN_OR_RETURN(const bool row, before.Step());
      const std::int64_t purged_before = row ? before.Int(7) : 0;
      auto st = db_->Use(Sql::kSetPurgeWatermark);
      st.Bind(1, change.account).Bind(2, purged_before);
      MW_ASSIGN_OR_RETURN(const bool updated, st.Step());
      purged = updated ? st.Int(0) : 0;
    }
    {
      auto st = db_->Use(Sql::kClearReleased);
      st.Bind(1, change.account);
      MW_RETURN_IF_ERROR(st.Run());
    }
    if (purged > 0) {
      auto st = db_->Use(Sql::kBumpDay);
      st.Bind(1, change.account)
          .Bind(2, std::int64_t{LocalDayOf(change.at)})
          .Bind(3, std::int64_t{0})
          .Bind(4, std::int64_t{0})
          .Bind(5, std::int64_t{0})
          .Bind(6, std::int64_t{0})
          .Bind(7, purged);
      MW_RETURN_IF_ERROR(st.Run());
    }
  }
  {
    auto st = db_->Use(Sql::kInsertAudit);
    st.Bind(1, Millis(change.at))
        .Bind(2, change.account)
        .Bind(3, change.actor)
        .Bind(4, change.action)
        .Bind(5, AccountStateName(change.from))
        .Bind(6, AccountStateName(change.to))
        .Bind(7, change.audit_text.empty() ? std::string_view(change.reason)
                                           : std::string_view(change.audit_text));
    MW_RETURN_IF_ERROR(st.Run());
  }
  MW_RETURN_IF_ERROR(tx.Commit());
  return {};
}

Result<InsertedBatch> SqliteStore::InsertMessages(std::span<const NewMessage> messages,
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

  // The group commit: the whole batch is one write transaction, so it costs one fsync
  // however many messages it holds, and either every message of it is stored (and may be
  // acknowledged) or none is.
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kWrite));
  // Counters first: an unknown account fails here with kNotFound, before any insert.
  Tally tally(*db_);
  for (const NewMessage& m : messages) {
    tally.Of(m.account).pending += 1;
    tally.Count(m.account, LocalDayOf(m.received_at), {.submitted = 1});
  }
  MW_RETURN_IF_ERROR(tally.Flush());
  if (!lease.node.empty()) lease_node_hint_ = lease.node;
  // Read in the write transaction, so no block can come between the read and the lease.
  ArrivalLeasing leasing(lease, [this](AccountId account) -> Result<std::optional<std::string>> {
    auto st = db_->Use(Sql::kSelectAccountState);
    st.Bind(1, account);
    MW_ASSIGN_OR_RETURN(const bool row, st.Step());
    if (!row || st.Text(0) != AccountStateName(AccountState::kActive)) return std::nullopt;
    return st.Text(1);
  });
  SourceCounts sources;
  for (const NewMessage& m : messages) {
    InsertedMessage& out = inserted.messages.emplace_back();
    MW_ASSIGN_OR_RETURN(const std::optional<TimePoint> lease_until,
                        leasing.Decide(m, out, inserted));
    MW_ASSIGN_OR_RETURN(out.id, InsertMessageRows(*db_, m, lease_node_hint_, lease_until));
    sources.Add(m);
  }
  // Sources are counted in the messages' transaction: a message stored is counted exactly
  // once, and a failed batch counts nothing.
  MW_RETURN_IF_ERROR(FlushSources(*db_, sources));
  // Pruning rides on the commit that is paid for anyway, at most once per new hour (and
  // again while a backlog remains), so a quiet store does no work for it.
  const std::int64_t prune_below = sources.newest_hour() - (kSourceHoursKept - 1);
  bool pruned_all = false;
  if (prune_below > sources_pruned_below_) {
    auto st = db_->Use(Sql::kPruneSources);
    st.Bind(1, prune_below).Bind(2, kSourcePruneBatch);
    MW_RETURN_IF_ERROR(st.Run());
    pruned_all = st.Changes() < kSourcePruneBatch;
  }
  MW_RETURN_IF_ERROR(tx.Commit());
  if (pruned_all) sources_pruned_below_ = prune_below;
  return inserted;
}

Result<ClaimedBatch> SqliteStore::ClaimDue(const ClaimRequest& request) {
  ClaimedBatch batch;
  std::vector<ClaimedMessage>& claimed = batch.messages;
  if (request.limit <= 0) return batch;
  lease_node_hint_ = request.node;
  const auto limit = static_cast<std::size_t>(request.limit);
  const std::int64_t now = Millis(request.now);

  // BEGIN IMMEDIATE: choosing what is due and leasing it is one atomic step. With the write
  // lock held from the start no other store (thread, process) can lease the same message
  // between our read and our write. kNoSync: a lease lost leaves the message due again.
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kNoSync));

  // The accounts with something due, the one waiting longest first. Only active accounts
  // with unfinished mail are visited (accounts_sending), so held mail is never read.
  // A held account with released mail is visited too, and then only its released messages.
  struct AccountQueue {
    AccountId account = 0;
    bool released_only = false;
    MessageId epoch = 0;  // the account's purge epoch (see schema.h)
    std::string name;
    std::vector<DueMessage> due;
  };
  std::vector<AccountQueue> queues;
  {
    // Skipped accounts (waiting for their quota) are left out here rather than in SQL: asking
    // for as many more rows as there are skipped accounts still fills `limit`.
    auto st = db_->Use(Sql::kSelectDueAccounts);
    st.Bind(1, now).Bind(2, static_cast<std::int64_t>(limit + request.skip.size()));
    for (;;) {
      MW_ASSIGN_OR_RETURN(const bool row, st.Step());
      if (!row) break;
      const AccountId account = st.Int(0);
      if (std::ranges::find(request.skip, account) != request.skip.end()) continue;
      if (queues.size() == limit) break;
      AccountQueue& queue = queues.emplace_back();
      queue.account = account;
      queue.released_only = st.Int(1) != 0;
      queue.epoch = st.Int(2);
    }
  }
  // Fairness is round-robin: one message from each due account per round, up to the limit.
  // Each has at least one due, so none can get more than what is left when each of the
  // others gets one; no more is read.
  const auto most_per_account = static_cast<std::int64_t>(limit - queues.size() + 1);
  for (AccountQueue& queue : queues) {
    std::int64_t most = most_per_account;
    for (const auto& [account, cap] : request.most) {
      if (account == queue.account) most = std::min<std::int64_t>(most, std::max(cap, 0));
    }
    const Sql sql = queue.released_only ? Sql::kSelectDueReleased : Sql::kSelectDueMessages;
    auto st = db_->Use(sql);
    st.Bind(1, queue.account).Bind(2, now).Bind(3, most);
    if (sql == Sql::kSelectDueMessages) st.Bind(4, queue.epoch);
    for (;;) {
      MW_ASSIGN_OR_RETURN(const bool row, st.Step());
      if (!row) break;
      queue.due.push_back({.id = st.Int(0), .size = st.Int(1)});
    }
  }
  std::vector<std::pair<AccountQueue*, DueMessage>> picked;
  batch.budget_reached = PickRoundRobin(queues, request, picked);

  claimed.reserve(picked.size());
  for (auto& [queue, due] : picked) {
    const MessageId id = due.id;
    if (queue->name.empty()) {
      auto st = db_->Use(Sql::kSelectAccountName);
      st.Bind(1, queue->account);
      MW_ASSIGN_OR_RETURN(const bool row, st.Step());
      if (row) queue->name = st.Text(0);
    }
    ClaimedMessage message;
    message.id = id;
    message.account = queue->account;
    message.account_name = queue->name;
    {
      // The lease's end goes into next_attempt_ms: if this node dies, the message is due
      // again then, through the same index as any other due message.
      const bool body_in_place = due.size >= kLargeBodyBytes;
      auto st = db_->Use(Sql::kLeaseMessage);
      st.Bind(1, id)
          .Bind(2, Millis(request.lease_until))
          .Bind(3, request.node)
          .Bind(4, std::int64_t{body_in_place});
      MW_ASSIGN_OR_RETURN(const bool row, st.Step());
      if (!row) return Fail(ErrorCode::kInternal, fmt::format("store: message {} vanished", id));
      message.sender = st.Text(0);
      message.subject = st.Text(1);
      message.attempts = static_cast<int>(st.Int(2)) - 1;  // the count includes this attempt
      message.received_at = FromUnixMillis(st.Int(3));
      if (body_in_place) {
        MW_ASSIGN_OR_RETURN(message.body, db_->ReadBlob(schema::kMessagesTable, "body", id));
      } else {
        message.body = st.Text(4);  // the UPDATE is complete: SQLite runs it at the first step
      }
    }
    {
      auto st = db_->Use(Sql::kSelectPendingRecipients);
      st.Bind(1, id);
      for (;;) {
        MW_ASSIGN_OR_RETURN(const bool row, st.Step());
        if (!row) break;
        message.recipients.push_back({.index = static_cast<int>(st.Int(0)), .address = st.Text(1)});
      }
    }
    claimed.push_back(std::move(message));
  }
  MW_RETURN_IF_ERROR(tx.Commit());
  return batch;
}

Result<void> SqliteStore::RecordOutcomes(std::span<const DeliveryOutcome> outcomes, TimePoint now) {
  if (outcomes.empty()) return {};
  const std::int64_t now_ms = Millis(now);
  const int day = LocalDayOf(now);
  Tally tally(*db_);

  // One write transaction for the batch: recipients' outcomes, the messages' new status and
  // the accounts' pending counters change together or not at all, so a crash can neither
  // lose an outcome nor count a message twice. kNoSync: an outcome undone by a power cut
  // leaves its message leased, so it is delivered again (see Transaction).
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kNoSync));
  for (const DeliveryOutcome& outcome : outcomes) {
    AccountId account = 0;
    bool marked = false;
    {
      auto st = db_->Use(Sql::kSelectMessageState);
      st.Bind(1, outcome.id);
      MW_ASSIGN_OR_RETURN(const bool row, st.Step());
      // Purged while in flight (its row deleted or not yet) or already finished (a late
      // outcome of a lease that ran out, or a replay): nothing is left to record, and the
      // counters stay right.
      if (!row || st.Int(1) == schema::kMessageDone || st.Int(2) != 0) continue;
      account = st.Int(0);
      marked = st.Int(3) != 0;
    }
    for (const RecipientOutcome& r : outcome.recipients) {
      // Only a pending recipient changes: a sent or failed one is final.
      auto st = db_->Use(Sql::kUpdateRecipient);
      st.Bind(1, outcome.id)
          .Bind(2, std::int64_t{r.index})
          .Bind(3, std::int64_t{RecipientCode(r.status)})
          .Bind(4, r.reply)
          .Bind(5, now_ms);
      MW_RETURN_IF_ERROR(st.Run());
      if (r.status == RecipientStatus::kFailed && st.Changes() == 1) {
        tally.Count(account, day, {.errors = 1});
      }
    }
    bool unfinished = false;
    bool sent = false;
    {
      auto st = db_->Use(Sql::kRecipientStates);
      st.Bind(1, outcome.id);
      MW_ASSIGN_OR_RETURN(const bool row, st.Step());
      unfinished = row && st.Int(0) != 0;
      sent = row && st.Int(1) != 0;
    }
    if (unfinished) {
      auto st = db_->Use(Sql::kRequeueMessage);
      st.Bind(1, outcome.id).Bind(2, Millis(outcome.next_attempt));
      MW_RETURN_IF_ERROR(st.Run());
    } else {
      auto st = db_->Use(Sql::kFinishMessage);
      st.Bind(1, outcome.id).Bind(2, now_ms);
      MW_RETURN_IF_ERROR(st.Run());
      MW_RETURN_IF_ERROR(tally.EndMessage(account, outcome.id, marked));
      if (sent) tally.Count(account, day, {.sent = 1});
    }
  }
  MW_RETURN_IF_ERROR(tally.Flush());
  MW_RETURN_IF_ERROR(tx.Commit());
  return {};
}

Result<std::vector<SqliteStore::QueryPlan>> SqliteStore::ExplainHotStatements() {
  static constexpr std::pair<std::string_view, Sql> kHot[] = {
      {"kSelectDueAccounts", Sql::kSelectDueAccounts},
      {"kSelectDueMessages", Sql::kSelectDueMessages},
      {"kSelectDueReleased", Sql::kSelectDueReleased},
      {"kSelectNextDue", Sql::kSelectNextDue},
      {"kLeaseMessage", Sql::kLeaseMessage},
      {"kSelectPendingRecipients", Sql::kSelectPendingRecipients},
      {"kSelectMessageState", Sql::kSelectMessageState},
      {"kUpdateRecipient", Sql::kUpdateRecipient},
      {"kRecipientStates", Sql::kRecipientStates},
      {"kFinishMessage", Sql::kFinishMessage},
      {"kReleaseLeases", Sql::kReleaseLeases},
      {"kSetPurgeWatermark", Sql::kSetPurgeWatermark},
      {"kSelectPurgeBatch", Sql::kSelectPurgeBatch},
      {"kSelectPendingPage", Sql::kSelectPendingPage},
      {"kSelectOldestUnfinished", Sql::kSelectOldestUnfinished},
      {"kSelectHoldingAccounts", Sql::kSelectHoldingAccounts},
      {"kSelectAccountsInState", Sql::kSelectAccountsInState},
      {"kSelectCounters", Sql::kSelectCounters},
      {"kSelectVolumes", Sql::kSelectVolumes},
      {"kSelectErrors", Sql::kSelectErrors},
      {"kDeleteFinished", Sql::kDeleteFinished},
      {"kSelectMessageHead", Sql::kSelectMessageHead},
  };
  std::vector<QueryPlan> plans;
  for (const auto& [name, sql] : kHot) {
    MW_ASSIGN_OR_RETURN(auto lines, db_->ExplainQueryPlan(sql));
    plans.push_back({std::string(name), std::move(lines)});
  }
  return plans;
}

Result<void> SqliteStore::ReleaseLeases(std::string_view node) {
  lease_node_hint_ = node;
  // One statement, so one transaction: every lease of the node ends, or none does.
  auto st = db_->Use(Sql::kReleaseLeases);
  st.Bind(1, node);
  MW_RETURN_IF_ERROR(st.Run());
  if (st.Changes() > 0) {
    spdlog::info("store: {} message(s) leased to {} are due again", st.Changes(), node);
  }
  return {};
}

Result<std::optional<TimePoint>> SqliteStore::NextDueTime(std::span<const AccountId> skip) {
  // One statement reads one snapshot; no transaction needed around it.
  auto st = db_->Use(Sql::kSelectNextDue);
  st.Bind(1, static_cast<std::int64_t>(skip.size() + 1));
  for (;;) {
    MW_ASSIGN_OR_RETURN(const bool row, st.Step());
    if (!row) return std::optional<TimePoint>();
    if (std::ranges::find(skip, st.Int(0)) != skip.end()) continue;
    return std::optional<TimePoint>(FromUnixMillis(st.Int(1)));
  }
}

Result<std::optional<StoredMessage>> SqliteStore::GetMessage(MessageId id) {
  // A read transaction: the message and its recipients from one snapshot, never half of a
  // RecordOutcomes.
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kRead));
  MW_ASSIGN_OR_RETURN(auto message, ReadMessage(*db_, id));
  MW_RETURN_IF_ERROR(tx.Commit());
  return message;
}

Result<std::vector<AccountId>> SqliteStore::AccountsInState(AccountState state) {
  std::vector<AccountId> ids;
  auto st = db_->Use(Sql::kSelectAccountsInState);
  st.Bind(1, AccountStateName(state)).Bind(2, std::int64_t{state == AccountState::kActive ? 1 : 0});
  for (;;) {
    MW_ASSIGN_OR_RETURN(const bool row, st.Step());
    if (!row) break;
    ids.push_back(st.Int(0));
  }
  return ids;
}

Result<std::vector<AuditRecord>> SqliteStore::ListAudit(std::optional<AccountId> account, int limit,
                                                        std::int64_t before_id) {
  std::vector<AuditRecord> records;
  if (limit <= 0) return records;
  auto st = db_->Use(account ? Sql::kSelectAuditOfAccount : Sql::kSelectAudit);
  st.Bind(1, before_id > 0 ? before_id : std::numeric_limits<std::int64_t>::max())
      .Bind(2, std::int64_t{limit});
  if (account) st.Bind(3, *account);
  for (;;) {
    MW_ASSIGN_OR_RETURN(const bool row, st.Step());
    if (!row) break;
    AuditRecord r;
    r.id = st.Int(0);
    r.at = FromUnixMillis(st.Int(1));
    r.account_name = st.Text(2);
    r.actor = st.Text(3);
    r.action = st.Text(4);
    const auto from = ParseAccountState(st.Text(5));
    const auto to = ParseAccountState(st.Text(6));
    if (!from || !to) {
      return Fail(ErrorCode::kInternal, fmt::format("store: audit record {} states", r.id));
    }
    r.from = *from;
    r.to = *to;
    r.reason = st.Text(7);
    records.push_back(std::move(r));
  }
  return records;
}

Result<std::int64_t> SqliteStore::PurgeBatch(AccountId account, int limit, TimePoint /*now*/) {
  // One write transaction: a batch of purged rows and purge_left go together. The purge was
  // counted when it started; deleting its rows changes no counter and no pending.
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kWrite));
  MessageId upto = 0;
  std::int64_t left = 0;
  {
    auto st = db_->Use(Sql::kSelectPurgeState);
    st.Bind(1, account);
    MW_ASSIGN_OR_RETURN(const bool row, st.Step());
    if (!row) return Fail(ErrorCode::kNotFound, fmt::format("no account with id {}", account));
    upto = st.Int(0);
    left = st.Int(1);
  }
  if (left == 0) return left;
  std::vector<MessageId> batch;
  {
    auto st = db_->Use(Sql::kSelectPurgeBatch);
    st.Bind(1, account).Bind(2, upto).Bind(3, std::int64_t{std::max(limit, 0)});
    for (;;) {
      MW_ASSIGN_OR_RETURN(const bool row, st.Step());
      if (!row) break;
      batch.push_back(st.Int(0));
    }
  }
  for (const MessageId id : batch) {
    // Recipients and any released mark go with it (ON DELETE CASCADE).
    auto st = db_->Use(Sql::kDeleteMessage);
    st.Bind(1, id);
    MW_RETURN_IF_ERROR(st.Run());
  }
  std::int64_t done = static_cast<std::int64_t>(batch.size());
  if (static_cast<std::int64_t>(batch.size()) < limit && done < left) {
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

Result<std::int64_t> SqliteStore::DeleteFinished(TimePoint cutoff, int limit) {
  // One statement. kNoSync: old history only; a deletion a power cut undoes is done again by
  // the next call.
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kNoSync));
  auto st = db_->Use(Sql::kDeleteFinished);
  st.Bind(1, Millis(cutoff)).Bind(2, std::int64_t{std::max(limit, 0)});
  MW_RETURN_IF_ERROR(st.Run());
  const std::int64_t deleted = st.Changes();  // the messages only, not the cascade
  MW_RETURN_IF_ERROR(tx.Commit());
  return deleted;
}

Result<std::int64_t> SqliteStore::ExpireHeld(TimePoint cutoff, int limit, TimePoint now) {
  constexpr std::string_view kExpiredReply = "expired: held for longer than policy.hold";
  std::int64_t expired = 0;
  if (limit <= 0) return expired;
  const std::int64_t cutoff_ms = Millis(cutoff);
  const std::int64_t now_ms = Millis(now);
  const int day = LocalDayOf(now);

  // One write transaction for the batch: a message is expired, its recipients failed and the
  // counters moved together, or none of it.
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kWrite));
  std::vector<AccountId> accounts;
  {
    auto st = db_->Use(Sql::kSelectHoldingAccounts);
    st.Bind(1, std::int64_t{0});
    for (;;) {
      MW_ASSIGN_OR_RETURN(const bool row, st.Step());
      if (!row) break;
      accounts.push_back(st.Int(0));
    }
  }
  Tally tally(*db_);
  for (const AccountId account : accounts) {
    if (expired >= limit) break;
    // The account's oldest unfinished messages, in id order. Ids follow the order of commit,
    // which is the order of receipt (received_at is taken just before): the first one
    // received at or after the cutoff ends the walk, so no younger held mail is read.
    std::vector<MessageId> due;
    {
      auto st = db_->Use(Sql::kSelectOldestUnfinished);
      st.Bind(1, account);
      while (expired + static_cast<std::int64_t>(due.size()) < limit) {
        MW_ASSIGN_OR_RETURN(const bool row, st.Step());
        if (!row || st.Int(2) >= cutoff_ms) break;
        if (st.Int(1) != schema::kMessageQueued) continue;  // in flight: delivery decides
        const MessageId id = st.Int(0);
        auto released = db_->Use(Sql::kIsReleased);
        released.Bind(1, account).Bind(2, id);
        MW_ASSIGN_OR_RETURN(const bool found, released.Step());
        if (found && released.Int(0) != 0) continue;  // released: going out, not held
        due.push_back(id);
      }
    }
    for (const MessageId id : due) {
      {
        auto st = db_->Use(Sql::kExpireRecipients);
        st.Bind(1, id).Bind(2, kExpiredReply).Bind(3, now_ms);
        MW_RETURN_IF_ERROR(st.Run());
      }
      {
        auto st = db_->Use(Sql::kFinishMessage);
        st.Bind(1, id).Bind(2, now_ms);
        MW_RETURN_IF_ERROR(st.Run());
      }
      MW_RETURN_IF_ERROR(tally.EndMessage(account, id));
      tally.Count(account, day, {.errors = 1, .expired = 1});
      ++expired;
    }
  }
  MW_RETURN_IF_ERROR(tally.Flush());
  MW_RETURN_IF_ERROR(tx.Commit());
  return expired;
}

Result<std::vector<StoredMessage>> SqliteStore::ListPending(AccountId account, int limit,
                                                            MessageId before_id) {
  std::vector<StoredMessage> messages;
  if (limit <= 0) return messages;
  // A read transaction: the page and its messages' recipients from one snapshot.
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kRead));
  std::vector<MessageId> ids;
  {
    auto st = db_->Use(Sql::kSelectPendingPage);
    st.Bind(1, account)
        .Bind(2, before_id > 0 ? before_id : std::numeric_limits<std::int64_t>::max())
        .Bind(3, std::int64_t{limit});
    for (;;) {
      MW_ASSIGN_OR_RETURN(const bool row, st.Step());
      if (!row) break;
      ids.push_back(st.Int(0));
    }
  }
  for (const MessageId id : ids) {
    MW_ASSIGN_OR_RETURN(auto message, ReadMessage(*db_, id));
    if (message) messages.push_back(std::move(*message));
  }
  MW_RETURN_IF_ERROR(tx.Commit());
  return messages;
}

Result<std::int64_t> SqliteStore::ReleaseHeld(AccountId account, const MessageSelector& selector,
                                              TimePoint /*now*/) {
  // One write transaction: the marks and released_pending change together, so the scheduler
  // never looks for released mail that is not counted, nor misses counted mail.
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kWrite));
  MW_ASSIGN_OR_RETURN(const AccountState state, ReadAccountState(*db_, account));
  if (state == AccountState::kActive) return std::int64_t{0};
  MW_ASSIGN_OR_RETURN(const auto ids, SelectHeld(*db_, account, selector));
  Tally tally(*db_);
  std::int64_t released = 0;
  for (const MessageId id : ids) {
    auto st = db_->Use(Sql::kInsertReleased);
    st.Bind(1, account).Bind(2, id);
    MW_RETURN_IF_ERROR(st.Run());
    released += st.Changes();
  }
  tally.Of(account).released += released;
  MW_RETURN_IF_ERROR(tally.Flush());
  MW_RETURN_IF_ERROR(tx.Commit());
  return released;
}

Result<std::int64_t> SqliteStore::DeleteHeld(AccountId account, const MessageSelector& selector,
                                             TimePoint now) {
  // One write transaction, as PurgeBatch.
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kWrite));
  MW_ASSIGN_OR_RETURN(const AccountState state, ReadAccountState(*db_, account));
  if (state == AccountState::kActive) return std::int64_t{0};
  MW_ASSIGN_OR_RETURN(const auto ids, SelectHeld(*db_, account, selector));
  Tally tally(*db_);
  const int day = LocalDayOf(now);
  for (const MessageId id : ids) {
    MW_RETURN_IF_ERROR(tally.EndMessage(account, id));
    auto st = db_->Use(Sql::kDeleteMessage);
    st.Bind(1, id);
    MW_RETURN_IF_ERROR(st.Run());
    tally.Count(account, day, {.purged = 1});
  }
  MW_RETURN_IF_ERROR(tally.Flush());
  MW_RETURN_IF_ERROR(tx.Commit());
  return static_cast<std::int64_t>(ids.size());
}

Result<void> SqliteStore::AddToken(AccountId account, std::string_view token_hash, TimePoint now) {
  if (token_hash.empty()) return Fail(ErrorCode::kInvalidInput, "token hash is empty");
  // One statement, one transaction. The foreign key refuses an unknown account; say so.
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kWrite));
  MW_RETURN_IF_ERROR(ReadAccountState(*db_, account));
  auto st = db_->Use(Sql::kInsertToken);
  st.Bind(1, token_hash).Bind(2, account).Bind(3, Millis(now));
  MW_RETURN_IF_ERROR(st.Run());
  MW_RETURN_IF_ERROR(tx.Commit());
  return {};
}

Result<std::optional<Account>> SqliteStore::FindAccountByToken(std::string_view token_hash) {
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kRead));
  AccountId id = 0;
  {
    auto st = db_->Use(Sql::kSelectAccountIdByToken);
    st.Bind(1, token_hash);
    MW_ASSIGN_OR_RETURN(const bool row, st.Step());
    if (!row) return std::optional<Account>();
    id = st.Int(0);
  }
  MW_ASSIGN_OR_RETURN(auto account, ReadOneAccount(*db_, Sql::kSelectAccountById, id));
  MW_RETURN_IF_ERROR(tx.Commit());
  return account;
}

Result<void> SqliteStore::SetSmtpPassword(AccountId account, std::string_view password_hash) {
  // One statement, so one transaction.
  auto st = db_->Use(Sql::kSetSmtpPassword);
  st.Bind(1, account).Bind(2, password_hash);
  MW_RETURN_IF_ERROR(st.Run());
  if (st.Changes() == 0) {
    return Fail(ErrorCode::kNotFound, fmt::format("no account with id {}", account));
  }
  return {};
}

Result<std::optional<std::string>> SqliteStore::GetSmtpPasswordHash(std::string_view account_name) {
  auto st = db_->Use(Sql::kSelectSmtpPassword);
  st.Bind(1, account_name);
  MW_ASSIGN_OR_RETURN(const bool row, st.Step());
  if (!row || !st.OptionalInt(0).has_value()) return std::optional<std::string>();
  return std::optional<std::string>(st.Text(0));
}

Result<AccountCounters> SqliteStore::GetCounters(AccountId account, int today) {
  // A read transaction: the totals and today's row from one snapshot.
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kRead));
  AccountCounters c;
  {
    auto st = db_->Use(Sql::kSelectCounters);
    st.Bind(1, account);
    MW_ASSIGN_OR_RETURN(const bool row, st.Step());
    if (!row) return Fail(ErrorCode::kNotFound, fmt::format("no account with id {}", account));
    const bool active = st.Text(0) == AccountStateName(AccountState::kActive);
    const std::int64_t pending = st.Int(1);
    const std::int64_t released = st.Int(2);
    // Released mail of an account unblocked since is just queued: it is part of pending.
    c.queued = active ? pending : std::min(released, pending);
    c.held = pending - c.queued;
    c.submitted = st.Int(3);
    c.sent = st.Int(4);
    c.errors = st.Int(5);
    c.expired = st.Int(6);
    c.purged = st.Int(7);
  }
  {
    auto st = db_->Use(Sql::kSelectDay);
    st.Bind(1, account).Bind(2, std::int64_t{today});
    MW_ASSIGN_OR_RETURN(const bool row, st.Step());
    if (row) {
      c.sent_today = st.Int(0);
      c.errors_today = st.Int(1);
    }
  }
  MW_RETURN_IF_ERROR(tx.Commit());
  return c;
}

Result<std::vector<DailyVolume>> SqliteStore::GetVolumes(AccountId account, int first_day,
                                                         int last_day) {
  std::vector<DailyVolume> days;
  auto st = db_->Use(Sql::kSelectVolumes);
  st.Bind(1, account).Bind(2, std::int64_t{first_day}).Bind(3, std::int64_t{last_day});
  for (;;) {
    MW_ASSIGN_OR_RETURN(const bool row, st.Step());
    if (!row) break;
    days.push_back({.day = static_cast<int>(st.Int(0)),
                    .submitted = st.Int(1),
                    .sent = st.Int(2),
                    .errors = st.Int(3),
                    .expired = st.Int(4),
                    .purged = st.Int(5)});
  }
  return days;
}

Result<std::vector<DeliveryError>> SqliteStore::ListErrors(AccountId account, TimePoint since,
                                                           int limit,
                                                           std::optional<ErrorCursor> after) {
  std::vector<DeliveryError> errors;
  if (limit <= 0) return errors;
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  auto st = db_->Use(Sql::kSelectErrors);
  st.Bind(1, account)
      .Bind(2, Millis(since))
      .Bind(3, after ? Millis(after->at) : kMax)
      .Bind(4, after ? after->message : kMax)
      .Bind(5, after ? std::int64_t{after->index} : kMax)
      .Bind(6, std::int64_t{limit});
  for (;;) {
    MW_ASSIGN_OR_RETURN(const bool row, st.Step());
    if (!row) break;
    errors.push_back({.at = FromUnixMillis(st.Int(0)),
                      .message = st.Int(1),
                      .index = static_cast<int>(st.Int(2)),
                      .recipient = st.Text(3),
                      .reply = st.Text(4),
                      .subject = st.Text(5)});
  }
  return errors;
}

Result<std::vector<AccountId>> SqliteStore::AccountsToReport(int day) {
  std::vector<AccountId> accounts;
  auto st = db_->Use(Sql::kSelectAccountsToReport);
  st.Bind(1, std::int64_t{day});
  for (;;) {
    MW_ASSIGN_OR_RETURN(const bool row, st.Step());
    if (!row) break;
    accounts.push_back(st.Int(0));
  }
  return accounts;
}

Result<std::optional<MessageId>> SqliteStore::ClaimReport(AccountId account, int day,
                                                          const NewMessage& report, TimePoint now) {
  if (report.recipients.empty())
    return Fail(ErrorCode::kInvalidInput, "the report has no recipient");
  // One write transaction: the claim row and the report's message commit together. BEGIN
  // IMMEDIATE serialises claimers, on this node or another sharing the file: the second one
  // finds the row (ON CONFLICT DO NOTHING changes nothing) and stores nothing.
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kWrite));
  MW_RETURN_IF_ERROR(ReadAccountState(*db_, account));
  {
    auto st = db_->Use(Sql::kInsertReport);
    st.Bind(1, account).Bind(2, std::int64_t{day}).Bind(3, Millis(now));
    MW_RETURN_IF_ERROR(st.Run());
    if (st.Changes() == 0) return std::optional<MessageId>();
  }
  Tally tally(*db_);
  tally.Of(report.account).pending += 1;
  tally.Count(report.account, LocalDayOf(report.received_at), {.submitted = 1});
  MW_RETURN_IF_ERROR(tally.Flush());
  MW_ASSIGN_OR_RETURN(const MessageId id, InsertMessageRows(*db_, report, lease_node_hint_));
  {
    auto st = db_->Use(Sql::kSetReportMessage);
    st.Bind(1, account).Bind(2, std::int64_t{day}).Bind(3, id);
    MW_RETURN_IF_ERROR(st.Run());
  }
  MW_RETURN_IF_ERROR(tx.Commit());
  return std::optional<MessageId>(id);
}

Result<StoreTotals> SqliteStore::GetTotals() {
  // One statement reads one snapshot.
  auto st = db_->Use(Sql::kSelectTotals);
  MW_ASSIGN_OR_RETURN(const bool row, st.Step());
  StoreTotals totals;
  if (row) {
    const std::int64_t held_pending = st.Int(1);
    const std::int64_t released = st.Int(2);
    totals.queued = st.Int(0) + released;
    totals.held = held_pending - released;
    totals.submitted = st.Int(3);
    totals.sent = st.Int(4);
    totals.errors = st.Int(5);
    totals.expired = st.Int(6);
    totals.purged = st.Int(7);
  }
  return totals;
}

Result<MailSources> SqliteStore::GetSources(AccountId account, int hours, TimePoint now, int top) {
  MailSources sources;
  if (hours <= 0 || top <= 0) return sources;
  const std::int64_t last = UnixHour(now);
  const std::int64_t first_excluded = last - std::min(hours, kSourceHoursKept);
  // A read transaction: the four lists from one snapshot.
  MW_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_, Kind::kRead));
  const std::pair<int, std::vector<SourceCount>*> kinds[] = {
      {schema::kSourceScript, &sources.scripts},
      {schema::kSourceSender, &sources.senders},
      {schema::kSourceDomain, &sources.domains},
      {schema::kSourceSubject, &sources.subjects}};
  for (const auto& [kind, list] : kinds) {
    auto st = db_->Use(Sql::kSelectSources);
    st.Bind(1, account)
        .Bind(2, std::int64_t{kind})
        .Bind(3, first_excluded)
        .Bind(4, last)
        .Bind(5, std::int64_t{top});
    for (;;) {
      MW_ASSIGN_OR_RETURN(const bool row, st.Step());
      if (!row) break;
      list->push_back({st.Text(0), st.Int(1)});
    }
  }
  MW_RETURN_IF_ERROR(tx.Commit());
  return sources;
}

Result<std::string> SqliteStore::GetMessageHeaders(AccountId account, MessageId id) {
  std::string head;
  {
    // One statement: one snapshot. Only the first kMaxHeaderSectionBytes of the body are
    // copied out, whatever its size.
    auto st = db_->Use(Sql::kSelectMessageHead);
    st.Bind(1, id).Bind(2, account).Bind(3, static_cast<std::int64_t>(kMaxHeaderSectionBytes));
    MW_ASSIGN_OR_RETURN(const bool row, st.Step());
    if (!row) {
      return Fail(ErrorCode::kNotFound,
                  fmt::format("There is no unfinished message {} of this account.", id));
    }
    head = st.Text(0);
  }
  CutToHeaderSection(head);
  return head;
}

}  // namespace mailwarden
