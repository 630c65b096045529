// The HTTP listener (Boost.Beast): parses requests with bounds, hands them to a handler
// coroutine, writes its response. Keep-alive, HTTP/1.1. The API, the panel's assets and
// /metrics are all served through one handler.
//
// Hostile clients (docs/security.md): every local user reaches the listener. It serves at most
// HttpLimits::max_connections at once, and max_connections_per_client of one client (its
// address; on loopback the local user owning its socket, smtp/loopback_peer.h); a connection
// past either is answered 503 or 429 at once, without a byte of it being read, and closed. A
// request's header is read first (at most max_header_bytes) and shown to the admission hook,
// which checks the token: a request refused there is answered without its body being read.
// Only an admitted request's body is read, up to the limit its route gives. Reading a request
// (header and body) takes at most request_timeout; a keep-alive connection waits at most
// idle_timeout for its next request.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>

#include "http/http_types.h"

namespace mailwarden {

using HttpHandler = std::function<boost::asio::awaitable<HttpResponse>(HttpRequest)>;

// What the routes say of a request whose header announces a body, before the body is read.
struct HttpAdmission {
  // Set: the answer (e.g. 401 without a valid token); the body is never read and the
  // connection is closed after the answer.
  std::optional<HttpResponse> refusal;
  // The most the body may hold; a larger one is answered 413 without being read.
  std::size_t max_body_bytes = 0;
};
// Called with the request as its header tells it (body empty), only for requests that
// announce a body. Unset: every body may hold kDefaultMaxBodyBytes.
using HttpAdmit = std::function<boost::asio::awaitable<HttpAdmission>(const HttpRequest& head)>;

inline constexpr std::size_t kDefaultMaxBodyBytes = 64 * 1024;

struct HttpLimits {
  std::size_t max_connections = 256;            // served at once; more are told 503 at once
  std::size_t max_connections_per_client = 32;  // of one client; more are told 429 at once
  std::size_t max_header_bytes = 16 * 1024;     // request line and header fields; then 431
  // From a request's first byte to its last (header and body); then the connection is closed.
  std::chrono::milliseconds request_timeout = std::chrono::seconds(30);
  // How long a connection waits for a request (its first byte), the first or the next one.
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(15);
};

class HttpServer {
 public:
  HttpServer(boost::asio::any_io_executor ex, HttpHandler handler, HttpAdmit admit = {},
             HttpLimits limits = {});

  // Binds "host:port" or "[v6 address]:port" (core/host_port.h; the host an IP address; port
  // 0: the OS picks, port() tells which). Fails with kInvalidInput for a malformed address and
  // kUnavailable when it cannot be bound; the sentence starts "http.listen" and quotes it.
  Result<void> Listen(const std::string& host_port);
  unsigned short port() const;
  // The address bound, "address:port" or "[v6 address]:port"; empty before Listen.
  std::string local_address() const;

  boost::asio::awaitable<void> Run();
  void Close();

  // Connections served now (for tests and the metrics).
  std::size_t connections() const { return connections_; }

 private:
  boost::asio::awaitable<void> Serve(boost::asio::ip::tcp::socket socket, std::string client);
  // The client's key (loopback_peer.h's ClientKey) if the connection may be served now, its
  // place taken; else nullopt, the connection answered (503 or 429) and closed, unread.
  std::optional<std::string> Admit(boost::asio::ip::tcp::socket& socket);
  void EndConnection(const std::string& client);

  boost::asio::any_io_executor ex_;
  HttpHandler handler_;
  HttpAdmit admit_;
  HttpLimits limits_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::size_t connections_ = 0;
  std::unordered_map<std::string, std::size_t> client_connections_;  // busy clients only
};

// Splits and percent-decodes a request target into path, segments and query. Fails on a
// malformed escape or a NUL.
Result<HttpRequest> ParseTarget(std::string_view target);

}  // namespace mailwarden
