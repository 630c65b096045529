// What kind of failure a failed delivery is: the one rules table that turns a remote server's
// reply (at hand-over, or in a bounce that came later) into a category a customer can act on.
//
// A reply is judged by its enhanced status code first (RFC 3463, "5.1.1") and by its text
// second, as KumoMTA's bounce classifier does:
//   1. rules naming a status and a text, both matching (the longest status first): a 5.7.1
//      that says "spamhaus" is a spam block, not a policy refusal;
//   2. rules naming a status alone (the longest matching prefix): the category, unless it is
//      `other` (a 5.0.0 says little);
//   3. rules naming a text alone, in the table's order;
//   4. what step 2 found, else `other` for a reply with a status or an SMTP code, else
//      `unclassified`.
// A provider's rules (FailureClassifier's `extra`) are tried before the built-in ones at every
// step, so a file can override or extend the table. Texts match case-insensitively as
// substrings (ASCII); a status matches as a dotted prefix ("5.7" matches "5.7.26", not
// "5.70.1").
//
// Pure: no I/O; a classifier is immutable after construction and may be shared by threads.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace mailwarden {

// The categories, as the API, the store, the report and /metrics spell them
// (FailureCategoryName). Stored by name: never rename one.
enum class FailureCategory {
  kBadMailbox,    // the address does not exist (or is disabled): do not send to it again
  kBadDomain,     // the domain does not exist or receives no mail
  kMailboxFull,   // the recipient's mailbox is over its quota
  kSpamBlock,     // refused as spam, or for the sending server's reputation (a block list)
  kPolicy,        // refused by the receiving side's rules (authentication, relaying, sender)
  kContent,       // the message itself: too large, a virus, a forbidden attachment
  kRouting,       // the receiving side could not be reached or routed to
  kOther,         // a permanent failure that says no more
  kSuppressed,    // not sent: the address bounced before (policy.suppress_for)
  kExpired,       // not sent: held while sending was blocked, longer than allowed
  kUnclassified,  // a bounce whose text says nothing recognisable
};

inline constexpr std::size_t kFailureCategoryCount = 11;

std::string_view FailureCategoryName(FailureCategory c);
std::optional<FailureCategory> ParseFailureCategory(std::string_view name);
// Every category, in the order above (for /metrics and the docs).
std::vector<FailureCategory> AllFailureCategories();

// What a category means, for a customer, in `language` ("pl" Polish, anything else English):
// one sentence, naming nothing of the configuration.
std::string_view FailureCategoryText(FailureCategory c, std::string_view language);

// The category of a stored failure: its stored name, or for a failure stored before categories
// were ("" or unknown) what the built-in table makes of its reply (an old expiry's reply
// starts "expired:").
FailureCategory StoredFailureCategory(std::string_view name, std::string_view reply);

// The first enhanced status code in a text (class 2, 4 or 5, then 1-3 and 1-3 digits: RFC
// 3463), as "5.1.1"; "" if none. "550 5.1.1 <a@b>: unknown" gives "5.1.1".
std::string FindEnhancedStatus(std::string_view text);
// The SMTP reply code a text starts with (RFC 5321: three digits, 2xx to 5xx), or 0.
int LeadingReplyCode(std::string_view text);

struct CategoryRule {
  std::string status;  // an enhanced status code or a prefix of one ("5.1.1", "5.7"); "" any
  std::string text;    // a substring, case-insensitive; "" any
  FailureCategory category = FailureCategory::kOther;
};

class FailureClassifier {
 public:
  // The built-in table alone.
  FailureClassifier();
  // A provider's rules, tried before the built-in table's at every step.
  explicit FailureClassifier(std::vector<CategoryRule> extra);

  // A reply or a bounce's diagnostic text; its status is looked for in it.
  FailureCategory Classify(std::string_view text) const;
  // With the status given apart (a DSN's Status: field); "" falls back to the text's.
  FailureCategory Classify(std::string_view status, std::string_view text) const;

  // The built-in rules, as they are tried (for the docs and tests).
  static const std::vector<CategoryRule>& BuiltIn();

 private:
  std::vector<CategoryRule> rules_;  // the provider's first, then the built-in ones
};

// Reads a provider's rules file: one rule a line, `CATEGORY STATUS [TEXT...]`, where STATUS is
// an enhanced status code or prefix, or `*` for any, and TEXT the rest of the line (words
// separated by single spaces, matched as one substring); `#` starts a comment line. Fails
// with kInvalidInput naming the line and what is wrong with it (an unknown category, a status
// that is not digits and dots, a rule with neither status nor text).
Result<std::vector<CategoryRule>> ParseCategoryRules(std::string_view text);

}  // namespace mailwarden
