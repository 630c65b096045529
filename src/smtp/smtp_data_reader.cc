#include "smtp/smtp_data_reader.h"

#include <utility>

#include "smtp/line_break.h"

namespace mailwarden {

void SmtpDataReader::DropForLackOfRoom() {
  no_room_ = true;
  std::string().swap(message_);
}

void SmtpDataReader::Emit(std::string_view bytes) {
  if (too_large_ || no_room_) return;
  if (message_.size() + bytes.size() > max_message_bytes_) {
    // Read on to the end so the client hears 552 at the point it listens for a reply, but
    // keep nothing: a flood past the limit must not cost memory.
    too_large_ = true;
    std::string().swap(message_);
    return;
  }
  message_.append(bytes);
}

std::size_t SmtpDataReader::Feed(std::string_view input) {
  std::size_t i = 0;
  // Each state either consumes input[i] or moves to kText without consuming it, so that
  // kText sees the byte; no path loops without progress.
  while (i < input.size() && state_ != State::kDone) {
    const char c = input[i];
    switch (state_) {
      case State::kLineStart:
        if (c == '.') {
          state_ = State::kDot;
          ++i;
        } else {
          state_ = State::kText;
        }
        break;
      case State::kText:
        if (c == '\r') {
          state_ = State::kCr;
          ++i;
        } else if (c == '\n') {
          // A bare LF is stored as CRLF but never makes a line start: "\n.\r\n" must not end
          // the data.
          Emit("\r\n");
          ++i;
        } else {
          const std::size_t end = FindLineBreak(input, i);
          Emit(input.substr(i, end - i));
          i = end;
        }
        break;
      case State::kCr:
        if (c == '\n') {
          Emit("\r\n");
          state_ = State::kLineStart;
          ++i;
        } else {
          Emit("\r\n");  // a bare CR, stored as CRLF
          state_ = State::kText;
        }
        break;
      case State::kDot:
        if (c == '\r') {
          state_ = State::kDotCr;
          ++i;
        } else {
          // RFC 5321 4.5.2: a leading "." followed by more text is deleted; for "..", the
          // dot-stuffed form of a line starting with ".", the second one stays.
          state_ = State::kText;
        }
        break;
      case State::kDotCr:
        if (c == '\n') {
          state_ = State::kDone;
          ++i;
        } else {
          // "." and a bare CR: the dot is followed by more than CRLF, so it is deleted like
          // any leading dot, and the CR is stored as CRLF.
          Emit("\r\n");
          state_ = State::kText;
        }
        break;
      case State::kDone:
        break;
    }
  }
  wire_bytes_ += i;
  return i;
}

SmtpDataOutcome SmtpDataReader::outcome() const {
  if (no_room_) return SmtpDataOutcome::kNoRoom;
  if (too_large_) return SmtpDataOutcome::kTooLarge;
  return SmtpDataOutcome::kAccepted;
}

SmtpServerReply SmtpDataReader::Refusal() const {
  switch (outcome()) {
    case SmtpDataOutcome::kAccepted:
      return {};
    case SmtpDataOutcome::kTooLarge:
      return {552, "5.3.4 Message size exceeds fixed limit of " +
                       std::to_string(max_message_bytes_) + " bytes"};
    case SmtpDataOutcome::kNoRoom:
      return {451, "4.3.1 Too much mail is being received now, try again later"};
  }
  return {451, "4.3.0 Internal error"};
}

std::string SmtpDataReader::TakeMessage() {
  if (outcome() != SmtpDataOutcome::kAccepted) return {};
  return std::exchange(message_, std::string());
}

}  // namespace mailwarden
