#include "cmd/ctl_table.h"

#include <iostream>

#include "core/text.h"

namespace mailwarden {
namespace {

constexpr std::size_t kMaxCellWidth = 48;

}  // namespace

// Width on a terminal, counting UTF-8 code points.
std::size_t DisplayWidth(std::string_view s) {
  std::size_t n = 0;
  for (const unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Control characters out (a subject cannot drive the terminal: C0, DEL and C1 become '?'),
// then cut to max code points, the cut marked with "...".
std::string Clean(std::string_view s, std::size_t max) {
  std::string out = ScrubControl(s, '?', ControlSet::kC0DelAndC1);
  if (max == std::string::npos || DisplayWidth(out) <= max || max < 4) return out;
  std::size_t kept = 0;
  std::size_t end = 0;
  for (; end < out.size(); ++end) {
    if ((static_cast<unsigned char>(out[end]) & 0xC0) != 0x80 && kept++ == max - 3) break;
  }
  out.resize(end);
  return out + "...";
}

std::string Cell(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return Clean(v.get<std::string>(), kMaxCellWidth);
  if (v.is_array()) {
    std::string joined;
    for (const auto& item : v) {
      if (!joined.empty()) joined += ",";
      joined += item.is_string() ? item.get<std::string>() : item.dump();
    }
    return Clean(joined, kMaxCellWidth);
  }
  return Clean(v.dump(), kMaxCellWidth);
}

const json& Field(const json& object, const char* key) {
  static const json kNull;
  if (!object.is_object()) return kNull;
  auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

void PrintTable(const std::vector<std::string>& headers,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths(headers.size());
  for (std::size_t i = 0; i < headers.size(); ++i) widths[i] = DisplayWidth(headers[i]);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], DisplayWidth(row[i]));
    }
  }
  auto print = [&](const std::vector<std::string>& row) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - DisplayWidth(row[i]) + 2, ' ');
    }
    std::cout << line << "\n";
  };
  print(headers);
  for (const auto& row : rows) print(row);
}

void PrintItems(const json& body, const std::vector<std::string>& headers,
                const std::vector<const char*>& keys, std::string_view none) {
  const json& items = Field(body, "items");
  if (!items.is_array() || items.empty()) {
    std::cout << none << "\n";
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& item : items) {
    std::vector<std::string> row;
    for (const char* key : keys) row.push_back(Cell(Field(item, key)));
    rows.push_back(std::move(row));
  }
  PrintTable(headers, rows);
}

// GET .../email, a POST .../request answer or a new account: one field a line.
void PrintStatus(const json& s) {
  static const std::vector<std::pair<const char*, const char*>> kFields = {
      {"account", "account"},         {"state", "state"},         {"blocked_by", "blocked by"},
      {"reason", "reason"},           {"since", "since"},         {"sent", "sent"},
      {"sent_today", "sent today"},   {"errors", "errors"},       {"held", "held"},
      {"queued", "queued"},           {"expired", "expired"},     {"purged", "purged"},
      {"max_per_day", "max per day"}, {"report_to", "report to"}, {"language", "language"},
  };
  std::vector<std::vector<std::string>> rows;
  for (const auto& [key, label] : kFields) {
    if (s.is_object() && s.contains(key)) rows.push_back({label, Cell(s[key])});
  }
  PrintTable({"FIELD", "VALUE"}, rows);
}

std::string Text(const json& value) {
  return value.is_string() ? Clean(value.get<std::string>()) : value.is_null() ? "" : value.dump();
}

}  // namespace mailwarden
