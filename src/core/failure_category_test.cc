#include "core/failure_category.h"

#include <gtest/gtest.h>

#include <string>

namespace mailwarden {
namespace {

using C = FailureCategory;

struct Case {
  std::string status;
  std::string text;
  FailureCategory want;
};

TEST(FailureClassifierTest, BuiltInTable) {
  const Case cases[] = {
      // Postfix's own words for the usual refusals.
      {"", "550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown",
       C::kBadMailbox},
      {"5.1.1", "smtp; 550 5.1.1 The email account that you tried to reach does not exist",
       C::kBadMailbox},
      {"", "550 5.1.2 Host or domain name not found. Name service error", C::kBadDomain},
      {"", "556 5.1.10 Recipient address has null MX", C::kBadDomain},
      {"", "552 5.2.2 Mailbox full", C::kMailboxFull},
      {"", "452 4.2.2 The email account that you tried to reach is over quota", C::kMailboxFull},
      {"",
       "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using "
       "zen.spamhaus.org",
       C::kSpamBlock},
      {"", "550 5.7.1 Message rejected as spam", C::kSpamBlock},
      {"", "550 5.7.1 Relaying denied", C::kPolicy},
      {"", "550 5.7.26 Unauthenticated email is not accepted from this domain", C::kPolicy},
      {"", "554 5.7.1 Virus found in attachment", C::kContent},
      {"", "552 5.3.4 Message size exceeds fixed limit", C::kContent},
      {"", "554 5.6.0 Message content rejected", C::kContent},
      {"", "554 5.4.6 Too many hops", C::kRouting},
      {"", "550 5.4.4 Unable to route", C::kBadDomain},
      {"", "554 5.5.0 Transaction failed", C::kOther},
      // Status that says little: the text decides.
      {"5.0.0", "550 5.0.0 <x@example.org>... User unknown", C::kBadMailbox},
      {"", "550 5.0.0 Requested action not taken", C::kOther},
      // No enhanced code at all: an old MTA's reply.
      {"", "550 Requested action not taken: mailbox unavailable", C::kBadMailbox},
      {"", "552 Requested mail action aborted: exceeded storage allocation; over quota",
       C::kMailboxFull},
      {"", "550 Domain does not exist", C::kBadDomain},
      {"", "554 Transaction failed", C::kOther},
      {"", "I'm sorry to have to inform you that your message could not be delivered",
       C::kUnclassified},
      // The DSN's Status: field wins over a code in the text.
      {"5.2.2", "smtp; 550 5.1.1 something", C::kMailboxFull},
      // A delivery.max_lifetime give-up keeps the last reply: its code still tells.
      {"", "gave up after 9 attempts (delivery.max_lifetime): 452 4.2.2 Mailbox full",
       C::kMailboxFull},
      // An IP address is not a status code.
      {"", "550 rejected: 5.1.10.3 is listed", C::kOther},
  };
  const FailureClassifier classifier;
  for (const Case& c : cases) {
    EXPECT_EQ(FailureCategoryName(classifier.Classify(c.status, c.text)),
              FailureCategoryName(c.want))
        << c.status << " / " << c.text;
  }
}

TEST(FailureClassifierTest, ProviderRulesComeFirst) {
  auto rules = ParseCategoryRules(
      "# our own\n"
      "spam_block 5.7.1 Barracuda\n"
      "policy * greylisted for too long\n"
      "bad_mailbox 5.0.0\n");
  ASSERT_TRUE(rules) << rules.error().message;
  ASSERT_EQ(rules->size(), 3u);
  const FailureClassifier classifier(*rules);
  EXPECT_EQ(classifier.Classify("554 5.7.1 Blocked by barracuda"), C::kSpamBlock);
  EXPECT_EQ(classifier.Classify("450 greylisted for too long"), C::kPolicy);
  EXPECT_EQ(classifier.Classify("550 5.0.0 Requested action not taken"), C::kBadMailbox);
  // The built-in table still answers the rest.
  EXPECT_EQ(classifier.Classify("550 5.1.1 unknown"), C::kBadMailbox);
}

TEST(FailureClassifierTest, RulesFileErrorsNameTheLine) {
  const struct {
    const char* text;
    const char* want;
  } cases[] = {
      {"bad_mailbx 5.1.1\n", "line 1: \"bad_mailbx\""},
      {"\n\nsuppressed 5.1.1\n", "line 3:"},
      {"policy\n", "line 1: a rule needs a status"},
      {"policy 5.x.1 text\n", "line 1: \"5.x.1\" is not"},
      {"policy 3.1.1\n", "line 1: \"3.1.1\" is not"},
      {"policy *\n", "line 1: a rule with status * needs a text"},
  };
  for (const auto& c : cases) {
    auto rules = ParseCategoryRules(c.text);
    ASSERT_FALSE(rules) << c.text;
    EXPECT_NE(rules.error().message.find(c.want), std::string::npos) << rules.error().message;
  }
}

TEST(FailureCategoryTest, NamesRoundTripAndEveryCategoryHasWords) {
  for (const FailureCategory c : AllFailureCategories()) {
    EXPECT_EQ(ParseFailureCategory(FailureCategoryName(c)), c);
    EXPECT_FALSE(FailureCategoryText(c, "en").empty());
    EXPECT_FALSE(FailureCategoryText(c, "pl").empty());
    EXPECT_NE(FailureCategoryText(c, "en"), FailureCategoryText(c, "pl"));
    EXPECT_EQ(FailureCategoryText(c, "en").find("policy."), std::string_view::npos);
  }
  EXPECT_EQ(AllFailureCategories().size(), 11u);
  EXPECT_FALSE(ParseFailureCategory("spam"));
}

TEST(FailureCategoryTest, StoredCategoryFallsBackToTheReply) {
  EXPECT_EQ(StoredFailureCategory("content", "550 5.1.1 x"), C::kContent);
  EXPECT_EQ(StoredFailureCategory("", "550 5.1.1 x"), C::kBadMailbox);
  EXPECT_EQ(StoredFailureCategory("", "expired: held for longer than policy.hold"), C::kExpired);
}

TEST(FailureCategoryTest, EnhancedStatusAndReplyCode) {
  EXPECT_EQ(FindEnhancedStatus("550 5.1.1 <a@b>: no"), "5.1.1");
  EXPECT_EQ(FindEnhancedStatus("550-5.7.26 multi"), "5.7.26");
  EXPECT_EQ(FindEnhancedStatus("from 10.5.1.1 said 550"), "");
  EXPECT_EQ(FindEnhancedStatus("version 1.5.1.2"), "");
  EXPECT_EQ(FindEnhancedStatus("status 4.4.1."), "4.4.1");
  EXPECT_EQ(FindEnhancedStatus("nothing"), "");
  EXPECT_EQ(LeadingReplyCode("550 no"), 550);
  EXPECT_EQ(LeadingReplyCode("5500 no"), 0);
  EXPECT_EQ(LeadingReplyCode("150 no"), 0);
  EXPECT_EQ(LeadingReplyCode("ok"), 0);
}

}  // namespace
}  // namespace mailwarden
