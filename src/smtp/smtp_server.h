// The SMTP submission server (RFC 5321 with RFC 6409 in mind): where scripts that speak SMTP
// (PHPMailer, WordPress SMTP plugins, Python's smtplib) hand over their mail.
//
// Trust: nothing the client sends is believed until AUTH succeeded through the backend; MAIL
// before AUTH is refused (530), so there is no open relay. Every line, the recipient count,
// the message size and idle time are bounded with a clear reply. End of data is only CRLF.CRLF
// and bare CR/LF in data is stored as CRLF (see smtp_data_reader.h). Credentials travel in clear
// text only over loopback; elsewhere AUTH needs STARTTLS first (538). Failed AUTH is limited
// per connection and per client. A message is acknowledged (250) only after the backend says
// it committed it.
//
// Local listeners (smtp.local_listen, loopback only) serve the scripts that speak SMTP to
// localhost without AUTH: there the client is the local user owning its socket, as the kernel
// reports it, and its mail belongs to that user's account (SmtpBackend::IdentifyLocalUser);
// nothing the client says names it. A user without an account is refused at MAIL (550). The
// rest is the same session, with the same limits.
//
// An open server (SmtpServerOptions::open: the bounce intake, bounces.listen) takes mail from
// anyone without AUTH, but only to recipients its backend accepts (CheckRecipient: the signed
// return paths and feedback-loop addresses); every other recipient is told 550, so it is no
// relay. The limits are the same.
//
// The server knows nothing of the store: it talks to an SmtpBackend.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "core/types.h"
#include "smtp/auth_failure_limiter.h"
#include "smtp/receive_gate.h"

namespace mailwarden {

// Who a connection authenticated as, or on the local listener whose user opened it.
struct SmtpIdentity {
  std::int64_t account = 0;
  std::string name;
  std::optional<Uid> uid;  // the local listener's: the owner of the client's socket
  // The account's policy.max_recipients when the session began (0: only the server's cap).
  std::size_t max_recipients = 0;
};

struct SmtpEnvelope {
  std::string mail_from;             // "" for the null sender <>
  std::vector<std::string> rcpt_to;  // at least one, duplicates removed, in the order given
  std::string client_ip;             // "127.0.0.1", "::1"
  std::string helo;                  // the name the client gave in EHLO/HELO, printable ASCII
};

// What the server needs from the rest of the daemon. Both methods are called on the server's
// executor and may suspend; the server never calls them concurrently for one connection, but
// does for different connections.
class SmtpBackend {
 public:
  virtual ~SmtpBackend() = default;

  // Checks SMTP AUTH credentials: user is the account's name, password its SMTP password
  // (never an API token). The strings are exactly what the client sent (any bytes but NUL,
  // at most 255 each). Returns the identity on success. Fails with kUnauthenticated (or
  // kNotFound / kPermission) for wrong credentials, which the server answers with 535 and
  // counts against the client's limits; any other code is taken as a temporary failure
  // (454). Must take about the same time whether or not the user exists.
  virtual boost::asio::awaitable<Result<SmtpIdentity>> Authenticate(std::string user,
                                                                    std::string password,
                                                                    std::string client_ip) = 0;

  // The account of a local user, for a connection to a local listener (options.local_listen)
  // whose client socket the kernel says uid owns. Fails with kNotFound when uid has no
  // account (the server refuses its mail with 550); any other code is a temporary failure.
  virtual boost::asio::awaitable<Result<SmtpIdentity>> IdentifyLocalUser(Uid uid) = 0;

  // On an open server (SmtpServerOptions::open), whether mail to `address` is taken: a value
  // if so; kNotFound (or any permanent code) for 550, another code for a temporary 451.
  virtual boost::asio::awaitable<Result<void>> CheckRecipient(const SmtpIdentity& who,
                                                              const std::string& address) {
    (void)who;
    (void)address;
    co_return Result<void>{};
  }

  // Stores the message; returns the queue id after the commit. kInvalidInput/kTooLarge =
  // permanent, others temporary.
  //
  // data is the message as received, with CRLF line ends, un-dot-stuffed, at most
  // SmtpServerOptions::max_message_bytes, no bare CR or LF (lines may be over 998 bytes); no
  // Received header has been added. The server replies 250 only when this returns a value,
  // so it must return only once the message is durably stored. A permanent failure's message
  // is shown to the client after "554 5.6.0 "; a temporary one is only logged.
  virtual boost::asio::awaitable<Result<std::int64_t>> Accept(const SmtpIdentity& who,
                                                              SmtpEnvelope envelope,
                                                              std::string data) = 0;
};

// When AUTH (which sends the password in clear text) is allowed without TLS.
enum class SmtpAuthTls {
  kUnlessLoopback,  // allowed on a connection over loopback, where no one can listen in
  kAlways,          // TLS first on every connection
};

struct SmtpServerOptions {
  std::vector<std::string> listen = {"127.0.0.1:2587"};  // "host:port", "[::1]:port"; port 0: any
  // Local listeners, loopback addresses only: no AUTH; each connection belongs to the account
  // of the local user owning the client's socket, as the kernel reports it (loopback_peer.h).
  // They share every limit below with the listeners of `listen`.
  std::vector<std::string> local_listen;
  std::string hostname = "localhost";                // in the greeting and EHLO reply
  std::size_t max_message_bytes = 25 * 1024 * 1024;  // advertised as SIZE
  std::size_t max_recipients = 100;                  // per message
  std::string tls_cert_file;  // PEM chain; STARTTLS is offered when this and the key are set
  std::string tls_key_file;   // PEM private key
  SmtpAuthTls auth_tls = SmtpAuthTls::kUnlessLoopback;
  // A client that sends nothing (or reads nothing) for this long is told 421 and dropped.
  std::chrono::milliseconds idle_timeout = std::chrono::minutes(5);
  // The same, while the sessions are at 80% of max_connections or more (as Postfix's
  // smtpd_timeout under stress): clients that hold connections open without a word cannot
  // keep the others out for long. Sessions already waiting get it too.
  std::chrono::milliseconds stress_idle_timeout = std::chrono::seconds(10);
  std::size_t max_connections = 200;  // more are told 421 at once
  // How long a message past kSmallMessageBytes waits for a large slot (the drop-in's
  // submit.max_wait_for_room). Then the rest of its data is read and dropped and the end of
  // data is answered 451 4.3.1 (try again later), as Postfix answers a message it could not
  // take in mid-data; the session goes on.
  std::chrono::milliseconds max_wait_for_room = std::chrono::seconds(30);
  // Sessions of one client at once, more are told 421 at once: the remote address, or on
  // loopback the local user owning the client's socket (loopback_peer.h), so that one user's
  // scripts cannot hold every session.
  std::size_t max_connections_per_client = 20;
  // Commands a client may give before it has logged in (EHLO, STARTTLS, AUTH, NOOP...); the
  // next is told 421 and the connection closed: what is read before AUTH is bounded.
  std::size_t max_commands_before_auth = 20;
  // Authenticated sessions of one account at once; a further AUTH as that account is told 421
  // and closed, so that one customer's scripts (a hacked site) cannot hold every connection.
  std::size_t max_connections_per_account = 50;
  int max_auth_failures_per_connection = 3;  // then 421 and close
  // Failed AUTH per client in any minute before AUTH is refused for a while. The client is
  // the remote IP, and on loopback the local user owning the client's socket (loopback_peer.h):
  // every script of a shared host connects from 127.0.0.1, and one user trying passwords must
  // lock out only itself, neither the other users nor the account whose name it gives.
  int max_auth_failures_per_minute = 10;
  int max_protocol_errors = 20;  // 5xx syntax errors per connection before 421 and close
  // No AUTH on any listener: every connection has the identity `open_identity` from its
  // start, and each recipient is checked by SmtpBackend::CheckRecipient (a refused one counts
  // as a protocol error). For the bounce intake.
  bool open = false;
  std::string open_identity = "bounces";
  std::string listen_key = "smtp.listen";  // the key of `listen`, in errors
};

class SmtpSession;

// Threading: construct, Listen, Run and Close on one single-threaded executor (the daemon's
// event loop) or a strand; sessions and backend calls run there too. The server must outlive
// Run().
class SmtpServer {
 public:
  // gate bounds the memory of large messages being received (see receive_gate.h); it may be
  // shared with other listeners and must outlive the server.
  SmtpServer(boost::asio::any_io_executor ex, SmtpServerOptions options, SmtpBackend& backend,
             ReceiveGate& gate);
  ~SmtpServer();
  SmtpServer(const SmtpServer&) = delete;
  SmtpServer& operator=(const SmtpServer&) = delete;

  // Loads the certificate (if configured) and binds every address of options.listen and
  // options.local_listen. Fails with kInvalidInput for a malformed address, a local_listen
  // address that is not loopback, or an unreadable certificate or key, and with kUnavailable
  // when an address cannot be bound; the sentence names the address or file.
  Result<void> Listen();

  // The ports bound, one per listening socket in the order of options.listen then
  // options.local_listen (a host name that resolves to several addresses adds one per address). For
  // tests that listen on port 0.
  std::vector<std::uint16_t> ports() const;
  // The same sockets' addresses as bound, "address:port" or "[v6 address]:port", for the log.
  std::vector<std::string> local_addresses() const;

  // Accepts and serves connections until Close(); returns when every listener and session
  // has ended.
  boost::asio::awaitable<void> Run();

  // Stops accepting and drops every connection (a message in the middle of Accept still
  // completes in the backend, but its reply may not reach the client).
  void Close();

  // Stops accepting; each session answers the message it is receiving or storing, then ends
  // with 421 (at once when it waits for a command). active_sessions() says when all have
  // ended; Close() drops those left.
  void Drain();

  std::size_t active_sessions() const { return sessions_.size(); }

  // Loads the certificate and key again (a reload), or stops offering STARTTLS when both are
  // empty; on failure the running ones stay. Called on the server's executor.
  Result<void> ReloadTls(const std::string& cert, const std::string& key);

 private:
  friend class SmtpSession;

  static Result<std::shared_ptr<boost::asio::ssl::context>> LoadTlsContext(const std::string& cert,
                                                                           const std::string& key);

  // local: the acceptor is one of options.local_listen.
  boost::asio::awaitable<void> AcceptLoop(boost::asio::ip::tcp::acceptor& acceptor, bool local);
  void TaskEnded();
  // idle_timeout, or stress_idle_timeout while under stress.
  std::chrono::milliseconds IdleTimeout() const;
  // After a session is added or removed: enters stress (shortening every waiting session's
  // deadline) or leaves it.
  void CheckStress();
  // A session authenticated as `account`: false (nothing taken) when the account already has
  // max_connections_per_account of them.
  bool TakeAccountSession(std::int64_t account);
  // A session of the client key, if it has fewer than max_connections_per_client.
  bool TakeClientSession(const std::string& client);
  void EndClientSession(const std::string& client);
  void EndAccountSession(std::int64_t account);

  boost::asio::any_io_executor ex_;
  SmtpServerOptions options_;
  SmtpBackend& backend_;
  ReceiveGate& gate_;
  std::shared_ptr<boost::asio::ssl::context> tls_context_;  // null: no STARTTLS
  std::list<boost::asio::ip::tcp::acceptor> acceptors_;     // listen's, then local_listen's
  std::size_t submission_acceptors_ = 0;                    // the first ones, of listen
  std::list<std::weak_ptr<SmtpSession>> sessions_;
  AuthFailureLimiter auth_limiter_;
  std::unordered_map<std::int64_t, std::size_t> account_sessions_;  // authenticated, per account
  std::unordered_map<std::string, std::size_t> client_sessions_;    // per client, busy ones only
  boost::asio::steady_timer all_ended_;  // fires (is cancelled) when tasks_ drops to 0
  std::size_t tasks_ = 0;                // accept loops and sessions still running
  bool closing_ = false;
  bool stressed_ = false;  // sessions at 80% of max_connections or more
};

}  // namespace mailwarden
