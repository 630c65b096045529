#include "store/store_runner.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace mailwarden {
namespace {

class StoreRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mw_runner_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::filesystem::path dir_;
};

// One message the database refuses must not take the others of its group commit down with it.
TEST_F(StoreRunnerTest, AMessageTheDatabaseRefusesFailsAloneNotItsWholeBatch) {
  const std::filesystem::path file = dir_ / "mw.db";
  auto store = OpenStore("sqlite:" + file.string());
  ASSERT_TRUE(store.has_value()) << store.error().message;
  AccountSpec spec;
  spec.name = "demo";
  auto account = (*store)->UpsertAccount(spec);
  ASSERT_TRUE(account.has_value());
  {
    // As a database would refuse bytes its text type does not take.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "CREATE TRIGGER refuse BEFORE INSERT ON messages "
                           "WHEN NEW.subject = 'refused' BEGIN SELECT RAISE(ABORT, 'refused'); END",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  StoreRunner runner(std::move(*store));
  boost::asio::io_context io;

  // Hold the store thread until all three are queued, so that they share one transaction.
  std::promise<void> queued;
  std::shared_future<void> all_queued = queued.get_future().share();
  runner.AsyncRun<bool>(
      [all_queued](Store&) -> Result<bool> {
        all_queued.wait();
        return true;
      },
      [](Result<bool>) {});
  std::vector<Result<MessageId>> results(3, Fail(ErrorCode::kInternal, "no answer"));
  int answered = 0;
  auto work = boost::asio::make_work_guard(io);
  for (int i = 0; i < 3; ++i) {
    NewMessage m;
    m.account = *account;
    m.sender = "shop@example.com";
    m.recipients = {"a@example.net"};
    m.body = "Subject: x\r\n\r\nx\r\n";
    m.subject = i == 1 ? "refused" : "fine";
    runner.AsyncInsert(std::move(m), boost::asio::bind_executor(io, [&, i](auto r) {
                         results[i] = std::move(r);
                         if (++answered == 3) work.reset();
                       }));
  }
  queued.set_value();
  io.run();

  ASSERT_TRUE(results[0].has_value()) << results[0].error().message;
  ASSERT_FALSE(results[1].has_value());
  EXPECT_EQ(results[1].error().code, ErrorCode::kInvalidInput);
  ASSERT_TRUE(results[2].has_value()) << results[2].error().message;
  EXPECT_NE(*results[0], *results[2]);
}

// A question of the panel is answered on a reader connection while the store thread is busy,
// and sees what the store thread committed.
TEST_F(StoreRunnerTest, ReadsAreAnsweredBesideABusyStoreThread) {
  const std::string url = "sqlite:" + (dir_ / "mw.db").string();
  auto store = OpenStore(url);
  ASSERT_TRUE(store.has_value()) << store.error().message;
  AccountSpec spec;
  spec.name = "demo";
  ASSERT_TRUE((*store)->UpsertAccount(spec).has_value());
  std::vector<std::unique_ptr<Store>> readers;
  auto reader = OpenStore(url);
  ASSERT_TRUE(reader.has_value()) << reader.error().message;
  readers.push_back(std::move(*reader));
  StoreRunner runner(std::move(*store), 512, std::move(readers));
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);

  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  bool writer_done = false;
  runner.AsyncRun<bool>(
      [released](Store&) -> Result<bool> {
        released.wait();  // the store thread is busy until the read has been answered
        return true;
      },
      boost::asio::bind_executor(io, [&](Result<bool>) {
        writer_done = true;
        work.reset();
      }));
  std::optional<Account> found;
  runner.AsyncRead<std::optional<Account>>(
      [](Store& s) { return s.FindAccount("demo"); },
      boost::asio::bind_executor(io, [&](Result<std::optional<Account>> r) {
        ASSERT_TRUE(r.has_value()) << r.error().message;
        found = *r;
        EXPECT_FALSE(writer_done);
        release.set_value();
      }));
  io.run();
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->name, "demo");
  EXPECT_TRUE(writer_done);
}

}  // namespace
}  // namespace mailwarden
