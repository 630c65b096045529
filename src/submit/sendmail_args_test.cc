#include "submit/sendmail_args.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailwarden {
namespace {

using Args = std::vector<std::string>;

// What ParseSendmailArgs gives, in the test's terms.
struct Parsed {
  std::optional<std::string> from;
  std::optional<std::string> full_name;
  bool extract = false;
  bool dot_ends_message = true;
  bool smtp_session = false;
  std::vector<std::string> recipients;
};

std::string ToString(TextView text) { return std::string(text.data(), text.size()); }

std::optional<Parsed> Parse(const Args& args, std::string* error) {
  std::vector<TextView> words;
  for (const std::string& arg : args) {
    words.emplace_back(arg.data(), arg.size());
  }
  auto parsed = std::make_unique<SendmailArgs>();
  SendmailArgsError parse_error;
  if (!ParseSendmailArgs(words.data(), words.size(), parsed.get(), &parse_error)) {
    *error = ToString(parse_error.message.View());
    return std::nullopt;
  }
  Parsed out;
  if (parsed->has_from) {
    out.from = ToString(parsed->from);
  }
  if (parsed->has_full_name) {
    out.full_name = ToString(parsed->full_name);
  }
  out.extract = parsed->extract;
  out.dot_ends_message = parsed->dot_ends_message;
  out.smtp_session = parsed->smtp_session;
  for (std::size_t i = 0; i < parsed->recipient_count; ++i) {
    out.recipients.push_back(ToString(parsed->recipients[i]));
  }
  return out;
}

struct AcceptedCase {
  Args args;
  std::optional<std::string> from;
  std::optional<std::string> full_name;
  bool extract;
  bool dot_ends_message;
  std::vector<std::string> recipients;
};

std::string Join(const Args& args) {
  std::string out;
  for (const std::string& arg : args) {
    out += out.empty() ? "[" : " [";
    out += arg + "]";
  }
  return out;
}

TEST(ParseSendmailArgs, ReadsWhatSendmailReads) {
  const std::optional<std::string> none;
  const AcceptedCase cases[] = {
      // PHP's sendmail_path and its variants.
      {{"-t", "-i"}, none, none, true, false, {}},
      {{"-t"}, none, none, true, true, {}},
      {{"-ti"}, none, none, true, false, {}},
      {{"-it"}, none, none, true, false, {}},
      {{"-t", "-oi"}, none, none, true, false, {}},
      {{"-t", "-o", "i"}, none, none, true, false, {}},
      {{"-t", "-i", "-f", "x@y"}, "x@y", none, true, false, {}},
      {{"-t", "-i", "-fx@y"}, "x@y", none, true, false, {}},
      {{"-tifx@y"}, "x@y", none, true, false, {}},
      {{"-ti", "-f", "x@y"}, "x@y", none, true, false, {}},
      // Sender and full name.
      {{"-f", "x@y", "a@b.c"}, "x@y", none, false, true, {"a@b.c"}},
      {{"-fx@y", "a@b.c"}, "x@y", none, false, true, {"a@b.c"}},
      {{"-r", "x@y", "a@b.c"}, "x@y", none, false, true, {"a@b.c"}},
      {{"-rx@y", "a@b.c"}, "x@y", none, false, true, {"a@b.c"}},
      {{"-f", "", "a@b.c"}, "", none, false, true, {"a@b.c"}},
      {{"-f", "<>", "a@b.c"}, "<>", none, false, true, {"a@b.c"}},
      {{"-f", "first@y", "-r", "last@y", "a@b.c"}, "last@y", none, false, true, {"a@b.c"}},
      {{"-f", "-t", "a@b.c"}, "-t", none, false, true, {"a@b.c"}},
      {{"-F", "Web Shop", "-t"}, none, "Web Shop", true, true, {}},
      {{"-FShop", "-t"}, none, "Shop", true, true, {}},
      {{"-F", "", "-t"}, none, "", true, true, {}},
      // Recipients, "--" and commas.
      {{"a@b.c"}, none, none, false, true, {"a@b.c"}},
      {{"a@b.c", "d@e.f"}, none, none, false, true, {"a@b.c", "d@e.f"}},
      {{"a@b.c, d@e.f"}, none, none, false, true, {"a@b.c", "d@e.f"}},
      {{"a@b.c,d@e.f,", "g@h.i"}, none, none, false, true, {"a@b.c", "d@e.f", "g@h.i"}},
      {{" a@b.c ,\t, d@e.f "}, none, none, false, true, {"a@b.c", "d@e.f"}},
      {{"\"Doe, John\" <j@x.y>, k@x.y"},
       none,
       none,
       false,
       true,
       {"\"Doe, John\" <j@x.y>", "k@x.y"}},
      {{"<\"a,b\"@x.y>"}, none, none, false, true, {"<\"a,b\"@x.y>"}},
      {{"j@x.y (Doe, John), k@x.y"}, none, none, false, true, {"j@x.y (Doe, John)", "k@x.y"}},
      {{"j@x.y (\"Doe, (John)), k@x.y"},
       none,
       none,
       false,
       true,
       {"j@x.y (\"Doe, (John))", "k@x.y"}},
      {{"\"a\\\", b\" <j@x.y>"}, none, none, false, true, {"\"a\\\", b\" <j@x.y>"}},
      {{"--", "a@b.c"}, none, none, false, true, {"a@b.c"}},
      {{"-i", "--", "-odd@b.c", "x@y"}, none, none, false, false, {"-odd@b.c", "x@y"}},
      {{"-t", "--"}, none, none, true, true, {}},
      {{"-t", "-i", "a@b.c"}, none, none, true, false, {"a@b.c"}},
      {{"-", "a@b.c"}, none, none, false, true, {"-", "a@b.c"}},
      {{"", "a@b.c"}, none, none, false, true, {"a@b.c"}},
      // No-op flags, with and without values, as scripts pass them.
      {{"-t", "-odi"}, none, none, true, true, {}},
      {{"-t", "-odb", "-odq", "-oem", "-oep", "-oee", "-om"}, none, none, true, true, {}},
      {{"-t", "-oQ/var/spool/mqueue", "-oA/etc/aliases", "-o7", "-o8"}, none, none, true, true, {}},
      {{"-t", "-v", "-U", "-G", "-m", "-n", "-c", "-s", "-x"}, none, none, true, true, {}},
      {{"-tvUGmn"}, none, none, true, true, {}},
      {{"-t", "-B8BITMIME"}, none, none, true, true, {}},
      {{"-t", "-B", "7BIT"}, none, none, true, true, {}},
      {{"-t", "-bm"}, none, none, true, true, {}},
      {{"-bm", "a@b.c"}, none, none, false, true, {"a@b.c"}},
      {{"-t", "-b", "m"}, none, none, true, true, {}},
      {{"-t", "-em", "-ep", "-eq", "-ew", "-ee"}, none, none, true, true, {}},
      {{"-t", "-e", "m"}, none, none, true, true, {}},
      {{"-t", "-N", "never"}, none, none, true, true, {}},
      {{"-t", "-Nsuccess,failure"}, none, none, true, true, {}},
      {{"-t", "-R", "hdrs", "-Rfull"}, none, none, true, true, {}},
      {{"-t", "-V", "envid42", "-Venvid43"}, none, none, true, true, {}},
      {{"-t", "-X", "/tmp/mail.log", "-X/tmp/other.log"}, none, none, true, true, {}},
      {{"-t", "-XV"}, none, none, true, true, {}},
      {{"-t", "-L", "php", "-Lphp"}, none, none, true, true, {}},
      {{"-t", "-C", "/etc/mail/sendmail.cf", "-C/x.cf"}, none, none, true, true, {}},
      {{"-t", "-Am", "-A", "c"}, none, none, true, true, {}},
      {{"-t", "-h", "17", "-h17"}, none, none, true, true, {}},
      {{"-t", "-p", "local", "-psmtp:host"}, none, none, true, true, {}},
      {{"-t", "-d0.1", "-d", "8"}, none, none, true, true, {}},
      {{"-t", "-D", "/tmp/debug.log"}, none, none, true, true, {}},
      {{"-t", "-MrESMTP", "-M", "sX"}, none, none, true, true, {}},
      {{"-t", "-ODeliveryMode=b"}, none, none, true, true, {}},
      {{"-t", "-OIgnoreDots"}, none, none, true, false, {}},
      {{"-t", "-O", "IgnoreDots=True"}, none, none, true, false, {}},
      {{"-t", "-Oignoredots=false"}, none, none, true, true, {}},
      {{"-odi", "-oem", "-oi", "-f", "x@y", "-F", "Shop", "-t", "a@b.c, d@e.f"},
       "x@y",
       "Shop",
       true,
       false,
       {"a@b.c", "d@e.f"}},
  };
  for (const AcceptedCase& c : cases) {
    std::string error;
    std::optional<Parsed> parsed = Parse(c.args, &error);
    ASSERT_TRUE(parsed.has_value()) << Join(c.args) << ": " << error;
    EXPECT_EQ(parsed->from, c.from) << Join(c.args);
    EXPECT_EQ(parsed->full_name, c.full_name) << Join(c.args);
    EXPECT_EQ(parsed->extract, c.extract) << Join(c.args);
    EXPECT_EQ(parsed->dot_ends_message, c.dot_ends_message) << Join(c.args);
    EXPECT_EQ(parsed->recipients, c.recipients) << Join(c.args);
  }
}

struct RefusedCase {
  Args args;
  std::string_view message_holds;  // a part of the sentence the script's author will see
};

TEST(ParseSendmailArgs, RefusesWhatItCannotServe) {
  const RefusedCase cases[] = {
      // Modes of a full MTA.
      {{"-bp"}, "-bp (list the mail queue) is not supported"},
      {{"-bP"}, "-bP (list the mail queue) is not supported"},
      {{"-bs", "a@b.c"}, "-bs takes no recipients"},
      {{"-bd"}, "-bd (run as a daemon) is not supported"},
      {{"-bD"}, "-bD (run as a daemon)"},
      {{"-bl"}, "-bl (run as a daemon)"},
      {{"-bi"}, "-bi (initialise the alias database)"},
      {{"-bt"}, "-bt (address test mode)"},
      {{"-bv", "a@b.c"}, "-bv (verify addresses)"},
      {{"-ba"}, "-ba (ARPANET mode)"},
      {{"-bh"}, "-bh (host status)"},
      {{"-bH"}, "-bH (host status)"},
      {{"-b", "p"}, "-bp (list the mail queue)"},
      {{"-bz"}, "unknown mode -bz"},
      {{"-b"}, "option -b needs a value"},
      {{"-q"}, "-q (process the queue) is not supported"},
      {{"-q1h"}, "-q (process the queue)"},
      {{"-qR", "example.com"}, "-q (process the queue)"},
      {{"-t", "-q"}, "-q (process the queue)"},
      {{"-I"}, "-I (initialise the alias database) is not supported"},
      {{"-QReason"}, "-Q (quarantine queued mail) is not supported"},
      // Unknown options, named.
      {{"-k"}, "unknown option -k"},
      {{"-tk"}, "unknown option -k (in -tk)"},
      {{"-t", "-W"}, "unknown option -W"},
      {{"--help"}, "unknown option --help"},
      {{"-t", "--verbose"}, "unknown option --verbose"},
      // Missing values.
      {{"-t", "-f"}, "option -f needs a value"},
      {{"-t", "-r"}, "option -r needs a value"},
      {{"-t", "-F"}, "option -F needs a value"},
      {{"-t", "-o"}, "option -o needs a value"},
      {{"-t", "-X"}, "option -X needs a value"},
      // Line breaks would forge envelope lines.
      {{"-t", "-f", "x@y\nrcpt victim@z"}, "the sender given with -f holds a line break"},
      {{"-t", "-rx@y\r"}, "the sender given with -r holds a line break"},
      {{"-t", "-F", "A\nB"}, "the full name given with -F holds a line break"},
      {{"a@b.c\nrcpt d@e.f"}, "a recipient holds a line break"},
      {{"--", std::string("a@b.c\0x", 7)}, "a recipient holds a line break"},
      // Nothing to send to, or options where recipients are.
      {{}, "no recipients"},
      {{"-i"}, "no recipients"},
      {{"-f", "x@y", "--"}, "no recipients"},
      {{" , "}, "no recipients"},
      {{"a@b.c", "-f", "x@y"}, "option -f comes after a recipient"},
  };
  for (const RefusedCase& c : cases) {
    std::string error;
    EXPECT_FALSE(Parse(c.args, &error).has_value()) << Join(c.args);
    EXPECT_NE(error.find(c.message_holds), std::string::npos)
        << Join(c.args) << ": \"" << error << "\" does not say \"" << c.message_holds << "\"";
  }
}

TEST(ParseSendmailArgs, RefusesMoreRecipientsThanOneSubmissionCarries) {
  Args at_limit;
  for (int i = 0; i < 1000; ++i) {
    at_limit.push_back("r" + std::to_string(i) + "@x.y");
  }
  std::string error;
  std::optional<Parsed> parsed = Parse(at_limit, &error);
  ASSERT_TRUE(parsed.has_value()) << error;
  EXPECT_EQ(parsed->recipients.size(), 1000u);
  EXPECT_EQ(parsed->recipients.back(), "r999@x.y");

  Args over_limit = at_limit;
  over_limit.back() += ", one-more@x.y";
  EXPECT_FALSE(Parse(over_limit, &error).has_value());
  EXPECT_NE(error.find("more than 1000 recipients"), std::string::npos) << error;
}

TEST(ParseSendmailArgs, ReadsTheSmtpSessionMode) {
  for (const Args& args : std::vector<Args>{{"-bs"},
                                            {"-b", "s"},
                                            {"-bs", "-i"},
                                            {"-t", "-bs"},
                                            {"-bs", "-FShop"},
                                            {"-oi", "-bs", "--"}}) {
    std::string error;
    std::optional<Parsed> parsed = Parse(args, &error);
    ASSERT_TRUE(parsed.has_value()) << Join(args) << ": " << error;
    EXPECT_TRUE(parsed->smtp_session) << Join(args);
  }
  std::string error;
  EXPECT_FALSE(Parse({"-t"}, &error).value().smtp_session);
}

TEST(ParseSendmailArgs, ToleratesANullErrorPointer) {
  const TextView words[] = {"-bp"};
  auto parsed = std::make_unique<SendmailArgs>();
  EXPECT_FALSE(ParseSendmailArgs(words, 1, parsed.get(), nullptr));
}

TEST(ParseSendmailArgs, CutsAnOverlongSentenceVisibly) {
  const std::string option = "-t" + std::string(4000, 'k');
  std::string error;
  EXPECT_FALSE(Parse({option}, &error).has_value());
  EXPECT_EQ(error.size(), decltype(SendmailArgsError::message)::kCapacity);
  EXPECT_TRUE(error.starts_with("unknown option -k (in -tkkk")) << error.substr(0, 40);
  EXPECT_TRUE(error.ends_with("kk...")) << error.substr(error.size() - 40);
}

}  // namespace
}  // namespace mailwarden
