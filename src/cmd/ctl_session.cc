#include "cmd/ctl_session.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>

#include "cmd/ctl_table.h"

namespace mailwarden {

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

// The token file's content, trimmed; the exit code and sentence when it cannot be used.

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

int Session::Call(std::string_view method, const std::string& target,
                  std::optional<nlohmann::json> body,
                  const std::function<void(const nlohmann::json&)>& render) {
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

}  // namespace mailwarden
