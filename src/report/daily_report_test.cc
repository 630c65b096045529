#include "report/daily_report.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <time.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace mailwarden {
namespace {

// Times in the report are the daemon's local time: the tests fix the zone.
class DailyReportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
};

// 2026-11-26 in UTC.
const TimePoint kNoon = FromUnixMillis(1'795'694'400'000);

DeliveryError Failure(std::string recipient, std::string reply, std::string subject,
                      TimePoint at = kNoon) {
  DeliveryError e;
  e.at = at;
  e.message = 1;
  e.recipient = std::move(recipient);
  e.reply = std::move(reply);
  e.subject = std::move(subject);
  return e;
}

DailyReportData Example(std::string language) {
  DailyReportData data;
  data.account_name = "demo";
  data.language = std::move(language);
  data.day = 20261126;
  data.failed = 2;
  data.expired = 1;
  data.hold = "72h";
  data.rows = {
      Failure("reject-b@example.net", "550 5.1.1 <reject-b@example.net>: recipient rejected",
              "Order confirmation", kNoon + std::chrono::minutes(5)),
      Failure("reject-a@example.net", "550 5.1.1 <reject-a@example.net>: recipient rejected",
              "Order confirmation"),
      Failure("old@example.org", "expired: held for longer than policy.hold", "Newsletter",
              kNoon - std::chrono::hours(3)),
  };
  return data;
}

bool Contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST_F(DailyReportTest, EnglishListsEveryFailureInBothParts) {
  const DailyReport r = RenderDailyReport(Example("en"));
  EXPECT_EQ(r.subject, "E-mail sending error report: demo, 2026-11-26");
  for (const std::string* part : {&r.text, &r.html}) {
    EXPECT_TRUE(Contains(*part, "reject-a@example.net")) << *part;
    EXPECT_TRUE(Contains(*part, "reject-b@example.net"));
    EXPECT_TRUE(Contains(*part, "old@example.org"));
    EXPECT_TRUE(Contains(*part, "Order confirmation"));
    EXPECT_TRUE(Contains(*part, "12:05:00"));
    EXPECT_TRUE(Contains(*part, "What to do next"));
    EXPECT_TRUE(Contains(*part, "Change recipient"));
    EXPECT_TRUE(Contains(*part, "72h"));
  }
  EXPECT_TRUE(Contains(r.text, "Failed deliveries: 2"));
  EXPECT_TRUE(Contains(r.text, "not sent): 1"));
  EXPECT_TRUE(Contains(r.text, "550 5.1.1 <reject-a@example.net>: recipient rejected"));
  EXPECT_TRUE(Contains(r.html, "550 5.1.1 &lt;reject-a@example.net&gt;: recipient rejected"));
  EXPECT_TRUE(Contains(r.html, "<html lang=\"en\">"));
  EXPECT_FALSE(Contains(r.text, "... and"));
}

TEST_F(DailyReportTest, PolishWithDiacritics) {
  const DailyReport r = RenderDailyReport(Example("pl"));
  EXPECT_EQ(r.subject, "Raport błędów wysyłki e-maili: demo, 2026-11-26");
  EXPECT_TRUE(Contains(r.text, "Nieudane doręczenia: 2"));
  EXPECT_TRUE(Contains(r.text, "Wygasłe wiadomości"));
  EXPECT_TRUE(Contains(r.text, "„Zmień odbiorcę”"));
  EXPECT_TRUE(Contains(r.html, "<html lang=\"pl\">"));
  EXPECT_TRUE(Contains(r.html, "Odpowiedź serwera odbiorcy"));
  EXPECT_FALSE(Contains(r.text, "What to do next"));
}

TEST_F(DailyReportTest, AnUnknownLanguageIsEnglish) {
  EXPECT_EQ(RenderDailyReport(Example("xx")).subject,
            "E-mail sending error report: demo, 2026-11-26");
}

TEST_F(DailyReportTest, StoredTextIsEscapedInHtmlAndFlattenedInText) {
  DailyReportData data = Example("en");
  data.rows = {Failure("a\"b@example.net", "550 <b>no</b> & 'bye'",
                       "<script>alert(1)</script>\r\nBcc: victim@example.org")};
  const DailyReport r = RenderDailyReport(data);
  EXPECT_FALSE(Contains(r.html, "<script>"));
  EXPECT_FALSE(Contains(r.html, "<b>no</b>"));
  EXPECT_TRUE(Contains(r.html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_TRUE(Contains(r.html, "550 &lt;b&gt;no&lt;/b&gt; &amp; &#39;bye&#39;"));
  EXPECT_TRUE(Contains(r.html, "a&quot;b@example.net"));
  // A line break from a subject never starts a line of its own.
  EXPECT_FALSE(Contains(r.text, "\nBcc:"));
  EXPECT_TRUE(Contains(r.text, "<script>alert(1)</script>  Bcc: victim@example.org"));
  // The subject line is built from the account and the day only.
  EXPECT_EQ(r.subject.find('\n'), std::string::npos);
  EXPECT_FALSE(Contains(r.subject, "script"));
}

TEST_F(DailyReportTest, ALongListIsCappedAndTheRestCounted) {
  DailyReportData data = Example("en");
  data.rows.clear();
  for (int i = 0; i < 600; ++i) {
    data.rows.push_back(Failure("reject" + std::to_string(i) + "@example.net", "550", "s"));
  }
  data.unread = 25;
  data.failed = 625;
  const DailyReport r = RenderDailyReport(data);
  EXPECT_TRUE(Contains(r.text, "500. "));
  EXPECT_FALSE(Contains(r.text, "501. "));
  EXPECT_TRUE(Contains(r.text, "reject499@example.net"));
  EXPECT_FALSE(Contains(r.text, "reject500@example.net"));
  EXPECT_FALSE(Contains(r.html, "reject500@example.net"));
  EXPECT_TRUE(Contains(r.text, "... and 125 more not listed here."));
  EXPECT_TRUE(Contains(r.html, "... and 125 more not listed here."));
  data.language = "pl";
  EXPECT_TRUE(Contains(RenderDailyReport(data).text, "oraz 125 kolejnych"));
}

TEST_F(DailyReportTest, ALongFieldIsCutAtACharacterBoundary) {
  DailyReportData data = Example("en");
  std::string subject;
  for (int i = 0; i < 400; ++i) subject += "ż";  // two bytes each
  data.rows = {Failure("x@example.net", "550", "a" + subject)};
  const DailyReport r = RenderDailyReport(data);
  EXPECT_TRUE(Contains(r.text, "żż…"));
  EXPECT_FALSE(Contains(r.text, std::string(subject, 0, 400)));
}

TEST_F(DailyReportTest, NoRowsSaysSo) {
  DailyReportData data = Example("en");
  data.rows.clear();
  EXPECT_TRUE(Contains(RenderDailyReport(data).text, "no failure is listed"));
}

// MW_REPORT_EXAMPLE_DIR=docs writes the example of docs/ (report-example.txt and .html).
TEST_F(DailyReportTest, WritesTheExampleWhenAsked) {
  const char* dir = std::getenv("MW_REPORT_EXAMPLE_DIR");
  if (dir == nullptr) GTEST_SKIP() << "MW_REPORT_EXAMPLE_DIR not set";
  const DailyReport r = RenderDailyReport(Example("en"));
  std::ofstream(std::string(dir) + "/report-example.txt") << "Subject: " << r.subject << "\n\n"
                                                          << r.text;
  std::ofstream(std::string(dir) + "/report-example.html") << r.html;
  const DailyReport pl = RenderDailyReport(Example("pl"));
  std::ofstream(std::string(dir) + "/report-example.pl.txt") << "Subject: " << pl.subject << "\n\n"
                                                             << pl.text;
}

}  // namespace
}  // namespace mailwarden
