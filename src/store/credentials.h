// Secrets the store keeps only as digests: API tokens and SMTP passwords. Both are random
// values of 256 bits made here (NewSecret), so a plain SHA-256 is enough to keep them from
// being read back: there is nothing to guess that a slow hash would protect.
#pragma once

#include <string>
#include <string_view>

namespace mailwarden {

// A new secret: 32 bytes from the OS's random generator, as 64 lower-case hex digits.
std::string NewSecret();

// SHA-256 of the secret, lower-case hex: what the store keeps.
std::string SecretDigest(std::string_view secret);

// Compares two digests in constant time (for equal lengths): timing tells nothing of either.
bool DigestsEqual(std::string_view a, std::string_view b);

}  // namespace mailwarden
