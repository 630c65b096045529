#include "config/config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "testing/temp_dir.h"

namespace mailwarden {
namespace {

constexpr std::string_view kDesignExample = R"(
[store]
url = "sqlite:var/mailwarden.db"

[submit]
socket = "var/submit.sock"

[smtp]
listen = ["127.0.0.1:2587"]

[http]
listen = "127.0.0.1:8025"
admin_token_file = "var/admin.token"

[delivery]
mode = "relay"
relay = "127.0.0.1:25"
maildir = "var/outbox"
concurrency = 20
max_lifetime = "5d"

[policy]
hold = "72h"
max_per_day = 1000
max_per_hour = 300
spam_per_hour = 3000
bounce_rate = 0.2
bounce_min = 20

[report]
at = "06:00"
from = "mailwarden@localhost"

[[account]]
name = "demo"
uids = [1000]
report_to = "admin@example.com"
)";

TEST(ParseConfig, ReadsTheDesignExample) {
  auto c = ParseConfig(kDesignExample, "/etc/mailwarden");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->store.url, "sqlite:/etc/mailwarden/var/mailwarden.db");
  EXPECT_EQ(c->submit.socket, "/etc/mailwarden/var/submit.sock");
  EXPECT_EQ(c->smtp.listen, std::vector<std::string>{"127.0.0.1:2587"});
  EXPECT_EQ(c->http.admin_token_file, "/etc/mailwarden/var/admin.token");
  EXPECT_EQ(c->delivery.mode, DeliveryMode::kRelay);
  EXPECT_EQ(c->delivery.maildir, "/etc/mailwarden/var/outbox");
  EXPECT_EQ(c->delivery.concurrency, 20);
  EXPECT_EQ(c->delivery.max_lifetime, std::chrono::hours(120));
  EXPECT_EQ(c->policy.hold, std::chrono::hours(72));
  EXPECT_EQ(c->store.keep_finished, std::chrono::hours(24 * 30)) << "the default";
  EXPECT_EQ(c->policy.bounce_min, 20);
  EXPECT_DOUBLE_EQ(c->policy.bounce_rate, 0.2);
  EXPECT_DOUBLE_EQ(c->policy.complaint_rate, 0.003) << "the default";
  EXPECT_EQ(c->policy.complaint_min, 1000) << "the default";
  EXPECT_EQ(c->report.at_minutes, 360);
  ASSERT_EQ(c->accounts.size(), 1u);
  EXPECT_EQ(c->accounts[0].name, "demo");
  EXPECT_EQ(c->accounts[0].uids, std::vector<Uid>{1000});
  EXPECT_EQ(c->accounts[0].report_to, "admin@example.com");
}

TEST(ParseConfig, AbsolutePathsAndPostgresUrlsStayAsWritten) {
  auto c = ParseConfig(R"(
[store]
url = "postgresql://mw@db:5432/mailwarden"
[submit]
socket = "/run/mailwarden/submit.sock"
)",
                       "/etc/mailwarden");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->store.url, "postgresql://mw@db:5432/mailwarden");
  EXPECT_EQ(c->submit.socket, "/run/mailwarden/submit.sock");
}

TEST(ParseConfig, FinishedMailIsKeptAsLongAsSetAndAtLeastTwoDays) {
  auto c = ParseConfig("[store]\nkeep_finished = \"90d\"\n", "/tmp");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->store.keep_finished, std::chrono::hours(24 * 90));
  // The daily report reads the day before's errors: less than that would lose them.
  auto short_keep = ParseConfig("[store]\nkeep_finished = \"36h\"\n", "/tmp");
  ASSERT_FALSE(short_keep.has_value());
  EXPECT_NE(short_keep.error().message.find("store.keep_finished"), std::string::npos)
      << short_keep.error().message;
}

TEST(ParseConfig, StorageBoundsPerAccountAndTheFreeSpaceFloor) {
  auto defaults = ParseConfig("", "/tmp");
  ASSERT_TRUE(defaults.has_value()) << defaults.error().message;
  EXPECT_EQ(defaults->store.max_held_bytes_per_account, 4LL << 30);
  EXPECT_EQ(defaults->store.max_held_messages_per_account, 1'000'000);
  EXPECT_EQ(defaults->store.min_free_space, 100LL << 20);
  auto set = ParseConfig(
      "[store]\nmax_held_bytes_per_account = 0\nmax_held_messages_per_account = 500\n"
      "min_free_space = 0\n",
      "/tmp");
  ASSERT_TRUE(set.has_value()) << set.error().message;
  EXPECT_EQ(set->store.max_held_bytes_per_account, 0) << "0: no bound";
  EXPECT_EQ(set->store.max_held_messages_per_account, 500);
  EXPECT_EQ(set->store.min_free_space, 0);
  // A bound below one message would hold that message off for ever as "try again later".
  auto below = ParseConfig(
      "[store]\nmax_held_bytes_per_account = 1000000\n[submit]\nmax_message_bytes = 2000000\n",
      "/tmp");
  ASSERT_FALSE(below.has_value());
  EXPECT_NE(below.error().message.find("store.max_held_bytes_per_account"), std::string::npos)
      << below.error().message;
  auto negative = ParseConfig("[store]\nmin_free_space = -1\n", "/tmp");
  ASSERT_FALSE(negative.has_value());
  EXPECT_NE(negative.error().message.find("store.min_free_space"), std::string::npos);
}

// The HTTP listener's limits against hostile local users (docs/security.md), and the sources'
// rows per hour: their defaults, and what a file sets.
TEST(ParseConfig, HttpLimitsAndSourcesPerHour) {
  auto defaults = ParseConfig("", "/tmp");
  ASSERT_TRUE(defaults.has_value()) << defaults.error().message;
  EXPECT_EQ(defaults->http.max_connections, 256);
  EXPECT_EQ(defaults->http.max_connections_per_client, 32);
  EXPECT_EQ(defaults->http.max_header_bytes, 16 * 1024);
  EXPECT_EQ(defaults->http.max_body_bytes, 64 * 1024);
  EXPECT_EQ(defaults->http.request_timeout, std::chrono::seconds(30));
  EXPECT_EQ(defaults->http.idle_timeout, std::chrono::seconds(15));
  EXPECT_EQ(defaults->store.max_sources_per_hour, 100);
  auto c = ParseConfig(R"(
[store]
max_sources_per_hour = 20
[http]
max_connections = 10
max_connections_per_client = 2
max_header_bytes = 4096
max_body_bytes = 8192
request_timeout = "5s"
idle_timeout = "2s"
)",
                       "/tmp");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->http.max_connections, 10);
  EXPECT_EQ(c->http.max_connections_per_client, 2);
  EXPECT_EQ(c->http.max_header_bytes, 4096);
  EXPECT_EQ(c->http.max_body_bytes, 8192);
  EXPECT_EQ(c->http.request_timeout, std::chrono::seconds(5));
  EXPECT_EQ(c->http.idle_timeout, std::chrono::seconds(2));
  EXPECT_EQ(c->store.max_sources_per_hour, 20);
}

TEST(ParseConfig, NamesTheKeyThatIsWrong) {
  struct Case {
    std::string_view toml;
    std::string_view key_in_message;
  };
  const Case cases[] = {
      {"[delivery]\nmode = \"pigeon\"\n", "delivery.mode"},
      {"[delivery]\nconcurrency = 0\n", "delivery.concurrency"},
      {"[delivery]\nconcurrency = \"20\"\n", "delivery.concurrency"},
      {"[delivery]\nrelay = \"localhost\"\n", "delivery.relay"},
      {"[delivery]\nmax_lifetime = \"5 days\"\n", "delivery.max_lifetime"},
      {"[delivery]\nconcurency = 3\n", "delivery.concurency"},
      {"[policy]\nhold = \"72\"\n", "policy.hold"},
      {"[policy]\nbounce_rate = 1.5\n", "policy.bounce_rate"},
      {"[policy]\ncomplaint_rate = 1.5\n", "policy.complaint_rate"},
      {"[policy]\ncomplaint_rate = \"0.3%\"\n", "policy.complaint_rate"},
      {"[policy]\ncomplaint_min = 0\n", "policy.complaint_min"},
      {"[report]\nat = \"25:00\"\n", "report.at"},
      {"[store]\nurl = \"mysql://x\"\n", "store.url"},
      {"[http]\nlisten = \"127.0.0.1:99999\"\n", "http.listen"},
      {"[smtp]\nlisten = \"127.0.0.1:2587\"\n", "smtp.listen"},
      {"[submit]\nmax_receiving_bytes = 1000\n", "submit.max_receiving_bytes"},
      {"[submit]\nmax_connections = 0\n", "submit.max_connections"},
      {"[delivery]\nmax_sending_bytes = 4096\n", "delivery.max_sending_bytes"},
      {"[smtp]\nmax_connections_per_account = 0\n", "smtp.max_connections_per_account"},
      {"[submit]\nmax_connections_per_uid = -1\n", "submit.max_connections_per_uid"},
      {"[submit]\nmax_receive_time = \"1ms\"\n", "submit.max_receive_time"},
      {"[submit]\nmax_wait_for_room = \"soon\"\n", "submit.max_wait_for_room"},
      {"[submit]\nmax_large_messages_per_uid = 0\n", "submit.max_large_messages_per_uid"},
      {"[submit]\nuid_wait = 5\n", "submit.uid_wait"},
      {"[smtp]\nmax_connections = 0\n", "smtp.max_connections"},
      {"[smtp]\nmax_connections_per_client = 0\n", "smtp.max_connections_per_client"},
      {"[smtp]\nmax_commands_before_auth = 1\n", "smtp.max_commands_before_auth"},
      {"[http]\nmax_connections = 0\n", "http.max_connections"},
      {"[http]\nmax_connections_per_client = 0\n", "http.max_connections_per_client"},
      {"[http]\nmax_header_bytes = 100\n", "http.max_header_bytes"},
      {"[http]\nmax_body_bytes = \"64k\"\n", "http.max_body_bytes"},
      {"[http]\nrequest_timeout = \"10ms\"\n", "http.request_timeout"},
      {"[http]\nidle_timeout = 15\n", "http.idle_timeout"},
      {"[store]\nmax_sources_per_hour = 0\n", "store.max_sources_per_hour"},
      {"[mystery]\nx = 1\n", "mystery"},
      {"[[account]]\nname = \"Bad Name\"\n", "account[0].name"},
      {"[[account]]\nname = \"a\"\nuids = [-1]\n", "account[0].uids"},
      {"[[account]]\nname = \"a\"\nlanguage = \"de\"\n", "account[0].language"},
      {"[[account]]\nname = \"a\"\ncolour = \"red\"\n", "account[0].colour"},
      {"[[account]]\nname = \"a\"\nuids = [5]\n[[account]]\nname = \"b\"\nuids = [5]\n",
       "account[1].uids"},
      {"[[account]]\nname = \"a\"\n[[account]]\nname = \"a\"\n", "account[1].name"},
      {"[store\nurl = 1\n", "line 1"},
  };
  for (const auto& c : cases) {
    auto r = ParseConfig(c.toml, "/tmp");
    ASSERT_FALSE(r.has_value()) << c.toml;
    EXPECT_NE(r.error().message.find(c.key_in_message), std::string::npos)
        << c.toml << " -> " << r.error().message;
  }
}

// Addresses follow one rule set (core/host_port.h): IPv6 in brackets; listeners may take port
// 0 (the system picks one), the relay may not.
TEST(ParseConfig, AddressesAreHostPort) {
  struct Case {
    std::string_view toml;
    std::string_view error;  // empty: accepted; else a part of the refusal
  };
  const Case cases[] = {
      {"[http]\nlisten = \"[::1]:8025\"\n", ""},
      {"[http]\nlisten = \"127.0.0.1:0\"\n", ""},
      {"[smtp]\nlisten = [\"127.0.0.1:0\", \"[::]:2587\"]\n", ""},
      {"[delivery]\nrelay = \"[2001:db8::25]:25\"\n", ""},
      {"[delivery]\nrelay = \"mx.example.com:587\"\n", ""},
      {"[delivery]\nrelay = \"127.0.0.1:0\"\n",
       "delivery.relay: \"127.0.0.1:0\": the port must be a number from 1 to 65535"},
      {"[http]\nlisten = \"127.0.0.1:99999\"\n",
       "http.listen: \"127.0.0.1:99999\": the port must be a number from 0 to 65535"},
      {"[http]\nlisten = \"::1:8025\"\n",
       "http.listen: \"::1:8025\" must be host:port; write an IPv6"},
      {"[http]\nlisten = \"127.0.0.1:80a\"\n", "http.listen: \"127.0.0.1:80a\": the port"},
      {"[smtp]\nlisten = [\":2587\"]\n", "smtp.listen: \":2587\" has no host"},
      {"[smtp]\nlocal_listen = [\"127.0.0.1:2525\", \"[::1]:2525\", \"127.0.0.1:0\"]\n", ""},
      {"[smtp]\nlocal_listen = [\"0.0.0.0:2525\"]\n",
       "smtp.local_listen: \"0.0.0.0:2525\" must be a loopback address"},
      {"[smtp]\nlocal_listen = [\"[::]:2525\"]\n",
       "smtp.local_listen: \"[::]:2525\" must be a loopback address"},
      {"[smtp]\nlocal_listen = [\"localhost:2525\"]\n",
       "smtp.local_listen: \"localhost:2525\" must be a loopback address"},
      {"[smtp]\nlocal_listen = \"127.0.0.1:2525\"\n", "smtp.local_listen: must be a list"},
      {"[delivery]\nrelay = \"localhost\"\n", "delivery.relay: \"localhost\" must be host:port"},
  };
  for (const auto& c : cases) {
    auto r = ParseConfig(c.toml, "/tmp");
    if (c.error.empty()) {
      EXPECT_TRUE(r.has_value()) << c.toml << " -> " << r.error().message;
    } else {
      ASSERT_FALSE(r.has_value()) << c.toml;
      EXPECT_NE(r.error().message.find(c.error), std::string::npos)
          << c.toml << " -> " << r.error().message;
    }
  }
}

TEST(ParseConfig, HostNameDefaultsToTheSystemsAndCanBeSet) {
  auto fallback = ParseConfig("", "/tmp");
  ASSERT_TRUE(fallback.has_value());
  EXPECT_FALSE(fallback->hostname.empty());
  auto set = ParseConfig("hostname = \"web1.example.net\"\n", "/tmp");
  ASSERT_TRUE(set.has_value());
  EXPECT_EQ(set->hostname, "web1.example.net");
  auto bad = ParseConfig("hostname = \"web1\\r\\nBcc: x@y.z\"\n", "/tmp");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("hostname"), std::string::npos);
}

TEST(ParseConfig, DeliveryLeaseDefaultsToFifteenMinutesAndCanBeShortened) {
  auto fallback = ParseConfig("", "/tmp");
  ASSERT_TRUE(fallback.has_value());
  EXPECT_EQ(fallback->delivery.lease, std::chrono::minutes(15));
  auto set = ParseConfig("[delivery]\nlease = \"3s\"\n", "/tmp");
  ASSERT_TRUE(set.has_value()) << set.error().message;
  EXPECT_EQ(set->delivery.lease, std::chrono::seconds(3));
  for (std::string_view bad : {"[delivery]\nlease = \"15\"\n", "[delivery]\nlease = \"10ms\"\n",
                               "[delivery]\nlease = 60\n"}) {
    auto r = ParseConfig(bad, "/tmp");
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_NE(r.error().message.find("delivery.lease"), std::string::npos) << r.error().message;
  }
}

TEST(ParseConfig, RelayTlsDependsOnWhereTheRelayIs) {
  auto loopback = ParseConfig("[delivery]\nrelay = \"127.0.0.1:25\"\n", "/tmp");
  ASSERT_TRUE(loopback.has_value()) << loopback.error().message;
  EXPECT_EQ(loopback->delivery.tls, RelayTls::kOpportunistic);
  EXPECT_FALSE(loopback->delivery.tls_verify);
  auto named = ParseConfig("[delivery]\nrelay = \"localhost:25\"\n", "/tmp");
  ASSERT_TRUE(named.has_value());
  EXPECT_EQ(named->delivery.tls, RelayTls::kOpportunistic);
  auto remote = ParseConfig("[delivery]\nrelay = \"mx.example.net:587\"\n", "/tmp");
  ASSERT_TRUE(remote.has_value()) << remote.error().message;
  EXPECT_EQ(remote->delivery.tls, RelayTls::kRequired);
  EXPECT_TRUE(remote->delivery.tls_verify);
  auto set = ParseConfig(
      "[delivery]\nrelay = \"10.0.0.5:25\"\ntls = \"opportunistic\"\ntls_verify = false\n"
      "tls_name = \"mx.example.net\"\n",
      "/tmp");
  ASSERT_TRUE(set.has_value()) << set.error().message;
  EXPECT_EQ(set->delivery.tls, RelayTls::kOpportunistic);
  EXPECT_FALSE(set->delivery.tls_verify);
  EXPECT_EQ(set->delivery.tls_name, "mx.example.net");
  for (const char* bad :
       {"[delivery]\ntls = \"always\"\n", "[delivery]\ntls = \"none\"\ntls_verify = true\n",
        "[delivery]\ntls_verify = \"yes\"\n",
        "[delivery]\ntls_ca_file = \"/nonexistent/ca.pem\"\n"}) {
    auto r = ParseConfig(bad, "/tmp");
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_NE(r.error().message.find("delivery.tls"), std::string::npos) << r.error().message;
  }
}

TEST(ParseConfig, ReceivingLimitsDefaultAndCanBeSet) {
  auto fallback = ParseConfig("", "/tmp");
  ASSERT_TRUE(fallback.has_value());
  EXPECT_EQ(fallback->submit.max_receiving_bytes, 256 * 1024 * 1024);
  EXPECT_EQ(fallback->submit.max_connections, 1000);
  EXPECT_EQ(fallback->submit.max_connections_per_uid, 100);
  EXPECT_EQ(fallback->submit.max_receive_time, std::chrono::minutes(5));
  EXPECT_EQ(fallback->submit.max_wait_for_room, std::chrono::seconds(30));
  EXPECT_EQ(fallback->submit.max_large_messages_per_uid, 3);
  EXPECT_EQ(fallback->submit.uid_wait, std::chrono::seconds(5));
  auto set = ParseConfig("[submit]\nmax_receiving_bytes = 8388608\nmax_connections = 50\n", "/tmp");
  ASSERT_TRUE(set.has_value()) << set.error().message;
  EXPECT_EQ(set->submit.max_receiving_bytes, 8 * 1024 * 1024);
  EXPECT_EQ(set->submit.max_connections, 50);
}

TEST(ParseConfig, SendingMemoryDefaultsAndCanBeSet) {
  auto fallback = ParseConfig("", "/tmp");
  ASSERT_TRUE(fallback.has_value());
  EXPECT_EQ(fallback->delivery.max_sending_bytes, 128 * 1024 * 1024);
  auto set = ParseConfig("[delivery]\nmax_sending_bytes = 2097152\n", "/tmp");
  ASSERT_TRUE(set.has_value()) << set.error().message;
  EXPECT_EQ(set->delivery.max_sending_bytes, 2 * 1024 * 1024);
}

TEST(ParseConfig, SmtpSessionsPerAccountDefaultAndCanBeSet) {
  auto fallback = ParseConfig("", "/tmp");
  ASSERT_TRUE(fallback.has_value());
  EXPECT_EQ(fallback->smtp.max_connections_per_account, 50);
  auto set = ParseConfig("[smtp]\nmax_connections_per_account = 5\n", "/tmp");
  ASSERT_TRUE(set.has_value()) << set.error().message;
  EXPECT_EQ(set->smtp.max_connections_per_account, 5);
}

TEST(ParseConfig, DaemonSectionDefaultsAndCanBeSet) {
  auto c = ParseConfig("", "/etc/mw");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->daemon.user, "");
  EXPECT_EQ(c->daemon.group, "");
  EXPECT_EQ(c->daemon.shutdown_timeout, std::chrono::seconds(30));
  c = ParseConfig("[daemon]\nuser = \"mailwarden\"\ngroup = \"mail\"\nshutdown_timeout = \"5s\"\n",
                  "/etc/mw");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->daemon.user, "mailwarden");
  EXPECT_EQ(c->daemon.group, "mail");
  EXPECT_EQ(c->daemon.shutdown_timeout, std::chrono::seconds(5));
}

TEST(ParseConfig, DaemonSectionNamesTheKeyThatIsWrong) {
  const struct {
    std::string_view toml;
    std::string_view key;
  } kCases[] = {
      {"[daemon]\nuser = 1000\n", "daemon.user: must be a string"},
      {"[daemon]\ngroup = \"mail\"\n", "daemon.group: needs daemon.user"},
      {"[daemon]\nshutdown_timeout = \"soon\"\n", "daemon.shutdown_timeout"},
      {"[daemon]\nshutdown_timeout = \"1ms\"\n", "daemon.shutdown_timeout: must be at least"},
      {"[daemon]\nshutdown_timeout = \"2h\"\n", "daemon.shutdown_timeout: must be at most 1h"},
      {"[daemon]\npidfile = \"x\"\n", "daemon.pidfile: unknown setting"},
  };
  for (const auto& c : kCases) {
    auto r = ParseConfig(c.toml, "/etc/mw");
    ASSERT_FALSE(r.has_value()) << c.toml;
    EXPECT_NE(r.error().message.find(c.key), std::string::npos) << r.error().message;
  }
}

TEST(ParseConfig, AutoAccountsAreOffUnlessARangeIsGiven) {
  auto c = ParseConfig("", "/etc/mw");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->auto_accounts.uid_min, 0u);
  EXPECT_EQ(c->auto_accounts.uid_max, 0u);
  EXPECT_EQ(c->auto_accounts.language, "en");
  c = ParseConfig("[auto_accounts]\nuids = \"1000-59999\"\nlanguage = \"pl\"\n", "/etc/mw");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->auto_accounts.uid_min, 1000u);
  EXPECT_EQ(c->auto_accounts.uid_max, 59999u);
  EXPECT_EQ(c->auto_accounts.language, "pl");
  c = ParseConfig("[auto_accounts]\nuids = \"4242-4242\"\n", "/etc/mw");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->auto_accounts.uid_min, 4242u);
}

TEST(ParseConfig, AutoAccountsNameTheKeyThatIsWrong) {
  const struct {
    std::string_view toml;
    std::string_view key;
  } kCases[] = {
      {"[auto_accounts]\nuids = \"1000\"\n", "auto_accounts.uids: \"1000\" must be MIN-MAX"},
      {"[auto_accounts]\nuids = \"0-100\"\n", "auto_accounts.uids"},  // root is never one
      {"[auto_accounts]\nuids = \"2000-1000\"\n", "auto_accounts.uids"},
      {"[auto_accounts]\nuids = \"1000-4294967295\"\n", "auto_accounts.uids"},
      {"[auto_accounts]\nuids = \"-5-10\"\n", "auto_accounts.uids"},
      {"[auto_accounts]\nuids = \" 1000-2000\"\n", "auto_accounts.uids"},
      {"[auto_accounts]\nuids = \"1000-2000x\"\n", "auto_accounts.uids"},
      {"[auto_accounts]\nuids = 1000\n", "auto_accounts.uids: must be a string"},
      {"[auto_accounts]\nlanguage = \"de\"\n", "auto_accounts.language: must be"},
      {"[auto_accounts]\nreport_to = \"x\"\n", "auto_accounts.report_to: unknown setting"},
  };
  for (const auto& c : kCases) {
    auto r = ParseConfig(c.toml, "/etc/mw");
    ASSERT_FALSE(r.has_value()) << c.toml;
    EXPECT_NE(r.error().message.find(c.key), std::string::npos) << r.error().message;
  }
}

TEST(ParseConfig, BouncesFeedbackAddresses) {
  auto c = ParseConfig(
      "[bounces]\ndomain = \"bounces.example.net\"\nlisten = [\"127.0.0.1:2526\"]\n"
      "feedback_addresses = [\"FBL@Bounces.Example.NET\"]\n",
      "/etc/mw");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->bounces.feedback_addresses, std::vector<std::string>{"fbl@bounces.example.net"});
  EXPECT_TRUE(ParseConfig("", "/etc/mw")->bounces.feedback_addresses.empty());
  for (const char* toml : {"[bounces]\ndomain = \"b.example\"\nlisten = [\"127.0.0.1:2526\"]\n"
                           "feedback_addresses = \"fbl@b.example\"\n",
                           "[bounces]\ndomain = \"b.example\"\nlisten = [\"127.0.0.1:2526\"]\n"
                           "feedback_addresses = [\"no-at-sign\"]\n",
                           "[bounces]\nfeedback_addresses = [\"fbl@b.example\"]\n"}) {
    auto bad = ParseConfig(toml, "/etc/mw");
    ASSERT_FALSE(bad.has_value()) << toml;
    EXPECT_NE(bad.error().message.find("bounces.feedback_addresses: "), std::string::npos)
        << bad.error().message;
  }
}

TEST(ParseConfig, ComplaintGuardKeysCanBeSet) {
  auto c = ParseConfig("[policy]\ncomplaint_rate = 0.005\ncomplaint_min = 200\n", "/tmp");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_DOUBLE_EQ(c->policy.complaint_rate, 0.005);
  EXPECT_EQ(c->policy.complaint_min, 200);
}

TEST(ParseConfig, BouncesCategoriesFileExtendsTheTable) {
  testing::TempDir dir("mw-config");
  {
    std::ofstream out(dir.path() / "categories");
    out << "# ours\nspam_block 5.7.1 barracuda\n";
  }
  auto c = ParseConfig("[bounces]\ncategories_file = \"categories\"\n", dir.path());
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->bounces.categories_file, dir.path() / "categories");
  ASSERT_EQ(c->bounces.category_rules.size(), 1u);
  EXPECT_EQ(c->bounces.category_rules[0].status, "5.7.1");
  EXPECT_EQ(c->bounces.category_rules[0].text, "barracuda");

  {
    std::ofstream out(dir.path() / "bad");
    out << "spam_block 5.7.1 x\nspammy 5.7.1\n";
  }
  auto bad = ParseConfig("[bounces]\ncategories_file = \"bad\"\n", dir.path());
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("bounces.categories_file: "), std::string::npos);
  EXPECT_NE(bad.error().message.find("line 2: \"spammy\""), std::string::npos)
      << bad.error().message;
  auto missing = ParseConfig("[bounces]\ncategories_file = \"none\"\n", dir.path());
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message.find("bounces.categories_file: cannot read"),
            std::string::npos);
}

TEST(ParseConfig, BouncesSection) {
  auto off = ParseConfig("", "/etc/mw");
  ASSERT_TRUE(off.has_value());
  EXPECT_EQ(off->bounces.domain, "");
  EXPECT_TRUE(off->bounces.listen.empty());
  EXPECT_EQ(off->bounces.secret_file, "/etc/mw/var/bounces.secret");
  EXPECT_TRUE(off->bounces.forward);
  auto on = ParseConfig(
      "[bounces]\ndomain = \"Bounces.Example.NET\"\nlisten = [\"0.0.0.0:2526\"]\n"
      "secret_file = \"/etc/mw/bounces.key\"\nforward = false\n",
      "/etc/mw");
  ASSERT_TRUE(on.has_value()) << on.error().message;
  EXPECT_EQ(on->bounces.domain, "bounces.example.net");
  EXPECT_EQ(on->bounces.listen, std::vector<std::string>{"0.0.0.0:2526"});
  EXPECT_EQ(on->bounces.secret_file, "/etc/mw/bounces.key");
  EXPECT_FALSE(on->bounces.forward);
}

TEST(ParseConfig, ScanIsOffByDefaultAndCanBeSet) {
  auto c = ParseConfig("", "/etc/mw");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_FALSE(c->scan.enabled());
  EXPECT_EQ(c->scan.timeout, std::chrono::seconds(10));
  EXPECT_EQ(c->scan.concurrency, 8);
  EXPECT_EQ(c->scan.on_error, Config::ScanOnError::kDeliver);
  EXPECT_FALSE(c->scan.customer_release);
  EXPECT_EQ(c->policy.quarantine_per_hour, 10);
  c = ParseConfig(
      "[scan]\nrspamd = \"http://127.0.0.1:11333/\"\ntimeout = \"3s\"\nconcurrency = 4\n"
      "on_error = \"hold\"\ncustomer_release = true\n[policy]\nquarantine_per_hour = 3\n",
      "/etc/mw");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_TRUE(c->scan.enabled());
  EXPECT_EQ(c->scan.rspamd_host, "127.0.0.1");
  EXPECT_EQ(c->scan.rspamd_port, "11333");
  EXPECT_EQ(c->scan.timeout, std::chrono::seconds(3));
  EXPECT_EQ(c->scan.concurrency, 4);
  EXPECT_EQ(c->scan.on_error, Config::ScanOnError::kHold);
  EXPECT_TRUE(c->scan.customer_release);
  EXPECT_EQ(c->policy.quarantine_per_hour, 3);
}

TEST(ParseConfig, BouncesAndScanNameTheKeyThatIsWrong) {
  const struct {
    std::string_view toml;
    std::string_view key;
  } kCases[] = {
      {"[bounces]\ndomain = \"bounces\"\n", "bounces.domain: \"bounces\" is not"},
      {"[bounces]\ndomain = \"a b.example\"\n", "bounces.domain"},
      {"[bounces]\nlisten = [\"127.0.0.1:2526\"]\n", "bounces.listen: needs bounces.domain"},
      {"[bounces]\ndomain = \"b.example\"\nlisten = \"x\"\n", "bounces.listen: must be a list"},
      {"[bounces]\nsecret_file = \"\"\n", "bounces.secret_file"},
      {"[bounces]\nsecret = \"x\"\n", "bounces.secret: unknown setting"},
      {"[bounces]\nforward = \"yes\"\n", "bounces.forward: must be true or false"},
      {"[scan]\nrspamd = \"127.0.0.1:11333\"\n", "scan.rspamd: must be \"http://host:port\""},
      {"[scan]\nrspamd = \"https://127.0.0.1:11333\"\n", "scan.rspamd: must be"},
      {"[scan]\nrspamd = \"http://127.0.0.1\"\n", "scan.rspamd:"},
      {"[scan]\ntimeout = \"1ms\"\n", "scan.timeout: must be at least"},
      {"[scan]\ntimeout = \"1h\"\n", "scan.timeout: must be at most 10m"},
      {"[scan]\nconcurrency = 0\n", "scan.concurrency: must be a whole number from 1 to 256"},
      {"[scan]\non_error = \"drop\"\n", "scan.on_error: must be \"deliver\" or \"hold\""},
      {"[scan]\ncustomer_release = \"yes\"\n", "scan.customer_release: must be true or false"},
      {"[scan]\nclamav = true\n", "scan.clamav: unknown setting"},
      {"[policy]\nquarantine_per_hour = -1\n", "policy.quarantine_per_hour: must be"},
  };
  for (const auto& c : kCases) {
    auto r = ParseConfig(c.toml, "/etc/mw");
    ASSERT_FALSE(r.has_value()) << c.toml;
    EXPECT_NE(r.error().message.find(c.key), std::string::npos) << r.error().message;
  }
}

TEST(ParseConfig, PlansLimitsAndWebhooksCanBeSet) {
  auto c = ParseConfig(R"(
[policy]
max_recipients = 50
unique_recipients_per_hour = 500
max_per_sender_per_hour = 40
max_per_from_per_hour = 35
max_per_script_per_hour = 30
over_limit = "refuse"
warn_at = 0.9
suppress_for = "7d"

[[plan]]
name = "small"
max_per_day = 200
suppress_for = "0"
over_limit = "defer"
warn_at = 0.5

[[account]]
name = "shop"
plan = "small"

[[webhook]]
url = "https://hooks.example.com/mw"
secret_file = "hook.secret"
events = ["account.blocked", "limit.warning"]
max_age = "2d"
)",
                       "/etc/mw");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->policy.max_recipients, 50);
  EXPECT_EQ(c->policy.unique_recipients_per_hour, 500);
  EXPECT_EQ(c->policy.max_per_sender_per_hour, 40);
  EXPECT_EQ(c->policy.max_per_from_per_hour, 35);
  EXPECT_EQ(c->policy.max_per_script_per_hour, 30);
  EXPECT_EQ(c->policy.over_limit, OverLimit::kRefuse);
  EXPECT_DOUBLE_EQ(c->policy.warn_at, 0.9);
  EXPECT_EQ(c->policy.suppress_for, std::chrono::days(7));
  ASSERT_EQ(c->plans.size(), 1u);
  EXPECT_EQ(c->plans[0].limits.suppress_for, Duration(0));
  EXPECT_EQ(c->plans[0].limits.max_per_day, 200);
  EXPECT_EQ(c->plans[0].limits.over_limit, OverLimit::kDefer);
  EXPECT_DOUBLE_EQ(c->plans[0].limits.warn_at.value_or(0), 0.5);
  EXPECT_EQ(c->accounts[0].plan, "small");
  ASSERT_EQ(c->webhooks.size(), 1u);
  EXPECT_EQ(c->webhooks[0].secret_file, "/etc/mw/hook.secret");
  EXPECT_EQ(c->webhooks[0].events.size(), 2u);
  EXPECT_EQ(c->webhooks[0].max_age, std::chrono::hours(48));

  auto defaults = ParseConfig("", "/etc/mw");
  ASSERT_TRUE(defaults.has_value());
  EXPECT_EQ(defaults->policy.over_limit, OverLimit::kDefer);
  EXPECT_DOUBLE_EQ(defaults->policy.warn_at, 0.8);
  EXPECT_EQ(defaults->policy.max_recipients, 0);
  EXPECT_EQ(defaults->policy.suppress_for, std::chrono::days(30));
  auto off = ParseConfig("[policy]\nsuppress_for = 0\n", "/etc/mw");
  ASSERT_TRUE(off.has_value()) << off.error().message;
  EXPECT_EQ(off->policy.suppress_for, Duration(0));
}

TEST(ParseConfig, PlansLimitsAndWebhooksNameTheKeyThatIsWrong) {
  struct Case {
    std::string_view toml;
    std::string_view key;
  };
  const Case kCases[] = {
      {"[policy]\nover_limit = \"drop\"\n", "policy.over_limit"},
      {"[policy]\nwarn_at = 2.0\n", "policy.warn_at"},
      {"[policy]\nsuppress_for = \"30\"\n", "policy.suppress_for"},
      {"[policy]\nsuppress_for = 3\n", "policy.suppress_for"},
      {"[[plan]]\nname = \"a\"\nsuppress_for = \"x\"\n", "plan[a].suppress_for"},
      {"[policy]\nmax_recipients = -1\n", "policy.max_recipients"},
      {"[[plan]]\nname = \"a\"\nhold = \"1h\"\n", "plan[a].hold"},
      {"[[plan]]\nname = \"a\"\nmax_per_day = \"many\"\n", "plan[a].max_per_day"},
      {"[[plan]]\nname = \"a\"\n[[plan]]\nname = \"a\"\n", "plan[1].name"},
      {"[[account]]\nname = \"x\"\nplan = \"gold\"\n", "account[0].plan"},
      {"[[webhook]]\nurl = \"ftp://x\"\nsecret_file = \"s\"\n", "webhook[0].url"},
      {"[[webhook]]\nurl = \"http://x\"\n", "webhook[0].secret_file"},
      {"[[webhook]]\nurl = \"http://x\"\nsecret_file = \"s\"\nevents = [\"boom\"]\n",
       "webhook[0].events"},
      {"[[webhook]]\nurl = \"http://x\"\nsecret_file = \"s\"\ncolour = 1\n",
       "webhook[0].colour: unknown setting"},
  };
  for (const auto& c : kCases) {
    auto r = ParseConfig(c.toml, "/etc/mw");
    ASSERT_FALSE(r.has_value()) << c.toml;
    EXPECT_NE(r.error().message.find(c.key), std::string::npos) << r.error().message;
  }
}

TEST(LoadConfig, MissingFileSaysSo) {
  auto r = LoadConfig("/nonexistent/mailwarden.toml");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("/nonexistent/mailwarden.toml"), std::string::npos);
}

}  // namespace
}  // namespace mailwarden

namespace mailwarden {
namespace {

TEST(ParseConfig, SenderIdentityKeysDefaultAndCanBeSet) {
  auto defaults = ParseConfig("", "/etc/mailwarden");
  ASSERT_TRUE(defaults) << defaults.error().message;
  EXPECT_EQ(defaults->policy.sender_check, SenderCheck::kOff);
  EXPECT_EQ(defaults->dns.server, "");

  auto c = ParseConfig(R"(
[policy]
sender_check = "reject"
[dns]
server = "127.0.0.1:5353"
spf = "include:_spf.hosting.example"
[[account]]
name = "shop"
uids = [1001]
domains = ["Shop.Example.", "żółw.pl", "shop.example"]
)",
                       "/etc/mailwarden");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->policy.sender_check, SenderCheck::kReject);
  EXPECT_EQ(c->dns.server, "127.0.0.1:5353");
  EXPECT_EQ(c->dns.spf, "include:_spf.hosting.example");
  ASSERT_EQ(c->accounts.size(), 1u);
  EXPECT_EQ(c->accounts[0].domains, (std::vector<std::string>{"shop.example", "xn--w-uga1v8h.pl"}));

  auto bare = ParseConfig("[dns]\nserver = \"127.0.0.53\"\n", "/");
  ASSERT_TRUE(bare) << bare.error().message;
  EXPECT_EQ(bare->dns.server, "127.0.0.53:53");
}

TEST(ParseConfig, SenderIdentityNamesTheKeyThatIsWrong) {
  struct Case {
    std::string_view toml;
    std::string_view in_message;
  };
  const Case cases[] = {
      {"[policy]\nsender_check = \"deny\"\n", "policy.sender_check"},
      {"[dns]\nserver = \"127.0.0.1:99999\"\n", "dns.server"},
      {"[dns]\nresolver = \"x\"\n", "dns.resolver"},
      {"[dns]\nspf = \"v=spf1 -all\"\n", "dns.spf"},
      {"[[account]]\nname = \"a\"\ndomains = \"a.com\"\n", "account[0].domains"},
      {"[[account]]\nname = \"a\"\ndomains = [\"com\"]\n", "account[0].domains"},
      {"[[account]]\nname = \"a\"\ndomains = [\"a.com\"]\n[[account]]\nname = \"b\"\n"
       "domains = [\"A.com\"]\n",
       "account[1].domains: \"a.com\" belongs to two accounts"},
  };
  for (const Case& c : cases) {
    auto r = ParseConfig(c.toml, "/");
    ASSERT_FALSE(r) << c.toml;
    EXPECT_NE(r.error().message.find(c.in_message), std::string::npos)
        << c.toml << " -> " << r.error().message;
  }
}

}  // namespace
}  // namespace mailwarden
