#include "scan/rspamd_client.h"

#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "scan/rspamd_reply.h"

namespace mailwarden {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

RspamdClient::RspamdClient(asio::any_io_executor ex, const Config& config)
    : ex_(std::move(ex)), config_(config) {}

asio::awaitable<Result<ScanResult>> RspamdClient::Check(const UnscannedMessage& message,
                                                        std::string body) {
  const auto failed = [](std::string_view what, const auto& detail) {
    return Fail(ErrorCode::kUnavailable, fmt::format("Rspamd: {}: {}", what, detail));
  };
  auto token = asio::as_tuple(asio::use_awaitable);
  asio::ip::tcp::resolver resolver(ex_);
  beast::tcp_stream stream(ex_);
  // One deadline for the whole exchange: every operation below ends by it.
  stream.expires_after(config_.scan.timeout);
  auto [rerr, endpoints] =
      co_await resolver.async_resolve(config_.scan.rspamd_host, config_.scan.rspamd_port, token);
  if (rerr) co_return failed("cannot resolve " + config_.scan.rspamd_host, rerr.message());
  auto [cerr, peer] = co_await stream.async_connect(endpoints, token);
  if (cerr) co_return failed("cannot connect to " + config_.scan.rspamd, cerr.message());

  http::request<http::string_body> request(http::verb::post, "/checkv2", 11);
  request.set(http::field::host, config_.scan.rspamd_host);
  request.set(http::field::connection, "close");
  for (const auto& [name, value] : RspamdRequestFields(message, config_.hostname)) {
    request.insert(name, value);
  }
  request.body() = std::move(body);
  request.prepare_payload();
  auto [werr, written] = co_await http::async_write(stream, request, token);
  if (werr) co_return failed("sending the message", werr.message());
  request.body().clear();
  request.body().shrink_to_fit();

  beast::flat_buffer buffer(16 * 1024);
  http::response_parser<http::string_body> parser;
  parser.header_limit(64 * 1024);
  parser.body_limit(kMaxReplyBytes);
  auto [herr, read] = co_await http::async_read(stream, buffer, parser, token);
  if (herr) co_return failed("reading the reply", herr.message());
  beast::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  const auto& reply = parser.get();
  if (reply.result() != http::status::ok) {
    co_return failed("reply", fmt::format("HTTP {}", reply.result_int()));
  }
  auto verdict = ParseRspamdReply(reply.body());
  if (!verdict) co_return failed("reply", verdict.error().message);
  co_return verdict;
}

}  // namespace mailwarden
