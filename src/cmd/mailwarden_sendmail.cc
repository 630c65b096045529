// NAME
//   mailwarden-sendmail - the sendmail(8) drop-in of mailwarden
//
// SYNOPSIS
//   mailwarden-sendmail [-t] [-i | -oi] [-f sender | -r sender] [-F full-name] [--]
//                       [recipient ...]
//   mailwarden-sendmail -bs [-F full-name]
//   php.ini: sendmail_path = "/usr/sbin/mailwarden-sendmail -t -i"
//
// DESCRIPTION
//   Reads one message from standard input and hands it to mailwardend over the submission
//   socket ($MAILWARDEN_SOCKET, else the path compiled in as MW_DEFAULT_SOCKET) in the format
//   of submit/dropin_wire.h, with the envelope its options name: -t takes the recipients from
//   the To, Cc and Bcc headers, -f/-r set the sender, -F the full name, and the arguments
//   after the options are recipients ("a@b.c, d@e.f" is two). The message is streamed, never
//   held whole in memory, and ends with an end mark: if this program is killed mid-message
//   (with its script), the daemon stores nothing of it. Unless -i or -oi is given, a line
//   holding only "." (LF or CRLF ended) ends the message, as with sendmail. The no-op flags
//   that scripts pass to sendmail (-odi, -oem, -v, -B8BITMIME, -N never, -X log, ...) are
//   accepted and ignored; the modes of a full MTA (-bp, -bd, -bi, -q, -I) are refused.
//   When the socket is missing or refuses (the daemon restarting) it retries for about 5
//   seconds.
//
//   With -bs it speaks SMTP on standard input and output instead, as the sendmail transports
//   of Symfony Mailer and SwiftMailer expect (submit/dropin_smtp.h): each message of the
//   session is one submission as above, with the envelope of MAIL and RCPT, and the reply to
//   its end of data says what the exit status would have said. A session idle for 5 minutes
//   on standard input is told 421 and ends.
//
// SECURITY
//   Runs with the caller's privileges and needs no others: install it without set-uid or
//   set-gid bits (if it runs so anyway, it ignores $MAILWARDEN_SOCKET). It trusts nothing
//   from the caller and vouches for nothing: the daemon learns the caller's uid from the
//   kernel (SO_PEERCRED), never from this program, and judges the envelope and the message
//   itself. A caller pointing $MAILWARDEN_SOCKET elsewhere only talks to another socket.
//
// DIAGNOSTICS
//   Problems are written to standard error as "mailwarden-sendmail: ...". Exit status, from
//   sysexits(3): 0 the daemon stored the message (nothing is printed); 64 usage error;
//   65 the daemon refused the message; 69 the socket cannot be used (e.g. permission denied);
//   74 standard input could not be read; 75 the daemon is not reachable, or the connection
//   dropped or timed out before its answer: try again later; 77 the caller's uid has no
//   account; 78 the socket path is unusable; any other code is the daemon's answer.
//   With -bs, each message's fate is in its SMTP reply; the exit status is 0, or 75 (with a
//   line on standard error) if standard input ended in the middle of a message, which was not
//   stored.
//
// BUILD
//   PHP's mail() executes this program once per message, so its start-up is most of a
//   submission's cost. It is C++ without the C++ standard library (C headers only: no
//   exceptions, RTTI, virtual functions, allocation by new, or statics needing thread-safe
//   guards: -fno-threadsafe-statics makes a local static a plain flag) and is
//   linked statically against musl: nothing to load or relocate at exec, and none of glibc's
//   start-up work, whose CPU cache detection (CPUID, a VM exit on a virtual machine) alone
//   took longer than the rest of a submission. The same sources build with the normal
//   toolchain, for the unit tests and the sanitizer build.

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "submit/dot_line_scanner.h"
#include "submit/dropin_smtp.h"
#include "submit/dropin_wire.h"
#include "submit/fixed_text.h"
#include "submit/sendmail_args.h"
#include "submit/text_view.h"

#ifndef MW_DEFAULT_SOCKET
#error "MW_DEFAULT_SOCKET must name the daemon's submission socket (CMake defines it)"
#endif

namespace mailwarden {
namespace {

constexpr long kConnectBudgetMs = 5000;
constexpr long kFirstPauseMs = 100;
constexpr long kLongestPauseMs = 500;
// A script blocks while it waits for us; a daemon that neither reads nor answers for this long
// is treated as gone rather than left to hang a web server's worker forever.
constexpr long kIoTimeoutMs = 120'000;
constexpr size_t kChunkBytes = 64 * 1024;
constexpr size_t kMaxReplyBytes = 4096;
constexpr size_t kReplyReadBytes = 512;

// A diagnostic. The longest quotes the daemon's answer, at most kMaxReplyBytes +
// kReplyReadBytes long; longer ones (a huge socket path) are cut.
constexpr size_t kMessageBytes = 8 * 1024;
using Message = FixedText<kMessageBytes>;

// The header block: in zeroed static storage, which costs nothing until written, rather than
// 256 KiB of stack.
char g_header[kMaxHeaderBytes];

// Owns a file descriptor.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) {
      close(fd_);
    }
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// Owns a malloc'd array of a trivial type; get() is null when the memory is not there.
template <typename T>
class HeapArray {
 public:
  explicit HeapArray(size_t count)
      : data_(static_cast<T*>(malloc(count > 0 ? count * sizeof(T) : 1))) {}
  HeapArray(const HeapArray&) = delete;
  HeapArray& operator=(const HeapArray&) = delete;
  ~HeapArray() { free(data_); }
  T* get() const { return data_; }

 private:
  T* data_;
};

void Complain(TextView message) {
  FixedText<kMessageBytes + 64> line;
  line.Append("mailwarden-sendmail: ").Append(message).Append('\n');
  const char* data = line.View().data();
  size_t left = line.View().size();
  while (left > 0) {
    ssize_t n = write(STDERR_FILENO, data, left);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return;  // stderr closed: the exit status still tells
    }
    data += n;
    left -= static_cast<size_t>(n);
  }
}

int Fail(int exit_code, TextView message) {
  Complain(message);
  return exit_code;
}

TextView ErrnoText(int error) { return TextView::OfCString(strerror(error)); }

long NowMs() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<long>(now.tv_sec) * 1000 + now.tv_nsec / 1'000'000;
}

void SetTimeout(int fd, int option, long timeout_ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout_ms / 1000);
  tv.tv_usec = static_cast<suseconds_t>(timeout_ms % 1000 * 1000);
  setsockopt(fd, SOL_SOCKET, option, &tv, sizeof tv);
}

void Pause(long duration_ms) {
  timespec left{};
  left.tv_sec = static_cast<time_t>(duration_ms / 1000);
  left.tv_nsec = duration_ms % 1000 * 1'000'000;
  while (nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

bool IsDaemonRestarting(int error) {
  return error == ENOENT || error == ECONNREFUSED || error == EAGAIN || error == EINTR;
}

// The connected socket, or -1 with *exit_code and *problem set.
int Connect(TextView path, int* exit_code, Message* problem) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof address.sun_path) {
    *exit_code = kExitConfig;
    problem->Append("the submission socket path \"").Append(path).Append("\" is empty or too long");
    return -1;
  }
  memcpy(address.sun_path, path.data(), path.size());

  const long deadline = NowMs() + kConnectBudgetMs;
  long pause = kFirstPauseMs;
  int error = 0;
  for (;;) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      *exit_code = kExitTempFail;
      problem->Append("cannot create a socket: ").Append(ErrnoText(errno));
      return -1;
    }
    // connect() waits while the daemon's listen queue is full; the send timeout bounds that
    // wait, so it must not outlast what is left of the retry budget.
    long left = deadline - NowMs();
    SetTimeout(fd, SO_SNDTIMEO, left > 1 ? left : 1);
    if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) {
      SetTimeout(fd, SO_SNDTIMEO, kIoTimeoutMs);
      SetTimeout(fd, SO_RCVTIMEO, kIoTimeoutMs);
      return fd;
    }
    error = errno;
    close(fd);
    if (!IsDaemonRestarting(error)) {
      *exit_code = kExitUnavailable;
      problem->Append("cannot connect to the mail daemon at ")
          .Append(path)
          .Append(": ")
          .Append(ErrnoText(error));
      return -1;
    }
    left = deadline - NowMs();
    if (left <= 0) {
      break;
    }
    if (error != EINTR) {
      Pause(pause < left ? pause : left);
      pause = pause * 3 / 2 < kLongestPauseMs ? pause * 3 / 2 : kLongestPauseMs;
    }
  }
  *exit_code = kExitTempFail;
  problem->Append("the mail daemon does not answer at ")
      .Append(path)
      .Append(" (")
      .Append(ErrnoText(error))
      .Append("); the message was not sent, try again later");
  return -1;
}

// False with errno set when the daemon stopped reading.
bool SendAll(int fd, TextView data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    data = data.substr(static_cast<size_t>(n));
  }
  return true;
}

ssize_t ReadInput(char* buffer, size_t size) {
  for (;;) {
    ssize_t n = read(STDIN_FILENO, buffer, size);
    if (n >= 0 || errno != EINTR) {
      return n;
    }
  }
}

// Sets *text to the sentence and returns the exit code: a failure of the drop-in's own.
int Answer(int exit_code, TextView sentence, Message* text) {
  text->Clear();
  text->Append(sentence);
  return exit_code;
}

// Reads the daemon's answer: returns its exit code, its text in *text ("queued as 12", or
// why the message was refused).
int ReadReply(int fd, Message* text) {
  char line[kMaxReplyBytes + kReplyReadBytes];
  size_t size = 0;
  while (memchr(line, '\n', size) == nullptr) {
    if (size > kMaxReplyBytes) {
      return Answer(kExitTempFail, "the mail daemon's answer is not a line; try again later", text);
    }
    ssize_t n = recv(fd, line + size, kReplyReadBytes, 0);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      Message message;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        message.Append("no answer from the mail daemon within ")
            .AppendNumber(kIoTimeoutMs / 1000)
            .Append(" seconds; try again later");
      } else {
        message.Append("the connection to the mail daemon dropped before its answer (")
            .Append(ErrnoText(errno))
            .Append("); try again later");
      }
      return Answer(kExitTempFail, message.View(), text);
    }
    if (n == 0) {
      return Answer(kExitTempFail,
                    "the mail daemon closed the connection before answering; try again later",
                    text);
    }
    size += static_cast<size_t>(n);
  }
  const char* newline = static_cast<const char*>(memchr(line, '\n', size));
  SubmitReplyLine reply;
  if (!DecodeSubmitReply(TextView(line, static_cast<size_t>(newline - line) + 1), &reply)) {
    return Answer(kExitTempFail, "the mail daemon's answer is unreadable; try again later", text);
  }
  text->Clear();
  if (reply.code != kExitOk && reply.text.empty()) {
    text->Append("the mail daemon refused the message (status ")
        .AppendNumber(static_cast<unsigned long>(reply.code))
        .Append(")");
  } else {
    text->Append(reply.text);
  }
  return reply.code;
}

// After a failed send (errno tells why): the daemon may have refused early (no account,
// message too large) and closed, its answer already waiting in our receive queue.
int ReplyAfterSendFailure(int fd, Message* text) {
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    Message message;
    message.Append("the mail daemon stopped reading the message for ")
        .AppendNumber(kIoTimeoutMs / 1000)
        .Append(" seconds; try again later");
    return Answer(kExitTempFail, message.View(), text);
  }
  return ReadReply(fd, text);
}

// Ends a message whose bytes were all sent: the end mark says it is whole (without it, as
// when we are killed mid-message, the daemon stores nothing). Then the half-close; the answer
// comes back on the still-open reading side once the daemon has committed or refused it.
int EndMessage(int fd, Message* text) {
  if (!SendAll(fd, TextView(&kSubmitEndMark, 1))) {
    return ReplyAfterSendFailure(fd, text);
  }
  shutdown(fd, SHUT_WR);
  return ReadReply(fd, text);
}

int Submit(int fd, TextView header, bool dot_ends_message, Message* text) {
  if (!SendAll(fd, header)) {
    return ReplyAfterSendFailure(fd, text);
  }
  char input[kChunkBytes];
  DotLineScanner scanner;
  for (;;) {
    ssize_t n = ReadInput(input, sizeof input);
    if (n < 0) {
      int error = errno;
      // No end mark: the daemon stores nothing of a message that stops short.
      Message message;
      message.Append("cannot read the message from standard input: ").Append(ErrnoText(error));
      return Answer(kExitIoErr, message.View(), text);
    }
    if (n == 0) {
      break;
    }
    TextView chunk(input, static_cast<size_t>(n));
    DotLineScanner::Part part;
    part.length = chunk.size();
    if (dot_ends_message) {
      part = scanner.Scan(chunk);
    }
    if (!SendAll(fd, part.released) || !SendAll(fd, chunk.substr(0, part.length))) {
      return ReplyAfterSendFailure(fd, text);
    }
    if (part.ended) {
      break;
    }
  }
  return EndMessage(fd, text);
}

TextView SocketPath() {
  // secure_getenv: a set-uid or set-gid run must not let the caller pick the socket.
  const char* from_env = secure_getenv("MAILWARDEN_SOCKET");
  return from_env != nullptr && *from_env != '\0' ? TextView::OfCString(from_env)
                                                  : TextView(MW_DEFAULT_SOCKET);
}

// ---- -bs: the SMTP session's port (submit/dropin_smtp.h) ----

// Replies wait here until the session needs more input (then all are written at once, as a
// pipelining client expects) or the buffer is full.
constexpr size_t kReplyBufferBytes = 16 * 1024;

struct SmtpSessionIo {
  TextView socket_path;
  int daemon = -1;      // the open submission's connection
  int write_error = 0;  // errno of the send that failed, for the answer
  char replies[kReplyBufferBytes];
  size_t reply_size = 0;
  bool client_gone = false;
};

bool FlushReplies(SmtpSessionIo& io) {
  size_t done = 0;
  while (done < io.reply_size && !io.client_gone) {
    ssize_t n = write(STDOUT_FILENO, io.replies + done, io.reply_size - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      io.client_gone = true;  // the client closed its reading side: the session is over
      break;
    }
    done += static_cast<size_t>(n);
  }
  io.reply_size = 0;
  return !io.client_gone;
}

bool PortReply(void* context, TextView bytes) {
  auto& io = *static_cast<SmtpSessionIo*>(context);
  if (bytes.size() > sizeof io.replies - io.reply_size && !FlushReplies(io)) {
    return false;
  }
  // A reply is far shorter than the buffer.
  memcpy(io.replies + io.reply_size, bytes.data(), bytes.size());
  io.reply_size += bytes.size();
  return !io.client_gone;
}

void CloseSubmission(SmtpSessionIo& io) {
  if (io.daemon >= 0) {
    close(io.daemon);
    io.daemon = -1;
  }
  io.write_error = 0;
}

void CopyText(TextView text, DropinReplyText* out) { out->Append(text); }

int PortOpen(void* context, const SubmitHeaderFields& envelope, DropinReplyText* why) {
  auto& io = *static_cast<SmtpSessionIo*>(context);
  const size_t header_size = EncodeSubmitHeader(envelope, g_header, sizeof g_header);
  if (header_size == 0) {
    CopyText("the sender and recipients are too long for one message", why);
    return kExitUsage;
  }
  int exit_code = kExitOk;
  Message problem;
  io.daemon = Connect(io.socket_path, &exit_code, &problem);
  if (io.daemon < 0) {
    CopyText(problem.View(), why);
    return exit_code;
  }
  if (!SendAll(io.daemon, TextView(g_header, header_size))) {
    Message text;
    exit_code = ReplyAfterSendFailure(io.daemon, &text);
    CloseSubmission(io);
    CopyText(text.View(), why);
    // Nothing was stored without a message; an answer of 0 here would be a broken daemon.
    return exit_code == kExitOk ? kExitTempFail : exit_code;
  }
  return kExitOk;
}

bool PortWrite(void* context, TextView bytes) {
  auto& io = *static_cast<SmtpSessionIo*>(context);
  if (!SendAll(io.daemon, bytes)) {
    io.write_error = errno;
    return false;
  }
  return true;
}

int PortFinish(void* context, DropinReplyText* text) {
  auto& io = *static_cast<SmtpSessionIo*>(context);
  Message answer;
  int exit_code;
  if (io.write_error != 0) {
    errno = io.write_error;
    exit_code = ReplyAfterSendFailure(io.daemon, &answer);
  } else {
    exit_code = EndMessage(io.daemon, &answer);
  }
  CloseSubmission(io);
  CopyText(answer.View(), text);
  return exit_code;
}

void PortAbandon(void* context) {
  // Closed without its end mark: the daemon stores nothing of the message.
  CloseSubmission(*static_cast<SmtpSessionIo*>(context));
}

// Waits until standard input is readable; false after kDropinIdleSeconds of nothing.
bool WaitForInput() {
  pollfd input{};
  input.fd = STDIN_FILENO;
  input.events = POLLIN;
  const long deadline = NowMs() + kDropinIdleSeconds * 1000;
  for (;;) {
    const long left = deadline - NowMs();
    if (left <= 0) {
      return false;
    }
    const int ready = poll(&input, 1, static_cast<int>(left));
    if (ready > 0 || (ready < 0 && errno != EINTR)) {
      return true;  // readable, closed, or an error that read() will report
    }
  }
}

int RunSmtpSession(TextView full_name) {
  // In static storage, not on the stack: the session's arena of recipients is large. A local
  // static, so that a run without -bs does not even construct it.
  static SmtpSessionIo io;
  static DropinSmtpSession session;
  io.socket_path = SocketPath();
  DropinSmtpPort port;
  port.context = &io;
  port.reply = PortReply;
  port.open = PortOpen;
  port.write = PortWrite;
  port.finish = PortFinish;
  port.abandon = PortAbandon;
  char host[256] = "localhost";
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') {
    memcpy(host, "localhost", sizeof "localhost");
  }
  host[sizeof host - 1] = '\0';

  bool going = session.Start(port, TextView::OfCString(host), full_name);
  char input[kChunkBytes];
  while (going) {
    // Before waiting for the client, it gets every reply queued so far.
    if (!FlushReplies(io)) {
      break;
    }
    if (!WaitForInput()) {
      session.End(true);
      break;
    }
    ssize_t n = ReadInput(input, sizeof input);
    if (n <= 0) {
      session.End(false);
      break;
    }
    going = session.Feed(TextView(input, static_cast<size_t>(n)));
  }
  FlushReplies(io);
  CloseSubmission(io);
  if (session.cut_short()) {
    Complain("standard input ended in the middle of a message; it was not sent");
    return kExitTempFail;
  }
  return kExitOk;
}

int Run(int argc, char** argv) {
  // A daemon that goes away mid-message must give us EPIPE to report, not a silent death.
  signal(SIGPIPE, SIG_IGN);

  const size_t word_count = argc > 1 ? static_cast<size_t>(argc - 1) : 0;
  HeapArray<TextView> words(word_count);
  if (words.get() == nullptr) {
    return Fail(kExitTempFail, "out of memory; try again later");
  }
  for (size_t i = 0; i < word_count; ++i) {
    words.get()[i] = TextView::OfCString(argv[i + 1]);
  }
  SendmailArgs args;
  SendmailArgsError error;
  if (!ParseSendmailArgs(words.get(), word_count, &args, &error)) {
    return Fail(kExitUsage, error.message.View());
  }
  if (args.smtp_session) {
    return RunSmtpSession(args.has_full_name ? args.full_name : TextView());
  }
  const SubmitHeaderFields fields = args.HeaderFields();
  const size_t header_size = EncodeSubmitHeader(fields, g_header, sizeof g_header);
  if (header_size == 0) {
    return Fail(kExitUsage, "the sender, full name and recipients are too long for one message");
  }

  int exit_code = kExitOk;
  Message problem;
  Fd connection(Connect(SocketPath(), &exit_code, &problem));
  if (connection.get() < 0) {
    return Fail(exit_code, problem.View());
  }
  Message text;
  exit_code =
      Submit(connection.get(), TextView(g_header, header_size), args.dot_ends_message, &text);
  if (exit_code != kExitOk) {
    Complain(text.View());
  }
  return exit_code;
}

}  // namespace
}  // namespace mailwarden

int main(int argc, char** argv) { return mailwarden::Run(argc, argv); }
