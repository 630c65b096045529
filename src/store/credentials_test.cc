#include "store/credentials.h"

#include <gtest/gtest.h>

namespace mailwarden {
namespace {

TEST(Credentials, SecretsAreRandomHexAndDigestsStable) {
  const std::string a = NewSecret();
  const std::string b = NewSecret();
  EXPECT_EQ(a.size(), 64u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a, b);
  // SHA-256 of "abc" (FIPS 180-2 test vector).
  EXPECT_EQ(SecretDigest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(DigestsEqual(SecretDigest(a), SecretDigest(a)));
  EXPECT_FALSE(DigestsEqual(SecretDigest(a), SecretDigest(b)));
  EXPECT_FALSE(DigestsEqual("ab", "abc"));
}

}  // namespace
}  // namespace mailwarden
