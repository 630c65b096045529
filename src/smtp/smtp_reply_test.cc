#include "smtp/smtp_reply.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mailwarden {
namespace {

struct ReplyCase {
  const char* name;
  std::string text;
  bool ok;
  int code;
  std::vector<std::string> lines;
  const char* error_part;  // a piece of the error message when !ok
};

class ParseSmtpReplyTest : public ::testing::TestWithParam<ReplyCase> {};

TEST_P(ParseSmtpReplyTest, Parses) {
  const ReplyCase& c = GetParam();
  auto reply = ParseSmtpReply(c.text);
  ASSERT_EQ(reply.has_value(), c.ok) << (reply ? reply->ToString() : reply.error().message);
  if (c.ok) {
    EXPECT_EQ(reply->code, c.code);
    EXPECT_EQ(reply->lines, c.lines);
  } else {
    EXPECT_NE(reply.error().message.find(c.error_part), std::string::npos) << reply.error().message;
  }
}

std::string Lines(int count, const std::string& last) {
  std::string text;
  for (int i = 1; i < count; ++i) text += "250-line\r\n";
  return text + last;
}

std::vector<std::string> WithLast(std::vector<std::string> lines, const std::string& last) {
  lines.push_back(last);
  return lines;
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseSmtpReplyTest,
    ::testing::Values(
        ReplyCase{"single", "250 OK\r\n", true, 250, {"OK"}, ""},
        ReplyCase{
            "enhanced_kept", "550 5.1.1 No such user\r\n", true, 550, {"5.1.1 No such user"}, ""},
        ReplyCase{"multi",
                  "250-mx.example\r\n250-PIPELINING\r\n250 SIZE 1000\r\n",
                  true,
                  250,
                  {"mx.example", "PIPELINING", "SIZE 1000"},
                  ""},
        ReplyCase{"code_only", "354\r\n", true, 354, {""}, ""},
        ReplyCase{"bare_lf", "221 bye\n", true, 221, {"bye"}, ""},
        ReplyCase{"empty_text", "250 \r\n", true, 250, {""}, ""},
        ReplyCase{"longest_line",
                  "250 " + std::string(2044, 'x') + "\r\n",
                  true,
                  250,
                  {std::string(2044, 'x')},
                  ""},
        ReplyCase{"hundred_lines", Lines(100, "250 last\r\n"), true, 250,
                  WithLast(std::vector<std::string>(99, "line"), "last"), ""},
        ReplyCase{"line_too_long",
                  "250 " + std::string(2045, 'x') + "\r\n",
                  false,
                  0,
                  {},
                  "longer than 2048"},
        ReplyCase{"too_many_lines", Lines(101, "250 last\r\n"), false, 0, {}, "more than 100"},
        ReplyCase{"code_changes", "250-a\r\n251 b\r\n", false, 0, {}, "changed from 250 to 251"},
        ReplyCase{"letters", "abc hello\r\n", false, 0, {}, "malformed"},
        ReplyCase{"short", "25\r\n", false, 0, {}, "malformed"},
        ReplyCase{"first_digit_6", "650 x\r\n", false, 0, {}, "malformed"},
        ReplyCase{"first_digit_1", "150 x\r\n", false, 0, {}, "malformed"},
        ReplyCase{"second_digit_6", "260 x\r\n", false, 0, {}, "malformed"},
        ReplyCase{"bad_separator", "250_x\r\n", false, 0, {}, "malformed"},
        ReplyCase{"unterminated", "250 OK", false, 0, {}, "without a line end"},
        ReplyCase{"ends_mid_reply", "250-a\r\n", false, 0, {}, "mid-reply"},
        ReplyCase{"two_replies", "250 a\r\n250 b\r\n", false, 0, {}, "after the end"},
        ReplyCase{"control_quoted", std::string("2\x01\x02 x\r\n"), false, 0, {}, "\"2?? x\""}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(SmtpReplyParserTest, ReadsRepliesOneAfterAnother) {
  SmtpReplyParser parser;
  ASSERT_EQ(parser.AddLine("250-first"), false);
  ASSERT_EQ(parser.AddLine("250 second"), true);
  const SmtpReply a = parser.TakeReply();
  EXPECT_EQ(a.code, 250);
  EXPECT_EQ(a.lines.size(), 2u);
  ASSERT_EQ(parser.AddLine("354 go ahead"), true);
  const SmtpReply b = parser.TakeReply();
  EXPECT_EQ(b.code, 354);
  EXPECT_EQ(b.lines, std::vector<std::string>{"go ahead"});
}

struct ToStringCase {
  const char* text;
  const char* expected;
};

class SmtpReplyToStringTest : public ::testing::TestWithParam<ToStringCase> {};

TEST_P(SmtpReplyToStringTest, IsOneLine) {
  auto reply = ParseSmtpReply(GetParam().text);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->ToString(), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Table, SmtpReplyToStringTest,
    ::testing::Values(ToStringCase{"550 5.1.1 No such user\r\n", "550 5.1.1 No such user"},
                      ToStringCase{"354\r\n", "354"},
                      ToStringCase{"550-5.7.1 Rejected\r\n550 5.7.1 see https://x\r\n",
                                   "550 5.7.1 Rejected 5.7.1 see https://x"}));

struct EhloCase {
  const char* name;
  const char* text;
  EhloCapabilities expected;
};

class EhloCapabilitiesTest : public ::testing::TestWithParam<EhloCase> {};

TEST_P(EhloCapabilitiesTest, Parses) {
  auto reply = ParseSmtpReply(GetParam().text);
  ASSERT_TRUE(reply) << reply.error().message;
  const EhloCapabilities got = ParseEhloCapabilities(*reply);
  const EhloCapabilities& want = GetParam().expected;
  EXPECT_EQ(got.starttls, want.starttls);
  EXPECT_EQ(got.pipelining, want.pipelining);
  EXPECT_EQ(got.eight_bit_mime, want.eight_bit_mime);
  EXPECT_EQ(got.smtputf8, want.smtputf8);
  EXPECT_EQ(got.size, want.size);
  EXPECT_EQ(got.max_size, want.max_size);
}

EhloCapabilities Caps(bool starttls, bool pipelining, bool eight_bit, bool utf8, bool size,
                      std::uint64_t max_size) {
  return {starttls, pipelining, eight_bit, utf8, size, max_size};
}

INSTANTIATE_TEST_SUITE_P(
    Table, EhloCapabilitiesTest,
    ::testing::Values(
        EhloCase{"greeting_only", "250 mx.example\r\n", Caps(false, false, false, false, false, 0)},
        EhloCase{"postfix",
                 "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n"
                 "250-ETRN\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
                 "250-DSN\r\n250 SMTPUTF8\r\n",
                 Caps(true, true, true, true, true, 10240000)},
        EhloCase{"lower_case", "250-mx\r\n250-starttls\r\n250 pipelining\r\n",
                 Caps(true, true, false, false, false, 0)},
        EhloCase{"size_without_number", "250-mx\r\n250 SIZE\r\n",
                 Caps(false, false, false, false, true, 0)},
        EhloCase{"size_garbage", "250-mx\r\n250 SIZE 12abc\r\n",
                 Caps(false, false, false, false, true, 0)},
        EhloCase{"size_overflow", "250-mx\r\n250 SIZE 99999999999999999999999\r\n",
                 Caps(false, false, false, false, true, 0)},
        EhloCase{"keyword_in_greeting_ignored", "250-STARTTLS\r\n250 HELP\r\n",
                 Caps(false, false, false, false, false, 0)},
        EhloCase{"prefix_not_keyword", "250-mx\r\n250 STARTTLSX\r\n",
                 Caps(false, false, false, false, false, 0)}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace mailwarden
