// Message preparation: no line over 998 bytes leaves.
#include <gmime/gmime.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "mime/gmime_ptr.h"
#include "mime/message_prep.h"
#include "mime/message_prep_testing.h"

namespace mailwarden {
namespace {

using namespace std::chrono_literals;
using namespace prep_testing;

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

}  // namespace
}  // namespace mailwarden
