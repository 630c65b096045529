#include "store/config_accounts.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <unordered_map>
#include <vector>

namespace mailwarden {
namespace {

// Whether the store has the account exactly as the file writes it: uids (in any order),
// report_to, language, quotas, the plan when the file names one, and each of the file's
// domains listed for it.
Result<bool> StoredAsWritten(Store& store, const Account& stored, const AccountSpec& spec,
                             const std::unordered_map<AccountId, std::string>& plans) {
  std::vector<Uid> want = spec.uids;
  std::sort(want.begin(), want.end());
  want.erase(std::unique(want.begin(), want.end()), want.end());
  std::vector<Uid> have = stored.uids;
  std::sort(have.begin(), have.end());
  if (have != want || stored.report_to != spec.report_to || stored.language != spec.language ||
      stored.max_per_day != spec.max_per_day || stored.max_per_hour != spec.max_per_hour) {
    return false;
  }
  if (spec.plan) {
    const auto it = plans.find(stored.id);
    if ((it == plans.end() ? std::string() : it->second) != *spec.plan) return false;
  }
  if (spec.domains.empty()) return true;
  MW_ASSIGN_OR_RETURN(const std::vector<std::string> listed, store.ListDomains(stored.id));
  return std::ranges::all_of(spec.domains, [&](const std::string& d) {
    return std::ranges::find(listed, d) != listed.end();
  });
}

}  // namespace

Result<std::vector<std::size_t>> ConfigAccountsToWrite(Store& store,
                                                       std::span<const AccountSpec> accounts) {
  std::vector<std::size_t> out;
  if (accounts.empty()) return out;
  // Two reads of every account (their rows, their uids) and one of the plans: a start with
  // the file unchanged writes nothing, and reads no account one by one.
  MW_ASSIGN_OR_RETURN(std::vector<Account> stored, store.ListAccounts());
  std::unordered_map<std::string_view, const Account*> by_name;
  by_name.reserve(stored.size());
  for (const Account& a : stored) by_name.emplace(a.name, &a);
  std::unordered_map<AccountId, std::string> plans;
  if (std::ranges::any_of(accounts, [](const AccountSpec& a) { return a.plan.has_value(); })) {
    MW_ASSIGN_OR_RETURN(std::vector<AccountLimits> limits, store.ListAccountLimits());
    for (AccountLimits& l : limits) plans.emplace(l.account, std::move(l.plan));
  }
  for (std::size_t i = 0; i < accounts.size(); ++i) {
    const auto it = by_name.find(accounts[i].name);
    if (it != by_name.end()) {
      MW_ASSIGN_OR_RETURN(const bool same, StoredAsWritten(store, *it->second, accounts[i], plans));
      if (same) continue;
    }
    out.push_back(i);
  }
  return out;
}

Result<void> ApplyConfigAccounts(Store& store, std::span<const AccountSpec> all, TimePoint now) {
  MW_ASSIGN_OR_RETURN(const std::vector<std::size_t> changed, ConfigAccountsToWrite(store, all));
  if (changed.empty()) return {};
  // Only what differs is written, in one transaction as before: a uid that moves between two
  // accounts of the file moves in one commit, and both accounts are among those changed.
  std::vector<AccountSpec> accounts;
  accounts.reserve(changed.size());
  for (const std::size_t i : changed) accounts.push_back(all[i]);
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
