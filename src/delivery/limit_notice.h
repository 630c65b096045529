// The notice an account's report recipient gets, once a day, when its mail passes
// policy.warn_at of its daily limit (DESIGN.md, "Plans and limits"), and the events of a
// daily limit (docs/webhooks.md: limit.warning, limit.reached).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "delivery/account_guard.h"

namespace mailwarden {

// In the account's language ("pl", else English): how much went today, the limit, and that
// mail past it waits (or, with over_limit = "refuse", is refused) until the next day.
GuardNotice ComposeLimitWarning(const Account& account, std::int64_t count, std::int64_t limit,
                                OverLimit over_limit);

// The event's data: {"version", "limit", "value", "count", "day"}.
std::string LimitEventData(std::int64_t count, std::int64_t limit, int day);

}  // namespace mailwarden
