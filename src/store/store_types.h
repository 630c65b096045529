// The values the store takes and gives (store/store.h): accounts, messages and their
// outcomes, counters, bounces, keys, plans and events. Plain data, no behaviour.
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
  TimePoint complaint_tolerance_until{};  // the complaint guard's tolerance is doubled before this
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
  // The Message-ID header's id, without its angle brackets (the script's, or the one added):
  // a complaint whose original has no return path of ours is matched by it. "" for none.
  std::string message_id{};
  Uid uid = 0;  // the submitting uid (SO_PEERCRED), 0 for SMTP
  TimePoint received_at{};
  // Content scanning is on: the message waits for its verdict (RecordVerdict) before it can
  // be delivered, and is never leased on arrival.
  bool scan = false;
  // Non-empty: the message is held for this reason whatever its account's state (the From
  // check's "sender not allowed"), never leased or claimed, until ReleaseHeld releases it;
  // DeleteHeld deletes it, a purge purges it, ExpireHeld expires it after policy.hold.
  std::string held_reason{};
  // For tracking (Store::SearchMessages): how it came in ("drop-in", "SMTP", "local SMTP",
  // "mailwarden" for its own mail) and the From header's address, as the submission read
  // them; "" if none. (message_id above is searchable too.)
  std::string via{};
  std::string from{};
};
// NewMessage::via of mailwarden's own mail (reports, notices, forwarded bounces).
inline constexpr std::string_view kViaMailwarden = "mailwarden";

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
  TimePoint bounce_tolerance_until{};     // stored as given (Decide carries it forward)
  TimePoint complaint_tolerance_until{};  // the same
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
  // The accounts with some today, most first (an index of daily_counters each).
  kComplaintsToday,
  kQuarantinedToday,
  kErrorRate,  // the share of today's tried recipients that failed, in millionths
  // The accounts with some, most first: a sort of the accounts with unfinished mail (the
  // accounts_by_pending index), as AccountPageEntry counts held and queued.
  kHeld,
  kQueued,
  // The accounts that submitted since AccountPageQuery::recent_from_hour, most first: a sort
  // of those hours' rows of the sources (sources_by_hour).
  kSubmittedRecently,
};

// An account's error rate today as kErrorRate orders it: failed per million tried.
inline std::int64_t ErrorRatePpm(std::int64_t sent, std::int64_t errors) {
  return sent + errors == 0 ? 0 : errors * 1'000'000 / (sent + errors);
}

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
  // With a unix hour above 0, each entry's submitted_recently counts from its start.
  std::int64_t recent_from_hour = 0;
  int limit = 100;
  std::optional<AccountPageCursor> after;
};

struct AccountPageEntry {
  Account account;  // with its uids
  std::int64_t sent_today = 0;
  std::int64_t errors_today = 0;
  std::int64_t quarantined_today = 0;   // by the content scanner
  std::int64_t complaints_today = 0;    // feedback-loop reports (RecordComplaint)
  std::int64_t submitted_recently = 0;  // since AccountPageQuery::recent_from_hour
  std::int64_t held = 0;                // as AccountCounters counts them
  std::int64_t queued = 0;
};

// The value `order` sorts `entry` by, as a cursor after it carries it (0 for kName).
inline std::int64_t AccountOrderValue(AccountOrder order, const AccountPageEntry& entry) {
  switch (order) {
    case AccountOrder::kName:
      return 0;
    case AccountOrder::kSentToday:
      return entry.sent_today;
    case AccountOrder::kErrorsToday:
      return entry.errors_today;
    case AccountOrder::kPending:
      return entry.account.pending;
    case AccountOrder::kComplaintsToday:
      return entry.complaints_today;
    case AccountOrder::kQuarantinedToday:
      return entry.quarantined_today;
    case AccountOrder::kErrorRate:
      return ErrorRatePpm(entry.sent_today, entry.errors_today);
    case AccountOrder::kHeld:
      return entry.held;
    case AccountOrder::kQueued:
      return entry.queued;
    case AccountOrder::kSubmittedRecently:
      return entry.submitted_recently;
  }
  return 0;
}

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
  // Recipients the bounce fails whose delivery's outcome is not stored yet: when above 0,
  // nothing of this bounce was recorded (the intake answers 451; its sender tries again).
  int not_yet = 0;
};

// A feedback-loop report (RFC 5965 ARF) about a message: a recipient's "this is spam".
struct Complaint {
  MessageId message = 0;        // as the return path of the original message names it
  AccountId account = 0;        // the same; the message must be this account's
  std::string feedback_type{};  // Feedback-Type: abuse, fraud...
  // The complaint guard (policy.complaint_rate, policy.complaint_min; core/policy.h's
  // ComplaintGuardTrips): judged on the day's counts as this complaint leaves them.
  double complaint_rate = 0.003;
  std::int64_t complaint_min = 1000;
};

// A message found by its Message-ID (Store::FindByMessageId).
struct MessageRef {
  MessageId message = 0;
  AccountId account = 0;
};

// What RecordComplaint did.
struct ComplaintRecorded {
  bool found = false;  // the message is there, of that account
  // A complaint about the message was counted before (the same report again, or another
  // reporter's): nothing counted, no event, no guard; complaints_today and sent_today unset.
  bool duplicate = false;
  std::string account_name{};
  std::int64_t complaints_today = 0;  // the account's, this one included
  std::int64_t sent_today = 0;
  // The complaint guard blocked the account, in the same transaction (its state change, audit
  // record and account.blocked and guard.tripped events): the account as it was before, for
  // the notice to its report recipient, and the block's reason.
  std::optional<Account> blocked{};
  std::string block_reason{};
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

// A node of the fleet (one daemon), as it last said it was running (RecordNodeSeen).
struct NodeSeen {
  std::string name;     // config's hostname
  std::string version;  // the daemon's version
  TimePoint started_at{};
  TimePoint seen_at{};
};

// What the fleet summary reads (GetFleetSummary).
struct FleetQuery {
  TimePoint blocks_since{};         // guard blocks at or after this
  std::int64_t busy_from_hour = 0;  // unix hour: the busiest accounts count from its start
  int blocks_limit = 50;
  int busiest_limit = 10;
};

// A block by a guard, from the audit.
struct GuardBlock {
  TimePoint at{};
  std::string account;
  std::string guard;  // spam_guard, bounce_guard, ... (the audit's actor)
  std::string reason;
  bool still_blocked = false;  // the account is still blocked by that guard
};

struct BusyAccount {
  std::string account;
  std::int64_t submitted = 0;  // since the start of FleetQuery::busy_from_hour
};

// The operator's view of the whole fleet: the accounts per state and blocker (the system's
// own and deleted ones left out), the latest guard blocks, the busiest accounts, the nodes.
struct FleetSummary {
  std::vector<std::pair<std::string, std::int64_t>> states;      // state -> accounts
  std::vector<std::pair<std::string, std::int64_t>> blocked_by;  // blocker -> blocked accounts
  std::vector<GuardBlock> guard_blocks;                          // newest first
  std::vector<BusyAccount> busiest;                              // most first
  std::vector<NodeSeen> nodes;                                   // by name
};

// --- Message tracking ("where is my mail?").

// What happened to a message (message_events.kind). Never rename: stored in every row.
inline constexpr std::string_view kEventReceived = "received";        // stored; detail: how
inline constexpr std::string_view kEventHeld = "held";                // held for itself; why
inline constexpr std::string_view kEventReleased = "released";        // let go from hold
inline constexpr std::string_view kEventDelivered = "delivered";      // the relay took it; reply
inline constexpr std::string_view kEventDeferred = "deferred";        // temporary failure; reply
inline constexpr std::string_view kEventFailed = "failed";            // refused; category: reply
inline constexpr std::string_view kEventBounced = "bounced";          // a later bounce
inline constexpr std::string_view kEventDelayed = "delayed";          // a later delay report
inline constexpr std::string_view kEventQuarantined = "quarantined";  // the scan's verdict
inline constexpr std::string_view kEventExpired = "expired";          // held too long
// An event's detail is cut to this many bytes (a relay's reply can be long).
inline constexpr std::size_t kMaxEventDetailBytes = 1000;
// A search term (and each term stored) is cut to this many bytes.
inline constexpr std::size_t kMaxSearchTermBytes = 255;
// A message's stored terms: its recipients past this many are not searchable by address.
inline constexpr std::size_t kMaxTermsPerMessage = 120;
// Of those, the recipients' first distinct domains, and the subject's first words (of at least
// kMinSubjectWordBytes bytes), each a term.
inline constexpr std::size_t kMaxRecipientDomains = 8;
inline constexpr std::size_t kMaxSubjectWords = 8;
inline constexpr std::size_t kMinSubjectWordBytes = 3;

// One event of a message's history.
struct MessageEvent {
  TimePoint at{};
  std::string kind{};
  int recipient = -1;     // the recipient's index; -1: the whole message
  std::string address{};  // that recipient's address ("" for the whole message)
  std::string detail{};
};

// Where a message stands, as tracking shows and searches it.
enum class TrackStatus { kQueued, kHeld, kQuarantined, kDelivered, kFailed, kExpired, kPurged };
std::string_view TrackStatusName(TrackStatus status);  // "queued", "held", ...
std::optional<TrackStatus> ParseTrackStatus(std::string_view name);

// A message as tracking shows it: the message (recipients included), where it stands, when
// it finished, and (GetTrackedMessage only) its history, oldest first.
struct TrackedMessage {
  StoredMessage message{};
  TrackStatus status = TrackStatus::kQueued;
  std::optional<TimePoint> finished_at{};
  std::vector<MessageEvent> events{};
};

// A search of one account's messages, newest first.
struct MessageSearch {
  std::string term{};                   // "": any; else an exact term, any case (SearchTerm)
  std::optional<TrackStatus> status{};  // nullopt: any
  TimePoint since{};                    // received at or after (the epoch: any)
  MessageId before = 0;                 // the cursor: ids below it; 0: from the newest
  int limit = 50;
};

struct MessageSearchPage {
  std::vector<TrackedMessage> messages{};
  MessageId next_before = 0;  // the next page's cursor; 0: there is no more
};
// A search reads at most this many candidates per page; a page may hold fewer messages than
// asked and still have a cursor (the next candidates are unread, not known not to match).
inline constexpr int kMaxSearchCandidates = 2000;
inline constexpr int kMaxSearchLimit = 200;

// The term a text is stored and searched as: trimmed, angle brackets of a Message-ID or an
// address dropped, ASCII lower case, cut to kMaxSearchTermBytes.
std::string SearchTerm(std::string_view text);

}  // namespace mailwarden
