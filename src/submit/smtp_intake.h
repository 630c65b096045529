// SmtpIntake: the SMTP submission server's backend. AUTH checks an account's name and SMTP
// password (stored as a digest; never an API token); accepted mail takes the same path as the
// drop-in's (MailIntake), so it is held, counted and delivered exactly alike. On the local
// listener the account is the one of the uid owning the client's socket, found as the
// drop-in finds its caller's (AccountDirectory).
#pragma once

#include "smtp/smtp_server.h"
#include "store/account_directory.h"
#include "store/store_runner.h"
#include "submit/mail_intake.h"

namespace mailwarden {

class SmtpIntake final : public SmtpBackend {
 public:
  SmtpIntake(StoreRunner& store, AccountDirectory& accounts, MailIntake& intake);

  boost::asio::awaitable<Result<SmtpIdentity>> Authenticate(std::string user, std::string password,
                                                            std::string client_ip) override;
  boost::asio::awaitable<Result<SmtpIdentity>> IdentifyLocalUser(Uid uid) override;
  boost::asio::awaitable<Result<std::int64_t>> Accept(const SmtpIdentity& who,
                                                      SmtpEnvelope envelope,
                                                      std::string data) override;

  // The accounts' limits: a session's identity carries its account's policy.max_recipients.
  void SetLimits(LimitBook* book) { limits_ = book; }

 private:
  // Sets identity's limits from its account's.
  boost::asio::awaitable<void> WithLimits(SmtpIdentity& identity);
  LimitBook* limits_ = nullptr;
  StoreRunner& store_;
  AccountDirectory& accounts_;
  MailIntake& intake_;
};

}  // namespace mailwarden
