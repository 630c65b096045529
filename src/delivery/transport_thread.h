// A transport on a thread of its own. The wrapped transport's work runs there: the relay's
// SMTP conversations (on loopback a send also runs the receiver's side of TCP, in the
// sender's time), a maildir's writes and fsyncs. The daemon's loop, which serves the drop-in,
// SMTP submission and the panel, never waits for them, and a second core can carry them.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "delivery/transport.h"

namespace mailwarden {

class TransportThread final : public Transport {
 public:
  // Starts the thread and builds the transport with `make`, given the thread's executor.
  explicit TransportThread(
      const std::function<std::unique_ptr<Transport>(boost::asio::any_io_executor)>& make);
  // As Shutdown, then waits for the thread to finish what the transport still does (QUIT on
  // the connections it closes).
  ~TransportThread() override;
  TransportThread(const TransportThread&) = delete;
  TransportThread& operator=(const TransportThread&) = delete;

  // The wrapped transport's Deliver, run on the thread; the caller resumes on its own
  // executor. `message` must stay alive until then (the caller awaits it).
  boost::asio::awaitable<std::vector<RecipientOutcome>> Deliver(
      const ClaimedMessage& message) override;

  // The wrapped transport's Shutdown, on the thread; the thread ends once it has nothing
  // left to do.
  void Shutdown() override;

 private:
  boost::asio::io_context io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::unique_ptr<Transport> inner_;
  std::thread thread_;
  bool shut_down_ = false;
};

}  // namespace mailwarden
