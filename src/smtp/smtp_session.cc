#include "smtp/smtp_session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <exception>
#include <optional>
#include <string_view>
#include <tuple>
#include <utility>

#include "core/host_port.h"
#include "smtp/loopback_peer.h"
#include "smtp/no_throw.h"
#include "smtp/smtp_command.h"
#include "smtp/smtp_data_reader.h"

namespace mailwarden {
namespace asio = boost::asio;
using asio::ip::tcp;
using std::chrono::milliseconds;

namespace {

constexpr std::size_t kReadChunkBytes = 64 * 1024;
// Replies pile up while a pipelining client's commands are answered; past this they are sent
// even though input is waiting, so a client that never reads cannot grow the buffer.
constexpr std::size_t kMaxPendingReplyBytes = 64 * 1024;
constexpr milliseconds kGoodbyeTimeout = std::chrono::seconds(10);
constexpr std::size_t kMaxShownTextBytes = 200;

constexpr std::string_view kLoginUserChallenge = "VXNlcm5hbWU6";      // "Username:"
constexpr std::string_view kLoginPasswordChallenge = "UGFzc3dvcmQ6";  // "Password:"

// Text from a client or the backend, made safe to put in a reply or a log line: one line of
// printable ASCII, bounded.
std::string Printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, kMaxShownTextBytes)) {
    out.push_back(c >= 0x20 && c <= 0x7e ? c : '?');
  }
  if (text.size() > kMaxShownTextBytes) out += "...";
  return out;
}

bool IsCredentialsError(ErrorCode code) {
  return code == ErrorCode::kUnauthenticated || code == ErrorCode::kNotFound ||
         code == ErrorCode::kPermission;
}

bool IsPermanent(ErrorCode code) {
  return code == ErrorCode::kInvalidInput || code == ErrorCode::kTooLarge;
}

}  // namespace

asio::awaitable<void> SmtpSession::Serve(std::shared_ptr<SmtpSession> self,
                                         std::list<std::weak_ptr<SmtpSession>>::iterator entry) {
  try {
    co_await self->Run();
  } catch (const std::exception& e) {
    spdlog::error("smtp: ip={} session failed: {}", self->client_ip_, e.what());
  }
  self->StopDeadline();
  self->ForgetIdentity();
  if (!self->client_key_.empty()) self->server_.EndClientSession(self->client_key_);
  boost::system::error_code ignored;
  self->socket_.close(ignored);
  self->server_.sessions_.erase(entry);
  self->server_.CheckStress();
}

asio::awaitable<void> SmtpSession::Run() {
  boost::system::error_code ec;
  const auto remote = socket_.remote_endpoint(ec);
  if (ec) co_return;
  const auto local = socket_.local_endpoint(ec);
  if (ec) co_return;
  client_ip_ = Unmapped(remote.address()).to_string();
  loopback_ = Unmapped(local.address()).is_loopback();

  if (over_limit_) {
    spdlog::warn("smtp: ip={} result=refused reason=\"too many connections\"", client_ip_);
    Queue(421, "4.7.0 " + options_.hostname + " Too many connections, try again later");
    co_await Flush(kGoodbyeTimeout);
    co_return;
  }
  // On loopback every script is 127.0.0.1: the client is the local user owning its socket.
  // One the kernel does not show (gone already) shares one key with the others not shown.
  std::string client = client_ip_;
  std::optional<Uid> uid;
  if (loopback_) {
    uid = LoopbackPeerUid(socket_);
    client = uid ? "uid " + std::to_string(*uid) : "loopback, owner unknown";
  }
  limiter_key_ = client;
  if (!server_.TakeClientSession(client)) {
    spdlog::warn(
        "smtp: ip={} client=\"{}\" result=refused reason=\"too many connections of this "
        "client (smtp.max_connections_per_client)\"",
        client_ip_, client);
    Queue(421, "4.7.0 " + options_.hostname + " Too many connections from you, try again later");
    co_await Flush(kGoodbyeTimeout);
    co_return;
  }
  client_key_ = std::move(client);
  if (options_.open)
    identity_ = SmtpIdentity{.account = 0, .name = options_.open_identity, .uid = std::nullopt};
  if (local_ && !co_await IdentifyLocalUser(uid)) {
    co_await Flush(kGoodbyeTimeout);
    co_return;
  }
  Queue(220, options_.hostname + " ESMTP mailwarden");

  while (!close_) {
    if (data_) {
      Consume(data_->Feed(Pending()));
      if (data_->done()) {
        co_await FinishData();
        continue;
      }
      if (!large_slot_ && data_->held_bytes() >= kSmallMessageBytes) {
        // Nothing more is read until there is room; the client waits in its write, and no
        // idle deadline runs meanwhile (waiting is not its fault), but it waits for at most
        // max_wait_for_room: then the message is dropped as it comes and refused with 451.
        large_slot_ = co_await server_.gate_.Acquire(options_.max_wait_for_room);
        if (large_slot_) {
          data_->Reserve(LargeMessageRoom(options_.max_message_bytes));
        } else {
          data_->DropForLackOfRoom();
        }
      } else if (large_slot_ && data_->held_bytes() == 0) {
        large_slot_.reset();  // over the size limit: nothing more is kept
      }
    } else {
      std::string line;
      if (TakeLine(&line)) {
        co_await HandleLine(line);
        if (out_.size() >= kMaxPendingReplyBytes && !co_await Flush(server_.IdleTimeout())) {
          co_return;
        }
        continue;
      }
      if (close_) break;
    }
    // RFC 2920: replies go out when there is no more input to answer.
    if (!co_await Flush(server_.IdleTimeout())) co_return;
    if (draining_ && !data_) break;
    waiting_for_command_ = !data_;
    const bool read = co_await ReadMore();
    waiting_for_command_ = false;
    if (!read) {
      if (draining_ && !data_) break;
      if (timed_out_) {
        spdlog::info("smtp: ip={} idle timeout, closing", client_ip_);
        Queue(421, "4.4.2 " + options_.hostname + " Error: timeout exceeded");
        co_await Flush(kGoodbyeTimeout);
      }
      co_return;
    }
  }
  if (draining_ && !close_) {
    spdlog::info("smtp: ip={} the daemon stops, closing", client_ip_);
    Queue(421, "4.3.2 " + options_.hostname + " Service shutting down, try again later");
  }
  co_await Flush(kGoodbyeTimeout);
}

bool SmtpSession::TakeLine(std::string* line) {
  for (;;) {
    const std::string_view pending = Pending();
    const std::size_t lf = pending.find('\n');
    if (lf == std::string_view::npos) {
      if (discarding_) {
        DropInput();
      } else if (pending.size() >= kMaxCommandLineBytes) {
        QueueError(500, "5.5.2 Line too long");
        discarding_ = true;
        DropInput();
      }
      return false;
    }
    Consume(lf + 1);
    if (discarding_) {
      discarding_ = false;
      continue;
    }
    if (lf + 1 > kMaxCommandLineBytes) {
      QueueError(500, "5.5.2 Line too long");
      if (close_) return false;
      continue;
    }
    if (lf == 0 || pending[lf - 1] != '\r') {
      QueueError(500, "5.5.2 Syntax error: a command line must end with CRLF");
      if (close_) return false;
      continue;
    }
    line->assign(pending.substr(0, lf - 1));
    return true;
  }
}

asio::awaitable<void> SmtpSession::HandleLine(std::string_view line) {
  if (sasl_ != Sasl::kNone) {
    co_await HandleSaslResponse(line);
    co_return;
  }
  if (!identity_ && ++commands_before_auth_ > options_.max_commands_before_auth) {
    spdlog::warn(
        "smtp: ip={} client=\"{}\" result=refused reason=\"{} commands without logging in "
        "(smtp.max_commands_before_auth)\"",
        client_ip_, client_key_, options_.max_commands_before_auth);
    QueueClose("4.7.0 Too many commands without authentication, closing connection");
    co_return;
  }
  SmtpServerReply refusal;
  auto command = ParseSmtpCommand(line, &refusal);
  if (!command) {
    QueueError(refusal);
    co_return;
  }
  co_await HandleCommand(*command);
}

asio::awaitable<void> SmtpSession::HandleCommand(const SmtpCommand& command) {
  switch (command.verb) {
    case SmtpVerb::kEhlo: {
      ResetTransaction();
      hello_ = ehlo_ = true;
      helo_ = command.argument;
      std::string reply = "250-" + options_.hostname + "\r\n";
      reply += "250-PIPELINING\r\n";
      reply += "250-SIZE " + std::to_string(options_.max_message_bytes) + "\r\n";
      reply += "250-8BITMIME\r\n";
      if (local_ || options_.open) {
        // No STARTTLS nor AUTH: loopback only, and the kernel said who the client is; or an
        // open listener, whose recipients are all it checks.
        reply += "250 ENHANCEDSTATUSCODES\r\n";
      } else {
        reply += "250-ENHANCEDSTATUSCODES\r\n";
        if (server_.tls_context_ && !tls_) reply += "250-STARTTLS\r\n";
        reply += "250 AUTH PLAIN LOGIN\r\n";
      }
      out_ += reply;
      break;
    }
    case SmtpVerb::kHelo:
      ResetTransaction();
      hello_ = true;
      ehlo_ = false;
      helo_ = command.argument;
      Queue(250, options_.hostname);
      break;
    case SmtpVerb::kMail:
      if (!hello_) {
        QueueError(503, "5.5.1 Send HELO/EHLO first");
      } else if (!identity_ && local_) {
        spdlog::warn("smtp: ip={} client=\"{}\" result=refused reason=\"{}\"", client_ip_,
                     client_key_, local_refusal_);
        QueueError(550, "5.7.1 " + local_refusal_);
      } else if (!identity_) {
        // No open relay: every transaction belongs to an authenticated account.
        QueueError(530, "5.7.0 Authentication required");
      } else if (mail_from_) {
        QueueError(503, "5.5.1 Nested MAIL command");
      } else if (command.size && *command.size > options_.max_message_bytes) {
        Queue(552, "5.3.4 Message size exceeds fixed limit of " +
                       std::to_string(options_.max_message_bytes) + " bytes");
      } else {
        mail_from_ = command.address;
        Queue(250, "2.1.0 Sender ok");
      }
      break;
    case SmtpVerb::kRcpt:
      if (!mail_from_) {
        QueueError(503, "5.5.1 Need MAIL command first");
      } else if (rcpt_to_.size() >= options_.max_recipients) {
        Queue(452, "4.5.3 Too many recipients");
      } else if (options_.open && !co_await RecipientTaken(command.address)) {
        // Refused (550 or 451) and logged by RecipientTaken.
      } else if (identity_->max_recipients > 0 && rcpt_to_.size() >= identity_->max_recipients) {
        // The account's own cap: deferring cannot make a message's recipients fewer.
        Queue(452, "4.5.3 Too many recipients: at most " +
                       std::to_string(identity_->max_recipients) +
                       " a message for this account (policy.max_recipients)");
      } else {
        if (std::find(rcpt_to_.begin(), rcpt_to_.end(), command.address) == rcpt_to_.end()) {
          rcpt_to_.push_back(command.address);
        }
        Queue(250, "2.1.5 Recipient ok");
      }
      break;
    case SmtpVerb::kData:
      if (!mail_from_) {
        QueueError(503, "5.5.1 Need MAIL command first");
      } else if (rcpt_to_.empty()) {
        QueueError(554, "5.5.1 No valid recipients");
      } else {
        Queue(354, "End data with <CR><LF>.<CR><LF>");
        data_.emplace(options_.max_message_bytes);
      }
      break;
    case SmtpVerb::kRset:
      ResetTransaction();
      Queue(250, "2.0.0 Ok");
      break;
    case SmtpVerb::kNoop:
      Queue(250, "2.0.0 Ok");
      break;
    case SmtpVerb::kQuit:
      Queue(221, "2.0.0 " + options_.hostname + " closing connection");
      close_ = true;
      break;
    case SmtpVerb::kHelp:
      Queue(214, "2.0.0 Commands: EHLO HELO AUTH MAIL RCPT DATA RSET NOOP QUIT STARTTLS VRFY HELP");
      break;
    case SmtpVerb::kVrfy:
      Queue(252, "2.1.5 Cannot VRFY user, but will accept message and attempt delivery");
      break;
    case SmtpVerb::kStartTls:
      if (!server_.tls_context_ || local_ || options_.open) {
        QueueError(502, "5.5.1 STARTTLS not available");
      } else if (tls_) {
        QueueError(503, "5.5.1 TLS already active");
      } else {
        co_await StartTls();
      }
      break;
    case SmtpVerb::kAuth:
      if (local_) {
        QueueError(503, "5.5.1 No AUTH here: mail on this listener belongs to your user id");
        break;
      }
      if (options_.open) {
        QueueError(503, "5.5.1 No AUTH here");
        break;
      }
      co_await StartAuth(command);
      break;
  }
}

asio::awaitable<void> SmtpSession::StartAuth(const SmtpCommand& command) {
  if (!ehlo_) {
    QueueError(503, "5.5.1 Send EHLO first");
    co_return;
  }
  if (identity_) {
    QueueError(503, "5.5.1 Already authenticated");
    co_return;
  }
  if (mail_from_) {
    QueueError(503, "5.5.1 AUTH not allowed during a mail transaction");
    co_return;
  }
  if (AuthNeedsTls()) {
    // The password would cross the network in clear text.
    QueueError(538, "5.7.11 Encryption required for requested authentication mechanism");
    co_return;
  }
  if (command.argument == "PLAIN") {
    if (!command.initial_response) {
      out_ += "334 \r\n";
      sasl_ = Sasl::kPlain;
      co_return;
    }
    sasl_ = Sasl::kPlain;
    co_await HandleSaslResponse(*command.initial_response);
  } else if (command.argument == "LOGIN") {
    if (!command.initial_response) {
      out_ += "334 " + std::string(kLoginUserChallenge) + "\r\n";
      sasl_ = Sasl::kLoginUser;
      co_return;
    }
    sasl_ = Sasl::kLoginUser;
    co_await HandleSaslResponse(*command.initial_response);
  } else {
    QueueError(504, "5.5.4 Unrecognized authentication mechanism, use PLAIN or LOGIN");
  }
}

asio::awaitable<void> SmtpSession::HandleSaslResponse(std::string_view line) {
  const Sasl step = std::exchange(sasl_, Sasl::kNone);
  if (line == "*") {
    QueueError(501, "5.0.0 Authentication cancelled");
    co_return;
  }
  if (line.size() + 2 > kMaxCommandLineBytes) {
    QueueError(500, "5.5.2 Line too long");
    co_return;
  }
  if (step == Sasl::kPlain) {
    auto credentials = ParseSaslPlain(line);
    if (!credentials) {
      QueueError(501, "5.5.2 Cannot decode the AUTH PLAIN response");
      co_return;
    }
    if (!credentials->authzid.empty() && credentials->authzid != credentials->user) {
      QueueError(535, "5.7.8 Authentication failed: acting as another user is not supported");
      co_return;
    }
    co_await Verify(std::move(credentials->user), std::move(credentials->password));
    co_return;
  }
  auto decoded = DecodeBase64(line == "=" ? std::string_view() : line);
  const bool valid = decoded && !decoded->empty() && decoded->size() <= 255 &&
                     decoded->find('\0') == std::string::npos;
  if (!valid) {
    QueueError(501, "5.5.2 Cannot decode the AUTH LOGIN response");
    co_return;
  }
  if (step == Sasl::kLoginUser) {
    sasl_user_ = std::move(*decoded);
    out_ += "334 " + std::string(kLoginPasswordChallenge) + "\r\n";
    sasl_ = Sasl::kLoginPassword;
    co_return;
  }
  co_await Verify(std::exchange(sasl_user_, std::string()), std::move(*decoded));
}

asio::awaitable<void> SmtpSession::Verify(std::string user, std::string password) {
  const std::string shown_user = Printable(user);
  // The client as Run found it: on loopback the local user owning the socket, as the kernel
  // records it. Keyed on the user name it gives instead, any local user could lock an
  // account's scripts out with wrong passwords in its name; keyed on its own uid, it locks
  // out only itself.
  const std::string& limiter_key = limiter_key_;
  if (!server_.auth_limiter_.Allowed(limiter_key, std::chrono::steady_clock::now())) {
    spdlog::warn(
        "smtp: ip={} client=\"{}\" user=\"{}\" result=refused reason=\"auth failure limit\"",
        client_ip_, limiter_key, shown_user);
    QueueClose("4.7.0 Too many failed authentication attempts, try again later");
    co_return;
  }
  auto result =
      co_await server_.backend_.Authenticate(std::move(user), std::move(password), client_ip_);
  if (result) {
    if (!server_.TakeAccountSession(result->account)) {
      spdlog::warn(
          "smtp: ip={} account={} result=refused reason=\"too many connections of the "
          "account\"",
          client_ip_, result->name);
      QueueClose("4.7.0 Too many connections for this account, try again later");
      co_return;
    }
    identity_ = std::move(*result);
    spdlog::info("smtp: ip={} account={} auth=ok", client_ip_, identity_->name);
    Queue(235, "2.7.0 Authentication successful");
    co_return;
  }
  if (!IsCredentialsError(result.error().code)) {
    spdlog::error("smtp: ip={} user=\"{}\" auth=unavailable: {}", client_ip_, shown_user,
                  Printable(result.error().message));
    Queue(454, "4.7.0 Temporary authentication failure, try again later");
    co_return;
  }
  server_.auth_limiter_.RecordFailure(limiter_key, std::chrono::steady_clock::now());
  ++auth_failures_;
  spdlog::warn("smtp: ip={} client=\"{}\" user=\"{}\" auth=failed attempt={}", client_ip_,
               limiter_key, shown_user, auth_failures_);
  Queue(535, "5.7.8 Authentication credentials invalid");
  if (auth_failures_ >= options_.max_auth_failures_per_connection) {
    QueueClose("4.7.0 Too many failed authentication attempts, closing connection");
  }
}

asio::awaitable<bool> SmtpSession::RecipientTaken(const std::string& address) {
  auto taken = co_await server_.backend_.CheckRecipient(*identity_, address);
  if (taken) co_return true;
  if (IsPermanent(taken.error().code) || taken.error().code == ErrorCode::kNotFound) {
    spdlog::warn("smtp: ip={} account={} to=<{}> result=refused reason=\"{}\"", client_ip_,
                 identity_->name, Printable(address), Printable(taken.error().message));
    QueueError(550, "5.1.1 <" + Printable(address) +
                        ">: Recipient address rejected: " + Printable(taken.error().message));
  } else {
    spdlog::error("smtp: ip={} to=<{}> result=deferred reason=\"{}\"", client_ip_,
                  Printable(address), Printable(taken.error().message));
    Queue(451, "4.3.0 Temporary failure, try again later");
  }
  co_return false;
}

asio::awaitable<bool> SmtpSession::IdentifyLocalUser(std::optional<Uid> uid) {
  if (!uid) {
    // Only a client on this host has a socket the kernel can name: nothing else may send here.
    spdlog::warn("smtp: ip={} local=refused reason=\"the owner of the client's socket is unknown\"",
                 client_ip_);
    local_refusal_ = "The sender of this connection is not a local user";
    co_return true;
  }
  auto found = co_await server_.backend_.IdentifyLocalUser(*uid);
  if (!found && found.error().code == ErrorCode::kNotFound) {
    local_refusal_ = "uid " + std::to_string(*uid) + " has no mail account here";
    co_return true;
  }
  if (!found) {
    spdlog::error("smtp: ip={} uid={} local=unavailable: {}", client_ip_, *uid,
                  Printable(found.error().message));
    Queue(421, "4.3.0 " + options_.hostname + " Temporary failure, try again later");
    co_return false;
  }
  if (!server_.TakeAccountSession(found->account)) {
    spdlog::warn(
        "smtp: ip={} uid={} account={} result=refused reason=\"too many connections of "
        "the account\"",
        client_ip_, *uid, found->name);
    Queue(421, "4.7.0 Too many connections for this account, try again later");
    co_return false;
  }
  identity_ = std::move(*found);
  identity_->uid = uid;
  spdlog::info("smtp: ip={} uid={} account={} local=ok", client_ip_, *uid, identity_->name);
  co_return true;
}

asio::awaitable<void> SmtpSession::StartTls() {
  Queue(220, "2.0.0 Ready to start TLS");
  if (!co_await Flush(server_.IdleTimeout())) {
    close_ = true;
    co_return;
  }
  if (!Pending().empty()) {
    // Whatever came with STARTTLS was sent in clear text and must not be answered as if it
    // came over TLS (command injection, CVE-2011-0411). RFC 3207 forbids pipelining it.
    spdlog::warn("smtp: ip={} dropped {} bytes sent after STARTTLS", client_ip_, Pending().size());
    DropInput();
  }
  tls_stream_.emplace(socket_, *server_.tls_context_);
  StartDeadline(server_.IdleTimeout(), true);
  auto [ec] = co_await tls_stream_->async_handshake(asio::ssl::stream_base::server, kNoThrow);
  StopDeadline();
  if (ec) {
    spdlog::warn("smtp: ip={} TLS handshake failed: {}", client_ip_, ec.message());
    close_ = true;
    out_.clear();
    Close();
    co_return;
  }
  tls_ = true;
  // RFC 3207 4.2: the client starts over; nothing learnt in clear text is kept.
  hello_ = ehlo_ = false;
  helo_.clear();
  ForgetIdentity();
  ResetTransaction();
}

asio::awaitable<void> SmtpSession::FinishData() {
  SmtpDataReader reader = std::move(*data_);
  data_.reset();
  SmtpEnvelope envelope;
  envelope.mail_from = std::move(*mail_from_);
  envelope.rcpt_to = std::move(rcpt_to_);
  envelope.client_ip = client_ip_;
  envelope.helo = helo_;
  ResetTransaction();

  if (reader.outcome() == SmtpDataOutcome::kNoRoom) {
    const SmtpServerReply refusal = reader.Refusal();
    spdlog::warn(
        "smtp: ip={} account={} result=deferred bytes={} reason=\"no room for a large message "
        "within {} ms (submit.max_wait_for_room)\"",
        client_ip_, identity_->name, reader.wire_bytes(), options_.max_wait_for_room.count());
    Queue(refusal);
    co_return;
  }
  if (reader.outcome() != SmtpDataOutcome::kAccepted) {
    large_slot_.reset();
    const SmtpServerReply refusal = reader.Refusal();
    spdlog::warn("smtp: ip={} account={} result=refused bytes={} reply=\"{} {}\"", client_ip_,
                 identity_->name, reader.wire_bytes(), refusal.code, refusal.text);
    Queue(refusal);
    co_return;
  }
  const std::size_t recipients = envelope.rcpt_to.size();
  auto id = co_await server_.backend_.Accept(*identity_, std::move(envelope), reader.TakeMessage());
  large_slot_.reset();  // stored or refused: its memory is free
  if (id) {
    spdlog::info("smtp: ip={} account={} result=queued id={} rcpts={} bytes={}", client_ip_,
                 identity_->name, *id, recipients, reader.wire_bytes());
    Queue(250, "2.0.0 Ok: queued as " + std::to_string(*id));
  } else if (id.error().code == ErrorCode::kRefusedSender) {
    // A policy refusal (RFC 3463 5.7.1: delivery not authorised), not a bad message.
    spdlog::warn("smtp: ip={} account={} result=refused reason=\"{}\"", client_ip_, identity_->name,
                 Printable(id.error().message));
    Queue(550, "5.7.1 " + Printable(id.error().message));
  } else if (IsPermanent(id.error().code)) {
    spdlog::warn("smtp: ip={} account={} result=refused reason=\"{}\"", client_ip_, identity_->name,
                 Printable(id.error().message));
    Queue(554, "5.6.0 " + Printable(id.error().message));
  } else if (id.error().code == ErrorCode::kOverLimit) {
    spdlog::warn("smtp: ip={} account={} result=refused reason=\"{}\"", client_ip_, identity_->name,
                 Printable(id.error().message));
    Queue(451, "4.7.1 " + Printable(id.error().message));
  } else if (id.error().code == ErrorCode::kNoRoom) {
    // As Postfix's smtpd answers when its queue file system is short of room.
    spdlog::warn("smtp: ip={} account={} result=deferred reason=\"{}\"", client_ip_,
                 identity_->name, Printable(id.error().message));
    Queue(452, "4.3.1 Insufficient system storage: " + Printable(id.error().message));
  } else {
    spdlog::error("smtp: ip={} account={} result=deferred reason=\"{}\"", client_ip_,
                  identity_->name, Printable(id.error().message));
    Queue(451, "4.3.0 Temporary failure storing the message, try again later");
  }
}

asio::awaitable<bool> SmtpSession::ReadMore() {
  in_.erase(0, in_pos_);
  in_pos_ = 0;
  const std::size_t kept = in_.size();
  // resize_and_overwrite: the read fills the new bytes, so they are not zeroed first (64 KB
  // per read, most of it never used).
  in_.resize_and_overwrite(kept + kReadChunkBytes, [](char*, std::size_t n) { return n; });
  const auto buffer = asio::buffer(in_.data() + kept, kReadChunkBytes);
  StartDeadline(server_.IdleTimeout(), false);
  boost::system::error_code ec;
  std::size_t n = 0;
  if (tls_) {
    std::tie(ec, n) = co_await tls_stream_->async_read_some(buffer, kNoThrow);
  } else {
    std::tie(ec, n) = co_await socket_.async_read_some(buffer, kNoThrow);
  }
  StopDeadline();
  in_.resize(kept + (ec ? 0 : n));
  co_return !ec;
}

asio::awaitable<bool> SmtpSession::Flush(milliseconds timeout) {
  if (out_.empty()) co_return socket_.is_open();
  // A client that does not read its replies is dropped, not waited for.
  StartDeadline(timeout, true);
  boost::system::error_code ec;
  if (tls_) {
    std::tie(ec, std::ignore) =
        co_await asio::async_write(*tls_stream_, asio::buffer(out_), kNoThrow);
  } else {
    std::tie(ec, std::ignore) = co_await asio::async_write(socket_, asio::buffer(out_), kNoThrow);
  }
  StopDeadline();
  out_.clear();
  co_return !ec;
}

void SmtpSession::StartDeadline(milliseconds timeout, bool close) {
  timed_out_ = false;
  deadline_running_ = true;
  deadline_closes_ = close;
  const auto generation = ++deadline_generation_;
  deadline_.expires_after(timeout);
  deadline_.async_wait(
      [weak = weak_from_this(), generation, close](const boost::system::error_code& ec) {
        if (ec) return;
        auto self = weak.lock();
        // A newer wait began since: this expiry belongs to an operation that already ended.
        if (!self || self->deadline_generation_ != generation) return;
        self->timed_out_ = true;
        boost::system::error_code ignored;
        // A read is cancelled so that the client can still be told 421; a write that does
        // not progress leaves nothing to say, so the connection goes.
        if (close) {
          self->socket_.close(ignored);
        } else {
          self->socket_.cancel(ignored);
        }
      });
}

void SmtpSession::StopDeadline() {
  deadline_running_ = false;
  ++deadline_generation_;
  deadline_.cancel();
}

void SmtpSession::Queue(int code, std::string_view text) {
  out_ += std::to_string(code);
  out_ += ' ';
  out_ += text;
  out_ += "\r\n";
}

void SmtpSession::QueueError(int code, std::string_view text) {
  Queue(code, text);
  if (++errors_ >= options_.max_protocol_errors && !close_) {
    spdlog::warn("smtp: ip={} too many errors, closing", client_ip_);
    QueueClose("4.7.0 " + options_.hostname + " Too many errors, closing connection");
  }
}

void SmtpSession::QueueClose(std::string_view text) {
  Queue(421, text);
  close_ = true;
  // Nothing after this reply is read, so the session ends once it is sent.
  DropInput();
  data_.reset();
}

}  // namespace mailwarden
