// sendmail -bs: the drop-in speaking SMTP on its standard input and output, as Postfix's and
// Sendmail's sendmail do, for the PHP mailers that use it by default (Symfony Mailer's and
// SwiftMailer's sendmail transports). Library-free: the sendmail drop-in links it.
//
// The session is a state machine without I/O. Input is given to Feed in chunks as it is
// read; replies and the messages go out through a DropinSmtpPort, which the drop-in's main
// connects to standard output and to the daemon's submission socket. Each message of the
// session is one submission to the daemon, exactly as a -t submission would be made: the
// envelope from MAIL and RCPT (as -f and recipient arguments give it), the content of DATA
// streamed un-dot-stuffed, the daemon's answer (a sysexits code) turned into the reply to the
// end of data by SmtpReplyForExit:
//   0 stored                                   250 2.0.0
//   75 try later, and the drop-in's own
//      failures (69, 70, 74, 78: daemon not
//      reachable, connection dropped)          451 4.3.0
//   65 bad message                             554 5.6.0
//   77 the uid has no account                  550 5.7.1
//   64 the daemon refused the request          554 5.3.0
// The reply's text is the daemon's, printable ASCII only.
//
// The protocol, RFC 5321 as a submission server speaks it to one local client: EHLO / HELO,
// MAIL, RCPT, DATA, RSET, NOOP, QUIT, VRFY (252), HELP; EHLO offers PIPELINING, 8BITMIME and
// ENHANCEDSTATUSCODES. Commands end with CRLF or a bare LF; only CRLF "." CRLF ends DATA (as
// on the SMTP listener: a "\n.\n" in a message is text, never a smuggled end). MAIL and RCPT
// parameters (SIZE=, BODY=, ...) are accepted and ignored. Replies are queued through the
// port as each command is handled, so a client may pipeline (RFC 2920).
//
// Bounds, like the SMTP listener's: a command line of kMaxDropinCommandBytes (500 5.5.2),
// kMaxRecipientsPerSubmission recipients a message (452 4.5.3), kMaxDropinMessages messages a
// session and kMaxDropinErrors bad commands a session (then 421 4.7.0 and the session ends).
// The size of a message is the daemon's to bound (submit.max_message_bytes); the idle time on
// standard input is the caller's (the drop-in's main, kDropinIdleSeconds).
#pragma once

#include <stddef.h>

#include "submit/dropin_wire.h"
#include "submit/fixed_text.h"
#include "submit/text_view.h"

namespace mailwarden {

inline constexpr size_t kMaxDropinCommandBytes = 512;  // including CRLF, as the SMTP listener
inline constexpr size_t kMaxDropinPathBytes = 256;     // an address, "<" and ">" included
inline constexpr size_t kMaxDropinMessages = 1000;
inline constexpr size_t kMaxDropinErrors = 20;
inline constexpr long kDropinIdleSeconds = 300;

// The text of one reply line, without its code and CRLF.
using DropinReplyText = FixedText<512>;

// What the session needs from the outside. Function pointers rather than virtual functions:
// the drop-in is built without the C++ library. Every function gets `context`.
struct DropinSmtpPort {
  void* context = nullptr;
  // Queues reply bytes for the client. False when the client is gone: the session ends.
  bool (*reply)(void* context, TextView bytes) = nullptr;
  // Opens a submission with the envelope. Returns kExitOk, or the exit code of the failure
  // with its sentence in *why (nothing is open then).
  int (*open)(void* context, const SubmitHeaderFields& envelope, DropinReplyText* why) = nullptr;
  // Sends bytes of the open message. False when the daemon stopped reading; the session
  // reads on to the end of DATA and then asks finish for the daemon's answer.
  bool (*write)(void* context, TextView bytes) = nullptr;
  // Ends the open message (its end mark) and waits for the daemon's answer: returns the exit
  // code, the daemon's text in *text. The submission is closed afterwards.
  int (*finish)(void* context, DropinReplyText* text) = nullptr;
  // Closes the open submission without its end mark: the daemon stores nothing of it.
  void (*abandon)(void* context) = nullptr;
};

// The reply to the end of data (or to DATA, when the submission could not be opened) for an
// exit code, e.g. 75 → 451 with "4.3.0". Returns the code; *status gets the enhanced code.
int SmtpReplyForExit(int exit_code, TextView* status);

class DropinSmtpSession {
 public:
  // Default-constructible so that the drop-in can keep it in static storage: its arena of
  // recipients costs nothing until written. Start must come first.
  DropinSmtpSession() = default;
  DropinSmtpSession(const DropinSmtpSession&) = delete;
  DropinSmtpSession& operator=(const DropinSmtpSession&) = delete;

  // Begins the session: queues the 220 greeting. `hostname` names this host in the greeting
  // and in EHLO's answer; `full_name` (-F), when not empty, goes with each submission. Both
  // must outlive the session. False when the client is gone.
  bool Start(const DropinSmtpPort& port, TextView hostname, TextView full_name);

  // Consumes the next bytes of standard input. False once the session is over: QUIT, a bound
  // reached, or the client gone; further input is then not read.
  bool Feed(TextView chunk);

  // Standard input ended (or stayed idle too long: `idle` true, and a 421 is queued). An open
  // message is abandoned, so nothing of it is stored.
  void End(bool idle);

  // True when the session ended with the client's QUIT.
  bool quit() const { return quit_; }
  // True when input ended with a message cut short in DATA.
  bool cut_short() const { return cut_short_; }

 private:
  enum class State {
    kCommand,  // reading command lines
    kData,     // reading message lines after 354
    kOver,     // QUIT, a bound, the client gone
  };
  // Where a DATA line stands (RFC 5321 4.5.2); as the SMTP listener's SmtpDataReader.
  enum class DataState { kLineStart, kText, kCr, kDot, kDotCr };

  bool HandleLine(TextView line);
  bool HandleMail(TextView argument);
  bool HandleRcpt(TextView argument);
  bool HandleData();
  bool FeedData(TextView chunk, size_t* used);
  bool EndOfData();
  void ResetTransaction();
  bool Reply(int code, TextView text);
  bool ReplyError(int code, TextView text);
  bool Send(TextView bytes);

  DropinSmtpPort port_;
  TextView hostname_;
  TextView full_name_;
  State state_ = State::kCommand;
  DataState data_state_ = DataState::kLineStart;
  bool quit_ = false;
  bool cut_short_ = false;
  bool daemon_gone_ = false;  // the open submission stopped taking bytes
  size_t messages_ = 0;
  size_t errors_ = 0;

  // The command line being read; a line over the bound is skipped to its end, then refused.
  char line_[kMaxDropinCommandBytes];
  size_t line_size_ = 0;
  bool line_too_long_ = false;

  // The transaction: the sender, and the recipients in an arena of addresses.
  bool has_sender_ = false;
  char sender_[kMaxDropinPathBytes];
  size_t sender_size_ = 0;
  size_t recipient_count_ = 0;
  TextView recipients_[kMaxRecipientsPerSubmission];
  char arena_[kMaxRecipientsPerSubmission * kMaxDropinPathBytes];
  size_t arena_size_ = 0;
};

}  // namespace mailwarden
