// AccountGuard: the spam and bounce guards of DESIGN.md ("Guards block by themselves").
//
// It counts each account's submissions and delivery results in memory, and when a guard trips
// on an active account it blocks it the way the API does (Decide, then SetAccountState with
// its audit record; a lost compare-and-set race is fine) and hands a notice for the account's
// report recipient to `notify` (the daemon stores it through SystemMailer).
//
// Windows: both guards look at the rolling hour (RollingHourCounter, 60 one-minute buckets).
// The spam guard counts accepted submissions. The bounce guard counts the recipients whose
// attempt ended, sent or failed, and those that failed; deferred recipients (4xx) count in
// neither, so a relay that is down blocks nobody.
//
// Counting restarts after a change of the account's state: the store is read only when a
// count crosses a guard's threshold, and if the account's state changed (its `since`) after
// its counts began, or it is not active, the counts start again from zero instead of
// blocking. So the flood that caused a block never blocks again after its lift; the price is
// that what was counted between a lift and that read is forgotten too (at most one
// threshold's worth). In memory only: a restarted daemon counts afresh. The internal account
// (a reserved name) is never acted on.
//
// Runs on the daemon's io_context; every method is called from it.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>

#include "config/config.h"
#include "core/account_state.h"
#include "core/limit_windows.h"
#include "core/policy.h"
#include "store/store_runner.h"

namespace mailwarden {

// An account's counts over the last hour. Pure: time is passed in.
class GuardCounts {
 public:
  void Submitted(TimePoint now) { submitted_.Add(now); }
  void Quarantined(TimePoint now) { quarantined_.Add(now); }
  void Delivered(TimePoint now, std::int64_t attempted, std::int64_t failed);
  std::int64_t submitted(TimePoint now) const { return submitted_.Count(now); }
  std::int64_t attempted(TimePoint now) const { return attempted_.Count(now); }
  std::int64_t failed(TimePoint now) const { return failed_.Count(now); }
  std::int64_t quarantined(TimePoint now) const { return quarantined_.Count(now); }
  void Reset() { *this = GuardCounts(); }

 private:
  RollingHourCounter submitted_;
  RollingHourCounter attempted_;
  RollingHourCounter failed_;
  RollingHourCounter quarantined_;
};

// The content guard: policy.quarantine_per_hour quarantined messages in the hour (0: off).
bool ContentGuardTrips(const GuardCounts& counts, const Config::Policy& policy, TimePoint now);

// Which guard trips on these counts, if any: the spam guard first (for content, then for
// volume; both block as spam_guard).
std::optional<Actor> GuardTripped(const GuardCounts& counts, const Config::Policy& policy,
                                  bool tolerance_doubled, TimePoint now);

// The block's reason, one line with the numbers, in English (it goes into the audit log and
// the panel): "spam_guard: 6 messages submitted in the last hour, more than 5", or for
// content "spam_guard: content: 3 messages quarantined by the content scanner in the last
// hour, the limit is 3".
std::string GuardReason(Actor guard, const GuardCounts& counts, const Config::Policy& policy,
                        bool tolerance_doubled, TimePoint now);

struct GuardNotice {
  std::string to;  // the account's report recipient
  std::string subject;
  std::string text;
};

// The notice to the report recipient, in the account's language ("pl", else English): what
// happened, why, and how to lift the block.
GuardNotice ComposeGuardNotice(Actor guard, const Account& account, std::string_view reason,
                               const Config::Policy& policy, TimePoint at);

class AccountGuard {
 public:
  using Notify = std::function<void(GuardNotice)>;

  AccountGuard(boost::asio::any_io_executor ex, const Config& config, StoreRunner& store,
               const Clock& clock, Notify notify);

  // A message of the account was accepted (stored).
  void OnSubmitted(AccountId account);
  // Its recipients, and the account's policy.unique_recipients_per_hour (0: off): more
  // different recipients in the clock hour than that blocks it (spam_guard, the reason naming
  // the limit).
  void OnRecipients(AccountId account, const std::vector<std::string>& recipients,
                    std::int64_t unique_per_hour);
  // A delivery attempt of one of its messages ended for `attempted` recipients, `failed` of
  // them failed (Scheduler::OutcomeHook).
  void OnOutcome(AccountId account, int attempted, int failed);
  // The content scanner quarantined a message of the account (the content guard).
  void OnQuarantined(AccountId account);
  // The complaint guard blocked the account (the store did, in the transaction that recorded
  // the complaint: Store::RecordComplaint): counted, logged and noticed as this guard's own
  // blocks are. `before` is the account as it was before the block.
  void OnComplaintBlock(const Account& before, std::string_view reason);

  // How many guard blocks this guard made (for tests and metrics).
  std::int64_t blocks() const { return blocks_; }

  // Told of every block a guard makes (for /metrics), whether or not a notice goes out.
  void SetBlockHook(std::function<void(BlockedBy)> hook) { on_block_ = std::move(hook); }

 private:
  struct Watch {
    GuardCounts counts;
    TimePoint counting_from{};           // counts began then (the latest reset)
    TimePoint bounce_tolerance_until{};  // as last read from the store
    bool checking = false;               // a check of the store is under way
    bool exempt = false;                 // the internal account
    UniqueRecipients unique;             // this hour's different recipients
    std::int64_t unique_limit = 0;       // policy.unique_recipients_per_hour, as last given
    bool UniqueTrips() const { return unique_limit > 0 && unique.count() > unique_limit; }
  };

  Watch& WatchOf(AccountId account, TimePoint now);
  void MaybeCheck(AccountId account, Watch& watch, TimePoint now);
  boost::asio::awaitable<void> Check(AccountId account);

  boost::asio::any_io_executor ex_;
  const Config& config_;
  StoreRunner& store_;
  const Clock& clock_;
  Notify notify_;
  std::unordered_map<AccountId, Watch> watches_;  // node-based: references stay valid
  std::int64_t blocks_ = 0;
  std::function<void(BlockedBy)> on_block_;
};

}  // namespace mailwarden
