// The background work on held mail: purges run in batches until the account's watermark is
// reached (then the account returns to active by itself), and held mail older than policy.hold
// expires. Both touch only the accounts concerned, through indexes; other accounts' delivery
// goes on meanwhile (each batch is a short transaction, and the loop yields between batches).
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

  // A purge of the account was asked for (its state is purging and its watermark set).
  void PurgeStarted(AccountId account);

  // Resumes the purges a previous run left unfinished, then works until Stop().
  boost::asio::awaitable<void> Run();
  void Stop();

 private:
  boost::asio::awaitable<void> PurgeOne(AccountId account);
  boost::asio::awaitable<void> ExpireDue();

  boost::asio::any_io_executor ex_;
  const Config& config_;
  StoreRunner& store_;
  const Clock& clock_;
  std::function<void()> release_held_;
  boost::asio::steady_timer wake_;
  std::deque<AccountId> purges_;
  std::set<AccountId> queued_;
  bool stopping_ = false;
};

}  // namespace mailwarden
