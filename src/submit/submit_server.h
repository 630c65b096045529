// The submission socket: where mailwarden-sendmail hands over a script's mail.
//
// Trust: the caller's uid comes from the kernel (SO_PEERCRED), never from what it writes; a
// uid with no account is refused before anything is stored. Everything the client sends is
// bounded (header block, message size, idle time). A message is acknowledged ("0 queued as
// ID") only after the transaction that stores it has committed.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "config/config.h"
#include "core/types.h"
#include "mime/message_prep.h"
#include "store/account_directory.h"
#include "store/store_runner.h"

namespace mailwarden {

// Where accepted mail goes after it is stored (the daemon wakes the scheduler).
using AcceptedHook = std::function<void(AccountId account, MessageId id)>;

class SubmitServer {
 public:
  SubmitServer(boost::asio::any_io_executor ex, const Config& config, StoreRunner& store,
               AccountDirectory& accounts, const Clock& clock, AcceptedHook on_accepted);

  // Binds the socket (mode 0666). Refuses to start if another daemon answers on it; removes
  // a stale socket file left by a daemon that died.
  Result<void> Listen();

  // Accepts connections until Close().
  boost::asio::awaitable<void> Run();
  void Close();

 private:
  boost::asio::awaitable<void> Serve(boost::asio::local::stream_protocol::socket socket);

  boost::asio::any_io_executor ex_;
  const Config& config_;
  StoreRunner& store_;
  AccountDirectory& accounts_;
  const Clock& clock_;
  AcceptedHook on_accepted_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
};

}  // namespace mailwarden
