#include "core/retry_policy.h"

#include <algorithm>

namespace mailwarden {

std::optional<TimePoint> NextAttempt(const RetryPolicy& policy, TimePoint received_at, int attempts,
                                     TimePoint now) {
  const TimePoint deadline = received_at + policy.max_lifetime;
  if (now >= deadline) return std::nullopt;
  Duration delay = policy.first;
  for (int i = 1; i < attempts && delay < policy.cap; ++i) delay *= 2;
  delay = std::min(delay, policy.cap);
  const TimePoint next = now + delay;
  // The last try happens at the deadline rather than never.
  return std::min(next, deadline);
}

}  // namespace mailwarden
