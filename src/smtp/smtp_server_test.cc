// The SMTP submission server with real clients: AUTH, pipelining, DATA, STARTTLS, parsing.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "smtp/testing/smtp_server_fixture.h"

namespace mailwarden {
namespace {

namespace asio = boost::asio;
using namespace smtp_testing;

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

}  // namespace
}  // namespace mailwarden
