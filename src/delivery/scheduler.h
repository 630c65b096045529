// The delivery scheduler: claims due mail from the store in batches, hands each message to the
// transport (at most delivery.concurrency at once), and records the outcomes in batches.
//
// It never reads held mail: claiming asks the store for the due messages of active accounts
// only (Store::ClaimDue). Outcomes decide the message's future: 2xx sent, 5xx failed, 4xx
// deferred with a growing delay until delivery.max_lifetime, then failed. Delivery is
// at-least-once: a message is finished only once its outcome has committed.
//
// Runs on the daemon's io_context (one thread); Wake() and Stop() are called from that thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/retry_policy.h"
#include "delivery/transport.h"
#include "store/store_runner.h"

namespace mailwarden {

class Scheduler {
 public:
  Scheduler(boost::asio::any_io_executor ex, const Config& config, StoreRunner& store,
            Transport& transport, const Clock& clock, std::string node);

  // Claims and delivers until Stop(); returns once in-flight deliveries have been recorded.
  boost::asio::awaitable<void> Run();

  // New mail, or mail released: look for due mail now instead of at the next timer.
  void Wake();
  void Stop();

 private:
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
  boost::asio::steady_timer wake_;
  bool stopping_ = false;
  bool woken_ = false;
  int in_flight_ = 0;
  std::vector<DeliveryOutcome> outcomes_;
  bool flushing_ = false;
};

}  // namespace mailwarden
