#include "delivery/relay_transport.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>

#include "core/host_port.h"
#include "core/smtp_reply_class.h"
#include "smtp/no_throw.h"

namespace mailwarden {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using SteadyClock = std::chrono::steady_clock;

RecipientStatus StatusOf(int code) {
  switch (ClassifyReply(code)) {
    case ReplyClass::kAccepted:
      return RecipientStatus::kSent;
    case ReplyClass::kPermanent:
      return RecipientStatus::kFailed;
    case ReplyClass::kTemporary:
      break;
  }
  return RecipientStatus::kPending;
}

std::vector<RecipientOutcome> AllPending(const ClaimedMessage& message, const std::string& why) {
  std::vector<RecipientOutcome> out;
  out.reserve(message.recipients.size());
  for (const auto& r : message.recipients) {
    out.push_back({r.index, RecipientStatus::kPending, why});
  }
  return out;
}

}  // namespace

RelayTransportOptions RelayTransportOptionsFrom(const Config& config) {
  RelayTransportOptions options;
  options.relay = config.delivery.relay;
  options.concurrency = config.delivery.concurrency;
  options.smtp.helo_name = config.delivery.helo.empty() ? config.hostname : config.delivery.helo;
  switch (config.delivery.tls) {
    case RelayTls::kNone:
      options.smtp.starttls = StartTls::kNever;
      break;
    case RelayTls::kOpportunistic:
      options.smtp.starttls = StartTls::kWhenOffered;
      break;
    case RelayTls::kRequired:
      options.smtp.starttls = StartTls::kRequired;
      break;
  }
  options.smtp.verify_certificate = config.delivery.tls_verify;
  options.smtp.ca_file = config.delivery.tls_ca_file.string();
  options.smtp.tls_name = config.delivery.tls_name;
  if (!config.bounces.domain.empty() && !config.bounces.secret.empty()) {
    options.return_path =
        std::make_shared<const ReturnPath>(config.bounces.domain, config.bounces.secret);
  }
  return options;
}

// The shared state of a transport: connections, slots and the idle reaper. Held by
// shared_ptr so that background QUITs and the reaper may outlive the RelayTransport.
class RelayTransport::Pool : public std::enable_shared_from_this<Pool> {
 public:
  Pool(asio::any_io_executor ex, RelayTransportOptions options)
      : ex_(std::move(ex)), options_(std::move(options)), reaper_(ex_) {
    options_.concurrency = std::max(options_.concurrency, 1);
    auto address = ParseHostPort(options_.relay);
    if (!address) {
      setup_error_ = "delivery.relay: " + address.error().message;
      return;
    }
    host_ = std::move(address->host);
    port_ = address->port;
    if (!options_.smtp.tls_context) {
      auto context = MakeSmtpTlsContext(options_.smtp);
      if (!context) {
        setup_error_ = context.error().message;
        return;
      }
      options_.smtp.tls_context = *context;
    }
  }

  awaitable<std::vector<RecipientOutcome>> Deliver(const ClaimedMessage& message) {
    if (!setup_error_.empty()) co_return AllPending(message, setup_error_);
    if (message.recipients.empty()) co_return std::vector<RecipientOutcome>{};
    co_await AcquireSlot();
    SlotGuard slot(*this);

    std::vector<std::string> addresses;
    addresses.reserve(message.recipients.size());
    for (const auto& r : message.recipients) addresses.push_back(r.address);

    SmtpSendResult result;
    for (;;) {
      std::shared_ptr<SmtpClient> client = TakeIdle();
      const bool reused = client != nullptr;
      if (!client) {
        ++opened_;
        auto connected = co_await SmtpClient::Connect(ex_, host_, port_, options_.smtp);
        if (!connected) {
          // Once per outage, not once per message: a day of a dead relay is a million tries.
          if (!relay_down_) spdlog::warn("relay unreachable: {}", connected.error().message);
          relay_down_ = true;
          co_return AllPending(message, connected.error().message);
        }
        if (relay_down_) spdlog::info("relay {} reachable again", options_.relay);
        relay_down_ = false;
        client = *std::move(connected);
      }
      result = co_await client->Send(EnvelopeSender(message), addresses, message.body);
      if (result.connection_lost) {
        client->Close();
      } else {
        PutIdle(std::move(client));
      }
      // Only a pooled connection may turn out stale; a fresh one that fails is the answer.
      if (!(result.nothing_sent && reused)) break;
    }

    std::vector<RecipientOutcome> outcomes;
    outcomes.reserve(message.recipients.size());
    for (std::size_t i = 0; i < message.recipients.size(); ++i) {
      auto& reply = result.recipients[i];
      outcomes.push_back(
          {message.recipients[i].index, StatusOf(reply.code), std::move(reply.text)});
    }
    co_return outcomes;
  }

  void Shutdown() {
    shut_down_ = true;
    reaper_.cancel();
    for (auto& idle : idle_) QuitInBackground(std::move(idle.client));
    idle_.clear();
  }

  std::uint64_t opened() const { return opened_; }
  std::size_t idle() const { return idle_.size(); }

 private:
  // What MAIL FROM gives the relay: the return path when bounces.domain is set, else the
  // script's own envelope sender; the null sender stays null.
  std::string EnvelopeSender(const ClaimedMessage& message) const {
    if (options_.return_path == nullptr || message.sender.empty()) return message.sender;
    return options_.return_path->Address(message.id, message.account);
  }

  struct Idle {
    std::shared_ptr<SmtpClient> client;
    SteadyClock::time_point since;
  };

  // A Deliver holds a slot from before it takes a connection until it gave it back, so at
  // most concurrency connections exist: idle ones are taken before a new one is opened.
  class SlotGuard {
   public:
    explicit SlotGuard(Pool& pool) : pool_(pool) {}
    ~SlotGuard() { pool_.ReleaseSlot(); }
    SlotGuard(const SlotGuard&) = delete;
    SlotGuard& operator=(const SlotGuard&) = delete;

   private:
    Pool& pool_;
  };

  awaitable<void> AcquireSlot() {
    if (active_ < options_.concurrency) {
      ++active_;
      co_return;
    }
    asio::steady_timer wake(ex_, asio::steady_timer::time_point::max());
    waiters_.push_back(&wake);
    // If this coroutine is destroyed while waiting, no one may cancel the timer afterwards.
    struct Unregister {
      Pool& pool;
      asio::steady_timer* timer;
      ~Unregister() { std::erase(pool.waiters_, timer); }
    } unregister{*this, &wake};
    co_await wake.async_wait(kNoThrow);
    // ReleaseSlot handed its slot over: active_ is already counted for us.
  }

  void ReleaseSlot() {
    if (!waiters_.empty()) {
      asio::steady_timer* next = waiters_.front();
      waiters_.pop_front();
      next->cancel();
      return;
    }
    --active_;
  }

  std::shared_ptr<SmtpClient> TakeIdle() {
    if (idle_.empty()) return nullptr;
    auto client = std::move(idle_.back().client);
    idle_.pop_back();
    return client;
  }

  void PutIdle(std::shared_ptr<SmtpClient> client) {
    if (shut_down_) {
      QuitInBackground(std::move(client));
      return;
    }
    idle_.push_back({std::move(client), SteadyClock::now()});
    if (!reaper_running_) {
      reaper_running_ = true;
      asio::co_spawn(
          ex_, [self = shared_from_this()]() { return self->Reap(); }, asio::detached);
    }
  }

  // Closes connections idle for longer than idle_timeout, oldest (the front) first.
  awaitable<void> Reap() {
    while (!idle_.empty() && !shut_down_) {
      reaper_.expires_at(idle_.front().since + options_.idle_timeout);
      co_await reaper_.async_wait(kNoThrow);
      const auto now = SteadyClock::now();
      while (!idle_.empty() && idle_.front().since + options_.idle_timeout <= now) {
        QuitInBackground(std::move(idle_.front().client));
        idle_.pop_front();
      }
    }
    reaper_running_ = false;
  }

  void QuitInBackground(std::shared_ptr<SmtpClient> client) {
    asio::co_spawn(
        ex_, [client = std::move(client)]() { return client->Quit(); }, asio::detached);
  }

  asio::any_io_executor ex_;
  RelayTransportOptions options_;
  std::string setup_error_;
  std::string host_;
  std::uint16_t port_ = 0;
  int active_ = 0;
  std::deque<asio::steady_timer*> waiters_;
  std::deque<Idle> idle_;  // oldest first
  asio::steady_timer reaper_;
  bool reaper_running_ = false;
  bool shut_down_ = false;
  bool relay_down_ = false;
  std::uint64_t opened_ = 0;
};

RelayTransport::RelayTransport(asio::any_io_executor ex, RelayTransportOptions options)
    : pool_(std::make_shared<Pool>(std::move(ex), std::move(options))) {}

RelayTransport::~RelayTransport() { pool_->Shutdown(); }

awaitable<std::vector<RecipientOutcome>> RelayTransport::Deliver(const ClaimedMessage& message) {
  auto pool = pool_;  // keeps the pool alive however the transport's life goes
  co_return co_await pool->Deliver(message);
}

void RelayTransport::Shutdown() { pool_->Shutdown(); }

std::uint64_t RelayTransport::connections_opened() const { return pool_->opened(); }

std::size_t RelayTransport::idle_connections() const { return pool_->idle(); }

}  // namespace mailwarden
