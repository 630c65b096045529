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

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/account_spec.h"
#include "core/result.h"
#include "core/send_limits.h"
#include "core/types.h"

namespace mailwarden {

struct Account {
  AccountId id = 0;
  std::string name;
  std::vector<Uid> uids;
  AccountState state = AccountState::kActive;
  BlockedBy blocked_by = BlockedBy::kNone;
  std::string reason;
  TimePoint since{};  // when the state last changed
  std::string report_to;
  std::string language = "en";
  std::optional<std::int64_t> max_per_day;
  std::optional<std::int64_t> max_per_hour;
  std::int64_t pending = 0;  // messages not yet finished (queued, deferred or being delivered)
  TimePoint bounce_tolerance_until{};  // the bounce guard's tolerance is doubled before this
  MessageId purge_upto = 0;        // the last purge's watermark: its messages with id <= this went
  std::int64_t purge_left = 0;     // purged messages whose rows are not deleted yet (PurgeBatch)
  std::int64_t pending_bytes = 0;  // the bytes of the pending messages (their size)
};

// A message as accepted from a script, ready to store. body is the whole RFC 5322 message as
// it will be delivered (headers added, Bcc removed).
struct NewMessage {
  AccountId account = 0;
  std::string sender;                   // envelope sender; "" is the null sender <>
  std::vector<std::string> recipients;  // envelope recipients, at least one
  std::string body;
  std::string subject;  // decoded, for lists and reports
  std::string script;   // X-PHP-Originating-Script, if any
  Uid uid = 0;          // the submitting uid (SO_PEERCRED), 0 for SMTP
  TimePoint received_at{};
  // Content scanning is on: the message waits for its verdict (RecordVerdict) before it can
  // be delivered, and is never leased on arrival.
  bool scan = false;
  // Non-empty: the message is held for this reason whatever its account's state (the From
  // check's "sender not allowed"), never leased or claimed, until ReleaseHeld releases it;
  // DeleteHeld deletes it, a purge purges it, ExpireHeld expires it after policy.hold.
  std::string held_reason{};
};

// A recipient an account's mail is not sent to until `until` (policy.suppress_for): it failed
// as a bad mailbox or a bad domain (core/suppression.h), at hand-over or in a later bounce.
struct Suppression {
  std::string address{};   // as core/suppression.h's SuppressionAddress keys it
  std::string category{};  // the failure's: bad_mailbox or bad_domain
  std::string status{};    // its enhanced status code ("5.1.1"); "" if it gave none
  std::string reply{};     // the remote server's text, as the failure recorded it
  MessageId message = 0;   // the message that failed
  TimePoint at{};          // when it failed
  TimePoint until{};
};

struct ClaimedRecipient {
  int index = 0;  // position in the message's recipient list, stable across attempts
  std::string address;
  // The account's suppression of this address, when one holds at the claim: delivery fails
  // the recipient at once (category suppressed) and never hands it to the relay.
  std::optional<Suppression> suppressed{};
};

// A message handed to delivery. Only its pending recipients are listed.
struct ClaimedMessage {
  MessageId id = 0;
  AccountId account = 0;
  std::string account_name;
  std::string sender;
  std::vector<ClaimedRecipient> recipients;
  std::string body;
  std::string subject;
  std::string script;  // X-PHP-Originating-Script, if any (for the limits per script)
  int attempts = 0;    // attempts made before this one
  TimePoint received_at{};
};

struct ClaimRequest {
  TimePoint now{};
  int limit = 100;          // at most this many messages
  TimePoint lease_until{};  // claimed messages return to the queue after this if unfinished
  std::string node;         // who holds the lease
  // Accounts waiting for their quota window: none of their mail is claimed.
  std::vector<AccountId> skip{};
  // At most this many messages of each of these accounts (what their quota lets go now).
  std::vector<std::pair<AccountId, int>> most{};
  // At most this many bytes of bodies in all (what delivery may still hold in memory). The
  // first message that would go past it ends the claim (ClaimedBatch::budget_reached), so a
  // large message is never overtaken by smaller ones behind it; with first_regardless the
  // claim's first message is taken whatever its size (delivery holds nothing else).
  std::int64_t max_bytes = std::numeric_limits<std::int64_t>::max();
  bool first_regardless = true;
};

struct ClaimedBatch {
  std::vector<ClaimedMessage> messages;
  // A due message was left because it would have gone past ClaimRequest::max_bytes: more is
  // due, and it waits for delivery to free memory.
  bool budget_reached = false;
};

// Delivery's standing offer to take new mail as it is stored, saving the claim that would
// read it back (see InsertMessages). The scheduler makes it only when its last claim found no
// more due mail, so what is leased on arrival is the oldest due mail of its account.
struct ArrivalLease {
  // Who holds the leases. Empty: there is no offer, and nothing is leased.
  std::string node;
  // At most this many messages of the batch. An offer with no slot left (0) leases nothing
  // but still says whether leasable mail was left queued (InsertedBatch::lease_exhausted).
  int limit = 0;
  // Each leased message is leased until its received_at plus this.
  std::chrono::milliseconds lease_for{0};
  // At most this many bytes of bodies in all. The first message that would go past it, and
  // every one after it, is left queued, as when the limit runs out.
  std::int64_t max_bytes = std::numeric_limits<std::int64_t>::max();
  // Accounts waiting for their quota window, or allowed only a few more messages now: none
  // of their mail is leased on arrival (the claims apply their limits).
  std::vector<AccountId> skip{};
};

// What the store keeps at most (StoreOptions::storage). Past a bound new mail is refused with
// kNoRoom, a temporary failure, and nothing already stored is touched; 0 is no bound.
struct StorageLimits {
  // An account's unfinished mail (waiting, held or being delivered), in bytes of messages and
  // in messages: a message that would take the account past either is refused, so one hacked
  // site cannot fill the disk; other accounts are not affected.
  std::int64_t max_account_bytes = 0;
  std::int64_t max_account_messages = 0;
  // Room the store keeps free for everything but new mail (state changes, purges, outcomes):
  // a batch of new mail that would leave less is refused whole, as Postfix's queue_minfree.
  // Counted by engines that can see their disk: SQLite adds its file system's free space and
  // the database's free pages (a purge frees pages inside the file, not on the file system).
  std::int64_t min_free_bytes = 0;
};

// One message as InsertMessages stored it.
struct InsertedMessage {
  MessageId id = 0;
  // Leased to ArrivalLease::node on arrival, as ClaimDue leases (status delivering, its first
  // attempt counted): the caller delivers it now; no claim will return it while the lease
  // lasts.
  bool leased = false;
  std::string account_name;  // when leased
  // When leased: for each recipient, in order, the account's suppression of it if one holds
  // (ClaimedRecipient::suppressed).
  std::vector<std::optional<Suppression>> suppressed{};
  // Not stored (id 0): its account's unfinished mail is at a bound of StorageLimits (kNoRoom,
  // a temporary failure for this message alone; the batch's others are stored).
  std::optional<Error> refused;
};

struct InsertedBatch {
  std::vector<InsertedMessage> messages;  // in the order given
  // A message of an active account not in ArrivalLease::skip was left queued because the
  // limit ran out: due mail is waiting, so the offer no longer holds until a claim.
  bool lease_exhausted = false;
};

struct RecipientOutcome {
  int index = 0;
  RecipientStatus status = RecipientStatus::kPending;  // kPending = deferred, try again
  std::string reply;                                   // the SMTP reply, or a local reason
  // A failed recipient's FailureCategory, by name (core/failure_category.h); "" otherwise.
  std::string category{};
};

// What one delivery attempt of one message came to. Recipients not listed stay as they were.
// If any recipient stays kPending the message is queued again for next_attempt; otherwise it
// is finished.
struct DeliveryOutcome {
  MessageId id = 0;
  std::vector<RecipientOutcome> recipients;
  TimePoint next_attempt{};
  // A recipient failed now as a bad mailbox or domain is suppressed for the message's account
  // until the outcome's time plus this (the account's policy.suppress_for); 0: not.
  Duration suppress_for{0};
};

// A change of an account's state, made only if the account is still in the state the caller
// decided on, blocked by the same (compare and set: two nodes acting on one account at once
// cannot both win, and a block an administrator took over after a customer's decision was
// read is not lifted by it).
struct AccountStateChange {
  AccountId account = 0;
  AccountState from = AccountState::kActive;     // the state the decision was made on
  BlockedBy from_blocked_by = BlockedBy::kNone;  // and who had blocked it (kNone if active)
  AccountState to = AccountState::kActive;
  BlockedBy blocked_by = BlockedBy::kNone;  // kNone unless `to` is blocked or purging
  std::string reason;
  TimePoint at{};  // becomes the account's `since`
  // For the audit record: who asked ("customer", "admin", ... as ActorName spells them), what
  // ("BLOCK", ... as AccountActionName does) and why (Transition::audit_text).
  std::string actor{};
  std::string action{};
  std::string audit_text{};
  // Purges, in the same transaction and in O(1): the watermark becomes the account's newest
  // unfinished message now, and exactly the mail unfinished at this moment (in flight too;
  // its late outcome is ignored) is gone from then on: out of pending, counted as purged (on
  // the local day of `at`), never listed, released, expired or delivered, none submitted
  // later. Its rows are deleted afterwards by PurgeBatch.
  bool start_purge = false;
  TimePoint bounce_tolerance_until{};  // stored as given (Decide carries it forward)
};

// One audit record of a state change, as written by SetAccountState.
struct AuditRecord {
  std::int64_t id = 0;  // increasing: newer records have higher ids (the list's cursor)
  TimePoint at{};
  std::string account_name;
  std::string actor{};
  std::string action{};
  AccountState from = AccountState::kActive;
  AccountState to = AccountState::kActive;
  std::string reason;
};

// The block a decision about an account was made on: its state and who blocked it.
struct BlockSeen {
  AccountState state = AccountState::kActive;
  BlockedBy blocked_by = BlockedBy::kNone;
};

// Chooses held messages: by id, or by a match. A match is a case-insensitive (ASCII)
// substring of the envelope sender (from), of any envelope recipient (to), of the subject;
// every non-empty field must match. ids, when given, win over the match. An empty selector
// matches nothing.
struct MessageSelector {
  std::vector<MessageId> ids{};
  std::string from{};
  std::string to{};
  std::string subject{};
  // What the caller judged the action on (core's DecideHeldMail): when set, the store acts
  // only if the account is still so, and otherwise fails with kConflict, writing nothing, so
  // that a block taken over meanwhile (by an administrator) is not acted on under the rules
  // of the block before it.
  std::optional<BlockSeen> decided_on{};
  // At most this many messages, lowest ids first: a caller acting on much mail does it in
  // batches, one transaction each. A release chooses only mail not released yet, so the next
  // batch with the same selector goes on where this one ended.
  std::int64_t limit = std::numeric_limits<std::int64_t>::max();
};

// An account's counters. Counters count messages, except errors: one per recipient that
// failed, one per message that expired. A message counts as sent once, when it is finished
// with at least one recipient accepted. _today is the local day passed to GetCounters.
struct AccountCounters {
  std::int64_t sent = 0;
  std::int64_t sent_today = 0;
  std::int64_t errors = 0;
  std::int64_t errors_today = 0;
  std::int64_t held = 0;    // unfinished and not going out: the account is held, not released,
                            // or the message is held for itself (NewMessage::held_reason)
  std::int64_t queued = 0;  // unfinished and going out (active account, or released)
  std::int64_t expired = 0;
  std::int64_t purged = 0;  // deleted by a purge or by DeleteHeld
  std::int64_t submitted = 0;
  std::int64_t complaints_today = 0;  // feedback-loop reports about its mail (RecordComplaint)
};

// What happened to an account on one local day.
struct DailyVolume {
  int day = 0;  // YYYYMMDD
  std::int64_t submitted = 0;
  std::int64_t sent = 0;
  std::int64_t errors = 0;
  std::int64_t expired = 0;
  std::int64_t purged = 0;
  // Content scanning: messages given a verdict, quarantined, and let go as suspicious.
  std::int64_t scanned = 0;
  std::int64_t quarantined = 0;
  std::int64_t suspicious = 0;
  std::int64_t complaints = 0;  // feedback-loop reports about its mail (RecordComplaint)
};

// One failed delivery to one recipient.
struct DeliveryError {
  TimePoint at{};
  MessageId message = 0;
  int index = 0;  // the recipient's position in the message
  std::string recipient;
  std::string reply;
  std::string subject;
  // Its FailureCategory by name; "" for a failure stored before categories were.
  std::string category{};
};

// Where the previous page of ListErrors ended: its last item's at, message and index.
struct ErrorCursor {
  TimePoint at{};
  MessageId message = 0;
  int index = 0;
};

struct StoredRecipient {
  int index = 0;
  std::string address;
  RecipientStatus status = RecipientStatus::kPending;
  std::string reply;
  TimePoint updated_at{};
  std::string category{};  // a failed one's FailureCategory name ("" before categories)
  std::string note{};      // what a later "delayed" report said of it (RecordBounce)
};

enum class MessageStatus { kQueued, kDelivering, kDone };

// Where a message stands with content scanning (docs/scanning.md).
enum class ScanState { kNone, kWaiting, kQuarantined };

// Rspamd's verdict as kept with the message.
struct ScanResult {
  std::string action;                // Rspamd's action: "reject", "add header", "no action"...
  double score = 0;                  // kept to thousandths
  std::vector<std::string> symbols;  // the main symbols, highest score first
};

struct StoredMessage {
  MessageId id = 0;
  AccountId account = 0;
  std::string sender;
  std::string subject;
  std::string script;
  Uid uid = 0;
  std::int64_t size = 0;
  MessageStatus status = MessageStatus::kQueued;
  int attempts = 0;  // attempts started: each claim counts, even one its node died during
  TimePoint received_at{};
  TimePoint next_attempt{};  // while kDelivering: when the lease ends and it is due again
  std::vector<StoredRecipient> recipients;
  ScanState scan_state = ScanState::kNone;
  std::optional<ScanResult> scan;  // the verdict, once there is one
  std::string held_reason{};       // held for itself (NewMessage::held_reason), not released yet
};

// A message waiting for its verdict, as the scanner reads it (its body apart).
struct UnscannedMessage {
  MessageId id = 0;
  AccountId account = 0;
  std::string account_name;
  std::string sender;
  std::vector<std::string> recipients;
  std::string script;
  Uid uid = 0;
  std::int64_t size = 0;
};

// What the scanner decided about a waiting message.
struct ScanVerdict {
  AccountId account = 0;
  MessageId id = 0;
  bool quarantine = false;  // never delivered unless released
  bool suspicious = false;  // delivered, counted as suspicious
  // The verdict; nullopt: no scan could be made and the message goes out unscanned
  // (scan.on_error = "deliver"), counted as neither scanned nor suspicious.
  std::optional<ScanResult> result;
};

// One value of a mail source and how many messages had it.
struct SourceCount {
  std::string value;
  std::int64_t count = 0;
};

// Where an account's mail came from over some hours: for each kind its most frequent values,
// by count (highest first), then by value.
struct MailSources {
  std::vector<SourceCount> scripts;   // X-PHP-Originating-Script ("uid:file"); none if absent
  std::vector<SourceCount> senders;   // envelope senders; "" is the null sender <>
  std::vector<SourceCount> domains;   // recipient domains, lower case, once per message
  std::vector<SourceCount> subjects;  // decoded subjects
  // Per kind, the messages counted under values that got no row of their own: those past
  // StoreOptions::max_sources_per_hour distinct values of their hour.
  struct Other {
    std::int64_t scripts = 0;
    std::int64_t senders = 0;
    std::int64_t domains = 0;
    std::int64_t subjects = 0;
  } other;
};

// Values longer than this are cut (at a UTF-8 character boundary) before they are counted;
// a message counts toward at most kMaxSourceDomainsPerMessage recipient domains.
inline constexpr std::size_t kMaxSourceValueBytes = 255;
inline constexpr std::size_t kMaxSourceDomainsPerMessage = 32;
// The hours of sources kept; older hours are pruned.
inline constexpr int kSourceHoursKept = 48;
// Distinct values of one kind an account's hour gets rows for, unless StoreOptions says.
inline constexpr std::int64_t kDefaultMaxSourcesPerHour = 100;
// GetMessageHeaders returns at most this much of a header section.
inline constexpr std::size_t kMaxHeaderSectionBytes = 64 * 1024;

// A customer API token as it is listed: never the token, nor its whole hash.
struct TokenInfo {
  std::string id;  // the first kTokenIdChars hex digits of its hash: what lists and revokes it
  TimePoint created{};
  std::optional<TimePoint> expires;  // nullopt: valid until revoked
};
inline constexpr std::size_t kTokenIdChars = 16;

// Over all accounts (for /metrics): the unfinished messages now, and the counters' totals
// (as AccountCounters counts them).
struct StoreTotals {
  std::int64_t held = 0;    // unfinished, of blocked or purging accounts, not released
  std::int64_t queued = 0;  // unfinished, going out: of active accounts, or released
  std::int64_t submitted = 0;
  std::int64_t sent = 0;
  std::int64_t errors = 0;
  std::int64_t expired = 0;
  std::int64_t purged = 0;
};

// How PutAccounts treats the name of each spec.
enum class AccountPutMode {
  kCreate,          // a new account; an existing name is refused (kConflict)
  kUpdate,          // an existing account; an unknown name is refused (kNotFound)
  kCreateOrUpdate,  // either (the configuration file, an import)
};

enum class AccountPutOutcome { kCreated, kUpdated, kUnchanged, kRefused };

// What PutAccounts did with one spec.
struct AccountPut {
  AccountPutOutcome outcome = AccountPutOutcome::kUnchanged;
  AccountId id = 0;  // 0 when refused
  // Why it was refused: kConflict (the name exists for kCreate; a uid belongs to another
  // account, named in the message; a uid given to two specs of the batch), kNotFound (no such
  // account for kUpdate), kInvalidInput (an empty name, a name given twice in the batch).
  std::optional<Error> refused;
};

// What DeleteAccount did.
struct AccountDeleted {
  AccountId id = 0;
  std::int64_t purged = 0;  // unfinished messages purged with it
};

// How ListAccountPage orders accounts, and which it lists.
enum class AccountOrder {
  kName,         // every account, by name
  kSentToday,    // the accounts that sent today, most first
  kErrorsToday,  // the accounts with failures today, most first
  kPending,      // the accounts with unfinished mail (held or queued), most first
};

// Where a page of ListAccountPage starts: after the last entry of the page before (its name
// for kName; its order's value and its id for the others).
struct AccountPageCursor {
  std::int64_t value = 0;
  std::string name;
  AccountId id = 0;
};

// One page of the accounts overview. Filters combine; each is off when empty.
struct AccountPageQuery {
  AccountOrder order = AccountOrder::kName;
  int day = 0;  // today, as a local day (YYYYMMDD): the day of sent_today and errors_today
  std::optional<AccountState> state;
  std::optional<BlockedBy> blocked_by;
  std::string name_contains;  // of a-z, 0-9, '.', '_', '-' only (the caller checks)
  int limit = 100;
  std::optional<AccountPageCursor> after;
};

struct AccountPageEntry {
  Account account;  // with its uids
  std::int64_t sent_today = 0;
  std::int64_t errors_today = 0;
  std::int64_t quarantined_today = 0;  // by the content scanner
  std::int64_t held = 0;               // as AccountCounters counts them
  std::int64_t queued = 0;
};

// One recipient of a bounce that came back after the relay took the message.
struct BounceRecipient {
  std::string address{};   // as the bounce names it; "" if it names none
  bool delayed = false;    // RFC 3464 Action: delayed (a warning, not a failure)
  std::string reply{};     // for people: the status, the remote server's text, the reporting MTA
  std::string category{};  // a failure's FailureCategory name
};

// A bounce, by the message its return path names (smtp/return_path.h).
struct Bounce {
  MessageId message = 0;
  AccountId account = 0;  // what the return path says; the message must be this account's
  std::vector<BounceRecipient> recipients{};
  // As DeliveryOutcome::suppress_for: the account's policy.suppress_for; 0: not.
  Duration suppress_for{0};
};

// What RecordBounce did.
struct BounceRecorded {
  bool found = false;  // the message is there, of that account (not purged, not deleted)
  std::string sender;  // its original envelope sender ("" is the null sender)
  std::string account_name;
  std::vector<std::string> failed;  // the categories of the recipients failed now, one each
  int delayed = 0;                  // recipients a delay was noted on
  int unmatched = 0;                // recipients of the bounce the message does not have
};

// A feedback-loop report (RFC 5965 ARF) about a message: a recipient's "this is spam".
struct Complaint {
  MessageId message = 0;        // as the return path of the original message names it
  AccountId account = 0;        // the same; the message must be this account's
  std::string feedback_type{};  // Feedback-Type: abuse, fraud...
};

// What RecordComplaint did.
struct ComplaintRecorded {
  bool found = false;  // the message is there, of that account
  std::string account_name{};
  std::int64_t complaints_today = 0;  // the account's, this one included
  std::int64_t sent_today = 0;
};

// Sender identity (docs/sender-identity.md).

// The account a domain name belongs to: the nearest of the name and its parents that is
// listed (core/sender_domain.h's DomainAndParents), and that listed domain.
struct DomainOwner {
  std::string domain;  // the listed domain that owns the name asked about
  AccountId account = 0;
  std::string account_name;
};

// What the From check did to an account's mail on one local day.
struct SenderCheckDay {
  int day = 0;               // YYYYMMDD
  std::int64_t held = 0;     // messages held for a sender not the account's
  std::int64_t refused = 0;  // submissions refused for it
};

enum class DkimAlgorithm { kRsaSha256, kEd25519Sha256 };

// A DKIM signing key of a domain.
struct DkimKey {
  std::string domain;    // normalised (core/sender_domain.h)
  std::string selector;  // a DNS label
  DkimAlgorithm algorithm = DkimAlgorithm::kRsaSha256;
  std::string private_key;  // PEM, PKCS #8
  std::string public_key;   // base64: the record's p= value
  TimePoint created{};
  std::optional<TimePoint> retired{};  // nullopt: it signs the domain's mail
  AccountId owner = 0;  // GetSigningKeys only: the account listing the domain (0: none)
};

// An account's plan and its own limit overrides (core/send_limits.h).
struct AccountLimits {
  AccountId account = 0;
  std::string plan{};  // "" for none
  // The keys the account sets. max_per_day and max_per_hour are the account row's own
  // (Account::max_per_day, ::max_per_hour) and are not kept here.
  LimitOverrides limits{};
};

// A plan as the store keeps it: its name and the policy keys it sets.
struct PlanRecord {
  std::string name{};
  LimitOverrides limits{};
};

// An event for the outbox (docs/webhooks.md): written in the transaction of what caused it.
struct NewEvent {
  std::string type{};  // core/event_types.h
  AccountId account = 0;
  std::string data{};  // a JSON object
  TimePoint at{};
};

// An event claimed for sending: the oldest unsent one of its account.
struct OutboxEvent {
  std::int64_t id = 0;  // unique in the store, increasing per account
  AccountId account = 0;
  std::string account_name{};
  std::string type{};
  TimePoint at{};
  std::string data{};  // a JSON object
  int attempts = 0;    // attempts before this one
  // The webhooks (by url) that have accepted it already, newline-separated.
  std::string sent_to{};
};

// What one round of sending an event came to.
struct EventAttempt {
  std::int64_t event = 0;
  AccountId account = 0;
  std::string node{};  // the claim's
  // Every webhook accepted it or gave it up: it leaves the outbox. Otherwise it is due again
  // at next_attempt, with sent_to kept.
  bool finished = false;
  TimePoint next_attempt{};
  std::string sent_to{};
  // One line per webhook tried, for the deliveries list.
  struct Try {
    std::string url{};
    int status = 0;       // the HTTP status; 0: no answer
    std::string reply{};  // the answer's start, or why there was none
  };
  std::vector<Try> tries{};
  TimePoint at{};
};

// One delivery attempt as the deliveries list shows it, newest first.
struct EventAttemptRecord {
  std::int64_t id = 0;
  TimePoint at{};
  std::int64_t event = 0;
  std::string account_name{};
  std::string type{};
  std::string url{};
  std::string node{};
  int status = 0;
  std::string reply{};
};
// The attempts kept for the list; older ones are pruned as new ones are written.
inline constexpr std::int64_t kEventAttemptsKept = 1000;

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

  // Removes, with everything kept of them (counters, days, sources, reports, audit, messages),
  // up to `limit` accounts deleted before `cutoff` (purged rows still on disk too). Returns
  // how many. One transaction.
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
  virtual Result<BounceRecorded> RecordBounce(const Bounce& bounce, TimePoint now) = 0;
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
  // mail goes to the address again from the commit on. kNotFound: none holds at `now`.
  // Durable on success.
  virtual Result<void> DeleteSuppression(AccountId account, std::string_view address,
                                         TimePoint now) = 0;

  // --- Complaints (docs/bounces.md). Records a feedback-loop report about the account's
  // message, found by its id alone: counts one complaint of the account on the local day of
  // `now` and writes the "complaint" event, in one transaction. A message that is not there
  // (purged, deleted after store.keep_finished) or is another account's records nothing:
  // found is false. Durable on success (the intake answers 250 after it).
  virtual Result<ComplaintRecorded> RecordComplaint(const Complaint& complaint, TimePoint now) = 0;
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
