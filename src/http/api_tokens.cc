// The account's credentials (docs/design.md): customer tokens for the API and the panel, and
// the SMTP AUTH password of its scripts. Only digests are kept.
#include <spdlog/spdlog.h>

#include <boost/asio/use_awaitable.hpp>

#include "core/duration.h"
#include "http/api.h"
#include "http/api_replies.h"
#include "store/credentials.h"

namespace mailwarden {
namespace asio = boost::asio;
using json = nlohmann::json;

asio::awaitable<HttpResponse> Api::CreateToken(const HttpRequest& request, const Account& account) {
  // An optional body: {"expires_in": "30d"}; without it the token is valid until revoked.
  std::optional<Duration> lifetime;
  if (request.body.find_first_not_of(" \t\r\n") != std::string::npos) {
    auto body = ParseObject(request.body);
    if (!body) co_return HttpResponse::FromError(body.error());
    if (auto it = body->find("expires_in"); it != body->end() && !it->is_null()) {
      Result<Duration> parsed = Fail(ErrorCode::kInvalidInput, "not a string");
      if (it->is_string()) parsed = ParseDuration(it->get<std::string>());
      if (!parsed || *parsed < std::chrono::minutes(1) || *parsed > std::chrono::hours(24 * 3660)) {
        co_return BadRequest("\"expires_in\" must be a duration from 1m to 3660d, e.g. \"30d\".");
      }
      lifetime = *parsed;
    }
  }
  const std::string token = NewSecret();
  const std::string digest = SecretDigest(token);
  const TimePoint now = clock_.Now();
  const std::optional<TimePoint> expires =
      lifetime ? std::optional<TimePoint>(now + *lifetime) : std::nullopt;
  auto added =
      co_await Run<void>([&](Store& s) { return s.AddToken(account.id, digest, now, expires); });
  if (!added) co_return HttpResponse::FromError(added.error());
  const std::string id = digest.substr(0, kTokenIdChars);
  spdlog::info("account={} token={} created", account.name, id);
  co_return HttpResponse::Json(201, {{"token", token},
                                     {"account", account.name},
                                     {"id", id},
                                     {"expires", expires ? json(FormatUtc(*expires)) : json()}});
}

asio::awaitable<HttpResponse> Api::ListTokens(const Account& account) {
  auto tokens =
      co_await Read<std::vector<TokenInfo>>([&](Store& s) { return s.ListTokens(account.id); });
  if (!tokens) co_return HttpResponse::FromError(tokens.error());
  const TimePoint now = clock_.Now();
  json items = json::array();
  for (const auto& t : *tokens) {
    items.push_back({{"id", t.id},
                     {"created", FormatUtc(t.created)},
                     {"expires", t.expires ? json(FormatUtc(*t.expires)) : json()},
                     {"expired", t.expires.has_value() && *t.expires <= now}});
  }
  co_return HttpResponse::Json(200, {{"items", items}, {"next", nullptr}});
}

asio::awaitable<HttpResponse> Api::RevokeToken(const Account& account, const std::string& id) {
  if (id.size() != kTokenIdChars || id.find_first_not_of("0123456789abcdef") != std::string::npos) {
    co_return Refuse(404, "not_found", "This account has no such token.");
  }
  auto revoked = co_await Run<void>([&](Store& s) { return s.RevokeToken(account.id, id); });
  if (!revoked) co_return HttpResponse::FromError(revoked.error());
  spdlog::info("account={} token={} revoked", account.name, id);
  co_return HttpResponse::Json(200, {{"revoked", id}, {"account", account.name}});
}

asio::awaitable<HttpResponse> Api::CreateSmtpPassword(const Account& account) {
  // A new password replaces the old one at once; only its digest is kept.
  const std::string password = NewSecret();
  const std::string digest = SecretDigest(password);
  auto saved = co_await Run<void>([&](Store& s) { return s.SetSmtpPassword(account.id, digest); });
  if (!saved) co_return HttpResponse::FromError(saved.error());
  spdlog::info("account={} smtp password set", account.name);
  co_return HttpResponse::Json(201, {{"password", password}, {"user", account.name}});
}

}  // namespace mailwarden
