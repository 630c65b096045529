#include "identity/dkim_key.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <vector>

#include "identity/openssl_ptr.h"

namespace mailwarden {
namespace {

using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Result<std::string> PrivatePem(EVP_PKEY* key) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Fail(ErrorCode::kInternal, "dkim: cannot write the private key");
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

// RSA: the SubjectPublicKeyInfo (RFC 6376 3.6.1); ed25519: the 32 bytes of the key (RFC 8463).
Result<std::string> PublicValue(EVP_PKEY* key, DkimAlgorithm algorithm) {
  if (algorithm == DkimAlgorithm::kEd25519Sha256) {
    unsigned char raw[32];
    std::size_t size = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(key, raw, &size) != 1) {
      return Fail(ErrorCode::kInternal, "dkim: cannot read the ed25519 public key");
    }
    return Base64(raw, size);
  }
  const int size = i2d_PUBKEY(key, nullptr);
  if (size <= 0) return Fail(ErrorCode::kInternal, "dkim: cannot write the RSA public key");
  std::vector<unsigned char> der(static_cast<std::size_t>(size));
  unsigned char* at = der.data();
  i2d_PUBKEY(key, &at);
  return Base64(der.data(), der.size());
}

}  // namespace

std::string Base64(const unsigned char* data, std::size_t size) {
  std::string out(4 * ((size + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

Result<void> CheckSelector(std::string_view selector) {
  const bool ok = !selector.empty() && selector.size() <= 63 && selector.front() != '-' &&
                  selector.back() != '-' &&
                  selector.find_first_not_of(
                      "abcdefghijklmnopqrstuvwxyz"
                      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == std::string_view::npos;
  if (!ok) {
    return Fail(ErrorCode::kInvalidInput,
                "a selector is one DNS label: 1 to 63 letters, digits and '-'");
  }
  return {};
}

std::string DefaultSelector(TimePoint now) {
  return fmt::format("mw{:%Y%m%dt%H%M}", std::chrono::floor<std::chrono::seconds>(now));
}

Result<DkimKey> GenerateDkimKey(std::string_view domain, std::string_view selector,
                                DkimAlgorithm algorithm, TimePoint now) {
  MW_RETURN_IF_ERROR(CheckSelector(selector));
  Pkey key(algorithm == DkimAlgorithm::kEd25519Sha256
               ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
               : EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(kDkimRsaBits)));
  if (!key) return Fail(ErrorCode::kInternal, "dkim: key generation failed");
  DkimKey out;
  out.domain = std::string(domain);
  out.selector = std::string(selector);
  out.algorithm = algorithm;
  out.created = now;
  MW_ASSIGN_OR_RETURN(out.private_key, PrivatePem(key.get()));
  MW_ASSIGN_OR_RETURN(out.public_key, PublicValue(key.get(), algorithm));
  return out;
}

std::string DkimRecord(const DkimKey& key) {
  return fmt::format("v=DKIM1; k={}; p={}", DkimAlgorithmName(key.algorithm), key.public_key);
}

std::string DkimRecordName(const DkimKey& key) {
  return fmt::format("{}._domainkey.{}", key.selector, key.domain);
}

}  // namespace mailwarden
