// MailIntake: the one path by which a script's message enters the store, whichever way it
// came (the drop-in's socket, SMTP submission): prepare it (mime/message_prep), store it in
// the next group commit, log one line, tell the daemon. Completes only after the commit.
//
// Used on the daemon's io_context.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <string>

#include "config/config.h"
#include "mime/message_prep.h"
#include "store/account_directory.h"
#include "store/store_runner.h"

namespace mailwarden {

// Called after a message is committed (the daemon wakes delivery, counts for the guards).
using AcceptedHook = std::function<void(AccountId account, MessageId id)>;

class MailIntake {
 public:
  MailIntake(const Config& config, StoreRunner& store, const Clock& clock,
             AcceptedHook on_accepted);

  // Stores raw for account. `uid` is the submitting uid (0 for SMTP), `protocol` goes into
  // the Received line ("local", "ESMTPA"), `client` into the log ("uid=1000", "ip=1.2.3.4").
  // Fails with kInvalidInput / kTooLarge for a bad message (permanent) and kUnavailable when
  // the store cannot take it (temporary); nothing is stored then.
  boost::asio::awaitable<Result<MessageId>> Accept(const AccountRef& account, Uid uid,
                                                   std::string protocol, std::string client,
                                                   const SubmitEnvelope& envelope, std::string raw);

 private:
  const Config& config_;
  StoreRunner& store_;
  const Clock& clock_;
  AcceptedHook on_accepted_;
};

}  // namespace mailwarden
