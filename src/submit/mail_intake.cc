#include "submit/mail_intake.h"

#include <spdlog/spdlog.h>

#include <boost/asio/use_awaitable.hpp>

namespace mailwarden {
namespace {

std::string JoinRecipients(const std::vector<std::string>& rcpts) {
  std::string out;
  for (const auto& r : rcpts) {
    if (!out.empty()) out += ',';
    out += '<' + r + '>';
  }
  return out;
}

}  // namespace

MailIntake::MailIntake(const Config& config, StoreRunner& store, const Clock& clock,
                       AcceptedHook on_accepted)
    : config_(config), store_(store), clock_(clock), on_accepted_(std::move(on_accepted)) {}

boost::asio::awaitable<Result<MessageId>> MailIntake::Accept(const AccountRef& account, Uid uid,
                                                             std::string protocol,
                                                             std::string client,
                                                             const SubmitEnvelope& envelope,
                                                             std::string raw) {
  PrepareContext context;
  context.account = account.name;
  context.uid = uid;
  context.protocol = std::move(protocol);
  context.hostname = config_.hostname;
  context.now = clock_.Now();
  context.max_bytes = config_.submit.max_message_bytes;
  // Made in raw's buffer: a large message is held once, not received and prepared side by side.
  auto prepared = PrepareMessage(std::move(raw), envelope, context);
  if (!prepared) {
    spdlog::warn("account={} {} result=refused reason=\"{}\"", account.name, client,
                 prepared.error().message);
    co_return std::unexpected(prepared.error());
  }

  NewMessage message;
  message.account = account.id;
  message.sender = std::move(prepared->sender);
  message.recipients = std::move(prepared->recipients);
  message.body = std::move(prepared->body);
  message.subject = std::move(prepared->subject);
  message.script = std::move(prepared->script);
  message.uid = uid;
  message.received_at = context.now;
  message.scan = config_.scan.enabled();
  const std::string from = message.sender;
  const std::string to = JoinRecipients(message.recipients);
  const std::size_t size = message.body.size();

  auto id = co_await store_.AsyncInsert(std::move(message), boost::asio::use_awaitable);
  if (!id && id.error().code == ErrorCode::kNoRoom) {
    // Expected under a flood or a full disk: what the sender is told, and the store has said
    // once (SqlStore::CheckRoom) why.
    spdlog::warn("account={} {} from=<{}> to={} result=tempfail reason=\"{}\"", account.name,
                 client, from, to, id.error().message);
    co_return std::unexpected(id.error());
  }
  if (!id) {
    spdlog::error("account={} {} from=<{}> to={} result=tempfail reason=\"{}\"", account.name,
                  client, from, to, id.error().message);
    co_return Fail(ErrorCode::kUnavailable, "mail store unavailable, try again later");
  }
  spdlog::info("id={} account={} {} from=<{}> to={} size={} result=queued", *id, account.name,
               client, from, to, size);
  if (on_accepted_) on_accepted_(account.id, *id);
  co_return *id;
}

}  // namespace mailwarden
