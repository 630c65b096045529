// The SQL of the later migrations (store/schema.h's kMigrations names them), each the text
// both engines run, or one text per engine. Kept apart from the table and index names and
// the list of migrations so that each file has one job.
#pragma once

#include <string_view>

namespace mailwarden::schema {

// Migration 5, the same text for both engines.
inline constexpr std::string_view kPurgeAtOnce = R"sql(
-- A purge is done at once: the held mail under the watermark counts as purged and leaves
-- pending when the purge starts, and its rows are deleted afterwards in the background.
-- purge_left now counts those rows still on disk. A purge in progress from before is
-- finished the same way.
UPDATE accounts SET purged = purged + purge_left, pending = pending - purge_left,
  released_pending = 0 WHERE state = 'purging' AND purge_left > 0;
DELETE FROM released WHERE account_id IN (SELECT id FROM accounts WHERE state = 'purging');
)sql";

// Migration 7, the same text for both engines.
inline constexpr std::string_view kPurgeEpoch = R"sql(
-- Purge epochs: a message keeps its account's purge watermark as it was when the message was
-- stored, and messages_due leads by it, so the scheduler's seeks stay within the mail stored
-- since the account's last purge. Unfinished messages after the watermark belong to its
-- epoch; those under it are purged (rows still to delete) and stay in epoch 0.
ALTER TABLE messages ADD COLUMN purge_epoch BIGINT NOT NULL DEFAULT 0;
UPDATE messages SET purge_epoch =
    (SELECT a.purge_upto FROM accounts a WHERE a.id = messages.account_id)
  WHERE status < 2
    AND id > (SELECT a.purge_upto FROM accounts a WHERE a.id = messages.account_id);
DROP INDEX messages_due;
CREATE INDEX messages_due ON messages (account_id, purge_epoch, next_attempt_ms, status, id)
  WHERE status < 2;
)sql";

// Migration 11, the same text for both engines (SQLite takes BIGINT as INTEGER).
inline constexpr std::string_view kPendingBytes = R"sql(
-- accounts.pending_bytes: the bytes of the account's unfinished mail, kept beside pending as
-- messages are stored and end, so that the per-account storage quota
-- (store.max_held_bytes_per_account) reads one row, never the messages.
ALTER TABLE accounts ADD COLUMN pending_bytes BIGINT NOT NULL DEFAULT 0
  CHECK (pending_bytes >= 0);
UPDATE accounts SET pending_bytes = (SELECT COALESCE(SUM(m.size), 0) FROM messages m
    WHERE m.account_id = accounts.id AND m.status < 2 AND m.id > accounts.purge_upto)
  WHERE pending > 0;
)sql";

// Migration 10, the same text for both engines.
inline constexpr std::string_view kTokenExpiry = R"sql(
-- Customer tokens may expire (expires_ms; 0: never), and are listed and revoked by account.
ALTER TABLE tokens ADD COLUMN expires_ms BIGINT NOT NULL DEFAULT 0;
CREATE INDEX tokens_by_account ON tokens (account_id, created_ms);
)sql";

// Migration 15 (bounces), the same text for both engines.
inline constexpr std::string_view kBounces = R"sql(
-- recipients.category: what kind of failure a failed recipient is (core/failure_category.h,
-- by name); '' for a recipient not failed, and for failures stored before categories (the
-- readers classify those from their reply).
ALTER TABLE recipients ADD COLUMN category TEXT NOT NULL DEFAULT '';
-- recipients.note: what a bounce that came later said of a recipient without failing it (an
-- RFC 3464 "delayed"), for the operator.
ALTER TABLE recipients ADD COLUMN note TEXT NOT NULL DEFAULT '';
)sql";

// Migration 13, the same text for both engines.
inline constexpr std::string_view kAccountDeletion = R"sql(
-- A deleted account (DeleteAccount) keeps its row, under a name no account can take, until
-- store.keep_finished has passed (deleted_ms: when; 0: not deleted): its counters, errors and
-- audit stay for the provider's records, and a new account of its name inherits nothing.
-- Rows are found by id, never by this column, except by the sweep that removes them.
ALTER TABLE accounts ADD COLUMN deleted_ms BIGINT NOT NULL DEFAULT 0;
)sql";

// Migration 14, the same text for both engines.
inline constexpr std::string_view kAccountOverview = R"sql(
-- The operator's overview of accounts (ListAccountPage) reads a page in one of these orders,
-- never every account: today's busiest senders, today's most failures, the most unfinished
-- mail. Each holds only the rows above zero.
CREATE INDEX daily_sent_by_day ON daily_counters (day, sent, account_id) WHERE sent > 0;
CREATE INDEX daily_errors_by_count ON daily_counters (day, errors, account_id) WHERE errors > 0;
CREATE INDEX accounts_by_pending ON accounts (pending, id) WHERE pending > 0 AND deleted_ms = 0;
)sql";

// Migration 16 (content scanning), the same text for both engines.
inline constexpr std::string_view kContentScanning = R"sql(
-- Content scanning: a message stored while scanning is on waits for its verdict
-- (scan_state 1) and is then let go (0) or quarantined (2); the verdict's action, score
-- (thousandths of a point) and main symbols stay with it. Those waiting and those
-- quarantined are found through small partial indexes, never by reading the queue: the
-- scanner's by id, the account's quarantine by account, and expiry by age.
ALTER TABLE messages ADD COLUMN scan_state INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN scan_action TEXT;
ALTER TABLE messages ADD COLUMN scan_score_milli BIGINT;
ALTER TABLE messages ADD COLUMN scan_symbols TEXT;
CREATE INDEX messages_unscanned ON messages (id) WHERE scan_state = 1 AND status = 0;
CREATE INDEX messages_quarantined ON messages (account_id, id)
  WHERE scan_state = 2 AND status = 0;
CREATE INDEX messages_quarantine_age ON messages (received_ms)
  WHERE scan_state = 2 AND status = 0;
ALTER TABLE daily_counters ADD COLUMN scanned BIGINT NOT NULL DEFAULT 0;
ALTER TABLE daily_counters ADD COLUMN quarantined BIGINT NOT NULL DEFAULT 0;
ALTER TABLE daily_counters ADD COLUMN suspicious BIGINT NOT NULL DEFAULT 0;
-- The daily report names the day's quarantined mail: its accounts are found by day.
CREATE INDEX daily_quarantined_by_day ON daily_counters (day) WHERE quarantined > 0;
)sql";

// Migration 17, sender identity (docs/sender-identity.md): the accounts' domains, DKIM keys
// and mail held for its sender; the engines differ in the last table's foreign key only.
inline constexpr std::string_view kSenderIdentitySqlite = R"sql(
-- The domains an account sends as: one account each (the primary key), found by the name
-- looked up (a message's From domain and its parents, one lookup each) and listed by account.
-- A small table keyed by what is looked up, without foreign keys, as account_uids.
CREATE TABLE account_domains (
  domain     TEXT   NOT NULL PRIMARY KEY,
  account_id BIGINT NOT NULL,
  added_ms   BIGINT NOT NULL
);
CREATE INDEX account_domains_by_account ON account_domains (account_id, domain);
-- DKIM keys by domain and selector, in the store so that every node of a fleet signs with
-- them and only the daemon's user (who alone reads the store) holds them. private_key is
-- PEM (PKCS #8); public_key the record's p= value. A key signs while retired_ms is 0; a
-- retired key stays listed, its record to be kept published a while (dkim rotate).
CREATE TABLE dkim_keys (
  domain      TEXT   NOT NULL,
  selector    TEXT   NOT NULL,
  algorithm   TEXT   NOT NULL,
  private_key TEXT   NOT NULL,
  public_key  TEXT   NOT NULL,
  created_ms  BIGINT NOT NULL,
  retired_ms  BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (domain, selector)
);
-- A message held because its sender domain is not its account's (policy.sender_check =
-- "hold"), whatever the account's state: its next_attempt_ms is kHeldNeverDueMs until a
-- release. A row leaves when its message is released, expires or is deleted.
CREATE TABLE held_messages (
  account_id INTEGER NOT NULL,
  message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  reason     TEXT    NOT NULL,
  PRIMARY KEY (account_id, message_id)
) WITHOUT ROWID;
-- What the From check did, per account and local day (YYYYMMDD): messages held and
-- submissions refused for a sender not the account's; for the panel and the daily report.
CREATE TABLE sender_checks (
  account_id BIGINT NOT NULL,
  day        INTEGER NOT NULL,
  held       BIGINT NOT NULL DEFAULT 0,
  refused    BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (account_id, day)
);
)sql";
inline constexpr std::string_view kSenderIdentityPostgres = R"sql(
-- The domains an account sends as: one account each (the primary key), found by the name
-- looked up (a message's From domain and its parents, one lookup each) and listed by account.
-- A small table keyed by what is looked up, without foreign keys, as account_uids.
CREATE TABLE account_domains (
  domain     TEXT   NOT NULL PRIMARY KEY,
  account_id BIGINT NOT NULL,
  added_ms   BIGINT NOT NULL
);
CREATE INDEX account_domains_by_account ON account_domains (account_id, domain);
-- DKIM keys by domain and selector, in the store so that every node of a fleet signs with
-- them and only the daemon's user (who alone reads the store) holds them. private_key is
-- PEM (PKCS #8); public_key the record's p= value. A key signs while retired_ms is 0; a
-- retired key stays listed, its record to be kept published a while (dkim rotate).
CREATE TABLE dkim_keys (
  domain      TEXT   NOT NULL,
  selector    TEXT   NOT NULL,
  algorithm   TEXT   NOT NULL,
  private_key TEXT   NOT NULL,
  public_key  TEXT   NOT NULL,
  created_ms  BIGINT NOT NULL,
  retired_ms  BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (domain, selector)
);
-- A message held because its sender domain is not its account's (policy.sender_check =
-- "hold"), whatever the account's state: its next_attempt_ms is kHeldNeverDueMs until a
-- release. A row leaves when its message is released, expires or is deleted.
CREATE TABLE held_messages (
  account_id BIGINT NOT NULL,
  message_id BIGINT NOT NULL,
  reason     TEXT   NOT NULL,
  PRIMARY KEY (account_id, message_id),
  FOREIGN KEY (account_id, message_id) REFERENCES messages (account_id, id) ON DELETE CASCADE
);
-- What the From check did, per account and local day (YYYYMMDD): messages held and
-- submissions refused for a sender not the account's; for the panel and the daily report.
CREATE TABLE sender_checks (
  account_id BIGINT NOT NULL,
  day        INTEGER NOT NULL,
  held       BIGINT NOT NULL DEFAULT 0,
  refused    BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (account_id, day)
);
)sql";

// Migration 18: plans, limits and the event outbox: the text after the engines' own id columns.
// - account_limits: an account's plan and its own limit overrides ("key=value ...", as
//   core/send_limits.h writes them), one row per account that has any.
// - events: the outbox (docs/webhooks.md), written in the transaction of what caused each
//   event, deleted once sent; (account_id, id) orders each account's events, and only the
//   oldest of an account is ever leased (lease_node until lease_until_ms), so events go out in
//   order per account, each by one node at a time.
// - event_attempts: the latest attempts for GET /api/v1/webhooks/deliveries, pruned to
//   kEventAttemptsKept rows as they are written.
// - notices: the claim that makes a notice of (account, day, kind) go out once on any node.
// Plans (DESIGN.md, "Plans and limits"): each a name and its policy keys as
// FormatLimitOverrides writes them ("max_per_day=200 over_limit=refuse"). The file's [[plan]]
// sections are written here at start and on SIGHUP; the API changes them for every node.
inline constexpr std::string_view kPlans = R"sql(
CREATE TABLE plans (
  name   TEXT PRIMARY KEY,
  limits TEXT NOT NULL
);
)sql";
inline constexpr std::string_view kOutboxSqlite = R"sql(
CREATE TABLE account_limits (
  account_id INTEGER PRIMARY KEY,
  plan       TEXT NOT NULL,
  limits     TEXT NOT NULL
);
CREATE TABLE events (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id      INTEGER NOT NULL,
  account_name    TEXT    NOT NULL,
  type            TEXT    NOT NULL,
  at_ms           INTEGER NOT NULL,
  data            TEXT    NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL DEFAULT 0,
  lease_node      TEXT    NOT NULL DEFAULT '',
  lease_until_ms  INTEGER NOT NULL DEFAULT 0,
  sent_to         TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX events_by_account ON events (account_id, id);
CREATE TABLE event_attempts (
  id           INTEGER PRIMARY KEY,
  at_ms        INTEGER NOT NULL,
  event_id     INTEGER NOT NULL,
  account_name TEXT    NOT NULL,
  type         TEXT    NOT NULL,
  url          TEXT    NOT NULL,
  node         TEXT    NOT NULL,
  status       INTEGER NOT NULL,
  reply        TEXT    NOT NULL
);
CREATE TABLE notices (
  account_id INTEGER NOT NULL,
  day        INTEGER NOT NULL,
  kind       TEXT    NOT NULL,
  PRIMARY KEY (account_id, day, kind)
) WITHOUT ROWID;
)sql";
inline constexpr std::string_view kOutboxPostgres = R"sql(
CREATE TABLE account_limits (
  account_id BIGINT PRIMARY KEY,
  plan       TEXT NOT NULL,
  limits     TEXT NOT NULL
);
CREATE TABLE events (
  account_id      BIGINT NOT NULL,
  id              BIGINT GENERATED BY DEFAULT AS IDENTITY,
  account_name    TEXT   NOT NULL,
  type            TEXT   NOT NULL,
  at_ms           BIGINT NOT NULL,
  data            TEXT   NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms BIGINT NOT NULL DEFAULT 0,
  lease_node      TEXT   NOT NULL DEFAULT '',
  lease_until_ms  BIGINT NOT NULL DEFAULT 0,
  sent_to         TEXT   NOT NULL DEFAULT '',
  PRIMARY KEY (account_id, id)
);
CREATE TABLE event_attempts (
  id           BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  at_ms        BIGINT  NOT NULL,
  event_id     BIGINT  NOT NULL,
  account_name TEXT    NOT NULL,
  type         TEXT    NOT NULL,
  url          TEXT    NOT NULL,
  node         TEXT    NOT NULL,
  status       INTEGER NOT NULL,
  reply        TEXT    NOT NULL
);
CREATE TABLE notices (
  account_id BIGINT  NOT NULL,
  day        INTEGER NOT NULL,
  kind       TEXT    NOT NULL,
  PRIMARY KEY (account_id, day, kind)
);
)sql";

// Suppression and complaints, the same text for both engines.
inline constexpr std::string_view kSuppressionAndComplaints = R"sql(
-- suppressions: a recipient an account's mail is not sent to until until_ms (core/
-- suppression.h), keyed as SuppressionAddress keys it; every delivery looks its recipients up
-- by this key. Rows that ran out are deleted by DeleteFinished, through suppressions_until.
CREATE TABLE suppressions (
  account_id BIGINT NOT NULL,
  address    TEXT   NOT NULL,
  category   TEXT   NOT NULL,
  status     TEXT   NOT NULL,
  reply      TEXT   NOT NULL,
  message_id BIGINT NOT NULL,
  at_ms      BIGINT NOT NULL,
  until_ms   BIGINT NOT NULL,
  PRIMARY KEY (account_id, address)
);
CREATE INDEX suppressions_until ON suppressions (until_ms);
-- daily_counters.complaints: feedback-loop reports (RFC 5965) about the account's mail that
-- day, counted by RecordComplaint.
ALTER TABLE daily_counters ADD COLUMN complaints BIGINT NOT NULL DEFAULT 0;
)sql";

// Migration 21, the complaint guard: accounts.blocked_by may be 'complaint_guard', and
// complaint_tolerance_until_ms is when the guard's doubled tolerance after an UNBLOCK of its
// block ends (as bounce_tolerance_until_ms is the bounce guard's). messages.message_id is the
// Message-ID header's id (NULL for mail stored before), which finds the message of a
// complaint whose original lost its return path: one index entry per message stored.
//
// SQLite cannot alter a CHECK constraint: the accounts table is made anew with the same
// columns, the rows copied, the old table dropped and the new one renamed, then its indexes
// and trigger made again (SQLite's "making other kinds of table schema changes"). The store
// runs every migration with foreign keys off (the tables that reference accounts keep their
// references by name, which the rename satisfies again) and checks them all before it commits.
inline constexpr std::string_view kComplaintGuardSqlite = R"sql(
CREATE TABLE accounts_new (
  id                           INTEGER PRIMARY KEY,
  name                         TEXT    NOT NULL UNIQUE,
  state                        TEXT    NOT NULL DEFAULT 'active'
                                       CHECK (state IN ('active', 'blocked', 'purging')),
  blocked_by                   TEXT    NOT NULL DEFAULT ''
                                       CHECK (blocked_by IN ('', 'customer', 'admin', 'spam_guard',
                                                             'bounce_guard', 'complaint_guard')),
  reason                       TEXT    NOT NULL DEFAULT '',
  since_ms                     INTEGER NOT NULL,
  report_to                    TEXT    NOT NULL DEFAULT '',
  language                     TEXT    NOT NULL DEFAULT 'en',
  max_per_day                  INTEGER,
  max_per_hour                 INTEGER,
  pending                      INTEGER NOT NULL DEFAULT 0 CHECK (pending >= 0),
  purge_upto                   INTEGER NOT NULL DEFAULT 0,
  created_ms                   INTEGER NOT NULL,
  bounce_tolerance_until_ms    INTEGER NOT NULL DEFAULT 0,
  purge_left                   INTEGER NOT NULL DEFAULT 0 CHECK (purge_left >= 0),
  released_pending             INTEGER NOT NULL DEFAULT 0 CHECK (released_pending >= 0),
  smtp_password_hash           TEXT,
  submitted                    INTEGER NOT NULL DEFAULT 0,
  sent                         INTEGER NOT NULL DEFAULT 0,
  errors                       INTEGER NOT NULL DEFAULT 0,
  expired                      INTEGER NOT NULL DEFAULT 0,
  purged                       INTEGER NOT NULL DEFAULT 0,
  pending_bytes                BIGINT  NOT NULL DEFAULT 0 CHECK (pending_bytes >= 0),
  deleted_ms                   BIGINT  NOT NULL DEFAULT 0,
  complaint_tolerance_until_ms INTEGER NOT NULL DEFAULT 0
);
INSERT INTO accounts_new (id, name, state, blocked_by, reason, since_ms, report_to, language,
    max_per_day, max_per_hour, pending, purge_upto, created_ms, bounce_tolerance_until_ms,
    purge_left, released_pending, smtp_password_hash, submitted, sent, errors, expired, purged,
    pending_bytes, deleted_ms)
  SELECT id, name, state, blocked_by, reason, since_ms, report_to, language, max_per_day,
    max_per_hour, pending, purge_upto, created_ms, bounce_tolerance_until_ms, purge_left,
    released_pending, smtp_password_hash, submitted, sent, errors, expired, purged,
    pending_bytes, deleted_ms
  FROM accounts;
DROP TABLE accounts;
ALTER TABLE accounts_new RENAME TO accounts;
CREATE INDEX accounts_sending ON accounts (id, state, pending)
  WHERE state = 'active' AND pending > 0;
CREATE INDEX accounts_holding ON accounts (id, state, pending, released_pending)
  WHERE state <> 'active' AND pending > 0;
CREATE INDEX accounts_by_state ON accounts (state, id) WHERE state <> 'active';
CREATE INDEX accounts_by_pending ON accounts (pending, id) WHERE pending > 0 AND deleted_ms = 0;
CREATE TRIGGER purge_raises_message_id_floor AFTER UPDATE OF purge_upto ON accounts
BEGIN
  UPDATE message_id_floor SET id = MAX(id, NEW.purge_upto);
END;
ALTER TABLE messages ADD COLUMN message_id TEXT;
CREATE INDEX messages_by_message_id ON messages (message_id) WHERE message_id IS NOT NULL;
)sql";
inline constexpr std::string_view kComplaintGuardPostgres = R"sql(
ALTER TABLE accounts DROP CONSTRAINT accounts_blocked_by_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_blocked_by_check
  CHECK (blocked_by IN ('', 'customer', 'admin', 'spam_guard', 'bounce_guard', 'complaint_guard'));
ALTER TABLE accounts ADD COLUMN complaint_tolerance_until_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN message_id TEXT;
CREATE INDEX messages_by_message_id ON messages (message_id) WHERE message_id IS NOT NULL;
)sql";

// Migration 22, the fleet summary (the operator's overview); PostgreSQL's text adds the
// accounts' index by name that SQLite has (UNIQUE): the overview's pages by name read it.
inline constexpr std::string_view kFleetSqlite = R"sql(
-- The fleet's nodes: each daemon writes its row at start and every half minute, so that the
-- overview shows which nodes run and when each was last seen.
CREATE TABLE nodes (
  name       TEXT   PRIMARY KEY,
  version    TEXT   NOT NULL,
  started_ms BIGINT NOT NULL,
  seen_ms    BIGINT NOT NULL
);
-- The guard blocks of the last day: a range of the blocks in the audit by time (the audit's
-- other records, such as one per account an import made, are not in it).
CREATE INDEX audit_blocks_by_time ON audit (at_ms)
  WHERE to_state = 'blocked' AND from_state = 'active';
)sql";
inline constexpr std::string_view kFleetPostgres = R"sql(
-- The fleet's nodes: each daemon writes its row at start and every half minute, so that the
-- overview shows which nodes run and when each was last seen.
CREATE TABLE nodes (
  name       TEXT   PRIMARY KEY,
  version    TEXT   NOT NULL,
  started_ms BIGINT NOT NULL,
  seen_ms    BIGINT NOT NULL
);
-- The guard blocks of the last day: a range of the blocks in the audit by time (the audit's
-- other records, such as one per account an import made, are not in it).
CREATE INDEX audit_blocks_by_time ON audit (at_ms)
  WHERE to_state = 'blocked' AND from_state = 'active';
-- The overview's pages by name (account_names keeps the names unique; it is no index of
-- accounts' rows).
CREATE INDEX accounts_by_name ON accounts (name);
)sql";

// Migration 23, message tracking ("where is my mail?"), SQLite's text. message_events: what
// happened to each message, in order (store_types.h's MessageEventKind names the kinds), written in
// the transaction that made it happen; recipient is the recipient's index (-1: the whole message).
// message_terms: the words a message is searched by (recipients, envelope sender, From
// address, Message-ID, subject; lower case, at most kMaxSearchTermBytes), written with it;
// message_terms_search answers a term newest first. Both go with their message (ON DELETE
// CASCADE: a purge, DeleteHeld, DeleteFinished). messages.outcome: how a finished message ended
// (schema.h's kOutcome*), so that a search by it reads messages_by_outcome;
// messages_finished_by_account lists an account's finished messages newest first (its
// unfinished ones are messages_unfinished's). Both are partial on status = 2: no statement
// that reads unfinished mail can take them for its own.
inline constexpr std::string_view kMessageTrackingSqlite = R"sql(
CREATE TABLE message_events (
  id         INTEGER PRIMARY KEY,
  message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  account_id INTEGER NOT NULL,
  at_ms      INTEGER NOT NULL,
  kind       TEXT    NOT NULL,
  recipient  INTEGER NOT NULL DEFAULT -1,
  detail     TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX message_events_by_message ON message_events (message_id, id);
CREATE TABLE message_terms (
  message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  term       TEXT    NOT NULL,
  account_id INTEGER NOT NULL,
  PRIMARY KEY (message_id, term)
) WITHOUT ROWID;
CREATE INDEX message_terms_search ON message_terms (account_id, term, message_id);
ALTER TABLE messages ADD COLUMN outcome INTEGER NOT NULL DEFAULT 0;
UPDATE messages SET outcome = CASE
    WHEN EXISTS (SELECT 1 FROM recipients r WHERE r.message_id = messages.id AND r.status = 2
                 AND r.category = 'expired') THEN 3
    WHEN EXISTS (SELECT 1 FROM recipients r WHERE r.message_id = messages.id AND r.status = 2)
      THEN 2
    ELSE 1 END
  WHERE status = 2;
CREATE INDEX messages_finished_by_account ON messages (account_id, id) WHERE status = 2;
CREATE INDEX messages_by_outcome ON messages (account_id, outcome, id) WHERE status = 2;
)sql";

// Message tracking, PostgreSQL's text: as SQLite's, keyed by account. Terms compare byte by
// byte (COLLATE "C"), as SQLite's do.
inline constexpr std::string_view kMessageTrackingPostgres = R"sql(
CREATE TABLE message_events (
  account_id BIGINT  NOT NULL,
  message_id BIGINT  NOT NULL,
  id         BIGINT  GENERATED BY DEFAULT AS IDENTITY,
  at_ms      BIGINT  NOT NULL,
  kind       TEXT    NOT NULL,
  recipient  INTEGER NOT NULL DEFAULT -1,
  detail     TEXT    NOT NULL DEFAULT '',
  PRIMARY KEY (account_id, message_id, id),
  FOREIGN KEY (account_id, message_id) REFERENCES messages (account_id, id) ON DELETE CASCADE
);
CREATE TABLE message_terms (
  account_id BIGINT NOT NULL,
  message_id BIGINT NOT NULL,
  term       TEXT   COLLATE "C" NOT NULL,
  PRIMARY KEY (account_id, message_id, term),
  FOREIGN KEY (account_id, message_id) REFERENCES messages (account_id, id) ON DELETE CASCADE
);
CREATE INDEX message_terms_search ON message_terms (account_id, term, message_id);
ALTER TABLE messages ADD COLUMN outcome SMALLINT NOT NULL DEFAULT 0;
UPDATE messages SET outcome = CASE
    WHEN EXISTS (SELECT 1 FROM recipients r WHERE r.account_id = messages.account_id
                 AND r.message_id = messages.id AND r.status = 2 AND r.category = 'expired')
      THEN 3
    WHEN EXISTS (SELECT 1 FROM recipients r WHERE r.account_id = messages.account_id
                 AND r.message_id = messages.id AND r.status = 2) THEN 2
    ELSE 1 END
  WHERE status = 2;
CREATE INDEX messages_finished_by_account ON messages (account_id, id) WHERE status = 2;
CREATE INDEX messages_by_outcome ON messages (account_id, outcome, id) WHERE status = 2;
)sql";

// Migration 24, the overview sorted by any of its columns: today's complaints, quarantined
// mail and error rate each read an index of their own, from the most; the rate as the overview
// orders it (ErrorRatePpm, NULLIF for a row no recipient was tried on).
inline constexpr std::string_view kOverviewSorts = R"sql(
CREATE INDEX daily_complaints_by_count ON daily_counters (day, complaints, account_id)
  WHERE complaints > 0;
CREATE INDEX daily_quarantined_by_count ON daily_counters (day, quarantined, account_id)
  WHERE quarantined > 0;
CREATE INDEX daily_errors_by_rate
  ON daily_counters (day, (errors * 1000000 / NULLIF(sent + errors, 0)), account_id)
  WHERE errors > 0;
)sql";

// Migration 25: a part of an account's name (the overview's search) found through a trigram
// index on PostgreSQL, where no b-tree serves LIKE '%...%'. pg_trgm ships with PostgreSQL and
// is a trusted extension (13 and later: the database's owner may create it); where it cannot
// be created the search reads every name, as SQLite's does (a b-tree walk of 100,000 names
// there takes about 20 ms).
inline constexpr std::string_view kNameSearchSqlite = R"sql(
SELECT 1;
)sql";
inline constexpr std::string_view kNameSearchPostgres = R"sql(
DO $$
BEGIN
  CREATE EXTENSION IF NOT EXISTS pg_trgm;
  CREATE INDEX accounts_name_trigrams ON accounts USING gin (name gin_trgm_ops);
EXCEPTION WHEN insufficient_privilege OR undefined_file OR feature_not_supported THEN
  RAISE NOTICE 'pg_trgm cannot be created here: a search by part of a name reads every name';
END $$;
)sql";

// Migration 26: the scheduler's search for accounts with due mail (kSelectDueAccounts,
// kSelectNextDue) reads each sending account's purge epoch; accounts_sending now holds it, so
// that the search reads no accounts row (with 1,000 of 100,000 accounts sending, a claim read
// 1,000 rows spread over the table). And the accounts with a quota of their own, few, have an
// index of their own (kSelectAccountsWithQuotaBelow read every account's row).
inline constexpr std::string_view kSchedulerIndexes = R"sql(
DROP INDEX accounts_sending;
CREATE INDEX accounts_sending ON accounts (id, state, pending, purge_upto)
  WHERE state = 'active' AND pending > 0;
CREATE INDEX accounts_with_quota ON accounts (id) WHERE max_per_hour > 0 OR max_per_day > 0;
)sql";

// Migration 27: a message's complaints count once (RecordComplaint): the mark of the first. A
// constant default, so that neither engine rewrites the table.
inline constexpr std::string_view kComplainedOnce = R"sql(
ALTER TABLE messages ADD COLUMN complained INTEGER NOT NULL DEFAULT 0;
)sql";

// Migration 28: the accounts deleted long enough ago to be removed (kSelectDeletedAccounts,
// every 10 minutes) are found in an index of the deleted ones, not by reading every account.
inline constexpr std::string_view kDeletedAccounts = R"sql(
CREATE INDEX accounts_deleted ON accounts (deleted_ms, id) WHERE deleted_ms > 0;
)sql";

}  // namespace mailwarden::schema
