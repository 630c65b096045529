#include "cmd/daemon.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>

#include "mime/message_prep.h"

namespace mailwarden {
namespace asio = boost::asio;

Daemon::Daemon(Config config) : config_(std::move(config)) {}

Daemon::~Daemon() {
  if (store_) store_->Stop();
}

Result<void> Daemon::Start() {
  InitMime();
  auto store = OpenStore(config_.store.url);
  if (!store) return std::unexpected(store.error());
  store_ = std::make_unique<StoreRunner>(std::move(*store));

  const std::string& node = config_.hostname;
  auto ready = store_->RunSync<void>([&](Store& s) -> Result<void> {
    for (const auto& spec : config_.accounts) {
      auto id = s.UpsertAccount(spec);
      if (!id) return std::unexpected(id.error());
    }
    // Mail this node was delivering when it last stopped goes back to the queue: it may or
    // may not have reached the relay, and at-least-once means sending it again.
    return s.ReleaseLeases(node);
  });
  if (!ready) return ready;

  transport_ = MakeTransport(config_, io_.get_executor());
  scheduler_ =
      std::make_unique<Scheduler>(io_.get_executor(), config_, *store_, *transport_, clock_, node);
  accounts_ = std::make_unique<AccountDirectory>(*store_);
  submit_ = std::make_unique<SubmitServer>(io_.get_executor(), config_, *store_, *accounts_, clock_,
                                           [this](AccountId, MessageId) { scheduler_->Wake(); });
  if (auto r = submit_->Listen(); !r) return r;
  spdlog::info("mailwardend: store {} socket {} delivery {}", config_.store.url,
               config_.submit.socket.string(),
               config_.delivery.mode == DeliveryMode::kRelay
                   ? "relay " + config_.delivery.relay
                   : "maildir " + config_.delivery.maildir.string());
  return {};
}

void Daemon::Run() {
  asio::signal_set signals(io_, SIGTERM, SIGINT);
  signals.async_wait([this](boost::system::error_code ec, int sig) {
    if (ec) return;
    spdlog::info("mailwardend: signal {}, stopping", sig);
    submit_->Close();
    scheduler_->Stop();
  });
  asio::co_spawn(io_, submit_->Run(), asio::detached);
  asio::co_spawn(io_, scheduler_->Run(), [this](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::critical("delivery scheduler failed: {}", ex.what());
        std::abort();
      }
    }
    transport_->Shutdown();
    io_.stop();
  });
  io_.run();
  std::filesystem::remove(config_.submit.socket);
  store_->Stop();
  spdlog::info("mailwardend: stopped");
}

}  // namespace mailwarden
