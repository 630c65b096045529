// The drop-in's command line, read the way sendmail(8) reads it, as PHP and other scripts
// call it: -t -i -oi -f -r -F --, recipients as arguments, and the no-op flags ignored.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace mailwarden {

struct SendmailArgs {
  std::optional<std::string> from;       // -f / -r (also -fADDR, -rADDR)
  std::optional<std::string> full_name;  // -F NAME / -FNAME
  bool extract = false;                  // -t
  bool dot_ends_message = true;          // cleared by -i and -oi
  std::vector<std::string> recipients;
};

struct SendmailArgsError {
  std::string message;  // for stderr; the exit code is 64 (usage)
};

// Parses argv[1..]. Unknown options that sendmail treats as no-ops (-odi, -oem, -v, -oQ..., -B,
// -bm, -em, -N...) are accepted and ignored; modes the drop-in cannot serve (-bp, -bs, -bd, -q
// and the like) are errors that say so. Also refused, each with a sentence: an unknown option,
// a value missing, CR/LF/NUL in a value or recipient, an option after the first recipient
// (unless "--" came first), no recipients without -t, more than kMaxRecipientsPerSubmission.
// Recipients are split at commas outside quotes, <...> and (comments), and trimmed; parsing
// each address is the daemon's job.
std::optional<SendmailArgs> ParseSendmailArgs(const std::vector<std::string>& args,
                                              SendmailArgsError* error);

}  // namespace mailwarden
