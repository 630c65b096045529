// Metrics: what GET /metrics shows, in the Prometheus text exposition format.
//
// Two sources. The store's counters (submitted, delivered, failed, expired, purged, and the
// queue's depth) are read at each scrape (Store::GetTotals): durable, and the same on every
// node. What the store does not keep is counted here, in memory since the daemon started,
// fed by hooks: deferred attempts, the delivery latency histogram (seconds from receipt to
// the final outcome), guard blocks, reports sent, large messages that waited for room to be
// received and claims that waited for room to deliver, and new mail refused for want of room
// (an account's storage quota, or the store's disk).
//
// The hooks may be called from any thread (atomics); Render is pure.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "core/failure_category.h"
#include "store/store.h"

namespace mailwarden {

class Metrics {
 public:
  // Upper bounds (seconds) of the latency histogram's buckets; +Inf follows.
  static constexpr std::array<double, 12> kLatencyBuckets = {0.1, 0.5, 1,   2,   5,    10,
                                                             30,  60,  300, 900, 3600, 86400};

  // A recipient's attempt was deferred (4xx, or the relay could not be reached).
  void OnDeferred(std::int64_t recipients = 1) { deferred_ += recipients; }
  // A recipient failed, at hand-over or in a bounce that came later (or was suppressed).
  void OnFailure(FailureCategory category) { ++failures_[static_cast<std::size_t>(category)]; }
  // A message reached its final outcome this long after it was received.
  void ObserveDeliveryLatency(double seconds);
  // A guard (spam_guard, bounce_guard or complaint_guard) blocked an account.
  void OnGuardBlock(BlockedBy guard);
  void OnReportsSent(std::int64_t reports) { reports_sent_ += reports; }
  // A message past 256 KiB waited before more of it was read (submit.max_receiving_bytes).
  void OnReceiveWait() { ++receive_waits_; }
  // A claim left due mail queued for want of room (delivery.max_sending_bytes).
  void OnSendWait() { ++send_waits_; }
  // A batch of new mail was stored or refused: how many of its messages were refused for
  // their account's storage quota, and how many for the store's want of room (whose gauge
  // then shows 1 until a batch is stored again).
  void OnStoreRoom(std::int64_t over_quota, std::int64_t short_of_room) {
    refused_over_quota_ += over_quota;
    refused_short_of_room_ += short_of_room;
    short_of_room_ = short_of_room > 0;
  }

  // Content scanning: a verdict was stored (how: clean, suspicious, quarantined; unscanned
  // after a scan error), the scan having taken `seconds`; a scan failed.
  enum class ScanCount { kClean, kSuspicious, kQuarantined, kUnscanned };
  void OnScanned(ScanCount kind, double seconds);
  void OnScanError() { ++scan_errors_; }
  // The From check (policy.sender_check) held or refused a message whose sender domain is not
  // its account's.
  void OnSenderHeld() { ++sender_held_; }
  void OnSenderRefused() { ++sender_refused_; }
  // A message left signed with DKIM, or could not be signed (it left unsigned).
  void OnDkimSigned() { ++dkim_signed_; }
  void OnDkimFailed() { ++dkim_failed_; }

  // The exposition text: the store's totals (as read now) and the in-memory counters.
  std::string Render(const StoreTotals& totals) const;

 private:
  std::atomic<std::int64_t> deferred_{0};
  std::array<std::atomic<std::int64_t>, kFailureCategoryCount> failures_{};  // by FailureCategory
  std::atomic<std::int64_t> spam_guard_blocks_{0};
  std::atomic<std::int64_t> bounce_guard_blocks_{0};
  std::atomic<std::int64_t> complaint_guard_blocks_{0};
  std::atomic<std::int64_t> reports_sent_{0};
  std::atomic<std::int64_t> receive_waits_{0};
  std::atomic<std::int64_t> send_waits_{0};
  std::atomic<std::int64_t> refused_over_quota_{0};
  std::atomic<std::int64_t> refused_short_of_room_{0};
  std::atomic<bool> short_of_room_{false};
  std::atomic<std::int64_t> sender_held_{0};
  std::atomic<std::int64_t> sender_refused_{0};
  std::atomic<std::int64_t> dkim_signed_{0};
  std::atomic<std::int64_t> dkim_failed_{0};
  std::array<std::atomic<std::int64_t>, kLatencyBuckets.size() + 1> latency_buckets_{};
  std::atomic<std::int64_t> latency_count_{0};
  std::atomic<std::int64_t> latency_sum_ms_{0};
  std::array<std::atomic<std::int64_t>, 4> scanned_{};
  std::atomic<std::int64_t> scan_errors_{0};
  std::atomic<std::int64_t> scan_count_{0};
  std::atomic<std::int64_t> scan_sum_ms_{0};
};

}  // namespace mailwarden
