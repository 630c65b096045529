#include "report/system_mail.h"

#include <spdlog/spdlog.h>

#include <boost/asio/use_awaitable.hpp>

namespace mailwarden {

SystemMailer::SystemMailer(StoreRunner& store, const Config& config, const Clock& clock,
                           std::function<void()> queued)
    : store_(store), config_(config), clock_(clock), queued_(std::move(queued)) {}

Result<void> SystemMailer::Init() {
  auto id = store_.RunSync<AccountId>([](Store& s) -> Result<AccountId> {
    if (auto found = s.FindAccount(kSystemAccountName); !found) {
      return std::unexpected(found.error());
    } else if (*found) {
      return (*found)->id;
    }
    AccountSpec spec;
    spec.name = std::string(kSystemAccountName);
    return s.UpsertAccount(spec);
  });
  if (!id) return std::unexpected(id.error());
  account_ = *id;
  return {};
}

boost::asio::awaitable<Result<MessageId>> SystemMailer::Send(OutgoingMail mail) {
  if (mail.from.empty()) mail.from = config_.report.from;
  if (mail.from_name.empty()) mail.from_name = "mailwarden";
  if (mail.hostname.empty()) mail.hostname = config_.hostname;
  if (mail.date == TimePoint{}) mail.date = clock_.Now();
  auto body = ComposeMessage(mail);
  if (!body) co_return std::unexpected(body.error());
  NewMessage message;
  message.account = account_;
  message.via = kViaMailwarden;
  message.sender = mail.from;
  message.recipients = {mail.to};
  message.body = std::move(*body);
  message.subject = mail.subject;
  message.received_at = mail.date;
  auto id = co_await store_.AsyncInsert(std::move(message), boost::asio::use_awaitable);
  if (!id) co_return std::unexpected(id.error());
  spdlog::info("id={} account={} from=<{}> to=<{}> result=queued subject=\"{}\"", *id,
               kSystemAccountName, mail.from, mail.to, mail.subject);
  if (queued_) queued_();
  co_return *id;
}

boost::asio::awaitable<Result<MessageId>> SystemMailer::Forward(std::string to, std::string message,
                                                                std::string subject) {
  NewMessage m;
  m.account = account_;
  m.via = kViaMailwarden;
  m.sender = "";  // the null sender: a bounce is never bounced
  m.recipients = {to};
  m.body = std::move(message);
  m.subject = std::move(subject);
  m.received_at = clock_.Now();
  auto id = co_await store_.AsyncInsert(std::move(m), boost::asio::use_awaitable);
  if (!id) co_return std::unexpected(id.error());
  spdlog::info("id={} account={} from=<> to=<{}> result=queued forwarded bounce", *id,
               kSystemAccountName, to);
  if (queued_) queued_();
  co_return *id;
}

}  // namespace mailwarden
