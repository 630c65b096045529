#include "identity/dkim_signer.h"

// libopendkim's header is C: it spells bool as _Bool.
#define _Bool bool
#include <opendkim/dkim.h>
#undef _Bool

#include <fmt/format.h>

#include <array>
#include <cstring>

#include "core/sender_domain.h"
#include "core/text.h"
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

struct SignHandle {
  DKIM* dkim = nullptr;
  ~SignHandle() {
    if (dkim != nullptr) dkim_free(dkim);
  }
};

}  // namespace

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

DkimSigner::DkimSigner() : lib_(dkim_init(nullptr, nullptr)) {
  // The header fields to sign and those to sign once more than they occur: NULL-terminated
  // lists, which libopendkim copies.
  std::array<const char*, std::size(kDkimSignedHeaders) + 1> sign{};
  for (std::size_t i = 0; i < std::size(kDkimSignedHeaders); ++i) {
    sign[i] = kDkimSignedHeaders[i].data();
  }
  const char* oversign[] = {"from", nullptr};
  if (lib_ != nullptr) {
    dkim_options(lib_, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS, sign.data(), sizeof(char**));
    dkim_options(lib_, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS, oversign, sizeof(char**));
  }
}

DkimSigner::~DkimSigner() {
  if (lib_ != nullptr) dkim_close(lib_);
}

bool DkimSigner::SupportsEd25519() const {
  return lib_ != nullptr && dkim_libfeature(lib_, DKIM_FEATURE_ED25519);
}

void DkimSigner::SetKeys(std::vector<DkimKey> keys) {
  auto map = std::make_shared<KeyMap>();
  for (DkimKey& k : keys) {
    // The newest key of a domain signs (the list comes newest first; one normally).
    map->try_emplace(k.domain, std::move(k));
  }
  std::lock_guard lock(mutex_);
  keys_ = std::move(map);
}

Result<std::optional<std::string>> DkimSigner::Sign(std::string_view message,
                                                    AccountId account) const {
  std::shared_ptr<const KeyMap> keys;
  {
    std::lock_guard lock(mutex_);
    keys = keys_;
  }
  if (!keys || keys->empty() || lib_ == nullptr) return std::optional<std::string>();
  const auto from = SingleFromAddress(message);
  if (!from) return std::optional<std::string>();
  const auto domain = AddressDomain(*from);
  if (!domain) return std::optional<std::string>();
  const DkimKey* key = nullptr;
  for (const std::string& candidate : DomainAndParents(*domain)) {
    if (auto it = keys->find(candidate); it != keys->end()) {
      key = &it->second;
      break;
    }
  }
  if (key == nullptr || key->owner != account) return std::optional<std::string>();

  const int algorithm = key->algorithm == DkimAlgorithm::kEd25519Sha256 ? DKIM_SIGN_ED25519SHA256
                                                                        : DKIM_SIGN_RSASHA256;
  DKIM_STAT status = DKIM_STAT_OK;
  SignHandle handle;
  handle.dkim =
      dkim_sign(lib_, reinterpret_cast<const unsigned char*>("mailwarden"), nullptr,
                reinterpret_cast<dkim_sigkey_t>(const_cast<char*>(key->private_key.c_str())),
                reinterpret_cast<const unsigned char*>(key->selector.c_str()),
                reinterpret_cast<const unsigned char*>(key->domain.c_str()), DKIM_CANON_RELAXED,
                DKIM_CANON_RELAXED, algorithm, -1L, &status);
  if (handle.dkim == nullptr || status != DKIM_STAT_OK) {
    return Fail(ErrorCode::kInternal, fmt::format("dkim: cannot sign with {}: status {}",
                                                  key->selector + "._domainkey." + key->domain,
                                                  static_cast<int>(status)));
  }
  // libopendkim reads the message as it is (it does not keep the pointer past the call).
  auto* bytes = reinterpret_cast<unsigned char*>(const_cast<char*>(message.data()));
  status = dkim_chunk(handle.dkim, bytes, message.size());
  if (status == DKIM_STAT_OK) status = dkim_chunk(handle.dkim, nullptr, 0);
  if (status == DKIM_STAT_OK) status = dkim_eom(handle.dkim, nullptr);
  if (status != DKIM_STAT_OK) {
    const char* why = dkim_geterror(handle.dkim);
    return Fail(ErrorCode::kInvalidInput,
                fmt::format("dkim: cannot sign the message: {}",
                            why != nullptr ? why : dkim_getresultstr(status)));
  }
  unsigned char* header = nullptr;
  std::size_t length = 0;
  constexpr std::string_view kName = "DKIM-Signature: ";
  status = dkim_getsighdr_d(handle.dkim, kName.size(), &header, &length);
  if (status != DKIM_STAT_OK || header == nullptr) {
    return Fail(ErrorCode::kInternal, "dkim: no signature header");
  }
  std::string field(kName);
  field.append(reinterpret_cast<const char*>(header), length);
  field += "\r\n";
  return std::optional<std::string>(std::move(field));
}

}  // namespace mailwarden
