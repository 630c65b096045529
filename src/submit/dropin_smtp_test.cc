#include "submit/dropin_smtp.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mailwarden {
namespace {

// A port that plays the daemon: records what the session sends and answers as told.
struct FakeDaemon {
  std::string replies;
  struct Submission {
    std::string from;
    std::string full_name;
    std::vector<std::string> recipients;
    std::string message;
    bool finished = false;
    bool abandoned = false;
  };
  std::vector<Submission> submissions;
  int open_result = kExitOk;
  std::string open_why;
  int finish_result = kExitOk;
  std::string finish_text = "queued as 7";
  size_t accept_bytes = static_cast<size_t>(-1);  // then write fails
  bool client_gone = false;

  DropinSmtpPort Port() {
    DropinSmtpPort port;
    port.context = this;
    port.reply = [](void* c, TextView bytes) {
      auto* self = static_cast<FakeDaemon*>(c);
      self->replies.append(bytes.data(), bytes.size());
      return !self->client_gone;
    };
    port.open = [](void* c, const SubmitHeaderFields& envelope, DropinReplyText* why) {
      auto* self = static_cast<FakeDaemon*>(c);
      if (self->open_result != kExitOk) {
        why->Append(TextView(self->open_why.data(), self->open_why.size()));
        return self->open_result;
      }
      Submission s;
      EXPECT_TRUE(envelope.has_from);
      EXPECT_FALSE(envelope.extract);
      s.from.assign(envelope.from.data(), envelope.from.size());
      s.full_name.assign(envelope.full_name.data(), envelope.full_name.size());
      for (size_t i = 0; i < envelope.recipient_count; ++i) {
        s.recipients.emplace_back(envelope.recipients[i].data(), envelope.recipients[i].size());
      }
      self->submissions.push_back(s);
      return kExitOk;
    };
    port.write = [](void* c, TextView bytes) {
      auto* self = static_cast<FakeDaemon*>(c);
      Submission& s = self->submissions.back();
      EXPECT_FALSE(s.finished || s.abandoned);
      if (s.message.size() + bytes.size() > self->accept_bytes) return false;
      s.message.append(bytes.data(), bytes.size());
      return true;
    };
    port.finish = [](void* c, DropinReplyText* text) {
      auto* self = static_cast<FakeDaemon*>(c);
      self->submissions.back().finished = true;
      text->Append(TextView(self->finish_text.data(), self->finish_text.size()));
      return self->finish_result;
    };
    port.abandon = [](void* c) {
      static_cast<FakeDaemon*>(c)->submissions.back().abandoned = true;
    };
    return port;
  }
};

// The session is large (its recipients' arena): on the heap, as the drop-in keeps it static.
struct Session {
  FakeDaemon daemon;
  std::unique_ptr<DropinSmtpSession> session;
  explicit Session(std::string_view full_name = "") {
    session = std::make_unique<DropinSmtpSession>();
    EXPECT_TRUE(
        session->Start(daemon.Port(), "web1.test", TextView(full_name.data(), full_name.size())));
    daemon.replies.clear();
  }
  // Feeds the chunks in order; false as soon as the session says it is over.
  bool Feed(const std::vector<std::string_view>& chunks) {
    for (std::string_view chunk : chunks) {
      if (!session->Feed(TextView(chunk.data(), chunk.size()))) return false;
    }
    return true;
  }
  bool Feed(std::string_view input) { return Feed(std::vector<std::string_view>{input}); }
};

TEST(DropinSmtpTest, GreetsWithTheHostName) {
  FakeDaemon daemon;
  auto session = std::make_unique<DropinSmtpSession>();
  EXPECT_TRUE(session->Start(daemon.Port(), "web1.test", TextView()));
  EXPECT_EQ(daemon.replies, "220 web1.test ESMTP mailwarden-sendmail\r\n");
}

TEST(DropinSmtpTest, OneMessageAsSymfonySendsIt) {
  Session s;
  EXPECT_TRUE(s.Feed("EHLO [127.0.0.1]\r\n"));
  EXPECT_EQ(s.daemon.replies,
            "250-web1.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n");
  s.daemon.replies.clear();
  EXPECT_TRUE(s.Feed("MAIL FROM:<shop@example.com>\r\n"));
  EXPECT_TRUE(s.Feed("RCPT TO:<a@example.org>\r\n"));
  EXPECT_TRUE(s.Feed("RCPT TO:<b@example.org>\r\n"));
  EXPECT_TRUE(s.Feed("DATA\r\n"));
  EXPECT_TRUE(s.Feed("Subject: hi\r\n\r\n..dot\r\nline\r\n.\r\n"));
  EXPECT_FALSE(s.Feed("QUIT\r\n"));
  EXPECT_TRUE(s.session->quit());
  EXPECT_EQ(s.daemon.replies,
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
            "354 End data with <CR><LF>.<CR><LF>\r\n"
            "250 2.0.0 Ok: queued as 7\r\n221 2.0.0 Bye\r\n");
  ASSERT_EQ(s.daemon.submissions.size(), 1u);
  const auto& m = s.daemon.submissions[0];
  EXPECT_EQ(m.from, "shop@example.com");
  EXPECT_EQ(m.recipients, (std::vector<std::string>{"a@example.org", "b@example.org"}));
  EXPECT_EQ(m.message, "Subject: hi\r\n\r\n.dot\r\nline\r\n");
  EXPECT_TRUE(m.finished);
}

TEST(DropinSmtpTest, PipelinedCommandsInOneChunkGetTheirRepliesInOrder) {
  Session s;
  EXPECT_TRUE(
      s.Feed("EHLO x\r\nMAIL FROM:<> SIZE=100 BODY=8BITMIME\r\nRCPT TO:<a@b.c>\r\nDATA\r\n"
             "body\r\n.\r\nRSET\r\nMAIL FROM:<f@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nsecond\r\n.\r\n"
             "NOOP\r\n"));
  ASSERT_EQ(s.daemon.submissions.size(), 2u);
  EXPECT_EQ(s.daemon.submissions[0].from, "");
  EXPECT_EQ(s.daemon.submissions[0].message, "body\r\n");
  EXPECT_EQ(s.daemon.submissions[1].from, "f@b.c");
  EXPECT_EQ(s.daemon.submissions[1].recipients, std::vector<std::string>{"d@e.f"});
  EXPECT_EQ(s.daemon.submissions[1].message, "second\r\n");
  EXPECT_NE(s.daemon.replies.find("250 2.0.0 Ok: queued as 7\r\n250 2.0.0 Ok\r\n250 2.1.0 Ok"),
            std::string::npos)
      << s.daemon.replies;
  EXPECT_TRUE(s.daemon.replies.ends_with("250 2.0.0 Ok: queued as 7\r\n250 2.0.0 Ok\r\n"));
}

// Every way of cutting the input into chunks gives the same message: the end of data and the
// dot-stuffing are found across chunk boundaries.
TEST(DropinSmtpTest, DataSplitAnywhereGivesTheSameMessage) {
  const std::string data = "A: b\r\n\r\n..x\r\n.\r.\r\n\n.\n\r\n.y\r\nlast\r\r\n.\r\nNOOP\r\n";
  const std::string expected = "A: b\r\n\r\n.x\r\n\r.\r\n\n.\n\r\ny\r\nlast\r\r\n";
  for (size_t cut1 = 0; cut1 <= data.size(); ++cut1) {
    for (size_t cut2 = cut1; cut2 <= data.size(); ++cut2) {
      Session s;
      ASSERT_TRUE(s.Feed("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n"));
      std::string_view all = data;
      ASSERT_TRUE(s.Feed({all.substr(0, cut1), all.substr(cut1, cut2 - cut1), all.substr(cut2)}));
      ASSERT_EQ(s.daemon.submissions.size(), 1u);
      EXPECT_EQ(s.daemon.submissions[0].message, expected) << cut1 << " " << cut2;
      EXPECT_TRUE(s.daemon.replies.ends_with("250 2.0.0 Ok: queued as 7\r\n250 2.0.0 Ok\r\n"));
    }
  }
}

TEST(DropinSmtpTest, OnlyCrLfDotCrLfEndsData) {
  Session s;
  EXPECT_TRUE(
      s.Feed("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n"
             "one\n.\nMAIL FROM:<evil@x.y>\r\ntwo\r\n.\n\r\n.\r\n"));
  ASSERT_EQ(s.daemon.submissions.size(), 1u);
  EXPECT_EQ(s.daemon.submissions[0].message, "one\n.\nMAIL FROM:<evil@x.y>\r\ntwo\r\n\n\r\n");
}

struct ExitCase {
  int exit_code;
  std::string text;
  std::string reply;
};

TEST(DropinSmtpTest, TheDaemonsAnswerBecomesTheReplyToTheEndOfData) {
  const std::vector<ExitCase> cases = {
      {kExitOk, "queued as 12", "250 2.0.0 Ok: queued as 12\r\n"},
      {kExitTempFail, "mail store unavailable, try again later",
       "451 4.3.0 mail store unavailable, try again later\r\n"},
      {kExitDataErr, "message holds a NUL byte", "554 5.6.0 message holds a NUL byte\r\n"},
      {kExitNoPerm, "uid 1000 has no mail account here",
       "550 5.7.1 uid 1000 has no mail account here\r\n"},
      {kExitUsage, "bad request", "554 5.3.0 bad request\r\n"},
      {kExitUnavailable, "cannot connect", "451 4.3.0 cannot connect\r\n"},
      {kExitDataErr, "caf\xc3\xa9\x01", "554 5.6.0 caf???\r\n"},
  };
  for (const ExitCase& c : cases) {
    Session s;
    s.daemon.finish_result = c.exit_code;
    s.daemon.finish_text = c.text;
    EXPECT_TRUE(s.Feed("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n"));
    s.daemon.replies.clear();
    EXPECT_TRUE(s.Feed("x\r\n.\r\n"));
    EXPECT_EQ(s.daemon.replies, c.reply);
  }
}

TEST(DropinSmtpTest, ADaemonNotReachableAnswersDataWithATemporaryFailure) {
  Session s;
  s.daemon.open_result = kExitTempFail;
  s.daemon.open_why = "the mail daemon does not answer";
  EXPECT_TRUE(s.Feed("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nMAIL FROM:<a@b.c>\r\n"));
  EXPECT_EQ(s.daemon.replies,
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n451 4.3.0 the mail daemon does not answer\r\n"
            "250 2.1.0 Ok\r\n");
  EXPECT_TRUE(s.daemon.submissions.empty());
}

TEST(DropinSmtpTest, ADaemonThatStopsReadingStillGetsToAnswer) {
  Session s;
  s.daemon.accept_bytes = 4;
  s.daemon.finish_result = kExitDataErr;
  s.daemon.finish_text = "message is larger than the limit of 4 bytes";
  EXPECT_TRUE(s.Feed("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n"));
  EXPECT_TRUE(s.Feed({"abc\r\n", "def\r\n", ".\r\nNOOP\r\n"}));
  EXPECT_TRUE(s.daemon.replies.ends_with(
      "554 5.6.0 message is larger than the limit of 4 bytes\r\n250 2.0.0 Ok\r\n"))
      << s.daemon.replies;
}

TEST(DropinSmtpTest, InputThatEndsInDataAbandonsTheMessage) {
  Session s;
  EXPECT_TRUE(s.Feed("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nhalf a mess"));
  s.session->End(false);
  ASSERT_EQ(s.daemon.submissions.size(), 1u);
  EXPECT_TRUE(s.daemon.submissions[0].abandoned);
  EXPECT_FALSE(s.daemon.submissions[0].finished);
  EXPECT_TRUE(s.session->cut_short());
}

TEST(DropinSmtpTest, IdleInputIsToldWhyTheSessionEnds) {
  Session s;
  s.session->End(true);
  EXPECT_EQ(s.daemon.replies, "421 4.4.2 Idle for too long, closing\r\n");
  EXPECT_FALSE(s.Feed("NOOP\r\n"));
}

TEST(DropinSmtpTest, AClientThatGoesAwayEndsTheSession) {
  Session s;
  EXPECT_TRUE(s.Feed("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\n"));
  s.daemon.client_gone = true;
  EXPECT_FALSE(s.Feed("DATA\r\n"));
  ASSERT_EQ(s.daemon.submissions.size(), 1u);
  EXPECT_TRUE(s.daemon.submissions[0].abandoned);
}

struct CommandCase {
  std::string name;
  std::string input;
  std::string reply;  // the last reply
};

TEST(DropinSmtpTest, RefusesWhatIsNotACommandOfTheSession) {
  const std::vector<CommandCase> cases = {
      {"unknown", "FOO\r\n", "500 5.5.2 Command unrecognized\r\n"},
      {"starttls", "STARTTLS\r\n", "502 5.5.1 Command not offered on standard input\r\n"},
      {"ehlo_without_name", "EHLO\r\n", "501 5.5.4 Syntax: EHLO hostname\r\n"},
      {"helo", "HELO x\n", "250 web1.test\r\n"},
      {"lowercase_bare_lf", "mail from:<a@b.c>\n", "250 2.1.0 Ok\r\n"},
      {"bare_address", "MAIL FROM: a@b.c\r\n", "250 2.1.0 Ok\r\n"},
      {"source_route", "MAIL FROM:<@x.y:a@b.c>\r\n", "250 2.1.0 Ok\r\n"},
      {"mail_syntax", "MAIL TO:<a@b.c>\r\n", "501 5.5.4 Syntax: MAIL FROM:<address>\r\n"},
      {"sender_without_domain", "MAIL FROM:<root>\r\n", "553 5.1.7 Bad sender address syntax\r\n"},
      {"sender_unclosed", "MAIL FROM:<a@b.c\r\n", "553 5.1.7 Bad sender address syntax\r\n"},
      {"nested_mail", "MAIL FROM:<a@b.c>\r\nMAIL FROM:<a@b.c>\r\n",
       "503 5.5.1 Nested MAIL command\r\n"},
      {"rcpt_first", "RCPT TO:<a@b.c>\r\n", "503 5.5.1 Need MAIL command first\r\n"},
      {"rcpt_null", "MAIL FROM:<>\r\nRCPT TO:<>\r\n", "553 5.1.3 Bad recipient address syntax\r\n"},
      {"rcpt_space", "MAIL FROM:<>\r\nRCPT TO:<a b@c.d>\r\n",
       "553 5.1.3 Bad recipient address syntax\r\n"},
      {"data_first", "DATA\r\n", "503 5.5.1 Need MAIL command first\r\n"},
      {"data_no_rcpt", "MAIL FROM:<>\r\nDATA\r\n", "554 5.5.1 No valid recipients\r\n"},
      {"rset_forgets", "MAIL FROM:<>\r\nRCPT TO:<a@b.c>\r\nRSET\r\nDATA\r\n",
       "503 5.5.1 Need MAIL command first\r\n"},
      {"ehlo_forgets", "MAIL FROM:<>\r\nEHLO x\r\nRCPT TO:<a@b.c>\r\n",
       "503 5.5.1 Need MAIL command first\r\n"},
      {"nul", std::string("NOOP\0x\r\n", 8), "500 5.5.2 Command line holds a NUL or CR byte\r\n"},
      {"long_line", "NOOP " + std::string(600, 'x') + "\r\n", "500 5.5.2 Line too long\r\n"},
      {"longest_line", "NOOP " + std::string(505, 'x') + "\r\n", "250 2.0.0 Ok\r\n"},
      {"one_over", "NOOP " + std::string(506, 'x') + "\r\n", "500 5.5.2 Line too long\r\n"},
  };
  for (const CommandCase& c : cases) {
    Session s;
    s.Feed(c.input);
    EXPECT_TRUE(s.daemon.replies.ends_with(c.reply)) << c.name << ": " << s.daemon.replies;
  }
}

TEST(DropinSmtpTest, ALongLineSplitAcrossChunksIsRefusedOnce) {
  Session s;
  const std::string part(400, 'x');
  EXPECT_TRUE(s.Feed({"NOOP ", part, part, part, "\r\nNOOP\r\n"}));
  EXPECT_EQ(s.daemon.replies, "500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n");
}

TEST(DropinSmtpTest, TooManyErrorsEndTheSession) {
  Session s;
  for (size_t i = 1; i < kMaxDropinErrors; ++i) EXPECT_TRUE(s.Feed("BAD\r\n"));
  EXPECT_FALSE(s.Feed("BAD\r\n"));
  EXPECT_TRUE(s.daemon.replies.ends_with("421 4.7.0 Too many errors in one session, closing\r\n"));
}

TEST(DropinSmtpTest, BoundsRecipientsPerMessage) {
  Session s;
  std::string input = "MAIL FROM:<a@b.c>\r\n";
  for (size_t i = 0; i <= kMaxRecipientsPerSubmission; ++i) {
    input += "RCPT TO:<r" + std::to_string(i) + "@example.org>\r\n";
  }
  EXPECT_TRUE(s.Feed(input));
  EXPECT_TRUE(s.daemon.replies.ends_with("250 2.1.5 Ok\r\n452 4.5.3 Too many recipients\r\n"));
  EXPECT_TRUE(s.Feed("DATA\r\nx\r\n.\r\n"));
  ASSERT_EQ(s.daemon.submissions.size(), 1u);
  EXPECT_EQ(s.daemon.submissions[0].recipients.size(), kMaxRecipientsPerSubmission);
}

TEST(DropinSmtpTest, BoundsMessagesPerSession) {
  Session s;
  for (size_t i = 0; i < kMaxDropinMessages; ++i) {
    ASSERT_TRUE(s.Feed("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nx\r\n.\r\n"));
  }
  EXPECT_FALSE(s.Feed("MAIL FROM:<a@b.c>\r\n"));
  EXPECT_TRUE(
      s.daemon.replies.ends_with("421 4.7.0 Too many messages in one session, closing\r\n"));
  EXPECT_EQ(s.daemon.submissions.size(), kMaxDropinMessages);
}

TEST(DropinSmtpTest, TheFullNameGoesWithEachMessage) {
  Session s("Shop Team");
  EXPECT_TRUE(s.Feed("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nx\r\n.\r\n"));
  ASSERT_EQ(s.daemon.submissions.size(), 1u);
  EXPECT_EQ(s.daemon.submissions[0].full_name, "Shop Team");
}

}  // namespace
}  // namespace mailwarden
