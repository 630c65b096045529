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
#include "store/account_directory.h"
#include "store/store_runner.h"
#include "submit/mail_intake.h"

namespace mailwarden {

class SubmitServer {
 public:
  SubmitServer(boost::asio::any_io_executor ex, const Config& config, AccountDirectory& accounts,
               MailIntake& intake);

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
  AccountDirectory& accounts_;
  MailIntake& intake_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
};

}  // namespace mailwarden
