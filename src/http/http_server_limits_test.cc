// The HTTP listener against hostile local users: connections in total and per client, what is
// read before the token is checked, and how long a request or an idle connection may take.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "http/http_server.h"

namespace mailwarden {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

constexpr std::string_view kToken = "let-me-in";

class HttpServerLimitsTest : public ::testing::Test {
 protected:
  static HttpLimits Limits() {
    HttpLimits limits;
    limits.max_connections = 100;
    limits.max_connections_per_client = 100;
    limits.request_timeout = std::chrono::seconds(20);
    limits.idle_timeout = std::chrono::seconds(20);
    return limits;
  }

  // Answers 200 with the body's size; bodies need the token (401 without), up to 1 KiB.
  void Start(HttpLimits limits = Limits()) {
    server_ = std::make_unique<HttpServer>(
        io_.get_executor(),
        [this](HttpRequest request) -> asio::awaitable<HttpResponse> {
          ++handled_;
          co_return HttpResponse::Json(200, {{"body_bytes", request.body.size()}});
        },
        [this](const HttpRequest& head) -> asio::awaitable<HttpAdmission> {
          ++admissions_;
          HttpAdmission admission;
          admission.max_body_bytes = 1024;
          if (head.bearer_token != kToken) {
            admission.refusal = HttpResponse::ErrorWith(401, "unauthenticated", "Sign in.");
          }
          co_return admission;
        },
        limits);
    ASSERT_TRUE(server_->Listen("127.0.0.1:0").has_value());
    port_ = server_->port();
    asio::co_spawn(io_, server_->Run(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    if (thread_.joinable()) {
      asio::post(io_, [this] {
        server_->Close();
        io_.stop();
      });
      thread_.join();
    }
  }

  // A client connection whose reads give up after 10 s, so that no test hangs.
  std::unique_ptr<tcp::socket> Connect() {
    auto socket = std::make_unique<tcp::socket>(client_io_);
    socket->connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
    timeval tv{10, 0};
    setsockopt(socket->native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return socket;
  }

  static void Send(tcp::socket& socket, std::string_view text) {
    asio::write(socket, asio::buffer(text));
  }

  // One answer: its header and the body its Content-Length says.
  static std::string ReadAnswer(tcp::socket& socket) {
    std::string in;
    char buf[4096];
    boost::system::error_code ec;
    for (;;) {
      const auto end = in.find("\r\n\r\n");
      if (end != std::string::npos) {
        const auto at = in.find("Content-Length: ");
        const std::size_t length = at == std::string::npos ? 0 : std::stoul(in.substr(at + 16, 12));
        if (in.size() >= end + 4 + length) return in.substr(0, end + 4 + length);
      }
      const std::size_t n = socket.read_some(asio::buffer(buf), ec);
      if (ec) return in;
      in.append(buf, n);
    }
  }

  // True if the server closed the connection (end of file or reset) before 10 s.
  static bool ClosedByServer(tcp::socket& socket) {
    char c;
    boost::system::error_code ec;
    socket.read_some(asio::buffer(&c, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

  static std::string Get() { return "GET /x HTTP/1.1\r\nHost: t\r\n\r\n"; }

  std::size_t ServerConnections() {
    std::promise<std::size_t> p;
    asio::post(io_, [&] { p.set_value(server_->connections()); });
    return p.get_future().get();
  }

  // Runs python3 code as another local user (uid 4999); argv[1] is the port.
  std::string PythonAsOtherUser(const std::string& code) {
    const std::string command =
        "setpriv --reuid=4999 --regid=4999 --clear-groups /usr/bin/python3 -c '" + code + "' " +
        std::to_string(port_) + " 2>&1";
    std::string out;
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return out;
    char buf[4096];
    std::size_t n;
    while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
    pclose(pipe);
    return out;
  }

  asio::io_context io_;
  asio::io_context client_io_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  unsigned short port_ = 0;
  std::atomic<int> handled_{0};
  std::atomic<int> admissions_{0};
};

// N connections held open: the next one is answered 503 at once, unread, and closed; once one
// of the N is gone, a new one is served.
TEST_F(HttpServerLimitsTest, ConnectionPastTheCapIsAnswered503AndClosed) {
  auto limits = Limits();
  limits.max_connections = 2;
  Start(limits);
  auto a = Connect();
  auto b = Connect();
  for (auto* held : {a.get(), b.get()}) {
    Send(*held, Get());
    EXPECT_EQ(ReadAnswer(*held).substr(0, 12), "HTTP/1.1 200");
  }
  auto third = Connect();
  const std::string refused = ReadAnswer(*third);
  EXPECT_EQ(refused.substr(0, 12), "HTTP/1.1 503") << refused;
  EXPECT_NE(refused.find("\"busy\""), std::string::npos) << refused;
  EXPECT_TRUE(ClosedByServer(*third));
  EXPECT_EQ(handled_, 2);

  a->close();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (ServerConnections() != 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(ServerConnections(), 1u) << "the closed connection's slot, given back in 30 s";
  auto next = Connect();
  Send(*next, Get());
  EXPECT_EQ(ReadAnswer(*next).substr(0, 12), "HTTP/1.1 200");
}

// On loopback every script connects from 127.0.0.1: the client is the local user owning the
// socket. This user's third connection is refused (429) while another user is served.
TEST_F(HttpServerLimitsTest, ClientPastItsShareIsAnswered429WhileAnotherIsServed) {
  if (getuid() != 0) GTEST_SKIP() << "needs root to connect as another uid";
  auto limits = Limits();
  limits.max_connections_per_client = 2;
  Start(limits);
  auto a = Connect();
  auto b = Connect();
  for (auto* held : {a.get(), b.get()}) {
    Send(*held, Get());
    EXPECT_EQ(ReadAnswer(*held).substr(0, 12), "HTTP/1.1 200");
  }
  auto third = Connect();
  const std::string refused = ReadAnswer(*third);
  EXPECT_EQ(refused.substr(0, 12), "HTTP/1.1 429") << refused;
  EXPECT_TRUE(ClosedByServer(*third));
  const std::string other = PythonAsOtherUser(
      "import socket, sys\n"
      "s = socket.create_connection((\"127.0.0.1\", int(sys.argv[1])), timeout=10)\n"
      "s.sendall(b\"GET /x HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n\")\n"
      "print(s.recv(12).decode())\n");
  EXPECT_EQ(other, "HTTP/1.1 200\n");
}

// A request without a token that announces 1 MiB of body is answered 401 having sent its
// header only: the body is never asked for, and the connection is closed after the answer.
TEST_F(HttpServerLimitsTest, UnauthenticatedBodyIsAnswered401BeforeItIsSent) {
  Start();
  auto c = Connect();
  Send(*c,
       "POST /api/v1/x HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
       "Content-Length: 1048576\r\n\r\n");
  const std::string answer = ReadAnswer(*c);
  EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 401") << answer;
  EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;
  EXPECT_TRUE(ClosedByServer(*c));
  EXPECT_EQ(admissions_, 1);
  EXPECT_EQ(handled_, 0);
}

// With the token, a body over the route's limit is refused (413) unread; one within it is
// read and handed on, and the connection stays open for the next request.
TEST_F(HttpServerLimitsTest, AdmittedBodiesAreReadUpToTheRoutesLimit) {
  Start();
  auto big = Connect();
  Send(*big, "POST /x HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + std::string(kToken) +
                 "\r\nContent-Length: 2000\r\n\r\n");
  EXPECT_EQ(ReadAnswer(*big).substr(0, 12), "HTTP/1.1 413");
  EXPECT_TRUE(ClosedByServer(*big));

  auto chunked = Connect();
  Send(*chunked, "POST /x HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + std::string(kToken) +
                     "\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" + std::string(0x800, 'x') +
                     "\r\n0\r\n\r\n");
  EXPECT_EQ(ReadAnswer(*chunked).substr(0, 12), "HTTP/1.1 413");

  auto fits = Connect();
  const std::string body(1000, 'x');
  Send(*fits, "POST /x HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + std::string(kToken) +
                  "\r\nContent-Length: 1000\r\n\r\n" + body);
  const std::string answer = ReadAnswer(*fits);
  EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 200") << answer;
  EXPECT_NE(answer.find("{\"body_bytes\":1000}"), std::string::npos) << answer;
  Send(*fits, Get());
  EXPECT_EQ(ReadAnswer(*fits).substr(0, 12), "HTTP/1.1 200");
  EXPECT_EQ(handled_, 2);
}

TEST_F(HttpServerLimitsTest, HeaderPastItsLimitIsAnswered431) {
  auto limits = Limits();
  limits.max_header_bytes = 2048;
  Start(limits);
  auto c = Connect();
  Send(*c, "GET /x HTTP/1.1\r\nHost: t\r\nX-Filler: " + std::string(4000, 'f') + "\r\n\r\n");
  EXPECT_EQ(ReadAnswer(*c).substr(0, 12), "HTTP/1.1 431");
  EXPECT_TRUE(ClosedByServer(*c));
  EXPECT_EQ(handled_, 0);
}

// A client that trickles its request is closed at request_timeout; one that says nothing, or
// nothing more after an answer, at idle_timeout.
TEST_F(HttpServerLimitsTest, SlowRequestsAndIdleConnectionsAreClosed) {
  auto limits = Limits();
  // Long enough that `kept` (connected, then asking at once) is not closed first on a loaded
  // machine.
  limits.request_timeout = std::chrono::milliseconds(1000);
  limits.idle_timeout = std::chrono::milliseconds(1000);
  Start(limits);
  auto silent = Connect();
  auto trickling = Connect();
  Send(*trickling, "GET /x HTTP/1.1\r\nHo");
  auto kept = Connect();
  Send(*kept, Get());
  EXPECT_EQ(ReadAnswer(*kept).substr(0, 12), "HTTP/1.1 200");
  EXPECT_TRUE(ClosedByServer(*silent));
  EXPECT_TRUE(ClosedByServer(*trickling));
  EXPECT_TRUE(ClosedByServer(*kept));
  EXPECT_EQ(handled_, 1);
}

}  // namespace
}  // namespace mailwarden
