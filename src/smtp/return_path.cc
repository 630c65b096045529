#include "smtp/return_path.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/text.h"

namespace mailwarden {
namespace {

constexpr std::string_view kPrefix = "mw-";

std::string Hex(const unsigned char* data, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xf]);
  }
  return out;
}

// A positive decimal number without a sign or leading zero, as Address writes it.
std::optional<std::int64_t> Number(std::string_view s) {
  if (s.empty() || s.size() > 18 || s[0] == '0') return std::nullopt;
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v <= 0) return std::nullopt;
  return v;
}

}  // namespace

ReturnPath::ReturnPath(std::string domain, std::string secret)
    : domain_(ToAsciiLower(domain)), secret_(std::move(secret)) {}

std::string ReturnPath::Signature(MessageId message, AccountId account) const {
  const std::string data = std::to_string(message) + "." + std::to_string(account);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &size);
  return Hex(mac, size).substr(0, kSignatureHexDigits);
}

std::string ReturnPath::Address(MessageId message, AccountId account) const {
  return std::string(kPrefix) + std::to_string(message) + "-" + std::to_string(account) + "-" +
         Signature(message, account) + "@" + domain_;
}

std::optional<ReturnPathRef> ReturnPath::Verify(std::string_view address) const {
  const auto at = address.rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  if (ToAsciiLower(address.substr(at + 1)) != domain_) return std::nullopt;
  const std::string local = ToAsciiLower(address.substr(0, at));
  std::string_view rest = local;
  if (!rest.starts_with(kPrefix)) return std::nullopt;
  rest.remove_prefix(kPrefix.size());
  const auto dash1 = rest.find('-');
  if (dash1 == std::string_view::npos) return std::nullopt;
  const auto dash2 = rest.find('-', dash1 + 1);
  if (dash2 == std::string_view::npos) return std::nullopt;
  const auto message = Number(rest.substr(0, dash1));
  const auto account = Number(rest.substr(dash1 + 1, dash2 - dash1 - 1));
  const std::string_view signature = rest.substr(dash2 + 1);
  if (!message || !account || signature.size() != kSignatureHexDigits) return std::nullopt;
  const std::string want = Signature(*message, *account);
  if (CRYPTO_memcmp(want.data(), signature.data(), want.size()) != 0) return std::nullopt;
  return ReturnPathRef{*message, *account};
}

Result<std::string> ReadOrCreateBounceSecret(const std::string& file, bool* made) {
  if (made != nullptr) *made = false;
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    std::filesystem::create_directories(std::filesystem::path(file).parent_path(), ec);
    unsigned char bytes[32];
    if (RAND_bytes(bytes, sizeof bytes) != 1) {
      return Fail(ErrorCode::kUnavailable, "bounces.secret_file: no randomness to make one");
    }
    const std::string secret = Hex(bytes, sizeof bytes) + "\n";
    // O_EXCL: two nodes starting at once on a shared folder do not overwrite each other's;
    // the loser reads the winner's below.
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd >= 0) {
      const bool written =
          ::write(fd, secret.data(), secret.size()) == static_cast<ssize_t>(secret.size());
      // The secret must survive a crash: a bounce signed with a lost one is never recognised.
      const bool synced = written && ::fsync(fd) == 0;
      ::close(fd);
      if (!synced) {
        return Fail(ErrorCode::kUnavailable,
                    "bounces.secret_file: cannot write " + file + ": " + std::strerror(errno));
      }
      if (made != nullptr) *made = true;
      return secret.substr(0, secret.size() - 1);
    }
    if (errno != EEXIST) {
      return Fail(ErrorCode::kUnavailable,
                  "bounces.secret_file: cannot create " + file + ": " + std::strerror(errno));
    }
  }
  std::ifstream in(file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    return Fail(ErrorCode::kUnavailable, "bounces.secret_file: cannot read " + file);
  }
  const auto first = text.find_first_not_of(" \t\r\n");
  const auto last = text.find_last_not_of(" \t\r\n");
  if (first == std::string::npos || last - first + 1 < 32) {
    return Fail(ErrorCode::kInvalidInput,
                "bounces.secret_file: " + file + " must hold a secret of at least 32 characters");
  }
  return text.substr(first, last - first + 1);
}

}  // namespace mailwarden
