#include "delivery/scheduler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>

#include "core/local_day.h"
#include "core/suppression.h"
#include "core/text.h"
#include "identity/dkim_signer.h"

namespace mailwarden {
namespace asio = boost::asio;

namespace {

// With nothing due, look again at least this often (another node, or a lease running out).
constexpr auto kIdlePoll = std::chrono::seconds(5);
// How often the known accounts' quota limits are read again (limits changed through the API),
// and the idle ones forgotten.
constexpr auto kAccountRefresh = std::chrono::seconds(30);

// The message's From: header address for max_per_from_per_hour ("" when it has not exactly
// one): read from the header section of the message about to go, no store column needed.
std::string FromOf(const ClaimedMessage& m) {
  return SingleFromAddress(m.body).value_or(std::string());
}

// The key of the line of messages waiting for one finer limit: the limit's name and the value
// it counts by.
std::string WaitingKey(std::string_view limit, const ClaimedMessage& m, std::string_view from) {
  const std::string_view value = limit == "max_per_sender_per_hour" ? std::string_view(m.sender)
                                 : limit == "max_per_from_per_hour" ? from
                                                                    : std::string_view(m.script);
  return std::string(limit) + ":" + std::string(value);
}

}  // namespace

Scheduler::Scheduler(asio::any_io_executor ex, const Config& config, StoreRunner& store,
                     Transport& transport, const Clock& clock, std::string node)
    : ex_(ex),
      config_(config),
      store_(store),
      transport_(transport),
      clock_(clock),
      node_(std::move(node)),
      retry_{config.delivery.retry_first, config.delivery.retry_max, config.delivery.max_lifetime},
      classifier_(config.bounces.category_rules),
      wake_(ex),
      quotas_(QuotaLimits{.max_per_hour = config.policy.max_per_hour,
                          .max_per_day = config.policy.max_per_day},
              config.delivery.concurrency) {
  store_.SetArrivalHandler([this](StoreRunner::ArrivalNotice notice) {
    asio::post(ex_, [this, n = std::move(notice)]() mutable { OnArrival(std::move(n)); });
  });
}

Result<Scheduler::ClaimOrNextDue> Scheduler::ClaimOrAskNextDue(Store& store,
                                                               const ClaimRequest& request) {
  ClaimOrNextDue answer;
  MW_ASSIGN_OR_RETURN(answer.claimed, store.ClaimDue(request));
  if (answer.claimed.messages.empty() && !answer.claimed.budget_reached) {
    // A failure here only costs the exact wake-up time: the idle poll still comes.
    if (auto due = store.NextDueTime(request.skip); due) answer.next_due = *due;
  }
  return answer;
}

void Scheduler::ReloadPolicy() {
  quotas_.SetDefaults(QuotaLimits{.max_per_hour = config_.policy.max_per_hour,
                                  .max_per_day = config_.policy.max_per_day},
                      clock_.Now());
  accounts_due_ = {};
  Wake();
}

void Scheduler::Wake() {
  woken_ = true;
  wake_.cancel();
}

void Scheduler::Stop() {
  stopping_ = true;
  Withdraw();
  wake_.cancel();
}

void Scheduler::Offer(int slots, std::vector<AccountId> skip) {
  if (slots <= 0 || stopping_) return;
  ArrivalLease offer;
  offer.limit = slots;
  offer.lease_for = std::chrono::duration_cast<std::chrono::milliseconds>(config_.delivery.lease);
  offer.node = node_;
  offer.skip = std::move(skip);
  offer.max_bytes =
      std::max<std::int64_t>(config_.delivery.max_sending_bytes - bytes_in_flight_, 0);
  in_flight_ += slots;
  bytes_in_flight_ += offer.max_bytes;
  offering_ = true;
  store_.OfferArrivalLeases(std::move(offer));
}

void Scheduler::Withdraw() {
  if (!offering_) return;
  offering_ = false;
  const StoreRunner::Untaken untaken = store_.WithdrawArrivalLeases();
  in_flight_ -= untaken.slots;
  bytes_in_flight_ -= untaken.bytes;
}

bool Scheduler::FreeSlot(std::int64_t bytes) {
  // The slot and the bytes belong to the offer.
  if (offering_ && store_.AddArrivalLease(bytes)) return false;
  --in_flight_;
  bytes_in_flight_ -= bytes;
  return true;
}

void Scheduler::OnArrival(StoreRunner::ArrivalNotice notice) {
  bool wake = notice.queued;
  // Bytes of an offer that ended while its batch committed.
  bytes_in_flight_ -= notice.returned_bytes;
  if (notice.returned_bytes > 0) wake = true;
  for (int i = 0; i < notice.returned; ++i) wake = FreeSlot(0) || wake;
  if (wake) Wake();
  if (notice.leased.empty()) return;
  // Also while stopping: Run waits for these slots, and the mail goes out before the end.
  asio::co_spawn(ex_, Admit(std::move(notice.leased), /*reserved=*/true), asio::detached);
}

asio::awaitable<void> Scheduler::Run() {
  const int concurrency = config_.delivery.concurrency;
  while (!stopping_) {
    woken_ = false;
    // Something may be due that new mail must not pass: claims take over until they find
    // nothing more.
    Withdraw();
    if (in_flight_ == 0 && bytes_in_flight_ != 0) {
      // Nothing is delivered or lent, so no byte can be in use: a count gone wrong would stop
      // every claim for good. Said loudly, and mended.
      spdlog::error("delivery: {} bytes counted in flight with nothing in flight; reset",
                    bytes_in_flight_);
      bytes_in_flight_ = 0;
    }
    if (std::chrono::steady_clock::now() >= accounts_due_) co_await RefreshAccounts();
    const int room = concurrency - in_flight_;
    const std::int64_t bytes_left = config_.delivery.max_sending_bytes - bytes_in_flight_;
    std::optional<TimePoint> next_due;
    bool drained = false;                   // the claim took every due message it was allowed
    std::vector<AccountId> not_on_arrival;  // accounts whose quota the claims must apply
    // Claim in batches: a claim is a write transaction, so waiting until half the slots are
    // free costs a little latency and saves a commit per finished delivery.
    if (room > 0 && bytes_left > 0 && (in_flight_ == 0 || room >= std::max(1, concurrency / 2))) {
      ClaimRequest request;
      request.now = clock_.Now();
      request.limit = room;
      request.max_bytes = bytes_left;
      request.first_regardless = in_flight_ == 0;
      // A node that dies mid-delivery gives its mail back when the lease runs out (at its own
      // restart, at once: ReleaseLeases).
      request.lease_until = request.now + config_.delivery.lease;
      request.node = node_;
      SendQuotas::ClaimPlan plan = quotas_.PlanClaim(request.now);
      request.skip = plan.skip;
      request.most = std::move(plan.most);
      // When nothing is due, the same trip to the store thread says when something will be:
      // a submission to a blocked account wakes the scheduler once, not twice.
      std::function<Result<ClaimOrNextDue>(Store&)> claim = [request](Store& s) {
        return ClaimOrAskNextDue(s, request);
      };
      not_on_arrival = plan.skip;
      for (const auto& [account, most] : request.most) not_on_arrival.push_back(account);
      auto claimed = co_await store_.AsyncRun(std::move(claim), asio::use_awaitable);
      if (!claimed) {
        spdlog::error("delivery: cannot claim mail: {}", claimed.error().message);
      } else if (claimed->claimed.budget_reached) {
        // More is due, and waits for room: a delivery that ends wakes the next claim. No
        // offer meanwhile, so that new mail does not pass it.
        if (on_budget_reached_) on_budget_reached_();
        co_await Admit(std::move(claimed->claimed.messages), /*reserved=*/false);
      } else if (!claimed->claimed.messages.empty()) {
        drained = claimed->claimed.messages.size() < static_cast<std::size_t>(request.limit);
        co_await Admit(std::move(claimed->claimed.messages), /*reserved=*/false);
        if (!drained) continue;  // there may be more due right away
      } else {
        drained = true;
        next_due = claimed->next_due;
        // An account waiting for its quota window may send again before anything else is due.
        if (plan.next_send && (!next_due || *plan.next_send < *next_due)) {
          next_due = plan.next_send;
        }
      }
    }
    if (woken_ || stopping_) continue;
    // Nothing else is due now: new mail may go out as it is stored, without a claim.
    if (drained) Offer(concurrency - in_flight_, std::move(not_on_arrival));
    // Sleep until the next due message, a wake-up (new mail, a finished delivery freeing a
    // slot), or the idle poll.
    auto wait = std::chrono::steady_clock::now() + kIdlePoll;
    if (next_due) {
      auto until =
          std::chrono::steady_clock::now() +
          std::chrono::duration_cast<std::chrono::steady_clock::duration>(*next_due - clock_.Now());
      wait = std::min(wait, until);
    }
    wake_.expires_at(wait);
    boost::system::error_code ec;
    co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  // Let in-flight deliveries finish and their outcomes commit.
  while (in_flight_ > 0 || flushing_ || !outcomes_.empty()) {
    wake_.expires_after(std::chrono::milliseconds(20));
    boost::system::error_code ec;
    co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!flushing_ && !outcomes_.empty()) co_await FlushOutcomes();
  }
}

asio::awaitable<void> Scheduler::RefreshAccounts() {
  accounts_due_ = std::chrono::steady_clock::now() + kAccountRefresh;
  // Only the accounts with recent mail are kept, and those whose quota is less than a claim
  // (the claims must cap them before their mail is read): the others' windows are empty, and
  // their limits are read when their next mail is claimed (ReadAccounts).
  for (const AccountId account : quotas_.ForgetIdle(clock_.Now())) finer_.erase(account);
  std::vector<AccountId> ids = quotas_.Known();
  const std::int64_t claim = std::max(1, config_.delivery.concurrency);
  if (quotas_.CapsAClaim(std::nullopt, std::nullopt)) {
    // The policy's own quota is less than a claim: every account's is, unless it has a
    // larger one of its own.
    auto accounts = co_await store_.AsyncRun<std::vector<Account>>(
        [](Store& s) { return s.ListAccounts(); }, asio::use_awaitable);
    if (!accounts) {
      spdlog::warn("delivery: cannot read the accounts' quotas: {}", accounts.error().message);
      co_return;
    }
    for (const Account& a : *accounts) {
      if (quotas_.CapsAClaim(a.max_per_hour, a.max_per_day)) ids.push_back(a.id);
    }
  } else {
    // Only those with a quota of their own below a claim: an index-free read of the ids.
    auto below = co_await store_.AsyncRun<std::vector<AccountId>>(
        [claim](Store& s) { return s.ListAccountsWithQuotaBelow(claim); }, asio::use_awaitable);
    if (!below) {
      spdlog::warn("delivery: cannot read the accounts' quotas: {}", below.error().message);
      co_return;
    }
    ids.insert(ids.end(), below->begin(), below->end());
  }
  // Accounts whose plan or overrides give a quota below a claim.
  auto limits = co_await store_.AsyncRun<std::vector<AccountLimits>>(
      [](Store& s) { return s.ListAccountLimits(); }, asio::use_awaitable);
  auto plans = co_await store_.AsyncRun<std::vector<PlanRecord>>(
      [](Store& s) { return s.ListPlans(); }, asio::use_awaitable);
  if (!limits || !plans) {
    spdlog::warn("delivery: cannot read the accounts' plans: {}",
                 (!limits ? limits.error() : plans.error()).message);
  } else {
    std::unordered_map<std::string, LimitOverrides> by_name;
    for (PlanRecord& p : *plans) by_name[p.name] = std::move(p.limits);
    for (const AccountLimits& l : *limits) {
      const auto plan = l.plan.empty() ? by_name.end() : by_name.find(l.plan);
      const ResolvedLimits r =
          ResolveAccountLimits(config_, plan == by_name.end() ? nullptr : &plan->second, l.limits);
      if (quotas_.CapsAClaim(r.limits.max_per_hour, r.limits.max_per_day)) {
        ids.push_back(l.account);
      }
    }
  }
  std::ranges::sort(ids);
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  co_await ReadAccounts(std::move(ids), /*claimed=*/false);
}

asio::awaitable<void> Scheduler::ReadAccounts(std::vector<AccountId> ids, bool claimed) {
  if (ids.empty()) co_return;
  struct Read {
    std::vector<Account> accounts;
    std::unordered_map<AccountId, AccountLimits> limits;
    std::unordered_map<std::string, LimitOverrides> plans;
  };
  // One trip to the store thread: each account's row and limits by its key, the plans once.
  auto read = co_await store_.AsyncRun<Read>(
      [&ids](Store& s) -> Result<Read> {
        Read r;
        MW_ASSIGN_OR_RETURN(std::vector<PlanRecord> plans, s.ListPlans());
        for (PlanRecord& p : plans) r.plans[p.name] = std::move(p.limits);
        for (const AccountId id : ids) {
          MW_ASSIGN_OR_RETURN(std::optional<Account> account, s.GetAccount(id));
          if (!account) continue;  // deleted: its mail goes with it
          MW_ASSIGN_OR_RETURN(AccountLimits limits, s.GetAccountLimits(id));
          r.limits[id] = std::move(limits);
          r.accounts.push_back(std::move(*account));
        }
        return r;
      },
      asio::use_awaitable);
  if (!read) {
    spdlog::warn("delivery: cannot read the accounts' quotas: {}", read.error().message);
    co_return;
  }
  const TimePoint now = clock_.Now();
  for (const Account& a : read->accounts) {
    const AccountLimits& own = read->limits[a.id];
    LimitOverrides overrides = own.limits;
    overrides.max_per_day = a.max_per_day;
    overrides.max_per_hour = a.max_per_hour;
    const auto plan = own.plan.empty() ? read->plans.end() : read->plans.find(own.plan);
    const ResolvedLimits r = ResolveAccountLimits(
        config_, plan == read->plans.end() ? nullptr : &plan->second, overrides);
    // Kept when its mail was claimed, when it is known already, or when its quota caps a
    // claim; any other is as a new account (read when its next mail is claimed).
    if (!claimed && !quotas_.Knows(a.id) &&
        !quotas_.CapsAClaim(r.limits.max_per_hour, r.limits.max_per_day)) {
      continue;
    }
    // The plan's or the server's values are given as the account's own: a reload re-reads
    // them here (ReloadPolicy).
    quotas_.SetAccount(a.id, a.name, r.limits.max_per_hour, r.limits.max_per_day, now);
    finer_[a.id].limits = r.limits;
  }
}

std::optional<TimePoint> Scheduler::HeldBackUntil(const ClaimedMessage& m, std::string_view from,
                                                  TimePoint now) {
  auto it = finer_.find(m.account);
  if (it == finer_.end()) return std::nullopt;
  FinerState& f = it->second;
  const auto hit =
      f.windows.Check(f.limits, {.sender = m.sender, .from = from, .script = m.script}, now);
  if (!hit) return std::nullopt;
  // In line behind those already waiting for this limit: one window's worth an hour.
  const std::string key = WaitingKey(hit->key, m, from);
  const std::int64_t ahead = f.waiting[key]++;
  return hit->free_at + std::chrono::hours(ahead / std::max<std::int64_t>(hit->limit, 1));
}

Duration Scheduler::SuppressFor(AccountId account) const {
  if (auto it = finer_.find(account); it != finer_.end()) return it->second.limits.suppress_for;
  return config_.policy.suppress_for;
}

void Scheduler::NoteDailyCount(AccountId account, TimePoint now) {
  auto it = finer_.find(account);
  if (it == finer_.end() || !on_limit_) return;
  FinerState& f = it->second;
  const std::int64_t limit = f.limits.max_per_day;
  if (limit <= 0) return;
  const std::int64_t count = quotas_.SentToday(account, now);
  const int day = LocalDayNumber(now);
  if (count >= limit && f.reached_day != day) {
    f.reached_day = day;
    on_limit_(account, "limit.reached", count, limit);
  } else if (f.limits.warn_at > 0 && count < limit &&
             static_cast<double>(count) >= f.limits.warn_at * static_cast<double>(limit) &&
             f.warned_day != day) {
    f.warned_day = day;
    on_limit_(account, "limit.warning", count, limit);
  }
}

asio::awaitable<void> Scheduler::Admit(std::vector<ClaimedMessage> claimed, bool reserved) {
  // An account's limits are read when its mail is first claimed (and kept while it sends).
  std::vector<AccountId> unknown;
  for (const auto& m : claimed) {
    if (!quotas_.Knows(m.account) && std::ranges::find(unknown, m.account) == unknown.end()) {
      unknown.push_back(m.account);
    }
  }
  if (!unknown.empty()) co_await ReadAccounts(std::move(unknown), /*claimed=*/true);
  const TimePoint now = clock_.Now();
  for (auto& m : claimed) {
    // Retries of a deferred message were counted at its first attempt.
    const bool first = m.attempts == 0 || handed_back_.erase(m.id) > 0;
    if (first) {
      const QuotaVerdict verdict = quotas_.Check(m.account, now);
      if (verdict.may_send <= 0) {
        // Claimed before its account's limits were known: back to the queue, untouched,
        // due when the window allows. Nothing is dropped.
        handed_back_.insert(m.id);
        outcomes_.push_back(
            DeliveryOutcome{.id = m.id, .recipients = {}, .next_attempt = verdict.next_send});
        if (reserved) {
          // Leased on arrival for an account now at its quota: a claim plans again, and the
          // next offer leaves the account out.
          FreeSlot(static_cast<std::int64_t>(m.body.size()));
          Wake();
        }
        continue;
      }
      // The From address is read from the header only when an account limits by it.
      const auto finer = finer_.find(m.account);
      const std::string from =
          finer != finer_.end() && finer->second.limits.max_per_from_per_hour > 0 ? FromOf(m)
                                                                                  : std::string();
      if (const auto until = HeldBackUntil(m, from, now)) {
        // Its sender or script is at its limit: back to the queue, untouched, due when its
        // turn may come; the account's other mail goes meanwhile. Nothing is dropped.
        handed_back_.insert(m.id);
        outcomes_.push_back(DeliveryOutcome{.id = m.id, .recipients = {}, .next_attempt = *until});
        if (reserved) {
          FreeSlot(static_cast<std::int64_t>(m.body.size()));
          Wake();
        }
        continue;
      }
      quotas_.Count(m.account, now);
      if (finer != finer_.end()) {
        FinerState& f = finer->second;
        f.windows.Count({.sender = m.sender, .from = from, .script = m.script}, now);
        // One fewer in line for its sender's, its From's and its script's limits.
        for (const std::string& key : {WaitingKey("max_per_sender_per_hour", m, from),
                                       WaitingKey("max_per_from_per_hour", m, from),
                                       WaitingKey("max_per_script_per_hour", m, from)}) {
          if (auto w = f.waiting.find(key); w != f.waiting.end()) {
            if (--w->second <= 0) f.waiting.erase(w);
          }
        }
      }
      NoteDailyCount(m.account, now);
    }
    if (!reserved) {
      // Mail leased on arrival was counted with its offer.
      ++in_flight_;
      bytes_in_flight_ += static_cast<std::int64_t>(m.body.size());
    }
    asio::co_spawn(ex_, DeliverOne(std::move(m)), asio::detached);
  }
  if (!outcomes_.empty() && !flushing_) co_await FlushOutcomes();
}

DeliveryOutcome Scheduler::Decide(const ClaimedMessage& message,
                                  std::vector<RecipientOutcome> results, TimePoint now) const {
  DeliveryOutcome outcome;
  outcome.id = message.id;
  bool any_deferred = false;
  for (const auto& r : results)
    any_deferred = any_deferred || r.status == RecipientStatus::kPending;
  if (any_deferred) {
    auto next = NextAttempt(retry_, message.received_at, message.attempts + 1, now);
    if (next) {
      outcome.next_attempt = *next;
    } else {
      // Out of time: the deferral becomes a failure, with the last reply kept.
      for (auto& r : results) {
        if (r.status == RecipientStatus::kPending) {
          r.status = RecipientStatus::kFailed;
          r.reply = "gave up after " + std::to_string(message.attempts + 1) +
                    " attempts (delivery.max_lifetime): " + r.reply;
        }
      }
    }
  }
  for (auto& r : results) {
    if (r.status == RecipientStatus::kFailed && r.category.empty()) {
      r.category = std::string(FailureCategoryName(classifier_.Classify(r.reply)));
    }
  }
  outcome.recipients = std::move(results);
  return outcome;
}

asio::awaitable<void> Scheduler::DeliverOne(ClaimedMessage message) {
  // Suppressed recipients (the store found them at the claim) fail at once; the transport
  // is given the others alone, and is not called when there are none.
  std::vector<ClaimedRecipient> all = std::move(message.recipients);
  message.recipients.clear();
  for (const ClaimedRecipient& r : all) {
    if (!r.suppressed) message.recipients.push_back(r);
  }
  std::vector<RecipientOutcome> sent;
  if (!message.recipients.empty()) sent = co_await transport_.Deliver(message);
  if (sent.size() != message.recipients.size()) {
    spdlog::critical("delivery: transport returned {} outcomes for {} recipients of id={}",
                     sent.size(), message.recipients.size(), message.id);
    std::abort();
  }
  message.recipients = std::move(all);
  std::vector<RecipientOutcome> results;
  results.reserve(message.recipients.size());
  int suppressed = 0;
  for (std::size_t i = 0, next = 0; i < message.recipients.size(); ++i) {
    const ClaimedRecipient& r = message.recipients[i];
    if (r.suppressed) {
      const Suppression& s = *r.suppressed;
      results.push_back(RecipientOutcome{
          .index = r.index,
          .status = RecipientStatus::kFailed,
          .reply = SuppressedReply(s.category, s.status, s.reply, s.at),
          .category = std::string(FailureCategoryName(FailureCategory::kSuppressed))});
      ++suppressed;
    } else {
      results.push_back(std::move(sent[next++]));
      results.back().index = r.index;
    }
  }
  const TimePoint now = clock_.Now();
  DeliveryOutcome outcome = Decide(message, std::move(results), now);
  outcome.suppress_for = SuppressFor(message.account);
  for (std::size_t i = 0; i < outcome.recipients.size(); ++i) {
    const auto& r = outcome.recipients[i];
    const char* result = r.status == RecipientStatus::kSent     ? "sent"
                         : r.status == RecipientStatus::kFailed ? "failed"
                                                                : "deferred";
    // The reply, the remote server's words, stays the line's last field.
    spdlog::info("id={} account={} from=<{}> to=<{}> result={}{}{} attempt={} reply=\"{}\"",
                 message.id, message.account_name, message.sender, message.recipients[i].address,
                 result, r.category.empty() ? "" : " category=", r.category, message.attempts + 1,
                 LogText(r.reply));
  }
  if (on_outcome_) {
    AttemptReport report;
    report.account = message.account;
    for (const auto& r : outcome.recipients) {
      report.attempted += r.status != RecipientStatus::kPending ? 1 : 0;
      report.failed += r.status == RecipientStatus::kFailed ? 1 : 0;
      if (r.status == RecipientStatus::kFailed) {
        report.failures.push_back(
            ParseFailureCategory(r.category).value_or(FailureCategory::kOther));
      }
      report.deferred += r.status == RecipientStatus::kPending ? 1 : 0;
    }
    // A suppressed recipient was never attempted: the bounce guard counted its first failure
    // and does not count it again.
    report.attempted -= suppressed;
    report.failed -= suppressed;
    if (report.deferred == 0) {
      report.latency_seconds = std::chrono::duration<double>(now - message.received_at).count();
    }
    on_outcome_(report);
  }

  outcomes_.push_back(std::move(outcome));
  const bool claim = FreeSlot(static_cast<std::int64_t>(message.body.size()));
  if (!flushing_) co_await FlushOutcomes();
  if (claim) Wake();
}

asio::awaitable<void> Scheduler::FlushOutcomes() {
  flushing_ = true;
  // Outcomes that finish while one batch commits go into the next: one transaction for many.
  while (!outcomes_.empty()) {
    std::vector<DeliveryOutcome> batch;
    batch.swap(outcomes_);
    const TimePoint now = clock_.Now();
    auto shared = std::make_shared<std::vector<DeliveryOutcome>>(std::move(batch));
    std::function<Result<void>(Store&)> record = [shared, now](Store& s) {
      return s.RecordOutcomes(*shared, now);
    };
    auto r = co_await store_.AsyncRun(std::move(record), asio::use_awaitable);
    if (!r) {
      // The lease brings these messages back; delivery is at-least-once.
      spdlog::error("delivery: cannot record {} outcomes: {}", shared->size(), r.error().message);
    }
  }
  flushing_ = false;
}

}  // namespace mailwarden
