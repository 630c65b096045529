// SqlStore: bounces that come back after the relay took the message (RecordBounce), and
// feedback-loop complaints about it (RecordComplaint).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/account_name.h"
#include "core/block_reason.h"
#include "core/event_types.h"
#include "core/local_day.h"
#include "core/policy.h"
#include "core/text.h"
#include "store/account_change.h"
#include "store/schema.h"
#include "store/sql/row_readers.h"
#include "store/sql/sql_store.h"
#include "store/sql/tally.h"

namespace mailwarden {
namespace {

// The message's recipient a bounce's recipient names (any case), or its only one when the
// bounce names none; nullptr if none matches.
const StoredRecipient* MatchBounced(const StoredMessage& message, const BounceRecipient& b) {
  const std::string address = ToAsciiLower(b.address);
  const StoredRecipient* match = nullptr;
  for (const StoredRecipient& r : message.recipients) {
    if (!address.empty() && ToAsciiLower(r.address) == address) match = &r;
  }
  if (match == nullptr && address.empty() && message.recipients.size() == 1) {
    match = &message.recipients[0];
  }
  return match;
}

}  // namespace

Result<std::vector<BounceRecorded>> SqlStore::RecordBounces(std::span<const Bounce> bounces,
                                                            TimePoint now) {
  std::vector<BounceRecorded> recorded;
  recorded.reserve(bounces.size());
  // One write transaction for the batch: the recipients' new states and the error counters
  // change together, so a crash can neither lose a bounce the intake acknowledged nor count it
  // twice (the intake answers 250 only after the commit; a sender trying again finds it
  // recorded); and bounces that arrived together share one fsync.
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kWrite));
  std::vector<MessageId> ids;
  ids.reserve(bounces.size());
  for (const Bounce& b : bounces) ids.push_back(b.message);
  // The accounts' rows first, all at once, as every writer takes them.
  MW_RETURN_IF_ERROR(LockAccountsOfMessages(ids));
  Tally tally(session());
  for (const Bounce& bounce : bounces) {
    MW_ASSIGN_OR_RETURN(BounceRecorded one, RecordOneBounce(bounce, now, tally));
    recorded.push_back(std::move(one));
  }
  MW_RETURN_IF_ERROR(tally.Flush());
  MW_RETURN_IF_ERROR(tx.Commit());
  return recorded;
}

Result<BounceRecorded> SqlStore::RecordOneBounce(const Bounce& bounce, TimePoint now,
                                                 Tally& tally) {
  BounceRecorded recorded;
  const std::int64_t now_ms = ToUnixMillis(now);
  MW_ASSIGN_OR_RETURN(const auto message, ReadMessage(bounce.message));
  if (!message || message->account != bounce.account) return recorded;
  recorded.found = true;
  recorded.sender = message->sender;
  {
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        session().Run(Sql::kSelectAccountName, Params().Int(message->account)));
    if (!rows.empty()) recorded.account_name = rows.Text(0, 0);
  }

  // A recipient the relay took whose delivery's outcome is not stored yet (the relay's 250
  // comes a moment before that commit): nothing of this bounce is recorded now, and the
  // intake asks its sender to try again, by when the recipient is stored as sent.
  for (const BounceRecipient& b : bounce.recipients) {
    const StoredRecipient* match = MatchBounced(*message, b);
    if (!b.delayed && match != nullptr && match->status == RecipientStatus::kPending) {
      ++recorded.not_yet;
    }
  }
  if (recorded.not_yet > 0) return recorded;

  const int day = LocalDayNumber(now);
  nlohmann::json failed = nlohmann::json::array();
  for (const BounceRecipient& b : bounce.recipients) {
    const StoredRecipient* match = MatchBounced(*message, b);
    if (match == nullptr) {
      ++recorded.unmatched;
      continue;
    }
    if (b.delayed) {
      MW_RETURN_IF_ERROR(session().Run(
          Sql::kNoteRecipient,
          Params().Int(message->account).Int(message->id).Int(match->index).Text(b.reply)));
      MW_RETURN_IF_ERROR(WriteMessageEvent(message->account, message->id, now_ms, kEventDelayed,
                                           match->index, b.reply));
      ++recorded.delayed;
      continue;
    }
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        session().Run(Sql::kFailSentRecipient, Params()
                                                                   .Int(message->account)
                                                                   .Int(message->id)
                                                                   .Int(match->index)
                                                                   .Text(b.reply)
                                                                   .Int(now_ms)
                                                                   .Text(b.category)));
    if (rows.Changed() == 1) {
      MW_RETURN_IF_ERROR(WriteMessageEvent(message->account, message->id, now_ms, kEventBounced,
                                           match->index,
                                           fmt::format("{}: {}", b.category, b.reply)));
      tally.Count(message->account, day, {.errors = 1});
      recorded.failed.push_back(b.category);
      failed.push_back({{"address", match->address},
                        {"status", "failed"},
                        {"category", b.category},
                        {"diagnostic", b.reply}});
      MW_RETURN_IF_ERROR(SuppressRecipient(message->account, message->id, match->address,
                                           b.category, b.reply, now, bounce.suppress_for));
    }
  }
  if (!failed.empty()) MW_RETURN_IF_ERROR(SetOutcome(message->account, message->id));
  // The bounce's event, in its transaction: one per bounce that failed recipients now (a
  // bounce given twice fails none the second time, and writes none).
  if (!failed.empty()) {
    const nlohmann::json data = {{"version", kEventSchemaVersion},
                                 {"message", message->id},
                                 {"recipients", std::move(failed)}};
    MW_RETURN_IF_ERROR(WriteEvent(NewEvent{
        .type = "message.bounced", .account = message->account, .data = data.dump(), .at = now}));
  }
  return recorded;
}

Result<ComplaintRecorded> SqlStore::RecordComplaint(const Complaint& complaint, TimePoint now) {
  ComplaintRecorded recorded;
  // One write transaction: the day's count and the event commit together, before the
  // intake's 250, so a report is neither lost nor counted twice by a crash.
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kWrite));
  const MessageId ids[] = {complaint.message};
  MW_RETURN_IF_ERROR(LockAccountsOfMessages(ids));
  MW_ASSIGN_OR_RETURN(const auto message, ReadMessage(complaint.message));
  if (!message || message->account != complaint.account) return recorded;
  recorded.found = true;
  {
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        session().Run(Sql::kSelectAccountName, Params().Int(message->account)));
    if (!rows.empty()) recorded.account_name = rows.Text(0, 0);
  }
  {
    // The message's mark first: a report of a message already complained of counts nothing.
    MW_ASSIGN_OR_RETURN(
        const Rows rows,
        session().Run(Sql::kMarkComplained, Params().Int(message->account).Int(message->id)));
    if (rows.Changed() == 0) {
      recorded.duplicate = true;
      MW_RETURN_IF_ERROR(tx.Commit());
      return recorded;
    }
  }
  {
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        session().Run(Sql::kBumpComplaints,
                                      Params().Int(message->account).Int(LocalDayNumber(now))));
    if (!rows.empty()) {
      recorded.complaints_today = rows.Int(0, 0);
      recorded.sent_today = rows.Int(0, 1);
    }
  }
  nlohmann::json data = {{"version", kEventSchemaVersion},
                         {"message", message->id},
                         {"feedback_type", complaint.feedback_type},
                         {"subject", message->subject},
                         {"complaints_today", recorded.complaints_today},
                         {"sent_today", recorded.sent_today}};
  MW_RETURN_IF_ERROR(WriteEvent(
      NewEvent{.type = "complaint",
               .account = message->account,
               .data = data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
               .at = now}));
  MW_RETURN_IF_ERROR(CheckComplaintGuard(complaint, now, recorded));
  MW_RETURN_IF_ERROR(tx.Commit());
  return recorded;
}

Result<std::optional<MessageRef>> SqlStore::FindByMessageId(std::string_view message_id) {
  if (message_id.empty()) return std::optional<MessageRef>();
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kRead));
  MW_ASSIGN_OR_RETURN(const Rows rows,
                      session().Run(Sql::kSelectByMessageId, Params().Text(message_id)));
  MW_RETURN_IF_ERROR(tx.Commit());
  if (rows.empty()) return std::optional<MessageRef>();
  const MessageRef newest{.message = rows.Int(0, 0), .account = rows.Int(0, 1)};
  for (int i = 1; i < rows.size(); ++i) {
    if (rows.Int(i, 1) != newest.account) return std::optional<MessageRef>();
  }
  return std::optional<MessageRef>(newest);
}

Result<void> SqlStore::CheckComplaintGuard(const Complaint& complaint, TimePoint now,
                                           ComplaintRecorded& recorded) {
  // The account's row is locked (RecordComplaint took it first), so its state read here is the
  // one the block compares with; a second complaint on another node waits, then finds it
  // blocked.
  MW_ASSIGN_OR_RETURN(const auto account, ReadOneAccount(complaint.account));
  if (!account || account->state != AccountState::kActive || IsReservedAccountName(account->name)) {
    return {};
  }
  const AccountStatus status = StatusOf(*account);
  const bool doubled = ComplaintToleranceDoubled(status, now);
  if (!ComplaintGuardTrips(recorded.complaints_today, recorded.sent_today, complaint.complaint_rate,
                           complaint.complaint_min, doubled)) {
    return {};
  }
  const auto per_10000 = [](double rate) { return static_cast<std::int64_t>(rate * 10000 + 0.5); };
  const double rate = recorded.sent_today > 0 ? static_cast<double>(recorded.complaints_today) /
                                                    static_cast<double>(recorded.sent_today)
                                              : 0.0;
  std::string reason = FormatBlockReason(
      doubled ? "complaint_rate_doubled" : "complaint_rate",
      {{"complaints", recorded.complaints_today},
       {"sent", recorded.sent_today},
       {"rate", per_10000(rate)},
       {"limit", per_10000(doubled ? 2 * complaint.complaint_rate : complaint.complaint_rate)}});
  auto decided = Decide(status, AccountAction::kBlock, Actor::kComplaintGuard, reason, now);
  if (!decided) return std::unexpected(Error(decided.error()));
  MW_RETURN_IF_ERROR(ApplyAccountState(
      ChangeFor(*account, *decided, Actor::kComplaintGuard, AccountAction::kBlock)));
  recorded.blocked = *account;
  recorded.block_reason = std::move(reason);
  return {};
}

}  // namespace mailwarden
