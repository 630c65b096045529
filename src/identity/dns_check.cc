#include "identity/dns_check.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "core/host_port.h"
#include "core/text.h"
#include "identity/dkim_key.h"

namespace mailwarden {
namespace {

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && ToAsciiLower(text.substr(0, prefix.size())) == prefix;
}

// A resolver state of its own (res_nquery's), pointed at the configured server.
class Resolver {
 public:
  Result<void> Init(const std::string& server) {
    std::memset(&state_, 0, sizeof state_);
    if (res_ninit(&state_) != 0) return Fail(ErrorCode::kUnavailable, "dns: res_ninit failed");
    ready_ = true;
    state_.retrans = 2;  // seconds per try
    state_.retry = 2;
    if (server.empty()) return {};
    auto hp = ParseHostPort(server);
    in_addr address{};
    if (!hp || inet_pton(AF_INET, hp->host.c_str(), &address) != 1) {
      return Fail(ErrorCode::kInvalidInput,
                  "dns.server: \"" + server + "\" is not an IPv4 address and port");
    }
    state_.nscount = 1;
    state_.nsaddr_list[0].sin_family = AF_INET;
    state_.nsaddr_list[0].sin_addr = address;
    state_.nsaddr_list[0].sin_port = htons(static_cast<std::uint16_t>(hp->port));
    return {};
  }
  ~Resolver() {
    if (ready_) res_nclose(&state_);
  }
  res_state get() { return &state_; }

 private:
  struct __res_state state_ {};
  bool ready_ = false;
};

}  // namespace

Result<std::vector<std::string>> LookupTxt(std::string_view name, const std::string& server) {
  Resolver resolver;
  MW_RETURN_IF_ERROR(resolver.Init(server));
  std::array<unsigned char, 8192> answer{};
  const std::string query(name);
  const int n = res_nquery(resolver.get(), query.c_str(), ns_c_in, ns_t_txt, answer.data(),
                           static_cast<int>(answer.size()));
  std::vector<std::string> records;
  if (n < 0) {
    // NXDOMAIN or no data: nothing published. Anything else: the server did not answer.
    const int why = resolver.get()->res_h_errno;
    if (why == HOST_NOT_FOUND || why == NO_DATA) return records;
    return Fail(ErrorCode::kUnavailable, "dns: no answer for " + query);
  }
  ns_msg message{};
  if (ns_initparse(answer.data(), n, &message) != 0) {
    return Fail(ErrorCode::kUnavailable, "dns: an answer for " + query + " that cannot be read");
  }
  const int count = ns_msg_count(message, ns_s_an);
  for (int i = 0; i < count; ++i) {
    ns_rr rr{};
    if (ns_parserr(&message, ns_s_an, i, &rr) != 0 || ns_rr_type(rr) != ns_t_txt) continue;
    // TXT rdata: strings, each a length byte and its bytes, joined (RFC 6376 3.6.2.2).
    const unsigned char* at = ns_rr_rdata(rr);
    const unsigned char* end = at + ns_rr_rdlen(rr);
    std::string text;
    while (at < end) {
      const std::size_t len = *at++;
      if (static_cast<std::size_t>(end - at) < len) break;
      text.append(reinterpret_cast<const char*>(at), len);
      at += len;
    }
    records.push_back(std::move(text));
  }
  return records;
}

std::string DkimRecordKey(std::string_view record) {
  std::size_t start = 0;
  while (start <= record.size()) {
    const std::size_t semi = std::min(record.find(';', start), record.size());
    const std::string_view tag = TrimAscii(record.substr(start, semi - start));
    if (tag.size() >= 2 && tag[0] == 'p' && TrimAscii(tag.substr(1)).starts_with('=')) {
      std::string value;
      for (char c : tag.substr(tag.find('=') + 1)) {
        if (c != ' ' && c != '\t') value += c;  // folding white space inside the base64
      }
      return value;
    }
    start = semi + 1;
  }
  return "";
}

bool SpfAllows(std::string_view record, std::string_view term) {
  const std::string wanted = ToAsciiLower(term);
  std::size_t start = 0;
  while (start < record.size()) {
    std::size_t end = record.find(' ', start);
    if (end == std::string_view::npos) end = record.size();
    std::string mechanism = ToAsciiLower(record.substr(start, end - start));
    if (!mechanism.empty() && mechanism[0] == '+') mechanism.erase(0, 1);
    if (mechanism == wanted) return true;
    start = end + 1;
  }
  return false;
}

DomainDnsCheck CheckDomainDns(std::string_view domain, const std::vector<DkimKey>& keys,
                              const std::string& server, const std::string& spf_term) {
  DomainDnsCheck check;
  check.domain = std::string(domain);
  for (const DkimKey& key : keys) {
    RecordCheck c;
    c.name = DkimRecordName(key);
    auto found = LookupTxt(c.name, server);
    if (!found) {
      c.state = "error";
      c.found = found.error().message;
      c.publish = DkimRecord(key);
    } else {
      auto it = std::ranges::find_if(*found, [](const std::string& r) {
        return StartsWithNoCase(TrimAscii(r), "v=dkim1") || r.find("p=") != std::string::npos;
      });
      if (it == found->end()) {
        c.state = "missing";
        c.publish = DkimRecord(key);
      } else {
        c.found = *it;
        c.state = DkimRecordKey(*it) == key.public_key ? "ok" : "mismatch";
        if (c.state != "ok") c.publish = DkimRecord(key);
      }
    }
    check.dkim.push_back(std::move(c));
  }

  check.spf.name = std::string(domain);
  const std::string spf_publish = spf_term.empty() ? std::string() : "v=spf1 " + spf_term + " ~all";
  if (auto found = LookupTxt(domain, server); !found) {
    check.spf.state = "error";
    check.spf.found = found.error().message;
  } else {
    auto it = std::ranges::find_if(
        *found, [](const std::string& r) { return StartsWithNoCase(TrimAscii(r), "v=spf1"); });
    if (it == found->end()) {
      check.spf.state = "missing";
      check.spf.publish = spf_publish;
    } else {
      check.spf.found = *it;
      if (spf_term.empty() || SpfAllows(*it, spf_term)) {
        check.spf.state = "ok";
      } else {
        check.spf.state = "not_allowing";
        check.spf.publish = "add \"" + spf_term + "\" before the record's \"all\"";
      }
    }
  }

  check.dmarc.name = "_dmarc." + std::string(domain);
  if (auto found = LookupTxt(check.dmarc.name, server); !found) {
    check.dmarc.state = "error";
    check.dmarc.found = found.error().message;
  } else {
    auto it = std::ranges::find_if(
        *found, [](const std::string& r) { return StartsWithNoCase(TrimAscii(r), "v=dmarc1"); });
    if (it == found->end()) {
      check.dmarc.state = "missing";
      check.dmarc.publish = "v=DMARC1; p=none";
    } else {
      check.dmarc.state = "ok";
      check.dmarc.found = *it;
    }
  }
  return check;
}

}  // namespace mailwarden
