#include "core/block_reason.h"

#include <gtest/gtest.h>

#include "core/account_state.h"

namespace mailwarden {
namespace {

using Params = std::vector<std::pair<std::string, std::int64_t>>;

TEST(BlockReasonTest, TheGuardsReasonsReadBackAsCodesWithTheirNumbers) {
  struct Case {
    std::string code;
    Params params;
    std::string text;
  };
  const Case cases[] = {
      {"spam_flood",
       {{"submitted", 41}, {"limit", 40}},
       "spam_guard: 41 messages submitted in the last hour, more than 40"},
      {"bounce_rate",
       {{"failed", 4}, {"attempted", 4}, {"rate", 100}, {"limit", 50}},
       "bounce_guard: 4 of 4 deliveries in the last hour failed (100%), more than 50%"},
      {"bounce_rate_doubled",
       {{"failed", 9}, {"attempted", 10}, {"rate", 90}, {"limit", 60}},
       "bounce_guard: 9 of 10 deliveries in the last hour failed (90%), more than 60% (tolerance "
       "doubled)"},
      {"content_quarantine",
       {{"quarantined", 4}, {"limit", 4}},
       "spam_guard: content: 4 messages quarantined by the content scanner in the last hour, the "
       "limit is 4"},
      {"unique_recipients",
       {{"limit", 200}},
       "spam_guard: more than 200 different recipients in the last hour"},
      {"complaint_rate",
       {{"complaints", 4}, {"sent", 1000}, {"rate", 40}, {"limit", 30}},
       "complaint_guard: 4 spam complaints about the 1000 messages sent today (40 per 10,000), "
       "more than 30 per 10,000"},
      {"complaint_rate_doubled",
       {{"complaints", 7}, {"sent", 1000}, {"rate", 70}, {"limit", 60}},
       "complaint_guard: 7 spam complaints about the 1000 messages sent today (70 per 10,000), "
       "more than 60 per 10,000 (tolerance doubled)"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(FormatBlockReason(c.code, c.params), c.text) << c.code;
    const auto parsed = ParseBlockReason(c.text);
    ASSERT_TRUE(parsed.has_value()) << c.text;
    EXPECT_EQ(parsed->code, c.code);
    EXPECT_EQ(parsed->params, c.params) << c.text;
  }
}

TEST(BlockReasonTest, DecidesDefaultReasonsHaveCodes) {
  const struct {
    Actor actor;
    std::string code;
  } cases[] = {{Actor::kCustomer, "by_customer"},
               {Actor::kAdmin, "by_admin"},
               {Actor::kSpamGuard, "spam_flood"},
               {Actor::kBounceGuard, "bounce_rate"},
               {Actor::kComplaintGuard, "complaint_rate"}};
  for (const auto& c : cases) {
    const auto decided = Decide(AccountStatus{}, AccountAction::kBlock, c.actor, "", TimePoint{});
    ASSERT_TRUE(decided.has_value());
    const auto parsed = ParseBlockReason(decided->next.reason);
    ASSERT_TRUE(parsed.has_value()) << decided->next.reason;
    EXPECT_EQ(parsed->code, c.code);
    EXPECT_TRUE(parsed->params.empty());
  }
}

TEST(BlockReasonTest, OwnWordsAndNearMissesHaveNoCode) {
  for (const char* text : {"", "the site was hacked", "blocked by the customer.",
                           "spam_guard: many messages submitted in the last hour, more than 40",
                           "spam_guard: 41 messages submitted in the last hour, more than 40 !"}) {
    EXPECT_FALSE(ParseBlockReason(text).has_value()) << text;
  }
  EXPECT_EQ(FormatBlockReason("spam_flood", {{"submitted", 3}}), "");
  EXPECT_EQ(FormatBlockReason("no_such_code", {}), "");
}

}  // namespace
}  // namespace mailwarden
