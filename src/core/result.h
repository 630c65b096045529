// The error type at module edges: every fallible call across a module boundary returns
// Result<T>, a value or an Error with a code that callers branch on and a sentence for people.
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace mailwarden {

enum class ErrorCode {
  kInvalidInput,  // bad input from a user, a script or the network: tell them why
  kTooLarge,      // input over a configured bound
  kNotFound,      // no such account, message, file
  kConflict,      // a refused state transition (HTTP 409)
  kPermission,    // the caller may not do this (HTTP 403, sendmail 77)
  kUnauthenticated,
  kUnavailable,    // the environment failed (disk, database, network): retry later
  kRefusedSender,  // the message's sender domain is not its account's (policy.sender_check):
                   // permanent (sendmail 65, SMTP 550 5.7.1, HTTP 403)
  kNoRoom,         // the store keeps no more: a storage quota, or its disk is (nearly) full; retry
                   // later (sendmail 75, SMTP 452, HTTP 507)
  kOverLimit,      // past a sending limit with policy.over_limit = "refuse": nothing stored; retry
                   // later (sendmail 75, SMTP 451 4.7.1, HTTP 429)
  kInternal,       // a bug: logged, never shown in detail to a customer
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

template <class T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> Fail(ErrorCode code, std::string message) {
  return std::unexpected<Error>(Error{code, std::move(message)});
}

const char* ErrorCodeName(ErrorCode code);

}  // namespace mailwarden

// Early return of an Error from a function that returns a Result.
#define MW_CONCAT_INNER(a, b) a##b
#define MW_CONCAT(a, b) MW_CONCAT_INNER(a, b)
#define MW_RETURN_IF_ERROR(expr)                            \
  do {                                                      \
    if (auto mw_status = (expr); !mw_status) {              \
      return std::unexpected(std::move(mw_status).error()); \
    }                                                       \
  } while (false)
#define MW_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr)    \
  auto tmp = (expr);                                \
  if (!tmp) {                                       \
    return std::unexpected(std::move(tmp).error()); \
  }                                                 \
  lhs = std::move(*tmp)
#define MW_ASSIGN_OR_RETURN(lhs, expr) \
  MW_ASSIGN_OR_RETURN_IMPL(MW_CONCAT(mw_result_, __LINE__), lhs, expr)

namespace mailwarden {}  // namespace mailwarden
