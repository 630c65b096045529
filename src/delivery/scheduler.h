// The delivery scheduler: claims due mail from the store in batches, hands each message to the
// transport (at most delivery.concurrency at once), and records the outcomes in batches.
//
// It never reads held mail: claiming asks the store for the due messages of active accounts
// only (Store::ClaimDue). Outcomes decide the message's future: 2xx sent, 5xx failed, 4xx
// deferred with a growing delay until delivery.max_lifetime, then failed. Delivery is
// at-least-once: a message is finished only once its outcome has committed.
//
// Quotas (DESIGN.md, "Quotas defer, never drop"; see send_quota.h): a message counts toward
// its account's quota when it is claimed for its first attempt. An account at its quota is
// skipped by the claims (its mail stays queued, unread) until its window lets mail go again;
// the scheduler wakes up for that. An account's limits are kept while it has sent in the last
// hour or today, or while its quota is less than a claim (read every 30 seconds); any other
// account's are read when its mail is first claimed, before any of it counts (a claim takes
// no more of it than its quota allows): a node with 100,000 accounts of which a few send
// keeps the state of those few. A message claimed beyond the quota (only when its account's
// limits were lowered since the last read) goes back to the queue, due when the window allows;
// the store counts that claim as an attempt.
//
// New mail needs no claim while nothing else is due: after a claim that found no more due
// mail, the scheduler offers its free slots to the store runner, which leases new mail of
// active accounts to this node in the insert's own transaction (StoreRunner's arrival leases)
// and hands it over here. A slot that frees while the offer stands goes back to it. The offer
// ends when anything else may be due (a wake-up: mail queued unleased, released, unblocked, a
// retry's time), and the next claim takes over, oldest first.
//
// Memory (delivery.max_sending_bytes): the bodies of the mail being delivered, leased on
// arrival or claimed, stay within it. A claim takes no message that would go past it (one
// larger message still goes when nothing else is in flight), and an offer lends the store
// only what is left of it. A large message waiting for room is not passed by smaller ones
// behind it: no offer is made until a claim has taken it.
//
// Runs on the daemon's io_context (one thread); Wake() and Stop() are called from that thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "config/config.h"
#include "core/failure_category.h"
#include "core/limit_windows.h"
#include "core/retry_policy.h"
#include "delivery/send_quota.h"
#include "delivery/transport.h"
#include "store/store_runner.h"

namespace mailwarden {

class Scheduler {
 public:
  // Told of each delivery attempt of a message of `account` that ended for some recipients:
  // how many ended (sent or failed) and how many of them failed. Deferred recipients count in
  // neither. Called on the io_context before the outcome is recorded (the bounce guard).
  // What one delivery attempt of one message came to, for the guards and /metrics.
  struct AttemptReport {
    AccountId account = 0;
    int attempted = 0;  // recipients whose attempt ended: sent or failed
    int failed = 0;
    int deferred = 0;                       // recipients to try again
    std::vector<FailureCategory> failures;  // the category of each failed recipient
    std::optional<double> latency_seconds;  // received to finished, once the message is
  };
  using OutcomeHook = std::function<void(const AttemptReport&)>;

  Scheduler(boost::asio::any_io_executor ex, const Config& config, StoreRunner& store,
            Transport& transport, const Clock& clock, std::string node);

  void SetOutcomeHook(OutcomeHook hook) { on_outcome_ = std::move(hook); }
  // Told, on the io_context, of each claim that left due mail queued for want of room
  // (delivery.max_sending_bytes).
  void SetBudgetHook(std::function<void()> hook) { on_budget_reached_ = std::move(hook); }
  // A daily limit passed: kind "limit.warning" (its warn_at fraction) or "limit.reached", at
  // most once a local day per account and kind on this node (the store's notice claim makes
  // it once over all nodes). count: the account's messages that went today; limit: its
  // max_per_day. On the io_context.
  using LimitHook = std::function<void(AccountId account, std::string_view kind, std::int64_t count,
                                       std::int64_t limit)>;
  void SetLimitHook(LimitHook hook) { on_limit_ = std::move(hook); }

  // Claims and delivers until Stop(); returns once in-flight deliveries have been recorded.
  boost::asio::awaitable<void> Run();

  // New mail, or mail released: look for due mail now instead of at the next timer.
  void Wake();
  void Stop();
  // The configuration's policy was reloaded: its quota limits apply from the next claim, and
  // the accounts' own limits are read again then. On the io_context.
  void ReloadPolicy();
  // An account's quotas as this node counts them (SendQuotas::UsageOf). On the io_context.
  // An account not known here has sent nothing in the last hour on this node.
  std::optional<QuotaUsage> QuotaUsageOf(AccountId account, TimePoint now) const {
    if (!quotas_.Knows(account)) return QuotaUsage{};
    return quotas_.UsageOf(account, now);
  }

 private:
  // One claim, and when it finds nothing, when the next message will be due (nullopt: none,
  // or the store could not say).
  struct ClaimOrNextDue {
    ClaimedBatch claimed;
    std::optional<TimePoint> next_due;
  };
  static Result<ClaimOrNextDue> ClaimOrAskNextDue(Store& store, const ClaimRequest& request);
  // Applies the quotas to what a claim returned (or what was leased on arrival: `reserved`,
  // its slots already counted in in_flight_), then starts the deliveries.
  boost::asio::awaitable<void> Admit(std::vector<ClaimedMessage> claimed, bool reserved);
  // What the store runner stored since the last notice (on the io_context).
  void OnArrival(StoreRunner::ArrivalNotice notice);
  // Offers the free slots, and the bytes left, for mail leased on arrival; `skip`: accounts
  // not to lease for.
  void Offer(int slots, std::vector<AccountId> skip);
  // Ends the offer: its untaken slots and bytes are free again.
  void Withdraw();
  // A delivery slot is free, and `bytes` (the body delivered in it): they go to the standing
  // offer, or else they are free for a claim and this returns true (the caller wakes the
  // scheduler to claim).
  bool FreeSlot(std::int64_t bytes);
  // Reads the quota limits of these accounts (a deleted one is left unknown) and keeps them:
  // all when `claimed` (their mail was claimed), else those known already or whose quota caps
  // a claim.
  boost::asio::awaitable<void> ReadAccounts(std::vector<AccountId> ids, bool claimed);
  // Forgets the idle accounts, and reads the limits of those known and of those whose quota
  // may cap a claim (every 30 seconds): an account whose quota is less than a claim is known
  // before its first mail, so that no claim takes more of it than its quota allows.
  boost::asio::awaitable<void> RefreshAccounts();
  boost::asio::awaitable<void> DeliverOne(ClaimedMessage message);
  boost::asio::awaitable<void> FlushOutcomes();
  DeliveryOutcome Decide(const ClaimedMessage& message, std::vector<RecipientOutcome> results,
                         TimePoint now) const;

  boost::asio::any_io_executor ex_;
  const Config& config_;
  StoreRunner& store_;
  Transport& transport_;
  const Clock& clock_;
  const std::string node_;
  const RetryPolicy retry_;
  // Every failure's category, from the reply (core/failure_category.h, with the provider's
  // rules of bounces.categories_file).
  const FailureClassifier classifier_;
  boost::asio::steady_timer wake_;
  bool stopping_ = false;
  bool woken_ = false;
  int in_flight_ = 0;  // slots in use: deliveries, and slots offered to the store runner
  std::int64_t bytes_in_flight_ = 0;  // their bodies' bytes, and the bytes offered with them
  bool offering_ = false;  // an offer of arrival leases stands (or ended in the runner unseen)
  std::vector<DeliveryOutcome> outcomes_;
  bool flushing_ = false;
  SendQuotas quotas_;
  std::chrono::steady_clock::time_point accounts_due_{};  // when to read the accounts again
  std::unordered_set<MessageId> handed_back_;             // claimed beyond a quota: not counted yet
  // Per account: its effective limits (as last read) and its per-sender and per-script
  // windows. Mail held back by one of these waits in line: `waiting` counts, per limit key,
  // the messages handed back, so that each is due when its turn may come (not all at once).
  struct FinerState {
    SendLimits limits;
    FinerWindows windows;
    std::unordered_map<std::string, std::int64_t> waiting;
    int warned_day = 0;  // the local day of the last limit.warning, and of limit.reached
    int reached_day = 0;
  };
  std::unordered_map<AccountId, FinerState> finer_;
  // Whether the message may go under its account's finer limits; if not, when to try it.
  // from: the message's From address when its account limits by it, else "".
  std::optional<TimePoint> HeldBackUntil(const ClaimedMessage& m, std::string_view from,
                                         TimePoint now);
  void NoteDailyCount(AccountId account, TimePoint now);
  // The account's policy.suppress_for (its plan's or own), as last read.
  Duration SuppressFor(AccountId account) const;
  LimitHook on_limit_;
  OutcomeHook on_outcome_;
  std::function<void()> on_budget_reached_;
};

}  // namespace mailwarden
