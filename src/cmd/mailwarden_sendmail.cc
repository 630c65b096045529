// NAME
//   mailwarden-sendmail - the sendmail(8) drop-in of mailwarden
//
// SYNOPSIS
//   mailwarden-sendmail [-t] [-i | -oi] [-f sender | -r sender] [-F full-name] [--]
//                       [recipient ...]
//   php.ini: sendmail_path = "/usr/sbin/mailwarden-sendmail -t -i"
//
// DESCRIPTION
//   Reads one message from standard input and hands it to mailwardend over the submission
//   socket ($MAILWARDEN_SOCKET, else the path compiled in as MW_DEFAULT_SOCKET) in the format
//   of submit/submit_wire.h, with the envelope its options name: -t takes the recipients from
//   the To, Cc and Bcc headers, -f/-r set the sender, -F the full name, and the arguments
//   after the options are recipients ("a@b.c, d@e.f" is two). The message is streamed, never
//   held whole in memory. Unless -i or -oi is given, a line holding only "." (LF or CRLF
//   ended) ends the message, as with sendmail. The no-op flags that scripts pass to sendmail
//   (-odi, -oem, -v, -B8BITMIME, -N never, -X log, ...) are accepted and ignored; the modes of
//   a full MTA (-bp, -bs, -bd, -bi, -q, -I) are refused. When the socket is missing or
//   refuses (the daemon restarting) it retries for about 5 seconds.
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

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "submit/sendmail_args.h"
#include "submit/submit_wire.h"

#ifndef MW_DEFAULT_SOCKET
#error "MW_DEFAULT_SOCKET must name the daemon's submission socket (CMake defines it)"
#endif

namespace mailwarden {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr int kExitIoErr = 74;  // sysexits EX_IOERR
constexpr milliseconds kConnectBudget{5000};
constexpr milliseconds kFirstPause{100};
constexpr milliseconds kLongestPause{500};
// A script blocks while it waits for us; a daemon that neither reads nor answers for this long
// is treated as gone rather than left to hang a web server's worker forever.
constexpr milliseconds kIoTimeout{120'000};
constexpr std::size_t kChunkBytes = 64 * 1024;
constexpr std::size_t kMaxReplyBytes = 4096;

void Complain(std::string_view message) {
  std::string line = "mailwarden-sendmail: ";
  line.append(message).push_back('\n');
  const char* data = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    ssize_t n = write(STDERR_FILENO, data, left);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return;  // stderr closed: the exit status still tells
    }
    data += n;
    left -= static_cast<std::size_t>(n);
  }
}

int Fail(int exit_code, std::string_view message) {
  Complain(message);
  return exit_code;
}

std::string ErrnoText(int error) { return strerror(error); }

void SetTimeout(int fd, int option, milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>(timeout.count() % 1000 * 1000);
  setsockopt(fd, SOL_SOCKET, option, &tv, sizeof tv);
}

void Pause(milliseconds duration) {
  timespec left{};
  left.tv_sec = static_cast<time_t>(duration.count() / 1000);
  left.tv_nsec = static_cast<long>(duration.count() % 1000 * 1'000'000);
  while (nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

bool IsDaemonRestarting(int error) {
  return error == ENOENT || error == ECONNREFUSED || error == EAGAIN || error == EINTR;
}

struct Connection {
  int fd = -1;
  int exit_code = kExitOk;
  std::string problem;
};

Connection Connect(const std::string& path) {
  Connection result;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof address.sun_path) {
    result.exit_code = kExitConfig;
    result.problem = "the submission socket path \"" + path + "\" is empty or too long";
    return result;
  }
  path.copy(address.sun_path, path.size());

  const auto deadline = steady_clock::now() + kConnectBudget;
  milliseconds pause = kFirstPause;
  int error = 0;
  for (;;) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      result.exit_code = kExitTempFail;
      result.problem = "cannot create a socket: " + ErrnoText(errno);
      return result;
    }
    // connect() waits while the daemon's listen queue is full; the send timeout bounds that
    // wait, so it must not outlast what is left of the retry budget.
    auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
    SetTimeout(fd, SO_SNDTIMEO, std::max(left, milliseconds(1)));
    if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) {
      SetTimeout(fd, SO_SNDTIMEO, kIoTimeout);
      SetTimeout(fd, SO_RCVTIMEO, kIoTimeout);
      result.fd = fd;
      return result;
    }
    error = errno;
    close(fd);
    if (!IsDaemonRestarting(error)) {
      result.exit_code = kExitUnavailable;
      result.problem = "cannot connect to the mail daemon at " + path + ": " + ErrnoText(error);
      return result;
    }
    left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
    if (left <= milliseconds(0)) {
      break;
    }
    if (error != EINTR) {
      Pause(std::min(pause, left));
      pause = std::min(pause * 3 / 2, kLongestPause);
    }
  }
  result.exit_code = kExitTempFail;
  result.problem = "the mail daemon does not answer at " + path + " (" + ErrnoText(error) +
                   "); the message was not sent, try again later";
  return result;
}

// False with errno set when the daemon stopped reading.
bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

ssize_t ReadInput(char* buffer, std::size_t size) {
  for (;;) {
    ssize_t n = read(STDIN_FILENO, buffer, size);
    if (n >= 0 || errno != EINTR) {
      return n;
    }
  }
}

// Finds sendmail's end of message in a stream read in chunks: a line holding only ".", ended by
// LF, CRLF or the end of input. Chunks may split such a line anywhere, so a "." (or ".\r") at
// the start of a line is held back until the next byte tells whether it ends the message.
class DotLineScanner {
 public:
  // Appends to out the part of chunk that belongs to the message; true once the "." line has
  // been seen, and nothing after it is part of the message.
  bool Scan(std::string_view chunk, std::string& out) {
    std::size_t i = 0;
    while (i < chunk.size()) {
      char c = chunk[i];
      switch (state_) {
        case State::kInLine: {
          std::size_t newline = chunk.find('\n', i);
          if (newline == std::string_view::npos) {
            out.append(chunk.substr(i));
            return false;
          }
          out.append(chunk.substr(i, newline + 1 - i));
          i = newline + 1;
          state_ = State::kLineStart;
          break;
        }
        case State::kLineStart:
          if (c == '.') {
            state_ = State::kDot;
            ++i;
          } else {
            state_ = State::kInLine;
          }
          break;
        case State::kDot:
          if (c == '\n') {
            return true;
          }
          if (c == '\r') {
            state_ = State::kDotCr;
            ++i;
          } else {
            out.push_back('.');
            state_ = State::kInLine;
          }
          break;
        case State::kDotCr:
          if (c == '\n') {
            return true;
          }
          out.append(".\r");
          state_ = State::kInLine;
          break;
      }
    }
    return false;
  }

 private:
  enum class State { kLineStart, kInLine, kDot, kDotCr };
  State state_ = State::kLineStart;
};

int ReadReply(int fd) {
  std::string line;
  char buffer[512];
  while (line.find('\n') == std::string::npos) {
    if (line.size() > kMaxReplyBytes) {
      return Fail(kExitTempFail, "the mail daemon's answer is not a line; try again later");
    }
    ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return Fail(kExitTempFail, "no answer from the mail daemon within " +
                                       std::to_string(kIoTimeout.count() / 1000) +
                                       " seconds; try again later");
      }
      return Fail(kExitTempFail, "the connection to the mail daemon dropped before its answer (" +
                                     ErrnoText(errno) + "); try again later");
    }
    if (n == 0) {
      return Fail(kExitTempFail,
                  "the mail daemon closed the connection before answering; try again later");
    }
    line.append(buffer, static_cast<std::size_t>(n));
  }
  line.resize(line.find('\n') + 1);
  std::optional<SubmitReply> reply = DecodeSubmitReply(line);
  if (!reply) {
    return Fail(kExitTempFail, "the mail daemon's answer is unreadable; try again later");
  }
  if (reply->code != kExitOk) {
    Complain(reply->text.empty() ? "the mail daemon refused the message (status " +
                                       std::to_string(reply->code) + ")"
                                 : reply->text);
  }
  return reply->code;
}

// After a failed send: the daemon may have refused early (no account, message too large) and
// closed, its answer already waiting in our receive queue.
int ReplyAfterSendFailure(int fd) {
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    return Fail(kExitTempFail, "the mail daemon stopped reading the message for " +
                                   std::to_string(kIoTimeout.count() / 1000) +
                                   " seconds; try again later");
  }
  return ReadReply(fd);
}

int Submit(int fd, std::string_view header, bool dot_ends_message) {
  if (!SendAll(fd, header)) {
    return ReplyAfterSendFailure(fd);
  }
  std::string input(kChunkBytes, '\0');
  std::string message_part;
  DotLineScanner scanner;
  for (;;) {
    ssize_t n = ReadInput(input.data(), input.size());
    if (n < 0) {
      int error = errno;
      // The wire format ends a message at EOF, which is all a close shows the daemon; a NUL
      // byte, which no message may hold, makes the daemon refuse this one instead of storing
      // it cut short.
      SendAll(fd, std::string_view("\0", 1));
      return Fail(kExitIoErr, "cannot read the message from standard input: " + ErrnoText(error));
    }
    if (n == 0) {
      break;
    }
    std::string_view chunk(input.data(), static_cast<std::size_t>(n));
    bool ended = false;
    if (dot_ends_message) {
      message_part.clear();
      ended = scanner.Scan(chunk, message_part);
      chunk = message_part;
    }
    if (!SendAll(fd, chunk)) {
      return ReplyAfterSendFailure(fd);
    }
    if (ended) {
      break;
    }
  }
  // Half-close: the end of our stream is the end of the message; the answer comes back on the
  // still-open reading side once the daemon has committed or refused it.
  shutdown(fd, SHUT_WR);
  return ReadReply(fd);
}

int Run(int argc, char** argv) {
  // A daemon that goes away mid-message must give us EPIPE to report, not a silent death.
  signal(SIGPIPE, SIG_IGN);

  std::vector<std::string> words(argv + 1, argv + argc);
  SendmailArgsError error;
  std::optional<SendmailArgs> args = ParseSendmailArgs(words, &error);
  if (!args) {
    return Fail(kExitUsage, error.message);
  }
  SubmitRequest request;
  request.from = std::move(args->from);
  request.full_name = std::move(args->full_name);
  request.extract = args->extract;
  request.recipients = std::move(args->recipients);
  std::optional<std::string> header = EncodeSubmitHeader(request);
  if (!header) {
    return Fail(kExitUsage, "the sender, full name and recipients are too long for one message");
  }

  // secure_getenv: a set-uid or set-gid run must not let the caller pick the socket.
  const char* from_env = secure_getenv("MAILWARDEN_SOCKET");
  std::string path = from_env != nullptr && *from_env != '\0' ? from_env : MW_DEFAULT_SOCKET;
  Connection connection = Connect(path);
  if (connection.fd < 0) {
    return Fail(connection.exit_code, connection.problem);
  }
  int status = Submit(connection.fd, *header, args->dot_ends_message);
  close(connection.fd);
  return status;
}

}  // namespace
}  // namespace mailwarden

int main(int argc, char** argv) { return mailwarden::Run(argc, argv); }
