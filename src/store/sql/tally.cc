#include "store/sql/tally.h"

#include <fmt/format.h>

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

Result<void> Tally::Flush() {
  for (const auto& [account, d] : accounts_) {
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        session_.Run(Sql::kBumpAccount, Params()
                                                            .Int(account)
                                                            .Int(d.pending)
                                                            .Int(d.released)
                                                            .Int(d.purge_left)
                                                            .Int(d.counters.submitted)
                                                            .Int(d.counters.sent)
                                                            .Int(d.counters.errors)
                                                            .Int(d.counters.expired)
                                                            .Int(d.counters.purged)
                                                            .Int(d.pending_bytes)));
    if (rows.Changed() == 0) {
      return Fail(ErrorCode::kNotFound, fmt::format("no account with id {}", account));
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
