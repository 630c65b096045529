// DKIM keys: making one, and the DNS TXT record that publishes it (RFC 6376 3.6.1; RFC 8463
// for ed25519). The private key is PEM (PKCS #8) as libopendkim reads it when signing.
//
// Pure computation over OpenSSL: thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "store/store.h"

namespace mailwarden {

inline constexpr int kDkimRsaBits = 2048;

// A new key of `algorithm` (RSA: 2048 bits) for domain and selector, created at `now`.
// kInternal if OpenSSL fails (it does not, short of memory).
Result<DkimKey> GenerateDkimKey(std::string_view domain, std::string_view selector,
                                DkimAlgorithm algorithm, TimePoint now);

// Base64 (RFC 4648, padded, no line breaks) of size bytes: the p= and b= values.
std::string Base64(const unsigned char* data, std::size_t size);

// The TXT record's value: "v=DKIM1; k=rsa; p=..." or "v=DKIM1; k=ed25519; p=...".
std::string DkimRecord(const DkimKey& key);
// Where it is published: "<selector>._domainkey.<domain>".
std::string DkimRecordName(const DkimKey& key);

// A selector is a DNS label of letters, digits and '-' (at most 63). kInvalidInput otherwise.
Result<void> CheckSelector(std::string_view selector);

// The selector a new key gets when none is given: "mw" and the UTC date and time of `now`
// ("mw20261206t1830"), so that a rotation's new selector differs from the one before.
std::string DefaultSelector(TimePoint now);

}  // namespace mailwarden
