// The body of a message as it goes over the wire after DATA (RFC 5321 4.5.2), produced in
// chunks so that a large message is never copied whole.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mailwarden {

// RFC 5321 4.5.3.1.6: 998 bytes of text a line, the CRLF and a transparency dot not counted.
inline constexpr std::size_t kMaxWireLineBytes = 998;

// Turns a message into DATA content: every line end (CRLF, a bare LF or a bare CR) becomes
// CRLF, a line that starts with "." gets another ".", the last line is ended with CRLF if it
// was not, and ".\r\n" closes the data. Normalising bare CR and LF too means no byte sequence
// in a body can end the data early at a relay that reads line ends loosely (SMTP smuggling).
//
// A line over kMaxWireLineBytes is broken as Postfix's smtp_line_length_limit breaks it, with
// CRLF and a space, since relays refuse it. Message preparation stores no such line
// (mime/message_prep.h re-encodes them losslessly); this catches mail stored by a release
// before it did, so that no message leaves with a line a relay refuses.
//
// The body is borrowed: it must outlive the DotStuffer.
class DotStuffer {
 public:
  explicit DotStuffer(std::string_view body) : body_(body) {}

  // Replaces chunk with the next piece of wire text, about max_bytes long (a few bytes more at
  // most). Returns false, leaving chunk empty, once everything including ".\r\n" was given.
  bool Next(std::string& chunk, std::size_t max_bytes);

  // The whole wire text at once; for tests and small messages.
  static std::string Stuff(std::string_view body);

 private:
  std::string_view body_;
  std::size_t pos_ = 0;
  bool line_start_ = true;
  std::size_t line_bytes_ = 0;  // of the line being written, its transparency dot not counted
  bool done_ = false;
};

}  // namespace mailwarden
