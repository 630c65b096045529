#include "submit/smtp_intake.h"

#include <spdlog/spdlog.h>

#include <boost/asio/use_awaitable.hpp>

#include "core/account_name.h"
#include "store/credentials.h"

namespace mailwarden {

SmtpIntake::SmtpIntake(StoreRunner& store, AccountDirectory& accounts, MailIntake& intake)
    : store_(store), accounts_(accounts), intake_(intake) {}

boost::asio::awaitable<Result<SmtpIdentity>> SmtpIntake::Authenticate(std::string user,
                                                                      std::string password,
                                                                      std::string client_ip) {
  struct Found {
    AccountId id = 0;
    std::string digest;
  };
  // The internal account never sends through SMTP, whatever is stored for it.
  const bool reserved = IsReservedAccountName(user);
  auto found = co_await store_.AsyncRun<std::optional<Found>>(
      [&](Store& s) -> Result<std::optional<Found>> {
        if (reserved) return std::nullopt;
        auto digest = s.GetSmtpPasswordHash(user);
        if (!digest) return std::unexpected(digest.error());
        if (!*digest) return std::nullopt;
        auto account = s.FindAccount(user);
        if (!account) return std::unexpected(account.error());
        if (!*account) return std::nullopt;
        return Found{(*account)->id, **digest};
      },
      boost::asio::use_awaitable);
  if (!found) co_return std::unexpected(found.error());
  // Hash and compare whether or not the user exists: the answer takes the same time.
  const std::string given = SecretDigest(password);
  const std::string expected = *found ? (*found)->digest : SecretDigest("no such user");
  if (!*found || !DigestsEqual(given, expected)) {
    spdlog::warn("smtp: ip={} user=\"{}\" result=auth-failed", client_ip, user.substr(0, 64));
    co_return Fail(ErrorCode::kUnauthenticated, "authentication failed");
  }
  // Named and passed by reference: no temporary lives across the co_await (GCC 12 destroys
  // those twice).
  SmtpIdentity identity{(*found)->id, user, std::nullopt};
  co_await WithLimits(identity);
  co_return identity;
}

boost::asio::awaitable<void> SmtpIntake::WithLimits(SmtpIdentity& identity) {
  if (limits_ != nullptr) {
    const ResolvedLimits r = co_await limits_->Of(identity.account);
    identity.max_recipients = static_cast<std::size_t>(r.limits.max_recipients);
  }
}

boost::asio::awaitable<Result<SmtpIdentity>> SmtpIntake::IdentifyLocalUser(Uid uid) {
  auto account = co_await accounts_.FindByUid(uid);
  if (!account) co_return std::unexpected(account.error());
  if (!*account) co_return Fail(ErrorCode::kNotFound, "uid has no mail account");
  SmtpIdentity identity{(*account)->id, (*account)->name, uid};
  co_await WithLimits(identity);
  co_return identity;
}

boost::asio::awaitable<Result<std::int64_t>> SmtpIntake::Accept(const SmtpIdentity& who,
                                                                SmtpEnvelope envelope,
                                                                std::string data) {
  SubmitEnvelope submit;
  submit.sender = envelope.mail_from;
  submit.recipients = std::move(envelope.rcpt_to);
  // Named, not temporaries of the co_await expression (GCC 12 destroys those twice).
  const AccountRef account{who.account, who.name};
  // On the local listener no one logged in: the kernel named the user (RFC 3848: ESMTP).
  const Uid uid = who.uid.value_or(0);
  std::string protocol = who.uid ? "ESMTP" : "ESMTPA";
  std::string client = "ip=" + envelope.client_ip;
  if (who.uid) client = "uid=" + std::to_string(*who.uid) + " " + client;
  auto id = co_await intake_.Accept(account, uid, std::move(protocol), std::move(client), submit,
                                    std::move(data));
  if (!id) co_return std::unexpected(id.error());
  co_return *id;
}

}  // namespace mailwarden
