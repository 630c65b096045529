#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <memory>

#include "identity/dkim_canon.h"
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

// RFC 6376 3.4.5's example.
TEST(DkimCanon, RelaxedHeaderAndBodyAsRfc6376Shows) {
  const std::string message = "A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n";
  const SplitMessage split = SplitHeaderAndBody(message);
  ASSERT_EQ(split.fields.size(), 2u);
  EXPECT_EQ(split.fields[1].name, "B");
  EXPECT_EQ(RelaxedHeaderField(split.fields[0].text) + RelaxedHeaderField(split.fields[1].text),
            "a:X\r\nb:Y Z\r\n");
  EXPECT_EQ(RelaxedBody(split.body), " C\r\nD E\r\n");
  EXPECT_EQ(RelaxedBody(""), "");
  EXPECT_EQ(RelaxedBody("\r\n \t\r\n"), "") << "only empty lines: an empty body";
  EXPECT_EQ(RelaxedBody("no end"), "no end\r\n");
  EXPECT_TRUE(SplitHeaderAndBody("Subject: no body\r\n").body.empty());
}

// RFC 8463's example message, signed by another implementation (python3-dkim) with RFC 8032's
// test key: the same canonical text and ed25519 over its SHA-256 give the same b=.
TEST(DkimCanon, Rfc8463ExampleSignsAsAnotherImplementationDoes) {
  const std::string body = "Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n\r\n";
  const std::string message =
      "From: Joe SixPack <joe@football.example.com>\r\n"
      "To: Suzie Q <suzie@shopping.example.net>\r\n"
      "Subject: Is dinner ready?\r\n"
      "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
      "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n\r\n" +
      body;
  const std::string field =
      "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
      " d=football.example.com; i=@football.example.com; q=dns/txt;\r\n"
      " s=brisbane; t=1528637909; h=from : to : subject : date : message-id;\r\n"
      " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
      " b=";
  const std::string expected_b =
      "D9CZv25bKvd8rYHgwtu4QVfqILEQ710t60db+v7WoUki/9oUQlsXJl/Ca3Ti8JrReTf3h"
      "h6aXBRulnLDuVRXDA==";

  const SplitMessage split = SplitHeaderAndBody(message);
  EXPECT_EQ(split.body, body);
  std::string signed_data;
  for (const HeaderField& f : split.fields) signed_data += RelaxedHeaderField(f.text);
  std::string canonical = RelaxedHeaderField(field);
  canonical.resize(canonical.size() - 2);
  signed_data += canonical;

  // RFC 8032 7.1, test 1's secret key.
  const unsigned char seed[32] = {0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a,
                                  0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32,
                                  0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed, sizeof seed), EVP_PKEY_free);
  ASSERT_TRUE(key);
  auto b = DkimSignatureValue(key.get(), DkimAlgorithm::kEd25519Sha256, signed_data);
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(*b, expected_b);
}

TEST(DkimSigner, TheFieldItWritesSignsWhatItNames) {
  InitMime();
  auto key = GenerateDkimKey("shop.example", "s1", DkimAlgorithm::kEd25519Sha256, TimePoint{});
  ASSERT_TRUE(key);
  key->owner = 7;
  DkimSigner signer;
  signer.SetKeys({*key});
  const std::string message =
      "Subject: a  long\r\n  subject\r\nFrom: news@shop.example\r\nX-Other: not signed\r\n"
      "To: a@b.example\r\n\r\nhi  there \r\n\r\n";
  auto field = signer.Sign(message, 7, 1'800'000'000);
  ASSERT_TRUE(field) << field.error().message;
  ASSERT_TRUE(*field);
  const std::string& f = **field;
  EXPECT_NE(f.find(" t=1800000000;"), std::string::npos) << f;
  EXPECT_NE(f.find(" h=from:from:subject:to;"), std::string::npos)
      << "From once more than it occurs; fields not in the list are left out: " << f;
  for (std::size_t at = 0, end; (end = f.find("\r\n", at)) != std::string::npos; at = end + 2) {
    EXPECT_LE(end - at, 78u) << "folded: " << f;
  }
  // Verified with the public key over the canonical text the field names.
  std::string signed_data = RelaxedHeaderField("From: news@shop.example") +
                            RelaxedHeaderField("Subject: a  long\r\n  subject") +
                            RelaxedHeaderField("To: a@b.example");
  const std::size_t b = f.find(" b=");
  ASSERT_NE(b, std::string::npos);
  std::string canonical = RelaxedHeaderField(std::string_view(f).substr(0, b + 3));
  canonical.resize(canonical.size() - 2);
  signed_data += canonical;
  std::string value;
  for (const char c : std::string_view(f).substr(b + 3)) {
    if (c != '\r' && c != '\n' && c != '\t' && c != ' ') value += c;
  }
  auto again = DkimSignatureValue(ReadDkimPrivateKey(key->private_key).get(),
                                  DkimAlgorithm::kEd25519Sha256, signed_data);
  ASSERT_TRUE(again);
  EXPECT_EQ(value, *again) << "ed25519 is deterministic: the same text gives the same b=";
}

TEST(DkimSigner, SignsOnlyTheMailOfTheOwningAccountsDomains) {
  InitMime();
  DkimSigner signer;
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
