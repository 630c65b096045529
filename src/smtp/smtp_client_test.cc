// SmtpClient against a real SMTP server nobody here wrote (aiosmtpd, through
// tests/integration/relay_peer.py), and against small scripted peers for the failures a real
// server does not make on demand: silence, dropped connections, over-long replies.
#include "smtp/smtp_client.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <string>
#include <vector>

#include "smtp/testing/relay_peer_process.h"

namespace mailwarden {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::ReadSpool;
using testing::RelayPeerProcess;

template <class T>
T RunUntilDone(asio::io_context& io, asio::awaitable<T> task) {
  auto future = asio::co_spawn(io, std::move(task), asio::use_future);
  io.restart();
  const auto until = std::chrono::steady_clock::now() + 60s;
  while (future.wait_for(0s) != std::future_status::ready &&
         std::chrono::steady_clock::now() < until) {
    if (io.stopped()) io.restart();
    io.run_one_for(100ms);
  }
  return future.get();
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class RelayPeerTest : public testing::RelayPeerFixture {
 protected:
  Result<std::shared_ptr<SmtpClient>> Connect(SmtpClientOptions options = {}) {
    options.helo_name = "web1.example.net";
    return RunUntilDone(
        io_, SmtpClient::Connect(io_.get_executor(), "127.0.0.1",
                                 static_cast<std::uint16_t>(relay_->port()), std::move(options)));
  }

  SmtpSendResult Send(SmtpClient& client, const std::string& sender,
                      const std::vector<std::string>& recipients, const std::string& body) {
    return RunUntilDone(io_, client.Send(sender, recipients, body));
  }

  void Quit(SmtpClient& client) { RunUntilDone(io_, client.Quit()); }

  asio::io_context io_;
};

// Each case runs with the relay offering PIPELINING and without it.
class SmtpClientRelayTest : public RelayPeerTest, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    RelayPeerTest::SetUp();
    StartRelayWith({});
  }
  void StartRelayWith(std::vector<std::string> args) {
    if (!GetParam()) args.push_back("--no-pipelining");
    StartRelay(std::move(args));
  }
};

TEST_P(SmtpClientRelayTest, EachRecipientGetsItsOwnReply) {
  auto client = Connect();
  ASSERT_TRUE(client) << client.error().message;
  EXPECT_EQ((*client)->capabilities().pipelining, GetParam());
  EXPECT_FALSE((*client)->tls_active());
  const std::string body = "Subject: t\r\n\r\nhello\r\n";
  auto result = Send(**client, "sender@example.org",
                     {"ok@example.com", "reject1@example.com", "defer1@example.com"}, body);
  ASSERT_EQ(result.recipients.size(), 3u);
  EXPECT_EQ(result.recipients[0].code, 250);
  EXPECT_TRUE(result.recipients[0].text.starts_with("250 2.0.0 OK queued as"))
      << result.recipients[0].text;
  EXPECT_EQ(result.recipients[1].code, 550);
  EXPECT_EQ(result.recipients[1].text, "550 5.1.1 <reject1@example.com>: recipient rejected");
  EXPECT_EQ(result.recipients[2].code, 451);
  EXPECT_EQ(result.recipients[2].text, "451 4.3.0 <defer1@example.com>: try again later");
  EXPECT_FALSE(result.connection_lost);
  Quit(**client);

  const auto spool = ReadSpool(spool_);
  ASSERT_EQ(spool.size(), 1u);
  EXPECT_EQ(spool[0].mail_from, "sender@example.org");
  EXPECT_EQ(spool[0].rcpt_tos, std::vector<std::string>{"ok@example.com"});
  EXPECT_EQ(spool[0].content, body);
  EXPECT_EQ(spool[0].mail_options, std::vector<std::string>{"SIZE=" + std::to_string(body.size())});
}

// BODY=8BITMIME when a byte of the body is 8-bit, wherever it is: in the first bytes, deep in
// a long body, or in its last few; never for 7-bit text. SMTPUTF8 for an 8-bit address.
TEST_P(SmtpClientRelayTest, EightBitBodiesAndAddressesAreDeclared) {
  auto client = Connect();
  ASSERT_TRUE(client) << client.error().message;
  std::string ascii;  // 7-bit lines of 78 bytes with their CRLF, 4,056 bytes in all
  for (int i = 0; i < 52; ++i) ascii += std::string(76, 'a') + "\r\n";
  const std::string bodies[] = {
      "Subject: t\r\n\r\nZa\xc5\xbc\xc3\xb3\xc5\x82\xc4\x87\r\n",  // "Zażółć" at the start
      ascii.substr(0, 1014) + "\xc3\xa9" + ascii.substr(1016),     // deep inside
      ascii + "caf\xc3\xa9\r\n",  // in the bytes after the last whole 64-byte block
      "Subject: t\r\n\r\n" + ascii,
  };
  for (const std::string& body : bodies) {
    auto sent = Send(**client, "sender@example.org", {"ok@example.com"}, body);
    EXPECT_EQ(sent.recipients[0].code, 250) << sent.recipients[0].text;
  }
  EXPECT_EQ(Send(**client, "sender@example.org", {"\xc5\xbc\xc3\xb3\xc5\x82w@example.com"},
                 "Subject: t\r\n\r\nhi\r\n")
                .recipients[0]
                .code,
            250);
  Quit(**client);

  const auto spool = ReadSpool(spool_);
  ASSERT_EQ(spool.size(), 5u);
  auto has = [](const std::vector<std::string>& options, const std::string& option) {
    return std::find(options.begin(), options.end(), option) != options.end();
  };
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(has(spool[i].mail_options, "BODY=8BITMIME")) << i;
  EXPECT_FALSE(has(spool[3].mail_options, "BODY=8BITMIME"));
  EXPECT_TRUE(has(spool[4].mail_options, "SMTPUTF8"));
  EXPECT_FALSE(has(spool[4].mail_options, "BODY=8BITMIME"));
  EXPECT_EQ(spool[1].content, bodies[1]) << "the body goes out unchanged";
}

TEST_P(SmtpClientRelayTest, OneConnectionCarriesSeveralMessages) {
  auto client = Connect();
  ASSERT_TRUE(client) << client.error().message;
  const std::vector<std::string> deferred = {"defer2@example.com"};
  // The relay defers this address twice, then takes it: RSET keeps the transactions apart.
  EXPECT_EQ(Send(**client, "s@example.org", deferred, "a\r\n").recipients[0].code, 451);
  EXPECT_EQ(Send(**client, "s@example.org", deferred, "b\r\n").recipients[0].code, 451);
  EXPECT_EQ(Send(**client, "s@example.org", deferred, "c\r\n").recipients[0].code, 250);
  auto last = Send(**client, "", {"ok@example.com", "ok2@example.com"}, "d\r\n");
  EXPECT_EQ(last.recipients[0].code, 250);
  EXPECT_EQ(last.recipients[1].code, 250);
  EXPECT_TRUE((*client)->usable());
  Quit(**client);

  const auto spool = ReadSpool(spool_);
  ASSERT_EQ(spool.size(), 2u);
  EXPECT_EQ(spool[0].content, "c\r\n");
  EXPECT_EQ(spool[1].mail_from, "");
  EXPECT_EQ(spool[1].rcpt_tos, (std::vector<std::string>{"ok@example.com", "ok2@example.com"}));
  EXPECT_EQ(spool[0].peer_port, spool[1].peer_port);
}

TEST_P(SmtpClientRelayTest, DotStuffedBodyArrivesUnchanged) {
  auto client = Connect();
  ASSERT_TRUE(client) << client.error().message;
  const std::string body =
      "Subject: dots\r\n\r\n.leading dot\r\n.\r\n..two dots\r\nno dot\r\nlast line without CRLF";
  auto result = Send(**client, "s@example.org", {"ok@example.com"}, body);
  EXPECT_EQ(result.recipients[0].code, 250) << result.recipients[0].text;
  const auto spool = ReadSpool(spool_);
  ASSERT_EQ(spool.size(), 1u);
  EXPECT_EQ(spool[0].content, body + "\r\n");
}

TEST_P(SmtpClientRelayTest, FinalDataReplyDecidesAcceptedRecipients) {
  auto client = Connect();
  ASSERT_TRUE(client) << client.error().message;
  auto deferred = Send(**client, "s@example.org",
                       {"ok@example.com", "datadefer@example.com", "reject9@example.com"}, "x\r\n");
  EXPECT_EQ(deferred.recipients[0].text, "451 4.3.0 message deferred by rule");
  EXPECT_EQ(deferred.recipients[1].text, "451 4.3.0 message deferred by rule");
  EXPECT_EQ(deferred.recipients[2].code, 550);
  auto rejected =
      Send(**client, "s@example.org", {"ok@example.com", "datareject@example.com"}, "x\r\n");
  EXPECT_EQ(rejected.recipients[0].text, "554 5.6.0 message rejected by rule");
  EXPECT_EQ(rejected.recipients[1].code, 554);
  EXPECT_TRUE((*client)->usable());
  EXPECT_TRUE(ReadSpool(spool_).empty());
}

TEST_P(SmtpClientRelayTest, AllRecipientsRejectedLeavesTheSessionUsable) {
  auto client = Connect();
  ASSERT_TRUE(client) << client.error().message;
  auto result =
      Send(**client, "s@example.org", {"reject1@example.com", "reject2@example.com"}, "x\r\n");
  EXPECT_EQ(result.recipients[0].code, 550);
  EXPECT_EQ(result.recipients[1].code, 550);
  EXPECT_FALSE(result.connection_lost);
  EXPECT_EQ(Send(**client, "s@example.org", {"ok@example.com"}, "y\r\n").recipients[0].code, 250);
  ASSERT_EQ(ReadSpool(spool_).size(), 1u);
}

TEST_P(SmtpClientRelayTest, MessageOverTheAdvertisedSizeIsNotSent) {
  StartRelayWith({"--size-limit", "1000"});
  auto client = Connect();
  ASSERT_TRUE(client) << client.error().message;
  EXPECT_EQ((*client)->capabilities().max_size, 1000u);
  auto result = Send(**client, "s@example.org", {"ok@example.com", "ok2@example.com"},
                     std::string(2000, 'x'));
  for (const auto& r : result.recipients) {
    EXPECT_EQ(r.code, 552);
    EXPECT_TRUE(Contains(r.text, "refused here, not sent")) << r.text;
  }
  EXPECT_FALSE(result.connection_lost);
  EXPECT_EQ(Send(**client, "s@example.org", {"ok@example.com"}, "small\r\n").recipients[0].code,
            250);
  ASSERT_EQ(ReadSpool(spool_).size(), 1u);
}

TEST_P(SmtpClientRelayTest, AddressesThatCouldInjectCommandsAreRefused) {
  auto client = Connect();
  ASSERT_TRUE(client) << client.error().message;
  auto result = Send(**client, "s@example.org",
                     {"x@example.com>\r\nRCPT TO:<evil@example.com", "ok@example.com"}, "z\r\n");
  EXPECT_EQ(result.recipients[0].code, 553);
  EXPECT_EQ(result.recipients[1].code, 250);
  auto bad_sender = Send(**client, "s@example.org\r\nRSET", {"ok@example.com"}, "z\r\n");
  EXPECT_EQ(bad_sender.recipients[0].code, 553);
  const auto spool = ReadSpool(spool_);
  ASSERT_EQ(spool.size(), 1u);
  EXPECT_EQ(spool[0].rcpt_tos, std::vector<std::string>{"ok@example.com"});
}

INSTANTIATE_TEST_SUITE_P(Pipelining, SmtpClientRelayTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "On" : "Off"; });

class SmtpClientTlsTest : public RelayPeerTest {
 protected:
  void SetUp() override {
    RelayPeerTest::SetUp();
    cert_ = dir_ / "cert.pem";
    key_ = dir_ / "key.pem";
    if (!testing::MakeSelfSignedCertificate(cert_, key_)) GTEST_SKIP() << "no openssl tool";
  }
  void StartTlsRelay() { StartRelay({"--tls-cert", cert_.string(), "--tls-key", key_.string()}); }
  std::filesystem::path cert_;
  std::filesystem::path key_;
};

TEST_F(SmtpClientTlsTest, UpgradesWhenOffered) {
  StartTlsRelay();
  auto client = Connect();
  ASSERT_TRUE(client) << client.error().message;
  EXPECT_TRUE((*client)->tls_active());
  EXPECT_FALSE((*client)->capabilities().starttls);  // the EHLO after the upgrade
  EXPECT_EQ(Send(**client, "s@example.org", {"ok@example.com"}, "secret\r\n").recipients[0].code,
            250);
  EXPECT_EQ(Send(**client, "s@example.org", {"ok@example.com"}, "again\r\n").recipients[0].code,
            250);
  Quit(**client);
  const auto spool = ReadSpool(spool_);
  ASSERT_EQ(spool.size(), 2u);
  EXPECT_TRUE(spool[0].tls);
  EXPECT_EQ(spool[1].content, "again\r\n");
}

TEST_F(SmtpClientTlsTest, VerificationRefusesAnUntrustedCertificate) {
  StartTlsRelay();
  SmtpClientOptions options;
  options.verify_certificate = true;
  options.ca_file = (dir_ / "missing.pem").string();
  auto missing = Connect(options);
  ASSERT_FALSE(missing);
  EXPECT_TRUE(Contains(missing.error().message, "cannot read CA file")) << missing.error().message;

  const auto other_cert = dir_ / "other.pem";
  ASSERT_TRUE(testing::MakeSelfSignedCertificate(other_cert, dir_ / "other.key"));
  options.ca_file = other_cert.string();
  auto client = Connect(options);
  ASSERT_FALSE(client);
  EXPECT_TRUE(Contains(client.error().message, "STARTTLS with 127.0.0.1:"))
      << client.error().message;
  EXPECT_TRUE(Contains(client.error().message, "certificate verify failed"))
      << client.error().message;
}

TEST_F(SmtpClientTlsTest, VerificationAcceptsATrustedCertificate) {
  StartTlsRelay();
  SmtpClientOptions options;
  options.verify_certificate = true;
  options.ca_file = cert_.string();
  options.starttls = StartTls::kRequired;
  auto client = Connect(options);
  ASSERT_TRUE(client) << client.error().message;
  EXPECT_TRUE((*client)->tls_active());
}

// The relay is reached at 127.0.0.1, its certificate names a host: the expected name decides.
TEST_F(SmtpClientTlsTest, VerificationChecksTheExpectedName) {
  StartTlsRelay();
  SmtpClientOptions options;
  options.verify_certificate = true;
  options.ca_file = cert_.string();
  options.starttls = StartTls::kRequired;
  options.tls_name = "localhost";
  auto named = Connect(options);
  ASSERT_TRUE(named) << named.error().message;
  EXPECT_TRUE((*named)->tls_active());

  options.tls_name = "mx.example.net";
  auto other = Connect(options);
  ASSERT_FALSE(other);
  EXPECT_TRUE(Contains(other.error().message, "certificate verify failed"))
      << other.error().message;
}

TEST_F(SmtpClientTlsTest, NeverMeansPlainText) {
  StartTlsRelay();
  SmtpClientOptions options;
  options.starttls = StartTls::kNever;
  auto client = Connect(options);
  ASSERT_TRUE(client) << client.error().message;
  EXPECT_FALSE((*client)->tls_active());
  EXPECT_EQ(Send(**client, "s@example.org", {"ok@example.com"}, "x\r\n").recipients[0].code, 250);
  ASSERT_EQ(ReadSpool(spool_).size(), 1u);
  EXPECT_FALSE(ReadSpool(spool_)[0].tls);
}

TEST_F(SmtpClientTlsTest, RequiredButNotOfferedFails) {
  StartRelay({});
  SmtpClientOptions options;
  options.starttls = StartTls::kRequired;
  auto client = Connect(options);
  ASSERT_FALSE(client);
  EXPECT_TRUE(Contains(client.error().message, "does not offer STARTTLS"))
      << client.error().message;
}

// A peer that answers each command line with what respond() returns: "" answers nothing,
// "CLOSE" drops the connection. Between a 354 and the lone "." it gathers data, then asks
// respond(".").
class ScriptedPeer {
 public:
  ScriptedPeer(asio::io_context& io, std::string greeting,
               std::function<std::string(const std::string&)> respond)
      : acceptor_(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        socket_(io),
        greeting_(std::move(greeting)),
        respond_(std::move(respond)) {
    asio::co_spawn(io, Serve(), asio::detached);
  }
  ~ScriptedPeer() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    socket_.close(ignored);
  }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  const std::vector<std::string>& transcript() const { return transcript_; }
  // The most command lines that had arrived unanswered at one time: >1 means pipelining.
  std::size_t most_lines_at_once() const { return most_lines_at_once_; }

 private:
  asio::awaitable<void> Serve() {
    constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
    auto [ec] = co_await acceptor_.async_accept(socket_, kNoThrow);
    if (ec) co_return;
    std::tie(ec, std::ignore) =
        co_await asio::async_write(socket_, asio::buffer(greeting_), kNoThrow);
    std::string buffer;
    bool in_data = false;
    for (;;) {
      std::size_t n = 0;
      std::tie(ec, n) =
          co_await asio::async_read_until(socket_, asio::dynamic_buffer(buffer), "\r\n", kNoThrow);
      if (ec) co_return;
      std::size_t pending = 0;
      for (auto at = buffer.find("\r\n"); at != std::string::npos;
           at = buffer.find("\r\n", at + 2)) {
        ++pending;
      }
      if (!in_data) most_lines_at_once_ = std::max(most_lines_at_once_, pending);
      std::string line = buffer.substr(0, n - 2);
      buffer.erase(0, n);
      if (in_data && line != ".") continue;
      in_data = false;
      transcript_.push_back(line);
      std::string reply = respond_(line);
      if (reply == "CLOSE") {
        socket_.close(ec);
        co_return;
      }
      if (reply.starts_with("354")) in_data = true;
      if (!reply.empty()) {
        std::tie(ec, std::ignore) =
            co_await asio::async_write(socket_, asio::buffer(reply), kNoThrow);
      }
    }
  }

  asio::ip::tcp::acceptor acceptor_;
  asio::ip::tcp::socket socket_;
  std::string greeting_;
  std::function<std::string(const std::string&)> respond_;
  std::vector<std::string> transcript_;
  std::size_t most_lines_at_once_ = 0;
};

// The replies of a plain, well-behaved relay.
std::string PlainRelay(const std::string& line) {
  if (line.starts_with("EHLO") || line.starts_with("HELO")) return "250 scripted\r\n";
  if (line == "DATA") return "354 go on\r\n";
  if (line == ".") return "250 2.0.0 queued\r\n";
  if (line == "QUIT") return "221 bye\r\n";
  return "250 OK\r\n";
}

class SmtpClientScriptedTest : public ::testing::Test {
 protected:
  // The time-outs: short where a test waits for one, long enough elsewhere that a loaded
  // machine's late loop is not taken for a silent relay.
  Result<std::shared_ptr<SmtpClient>> Connect(std::uint16_t port,
                                              std::chrono::milliseconds timeout = 10s) {
    SmtpClientOptions options;
    options.connect_timeout = timeout;
    options.reply_timeout = timeout;
    options.data_timeout = timeout;
    return RunUntilDone(io_, SmtpClient::Connect(io_.get_executor(), "127.0.0.1", port, options));
  }
  SmtpSendResult Send(SmtpClient& client, const std::vector<std::string>& recipients) {
    return RunUntilDone(io_, client.Send("s@example.org", recipients, "body\r\n"));
  }

  asio::io_context io_;
};

TEST_F(SmtpClientScriptedTest, RelayDownIsAConnectFailure) {
  std::uint16_t port = 0;
  {
    asio::ip::tcp::acceptor probe(io_,
                                  asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = probe.local_endpoint().port();
  }
  auto client = Connect(port);
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(client.error().message,
            "connect to 127.0.0.1:" + std::to_string(port) + " failed: Connection refused");
}

TEST_F(SmtpClientScriptedTest, SilentRelayTimesOut) {
  ScriptedPeer peer(io_, "", PlainRelay);
  const auto start = std::chrono::steady_clock::now();
  auto client = Connect(peer.port(), 200ms);
  ASSERT_FALSE(client);
  EXPECT_TRUE(Contains(client.error().message, "timed out after 200ms waiting for the greeting"))
      << client.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST_F(SmtpClientScriptedTest, RelayThatStopsAnsweringDefersTheMessage) {
  ScriptedPeer peer(io_, "220 hi\r\n", [](const std::string& line) -> std::string {
    if (line.starts_with("MAIL")) return "";
    return PlainRelay(line);
  });
  auto client = Connect(peer.port(), 1s);
  ASSERT_TRUE(client) << client.error().message;
  auto result = Send(**client, {"a@example.com", "b@example.com"});
  EXPECT_TRUE(result.connection_lost);
  EXPECT_FALSE(result.nothing_sent);
  for (const auto& r : result.recipients) {
    EXPECT_EQ(r.code, 0);
    EXPECT_TRUE(Contains(r.text, "timed out after 1s waiting for the reply to MAIL FROM"))
        << r.text;
  }
  EXPECT_FALSE((*client)->usable());
}

TEST_F(SmtpClientScriptedTest, RsetOnlyAfterATransactionThatDidNotFinish) {
  ScriptedPeer peer(io_, "220 hi\r\n", [](const std::string& line) -> std::string {
    if (line.starts_with("RCPT TO:<bad")) return "550 5.1.1 no\r\n";
    return PlainRelay(line);
  });
  auto client = Connect(peer.port());
  ASSERT_TRUE(client) << client.error().message;
  EXPECT_EQ(Send(**client, {"a@example.com"}).recipients[0].code, 250);
  EXPECT_EQ(Send(**client, {"b@example.com"}).recipients[0].code, 250);    // finished: no RSET
  EXPECT_EQ(Send(**client, {"bad@example.com"}).recipients[0].code, 550);  // MAIL left open
  EXPECT_EQ(Send(**client, {"c@example.com"}).recipients[0].code, 250);
  std::vector<std::string> verbs;
  for (const auto& line : peer.transcript()) verbs.push_back(line.substr(0, 4));
  EXPECT_EQ(verbs,
            (std::vector<std::string>{"EHLO", "MAIL", "RCPT", "DATA", ".", "MAIL", "RCPT", "DATA",
                                      ".", "MAIL", "RCPT", "RSET", "MAIL", "RCPT", "DATA", "."}));
}

TEST_F(SmtpClientScriptedTest, ReusedSessionTheRelayClosesHasSentNothing) {
  int mails = 0;
  ScriptedPeer peer(io_, "220 hi\r\n", [&mails](const std::string& line) -> std::string {
    if (line.starts_with("MAIL") && ++mails == 2) return "421 4.4.2 idle too long\r\n";
    return PlainRelay(line);
  });
  auto client = Connect(peer.port());
  ASSERT_TRUE(client) << client.error().message;
  auto first = Send(**client, {"a@example.com"});
  EXPECT_FALSE(first.nothing_sent);
  EXPECT_FALSE(first.connection_lost);
  auto second = Send(**client, {"a@example.com"});
  EXPECT_TRUE(second.nothing_sent);
  EXPECT_TRUE(second.connection_lost);
  EXPECT_FALSE((*client)->usable());
}

TEST_F(SmtpClientScriptedTest, DroppedConnectionAfterDataLeavesRecipientsUndecided) {
  ScriptedPeer peer(io_, "220 hi\r\n", [](const std::string& line) -> std::string {
    if (line == ".") return "CLOSE";
    if (line.starts_with("RCPT TO:<bad")) return "550 5.1.1 no\r\n";
    return PlainRelay(line);
  });
  auto client = Connect(peer.port());
  ASSERT_TRUE(client) << client.error().message;
  auto result = Send(**client, {"good@example.com", "bad@example.com"});
  EXPECT_TRUE(result.connection_lost);
  EXPECT_EQ(result.recipients[0].code, 0);
  EXPECT_TRUE(Contains(result.recipients[0].text, "lost waiting for the reply to the end of data"))
      << result.recipients[0].text;
  EXPECT_EQ(result.recipients[1].text, "550 5.1.1 no");
}

TEST_F(SmtpClientScriptedTest, EhloRefusedFallsBackToHelo) {
  ScriptedPeer peer(io_, "220 old relay\r\n", [](const std::string& line) -> std::string {
    if (line.starts_with("EHLO")) return "502 5.5.1 what?\r\n";
    return PlainRelay(line);
  });
  auto client = Connect(peer.port());
  ASSERT_TRUE(client) << client.error().message;
  auto result = Send(**client, {"a@example.com"});
  EXPECT_EQ(result.recipients[0].text, "250 2.0.0 queued");
  ASSERT_GE(peer.transcript().size(), 3u);
  EXPECT_TRUE(peer.transcript()[1].starts_with("HELO "));
  EXPECT_EQ(peer.transcript()[2], "MAIL FROM:<s@example.org>");  // no ESMTP parameters
  EXPECT_EQ(peer.most_lines_at_once(), 1u);  // without PIPELINING, one command at a time
}

TEST_F(SmtpClientScriptedTest, PipelinedRepliesAreMatchedInOrder) {
  ScriptedPeer peer(io_, "220 hi\r\n", [](const std::string& line) -> std::string {
    if (line.starts_with("EHLO")) return "250-scripted\r\n250 PIPELINING\r\n";
    if (line == "RCPT TO:<b@example.com>") return "452 4.5.3 too many\r\n";
    return PlainRelay(line);
  });
  auto client = Connect(peer.port());
  ASSERT_TRUE(client) << client.error().message;
  auto result = Send(**client, {"a@example.com", "b@example.com", "c@example.com"});
  EXPECT_EQ(result.recipients[0].text, "250 2.0.0 queued");
  EXPECT_EQ(result.recipients[1].text, "452 4.5.3 too many");
  EXPECT_EQ(result.recipients[2].text, "250 2.0.0 queued");
  EXPECT_EQ(peer.most_lines_at_once(), 5u);  // MAIL FROM, three RCPT TO and DATA in one write
}

TEST_F(SmtpClientScriptedTest, OverlongReplyLineIsAProtocolError) {
  ScriptedPeer peer(io_, "220 " + std::string(3000, 'x') + "\r\n", PlainRelay);
  auto client = Connect(peer.port());
  ASSERT_FALSE(client);
  EXPECT_TRUE(Contains(client.error().message, "longer than 2048 bytes")) << client.error().message;
}

TEST_F(SmtpClientScriptedTest, ServiceClosingIsTemporaryAndEndsTheSession) {
  ScriptedPeer peer(io_, "220 hi\r\n", [](const std::string& line) -> std::string {
    if (line.starts_with("RCPT")) return "421 4.3.2 shutting down\r\n";
    return PlainRelay(line);
  });
  auto client = Connect(peer.port());
  ASSERT_TRUE(client) << client.error().message;
  auto result = Send(**client, {"a@example.com", "b@example.com"});
  EXPECT_TRUE(result.connection_lost);
  EXPECT_EQ(result.recipients[0].text, "421 4.3.2 shutting down");
  EXPECT_EQ(result.recipients[1].code, 0);
  EXPECT_TRUE(Contains(result.recipients[1].text, "closing the session"))
      << result.recipients[1].text;
}

}  // namespace
}  // namespace mailwarden
