// SmtpSession: one client connection of the SMTP listener (SmtpServer): the command loop, SASL
// exchanges, DATA and STARTTLS, within the server's limits. Internal to src/smtp: the server
// makes one per accepted connection and keeps it in its list until it ends.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/smtp_command.h"
#include "smtp/smtp_data_reader.h"
#include "smtp/smtp_server.h"

namespace mailwarden {

// One client connection: the command loop, SASL exchanges, DATA, STARTTLS.
class SmtpSession : public std::enable_shared_from_this<SmtpSession> {
 public:
  SmtpSession(SmtpServer& server, boost::asio::ip::tcp::socket socket, bool over_limit, bool local)
      : server_(server),
        options_(server.options_),
        socket_(std::move(socket)),
        deadline_(socket_.get_executor()),
        over_limit_(over_limit),
        local_(local) {}

  // Runs the session, then gives back what it held (its client's and account's places, its
  // entry in the server's list of sessions).
  static boost::asio::awaitable<void> Serve(std::shared_ptr<SmtpSession> self,
                                            std::list<std::weak_ptr<SmtpSession>>::iterator entry);

  // The deadline running now (a read or write waiting on the client), if any, ends no later
  // than timeout from now.
  void Hurry(std::chrono::milliseconds timeout) {
    if (!deadline_running_) return;
    const auto by = std::chrono::steady_clock::now() + timeout;
    if (deadline_.expiry() > by) StartDeadline(timeout, deadline_closes_);
  }

  void Close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

  // The daemon stops: the message being received or stored is still answered, then the
  // session ends with 421; one waiting for its next command gets 421 at once.
  void Drain() {
    draining_ = true;
    if (waiting_for_command_) {
      boost::system::error_code ignored;
      socket_.cancel(ignored);
    }
  }

 private:
  enum class Sasl { kNone, kPlain, kLoginUser, kLoginPassword };

  boost::asio::awaitable<void> Run();
  boost::asio::awaitable<void> HandleLine(std::string_view line);
  boost::asio::awaitable<void> HandleCommand(const SmtpCommand& command);
  boost::asio::awaitable<void> HandleSaslResponse(std::string_view line);
  boost::asio::awaitable<void> StartAuth(const SmtpCommand& command);
  boost::asio::awaitable<void> Verify(std::string user, std::string password);
  boost::asio::awaitable<void> StartTls();
  boost::asio::awaitable<void> FinishData();
  // On a local listener: the account of the user owning the client's socket, or the refusal
  // its MAIL gets. False when the session must end (its reply is queued).
  boost::asio::awaitable<bool> IdentifyLocalUser(std::optional<Uid> uid);

  // Takes the next command line out of the input. Returns false when it holds no whole line.
  bool TakeLine(std::string* line);
  std::string_view Pending() const { return std::string_view(in_).substr(in_pos_); }
  void Consume(std::size_t n) { in_pos_ += n; }
  void DropInput() {
    in_.clear();
    in_pos_ = 0;
  }

  boost::asio::awaitable<bool> ReadMore();
  boost::asio::awaitable<bool> Flush(std::chrono::milliseconds timeout);
  void StartDeadline(std::chrono::milliseconds timeout, bool close);
  void StopDeadline();

  void Queue(int code, std::string_view text);
  void Queue(const SmtpServerReply& reply) { Queue(reply.code, reply.text); }
  // A reply to a client's mistake; too many of them end the connection.
  void QueueError(int code, std::string_view text);
  void QueueError(const SmtpServerReply& reply) { QueueError(reply.code, reply.text); }
  void QueueClose(std::string_view text);

  void ResetTransaction() {
    mail_from_.reset();
    rcpt_to_.clear();
  }
  // Logs out: the account's share of the listener is given back.
  // On an open server: whether the backend takes mail to address; if not, the refusal is
  // queued.
  boost::asio::awaitable<bool> RecipientTaken(const std::string& address);
  void ForgetIdentity() {
    if (identity_) server_.EndAccountSession(identity_->account);
    identity_.reset();
  }
  bool AuthNeedsTls() const {
    return !tls_ && (options_.auth_tls == SmtpAuthTls::kAlways || !loopback_);
  }

  SmtpServer& server_;
  const SmtpServerOptions& options_;
  boost::asio::ip::tcp::socket socket_;
  std::optional<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_stream_;
  boost::asio::steady_timer deadline_;
  std::uint64_t deadline_generation_ = 0;
  bool deadline_running_ = false;  // between StartDeadline and StopDeadline
  bool deadline_closes_ = false;   // the running deadline closes the socket (a write's)
  bool timed_out_ = false;
  bool over_limit_;
  const bool local_;           // a connection to a local listener (options.local_listen)
  std::string local_refusal_;  // local_ without an account: MAIL's 550 text

  std::string client_ip_ = "?";
  bool loopback_ = false;
  // Who the client is, for the limits per client: its address, or on loopback the local user
  // owning its socket (loopback_peer.h); "" while it holds no session of its key.
  std::string client_key_;
  std::string limiter_key_;  // the client's key in the AUTH failure limiter
  std::size_t commands_before_auth_ = 0;
  bool tls_ = false;

  // Bytes read; those before in_pos_ are handled. Consumed input is dropped only before the
  // next read, so that a buffer of many small pipelined commands is not moved once per line.
  std::string in_;
  std::size_t in_pos_ = 0;
  std::string out_;                   // replies not yet sent
  bool discarding_ = false;           // dropping the rest of an over-long line
  bool close_ = false;                // close once the queued replies are sent
  bool draining_ = false;             // the daemon stops: 421 before the next command
  bool waiting_for_command_ = false;  // in ReadMore with no message being received
  int errors_ = 0;
  int auth_failures_ = 0;

  bool hello_ = false;  // HELO or EHLO was given
  bool ehlo_ = false;
  std::string helo_;
  std::optional<SmtpIdentity> identity_;
  Sasl sasl_ = Sasl::kNone;
  std::string sasl_user_;
  std::optional<std::string> mail_from_;  // set: a transaction is open
  std::vector<std::string> rcpt_to_;
  std::optional<SmtpDataReader> data_;
  ReceiveGate::Slot large_slot_;  // held by a message past kSmallMessageBytes until stored
};

}  // namespace mailwarden
