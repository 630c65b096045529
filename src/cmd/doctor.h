// mailwardenctl doctor: whether local users can step around mailwarden (docs/bypass.md).
#pragma once

#include "config/config.h"

namespace mailwarden {

// Checks that the nftables rule set (table inet mailwarden) is in force and agrees with
// config, and that a user other than the daemon's cannot reach the relay. Prints one line per
// finding to standard output; returns 0 when all is well, 1 when there is a problem or a check
// could not be made (nft missing or not permitted, not run as root).
int RunDoctor(const Config& config);

}  // namespace mailwarden
