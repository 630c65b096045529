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
#include "core/limit_windows.h"
#include "core/local_day.h"
#include "mime/message_prep.h"
#include "store/account_directory.h"
#include "store/limit_book.h"
#include "store/store_runner.h"

namespace mailwarden {

// Called after a message is committed (the daemon wakes delivery, counts for the guards).
using AcceptedHook = std::function<void(AccountId account, MessageId id)>;
// Called after a message is committed with its recipients and the account's limits (the
// unique-recipients guard).
using RecipientsHook = std::function<void(
    AccountId account, const std::vector<std::string>& recipients, const SendLimits& limits)>;

// Called when the From check (policy.sender_check) holds or refuses a message.
struct SenderCheckHooks {
  std::function<void()> held;
  std::function<void()> refused;
};

class MailIntake {
 public:
  MailIntake(const Config& config, StoreRunner& store, const Clock& clock,
             AcceptedHook on_accepted);

  // The From check's owners of domains (without it, policy.sender_check is not applied) and
  // what to tell when it holds or refuses.
  void SetSenderCheck(AccountDirectory* directory, SenderCheckHooks hooks) {
    directory_ = directory;
    sender_hooks_ = std::move(hooks);
  }

  // Stores raw for account. `uid` is the submitting uid (0 for SMTP), `protocol` goes into
  // the Received line ("local", "ESMTPA"), `client` into the log ("uid=1000", "ip=1.2.3.4").
  // Fails with kInvalidInput / kTooLarge for a bad message (permanent), kRefusedSender when
  // policy.sender_check is "reject" and its From or envelope sender domain is not the
  // account's (permanent), and kUnavailable when the store cannot take it (temporary);
  // nothing is stored then.
  boost::asio::awaitable<Result<MessageId>> Accept(const AccountRef& account, Uid uid,
                                                   std::string protocol, std::string client,
                                                   const SubmitEnvelope& envelope, std::string raw);

  // Applies the accounts' limits at submission (core/send_limits.h): a message over
  // policy.max_recipients is refused (kInvalidInput); with policy.over_limit = "refuse", one
  // past a volume limit is refused for now (kOverLimit), nothing stored. Without it, none.
  void SetLimits(LimitBook* book, RecipientsHook on_recipients) {
    limits_ = book;
    on_recipients_ = std::move(on_recipients);
  }

 private:
  // What each account with over_limit = "refuse" submitted (on this node): its volume limits
  // are judged on these, at submission.
  struct Submitted {
    RollingHourCounter hour;
    std::int64_t today_count = 0;
    LocalDay today{};
    FinerWindows finer;
  };
  // Why the message may not be taken now, if it may not.
  std::optional<Error> RefusedByLimits(AccountId account, const SendLimits& limits,
                                       std::size_t recipients, const MessageKeys& keys,
                                       TimePoint now);
  void CountSubmitted(AccountId account, const MessageKeys& keys, TimePoint now);
  LimitBook* limits_ = nullptr;
  RecipientsHook on_recipients_;
  std::unordered_map<AccountId, Submitted> submitted_;

  const Config& config_;
  StoreRunner& store_;
  const Clock& clock_;
  AcceptedHook on_accepted_;
  AccountDirectory* directory_ = nullptr;
  SenderCheckHooks sender_hooks_;

  // Whether the prepared message's sender domains are all the account's (core's
  // SenderAllowed over the owners the directory finds).
  boost::asio::awaitable<Result<bool>> SenderIsAccounts(const AccountRef& account,
                                                        const PreparedMessage& message);
};

}  // namespace mailwarden
