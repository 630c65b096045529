// TimeShare: how much of one thread's time a kind of work may take while other work keeps
// coming. Time is cut into windows; in a window where other work came (or in the one after
// it), the work may use `share` of the window, and then waits for the next; with nothing else
// coming, it runs flat out. The store thread gives its maintenance (the background lane) and
// the recording of bounces each a share, so that a purge of a million messages or a storm of
// bounces never slows the sites' own submissions. Pure: the caller passes the time.
#pragma once

#include <chrono>

namespace mailwarden {

class TimeShare {
 public:
  using Clock = std::chrono::steady_clock;

  TimeShare(Clock::duration window, double share) : window_(window), share_(share) {}

  // Starts a new window once the current one is over. Call before asking Allowed.
  void Roll(Clock::time_point now);
  // Other work ran in the current window.
  void NoteOther() { other_this_window_ = true; }
  // The work ran for `used` in the current window.
  void Used(Clock::duration used) { used_ += used; }
  // Whether the work may run now.
  bool Allowed() const;
  // When the current window ends (a waiting worker's next chance).
  Clock::time_point window_end() const { return window_start_ + window_; }

 private:
  const Clock::duration window_;
  const double share_;
  Clock::time_point window_start_{};
  Clock::duration used_{};
  bool other_this_window_ = false;
  bool other_last_window_ = false;
};

}  // namespace mailwarden
