#include "store/sql/tally.h"

#include <fmt/format.h>

#include <vector>

namespace mailwarden {

Result<void> Tally::EndMessage(AccountId account, MessageId id, std::int64_t size, bool marked) {
  AccountDelta& delta = accounts_[account];
  --delta.pending;
  delta.pending_bytes -= size;
  if (!marked) return {};
  MW_ASSIGN_OR_RETURN(const Rows rows,
                      session_.Run(Sql::kForgetReleased, Params().Int(account).Int(id)));
  delta.released -= rows.Changed();
  return {};
}

void Tally::EndMessages(std::span<const Ending> endings) {
  for (const Ending& e : endings) {
    AccountDelta& delta = accounts_[e.account];
    --delta.pending;
    delta.pending_bytes -= e.size;
    delta.released -= e.forgotten;
  }
}

Result<void> Tally::Flush() {
  // In account order, as every writer takes the rows' locks.
  std::vector<SqlSession::Statement> bumps;
  std::vector<AccountId> of;
  for (const auto& [account, d] : accounts_) {
    bumps.push_back({Sql::kBumpAccount, Params()
                                            .Int(account)
                                            .Int(d.pending)
                                            .Int(d.released)
                                            .Int(d.purge_left)
                                            .Int(d.counters.submitted)
                                            .Int(d.counters.sent)
                                            .Int(d.counters.errors)
                                            .Int(d.counters.expired)
                                            .Int(d.counters.purged)
                                            .Int(d.pending_bytes)});
    of.push_back(account);
  }
  MW_ASSIGN_OR_RETURN(const std::vector<Rows> bumped, session_.RunAll(bumps));
  for (std::size_t i = 0; i < of.size(); ++i) {
    if (bumped[i].Changed() == 0) {
      return Fail(ErrorCode::kNotFound, fmt::format("no account with id {}", of[i]));
    }
  }
  for (const auto& [key, d] : days_) {
    MW_RETURN_IF_ERROR(session_.Queue(Sql::kBumpDay, Params()
                                                         .Int(key.first)
                                                         .Int(key.second)
                                                         .Int(d.submitted)
                                                         .Int(d.sent)
                                                         .Int(d.errors)
                                                         .Int(d.expired)
                                                         .Int(d.purged)));
  }
  accounts_.clear();
  days_.clear();
  return {};
}

}  // namespace mailwarden
