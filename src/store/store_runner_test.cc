#include "store/store_runner.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"
#include "testing/temp_dir.h"

namespace mailwarden {

using testing::TempDir;
namespace {

class StoreRunnerTest : public ::testing::Test {
 protected:
  // A runner on a new store in the test's folder that holds the account "demo", with this many
  // reader connections beside its store thread; null (the test failed) if it cannot be made.
  std::unique_ptr<StoreRunner> RunnerWithReaders(int count) {
    const std::string url = "sqlite:" + (dir_.path() / "mw.db").string();
    auto store = OpenStore(url);
    if (!store) {
      ADD_FAILURE() << store.error().message;
      return nullptr;
    }
    AccountSpec spec;
    spec.name = "demo";
    EXPECT_TRUE((*store)->UpsertAccount(spec).has_value());
    std::vector<std::unique_ptr<Store>> readers;
    for (int i = 0; i < count; ++i) {
      auto reader = OpenStore(url);
      if (!reader) {
        ADD_FAILURE() << reader.error().message;
        return nullptr;
      }
      readers.push_back(std::move(*reader));
    }
    return std::make_unique<StoreRunner>(std::move(*store), 512, std::move(readers));
  }

  // Submits the messages so that they share one group commit (the store thread is held until
  // all are queued) and returns each one's answer.
  static std::vector<Result<MessageId>> InsertInOneCommit(StoreRunner& runner,
                                                          std::vector<NewMessage> messages) {
    boost::asio::io_context io;
    auto work = boost::asio::make_work_guard(io);
    std::promise<void> queued;
    std::shared_future<void> all_queued = queued.get_future().share();
    // The store thread is held in a job until every insert is queued. It must be in the job
    // before the first is queued: a thread that wakes to find the job and an insert waiting
    // commits the insert first, alone.
    auto holding = std::make_shared<std::promise<void>>();
    std::future<void> held = holding->get_future();
    runner.AsyncRun<bool>(
        [all_queued, holding](Store&) -> Result<bool> {
          holding->set_value();
          all_queued.wait();
          return true;
        },
        [](Result<bool>) {});
    held.wait();
    std::vector<Result<MessageId>> results(messages.size(),
                                           Fail(ErrorCode::kInternal, "no answer"));
    std::size_t answered = 0;
    for (std::size_t i = 0; i < messages.size(); ++i) {
      runner.AsyncInsert(std::move(messages[i]), boost::asio::bind_executor(io, [&, i](auto r) {
                           results[i] = std::move(r);
                           if (++answered == results.size()) work.reset();
                         }));
    }
    queued.set_value();
    io.run();
    return results;
  }

  TempDir dir_{"mw_runner_test"};
};

// One message the database refuses must not take the others of its group commit down with it.
TEST_F(StoreRunnerTest, AMessageTheDatabaseRefusesFailsAloneNotItsWholeBatch) {
  const std::filesystem::path file = dir_.path() / "mw.db";
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
  std::vector<NewMessage> messages;
  for (int i = 0; i < 3; ++i) {
    NewMessage& m = messages.emplace_back();
    m.account = *account;
    m.sender = "shop@example.com";
    m.recipients = {"a@example.net"};
    m.body = "Subject: x\r\n\r\nx\r\n";
    m.subject = i == 1 ? "refused" : "fine";
  }
  auto results = InsertInOneCommit(runner, std::move(messages));

  ASSERT_TRUE(results[0].has_value()) << results[0].error().message;
  ASSERT_FALSE(results[1].has_value());
  EXPECT_EQ(results[1].error().code, ErrorCode::kInvalidInput);
  ASSERT_TRUE(results[2].has_value()) << results[2].error().message;
  EXPECT_NE(*results[0], *results[2]);
}

// A question of the panel is answered on a reader connection while the store thread is busy,
// and sees what the store thread committed.
TEST_F(StoreRunnerTest, ReadsAreAnsweredBesideABusyStoreThread) {
  auto made = RunnerWithReaders(1);
  ASSERT_NE(made, nullptr);
  StoreRunner& runner = *made;
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

// Heavy reads (lists, sources) never take every reader: a token's check is answered while
// heavy reads keep the other readers busy.
TEST_F(StoreRunnerTest, ShortReadsAreAnsweredWhileHeavyReadsTakeTheOtherReaders) {
  auto made = RunnerWithReaders(2);
  ASSERT_NE(made, nullptr);
  StoreRunner& runner = *made;
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);

  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  int heavy_done = 0;
  for (int i = 0; i < 3; ++i) {  // more heavy reads than readers
    runner.AsyncReadHeavy<bool>(
        [released](Store&) -> Result<bool> {
          released.wait();
          return true;
        },
        boost::asio::bind_executor(io, [&](Result<bool>) {
          if (++heavy_done == 3) work.reset();
        }));
  }
  std::optional<Account> found;
  runner.AsyncRead<std::optional<Account>>(
      [](Store& s) { return s.FindAccount("demo"); },
      boost::asio::bind_executor(io, [&](Result<std::optional<Account>> r) {
        ASSERT_TRUE(r.has_value()) << r.error().message;
        found = *r;
        EXPECT_EQ(heavy_done, 0);
        release.set_value();
      }));
  // Bounded: if the short read waited behind the heavy ones, nothing would release them.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (heavy_done < 3 && std::chrono::steady_clock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(20));
  }
  const bool short_read_first = found.has_value();
  if (!short_read_first) {
    // Let the heavy reads end, and their answers come, before `io` goes.
    release.set_value();
    while (heavy_done < 3) io.run_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(short_read_first) << "the short read waited behind the heavy ones";
  EXPECT_EQ(heavy_done, 3);
}

// While delivery's offer stands, new mail is leased in its own group commit and handed over
// whole; when a batch holds more than the offer's slots, the rest stays queued, the offer
// ends, and delivery hears that a claim is needed.
TEST_F(StoreRunnerTest, NewMailIsLeasedOnArrivalWhileAnOfferStands) {
  auto store = OpenStore("sqlite:" + (dir_.path() / "mw.db").string());
  ASSERT_TRUE(store.has_value()) << store.error().message;
  AccountSpec spec;
  spec.name = "demo";
  auto account = (*store)->UpsertAccount(spec);
  ASSERT_TRUE(account.has_value());
  StoreRunner runner(std::move(*store));
  std::mutex mu;
  std::condition_variable heard;
  std::vector<StoreRunner::ArrivalNotice> notices;
  runner.SetArrivalHandler([&](StoreRunner::ArrivalNotice notice) {
    std::lock_guard lock(mu);
    notices.push_back(std::move(notice));
    heard.notify_all();
  });
  // The handler is told after the submitters are answered: waits for its n-th notice (from 1),
  // checks that no other came after it, and returns a copy (an empty one if it never came).
  auto nth_notice = [&](std::size_t n) {
    std::unique_lock lock(mu);
    EXPECT_TRUE(heard.wait_for(lock, std::chrono::seconds(30), [&] { return notices.size() >= n; }))
        << "notice " << n << " never came";
    EXPECT_EQ(notices.size(), n);
    return notices.size() >= n ? notices[n - 1] : StoreRunner::ArrivalNotice{};
  };
  runner.OfferArrivalLeases(
      ArrivalLease{.node = "n1", .limit = 2, .lease_for = std::chrono::minutes(15)});

  auto insert_batch = [&](int count) {
    std::vector<NewMessage> messages;
    for (int i = 0; i < count; ++i) {
      NewMessage& m = messages.emplace_back();
      m.account = *account;
      m.sender = "shop@example.com";
      m.recipients = {"a@example.net", "b@example.net"};
      m.body = "Subject: order " + std::to_string(i) + "\r\n\r\nthanks\r\n";
      m.subject = "order " + std::to_string(i);
      m.received_at = FromUnixMillis(1'700'000'000'000);
    }
    for (const auto& r : InsertInOneCommit(runner, std::move(messages))) {
      EXPECT_TRUE(r.has_value()) << r.error().message;
    }
  };
  // Three submissions in one group commit.
  insert_batch(3);
  {
    const auto notice = nth_notice(1);
    ASSERT_EQ(notice.leased.size(), 2u);
    EXPECT_TRUE(notice.queued) << "the third message waits for a claim";
    EXPECT_EQ(notice.returned, 0);
    const ClaimedMessage& first = notice.leased[0];
    EXPECT_EQ(first.account_name, "demo");
    EXPECT_EQ(first.subject, "order 0");
    EXPECT_EQ(first.body, "Subject: order 0\r\n\r\nthanks\r\n");
    ASSERT_EQ(first.recipients.size(), 2u);
    EXPECT_EQ(first.recipients[1].index, 1);
    EXPECT_EQ(first.recipients[1].address, "b@example.net");
    EXPECT_EQ(first.attempts, 0);
    EXPECT_EQ(notice.leased[1].subject, "order 1");
  }
  EXPECT_FALSE(runner.AddArrivalLease(0)) << "the offer ended with due mail queued";
  EXPECT_EQ(runner.WithdrawArrivalLeases().slots, 0);
  auto claim = [&] {
    return runner.RunSync<ClaimedBatch>([](Store& s) {
      return s.ClaimDue(ClaimRequest{.now = FromUnixMillis(1'700'000'000'000),
                                     .limit = 10,
                                     .lease_until = FromUnixMillis(1'700'000'060'000),
                                     .node = "n1"});
    });
  };
  auto third = claim();
  ASSERT_TRUE(third.has_value());
  ASSERT_EQ(third->messages.size(), 1u);
  EXPECT_EQ(third->messages[0].subject, "order 2");

  // A new offer: freed slots add to it, and withdrawing it gives back what was not taken.
  runner.OfferArrivalLeases(
      ArrivalLease{.node = "n1", .limit = 2, .lease_for = std::chrono::minutes(15)});
  EXPECT_TRUE(runner.AddArrivalLease(0));
  insert_batch(1);
  {
    const auto notice = nth_notice(2);
    EXPECT_EQ(notice.leased.size(), 1u);
    EXPECT_FALSE(notice.queued);
  }
  EXPECT_EQ(runner.WithdrawArrivalLeases().slots, 2);
  EXPECT_FALSE(runner.AddArrivalLease(0));
  insert_batch(1);
  {
    const auto notice = nth_notice(3);
    EXPECT_TRUE(notice.leased.empty()) << "no offer, no lease";
    EXPECT_TRUE(notice.queued);
    EXPECT_EQ(notice.returned_bytes, 0) << "no offer, no bytes to give back";
  }
  ASSERT_TRUE(claim().has_value());  // the last one, leased by a claim

  // Bytes: each body here is 28 bytes. An offer of 5 slots and 60 bytes leases two of three,
  // and the third, which would go past the bytes, ends the offer: slots and bytes come back.
  const std::int64_t body = 28;
  runner.OfferArrivalLeases(ArrivalLease{
      .node = "n1", .limit = 5, .lease_for = std::chrono::minutes(15), .max_bytes = 60});
  insert_batch(3);
  {
    const auto notice = nth_notice(4);
    EXPECT_EQ(notice.leased.size(), 2u);
    EXPECT_TRUE(notice.queued);
    EXPECT_EQ(notice.returned, 3);
    EXPECT_EQ(notice.returned_bytes, 60 - 2 * body);
  }
  auto left = claim();
  ASSERT_TRUE(left.has_value());
  ASSERT_EQ(left->messages.size(), 1u);
  EXPECT_EQ(left->messages[0].subject, "order 2");
  // A freed slot brings its body's bytes to the offer; what is not taken comes back.
  runner.OfferArrivalLeases(ArrivalLease{
      .node = "n1", .limit = 2, .lease_for = std::chrono::minutes(15), .max_bytes = 20});
  EXPECT_TRUE(runner.AddArrivalLease(body));
  insert_batch(1);
  {
    const auto notice = nth_notice(5);
    EXPECT_EQ(notice.leased.size(), 1u) << "20 + 28 bytes hold one body of 28";
    EXPECT_FALSE(notice.queued);
  }
  const StoreRunner::Untaken untaken = runner.WithdrawArrivalLeases();
  EXPECT_EQ(untaken.slots, 2);
  EXPECT_EQ(untaken.bytes, 20 + body - body);
}

}  // namespace
}  // namespace mailwarden
