// Store conformance: suppressed recipients (policy.suppress_for).
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "core/local_day.h"
#include "store/conformance/store_conformance.h"
#include "store/store.h"

namespace mailwarden::conformance {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;

RecipientOutcome Sent(int index) {
  return {.index = index, .status = RecipientStatus::kSent, .reply = "250 queued"};
}

RecipientOutcome Failed(int index, std::string reply, std::string category) {
  return {.index = index,
          .status = RecipientStatus::kFailed,
          .reply = std::move(reply),
          .category = std::move(category)};
}

// Every pending recipient of a claimed message sent.
DeliveryOutcome AllSent(const ClaimedMessage& m) {
  DeliveryOutcome o{.id = m.id, .recipients = {}, .next_attempt = {}};
  for (const ClaimedRecipient& r : m.recipients) o.recipients.push_back(Sent(r.index));
  return o;
}

// The suppressed flags of a claimed message's recipients, by address.
std::map<std::string, std::string> SuppressedOf(const ClaimedMessage& m) {
  std::map<std::string, std::string> out;
  for (const ClaimedRecipient& r : m.recipients) {
    out[r.address] = r.suppressed ? r.suppressed->category + " " + r.suppressed->status : "";
  }
  return out;
}

TEST_P(StoreConformance, AFailedBadMailboxIsSuppressedForTheAccountUntilItRunsOut) {
  const AccountId id = MakeAccount("demo");
  const AccountId other = MakeAccount("other");
  auto ids = Insert({Message(id, kT0, {"Gone@Example.NET", "full@example.net", "ok@example.net"})});
  Claim(kT0);
  Record({DeliveryOutcome{
             .id = ids[0],
             .recipients = {Failed(0, "550 5.1.1 <Gone@Example.NET>: User unknown", "bad_mailbox"),
                            Failed(1, "552 5.2.2 over quota", "mailbox_full"), Sent(2)},
             .next_attempt = {},
             .suppress_for = days(30)}},
         kT0 + minutes(1));
  // Counted as any failure.
  EXPECT_EQ(GetCounters(id).errors, 2);

  auto list = store_->ListSuppressions(id, kT0 + hours(1), 10, "");
  ASSERT_TRUE(list.has_value()) << list.error().message;
  ASSERT_EQ(list->size(), 1u) << "a full mailbox is not suppressed";
  const Suppression& s = (*list)[0];
  EXPECT_EQ(s.address, "Gone@example.net");
  EXPECT_EQ(s.category, "bad_mailbox");
  EXPECT_EQ(s.status, "5.1.1");
  EXPECT_EQ(s.reply, "550 5.1.1 <Gone@Example.NET>: User unknown");
  EXPECT_EQ(s.message, ids[0]);
  EXPECT_EQ(s.at, kT0 + minutes(1));
  EXPECT_EQ(s.until, kT0 + minutes(1) + days(30));
  auto none = store_->ListSuppressions(other, kT0 + hours(1), 10, "");
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty()) << "suppression is the account's own";

  // The account's next message to the address (its domain in any case) is claimed with the
  // suppression; another recipient of it is not; another account's mail to it is not.
  auto next = Insert({Message(id, kT0 + hours(1), {"Gone@EXAMPLE.net", "ok@example.net"}),
                      Message(other, kT0 + hours(1), {"Gone@Example.NET"})});
  auto claimed = Claim(kT0 + hours(1));
  ASSERT_EQ(claimed.size(), 2u);
  for (const ClaimedMessage& m : claimed) {
    if (m.id == next[0]) {
      EXPECT_EQ(SuppressedOf(m),
                (std::map<std::string, std::string>{{"Gone@EXAMPLE.net", "bad_mailbox 5.1.1"},
                                                    {"ok@example.net", ""}}));
    } else {
      EXPECT_EQ(SuppressedOf(m), (std::map<std::string, std::string>{{"Gone@Example.NET", ""}}));
    }
  }
  Record({AllSent(claimed[0]), AllSent(claimed[1])}, kT0 + hours(1));

  // Mail leased on arrival is looked up the same way.
  auto leased = store_->InsertMessages(
      std::vector<NewMessage>{Message(id, kT0 + hours(2), {"ok@example.net", "Gone@example.net"})},
      ArrivalLease{.node = "n1", .limit = 5, .lease_for = minutes(5)});
  ASSERT_TRUE(leased.has_value()) << leased.error().message;
  ASSERT_TRUE(leased->messages[0].leased);
  ASSERT_EQ(leased->messages[0].suppressed.size(), 2u);
  EXPECT_FALSE(leased->messages[0].suppressed[0].has_value());
  ASSERT_TRUE(leased->messages[0].suppressed[1].has_value());
  EXPECT_EQ(leased->messages[0].suppressed[1]->reply, "550 5.1.1 <Gone@Example.NET>: User unknown");
  Record({DeliveryOutcome{.id = leased->messages[0].id, .recipients = {Sent(0), Sent(1)}}},
         kT0 + hours(2));

  // Past its end it holds no more: not listed, not found at a claim.
  auto later = Insert({Message(id, kT0 + days(31), {"Gone@Example.NET"})});
  claimed = Claim(kT0 + days(31));
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].id, later[0]);
  EXPECT_FALSE(claimed[0].recipients[0].suppressed.has_value());
  list = store_->ListSuppressions(id, kT0 + days(31), 10, "");
  ASSERT_TRUE(list.has_value());
  EXPECT_TRUE(list->empty());
  // And DeleteFinished removes it.
  ASSERT_TRUE(store_->DeleteFinished(kT0 + days(31), 100).has_value());
  auto gone = store_->DeleteSuppression(id, "Gone@Example.NET", "customer", kT0);
  ASSERT_FALSE(gone.has_value());
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
}

TEST_P(StoreConformance, ABouncedBadDomainIsSuppressedAndZeroTurnsItOff) {
  const AccountId id = MakeAccount("demo");
  auto ids = Insert({Message(id, kT0, {"a@nowhere.example", "b@example.net"})});
  Claim(kT0);
  Record({DeliveryOutcome{.id = ids[0], .recipients = {Sent(0), Sent(1)}}}, kT0 + minutes(1));
  auto r = store_->RecordBounce({.message = ids[0],
                                 .account = id,
                                 .recipients = {{.address = "a@nowhere.example",
                                                 .reply = "5.1.2 smtp; 550 5.1.2 Host unknown",
                                                 .category = "bad_domain"}},
                                 .suppress_for = days(7)},
                                kT0 + hours(3));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  // Off for the account (0): a failure suppresses nothing.
  auto off = store_->RecordBounce(
      {.message = ids[0],
       .account = id,
       .recipients = {{.address = "b@example.net", .reply = "5.1.1", .category = "bad_mailbox"}},
       .suppress_for = days(0)},
      kT0 + hours(3));
  ASSERT_TRUE(off.has_value());
  EXPECT_EQ(off->failed.size(), 1u);

  auto list = store_->ListSuppressions(id, kT0 + hours(4), 10, "");
  ASSERT_TRUE(list.has_value()) << list.error().message;
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].address, "a@nowhere.example");
  EXPECT_EQ((*list)[0].category, "bad_domain");
  EXPECT_EQ((*list)[0].status, "5.1.2");
  EXPECT_EQ((*list)[0].until, kT0 + hours(3) + days(7));

  // Lifted: the next claim sends to it again; a second lift finds nothing.
  ASSERT_TRUE(
      store_->DeleteSuppression(id, "a@NOWHERE.example", "customer", kT0 + hours(4)).has_value());
  auto again = store_->DeleteSuppression(id, "a@nowhere.example", "customer", kT0 + hours(4));
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kNotFound);
  Insert({Message(id, kT0 + hours(5), {"a@nowhere.example"})});
  auto claimed = Claim(kT0 + hours(5));
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_FALSE(claimed[0].recipients[0].suppressed.has_value());
}

TEST_P(StoreConformance, SuppressionsArePagedByAddress) {
  const AccountId id = MakeAccount("demo");
  std::vector<std::string> to = {"c@example.net", "a@example.net", "b@example.net"};
  auto ids = Insert({Message(id, kT0, to)});
  Claim(kT0);
  DeliveryOutcome o{.id = ids[0], .recipients = {}, .next_attempt = {}, .suppress_for = days(1)};
  for (int i = 0; i < 3; ++i) o.recipients.push_back(Failed(i, "550 5.1.1 unknown", "bad_mailbox"));
  Record({o}, kT0 + minutes(1));
  auto first = store_->ListSuppressions(id, kT0 + minutes(2), 2, "");
  ASSERT_TRUE(first.has_value()) << first.error().message;
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].address, "a@example.net");
  EXPECT_EQ((*first)[1].address, "b@example.net");
  auto second = store_->ListSuppressions(id, kT0 + minutes(2), 2, (*first)[1].address);
  ASSERT_TRUE(second.has_value());
  ASSERT_EQ(second->size(), 1u);
  EXPECT_EQ((*second)[0].address, "c@example.net");
}

// Who lifted a suppression, when, and of which address: in the audit, with the lift.
TEST_P(StoreConformance, DeletingASuppressionIsAuditedInItsTransaction) {
  const AccountId id = MakeAccount("demo");
  auto ids = Insert({Message(id, kT0, {"Gone@Example.NET", "b@example.net"})});
  Claim(kT0);
  Record({DeliveryOutcome{.id = ids[0], .recipients = {Sent(0), Sent(1)}}}, kT0 + minutes(1));
  auto r = store_->RecordBounce({.message = ids[0],
                                 .account = id,
                                 .recipients = {{.address = "Gone@Example.NET",
                                                 .reply = "5.1.1 smtp; 550 5.1.1 User unknown",
                                                 .category = "bad_mailbox"},
                                                {.address = "b@example.net",
                                                 .reply = "5.1.2 smtp; 550 5.1.2 Host unknown",
                                                 .category = "bad_domain"}},
                                 .suppress_for = days(30)},
                                kT0 + hours(1));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  auto audit_size = [&] {
    auto all = store_->ListAudit(id, 100, 0);
    EXPECT_TRUE(all.has_value());
    return all ? all->size() : 0u;
  };
  const std::size_t before = audit_size();

  auto lifted = store_->DeleteSuppression(id, "Gone@example.net", "customer", kT0 + hours(2));
  ASSERT_TRUE(lifted.has_value()) << lifted.error().message;
  ASSERT_TRUE(store_->DeleteSuppression(id, "b@EXAMPLE.net", "admin", kT0 + hours(3)).has_value());
  auto audit = store_->ListAudit(id, 100, 0);
  ASSERT_TRUE(audit.has_value()) << audit.error().message;
  ASSERT_EQ(audit->size(), before + 2);
  const AuditRecord& admin = (*audit)[0];  // newest first
  const AuditRecord& customer = (*audit)[1];
  EXPECT_EQ(customer.account_name, "demo");
  EXPECT_EQ(customer.actor, "customer");
  EXPECT_EQ(customer.action, "DELETE");
  EXPECT_EQ(customer.at, kT0 + hours(2));
  EXPECT_EQ(customer.from, AccountState::kActive);
  EXPECT_EQ(customer.to, AccountState::kActive);
  EXPECT_EQ(customer.reason,
            "suppression of <Gone@example.net> deleted (it was bad_mailbox 5.1.1)");
  EXPECT_EQ(admin.actor, "admin");
  EXPECT_EQ(admin.at, kT0 + hours(3));
  EXPECT_EQ(admin.reason, "suppression of <b@example.net> deleted (it was bad_domain 5.1.2)");
  // In the audit of all accounts too.
  auto all = store_->ListAudit(std::nullopt, 1, 0);
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].reason, admin.reason);

  // Nothing to lift (already lifted, or never suppressed): kNotFound, and no record.
  auto again = store_->DeleteSuppression(id, "Gone@Example.NET", "customer", kT0 + hours(4));
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(audit_size(), before + 2);
}

}  // namespace
}  // namespace mailwarden::conformance
