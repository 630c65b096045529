#include "http/http_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/host_port.h"

namespace mailwarden {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t kMaxBodyBytes = 1024 * 1024;
constexpr std::size_t kMaxHeaderBytes = 16 * 1024;
constexpr auto kIdleTimeout = std::chrono::seconds(60);

std::optional<std::string> PercentDecode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      auto hex = [](char h) -> int {
        if (h >= '0' && h <= '9') return h - '0';
        if (h >= 'a' && h <= 'f') return h - 'a' + 10;
        if (h >= 'A' && h <= 'F') return h - 'A' + 10;
        return -1;
      };
      int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    if (c == '\0') return std::nullopt;
    out.push_back(c);
  }
  return out;
}

}  // namespace

Result<HttpRequest> ParseTarget(std::string_view target) {
  HttpRequest r;
  auto q = target.find('?');
  std::string_view path = target.substr(0, q);
  auto decoded_path = PercentDecode(path, false);
  if (!decoded_path || path.empty() || path.front() != '/') {
    return Fail(ErrorCode::kInvalidInput, "The request path is not valid.");
  }
  r.path = std::string(path);
  std::string_view rest = path.substr(1);
  while (!rest.empty()) {
    auto slash = rest.find('/');
    auto seg = PercentDecode(rest.substr(0, slash), false);
    if (!seg) return Fail(ErrorCode::kInvalidInput, "The request path is not valid.");
    r.segments.push_back(*seg);
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  if (q != std::string_view::npos) {
    std::string_view query = target.substr(q + 1);
    while (!query.empty()) {
      auto amp = query.find('&');
      std::string_view pair = query.substr(0, amp);
      auto eq = pair.find('=');
      auto key = PercentDecode(pair.substr(0, eq), true);
      auto value = PercentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
      if (!key || !value) return Fail(ErrorCode::kInvalidInput, "The query string is not valid.");
      if (!key->empty()) r.query[*key] = *value;
      if (amp == std::string_view::npos) break;
      query.remove_prefix(amp + 1);
    }
  }
  return r;
}

HttpServer::HttpServer(asio::any_io_executor ex, HttpHandler handler)
    : ex_(ex), handler_(std::move(handler)), acceptor_(ex) {}

Result<void> HttpServer::Listen(const std::string& host_port) {
  auto parsed = ParseHostPort(host_port, PortZero::kAllowed);
  if (!parsed) return Fail(ErrorCode::kInvalidInput, "http.listen: " + parsed.error().message);
  boost::system::error_code ec;
  auto address = asio::ip::make_address(parsed->host, ec);
  if (ec) {
    return Fail(ErrorCode::kInvalidInput,
                "http.listen: \"" + parsed->host + "\" is not an IP address");
  }
  const tcp::endpoint endpoint(address, parsed->port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Fail(ErrorCode::kUnavailable, "http.listen " + host_port + ": " + ec.message());
  return {};
}

unsigned short HttpServer::port() const { return acceptor_.local_endpoint().port(); }

std::string HttpServer::local_address() const {
  boost::system::error_code ec;
  const tcp::endpoint endpoint = acceptor_.local_endpoint(ec);
  return ec ? std::string() : FormatHostPort(endpoint.address().to_string(), endpoint.port());
}

void HttpServer::Close() {
  boost::system::error_code ec;
  acceptor_.close(ec);
}

asio::awaitable<void> HttpServer::Run() {
  for (;;) {
    boost::system::error_code ec;
    tcp::socket socket =
        co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
    if (ec) continue;
    asio::co_spawn(ex_, Serve(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> HttpServer::Serve(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  boost::system::error_code ec;
  const bool loopback = stream.socket().remote_endpoint(ec).address().is_loopback();
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(kMaxBodyBytes);
    parser.header_limit(kMaxHeaderBytes);
    stream.expires_after(kIdleTimeout);
    co_await bhttp::async_read(stream, buffer, parser,
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout) break;
    HttpResponse response;
    bool keep_alive = false;
    unsigned version = 11;
    if (ec == bhttp::error::body_limit) {
      response = HttpResponse::ErrorWith(413, "too_large", "The request body is too large.");
    } else if (ec) {
      break;
    } else {
      auto& req = parser.get();
      keep_alive = req.keep_alive();
      version = req.version();
      auto parsed = ParseTarget(std::string_view(req.target().data(), req.target().size()));
      if (!parsed) {
        response = HttpResponse::FromError(parsed.error());
      } else {
        parsed->method = std::string(req.method_string());
        parsed->body = std::move(req.body());
        parsed->from_loopback = loopback;
        auto auth = req[bhttp::field::authorization];
        constexpr std::string_view kBearer = "Bearer ";
        if (auth.size() > kBearer.size() &&
            beast::iequals(auth.substr(0, kBearer.size()), kBearer)) {
          parsed->bearer_token = std::string(auth.substr(kBearer.size()));
        }
        try {
          response = co_await handler_(std::move(*parsed));
        } catch (const std::exception& e) {
          spdlog::error("http: {} {}: {}", std::string(req.method_string()),
                        std::string(req.target()), e.what());
          response = HttpResponse::FromError({ErrorCode::kInternal, e.what()});
        }
      }
    }
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(response.status), version};
    res.set(bhttp::field::server, "mailwarden");
    res.set(bhttp::field::content_type, response.content_type);
    res.set(bhttp::field::cache_control, "no-store");
    res.set("X-Content-Type-Options", "nosniff");
    for (const auto& [k, v] : response.headers) res.set(k, v);
    res.keep_alive(keep_alive);
    res.body() = std::move(response.body);
    res.prepare_payload();
    co_await bhttp::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !keep_alive) break;
  }
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

}  // namespace mailwarden
