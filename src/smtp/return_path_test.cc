#include "smtp/return_path.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "testing/temp_dir.h"

namespace mailwarden {
namespace {

const std::string kSecret(64, 'k');

TEST(ReturnPathTest, AnAddressNamesItsMessageAndVerifies) {
  const ReturnPath rp("Bounces.Example.NET", kSecret);
  const std::string a = rp.Address(12345, 7);
  EXPECT_TRUE(a.starts_with("mw-12345-7-")) << a;
  EXPECT_TRUE(a.ends_with("@bounces.example.net")) << a;
  auto ref = rp.Verify(a);
  ASSERT_TRUE(ref.has_value());
  EXPECT_EQ(ref->message, 12345);
  EXPECT_EQ(ref->account, 7);
  // Some MTAs change the case of what they hand back.
  std::string upper = a;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(rp.Verify(upper).has_value());
}

TEST(ReturnPathTest, ForgedOrMalformedAddressesAreRefused) {
  const ReturnPath rp("bounces.example.net", kSecret);
  const std::string a = rp.Address(12345, 7);
  const std::string sig = a.substr(std::string("mw-12345-7-").size(), 16);
  const std::string forged[] = {
      "mw-12345-8-" + sig + "@bounces.example.net",  // another account, same signature
      "mw-12346-7-" + sig + "@bounces.example.net",  // another message
      "mw-12345-7-" + std::string(16, '0') + "@bounces.example.net",
      "mw-12345-7-" + sig.substr(0, 15) + "@bounces.example.net",
      "mw-012345-7-" + sig + "@bounces.example.net",
      "mw-12345-7-" + sig + "@other.example.net",
      "mw-12345-7-" + sig,
      "postmaster@bounces.example.net",
      "",
  };
  for (const std::string& f : forged) EXPECT_FALSE(rp.Verify(f).has_value()) << f;
  // Another secret (another installation) signs differently.
  EXPECT_FALSE(ReturnPath("bounces.example.net", std::string(64, 'z')).Verify(a).has_value());
}

TEST(ReturnPathTest, SecretFileIsMadeOnceReadableByItsOwnerAlone) {
  testing::TempDir dir("mw-rp");
  const std::string file = (dir.path() / "var" / "bounces.secret").string();
  bool made = false;
  auto first = ReadOrCreateBounceSecret(file, &made);
  ASSERT_TRUE(first.has_value()) << first.error().message;
  EXPECT_TRUE(made);
  EXPECT_EQ(first->size(), 64u);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  auto again = ReadOrCreateBounceSecret(file, &made);
  ASSERT_TRUE(again.has_value());
  EXPECT_FALSE(made);
  EXPECT_EQ(*again, *first);

  const std::string short_file = (dir.path() / "short").string();
  std::ofstream(short_file) << "tooshort\n";
  auto bad = ReadOrCreateBounceSecret(short_file, nullptr);
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("bounces.secret_file"), std::string::npos);
}

}  // namespace
}  // namespace mailwarden
