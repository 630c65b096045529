// Plans and limits through the API: the effective limits of an account and where each comes
// from (GET .../email "limits"), an administrator's change of an account's plan and own limits
// (PATCH /api/v1/accounts/{name} "plan", "limits"), the plans themselves (/api/v1/plans), and
// the webhooks' recent attempts (GET /api/v1/webhooks/deliveries).
#include <spdlog/spdlog.h>

#include "core/account_name.h"
#include "core/duration.h"
#include "http/api.h"

namespace mailwarden {
namespace asio = boost::asio;
using nlohmann::json;

namespace {

// A limit key's JSON value as SetLimitOverride reads it ("300", "refuse", "0.8").
Result<std::string> LimitValueText(const std::string& key, const json& value) {
  if (value.is_number_integer() || value.is_number_unsigned()) {
    return std::to_string(value.get<std::int64_t>());
  }
  if (value.is_number_float()) return std::to_string(value.get<double>());
  if (value.is_string()) return value.get<std::string>();
  return Fail(ErrorCode::kInvalidInput, "\"limits\": " + key + ": must be a number or a word");
}

// The keys a plan sets, as the API shows them: {"max_per_day": 200, "over_limit": "refuse"}.
json PlanLimitsJson(const LimitOverrides& o) {
  json out = json::object();
  for (const CountLimitKey& k : kCountLimitKeys) {
    if (o.*k.override) out[std::string(k.name)] = *(o.*k.override);
  }
  if (o.over_limit) out[std::string(kOverLimitKey)] = OverLimitName(*o.over_limit);
  if (o.warn_at) out[std::string(kWarnAtKey)] = *o.warn_at;
  return out;
}

json PlanJson(const PlanRecord& plan) {
  return {{"name", plan.name}, {"limits", PlanLimitsJson(plan.limits)}};
}

}  // namespace

asio::awaitable<Result<json>> Api::LimitsJson(const Account& account) {
  struct Own {
    AccountLimits limits;
    std::optional<PlanRecord> plan;
  };
  auto own = co_await Read<Own>([&](Store& s) -> Result<Own> {
    Own o;
    MW_ASSIGN_OR_RETURN(o.limits, s.GetAccountLimits(account.id));
    if (!o.limits.plan.empty()) {
      MW_ASSIGN_OR_RETURN(o.plan, s.GetPlan(o.limits.plan));
    }
    return o;
  });
  if (!own) co_return std::unexpected(own.error());
  LimitOverrides overrides = own->limits.limits;
  overrides.max_per_day = account.max_per_day;
  overrides.max_per_hour = account.max_per_hour;
  const ResolvedLimits r =
      ResolveAccountLimits(config_, own->plan ? &own->plan->limits : nullptr, overrides);
  json limits = json::object();
  for (std::size_t i = 0; i < kCountLimitKeys.size(); ++i) {
    limits[std::string(kCountLimitKeys[i].name)] = {{"value", r.limits.*kCountLimitKeys[i].value},
                                                    {"source", LimitSourceName(r.count_source[i])}};
  }
  limits[std::string(kOverLimitKey)] = {{"value", OverLimitName(r.limits.over_limit)},
                                        {"source", LimitSourceName(r.over_limit_source)}};
  limits[std::string(kWarnAtKey)] = {{"value", r.limits.warn_at},
                                     {"source", LimitSourceName(r.warn_at_source)}};
  limits[std::string(kSuppressForKey)] = {
      {"value", r.limits.suppress_for.count() == 0 ? std::string("0")
                                                   : FormatDuration(r.limits.suppress_for)},
      {"source", LimitSourceName(r.suppress_for_source)}};
  const std::string& plan = own->limits.plan;
  co_return json{{"plan", plan.empty() ? json(nullptr) : json(plan)},
                 {"plan_known", plan.empty() || own->plan.has_value()},
                 {"limits", std::move(limits)}};
}

asio::awaitable<Result<void>> Api::PatchLimits(const json& body, const Account& account) {
  if (!body.contains("plan") && !body.contains("limits")) co_return Result<void>{};
  auto own = co_await Run<AccountLimits>([&](Store& s) { return s.GetAccountLimits(account.id); });
  if (!own) co_return std::unexpected(own.error());
  AccountLimits next = *own;
  if (body.contains("plan")) {
    const json& plan = body["plan"];
    if (plan.is_null()) {
      next.plan.clear();
    } else if (!plan.is_string()) {
      co_return Fail(ErrorCode::kInvalidInput, "\"plan\" must be a plan's name, or null for none.");
    } else {
      next.plan = plan.get<std::string>();
      if (!next.plan.empty()) {
        auto found = co_await Read<std::optional<PlanRecord>>(
            [&](Store& s) { return s.GetPlan(next.plan); });
        if (!found) co_return std::unexpected(found.error());
        if (!*found) {
          co_return Fail(ErrorCode::kInvalidInput,
                         "\"plan\": there is no plan \"" + next.plan +
                             "\" (GET /api/v1/plans lists them; [[plan]] or PUT /api/v1/plans/"
                             "{name} makes one).");
        }
      }
    }
  }
  if (body.contains("limits")) {
    const json& limits = body["limits"];
    if (!limits.is_object()) {
      co_return Fail(ErrorCode::kInvalidInput,
                     "\"limits\" must be an object of limit keys (null: the plan's or the "
                     "server's value).");
    }
    for (const auto& [key, value] : limits.items()) {
      if (key == "max_per_day" || key == "max_per_hour") continue;  // the account row's
      if (value.is_null()) {
        if (auto cleared = ClearLimitOverride(next.limits, key); !cleared) {
          co_return Fail(ErrorCode::kInvalidInput, "\"limits\": " + cleared.error().message);
        }
        continue;
      }
      auto text = LimitValueText(key, value);
      if (!text) co_return std::unexpected(text.error());
      if (auto set = SetLimitOverride(next.limits, key, *text); !set) {
        co_return Fail(ErrorCode::kInvalidInput, "\"limits\": " + set.error().message);
      }
    }
  }
  if (next.plan == own->plan && next.limits == own->limits) co_return Result<void>{};
  auto written = co_await Run<void>([&](Store& s) { return s.SetAccountLimits(next); });
  if (!written) co_return std::unexpected(written.error());
  spdlog::info("account={} actor=admin action=CHANGE plan=\"{}\" limits=\"{}\"", account.name,
               next.plan, FormatLimitOverrides(next.limits));
  co_return Result<void>{};
}

asio::awaitable<HttpResponse> Api::ListDeliveries(const HttpRequest& request) {
  int limit = 100;
  if (const auto it = request.query.find("limit"); it != request.query.end()) {
    try {
      limit = std::stoi(it->second);
    } catch (const std::exception&) {
      limit = -1;
    }
    if (limit < 1 || limit > static_cast<int>(kEventAttemptsKept)) {
      co_return HttpResponse::ErrorWith(400, "invalid_input",
                                        "\"limit\" must be a number from 1 to 1000.");
    }
  }
  auto attempts = co_await Read<std::vector<EventAttemptRecord>>(
      [&](Store& s) { return s.ListEventAttempts(limit); });
  if (!attempts) co_return HttpResponse::FromError(attempts.error());
  json items = json::array();
  for (const EventAttemptRecord& a : *attempts) {
    items.push_back({{"at", FormatUtc(a.at)},
                     {"event", std::to_string(a.event)},
                     {"type", a.type},
                     {"account", a.account_name},
                     {"url", a.url},
                     {"node", a.node},
                     {"status", a.status},
                     {"reply", a.reply}});
  }
  co_return HttpResponse::Json(200, {{"items", std::move(items)}, {"next", nullptr}});
}

asio::awaitable<HttpResponse> Api::PlansRoute(const HttpRequest& request) {
  const auto& seg = request.segments;
  const std::string& method = request.method;
  if (seg.size() == 3) {
    if (method != "GET")
      co_return HttpResponse::ErrorWith(405, "method_not_allowed", "Use GET here.");
    auto plans = co_await Read<std::vector<PlanRecord>>([](Store& s) { return s.ListPlans(); });
    if (!plans) co_return HttpResponse::FromError(plans.error());
    json items = json::array();
    for (const PlanRecord& p : *plans) items.push_back(PlanJson(p));
    co_return HttpResponse::Json(200, {{"items", std::move(items)}, {"next", nullptr}});
  }
  if (seg.size() != 4) {
    co_return HttpResponse::ErrorWith(404, "not_found", "There is nothing at this address.");
  }
  const std::string& name = seg[3];
  if (!IsValidAccountName(name)) {
    co_return HttpResponse::ErrorWith(
        400, "invalid_input", "A plan's name must be " + std::string(kAccountNameRule) + ".");
  }
  if (method == "GET") {
    auto plan = co_await Read<std::optional<PlanRecord>>([&](Store& s) { return s.GetPlan(name); });
    if (!plan) co_return HttpResponse::FromError(plan.error());
    if (!*plan) {
      co_return HttpResponse::ErrorWith(404, "not_found", "There is no plan \"" + name + "\".");
    }
    co_return HttpResponse::Json(200, PlanJson(**plan));
  }
  if (method == "PUT") co_return co_await PutPlan(request, name);
  if (method == "DELETE") {
    const TimePoint now = clock_.Now();
    auto deleted = co_await Run<void>([&](Store& s) { return s.DeletePlan(name, "admin", now); });
    if (!deleted) co_return HttpResponse::FromError(deleted.error());
    spdlog::info("plan={} actor=admin action=DELETE", name);
    if (hooks_.plans_changed) hooks_.plans_changed();
    co_return HttpResponse::Json(200, {{"plan", name}, {"deleted", true}});
  }
  co_return HttpResponse::ErrorWith(405, "method_not_allowed", "Use GET, PUT or DELETE here.");
}

asio::awaitable<HttpResponse> Api::PutPlan(const HttpRequest& request, const std::string& name) {
  json body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    co_return HttpResponse::ErrorWith(400, "invalid_input",
                                      "The request body must be a JSON object.");
  }
  PlanRecord plan{.name = name};
  for (const auto& [field, value] : body.items()) {
    if (field != "limits") {
      co_return HttpResponse::ErrorWith(
          400, "invalid_input", "\"" + field + "\": not a field of a plan (only \"limits\").");
    }
    if (!value.is_object()) {
      co_return HttpResponse::ErrorWith(
          400, "invalid_input",
          "\"limits\" must be an object of policy keys (those not given are the server's).");
    }
    for (const auto& [key, v] : value.items()) {
      auto text = LimitValueText(key, v);
      if (!text) co_return HttpResponse::FromError(text.error());
      if (auto set = SetLimitOverride(plan.limits, key, *text); !set) {
        co_return HttpResponse::ErrorWith(400, "invalid_input",
                                          "\"limits\": " + set.error().message);
      }
    }
  }
  const TimePoint now = clock_.Now();
  auto put =
      co_await Run<AccountPutOutcome>([&](Store& s) { return s.PutPlan(plan, "admin", now); });
  if (!put) co_return HttpResponse::FromError(put.error());
  if (*put != AccountPutOutcome::kUnchanged) {
    spdlog::info("plan={} actor=admin action={} limits=\"{}\"", name,
                 *put == AccountPutOutcome::kCreated ? "CREATE" : "CHANGE",
                 FormatLimitOverrides(plan.limits));
    if (hooks_.plans_changed) hooks_.plans_changed();
  }
  co_return HttpResponse::Json(*put == AccountPutOutcome::kCreated ? 201 : 200, PlanJson(plan));
}

}  // namespace mailwarden
