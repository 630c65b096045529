// The delivery side of SMTP: one client session to a relay (RFC 5321), over TCP with
// STARTTLS (RFC 3207) and PIPELINING (RFC 2920) when the relay offers them.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "smtp/smtp_reply.h"

namespace mailwarden {

enum class StartTls {
  kNever,        // stay in plain text
  kWhenOffered,  // upgrade when the relay offers STARTTLS, else go on in plain text
  kRequired,     // a relay that does not offer it, or fails the handshake, is not used
};

struct SmtpClientOptions {
  std::string helo_name = "localhost";  // the name given in EHLO / HELO
  StartTls starttls = StartTls::kWhenOffered;
  // The provider's relay listens on loopback, usually with a self-signed certificate: there
  // is no one in between to impersonate it, so the default encrypts without checking who
  // answers. A relay across a network needs true (and host name checks come with it).
  bool verify_certificate = false;
  std::string ca_file;  // with verify_certificate: trust these CAs instead of the system's
  // With verify_certificate: the name the relay's certificate must carry; empty: the host
  // the client connects to (an IP address then matches only a certificate naming it).
  std::string tls_name;
  // Shared by the connections of a pool; made from the two fields above when null.
  std::shared_ptr<boost::asio::ssl::context> tls_context;

  // A hung relay must not hang delivery: every wait has an end.
  std::chrono::milliseconds connect_timeout = std::chrono::seconds(30);  // resolve + connect
  std::chrono::milliseconds reply_timeout = std::chrono::minutes(5);     // each reply, each write
  // The reply to the end of data: RFC 5321 4.5.3.2.6 asks for 10 minutes, since giving up
  // early makes the relay deliver a message that we then send again.
  std::chrono::milliseconds data_timeout = std::chrono::minutes(10);
};

// Makes the TLS context that options describe. Fails with kInvalidInput when ca_file cannot
// be read.
Result<std::shared_ptr<boost::asio::ssl::context>> MakeSmtpTlsContext(
    const SmtpClientOptions& options);

// The reply that decided one recipient.
struct RecipientReply {
  int code = 0;      // the SMTP code; 0: no reply decided it (the connection failed first)
  std::string text;  // "550 5.1.1 No such user", or a local reason
};

struct SmtpSendResult {
  std::vector<RecipientReply> recipients;  // one per recipient, in the order given
  bool connection_lost = false;            // the session is unusable: close it
  // The session failed before the transaction began (a pooled connection the relay had
  // closed): nothing of the message reached the relay, so it may be sent on a new connection.
  bool nothing_sent = false;
};

// One SMTP session. Created connected and greeted by Connect; then Send any number of times
// (RSET goes before a message only when the one before it did not finish), then Quit.
//
// Threading: all calls and the completion of all I/O run on the executor given to Connect,
// which must be single-threaded (in the daemon, the delivery thread's loop) or a strand. One
// call at a time.
class SmtpClient : public std::enable_shared_from_this<SmtpClient> {
 public:
  // Resolves host, connects, reads the greeting, says EHLO (HELO when EHLO gets 5xx) and
  // upgrades with STARTTLS as options.starttls says, then says EHLO again. Fails with
  // kUnavailable and a sentence naming the relay and the cause ("connect to 127.0.0.1:25
  // failed: Connection refused"); never throws for network trouble.
  static boost::asio::awaitable<Result<std::shared_ptr<SmtpClient>>> Connect(
      boost::asio::any_io_executor ex, std::string host, std::uint16_t port,
      SmtpClientOptions options);

  // Sends one message to recipients: MAIL FROM, RCPT TO for each, DATA, the dot-stuffed body
  // (pipelined when offered). Each recipient gets the reply to its RCPT TO, or, if accepted
  // there, the final reply to the data. A message larger than the relay's advertised SIZE is
  // refused locally with 552 and not sent. Never throws for network trouble: recipients left
  // undecided by a failure get code 0 and the reason. The arguments must outlive the call.
  boost::asio::awaitable<SmtpSendResult> Send(std::string_view sender,
                                              std::span<const std::string> recipients,
                                              std::string_view body);

  // Says QUIT (waiting at most 10 s for the answer) and closes. Never fails.
  boost::asio::awaitable<void> Quit();

  // Closes at once, without a word to the relay.
  void Close();

  bool usable() const { return !broken_; }
  bool tls_active() const { return tls_; }
  const EhloCapabilities& capabilities() const { return caps_; }
  const std::string& peer() const { return peer_; }  // "host:port", for messages

  SmtpClient(boost::asio::any_io_executor ex, std::string host, std::uint16_t port,
             SmtpClientOptions options, std::shared_ptr<boost::asio::ssl::context> tls_context);

 private:
  using Stream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

  boost::asio::awaitable<Result<void>> Open();
  boost::asio::awaitable<Result<void>> Hello();
  boost::asio::awaitable<Result<void>> UpgradeToTls();
  boost::asio::awaitable<Result<void>> Write(std::string_view data, std::string_view what,
                                             std::chrono::milliseconds timeout);
  boost::asio::awaitable<Result<void>> WriteBody(std::string_view body);
  boost::asio::awaitable<Result<SmtpReply>> ReadReply(std::chrono::milliseconds timeout,
                                                      std::string_view what);
  boost::asio::awaitable<Result<SmtpReply>> Command(std::string_view line, std::string_view what);

  void StartDeadline(std::chrono::milliseconds timeout);
  void StopDeadline();
  Error IoError(const boost::system::error_code& ec, std::string_view what,
                std::chrono::milliseconds timeout);

  std::string host_;
  std::uint16_t port_;
  std::string peer_;
  SmtpClientOptions options_;
  std::shared_ptr<boost::asio::ssl::context> tls_context_;
  boost::asio::ip::tcp::resolver resolver_;
  Stream stream_;
  boost::asio::steady_timer deadline_;
  std::uint64_t deadline_generation_ = 0;
  bool timed_out_ = false;
  std::string in_;  // bytes read and not yet parsed
  EhloCapabilities caps_;
  bool tls_ = false;
  bool broken_ = false;
  // A transaction was begun and not ended by the reply to its end of data (or by RSET): the
  // next one starts with RSET. After a completed transaction the relay's state is clean.
  bool in_transaction_ = false;
  bool carried_mail_ = false;  // a transaction was begun on this session before
};

}  // namespace mailwarden
