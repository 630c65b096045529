// The accounts of the configuration file, written to the store at start (and, with a reload,
// again): one rule set with the API's (Store::PutAccounts).
#pragma once

#include <span>
#include <vector>

#include "core/account_spec.h"
#include "core/result.h"
#include "store/store.h"

namespace mailwarden {

// Creates or updates every account of the file that the store does not have as the file
// writes it (ConfigAccountsToWrite), in one transaction, audited as actor
// "config" when something changed. The file wins over the store for what it lists (uids,
// report_to, language, quotas); accounts it does not list are left as they are. A uid the
// file gives to one account while the store gives it to an account the file does not list
// (one made through the API) is never moved silently: that account of the file is not
// written, and the start is refused with kConflict naming both accounts. So is a domain the
// file lists for one account while the store gives it to another (the file adds domains; it
// removes none). Called by the daemon's
// thread that owns the store, before the daemon takes mail.
Result<void> ApplyConfigAccounts(Store& store, std::span<const AccountSpec> accounts,
                                 TimePoint now);

// The indexes of the file's accounts that a start or a reload must write: those the store
// does not have (by name), or has with other uids, report_to, language or quotas, another
// plan than the one the file names, or without one of the file's domains. Reads every
// account once (no write): with an unchanged file, none.
Result<std::vector<std::size_t>> ConfigAccountsToWrite(Store& store,
                                                       std::span<const AccountSpec> accounts);

// Writes the file's [[plan]] sections to the store, at start and on SIGHUP: the file wins for
// the plans it lists (each PutPlan, audited as actor "config" when it changed); plans it does
// not list (made through the API) are left as they are. A plan the file lists and the API
// changed is the file's again after the next start or reload.
Result<void> ApplyConfigPlans(Store& store, std::span<const PlanRecord> plans, TimePoint now);

}  // namespace mailwarden
