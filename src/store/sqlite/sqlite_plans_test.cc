// The SQLite store's statements stay on their indexes: what docs/performance.md shows and the
// scale promises rest on (no claim, outcome, purge batch, periodic job or panel request reads
// the messages or recipients tables from end to end, or sorts them).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "store/schema.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/temp_dir.h"

namespace mailwarden {

using testing::TempDir;
namespace {

class SqlitePlans : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = SqliteStore::Open(dir_.path() / "mailwarden.db");
    ASSERT_TRUE(store.has_value()) << store.error().message;
    auto plans = (*store)->ExplainAllStatements();
    ASSERT_TRUE(plans.has_value()) << plans.error().message;
    for (auto& plan : *plans) {
      std::string text;
      for (const auto& line : plan.lines) text += line + "\n";
      plans_[plan.statement] = text;
    }
  }

  // The plan of one statement; fails the test if there is none by that name.
  std::string Plan(const std::string& statement) {
    auto it = plans_.find(statement);
    if (it == plans_.end()) {
      ADD_FAILURE() << "no plan for " << statement;
      return "";
    }
    return it->second;
  }

  TempDir dir_{"mw_plans_test"};
  std::map<std::string, std::string> plans_;
};

// Whether a line of the plan reads `index` ("... INDEX name" then a space or the line's end),
// covering or not.
bool Uses(const std::string& plan, std::string_view index, std::string_view how = "INDEX ") {
  const std::string needle = std::string(how) + std::string(index);
  for (std::size_t at = plan.find(needle); at != std::string::npos;
       at = plan.find(needle, at + 1)) {
    const std::size_t end = at + needle.size();
    if (end == plan.size() || plan[end] == ' ' || plan[end] == '\n') return true;
  }
  return false;
}

// No statement walks the messages or recipients tables, whose size is the flood's, but the one
// named here, with why.
TEST_F(SqlitePlans, NoStatementScansMessagesOrRecipientsButTheNamedOne) {
  ASSERT_GE(plans_.size(), 150u);
  // Deleting an account's row checks that no message still names it (the foreign key), and
  // SQLite uses no partial index for that: a walk of the messages table. So the store deletes
  // the row with the foreign keys off, after the same check through the indexes
  // (kAccountRowNamed; sqlite_removal_test counts the pages read). The upsert's plan holds the
  // check too, which its update of everything but the id never runs.
  const std::set<std::string> named = {"kRemoveAccountRow", "kUpsertAccount"};
  for (const auto& [statement, plan] : plans_) {
    if (named.contains(statement)) continue;
    for (const char* table : {"SCAN messages", "SCAN m ", "SCAN m\n", "SCAN recipients", "SCAN r ",
                              "SCAN r\n", "SCAN released"}) {
      EXPECT_EQ(plan.find(table), std::string::npos) << statement << ":\n" << plan;
    }
  }
}

// An account's row is deleted with the foreign keys off (SqliteStore::RemoveAccountRows),
// after kAccountRowNamed: that check must look in every table the foreign keys' check would.
TEST_F(SqlitePlans, TheRemovalsOwnCheckReadsEveryTableTheForeignKeysWould) {
  const std::string named = Plan("kAccountRowNamed");
  std::istringstream row(Plan("kRemoveAccountRow"));
  int tables = 0;
  for (std::string line; std::getline(row, line);) {
    std::istringstream words(line);
    std::string how, table;
    words >> how >> table;
    if ((how != "SEARCH" && how != "SCAN") || table == "accounts") continue;
    ++tables;
    EXPECT_NE(named.find("SEARCH " + table + " "), std::string::npos) << table << " in:\n" << named;
  }
  EXPECT_GE(tables, 7);
}

TEST_F(SqlitePlans, ASuppressionIsOneLookupOfItsPrimaryKey) {
  // Every claimed recipient is looked up: a search of the primary key, never a scan.
  for (const char* statement : {"kSelectSuppression", "kSelectSuppressionPage"}) {
    const std::string plan = Plan(statement);
    EXPECT_TRUE(Uses(plan, "sqlite_autoindex_suppressions_1")) << statement << ":\n" << plan;
    EXPECT_EQ(plan.find("SCAN"), std::string::npos) << statement << ":\n" << plan;
  }
  const std::string prune = Plan("kPruneSuppressions");
  EXPECT_TRUE(Uses(prune, "suppressions_until")) << prune;
}

TEST_F(SqlitePlans, TheSchedulerReadsOnlyItsSmallIndexes) {
  const std::string accounts = Plan("kSelectDueAccounts");
  EXPECT_TRUE(Uses(accounts, schema::kAccountsSendingIndex)) << accounts;
  EXPECT_TRUE(Uses(accounts, schema::kAccountsHoldingIndex)) << accounts;
  EXPECT_TRUE(Uses(accounts, schema::kMessagesDueIndex)) << accounts;

  const std::string due = Plan("kSelectDueMessages");
  // Not covering: each due message's row is read up to its size (for the claim's bytes).
  EXPECT_TRUE(Uses(due, schema::kMessagesDueIndex)) << due;
  EXPECT_EQ(due.find("SCAN"), std::string::npos) << due;
  EXPECT_EQ(due.find("TEMP B-TREE"), std::string::npos) << "index order, no sort:\n" << due;

  const std::string next = Plan("kSelectNextDue");
  EXPECT_TRUE(Uses(next, schema::kMessagesDueIndex)) << next;

  // With 100,000 accounts of which 1,000 send, each claim visits the 1,000: from the index
  // alone, never their rows (the purge epoch is in the index).
  EXPECT_TRUE(Uses(accounts, schema::kAccountsSendingIndex, "COVERING INDEX ")) << accounts;
  EXPECT_TRUE(Uses(next, schema::kAccountsSendingIndex, "COVERING INDEX ")) << next;

  // Every 30 seconds: a walk of the few accounts with a quota of their own (a partial index),
  // not of every account's row.
  const std::string quotas = Plan("kSelectAccountsWithQuotaBelow");
  EXPECT_TRUE(Uses(quotas, schema::kAccountsWithQuotaIndex)) << quotas;

  const std::string leases = Plan("kReleaseLeases");
  EXPECT_TRUE(Uses(leases, schema::kMessagesLeasedIndex)) << leases;
}

TEST_F(SqlitePlans, AMessagesDeliveryTouchesRowsByKey) {
  for (const char* statement : {"kLeaseMessage", "kLockMessageState", "kFinishMessage"}) {
    const std::string plan = Plan(statement);
    EXPECT_NE(plan.find("INTEGER PRIMARY KEY"), std::string::npos) << statement << ":\n" << plan;
  }
  for (const char* statement :
       {"kSelectPendingRecipients", "kUpdateRecipient", "kRecipientStates"}) {
    const std::string plan = Plan(statement);
    EXPECT_NE(plan.find("USING PRIMARY KEY (message_id=?"), std::string::npos) << statement << ":\n"
                                                                               << plan;
  }
}

TEST_F(SqlitePlans, HeldMailPurgesAndListsReadTheUnfinishedRangeOnly) {
  for (const char* statement :
       {"kSetPurgeWatermark", "kSelectPurgeBatch", "kSelectPendingPage", "kSelectUnfinishedPage"}) {
    const std::string plan = Plan(statement);
    EXPECT_TRUE(Uses(plan, schema::kMessagesUnfinishedIndex)) << statement << ":\n" << plan;
  }
  const std::string holding = Plan("kSelectHoldingAccounts");
  EXPECT_TRUE(Uses(holding, schema::kAccountsHoldingIndex)) << holding;
  const std::string by_state = Plan("kSelectAccountsInState");
  EXPECT_TRUE(Uses(by_state, schema::kAccountsByStateIndex)) << by_state;
  // Every 10 minutes: the deleted accounts only, not every account.
  const std::string deleted = Plan("kSelectDeletedAccounts");
  EXPECT_TRUE(Uses(deleted, schema::kAccountsDeletedIndex, "COVERING INDEX ")) << deleted;
}

TEST_F(SqlitePlans, ThePanelsListsReadTheirOwnIndexesInOrder) {
  const std::string errors = Plan("kSelectErrors");
  EXPECT_TRUE(Uses(errors, schema::kRecipientsFailedIndex)) << errors;
  EXPECT_EQ(errors.find("TEMP B-TREE"), std::string::npos) << "index order, no sort:\n" << errors;
  const std::string finished = Plan("kDeleteFinished");
  EXPECT_TRUE(Uses(finished, "messages_finished")) << finished;
  const std::string volumes = Plan("kSelectVolumes");
  EXPECT_NE(volumes.find("SEARCH daily_counters USING PRIMARY KEY"), std::string::npos) << volumes;
}

TEST_F(SqlitePlans, TheAccountsOverviewReadsAPageInIndexOrder) {
  // Each order reads its index from the page's start and stops at the limit: no sort of all
  // accounts, no scan of them.
  const struct {
    const char* statement;
    const char* index;
  } kPages[] = {
      {"kSelectAccountPageByName", "sqlite_autoindex_accounts_1"},
      {"kSelectAccountPageBySent", "daily_sent_by_day"},
      {"kSelectAccountPageByErrors", "daily_errors_by_count"},
      {"kSelectAccountPageByPending", "accounts_by_pending"},
      {"kSelectAccountPageByComplaints", "daily_complaints_by_count"},
      {"kSelectAccountPageByQuarantined", "daily_quarantined_by_count"},
      {"kSelectAccountPageByErrorRate", "daily_errors_by_rate"},
      {"kSelectAccountPageByNameLike", "sqlite_autoindex_accounts_1"},
  };
  for (const auto& page : kPages) {
    const std::string plan = Plan(page.statement);
    EXPECT_TRUE(Uses(plan, page.index) || Uses(plan, page.index, "COVERING INDEX "))
        << page.statement << ":\n"
        << plan;
    EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << page.statement << ":\n" << plan;
    EXPECT_EQ(plan.find("SCAN a\n"), std::string::npos) << page.statement << ":\n" << plan;
    EXPECT_EQ(plan.find("SCAN d\n"), std::string::npos) << page.statement << ":\n" << plan;
  }
}

TEST_F(SqlitePlans, TheOverviewsOtherOrdersSortOnlyTheAccountsWithSome) {
  // Held and queued: a sort of the accounts with unfinished mail (their partial index), never
  // a scan of every account; the recent figure: a sort of the recent hours' sources.
  for (const char* statement : {"kSelectAccountPageByHeld", "kSelectAccountPageByQueued"}) {
    const std::string plan = Plan(statement);
    EXPECT_TRUE(Uses(plan, "accounts_by_pending")) << statement << ":\n" << plan;
    EXPECT_EQ(plan.find("SCAN a\n"), std::string::npos) << statement << ":\n" << plan;
    EXPECT_EQ(plan.find("SCAN d\n"), std::string::npos) << statement << ":\n" << plan;
  }
  const std::string recent = Plan("kSelectAccountPageByRecent");
  EXPECT_TRUE(Uses(recent, "sources_by_hour")) << recent;
  EXPECT_EQ(recent.find("SCAN a\n"), std::string::npos) << recent;
  EXPECT_EQ(recent.find("SCAN sources"), std::string::npos) << recent;
}

TEST_F(SqlitePlans, TheFleetSummaryReadsItsIndexes) {
  // The accounts not active are counted through their small index (the total is one count of
  // the accounts); the guard blocks are a range of the audit by time; the busiest, a range of
  // the sources by hour.
  const std::string states = Plan("kCountAccountStates");
  EXPECT_TRUE(Uses(states, "accounts_by_state")) << states;
  const std::string all = Plan("kCountAccounts");
  EXPECT_TRUE(Uses(all, "sqlite_autoindex_accounts_1", "COVERING INDEX ")) << all;
  const std::string blocks = Plan("kSelectGuardBlocks");
  EXPECT_TRUE(Uses(blocks, "audit_blocks_by_time")) << blocks;
  EXPECT_EQ(blocks.find("SCAN a\n"), std::string::npos) << blocks;
  const std::string busy = Plan("kSelectBusyAccounts");
  EXPECT_TRUE(Uses(busy, "sources_by_hour")) << busy;
  EXPECT_EQ(busy.find("SCAN a\n"), std::string::npos) << busy;
  EXPECT_EQ(busy.find("SCAN sources"), std::string::npos) << busy;
}

TEST_F(SqlitePlans, TrackingSearchesReadAnIndexInIdOrder) {
  // Newest first from the cursor, stopping at the limit: the index's order, no sort, whatever
  // the number of the account's messages.
  const struct {
    const char* statement;
    std::string_view index;
  } kSearches[] = {
      {"kSearchFinished", schema::kMessagesFinishedByAccountIndex},
      {"kSearchByOutcome", schema::kMessagesByOutcomeIndex},
      {"kSearchUnfinished", schema::kMessagesUnfinishedIndex},
      {"kSearchByTerm", schema::kMessageTermsSearchIndex},
  };
  for (const auto& search : kSearches) {
    const std::string plan = Plan(search.statement);
    EXPECT_TRUE(Uses(plan, search.index) || Uses(plan, search.index, "COVERING INDEX "))
        << search.statement << ":\n"
        << plan;
    EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << search.statement << ":\n" << plan;
    EXPECT_EQ(plan.find("SCAN"), std::string::npos) << search.statement << ":\n" << plan;
  }
  for (const char* statement : {"kSelectTrackedMessage", "kSelectMessageEvents", "kSetOutcome"}) {
    const std::string plan = Plan(statement);
    EXPECT_EQ(plan.find("SCAN"), std::string::npos) << statement << ":\n" << plan;
    EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << statement << ":\n" << plan;
  }
}

}  // namespace
}  // namespace mailwarden
