// delivery.mode = "relay": SMTP to the provider's outbound MTA over a small pool of reused
// connections.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "delivery/transport.h"
#include "smtp/return_path.h"
#include "smtp/smtp_client.h"

namespace mailwarden {

struct RelayTransportOptions {
  std::string relay = "127.0.0.1:25";  // "host:port" or "[v6 address]:port"
  int concurrency = 20;                // connections at most, in use or idle
  // An idle connection is closed (QUIT) after this: long enough to carry the next message of
  // a burst, short enough not to hold the relay's connection slots (Postfix drops idle
  // clients after 300 s).
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(5);
  SmtpClientOptions smtp;  // its tls_context is made once and shared when left null
  // Set (bounces.domain): a message's envelope sender to the relay is its return path, so
  // that its bounces come back to mailwarden; the null sender stays null (a bounce is never
  // bounced). The message keeps its own sender (ClaimedMessage::sender).
  std::shared_ptr<const ReturnPath> return_path;
};

// The relay transport's options from the configuration: delivery.relay, .concurrency, .helo
// (the host name when empty). TLS as delivery.tls and delivery.tls_verify say. The return path
// as bounces.domain and bounces.secret (read by the daemon) say.
RelayTransportOptions RelayTransportOptionsFrom(const Config& config);

// Threading: runs on the executor given, which must be single-threaded (in the daemon, the
// delivery thread's loop: TransportThread) or a strand; Deliver, Shutdown and the accessors are
// called from it. The transport must outlive every Deliver call; connections it leaves closing in
// the background keep what they need.
class RelayTransport final : public Transport {
 public:
  RelayTransport(boost::asio::any_io_executor ex, RelayTransportOptions options);
  ~RelayTransport() override;  // as Shutdown

  // Takes the most recently used idle connection, or opens one when fewer than concurrency
  // are open, or waits for one to come free. A pooled connection the relay had closed is
  // noticed at RSET, before anything of the message went, and replaced by a new one.
  // Connect failures and lost connections defer every undecided recipient (kPending) with the
  // reason as reply text, e.g. "connect to 127.0.0.1:25 failed: Connection refused".
  boost::asio::awaitable<std::vector<RecipientOutcome>> Deliver(
      const ClaimedMessage& message) override;

  // Says QUIT on idle connections and stops pooling: connections in use are closed when
  // their Deliver ends. Deliver still works after it, on connections of its own.
  void Shutdown() override;

  std::uint64_t connections_opened() const;  // since start, for metrics and tests
  std::size_t idle_connections() const;

 private:
  class Pool;
  std::shared_ptr<Pool> pool_;
};

}  // namespace mailwarden
