#include "smtp/smtp_server.h"

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

#include "testing/temp_dir.h"

namespace mailwarden {
namespace {

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
      co_return SmtpIdentity{user == kUser ? kAccount : kAccount + 1, user};
    }
    co_return Fail(ErrorCode::kUnauthenticated, "wrong user name or password");
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
        self.sock = socket.create_connection(('127.0.0.1', PORT), timeout=10)
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

CommandResult RunCommand(const std::string& command) {
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

TEST_F(SmtpServerTest, SmtplibAuthPlainQueuesTheMessage) {
  Start();
  const auto run = Python(R"PY(
s = smtplib.SMTP('127.0.0.1', PORT)
code, _ = s.ehlo('client.test')
print('ehlo', code, sorted(s.esmtp_features))
print('size', s.esmtp_features['size'], 'auth', s.esmtp_features['auth'].strip())
print('login', s.login('alice', 's3cret')[0])
print('refused', s.sendmail('a@x.example', ['b@y.example', 'c@z.example'],
      'Subject: hi\nFrom: a@x.example\n\n.dot line\nbody\n'))
print('quit', s.quit()[0])
)PY");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("ehlo 250 ['8bitmime', 'auth', 'enhancedstatuscodes', 'pipelining', "
                            "'size']"),
            std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("size 10000 auth PLAIN LOGIN"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("login 235"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("refused {}"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("quit 221"), std::string::npos) << run.output;

  const auto messages = backend_.messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].who.account, kAccount);
  EXPECT_EQ(messages[0].who.name, kUser);
  EXPECT_EQ(messages[0].envelope.mail_from, "a@x.example");
  EXPECT_EQ(messages[0].envelope.rcpt_to, (std::vector<std::string>{"b@y.example", "c@z.example"}));
  EXPECT_EQ(messages[0].envelope.client_ip, "127.0.0.1");
  EXPECT_EQ(messages[0].envelope.helo, "client.test");
  EXPECT_EQ(messages[0].data, "Subject: hi\r\nFrom: a@x.example\r\n\r\n.dot line\r\nbody\r\n");
}

TEST_F(SmtpServerTest, SmtplibAuthPlainWithContinuationAndLogin) {
  Start();
  const auto run = Python(R"PY(
s = smtplib.SMTP('127.0.0.1', PORT)
s.ehlo('client.test')
s.user, s.password = 'alice', 's3cret'
print('plain', s.auth('PLAIN', s.auth_plain, initial_response_ok=False)[0])
s.quit()
s = smtplib.SMTP('127.0.0.1', PORT)
s.ehlo('client.test')
s.user, s.password = 'alice', 's3cret'
print('login-ir', s.auth('LOGIN', s.auth_login)[0])
s.quit()
s = smtplib.SMTP('127.0.0.1', PORT)
s.ehlo('client.test')
s.user, s.password = 'alice', 's3cret'
print('login', s.auth('LOGIN', s.auth_login, initial_response_ok=False)[0])
s.sendmail('a@x.example', 'b@y.example', 'Subject: login\n\nhi\n')
s.quit()
)PY");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("plain 235"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("login-ir 235"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("login 235"), std::string::npos) << run.output;
  EXPECT_EQ(backend_.messages().size(), 1u);
}

TEST_F(SmtpServerTest, SwaksAuthLoginAndPlain) {
  Start();
  for (const char* mechanism : {"LOGIN", "PLAIN"}) {
    const auto run =
        Swaks(std::string("--auth ") + mechanism + " --auth-user alice --auth-password s3cret");
    EXPECT_EQ(run.exit_code, 0) << run.output;
    EXPECT_NE(run.output.find("235 2.7.0 Authentication successful"), std::string::npos)
        << run.output;
    EXPECT_NE(run.output.find("250 2.0.0 Ok: queued as "), std::string::npos) << run.output;
  }
  EXPECT_EQ(backend_.messages().size(), 2u);
}

// Two sessions send messages over kSmallMessageBytes with one large slot: the second is not
// read past kSmallMessageBytes while the first holds the slot (the backend has not stored it
// yet), and once the first is stored the second is read, stored and acknowledged. Nothing is
// refused.
TEST_F(SmtpServerTest, LargeMessagesWaitForASlotAndAllAreStored) {
  auto options = Options();
  options.max_message_bytes = 2 * 1024 * 1024;
  backend_.HoldAccepts(io_.get_executor());
  Start(options);
  std::promise<CommandResult> done;
  auto result = done.get_future();
  std::thread client([&] {
    done.set_value(Python(R"PY(
body = ''.join('line %06d %s\r\n' % (i, 'x' * 64) for i in range(8000)) + '.\r\n'
talks = []
for name in ('a', 'b'):
    t = Talk()
    t.hello()
    assert t.auth().startswith('235'), name
    t.send('MAIL FROM:<%s@x.example>\r\nRCPT TO:<r@y.example>\r\nDATA\r\n' % name)
    assert [t.reply()[:3] for _ in range(3)] == ['250', '250', '354'], name
    t.send(body)
    talks.append(t)
print('bytes', len(body) - 3)
for name, t in zip('ab', talks):
    print(name, t.reply()[:3])
)PY"));
  });
  // Until both sessions are where the gate puts them: a in Accept (holding the slot), b
  // waiting for it.
  auto state = [&] {
    std::promise<std::pair<int, std::size_t>> p;
    asio::post(io_, [&] { p.set_value({backend_.accepts_held(), gate_.waiting()}); });
    return p.get_future().get();
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (state() != std::pair<int, std::size_t>{1, 1} &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(state(), (std::pair<int, std::size_t>{1, 1}));
  EXPECT_TRUE(backend_.messages().empty());
  asio::post(io_, [&] { backend_.LetAcceptsGo(); });
  client.join();
  const CommandResult run = result.get();
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("a 250\nb 250\n"), std::string::npos) << run.output;
  const auto messages = backend_.messages();
  ASSERT_EQ(messages.size(), 2u);
  for (const auto& m : messages) EXPECT_EQ(m.data.size(), 8000u * 78u);
  EXPECT_EQ(gate_.waits(), 1u);
  EXPECT_EQ(gate_.in_use(), 0u);
}

TEST_F(SmtpServerTest, SwaksPipelining) {
  Start();
  const auto run = Swaks(
      "--pipeline --auth PLAIN --auth-user alice --auth-password s3cret "
      "--to b@y.example,c@y.example,d@y.example");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("250-PIPELINING"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("250 2.0.0 Ok: queued as "), std::string::npos) << run.output;
  const auto messages = backend_.messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].envelope.rcpt_to.size(), 3u);
}

TEST_F(SmtpServerTest, WholeSessionInOneWriteIsAnsweredInOrder) {
  Start();
  const auto run = Python(R"PY(
t = Talk()
token = base64.b64encode(b'\0alice\0s3cret').decode()
t.send('EHLO client.test\r\nAUTH PLAIN ' + token + '\r\nMAIL FROM:<a@x.example>\r\n'
       'RCPT TO:<b@y.example>\r\nRCPT TO:<bad>\r\nDATA\r\nSubject: p\r\n\r\nbody\r\n.\r\n'
       'NOOP\r\nRSET\r\nVRFY someone\r\nHELP\r\nQUIT\r\n')
replies = []
while True:
    try:
        replies.append(t.reply())
    except EOFError:
        break
print('\n'.join(r.split(' queued as ')[0] for r in replies))
)PY");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output,
            "220 mx.test ESMTP mailwarden\n"
            "250 AUTH PLAIN LOGIN\n"
            "235 2.7.0 Authentication successful\n"
            "250 2.1.0 Sender ok\n"
            "250 2.1.5 Recipient ok\n"
            "553 5.1.3 Bad recipient address syntax\n"
            "354 End data with <CR><LF>.<CR><LF>\n"
            "250 2.0.0 Ok:\n"
            "250 2.0.0 Ok\n"
            "250 2.0.0 Ok\n"
            "252 2.1.5 Cannot VRFY user, but will accept message and attempt delivery\n"
            "214 2.0.0 Commands: EHLO HELO AUTH MAIL RCPT DATA RSET NOOP QUIT STARTTLS VRFY HELP\n"
            "221 2.0.0 mx.test closing connection\n");
  EXPECT_EQ(backend_.messages().size(), 1u);
}

TEST_F(SmtpServerTest, LongPipelinedBatchIsAnsweredInFull) {
  Start();
  // More replies than fit in the server's reply buffer: it must send part of them while the
  // client is still sending, and lose none.
  const auto run = Python(R"PY(
import threading
t = Talk()
t.hello()
t.auth()  # commands before AUTH are bounded (max_commands_before_auth)
count = 30000
sender = threading.Thread(target=lambda: t.send('NOOP\r\n' * count + 'QUIT\r\n'))
sender.start()
ok = sum(1 for _ in range(count) if t.reply() == '250 2.0.0 Ok')
print(ok, t.reply())
sender.join()
)PY");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output, "30000 221 2.0.0 mx.test closing connection\n");
}

TEST_F(SmtpServerTest, WrongPasswordIs535AndThirdFailureCloses) {
  Start();
  auto run = Python(R"PY(
s = smtplib.SMTP('127.0.0.1', PORT)
try:
    s.login('alice', 'wrong')
except smtplib.SMTPAuthenticationError as e:
    print('refused', e.smtp_code, e.smtp_error.decode())
)PY");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("refused 535 5.7.8 Authentication credentials invalid"),
            std::string::npos)
      << run.output;

  run = Python(R"PY(
t = Talk()
t.hello()
for i in range(3):
    print(t.auth('alice', 'wrong%d' % i))
print(t.reply())
print('closed', t.closed())
)PY");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output,
            "535 5.7.8 Authentication credentials invalid\n"
            "535 5.7.8 Authentication credentials invalid\n"
            "535 5.7.8 Authentication credentials invalid\n"
            "421 4.7.0 Too many failed authentication attempts, closing connection\n"
            "closed True\n");
}

TEST_F(SmtpServerTest, FailuresPerMinuteAreLimitedPerLocalUser) {
  if (getuid() != 0) GTEST_SKIP() << "needs root to connect as another uid";
  auto options = Options();
  options.max_auth_failures_per_minute = 4;
  Start(options);
  // Another local user tries passwords in alice's name, over loopback like every script.
  const auto attack = Python(R"PY(
for round in range(2):
    t = Talk()
    t.hello()
    print(t.auth('alice', 'wrong'), '|', t.auth('ALICE', 'wrong'))
t = Talk()
t.hello()
print(t.auth('alice', 's3cret'))
print('closed', t.closed())
)PY",
                             /*as_uid=*/4999);
  ASSERT_EQ(attack.exit_code, 0) << attack.output;
  // It locks out only itself, even with the right password...
  EXPECT_EQ(attack.output,
            "535 5.7.8 Authentication credentials invalid | 535 5.7.8 Authentication "
            "credentials invalid\n"
            "535 5.7.8 Authentication credentials invalid | 535 5.7.8 Authentication "
            "credentials invalid\n"
            "421 4.7.0 Too many failed authentication attempts, try again later\n"
            "closed True\n");
  // ...not alice's own scripts (another uid), nor anyone else.
  const auto run = Python(R"PY(
t = Talk()
t.hello()
print(t.auth('alice', 's3cret'))
t = Talk()
t.hello()
print(t.auth('bob', 'hunter2'))
)PY");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output,
            "235 2.7.0 Authentication successful\n"
            "235 2.7.0 Authentication successful\n");
}

TEST_F(SmtpServerTest, ConnectionsPerClientAreLimited) {
  if (getuid() != 0) GTEST_SKIP() << "needs root to connect as another uid";
  auto options = Options();
  options.max_connections_per_client = 2;
  Start(options);
  // Two sessions of this local user are held open; its third is refused, another user's
  // (every script connects from 127.0.0.1) is served.
  const auto run = Python(R"PY(
import os
held = [Talk(), Talk()]
print(held[0].hello(), '|', held[1].hello())
print(Talk().reply())
pid = os.fork()
if pid == 0:
    os.setgid(4999)
    os.setuid(4999)
    t = Talk()
    print(t.reply()[:3], flush=True)
    os._exit(0)
os.waitpid(pid, 0)
held.pop().send('QUIT\r\n')
time.sleep(0)
)PY");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output,
            "250 AUTH PLAIN LOGIN | 250 AUTH PLAIN LOGIN\n"
            "421 4.7.0 mx.test Too many connections from you, try again later\n"
            "220\n")
      << run.output;
}

TEST_F(SmtpServerTest, CommandsBeforeAuthAreBounded) {
  auto options = Options();
  options.max_commands_before_auth = 4;
  Start(options);
  const auto run = Python(R"PY(
t = Talk()
t.hello()
for i in range(3):
    t.send('NOOP\r\n')
    print(t.reply())
t.send('NOOP\r\n')
print(t.reply())
print('closed', t.closed())
t = Talk()
t.hello()
print(t.auth('alice', 's3cret'))
for i in range(5):
    t.send('NOOP\r\n')
    t.reply()
t.send('NOOP\r\n')
print('after auth', t.reply())
)PY");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output,
            "250 2.0.0 Ok\n250 2.0.0 Ok\n250 2.0.0 Ok\n"
            "421 4.7.0 Too many commands without authentication, closing connection\n"
            "closed True\n"
            "235 2.7.0 Authentication successful\n"
            "after auth 250 2.0.0 Ok\n")
      << run.output;
}

TEST_F(SmtpServerTest, MailBeforeAuthIs530) {
  Start();
  const auto run = Python(R"PY(
s = smtplib.SMTP('127.0.0.1', PORT)
try:
    s.sendmail('a@x.example', ['b@y.example'], 'Subject: x\n\nhi\n')
except smtplib.SMTPSenderRefused as e:
    print('refused', e.smtp_code, e.smtp_error.decode())
t = Talk()
t.hello()
t.send('MAIL FROM:<a@x.example>\r\nRCPT TO:<b@y.example>\r\nDATA\r\n')
print(t.reply())
print(t.reply())
print(t.reply())
)PY");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output,
            "refused 530 5.7.0 Authentication required\n"
            "530 5.7.0 Authentication required\n"
            "503 5.5.1 Need MAIL command first\n"
            "503 5.5.1 Need MAIL command first\n");
  EXPECT_TRUE(backend_.messages().empty());
}

TEST_F(SmtpServerTest, OversizeIs552AtMailAndAtEndOfData) {
  Start();
  // smtplib announces the size in MAIL FROM (RFC 1870): refused before any data is sent.
  auto run = Python(R"PY(
s = smtplib.SMTP('127.0.0.1', PORT)
s.login('alice', 's3cret')
try:
    s.sendmail('a@x.example', ['b@y.example'], 'Subject: big\n\n' + 'x' * 20000 + '\n')
except smtplib.SMTPSenderRefused as e:
    print('refused', e.smtp_code, e.smtp_error.decode())
)PY");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output, "refused 552 5.3.4 Message size exceeds fixed limit of 10000 bytes\n");

  // swaks does not: the whole message is read, then refused.
  const auto body = dir_ / "body.txt";
  {
    std::ofstream out(body);
    for (int i = 0; i < 200; ++i) out << std::string(70, 'y') << "\r\n";
  }
  run = Swaks("--auth PLAIN --auth-user alice --auth-password s3cret --body @" + body.string());
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("552 5.3.4 Message size exceeds fixed limit of 10000 bytes"),
            std::string::npos)
      << run.output;
  EXPECT_TRUE(backend_.messages().empty());
}

TEST_F(SmtpServerTest, TooManyRecipientsIs452) {
  Start();
  const auto run = Python(R"PY(
s = smtplib.SMTP('127.0.0.1', PORT)
s.login('alice', 's3cret')
rcpts = ['r%d@y.example' % i for i in range(12)]
refused = s.sendmail('a@x.example', rcpts, 'Subject: many\n\nhi\n')
for r, (code, text) in sorted(refused.items()):
    print(r, code, text.decode())
)PY");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output,
            "r10@y.example 452 4.5.3 Too many recipients\n"
            "r11@y.example 452 4.5.3 Too many recipients\n");
  const auto messages = backend_.messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].envelope.rcpt_to.size(), 10u);
}

TEST_F(SmtpServerTest, BackendFailuresAreTemporaryOrPermanent) {
  Start();
  const std::string script = R"PY(
s = smtplib.SMTP('127.0.0.1', PORT)
s.login('alice', 's3cret')
try:
    s.sendmail('a@x.example', ['b@y.example'], 'Subject: x\n\nhi\n')
    print('accepted')
except smtplib.SMTPDataError as e:
    print('refused', e.smtp_code, e.smtp_error.decode())
)PY";
  backend_.FailAccept(Error{ErrorCode::kUnavailable, "database is down"});
  auto run = Python(script);
  EXPECT_EQ(run.output,
            "refused 451 4.3.0 Temporary failure storing the message, try again later\n");
  backend_.FailAccept(Error{ErrorCode::kInvalidInput, "no From header\r\nInjected: yes"});
  run = Python(script);
  EXPECT_EQ(run.output, "refused 554 5.6.0 no From header??Injected: yes\n");
  backend_.FailAccept(std::nullopt);
  run = Python(script);
  EXPECT_EQ(run.output, "accepted\n");
  EXPECT_EQ(backend_.messages().size(), 1u);
}

// SMTP smuggling: each payload hides a second transaction behind a sequence that some servers
// take as the end of data. The connection then sends one clean message. The smuggled commands
// must get no reply of their own: they stay text of the first message (its bare line ends
// normalised to CRLF), so the two real messages are accepted and no forged one.
TEST_F(SmtpServerTest, SmugglingPayloadsGiveExactlyOneMessage) {
  Start();
  const std::vector<std::string> payloads = {
      "\\n.\\n", "\\n.\\r\\n", "\\r.\\r\\n", "\\r\\n.\\n",       "\\r\\n.\\r",
      "\\r.\\n", "\\n.\\r",    "\\r.\\r",    "\\r\\n.\\r\\r\\n", "\\r\\n\\x00.\\r\\n",
  };
  for (const auto& payload : payloads) {
    SCOPED_TRACE(payload);
    const auto before = backend_.messages().size();
    const auto run = Python(R"PY(
payload = b')PY" + payload + R"PY('
t = Talk()
t.hello()
print(t.auth())
t.send('MAIL FROM:<real@x.example>\r\nRCPT TO:<b@y.example>\r\nDATA\r\n')
print(t.reply(), '|', t.reply(), '|', t.reply())
t.send(b'From: real@x.example\r\nSubject: real\r\n\r\nhello' + payload +
       b'MAIL FROM:<ceo@victim.example>\r\nRCPT TO:<b@y.example>\r\nDATA\r\n'
       b'From: ceo@victim.example\r\nSubject: forged\r\n\r\nforged\r\n.\r\n')
print(t.reply().split(' queued as ')[0])
t.send('MAIL FROM:<clean@x.example>\r\nRCPT TO:<b@y.example>\r\nDATA\r\n')
print(t.reply(), '|', t.reply(), '|', t.reply())
t.send('Subject: clean\r\n\r\nclean\r\n.\r\nQUIT\r\n')
print(t.reply().split(' queued as ')[0])
print(t.reply())
print('closed', t.closed())
)PY");
    ASSERT_EQ(run.exit_code, 0) << run.output;
    EXPECT_EQ(run.output,
              "235 2.7.0 Authentication successful\n"
              "250 2.1.0 Sender ok | 250 2.1.5 Recipient ok | 354 End data with "
              "<CR><LF>.<CR><LF>\n"
              "250 2.0.0 Ok:\n"
              "250 2.1.0 Sender ok | 250 2.1.5 Recipient ok | 354 End data with "
              "<CR><LF>.<CR><LF>\n"
              "250 2.0.0 Ok:\n"
              "221 2.0.0 mx.test closing connection\n"
              "closed True\n");
    const auto messages = backend_.messages();
    // The "smuggled" commands are text of the real message, stored with CRLF line ends only.
    ASSERT_EQ(messages.size(), before + 2);
    EXPECT_EQ(messages[before].envelope.mail_from, "real@x.example");
    EXPECT_NE(messages[before].data.find("\r\nMAIL FROM:<ceo@victim.example>\r\n"),
              std::string::npos);
    if (payload != "\\r\\n\\x00.\\r\\n") {
      for (std::size_t i = 0; i < messages[before].data.size(); ++i) {
        const char c = messages[before].data[i];
        const bool lone_cr = c == '\r' && messages[before].data[i + 1] != '\n';
        const bool lone_lf = c == '\n' && (i == 0 || messages[before].data[i - 1] != '\r');
        ASSERT_FALSE(lone_cr || lone_lf) << "a bare line end at " << i;
      }
    }
    EXPECT_EQ(messages.back().envelope.mail_from, "clean@x.example");
    for (const auto& m : messages) EXPECT_NE(m.envelope.mail_from, "ceo@victim.example");
  }
}

TEST_F(SmtpServerTest, StartTlsThenAuthWithSwaks) {
  auto options = Options();
  MakeCertificate(&options);
  options.auth_tls = SmtpAuthTls::kAlways;
  Start(options);

  // Before TLS the password may not be sent.
  auto run = Python(R"PY(
s = smtplib.SMTP('127.0.0.1', PORT)
s.ehlo('client.test')
print('starttls' in s.esmtp_features)
try:
    s.login('alice', 's3cret')
except smtplib.SMTPAuthenticationError as e:
    print('refused', e.smtp_code, e.smtp_error.decode())
print(s.starttls()[0])
s.ehlo('client.test')
print('starttls' in s.esmtp_features)
print(s.login('alice', 's3cret')[0])
s.sendmail('a@x.example', ['b@y.example'], 'Subject: tls\n\nover tls\n')
s.quit()
)PY");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output,
            "True\n"
            "refused 538 5.7.11 Encryption required for requested authentication mechanism\n"
            "220\n"
            "False\n"
            "235\n");

  run = Swaks("-tls --auth PLAIN --auth-user alice --auth-password s3cret");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("TLS started"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("250 2.0.0 Ok: queued as "), std::string::npos) << run.output;
  EXPECT_EQ(backend_.messages().size(), 2u);
}

TEST_F(SmtpServerTest, CommandsPipelinedAfterStartTlsAreDropped) {
  auto options = Options();
  MakeCertificate(&options);
  Start(options);
  // CVE-2011-0411: text sent in clear after STARTTLS must not be answered inside TLS.
  const auto run = Python(R"PY(
t = Talk()
t.hello()
t.send('STARTTLS\r\nNOOP injected\r\n')
print(t.reply())
context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
t.sock = context.wrap_socket(t.sock)
t.buf = b''
t.send('EHLO again.test\r\n')
print(t.line())
)PY");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output, "220 2.0.0 Ready to start TLS\n250-mx.test\n");
}

TEST_F(SmtpServerTest, LineLimitsAndBareLineEndsInCommands) {
  Start();
  const auto run = Python(R"PY(
t = Talk()
t.hello()
t.send('NOOP ' + 'x' * 600 + '\r\nNOOP\r\n')
print(t.reply())
print(t.reply())
t.send('NOOP ' + 'x' * 505 + '\r\n')
print(t.reply())
t.send('NOOP\nNOOP\r\n')
print(t.reply())
print(t.reply())
t.send('NO\0OP\r\nBOGUS\r\nMAIL FROM:<a@x.example> SIZE=1\r\n')
print(t.reply())
print(t.reply())
print(t.reply())
)PY");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output,
            "500 5.5.2 Line too long\n"
            "250 2.0.0 Ok\n"
            "250 2.0.0 Ok\n"
            "500 5.5.2 Syntax error: a command line must end with CRLF\n"
            "250 2.0.0 Ok\n"
            "500 5.5.2 Syntax error: NUL, CR or LF inside a command\n"
            "500 5.5.2 Command unrecognized\n"
            "530 5.7.0 Authentication required\n");
}

TEST_F(SmtpServerTest, TooManyErrorsCloseTheConnection) {
  auto options = Options();
  options.max_protocol_errors = 3;
  Start(options);
  const auto run = Python(R"PY(
t = Talk()
t.hello()
t.send('A\r\nB\r\nC\r\nNOOP\r\n')
for i in range(4):
    print(t.reply())
print('closed', t.closed())
)PY");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output,
            "500 5.5.2 Command unrecognized\n"
            "500 5.5.2 Command unrecognized\n"
            "500 5.5.2 Command unrecognized\n"
            "421 4.7.0 mx.test Too many errors, closing connection\n"
            "closed True\n");
}

TEST_F(SmtpServerTest, IdleClientIsToldAndDropped) {
  auto options = Options();
  options.idle_timeout = std::chrono::milliseconds(300);
  Start(options);
  const auto run = Python(R"PY(
t = Talk()
t.hello()
t.send('MAIL')
print(t.reply())
print('closed', t.closed())
)PY");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output, "421 4.4.2 mx.test Error: timeout exceeded\nclosed True\n");
}

TEST_F(SmtpServerTest, ConnectionsOverTheLimitAreRefused) {
  auto options = Options();
  options.max_connections = 1;
  Start(options);
  const auto run = Python(R"PY(
first = Talk()
print(first.reply())
second = Talk()
print(second.reply())
print('closed', second.closed())
)PY");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output,
            "220 mx.test ESMTP mailwarden\n"
            "421 4.7.0 mx.test Too many connections, try again later\n"
            "closed True\n");
}

// One account's sessions are capped: its next AUTH is told 421 and closed, another account
// still gets in, and a session that ends gives its place back.
TEST_F(SmtpServerTest, OneAccountCannotTakeEveryConnection) {
  auto options = Options();
  options.max_connections_per_account = 2;
  Start(options);
  const auto run = Python(R"PY(
first, second, third = Talk(), Talk(), Talk()
for t in (first, second, third):
    t.hello()
print(first.auth())
print(second.auth())
print(third.auth())
print('closed', third.closed())
bob = Talk()
bob.hello()
print(bob.auth('bob', 'hunter2'))
first.send('QUIT\r\n')
print(first.reply())
print('closed', first.closed())
again = Talk()
again.hello()
print(again.auth())
)PY");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output,
            "235 2.7.0 Authentication successful\n"
            "235 2.7.0 Authentication successful\n"
            "421 4.7.0 Too many connections for this account, try again later\n"
            "closed True\n"
            "235 2.7.0 Authentication successful\n"
            "221 2.0.0 mx.test closing connection\n"
            "closed True\n"
            "235 2.7.0 Authentication successful\n");
}

// Near max_connections, a client that says nothing is dropped after stress_idle_timeout, also
// one that was already waiting with the long timeout when the stress began.
TEST_F(SmtpServerTest, UnderStressIdleClientsGetTheShortTimeout) {
  auto options = Options();  // idle_timeout 10 s
  options.max_connections = 5;
  options.stress_idle_timeout = std::chrono::milliseconds(300);
  Start(options);
  const auto run = Python(R"PY(
first = Talk()
print(first.reply())
others = [Talk() for _ in range(3)]  # 4 of 5: stress
for t in others:
    t.reply()
first.sock.settimeout(5)  # half the normal idle timeout
print(first.reply())
print('closed', first.closed())
)PY");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output,
            "220 mx.test ESMTP mailwarden\n"
            "421 4.4.2 mx.test Error: timeout exceeded\n"
            "closed True\n");
}

TEST_F(SmtpServerTest, ListenRefusesBadAddressesAndCertificates) {
  auto options = Options();
  options.listen = {"no-port"};
  SmtpServer bad_address(io_.get_executor(), options, backend_, gate_);
  auto result = bad_address.Listen();
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().message, "smtp.listen: \"no-port\" must be host:port");

  options = Options();
  options.tls_cert_file = (dir_ / "missing.pem").string();
  options.tls_key_file = (dir_ / "missing.key").string();
  SmtpServer bad_cert(io_.get_executor(), options, backend_, gate_);
  result = bad_cert.Listen();
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(result.error().message.find("missing.pem"), std::string::npos);
}

TEST(AuthFailureLimiterTest, CountsFailuresInASlidingMinute) {
  AuthFailureLimiter limiter(3, std::chrono::seconds(60));
  const auto t0 = std::chrono::steady_clock::time_point() + std::chrono::hours(1);
  EXPECT_TRUE(limiter.Allowed("a", t0));
  limiter.RecordFailure("a", t0);
  limiter.RecordFailure("a", t0 + std::chrono::seconds(10));
  EXPECT_TRUE(limiter.Allowed("a", t0 + std::chrono::seconds(20)));
  limiter.RecordFailure("a", t0 + std::chrono::seconds(20));
  EXPECT_FALSE(limiter.Allowed("a", t0 + std::chrono::seconds(30)));
  EXPECT_TRUE(limiter.Allowed("b", t0 + std::chrono::seconds(30)));
  // The first failure leaves the window: one more try.
  EXPECT_TRUE(limiter.Allowed("a", t0 + std::chrono::seconds(60)));
  EXPECT_EQ(limiter.tracked_keys(), 1u);
  EXPECT_TRUE(limiter.Allowed("a", t0 + std::chrono::seconds(81)));
  EXPECT_EQ(limiter.tracked_keys(), 0u);
}

TEST(AuthFailureLimiterTest, MemoryIsBounded) {
  AuthFailureLimiter limiter(2, std::chrono::seconds(60), /*max_keys=*/100);
  const auto t0 = std::chrono::steady_clock::time_point() + std::chrono::hours(1);
  for (int i = 0; i < 1000; ++i) {
    limiter.RecordFailure("key" + std::to_string(i), t0 + std::chrono::milliseconds(i));
  }
  EXPECT_LE(limiter.tracked_keys(), 100u);
  EXPECT_TRUE(limiter.Allowed("key0", t0 + std::chrono::seconds(1)));
  limiter.RecordFailure("key999", t0 + std::chrono::seconds(1));
  EXPECT_FALSE(limiter.Allowed("key999", t0 + std::chrono::seconds(1)));
}

}  // namespace
}  // namespace mailwarden
