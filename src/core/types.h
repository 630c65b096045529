// Domain types shared by every module: identifiers, states and the clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailwarden {

using MessageId = std::int64_t;
using AccountId = std::int64_t;
using Uid = std::uint32_t;
using TimePoint = std::chrono::system_clock::time_point;
using Duration = std::chrono::milliseconds;

enum class AccountState { kActive, kBlocked, kPurging };
enum class BlockedBy { kNone, kCustomer, kAdmin, kSpamGuard, kBounceGuard, kComplaintGuard };

// A recipient's delivery outcome. kPending: not yet tried or deferred (waiting for a retry).
enum class RecipientStatus { kPending, kSent, kFailed };

std::string_view AccountStateName(AccountState s);
std::optional<AccountState> ParseAccountState(std::string_view s);
std::string_view BlockedByName(BlockedBy b);
std::optional<BlockedBy> ParseBlockedBy(std::string_view s);
std::string_view RecipientStatusName(RecipientStatus s);
std::optional<RecipientStatus> ParseRecipientStatus(std::string_view s);

// Time comes through a clock so that tests control it.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::system_clock::now(); }
};

// Milliseconds since the Unix epoch, the unit times are stored in.
inline std::int64_t ToUnixMillis(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
inline TimePoint FromUnixMillis(std::int64_t ms) {
  return TimePoint(std::chrono::milliseconds(ms));
}

}  // namespace mailwarden
