#include "store/store_runner.h"

#include <pthread.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

namespace mailwarden {
namespace {

// The message as delivery gets it, from what was stored: every recipient pending, no attempt
// before this one.
ClaimedMessage LeasedOnArrival(const InsertedMessage& stored, NewMessage message) {
  ClaimedMessage claimed;
  claimed.id = stored.id;
  claimed.account = message.account;
  claimed.account_name = stored.account_name;
  claimed.sender = std::move(message.sender);
  claimed.recipients.reserve(message.recipients.size());
  for (std::size_t i = 0; i < message.recipients.size(); ++i) {
    claimed.recipients.push_back(
        {.index = static_cast<int>(i),
         .address = std::move(message.recipients[i]),
         .suppressed = i < stored.suppressed.size() ? stored.suppressed[i] : std::nullopt});
  }
  claimed.body = std::move(message.body);
  claimed.subject = std::move(message.subject);
  claimed.script = std::move(message.script);
  claimed.attempts = 0;
  claimed.received_at = message.received_at;
  return claimed;
}

// a + b for byte counts that may be "no limit" (the type's maximum), which stays so.
std::int64_t AddBytes(std::int64_t a, std::int64_t b) {
  std::int64_t sum = 0;
  return __builtin_add_overflow(a, b, &sum) ? std::numeric_limits<std::int64_t>::max() : sum;
}

}  // namespace

StoreRunner::StoreRunner(std::unique_ptr<Store> store, std::size_t max_batch,
                         std::vector<std::unique_ptr<Store>> readers)
    : store_(std::move(store)),
      max_batch_(max_batch),
      readers_(std::move(readers)),
      thread_([this] { Loop(); }) {
  for (std::size_t i = 0; i < readers_.size(); ++i) {
    // The first reader is kept for short reads when there is another for heavy ones.
    const bool takes_heavy = i > 0 || readers_.size() == 1;
    reader_threads_.emplace_back(
        [this, r = readers_[i].get(), takes_heavy] { ReadLoop(*r, takes_heavy); });
  }
}

StoreRunner::~StoreRunner() { Stop(); }

void StoreRunner::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  reads_cv_.notify_all();
  for (auto& t : reader_threads_) {
    if (t.joinable()) t.join();
  }
  if (thread_.joinable()) thread_.join();
}

// The notifications come after the lock is released: a thread woken while the mutex is still
// held would run only to block on it, two more context switches per submission.
void StoreRunner::EnqueueInsert(NewMessage message, InsertDone done) {
  bool queued = false;
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      inserts_.push_back({std::move(message), std::move(done)});
      queued = true;
    }
  }
  if (queued) {
    cv_.notify_one();
  } else {
    done(Fail(ErrorCode::kUnavailable, "the daemon is shutting down"));
  }
}

void StoreRunner::EnqueueBounce(Bounce bounce, TimePoint now, BounceDone done) {
  bool queued = false;
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      bounces_.push_back({std::move(bounce), now, std::move(done)});
      queued = true;
    }
  }
  if (queued) {
    cv_.notify_one();
  } else {
    done(Fail(ErrorCode::kUnavailable, "the daemon is shutting down"));
  }
}

void StoreRunner::SetArrivalHandler(ArrivalHandler handler) { on_arrival_ = std::move(handler); }

void StoreRunner::OfferArrivalLeases(ArrivalLease offer) {
  std::lock_guard lock(mu_);
  offer_ = std::move(offer);
  offer_stands_ = !offer_.node.empty() && offer_.limit > 0;
  ++offer_generation_;
}

bool StoreRunner::AddArrivalLease(std::int64_t bytes) {
  std::lock_guard lock(mu_);
  if (!offer_stands_) return false;
  ++offer_.limit;
  offer_.max_bytes = AddBytes(offer_.max_bytes, bytes);
  return true;
}

StoreRunner::Untaken StoreRunner::WithdrawArrivalLeases() {
  std::lock_guard lock(mu_);
  Untaken unused;
  if (offer_stands_) unused = {.slots = offer_.limit, .bytes = offer_.max_bytes};
  offer_stands_ = false;
  offer_.limit = 0;
  offer_.max_bytes = 0;
  return unused;
}

void StoreRunner::InsertBatch(std::vector<PendingInsert>& batch,
                              std::vector<NewMessage>& messages) {
  messages.clear();
  messages.reserve(batch.size());
  for (auto& p : batch) messages.push_back(std::move(p.message));
  // The slots (and bytes) this batch may use are taken from the offer now, so that a
  // withdrawal while it commits does not hand them back twice.
  ArrivalLease lease;
  lease.max_bytes = 0;  // no offer: nothing taken, nothing to give back
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(mu_);
    if (offer_stands_ && on_arrival_) {
      lease = offer_;  // node, lease_for, skip
      lease.limit = std::min(offer_.limit, static_cast<int>(messages.size()));
      offer_.limit -= lease.limit;
      offer_.max_bytes = 0;  // all of it: what is left comes back after the commit
      generation = offer_generation_;
    }
  }
  ArrivalNotice notice;
  int used = 0;
  std::int64_t used_bytes = 0;
  bool exhausted = false;
  std::int64_t over_quota = 0;
  std::int64_t short_of_room = 0;
  // Answers the submitters of `stored`, the batch's messages from `first` on, and notes what
  // delivery must hear.
  auto answer = [&](const InsertedBatch& stored, std::size_t first) {
    exhausted = exhausted || stored.lease_exhausted;
    commits_.fetch_add(1);
    committed_messages_.fetch_add(stored.messages.size());
    for (std::size_t k = 0; k < stored.messages.size(); ++k) {
      const InsertedMessage& m = stored.messages[k];
      if (m.refused) {
        ++over_quota;
        batch[first + k].done(std::unexpected(*m.refused));
        continue;
      }
      if (m.leased) {
        ++used;
        used_bytes += static_cast<std::int64_t>(messages[first + k].body.size());
        notice.leased.push_back(LeasedOnArrival(m, std::move(messages[first + k])));
      } else {
        notice.queued = true;
      }
      batch[first + k].done(m.id);
    }
  };
  // One transaction for the whole batch: it commits (and is fsync'd) before any of its
  // submitters hears "stored" — the acknowledgement promise of DESIGN.md.
  auto stored = store_->InsertMessages(messages, lease);
  if (stored) {
    answer(*stored, 0);
  } else if (stored.error().code == ErrorCode::kInvalidInput && batch.size() > 1) {
    // One message the database refuses (say, bytes its text type does not take) must not
    // fail the others that shared its transaction: each goes again alone.
    for (std::size_t i = 0; i < batch.size(); ++i) {
      ArrivalLease rest = lease;
      rest.limit = lease.limit - used;
      rest.max_bytes = lease.max_bytes - used_bytes;
      auto one = store_->InsertMessages(std::span<const NewMessage>(&messages[i], 1), rest);
      if (one) {
        answer(*one, i);
      } else {
        if (one.error().code == ErrorCode::kNoRoom) ++short_of_room;
        batch[i].done(std::unexpected(one.error()));
      }
    }
  } else {
    if (stored.error().code == ErrorCode::kNoRoom) {
      short_of_room = static_cast<std::int64_t>(batch.size());
    }
    for (auto& p : batch) p.done(std::unexpected(stored.error()));
  }
  if (on_room_) on_room_(over_quota, short_of_room);
  notice.returned = lease.limit - used;
  notice.returned_bytes = lease.max_bytes - used_bytes;
  {
    std::lock_guard lock(mu_);
    const bool same_offer = offer_stands_ && offer_generation_ == generation;
    if (same_offer && exhausted) {
      // Due mail was left queued: from now on only a claim takes it, oldest first.
      notice.returned += offer_.limit;
      notice.returned_bytes = AddBytes(notice.returned_bytes, offer_.max_bytes);
      offer_.limit = 0;
      offer_.max_bytes = 0;
      offer_stands_ = false;
    } else if (same_offer) {
      offer_.limit += notice.returned;
      offer_.max_bytes = AddBytes(offer_.max_bytes, notice.returned_bytes);
      notice.returned = 0;
      notice.returned_bytes = 0;
    }
  }
  if (on_arrival_ && (notice.returned > 0 || notice.returned_bytes > 0 || notice.queued ||
                      !notice.leased.empty())) {
    on_arrival_(std::move(notice));
  }
}

void StoreRunner::RecordBounceBatch(std::vector<PendingBounce>& batch) {
  std::vector<Bounce> bounces;
  bounces.reserve(batch.size());
  TimePoint now{};
  for (auto& p : batch) {
    bounces.push_back(std::move(p.bounce));
    now = std::max(now, p.now);
  }
  // One transaction for the group: it commits (and is fsync'd) before any bounce of it is
  // answered 250, so a failed commit is a temporary failure for every one of them.
  auto recorded = store_->RecordBounces(bounces, now);
  if (recorded) {
    bounce_commits_.fetch_add(1);
    committed_bounces_.fetch_add(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move((*recorded)[i]));
  } else if (recorded.error().code == ErrorCode::kInvalidInput && batch.size() > 1) {
    // One bounce the database refuses must not fail the others of its group: each alone.
    for (std::size_t i = 0; i < batch.size(); ++i) {
      auto one = store_->RecordBounces(std::span<const Bounce>(&bounces[i], 1), batch[i].now);
      if (!one) {
        batch[i].done(std::unexpected(one.error()));
        continue;
      }
      bounce_commits_.fetch_add(1);
      committed_bounces_.fetch_add(1);
      batch[i].done(std::move(one->front()));
    }
  } else {
    for (auto& p : batch) p.done(std::unexpected(recorded.error()));
  }
}

void StoreRunner::EnqueueRun(Job job, Lane lane) {
  const bool read = (lane == Lane::kRead || lane == Lane::kHeavyRead) && !readers_.empty();
  {
    std::lock_guard lock(mu_);
    if (read) {
      (lane == Lane::kHeavyRead ? heavy_reads_ : reads_).push_back(std::move(job));
    } else {
      (lane == Lane::kBackground ? background_ : jobs_).push_back(std::move(job));
    }
  }
  // Every reader is woken for a read: the one kept for short reads must not be the only one
  // woken for a heavy read it does not take.
  if (read) {
    reads_cv_.notify_all();
  } else {
    cv_.notify_one();
  }
}

void StoreRunner::ReadLoop(Store& store, bool takes_heavy) {
  pthread_setname_np(pthread_self(), "mw-store-read");  // as top -H and perf show it
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      auto has_work = [&] { return !reads_.empty() || (takes_heavy && !heavy_reads_.empty()); };
      reads_cv_.wait(lock, [&] { return stopping_ || has_work(); });
      if (!has_work()) return;  // stopping, and nothing left to answer
      // Short reads first: a token check waits for no heavy read that came before it.
      auto& queue = !reads_.empty() ? reads_ : heavy_reads_;
      job = std::move(queue.front());
      queue.pop_front();
    }
    job(store);
  }
}

void StoreRunner::Loop() {
  pthread_setname_np(pthread_self(), "mw-store");
  std::vector<PendingInsert> batch;
  std::vector<NewMessage> messages;
  std::vector<PendingBounce> bounces;
  for (;;) {
    std::deque<Job> jobs;
    batch.clear();
    bounces.clear();
    bool background = false;
    {
      std::unique_lock lock(mu_);
      for (;;) {
        const auto now = std::chrono::steady_clock::now();
        background_share_.Roll(now);
        bounce_share_.Roll(now);
        if (stopping_ || !inserts_.empty() || !jobs_.empty()) break;
        if (!bounces_.empty() && bounce_share_.Allowed()) break;
        if (!background_.empty() && background_share_.Allowed()) break;
        // Work past its share waits for the next window of its share.
        auto until = TimeShare::Clock::time_point::max();
        if (!bounces_.empty()) until = std::min(until, bounce_share_.window_end());
        if (!background_.empty()) until = std::min(until, background_share_.window_end());
        if (until == TimeShare::Clock::time_point::max()) {
          cv_.wait(lock);
        } else {
          cv_.wait_until(lock, until);
        }
      }
      if (stopping_ && inserts_.empty() && bounces_.empty() && jobs_.empty() &&
          background_.empty()) {
        return;
      }
      // Everything that arrived while the previous transaction committed goes into this one.
      while (!inserts_.empty() && batch.size() < max_batch_) {
        batch.push_back(std::move(inserts_.front()));
        inserts_.pop_front();
      }
      // The sites' own submissions (not mailwarden's mail: a forwarded bounce is one) make
      // the bounces take only their share of this thread while they come.
      if (std::ranges::any_of(
              batch, [](const PendingInsert& p) { return p.message.via != kViaMailwarden; })) {
        bounce_share_.NoteOther();
      }
      // Bounces likewise, in a group of their own (Store::RecordBounces).
      if (stopping_ || bounce_share_.Allowed()) {
        while (!bounces_.empty() && bounces.size() < max_batch_) {
          bounces.push_back(std::move(bounces_.front()));
          bounces_.pop_front();
        }
      }
      jobs.swap(jobs_);
      if (!batch.empty() || !bounces.empty() || !jobs.empty()) {
        background_share_.NoteOther();
      } else if (!background_.empty() && (stopping_ || background_share_.Allowed())) {
        // Background work only when nothing else waits, and one job at a time.
        jobs.push_back(std::move(background_.front()));
        background_.pop_front();
        background = true;
      }
    }
    if (!batch.empty()) InsertBatch(batch, messages);
    if (!bounces.empty()) {
      const auto started = std::chrono::steady_clock::now();
      RecordBounceBatch(bounces);
      bounce_share_.Used(std::chrono::steady_clock::now() - started);
    }
    const auto started = std::chrono::steady_clock::now();
    for (auto& job : jobs) job(*store_);
    if (background) background_share_.Used(std::chrono::steady_clock::now() - started);
  }
}

}  // namespace mailwarden
