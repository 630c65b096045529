// How a claimed message leaves: relay (SMTP to the provider's outbound MTA) or maildir.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <vector>

#include "config/config.h"
#include "store/store.h"

namespace mailwarden {

class Transport {
 public:
  virtual ~Transport() = default;

  // Attempts one message. Returns one outcome per recipient of message.recipients, in the same
  // order: kSent with the reply on 2xx, kPending (deferred) with the reply on 4xx or when the
  // peer could not be reached or dropped the connection, kFailed with the reply on 5xx. Never
  // throws for network trouble: that is a deferral. Runs on the executor the transport was
  // made for (in the daemon, the delivery thread's: TransportThread); many calls may be in flight
  // at once (up to delivery.concurrency), and the transport keeps at most that many connections,
  // reusing each for several messages.
  virtual boost::asio::awaitable<std::vector<RecipientOutcome>> Deliver(
      const ClaimedMessage& message) = 0;

  // Closes idle connections; pending Deliver calls finish first.
  virtual void Shutdown() = 0;
};

// The transport delivery.mode names.
std::unique_ptr<Transport> MakeTransport(const Config& config, boost::asio::any_io_executor ex);

}  // namespace mailwarden
