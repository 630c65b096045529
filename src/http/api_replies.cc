#include "http/api_replies.h"

#include <charconv>

namespace mailwarden {

using json = nlohmann::json;

HttpResponse Refuse(int status, std::string_view code, std::string_view message) {
  return HttpResponse::ErrorWith(status, code, message);
}

HttpResponse BadRequest(std::string_view message) { return Refuse(400, "invalid_input", message); }

Result<json> ParseObject(const std::string& body) {
  json value = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded() || !value.is_object()) {
    return Fail(ErrorCode::kInvalidInput, "The request body must be a JSON object.");
  }
  return value;
}

Result<int> QueryInt(const HttpRequest& r, const std::string& key, int fallback, int min, int max) {
  auto it = r.query.find(key);
  if (it == r.query.end() || it->second.empty()) return fallback;
  int value = 0;
  auto [ptr, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), value);
  if (ec != std::errc() || ptr != it->second.data() + it->second.size() || value < min ||
      value > max) {
    return Fail(ErrorCode::kInvalidInput, "\"" + key + "\" must be a whole number from " +
                                              std::to_string(min) + " to " + std::to_string(max) +
                                              ".");
  }
  return value;
}

}  // namespace mailwarden
