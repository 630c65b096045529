#include "cmd/daemon.h"

#include <fcntl.h>
#include <malloc.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstring>
#include <fstream>

#include "config/config_reload.h"
#include "core/local_day.h"
#include "core/store_url.h"
#include "delivery/limit_notice.h"
#include "delivery/signing_transport.h"
#include "mime/message_prep.h"
#include "smtp/return_path.h"
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

// Tells the service manager (systemd's Type=notify) of a change of state; without
// NOTIFY_SOCKET (not started by it) this does nothing.
void Notify(const std::string& state) {
  if (const int r = sd_notify(0, state.c_str()); r < 0) {
    spdlog::warn("mailwardend: cannot notify the service manager: {}", std::strerror(-r));
  }
}

// The folders of `path` (not the path itself) that do not exist yet, outermost first.
std::vector<std::filesystem::path> MissingFolders(const std::filesystem::path& path) {
  std::vector<std::filesystem::path> missing;
  std::error_code ec;
  for (auto p = path.parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path()) {
    if (std::filesystem::exists(p, ec)) break;
    missing.insert(missing.begin(), p);
  }
  return missing;
}

// A file that holds a secret, readable by others: used (an upgrade must not stop a service),
// with a warning naming the key.
void WarnIfOthersMayRead(std::string_view key, const std::filesystem::path& file) {
  struct stat st {};
  if (file.empty() || ::stat(file.c_str(), &st) != 0 || (st.st_mode & 077) == 0) return;
  spdlog::warn("{}: {} may be read or written by other users (mode {:o}); chmod 600 it", key,
               file.string(), st.st_mode & 0777);
}

// Connections that only read, beside the store thread's: enough that a panel request never
// waits behind another one's, few enough for a database shared by hundreds of nodes.
constexpr int kStoreReaders = 2;

// The file's [[plan]] sections as the store keeps plans.
std::vector<PlanRecord> ConfigPlans(const Config& config) {
  std::vector<PlanRecord> out;
  for (const Config::Plan& p : config.plans) out.push_back({.name = p.name, .limits = p.limits});
  return out;
}

}  // namespace

Daemon::Daemon(Config config, std::filesystem::path config_file, std::optional<DaemonUser> user)
    : config_(std::move(config)), config_file_(std::move(config_file)), user_(std::move(user)) {}

Daemon::~Daemon() {
  if (store_) store_->Stop();
}

Result<void> Daemon::CheckDescriptors() const {
  // The daemon's own: the store's connections and files, the log, the system mail; generous,
  // since running out costs submissions. Every listener's connections are bounded and counted.
  constexpr std::uint64_t kOwnDescriptors = 256;
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) != 0 || files.rlim_cur == RLIM_INFINITY) return {};
  const auto submit = static_cast<std::uint64_t>(config_.submit.max_connections);
  const auto smtp = config_.smtp.listen.empty() && config_.smtp.local_listen.empty()
                        ? std::uint64_t{0}
                        : static_cast<std::uint64_t>(config_.smtp.max_connections);
  const auto http = static_cast<std::uint64_t>(config_.http.max_connections);
  const std::uint64_t needed = submit + smtp + http +
                               static_cast<std::uint64_t>(config_.delivery.concurrency) +
                               kOwnDescriptors;
  if (needed > files.rlim_cur && files.rlim_cur < files.rlim_max) {
    // The soft limit is often 1024 (a login shell, systemd's default) under a far higher hard
    // one: a daemon may raise its own soft limit up to the hard limit, as servers do.
    files.rlim_cur = std::min<rlim_t>(files.rlim_max, std::max<rlim_t>(needed, files.rlim_cur));
    if (setrlimit(RLIMIT_NOFILE, &files) != 0) getrlimit(RLIMIT_NOFILE, &files);
  }
  if (needed > files.rlim_cur) {
    return Fail(ErrorCode::kInvalidInput,
                "submit.max_connections (" + std::to_string(submit) + "), smtp.max_connections (" +
                    std::to_string(smtp) + "), http.max_connections (" + std::to_string(http) +
                    ") and delivery.concurrency need " + std::to_string(needed) +
                    " file descriptors with the daemon's own, and its limit (RLIMIT_NOFILE) is " +
                    std::to_string(files.rlim_cur) + ": raise the limit or lower them");
  }
  return {};
}

Result<void> Daemon::Start() {
  // Caught from here on, and handled once Run serves: a SIGTERM during the start is an orderly
  // stop, not death by the default action.
  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  signals_.add(SIGHUP);
  InitMime();
  MW_RETURN_IF_ERROR(CheckDescriptors());
  if (user_) {
    // What Start makes as root goes to the daemon's user afterwards: only what it made, never
    // a folder that was there before (it may be /run or /var/lib).
    std::vector<std::filesystem::path> files = {config_.submit.socket,
                                                config_.http.admin_token_file};
    if (!config_.bounces.domain.empty()) files.push_back(config_.bounces.secret_file);
    if (StoreKindOf(config_.store.url) == StoreKind::kSqlite) {
      files.emplace_back(config_.store.url.substr(kSqliteUrlPrefix.size()));
    }
    for (const auto& file : files) {
      for (auto& folder : MissingFolders(file)) {
        if (std::ranges::find(made_folders_, folder) == made_folders_.end()) {
          made_folders_.push_back(std::move(folder));
        }
      }
    }
    std::error_code ec;
    admin_token_made_ = !std::filesystem::exists(config_.http.admin_token_file, ec);
  }
  MW_RETURN_IF_ERROR(ReadBounceSecret());
  WarnIfOthersMayRead("smtp.tls_key", config_.smtp.tls_key);
  MW_RETURN_IF_ERROR(OpenStorePool());
  MW_RETURN_IF_ERROR(StartSystemMail());
  StartDelivery();
  StartReports();
  webhooks_ = std::make_unique<WebhookSender>(io_.get_executor(), config_, *store_, clock_,
                                              config_.hostname);
  MW_RETURN_IF_ERROR(webhooks_->Init());
  MW_RETURN_IF_ERROR(StartIntake());
  MW_RETURN_IF_ERROR(StartBounceIntake());
  MW_RETURN_IF_ERROR(StartHttp());
  spdlog::info("mailwardend: store {} delivery {}", LoggableStoreUrl(config_.store.url),
               config_.delivery.mode == DeliveryMode::kRelay
                   ? "relay " + config_.delivery.relay
                   : "maildir " + config_.delivery.maildir.string());
  return BecomeDaemonUser();
}

// With bounces.domain, the return path's secret: read, or made on the first start (the
// daemon's user gets it with the rest of what the start made).
Result<void> Daemon::ReadBounceSecret() {
  if (config_.bounces.domain.empty()) return {};
  bool made = false;
  MW_ASSIGN_OR_RETURN(config_.bounces.secret,
                      ReadOrCreateBounceSecret(config_.bounces.secret_file.string(), &made));
  if (made)
    spdlog::info("mailwardend: wrote a new bounce secret to {}",
                 config_.bounces.secret_file.string());
  bounce_secret_made_ = made;
  WarnIfOthersMayRead("bounces.secret_file", config_.bounces.secret_file);
  return {};
}

Result<void> Daemon::BecomeDaemonUser() {
  const auto& socket_folder = config_.submit.socket.parent_path();
  struct stat st {};
  if (::stat(socket_folder.c_str(), &st) == 0 && (st.st_mode & 022) != 0 &&
      std::ranges::find(made_folders_, socket_folder) == made_folders_.end()) {
    // Every local user connects to the socket; none may replace it with one of their own.
    spdlog::warn(
        "submit.socket: its folder {} may be written by other users (mode {:o}): one of them "
        "could put a socket of their own in its place; use a folder only the daemon's user "
        "writes, such as /run/mailwarden",
        socket_folder.string(), st.st_mode & 0777);
  }
  if (!user_) return {};
  for (const auto& folder : made_folders_) {
    MW_RETURN_IF_ERROR(HandOver(folder, *user_));
    // Readable by all (the socket's folder must be), writable by the daemon's user alone,
    // whatever the umask was.
    ::chmod(folder.c_str(), 0755);
  }
  std::vector<std::filesystem::path> files = {config_.submit.socket};
  if (admin_token_made_) files.push_back(config_.http.admin_token_file);
  if (bounce_secret_made_) files.push_back(config_.bounces.secret_file);
  if (StoreKindOf(config_.store.url) == StoreKind::kSqlite) {
    // The database and SQLite's companions: the daemon's user reads and writes them from now
    // on (and makes new -wal and -shm files in the folder).
    const std::string db = config_.store.url.substr(kSqliteUrlPrefix.size());
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) files.emplace_back(db + suffix);
  }
  for (const auto& file : files) MW_RETURN_IF_ERROR(HandOver(file, *user_));
  MW_RETURN_IF_ERROR(BecomeUser(*user_));
  spdlog::info("mailwardend: running as {} (uid {}, gid {})", user_->name, user_->uid, user_->gid);
  return {};
}

Result<void> Daemon::OpenStorePool() {
  StoreOptions options;
  options.max_sources_per_hour = config_.store.max_sources_per_hour;
  options.storage = {.max_account_bytes = config_.store.max_held_bytes_per_account,
                     .max_account_messages = config_.store.max_held_messages_per_account,
                     .min_free_bytes = config_.store.min_free_space};
  auto store = mailwarden::OpenStore(config_.store.url, options);
  if (!store) return std::unexpected(store.error());
  // The pool: the store thread's connection writes (group commit, claims, outcomes, state
  // changes); the readers answer the panel's and API's questions beside it.
  std::vector<std::unique_ptr<Store>> readers;
  for (int i = 0; i < kStoreReaders; ++i) {
    auto reader = mailwarden::OpenStore(config_.store.url, options);
    if (!reader) return std::unexpected(reader.error());
    readers.push_back(std::move(*reader));
  }
  store_ = std::make_unique<StoreRunner>(std::move(*store), 512, std::move(readers));
  store_->SetRoomHook([this](std::int64_t over_quota, std::int64_t short_of_room) {
    metrics_.OnStoreRoom(over_quota, short_of_room);
  });

  const std::string& node = config_.hostname;
  const std::vector<PlanRecord> plans = ConfigPlans(config_);
  auto applied = store_->RunSync<void>([&](Store& s) -> Result<void> {
    // Plans first: the file's accounts name them.
    MW_RETURN_IF_ERROR(ApplyConfigPlans(s, plans, clock_.Now()));
    MW_RETURN_IF_ERROR(ApplyConfigAccounts(s, config_.accounts, clock_.Now()));
    // The first mail delivered is signed already.
    MW_ASSIGN_OR_RETURN(auto keys, s.GetSigningKeys());
    signer_->SetKeys(std::move(keys));
    // Mail this node was delivering when it last stopped goes back to the queue: it may or
    // may not have reached the relay, and at-least-once means sending it again.
    return s.ReleaseLeases(node);
  });
  // What parsing and comparing a large file's accounts took is free now: back to the system.
  ::malloc_trim(0);
  return applied;
}

Result<void> Daemon::StartSystemMail() {
  system_mail_ =
      std::make_unique<SystemMailer>(*store_, config_, clock_, [this] { scheduler_->Wake(); });
  return system_mail_->Init();
}

void Daemon::StartDelivery() {
  // Delivery's I/O runs on a thread of its own, beside the loop that takes the mail in.
  // Signed just before it leaves (SigningTransport), on that thread too.
  transport_ = std::make_unique<TransportThread>([this](asio::any_io_executor ex) {
    return std::make_unique<SigningTransport>(
        MakeTransport(config_, std::move(ex)), signer_,
        SigningHooks{.signed_one = [this] { metrics_.OnDkimSigned(); },
                     .failed_one = [this] { metrics_.OnDkimFailed(); }});
  });
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
    for (const FailureCategory c : report.failures) metrics_.OnFailure(c);
    if (report.latency_seconds) metrics_.ObserveDeliveryLatency(*report.latency_seconds);
  });
  guard_->SetBlockHook([this](BlockedBy guard) {
    metrics_.OnGuardBlock(guard);
    if (webhooks_) webhooks_->Wake();
  });
  // A daily limit passed: its event, once a day over all nodes (the store's claim), and for
  // the warning a notice to the report recipient.
  scheduler_->SetLimitHook(
      [this](AccountId account, std::string_view kind, std::int64_t count, std::int64_t limit) {
        asio::co_spawn(io_, NoteLimit(account, std::string(kind), count, limit), asio::detached);
      });
  scheduler_->SetBudgetHook([this] { metrics_.OnSendWait(); });
  held_jobs_ = std::make_unique<HeldMailJobs>(io_.get_executor(), config_, *store_, clock_,
                                              [this] { scheduler_->Wake(); });
  if (config_.scan.enabled()) {
    Scanner::Hooks hooks;
    hooks.on_verdict = [this](AccountId account, std::optional<ScanOutcome> outcome,
                              double seconds) {
      if (!outcome) {
        metrics_.OnScanned(Metrics::ScanCount::kUnscanned, seconds);
        return;
      }
      switch (*outcome) {
        case ScanOutcome::kQuarantine:
          metrics_.OnScanned(Metrics::ScanCount::kQuarantined, seconds);
          guard_->OnQuarantined(account);
          break;
        case ScanOutcome::kSuspicious:
          metrics_.OnScanned(Metrics::ScanCount::kSuspicious, seconds);
          break;
        case ScanOutcome::kLetGo:
          metrics_.OnScanned(Metrics::ScanCount::kClean, seconds);
          break;
      }
    };
    hooks.on_error = [this] { metrics_.OnScanError(); };
    hooks.on_let_go = [this] { scheduler_->Wake(); };
    scanner_ =
        std::make_unique<Scanner>(io_.get_executor(), config_, *store_, clock_, std::move(hooks));
  }
}

void Daemon::StartReports() {
  reports_ =
      std::make_unique<ReportScheduler>(io_.get_executor(), config_, *store_, clock_, [this] {
        metrics_.OnReportsSent(1);
        scheduler_->Wake();
      });
}

asio::awaitable<void> Daemon::NoteLimit(AccountId account, std::string kind, std::int64_t count,
                                        std::int64_t limit) {
  const TimePoint now = clock_.Now();
  const int day = LocalDayNumber(now);
  const NewEvent event{
      .type = kind, .account = account, .data = LimitEventData(count, limit, day), .at = now};
  auto claimed = co_await store_->AsyncRun<bool>(
      [&](Store& s) { return s.ClaimNotice(account, day, kind, event, std::nullopt); },
      asio::use_awaitable);
  if (!claimed) {
    spdlog::error("limits: cannot record {} of account {}: {}", kind, account,
                  claimed.error().message);
    co_return;
  }
  if (!*claimed) co_return;  // this day's, on this node or another, was written before
  webhooks_->Wake();
  auto found = co_await store_->AsyncRun<std::optional<Account>>(
      [&](Store& s) { return s.GetAccount(account); }, asio::use_awaitable);
  if (!found || !*found) co_return;
  spdlog::warn("account={} {} count={} max_per_day={}", (*found)->name, kind, count, limit);
  if (kind != "limit.warning" || (*found)->report_to.empty()) co_return;
  const ResolvedLimits limits = co_await limit_book_->Of(account);
  GuardNotice notice = ComposeLimitWarning(**found, count, limit, limits.limits.over_limit);
  OutgoingMail mail;
  mail.to = notice.to;
  mail.subject = std::move(notice.subject);
  mail.text = std::move(notice.text);
  auto sent = co_await system_mail_->Send(std::move(mail));
  if (!sent) spdlog::error("limits: cannot store the notice to {}", notice.to);
}

Result<void> Daemon::StartIntake() {
  accounts_ = std::make_unique<AccountDirectory>(*store_);
  SetAutoAccounts();
  limit_book_ = std::make_unique<LimitBook>(
      *store_, [this](const LimitOverrides* plan, const LimitOverrides& own) {
        return ResolveAccountLimits(config_, plan, own);
      });
  intake_ =
      std::make_unique<MailIntake>(config_, *store_, clock_, [this](AccountId account, MessageId) {
        // Delivery hears of new mail from the store runner (leased on arrival or queued).
        guard_->OnSubmitted(account);
        if (scanner_) scanner_->Wake();
      });
  intake_->SetSenderCheck(accounts_.get(),
                          SenderCheckHooks{.held = [this] { metrics_.OnSenderHeld(); },
                                           .refused = [this] { metrics_.OnSenderRefused(); }});
  intake_->SetLimits(limit_book_.get(),
                     [this](AccountId account, const std::vector<std::string>& recipients,
                            const SendLimits& limits) {
                       guard_->OnRecipients(account, recipients, limits.unique_recipients_per_hour);
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
  options.max_wait_for_room =
      std::chrono::duration_cast<std::chrono::milliseconds>(config_.submit.max_wait_for_room);
  options.tls_cert_file = config_.smtp.tls_cert.string();
  options.tls_key_file = config_.smtp.tls_key.string();
  smtp_intake_ = std::make_unique<SmtpIntake>(*store_, *accounts_, *intake_);
  smtp_intake_->SetLimits(limit_book_.get());
  smtp_ = std::make_unique<SmtpServer>(io_.get_executor(), options, *smtp_intake_, *receive_gate_);
  MW_RETURN_IF_ERROR(smtp_->Listen());
  for (const std::string& address : smtp_->local_addresses()) {
    spdlog::info("mailwardend: smtp on {}", address);
  }
  return {};
}

// The bounce listener (bounces.listen): the SMTP server without AUTH, bounded by the
// submission listener's limits, taking mail only to signed return paths.
Result<void> Daemon::StartBounceIntake() {
  if (config_.bounces.listen.empty()) return {};
  SmtpServerOptions options;
  options.listen = config_.bounces.listen;
  options.local_listen = {};
  options.listen_key = "bounces.listen";
  options.open = true;
  options.hostname = config_.hostname;
  options.max_message_bytes = static_cast<std::size_t>(config_.submit.max_message_bytes);
  options.max_recipients = static_cast<std::size_t>(config_.smtp.max_recipients);
  options.max_connections = static_cast<std::size_t>(config_.smtp.max_connections);
  options.max_connections_per_client =
      static_cast<std::size_t>(config_.smtp.max_connections_per_client);
  options.max_commands_before_auth =
      static_cast<std::size_t>(config_.smtp.max_commands_before_auth);
  options.max_wait_for_room =
      std::chrono::duration_cast<std::chrono::milliseconds>(config_.submit.max_wait_for_room);
  bounce_intake_ = std::make_unique<BounceIntake>(*store_, config_, clock_);
  bounce_intake_->SetLimits(limit_book_.get());
  bounce_intake_->ParseAtLowPriority();
  bounce_intake_->SetFailureHook(
      [this](AccountId account, const std::vector<FailureCategory>& categories) {
        guard_->OnOutcome(account, 0, static_cast<int>(categories.size()));
        for (const FailureCategory c : categories) metrics_.OnFailure(c);
      });
  bounce_intake_->SetBlockHook([this](const Account& before, const std::string& reason) {
    guard_->OnComplaintBlock(before, reason);
  });
  if (config_.bounces.forward) {
    bounce_intake_->SetForwarder([this](std::string to, std::string data) {
      return system_mail_->Forward(std::move(to), std::move(data), "(a bounce passed on)");
    });
  }
  bounce_smtp_ =
      std::make_unique<SmtpServer>(io_.get_executor(), options, *bounce_intake_, *receive_gate_);
  MW_RETURN_IF_ERROR(bounce_smtp_->Listen());
  for (const std::string& address : bounce_smtp_->local_addresses()) {
    spdlog::info("mailwardend: bounces on {}", address);
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
  hooks.quota_usage = [this](AccountId id) { return scheduler_->QuotaUsageOf(id, clock_.Now()); };
  hooks.keys_changed = [this] { asio::co_spawn(io_, LoadSigningKeys(), asio::detached); };
  hooks.limits_changed = [this](AccountId id) {
    limit_book_->Forget(id);
    scheduler_->ReloadPolicy();
  };
  hooks.plans_changed = [this] {
    limit_book_->ForgetAll();
    scheduler_->ReloadPolicy();
  };
  api_ = std::make_unique<Api>(config_, *store_, *accounts_, clock_, std::move(*admin_token),
                               std::move(hooks));
  panel_ = std::make_unique<StaticFiles>(config_.http.panel_dir);
  HttpLimits limits;
  limits.max_connections = static_cast<std::size_t>(config_.http.max_connections);
  limits.max_connections_per_client =
      static_cast<std::size_t>(config_.http.max_connections_per_client);
  limits.max_header_bytes = static_cast<std::size_t>(config_.http.max_header_bytes);
  limits.request_timeout =
      std::chrono::duration_cast<std::chrono::milliseconds>(config_.http.request_timeout);
  limits.idle_timeout =
      std::chrono::duration_cast<std::chrono::milliseconds>(config_.http.idle_timeout);
  http_ = std::make_unique<HttpServer>(
      io_.get_executor(), [this](HttpRequest request) { return Route(std::move(request)); },
      [this](const HttpRequest& head) { return Admit(head); }, limits);
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

asio::awaitable<HttpAdmission> Daemon::Admit(const HttpRequest& head) {
  if (!head.segments.empty() && head.segments[0] == "api") co_return co_await api_->Admit(head);
  // The panel's files and /metrics take no body.
  co_return HttpAdmission{std::nullopt, 0};
}

void Daemon::WaitForSignal() {
  signals_.async_wait([this](boost::system::error_code ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      if (!stopping_) asio::co_spawn(io_, Reload(), asio::detached);
    } else if (!stopping_) {
      spdlog::info("mailwardend: signal {}, stopping", sig);
      stopping_ = true;
      asio::co_spawn(io_, Stop(), asio::detached);
    }
    WaitForSignal();
  });
}

void Daemon::SetAutoAccounts() {
  const Config::AutoAccounts& a = config_.auto_accounts;
  accounts_->SetAutoAccounts(AutoAccountRule{a.uid_min, a.uid_max, a.language}, PasswdUserName,
                             clock_);
  if (a.uid_min != 0) {
    spdlog::info("mailwardend: uids {}-{} without an account get one named after their user",
                 a.uid_min, a.uid_max);
  }
}

asio::awaitable<void> Daemon::Reload() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  Notify(fmt::format("RELOADING=1\nMONOTONIC_USEC={}\nSTATUS=reading {} again",
                     static_cast<std::int64_t>(now.tv_sec) * 1'000'000 + now.tv_nsec / 1000,
                     config_file_.string()));
  auto ready = [] { Notify("READY=1\nSTATUS=serving"); };
  spdlog::info("mailwardend: SIGHUP, reading {} again", config_file_.string());
  auto fresh = LoadConfig(config_file_);
  if (!fresh) {
    spdlog::error("mailwardend: reload refused, the running configuration is kept: {}",
                  fresh.error().message);
    ready();
    co_return;
  }
  ReloadPlan plan = PlanReload(config_, *fresh);
  for (const std::string& key : plan.kept) {
    spdlog::warn("mailwardend: reload: {} changed; it keeps its running value until a restart",
                 key);
  }
  if (smtp_) {
    // Read again even when the paths are the same: a renewed certificate keeps its name.
    if (auto r =
            smtp_->ReloadTls(plan.config.smtp.tls_cert.string(), plan.config.smtp.tls_key.string());
        !r) {
      spdlog::error(
          "mailwardend: reload refused, the running configuration is kept: smtp.tls_cert, "
          "smtp.tls_key: {}",
          r.error().message);
      ready();
      co_return;
    }
  }
  // The accounts of the file are created or updated, as at start; those no longer in it stay
  // (the store is the source of truth).
  // Captured by reference, as in every co_await expression here: built with GCC 12, a lambda
  // owning a copy of the vector, made inside the co_await expression, crashed the store thread
  // when it was destroyed there.
  const std::vector<AccountSpec>& accounts = plan.config.accounts;
  const std::vector<PlanRecord> plans = ConfigPlans(plan.config);
  const TimePoint at = clock_.Now();
  auto upserted = co_await store_->AsyncRun<void>(
      [&accounts, &plans, &at](Store& s) -> Result<void> {
        // The file's plans, as at start; those made through the API stay.
        MW_RETURN_IF_ERROR(ApplyConfigPlans(s, plans, at));
        // Only those the store does not have as the file writes them (none if unchanged).
        MW_ASSIGN_OR_RETURN(const std::vector<std::size_t> changed,
                            ConfigAccountsToWrite(s, accounts));
        for (const std::size_t i : changed) {
          const AccountSpec& spec = accounts[i];
          if (auto id = s.UpsertAccount(spec); !id) {
            return Fail(id.error().code, "account \"" + spec.name + "\": " + id.error().message);
          }
        }
        return {};
      },
      asio::use_awaitable);
  if (!upserted) {
    spdlog::error("mailwardend: reload: the accounts were not all applied: {}",
                  upserted.error().message);
  }
  // On the io_context, between two handlers: every reader of these is here too.
  config_.policy = plan.config.policy;
  config_.report = plan.config.report;
  config_.log = plan.config.log;
  config_.accounts = std::move(plan.config.accounts);
  config_.plans = std::move(plan.config.plans);
  config_.smtp.tls_cert = plan.config.smtp.tls_cert;
  config_.smtp.tls_key = plan.config.smtp.tls_key;
  spdlog::set_level(spdlog::level::from_str(config_.log.level));
  config_.auto_accounts = plan.config.auto_accounts;
  accounts_->Forget();
  limit_book_->ForgetAll();
  SetAutoAccounts();
  scheduler_->ReloadPolicy();
  spdlog::info("mailwardend: configuration reloaded");
  ready();
}

asio::awaitable<void> Daemon::Stop() {
  Notify("STOPPING=1\nSTATUS=stopping");
  const auto timeout = config_.daemon.shutdown_timeout;
  // Past the timeout, whatever is left waits for the next start: deliveries in flight keep
  // their lease until the next start releases them, and a submission not yet committed was
  // not acknowledged (its drop-in exits 75).
  stop_deadline_.expires_after(timeout);
  stop_deadline_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    spdlog::warn("mailwardend: daemon.shutdown_timeout passed; stopping now");
    timed_out_ = true;
    io_.stop();
  });
  // Nothing new comes in; the submissions already being read are answered (SMTP sessions
  // answer the message they are receiving or storing, then say 421).
  submit_->Close();
  if (smtp_) smtp_->Drain();
  if (bounce_smtp_) bounce_smtp_->Drain();
  http_->Close();
  const auto busy = [this] {
    return submit_->connections() + (smtp_ ? smtp_->active_sessions() : 0) +
           (bounce_smtp_ ? bounce_smtp_->active_sessions() : 0);
  };
  const auto drain_until = std::chrono::steady_clock::now() + timeout / 2;
  asio::steady_timer poll(io_);
  while (busy() > 0 && std::chrono::steady_clock::now() < drain_until) {
    poll.expires_after(std::chrono::milliseconds(20));
    co_await poll.async_wait(asio::use_awaitable);
  }
  if (busy() > 0) {
    spdlog::warn("mailwardend: {} submissions still being read are closed (told to try again)",
                 busy());
  }
  if (smtp_) smtp_->Close();
  if (bounce_smtp_) bounce_smtp_->Close();
  // Delivery ends: the scheduler records the deliveries in flight, then stops the loop.
  held_jobs_->Stop();
  if (scanner_) scanner_->Stop();
  keys_timer_.cancel();
  heartbeat_timer_.cancel();
  scheduler_->Stop();
  reports_->Stop();
  webhooks_->Stop();
  if (changes_) changes_->Stop();
}

asio::awaitable<void> Daemon::LoadSigningKeys() {
  std::function<Result<std::vector<DkimKey>>(Store&)> read = [](Store& s) {
    return s.GetSigningKeys();
  };
  auto keys = co_await store_->AsyncRead(std::move(read), asio::use_awaitable);
  if (!keys) {
    // The keys of the last read stay in use; the next refresh tries again.
    spdlog::warn("dkim: cannot read the signing keys: {}", keys.error().message);
    co_return;
  }
  signer_->SetKeys(std::move(*keys));
}

asio::awaitable<void> Daemon::RefreshSigningKeys() {
  constexpr auto kDkimKeysRefresh = std::chrono::seconds(30);
  while (!stopping_) {
    keys_timer_.expires_after(kDkimKeysRefresh);
    boost::system::error_code ec;
    co_await keys_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec || stopping_) co_return;
    co_await LoadSigningKeys();
  }
}

asio::awaitable<void> Daemon::Heartbeat() {
  constexpr auto kHeartbeat = std::chrono::seconds(30);
  const TimePoint started = clock_.Now();
  while (!stopping_) {
    const NodeSeen node{.name = config_.hostname,
                        .version = MW_VERSION,
                        .started_at = started,
                        .seen_at = clock_.Now()};
    auto recorded = co_await store_->AsyncRun<void>(
        [&node](Store& s) { return s.RecordNodeSeen(node); }, asio::use_awaitable);
    if (!recorded) {
      spdlog::warn("mailwardend: cannot record this node as seen: {}", recorded.error().message);
    }
    heartbeat_timer_.expires_after(kHeartbeat);
    boost::system::error_code ec;
    co_await heartbeat_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
  }
}

asio::awaitable<void> Daemon::Watchdog() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) co_return;
  const auto every = std::chrono::microseconds(usec / 2);
  spdlog::info("mailwardend: telling the service manager every {} ms that it runs",
               std::chrono::duration_cast<std::chrono::milliseconds>(every).count());
  for (;;) {
    Notify("WATCHDOG=1");
    watchdog_timer_.expires_after(every);
    boost::system::error_code ec;
    co_await watchdog_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
  }
}

bool Daemon::Run() {
  WaitForSignal();
  asio::co_spawn(io_, submit_->Run(), asio::detached);
  asio::co_spawn(io_, http_->Run(), asio::detached);
  if (smtp_) asio::co_spawn(io_, smtp_->Run(), asio::detached);
  if (bounce_smtp_) asio::co_spawn(io_, bounce_smtp_->Run(), asio::detached);
  asio::co_spawn(io_, held_jobs_->Run(), asio::detached);
  if (scanner_) asio::co_spawn(io_, scanner_->Run(), asio::detached);
  asio::co_spawn(io_, reports_->Run(), asio::detached);
  asio::co_spawn(io_, RefreshSigningKeys(), asio::detached);
  asio::co_spawn(io_, Heartbeat(), asio::detached);
  asio::co_spawn(io_, Watchdog(), asio::detached);
  asio::co_spawn(io_, webhooks_->Run(), asio::detached);
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
  // The listeners are bound and listening and the store is open: connections are taken from
  // here on.
  Notify("READY=1\nSTATUS=serving");
  io_.run();
  std::error_code ec;
  std::filesystem::remove(config_.submit.socket, ec);
  if (timed_out_) return false;
  store_->Stop();
  spdlog::info("mailwardend: stopped");
  return true;
}

}  // namespace mailwarden
