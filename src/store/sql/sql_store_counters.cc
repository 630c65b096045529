// SqlStore: counters, volumes, errors, daily reports, totals and sources.
#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "core/local_day.h"
#include "store/sql/sql_store.h"
#include "store/sql/tally.h"
#include "store/store_common.h"

namespace mailwarden {

Result<AccountCounters> SqlStore::GetCounters(AccountId account, int today) {
  // A read transaction: the totals and today's row from one snapshot.
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kRead));
  AccountCounters c;
  {
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        session().Run(Sql::kSelectCounters, Params().Int(account)));
    if (rows.empty()) {
      return Fail(ErrorCode::kNotFound, fmt::format("no account with id {}", account));
    }
    const bool active = rows.Text(0, 0) == AccountStateName(AccountState::kActive);
    const std::int64_t pending = rows.Int(0, 1);
    const std::int64_t released = rows.Int(0, 2);
    // Released mail of an account unblocked since is just queued: it is part of pending.
    c.queued = active ? pending : std::min(released, pending);
    c.held = pending - c.queued;
    c.submitted = rows.Int(0, 3);
    c.sent = rows.Int(0, 4);
    c.errors = rows.Int(0, 5);
    c.expired = rows.Int(0, 6);
    c.purged = rows.Int(0, 7);
    if (active && pending > 0) {
      // An active account's held mail is what is held for itself (the From check).
      MW_ASSIGN_OR_RETURN(const Rows held,
                          session().Run(Sql::kCountHeldForSender, Params().Int(account)));
      c.held = std::min(pending, held.empty() ? 0 : held.Int(0, 0));
      c.queued = pending - c.held;
    }
  }
  {
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        session().Run(Sql::kSelectDay, Params().Int(account).Int(today)));
    if (!rows.empty()) {
      c.sent_today = rows.Int(0, 0);
      c.errors_today = rows.Int(0, 1);
      c.complaints_today = rows.Int(0, 2);
    }
  }
  MW_RETURN_IF_ERROR(tx.Commit());
  return c;
}

Result<std::vector<DailyVolume>> SqlStore::GetVolumes(AccountId account, int first_day,
                                                      int last_day) {
  std::vector<DailyVolume> days;
  MW_ASSIGN_OR_RETURN(
      const Rows rows,
      session().Run(Sql::kSelectVolumes, Params().Int(account).Int(first_day).Int(last_day)));
  for (int i = 0; i < rows.size(); ++i) {
    days.push_back({.day = static_cast<int>(rows.Int(i, 0)),
                    .submitted = rows.Int(i, 1),
                    .sent = rows.Int(i, 2),
                    .errors = rows.Int(i, 3),
                    .expired = rows.Int(i, 4),
                    .purged = rows.Int(i, 5),
                    .complaints = rows.Int(i, 6)});
  }
  // Both reads are of the same few rows (account, day), one snapshot each: a day that moves
  // between them shows its scan counts a moment newer than the rest.
  MW_ASSIGN_OR_RETURN(
      const Rows scans,
      session().Run(Sql::kSelectScanVolumes, Params().Int(account).Int(first_day).Int(last_day)));
  std::size_t at = 0;
  for (int i = 0; i < scans.size(); ++i) {
    const int day = static_cast<int>(scans.Int(i, 0));
    while (at < days.size() && days[at].day < day) ++at;
    if (at == days.size() || days[at].day != day) continue;
    days[at].scanned = scans.Int(i, 1);
    days[at].quarantined = scans.Int(i, 2);
    days[at].suspicious = scans.Int(i, 3);
  }
  return days;
}

Result<std::vector<DeliveryError>> SqlStore::ListErrors(AccountId account, TimePoint since,
                                                        int limit,
                                                        std::optional<ErrorCursor> after) {
  std::vector<DeliveryError> errors;
  if (limit <= 0) return errors;
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  MW_ASSIGN_OR_RETURN(
      const Rows rows,
      session().Run(Sql::kSelectErrors, Params()
                                            .Int(account)
                                            .Int(ToUnixMillis(since))
                                            .Int(after ? ToUnixMillis(after->at) : kMax)
                                            .Int(after ? after->message : kMax)
                                            .Int(after ? std::int64_t{after->index} : kMax)
                                            .Int(limit)));
  for (int i = 0; i < rows.size(); ++i) {
    errors.push_back({.at = FromUnixMillis(rows.Int(i, 0)),
                      .message = rows.Int(i, 1),
                      .index = static_cast<int>(rows.Int(i, 2)),
                      .recipient = rows.Text(i, 3),
                      .reply = rows.Text(i, 4),
                      .subject = rows.Text(i, 5),
                      .category = rows.Text(i, 6)});
  }
  return errors;
}

Result<std::vector<AccountId>> SqlStore::AccountsToReport(int day) {
  std::vector<AccountId> accounts;
  MW_ASSIGN_OR_RETURN(const Rows rows,
                      session().Run(Sql::kSelectAccountsToReport, Params().Int(day)));
  for (int i = 0; i < rows.size(); ++i) accounts.push_back(rows.Int(i, 0));
  return accounts;
}

Result<std::optional<MessageId>> SqlStore::ClaimReport(AccountId account, int day,
                                                       const NewMessage& report, TimePoint now) {
  if (report.recipients.empty()) {
    return Fail(ErrorCode::kInvalidInput, "the report has no recipient");
  }
  // One write transaction: the claim row and the report's message commit together. The claim
  // is the unique key (account_id, day): a second claimer, on this node or another, waits for
  // the first's transaction and then, the row being there, changes nothing and stores nothing.
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kWrite));
  MW_RETURN_IF_ERROR(ReadAccountState(account, false));
  {
    MW_ASSIGN_OR_RETURN(
        const Rows rows,
        session().Run(Sql::kInsertReport, Params().Int(account).Int(day).Int(ToUnixMillis(now))));
    if (rows.Changed() == 0) return std::optional<MessageId>();
  }
  Tally tally(session());
  tally.Of(report.account).pending += 1;
  tally.Of(report.account).pending_bytes += static_cast<std::int64_t>(report.body.size());
  tally.Count(report.account, LocalDayNumber(report.received_at), {.submitted = 1});
  MW_RETURN_IF_ERROR(tally.Flush());
  MW_ASSIGN_OR_RETURN(const MessageId id, InsertMessageWithRecipients(report, std::nullopt, {}));
  MW_RETURN_IF_ERROR(session().Run(Sql::kSetReportMessage, Params().Int(account).Int(day).Int(id)));
  MW_RETURN_IF_ERROR(Notify("mail", report.account));
  MW_RETURN_IF_ERROR(tx.Commit());
  return std::optional<MessageId>(id);
}

Result<StoreTotals> SqlStore::GetTotals() {
  // One statement reads one snapshot.
  MW_ASSIGN_OR_RETURN(const Rows rows, session().Run(Sql::kSelectTotals));
  StoreTotals totals;
  if (!rows.empty()) {
    const std::int64_t held_pending = rows.Int(0, 1);
    const std::int64_t released = rows.Int(0, 2);
    totals.queued = rows.Int(0, 0) + released;
    totals.held = held_pending - released;
    totals.submitted = rows.Int(0, 3);
    totals.sent = rows.Int(0, 4);
    totals.errors = rows.Int(0, 5);
    totals.expired = rows.Int(0, 6);
    totals.purged = rows.Int(0, 7);
  }
  return totals;
}

static_assert(schema::kSourceOtherValue.size() > kMaxSourceValueBytes,
              "no counted value may be taken for the other row");

Result<MailSources> SqlStore::GetSources(AccountId account, int hours, TimePoint now, int top) {
  MailSources sources;
  if (hours <= 0 || top <= 0) return sources;
  const std::int64_t last = UnixHour(now);
  const std::int64_t first_excluded = last - std::min(hours, kSourceHoursKept);
  // A read transaction: the four lists from one snapshot.
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kRead));
  struct Kind {
    int kind;
    std::vector<SourceCount>* list;
    std::int64_t* other;
  };
  const Kind kinds[] = {{schema::kSourceScript, &sources.scripts, &sources.other.scripts},
                        {schema::kSourceSender, &sources.senders, &sources.other.senders},
                        {schema::kSourceDomain, &sources.domains, &sources.other.domains},
                        {schema::kSourceSubject, &sources.subjects, &sources.other.subjects}};
  for (const auto& [kind, list, other] : kinds) {
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        session().Run(Sql::kSelectSources, Params()
                                                               .Int(account)
                                                               .Int(kind)
                                                               .Int(first_excluded)
                                                               .Int(last)
                                                               .Int(top + 1)
                                                               .Text(schema::kSourceOtherValue)));
    int first = 0;
    if (rows.size() > 0 && rows.Text(0, 0) == schema::kSourceOtherValue) {
      *other = rows.Int(0, 1);
      first = 1;
    }
    for (int i = first; i < rows.size() && static_cast<int>(list->size()) < top; ++i) {
      list->push_back({rows.Text(i, 0), rows.Int(i, 1)});
    }
  }
  MW_RETURN_IF_ERROR(tx.Commit());
  return sources;
}

}  // namespace mailwarden
