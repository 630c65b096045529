#include "core/scan_verdict.h"

namespace mailwarden {

ScanOutcome OutcomeOfAction(std::string_view action) {
  if (action == "reject") return ScanOutcome::kQuarantine;
  if (action == "add header" || action == "rewrite subject") return ScanOutcome::kSuspicious;
  return ScanOutcome::kLetGo;
}

}  // namespace mailwarden
