// The bounce intake's group commit: bounces that arrive together are recorded in one
// transaction, each answered only after that commit, and a commit that fails is a temporary
// failure for every bounce of the group. On SQLite, through the test VFS that fails the WAL's
// writes as a failing disk would.
#include "submit/bounce_intake.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/local_day.h"
#include "mime/message_prep.h"
#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/test_vfs.h"
#include "testing/temp_dir.h"

namespace mailwarden {
namespace {

namespace asio = boost::asio;
using testing::TempDir;

constexpr int kBounces = 8;
const TimePoint kNow{std::chrono::milliseconds{1'790'000'000'000}};

class FixedClock final : public Clock {
 public:
  TimePoint Now() const override { return kNow; }
};

// A DSN as Postfix writes one: the recipient refused with 5.1.1 after the relay took it.
std::string Dsn(const std::string& return_path) {
  return "From: MAILER-DAEMON@relay.example.net\r\n"
         "To: " +
         return_path +
         "\r\n"
         "Subject: Undelivered Mail Returned to Sender\r\n"
         "MIME-Version: 1.0\r\n"
         "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n"
         "\r\n"
         "--B\r\n"
         "Content-Type: text/plain\r\n"
         "\r\n"
         "Your message could not be delivered.\r\n"
         "--B\r\n"
         "Content-Type: message/delivery-status\r\n"
         "\r\n"
         "Reporting-MTA: dns; relay.example.net\r\n"
         "\r\n"
         "Final-Recipient: rfc822; nobody@dest.example\r\n"
         "Action: failed\r\n"
         "Status: 5.1.1\r\n"
         "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
         "--B--\r\n";
}

// One relay session's DSN: what the intake answers goes into `answer`. (A coroutine function,
// not a lambda: its arguments live in its frame.)
// The nice value of this process's thread named `name` (from /proc), or nothing.
std::optional<int> NiceOfThread(const std::string& name) {
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::string comm;
    std::getline(std::ifstream(task.path() / "comm"), comm);
    if (comm != name) continue;
    std::stringstream stat;
    stat << std::ifstream(task.path() / "stat").rdbuf();
    const std::string text = stat.str();
    // After the command's closing parenthesis: field 3 (state) onwards; nice is field 19.
    std::istringstream fields(text.substr(text.rfind(')') + 1));
    std::string field;
    for (int i = 3; i <= 19 && fields >> field; ++i) {
    }
    return std::stoi(field);
  }
  return std::nullopt;
}

asio::awaitable<void> GiveDsn(BounceIntake& intake, std::string to,
                              std::optional<Result<std::int64_t>>& answer) {
  // Named, not temporaries of the co_await expression (GCC 12 destroys those twice).
  const SmtpIdentity relay{};
  SmtpEnvelope envelope;
  envelope.mail_from = "";
  envelope.rcpt_to = {to};
  std::string data = Dsn(to);
  answer = co_await intake.Accept(relay, std::move(envelope), std::move(data));
}

class BounceGroupCommit : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { vfs_ = new TestVfs(); }
  static void TearDownTestSuite() {
    delete vfs_;
    vfs_ = nullptr;
  }

  void SetUp() override {
    InitMime();
    config_.bounces.domain = "bounces.example";
    config_.bounces.secret = "0123456789abcdef0123456789abcdef";
    auto store = SqliteStore::Open(db());
    ASSERT_TRUE(store.has_value()) << store.error().message;
    AccountSpec spec;
    spec.name = "shop";
    auto account = (*store)->UpsertAccount(spec);
    ASSERT_TRUE(account.has_value()) << account.error().message;
    account_ = *account;
    std::vector<NewMessage> messages;
    for (int i = 0; i < kBounces; ++i) messages.push_back(ShopMessage());
    auto ids = (*store)->InsertMessages(messages);
    ASSERT_TRUE(ids.has_value()) << ids.error().message;
    ids_ = *ids;
    // The relay took each message (250): what a later bounce turns into a failure.
    auto claimed = (*store)->ClaimDue({.now = kNow,
                                       .limit = kBounces,
                                       .lease_until = kNow + std::chrono::minutes(5),
                                       .node = "n1"});
    ASSERT_TRUE(claimed.has_value()) << claimed.error().message;
    std::vector<DeliveryOutcome> sent;
    for (const MessageId id : ids_) {
      sent.push_back(
          {.id = id,
           .recipients = {{.index = 0, .status = RecipientStatus::kSent, .reply = "250 queued"}},
           .next_attempt = {}});
    }
    ASSERT_TRUE((*store)->RecordOutcomes(sent, kNow).has_value());
    runner_.emplace(std::move(*store));
    intake_.emplace(*runner_, config_, clock_);
  }

  void TearDown() override { vfs_->fail_wal_writes = false; }

  std::filesystem::path db() const { return dir_.path() / "mailwarden.db"; }

  // A message of the shop's script, as the drop-in stores it.
  NewMessage ShopMessage() const {
    NewMessage m;
    m.account = account_;
    m.sender = "www@shop.example";
    m.recipients = {"nobody@dest.example"};
    m.body = "Subject: Your order\r\n\r\nThank you.\r\n";
    m.subject = "Your order";
    m.received_at = kNow;
    m.via = "drop-in";
    return m;
  }

  // The errors of the day, read through a connection of its own.
  std::int64_t ErrorsToday() {
    auto store = SqliteStore::Open(db());
    EXPECT_TRUE(store.has_value());
    if (!store) return -1;
    auto counters = (*store)->GetCounters(account_, LocalDayNumber(kNow));
    EXPECT_TRUE(counters.has_value());
    return counters ? counters->errors : -1;
  }

  // Hands the intake one DSN per message, all at once, while the store thread is busy with
  // something else, so that they arrive together; `before_release` runs while they wait.
  // Returns what each Accept answered.
  std::vector<Result<std::int64_t>> BounceAllTogether(const std::function<void()>& before_release) {
    asio::io_context& io = io_;
    auto guard = asio::make_work_guard(io);
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    auto started = std::make_shared<std::promise<void>>();
    std::future<void> running = started->get_future();
    std::function<Result<int>(Store&)> busy = [released, started](Store&) -> Result<int> {
      started->set_value();
      released.wait();
      return 0;
    };
    runner_->AsyncRun<int>(std::move(busy), [](Result<int>) {});
    running.wait();  // the store thread is taken: every bounce below waits for the next group
    const ReturnPath return_path(config_.bounces.domain, config_.bounces.secret);
    std::vector<std::optional<Result<std::int64_t>>> answers(ids_.size());
    for (std::size_t i = 0; i < ids_.size(); ++i) {
      const std::string to = return_path.Address(ids_[i], account_);
      asio::co_spawn(io, GiveDsn(*intake_, to, answers[i]), asio::detached);
    }
    io.poll();  // each bounce parsed and waiting for the store
    for (const auto& a : answers) EXPECT_FALSE(a.has_value()) << "answered before its commit";
    before_release();
    release.set_value();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    auto all_answered = [&] {
      for (const auto& a : answers) {
        if (!a) return false;
      }
      return true;
    };
    while (!all_answered() && std::chrono::steady_clock::now() < deadline) {
      io.run_for(std::chrono::milliseconds(10));
    }
    std::vector<Result<std::int64_t>> out;
    for (auto& a : answers) {
      out.push_back(a ? std::move(*a) : Fail(ErrorCode::kInternal, "no answer in 30 s"));
    }
    return out;
  }

  static inline TestVfs* vfs_ = nullptr;
  TempDir dir_{"mw_bounce_intake_test"};
  Config config_;
  FixedClock clock_;
  AccountId account_ = 0;
  std::vector<MessageId> ids_;
  // The loop the sessions run on. It outlives the intake: the low-priority reader's thread may
  // still be letting go of the loop's executor after the last answer came (the intake's
  // destructor joins that thread), as the daemon's loop outlives its intakes.
  asio::io_context io_;
  std::optional<StoreRunner> runner_;
  std::optional<BounceIntake> intake_;
};

TEST_F(BounceGroupCommit, BouncesThatArriveTogetherShareOneCommitAndEachCountsOnce) {
  const auto commits = runner_->bounce_commits();
  const auto answers = BounceAllTogether([] {});
  for (std::size_t i = 0; i < answers.size(); ++i) {
    ASSERT_TRUE(answers[i].has_value()) << answers[i].error().message;
    EXPECT_EQ(*answers[i], ids_[i]) << "250, naming the message the bounce is about";
  }
  EXPECT_EQ(runner_->bounce_commits() - commits, 1u) << "one transaction for the group";
  EXPECT_EQ(runner_->committed_bounces(), static_cast<std::uint64_t>(kBounces));
  runner_.reset();  // (its thread ends; what it committed stays)
  EXPECT_EQ(ErrorsToday(), kBounces);
}

TEST_F(BounceGroupCommit, BouncesReadOnTheLowPriorityThreadAreRecordedAndAnsweredTheSame) {
  intake_->ParseAtLowPriority();
  const auto answers = BounceAllTogether([] {});
  for (std::size_t i = 0; i < answers.size(); ++i) {
    ASSERT_TRUE(answers[i].has_value()) << answers[i].error().message;
    EXPECT_EQ(*answers[i], ids_[i]);
  }
  EXPECT_EQ(NiceOfThread("mw-bounces"), 19) << "the reader's thread, at the lowest priority";
  runner_.reset();
  EXPECT_EQ(ErrorsToday(), kBounces);
}

TEST_F(BounceGroupCommit, BouncesAreStillRecordedWhileTheSitesKeepSubmitting) {
  // While sites submit, bounces take only a share of the store thread: they wait, and are
  // recorded all the same.
  std::atomic<bool> stop{false};
  std::atomic<int> stored{0};
  std::thread site([&] {
    while (!stop) {
      std::promise<void> done;
      runner_->AsyncInsert(ShopMessage(), [&](Result<MessageId> r) {
        if (r) ++stored;
        done.set_value();
      });
      done.get_future().wait();
    }
  });
  // The bounces arrive once the site is submitting (its first message stored), not before.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  auto site_stored_more_than = [&](int count) {
    while (stored <= count && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    return stored > count;
  };
  ASSERT_TRUE(site_stored_more_than(0)) << "the site's first submission, in 30 s";
  const int stored_before = stored;
  const auto answers = BounceAllTogether([] {});
  // The site goes on submitting: the bounces did not stop it.
  const bool site_went_on = site_stored_more_than(stored_before);
  stop = true;
  site.join();
  for (std::size_t i = 0; i < answers.size(); ++i) {
    ASSERT_TRUE(answers[i].has_value()) << answers[i].error().message;
    EXPECT_EQ(*answers[i], ids_[i]);
  }
  EXPECT_TRUE(site_went_on) << "the site's submissions went on";
  runner_.reset();
  EXPECT_EQ(ErrorsToday(), kBounces);
}

TEST_F(BounceGroupCommit, AFailedCommitIsATemporaryFailureForEveryBounceOfTheGroup) {
  const auto answers = BounceAllTogether([] { vfs_->fail_wal_writes = true; });
  for (const auto& answer : answers) {
    ASSERT_FALSE(answer.has_value()) << "250 for a bounce its commit did not keep";
    // What the SMTP session answers 451 4.3.0 (try again later), not a refusal.
    EXPECT_EQ(answer.error().code, ErrorCode::kUnavailable) << answer.error().message;
  }
  EXPECT_EQ(runner_->committed_bounces(), 0u);
  vfs_->fail_wal_writes = false;
  runner_.reset();
  EXPECT_EQ(ErrorsToday(), 0) << "nothing of the failed group is recorded";
}

TEST_F(BounceGroupCommit, ABounceBeforeItsDeliveryIsStoredIsToldToTryAgain) {
  // One more message, taken by the relay (claimed), its outcome not stored yet.
  std::promise<Result<MessageId>> taken;
  std::function<Result<MessageId>(Store&)> take = [this](Store& s) -> Result<MessageId> {
    const std::vector<NewMessage> one = {ShopMessage()};
    MW_ASSIGN_OR_RETURN(const std::vector<MessageId> ids, s.InsertMessages(one));
    MW_ASSIGN_OR_RETURN(const auto claimed,
                        s.ClaimDue({.now = kNow,
                                    .limit = 1,
                                    .lease_until = kNow + std::chrono::minutes(5),
                                    .node = "n1"}));
    if (claimed.messages.size() != 1) return Fail(ErrorCode::kInternal, "not claimed");
    return ids[0];
  };
  runner_->AsyncRun<MessageId>(std::move(take),
                               [&taken](Result<MessageId> r) { taken.set_value(std::move(r)); });
  const Result<MessageId> id = taken.get_future().get();
  ASSERT_TRUE(id.has_value()) << id.error().message;

  asio::io_context& io = io_;
  std::optional<Result<std::int64_t>> answer;
  const ReturnPath return_path(config_.bounces.domain, config_.bounces.secret);
  asio::co_spawn(io, GiveDsn(*intake_, return_path.Address(*id, account_), answer), asio::detached);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!answer && std::chrono::steady_clock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(answer.has_value()) << "no answer in 30 s";
  ASSERT_FALSE(answer->has_value()) << "250 for a bounce nothing was recorded of";
  EXPECT_EQ(answer->error().code, ErrorCode::kUnavailable) << answer->error().message;
  runner_.reset();
  EXPECT_EQ(ErrorsToday(), 0);
}

}  // namespace
}  // namespace mailwarden
