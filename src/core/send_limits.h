// An account's sending limits (DESIGN.md, "Plans and limits"): the server's [policy], a
// [[plan]]'s keys, the account's own overrides; each key resolves account -> plan -> server,
// and says where its value came from. Pure: no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/types.h"

namespace mailwarden {

// What happens to a message past a volume limit (per hour, per day, per sender, per script).
enum class OverLimit {
  kDefer,   // stored; it waits in the queue until the window lets it go (nothing is dropped)
  kRefuse,  // not stored: the script is told to try again later (75, SMTP 451 4.7.1)
};

// The limits that apply to one account. A count of 0 means no limit.
struct SendLimits {
  std::int64_t max_per_hour = 300;  // rolling hour
  std::int64_t max_per_day = 1000;  // the daemon's local day
  // Per envelope sender address, per From: header address, and per script
  // (X-PHP-Originating-Script), within the account, over a rolling hour.
  std::int64_t max_per_sender_per_hour = 0;
  std::int64_t max_per_from_per_hour = 0;
  std::int64_t max_per_script_per_hour = 0;
  // Recipients of one message (on top of smtp.max_recipients); refused at submission.
  std::int64_t max_recipients = 0;
  // Different recipient addresses in an hour; past it the account is blocked (spam_guard).
  std::int64_t unique_recipients_per_hour = 0;
  OverLimit over_limit = OverLimit::kDefer;
  // The fraction of a daily limit past which the account's report recipient is told, once a
  // day, and a limit.warning event is written; 0: never.
  double warn_at = 0.8;
  // How long a recipient that bounced as a bad mailbox or a bad domain is not sent to again
  // (the account's mail to it fails at once, category "suppressed"); 0: never suppressed.
  Duration suppress_for = std::chrono::days(30);
};

// Keys a plan or an account sets; nullopt: not set there (the next level's value holds).
struct LimitOverrides {
  std::optional<std::int64_t> max_per_hour;
  std::optional<std::int64_t> max_per_day;
  std::optional<std::int64_t> max_per_sender_per_hour;
  std::optional<std::int64_t> max_per_from_per_hour;
  std::optional<std::int64_t> max_per_script_per_hour;
  std::optional<std::int64_t> max_recipients;
  std::optional<std::int64_t> unique_recipients_per_hour;
  std::optional<OverLimit> over_limit;
  std::optional<double> warn_at;
  std::optional<Duration> suppress_for;

  bool operator==(const LimitOverrides&) const = default;
};

enum class LimitSource { kServer, kPlan, kAccount };
const char* LimitSourceName(LimitSource source);  // "server", "plan", "account"
const char* OverLimitName(OverLimit o);           // "defer", "refuse"

// The count keys, one table: their names (as in [policy], a [[plan]] and the API), where
// each lives, and the values allowed.
struct CountLimitKey {
  std::string_view name;
  std::int64_t SendLimits::*value;
  std::optional<std::int64_t> LimitOverrides::*override;
  std::int64_t max;
};
inline constexpr std::array<CountLimitKey, 7> kCountLimitKeys = {{
    {"max_per_hour", &SendLimits::max_per_hour, &LimitOverrides::max_per_hour, 100'000'000},
    {"max_per_day", &SendLimits::max_per_day, &LimitOverrides::max_per_day, 100'000'000},
    {"max_per_sender_per_hour", &SendLimits::max_per_sender_per_hour,
     &LimitOverrides::max_per_sender_per_hour, 100'000'000},
    {"max_per_from_per_hour", &SendLimits::max_per_from_per_hour,
     &LimitOverrides::max_per_from_per_hour, 100'000'000},
    {"max_per_script_per_hour", &SendLimits::max_per_script_per_hour,
     &LimitOverrides::max_per_script_per_hour, 100'000'000},
    {"max_recipients", &SendLimits::max_recipients, &LimitOverrides::max_recipients, 100'000},
    {"unique_recipients_per_hour", &SendLimits::unique_recipients_per_hour,
     &LimitOverrides::unique_recipients_per_hour, 100'000'000},
}};
// Every key a plan or an account may set: the count keys, then these three.
inline constexpr std::string_view kOverLimitKey = "over_limit";
inline constexpr std::string_view kWarnAtKey = "warn_at";
inline constexpr std::string_view kSuppressForKey = "suppress_for";  // a duration ("30d"), or "0"

// One key of LimitOverrides set from text ("300", "refuse", "0.8"); a key that is not a limit
// key, or a value out of its range, fails with kInvalidInput and a sentence naming the key.
Result<void> SetLimitOverride(LimitOverrides& o, std::string_view key, std::string_view value);
// Unsets one key (the next level's value holds again); kInvalidInput for an unknown key.
Result<void> ClearLimitOverride(LimitOverrides& o, std::string_view key);
// The keys set, as "key=value" separated by spaces, in the table's order ("" when none set);
// ParseLimitOverrides reads it back.
std::string FormatLimitOverrides(const LimitOverrides& o);
Result<LimitOverrides> ParseLimitOverrides(std::string_view text);

// Each key's value and where it came from.
struct ResolvedLimits {
  SendLimits limits;
  std::array<LimitSource, kCountLimitKeys.size()> count_source{};
  LimitSource over_limit_source = LimitSource::kServer;
  LimitSource warn_at_source = LimitSource::kServer;
  LimitSource suppress_for_source = LimitSource::kServer;
};

// account's key, else plan's (plan may be null: no plan), else server's.
ResolvedLimits ResolveLimits(const SendLimits& server, const LimitOverrides* plan,
                             const LimitOverrides& account);

}  // namespace mailwarden
