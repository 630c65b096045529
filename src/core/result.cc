#include "core/result.h"

namespace mailwarden {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidInput:
      return "invalid_input";
    case ErrorCode::kTooLarge:
      return "too_large";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kConflict:
      return "conflict";
    case ErrorCode::kPermission:
      return "forbidden";
    case ErrorCode::kUnauthenticated:
      return "unauthenticated";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kRefusedSender:
      return "sender_not_allowed";
    case ErrorCode::kNoRoom:
      return "no_room";
    case ErrorCode::kInternal:
      return "internal";
    case ErrorCode::kOverLimit:
      return "over_limit";
  }
  return "internal";
}

}  // namespace mailwarden
