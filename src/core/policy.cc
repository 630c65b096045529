#include "core/policy.h"

#include <algorithm>
#include <chrono>

namespace mailwarden {
namespace {

using Minutes = std::chrono::duration<std::int64_t, std::ratio<60>>;

TimePoint StartOfMinute(std::int64_t minute) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(Minutes(minute)));
}

}  // namespace

std::int64_t RollingHourCounter::MinuteOf(TimePoint t) {
  return std::chrono::floor<Minutes>(t.time_since_epoch()).count();
}

std::size_t RollingHourCounter::SlotOf(std::int64_t minute) {
  return static_cast<std::size_t>(((minute % kBuckets) + kBuckets) % kBuckets);
}

void RollingHourCounter::Add(TimePoint now, std::int64_t n) {
  const std::int64_t minute = MinuteOf(now);
  const std::size_t slot = SlotOf(minute);
  if (minute_[slot] == minute) {
    count_[slot] += n;
  } else if (minute_[slot] < minute || count_[slot] == 0) {
    minute_[slot] = minute;
    count_[slot] = n;
  }
}

std::int64_t RollingHourCounter::Count(TimePoint now) const {
  const std::int64_t minute = MinuteOf(now);
  std::int64_t total = 0;
  for (int i = 0; i < kBuckets; ++i) {
    if (minute_[i] > minute - kBuckets && minute_[i] <= minute) total += count_[i];
  }
  return total;
}

TimePoint RollingHourCounter::BelowAt(TimePoint now, std::int64_t limit) const {
  std::int64_t total = Count(now);
  if (total < limit) return now;
  const std::int64_t minute = MinuteOf(now);
  for (std::int64_t m = minute - kBuckets + 1; m <= minute; ++m) {
    const std::size_t slot = SlotOf(m);
    if (minute_[slot] == m) total -= count_[slot];
    if (total < limit) return StartOfMinute(m + kBuckets);
  }
  return StartOfMinute(minute + kBuckets);
}

QuotaVerdict CheckQuota(const QuotaLimits& limits, const RollingHourCounter& sent_last_hour,
                        std::int64_t sent_today, const LocalDay& today, TimePoint now) {
  std::int64_t hour_left = QuotaVerdict::kUnlimited;
  if (limits.max_per_hour > 0) {
    hour_left = std::max<std::int64_t>(0, limits.max_per_hour - sent_last_hour.Count(now));
  }
  std::int64_t day_left = QuotaVerdict::kUnlimited;
  if (limits.max_per_day > 0) {
    const std::int64_t counted = now < today.end ? sent_today : 0;
    day_left = std::max<std::int64_t>(0, limits.max_per_day - counted);
  }
  QuotaVerdict verdict{std::min(hour_left, day_left), now};
  if (verdict.may_send > 0) return verdict;
  // Without further sends the hour's count only falls, so the later of the two releases is
  // the first time both allow a message.
  if (hour_left == 0) {
    verdict.next_send =
        std::max(verdict.next_send, sent_last_hour.BelowAt(now, limits.max_per_hour));
  }
  if (day_left == 0) verdict.next_send = std::max(verdict.next_send, today.end);
  return verdict;
}

bool SpamGuardTrips(std::int64_t submitted_last_hour, std::int64_t spam_per_hour) {
  return spam_per_hour > 0 && submitted_last_hour > spam_per_hour;
}

bool BounceGuardTrips(std::int64_t failures, std::int64_t attempts, double bounce_rate,
                      std::int64_t bounce_min, bool tolerance_doubled) {
  if (attempts <= 0 || attempts < bounce_min) return false;
  const double threshold = tolerance_doubled ? 2 * bounce_rate : bounce_rate;
  // A quotient compares exactly with a rate written as a decimal ("0.3"): both round the same
  // real number to the nearest double, where threshold * attempts may round below it.
  return static_cast<double>(failures) / static_cast<double>(attempts) > threshold;
}

bool ComplaintGuardTrips(std::int64_t complaints, std::int64_t sent, double complaint_rate,
                         std::int64_t complaint_min, bool tolerance_doubled) {
  // The same test as the bounce guard's, over other counts.
  return BounceGuardTrips(complaints, sent, complaint_rate, complaint_min, tolerance_doubled);
}

}  // namespace mailwarden
