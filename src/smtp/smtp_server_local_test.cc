// The local listener (SmtpServerOptions::local_listen): SMTP without AUTH, the mail belonging
// to the account of the local user owning the client's socket.
#include <unistd.h>

#include "smtp/testing/smtp_server_fixture.h"

namespace mailwarden::smtp_testing {
namespace {

class SmtpServerLocalTest : public SmtpServerTest {
 protected:
  static SmtpServerOptions LocalOptions() {
    SmtpServerOptions options = Options();
    options.listen.clear();
    options.local_listen = {"127.0.0.1:0"};
    return options;
  }
};

TEST_F(SmtpServerLocalTest, mail_without_auth_belongs_to_the_uid_owning_the_socket) {
  backend_.AddLocalUser(getuid());
  Start(LocalOptions());
  const auto result = Python(R"PY(
s = smtplib.SMTP('127.0.0.1', PORT, timeout=10)
code, text = s.ehlo()
assert b'AUTH' not in text and b'STARTTLS' not in text, text
s.sendmail('a@x.example', ['b@y.example'], 'Subject: hi\r\n\r\nbody\r\n')
s.quit()
)PY");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto messages = backend_.messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].who.account, kAccount);
  EXPECT_EQ(messages[0].who.uid, std::optional<Uid>(getuid()));
}

TEST_F(SmtpServerLocalTest, a_uid_without_an_account_is_refused_at_mail) {
  Start(LocalOptions());
  const auto result = Python(R"PY(
t = Talk()
t.hello()
t.send('MAIL FROM:<a@x.example>\r\n')
print(t.reply())
t.send('AUTH PLAIN ' + base64.b64encode(b'\0alice\0s3cret').decode() + '\r\n')
print(t.reply())
)PY");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(
      result.output.find("550 5.7.1 uid " + std::to_string(getuid()) + " has no mail account here"),
      std::string::npos)
      << result.output;
  // Nor can it log in as someone else here.
  EXPECT_NE(result.output.find("503 5.5.1 No AUTH here"), std::string::npos) << result.output;
  EXPECT_TRUE(backend_.messages().empty());
}

// One server, one set of limits: a local user's sessions count as its account's (and as its
// uid's) on every listener.
TEST_F(SmtpServerLocalTest, local_sessions_count_against_the_accounts_limit) {
  backend_.AddLocalUser(getuid());
  SmtpServerOptions options = LocalOptions();
  options.max_connections_per_account = 1;
  Start(options);
  const auto result = Python(R"PY(
first = Talk()
print(first.reply())
second = Talk()
print(second.reply())
)PY");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("220 mx.test ESMTP mailwarden"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("421 4.7.0 Too many connections for this account"),
            std::string::npos)
      << result.output;
}

TEST_F(SmtpServerLocalTest, refuses_an_address_that_is_not_loopback) {
  SmtpServerOptions options = LocalOptions();
  options.local_listen = {"0.0.0.0:0"};
  SmtpServer server(io_.get_executor(), options, backend_, gate_);
  const auto listening = server.Listen();
  ASSERT_FALSE(listening.has_value());
  EXPECT_EQ(listening.error().message, "smtp.local_listen: 0.0.0.0:0 is not a loopback address");
}

}  // namespace
}  // namespace mailwarden::smtp_testing
