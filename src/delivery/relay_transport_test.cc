// RelayTransport against a real SMTP server (aiosmtpd, via tests/integration/relay_peer.py).
#include "delivery/relay_transport.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <filesystem>
#include <future>
#include <string>
#include <vector>

#include "delivery/maildir_transport.h"
#include "smtp/testing/relay_peer_process.h"

namespace mailwarden {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::ReadSpool;
using testing::RelayPeerProcess;

class RelayTransportTest : public testing::RelayPeerFixture {
 protected:
  void SetUp() override {
    RelayPeerFixture::SetUp();
    StartRelay({});
  }
  void TearDown() override {
    transport_.reset();
    RelayPeerFixture::TearDown();
  }

  RelayTransport& MakeTransport(int concurrency = 20, std::chrono::milliseconds idle_timeout = 5s) {
    RelayTransportOptions options;
    options.relay = "127.0.0.1:" + std::to_string(relay_->port());
    options.concurrency = concurrency;
    options.idle_timeout = idle_timeout;
    options.smtp.helo_name = "web1.example.net";
    transport_ = std::make_unique<RelayTransport>(io_.get_executor(), options);
    return *transport_;
  }

  void RunUntil(const std::function<bool()>& done) {
    io_.restart();
    const auto until = std::chrono::steady_clock::now() + 60s;
    while (!done() && std::chrono::steady_clock::now() < until) {
      if (io_.stopped()) io_.restart();
      io_.run_one_for(50ms);
    }
  }

  void RunFor(std::chrono::milliseconds duration) {
    const auto until = std::chrono::steady_clock::now() + duration;
    RunUntil([&] { return std::chrono::steady_clock::now() >= until; });
  }

  std::vector<RecipientOutcome> Deliver(Transport& transport, const ClaimedMessage& message) {
    auto future = asio::co_spawn(io_, transport.Deliver(message), asio::use_future);
    RunUntil([&] { return future.wait_for(0s) == std::future_status::ready; });
    return future.get();
  }

  static ClaimedMessage Message(std::vector<std::string> recipients, std::string body = "x\r\n") {
    static MessageId next_id = 1;
    ClaimedMessage m;
    m.id = next_id++;
    m.sender = "site@example.org";
    int index = 10;
    for (auto& r : recipients) m.recipients.push_back({index++, std::move(r)});
    m.body = std::move(body);
    return m;
  }

  asio::io_context io_;
  std::unique_ptr<RelayTransport> transport_;
};

TEST_F(RelayTransportTest, RepliesBecomeRecipientOutcomes) {
  auto& transport = MakeTransport();
  auto outcomes =
      Deliver(transport, Message({"ok@example.com", "reject1@example.com", "defer1@example.com"},
                                 "Subject: t\r\n\r\n.dot line\r\n"));
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_EQ(outcomes[0].index, 10);
  EXPECT_EQ(outcomes[0].status, RecipientStatus::kSent);
  EXPECT_TRUE(outcomes[0].reply.starts_with("250 2.0.0")) << outcomes[0].reply;
  EXPECT_EQ(outcomes[1].index, 11);
  EXPECT_EQ(outcomes[1].status, RecipientStatus::kFailed);
  EXPECT_EQ(outcomes[1].reply, "550 5.1.1 <reject1@example.com>: recipient rejected");
  EXPECT_EQ(outcomes[2].index, 12);
  EXPECT_EQ(outcomes[2].status, RecipientStatus::kPending);
  EXPECT_EQ(outcomes[2].reply, "451 4.3.0 <defer1@example.com>: try again later");

  const auto spool = ReadSpool(spool_);
  ASSERT_EQ(spool.size(), 1u);
  EXPECT_EQ(spool[0].mail_from, "site@example.org");
  EXPECT_EQ(spool[0].rcpt_tos, std::vector<std::string>{"ok@example.com"});
  EXPECT_EQ(spool[0].content, "Subject: t\r\n\r\n.dot line\r\n");
}

TEST_F(RelayTransportTest, DeferredRecipientGoesOnALaterAttempt) {
  auto& transport = MakeTransport();
  const auto message = Message({"defer3@example.com"});
  EXPECT_EQ(Deliver(transport, message)[0].status, RecipientStatus::kPending);
  EXPECT_EQ(Deliver(transport, message)[0].status, RecipientStatus::kPending);
  EXPECT_EQ(Deliver(transport, message)[0].status, RecipientStatus::kSent);
  EXPECT_EQ(ReadSpool(spool_).size(), 1u);
}

TEST_F(RelayTransportTest, MessagesReuseOneConnection) {
  auto& transport = MakeTransport();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Deliver(transport, Message({"ok@example.com"}))[0].status, RecipientStatus::kSent);
  }
  EXPECT_EQ(transport.connections_opened(), 1u);
  EXPECT_EQ(transport.idle_connections(), 1u);
  const auto spool = ReadSpool(spool_);
  ASSERT_EQ(spool.size(), 3u);
  EXPECT_EQ(spool[0].peer_port, spool[2].peer_port);
}

TEST_F(RelayTransportTest, ConcurrentDeliveriesShareAtMostConcurrencyConnections) {
  auto& transport = MakeTransport(/*concurrency=*/2);
  std::vector<ClaimedMessage> messages;
  for (int i = 0; i < 7; ++i) messages.push_back(Message({"ok@example.com", "ok2@example.com"}));
  std::vector<std::future<std::vector<RecipientOutcome>>> futures;
  for (const auto& m : messages) {
    futures.push_back(asio::co_spawn(io_, transport.Deliver(m), asio::use_future));
  }
  RunUntil([&] {
    return std::all_of(futures.begin(), futures.end(),
                       [](auto& f) { return f.wait_for(0s) == std::future_status::ready; });
  });
  for (auto& f : futures) {
    for (const auto& o : f.get()) EXPECT_EQ(o.status, RecipientStatus::kSent) << o.reply;
  }
  EXPECT_EQ(transport.connections_opened(), 2u);
  EXPECT_EQ(ReadSpool(spool_).size(), 7u);
}

TEST_F(RelayTransportTest, RelayDownDefersEveryRecipient) {
  std::uint16_t port = 0;
  {
    asio::ip::tcp::acceptor probe(io_,
                                  asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = probe.local_endpoint().port();
  }
  RelayTransportOptions options;
  options.relay = "127.0.0.1:" + std::to_string(port);
  RelayTransport transport(io_.get_executor(), options);
  auto outcomes = Deliver(transport, Message({"ok@example.com", "reject1@example.com"}));
  ASSERT_EQ(outcomes.size(), 2u);
  for (const auto& o : outcomes) {
    EXPECT_EQ(o.status, RecipientStatus::kPending);
    EXPECT_EQ(o.reply,
              "connect to 127.0.0.1:" + std::to_string(port) + " failed: Connection refused");
  }
}

TEST_F(RelayTransportTest, ConnectionTheRelayClosedIsReplacedUnnoticed) {
  auto& transport = MakeTransport();
  EXPECT_EQ(Deliver(transport, Message({"ok@example.com"}))[0].status, RecipientStatus::kSent);
  ASSERT_EQ(transport.idle_connections(), 1u);
  const int port = relay_->port();
  StartRelay({"--port", std::to_string(port)});  // a restart: the pooled connection is dead
  ASSERT_EQ(relay_->port(), port);
  auto outcomes = Deliver(transport, Message({"ok@example.com"}));
  EXPECT_EQ(outcomes[0].status, RecipientStatus::kSent) << outcomes[0].reply;
  EXPECT_EQ(transport.connections_opened(), 2u);
  EXPECT_EQ(ReadSpool(spool_).size(), 2u);
}

TEST_F(RelayTransportTest, IdleConnectionsAreClosedAfterAWhile) {
  auto& transport = MakeTransport(20, 200ms);
  EXPECT_EQ(Deliver(transport, Message({"ok@example.com"}))[0].status, RecipientStatus::kSent);
  EXPECT_EQ(transport.idle_connections(), 1u);
  // Closed after its 200 ms idle (the test allows 10 s: a loaded machine's loop runs late).
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (transport.idle_connections() != 0 && std::chrono::steady_clock::now() < deadline) {
    RunFor(10ms);
  }
  EXPECT_EQ(transport.idle_connections(), 0u);
  EXPECT_EQ(Deliver(transport, Message({"ok@example.com"}))[0].status, RecipientStatus::kSent);
  EXPECT_EQ(transport.connections_opened(), 2u);
}

TEST_F(RelayTransportTest, ShutdownClosesIdleConnections) {
  auto& transport = MakeTransport();
  EXPECT_EQ(Deliver(transport, Message({"ok@example.com"}))[0].status, RecipientStatus::kSent);
  transport.Shutdown();
  EXPECT_EQ(transport.idle_connections(), 0u);
  RunFor(100ms);  // lets the QUIT go out
  EXPECT_EQ(Deliver(transport, Message({"ok@example.com"}))[0].status, RecipientStatus::kSent);
  EXPECT_EQ(transport.idle_connections(), 0u);
}

TEST_F(RelayTransportTest, BadRelayAddressDefers) {
  RelayTransportOptions options;
  options.relay = "no-port-here";
  RelayTransport transport(io_.get_executor(), options);
  auto outcomes = Deliver(transport, Message({"ok@example.com"}));
  EXPECT_EQ(outcomes[0].status, RecipientStatus::kPending);
  EXPECT_NE(outcomes[0].reply.find("delivery.relay: \"no-port-here\" must be host:port"),
            std::string::npos)
      << outcomes[0].reply;
}

TEST(MakeTransportTest, PicksTheTransportTheModeNames) {
  asio::io_context io;
  Config config;
  config.delivery.maildir = std::filesystem::temp_directory_path() / "unused";
  config.delivery.mode = DeliveryMode::kMaildir;
  EXPECT_NE(dynamic_cast<MaildirTransport*>(MakeTransport(config, io.get_executor()).get()),
            nullptr);
  config.delivery.mode = DeliveryMode::kRelay;
  EXPECT_NE(dynamic_cast<RelayTransport*>(MakeTransport(config, io.get_executor()).get()), nullptr);
}

}  // namespace
}  // namespace mailwarden
