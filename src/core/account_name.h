// Account names: which a customer's account may take, and which the system keeps for itself.
#pragma once

#include <string_view>

namespace mailwarden {

// The internal account that mailwarden's own mail (guard notices, daily reports) is stored
// under: never held by a customer's block, never counted in a customer's quotas or figures.
inline constexpr std::string_view kSystemAccountName = "_mailwarden";

// True for names the system reserves (those starting with '_'), never a customer's account.
inline bool IsReservedAccountName(std::string_view name) { return name.starts_with('_'); }

// The rule a customer's account name follows, as a sentence for the one who broke it.
inline constexpr std::string_view kAccountNameRule =
    "1 to 64 characters of a-z, 0-9, '.', '_' or '-', not starting with '_'";

// True if name follows kAccountNameRule.
inline bool IsValidAccountName(std::string_view name) {
  return !name.empty() && name.size() <= 64 && !IsReservedAccountName(name) &&
         name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789._-") ==
             std::string_view::npos;
}

}  // namespace mailwarden
