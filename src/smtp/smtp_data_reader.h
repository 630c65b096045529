// The content that follows DATA (RFC 5321 4.1.1.4 and 4.5.2), read incrementally from
// untrusted bytes. Pure: no I/O.
//
// End of data is recognised ONLY at CRLF "." CRLF, the first CRLF being the end of the DATA
// line or of a data line. "\n.\n", "\n.\r\n", "\r.\r\n", "\r\n.\n" and the like end nothing
// (SMTP smuggling, 2023: a relay that ends data at one of them while the next hop does not
// lets a sender smuggle a second, forged message through).
//
// Bare LF and bare CR (an LF not preceded by CR, a CR not followed by LF) are normalised:
// each is stored as CRLF, but never starts a line for the terminator or for dot removal. So
// a smuggled "\n.\n" and what follows it stay inside the one message, and the stored message
// has only CRLF line ends: when it is relayed, its "." line is dot-stuffed like any other, and
// no later hop can find an end of data in it. (Refusing such messages would also be safe, but
// scripts that build mail by hand with "\n" would lose their mail; Postfix normalises too.)
//
// A message over max_message_bytes (counted after un-dot-stuffing) is refused with 552 5.3.4,
// only at the end of data, so that the client, which is busy sending and not reading, gets one
// clear reply; what is past the limit is not kept.
//
// Lines longer than RFC 5322's 998 bytes are accepted, as Postfix accepts them: scripts build
// HTML on one line. Preparing the message for the store (mime/message_prep.h) makes every
// line fit before anything leaves.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "smtp/smtp_command.h"

namespace mailwarden {

enum class SmtpDataOutcome { kAccepted, kTooLarge, kNoRoom };

// One DATA transaction: construct after replying 354, Feed the bytes that follow until done(),
// then read outcome() and TakeMessage(). Single-threaded; no internal synchronisation.
class SmtpDataReader {
 public:
  explicit SmtpDataReader(std::size_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}

  // Consumes bytes up to and including the end of data. Returns how many bytes of input were
  // data: all of them while the end is not reached, fewer when it is, in which case the rest
  // (pipelined commands) belongs to the command reader. After done(), consumes nothing.
  std::size_t Feed(std::string_view input);

  bool done() const { return state_ == State::kDone; }

  // Meaningful once done().
  SmtpDataOutcome outcome() const;
  // The reply that refuses the message; code 0 when outcome() is kAccepted.
  SmtpServerReply Refusal() const;

  // The message with CRLF line ends, un-dot-stuffed, without the terminating ".\r\n".
  // Empty unless outcome() is kAccepted.
  std::string TakeMessage();

  // Bytes of the message held so far (0 once it is over max_message_bytes: nothing is kept).
  std::size_t held_bytes() const { return message_.size(); }
  // Makes room for `bytes` of message at once, so that it does not grow by copying.
  void Reserve(std::size_t bytes) { message_.reserve(bytes); }
  // There is no room to receive the message (no large slot came free in time): what was held
  // is freed, the rest is read to the end of data and dropped, and the message is refused
  // with 451 4.3.1 (try again later).
  void DropForLackOfRoom();

  // Bytes consumed so far, terminator included.
  std::uint64_t wire_bytes() const { return wire_bytes_; }

 private:
  enum class State {
    kLineStart,  // after CRLF (or at the very start): a "." here may begin the terminator
    kText,       // inside a line
    kCr,         // a CR was read; is an LF next?
    kDot,        // a "." at line start
    kDotCr,      // "." CR at line start: an LF now ends the data
    kDone,
  };

  void Emit(std::string_view bytes);

  std::size_t max_message_bytes_;
  State state_ = State::kLineStart;
  std::string message_;
  std::uint64_t wire_bytes_ = 0;
  bool too_large_ = false;
  bool no_room_ = false;
};

}  // namespace mailwarden
