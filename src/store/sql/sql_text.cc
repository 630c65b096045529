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
    "kSelectAccountsOfMessages",
    "kLockAccounts",
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
    "kNotify",
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
};
static_assert(kNames.back() == "kSelectEventAttempts", "kNames follows enum Sql");

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

}  // namespace

std::string_view SqlName(Sql sql) { return kNames[static_cast<std::size_t>(sql)]; }

std::string_view SharedSqlText(Sql sql) {
  switch (sql) {
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
    case Sql::kSelectAccountState:
      // The name too, for mail leased on arrival (InsertMessages).
      return "SELECT state, name, pending, pending_bytes, deleted_ms FROM {accounts} WHERE id = ?1";
    case Sql::kSelectAccountName:
      return "SELECT name FROM {accounts} WHERE id = ?1";
    case Sql::kSetAccountStateFull:
      // The compare (state and blocker as decided on) and the set are one statement: two
      // nodes acting on one account at once cannot both win.
      return "UPDATE {accounts} SET state = ?2, blocked_by = ?3, reason = ?4, since_ms = ?5, "
             "bounce_tolerance_until_ms = ?7 WHERE id = ?1 AND state = ?6 AND blocked_by = ?8";
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
             " WHERE head IS NOT NULL ORDER BY head LIMIT ?1";
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
      return "SELECT sent, errors FROM {daily_counters} WHERE account_id = ?1 AND day = ?2";
    case Sql::kSelectVolumes:
      return "SELECT day, submitted, sent, errors, expired, purged FROM {daily_counters} "
             "WHERE account_id = ?1 AND day >= ?2 AND day <= ?3 ORDER BY day";
    case Sql::kSelectAccountsToReport:
      // "errors > 0" repeats daily_errors_by_day's WHERE.
      return "SELECT d.account_id FROM {daily_counters} d WHERE d.day = ?1 AND d.errors > 0 "
             "AND NOT EXISTS (SELECT 1 FROM {reports} r WHERE r.account_id = d.account_id "
             "AND r.day = ?1) AND NOT EXISTS (SELECT 1 FROM {accounts} a "
             "WHERE a.id = d.account_id AND a.deleted_ms > 0) ORDER BY d.account_id";
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
    default:
      return "";
  }
}

std::string EngineSql(Sql sql, std::string_view own_text, Placeholders placeholders) {
  std::string text(own_text.empty() ? SharedSqlText(sql) : own_text);
  if (text.empty()) return text;
  for (const auto& [name, fragment] :
       {std::pair<std::string_view, std::string_view>{"{active_head}", kActiveHead},
        {"{released_head}", kReleasedHead}}) {
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
      fmt::arg("account_limits", schema::kAccountLimitsTable),
      fmt::arg("events", schema::kEventsTable),
      fmt::arg("event_attempts", schema::kEventAttemptsTable),
      fmt::arg("notices", schema::kNoticesTable),
      fmt::arg("account_columns",
               "id, name, state, blocked_by, reason, since_ms, report_to, language, "
               "max_per_day, max_per_hour, pending, bounce_tolerance_until_ms, purge_upto, "
               "purge_left, pending_bytes"),
      // The purge watermark of the account bound to ?1: an account's unfinished messages are
      // read after it (a range of messages_unfinished), never the purged ones.
      fmt::arg("upto_of_1",
               fmt::format("(SELECT purge_upto FROM {} WHERE id = ?1)", schema::kAccountsTable)),
      fmt::arg("queued", schema::kMessageQueued),
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
