// LimitBook: each account's effective limits (core/send_limits.h), answered from memory.
//
// What an account sets (its plan, its overrides, its own max_per_day and max_per_hour) and its
// plan's keys are read from the store and kept for `ttl`; the server's [policy] comes from
// `resolve` at every answer, so a reload of the configuration applies at once. A change made
// through this node's API calls Forget (an account's) or ForgetAll (a plan's), so it applies
// from the next message on; a change made on another node is seen within ttl.
//
// Used on the daemon's io_context only (not thread-safe).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "core/send_limits.h"
#include "store/store_runner.h"

namespace mailwarden {

class LimitBook {
 public:
  // The account's effective limits from its plan's keys (null: no plan, or a plan the store
  // does not have) and its own overrides (max_per_day and max_per_hour included), with the
  // configuration's [policy] (ResolveAccountLimits).
  using Resolve =
      std::function<ResolvedLimits(const LimitOverrides* plan, const LimitOverrides& own)>;

  LimitBook(StoreRunner& store, Resolve resolve,
            std::chrono::steady_clock::duration ttl = std::chrono::seconds(5));

  // The account's effective limits; the server's alone when the store cannot say (logged).
  boost::asio::awaitable<ResolvedLimits> Of(AccountId account);

  // What an account sets, as the store has it: its plan and overrides with the account row's
  // max_per_day and max_per_hour.
  static LimitOverrides OwnOverrides(const Account& account, const AccountLimits& limits);

  void Forget(AccountId account) { cache_.erase(account); }
  void ForgetAll() { cache_.clear(); }

 private:
  struct Entry {
    std::optional<LimitOverrides> plan;  // the keys of the account's plan, if it has one
    LimitOverrides own;
    std::chrono::steady_clock::time_point read;
  };
  StoreRunner& store_;
  Resolve resolve_;
  const std::chrono::steady_clock::duration ttl_;
  std::unordered_map<AccountId, Entry> cache_;
};

}  // namespace mailwarden
