// What mailwarden does with Rspamd's verdict on an outgoing message (docs/scanning.md). Pure.
#pragma once

#include <string_view>

namespace mailwarden {

enum class ScanOutcome {
  kLetGo,       // sent
  kSuspicious,  // sent, counted as suspicious, the score kept
  kQuarantine,  // never sent unless released; expires as held mail does
};

// Rspamd's action: "reject" quarantines; "add header" and "rewrite subject" are suspicious;
// anything else ("no action", "greylist", "soft reject", an action unknown here) lets the
// message go: only the scanner's clear "this is spam" keeps mail back.
ScanOutcome OutcomeOfAction(std::string_view action);

}  // namespace mailwarden
