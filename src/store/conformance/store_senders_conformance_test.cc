// Store conformance: sender identity. A domain belongs to one account, a name to the nearest
// listed of itself and its parents, and DKIM keys rotate in one transaction.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/conformance/store_conformance.h"
#include "store/store.h"

namespace mailwarden::conformance {
namespace {

using std::chrono::minutes;

std::optional<std::string> OwnerOf(Store& store, std::string_view name) {
  auto owner = store.FindDomainOwner(name);
  EXPECT_TRUE(owner.has_value()) << owner.error().message;
  return owner && *owner ? std::optional<std::string>((*owner)->account_name) : std::nullopt;
}

TEST_P(StoreConformance, ADomainBelongsToOneAccountAndIsRefusedToAnotherNamingIt) {
  const AccountId shop = MakeAccount("shop", {1001});
  const AccountId blog = MakeAccount("blog", {1002});
  ASSERT_TRUE(store_->AddDomain(shop, "shop.example", kT0));
  ASSERT_TRUE(store_->AddDomain(shop, "shop.example", kT0)) << "its own again: no change";
  auto taken = store_->AddDomain(blog, "shop.example", kT0);
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code, ErrorCode::kConflict);
  EXPECT_NE(taken.error().message.find("\"shop\""), std::string::npos) << taken.error().message;
  EXPECT_EQ(store_->ListDomains(blog).value(), std::vector<std::string>{});
  EXPECT_EQ(OwnerOf(*store_, "shop.example"), "shop");

  auto none = store_->AddDomain(9999, "x.example", kT0);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kNotFound);
}

TEST_P(StoreConformance, SubdomainsFollowTheirParentUnlessListedThemselves) {
  const AccountId shop = MakeAccount("shop", {1001});
  const AccountId blog = MakeAccount("blog", {1002});
  ASSERT_TRUE(store_->AddDomain(shop, "example.com", kT0));
  ASSERT_TRUE(store_->AddDomain(blog, "blog.example.com", kT0));
  EXPECT_EQ(OwnerOf(*store_, "example.com"), "shop");
  EXPECT_EQ(OwnerOf(*store_, "news.example.com"), "shop");
  EXPECT_EQ(OwnerOf(*store_, "blog.example.com"), "blog");
  EXPECT_EQ(OwnerOf(*store_, "a.b.blog.example.com"), "blog");
  EXPECT_EQ(OwnerOf(*store_, "example.org"), std::nullopt);
  EXPECT_EQ(OwnerOf(*store_, "com"), std::nullopt);
  auto owner = store_->FindDomainOwner("www.blog.example.com");
  ASSERT_TRUE(owner && *owner);
  EXPECT_EQ((*owner)->domain, "blog.example.com");
  EXPECT_EQ((*owner)->account, blog);

  EXPECT_EQ(store_->ListDomains(shop).value(), std::vector<std::string>{"example.com"});
  auto not_its = store_->RemoveDomain(shop, "blog.example.com");
  ASSERT_FALSE(not_its);
  EXPECT_EQ(not_its.error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(store_->RemoveDomain(blog, "blog.example.com"));
  EXPECT_EQ(OwnerOf(*store_, "blog.example.com"), "shop");
}

TEST_P(StoreConformance, ADeletedAccountsDomainsAreFreeAtOnce) {
  const AccountId shop = MakeAccount("shop", {1001});
  ASSERT_TRUE(store_->AddDomain(shop, "shop.example", kT0));
  ASSERT_TRUE(store_->DeleteAccount("shop", false, "admin", kT0 + minutes(1)));
  EXPECT_EQ(OwnerOf(*store_, "shop.example"), std::nullopt);
  const AccountId next = MakeAccount("next", {1001});
  EXPECT_TRUE(store_->AddDomain(next, "shop.example", kT0 + minutes(2)));
}

TEST_P(StoreConformance, DkimKeysRotateInOneTransactionAndStayListed) {
  DkimKey first{.domain = "shop.example",
                .selector = "s1",
                .algorithm = DkimAlgorithm::kEd25519Sha256,
                .private_key = "PEM 1",
                .public_key = "pub1",
                .created = kT0};
  ASSERT_TRUE(store_->AddDkimKey(first, true));
  auto again = store_->AddDkimKey(first, false);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);

  DkimKey second = first;
  second.selector = "s2";
  second.algorithm = DkimAlgorithm::kRsaSha256;
  second.private_key = "PEM 2";
  second.created = kT0 + minutes(5);
  ASSERT_TRUE(store_->AddDkimKey(second, true));

  auto signing = store_->GetSigningKeys();
  ASSERT_TRUE(signing) << signing.error().message;
  ASSERT_EQ(signing->size(), 1u);
  EXPECT_EQ((*signing)[0].selector, "s2");
  EXPECT_EQ((*signing)[0].algorithm, DkimAlgorithm::kRsaSha256);
  EXPECT_EQ((*signing)[0].private_key, "PEM 2");
  EXPECT_EQ((*signing)[0].owner, 0) << "no account lists the domain yet";
  const AccountId shop = MakeAccount("shop", {1001});
  ASSERT_TRUE(store_->AddDomain(shop, "shop.example", kT0));
  EXPECT_EQ(store_->GetSigningKeys()->at(0).owner, shop);

  auto keys = store_->GetDkimKeys("shop.example");
  ASSERT_TRUE(keys) << keys.error().message;
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].selector, "s2");
  EXPECT_FALSE((*keys)[0].retired);
  EXPECT_EQ((*keys)[1].selector, "s1");
  EXPECT_EQ((*keys)[1].algorithm, DkimAlgorithm::kEd25519Sha256);
  EXPECT_EQ((*keys)[1].retired, kT0 + minutes(5));

  ASSERT_TRUE(store_->DeleteDkimKey("shop.example", "s1"));
  EXPECT_EQ(store_->GetDkimKeys("shop.example")->size(), 1u);
  EXPECT_EQ(store_->DeleteDkimKey("shop.example", "s1").error().code, ErrorCode::kNotFound);
}

NewMessage HeldForSender(NewMessage m) {
  m.held_reason = "sender not allowed";
  return m;
}

std::vector<MessageId> ListedHeld(Store& store, AccountId account) {
  auto held = store.ListHeldForSender(account, 100, 0);
  EXPECT_TRUE(held.has_value()) << held.error().message;
  std::vector<MessageId> ids;
  for (const auto& m : held.value_or(std::vector<StoredMessage>{})) {
    EXPECT_EQ(m.held_reason, "sender not allowed");
    ids.push_back(m.id);
  }
  return ids;
}

TEST_P(StoreConformance, MailHeldForItsSenderIsNeverClaimedUntilReleased) {
  const AccountId shop = MakeAccount("shop", {1001});
  const auto ids = Insert({Message(shop, kT0), HeldForSender(Message(shop, kT0 + minutes(1)))});
  ASSERT_EQ(ids.size(), 2u);
  const auto first = Claim(kT0 + minutes(5));
  EXPECT_EQ(Ids(first), std::vector<MessageId>{ids[0]});
  EXPECT_EQ(ListedHeld(*store_, shop), std::vector<MessageId>{ids[1]});
  EXPECT_EQ(GetMessage(ids[1]).held_reason, "sender not allowed");
  const AccountCounters c = GetCounters(shop);
  EXPECT_EQ(c.held, 1);
  EXPECT_EQ(c.queued, 1) << "the first is being delivered";
  Record(AllRecipients(first, RecipientStatus::kSent, "250 ok"), kT0 + minutes(5));
  EXPECT_EQ(store_->NextDueTime().value(), std::nullopt) << "held mail is never due";
  auto days = store_->GetSenderChecks(shop, LocalDayNumber(kT0), LocalDayNumber(kT0));
  ASSERT_TRUE(days && days->size() == 1u);
  EXPECT_EQ((*days)[0].held, 1);

  // Released by id on an active account: due at once, then claimed; nothing left held.
  auto released = store_->ReleaseHeld(shop, {.ids = {ids[0], ids[1]}}, kT0 + minutes(6));
  ASSERT_TRUE(released) << released.error().message;
  EXPECT_EQ(*released, 1) << "the message sent was not held";
  EXPECT_EQ(Ids(Claim(kT0 + minutes(7))), std::vector<MessageId>{ids[1]});
  EXPECT_TRUE(ListedHeld(*store_, shop).empty());
}

TEST_P(StoreConformance, MailHeldForItsSenderIsDeletedOrExpiredAsHeldMail) {
  const AccountId shop = MakeAccount("shop", {1001});
  const auto ids = Insert(
      {HeldForSender(Message(shop, kT0, {"to@example.net"}, "old forged")), Message(shop, kT0),
       HeldForSender(Message(shop, kT0 + minutes(10), {"to@example.net"}, "young forged"))});
  ASSERT_EQ(ids.size(), 3u);
  // A delete on an active account reaches only what is held for itself.
  auto deleted = store_->DeleteHeld(shop, {.subject = "forged"}, kT0 + minutes(11));
  ASSERT_TRUE(deleted) << deleted.error().message;
  EXPECT_EQ(*deleted, 2);
  EXPECT_EQ(GetCounters(shop).purged, 2);
  EXPECT_TRUE(ListedHeld(*store_, shop).empty());

  const auto more =
      Insert({HeldForSender(Message(shop, kT0 + minutes(20), {"to@example.net"}, "old")),
              HeldForSender(Message(shop, kT0 + minutes(40), {"to@example.net"}, "young"))});
  auto expired = store_->ExpireHeld(kT0 + minutes(30), 100, kT0 + minutes(50));
  ASSERT_TRUE(expired) << expired.error().message;
  EXPECT_EQ(*expired, 1);
  EXPECT_EQ(GetMessage(more[0]).status, MessageStatus::kDone);
  EXPECT_EQ(ListedHeld(*store_, shop), std::vector<MessageId>{more[1]});
  EXPECT_EQ(Ids(Claim(kT0 + minutes(60))), std::vector<MessageId>{ids[1]})
      << "the message not held goes out as ever";
}

TEST_P(StoreConformance, UnblockLeavesMailHeldForItsSenderHeldAndAPurgeTakesIt) {
  const AccountId shop = MakeAccount("shop", {1001});
  SetState(shop, AccountState::kActive, AccountState::kBlocked, BlockedBy::kCustomer);
  const auto ids = Insert({Message(shop, kT0), HeldForSender(Message(shop, kT0))});
  EXPECT_EQ(GetCounters(shop).held, 2);
  SetState(shop, AccountState::kBlocked, AccountState::kActive);
  EXPECT_EQ(Ids(Claim(kT0 + minutes(1))), std::vector<MessageId>{ids[0]});
  EXPECT_EQ(ListedHeld(*store_, shop), std::vector<MessageId>{ids[1]});

  SetState(shop, AccountState::kActive, AccountState::kBlocked, BlockedBy::kCustomer);
  StartPurge(shop, kT0 + minutes(2));
  EXPECT_TRUE(ListedHeld(*store_, shop).empty()) << "purged with the rest";

  ASSERT_TRUE(store_->CountSenderRefused(shop, kT0));
  ASSERT_TRUE(store_->CountSenderRefused(shop, kT0));
  auto days = store_->GetSenderChecks(shop, LocalDayNumber(kT0), LocalDayNumber(kT0));
  ASSERT_TRUE(days && days->size() == 1u);
  EXPECT_EQ((*days)[0].held, 1);
  EXPECT_EQ((*days)[0].refused, 2);
}

}  // namespace
}  // namespace mailwarden::conformance
