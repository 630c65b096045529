#include "submit/mail_intake.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/use_awaitable.hpp>

#include "core/sender_domain.h"
#include "core/text.h"

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

boost::asio::awaitable<Result<bool>> MailIntake::SenderIsAccounts(const AccountRef& account,
                                                                  const PreparedMessage& message) {
  SenderClaim claim;
  for (const std::string& address : message.from_addresses) {
    // An address whose domain does not normalise is claimed as written: no account has it.
    auto domain = AddressDomain(address);
    claim.from_domains.push_back(domain ? *domain : ToAsciiLower(address));
  }
  if (!message.sender.empty() && !message.sender_defaulted) {
    auto domain = AddressDomain(message.sender);
    claim.envelope_domain = domain ? *domain : ToAsciiLower(message.sender);
  }
  std::vector<std::optional<AccountId>> owners;
  for (const std::string& domain : ClaimedDomains(claim)) {
    auto owner = co_await directory_->FindDomainOwner(domain);
    if (!owner) co_return std::unexpected(owner.error());
    owners.push_back(*owner);
  }
  co_return SenderAllowed(account.id, owners);
}

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

  const SenderCheck check = config_.policy.sender_check;
  bool hold_for_sender = false;
  if (check != SenderCheck::kOff && directory_ != nullptr) {
    auto allowed = co_await SenderIsAccounts(account, *prepared);
    if (!allowed) {
      spdlog::error("account={} {} result=tempfail reason=\"{}\"", account.name, client,
                    allowed.error().message);
      co_return Fail(ErrorCode::kUnavailable, "mail store unavailable, try again later");
    }
    if (!*allowed && check == SenderCheck::kReject) {
      spdlog::warn("account={} {} from=<{}> result=refused reason=\"{}\"", account.name, client,
                   prepared->sender, kSenderNotAllowed);
      if (sender_hooks_.refused) sender_hooks_.refused();
      // Counted for the panel and the daily report; the refusal stands if counting fails.
      std::function<Result<void>(Store&)> count = [&account, &context](Store& s) {
        return s.CountSenderRefused(account.id, context.now);
      };
      if (auto counted = co_await store_.AsyncRun(std::move(count), boost::asio::use_awaitable);
          !counted) {
        spdlog::warn("account={}: cannot count a refused sender: {}", account.name,
                     counted.error().message);
      }
      co_return Fail(ErrorCode::kRefusedSender,
                     "sender not allowed: the From address (or envelope sender) is not of a "
                     "domain of the account " +
                         Quoted(account.name));
    }
    hold_for_sender = !*allowed;
  }
  std::optional<ResolvedLimits> limits;
  if (limits_ != nullptr) {
    limits = co_await limits_->Of(account.id);
    if (auto refused = RefusedByLimits(account.id, limits->limits, prepared->recipients.size(),
                                       {.sender = prepared->sender,
                                        .from = prepared->from_addresses.size() == 1
                                                    ? std::string_view(prepared->from_addresses[0])
                                                    : std::string_view(),
                                        .script = prepared->script},
                                       context.now)) {
      spdlog::warn(
          "account={} {} from=<{}> result={} reason=\"{}\"", account.name, client, prepared->sender,
          refused->code == ErrorCode::kOverLimit ? "tempfail" : "refused", refused->message);
      co_return std::unexpected(*refused);
    }
  }

  NewMessage message;
  message.account = account.id;
  if (hold_for_sender) message.held_reason = std::string(kSenderNotAllowed);
  message.sender = std::move(prepared->sender);
  message.recipients = std::move(prepared->recipients);
  message.body = std::move(prepared->body);
  message.subject = std::move(prepared->subject);
  message.script = std::move(prepared->script);
  message.message_id = std::move(prepared->message_id);
  message.uid = uid;
  message.received_at = context.now;
  message.scan = config_.scan.enabled();
  message.via = context.protocol == "local"   ? "drop-in"
                : context.protocol == "ESMTP" ? "local SMTP"
                                              : "SMTP";
  if (prepared->from_addresses.size() == 1) message.from = prepared->from_addresses[0];
  const std::string from = message.sender;
  const std::string from_header =
      prepared->from_addresses.size() == 1 ? prepared->from_addresses[0] : std::string();
  const std::string to = JoinRecipients(message.recipients);
  const std::string script = message.script;
  std::vector<std::string> recipients;
  if (limits && limits->limits.unique_recipients_per_hour > 0) recipients = message.recipients;
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
  if (hold_for_sender) {
    spdlog::warn("id={} account={} {} from=<{}> to={} size={} result=held reason=\"{}\"", *id,
                 account.name, client, from, to, size, kSenderNotAllowed);
    if (sender_hooks_.held) sender_hooks_.held();
  } else {
    spdlog::info("id={} account={} {} from=<{}> to={} size={} result=queued", *id, account.name,
                 client, from, to, size);
  }
  if (limits) {
    if (limits->limits.over_limit == OverLimit::kRefuse) {
      CountSubmitted(account.id, {.sender = from, .from = from_header, .script = script},
                     context.now);
    } else {
      submitted_.erase(account.id);  // no longer judged here
    }
    if (on_recipients_ && !recipients.empty())
      on_recipients_(account.id, recipients, limits->limits);
  }
  if (on_accepted_) on_accepted_(account.id, *id);
  co_return *id;
}

std::optional<Error> MailIntake::RefusedByLimits(AccountId account, const SendLimits& limits,
                                                 std::size_t recipients, const MessageKeys& keys,
                                                 TimePoint now) {
  if (limits.max_recipients > 0 && static_cast<std::int64_t>(recipients) > limits.max_recipients) {
    return Error{ErrorCode::kInvalidInput,
                 fmt::format("the message has {} recipients, more than the {} a message may have "
                             "(policy.max_recipients)",
                             recipients, limits.max_recipients)};
  }
  if (limits.over_limit != OverLimit::kRefuse) return std::nullopt;
  const auto it = submitted_.find(account);
  if (it == submitted_.end()) return std::nullopt;
  const Submitted& s = it->second;
  auto over = [](std::string_view key, std::int64_t limit) {
    return Error{ErrorCode::kOverLimit,
                 fmt::format("sending limit reached ({} = {}); try again later", key, limit)};
  };
  if (limits.max_per_hour > 0 && s.hour.Count(now) >= limits.max_per_hour) {
    return over("policy.max_per_hour", limits.max_per_hour);
  }
  if (limits.max_per_day > 0 && now < s.today.end && s.today_count >= limits.max_per_day) {
    return over("policy.max_per_day", limits.max_per_day);
  }
  if (auto hit = s.finer.Check(limits, keys, now)) {
    return over("policy." + std::string(hit->key), hit->limit);
  }
  return std::nullopt;
}

void MailIntake::CountSubmitted(AccountId account, const MessageKeys& keys, TimePoint now) {
  Submitted& s = submitted_[account];
  s.hour.Add(now);
  if (now >= s.today.end) {
    s.today = LocalDayAround(now);
    s.today_count = 0;
  }
  ++s.today_count;
  s.finer.Count(keys, now);
}

}  // namespace mailwarden
