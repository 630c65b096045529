#include "http/http_server.h"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <sstream>

#include "core/host_port.h"
#include "smtp/loopback_peer.h"

namespace mailwarden {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

namespace {

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

HttpServer::HttpServer(asio::any_io_executor ex, HttpHandler handler, HttpAdmit admit,
                       HttpLimits limits)
    : ex_(ex),
      handler_(std::move(handler)),
      admit_(std::move(admit)),
      limits_(limits),
      acceptor_(ex) {}

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
    std::optional<std::string> client = Admit(socket);
    if (!client) continue;
    asio::co_spawn(ex_, Serve(std::move(socket), std::move(*client)), asio::detached);
  }
}

namespace {

// Answers a connection that is not served, without reading anything of it, and closes it:
// the answer fits in the new socket's empty send buffer, so one non-blocking write takes it
// (or the client gets the close alone).
void RefuseUnread(tcp::socket& socket, HttpResponse refusal) {
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(refusal.status), 11};
  res.set(bhttp::field::content_type, refusal.content_type);
  res.set(bhttp::field::retry_after, "1");
  res.keep_alive(false);
  res.body() = std::move(refusal.body);
  res.prepare_payload();
  std::ostringstream text;
  text << res;
  boost::system::error_code ec;
  socket.non_blocking(true, ec);
  if (!ec) asio::write(socket, asio::buffer(text.str()), ec);
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

}  // namespace

std::optional<std::string> HttpServer::Admit(tcp::socket& socket) {
  boost::system::error_code ec;
  const tcp::endpoint remote = socket.remote_endpoint(ec);
  const tcp::endpoint local = ec ? tcp::endpoint() : socket.local_endpoint(ec);
  if (ec) return std::nullopt;  // gone already
  // The total first: a flood past it costs no look into the kernel's socket tables.
  if (connections_ >= limits_.max_connections) {
    spdlog::warn(
        "http: ip={} result=refused reason=\"too many connections (http.max_connections)\"",
        remote.address().to_string());
    RefuseUnread(socket,
                 HttpResponse::ErrorWith(503, "busy", "Too many connections; try again later."));
    return std::nullopt;
  }
  std::string client = ClientKey(remote, local);
  std::size_t& of_client = client_connections_[client];
  if (of_client >= limits_.max_connections_per_client) {
    spdlog::warn(
        "http: ip={} client=\"{}\" result=refused reason=\"too many connections of this "
        "client (http.max_connections_per_client)\"",
        remote.address().to_string(), client);
    RefuseUnread(socket,
                 HttpResponse::ErrorWith(429, "too_many_connections",
                                         "Too many connections from you; try again later."));
    return std::nullopt;
  }
  ++of_client;
  ++connections_;
  return client;
}

void HttpServer::EndConnection(const std::string& client) {
  --connections_;
  auto it = client_connections_.find(client);
  if (it != client_connections_.end() && --it->second == 0) client_connections_.erase(it);
}

namespace {

// A response as it goes on the wire.
bhttp::response<bhttp::string_body> WireResponse(HttpResponse response, unsigned version,
                                                 bool keep_alive) {
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(response.status), version};
  res.set(bhttp::field::server, "mailwarden");
  res.set(bhttp::field::content_type, response.content_type);
  res.set(bhttp::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  for (const auto& [k, v] : response.headers) res.set(k, v);
  res.keep_alive(keep_alive);
  res.body() = std::move(response.body);
  res.prepare_payload();
  return res;
}

// After an answer to a request whose body is left unread: the answer is followed by our FIN,
// and what the client still sends is discarded, for 2 seconds at most, before the socket is
// closed. Closed at once, the unread bytes would make the kernel reset the connection, and a
// client busy sending its body could lose the answer (nginx's lingering close). Nothing of it
// is kept.
asio::awaitable<void> Linger(beast::tcp_stream& stream) {
  constexpr auto kLingerTime = std::chrono::seconds(2);
  boost::system::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.expires_after(kLingerTime);
  std::array<char, 16 * 1024> scratch;
  while (!ec) {
    co_await stream.async_read_some(asio::buffer(scratch),
                                    asio::redirect_error(asio::use_awaitable, ec));
  }
}

}  // namespace

asio::awaitable<void> HttpServer::Serve(tcp::socket socket, std::string client) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  boost::system::error_code ec;
  const bool loopback = stream.socket().remote_endpoint(ec).address().is_loopback();
  auto redirect = asio::redirect_error(asio::use_awaitable, ec);
  for (;;) {
    // Waiting for a request: its first byte within the idle timeout.
    if (buffer.size() == 0) {
      stream.expires_after(limits_.idle_timeout);
      const std::size_t n = co_await stream.async_read_some(buffer.prepare(4096), redirect);
      if (ec) break;
      buffer.commit(n);
    }
    // The request, header and body, within the request timeout from its first byte.
    stream.expires_after(limits_.request_timeout);
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
    parser.body_limit(boost::none);  // the route's limit, checked once the header is known
    co_await bhttp::async_read_header(stream, buffer, parser, redirect);
    std::optional<HttpResponse> response;
    bool keep_alive = false;
    bool body_unread = false;  // the answer is given without reading the body
    unsigned version = 11;
    if (ec == bhttp::error::header_limit) {
      response = HttpResponse::ErrorWith(431, "header_too_large",
                                         "The request's header fields are too large.");
      body_unread = true;
    } else if (ec) {
      break;
    } else {
      auto& req = parser.get();
      keep_alive = req.keep_alive();
      version = req.version();
      const bool has_body = parser.chunked() || parser.content_length().value_or(0) > 0;
      auto parsed = ParseTarget(std::string_view(req.target().data(), req.target().size()));
      if (!parsed) {
        response = HttpResponse::FromError(parsed.error());
        body_unread = has_body;
      } else {
        parsed->method = std::string(req.method_string());
        parsed->from_loopback = loopback;
        auto auth = req[bhttp::field::authorization];
        constexpr std::string_view kBearer = "Bearer ";
        if (auth.size() > kBearer.size() &&
            beast::iequals(auth.substr(0, kBearer.size()), kBearer)) {
          parsed->bearer_token = std::string(auth.substr(kBearer.size()));
        }
        if (has_body) {
          // The token is checked before the body is read: a client without one is answered
          // having sent its header only.
          HttpAdmission admission{std::nullopt, kDefaultMaxBodyBytes};
          if (admit_) {
            try {
              admission = co_await admit_(*parsed);
            } catch (const std::exception& e) {
              spdlog::error("http: {} {}: {}", parsed->method, parsed->path, e.what());
              admission.refusal = HttpResponse::FromError({ErrorCode::kInternal, e.what()});
            }
          }
          if (admission.refusal) {
            response = std::move(admission.refusal);
            body_unread = true;
          } else if (parser.content_length().value_or(0) > admission.max_body_bytes) {
            response = HttpResponse::ErrorWith(413, "too_large", "The request body is too large.");
            body_unread = true;
          } else {
            parser.body_limit(admission.max_body_bytes);  // a chunked body counts as it comes
            if (beast::iequals(req[bhttp::field::expect], "100-continue")) {
              bhttp::response<bhttp::empty_body> go_on{bhttp::status::continue_, version};
              co_await bhttp::async_write(stream, go_on, redirect);
              if (ec) break;
            }
            co_await bhttp::async_read(stream, buffer, parser, redirect);
            if (ec == bhttp::error::body_limit) {
              response =
                  HttpResponse::ErrorWith(413, "too_large", "The request body is too large.");
              body_unread = true;
            } else if (ec) {
              break;
            }
            parsed->body = std::move(req.body());
          }
        }
        if (!response) {
          const std::string method = parsed->method;
          const std::string path = parsed->path;
          try {
            response = co_await handler_(std::move(*parsed));
          } catch (const std::exception& e) {
            spdlog::error("http: {} {}: {}", method, path, e.what());
            response = HttpResponse::FromError({ErrorCode::kInternal, e.what()});
          }
        }
      }
    }
    if (body_unread) keep_alive = false;
    auto res = WireResponse(std::move(*response), version, keep_alive);
    // A client that does not read its answer is dropped after the request timeout.
    stream.expires_after(limits_.request_timeout);
    co_await bhttp::async_write(stream, res, redirect);
    if (!ec && body_unread) co_await Linger(stream);
    if (ec || !keep_alive) break;
  }
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  EndConnection(client);
}

}  // namespace mailwarden
