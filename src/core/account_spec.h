// An account as the configuration file or the API describes it, before the store has it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/types.h"

namespace mailwarden {

struct AccountSpec {
  std::string name;  // IsValidAccountName (core/account_name.h)
  std::vector<Uid> uids;
  std::string report_to;
  std::string language = "en";               // "en" or "pl"
  std::optional<std::int64_t> max_per_day;   // nullopt: the policy's default
  std::optional<std::int64_t> max_per_hour;  // nullopt: the policy's default
  // Domains the account sends as (the configuration's `domains`), normalised
  // (core/sender_domain.h); each belongs to one account. Added to the store at start.
  std::vector<std::string> domains{};
  // The account's plan ([[plan]] name; "" for none). nullopt: not said, left as it is.
  std::optional<std::string> plan{};
};

}  // namespace mailwarden
