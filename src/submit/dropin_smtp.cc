#include "submit/dropin_smtp.h"

#include <string.h>

namespace mailwarden {
namespace {

constexpr size_t kMaxAddressBytes = kMaxDropinPathBytes - 2;

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(TextView a, TextView b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) {
      return false;
    }
  }
  return true;
}

bool StartsWithIgnoreCase(TextView text, TextView prefix) {
  return text.size() >= prefix.size() && EqualsIgnoreCase(text.substr(0, prefix.size()), prefix);
}

TextView SkipSpaces(TextView text) {
  size_t i = 0;
  while (i < text.size() && text[i] == ' ') {
    ++i;
  }
  return text.substr(i);
}

// The mailbox of a MAIL or RCPT path: "<a@b.c>" (or a bare a@b.c, as sendmail takes it),
// a source route "<@x,@y:a@b.c>" dropped, parameters after it ignored. False when it is not
// one: no closing ">", white space, control characters or angle brackets inside, over
// kMaxAddressBytes, or (unless empty) no local part and domain around an "@". The daemon
// parses the address itself; this only refuses what can never be one, at once.
bool ParsePath(TextView argument, TextView* mailbox) {
  argument = SkipSpaces(argument);
  TextView path;
  if (!argument.empty() && argument[0] == '<') {
    const size_t close = argument.find('>');
    if (close == TextView::kNotFound) {
      return false;
    }
    path = argument.substr(1, close - 1);
  } else {
    const size_t space = argument.find(' ');
    path = argument.substr(0, space);
  }
  if (!path.empty() && path[0] == '@') {
    const size_t colon = path.find(':');
    if (colon == TextView::kNotFound) {
      return false;
    }
    path = path.substr(colon + 1);
  }
  if (path.size() > kMaxAddressBytes) {
    return false;
  }
  size_t at = TextView::kNotFound;
  for (size_t i = 0; i < path.size(); ++i) {
    const auto c = static_cast<unsigned char>(path[i]);
    if (c <= 0x20 || c == 0x7F || c == '<' || c == '>') {
      return false;
    }
    if (c == '@') {
      at = i;
    }
  }
  if (!path.empty() && (at == TextView::kNotFound || at == 0 || at + 1 == path.size())) {
    return false;
  }
  *mailbox = path;
  return true;
}

}  // namespace

int SmtpReplyForExit(int exit_code, TextView* status) {
  switch (exit_code) {
    case kExitOk:
      *status = "2.0.0";
      return 250;
    case kExitDataErr:
      *status = "5.6.0";
      return 554;
    case kExitNoPerm:
      *status = "5.7.1";
      return 550;
    case kExitUsage:
      *status = "5.3.0";
      return 554;
    default:
      // 75, and what the drop-in met on its side (69, 70, 74, 78): the message was not
      // stored, the same message may be sent again later.
      *status = "4.3.0";
      return 451;
  }
}

bool DropinSmtpSession::Send(TextView bytes) {
  if (state_ == State::kOver) {
    return false;
  }
  if (!port_.reply(port_.context, bytes)) {
    if (state_ == State::kData) {
      port_.abandon(port_.context);
    }
    state_ = State::kOver;
    return false;
  }
  return true;
}

bool DropinSmtpSession::Reply(int code, TextView text) {
  FixedText<DropinReplyText::kCapacity + 16> line;
  line.AppendNumber(static_cast<unsigned long>(code)).Append(' ');
  // The daemon's sentences may quote a script's input: only printable ASCII goes out.
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    line.Append(c >= 0x20 && c < 0x7F ? text[i] : '?');
  }
  line.Append("\r\n");
  return Send(line.View());
}

bool DropinSmtpSession::ReplyError(int code, TextView text) {
  if (!Reply(code, text)) {
    return false;
  }
  if (++errors_ >= kMaxDropinErrors) {
    Reply(421, "4.7.0 Too many errors in one session, closing");
    state_ = State::kOver;
    return false;
  }
  return true;
}

void DropinSmtpSession::ResetTransaction() {
  has_sender_ = false;
  sender_size_ = 0;
  recipient_count_ = 0;
  arena_size_ = 0;
}

bool DropinSmtpSession::Start(const DropinSmtpPort& port, TextView hostname, TextView full_name) {
  port_ = port;
  hostname_ = hostname;
  full_name_ = full_name;
  FixedText<400> greeting;
  greeting.Append("220 ").Append(hostname_).Append(" ESMTP mailwarden-sendmail\r\n");
  return Send(greeting.View());
}

bool DropinSmtpSession::Feed(TextView chunk) {
  size_t i = 0;
  while (i < chunk.size() && state_ != State::kOver) {
    if (state_ == State::kData) {
      size_t used = 0;
      if (!FeedData(chunk.substr(i), &used)) {
        return false;
      }
      i += used;
      continue;
    }
    const size_t lf = chunk.find('\n', i);
    const size_t end = lf == TextView::kNotFound ? chunk.size() : lf;
    const size_t piece = end - i;
    if (!line_too_long_ && piece <= sizeof line_ - line_size_) {
      memcpy(line_ + line_size_, chunk.data() + i, piece);
      line_size_ += piece;
    } else {
      line_too_long_ = true;
    }
    if (lf == TextView::kNotFound) {
      break;
    }
    i = lf + 1;
    TextView line(line_, line_size_);
    if (!line.empty() && line[line.size() - 1] == '\r') {
      line = line.substr(0, line.size() - 1);
    }
    // The bound counts CRLF, as RFC 5321 4.5.3.1.4 does.
    const bool too_long = line_too_long_ || line.size() + 2 > kMaxDropinCommandBytes;
    line_too_long_ = false;
    line_size_ = 0;
    if (too_long ? !ReplyError(500, "5.5.2 Line too long") : !HandleLine(line)) {
      return false;
    }
  }
  return state_ != State::kOver;
}

bool DropinSmtpSession::HandleLine(TextView line) {
  if (line.find('\0') != TextView::kNotFound || line.find('\r') != TextView::kNotFound) {
    return ReplyError(500, "5.5.2 Command line holds a NUL or CR byte");
  }
  while (!line.empty() && line[line.size() - 1] == ' ') {
    line = line.substr(0, line.size() - 1);
  }
  const size_t space = line.find(' ');
  const TextView verb = line.substr(0, space);
  const TextView argument =
      space == TextView::kNotFound ? TextView() : SkipSpaces(line.substr(space));

  if (EqualsIgnoreCase(verb, "EHLO") || EqualsIgnoreCase(verb, "HELO")) {
    if (argument.empty()) {
      return ReplyError(501, "5.5.4 Syntax: EHLO hostname");
    }
    ResetTransaction();
    FixedText<600> reply;
    if (EqualsIgnoreCase(verb, "HELO")) {
      reply.Append("250 ").Append(hostname_).Append("\r\n");
    } else {
      reply.Append("250-").Append(hostname_).Append("\r\n");
      reply.Append("250-PIPELINING\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n");
    }
    return Send(reply.View());
  }
  if (EqualsIgnoreCase(verb, "MAIL")) {
    return HandleMail(argument);
  }
  if (EqualsIgnoreCase(verb, "RCPT")) {
    return HandleRcpt(argument);
  }
  if (EqualsIgnoreCase(verb, "DATA")) {
    if (!argument.empty()) {
      return ReplyError(501, "5.5.4 Syntax: DATA");
    }
    return HandleData();
  }
  if (EqualsIgnoreCase(verb, "RSET")) {
    ResetTransaction();
    return Reply(250, "2.0.0 Ok");
  }
  if (EqualsIgnoreCase(verb, "NOOP")) {
    return Reply(250, "2.0.0 Ok");
  }
  if (EqualsIgnoreCase(verb, "QUIT")) {
    Reply(221, "2.0.0 Bye");
    quit_ = true;
    state_ = State::kOver;
    return false;
  }
  if (EqualsIgnoreCase(verb, "VRFY")) {
    return Reply(252, "2.1.5 Cannot VRFY user, but will accept message and attempt delivery");
  }
  if (EqualsIgnoreCase(verb, "HELP")) {
    return Reply(214, "2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP");
  }
  if (EqualsIgnoreCase(verb, "STARTTLS") || EqualsIgnoreCase(verb, "AUTH") ||
      EqualsIgnoreCase(verb, "EXPN") || EqualsIgnoreCase(verb, "ETRN") ||
      EqualsIgnoreCase(verb, "BDAT")) {
    return ReplyError(502, "5.5.1 Command not offered on standard input");
  }
  return ReplyError(500, "5.5.2 Command unrecognized");
}

bool DropinSmtpSession::HandleMail(TextView argument) {
  if (!StartsWithIgnoreCase(argument, "FROM:")) {
    return ReplyError(501, "5.5.4 Syntax: MAIL FROM:<address>");
  }
  if (has_sender_) {
    return ReplyError(503, "5.5.1 Nested MAIL command");
  }
  if (messages_ >= kMaxDropinMessages) {
    Reply(421, "4.7.0 Too many messages in one session, closing");
    state_ = State::kOver;
    return false;
  }
  TextView mailbox;
  if (!ParsePath(argument.substr(5), &mailbox)) {
    return ReplyError(553, "5.1.7 Bad sender address syntax");
  }
  memcpy(sender_, mailbox.data(), mailbox.size());
  sender_size_ = mailbox.size();
  has_sender_ = true;
  return Reply(250, "2.1.0 Ok");
}

bool DropinSmtpSession::HandleRcpt(TextView argument) {
  if (!StartsWithIgnoreCase(argument, "TO:")) {
    return ReplyError(501, "5.5.4 Syntax: RCPT TO:<address>");
  }
  if (!has_sender_) {
    return ReplyError(503, "5.5.1 Need MAIL command first");
  }
  TextView mailbox;
  if (!ParsePath(argument.substr(3), &mailbox) || mailbox.empty()) {
    return ReplyError(553, "5.1.3 Bad recipient address syntax");
  }
  if (recipient_count_ == kMaxRecipientsPerSubmission) {
    return Reply(452, "4.5.3 Too many recipients");
  }
  // The arena holds kMaxRecipientsPerSubmission addresses of the longest size: always room.
  memcpy(arena_ + arena_size_, mailbox.data(), mailbox.size());
  recipients_[recipient_count_++] = TextView(arena_ + arena_size_, mailbox.size());
  arena_size_ += mailbox.size();
  return Reply(250, "2.1.5 Ok");
}

bool DropinSmtpSession::HandleData() {
  if (!has_sender_) {
    return ReplyError(503, "5.5.1 Need MAIL command first");
  }
  if (recipient_count_ == 0) {
    return ReplyError(554, "5.5.1 No valid recipients");
  }
  SubmitHeaderFields envelope;
  envelope.has_from = true;
  envelope.from = TextView(sender_, sender_size_);
  envelope.has_full_name = !full_name_.empty();
  envelope.full_name = full_name_;
  envelope.recipients = recipients_;
  envelope.recipient_count = recipient_count_;
  DropinReplyText why;
  const int opened = port_.open(port_.context, envelope, &why);
  if (opened != kExitOk) {
    ResetTransaction();
    TextView status;
    const int code = SmtpReplyForExit(opened, &status);
    FixedText<DropinReplyText::kCapacity + 8> text;
    text.Append(status).Append(' ').Append(why.View());
    return Reply(code, text.View());
  }
  ++messages_;
  daemon_gone_ = false;
  data_state_ = DataState::kLineStart;
  state_ = State::kData;
  return Reply(354, "End data with <CR><LF>.<CR><LF>");
}

bool DropinSmtpSession::FeedData(TextView chunk, size_t* used) {
  // Message bytes go out as spans of the chunk; a "." that starts a line is never one of them
  // (removed dot-stuffing, or the terminator's), and a CR after it is held back until the
  // next byte tells whether the data ends.
  size_t start = 0;
  auto emit = [&](TextView bytes) {
    if (!bytes.empty() && !daemon_gone_ && !port_.write(port_.context, bytes)) {
      daemon_gone_ = true;
    }
  };
  for (size_t i = 0; i < chunk.size(); ++i) {
    const char c = chunk[i];
    switch (data_state_) {
      case DataState::kLineStart:
        if (c == '.') {
          emit(chunk.substr(start, i - start));
          start = i + 1;
          data_state_ = DataState::kDot;
        } else {
          data_state_ = c == '\r' ? DataState::kCr : DataState::kText;
        }
        break;
      case DataState::kText:
        if (c == '\r') {
          data_state_ = DataState::kCr;
        }
        break;
      case DataState::kCr:
        data_state_ = c == '\n'   ? DataState::kLineStart
                      : c == '\r' ? DataState::kCr
                                  : DataState::kText;
        break;
      case DataState::kDot:
        if (c == '\r') {
          start = i + 1;
          data_state_ = DataState::kDotCr;
        } else {
          data_state_ = DataState::kText;
        }
        break;
      case DataState::kDotCr:
        if (c == '\n') {
          *used = i + 1;
          return EndOfData();
        }
        emit("\r");
        start = i;
        data_state_ = c == '\r' ? DataState::kCr : DataState::kText;
        break;
    }
  }
  emit(chunk.substr(start));
  *used = chunk.size();
  return true;
}

bool DropinSmtpSession::EndOfData() {
  DropinReplyText answer;
  const int exit_code = port_.finish(port_.context, &answer);
  state_ = State::kCommand;
  ResetTransaction();
  TextView status;
  const int code = SmtpReplyForExit(exit_code, &status);
  FixedText<DropinReplyText::kCapacity + 16> text;
  text.Append(status)
      .Append(exit_code == kExitOk ? TextView(" Ok: ") : TextView(" "))
      .Append(answer.View());
  return Reply(code, text.View());
}

void DropinSmtpSession::End(bool idle) {
  if (state_ == State::kData) {
    port_.abandon(port_.context);
    cut_short_ = true;
    state_ = State::kCommand;
  }
  if (idle && state_ != State::kOver) {
    Reply(421, "4.4.2 Idle for too long, closing");
  }
  state_ = State::kOver;
}

}  // namespace mailwarden
