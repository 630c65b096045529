#include "scan/scanner.h"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace mailwarden {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {
// With nothing known to wait, the pass starts again after this: mail stored by another node
// (PostgreSQL) is found within it.
constexpr auto kIdlePass = seconds(5);
constexpr auto kFirstRetry = seconds(1);
constexpr auto kLastRetry = seconds(30);
}  // namespace

Scanner::Scanner(asio::any_io_executor ex, const Config& config, StoreRunner& store,
                 const Clock& clock, Hooks hooks)
    : ex_(ex),
      config_(config),
      store_(store),
      clock_(clock),
      hooks_(std::move(hooks)),
      client_(ex, config),
      wake_(ex),
      retry_delay_(kFirstRetry) {}

void Scanner::Wake() {
  woken_ = true;
  wake_.cancel();
}

void Scanner::Stop() {
  stopping_ = true;
  wake_.cancel();
}

asio::awaitable<void> Scanner::Sleep(std::chrono::steady_clock::duration most) {
  if (woken_ || stopping_) {
    woken_ = false;
    co_return;
  }
  wake_.expires_after(most);
  co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));  // woken or timed out
  woken_ = false;
}

asio::awaitable<void> Scanner::Run() {
  spdlog::info("scan: outgoing mail is scanned by Rspamd at {} (on_error = {})",
               config_.scan.rspamd,
               config_.scan.on_error == Config::ScanOnError::kHold ? "hold" : "deliver");
  while (!stopping_) {
    const int room = config_.scan.concurrency - running_;
    if (room <= 0) {
      co_await Sleep(kIdlePass);  // a scan ending wakes this
      continue;
    }
    if (held_back_) {
      // Rspamd failed in the last pass: wait before asking it again, from the oldest.
      held_back_ = false;
      cursor_ = 0;
      co_await Sleep(retry_delay_);
      retry_delay_ = std::min<std::chrono::steady_clock::duration>(retry_delay_ * 2, kLastRetry);
      if (stopping_) break;
    }
    const MessageId after = cursor_;
    auto page = co_await store_.AsyncRead<std::vector<UnscannedMessage>>(
        [after, room](Store& s) { return s.ListUnscanned(after, room); }, asio::use_awaitable);
    if (!page) {
      spdlog::error("scan: cannot read the mail waiting for a scan: {}", page.error().message);
      co_await Sleep(kIdlePass);
      continue;
    }
    for (UnscannedMessage& m : *page) {
      cursor_ = m.id;
      if (!in_flight_.insert(m.id).second) continue;
      ++running_;
      asio::co_spawn(ex_, ScanOne(std::move(m)), asio::detached);
    }
    if (static_cast<int>(page->size()) < room) {
      // The end of the waiting mail: the next pass starts from the oldest again (what a
      // failed scan left waiting, with "hold").
      cursor_ = 0;
      co_await Sleep(kIdlePass);
    }
  }
  asio::steady_timer poll(ex_);
  while (running_ > 0) {
    poll.expires_after(milliseconds(20));
    co_await poll.async_wait(asio::use_awaitable);
  }
}

asio::awaitable<void> Scanner::ScanOne(UnscannedMessage message) {
  const auto started = std::chrono::steady_clock::now();
  const AccountId account = message.account;
  const MessageId id = message.id;
  auto finish = [this, id] {
    in_flight_.erase(id);
    --running_;
    Wake();
  };
  auto body = co_await store_.AsyncRead<std::optional<std::string>>(
      [account, id](Store& s) { return s.GetUnscannedBody(account, id); }, asio::use_awaitable);
  if (!body || !*body) {
    // Gone meanwhile (a verdict of another node, a purge, a deletion), or the store failed:
    // the next pass sees.
    finish();
    co_return;
  }
  auto result = co_await client_.Check(message, std::move(**body));
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ScanVerdict verdict{
      .account = account, .id = id, .quarantine = false, .suspicious = false, .result = {}};
  std::optional<ScanOutcome> outcome;
  if (result) {
    outcome = OutcomeOfAction(result->action);
    verdict.quarantine = *outcome == ScanOutcome::kQuarantine;
    verdict.suspicious = *outcome == ScanOutcome::kSuspicious;
    verdict.result = std::move(*result);
    retry_delay_ = kFirstRetry;
  } else {
    if (hooks_.on_error) hooks_.on_error();
    if (config_.scan.on_error == Config::ScanOnError::kHold) {
      spdlog::warn("account={} id={} scan=error result=waiting reason=\"{}\"", message.account_name,
                   id, result.error().message);
      held_back_ = true;
      finish();
      co_return;
    }
    spdlog::warn("account={} id={} scan=error result=unscanned reason=\"{}\"", message.account_name,
                 id, result.error().message);
  }
  const TimePoint now = clock_.Now();
  auto applied = co_await store_.AsyncRun<bool>(
      [&verdict, now](Store& s) { return s.RecordVerdict(verdict, now); }, asio::use_awaitable);
  if (!applied) {
    spdlog::error("account={} id={} scan: cannot store the verdict: {}", message.account_name, id,
                  applied.error().message);
  } else if (*applied) {
    if (verdict.result) {
      std::string symbols;
      for (const std::string& s : verdict.result->symbols) {
        symbols += symbols.empty() ? s : "," + s;
      }
      spdlog::info("account={} id={} scan={} score={:.2f} action=\"{}\" symbols={}",
                   message.account_name, id,
                   verdict.quarantine   ? "quarantined"
                   : verdict.suspicious ? "suspicious"
                                        : "clean",
                   verdict.result->score, verdict.result->action, symbols);
    }
    if (hooks_.on_verdict) hooks_.on_verdict(account, outcome, took);
    if (!verdict.quarantine && hooks_.on_let_go) hooks_.on_let_go();
  }
  finish();
}

}  // namespace mailwarden
