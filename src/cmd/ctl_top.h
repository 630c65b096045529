// mailwardenctl top: the busiest accounts and those a guard blocked, refreshed like top(1).
#pragma once

#include <string>

#include "cmd/ctl_session.h"

namespace mailwarden {

struct TopOptions {
  std::string sort;    // sent_today (when empty), errors_today or pending
  int limit = 0;       // accounts shown (20 when 0)
  int interval = 2;    // seconds between refreshes
  int iterations = 0;  // refreshes before it ends (0: until interrupted)
};

// Reads and prints until interrupted, or o.iterations times; the exit code of a failed read.
int RunTop(Session& session, const TopOptions& o);

}  // namespace mailwarden
