#include "smtp/smtp_client.h"

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <utility>

#include "core/duration.h"
#include "smtp/dot_stuffer.h"
#include "smtp/no_throw.h"

namespace mailwarden {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using std::chrono::milliseconds;

// Commands per write when pipelining: replies to a batch must fit the socket buffers while we
// are still writing, or both sides would wait on each other until the timeout.
constexpr std::size_t kPipelineBatch = 100;
constexpr std::size_t kBodyChunkBytes = 64 * 1024;
constexpr milliseconds kQuitTimeout = std::chrono::seconds(10);

// An address goes between "<" and ">" in a command line: anything that could end the line or
// the brackets would let a message smuggle commands of its own.
bool SafeInCommand(std::string_view address) {
  return std::none_of(address.begin(), address.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f || c == '<' || c == '>';
  });
}

// Whether any byte is 0x80 or above. The whole body is read for every relayed message, so 64
// bytes at a time (eight words ORed together, then their top bits tested), then the rest byte
// by byte.
bool HasEightBit(std::string_view text) {
  constexpr std::uint64_t kTopBits = 0x8080808080808080;
  constexpr std::size_t kBlock = 64;
  const char* p = text.data();
  std::size_t i = 0;
  for (; i + kBlock <= text.size(); i += kBlock) {
    std::uint64_t any = 0;
    for (std::size_t j = 0; j < kBlock; j += sizeof any) {
      std::uint64_t word;
      std::memcpy(&word, p + i + j, sizeof word);
      any |= word;
    }
    if ((any & kTopBits) != 0) return true;
  }
  for (; i < text.size(); ++i) {
    if (static_cast<unsigned char>(p[i]) >= 0x80) return true;
  }
  return false;
}

bool IsIpAddress(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

RecipientReply FromReply(const SmtpReply& reply) { return {reply.code, reply.ToString()}; }

// Stops the deadline on every way out of a wait.
class DeadlineGuard {
 public:
  explicit DeadlineGuard(std::function<void()> stop) : stop_(std::move(stop)) {}
  ~DeadlineGuard() { stop_(); }
  DeadlineGuard(const DeadlineGuard&) = delete;
  DeadlineGuard& operator=(const DeadlineGuard&) = delete;

 private:
  std::function<void()> stop_;
};

}  // namespace

Result<std::shared_ptr<asio::ssl::context>> MakeSmtpTlsContext(const SmtpClientOptions& options) {
  std::shared_ptr<asio::ssl::context> context;
  try {
    context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  } catch (const boost::system::system_error& e) {
    return Fail(ErrorCode::kUnavailable, fmt::format("cannot set up TLS: {}", e.what()));
  }
  boost::system::error_code ec;
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                           asio::ssl::context::no_sslv3 | asio::ssl::context::no_compression,
                       ec);
  if (options.verify_certificate) {
    context->set_verify_mode(asio::ssl::verify_peer, ec);
    if (!options.ca_file.empty()) {
      context->load_verify_file(options.ca_file, ec);
      if (ec) {
        return Fail(ErrorCode::kInvalidInput,
                    fmt::format("cannot read CA file {}: {}", options.ca_file, ec.message()));
      }
    } else {
      context->set_default_verify_paths(ec);
    }
  } else {
    context->set_verify_mode(asio::ssl::verify_none, ec);
  }
  return context;
}

SmtpClient::SmtpClient(asio::any_io_executor ex, std::string host, std::uint16_t port,
                       SmtpClientOptions options, std::shared_ptr<asio::ssl::context> tls_context)
    : host_(std::move(host)),
      port_(port),
      peer_(host_.find(':') != std::string::npos ? fmt::format("[{}]:{}", host_, port_)
                                                 : fmt::format("{}:{}", host_, port_)),
      options_(std::move(options)),
      tls_context_(std::move(tls_context)),
      resolver_(ex),
      stream_(ex, *tls_context_),
      deadline_(ex) {}

awaitable<Result<std::shared_ptr<SmtpClient>>> SmtpClient::Connect(asio::any_io_executor ex,
                                                                   std::string host,
                                                                   std::uint16_t port,
                                                                   SmtpClientOptions options) {
  auto tls_context = options.tls_context;
  if (!tls_context) {
    auto made = MakeSmtpTlsContext(options);
    if (!made) co_return std::unexpected(made.error());
    tls_context = *std::move(made);
  }
  auto client = std::make_shared<SmtpClient>(std::move(ex), std::move(host), port,
                                             std::move(options), std::move(tls_context));
  auto opened = co_await client->Open();
  if (!opened) {
    client->Close();
    co_return std::unexpected(opened.error());
  }
  co_return client;
}

awaitable<Result<void>> SmtpClient::Open() {
  {
    StartDeadline(options_.connect_timeout);
    DeadlineGuard guard([this] { StopDeadline(); });
    auto [ec, endpoints] = co_await resolver_.async_resolve(host_, std::to_string(port_), kNoThrow);
    // One endpoint at a time, so that the deadline's close ends the whole attempt rather than
    // moving a range connect on to the next address.
    for (const auto& entry : endpoints) {
      if (timed_out_) break;
      boost::system::error_code ignored;
      stream_.next_layer().close(ignored);
      std::tie(ec) = co_await stream_.next_layer().async_connect(entry.endpoint(), kNoThrow);
      if (!ec) break;
    }
    if (ec || timed_out_) {
      broken_ = true;
      co_return Fail(
          ErrorCode::kUnavailable,
          fmt::format("connect to {} failed: {}", peer_,
                      timed_out_ ? "timed out after " + FormatDuration(options_.connect_timeout)
                                 : ec.message()));
    }
  }
  auto greeting = co_await ReadReply(options_.reply_timeout, "waiting for the greeting");
  if (!greeting) co_return std::unexpected(greeting.error());
  if (greeting->code != 220) {
    broken_ = true;
    co_return Fail(ErrorCode::kUnavailable,
                   fmt::format("relay {} refused the session: {}", peer_, greeting->ToString()));
  }
  auto hello = co_await Hello();
  if (!hello) co_return hello;

  if (options_.starttls == StartTls::kNever) co_return Result<void>();
  if (!caps_.starttls) {
    if (options_.starttls == StartTls::kRequired) {
      broken_ = true;
      co_return Fail(ErrorCode::kUnavailable,
                     fmt::format("relay {} does not offer STARTTLS, which is required", peer_));
    }
    co_return Result<void>();
  }
  auto upgraded = co_await UpgradeToTls();
  if (!upgraded) {
    if (broken_ || options_.starttls == StartTls::kRequired) {
      broken_ = true;
      co_return upgraded;
    }
    spdlog::warn("{}; going on without TLS", upgraded.error().message);
  }
  co_return Result<void>();
}

awaitable<Result<void>> SmtpClient::Hello() {
  auto ehlo = co_await Command(fmt::format("EHLO {}\r\n", options_.helo_name), "EHLO");
  if (!ehlo) co_return std::unexpected(ehlo.error());
  if (ehlo->code / 100 == 2) {
    caps_ = ParseEhloCapabilities(*ehlo);
    co_return Result<void>();
  }
  if (ehlo->code / 100 != 5) {
    broken_ = true;
    co_return Fail(ErrorCode::kUnavailable,
                   fmt::format("relay {} refused EHLO: {}", peer_, ehlo->ToString()));
  }
  // An old relay that does not speak ESMTP (RFC 5321 3.2): plain SMTP, no extensions.
  auto helo = co_await Command(fmt::format("HELO {}\r\n", options_.helo_name), "HELO");
  if (!helo) co_return std::unexpected(helo.error());
  if (helo->code / 100 != 2) {
    broken_ = true;
    co_return Fail(ErrorCode::kUnavailable,
                   fmt::format("relay {} refused HELO: {}", peer_, helo->ToString()));
  }
  caps_ = EhloCapabilities{};
  co_return Result<void>();
}

awaitable<Result<void>> SmtpClient::UpgradeToTls() {
  auto reply = co_await Command("STARTTLS\r\n", "STARTTLS");
  if (!reply) co_return std::unexpected(reply.error());
  if (reply->code != 220) {
    co_return Fail(ErrorCode::kUnavailable,
                   fmt::format("relay {} refused STARTTLS: {}", peer_, reply->ToString()));
  }
  if (!in_.empty()) {
    // Bytes sent before the handshake would be taken as if they came over TLS (the STARTTLS
    // injection of CVE-2011-0411): a relay doing that is not to be trusted.
    broken_ = true;
    co_return Fail(ErrorCode::kUnavailable,
                   fmt::format("relay {} sent data after its STARTTLS reply", peer_));
  }
  boost::system::error_code ec;
  const std::string& name = options_.tls_name.empty() ? host_ : options_.tls_name;
  if (!IsIpAddress(name)) SSL_set_tlsext_host_name(stream_.native_handle(), name.c_str());
  if (options_.verify_certificate) {
    stream_.set_verify_mode(asio::ssl::verify_peer, ec);
    stream_.set_verify_callback(asio::ssl::host_name_verification(name), ec);
  }
  {
    StartDeadline(options_.reply_timeout);
    DeadlineGuard guard([this] { StopDeadline(); });
    std::tie(ec) = co_await stream_.async_handshake(asio::ssl::stream_base::client, kNoThrow);
  }
  if (ec || timed_out_) {
    broken_ = true;
    co_return Fail(
        ErrorCode::kUnavailable,
        fmt::format("STARTTLS with {} failed: {}", peer_,
                    timed_out_ ? "timed out after " + FormatDuration(options_.reply_timeout)
                               : ec.message()));
  }
  tls_ = true;
  // What the relay said before TLS could have been altered on the way: ask again (RFC 3207 4.2).
  co_return co_await Hello();
}

awaitable<SmtpSendResult> SmtpClient::Send(std::string_view sender,
                                           std::span<const std::string> recipients,
                                           std::string_view body) {
  SmtpSendResult result;
  result.recipients.resize(recipients.size());
  const auto all = [&](int code, const std::string& text) {
    for (auto& r : result.recipients) r = {code, text};
  };

  if (caps_.max_size != 0 && body.size() > caps_.max_size) {
    all(552, fmt::format("552 5.3.4 message of {} bytes is over the {} bytes relay {} accepts "
                         "(refused here, not sent)",
                         body.size(), caps_.max_size, peer_));
    co_return result;
  }
  if (!SafeInCommand(sender)) {
    all(553, "553 5.1.7 invalid sender address (refused here, not sent)");
    co_return result;
  }
  if (broken_) {
    result.connection_lost = result.nothing_sent = true;
    all(0, fmt::format("connection to {} is closed", peer_));
    co_return result;
  }
  if (in_transaction_) {
    auto rset = co_await Command("RSET\r\n", "RSET");
    if (!rset || rset->code / 100 != 2) {
      broken_ = true;
      result.connection_lost = result.nothing_sent = true;
      all(0, rset ? fmt::format("relay {} refused RSET: {}", peer_, rset->ToString())
                  : rset.error().message);
      co_return result;
    }
  }

  // lines[0] is MAIL FROM, lines[1..n] RCPT TO for recipients rcpt_of[0..n-1], the last DATA.
  std::vector<std::string> lines;
  std::vector<std::size_t> rcpt_of;
  std::string params;
  if (caps_.size) params += fmt::format(" SIZE={}", body.size());
  if (caps_.eight_bit_mime && HasEightBit(body)) params += " BODY=8BITMIME";
  bool utf8_address = HasEightBit(sender);
  for (std::size_t i = 0; i < recipients.size(); ++i) {
    if (recipients[i].empty() || !SafeInCommand(recipients[i])) {
      result.recipients[i] = {553, "553 5.1.3 invalid recipient address (refused here, not sent)"};
      continue;
    }
    utf8_address = utf8_address || HasEightBit(recipients[i]);
    rcpt_of.push_back(i);
  }
  if (rcpt_of.empty()) co_return result;
  if (caps_.smtputf8 && utf8_address) params += " SMTPUTF8";
  lines.push_back(fmt::format("MAIL FROM:<{}>{}\r\n", sender, params));
  for (std::size_t i : rcpt_of) lines.push_back(fmt::format("RCPT TO:<{}>\r\n", recipients[i]));
  lines.push_back("DATA\r\n");
  const std::size_t data_line = lines.size() - 1;
  const auto what = [&](std::size_t line) {
    return line == 0 ? "MAIL FROM" : line == data_line ? "DATA" : "RCPT TO";
  };
  in_transaction_ = true;
  const bool reused = std::exchange(carried_mail_, true);

  std::optional<SmtpReply> mail_reply;
  std::optional<SmtpReply> data_reply;
  std::optional<SmtpReply> final_reply;
  std::vector<std::optional<SmtpReply>> rcpt_replies(recipients.size());
  std::optional<Error> failure;
  bool any_accepted = false;
  const std::size_t batch = caps_.pipelining ? kPipelineBatch : 1;
  for (std::size_t next = 0; next < lines.size() && !failure;) {
    if (mail_reply && mail_reply->code / 100 != 2) break;
    if (next == data_line && !any_accepted) break;
    const std::size_t end = std::min(next + batch, lines.size());
    std::string out;
    for (std::size_t k = next; k < end; ++k) out += lines[k];
    auto written =
        co_await Write(out, fmt::format("sending {}", what(next)), options_.reply_timeout);
    if (!written) {
      failure = written.error();
      break;
    }
    for (std::size_t k = next; k < end; ++k) {
      auto reply = co_await ReadReply(options_.reply_timeout,
                                      fmt::format("waiting for the reply to {}", what(k)));
      if (!reply) {
        failure = reply.error();
        break;
      }
      if (k == 0) {
        mail_reply = *reply;
      } else if (k == data_line) {
        data_reply = *reply;
      } else {
        rcpt_replies[rcpt_of[k - 1]] = *reply;
        any_accepted = any_accepted || reply->code / 100 == 2;
      }
      if (reply->code == 421) {
        failure = Error{ErrorCode::kUnavailable, fmt::format("relay {} is closing the session: {}",
                                                             peer_, reply->ToString())};
        break;
      }
    }
    next = end;
  }

  const bool mail_accepted = mail_reply && mail_reply->code / 100 == 2;
  if (!failure && data_reply && data_reply->code == 354) {
    if (mail_accepted && any_accepted) {
      auto written = co_await WriteBody(body);
      if (!written) failure = written.error();
    } else {
      // Pipelined DATA went through although nothing before it did (RFC 2920 3.1): end the
      // empty transaction so that the session stays in step.
      auto written = co_await Write(".\r\n", "ending an empty DATA", options_.reply_timeout);
      if (!written) failure = written.error();
    }
    if (!failure) {
      auto reply =
          co_await ReadReply(options_.data_timeout, "waiting for the reply to the end of data");
      if (!reply) {
        failure = reply.error();
      } else {
        final_reply = *reply;
        in_transaction_ = false;  // whatever the code, the end of data ends the transaction
      }
    }
  }
  if (data_reply && data_reply->code != 354 && data_reply->code < 400) {
    // A success code where 354 was due: the relay and we no longer agree on the state.
    broken_ = true;
  }

  const auto failure_text = [&](std::string_view otherwise) {
    return failure ? failure->message : fmt::format("{} ({})", otherwise, peer_);
  };
  for (std::size_t i : rcpt_of) {
    RecipientReply& out = result.recipients[i];
    const auto& rcpt = rcpt_replies[i];
    if (mail_reply && !mail_accepted) {
      out = FromReply(*mail_reply);
    } else if (!rcpt) {
      out = {0, failure_text("no reply to RCPT TO")};
    } else if (rcpt->code / 100 != 2) {
      out = FromReply(*rcpt);
    } else if (final_reply) {
      out = FromReply(*final_reply);
    } else if (data_reply && data_reply->code >= 400) {
      out = FromReply(*data_reply);
    } else if (data_reply && data_reply->code != 354) {
      out = {0, fmt::format("relay {} gave an unexpected reply to DATA: {}", peer_,
                            data_reply->ToString())};
    } else {
      out = {0, failure_text("no reply to the end of data")};
    }
  }
  // A session that carried mail before and fails before the relay answered MAIL FROM, or
  // whose first answer is 421, was closed by the relay while it sat idle in the pool: nothing
  // of this message reached the relay, and it may go on a new connection.
  if (reused && (mail_reply ? mail_reply->code == 421 : failure.has_value())) {
    broken_ = true;
    result.nothing_sent = true;
  }
  result.connection_lost = broken_;
  co_return result;
}

awaitable<void> SmtpClient::Quit() {
  if (!broken_) {
    auto written = co_await Write("QUIT\r\n", "sending QUIT", kQuitTimeout);
    if (written) co_await ReadReply(kQuitTimeout, "waiting for the reply to QUIT");
  }
  Close();
}

void SmtpClient::Close() {
  StopDeadline();
  broken_ = true;
  boost::system::error_code ignored;
  resolver_.cancel();
  stream_.next_layer().close(ignored);
}

awaitable<Result<void>> SmtpClient::Write(std::string_view data, std::string_view what,
                                          milliseconds timeout) {
  StartDeadline(timeout);
  DeadlineGuard guard([this] { StopDeadline(); });
  boost::system::error_code ec;
  if (tls_) {
    std::tie(ec, std::ignore) = co_await asio::async_write(stream_, asio::buffer(data), kNoThrow);
  } else {
    std::tie(ec, std::ignore) =
        co_await asio::async_write(stream_.next_layer(), asio::buffer(data), kNoThrow);
  }
  if (ec || timed_out_) co_return std::unexpected(IoError(ec, what, timeout));
  co_return Result<void>();
}

awaitable<Result<void>> SmtpClient::WriteBody(std::string_view body) {
  DotStuffer stuffer(body);
  std::string chunk;
  while (stuffer.Next(chunk, kBodyChunkBytes)) {
    auto written = co_await Write(chunk, "sending the message", options_.reply_timeout);
    if (!written) co_return written;
  }
  co_return Result<void>();
}

awaitable<Result<SmtpReply>> SmtpClient::ReadReply(milliseconds timeout, std::string_view what) {
  StartDeadline(timeout);
  DeadlineGuard guard([this] { StopDeadline(); });
  SmtpReplyParser parser;
  std::array<char, 4096> buffer;
  for (;;) {
    for (auto eol = in_.find('\n'); eol != std::string::npos; eol = in_.find('\n')) {
      std::string_view line(in_.data(), eol);
      if (line.ends_with('\r')) line.remove_suffix(1);
      auto done = parser.AddLine(line);
      in_.erase(0, eol + 1);
      if (!done) {
        broken_ = true;
        co_return Fail(ErrorCode::kUnavailable, fmt::format("relay {} broke the protocol {}: {}",
                                                            peer_, what, done.error().message));
      }
      if (*done) {
        auto reply = parser.TakeReply();
        // 421: the relay is shutting the session down (RFC 5321 3.8); it will not answer more.
        if (reply.code == 421) broken_ = true;
        co_return reply;
      }
    }
    if (in_.size() > kMaxReplyLineBytes + 1) {
      broken_ = true;
      co_return Fail(ErrorCode::kUnavailable,
                     fmt::format("relay {} broke the protocol {}: reply line longer than {} bytes",
                                 peer_, what, kMaxReplyLineBytes));
    }
    boost::system::error_code ec;
    std::size_t n = 0;
    if (tls_) {
      std::tie(ec, n) = co_await stream_.async_read_some(asio::buffer(buffer), kNoThrow);
    } else {
      std::tie(ec, n) =
          co_await stream_.next_layer().async_read_some(asio::buffer(buffer), kNoThrow);
    }
    if (ec || timed_out_) co_return std::unexpected(IoError(ec, what, timeout));
    in_.append(buffer.data(), n);
  }
}

awaitable<Result<SmtpReply>> SmtpClient::Command(std::string_view line, std::string_view what) {
  auto written = co_await Write(line, fmt::format("sending {}", what), options_.reply_timeout);
  if (!written) co_return std::unexpected(written.error());
  co_return co_await ReadReply(options_.reply_timeout,
                               fmt::format("waiting for the reply to {}", what));
}

void SmtpClient::StartDeadline(milliseconds timeout) {
  timed_out_ = false;
  const auto generation = ++deadline_generation_;
  deadline_.expires_after(timeout);
  deadline_.async_wait([weak = weak_from_this(), generation](const boost::system::error_code& ec) {
    if (ec) return;
    auto self = weak.lock();
    // A newer wait began since: this expiry belongs to an operation that already ended.
    if (!self || self->deadline_generation_ != generation) return;
    self->timed_out_ = true;
    boost::system::error_code ignored;
    self->resolver_.cancel();
    // Closing the socket ends the connect, read, write or handshake in flight at once.
    self->stream_.next_layer().close(ignored);
  });
}

void SmtpClient::StopDeadline() {
  ++deadline_generation_;
  deadline_.cancel();
}

Error SmtpClient::IoError(const boost::system::error_code& ec, std::string_view what,
                          milliseconds timeout) {
  broken_ = true;
  if (timed_out_) {
    return Error{ErrorCode::kUnavailable, fmt::format("relay {} timed out after {} {}", peer_,
                                                      FormatDuration(timeout), what)};
  }
  return Error{ErrorCode::kUnavailable,
               fmt::format("connection to {} lost {}: {}", peer_, what, ec.message())};
}

}  // namespace mailwarden
