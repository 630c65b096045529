// SendQuotas: the quotas of DESIGN.md ("Quotas defer, never drop") as the scheduler keeps them:
// each account's max_per_hour over a rolling hour and max_per_day over the daemon's local day
// (the account's own limits, else policy's; 0 or less: no limit).
//
// A message counts toward its account's quota when the scheduler claims it for its first
// attempt; retries of a deferred message do not count again. Mail beyond a quota is not
// claimed: its account goes into ClaimRequest::skip until the window lets one more go, and
// into ClaimRequest::most while fewer than a claim's worth may go, so its queued mail is not
// read over and over while it waits. Reserved accounts (the internal "_mailwarden") have no
// quota.
//
// In memory only: a restarted daemon counts its windows afresh (a node-local quota, like the
// in-flight limit). Not synchronised: owned by the scheduler, on the io_context.
#pragma once

#include <functional>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/local_day.h"
#include "core/policy.h"
#include "core/types.h"

namespace mailwarden {

class SendQuotas {
 public:
  // What a claim should leave out or cap, and when a skipped account may send again.
  struct ClaimPlan {
    std::vector<AccountId> skip;
    std::vector<std::pair<AccountId, int>> most;
    std::optional<TimePoint> next_send;  // the earliest time a skipped account may send
  };

  // default_limits: policy.max_per_hour / max_per_day. claim_limit: the most a claim asks for
  // (delivery.concurrency); an account that may send at least that many needs no cap.
  // local_day: LocalDayAround (core/local_day.h), or a test's own calendar.
  SendQuotas(QuotaLimits default_limits, int claim_limit,
             std::function<LocalDay(TimePoint)> local_day = LocalDayAround);

  // What is known of an account: its name (a reserved name has no quota) and its own limits
  // (nullopt: the policy's). Called for an account when its mail is first claimed, and again
  // when the known accounts are re-read.
  void SetAccount(AccountId account, std::string_view name,
                  std::optional<std::int64_t> max_per_hour, std::optional<std::int64_t> max_per_day,
                  TimePoint now);
  bool Knows(AccountId account) const { return accounts_.contains(account); }
  // Whether an account with these limits of its own (nullopt: the policy's) may send fewer
  // than a claim's worth in a fresh window: the claims must know it before its mail comes.
  bool CapsAClaim(std::optional<std::int64_t> max_per_hour,
                  std::optional<std::int64_t> max_per_day) const;
  // The accounts known (told by SetAccount or counted).
  std::vector<AccountId> Known() const;
  // Forgets the accounts that counted nothing in the last hour nor on now's local day, unless
  // their quota is less than a claim, and returns them: their quotas allow what a new
  // account's would, so only the accounts with recent mail are kept (a node with 100,000 idle
  // accounts keeps none).
  std::vector<AccountId> ForgetIdle(TimePoint now);

  // New policy limits (a reload): every account without limits of its own takes them at once;
  // what was counted stays counted.
  void SetDefaults(QuotaLimits default_limits, TimePoint now);

  // How many more of the account's messages may go at now (an unknown account: unlimited).
  QuotaVerdict Check(AccountId account, TimePoint now) const;

  // The account's messages counted on now's local day (0 for an unknown account).
  std::int64_t SentToday(AccountId account, TimePoint now) const;

  // Counts one message of the account claimed for its first attempt at now.
  void Count(AccountId account, TimePoint now);

  ClaimPlan PlanClaim(TimePoint now);

  // An account's quotas as this node counts them, for the status the API shows; nullopt for
  // an account not known yet, and for the internal account (no quota).
  std::optional<QuotaUsage> UsageOf(AccountId account, TimePoint now) const;

 private:
  struct Window {
    bool exempt = false;
    QuotaLimits limits;
    // The account's own limits (nullopt: the policy's), as last told by SetAccount.
    std::optional<std::int64_t> own_per_hour;
    std::optional<std::int64_t> own_per_day;
    RollingHourCounter hour;
    std::int64_t today_count = 0;
    LocalDay today{};
  };
  // Keeps near_ right for one account after its count or limits changed.
  void Track(AccountId account, const Window& w, TimePoint now);
  QuotaVerdict CheckWindow(const Window& w, TimePoint now) const;

  QuotaLimits defaults_;
  const int claim_limit_;
  const std::function<LocalDay(TimePoint)> local_day_;
  std::unordered_map<AccountId, Window> accounts_;
  // The accounts that may send fewer than claim_limit_ now: the only ones a claim must skip or
  // cap. Any other may send at least a claim's worth, and only counting lowers that.
  std::unordered_set<AccountId> near_;
};

}  // namespace mailwarden
