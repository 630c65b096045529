// The DNS check of a sending domain (docs/sender-identity.md): whether its published DKIM
// keys match the store's, whether its SPF record allows the provider's relay, and whether it
// has a DMARC record; with the records to publish.
//
// TXT lookups through glibc's resolver (res_nquery, ns_parse), asking dns.server when it is
// set (IPv4 "host:port"), else the system's. Blocking: run it off the daemon's loop.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/store.h"

namespace mailwarden {

// The TXT records at `name`, each record's strings joined. An empty list when the name has
// none (or does not exist); kUnavailable when the server does not answer; kInvalidInput for a
// server that is not "IPv4:port".
Result<std::vector<std::string>> LookupTxt(std::string_view name, const std::string& server);

// What a lookup found for one record; the states are the API's words.
struct RecordCheck {
  std::string name;     // where it is looked up
  std::string state;    // "ok", "missing", "mismatch" (DKIM), "not_allowing" (SPF), "error"
  std::string found;    // the record found, if any ("" if none)
  std::string publish;  // the value to publish there ("" when nothing need change)
};

struct DomainDnsCheck {
  std::string domain;
  std::vector<RecordCheck> dkim;  // one per key still published (signing and retired)
  RecordCheck spf;
  RecordCheck dmarc;
};

// The SPF term that authorises the relay (dns.spf: "include:_spf.example.net",
// "ip4:192.0.2.0/24", ...). Empty: SPF is only checked to exist.
// `keys` are the domain's DKIM keys (Store::GetDkimKeys).
DomainDnsCheck CheckDomainDns(std::string_view domain, const std::vector<DkimKey>& keys,
                              const std::string& server, const std::string& spf_term);

// Pure parts, for tests: the p= of a DKIM record ("" if none); whether an SPF record holds the
// term (one of its mechanisms, with or without the "+" qualifier).
std::string DkimRecordKey(std::string_view record);
bool SpfAllows(std::string_view record, std::string_view term);

}  // namespace mailwarden
