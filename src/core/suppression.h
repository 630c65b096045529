// Suppression (policy.suppress_for): a recipient that failed as a bad mailbox or a bad domain,
// at hand-over or in a bounce that came later, is not sent to again by that account for a
// while; its mail fails at once, category `suppressed`, and never reaches the relay. Pure.
#pragma once

#include <string>
#include <string_view>

#include "core/types.h"

namespace mailwarden {

// Whether a failure of this category (by name, core/failure_category.h) suppresses its
// recipient: bad_mailbox and bad_domain.
bool Suppresses(std::string_view category);

// The address as suppressions are keyed: its domain (after the last '@') in lower case, its
// local part as it is (RFC 5321 leaves the local part's case to the receiving side).
std::string SuppressionAddress(std::string_view address);

// A suppressed recipient's failure text, quoting the failure that suppressed it:
//   suppressed: not sent; this address failed on 2026-12-06 (bad_mailbox, 5.1.1): <reply>
std::string SuppressedReply(std::string_view category, std::string_view status,
                            std::string_view reply, TimePoint at);

}  // namespace mailwarden
