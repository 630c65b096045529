// DkimSigner: the DKIM-Signature of a message about to leave (docs/sender-identity.md).
//
// Relaxed/relaxed canonicalisation (identity/dkim_canon.h) and OpenSSL's signatures:
// rsa-sha256 or ed25519-sha256 (RFC 8463) as the key says, over the header fields RFC 6376
// 5.4.1 recommends (those present), From signed once more than it occurs so that a From added
// on the way breaks the signature. (Not libopendkim: Debian 12's 2.11.0 never frees an
// ed25519 key it loads, a leak with every message signed.) The key is the signing key of the
// nearest listed domain of the From address (the domain itself or a parent: d= is that domain),
// used only when that domain is the message's account's.
//
// Threading: SetKeys from any thread; Sign from one thread at a time (the delivery thread).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "store/store.h"

struct evp_pkey_st;

namespace mailwarden {

// The header fields signed when present (RFC 6376 5.4.1, and the MIME fields).
inline constexpr std::string_view kDkimSignedHeaders[] = {
    "from",
    "reply-to",
    "subject",
    "date",
    "to",
    "cc",
    "resent-date",
    "resent-from",
    "resent-to",
    "resent-cc",
    "in-reply-to",
    "references",
    "list-id",
    "list-help",
    "list-unsubscribe",
    "list-subscribe",
    "list-post",
    "list-owner",
    "list-archive",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
};

class DkimSigner {
 public:
  DkimSigner();
  ~DkimSigner();
  DkimSigner(const DkimSigner&) = delete;
  DkimSigner& operator=(const DkimSigner&) = delete;

  // Replaces the keys signed with (Store::GetSigningKeys: each with its owner), from the next
  // Sign on.
  void SetKeys(std::vector<DkimKey> keys);

  // The DKIM-Signature header field for `message` (CRLF line ends, header and body), folded,
  // ending in CRLF, to put before it; nullopt when it is not signed: its From (exactly one
  // address) has no signing key of `account`'s domains. kInternal for a key it cannot read or
  // sign with. `time`: the t= tag (now when not given).
  Result<std::optional<std::string>> Sign(std::string_view message, AccountId account,
                                          std::optional<std::int64_t> time = std::nullopt) const;

 private:
  struct SigningKey {
    DkimKey key;
    std::shared_ptr<evp_pkey_st> pkey;  // nullptr: the PEM could not be read
  };
  using KeyMap = std::unordered_map<std::string, SigningKey>;
  mutable std::mutex mutex_;  // guards keys_ (the map itself is never changed)
  std::shared_ptr<const KeyMap> keys_;
};

// The private key of a DkimKey (PEM, PKCS #8); nullptr when it cannot be read.
std::shared_ptr<evp_pkey_st> ReadDkimPrivateKey(std::string_view pem);

// The b= value (base64) over `signed_data`, the canonical fields in the order h= names them
// followed by the DKIM-Signature field with b= empty and no final CRLF.
Result<std::string> DkimSignatureValue(evp_pkey_st* key, DkimAlgorithm algorithm,
                                       std::string_view signed_data);

// The single address of the message's From header field, bare; nullopt when it has none, more
// than one field or more than one address.
std::optional<std::string> SingleFromAddress(std::string_view message);

}  // namespace mailwarden
