#include "core/text.h"

#include <gtest/gtest.h>

#include <string>

namespace mailwarden {
namespace {

TEST(AsciiLowerTest, LowersOnlyAsciiLetters) {
  struct Case {
    std::string in;
    std::string want;
  };
  const Case cases[] = {
      {"", ""},
      {"Example.COM", "example.com"},
      {"already lower 123", "already lower 123"},
      {"@[]^_`{", "@[]^_`{"},            // neighbours of A-Z and a-z stay
      {"\xC3\x84rger", "\xC3\x84rger"},  // UTF-8 bytes untouched (no locale)
  };
  for (const Case& c : cases) EXPECT_EQ(ToAsciiLower(c.in), c.want) << c.in;
}

TEST(TrimAsciiTest, DropsSpaceAtBothEndsOnly) {
  EXPECT_EQ(TrimAscii(" \t a b \r\n"), "a b");
  EXPECT_EQ(TrimAscii("ab"), "ab");
  EXPECT_EQ(TrimAscii(" \t\r\n"), "");
  EXPECT_EQ(TrimAscii(""), "");
  EXPECT_EQ(TrimAscii("\na\n", " "), "\na\n") << "only the bytes asked for";
  EXPECT_EQ(TrimAscii("\xC2\xA0x\xC2\xA0"), "\xC2\xA0x\xC2\xA0") << "no UTF-8 space is ASCII's";
}

TEST(CutAtUtf8BoundaryTest, NeverSplitsACharacter) {
  struct Case {
    std::string in;
    std::size_t max;
    std::string want;
  };
  const std::string euro = "\xE2\x82\xAC";  // 3 bytes
  const Case cases[] = {
      {"", 0, ""},
      {"abc", 0, ""},
      {"abc", 2, "ab"},
      {"abc", 3, "abc"},
      {"abc", 10, "abc"},
      {"a" + euro, 1, "a"},
      {"a" + euro, 2, "a"},
      {"a" + euro, 3, "a"},
      {"a" + euro, 4, "a" + euro},
      {euro + euro, 5, euro},
      {euro + euro, 6, euro + euro},
      {"\xC3\xA9t\xC3\xA9", 4, "\xC3\xA9t"},
      {"\xF0\x9F\x98\x80z", 3, ""},  // a 4-byte character does not fit in 3
  };
  for (const Case& c : cases) {
    EXPECT_EQ(CutAtUtf8Boundary(c.in, c.max), c.want) << c.in << " max " << c.max;
  }
}

TEST(ScrubControlTest, ReplacesControlCharacters) {
  struct Case {
    std::string in;
    char replacement;
    ControlSet set;
    std::string want;
  };
  const Case cases[] = {
      {"plain text", ' ', ControlSet::kC0AndDel, "plain text"},
      {"a\r\nb\tc", ' ', ControlSet::kC0AndDel, "a  b c"},
      {std::string("nul\0end", 7), ' ', ControlSet::kC0AndDel, "nul end"},
      {"esc\x1B[31m", '?', ControlSet::kC0AndDel, "esc?[31m"},
      {"del\x7F", '?', ControlSet::kC0AndDel, "del?"},
      // C1 (U+009B, the one-byte CSI) kept unless asked for...
      {"c1\xC2\x9B", '?', ControlSet::kC0AndDel, "c1\xC2\x9B"},
      // ... and replaced, both bytes by one, when it is.
      {"c1\xC2\x9B"
       "x",
       '?', ControlSet::kC0DelAndC1, "c1?x"},
      {"nbsp\xC2\xA0", '?', ControlSet::kC0DelAndC1, "nbsp\xC2\xA0"},  // U+00A0 is no control
      {"\xC2", '?', ControlSet::kC0DelAndC1, "\xC2"},                  // truncated: left alone
      {"\xC3\xA9\n", ' ', ControlSet::kC0DelAndC1, "\xC3\xA9 "},
  };
  for (const Case& c : cases) EXPECT_EQ(ScrubControl(c.in, c.replacement, c.set), c.want) << c.in;
}

TEST(LogTextTest, NeitherControlsATerminalNorEndsItsField) {
  EXPECT_EQ(LogText("250 2.0.0 OK queued"), "250 2.0.0 OK queued");
  EXPECT_EQ(LogText("550 \x1b[2Jno\" result=sent\x07\r\n"), "550  [2Jno' result=sent   ");
  EXPECT_EQ(LogText("a\xc2\x9b"
                    "b"),
            "a b")
      << "C1 as UTF-8";
  EXPECT_EQ(LogText("\xc3\xa9t\xc3\xa9"), "\xc3\xa9t\xc3\xa9") << "other UTF-8 as it is";
}

TEST(ValidUtf8Test, ReplacesEachInvalidByte) {
  struct Case {
    std::string in;
    std::string want;
  };
  const std::string r = "\xEF\xBF\xBD";  // U+FFFD
  const Case cases[] = {
      {"", ""},
      {"plain ascii", "plain ascii"},
      {"\xC3\xA9t\xC3\xA9", "\xC3\xA9t\xC3\xA9"},  // 2 bytes
      {"\xE2\x82\xAC", "\xE2\x82\xAC"},            // 3 bytes
      {"\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80"},    // 4 bytes
      {"\xF4\x8F\xBF\xBF", "\xF4\x8F\xBF\xBF"},    // U+10FFFF, the last
      {"a\xFF-", "a" + r + "-"},                   // never in UTF-8
      {"\x80", r},                                 // a lone continuation
      {"\xC3", r},                                 // cut short at the end
      {"\xE2\x82", r + r},                         // cut short, two bytes
      {"\xC0\xAF", r + r},                         // overlong '/'
      {"\xE0\x80\xAF", r + r + r},                 // overlong, 3 bytes
      {"\xED\xA0\x80", r + r + r},                 // a UTF-16 surrogate
      {"\xF4\x90\x80\x80", r + r + r + r},         // above U+10FFFF
      {"\xF5\x80\x80\x80", r + r + r + r},
      {"Latin-1 \xE9t\xE9", "Latin-1 " + r + "t" + r},
  };
  for (const Case& c : cases) EXPECT_EQ(ValidUtf8(c.in), c.want) << c.in;
}

}  // namespace
}  // namespace mailwarden
