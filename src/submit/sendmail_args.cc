#include "submit/sendmail_args.h"

namespace mailwarden {
namespace {

// Options that take a value, attached ("-fa@b.c") or as the next argument ("-f a@b.c"), as
// getopt reads them: the letters of Postfix's sendmail plus sendmail 8's -D, -M and -d.
constexpr TextView kOptionsWithValue = "ABCDFLMNORVXbdefhoprq";

// Options without a value that sendmail or Postfix accept and that change nothing here:
// -G gateway, -U initial submission, -v verbose, -m "me too", -n no aliasing, -c, -s, -x.
constexpr TextView kIgnoredFlags = "GUcmnsvx";

// Sets the error's sentence to the parts (text or single characters) in order.
template <typename... Parts>
bool Refuse(SendmailArgsError* error, const Parts&... parts) {
  if (error != nullptr) {
    error->message.Clear();
    (error->message.Append(parts), ...);
  }
  return false;
}

bool HasLineBreak(TextView value) { return !IsSubmitLineSafe(value); }

// A sendmail-style boolean option value: empty, or starting with t/T/y/Y, means true.
bool IsTrue(TextView value) {
  return value.empty() || value[0] == 't' || value[0] == 'T' || value[0] == 'y' || value[0] == 'Y';
}

bool IgnoresDotsOption(TextView value) {
  constexpr TextView kName = "ignoredots";
  if (value.size() < kName.size()) {
    return false;
  }
  for (size_t i = 0; i < kName.size(); ++i) {
    char c = value[i];
    // ToAsciiLower (core/text.h) by hand: the drop-in is built without the C++ library.
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
    if (c != kName[i]) {
      return false;
    }
  }
  TextView rest = value.substr(kName.size());
  if (rest.empty()) {
    return true;
  }
  return rest[0] == '=' && IsTrue(rest.substr(1));
}

// The -b modes other than -bm and -bs: each is a job of a full MTA that the drop-in does not do.
bool RefuseMode(TextView value, SendmailArgsError* error) {
  TextView what;
  switch (value.empty() ? '\0' : value[0]) {
    case 'a':
      what = "(ARPANET mode) is not supported";
      break;
    case 'd':
    case 'D':
    case 'l':
      what = "(run as a daemon) is not supported: mailwardend is the daemon";
      break;
    case 'h':
    case 'H':
      what = "(host status) is not supported";
      break;
    case 'i':
      what = "(initialise the alias database) is not supported: there are no aliases";
      break;
    case 'p':
    case 'P':
      what = "(list the mail queue) is not supported: use mailwardenctl";
      break;
    case 't':
      what = "(address test mode) is not supported";
      break;
    case 'v':
      what = "(verify addresses) is not supported";
      break;
    case '\0':
      return Refuse(error, "option -b needs a mode; only -bm and -bs (deliver mail) are supported");
    default:
      return Refuse(error, "unknown mode -b", value[0],
                    "; only -bm and -bs (deliver mail) are supported");
  }
  return Refuse(error, "-b", value[0], " ", what,
                "; mailwarden-sendmail only delivers mail (-bm, or -bs over SMTP)");
}

bool ApplyOptionWithValue(char option, TextView value, SendmailArgs& args,
                          SendmailArgsError* error) {
  switch (option) {
    case 'f':
    case 'r':
      if (HasLineBreak(value)) {
        return Refuse(error, "the sender given with -", option, " holds a line break");
      }
      args.has_from = true;
      args.from = value;
      break;
    case 'F':
      if (HasLineBreak(value)) {
        return Refuse(error, "the full name given with -F holds a line break");
      }
      args.has_full_name = true;
      args.full_name = value;
      break;
    case 'b':
      if (value == "s") {
        args.smtp_session = true;
      } else if (!(value == "m")) {
        return RefuseMode(value, error);
      }
      break;
    case 'o':
      if (!value.empty() && value[0] == 'i') {
        args.dot_ends_message = false;
      }
      break;
    case 'O':
      if (IgnoresDotsOption(value)) {
        args.dot_ends_message = false;
      }
      break;
    case 'q':
      return Refuse(error,
                    "-q (process the queue) is not supported: mailwardend runs its own queue");
    default:
      // -B body type, -C config, -N/-R/-V DSN, -X log file, -L syslog tag, -A, -D, -M, -d,
      // -e error mode, -h hop count, -p protocol: meaningful to an MTA, not to the daemon.
      break;
  }
  return true;
}

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// Adds one recipient, trimmed, unless it is blank. False when the message already has the most
// recipients one submission carries.
bool AddRecipient(TextView piece, SendmailArgs& args) {
  size_t first = 0;
  size_t end = piece.size();
  while (first < end && IsBlank(piece[first])) {
    ++first;
  }
  while (end > first && IsBlank(piece[end - 1])) {
    --end;
  }
  if (first == end) {
    return true;
  }
  if (args.recipient_count == kMaxRecipientsPerSubmission) {
    return false;
  }
  args.recipients[args.recipient_count++] = piece.substr(first, end - first);
  return true;
}

// Splits one command-line argument into recipients at the commas that separate addresses,
// as sendmail reads "a@b.c, d@e.f"; a comma inside quotes, <...> or a (comment) is part of the
// address. Parsing the addresses themselves is the daemon's job. False when there are more
// recipients than one submission carries.
bool SplitRecipients(TextView text, SendmailArgs& args) {
  bool quoted = false;
  int angle_depth = 0;
  int comment_depth = 0;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\' && (quoted || comment_depth > 0)) {
      ++i;
    } else if (quoted) {
      quoted = c != '"';
    } else if (comment_depth > 0) {
      comment_depth += c == '(' ? 1 : c == ')' ? -1 : 0;
    } else if (c == '"') {
      quoted = true;
    } else if (c == '(') {
      ++comment_depth;
    } else if (c == '<') {
      ++angle_depth;
    } else if (c == '>' && angle_depth > 0) {
      --angle_depth;
    } else if (c == ',' && angle_depth == 0) {
      if (!AddRecipient(text.substr(start, i - start), args)) {
        return false;
      }
      start = i + 1;
    }
  }
  return AddRecipient(text.substr(start), args);
}

}  // namespace

bool ParseSendmailArgs(const TextView* args, size_t count, SendmailArgs* parsed,
                       SendmailArgsError* error) {
  *parsed = SendmailArgs{};
  size_t i = 0;
  bool after_double_dash = false;
  // getopt's rules: options come first, clustered or not ("-ti"), a value attached or in the
  // next argument; "--" or the first argument that is not an option ends them.
  for (; i < count; ++i) {
    const TextView arg = args[i];
    if (arg == "--") {
      after_double_dash = true;
      ++i;
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      break;
    }
    if (arg.starts_with("--")) {
      return Refuse(error, "unknown option ", arg);
    }
    for (size_t j = 1; j < arg.size(); ++j) {
      char option = arg[j];
      if (kOptionsWithValue.find(option) != TextView::kNotFound) {
        TextView value;
        if (option == 'q') {
          // -q takes an optional attached interval; the mode is refused either way.
        } else if (j + 1 < arg.size()) {
          value = arg.substr(j + 1);
        } else if (i + 1 < count) {
          value = args[++i];
        } else {
          return Refuse(error, "option -", option, " needs a value");
        }
        if (!ApplyOptionWithValue(option, value, *parsed, error)) {
          return false;
        }
        break;
      }
      switch (option) {
        case 't':
          parsed->extract = true;
          break;
        case 'i':
          parsed->dot_ends_message = false;
          break;
        case 'I':
          return Refuse(
              error, "-I (initialise the alias database) is not supported: there are no aliases");
        case 'Q':
          return Refuse(error, "-Q (quarantine queued mail) is not supported");
        default:
          if (kIgnoredFlags.find(option) == TextView::kNotFound) {
            if (arg.size() > 2) {
              return Refuse(error, "unknown option -", option, " (in ", arg, ")");
            }
            return Refuse(error, "unknown option -", option);
          }
      }
    }
  }
  for (; i < count; ++i) {
    const TextView arg = args[i];
    if (!after_double_dash && arg.size() > 1 && arg[0] == '-') {
      return Refuse(error, "option ", arg,
                    " comes after a recipient; options must come before the recipients");
    }
    if (HasLineBreak(arg)) {
      return Refuse(error, "a recipient holds a line break");
    }
    if (!SplitRecipients(arg, *parsed)) {
      if (error != nullptr) {
        error->message.Clear();
        error->message.Append("more than ")
            .AppendNumber(kMaxRecipientsPerSubmission)
            .Append(" recipients in one message");
      }
      return false;
    }
  }
  if (parsed->smtp_session) {
    if (parsed->recipient_count > 0) {
      return Refuse(error, "-bs takes no recipients: they come with RCPT TO");
    }
    return true;
  }
  if (!parsed->extract && parsed->recipient_count == 0) {
    return Refuse(error,
                  "no recipients: name them as arguments, or use -t to read them from the message");
  }
  return true;
}

}  // namespace mailwarden
