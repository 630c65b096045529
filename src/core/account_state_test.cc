#include "core/account_state.h"

#include <gtest/gtest.h>

#include <array>
#include <cctype>
#include <map>
#include <ostream>
#include <set>
#include <string>

namespace mailwarden {

// Readable failures; static so that another test file's printers cannot clash with these.
static void PrintTo(AccountState s, std::ostream* os) { *os << AccountStateName(s); }
static void PrintTo(BlockedBy b, std::ostream* os) { *os << '"' << BlockedByName(b) << '"'; }

namespace {

using std::chrono::hours;

constexpr std::array kStates{AccountState::kActive, AccountState::kBlocked, AccountState::kPurging};
constexpr std::array kBlockers{BlockedBy::kNone,        BlockedBy::kCustomer,
                               BlockedBy::kAdmin,       BlockedBy::kSpamGuard,
                               BlockedBy::kBounceGuard, BlockedBy::kComplaintGuard};
constexpr std::array kActions{AccountAction::kBlock, AccountAction::kUnblock, AccountAction::kPurge,
                              AccountAction::kPurgeDone};
constexpr std::array kActors{Actor::kCustomer,    Actor::kAdmin,  Actor::kSpamGuard,
                             Actor::kBounceGuard, Actor::kSystem, Actor::kComplaintGuard};

// What a request comes to. The allowed ones name the next status; see Expect() below.
enum class Outcome {
  k409,                   // refused: kConflict
  k403,                   // refused: kPermission
  kBug,                   // refused: kInternal, the current status breaks the invariants
  kBlock,                 // blocked by the actor, since now
  kTakeOver,              // still blocked, now by the admin, since unchanged
  kLift,                  // active, held mail released
  kLiftDoubled,           // active, held mail released, failure tolerance doubled for 24 hours
  kLiftComplaintDoubled,  // active, held mail released, complaint tolerance doubled for 24 hours
  kPurgeStart,            // purging, same blocker and reason, purge started
};

struct Row {
  AccountState state;
  BlockedBy blocked_by;
  AccountAction action;
  // By actor, in the order of kActors: customer, admin, spam_guard, bounce_guard, system,
  // complaint_guard.
  std::array<Outcome, 6> outcomes;
};

using S = AccountState;
using B = BlockedBy;
using A = AccountAction;
constexpr Outcome k409 = Outcome::k409;
constexpr Outcome k403 = Outcome::k403;
constexpr Outcome kBug = Outcome::kBug;
constexpr Outcome kBlk = Outcome::kBlock;
constexpr Outcome kTake = Outcome::kTakeOver;
constexpr Outcome kLift = Outcome::kLift;
constexpr Outcome kLift2 = Outcome::kLiftDoubled;
constexpr Outcome kLiftC = Outcome::kLiftComplaintDoubled;
constexpr Outcome kPurg = Outcome::kPurgeStart;
constexpr std::array<Outcome, 6> kAllBug{kBug, kBug, kBug, kBug, kBug, kBug};

// The rules, written out case by case so that any change to them fails here.
// clang-format off
constexpr Row kRules[] = {
    //                                          customer admin  spam   bounce system complaint
    {S::kActive,  B::kNone,        A::kBlock,     {kBlk, kBlk, kBlk, kBlk, k403, kBlk}},
    {S::kActive,  B::kNone,        A::kUnblock,   {k409, k409, k403, k403, k403, k403}},
    {S::kActive,  B::kNone,        A::kPurge,     {k409, k409, k403, k403, k403, k403}},
    {S::kActive,  B::kNone,        A::kPurgeDone, {k403, k403, k403, k403, k409, k403}},
    {S::kActive,  B::kCustomer,    A::kBlock,     kAllBug},
    {S::kActive,  B::kCustomer,    A::kUnblock,   kAllBug},
    {S::kActive,  B::kCustomer,    A::kPurge,     kAllBug},
    {S::kActive,  B::kCustomer,    A::kPurgeDone, kAllBug},
    {S::kActive,  B::kAdmin,       A::kBlock,     kAllBug},
    {S::kActive,  B::kAdmin,       A::kUnblock,   kAllBug},
    {S::kActive,  B::kAdmin,       A::kPurge,     kAllBug},
    {S::kActive,  B::kAdmin,       A::kPurgeDone, kAllBug},
    {S::kActive,  B::kSpamGuard,   A::kBlock,     kAllBug},
    {S::kActive,  B::kSpamGuard,   A::kUnblock,   kAllBug},
    {S::kActive,  B::kSpamGuard,   A::kPurge,     kAllBug},
    {S::kActive,  B::kSpamGuard,   A::kPurgeDone, kAllBug},
    {S::kActive,  B::kBounceGuard, A::kBlock,     kAllBug},
    {S::kActive,  B::kBounceGuard, A::kUnblock,   kAllBug},
    {S::kActive,  B::kBounceGuard, A::kPurge,     kAllBug},
    {S::kActive,  B::kBounceGuard, A::kPurgeDone, kAllBug},
    {S::kActive,  B::kComplaintGuard, A::kBlock,     kAllBug},
    {S::kActive,  B::kComplaintGuard, A::kUnblock,   kAllBug},
    {S::kActive,  B::kComplaintGuard, A::kPurge,     kAllBug},
    {S::kActive,  B::kComplaintGuard, A::kPurgeDone, kAllBug},

    {S::kBlocked, B::kNone,        A::kBlock,     kAllBug},
    {S::kBlocked, B::kNone,        A::kUnblock,   kAllBug},
    {S::kBlocked, B::kNone,        A::kPurge,     kAllBug},
    {S::kBlocked, B::kNone,        A::kPurgeDone, kAllBug},
    {S::kBlocked, B::kCustomer,    A::kBlock,     {k409, kTake, k409, k409, k403, k409}},
    {S::kBlocked, B::kCustomer,    A::kUnblock,   {kLift, kLift, k403, k403, k403, k403}},
    {S::kBlocked, B::kCustomer,    A::kPurge,     {kPurg, kPurg, k403, k403, k403, k403}},
    {S::kBlocked, B::kCustomer,    A::kPurgeDone, {k403, k403, k403, k403, k409, k403}},
    {S::kBlocked, B::kAdmin,       A::kBlock,     {k409, k409, k409, k409, k403, k409}},
    {S::kBlocked, B::kAdmin,       A::kUnblock,   {k403, kLift, k403, k403, k403, k403}},
    {S::kBlocked, B::kAdmin,       A::kPurge,     {k403, kPurg, k403, k403, k403, k403}},
    {S::kBlocked, B::kAdmin,       A::kPurgeDone, {k403, k403, k403, k403, k409, k403}},
    {S::kBlocked, B::kSpamGuard,   A::kBlock,     {k409, kTake, k409, k409, k403, k409}},
    {S::kBlocked, B::kSpamGuard,   A::kUnblock,   {k409, kLift, k403, k403, k403, k403}},
    {S::kBlocked, B::kSpamGuard,   A::kPurge,     {kPurg, kPurg, k403, k403, k403, k403}},
    {S::kBlocked, B::kSpamGuard,   A::kPurgeDone, {k403, k403, k403, k403, k409, k403}},
    {S::kBlocked, B::kBounceGuard, A::kBlock,     {k409, kTake, k409, k409, k403, k409}},
    {S::kBlocked, B::kBounceGuard, A::kUnblock,   {kLift2, kLift2, k403, k403, k403, k403}},
    {S::kBlocked, B::kBounceGuard, A::kPurge,     {kPurg, kPurg, k403, k403, k403, k403}},
    {S::kBlocked, B::kBounceGuard, A::kPurgeDone, {k403, k403, k403, k403, k409, k403}},
    {S::kBlocked, B::kComplaintGuard, A::kBlock,     {k409, kTake, k409, k409, k403, k409}},
    {S::kBlocked, B::kComplaintGuard, A::kUnblock,   {kLiftC, kLiftC, k403, k403, k403, k403}},
    {S::kBlocked, B::kComplaintGuard, A::kPurge,     {kPurg, kPurg, k403, k403, k403, k403}},
    {S::kBlocked, B::kComplaintGuard, A::kPurgeDone, {k403, k403, k403, k403, k409, k403}},

    {S::kPurging, B::kNone,        A::kBlock,     kAllBug},
    {S::kPurging, B::kNone,        A::kUnblock,   kAllBug},
    {S::kPurging, B::kNone,        A::kPurge,     kAllBug},
    {S::kPurging, B::kNone,        A::kPurgeDone, kAllBug},
    {S::kPurging, B::kCustomer,    A::kBlock,     {k409, k409, k409, k409, k403, k409}},
    {S::kPurging, B::kCustomer,    A::kUnblock,   {k409, k409, k403, k403, k403, k403}},
    {S::kPurging, B::kCustomer,    A::kPurge,     {k409, k409, k403, k403, k403, k403}},
    {S::kPurging, B::kCustomer,    A::kPurgeDone, {k403, k403, k403, k403, kLift, k403}},
    {S::kPurging, B::kAdmin,       A::kBlock,     {k409, k409, k409, k409, k403, k409}},
    {S::kPurging, B::kAdmin,       A::kUnblock,   {k409, k409, k403, k403, k403, k403}},
    {S::kPurging, B::kAdmin,       A::kPurge,     {k409, k409, k403, k403, k403, k403}},
    {S::kPurging, B::kAdmin,       A::kPurgeDone, {k403, k403, k403, k403, kLift, k403}},
    {S::kPurging, B::kSpamGuard,   A::kBlock,     {k409, k409, k409, k409, k403, k409}},
    {S::kPurging, B::kSpamGuard,   A::kUnblock,   {k409, k409, k403, k403, k403, k403}},
    {S::kPurging, B::kSpamGuard,   A::kPurge,     {k409, k409, k403, k403, k403, k403}},
    {S::kPurging, B::kSpamGuard,   A::kPurgeDone, {k403, k403, k403, k403, kLift, k403}},
    {S::kPurging, B::kBounceGuard, A::kBlock,     {k409, k409, k409, k409, k403, k409}},
    {S::kPurging, B::kBounceGuard, A::kUnblock,   {k409, k409, k403, k403, k403, k403}},
    {S::kPurging, B::kBounceGuard, A::kPurge,     {k409, k409, k403, k403, k403, k403}},
    {S::kPurging, B::kBounceGuard, A::kPurgeDone, {k403, k403, k403, k403, kLift, k403}},
    {S::kPurging, B::kComplaintGuard, A::kBlock,     {k409, k409, k409, k409, k403, k409}},
    {S::kPurging, B::kComplaintGuard, A::kUnblock,   {k409, k409, k403, k403, k403, k403}},
    {S::kPurging, B::kComplaintGuard, A::kPurge,     {k409, k409, k403, k403, k403, k403}},
    {S::kPurging, B::kComplaintGuard, A::kPurgeDone, {k403, k403, k403, k403, kLift, k403}},
};
// clang-format on

const Row* FindRule(AccountState state, BlockedBy blocked_by, AccountAction action) {
  const Row* found = nullptr;
  for (const auto& row : kRules) {
    if (row.state == state && row.blocked_by == blocked_by && row.action == action) {
      EXPECT_EQ(found, nullptr) << "two rows for the same case";
      found = &row;
    }
  }
  return found;
}

std::size_t IndexOf(Actor actor) {
  for (std::size_t i = 0; i < kActors.size(); ++i) {
    if (kActors[i] == actor) return i;
  }
  return kActors.size();
}

bool IsSentence(const std::string& s) {
  return !s.empty() && std::isupper(static_cast<unsigned char>(s.front())) && s.back() == '.';
}

const TimePoint kSince = FromUnixMillis(1'700'000'000'000);
const TimePoint kNow = kSince + hours(5);
const TimePoint kEarlierTolerance = kSince + hours(2);

TEST(Decide, EveryCaseFollowsTheRules) {
  int cases = 0;
  for (AccountState state : kStates) {
    for (BlockedBy blocked_by : kBlockers) {
      for (AccountAction action : kActions) {
        const Row* row = FindRule(state, blocked_by, action);
        ASSERT_NE(row, nullptr) << "no rule for " << AccountStateName(state) << "/"
                                << BlockedByName(blocked_by) << "/" << AccountActionName(action);
        for (Actor actor : kActors) {
          ++cases;
          const Outcome expected = row->outcomes[IndexOf(actor)];
          const AccountStatus current{
              state,  blocked_by,        state == AccountState::kActive ? "" : "held for review",
              kSince, kEarlierTolerance, kEarlierTolerance};
          const auto got = Decide(current, action, actor, "why", kNow);
          const std::string where =
              std::string(AccountStateName(state)) + "/" + std::string(BlockedByName(blocked_by)) +
              " " + std::string(AccountActionName(action)) + " by " + std::string(ActorName(actor));
          SCOPED_TRACE(where);

          if (expected == Outcome::k409 || expected == Outcome::k403 || expected == Outcome::kBug) {
            ASSERT_FALSE(got.has_value());
            const ErrorCode code = expected == Outcome::k409   ? ErrorCode::kConflict
                                   : expected == Outcome::k403 ? ErrorCode::kPermission
                                                               : ErrorCode::kInternal;
            EXPECT_EQ(got.error().code, code) << got.error().message;
            EXPECT_TRUE(IsSentence(got.error().message)) << got.error().message;
            continue;
          }

          ASSERT_TRUE(got.has_value()) << got.error().message;
          const Transition& t = *got;
          EXPECT_FALSE(t.audit_text.empty());
          AccountStatus next;
          bool release = false, purge = false, doubled = false, complaint_doubled = false;
          switch (expected) {
            case Outcome::kBlock:
              next = {AccountState::kBlocked, BlockerOf(actor), "why", kNow,
                      kEarlierTolerance,      kEarlierTolerance};
              break;
            case Outcome::kTakeOver:
              next = {AccountState::kBlocked, BlockedBy::kAdmin, "why", kSince,
                      kEarlierTolerance,      kEarlierTolerance};
              break;
            case Outcome::kLift:
              next = {AccountState::kActive, BlockedBy::kNone, "", kNow,
                      kEarlierTolerance,     kEarlierTolerance};
              release = true;
              break;
            case Outcome::kLiftDoubled:
              next = {AccountState::kActive, BlockedBy::kNone, "", kNow,
                      kNow + hours(24),      kEarlierTolerance};
              release = true;
              doubled = true;
              break;
            case Outcome::kLiftComplaintDoubled:
              next = {AccountState::kActive, BlockedBy::kNone, "", kNow,
                      kEarlierTolerance,     kNow + hours(24)};
              release = true;
              complaint_doubled = true;
              break;
            case Outcome::kPurgeStart:
              next = {AccountState::kPurging, blocked_by,       "held for review", kNow,
                      kEarlierTolerance,      kEarlierTolerance};
              purge = true;
              break;
            default:
              FAIL();
          }
          EXPECT_EQ(t.next.state, next.state);
          EXPECT_EQ(t.next.blocked_by, next.blocked_by);
          EXPECT_EQ(t.next.reason, next.reason);
          EXPECT_EQ(t.next.since, next.since);
          EXPECT_EQ(t.next.bounce_tolerance_until, next.bounce_tolerance_until);
          EXPECT_EQ(t.release_held, release);
          EXPECT_EQ(t.start_purge, purge);
          EXPECT_EQ(t.next.complaint_tolerance_until, next.complaint_tolerance_until);
          EXPECT_EQ(t.double_bounce_tolerance, doubled);
          EXPECT_EQ(t.double_complaint_tolerance, complaint_doubled);
        }
      }
    }
  }
  EXPECT_EQ(cases, 3 * 6 * 4 * 6);
  EXPECT_EQ(std::size(kRules), 3u * 6 * 4);
}

TEST(Decide, RefusalsSayWhyAndWhichRefusalItIs) {
  using R = RefusalCode;
  struct Case {
    AccountStatus current;
    AccountAction action;
    Actor actor;
    RefusalCode why;
    std::string_view name;
    std::string_view message;
  };
  const AccountStatus active{};
  const AccountStatus by_customer{S::kBlocked, B::kCustomer, "test", kSince, {}};
  const AccountStatus by_admin{S::kBlocked, B::kAdmin, "abuse", kSince, {}};
  const AccountStatus by_spam{S::kBlocked, B::kSpamGuard, "flood", kSince, {}};
  const AccountStatus purging{S::kPurging, B::kCustomer, "test", kSince, {}};
  const AccountStatus broken{S::kActive, B::kAdmin, "", kSince, {}};
  const Case cases[] = {
      {active, A::kUnblock, Actor::kCustomer, R::kNotBlocked, "not_blocked",
       "Sending is not blocked."},
      {active, A::kPurge, Actor::kCustomer, R::kBlockFirst, "block_first",
       "Block sending first: only held mail can be purged."},
      {by_customer, A::kBlock, Actor::kCustomer, R::kAlreadyBlocked, "already_blocked",
       "Sending is already blocked."},
      {by_admin, A::kBlock, Actor::kAdmin, R::kAlreadyBlockedByAdmin, "already_blocked_by_admin",
       "Sending is already blocked by the administrator."},
      {by_admin, A::kUnblock, Actor::kCustomer, R::kAdminBlock, "admin_block",
       "Sending was blocked by the administrator; only the administrator can lift this block."},
      {by_admin, A::kPurge, Actor::kCustomer, R::kAdminBlock, "admin_block",
       "Sending was blocked by the administrator; only the administrator can lift this block."},
      {by_spam, A::kUnblock, Actor::kCustomer, R::kSpamBlock, "spam_block",
       "Sending was blocked after a flood of e-mails, which are presumed spam: purge the held "
       "e-mails instead, and sending is unblocked by itself when the purge ends."},
      {purging, A::kPurge, Actor::kAdmin, R::kPurgeAlreadyRunning, "purge_already_running",
       "A purge is already running."},
      {purging, A::kBlock, Actor::kCustomer, R::kPurgeRunning, "purge_running",
       "A purge is running; sending is unblocked by itself when it ends."},
      {purging, A::kUnblock, Actor::kCustomer, R::kPurgeRunning, "purge_running",
       "A purge is running; sending is unblocked by itself when it ends."},
      {purging, A::kPurgeDone, Actor::kAdmin, R::kPurgeEndsByItself, "purge_ends_by_itself",
       "A purge ends by itself when the held e-mails are deleted."},
      {by_customer, A::kUnblock, Actor::kSpamGuard, R::kGuardOnlyBlocks, "guard_only_blocks",
       "A guard can only block sending."},
      {active, A::kBlock, Actor::kSystem, R::kSystemOnlyEndsPurge, "system_only_ends_purge",
       "The purge job can only end a purge."},
      {by_customer, A::kPurgeDone, Actor::kSystem, R::kNoPurgeRunning, "no_purge_running",
       "No purge is running."},
      {broken, A::kBlock, Actor::kAdmin, R::kInvalidStatus, "invalid_status",
       "The account's state is inconsistent: active, blocked by \"admin\"."},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto got = Decide(c.current, c.action, c.actor, "", kNow);
    ASSERT_FALSE(got.has_value()) << c.message;
    EXPECT_EQ(got.error().message, c.message);
    EXPECT_EQ(got.error().why, c.why);
    EXPECT_EQ(RefusalCodeName(got.error().why), c.name);
  }
}

// Each refusal has one error code, whatever state, action and actor lead to it, so that a
// client that knows the refusal's name knows the HTTP status too.
TEST(Decide, EachRefusalHasOneErrorCodeAndItsOwnName) {
  std::map<RefusalCode, ErrorCode> seen;
  for (AccountState state : kStates) {
    for (BlockedBy blocked_by : kBlockers) {
      for (AccountAction action : kActions) {
        for (Actor actor : kActors) {
          const AccountStatus current{state, blocked_by, "", kSince, {}};
          const auto got = Decide(current, action, actor, "", kNow);
          if (got) continue;
          const auto [it, added] = seen.emplace(got.error().why, got.error().code);
          EXPECT_EQ(it->second, got.error().code) << RefusalCodeName(got.error().why);
        }
      }
    }
  }
  EXPECT_EQ(seen.size(), 13u) << "every refusal is reachable";
  std::set<std::string_view> names;
  for (const auto& [why, code] : seen) {
    const std::string_view name = RefusalCodeName(why);
    EXPECT_NE(name, "unknown");
    EXPECT_TRUE(names.insert(name).second) << name;
    for (char ch : name) EXPECT_TRUE(std::islower(ch) || ch == '_') << name;
  }
}

// Selective release and delete of held mail, case by case: a release is judged as UNBLOCK,
// a delete as PURGE, and neither changes the state.
struct HeldRow {
  AccountState state;
  BlockedBy blocked_by;
  HeldMailAction action;
  // By actor, in the order of kActors; "ok" is allowed, otherwise the refusal's name.
  std::array<std::string_view, 6> outcomes;
};

using H = HeldMailAction;
constexpr std::string_view kBad = "invalid_status";
constexpr std::array<std::string_view, 6> kHeldAllBug{kBad, kBad, kBad, kBad, kBad, kBad};
constexpr std::string_view kGuard = "guard_only_blocks";
constexpr std::string_view kSys = "system_only_ends_purge";

// clang-format off
constexpr HeldRow kHeldRules[] = {
    //                                           customer         admin   spam    bounce  system
    {S::kActive,  B::kNone,        H::kRelease, {"not_blocked", "not_blocked", kGuard, kGuard, kSys, kGuard}},
    {S::kActive,  B::kNone,        H::kDelete,  {"block_first", "block_first", kGuard, kGuard, kSys, kGuard}},
    {S::kActive,  B::kCustomer,    H::kRelease, kHeldAllBug},
    {S::kActive,  B::kCustomer,    H::kDelete,  kHeldAllBug},
    {S::kActive,  B::kAdmin,       H::kRelease, kHeldAllBug},
    {S::kActive,  B::kAdmin,       H::kDelete,  kHeldAllBug},
    {S::kActive,  B::kSpamGuard,   H::kRelease, kHeldAllBug},
    {S::kActive,  B::kSpamGuard,   H::kDelete,  kHeldAllBug},
    {S::kActive,  B::kBounceGuard, H::kRelease, kHeldAllBug},
    {S::kActive,  B::kComplaintGuard, H::kRelease, kHeldAllBug},
    {S::kActive,  B::kBounceGuard, H::kDelete,  kHeldAllBug},
    {S::kActive,  B::kComplaintGuard, H::kDelete,  kHeldAllBug},
    {S::kBlocked, B::kNone,        H::kRelease, kHeldAllBug},
    {S::kBlocked, B::kNone,        H::kDelete,  kHeldAllBug},
    {S::kBlocked, B::kCustomer,    H::kRelease, {"ok", "ok", kGuard, kGuard, kSys, kGuard}},
    {S::kBlocked, B::kCustomer,    H::kDelete,  {"ok", "ok", kGuard, kGuard, kSys, kGuard}},
    {S::kBlocked, B::kAdmin,       H::kRelease, {"admin_block", "ok", kGuard, kGuard, kSys, kGuard}},
    {S::kBlocked, B::kAdmin,       H::kDelete,  {"admin_block", "ok", kGuard, kGuard, kSys, kGuard}},
    {S::kBlocked, B::kSpamGuard,   H::kRelease, {"spam_block", "ok", kGuard, kGuard, kSys, kGuard}},
    {S::kBlocked, B::kSpamGuard,   H::kDelete,  {"ok", "ok", kGuard, kGuard, kSys, kGuard}},
    {S::kBlocked, B::kBounceGuard, H::kRelease, {"ok", "ok", kGuard, kGuard, kSys, kGuard}},
    {S::kBlocked, B::kComplaintGuard, H::kRelease, {"ok", "ok", kGuard, kGuard, kSys, kGuard}},
    {S::kBlocked, B::kBounceGuard, H::kDelete,  {"ok", "ok", kGuard, kGuard, kSys, kGuard}},
    {S::kBlocked, B::kComplaintGuard, H::kDelete,  {"ok", "ok", kGuard, kGuard, kSys, kGuard}},
    {S::kPurging, B::kNone,        H::kRelease, kHeldAllBug},
    {S::kPurging, B::kNone,        H::kDelete,  kHeldAllBug},
    {S::kPurging, B::kCustomer,    H::kRelease, {"purge_running", "ok", kGuard, kGuard, kSys, kGuard}},
    {S::kPurging, B::kCustomer,    H::kDelete,  {"purge_already_running", "ok", kGuard, kGuard, kSys, kGuard}},
    {S::kPurging, B::kAdmin,       H::kRelease, {"admin_block", "ok", kGuard, kGuard, kSys, kGuard}},
    {S::kPurging, B::kAdmin,       H::kDelete,  {"admin_block", "ok", kGuard, kGuard, kSys, kGuard}},
    {S::kPurging, B::kSpamGuard,   H::kRelease, {"purge_running", "ok", kGuard, kGuard, kSys, kGuard}},
    {S::kPurging, B::kSpamGuard,   H::kDelete,  {"purge_already_running", "ok", kGuard, kGuard, kSys, kGuard}},
    {S::kPurging, B::kBounceGuard, H::kRelease, {"purge_running", "ok", kGuard, kGuard, kSys, kGuard}},
    {S::kPurging, B::kComplaintGuard, H::kRelease, {"purge_running", "ok", kGuard, kGuard, kSys, kGuard}},
    {S::kPurging, B::kBounceGuard, H::kDelete,  {"purge_already_running", "ok", kGuard, kGuard, kSys, kGuard}},
    {S::kPurging, B::kComplaintGuard, H::kDelete,  {"purge_already_running", "ok", kGuard, kGuard, kSys, kGuard}},
};
// clang-format on

TEST(DecideHeldMail, EveryCaseFollowsTheRules) {
  ASSERT_EQ(std::size(kHeldRules), 3u * 6 * 2);
  for (const HeldRow& row : kHeldRules) {
    for (Actor actor : kActors) {
      const std::string_view expected = row.outcomes[IndexOf(actor)];
      const AccountStatus current{
          row.state, row.blocked_by, row.state == AccountState::kActive ? "" : "held", kSince, {}};
      SCOPED_TRACE(std::string(AccountStateName(row.state)) + "/" +
                   std::string(BlockedByName(row.blocked_by)) + " " +
                   std::string(HeldMailActionName(row.action)) + " by " +
                   std::string(ActorName(actor)));
      const auto got = DecideHeldMail(current, row.action, actor);
      if (expected == "ok") {
        EXPECT_TRUE(got.has_value()) << got.error().message;
        continue;
      }
      ASSERT_FALSE(got.has_value());
      EXPECT_EQ(RefusalCodeName(got.error().why), expected);
      EXPECT_TRUE(IsSentence(got.error().message)) << got.error().message;
    }
  }
}

// A refusal of a selective action has the status its name has for UNBLOCK and PURGE, so the
// API answers both alike.
TEST(DecideHeldMail, RefusalsHaveTheErrorCodesOfDecide) {
  std::map<RefusalCode, ErrorCode> decided;
  for (AccountState state : kStates) {
    for (BlockedBy blocked_by : kBlockers) {
      for (AccountAction action : kActions) {
        for (Actor actor : kActors) {
          const auto got = Decide({state, blocked_by, "", kSince, {}}, action, actor, "", kNow);
          if (!got) decided.emplace(got.error().why, got.error().code);
        }
      }
    }
  }
  for (const HeldRow& row : kHeldRules) {
    for (Actor actor : kActors) {
      const auto got =
          DecideHeldMail({row.state, row.blocked_by, "", kSince, {}}, row.action, actor);
      if (got) continue;
      ASSERT_TRUE(decided.contains(got.error().why)) << RefusalCodeName(got.error().why);
      EXPECT_EQ(decided[got.error().why], got.error().code) << RefusalCodeName(got.error().why);
    }
  }
}

TEST(Decide, CustomerUnblockOfSpamGuardBlockPointsToPurge) {
  const AccountStatus flood{S::kBlocked, B::kSpamGuard, "3500 e-mails in an hour", kSince, {}};
  const auto got = Decide(flood, A::kUnblock, Actor::kCustomer, "", kNow);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code, ErrorCode::kConflict);
  EXPECT_NE(got.error().message.find("purge"), std::string::npos) << got.error().message;
}

TEST(Decide, BlockWithoutReasonGetsOneByActor) {
  const struct {
    Actor actor;
    std::string_view reason;
  } cases[] = {
      {Actor::kCustomer, "blocked by the customer"},
      {Actor::kAdmin, "blocked by the administrator"},
      {Actor::kSpamGuard, "blocked by the spam guard: too many e-mails in an hour"},
      {Actor::kBounceGuard, "blocked by the bounce guard: too many failed deliveries"},
      {Actor::kComplaintGuard, "blocked by the complaint guard: too many spam complaints"},
  };
  for (const auto& c : cases) {
    for (std::string_view given : {"", "   "}) {
      const auto got = Decide(AccountStatus{}, A::kBlock, c.actor, given, kNow);
      ASSERT_TRUE(got.has_value());
      EXPECT_EQ(got->next.reason, c.reason);
      EXPECT_EQ(got->audit_text, "sending blocked: " + std::string(c.reason));
    }
  }
}

TEST(Decide, ReasonIsTrimmedAndAudited) {
  const auto block =
      Decide(AccountStatus{}, A::kBlock, Actor::kCustomer, "  testing a form\n", kNow);
  ASSERT_TRUE(block.has_value());
  EXPECT_EQ(block->next.reason, "testing a form");
  EXPECT_EQ(block->audit_text, "sending blocked: testing a form");

  const auto unblock = Decide(block->next, A::kUnblock, Actor::kCustomer, "", kNow + hours(1));
  ASSERT_TRUE(unblock.has_value());
  EXPECT_EQ(unblock->audit_text, "sending unblocked");
}

TEST(Decide, BlockPurgeAndPurgeDoneReturnToActive) {
  AccountStatus status;
  auto step = [&](AccountAction action, Actor actor, TimePoint now) {
    const auto got = Decide(status, action, actor, "", now);
    EXPECT_TRUE(got.has_value()) << (got ? "" : got.error().message);
    if (got) status = got->next;
    return got.value_or(Transition{});
  };
  step(A::kBlock, Actor::kSpamGuard, kSince);
  EXPECT_EQ(status.state, S::kBlocked);
  const Transition purge = step(A::kPurge, Actor::kCustomer, kSince + hours(1));
  EXPECT_TRUE(purge.start_purge);
  EXPECT_EQ(status.state, S::kPurging);
  EXPECT_EQ(status.blocked_by, B::kSpamGuard);
  const Transition done = step(A::kPurgeDone, Actor::kSystem, kSince + hours(2));
  EXPECT_TRUE(done.release_held);
  EXPECT_FALSE(done.double_bounce_tolerance);
  EXPECT_EQ(status.state, S::kActive);
  EXPECT_EQ(status.blocked_by, B::kNone);
  EXPECT_EQ(status.reason, "");
  EXPECT_EQ(status.since, kSince + hours(2));
}

TEST(BounceToleranceDoubled, LastsTwentyFourHoursFromTheUnblock) {
  const AccountStatus bounced{S::kBlocked, B::kBounceGuard, "40% failed", kSince, {}};
  EXPECT_FALSE(BounceToleranceDoubled(bounced, kNow));
  const auto got = Decide(bounced, A::kUnblock, Actor::kCustomer, "", kNow);
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(BounceToleranceDoubled(got->next, kNow));
  EXPECT_TRUE(BounceToleranceDoubled(got->next, kNow + hours(24) - std::chrono::milliseconds(1)));
  EXPECT_FALSE(BounceToleranceDoubled(got->next, kNow + hours(24)));
}

TEST(ComplaintToleranceDoubled, LastsTwentyFourHoursFromTheUnblockOfAComplaintBlock) {
  const AccountStatus complained{S::kBlocked, B::kComplaintGuard, "complaints", kSince, {}, {}};
  EXPECT_FALSE(ComplaintToleranceDoubled(complained, kNow));
  const auto got = Decide(complained, A::kUnblock, Actor::kCustomer, "", kNow);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->audit_text, "sending unblocked, complaint tolerance doubled for 24 hours");
  EXPECT_TRUE(ComplaintToleranceDoubled(got->next, kNow));
  EXPECT_TRUE(
      ComplaintToleranceDoubled(got->next, kNow + hours(24) - std::chrono::milliseconds(1)));
  EXPECT_FALSE(ComplaintToleranceDoubled(got->next, kNow + hours(24)));
  // The bounce guard's tolerance is its own.
  EXPECT_FALSE(BounceToleranceDoubled(got->next, kNow));
  // A block by the complaint guard keeps the tolerance it carries, as the bounce guard's does.
  const auto again = Decide(got->next, A::kBlock, Actor::kComplaintGuard, "", kNow + hours(1));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->next.blocked_by, B::kComplaintGuard);
  EXPECT_EQ(again->next.complaint_tolerance_until, kNow + hours(24));
}

TEST(Names, RoundTrip) {
  for (AccountAction a : kActions) EXPECT_EQ(ParseAccountAction(AccountActionName(a)), a);
  for (Actor a : kActors) EXPECT_EQ(ParseActor(ActorName(a)), a);
  EXPECT_EQ(AccountActionName(A::kBlock), "BLOCK");
  EXPECT_EQ(AccountActionName(A::kUnblock), "UNBLOCK");
  EXPECT_EQ(AccountActionName(A::kPurge), "PURGE");
  EXPECT_EQ(AccountActionName(A::kPurgeDone), "PURGE_DONE");
  for (Actor a : {Actor::kCustomer, Actor::kAdmin, Actor::kSpamGuard, Actor::kBounceGuard,
                  Actor::kComplaintGuard}) {
    EXPECT_EQ(ActorName(a), BlockedByName(BlockerOf(a)));
  }
  for (std::string_view bad : {"", "block", "Block", "DELETE", " BLOCK"}) {
    EXPECT_FALSE(ParseAccountAction(bad).has_value()) << bad;
  }
  EXPECT_FALSE(ParseActor("root").has_value());
}

}  // namespace
}  // namespace mailwarden
