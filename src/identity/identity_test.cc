#include <gtest/gtest.h>

#include "identity/dkim_key.h"
#include "identity/dkim_signer.h"
#include "identity/dns_check.h"
#include "mime/message_prep.h"

namespace mailwarden {
namespace {

TEST(DkimRecordKey, ThePValueWithoutFoldingSpace) {
  EXPECT_EQ(DkimRecordKey("v=DKIM1; k=rsa; p=AB CD\tEF"), "ABCDEF");
  EXPECT_EQ(DkimRecordKey("v=DKIM1;p=XYZ"), "XYZ");
  EXPECT_EQ(DkimRecordKey("v=DKIM1; k=ed25519"), "");
  EXPECT_EQ(DkimRecordKey("v=DKIM1; p="), "") << "a revoked key";
}

TEST(SpfAllows, TheTermAmongTheMechanisms) {
  EXPECT_TRUE(
      SpfAllows("v=spf1 include:_spf.hosting.example ~all", "include:_spf.hosting.example"));
  EXPECT_TRUE(SpfAllows("v=spf1 +IP4:192.0.2.0/24 -all", "ip4:192.0.2.0/24"));
  EXPECT_FALSE(SpfAllows("v=spf1 mx -all", "include:_spf.hosting.example"));
  EXPECT_FALSE(
      SpfAllows("v=spf1 include:_spf.hosting.example.evil ~all", "include:_spf.hosting.example"));
}

TEST(SingleFromAddress, OneFromFieldOneAddress) {
  EXPECT_EQ(SingleFromAddress("From: Shop <orders@shop.example>\r\nTo: a@b.c\r\n\r\nx\r\n"),
            "orders@shop.example");
  EXPECT_EQ(SingleFromAddress("To: a@b.c\r\nFROM: a@shop.example\r\n\r\nFrom: x@y.z\r\n"),
            "a@shop.example")
      << "the body's From line is not a header";
  EXPECT_EQ(SingleFromAddress("From: \"Shop\"\r\n <orders@shop.example>\r\n\r\n"),
            "orders@shop.example")
      << "folded";
  EXPECT_EQ(SingleFromAddress("From: a@x.example\r\nFrom: b@y.example\r\n\r\n"), std::nullopt);
  EXPECT_EQ(SingleFromAddress("From: a@x.example, b@y.example\r\n\r\n"), std::nullopt);
  EXPECT_EQ(SingleFromAddress("To: a@b.c\r\n\r\n"), std::nullopt);
}

TEST(DkimKey, RecordsAndSelectors) {
  auto rsa = GenerateDkimKey("shop.example", "s1", DkimAlgorithm::kRsaSha256, TimePoint{});
  ASSERT_TRUE(rsa) << rsa.error().message;
  EXPECT_EQ(DkimRecordName(*rsa), "s1._domainkey.shop.example");
  EXPECT_TRUE(DkimRecord(*rsa).starts_with("v=DKIM1; k=rsa; p=MIIBIjAN")) << DkimRecord(*rsa);
  EXPECT_TRUE(rsa->private_key.starts_with("-----BEGIN PRIVATE KEY-----"));
  auto ed = GenerateDkimKey("shop.example", "s2", DkimAlgorithm::kEd25519Sha256, TimePoint{});
  ASSERT_TRUE(ed) << ed.error().message;
  EXPECT_EQ(ed->public_key.size(), 44u) << "32 bytes, base64";
  EXPECT_FALSE(GenerateDkimKey("shop.example", "a.b", DkimAlgorithm::kRsaSha256, TimePoint{}));
  EXPECT_FALSE(CheckSelector(""));
  EXPECT_TRUE(CheckSelector("mw20261206t1830"));
  EXPECT_EQ(DefaultSelector(FromUnixMillis(1'796'582'990'000)), "mw20261206t1849");
}

TEST(DkimSigner, SignsOnlyTheMailOfTheOwningAccountsDomains) {
  InitMime();
  DkimSigner signer;
  ASSERT_TRUE(signer.SupportsEd25519());
  auto key = GenerateDkimKey("shop.example", "s1", DkimAlgorithm::kEd25519Sha256, TimePoint{});
  ASSERT_TRUE(key);
  key->owner = 7;
  signer.SetKeys({*key});
  const std::string own =
      "From: news@mail.shop.example\r\nTo: a@b.example\r\nSubject: x\r\n\r\nhi\r\n";
  auto signed_own = signer.Sign(own, 7);
  ASSERT_TRUE(signed_own && *signed_own);
  EXPECT_TRUE((*signed_own)
                  ->starts_with(
                      "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=shop.example;"))
      << **signed_own;
  EXPECT_TRUE((*signed_own)->ends_with("\r\n"));
  EXPECT_EQ(signer.Sign(own, 8).value(), std::nullopt) << "another account's message";
  EXPECT_EQ(signer.Sign("From: a@elsewhere.example\r\n\r\nx\r\n", 7).value(), std::nullopt);
}

}  // namespace
}  // namespace mailwarden
