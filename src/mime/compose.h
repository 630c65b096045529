// Composes the mail mailwarden itself writes (guard notices, daily error reports): a readable
// text part and, when given, an HTML part with the same content (multipart/alternative).
// Headers are GMime's, built from checked values only: addresses must parse as one plain
// mailbox, and no text that goes into a header may hold a line break.
#pragma once

#include <string>

#include "core/result.h"
#include "core/types.h"

namespace mailwarden {

struct OutgoingMail {
  std::string from;       // a plain address
  std::string from_name;  // display name, may be empty
  std::string to;         // a plain address
  std::string subject;    // UTF-8, one line
  std::string text;       // UTF-8
  std::string html;       // UTF-8; empty: text only
  std::string hostname;   // for the Message-ID
  TimePoint date{};
};

// The whole message, CRLF line ends, ready to store. kInvalidInput names a bad field.
Result<std::string> ComposeMessage(const OutgoingMail& mail);

}  // namespace mailwarden
