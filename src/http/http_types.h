// What the HTTP layer hands to the API and gets back: a parsed request and a JSON response.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace mailwarden {

struct HttpRequest {
  std::string method;                        // "GET", "POST", "PUT"
  std::string path;                          // without the query
  std::vector<std::string> segments;         // path split on '/', percent-decoded
  std::map<std::string, std::string> query;  // percent-decoded
  std::string body;
  std::string bearer_token;  // from "Authorization: Bearer ...", or empty
  bool from_loopback = false;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static HttpResponse Json(int status, const nlohmann::json& value);
  // {"error": code, "message": sentence} with the status the one table gives for code.
  static HttpResponse FromError(const Error& error);
  static HttpResponse ErrorWith(int status, std::string_view code, std::string_view message);
};

// The one table that maps internal errors to HTTP statuses.
int HttpStatusFor(ErrorCode code);

// What a customer is told of an internal error (kInternal), whose details go to the log only.
inline constexpr std::string_view kInternalErrorMessage =
    "Something went wrong on our side; please try again later.";

}  // namespace mailwarden
