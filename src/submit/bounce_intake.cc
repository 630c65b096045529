#include "submit/bounce_intake.h"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>

#include "core/text.h"
#include "mime/bounce_message.h"

namespace mailwarden {
namespace {

// A bounce's text for people: the remote server's words, then who reported them.
std::string ReplyText(std::string_view status, std::string_view text, std::string_view mta) {
  std::string out;
  if (!status.empty() && text.find(status) == std::string_view::npos) {
    out += std::string(status) + " ";
  }
  out += text;
  if (!mta.empty()) out += " (reported by " + std::string(mta) + ")";
  return out;
}

bool IsDelay(std::string_view text) {
  const std::string status = FindEnhancedStatus(text);
  if (!status.empty()) return status[0] == '4';
  const int code = LeadingReplyCode(text);
  return code >= 400 && code < 500;
}

// What a parsed bounce says of the recipients of the message it came back for.
std::vector<BounceRecipient> RecipientsOf(const BounceMessage& b,
                                          const FailureClassifier& classifier) {
  std::vector<BounceRecipient> out;
  switch (b.kind) {
    case BounceKind::kDsn:
      for (const DsnRecipient& r : b.recipients) {
        if (r.action != "failed" && r.action != "delayed") continue;  // delivered, relayed...
        BounceRecipient br;
        br.address = r.address;
        br.delayed = r.action == "delayed";
        br.reply = ReplyText(r.status, r.diagnostic, b.reporting_mta);
        if (!br.delayed) {
          br.category =
              std::string(FailureCategoryName(classifier.Classify(r.status, r.diagnostic)));
        }
        out.push_back(std::move(br));
      }
      break;
    case BounceKind::kPlain:
      out.push_back({.address = "",
                     .delayed = IsDelay(b.text),
                     .reply = b.text,
                     .category = std::string(FailureCategoryName(classifier.Classify(b.text)))});
      break;
    case BounceKind::kUnrecognised:
      out.push_back({.address = "",
                     .delayed = false,
                     .reply = "bounce not understood: " + b.text,
                     .category = std::string(FailureCategoryName(FailureCategory::kUnclassified))});
      break;
    case BounceKind::kAutoReply:
    case BounceKind::kFeedback:
      break;
  }
  return out;
}

}  // namespace

BounceIntake::BounceIntake(StoreRunner& store, const Config& config, const Clock& clock)
    : store_(store),
      clock_(clock),
      return_path_(config.bounces.domain, config.bounces.secret),
      classifier_(config.bounces.category_rules),
      complaint_rate_(config.policy.complaint_rate),
      complaint_min_(config.policy.complaint_min),
      default_suppress_for_(config.policy.suppress_for),
      feedback_addresses_(config.bounces.feedback_addresses) {}

void BounceIntake::ParseAtLowPriority() {
  if (reader_) return;
  reader_ = std::make_unique<boost::asio::thread_pool>(1);
  // The pool's one thread runs this first. The nice value is the thread's own on Linux; a
  // failure leaves it at the daemon's priority, which is only slower for the sites.
  boost::asio::post(*reader_, [] {
    pthread_setname_np(pthread_self(), "mw-bounces");  // as top -H and perf show it
    if (setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 19) != 0) {
      spdlog::warn("mailwardend: the bounce reader's thread keeps the daemon's CPU priority");
    }
  });
}

BounceIntake::Understood BounceIntake::Understand(const std::string& data) const {
  Understood out;
  out.parsed = ParseBounceMessage(data);
  out.recipients = RecipientsOf(out.parsed, classifier_);
  return out;
}

bool BounceIntake::IsFeedbackAddress(std::string_view address) const {
  const std::string lower = ToAsciiLower(address);
  return std::ranges::find(feedback_addresses_, lower) != feedback_addresses_.end();
}

boost::asio::awaitable<Result<SmtpIdentity>> BounceIntake::Authenticate(std::string, std::string,
                                                                        std::string) {
  co_return Fail(ErrorCode::kPermission, "no AUTH here");
}

boost::asio::awaitable<Result<SmtpIdentity>> BounceIntake::IdentifyLocalUser(Uid) {
  co_return Fail(ErrorCode::kNotFound, "no local users here");
}

boost::asio::awaitable<Result<void>> BounceIntake::CheckRecipient(const SmtpIdentity&,
                                                                  const std::string& address) {
  if (return_path_.Verify(address) || IsFeedbackAddress(address)) co_return Result<void>{};
  co_return Fail(ErrorCode::kNotFound, "not a return path of this server");
}

boost::asio::awaitable<Result<std::int64_t>> BounceIntake::Accept(const SmtpIdentity&,
                                                                  SmtpEnvelope envelope,
                                                                  std::string data) {
  Understood understood;
  if (reader_) {
    // The caller's coroutine waits, on its own loop, for the reader's thread.
    auto read = [this, &data]() -> boost::asio::awaitable<Understood> {
      co_return Understand(data);
    };
    understood = co_await boost::asio::co_spawn(*reader_, read, boost::asio::use_awaitable);
  } else {
    understood = Understand(data);
  }
  const BounceMessage& parsed = understood.parsed;
  std::int64_t answer = 0;
  if (parsed.kind == BounceKind::kFeedback) {
    bool at_feedback_address = false;
    for (const std::string& rcpt : envelope.rcpt_to) {
      at_feedback_address = at_feedback_address || IsFeedbackAddress(rcpt);
    }
    co_return co_await AcceptComplaint(parsed, at_feedback_address);
  }
  for (const std::string& rcpt : envelope.rcpt_to) {
    const auto ref = return_path_.Verify(rcpt);
    if (!ref) continue;  // CheckRecipient refused it already
    Bounce bounce;
    bounce.message = ref->message;
    bounce.account = ref->account;
    bounce.recipients = understood.recipients;
    bounce.suppress_for = default_suppress_for_;
    if (limits_ != nullptr) {
      bool fails = false;
      for (const BounceRecipient& r : bounce.recipients) fails = fails || !r.delayed;
      if (fails) bounce.suppress_for = (co_await limits_->Of(ref->account)).limits.suppress_for;
    }
    if (parsed.kind == BounceKind::kAutoReply) {
      spdlog::info("bounce: id={} kind=auto-reply from=<{}> result=no-error subject=\"{}\"",
                   ref->message, LogText(envelope.mail_from), LogText(parsed.text));
    }
    const std::vector<BounceRecipient> recipients = bounce.recipients;  // for the log
    // In the next group commit of bounces: completes once it is committed, so the 250 that
    // follows is never given for a bounce a crash could lose; a failed commit fails every
    // bounce of the group (451 to each sender, which tries again).
    auto recorded = co_await store_.AsyncRecordBounce(std::move(bounce), clock_.Now(),
                                                      boost::asio::use_awaitable);
    if (!recorded) co_return std::unexpected(recorded.error());
    if (!recorded->found) {
      spdlog::info("bounce: id={} result=ignored reason=\"no such message (purged or removed)\"",
                   ref->message);
      continue;
    }
    if (recorded->not_yet > 0) {
      // Recorded later, when its sender tries again: a 250 now would lose it.
      spdlog::info(
          "bounce: id={} account={} result=deferred reason=\"{} recipients' delivery "
          "not recorded yet\"",
          ref->message, recorded->account_name, recorded->not_yet);
      co_return Fail(ErrorCode::kUnavailable,
                     "The message's delivery is still being recorded: try again later.");
    }
    answer = ref->message;
    const std::string& sender = recorded->sender;
    if (forward_ && !sender.empty() && !return_path_.Verify(sender)) {
      auto forwarded = co_await forward_(sender, data);
      if (!forwarded) co_return std::unexpected(forwarded.error());
    }
    for (const BounceRecipient& r : recipients) {
      spdlog::info("bounce: id={} account={} to=<{}> result={} category={} reply=\"{}\"",
                   ref->message, recorded->account_name, LogText(r.address),
                   r.delayed ? "delayed" : "failed", r.category, LogText(r.reply));
    }
    if (!recorded->failed.empty() && on_failures_) {
      std::vector<FailureCategory> categories;
      for (const std::string& c : recorded->failed) {
        categories.push_back(ParseFailureCategory(c).value_or(FailureCategory::kOther));
      }
      on_failures_(ref->account, categories);
    }
  }
  co_return answer;
}

boost::asio::awaitable<Result<std::int64_t>> BounceIntake::AcceptComplaint(
    const BounceMessage& parsed, bool at_feedback_address) {
  // The original message is named by its return path (the report's Original-Mail-From, or
  // the Return-Path of the message it carries); one that is not ours, or forged, is taken
  // (250) and ignored, so that a mailbox provider does not retry it. Mailbox providers often
  // strip the return path and keep the original's headers: then its Message-ID names it, at
  // the feedback addresses only (a return path's report is about its own message).
  auto ref = return_path_.Verify(parsed.original_return_path);
  if (!ref && at_feedback_address && !parsed.original_message_id.empty() &&
      parsed.original_return_path.empty()) {
    auto id = std::make_shared<std::string>(parsed.original_message_id);
    std::function<Result<std::optional<MessageRef>>(Store&)> find = [id](Store& s) {
      return s.FindByMessageId(*id);
    };
    auto found = co_await store_.AsyncRun<std::optional<MessageRef>>(std::move(find),
                                                                     boost::asio::use_awaitable);
    if (!found) co_return std::unexpected(found.error());
    if (*found) ref = ReturnPathRef{.message = (*found)->message, .account = (*found)->account};
  }
  if (!ref) {
    spdlog::info(
        "complaint: result=ignored reason=\"no return path of this server\" "
        "return_path=<{}> message_id=\"{}\"",
        LogText(parsed.original_return_path), LogText(parsed.original_message_id));
    co_return std::int64_t{0};
  }
  auto complaint = std::make_shared<Complaint>(Complaint{.message = ref->message,
                                                         .account = ref->account,
                                                         .feedback_type = parsed.feedback_type,
                                                         .complaint_rate = complaint_rate_,
                                                         .complaint_min = complaint_min_});
  const TimePoint now = clock_.Now();
  std::function<Result<ComplaintRecorded>(Store&)> record = [complaint, now](Store& s) {
    return s.RecordComplaint(*complaint, now);
  };
  auto recorded =
      co_await store_.AsyncRun<ComplaintRecorded>(std::move(record), boost::asio::use_awaitable);
  if (!recorded) co_return std::unexpected(recorded.error());
  if (!recorded->found) {
    spdlog::info("complaint: id={} result=ignored reason=\"no such message (purged or removed)\"",
                 ref->message);
    co_return std::int64_t{0};
  }
  if (recorded->duplicate) {
    spdlog::info("complaint: id={} account={} result=ignored reason=\"counted already\"",
                 ref->message, recorded->account_name);
    co_return static_cast<std::int64_t>(ref->message);
  }
  spdlog::warn("complaint: id={} account={} type={} complaints_today={} sent_today={}",
               ref->message, recorded->account_name, LogText(parsed.feedback_type),
               recorded->complaints_today, recorded->sent_today);
  if (recorded->blocked && on_block_) on_block_(*recorded->blocked, recorded->block_reason);
  co_return static_cast<std::int64_t>(ref->message);
}

}  // namespace mailwarden
