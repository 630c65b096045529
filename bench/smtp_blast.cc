// smtp_blast — SMTP acceptance rate of a server: like Postfix's smtp-source with -d (many
// messages per session, MAIL/RCPT/DATA pipelined), and able to AUTH PLAIN first, which
// smtp-source cannot and mailwarden's submission listener requires.
//
//   smtp_blast --port PORT [--host 127.0.0.1] [--sessions S] [--messages M] [--size BYTES]
//              [--auth USER:PASSWORD] [--from ADDR] [--to ADDR]
//
// S sessions (one thread and connection each) send M messages in all, each about BYTES long;
// a message counts when the server said 250 after its data (both servers reply so only once
// the message is durably queued). Prints "messages N failed F seconds S per_s R"; exits 1
// when any message or session failed (the first bad reply goes to stderr), 64 on bad usage.
// Trusts the server it is pointed at: it is a load generator for loopback, not a client.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace mailwarden {
namespace {

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  int sessions = 20;
  long messages = 5000;
  long size = 2048;
  std::string user;
  std::string password;
  std::string from = "shop@example.com";
  std::string to = "user@example.net";
};

std::mutex report_mutex;
bool reported = false;

void ReportFirst(const std::string& what) {
  std::lock_guard lock(report_mutex);
  if (reported) return;
  reported = true;
  std::fprintf(stderr, "smtp_blast: %s\n", what.c_str());
}

std::string Base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// One blocking connection: whole writes, replies read line by line.
class Connection {
 public:
  explicit Connection(int fd) : fd_(fd) {}
  ~Connection() { ::close(fd_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool Send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // The code of the next (possibly multi-line) reply, or 0 when the connection ended.
  int Reply(std::string* text) {
    for (;;) {
      const auto eol = buffer_.find("\r\n");
      if (eol == std::string::npos) {
        char chunk[4096];
        const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n <= 0) return 0;
        buffer_.append(chunk, static_cast<std::size_t>(n));
        continue;
      }
      std::string line = buffer_.substr(0, eol);
      buffer_.erase(0, eol + 2);
      if (line.size() < 3) return 0;
      if (line.size() > 3 && line[3] == '-') continue;
      if (text) *text = line;
      return std::atoi(line.substr(0, 3).c_str());
    }
  }

  bool Expect(int code, const char* step) {
    std::string text;
    const int got = Reply(&text);
    if (got == code) return true;
    ReportFirst(std::string(step) + ": " + (got ? text : std::string("connection closed")));
    return false;
  }

 private:
  int fd_;
  std::string buffer_;
};

std::string MakeMessage(const Options& options) {
  std::string m = "From: " + options.from + "\r\nTo: " + options.to + "\r\nSubject: bench\r\n\r\n";
  const std::string line(76, 'x');
  while (static_cast<long>(m.size()) < options.size) m += line + "\r\n";
  return m + ".\r\n";
}

void Session(const Options& options, const std::string& message, std::atomic<long>& next,
             std::atomic<long>& ok, std::atomic<long>& failed) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(options.port));
  ::inet_pton(AF_INET, options.host.c_str(), &addr.sin_addr);
  Connection c(fd);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ReportFirst("connect failed");
    failed.fetch_add(1);
    return;
  }
  if (!c.Expect(220, "greeting") || !c.Send("EHLO bench.example\r\n") || !c.Expect(250, "EHLO")) {
    failed.fetch_add(1);
    return;
  }
  if (!options.user.empty()) {
    const std::string plain = std::string(1, '\0') + options.user + '\0' + options.password;
    if (!c.Send("AUTH PLAIN " + Base64(plain) + "\r\n") || !c.Expect(235, "AUTH")) {
      failed.fetch_add(1);
      return;
    }
  }
  const std::string envelope =
      "MAIL FROM:<" + options.from + ">\r\nRCPT TO:<" + options.to + ">\r\nDATA\r\n";
  while (next.fetch_add(1) < options.messages) {
    const bool good = c.Send(envelope) && c.Expect(250, "MAIL") && c.Expect(250, "RCPT") &&
                      c.Expect(354, "DATA") && c.Send(message) && c.Expect(250, "end of data");
    if (!good) {
      failed.fetch_add(1);
      return;
    }
    ok.fetch_add(1);
  }
  if (c.Send("QUIT\r\n")) c.Reply(nullptr);
}

bool ParseOptions(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 >= argc) return false;
    const std::string_view arg = argv[i];
    const std::string value = argv[i + 1];
    if (arg == "--host") {
      o.host = value;
    } else if (arg == "--port") {
      o.port = std::atoi(value.c_str());
    } else if (arg == "--sessions") {
      o.sessions = std::atoi(value.c_str());
    } else if (arg == "--messages") {
      o.messages = std::atol(value.c_str());
    } else if (arg == "--size") {
      o.size = std::atol(value.c_str());
    } else if (arg == "--auth") {
      const auto colon = value.find(':');
      if (colon == std::string::npos) return false;
      o.user = value.substr(0, colon);
      o.password = value.substr(colon + 1);
    } else if (arg == "--from") {
      o.from = value;
    } else if (arg == "--to") {
      o.to = value;
    } else {
      return false;
    }
  }
  return o.port > 0 && o.sessions > 0 && o.messages > 0;
}

}  // namespace
}  // namespace mailwarden

int main(int argc, char** argv) {
  mailwarden::Options options;
  if (!mailwarden::ParseOptions(argc, argv, options)) {
    std::fprintf(stderr,
                 "usage: smtp_blast --port PORT [--host IP] [--sessions S] [--messages M] "
                 "[--size BYTES] [--auth USER:PASSWORD] [--from ADDR] [--to ADDR]\n");
    return 64;
  }
  const std::string message = mailwarden::MakeMessage(options);
  std::atomic<long> next{0};
  std::atomic<long> ok{0};
  std::atomic<long> failed{0};
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> sessions;
  for (int i = 0; i < options.sessions; ++i) {
    sessions.emplace_back([&] { mailwarden::Session(options, message, next, ok, failed); });
  }
  for (auto& s : sessions) s.join();
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  std::printf("messages %ld failed %ld seconds %.4f per_s %.1f\n", ok.load(), failed.load(),
              took.count(), static_cast<double>(ok.load()) / took.count());
  return failed.load() == 0 && ok.load() == options.messages ? 0 : 1;
}
