#include "submit/sendmail_args.h"

#include <cstddef>
#include <string_view>
#include <utility>

#include "submit/submit_wire.h"

namespace mailwarden {
namespace {

// Options that take a value, attached ("-fa@b.c") or as the next argument ("-f a@b.c"), as
// getopt reads them: the letters of Postfix's sendmail plus sendmail 8's -D, -M and -d.
constexpr std::string_view kOptionsWithValue = "ABCDFLMNORVXbdefhoprq";

// Options without a value that sendmail or Postfix accept and that change nothing here:
// -G gateway, -U initial submission, -v verbose, -m "me too", -n no aliasing, -c, -s, -x.
constexpr std::string_view kIgnoredFlags = "GUcmnsvx";

bool Refuse(SendmailArgsError* error, std::string message) {
  if (error != nullptr) {
    error->message = std::move(message);
  }
  return false;
}

bool HasLineBreak(std::string_view value) {
  return value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

// A sendmail-style boolean option value: empty, or starting with t/T/y/Y, means true.
bool IsTrue(std::string_view value) {
  return value.empty() || value[0] == 't' || value[0] == 'T' || value[0] == 'y' || value[0] == 'Y';
}

bool IgnoresDotsOption(std::string_view value) {
  constexpr std::string_view kName = "ignoredots";
  if (value.size() < kName.size()) {
    return false;
  }
  for (std::size_t i = 0; i < kName.size(); ++i) {
    char c = value[i];
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
    if (c != kName[i]) {
      return false;
    }
  }
  std::string_view rest = value.substr(kName.size());
  if (rest.empty()) {
    return true;
  }
  return rest[0] == '=' && IsTrue(rest.substr(1));
}

// The -b modes other than -bm: each is a job of a full MTA that the drop-in does not do.
bool RefuseMode(std::string_view value, SendmailArgsError* error) {
  std::string option = "-b" + std::string(value.substr(0, 1));
  std::string_view what;
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
    case 's':
      what =
          "(SMTP on standard input) is not supported: use SMTP submission to the daemon "
          "instead";
      break;
    case 't':
      what = "(address test mode) is not supported";
      break;
    case 'v':
      what = "(verify addresses) is not supported";
      break;
    case '\0':
      return Refuse(error, "option -b needs a mode; only -bm (deliver mail) is supported");
    default:
      return Refuse(error, "unknown mode " + option + "; only -bm (deliver mail) is supported");
  }
  return Refuse(
      error, option + " " + std::string(what) + "; mailwarden-sendmail only delivers mail (-bm)");
}

bool ApplyOptionWithValue(char option, std::string value, SendmailArgs& args,
                          SendmailArgsError* error) {
  std::string name = std::string("-") + option;
  switch (option) {
    case 'f':
    case 'r':
      if (HasLineBreak(value)) {
        return Refuse(error, "the sender given with " + name + " holds a line break");
      }
      args.from = std::move(value);
      break;
    case 'F':
      if (HasLineBreak(value)) {
        return Refuse(error, "the full name given with -F holds a line break");
      }
      args.full_name = std::move(value);
      break;
    case 'b':
      if (value != "m") {
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

// Splits one command-line argument into recipients at the commas that separate addresses,
// as sendmail reads "a@b.c, d@e.f"; a comma inside quotes, <...> or a (comment) is part of the
// address. Parsing the addresses themselves is the daemon's job.
void SplitRecipients(std::string_view text, std::vector<std::string>& out) {
  auto add = [&out](std::string_view piece) {
    std::size_t first = piece.find_first_not_of(" \t");
    if (first == std::string_view::npos) {
      return;
    }
    std::size_t last = piece.find_last_not_of(" \t");
    out.emplace_back(piece.substr(first, last - first + 1));
  };
  bool quoted = false;
  int angle_depth = 0;
  int comment_depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
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
      add(text.substr(start, i - start));
      start = i + 1;
    }
  }
  add(text.substr(start));
}

}  // namespace

std::optional<SendmailArgs> ParseSendmailArgs(const std::vector<std::string>& args,
                                              SendmailArgsError* error) {
  SendmailArgs parsed;
  std::size_t i = 0;
  bool after_double_dash = false;
  // getopt's rules: options come first, clustered or not ("-ti"), a value attached or in the
  // next argument; "--" or the first argument that is not an option ends them.
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      after_double_dash = true;
      ++i;
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      break;
    }
    if (arg.starts_with("--")) {
      Refuse(error, "unknown option " + arg);
      return std::nullopt;
    }
    for (std::size_t j = 1; j < arg.size(); ++j) {
      char option = arg[j];
      if (kOptionsWithValue.find(option) != std::string_view::npos) {
        std::string value;
        if (option == 'q') {
          // -q takes an optional attached interval; the mode is refused either way.
        } else if (j + 1 < arg.size()) {
          value = arg.substr(j + 1);
        } else if (i + 1 < args.size()) {
          value = args[++i];
        } else {
          Refuse(error, std::string("option -") + option + " needs a value");
          return std::nullopt;
        }
        if (!ApplyOptionWithValue(option, std::move(value), parsed, error)) {
          return std::nullopt;
        }
        break;
      }
      switch (option) {
        case 't':
          parsed.extract = true;
          break;
        case 'i':
          parsed.dot_ends_message = false;
          break;
        case 'I':
          Refuse(error,
                 "-I (initialise the alias database) is not supported: there are no aliases");
          return std::nullopt;
        case 'Q':
          Refuse(error, "-Q (quarantine queued mail) is not supported");
          return std::nullopt;
        default:
          if (kIgnoredFlags.find(option) == std::string_view::npos) {
            std::string message = std::string("unknown option -") + option;
            if (arg.size() > 2) {
              message += " (in " + arg + ")";
            }
            Refuse(error, message);
            return std::nullopt;
          }
      }
    }
  }
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (!after_double_dash && arg.size() > 1 && arg[0] == '-') {
      Refuse(error,
             "option " + arg + " comes after a recipient; options must come before the recipients");
      return std::nullopt;
    }
    if (HasLineBreak(arg)) {
      Refuse(error, "a recipient holds a line break");
      return std::nullopt;
    }
    SplitRecipients(arg, parsed.recipients);
    if (parsed.recipients.size() > kMaxRecipientsPerSubmission) {
      Refuse(error, "more than " + std::to_string(kMaxRecipientsPerSubmission) +
                        " recipients in one message");
      return std::nullopt;
    }
  }
  if (!parsed.extract && parsed.recipients.empty()) {
    Refuse(error, "no recipients: name them as arguments, or use -t to read them from the message");
    return std::nullopt;
  }
  return parsed;
}

}  // namespace mailwarden
