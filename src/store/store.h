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

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/result.h"
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
};

struct ClaimedRecipient {
  int index = 0;  // position in the message's recipient list, stable across attempts
  std::string address;
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
  int attempts = 0;  // attempts made before this one
  TimePoint received_at{};
};

struct ClaimRequest {
  TimePoint now{};
  int limit = 100;          // at most this many messages
  TimePoint lease_until{};  // claimed messages return to the queue after this if unfinished
  std::string node;         // who holds the lease
};

struct RecipientOutcome {
  int index = 0;
  RecipientStatus status = RecipientStatus::kPending;  // kPending = deferred, try again
  std::string reply;                                   // the SMTP reply, or a local reason
};

// What one delivery attempt of one message came to. Recipients not listed stay as they were.
// If any recipient stays kPending the message is queued again for next_attempt; otherwise it
// is finished.
struct DeliveryOutcome {
  MessageId id = 0;
  std::vector<RecipientOutcome> recipients;
  TimePoint next_attempt{};
};

// A change of an account's state, made only if the account is still in the state the caller
// decided on (compare and set: two nodes acting on one account at once cannot both win).
struct AccountStateChange {
  AccountId account = 0;
  AccountState from = AccountState::kActive;  // the state the decision was made on
  AccountState to = AccountState::kActive;
  BlockedBy blocked_by = BlockedBy::kNone;  // kNone unless `to` is blocked or purging
  std::string reason;
  TimePoint at{};  // becomes the account's `since`
};

struct StoredRecipient {
  int index = 0;
  std::string address;
  RecipientStatus status = RecipientStatus::kPending;
  std::string reply;
  TimePoint updated_at{};
};

enum class MessageStatus { kQueued, kDelivering, kDone };

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
};

class Store {
 public:
  virtual ~Store() = default;

  // Creates the account, or updates uids, report_to, language and quotas of the account of
  // that name. State and counters of an existing account are kept. A uid that belongs to
  // another account is moved to this one.
  virtual Result<AccountId> UpsertAccount(const AccountSpec& spec) = 0;

  virtual Result<std::optional<Account>> FindAccount(std::string_view name) = 0;
  virtual Result<std::optional<Account>> FindAccountByUid(Uid uid) = 0;
  virtual Result<std::vector<Account>> ListAccounts() = 0;

  // Writes the account's state, blocked_by, reason and since, in one transaction. Does not
  // judge the transition: core/ does. Fails with kNotFound if there is no such account and
  // with kConflict, writing nothing, if its state is no longer change.from. Held mail needs
  // nothing more: the scheduler reads the state, so blocking holds and unblocking releases
  // (oldest first) at once.
  virtual Result<void> SetAccountState(const AccountStateChange& change) = 0;

  // Stores all messages in one transaction (group commit). On success returns their ids in
  // the same order, and every one of them is durable; on failure none is stored.
  virtual Result<std::vector<MessageId>> InsertMessages(std::span<const NewMessage> messages) = 0;

  // Claims up to request.limit messages that are due (next attempt <= now) and belong to
  // active accounts, oldest first, fairly across accounts; leases them to request.node until
  // request.lease_until. Never reads the messages of a blocked or purging account. Messages
  // whose lease has run out are due again.
  virtual Result<std::vector<ClaimedMessage>> ClaimDue(const ClaimRequest& request) = 0;

  // Records the outcomes of delivery attempts, all in one transaction, and ends their leases.
  virtual Result<void> RecordOutcomes(std::span<const DeliveryOutcome> outcomes, TimePoint now) = 0;

  // Ends every lease held by node (at start: this node's earlier life died mid-delivery).
  virtual Result<void> ReleaseLeases(std::string_view node) = 0;

  // The earliest next attempt among the due-able messages of active accounts, if any; the
  // scheduler sleeps until then or until woken by new mail.
  virtual Result<std::optional<TimePoint>> NextDueTime() = 0;

  virtual Result<std::optional<StoredMessage>> GetMessage(MessageId id) = 0;
};

// Opens (creating if needed) and migrates the store named by url: "sqlite:/abs/path.db" or
// "postgresql://...". Fails with kInvalidInput for an unknown scheme, kUnavailable when the
// database cannot be reached or migrated.
Result<std::unique_ptr<Store>> OpenStore(std::string_view url);

}  // namespace mailwarden
