// Suppressed recipients (docs/bounces.md): GET .../email/suppressions lists the account's
// suppressions that hold now, by address, a page at a time ("limit", "cursor": the previous
// page's "next"); DELETE .../email/suppressions/{address} lifts one (404 when none holds), so
// that the account's mail goes to the address again. The customer and the administrator both
// may do both: a customer who fixed a mailbox must not have to open a ticket. A lift is
// audited (DELETE, by "customer" or "admin") in the store's transaction.
#include <spdlog/spdlog.h>

#include <charconv>

#include "core/failure_category.h"
#include "core/suppression.h"
#include "core/text.h"
#include "http/api.h"
#include "http/api_replies.h"

namespace mailwarden {
namespace asio = boost::asio;
using nlohmann::json;

namespace {

constexpr int kMaxSuppressionList = 500;
constexpr int kDefaultSuppressionList = 50;
constexpr std::size_t kMaxFieldBytes = 1000;
// An address longer than RFC 5321's path is no recipient mailwarden stored.
constexpr std::size_t kMaxAddressBytes = 512;

std::string Field(std::string_view text) {
  return ValidUtf8(CutAtUtf8Boundary(text, kMaxFieldBytes));
}

}  // namespace

asio::awaitable<HttpResponse> Api::SuppressionsRoute(const HttpRequest& request,
                                                     const Caller& caller, const Account& account,
                                                     const std::vector<std::string>& rest) {
  if (rest.size() == 2 && request.method == "GET")
    co_return co_await ListSuppressions(request, account);
  if (rest.size() == 3 && request.method == "DELETE") {
    co_return co_await DeleteSuppression(caller, account, rest[2]);
  }
  co_return HttpResponse::ErrorWith(405, "method_not_allowed",
                                    rest.size() == 2 ? "Use GET here." : "Use DELETE here.");
}

asio::awaitable<HttpResponse> Api::ListSuppressions(const HttpRequest& request,
                                                    const Account& account) {
  int limit = kDefaultSuppressionList;
  if (auto it = request.query.find("limit"); it != request.query.end() && !it->second.empty()) {
    const auto [ptr, ec] =
        std::from_chars(it->second.data(), it->second.data() + it->second.size(), limit);
    if (ec != std::errc() || ptr != it->second.data() + it->second.size() || limit < 1 ||
        limit > kMaxSuppressionList) {
      co_return BadRequest("\"limit\" must be a whole number from 1 to 500.");
    }
  }
  std::string after;
  if (auto it = request.query.find("cursor"); it != request.query.end()) after = it->second;
  if (after.size() > kMaxAddressBytes) {
    co_return BadRequest("\"cursor\" must be the \"next\" value of a previous page.");
  }
  const TimePoint now = clock_.Now();
  const int n = limit;
  auto page = co_await ReadHeavy<std::vector<Suppression>>(
      [&](Store& s) { return s.ListSuppressions(account.id, now, n + 1, after); });
  if (!page) co_return HttpResponse::FromError(page.error());
  json items = json::array();
  std::int64_t left = config_.http.max_answer_bytes;
  bool full = false;
  for (std::size_t i = 0; i < page->size() && static_cast<int>(i) < n; ++i) {
    const Suppression& s = (*page)[i];
    const FailureCategory category =
        ParseFailureCategory(s.category).value_or(FailureCategory::kOther);
    json item = {{"address", Field(s.address)},
                 {"category", FailureCategoryName(category)},
                 {"category_text", FailureCategoryText(category, account.language)},
                 {"status", s.status.empty() ? json(nullptr) : json(s.status)},
                 {"reply", Field(s.reply)},
                 {"id", s.message},
                 {"date", FormatUtc(s.at)},
                 {"until", FormatUtc(s.until)}};
    const auto size = static_cast<std::int64_t>(
        item.dump(-1, ' ', false, json::error_handler_t::replace).size() + 1);
    if (!items.empty() && size > left) {
      full = true;
      break;
    }
    left -= size;
    items.push_back(std::move(item));
  }
  json next = nullptr;
  if (!items.empty() && (full || static_cast<int>(page->size()) > n)) {
    next = (*page)[items.size() - 1].address;
  }
  co_return HttpResponse::Json(200, {{"items", std::move(items)}, {"next", next}});
}

asio::awaitable<HttpResponse> Api::DeleteSuppression(const Caller& caller, const Account& account,
                                                     const std::string& address) {
  if (address.size() > kMaxAddressBytes || address.find('@') == std::string::npos) {
    co_return BadRequest("The address must be an e-mail address, as the list shows it.");
  }
  const TimePoint now = clock_.Now();
  const std::string_view actor = caller.admin ? "admin" : "customer";
  auto deleted = co_await Run<void>(
      [&](Store& s) { return s.DeleteSuppression(account.id, address, actor, now); });
  if (!deleted) {
    if (deleted.error().code == ErrorCode::kNotFound) {
      co_return HttpResponse::ErrorWith(404, "not_found", "This address is not suppressed.");
    }
    co_return HttpResponse::FromError(deleted.error());
  }
  spdlog::info("account={} actor={} suppression of <{}> removed", account.name, actor,
               LogText(address));
  co_return HttpResponse::Json(
      200, {{"removed", SuppressionAddress(address)}, {"account", account.name}});
}

}  // namespace mailwarden
