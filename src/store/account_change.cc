#include "store/account_change.h"

namespace mailwarden {

AccountStatus StatusOf(const Account& a) {
  return AccountStatus{a.state,
                       a.blocked_by,
                       a.reason,
                       a.since,
                       a.bounce_tolerance_until,
                       a.complaint_tolerance_until};
}

AccountStateChange ChangeFor(const Account& account, const Transition& transition, Actor actor,
                             AccountAction action) {
  AccountStateChange change;
  change.account = account.id;
  change.from = account.state;
  change.from_blocked_by = account.blocked_by;
  change.to = transition.next.state;
  change.blocked_by = transition.next.blocked_by;
  change.reason = transition.next.reason;
  change.at = transition.next.since;
  change.actor = std::string(ActorName(actor));
  change.action = std::string(AccountActionName(action));
  change.audit_text = transition.audit_text;
  change.start_purge = transition.start_purge;
  change.bounce_tolerance_until = transition.next.bounce_tolerance_until;
  change.complaint_tolerance_until = transition.next.complaint_tolerance_until;
  return change;
}

}  // namespace mailwarden
