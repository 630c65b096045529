// What an SMTP reply means for a recipient: the one table that maps replies to outcomes.
#pragma once

namespace mailwarden {

enum class ReplyClass { kAccepted, kTemporary, kPermanent };

// 2xx accepted; 4xx temporary (retry later); 5xx permanent. Anything else (1xx, 3xx where a
// final reply was due, a code outside 200-599, or no reply at all: code 0) is temporary: the
// peer misbehaved, and giving up on a recipient needs a clear 5xx.
ReplyClass ClassifyReply(int code);

}  // namespace mailwarden
