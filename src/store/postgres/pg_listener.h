// PgChangeListener: hears what other nodes changed in a shared PostgreSQL store.
//
// PgStore sends NOTIFY mailwarden, '<kind>:<account id>' when a commit changes what delivery
// may claim (kind "state", "release" or "mail"). The listener holds a connection of its own,
// LISTENs on that channel, and calls its callback on its executor once per notification. It
// never blocks the executor: connecting, LISTEN and reading all wait on the socket through
// Asio. A connection that drops is made again, with a growing pause (up to 30 s) while the
// server stays away; each time listening (re)starts the callback gets kind "listen" with
// account 0, since changes made while nobody listened were not heard.
#pragma once

#include <libpq-fe.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/types.h"

namespace mailwarden {

class PgChangeListener {
 public:
  using Callback = std::function<void(std::string_view kind, AccountId account)>;

  // url: a libpq connection URI (postgresql://...); it is never logged.
  PgChangeListener(boost::asio::any_io_executor executor, std::string url, Callback on_change);
  ~PgChangeListener();
  PgChangeListener(const PgChangeListener&) = delete;
  PgChangeListener& operator=(const PgChangeListener&) = delete;

  // Starts connecting; returns at once.
  void Start();
  // Closes the connection; no callback is called after it returns.
  void Stop();

  // Whether LISTEN is in effect now.
  bool listening() const { return listening_; }

 private:
  void Connect();
  void Poll(PostgresPollingStatusType want);
  void OnConnected();
  void Flush();
  void WaitForInput();
  void OnReadable();
  // Drops the connection and tries again after the current pause.
  void Retry(std::string_view why);
  void Close();
  // Puts the descriptor on the connection's current socket (libpq may change it while it
  // connects). Non-owning: libpq closes the socket, never Asio.
  void Watch();

  boost::asio::any_io_executor executor_;
  std::string url_;
  Callback on_change_;
  PGconn* conn_ = nullptr;
  boost::asio::posix::stream_descriptor socket_;
  boost::asio::steady_timer timer_;
  std::chrono::milliseconds pause_;
  bool stopped_ = true;
  bool listening_ = false;
  bool listen_sent_ = false;
  bool connecting_ = false;  // from Connect() until LISTEN is in effect
  bool lost_ = false;        // a connection that was listening dropped
  // Handlers hold this and return at once when it is false: the listener may be gone.
  std::shared_ptr<bool> alive_;
};

}  // namespace mailwarden
