#include "identity/dkim_signer.h"

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <chrono>

#include "core/sender_domain.h"
#include "core/text.h"
#include "identity/dkim_canon.h"
#include "identity/dkim_key.h"
#include "identity/openssl_ptr.h"
#include "mime/message_prep.h"

namespace mailwarden {
namespace {

std::string_view HeaderSection(std::string_view message) {
  const std::size_t end = message.find("\r\n\r\n");
  return end == std::string_view::npos ? message : message.substr(0, end + 2);
}

bool StartsWithField(std::string_view line, std::string_view name) {
  return line.size() > name.size() && line[name.size()] == ':' &&
         ToAsciiLower(line.substr(0, name.size())) == name;
}

std::string Sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), size);
}

// Appends `token` to the folded field `out`, whose current line is `line` long: on a new
// line (CRLF and a tab) when it would pass 78 characters.
void AppendFolded(std::string& out, std::size_t& line, std::string_view token) {
  if (line > 1 && line + token.size() > 78) {
    out += "\r\n\t";
    line = 1;
  }
  out += token;
  line += token.size();
}

}  // namespace

std::shared_ptr<EVP_PKEY> ReadDkimPrivateKey(std::string_view pem) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return nullptr;
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) return nullptr;
  return std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free);
}

Result<std::string> DkimSignatureValue(EVP_PKEY* key, DkimAlgorithm algorithm,
                                       std::string_view signed_data) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  std::string input(signed_data);
  const EVP_MD* md = EVP_sha256();
  if (algorithm == DkimAlgorithm::kEd25519Sha256) {
    // RFC 8463 3: Ed25519 (pure) signs the SHA-256 hash of the data.
    input = Sha256(signed_data);
    md = nullptr;
  }
  std::size_t size = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &size,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    return Fail(ErrorCode::kInternal, "dkim: the key cannot sign with its algorithm");
  }
  std::string signature(size, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    return Fail(ErrorCode::kInternal, "dkim: signing failed");
  }
  signature.resize(size);
  return Base64(reinterpret_cast<const unsigned char*>(signature.data()), signature.size());
}

std::optional<std::string> SingleFromAddress(std::string_view message) {
  const std::string_view head = HeaderSection(message);
  std::optional<std::string> value;
  std::size_t at = 0;
  while (at < head.size()) {
    std::size_t end = head.find("\r\n", at);
    if (end == std::string_view::npos) end = head.size();
    const std::string_view line = head.substr(at, end - at);
    if (StartsWithField(line, "from")) {
      if (value) return std::nullopt;  // two From fields
      std::string unfolded(line.substr(5));
      // Continuation lines belong to it.
      std::size_t next = end + 2;
      while (next < head.size() && (head[next] == ' ' || head[next] == '\t')) {
        std::size_t cont_end = head.find("\r\n", next);
        if (cont_end == std::string_view::npos) cont_end = head.size();
        unfolded += head.substr(next, cont_end - next);
        next = cont_end + 2;
      }
      value = std::move(unfolded);
      end = next - 2;
    }
    at = end + 2;
  }
  if (!value) return std::nullopt;
  auto address = ParseSingleAddress(*value);
  if (!address) return std::nullopt;
  return std::move(*address);
}

DkimSigner::DkimSigner() = default;
DkimSigner::~DkimSigner() = default;

void DkimSigner::SetKeys(std::vector<DkimKey> keys) {
  auto map = std::make_shared<KeyMap>();
  for (DkimKey& k : keys) {
    // The newest key of a domain signs (the list comes newest first; one normally).
    if (map->contains(k.domain)) continue;
    std::string domain = k.domain;
    std::shared_ptr<EVP_PKEY> pkey = ReadDkimPrivateKey(k.private_key);
    map->emplace(std::move(domain), SigningKey{std::move(k), std::move(pkey)});
  }
  std::lock_guard lock(mutex_);
  keys_ = std::move(map);
}

Result<std::optional<std::string>> DkimSigner::Sign(std::string_view message, AccountId account,
                                                    std::optional<std::int64_t> time) const {
  std::shared_ptr<const KeyMap> keys;
  {
    std::lock_guard lock(mutex_);
    keys = keys_;
  }
  if (!keys || keys->empty()) return std::optional<std::string>();
  const auto from = SingleFromAddress(message);
  if (!from) return std::optional<std::string>();
  const auto domain = AddressDomain(*from);
  if (!domain) return std::optional<std::string>();
  const SigningKey* found = nullptr;
  for (const std::string& candidate : DomainAndParents(*domain)) {
    if (auto it = keys->find(candidate); it != keys->end()) {
      found = &it->second;
      break;
    }
  }
  if (found == nullptr || found->key.owner != account) return std::optional<std::string>();
  const DkimKey& key = found->key;
  if (!found->pkey) {
    return Fail(ErrorCode::kInternal, fmt::format("dkim: cannot read the key of {}._domainkey.{}",
                                                  key.selector, key.domain));
  }

  const SplitMessage split = SplitHeaderAndBody(message);
  std::string body_hash = Sha256(RelaxedBody(split.body));
  body_hash = Base64(reinterpret_cast<const unsigned char*>(body_hash.data()), body_hash.size());

  // The fields signed, each instance of a name from the bottom up (RFC 6376 5.4.2), and From
  // once more than it occurs, so that a From added on the way breaks the signature.
  std::vector<std::string_view> names;
  std::string signed_data;
  for (const std::string_view name : kDkimSignedHeaders) {
    for (auto it = split.fields.rbegin(); it != split.fields.rend(); ++it) {
      if (ToAsciiLower(it->name) != name) continue;
      names.push_back(name);
      signed_data += RelaxedHeaderField(it->text);
    }
    if (name == "from") names.push_back(name);
  }

  const std::int64_t now = time.value_or(std::chrono::duration_cast<std::chrono::seconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
  std::string field = "DKIM-Signature:";
  std::size_t line = field.size();
  for (const std::string& tag :
       {fmt::format(" v=1; a={}; c=relaxed/relaxed;", key.algorithm == DkimAlgorithm::kEd25519Sha256
                                                          ? "ed25519-sha256"
                                                          : "rsa-sha256"),
        fmt::format(" d={};", key.domain), fmt::format(" s={};", key.selector),
        fmt::format(" t={};", now)}) {
    AppendFolded(field, line, tag);
  }
  AppendFolded(field, line, " h=");
  for (std::size_t i = 0; i < names.size(); ++i) {
    AppendFolded(field, line, fmt::format("{}{}", names[i], i + 1 < names.size() ? ":" : ";"));
  }
  AppendFolded(field, line, fmt::format(" bh={};", body_hash));
  AppendFolded(field, line, " b=");
  // The field itself is signed with b= empty and without its final CRLF.
  std::string canonical = RelaxedHeaderField(field);
  canonical.resize(canonical.size() - 2);
  signed_data += canonical;

  auto value = DkimSignatureValue(found->pkey.get(), key.algorithm, signed_data);
  if (!value) return std::unexpected(value.error());
  for (std::size_t at = 0; at < value->size(); at += 64) {
    AppendFolded(field, line, std::string_view(*value).substr(at, 64));
  }
  field += "\r\n";
  return std::optional<std::string>(std::move(field));
}

}  // namespace mailwarden
