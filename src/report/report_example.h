// The daily report that docs/ shows (report-example.txt, .pl.txt and .html): account "demo",
// 2026-11-26, two failed deliveries and one expired message, times in UTC. The report's tests
// check this one, and tools/report_examples renders it into docs/, so that the docs show what
// the code writes.
#pragma once

#include <chrono>
#include <string>
#include <utility>

#include "report/daily_report.h"

namespace mailwarden {

// Noon of the example's day, 2026-11-26, in UTC.
inline const TimePoint kReportExampleNoon = FromUnixMillis(1'795'694'400'000);

// The example in language ("en", "pl"; anything else is English, as for RenderDailyReport).
inline DailyReportData ReportExample(std::string language) {
  const auto failure = [](std::string recipient, std::string reply, std::string category,
                          std::string subject, TimePoint at) {
    DeliveryError e;
    e.category = std::move(category);
    e.at = at;
    e.message = 1;
    e.recipient = std::move(recipient);
    e.reply = std::move(reply);
    e.subject = std::move(subject);
    return e;
  };
  DailyReportData data;
  data.account_name = "demo";
  data.language = std::move(language);
  data.day = 20261126;
  data.failed = 2;
  data.expired = 1;
  data.hold = "72h";
  data.rows = {
      failure("reject-b@example.net", "550 5.1.1 <reject-b@example.net>: recipient rejected",
              "bad_mailbox", "Order confirmation", kReportExampleNoon + std::chrono::minutes(5)),
      failure("reject-a@example.net", "550 5.1.1 <reject-a@example.net>: recipient rejected",
              "bad_mailbox", "Order confirmation", kReportExampleNoon),
      failure("old@example.org",
              "expired: not sent, held while sending was blocked for longer than allowed",
              "expired", "Newsletter", kReportExampleNoon - std::chrono::hours(3)),
  };
  return data;
}

}  // namespace mailwarden
