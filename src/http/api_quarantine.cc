// The quarantine's routes (docs/scanning.md): GET .../email/messages?status=quarantined lists
// the account's quarantined mail with each message's score and main symbols; POST
// .../email/quarantine/release and .../delete {"ids": [...]} act on chosen messages. The
// administrator may do both; a customer may delete their own quarantined mail, and release it
// only with scan.customer_release (403 customer_release_off otherwise), because the owner of
// a hacked site often clicks "send".
#include <spdlog/spdlog.h>

#include <charconv>
#include <limits>
#include <optional>

#include "http/api.h"
#include "http/api_replies.h"

namespace mailwarden {
namespace asio = boost::asio;
using nlohmann::json;

namespace {

constexpr int kMaxQuarantineList = 500;
constexpr std::size_t kMaxQuarantineIds = 10'000;

}  // namespace

asio::awaitable<HttpResponse> Api::ListQuarantined(const HttpRequest& request,
                                                   const Account& account) {
  // "limit" (1 to 500, 50 by default) and "before" (a message id: the page after it).
  auto number = [&](const char* key, std::int64_t fallback,
                    std::int64_t most) -> std::optional<std::int64_t> {
    auto it = request.query.find(key);
    if (it == request.query.end() || it->second.empty()) return fallback;
    std::int64_t value = 0;
    const auto [ptr, ec] =
        std::from_chars(it->second.data(), it->second.data() + it->second.size(), value);
    if (ec != std::errc() || ptr != it->second.data() + it->second.size() || value < 1 ||
        value > most) {
      return std::nullopt;
    }
    return value;
  };
  const auto limit = number("limit", 50, kMaxQuarantineList);
  const auto before = number("before", std::numeric_limits<std::int64_t>::max(),
                             std::numeric_limits<std::int64_t>::max());
  if (!limit) co_return BadRequest("\"limit\" must be a whole number from 1 to 500.");
  if (!before) co_return BadRequest("\"before\" must be a message id.");
  const int n = static_cast<int>(*limit);
  const MessageId before_id = *before;
  auto page = co_await ReadHeavy<std::vector<StoredMessage>>(
      [&](Store& s) { return s.ListQuarantined(account.id, n + 1, before_id); });
  if (!page) co_return HttpResponse::FromError(page.error());
  json items = json::array();
  std::int64_t left = config_.http.max_answer_bytes;
  bool full = false;
  for (std::size_t i = 0; i < page->size() && static_cast<int>(i) < n; ++i) {
    json item = ListedMessageJson((*page)[i]);
    const auto size = static_cast<std::int64_t>(
        item.dump(-1, ' ', false, json::error_handler_t::replace).size() + 1);
    if (!items.empty() && size > left) {
      full = true;
      break;
    }
    left -= size;
    items.push_back(std::move(item));
  }
  const bool more = full || static_cast<int>(page->size()) > n;
  json next = more ? json(std::to_string((*page)[items.size() - 1].id)) : json(nullptr);
  co_return HttpResponse::Json(200, {{"items", std::move(items)}, {"next", next}});
}

asio::awaitable<HttpResponse> Api::ActOnQuarantined(const HttpRequest& request,
                                                    const Caller& caller, const Account& account,
                                                    HeldMailAction action) {
  const bool release = action == HeldMailAction::kRelease;
  if (release && !caller.admin && !config_.scan.customer_release) {
    co_return HttpResponse::ErrorWith(
        403, "customer_release_off",
        "Quarantined mail is released by the hosting provider's administrator only "
        "(scan.customer_release is off). You may delete it.");
  }
  json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    co_return BadRequest("The body must be a JSON object.");
  }
  const auto ids_field = body.find("ids");
  if (ids_field == body.end() || !ids_field->is_array() || ids_field->empty() ||
      ids_field->size() > kMaxQuarantineIds) {
    co_return BadRequest("\"ids\" must be a list of 1 to 10000 message ids.");
  }
  std::vector<MessageId> ids;
  for (const auto& id : *ids_field) {
    if (!id.is_number_unsigned()) co_return BadRequest("\"ids\" must hold message ids.");
    ids.push_back(id.get<MessageId>());
  }
  const TimePoint now = clock_.Now();
  auto done = co_await Run<std::int64_t>([&](Store& s) {
    return release ? s.ReleaseQuarantined(account.id, ids, now)
                   : s.DeleteQuarantined(account.id, ids, now);
  });
  if (!done) co_return HttpResponse::FromError(done.error());
  spdlog::info("account={} actor={} action={} quarantined={}", account.name,
               caller.admin ? "admin" : "customer", release ? "RELEASE" : "DELETE", *done);
  if (release && *done > 0 && hooks_.release_held) hooks_.release_held();
  co_return HttpResponse::Json(200, {{release ? "released" : "deleted", *done}});
}

}  // namespace mailwarden
