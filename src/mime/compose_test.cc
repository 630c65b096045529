#include "mime/compose.h"

#include <gtest/gtest.h>

namespace mailwarden {
namespace {

OutgoingMail Sample() {
  OutgoingMail m;
  m.from = "mailwarden@host.example";
  m.from_name = "mailwarden";
  m.to = "owner@example.com";
  m.subject = "Błędy wysyłki: 2 e-maile";
  m.text = "Two messages could not be delivered.\n";
  m.hostname = "host.example";
  m.date = FromUnixMillis(1'795'700'000'000);
  return m;
}

TEST(ComposeMessage, TextOnlyHasTheHeadersAndCrlf) {
  auto out = ComposeMessage(Sample());
  ASSERT_TRUE(out.has_value()) << out.error().message;
  EXPECT_NE(out->find("To: owner@example.com\r\n"), std::string::npos) << *out;
  EXPECT_NE(out->find("Auto-Submitted: auto-generated\r\n"), std::string::npos);
  EXPECT_NE(out->find("Message-Id: <"), std::string::npos);
  EXPECT_NE(out->find("Date: "), std::string::npos);
  EXPECT_NE(out->find("Subject: =?UTF-8?"), std::string::npos);  // an encoded word,
  EXPECT_EQ(out->find("Błędy"), std::string::npos);              // not raw UTF-8
  EXPECT_NE(out->find("text/plain"), std::string::npos);
  EXPECT_EQ(out->find("multipart"), std::string::npos);
  for (std::size_t i = out->find('\n'); i != std::string::npos; i = out->find('\n', i + 1)) {
    ASSERT_GT(i, 0u);
    EXPECT_EQ((*out)[i - 1], '\r');
  }
}

TEST(ComposeMessage, HtmlMakesAnAlternative) {
  auto m = Sample();
  m.html = "<p>Two messages could not be delivered.</p>";
  auto out = ComposeMessage(m);
  ASSERT_TRUE(out.has_value());
  EXPECT_NE(out->find("multipart/alternative"), std::string::npos);
  EXPECT_NE(out->find("text/html"), std::string::npos);
  EXPECT_LT(out->find("text/plain"), out->find("text/html"));
}

TEST(ComposeMessage, RefusesHeaderInjection) {
  auto m = Sample();
  m.subject = "Report\r\nBcc: victim@example.org";
  EXPECT_FALSE(ComposeMessage(m).has_value());
  m = Sample();
  m.to = "a@b.c\r\nBcc: x@y.z";
  EXPECT_FALSE(ComposeMessage(m).has_value());
  m = Sample();
  m.to = "a@b.c, d@e.f";
  EXPECT_FALSE(ComposeMessage(m).has_value());
  m = Sample();
  m.from_name = "x\nBcc: y@z.w";
  EXPECT_FALSE(ComposeMessage(m).has_value());
}

}  // namespace
}  // namespace mailwarden
