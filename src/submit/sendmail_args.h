// The drop-in's command line, read the way sendmail(8) reads it, as PHP and other scripts
// call it: -t -i -oi -f -r -F --, recipients as arguments, and the no-op flags ignored.
// Library-free: the sendmail drop-in links it.
#pragma once

#include <stddef.h>

#include "submit/dropin_wire.h"
#include "submit/fixed_text.h"
#include "submit/text_view.h"

namespace mailwarden {

// The parsed command line. Every view points into the arguments given to ParseSendmailArgs,
// which must outlive it.
struct SendmailArgs {
  bool has_from = false;  // -f / -r (also -fADDR, -rADDR)
  TextView from;
  bool has_full_name = false;  // -F NAME / -FNAME
  TextView full_name;
  bool extract = false;          // -t
  bool dot_ends_message = true;  // cleared by -i and -oi
  bool smtp_session = false;     // -bs: SMTP on standard input and output (submit/dropin_smtp.h)
  size_t recipient_count = 0;
  TextView recipients[kMaxRecipientsPerSubmission];

  SubmitHeaderFields HeaderFields() const {
    return {has_from, from, has_full_name, full_name, extract, recipients, recipient_count};
  }
};

struct SendmailArgsError {
  FixedText<1024> message;  // for stderr; the exit code is 64 (usage)
};

// Parses argv[1..], given as args[0..count). Unknown options that sendmail treats as no-ops
// (-odi, -oem, -v, -oQ..., -B, -bm, -em, -N...) are accepted and ignored; -bs asks for an SMTP
// session, whose envelope comes from MAIL and RCPT (recipients as arguments are then refused,
// -t, -i and -f ignored); modes the drop-in cannot serve (-bp, -bd, -q and the like) are errors
// that say so. Also refused, each with
// a sentence: an unknown option, a value missing, CR/LF/NUL in a value or recipient, an option
// after the first recipient (unless "--" came first), no recipients without -t, more than
// kMaxRecipientsPerSubmission. Recipients are split at commas outside quotes, <...> and
// (comments), and trimmed; parsing each address is the daemon's job. On failure *parsed is
// unspecified and *error (if not null) holds the sentence.
[[nodiscard]] bool ParseSendmailArgs(const TextView* args, size_t count, SendmailArgs* parsed,
                                     SendmailArgsError* error);

}  // namespace mailwarden
