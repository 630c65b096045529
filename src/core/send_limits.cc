#include "core/send_limits.h"

#include <charconv>
#include <cstdlib>
#include <string>

#include "core/duration.h"

namespace mailwarden {

const char* LimitSourceName(LimitSource source) {
  switch (source) {
    case LimitSource::kServer:
      return "server";
    case LimitSource::kPlan:
      return "plan";
    case LimitSource::kAccount:
      return "account";
  }
  return "server";
}

const char* OverLimitName(OverLimit o) { return o == OverLimit::kRefuse ? "refuse" : "defer"; }

Result<void> SetLimitOverride(LimitOverrides& o, std::string_view key, std::string_view value) {
  for (const CountLimitKey& k : kCountLimitKeys) {
    if (k.name != key) continue;
    std::int64_t v = -1;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || end != value.data() + value.size() || v < 0 || v > k.max) {
      return Fail(ErrorCode::kInvalidInput,
                  std::string(key) + ": must be a whole number from 0 to " + std::to_string(k.max));
    }
    o.*k.override = v;
    return {};
  }
  if (key == kOverLimitKey) {
    if (value != "defer" && value != "refuse") {
      return Fail(ErrorCode::kInvalidInput, "over_limit: must be \"defer\" or \"refuse\"");
    }
    o.over_limit = value == "refuse" ? OverLimit::kRefuse : OverLimit::kDefer;
    return {};
  }
  if (key == kWarnAtKey) {
    const std::string text(value);
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || !(v >= 0.0 && v <= 1.0)) {
      return Fail(ErrorCode::kInvalidInput, "warn_at: must be a number from 0 to 1");
    }
    o.warn_at = v;
    return {};
  }
  if (key == kSuppressForKey) {
    if (value == "0") {
      o.suppress_for = Duration(0);
      return {};
    }
    auto d = ParseDuration(value);
    if (!d) {
      return Fail(ErrorCode::kInvalidInput,
                  "suppress_for: must be a duration such as \"30d\", or \"0\" for none");
    }
    o.suppress_for = *d;
    return {};
  }
  return Fail(ErrorCode::kInvalidInput,
              std::string(key) + ": not a limit a plan or an account sets");
}

Result<void> ClearLimitOverride(LimitOverrides& o, std::string_view key) {
  for (const CountLimitKey& k : kCountLimitKeys) {
    if (k.name == key) {
      (o.*k.override).reset();
      return {};
    }
  }
  if (key == kOverLimitKey) {
    o.over_limit.reset();
    return {};
  }
  if (key == kWarnAtKey) {
    o.warn_at.reset();
    return {};
  }
  if (key == kSuppressForKey) {
    o.suppress_for.reset();
    return {};
  }
  return Fail(ErrorCode::kInvalidInput,
              std::string(key) + ": not a limit a plan or an account sets");
}

std::string FormatLimitOverrides(const LimitOverrides& o) {
  std::string out;
  auto add = [&out](std::string_view key, const std::string& value) {
    if (!out.empty()) out += ' ';
    out += key;
    out += '=';
    out += value;
  };
  for (const CountLimitKey& k : kCountLimitKeys) {
    if (o.*k.override) add(k.name, std::to_string(*(o.*k.override)));
  }
  if (o.over_limit) add(kOverLimitKey, OverLimitName(*o.over_limit));
  if (o.warn_at) {
    char buf[32];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, *o.warn_at);
    add(kWarnAtKey, ec == std::errc() ? std::string(buf, end) : "0.8");
  }
  if (o.suppress_for) {
    add(kSuppressForKey, o.suppress_for->count() == 0 ? "0" : FormatDuration(*o.suppress_for));
  }
  return out;
}

Result<LimitOverrides> ParseLimitOverrides(std::string_view text) {
  LimitOverrides o;
  while (!text.empty()) {
    const std::size_t space = text.find(' ');
    const std::string_view item = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
    if (item.empty()) continue;
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return Fail(ErrorCode::kInvalidInput,
                  "limits: \"" + std::string(item) + "\" is not key=value");
    }
    MW_RETURN_IF_ERROR(SetLimitOverride(o, item.substr(0, eq), item.substr(eq + 1)));
  }
  return o;
}

ResolvedLimits ResolveLimits(const SendLimits& server, const LimitOverrides* plan,
                             const LimitOverrides& account) {
  ResolvedLimits r;
  r.limits = server;
  for (std::size_t i = 0; i < kCountLimitKeys.size(); ++i) {
    const CountLimitKey& k = kCountLimitKeys[i];
    if ((account.*k.override)) {
      r.limits.*k.value = *(account.*k.override);
      r.count_source[i] = LimitSource::kAccount;
    } else if (plan != nullptr && (plan->*k.override)) {
      r.limits.*k.value = *(plan->*k.override);
      r.count_source[i] = LimitSource::kPlan;
    }
  }
  if (account.over_limit) {
    r.limits.over_limit = *account.over_limit;
    r.over_limit_source = LimitSource::kAccount;
  } else if (plan != nullptr && plan->over_limit) {
    r.limits.over_limit = *plan->over_limit;
    r.over_limit_source = LimitSource::kPlan;
  }
  if (account.warn_at) {
    r.limits.warn_at = *account.warn_at;
    r.warn_at_source = LimitSource::kAccount;
  } else if (plan != nullptr && plan->warn_at) {
    r.limits.warn_at = *plan->warn_at;
    r.warn_at_source = LimitSource::kPlan;
  }
  if (account.suppress_for) {
    r.limits.suppress_for = *account.suppress_for;
    r.suppress_for_source = LimitSource::kAccount;
  } else if (plan != nullptr && plan->suppress_for) {
    r.limits.suppress_for = *plan->suppress_for;
    r.suppress_for_source = LimitSource::kPlan;
  }
  return r;
}

}  // namespace mailwarden
