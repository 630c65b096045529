#include "core/suppression.h"

#include <cstdio>

#include "core/text.h"

namespace mailwarden {

bool Suppresses(std::string_view category) {
  return category == "bad_mailbox" || category == "bad_domain";
}

std::string SuppressionAddress(std::string_view address) {
  const std::size_t at = address.rfind('@');
  if (at == std::string_view::npos) return std::string(address);
  return std::string(address.substr(0, at + 1)) + ToAsciiLower(address.substr(at + 1));
}

std::string SuppressedReply(std::string_view category, std::string_view status,
                            std::string_view reply, TimePoint at) {
  const auto day = std::chrono::floor<std::chrono::days>(at);
  const std::chrono::year_month_day ymd{day};
  std::string why(category);
  if (!status.empty()) why += ", " + std::string(status);
  char date[16];
  std::snprintf(date, sizeof date, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return "suppressed: not sent; this address failed on " + std::string(date) + " (" + why +
         "): " + std::string(reply);
}

}  // namespace mailwarden
