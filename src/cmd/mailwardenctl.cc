// mailwardenctl: the operator's command line of mailwarden. It speaks to the daemon's HTTP
// API (config's http.listen, with the admin token of http.admin_token_file); each command is
// one row of kCommands below. Its commands, options and exit codes are in
// man/mailwardenctl.8.scd (and --help-all); `doctor` and `top` run on their own.

#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cmd/ctl_answers.h"
#include "cmd/ctl_session.h"
#include "cmd/ctl_table.h"
#include "cmd/ctl_top.h"
#include "cmd/doctor.h"
#include "config/config.h"
#include "core/text.h"
#include "http/account_file.h"
#include "http/api_client.h"

namespace mailwarden {
namespace {

constexpr std::string_view kDefaultConfig = "/etc/mailwarden/mailwarden.toml";

struct Options {
  std::string config = std::string(kDefaultConfig);
  std::string url;
  std::string token_file;
  bool json = false;

  std::string account;
  std::string reason;
  std::vector<std::uint64_t> uids;
  std::string report_to;
  std::string language;
  std::optional<std::int64_t> max_per_day;
  std::optional<std::int64_t> max_per_hour;
  std::optional<std::string> plan;
  bool no_plan = false;
  std::vector<std::string> set_limits;
  std::string plan_name;  // plan show|set|delete
  std::string status;
  int limit = 0;
  std::uint64_t before = 0;
  int days = 0;
  std::string since;
  std::optional<std::string> query;  // queue --search
  std::uint64_t message_id = 0;      // show
  std::vector<std::uint64_t> ids;
  std::string match_from;
  std::string match_to;
  std::string match_subject;
  std::string address;
  std::string day;
  std::string token_id;
  std::string expires_in;
  bool purge = false;
  bool no_uids = false;
  bool remove_missing = false;
  std::string file;
  std::string sort;
  std::string blocked_by;
  std::string search;
  std::string cursor;
  std::string domain;
  std::string selector;
  std::string algorithm;
  bool check = false;
  int interval = 2;    // top: seconds between refreshes
  int iterations = 0;  // top: refreshes before it ends (0: until interrupted)
};

int Connect(const Options& o, std::optional<Session>& session) {
  std::string url = o.url;
  std::filesystem::path token_file = o.token_file;
  if (url.empty() || token_file.empty()) {
    auto config = LoadConfig(o.config);
    if (!config) return Complain(kExitConfig, o.config + ": " + config.error().message);
    if (url.empty()) url = config->http.listen;
    if (token_file.empty()) token_file = config->http.admin_token_file;
  }
  auto token = ReadToken(token_file);
  if (!token) return Complain(token.error().code, token.error().message);
  auto client = ApiClient::Create({url, *token});
  if (!client) return Complain(kExitUsage, client.error().message);
  session.emplace(std::move(*client), o.json);
  return kExitOk;
}

void PrintMessage(const json& body) {
  if (const json& m = Field(body, "message"); m.is_string()) {
    std::cout << Clean(m.get<std::string>()) << "\n\n";
  }
}

// The request bodies and queries the commands send.

json NewAccountBody(const Options& o) {
  json body = {{"name", o.account}, {"uids", o.uids}};
  if (!o.report_to.empty()) body["report_to"] = o.report_to;
  if (!o.language.empty()) body["language"] = o.language;
  if (o.max_per_day) body["max_per_day"] = *o.max_per_day;
  if (o.max_per_hour) body["max_per_hour"] = *o.max_per_hour;
  return body;
}

// --set-limit KEY=VALUE ... as the API's "limits" object; VALUE "default" is null.
json LimitsBody(const std::vector<std::string>& items) {
  json limits = json::object();
  for (const std::string& item : items) {
    const std::size_t eq = item.find('=');
    const std::string key = item.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : item.substr(eq + 1);
    json& v = limits[key];
    if (value == "default") {
      v = nullptr;
    } else if (!value.empty() && value.size() < 19 &&
               value.find_first_not_of("0123456789") == std::string::npos) {
      v = std::stoll(value);
    } else {
      v = value;  // "refuse", "0.5": the daemon checks it
    }
  }
  return limits;
}

json SetAccountBody(const Options& o) {
  json body = json::object();
  if (!o.uids.empty() || o.no_uids) body["uids"] = o.uids;
  if (!o.report_to.empty()) body["report_to"] = o.report_to;
  if (!o.language.empty()) body["language"] = o.language;
  if (o.max_per_day) body["max_per_day"] = *o.max_per_day;
  if (o.max_per_hour) body["max_per_hour"] = *o.max_per_hour;
  if (o.plan) body["plan"] = *o.plan;
  if (o.no_plan) body["plan"] = nullptr;
  if (!o.set_limits.empty()) body["limits"] = LimitsBody(o.set_limits);
  return body;
}

// plan set: the plan's keys, all of them.
json PlanBody(const Options& o) { return {{"limits", LimitsBody(o.set_limits)}}; }

json ActionBody(std::string_view action, const Options& o) {
  json body = {{"action", std::string(action)}};
  if (!o.reason.empty()) body["reason"] = o.reason;
  return body;
}

// The held mail release and delete act on: chosen by id, or by a match on their text.
json SelectionBody(const Options& o) {
  if (!o.ids.empty()) return {{"ids", o.ids}};
  json match = json::object();
  if (!o.match_from.empty()) match["from"] = o.match_from;
  if (!o.match_to.empty()) match["to"] = o.match_to;
  if (!o.match_subject.empty()) match["subject"] = o.match_subject;
  return {{"match", match}};
}

using Query = std::map<std::string, std::string>;

Query LimitQuery(const Options& o) {
  Query q;
  if (o.limit > 0) q["limit"] = std::to_string(o.limit);
  return q;
}

// The ways an answer is printed without --json.

void PrintAccounts(const Options& o, const json& body) {
  PrintItems(body,
             {"NAME", "STATE", "BLOCKED BY", "SENT TODAY", "ERRORS", "HELD", "QUEUED", "UIDS",
              "REPORT TO"},
             {"name", "state", "blocked_by", "sent_today", "errors_today", "held", "queued", "uids",
              "report_to"},
             "No accounts.");
  if (const json& next = Field(body, "next"); next.is_string()) {
    std::cout << "More: mailwardenctl accounts list";
    if (!o.sort.empty()) std::cout << " --sort " << o.sort;
    if (!o.status.empty()) std::cout << " --state " << o.status;
    if (!o.blocked_by.empty()) std::cout << " --blocked-by " << o.blocked_by;
    if (!o.search.empty()) std::cout << " --search " << Clean(o.search);
    if (o.limit > 0) std::cout << " --limit " << o.limit;
    std::cout << " --cursor " << Clean(next.get<std::string>()) << "\n";
  }
}

void PrintCreated(const Options& o, const json& status) {
  std::cout << "Account \"" << Clean(o.account) << "\" created.\n\n";
  PrintStatus(status);
}

void PrintTransition(const Options&, const json& status) {
  PrintMessage(status);
  PrintStatus(status);
}

// A secret printed once, alone on its line: a token or an SMTP password.
void PrintSecret(const json& body, const char* key) {
  const json& secret = Field(body, key);
  std::cout << Clean(secret.is_string() ? secret.get<std::string>() : "") << "\n";
}

// Whether `queue` searches (tracking: --search, --since, or a status of finished mail)
// rather than listing the held or queued mail.
bool Tracks(const Options& o) {
  return o.query.has_value() || !o.since.empty() ||
         (!o.status.empty() && o.status != "held" && o.status != "queued");
}

Query QueueQuery(const Options& o) {
  Query q = LimitQuery(o);
  if (!o.status.empty()) q["status"] = o.status;
  if (!Tracks(o)) {
    if (o.before > 0) q["before"] = std::to_string(o.before);
    return q;
  }
  q["q"] = o.query.value_or("");
  if (!o.since.empty()) q["since"] = o.since;
  if (o.before > 0) q["cursor"] = std::to_string(o.before);
  return q;
}

void PrintQueue(const Options& o, const json& body) {
  if (Tracks(o)) {
    PrintItems(body, {"ID", "DATE", "STATUS", "FROM", "TO", "SUBJECT", "ATTEMPTS"},
               {"id", "date", "status", "from", "to", "subject", "attempts"}, "No messages.");
  } else {
    PrintItems(body, {"ID", "DATE", "FROM", "TO", "SUBJECT", "SCRIPT", "SIZE"},
               {"id", "date", "from", "to", "subject", "script", "size"},
               o.status == "held"     ? "No held messages."
               : o.status == "queued" ? "No queued messages."
                                      : "No messages.");
  }
  if (const json& next = Field(body, "next"); next.is_string()) {
    std::cout << "More: mailwardenctl queue " << Clean(o.account);
    if (!o.status.empty()) std::cout << " --status " << o.status;
    if (o.query) std::cout << " --search '" << Clean(*o.query) << "'";
    if (!o.since.empty()) std::cout << " --since " << Clean(o.since);
    std::cout << " --before " << Clean(next.get<std::string>()) << "\n";
  }
}

// "Released 2 held messages." from {"released": 2}.
void PrintActedOn(const json& answer, const char* key, std::string_view verb) {
  const json& n = Field(answer, key);
  const bool one = n.is_number() && n.get<std::int64_t>() == 1;
  std::cout << verb << " " << Cell(n) << (one ? " held message.\n" : " held messages.\n");
  // The daemon acts on a bounded number a request (http.held_action_max).
  if (answer.contains("more") && answer["more"] == true) {
    std::cout << "More held mail matches: run the same command again.\n";
  }
}

json QuarantineBody(const Options& o) { return {{"ids", o.ids}}; }

void PrintErrors(const Options&, const json& body) {
  PrintItems(body, {"DATE", "ID", "RECIPIENT", "REPLY", "SUBJECT"},
             {"date", "id", "recipient", "reply", "subject"}, "No errors.");
}

void PrintVolumes(const Options&, const json& body) {
  PrintItems(body, {"DAY", "SUBMITTED", "SENT", "ERRORS", "EXPIRED", "PURGED"},
             {"day", "submitted", "sent", "errors", "expired", "purged"}, "No mail.");
}

void PrintReportTo(const Options&, const json& status) {
  std::cout << "Error reports go to " << Cell(Field(status, "report_to")) << ".\n\n";
  PrintStatus(status);
}

void PrintReportsRun(const Options&, const json& body) {
  std::cout << "Reports of " << Cell(Field(body, "day")) << " sent: " << Cell(Field(body, "sent"))
            << ".\n";
}

void PrintTokens(const Options&, const json& body) {
  PrintItems(body, {"ID", "CREATED", "EXPIRES", "EXPIRED"}, {"id", "created", "expires", "expired"},
             "No tokens.");
}

void PrintAudit(const Options&, const json& body) {
  PrintItems(body, {"AT", "ACCOUNT", "ACTOR", "ACTION", "FROM", "TO", "REASON"},
             {"at", "account", "actor", "action", "from", "to", "reason"}, "No state changes.");
}

// The arguments and options of the commands.

void AccountArg(CLI::App& sub, Options& o) {
  sub.add_option("ACCOUNT", o.account, "The account's name")->required();
}

void NewTokenArgs(CLI::App& sub, Options& o) {
  AccountArg(sub, o);
  sub.add_option("--expires-in", o.expires_in,
                 "Valid for this long, e.g. 30d (default: until revoked)");
}

json NewTokenBody(const Options& o) {
  json body = json::object();
  if (!o.expires_in.empty()) body["expires_in"] = o.expires_in;
  return body;
}

void RevokeTokenArgs(CLI::App& sub, Options& o) {
  AccountArg(sub, o);
  sub.add_option("ID", o.token_id, "The token's id, as \"token list\" shows it")->required();
}

void LimitOption(CLI::App& sub, Options& o) {
  sub.add_option("--limit", o.limit, "At most this many rows (1-500)")->check(CLI::Range(1, 500));
}

// What an account has besides its name and uids: for accounts add and accounts set alike.
void AccountFieldArgs(CLI::App& sub, Options& o) {
  sub.add_option("--report-to", o.report_to, "Recipient of the daily error reports");
  sub.add_option("--language", o.language, "Language of the reports")
      ->check(CLI::IsMember({"en", "pl"}));
  sub.add_option("--max-per-day", o.max_per_day, "Quota: messages a day (excess waits)")
      ->check(CLI::Range(0, 100'000'000));
  sub.add_option("--max-per-hour", o.max_per_hour, "Quota: messages an hour (excess waits)")
      ->check(CLI::Range(0, 100'000'000));
}

void NewAccountArgs(CLI::App& sub, Options& o) {
  sub.add_option("NAME", o.account, "a-z, 0-9, '.', '_', '-'")->required();
  sub.add_option("--uid", o.uids, "A Unix uid whose scripts' mail is this account's")->required();
  AccountFieldArgs(sub, o);
}

void SetAccountArgs(CLI::App& sub, Options& o) {
  sub.add_option("NAME", o.account, "The account's name")->required();
  auto* uid = sub.add_option("--uid", o.uids, "Its uids from now on (all of them; repeat it)");
  sub.add_flag("--no-uids", o.no_uids, "It keeps no uid")->excludes(uid);
  AccountFieldArgs(sub, o);
  auto* plan = sub.add_option("--plan", o.plan, "Its plan (\"plan list\" shows them)");
  sub.add_flag("--no-plan", o.no_plan, "It has no plan")->excludes(plan);
  sub.add_option("--set-limit", o.set_limits,
                 "KEY=VALUE: its own limit (max_recipients=50, over_limit=refuse, ...); "
                 "VALUE \"default\": the plan's or the server's");
}

void DeleteAccountArgs(CLI::App& sub, Options& o) {
  sub.add_option("NAME", o.account, "The account's name")->required();
  sub.add_flag("--purge", o.purge, "Delete its held and queued mail too");
}

void ImportArgs(CLI::App& sub, Options& o) {
  sub.add_option("FILE", o.file, "CSV with a header line, or JSON lines")->required();
  sub.add_flag("--remove-missing", o.remove_missing, "Delete the accounts the file does not list");
  sub.add_flag("--purge", o.purge, "Deleting an account deletes its held and queued mail too");
}

void ShowArgs(CLI::App& sub, Options& o) {
  sub.add_option("NAME", o.account, "The account's name")->required();
}

void TransitionArgs(CLI::App& sub, Options& o) {
  AccountArg(sub, o);
  sub.add_option("--reason", o.reason, "Why, for the audit log (one line)");
}

void QueueArgs(CLI::App& sub, Options& o) {
  AccountArg(sub, o);
  sub.add_option("--status", o.status,
                 "Only mail in this state (held and queued list the unfinished mail; the others "
                 "search the mail of the last store.keep_finished days)")
      ->check(CLI::IsMember(
          {"held", "queued", "delivered", "failed", "expired", "purged", "quarantined"}));
  sub.add_option("--search", o.query,
                 "Search by a recipient, the sender, the From address, the subject or the "
                 "Message-ID (whole, any case)");
  sub.add_option("--since", o.since, "Only mail received on or after this day (YYYY-MM-DD)");
  LimitOption(sub, o);
  sub.add_option("--before", o.before, "Only messages with a smaller id (the next page)");
}

void ShowMessageArgs(CLI::App& sub, Options& o) {
  AccountArg(sub, o);
  sub.add_option("ID", o.message_id, "The message's id")->required();
}

// The overview's orders besides "name" (GET /api/v1/accounts?sort=): the most first.
const std::vector<std::string> kAccountFigures = {
    "submitted_recently", "sent_today", "errors_today", "error_rate", "quarantined_today",
    "complaints_today",   "held",       "queued",       "pending"};

void AccountListArgs(CLI::App& sub, Options& o) {
  std::vector<std::string> sorts = {"name"};
  sorts.insert(sorts.end(), kAccountFigures.begin(), kAccountFigures.end());
  sub.add_option("--sort", o.sort, "Order: by name, or the most of one figure first")
      ->check(CLI::IsMember(sorts));
  sub.add_option("--state", o.status, "Only accounts in this state")
      ->check(CLI::IsMember({"active", "blocked", "purging"}));
  sub.add_option("--blocked-by", o.blocked_by, "Only accounts blocked by this")
      ->check(
          CLI::IsMember({"customer", "admin", "spam_guard", "bounce_guard", "complaint_guard"}));
  sub.add_option("--search", o.search, "Only accounts whose name contains this");
  sub.add_option("--limit", o.limit, "At most this many rows (1-1000; default 100)")
      ->check(CLI::Range(1, 1000));
  sub.add_option("--cursor", o.cursor, "The page after this (as the last answer printed it)");
}

Query AccountListQuery(const Options& o) {
  Query q;
  if (!o.sort.empty()) q["sort"] = o.sort;
  if (!o.status.empty()) q["state"] = o.status;
  if (!o.blocked_by.empty()) q["blocked_by"] = o.blocked_by;
  if (!o.search.empty()) q["q"] = o.search;
  if (o.limit > 0) q["limit"] = std::to_string(o.limit);
  if (!o.cursor.empty()) q["cursor"] = o.cursor;
  return q;
}

void QuarantineListArgs(CLI::App& sub, Options& o) {
  AccountArg(sub, o);
  LimitOption(sub, o);
}

void QuarantineArgs(CLI::App& sub, Options& o) {
  AccountArg(sub, o);
  sub.add_option("--id", o.ids, "A quarantined message's id (repeatable)")->required();
}

void SelectionArgs(CLI::App& sub, Options& o) {
  AccountArg(sub, o);
  CLI::Option* id = sub.add_option("--id", o.ids, "A held message's id (repeatable)");
  sub.add_option("--from", o.match_from, "Messages whose sender contains this")->excludes(id);
  sub.add_option("--to", o.match_to, "Messages with a recipient containing this")->excludes(id);
  sub.add_option("--subject", o.match_subject, "Messages whose subject contains this")
      ->excludes(id);
  sub.callback([&sub, &o] {
    if (o.ids.empty() && o.match_from.empty() && o.match_to.empty() && o.match_subject.empty()) {
      throw CLI::RequiredError(sub.get_name() +
                               ": name the messages with --id, --from, --to or --subject");
    }
  });
}

void ErrorsArgs(CLI::App& sub, Options& o) {
  AccountArg(sub, o);
  sub.add_option("--since", o.since, "From this day on, YYYY-MM-DD (default: 30 days ago)");
  LimitOption(sub, o);
}

void VolumesArgs(CLI::App& sub, Options& o) {
  AccountArg(sub, o);
  sub.add_option("--days", o.days, "This many days up to today (1-400, default 30)")
      ->check(CLI::Range(1, 400));
}

void ReportToArgs(CLI::App& sub, Options& o) {
  AccountArg(sub, o);
  sub.add_option("ADDRESS", o.address, "One plain e-mail address")->required();
}

void DayArg(CLI::App& sub, Options& o) { sub.add_option("DAY", o.day, "YYYY-MM-DD")->required(); }

// Sender identity (docs/sender-identity.md).
void AccountDomainArgs(CLI::App& sub, Options& o) {
  AccountArg(sub, o);
  sub.add_option("DOMAIN", o.domain, "A domain the account sends as")->required();
}

void DomainListArgs(CLI::App& sub, Options& o) {
  AccountArg(sub, o);
  sub.add_flag("--check", o.check, "Check each domain's DKIM, SPF and DMARC records in DNS");
}

void DkimArgs(CLI::App& sub, Options& o) {
  sub.add_option("DOMAIN", o.domain, "The domain the key signs for")->required();
  sub.add_option("--selector", o.selector, "The key's selector (default: mw and the date)");
  sub.add_option("--algorithm", o.algorithm, "rsa (2048 bits, the default) or ed25519")
      ->check(CLI::IsMember({"rsa", "ed25519"}));
}

void DomainArg(CLI::App& sub, Options& o) {
  sub.add_option("DOMAIN", o.domain, "The domain")->required();
}

json DkimBody(const Options& o, bool rotate) {
  json body = {{"rotate", rotate}};
  if (!o.selector.empty()) body["selector"] = o.selector;
  if (!o.algorithm.empty()) body["algorithm"] = o.algorithm;
  return body;
}

void PlanArg(CLI::App& sub, Options& o) {
  sub.add_option("NAME", o.plan_name, "The plan's name")->required();
}

void PlanSetArgs(CLI::App& sub, Options& o) {
  PlanArg(sub, o);
  sub.add_option("--set-limit", o.set_limits,
                 "KEY=VALUE: one of the plan's keys (max_per_day=200, over_limit=refuse, ...); "
                 "give all of them: a key not given is the server's");
}

// One command of the command line: the words that name it, its help, the API request it
// sends and how its answer is printed. path: the API's, "{account}" standing for the ACCOUNT
// (or NAME) argument, percent-encoded.
// A printer of ctl_answers.h as a command's: it needs none of the options.
template <void (*Print)(const json&)>
void Answer(const Options&, const json& body) {
  Print(body);
}

struct Command {
  std::string_view name;  // one word, or a group's word and one: "accounts list"
  std::string_view help;
  std::string_view method;
  std::string_view path;
  void (*args)(CLI::App&, Options&);  // its arguments and options; nullptr: none
  json (*body)(const Options&);       // nullptr: no body
  Query (*query)(const Options&);     // nullptr: no query
  void (*print)(const Options&, const json&);
};

// The groups that the first word of a two-word command names.
constexpr std::pair<std::string_view, std::string_view> kGroups[] = {
    {"accounts", "List, add, show, change, delete and import accounts"},
    {"token", "Customer tokens"},
    {"domain", "The domains an account sends as"},
    {"dkim", "DKIM signing keys of a domain"},
    {"report", "Daily error reports"},
    {"quarantine", "Mail quarantined by the content scanner: list, release, delete"},
    {"plan", "Plans: named sets of limits that accounts share"},
};

// In the order of --help.
const Command kCommands[] = {
    {"accounts list", "Accounts with their state and today's figures, a page at a time", "GET",
     "/api/v1/accounts", AccountListArgs, nullptr, AccountListQuery, PrintAccounts},
    {"accounts add", "Create an account", "POST", "/api/v1/accounts", NewAccountArgs,
     NewAccountBody, nullptr, PrintCreated},
    {"accounts show", "An account's e-mail status", "GET", "/api/v1/accounts/{account}/email",
     ShowArgs, nullptr, nullptr, [](const Options&, const json& status) { PrintStatus(status); }},
    {"accounts set", "Change an account: uids, report recipient, language, quotas", "PATCH",
     "/api/v1/accounts/{account}", SetAccountArgs, SetAccountBody, nullptr,
     [](const Options& o, const json& status) {
       std::cout << "Account \"" << Clean(o.account) << "\" changed.\n\n";
       PrintStatus(status);
     }},
    {"accounts delete", "Delete an account: tokens revoked, uids freed (--purge: its mail too)",
     "DELETE", "/api/v1/accounts/{account}", DeleteAccountArgs, nullptr,
     [](const Options& o) {
       Query q;
       if (o.purge) q["purge"] = "true";
       return q;
     },
     [](const Options& o, const json& answer) {
       std::cout << "Account \"" << Clean(o.account) << "\" deleted";
       if (const json& n = Field(answer, "purged"); n.is_number() && n.get<std::int64_t>() > 0) {
         std::cout << " with " << n.get<std::int64_t>() << " unfinished messages";
       }
       std::cout << ".\n";
     }},
    // No method: run by ImportAccounts, in several requests.
    {"accounts import", "Create, change and delete the accounts of a file", "", "", ImportArgs,
     nullptr, nullptr, nullptr},
    {"token create", "A new token for one account's API and panel; printed once", "POST",
     "/api/v1/accounts/{account}/tokens", NewTokenArgs, NewTokenBody, nullptr,
     [](const Options&, const json& body) { PrintSecret(body, "token"); }},
    {"token list", "The account's tokens, by id (never the token itself)", "GET",
     "/api/v1/accounts/{account}/tokens", AccountArg, nullptr, nullptr, PrintTokens},
    {"token revoke", "End one of the account's tokens at once", "DELETE",
     "/api/v1/accounts/{account}/tokens/{id}", RevokeTokenArgs, nullptr, nullptr,
     [](const Options& o, const json&) {
       std::cout << "Token " << Clean(o.token_id) << " revoked.\n";
     }},
    {"block", "Hold the account's new mail (scripts still succeed)", "POST",
     "/api/v1/accounts/{account}/email/request", TransitionArgs,
     [](const Options& o) { return ActionBody("BLOCK", o); }, nullptr, PrintTransition},
    {"unblock", "Send the held mail, oldest first, and new mail at once", "POST",
     "/api/v1/accounts/{account}/email/request", TransitionArgs,
     [](const Options& o) { return ActionBody("UNBLOCK", o); }, nullptr, PrintTransition},
    {"purge", "Delete the held mail of a blocked account, then unblock it", "POST",
     "/api/v1/accounts/{account}/email/request", TransitionArgs,
     [](const Options& o) { return ActionBody("PURGE", o); }, nullptr, PrintTransition},
    {"queue", "The account's unfinished mail, or a search of its mail (--search, --status)", "GET",
     "/api/v1/accounts/{account}/email/messages", QueueArgs, nullptr, QueueQuery, PrintQueue},
    {"show", "One message: its recipients' delivery and its history", "GET",
     "/api/v1/accounts/{account}/email/messages/{message}", ShowMessageArgs, nullptr, nullptr,
     Answer<PrintMessageHistory>},
    {"release", "Send chosen held mail without unblocking the account", "POST",
     "/api/v1/accounts/{account}/email/messages/release", SelectionArgs, SelectionBody, nullptr,
     [](const Options&, const json& answer) { PrintActedOn(answer, "released", "Released"); }},
    {"delete", "Delete chosen held mail without unblocking the account", "POST",
     "/api/v1/accounts/{account}/email/messages/delete", SelectionArgs, SelectionBody, nullptr,
     [](const Options&, const json& answer) { PrintActedOn(answer, "deleted", "Deleted"); }},
    {"quarantine list", "The account's mail quarantined by the content scanner", "GET",
     "/api/v1/accounts/{account}/email/messages", QuarantineListArgs, nullptr,
     [](const Options& o) {
       Query q = LimitQuery(o);
       q["status"] = "quarantined";
       return q;
     },
     Answer<PrintQuarantined>},
    {"quarantine release", "Send chosen quarantined mail", "POST",
     "/api/v1/accounts/{account}/email/quarantine/release", QuarantineArgs, QuarantineBody, nullptr,
     [](const Options&, const json& answer) {
       std::cout << "Released " << Cell(Field(answer, "released")) << " quarantined messages.\n";
     }},
    {"quarantine delete", "Delete chosen quarantined mail", "POST",
     "/api/v1/accounts/{account}/email/quarantine/delete", QuarantineArgs, QuarantineBody, nullptr,
     [](const Options&, const json& answer) {
       std::cout << "Deleted " << Cell(Field(answer, "deleted")) << " quarantined messages.\n";
     }},
    {"errors", "The account's failed deliveries", "GET", "/api/v1/accounts/{account}/email/errors",
     ErrorsArgs, nullptr,
     [](const Options& o) {
       Query q = LimitQuery(o);
       q["since"] = o.since;
       return q;
     },
     PrintErrors},
    {"volumes", "The account's mail per day", "GET", "/api/v1/accounts/{account}/email/volumes",
     VolumesArgs, nullptr,
     [](const Options& o) {
       Query q;
       if (o.days > 0) q["days"] = std::to_string(o.days);
       return q;
     },
     PrintVolumes},
    {"report-to", "Change the recipient of the account's error reports", "PUT",
     "/api/v1/accounts/{account}/email", ReportToArgs,
     [](const Options& o) {
       return json{{"report_to", o.address}};
     },
     nullptr, PrintReportTo},
    {"smtp-password", "A new SMTP AUTH password for the account's scripts; printed once", "POST",
     "/api/v1/accounts/{account}/smtp-password", AccountArg, nullptr, nullptr,
     [](const Options&, const json& body) { PrintSecret(body, "password"); }},
    {"report run", "Send a day's reports now (one already sent is not resent)", "POST",
     "/api/v1/reports/run", DayArg,
     [](const Options& o) {
       return json{{"day", o.day}};
     },
     nullptr, PrintReportsRun},
    {"audit", "The latest state changes of all accounts", "GET", "/api/v1/audit", LimitOption,
     nullptr, LimitQuery, PrintAudit},
    {"domain add", "Let the account send as a domain (and its subdomains)", "POST",
     "/api/v1/accounts/{account}/domains", AccountDomainArgs,
     [](const Options& o) {
       return json{{"domain", o.domain}};
     },
     nullptr,
     [](const Options& o, const json& a) {
       std::cout << "Domain " << Text(Field(a, "domain")) << " added to \"" << Clean(o.account)
                 << "\".\n";
     }},
    {"domain remove", "The account no longer sends as a domain", "DELETE",
     "/api/v1/accounts/{account}/domains/{domain}", AccountDomainArgs, nullptr, nullptr,
     [](const Options& o, const json& a) {
       std::cout << "Domain " << Text(Field(a, "domain")) << " removed from \"" << Clean(o.account)
                 << "\".\n";
     }},
    {"domain list", "The account's domains, their DKIM keys and (--check) DNS records", "GET",
     "/api/v1/accounts/{account}/domains", DomainListArgs, nullptr,
     [](const Options& o) {
       Query q;
       if (o.check) q["check"] = "1";
       return q;
     },
     Answer<PrintDomains>},
    {"dkim generate", "A domain's first signing key; prints the TXT record to publish", "POST",
     "/api/v1/dkim/{domain}", DkimArgs, [](const Options& o) { return DkimBody(o, false); },
     nullptr, Answer<PrintDkimKey>},
    {"dkim rotate", "A new signing key in place of the current one, which stays listed", "POST",
     "/api/v1/dkim/{domain}", DkimArgs, [](const Options& o) { return DkimBody(o, true); }, nullptr,
     Answer<PrintDkimKey>},
    {"dkim list", "A domain's keys, signing and retired, with their records", "GET",
     "/api/v1/dkim/{domain}", DomainArg, nullptr, nullptr, Answer<PrintDkimKeys>},
    {"plan list", "The plans and the limits each sets", "GET", "/api/v1/plans", nullptr, nullptr,
     nullptr, Answer<PrintPlans>},
    {"plan show", "One plan's limits", "GET", "/api/v1/plans/{plan}", PlanArg, nullptr, nullptr,
     Answer<PrintPlan>},
    {"plan set", "Create a plan or replace its limits (from every account's next message)", "PUT",
     "/api/v1/plans/{plan}", PlanSetArgs, PlanBody, nullptr, Answer<PrintPlan>},
    {"plan delete", "Delete a plan no account is on", "DELETE", "/api/v1/plans/{plan}", PlanArg,
     nullptr, nullptr,
     [](const Options& o, const json&) {
       std::cout << "Plan \"" << Clean(o.plan_name) << "\" deleted.\n";
     }},
};

// accounts import: the file's rows sent (SendAccountFile), then what was done.
int ImportAccounts(Session& session, const Options& o) {
  std::ifstream in(o.file, std::ios::binary);
  if (!in) return Complain(kExitDataErr, "cannot read " + o.file + ": " + std::strerror(errno));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto rows = ParseAccountFile(text);
  if (!rows) return Complain(kExitDataErr, o.file + ": " + rows.error().message);
  auto sent = SendAccountFile(session.client(), std::move(*rows), o.remove_missing, o.purge);
  if (!sent) {
    return Complain(sent.error().code == ErrorCode::kUnavailable ? kExitUnavailable : kExitSoftware,
                    sent.error().message);
  }
  if (sent->failed) {
    return Complain(ExitForStatus(sent->failed->status), Clean(ApiErrorMessage(*sent->failed)));
  }
  const json& total = sent->total;
  if (session.json()) {
    std::cout << total.dump() << "\n";
  } else {
    std::cout << "created " << total["created"] << ", updated " << total["updated"]
              << ", unchanged " << total["unchanged"] << ", removed " << total["removed"]
              << ", refused " << total["refused"].size() << "\n";
    for (const auto& item : total["refused"]) {
      const json& name = Field(item, "name");
      std::cerr << "mailwardenctl: "
                << (item["line"].is_null() ? std::string("(not in the file)")
                                           : "line " + item["line"].dump())
                << ": " << Clean(name.is_string() ? name.get<std::string>() : "") << ": "
                << Clean(Field(item, "message").get<std::string>()) << "\n";
    }
  }
  return total["refused"].empty() ? kExitOk : kExitDataErr;
}

// The request target of command c: its path with the account put in, and its query.
std::string Target(const Command& c, const Options& o) {
  std::string path(c.path);
  constexpr std::string_view kAccount = "{account}";
  if (const auto at = path.find(kAccount); at != std::string::npos) {
    path.replace(at, kAccount.size(), PercentEncode(o.account));
  }
  constexpr std::string_view kDomain = "{domain}";
  if (const auto at = path.find(kDomain); at != std::string::npos) {
    path.replace(at, kDomain.size(), PercentEncode(o.domain));
  }
  constexpr std::string_view kPlan = "{plan}";
  if (const auto at = path.find(kPlan); at != std::string::npos) {
    path.replace(at, kPlan.size(), PercentEncode(o.plan_name));
  }
  constexpr std::string_view kMessage = "{message}";
  if (const auto at = path.find(kMessage); at != std::string::npos) {
    path.replace(at, kMessage.size(), std::to_string(o.message_id));
  }
  constexpr std::string_view kId = "{id}";
  if (const auto at = path.find(kId); at != std::string::npos) {
    path.replace(at, kId.size(), PercentEncode(o.token_id));
  }
  return c.query != nullptr ? WithQuery(path, c.query(o)) : path;
}

// Adds kCommands to app, each group's word once; returns each command's CLI::App, in order.
std::vector<CLI::App*> AddCommands(CLI::App& app, Options& o) {
  std::map<std::string_view, CLI::App*> groups;
  std::vector<CLI::App*> subs;
  for (const Command& c : kCommands) {
    CLI::App* parent = &app;
    std::string_view word = c.name;
    if (const auto space = c.name.find(' '); space != std::string_view::npos) {
      const std::string_view group = c.name.substr(0, space);
      word = c.name.substr(space + 1);
      auto [it, added] = groups.try_emplace(group, nullptr);
      if (added) {
        std::string_view help;
        for (const auto& [name, group_help] : kGroups) {
          if (name == group) help = group_help;
        }
        it->second = app.add_subcommand(std::string(group), std::string(help));
        it->second->require_subcommand(1);
      }
      parent = it->second;
    }
    CLI::App* sub = parent->add_subcommand(std::string(word), std::string(c.help));
    if (c.args != nullptr) c.args(*sub, o);
    subs.push_back(sub);
  }
  return subs;
}

int Main(int argc, char** argv) {
  Options o;
  CLI::App app{
      "mailwardenctl: the operator's command line of mailwarden (speaks to the "
      "daemon's HTTP API)."};
  app.footer(
      "Exit status: 0 done, 64 usage, 65 refused input (HTTP 400/404), 69 daemon unreachable, "
      "70 unexpected answer, 75 not now (HTTP 409/503), 77 token refused (HTTP 401/403), "
      "78 configuration or token file unusable.");
  app.set_help_all_flag("--help-all", "All commands with their options");
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("--config", o.config, "The daemon's configuration file")->capture_default_str();
  app.add_option("--url", o.url, "The API's address (default: the configuration's http.listen)");
  app.add_option("--token-file", o.token_file,
                 "The admin token's file (default: the configuration's http.admin_token_file)");
  app.add_flag("--json", o.json, "Print the API's JSON as it is, for scripts");
  const std::vector<CLI::App*> subs = AddCommands(app, o);
  CLI::App* doctor = app.add_subcommand(
      "doctor", "Whether local users can step around mailwarden (the firewall's rule set)");
  CLI::App* top = app.add_subcommand(
      "top", "The busiest accounts and the guards' blocks, refreshed like top (Ctrl-C ends it)");
  top->add_option("--sort", o.sort, "The figure, most first: sent_today (the default), ...")
      ->check(CLI::IsMember(kAccountFigures));
  top->add_option("--limit", o.limit, "Accounts shown (default 20)")->check(CLI::Range(1, 1000));
  top->add_option("--interval", o.interval, "Seconds between refreshes")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  top->add_option("-n,--iterations", o.iterations, "Refreshes before it ends (0: until Ctrl-C)")
      ->check(CLI::Range(0, 1000000));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (doctor->parsed()) {
    auto config = LoadConfig(o.config);
    if (!config) return Complain(kExitConfig, o.config + ": " + config.error().message);
    return RunDoctor(*config);
  }
  if (top->parsed()) {
    std::optional<Session> session;
    if (int code = Connect(o, session); code != kExitOk) return code;
    return RunTop(
        *session,
        {.sort = o.sort, .limit = o.limit, .interval = o.interval, .iterations = o.iterations});
  }
  const auto chosen = std::ranges::find_if(subs, [](const CLI::App* sub) { return sub->parsed(); });
  if (chosen == subs.end()) return Complain(kExitUsage, "no command given; see --help");
  const Command& command = kCommands[chosen - subs.begin()];

  std::optional<Session> session;
  if (int code = Connect(o, session); code != kExitOk) return code;
  if (command.method.empty()) return ImportAccounts(*session, o);
  return session->Call(
      command.method, Target(command, o),
      command.body != nullptr ? std::optional<json>(command.body(o)) : std::nullopt,
      [&](const json& body) { command.print(o, body); });
}

}  // namespace
}  // namespace mailwarden

int main(int argc, char** argv) { return mailwarden::Main(argc, argv); }
