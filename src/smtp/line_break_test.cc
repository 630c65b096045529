#include "smtp/line_break.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace mailwarden
