#include "cmd/ctl_top.h"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <iostream>
#include <thread>

#include "cmd/ctl_table.h"

namespace mailwarden {

// top: the busiest accounts and those a guard blocked, read again every o.interval seconds,
// on a cleared screen when the output is a terminal (like top(1); Ctrl-C ends it).
int RunTop(Session& session, const TopOptions& o) {
  const bool terminal = isatty(STDOUT_FILENO) == 1 && !session.json();
  const std::string sort = o.sort.empty() ? "sent_today" : o.sort;
  const int limit = o.limit > 0 ? o.limit : 20;
  for (int round = 1;; ++round) {
    json busiest;
    json guarded;
    const std::string page =
        WithQuery("/api/v1/accounts", {{"sort", sort}, {"limit", std::to_string(limit)}});
    // The guards' blocks, most held first: what an operator looks at next.
    const std::string blocked =
        WithQuery("/api/v1/accounts", {{"sort", "pending"}, {"state", "blocked"}, {"limit", "10"}});
    int code = session.Call("GET", page, std::nullopt, [&](const json& b) { busiest = b; });
    if (code == kExitOk) {
      code = session.Call("GET", blocked, std::nullopt, [&](const json& b) { guarded = b; });
    }
    if (code != kExitOk) return code;
    if (session.json()) {
      if (o.iterations > 0 && round >= o.iterations) return kExitOk;
      std::this_thread::sleep_for(std::chrono::seconds(o.interval));
      continue;
    }
    const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    char clock[16];
    std::strftime(clock, sizeof clock, "%H:%M:%S", std::localtime(&now));
    if (terminal) std::cout << "\x1b[H\x1b[2J";
    std::cout << "mailwarden top - " << clock << " - by " << sort << ", every " << o.interval
              << " s" << (terminal ? " (Ctrl-C ends)" : "") << "\n\n";
    PrintItems(
        busiest,
        {"NAME", "STATE", "BLOCKED BY", "SENT TODAY", "ERRORS", "ERROR RATE", "HELD", "QUEUED"},
        {"name", "state", "blocked_by", "sent_today", "errors_today", "error_rate", "held",
         "queued"},
        "No account has mail to show.");
    json guards = json::object({{"items", json::array()}});
    for (const auto& item : Field(guarded, "items")) {
      const json& by = Field(item, "blocked_by");
      if (by.is_string() && by.get<std::string>().ends_with("_guard"))
        guards["items"].push_back(item);
    }
    std::cout << "\nBlocked by a guard (most held first):\n";
    PrintItems(guards, {"NAME", "BLOCKED BY", "SINCE", "HELD", "REASON"},
               {"name", "blocked_by", "since", "held", "reason"}, "None.");
    std::cout.flush();
    if (o.iterations > 0 && round >= o.iterations) return kExitOk;
    if (!terminal) std::cout << "\n";
    std::this_thread::sleep_for(std::chrono::seconds(o.interval));
  }
}

}  // namespace mailwarden
