#include "smtp/smtp_data_reader.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace mailwarden {
namespace {

constexpr std::size_t kLimit = 10000;

struct ReadResult {
  bool done = false;
  std::size_t consumed = 0;
  SmtpDataOutcome outcome = SmtpDataOutcome::kAccepted;
  std::string message;
  std::string refusal;
};

// Feeds input cut at the given positions (ascending), as a socket might deliver it, handing
// the reader only what it has not consumed, as the server does.
ReadResult FeedCut(std::string_view input, const std::vector<std::size_t>& cuts,
                   std::size_t limit = kLimit) {
  SmtpDataReader reader(limit);
  ReadResult run;
  std::size_t start = 0;
  std::vector<std::size_t> ends = cuts;
  ends.push_back(input.size());
  for (std::size_t end : ends) {
    if (end < start) continue;
    const std::size_t used = reader.Feed(input.substr(start, end - start));
    run.consumed += used;
    if (reader.done()) break;
    EXPECT_EQ(used, end - start) << "a reader that is not done consumes everything";
    start = end;
  }
  run.done = reader.done();
  EXPECT_EQ(reader.wire_bytes(), run.consumed);
  if (run.done) {
    run.outcome = reader.outcome();
    run.refusal = reader.Refusal().Line();
    run.message = reader.TakeMessage();
    EXPECT_EQ(reader.Feed("more\r\n.\r\n"), 0u) << "nothing is consumed after the end";
  }
  return run;
}

ReadResult FeedWhole(std::string_view input, std::size_t limit = kLimit) {
  return FeedCut(input, {}, limit);
}

// Every way of cutting input in two, input a byte at a time, and random cuttings: all must
// give what feeding it whole gives.
void ExpectStreamSafe(std::string_view input, std::size_t limit = kLimit) {
  const ReadResult whole = FeedWhole(input, limit);
  auto same = [&](const ReadResult& run, const std::string& how) {
    EXPECT_EQ(run.done, whole.done) << how;
    EXPECT_EQ(run.consumed, whole.consumed) << how;
    EXPECT_EQ(run.outcome, whole.outcome) << how;
    EXPECT_EQ(run.message, whole.message) << how;
    EXPECT_EQ(run.refusal, whole.refusal) << how;
  };
  for (std::size_t cut = 0; cut <= input.size(); ++cut) {
    same(FeedCut(input, {cut}, limit), "cut at " + std::to_string(cut));
  }
  std::vector<std::size_t> every;
  for (std::size_t i = 1; i < input.size(); ++i) every.push_back(i);
  same(FeedCut(input, every, limit), "one byte at a time");
  std::mt19937 random(42);
  for (int round = 0; round < 50; ++round) {
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < input.size(); ++i) {
      if (random() % 7 == 0) cuts.push_back(i);
    }
    same(FeedCut(input, cuts, limit), "random cutting " + std::to_string(round));
  }
}

TEST(SmtpDataReaderTest, ReadsAMessageToCrlfDotCrlf) {
  const std::string input = "Subject: hi\r\n\r\nbody\r\n.\r\n";
  const ReadResult run = FeedWhole(input);
  ASSERT_TRUE(run.done);
  EXPECT_EQ(run.consumed, input.size());
  EXPECT_EQ(run.outcome, SmtpDataOutcome::kAccepted);
  EXPECT_EQ(run.message, "Subject: hi\r\n\r\nbody\r\n");
  EXPECT_EQ(run.refusal, "0 \r\n");
  ExpectStreamSafe(input);
}

TEST(SmtpDataReaderTest, EmptyMessageEndsAtOnce) {
  // The CRLF that ends the DATA command line is the first half of the terminator.
  const ReadResult run = FeedWhole(".\r\n");
  ASSERT_TRUE(run.done);
  EXPECT_EQ(run.consumed, 3u);
  EXPECT_EQ(run.message, "");
  EXPECT_EQ(run.outcome, SmtpDataOutcome::kAccepted);
}

TEST(SmtpDataReaderTest, LeavesPipelinedCommandsAfterTheEnd) {
  const std::string input = "a\r\n.\r\nQUIT\r\n";
  const ReadResult run = FeedWhole(input);
  ASSERT_TRUE(run.done);
  EXPECT_EQ(input.substr(run.consumed), "QUIT\r\n");
  EXPECT_EQ(run.message, "a\r\n");
  ExpectStreamSafe(input);
}

TEST(SmtpDataReaderTest, UndoesDotStuffing) {
  struct Case {
    std::string wire;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"..\r\n.\r\n", ".\r\n"},
      {"..leading dot\r\n.\r\n", ".leading dot\r\n"},
      {"...\r\n.\r\n", "..\r\n"},
      {"a\r\n..\r\nb\r\n.\r\n", "a\r\n.\r\nb\r\n"},
      // RFC 5321 4.5.2: a first "." followed by text is deleted even if it was not doubled.
      {".x\r\n.\r\n", "x\r\n"},
      {"a.b\r\n .\r\n.\r\n", "a.b\r\n .\r\n"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.wire);
    const ReadResult run = FeedWhole(c.wire);
    ASSERT_TRUE(run.done);
    EXPECT_EQ(run.outcome, SmtpDataOutcome::kAccepted);
    EXPECT_EQ(run.message, c.message);
    ExpectStreamSafe(c.wire);
  }
}

// SMTP smuggling (SEC Consult, December 2023): sequences that some servers take as the end of
// data. None may end it here; each must leave the data open until the real CRLF.CRLF, and the
// smuggled "second message" must stay part of the first, stored with CRLF line ends only, so
// that no later hop can find an end of data in it either.
TEST(SmtpDataReaderTest, SmugglingSequencesDoNotEndTheData) {
  const std::vector<std::string> payloads = {
      "\n.\n",       "\n.\r\n",     "\r.\r\n",   "\r\n.\n",      "\r\n.\r",     "\r.\n",
      "\n.\r",       "\r.\r",       "\n\n.\n",   "\r\r.\r\r",    "\r\n.\r\r\n", "\n..\n",
      "\r\n.\n\r\n", "\r\n\r.\r\n", "\n\r.\r\n", "\r\n.\r \r\n",
  };
  const std::string head = "From: a@b.example\r\nSubject: real\r\n\r\nhello";
  const std::string smuggled =
      "MAIL FROM:<ceo@victim.example>\r\nRCPT TO:<x@y.example>\r\nDATA\r\n"
      "From: ceo@victim.example\r\n\r\nforged\r\n";
  for (const auto& payload : payloads) {
    SCOPED_TRACE(::testing::PrintToString(payload));
    const std::string upto_real_end = head + payload + smuggled + ".\r\n";
    const std::string input = upto_real_end + "QUIT\r\n";
    const ReadResult run = FeedWhole(input);
    ASSERT_TRUE(run.done);
    EXPECT_EQ(run.consumed, upto_real_end.size()) << "ended early";
    EXPECT_EQ(run.outcome, SmtpDataOutcome::kAccepted);
    EXPECT_NE(run.message.find("\r\nMAIL FROM:<ceo@victim.example>\r\n"), std::string::npos);
    EXPECT_TRUE(run.message.ends_with("forged\r\n"));
    for (std::size_t i = 0; i < run.message.size(); ++i) {
      if (run.message[i] == '\r') {
        ASSERT_EQ(run.message[i + 1], '\n') << "bare CR at " << i;
      }
      if (run.message[i] == '\n') {
        ASSERT_EQ(run.message[i - 1], '\r') << "bare LF at " << i;
      }
    }
    ExpectStreamSafe(input);

    // Without the real terminator the data never ends, however it is cut.
    const std::string open = head + payload + smuggled;
    EXPECT_FALSE(FeedWhole(open).done);
    ExpectStreamSafe(open);
  }
}

TEST(SmtpDataReaderTest, NulAndSpaceDotDoNotEndTheData) {
  // Not line ends at all: the content is kept as it is, and only the real end counts.
  for (const std::string& payload : {std::string("\r\n\0.\r\n", 6), std::string("\r\n .\r\n")}) {
    const std::string input = "a" + payload + "b\r\n.\r\n";
    const ReadResult run = FeedWhole(input);
    ASSERT_TRUE(run.done);
    EXPECT_EQ(run.consumed, input.size());
    EXPECT_EQ(run.outcome, SmtpDataOutcome::kAccepted);
    EXPECT_EQ(run.message, input.substr(0, input.size() - 3));
    ExpectStreamSafe(input);
  }
}

// A lone CR or LF is stored as CRLF, but it never starts a line: a "." after it is text.
TEST(SmtpDataReaderTest, NormalisesBareLineEnds) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"a\nb\r\n.\r\n", "a\r\nb\r\n"},
      {"a\rb\r\n.\r\n", "a\r\nb\r\n"},
      {"a\r\r\n.\r\n", "a\r\n\r\n"},
      {"\n.\r\n.\r\n", "\r\n.\r\n"},
      {"a\r\n\nb\r\n.\r\n", "a\r\n\r\nb\r\n"},
      // "." then a lone CR at a line start: the dot is followed by more, so it goes.
      {"x\r\n.\rx\r\n.\r\n", "x\r\n\r\nx\r\n"},
      {"\n..\n\r\n.\r\n", "\r\n..\r\n\r\n"},
  };
  for (const auto& [input, message] : cases) {
    SCOPED_TRACE(::testing::PrintToString(input));
    const ReadResult run = FeedWhole(input);
    ASSERT_TRUE(run.done);
    EXPECT_EQ(run.consumed, input.size());
    EXPECT_EQ(run.outcome, SmtpDataOutcome::kAccepted);
    EXPECT_EQ(run.message, message);
    ExpectStreamSafe(input);
  }
}

TEST(SmtpDataReaderTest, RefusesMessagesOverTheLimitAtTheEnd) {
  const std::size_t limit = 100;
  const std::string exactly = std::string(98, 'x') + "\r\n";
  ReadResult run = FeedWhole(exactly + ".\r\n", limit);
  ASSERT_TRUE(run.done);
  EXPECT_EQ(run.outcome, SmtpDataOutcome::kAccepted);
  EXPECT_EQ(run.message, exactly);

  const std::string over = std::string(99, 'x') + "\r\n";
  const std::string input = over + "more\r\n.\r\nQUIT\r\n";
  run = FeedWhole(input, limit);
  ASSERT_TRUE(run.done);
  EXPECT_EQ(input.substr(run.consumed), "QUIT\r\n") << "read on to the real end";
  EXPECT_EQ(run.outcome, SmtpDataOutcome::kTooLarge);
  EXPECT_EQ(run.refusal, "552 5.3.4 Message size exceeds fixed limit of 100 bytes\r\n");
  EXPECT_EQ(run.message, "");
  ExpectStreamSafe(input, limit);

  // Size is named first when several limits are broken.
  run = FeedWhole(std::string(200, 'x') + "\n\r\n.\r\n", limit);
  EXPECT_EQ(run.outcome, SmtpDataOutcome::kTooLarge);
}

TEST(SmtpDataReaderTest, SizeCountsTheMessageNotTheStuffing) {
  const std::size_t limit = 6;
  const ReadResult run = FeedWhole("..ab\r\n.\r\n", limit);  // ".ab\r\n": 5 bytes
  ASSERT_TRUE(run.done);
  EXPECT_EQ(run.outcome, SmtpDataOutcome::kAccepted);
  EXPECT_EQ(run.message, ".ab\r\n");
}

TEST(SmtpDataReaderTest, AcceptsLinesOver998Bytes) {
  // Message preparation makes them fit before anything leaves (mime/message_prep.h).
  const std::string input = "ok\r\n" + std::string(5000, 'y') + "\r\nok\r\n.\r\n";
  const ReadResult run = FeedWhole(input);
  ASSERT_TRUE(run.done);
  EXPECT_EQ(run.consumed, input.size());
  EXPECT_EQ(run.outcome, SmtpDataOutcome::kAccepted);
  EXPECT_EQ(run.message, "ok\r\n" + std::string(5000, 'y') + "\r\nok\r\n");
  ExpectStreamSafe(input);
}

TEST(SmtpDataReaderTest, LargeMessageInRandomChunks) {
  std::string message;
  std::mt19937 random(7);
  for (int line = 0; line < 2000; ++line) {
    std::string text(random() % 120, 'a' + static_cast<char>(line % 26));
    if (line % 5 == 0) text = "." + text;
    message += text + "\r\n";
  }
  std::string wire;
  std::size_t pos = 0;
  while (pos < message.size()) {
    const std::size_t end = message.find("\r\n", pos) + 2;
    if (message[pos] == '.') wire += '.';
    wire.append(message, pos, end - pos);
    pos = end;
  }
  wire += ".\r\n";
  for (int round = 0; round < 20; ++round) {
    std::vector<std::size_t> cuts;
    for (std::size_t at = random() % 3000; at < wire.size(); at += 1 + random() % 3000) {
      cuts.push_back(at);
    }
    const ReadResult run = FeedCut(wire, cuts, message.size());
    ASSERT_TRUE(run.done);
    EXPECT_EQ(run.consumed, wire.size());
    EXPECT_EQ(run.outcome, SmtpDataOutcome::kAccepted);
    EXPECT_EQ(run.message, message);
  }
}

// No room for a large message: what was held is freed, the rest is read to the end of data
// (the client is busy sending) and nothing is kept; the refusal is temporary.
TEST(SmtpDataReader, DroppedForLackOfRoomReadsToTheEndAndRefusesWith451) {
  SmtpDataReader reader(1 << 20);
  reader.Feed("Subject: big\r\n\r\n" + std::string(1000, 'x'));
  reader.DropForLackOfRoom();
  EXPECT_EQ(reader.held_bytes(), 0u);
  const std::string rest = std::string(5000, 'y') + "\r\n.\r\nQUIT\r\n";
  EXPECT_EQ(reader.Feed(rest), rest.size() - 6);
  ASSERT_TRUE(reader.done());
  EXPECT_EQ(reader.held_bytes(), 0u);
  EXPECT_EQ(reader.outcome(), SmtpDataOutcome::kNoRoom);
  EXPECT_EQ(reader.Refusal().code, 451);
  EXPECT_EQ(reader.Refusal().text.substr(0, 6), "4.3.1 ");
  EXPECT_TRUE(reader.TakeMessage().empty());
}

}  // namespace
}  // namespace mailwarden
