#include "core/failure_category.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

#include "core/name_table.h"
#include "core/text.h"

namespace mailwarden {
namespace {

using C = FailureCategory;

constexpr NameTable<FailureCategory, kFailureCategoryCount> kNames{{
    {C::kBadMailbox, "bad_mailbox"},
    {C::kBadDomain, "bad_domain"},
    {C::kMailboxFull, "mailbox_full"},
    {C::kSpamBlock, "spam_block"},
    {C::kPolicy, "policy"},
    {C::kContent, "content"},
    {C::kRouting, "routing"},
    {C::kOther, "other"},
    {C::kSuppressed, "suppressed"},
    {C::kExpired, "expired"},
    {C::kUnclassified, "unclassified"},
}};

struct CategoryWords {
  FailureCategory category;
  std::string_view en;
  std::string_view pl;
};

constexpr std::array<CategoryWords, kFailureCategoryCount> kWords{{
    {C::kBadMailbox, "The address does not exist: correct it or stop sending to it.",
     "Adres nie istnieje: popraw go lub przestań na niego wysyłać."},
    {C::kBadDomain, "The address's domain does not exist or receives no e-mail.",
     "Domena adresu nie istnieje lub nie odbiera poczty."},
    {C::kMailboxFull, "The recipient's mailbox is full; a later message may get through.",
     "Skrzynka odbiorcy jest pełna; późniejsza wiadomość może dotrzeć."},
    {C::kSpamBlock,
     "The receiving server refused the message as spam or for the sending server's reputation.",
     "Serwer odbiorcy odrzucił wiadomość jako spam lub z powodu reputacji serwera wysyłającego."},
    {C::kPolicy, "The receiving server's rules refused the message (e.g. the sender's address).",
     "Zasady serwera odbiorcy odrzuciły wiadomość (np. z powodu adresu nadawcy)."},
    {C::kContent,
     "The receiving server refused the message's content (too large, a virus, an attachment).",
     "Serwer odbiorcy odrzucił treść wiadomości (zbyt duża, wirus, załącznik)."},
    {C::kRouting, "The recipient's server could not be reached.",
     "Nie udało się połączyć z serwerem odbiorcy."},
    {C::kOther, "The receiving server refused the message for good.",
     "Serwer odbiorcy odrzucił wiadomość na stałe."},
    {C::kSuppressed,
     "Not sent: this address bounced earlier, so mail to it is stopped for a while.",
     "Nie wysłano: ten adres wcześniej odrzucił pocztę, więc wysyłka do niego jest na jakiś "
     "czas wstrzymana."},
    {C::kExpired,
     "Not sent: the message was held while sending was blocked, for longer than allowed.",
     "Nie wysłano: wiadomość była wstrzymana przy zablokowanej wysyłce dłużej, niż to "
     "dozwolone."},
    {C::kUnclassified, "A bounce came back whose reason could not be recognised.",
     "Wróciła wiadomość o niedoręczeniu, której przyczyny nie udało się rozpoznać."},
}};

// The built-in table. Status rules follow RFC 3463's subjects (X.1 addressing, X.2 mailbox,
// X.3 mail system, X.4 network and routing, X.5 protocol, X.6 content, X.7 security and
// policy) with the codes later RFCs gave (RFC 7505 null MX, RFC 7372 authentication).
const std::vector<CategoryRule>& BuiltInRules() {
  static const std::vector<CategoryRule> rules = {
      // Status and text together: a policy code whose text says spam or a block list.
      {"5.7", "spam", C::kSpamBlock},
      {"5.7", "blacklist", C::kSpamBlock},
      {"5.7", "blocklist", C::kSpamBlock},
      {"5.7", "block list", C::kSpamBlock},
      {"5.7", "spamhaus", C::kSpamBlock},
      {"5.7", "reputation", C::kSpamBlock},
      {"5.7", "virus", C::kContent},
      {"5.7", "malware", C::kContent},
      {"5.7", "attachment", C::kContent},
      {"5.7", "user unknown", C::kBadMailbox},
      {"5.7", "does not exist", C::kBadMailbox},
      // Status alone.
      {"5.1.0", "", C::kBadMailbox},
      {"5.1.1", "", C::kBadMailbox},
      {"5.1.2", "", C::kBadDomain},
      {"5.1.3", "", C::kBadMailbox},
      {"5.1.4", "", C::kBadMailbox},
      {"5.1.5", "", C::kBadMailbox},
      {"5.1.6", "", C::kBadMailbox},
      {"5.1.7", "", C::kPolicy},
      {"5.1.8", "", C::kPolicy},
      {"5.1.10", "", C::kBadDomain},
      {"5.2.0", "", C::kOther},
      {"5.2.1", "", C::kBadMailbox},
      {"5.2.2", "", C::kMailboxFull},
      {"5.2.3", "", C::kContent},
      {"5.3.4", "", C::kContent},
      {"5.3", "", C::kOther},
      {"5.4.4", "", C::kBadDomain},
      {"5.4", "", C::kRouting},
      {"5.5", "", C::kOther},
      {"5.6", "", C::kContent},
      {"5.7", "", C::kPolicy},
      {"4.2.2", "", C::kMailboxFull},
      {"4.4", "", C::kRouting},
      {"4.7", "", C::kPolicy},
      // Text alone: replies without an enhanced code, or with one that says little.
      {"", "user unknown", C::kBadMailbox},
      {"", "unknown user", C::kBadMailbox},
      {"", "no such user", C::kBadMailbox},
      {"", "no such recipient", C::kBadMailbox},
      {"", "invalid recipient", C::kBadMailbox},
      {"", "recipient unknown", C::kBadMailbox},
      {"", "mailbox unavailable", C::kBadMailbox},
      {"", "mailbox not found", C::kBadMailbox},
      {"", "mailbox does not exist", C::kBadMailbox},
      {"", "address rejected", C::kBadMailbox},
      {"", "account disabled", C::kBadMailbox},
      {"", "host not found", C::kBadDomain},
      {"", "domain not found", C::kBadDomain},
      {"", "host or domain name not found", C::kBadDomain},
      {"", "name service error", C::kBadDomain},
      {"", "no mx", C::kBadDomain},
      {"", "nxdomain", C::kBadDomain},
      {"", "domain does not exist", C::kBadDomain},
      {"", "does not exist", C::kBadMailbox},
      {"", "mailbox full", C::kMailboxFull},
      {"", "mailbox is full", C::kMailboxFull},
      {"", "over quota", C::kMailboxFull},
      {"", "quota exceeded", C::kMailboxFull},
      {"", "insufficient storage", C::kMailboxFull},
      {"", "spam", C::kSpamBlock},
      {"", "blacklist", C::kSpamBlock},
      {"", "blocklist", C::kSpamBlock},
      {"", "spamhaus", C::kSpamBlock},
      {"", "reputation", C::kSpamBlock},
      {"", "too large", C::kContent},
      {"", "too big", C::kContent},
      {"", "size limit", C::kContent},
      {"", "virus", C::kContent},
      {"", "relay access denied", C::kPolicy},
      {"", "relaying denied", C::kPolicy},
      {"", "not permitted", C::kPolicy},
      {"", "connection refused", C::kRouting},
      {"", "connection timed out", C::kRouting},
      {"", "mail loops", C::kRouting},
      {"", "loops back", C::kRouting},
  };
  return rules;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// "5.7" matches "5.7" and "5.7.26", not "5.70.1".
bool StatusMatches(std::string_view prefix, std::string_view status) {
  if (prefix.empty()) return true;
  if (!status.starts_with(prefix)) return false;
  return status.size() == prefix.size() || status[prefix.size()] == '.';
}

bool TextMatches(std::string_view needle, std::string_view lower_haystack) {
  return needle.empty() || lower_haystack.find(needle) != std::string_view::npos;
}

// digits "." digits "." digits, the first one 2, 4 or 5, the others 1-3 digits.
bool ValidStatus(std::string_view s, bool prefix_allowed) {
  int parts = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t start = i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    const std::size_t len = i - start;
    if (len == 0 || len > 3) return false;
    if (parts == 0 && (len != 1 || (s[start] != '2' && s[start] != '4' && s[start] != '5'))) {
      return false;
    }
    ++parts;
    if (i == s.size()) break;
    if (s[i] != '.') return false;
    ++i;
    if (i == s.size()) return false;
  }
  return parts == 3 || (prefix_allowed && parts >= 1 && parts <= 3);
}

}  // namespace

std::string_view FailureCategoryName(FailureCategory c) { return NameOf(kNames, c); }
std::optional<FailureCategory> ParseFailureCategory(std::string_view name) {
  return LookupName(kNames, name);
}
std::vector<FailureCategory> AllFailureCategories() {
  std::vector<FailureCategory> all;
  for (const auto& [c, name] : kNames) all.push_back(c);
  return all;
}

std::string_view FailureCategoryText(FailureCategory c, std::string_view language) {
  for (const CategoryWords& w : kWords) {
    if (w.category == c) return language == "pl" ? w.pl : w.en;
  }
  return language == "pl" ? kWords[7].pl : kWords[7].en;
}

FailureCategory StoredFailureCategory(std::string_view name, std::string_view reply) {
  if (auto c = ParseFailureCategory(name)) return *c;
  if (reply.starts_with("expired:")) return C::kExpired;
  static const FailureClassifier kBuiltIn;
  return kBuiltIn.Classify(reply);
}

std::string FindEnhancedStatus(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '2' && text[i] != '4' && text[i] != '5') continue;
    if (i > 0 && (IsDigit(text[i - 1]) || text[i - 1] == '.')) continue;
    if (i + 1 >= text.size() || text[i + 1] != '.') continue;
    std::size_t j = i + 2;
    int parts = 1;
    bool ok = true;
    while (parts < 3) {
      const std::size_t start = j;
      while (j < text.size() && IsDigit(text[j])) ++j;
      if (j == start || j - start > 3) {
        ok = false;
        break;
      }
      ++parts;
      if (parts < 3) {
        if (j >= text.size() || text[j] != '.') {
          ok = false;
          break;
        }
        ++j;
      }
    }
    if (!ok) continue;
    // Not part of a longer dotted number (an IP address, a version).
    if (j < text.size() &&
        (IsDigit(text[j]) || (text[j] == '.' && j + 1 < text.size() && IsDigit(text[j + 1])))) {
      continue;
    }
    return std::string(text.substr(i, j - i));
  }
  return {};
}

int LeadingReplyCode(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && text[i] == ' ') ++i;
  if (text.size() < i + 3) return 0;
  if (!IsDigit(text[i]) || !IsDigit(text[i + 1]) || !IsDigit(text[i + 2])) return 0;
  if (text.size() > i + 3 && IsDigit(text[i + 3])) return 0;
  const int code = (text[i] - '0') * 100 + (text[i + 1] - '0') * 10 + (text[i + 2] - '0');
  return code >= 200 && code < 600 ? code : 0;
}

FailureClassifier::FailureClassifier() : FailureClassifier(std::vector<CategoryRule>{}) {}

FailureClassifier::FailureClassifier(std::vector<CategoryRule> extra) : rules_(std::move(extra)) {
  for (CategoryRule& r : rules_) r.text = ToAsciiLower(r.text);
  const auto& built_in = BuiltInRules();
  rules_.insert(rules_.end(), built_in.begin(), built_in.end());
}

const std::vector<CategoryRule>& FailureClassifier::BuiltIn() { return BuiltInRules(); }

FailureCategory FailureClassifier::Classify(std::string_view text) const {
  return Classify("", text);
}

FailureCategory FailureClassifier::Classify(std::string_view status, std::string_view text) const {
  std::string found;
  if (status.empty() || !ValidStatus(status, false)) {
    found = FindEnhancedStatus(text);
    status = found;
  }
  const std::string lower = ToAsciiLower(text);

  // 1. Status and text: the longest status that matches (the provider's first on a tie).
  if (!status.empty()) {
    const CategoryRule* best = nullptr;
    for (const CategoryRule& r : rules_) {
      if (r.status.empty() || r.text.empty()) continue;
      if (!StatusMatches(r.status, status) || !TextMatches(r.text, lower)) continue;
      if (best == nullptr || r.status.size() > best->status.size()) best = &r;
    }
    if (best != nullptr) return best->category;
  }
  // 2. Status alone: the longest prefix.
  const CategoryRule* by_status = nullptr;
  if (!status.empty()) {
    for (const CategoryRule& r : rules_) {
      if (r.status.empty() || !r.text.empty() || !StatusMatches(r.status, status)) continue;
      if (by_status == nullptr || r.status.size() > by_status->status.size()) by_status = &r;
    }
    if (by_status != nullptr && by_status->category != C::kOther) return by_status->category;
  }
  // 3. Text alone, in order.
  for (const CategoryRule& r : rules_) {
    if (!r.status.empty() || r.text.empty()) continue;
    if (TextMatches(r.text, lower)) return r.category;
  }
  // 4. What the status said, else whether it was a failure at all.
  if (by_status != nullptr) return by_status->category;
  if (!status.empty() || LeadingReplyCode(text) != 0) return C::kOther;
  return C::kUnclassified;
}

Result<std::vector<CategoryRule>> ParseCategoryRules(std::string_view text) {
  std::vector<CategoryRule> rules;
  int line_no = 0;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    // Words separated by blanks; the text is the words after the second, joined by a space.
    std::vector<std::string_view> words;
    std::size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      const std::size_t start = i;
      while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
      if (i > start) words.push_back(line.substr(start, i - start));
    }
    if (words.empty() || words[0].starts_with('#')) continue;
    const auto where = [&] { return "line " + std::to_string(line_no) + ": "; };
    const auto category = ParseFailureCategory(words[0]);
    if (!category || *category == C::kSuppressed || *category == C::kExpired) {
      return Fail(ErrorCode::kInvalidInput,
                  where() + "\"" + std::string(words[0]) +
                      "\" is not a category a reply can have (bad_mailbox, bad_domain, "
                      "mailbox_full, spam_block, policy, content, routing, other, "
                      "unclassified)");
    }
    if (words.size() < 2) {
      return Fail(ErrorCode::kInvalidInput, where() +
                                                "a rule needs a status (or *) after the "
                                                "category");
    }
    CategoryRule rule;
    rule.category = *category;
    if (words[1] != "*") {
      if (!ValidStatus(words[1], true)) {
        return Fail(ErrorCode::kInvalidInput,
                    where() + "\"" + std::string(words[1]) +
                        "\" is not an enhanced status code or prefix (e.g. 5.1.1, 5.7)");
      }
      rule.status = std::string(words[1]);
    }
    for (std::size_t w = 2; w < words.size(); ++w) {
      if (!rule.text.empty()) rule.text += ' ';
      rule.text += words[w];
    }
    if (rule.status.empty() && rule.text.empty()) {
      return Fail(ErrorCode::kInvalidInput, where() + "a rule with status * needs a text");
    }
    rules.push_back(std::move(rule));
  }
  return rules;
}

}  // namespace mailwarden
