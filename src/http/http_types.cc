#include "http/http_types.h"

namespace mailwarden {

int HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidInput:
      return 400;
    case ErrorCode::kTooLarge:
      return 413;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kConflict:
      return 409;
    case ErrorCode::kPermission:
      return 403;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kRefusedSender:
      return 403;
    case ErrorCode::kNoRoom:
      return 507;  // Insufficient Storage
    case ErrorCode::kInternal:
      return 500;
    case ErrorCode::kOverLimit:
      return 429;
  }
  return 500;
}

HttpResponse HttpResponse::Json(int status, const nlohmann::json& value) {
  HttpResponse r;
  r.status = status;
  // Total: text from the store that is not UTF-8 (an address or subject stored raw by an older
  // release, or by any path that did not clean it) is answered with U+FFFD in its place, not
  // with the exception that would make the whole list a 500, and hide what it lists.
  r.body = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

HttpResponse HttpResponse::ErrorWith(int status, std::string_view code, std::string_view message) {
  return Json(status, {{"error", code}, {"message", message}});
}

HttpResponse HttpResponse::FromError(const Error& error) {
  // An internal error's details go to the log, not to the customer.
  if (error.code == ErrorCode::kInternal) {
    return ErrorWith(500, "internal", kInternalErrorMessage);
  }
  return ErrorWith(HttpStatusFor(error.code), ErrorCodeName(error.code), error.message);
}

}  // namespace mailwarden
