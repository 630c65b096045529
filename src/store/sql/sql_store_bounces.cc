// SqlStore: bounces that come back after the relay took the message (RecordBounce).
#include <fmt/format.h>

#include "core/local_day.h"
#include "core/text.h"
#include "store/schema.h"
#include "store/sql/row_readers.h"
#include "store/sql/sql_store.h"
#include "store/sql/tally.h"

namespace mailwarden {

Result<BounceRecorded> SqlStore::RecordBounce(const Bounce& bounce, TimePoint now) {
  BounceRecorded recorded;
  const std::int64_t now_ms = ToUnixMillis(now);
  // One write transaction: the recipients' new states and the error counters change together,
  // so a crash can neither lose a bounce the intake acknowledged nor count it twice (the
  // intake answers 250 only after the commit; a sender trying again finds it recorded).
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kWrite));
  const MessageId ids[] = {bounce.message};
  // The account's row first, as every writer takes them.
  MW_RETURN_IF_ERROR(LockAccountsOfMessages(ids));
  MW_ASSIGN_OR_RETURN(const auto message, ReadMessage(bounce.message));
  if (!message || message->account != bounce.account) return recorded;
  recorded.found = true;
  recorded.sender = message->sender;
  {
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        session().Run(Sql::kSelectAccountName, Params().Int(message->account)));
    if (!rows.empty()) recorded.account_name = rows.Text(0, 0);
  }

  Tally tally(session());
  const int day = LocalDayNumber(now);
  for (const BounceRecipient& b : bounce.recipients) {
    const StoredRecipient* match = nullptr;
    const std::string address = ToAsciiLower(b.address);
    for (const StoredRecipient& r : message->recipients) {
      if (!address.empty() && ToAsciiLower(r.address) == address) match = &r;
    }
    if (match == nullptr && address.empty() && message->recipients.size() == 1) {
      match = &message->recipients[0];
    }
    if (match == nullptr) {
      ++recorded.unmatched;
      continue;
    }
    if (b.delayed) {
      MW_RETURN_IF_ERROR(session().Run(
          Sql::kNoteRecipient,
          Params().Int(message->account).Int(message->id).Int(match->index).Text(b.reply)));
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
      tally.Count(message->account, day, {.errors = 1});
      recorded.failed.push_back(b.category);
      MW_RETURN_IF_ERROR(SuppressRecipient(message->account, message->id, match->address,
                                           b.category, b.reply, now, bounce.suppress_for));
    }
  }
  MW_RETURN_IF_ERROR(tally.Flush());
  MW_RETURN_IF_ERROR(tx.Commit());
  return recorded;
}

}  // namespace mailwarden
