// Sender identity's pure rules (docs/sender-identity.md): how a domain is spelt where it is
// stored and compared, which listed domain owns a name (subdomains follow their parent unless
// listed themselves), and whether a message's sender domains are its account's.
//
// Pure: no I/O. The owner of each name is looked up by the caller (the store, by its primary
// key: one lookup per candidate of DomainAndParents) and handed to JudgeSender.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/types.h"

namespace mailwarden {

// policy.sender_check: what happens to a message whose sender domain is not its account's.
enum class SenderCheck {
  kOff,     // nothing is checked
  kHold,    // stored, but held with the reason kSenderNotAllowed until released or purged
  kReject,  // refused at submission: drop-in exit 65, SMTP 550 5.7.1
};
std::string_view SenderCheckName(SenderCheck check);
std::optional<SenderCheck> ParseSenderCheck(std::string_view name);

// The reason held mail carries, and the sentence a refused submission is told.
inline constexpr std::string_view kSenderNotAllowed = "sender not allowed";

// A domain as it is stored and compared: lower case, without a trailing dot, each label of an
// internationalised domain in its A-label (punycode) form (IDNA2008 with UTS #46 mapping, as
// libidn2 converts it), so "Żółw.PL" and "xn--w-uga1v8h.pl" are one domain. Refused with
// kInvalidInput and a sentence: empty, over 253 bytes, a label empty or over 63 bytes, a
// character no host name may hold, a single label ("com"), an address literal.
Result<std::string> NormalizeDomain(std::string_view text);

// A normalised domain and its parents, most specific first, down to two labels:
// "a.b.example.com" -> {"a.b.example.com", "b.example.com", "example.com"}. The owner of a
// name is the account of the first of these that is listed.
std::vector<std::string> DomainAndParents(std::string_view domain);

// The normalised domain of an address "local@domain" (the last '@'); nullopt when there is
// none or it does not normalise (such a sender is not any account's).
std::optional<std::string> AddressDomain(std::string_view address);

// What a message claims to be from, as the From check reads it.
struct SenderClaim {
  // The domains of the From header's addresses as the script wrote them (none if it wrote no
  // From: the one mailwarden adds is the envelope sender's or the provider's default).
  std::vector<std::string> from_domains;
  // The envelope sender's domain, unless it is the null sender or mailwarden's own default
  // (the account's name at this host), which claims no one else's name.
  std::optional<std::string> envelope_domain;
};

// The sender domains of a claim, each once, From's first: what must be the account's.
std::vector<std::string> ClaimedDomains(const SenderClaim& claim);

// Whether each claimed domain belongs to `account`: owners[i] is the owner of
// ClaimedDomains(claim)[i] (nullopt: no account's). A claim of no domain (no From of the
// script's, a null or default sender) is allowed: it names no one.
bool SenderAllowed(AccountId account, const std::vector<std::optional<AccountId>>& owners);

}  // namespace mailwarden
