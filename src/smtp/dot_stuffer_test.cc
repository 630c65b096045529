#include "smtp/dot_stuffer.h"

#include <gtest/gtest.h>

#include <string>

namespace mailwarden {
namespace {

struct StuffCase {
  const char* name;
  std::string body;
  std::string wire;
};

class DotStufferTest : public ::testing::TestWithParam<StuffCase> {};

TEST_P(DotStufferTest, MakesWireText) {
  EXPECT_EQ(DotStuffer::Stuff(GetParam().body), GetParam().wire);
}

TEST_P(DotStufferTest, ChunkSizeDoesNotMatter) {
  for (std::size_t max : {1u, 2u, 3u, 7u, 64u}) {
    DotStuffer stuffer(GetParam().body);
    std::string wire;
    std::string chunk;
    while (stuffer.Next(chunk, max)) {
      EXPECT_LE(chunk.size(), max + 5);
      wire += chunk;
    }
    EXPECT_TRUE(chunk.empty());
    EXPECT_EQ(wire, GetParam().wire) << "chunks of " << max;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, DotStufferTest,
    ::testing::Values(
        StuffCase{"empty", "", ".\r\n"}, StuffCase{"plain", "a\r\nb\r\n", "a\r\nb\r\n.\r\n"},
        StuffCase{"adds_final_crlf", "a\r\nb", "a\r\nb\r\n.\r\n"},
        StuffCase{"leading_dot", ".hidden\r\n", "..hidden\r\n.\r\n"},
        StuffCase{"lone_dot_line", "a\r\n.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n"},
        StuffCase{"two_dots", "..\r\n", "...\r\n.\r\n"},
        StuffCase{"dot_not_at_start", "a.b\r\n a\r\n", "a.b\r\n a\r\n.\r\n"},
        StuffCase{"last_line_dot", "a\r\n.", "a\r\n..\r\n.\r\n"},
        StuffCase{"bare_lf", "a\nb\n", "a\r\nb\r\n.\r\n"},
        StuffCase{"bare_cr", "a\rb\r", "a\r\nb\r\n.\r\n"},
        // A body cannot end the data early, whatever line ends it uses (SMTP smuggling).
        StuffCase{"smuggle_lf", "a\n.\nMAIL FROM:<x>\n", "a\r\n..\r\nMAIL FROM:<x>\r\n.\r\n"},
        StuffCase{"smuggle_cr", "a\r.\r\n", "a\r\n..\r\n.\r\n"},
        StuffCase{"empty_lines", "\r\n\r\n", "\r\n\r\n.\r\n"},
        StuffCase{"eight_bit", "caf\xc3\xa9\r\n", "caf\xc3\xa9\r\n.\r\n"},
        // Lines a relay refuses (only in mail stored before preparation made lines fit) are
        // broken as Postfix breaks them.
        StuffCase{"longest_line", std::string(998, 'a') + "\r\n",
                  std::string(998, 'a') + "\r\n.\r\n"},
        StuffCase{"dot_not_counted", "." + std::string(997, 'a') + "\r\n",
                  ".." + std::string(997, 'a') + "\r\n.\r\n"},
        StuffCase{"long_line", std::string(2500, 'a') + "\nb",
                  std::string(998, 'a') + "\r\n " + std::string(997, 'a') + "\r\n " +
                      std::string(505, 'a') + "\r\nb\r\n.\r\n"}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace mailwarden
