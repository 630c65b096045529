// The commands an SMTP submission server reads (RFC 5321 section 4.1, AUTH from RFC 4954,
// STARTTLS from RFC 3207, the SIZE and BODY parameters from RFC 1870 and 6152), parsed one
// line at a time. Pure functions: no I/O, no allocation beyond the results.
//
// Everything here sees untrusted bytes from the network, so every field is bounded and
// checked; a refusal carries the reply to send, enhanced status code (RFC 3463) included.
//
// This header deliberately does not use core/result.h: the parsers are also built alone by
// clang for fuzzing (fuzz/run), whose standard library has no std::expected.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailwarden {

// RFC 5321 4.5.3.1: limits a server must accept at least and may enforce.
inline constexpr std::size_t kMaxCommandLineBytes = 512;  // including CRLF
inline constexpr std::size_t kMaxPathBytes = 256;         // "<...>" included
inline constexpr std::size_t kMaxLocalPartBytes = 64;
inline constexpr std::size_t kMaxDomainBytes = 255;

// One reply line of the server: code and text, the text starting with the enhanced code.
struct SmtpServerReply {
  int code = 0;
  std::string text;  // "5.5.2 Line too long"

  // "500 5.5.2 Line too long\r\n".
  std::string Line() const;
  bool ok() const { return code == 0; }
};

enum class SmtpVerb {
  kEhlo,
  kHelo,
  kMail,
  kRcpt,
  kData,
  kRset,
  kNoop,
  kQuit,
  kAuth,
  kStartTls,
  kVrfy,
  kHelp,
};

std::string_view SmtpVerbName(SmtpVerb verb);

enum class SmtpBody { kUnspecified, k7Bit, k8BitMime };

struct SmtpCommand {
  SmtpVerb verb = SmtpVerb::kNoop;
  // EHLO/HELO: the client's name. AUTH: the mechanism, upper-cased. VRFY, HELP, NOOP: the
  // argument as given (possibly empty). Empty for the rest.
  std::string argument;
  // AUTH: the initial response as sent (base64, or "=" for an empty one), when given.
  std::optional<std::string> initial_response;
  // MAIL, RCPT: the mailbox without angle brackets or source route; empty for the null
  // sender "<>".
  std::string address;
  // MAIL parameters.
  std::optional<std::uint64_t> size;  // SIZE=n, the client's estimate in bytes
  SmtpBody body = SmtpBody::kUnspecified;
};

// Parses one command line given without its CRLF. Returns the command, or nullopt with the
// reply to send in *refusal: 500 5.5.2 for an unknown verb, a line over
// kMaxCommandLineBytes or NUL, CR or LF inside; 501 5.5.4 for bad arguments; 553 5.1.7 /
// 5.1.3 for a malformed sender / recipient; 555 5.5.4 for an unsupported MAIL or RCPT
// parameter. The verb is case-insensitive; trailing spaces are ignored.
std::optional<SmtpCommand> ParseSmtpCommand(std::string_view line, SmtpServerReply* refusal);

// Checks a mailbox (local-part "@" domain, RFC 5321 4.1.2) in 7-bit ASCII, as MAIL and RCPT
// carry it. The null address is not a mailbox.
bool IsValidMailbox(std::string_view mailbox);

// Base64 (RFC 4648, with padding, no line breaks), as SASL uses it. Decode returns nullopt
// for anything that is not canonical base64.
std::optional<std::string> DecodeBase64(std::string_view text);
std::string EncodeBase64(std::string_view bytes);

// The three fields of a SASL PLAIN response (RFC 4616): authzid NUL authcid NUL passwd.
struct SaslPlainCredentials {
  std::string authzid;  // usually empty: "act as the user I authenticate as"
  std::string user;
  std::string password;
};

// Decodes a PLAIN response given in base64 ("=" for empty). Returns nullopt when it is not
// base64, does not have exactly three fields, or has an empty user or password or a field
// longer than 255 bytes.
std::optional<SaslPlainCredentials> ParseSaslPlain(std::string_view base64);

}  // namespace mailwarden
