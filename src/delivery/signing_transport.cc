#include "delivery/signing_transport.h"

#include <spdlog/spdlog.h>

namespace mailwarden {

SigningTransport::SigningTransport(std::unique_ptr<Transport> inner,
                                   std::shared_ptr<const DkimSigner> signer, SigningHooks hooks)
    : inner_(std::move(inner)), signer_(std::move(signer)), hooks_(std::move(hooks)) {}

boost::asio::awaitable<std::vector<RecipientOutcome>> SigningTransport::Deliver(
    const ClaimedMessage& message) {
  auto signature = signer_->Sign(message.body, message.account);
  if (!signature) {
    spdlog::warn("id={} account={} dkim=failed reason=\"{}\": sent unsigned", message.id,
                 message.account_name, signature.error().message);
    if (hooks_.failed_one) hooks_.failed_one();
  }
  if (!signature || !*signature) co_return co_await inner_->Deliver(message);
  // The signature goes first, before the Received line: a copy of the message with it.
  ClaimedMessage signed_message{.id = message.id,
                                .account = message.account,
                                .account_name = message.account_name,
                                .sender = message.sender,
                                .recipients = message.recipients,
                                .body = {},
                                .subject = message.subject,
                                .script = message.script,
                                .attempts = message.attempts,
                                .received_at = message.received_at};
  signed_message.body.reserve((*signature)->size() + message.body.size());
  signed_message.body += **signature;
  signed_message.body += message.body;
  if (hooks_.signed_one) hooks_.signed_one();
  co_return co_await inner_->Deliver(signed_message);
}

}  // namespace mailwarden
