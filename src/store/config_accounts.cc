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
  if (refused.empty()) return {};
  // The accounts without a conflict are written (as the next start would write them); those
  // with one are not, and the daemon does not start until the file and the store agree.
  return Fail(ErrorCode::kConflict,
              refused +
                  " (the store keeps it; change the file, or move the uid with "
                  "PATCH /api/v1/accounts/{name})");
}

}  // namespace mailwarden
