#include "submit/submit_wire.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "submit/dropin_wire.h"

namespace mailwarden {
namespace {

TextView ToView(const std::string& text) { return TextView(text.data(), text.size()); }

// The drop-in's encoder (library-free, views and a buffer) in the daemon's terms, so that each
// case is a round trip: what the drop-in writes is what the daemon reads.
std::optional<std::string> EncodeSubmitHeader(const SubmitRequest& request,
                                              std::size_t capacity = kMaxHeaderBytes) {
  std::vector<TextView> recipients;
  for (const std::string& recipient : request.recipients) {
    recipients.push_back(ToView(recipient));
  }
  SubmitHeaderFields fields;
  fields.has_from = request.from.has_value();
  fields.from = fields.has_from ? ToView(*request.from) : TextView();
  fields.has_full_name = request.full_name.has_value();
  fields.full_name = fields.has_full_name ? ToView(*request.full_name) : TextView();
  fields.extract = request.extract;
  fields.recipients = recipients.data();
  fields.recipient_count = recipients.size();
  std::string out(capacity, '\0');
  std::size_t size = mailwarden::EncodeSubmitHeader(fields, out.data(), out.size());
  if (size == 0) {
    return std::nullopt;
  }
  out.resize(size);
  return out;
}

std::optional<SubmitReply> DecodeSubmitReply(std::string_view line) {
  SubmitReplyLine reply;
  if (!mailwarden::DecodeSubmitReply(TextView(line.data(), line.size()), &reply)) {
    return std::nullopt;
  }
  return SubmitReply{reply.code, std::string(reply.text.data(), reply.text.size())};
}

std::string Nul(std::string_view before, std::string_view after) {
  std::string out(before);
  out.push_back('\0');
  out.append(after);
  return out;
}

struct HeaderCase {
  SubmitRequest request;
  std::string_view block;
};

TEST(SubmitHeader, EncodesAndDecodesEveryField) {
  const std::optional<std::string> none;
  const HeaderCase cases[] = {
      {{none, none, true, {}}, "MWSUBMIT 2\nextract\n\n"},
      {{none, none, false, {"a@b.c"}}, "MWSUBMIT 2\nrcpt a@b.c\n\n"},
      {{none, none, false, {}}, "MWSUBMIT 2\n\n"},
      {{"x@y", none, true, {}}, "MWSUBMIT 2\nfrom x@y\nextract\n\n"},
      {{"", none, false, {"a@b.c"}}, "MWSUBMIT 2\nfrom \nrcpt a@b.c\n\n"},
      {{none, "", true, {}}, "MWSUBMIT 2\nfullname \nextract\n\n"},
      {{"x@y", "Web Shop", true, {"a@b.c", "\"Doe, J\" <j@x.y>"}},
       "MWSUBMIT 2\nfrom x@y\nfullname Web Shop\nextract\nrcpt a@b.c\nrcpt \"Doe, J\" <j@x.y>\n\n"},
      {{"  spaced  ", "  name ", false, {" r "}},
       "MWSUBMIT 2\nfrom   spaced  \nfullname   name \nrcpt  r \n\n"},
      {{"\xc5\xbc\xc3\xb3\xc5\x82w@x.pl", "Zażółć", false, {"\xc5\xbc@x.pl"}},
       "MWSUBMIT 2\nfrom \xc5\xbc\xc3\xb3\xc5\x82w@x.pl\nfullname Zażółć\nrcpt \xc5\xbc@x.pl\n\n"},
  };
  for (const HeaderCase& c : cases) {
    std::optional<std::string> encoded = EncodeSubmitHeader(c.request);
    ASSERT_TRUE(encoded.has_value()) << c.block;
    EXPECT_EQ(*encoded, c.block);

    std::string error;
    std::optional<SubmitRequest> decoded = DecodeSubmitHeader(*encoded, &error);
    ASSERT_TRUE(decoded.has_value()) << c.block << ": " << error;
    EXPECT_EQ(decoded->from, c.request.from) << c.block;
    EXPECT_EQ(decoded->full_name, c.request.full_name) << c.block;
    EXPECT_EQ(decoded->extract, c.request.extract) << c.block;
    EXPECT_EQ(decoded->recipients, c.request.recipients) << c.block;
  }
}

TEST(SubmitHeader, VersionOneIsReadWithoutTheEndMark) {
  std::string error;
  const auto v1 = DecodeSubmitHeader("MWSUBMIT 1\nrcpt a@b.c\n\n", &error);
  ASSERT_TRUE(v1.has_value()) << error;
  EXPECT_FALSE(v1->end_marked);
  EXPECT_EQ(v1->recipients, std::vector<std::string>{"a@b.c"});
  const auto v2 = DecodeSubmitHeader("MWSUBMIT 2\nrcpt a@b.c\n\n", &error);
  ASSERT_TRUE(v2.has_value()) << error;
  EXPECT_TRUE(v2->end_marked);
}

TEST(SubmitHeader, DecodesFieldsInAnyOrder) {
  std::string error;
  std::optional<SubmitRequest> decoded = DecodeSubmitHeader(
      "MWSUBMIT 2\nrcpt a@b.c\nextract\nrcpt d@e.f\nfullname N\nfrom x@y\n\n", &error);
  ASSERT_TRUE(decoded.has_value()) << error;
  EXPECT_EQ(decoded->from, "x@y");
  EXPECT_EQ(decoded->full_name, "N");
  EXPECT_TRUE(decoded->extract);
  EXPECT_EQ(decoded->recipients, (std::vector<std::string>{"a@b.c", "d@e.f"}));
}

TEST(SubmitHeader, EncoderRefusesWhatTheDecoderWould) {
  const std::optional<std::string> none;
  const SubmitRequest cases[] = {
      {"x@y\nrcpt evil@z", none, false, {"a@b.c"}},
      {"x@y\r", none, false, {"a@b.c"}},
      {Nul("x@y", ""), none, false, {"a@b.c"}},
      {none, "A\nB", false, {"a@b.c"}},
      {none, "A\rB", false, {"a@b.c"}},
      {none, Nul("A", "B"), false, {"a@b.c"}},
      {none, none, false, {"a@b.c\n"}},
      {none, none, false, {"a@b.c", "\rd@e.f"}},
      {none, none, false, {Nul("a@b.c", "")}},
      {none, none, false, {""}},
      {none, none, false, std::vector<std::string>(kMaxRecipientsPerSubmission + 1, "a@b.c")},
      {none, none, false, {std::string(kMaxHeaderBytes, 'a')}},
      {std::string(kMaxHeaderBytes - 10, 'a'), none, false, {}},
  };
  for (const SubmitRequest& c : cases) {
    EXPECT_FALSE(EncodeSubmitHeader(c).has_value())
        << c.from.value_or("-").substr(0, 20) << " / " << c.full_name.value_or("-") << " / "
        << c.recipients.size() << " recipients";
  }
}

TEST(SubmitHeader, EncodesUpToTheLimits) {
  SubmitRequest many;
  many.recipients.assign(kMaxRecipientsPerSubmission, "a@b.c");
  EXPECT_TRUE(EncodeSubmitHeader(many).has_value());

  // "MWSUBMIT 2\n" + "from " + value + "\n" + "\n" is exactly kMaxHeaderBytes.
  SubmitRequest biggest;
  biggest.from = std::string(kMaxHeaderBytes - kSubmitMagic.size() - 8, 'a');
  std::optional<std::string> encoded = EncodeSubmitHeader(biggest);
  ASSERT_TRUE(encoded.has_value());
  EXPECT_EQ(encoded->size(), kMaxHeaderBytes);
  std::string error;
  EXPECT_TRUE(DecodeSubmitHeader(*encoded, &error).has_value()) << error;

  biggest.from->push_back('a');
  EXPECT_FALSE(EncodeSubmitHeader(biggest).has_value());
}

TEST(SubmitHeader, EncoderRefusesABufferTooSmall) {
  SubmitRequest request;
  request.from = "x@y";
  request.recipients = {"a@b.c"};
  const std::string block = "MWSUBMIT 2\nfrom x@y\nrcpt a@b.c\n\n";
  EXPECT_EQ(EncodeSubmitHeader(request, block.size()), block);
  for (std::size_t capacity = 0; capacity < block.size(); ++capacity) {
    EXPECT_FALSE(EncodeSubmitHeader(request, capacity).has_value()) << capacity;
  }
}

struct MalformedCase {
  std::string block;
  std::string error_holds;
};

TEST(SubmitHeader, DecoderRefusesMalformedBlocks) {
  std::string many_recipients = "MWSUBMIT 2\n";
  for (std::size_t i = 0; i <= kMaxRecipientsPerSubmission; ++i) {
    many_recipients += "rcpt a@b.c\n";
  }
  many_recipients += "\n";
  const MalformedCase cases[] = {
      {"", "first line must be \"MWSUBMIT 2\""},
      {"\n", "first line must be"},
      {"MWSUBMIT 2", "first line must be"},
      {"MWSUBMIT 3\n\n", "first line must be"},
      {"MWSUBMIT 20\n\n", "first line must be"},
      {"mwsubmit 1\n\n", "first line must be"},
      {"HELO x\nMWSUBMIT 2\n\n", "first line must be"},
      {"MWSUBMIT 2\n", "does not end with a blank line"},
      {"MWSUBMIT 2\nrcpt a@b.c\n", "does not end with a blank line"},
      {"MWSUBMIT 2\nrcpt a@b.c", "does not end with a blank line"},
      {"MWSUBMIT 2\r\n\r\n", "CR or NUL"},
      {"MWSUBMIT 2\nrcpt a@b.c\r\n\n", "CR or NUL"},
      {Nul("MWSUBMIT 2\nrcpt a@b.c", "\n\n"), "CR or NUL"},
      {"MWSUBMIT 2\n\nrcpt a@b.c\n\n", "goes on after its blank line"},
      {"MWSUBMIT 2\nrcpt a@b.c\n\n\n", "goes on after its blank line"},
      {"MWSUBMIT 2\nfrom a@b.c\nfrom d@e.f\n\n", "names the sender twice"},
      {"MWSUBMIT 2\nfrom \nfrom \n\n", "names the sender twice"},
      {"MWSUBMIT 2\nfullname A\nfullname B\n\n", "names the full name twice"},
      {"MWSUBMIT 2\nextract\nextract\n\n", "\"extract\" twice"},
      {"MWSUBMIT 2\nrcpt \n\n", "empty recipient"},
      {"MWSUBMIT 2\nrcpt\n\n", "unknown line in the header block: \"rcpt\""},
      {"MWSUBMIT 2\nfrom\n\n", "unknown line"},
      {"MWSUBMIT 2\nextract \n\n", "unknown line"},
      {"MWSUBMIT 2\nRCPT a@b.c\n\n", "unknown line"},
      {"MWSUBMIT 2\nuid 0\n\n", "unknown line in the header block: \"uid 0\""},
      {"MWSUBMIT 2\n" + std::string(100, 'x') + "\n\n", "\"" + std::string(40, 'x') + "...\""},
      {many_recipients, "more than 1000 recipients"},
      {"MWSUBMIT 2\nfrom " + std::string(kMaxHeaderBytes, 'a') + "\n\n", "over 262144 bytes"},
  };
  for (const MalformedCase& c : cases) {
    std::string error;
    EXPECT_FALSE(DecodeSubmitHeader(c.block, &error).has_value()) << c.block.substr(0, 60);
    EXPECT_NE(error.find(c.error_holds), std::string::npos)
        << c.block.substr(0, 60) << ": \"" << error << "\" does not say \"" << c.error_holds
        << "\"";
  }
  EXPECT_FALSE(DecodeSubmitHeader("MWSUBMIT 2\n", nullptr).has_value());
}

struct ReplyCase {
  std::string_view line;
  std::optional<SubmitReply> reply;
};

TEST(SubmitReply, ParsesOneLineOfCodeAndText) {
  const std::optional<SubmitReply> malformed;
  const ReplyCase cases[] = {
      {"0 queued as 1\n", SubmitReply{0, "queued as 1"}},
      {"0 \n", SubmitReply{0, ""}},
      {"65 no recipients: use -t or name them\n",
       SubmitReply{65, "no recipients: use -t or name them"}},
      {"75 try later\n", SubmitReply{75, "try later"}},
      {"77 uid 1000 has no account\n", SubmitReply{77, "uid 1000 has no account"}},
      {"255 x\n", SubmitReply{255, "x"}},
      {"007 x\n", SubmitReply{7, "x"}},
      {"0  two spaces\n", SubmitReply{0, " two spaces"}},
      {"0 queued as 1", malformed},
      {"0\n", malformed},
      {"\n", malformed},
      {"", malformed},
      {" 0 x\n", malformed},
      {"-1 x\n", malformed},
      {"+1 x\n", malformed},
      {"256 x\n", malformed},
      {"1000 x\n", malformed},
      {"x0 y\n", malformed},
      {"0x1 y\n", malformed},
      {"0 a\nb\n", malformed},
      {"0 a\r\n", malformed},
      {std::string_view("0 a\0b\n", 7), malformed},
  };
  for (const ReplyCase& c : cases) {
    std::optional<SubmitReply> reply = DecodeSubmitReply(c.line);
    ASSERT_EQ(reply.has_value(), c.reply.has_value()) << c.line;
    if (reply) {
      EXPECT_EQ(reply->code, c.reply->code) << c.line;
      EXPECT_EQ(reply->text, c.reply->text) << c.line;
    }
  }
}

TEST(SubmitReply, EncodesOneLineWhateverTheTextHolds) {
  const struct {
    SubmitReply reply;
    std::string_view line;
  } cases[] = {
      {{0, "queued as 42"}, "0 queued as 42\n"},
      {{75, ""}, "75 \n"},
      {{65, "bad header\r\nBcc: x"}, "65 bad header  Bcc: x\n"},
      {{65, Nul("a", "b")}, "65 a b\n"},
  };
  for (const auto& c : cases) {
    std::string line = EncodeSubmitReply(c.reply);
    EXPECT_EQ(line, c.line);
    std::optional<SubmitReply> decoded = DecodeSubmitReply(line);
    ASSERT_TRUE(decoded.has_value()) << line;
    EXPECT_EQ(decoded->code, c.reply.code);
  }
}

}  // namespace
}  // namespace mailwarden
