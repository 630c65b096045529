// The API of sender identity (docs/sender-identity.md): an account's domains, their DKIM keys
// and DNS check, and what the From check did.
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>

#include "core/local_day.h"
#include "core/sender_domain.h"
#include "http/api.h"
#include "http/api_replies.h"
#include "identity/dkim_key.h"
#include "identity/dns_check.h"

namespace mailwarden {
namespace asio = boost::asio;
using nlohmann::json;

namespace {

Result<json> ParseBody(const std::string& body) {
  if (body.empty()) return json::object();
  json value = json::parse(body, nullptr, false);
  if (value.is_discarded() || !value.is_object()) {
    return Fail(ErrorCode::kInvalidInput, "The body must be a JSON object.");
  }
  return value;
}

// The domain named by the request: {"domain": "..."} in the body, or the last path segment.
Result<std::string> DomainOf(const json& body, const std::string& from_path) {
  std::string text = from_path;
  if (text.empty()) {
    const auto it = body.find("domain");
    if (it == body.end() || !it->is_string()) {
      return Fail(ErrorCode::kInvalidInput, "Name the domain: {\"domain\": \"example.com\"}.");
    }
    text = it->get<std::string>();
  }
  return NormalizeDomain(text);
}

json KeyJson(const DkimKey& key) {
  return {{"selector", key.selector},
          {"algorithm", DkimAlgorithmName(key.algorithm)},
          {"name", DkimRecordName(key)},
          {"record", DkimRecord(key)},
          {"created", FormatUtc(key.created)},
          {"retired", key.retired ? json(FormatUtc(*key.retired)) : json(nullptr)},
          {"signing", !key.retired}};
}

json RecordCheckJson(const RecordCheck& c) {
  return {{"name", c.name},
          {"state", c.state},
          {"found", c.found.empty() ? json(nullptr) : json(c.found)},
          {"publish", c.publish.empty() ? json(nullptr) : json(c.publish)}};
}

json DnsJson(const DomainDnsCheck& check) {
  json dkim = json::array();
  for (const RecordCheck& c : check.dkim) dkim.push_back(RecordCheckJson(c));
  return {
      {"dkim", dkim}, {"spf", RecordCheckJson(check.spf)}, {"dmarc", RecordCheckJson(check.dmarc)}};
}

// A DNS check reads this many domains of an account at most (each a few lookups).
constexpr std::size_t kMaxCheckedDomains = 50;

}  // namespace

asio::awaitable<HttpResponse> Api::DomainsRoute(const HttpRequest& request, const Caller& caller,
                                                const Account& account) {
  const auto& seg = request.segments;
  // /api/v1/accounts/{name}/domains[/{domain}]
  const std::string from_path = seg.size() == 6 ? seg[5] : "";
  if (seg.size() > 6) co_return Refuse(404, "not_found", "There is nothing at this address.");
  if (request.method == "GET" && from_path.empty()) {
    co_return co_await ListDomains(request, account);
  }
  if (request.method != "POST" && request.method != "DELETE") {
    co_return Refuse(405, "method_not_allowed", "Use GET, POST or DELETE here.");
  }
  if (!caller.admin) co_return Refuse(403, "forbidden", "Only the administrator may do this.");
  auto body = ParseBody(request.body);
  if (!body) co_return HttpResponse::FromError(body.error());
  auto domain = DomainOf(*body, from_path);
  if (!domain) co_return HttpResponse::FromError(domain.error());
  const TimePoint now = clock_.Now();
  if (request.method == "POST") {
    auto added =
        co_await Run<void>([&](Store& s) { return s.AddDomain(account.id, *domain, now); });
    if (!added) co_return HttpResponse::FromError(added.error());
    spdlog::info("api: account={} domain={} added", account.name, *domain);
  } else {
    auto removed =
        co_await Run<void>([&](Store& s) { return s.RemoveDomain(account.id, *domain); });
    if (!removed) co_return HttpResponse::FromError(removed.error());
    spdlog::info("api: account={} domain={} removed", account.name, *domain);
  }
  // The From check asks the directory: this node sees the change at once.
  accounts_.Forget();
  if (hooks_.keys_changed) hooks_.keys_changed();  // a key's owner may have changed
  co_return HttpResponse::Json(request.method == "POST" ? 201 : 200,
                               {{"account", account.name},
                                {"domain", *domain},
                                {request.method == "POST" ? "added" : "removed", true}});
}

asio::awaitable<HttpResponse> Api::ListDomains(const HttpRequest& request, const Account& account) {
  const auto check_it = request.query.find("check");
  const bool check =
      check_it != request.query.end() && check_it->second != "0" && check_it->second != "false";
  auto domains =
      co_await Read<std::vector<std::string>>([&](Store& s) { return s.ListDomains(account.id); });
  if (!domains) co_return HttpResponse::FromError(domains.error());
  std::vector<std::vector<DkimKey>> keys;
  for (const std::string& d : *domains) {
    auto k = co_await Read<std::vector<DkimKey>>([&](Store& s) { return s.GetDkimKeys(d); });
    if (!k) co_return HttpResponse::FromError(k.error());
    keys.push_back(std::move(*k));
  }
  std::vector<DomainDnsCheck> checks;
  if (check) {
    // Blocking lookups, on the DNS thread: the loop serving everyone else never waits.
    const std::string server = config_.dns.server;
    const std::string spf = config_.dns.spf;
    std::function<asio::awaitable<void>()> run = [&]() -> asio::awaitable<void> {
      for (std::size_t i = 0; i < domains->size() && i < kMaxCheckedDomains; ++i) {
        checks.push_back(CheckDomainDns((*domains)[i], keys[i], server, spf));
      }
      co_return;
    };
    co_await asio::co_spawn(dns_pool_.get_executor(), run, asio::use_awaitable);
  }
  json items = json::array();
  for (std::size_t i = 0; i < domains->size(); ++i) {
    json dkim = json::array();
    for (const DkimKey& k : keys[i]) dkim.push_back(KeyJson(k));
    json item = {{"domain", (*domains)[i]}, {"dkim", dkim}};
    if (i < checks.size()) item["dns"] = DnsJson(checks[i]);
    items.push_back(std::move(item));
  }
  // What the From check did on the last two local days (the panel's "last day").
  const TimePoint now = clock_.Now();
  const int last = LocalDayNumber(now);
  const int first = LocalDayNumber(now - std::chrono::hours(24));
  auto days = co_await Read<std::vector<SenderCheckDay>>(
      [&](Store& s) { return s.GetSenderChecks(account.id, first, last); });
  if (!days) co_return HttpResponse::FromError(days.error());
  json sender_checks = json::array();
  for (const SenderCheckDay& d : *days) {
    sender_checks.push_back({{"day", FormatDay(d.day)}, {"held", d.held}, {"refused", d.refused}});
  }
  co_return HttpResponse::Json(200, {{"account", account.name},
                                     {"sender_check", SenderCheckName(config_.policy.sender_check)},
                                     {"items", items},
                                     {"sender_checks", sender_checks},
                                     {"next", nullptr}});
}

asio::awaitable<HttpResponse> Api::DkimRoute(const HttpRequest& request) {
  const auto& seg = request.segments;
  // /api/v1/dkim/{domain}[/{selector}]
  if (seg.size() < 4 || seg.size() > 5) {
    co_return Refuse(404, "not_found", "There is nothing at this address.");
  }
  auto domain = NormalizeDomain(seg[3]);
  if (!domain) co_return HttpResponse::FromError(domain.error());
  if (seg.size() == 5) {
    if (request.method != "DELETE") co_return Refuse(405, "method_not_allowed", "Use DELETE here.");
    const std::string& selector = seg[4];
    auto deleted = co_await Run<void>([&](Store& s) { return s.DeleteDkimKey(*domain, selector); });
    if (!deleted) co_return HttpResponse::FromError(deleted.error());
    if (hooks_.keys_changed) hooks_.keys_changed();
    co_return HttpResponse::Json(200,
                                 {{"domain", *domain}, {"selector", selector}, {"deleted", true}});
  }
  if (request.method == "GET") {
    auto keys =
        co_await Read<std::vector<DkimKey>>([&](Store& s) { return s.GetDkimKeys(*domain); });
    if (!keys) co_return HttpResponse::FromError(keys.error());
    json items = json::array();
    for (const DkimKey& k : *keys) items.push_back(KeyJson(k));
    co_return HttpResponse::Json(200, {{"domain", *domain}, {"items", items}, {"next", nullptr}});
  }
  if (request.method != "POST")
    co_return Refuse(405, "method_not_allowed", "Use GET or POST here.");
  // {"selector"?: "s1", "algorithm"?: "rsa"|"ed25519", "rotate"?: BOOL}
  auto body = ParseBody(request.body);
  if (!body) co_return HttpResponse::FromError(body.error());
  const TimePoint now = clock_.Now();
  std::string selector = DefaultSelector(now);
  if (auto it = body->find("selector"); it != body->end() && !it->is_null()) {
    if (!it->is_string())
      co_return HttpResponse::FromError(
          Error{ErrorCode::kInvalidInput, "\"selector\" must be text."});
    selector = it->get<std::string>();
  }
  DkimAlgorithm algorithm = DkimAlgorithm::kRsaSha256;
  if (auto it = body->find("algorithm"); it != body->end() && !it->is_null()) {
    const auto parsed = it->is_string() ? ParseDkimAlgorithm(it->get<std::string>()) : std::nullopt;
    if (!parsed) {
      co_return Refuse(400, "invalid_input", "\"algorithm\" must be \"rsa\" or \"ed25519\".");
    }
    algorithm = *parsed;
  }
  const auto rotate_it = body->find("rotate");
  const bool rotate = rotate_it != body->end() && rotate_it->is_boolean() && rotate_it->get<bool>();
  auto existing =
      co_await Read<std::vector<DkimKey>>([&](Store& s) { return s.GetDkimKeys(*domain); });
  if (!existing) co_return HttpResponse::FromError(existing.error());
  const bool has_signing =
      std::ranges::any_of(*existing, [](const DkimKey& k) { return !k.retired; });
  if (has_signing && !rotate) {
    co_return Refuse(409, "conflict",
                     "The domain \"" + *domain +
                         "\" has a signing key already: rotate it (dkim rotate) to replace it.");
  }
  auto key = GenerateDkimKey(*domain, selector, algorithm, now);
  if (!key) co_return HttpResponse::FromError(key.error());
  auto stored = co_await Run<void>([&](Store& s) { return s.AddDkimKey(*key, true); });
  if (!stored) co_return HttpResponse::FromError(stored.error());
  spdlog::info("api: dkim key {} of {} ({}) made{}", key->selector, key->domain,
               DkimAlgorithmName(algorithm), rotate ? ", the domain's others retired" : "");
  if (hooks_.keys_changed) hooks_.keys_changed();
  json answer = KeyJson(*key);
  answer["domain"] = *domain;
  answer["retired"] = nullptr;
  json kept = json::array();
  for (const DkimKey& k : *existing) {
    if (!k.retired) kept.push_back(DkimRecordName(k));
  }
  // What stays published for a while: the selectors the rotation retired.
  answer["keep_published"] = kept;
  co_return HttpResponse::Json(201, answer);
}

}  // namespace mailwarden
