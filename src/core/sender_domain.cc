#include "core/sender_domain.h"

#include <idn2.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <utility>

#include "core/name_table.h"
#include "core/text.h"

namespace mailwarden {
namespace {

constexpr NameTable<SenderCheck, 3> kSenderCheckNames = {{
    {SenderCheck::kOff, "off"},
    {SenderCheck::kHold, "hold"},
    {SenderCheck::kReject, "reject"},
}};

constexpr std::size_t kMaxDomainBytes = 253;
constexpr std::size_t kMaxLabelBytes = 63;

bool IsLdh(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// An ASCII name, lowered: each label letters, digits, '-' (and '_', which DNS allows and
// selectors and SPF names use), none empty, none over 63 bytes, at least two.
Result<void> CheckAsciiDomain(std::string_view domain, std::string_view original) {
  if (domain.empty()) return Fail(ErrorCode::kInvalidInput, "a domain is needed");
  if (domain.size() > kMaxDomainBytes) {
    return Fail(ErrorCode::kInvalidInput, "domain " + Quoted(original) + " is over 253 bytes");
  }
  std::size_t labels = 0;
  std::size_t start = 0;
  while (start <= domain.size()) {
    const std::size_t dot = std::min(domain.find('.', start), domain.size());
    const std::string_view label = domain.substr(start, dot - start);
    if (label.empty() || label.size() > kMaxLabelBytes || !std::ranges::all_of(label, IsLdh) ||
        label.front() == '-' || label.back() == '-') {
      return Fail(ErrorCode::kInvalidInput,
                  "domain " + Quoted(original) +
                      " is not a domain name (labels of 1 to 63 letters, digits and '-')");
    }
    ++labels;
    start = dot + 1;
  }
  if (labels < 2) {
    return Fail(ErrorCode::kInvalidInput,
                "domain " + Quoted(original) + " is a top-level name, not a domain of one's own");
  }
  return {};
}

}  // namespace

std::string_view SenderCheckName(SenderCheck check) { return NameOf(kSenderCheckNames, check); }

std::optional<SenderCheck> ParseSenderCheck(std::string_view name) {
  return LookupName(kSenderCheckNames, name);
}

Result<std::string> NormalizeDomain(std::string_view text) {
  std::string domain(text);
  while (!domain.empty() && domain.back() == '.') domain.pop_back();
  if (domain.size() > 4 * kMaxDomainBytes) {
    return Fail(ErrorCode::kInvalidInput,
                "domain " + Quoted(text.substr(0, 64)) + "... is too long");
  }
  const bool ascii =
      std::ranges::all_of(domain, [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (!ascii) {
    // libidn2 with UTS #46 non-transitional mapping (what browsers and mail software use):
    // lower-cases, maps and converts each label to its A-label.
    char* converted = nullptr;
    const int rc =
        idn2_to_ascii_8z(domain.c_str(), &converted, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
    if (rc != IDN2_OK) {
      return Fail(ErrorCode::kInvalidInput,
                  "domain " + Quoted(ScrubControl(text)) +
                      " is not a valid internationalised name: " + idn2_strerror(rc));
    }
    domain = converted;
    idn2_free(converted);
  }
  domain = ToAsciiLower(domain);
  if (auto ok = CheckAsciiDomain(domain, ScrubControl(text)); !ok) {
    return std::unexpected(ok.error());
  }
  return domain;
}

std::vector<std::string> DomainAndParents(std::string_view domain) {
  std::vector<std::string> names;
  std::size_t start = 0;
  while (true) {
    const std::string_view rest = domain.substr(start);
    if (rest.find('.') == std::string_view::npos) break;  // a top-level name owns nothing
    names.emplace_back(rest);
    start = domain.find('.', start) + 1;
  }
  return names;
}

std::optional<std::string> AddressDomain(std::string_view address) {
  const std::size_t at = address.rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  auto domain = NormalizeDomain(address.substr(at + 1));
  if (!domain) return std::nullopt;
  return std::move(*domain);
}

std::vector<std::string> ClaimedDomains(const SenderClaim& claim) {
  std::vector<std::string> domains;
  auto add = [&domains](const std::string& d) {
    if (std::ranges::find(domains, d) == domains.end()) domains.push_back(d);
  };
  for (const std::string& d : claim.from_domains) add(d);
  if (claim.envelope_domain) add(*claim.envelope_domain);
  return domains;
}

bool SenderAllowed(AccountId account, const std::vector<std::optional<AccountId>>& owners) {
  return std::ranges::all_of(owners, [account](const std::optional<AccountId>& owner) {
    return owner && *owner == account;
  });
}

}  // namespace mailwarden
