// Store conformance: plans (ListPlans, GetPlan, PutPlan, DeletePlan).
#include <gtest/gtest.h>

#include <string>

#include "core/account_name.h"
#include "store/conformance/store_conformance.h"
#include "store/store.h"

namespace mailwarden::conformance {
namespace {

using std::chrono::minutes;

PlanRecord Plan(std::string name, std::int64_t max_per_day) {
  PlanRecord plan{.name = std::move(name)};
  plan.limits.max_per_day = max_per_day;
  return plan;
}

TEST_P(StoreConformance, PlansArePutReplacedAndAudited) {
  auto none = store_->ListPlans();
  ASSERT_TRUE(none.has_value()) << none.error().message;
  EXPECT_TRUE(none->empty());
  auto missing = store_->GetPlan("small");
  ASSERT_TRUE(missing.has_value());
  EXPECT_FALSE(missing->has_value());

  auto created = store_->PutPlan(Plan("small", 200), "config", kT0);
  ASSERT_TRUE(created.has_value()) << created.error().message;
  EXPECT_EQ(*created, AccountPutOutcome::kCreated);
  PlanRecord big = Plan("big", 5000);
  big.limits.over_limit = OverLimit::kRefuse;
  ASSERT_TRUE(store_->PutPlan(big, "admin", kT0).has_value());

  // Replaced whole: a key not given again is unset.
  PlanRecord smaller{.name = "small"};
  smaller.limits.max_per_hour = 10;
  auto changed = store_->PutPlan(smaller, "admin", kT0 + minutes(1));
  ASSERT_TRUE(changed.has_value());
  EXPECT_EQ(*changed, AccountPutOutcome::kUpdated);
  auto same = store_->PutPlan(smaller, "admin", kT0 + minutes(2));
  ASSERT_TRUE(same.has_value());
  EXPECT_EQ(*same, AccountPutOutcome::kUnchanged);

  store_ = OpenOrDie();
  auto all = store_->ListPlans();
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "big");
  EXPECT_EQ((*all)[0].limits, big.limits);
  EXPECT_EQ((*all)[1].name, "small");
  EXPECT_EQ((*all)[1].limits, smaller.limits);
  auto one = store_->GetPlan("small");
  ASSERT_TRUE(one.has_value() && one->has_value());
  EXPECT_EQ((*one)->limits.max_per_day, std::nullopt);
  EXPECT_EQ((*one)->limits.max_per_hour, 10);

  // Three changes, three records, under the internal account; the unchanged put wrote none.
  auto audit = store_->ListAudit(std::nullopt, 10, 0);
  ASSERT_TRUE(audit.has_value()) << audit.error().message;
  ASSERT_EQ(audit->size(), 3u);
  EXPECT_EQ((*audit)[0].account_name, kSystemAccountName);
  EXPECT_EQ((*audit)[0].actor, "admin");
  EXPECT_EQ((*audit)[0].action, "CHANGE");
  EXPECT_EQ((*audit)[0].reason, "plan \"small\": max_per_hour=10");
  EXPECT_EQ((*audit)[0].at, kT0 + minutes(1));
  EXPECT_EQ((*audit)[2].actor, "config");
  EXPECT_EQ((*audit)[2].action, "CREATE");
}

TEST_P(StoreConformance, APlanInUseIsNotDeleted) {
  ASSERT_TRUE(store_->PutPlan(Plan("small", 200), "admin", kT0).has_value());
  const AccountId shop = MakeAccount("shop");
  const AccountId blog = MakeAccount("blog");
  ASSERT_TRUE(store_->SetAccountLimits({.account = shop, .plan = "small"}).has_value());
  ASSERT_TRUE(store_->SetAccountLimits({.account = blog, .plan = "small"}).has_value());

  auto refused = store_->DeletePlan("small", "admin", kT0);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict);
  EXPECT_NE(refused.error().message.find("2 accounts (\"blog\", \"shop\")"), std::string::npos)
      << refused.error().message;
  auto kept = store_->GetPlan("small");
  ASSERT_TRUE(kept.has_value());
  EXPECT_TRUE(kept->has_value());

  // A deleted account no longer holds the plan.
  ASSERT_TRUE(store_->SetAccountLimits({.account = shop, .plan = ""}).has_value());
  ASSERT_TRUE(store_->DeleteAccount("blog", false, "admin", kT0).has_value());
  auto deleted = store_->DeletePlan("small", "admin", kT0 + minutes(1));
  ASSERT_TRUE(deleted.has_value()) << deleted.error().message;
  auto gone = store_->GetPlan("small");
  ASSERT_TRUE(gone.has_value());
  EXPECT_FALSE(gone->has_value());
  auto audit = store_->ListAudit(std::nullopt, 1, 0);
  ASSERT_TRUE(audit.has_value());
  ASSERT_EQ(audit->size(), 1u);
  EXPECT_EQ((*audit)[0].action, "DELETE");
  EXPECT_EQ((*audit)[0].reason, "plan \"small\" deleted (it had: max_per_day=200)");

  auto again = store_->DeletePlan("small", "admin", kT0);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace mailwarden::conformance
