#include "cmd/daemon.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstring>
#include <fstream>

#include "core/store_url.h"
#include "mime/message_prep.h"
#include "store/config_accounts.h"
#include "store/credentials.h"

namespace mailwarden {
namespace asio = boost::asio;

namespace {

// The admin token: read from its file (white space trimmed); a missing file gets a new random
// token, readable by the daemon's user only, so that a first start works and nothing is open.
Result<std::string> ReadOrCreateAdminToken(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    std::filesystem::create_directories(file.parent_path(), ec);
    const std::string token = NewSecret();
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || ::write(fd, token.data(), token.size()) != static_cast<ssize_t>(token.size())) {
      if (fd >= 0) ::close(fd);
      return Fail(ErrorCode::kUnavailable, "http.admin_token_file: cannot create " + file.string() +
                                               ": " + std::strerror(errno));
    }
    ::close(fd);
    spdlog::info("mailwardend: wrote a new admin token to {}", file.string());
    return token;
  }
  std::ifstream in(file);
  std::string token((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto first = token.find_first_not_of(" \t\r\n");
  const auto last = token.find_last_not_of(" \t\r\n");
  if (!in.good() && !in.eof()) {
    return Fail(ErrorCode::kUnavailable, "http.admin_token_file: cannot read " + file.string());
  }
  if (first == std::string::npos) {
    return Fail(ErrorCode::kInvalidInput, "http.admin_token_file: " + file.string() + " is empty");
  }
  token = token.substr(first, last - first + 1);
  if (token.size() < 16) {
    return Fail(ErrorCode::kInvalidInput,
                "http.admin_token_file: the token must be at least 16 characters");
  }
  return token;
}

// The store url as logged: a postgresql url may hold a password (user:password@, or a
// password= parameter), which a log must not.
std::string LoggableStoreUrl(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  std::string_view rest = url.substr(scheme + 3);
  if (const auto at = rest.find('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
  if (rest.find("password") != std::string_view::npos) rest = rest.substr(0, rest.find('?'));
  return fmt::format("{}://{}", url.substr(0, scheme), rest);
}

// Connections that only read, beside the store thread's: enough that a panel request never
// waits behind another one's, few enough for a database shared by hundreds of nodes.
constexpr int kStoreReaders = 2;

}  // namespace

Daemon::Daemon(Config config) : config_(std::move(config)) {}

Daemon::~Daemon() {
  if (store_) store_->Stop();
}

Result<void> Daemon::CheckDescriptors() const {
  // The daemon's own: the store's connections and files, the log, the API's clients, the
  // system mail; generous, since running out costs submissions.
  constexpr std::uint64_t kOwnDescriptors = 256;
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) != 0 || files.rlim_cur == RLIM_INFINITY) return {};
  const auto submit = static_cast<std::uint64_t>(config_.submit.max_connections);
  const auto smtp = config_.smtp.listen.empty() && config_.smtp.local_listen.empty()
                        ? std::uint64_t{0}
                        : static_cast<std::uint64_t>(config_.smtp.max_connections);
  const std::uint64_t needed =
      submit + smtp + static_cast<std::uint64_t>(config_.delivery.concurrency) + kOwnDescriptors;
  if (needed > files.rlim_cur && files.rlim_cur < files.rlim_max) {
    // The soft limit is often 1024 (a login shell, systemd's default) under a far higher hard
    // one: a daemon may raise its own soft limit up to the hard limit, as servers do.
    files.rlim_cur = std::min<rlim_t>(files.rlim_max, std::max<rlim_t>(needed, files.rlim_cur));
    if (setrlimit(RLIMIT_NOFILE, &files) != 0) getrlimit(RLIMIT_NOFILE, &files);
  }
  if (needed > files.rlim_cur) {
    return Fail(ErrorCode::kInvalidInput,
                "submit.max_connections (" + std::to_string(submit) + "), smtp.max_connections (" +
                    std::to_string(smtp) + ") and delivery.concurrency need " +
                    std::to_string(needed) +
                    " file descriptors with the daemon's own, and its limit (RLIMIT_NOFILE) is " +
                    std::to_string(files.rlim_cur) + ": raise the limit or lower them");
  }
  return {};
}

Result<void> Daemon::Start() {
  InitMime();
  MW_RETURN_IF_ERROR(CheckDescriptors());
  MW_RETURN_IF_ERROR(OpenStorePool());
  MW_RETURN_IF_ERROR(StartSystemMail());
  StartDelivery();
  StartReports();
  MW_RETURN_IF_ERROR(StartIntake());
  MW_RETURN_IF_ERROR(StartHttp());
  spdlog::info("mailwardend: store {} delivery {}", LoggableStoreUrl(config_.store.url),
               config_.delivery.mode == DeliveryMode::kRelay
                   ? "relay " + config_.delivery.relay
                   : "maildir " + config_.delivery.maildir.string());
  return {};
}

Result<void> Daemon::OpenStorePool() {
  auto store = mailwarden::OpenStore(config_.store.url);
  if (!store) return std::unexpected(store.error());
  (*store)->SetStorageLimits({.max_account_bytes = config_.store.max_held_bytes_per_account,
                              .max_account_messages = config_.store.max_held_messages_per_account,
                              .min_free_bytes = config_.store.min_free_space});
  // The pool: the store thread's connection writes (group commit, claims, outcomes, state
  // changes); the readers answer the panel's and API's questions beside it.
  std::vector<std::unique_ptr<Store>> readers;
  for (int i = 0; i < kStoreReaders; ++i) {
    auto reader = mailwarden::OpenStore(config_.store.url);
    if (!reader) return std::unexpected(reader.error());
    readers.push_back(std::move(*reader));
  }
  store_ = std::make_unique<StoreRunner>(std::move(*store), 512, std::move(readers));
  store_->SetRoomHook([this](std::int64_t over_quota, std::int64_t short_of_room) {
    metrics_.OnStoreRoom(over_quota, short_of_room);
  });

  const std::string& node = config_.hostname;
  return store_->RunSync<void>([&](Store& s) -> Result<void> {
    MW_RETURN_IF_ERROR(ApplyConfigAccounts(s, config_.accounts, clock_.Now()));
    // Mail this node was delivering when it last stopped goes back to the queue: it may or
    // may not have reached the relay, and at-least-once means sending it again.
    return s.ReleaseLeases(node);
  });
}

Result<void> Daemon::StartSystemMail() {
  system_mail_ =
      std::make_unique<SystemMailer>(*store_, config_, clock_, [this] { scheduler_->Wake(); });
  return system_mail_->Init();
}

void Daemon::StartDelivery() {
  // Delivery's I/O runs on a thread of its own, beside the loop that takes the mail in.
  transport_ = std::make_unique<TransportThread>(
      [this](asio::any_io_executor ex) { return MakeTransport(config_, std::move(ex)); });
  scheduler_ = std::make_unique<Scheduler>(io_.get_executor(), config_, *store_, *transport_,
                                           clock_, config_.hostname);
  if (StoreKindOf(config_.store.url) == StoreKind::kPostgresql) {
    // Unblocking or new mail on another node: deliver at once rather than at the next due
    // time this node knows of.
    changes_ = std::make_unique<PgChangeListener>(
        io_.get_executor(), config_.store.url,
        [this](std::string_view, AccountId) { scheduler_->Wake(); });
    changes_->Start();
  }
  // The guards' notices go out as system mail, through the same queue.
  guard_ = std::make_unique<AccountGuard>(
      io_.get_executor(), config_, *store_, clock_, [this](GuardNotice notice) {
        OutgoingMail mail;
        mail.to = notice.to;
        mail.subject = std::move(notice.subject);
        mail.text = std::move(notice.text);
        asio::co_spawn(io_, system_mail_->Send(std::move(mail)),
                       [to = std::move(notice.to)](std::exception_ptr e, Result<MessageId> r) {
                         if (e || !r) spdlog::error("guard: cannot store the notice to {}", to);
                       });
      });
  scheduler_->SetOutcomeHook([this](const Scheduler::AttemptReport& report) {
    if (report.attempted > 0) guard_->OnOutcome(report.account, report.attempted, report.failed);
    if (report.deferred > 0) metrics_.OnDeferred(report.deferred);
    if (report.latency_seconds) metrics_.ObserveDeliveryLatency(*report.latency_seconds);
  });
  guard_->SetBlockHook([this](BlockedBy guard) { metrics_.OnGuardBlock(guard); });
  scheduler_->SetBudgetHook([this] { metrics_.OnSendWait(); });
  held_jobs_ = std::make_unique<HeldMailJobs>(io_.get_executor(), config_, *store_, clock_,
                                              [this] { scheduler_->Wake(); });
}

void Daemon::StartReports() {
  reports_ =
      std::make_unique<ReportScheduler>(io_.get_executor(), config_, *store_, clock_, [this] {
        metrics_.OnReportsSent(1);
        scheduler_->Wake();
      });
}

Result<void> Daemon::StartIntake() {
  accounts_ = std::make_unique<AccountDirectory>(*store_);
  intake_ =
      std::make_unique<MailIntake>(config_, *store_, clock_, [this](AccountId account, MessageId) {
        // Delivery hears of new mail from the store runner (leased on arrival or queued).
        guard_->OnSubmitted(account);
      });
  receive_gate_ = std::make_unique<ReceiveGate>(
      io_.get_executor(),
      ReceiveGate::SlotsFor(config_.submit.max_receiving_bytes, config_.submit.max_message_bytes));
  receive_gate_->SetWaitHook([this] { metrics_.OnReceiveWait(); });
  submit_ = std::make_unique<SubmitServer>(io_.get_executor(), config_, *accounts_, *intake_,
                                           *receive_gate_);
  MW_RETURN_IF_ERROR(submit_->Listen());
  spdlog::info("mailwardend: submit on {}", config_.submit.socket.string());
  if (config_.smtp.listen.empty() && config_.smtp.local_listen.empty()) return {};
  SmtpServerOptions options;
  options.listen = config_.smtp.listen;
  options.local_listen = config_.smtp.local_listen;
  options.hostname = config_.hostname;
  options.max_message_bytes = static_cast<std::size_t>(config_.submit.max_message_bytes);
  options.max_recipients = static_cast<std::size_t>(config_.smtp.max_recipients);
  options.max_connections_per_account =
      static_cast<std::size_t>(config_.smtp.max_connections_per_account);
  options.max_connections = static_cast<std::size_t>(config_.smtp.max_connections);
  options.max_connections_per_client =
      static_cast<std::size_t>(config_.smtp.max_connections_per_client);
  options.max_commands_before_auth =
      static_cast<std::size_t>(config_.smtp.max_commands_before_auth);
  options.tls_cert_file = config_.smtp.tls_cert.string();
  options.tls_key_file = config_.smtp.tls_key.string();
  smtp_intake_ = std::make_unique<SmtpIntake>(*store_, *accounts_, *intake_);
  smtp_ = std::make_unique<SmtpServer>(io_.get_executor(), options, *smtp_intake_, *receive_gate_);
  MW_RETURN_IF_ERROR(smtp_->Listen());
  for (const std::string& address : smtp_->local_addresses()) {
    spdlog::info("mailwardend: smtp on {}", address);
  }
  return {};
}

Result<void> Daemon::StartHttp() {
  auto admin_token = ReadOrCreateAdminToken(config_.http.admin_token_file);
  if (!admin_token) return std::unexpected(admin_token.error());
  ApiHooks hooks;
  hooks.release_held = [this] { scheduler_->Wake(); };
  hooks.purge_started = [this](AccountId id) { held_jobs_->PurgeStarted(id); };
  hooks.run_reports = [this](int day) { return reports_->RunDay(day); };
  hooks.metrics = &metrics_;
  api_ = std::make_unique<Api>(config_, *store_, *accounts_, clock_, std::move(*admin_token),
                               std::move(hooks));
  panel_ = std::make_unique<StaticFiles>(config_.http.panel_dir);
  http_ = std::make_unique<HttpServer>(
      io_.get_executor(), [this](HttpRequest request) { return Route(std::move(request)); });
  MW_RETURN_IF_ERROR(http_->Listen(config_.http.listen));
  spdlog::info("mailwardend: http on {}", http_->local_address());
  return {};
}

asio::awaitable<HttpResponse> Daemon::Route(HttpRequest request) {
  if (request.segments.size() == 1 && request.segments[0] == "metrics") {
    co_return co_await api_->ServeMetrics(std::move(request));
  }
  if (!request.segments.empty() && request.segments[0] == "api") {
    co_return co_await api_->Handle(std::move(request));
  }
  co_return panel_->Serve(request);
}

void Daemon::Run() {
  asio::signal_set signals(io_, SIGTERM, SIGINT);
  signals.async_wait([this](boost::system::error_code ec, int sig) {
    if (ec) return;
    spdlog::info("mailwardend: signal {}, stopping", sig);
    submit_->Close();
    if (smtp_) smtp_->Close();
    http_->Close();
    held_jobs_->Stop();
    scheduler_->Stop();
    reports_->Stop();
    if (changes_) changes_->Stop();
  });
  asio::co_spawn(io_, submit_->Run(), asio::detached);
  asio::co_spawn(io_, http_->Run(), asio::detached);
  if (smtp_) asio::co_spawn(io_, smtp_->Run(), asio::detached);
  asio::co_spawn(io_, held_jobs_->Run(), asio::detached);
  asio::co_spawn(io_, reports_->Run(), asio::detached);
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
