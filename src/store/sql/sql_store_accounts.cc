// SqlStore: accounts, their state and audit, tokens and SMTP passwords.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/event_types.h"
#include "core/local_day.h"
#include "store/sql/row_readers.h"
#include "store/sql/sql_store.h"

namespace mailwarden {

Result<AccountId> SqlStore::UpsertAccount(const AccountSpec& spec) {
  if (spec.name.empty()) return Fail(ErrorCode::kInvalidInput, "account name is empty");
  // Store has no clock here; the creation time is only the new account's first `since`.
  const std::int64_t now = ToUnixMillis(std::chrono::system_clock::now());
  // One write transaction: the account and its uids change together, and a uid moving from
  // another account is never seen belonging to both or to neither.
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kWrite));
  MW_ASSIGN_OR_RETURN(const AccountId id, UpsertAccountRow(spec, now));
  MW_RETURN_IF_ERROR(session().Run(Sql::kDeleteAccountUids, Params().Int(id)));
  // In uid order: two nodes applying configurations that move uids take their locks alike.
  std::vector<Uid> uids = spec.uids;
  std::sort(uids.begin(), uids.end());
  for (const Uid uid : uids) {
    MW_RETURN_IF_ERROR(session().Run(Sql::kPutAccountUid, Params().Int(uid).Int(id)));
  }
  MW_RETURN_IF_ERROR(tx.Commit());
  return id;
}

Result<std::optional<Account>> SqlStore::FindAccount(std::string_view name) {
  // A read transaction: the account row and its uids from one snapshot.
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kRead));
  MW_ASSIGN_OR_RETURN(const Rows rows,
                      session().Run(Sql::kSelectAccountIdByName, Params().Text(name)));
  if (rows.empty()) return std::optional<Account>();
  MW_ASSIGN_OR_RETURN(auto account, ReadOneAccount(rows.Int(0, 0)));
  MW_RETURN_IF_ERROR(tx.Commit());
  return account;
}

Result<std::optional<Account>> SqlStore::GetAccount(AccountId id) {
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kRead));
  MW_ASSIGN_OR_RETURN(auto account, ReadOneAccount(id));
  MW_RETURN_IF_ERROR(tx.Commit());
  return account;
}

Result<std::optional<Account>> SqlStore::FindAccountByUid(Uid uid) {
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kRead));
  MW_ASSIGN_OR_RETURN(const Rows rows,
                      session().Run(Sql::kSelectAccountIdByUid, Params().Int(uid)));
  if (rows.empty()) return std::optional<Account>();
  MW_ASSIGN_OR_RETURN(auto account, ReadOneAccount(rows.Int(0, 0)));
  MW_RETURN_IF_ERROR(tx.Commit());
  return account;
}

Result<std::vector<Account>> SqlStore::ListAccounts() {
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kRead));
  std::vector<Account> accounts;
  {
    MW_ASSIGN_OR_RETURN(const Rows rows, session().Run(Sql::kSelectAllAccounts));
    accounts.reserve(static_cast<std::size_t>(rows.size()));
    for (int i = 0; i < rows.size(); ++i) {
      MW_ASSIGN_OR_RETURN(auto account, ReadAccount(rows, i));
      accounts.push_back(std::move(account));
    }
  }
  // Both lists are in id order: one pass joins them, with no query per account.
  MW_ASSIGN_OR_RETURN(const Rows rows, session().Run(Sql::kSelectAllAccountUids));
  auto next = accounts.begin();
  for (int i = 0; i < rows.size(); ++i) {
    const AccountId id = rows.Int(i, 0);
    while (next != accounts.end() && next->id < id) ++next;
    if (next != accounts.end() && next->id == id) {
      next->uids.push_back(static_cast<Uid>(rows.Int(i, 1)));
    }
  }
  MW_RETURN_IF_ERROR(tx.Commit());
  return accounts;
}

namespace {

// The statement of a page of the overview in `order` (by name: with the name's pattern apart
// when there is one, so that PostgreSQL's trigram index can serve it).
Sql AccountPageStatement(AccountOrder order, bool name_pattern) {
  switch (order) {
    case AccountOrder::kName:
      return name_pattern ? Sql::kSelectAccountPageByNameLike : Sql::kSelectAccountPageByName;
    case AccountOrder::kSentToday:
      return Sql::kSelectAccountPageBySent;
    case AccountOrder::kErrorsToday:
      return Sql::kSelectAccountPageByErrors;
    case AccountOrder::kPending:
      return Sql::kSelectAccountPageByPending;
    case AccountOrder::kComplaintsToday:
      return Sql::kSelectAccountPageByComplaints;
    case AccountOrder::kQuarantinedToday:
      return Sql::kSelectAccountPageByQuarantined;
    case AccountOrder::kErrorRate:
      return Sql::kSelectAccountPageByErrorRate;
    case AccountOrder::kHeld:
      return Sql::kSelectAccountPageByHeld;
    case AccountOrder::kQueued:
      return Sql::kSelectAccountPageByQueued;
    case AccountOrder::kSubmittedRecently:
      return Sql::kSelectAccountPageByRecent;
  }
  return Sql::kSelectAccountPageByName;
}

}  // namespace

Result<std::vector<AccountPageEntry>> SqlStore::ListAccountPage(const AccountPageQuery& query) {
  const Sql sql = AccountPageStatement(query.order, !query.name_contains.empty());
  // '_' is a LIKE wildcard, escaped with '!' (no name holds one); the other characters of a
  // name stand for themselves.
  std::string pattern;
  if (!query.name_contains.empty()) {
    pattern = "%";
    for (char c : query.name_contains) {
      if (c == '_' || c == '%' || c == '!') pattern += '!';
      pattern += c;
    }
    pattern += '%';
  }
  // Past the end of every order: the first page.
  constexpr std::int64_t kFirst = std::numeric_limits<std::int64_t>::max();
  Params params;
  params.Int(query.day);
  if (query.order == AccountOrder::kName) {
    params.Text(query.after ? query.after->name : "");
  } else {
    params.Int(query.after ? query.after->value : kFirst);
  }
  params.Text(query.state ? AccountStateName(*query.state) : "")
      .Text(query.blocked_by ? BlockedByName(*query.blocked_by) : "")
      .Text(pattern)
      .Int(std::clamp(query.limit, 1, 1000));
  if (query.order != AccountOrder::kName) params.Int(query.after ? query.after->id : kFirst);
  // The recent hours' figure orders the page and fills each entry: from one hour for both.
  const bool by_recent = query.order == AccountOrder::kSubmittedRecently;
  if (by_recent) params.Int(query.recent_from_hour);

  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kRead));
  std::vector<AccountPageEntry> page;
  {
    MW_ASSIGN_OR_RETURN(const Rows rows, session().Run(sql, params));
    page.reserve(static_cast<std::size_t>(rows.size()));
    for (int i = 0; i < rows.size(); ++i) {
      AccountPageEntry entry;
      MW_ASSIGN_OR_RETURN(entry.account, ReadAccount(rows, i));
      const int next = kAccountColumnCount;
      const std::int64_t released = rows.Int(i, next);
      const std::int64_t pending = entry.account.pending;
      // As GetCounters: released mail of an account blocked again is queued, not held.
      entry.queued =
          entry.account.state == AccountState::kActive ? pending : std::min(released, pending);
      entry.held = pending - entry.queued;
      entry.sent_today = rows.Int(i, next + 1);
      entry.errors_today = rows.Int(i, next + 2);
      entry.quarantined_today = rows.Int(i, next + 3);
      entry.complaints_today = rows.Int(i, next + 4);
      page.push_back(std::move(entry));
    }
  }
  // A page is at most 1,000 accounts: their uids by the account's index.
  for (AccountPageEntry& entry : page) {
    MW_ASSIGN_OR_RETURN(const Rows uids,
                        session().Run(Sql::kSelectAccountUids, Params().Int(entry.account.id)));
    for (int i = 0; i < uids.size(); ++i) {
      entry.account.uids.push_back(static_cast<Uid>(uids.Int(i, 0)));
    }
    if (query.recent_from_hour > 0 || by_recent) {
      // A range of the sources' primary key: the account's recent hours of one kind.
      MW_ASSIGN_OR_RETURN(
          const Rows recent,
          session().Run(Sql::kSelectSubmittedSince,
                        Params().Int(entry.account.id).Int(query.recent_from_hour)));
      entry.submitted_recently = recent.empty() ? 0 : recent.Int(0, 0);
    }
  }
  MW_RETURN_IF_ERROR(tx.Commit());
  return page;
}

namespace {

// The events a state change causes: a block (and, by a guard, the guard's trip), a lift, a
// purge with what it removed.
std::vector<NewEvent> EventsOf(const AccountStateChange& change, std::int64_t purged) {
  std::vector<NewEvent> events;
  auto add = [&](std::string_view type, nlohmann::json data) {
    data["version"] = kEventSchemaVersion;
    events.push_back(
        NewEvent{.type = std::string(type),
                 .account = change.account,
                 .data = data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                 .at = change.at});
  };
  if (change.to == AccountState::kBlocked && change.from == AccountState::kActive) {
    add("account.blocked", {{"blocked_by", BlockedByName(change.blocked_by)},
                            {"reason", change.reason},
                            {"actor", change.actor}});
    if (change.blocked_by == BlockedBy::kSpamGuard ||
        change.blocked_by == BlockedBy::kBounceGuard ||
        change.blocked_by == BlockedBy::kComplaintGuard) {
      add("guard.tripped",
          {{"guard", BlockedByName(change.blocked_by)}, {"reason", change.reason}});
    }
  }
  if (change.start_purge) {
    add("account.purged", {{"purged", purged}, {"actor", change.actor}});
  }
  if (change.to == AccountState::kActive && change.from != AccountState::kActive) {
    add("account.unblocked", {{"from", AccountStateName(change.from)},
                              {"blocked_by", BlockedByName(change.from_blocked_by)},
                              {"actor", change.actor},
                              {"action", change.action}});
  }
  return events;
}

}  // namespace

Result<void> SqlStore::SetAccountState(const AccountStateChange& change) {
  // One write transaction: the compare (state = from), the set, the watermark and the audit
  // record are atomic against every other store, on this node or another. A transition is
  // never without its audit record, nor a record without its transition. On PostgreSQL at
  // READ COMMITTED a second node's UPDATE waits for the first's row lock, then re-checks the
  // state the first one wrote.
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kWrite));
  MW_RETURN_IF_ERROR(ApplyAccountState(change));
  MW_RETURN_IF_ERROR(tx.Commit());
  return {};
}

Result<void> SqlStore::ApplyAccountState(const AccountStateChange& change) {
  {
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        session().Run(Sql::kSetAccountStateFull,
                                      Params()
                                          .Int(change.account)
                                          .Text(AccountStateName(change.to))
                                          .Text(BlockedByName(change.blocked_by))
                                          .Text(change.reason)
                                          .Int(ToUnixMillis(change.at))
                                          .Text(AccountStateName(change.from))
                                          .Int(ToUnixMillis(change.bounce_tolerance_until))
                                          .Text(BlockedByName(change.from_blocked_by))
                                          .Int(ToUnixMillis(change.complaint_tolerance_until))));
    if (rows.Changed() != 1) {
      // Nothing changed: say why, from the same snapshot.
      MW_ASSIGN_OR_RETURN(const auto now, ReadOneAccount(change.account));
      if (!now) {
        return Fail(ErrorCode::kNotFound, fmt::format("no account with id {}", change.account));
      }
      return Fail(ErrorCode::kConflict,
                  fmt::format("The account's state changed meanwhile: it is {} now{}{}.",
                              AccountStateName(now->state),
                              now->blocked_by == BlockedBy::kNone ? "" : ", blocked by ",
                              BlockedByName(now->blocked_by)));
    }
  }
  if (change.to == AccountState::kActive) {
    // Everything unfinished goes out now: released marks mean nothing any more, and must not
    // let mail through a later block.
    for (const Sql sql : {Sql::kClearReleased, Sql::kZeroReleasedPending}) {
      MW_RETURN_IF_ERROR(session().Run(sql, Params().Int(change.account)));
    }
  }
  std::int64_t purged = 0;
  if (change.start_purge) {
    MW_ASSIGN_OR_RETURN(purged, StartPurge(change.account, change.at));
  }
  // The transition's events commit with it (docs/webhooks.md).
  for (const NewEvent& event : EventsOf(change, purged)) MW_RETURN_IF_ERROR(WriteEvent(event));
  MW_RETURN_IF_ERROR(
      session().Run(Sql::kInsertAudit,
                    Params()
                        .Int(ToUnixMillis(change.at))
                        .Int(change.account)
                        .Text(change.actor)
                        .Text(change.action)
                        .Text(AccountStateName(change.from))
                        .Text(AccountStateName(change.to))
                        .Text(change.audit_text.empty() ? std::string_view(change.reason)
                                                        : std::string_view(change.audit_text))));
  MW_RETURN_IF_ERROR(Notify("state", change.account));
  return {};
}

Result<std::int64_t> SqlStore::StartPurge(AccountId account, TimePoint at) {
  // The purge itself: O(1) however much is held. The rows go later (PurgeBatch).
  MW_ASSIGN_OR_RETURN(const Rows before,
                      session().Run(Sql::kSelectCounters, Params().Int(account)));
  const std::int64_t purged_before = before.empty() ? 0 : before.Int(0, 7);
  MW_ASSIGN_OR_RETURN(const Rows rows, session().Run(Sql::kSetPurgeWatermark,
                                                     Params().Int(account).Int(purged_before)));
  const std::int64_t purged = rows.empty() ? 0 : rows.Int(0, 0);
  MW_RETURN_IF_ERROR(session().Run(Sql::kClearReleased, Params().Int(account)));
  if (purged > 0) {
    MW_RETURN_IF_ERROR(session().Run(
        Sql::kBumpDay,
        Params().Int(account).Int(LocalDayNumber(at)).Int(0).Int(0).Int(0).Int(0).Int(purged)));
  }
  return purged;
}

Result<std::vector<AccountId>> SqlStore::AccountsInState(AccountState state) {
  std::vector<AccountId> ids;
  MW_ASSIGN_OR_RETURN(
      const Rows rows,
      session().Run(
          Sql::kSelectAccountsInState,
          Params().Text(AccountStateName(state)).Int(state == AccountState::kActive ? 1 : 0)));
  for (int i = 0; i < rows.size(); ++i) ids.push_back(rows.Int(i, 0));
  return ids;
}

Result<std::vector<AuditRecord>> SqlStore::ListAudit(std::optional<AccountId> account, int limit,
                                                     std::int64_t before_id) {
  std::vector<AuditRecord> records;
  if (limit <= 0) return records;
  Params params;
  params.Int(before_id > 0 ? before_id : std::numeric_limits<std::int64_t>::max()).Int(limit);
  if (account) params.Int(*account);
  MW_ASSIGN_OR_RETURN(
      const Rows rows,
      session().Run(account ? Sql::kSelectAuditOfAccount : Sql::kSelectAudit, params));
  for (int i = 0; i < rows.size(); ++i) {
    AuditRecord r;
    r.id = rows.Int(i, 0);
    r.at = FromUnixMillis(rows.Int(i, 1));
    r.account_name = rows.Text(i, 2);
    r.actor = rows.Text(i, 3);
    r.action = rows.Text(i, 4);
    const auto from = ParseAccountState(rows.Text(i, 5));
    const auto to = ParseAccountState(rows.Text(i, 6));
    if (!from || !to) {
      return Fail(ErrorCode::kInternal, fmt::format("store: audit record {} states", r.id));
    }
    r.from = *from;
    r.to = *to;
    r.reason = rows.Text(i, 7);
    records.push_back(std::move(r));
  }
  return records;
}

Result<void> SqlStore::AddToken(AccountId account, std::string_view token_hash, TimePoint now,
                                std::optional<TimePoint> expires) {
  if (token_hash.size() < kTokenIdChars) {
    return Fail(ErrorCode::kInvalidInput, "token hash is too short");
  }
  // The foreign key refuses an unknown account; the read says so clearly first.
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kWrite));
  MW_RETURN_IF_ERROR(ReadAccountState(account, false));
  // expires_ms 0: never (a time before 1970 is no expiry anyone asks for).
  MW_RETURN_IF_ERROR(
      session().Run(Sql::kInsertToken,
                    Params()
                        .Text(token_hash)
                        .Int(account)
                        .Int(ToUnixMillis(now))
                        .Int(expires ? std::max<std::int64_t>(ToUnixMillis(*expires), 1) : 0)));
  MW_RETURN_IF_ERROR(tx.Commit());
  return {};
}

Result<std::vector<TokenInfo>> SqlStore::ListTokens(AccountId account) {
  std::vector<TokenInfo> tokens;
  MW_ASSIGN_OR_RETURN(const Rows rows, session().Run(Sql::kSelectTokens, Params().Int(account)));
  for (int i = 0; i < rows.size(); ++i) {
    TokenInfo t;
    t.id = rows.Text(i, 0);
    t.created = FromUnixMillis(rows.Int(i, 1));
    if (const std::int64_t expires = rows.Int(i, 2); expires > 0) {
      t.expires = FromUnixMillis(expires);
    }
    tokens.push_back(std::move(t));
  }
  return tokens;
}

Result<void> SqlStore::RevokeToken(AccountId account, std::string_view id) {
  // One statement, so one transaction. An id that is not kTokenIdChars long names none.
  if (id.size() != kTokenIdChars) {
    return Fail(ErrorCode::kNotFound, "This account has no such token.");
  }
  MW_ASSIGN_OR_RETURN(const Rows rows,
                      session().Run(Sql::kDeleteToken, Params().Int(account).Text(id)));
  if (rows.Changed() == 0) return Fail(ErrorCode::kNotFound, "This account has no such token.");
  return {};
}

Result<std::optional<Account>> SqlStore::FindAccountByToken(std::string_view token_hash,
                                                            TimePoint now) {
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kRead));
  MW_ASSIGN_OR_RETURN(const Rows rows,
                      session().Run(Sql::kSelectAccountIdByToken,
                                    Params().Text(token_hash).Int(ToUnixMillis(now))));
  if (rows.empty()) return std::optional<Account>();
  MW_ASSIGN_OR_RETURN(auto account, ReadOneAccount(rows.Int(0, 0)));
  MW_RETURN_IF_ERROR(tx.Commit());
  return account;
}

Result<void> SqlStore::SetSmtpPassword(AccountId account, std::string_view password_hash) {
  // One statement, so one transaction.
  MW_ASSIGN_OR_RETURN(const Rows rows, session().Run(Sql::kSetSmtpPassword,
                                                     Params().Int(account).Text(password_hash)));
  if (rows.Changed() == 0) {
    return Fail(ErrorCode::kNotFound, fmt::format("no account with id {}", account));
  }
  return {};
}

Result<std::optional<std::string>> SqlStore::GetSmtpPasswordHash(std::string_view account_name) {
  // No transaction: the name's account never changes.
  MW_ASSIGN_OR_RETURN(const Rows ids,
                      session().Run(Sql::kSelectAccountIdByName, Params().Text(account_name)));
  if (ids.empty()) return std::optional<std::string>();
  MW_ASSIGN_OR_RETURN(const Rows rows,
                      session().Run(Sql::kSelectSmtpPassword, Params().Int(ids.Int(0, 0))));
  if (rows.empty() || rows.IsNull(0, 0)) return std::optional<std::string>();
  return std::optional<std::string>(rows.Text(0, 0));
}

}  // namespace mailwarden
