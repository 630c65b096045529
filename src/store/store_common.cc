#include "store/store_common.h"

#include <algorithm>
#include <vector>

#include "core/text.h"
#include "store/schema.h"

namespace mailwarden {

std::int64_t UnixHour(TimePoint t) {
  constexpr std::int64_t kMillisPerHour = 3'600'000;
  const std::int64_t ms = ToUnixMillis(t);
  return ms >= 0 ? ms / kMillisPerHour : (ms - kMillisPerHour + 1) / kMillisPerHour;
}

std::string SourceValue(std::string_view value) {
  return std::string(CutAtUtf8Boundary(value, kMaxSourceValueBytes));
}

void CutToHeaderSection(std::string& head) {
  for (std::size_t eol = head.find('\n'); eol != std::string::npos;
       eol = head.find('\n', eol + 1)) {
    const std::size_t next = eol + 1;
    if (next < head.size() &&
        (head[next] == '\n' ||
         (head[next] == '\r' && next + 1 < head.size() && head[next + 1] == '\n'))) {
      head.resize(next);
      return;
    }
  }
}

void SourceCounts::Add(const NewMessage& m) {
  const std::int64_t hour = UnixHour(m.received_at);
  newest_hour_ = std::max(newest_hour_, hour);
  if (!m.script.empty()) Count(m.account, schema::kSourceScript, hour, m.script);
  Count(m.account, schema::kSourceSender, hour, m.sender);
  Count(m.account, schema::kSourceSubject, hour, m.subject);
  std::vector<std::string> domains;
  for (const std::string& rcpt : m.recipients) {
    const auto at = rcpt.rfind('@');
    if (at == std::string::npos || at + 1 == rcpt.size()) continue;
    std::string domain = SourceValue(ToAsciiLower(std::string_view(rcpt).substr(at + 1)));
    if (std::find(domains.begin(), domains.end(), domain) != domains.end()) continue;
    if (domains.size() == kMaxSourceDomainsPerMessage) break;
    domains.push_back(std::move(domain));
  }
  for (std::string& domain : domains) {
    counts_[{m.account, schema::kSourceDomain, hour, std::move(domain)}] += 1;
  }
}

void SourceCounts::Count(AccountId account, int kind, std::int64_t hour, std::string_view value) {
  counts_[{account, kind, hour, SourceValue(value)}] += 1;
}

Result<std::optional<TimePoint>> ArrivalLeasing::Decide(const NewMessage& m, InsertedMessage& out,
                                                        InsertedBatch& batch) {
  if (lease_.node.empty() || m.scan) return std::optional<TimePoint>();
  if (!m.held_reason.empty()) return std::optional<TimePoint>();  // held for itself: not due
  auto [it, added] = names_.try_emplace(m.account);
  if (added && std::ranges::find(lease_.skip, m.account) == lease_.skip.end()) {
    MW_ASSIGN_OR_RETURN(it->second, leasable_(m.account));
  }
  if (!it->second) return std::optional<TimePoint>();
  const auto size = static_cast<std::int64_t>(m.body.size());
  if (left_ == 0 || size > bytes_left_) {
    left_ = 0;
    batch.lease_exhausted = true;
    return std::optional<TimePoint>();
  }
  --left_;
  bytes_left_ -= size;
  out.leased = true;
  out.account_name = *it->second;
  return std::optional<TimePoint>(m.received_at + lease_.lease_for);
}

}  // namespace mailwarden
