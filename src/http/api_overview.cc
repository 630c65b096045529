// The operator's overview of accounts (GET /api/v1/accounts): a page of accounts with today's
// figures, in the order asked (by name, or the most of any of its figures first),
// filtered by state, blocker and part of the name, the next page named by a cursor. With
// 100,000 accounts a page reads an index and the page's rows, never every account.
#include <fmt/format.h>

#include <charconv>

#include "core/account_name.h"
#include "core/local_day.h"
#include "http/api.h"
#include "store/store_common.h"

namespace mailwarden {
namespace asio = boost::asio;
using nlohmann::json;

namespace {

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;

struct OrderName {
  std::string_view name;
  AccountOrder order;
};
constexpr OrderName kOrders[] = {
    {"name", AccountOrder::kName},
    {"sent_today", AccountOrder::kSentToday},
    {"errors_today", AccountOrder::kErrorsToday},
    {"pending", AccountOrder::kPending},
    {"complaints_today", AccountOrder::kComplaintsToday},
    {"quarantined_today", AccountOrder::kQuarantinedToday},
    {"error_rate", AccountOrder::kErrorRate},
    {"held", AccountOrder::kHeld},
    {"queued", AccountOrder::kQueued},
    {"submitted_recently", AccountOrder::kSubmittedRecently},
};

std::string_view OrderText(AccountOrder order) {
  for (const auto& o : kOrders) {
    if (o.order == order) return o.name;
  }
  return "name";
}

bool ParseInt(std::string_view text, std::int64_t& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

// The cursor of the page after `last`: "name:NAME" in name order, else "ORDER:VALUE:ID".
std::string CursorAfter(AccountOrder order, const AccountPageEntry& last) {
  if (order == AccountOrder::kName) return "name:" + last.account.name;
  return fmt::format("{}:{}:{}", OrderText(order), AccountOrderValue(order, last), last.account.id);
}

// A cursor this order gave, or nullopt for one it did not.
std::optional<AccountPageCursor> ParseCursor(AccountOrder order, std::string_view text) {
  const std::string_view prefix = OrderText(order);
  if (!text.starts_with(prefix) || text.size() <= prefix.size() || text[prefix.size()] != ':') {
    return std::nullopt;
  }
  text.remove_prefix(prefix.size() + 1);
  AccountPageCursor cursor;
  if (order == AccountOrder::kName) {
    if (!IsValidAccountName(text)) return std::nullopt;
    cursor.name = std::string(text);
    return cursor;
  }
  const auto colon = text.find(':');
  if (colon == std::string_view::npos || !ParseInt(text.substr(0, colon), cursor.value) ||
      !ParseInt(text.substr(colon + 1), cursor.id) || cursor.value < 0 || cursor.id < 0) {
    return std::nullopt;
  }
  return cursor;
}

json EntryJson(const AccountPageEntry& e) {
  const Account& a = e.account;
  const std::int64_t tried = e.sent_today + e.errors_today;
  return {
      {"name", a.name},
      {"uids", a.uids},
      {"state", AccountStateName(a.state)},
      {"blocked_by",
       a.blocked_by == BlockedBy::kNone ? json(nullptr) : json(BlockedByName(a.blocked_by))},
      {"reason", a.reason.empty() ? json(nullptr) : json(a.reason)},
      {"since", FormatUtc(a.since)},
      {"pending", a.pending},
      {"held", e.held},
      {"queued", e.queued},
      {"sent_today", e.sent_today},
      {"errors_today", e.errors_today},
      {"quarantined_today", e.quarantined_today},
      {"complaints_today", e.complaints_today},
      {"submitted_recently", e.submitted_recently},
      // Of today's tried recipients, the share that failed; null before any was tried.
      {"error_rate", tried == 0
                         ? json(nullptr)
                         : json(static_cast<double>(e.errors_today) / static_cast<double>(tried))},
      {"report_to", a.report_to},
      {"language", a.language},
  };
}

}  // namespace

asio::awaitable<HttpResponse> Api::ListAccounts(const HttpRequest& request) {
  auto bad = [](std::string_view message) {
    return HttpResponse::ErrorWith(400, "invalid_input", message);
  };
  auto param = [&](const char* key) -> std::optional<std::string> {
    auto it = request.query.find(key);
    if (it == request.query.end()) return std::nullopt;
    return it->second;
  };
  AccountPageQuery query;
  query.day = LocalDayNumber(clock_.Now());
  // Each row's mail submitted since the start of the previous clock hour (60 to 120 minutes).
  query.recent_from_hour = UnixHour(clock_.Now()) - 1;
  query.limit = kDefaultPageSize;
  if (auto sort = param("sort")) {
    const auto* found = std::find_if(std::begin(kOrders), std::end(kOrders),
                                     [&](const OrderName& o) { return o.name == *sort; });
    if (found == std::end(kOrders)) {
      co_return bad(
          "\"sort\" must be name, submitted_recently, sent_today, errors_today, error_rate, "
          "quarantined_today, complaints_today, held, queued or pending.");
    }
    query.order = found->order;
  }
  if (auto state = param("state")) {
    query.state = ParseAccountState(*state);
    if (!query.state) co_return bad("\"state\" must be active, blocked or purging.");
  }
  if (auto blocker = param("blocked_by")) {
    query.blocked_by = ParseBlockedBy(*blocker);
    if (!query.blocked_by || *query.blocked_by == BlockedBy::kNone) {
      co_return bad(
          "\"blocked_by\" must be customer, admin, spam_guard, bounce_guard or complaint_guard.");
    }
  }
  if (auto q = param("q")) {
    // Names are of a-z, 0-9, '.', '_' and '-': a search of anything else finds nothing, and
    // is refused rather than passed on.
    if (q->size() > 64 ||
        q->find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789._-") != std::string::npos) {
      co_return bad("\"q\" must be part of an account name: up to 64 of a-z, 0-9, '.', '_', '-'.");
    }
    query.name_contains = *q;
  }
  if (auto limit = param("limit")) {
    std::int64_t n = 0;
    if (!ParseInt(*limit, n) || n < 1 || n > kMaxPageSize) {
      co_return bad("\"limit\" must be a number from 1 to 1000.");
    }
    query.limit = static_cast<int>(n);
  }
  if (auto cursor = param("cursor")) {
    query.after = ParseCursor(query.order, *cursor);
    if (!query.after) {
      co_return bad("\"cursor\" must be the \"next\" of an answer of the same \"sort\".");
    }
  }
  auto page = co_await ReadHeavy<std::vector<AccountPageEntry>>(
      [&](Store& s) { return s.ListAccountPage(query); });
  if (!page) co_return HttpResponse::FromError(page.error());
  json items = json::array();
  for (const auto& entry : *page) items.push_back(EntryJson(entry));
  // A full page may have a next one; a short page is the last.
  json next = static_cast<int>(page->size()) == query.limit
                  ? json(CursorAfter(query.order, page->back()))
                  : json(nullptr);
  co_return HttpResponse::Json(
      200, {{"items", items},
            {"next", next},
            {"submitted_since", FormatUtc(FromUnixMillis(query.recent_from_hour * 3'600'000))}});
}

asio::awaitable<HttpResponse> Api::FleetSummaryOf(const HttpRequest& /*request*/) {
  // The guard blocks of the last 24 hours; the busiest accounts by the mail submitted since
  // the start of the previous clock hour (60 to 120 minutes); a node is "seen" while it
  // wrote its row within the last two minutes (it writes every half minute).
  constexpr int kBlocksShown = 50;
  constexpr int kBusiestShown = 10;
  constexpr auto kNodeSilentAfter = std::chrono::minutes(2);
  const TimePoint now = clock_.Now();
  FleetQuery query;
  query.blocks_since = now - std::chrono::hours(24);
  query.busy_from_hour = UnixHour(now) - 1;
  query.blocks_limit = kBlocksShown;
  query.busiest_limit = kBusiestShown;
  auto summary =
      co_await ReadHeavy<FleetSummary>([&](Store& s) { return s.GetFleetSummary(query); });
  if (!summary) co_return HttpResponse::FromError(summary.error());
  json states = json::object();
  for (const char* state : {"active", "blocked", "purging"}) states[state] = 0;
  std::int64_t accounts = 0;
  for (const auto& [state, n] : summary->states) {
    states[state] = n;
    accounts += n;
  }
  json blocked_by = json::object();
  for (const auto& [blocker, n] : summary->blocked_by) blocked_by[blocker] = n;
  json blocks = json::array();
  for (const GuardBlock& b : summary->guard_blocks) {
    blocks.push_back({{"at", FormatUtc(b.at)},
                      {"account", b.account},
                      {"guard", b.guard},
                      {"reason", b.reason},
                      {"still_blocked", b.still_blocked}});
  }
  json busiest = json::array();
  for (const BusyAccount& b : summary->busiest) {
    busiest.push_back({{"account", b.account}, {"submitted", b.submitted}});
  }
  json nodes = json::array();
  for (const NodeSeen& n : summary->nodes) {
    nodes.push_back({{"name", n.name},
                     {"version", n.version},
                     {"started", FormatUtc(n.started_at)},
                     {"last_seen", FormatUtc(n.seen_at)},
                     {"running", now - n.seen_at <= kNodeSilentAfter}});
  }
  co_return HttpResponse::Json(
      200, {{"accounts", accounts},
            {"states", states},
            {"blocked_by", blocked_by},
            {"guard_blocks", blocks},
            {"busiest_since", FormatUtc(FromUnixMillis(query.busy_from_hour * 3'600'000))},
            {"busiest", busiest},
            {"nodes", nodes}});
}

}  // namespace mailwarden
