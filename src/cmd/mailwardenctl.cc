// NAME
//   mailwardenctl - the operator's command line of mailwarden
//
// SYNOPSIS
//   mailwardenctl [--config FILE] [--url URL] [--token-file FILE] [--json] COMMAND ...
//
//   accounts list
//   accounts add NAME --uid N [--uid N ...] [--report-to ADDRESS] [--language en|pl]
//                [--max-per-day N] [--max-per-hour N]
//   accounts show NAME
//   token create ACCOUNT
//   block ACCOUNT [--reason TEXT]
//   unblock ACCOUNT [--reason TEXT]
//   purge ACCOUNT [--reason TEXT]
//   queue ACCOUNT [--status held|queued] [--limit N] [--before ID]
//   release ACCOUNT (--id N ... | [--from X] [--to X] [--subject X])
//   delete ACCOUNT (--id N ... | [--from X] [--to X] [--subject X])
//   errors ACCOUNT [--since YYYY-MM-DD] [--limit N]
//   volumes ACCOUNT [--days N]
//   report-to ACCOUNT ADDRESS
//   smtp-password ACCOUNT
//   report run YYYY-MM-DD
//   audit [--limit N]
//
// DESCRIPTION
//   Speaks to mailwardend's HTTP API (DESIGN.md, "HTTP API") as the administrator. The address
//   is the configuration's http.listen and the token the content of its
//   http.admin_token_file (white space trimmed), from --config (default
//   /etc/mailwarden/mailwarden.toml); --url and --token-file override them, and with both the
//   configuration is not read. "accounts show" prints an account's e-mail status; block,
//   unblock and purge ask for the transitions of DESIGN.md ("Account states") and print the
//   daemon's confirmation and the state it led to; queue lists the account's unfinished mail
//   (held while it is blocked, queued while it is active), newest first; release and delete act
//   on chosen held mail without unblocking (--from, --to and --subject match parts of the
//   text and may be combined); report-to changes the recipient of the account's error reports;
//   "token create" prints a new customer token for one account, alone on its line, and
//   smtp-password a new SMTP AUTH password the same way; "report run" sends a day's error
//   reports now (a report already sent is not sent twice). Output is meant for people:
//   aligned tables with headers. With --json the API's JSON is printed as received, for
//   scripts (on a refusal too: its {"error","message"} goes to standard output).
//
// SECURITY
//   The admin token reaches every account: keep its file readable by the operator only
//   (mode 0600, or 0640 with an operators' group); mailwardenctl warns when anyone may read
//   it. The token is never taken from the command line, where other users see it. Plain HTTP
//   is spoken, so the API must be reached over loopback or a network the provider trusts.
//   Text from mail (subjects, addresses, replies) is shown with control characters replaced,
//   so a message cannot send escape sequences to the operator's terminal.
//
// DIAGNOSTICS
//   Problems go to standard error as "mailwardenctl: MESSAGE", with the API's own sentence
//   for a refusal. Exit status, from sysexits(3): 0 done; 64 usage error; 65 the daemon
//   refused the input (HTTP 400, or 404: no such account); 69 the daemon cannot be reached
//   (not running, wrong address, no answer in time: the request may then have been carried
//   out or not); 70 anything else (an unexpected status or answer); 75 the state does not
//   allow it now, or the daemon is busy (HTTP 409, 429, 503): the message says why;
//   77 the token is refused (HTTP 401, 403) or its file cannot be read for lack of permission;
//   78 the configuration or the token file is unusable.

#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "http/api_client.h"

namespace mailwarden {
namespace {

using nlohmann::json;

enum ExitCode : int {
  kExitOk = 0,
  kExitUsage = 64,
  kExitDataErr = 65,
  kExitUnavailable = 69,
  kExitSoftware = 70,
  kExitTempFail = 75,
  kExitNoPerm = 77,
  kExitConfig = 78,
};

constexpr std::string_view kDefaultConfig = "/etc/mailwarden/mailwarden.toml";
constexpr std::size_t kMaxCellWidth = 48;

int ExitForStatus(int status) {
  switch (status) {
    case 400:
    case 404:
    case 413:
      return kExitDataErr;
    case 401:
    case 403:
      return kExitNoPerm;
    case 409:
    case 429:
    case 503:
      return kExitTempFail;
    default:
      return kExitSoftware;
  }
}

int Complain(int code, std::string_view message) {
  std::cerr << "mailwardenctl: " << message << "\n";
  return code;
}

// Width on a terminal, counting UTF-8 code points.
std::size_t DisplayWidth(std::string_view s) {
  std::size_t n = 0;
  for (const unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Control characters out (a subject cannot drive the terminal: C0, DEL and C1 become '?'),
// then cut to max code points, the cut marked with "...".
std::string Clean(std::string_view s, std::size_t max = std::string::npos) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = s[i];
    if (c < 0x20 || c == 0x7f) {
      out.push_back('?');
    } else if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) < 0xA0 &&
               static_cast<unsigned char>(s[i + 1]) >= 0x80) {
      out.push_back('?');
      ++i;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (max == std::string::npos || DisplayWidth(out) <= max || max < 4) return out;
  std::size_t kept = 0;
  std::size_t end = 0;
  for (; end < out.size(); ++end) {
    if ((static_cast<unsigned char>(out[end]) & 0xC0) != 0x80 && kept++ == max - 3) break;
  }
  out.resize(end);
  return out + "...";
}

std::string Cell(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return Clean(v.get<std::string>(), kMaxCellWidth);
  if (v.is_array()) {
    std::string joined;
    for (const auto& item : v) {
      if (!joined.empty()) joined += ",";
      joined += item.is_string() ? item.get<std::string>() : item.dump();
    }
    return Clean(joined, kMaxCellWidth);
  }
  return Clean(v.dump(), kMaxCellWidth);
}

const json& Field(const json& object, const char* key) {
  static const json kNull;
  if (!object.is_object()) return kNull;
  auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

void PrintTable(const std::vector<std::string>& headers,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths(headers.size());
  for (std::size_t i = 0; i < headers.size(); ++i) widths[i] = DisplayWidth(headers[i]);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], DisplayWidth(row[i]));
    }
  }
  auto print = [&](const std::vector<std::string>& row) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - DisplayWidth(row[i]) + 2, ' ');
    }
    std::cout << line << "\n";
  };
  print(headers);
  for (const auto& row : rows) print(row);
}

void PrintItems(const json& body, const std::vector<std::string>& headers,
                const std::vector<const char*>& keys, std::string_view none) {
  const json& items = Field(body, "items");
  if (!items.is_array() || items.empty()) {
    std::cout << none << "\n";
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& item : items) {
    std::vector<std::string> row;
    for (const char* key : keys) row.push_back(Cell(Field(item, key)));
    rows.push_back(std::move(row));
  }
  PrintTable(headers, rows);
}

// GET .../email, a POST .../request answer or a new account: one field a line.
void PrintStatus(const json& s) {
  static const std::vector<std::pair<const char*, const char*>> kFields = {
      {"account", "account"},         {"state", "state"},         {"blocked_by", "blocked by"},
      {"reason", "reason"},           {"since", "since"},         {"sent", "sent"},
      {"sent_today", "sent today"},   {"errors", "errors"},       {"held", "held"},
      {"queued", "queued"},           {"expired", "expired"},     {"purged", "purged"},
      {"max_per_day", "max per day"}, {"report_to", "report to"}, {"language", "language"},
  };
  std::vector<std::vector<std::string>> rows;
  for (const auto& [key, label] : kFields) {
    if (s.is_object() && s.contains(key)) rows.push_back({label, Cell(s[key])});
  }
  PrintTable({"FIELD", "VALUE"}, rows);
}

// The token file's content, trimmed; the exit code and sentence when it cannot be used.
struct TokenProblem {
  int code;
  std::string message;
};
std::expected<std::string, TokenProblem> ReadToken(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) {
    const int err = errno;
    return std::unexpected(
        TokenProblem{err == EACCES ? kExitNoPerm : kExitConfig,
                     "cannot read the admin token " + file.string() + ": " + std::strerror(err) +
                         (err == EACCES ? " (run as the operator who owns it)" : "")});
  }
  std::string token((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto first = token.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) {
    return std::unexpected(
        TokenProblem{kExitConfig, "the admin token " + file.string() + " is empty"});
  }
  token = token.substr(first, token.find_last_not_of(" \t\r\n") - first + 1);
  struct stat st {};
  if (::stat(file.c_str(), &st) == 0 && (st.st_mode & S_IRWXO) != 0) {
    std::cerr << "mailwardenctl: warning: every user may read the admin token " << file.string()
              << "; chmod 600 it\n";
  }
  return token;
}

// One conversation with the daemon: sends a request, prints the answer or the refusal.
class Session {
 public:
  Session(ApiClient client, bool json) : client_(std::move(client)), json_(json) {}

  // Sends; on a 2xx answer prints it (the raw JSON, or render's view of it) and returns 0.
  int Call(std::string_view method, const std::string& target, std::optional<json> body,
           const std::function<void(const json&)>& render) {
    auto response = client_.Request(method, target, body);
    if (!response) {
      return Complain(
          response.error().code == ErrorCode::kUnavailable ? kExitUnavailable : kExitSoftware,
          response.error().message);
    }
    if (response->status < 200 || response->status >= 300) {
      if (json_ && response->json.is_object()) std::cout << response->body << "\n";
      return Complain(ExitForStatus(response->status), Clean(ApiErrorMessage(*response)));
    }
    if (json_) {
      std::cout << response->body << "\n";
    } else {
      render(response->json);
    }
    return kExitOk;
  }

 private:
  ApiClient client_;
  bool json_;
};

std::string AccountPath(const std::string& name, std::string_view rest = "") {
  return "/api/v1/accounts/" + PercentEncode(name) + std::string(rest);
}

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
  std::string status;
  int limit = 0;
  std::uint64_t before = 0;
  int days = 0;
  std::string since;
  std::vector<std::uint64_t> ids;
  std::string match_from;
  std::string match_to;
  std::string match_subject;
  std::string address;
  std::string day;
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

int Main(int argc, char** argv) {
  Options o;
  std::function<int(Session&)> command;

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

  auto account_arg = [&](CLI::App* sub) {
    sub->add_option("ACCOUNT", o.account, "The account's name")->required();
  };
  auto limit_opt = [&](CLI::App* sub) {
    sub->add_option("--limit", o.limit, "At most this many rows (1-500)")
        ->check(CLI::Range(1, 500));
  };

  CLI::App* accounts = app.add_subcommand("accounts", "List, add and show accounts");
  accounts->require_subcommand(1);
  accounts->add_subcommand("list", "All accounts with their state")->callback([&] {
    command = [](Session& s) {
      return s.Call("GET", "/api/v1/accounts", std::nullopt, [](const json& body) {
        PrintItems(body, {"NAME", "STATE", "BLOCKED BY", "PENDING", "UIDS", "REPORT TO", "LANG"},
                   {"name", "state", "blocked_by", "pending", "uids", "report_to", "language"},
                   "No accounts.");
      });
    };
  });
  CLI::App* add = accounts->add_subcommand("add", "Create an account");
  add->add_option("NAME", o.account, "a-z, 0-9, '.', '_', '-'")->required();
  add->add_option("--uid", o.uids, "A Unix uid whose scripts' mail is this account's")->required();
  add->add_option("--report-to", o.report_to, "Recipient of the daily error reports");
  add->add_option("--language", o.language, "Language of the reports")
      ->check(CLI::IsMember({"en", "pl"}));
  add->add_option("--max-per-day", o.max_per_day, "Quota: messages a day (excess waits)")
      ->check(CLI::Range(0, 100'000'000));
  add->add_option("--max-per-hour", o.max_per_hour, "Quota: messages an hour (excess waits)")
      ->check(CLI::Range(0, 100'000'000));
  add->callback([&] {
    command = [&o](Session& s) {
      json body = {{"name", o.account}, {"uids", o.uids}};
      if (!o.report_to.empty()) body["report_to"] = o.report_to;
      if (!o.language.empty()) body["language"] = o.language;
      if (o.max_per_day) body["max_per_day"] = *o.max_per_day;
      if (o.max_per_hour) body["max_per_hour"] = *o.max_per_hour;
      return s.Call("POST", "/api/v1/accounts", body, [&o](const json& status) {
        std::cout << "Account \"" << Clean(o.account) << "\" created.\n\n";
        PrintStatus(status);
      });
    };
  });
  CLI::App* show = accounts->add_subcommand("show", "An account's e-mail status");
  show->add_option("NAME", o.account, "The account's name")->required();
  show->callback([&] {
    command = [&o](Session& s) {
      return s.Call("GET", AccountPath(o.account, "/email"), std::nullopt, PrintStatus);
    };
  });

  CLI::App* token = app.add_subcommand("token", "Customer tokens");
  token->require_subcommand(1);
  CLI::App* token_create =
      token->add_subcommand("create", "A new token for one account's API and panel; printed once");
  account_arg(token_create);
  token_create->callback([&] {
    command = [&o](Session& s) {
      return s.Call("POST", AccountPath(o.account, "/tokens"), std::nullopt, [](const json& body) {
        const json& t = Field(body, "token");
        std::cout << Clean(t.is_string() ? t.get<std::string>() : "") << "\n";
      });
    };
  });

  for (const char* action : {"block", "unblock", "purge"}) {
    static const std::map<std::string, std::string> kHelp = {
        {"block", "Hold the account's new mail (scripts still succeed)"},
        {"unblock", "Send the held mail, oldest first, and new mail at once"},
        {"purge", "Delete the held mail of a blocked account, then unblock it"},
    };
    CLI::App* sub = app.add_subcommand(action, kHelp.at(action));
    account_arg(sub);
    sub->add_option("--reason", o.reason, "Why, for the audit log (one line)");
    sub->callback([&o, &command, action] {
      command = [&o, action](Session& s) {
        std::string verb = action;
        for (char& c : verb) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        json body = {{"action", verb}};
        if (!o.reason.empty()) body["reason"] = o.reason;
        return s.Call("POST", AccountPath(o.account, "/email/request"), body,
                      [](const json& status) {
                        PrintMessage(status);
                        PrintStatus(status);
                      });
      };
    });
  }

  CLI::App* queue = app.add_subcommand("queue", "The account's unfinished mail, newest first");
  account_arg(queue);
  queue->add_option("--status", o.status, "Only held or only queued mail")
      ->check(CLI::IsMember({"held", "queued"}));
  limit_opt(queue);
  queue->add_option("--before", o.before, "Only messages with a smaller id (the next page)");
  queue->callback([&] {
    command = [&o](Session& s) {
      std::map<std::string, std::string> q = {{"status", o.status}};
      if (o.limit > 0) q["limit"] = std::to_string(o.limit);
      if (o.before > 0) q["before"] = std::to_string(o.before);
      return s.Call("GET", WithQuery(AccountPath(o.account, "/email/messages"), q), std::nullopt,
                    [&o](const json& body) {
                      PrintItems(body, {"ID", "DATE", "FROM", "TO", "SUBJECT", "SCRIPT", "SIZE"},
                                 {"id", "date", "from", "to", "subject", "script", "size"},
                                 o.status == "held"     ? "No held messages."
                                 : o.status == "queued" ? "No queued messages."
                                                        : "No messages.");
                      if (const json& next = Field(body, "next"); next.is_string()) {
                        std::cout << "More: mailwardenctl queue " << Clean(o.account)
                                  << " --before " << Clean(next.get<std::string>()) << "\n";
                      }
                    });
    };
  });

  for (const char* verb : {"release", "delete"}) {
    CLI::App* sub =
        app.add_subcommand(verb, std::string(verb) == "release"
                                     ? "Send chosen held mail without unblocking the account"
                                     : "Delete chosen held mail without unblocking the account");
    account_arg(sub);
    CLI::Option* id = sub->add_option("--id", o.ids, "A held message's id (repeatable)");
    for (auto [flag, target, help] : {
             std::tuple{"--from", &o.match_from, "Messages whose sender contains this"},
             std::tuple{"--to", &o.match_to, "Messages with a recipient containing this"},
             std::tuple{"--subject", &o.match_subject, "Messages whose subject contains this"},
         }) {
      sub->add_option(flag, *target, help)->excludes(id);
    }
    sub->callback([&o, &command, sub, verb] {
      if (o.ids.empty() && o.match_from.empty() && o.match_to.empty() && o.match_subject.empty()) {
        throw CLI::RequiredError(sub->get_name() +
                                 ": name the messages with --id, --from, --to "
                                 "or --subject");
      }
      command = [&o, verb](Session& s) {
        json body;
        if (!o.ids.empty()) {
          body["ids"] = o.ids;
        } else {
          json match = json::object();
          if (!o.match_from.empty()) match["from"] = o.match_from;
          if (!o.match_to.empty()) match["to"] = o.match_to;
          if (!o.match_subject.empty()) match["subject"] = o.match_subject;
          body["match"] = match;
        }
        const std::string what = std::string(verb) == "release" ? "released" : "deleted";
        return s.Call("POST", AccountPath(o.account, "/email/messages/" + std::string(verb)), body,
                      [what](const json& answer) {
                        const json& n = Field(answer, what.c_str());
                        const bool one = n.is_number() && n.get<std::int64_t>() == 1;
                        std::cout << (what == "released" ? "Released " : "Deleted ") << Cell(n)
                                  << (one ? " held message.\n" : " held messages.\n");
                      });
      };
    });
  }

  CLI::App* errors = app.add_subcommand("errors", "The account's failed deliveries");
  account_arg(errors);
  errors->add_option("--since", o.since, "From this day on, YYYY-MM-DD (default: 30 days ago)");
  limit_opt(errors);
  errors->callback([&] {
    command = [&o](Session& s) {
      std::map<std::string, std::string> q = {{"since", o.since}};
      if (o.limit > 0) q["limit"] = std::to_string(o.limit);
      return s.Call("GET", WithQuery(AccountPath(o.account, "/email/errors"), q), std::nullopt,
                    [](const json& body) {
                      PrintItems(body, {"DATE", "ID", "RECIPIENT", "REPLY", "SUBJECT"},
                                 {"date", "id", "recipient", "reply", "subject"}, "No errors.");
                    });
    };
  });

  CLI::App* volumes = app.add_subcommand("volumes", "The account's mail per day");
  account_arg(volumes);
  volumes->add_option("--days", o.days, "This many days up to today (1-400, default 30)")
      ->check(CLI::Range(1, 400));
  volumes->callback([&] {
    command = [&o](Session& s) {
      std::map<std::string, std::string> q;
      if (o.days > 0) q["days"] = std::to_string(o.days);
      return s.Call("GET", WithQuery(AccountPath(o.account, "/email/volumes"), q), std::nullopt,
                    [](const json& body) {
                      PrintItems(body, {"DAY", "SUBMITTED", "SENT", "ERRORS", "EXPIRED", "PURGED"},
                                 {"day", "submitted", "sent", "errors", "expired", "purged"},
                                 "No mail.");
                    });
    };
  });

  CLI::App* report_to =
      app.add_subcommand("report-to", "Change the recipient of the account's error reports");
  account_arg(report_to);
  report_to->add_option("ADDRESS", o.address, "One plain e-mail address")->required();
  report_to->callback([&] {
    command = [&o](Session& s) {
      return s.Call("PUT", AccountPath(o.account, "/email"), json{{"report_to", o.address}},
                    [](const json& status) {
                      std::cout << "Error reports go to " << Cell(Field(status, "report_to"))
                                << ".\n\n";
                      PrintStatus(status);
                    });
    };
  });

  CLI::App* smtp_password = app.add_subcommand(
      "smtp-password", "A new SMTP AUTH password for the account's scripts; printed once");
  account_arg(smtp_password);
  smtp_password->callback([&] {
    command = [&o](Session& s) {
      return s.Call("POST", AccountPath(o.account, "/smtp-password"), std::nullopt,
                    [](const json& body) {
                      const json& p = Field(body, "password");
                      std::cout << Clean(p.is_string() ? p.get<std::string>() : "") << "\n";
                    });
    };
  });

  CLI::App* report = app.add_subcommand("report", "Daily error reports");
  report->require_subcommand(1);
  CLI::App* report_run =
      report->add_subcommand("run", "Send a day's reports now (one already sent is not resent)");
  report_run->add_option("DAY", o.day, "YYYY-MM-DD")->required();
  report_run->callback([&] {
    command = [&o](Session& s) {
      return s.Call("POST", "/api/v1/reports/run", json{{"day", o.day}}, [](const json& body) {
        std::cout << "Reports of " << Cell(Field(body, "day"))
                  << " sent: " << Cell(Field(body, "sent")) << ".\n";
      });
    };
  });

  CLI::App* audit = app.add_subcommand("audit", "The latest state changes of all accounts");
  limit_opt(audit);
  audit->callback([&] {
    command = [&o](Session& s) {
      std::map<std::string, std::string> q;
      if (o.limit > 0) q["limit"] = std::to_string(o.limit);
      return s.Call("GET", WithQuery("/api/v1/audit", q), std::nullopt, [](const json& body) {
        PrintItems(body, {"AT", "ACCOUNT", "ACTOR", "ACTION", "FROM", "TO", "REASON"},
                   {"at", "account", "actor", "action", "from", "to", "reason"},
                   "No state changes.");
      });
    };
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (!command) return Complain(kExitUsage, "no command given; see --help");

  std::optional<Session> session;
  if (int code = Connect(o, session); code != kExitOk) return code;
  return command(*session);
}

}  // namespace
}  // namespace mailwarden

int main(int argc, char** argv) { return mailwarden::Main(argc, argv); }
