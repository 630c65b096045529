#include "scan/rspamd_reply.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace mailwarden {

std::vector<std::pair<std::string, std::string>> RspamdRequestFields(const UnscannedMessage& m,
                                                                     std::string_view hostname) {
  // Header values must not carry a line break: every value here was checked when the
  // message was stored (addresses) or is ours, but a break is dropped all the same.
  auto clean = [](std::string_view v) {
    std::string out;
    for (const char c : v) {
      if (c != '\r' && c != '\n') out += c;
    }
    return out;
  };
  std::vector<std::pair<std::string, std::string>> fields;
  fields.emplace_back("User", clean(m.account_name));
  fields.emplace_back("From", clean(m.sender));
  for (const std::string& r : m.recipients) fields.emplace_back("Rcpt", clean(r));
  fields.emplace_back("Queue-Id", std::to_string(m.id));
  fields.emplace_back("Hostname", clean(hostname));
  fields.emplace_back("X-Mailwarden-Script",
                      m.script.empty() ? std::to_string(m.uid) : clean(m.script));
  return fields;
}

Result<ScanResult> ParseRspamdReply(std::string_view json) {
  const nlohmann::json reply = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (reply.is_discarded() || !reply.is_object()) {
    return Fail(ErrorCode::kInvalidInput, "Rspamd's reply is not a JSON object");
  }
  const auto action = reply.find("action");
  const auto score = reply.find("score");
  if (action == reply.end() || !action->is_string() || score == reply.end() ||
      !score->is_number()) {
    return Fail(ErrorCode::kInvalidInput, "Rspamd's reply has no action or score");
  }
  ScanResult result;
  result.action = action->get<std::string>();
  result.score = std::round(score->get<double>() * 1000) / 1000;
  std::vector<std::pair<double, std::string>> scored;
  if (const auto symbols = reply.find("symbols"); symbols != reply.end() && symbols->is_object()) {
    for (const auto& [name, symbol] : symbols->items()) {
      double s = 0;
      if (symbol.is_object()) {
        if (const auto v = symbol.find("score"); v != symbol.end() && v->is_number()) {
          s = v->get<double>();
        }
      }
      scored.emplace_back(s, name);
    }
  }
  const bool any_positive = std::ranges::any_of(scored, [](const auto& s) { return s.first > 0; });
  std::erase_if(scored, [&](const auto& s) { return any_positive ? s.first <= 0 : s.first < 0; });
  std::ranges::sort(scored, [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  for (std::size_t i = 0; i < scored.size() && i < kMaxScanSymbols; ++i) {
    result.symbols.push_back(std::move(scored[i].second));
  }
  return result;
}

}  // namespace mailwarden
