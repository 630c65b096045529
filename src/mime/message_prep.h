// Turns what a script handed over (its argv's envelope and the raw message) into the message
// that is stored and delivered: recipients extracted for -t, Bcc removed, Date, Message-ID and
// From added when missing, a Received line naming the account and uid prepended, and every
// line made at most 998 bytes long (RFC 5321 4.5.3.1.6), which relays enforce: header lines
// folded at white space, body parts with longer lines re-encoded as quoted-printable or base64
// (as Postfix's smtp_line_length_limit breaks lines, but without changing what the recipient
// reads); only lines that re-encoding cannot reach (a MIME part's own header, a multipart's
// preamble, a signed or encrypted part) are broken Postfix's way, with CRLF and a space.
// This happens once, before the message is stored, so that what is held, shown and signed is
// what leaves.
//
// Parsing of headers and addresses is GMime's (groups, comments, quoted names, encoded words).
// Pure computation: no I/O. Thread-safe once InitMime() has run.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/types.h"

namespace mailwarden {

// Initialises GMime once per process; safe to call more than once.
void InitMime();

// What the drop-in's command line (or the SMTP envelope) says.
struct SubmitEnvelope {
  std::optional<std::string> sender;    // -f / -r; "" or "<>" means the null sender
  std::string full_name;                // -F: the display name for a From header we add
  bool extract_recipients = false;      // -t: take recipients from To, Cc and Bcc
  std::vector<std::string> recipients;  // from the command line / RCPT TO
};

struct PrepareContext {
  std::string account;             // account name, for Received and the default sender
  Uid uid = 0;                     // the submitting uid, for Received
  std::string protocol = "local";  // "local" for the drop-in, "ESMTPA" for SMTP submission
  std::string hostname;  // this host, for Received, Message-ID and the default sender domain
  TimePoint now{};
  std::int64_t max_bytes = 25 * 1024 * 1024;
};

struct PreparedMessage {
  std::string sender;                   // envelope sender, bare address ("" = null sender)
  std::vector<std::string> recipients;  // bare addresses, deduplicated, in order of appearance
  std::string body;                     // the message to deliver, CRLF line ends
  std::string subject;                  // decoded (encoded words), single line, may be ""
  std::string script;                   // X-PHP-Originating-Script value, if any
  // The bare addresses of the From header the script wrote (none if it wrote none and
  // mailwarden added one); an address it wrote that does not parse is kept as written, so
  // that the From check finds it no account's.
  std::vector<std::string> from_addresses;
  // The envelope sender is mailwarden's default (the account's name at this host): the script
  // gave neither -f nor a From.
  bool sender_defaulted = false;
  // The Message-ID the message leaves with (the script's, or the one added), as written
  // between its angle brackets; at most kMaxSummary bytes, one line.
  std::string message_id;
};

// Fails with kInvalidInput (sendmail exit 65) and a sentence a script's author understands:
// no recipients, a NUL byte, a header line over 998 bytes with no white space to fold it at,
// an unparsable recipient address;
// with kTooLarge when raw is over max_bytes. The message is made in raw's own buffer (the body
// moved behind the new header section), so a large one is not held twice: spare capacity in
// raw saves a copy (except for a message with lines over 998 bytes, which is re-encoded).
Result<PreparedMessage> PrepareMessage(std::string raw, const SubmitEnvelope& envelope,
                                       const PrepareContext& context);

// A new Message-ID for mail from this host, without the angle brackets: the time in
// milliseconds and 64 random bits, "@" host. No system call: each thread seeds its own
// generator once (GMime's generator opens /dev/urandom for every id).
std::string NewMessageId(std::string_view host);

// Parses one plain mailbox address ("a@b.c" or "Name <a@b.c>") into its bare address; refuses
// lists, groups, CR/LF and anything without exactly one local@domain. Used for report_to and
// for -f.
Result<std::string> ParseSingleAddress(std::string_view text);

}  // namespace mailwarden
