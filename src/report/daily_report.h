// The daily error report of one account for one local day (DESIGN.md promise 5): a subject,
// a readable text part and an HTML part with the same table of failures (time, recipient,
// reply, subject), the day's totals and what to do next, in the account's language (English,
// or Polish for "pl").
//
// Pure: no I/O, no clock. Everything that comes from the store (recipients, replies, subjects)
// goes into the bodies only, escaped in HTML and stripped of control characters in text; the
// subject line is built from the account's name and the day alone.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "store/store.h"

namespace mailwarden {

// At most this many failures are listed; the rest are counted ("... and N more").
inline constexpr std::size_t kMaxReportRows = 500;

struct DailyReportData {
  std::string account_name;
  std::string language = "en";  // "pl" for Polish, anything else English
  int day = 0;                  // YYYYMMDD, the daemon's local day
  std::int64_t failed = 0;      // failed deliveries: one per recipient
  std::int64_t expired = 0;     // expired messages: held longer than policy.hold
  std::string hold;             // policy.hold as configured, e.g. "72h"
  // The From check's day (policy.sender_check): messages held and submissions refused for a
  // sender not the account's. Named in the report when either is not 0.
  std::int64_t sender_held = 0;
  std::int64_t sender_refused = 0;
  // The day's failures, newest first, as Store::ListErrors gives them; rows past
  // kMaxReportRows are counted, not listed.
  std::vector<DeliveryError> rows;
  // Failures of the day that were not read into rows (the caller read only the first ones).
  std::int64_t unread = 0;
  // Content scanning: messages of the day the scanner quarantined, and those of them still
  // in quarantine (newest first, at most kMaxReportQuarantined listed).
  std::int64_t quarantined = 0;
  std::vector<StoredMessage> quarantine;
};

inline constexpr std::size_t kMaxReportQuarantined = 50;

struct DailyReport {
  std::string subject;  // one line, from the account's name and the day only
  std::string text;
  std::string html;
};

DailyReport RenderDailyReport(const DailyReportData& data);

}  // namespace mailwarden
