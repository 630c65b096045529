// The SQL text of the statements the engines share, and how an engine's text becomes what it
// prepares: the names of schema.h and the status codes filled in, the placeholders in the
// engine's spelling.
#pragma once

#include <string>
#include <string_view>

#include "store/sql/sql_statement.h"

namespace mailwarden {

// What differs between the engines in the text of a shared statement: PostgreSQL numbers its
// parameters $1, SQLite ?1 (shared texts are written with ?N).
enum class Placeholders { kQuestion, kDollar };

// The shared text of sql, "" if each engine has its own.
std::string_view SharedSqlText(Sql sql);

// What an engine prepares for sql: its own text if it has one (own_text), else the shared one,
// with {accounts} and the other names of schema.h, {done} and the other status codes, and the
// shared fragments ({active_head}, {released_head}) filled in, and the placeholders in the
// engine's spelling; "" if neither has a text. Values are never formatted in: always bound.
std::string EngineSql(Sql sql, std::string_view own_text, Placeholders placeholders);

// The highest parameter number the prepared text names: how many parameters it is given.
int ParameterCount(std::string_view prepared_text);

}  // namespace mailwarden
