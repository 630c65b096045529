// ReportScheduler: sends the daily error reports (DESIGN.md promise 5). Each day at report.at
// (local time) it sends the previous day's reports; at start, and at every wake-up, it also
// sends those of the last kCatchUpDays days that are due and were never sent (the daemon was
// down at report.at). A report goes to the account's report_to, through the normal queue as
// mail of the internal account; accounts without a report_to, and the internal account, get
// none.
//
// Exactly once: Store::ClaimReport stores the (account, day) claim and the report's message in
// one transaction, so running a day again (a restart, the API, another node) sends nothing
// twice, and a crash loses nothing.
//
// Runs on the daemon's io_context; Run, RunDay and Stop are called from that thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>

#include "config/config.h"
#include "store/store_runner.h"

namespace mailwarden {

class ReportScheduler {
 public:
  // Reports of at most this many past days are sent late.
  static constexpr int kCatchUpDays = 7;

  // queued is called after a report is stored, to wake delivery.
  ReportScheduler(boost::asio::any_io_executor ex, const Config& config, StoreRunner& store,
                  const Clock& clock, std::function<void()> queued);

  // Sends due reports (catching up), then each day's at report.at, until Stop().
  boost::asio::awaitable<void> Run();
  void Stop();

  // Sends the reports of local day `day` (YYYYMMDD) not sent yet; completes with how many this
  // call sent. An account whose report fails to compose or store is logged and skipped (its
  // report stays unsent, to be tried again); a store failure to list the day is returned.
  boost::asio::awaitable<Result<int>> RunDay(int day);

  // The last local day whose reports are due at now: yesterday once report.at has passed
  // today, else the day before.
  int LastDueDay(TimePoint now) const;

 private:
  boost::asio::any_io_executor ex_;
  const Config& config_;
  StoreRunner& store_;
  const Clock& clock_;
  std::function<void()> queued_;
  boost::asio::steady_timer timer_;
  AccountId system_account_ = 0;
  bool stopping_ = false;
};

}  // namespace mailwarden
