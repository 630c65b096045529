// Why an account is blocked, as the daemon words it (the English sentence stored with the block,
// shown in the audit log and the guard's notice) and as a code with its numbers, for clients
// that word it themselves (the panel, in the customer's language).
//
// One table holds each reason the daemon writes: its code and its English pattern, in which
// {name} stands for a whole number. FormatBlockReason fills a pattern; ParseBlockReason reads a
// stored reason back. A reason someone wrote themselves (an administrator's or a customer's own
// words) has no code: clients show it as written.
//
// Codes (and their numbers):
// - spam_flood (submitted, limit): the spam guard: more than `limit` messages submitted in an
//   hour; without numbers in the default reason of an older block.
// - bounce_rate (failed, attempted, rate, limit): the bounce guard: `rate`% of `attempted`
//   deliveries in an hour failed, more than `limit`%; bounce_rate_doubled when the tolerance was
//   doubled after an UNBLOCK.
// - content_quarantine (quarantined, limit): the content guard: `quarantined` messages the
//   content scanner quarantined in an hour, reaching policy.quarantine_per_hour (`limit`).
// - unique_recipients (limit): mail to more than `limit` different recipients in an hour
//   (policy.unique_recipients_per_hour).
// - complaint_rate (complaints, sent, rate, limit): the complaint guard: `complaints` spam
//   complaints about the `sent` messages sent today, `rate` in 10,000, more than `limit` in
//   10,000 (policy.complaint_rate); complaint_rate_doubled when the tolerance was doubled
//   after an UNBLOCK.
// - by_customer, by_admin: the default reasons of a block without words of its own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailwarden {

struct BlockReasonCode {
  std::string code;
  std::vector<std::pair<std::string, std::int64_t>> params;  // in the pattern's order
};

// The reason of `code` with its numbers, in English; empty for an unknown code or a missing
// number.
std::string FormatBlockReason(std::string_view code,
                              const std::vector<std::pair<std::string, std::int64_t>>& params);

// The code and numbers of a reason the daemon wrote; nullopt for any other text.
std::optional<BlockReasonCode> ParseBlockReason(std::string_view text);

}  // namespace mailwarden
