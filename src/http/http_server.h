// The HTTP listener (Boost.Beast): parses requests with bounds, hands them to a handler
// coroutine, writes its response. Keep-alive, HTTP/1.1. The API, the panel's assets and
// /metrics are all served through one handler.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <string>

#include "http/http_types.h"

namespace mailwarden {

using HttpHandler = std::function<boost::asio::awaitable<HttpResponse>(HttpRequest)>;

class HttpServer {
 public:
  HttpServer(boost::asio::any_io_executor ex, HttpHandler handler);

  // Binds "host:port" or "[v6 address]:port" (core/host_port.h; the host an IP address; port
  // 0: the OS picks, port() tells which). Fails with kInvalidInput for a malformed address and
  // kUnavailable when it cannot be bound; the sentence starts "http.listen" and quotes it.
  Result<void> Listen(const std::string& host_port);
  unsigned short port() const;
  // The address bound, "address:port" or "[v6 address]:port"; empty before Listen.
  std::string local_address() const;

  boost::asio::awaitable<void> Run();
  void Close();

 private:
  boost::asio::awaitable<void> Serve(boost::asio::ip::tcp::socket socket);

  boost::asio::any_io_executor ex_;
  HttpHandler handler_;
  boost::asio::ip::tcp::acceptor acceptor_;
};

// Splits and percent-decodes a request target into path, segments and query. Fails on a
// malformed escape or a NUL.
Result<HttpRequest> ParseTarget(std::string_view target);

}  // namespace mailwarden
