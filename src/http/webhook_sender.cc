#include "http/webhook_sender.h"

#include <fmt/format.h>
#include <openssl/hmac.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/text.h"

namespace mailwarden {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

namespace {

constexpr int kEventsPerRound = 20;
constexpr auto kPoll = std::chrono::seconds(1);
constexpr auto kLease = std::chrono::seconds(120);
constexpr auto kRequestTimeout = std::chrono::seconds(10);
constexpr auto kBackoffMax = std::chrono::minutes(10);
constexpr std::size_t kReplyKept = 200;

struct Url {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;
};

Result<Url> ParseUrl(std::string_view url) {
  Url u;
  if (url.starts_with("https://")) {
    u.tls = true;
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    url.remove_prefix(7);
  } else {
    return Fail(ErrorCode::kInvalidInput, "not an http:// or https:// URL");
  }
  const std::size_t slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  u.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  u.port = u.tls ? "443" : "80";
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return Fail(ErrorCode::kInvalidInput, "bad host");
    u.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size() && authority[close + 1] == ':') {
      u.port = std::string(authority.substr(close + 2));
    }
  } else if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    u.host = std::string(authority.substr(0, colon));
    u.port = std::string(authority.substr(colon + 1));
  } else {
    u.host = std::string(authority);
  }
  if (u.host.empty()) return Fail(ErrorCode::kInvalidInput, "no host");
  return u;
}

std::string Iso8601(TimePoint t) {
  const auto ms = ToUnixMillis(t);
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char out[40];
  std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03}Z", out, ms % 1000);
}

bool Wants(const Config::Webhook& hook, std::string_view type) {
  return std::ranges::any_of(hook.events,
                             [type](const std::string& e) { return e == "*" || e == type; });
}

bool Listed(std::string_view sent_to, std::string_view url) {
  std::size_t at = 0;
  while (at <= sent_to.size()) {
    const std::size_t end = std::min(sent_to.find('\n', at), sent_to.size());
    if (sent_to.substr(at, end - at) == url) return true;
    at = end + 1;
  }
  return false;
}

}  // namespace

std::string WebhookSignature(std::string_view secret, std::int64_t unix_time,
                             std::string_view body) {
  const std::string signed_text = std::to_string(unix_time) + "." + std::string(body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), mac,
       &length);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", mac[i]);
  return fmt::format("t={},v1={}", unix_time, hex);
}

std::string WebhookBody(const OutboxEvent& event) {
  nlohmann::json data = nlohmann::json::parse(event.data, nullptr, /*allow_exceptions=*/false);
  if (data.is_discarded()) data = nlohmann::json::object();
  nlohmann::json body = {{"id", std::to_string(event.id)},
                         {"type", event.type},
                         {"account", event.account_name},
                         {"time", Iso8601(event.at)},
                         {"data", std::move(data)}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

WebhookSender::WebhookSender(asio::any_io_executor ex, const Config& config, StoreRunner& store,
                             const Clock& clock, std::string node)
    : ex_(ex), config_(config), store_(store), clock_(clock), node_(std::move(node)), timer_(ex) {}

Result<void> WebhookSender::Init() {
  for (const Config::Webhook& w : config_.webhooks) {
    std::ifstream in(w.secret_file, std::ios::binary);
    std::ostringstream text;
    if (in) text << in.rdbuf();
    std::string secret = text.str();
    while (!secret.empty() && std::isspace(static_cast<unsigned char>(secret.back()))) {
      secret.pop_back();
    }
    secret.erase(0, secret.find_first_not_of(" \t\r\n"));
    if (!in || secret.empty()) {
      return Fail(ErrorCode::kInvalidInput,
                  fmt::format("webhook {}: secret_file {} cannot be read or is empty", w.url,
                              w.secret_file.string()));
    }
    hooks_.push_back(Hook{w, std::move(secret)});
  }
  return {};
}

asio::awaitable<void> WebhookSender::Run() {
  while (!stopping_) {
    const TimePoint now = clock_.Now();
    // Named, not a temporary of the co_await expression (GCC 12 destroys those twice).
    std::function<Result<std::vector<OutboxEvent>>(Store&)> claim = [this, now](Store& s) {
      return s.ClaimEvents(node_, now, now + kLease, kEventsPerRound);
    };
    auto claimed = co_await store_.AsyncRun(std::move(claim), asio::use_awaitable);
    if (!claimed) {
      spdlog::warn("webhooks: cannot claim events: {}", claimed.error().message);
    } else {
      // Each is another account's: in turn here, the next of each account in a later round.
      for (OutboxEvent& e : *claimed) co_await SendOne(std::move(e));
      if (claimed->size() == static_cast<std::size_t>(kEventsPerRound)) continue;
    }
    timer_.expires_after(kPoll);
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<void> WebhookSender::SendOne(OutboxEvent event) {
  const std::string body = WebhookBody(event);
  EventAttempt attempt;
  attempt.event = event.id;
  attempt.account = event.account;
  attempt.node = node_;
  attempt.sent_to = event.sent_to;
  bool pending = false;
  for (const Hook& hook : hooks_) {
    if (!Wants(hook.config, event.type) || Listed(attempt.sent_to, hook.config.url)) continue;
    const TimePoint now = clock_.Now();
    if (now - event.at > hook.config.max_age) {
      attempt.tries.push_back(
          {.url = hook.config.url, .status = 0, .reply = "given up: older than max_age"});
      spdlog::warn("webhooks: event {} ({}) given up for {}: older than max_age", event.id,
                   event.type, hook.config.url);
      continue;
    }
    const std::int64_t unix_time = ToUnixMillis(now) / 1000;
    Answer answer =
        co_await Post(hook.config.url, body, WebhookSignature(hook.secret, unix_time, body));
    attempt.tries.push_back(
        {.url = hook.config.url, .status = answer.status, .reply = answer.reply});
    if (answer.status >= 200 && answer.status < 300) {
      if (!attempt.sent_to.empty()) attempt.sent_to += '\n';
      attempt.sent_to += hook.config.url;
    } else {
      pending = true;
      spdlog::info("webhooks: event {} ({}) to {}: {} {}", event.id, event.type, hook.config.url,
                   answer.status, LogText(answer.reply));
    }
  }
  attempt.at = clock_.Now();
  attempt.finished = !pending;
  if (pending) {
    const int shift = std::min(event.attempts, 10);
    attempt.next_attempt =
        attempt.at + std::min<Duration>(std::chrono::seconds(1LL << shift), kBackoffMax);
  }
  std::function<Result<void>(Store&)> record = [&attempt](Store& s) {
    return s.RecordEventAttempt(attempt);
  };
  auto recorded = co_await store_.AsyncRun(std::move(record), asio::use_awaitable);
  if (!recorded) {
    // The lease runs out and the event is sent again: at least once.
    spdlog::warn("webhooks: cannot record event {}: {}", event.id, recorded.error().message);
  }
}

asio::awaitable<WebhookSender::Answer> WebhookSender::Post(const std::string& url,
                                                           const std::string& body,
                                                           const std::string& signature) {
  auto parsed = ParseUrl(url);
  if (!parsed) co_return Answer{0, parsed.error().message};
  const Url& u = *parsed;
  bhttp::request<bhttp::string_body> request{bhttp::verb::post, u.target, 11};
  request.set(bhttp::field::host, u.host);
  request.set(bhttp::field::user_agent, "mailwarden");
  request.set(bhttp::field::content_type, "application/json");
  request.set("Mailwarden-Signature", signature);
  request.body() = body;
  request.prepare_payload();
  boost::system::error_code ec;
  asio::ip::tcp::resolver resolver(ex_);
  auto endpoints = co_await resolver.async_resolve(u.host, u.port,
                                                   asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Answer{0, "cannot resolve " + u.host + ": " + ec.message()};
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> response;
  response.body_limit(64 * 1024);
  if (!u.tls) {
    beast::tcp_stream stream(ex_);
    stream.expires_after(kRequestTimeout);
    co_await stream.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return Answer{0, "cannot connect: " + ec.message()};
    co_await bhttp::async_write(stream, request, asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) {
      co_await bhttp::async_read(stream, buffer, response,
                                 asio::redirect_error(asio::use_awaitable, ec));
    }
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  } else {
    asio::ssl::context tls(asio::ssl::context::tls_client);
    tls.set_default_verify_paths();
    tls.set_verify_mode(asio::ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> stream(ex_, tls);
    if (!SSL_set_tlsext_host_name(stream.native_handle(), u.host.c_str())) {
      co_return Answer{0, "cannot set the TLS server name"};
    }
    stream.set_verify_callback(asio::ssl::host_name_verification(u.host));
    beast::get_lowest_layer(stream).expires_after(kRequestTimeout);
    co_await beast::get_lowest_layer(stream).async_connect(
        endpoints, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return Answer{0, "cannot connect: " + ec.message()};
    co_await stream.async_handshake(asio::ssl::stream_base::client,
                                    asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return Answer{0, "TLS: " + ec.message()};
    co_await bhttp::async_write(stream, request, asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) {
      co_await bhttp::async_read(stream, buffer, response,
                                 asio::redirect_error(asio::use_awaitable, ec));
    }
  }
  if (ec && ec != beast::errc::not_connected) {
    if (!response.is_header_done()) co_return Answer{0, "no answer: " + ec.message()};
  }
  std::string reply = response.get().body().substr(0, kReplyKept);
  co_return Answer{static_cast<int>(response.get().result_int()), std::move(reply)};
}

}  // namespace mailwarden
