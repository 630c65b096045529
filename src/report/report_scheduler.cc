#include "report/report_scheduler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <ctime>
#include <limits>

#include "core/duration.h"
#include "core/local_day.h"
#include "mime/compose.h"
#include "report/daily_report.h"
#include "report/system_mail.h"

namespace mailwarden {
namespace asio = boost::asio;

namespace {

// The longest the loop sleeps: it wakes at least this often, so that a change of the clock
// (or of the time zone's offset) delays a report by no more than this.
constexpr auto kMaxSleep = std::chrono::hours(1);

// What one account's report is made of, read in one store job.
struct ReportInput {
  std::optional<Account> account;
  DailyVolume volume;
  std::vector<DeliveryError> rows;
  std::vector<StoredMessage> quarantine;  // the day's mail still in quarantine
  SenderCheckDay sender;
};

}  // namespace

ReportScheduler::ReportScheduler(asio::any_io_executor ex, const Config& config, StoreRunner& store,
                                 const Clock& clock, std::function<void()> queued)
    : ex_(ex),
      config_(config),
      store_(store),
      clock_(clock),
      queued_(std::move(queued)),
      timer_(ex) {}

int ReportScheduler::LastDueDay(TimePoint now) const {
  const int today = LocalDayNumber(now);
  const TimePoint send_at = LocalDayStart(today) + std::chrono::minutes(config_.report.at_minutes);
  // Yesterday's reports are due from today's report.at on.
  return LocalDayNumber(LocalDayStart(today, now >= send_at ? -1 : -2));
}

asio::awaitable<void> ReportScheduler::Run() {
  while (!stopping_) {
    const TimePoint now = clock_.Now();
    const int last = LastDueDay(now);
    // Oldest first: a daemon that was down for days sends its reports in the days' order.
    for (int back = kCatchUpDays - 1; back >= 0 && !stopping_; --back) {
      const int day = LocalDayNumber(LocalDayStart(last, -back));
      auto sent = co_await RunDay(day);
      if (!sent) spdlog::warn("reports: day {}: {}", FormatDay(day), sent.error().message);
    }
    const int today = LocalDayNumber(now);
    TimePoint next = LocalDayStart(today) + std::chrono::minutes(config_.report.at_minutes);
    if (next <= now)
      next = LocalDayStart(today, 1) + std::chrono::minutes(config_.report.at_minutes);
    const auto wait = std::min<std::chrono::nanoseconds>(next - now, kMaxSleep);
    timer_.expires_after(std::max<std::chrono::nanoseconds>(wait, std::chrono::seconds(1)));
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

void ReportScheduler::Stop() {
  stopping_ = true;
  timer_.cancel();
}

asio::awaitable<Result<int>> ReportScheduler::RunDay(int day) {
  if (system_account_ == 0) {
    auto found = co_await store_.AsyncRun<std::optional<Account>>(
        [&](Store& s) { return s.FindAccount(kSystemAccountName); }, asio::use_awaitable);
    if (!found) co_return std::unexpected(found.error());
    if (!*found) co_return Fail(ErrorCode::kInternal, "reports: the internal account is missing");
    system_account_ = (*found)->id;
  }
  auto accounts = co_await store_.AsyncRun<std::vector<AccountId>>(
      [&](Store& s) { return s.AccountsToReport(day); }, asio::use_awaitable);
  if (!accounts) co_return std::unexpected(accounts.error());

  const TimePoint day_start = LocalDayStart(day);
  // ListErrors lists newest first from a cursor: start just before the next day.
  const ErrorCursor day_end{.at = LocalDayStart(day, 1) - std::chrono::milliseconds(1),
                            .message = std::numeric_limits<MessageId>::max(),
                            .index = std::numeric_limits<int>::max()};
  int sent = 0;
  for (const AccountId id : *accounts) {
    auto input = co_await store_.AsyncRun<ReportInput>(
        [&](Store& s) -> Result<ReportInput> {
          ReportInput in;
          MW_ASSIGN_OR_RETURN(in.account, s.GetAccount(id));
          if (!in.account || in.account->report_to.empty() ||
              IsReservedAccountName(in.account->name)) {
            return in;
          }
          MW_ASSIGN_OR_RETURN(auto volumes, s.GetVolumes(id, day, day));
          if (!volumes.empty()) in.volume = volumes.front();
          MW_ASSIGN_OR_RETURN(
              in.rows, s.ListErrors(id, day_start, static_cast<int>(kMaxReportRows) + 1, day_end));
          if (in.volume.quarantined > 0) {
            // The day's messages still in quarantine: the newest first, the day's only.
            MW_ASSIGN_OR_RETURN(auto quarantine,
                                s.ListQuarantined(id, static_cast<int>(kMaxReportQuarantined), 0));
            for (StoredMessage& m : quarantine) {
              if (m.received_at >= day_start && m.received_at <= day_end.at) {
                in.quarantine.push_back(std::move(m));
              }
            }
          }
          MW_ASSIGN_OR_RETURN(auto checks, s.GetSenderChecks(id, day, day));
          if (!checks.empty()) in.sender = checks.front();
          return in;
        },
        asio::use_awaitable);
    if (!input) {
      spdlog::warn("reports: account {} day {}: {}", id, FormatDay(day), input.error().message);
      continue;
    }
    if (!input->account || input->account->report_to.empty() ||
        IsReservedAccountName(input->account->name)) {
      continue;
    }
    const Account& account = *input->account;

    DailyReportData data;
    data.account_name = account.name;
    data.language = account.language;
    data.day = day;
    data.expired = input->volume.expired;
    data.failed = std::max<std::int64_t>(0, input->volume.errors - input->volume.expired);
    data.hold = FormatDuration(config_.policy.hold);
    data.sender_held = input->sender.held;
    data.sender_refused = input->sender.refused;
    data.rows = std::move(input->rows);
    data.quarantined = input->volume.quarantined;
    data.quarantine = std::move(input->quarantine);
    // Only the first rows were read: the counters say how many failures there were (an
    // expired message counts once there and once per recipient in the list, so this is a
    // lower bound when expired mail had several recipients).
    if (data.rows.size() > kMaxReportRows) {
      data.unread = std::max<std::int64_t>(
          0, data.failed + data.expired - static_cast<std::int64_t>(data.rows.size()));
    }
    const DailyReport report = RenderDailyReport(data);

    const TimePoint now = clock_.Now();
    OutgoingMail mail;
    mail.from = config_.report.from;
    mail.from_name = "mailwarden";
    mail.to = account.report_to;
    mail.subject = report.subject;
    mail.text = report.text;
    mail.html = report.html;
    mail.hostname = config_.hostname;
    mail.date = now;
    auto body = ComposeMessage(mail);
    if (!body) {
      spdlog::warn("reports: account {} day {}: {}", account.name, FormatDay(day),
                   body.error().message);
      continue;
    }
    NewMessage message;
    message.account = system_account_;
    message.via = kViaMailwarden;
    message.sender = mail.from;
    message.recipients = {mail.to};
    message.body = std::move(*body);
    message.subject = mail.subject;
    message.received_at = now;
    auto claimed = co_await store_.AsyncRun<std::optional<MessageId>>(
        [&](Store& s) { return s.ClaimReport(account.id, day, message, now); },
        asio::use_awaitable);
    if (!claimed) {
      spdlog::warn("reports: account {} day {}: {}", account.name, FormatDay(day),
                   claimed.error().message);
      continue;
    }
    if (!*claimed) continue;  // sent before, by this node or another
    ++sent;
    spdlog::info("id={} account={} report day={} to=<{}> failed={} expired={} result=queued",
                 **claimed, account.name, FormatDay(day), account.report_to, data.failed,
                 data.expired);
    if (queued_) queued_();
  }
  co_return sent;
}

}  // namespace mailwarden
