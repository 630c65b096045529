#include "core/account_state.h"

#include <array>
#include <utility>

#include "core/name_table.h"

namespace mailwarden {
namespace {

constexpr std::array<std::pair<AccountAction, std::string_view>, 4> kActions{{
    {AccountAction::kBlock, "BLOCK"},
    {AccountAction::kUnblock, "UNBLOCK"},
    {AccountAction::kPurge, "PURGE"},
    {AccountAction::kPurgeDone, "PURGE_DONE"},
}};
constexpr std::array<std::pair<Actor, std::string_view>, 5> kActors{{
    {Actor::kCustomer, "customer"},
    {Actor::kAdmin, "admin"},
    {Actor::kSpamGuard, "spam_guard"},
    {Actor::kBounceGuard, "bounce_guard"},
    {Actor::kSystem, "system"},
}};

constexpr std::string_view kNotBlocked = "Sending is not blocked.";
constexpr std::string_view kAlreadyBlocked = "Sending is already blocked.";
constexpr std::string_view kAlreadyBlockedByAdmin =
    "Sending is already blocked by the administrator.";
constexpr std::string_view kPurgeRunning =
    "A purge is running; sending is unblocked by itself when it ends.";
constexpr std::string_view kPurgeAlreadyRunning = "A purge is already running.";
constexpr std::string_view kBlockFirst = "Block sending first: only held mail can be purged.";
constexpr std::string_view kAdminBlock =
    "Sending was blocked by the administrator; only the administrator can lift this block.";
constexpr std::string_view kSpamBlock =
    "Sending was blocked after a flood of e-mails, which are presumed spam: purge the held "
    "e-mails instead, and sending is unblocked by itself when the purge ends.";
constexpr std::string_view kGuardOnlyBlocks = "A guard can only block sending.";
constexpr std::string_view kSystemOnlyEndsPurge = "The purge job can only end a purge.";
constexpr std::string_view kPurgeEndsByItself =
    "A purge ends by itself when the held e-mails are deleted.";
constexpr std::string_view kNoPurgeRunning = "No purge is running.";

std::unexpected<Error> Refuse(ErrorCode code, std::string_view message) {
  return Fail(code, std::string(message));
}

std::string_view Trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n";
  const auto first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
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
  return AccountStatus{AccountState::kActive, BlockedBy::kNone, "", now,
                       current.bounce_tolerance_until};
}

// What no state can make allowed: each actor's reach, whatever the account's state.
std::optional<std::string_view> OutOfReach(AccountAction action, Actor actor) {
  if (actor == Actor::kSystem) {
    if (action != AccountAction::kPurgeDone) return kSystemOnlyEndsPurge;
    return std::nullopt;
  }
  if (action == AccountAction::kPurgeDone) return kPurgeEndsByItself;
  if ((actor == Actor::kSpamGuard || actor == Actor::kBounceGuard) &&
      action != AccountAction::kBlock) {
    return kGuardOnlyBlocks;
  }
  return std::nullopt;
}

Result<Transition> DecideBlock(const AccountStatus& current, Actor actor, std::string_view reason,
                               TimePoint now) {
  switch (current.state) {
    case AccountState::kActive: {
      Transition t;
      t.next = AccountStatus{AccountState::kBlocked, BlockerOf(actor),
                             std::string(reason.empty() ? DefaultBlockReason(actor) : reason), now,
                             current.bounce_tolerance_until};
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
      return Refuse(ErrorCode::kConflict, current.blocked_by == BlockedBy::kAdmin
                                              ? kAlreadyBlockedByAdmin
                                              : kAlreadyBlocked);
    case AccountState::kPurging:
      return Refuse(ErrorCode::kConflict, kPurgeRunning);
  }
  return Refuse(ErrorCode::kInternal, "The account's state is unknown.");
}

Result<Transition> DecideUnblock(const AccountStatus& current, Actor actor, std::string_view reason,
                                 TimePoint now) {
  switch (current.state) {
    case AccountState::kActive:
      return Refuse(ErrorCode::kConflict, kNotBlocked);
    case AccountState::kPurging:
      return Refuse(ErrorCode::kConflict, kPurgeRunning);
    case AccountState::kBlocked:
      break;
  }
  if (actor == Actor::kCustomer) {
    if (current.blocked_by == BlockedBy::kAdmin) return Refuse(ErrorCode::kPermission, kAdminBlock);
    // The customer may lift this block, by the other way: a 409 that names it.
    if (current.blocked_by == BlockedBy::kSpamGuard)
      return Refuse(ErrorCode::kConflict, kSpamBlock);
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
  } else {
    t.audit_text = AuditText("sending unblocked", reason);
  }
  return t;
}

Result<Transition> DecidePurge(const AccountStatus& current, Actor actor, std::string_view reason,
                               TimePoint now) {
  switch (current.state) {
    case AccountState::kActive:
      return Refuse(ErrorCode::kConflict, kBlockFirst);
    case AccountState::kPurging:
      return Refuse(ErrorCode::kConflict, kPurgeAlreadyRunning);
    case AccountState::kBlocked:
      break;
  }
  // A purge ends in active, so it lifts the block like an UNBLOCK does.
  if (actor == Actor::kCustomer && current.blocked_by == BlockedBy::kAdmin) {
    return Refuse(ErrorCode::kPermission, kAdminBlock);
  }
  Transition t;
  t.next = current;
  t.next.state = AccountState::kPurging;
  t.next.since = now;
  t.start_purge = true;
  t.audit_text = AuditText("purge of the held e-mails started", reason);
  return t;
}

Result<Transition> DecidePurgeDone(const AccountStatus& current, std::string_view reason,
                                   TimePoint now) {
  if (current.state != AccountState::kPurging) return Refuse(ErrorCode::kConflict, kNoPurgeRunning);
  Transition t;
  t.next = ActiveStatus(current, now);
  // Mail accepted while the purge ran was held, not purged: unblocking releases it.
  t.release_held = true;
  t.audit_text = AuditText("purge finished, sending unblocked", reason);
  return t;
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

Result<Transition> Decide(const AccountStatus& current, AccountAction action, Actor actor,
                          std::string_view reason, TimePoint now) {
  if (!Consistent(current)) {
    return Fail(
        ErrorCode::kInternal,
        "The account's state is inconsistent: " + std::string(AccountStateName(current.state)) +
            ", blocked by \"" + std::string(BlockedByName(current.blocked_by)) + "\".");
  }
  if (auto refusal = OutOfReach(action, actor)) return Refuse(ErrorCode::kPermission, *refusal);
  reason = Trim(reason);
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
  return Refuse(ErrorCode::kInternal, "The requested action is unknown.");
}

}  // namespace mailwarden
