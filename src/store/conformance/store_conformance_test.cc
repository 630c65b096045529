// Store conformance: durability and schema, and the instantiation of the whole suite for every
// engine; OpenStore's url handling.
#include "store/conformance/store_conformance.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "store/schema.h"
#include "store/store.h"

namespace mailwarden::conformance {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// --- Durability and schema ---

TEST_P(StoreConformance, EverythingSurvivesReopening) {
  const AccountId id = MakeAccount("demo", {1000});
  auto ids = Insert({Message(id, kT0, {"a@example.net", "b@example.net"}), Message(id, kT0)});
  Claim(kT0, 1);
  Record({{.id = ids[0],
           .recipients = {{.index = 0, .status = RecipientStatus::kFailed, .reply = "550 no"}},
           .next_attempt = kT0 + minutes(1)}},
         kT0 + seconds(1));
  store_.reset();

  store_ = OpenOrDie();
  ASSERT_NE(store_, nullptr);
  Account a = GetAccount("demo");
  EXPECT_EQ(a.uids, std::vector<Uid>{1000});
  EXPECT_EQ(a.pending, 2);
  StoredMessage m = GetMessage(ids[0]);
  EXPECT_EQ(m.status, MessageStatus::kQueued);
  EXPECT_EQ(m.attempts, 1);
  EXPECT_EQ(m.recipients[0].reply, "550 no");
  EXPECT_EQ(Ids(Claim(kT0 + minutes(1))), (std::vector<MessageId>{ids[1], ids[0]}));
}

TEST_P(StoreConformance, ReopeningAppliesNoMigrationTwice) {
  store_.reset();
  for (int i = 0; i < 3; ++i) {
    auto again = db_->Open();
    ASSERT_TRUE(again.has_value()) << again.error().message;
  }
  const std::string table(schema::kSchemaVersionTable);
  EXPECT_EQ(db_->QueryInt("SELECT COUNT(*) FROM " + table), schema::kSchemaVersion);
  EXPECT_EQ(db_->QueryInt("SELECT MAX(version) FROM " + table), schema::kSchemaVersion);
}

TEST_P(StoreConformance, ADatabaseOfANewerVersionIsRefused) {
  const AccountId id = MakeAccount("demo");
  Insert({Message(id, kT0)});
  store_.reset();
  db_->Exec("INSERT INTO " + std::string(schema::kSchemaVersionTable) +
            " (version, applied_ms) VALUES (" + std::to_string(schema::kSchemaVersion + 1) +
            ", 0)");
  auto refused = db_->Open();
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(refused.error().message.find("newer"), std::string::npos) << refused.error().message;
  EXPECT_EQ(db_->QueryInt("SELECT COUNT(*) FROM " + std::string(schema::kMessagesTable)), 1)
      << "refusing touches nothing";
}

INSTANTIATE_TEST_SUITE_P(
    Engines, StoreConformance,
    ::testing::Values(StoreTarget{"sqlite", [] { return std::make_unique<SqliteTestDatabase>(); }},
                      StoreTarget{"postgresql", [] { return std::make_unique<PgTestDatabase>(); }}),
    [](const ::testing::TestParamInfo<StoreTarget>& info) { return info.param.name; });

// --- OpenStore's url handling (not engine behaviour) ---

TEST(OpenStore, RefusesUnknownSchemesNamingOnlyTheScheme) {
  auto store = OpenStore("mysql://admin:secret@db/mail");
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(store.error().message.find("'mysql'"), std::string::npos) << store.error().message;
  EXPECT_EQ(store.error().message.find("secret"), std::string::npos) << store.error().message;

  for (std::string_view bad : {"", "/var/lib/mailwarden.db", "sqlite:"}) {
    auto refused = OpenStore(bad);
    ASSERT_FALSE(refused.has_value()) << bad;
    EXPECT_EQ(refused.error().code, ErrorCode::kInvalidInput) << bad;
  }
}

TEST(OpenStore, AnUnreachablePostgresqlServerIsUnavailableAndItsPasswordNotShown) {
  // Port 1 of the loopback: nothing listens there, so the connection is refused at once.
  auto store = OpenStore("postgresql://mail:s3cr3t-pw@127.0.0.1:1/mailwarden");
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(store.error().message.find("cannot connect"), std::string::npos)
      << store.error().message;
  EXPECT_EQ(store.error().message.find("s3cr3t-pw"), std::string::npos) << store.error().message;
}

TEST(OpenStore, SqliteCreatesThePrivateFileAndItsFolder) {
  SqliteTestDatabase db;
  ASSERT_FALSE(std::filesystem::exists(db.file().parent_path()));
  auto store = db.Open();
  ASSERT_TRUE(store.has_value()) << store.error().message;
  const auto perms = std::filesystem::status(db.file()).permissions();
  EXPECT_EQ(perms & (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
            std::filesystem::perms::none);
}

}  // namespace
}  // namespace mailwarden::conformance
