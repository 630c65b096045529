// SqlStore: held mail (lists, release, delete), purges, expiry and old history.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>

#include "core/local_day.h"
#include "store/sql/sql_store.h"
#include "store/sql/tally.h"
#include "store/store_common.h"

namespace mailwarden {

Result<std::optional<StoredMessage>> SqlStore::GetMessage(MessageId id) {
  // A read transaction: the message and its recipients from one snapshot, never half of a
  // RecordOutcomes.
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kRead));
  MW_ASSIGN_OR_RETURN(auto message, ReadMessage(id));
  MW_RETURN_IF_ERROR(tx.Commit());
  return message;
}

Result<std::int64_t> SqlStore::PurgeBatch(AccountId account, int limit, TimePoint /*now*/) {
  // One write transaction: a batch of purged rows and purge_left go together. The purge was
  // counted when it started; deleting its rows changes no counter and no pending. The
  // account's row is locked first, as every writer takes it: two nodes deleting one account's
  // rows take turns.
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kWrite));
  MessageId upto = 0;
  std::int64_t left = 0;
  {
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        session().Run(Sql::kLockPurgeState, Params().Int(account)));
    if (rows.empty()) {
      return Fail(ErrorCode::kNotFound, fmt::format("no account with id {}", account));
    }
    upto = rows.Int(0, 0);
    left = rows.Int(0, 1);
  }
  if (left == 0) return left;
  // No more than purge_left: what is left under the watermark is all there is to read (on
  // PostgreSQL the limit is also what ends the scan, at the last purged row).
  const std::int64_t most = std::min<std::int64_t>(std::max(limit, 0), left);
  std::vector<MessageId> batch;
  {
    MW_ASSIGN_OR_RETURN(const Rows rows, session().Run(Sql::kSelectPurgeBatch,
                                                       Params().Int(account).Int(upto).Int(most)));
    for (int i = 0; i < rows.size(); ++i) batch.push_back(rows.Int(i, 0));
  }
  if (!batch.empty()) MW_RETURN_IF_ERROR(DeleteUnfinished(account, batch));
  std::int64_t done = static_cast<std::int64_t>(batch.size());
  if (done < most) {
    // The scan found fewer than asked: nothing is left under the watermark, whatever the
    // counter says. A counter out of step is a bug, but must not keep the job going.
    spdlog::warn("store: account {}: purge_left was {} with {} purged rows left", account, left,
                 done);
    done = left;
  }
  Tally tally(session());
  tally.Of(account).purge_left -= done;
  MW_RETURN_IF_ERROR(tally.Flush());
  MW_RETURN_IF_ERROR(tx.Commit());
  return std::max<std::int64_t>(left - done, 0);
}

Result<std::int64_t> SqlStore::DeleteFinished(TimePoint cutoff, int limit) {
  // One statement. kNoSync: old history only; a deletion a power cut undoes is done again by
  // the next call.
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kNoSync));
  MW_ASSIGN_OR_RETURN(const Rows rows,
                      session().Run(Sql::kDeleteFinished,
                                    Params().Int(ToUnixMillis(cutoff)).Int(std::max(limit, 0))));
  // Suppressions that ran out (reads ignore them already) go the same way, as many a call.
  MW_RETURN_IF_ERROR(session().Run(Sql::kPruneSuppressions,
                                   Params().Int(ToUnixMillis(cutoff)).Int(std::max(limit, 0))));
  MW_RETURN_IF_ERROR(tx.Commit());
  return rows.Changed();  // the messages only, not the cascade
}

Result<std::int64_t> SqlStore::ExpireHeld(TimePoint cutoff, int limit, TimePoint now) {
  constexpr std::string_view kExpiredReply =
      "expired: not sent, held while sending was blocked for longer than allowed";
  std::int64_t expired = 0;
  if (limit <= 0) return expired;
  const std::int64_t cutoff_ms = ToUnixMillis(cutoff);
  const std::int64_t now_ms = ToUnixMillis(now);
  const int day = LocalDayNumber(now);

  // One write transaction for the batch: a message is expired, its recipients failed and the
  // counters moved together, or none of it.
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kWrite));
  std::vector<AccountId> accounts;
  {
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        session().Run(Sql::kSelectHoldingAccounts, Params().Int(0)));
    for (int i = 0; i < rows.size(); ++i) accounts.push_back(rows.Int(i, 0));
  }
  Tally tally(session());
  for (const AccountId account : accounts) {
    if (expired >= limit) break;
    // The account's row first (as every writer), then its oldest unfinished messages page by
    // page, in id order. Ids follow the order of commit, which is the order of receipt
    // (received_at is taken just before): the first one received at or after the cutoff ends
    // the walk, so no younger held mail is read.
    MW_ASSIGN_OR_RETURN(const AccountState state, ReadAccountState(account, true));
    if (state == AccountState::kActive) continue;         // unblocked meanwhile
    std::vector<std::pair<MessageId, std::int64_t>> due;  // id, size
    MessageId after = 0;
    bool walking = true;
    while (walking && expired + static_cast<std::int64_t>(due.size()) < limit) {
      const std::int64_t page = limit - expired - static_cast<std::int64_t>(due.size()) + 16;
      MW_ASSIGN_OR_RETURN(
          const Rows rows,
          session().Run(Sql::kSelectUnfinishedPage, Params().Int(account).Int(after).Int(page)));
      if (rows.size() < page) walking = false;
      for (int i = 0; i < rows.size(); ++i) {
        if (expired + static_cast<std::int64_t>(due.size()) >= limit ||
            rows.Int(i, 2) >= cutoff_ms) {
          walking = false;
          break;
        }
        const MessageId id = rows.Int(i, 0);
        after = id;
        if (rows.Int(i, 1) != schema::kMessageQueued) continue;  // in flight: delivery decides
        MW_ASSIGN_OR_RETURN(const Rows released,
                            session().Run(Sql::kIsReleased, Params().Int(account).Int(id)));
        if (!released.empty() && released.Bool(0, 0)) continue;  // going out, not held
        due.emplace_back(id, rows.Int(i, 3));
      }
    }
    for (const auto& [id, size] : due) {
      MW_RETURN_IF_ERROR(session().Run(
          Sql::kExpireRecipients, Params().Int(account).Int(id).Text(kExpiredReply).Int(now_ms)));
      MW_RETURN_IF_ERROR(
          session().Run(Sql::kFinishMessage, Params().Int(account).Int(id).Int(now_ms)));
      MW_RETURN_IF_ERROR(SetOutcome(account, id));
      MW_RETURN_IF_ERROR(WriteMessageEvent(account, id, now_ms, kEventExpired, -1, kExpiredReply));
      MW_RETURN_IF_ERROR(tally.EndMessage(account, id, size));
      tally.Count(account, day, {.errors = 1, .expired = 1});
      ++expired;
    }
  }
  if (expired < limit) {
    MW_ASSIGN_OR_RETURN(const std::int64_t more,
                        ExpireHeldForSender(cutoff_ms, limit - expired, now, tally));
    expired += more;
  }
  MW_RETURN_IF_ERROR(tally.Flush());
  MW_RETURN_IF_ERROR(tx.Commit());
  return expired;
}

Result<std::int64_t> SqlStore::ExpireHeldForSender(std::int64_t cutoff_ms, std::int64_t limit,
                                                   TimePoint now, Tally& tally) {
  constexpr std::string_view kExpiredReply =
      "expired: held for longer than policy.hold (sender not allowed)";
  const std::int64_t now_ms = ToUnixMillis(now);
  const int day = LocalDayNumber(now);
  MW_ASSIGN_OR_RETURN(const Rows rows, session().Run(Sql::kSelectHeldForSenderDue,
                                                     Params().Int(cutoff_ms).Int(limit)));
  std::int64_t expired = 0;
  for (int i = 0; i < rows.size(); ++i) {
    const AccountId account = rows.Int(i, 0);
    const MessageId id = rows.Int(i, 1);
    // The account's row first, as every writer takes it.
    MW_RETURN_IF_ERROR(ReadAccountState(account, true));
    MW_RETURN_IF_ERROR(session().Run(
        Sql::kExpireRecipients, Params().Int(account).Int(id).Text(kExpiredReply).Int(now_ms)));
    MW_RETURN_IF_ERROR(
        session().Run(Sql::kFinishMessage, Params().Int(account).Int(id).Int(now_ms)));
    MW_RETURN_IF_ERROR(SetOutcome(account, id));
    MW_RETURN_IF_ERROR(WriteMessageEvent(account, id, now_ms, kEventExpired, -1, kExpiredReply));
    MW_RETURN_IF_ERROR(session().Run(Sql::kForgetHeldForSender, Params().Int(account).Int(id)));
    MW_RETURN_IF_ERROR(tally.EndMessage(account, id, rows.Int(i, 2)));
    tally.Count(account, day, {.errors = 1, .expired = 1});
    ++expired;
  }
  return expired;
}

Result<std::int64_t> SqlStore::ReleaseHeldForSender(AccountId account,
                                                    std::span<const MessageId> ids, TimePoint now) {
  std::int64_t released = 0;
  for (const MessageId id : ids) {
    MW_ASSIGN_OR_RETURN(const Rows forgotten,
                        session().Run(Sql::kForgetHeldForSender, Params().Int(account).Int(id)));
    if (forgotten.Changed() == 0) continue;
    MW_RETURN_IF_ERROR(
        session().Run(Sql::kMakeDue, Params().Int(account).Int(id).Int(ToUnixMillis(now))));
    MW_RETURN_IF_ERROR(WriteMessageEvent(account, id, ToUnixMillis(now), kEventReleased, -1, ""));
    ++released;
  }
  return released;
}

Result<std::vector<StoredMessage>> SqlStore::ListHeldForSender(AccountId account, int limit,
                                                               MessageId before_id) {
  return ReadMessagePage(Sql::kSelectHeldForSenderPage, account, limit, before_id);
}

Result<std::vector<StoredMessage>> SqlStore::ListPending(AccountId account, int limit,
                                                         MessageId before_id) {
  return ReadMessagePage(Sql::kSelectPendingPage, account, limit, before_id);
}

Result<std::int64_t> SqlStore::ReleaseHeld(AccountId account, const MessageSelector& selector,
                                           TimePoint now) {
  // One write transaction, the account's row locked first: an unblock (which clears the marks)
  // cannot slip in between reading the state and marking, and the marks and released_pending
  // change together, so the scheduler never looks for released mail that is not counted.
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kWrite));
  MW_ASSIGN_OR_RETURN(const AccountState state, ReadAccountState(account, true));
  MW_RETURN_IF_ERROR(CheckDecidedOn(account, selector.decided_on));
  if (state == AccountState::kActive) {
    // Only mail held for itself is held here: released, it is due at once.
    MW_ASSIGN_OR_RETURN(const auto ids, SelectHeld(account, selector, /*unreleased_only=*/false,
                                                   /*for_sender_only=*/true));
    MW_ASSIGN_OR_RETURN(const std::int64_t released, ReleaseHeldForSender(account, ids, now));
    if (released > 0) MW_RETURN_IF_ERROR(Notify("mail", account));
    MW_RETURN_IF_ERROR(tx.Commit());
    return released;
  }
  MW_ASSIGN_OR_RETURN(const auto ids, SelectHeld(account, selector, /*unreleased_only=*/true));
  // What was held for itself too is no longer: marked released, it is due at once.
  MW_RETURN_IF_ERROR(ReleaseHeldForSender(account, ids, now));
  Tally tally(session());
  std::int64_t released = 0;
  for (const MessageId id : ids) {
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        session().Run(Sql::kInsertReleased, Params().Int(account).Int(id)));
    released += rows.Changed();
    if (rows.Changed() > 0) {
      MW_RETURN_IF_ERROR(WriteMessageEvent(account, id, ToUnixMillis(now), kEventReleased, -1, ""));
    }
  }
  tally.Of(account).released += released;
  MW_RETURN_IF_ERROR(tally.Flush());
  if (released > 0) MW_RETURN_IF_ERROR(Notify("release", account));
  MW_RETURN_IF_ERROR(tx.Commit());
  return released;
}

Result<std::int64_t> SqlStore::DeleteHeld(AccountId account, const MessageSelector& selector,
                                          TimePoint now) {
  // One write transaction, as PurgeBatch.
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kWrite));
  MW_ASSIGN_OR_RETURN(const AccountState state, ReadAccountState(account, true));
  MW_RETURN_IF_ERROR(CheckDecidedOn(account, selector.decided_on));
  // Of an active account, only mail held for itself is held.
  MW_ASSIGN_OR_RETURN(const auto ids,
                      SelectHeld(account, selector, /*unreleased_only=*/false,
                                 /*for_sender_only=*/state == AccountState::kActive));
  Tally tally(session());
  const int day = LocalDayNumber(now);
  for (const MessageId id : ids) {
    MW_ASSIGN_OR_RETURN(const Rows size,
                        session().Run(Sql::kSelectMessageSize, Params().Int(account).Int(id)));
    MW_RETURN_IF_ERROR(tally.EndMessage(account, id, size.empty() ? 0 : size.Int(0, 0)));
    tally.Count(account, day, {.purged = 1});
  }
  if (!ids.empty()) MW_RETURN_IF_ERROR(DeleteUnfinished(account, ids));
  MW_RETURN_IF_ERROR(tally.Flush());
  MW_RETURN_IF_ERROR(tx.Commit());
  return static_cast<std::int64_t>(ids.size());
}

Result<void> SqlStore::CheckDecidedOn(AccountId account, const std::optional<BlockSeen>& seen) {
  if (!seen) return {};
  // The row is locked by now (ReadAccountState): what is read here holds until the commit.
  MW_ASSIGN_OR_RETURN(const auto now, ReadOneAccount(account));
  if (!now) return Fail(ErrorCode::kNotFound, fmt::format("no account with id {}", account));
  if (now->state != seen->state || now->blocked_by != seen->blocked_by) {
    return Fail(
        ErrorCode::kConflict,
        fmt::format("The account's state changed meanwhile: it is {} now{}{}.",
                    AccountStateName(now->state),
                    now->blocked_by == BlockedBy::kNone ? "" : ", blocked by ",
                    now->blocked_by == BlockedBy::kNone ? "" : BlockedByName(now->blocked_by)));
  }
  return {};
}

Result<std::string> SqlStore::GetMessageHeaders(AccountId account, MessageId id) {
  // One statement: one snapshot. Only the first kMaxHeaderSectionBytes of the body are copied
  // out, whatever its size.
  MW_ASSIGN_OR_RETURN(Rows rows,
                      session().Run(Sql::kSelectMessageHead,
                                    Params().Int(id).Int(account).Int(
                                        static_cast<std::int64_t>(kMaxHeaderSectionBytes))));
  if (rows.empty()) {
    return Fail(ErrorCode::kNotFound,
                fmt::format("There is no unfinished message {} of this account.", id));
  }
  std::string head = rows.TakeText(0, 0);
  CutToHeaderSection(head);
  return head;
}

}  // namespace mailwarden
