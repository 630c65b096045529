// Tracking ("where is my mail?"): GET .../email/messages?q=&status=&since=&cursor=&limit=
// searches the account's mail of the last store.keep_finished days, newest first, and
// GET .../email/messages/{id} shows one message with its history. A customer's token reaches
// its own account only (the router's check): another account's message id is 404.
//
// GET .../email/messages without "q", "since" and "cursor", and with no status or one of
// held, queued and quarantined, stays the list of held mail it has been (api.cc); any of those
// parameters, or a status only tracking knows (delivered, failed, expired, purged), asks for
// the search. The panel's search sends "q" always (empty for any).
#include <charconv>
#include <limits>

#include "core/local_day.h"
#include "core/text.h"
#include "http/api.h"
#include "http/api_replies.h"

namespace mailwarden {
namespace asio = boost::asio;
using nlohmann::json;

namespace {

constexpr int kDefaultSearchLimit = 50;
// The account-wide facts (block, unblock, purge) a message's history shows, at most.
constexpr int kAccountFactsRead = 50;

std::string Text(std::string_view text) {
  return ValidUtf8(CutAtUtf8Boundary(text, kMaxEventDetailBytes));
}

json TrackedJson(const TrackedMessage& t) {
  json out = ListedMessageJson(t.message);
  out["status"] = TrackStatusName(t.status);
  out["finished"] = t.finished_at ? json(FormatUtc(*t.finished_at)) : json(nullptr);
  out["attempts"] = t.message.attempts;
  out["uid"] = t.message.uid;
  return out;
}

}  // namespace

bool Api::IsTrackingSearch(const HttpRequest& request) {
  for (const char* key : {"q", "since", "cursor"}) {
    if (request.query.contains(key)) return true;
  }
  const auto status = request.query.find("status");
  if (status == request.query.end() || status->second.empty()) return false;
  return status->second != "held" && status->second != "queued" && status->second != "quarantined";
}

asio::awaitable<HttpResponse> Api::SearchMessages(const HttpRequest& request,
                                                  const Account& account) {
  MessageSearch search;
  if (auto it = request.query.find("q"); it != request.query.end()) {
    if (it->second.size() > kMaxSearchTermBytes) {
      co_return BadRequest("\"q\" must be at most 255 bytes.");
    }
    search.term = it->second;
  }
  if (auto it = request.query.find("status"); it != request.query.end() && !it->second.empty()) {
    search.status = ParseTrackStatus(it->second);
    if (!search.status) {
      co_return BadRequest(
          "\"status\" must be one of delivered, failed, held, queued, expired, purged, "
          "quarantined.");
    }
  }
  if (auto it = request.query.find("since"); it != request.query.end() && !it->second.empty()) {
    const auto day = ParseDay(it->second);
    if (!day) co_return BadRequest("\"since\" must be a date, YYYY-MM-DD.");
    search.since = LocalDayStart(*day);
  }
  if (auto it = request.query.find("cursor"); it != request.query.end() && !it->second.empty()) {
    MessageId before = 0;
    const auto [ptr, ec] =
        std::from_chars(it->second.data(), it->second.data() + it->second.size(), before);
    if (ec != std::errc() || ptr != it->second.data() + it->second.size() || before <= 0) {
      co_return BadRequest("\"cursor\" must be the \"next\" value of a previous page.");
    }
    search.before = before;
  }
  auto limit = QueryInt(request, "limit", kDefaultSearchLimit, 1, kMaxSearchLimit);
  if (!limit) co_return HttpResponse::FromError(limit.error());
  search.limit = *limit;
  // A heavy read (up to 200 messages and kMaxSearchCandidates candidates): never on the
  // reader that token checks use.
  auto page = co_await ReadHeavy<MessageSearchPage>(
      [&](Store& s) { return s.SearchMessages(account.id, search); });
  if (!page) co_return HttpResponse::FromError(page.error());
  json items = json::array();
  for (const TrackedMessage& t : page->messages) items.push_back(TrackedJson(t));
  json next = page->next_before > 0 ? json(std::to_string(page->next_before)) : json(nullptr);
  co_return HttpResponse::Json(200, {{"items", std::move(items)}, {"next", std::move(next)}});
}

asio::awaitable<HttpResponse> Api::ShowMessage(const std::string& id_text, const Account& account) {
  MessageId id = 0;
  const auto [ptr, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
  if (ec != std::errc() || ptr != id_text.data() + id_text.size() || id <= 0) {
    co_return BadRequest("The message id must be a whole number.");
  }
  auto tracked = co_await Read<std::optional<TrackedMessage>>(
      [&](Store& s) { return s.GetTrackedMessage(account.id, id); });
  if (!tracked) co_return HttpResponse::FromError(tracked.error());
  if (!*tracked) co_return Refuse(404, "not_found", "The account has no such message.");
  const TrackedMessage& t = **tracked;
  // The header section while the body is kept (unfinished mail); null afterwards.
  json headers = nullptr;
  if (t.message.status != MessageStatus::kDone && t.status != TrackStatus::kPurged) {
    auto text =
        co_await Read<std::string>([&](Store& s) { return s.GetMessageHeaders(account.id, id); });
    if (text) headers = ValidUtf8(*text);
  }
  json delivery = json::array();
  for (const StoredRecipient& r : t.message.recipients) {
    delivery.push_back({{"address", Text(r.address)},
                        {"status", RecipientStatusName(r.status)},
                        {"reply", Text(r.reply)},
                        {"category", r.category.empty() ? json(nullptr) : json(r.category)},
                        {"note", r.note.empty() ? json(nullptr) : json(Text(r.note))},
                        {"at", FormatUtc(r.updated_at)}});
  }
  json events = json::array();
  for (const MessageEvent& e : t.events) {
    events.push_back({{"at", FormatUtc(e.at)},
                      {"kind", e.kind},
                      {"address", e.address.empty() ? json(nullptr) : json(Text(e.address))},
                      {"detail", Text(e.detail)}});
  }
  // What was done to the whole account while the message waited (a block holds it, an
  // unblock releases it, a purge deletes it): the account's records, not a row per message.
  auto audit = co_await Read<std::vector<AuditRecord>>([&](Store& s) {
    return s.ListAudit(account.id, kAccountFactsRead, std::numeric_limits<std::int64_t>::max());
  });
  if (!audit) co_return HttpResponse::FromError(audit.error());
  json facts = json::array();
  for (auto it = audit->rbegin(); it != audit->rend(); ++it) {
    if (it->at < t.message.received_at) continue;
    if (t.finished_at && it->at > *t.finished_at) continue;
    if (it->action != "BLOCK" && it->action != "UNBLOCK" && it->action != "PURGE") continue;
    facts.push_back({{"at", FormatUtc(it->at)},
                     {"action", it->action},
                     {"actor", it->actor},
                     {"reason", Text(it->reason)}});
  }
  json body = TrackedJson(t);
  body["delivery"] = std::move(delivery);
  body["events"] = std::move(events);
  body["account_events"] = std::move(facts);
  body["headers"] = std::move(headers);
  co_return HttpResponse::Json(200, body);
}

}  // namespace mailwarden
