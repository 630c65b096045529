// WebhookSender: sends the store's outbox (docs/webhooks.md) to the [[webhook]]s.
//
// Each round claims the oldest unsent event of each account (Store::ClaimEvents: leased to
// this node, so that in a fleet each event is sent by one node at a time, and an account's
// next event waits for the one before it), POSTs it as JSON to every webhook whose `events`
// name its type and that has not accepted it yet, signed as
// `Mailwarden-Signature: t=UNIXTIME,v1=HEX` (HMAC-SHA256 with the webhook's secret over
// UNIXTIME + "." + body), and records the round: a 2xx answer is acceptance; otherwise the
// event is due again after a backoff (1 s doubling to 10 min) until its age passes that
// webhook's max_age, when it is given up for it. Sent at least once: an event whose acceptance
// was not recorded (a crash, a lost lease) is sent again, with the same id.
//
// Runs on the daemon's io_context.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "store/store_runner.h"

namespace mailwarden {

// "t=UNIXTIME,v1=HEX" for body signed with secret at unix_time.
std::string WebhookSignature(std::string_view secret, std::int64_t unix_time,
                             std::string_view body);
// The JSON an event is POSTed as: {"id","type","account","time","data"}.
std::string WebhookBody(const OutboxEvent& event);

class WebhookSender {
 public:
  WebhookSender(boost::asio::any_io_executor ex, const Config& config, StoreRunner& store,
                const Clock& clock, std::string node);

  // Reads each webhook's secret; fails naming the file that cannot be read.
  Result<void> Init();
  // Sends until Stop().
  boost::asio::awaitable<void> Run();
  // An event may have been written: look now rather than at the next poll.
  void Wake() { timer_.cancel(); }
  void Stop() {
    stopping_ = true;
    timer_.cancel();
  }

 private:
  struct Hook {
    Config::Webhook config;
    std::string secret;
  };
  struct Answer {
    int status = 0;
    std::string reply;
  };
  boost::asio::awaitable<void> SendOne(OutboxEvent event);
  boost::asio::awaitable<Answer> Post(const std::string& url, const std::string& body,
                                      const std::string& signature);

  boost::asio::any_io_executor ex_;
  const Config& config_;
  StoreRunner& store_;
  const Clock& clock_;
  const std::string node_;
  std::vector<Hook> hooks_;
  boost::asio::steady_timer timer_;
  bool stopping_ = false;
};

}  // namespace mailwarden
