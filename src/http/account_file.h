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
#include "http/api_client.h"

namespace mailwarden {

struct AccountFileRow {
  int line = 0;        // 1-based, in the file
  nlohmann::json row;  // an import row, as the API takes it
};

// The rows of the file's text; kInvalidInput naming the line of the first row that cannot be
// read (the daemon judges the values: a row read here may still be refused there).
Result<std::vector<AccountFileRow>> ParseAccountFile(std::string_view text);

// Rows of an import per request (the daemon takes at most 5000, and 1 MiB, a request).
inline constexpr std::size_t kImportBatch = 2000;

// What SendAccountFile did: the first refused request's answer (nothing after it was sent),
// or the sum of the answers: {"created", "updated", "unchanged", "removed", "refused"}, each
// refusal with the file's "line" (null for a deletion --remove-missing added).
struct AccountFileSent {
  std::optional<ApiResponse> failed;
  nlohmann::json total;
};

// Sends the rows to POST /api/v1/accounts:import in requests of kImportBatch. With
// remove_missing, first reads GET /api/v1/accounts and adds a deletion for every account no
// row names; with purge, a deleted account's unfinished mail is purged. An Error when the
// daemon cannot be reached (as ApiClient::Request).
Result<AccountFileSent> SendAccountFile(const ApiClient& client, std::vector<AccountFileRow> rows,
                                        bool remove_missing, bool purge);

}  // namespace mailwarden
