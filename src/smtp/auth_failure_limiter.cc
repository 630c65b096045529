#include "smtp/auth_failure_limiter.h"

#include <algorithm>

namespace mailwarden {

bool AuthFailureLimiter::Allowed(const std::string& key, TimePoint now) {
  Expire(now);
  auto it = failures_.find(key);
  return it == failures_.end() || it->second.size() < static_cast<std::size_t>(max_failures_);
}

void AuthFailureLimiter::RecordFailure(const std::string& key, TimePoint now) {
  Expire(now);
  failures_[key].push_back(now);
  order_.emplace_back(now, key);
  const std::size_t max_entries = max_keys_ * static_cast<std::size_t>(std::max(max_failures_, 1));
  while (!order_.empty() && (failures_.size() > max_keys_ || order_.size() > max_entries)) {
    auto it = failures_.find(order_.front().second);
    if (it != failures_.end()) {
      it->second.pop_front();
      if (it->second.empty()) failures_.erase(it);
    }
    order_.pop_front();
  }
}

void AuthFailureLimiter::Expire(TimePoint now) {
  // Failures are recorded in time order, so the oldest of order_ is the oldest of its key.
  while (!order_.empty() && order_.front().first + window_ <= now) {
    auto it = failures_.find(order_.front().second);
    if (it != failures_.end()) {
      it->second.pop_front();
      if (it->second.empty()) failures_.erase(it);
    }
    order_.pop_front();
  }
}

}  // namespace mailwarden
