#include "smtp/line_break.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <string_view>

namespace mailwarden {
namespace {

TEST(FindLineBreak, FindsTheFirstCrOrLf) {
  struct Case {
    std::string_view text;
    std::size_t from;
    std::size_t want;
  };
  using namespace std::string_view_literals;
  const Case cases[] = {
      {"", 0, 0},           {"abc", 0, 3},        {"abc\r\ndef", 0, 3},     {"abc\ndef", 0, 3},
      {"abc\rdef\n", 0, 3}, {"abc\ndef\r", 0, 3}, {"abc\r\ndef\r\n", 5, 8}, {"abc\r\ndef", 4, 4},
      {"abc", 3, 3},        {"abc", 7, 3},        {"a\0b\nc"sv, 0, 3},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(FindLineBreak(c.text, c.from), c.want) << c.text << " from " << c.from;
    // The same answer as the standard library's, where that is defined.
    const std::size_t expected = std::min(c.text.find_first_of("\r\n", c.from), c.text.size());
    EXPECT_EQ(FindLineBreak(c.text, c.from), expected) << c.text << " from " << c.from;
  }
}

// Breaks on both sides of the stretch edges (128, 384, 896, ... bytes after from), and text
// whose lines end in bare CRs, compared with the standard library's answer at every start.
TEST(FindLineBreak, AgreesWithFindFirstOfAcrossStretches) {
  std::mt19937 random(7);
  for (int round = 0; round < 200; ++round) {
    std::string text(1 + random() % 3000, 'x');
    const int breaks = static_cast<int>(random() % 6);
    for (int b = 0; b < breaks; ++b) text[random() % text.size()] = random() % 2 ? '\r' : '\n';
    for (std::size_t from = 0; from <= text.size(); from += 1 + random() % 97) {
      const std::size_t expected = std::min(text.find_first_of("\r\n", from), text.size());
      ASSERT_EQ(FindLineBreak(text, from), expected) << "round " << round << " from " << from;
    }
  }
  std::string bare_crs;
  for (int i = 0; i < 1000; ++i) bare_crs += "ab\r";
  for (std::size_t from = 0; from < bare_crs.size(); ++from) {
    ASSERT_EQ(FindLineBreak(bare_crs, from), from + 2 - from % 3) << from;
  }
  EXPECT_EQ(FindLineBreak(std::string(127, 'x') + "\n", 0), 127u);
  EXPECT_EQ(FindLineBreak(std::string(128, 'x') + "\n", 0), 128u);
  EXPECT_EQ(FindLineBreak(std::string(128, 'x') + "\r\n", 0), 128u);
  EXPECT_EQ(FindLineBreak(std::string(127, 'x') + "\r\n", 0), 127u);
}

}  // namespace
}  // namespace mailwarden
