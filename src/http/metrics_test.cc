#include "http/metrics.h"

#include <gtest/gtest.h>

namespace mailwarden {
namespace {

bool Has(const std::string& text, std::string_view line) {
  return text.find(std::string(line) + "\n") != std::string::npos;
}

TEST(Metrics, RendersStoreTotalsAndCountersInTheExpositionFormat) {
  Metrics m;
  m.OnDeferred(3);
  m.OnGuardBlock(BlockedBy::kSpamGuard);
  m.OnGuardBlock(BlockedBy::kCustomer);  // not a guard
  m.ObserveDeliveryLatency(0.05);
  m.ObserveDeliveryLatency(1.5);
  m.ObserveDeliveryLatency(100000);
  m.OnReceiveWait();
  m.OnReceiveWait();
  m.OnSendWait();
  const std::string text = m.Render(
      {.held = 4, .queued = 2, .submitted = 10, .sent = 7, .errors = 3, .expired = 1, .purged = 5});
  EXPECT_TRUE(Has(text, "# TYPE mailwarden_submitted_total counter")) << text;
  EXPECT_TRUE(Has(text, "mailwarden_submitted_total 10"));
  EXPECT_TRUE(Has(text, "mailwarden_delivered_total 7"));
  EXPECT_TRUE(Has(text, "mailwarden_failed_total 2"));
  EXPECT_TRUE(Has(text, "mailwarden_expired_total 1"));
  EXPECT_TRUE(Has(text, "mailwarden_purged_total 5"));
  EXPECT_TRUE(Has(text, "mailwarden_deferred_total 3"));
  EXPECT_TRUE(Has(text, "mailwarden_queue_messages{state=\"queued\"} 2"));
  EXPECT_TRUE(Has(text, "mailwarden_queue_messages{state=\"held\"} 4"));
  EXPECT_TRUE(Has(text, "mailwarden_guard_blocks_total{guard=\"spam_guard\"} 1"));
  EXPECT_TRUE(Has(text, "mailwarden_guard_blocks_total{guard=\"bounce_guard\"} 0"));
  EXPECT_TRUE(Has(text, "mailwarden_receive_waits_total 2"));
  EXPECT_TRUE(Has(text, "mailwarden_send_waits_total 1"));
  EXPECT_TRUE(Has(text, "mailwarden_delivery_latency_seconds_bucket{le=\"0.1\"} 1"));
  EXPECT_TRUE(Has(text, "mailwarden_delivery_latency_seconds_bucket{le=\"1\"} 1"));
  EXPECT_TRUE(Has(text, "mailwarden_delivery_latency_seconds_bucket{le=\"2\"} 2"));
  EXPECT_TRUE(Has(text, "mailwarden_delivery_latency_seconds_bucket{le=\"86400\"} 2"));
  EXPECT_TRUE(Has(text, "mailwarden_delivery_latency_seconds_bucket{le=\"+Inf\"} 3"));
  EXPECT_TRUE(Has(text, "mailwarden_delivery_latency_seconds_count 3"));
  EXPECT_TRUE(Has(text, "mailwarden_delivery_latency_seconds_sum 100001.550"));
}

}  // namespace
}  // namespace mailwarden
