// SqlStore: the fleet summary of the operator's overview (its nodes, the accounts per state,
// the latest guard blocks, the busiest accounts).
#include <algorithm>

#include "store/sql/sql_store.h"

namespace mailwarden {

Result<void> SqlStore::RecordNodeSeen(const NodeSeen& node) {
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kWrite));
  MW_RETURN_IF_ERROR(session().Run(Sql::kPutNode, Params()
                                                      .Text(node.name)
                                                      .Text(node.version)
                                                      .Int(ToUnixMillis(node.started_at))
                                                      .Int(ToUnixMillis(node.seen_at))));
  return tx.Commit();
}

Result<FleetSummary> SqlStore::GetFleetSummary(const FleetQuery& query) {
  FleetSummary summary;
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kRead));
  std::int64_t not_active = 0;
  {
    MW_ASSIGN_OR_RETURN(const Rows rows, session().Run(Sql::kCountAccountStates));
    for (int i = 0; i < rows.size(); ++i) {
      const std::string state = rows.Text(i, 0);
      const std::string blocker = rows.Text(i, 1);
      const std::int64_t n = rows.Int(i, 2);
      auto add = [n](std::vector<std::pair<std::string, std::int64_t>>& totals,
                     const std::string& key) {
        auto it = std::ranges::find(totals, key, &std::pair<std::string, std::int64_t>::first);
        if (it == totals.end()) {
          totals.emplace_back(key, n);
        } else {
          it->second += n;
        }
      };
      add(summary.states, state);
      if (!blocker.empty()) add(summary.blocked_by, blocker);
      not_active += n;
    }
    MW_ASSIGN_OR_RETURN(const Rows all, session().Run(Sql::kCountAccounts));
    const std::int64_t active = all.empty() ? 0 : all.Int(0, 0) - not_active;
    if (active > 0) summary.states.insert(summary.states.begin(), {"active", active});
  }
  {
    MW_ASSIGN_OR_RETURN(
        const Rows rows,
        session().Run(Sql::kSelectGuardBlocks, Params()
                                                   .Int(ToUnixMillis(query.blocks_since))
                                                   .Int(std::clamp(query.blocks_limit, 1, 1000))));
    for (int i = 0; i < rows.size(); ++i) {
      summary.guard_blocks.push_back(GuardBlock{.at = FromUnixMillis(rows.Int(i, 0)),
                                                .account = rows.Text(i, 1),
                                                .guard = rows.Text(i, 2),
                                                .reason = rows.Text(i, 3),
                                                .still_blocked = rows.Int(i, 4) != 0});
    }
  }
  {
    MW_ASSIGN_OR_RETURN(
        const Rows rows,
        session().Run(
            Sql::kSelectBusyAccounts,
            Params().Int(query.busy_from_hour).Int(std::clamp(query.busiest_limit, 1, 1000))));
    for (int i = 0; i < rows.size(); ++i) {
      summary.busiest.push_back(
          BusyAccount{.account = rows.Text(i, 0), .submitted = rows.Int(i, 1)});
    }
  }
  {
    MW_ASSIGN_OR_RETURN(const Rows rows, session().Run(Sql::kSelectNodes));
    for (int i = 0; i < rows.size(); ++i) {
      summary.nodes.push_back(NodeSeen{.name = rows.Text(i, 0),
                                       .version = rows.Text(i, 1),
                                       .started_at = FromUnixMillis(rows.Int(i, 2)),
                                       .seen_at = FromUnixMillis(rows.Int(i, 3))});
    }
  }
  MW_RETURN_IF_ERROR(tx.Commit());
  return summary;
}

}  // namespace mailwarden
