// The account state machine of DESIGN.md ("Account states"): which request moves an account
// from which state to which, who may make it, and what else the move sets off.
//
// Decide() is pure: it reads the current status and returns the next one, or a refusal with a
// sentence for the customer. The caller stores the next status, writes the audit record (who:
// the actor, when: now, from: current.state, to: next.state, why: audit_text) and acts on the
// flags, all in one transaction. Because it is pure, the panel and the API may also call it
// for each action to tell which buttons apply, and why not.
//
// Invariants of a stored status, which Decide keeps and expects (a status that breaks them is
// a bug and is refused with kInternal):
// - active: blocked_by is kNone (Decide leaves reason empty);
// - blocked: blocked_by says who blocked, reason why;
// - purging: blocked_by and reason stay those of the block being purged.
#pragma once

#include <chrono>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/types.h"

namespace mailwarden {

// kPurgeDone is not requested by people: the purge job reports with it when it has deleted the
// held mail.
enum class AccountAction { kBlock, kUnblock, kPurge, kPurgeDone };

// Who asks. kSystem is the purge job and may only end a purge.
enum class Actor { kCustomer, kAdmin, kSpamGuard, kBounceGuard, kSystem, kComplaintGuard };

// "BLOCK", "UNBLOCK", "PURGE" as the API spells them; "PURGE_DONE" for the audit log.
std::string_view AccountActionName(AccountAction action);
// Reads all four names; Decide refuses PURGE_DONE from anyone but kSystem.
std::optional<AccountAction> ParseAccountAction(std::string_view name);

// "customer", "admin", "spam_guard", "bounce_guard", "complaint_guard" (as BlockedByName spells
// them), "system".
std::string_view ActorName(Actor actor);
std::optional<Actor> ParseActor(std::string_view name);

// How long an UNBLOCK of a bounce_guard block doubles the account's failure tolerance.
inline constexpr Duration kBounceToleranceWindow = std::chrono::hours(24);
// How long an UNBLOCK of a complaint_guard block doubles the account's complaint tolerance.
inline constexpr Duration kComplaintToleranceWindow = std::chrono::hours(24);

// Who a block is recorded as made by, when actor blocks; kNone for kSystem, which never blocks.
BlockedBy BlockerOf(Actor actor);

struct AccountStatus {
  AccountState state = AccountState::kActive;
  BlockedBy blocked_by = BlockedBy::kNone;
  std::string reason;
  TimePoint since{};                      // when the state last changed
  TimePoint bounce_tolerance_until{};     // failure tolerance is doubled before this time
  TimePoint complaint_tolerance_until{};  // complaint tolerance is doubled before this time
};

struct Transition {
  AccountStatus next;
  bool release_held = false;                // the account's held mail may go, oldest first
  bool start_purge = false;                 // delete the mail held now (up to the newest id)
  bool double_bounce_tolerance = false;     // next.bounce_tolerance_until was set to now + 24h
  bool double_complaint_tolerance = false;  // next.complaint_tolerance_until: now + 24h
  std::string audit_text;                   // the "why" of the audit record
};

// Every refusal of Decide. Each has a stable name (RefusalCodeName), which clients that word
// the refusal themselves (the panel, in the customer's language) branch on, and one ErrorCode:
enum class RefusalCode {
  kNotBlocked,             // "not_blocked", kConflict: UNBLOCK while active
  kAlreadyBlocked,         // "already_blocked", kConflict: BLOCK while blocked
  kAlreadyBlockedByAdmin,  // "already_blocked_by_admin", kConflict: BLOCK on an admin block
  kPurgeRunning,           // "purge_running", kConflict: BLOCK or UNBLOCK while purging
  kPurgeAlreadyRunning,    // "purge_already_running", kConflict: PURGE while purging
  kBlockFirst,             // "block_first", kConflict: PURGE while active
  kAdminBlock,             // "admin_block", kPermission: a customer lifting an admin block
  kSpamBlock,              // "spam_block", kConflict: a customer's UNBLOCK of a spam_guard block
  kGuardOnlyBlocks,        // "guard_only_blocks", kPermission: a guard asking anything else
  kSystemOnlyEndsPurge,    // "system_only_ends_purge", kPermission: kSystem asking anything else
  kPurgeEndsByItself,      // "purge_ends_by_itself", kPermission: PURGE_DONE by anyone else
  kNoPurgeRunning,         // "no_purge_running", kConflict: PURGE_DONE while not purging
  kInvalidStatus,          // "invalid_status", kInternal: `current` breaks the invariants above
  kSenderHeld,             // "sender_held", kPermission: a customer releasing mail held for a
                           //   sender not the account's (DecideHeldForSender)
};

std::string_view RefusalCodeName(RefusalCode code);

// A refusal: the Error (its code as listed above, its message a whole sentence a hosting
// customer understands, in English) and which refusal it is.
struct Refusal : Error {
  RefusalCode why = RefusalCode::kInvalidStatus;
};

using Decision = std::expected<Transition, Refusal>;

// Decides what `actor` asking for `action` does to an account in `current` at `now`.
// `reason` is the actor's own words; when empty a block gets a default reason.
//
// Fails with a Refusal whose Error code is:
// - kPermission: this actor may not take this action at all, or not on this block (a customer
//   on an admin block, a guard unblocking, anyone but kSystem ending a purge);
// - kConflict: the action does not apply in this state (HTTP 409), including a customer's
//   UNBLOCK of a spam_guard block, whose message says to purge instead;
// - kInternal: `current` breaks the invariants above.
Decision Decide(const AccountStatus& current, AccountAction action, Actor actor,
                std::string_view reason, TimePoint now);

// Actions on chosen held messages (POST .../email/messages/release and .../delete). They leave
// the account's state as it is, so they are judged by the rules of the action whose effect
// they have in part: a release lets held mail out, as UNBLOCK does; a delete removes held
// mail, as PURGE does. Hence a customer may do neither on an admin block, nor release mail of
// a spam_guard block (deleting it is allowed, as purging is), nor either while a purge runs
// (its mail goes, or is released, when it ends). An admin may do both whenever mail is held.
// Only held mail is chosen: on an active account both are refused (not_blocked, block_first).
enum class HeldMailAction { kRelease, kDelete };

// "release", "delete": the last segment of the API's path and the audit's wording.
std::string_view HeldMailActionName(HeldMailAction action);

// Nothing on success; otherwise the refusal, with codes and sentences as Decide's:
// kConflict (not_blocked, block_first, spam_block, purge_running, purge_already_running),
// kPermission (admin_block, guard_only_blocks, system_only_ends_purge), kInternal
// (invalid_status).
std::expected<void, Refusal> DecideHeldMail(const AccountStatus& current, HeldMailAction action,
                                            Actor actor);

// A release or delete of the mail an active account holds for itself: messages the From
// check held because their sender domain is not the account's (docs/sender-identity.md). An
// admin may do both; a customer may delete them but not release them (sender_held: its
// release would undo the check, which protects other people's names); guards and the
// system neither (as DecideHeldMail).
std::expected<void, Refusal> DecideHeldForSender(HeldMailAction action, Actor actor);

// Whether the bounce guard should judge this account with doubled tolerance at `now`.
inline bool BounceToleranceDoubled(const AccountStatus& status, TimePoint now) {
  return now < status.bounce_tolerance_until;
}

// Whether the complaint guard should judge this account with doubled tolerance at `now`.
inline bool ComplaintToleranceDoubled(const AccountStatus& status, TimePoint now) {
  return now < status.complaint_tolerance_until;
}

}  // namespace mailwarden
