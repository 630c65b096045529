#include "http/api_client.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <exception>

#include "core/host_port.h"

namespace mailwarden {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t kMaxHeaderBytes = 64 * 1024;

struct Exchange {
  std::string host;
  std::string port;
  std::string host_header;
  std::string base_url;
  std::string method;
  std::string target;
  std::string token;
  std::optional<std::string> body;
  std::chrono::milliseconds timeout;
  std::size_t max_response_bytes;
};

std::string Seconds(std::chrono::milliseconds d) {
  const auto ms = d.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

// One request on its own connection. Errors come back as values (redirect_error), never as
// Beast's exceptions.
asio::awaitable<Result<ApiResponse>> Perform(Exchange x) {
  auto ex = co_await asio::this_coro::executor;
  boost::system::error_code ec;
  tcp::resolver resolver(ex);
  auto endpoints = co_await resolver.async_resolve(x.host, x.port, tcp::resolver::numeric_service,
                                                   asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Fail(ErrorCode::kUnavailable, "cannot find " + x.host + ": " + ec.message());

  beast::tcp_stream stream(ex);
  // One deadline for connect, write and read together: the request's whole time.
  stream.expires_after(x.timeout);
  co_await stream.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec == beast::error::timeout) {
    co_return Fail(ErrorCode::kUnavailable, "cannot connect to " + x.base_url + " within " +
                                                Seconds(x.timeout) + ": is mailwardend running?");
  }
  if (ec) {
    co_return Fail(ErrorCode::kUnavailable, "cannot connect to " + x.base_url + ": " +
                                                ec.message() + ": is mailwardend running?");
  }

  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(x.method), x.target, 11};
  if (req.method() == bhttp::verb::unknown) req.method_string(x.method);
  req.set(bhttp::field::host, x.host_header);
  req.set(bhttp::field::user_agent, "mailwardenctl");
  req.set(bhttp::field::accept, "application/json");
  if (!x.token.empty()) req.set(bhttp::field::authorization, "Bearer " + x.token);
  if (x.body) {
    req.set(bhttp::field::content_type, "application/json");
    req.body() = std::move(*x.body);
  }
  req.keep_alive(false);
  req.prepare_payload();
  co_await bhttp::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
  if (ec == beast::error::timeout) {
    co_return Fail(ErrorCode::kUnavailable,
                   "no answer from " + x.base_url + " within " + Seconds(x.timeout));
  }
  if (ec) {
    co_return Fail(ErrorCode::kUnavailable,
                   "the connection to " + x.base_url + " broke: " + ec.message());
  }

  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.header_limit(kMaxHeaderBytes);
  parser.body_limit(x.max_response_bytes);
  co_await bhttp::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec == beast::error::timeout) {
    co_return Fail(ErrorCode::kUnavailable, "no answer from " + x.base_url + " within " +
                                                Seconds(x.timeout) +
                                                " (the request may have been carried out)");
  }
  if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit) {
    co_return Fail(ErrorCode::kTooLarge, "the answer of " + x.base_url + " is larger than " +
                                             std::to_string(x.max_response_bytes) + " bytes");
  }
  if (ec == bhttp::error::end_of_stream || ec == asio::error::connection_reset ||
      ec == asio::error::eof) {
    co_return Fail(ErrorCode::kUnavailable,
                   "the connection to " + x.base_url + " closed before an answer: " + ec.message());
  }
  if (ec) {
    co_return Fail(ErrorCode::kInternal, x.base_url + " did not answer in HTTP: " + ec.message());
  }
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);

  ApiResponse out;
  out.status = static_cast<int>(parser.get().result_int());
  out.body = std::move(parser.get().body());
  if (!out.body.empty()) {
    out.json = nlohmann::json::parse(out.body, nullptr, /*allow_exceptions=*/false);
    if (out.json.is_discarded()) {
      out.json = nullptr;
      if (out.status >= 200 && out.status < 300) {
        co_return Fail(ErrorCode::kInternal, x.base_url + x.target + " did not answer JSON");
      }
    }
  }
  co_return out;
}

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

}  // namespace

std::string PercentEncode(std::string_view text) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const unsigned char c : text) {
    if (IsUnreserved(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 0xf]);
    }
  }
  return out;
}

std::string WithQuery(std::string path, const std::map<std::string, std::string>& query) {
  char sep = '?';
  for (const auto& [key, value] : query) {
    if (value.empty()) continue;
    path += sep;
    path += PercentEncode(key);
    path += '=';
    path += PercentEncode(value);
    sep = '&';
  }
  return path;
}

std::string ApiErrorMessage(const ApiResponse& response) {
  if (response.json.is_object() && response.json.contains("message") &&
      response.json["message"].is_string()) {
    return response.json["message"].get<std::string>();
  }
  std::string reason(bhttp::obsolete_reason(static_cast<bhttp::status>(response.status)));
  return "the daemon answered HTTP " + std::to_string(response.status) +
         (reason.empty() || reason == "<unknown-status>" ? "" : " " + reason);
}

Result<ApiClient> ApiClient::Create(Options options) {
  std::string_view url = options.url;
  if (url.starts_with("https://")) {
    return Fail(ErrorCode::kInvalidInput,
                "--url: https is not spoken; give the daemon's http.listen address");
  }
  if (url.starts_with("http://")) url.remove_prefix(7);
  std::string_view authority = url.substr(0, url.find('/'));
  std::string_view path = authority.size() < url.size() ? url.substr(authority.size()) : "";
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);

  // The port may be left out: HTTP's own, 80.
  const bool has_port = authority.starts_with('[') ? authority.find("]:") != std::string_view::npos
                                                   : authority.find(':') != std::string_view::npos;
  auto parsed = ParseHostPort(has_port ? std::string(authority) : std::string(authority) + ":80");
  if (!parsed) {
    return Fail(ErrorCode::kInvalidInput, "--url: \"" + options.url +
                                              "\" is not http://HOST:PORT or HOST:PORT (" +
                                              parsed.error().message + ")");
  }
  std::string host = std::move(parsed->host);

  ApiClient client;
  // A daemon listening on every address is reached on this host's own.
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  client.host_ = host;
  client.port_ = std::to_string(parsed->port);
  client.host_header_ = FormatHostPort(client.host_, parsed->port);
  client.prefix_ = std::string(path);
  client.base_url_ = "http://" + client.host_header_ + client.prefix_;
  client.options_ = std::move(options);
  return client;
}

Result<ApiResponse> ApiClient::Request(std::string_view method, std::string_view target,
                                       const std::optional<nlohmann::json>& body) const {
  try {
    Exchange x{host_,
               port_,
               host_header_,
               base_url_,
               std::string(method),
               prefix_ + std::string(target),
               options_.token,
               body ? std::optional<std::string>(body->dump()) : std::nullopt,
               options_.timeout,
               options_.max_response_bytes};
    std::optional<Result<ApiResponse>> answer;
    std::exception_ptr failure;
    asio::io_context ioc;  // after what its handler refers to: destroyed first
    asio::co_spawn(ioc, Perform(std::move(x)),
                   [&answer, &failure](std::exception_ptr e, Result<ApiResponse> r) {
                     failure = e;
                     if (!e) answer = std::move(r);
                   });
    // The stream's deadline covers connect, write and read; this one also covers the name
    // look-up, which the stream's timer does not see.
    ioc.run_for(options_.timeout + std::chrono::seconds(1));
    if (failure) std::rethrow_exception(failure);
    if (!answer) {
      return Fail(ErrorCode::kUnavailable,
                  "no answer from " + base_url_ + " within " + Seconds(options_.timeout));
    }
    return std::move(*answer);
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInternal, "request to " + base_url_ + " failed: " + e.what());
  }
}

}  // namespace mailwarden
