// The SMTP submission server's limits: sizes, recipients, errors, silence, connections per
// client, account and in total, failures of AUTH.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "smtp/testing/smtp_server_fixture.h"

namespace mailwarden {
namespace {

namespace asio = boost::asio;
using namespace smtp_testing;

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

// Waiting for room is bounded: with every large slot taken, a large message waits
// max_wait_for_room, then the rest of it is read and dropped and its end of data is answered
// 451 4.3.1; the session goes on, holding no slot and no waiter's place.
TEST_F(SmtpServerTest, WaitingForRoomEndsWith451AfterMaxWaitForRoom) {
  auto options = Options();
  options.max_message_bytes = 2 * 1024 * 1024;
  options.max_wait_for_room = std::chrono::milliseconds(300);
  ReceiveGate::Slot taken;  // the only slot, held by "another message" for the whole test
  // No captures: the coroutine outlives the lambda object, and keeps only its parameters.
  auto take = [](ReceiveGate& gate, ReceiveGate::Slot& into) -> asio::awaitable<void> {
    into = co_await gate.Acquire();
  };
  asio::co_spawn(io_, take(gate_, taken), asio::detached);
  Start(options);
  const CommandResult run = Python(R"PY(
body = ''.join('line %06d %s\r\n' % (i, 'x' * 64) for i in range(8000)) + '.\r\n'
t = Talk()
t.hello()
assert t.auth().startswith('235')
t.send('MAIL FROM:<a@x.example>\r\nRCPT TO:<r@y.example>\r\nDATA\r\n')
assert [t.reply()[:3] for _ in range(3)] == ['250', '250', '354']
t.send(body)
print('large', t.reply())
t.send('NOOP\r\n')
print('noop', t.reply()[:3])
t.send('MAIL FROM:<a@x.example>\r\nRCPT TO:<r@y.example>\r\nDATA\r\n')
assert [t.reply()[:3] for _ in range(3)] == ['250', '250', '354']
t.send('Subject: small\r\n\r\nfits in its small room\r\n.\r\n')
print('small', t.reply()[:3])
)PY");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("large 451 4.3.1 "), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("noop 250\nsmall 250\n"), std::string::npos) << run.output;
  ASSERT_EQ(backend_.messages().size(), 1u);
  std::promise<std::size_t> waiting;
  asio::post(io_, [&] {
    const std::size_t n = gate_.waiting();
    taken.reset();  // before the answer: the test's locals end once it is given
    waiting.set_value(n);
  });
  EXPECT_EQ(waiting.get_future().get(), 0u);
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
  // (Also the time the client has between the greeting and EHLO: not too short.)
  options.idle_timeout = std::chrono::milliseconds(1000);
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

// The daemon stops (SIGTERM): a session waiting for its next command gets 421 at once; one
// whose message is being stored gets its 250 first, then 421.
TEST_F(SmtpServerTest, DrainAnswersTheMessageBeingStoredThenSays421) {
  backend_.HoldAccepts(io_.get_executor());
  auto options = Options();
  options.idle_timeout = std::chrono::seconds(60);  // the 421 to wait for is the drain's
  Start(options);
  std::promise<CommandResult> done;
  auto result = done.get_future();
  std::thread client([&] {
    done.set_value(Python(R"PY(
idle = Talk()
idle.hello()
busy = Talk()
busy.hello()
assert busy.auth().startswith('235')
busy.send('MAIL FROM:<a@x.example>\r\nRCPT TO:<r@y.example>\r\nDATA\r\n')
assert [busy.reply()[:3] for _ in range(3)] == ['250', '250', '354']
busy.send('Subject: s\r\n\r\nbody\r\n.\r\n')
print('idle', idle.reply()[:9], flush=True)
print('busy', busy.reply()[:3], busy.reply()[:9])
try:
    busy.reply()
    print('busy open')
except EOFError:
    print('busy closed')
)PY"));
  });
  auto state = [&] {
    std::promise<std::pair<int, std::size_t>> p;
    asio::post(io_, [&] { p.set_value({backend_.accepts_held(), server_->active_sessions()}); });
    return p.get_future().get();
  };
  auto wait_for = [&](std::pair<int, std::size_t> wanted) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (state() != wanted && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return state();
  };
  // Both sessions there, the message in Accept.
  EXPECT_EQ(wait_for({1, 2}), (std::pair<int, std::size_t>{1, 2}));
  asio::post(io_, [&] { server_->Drain(); });
  // The idle one ends; the one storing waits for its answer.
  EXPECT_EQ(wait_for({1, 1}), (std::pair<int, std::size_t>{1, 1}));
  EXPECT_TRUE(backend_.messages().empty());
  asio::post(io_, [&] { backend_.LetAcceptsGo(); });
  client.join();
  const CommandResult run = result.get();
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output, "idle 421 4.3.2\nbusy 250 421 4.3.2\nbusy closed\n");
  EXPECT_EQ(backend_.messages().size(), 1u);
}

}  // namespace
}  // namespace mailwarden
