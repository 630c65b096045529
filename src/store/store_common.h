// What the Store implementations share that has nothing to do with their engine: how a source
// value is cut and counted, how an hour is numbered, how a header section ends.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "core/result.h"
#include "core/types.h"
#include "store/store.h"

namespace mailwarden {

// Old source rows deleted per InsertMessages at most.
inline constexpr std::int64_t kSourcePruneBatch = 1000;

// The unix hour of t (floor, also before 1970).
std::int64_t UnixHour(TimePoint t);

// value cut to kMaxSourceValueBytes, never inside a UTF-8 character.
std::string SourceValue(std::string_view value);

// head cut after its header section: at the first empty line (CRLF, or a bare LF as some
// scripts write); unchanged if there is none.
void CutToHeaderSection(std::string& head);

// Changes to an account's counters in one transaction, gathered and written at its end.
struct CounterDelta {
  std::int64_t submitted = 0;
  std::int64_t sent = 0;
  std::int64_t errors = 0;
  std::int64_t expired = 0;
  std::int64_t purged = 0;
  void Add(const CounterDelta& d) {
    submitted += d.submitted;
    sent += d.sent;
    errors += d.errors;
    expired += d.expired;
    purged += d.purged;
  }
};

struct AccountDelta {
  std::int64_t pending = 0;
  std::int64_t pending_bytes = 0;
  std::int64_t released = 0;
  std::int64_t purge_left = 0;
  CounterDelta counters;
};

// The sources one transaction's messages count toward, summed: one upsert per distinct
// (account, kind, hour, value) however many messages share it (a flood is mostly repeats).
class SourceCounts {
 public:
  using Key = std::tuple<AccountId, int, std::int64_t, std::string>;  // account, kind, hour, value

  void Add(const NewMessage& m);

  const std::map<Key, std::int64_t>& counts() const { return counts_; }
  void Clear() { counts_.clear(); }
  // The newest hour of the messages added (the lowest int64 when none was).
  std::int64_t newest_hour() const { return newest_hour_; }

 private:
  void Count(AccountId account, int kind, std::int64_t hour, std::string_view value);

  std::map<Key, std::int64_t> counts_;
  std::int64_t newest_hour_ = std::numeric_limits<std::int64_t>::min();
};

// A body from this size on is handled on its own rather than with its row or its batch: it is
// written into its pages (SQLite) and read alone by a claim (both stores), so that no
// statement holds a copy of it beside the one the caller has.
inline constexpr std::int64_t kLargeBodyBytes = 256 * 1024;

// A due message as a claim reads it: its id and its body's size.
struct DueMessage {
  MessageId id = 0;
  std::int64_t size = 0;
};

// A claim's choice among the due messages of `queues` (each with a vector<DueMessage> `due`,
// oldest first; the queues in the order their accounts have waited): one message from each
// account per round, up to request.limit messages and request.max_bytes of bodies. Appends
// {queue, message} to `picked` in that order. Returns true when the bytes ended it: a due message
// was left (ClaimedBatch::budget_reached), and none after it was taken.
template <class Queue>
bool PickRoundRobin(std::vector<Queue>& queues, const ClaimRequest& request,
                    std::vector<std::pair<Queue*, DueMessage>>& picked) {
  const auto limit = static_cast<std::size_t>(request.limit);
  std::int64_t bytes = 0;
  for (std::size_t round = 0; picked.size() < limit; ++round) {
    const std::size_t before = picked.size();
    for (Queue& queue : queues) {
      if (round >= queue.due.size() || picked.size() == limit) continue;
      const DueMessage& m = queue.due[round];
      const bool alone = picked.empty() && request.first_regardless;
      if (!alone && m.size > request.max_bytes - bytes) return true;
      bytes += m.size;
      picked.emplace_back(&queue, m);
    }
    if (picked.size() == before) break;
  }
  return false;
}

// Decides, in a batch's order, which new messages InsertMessages leases on arrival
// (ArrivalLease): those of active accounts not skipped, while the limit and the bytes last.
class ArrivalLeasing {
 public:
  // The account's name if its mail may be leased (it is active), nullopt if not; asked once
  // per account of the batch, in the insert's transaction.
  using LeasableName = std::function<Result<std::optional<std::string>>(AccountId)>;

  ArrivalLeasing(const ArrivalLease& lease, LeasableName leasable)
      : lease_(lease),
        left_(lease.limit),
        bytes_left_(lease.max_bytes),
        leasable_(std::move(leasable)) {}

  // Decides for m: sets out.leased and out.account_name, and batch.lease_exhausted when m could
  // have been leased but the limit or the bytes are spent (then no later message is leased:
  // none may pass it). Returns the lease's end when m is leased.
  Result<std::optional<TimePoint>> Decide(const NewMessage& m, InsertedMessage& out,
                                          InsertedBatch& batch);

 private:
  const ArrivalLease& lease_;
  int left_;
  std::int64_t bytes_left_;
  LeasableName leasable_;
  std::map<AccountId, std::optional<std::string>> names_;  // per account: the name if leasable
};

}  // namespace mailwarden
