// SqlStore: mail in (InsertMessages) and out (claims, outcomes, leases).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/local_day.h"
#include "core/suppression.h"
#include "store/sql/row_readers.h"
#include "store/sql/sql_store.h"
#include "store/sql/tally.h"
#include "store/store_common.h"

namespace mailwarden {

Result<InsertedBatch> SqlStore::InsertMessages(std::span<const NewMessage> messages,
                                               const ArrivalLease& lease) {
  InsertedBatch inserted;
  if (messages.empty()) return inserted;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (messages[i].recipients.empty()) {
      return Fail(ErrorCode::kInvalidInput,
                  fmt::format("message {} of the batch has no recipient", i));
    }
  }
  std::int64_t batch_bytes = 0;
  for (const NewMessage& m : messages) batch_bytes += static_cast<std::int64_t>(m.body.size());
  if (auto room = CheckRoom(batch_bytes); !room) {
    if (room.error().code == ErrorCode::kNoRoom) NoteRoom(false, room.error().message);
    return std::unexpected(std::move(room).error());
  }
  auto stored = StoreBatch(messages, lease);
  if (stored) {
    NoteRoom(true, {});
  } else if (stored.error().code == ErrorCode::kNoRoom) {
    NoteRoom(false, stored.error().message);  // the disk is full (the floor, if any, was not)
  }
  return stored;
}

Result<InsertedBatch> SqlStore::StoreBatch(std::span<const NewMessage> messages,
                                           const ArrivalLease& lease) {
  InsertedBatch inserted;
  inserted.messages.reserve(messages.size());

  // The group commit: the whole batch is one write transaction, so it costs one fsync however
  // many messages it holds, and either every message of it is stored (and may be
  // acknowledged) or none is.
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kWrite));
  MW_ASSIGN_OR_RETURN(const std::vector<std::optional<Error>> refused, RefusedAtStore(messages));
  // Counters first: an unknown account fails here with kNotFound, before any insert; and the
  // accounts rows are updated (so locked) first, so a state change on another node waits for
  // this commit and the states read below hold until then. (The quota's read above is not
  // locked: nodes storing for one account at once may each take a batch past its bound.)
  Tally tally(session());
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (refused[i]) continue;
    const NewMessage& m = messages[i];
    AccountDelta& delta = tally.Of(m.account);
    delta.pending += 1;
    delta.pending_bytes += static_cast<std::int64_t>(m.body.size());
    tally.Count(m.account, LocalDayNumber(m.received_at), {.submitted = 1});
  }
  MW_RETURN_IF_ERROR(tally.Flush());
  if (!lease.node.empty()) NoteNode(lease.node);
  // Read in the write transaction, so no block can come between the read and the lease.
  ArrivalLeasing leasing(lease, [this](AccountId account) -> Result<std::optional<std::string>> {
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        session().Run(Sql::kSelectAccountState, Params().Int(account)));
    if (rows.empty() || rows.Text(0, 0) != AccountStateName(AccountState::kActive)) {
      return std::nullopt;
    }
    return rows.Text(0, 1);
  });
  // The accounts with mail left queued: other nodes are told (a notification each).
  std::set<AccountId> queued;
  SourceCounts sources;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const NewMessage& m = messages[i];
    InsertedMessage& out = inserted.messages.emplace_back();
    if (refused[i]) {
      out.refused = refused[i];
      continue;
    }
    MW_ASSIGN_OR_RETURN(const std::optional<TimePoint> lease_until,
                        leasing.Decide(m, out, inserted));
    if (!out.leased) queued.insert(m.account);
    MW_ASSIGN_OR_RETURN(out.id, InsertMessageWithRecipients(m, lease_until, lease.node));
    if (out.leased) {
      // Delivered without a claim: the claim's lookups are made here.
      std::vector<std::pair<AccountId, std::string_view>> addresses;
      for (const std::string& r : m.recipients) addresses.emplace_back(m.account, r);
      MW_ASSIGN_OR_RETURN(out.suppressed, FindSuppressions(addresses, ToUnixMillis(m.received_at)));
    }
    sources.Add(m);
  }
  // Sources are counted in the messages' transaction: a message stored is counted exactly
  // once, and a failed batch counts nothing.
  for (const auto& [key, count] : sources.counts()) {
    const auto& [account, kind, hour, value] = key;
    MW_RETURN_IF_ERROR(session().Queue(Sql::kBumpSource, Params()
                                                             .Int(account)
                                                             .Int(kind)
                                                             .Int(hour)
                                                             .Text(value)
                                                             .Int(count)
                                                             .Int(max_sources_per_hour_)
                                                             .Text(schema::kSourceOtherValue)));
  }
  // Pruning rides on the commit that is paid for anyway, at most once per new hour (and
  // again while a backlog remains), so a quiet store does no work for it. A batch whose every
  // message was refused counted no source, and has no hour.
  const bool counted = !sources.counts().empty();
  const std::int64_t prune_below =
      counted ? sources.newest_hour() - (kSourceHoursKept - 1) : sources_pruned_below_;
  bool pruned_all = false;
  if (prune_below > sources_pruned_below_) {
    MW_ASSIGN_OR_RETURN(
        const Rows rows,
        session().Run(Sql::kPruneSources, Params().Int(prune_below).Int(kSourcePruneBatch)));
    pruned_all = rows.Changed() < kSourcePruneBatch;
  }
  for (const AccountId account : queued) MW_RETURN_IF_ERROR(Notify("mail", account));
  MW_RETURN_IF_ERROR(tx.Commit());
  if (pruned_all) sources_pruned_below_ = prune_below;
  return inserted;
}

Result<void> SqlStore::CheckRoom(std::int64_t incoming) {
  if (limits_.min_free_bytes <= 0) return {};
  MW_ASSIGN_OR_RETURN(const std::optional<std::int64_t> free, FreeBytes());
  if (!free || *free - incoming >= limits_.min_free_bytes) return {};
  return Fail(ErrorCode::kNoRoom,
              fmt::format("the mail store is short of disk space ({} bytes free, "
                          "store.min_free_space is {}); try again later",
                          *free, limits_.min_free_bytes));
}

void SqlStore::NoteRoom(bool room, std::string_view why) {
  if (room && short_of_room_) spdlog::info("store: there is room again; new mail is taken");
  if (!room && !short_of_room_) {
    spdlog::warn(
        "store: no room for new mail, which is told to try again later until there is "
        "room: {}",
        why);
  }
  short_of_room_ = !room;
}

Result<std::vector<std::optional<Error>>> SqlStore::RefusedAtStore(
    std::span<const NewMessage> messages) {
  struct Held {
    std::int64_t messages = 0;
    std::int64_t bytes = 0;
    bool deleted = false;
  };
  std::vector<std::optional<Error>> refused(messages.size());
  std::map<AccountId, Held> held;
  for (const NewMessage& m : messages) {
    if (held.contains(m.account)) continue;
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        session().Run(Sql::kSelectAccountState, Params().Int(m.account)));
    if (rows.empty())
      return Fail(ErrorCode::kNotFound, fmt::format("no account with id {}", m.account));
    held[m.account] =
        Held{.messages = rows.Int(0, 2), .bytes = rows.Int(0, 3), .deleted = rows.Int(0, 4) > 0};
  }
  for (std::size_t i = 0; i < messages.size(); ++i) {
    Held& h = held[messages[i].account];
    if (h.deleted) {
      // Its uid was looked up before the account was deleted: the message has no account now.
      refused[i] = Error{ErrorCode::kNotFound, "the account was deleted"};
      continue;
    }
    const auto size = static_cast<std::int64_t>(messages[i].body.size());
    if ((limits_.max_account_messages > 0 && h.messages + 1 > limits_.max_account_messages) ||
        (limits_.max_account_bytes > 0 && h.bytes + size > limits_.max_account_bytes)) {
      refused[i] = Error{ErrorCode::kNoRoom,
                         "the account's mail waiting in the store is at its storage quota; "
                         "try again later"};
      continue;
    }
    h.messages += 1;
    h.bytes += size;
  }
  return refused;
}

Result<ClaimedBatch> SqlStore::ClaimDue(const ClaimRequest& request) {
  ClaimedBatch batch;
  if (request.limit <= 0) return batch;
  NoteNode(request.node);
  const auto limit = static_cast<std::size_t>(request.limit);
  const std::int64_t now = ToUnixMillis(request.now);

  // One transaction: choosing what is due and leasing it is one atomic step (SQLite: the
  // write lock is held from BEGIN; PostgreSQL: the due rows are locked where they are chosen,
  // SKIP LOCKED passing over another node's claim in progress). kNoSync: a lease lost leaves
  // the message due again.
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kNoSync));

  // The accounts with something due, the one waiting longest first. Only active accounts
  // with unfinished mail are visited, so held mail is never read; a held account with
  // released mail is visited too, and then only its released messages.
  struct AccountQueue {
    AccountId account = 0;
    bool released_only = false;
    MessageId epoch = 0;  // the account's purge epoch (see schema.h)
    std::string name;
    std::vector<DueMessage> due;
  };
  std::vector<AccountQueue> queues;
  {
    // Skipped accounts (waiting for their quota) are left out here rather than in SQL: asking
    // for as many more rows as there are skipped accounts still fills `limit`.
    MW_ASSIGN_OR_RETURN(
        const Rows rows,
        session().Run(Sql::kSelectDueAccounts, Params().Int(now).Int(static_cast<std::int64_t>(
                                                   limit + request.skip.size()))));
    for (int i = 0; i < rows.size(); ++i) {
      const AccountId account = rows.Int(i, 0);
      if (std::ranges::find(request.skip, account) != request.skip.end()) continue;
      if (queues.size() == limit) break;
      AccountQueue& queue = queues.emplace_back();
      queue.account = account;
      queue.released_only = rows.Int(i, 1) != 0;
      queue.epoch = rows.Int(i, 2);
    }
  }
  // Fairness is round-robin: one message from each due account per round, up to the limit.
  // Each has at least one due, so none can get more than what is left when each of the others
  // gets one; no more is read. An account whose quota allows nothing now is not read at all.
  // The accounts' reads go to the engine together (RunAll: on PostgreSQL one round trip).
  const auto most_per_account = static_cast<std::int64_t>(limit - queues.size() + 1);
  std::vector<SqlSession::Statement> reads;
  std::vector<AccountQueue*> read_for;
  for (AccountQueue& queue : queues) {
    std::int64_t most = most_per_account;
    for (const auto& [account, cap] : request.most) {
      if (account == queue.account) most = std::min<std::int64_t>(most, std::max(cap, 0));
    }
    if (most == 0) continue;
    Params params;
    params.Int(queue.account).Int(now).Int(most);
    if (!queue.released_only) params.Int(queue.epoch);
    reads.push_back(
        {queue.released_only ? Sql::kSelectDueReleased : Sql::kSelectDueMessages, params});
    read_for.push_back(&queue);
  }
  MW_ASSIGN_OR_RETURN(const std::vector<Rows> due_rows, session().RunAll(reads));
  for (std::size_t q = 0; q < read_for.size(); ++q) {
    const Rows& rows = due_rows[q];
    for (int i = 0; i < rows.size(); ++i) {
      read_for[q]->due.push_back({.id = rows.Int(i, 0), .size = rows.Int(i, 1)});
    }
  }
  std::vector<std::pair<AccountQueue*, DueMessage>> picked;
  batch.budget_reached = PickRoundRobin(queues, request, picked);
  if (picked.empty()) {
    MW_RETURN_IF_ERROR(tx.Commit());
    return batch;
  }

  std::vector<LeaseItem> items;
  items.reserve(picked.size());
  std::vector<SqlSession::Statement> names;
  std::vector<AccountQueue*> named;
  for (auto& [queue, due] : picked) {
    items.push_back({.account = queue->account, .id = due.id, .size = due.size});
    if (std::ranges::find(named, queue) == named.end()) {
      names.push_back({Sql::kSelectAccountName, Params().Int(queue->account)});
      named.push_back(queue);
    }
  }
  MW_ASSIGN_OR_RETURN(const std::vector<Rows> name_rows, session().RunAll(names));
  for (std::size_t i = 0; i < named.size(); ++i) {
    if (!name_rows[i].empty()) named[i]->name = name_rows[i].Text(0, 0);
  }
  // The lease's end goes into next_attempt_ms: if this node dies, the message is due again
  // then, through the same index as any other due message.
  MW_ASSIGN_OR_RETURN(batch.messages, LeaseMessages(items, request));
  if (batch.messages.size() != picked.size()) {
    return Fail(ErrorCode::kInternal, "store: a claimed message vanished");
  }
  std::vector<std::pair<AccountId, std::string_view>> addresses;
  for (std::size_t i = 0; i < picked.size(); ++i) {
    ClaimedMessage& message = batch.messages[i];
    message.account = picked[i].first->account;
    message.account_name = picked[i].first->name;
    for (ClaimedRecipient& r : message.recipients)
      addresses.emplace_back(message.account, r.address);
  }
  MW_ASSIGN_OR_RETURN(std::vector<std::optional<Suppression>> suppressed,
                      FindSuppressions(addresses, now));
  std::size_t next = 0;
  for (ClaimedMessage& message : batch.messages) {
    for (ClaimedRecipient& r : message.recipients) r.suppressed = std::move(suppressed[next++]);
  }
  MW_RETURN_IF_ERROR(tx.Commit());
  return batch;
}

Result<void> SqlStore::RecordOutcomes(std::span<const DeliveryOutcome> outcomes, TimePoint now) {
  if (outcomes.empty()) return {};
  Tally tally(session());

  // One transaction for the batch: recipients' outcomes, the messages' new status and the
  // accounts' pending counters change together or not at all, so a crash can neither lose an
  // outcome nor count a message twice. kNoSync: an outcome undone by a power cut leaves its
  // message leased, so it is delivered again.
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kNoSync));
  // Accounts first, then messages in id order: the order every writer locks them in.
  std::vector<const DeliveryOutcome*> ordered;
  std::vector<MessageId> ids;
  for (const DeliveryOutcome& outcome : outcomes) {
    ordered.push_back(&outcome);
    ids.push_back(outcome.id);
  }
  MW_RETURN_IF_ERROR(LockAccountsOfMessages(ids));
  std::stable_sort(
      ordered.begin(), ordered.end(),
      [](const DeliveryOutcome* a, const DeliveryOutcome* b) { return a->id < b->id; });
  // In rounds of distinct messages, each in id order: the k-th outcome given for a message is
  // recorded in round k, after what the rounds before did to it, as one at a time would be.
  // A round's statements of one kind go to the engine together (RunAll).
  std::vector<std::vector<const DeliveryOutcome*>> rounds;
  for (std::size_t i = 0, k = 0; i < ordered.size(); ++i) {
    k = i > 0 && ordered[i]->id == ordered[i - 1]->id ? k + 1 : 0;
    if (rounds.size() <= k) rounds.resize(k + 1);
    rounds[k].push_back(ordered[i]);
  }
  for (const auto& round : rounds) {
    MW_RETURN_IF_ERROR(RecordRound(round, now, tally));
  }
  MW_RETURN_IF_ERROR(tally.Flush());
  MW_RETURN_IF_ERROR(tx.Commit());
  return {};
}

Result<void> SqlStore::RecordRound(std::span<const DeliveryOutcome* const> round, TimePoint now,
                                   Tally& tally) {
  const std::int64_t now_ms = ToUnixMillis(now);
  const int day = LocalDayNumber(now);
  // Each step is one statement per message or recipient of the round, given to the engine
  // together (on PostgreSQL one statement for all of them).
  struct Item {
    const DeliveryOutcome* outcome = nullptr;
    MessageKey key;
    bool marked = false;
    std::int64_t size = 0;
  };
  std::vector<Item> items;
  {
    std::vector<MessageId> ids;
    for (const DeliveryOutcome* outcome : round) ids.push_back(outcome->id);
    MW_ASSIGN_OR_RETURN(const std::vector<Rows> states, LockMessageStates(ids));
    for (std::size_t i = 0; i < round.size(); ++i) {
      const Rows& rows = states[i];
      // Purged while in flight (its row deleted or not yet) or already finished (a late
      // outcome of a lease that ran out, or a replay): nothing is left to record, and the
      // counters stay right.
      if (rows.empty() || rows.Int(0, 1) == schema::kMessageDone || rows.Bool(0, 2)) continue;
      items.push_back({.outcome = round[i],
                       .key = {.account = rows.Int(0, 0), .id = round[i]->id},
                       .marked = rows.Bool(0, 3),
                       .size = rows.Int(0, 4)});
    }
  }
  // Only a pending recipient changes: a sent or failed one is final.
  std::vector<RecipientUpdate> updates;
  for (const Item& item : items) {
    for (const RecipientOutcome& r : item.outcome->recipients) {
      updates.push_back({.message = item.key,
                         .index = r.index,
                         .status = RecipientCode(r.status),
                         .reply = r.reply,
                         .category = r.category});
    }
  }
  MW_ASSIGN_OR_RETURN(const std::vector<Rows> updated, UpdateRecipients(updates, now_ms));
  std::size_t next = 0;
  std::vector<EventRow> events;
  std::vector<MessageKey> keys;
  for (const Item& item : items) {
    const AccountId account = item.key.account;
    const DeliveryOutcome* outcome = item.outcome;
    for (const RecipientOutcome& r : outcome->recipients) {
      if (updated[next++].Changed() != 1) continue;
      // The attempt's line of the message's history, with the relay's reply.
      const std::string_view kind = r.status == RecipientStatus::kSent     ? kEventDelivered
                                    : r.status == RecipientStatus::kFailed ? kEventFailed
                                                                           : kEventDeferred;
      events.push_back(
          {.message = item.key,
           .kind = kind,
           .recipient = r.index,
           .detail = r.category.empty() ? r.reply : fmt::format("{}: {}", r.category, r.reply)});
      if (r.status != RecipientStatus::kFailed) continue;
      tally.Count(account, day, {.errors = 1});
      if (outcome->suppress_for.count() > 0 && Suppresses(r.category)) {
        MW_ASSIGN_OR_RETURN(const Rows address,
                            session().Run(Sql::kSelectRecipientAddress,
                                          Params().Int(account).Int(outcome->id).Int(r.index)));
        if (!address.empty()) {
          MW_RETURN_IF_ERROR(SuppressRecipient(account, outcome->id, address.Text(0, 0), r.category,
                                               r.reply, now, outcome->suppress_for));
        }
      }
    }
    keys.push_back(item.key);
  }
  MW_RETURN_IF_ERROR(WriteMessageEvents(events, now_ms));
  MW_ASSIGN_OR_RETURN(const std::vector<Rows> recipient_states, ReadRecipientStates(keys));
  std::vector<const Item*> ended;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const Item& item = items[i];
    const AccountId account = item.key.account;
    const DeliveryOutcome* outcome = item.outcome;
    const Rows& states = recipient_states[i];
    if (!states.empty() && states.Bool(0, 0)) {
      MW_RETURN_IF_ERROR(session().Queue(
          Sql::kRequeueMessage,
          Params().Int(account).Int(outcome->id).Int(ToUnixMillis(outcome->next_attempt))));
    } else {
      ended.push_back(&item);
      if (!states.empty() && states.Bool(0, 1)) tally.Count(account, day, {.sent = 1});
    }
  }
  // The round's finished messages, and their released marks forgotten (those of an account
  // with no released mail need no statement).
  std::vector<MessageKey> finished;
  std::vector<MessageKey> marked;
  for (const Item* item : ended) {
    finished.push_back(item->key);
    if (item->marked) marked.push_back(item->key);
  }
  MW_RETURN_IF_ERROR(FinishMessages(finished, now_ms));
  MW_ASSIGN_OR_RETURN(const std::vector<Rows> forgotten, ForgetReleased(marked));
  std::vector<Tally::Ending> endings;
  std::size_t next_mark = 0;
  for (const Item* item : ended) {
    const std::int64_t gone = item->marked ? forgotten[next_mark++].Changed() : 0;
    endings.push_back({.account = item->key.account, .size = item->size, .forgotten = gone});
  }
  tally.EndMessages(endings);
  return {};
}

Result<void> SqlStore::ReleaseLeases(std::string_view node) {
  NoteNode(node);
  // One statement, so one transaction: every lease of the node ends, or none does.
  MW_ASSIGN_OR_RETURN(const Rows rows, session().Run(Sql::kReleaseLeases, Params().Text(node)));
  if (rows.Changed() > 0) {
    spdlog::info("store: {} message(s) leased to {} are due again", rows.Changed(), node);
  }
  return {};
}

Result<std::optional<TimePoint>> SqlStore::NextDueTime(std::span<const AccountId> skip) {
  // One statement reads one snapshot; no transaction needed around it.
  MW_ASSIGN_OR_RETURN(
      const Rows rows,
      session().Run(Sql::kSelectNextDue, Params().Int(static_cast<std::int64_t>(skip.size() + 1))));
  for (int i = 0; i < rows.size(); ++i) {
    if (std::ranges::find(skip, rows.Int(i, 0)) != skip.end()) continue;
    // Heads come earliest first: one of mail held for its sender means nothing else is due.
    if (rows.Int(i, 1) >= schema::kHeldNeverDueMs) break;
    return std::optional<TimePoint>(FromUnixMillis(rows.Int(i, 1)));
  }
  return std::optional<TimePoint>();
}

}  // namespace mailwarden
