// SqlStore: sender identity, the accounts' domains and the domains' DKIM keys.
#include <fmt/format.h>

#include "core/local_day.h"
#include "core/name_table.h"
#include "core/sender_domain.h"
#include "store/sql/sql_store.h"

namespace mailwarden {
namespace {

constexpr NameTable<DkimAlgorithm, 2> kDkimAlgorithmNames = {{
    {DkimAlgorithm::kRsaSha256, "rsa"},
    {DkimAlgorithm::kEd25519Sha256, "ed25519"},
}};

DkimKey ReadKey(const Rows& rows, int i, std::string_view domain, int first_column) {
  DkimKey key;
  key.domain = std::string(domain);
  key.selector = rows.Text(i, first_column);
  key.algorithm =
      ParseDkimAlgorithm(rows.Text(i, first_column + 1)).value_or(DkimAlgorithm::kRsaSha256);
  key.private_key = rows.Text(i, first_column + 2);
  key.public_key = rows.Text(i, first_column + 3);
  key.created = FromUnixMillis(rows.Int(i, first_column + 4));
  return key;
}

}  // namespace

std::string_view DkimAlgorithmName(DkimAlgorithm algorithm) {
  return NameOf(kDkimAlgorithmNames, algorithm);
}

std::optional<DkimAlgorithm> ParseDkimAlgorithm(std::string_view name) {
  return LookupName(kDkimAlgorithmNames, name);
}

Result<void> SqlStore::AddDomain(AccountId account, std::string_view domain, TimePoint at) {
  // One write transaction: the account's row is read (it must exist and not be deleted) and
  // the domain inserted unless listed; the primary key keeps it to one account even when two
  // nodes add it at once (the second finds the first's row).
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kWrite));
  {
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        session().Run(Sql::kSelectAccountState, Params().Int(account)));
    if (rows.empty() || rows.Int(0, 4) > 0) {
      return Fail(ErrorCode::kNotFound, fmt::format("no account with id {}", account));
    }
  }
  MW_ASSIGN_OR_RETURN(
      const Rows inserted,
      session().Run(Sql::kInsertDomain, Params().Text(domain).Int(account).Int(ToUnixMillis(at))));
  if (inserted.Changed() == 0) {
    MW_ASSIGN_OR_RETURN(const Rows owner,
                        session().Run(Sql::kSelectDomainOwner, Params().Text(domain)));
    if (!owner.empty() && owner.Int(0, 0) != account) {
      return Fail(ErrorCode::kConflict,
                  fmt::format("The domain \"{}\" belongs to the account \"{}\".", domain,
                              owner.Text(0, 1)));
    }
  }
  MW_RETURN_IF_ERROR(tx.Commit());
  return {};
}

Result<void> SqlStore::RemoveDomain(AccountId account, std::string_view domain) {
  // One statement, so one transaction.
  MW_ASSIGN_OR_RETURN(const Rows rows,
                      session().Run(Sql::kDeleteDomain, Params().Int(account).Text(domain)));
  if (rows.Changed() == 0) {
    return Fail(ErrorCode::kNotFound,
                fmt::format("The account does not list the domain \"{}\".", domain));
  }
  return {};
}

Result<std::vector<std::string>> SqlStore::ListDomains(AccountId account) {
  MW_ASSIGN_OR_RETURN(const Rows rows, session().Run(Sql::kSelectDomains, Params().Int(account)));
  std::vector<std::string> domains;
  for (int i = 0; i < rows.size(); ++i) domains.push_back(rows.Text(i, 0));
  return domains;
}

Result<std::optional<DomainOwner>> SqlStore::FindDomainOwner(std::string_view name) {
  // No transaction: each candidate is one primary-key lookup, most specific first, and the
  // first listed answers.
  for (const std::string& candidate : DomainAndParents(name)) {
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        session().Run(Sql::kSelectDomainOwner, Params().Text(candidate)));
    if (!rows.empty()) {
      return std::optional<DomainOwner>(DomainOwner{
          .domain = candidate, .account = rows.Int(0, 0), .account_name = rows.Text(0, 1)});
    }
  }
  return std::optional<DomainOwner>();
}

Result<void> SqlStore::AddDkimKey(const DkimKey& key, bool retire_others) {
  // One write transaction: in a rotation the new key starts signing as the others stop, so
  // that a node reading the keys between never finds the domain without a signing key.
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kWrite));
  const std::int64_t now_ms = ToUnixMillis(key.created);
  MW_ASSIGN_OR_RETURN(const Rows inserted,
                      session().Run(Sql::kInsertDkimKey, Params()
                                                             .Text(key.domain)
                                                             .Text(key.selector)
                                                             .Text(DkimAlgorithmName(key.algorithm))
                                                             .Text(key.private_key)
                                                             .Text(key.public_key)
                                                             .Int(now_ms)));
  if (inserted.Changed() == 0) {
    return Fail(ErrorCode::kConflict, fmt::format("The domain \"{}\" has a key of selector \"{}\" "
                                                  "already.",
                                                  key.domain, key.selector));
  }
  if (retire_others) {
    MW_RETURN_IF_ERROR(session().Run(Sql::kRetireDkimKeys,
                                     Params().Text(key.domain).Int(now_ms).Text(key.selector)));
  }
  MW_RETURN_IF_ERROR(tx.Commit());
  return {};
}

Result<std::vector<DkimKey>> SqlStore::GetDkimKeys(std::string_view domain) {
  MW_ASSIGN_OR_RETURN(const Rows rows, session().Run(Sql::kSelectDkimKeys, Params().Text(domain)));
  std::vector<DkimKey> keys;
  for (int i = 0; i < rows.size(); ++i) {
    DkimKey key = ReadKey(rows, i, domain, 0);
    if (const std::int64_t retired = rows.Int(i, 5); retired > 0) {
      key.retired = FromUnixMillis(retired);
    }
    keys.push_back(std::move(key));
  }
  return keys;
}

Result<std::vector<DkimKey>> SqlStore::GetSigningKeys() {
  MW_ASSIGN_OR_RETURN(const Rows rows, session().Run(Sql::kSelectSigningKeys));
  std::vector<DkimKey> keys;
  for (int i = 0; i < rows.size(); ++i) {
    keys.push_back(ReadKey(rows, i, rows.Text(i, 0), 1));
    keys.back().owner = rows.Int(i, 6);
  }
  return keys;
}

Result<void> SqlStore::DeleteDkimKey(std::string_view domain, std::string_view selector) {
  MW_ASSIGN_OR_RETURN(const Rows rows,
                      session().Run(Sql::kDeleteDkimKey, Params().Text(domain).Text(selector)));
  if (rows.Changed() == 0) {
    return Fail(ErrorCode::kNotFound,
                fmt::format("The domain \"{}\" has no key of selector \"{}\".", domain, selector));
  }
  return {};
}

Result<void> SqlStore::CountSenderRefused(AccountId account, TimePoint at) {
  // One statement, so one transaction.
  MW_RETURN_IF_ERROR(session().Run(Sql::kBumpSenderChecks,
                                   Params().Int(account).Int(LocalDayNumber(at)).Int(0).Int(1)));
  return {};
}

Result<std::vector<SenderCheckDay>> SqlStore::GetSenderChecks(AccountId account, int first_day,
                                                              int last_day) {
  MW_ASSIGN_OR_RETURN(
      const Rows rows,
      session().Run(Sql::kSelectSenderChecks, Params().Int(account).Int(first_day).Int(last_day)));
  std::vector<SenderCheckDay> days;
  for (int i = 0; i < rows.size(); ++i) {
    days.push_back({.day = static_cast<int>(rows.Int(i, 0)),
                    .held = rows.Int(i, 1),
                    .refused = rows.Int(i, 2)});
  }
  return days;
}

}  // namespace mailwarden
