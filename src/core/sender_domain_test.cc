#include "core/sender_domain.h"

#include <gtest/gtest.h>

namespace mailwarden {
namespace {

TEST(NormalizeDomain, SpellsEachDomainOneWay) {
  struct Case {
    const char* in;
    const char* out;
  };
  for (const Case& c : {
           Case{"Example.COM", "example.com"},
           Case{"example.com.", "example.com"},
           Case{"mail.example.com", "mail.example.com"},
           Case{"żółw.pl", "xn--w-uga1v8h.pl"},
           Case{"ŻÓŁW.PL", "xn--w-uga1v8h.pl"},
           Case{"xn--w-uga1v8h.pl", "xn--w-uga1v8h.pl"},
           Case{"bücher.example", "xn--bcher-kva.example"},
           Case{"_dmarc.example.com", "_dmarc.example.com"},
       }) {
    auto d = NormalizeDomain(c.in);
    ASSERT_TRUE(d) << c.in << ": " << d.error().message;
    EXPECT_EQ(*d, c.out) << c.in;
  }
}

TEST(NormalizeDomain, RefusesWhatIsNoDomainOfOnesOwn) {
  for (const char* bad : {"", ".", "com", "exa mple.com", "-a.com", "a..com", "[1.2.3.4]",
                          "a@b.com", "x.com\r\nBcc: y"}) {
    auto d = NormalizeDomain(bad);
    EXPECT_FALSE(d) << bad;
    if (!d) {
      EXPECT_EQ(d.error().code, ErrorCode::kInvalidInput);
    }
  }
  EXPECT_FALSE(NormalizeDomain(std::string(64, 'a') + ".com"));
}

TEST(DomainAndParents, MostSpecificFirstDownToTwoLabels) {
  EXPECT_EQ(DomainAndParents("a.b.example.com"),
            (std::vector<std::string>{"a.b.example.com", "b.example.com", "example.com"}));
  EXPECT_EQ(DomainAndParents("example.com"), (std::vector<std::string>{"example.com"}));
  EXPECT_TRUE(DomainAndParents("com").empty());
}

TEST(AddressDomain, TheNormalisedDomainAfterTheLastAt) {
  EXPECT_EQ(AddressDomain("Someone@Example.COM"), "example.com");
  EXPECT_EQ(AddressDomain("\"a@b\"@żółw.pl"), "xn--w-uga1v8h.pl");
  EXPECT_EQ(AddressDomain("nobody"), std::nullopt);
  EXPECT_EQ(AddressDomain("x@[127.0.0.1]"), std::nullopt);
}

TEST(SenderCheck, NamesRoundTrip) {
  for (SenderCheck c : {SenderCheck::kOff, SenderCheck::kHold, SenderCheck::kReject}) {
    EXPECT_EQ(ParseSenderCheck(SenderCheckName(c)), c);
  }
  EXPECT_EQ(ParseSenderCheck("deny"), std::nullopt);
}

TEST(SenderAllowed, EveryClaimedDomainMustBeTheAccounts) {
  struct Case {
    std::vector<std::optional<AccountId>> owners;
    bool allowed;
  };
  for (const Case& c : {
           Case{{}, true},               // no From of its own, null sender: names no one
           Case{{7}, true},              // its own domain
           Case{{7, 7}, true},           // From and envelope both its own
           Case{{8}, false},             // another account's domain
           Case{{std::nullopt}, false},  // a domain no account has (paypal.com)
           Case{{7, 8}, false},          // its From, another's envelope sender
           Case{{7, std::nullopt}, false},
       }) {
    EXPECT_EQ(SenderAllowed(7, c.owners), c.allowed);
  }
}

TEST(ClaimedDomains, FromFirstEachOnce) {
  SenderClaim claim{{"a.com", "b.com", "a.com"}, "b.com"};
  EXPECT_EQ(ClaimedDomains(claim), (std::vector<std::string>{"a.com", "b.com"}));
  SenderClaim envelope_only{{}, "c.com"};
  EXPECT_EQ(ClaimedDomains(envelope_only), (std::vector<std::string>{"c.com"}));
}

}  // namespace
}  // namespace mailwarden
