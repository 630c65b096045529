// mailwardenctl's exit codes (sysexits), its messages to standard error, the admin token it
// reads, and one conversation with the daemon's API.
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
#pragma once

#include <expected>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "http/api_client.h"

namespace mailwarden {

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

// The exit code of an HTTP refusal.
int ExitForStatus(int status);

// Prints "mailwardenctl: message" to standard error; returns code.
int Complain(int code, std::string_view message);

struct TokenProblem {
  int code;
  std::string message;
};
// The admin token in file, trimmed; warns when every user may read it.
std::expected<std::string, TokenProblem> ReadToken(const std::filesystem::path& file);

// One conversation with the daemon: sends a request, prints the answer or the refusal.
class Session {
 public:
  Session(ApiClient client, bool json) : client_(std::move(client)), json_(json) {}

  // Sends; on a 2xx answer prints it (the raw JSON, or render's view of it) and returns 0.
  int Call(std::string_view method, const std::string& target, std::optional<nlohmann::json> body,
           const std::function<void(const nlohmann::json&)>& render);

  const ApiClient& client() const { return client_; }
  bool json() const { return json_; }

 private:
  ApiClient client_;
  bool json_;
};

}  // namespace mailwarden
