// Between core's decisions and the store: an account as core judges it, and the store write
// that applies what core decided. One place, used by the API, the guards and the purge job.
#pragma once

#include "core/account_state.h"
#include "store/store.h"

namespace mailwarden {

// The account's status as Decide reads it.
AccountStatus StatusOf(const Account& account);

// The compare-and-set write of a decided transition: from the account's current state to
// transition.next, with the audit record (actor, action, why) and the purge watermark.
AccountStateChange ChangeFor(const Account& account, const Transition& transition, Actor actor,
                             AccountAction action);

}  // namespace mailwarden
