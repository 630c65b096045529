// timed_sink — an SMTP sink for bench/noisy-neighbour that notes when each marked message
// arrives: what Postfix's smtp-sink does (accept everything, keep nothing), plus the time.
//
//   timed_sink --port PORT [--host 127.0.0.1] [--marker HEADER]
//
// Answers every command with success (EHLO with PIPELINING, 8BITMIME and SIZE), pipelined
// commands in one write. A message counts once its data has ended ("."): it is answered 250
// then. On standard output, each line flushed as written:
//   "marked TAG NS"  a message whose header HEADER (default X-Bench-Quiet) says TAG ended NS
//                    nanoseconds into CLOCK_MONOTONIC (Python's time.monotonic() clock);
//   "count N NS"     every 100 ms: N messages have ended so far.
// One thread per connection (a relay keeps tens open, not thousands). Trusts its clients: a
// measuring instrument for loopback, not a server.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace mailwarden {
namespace {

std::atomic<std::int64_t> ended{0};
std::mutex out_mutex;
std::string marker = "X-Bench-Quiet";

std::int64_t MonotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void Print(const std::string& line) {
  std::lock_guard lock(out_mutex);
  std::fputs(line.c_str(), stdout);
  std::fflush(stdout);
}

bool StartsWithNoCase(std::string_view line, std::string_view prefix) {
  if (line.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(line[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

class Session {
 public:
  explicit Session(int fd) : fd_(fd) {}

  void Run() {
    reply_ = "220 timed-sink ESMTP\r\n";
    Flush();
    char chunk[65536];
    while (true) {
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) break;
      in_.append(chunk, static_cast<std::size_t>(n));
      if (!Consume()) break;
      if (!Flush()) break;
    }
    ::close(fd_);
  }

 private:
  // Handles every whole line in in_; false after QUIT.
  bool Consume() {
    std::size_t start = 0;
    while (true) {
      const std::size_t end = in_.find('\n', start);
      if (end == std::string::npos) break;
      std::string_view line(in_.data() + start, end - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      start = end + 1;
      if (in_data_) {
        DataLine(line);
      } else if (!Command(line)) {
        in_.erase(0, start);
        return false;
      }
    }
    in_.erase(0, start);
    return true;
  }

  void DataLine(std::string_view line) {
    if (line == ".") {
      in_data_ = false;
      const std::int64_t now = MonotonicNs();
      ended.fetch_add(1, std::memory_order_relaxed);
      if (!tag_.empty()) Print("marked " + tag_ + " " + std::to_string(now) + "\n");
      reply_ += "250 2.0.0 ok\r\n";
      return;
    }
    if (!in_headers_) return;
    if (line.empty()) {
      in_headers_ = false;
    } else if (tag_.empty() && StartsWithNoCase(line, marker + ":")) {
      std::string_view value = line.substr(marker.size() + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      tag_ = std::string(value.substr(0, 64));
    }
  }

  bool Command(std::string_view line) {
    if (StartsWithNoCase(line, "EHLO")) {
      reply_ += "250-timed-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 104857600\r\n";
    } else if (StartsWithNoCase(line, "DATA")) {
      in_data_ = true;
      in_headers_ = true;
      tag_.clear();
      reply_ += "354 go ahead\r\n";
    } else if (StartsWithNoCase(line, "QUIT")) {
      reply_ += "221 bye\r\n";
      Flush();
      return false;
    } else {
      reply_ += "250 ok\r\n";  // HELO, MAIL, RCPT, RSET, NOOP, anything else
    }
    return true;
  }

  bool Flush() {
    std::size_t sent = 0;
    while (sent < reply_.size()) {
      const ssize_t n = ::send(fd_, reply_.data() + sent, reply_.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    reply_.clear();
    return true;
  }

  int fd_;
  std::string in_;
  std::string reply_;
  bool in_data_ = false;
  bool in_headers_ = false;
  std::string tag_;
};

int Usage() {
  std::fprintf(stderr, "usage: timed_sink --port PORT [--host ADDR] [--marker HEADER]\n");
  return 64;
}

}  // namespace
}  // namespace mailwarden

int main(int argc, char** argv) {
  using namespace mailwarden;
  std::string host = "127.0.0.1";
  int port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--port") {
      port = std::atoi(argv[i + 1]);
    } else if (flag == "--host") {
      host = argv[i + 1];
    } else if (flag == "--marker") {
      marker = argv[i + 1];
    } else {
      return Usage();
    }
  }
  if (port <= 0 || port > 65535 || argc % 2 == 0) return Usage();
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int on = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) return Usage();
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener, 512) != 0) {
    std::perror("timed_sink: bind");
    return 1;
  }
  std::thread([] {
    while (true) {
      Print("count " + std::to_string(ended.load()) + " " + std::to_string(MonotonicNs()) + "\n");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }).detach();
  while (true) {
    const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    std::thread([fd] { Session(fd).Run(); }).detach();
  }
}
