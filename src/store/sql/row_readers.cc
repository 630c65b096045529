#include "store/sql/row_readers.h"

#include <fmt/format.h>

#include <string>

#include "store/schema.h"

namespace mailwarden {

Result<Account> ReadAccount(const Rows& rows, int row) {
  Account account;
  account.id = rows.Int(row, 0);
  account.name = rows.Text(row, 1);
  const std::string& state = rows.Text(row, 2);
  const std::string& blocked_by = rows.Text(row, 3);
  auto parsed_state = ParseAccountState(state);
  auto parsed_blocked_by = ParseBlockedBy(blocked_by);
  if (!parsed_state || !parsed_blocked_by) {
    return Fail(ErrorCode::kInternal, fmt::format("store: account {} has state '{}' by '{}'",
                                                  account.id, state, blocked_by));
  }
  account.state = *parsed_state;
  account.blocked_by = *parsed_blocked_by;
  account.reason = rows.Text(row, 4);
  account.since = FromUnixMillis(rows.Int(row, 5));
  account.report_to = rows.Text(row, 6);
  account.language = rows.Text(row, 7);
  account.max_per_day = rows.OptionalInt(row, 8);
  account.max_per_hour = rows.OptionalInt(row, 9);
  account.pending = rows.Int(row, 10);
  account.bounce_tolerance_until = FromUnixMillis(rows.Int(row, 11));
  account.purge_upto = rows.Int(row, 12);
  account.purge_left = rows.Int(row, 13);
  account.pending_bytes = rows.Int(row, 14);
  account.complaint_tolerance_until = FromUnixMillis(rows.Int(row, 15));
  return account;
}

int RecipientCode(RecipientStatus status) {
  switch (status) {
    case RecipientStatus::kPending:
      return schema::kRecipientPending;
    case RecipientStatus::kSent:
      return schema::kRecipientSent;
    case RecipientStatus::kFailed:
      return schema::kRecipientFailed;
  }
  return schema::kRecipientPending;
}

Result<RecipientStatus> RecipientStatusFromCode(std::int64_t code) {
  switch (code) {
    case schema::kRecipientPending:
      return RecipientStatus::kPending;
    case schema::kRecipientSent:
      return RecipientStatus::kSent;
    case schema::kRecipientFailed:
      return RecipientStatus::kFailed;
    default:
      return Fail(ErrorCode::kInternal, fmt::format("store: unknown recipient status {}", code));
  }
}

Result<MessageStatus> MessageStatusFromCode(std::int64_t code) {
  switch (code) {
    case schema::kMessageQueued:
      return MessageStatus::kQueued;
    case schema::kMessageDelivering:
      return MessageStatus::kDelivering;
    case schema::kMessageDone:
      return MessageStatus::kDone;
    default:
      return Fail(ErrorCode::kInternal, fmt::format("store: unknown message status {}", code));
  }
}

}  // namespace mailwarden
