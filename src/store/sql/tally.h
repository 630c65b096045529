// Tally: what a write transaction changes in the accounts' counters, gathered while it runs
// and written at its end (Flush): one UPDATE per account (sent together: on PostgreSQL one
// round trip for all) and one upsert per account and day, however many messages the
// transaction touched, as increments (n = n + delta) in account
// order, so that concurrent writers add up exactly and take the rows' locks in one order.
// Counters are never recomputed by counting rows, so they must change in the very transaction
// that changes the messages.
#pragma once

#include <map>
#include <span>
#include <utility>

#include "core/result.h"
#include "core/types.h"
#include "store/sql/sql_session.h"
#include "store/store_common.h"

namespace mailwarden {

class Tally {
 public:
  explicit Tally(SqlSession& session) : session_(session) {}

  AccountDelta& Of(AccountId account) { return accounts_[account]; }

  void Count(AccountId account, int day, const CounterDelta& d) {
    accounts_[account].counters.Add(d);
    days_[{account, day}].Add(d);
  }

  // An unfinished message of the account, not purged, ends (finished or about to be deleted):
  // it leaves pending (and its size pending_bytes) and loses its released mark. marked:
  // whether it may have one (false when the account has no released mail: nothing to delete).
  Result<void> EndMessage(AccountId account, MessageId id, std::int64_t size, bool marked = true);

  // Messages ending as EndMessage's, whose released marks the caller deleted already (all
  // of a batch's by one statement: SqlStore::ForgetReleased); forgotten: how many of each.
  struct Ending {
    AccountId account = 0;
    std::int64_t size = 0;
    std::int64_t forgotten = 0;
  };
  void EndMessages(std::span<const Ending> endings);

  // Writes the gathered changes. kNotFound if an account does not exist.
  Result<void> Flush();

 private:
  SqlSession& session_;
  std::map<AccountId, AccountDelta> accounts_;
  std::map<std::pair<AccountId, int>, CounterDelta> days_;
};

}  // namespace mailwarden
