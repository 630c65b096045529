// The return path mailwarden gives the relay (bounces.domain): an envelope sender that names
// the message and its account and is signed, so that a bounce coming back to it finds its
// message without a scan, and nobody can make one up for another account's message.
//
//   mw-<message id>-<account id>-<signature>@<bounces.domain>
//
// The signature is the first kSignatureHexDigits hex digits of HMAC-SHA256 with the secret of
// bounces.secret_file over "<message id>.<account id>" (64 bits: a forger must guess, and each
// guess costs a connection). Every node of a fleet shares the secret, so any node verifies
// what another signed. Local parts are compared case-insensitively (some MTAs change case).
//
// Thread-safe: immutable after construction.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/types.h"

namespace mailwarden {

struct ReturnPathRef {
  MessageId message = 0;
  AccountId account = 0;
};

class ReturnPath {
 public:
  static constexpr std::size_t kSignatureHexDigits = 16;

  // domain: bounces.domain (not empty); secret: the secret file's content, trimmed.
  ReturnPath(std::string domain, std::string secret);

  // The envelope sender for a message of an account.
  std::string Address(MessageId message, AccountId account) const;
  // The message an address names, if it is a return path of this domain with a valid
  // signature; nullopt for anything else (another domain, a malformed or forged local part).
  std::optional<ReturnPathRef> Verify(std::string_view address) const;

  const std::string& domain() const { return domain_; }

 private:
  std::string Signature(MessageId message, AccountId account) const;

  std::string domain_;  // lower case
  std::string secret_;
};

// Reads the secret of bounces.secret_file (white space trimmed); a missing file gets a new
// random secret of 256 bits, mode 0600, so that a first start works. Fails naming the key when
// the file cannot be read or made, or holds fewer than 32 characters. Sets *made when it wrote
// the file (the daemon gives it to its user).
Result<std::string> ReadOrCreateBounceSecret(const std::string& file, bool* made);

}  // namespace mailwarden
