#include "http/api_client.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <thread>

#include "http/http_server.h"

namespace mailwarden {
namespace {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// The real HttpServer on a port of the OS's choosing, on a thread of its own.
class TestServer {
 public:
  explicit TestServer(HttpHandler handler)
      : server_(ioc_.get_executor(), std::move(handler)), work_(asio::make_work_guard(ioc_)) {
    EXPECT_TRUE(server_.Listen("127.0.0.1:0").has_value());
    asio::co_spawn(ioc_, server_.Run(), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~TestServer() {
    asio::post(ioc_, [this] { server_.Close(); });
    work_.reset();
    ioc_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }

 private:
  asio::io_context ioc_;
  HttpServer server_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
};

ApiClient Client(std::string url, std::chrono::milliseconds timeout = std::chrono::seconds(30),
                 std::size_t max_bytes = 1 << 20) {
  auto c = ApiClient::Create({std::move(url), "secret-token", timeout, max_bytes});
  EXPECT_TRUE(c.has_value());
  return std::move(*c);
}

TEST(ApiClient, SendsMethodTargetTokenAndBody) {
  HttpRequest seen;
  TestServer server([&](HttpRequest r) -> asio::awaitable<HttpResponse> {
    seen = r;
    co_return HttpResponse::Json(201, {{"ok", true}});
  });
  auto r = Client(server.url())
               .Request("POST", "/api/v1/accounts/demo/email/request?x=1",
                        nlohmann::json{{"action", "BLOCK"}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->json["ok"], true);
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.segments.back(), "request");
  EXPECT_EQ(seen.query["x"], "1");
  EXPECT_EQ(seen.bearer_token, "secret-token");
  EXPECT_EQ(nlohmann::json::parse(seen.body)["action"], "BLOCK");
}

TEST(ApiClient, ErrorStatusIsAResponseWithTheApiMessage) {
  TestServer server([](HttpRequest) -> asio::awaitable<HttpResponse> {
    co_return HttpResponse::ErrorWith(409, "conflict", "Block sending first.");
  });
  auto r = Client(server.url()).Request("GET", "/x");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 409);
  EXPECT_EQ(ApiErrorMessage(*r), "Block sending first.");
}

TEST(ApiClient, NonJsonSuccessIsAnError) {
  TestServer server([](HttpRequest) -> asio::awaitable<HttpResponse> {
    HttpResponse r;
    r.content_type = "text/html";
    r.body = "<html>";
    co_return r;
  });
  auto r = Client(server.url()).Request("GET", "/");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInternal);
}

TEST(ApiClient, ResponseOverTheBoundIsRefused) {
  TestServer server([](HttpRequest) -> asio::awaitable<HttpResponse> {
    co_return HttpResponse::Json(200, {{"big", std::string(10000, 'x')}});
  });
  auto r = Client(server.url(), std::chrono::seconds(5), 1000).Request("GET", "/");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kTooLarge);
}

TEST(ApiClient, NothingListeningIsUnavailable) {
  asio::io_context ioc;
  tcp::acceptor probe(ioc, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  const auto port = probe.local_endpoint().port();
  probe.close();
  auto r = Client("127.0.0.1:" + std::to_string(port)).Request("GET", "/api/v1/accounts");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("is mailwardend running?"), std::string::npos)
      << r.error().message;
}

TEST(ApiClient, SilentServerTimesOut) {
  asio::io_context ioc;
  tcp::acceptor listener(ioc, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  // Accepted by the kernel's backlog, never answered.
  const auto port = listener.local_endpoint().port();
  const auto start = std::chrono::steady_clock::now();
  auto r = Client("127.0.0.1:" + std::to_string(port), std::chrono::milliseconds(300))
               .Request("GET", "/");
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("300ms"), std::string::npos) << r.error().message;
  EXPECT_LT(took, std::chrono::seconds(10));
}

TEST(ApiClient, ParsesUrls) {
  struct Case {
    std::string url;
    std::string base;
  };
  for (const Case& c : std::vector<Case>{
           {"127.0.0.1:8025", "http://127.0.0.1:8025"},
           {"http://127.0.0.1:8025/", "http://127.0.0.1:8025"},
           {"http://localhost:9/mw/", "http://localhost:9/mw"},
           {"0.0.0.0:8025", "http://127.0.0.1:8025"},
           {"[::]:8025", "http://[::1]:8025"},
           {"http://[::1]:8025", "http://[::1]:8025"},
           {"http://example.org", "http://example.org:80"},
       }) {
    auto client = ApiClient::Create({c.url, ""});
    ASSERT_TRUE(client.has_value()) << c.url;
    EXPECT_EQ(client->base_url(), c.base) << c.url;
  }
  for (std::string bad :
       {"", "https://127.0.0.1:8025", "127.0.0.1:", "127.0.0.1:99999", "[::1:8025", "host:port"}) {
    EXPECT_FALSE(ApiClient::Create({bad, ""}).has_value()) << bad;
  }
}

TEST(ApiClient, EncodesPathsAndQueries) {
  EXPECT_EQ(PercentEncode("demo"), "demo");
  EXPECT_EQ(PercentEncode("a b/c?&=%"), "a%20b%2Fc%3F%26%3D%25");
  EXPECT_EQ(WithQuery("/p", {{"limit", "5"}, {"status", ""}}), "/p?limit=5");
  EXPECT_EQ(WithQuery("/p", {{"a", "x y"}, {"b", "2"}}), "/p?a=x%20y&b=2");
  EXPECT_EQ(WithQuery("/p", {}), "/p");
}

}  // namespace
}  // namespace mailwarden
