// What every route of the API shares to read a request and refuse one: the error answers and
// the readers of a JSON body and of a whole-number query parameter.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/result.h"
#include "http/http_types.h"

namespace mailwarden {

// {"error": code, "message": message} with that status.
HttpResponse Refuse(int status, std::string_view code, std::string_view message);
// 400 invalid_input.
HttpResponse BadRequest(std::string_view message);
// The body as a JSON object; kInvalidInput for anything else.
Result<nlohmann::json> ParseObject(const std::string& body);
// A whole-number query parameter within [min, max], or fallback when absent; kInvalidInput
// naming the parameter otherwise.
Result<int> QueryInt(const HttpRequest& r, const std::string& key, int fallback, int min, int max);

}  // namespace mailwarden
