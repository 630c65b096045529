#include "smtp/smtp_command.h"

#include <algorithm>
#include <array>
#include <limits>
#include <utility>

namespace mailwarden {
namespace {

constexpr std::size_t kMaxHeloBytes = 255;
constexpr std::size_t kMaxMechanismBytes = 20;  // RFC 4422 3.1
constexpr std::size_t kMaxSaslFieldBytes = 255;

struct VerbName {
  std::string_view name;
  SmtpVerb verb;
};

constexpr std::array<VerbName, 12> kVerbs = {{
    {"EHLO", SmtpVerb::kEhlo},
    {"HELO", SmtpVerb::kHelo},
    {"MAIL", SmtpVerb::kMail},
    {"RCPT", SmtpVerb::kRcpt},
    {"DATA", SmtpVerb::kData},
    {"RSET", SmtpVerb::kRset},
    {"NOOP", SmtpVerb::kNoop},
    {"QUIT", SmtpVerb::kQuit},
    {"AUTH", SmtpVerb::kAuth},
    {"STARTTLS", SmtpVerb::kStartTls},
    {"VRFY", SmtpVerb::kVrfy},
    {"HELP", SmtpVerb::kHelp},
}};

char Upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (Upper(a[i]) != Upper(b[i])) return false;
  }
  return true;
}

bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && EqualsIgnoreCase(text.substr(0, prefix.size()), prefix);
}

std::string ToUpper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Upper(c);
  return out;
}

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsVisible(char c) { return c >= 0x21 && c <= 0x7e; }

// RFC 5322 atext.
bool IsAtext(char c) {
  if (IsAlpha(c) || IsDigit(c)) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '/':
    case '=':
    case '?':
    case '^':
    case '_':
    case '`':
    case '{':
    case '|':
    case '}':
    case '~':
      return true;
    default:
      return false;
  }
}

bool IsValidDomain(std::string_view domain) {
  if (domain.empty() || domain.size() > kMaxDomainBytes) return false;
  if (domain.front() == '[') {
    // An address literal; its content is not looked into further (the relay decides).
    if (domain.size() < 3 || domain.back() != ']') return false;
    for (char c : domain.substr(1, domain.size() - 2)) {
      if (!IsVisible(c) || c == '[' || c == ']' || c == '\\') return false;
    }
    return true;
  }
  std::size_t label = 0;
  for (char c : domain) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
    } else if (IsAlpha(c) || IsDigit(c) || c == '-' || c == '_') {
      if (++label > 63) return false;
    } else {
      return false;
    }
  }
  return label != 0;
}

SmtpServerReply Reply(int code, std::string text) { return SmtpServerReply{code, std::move(text)}; }

std::optional<SmtpCommand> Refuse(SmtpServerReply* refusal, int code, std::string text) {
  *refusal = Reply(code, std::move(text));
  return std::nullopt;
}

// Splits "<path> params" into the mailbox and the text after the closing bracket. A quoted
// local part may hold '>', so the closing bracket is found by walking the quotes.
bool SplitPath(std::string_view text, std::string_view* mailbox, std::string_view* rest) {
  if (text.empty() || text.front() != '<') return false;
  std::size_t i = 1;
  if (i < text.size() && text[i] == '@') {
    // A source route ("@a,@b:"), which RFC 5321 says to accept and ignore.
    const std::size_t colon = text.find(':', i);
    if (colon == std::string_view::npos) return false;
    for (std::size_t j = i; j < colon; ++j) {
      const char c = text[j];
      if (!(IsAlpha(c) || IsDigit(c) || c == '@' || c == ',' || c == '.' || c == '-' || c == '[' ||
            c == ']')) {
        return false;
      }
    }
    i = colon + 1;
  }
  const std::size_t start = i;
  bool quoted = false;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted && c == '\\') {
      ++i;
      continue;
    }
    if (c == '"') quoted = !quoted;
    if (!quoted && c == '>') break;
  }
  if (i >= text.size()) return false;
  if (i + 1 > kMaxPathBytes) return false;
  *mailbox = text.substr(start, i - start);
  *rest = text.substr(i + 1);
  return true;
}

// RFC 5321 esmtp-keyword, bounded; only such a keyword is ever echoed in a reply.
bool IsParamKeyword(std::string_view key) {
  if (key.empty() || key.size() > 20) return false;
  for (char c : key) {
    if (!(IsAlpha(c) || IsDigit(c) || c == '-')) return false;
  }
  return true;
}

// The next space-separated word of text, advancing text past it.
std::string_view NextWord(std::string_view* text) {
  std::size_t start = text->find_first_not_of(' ');
  if (start == std::string_view::npos) {
    *text = {};
    return {};
  }
  std::size_t end = text->find(' ', start);
  if (end == std::string_view::npos) end = text->size();
  std::string_view word = text->substr(start, end - start);
  text->remove_prefix(end);
  return word;
}

std::optional<std::uint64_t> ParseDecimal(std::string_view digits) {
  if (digits.empty() || digits.size() > 20) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : digits) {
    if (!IsDigit(c)) return std::nullopt;
    const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return std::nullopt;
    value = value * 10 + d;
  }
  return value;
}

// The parameters after a MAIL FROM path (RFC 5321 4.1.2 esmtp-param).
std::optional<SmtpCommand> ParseMailParams(std::string_view params, SmtpCommand command,
                                           SmtpServerReply* refusal) {
  bool seen_auth = false;
  for (std::string_view word = NextWord(&params); !word.empty(); word = NextWord(&params)) {
    const std::size_t eq = word.find('=');
    const std::string_view key = word.substr(0, eq);
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view() : word.substr(eq + 1);
    if (!IsParamKeyword(key)) return Refuse(refusal, 501, "5.5.4 Syntax error in parameters");
    if (EqualsIgnoreCase(key, "SIZE")) {
      auto size = ParseDecimal(value);
      if (!size || command.size) return Refuse(refusal, 501, "5.5.4 Syntax: SIZE=number");
      command.size = *size;
    } else if (EqualsIgnoreCase(key, "BODY")) {
      if (command.body != SmtpBody::kUnspecified) {
        return Refuse(refusal, 501, "5.5.4 BODY given twice");
      }
      if (EqualsIgnoreCase(value, "7BIT")) {
        command.body = SmtpBody::k7Bit;
      } else if (EqualsIgnoreCase(value, "8BITMIME")) {
        command.body = SmtpBody::k8BitMime;
      } else {
        return Refuse(refusal, 555, "5.5.4 Unsupported BODY type, use 7BIT or 8BITMIME");
      }
    } else if (EqualsIgnoreCase(key, "AUTH")) {
      // RFC 4954 5: the submitter's identity, "<>" if unknown. The identity that counts is
      // the one this connection authenticated as, so the value is checked and ignored.
      if (value.empty() || seen_auth) return Refuse(refusal, 501, "5.5.4 Syntax: AUTH=<>");
      for (char c : value) {
        if (!IsVisible(c)) return Refuse(refusal, 501, "5.5.4 Syntax: AUTH=<>");
      }
      seen_auth = true;
    } else {
      return Refuse(refusal, 555, "5.5.4 Unsupported parameter " + ToUpper(key) + " in MAIL FROM");
    }
  }
  return command;
}

std::optional<SmtpCommand> ParsePathCommand(SmtpVerb verb, std::string_view args,
                                            SmtpServerReply* refusal) {
  const bool mail = verb == SmtpVerb::kMail;
  const std::string_view prefix = mail ? "FROM:" : "TO:";
  const std::string syntax =
      mail ? "5.5.4 Syntax: MAIL FROM:<address>" : "5.5.4 Syntax: RCPT TO:<address>";
  if (!StartsWithIgnoreCase(args, prefix)) return Refuse(refusal, 501, syntax);
  args.remove_prefix(prefix.size());
  // Strict RFC 5321 has no space after the colon; enough clients send one to allow it.
  while (!args.empty() && args.front() == ' ') args.remove_prefix(1);
  std::string_view mailbox, rest;
  if (!SplitPath(args, &mailbox, &rest)) return Refuse(refusal, 501, syntax);
  if (!rest.empty() && rest.front() != ' ') return Refuse(refusal, 501, syntax);

  SmtpCommand command;
  command.verb = verb;
  if (mailbox.empty()) {
    if (!mail) return Refuse(refusal, 553, "5.1.3 The null address is no recipient");
  } else if (!IsValidMailbox(mailbox)) {
    return mail ? Refuse(refusal, 553, "5.1.7 Bad sender address syntax")
                : Refuse(refusal, 553, "5.1.3 Bad recipient address syntax");
  }
  command.address = std::string(mailbox);
  if (mail) return ParseMailParams(rest, std::move(command), refusal);
  // No DSN (RFC 3461) is offered, so RCPT takes no parameter.
  std::string_view word = NextWord(&rest);
  if (!word.empty()) {
    const std::string_view key = word.substr(0, word.find('='));
    if (!IsParamKeyword(key)) return Refuse(refusal, 501, "5.5.4 Syntax error in parameters");
    return Refuse(refusal, 555, "5.5.4 Unsupported parameter " + ToUpper(key) + " in RCPT TO");
  }
  return command;
}

std::optional<SmtpCommand> ParseAuth(std::string_view args, SmtpServerReply* refusal) {
  std::string_view mechanism = NextWord(&args);
  std::string_view initial = NextWord(&args);
  if (mechanism.empty() || !NextWord(&args).empty() || mechanism.size() > kMaxMechanismBytes) {
    return Refuse(refusal, 501, "5.5.4 Syntax: AUTH mechanism [initial-response]");
  }
  for (char c : mechanism) {
    if (!(IsAlpha(c) || IsDigit(c) || c == '-' || c == '_')) {
      return Refuse(refusal, 501, "5.5.4 Syntax: AUTH mechanism [initial-response]");
    }
  }
  SmtpCommand command;
  command.verb = SmtpVerb::kAuth;
  command.argument = ToUpper(mechanism);
  if (!initial.empty()) command.initial_response = std::string(initial);
  return command;
}

constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::string SmtpServerReply::Line() const { return std::to_string(code) + " " + text + "\r\n"; }

std::string_view SmtpVerbName(SmtpVerb verb) {
  for (const auto& v : kVerbs) {
    if (v.verb == verb) return v.name;
  }
  return "?";
}

bool IsValidMailbox(std::string_view mailbox) {
  if (mailbox.empty() || mailbox.size() > kMaxPathBytes - 2) return false;
  std::size_t at = 0;
  if (mailbox.front() == '"') {
    std::size_t i = 1;
    for (; i < mailbox.size(); ++i) {
      const char c = mailbox[i];
      if (c == '\\') {
        if (++i >= mailbox.size() || mailbox[i] < 0x20 || mailbox[i] > 0x7e) return false;
      } else if (c == '"') {
        break;
      } else if (c < 0x20 || c > 0x7e) {
        return false;
      }
    }
    if (i >= mailbox.size()) return false;
    at = i + 1;
    if (at >= mailbox.size() || mailbox[at] != '@') return false;
  } else {
    at = mailbox.find('@');
    if (at == std::string_view::npos || at == 0) return false;
    for (char c : mailbox.substr(0, at)) {
      if (!IsAtext(c) && c != '.') return false;
    }
  }
  if (at > kMaxLocalPartBytes) return false;
  return IsValidDomain(mailbox.substr(at + 1));
}

std::optional<SmtpCommand> ParseSmtpCommand(std::string_view line, SmtpServerReply* refusal) {
  if (line.size() + 2 > kMaxCommandLineBytes) {
    return Refuse(refusal, 500, "5.5.2 Line too long");
  }
  for (char c : line) {
    if (c == '\0' || c == '\r' || c == '\n') {
      return Refuse(refusal, 500, "5.5.2 Syntax error: NUL, CR or LF inside a command");
    }
  }
  while (!line.empty() && line.back() == ' ') line.remove_suffix(1);

  const std::size_t space = line.find(' ');
  const std::string_view word = line.substr(0, space);
  std::string_view args = space == std::string_view::npos ? std::string_view() : line.substr(space);
  while (!args.empty() && args.front() == ' ') args.remove_prefix(1);

  const VerbName* found = nullptr;
  for (const auto& v : kVerbs) {
    if (EqualsIgnoreCase(word, v.name)) found = &v;
  }
  if (found == nullptr) return Refuse(refusal, 500, "5.5.2 Command unrecognized");

  SmtpCommand command;
  command.verb = found->verb;
  switch (found->verb) {
    case SmtpVerb::kEhlo:
    case SmtpVerb::kHelo: {
      bool valid = !args.empty() && args.size() <= kMaxHeloBytes;
      for (char c : args) valid = valid && IsVisible(c);
      if (!valid) {
        return Refuse(refusal, 501, "5.5.4 Syntax: " + std::string(found->name) + " hostname");
      }
      command.argument = std::string(args);
      return command;
    }
    case SmtpVerb::kMail:
    case SmtpVerb::kRcpt:
      return ParsePathCommand(found->verb, args, refusal);
    case SmtpVerb::kAuth:
      return ParseAuth(args, refusal);
    case SmtpVerb::kData:
    case SmtpVerb::kRset:
    case SmtpVerb::kQuit:
    case SmtpVerb::kStartTls:
      if (!args.empty()) {
        return Refuse(refusal, 501, "5.5.4 Syntax: " + std::string(found->name));
      }
      return command;
    case SmtpVerb::kVrfy:
      if (args.empty()) return Refuse(refusal, 501, "5.5.4 Syntax: VRFY address");
      command.argument = std::string(args);
      return command;
    case SmtpVerb::kNoop:
    case SmtpVerb::kHelp:
      command.argument = std::string(args);
      return command;
  }
  return Refuse(refusal, 500, "5.5.2 Command unrecognized");
}

std::optional<std::string> DecodeBase64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + static_cast<std::size_t>(k)];
      if (c == '=' && last && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      // No data after padding inside the last group: "ab=c" is not base64.
      if (pad > 0) return std::nullopt;
      v[k] = Base64Value(c);
      if (v[k] < 0) return std::nullopt;
    }
    const unsigned bits = (static_cast<unsigned>(v[0]) << 18) |
                          (static_cast<unsigned>(v[1]) << 12) | (static_cast<unsigned>(v[2]) << 6) |
                          static_cast<unsigned>(v[3]);
    out.push_back(static_cast<char>((bits >> 16) & 0xff));
    if (pad < 2) out.push_back(static_cast<char>((bits >> 8) & 0xff));
    if (pad < 1) out.push_back(static_cast<char>(bits & 0xff));
  }
  return out;
}

std::string EncodeBase64(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    unsigned bits = static_cast<unsigned>(static_cast<unsigned char>(bytes[i])) << 16;
    if (n > 1) bits |= static_cast<unsigned>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    if (n > 2) bits |= static_cast<unsigned>(static_cast<unsigned char>(bytes[i + 2]));
    out.push_back(kBase64Alphabet[(bits >> 18) & 63]);
    out.push_back(kBase64Alphabet[(bits >> 12) & 63]);
    out.push_back(n > 1 ? kBase64Alphabet[(bits >> 6) & 63] : '=');
    out.push_back(n > 2 ? kBase64Alphabet[bits & 63] : '=');
  }
  return out;
}

std::optional<SaslPlainCredentials> ParseSaslPlain(std::string_view base64) {
  auto decoded = DecodeBase64(base64 == "=" ? std::string_view() : base64);
  if (!decoded) return std::nullopt;
  const std::string_view text = *decoded;
  const std::size_t first = text.find('\0');
  if (first == std::string_view::npos) return std::nullopt;
  const std::size_t second = text.find('\0', first + 1);
  if (second == std::string_view::npos || text.find('\0', second + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  SaslPlainCredentials credentials;
  credentials.authzid = std::string(text.substr(0, first));
  credentials.user = std::string(text.substr(first + 1, second - first - 1));
  credentials.password = std::string(text.substr(second + 1));
  if (credentials.user.empty() || credentials.password.empty() ||
      credentials.authzid.size() > kMaxSaslFieldBytes ||
      credentials.user.size() > kMaxSaslFieldBytes ||
      credentials.password.size() > kMaxSaslFieldBytes) {
    return std::nullopt;
  }
  return credentials;
}

}  // namespace mailwarden
