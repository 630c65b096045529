// SMTP replies as a client reads them (RFC 5321 section 4.2), and the EHLO keywords the
// delivery client acts on. Pure functions: no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace mailwarden {

// A peer that sends more than this is broken or hostile; the reply is a protocol error.
inline constexpr std::size_t kMaxReplyLineBytes = 2048;  // text of one line, without CRLF
inline constexpr std::size_t kMaxReplyLines = 100;

struct SmtpReply {
  int code = 0;
  // The text of each line after "250-" or "250 ", enhanced status code (RFC 3463) included.
  std::vector<std::string> lines;

  // One line for logs, the store and reports: "550 5.1.1 No such user", the texts of a
  // multi-line reply joined by a space.
  std::string ToString() const;
};

// Assembles one reply from its lines, fed one at a time. Single-use per reply: after AddLine
// returned true, TakeReply hands the reply out and the parser is ready for the next one.
class SmtpReplyParser {
 public:
  // line is one line without its CRLF. Returns true when it ended the reply, false when more
  // lines follow ("250-..."). Fails with kInvalidInput on a malformed line, a line longer than
  // kMaxReplyLineBytes, more than kMaxReplyLines lines, or a code that changes mid-reply;
  // the connection is then unusable.
  Result<bool> AddLine(std::string_view line);

  SmtpReply TakeReply();

 private:
  SmtpReply reply_;
};

// Parses text that holds exactly one whole reply of CRLF-terminated lines (a bare LF is taken
// as a line end too). Fails as AddLine does, or when text ends mid-reply or holds more.
Result<SmtpReply> ParseSmtpReply(std::string_view text);

// What a relay offers in its EHLO reply (RFC 5321 4.1.1.1; RFC 3207, 2920, 1870, 6152, 6531).
struct EhloCapabilities {
  bool starttls = false;
  bool pipelining = false;
  bool eight_bit_mime = false;
  bool smtputf8 = false;
  bool size = false;           // SIZE was advertised: MAIL FROM may carry SIZE=n
  std::uint64_t max_size = 0;  // the advertised limit in bytes; 0: no fixed limit
};

// Reads the keywords of an EHLO reply (lines after the first, case-insensitive). Unknown
// keywords are ignored; a SIZE with a malformed number counts as "no fixed limit".
EhloCapabilities ParseEhloCapabilities(const SmtpReply& ehlo_reply);

}  // namespace mailwarden
