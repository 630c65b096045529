#include "core/time_share.h"

namespace mailwarden {

void TimeShare::Roll(Clock::time_point now) {
  if (now - window_start_ < window_) return;
  // The window just over counts as "last" only if it ended a moment ago: after a quiet spell
  // of several windows, the work runs flat out again at once.
  other_last_window_ = other_this_window_ && now - window_start_ < 2 * window_;
  other_this_window_ = false;
  used_ = {};
  window_start_ = now;
}

bool TimeShare::Allowed() const {
  if (!other_this_window_ && !other_last_window_) return true;
  return used_ < std::chrono::duration_cast<Clock::duration>(window_ * share_);
}

}  // namespace mailwarden
