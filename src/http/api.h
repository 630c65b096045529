// The HTTP API of DESIGN.md ("HTTP API"): accounts, their e-mail status and the actions of the
// "Email scripts" tab, for the panel, mailwardenctl and the provider's automation.
//
// Authentication: "Authorization: Bearer TOKEN". The admin token (http.admin_token_file)
// reaches everything; a customer token (created per account, stored as its SHA-256) reaches its
// own account only: 403 for any other account name, whether it exists or not, 401 without a
// valid token. Tokens are compared as digests in constant time.
//
// Runs on the daemon's io_context; store work goes through the StoreRunner.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>
#include <string>

#include "config/config.h"
#include "core/account_state.h"
#include "core/policy.h"
#include "http/http_server.h"
#include "http/http_types.h"
#include "http/metrics.h"
#include "store/account_directory.h"
#include "store/store_runner.h"

namespace mailwarden {

// What the API asks of the rest of the daemon after a transition.
struct ApiHooks {
  std::function<void()> release_held;            // an account's held mail may go: wake delivery
  std::function<void(AccountId)> purge_started;  // run the purge of this account
  // POST /api/v1/reports/run: sends the reports of local day YYYYMMDD not sent yet, completes
  // with how many it sent (ReportScheduler::RunDay). Unset: 404.
  std::function<boost::asio::awaitable<Result<int>>(int day)> run_reports;
  // GET /metrics reads the in-memory counters here. Unset: 404.
  Metrics* metrics = nullptr;
  // GET .../email reads an account's quotas here (on the io_context). Unset: none shown.
  std::function<std::optional<QuotaUsage>(AccountId)> quota_usage;
  // A DKIM key was made or removed: the signer reads the keys again.
  std::function<void()> keys_changed;
  // An account's plan or limits changed: they apply from its next message.
  std::function<void(AccountId)> limits_changed;
  // A plan was made, changed or deleted: it applies from every account's next message.
  std::function<void()> plans_changed;
};

class Api {
 public:
  Api(const Config& config, StoreRunner& store, AccountDirectory& accounts, const Clock& clock,
      std::string admin_token, ApiHooks hooks);

  boost::asio::awaitable<HttpResponse> Handle(HttpRequest request);

  // Before the body of an API request is read (HttpServer's admission): refuses a request
  // without a valid token as Handle would (401), and gives the body's limit, which is
  // http.max_body_bytes except for a selective release or delete (kHeldActionBodyBytes: up to
  // 10,000 ids) and an account import (kImportBodyBytes). The token is checked again by Handle.
  boost::asio::awaitable<HttpAdmission> Admit(const HttpRequest& head);

  // GET /metrics (Prometheus text): for the admin token or the metrics token
  // (http.metrics_token_file) only. From loopback too: on a shared web server every
  // customer's script reaches loopback.
  boost::asio::awaitable<HttpResponse> ServeMetrics(HttpRequest request);

 private:
  struct Caller {
    bool admin = false;
    AccountId account = 0;  // for a customer
    std::string account_name;
  };

  boost::asio::awaitable<Result<Caller>> Authenticate(const HttpRequest& request);
  boost::asio::awaitable<HttpResponse> AccountRoute(const HttpRequest& request,
                                                    const Caller& caller);
  // GET .../email: the account's state and counters, and which actions the caller may take.
  boost::asio::awaitable<HttpResponse> EmailStatus(const Account& account, const Caller& caller);
  boost::asio::awaitable<HttpResponse> RequestAction(const HttpRequest& request,
                                                     const Caller& caller, const Account& account);
  boost::asio::awaitable<HttpResponse> ChangeReportTo(const HttpRequest& request,
                                                      const Caller& caller, const Account& account);
  // The account routes of provisioning (api_accounts.cc).
  boost::asio::awaitable<HttpResponse> CreateAccount(const HttpRequest& request);
  boost::asio::awaitable<HttpResponse> PatchAccount(const HttpRequest& request,
                                                    const Account& account);
  boost::asio::awaitable<HttpResponse> DeleteAccount(const HttpRequest& request,
                                                     const Account& account);
  boost::asio::awaitable<HttpResponse> ImportAccounts(const HttpRequest& request);
  // The account `name` as it is now: its e-mail status with its uids, answered with `status`.
  boost::asio::awaitable<HttpResponse> AccountWritten(const std::string& name, int status);
  boost::asio::awaitable<HttpResponse> CreateToken(const HttpRequest& request,
                                                   const Account& account);
  boost::asio::awaitable<HttpResponse> ListTokens(const Account& account);
  boost::asio::awaitable<HttpResponse> RevokeToken(const Account& account, const std::string& id);
  boost::asio::awaitable<HttpResponse> CreateSmtpPassword(const Account& account);
  boost::asio::awaitable<HttpResponse> ListAccounts(const HttpRequest& request);
  // GET /api/v1/fleet: the fleet summary of the operator's overview (api_overview.cc).
  boost::asio::awaitable<HttpResponse> FleetSummaryOf(const HttpRequest& request);
  boost::asio::awaitable<HttpResponse> ListHeld(const HttpRequest& request, const Account& account);
  boost::asio::awaitable<HttpResponse> ActOnHeld(const HttpRequest& request, const Caller& caller,
                                                 const Account& account, HeldMailAction action);
  boost::asio::awaitable<HttpResponse> ListErrors(const HttpRequest& request,
                                                  const Account& account);
  boost::asio::awaitable<HttpResponse> ListVolumes(const HttpRequest& request,
                                                   const Account& account);
  boost::asio::awaitable<HttpResponse> ListSources(const HttpRequest& request,
                                                   const Account& account);
  boost::asio::awaitable<HttpResponse> ListAudit(const HttpRequest& request);
  // Tracking (api_tracking.cc): GET .../email/messages with a search's parameters, and
  // GET .../email/messages/{id} with the message's history.
  static bool IsTrackingSearch(const HttpRequest& request);
  boost::asio::awaitable<HttpResponse> SearchMessages(const HttpRequest& request,
                                                      const Account& account);
  boost::asio::awaitable<HttpResponse> ShowMessage(const std::string& id_text,
                                                   const Account& account);
  // GET .../email/messages?status=quarantined, POST .../email/quarantine/release and
  // .../delete (api_quarantine.cc).
  boost::asio::awaitable<HttpResponse> ListQuarantined(const HttpRequest& request,
                                                       const Account& account);
  boost::asio::awaitable<HttpResponse> ActOnQuarantined(const HttpRequest& request,
                                                        const Caller& caller,
                                                        const Account& account,
                                                        HeldMailAction action);
  boost::asio::awaitable<HttpResponse> RunReports(const HttpRequest& request);
  // Sender identity (api_senders.cc): .../domains[/{domain}] (GET for the account, POST and
  // DELETE for the admin), /api/v1/dkim/{domain}[/{selector}] (the admin's).
  boost::asio::awaitable<HttpResponse> DomainsRoute(const HttpRequest& request,
                                                    const Caller& caller, const Account& account);
  boost::asio::awaitable<HttpResponse> ListDomains(const HttpRequest& request,
                                                   const Account& account);
  boost::asio::awaitable<HttpResponse> DkimRoute(const HttpRequest& request);
  // Plans and limits (api_limits.cc): the effective limits and where each comes from, for
  // GET .../email; a PATCH's "plan" and "limits"; GET /api/v1/webhooks/deliveries.
  boost::asio::awaitable<Result<nlohmann::json>> LimitsJson(const Account& account);
  boost::asio::awaitable<Result<void>> PatchLimits(const nlohmann::json& body,
                                                   const Account& account);
  boost::asio::awaitable<HttpResponse> ListDeliveries(const HttpRequest& request);
  // GET /api/v1/plans, GET/PUT/DELETE /api/v1/plans/{name} (the administrator's).
  boost::asio::awaitable<HttpResponse> PlansRoute(const HttpRequest& request);
  boost::asio::awaitable<HttpResponse> PutPlan(const HttpRequest& request, const std::string& name);
  // Suppressed recipients (api_suppressions.cc): GET .../email/suppressions and DELETE
  // .../email/suppressions/{address}, for the account and the administrator.
  boost::asio::awaitable<HttpResponse> SuppressionsRoute(const HttpRequest& request,
                                                         const Caller& caller,
                                                         const Account& account,
                                                         const std::vector<std::string>& rest);
  boost::asio::awaitable<HttpResponse> ListSuppressions(const HttpRequest& request,
                                                        const Account& account);
  // Audited (DELETE) with the caller as actor: "customer" or "admin".
  boost::asio::awaitable<HttpResponse> DeleteSuppression(const Caller& caller,
                                                         const Account& account,
                                                         const std::string& address);

  template <class T>
  boost::asio::awaitable<Result<T>> Run(std::function<Result<T>(Store&)> fn);
  // The same for work that only reads: on a reader connection (StoreRunner::AsyncRead).
  template <class T>
  boost::asio::awaitable<Result<T>> Read(std::function<Result<T>(Store&)> fn);
  // A read whose cost the caller chooses (lists, sources): never on the reader kept for token
  // checks (StoreRunner::AsyncReadHeavy).
  template <class T>
  boost::asio::awaitable<Result<T>> ReadHeavy(std::function<Result<T>(Store&)> fn);

  const Config& config_;
  StoreRunner& store_;
  AccountDirectory& accounts_;
  const Clock& clock_;
  const std::string admin_digest_;  // SHA-256 of the admin token
  // SHA-256 of the token of http.metrics_token_file, which reads /metrics only; empty: none.
  std::string metrics_digest_;
  ApiHooks hooks_;
  // The DNS check's blocking lookups run here, never on the daemon's loop.
  boost::asio::thread_pool dns_pool_{1};
};

// One message of a list (held, queued or quarantined mail) as the API shows it (api.cc).
nlohmann::json ListedMessageJson(const StoredMessage& m);

// The body of POST .../email/messages/release or .../delete may hold 10,000 message ids.
inline constexpr std::size_t kHeldActionBodyBytes = 1024 * 1024;
// The body of POST /api/v1/accounts:import may hold 5,000 rows (mailwardenctl sends 2,000).
inline constexpr std::size_t kImportBodyBytes = 4 * 1024 * 1024;

// Store work for a request. Callers pass lambdas that capture by reference only: the request's
// coroutine waits for the answer, so what they refer to lives, and a by-value capturing lambda
// inside a co_await expression is what GCC 12 destroys twice.
template <class T>
boost::asio::awaitable<Result<T>> Api::Run(std::function<Result<T>(Store&)> fn) {
  co_return co_await store_.AsyncRun(std::move(fn), boost::asio::use_awaitable);
}

template <class T>
boost::asio::awaitable<Result<T>> Api::Read(std::function<Result<T>(Store&)> fn) {
  co_return co_await store_.AsyncRead(std::move(fn), boost::asio::use_awaitable);
}

template <class T>
boost::asio::awaitable<Result<T>> Api::ReadHeavy(std::function<Result<T>(Store&)> fn) {
  co_return co_await store_.AsyncReadHeavy(std::move(fn), boost::asio::use_awaitable);
}

// "2026-11-26T21:33:17Z".
std::string FormatUtc(TimePoint t);

}  // namespace mailwarden
