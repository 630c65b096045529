// The background work on held mail: a purge, done in the store the moment it was asked for,
// is ended at once (the account returns to active by itself) and its rows are then deleted in
// batches; held mail older than policy.hold expires. Both touch only the accounts concerned,
// through indexes; other accounts' delivery goes on meanwhile (each batch is a short
// transaction on the store's background lane, and the loop yields between batches). Finished
// mail older than store.keep_finished is deleted the same way, so the store stays bounded.
//
// Runs on the daemon's io_context.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <functional>
#include <set>

#include "config/config.h"
#include "store/store_runner.h"

namespace mailwarden {

class HeldMailJobs {
 public:
  HeldMailJobs(boost::asio::any_io_executor ex, const Config& config, StoreRunner& store,
               const Clock& clock, std::function<void()> release_held);

  // A purge of the account was asked for (its state is purging and its mail purged).
  void PurgeStarted(AccountId account);

  // Ends the purges and deletes the purged rows a previous run left, then works until Stop().
  boost::asio::awaitable<void> Run();
  void Stop();

 private:
  boost::asio::awaitable<void> EndPurge(AccountId account);
  // Deletes one batch of the account's purged rows; true if some are left.
  boost::asio::awaitable<bool> DeleteSome(AccountId account);
  boost::asio::awaitable<void> ExpireDue();
  // Deletes one batch of mail finished before store.keep_finished; true if some may be left.
  boost::asio::awaitable<bool> DeleteFinishedSome();

  boost::asio::any_io_executor ex_;
  const Config& config_;
  StoreRunner& store_;
  const Clock& clock_;
  std::function<void()> release_held_;
  boost::asio::steady_timer wake_;
  std::deque<AccountId> purges_;  // to end (PURGE_DONE)
  std::set<AccountId> queued_;
  std::deque<AccountId> deletions_;  // with purged rows on disk, taken in turn
  std::set<AccountId> deleting_;
  bool finished_left_ = false;         // finished mail past store.keep_finished may remain
  std::int64_t finished_deleted_ = 0;  // by the batches of the current pass
  bool stopping_ = false;
};

}  // namespace mailwarden
