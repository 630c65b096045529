#include "delivery/held_mail_jobs.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/account_state.h"
#include "core/duration.h"
#include "store/account_change.h"

namespace mailwarden {
namespace asio = boost::asio;

namespace {

// Messages per transaction deleting purged rows or expiring held mail. Batches run on the
// store's background lane, only when no submission or claim waits, so a batch is the longest
// any of those can be delayed: small enough to keep that to a few milliseconds, large enough
// to delete a million purged rows in minutes.
constexpr int kBatch = 200;
// How often finished mail past store.keep_finished is looked for (a day's worth of a busy
// server is then deleted in small steps through the day, not all at once).
constexpr auto kFinishedEvery = std::chrono::minutes(10);

}  // namespace

HeldMailJobs::HeldMailJobs(asio::any_io_executor ex, const Config& config, StoreRunner& store,
                           const Clock& clock, std::function<void()> release_held)
    : ex_(ex),
      config_(config),
      store_(store),
      clock_(clock),
      release_held_(std::move(release_held)),
      wake_(ex) {}

void HeldMailJobs::PurgeStarted(AccountId account) {
  if (queued_.insert(account).second) purges_.push_back(account);
  wake_.cancel();
}

void HeldMailJobs::Stop() {
  stopping_ = true;
  wake_.cancel();
}

asio::awaitable<void> HeldMailJobs::Run() {
  // Store jobs capture by reference (see StoreRunner::AsyncRun): this coroutine waits for them.
  auto purging = co_await store_.AsyncRun<std::vector<AccountId>>(
      [&](Store& s) { return s.AccountsInState(AccountState::kPurging); }, asio::use_awaitable);
  if (purging) {
    for (AccountId id : *purging) PurgeStarted(id);
  } else {
    spdlog::error("held mail: cannot list purging accounts: {}", purging.error().message);
  }
  // Once, at start: purged rows a previous run had not deleted yet (of deleted accounts too).
  auto with_rows = co_await store_.AsyncRunBackground<std::vector<AccountId>>(
      [&](Store& s) { return s.AccountsWithPurgedRows(); }, asio::use_awaitable);
  if (with_rows) {
    for (const AccountId id : *with_rows) {
      if (deleting_.insert(id).second) deletions_.push_back(id);
    }
  } else {
    spdlog::error("held mail: cannot list accounts: {}", with_rows.error().message);
  }
  // Expiry is checked a few times per hold period, at most once a minute.
  const auto expiry_every = std::min<std::chrono::steady_clock::duration>(config_.policy.hold / 4,
                                                                          std::chrono::minutes(1));
  auto next_expiry = std::chrono::steady_clock::now();
  auto next_finished = std::chrono::steady_clock::now();
  while (!stopping_) {
    if (!purges_.empty()) {
      const AccountId account = purges_.front();
      purges_.pop_front();
      queued_.erase(account);
      co_await EndPurge(account);
      continue;
    }
    if (std::chrono::steady_clock::now() >= next_expiry) {
      co_await ExpireDue();
      next_expiry = std::chrono::steady_clock::now() + expiry_every;
      continue;
    }
    if (!deletions_.empty()) {
      // One batch per account in turn, so one huge purge does not hold back the others.
      const AccountId account = deletions_.front();
      deletions_.pop_front();
      if (co_await DeleteSome(account)) {
        deletions_.push_back(account);
      } else {
        deleting_.erase(account);
      }
      // Let submissions, deliveries and API requests in between batches.
      co_await asio::post(ex_, asio::use_awaitable);
      continue;
    }
    if (std::chrono::steady_clock::now() >= next_finished) {
      finished_left_ = true;
      next_finished = std::chrono::steady_clock::now() + kFinishedEvery;
    }
    if (finished_left_) {
      // After purges and expiry: one batch per round, so a purge asked for meanwhile is not
      // kept waiting behind a long history.
      finished_left_ = co_await DeleteFinishedSome();
      co_await asio::post(ex_, asio::use_awaitable);
      continue;
    }
    wake_.expires_at(std::min(next_expiry, next_finished));
    boost::system::error_code ec;
    co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<void> HeldMailJobs::EndPurge(AccountId account) {
  // The store purged the mail when the purge started: the account goes back to active at
  // once, and its rows are deleted in the background.
  auto found = co_await store_.AsyncRun<std::optional<Account>>(
      [&](Store& s) { return s.GetAccount(account); }, asio::use_awaitable);
  if (!found) {
    spdlog::error("purge: account id {}: {}", account, found.error().message);
    PurgeStarted(account);  // try again on the next round rather than leave it purging
    co_return;
  }
  if (!*found) co_return;
  const Account& a = **found;
  if (a.purge_left > 0 && deleting_.insert(account).second) deletions_.push_back(account);
  if (a.state != AccountState::kPurging) co_return;
  const TimePoint now = clock_.Now();
  auto decided = Decide(StatusOf(a), AccountAction::kPurgeDone, Actor::kSystem, "", now);
  if (!decided) {
    spdlog::critical("purge: account {} cannot end its purge: {}", a.name, decided.error().message);
    std::abort();
  }
  const AccountStateChange change =
      ChangeFor(a, *decided, Actor::kSystem, AccountAction::kPurgeDone);
  auto applied = co_await store_.AsyncRun<void>([&](Store& s) { return s.SetAccountState(change); },
                                                asio::use_awaitable);
  if (!applied) {
    spdlog::error("purge: account {}: cannot end the purge: {}", a.name, applied.error().message);
    PurgeStarted(account);
    co_return;
  }
  spdlog::info("account={} actor=system action=PURGE_DONE from=purging to=active", a.name);
  if (decided->release_held && release_held_) release_held_();
}

asio::awaitable<bool> HeldMailJobs::DeleteSome(AccountId account) {
  const TimePoint now = clock_.Now();
  auto left = co_await store_.AsyncRunBackground<std::int64_t>(
      [&](Store& s) { return s.PurgeBatch(account, kBatch, now); }, asio::use_awaitable);
  if (!left) {
    if (left.error().code == ErrorCode::kNotFound) co_return false;
    spdlog::error("purge: account id {}: deleting purged mail: {}", account, left.error().message);
    // Again on its next turn, after a pause: a store that keeps failing must not be asked
    // (and logged) in a tight loop.
    asio::steady_timer pause(ex_, std::chrono::seconds(1));
    boost::system::error_code ec;
    co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return true;
  }
  co_return *left > 0;
}

asio::awaitable<bool> HeldMailJobs::DeleteFinishedSome() {
  const TimePoint cutoff = clock_.Now() - config_.store.keep_finished;
  auto deleted = co_await store_.AsyncRunBackground<std::int64_t>(
      [&](Store& s) { return s.DeleteFinished(cutoff, kBatch); }, asio::use_awaitable);
  if (!deleted) {
    // The pass ends here; the next look (kFinishedEvery) goes on from where it stopped.
    spdlog::error("history: cannot delete finished mail: {}", deleted.error().message);
  } else {
    finished_deleted_ += *deleted;
    if (*deleted == kBatch) co_return true;
  }
  // Accounts deleted over store.keep_finished ago go with what was kept of them, a few a
  // batch (one may hold much history).
  auto removed = co_await store_.AsyncRunBackground<std::int64_t>(
      [&](Store& s) { return s.RemoveDeletedAccounts(cutoff, 10); }, asio::use_awaitable);
  if (!removed) {
    spdlog::error("history: cannot remove deleted accounts: {}", removed.error().message);
  } else if (*removed > 0) {
    spdlog::info("history: {} accounts deleted over {} ago removed with their history", *removed,
                 FormatDuration(config_.store.keep_finished));
    co_return true;
  }
  // One line per pass, however many batches it took.
  if (finished_deleted_ > 0) {
    spdlog::info("history: {} messages finished over {} ago deleted (store.keep_finished)",
                 finished_deleted_, FormatDuration(config_.store.keep_finished));
  }
  finished_deleted_ = 0;
  co_return false;
}

asio::awaitable<void> HeldMailJobs::ExpireDue() {
  for (;;) {
    const TimePoint now = clock_.Now();
    const TimePoint cutoff = now - config_.policy.hold;
    auto expired = co_await store_.AsyncRunBackground<std::int64_t>(
        [&](Store& s) { return s.ExpireHeld(cutoff, kBatch, now); }, asio::use_awaitable);
    if (!expired) {
      spdlog::error("expiry: {}", expired.error().message);
      co_return;
    }
    if (*expired > 0) spdlog::info("expiry: {} held messages expired (policy.hold)", *expired);
    // Quarantined mail of active accounts expires the same way (that of held accounts went
    // with the held mail above).
    auto quarantined = co_await store_.AsyncRunBackground<std::int64_t>(
        [&](Store& s) { return s.ExpireQuarantined(cutoff, kBatch, now); }, asio::use_awaitable);
    if (!quarantined) {
      spdlog::error("expiry: {}", quarantined.error().message);
      co_return;
    }
    if (*quarantined > 0) {
      spdlog::info("expiry: {} quarantined messages expired (policy.hold)", *quarantined);
    }
    if ((*expired < kBatch && *quarantined < kBatch) || stopping_) co_return;
    co_await asio::post(ex_, asio::use_awaitable);
  }
}

}  // namespace mailwarden
