// When to try a deferred message again, and when to give up.
#pragma once

#include <optional>

#include "core/types.h"

namespace mailwarden {

struct RetryPolicy {
  Duration first = std::chrono::seconds(60);  // after the first failed attempt
  Duration cap = std::chrono::hours(1);       // the delay never grows past this
  Duration max_lifetime = std::chrono::hours(24 * 5);
};

// The next attempt after `attempts` attempts (counting the one that just failed), doubling
// from policy.first up to policy.cap; nullopt when that would fall after received_at +
// max_lifetime, or when max_lifetime has already passed: the recipients then fail.
std::optional<TimePoint> NextAttempt(const RetryPolicy& policy, TimePoint received_at, int attempts,
                                     TimePoint now);

}  // namespace mailwarden
