// Store conformance: feedback-loop complaints (RecordComplaint).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "core/local_day.h"
#include "store/conformance/store_conformance.h"
#include "store/store.h"

namespace mailwarden::conformance {
namespace {

using std::chrono::minutes;

TEST_P(StoreConformance, AComplaintCountsOnItsDayWithItsEvent) {
  const AccountId id = MakeAccount("demo");
  const AccountId other = MakeAccount("other");
  auto ids = Insert({Message(id, kT0, {"reader@mailbox.example"}, "offers")});
  auto claimed = Claim(kT0);
  ASSERT_EQ(claimed.size(), 1u);
  Record({DeliveryOutcome{
             .id = ids[0],
             .recipients = {{.index = 0, .status = RecipientStatus::kSent, .reply = "250 ok"}}}},
         kT0 + minutes(1));

  auto r = store_->RecordComplaint({.message = ids[0], .account = id, .feedback_type = "abuse"},
                                   kT0 + minutes(5));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_TRUE(r->found);
  EXPECT_EQ(r->account_name, "demo");
  EXPECT_EQ(r->complaints_today, 1);
  EXPECT_EQ(r->sent_today, 1);
  EXPECT_FALSE(r->duplicate);
  // The same report again (or another reporter's about the same message) counts nothing.
  auto again = store_->RecordComplaint({.message = ids[0], .account = id, .feedback_type = "abuse"},
                                       kT0 + minutes(6));
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_TRUE(again->found);
  EXPECT_TRUE(again->duplicate);
  EXPECT_FALSE(again->blocked.has_value());

  EXPECT_EQ(GetCounters(id).complaints_today, 1);
  auto days = store_->GetVolumes(id, LocalDayNumber(kT0), LocalDayNumber(kT0));
  ASSERT_TRUE(days.has_value());
  ASSERT_EQ(days->size(), 1u);
  EXPECT_EQ((*days)[0].complaints, 1);

  // Its event, in the outbox with it; none for the second report.
  auto events = store_->ClaimEvents("n1", kT0 + minutes(7), kT0 + minutes(8), 10);
  ASSERT_TRUE(events.has_value()) << events.error().message;
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].type, "complaint");
  const auto data = nlohmann::json::parse((*events)[0].data);
  EXPECT_EQ(data["message"], ids[0]);
  EXPECT_EQ(data["feedback_type"], "abuse");
  EXPECT_EQ(data["subject"], "offers");

  // Another account's claim, or no message: nothing.
  auto wrong = store_->RecordComplaint({.message = ids[0], .account = other}, kT0 + minutes(9));
  ASSERT_TRUE(wrong.has_value());
  EXPECT_FALSE(wrong->found);
  auto none = store_->RecordComplaint({.message = ids[0] + 1000, .account = id}, kT0);
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->found);
  EXPECT_EQ(GetCounters(id).complaints_today, 1);
  EXPECT_EQ(GetCounters(other).complaints_today, 0);
}

}  // namespace
}  // namespace mailwarden::conformance
