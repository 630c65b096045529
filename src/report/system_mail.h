// SystemMailer: the mail mailwarden itself sends (guard notices, daily error reports).
//
// It is stored and delivered like any script's mail, through the same queue and transport,
// but for the internal account "_mailwarden": never held by a customer's block, never counted
// in a customer's quotas or figures (core/account_name.h: kSystemAccountName).
//
// Send is called on the daemon's io_context.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <string_view>

#include "config/config.h"
#include "core/account_name.h"
#include "mime/compose.h"
#include "store/store_runner.h"

namespace mailwarden {

class SystemMailer {
 public:
  SystemMailer(StoreRunner& store, const Config& config, const Clock& clock,
               std::function<void()> queued);

  // Creates the internal account if missing. At start, before Send; blocks until done.
  Result<void> Init();

  // Composes and stores mail to mail.to; from, hostname and date are filled in from the
  // configuration (report.from) when empty. Completes once it is committed; `queued` is then
  // called so that delivery picks it up.
  boost::asio::awaitable<Result<MessageId>> Send(OutgoingMail mail);

  // Stores `message` as it is (a bounce passed on: bounces.forward) to `to`, with the null
  // sender, so that nothing ever bounces it back. Completes once it is committed.
  boost::asio::awaitable<Result<MessageId>> Forward(std::string to, std::string message,
                                                    std::string subject);

 private:
  StoreRunner& store_;
  const Config& config_;
  const Clock& clock_;
  std::function<void()> queued_;
  AccountId account_ = 0;
};

}  // namespace mailwarden
