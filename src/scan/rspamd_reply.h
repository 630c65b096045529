// Rspamd's protocol as mailwarden speaks it (POST /checkv2): the request's header fields and
// the reading of the JSON reply. Pure: the connection is rspamd_client.h's.
//
// Request: the message as stored is the body; the envelope and context go in header fields
// Rspamd reads: User (the account, as an authenticated user, so that Rspamd treats the mail
// as outgoing and its per-user rules and rate limits apply), From, one Rcpt per recipient,
// Queue-Id (the message's id), Hostname (this host's name), and X-Mailwarden-Script (the
// script that sent it, "uid:path" as X-PHP-Originating-Script says, or the uid alone), which
// Rspamd's Lua rules can read with task:get_request_header.
//
// Reply: {"action": "...", "score": N, "symbols": {"NAME": {"score": N, ...}, ...}, ...}.
// A reply without an action or a score is refused (kInvalidInput), as is one that is not JSON.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "store/store.h"

namespace mailwarden {

// The main symbols kept with a verdict at most.
inline constexpr std::size_t kMaxScanSymbols = 5;

// The header fields of the request, in order (Rcpt repeated).
std::vector<std::pair<std::string, std::string>> RspamdRequestFields(const UnscannedMessage& m,
                                                                     std::string_view hostname);

// The verdict: the action, the score and the main symbols (those that added to the score,
// highest first; if none did, those that scored nothing, by name), at most kMaxScanSymbols.
Result<ScanResult> ParseRspamdReply(std::string_view json);

}  // namespace mailwarden
