// What a reload (SIGHUP) takes from the configuration file again, and what waits for a restart.
//
// Taken again: [policy], [report], [log], [auto_accounts], the [[account]] tables and
// smtp.tls_cert/tls_key.
// Every other key is bound to something made at start (a listener, the store, the user the
// process runs as, a pool sized by a limit): a changed value is named in the log and the
// running one kept until the next start.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"

namespace mailwarden {

struct ReloadPlan {
  Config config;                  // running, with the reloadable parts of the file
  std::vector<std::string> kept;  // keys whose new value waits for a restart, in file order
};

// running: the configuration in use; fresh: the file as just read (and checked).
ReloadPlan PlanReload(const Config& running, const Config& fresh);

}  // namespace mailwarden
