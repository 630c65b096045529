#include "http/metrics.h"

#include <fmt/format.h>

#include <cmath>

namespace mailwarden {

void Metrics::ObserveDeliveryLatency(double seconds) {
  if (!(seconds >= 0)) seconds = 0;  // a clock step back, or NaN
  std::size_t bucket = 0;
  while (bucket < kLatencyBuckets.size() && seconds > kLatencyBuckets[bucket]) ++bucket;
  ++latency_buckets_[bucket];
  ++latency_count_;
  latency_sum_ms_ += static_cast<std::int64_t>(std::llround(seconds * 1000));
}

void Metrics::OnGuardBlock(BlockedBy guard) {
  if (guard == BlockedBy::kSpamGuard) ++spam_guard_blocks_;
  if (guard == BlockedBy::kBounceGuard) ++bounce_guard_blocks_;
  if (guard == BlockedBy::kComplaintGuard) ++complaint_guard_blocks_;
}

void Metrics::OnScanned(ScanCount kind, double seconds) {
  ++scanned_[static_cast<std::size_t>(kind)];
  if (kind == ScanCount::kUnscanned) return;
  if (!(seconds >= 0)) seconds = 0;
  ++scan_count_;
  scan_sum_ms_ += static_cast<std::int64_t>(std::llround(seconds * 1000));
}

std::string Metrics::Render(const StoreTotals& t) const {
  std::string out;
  auto counter = [&out](std::string_view name, std::string_view help, std::int64_t value) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} counter\n{0} {2}\n", name, help, value);
  };
  counter("mailwarden_submitted_total", "Messages accepted from scripts (and system mail).",
          t.submitted);
  counter("mailwarden_delivered_total",
          "Messages finished with at least one recipient accepted by the relay.", t.sent);
  counter("mailwarden_failed_total", "Failed deliveries, one per recipient (expired excluded).",
          std::max<std::int64_t>(0, t.errors - t.expired));
  counter("mailwarden_expired_total", "Held messages that expired unsent.", t.expired);
  counter("mailwarden_purged_total", "Held messages deleted by a purge or a selective delete.",
          t.purged);
  counter("mailwarden_deferred_total",
          "Recipient attempts deferred (temporary failure), since the daemon started.",
          deferred_.load());
  out +=
      "# HELP mailwarden_bounces_total Failed recipients by category, at hand-over or in a "
      "bounce that came later, since the daemon started (expired messages: "
      "mailwarden_expired_total).\n# TYPE mailwarden_bounces_total counter\n";
  for (const FailureCategory c : AllFailureCategories()) {
    if (c == FailureCategory::kExpired) continue;
    out += fmt::format("mailwarden_bounces_total{{category=\"{}\"}} {}\n", FailureCategoryName(c),
                       failures_[static_cast<std::size_t>(c)].load());
  }
  out +=
      "# HELP mailwarden_queue_messages Unfinished messages by state.\n"
      "# TYPE mailwarden_queue_messages gauge\n";
  out += fmt::format("mailwarden_queue_messages{{state=\"queued\"}} {}\n", t.queued);
  out += fmt::format("mailwarden_queue_messages{{state=\"held\"}} {}\n", t.held);
  out +=
      "# HELP mailwarden_guard_blocks_total Accounts blocked by a guard, since the daemon "
      "started.\n# TYPE mailwarden_guard_blocks_total counter\n";
  out += fmt::format("mailwarden_guard_blocks_total{{guard=\"spam_guard\"}} {}\n",
                     spam_guard_blocks_.load());
  out += fmt::format("mailwarden_guard_blocks_total{{guard=\"bounce_guard\"}} {}\n",
                     bounce_guard_blocks_.load());
  out += fmt::format("mailwarden_guard_blocks_total{{guard=\"complaint_guard\"}} {}\n",
                     complaint_guard_blocks_.load());
  counter("mailwarden_receive_waits_total",
          "Large messages that waited for room before more of them was read, since the daemon "
          "started (submit.max_receiving_bytes).",
          receive_waits_.load());
  counter("mailwarden_send_waits_total",
          "Claims that left due mail queued until deliveries in progress ended, since the daemon "
          "started (delivery.max_sending_bytes).",
          send_waits_.load());
  out +=
      "# HELP mailwarden_refused_no_room_total New messages told to try again later for want of "
      "room, since the daemon started: an account over its storage quota "
      "(store.max_held_bytes_per_account, store.max_held_messages_per_account), or the store "
      "short of disk space (store.min_free_space, or a full disk).\n"
      "# TYPE mailwarden_refused_no_room_total counter\n";
  out += fmt::format("mailwarden_refused_no_room_total{{reason=\"account_quota\"}} {}\n",
                     refused_over_quota_.load());
  out += fmt::format("mailwarden_refused_no_room_total{{reason=\"store_disk\"}} {}\n",
                     refused_short_of_room_.load());
  out +=
      "# HELP mailwarden_store_short_of_room 1 while the store refuses new mail for want of disk "
      "space, else 0.\n# TYPE mailwarden_store_short_of_room gauge\n";
  out += fmt::format("mailwarden_store_short_of_room {}\n", short_of_room_.load() ? 1 : 0);
  out +=
      "# HELP mailwarden_sender_check_total Messages whose From or envelope sender domain was "
      "not their account's (policy.sender_check), held or refused, since the daemon started.\n"
      "# TYPE mailwarden_sender_check_total counter\n";
  out += fmt::format("mailwarden_sender_check_total{{outcome=\"held\"}} {}\n", sender_held_.load());
  out += fmt::format("mailwarden_sender_check_total{{outcome=\"refused\"}} {}\n",
                     sender_refused_.load());
  out +=
      "# HELP mailwarden_dkim_total Messages handed to the relay signed with DKIM, or left "
      "unsigned because signing failed, since the daemon started.\n"
      "# TYPE mailwarden_dkim_total counter\n";
  out += fmt::format("mailwarden_dkim_total{{outcome=\"signed\"}} {}\n", dkim_signed_.load());
  out += fmt::format("mailwarden_dkim_total{{outcome=\"failed\"}} {}\n", dkim_failed_.load());
  counter("mailwarden_reports_sent_total", "Daily error reports queued, since the daemon started.",
          reports_sent_.load());
  out +=
      "# HELP mailwarden_delivery_latency_seconds Seconds from receipt to a message's final "
      "outcome, since the daemon started.\n"
      "# TYPE mailwarden_delivery_latency_seconds histogram\n";
  std::int64_t cumulative = 0;
  for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    cumulative += latency_buckets_[i].load();
    out += fmt::format("mailwarden_delivery_latency_seconds_bucket{{le=\"{}\"}} {}\n",
                       kLatencyBuckets[i], cumulative);
  }
  cumulative += latency_buckets_.back().load();
  out += fmt::format("mailwarden_delivery_latency_seconds_bucket{{le=\"+Inf\"}} {}\n", cumulative);
  out += fmt::format("mailwarden_delivery_latency_seconds_sum {:.3f}\n",
                     static_cast<double>(latency_sum_ms_.load()) / 1000);
  out += fmt::format("mailwarden_delivery_latency_seconds_count {}\n", latency_count_.load());
  out +=
      "# HELP mailwarden_scanned_total Messages given a verdict by the content scanner, by "
      "verdict (unscanned: sent without one after a scan error, scan.on_error = deliver), "
      "since the daemon started.\n# TYPE mailwarden_scanned_total counter\n";
  static constexpr std::array<std::string_view, 4> kVerdicts = {"clean", "suspicious",
                                                                "quarantined", "unscanned"};
  for (std::size_t i = 0; i < kVerdicts.size(); ++i) {
    out += fmt::format("mailwarden_scanned_total{{verdict=\"{}\"}} {}\n", kVerdicts[i],
                       scanned_[i].load());
  }
  counter("mailwarden_scan_errors_total",
          "Scans that failed (Rspamd unreachable, too slow or no verdict), since the daemon "
          "started.",
          scan_errors_.load());
  out +=
      "# HELP mailwarden_scan_seconds Seconds a scan took, reading the message to Rspamd's "
      "verdict, since the daemon started.\n# TYPE mailwarden_scan_seconds summary\n";
  out += fmt::format("mailwarden_scan_seconds_sum {:.3f}\n",
                     static_cast<double>(scan_sum_ms_.load()) / 1000);
  out += fmt::format("mailwarden_scan_seconds_count {}\n", scan_count_.load());
  return out;
}

}  // namespace mailwarden
