#include "core/types.h"

#include <array>
#include <utility>

#include "core/name_table.h"

namespace mailwarden {
namespace {

constexpr std::array<std::pair<AccountState, std::string_view>, 3> kStates{{
    {AccountState::kActive, "active"},
    {AccountState::kBlocked, "blocked"},
    {AccountState::kPurging, "purging"},
}};
constexpr std::array<std::pair<BlockedBy, std::string_view>, 6> kBlockers{{
    {BlockedBy::kNone, ""},
    {BlockedBy::kCustomer, "customer"},
    {BlockedBy::kAdmin, "admin"},
    {BlockedBy::kSpamGuard, "spam_guard"},
    {BlockedBy::kBounceGuard, "bounce_guard"},
    {BlockedBy::kComplaintGuard, "complaint_guard"},
}};
constexpr std::array<std::pair<RecipientStatus, std::string_view>, 3> kRecipientStatuses{{
    {RecipientStatus::kPending, "pending"},
    {RecipientStatus::kSent, "sent"},
    {RecipientStatus::kFailed, "failed"},
}};

}  // namespace

std::string_view AccountStateName(AccountState s) { return NameOf(kStates, s); }
std::optional<AccountState> ParseAccountState(std::string_view s) { return LookupName(kStates, s); }
std::string_view BlockedByName(BlockedBy b) { return NameOf(kBlockers, b); }
std::optional<BlockedBy> ParseBlockedBy(std::string_view s) { return LookupName(kBlockers, s); }
std::string_view RecipientStatusName(RecipientStatus s) { return NameOf(kRecipientStatuses, s); }
std::optional<RecipientStatus> ParseRecipientStatus(std::string_view s) {
  return LookupName(kRecipientStatuses, s);
}

}  // namespace mailwarden
