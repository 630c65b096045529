// The submission socket: where mailwarden-sendmail hands over a script's mail.
//
// Trust: the caller's uid comes from the kernel (SO_PEERCRED), never from what it writes; a
// uid with no account is refused before anything is stored. Everything the client sends is
// bounded (header block, message size, idle time, and the whole submission's time,
// submit.max_receive_time), and so is what all clients hold together: at most
// submit.max_connections are served at once (more wait in the socket's backlog), at most
// submit.max_connections_per_uid of them for one uid (as many more wait for one of them, at
// most submit.uid_wait; then, and beyond those, they are told 75, try later), and a
// message past kSmallMessageBytes waits for a slot of its uid's share
// (submit.max_large_messages_per_uid) and then one of the ReceiveGate before more of it is
// read, at most submit.max_wait_for_room (then 75). A uid with no account is refused before
// anything of its request is read. A message is acknowledged ("0 queued as ID") only after
// the transaction that stores it has committed.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "config/config.h"
#include "core/types.h"
#include "smtp/receive_gate.h"
#include "store/account_directory.h"
#include "store/store_runner.h"
#include "submit/mail_intake.h"

namespace mailwarden {

class SubmitServer {
 public:
  // gate is shared with the SMTP listener and outlives this server.
  SubmitServer(boost::asio::any_io_executor ex, const Config& config, AccountDirectory& accounts,
               MailIntake& intake, ReceiveGate& gate);

  // Binds the socket (mode 0666). Refuses to start if another daemon answers on it; removes
  // a stale socket file left by a daemon that died.
  Result<void> Listen();

  // Accepts connections until Close(), serving at most submit.max_connections at once.
  boost::asio::awaitable<void> Run();
  void Close();
  // Connections being served (waiting for a place of their uid's, being read, or waiting for
  // their message's commit); after Close(), those still to be answered.
  std::size_t connections() const { return places_.in_use(); }

 private:
  // What one uid holds: its connections being served, and its large slots.
  struct UidShare {
    UidShare(const boost::asio::any_io_executor& ex, std::size_t connections, std::size_t large)
        : places(ex, connections), large(ex, large) {}
    ReceiveGate places;
    ReceiveGate large;
  };

  // Waits (submit.uid_wait) for a place of uid's, then serves the connection.
  boost::asio::awaitable<void> Admit(boost::asio::local::stream_protocol::socket socket, Uid uid,
                                     ReceiveGate::Slot place);
  boost::asio::awaitable<void> Serve(boost::asio::local::stream_protocol::socket socket, Uid uid);
  UidShare& ShareOf(Uid uid);
  // Drops the share of a uid that holds and awaits nothing.
  void ForgetIfIdle(Uid uid);
  // Answers a connection that is not served (code and text as the reply line) and closes it.
  static void RefuseAtOnce(boost::asio::local::stream_protocol::socket& socket, int code,
                           std::string text);

  boost::asio::any_io_executor ex_;
  const Config& config_;
  AccountDirectory& accounts_;
  MailIntake& intake_;
  ReceiveGate& gate_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  // A place per connection being served, submit.max_connections of them.
  ReceiveGate places_;
  std::unordered_map<Uid, std::unique_ptr<UidShare>> shares_;  // of the uids served
};

}  // namespace mailwarden
