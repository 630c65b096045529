#include "core/limit_windows.h"

#include <algorithm>
#include <cctype>
#include <chrono>

namespace mailwarden {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::ranges::transform(out, out.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// FNV-1a: stable across runs and platforms; collisions only make two addresses count once.
std::uint64_t Hash(std::string_view s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(std::tolower(static_cast<unsigned char>(c)));
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace

const RollingHourCounter* KeyedHourCounts::Find(std::string_view key) const {
  auto it = counts_.find(std::string(key));
  if (it == counts_.end()) it = counts_.find(std::string());
  return it == counts_.end() ? nullptr : &it->second;
}

void KeyedHourCounts::Add(std::string_view key, TimePoint now) {
  auto it = counts_.find(std::string(key));
  if (it == counts_.end() && counts_.size() >= max_keys_) {
    std::erase_if(counts_, [now](const auto& kv) { return kv.second.Count(now) == 0; });
    if (counts_.size() >= max_keys_) key = {};
  }
  counts_[std::string(key)].Add(now);
}

std::int64_t KeyedHourCounts::Count(std::string_view key, TimePoint now) const {
  const RollingHourCounter* c = Find(key);
  return c == nullptr ? 0 : c->Count(now);
}

TimePoint KeyedHourCounts::BelowAt(std::string_view key, TimePoint now, std::int64_t limit) const {
  const RollingHourCounter* c = Find(key);
  return c == nullptr ? now : c->BelowAt(now, limit);
}

std::optional<FinerLimitHit> FinerWindows::Check(const SendLimits& limits, const MessageKeys& keys,
                                                 TimePoint now) const {
  const std::string_view script = keys.script;
  if (limits.max_per_sender_per_hour > 0) {
    const std::string key = Lower(keys.sender);
    if (senders_.Count(key, now) >= limits.max_per_sender_per_hour) {
      return FinerLimitHit{.key = "max_per_sender_per_hour",
                           .limit = limits.max_per_sender_per_hour,
                           .free_at = senders_.BelowAt(key, now, limits.max_per_sender_per_hour)};
    }
  }
  if (limits.max_per_from_per_hour > 0 && !keys.from.empty()) {
    const std::string key = Lower(keys.from);
    if (froms_.Count(key, now) >= limits.max_per_from_per_hour) {
      return FinerLimitHit{.key = "max_per_from_per_hour",
                           .limit = limits.max_per_from_per_hour,
                           .free_at = froms_.BelowAt(key, now, limits.max_per_from_per_hour)};
    }
  }
  if (limits.max_per_script_per_hour > 0 && !script.empty()) {
    if (scripts_.Count(script, now) >= limits.max_per_script_per_hour) {
      return FinerLimitHit{
          .key = "max_per_script_per_hour",
          .limit = limits.max_per_script_per_hour,
          .free_at = scripts_.BelowAt(script, now, limits.max_per_script_per_hour)};
    }
  }
  return std::nullopt;
}

void FinerWindows::Count(const MessageKeys& keys, TimePoint now) {
  senders_.Add(Lower(keys.sender), now);
  if (!keys.from.empty()) froms_.Add(Lower(keys.from), now);
  if (!keys.script.empty()) scripts_.Add(keys.script, now);
}

std::int64_t UniqueRecipients::Add(std::span<const std::string> recipients, std::int64_t limit,
                                   TimePoint now) {
  if (limit <= 0) {
    hashes_.clear();
    return 0;
  }
  const std::int64_t hour =
      std::chrono::duration_cast<std::chrono::hours>(now.time_since_epoch()).count();
  if (hour != hour_) {
    hour_ = hour;
    hashes_.clear();
  }
  for (const std::string& r : recipients) {
    if (static_cast<std::int64_t>(hashes_.size()) > limit) break;
    hashes_.insert(Hash(r));
  }
  return count();
}

}  // namespace mailwarden
