#include "http/http_server.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <string>

namespace mailwarden {
namespace {

TEST(ParseTarget, SplitsPathAndQuery) {
  auto r = ParseTarget("/api/v1/accounts/demo/email/errors?since=2026-11-01&limit=20");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->path, "/api/v1/accounts/demo/email/errors");
  EXPECT_EQ(r->segments,
            (std::vector<std::string>{"api", "v1", "accounts", "demo", "email", "errors"}));
  EXPECT_EQ(r->query.at("since"), "2026-11-01");
  EXPECT_EQ(r->query.at("limit"), "20");
}

TEST(ParseTarget, DecodesEscapes) {
  auto r = ParseTarget("/a%2Fb/c?q=hello+world%21&x=");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->segments, (std::vector<std::string>{"a/b", "c"}));
  EXPECT_EQ(r->query.at("q"), "hello world!");
  EXPECT_EQ(r->query.at("x"), "");
}

TEST(ParseTarget, RefusesMalformedTargets) {
  for (std::string_view bad : {"", "relative", "/a%2", "/a%zz", "/a%00b", "/x?q=%4", "/x?q=%00"}) {
    EXPECT_FALSE(ParseTarget(bad).has_value()) << bad;
  }
}

// Every JSON answer is total: raw 8-bit text (Latin-1, not UTF-8) in a list becomes U+FFFD
// instead of an exception, so such a value cannot make a list answer 500 and hide the rest.
TEST(HttpResponseJson, AnswersTextThatIsNotUtf8) {
  const nlohmann::json items = {{{"to", {"caf\xe9\xff@example.net"}}, {"subject", "\xff"}}};
  const HttpResponse r = HttpResponse::Json(200, {{"items", items}, {"next", nullptr}});
  EXPECT_EQ(r.status, 200);
  const auto parsed = nlohmann::json::parse(r.body);
  EXPECT_EQ(parsed["items"][0]["to"][0], "caf\uFFFD\uFFFD@example.net");
  EXPECT_EQ(parsed["items"][0]["subject"], "\uFFFD");
}

// The address logged is the one bound: its port is the one the OS picked for port 0.
TEST(HttpServerListen, ReportsTheAddressBound) {
  boost::asio::io_context io;
  HttpServer server(io.get_executor(), [](HttpRequest) -> boost::asio::awaitable<HttpResponse> {
    co_return HttpResponse{};
  });
  ASSERT_TRUE(server.Listen("127.0.0.1:0").has_value());
  EXPECT_NE(server.port(), 0);
  EXPECT_EQ(server.local_address(), "127.0.0.1:" + std::to_string(server.port()));
}

TEST(HttpServerListen, RefusesBadAddressesByName) {
  struct Case {
    std::string address;
    std::string error;
  };
  const Case cases[] = {
      {"127.0.0.1", "http.listen: \"127.0.0.1\" must be host:port"},
      {"127.0.0.1:80x", "http.listen: \"127.0.0.1:80x\": the port must be a number"},
      {"127.0.0.1:70000", "http.listen: \"127.0.0.1:70000\": the port must be a number"},
      {"localhost:0", "http.listen: \"localhost\" is not an IP address"},
  };
  for (const Case& c : cases) {
    boost::asio::io_context io;
    HttpServer server(io.get_executor(), [](HttpRequest) -> boost::asio::awaitable<HttpResponse> {
      co_return HttpResponse{};
    });
    auto r = server.Listen(c.address);
    ASSERT_FALSE(r.has_value()) << c.address;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
    EXPECT_NE(r.error().message.find(c.error), std::string::npos) << r.error().message;
  }
}

}  // namespace
}  // namespace mailwarden
