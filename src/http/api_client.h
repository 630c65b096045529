// A small synchronous client of the daemon's HTTP API (api.h), for mailwardenctl and tests:
// one request per connection over plain HTTP/1.1, JSON in and out, a deadline on every request
// and a bound on what it reads back.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace mailwarden {

// What the daemon answered. Any HTTP status is a response (an error status is the API's
// {"error","message"}); only a failure to get an answer is an Error.
struct ApiResponse {
  int status = 0;
  std::string body;     // as received
  nlohmann::json json;  // the body parsed; null when the body was empty
};

// The text after "mailwardenctl: " for an error response: the API's "message", else a sentence
// naming the status.
std::string ApiErrorMessage(const ApiResponse& response);

// "a b/c" -> "a%20b%2Fc": one path segment or query value, with only unreserved characters
// left as they are.
std::string PercentEncode(std::string_view text);

// "/api/v1/audit" + {{"limit","5"}} -> "/api/v1/audit?limit=5"; empty values are left out.
std::string WithQuery(std::string path, const std::map<std::string, std::string>& query);

class ApiClient {
 public:
  struct Options {
    // "http://host:port" (a path after it is a prefix for every request), or "host:port" as
    // http.listen writes it. A wildcard listen address (0.0.0.0, ::) means this host.
    std::string url;
    std::string token;  // sent as "Authorization: Bearer TOKEN"
    std::chrono::milliseconds timeout{std::chrono::seconds(30)};  // the whole request
    std::size_t max_response_bytes = 16 * 1024 * 1024;
  };

  // Checks the URL. Fails with kInvalidInput naming what is wrong with it (https is not
  // spoken: the API listens on loopback or behind the provider's own TLS proxy).
  static Result<ApiClient> Create(Options options);

  // Sends METHOD target (a path with its query, e.g. "/api/v1/audit?limit=5") with body as
  // JSON when given, waits for the answer. Fails with kUnavailable when the daemon cannot be
  // reached, the connection breaks or the deadline passes (the request may then have been
  // carried out or not), kTooLarge past max_response_bytes, kInternal when the answer is not
  // HTTP or (for a 2xx status) not JSON. Throws nothing. Not thread-safe; blocks the caller.
  Result<ApiResponse> Request(std::string_view method, std::string_view target,
                              const std::optional<nlohmann::json>& body = std::nullopt) const;

  // "http://127.0.0.1:8025", for messages.
  const std::string& base_url() const { return base_url_; }

 private:
  ApiClient() = default;

  Options options_;
  std::string host_;         // for connecting: no brackets around an IPv6 address
  std::string host_header_;  // "127.0.0.1:8025", "[::1]:8025"
  std::string port_;
  std::string prefix_;  // a path before every target, without the trailing '/'
  std::string base_url_;
};

}  // namespace mailwarden
