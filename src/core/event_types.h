// The types of the events the store's outbox keeps and webhooks send (docs/webhooks.md).
// Stable: a receiver branches on them; a new type is added at the end, never renamed.
#pragma once

#include <algorithm>
#include <array>
#include <string_view>

namespace mailwarden {

inline constexpr std::array<std::string_view, 9> kEventTypes = {
    "account.blocked", "account.unblocked", "account.purged",
    "guard.tripped",   "limit.warning",     "limit.reached",
    "message.bounced", "complaint",         "message.quarantined",
};
// The version of the events' schema, sent in every event's data as nothing else: receivers
// read it from docs/webhooks.md's table; a change that is not an added field raises it.
inline constexpr int kEventSchemaVersion = 1;

inline bool IsEventType(std::string_view type) {
  return std::ranges::find(kEventTypes, type) != kEventTypes.end();
}

}  // namespace mailwarden
