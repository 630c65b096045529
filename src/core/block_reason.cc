#include "core/block_reason.h"

#include <algorithm>
#include <charconv>

namespace mailwarden {
namespace {

struct ReasonPattern {
  std::string_view code;
  std::string_view text;
};

// Every reason the daemon writes. Decide's default reasons (account_state.cc) come last; the
// test ties both to this table.
constexpr ReasonPattern kPatterns[] = {
    {"spam_flood",
     "spam_guard: {submitted} messages submitted in the last hour, more than {limit}"},
    {"bounce_rate_doubled",
     "bounce_guard: {failed} of {attempted} deliveries in the last hour failed ({rate}%), more "
     "than {limit}% (tolerance doubled)"},
    {"bounce_rate",
     "bounce_guard: {failed} of {attempted} deliveries in the last hour failed ({rate}%), more "
     "than {limit}%"},
    {"content_quarantine",
     "spam_guard: content: {quarantined} messages quarantined by the content scanner in the last "
     "hour, the limit is {limit}"},
    {"unique_recipients", "spam_guard: more than {limit} different recipients in the last hour"},
    {"complaint_rate_doubled",
     "complaint_guard: {complaints} spam complaints about the {sent} messages sent today ({rate} "
     "per 10,000), more than {limit} per 10,000 (tolerance doubled)"},
    {"complaint_rate",
     "complaint_guard: {complaints} spam complaints about the {sent} messages sent today ({rate} "
     "per 10,000), more than {limit} per 10,000"},
    {"by_customer", "blocked by the customer"},
    {"by_admin", "blocked by the administrator"},
    {"spam_flood", "blocked by the spam guard: too many e-mails in an hour"},
    {"bounce_rate", "blocked by the bounce guard: too many failed deliveries"},
    {"complaint_rate", "blocked by the complaint guard: too many spam complaints"},
};

// Reads the whole number at the start of text (an optional '-', then digits) into value;
// returns how many characters it took, 0 if none.
std::size_t ReadNumber(std::string_view text, std::int64_t& value) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc()) return 0;
  return static_cast<std::size_t>(end - text.data());
}

std::optional<BlockReasonCode> Match(const ReasonPattern& p, std::string_view text) {
  BlockReasonCode out{std::string(p.code), {}};
  std::string_view pattern = p.text;
  while (!pattern.empty()) {
    const auto open = pattern.find('{');
    const std::string_view literal = pattern.substr(0, open);
    if (text.substr(0, literal.size()) != literal) return std::nullopt;
    text.remove_prefix(literal.size());
    if (open == std::string_view::npos) break;
    const auto close = pattern.find('}', open);
    std::int64_t value = 0;
    const std::size_t used = ReadNumber(text, value);
    if (used == 0) return std::nullopt;
    text.remove_prefix(used);
    out.params.emplace_back(std::string(pattern.substr(open + 1, close - open - 1)), value);
    pattern.remove_prefix(close + 1);
  }
  if (!text.empty()) return std::nullopt;
  return out;
}

}  // namespace

std::string FormatBlockReason(std::string_view code,
                              const std::vector<std::pair<std::string, std::int64_t>>& params) {
  for (const auto& p : kPatterns) {
    if (p.code != code || p.text.find('{') == std::string_view::npos) continue;
    std::string out;
    std::string_view pattern = p.text;
    while (!pattern.empty()) {
      const auto open = pattern.find('{');
      out += pattern.substr(0, open);
      if (open == std::string_view::npos) break;
      const auto close = pattern.find('}', open);
      const std::string_view name = pattern.substr(open + 1, close - open - 1);
      const auto it = std::find_if(params.begin(), params.end(),
                                   [&](const auto& kv) { return kv.first == name; });
      if (it == params.end()) return "";
      out += std::to_string(it->second);
      pattern.remove_prefix(close + 1);
    }
    return out;
  }
  return "";
}

std::optional<BlockReasonCode> ParseBlockReason(std::string_view text) {
  for (const auto& p : kPatterns) {
    if (auto found = Match(p, text)) return found;
  }
  return std::nullopt;
}

}  // namespace mailwarden
