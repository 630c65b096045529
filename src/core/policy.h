// Quotas and guards (DESIGN.md, "Account states"): pure decisions over counters that the
// caller keeps. Quotas only say when mail may go (they defer, never drop); guards only say
// whether to block, which the caller then asks of Decide() in account_state.h.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <string_view>

#include "core/local_day.h"
#include "core/types.h"

namespace mailwarden {

// How many messages went in the last hour, as 60 one-minute buckets. A message counts in the
// window from its minute until 60 minutes after that minute began, so the window is at most a
// minute short of a full hour: mail may leave up to a minute early, never late.
//
// Not synchronised: one owner at a time, like any value.
class RollingHourCounter {
 public:
  // Counts n messages at `now`. Time is expected not to go back; n at a time more than an
  // hour before the latest Add is outside every window still answerable, and is dropped.
  void Add(TimePoint now, std::int64_t n = 1);

  // The messages counted in the hour up to `now`.
  std::int64_t Count(TimePoint now) const;

  // The earliest time at or after `now` at which Count() drops below `limit`, if nothing more
  // is added: `now` itself when it already is. limit must be at least 1.
  TimePoint BelowAt(TimePoint now, std::int64_t limit) const;

 private:
  static constexpr int kBuckets = 60;
  static std::int64_t MinuteOf(TimePoint t);
  static std::size_t SlotOf(std::int64_t minute);

  std::array<std::int64_t, kBuckets> count_{};
  std::array<std::int64_t, kBuckets> minute_{};  // which minute each slot counts now
};

// An account's quotas; a limit of 0 or less means no limit.
struct QuotaLimits {
  std::int64_t max_per_hour = 0;  // rolling hour
  std::int64_t max_per_day = 0;   // the daemon's local day
};

// An account's quotas as the scheduler counts them: the limits, what was counted in their
// windows and, when no more may go now, which limit holds the mail ("hour" or "day"; the day
// when both do) and when the next message may go.
struct QuotaUsage {
  QuotaLimits limits;
  std::int64_t sent_last_hour = 0;
  std::int64_t sent_today = 0;
  std::string_view reached;  // "hour", "day", or empty while mail may go
  TimePoint next_send{};
};

struct QuotaVerdict {
  static constexpr std::int64_t kUnlimited = std::numeric_limits<std::int64_t>::max();

  std::int64_t may_send = 0;  // how many more messages may go now; kUnlimited when no limit
  TimePoint next_send{};      // now when may_send > 0, else the earliest time one may go
};

// Whether the account's mail may go at `now`, given the messages sent in the rolling hour and
// `sent_today` in `today`. A `today` that has ended is a new day: sent_today no longer
// counts. Counts over a limit (limits lowered, or several nodes sending at once) are fine:
// the mail then waits longer.
QuotaVerdict CheckQuota(const QuotaLimits& limits, const RollingHourCounter& sent_last_hour,
                        std::int64_t sent_today, const LocalDay& today, TimePoint now);

// The spam guard trips when an account submits more than spam_per_hour messages in an hour
// (exactly spam_per_hour does not trip). spam_per_hour of 0 or less turns the guard off.
// The count should start no earlier than the last lift of a block (UNBLOCK, or the PURGE
// request), or the flood that caused the block would block the account again at once.
bool SpamGuardTrips(std::int64_t submitted_last_hour, std::int64_t spam_per_hour);

// The bounce guard trips when failures / attempts passes (is above) bounce_rate over at least
// bounce_min attempts; below bounce_min it never trips. Doubled tolerance (an UNBLOCK of a
// bounce_guard block, for 24 hours: BounceToleranceDoubled) doubles the rate the failures may
// reach, so a bounce_rate of 0.5 or more then never trips; bounce_min stays, since it is how
// many attempts make a fair sample, not a tolerance. Like the spam guard's, the counts should
// start no earlier than the last lift of a block.
bool BounceGuardTrips(std::int64_t failures, std::int64_t attempts, double bounce_rate,
                      std::int64_t bounce_min, bool tolerance_doubled);

// The complaint guard trips when complaints / sent passes (is above) complaint_rate over at
// least complaint_min messages sent; below complaint_min it never trips. Both counts are the
// account's of the daemon's local day (daily_counters), the window mailbox providers rate a
// sender's complaints by. Doubled tolerance (an UNBLOCK of a complaint_guard block, for 24
// hours: ComplaintToleranceDoubled) doubles the rate; complaint_min stays.
bool ComplaintGuardTrips(std::int64_t complaints, std::int64_t sent, double complaint_rate,
                         std::int64_t complaint_min, bool tolerance_doubled);

}  // namespace mailwarden
