// How the SQL store reads its rows into the Store's types, and the status codes of schema.h.
#pragma once

#include <cstdint>

#include "core/result.h"
#include "core/types.h"
#include "store/sql/sql_session.h"
#include "store/store.h"

namespace mailwarden {

// The columns of {account_columns} of one row, in their order; without uids.
Result<Account> ReadAccount(const Rows& rows, int row);
// How many columns {account_columns} is: a statement's further columns start there.
inline constexpr int kAccountColumnCount = 16;

int RecipientCode(RecipientStatus status);
Result<RecipientStatus> RecipientStatusFromCode(std::int64_t code);
Result<MessageStatus> MessageStatusFromCode(std::int64_t code);

}  // namespace mailwarden
