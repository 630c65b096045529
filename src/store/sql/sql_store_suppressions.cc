// SqlStore: suppressed recipients (policy.suppress_for; core/suppression.h).
#include <fmt/format.h>

#include "core/failure_category.h"
#include "core/suppression.h"
#include "store/sql/sql_store.h"

namespace mailwarden {
namespace {

// Row i of kSelectSuppressionPage.
Suppression ReadSuppression(const Rows& rows, int i) {
  Suppression s;
  s.address = rows.Text(i, 0);
  s.category = rows.Text(i, 1);
  s.status = rows.Text(i, 2);
  s.reply = rows.Text(i, 3);
  s.message = rows.Int(i, 4);
  s.at = FromUnixMillis(rows.Int(i, 5));
  s.until = FromUnixMillis(rows.Int(i, 6));
  return s;
}

}  // namespace

Result<std::optional<Suppression>> SqlStore::FindSuppression(AccountId account,
                                                             std::string_view address,
                                                             std::int64_t now_ms) {
  const std::pair<AccountId, std::string_view> one[] = {{account, address}};
  MW_ASSIGN_OR_RETURN(std::vector<std::optional<Suppression>> found, FindSuppressions(one, now_ms));
  return std::move(found[0]);
}

Result<std::vector<std::optional<Suppression>>> SqlStore::FindSuppressions(
    std::span<const std::pair<AccountId, std::string_view>> addresses, std::int64_t now_ms) {
  std::vector<std::pair<AccountId, std::string>> keys;
  for (const auto& [account, address] : addresses) {
    keys.emplace_back(account, SuppressionAddress(address));
  }
  MW_ASSIGN_OR_RETURN(const std::vector<Rows> all, SelectSuppressions(keys, now_ms));
  std::vector<std::optional<Suppression>> found(addresses.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    const Rows& rows = all[i];
    if (rows.empty()) continue;
    Suppression s;
    s.address = std::move(keys[i].second);
    s.category = rows.Text(0, 0);
    s.status = rows.Text(0, 1);
    s.reply = rows.Text(0, 2);
    s.message = rows.Int(0, 3);
    s.at = FromUnixMillis(rows.Int(0, 4));
    s.until = FromUnixMillis(rows.Int(0, 5));
    found[i] = std::move(s);
  }
  return found;
}

Result<void> SqlStore::SuppressRecipient(AccountId account, MessageId message,
                                         std::string_view address, std::string_view category,
                                         std::string_view reply, TimePoint now,
                                         Duration suppress_for) {
  if (suppress_for.count() <= 0 || !Suppresses(category)) return {};
  // The newest failure wins: a suppression lifted and failed again starts anew.
  MW_RETURN_IF_ERROR(
      session().Run(Sql::kPutSuppression, Params()
                                              .Int(account)
                                              .Text(SuppressionAddress(address))
                                              .Text(category)
                                              .Text(FindEnhancedStatus(reply))
                                              .Text(reply)
                                              .Int(message)
                                              .Int(ToUnixMillis(now))
                                              .Int(ToUnixMillis(now + suppress_for))));
  return {};
}

Result<std::vector<Suppression>> SqlStore::ListSuppressions(AccountId account, TimePoint now,
                                                            int limit, std::string_view after) {
  std::vector<Suppression> out;
  if (limit <= 0) return out;
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kRead));
  MW_ASSIGN_OR_RETURN(
      const Rows rows,
      session().Run(Sql::kSelectSuppressionPage,
                    Params().Int(account).Text(after).Int(ToUnixMillis(now)).Int(limit)));
  for (int i = 0; i < rows.size(); ++i) out.push_back(ReadSuppression(rows, i));
  MW_RETURN_IF_ERROR(tx.Commit());
  return out;
}

Result<void> SqlStore::DeleteSuppression(AccountId account, std::string_view address,
                                         std::string_view actor, TimePoint now) {
  // One write transaction: the suppression goes and its audit record comes together, so no
  // lifted suppression is without the record of who lifted it.
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kWrite));
  // The account's row first, as every writer takes it; its state goes into the record.
  MW_ASSIGN_OR_RETURN(const AccountState state, ReadAccountState(account, true));
  const std::string key = SuppressionAddress(address);
  const std::int64_t now_ms = ToUnixMillis(now);
  MW_ASSIGN_OR_RETURN(const auto held, FindSuppression(account, key, now_ms));
  if (!held) return Fail(ErrorCode::kNotFound, "no suppression of that address");
  MW_ASSIGN_OR_RETURN(const Rows rows, session().Run(Sql::kDeleteSuppression,
                                                     Params().Int(account).Text(key).Int(now_ms)));
  if (rows.Changed() == 0) return Fail(ErrorCode::kNotFound, "no suppression of that address");
  MW_RETURN_IF_ERROR(session().Run(
      Sql::kInsertAudit,
      Params()
          .Int(now_ms)
          .Int(account)
          .Text(actor)
          .Text("DELETE")
          .Text(AccountStateName(state))
          .Text(AccountStateName(state))
          .Text(fmt::format("suppression of <{}> deleted (it was {}{}{})", key, held->category,
                            held->status.empty() ? "" : " ", held->status))));
  MW_RETURN_IF_ERROR(tx.Commit());
  return {};
}

}  // namespace mailwarden
