#include "store/limit_book.h"

#include <spdlog/spdlog.h>

#include <boost/asio/use_awaitable.hpp>

namespace mailwarden {

LimitBook::LimitBook(StoreRunner& store, Resolve resolve, std::chrono::steady_clock::duration ttl)
    : store_(store), resolve_(std::move(resolve)), ttl_(ttl) {}

LimitOverrides LimitBook::OwnOverrides(const Account& account, const AccountLimits& limits) {
  LimitOverrides own = limits.limits;
  own.max_per_day = account.max_per_day;
  own.max_per_hour = account.max_per_hour;
  return own;
}

boost::asio::awaitable<ResolvedLimits> LimitBook::Of(AccountId account) {
  const auto now = std::chrono::steady_clock::now();
  if (auto it = cache_.find(account); it != cache_.end() && now - it->second.read < ttl_) {
    const Entry& e = it->second;
    co_return resolve_(e.plan ? &*e.plan : nullptr, e.own);
  }
  struct Read {
    std::optional<Account> account;
    AccountLimits limits;
    std::optional<PlanRecord> plan;
  };
  std::function<Result<Read>(Store&)> read = [account](Store& s) -> Result<Read> {
    Read r;
    MW_ASSIGN_OR_RETURN(r.account, s.GetAccount(account));
    MW_ASSIGN_OR_RETURN(r.limits, s.GetAccountLimits(account));
    if (!r.limits.plan.empty()) {
      MW_ASSIGN_OR_RETURN(r.plan, s.GetPlan(r.limits.plan));
    }
    return r;
  };
  auto got = co_await store_.AsyncRun(std::move(read), boost::asio::use_awaitable);
  if (!got || !got->account) {
    if (!got)
      spdlog::warn("limits: cannot read account {}'s limits: {}", account, got.error().message);
    co_return resolve_(nullptr, LimitOverrides{});
  }
  Entry& e = cache_[account];
  e.plan.reset();
  if (got->plan) e.plan = got->plan->limits;
  e.own = OwnOverrides(*got->account, got->limits);
  e.read = now;
  co_return resolve_(e.plan ? &*e.plan : nullptr, e.own);
}

}  // namespace mailwarden
