#include "report/daily_report.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <time.h>

#include <string>
#include <utility>

#include "report/report_example.h"

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

// One failure of the example's day, at noon.
DeliveryError Failure(std::string recipient, std::string reply, std::string subject) {
  DeliveryError e;
  e.at = kReportExampleNoon;
  e.message = 1;
  e.recipient = std::move(recipient);
  e.reply = std::move(reply);
  e.subject = std::move(subject);
  return e;
}

bool Contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST_F(DailyReportTest, EnglishListsEveryFailureInBothParts) {
  const DailyReport r = RenderDailyReport(ReportExample("en"));
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
  const DailyReport r = RenderDailyReport(ReportExample("pl"));
  EXPECT_EQ(r.subject, "Raport błędów wysyłki e-maili: demo, 2026-11-26");
  EXPECT_TRUE(Contains(r.text, "Nieudane doręczenia: 2"));
  EXPECT_TRUE(Contains(r.text, "Wygasłe wiadomości"));
  EXPECT_TRUE(Contains(r.text, "„Zmień odbiorcę”"));
  EXPECT_TRUE(Contains(r.html, "<html lang=\"pl\">"));
  EXPECT_TRUE(Contains(r.html, "Odpowiedź serwera odbiorcy"));
  EXPECT_FALSE(Contains(r.text, "What to do next"));
}

TEST_F(DailyReportTest, AnUnknownLanguageIsEnglish) {
  EXPECT_EQ(RenderDailyReport(ReportExample("xx")).subject,
            "E-mail sending error report: demo, 2026-11-26");
}

TEST_F(DailyReportTest, StoredTextIsEscapedInHtmlAndFlattenedInText) {
  DailyReportData data = ReportExample("en");
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
  DailyReportData data = ReportExample("en");
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
  DailyReportData data = ReportExample("en");
  std::string subject;
  for (int i = 0; i < 400; ++i) subject += "ż";  // two bytes each
  data.rows = {Failure("x@example.net", "550", "a" + subject)};
  const DailyReport r = RenderDailyReport(data);
  EXPECT_TRUE(Contains(r.text, "żż…"));
  EXPECT_FALSE(Contains(r.text, std::string(subject, 0, 400)));
}

TEST_F(DailyReportTest, NoRowsSaysSo) {
  DailyReportData data = ReportExample("en");
  data.rows.clear();
  EXPECT_TRUE(Contains(RenderDailyReport(data).text, "no failure is listed"));
}

}  // namespace
}  // namespace mailwarden

namespace mailwarden {
namespace {

TEST(DailyReportSenderCheck, NamesWhatTheFromCheckDidOnlyWhenItDidSomething) {
  DailyReportData data;
  data.account_name = "shop";
  data.day = 20261206;
  EXPECT_EQ(RenderDailyReport(data).text.find("Sender not allowed"), std::string::npos);
  data.sender_held = 3;
  data.sender_refused = 2;
  const DailyReport en = RenderDailyReport(data);
  EXPECT_NE(en.text.find("Sender not allowed (the From address was not one of the account's "
                         "domains): 3 held, 2 refused"),
            std::string::npos)
      << en.text;
  EXPECT_NE(en.html.find("3 held, 2 refused"), std::string::npos);
  data.language = "pl";
  EXPECT_NE(RenderDailyReport(data).text.find("wstrzymane 3, odrzucone 2"), std::string::npos);
}

}  // namespace
}  // namespace mailwarden
