// SqlStore: accounts as a provider's provisioning manages them: created, changed and deleted
// in batches (the API, an import, the configuration file), one uid one account.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <span>
#include <vector>

#include "store/sql/sql_store.h"

namespace mailwarden {
namespace {

// A deleted account's row is renamed to this: '~' is no character of a valid name
// (core/account_name.h), so no account can ever take it, and the id keeps it unique.
std::string DeletedName(std::string_view name, AccountId id) {
  return fmt::format("{}~deleted~{}", name, id);
}

std::string Quota(const std::optional<std::int64_t>& v) {
  return v ? std::to_string(*v) : std::string("default");
}

// The audit record's text of a created or changed account: its values as they are now.
std::string Describe(const AccountSpec& spec) {
  return fmt::format("uids [{}] report_to \"{}\" language {} max_per_day {} max_per_hour {}",
                     fmt::join(spec.uids, ","), spec.report_to, spec.language,
                     Quota(spec.max_per_day), Quota(spec.max_per_hour));
}

bool SameAs(const Account& a, const AccountSpec& spec, const std::vector<Uid>& sorted_uids) {
  std::vector<Uid> had = a.uids;
  std::sort(had.begin(), had.end());
  return had == sorted_uids && a.report_to == spec.report_to && a.language == spec.language &&
         a.max_per_day == spec.max_per_day && a.max_per_hour == spec.max_per_hour;
}

}  // namespace

Result<void> SqlStore::FreeAccountName(std::string_view /*name*/) { return {}; }

Result<std::vector<AccountPut>> SqlStore::PutAccounts(std::span<const AccountSpec> specs,
                                                      AccountPutMode mode, std::string_view actor,
                                                      TimePoint at) {
  const std::int64_t now_ms = ToUnixMillis(at);
  std::vector<AccountPut> out(specs.size());
  std::vector<std::optional<Account>> before(specs.size());
  std::vector<std::vector<Uid>> uids(specs.size());
  // One write transaction: every uid that moves leaves one account and joins the other in the
  // same commit, so no submission ever sees it belonging to both or to neither; and the
  // checks below read what the writes then change.
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kWrite));
  auto refuse = [&](std::size_t i, ErrorCode code, std::string message) {
    out[i].outcome = AccountPutOutcome::kRefused;
    out[i].id = 0;
    out[i].refused = Error{code, std::move(message)};
  };
  std::map<std::string, std::size_t, std::less<>> by_name;
  std::map<AccountId, std::size_t> by_id;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const AccountSpec& spec = specs[i];
    uids[i] = spec.uids;
    std::sort(uids[i].begin(), uids[i].end());
    uids[i].erase(std::unique(uids[i].begin(), uids[i].end()), uids[i].end());
    if (spec.name.empty()) {
      refuse(i, ErrorCode::kInvalidInput, "The account's name is empty.");
      continue;
    }
    if (!by_name.emplace(spec.name, i).second) {
      refuse(i, ErrorCode::kInvalidInput,
             fmt::format("The account \"{}\" is given twice.", spec.name));
      continue;
    }
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        session().Run(Sql::kSelectAccountIdByName, Params().Text(spec.name)));
    if (!rows.empty()) {
      MW_ASSIGN_OR_RETURN(before[i], ReadOneAccount(rows.Int(0, 0)));
    }
    if (before[i] && mode == AccountPutMode::kCreate) {
      refuse(i, ErrorCode::kConflict, fmt::format("The account \"{}\" exists.", spec.name));
      continue;
    }
    if (!before[i] && mode == AccountPutMode::kUpdate) {
      refuse(i, ErrorCode::kNotFound, fmt::format("There is no account \"{}\".", spec.name));
      continue;
    }
    if (before[i]) {
      out[i].id = before[i]->id;
      by_id[before[i]->id] = i;
    }
  }
  // Each uid's owner now, read once; an account's own uids need no read.
  std::map<Uid, AccountId> owner;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    if (out[i].refused) continue;
    for (const Uid uid : uids[i]) {
      if (owner.contains(uid)) continue;
      if (before[i] && std::ranges::find(before[i]->uids, uid) != before[i]->uids.end()) {
        owner[uid] = before[i]->id;
        continue;
      }
      MW_ASSIGN_OR_RETURN(const Rows rows,
                          session().Run(Sql::kSelectAccountIdByUid, Params().Int(uid)));
      owner[uid] = rows.empty() ? 0 : rows.Int(0, 0);
    }
  }
  // A uid may be taken from an account of the batch that gives it up, unless that spec is
  // refused (it then keeps its uids): refusals can cascade, so the check runs until no new
  // refusal appears.
  for (bool again = true; again;) {
    again = false;
    std::map<Uid, std::size_t> taken;
    for (std::size_t i = 0; i < specs.size(); ++i) {
      if (out[i].refused) continue;
      for (const Uid uid : uids[i]) {
        if (auto [it, fresh] = taken.emplace(uid, i); !fresh) {
          refuse(i, ErrorCode::kConflict,
                 fmt::format("The uid {} is given to both \"{}\" and \"{}\".", uid,
                             specs[it->second].name, specs[i].name));
          again = true;
          break;
        }
        const AccountId held_by = owner[uid];
        if (held_by == 0 || (before[i] && held_by == before[i]->id)) continue;
        const auto other = by_id.find(held_by);
        const bool given_up =
            other != by_id.end() && !out[other->second].refused &&
            !std::binary_search(uids[other->second].begin(), uids[other->second].end(), uid);
        if (given_up) continue;
        std::string holder = other != by_id.end() ? specs[other->second].name : "";
        if (holder.empty()) {
          MW_ASSIGN_OR_RETURN(const Rows rows,
                              session().Run(Sql::kSelectAccountName, Params().Int(held_by)));
          holder = rows.empty() ? fmt::format("#{}", held_by) : rows.Text(0, 0);
        }
        refuse(i, ErrorCode::kConflict,
               fmt::format("The uid {} belongs to the account \"{}\".", uid, holder));
        again = true;
        break;
      }
      if (again) break;
    }
  }
  // The writes. Every changed account's old uids go first, so that a uid moving between two
  // of them is free when its new account takes it.
  std::vector<std::size_t> changed;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    if (out[i].refused) continue;
    if (before[i] && SameAs(*before[i], specs[i], uids[i])) {
      out[i].outcome = AccountPutOutcome::kUnchanged;
      continue;
    }
    changed.push_back(i);
    if (before[i]) {
      MW_RETURN_IF_ERROR(session().Run(Sql::kDeleteAccountUids, Params().Int(before[i]->id)));
    }
  }
  for (const std::size_t i : changed) {
    AccountSpec spec = specs[i];
    spec.uids = uids[i];
    MW_ASSIGN_OR_RETURN(const AccountId id, UpsertAccountRow(spec, now_ms));
    for (const Uid uid : uids[i]) {
      MW_RETURN_IF_ERROR(session().Run(Sql::kPutAccountUid, Params().Int(uid).Int(id)));
    }
    const std::string_view state =
        AccountStateName(before[i] ? before[i]->state : AccountState::kActive);
    MW_RETURN_IF_ERROR(session().Run(Sql::kInsertAudit, Params()
                                                            .Int(now_ms)
                                                            .Int(id)
                                                            .Text(actor)
                                                            .Text(before[i] ? "CHANGE" : "CREATE")
                                                            .Text(state)
                                                            .Text(state)
                                                            .Text(Describe(spec))));
    out[i].outcome = before[i] ? AccountPutOutcome::kUpdated : AccountPutOutcome::kCreated;
    out[i].id = id;
  }
  MW_RETURN_IF_ERROR(tx.Commit());
  return out;
}

Result<AccountDeleted> SqlStore::DeleteAccount(std::string_view name, bool purge,
                                               std::string_view actor, TimePoint at) {
  // One write transaction: the check for unfinished mail, its purge, the revocations and the
  // rename are atomic; a submission committed before it is counted in pending (and refused
  // or purged here), one after it finds no account for its uid.
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kWrite));
  MW_ASSIGN_OR_RETURN(Result<AccountDeleted> deleted, DeleteAccountIn(name, purge, actor, at));
  if (!deleted) return deleted;
  MW_RETURN_IF_ERROR(tx.Commit());
  return deleted;
}

Result<std::vector<Result<AccountDeleted>>> SqlStore::DeleteAccounts(
    std::span<const std::string> names, bool purge, std::string_view actor, TimePoint at) {
  // One commit for them all (one sync, not one an account); the same checks as one at a time.
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kWrite));
  std::vector<Result<AccountDeleted>> out;
  out.reserve(names.size());
  for (const std::string& name : names) {
    MW_ASSIGN_OR_RETURN(Result<AccountDeleted> deleted, DeleteAccountIn(name, purge, actor, at));
    out.push_back(std::move(deleted));
  }
  MW_RETURN_IF_ERROR(tx.Commit());
  return out;
}

Result<Result<AccountDeleted>> SqlStore::DeleteAccountIn(std::string_view name, bool purge,
                                                         std::string_view actor, TimePoint at) {
  MW_ASSIGN_OR_RETURN(const Rows ids,
                      session().Run(Sql::kSelectAccountIdByName, Params().Text(name)));
  if (ids.empty()) {
    return Result<AccountDeleted>(
        Fail(ErrorCode::kNotFound, fmt::format("There is no account \"{}\".", name)));
  }
  AccountDeleted deleted{.id = ids.Int(0, 0)};
  MW_ASSIGN_OR_RETURN(const AccountState state, ReadAccountState(deleted.id, true));
  MW_ASSIGN_OR_RETURN(const Rows rows,
                      session().Run(Sql::kSelectAccountState, Params().Int(deleted.id)));
  const std::int64_t pending = rows.empty() ? 0 : rows.Int(0, 2);
  if (pending > 0 && !purge) {
    return Result<AccountDeleted>(
        Fail(ErrorCode::kConflict,
             fmt::format("The account \"{}\" has {} messages held, queued or being delivered: "
                         "delete it with purge to delete them too.",
                         name, pending)));
  }
  if (pending > 0) {
    MW_ASSIGN_OR_RETURN(deleted.purged, StartPurge(deleted.id, at));
  }
  MW_RETURN_IF_ERROR(session().Run(Sql::kDeleteAccountTokens, Params().Int(deleted.id)));
  MW_RETURN_IF_ERROR(session().Run(Sql::kDeleteAccountUids, Params().Int(deleted.id)));
  MW_RETURN_IF_ERROR(session().Run(Sql::kDeleteAccountDomains, Params().Int(deleted.id)));
  MW_RETURN_IF_ERROR(FreeAccountName(name));
  MW_RETURN_IF_ERROR(session().Run(
      Sql::kMarkAccountDeleted,
      Params().Int(deleted.id).Text(DeletedName(name, deleted.id)).Int(ToUnixMillis(at))));
  MW_RETURN_IF_ERROR(session().Run(
      Sql::kInsertAudit, Params()
                             .Int(ToUnixMillis(at))
                             .Int(deleted.id)
                             .Text(actor)
                             .Text("DELETE")
                             .Text(AccountStateName(state))
                             .Text(AccountStateName(state))
                             .Text(fmt::format("account \"{}\" deleted; {} unfinished messages "
                                               "purged",
                                               name, deleted.purged))));
  return Result<AccountDeleted>(deleted);
}

Result<std::vector<AccountId>> SqlStore::AccountsWithPurgedRows() {
  std::vector<AccountId> ids;
  MW_ASSIGN_OR_RETURN(const Rows rows, session().Run(Sql::kSelectPurgedRowsLeft));
  for (int i = 0; i < rows.size(); ++i) ids.push_back(rows.Int(i, 0));
  return ids;
}

Result<std::int64_t> SqlStore::RemoveDeletedAccounts(TimePoint cutoff, int limit) {
  // One write transaction for everything kept of the accounts, then one for their rows: an
  // account whose row a failure left (nothing else of it) is still deleted, and goes next time.
  std::vector<AccountId> ids;
  {
    MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kWrite));
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        session().Run(Sql::kSelectDeletedAccounts,
                                      Params().Int(ToUnixMillis(cutoff)).Int(std::max(limit, 0))));
    for (int i = 0; i < rows.size(); ++i) {
      const AccountId id = ids.emplace_back(rows.Int(i, 0));
      for (const Sql sql :
           {Sql::kRemoveAccountSources, Sql::kRemoveAccountDays, Sql::kRemoveAccountSenderChecks,
            Sql::kRemoveAccountReports, Sql::kRemoveAccountAudit, Sql::kClearReleased,
            Sql::kRemoveAccountMessages, Sql::kDeleteAccountTokens, Sql::kDeleteAccountUids,
            Sql::kRemoveAccountLimits, Sql::kRemoveAccountNotices,
            Sql::kRemoveAccountSuppressions}) {
        MW_RETURN_IF_ERROR(session().Run(sql, Params().Int(id)));
      }
    }
    MW_RETURN_IF_ERROR(tx.Commit());
  }
  if (!ids.empty()) MW_RETURN_IF_ERROR(RemoveAccountRows(ids));
  return static_cast<std::int64_t>(ids.size());
}

Result<void> SqlStore::RemoveAccountRows(std::span<const AccountId> ids) {
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kWrite));
  for (const AccountId id : ids) {
    MW_RETURN_IF_ERROR(session().Run(Sql::kRemoveAccountRow, Params().Int(id)));
  }
  return tx.Commit();
}

}  // namespace mailwarden
