// BounceIntake: the backend of the bounce listener (bounces.listen), where the relay (or the
// internet) returns what happened to mail after the relay took it. It takes mail only to the
// signed return paths of bounces.domain (smtp/return_path.h) and to bounces.feedback_addresses;
// everything else is told 550.
//
// What comes back (mime/bounce_message.h) is recorded on the message its return path names,
// looked up by id (Store::RecordBounces), before the end of data is answered 250. Bounces
// that arrive together (many relay connections) are recorded in one transaction, the store's
// group commit of bounces (StoreRunner::AsyncRecordBounce): each is answered 250 only after
// the commit that holds it, and a commit that fails is a temporary failure (451) for every
// bounce of its group:
// - an RFC 3464 DSN: each `failed` recipient becomes a failure of that message and recipient,
//   with its status, the remote server's text and the reporting MTA, and the category the
//   rules table gives (core/failure_category.h), counted as a refusal at hand-over is (errors,
//   the errors list, the report, bounce_guard); `delayed` is noted on the recipient;
// - a bounce in plain words: a failure of the message's only recipient, from the status or
//   reply found in its text (4xx: a delay);
// - an automatic reply (RFC 3834): nothing (logged);
// - anything else at a valid return path: an `unclassified` failure, with its subject;
// - an RFC 5965 feedback report (a complaint), at either kind of address: one complaint of the
//   account whose message the original's return path names (Store::RecordComplaint), or,
//   when it has none of ours (mailbox providers often strip it) and the report came to a
//   feedback address, the message its Message-ID names (Store::FindByMessageId); one whose
//   original is not ours is taken and ignored. When the account's complaints of the day
//   then pass policy.complaint_rate over at least policy.complaint_min messages sent that day,
//   the complaint guard blocks it in the same transaction.
// A bounce for a message that is gone (purged, past store.keep_finished) is taken and ignored.
// With bounces.forward, every bounce of a message still there (an automatic reply too) is
// passed on to the message's original envelope sender, as it would have arrived without
// mailwarden: with the null sender, never to a null sender, and never to an address that is
// itself a return path (no loop).
//
// Reading what came back (parsing and classifying it) runs, with ParseAtLowPriority, on a
// thread of its own at the lowest CPU priority (nice 19), not on the daemon's loop. That is a
// small part of a bounce's cost (5-7% of a core in a storm of 1,500 a second); what keeps a
// storm from slowing the sites' submissions is the store thread's share for bounces
// (StoreRunner): each relay session waits for its 250, so the whole storm slows with it.
//
// Trust: nobody authenticates; the return path's signature is what says a bounce may touch a
// message, and the message must be of the account the signature names.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/failure_category.h"
#include "mime/bounce_message.h"
#include "smtp/return_path.h"
#include "smtp/smtp_server.h"
#include "store/limit_book.h"
#include "store/store_runner.h"

namespace mailwarden {

class BounceIntake final : public SmtpBackend {
 public:
  // Told, on the daemon's loop, of the failures a bounce recorded (for /metrics and
  // bounce_guard).
  using FailureHook = std::function<void(AccountId, const std::vector<FailureCategory>&)>;

  BounceIntake(StoreRunner& store, const Config& config, const Clock& clock);

  void SetFailureHook(FailureHook hook) { on_failures_ = std::move(hook); }

  // Told, on the daemon's loop, that a complaint made the complaint guard block the account
  // (in the complaint's transaction): the account as it was before, and the block's reason.
  using BlockHook = std::function<void(const Account&, const std::string&)>;
  void SetBlockHook(BlockHook hook) { on_block_ = std::move(hook); }

  // bounces.forward: stores a copy of a bounce to the message's original envelope sender (to,
  // the bounce as received), committed before it completes.
  using Forwarder =
      std::function<boost::asio::awaitable<Result<MessageId>>(std::string to, std::string data)>;
  void SetForwarder(Forwarder forward) { forward_ = std::move(forward); }

  // Where each account's policy.suppress_for is read (a bad mailbox or domain a bounce reports
  // is suppressed for that long); without it, the server's [policy] value. Not owned.
  void SetLimits(LimitBook* limits) { limits_ = limits; }

  // Reads each bounce on a thread of its own at nice 19 (named mw-bounces) from now on,
  // rather than on the caller's loop. Call once, before the first bounce.
  void ParseAtLowPriority();

  boost::asio::awaitable<Result<SmtpIdentity>> Authenticate(std::string user, std::string password,
                                                            std::string client_ip) override;
  boost::asio::awaitable<Result<SmtpIdentity>> IdentifyLocalUser(Uid uid) override;
  boost::asio::awaitable<Result<void>> CheckRecipient(const SmtpIdentity& who,
                                                      const std::string& address) override;
  boost::asio::awaitable<Result<std::int64_t>> Accept(const SmtpIdentity& who,
                                                      SmtpEnvelope envelope,
                                                      std::string data) override;

 private:
  bool IsFeedbackAddress(std::string_view address) const;
  // A feedback-loop report (ARF): a complaint about the message its original's return path
  // names or, at a feedback address, when the original has no return path of ours, the
  // message its Message-ID names.
  boost::asio::awaitable<Result<std::int64_t>> AcceptComplaint(const BounceMessage& parsed,
                                                               bool at_feedback_address);

  struct Understood {
    BounceMessage parsed;
    std::vector<BounceRecipient> recipients;  // what it says of the message's recipients
  };
  Understood Understand(const std::string& data) const;

  StoreRunner& store_;
  const Clock& clock_;
  const ReturnPath return_path_;
  const FailureClassifier classifier_;
  FailureHook on_failures_;
  BlockHook on_block_;
  const double complaint_rate_;
  const std::int64_t complaint_min_;
  Forwarder forward_;
  const Duration default_suppress_for_;
  LimitBook* limits_ = nullptr;
  const std::vector<std::string> feedback_addresses_;  // lower case
  std::unique_ptr<boost::asio::thread_pool> reader_;   // ParseAtLowPriority's thread
};

}  // namespace mailwarden
