// The store's schema in one place: every table and index name, the codes stored in status
// columns, the schema version, and the migrations that build it.
//
// Queries name tables through the constants below (SqliteStore formats them in once, when it
// prepares its statements). Migrations are history: they spell the names as they were when
// they were written, and a rename is a new migration, never an edit of an old one.
//
// Shape (designed for 100,000 accounts and floods of 1,000,000 messages, and keyed by account
// so that PostgreSQL can distribute every table by account_id, e.g. with Citus):
// - Held is a property of the account, not of each message: block and unblock rewrite one
//   accounts row. The scheduler first walks the small partial index accounts_sending (active
//   accounts with unfinished mail) and only then reads, per account, the head of that
//   account's slice of messages_due. A blocked account's messages are never read.
// - messages_due serves claiming and "when is the next message due" at once. While a message
//   is being delivered its next_attempt_ms holds the end of its lease: an expired lease makes
//   it due again through the same index, with no second index and no sweeper.
// - accounts.pending counts unfinished messages so that nothing counts rows (and pending_bytes
//   their sizes, migration 11, for the storage quota per account); purge_upto is the
//   purge watermark: the account's unfinished messages with id <= purge_upto are purged, at
//   once, whether or not their rows are deleted yet (migration 5). Every query that reads an
//   account's unfinished mail bounds it by id > purge_upto, a range of messages_unfinished;
//   purge_left counts the purged rows still on disk, which a background job deletes. Each
//   message keeps the account's purge_upto of the moment it was stored (purge_epoch,
//   migration 7), and messages_due leads by it: the scheduler reads only the slice of the
//   current epoch, so purged rows still on disk are never read, however many they are.
// - Mail released from a blocked account (migration 2) is a second, small queue: a row in
//   `released` per released unfinished message, and accounts.released_pending counting them.
//   The scheduler reaches it through accounts_holding (blocked or purging accounts with
//   unfinished mail) filtered on released_pending > 0, then reads only that account's
//   `released` rows: the rest of the held mail is never read.
// - Counters (sent, errors, expired, purged, submitted) are kept as events happen: totals on
//   the accounts row, and per account per local day (YYYYMMDD) in daily_counters.
// - Daily error reports (migration 3): `reports` keyed (account_id, day) is the claim that
//   makes a day's report go out once; daily_errors_by_day finds the days' accounts to report.
// - Where the mail comes from (migration 4): `sources` counts, per account, unix hour, kind
//   (script, envelope sender, recipient domain, subject) and value, the messages submitted;
//   written with the messages (the same transaction), read by a range of its primary key, and
//   pruned by hour through sources_by_hour: a message is never read to tell its source.
// - PostgreSQL (migration 6): every table that grows with the mail is keyed by account, so it
//   can be distributed by the account (docs/multi-node.md); lookups by name, uid and token
//   hash are small tables keyed by what is looked up (account_names, account_uids, tokens),
//   without foreign keys, as reference tables must be.
#pragma once

#include <array>
#include <string_view>

#include "store/schema_texts.h"

namespace mailwarden::schema {

// Tables.
inline constexpr std::string_view kSchemaVersionTable = "schema_version";
inline constexpr std::string_view kAccountsTable = "accounts";
inline constexpr std::string_view kAccountUidsTable = "account_uids";
inline constexpr std::string_view kAccountNamesTable = "account_names";
inline constexpr std::string_view kMessagesTable = "messages";
inline constexpr std::string_view kRecipientsTable = "recipients";
inline constexpr std::string_view kReleasedTable = "released";
inline constexpr std::string_view kAuditTable = "audit";
inline constexpr std::string_view kTokensTable = "tokens";
inline constexpr std::string_view kDailyCountersTable = "daily_counters";
inline constexpr std::string_view kReportsTable = "reports";
inline constexpr std::string_view kSourcesTable = "sources";
inline constexpr std::string_view kAccountDomainsTable = "account_domains";
inline constexpr std::string_view kDkimKeysTable = "dkim_keys";
inline constexpr std::string_view kHeldMessagesTable = "held_messages";
inline constexpr std::string_view kSenderChecksTable = "sender_checks";

// next_attempt_ms of a message held for its sender (held_messages): never due, whatever the
// account's state, until it is released (then due at once). In 2191, as kNeverDueMs: a
// TimePoint (nanoseconds in 64 bits) holds it, which it would not for a date past 2262.
inline constexpr long long kHeldNeverDueMs = 7'000'000'000'000;
inline constexpr std::string_view kAccountLimitsTable = "account_limits";
inline constexpr std::string_view kSuppressionsTable = "suppressions";
inline constexpr std::string_view kEventsTable = "events";
inline constexpr std::string_view kEventAttemptsTable = "event_attempts";
inline constexpr std::string_view kNoticesTable = "notices";
inline constexpr std::string_view kPlansTable = "plans";
inline constexpr std::string_view kNodesTable = "nodes";
inline constexpr std::string_view kMessageEventsTable = "message_events";
inline constexpr std::string_view kMessageTermsTable = "message_terms";
inline constexpr std::string_view kMessageTermsSearchIndex = "message_terms_search";
inline constexpr std::string_view kMessagesFinishedByAccountIndex = "messages_finished_by_account";
inline constexpr std::string_view kMessagesByOutcomeIndex = "messages_by_outcome";

// messages.outcome: how a finished message ended (0 while it is unfinished). Stored in every
// row: never renumber; messages_by_outcome is partial on status = 2 and the queries spell these.
inline constexpr int kOutcomeNone = 0;
inline constexpr int kOutcomeDelivered = 1;  // every recipient sent
inline constexpr int kOutcomeFailed = 2;     // a recipient failed (at hand-over or bounced)
inline constexpr int kOutcomeExpired = 3;    // held (or quarantined) too long

// Indexes whose use EXPLAIN QUERY PLAN checks are worth knowing by name.
inline constexpr std::string_view kAccountsSendingIndex = "accounts_sending";
inline constexpr std::string_view kMessagesDueIndex = "messages_due";
inline constexpr std::string_view kMessagesLeasedIndex = "messages_leased";
inline constexpr std::string_view kAccountsHoldingIndex = "accounts_holding";
inline constexpr std::string_view kAccountsByStateIndex = "accounts_by_state";
inline constexpr std::string_view kAccountsWithQuotaIndex = "accounts_with_quota";
inline constexpr std::string_view kMessagesUnfinishedIndex = "messages_unfinished";
inline constexpr std::string_view kAccountsDeletedIndex = "accounts_deleted";
inline constexpr std::string_view kRecipientsFailedIndex = "recipients_failed";
inline constexpr std::string_view kAuditByAccountIndex = "audit_by_account";
inline constexpr std::string_view kDailyErrorsByDayIndex = "daily_errors_by_day";
inline constexpr std::string_view kSourcesByHourIndex = "sources_by_hour";
inline constexpr std::string_view kMessagesUnscannedIndex = "messages_unscanned";
inline constexpr std::string_view kMessagesQuarantinedIndex = "messages_quarantined";
inline constexpr std::string_view kMessagesQuarantineAgeIndex = "messages_quarantine_age";

// messages.status. Stored in every row: never renumber. The partial indexes spell these
// numbers in their WHERE clauses, and a query uses a partial index only if it repeats that
// term literally ("status < 2", not "status < ?").
inline constexpr int kMessageQueued = 0;      // waiting for its next attempt (or held)
inline constexpr int kMessageDelivering = 1;  // leased to a node until next_attempt_ms
inline constexpr int kMessageDone = 2;        // every recipient sent or failed

// messages.scan_state (content scanning). Stored in every row: never renumber. A message
// waiting for its verdict or quarantined is queued with next_attempt_ms = kNeverDueMs, so
// that it is never due and the scheduler never reads it; a verdict that lets it go (or a
// release) makes it due at once. The state stays in a finished row as its history.
inline constexpr int kScanNone = 0;         // scanning was off, or the verdict let it go
inline constexpr int kScanWaiting = 1;      // stored while scanning is on: no verdict yet
inline constexpr int kScanQuarantined = 2;  // Rspamd said reject: sent only if released
inline constexpr long long kNeverDueMs = 7'000'000'000'000;  // in 2191: after any attempt

// recipients.status, the same order as RecipientStatus. Never renumber.
inline constexpr int kRecipientPending = 0;
inline constexpr int kRecipientSent = 1;
inline constexpr int kRecipientFailed = 2;

// sources.kind. Stored in every row: never renumber.
inline constexpr int kSourceScript = 0;   // X-PHP-Originating-Script
inline constexpr int kSourceSender = 1;   // envelope sender
inline constexpr int kSourceDomain = 2;   // a recipient's domain
inline constexpr int kSourceSubject = 3;  // the decoded subject
// The value of the row that counts, per account, kind and hour, the messages whose values got
// no row of their own (StoreOptions::max_sources_per_hour). Longer than any value counted (they
// are cut to store.h's kMaxSourceValueBytes), so no message can name it; it says what it is to
// whoever reads the table.
inline constexpr std::string_view kSourceOtherValue =
    "(mailwarden: the messages of the values of this account, kind and hour that came after "
    "store.max_sources_per_hour others, counted together here; a counted value is at most 255 "
    "bytes long and this one is longer, so that no value a message carries can be taken for "
    "it)";

// Accounts' state and blocked_by are stored as their names from core/types.h ("active",
// "spam_guard", "" for none): few rows, read by people, matched by the API as they are.

// Created before any migration runs, so that the version can be read; portable as written.
// One row per applied migration; the schema's version is the highest.
inline constexpr std::string_view kCreateSchemaVersionTable =
    "CREATE TABLE IF NOT EXISTS schema_version ("
    "version INTEGER PRIMARY KEY, applied_ms BIGINT NOT NULL)";

// One step of the schema. Each engine applies every step above its current version, in
// order, in one transaction.
struct Migration {
  int version;
  std::string_view sqlite;
  std::string_view postgres;
};

inline constexpr std::array kMigrations = {
    Migration{
        .version = 1,
        .sqlite = R"sql(
CREATE TABLE accounts (
  id           INTEGER PRIMARY KEY,
  name         TEXT    NOT NULL UNIQUE,
  state        TEXT    NOT NULL DEFAULT 'active'
                       CHECK (state IN ('active', 'blocked', 'purging')),
  blocked_by   TEXT    NOT NULL DEFAULT ''
                       CHECK (blocked_by IN ('', 'customer', 'admin', 'spam_guard', 'bounce_guard')),
  reason       TEXT    NOT NULL DEFAULT '',
  since_ms     INTEGER NOT NULL,
  report_to    TEXT    NOT NULL DEFAULT '',
  language     TEXT    NOT NULL DEFAULT 'en',
  max_per_day  INTEGER,
  max_per_hour INTEGER,
  pending      INTEGER NOT NULL DEFAULT 0 CHECK (pending >= 0),
  purge_upto   INTEGER NOT NULL DEFAULT 0,
  created_ms   INTEGER NOT NULL
);
-- The scheduler's list of accounts to visit: active ones with unfinished mail. Small (a row
-- per such account), and a block or unblock moves one entry in or out of it. state and
-- pending are in the key only so that reading it needs no table row: any change of them
-- rewrites the entry anyway, since the WHERE names them.
CREATE INDEX accounts_sending ON accounts (id, state, pending)
  WHERE state = 'active' AND pending > 0;

CREATE TABLE account_uids (
  uid        INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts (id)
);
CREATE INDEX account_uids_by_account ON account_uids (account_id, uid);

-- body is the last column: SQLite reads a row's columns in order, and a large body spills
-- into overflow pages, so every column before it is read without walking the body's pages.
-- The body is dropped (set NULL) when the message is done; the row stays for lists and
-- reports.
CREATE TABLE messages (
  id              INTEGER PRIMARY KEY,
  account_id      INTEGER NOT NULL REFERENCES accounts (id),
  status          INTEGER NOT NULL DEFAULT 0 CHECK (status IN (0, 1, 2)),
  attempts        INTEGER NOT NULL DEFAULT 0,
  received_ms     INTEGER NOT NULL,
  next_attempt_ms INTEGER NOT NULL,
  lease_node      TEXT,
  done_ms         INTEGER,
  uid             INTEGER NOT NULL,
  size            INTEGER NOT NULL,
  sender          TEXT    NOT NULL,
  subject         TEXT    NOT NULL,
  script          TEXT    NOT NULL,
  body            BLOB
);
-- Per account, its unfinished messages by due time, then status, then id (the rowid): the
-- order claims follow, oldest first. Finished messages leave the index, so it stays the size
-- of the queue, not of the history. A delivering message's next_attempt_ms is its lease's
-- end. status is in the key for covering reads only (see accounts_sending).
CREATE INDEX messages_due ON messages (account_id, next_attempt_ms, status) WHERE status < 2;
-- In-flight messages by lease holder, for ReleaseLeases at start: as small as the number of
-- deliveries in progress.
CREATE INDEX messages_leased ON messages (lease_node) WHERE status = 1;

-- account_id repeats the message's account: the distribution key on PostgreSQL, and the
-- account's failures can be listed without reading messages.
CREATE TABLE recipients (
  message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  idx        INTEGER NOT NULL,
  account_id INTEGER NOT NULL,
  address    TEXT    NOT NULL,
  status     INTEGER NOT NULL DEFAULT 0 CHECK (status IN (0, 1, 2)),
  reply      TEXT    NOT NULL DEFAULT '',
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (message_id, idx)
) WITHOUT ROWID;
)sql",
        .postgres = R"sql(
-- As the SQLite text, keyed by account for distribution (e.g. Citus, by account_id): every
-- per-account table has account_id first in its primary key, and references between them
-- carry it. Lookups by message id alone go through messages_by_id.
CREATE TABLE accounts (
  id           BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  name         TEXT   NOT NULL UNIQUE,
  state        TEXT   NOT NULL DEFAULT 'active'
                      CHECK (state IN ('active', 'blocked', 'purging')),
  blocked_by   TEXT   NOT NULL DEFAULT ''
                      CHECK (blocked_by IN ('', 'customer', 'admin', 'spam_guard', 'bounce_guard')),
  reason       TEXT   NOT NULL DEFAULT '',
  since_ms     BIGINT NOT NULL,
  report_to    TEXT   NOT NULL DEFAULT '',
  language     TEXT   NOT NULL DEFAULT 'en',
  max_per_day  BIGINT,
  max_per_hour BIGINT,
  pending      BIGINT NOT NULL DEFAULT 0 CHECK (pending >= 0),
  purge_upto   BIGINT NOT NULL DEFAULT 0,
  created_ms   BIGINT NOT NULL
);
CREATE INDEX accounts_sending ON accounts (id, state, pending)
  WHERE state = 'active' AND pending > 0;

CREATE TABLE account_uids (
  uid        BIGINT PRIMARY KEY,
  account_id BIGINT NOT NULL REFERENCES accounts (id)
);
CREATE INDEX account_uids_by_account ON account_uids (account_id, uid);

CREATE TABLE messages (
  account_id      BIGINT   NOT NULL REFERENCES accounts (id),
  id              BIGINT   GENERATED BY DEFAULT AS IDENTITY,
  status          SMALLINT NOT NULL DEFAULT 0 CHECK (status IN (0, 1, 2)),
  attempts        INTEGER  NOT NULL DEFAULT 0,
  received_ms     BIGINT   NOT NULL,
  next_attempt_ms BIGINT   NOT NULL,
  lease_node      TEXT,
  done_ms         BIGINT,
  uid             BIGINT   NOT NULL,
  size            BIGINT   NOT NULL,
  sender          TEXT     NOT NULL,
  subject         TEXT     NOT NULL,
  script          TEXT     NOT NULL,
  body            BYTEA,
  PRIMARY KEY (account_id, id)
);
CREATE INDEX messages_by_id ON messages (id);
CREATE INDEX messages_due ON messages (account_id, next_attempt_ms, status, id) WHERE status < 2;
CREATE INDEX messages_leased ON messages (lease_node) WHERE status = 1;

CREATE TABLE recipients (
  account_id BIGINT   NOT NULL,
  message_id BIGINT   NOT NULL,
  idx        INTEGER  NOT NULL,
  address    TEXT     NOT NULL,
  status     SMALLINT NOT NULL DEFAULT 0 CHECK (status IN (0, 1, 2)),
  reply      TEXT     NOT NULL DEFAULT '',
  updated_ms BIGINT   NOT NULL,
  PRIMARY KEY (account_id, message_id, idx),
  FOREIGN KEY (account_id, message_id) REFERENCES messages (account_id, id) ON DELETE CASCADE
);
)sql",
    },
    Migration{
        .version = 2,
        .sqlite = R"sql(
-- Account control: failure tolerance, the purge's progress, released mail, SMTP AUTH, and
-- counters kept as events happen (never by counting rows).
ALTER TABLE accounts ADD COLUMN bounce_tolerance_until_ms INTEGER NOT NULL DEFAULT 0;
-- Unfinished messages with id <= purge_upto not yet purged: exact when the purge starts (every
-- unfinished message then has an id <= the watermark), decremented as each of them ends.
-- (Since migration 5: the purged rows not yet deleted from disk.)
ALTER TABLE accounts ADD COLUMN purge_left INTEGER NOT NULL DEFAULT 0 CHECK (purge_left >= 0);
ALTER TABLE accounts ADD COLUMN released_pending INTEGER NOT NULL DEFAULT 0
  CHECK (released_pending >= 0);
ALTER TABLE accounts ADD COLUMN smtp_password_hash TEXT;
ALTER TABLE accounts ADD COLUMN submitted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN sent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN errors INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN expired INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN purged INTEGER NOT NULL DEFAULT 0;

-- Blocked or purging accounts with unfinished mail: what expiry visits, and (with
-- released_pending > 0) where the scheduler finds released mail. As small as the number of
-- such accounts; the other columns make reading it need no table row.
CREATE INDEX accounts_holding ON accounts (id, state, pending, released_pending)
  WHERE state <> 'active' AND pending > 0;
-- AccountsInState of a held state, e.g. the purges to resume at start. Partial: an index on
-- every account's state would tempt the planner away from accounts_sending for the
-- scheduler's state = 'active' (it did, in EXPLAIN QUERY PLAN), and the active accounts are
-- listed by a walk of the table anyway.
CREATE INDEX accounts_by_state ON accounts (state, id) WHERE state <> 'active';

-- Per account, its unfinished messages in id (arrival) order: purge up to the watermark,
-- expiry of the oldest, the held-mail list and the watermark itself (its MAX). Finished
-- messages leave it, so a long history is never walked.
CREATE INDEX messages_unfinished ON messages (account_id, id) WHERE status < 2;

-- The account's failures, newest first (ListErrors). The primary key (message_id, idx)
-- follows in every entry, which makes the order total and the cursor exact.
CREATE INDEX recipients_by_status ON recipients (account_id, status, updated_ms);

-- Unfinished messages released from a blocked or purging account: delivered although the
-- account is held. A row leaves when its message finishes or is deleted.
CREATE TABLE released (
  account_id INTEGER NOT NULL,
  message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  PRIMARY KEY (account_id, message_id)
) WITHOUT ROWID;

-- Every transition: who, when, from, to, why. The account's name is read through account_id
-- (accounts are never renamed nor deleted).
CREATE TABLE audit (
  id         INTEGER PRIMARY KEY,
  at_ms      INTEGER NOT NULL,
  account_id INTEGER NOT NULL REFERENCES accounts (id),
  actor      TEXT    NOT NULL,
  action     TEXT    NOT NULL,
  from_state TEXT    NOT NULL,
  to_state   TEXT    NOT NULL,
  reason     TEXT    NOT NULL
);
CREATE INDEX audit_by_account ON audit (account_id, id);

-- Customer API tokens, by their SHA-256 (hex): a token is never stored in clear.
CREATE TABLE tokens (
  hash       TEXT    PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts (id),
  created_ms INTEGER NOT NULL
) WITHOUT ROWID;

-- Per account and local day (YYYYMMDD), what happened: kept as events happen.
CREATE TABLE daily_counters (
  account_id INTEGER NOT NULL REFERENCES accounts (id),
  day        INTEGER NOT NULL,
  submitted  INTEGER NOT NULL DEFAULT 0,
  sent       INTEGER NOT NULL DEFAULT 0,
  errors     INTEGER NOT NULL DEFAULT 0,
  expired    INTEGER NOT NULL DEFAULT 0,
  purged     INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (account_id, day)
) WITHOUT ROWID;
)sql",
        .postgres = R"sql(
ALTER TABLE accounts
  ADD COLUMN bounce_tolerance_until_ms BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN purge_left BIGINT NOT NULL DEFAULT 0 CHECK (purge_left >= 0),
  ADD COLUMN released_pending BIGINT NOT NULL DEFAULT 0 CHECK (released_pending >= 0),
  ADD COLUMN smtp_password_hash TEXT,
  ADD COLUMN submitted BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN sent BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN errors BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN expired BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN purged BIGINT NOT NULL DEFAULT 0;

CREATE INDEX accounts_holding ON accounts (id, state, pending, released_pending)
  WHERE state <> 'active' AND pending > 0;
CREATE INDEX accounts_by_state ON accounts (state, id) WHERE state <> 'active';

CREATE INDEX messages_unfinished ON messages (account_id, id) WHERE status < 2;

CREATE INDEX recipients_by_status ON recipients (account_id, status, updated_ms, message_id, idx);

CREATE TABLE released (
  account_id BIGINT NOT NULL,
  message_id BIGINT NOT NULL,
  PRIMARY KEY (account_id, message_id),
  FOREIGN KEY (account_id, message_id) REFERENCES messages (account_id, id) ON DELETE CASCADE
);

-- The primary key serves one account's records; audit_by_id the list over all accounts.
CREATE TABLE audit (
  account_id BIGINT NOT NULL REFERENCES accounts (id),
  id         BIGINT GENERATED BY DEFAULT AS IDENTITY,
  at_ms      BIGINT NOT NULL,
  actor      TEXT   NOT NULL,
  action     TEXT   NOT NULL,
  from_state TEXT   NOT NULL,
  to_state   TEXT   NOT NULL,
  reason     TEXT   NOT NULL,
  PRIMARY KEY (account_id, id)
);
CREATE INDEX audit_by_id ON audit (id);

CREATE TABLE tokens (
  hash       TEXT   PRIMARY KEY,
  account_id BIGINT NOT NULL REFERENCES accounts (id),
  created_ms BIGINT NOT NULL
);

CREATE TABLE daily_counters (
  account_id BIGINT  NOT NULL REFERENCES accounts (id),
  day        INTEGER NOT NULL,
  submitted  BIGINT  NOT NULL DEFAULT 0,
  sent       BIGINT  NOT NULL DEFAULT 0,
  errors     BIGINT  NOT NULL DEFAULT 0,
  expired    BIGINT  NOT NULL DEFAULT 0,
  purged     BIGINT  NOT NULL DEFAULT 0,
  PRIMARY KEY (account_id, day)
);
)sql",
    },
    Migration{
        .version = 3,
        .sqlite = R"sql(
-- Daily error reports: one row per account and local day whose report was claimed. The row
-- and the report's message are written in one transaction, so a report is queued exactly
-- once however often, and on however many nodes, the day is run.
CREATE TABLE reports (
  account_id INTEGER NOT NULL REFERENCES accounts (id),
  day        INTEGER NOT NULL,
  sent_ms    INTEGER NOT NULL,
  message_id INTEGER,
  PRIMARY KEY (account_id, day)
) WITHOUT ROWID;
-- The accounts with errors on a day (the reports to send): partial, so it holds only the
-- days that had errors, a small part of daily_counters.
CREATE INDEX daily_errors_by_day ON daily_counters (day, account_id) WHERE errors > 0;
)sql",
        .postgres = R"sql(
CREATE TABLE reports (
  account_id BIGINT  NOT NULL REFERENCES accounts (id),
  day        INTEGER NOT NULL,
  sent_ms    BIGINT  NOT NULL,
  message_id BIGINT,
  PRIMARY KEY (account_id, day)
);
CREATE INDEX daily_errors_by_day ON daily_counters (day, account_id) WHERE errors > 0;
)sql",
    },
    Migration{
        .version = 4,
        .sqlite = R"sql(
-- Where the mail comes from: per account, unix hour (received_ms / 3600000), kind (script,
-- sender, domain, subject: schema.h's kSource*) and value, how many messages. kind before hour
-- in the key: the top values of one kind over the last hours are one range of it.
CREATE TABLE sources (
  account_id INTEGER NOT NULL REFERENCES accounts (id),
  kind       INTEGER NOT NULL CHECK (kind IN (0, 1, 2, 3)),
  hour       INTEGER NOT NULL,
  value      TEXT    NOT NULL,
  count      INTEGER NOT NULL,
  PRIMARY KEY (account_id, kind, hour, value)
) WITHOUT ROWID;
-- Pruning old hours of every account: a range of this index. An increment of an existing row
-- changes only count, so it does not touch this index.
CREATE INDEX sources_by_hour ON sources (hour);
)sql",
        .postgres = R"sql(
-- value in the "C" collation: ordered by bytes, as SQLite orders it, whatever the database's
-- locale.
CREATE TABLE sources (
  account_id BIGINT  NOT NULL REFERENCES accounts (id),
  kind       INTEGER NOT NULL CHECK (kind IN (0, 1, 2, 3)),
  hour       BIGINT  NOT NULL,
  value      TEXT    COLLATE "C" NOT NULL,
  count      BIGINT  NOT NULL,
  PRIMARY KEY (account_id, kind, hour, value)
);
CREATE INDEX sources_by_hour ON sources (hour);
)sql",
    },
    Migration{
        .version = 5,
        .sqlite = kPurgeAtOnce,
        .postgres = kPurgeAtOnce,
    },
    Migration{
        .version = 6,
        .sqlite = R"sql(
-- PostgreSQL only: a distributable schema (see its text). SQLite keeps accounts.name UNIQUE.
)sql",
        .postgres = R"sql(
-- Distributable unchanged (e.g. Citus): accounts by id, lookups by anything else in small
-- tables keyed by what is looked up (reference tables under Citus), which can hold no foreign
-- key to a distributed table and no unique key without the distribution column. The name is
-- the account's key in account_names; accounts keeps its copy for reads. PgStore writes an
-- account and its lookups in one transaction.
CREATE TABLE account_names (
  name       TEXT   PRIMARY KEY,
  account_id BIGINT NOT NULL UNIQUE
);
INSERT INTO account_names (name, account_id) SELECT name, id FROM accounts;
ALTER TABLE accounts DROP CONSTRAINT accounts_name_key;
ALTER TABLE account_uids DROP CONSTRAINT account_uids_account_id_fkey;
ALTER TABLE tokens DROP CONSTRAINT tokens_account_id_fkey;
)sql",
    },
    Migration{
        .version = 7,
        .sqlite = kPurgeEpoch,
        .postgres = kPurgeEpoch,
    },
    Migration{
        .version = 8,
        .sqlite = R"sql(
-- Finished messages (every recipient sent or failed) are kept for store.keep_finished after
-- they finished, for the errors list and the daily reports, and then deleted in the
-- background, the longest finished first: this index finds them without reading the rest.
CREATE INDEX messages_finished ON messages (done_ms) WHERE status = 2;
-- Deleting a message looks for its released mark (ON DELETE CASCADE): by this index, not by
-- reading all of released (the primary key leads by account). PostgreSQL's key serves.
CREATE INDEX released_by_message ON released (message_id);
)sql",
        .postgres = R"sql(
-- Finished messages (every recipient sent or failed) are kept for store.keep_finished after
-- they finished, for the errors list and the daily reports, and then deleted in the
-- background, the longest finished first: this index finds them without reading the rest.
CREATE INDEX messages_finished ON messages (done_ms) WHERE status = 2;
)sql",
    },
    Migration{
        .version = 9,
        .sqlite = R"sql(
-- Only failures are ever looked up by a recipient's status (ListErrors, the daily report):
-- the index keeps those alone. A recipient stored and then sent, the common case, writes no
-- entry (it wrote three: one when stored, two to move it when sent). Its entries end with
-- the primary key (message_id, idx), so the order stays total.
DROP INDEX recipients_by_status;
CREATE INDEX recipients_failed ON recipients (account_id, updated_ms) WHERE status = 2;
)sql",
        .postgres = R"sql(
-- Only failures are ever looked up by a recipient's status (ListErrors, the daily report):
-- the index keeps those alone. A recipient stored and then sent, the common case, writes no
-- entry.
DROP INDEX recipients_by_status;
CREATE INDEX recipients_failed ON recipients (account_id, updated_ms, message_id, idx)
  WHERE status = 2;
)sql",
    },
    Migration{
        .version = 10,
        .sqlite = kTokenExpiry,
        .postgres = kTokenExpiry,
    },
    Migration{
        .version = 11,
        .sqlite = kPendingBytes,
        .postgres = kPendingBytes,
    },
    Migration{
        .version = 12,
        .sqlite = R"sql(
-- SQLite gives a new row the highest rowid + 1, so the ids of the newest rows come back once
-- those rows are deleted. A purge deletes rows of mail that may be in flight, whose late
-- outcome is then looked up by its id: any account's mail stored later must not have that id.
-- message_id_floor holds the highest purge watermark of all accounts, raised by every purge,
-- and new messages take ids above it.
CREATE TABLE message_id_floor (id INTEGER NOT NULL);
INSERT INTO message_id_floor SELECT COALESCE(MAX(purge_upto), 0) FROM accounts;
CREATE TRIGGER purge_raises_message_id_floor AFTER UPDATE OF purge_upto ON accounts
BEGIN
  UPDATE message_id_floor SET id = MAX(id, NEW.purge_upto);
END;
)sql",
        .postgres = R"sql(
-- Nothing: a PostgreSQL sequence never gives an id twice.
SELECT 1;
)sql",
    },
    Migration{
        .version = 13,
        .sqlite = kAccountDeletion,
        .postgres = kAccountDeletion,
    },
    Migration{
        .version = 14,
        .sqlite = kAccountOverview,
        .postgres = kAccountOverview,
    },
    Migration{
        .version = 15,
        .sqlite = kBounces,
        .postgres = kBounces,
    },
    Migration{
        .version = 16,
        .sqlite = kContentScanning,
        .postgres = kContentScanning,
    },
    Migration{
        .version = 17,
        .sqlite = kSenderIdentitySqlite,
        .postgres = kSenderIdentityPostgres,
    },
    Migration{
        .version = 18,
        .sqlite = kOutboxSqlite,
        .postgres = kOutboxPostgres,
    },
    Migration{
        .version = 19,
        .sqlite = kPlans,
        .postgres = kPlans,
    },
    Migration{
        .version = 20,
        .sqlite = kSuppressionAndComplaints,
        .postgres = kSuppressionAndComplaints,
    },
    Migration{
        .version = 21,
        .sqlite = kComplaintGuardSqlite,
        .postgres = kComplaintGuardPostgres,
    },
    Migration{
        .version = 22,
        .sqlite = kFleetSqlite,
        .postgres = kFleetPostgres,
    },
    Migration{
        .version = 23,
        .sqlite = kMessageTrackingSqlite,
        .postgres = kMessageTrackingPostgres,
    },
    Migration{
        .version = 24,
        .sqlite = kOverviewSorts,
        .postgres = kOverviewSorts,
    },
    Migration{
        .version = 25,
        .sqlite = kNameSearchSqlite,
        .postgres = kNameSearchPostgres,
    },
    Migration{
        .version = 26,
        .sqlite = kSchedulerIndexes,
        .postgres = kSchedulerIndexes,
    },
    Migration{
        .version = 27,
        .sqlite = kComplainedOnce,
        .postgres = kComplainedOnce,
    },
    Migration{
        .version = 28,
        .sqlite = kDeletedAccounts,
        .postgres = kDeletedAccounts,
    },
};

// The schema version this code reads and writes. A database at a higher version was written
// by a newer mailwarden and is refused rather than misread.
inline constexpr int kSchemaVersion = kMigrations.back().version;

constexpr bool MigrationsAreNumberedInOrder() {
  for (std::size_t i = 0; i < kMigrations.size(); ++i) {
    if (kMigrations[i].version != static_cast<int>(i) + 1) return false;
  }
  return true;
}
static_assert(MigrationsAreNumberedInOrder(), "migrations are numbered 1, 2, 3... in order");

}  // namespace mailwarden::schema
