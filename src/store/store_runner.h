// StoreRunner: the one writer. It owns a Store and a thread; every store operation of the
// daemon runs there, in order. Submissions that arrive while a transaction commits are
// gathered and committed together in the next one (group commit), so concurrent submitters
// share one fsync instead of queueing for one each. Bounces (AsyncRecordBounce) are grouped the
// same way; while the sites' submissions come, they take at most kBounceShare of the thread's
// time, and maintenance (AsyncRunBackground) kBackgroundShare (core/time_share.h).
//
// Callers are coroutines on the daemon's io_context: they co_await AsyncInsert / AsyncRun and
// are resumed on their own executor once the work is done (for inserts: committed, durable).
#pragma once

#include <atomic>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/system_executor.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "core/time_share.h"
#include "store/store.h"

namespace mailwarden {

class StoreRunner {
 public:
  // Starts the thread. The store is used only from that thread from now on. Each of `readers`
  // (more connections to the same database) gets a thread of its own for AsyncRead.
  explicit StoreRunner(std::unique_ptr<Store> store, std::size_t max_batch = 512,
                       std::vector<std::unique_ptr<Store>> readers = {});
  ~StoreRunner();
  StoreRunner(const StoreRunner&) = delete;
  StoreRunner& operator=(const StoreRunner&) = delete;

  // Stores the message in the next group commit. Completes with its id once the transaction
  // that holds it has committed, or with the error that made the whole batch fail.
  template <class Token>
  auto AsyncInsert(NewMessage message, Token&& token) {
    return boost::asio::async_initiate<Token, void(Result<MessageId>)>(
        [this](auto handler, NewMessage m) {
          auto ex = boost::asio::get_associated_executor(handler, boost::asio::system_executor());
          EnqueueInsert(std::move(m), [h = std::move(handler), ex](Result<MessageId> r) mutable {
            boost::asio::post(
                ex, [h = std::move(h), r = std::move(r)]() mutable { std::move(h)(std::move(r)); });
          });
        },
        token, std::move(message));
  }

  // Records the bounce in the next group commit of bounces (Store::RecordBounces, at the
  // newest `now` of the group): bounces that arrive while a transaction commits are gathered,
  // up to the batch size, and recorded together in the next one, as submissions are. Completes
  // with what it did once the transaction that holds it has committed, or with the error that
  // made the whole group fail (nothing of the group recorded). A bounce the database refuses
  // (kInvalidInput) does not fail the others: each goes again alone.
  template <class Token>
  auto AsyncRecordBounce(Bounce bounce, TimePoint now, Token&& token) {
    return boost::asio::async_initiate<Token, void(Result<BounceRecorded>)>(
        [this](auto handler, Bounce b, TimePoint at) {
          auto ex = boost::asio::get_associated_executor(handler, boost::asio::system_executor());
          EnqueueBounce(std::move(b), at,
                        [h = std::move(handler), ex](Result<BounceRecorded> r) mutable {
                          boost::asio::post(ex, [h = std::move(h), r = std::move(r)]() mutable {
                            std::move(h)(std::move(r));
                          });
                        });
        },
        token, std::move(bounce), now);
  }

  // Runs fn(store) on the store thread and completes with what it returns.
  //
  // In a coroutine, a lambda written inside the co_await expression must capture by reference
  // only (the coroutine waits, so what it refers to lives); one that captures by value must be
  // built as a named variable first: GCC 12 destroys a lambda temporary of a co_await
  // expression twice, a double free when it holds a string or a shared_ptr.
  template <class T, class Token>
  auto AsyncRun(std::function<Result<T>(Store&)> fn, Token&& token) {
    return Initiate<T>(std::move(fn), std::forward<Token>(token), Lane::kForeground);
  }

  // The same for work that only reads (the panel's and API's questions): it runs on a reader
  // connection, beside the store thread, so it never waits behind a group commit, a claim or
  // a purge batch; it sees what was committed when it starts. On the store thread when there
  // are no readers.
  template <class T, class Token>
  auto AsyncRead(std::function<Result<T>(Store&)> fn, Token&& token) {
    return Initiate<T>(std::move(fn), std::forward<Token>(token), Lane::kRead);
  }

  // The same for a read whose cost its caller chooses (a list of held mail, the sources of
  // 48 hours of mail): it runs on the readers too, but never on the first one, which stays
  // free for the short reads of AsyncRead (a token's check, an account's row) however many
  // heavy reads wait. A reader takes waiting short reads before heavy ones. With a single
  // reader, heavy reads share it (short ones first); with none, they run on the store thread.
  template <class T, class Token>
  auto AsyncReadHeavy(std::function<Result<T>(Store&)> fn, Token&& token) {
    return Initiate<T>(std::move(fn), std::forward<Token>(token), Lane::kHeavyRead);
  }

  // The same for background work (purges, expiry): it runs only when no submission, claim or
  // request is waiting, one job at a time, and while those keep coming it takes at most
  // kBackgroundShare of the store thread's time, so maintenance of a million messages never
  // slows other accounts' mail by much; alone, it runs flat out. Keep each job short (a
  // bounded batch): a job is the longest it delays anything.
  template <class T, class Token>
  auto AsyncRunBackground(std::function<Result<T>(Store&)> fn, Token&& token) {
    return Initiate<T>(std::move(fn), std::forward<Token>(token), Lane::kBackground);
  }

  // Runs fn(store) on the store thread and waits for it: for start-up and tests only.
  template <class T>
  Result<T> RunSync(std::function<Result<T>(Store&)> fn) {
    std::promise<Result<T>> done;
    auto future = done.get_future();
    EnqueueRun([&](Store& s) { done.set_value(fn(s)); });
    return future.get();
  }

  // Mail leased on arrival. Delivery offers a number of its free slots (ArrivalLease), and
  // while the offer stands each group commit leases new mail of active accounts against it in
  // the insert's own transaction, so that mail needs no claim (a transaction that would read
  // it back). After each commit the handler hears, on the store thread, what was leased (the
  // messages, to deliver), how many slots taken for the batch came back unused to the
  // offerer because the offer had ended meanwhile, and whether mail was left queued (to
  // claim). The offer ends when delivery withdraws it, or when a batch holds more leasable
  // mail than its slots: then due mail is queued, and only a claim takes it in order.
  struct ArrivalNotice {
    std::vector<ClaimedMessage> leased;
    int returned = 0;  // slots given back: the offer had ended while the batch committed
    std::int64_t returned_bytes = 0;  // and the bytes of the offer the batch did not use
    bool queued = false;  // some message was stored unleased (held, skipped, no slot left)
  };
  using ArrivalHandler = std::function<void(ArrivalNotice)>;
  // Set before the first insert; the handler is called on the store thread.
  void SetArrivalHandler(ArrivalHandler handler);
  // Replaces any standing offer. Any thread.
  void OfferArrivalLeases(ArrivalLease offer);
  // A freed slot, and the bytes of the body delivered in it, for the standing offer: true if
  // one stands (it has the slot and the bytes now), false if none does (the caller keeps the
  // slot). Any thread.
  bool AddArrivalLease(std::int64_t bytes);
  // Ends the offer and returns its slots and bytes not taken; those taken by a batch that is
  // committing come back through the handler (ArrivalNotice::returned, returned_bytes). Any
  // thread.
  struct Untaken {
    int slots = 0;
    std::int64_t bytes = 0;
  };
  Untaken WithdrawArrivalLeases();

  // After each batch of new mail, on the store thread: how many of its messages were refused
  // for their account's storage quota, and how many because the store was short of room
  // (StorageLimits::min_free_bytes, or a full disk). Set before the first insert.
  using RoomHook = std::function<void(std::int64_t over_quota, std::int64_t short_of_room)>;
  void SetRoomHook(RoomHook hook) { on_room_ = std::move(hook); }

  // Finishes what is queued, then stops the thread. Called by the destructor too.
  void Stop();

  // How many group commits and messages so far (for metrics and benchmarks).
  std::uint64_t commits() const { return commits_.load(); }
  std::uint64_t committed_messages() const { return committed_messages_.load(); }
  // The same for bounces (AsyncRecordBounce): transactions and bounces recorded.
  std::uint64_t bounce_commits() const { return bounce_commits_.load(); }
  std::uint64_t committed_bounces() const { return committed_bounces_.load(); }

 private:
  enum class Lane { kForeground, kBackground, kRead, kHeavyRead };

  template <class T, class Token>
  auto Initiate(std::function<Result<T>(Store&)> fn, Token&& token, Lane lane) {
    return boost::asio::async_initiate<Token, void(Result<T>)>(
        [this, lane](auto handler, std::function<Result<T>(Store&)> f) {
          auto ex = boost::asio::get_associated_executor(handler, boost::asio::system_executor());
          EnqueueRun(
              [f = std::move(f), h = std::move(handler), ex](Store& s) mutable {
                Result<T> r = f(s);
                boost::asio::post(ex, [h = std::move(h), r = std::move(r)]() mutable {
                  std::move(h)(std::move(r));
                });
              },
              lane);
        },
        token, std::move(fn));
  }

  // Type-erased, move-only callables (completion handlers are move-only). A plain virtual
  // holder: GCC 12's std::move_only_function corrupted captured strings when moved.
  template <class... Args>
  class Callback {
   public:
    Callback() = default;
    template <class F>
    Callback(F f) : impl_(std::make_unique<Impl<F>>(std::move(f))) {}
    void operator()(Args... args) { impl_->Call(std::forward<Args>(args)...); }

   private:
    struct Base {
      virtual ~Base() = default;
      virtual void Call(Args... args) = 0;
    };
    template <class F>
    struct Impl final : Base {
      explicit Impl(F f) : f(std::move(f)) {}
      void Call(Args... args) override { f(std::forward<Args>(args)...); }
      F f;
    };
    std::unique_ptr<Base> impl_;
  };
  using InsertDone = Callback<Result<MessageId>>;
  using Job = Callback<Store&>;
  struct PendingInsert {
    NewMessage message;
    InsertDone done;
  };

  void EnqueueInsert(NewMessage message, InsertDone done);
  using BounceDone = Callback<Result<BounceRecorded>>;
  struct PendingBounce {
    Bounce bounce;
    TimePoint now;
    BounceDone done;
  };
  void EnqueueBounce(Bounce bounce, TimePoint now, BounceDone done);
  // Records the group in one transaction and completes each bounce. Store thread only.
  void RecordBounceBatch(std::vector<PendingBounce>& batch);
  // Stores the batch (leasing what the offer allows), completes each submission, and tells
  // the arrival handler. Store thread only.
  void InsertBatch(std::vector<PendingInsert>& batch, std::vector<NewMessage>& messages);
  void EnqueueRun(Job job, Lane lane = Lane::kForeground);
  void Loop();
  // takes_heavy: whether this reader also answers AsyncReadHeavy.
  void ReadLoop(Store& store, bool takes_heavy);
  // Time shares of the store thread (loop thread only), over windows of kWindow: the
  // background lane's while anything else comes, the bounces' while the sites' submissions do.
  static constexpr std::chrono::milliseconds kWindow{250};
  static constexpr double kBackgroundShare = 0.05;
  static constexpr double kBounceShare = 0.05;
  TimeShare background_share_{kWindow, kBackgroundShare};
  TimeShare bounce_share_{kWindow, kBounceShare};

  std::unique_ptr<Store> store_;
  const std::size_t max_batch_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable reads_cv_;
  std::deque<PendingInsert> inserts_;
  std::deque<PendingBounce> bounces_;
  std::deque<Job> jobs_;
  std::deque<Job> background_;
  std::deque<Job> reads_;
  std::deque<Job> heavy_reads_;
  ArrivalHandler on_arrival_;
  RoomHook on_room_;
  // offer_.limit, offer_.max_bytes: slots and bytes not taken yet; guarded by mu_.
  ArrivalLease offer_;
  bool offer_stands_ = false;           // guarded by mu_
  std::uint64_t offer_generation_ = 0;  // each new offer's number; guarded by mu_
  std::vector<std::unique_ptr<Store>> readers_;
  std::vector<std::thread> reader_threads_;
  bool stopping_ = false;
  std::atomic<std::uint64_t> commits_{0};
  std::atomic<std::uint64_t> committed_messages_{0};
  std::atomic<std::uint64_t> bounce_commits_{0};
  std::atomic<std::uint64_t> committed_bounces_{0};
  std::thread thread_;
};

}  // namespace mailwarden
