// The SQL text of the statements the engines share, and how an engine's text becomes what it
// prepares: the names of schema.h and the status codes filled in, the placeholders in the
// engine's spelling.
#pragma once

#include <string>
#include <string_view>

#include "store/sql/sql_statement.h"

namespace mailwarden {

// What differs between the engines in the text of a shared statement.
struct SqlDialect {
  // PostgreSQL numbers its parameters $1, SQLite ?1; shared texts are written with ?N.
  bool dollar_placeholders = false;
  // The earliest next attempt among the unfinished messages of active account a.id, and among
  // the released messages of held account a.id (kSelectDueAccounts, kSelectNextDue).
  std::string_view active_head;
  std::string_view released_head;
};

// The shared text of sql, "" if each engine has its own.
std::string_view SharedSqlText(Sql sql);

// text as the engine prepares it: {accounts} and the other names of schema.h, {done} and the
// other status codes, {active_head} and {released_head} filled in; ?N as $N where the dialect
// says so. Values are never formatted in: they are always bound.
std::string FormatSql(std::string_view text, const SqlDialect& dialect);

// The highest parameter number the prepared text names: how many parameters it is given.
int ParameterCount(std::string_view prepared_text);

}  // namespace mailwarden
