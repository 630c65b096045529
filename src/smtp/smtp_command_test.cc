#include "smtp/smtp_command.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mailwarden {
namespace {

struct AcceptedCase {
  std::string line;
  SmtpVerb verb;
  std::string argument;
  std::string address;
};

TEST(SmtpCommandTest, AcceptsWellFormedCommands) {
  const std::vector<AcceptedCase> cases = {
      {"EHLO client.example.com", SmtpVerb::kEhlo, "client.example.com", ""},
      {"ehlo [127.0.0.1]", SmtpVerb::kEhlo, "[127.0.0.1]", ""},
      {"HeLo host", SmtpVerb::kHelo, "host", ""},
      {"EHLO host   ", SmtpVerb::kEhlo, "host", ""},
      {"MAIL FROM:<a@b.example>", SmtpVerb::kMail, "", "a@b.example"},
      {"mail from:<a@b.example>", SmtpVerb::kMail, "", "a@b.example"},
      {"MAIL FROM: <a@b.example>", SmtpVerb::kMail, "", "a@b.example"},
      {"MAIL FROM:<>", SmtpVerb::kMail, "", ""},
      {"MAIL FROM:<@relay.example,@b.example:a@b.example>", SmtpVerb::kMail, "", "a@b.example"},
      {"MAIL FROM:<\"john doe\"@b.example>", SmtpVerb::kMail, "", "\"john doe\"@b.example"},
      {"MAIL FROM:<\"a>b\"@b.example>", SmtpVerb::kMail, "", "\"a>b\"@b.example"},
      {"MAIL FROM:<user+tag@[192.0.2.1]>", SmtpVerb::kMail, "", "user+tag@[192.0.2.1]"},
      {"RCPT TO:<x@y.example>", SmtpVerb::kRcpt, "", "x@y.example"},
      {"rcpt to:<x.y-z_w@sub.y.example>", SmtpVerb::kRcpt, "", "x.y-z_w@sub.y.example"},
      {"DATA", SmtpVerb::kData, "", ""},
      {"data", SmtpVerb::kData, "", ""},
      {"RSET", SmtpVerb::kRset, "", ""},
      {"NOOP", SmtpVerb::kNoop, "", ""},
      {"NOOP anything at all", SmtpVerb::kNoop, "anything at all", ""},
      {"QUIT", SmtpVerb::kQuit, "", ""},
      {"STARTTLS", SmtpVerb::kStartTls, "", ""},
      {"VRFY postmaster", SmtpVerb::kVrfy, "postmaster", ""},
      {"HELP", SmtpVerb::kHelp, "", ""},
      {"HELP MAIL", SmtpVerb::kHelp, "MAIL", ""},
      {"AUTH PLAIN", SmtpVerb::kAuth, "PLAIN", ""},
      {"auth login", SmtpVerb::kAuth, "LOGIN", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.line);
    SmtpServerReply refusal;
    auto command = ParseSmtpCommand(c.line, &refusal);
    ASSERT_TRUE(command.has_value()) << refusal.Line();
    EXPECT_EQ(command->verb, c.verb);
    EXPECT_EQ(command->argument, c.argument);
    EXPECT_EQ(command->address, c.address);
  }
}

struct RefusedCase {
  std::string line;
  int code;
  std::string text_prefix;
};

TEST(SmtpCommandTest, RefusesMalformedCommands) {
  const std::vector<RefusedCase> cases = {
      {"", 500, "5.5.2 Command unrecognized"},
      {"FOO", 500, "5.5.2 Command unrecognized"},
      {"MAILFROM:<a@b.example>", 500, "5.5.2 Command unrecognized"},
      {" EHLO host", 500, "5.5.2"},
      {std::string("EHLO ho\0st", 10), 500, "5.5.2 Syntax error: NUL"},
      {"EHLO ho\rst", 500, "5.5.2 Syntax error"},
      {"EHLO ho\nst", 500, "5.5.2 Syntax error"},
      {"EHLO " + std::string(506, 'a'), 500, "5.5.2 Line too long"},
      {"EHLO", 501, "5.5.4 Syntax: EHLO hostname"},
      {"HELO", 501, "5.5.4 Syntax: HELO hostname"},
      {"EHLO two words", 501, "5.5.4"},
      {"EHLO h\xc3\xa9llo", 501, "5.5.4"},
      {"MAIL", 501, "5.5.4 Syntax: MAIL FROM:<address>"},
      {"MAIL TO:<a@b.example>", 501, "5.5.4 Syntax: MAIL FROM:<address>"},
      {"MAIL FROM:a@b.example", 501, "5.5.4 Syntax: MAIL FROM:<address>"},
      {"MAIL FROM:<a@b.example", 501, "5.5.4 Syntax: MAIL FROM:<address>"},
      {"MAIL FROM:<a@b.example>junk", 501, "5.5.4"},
      {"MAIL FROM:<a>", 553, "5.1.7 Bad sender address syntax"},
      {"MAIL FROM:<@b.example>", 501, "5.5.4"},
      {"MAIL FROM:<a b@b.example>", 553, "5.1.7"},
      {"MAIL FROM:<a@b..example>", 553, "5.1.7"},
      {"MAIL FROM:<a@b.example.>", 553, "5.1.7"},
      {"MAIL FROM:<a@>", 553, "5.1.7"},
      {"MAIL FROM:<j\xc3\xb6rg@b.example>", 553, "5.1.7"},
      {"MAIL FROM:<" + std::string(65, 'a') + "@b.example>", 553, "5.1.7"},
      {"MAIL FROM:<a@" + std::string(64, 'b') + ".example>", 553, "5.1.7"},
      {"MAIL FROM:<a@b.example> SIZE=", 501, "5.5.4 Syntax: SIZE=number"},
      {"MAIL FROM:<a@b.example> SIZE=12x", 501, "5.5.4 Syntax: SIZE=number"},
      {"MAIL FROM:<a@b.example> SIZE=99999999999999999999999", 501, "5.5.4 Syntax: SIZE"},
      {"MAIL FROM:<a@b.example> SIZE=1 SIZE=2", 501, "5.5.4"},
      {"MAIL FROM:<a@b.example> BODY=BINARYMIME", 555, "5.5.4 Unsupported BODY"},
      {"MAIL FROM:<a@b.example> RET=FULL", 555, "5.5.4 Unsupported parameter RET"},
      {"MAIL FROM:<a@b.example> SMTPUTF8", 555, "5.5.4 Unsupported parameter SMTPUTF8"},
      {"MAIL FROM:<a@b.example> AUTH=", 501, "5.5.4 Syntax: AUTH=<>"},
      {"MAIL FROM:<a@b.example> =x", 501, "5.5.4 Syntax error in parameters"},
      {"RCPT TO:<>", 553, "5.1.3"},
      {"RCPT TO:<bad>", 553, "5.1.3 Bad recipient address syntax"},
      {"RCPT FROM:<a@b.example>", 501, "5.5.4 Syntax: RCPT TO:<address>"},
      {"RCPT TO:<a@b.example> NOTIFY=NEVER", 555, "5.5.4 Unsupported parameter NOTIFY"},
      {"RCPT TO:<a@b.example> \xc0\xc0=1", 501, "5.5.4 Syntax error in parameters"},
      {"DATA now", 501, "5.5.4 Syntax: DATA"},
      {"RSET x", 501, "5.5.4 Syntax: RSET"},
      {"QUIT x", 501, "5.5.4 Syntax: QUIT"},
      {"STARTTLS x", 501, "5.5.4 Syntax: STARTTLS"},
      {"VRFY", 501, "5.5.4 Syntax: VRFY address"},
      {"AUTH", 501, "5.5.4 Syntax: AUTH"},
      {"AUTH PLAIN a b", 501, "5.5.4 Syntax: AUTH"},
      {"AUTH PL@IN", 501, "5.5.4 Syntax: AUTH"},
      {"AUTH " + std::string(21, 'A'), 501, "5.5.4 Syntax: AUTH"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.line);
    SmtpServerReply refusal;
    auto command = ParseSmtpCommand(c.line, &refusal);
    ASSERT_FALSE(command.has_value());
    EXPECT_EQ(refusal.code, c.code);
    EXPECT_TRUE(refusal.text.starts_with(c.text_prefix)) << refusal.text;
  }
}

TEST(SmtpCommandTest, LineLimitIncludesCrlf) {
  SmtpServerReply refusal;
  const std::string longest = "NOOP " + std::string(kMaxCommandLineBytes - 2 - 5, 'x');
  EXPECT_TRUE(ParseSmtpCommand(longest, &refusal).has_value());
  EXPECT_FALSE(ParseSmtpCommand(longest + "x", &refusal).has_value());
  EXPECT_EQ(refusal.Line(), "500 5.5.2 Line too long\r\n");
}

TEST(SmtpCommandTest, ReadsMailParameters) {
  SmtpServerReply refusal;
  auto command =
      ParseSmtpCommand("MAIL FROM:<a@b.example> size=1234 BODY=8bitmime AUTH=<>", &refusal);
  ASSERT_TRUE(command.has_value()) << refusal.Line();
  EXPECT_EQ(command->size, 1234u);
  EXPECT_EQ(command->body, SmtpBody::k8BitMime);

  command = ParseSmtpCommand("MAIL FROM:<> BODY=7BIT", &refusal);
  ASSERT_TRUE(command.has_value());
  EXPECT_EQ(command->address, "");
  EXPECT_EQ(command->body, SmtpBody::k7Bit);
  EXPECT_FALSE(command->size.has_value());

  command = ParseSmtpCommand("MAIL FROM:<a@b.example> SIZE=18446744073709551615", &refusal);
  ASSERT_TRUE(command.has_value());
  EXPECT_EQ(command->size, 18446744073709551615u);
  EXPECT_FALSE(
      ParseSmtpCommand("MAIL FROM:<a@b.example> SIZE=18446744073709551616", &refusal).has_value());
}

TEST(SmtpCommandTest, ReadsAuthInitialResponse) {
  SmtpServerReply refusal;
  auto command = ParseSmtpCommand("AUTH plain AHVzZXIAcGFzcw==", &refusal);
  ASSERT_TRUE(command.has_value());
  EXPECT_EQ(command->argument, "PLAIN");
  EXPECT_EQ(command->initial_response, "AHVzZXIAcGFzcw==");

  command = ParseSmtpCommand("AUTH LOGIN", &refusal);
  ASSERT_TRUE(command.has_value());
  EXPECT_FALSE(command->initial_response.has_value());
}

TEST(SmtpCommandTest, PathOverLimitIsRefused) {
  SmtpServerReply refusal;
  // 64 + 1 + 189 = 254 bytes of mailbox: with the brackets exactly the 256 allowed.
  std::string domain;
  while (domain.size() < 189) domain += std::string(40, 'd') + ".";
  domain.resize(189);
  if (domain.back() == '.') domain.back() = 'd';
  const std::string mailbox = std::string(64, 'l') + "@" + domain;
  ASSERT_EQ(mailbox.size(), 254u);
  EXPECT_TRUE(ParseSmtpCommand("RCPT TO:<" + mailbox + ">", &refusal).has_value())
      << refusal.Line();
  EXPECT_FALSE(ParseSmtpCommand("RCPT TO:<" + mailbox + "d>", &refusal).has_value());
}

TEST(SmtpCommandTest, ValidatesMailboxes) {
  struct Case {
    std::string mailbox;
    bool valid;
  };
  const std::vector<Case> cases = {
      {"a@b", true},
      {"first.last@example.com", true},
      {"o'brien+tag@example.co.uk", true},
      {"\"quoted \\\" string\"@example.com", true},
      {"a@[IPv6:2001:db8::1]", true},
      {"", false},
      {"a", false},
      {"@b", false},
      {"a@", false},
      {"a@b@c", false},
      {"a@-b.", false},
      {"a@.b", false},
      {"a(b)@c", false},
      {"\"unterminated@b", false},
      {"\"q\"x@b", false},
      {"a@[]", false},
      {"a@[a]b]", false},
      {std::string("a\0b@c", 5), false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(IsValidMailbox(c.mailbox), c.valid) << c.mailbox;
  }
}

TEST(SmtpCommandTest, Base64RoundTripsAndRejectsGarbage) {
  const std::vector<std::string> samples = {"",
                                            "f",
                                            "fo",
                                            "foo",
                                            "foob",
                                            "fooba",
                                            "foobar",
                                            std::string("\0user\0pass", 10),
                                            "\xff\xfe\x00"};
  for (const auto& s : samples) {
    auto decoded = DecodeBase64(EncodeBase64(s));
    ASSERT_TRUE(decoded.has_value()) << s;
    EXPECT_EQ(*decoded, s);
  }
  EXPECT_EQ(EncodeBase64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(EncodeBase64("fo"), "Zm8=");
  for (const char* bad : {"Zm9", "Zm9v!mFy", "Z===", "=Zm8", "Zm=8", "Zm8=Zm8=", "Zm 8"}) {
    EXPECT_FALSE(DecodeBase64(bad).has_value()) << bad;
  }
}

TEST(SmtpCommandTest, ParsesSaslPlain) {
  auto plain = [](std::string_view raw) { return EncodeBase64(raw); };
  auto creds = ParseSaslPlain(plain(std::string("\0alice\0s3cret", 13)));
  ASSERT_TRUE(creds.has_value());
  EXPECT_EQ(creds->authzid, "");
  EXPECT_EQ(creds->user, "alice");
  EXPECT_EQ(creds->password, "s3cret");

  creds = ParseSaslPlain(plain(std::string("alice\0alice\0pw", 14)));
  ASSERT_TRUE(creds.has_value());
  EXPECT_EQ(creds->authzid, "alice");

  EXPECT_FALSE(ParseSaslPlain("=").has_value());
  EXPECT_FALSE(ParseSaslPlain("not base64!").has_value());
  EXPECT_FALSE(ParseSaslPlain(plain("alice pw")).has_value());
  EXPECT_FALSE(ParseSaslPlain(plain(std::string("\0alice\0", 7))).has_value());
  EXPECT_FALSE(ParseSaslPlain(plain(std::string("\0\0pw", 4))).has_value());
  EXPECT_FALSE(ParseSaslPlain(plain(std::string("\0a\0b\0c", 6))).has_value());
  EXPECT_FALSE(ParseSaslPlain(plain(std::string("\0a\0", 3) + std::string(256, 'p'))).has_value());
}

}  // namespace
}  // namespace mailwarden
