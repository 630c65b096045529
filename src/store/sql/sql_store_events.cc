// SqlStore: plans and limits of accounts, notices, and the event outbox (docs/webhooks.md).
#include <fmt/format.h>

#include <algorithm>

#include "core/local_day.h"
#include "store/sql/sql_store.h"
#include "store/sql/tally.h"
#include "store/store_common.h"

namespace mailwarden {

Result<void> SqlStore::SetAccountLimits(const AccountLimits& limits) {
  // One statement: the row is replaced whole, so the plan and the overrides change together.
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kWrite));
  MW_RETURN_IF_ERROR(ReadAccountState(limits.account, false));
  MW_RETURN_IF_ERROR(session().Run(
      Sql::kPutAccountLimits,
      Params().Int(limits.account).Text(limits.plan).Text(FormatLimitOverrides(limits.limits))));
  MW_RETURN_IF_ERROR(tx.Commit());
  return {};
}

namespace {

Result<AccountLimits> LimitsOfRow(AccountId account, const std::string& plan,
                                  const std::string& text) {
  AccountLimits out;
  out.account = account;
  out.plan = plan;
  // Written by FormatLimitOverrides: a row it cannot read back is a bug, not bad input.
  auto parsed = ParseLimitOverrides(text);
  if (!parsed) {
    return Fail(ErrorCode::kInternal, fmt::format("store: account {}'s limits cannot be read: {}",
                                                  account, parsed.error().message));
  }
  out.limits = *parsed;
  return out;
}

}  // namespace

Result<AccountLimits> SqlStore::GetAccountLimits(AccountId account) {
  MW_ASSIGN_OR_RETURN(const Rows rows,
                      session().Run(Sql::kSelectAccountLimits, Params().Int(account)));
  if (rows.empty()) return AccountLimits{.account = account};
  return LimitsOfRow(account, rows.Text(0, 0), rows.Text(0, 1));
}

Result<std::vector<AccountLimits>> SqlStore::ListAccountLimits() {
  MW_ASSIGN_OR_RETURN(const Rows rows, session().Run(Sql::kSelectAllAccountLimits));
  std::vector<AccountLimits> out;
  for (int i = 0; i < rows.size(); ++i) {
    MW_ASSIGN_OR_RETURN(AccountLimits l,
                        LimitsOfRow(rows.Int(i, 0), rows.Text(i, 1), rows.Text(i, 2)));
    out.push_back(std::move(l));
  }
  return out;
}

Result<std::vector<AccountId>> SqlStore::ListAccountsWithQuotaBelow(std::int64_t limit) {
  MW_ASSIGN_OR_RETURN(const Rows rows,
                      session().Run(Sql::kSelectAccountsWithQuotaBelow, Params().Int(limit)));
  std::vector<AccountId> out;
  out.reserve(static_cast<std::size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) out.push_back(rows.Int(i, 0));
  return out;
}

Result<void> SqlStore::WriteEvent(const NewEvent& event) {
  MW_ASSIGN_OR_RETURN(const Rows rows,
                      session().Run(Sql::kInsertEvent, Params()
                                                           .Int(event.account)
                                                           .Text(event.type)
                                                           .Int(ToUnixMillis(event.at))
                                                           .Text(event.data)));
  if (rows.Changed() != 1) {
    return Fail(ErrorCode::kNotFound, fmt::format("no account with id {}", event.account));
  }
  return {};
}

Result<void> SqlStore::AddEvent(const NewEvent& event) {
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kWrite));
  MW_RETURN_IF_ERROR(WriteEvent(event));
  MW_RETURN_IF_ERROR(tx.Commit());
  return {};
}

Result<bool> SqlStore::ClaimNotice(AccountId account, int day, std::string_view kind,
                                   const NewEvent& event,
                                   const std::optional<NewMessage>& message) {
  // As ClaimReport: the claim's unique key makes a second claimer, on any node, wait for the
  // first's commit and then write nothing; the event and the notice commit with the claim.
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kWrite));
  MW_RETURN_IF_ERROR(ReadAccountState(account, false));
  {
    MW_ASSIGN_OR_RETURN(const Rows rows, session().Run(Sql::kInsertNotice,
                                                       Params().Int(account).Int(day).Text(kind)));
    if (rows.Changed() == 0) return false;
  }
  MW_RETURN_IF_ERROR(WriteEvent(event));
  if (message && !message->recipients.empty()) {
    Tally tally(session());
    tally.Of(message->account).pending += 1;
    tally.Of(message->account).pending_bytes += static_cast<std::int64_t>(message->body.size());
    tally.Count(message->account, LocalDayNumber(message->received_at), {.submitted = 1});
    MW_RETURN_IF_ERROR(tally.Flush());
    MW_RETURN_IF_ERROR(InsertMessageWithRecipients(*message, std::nullopt, {}));
    MW_RETURN_IF_ERROR(Notify("mail", message->account));
  }
  MW_RETURN_IF_ERROR(tx.Commit());
  return true;
}

Result<std::vector<OutboxEvent>> SqlStore::ClaimEvents(std::string_view node, TimePoint now,
                                                       TimePoint lease_until, int limit) {
  std::vector<OutboxEvent> out;
  if (limit <= 0) return out;
  const std::int64_t now_ms = ToUnixMillis(now);
  // kNoSync, as a delivery's lease: a lease lost in a power cut leaves the event due again,
  // and it is sent again (at least once; the receiver drops a repeat by its id).
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kNoSync));
  MW_ASSIGN_OR_RETURN(const Rows heads,
                      session().Run(Sql::kSelectEventHeads, Params().Int(now_ms).Int(limit)));
  for (int i = 0; i < heads.size(); ++i) {
    const AccountId account = heads.Int(i, 0);
    const std::int64_t id = heads.Int(i, 1);
    MW_ASSIGN_OR_RETURN(
        const Rows leased,
        session().Run(
            Sql::kLeaseEvent,
            Params().Int(account).Int(id).Text(node).Int(ToUnixMillis(lease_until)).Int(now_ms)));
    if (leased.Changed() != 1) continue;  // another node leased it first
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        session().Run(Sql::kSelectEvent, Params().Int(account).Int(id)));
    if (rows.empty()) continue;
    OutboxEvent& e = out.emplace_back();
    e.id = id;
    e.account = account;
    e.account_name = rows.Text(0, 0);
    e.type = rows.Text(0, 1);
    e.at = FromUnixMillis(rows.Int(0, 2));
    e.data = rows.Text(0, 3);
    e.attempts = static_cast<int>(rows.Int(0, 4)) - 1;
    e.sent_to = rows.Text(0, 5);
  }
  MW_RETURN_IF_ERROR(tx.Commit());
  return out;
}

Result<void> SqlStore::RecordEventAttempt(const EventAttempt& attempt) {
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kWrite));
  MW_ASSIGN_OR_RETURN(
      const Rows rows,
      session().Run(Sql::kSelectEvent, Params().Int(attempt.account).Int(attempt.event)));
  const std::string name = rows.empty() ? std::string() : rows.Text(0, 0);
  const std::string type = rows.empty() ? std::string() : rows.Text(0, 1);
  if (attempt.finished) {
    MW_RETURN_IF_ERROR(session().Run(
        Sql::kFinishEvent, Params().Int(attempt.account).Int(attempt.event).Text(attempt.node)));
  } else {
    MW_RETURN_IF_ERROR(session().Run(Sql::kRetryEvent, Params()
                                                           .Int(attempt.account)
                                                           .Int(attempt.event)
                                                           .Text(attempt.node)
                                                           .Int(ToUnixMillis(attempt.next_attempt))
                                                           .Text(attempt.sent_to)));
  }
  for (const EventAttempt::Try& t : attempt.tries) {
    MW_RETURN_IF_ERROR(session().Run(Sql::kInsertEventAttempt, Params()
                                                                   .Int(ToUnixMillis(attempt.at))
                                                                   .Int(attempt.event)
                                                                   .Text(name)
                                                                   .Text(type)
                                                                   .Text(t.url)
                                                                   .Text(attempt.node)
                                                                   .Int(t.status)
                                                                   .Text(t.reply)));
  }
  if (!attempt.tries.empty()) {
    MW_RETURN_IF_ERROR(session().Run(Sql::kPruneEventAttempts, Params().Int(kEventAttemptsKept)));
  }
  MW_RETURN_IF_ERROR(tx.Commit());
  return {};
}

Result<std::vector<EventAttemptRecord>> SqlStore::ListEventAttempts(int limit) {
  MW_ASSIGN_OR_RETURN(const Rows rows,
                      session().Run(Sql::kSelectEventAttempts, Params().Int(std::max(limit, 0))));
  std::vector<EventAttemptRecord> out;
  for (int i = 0; i < rows.size(); ++i) {
    EventAttemptRecord& r = out.emplace_back();
    r.id = rows.Int(i, 0);
    r.at = FromUnixMillis(rows.Int(i, 1));
    r.event = rows.Int(i, 2);
    r.account_name = rows.Text(i, 3);
    r.type = rows.Text(i, 4);
    r.url = rows.Text(i, 5);
    r.node = rows.Text(i, 6);
    r.status = static_cast<int>(rows.Int(i, 7));
    r.reply = rows.Text(i, 8);
  }
  return out;
}

}  // namespace mailwarden
