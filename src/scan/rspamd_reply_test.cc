#include "scan/rspamd_reply.h"

#include <gtest/gtest.h>

#include "core/scan_verdict.h"

namespace mailwarden {
namespace {

TEST(ParseRspamdReply, ReadsActionScoreAndTheMainSymbols) {
  auto r = ParseRspamdReply(R"({"is_skipped":false,"score":15.23456,"required_score":15,
    "action":"reject","symbols":{
      "PHISHING":{"name":"PHISHING","score":7.0},
      "GTUBE":{"name":"GTUBE","score":8.0},
      "MIME_GOOD":{"name":"MIME_GOOD","score":-0.1},
      "ARC_NA":{"name":"ARC_NA","score":0.0},
      "A":{"score":1},"B":{"score":1},"C":{"score":0.5},"D":{"score":0.1}},
    "messages":{}})");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->action, "reject");
  EXPECT_DOUBLE_EQ(r->score, 15.235);
  EXPECT_EQ(r->symbols, (std::vector<std::string>{"GTUBE", "PHISHING", "A", "B", "C"}));
}

TEST(ParseRspamdReply, WithNothingScoredTheZeroSymbolsAreTheMainOnes) {
  // Rspamd's GTUBE: the pattern ends the scan at once, its symbol scoring 0.
  auto r =
      ParseRspamdReply(R"({"is_skipped":true,"score":15.0,"required_score":15.0,"action":"reject",)"
                       R"("symbols":{"GTUBE":{"name":"GTUBE","score":0.0,"metric_score":0.0}}})");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->symbols, std::vector<std::string>{"GTUBE"});
}

TEST(ParseRspamdReply, RefusesWhatIsNotAVerdict) {
  for (const char* text : {"", "not json", "[]", R"({"score":1})", R"({"action":"reject"})",
                           R"({"action":1,"score":1})"}) {
    EXPECT_FALSE(ParseRspamdReply(text).has_value()) << text;
  }
}

TEST(RspamdRequestFields, CarryTheEnvelopeAndTheScript) {
  UnscannedMessage m{.id = 42,
                     .account = 7,
                     .account_name = "shop",
                     .sender = "www@shop.example",
                     .recipients = {"a@example.net", "b@example.org"},
                     .script = "1000:/home/shop/x.php",
                     .uid = 1000,
                     .size = 10};
  const auto fields = RspamdRequestFields(m, "web1.example");
  const std::vector<std::pair<std::string, std::string>> want = {
      {"User", "shop"},
      {"From", "www@shop.example"},
      {"Rcpt", "a@example.net"},
      {"Rcpt", "b@example.org"},
      {"Queue-Id", "42"},
      {"Hostname", "web1.example"},
      {"X-Mailwarden-Script", "1000:/home/shop/x.php"}};
  EXPECT_EQ(fields, want);
  m.script.clear();
  m.sender = "evil\r\nX: y";
  const auto bare = RspamdRequestFields(m, "h");
  EXPECT_EQ(bare[1].second, "evilX: y");
  EXPECT_EQ(bare.back().second, "1000");
}

TEST(OutcomeOfAction, MapsRspamdsActions) {
  const struct {
    const char* action;
    ScanOutcome outcome;
  } kCases[] = {
      {"reject", ScanOutcome::kQuarantine},
      {"add header", ScanOutcome::kSuspicious},
      {"rewrite subject", ScanOutcome::kSuspicious},
      {"no action", ScanOutcome::kLetGo},
      {"greylist", ScanOutcome::kLetGo},
      {"soft reject", ScanOutcome::kLetGo},
      {"something new", ScanOutcome::kLetGo},
  };
  for (const auto& c : kCases) EXPECT_EQ(OutcomeOfAction(c.action), c.outcome) << c.action;
}

}  // namespace
}  // namespace mailwarden
