#include "report/daily_report.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <time.h>

#include <string>
#include <utility>

#include "core/failure_category.h"
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

TEST_F(DailyReportTest, NamesTheDaysQuarantinedMailWithItsScore) {
  for (const char* language : {"en", "pl"}) {
    DailyReportData data = ReportExample(language);
    data.quarantined = 2;
    StoredMessage m;
    m.id = 9;
    m.subject = "Your PayPal account is locked";
    m.received_at = kReportExampleNoon;
    m.scan_state = ScanState::kQuarantined;
    m.scan = ScanResult{.action = "reject", .score = 15.2, .symbols = {"PHISHING", "GTUBE"}};
    data.quarantine.push_back(m);
    const DailyReport r = RenderDailyReport(data);
    for (const std::string* part : {&r.text, &r.html}) {
      EXPECT_TRUE(Contains(*part, "Your PayPal account is locked")) << *part;
      EXPECT_TRUE(Contains(*part, std::string(language) == "pl"
                                      ? "wynik spamu 15.2: PHISHING, GTUBE"
                                      : "spam score 15.2: PHISHING, GTUBE"))
          << *part;
      EXPECT_TRUE(
          Contains(*part, std::string(language) == "pl" ? "niewysłane: 2" : "did not send: 2"));
    }
  }
  const DailyReport none = RenderDailyReport(ReportExample("en"));
  EXPECT_FALSE(Contains(none.text, "content scanner"));
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

TEST_F(DailyReportTest, EachFailureSaysWhatItMeansInTheReportsLanguage) {
  for (const std::string language : {"en", "pl"}) {
    const DailyReport r = RenderDailyReport(ReportExample(language));
    for (const std::string* part : {&r.text, &r.html}) {
      EXPECT_TRUE(
          Contains(*part, std::string(FailureCategoryText(FailureCategory::kBadMailbox, language))))
          << *part;
      EXPECT_TRUE(
          Contains(*part, std::string(FailureCategoryText(FailureCategory::kExpired, language))));
      // No configuration key the customer cannot see, and no internal reply for an expiry.
      EXPECT_FALSE(Contains(*part, "policy.")) << *part;
      EXPECT_FALSE(Contains(*part, "expired: ")) << *part;
    }
  }
  EXPECT_TRUE(Contains(RenderDailyReport(ReportExample("pl")).text, "Adres nie istnieje"));
  // A failure stored before categories were is classified from its reply.
  DailyReportData data = ReportExample("en");
  data.rows = {Failure("x@example.net", "552 5.2.2 Mailbox full", "s")};
  EXPECT_TRUE(Contains(RenderDailyReport(data).text, "mailbox is full"));
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
