// Scanner: hands every message stored while scanning is on to Rspamd, after it was stored and
// acknowledged, and records the verdict (docs/scanning.md). Until then the message is queued
// but never due: the scheduler does not see it. Mail of blocked accounts is scanned too (it
// stays held), so the customer sees which held mail is spam.
//
// It finds waiting mail through the store's index of it (Store::ListUnscanned), in id order,
// a page at a time, never by reading the queue; at most scan.concurrency scans run at once,
// each holding one body, so a slow or dead Rspamd bounds memory and never touches submission.
// When Rspamd cannot answer: with scan.on_error = "deliver" the message goes out unscanned
// (counted as a scan error); with "hold" it keeps waiting, and the pass stops and is tried
// again after a delay (1s, doubling up to 30s), so a dead Rspamd is not asked once per
// message. Several nodes may scan one message at once (PostgreSQL); only the first verdict
// counts (RecordVerdict applies to waiting mail only).
//
// Runs on the daemon's io_context; Wake() and Stop() are called from it.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "config/config.h"
#include "core/scan_verdict.h"
#include "scan/rspamd_client.h"
#include "store/store_runner.h"

namespace mailwarden {

class Scanner {
 public:
  struct Hooks {
    // A verdict was recorded for a message of the account (nullopt: sent unscanned after a
    // scan error), the scan having taken `seconds`.
    std::function<void(AccountId, std::optional<ScanOutcome>, double seconds)> on_verdict;
    // A scan failed (Rspamd unreachable, too slow, or a reply that is no verdict).
    std::function<void()> on_error;
    // Mail was let go: delivery may have something new to claim.
    std::function<void()> on_let_go;
  };

  Scanner(boost::asio::any_io_executor ex, const Config& config, StoreRunner& store,
          const Clock& clock, Hooks hooks);

  // Scans until Stop(); returns once the scans in flight have ended.
  boost::asio::awaitable<void> Run();
  // New mail was stored: look for it now.
  void Wake();
  void Stop();

 private:
  boost::asio::awaitable<void> ScanOne(UnscannedMessage message);
  // Writes the verdicts gathered so far in one transaction, and again while more came
  // meanwhile (as the scheduler records outcomes): the store's writer is not asked once per
  // message.
  boost::asio::awaitable<void> FlushVerdicts();
  struct Pending {
    ScanVerdict verdict;
    std::string account_name;
    std::optional<ScanOutcome> outcome;
    double seconds = 0;
  };
  boost::asio::awaitable<void> Sleep(std::chrono::steady_clock::duration most);

  boost::asio::any_io_executor ex_;
  const Config& config_;
  StoreRunner& store_;
  const Clock& clock_;
  Hooks hooks_;
  RspamdClient client_;
  boost::asio::steady_timer wake_;
  bool woken_ = false;
  bool stopping_ = false;
  int running_ = 0;  // scans holding a body or waiting for Rspamd
  // Being scanned or with a verdict not written yet: not to be scanned again.
  std::unordered_set<MessageId> in_flight_;
  std::vector<Pending> pending_;
  bool flushing_ = false;
  MessageId cursor_ = 0;  // the pass goes on after this id
  // scan.on_error = "hold": a scan failed in this pass; the next waits retry_delay_.
  bool held_back_ = false;
  std::chrono::steady_clock::duration retry_delay_{};
};

}  // namespace mailwarden
