#include "store/config_accounts.h"

#include <fmt/format.h>

#include <string>

namespace mailwarden {

Result<void> ApplyConfigAccounts(Store& store, std::span<const AccountSpec> accounts,
                                 TimePoint now) {
  if (accounts.empty()) return {};
  MW_ASSIGN_OR_RETURN(const auto put,
                      store.PutAccounts(accounts, AccountPutMode::kCreateOrUpdate, "config", now));
  std::string refused;
  for (std::size_t i = 0; i < put.size(); ++i) {
    if (!put[i].refused && accounts[i].plan) {
      // The file's plan wins, as its other keys do; the account's own overrides stay.
      MW_ASSIGN_OR_RETURN(AccountLimits limits, store.GetAccountLimits(put[i].id));
      if (limits.plan != *accounts[i].plan) {
        limits.plan = *accounts[i].plan;
        MW_RETURN_IF_ERROR(store.SetAccountLimits(limits));
      }
    }
    if (!put[i].refused) continue;
    refused += fmt::format("{}[[account]] \"{}\": {}", refused.empty() ? "" : "; ",
                           accounts[i].name, put[i].refused->message);
  }
  // Each account's domains, listed in the store as the API lists them: a domain the store
  // gives to another account is not moved, and the start is refused naming both.
  for (std::size_t i = 0; i < put.size(); ++i) {
    if (put[i].refused) continue;
    for (const std::string& domain : accounts[i].domains) {
      auto added = store.AddDomain(put[i].id, domain, now);
      if (added) continue;
      if (added.error().code != ErrorCode::kConflict) return std::unexpected(added.error());
      refused += fmt::format("{}[[account]] \"{}\": {}", refused.empty() ? "" : "; ",
                             accounts[i].name, added.error().message);
    }
  }
  if (refused.empty()) return {};
  // The accounts without a conflict are written (as the next start would write them); those
  // with one are not, and the daemon does not start until the file and the store agree.
  return Fail(ErrorCode::kConflict,
              refused +
                  " (the store keeps it; change the file, or move the uid with "
                  "PATCH /api/v1/accounts/{name}, the domain with DELETE "
                  "/api/v1/accounts/{name}/domains)");
}

Result<void> ApplyConfigPlans(Store& store, std::span<const PlanRecord> plans, TimePoint now) {
  for (const PlanRecord& plan : plans) {
    auto put = store.PutPlan(plan, "config", now);
    if (!put) {
      return Fail(put.error().code, "[[plan]] \"" + plan.name + "\": " + put.error().message);
    }
  }
  return {};
}

}  // namespace mailwarden
