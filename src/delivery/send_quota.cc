#include "delivery/send_quota.h"

#include <algorithm>

#include "core/account_name.h"

namespace mailwarden {

SendQuotas::SendQuotas(QuotaLimits default_limits, int claim_limit,
                       std::function<LocalDay(TimePoint)> local_day)
    : defaults_(default_limits),
      claim_limit_(std::max(1, claim_limit)),
      local_day_(std::move(local_day)) {}

void SendQuotas::SetAccount(AccountId account, std::string_view name,
                            std::optional<std::int64_t> max_per_hour,
                            std::optional<std::int64_t> max_per_day, TimePoint now) {
  Window& w = accounts_[account];
  w.exempt = IsReservedAccountName(name);  // the internal account
  w.own_per_hour = max_per_hour;
  w.own_per_day = max_per_day;
  w.limits.max_per_hour = max_per_hour.value_or(defaults_.max_per_hour);
  w.limits.max_per_day = max_per_day.value_or(defaults_.max_per_day);
  Track(account, w, now);
}

void SendQuotas::SetDefaults(QuotaLimits default_limits, TimePoint now) {
  defaults_ = default_limits;
  for (auto& [account, w] : accounts_) {
    w.limits.max_per_hour = w.own_per_hour.value_or(defaults_.max_per_hour);
    w.limits.max_per_day = w.own_per_day.value_or(defaults_.max_per_day);
    Track(account, w, now);
  }
}

QuotaVerdict SendQuotas::CheckWindow(const Window& w, TimePoint now) const {
  if (w.exempt) return {.may_send = QuotaVerdict::kUnlimited, .next_send = now};
  return CheckQuota(w.limits, w.hour, w.today_count, w.today, now);
}

QuotaVerdict SendQuotas::Check(AccountId account, TimePoint now) const {
  const auto it = accounts_.find(account);
  if (it == accounts_.end()) return {.may_send = QuotaVerdict::kUnlimited, .next_send = now};
  return CheckWindow(it->second, now);
}

std::int64_t SendQuotas::SentToday(AccountId account, TimePoint now) const {
  const auto it = accounts_.find(account);
  if (it == accounts_.end() || now >= it->second.today.end) return 0;
  return it->second.today_count;
}

void SendQuotas::Count(AccountId account, TimePoint now) {
  auto [it, added] = accounts_.try_emplace(account);
  Window& w = it->second;
  if (added) w.limits = defaults_;
  if (w.exempt) return;
  if (now >= w.today.end) {
    w.today = local_day_(now);
    w.today_count = 0;
  }
  w.hour.Add(now);
  ++w.today_count;
  Track(account, w, now);
}

void SendQuotas::Track(AccountId account, const Window& w, TimePoint now) {
  if (CheckWindow(w, now).may_send >= claim_limit_) {
    near_.erase(account);
  } else {
    near_.insert(account);
  }
}

std::optional<QuotaUsage> SendQuotas::UsageOf(AccountId account, TimePoint now) const {
  const auto it = accounts_.find(account);
  if (it == accounts_.end() || it->second.exempt) return std::nullopt;
  const Window& w = it->second;
  QuotaUsage usage;
  usage.limits = w.limits;
  usage.sent_last_hour = w.hour.Count(now);
  usage.sent_today = now < w.today.end ? w.today_count : 0;
  const QuotaVerdict v = CheckWindow(w, now);
  if (v.may_send <= 0) {
    const bool day = w.limits.max_per_day > 0 && usage.sent_today >= w.limits.max_per_day;
    usage.reached = day ? "day" : "hour";
    usage.next_send = v.next_send;
  }
  return usage;
}

SendQuotas::ClaimPlan SendQuotas::PlanClaim(TimePoint now) {
  ClaimPlan plan;
  for (auto it = near_.begin(); it != near_.end();) {
    const QuotaVerdict v = CheckWindow(accounts_.at(*it), now);
    if (v.may_send >= claim_limit_) {
      it = near_.erase(it);  // its window moved on: a claim's worth may go again
      continue;
    }
    if (v.may_send <= 0) {
      plan.skip.push_back(*it);
      if (!plan.next_send || v.next_send < *plan.next_send) plan.next_send = v.next_send;
    } else {
      plan.most.emplace_back(*it, static_cast<int>(v.may_send));
    }
    ++it;
  }
  return plan;
}

bool SendQuotas::CapsAClaim(std::optional<std::int64_t> max_per_hour,
                            std::optional<std::int64_t> max_per_day) const {
  const auto caps = [this](std::int64_t limit) { return limit > 0 && limit < claim_limit_; };
  return caps(max_per_hour.value_or(defaults_.max_per_hour)) ||
         caps(max_per_day.value_or(defaults_.max_per_day));
}

std::vector<AccountId> SendQuotas::Known() const {
  std::vector<AccountId> known;
  known.reserve(accounts_.size());
  for (const auto& [account, w] : accounts_) known.push_back(account);
  return known;
}

std::vector<AccountId> SendQuotas::ForgetIdle(TimePoint now) {
  std::vector<AccountId> forgotten;
  for (auto it = accounts_.begin(); it != accounts_.end();) {
    const Window& w = it->second;
    const bool counted_today = now < w.today.end && w.today_count > 0;
    // An account whose quota is less than a claim stays: the claims must cap it before its
    // mail is read (near_).
    if (counted_today || w.hour.Count(now) > 0 || near_.contains(it->first)) {
      ++it;
      continue;
    }
    forgotten.push_back(it->first);
    near_.erase(it->first);
    it = accounts_.erase(it);
  }
  return forgotten;
}

}  // namespace mailwarden
