#include "mime/bounce_message.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "mime/message_prep.h"

namespace mailwarden {
namespace {

std::string Sample(const std::string& name) {
  std::ifstream in(std::string(MW_SOURCE_DIR) + "/tests/data/bounces/" + name, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  // The samples use LF; mail comes with CRLF.
  std::string out;
  for (const char c : s) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

class BounceMessageTest : public ::testing::Test {
 protected:
  void SetUp() override { InitMime(); }
};

TEST_F(BounceMessageTest, PostfixDsnGivesEachRecipientsActionStatusAndText) {
  const BounceMessage b = ParseBounceMessage(Sample("postfix-dsn.eml"));
  EXPECT_EQ(b.kind, BounceKind::kDsn);
  EXPECT_EQ(b.reporting_mta, "relay.example.net");
  ASSERT_EQ(b.recipients.size(), 2u);
  EXPECT_EQ(b.recipients[0].address, "nobody@dest.example");
  EXPECT_EQ(b.recipients[0].action, "failed");
  EXPECT_EQ(b.recipients[0].status, "5.1.1");
  EXPECT_EQ(b.recipients[0].diagnostic,
            "550 5.1.1 <nobody@dest.example>: Recipient address rejected: User unknown in local "
            "recipient table");
  EXPECT_EQ(b.recipients[1].address, "slow@dest.example");
  EXPECT_EQ(b.recipients[1].action, "delayed");
  EXPECT_EQ(b.recipients[1].status, "4.4.1");
  EXPECT_EQ(b.original_message_id, "20261206185958.1.demo@web1.example.net");
  EXPECT_EQ(b.original_return_path, "RETURN_PATH");
}

TEST_F(BounceMessageTest, ArfComplaintNamesItsOriginal) {
  const BounceMessage b = ParseBounceMessage(Sample("arf-complaint.eml"));
  EXPECT_EQ(b.kind, BounceKind::kFeedback);
  EXPECT_EQ(b.feedback_type, "abuse");
  EXPECT_EQ(b.original_return_path, "RETURN_PATH");
  EXPECT_EQ(b.original_message_id, "20261206185958.2.demo@web1.example.net");
}

TEST_F(BounceMessageTest, PlainTextBounceGivesItsFailureLine) {
  const BounceMessage b = ParseBounceMessage(Sample("plain-bounce.eml"));
  EXPECT_EQ(b.kind, BounceKind::kPlain);
  EXPECT_EQ(b.text, "Sorry, no mailbox here by that name. 550 5.1.1 user unknown (#5.1.1)");
}

TEST_F(BounceMessageTest, AutoReplyIsNoFailure) {
  const BounceMessage b = ParseBounceMessage(Sample("auto-reply.eml"));
  EXPECT_EQ(b.kind, BounceKind::kAutoReply);
}

TEST_F(BounceMessageTest, AnythingElseIsUnrecognisedWithItsSubject) {
  const BounceMessage b =
      ParseBounceMessage("From: someone@example.org\r\nSubject: hello there\r\n\r\nhi\r\n");
  EXPECT_EQ(b.kind, BounceKind::kUnrecognised);
  EXPECT_EQ(b.text, "hello there");
  EXPECT_EQ(ParseBounceMessage("").kind, BounceKind::kUnrecognised);
  EXPECT_EQ(ParseBounceMessage("\x01\x02 garbage").kind, BounceKind::kUnrecognised);
}

}  // namespace
}  // namespace mailwarden
