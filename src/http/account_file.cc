#include "http/account_file.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <string>

namespace mailwarden {
namespace {

using nlohmann::json;

Result<std::vector<std::string>> SplitCsv(std::string_view line, int number) {
  std::vector<std::string> cells(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cells.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cells.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      cells.emplace_back();
    } else {
      cells.back() += c;
    }
  }
  if (quoted) {
    return Fail(ErrorCode::kInvalidInput, "line " + std::to_string(number) + ": a quote is open");
  }
  for (auto& cell : cells) {
    const auto first = cell.find_first_not_of(" \t");
    cell = first == std::string::npos
               ? ""
               : cell.substr(first, cell.find_last_not_of(" \t") - first + 1);
  }
  return cells;
}

Result<json> CsvRow(const std::vector<std::string>& header, const std::vector<std::string>& cells,
                    int number) {
  auto bad = [&](const std::string& what) {
    return Fail(ErrorCode::kInvalidInput, "line " + std::to_string(number) + ": " + what);
  };
  if (cells.size() != header.size()) {
    return bad(std::to_string(cells.size()) + " cells where the header names " +
               std::to_string(header.size()));
  }
  json row = json::object();
  for (std::size_t i = 0; i < header.size(); ++i) {
    const std::string& key = header[i];
    const std::string& cell = cells[i];
    if (cell.empty()) continue;
    if (key == "uids") {
      json uids = json::array();
      std::size_t at = 0;
      while (at < cell.size()) {
        const auto start = cell.find_first_not_of(" ;", at);
        if (start == std::string::npos) break;
        const auto end = std::min(cell.find_first_of(" ;", start), cell.size());
        std::uint64_t uid = 0;
        auto [ptr, ec] = std::from_chars(cell.data() + start, cell.data() + end, uid);
        if (ec != std::errc() || ptr != cell.data() + end) return bad("uids must be numbers");
        uids.push_back(uid);
        at = end;
      }
      row["uids"] = uids;
    } else if (key == "max_per_day" || key == "max_per_hour") {
      std::int64_t n = 0;
      auto [ptr, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), n);
      if (ec != std::errc() || ptr != cell.data() + cell.size())
        return bad(key + " must be a number");
      row[key] = n;
    } else if (key == "delete") {
      row["delete"] = cell == "true" || cell == "1" || cell == "yes";
    } else {
      row[key] = cell;
    }
  }
  return row;
}

}  // namespace

Result<std::vector<AccountFileRow>> ParseAccountFile(std::string_view text) {
  static constexpr std::string_view kColumns[] = {
      "name", "uids", "report_to", "language", "max_per_day", "max_per_hour", "delete"};
  std::vector<AccountFileRow> rows;
  std::vector<std::string> header;
  bool json_lines = false;
  bool started = false;
  int number = 0;
  std::size_t at = 0;
  while (at <= text.size()) {
    const auto end = std::min(text.find('\n', at), text.size());
    std::string_view line = text.substr(at, end - at);
    at = end + 1;
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') continue;
    if (!started) {
      started = true;
      json_lines = line[first] == '{';
      if (!json_lines) {
        MW_ASSIGN_OR_RETURN(header, SplitCsv(line, number));
        bool named = false;
        for (const auto& column : header) {
          if (std::find(std::begin(kColumns), std::end(kColumns), column) == std::end(kColumns)) {
            return Fail(ErrorCode::kInvalidInput,
                        "line " + std::to_string(number) + ": unknown column \"" + column +
                            "\" (the first line names the columns: name,uids,report_to,...)");
          }
          named = named || column == "name";
        }
        if (!named) {
          return Fail(ErrorCode::kInvalidInput,
                      "line " + std::to_string(number) + ": the header has no \"name\" column");
        }
        continue;
      }
    }
    if (json_lines) {
      json row = json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (row.is_discarded() || !row.is_object()) {
        return Fail(ErrorCode::kInvalidInput,
                    "line " + std::to_string(number) + ": not a JSON object");
      }
      rows.push_back({number, std::move(row)});
    } else {
      MW_ASSIGN_OR_RETURN(const auto cells, SplitCsv(line, number));
      MW_ASSIGN_OR_RETURN(json row, CsvRow(header, cells, number));
      rows.push_back({number, std::move(row)});
    }
    if (end == text.size()) break;
  }
  return rows;
}

Result<AccountFileSent> SendAccountFile(const ApiClient& client, std::vector<AccountFileRow> rows,
                                        bool remove_missing, bool purge) {
  AccountFileSent sent;
  if (remove_missing) {
    // A row that deletes its account names it too: it is deleted once.
    std::set<std::string> named;
    for (const auto& r : rows) {
      if (r.row.contains("name") && r.row["name"].is_string()) {
        named.insert(r.row["name"].get<std::string>());
      }
    }
    // Every account, a page of 1,000 at a time, by name.
    std::string target = "/api/v1/accounts?limit=1000";
    for (;;) {
      MW_ASSIGN_OR_RETURN(auto page, client.Request("GET", target));
      if (page.status != 200) {
        sent.failed = std::move(page);
        return sent;
      }
      for (const auto& item : page.json.value("items", json::array())) {
        const std::string name = item.value("name", "");
        if (!name.empty() && !named.contains(name)) {
          rows.push_back({0, json{{"name", name}, {"delete", true}}});
        }
      }
      const json next = page.json.value("next", json(nullptr));
      if (!next.is_string()) break;
      target = "/api/v1/accounts?limit=1000&cursor=" + PercentEncode(next.get<std::string>());
    }
  }
  sent.total = {{"created", 0}, {"updated", 0}, {"unchanged", 0}, {"removed", 0}};
  json refused = json::array();
  for (std::size_t first = 0; first < rows.size(); first += kImportBatch) {
    const std::size_t end = std::min(rows.size(), first + kImportBatch);
    json batch = json::array();
    for (std::size_t i = first; i < end; ++i) batch.push_back(rows[i].row);
    MW_ASSIGN_OR_RETURN(auto answer, client.Request("POST", "/api/v1/accounts:import",
                                                    json{{"accounts", batch}, {"purge", purge}}));
    if (answer.status != 200) {
      sent.failed = std::move(answer);
      return sent;
    }
    for (const char* key : {"created", "updated", "unchanged", "removed"}) {
      sent.total[key] = sent.total[key].get<std::int64_t>() + answer.json.value(key, 0);
    }
    for (json item : answer.json.value("refused", json::array())) {
      const std::size_t row = first + item.value("row", std::size_t{1}) - 1;
      item.erase("row");
      item["line"] = row < rows.size() && rows[row].line > 0 ? json(rows[row].line) : json();
      refused.push_back(std::move(item));
    }
  }
  sent.total["refused"] = std::move(refused);
  return sent;
}

}  // namespace mailwarden
