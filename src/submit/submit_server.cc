#include "submit/submit_server.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "core/duration.h"
#include "submit/submit_wire.h"

namespace mailwarden {
namespace asio = boost::asio;
using local = asio::local::stream_protocol;

namespace {

constexpr auto kIdleTimeout = std::chrono::seconds(120);
// What a client is given to take a refusal sent before the end of its request.
constexpr auto kGoodbyeTimeout = std::chrono::seconds(5);

int ExitCodeFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidInput:
    case ErrorCode::kTooLarge:
    case ErrorCode::kRefusedSender:
      return kExitDataErr;
    case ErrorCode::kPermission:
    case ErrorCode::kNotFound:
      return kExitNoPerm;
    default:
      return kExitTempFail;
  }
}

}  // namespace

SubmitServer::SubmitServer(asio::any_io_executor ex, const Config& config,
                           AccountDirectory& accounts, MailIntake& intake, ReceiveGate& gate)
    : ex_(ex),
      config_(config),
      accounts_(accounts),
      intake_(intake),
      gate_(gate),
      acceptor_(ex),
      places_(ex, static_cast<std::size_t>(config.submit.max_connections)) {}

Result<void> SubmitServer::Listen() {
  const auto& path = config_.submit.socket;
  boost::system::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (std::filesystem::exists(path)) {
    // A daemon that answers owns the socket; a file nobody answers on is a leftover.
    local::socket probe(ex_);
    probe.connect(local::endpoint(path.string()), ec);
    if (!ec) {
      return Fail(ErrorCode::kUnavailable,
                  path.string() + ": another mailwardend is listening on this socket");
    }
    std::filesystem::remove(path, ec);
  }
  acceptor_.open(local(), ec);
  if (!ec) acceptor_.bind(local::endpoint(path.string()), ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Fail(ErrorCode::kUnavailable, path.string() + ": " + ec.message());
  // Every script on the host must reach the socket; who it is, the kernel tells us.
  if (chmod(path.c_str(), 0666) != 0) {
    return Fail(ErrorCode::kUnavailable, path.string() + ": cannot make it writable for all");
  }
  return {};
}

void SubmitServer::RefuseAtOnce(local::socket& socket, int code, std::string text) {
  // One short line into the empty send buffer of a new connection: it does not block.
  const std::string line = EncodeSubmitReply({code, std::move(text)});
  boost::system::error_code ec;
  socket.non_blocking(true, ec);
  if (!ec) asio::write(socket, asio::buffer(line), ec);
  socket.close(ec);
}

void SubmitServer::Close() {
  boost::system::error_code ec;
  acceptor_.close(ec);
}

asio::awaitable<void> SubmitServer::Run() {
  for (;;) {
    boost::system::error_code ec;
    local::socket socket =
        co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
    if (ec) {
      spdlog::warn("submit: accept failed: {}", ec.message());
      if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space) {
        // Out of file descriptors: give connections time to end instead of spinning.
        asio::steady_timer pause(ex_, std::chrono::milliseconds(100));
        co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      continue;
    }
    // At the limit this connection waits, unread, for the place of one being served; nothing
    // more is accepted meanwhile, so later clients wait in the backlog (then in connect), as
    // for any busy server. None is refused: a script's mail() would not try again.
    if (places_.in_use() >= places_.slots()) {
      spdlog::warn(
          "submit: {} connections served, the most at once (submit.max_connections); "
          "a new one waits",
          places_.in_use());
    }
    ReceiveGate::Slot place = co_await places_.Acquire();
    if (!acceptor_.is_open()) co_return;
    ucred cred{};
    socklen_t len = sizeof cred;
    if (getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
      spdlog::error("submit: SO_PEERCRED failed: {}", std::strerror(errno));
      RefuseAtOnce(socket, kExitSoftware, "cannot identify the caller");
      continue;
    }
    const Uid uid = cred.uid;
    // One uid's share: its scripts (a hacked site's spam run, or a client holding connections
    // open on purpose) cannot take every connection from the other accounts' scripts. Past it
    // a script waits a little for one of its uid's places (a site's burst is served in turn:
    // PHP's mail() would not try again); so many wait already that the wait would be in vain,
    // it is told at once.
    UidShare& share = ShareOf(uid);
    if (share.places.in_use() >= share.places.slots() &&
        share.places.waiting() >= share.places.slots()) {
      spdlog::warn(
          "submit: uid={} result=refused reason=\"{} connections of this uid at once and {} "
          "waiting (submit.max_connections_per_uid)\"",
          uid, share.places.in_use(), share.places.waiting());
      RefuseAtOnce(
          socket, kExitTempFail,
          "too many submissions at once from uid " + std::to_string(uid) + "; try again later");
      continue;
    }
    // Errors of a connection stay in it; the places go with the coroutine, also when it is
    // destroyed unfinished with the io_context at exit.
    asio::co_spawn(ex_, Admit(std::move(socket), uid, std::move(place)), [](std::exception_ptr) {});
  }
}

asio::awaitable<void> SubmitServer::Admit(local::socket socket, Uid uid, ReceiveGate::Slot place) {
  ReceiveGate& places = ShareOf(uid).places;
  if (places.in_use() >= places.slots()) {
    spdlog::info(
        "submit: uid={} has {} connections served (submit.max_connections_per_uid); a new one "
        "waits",
        uid, places.in_use());
  }
  ReceiveGate::Slot uid_place = co_await places.Acquire(config_.submit.uid_wait);
  if (!uid_place) {
    spdlog::warn(
        "submit: uid={} result=refused reason=\"no place of this uid came free within {} "
        "(submit.max_connections_per_uid, submit.uid_wait)\"",
        uid, FormatDuration(config_.submit.uid_wait));
    RefuseAtOnce(
        socket, kExitTempFail,
        "too many submissions at once from uid " + std::to_string(uid) + "; try again later");
    ForgetIfIdle(uid);
    co_return;
  }
  co_await Serve(std::move(socket), uid);
  uid_place.reset();
  place.reset();
  ForgetIfIdle(uid);
}

SubmitServer::UidShare& SubmitServer::ShareOf(Uid uid) {
  std::unique_ptr<UidShare>& share = shares_[uid];
  if (!share) {
    // Never more large slots than there are: then the uid's share would bound nothing.
    const std::size_t large = std::min(
        static_cast<std::size_t>(config_.submit.max_large_messages_per_uid), gate_.slots());
    share = std::make_unique<UidShare>(
        ex_, static_cast<std::size_t>(config_.submit.max_connections_per_uid), large);
  }
  return *share;
}

void SubmitServer::ForgetIfIdle(Uid uid) {
  auto it = shares_.find(uid);
  if (it == shares_.end()) return;
  const UidShare& share = *it->second;
  // A large slot is held and awaited only by a connection that holds a place.
  if (share.places.in_use() == 0 && share.places.waiting() == 0) shares_.erase(it);
}

asio::awaitable<void> SubmitServer::Serve(local::socket socket, Uid uid) {
  // Closes a connection that sends nothing for kIdleTimeout, so a stuck script cannot pin it.
  asio::steady_timer watchdog(ex_);
  auto arm = [&](std::chrono::steady_clock::duration after) {
    watchdog.expires_after(after);
    watchdog.async_wait([&socket](boost::system::error_code ec) {
      if (!ec) socket.close(ec);
    });
  };
  arm(kIdleTimeout);
  // Bounds the whole request, however steadily a client trickles: what is pending is
  // cancelled, and the client is told to try again later.
  asio::steady_timer deadline(ex_);
  bool out_of_time = false;
  deadline.expires_after(config_.submit.max_receive_time);
  deadline.async_wait([&socket, &out_of_time](boost::system::error_code ec) {
    if (ec) return;
    out_of_time = true;
    socket.cancel(ec);
  });

  auto reply = [&](int code, std::string text) -> asio::awaitable<void> {
    std::string line = EncodeSubmitReply({code, std::move(text)});
    boost::system::error_code ec;
    co_await asio::async_write(socket, asio::buffer(line),
                               asio::redirect_error(asio::use_awaitable, ec));
  };
  // A refusal after which nothing more is read: the client may be blocked in its write, so
  // the answer gets a short while, not the idle time.
  auto give_up = [&](int code, std::string text) -> asio::awaitable<void> {
    arm(kGoodbyeTimeout);
    co_await reply(code, std::move(text));
  };
  auto out_of_time_reply = [&]() -> asio::awaitable<void> {
    spdlog::warn(
        "submit: uid={} result=refused reason=\"the submission took longer than {} "
        "(submit.max_receive_time)\"",
        uid, FormatDuration(config_.submit.max_receive_time));
    co_await give_up(kExitTempFail, "the submission took too long; try again later");
  };

  // Who may send is known before anything is read: a uid with no account holds no memory
  // and no large slot, whatever it writes.
  auto account = co_await accounts_.FindByUid(uid);
  if (!account) {
    spdlog::error("submit: uid={} store unavailable: {}", uid, account.error().message);
    co_await give_up(kExitTempFail, "mail store unavailable, try again later");
    co_return;
  }
  if (!*account) {
    spdlog::warn("submit: uid={} result=refused reason=\"uid has no mail account\"", uid);
    co_await give_up(kExitNoPerm, "uid " + std::to_string(uid) + " has no mail account here");
    co_return;
  }
  const AccountRef& acct = **account;

  if (out_of_time) {
    co_await out_of_time_reply();
    co_return;
  }
  boost::system::error_code ec;
  asio::streambuf head(kMaxHeaderBytes);
  std::size_t n = co_await asio::async_read_until(socket, head, "\n\n",
                                                  asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    if (out_of_time) co_await out_of_time_reply();
    if (ec == asio::error::not_found) co_await reply(kExitUsage, "request header too long");
    co_return;
  }
  std::string error;
  std::string block(asio::buffers_begin(head.data()), asio::buffers_begin(head.data()) + n);
  head.consume(n);
  auto request = DecodeSubmitHeader(block, &error);
  if (!request) {
    co_await reply(kExitUsage, error);
    co_return;
  }

  // The body: what read_until read past the header block, then the rest until EOF; from a
  // version 2 client, the end mark after it.
  const std::size_t limit = static_cast<std::size_t>(config_.submit.max_message_bytes);
  const std::size_t wire_limit = limit + (request->end_marked ? 1 : 0);
  std::string raw(asio::buffers_begin(head.data()), asio::buffers_end(head.data()));
  bool too_large = raw.size() > wire_limit;
  // The stream's last byte, kept when the body is not (too large); 'x': no byte yet.
  char last = raw.empty() ? 'x' : raw.back();
  // Held from kSmallMessageBytes until the message is stored: one of the uid's share (when
  // that bounds anything), then one of all.
  ReceiveGate::Slot uid_slot;
  ReceiveGate::Slot slot;
  std::array<char, 64 * 1024> chunk;
  for (;;) {
    if (!too_large && !slot && raw.size() >= kSmallMessageBytes) {
      // Waiting for room is not the client's idleness: the watchdog is off meanwhile. The
      // client blocks in its write until we read again, for at most max_wait_for_room.
      watchdog.cancel();
      const auto by = std::chrono::steady_clock::now() + config_.submit.max_wait_for_room;
      ReceiveGate& of_uid = ShareOf(uid).large;  // held: this connection has a place
      const bool uid_bounded = of_uid.slots() < gate_.slots();
      if (uid_bounded) uid_slot = co_await of_uid.Acquire(by - std::chrono::steady_clock::now());
      if (!uid_bounded || uid_slot) {
        slot = co_await gate_.Acquire(std::max(by - std::chrono::steady_clock::now(),
                                               std::chrono::steady_clock::duration(0)));
      }
      if (!slot) {
        spdlog::warn(
            "submit: account={} uid={} result=refused reason=\"no room for a large message "
            "within {} (submit.max_wait_for_room{})\"",
            acct.name, uid, FormatDuration(config_.submit.max_wait_for_room),
            uid_bounded && !uid_slot ? ", submit.max_large_messages_per_uid" : "");
        co_await give_up(kExitTempFail, "no room to receive a large message now; try again later");
        co_return;
      }
      raw.reserve(LargeMessageRoom(limit) + 1);  // never copied to grow, nor to be prepared
      arm(kIdleTimeout);
    }
    if (out_of_time) {
      co_await out_of_time_reply();
      co_return;
    }
    std::size_t got = co_await socket.async_read_some(
        asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::eof) break;
    if (ec) {
      if (out_of_time) co_await out_of_time_reply();
      co_return;  // the client went away: nothing was acknowledged, nothing is stored
    }
    arm(kIdleTimeout);
    if (got > 0) last = chunk[got - 1];
    if (!too_large) {
      raw.append(chunk.data(), got);
      too_large = raw.size() > wire_limit;
      if (too_large) {
        // Keep reading to EOF so the client gets its answer, holding nothing.
        std::string().swap(raw);
        slot.reset();
        uid_slot.reset();
      }
    }
  }
  deadline.cancel();  // all is read: storing it is not the client's time

  if (request->end_marked) {
    if (last != kSubmitEndMark) {
      // The client's stream ended mid-message: it died (killed with its script, out of
      // memory) or sent a broken stream. Nothing of it is stored, nor sent cut short.
      slot.reset();
      uid_slot.reset();
      spdlog::warn(
          "submit: account={} uid={} result=refused reason=\"the message ended before its "
          "end mark: the sender stopped before the end\" bytes={}",
          acct.name, uid, raw.size());
      co_await reply(kExitTempFail, "the message ended before its end mark; nothing was stored");
      co_return;
    }
    if (!too_large) raw.pop_back();
  }

  if (too_large) {
    spdlog::warn("submit: account={} uid={} result=refused reason=\"message over {} bytes\"",
                 acct.name, uid, limit);
    co_await reply(kExitDataErr,
                   "message is larger than the limit of " + std::to_string(limit) + " bytes");
    co_return;
  }

  SubmitEnvelope envelope;
  envelope.sender = request->from;
  envelope.full_name = request->full_name.value_or("");
  envelope.extract_recipients = request->extract;
  envelope.recipients = request->recipients;
  auto id = co_await intake_.Accept(acct, uid, "local", "uid=" + std::to_string(uid), envelope,
                                    std::move(raw));
  slot.reset();  // stored or refused: its memory is free
  uid_slot.reset();
  if (!id) {
    co_await reply(ExitCodeFor(id.error().code), id.error().message);
    co_return;
  }
  co_await reply(kExitOk, "queued as " + std::to_string(*id));
  watchdog.cancel();
}

}  // namespace mailwarden
