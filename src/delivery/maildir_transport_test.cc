#include "delivery/maildir_transport.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "testing/temp_dir.h"

namespace mailwarden {
namespace {

namespace fs = std::filesystem;

class MaildirTransportTest : public ::testing::Test {
 protected:
  std::vector<RecipientOutcome> Deliver(Transport& transport, const ClaimedMessage& message) {
    boost::asio::io_context io;
    auto future = boost::asio::co_spawn(io, transport.Deliver(message), boost::asio::use_future);
    io.run();
    return future.get();
  }

  static std::vector<fs::path> Files(const fs::path& dir) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path());
    return out;
  }

  static std::string Read(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  static ClaimedMessage Message(std::string sender, std::vector<std::string> recipients,
                                std::string body) {
    ClaimedMessage m;
    m.id = 7;
    m.sender = std::move(sender);
    int index = 0;
    for (auto& r : recipients) m.recipients.push_back({index++, std::move(r)});
    m.body = std::move(body);
    return m;
  }

  testing::TempDir temp_dir_{"mw_maildir_test"};
  const fs::path root_ = temp_dir_.path();
};

TEST_F(MaildirTransportTest, WritesTheMessageIntoNew) {
  const fs::path maildir = root_ / "var" / "outbox";  // missing: created on first use
  MaildirTransport transport(maildir);
  const std::string body = "Subject: hi\r\n\r\nhello\r\n";
  auto outcomes =
      Deliver(transport, Message("site@example.org", {"a@example.com", "b@example.com"}, body));

  const auto files = Files(maildir / "new");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_TRUE(Files(maildir / "tmp").empty());
  EXPECT_TRUE(fs::is_directory(maildir / "cur"));
  const std::string name = files[0].filename().string();
  EXPECT_TRUE(std::regex_match(name, std::regex(R"(\d+\.M\d+P\d+Q\d+\..+)"))) << name;
  EXPECT_EQ(Read(files[0]),
            "Return-Path: <site@example.org>\r\nDelivered-To: a@example.com\r\n"
            "Delivered-To: b@example.com\r\n" +
                body);

  ASSERT_EQ(outcomes.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(outcomes[i].index, i);
    EXPECT_EQ(outcomes[i].status, RecipientStatus::kSent);
    EXPECT_EQ(outcomes[i].reply, "250 2.0.0 maildir: " + name);
  }
}

TEST_F(MaildirTransportTest, EachMessageGetsItsOwnFile) {
  MaildirTransport transport(root_);
  std::set<std::string> names;
  for (int i = 0; i < 5; ++i) {
    auto name = transport.WriteMessage(Message("", {"a@example.com"}, "x\r\n"));
    ASSERT_TRUE(name) << name.error().message;
    names.insert(*name);
  }
  EXPECT_EQ(names.size(), 5u);
  EXPECT_EQ(Files(root_ / "new").size(), 5u);
  EXPECT_TRUE(Read(root_ / "new" / *names.begin()).starts_with("Return-Path: <>\r\n"));
}

TEST_F(MaildirTransportTest, KeepsTheRecipientIndexes) {
  MaildirTransport transport(root_);
  ClaimedMessage m = Message("s@example.org", {}, "x\r\n");
  m.recipients = {{3, "c@example.com"}, {5, "e@example.com"}};
  auto outcomes = Deliver(transport, m);
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_EQ(outcomes[0].index, 3);
  EXPECT_EQ(outcomes[1].index, 5);
}

TEST_F(MaildirTransportTest, AddressesCannotAddHeaderLines) {
  MaildirTransport transport(root_);
  auto name =
      transport.WriteMessage(Message("s@example.org\r\nX-Forged: 1", {"a@example.com"}, "x\r\n"));
  ASSERT_TRUE(name);
  EXPECT_TRUE(
      Read(root_ / "new" / *name).starts_with("Return-Path: <s@example.org  X-Forged: 1>\r\n"));
}

TEST_F(MaildirTransportTest, DiskErrorDefersEveryRecipient) {
  std::ofstream(root_ / "file") << "not a folder";
  MaildirTransport transport(root_ / "file" / "outbox");
  auto outcomes = Deliver(transport, Message("s@example.org", {"a@x.com", "b@x.com"}, "x\r\n"));
  ASSERT_EQ(outcomes.size(), 2u);
  for (const auto& o : outcomes) {
    EXPECT_EQ(o.status, RecipientStatus::kPending);
    EXPECT_TRUE(o.reply.starts_with("maildir: cannot create")) << o.reply;
    EXPECT_NE(o.reply.find("Not a directory"), std::string::npos) << o.reply;
  }
}

}  // namespace
}  // namespace mailwarden
