// The daemon's parts wired together on one io_context: store runner, submission socket,
// delivery scheduler and transport; its start (and the user it becomes), reload and stop.
//
// Threads: the io_context runs on the thread that calls Run(); the store runner and the
// transport have a thread each. The configuration (config_) is shared by reference with the
// parts. What a reload changes ([policy], [report], [log], the accounts, smtp.tls_*) is read
// only on the io_context, and a reload writes it there, between two handlers: no other
// thread reads it. The store and transport threads read only keys fixed until a restart.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "cmd/daemon_user.h"
#include "config/config.h"
#include "delivery/account_guard.h"
#include "delivery/held_mail_jobs.h"
#include "delivery/scheduler.h"
#include "delivery/transport.h"
#include "delivery/transport_thread.h"
#include "http/api.h"
#include "http/http_server.h"
#include "http/metrics.h"
#include "http/static_files.h"
#include "http/webhook_sender.h"
#include "identity/dkim_signer.h"
#include "report/report_scheduler.h"
#include "report/system_mail.h"
#include "scan/scanner.h"
#include "smtp/smtp_server.h"
#include "store/account_directory.h"
#include "store/limit_book.h"
#include "store/postgres/pg_listener.h"
#include "store/store_runner.h"
#include "submit/bounce_intake.h"
#include "submit/smtp_intake.h"
#include "submit/submit_server.h"

namespace mailwarden {

class Daemon {
 public:
  // config_file: read again on SIGHUP. user: who to become once started (nullopt: stay as
  // started; see ResolveDaemonUser).
  Daemon(Config config, std::filesystem::path config_file, std::optional<DaemonUser> user);
  ~Daemon();

  // Opens the store, applies the accounts of the configuration, binds the listeners, then
  // hands what it made to the daemon's user and becomes that user for good. The Error says
  // what failed; nothing is left listening on failure.
  Result<void> Start();

  // Tells the service manager it is ready (sd_notify) and serves. SIGHUP reloads. SIGTERM or
  // SIGINT: stops accepting, answers the submissions already being read, lets deliveries in
  // flight end, and returns true; false when daemon.shutdown_timeout passed first (the caller
  // exits at once: what is left is for the next start).
  bool Run();

 private:
  // The steps of Start, in its order; each leaves what it made in the members below.
  // Refuses to start when the listeners' connections and the daemon's own descriptors would
  // not fit under RLIMIT_NOFILE: past it, accept() fails, a script's submission with it.
  Result<void> CheckDescriptors() const;
  // The store pool, the configuration's accounts applied, this node's old leases released.
  Result<void> OpenStorePool();
  // The internal account, created if missing, for guard notices and reports.
  Result<void> StartSystemMail();
  // Transport, scheduler, guards and held-mail jobs (they run from Run).
  void StartDelivery();
  void StartReports();
  // The submission socket and the SMTP listeners, bound.
  Result<void> StartIntake();
  // Gives the account directory config_.auto_accounts (at start and after a reload).
  void SetAutoAccounts();
  // The admin token, the API and the panel, and the HTTP listener, bound.
  Result<void> StartHttp();

  // The files and folders Start made as root go to the daemon's user, which it then becomes.
  Result<void> ReadBounceSecret();
  Result<void> StartBounceIntake();
  Result<void> BecomeDaemonUser();

  // /api/... goes to the API, everything else to the panel's files.
  boost::asio::awaitable<HttpResponse> Route(HttpRequest request);
  // Before a request's body is read: the API checks its token and gives its body's limit;
  // the panel's files and /metrics take no body.
  boost::asio::awaitable<HttpAdmission> Admit(const HttpRequest& head);

  void WaitForSignal();
  // SIGHUP: the file read again; what may change while running is applied (config_reload.h).
  boost::asio::awaitable<void> Reload();
  // A daily limit of the account passed (Scheduler::LimitHook): its event and notice.
  boost::asio::awaitable<void> NoteLimit(AccountId account, std::string kind, std::int64_t count,
                                         std::int64_t limit);
  // SIGTERM: the orderly stop described at Run.
  boost::asio::awaitable<void> Stop();
  // The DKIM signing keys read again from the store (every kDkimKeysRefresh, and at once
  // after a change through this node's API): a rotation on any node reaches every node.
  boost::asio::awaitable<void> LoadSigningKeys();
  boost::asio::awaitable<void> RefreshSigningKeys();
  // Writes this node's row (the fleet summary's nodes) at start and every half minute.
  boost::asio::awaitable<void> Heartbeat();
  // Under a service manager that watches (WatchdogSec=, seen by sd_watchdog_enabled): tells it
  // at half its interval that the event loop still turns, until the loop ends (through the
  // stop too: an orderly stop takes up to daemon.shutdown_timeout). A loop stuck for a whole
  // interval gets the daemon killed and started again.
  boost::asio::awaitable<void> Watchdog();

  Config config_;
  bool bounce_secret_made_ = false;
  const std::filesystem::path config_file_;
  const std::optional<DaemonUser> user_;
  // Folders that did not exist before Start (made by it, as root): handed to user_.
  std::vector<std::filesystem::path> made_folders_;
  bool admin_token_made_ = false;
  bool stopping_ = false;
  bool timed_out_ = false;
  SystemClock clock_;
  boost::asio::io_context io_{1};
  std::unique_ptr<StoreRunner> store_;
  std::unique_ptr<AccountDirectory> accounts_;
  std::unique_ptr<SystemMailer> system_mail_;
  std::unique_ptr<ReportScheduler> reports_;
  Metrics metrics_;
  std::unique_ptr<Transport> transport_;
  std::unique_ptr<Scheduler> scheduler_;
  // With a shared PostgreSQL store: other nodes' changes wake the scheduler.
  std::unique_ptr<PgChangeListener> changes_;
  std::unique_ptr<AccountGuard> guard_;
  std::unique_ptr<LimitBook> limit_book_;
  std::unique_ptr<WebhookSender> webhooks_;
  std::unique_ptr<MailIntake> intake_;
  // Large messages being received, over the drop-in and SMTP together (submit.max_receiving_bytes).
  std::unique_ptr<ReceiveGate> receive_gate_;
  std::unique_ptr<SubmitServer> submit_;
  std::unique_ptr<SmtpIntake> smtp_intake_;
  std::unique_ptr<SmtpServer> smtp_;
  std::unique_ptr<BounceIntake> bounce_intake_;
  std::unique_ptr<SmtpServer> bounce_smtp_;
  std::unique_ptr<HeldMailJobs> held_jobs_;
  std::unique_ptr<Scanner> scanner_;  // with scan.rspamd only
  std::unique_ptr<Api> api_;
  std::unique_ptr<StaticFiles> panel_;
  std::unique_ptr<HttpServer> http_;
  boost::asio::signal_set signals_{io_};
  boost::asio::steady_timer stop_deadline_{io_};
  // Shared with the delivery thread, which signs (SigningTransport).
  std::shared_ptr<DkimSigner> signer_ = std::make_shared<DkimSigner>();
  boost::asio::steady_timer keys_timer_{io_};
  boost::asio::steady_timer heartbeat_timer_{io_};
  boost::asio::steady_timer watchdog_timer_{io_};
};

}  // namespace mailwarden
