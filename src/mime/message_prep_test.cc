#include "mime/message_prep.h"

#include <gmime/gmime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "mime/gmime_ptr.h"

namespace mailwarden {
namespace {

using namespace std::chrono_literals;
using Strings = std::vector<std::string>;

// Thu, 26 Nov 2026 21:00:00 UTC
const TimePoint kNow = std::chrono::sys_days{std::chrono::year{2026} / 11 / 26} + 21h;

void SetTimeZone(const char* tz) {
  setenv("TZ", tz, 1);
  tzset();
}

class MessagePrepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitMime();
    SetTimeZone("UTC0");
    context_.account = "demo";
    context_.uid = 1000;
    context_.hostname = "web1.example.net";
    context_.now = kNow;
  }

  Result<PreparedMessage> Prepare(std::string_view raw, const SubmitEnvelope& envelope) {
    return PrepareMessage(std::string(raw), envelope, context_);
  }

  PreparedMessage MustPrepare(std::string_view raw, const SubmitEnvelope& envelope) {
    auto prepared = Prepare(raw, envelope);
    EXPECT_TRUE(prepared.has_value()) << (prepared ? "" : prepared.error().message);
    return prepared ? *prepared : PreparedMessage{};
  }

  PrepareContext context_;
};

SubmitEnvelope Extract(Strings recipients = {}) {
  SubmitEnvelope envelope;
  envelope.extract_recipients = true;
  envelope.recipients = std::move(recipients);
  return envelope;
}

SubmitEnvelope To(Strings recipients) {
  SubmitEnvelope envelope;
  envelope.recipients = std::move(recipients);
  return envelope;
}

std::string_view HeaderSection(std::string_view body) {
  return body.substr(0, body.find("\r\n\r\n") + 2);
}

std::string_view BodyAfterHeaders(std::string_view body) {
  const std::size_t end = body.find("\r\n\r\n");
  return end == std::string_view::npos ? std::string_view() : body.substr(end + 4);
}

// The physical lines (CRLF removed) of the header fields named `name`, folded lines included.
Strings FieldLines(std::string_view body, std::string_view name) {
  Strings out;
  std::string_view headers = HeaderSection(body);
  bool in_field = false;
  while (!headers.empty()) {
    const std::size_t eol = headers.find("\r\n");
    const std::string_view line = headers.substr(0, eol);
    headers.remove_prefix(eol + 2);
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
      if (in_field) out.back() += "\r\n" + std::string(line);
      continue;
    }
    in_field = line.size() > name.size() && line[name.size()] == ':' &&
               g_ascii_strncasecmp(line.data(), name.data(), name.size()) == 0;
    if (in_field) out.emplace_back(line);
  }
  return out;
}

std::size_t CountFields(std::string_view body, std::string_view name) {
  return FieldLines(body, name).size();
}

// ---- Recipients ----

struct RecipientCase {
  const char* name;
  std::string raw;
  SubmitEnvelope envelope;
  Strings want;
};

class RecipientTest : public MessagePrepTest,
                      public ::testing::WithParamInterface<RecipientCase> {};

TEST_P(RecipientTest, ExtractsDeduplicatesAndKeepsOrder) {
  const RecipientCase& c = GetParam();
  const PreparedMessage m = MustPrepare(c.raw, c.envelope);
  EXPECT_EQ(m.recipients, c.want);
}

INSTANTIATE_TEST_SUITE_P(
    Recipients, RecipientTest,
    ::testing::Values(
        RecipientCase{"to_cc_bcc",
                      "To: a@x.y\nCc: b@x.y\nBcc: c@x.y\nSubject: s\n\nbody\n",
                      Extract(),
                      {"a@x.y", "b@x.y", "c@x.y"}},
        RecipientCase{"undisclosed_group",
                      "To: undisclosed-recipients:;\nBcc: hidden@x.y\n\nbody\n",
                      Extract(),
                      {"hidden@x.y"}},
        RecipientCase{"named_group",
                      "To: Team: a@x.y, b@x.y;, c@x.y\n\nbody\n",
                      Extract(),
                      {"a@x.y", "b@x.y", "c@x.y"}},
        RecipientCase{"comments_dropped",
                      "To: a@x.y (Alice), (boss) Bob <b@x.y>\n\nbody\n",
                      Extract(),
                      {"a@x.y", "b@x.y"}},
        RecipientCase{"quoted_name_with_comma",
                      "To: \"Doe, John\" <j@x.y>, \"Roe, Jane\" <r@x.y>\n\nbody\n",
                      Extract(),
                      {"j@x.y", "r@x.y"}},
        RecipientCase{"encoded_words",
                      "To: =?UTF-8?B?xbvDs8WCdw==?= <z@x.y>, =?ISO-8859-2?Q?Pi=B3a?= <p@x.y>\n\n",
                      Extract(),
                      {"z@x.y", "p@x.y"}},
        RecipientCase{"several_to_headers",
                      "To: a@x.y\nSubject: s\nTo: b@x.y\ncc: c@x.y\nCC: d@x.y\n\nbody\n",
                      Extract(),
                      {"a@x.y", "b@x.y", "c@x.y", "d@x.y"}},
        RecipientCase{"folded_to",
                      "To: a@x.y,\r\n\tb@x.y,\r\n  \"C\" <c@x.y>\r\n\r\nbody\r\n",
                      Extract(),
                      {"a@x.y", "b@x.y", "c@x.y"}},
        RecipientCase{"dedup_domain_case_insensitive",
                      "To: a@X.Y, a@x.y\nCc: A@x.y\nBcc: a@x.Y\n\n",
                      Extract(),
                      {"a@X.Y", "A@x.y"}},
        RecipientCase{"command_line_added_with_t",
                      "To: a@x.y\n\n",
                      Extract({"cmd@x.y", "a@x.y"}),
                      {"cmd@x.y", "a@x.y"}},
        RecipientCase{
            "empty_to_with_command_line", "To:\nCc:  \n\n", Extract({"cmd@x.y"}), {"cmd@x.y"}},
        RecipientCase{"headers_ignored_without_t",
                      "To: a@x.y\nCc: b@x.y\nBcc: c@x.y\n\n",
                      To({"z@x.y"}),
                      {"z@x.y"}},
        RecipientCase{"command_line_with_name",
                      "Subject: s\n\n",
                      To({"Zed <z@x.y>", "y@x.y", "z@X.Y"}),
                      {"z@x.y", "y@x.y"}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(MessagePrepTest, BadHeaderAddressWithoutTIsNotLookedAt) {
  EXPECT_TRUE(Prepare("To: not an address\n\nbody\n", To({"a@x.y"})).has_value());
}

TEST_F(MessagePrepTest, AcceptsExactlyOneThousandRecipients) {
  Strings many;
  for (int i = 0; i < 1000; ++i) many.push_back("r" + std::to_string(i) + "@x.y");
  EXPECT_EQ(MustPrepare("Subject: s\n\n", To(many)).recipients.size(), 1000u);
  many.push_back("one-more@x.y");
  auto refused = Prepare("Subject: s\n\n", To(many));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(refused.error().message.find("1000"), std::string::npos);
}

TEST_F(MessagePrepTest, RecipientCapCountsAfterDeduplication) {
  std::string raw = "To: ";
  for (int i = 0; i < 1500; ++i) raw += "a" + std::to_string(i % 10) + "@x.y,\n ";
  raw += "last@x.y\n\n";
  EXPECT_EQ(MustPrepare(raw, Extract()).recipients.size(), 11u);
}

// ---- Bcc and the header lines that are kept ----

TEST_F(MessagePrepTest, BccRemovedWithAndWithoutT) {
  const std::string raw =
      "To: a@x.y\nBcc: hidden@x.y,\n  other@x.y\nSubject: s\nbcc: second@x.y\n\nbody\n";
  for (const SubmitEnvelope& envelope : {Extract(), To({"a@x.y"})}) {
    const PreparedMessage m = MustPrepare(raw, envelope);
    EXPECT_EQ(CountFields(m.body, "Bcc"), 0u) << m.body;
    EXPECT_EQ(m.body.find("hidden@x.y"), std::string::npos);
    EXPECT_EQ(m.body.find("other@x.y"), std::string::npos);
    EXPECT_EQ(m.body.find("second@x.y"), std::string::npos);
    EXPECT_EQ(CountFields(m.body, "Subject"), 1u);
  }
  EXPECT_EQ(MustPrepare(raw, Extract()).recipients,
            (Strings{"a@x.y", "hidden@x.y", "other@x.y", "second@x.y"}));
}

// A resent message's blind copies are as blind as the original's (RFC 5322 3.6.6).
TEST_F(MessagePrepTest, ResentBccRemovedWithAndWithoutT) {
  const std::string raw =
      "Resent-To: a@x.y\nResent-Bcc: hidden@x.y,\n  other@x.y\nTo: b@x.y\n"
      "RESENT-BCC: second@x.y\nSubject: s\n\nbody\n";
  for (const SubmitEnvelope& envelope : {Extract(), To({"a@x.y"})}) {
    const PreparedMessage m = MustPrepare(raw, envelope);
    EXPECT_EQ(CountFields(m.body, "Resent-Bcc"), 0u) << m.body;
    EXPECT_EQ(m.body.find("hidden@x.y"), std::string::npos) << m.body;
    EXPECT_EQ(m.body.find("other@x.y"), std::string::npos);
    EXPECT_EQ(m.body.find("second@x.y"), std::string::npos);
    EXPECT_EQ(CountFields(m.body, "Resent-To"), 1u);
  }
}

TEST_F(MessagePrepTest, KeptHeaderLinesAreByteForByte) {
  const std::string raw =
      "Subject:   odd   spacing  \nX-Custom :  y\nTo: \"Doe, John\" <j@x.y>,\n"
      "\t=?UTF-8?B?xbvDs8WCdw==?= <z@x.y>\nX-8bit: caf\xe9\n\nbody\n";
  const PreparedMessage m = MustPrepare(raw, Extract());
  EXPECT_NE(m.body.find("\r\nSubject:   odd   spacing  \r\nX-Custom :  y\r\n"
                        "To: \"Doe, John\" <j@x.y>,\r\n\t=?UTF-8?B?xbvDs8WCdw==?= <z@x.y>\r\n"
                        "X-8bit: caf\xe9\r\n"),
            std::string::npos)
      << m.body;
}

// ---- Added headers ----

struct AddedCase {
  const char* name;
  std::string headers;
  bool date_added;
  bool id_added;
  bool from_added;
};

class AddedHeaderTest : public MessagePrepTest, public ::testing::WithParamInterface<AddedCase> {};

TEST_P(AddedHeaderTest, AddsOnlyWhenMissing) {
  const AddedCase& c = GetParam();
  const PreparedMessage m = MustPrepare(c.headers + "\nbody\n", To({"a@x.y"}));
  EXPECT_EQ(CountFields(m.body, "Date"), 1u) << m.body;
  EXPECT_EQ(CountFields(m.body, "Message-ID"), 1u) << m.body;
  EXPECT_EQ(CountFields(m.body, "From"), 1u) << m.body;
  EXPECT_EQ(FieldLines(m.body, "Date")[0] == "Date: Thu, 26 Nov 2026 21:00:00 +0000", c.date_added);
  EXPECT_EQ(FieldLines(m.body, "Message-ID")[0].ends_with("@web1.example.net>"), c.id_added);
  EXPECT_EQ(FieldLines(m.body, "From")[0] == "From: demo@web1.example.net", c.from_added);
}

INSTANTIATE_TEST_SUITE_P(
    AddedHeaders, AddedHeaderTest,
    ::testing::Values(
        AddedCase{"none_present", "Subject: s\n", true, true, true},
        AddedCase{"all_present",
                  "Date: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <x@y>\nFrom: me@x.y\n", false,
                  false, false},
        AddedCase{"lowercase_names_count",
                  "date: Mon, 1 Jan 2024 00:00:00 +0000\nmessage-id: <x@y>\nfrom: me@x.y\n", false,
                  false, false},
        AddedCase{"only_from_present", "From: Me <me@x.y>\n", true, true, false}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(MessagePrepTest, AddedMessageIdsDiffer) {
  const PreparedMessage a = MustPrepare("Subject: s\n\n", To({"a@x.y"}));
  const PreparedMessage b = MustPrepare("Subject: s\n\n", To({"a@x.y"}));
  EXPECT_TRUE(std::regex_match(FieldLines(a.body, "Message-ID")[0],
                               std::regex("Message-ID: <[^<>@ ]+@web1\\.example\\.net>")));
  EXPECT_NE(FieldLines(a.body, "Message-ID"), FieldLines(b.body, "Message-ID"));
}

TEST(NewMessageIdTest, IsADotAtomLeftOfTheHostAndNeverRepeats) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    std::string id = NewMessageId("web1.example.net");
    ASSERT_TRUE(std::regex_match(id, std::regex("[0-9]+\\.[0-9a-f]{16}@web1\\.example\\.net")))
        << id;
    ASSERT_TRUE(seen.insert(std::move(id)).second);
  }
}

TEST_F(MessagePrepTest, DateUsesLocalOffset) {
  SetTimeZone("CET-1");
  const PreparedMessage m = MustPrepare("Subject: s\n\n", To({"a@x.y"}));
  SetTimeZone("UTC0");
  EXPECT_EQ(FieldLines(m.body, "Date")[0], "Date: Thu, 26 Nov 2026 22:00:00 +0100");
}

TEST_F(MessagePrepTest, AddedFromUsesSenderAndFullName) {
  SubmitEnvelope envelope = To({"a@x.y"});
  envelope.sender = "shop@x.y";
  envelope.full_name = "My Shop";
  EXPECT_EQ(FieldLines(MustPrepare("Subject: s\n\n", envelope).body, "From")[0],
            "From: My Shop <shop@x.y>");
  envelope.full_name = "Doe, John";
  EXPECT_EQ(FieldLines(MustPrepare("Subject: s\n\n", envelope).body, "From")[0],
            "From: \"Doe, John\" <shop@x.y>");
  envelope.full_name.clear();
  EXPECT_EQ(FieldLines(MustPrepare("Subject: s\n\n", envelope).body, "From")[0], "From: shop@x.y");
  envelope.sender = "";
  EXPECT_EQ(FieldLines(MustPrepare("Subject: s\n\n", envelope).body, "From")[0],
            "From: demo@web1.example.net");
}

TEST_F(MessagePrepTest, AddedFromEncodesNonAsciiNameAndFolds) {
  SubmitEnvelope envelope = To({"a@x.y"});
  envelope.sender = "shop@x.y";
  envelope.full_name = "Sklep Żółw\r\nBcc: evil@x.y " + std::string(150, 'x') + " ąę koniec";
  const PreparedMessage m = MustPrepare("Subject: s\n\n", envelope);
  const Strings from = FieldLines(m.body, "From");
  ASSERT_EQ(from.size(), 1u);
  EXPECT_NE(from[0].find("=?UTF-8?"), std::string::npos) << from[0];
  EXPECT_EQ(CountFields(m.body, "Bcc"), 0u);
  std::string_view rest = from[0];
  while (!rest.empty()) {
    const std::size_t eol = rest.find("\r\n");
    EXPECT_LE(rest.substr(0, eol).size(), 998u);
    if (eol == std::string_view::npos) break;
    rest.remove_prefix(eol + 2);
    ASSERT_FALSE(rest.empty());
    EXPECT_TRUE(rest[0] == ' ' || rest[0] == '\t') << from[0];
  }
  std::string unfolded = from[0].substr(6);
  std::erase(unfolded, '\r');
  std::erase(unfolded, '\n');
  std::unique_ptr<InternetAddressList, decltype(&g_object_unref)> parsed(
      internet_address_list_parse(nullptr, unfolded.c_str()), &g_object_unref);
  ASSERT_NE(parsed, nullptr);
  ASSERT_EQ(internet_address_list_length(parsed.get()), 1);
  InternetAddress* address = internet_address_list_get_address(parsed.get(), 0);
  EXPECT_STREQ(
      internet_address_mailbox_get_addr(reinterpret_cast<InternetAddressMailbox*>(address)),
      "shop@x.y");
  const std::string name = internet_address_get_name(address);
  EXPECT_TRUE(name.starts_with("Sklep Żółw Bcc: evil@x.y")) << name;
  EXPECT_TRUE(name.ends_with("x ąę koniec")) << name;
}

// ---- Received ----

TEST_F(MessagePrepTest, ReceivedComesFirstAndNamesAccountAndUid) {
  context_.protocol = "ESMTPA";
  const PreparedMessage m = MustPrepare("Received: from elsewhere\nSubject: s\n\n", To({"a@x.y"}));
  EXPECT_TRUE(m.body.starts_with(
      "Received: from account demo (uid 1000)\r\n\tby web1.example.net (mailwarden) with "
      "ESMTPA;\r\n\tThu, 26 Nov 2026 21:00:00 +0000\r\nReceived: from elsewhere\r\n"))
      << m.body;
}

TEST_F(MessagePrepTest, ReceivedCannotBeBrokenByOddNames) {
  context_.account = "de mo\r\nBcc: x@y.z";
  context_.hostname = std::string(2000, 'h') + ".example";
  const PreparedMessage m = MustPrepare("From: me@x.y\n\n", To({"a@x.y"}));
  const Strings received = FieldLines(m.body, "Received");
  ASSERT_EQ(received.size(), 1u);
  EXPECT_TRUE(received[0].starts_with("Received: from account de_mo__Bcc__x_y.z (uid 1000)"));
  EXPECT_EQ(CountFields(m.body, "Bcc"), 0u);
  std::string_view headers = HeaderSection(m.body);
  while (!headers.empty()) {
    const std::size_t eol = headers.find("\r\n");
    EXPECT_LE(eol, 998u);
    headers.remove_prefix(eol + 2);
  }
}

// ---- Envelope sender ----

struct SenderCase {
  const char* name;
  std::optional<std::string> sender;
  std::string headers;
  std::string want;
};

class SenderTest : public MessagePrepTest, public ::testing::WithParamInterface<SenderCase> {};

TEST_P(SenderTest, ChoosesEnvelopeSender) {
  const SenderCase& c = GetParam();
  SubmitEnvelope envelope = To({"a@x.y"});
  envelope.sender = c.sender;
  EXPECT_EQ(MustPrepare(c.headers + "\nbody\n", envelope).sender, c.want);
}

INSTANTIATE_TEST_SUITE_P(
    Senders, SenderTest,
    ::testing::Values(
        SenderCase{"flag_wins", "f@x.y", "From: h@x.y\n", "f@x.y"},
        SenderCase{"flag_with_brackets", "<f@x.y>", "", "f@x.y"},
        SenderCase{"flag_with_name", "Shop <f@x.y>", "", "f@x.y"},
        SenderCase{"empty_flag_is_null_sender", "", "From: h@x.y\n", ""},
        SenderCase{"angle_brackets_are_null_sender", "<>", "From: h@x.y\n", ""},
        SenderCase{"from_header", std::nullopt, "From: \"Shop, Inc\" <h@x.y>\n", "h@x.y"},
        SenderCase{"first_from_mailbox", std::nullopt, "From: h@x.y, i@x.y\n", "h@x.y"},
        SenderCase{"default", std::nullopt, "Subject: s\n", "demo@web1.example.net"},
        SenderCase{"empty_from_header_is_default", std::nullopt, "From:\n",
                   "demo@web1.example.net"}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- Refusals ----

struct ErrorCase {
  const char* name;
  std::string raw;
  SubmitEnvelope envelope;
  ErrorCode code;
  std::string message_part;
};

class ErrorTest : public MessagePrepTest, public ::testing::WithParamInterface<ErrorCase> {};

TEST_P(ErrorTest, RefusesWithSentence) {
  const ErrorCase& c = GetParam();
  context_.max_bytes = 4096;
  auto result = Prepare(c.raw, c.envelope);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, c.code);
  EXPECT_NE(result.error().message.find(c.message_part), std::string::npos)
      << result.error().message;
  EXPECT_EQ(result.error().message.find_first_of("\r\n"), std::string::npos);
}

SubmitEnvelope WithSender(std::string sender) {
  SubmitEnvelope envelope = To({"a@x.y"});
  envelope.sender = std::move(sender);
  return envelope;
}

INSTANTIATE_TEST_SUITE_P(
    Errors, ErrorTest,
    ::testing::Values(
        ErrorCase{"no_recipients_t", "To: undisclosed-recipients:;\n\n", Extract(),
                  ErrorCode::kInvalidInput, "no recipients: "},
        ErrorCase{"no_recipients", "To: a@x.y\n\n", To({}), ErrorCode::kInvalidInput,
                  "no recipients: "},
        ErrorCase{"nul_in_body", std::string("Subject: s\n\nab\0c\n", 17), To({"a@x.y"}),
                  ErrorCode::kInvalidInput, "NUL"},
        ErrorCase{"nul_in_header", std::string("Subject: \0\n\n", 12), To({"a@x.y"}),
                  ErrorCode::kInvalidInput, "NUL"},
        ErrorCase{"unfoldable_header_line_999", "X-Long:" + std::string(992, 'a') + "\n\n",
                  To({"a@x.y"}), ErrorCode::kInvalidInput,
                  "\"X-Long\" header is 999 bytes long, over the limit of 998, and has no white "
                  "space where it could be folded"},
        ErrorCase{"folded_line_999", "Subject: s\n " + std::string(998, 'a') + "\r\n\r\n",
                  To({"a@x.y"}), ErrorCode::kInvalidInput, "\"Subject\" header is 999 bytes"},
        ErrorCase{"oversize", "Subject: s\n\n" + std::string(5000, 'a'), To({"a@x.y"}),
                  ErrorCode::kTooLarge, "message is 5012 bytes, over the limit of 4096"},
        ErrorCase{"bad_to", "To: not an address\n\n", Extract(), ErrorCode::kInvalidInput,
                  "\"not an address\""},
        ErrorCase{"to_without_domain", "To: a@x.y, garbage\n\n", Extract(),
                  ErrorCode::kInvalidInput, "\"garbage\""},
        ErrorCase{"quoted_local_with_space", "Cc: \"a b\"@x.y\n\n", Extract(),
                  ErrorCode::kInvalidInput, "\"Cc\""},
        ErrorCase{"bad_command_line", "Subject: s\n\n", To({"a@x.y", "a b@x.y"}),
                  ErrorCode::kInvalidInput, "\"a b@x.y\""},
        ErrorCase{"injected_command_line", "Subject: s\n\n", To({"a@x.y\r\nBcc: x@y.z"}),
                  ErrorCode::kInvalidInput, "line break"},
        ErrorCase{"bad_sender_flag", "Subject: s\n\n", WithSender("not an address"),
                  ErrorCode::kInvalidInput, "sender \"not an address\""},
        ErrorCase{"bad_from_header", "From: My Shop\n\n", To({"a@x.y"}), ErrorCode::kInvalidInput,
                  "\"From\""},
        ErrorCase{"bare_cr_in_header", "Subject: s\rBcc: x@y.z\n\n", To({"a@x.y"}),
                  ErrorCode::kInvalidInput, "carriage return"}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- Subject and script ----

struct SubjectCase {
  const char* name;
  std::string header;
  std::string want;
};

class SubjectTest : public MessagePrepTest, public ::testing::WithParamInterface<SubjectCase> {};

TEST_P(SubjectTest, Decodes) {
  const SubjectCase& c = GetParam();
  EXPECT_EQ(MustPrepare(c.header + "\n\nbody\n", To({"a@x.y"})).subject, c.want);
}

INSTANTIATE_TEST_SUITE_P(
    Subjects, SubjectTest,
    ::testing::Values(
        SubjectCase{"plain", "Subject: Hello world", "Hello world"},
        SubjectCase{"absent", "X-Other: x", ""},
        SubjectCase{"utf8_base64",
                    "Subject: =?UTF-8?B?WmHFvMOzxYLEhyBnxJnFm2zEhQ==?=", "Zażółć gęślą"},
        SubjectCase{"iso_8859_2_q", "Subject: =?ISO-8859-2?Q?Za=BF=F3=B3=E6_g=EA=B6l=B1_ja=BC=F1?=",
                    "Zażółć gęślą jaźń"},
        SubjectCase{"folded_encoded_words",
                    "Subject: =?UTF-8?B?WmHFvMOz?=\r\n =?UTF-8?B?xYLEhw==?= koniec",
                    "Zażółć koniec"},
        SubjectCase{"folded_plain", "Subject: one\n\ttwo\n  three", "one two  three"},
        SubjectCase{"trimmed_and_controls",
                    "Subject:   a\x01"
                    "b\x7f  ",
                    "a b"},
        SubjectCase{"latin1_raw", "Subject: caf\xe9", "café"},
        SubjectCase{"bounded", "Subject: " + std::string(254, 'a') + "ż", std::string(254, 'a')}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(MessagePrepTest, SubjectOf255BytesKept) {
  EXPECT_EQ(MustPrepare("Subject: " + std::string(253, 'a') + "ż\n\n", To({"a@x.y"})).subject,
            std::string(253, 'a') + "ż");
}

TEST_F(MessagePrepTest, ScriptHeader) {
  EXPECT_EQ(MustPrepare("X-PHP-Originating-Script:  1000:index.php \n\n", To({"a@x.y"})).script,
            "1000:index.php");
  EXPECT_EQ(MustPrepare("Subject: s\n\n", To({"a@x.y"})).script, "");
  EXPECT_EQ(
      MustPrepare("x-php-originating-script: 1000:" + std::string(300, 'p') + "\n\n", To({"a@x.y"}))
          .script.size(),
      255u);
}

// ---- Body ----

TEST_F(MessagePrepTest, LineEndsBecomeCrlf) {
  const PreparedMessage m =
      MustPrepare("Subject: s\nX-A: b\r\n\nline1\nline2\r\nbare\rcr\n\nlast", To({"a@x.y"}));
  EXPECT_NE(m.body.find("\r\nSubject: s\r\nX-A: b\r\n"), std::string::npos);
  EXPECT_EQ(BodyAfterHeaders(m.body), "line1\r\nline2\r\nbare\rcr\r\n\r\nlast\r\n");
  for (std::size_t i = 0; i < m.body.size(); ++i) {
    if (m.body[i] == '\n') {
      EXPECT_EQ(m.body[i - 1], '\r') << "at " << i;
    }
  }
}

// The message is made in the received buffer (the body moved behind the new header section,
// from the end backwards). Whatever the header section grows or shrinks to, and whatever the
// buffer's spare room, the body comes out as a plain copy with CRLF line ends would make it.
TEST_F(MessagePrepTest, BodyMadeInTheReceivedBufferIsThePlainCopysBody) {
  auto plain_copy = [](std::string_view body) {
    std::string out;
    for (std::size_t i = 0; i < body.size(); ++i) {
      if (body[i] == '\n' && (i == 0 || body[i - 1] != '\r')) out.push_back('\r');
      out.push_back(body[i]);
    }
    if (!body.empty() && body.back() != '\n') out.append("\r\n");
    return out;
  };
  const std::string long_bcc = "Bcc: " + std::string(900, 'b') + "@x.y\n";
  const std::vector<std::string> heads = {
      "To: a@x.y\n",                                   // grows: Received, Date, Message-ID, From
      "To: a@x.y\n" + long_bcc + long_bcc + long_bcc,  // shrinks: the Bcc lines leave
      "From someone Thu Nov 26 21:00:00 2026\nTo: a@x.y\n",  // an mbox line leaves
  };
  std::srand(7);
  int checked = 0;
  for (const std::string& head : heads) {
    for (int round = 0; round < 200; ++round) {
      std::string body;
      const int length = std::rand() % 4000;  // longer than the shrinking header moves it
      for (int i = 0; i < length; ++i) body.push_back("ab\r\n\n"[std::rand() % 5]);
      std::string raw = head + "\n" + body;
      if (round % 2 == 1) raw.reserve(raw.size() * 3);  // room to grow in place
      auto m = PrepareMessage(std::move(raw), To({"a@x.y"}), context_);
      ASSERT_TRUE(m.has_value()) << m.error().message;
      ASSERT_EQ(BodyAfterHeaders(m->body), plain_copy(body)) << "head " << head.size();
      ASSERT_EQ(m->body.find("Bcc:"), std::string::npos);
      ASSERT_EQ(m->body.find("From someone"), std::string::npos);
      ASSERT_NE(m->body.find("\r\nTo: a@x.y\r\n"), std::string::npos);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 600);
}

// A message made in a buffer with room for it is not copied: it keeps the buffer.
TEST_F(MessagePrepTest, ABufferWithRoomIsKept) {
  std::string body;
  std::string crlf_body;
  for (int i = 0; i < 1250; ++i) {
    body += std::string(79, 'x') + "\n";
    crlf_body += std::string(79, 'x') + "\r\n";
  }
  std::string raw = "To: a@x.y\nSubject: s\n\n" + body;
  raw.reserve(raw.size() + 4096);
  const char* buffer = raw.data();
  auto m = PrepareMessage(std::move(raw), Extract(), context_);
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(m->body.data(), buffer);
  EXPECT_TRUE(BodyAfterHeaders(m->body) == crlf_body);
}

TEST_F(MessagePrepTest, EightBitBodySurvives) {
  std::string body8;
  for (int c = 1; c < 256; ++c) {
    if (c != '\n' && c != '\r') body8.push_back(static_cast<char>(c));
  }
  const std::string body = body8 + "\r\n" + "Zażółć\r\n" + "\xff\xfe\x80\r\n";
  const PreparedMessage m =
      MustPrepare("Content-Type: text/plain; charset=iso-8859-1\n\n" + body, To({"a@x.y"}));
  EXPECT_EQ(BodyAfterHeaders(m.body), body);
}

TEST_F(MessagePrepTest, HeadersOnlyWithoutBlankLine) {
  const PreparedMessage m = MustPrepare("To: a@x.y\nSubject: only headers", Extract());
  EXPECT_EQ(m.recipients, Strings{"a@x.y"});
  EXPECT_EQ(m.subject, "only headers");
  EXPECT_TRUE(m.body.ends_with(
      "\r\nSubject: only headers\r\nDate: Thu, 26 Nov 2026 21:00:00 "
      "+0000\r\n"
      "Message-ID: " +
      FieldLines(m.body, "Message-ID")[0].substr(12) + "\r\nFrom: demo@web1.example.net\r\n\r\n"))
      << m.body;
}

TEST_F(MessagePrepTest, BodyStartsAtFirstLineThatIsNotAHeader) {
  const PreparedMessage m =
      MustPrepare("To: a@x.y\nHello, this is the body\nSecond: line\n", Extract());
  EXPECT_EQ(BodyAfterHeaders(m.body), "Hello, this is the body\r\nSecond: line\r\n");
  EXPECT_EQ(CountFields(m.body, "Second"), 0u);
}

TEST_F(MessagePrepTest, LeadingMboxFromLineSkipped) {
  const PreparedMessage m =
      MustPrepare("From someone@x.y Thu Nov 26 21:00:00 2026\nTo: a@x.y\n\nbody\n", Extract());
  EXPECT_EQ(m.recipients, Strings{"a@x.y"});
  EXPECT_EQ(m.body.find("From someone"), std::string::npos);
}

TEST_F(MessagePrepTest, ObsoleteSpaceBeforeColonIsAFieldNotAnMboxLine) {
  const PreparedMessage m = MustPrepare("From : me@x.y\nTo: a@x.y\n\nbody\n", Extract());
  EXPECT_EQ(m.sender, "me@x.y");
  EXPECT_EQ(FieldLines(m.body, "From").size(), 0u);  // "From :" is kept as written, not doubled
  EXPECT_NE(m.body.find("\r\nFrom : me@x.y\r\n"), std::string::npos);
}

TEST_F(MessagePrepTest, NoHeadersAtAll) {
  const PreparedMessage m = MustPrepare("\njust a body\n", To({"a@x.y"}));
  EXPECT_EQ(BodyAfterHeaders(m.body), "just a body\r\n");
  EXPECT_EQ(CountFields(m.body, "From"), 1u);
}

TEST_F(MessagePrepTest, ConcurrentCallsAgree) {
  const std::string raw =
      "To: \"Doe, John\" <j@x.y>, Team: a@x.y, b@x.y;\nSubject: =?UTF-8?B?WmHFvMOz?=\n\nbody\n";
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        auto m = PrepareMessage(raw, Extract(), context_);
        if (m && m->recipients == Strings{"j@x.y", "a@x.y", "b@x.y"} && m->subject == "Zażó") {
          ++good;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(good.load(), 800);
}

// ---- Lines of at most 998 bytes ----

// Every line of the message, CRLF-ended, at most 998 bytes.
void ExpectLinesFit(std::string_view message) {
  std::size_t start = 0;
  while (start < message.size()) {
    const std::size_t crlf = message.find("\r\n", start);
    ASSERT_NE(crlf, std::string_view::npos) << "the message does not end with CRLF";
    const std::string_view line = message.substr(start, crlf - start);
    EXPECT_LE(line.size(), 998u) << line.substr(0, 60);
    EXPECT_EQ(line.find('\n'), std::string_view::npos) << "a bare LF: " << line.substr(0, 60);
    start = crlf + 2;
  }
}

struct LeafPart {
  std::string type;  // "text/html"
  GMimeContentEncoding encoding;
  std::string content;  // decoded
};

// The leaf parts of a message as a recipient's reader decodes them.
std::vector<LeafPart> LeafParts(const std::string& message) {
  std::vector<LeafPart> leaves;
  std::unique_ptr<GMimeStream, decltype(&g_object_unref)> stream(
      g_mime_stream_mem_new_with_buffer(message.data(), message.size()), &g_object_unref);
  std::unique_ptr<GMimeParser, decltype(&g_object_unref)> parser(
      g_mime_parser_new_with_stream(stream.get()), &g_object_unref);
  std::unique_ptr<GMimeMessage, decltype(&g_object_unref)> parsed(
      g_mime_parser_construct_message(parser.get(), nullptr), &g_object_unref);
  if (parsed == nullptr) return leaves;
  GMimePartIter* iter = g_mime_part_iter_new(GMIME_OBJECT(parsed.get()));
  do {
    GMimeObject* object = g_mime_part_iter_get_current(iter);
    if (object == nullptr || !GMIME_IS_PART(object)) continue;
    GMimePart* part = GMIME_PART(object);
    GMimeContentType* type = g_mime_object_get_content_type(object);
    LeafPart leaf;
    leaf.type = std::string(g_mime_content_type_get_media_type(type)) + "/" +
                g_mime_content_type_get_media_subtype(type);
    leaf.encoding = g_mime_part_get_content_encoding(part);
    std::unique_ptr<GMimeStream, decltype(&g_object_unref)> out(g_mime_stream_mem_new(),
                                                                &g_object_unref);
    g_mime_data_wrapper_write_to_stream(g_mime_part_get_content(part), out.get());
    GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out.get()));
    leaf.content.assign(reinterpret_cast<const char*>(bytes->data), bytes->len);
    leaves.push_back(std::move(leaf));
  } while (g_mime_part_iter_next(iter));
  g_mime_part_iter_free(iter);
  return leaves;
}

std::string LongHtml() {
  std::string html = "<html><body>";
  for (int i = 0; html.size() < 5000; ++i) {
    html += "<p class=\"x\">Zażółć gęślą jaźń " + std::to_string(i) + " = 100%</p>";
  }
  return html + "</body></html>";
}

TEST_F(MessagePrepTest, ALongHeaderIsFoldedAtWhiteSpace) {
  std::string subject;
  for (int i = 0; subject.size() < 3000; ++i) subject += " word" + std::to_string(i);
  const PreparedMessage m =
      MustPrepare("Subject:" + subject + "\nX-One: a\n\nbody\n", To({"a@x.y"}));
  ExpectLinesFit(m.body);
  const Strings lines = FieldLines(m.body, "Subject");
  ASSERT_EQ(lines.size(), 1u);
  std::string unfolded = lines[0];
  std::erase(unfolded, '\r');
  std::erase(unfolded, '\n');
  EXPECT_EQ(unfolded, "Subject:" + subject);
  EXPECT_GE(std::count(lines[0].begin(), lines[0].end(), '\n'), 3);
  EXPECT_EQ(FieldLines(m.body, "X-One")[0], "X-One: a");
  EXPECT_TRUE(m.body.ends_with("\r\n\r\nbody\r\n"));
}

TEST_F(MessagePrepTest, ALongHtmlLineIsReencodedAsQuotedPrintable) {
  const std::string html = LongHtml();
  const std::string raw =
      "To: a@x.y\nSubject: Zamówienie\nMIME-Version: 1.0\n"
      "Content-Type: text/html; charset=UTF-8\n\n" +
      html + "\n";
  const PreparedMessage m = MustPrepare(raw, Extract());
  ExpectLinesFit(m.body);
  EXPECT_EQ(FieldLines(m.body, "Subject")[0], "Subject: Zamówienie");
  EXPECT_EQ(FieldLines(m.body, "Content-Transfer-Encoding")[0],
            "Content-Transfer-Encoding: quoted-printable");
  const auto leaves = LeafParts(m.body);
  ASSERT_EQ(leaves.size(), 1u);
  EXPECT_EQ(leaves[0].type, "text/html");
  EXPECT_EQ(leaves[0].content, html + "\r\n");
  EXPECT_EQ(m.subject, "Zamówienie");
}

TEST_F(MessagePrepTest, ReencodingKeepsTheOtherHeadersByteForByte) {
  const std::string head =
      "To: a@x.y\nSubject: =?UTF-8?Q?Zam=C3=B3wienie?= \xc5\xbc\xc3\xb3\xc5\x82w\n"
      "X-Folded: one\n\ttwo\nDate: Thu, 26 Nov 2026 21:00:00 +0000\n"
      "Message-ID: <fixed@x.y>\nMIME-Version: 1.0\nContent-Type: text/html; charset=UTF-8\n\n";
  const PreparedMessage short_lines = MustPrepare(head + "<p>short</p>\n", Extract());
  const PreparedMessage long_line = MustPrepare(head + LongHtml() + "\n", Extract());
  EXPECT_EQ(std::string(HeaderSection(long_line.body)),
            std::string(HeaderSection(short_lines.body)) +
                "Content-Transfer-Encoding: quoted-printable\r\n");
}

TEST_F(MessagePrepTest, APlainMessageWithALongLineBecomesMime) {
  const std::string text = std::string(3000, 'a') + " b";
  const PreparedMessage m = MustPrepare("Subject: s\n\n" + text + "\nshort\n", To({"a@x.y"}));
  ExpectLinesFit(m.body);
  EXPECT_EQ(CountFields(m.body, "MIME-Version"), 1u);
  const auto leaves = LeafParts(m.body);
  ASSERT_EQ(leaves.size(), 1u);
  EXPECT_EQ(leaves[0].encoding, GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
  EXPECT_EQ(leaves[0].content, text + "\r\nshort\r\n");
}

TEST_F(MessagePrepTest, RawUtf8WithoutContentTypeIsDeclaredWhenReencoded) {
  const std::string text = "Zażółć " + std::string(1500, 'a');
  const PreparedMessage m = MustPrepare("Subject: s\n\n" + text + "\n", To({"a@x.y"}));
  ExpectLinesFit(m.body);
  EXPECT_EQ(FieldLines(m.body, "Content-Type")[0], "Content-Type: text/plain; charset=utf-8");
  const auto leaves = LeafParts(m.body);
  ASSERT_EQ(leaves.size(), 1u);
  EXPECT_EQ(leaves[0].content, text + "\r\n");
}

TEST_F(MessagePrepTest, OnlyThePartWithLongLinesChanges) {
  const std::string html = LongHtml();
  const std::string attachment =
      "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5E\r\n"
      "rkJggg==\r\n";
  const std::string raw =
      "To: a@x.y\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
      "preamble\r\n--b1\r\nContent-Type: text/html; charset=UTF-8\r\n"
      "Content-Transfer-Encoding: 8bit\r\n\r\n" +
      html +
      "\r\n--b1\r\nContent-Type: image/png; name=\"dot.png\"\r\n"
      "Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; "
      "filename=\"dot.png\"\r\n\r\n" +
      attachment + "--b1--\r\n";
  const PreparedMessage m = MustPrepare(raw, Extract());
  ExpectLinesFit(m.body);
  EXPECT_NE(m.body.find("\r\n\r\n" + attachment + "--b1--\r\n"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("\r\npreamble\r\n--b1\r\n"), std::string::npos);
  const auto leaves = LeafParts(m.body);
  ASSERT_EQ(leaves.size(), 2u);
  EXPECT_EQ(leaves[0].type, "text/html");
  EXPECT_EQ(leaves[0].encoding, GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
  EXPECT_EQ(leaves[0].content, html);
  EXPECT_EQ(leaves[1].type, "image/png");
  EXPECT_EQ(leaves[1].encoding, GMIME_CONTENT_ENCODING_BASE64);
}

TEST_F(MessagePrepTest, BinaryLookingContentBecomesBase64) {
  std::string data;
  for (int i = 0; i < 3000; ++i) data += static_cast<char>(0x80 + i % 100);
  const std::string raw =
      "MIME-Version: 1.0\nContent-Type: application/octet-stream\n"
      "Content-Transfer-Encoding: binary\n\n" +
      data + "\n";
  const PreparedMessage m = MustPrepare(raw, To({"a@x.y"}));
  ExpectLinesFit(m.body);
  const auto leaves = LeafParts(m.body);
  ASSERT_EQ(leaves.size(), 1u);
  EXPECT_EQ(leaves[0].encoding, GMIME_CONTENT_ENCODING_BASE64);
  EXPECT_EQ(leaves[0].content, data + "\r\n");
}

TEST_F(MessagePrepTest, Base64WrittenOnOneLineIsWrapped) {
  std::string data;
  for (int i = 0; i < 3000; ++i) data += static_cast<char>(i % 256);
  GCharPtr encoded(g_base64_encode(reinterpret_cast<const guchar*>(data.data()), data.size()));
  const std::string raw =
      "MIME-Version: 1.0\nContent-Type: application/pdf\n"
      "Content-Transfer-Encoding: base64\n\n" +
      std::string(encoded.get()) + "\n";
  const PreparedMessage m = MustPrepare(raw, To({"a@x.y"}));
  ExpectLinesFit(m.body);
  const auto leaves = LeafParts(m.body);
  ASSERT_EQ(leaves.size(), 1u);
  EXPECT_EQ(leaves[0].encoding, GMIME_CONTENT_ENCODING_BASE64);
  EXPECT_EQ(leaves[0].content, data);
}

TEST_F(MessagePrepTest, WhatCannotBeReencodedIsBrokenAsPostfixDoes) {
  const std::string signed_text = std::string(2500, 's');
  const std::string raw =
      "MIME-Version: 1.0\nContent-Type: multipart/signed; boundary=\"s1\"; "
      "protocol=\"application/pgp-signature\"\n\n--s1\nContent-Type: text/plain\n\n" +
      signed_text + "\n--s1\nContent-Type: application/pgp-signature\n\nsig\n--s1--\n";
  const PreparedMessage m = MustPrepare(raw, To({"a@x.y"}));
  ExpectLinesFit(m.body);
  EXPECT_NE(m.body.find("\r\n" + std::string(998, 's') + "\r\n " + std::string(997, 's') + "\r\n " +
                        std::string(505, 's') + "\r\n"),
            std::string::npos);
}

TEST_F(MessagePrepTest, ABreakDoesNotSplitAUtf8Character) {
  // A part header too long for re-encoding to reach, without white space.
  const std::string name = std::string(990, 'n') + "ż" + std::string(100, 'n');
  const std::string raw =
      "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\"\n\n--b\n"
      "Content-Type: text/plain\nX-Name:" +
      name + "\n\n" + std::string(1200, 't') + "\n--b--\n";
  const PreparedMessage m = MustPrepare(raw, To({"a@x.y"}));
  ExpectLinesFit(m.body);
  EXPECT_NE(m.body.find("X-Name:" + std::string(990, 'n') + "\r\n żn"), std::string::npos)
      << m.body.substr(0, 1200);
}

TEST_F(MessagePrepTest, LinesOf998BytesAreLeftAlone) {
  const std::string raw = "Subject: s\n\n" + std::string(998, 'a') + "\r\n";
  const PreparedMessage m = MustPrepare(raw, To({"a@x.y"}));
  EXPECT_TRUE(m.body.ends_with("\r\n\r\n" + std::string(998, 'a') + "\r\n"));
  EXPECT_EQ(CountFields(m.body, "MIME-Version"), 0u);
}

// ---- ParseSingleAddress ----

struct AddressCase {
  std::string text;
  std::optional<std::string> want;  // nullopt: refused
};

class SingleAddressTest : public ::testing::TestWithParam<AddressCase> {};

TEST_P(SingleAddressTest, Parses) {
  const AddressCase& c = GetParam();
  auto result = ParseSingleAddress(c.text);
  if (c.want) {
    ASSERT_TRUE(result.has_value()) << c.text << ": " << result.error().message;
    EXPECT_EQ(*result, *c.want);
  } else {
    ASSERT_FALSE(result.has_value()) << c.text << " gave " << *result;
    EXPECT_EQ(result.error().code, ErrorCode::kInvalidInput);
    EXPECT_FALSE(result.error().message.empty());
    EXPECT_EQ(result.error().message.find_first_of("\r\n"), std::string::npos);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Addresses, SingleAddressTest,
    ::testing::Values(
        AddressCase{"a@b.c", "a@b.c"}, AddressCase{"  a@b.c ", "a@b.c"},
        AddressCase{"Name <a@b.c>", "a@b.c"}, AddressCase{"<a@b.c>", "a@b.c"},
        AddressCase{"\"Doe, John\" <j@x.y>", "j@x.y"},
        AddressCase{"=?UTF-8?B?xbvDs8WCdw==?= <z@x.y>", "z@x.y"},
        AddressCase{"a@b.c (comment)", "a@b.c"},
        AddressCase{"first.last+tag@sub.example.com", "first.last+tag@sub.example.com"},
        AddressCase{"x@[192.0.2.1]", "x@[192.0.2.1]"},
        AddressCase{std::string(64, 'l') + "@" + std::string(189, 'd'),
                    std::string(64, 'l') + "@" + std::string(189, 'd')},
        AddressCase{std::string(64, 'l') + "@" + std::string(190, 'd'), std::nullopt},
        AddressCase{"a@b.c\r\nBcc: x@y.z", std::nullopt},
        AddressCase{"a@b.c\nBcc: x@y.z", std::nullopt},
        AddressCase{std::string("a@b.c\0", 6), std::nullopt},
        AddressCase{"a@b.c, d@e.f", std::nullopt}, AddressCase{"a@b.c d@e.f", std::nullopt},
        AddressCase{"not an address", std::nullopt}, AddressCase{"", std::nullopt},
        AddressCase{"   ", std::nullopt}, AddressCase{"nobody", std::nullopt},
        AddressCase{"a@", std::nullopt}, AddressCase{"@b.c", std::nullopt},
        AddressCase{"a b@c.d", std::nullopt}, AddressCase{"\"a b\"@c.d", std::nullopt},
        AddressCase{"undisclosed-recipients:;", std::nullopt},
        AddressCase{"Team: a@x.y;", std::nullopt}, AddressCase{"<>", std::nullopt},
        AddressCase{"a@b..c", std::nullopt}, AddressCase{"a@b.c.", "a@b.c"}));

TEST(SingleAddressMessages, SaysWhy) {
  EXPECT_NE(ParseSingleAddress("a@b.c, d@e.f").error().message.find("exactly one"),
            std::string::npos);
  EXPECT_NE(ParseSingleAddress("a@b.c\r\nBcc: x@y.z").error().message.find("line break"),
            std::string::npos);
  EXPECT_NE(ParseSingleAddress("not an address").error().message.find("not an e-mail address"),
            std::string::npos);
  EXPECT_NE(ParseSingleAddress("Team: a@x.y;").error().message.find("group"), std::string::npos);
}

}  // namespace
}  // namespace mailwarden
