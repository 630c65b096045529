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
#include "mime/message_prep_testing.h"

namespace mailwarden {
namespace {

using namespace std::chrono_literals;
using namespace prep_testing;

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

TEST_F(MessagePrepTest, TheMessageIdIsKeptForTracking) {
  // The script's own, without its angle brackets; else the one added, as it leaves.
  EXPECT_EQ(MustPrepare("Message-ID:  <abc.1@shop.example> \n\n", To({"a@x.y"})).message_id,
            "abc.1@shop.example");
  const PreparedMessage added = MustPrepare("Subject: s\n\n", To({"a@x.y"}));
  ASSERT_FALSE(added.message_id.empty());
  EXPECT_NE(added.body.find("Message-ID: <" + added.message_id + ">\r\n"), std::string::npos);
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

TEST_F(MessagePrepTest, TheMessageIdIsKeptWithoutItsBracketsForComplaints) {
  const PreparedMessage added = MustPrepare("Subject: s\n\n", To({"a@x.y"}));
  EXPECT_EQ("Message-ID: <" + added.message_id + ">", FieldLines(added.body, "Message-ID")[0]);
  const PreparedMessage own =
      MustPrepare("Message-ID:  <20261206.1@shop.example> (the shop)\n\n", To({"a@x.y"}));
  EXPECT_EQ(own.message_id, "20261206.1@shop.example");
  const PreparedMessage folded =
      MustPrepare("message-id:\n <folded.2@shop.example>\n\n", To({"a@x.y"}));
  EXPECT_EQ(folded.message_id, "folded.2@shop.example");
  const PreparedMessage long_one =
      MustPrepare("Message-ID: <" + std::string(300, 'a') + "@shop.example>\n\n", To({"a@x.y"}));
  EXPECT_EQ(long_one.message_id, "");
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
