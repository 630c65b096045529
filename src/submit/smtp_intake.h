// SmtpIntake: the SMTP submission server's backend. AUTH checks an account's name and SMTP
// password (stored as a digest; never an API token); accepted mail takes the same path as the
// drop-in's (MailIntake), so it is held, counted and delivered exactly alike.
#pragma once

#include "smtp/smtp_server.h"
#include "store/store_runner.h"
#include "submit/mail_intake.h"

namespace mailwarden {

class SmtpIntake final : public SmtpBackend {
 public:
  SmtpIntake(StoreRunner& store, MailIntake& intake);

  boost::asio::awaitable<Result<SmtpIdentity>> Authenticate(std::string user, std::string password,
                                                            std::string client_ip) override;
  boost::asio::awaitable<Result<std::int64_t>> Accept(const SmtpIdentity& who,
                                                      SmtpEnvelope envelope,
                                                      std::string data) override;

 private:
  StoreRunner& store_;
  MailIntake& intake_;
};

}  // namespace mailwarden
