// AuthFailureLimiter: failed AUTH attempts per client key in a sliding window, for the SMTP
// listener's lock-out of password guessing.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <string>
#include <unordered_map>
#include <utility>

namespace mailwarden {

// Counts failed AUTH per client key in a sliding window. Pure: time is passed in, so tests
// control it. Memory is bounded: keys with no failure in the window are dropped, and at most
// max_keys are tracked (the oldest is forgotten first).
class AuthFailureLimiter {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  AuthFailureLimiter(int max_failures, std::chrono::seconds window, std::size_t max_keys = 10000)
      : max_failures_(max_failures), window_(window), max_keys_(max_keys) {}

  // True when key may try again: fewer than max_failures failures within the window.
  bool Allowed(const std::string& key, TimePoint now);
  void RecordFailure(const std::string& key, TimePoint now);
  std::size_t tracked_keys() const { return failures_.size(); }

 private:
  void Expire(TimePoint now);

  int max_failures_;
  std::chrono::seconds window_;
  std::size_t max_keys_;
  std::unordered_map<std::string, std::deque<TimePoint>> failures_;
  std::deque<std::pair<TimePoint, std::string>> order_;  // every failure, oldest first
};

}  // namespace mailwarden
