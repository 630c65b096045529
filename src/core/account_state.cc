#include "core/account_state.h"

#include <array>
#include <utility>

#include "core/name_table.h"
#include "core/text.h"

namespace mailwarden {
namespace {

constexpr std::array<std::pair<AccountAction, std::string_view>, 4> kActions{{
    {AccountAction::kBlock, "BLOCK"},
    {AccountAction::kUnblock, "UNBLOCK"},
    {AccountAction::kPurge, "PURGE"},
    {AccountAction::kPurgeDone, "PURGE_DONE"},
}};
constexpr std::array<std::pair<Actor, std::string_view>, 6> kActors{{
    {Actor::kCustomer, "customer"},
    {Actor::kAdmin, "admin"},
    {Actor::kSpamGuard, "spam_guard"},
    {Actor::kBounceGuard, "bounce_guard"},
    {Actor::kSystem, "system"},
    {Actor::kComplaintGuard, "complaint_guard"},
}};

struct RefusalEntry {
  RefusalCode code;
  std::string_view name;
  ErrorCode error;
  std::string_view message;
};

// Every refusal's name, HTTP-facing error code and sentence.
constexpr RefusalEntry kRefusals[] = {
    {RefusalCode::kNotBlocked, "not_blocked", ErrorCode::kConflict, "Sending is not blocked."},
    {RefusalCode::kAlreadyBlocked, "already_blocked", ErrorCode::kConflict,
     "Sending is already blocked."},
    {RefusalCode::kAlreadyBlockedByAdmin, "already_blocked_by_admin", ErrorCode::kConflict,
     "Sending is already blocked by the administrator."},
    {RefusalCode::kPurgeRunning, "purge_running", ErrorCode::kConflict,
     "A purge is running; sending is unblocked by itself when it ends."},
    {RefusalCode::kPurgeAlreadyRunning, "purge_already_running", ErrorCode::kConflict,
     "A purge is already running."},
    {RefusalCode::kBlockFirst, "block_first", ErrorCode::kConflict,
     "Block sending first: only held mail can be purged."},
    {RefusalCode::kAdminBlock, "admin_block", ErrorCode::kPermission,
     "Sending was blocked by the administrator; only the administrator can lift this block."},
    {RefusalCode::kSpamBlock, "spam_block", ErrorCode::kConflict,
     "Sending was blocked after a flood of e-mails, which are presumed spam: purge the held "
     "e-mails instead, and sending is unblocked by itself when the purge ends."},
    {RefusalCode::kGuardOnlyBlocks, "guard_only_blocks", ErrorCode::kPermission,
     "A guard can only block sending."},
    {RefusalCode::kSystemOnlyEndsPurge, "system_only_ends_purge", ErrorCode::kPermission,
     "The purge job can only end a purge."},
    {RefusalCode::kPurgeEndsByItself, "purge_ends_by_itself", ErrorCode::kPermission,
     "A purge ends by itself when the held e-mails are deleted."},
    {RefusalCode::kNoPurgeRunning, "no_purge_running", ErrorCode::kConflict,
     "No purge is running."},
    {RefusalCode::kSenderHeld, "sender_held", ErrorCode::kPermission,
     "These e-mails were held because their sender is not one of the account's domains; only "
     "the administrator can release them (they can be deleted)."},
    // Last: EntryOf's answer for a code it does not know.
    {RefusalCode::kInvalidStatus, "invalid_status", ErrorCode::kInternal,
     "The account's state is unknown."},
};

const RefusalEntry& EntryOf(RefusalCode code) {
  for (const auto& e : kRefusals) {
    if (e.code == code) return e;
  }
  return kRefusals[std::size(kRefusals) - 1];
}

std::unexpected<Refusal> Refuse(RefusalCode code) {
  const RefusalEntry& e = EntryOf(code);
  return std::unexpected<Refusal>(Refusal{{e.error, std::string(e.message)}, code});
}

std::string_view DefaultBlockReason(Actor actor) {
  switch (actor) {
    case Actor::kCustomer:
      return "blocked by the customer";
    case Actor::kAdmin:
      return "blocked by the administrator";
    case Actor::kSpamGuard:
      return "blocked by the spam guard: too many e-mails in an hour";
    case Actor::kBounceGuard:
      return "blocked by the bounce guard: too many failed deliveries";
    case Actor::kComplaintGuard:
      return "blocked by the complaint guard: too many spam complaints";
    case Actor::kSystem:
      break;
  }
  return "blocked";
}

bool Consistent(const AccountStatus& s) {
  switch (s.state) {
    case AccountState::kActive:
      return s.blocked_by == BlockedBy::kNone;
    case AccountState::kBlocked:
    case AccountState::kPurging:
      return s.blocked_by != BlockedBy::kNone;
  }
  return false;
}

std::string AuditText(std::string_view what, std::string_view reason) {
  std::string text(what);
  if (!reason.empty()) {
    text += ": ";
    text += reason;
  }
  return text;
}

AccountStatus ActiveStatus(const AccountStatus& current, TimePoint now) {
  return AccountStatus{AccountState::kActive,
                       BlockedBy::kNone,
                       "",
                       now,
                       current.bounce_tolerance_until,
                       current.complaint_tolerance_until};
}

// What no state can make allowed: each actor's reach, whatever the account's state.
std::optional<RefusalCode> OutOfReach(AccountAction action, Actor actor) {
  if (actor == Actor::kSystem) {
    if (action != AccountAction::kPurgeDone) return RefusalCode::kSystemOnlyEndsPurge;
    return std::nullopt;
  }
  if (action == AccountAction::kPurgeDone) return RefusalCode::kPurgeEndsByItself;
  if ((actor == Actor::kSpamGuard || actor == Actor::kBounceGuard ||
       actor == Actor::kComplaintGuard) &&
      action != AccountAction::kBlock) {
    return RefusalCode::kGuardOnlyBlocks;
  }
  return std::nullopt;
}

Decision DecideBlock(const AccountStatus& current, Actor actor, std::string_view reason,
                     TimePoint now) {
  switch (current.state) {
    case AccountState::kActive: {
      Transition t;
      t.next = AccountStatus{AccountState::kBlocked,
                             BlockerOf(actor),
                             std::string(reason.empty() ? DefaultBlockReason(actor) : reason),
                             now,
                             current.bounce_tolerance_until,
                             current.complaint_tolerance_until};
      t.audit_text = AuditText("sending blocked", t.next.reason);
      return t;
    }
    case AccountState::kBlocked:
      // An admin takes over any other block so that only an admin can lift it. Nobody else
      // re-blocks: a customer taking over a guard's block could then lift it by UNBLOCK.
      if (actor == Actor::kAdmin && current.blocked_by != BlockedBy::kAdmin) {
        Transition t;
        t.next = current;
        t.next.blocked_by = BlockedBy::kAdmin;
        t.next.reason = std::string(reason.empty() ? DefaultBlockReason(actor) : reason);
        t.audit_text = AuditText("block taken over by the administrator", t.next.reason);
        return t;
      }
      return Refuse(current.blocked_by == BlockedBy::kAdmin ? RefusalCode::kAlreadyBlockedByAdmin
                                                            : RefusalCode::kAlreadyBlocked);
    case AccountState::kPurging:
      return Refuse(RefusalCode::kPurgeRunning);
  }
  return Refuse(RefusalCode::kInvalidStatus);
}

Decision DecideUnblock(const AccountStatus& current, Actor actor, std::string_view reason,
                       TimePoint now) {
  switch (current.state) {
    case AccountState::kActive:
      return Refuse(RefusalCode::kNotBlocked);
    case AccountState::kPurging:
      return Refuse(RefusalCode::kPurgeRunning);
    case AccountState::kBlocked:
      break;
  }
  if (actor == Actor::kCustomer) {
    if (current.blocked_by == BlockedBy::kAdmin) return Refuse(RefusalCode::kAdminBlock);
    // The customer may lift this block, by the other way: a 409 that names it.
    if (current.blocked_by == BlockedBy::kSpamGuard) return Refuse(RefusalCode::kSpamBlock);
  }
  Transition t;
  t.next = ActiveStatus(current, now);
  t.release_held = true;
  if (current.blocked_by == BlockedBy::kBounceGuard) {
    // The released mail goes to the same addresses that failed; at the usual tolerance its
    // first failures would block the account again.
    t.double_bounce_tolerance = true;
    t.next.bounce_tolerance_until = now + kBounceToleranceWindow;
    t.audit_text = AuditText("sending unblocked, failure tolerance doubled for 24 hours", reason);
  } else if (current.blocked_by == BlockedBy::kComplaintGuard) {
    // Mailbox providers report complaints hours after the mail went, and the day's count the
    // guard judges still holds those about mail sent before the block: at the usual tolerance
    // the first late report would block the account again.
    t.double_complaint_tolerance = true;
    t.next.complaint_tolerance_until = now + kComplaintToleranceWindow;
    t.audit_text = AuditText("sending unblocked, complaint tolerance doubled for 24 hours", reason);
  } else {
    t.audit_text = AuditText("sending unblocked", reason);
  }
  return t;
}

Decision DecidePurge(const AccountStatus& current, Actor actor, std::string_view reason,
                     TimePoint now) {
  switch (current.state) {
    case AccountState::kActive:
      return Refuse(RefusalCode::kBlockFirst);
    case AccountState::kPurging:
      return Refuse(RefusalCode::kPurgeAlreadyRunning);
    case AccountState::kBlocked:
      break;
  }
  // A purge ends in active, so it lifts the block like an UNBLOCK does.
  if (actor == Actor::kCustomer && current.blocked_by == BlockedBy::kAdmin) {
    return Refuse(RefusalCode::kAdminBlock);
  }
  Transition t;
  t.next = current;
  t.next.state = AccountState::kPurging;
  t.next.since = now;
  t.start_purge = true;
  t.audit_text = AuditText("purge of the held e-mails started", reason);
  return t;
}

Decision DecidePurgeDone(const AccountStatus& current, std::string_view reason, TimePoint now) {
  if (current.state != AccountState::kPurging) return Refuse(RefusalCode::kNoPurgeRunning);
  Transition t;
  t.next = ActiveStatus(current, now);
  // Mail accepted while the purge ran was held, not purged: unblocking releases it.
  t.release_held = true;
  t.audit_text = AuditText("purge finished, sending unblocked", reason);
  return t;
}

std::unexpected<Refusal> Inconsistent(const AccountStatus& current) {
  Refusal refusal = Refuse(RefusalCode::kInvalidStatus).error();
  refusal.message =
      "The account's state is inconsistent: " + std::string(AccountStateName(current.state)) +
      ", blocked by \"" + std::string(BlockedByName(current.blocked_by)) + "\".";
  return std::unexpected(std::move(refusal));
}

}  // namespace

BlockedBy BlockerOf(Actor actor) {
  switch (actor) {
    case Actor::kCustomer:
      return BlockedBy::kCustomer;
    case Actor::kAdmin:
      return BlockedBy::kAdmin;
    case Actor::kSpamGuard:
      return BlockedBy::kSpamGuard;
    case Actor::kBounceGuard:
      return BlockedBy::kBounceGuard;
    case Actor::kComplaintGuard:
      return BlockedBy::kComplaintGuard;
    case Actor::kSystem:
      break;
  }
  return BlockedBy::kNone;
}

std::string_view AccountActionName(AccountAction action) { return NameOf(kActions, action); }
std::optional<AccountAction> ParseAccountAction(std::string_view name) {
  return LookupName(kActions, name);
}
std::string_view ActorName(Actor actor) { return NameOf(kActors, actor); }
std::optional<Actor> ParseActor(std::string_view name) { return LookupName(kActors, name); }
std::string_view RefusalCodeName(RefusalCode code) { return EntryOf(code).name; }

Decision Decide(const AccountStatus& current, AccountAction action, Actor actor,
                std::string_view reason, TimePoint now) {
  if (!Consistent(current)) return Inconsistent(current);
  if (auto refusal = OutOfReach(action, actor)) return Refuse(*refusal);
  reason = TrimAscii(reason);
  switch (action) {
    case AccountAction::kBlock:
      return DecideBlock(current, actor, reason, now);
    case AccountAction::kUnblock:
      return DecideUnblock(current, actor, reason, now);
    case AccountAction::kPurge:
      return DecidePurge(current, actor, reason, now);
    case AccountAction::kPurgeDone:
      return DecidePurgeDone(current, reason, now);
  }
  return Refuse(RefusalCode::kInvalidStatus);
}

std::string_view HeldMailActionName(HeldMailAction action) {
  return action == HeldMailAction::kRelease ? "release" : "delete";
}

std::expected<void, Refusal> DecideHeldMail(const AccountStatus& current, HeldMailAction action,
                                            Actor actor) {
  if (!Consistent(current)) return Inconsistent(current);
  const bool release = action == HeldMailAction::kRelease;
  // The reach of UNBLOCK (a release) or PURGE (a delete): guards only block, the system only
  // ends purges.
  if (auto refusal = OutOfReach(release ? AccountAction::kUnblock : AccountAction::kPurge, actor)) {
    return Refuse(*refusal);
  }
  if (current.state == AccountState::kActive) {
    return Refuse(release ? RefusalCode::kNotBlocked : RefusalCode::kBlockFirst);
  }
  if (actor == Actor::kAdmin) return {};
  if (current.blocked_by == BlockedBy::kAdmin) return Refuse(RefusalCode::kAdminBlock);
  if (current.state == AccountState::kPurging) {
    return Refuse(release ? RefusalCode::kPurgeRunning : RefusalCode::kPurgeAlreadyRunning);
  }
  if (release && current.blocked_by == BlockedBy::kSpamGuard) {
    return Refuse(RefusalCode::kSpamBlock);
  }
  return {};
}

std::expected<void, Refusal> DecideHeldForSender(HeldMailAction action, Actor actor) {
  const bool release = action == HeldMailAction::kRelease;
  if (auto refusal = OutOfReach(release ? AccountAction::kUnblock : AccountAction::kPurge, actor)) {
    return Refuse(*refusal);
  }
  if (release && actor != Actor::kAdmin) return Refuse(RefusalCode::kSenderHeld);
  return {};
}

}  // namespace mailwarden
