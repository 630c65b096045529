// Plans and limits through the API: the effective limits of an account and where each comes
// from (GET .../email "limits"), an administrator's change of an account's plan and own limits
// (PATCH /api/v1/accounts/{name} "plan", "limits"), and the webhooks' recent attempts
// (GET /api/v1/webhooks/deliveries).
#include <spdlog/spdlog.h>

#include "core/duration.h"
#include "http/api.h"

namespace mailwarden {
namespace asio = boost::asio;
using nlohmann::json;

asio::awaitable<Result<json>> Api::LimitsJson(const Account& account) {
  auto own = co_await Read<AccountLimits>([&](Store& s) { return s.GetAccountLimits(account.id); });
  if (!own) co_return std::unexpected(own.error());
  LimitOverrides overrides = own->limits;
  overrides.max_per_day = account.max_per_day;
  overrides.max_per_hour = account.max_per_hour;
  const ResolvedLimits r = ResolveAccountLimits(config_, own->plan, overrides);
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
  const bool known = !own->plan.empty() && FindPlan(config_, own->plan) != nullptr;
  co_return json{{"plan", own->plan.empty() ? json(nullptr) : json(own->plan)},
                 {"plan_known", own->plan.empty() || known},
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
    } else if (!plan.get<std::string>().empty() &&
               FindPlan(config_, plan.get<std::string>()) == nullptr) {
      co_return Fail(ErrorCode::kInvalidInput, "\"plan\": there is no plan \"" +
                                                   plan.get<std::string>() +
                                                   "\" in the configuration ([[plan]]).");
    } else {
      next.plan = plan.get<std::string>();
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
      std::string text;
      if (value.is_number_integer() || value.is_number_unsigned()) {
        text = std::to_string(value.get<std::int64_t>());
      } else if (value.is_number_float()) {
        text = std::to_string(value.get<double>());
      } else if (value.is_string()) {
        text = value.get<std::string>();
      } else {
        co_return Fail(ErrorCode::kInvalidInput,
                       "\"limits\": " + key + ": must be a number, a word or null");
      }
      if (auto set = SetLimitOverride(next.limits, key, text); !set) {
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

}  // namespace mailwarden
