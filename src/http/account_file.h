// The file `mailwardenctl accounts import` reads: the provider's accounts, one a line, as
// rows of POST /api/v1/accounts:import.
//
// Two formats, told apart by the first line that is not blank nor a '#' comment:
// - JSON lines: that line starts with '{'; each line is one object with the fields of
//   POST /api/v1/accounts ("name", "uids", "report_to", "language", "max_per_day",
//   "max_per_hour") and optionally "delete": true.
// - CSV (RFC 4180: fields in double quotes may hold commas, "" is a quote): that line is the
//   header naming the columns, among name (required), uids, report_to, language, max_per_day,
//   max_per_hour and delete; uids are numbers separated by spaces or ';'; an empty cell leaves
//   the field out (a quota then is the policy's default); delete is "true"/"1"/"yes" or empty.
// Blank lines and lines starting with '#' are skipped in both.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace mailwarden {

struct AccountFileRow {
  int line = 0;        // 1-based, in the file
  nlohmann::json row;  // an import row, as the API takes it
};

// The rows of the file's text; kInvalidInput naming the line of the first row that cannot be
// read (the daemon judges the values: a row read here may still be refused there).
Result<std::vector<AccountFileRow>> ParseAccountFile(std::string_view text);

}  // namespace mailwarden
