// SigningTransport: DKIM-signs each message just before the wrapped transport hands it over
// (docs/sender-identity.md). Signing here, not when the message is stored, means mail held
// for days is signed with the key of the day it leaves, and a rotation applies to the queue
// at once.
//
// Runs where the wrapped transport runs (in the daemon, inside TransportThread: the signature's
// cost is the delivery thread's, never the loop that takes mail in). A message that cannot be
// signed leaves unsigned, logged and counted: a signature is never a reason to lose mail.
#pragma once

#include <functional>
#include <memory>

#include "delivery/transport.h"
#include "identity/dkim_signer.h"

namespace mailwarden {

struct SigningHooks {
  std::function<void()> signed_one;  // any thread
  std::function<void()> failed_one;
};

class SigningTransport final : public Transport {
 public:
  SigningTransport(std::unique_ptr<Transport> inner, std::shared_ptr<const DkimSigner> signer,
                   SigningHooks hooks = {});

  boost::asio::awaitable<std::vector<RecipientOutcome>> Deliver(
      const ClaimedMessage& message) override;
  void Shutdown() override { inner_->Shutdown(); }

 private:
  std::unique_ptr<Transport> inner_;
  std::shared_ptr<const DkimSigner> signer_;
  SigningHooks hooks_;
};

}  // namespace mailwarden
