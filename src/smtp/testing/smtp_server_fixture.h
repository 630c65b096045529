// For the SMTP server's tests only: a fake backend, real clients (Debian's Python and swaks)
// and the fixture that runs a server on loopback for them.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "smtp/smtp_server.h"
#include "testing/temp_dir.h"

namespace mailwarden::smtp_testing {

namespace asio = boost::asio;

// Real clients talk to the server: Debian's Python (smtplib, raw sockets) and swaks.
constexpr const char* kPython = "/usr/bin/python3";
constexpr const char* kUser = "alice";
constexpr const char* kPassword = "s3cret";
constexpr std::int64_t kAccount = 7;

struct StoredMessage {
  SmtpIdentity who;
  SmtpEnvelope envelope;
  std::string data;
};

// Stands in for the store: one account, messages kept in memory. The server calls it on the
// io thread, the test reads it on its own, hence the lock.
class FakeBackend : public SmtpBackend {
 public:
  asio::awaitable<Result<SmtpIdentity>> Authenticate(std::string user, std::string password,
                                                     std::string client_ip) override {
    std::lock_guard lock(mu_);
    last_auth_ip_ = client_ip;
    if ((user == kUser && password == kPassword) || (user == "bob" && password == "hunter2")) {
      co_return SmtpIdentity{user == kUser ? kAccount : kAccount + 1, user, std::nullopt};
    }
    co_return Fail(ErrorCode::kUnauthenticated, "wrong user name or password");
  }

  // Local users: the uid given to AddLocalUser is alice's.
  asio::awaitable<Result<SmtpIdentity>> IdentifyLocalUser(Uid uid) override {
    std::lock_guard lock(mu_);
    if (local_uid_ && uid == *local_uid_) co_return SmtpIdentity{kAccount, kUser, uid};
    co_return Fail(ErrorCode::kNotFound, "no account");
  }
  void AddLocalUser(Uid uid) {
    std::lock_guard lock(mu_);
    local_uid_ = uid;
  }

  asio::awaitable<Result<std::int64_t>> Accept(const SmtpIdentity& who, SmtpEnvelope envelope,
                                               std::string data) override {
    // Called on the io thread, as are HoldAccepts and LetAcceptsGo (posted there).
    while (holding_) {
      ++accepts_held_;
      boost::system::error_code ec;
      co_await hold_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      --accepts_held_;
    }
    std::lock_guard lock(mu_);
    if (accept_error_) co_return std::unexpected(*accept_error_);
    messages_.push_back({who, std::move(envelope), std::move(data)});
    co_return next_id_++;
  }

  std::vector<StoredMessage> messages() {
    std::lock_guard lock(mu_);
    return messages_;
  }
  // Accept waits (the message not yet stored) from HoldAccepts until LetAcceptsGo.
  void HoldAccepts(asio::any_io_executor ex) {
    hold_.emplace(ex, std::chrono::steady_clock::time_point::max());
    holding_ = true;
  }
  void LetAcceptsGo() {
    holding_ = false;
    hold_->cancel();
  }
  int accepts_held() const { return accepts_held_; }

  void FailAccept(std::optional<Error> error) {
    std::lock_guard lock(mu_);
    accept_error_ = std::move(error);
  }

 private:
  std::mutex mu_;
  std::vector<StoredMessage> messages_;
  std::optional<Error> accept_error_;
  std::optional<Uid> local_uid_;
  std::optional<asio::steady_timer> hold_;
  bool holding_ = false;
  int accepts_held_ = 0;
  std::string last_auth_ip_;
  std::int64_t next_id_ = 1000;
};

// A small client for raw sessions, prepended to each Python script; the port is argv[1].
constexpr const char* kTalk = R"PY(
import base64, socket, ssl, sys, time
PORT = int(sys.argv[1])

class Talk:
    def __init__(self):
        # Long: a loaded machine's server may be slow to answer, and a test that waits for a
        # time-out sets its own.
        self.sock = socket.create_connection(('127.0.0.1', PORT), timeout=30)
        self.buf = b''
    def send(self, data):
        self.sock.sendall(data.encode('latin-1') if isinstance(data, str) else data)
    def line(self):
        while b'\r\n' not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(repr(self.buf))
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b'\r\n')
        return line.decode('latin-1')
    def reply(self):
        while True:
            line = self.line()
            if len(line) < 4 or line[3] != '-':
                return line
    def closed(self):
        try:
            return self.buf == b'' and self.sock.recv(1) == b''
        except ConnectionResetError:
            return True
    def hello(self):
        assert self.reply().startswith('220 '), 'greeting'
        self.send('EHLO client.test\r\n')
        return self.reply()
    def auth(self, user='alice', password='s3cret'):
        token = base64.b64encode(b'\0' + user.encode() + b'\0' + password.encode()).decode()
        self.send('AUTH PLAIN ' + token + '\r\n')
        return self.reply()
)PY";

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

inline CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) result.output.append(buf, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

class SmtpServerTest : public ::testing::Test {
 protected:
  static SmtpServerOptions Options() {
    SmtpServerOptions options;
    options.listen = {"127.0.0.1:0"};
    options.hostname = "mx.test";
    options.max_message_bytes = 10000;
    options.max_recipients = 10;
    options.idle_timeout = std::chrono::seconds(10);
    return options;
  }

  void Start(SmtpServerOptions options = Options()) {
    server_ = std::make_unique<SmtpServer>(io_.get_executor(), std::move(options), backend_, gate_);
    auto listening = server_->Listen();
    ASSERT_TRUE(listening.has_value()) << listening.error().message;
    ASSERT_EQ(server_->ports().size(), 1u);
    port_ = server_->ports()[0];
    ASSERT_NE(port_, 0);
    asio::co_spawn(io_, server_->Run(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    if (thread_.joinable()) {
      asio::post(io_, [this] { server_->Close(); });
      thread_.join();
    }
  }

  // Runs a Python script (kTalk and smtplib at hand) against the server.
  // With as_uid, it runs as that uid (the caller must be root); the script comes on its
  // standard input, since the test's folder is the caller's own.
  CommandResult Python(const std::string& body, std::optional<uid_t> as_uid = std::nullopt) {
    const auto path = dir_ / ("script" + std::to_string(scripts_++) + ".py");
    std::ofstream(path) << kTalk << "\nimport smtplib\n" << body;
    if (as_uid) {
      const std::string id = std::to_string(*as_uid);
      return RunCommand("setpriv --reuid=" + id + " --regid=" + id + " --clear-groups " +
                        std::string(kPython) + " - " + std::to_string(port_) + " < " +
                        path.string());
    }
    return RunCommand(std::string(kPython) + " " + path.string() + " " + std::to_string(port_));
  }

  CommandResult Swaks(const std::string& args) {
    return RunCommand("swaks --server 127.0.0.1 --port " + std::to_string(port_) +
                      " --helo client.test --from a@x.example --to b@y.example --timeout 20 " +
                      args);
  }

  // A self-signed certificate for STARTTLS, made for this test only.
  void MakeCertificate(SmtpServerOptions* options) {
    const std::string cert = (dir_ / "cert.pem").string();
    const std::string key = (dir_ / "key.pem").string();
    const auto made =
        RunCommand("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=mx.test -keyout " +
                   key + " -out " + cert);
    ASSERT_EQ(made.exit_code, 0) << made.output;
    options->tls_cert_file = cert;
    options->tls_key_file = key;
  }

  asio::io_context io_;
  FakeBackend backend_;  // after io_: its timer must go before the io_context
  ReceiveGate gate_{io_.get_executor(), 1};
  std::unique_ptr<SmtpServer> server_;
  std::thread thread_;
  std::uint16_t port_ = 0;
  testing::TempDir temp_dir_{"mw_smtp_server_test"};
  const std::filesystem::path dir_ = temp_dir_.path();
  int scripts_ = 0;
};

}  // namespace mailwarden::smtp_testing
