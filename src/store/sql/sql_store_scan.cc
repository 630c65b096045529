// SqlStore: content scanning (messages waiting for a verdict, verdicts, the quarantine).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/event_types.h"
#include "core/local_day.h"
#include "store/sql/sql_store.h"
#include "store/sql/tally.h"
#include "store/store_common.h"

namespace mailwarden {
namespace {

// Symbols are kept as one text, comma separated (symbol names have no comma).
std::string JoinSymbols(const std::vector<std::string>& symbols) {
  std::string out;
  for (const std::string& s : symbols) {
    if (!out.empty()) out += ',';
    out += s;
  }
  return out;
}

std::vector<std::string> SplitSymbols(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    out.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

// The ids given, each once, ascending (each is looked up and locked once).
std::vector<MessageId> Distinct(std::span<const MessageId> ids) {
  std::vector<MessageId> out(ids.begin(), ids.end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

Result<std::vector<UnscannedMessage>> SqlStore::ListUnscanned(MessageId after, int limit) {
  std::vector<UnscannedMessage> out;
  if (limit <= 0) return out;
  // A read transaction: the page and its recipients from one snapshot.
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kRead));
  {
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        session().Run(Sql::kSelectUnscanned, Params().Int(after).Int(limit)));
    for (int i = 0; i < rows.size(); ++i) {
      out.push_back({.id = rows.Int(i, 0),
                     .account = rows.Int(i, 1),
                     .account_name = rows.Text(i, 2),
                     .sender = rows.Text(i, 3),
                     .recipients = {},
                     .script = rows.Text(i, 4),
                     .uid = static_cast<Uid>(rows.Int(i, 5)),
                     .size = rows.Int(i, 6)});
    }
  }
  for (UnscannedMessage& m : out) {
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        session().Run(Sql::kSelectRecipients, Params().Int(m.account).Int(m.id)));
    for (int i = 0; i < rows.size(); ++i) m.recipients.push_back(rows.Text(i, 1));
  }
  MW_RETURN_IF_ERROR(tx.Commit());
  return out;
}

Result<std::optional<std::string>> SqlStore::GetUnscannedBody(AccountId account, MessageId id) {
  MW_ASSIGN_OR_RETURN(Rows rows,
                      session().Run(Sql::kSelectUnscannedBody, Params().Int(account).Int(id)));
  if (rows.empty() || rows.IsNull(0, 0)) return std::optional<std::string>();
  return std::optional<std::string>(rows.TakeText(0, 0));
}

Result<std::vector<bool>> SqlStore::RecordVerdicts(std::span<const ScanVerdict> verdicts,
                                                   TimePoint now) {
  std::vector<bool> applied;
  if (verdicts.empty()) return applied;
  // One transaction for the batch, kNoSync as outcomes: a verdict a power cut undoes leaves
  // its message waiting, and it is scanned again. The day's counters are written at the end,
  // in account order (as Tally writes its own), once per account.
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kNoSync));
  struct DayCounts {
    std::int64_t scanned = 0;
    std::int64_t quarantined = 0;
    std::int64_t suspicious = 0;
  };
  std::map<AccountId, DayCounts> days;
  std::set<AccountId> let_go;
  const int day = LocalDayNumber(now);
  // Rows are written in (account, id) order, as every writer takes them, whatever the order
  // given; the answer keeps the order given.
  std::vector<std::size_t> order(verdicts.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::ranges::sort(order, [&](std::size_t a, std::size_t b) {
    return std::pair(verdicts[a].account, verdicts[a].id) <
           std::pair(verdicts[b].account, verdicts[b].id);
  });
  applied.assign(verdicts.size(), false);
  for (const std::size_t at : order) {
    const ScanVerdict& verdict = verdicts[at];
    const int state = verdict.quarantine ? schema::kScanQuarantined : schema::kScanNone;
    Params params;
    params.Int(verdict.account).Int(verdict.id).Int(state);
    if (verdict.result) {
      params.Text(verdict.result->action)
          .Int(std::llround(verdict.result->score * 1000))
          .Text(JoinSymbols(verdict.result->symbols));
    } else {
      params.OptionalInt(std::nullopt).OptionalInt(std::nullopt).OptionalInt(std::nullopt);
    }
    MW_ASSIGN_OR_RETURN(const Rows rows, session().Run(Sql::kSetVerdict, params));
    const bool done = rows.Changed() > 0;
    applied[at] = done;
    if (!done) continue;
    if (verdict.result) {
      DayCounts& d = days[verdict.account];
      ++d.scanned;
      if (verdict.quarantine) ++d.quarantined;
      if (verdict.suspicious) ++d.suspicious;
    }
    if (verdict.quarantine && verdict.result) {
      // Its event in the verdict's transaction: a verdict a power cut undoes takes its event
      // with it, and the message's next scan writes both again.
      const nlohmann::json data = {{"version", kEventSchemaVersion},
                                   {"message", verdict.id},
                                   {"action", verdict.result->action},
                                   {"score", verdict.result->score},
                                   {"symbols", verdict.result->symbols}};
      MW_RETURN_IF_ERROR(WriteEvent(NewEvent{.type = "message.quarantined",
                                             .account = verdict.account,
                                             .data = data.dump(),
                                             .at = now}));
    }
    if (verdict.quarantine) {
      const std::string detail =
          verdict.result ? fmt::format("{} (score {:.3f}) {}", verdict.result->action,
                                       verdict.result->score, JoinSymbols(verdict.result->symbols))
                         : std::string();
      MW_RETURN_IF_ERROR(WriteMessageEvent(verdict.account, verdict.id, ToUnixMillis(now),
                                           kEventQuarantined, -1, detail));
    }
    if (!verdict.quarantine) let_go.insert(verdict.account);
  }
  for (const auto& [account, d] : days) {
    MW_RETURN_IF_ERROR(session().Run(
        Sql::kBumpScanDay,
        Params().Int(account).Int(day).Int(d.scanned).Int(d.quarantined).Int(d.suspicious)));
  }
  for (const AccountId account : let_go) MW_RETURN_IF_ERROR(Notify("mail", account));
  MW_RETURN_IF_ERROR(tx.Commit());
  return applied;
}

Result<void> SqlStore::ReadScanResult(StoredMessage& message) {
  MW_ASSIGN_OR_RETURN(
      const Rows rows,
      session().Run(Sql::kSelectScanResult, Params().Int(message.account).Int(message.id)));
  if (rows.empty()) return {};
  switch (rows.Int(0, 0)) {
    case schema::kScanWaiting:
      message.scan_state = ScanState::kWaiting;
      break;
    case schema::kScanQuarantined:
      message.scan_state = ScanState::kQuarantined;
      break;
    default:
      message.scan_state = ScanState::kNone;
  }
  if (!rows.IsNull(0, 1)) {
    message.scan = ScanResult{.action = rows.Text(0, 1),
                              .score = static_cast<double>(rows.Int(0, 2)) / 1000.0,
                              .symbols = SplitSymbols(rows.Text(0, 3))};
  }
  return {};
}

Result<std::vector<StoredMessage>> SqlStore::ListQuarantined(AccountId account, int limit,
                                                             MessageId before_id) {
  return ReadMessagePage(Sql::kSelectQuarantinedPage, account, limit, before_id);
}

Result<std::int64_t> SqlStore::ReleaseQuarantined(AccountId account, std::span<const MessageId> ids,
                                                  TimePoint now) {
  // One write transaction, the account's row locked first as every writer takes it.
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kWrite));
  MW_RETURN_IF_ERROR(ReadAccountState(account, true));
  std::int64_t released = 0;
  for (const MessageId id : Distinct(ids)) {
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        session().Run(Sql::kReleaseQuarantined, Params().Int(account).Int(id)));
    released += rows.Changed();
    if (rows.Changed() > 0) {
      MW_RETURN_IF_ERROR(
          WriteMessageEvent(account, id, ToUnixMillis(now), kEventReleased, -1, "quarantine"));
    }
  }
  if (released > 0) MW_RETURN_IF_ERROR(Notify("mail", account));
  MW_RETURN_IF_ERROR(tx.Commit());
  return released;
}

Result<std::int64_t> SqlStore::DeleteQuarantined(AccountId account, std::span<const MessageId> ids,
                                                 TimePoint now) {
  // One write transaction, as DeleteHeld.
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kWrite));
  MW_RETURN_IF_ERROR(ReadAccountState(account, true));
  Tally tally(session());
  const int day = LocalDayNumber(now);
  std::vector<MessageId> gone;
  for (const MessageId id : Distinct(ids)) {
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        session().Run(Sql::kSelectQuarantinedById, Params().Int(account).Int(id)));
    if (rows.empty()) continue;
    MW_RETURN_IF_ERROR(tally.EndMessage(account, id, rows.Int(0, 0)));
    tally.Count(account, day, {.purged = 1});
    gone.push_back(id);
  }
  if (!gone.empty()) MW_RETURN_IF_ERROR(DeleteUnfinished(account, gone));
  MW_RETURN_IF_ERROR(tally.Flush());
  MW_RETURN_IF_ERROR(tx.Commit());
  return static_cast<std::int64_t>(gone.size());
}

Result<std::int64_t> SqlStore::ExpireQuarantined(TimePoint cutoff, int limit, TimePoint now) {
  constexpr std::string_view kExpiredReply =
      "expired: quarantined by the content scanner for longer than policy.hold";
  if (limit <= 0) return std::int64_t{0};
  const std::int64_t now_ms = ToUnixMillis(now);
  const int day = LocalDayNumber(now);
  // One write transaction for the batch, as ExpireHeld.
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kWrite));
  struct Aged {
    MessageId id;
    AccountId account;
    std::int64_t size;
  };
  std::vector<Aged> aged;
  {
    MW_ASSIGN_OR_RETURN(
        const Rows rows,
        session().Run(Sql::kSelectQuarantineAged, Params().Int(ToUnixMillis(cutoff)).Int(limit)));
    for (int i = 0; i < rows.size(); ++i) {
      aged.push_back({rows.Int(i, 0), rows.Int(i, 1), rows.Int(i, 2)});
    }
  }
  // Accounts' rows locked in id order, as every writer takes them.
  std::sort(aged.begin(), aged.end(),
            [](const Aged& a, const Aged& b) { return a.account < b.account; });
  Tally tally(session());
  AccountId locked = 0;
  for (const Aged& m : aged) {
    if (m.account != locked) {
      MW_RETURN_IF_ERROR(ReadAccountState(m.account, true));
      locked = m.account;
    }
    MW_RETURN_IF_ERROR(session().Run(
        Sql::kExpireRecipients, Params().Int(m.account).Int(m.id).Text(kExpiredReply).Int(now_ms)));
    MW_RETURN_IF_ERROR(
        session().Run(Sql::kFinishMessage, Params().Int(m.account).Int(m.id).Int(now_ms)));
    MW_RETURN_IF_ERROR(SetOutcome(m.account, m.id));
    MW_RETURN_IF_ERROR(
        WriteMessageEvent(m.account, m.id, now_ms, kEventExpired, -1, kExpiredReply));
    MW_RETURN_IF_ERROR(tally.EndMessage(m.account, m.id, m.size));
    tally.Count(m.account, day, {.errors = 1, .expired = 1});
  }
  MW_RETURN_IF_ERROR(tally.Flush());
  MW_RETURN_IF_ERROR(tx.Commit());
  return static_cast<std::int64_t>(aged.size());
}

}  // namespace mailwarden
