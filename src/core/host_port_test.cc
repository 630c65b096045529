#include "core/host_port.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace mailwarden {
namespace {

struct HostPortCase {
  std::string text;
  PortZero port_zero;
  std::optional<HostPort> want;  // nullopt: refused
  std::string error;             // a part of the refusal's sentence
};

TEST(ParseHostPortTest, OneRuleSet) {
  const HostPortCase cases[] = {
      {"127.0.0.1:25", PortZero::kRefused, HostPort{"127.0.0.1", 25}, ""},
      {"relay.example.com:587", PortZero::kRefused, HostPort{"relay.example.com", 587}, ""},
      {"localhost:65535", PortZero::kRefused, HostPort{"localhost", 65535}, ""},
      {"[::1]:2587", PortZero::kRefused, HostPort{"::1", 2587}, ""},
      {"[fe80::1%eth0]:25", PortZero::kRefused, HostPort{"fe80::1%eth0", 25}, ""},
      {"127.0.0.1:0", PortZero::kAllowed, HostPort{"127.0.0.1", 0}, ""},
      {"[::]:0", PortZero::kAllowed, HostPort{"::", 0}, ""},
      {"127.0.0.1:00025", PortZero::kRefused, HostPort{"127.0.0.1", 25}, ""},
      // Refused, with the reason.
      {"127.0.0.1:0", PortZero::kRefused, std::nullopt, "from 1 to 65535"},
      {"127.0.0.1", PortZero::kRefused, std::nullopt, "\"127.0.0.1\" must be host:port"},
      {"", PortZero::kAllowed, std::nullopt, "must be host:port"},
      {":25", PortZero::kRefused, std::nullopt, "\":25\" has no host"},
      {"[]:25", PortZero::kRefused, std::nullopt, "has no host"},
      {"host:", PortZero::kAllowed, std::nullopt, "from 0 to 65535"},
      {"host:65536", PortZero::kRefused, std::nullopt, "\"host:65536\": the port must be"},
      {"host:99999999999", PortZero::kRefused, std::nullopt, "from 1 to 65535"},
      {"host:-1", PortZero::kAllowed, std::nullopt, "the port must be"},
      {"host:+25", PortZero::kRefused, std::nullopt, "the port must be"},
      {"host:25x", PortZero::kRefused, std::nullopt, "the port must be"},
      {"host: 25", PortZero::kRefused, std::nullopt, "the port must be"},
      {"::1:25", PortZero::kRefused, std::nullopt, "[address]:port"},
      {"[::1]25", PortZero::kRefused, std::nullopt, "must be [address]:port"},
      {"[::1:25", PortZero::kRefused, std::nullopt, "must be [address]:port"},
      {"[::1]", PortZero::kRefused, std::nullopt, "must be [address]:port"},
  };
  for (const HostPortCase& c : cases) {
    auto got = ParseHostPort(c.text, c.port_zero);
    if (c.want) {
      ASSERT_TRUE(got.has_value()) << c.text << ": " << got.error().message;
      EXPECT_EQ(got->host, c.want->host) << c.text;
      EXPECT_EQ(got->port, c.want->port) << c.text;
    } else {
      ASSERT_FALSE(got.has_value()) << c.text;
      EXPECT_EQ(got.error().code, ErrorCode::kInvalidInput) << c.text;
      EXPECT_NE(got.error().message.find(c.error), std::string::npos)
          << c.text << ": " << got.error().message;
    }
  }
}

TEST(FormatHostPortTest, BracketsIpv6AndReadsBack) {
  EXPECT_EQ(FormatHostPort("127.0.0.1", 8025), "127.0.0.1:8025");
  EXPECT_EQ(FormatHostPort("mx.example.com", 25), "mx.example.com:25");
  EXPECT_EQ(FormatHostPort("::1", 2587), "[::1]:2587");
  for (const auto& [host, port] : {std::pair{"::", 0}, std::pair{"10.0.0.1", 65535}}) {
    auto back = ParseHostPort(FormatHostPort(host, port), PortZero::kAllowed);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->host, host);
    EXPECT_EQ(back->port, port);
  }
}

}  // namespace
}  // namespace mailwarden
