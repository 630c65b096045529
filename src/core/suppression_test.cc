#include "core/suppression.h"

#include <gtest/gtest.h>

namespace mailwarden {
namespace {

TEST(Suppression, OnlyBadMailboxesAndDomainsSuppress) {
  EXPECT_TRUE(Suppresses("bad_mailbox"));
  EXPECT_TRUE(Suppresses("bad_domain"));
  for (const char* c : {"mailbox_full", "spam_block", "policy", "content", "routing", "other",
                        "suppressed", "expired", "unclassified", ""}) {
    EXPECT_FALSE(Suppresses(c)) << c;
  }
}

TEST(Suppression, AddressKeepsItsLocalPartAndLowersItsDomain) {
  EXPECT_EQ(SuppressionAddress("John.Doe@Example.COM"), "John.Doe@example.com");
  EXPECT_EQ(SuppressionAddress("\"a@b\"@Host.Example"), "\"a@b\"@host.example");
  EXPECT_EQ(SuppressionAddress("postmaster"), "postmaster");
}

TEST(Suppression, ReplyQuotesTheFailure) {
  const TimePoint at =
      std::chrono::sys_days{std::chrono::year{2026} / 12 / 6} + std::chrono::hours(22);
  EXPECT_EQ(SuppressedReply("bad_mailbox", "5.1.1", "550 5.1.1 <x@example.com>: User unknown", at),
            "suppressed: not sent; this address failed on 2026-12-06 (bad_mailbox, 5.1.1): 550 "
            "5.1.1 <x@example.com>: User unknown");
  EXPECT_EQ(SuppressedReply("bad_domain", "", "no such domain", at),
            "suppressed: not sent; this address failed on 2026-12-06 (bad_domain): no such domain");
}

}  // namespace
}  // namespace mailwarden
