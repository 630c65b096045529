// The administrator's account routes, as a provider's provisioning uses them: create
// (POST /api/v1/accounts), change (PATCH /api/v1/accounts/{name}), delete
// (DELETE /api/v1/accounts/{name}[?purge=true]) and import in bulk
// (POST /api/v1/accounts:import). One uid, one account: the store refuses a uid another
// account holds (409, naming it). Every change is audited with its actor and takes effect for
// the next message (the daemon's uid directory is dropped).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/account_name.h"
#include "http/api.h"
#include "http/api_replies.h"
#include "mime/message_prep.h"

namespace mailwarden {
namespace asio = boost::asio;
using nlohmann::json;

namespace {

// Rows of one import request at most: one store transaction each, short enough not to hold
// submissions back for long; mailwardenctl sends a large file in requests of this size.
constexpr std::size_t kMaxImportRows = 5000;

std::string Quoted(std::string_view key) { return "\"" + std::string(key) + "\""; }

// Reads the fields of an account from `b` into spec: those present replace spec's values (a
// PATCH keeps the rest; a create or an import starts from an empty spec). null for a quota is
// the policy's default. The same rules as the configuration file's [[account]].
Result<void> ReadAccountFields(const json& b, AccountSpec& spec, bool with_name) {
  auto bad = [](std::string message) { return Fail(ErrorCode::kInvalidInput, std::move(message)); };
  for (const auto& [key, value] : b.items()) {
    if ((key == "plan" || key == "limits") && !with_name) continue;  // PatchLimits
    if (key == "name") {
      if (!with_name) return bad("An account cannot be renamed: \"name\" cannot be changed.");
      continue;
    }
    if (key == "delete" && with_name) continue;
    if (key != "uids" && key != "report_to" && key != "language" && key != "max_per_day" &&
        key != "max_per_hour") {
      return bad("Unknown field " + Quoted(key) + ".");
    }
  }
  if (with_name) {
    if (!b.contains("name") || !b["name"].is_string()) return bad("\"name\" is required.");
    spec.name = b["name"].get<std::string>();
    if (!IsValidAccountName(spec.name)) {
      return bad("\"name\" must be " + std::string(kAccountNameRule) + ".");
    }
  }
  if (b.contains("uids")) {
    if (!b["uids"].is_array()) return bad("\"uids\" must be a list of numbers.");
    spec.uids.clear();
    for (const auto& u : b["uids"]) {
      if (!u.is_number_unsigned() || u.get<std::uint64_t>() > 4294967294ULL) {
        return bad("\"uids\" must be a list of numbers from 0 to 4294967294.");
      }
      spec.uids.push_back(u.get<Uid>());
    }
  }
  if (b.contains("report_to")) {
    if (!b["report_to"].is_string()) return bad("\"report_to\" must be an address.");
    const std::string text = b["report_to"].get<std::string>();
    if (text.empty()) {
      spec.report_to.clear();
    } else {
      auto address = ParseSingleAddress(text);
      if (!address) {
        return bad("\"report_to\" must be one plain e-mail address: " + address.error().message);
      }
      spec.report_to = *address;
    }
  }
  if (b.contains("language")) {
    if (!b["language"].is_string() || (b["language"] != "en" && b["language"] != "pl")) {
      return bad("\"language\" must be \"en\" or \"pl\".");
    }
    spec.language = b["language"].get<std::string>();
  }
  for (const char* key : {"max_per_day", "max_per_hour"}) {
    if (!b.contains(key)) continue;
    auto& field = std::string_view(key) == "max_per_day" ? spec.max_per_day : spec.max_per_hour;
    if (b[key].is_null()) {
      field.reset();
      continue;
    }
    if (!b[key].is_number_unsigned() || b[key].get<std::uint64_t>() > 100'000'000) {
      return bad(Quoted(key) + " must be a number from 0 to 100000000, or null for the default.");
    }
    field = b[key].get<std::int64_t>();
  }
  return {};
}

Result<json> ParseBody(const std::string& body) {
  json value = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded() || !value.is_object()) {
    return Fail(ErrorCode::kInvalidInput, "The request body must be a JSON object.");
  }
  return value;
}

}  // namespace

asio::awaitable<HttpResponse> Api::AccountWritten(const std::string& name, int status) {
  auto fresh = co_await Run<std::optional<Account>>([&](Store& s) { return s.FindAccount(name); });
  if (!fresh || !*fresh) {
    co_return HttpResponse::FromError({ErrorCode::kInternal, "account vanished"});
  }
  // Named, not a temporary in the co_await: GCC 12 mishandles such temporaries' lifetime.
  const Caller admin{true, 0, ""};
  HttpResponse response = co_await EmailStatus(**fresh, admin);
  json body = json::parse(response.body);
  body["uids"] = (*fresh)->uids;
  body["max_per_hour"] = (*fresh)->max_per_hour ? json(*(*fresh)->max_per_hour) : json(nullptr);
  response = HttpResponse::Json(status, body);
  co_return response;
}

asio::awaitable<HttpResponse> Api::CreateAccount(const HttpRequest& request) {
  auto body = ParseBody(request.body);
  if (!body) co_return HttpResponse::FromError(body.error());
  std::vector<AccountSpec> specs(1);
  if (auto read = ReadAccountFields(*body, specs[0], true); !read) {
    co_return HttpResponse::FromError(read.error());
  }
  const TimePoint now = clock_.Now();
  auto put = co_await Run<std::vector<AccountPut>>(
      [&](Store& s) { return s.PutAccounts(specs, AccountPutMode::kCreate, "admin", now); });
  if (!put) co_return HttpResponse::FromError(put.error());
  if ((*put)[0].refused) co_return HttpResponse::FromError(*(*put)[0].refused);
  accounts_.Forget();
  spdlog::info("account={} actor=admin action=CREATE uids={}", specs[0].name,
               json(specs[0].uids).dump());
  co_return co_await AccountWritten(specs[0].name, 201);
}

asio::awaitable<HttpResponse> Api::PatchAccount(const HttpRequest& request,
                                                const Account& account) {
  auto body = ParseBody(request.body);
  if (!body) co_return HttpResponse::FromError(body.error());
  std::vector<AccountSpec> specs{AccountSpec{account.name, account.uids, account.report_to,
                                             account.language, account.max_per_day,
                                             account.max_per_hour}};
  if (auto read = ReadAccountFields(*body, specs[0], false); !read) {
    co_return HttpResponse::FromError(read.error());
  }
  // "limits" may carry max_per_day and max_per_hour: the account row's own.
  if (body->contains("limits") && (*body)["limits"].is_object()) {
    for (const char* key : {"max_per_day", "max_per_hour"}) {
      if (!(*body)["limits"].contains(key)) continue;
      json one = {{key, (*body)["limits"][key]}};
      if (auto read = ReadAccountFields(one, specs[0], false); !read) {
        co_return HttpResponse::FromError(read.error());
      }
    }
  }
  if (auto patched = co_await PatchLimits(*body, account); !patched) {
    co_return HttpResponse::FromError(patched.error());
  }
  const TimePoint now = clock_.Now();
  auto put = co_await Run<std::vector<AccountPut>>(
      [&](Store& s) { return s.PutAccounts(specs, AccountPutMode::kUpdate, "admin", now); });
  if (!put) co_return HttpResponse::FromError(put.error());
  if ((*put)[0].refused) co_return HttpResponse::FromError(*(*put)[0].refused);
  // The next submission of a uid that moved asks the store again.
  accounts_.Forget();
  if (hooks_.limits_changed) hooks_.limits_changed(account.id);
  if ((*put)[0].outcome == AccountPutOutcome::kUpdated) {
    spdlog::info("account={} actor=admin action=CHANGE uids={}", account.name,
                 json(specs[0].uids).dump());
  }
  co_return co_await AccountWritten(account.name, 200);
}

asio::awaitable<HttpResponse> Api::DeleteAccount(const HttpRequest& request,
                                                 const Account& account) {
  const auto it = request.query.find("purge");
  const bool purge = it != request.query.end() && (it->second == "true" || it->second == "1");
  if (it != request.query.end() && !purge && it->second != "false" && it->second != "0") {
    co_return BadRequest("\"purge\" must be true or false.");
  }
  const TimePoint now = clock_.Now();
  auto deleted = co_await Run<AccountDeleted>(
      [&](Store& s) { return s.DeleteAccount(account.name, purge, "admin", now); });
  if (!deleted) co_return HttpResponse::FromError(deleted.error());
  accounts_.Forget();
  // The purged rows are deleted in the background, as a PURGE's are.
  if (deleted->purged > 0 && hooks_.purge_started) hooks_.purge_started(deleted->id);
  spdlog::info("account={} actor=admin action=DELETE purged={}", account.name, deleted->purged);
  co_return HttpResponse::Json(
      200, {{"account", account.name}, {"deleted", true}, {"purged", deleted->purged}});
}

asio::awaitable<HttpResponse> Api::ImportAccounts(const HttpRequest& request) {
  auto body = ParseBody(request.body);
  if (!body) co_return HttpResponse::FromError(body.error());
  const json& rows = (*body)["accounts"];
  if (!rows.is_array()) co_return BadRequest("\"accounts\" must be a list of accounts.");
  if (rows.size() > kMaxImportRows) {
    co_return BadRequest("At most " + std::to_string(kMaxImportRows) +
                         " accounts a request: send a longer list in parts.");
  }
  bool purge = false;
  if (body->contains("purge")) {
    if (!(*body)["purge"].is_boolean()) co_return BadRequest("\"purge\" must be true or false.");
    purge = (*body)["purge"].get<bool>();
  }
  json refused = json::array();
  auto refuse = [&](std::size_t row, const std::string& name, const Error& error) {
    refused.push_back({{"row", row + 1},
                       {"name", name},
                       {"error", std::string(ErrorCodeName(error.code))},
                       {"message", error.message}});
  };
  std::vector<AccountSpec> specs;
  std::vector<std::size_t> spec_rows;
  std::vector<std::pair<std::size_t, std::string>> removals;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const json& row = rows[i];
    const std::string name =
        row.is_object() && row.contains("name") && row["name"].is_string() ? row["name"] : "";
    if (!row.is_object()) {
      refuse(i, name, {ErrorCode::kInvalidInput, "An account must be a JSON object."});
      continue;
    }
    if (row.contains("delete") && !row["delete"].is_boolean()) {
      refuse(i, name, {ErrorCode::kInvalidInput, "\"delete\" must be true or false."});
      continue;
    }
    if (row.value("delete", false)) {
      if (!IsValidAccountName(name)) {
        refuse(i, name, {ErrorCode::kInvalidInput, "\"name\" must name an account."});
      } else {
        removals.emplace_back(i, name);
      }
      continue;
    }
    AccountSpec spec;
    if (auto read = ReadAccountFields(row, spec, true); !read) {
      refuse(i, name, read.error());
      continue;
    }
    specs.push_back(std::move(spec));
    spec_rows.push_back(i);
  }
  const TimePoint now = clock_.Now();
  auto put = co_await Run<std::vector<AccountPut>>([&](Store& s) {
    return s.PutAccounts(specs, AccountPutMode::kCreateOrUpdate, "admin import", now);
  });
  if (!put) co_return HttpResponse::FromError(put.error());
  std::int64_t created = 0, updated = 0, unchanged = 0, removed = 0;
  for (std::size_t k = 0; k < put->size(); ++k) {
    switch ((*put)[k].outcome) {
      case AccountPutOutcome::kCreated:
        ++created;
        break;
      case AccountPutOutcome::kUpdated:
        ++updated;
        break;
      case AccountPutOutcome::kUnchanged:
        ++unchanged;
        break;
      case AccountPutOutcome::kRefused:
        refuse(spec_rows[k], specs[k].name, *(*put)[k].refused);
        break;
    }
  }
  // The removals in one transaction: one sync for them all.
  std::vector<std::string> names;
  names.reserve(removals.size());
  for (const auto& removal : removals) names.push_back(removal.second);
  auto deletions = co_await Run<std::vector<Result<AccountDeleted>>>(
      [&](Store& s) { return s.DeleteAccounts(names, purge, "admin import", now); });
  if (!deletions) co_return HttpResponse::FromError(deletions.error());
  for (std::size_t k = 0; k < removals.size(); ++k) {
    const auto& [row, name] = removals[k];
    const Result<AccountDeleted>& deleted = (*deletions)[k];
    if (!deleted && deleted.error().code == ErrorCode::kNotFound) {
      ++unchanged;  // gone already: an import run twice removes nothing more
    } else if (!deleted) {
      refuse(row, name, deleted.error());
    } else {
      ++removed;
      if (deleted->purged > 0 && hooks_.purge_started) hooks_.purge_started(deleted->id);
    }
  }
  if (created + updated + removed > 0) accounts_.Forget();
  std::sort(refused.begin(), refused.end(), [](const json& a, const json& b) {
    return a["row"].get<std::size_t>() < b["row"].get<std::size_t>();
  });
  spdlog::info("accounts import: {} created, {} updated, {} unchanged, {} removed, {} refused",
               created, updated, unchanged, removed, refused.size());
  co_return HttpResponse::Json(200, {{"created", created},
                                     {"updated", updated},
                                     {"unchanged", unchanged},
                                     {"removed", removed},
                                     {"refused", refused}});
}

}  // namespace mailwarden
