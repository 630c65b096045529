// The counts behind an account's finer limits (core/send_limits.h): messages per envelope
// sender and per script over a rolling hour, and the different recipients of the clock hour.
// Counters kept as messages go, never a scan of messages. Pure: time is passed in. Not
// synchronised: one owner at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "core/policy.h"
#include "core/send_limits.h"
#include "core/types.h"

namespace mailwarden {

// Rolling-hour counts per key (a sender, a script), for at most max_keys keys: past them,
// keys whose hour is empty are dropped, and if none is, the new key's messages count under
// the shared key "" (so many distinct values cannot grow memory, and still count).
class KeyedHourCounts {
 public:
  explicit KeyedHourCounts(std::size_t max_keys = 256) : max_keys_(max_keys) {}
  void Add(std::string_view key, TimePoint now);
  std::int64_t Count(std::string_view key, TimePoint now) const;
  // When Count(key) drops below limit if nothing more is added (now when it is below).
  TimePoint BelowAt(std::string_view key, TimePoint now, std::int64_t limit) const;
  std::size_t keys() const { return counts_.size(); }

 private:
  const RollingHourCounter* Find(std::string_view key) const;
  std::size_t max_keys_;
  std::unordered_map<std::string, RollingHourCounter> counts_;
};

// Which finer limit holds a message back, and until when.
struct FinerLimitHit {
  // "max_per_sender_per_hour", "max_per_from_per_hour" or "max_per_script_per_hour"
  std::string_view key;
  std::int64_t limit = 0;
  TimePoint free_at{};
};

// What a message is counted by in its account's finer windows.
struct MessageKeys {
  std::string_view sender{};  // the envelope sender
  std::string_view from{};    // the From: header's single address; "" when it has none
  std::string_view script{};  // "" when the message names none
};

// An account's per-sender, per-From and per-script windows. Addresses are compared in lower
// case; a message without a From address or a script is not counted by it.
class FinerWindows {
 public:
  // The limit that holds back a message with these keys at now, if any.
  std::optional<FinerLimitHit> Check(const SendLimits& limits, const MessageKeys& keys,
                                     TimePoint now) const;
  void Count(const MessageKeys& keys, TimePoint now);

 private:
  KeyedHourCounts senders_;
  KeyedHourCounts froms_;
  KeyedHourCounts scripts_;
};

// The different recipients of an account in the current clock hour, as 64-bit hashes of the
// lower-cased addresses: an exact set, capped at limit + 1 entries, so its memory is bounded
// by the limit (8 bytes an address) and the count is exact up to where the guard decides. (A
// sketch such as HyperLogLog would be smaller but only approximate at that very threshold.)
class UniqueRecipients {
 public:
  // Adds the recipients at now (a new hour starts empty); returns the count this hour, which
  // stops growing past limit + 1. limit 0 or less: nothing is kept, 0 returned.
  std::int64_t Add(std::span<const std::string> recipients, std::int64_t limit, TimePoint now);
  std::int64_t count() const { return static_cast<std::int64_t>(hashes_.size()); }
  void Reset() { hashes_.clear(); }

 private:
  std::int64_t hour_ = -1;
  std::unordered_set<std::uint64_t> hashes_;
};

}  // namespace mailwarden
