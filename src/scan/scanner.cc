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
  while (running_ > 0 || flushing_) {
    poll.expires_after(milliseconds(20));
    co_await poll.async_wait(asio::use_awaitable);
  }
}

asio::awaitable<void> Scanner::ScanOne(UnscannedMessage message) {
  const auto started = std::chrono::steady_clock::now();
  const AccountId account = message.account;
  const MessageId id = message.id;
  auto free_slot = [this] {
    --running_;
    Wake();
  };
  auto body = co_await store_.AsyncRead<std::optional<std::string>>(
      [account, id](Store& s) { return s.GetUnscannedBody(account, id); }, asio::use_awaitable);
  if (!body || !*body) {
    // Gone meanwhile (a verdict of another node, a purge, a deletion), or the store failed:
    // the next pass sees.
    in_flight_.erase(id);
    free_slot();
    co_return;
  }
  auto result = co_await client_.Check(message, std::move(**body));
  body->reset();
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  Pending p{.verdict = {.account = account,
                        .id = id,
                        .quarantine = false,
                        .suspicious = false,
                        .result = {}},
            .account_name = message.account_name,
            .outcome = {},
            .seconds = took};
  if (result) {
    p.outcome = OutcomeOfAction(result->action);
    p.verdict.quarantine = *p.outcome == ScanOutcome::kQuarantine;
    p.verdict.suspicious = *p.outcome == ScanOutcome::kSuspicious;
    p.verdict.result = std::move(*result);
    retry_delay_ = kFirstRetry;
  } else {
    if (hooks_.on_error) hooks_.on_error();
    if (config_.scan.on_error == Config::ScanOnError::kHold) {
      spdlog::warn("account={} id={} scan=error result=waiting reason=\"{}\"", message.account_name,
                   id, result.error().message);
      held_back_ = true;
      in_flight_.erase(id);
      free_slot();
      co_return;
    }
    spdlog::warn("account={} id={} scan=error result=unscanned reason=\"{}\"", message.account_name,
                 id, result.error().message);
  }
  pending_.push_back(std::move(p));
  free_slot();
  if (!flushing_) co_await FlushVerdicts();
}

asio::awaitable<void> Scanner::FlushVerdicts() {
  flushing_ = true;
  while (!pending_.empty()) {
    std::vector<Pending> batch = std::move(pending_);
    pending_.clear();
    std::vector<ScanVerdict> verdicts;
    verdicts.reserve(batch.size());
    for (const Pending& p : batch) verdicts.push_back(p.verdict);
    const TimePoint now = clock_.Now();
    auto applied = co_await store_.AsyncRun<std::vector<bool>>(
        [&verdicts, now](Store& s) { return s.RecordVerdicts(verdicts, now); },
        asio::use_awaitable);
    if (!applied) {
      // Left waiting: the next pass scans them again.
      spdlog::error("scan: cannot store {} verdicts: {}", batch.size(), applied.error().message);
    }
    bool let_go = false;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const Pending& p = batch[i];
      in_flight_.erase(p.verdict.id);
      if (!applied || !(*applied)[i]) continue;
      if (p.verdict.result) {
        std::string symbols;
        for (const std::string& s : p.verdict.result->symbols) {
          symbols += symbols.empty() ? s : "," + s;
        }
        spdlog::info("account={} id={} scan={} score={:.2f} action=\"{}\" symbols={}",
                     p.account_name, p.verdict.id,
                     p.verdict.quarantine   ? "quarantined"
                     : p.verdict.suspicious ? "suspicious"
                                            : "clean",
                     p.verdict.result->score, p.verdict.result->action, symbols);
      }
      if (hooks_.on_verdict) hooks_.on_verdict(p.verdict.account, p.outcome, p.seconds);
      if (!p.verdict.quarantine) let_go = true;
    }
    if (let_go && hooks_.on_let_go) hooks_.on_let_go();
  }
  flushing_ = false;
}

}  // namespace mailwarden
