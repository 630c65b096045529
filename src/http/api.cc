#include "http/api.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <limits>

#include "core/account_name.h"
#include "core/block_reason.h"
#include "core/duration.h"
#include "core/failure_category.h"
#include "core/local_day.h"
#include "core/text.h"
#include "http/api_replies.h"
#include "mime/message_prep.h"
#include "store/account_change.h"
#include "store/credentials.h"

namespace mailwarden {
namespace asio = boost::asio;
using nlohmann::json;

namespace {

constexpr int kMaxListLimit = 500;
constexpr int kDefaultListLimit = 50;
// The values of each kind GET .../email/sources lists.
constexpr int kTopSources = 10;

// Warns when users other than the daemon's may read or write a file that holds a token: on
// a shared web server they are the customers. Not a refusal, so that an upgrade does not stop
// a running service.
void WarnIfShared(const std::filesystem::path& file, std::string_view key) {
  struct stat st {};
  if (file.empty() || ::stat(file.c_str(), &st) != 0 || (st.st_mode & 077) == 0) return;
  spdlog::warn("{}: {} may be read or written by other users (mode {:o}); chmod 600 it", key,
               file.string(), st.st_mode & 0777);
}

// The token of a file, white space trimmed; empty, with an error logged, if it is unusable.
std::string ReadTokenFile(const std::filesystem::path& file, std::string_view key) {
  std::ifstream in(file);
  std::string token((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto first = token.find_first_not_of(" \t\r\n");
  const std::string_view trimmed =
      first == std::string::npos
          ? std::string_view()
          : std::string_view(token).substr(first, token.find_last_not_of(" \t\r\n") - first + 1);
  if (!in.good() && !in.eof()) {
    spdlog::error("{}: cannot read {}", key, file.string());
    return "";
  }
  if (trimmed.size() < 16) {
    spdlog::error("{}: {} must hold a token of at least 16 characters", key, file.string());
    return "";
  }
  return std::string(trimmed);
}

json Nullable(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

// The sentence the panel shows after an action went through.
std::string Confirmation(AccountAction action) {
  switch (action) {
    case AccountAction::kBlock:
      return "Sending is blocked. New e-mails are held for 72 hours; nothing is deleted.";
    case AccountAction::kUnblock:
      return "Sending is unblocked. The held e-mails are being sent, oldest first.";
    case AccountAction::kPurge:
      return "The held e-mails are being deleted. Sending is unblocked by itself when it ends.";
    case AccountAction::kPurgeDone:
      break;
  }
  return "Done.";
}

// Which of the panel's actions `actor` may take on `account` now, judged by Decide exactly as
// POST .../email/request would judge it: for each, allowed, and when not, the refusal's name
// (for clients that word it themselves) and its English sentence.
json ActionsJson(const Account& account, Actor actor, TimePoint now) {
  json out = json::object();
  for (AccountAction action :
       {AccountAction::kBlock, AccountAction::kPurge, AccountAction::kUnblock}) {
    const auto decided = Decide(StatusOf(account), action, actor, "", now);
    json entry = {{"allowed", decided.has_value()}, {"reason", nullptr}, {"message", nullptr}};
    if (!decided) {
      const Refusal& refusal = decided.error();
      entry["reason"] = RefusalCodeName(refusal.why);
      // A broken status is a bug: logged, and worded for the customer as any internal error.
      entry["message"] = refusal.code == ErrorCode::kInternal ? json(kInternalErrorMessage)
                                                              : json(refusal.message);
      if (refusal.code == ErrorCode::kInternal) {
        spdlog::error("account={}: {}", account.name, refusal.message);
      }
    }
    out[std::string(AccountActionName(action))] = std::move(entry);
  }
  return out;
}

// The block's reason as a code with its numbers ("reason_code", "reason_params"), for clients
// that word it themselves; null and {} for words someone wrote, shown as written.
void AddReasonCode(json& body, const std::string& reason) {
  json params = json::object();
  const auto parsed = reason.empty() ? std::nullopt : ParseBlockReason(reason);
  if (parsed) {
    for (const auto& [name, value] : parsed->params) params[name] = value;
  }
  body["reason_code"] = parsed ? json(parsed->code) : json(nullptr);
  body["reason_params"] = std::move(params);
}

// A refusal of core's, with its name in "reason", as the status's "actions" has it.
HttpResponse Refused(const Refusal& refusal) {
  HttpResponse refused = HttpResponse::FromError(refusal);
  if (refusal.code == ErrorCode::kInternal) return refused;
  json out = json::parse(refused.body);
  out["reason"] = RefusalCodeName(refusal.why);
  refused.body = out.dump();
  return refused;
}

Actor ActorOf(bool admin) { return admin ? Actor::kAdmin : Actor::kCustomer; }

// A message of a list names this many of its recipients at most ("recipients" counts all):
// a flood of messages to 1,000 recipients each must not make a list of 500 a 100 MB answer.
constexpr std::size_t kMaxListedRecipients = 20;
// Text of a list's field (a subject, a reply) is cut to this many bytes.
constexpr std::size_t kMaxFieldBytes = 1000;

std::string Field(std::string_view text) {
  return ValidUtf8(CutAtUtf8Boundary(text, kMaxFieldBytes));
}

// The content scanner's word on a message: null when scanning was off when it was stored.
json ScanJson(const StoredMessage& m) {
  if (m.scan_state == ScanState::kNone && !m.scan) return nullptr;
  json out = {{"state", m.scan_state == ScanState::kWaiting       ? "waiting"
                        : m.scan_state == ScanState::kQuarantined ? "quarantined"
                                                                  : "scanned"}};
  if (m.scan) {
    json symbols = json::array();
    for (const auto& s : m.scan->symbols) symbols.push_back(Field(s));
    out["action"] = Field(m.scan->action);
    out["score"] = m.scan->score;
    out["symbols"] = std::move(symbols);
  } else if (m.scan_state == ScanState::kNone) {
    out["state"] = "unscanned";  // sent without a verdict (scan.on_error = "deliver")
  }
  return out;
}

json MessageJson(const StoredMessage& m) {
  json rcpts = json::array();
  for (std::size_t i = 0; i < m.recipients.size() && i < kMaxListedRecipients; ++i) {
    rcpts.push_back(Field(m.recipients[i].address));
  }
  return {{"id", m.id},
          {"date", FormatUtc(m.received_at)},
          {"from", Field(m.sender)},
          {"to", rcpts},
          {"recipients", m.recipients.size()},
          {"subject", Field(m.subject)},
          {"script", m.script.empty() ? json(nullptr) : json(Field(m.script))},
          {"size", m.size},
          {"scan", ScanJson(m)},
          // Held for itself (the From check's "sender not allowed"), whatever the account's state.
          {"held_reason", m.held_reason.empty() ? json(nullptr) : json(m.held_reason)}};
}

// A page of a list whose JSON stays within max_bytes (its first item whatever its size): items
// are added while they fit; `full` says that one did not, and the page ends before it.
class BoundedPage {
 public:
  explicit BoundedPage(std::int64_t max_bytes) : left_(max_bytes) {}
  // Adds item if it fits; false once the page is full.
  bool Add(json item) {
    const auto size = static_cast<std::int64_t>(
        item.dump(-1, ' ', false, json::error_handler_t::replace).size() + 1);
    if (!items_.empty() && size > left_) {
      full_ = true;
      return false;
    }
    left_ -= size;
    items_.push_back(std::move(item));
    return true;
  }
  bool full() const { return full_; }
  std::size_t size() const { return items_.size(); }
  json& items() { return items_; }

 private:
  std::int64_t left_;
  bool full_ = false;
  json items_ = json::array();
};

json SourceList(const std::vector<SourceCount>& list) {
  json items = json::array();
  for (const auto& c : list) items.push_back({{"value", ValidUtf8(c.value)}, {"count", c.count}});
  return items;
}

// 20261126 -> "2026-11-26"
}  // namespace

std::string FormatUtc(TimePoint t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Api::Api(const Config& config, StoreRunner& store, AccountDirectory& accounts, const Clock& clock,
         std::string admin_token, ApiHooks hooks)
    : config_(config),
      store_(store),
      accounts_(accounts),
      clock_(clock),
      admin_digest_(SecretDigest(admin_token)),
      hooks_(std::move(hooks)) {
  WarnIfShared(config_.http.admin_token_file, "http.admin_token_file");
  if (!config_.http.metrics_token_file.empty()) {
    WarnIfShared(config_.http.metrics_token_file, "http.metrics_token_file");
    const std::string token =
        ReadTokenFile(config_.http.metrics_token_file, "http.metrics_token_file");
    if (!token.empty()) metrics_digest_ = SecretDigest(token);
  }
}

asio::awaitable<Result<Api::Caller>> Api::Authenticate(const HttpRequest& request) {
  if (request.bearer_token.empty() || request.bearer_token.size() > 256) {
    co_return Fail(ErrorCode::kUnauthenticated, "Sign in: this request needs a token.");
  }
  const std::string digest = SecretDigest(request.bearer_token);
  // Digests of equal length, compared in constant time: timing tells nothing of the token.
  if (DigestsEqual(digest, admin_digest_)) {
    co_return Caller{true, 0, ""};
  }
  const TimePoint now = clock_.Now();
  auto found = co_await Read<std::optional<Account>>(
      [&](Store& s) { return s.FindAccountByToken(digest, now); });
  if (!found) co_return std::unexpected(found.error());
  if (!*found) co_return Fail(ErrorCode::kUnauthenticated, "This token is not valid.");
  co_return Caller{false, (*found)->id, (*found)->name};
}

asio::awaitable<HttpAdmission> Api::Admit(const HttpRequest& head) {
  HttpAdmission admission;
  admission.max_body_bytes = static_cast<std::size_t>(config_.http.max_body_bytes);
  const auto& seg = head.segments;
  if (seg.size() == 7 && seg[2] == "accounts" && seg[4] == "email" && seg[5] == "messages" &&
      (seg[6] == "release" || seg[6] == "delete")) {
    admission.max_body_bytes = std::max(admission.max_body_bytes, kHeldActionBodyBytes);
  }
  if (seg.size() == 3 && seg[2] == "accounts:import") {
    admission.max_body_bytes = std::max(admission.max_body_bytes, kImportBodyBytes);
  }
  auto caller = co_await Authenticate(head);
  if (!caller) admission.refusal = HttpResponse::FromError(caller.error());
  co_return admission;
}

asio::awaitable<HttpResponse> Api::Handle(HttpRequest request) {
  const auto& seg = request.segments;
  if (seg.size() < 2 || seg[0] != "api" || seg[1] != "v1") {
    co_return Refuse(404, "not_found", "There is nothing at this address.");
  }
  auto caller = co_await Authenticate(request);
  if (!caller) co_return HttpResponse::FromError(caller.error());

  // Lets the panel learn whose token it holds without being told the account's name.
  if (seg.size() == 3 && seg[2] == "whoami") {
    if (request.method != "GET") co_return Refuse(405, "method_not_allowed", "Use GET here.");
    co_return HttpResponse::Json(
        200, {{"account", caller->admin ? json(nullptr) : json(caller->account_name)},
              {"admin", caller->admin}});
  }
  if (seg.size() == 3 && seg[2] == "accounts") {
    if (!caller->admin) co_return Refuse(403, "forbidden", "Only the administrator may do this.");
    if (request.method == "GET") co_return co_await ListAccounts(request);
    if (request.method == "POST") co_return co_await CreateAccount(request);
    co_return Refuse(405, "method_not_allowed", "Use GET or POST here.");
  }
  if (seg.size() == 3 && seg[2] == "accounts:import") {
    if (!caller->admin) co_return Refuse(403, "forbidden", "Only the administrator may do this.");
    if (request.method != "POST") co_return Refuse(405, "method_not_allowed", "Use POST here.");
    co_return co_await ImportAccounts(request);
  }
  if (seg.size() == 3 && seg[2] == "fleet") {
    if (!caller->admin) co_return Refuse(403, "forbidden", "Only the administrator may do this.");
    if (request.method != "GET") co_return Refuse(405, "method_not_allowed", "Use GET here.");
    co_return co_await FleetSummaryOf(request);
  }
  if (seg.size() == 3 && seg[2] == "audit") {
    if (!caller->admin) co_return Refuse(403, "forbidden", "Only the administrator may do this.");
    if (request.method != "GET") co_return Refuse(405, "method_not_allowed", "Use GET here.");
    co_return co_await ListAudit(request);
  }
  if (seg.size() == 4 && seg[2] == "webhooks" && seg[3] == "deliveries") {
    if (!caller->admin) co_return Refuse(403, "forbidden", "Only the administrator may do this.");
    if (request.method != "GET") co_return Refuse(405, "method_not_allowed", "Use GET here.");
    co_return co_await ListDeliveries(request);
  }
  if ((seg.size() == 3 || seg.size() == 4) && seg[2] == "plans") {
    if (!caller->admin) co_return Refuse(403, "forbidden", "Only the administrator may do this.");
    co_return co_await PlansRoute(request);
  }
  if (seg.size() >= 4 && seg[2] == "accounts") co_return co_await AccountRoute(request, *caller);
  if (seg.size() >= 4 && seg[2] == "dkim") {
    if (!caller->admin) co_return Refuse(403, "forbidden", "Only the administrator may do this.");
    co_return co_await DkimRoute(request);
  }
  if (seg.size() == 4 && seg[2] == "reports" && seg[3] == "run" && hooks_.run_reports) {
    if (!caller->admin) co_return Refuse(403, "forbidden", "Only the administrator may do this.");
    if (request.method != "POST") co_return Refuse(405, "method_not_allowed", "Use POST here.");
    co_return co_await RunReports(request);
  }
  co_return Refuse(404, "not_found", "There is nothing at this address.");
}

asio::awaitable<HttpResponse> Api::RunReports(const HttpRequest& request) {
  auto body = ParseObject(request.body);
  if (!body) co_return HttpResponse::FromError(body.error());
  const auto it = body->find("day");
  const std::string text = it != body->end() && it->is_string() ? it->get<std::string>() : "";
  const auto day = ParseDay(text);
  if (!day) co_return BadRequest("\"day\" must be a date as YYYY-MM-DD.");
  auto sent = co_await hooks_.run_reports(*day);
  if (!sent) co_return HttpResponse::FromError(sent.error());
  co_return HttpResponse::Json(200, {{"day", text}, {"sent", *sent}});
}

asio::awaitable<HttpResponse> Api::ServeMetrics(HttpRequest request) {
  if (hooks_.metrics == nullptr) co_return Refuse(404, "not_found", "There is nothing here.");
  // A token from anywhere, loopback included: every customer's script may connect there.
  const bool metrics_token = !metrics_digest_.empty() && !request.bearer_token.empty() &&
                             request.bearer_token.size() <= 256 &&
                             DigestsEqual(SecretDigest(request.bearer_token), metrics_digest_);
  if (!metrics_token) {
    auto caller = co_await Authenticate(request);
    if (!caller) co_return HttpResponse::FromError(caller.error());
    if (!caller->admin) co_return Refuse(403, "forbidden", "Only the administrator may do this.");
  }
  if (request.method != "GET") co_return Refuse(405, "method_not_allowed", "Use GET here.");
  auto totals = co_await Read<StoreTotals>([](Store& s) { return s.GetTotals(); });
  if (!totals) co_return HttpResponse::FromError(totals.error());
  HttpResponse response;
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  response.body = hooks_.metrics->Render(*totals);
  co_return response;
}

asio::awaitable<HttpResponse> Api::AccountRoute(const HttpRequest& request, const Caller& caller) {
  const auto& seg = request.segments;
  const std::string& name = seg[3];
  // The system's own account is not one the API shows or steers.
  if (IsReservedAccountName(name)) {
    co_return Refuse(404, "not_found", "There is no account \"" + name + "\".");
  }
  // A customer learns nothing of other accounts, not even whether they exist.
  if (!caller.admin && name != caller.account_name) {
    co_return Refuse(403, "forbidden", "This token belongs to another account.");
  }
  auto found = co_await Read<std::optional<Account>>([&](Store& s) { return s.FindAccount(name); });
  if (!found) co_return HttpResponse::FromError(found.error());
  if (!*found) co_return Refuse(404, "not_found", "There is no account \"" + name + "\".");
  const Account& account = **found;
  const std::vector<std::string> rest(seg.begin() + 4, seg.end());
  const std::string& method = request.method;
  auto is = [&](std::initializer_list<std::string_view> path) {
    return rest.size() == path.size() && std::equal(rest.begin(), rest.end(), path.begin());
  };

  if (!rest.empty() && rest[0] == "domains")
    co_return co_await DomainsRoute(request, caller, account);
  if (rest.empty() && (method == "PATCH" || method == "DELETE")) {
    if (!caller.admin) co_return Refuse(403, "forbidden", "Only the administrator may do this.");
    if (method == "PATCH") co_return co_await PatchAccount(request, account);
    co_return co_await DeleteAccount(request, account);
  }
  if (is({"tokens"}) && method == "POST") {
    if (!caller.admin) co_return Refuse(403, "forbidden", "Only the administrator may do this.");
    co_return co_await CreateToken(request, account);
  }
  // A customer sees and revokes its own account's tokens (a lost one, another session's).
  if (is({"tokens"}) && method == "GET") co_return co_await ListTokens(account);
  if (rest.size() == 2 && rest[0] == "tokens" && method == "DELETE") {
    co_return co_await RevokeToken(account, rest[1]);
  }
  if (is({"smtp-password"}) && method == "POST") {
    if (!caller.admin) co_return Refuse(403, "forbidden", "Only the administrator may do this.");
    co_return co_await CreateSmtpPassword(account);
  }
  if (is({"email"}) && method == "GET") co_return co_await EmailStatus(account, caller);
  if (is({"email"}) && method == "PUT") {
    co_return co_await ChangeReportTo(request, caller, account);
  }
  if (is({"email", "request"}) && method == "POST") {
    co_return co_await RequestAction(request, caller, account);
  }
  if (is({"email", "messages"}) && method == "GET") {
    if (IsTrackingSearch(request)) co_return co_await SearchMessages(request, account);
    co_return co_await ListHeld(request, account);
  }
  if (is({"email", "messages", "release"}) && method == "POST") {
    co_return co_await ActOnHeld(request, caller, account, HeldMailAction::kRelease);
  }
  if (is({"email", "messages", "delete"}) && method == "POST") {
    co_return co_await ActOnHeld(request, caller, account, HeldMailAction::kDelete);
  }
  if (is({"email", "quarantine", "release"}) && method == "POST") {
    co_return co_await ActOnQuarantined(request, caller, account, HeldMailAction::kRelease);
  }
  if (is({"email", "quarantine", "delete"}) && method == "POST") {
    co_return co_await ActOnQuarantined(request, caller, account, HeldMailAction::kDelete);
  }
  if (is({"email", "errors"}) && method == "GET") co_return co_await ListErrors(request, account);
  if ((rest.size() == 2 || rest.size() == 3) && rest[0] == "email" && rest[1] == "suppressions") {
    co_return co_await SuppressionsRoute(request, caller, account, rest);
  }
  if (is({"email", "volumes"}) && method == "GET") co_return co_await ListVolumes(request, account);
  if (is({"email", "sources"}) && method == "GET") co_return co_await ListSources(request, account);
  if (rest.size() == 3 && rest[0] == "email" && rest[1] == "messages" && method == "GET") {
    if (rest[2] == "release" || rest[2] == "delete") {
      co_return Refuse(405, "method_not_allowed", "Use POST here.");
    }
    co_return co_await ShowMessage(rest[2], account);
  }
  co_return Refuse(404, "not_found", "There is nothing at this address.");
}

asio::awaitable<HttpResponse> Api::EmailStatus(const Account& account, const Caller& caller) {
  const TimePoint now = clock_.Now();
  const int today = LocalDayNumber(now);
  auto counters =
      co_await Read<AccountCounters>([&](Store& s) { return s.GetCounters(account.id, today); });
  if (!counters) co_return HttpResponse::FromError(counters.error());
  json body = {
      {"account", account.name},
      {"state", AccountStateName(account.state)},
      {"blocked_by", account.blocked_by == BlockedBy::kNone
                         ? json(nullptr)
                         : json(BlockedByName(account.blocked_by))},
      {"reason", Nullable(account.reason)},
      {"since", FormatUtc(account.since)},
      {"sent", counters->sent},
      {"sent_today", counters->sent_today},
      {"errors", counters->errors},
      // Feedback-loop complaints about the account's mail today (docs/bounces.md).
      {"complaints", counters->complaints_today},
      {"held", counters->held},
      {"queued", counters->queued},
      {"expired", counters->expired},
      {"purged", counters->purged},
      {"max_per_day", account.max_per_day.value_or(config_.policy.max_per_day)},
      {"max_per_hour", account.max_per_hour.value_or(config_.policy.max_per_hour)},
      {"sent_last_hour", nullptr},
      {"limit_reached", nullptr},
      {"sends_again", nullptr},
      // How long mail is held while sending is blocked before it expires (policy.hold).
      {"hold_seconds",
       std::chrono::duration_cast<std::chrono::seconds>(config_.policy.hold).count()},
      {"report_to", account.report_to},
      {"language", account.language},
      {"actions", ActionsJson(account, ActorOf(caller.admin), now)},
  };
  AddReasonCode(body, account.reason);
  // Mail waits while a quota is reached: which one, and when the next message may go (as this
  // node counts them; the quotas are node-local).
  if (const auto usage = hooks_.quota_usage ? hooks_.quota_usage(account.id) : std::nullopt) {
    body["sent_last_hour"] = usage->sent_last_hour;
    if (!usage->reached.empty()) {
      body["limit_reached"] = usage->reached;
      body["sends_again"] = FormatUtc(usage->next_send);
    }
  }
  auto limits = co_await LimitsJson(account);
  if (!limits) co_return HttpResponse::FromError(limits.error());
  // The effective daily limit, the plan's when the account has none of its own.
  body["max_per_day"] = (*limits)["limits"]["max_per_day"]["value"];
  body["plan"] = (*limits)["plan"];
  body["limits"] = std::move((*limits)["limits"]);
  co_return HttpResponse::Json(200, body);
}

asio::awaitable<HttpResponse> Api::RequestAction(const HttpRequest& request, const Caller& caller,
                                                 const Account& account) {
  auto body = ParseObject(request.body);
  if (!body) co_return HttpResponse::FromError(body.error());
  const json& action_value = (*body)["action"];
  auto action =
      action_value.is_string() ? ParseAccountAction(action_value.get<std::string>()) : std::nullopt;
  if (!action || *action == AccountAction::kPurgeDone) {
    co_return BadRequest("\"action\" must be \"BLOCK\", \"UNBLOCK\" or \"PURGE\".");
  }
  std::string reason;
  if (body->contains("reason")) {
    if (!(*body)["reason"].is_string()) co_return BadRequest("\"reason\" must be a string.");
    reason = (*body)["reason"].get<std::string>();
    if (reason.size() > 500 || reason.find_first_of("\r\n", 0) != std::string::npos) {
      co_return BadRequest("\"reason\" must be one line of at most 500 characters.");
    }
  }
  const Actor actor = ActorOf(caller.admin);
  const TimePoint now = clock_.Now();
  auto decided = Decide(StatusOf(account), *action, actor, reason, now);
  if (!decided) co_return Refused(decided.error());

  const AccountStateChange change = ChangeFor(account, *decided, actor, *action);
  auto applied = co_await Run<void>([&](Store& s) { return s.SetAccountState(change); });
  if (!applied) co_return HttpResponse::FromError(applied.error());
  spdlog::info("account={} actor={} action={} from={} to={} reason=\"{}\"", account.name,
               change.actor, change.action, AccountStateName(change.from),
               AccountStateName(change.to), decided->audit_text);
  if (decided->release_held && hooks_.release_held) hooks_.release_held();
  if (decided->start_purge && hooks_.purge_started) hooks_.purge_started(account.id);

  // The state the action led to, as asked (a purge may already have ended before this answer
  // is written: the panel follows the state from here).
  Account after = account;
  after.state = change.to;
  after.blocked_by = change.blocked_by;
  after.reason = change.reason;
  after.since = change.at;
  HttpResponse status = co_await EmailStatus(after, caller);
  json out = json::parse(status.body);
  out["message"] = Confirmation(*action);
  co_return HttpResponse::Json(200, out);
}

asio::awaitable<HttpResponse> Api::ChangeReportTo(const HttpRequest& request, const Caller& caller,
                                                  const Account& account) {
  auto body = ParseObject(request.body);
  if (!body) co_return HttpResponse::FromError(body.error());
  const json& value = (*body)["report_to"];
  if (!value.is_string()) co_return BadRequest("\"report_to\" must be an e-mail address.");
  auto address = ParseSingleAddress(value.get<std::string>());
  if (!address) {
    co_return BadRequest("\"report_to\" must be one plain e-mail address: " +
                         address.error().message);
  }
  AccountSpec spec{account.name,     account.uids,        *address,
                   account.language, account.max_per_day, account.max_per_hour};
  auto saved = co_await Run<AccountId>([&](Store& s) { return s.UpsertAccount(spec); });
  if (!saved) co_return HttpResponse::FromError(saved.error());
  auto fresh =
      co_await Run<std::optional<Account>>([&](Store& s) { return s.FindAccount(account.name); });
  if (!fresh || !*fresh)
    co_return HttpResponse::FromError({ErrorCode::kInternal, "account vanished"});
  co_return co_await EmailStatus(**fresh, caller);
}

json ListedMessageJson(const StoredMessage& m) { return MessageJson(m); }

asio::awaitable<HttpResponse> Api::ListHeld(const HttpRequest& request, const Account& account) {
  // Unfinished mail is held while the account is not active, queued while it is; and an
  // active account's held mail is what the From check held (sender not allowed).
  auto status = request.query.find("status");
  if (status != request.query.end() && status->second == "quarantined") {
    co_return co_await ListQuarantined(request, account);
  }
  if (status != request.query.end() && status->second != "held" && status->second != "queued") {
    co_return BadRequest("\"status\" must be \"held\", \"queued\" or \"quarantined\".");
  }
  const bool active = account.state == AccountState::kActive;
  const bool held_for_sender = status != request.query.end() && status->second == "held" && active;
  if (status != request.query.end() && status->second == "queued" && !active) {
    co_return HttpResponse::Json(200, {{"items", json::array()}, {"next", nullptr}});
  }
  auto limit = QueryInt(request, "limit", kDefaultListLimit, 1, kMaxListLimit);
  if (!limit) co_return HttpResponse::FromError(limit.error());
  auto before = QueryInt(request, "before", std::numeric_limits<int>::max(), 1,
                         std::numeric_limits<int>::max());
  if (!before) co_return HttpResponse::FromError(before.error());
  const int n = *limit;
  const MessageId before_id = *before;
  // A heavy read (up to 500 messages with their recipients): it never takes the reader that
  // token checks use.
  auto page = co_await ReadHeavy<std::vector<StoredMessage>>([&](Store& s) {
    return held_for_sender ? s.ListHeldForSender(account.id, n + 1, before_id)
                           : s.ListPending(account.id, n + 1, before_id);
  });
  if (!page) co_return HttpResponse::FromError(page.error());
  BoundedPage items(config_.http.max_answer_bytes);
  for (std::size_t i = 0; i < page->size() && static_cast<int>(i) < n; ++i) {
    if (!items.Add(MessageJson((*page)[i]))) break;
  }
  // The page ends early when the answer is full: "next" goes on after its last item.
  const bool more = items.full() || static_cast<int>(page->size()) > n;
  json next = more ? json(std::to_string((*page)[items.size() - 1].id)) : json(nullptr);
  co_return HttpResponse::Json(200, {{"items", std::move(items.items())}, {"next", next}});
}

asio::awaitable<HttpResponse> Api::ActOnHeld(const HttpRequest& request, const Caller& caller,
                                             const Account& account, HeldMailAction action) {
  const bool release = action == HeldMailAction::kRelease;
  // Judged by core as UNBLOCK and PURGE are: who asks, and who blocked the account; of an
  // active account, only mail held for its sender is held (policy.sender_check = "hold"),
  // and judged as such.
  const bool holds_for_sender = config_.policy.sender_check == SenderCheck::kHold;
  auto allowed = account.state == AccountState::kActive && holds_for_sender
                     ? DecideHeldForSender(action, ActorOf(caller.admin))
                     : DecideHeldMail(StatusOf(account), action, ActorOf(caller.admin));
  if (!allowed) {
    if (allowed.error().code == ErrorCode::kInternal) {
      spdlog::error("account={}: {}", account.name, allowed.error().message);
    }
    co_return Refused(allowed.error());
  }
  auto body = ParseObject(request.body);
  if (!body) co_return HttpResponse::FromError(body.error());
  MessageSelector selector;
  if (body->contains("ids")) {
    const json& ids = (*body)["ids"];
    if (!ids.is_array() || ids.size() > 10'000) {
      co_return BadRequest("\"ids\" must be a list of at most 10000 message ids.");
    }
    for (const auto& id : ids) {
      if (!id.is_number_unsigned()) co_return BadRequest("\"ids\" must hold message ids.");
      selector.ids.push_back(id.get<MessageId>());
    }
  } else if (body->contains("match")) {
    const json& match = (*body)["match"];
    if (!match.is_object() || match.empty()) {
      co_return BadRequest("\"match\" must name \"from\", \"to\" or \"subject\".");
    }
    for (const auto& [key, value] : match.items()) {
      if (!value.is_string() || value.get<std::string>().empty() ||
          value.get<std::string>().size() > 255) {
        co_return BadRequest("Each \"match\" value must be text of 1 to 255 characters.");
      }
      if (key == "from") {
        selector.from = value.get<std::string>();
      } else if (key == "to") {
        selector.to = value.get<std::string>();
      } else if (key == "subject") {
        selector.subject = value.get<std::string>();
      } else {
        co_return BadRequest("\"match\" may name only \"from\", \"to\" and \"subject\".");
      }
    }
  } else {
    co_return BadRequest("Name the messages with \"ids\" or \"match\".");
  }
  // The store acts only if the account is still as judged: a block an administrator took over
  // meanwhile is not acted on under the customer's rules.
  selector.decided_on = BlockSeen{account.state, account.blocked_by};
  // Bounded: a match may choose a flood of a million messages, and one transaction deleting
  // them all would hold the store's writer from every other account's mail. So at most
  // held_action_max a request, in batches of held_action_batch, each its own short
  // transaction on the background lane (as a purge's), which yields to submissions and
  // deliveries. The answer says what was done and whether more is left to ask for again.
  const std::int64_t batch = config_.http.held_action_batch;
  const std::int64_t most = config_.http.held_action_max;
  std::vector<MessageId> ids = std::move(selector.ids);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::int64_t done = 0;
  std::size_t next_id = 0;
  bool more = false;
  for (;;) {
    if (done >= most) {
      more = ids.empty() || next_id < ids.size();
      break;
    }
    selector.limit = std::min(batch, most - done);
    if (!ids.empty()) {
      if (next_id >= ids.size()) break;
      const std::size_t n =
          std::min<std::size_t>(ids.size() - next_id, static_cast<std::size_t>(selector.limit));
      selector.ids.assign(ids.begin() + static_cast<std::ptrdiff_t>(next_id),
                          ids.begin() + static_cast<std::ptrdiff_t>(next_id + n));
      next_id += n;
    }
    const TimePoint now = clock_.Now();
    auto count = co_await store_.AsyncRunBackground<std::int64_t>(
        [&](Store& s) {
          return release ? s.ReleaseHeld(account.id, selector, now)
                         : s.DeleteHeld(account.id, selector, now);
        },
        asio::use_awaitable);
    if (!count) {
      if (done == 0) co_return HttpResponse::FromError(count.error());
      // Some batches went through: say so, and that the rest was not done.
      spdlog::warn("account={} action={}: stopped after {}: {}", account.name,
                   HeldMailActionName(action), done, count.error().message);
      more = true;
      break;
    }
    done += *count;
    // A match is done when a batch finds fewer than it may take.
    if (ids.empty() && *count < selector.limit) break;
  }
  spdlog::info("account={} action={} messages={}{}", account.name, HeldMailActionName(action), done,
               more ? " more=true" : "");
  if (release && done > 0 && hooks_.release_held) hooks_.release_held();
  co_return HttpResponse::Json(200, {{release ? "released" : "deleted", done}, {"more", more}});
}

asio::awaitable<HttpResponse> Api::ListErrors(const HttpRequest& request, const Account& account) {
  auto limit = QueryInt(request, "limit", kDefaultListLimit, 1, kMaxListLimit);
  if (!limit) co_return HttpResponse::FromError(limit.error());
  TimePoint since = clock_.Now() - std::chrono::hours(24 * 30);
  if (auto it = request.query.find("since"); it != request.query.end() && !it->second.empty()) {
    const auto day = ParseDay(it->second);
    if (!day) co_return BadRequest("\"since\" must be a date, YYYY-MM-DD.");
    since = LocalDayStart(*day);
  }
  // The cursor "next" of the previous page: its last item's time (ms), message id and index.
  std::optional<ErrorCursor> after;
  if (auto it = request.query.find("cursor"); it != request.query.end() && !it->second.empty()) {
    long long at_ms = 0, message = 0;
    int index = 0;
    char tail = 0;
    if (std::sscanf(it->second.c_str(), "%lld.%lld.%d%c", &at_ms, &message, &index, &tail) != 3 ||
        at_ms < 0 || message <= 0 || index < 0) {
      co_return BadRequest("\"cursor\" must be the \"next\" value of a previous page.");
    }
    after = ErrorCursor{FromUnixMillis(at_ms), message, index};
  }
  const int n = *limit;
  auto errors = co_await ReadHeavy<std::vector<DeliveryError>>(
      [&](Store& s) { return s.ListErrors(account.id, since, n + 1, after); });
  if (!errors) co_return HttpResponse::FromError(errors.error());
  BoundedPage items(config_.http.max_answer_bytes);
  for (std::size_t i = 0; i < errors->size() && static_cast<int>(i) < n; ++i) {
    const auto& e = (*errors)[i];
    const FailureCategory category = StoredFailureCategory(e.category, e.reply);
    if (!items.Add({{"date", FormatUtc(e.at)},
                    {"id", e.message},
                    {"recipient", Field(e.recipient)},
                    {"reply", Field(e.reply)},
                    {"category", FailureCategoryName(category)},
                    {"category_text", FailureCategoryText(category, account.language)},
                    {"subject", Field(e.subject)}})) {
      break;
    }
  }
  json next = nullptr;
  if (items.full() || static_cast<int>(errors->size()) > n) {
    const auto& last = (*errors)[items.size() - 1];
    next = std::to_string(ToUnixMillis(last.at)) + "." + std::to_string(last.message) + "." +
           std::to_string(last.index);
  }
  co_return HttpResponse::Json(200, {{"items", std::move(items.items())}, {"next", next}});
}

asio::awaitable<HttpResponse> Api::ListVolumes(const HttpRequest& request, const Account& account) {
  auto days = QueryInt(request, "days", 30, 1, 400);
  if (!days) co_return HttpResponse::FromError(days.error());
  const TimePoint now = clock_.Now();
  const int last = LocalDayNumber(now);
  const int first = LocalDayNumber(now - std::chrono::hours(24) * (*days - 1));
  auto rows = co_await Read<std::vector<DailyVolume>>(
      [&](Store& s) { return s.GetVolumes(account.id, first, last); });
  if (!rows) co_return HttpResponse::FromError(rows.error());
  json items = json::array();
  for (const auto& v : *rows) {
    items.push_back({{"day", FormatDay(v.day)},
                     {"submitted", v.submitted},
                     {"sent", v.sent},
                     {"errors", v.errors},
                     {"expired", v.expired},
                     {"purged", v.purged},
                     {"scanned", v.scanned},
                     {"quarantined", v.quarantined},
                     {"suspicious", v.suspicious},
                     {"complaints", v.complaints}});
  }
  co_return HttpResponse::Json(200, {{"items", items}, {"next", nullptr}});
}

asio::awaitable<HttpResponse> Api::ListSources(const HttpRequest& request, const Account& account) {
  auto hours = QueryInt(request, "hours", 24, 1, kSourceHoursKept);
  if (!hours) co_return HttpResponse::FromError(hours.error());
  const int n = *hours;
  const TimePoint now = clock_.Now();
  // A heavy read: it sums up to 48 hours of values the account's scripts chose.
  auto sources = co_await ReadHeavy<MailSources>(
      [&](Store& s) { return s.GetSources(account.id, n, now, kTopSources); });
  if (!sources) co_return HttpResponse::FromError(sources.error());
  const auto& other = sources->other;
  co_return HttpResponse::Json(
      200, {{"hours", n},
            {"scripts", SourceList(sources->scripts)},
            {"senders", SourceList(sources->senders)},
            {"domains", SourceList(sources->domains)},
            {"subjects", SourceList(sources->subjects)},
            // Messages whose values had no row of their own (store.max_sources_per_hour).
            {"other",
             {{"scripts", other.scripts},
              {"senders", other.senders},
              {"domains", other.domains},
              {"subjects", other.subjects}}}});
}

asio::awaitable<HttpResponse> Api::ListAudit(const HttpRequest& request) {
  auto limit = QueryInt(request, "limit", kDefaultListLimit, 1, kMaxListLimit);
  if (!limit) co_return HttpResponse::FromError(limit.error());
  const int n = *limit;
  auto records = co_await Read<std::vector<AuditRecord>>([&](Store& s) {
    return s.ListAudit(std::nullopt, n, std::numeric_limits<std::int64_t>::max());
  });
  if (!records) co_return HttpResponse::FromError(records.error());
  json items = json::array();
  for (const auto& r : *records) {
    items.push_back({{"id", r.id},
                     {"at", FormatUtc(r.at)},
                     {"account", r.account_name},
                     {"actor", r.actor},
                     {"action", r.action},
                     {"from", AccountStateName(r.from)},
                     {"to", AccountStateName(r.to)},
                     {"reason", r.reason}});
  }
  co_return HttpResponse::Json(200, {{"items", items}, {"next", nullptr}});
}

}  // namespace mailwarden
