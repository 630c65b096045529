// SqlStore: plans, the named sets of policy keys accounts share (DESIGN.md, "Plans and limits").
#include <fmt/format.h>

#include "core/account_name.h"
#include "store/sql/sql_store.h"
#include "store/store_common.h"

namespace mailwarden {

namespace {

// Written by FormatLimitOverrides: a row it cannot read back is a bug, not bad input.
Result<PlanRecord> PlanOfRow(const std::string& name, const std::string& text) {
  auto parsed = ParseLimitOverrides(text);
  if (!parsed) {
    return Fail(ErrorCode::kInternal,
                fmt::format("store: plan \"{}\" cannot be read: {}", name, parsed.error().message));
  }
  return PlanRecord{.name = name, .limits = *parsed};
}

std::string PlanAuditText(std::string_view name, const LimitOverrides& limits) {
  const std::string keys = FormatLimitOverrides(limits);
  return fmt::format("plan \"{}\": {}", name, keys.empty() ? "no keys (the server's)" : keys);
}

}  // namespace

Result<std::vector<PlanRecord>> SqlStore::ListPlans() {
  MW_ASSIGN_OR_RETURN(const Rows rows, session().Run(Sql::kSelectPlans));
  std::vector<PlanRecord> out;
  for (int i = 0; i < rows.size(); ++i) {
    MW_ASSIGN_OR_RETURN(PlanRecord plan, PlanOfRow(rows.Text(i, 0), rows.Text(i, 1)));
    out.push_back(std::move(plan));
  }
  return out;
}

Result<std::optional<PlanRecord>> SqlStore::GetPlan(std::string_view name) {
  MW_ASSIGN_OR_RETURN(const Rows rows, session().Run(Sql::kSelectPlan, Params().Text(name)));
  if (rows.empty()) return std::optional<PlanRecord>{};
  MW_ASSIGN_OR_RETURN(PlanRecord plan, PlanOfRow(std::string(name), rows.Text(0, 0)));
  return std::optional<PlanRecord>{std::move(plan)};
}

Result<AccountId> SqlStore::SystemAccountForAudit(std::int64_t now_ms) {
  MW_ASSIGN_OR_RETURN(const Rows ids, session().Run(Sql::kSelectAccountIdByName,
                                                    Params().Text(kSystemAccountName)));
  if (!ids.empty()) return ids.Int(0, 0);
  AccountSpec spec;
  spec.name = std::string(kSystemAccountName);
  return UpsertAccountRow(spec, now_ms);
}

Result<AccountPutOutcome> SqlStore::PutPlan(const PlanRecord& plan, std::string_view actor,
                                            TimePoint at) {
  // One write transaction: the plan and its audit record are written together, or neither.
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kWrite));
  MW_ASSIGN_OR_RETURN(const auto before, GetPlan(plan.name));
  if (before && before->limits == plan.limits) return AccountPutOutcome::kUnchanged;
  const std::int64_t now_ms = ToUnixMillis(at);
  MW_RETURN_IF_ERROR(session().Run(
      Sql::kPutPlan, Params().Text(plan.name).Text(FormatLimitOverrides(plan.limits))));
  MW_ASSIGN_OR_RETURN(const AccountId system, SystemAccountForAudit(now_ms));
  const std::string_view active = AccountStateName(AccountState::kActive);
  MW_RETURN_IF_ERROR(
      session().Run(Sql::kInsertAudit, Params()
                                           .Int(now_ms)
                                           .Int(system)
                                           .Text(actor)
                                           .Text(before ? "CHANGE" : "CREATE")
                                           .Text(active)
                                           .Text(active)
                                           .Text(PlanAuditText(plan.name, plan.limits))));
  MW_RETURN_IF_ERROR(tx.Commit());
  return before ? AccountPutOutcome::kUpdated : AccountPutOutcome::kCreated;
}

Result<void> SqlStore::DeletePlan(std::string_view name, std::string_view actor, TimePoint at) {
  // One write transaction: the check for accounts on the plan and the delete are atomic
  // against another node's delete; an account given the plan meanwhile finds it gone and
  // counts as on none (ResolveLimits).
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kWrite));
  MW_ASSIGN_OR_RETURN(const auto before, GetPlan(name));
  if (!before) return Fail(ErrorCode::kNotFound, fmt::format("There is no plan \"{}\".", name));
  MW_ASSIGN_OR_RETURN(const Rows count, session().Run(Sql::kCountPlanUsers, Params().Text(name)));
  const std::int64_t users = count.empty() ? 0 : count.Int(0, 0);
  if (users > 0) {
    constexpr int kNamed = 5;
    MW_ASSIGN_OR_RETURN(const Rows names,
                        session().Run(Sql::kSelectPlanUsers, Params().Text(name).Int(kNamed)));
    std::string listed;
    for (int i = 0; i < names.size(); ++i) {
      listed += fmt::format("{}\"{}\"", i == 0 ? "" : ", ", names.Text(i, 0));
    }
    return Fail(ErrorCode::kConflict,
                fmt::format("The plan \"{}\" is the plan of {} account{} ({}{}): give {} another "
                            "plan first.",
                            name, users, users == 1 ? "" : "s", listed,
                            users > kNamed ? ", ..." : "", users == 1 ? "it" : "them"));
  }
  const std::int64_t now_ms = ToUnixMillis(at);
  MW_RETURN_IF_ERROR(session().Run(Sql::kDeletePlan, Params().Text(name)));
  MW_ASSIGN_OR_RETURN(const AccountId system, SystemAccountForAudit(now_ms));
  const std::string_view active = AccountStateName(AccountState::kActive);
  MW_RETURN_IF_ERROR(session().Run(
      Sql::kInsertAudit,
      Params().Int(now_ms).Int(system).Text(actor).Text("DELETE").Text(active).Text(active).Text(
          fmt::format("plan \"{}\" deleted (it had: {})", name,
                      FormatLimitOverrides(before->limits)))));
  MW_RETURN_IF_ERROR(tx.Commit());
  return {};
}

}  // namespace mailwarden
