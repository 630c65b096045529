#include "store/postgres/pg_store.h"

#include <fmt/format.h>

#include <map>
#include <optional>
#include <utility>

#include "core/text.h"
#include "store/store_common.h"

namespace mailwarden {
namespace {

// Any key unique to mailwarden: migrations of every node wait on it in turn.
constexpr std::int64_t kMigrationLockKey = 0x6d61696c77617264;  // "mailward"

std::vector<std::int64_t> AsVector(std::span<const MessageId> ids) {
  return std::vector<std::int64_t>(ids.begin(), ids.end());
}

// Each item's Rows from one statement's rows, whose first column says which item a row is
// for (`item_of` maps its value to the item's place, or to nullopt); the items with no row get
// an empty Rows, as their own statement would have given.
template <class ItemOf>
std::vector<Rows> RowsPerItem(const Rows& rows, std::size_t items, ItemOf item_of) {
  std::vector<Rows> out(items);
  for (int i = 0; i < rows.size(); ++i) {
    const std::optional<std::size_t> item = item_of(rows.Int(i, 0));
    if (item && *item < items) out[*item] = rows.Slice(i, 1);
  }
  return out;
}

// The place of each message id among a batch's items, for RowsPerItem: ids given once each.
class IdPlaces {
 public:
  template <class Items, class IdOf>
  IdPlaces(const Items& items, IdOf id_of) {
    for (std::size_t i = 0; i < items.size(); ++i) place_.emplace(id_of(items[i]), i);
  }
  std::optional<std::size_t> operator()(std::int64_t id) const {
    const auto it = place_.find(id);
    if (it == place_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::map<MessageId, std::size_t> place_;
};

// Each (account, message) pair as two arrays.
template <class Key>
std::pair<std::vector<std::int64_t>, std::vector<std::int64_t>> KeyArrays(
    std::span<const Key> keys) {
  std::pair<std::vector<std::int64_t>, std::vector<std::int64_t>> arrays;
  for (const Key& k : keys) {
    arrays.first.push_back(k.account);
    arrays.second.push_back(k.id);
  }
  return arrays;
}

}  // namespace

Result<std::unique_ptr<PgStore>> PgStore::Open(std::string_view url) {
  MW_ASSIGN_OR_RETURN(auto session, PgSession::Connect(url));
  PgSession& pg = *session;
  auto store = std::unique_ptr<PgStore>(new PgStore(std::move(session)));
  if (auto r = store->Migrate(); !r) {
    Error error = std::move(r).error();
    if (error.code != ErrorCode::kUnavailable) {
      error.message = "cannot migrate the schema: " + error.message;
      error.code = ErrorCode::kUnavailable;
    }
    return std::unexpected(std::move(error));
  }
  MW_RETURN_IF_ERROR(pg.SetSchemaReady());
  return store;
}

PgStore::PgStore(std::unique_ptr<PgSession> session)
    : SqlStore(std::move(session)), pg_(static_cast<PgSession&>(this->session())) {}

Result<void> PgStore::LockMigrations() {
  // Held until the end of the transaction: a second node starting now waits here, then reads
  // the version the first one wrote.
  MW_RETURN_IF_ERROR(pg_.Exec(fmt::format("SELECT pg_advisory_xact_lock({})", kMigrationLockKey)));
  return {};
}

std::string_view PgStore::MigrationSql(const schema::Migration& migration) const {
  return migration.postgres;
}

Result<void> PgStore::FreeAccountName(std::string_view name) {
  MW_RETURN_IF_ERROR(pg_.Run(Sql::kDeleteAccountName, Params().Text(name)));
  return {};
}

Result<AccountId> PgStore::UpsertAccountRow(const AccountSpec& spec, std::int64_t now_ms) {
  MW_ASSIGN_OR_RETURN(Rows found, pg_.Run(Sql::kSelectAccountIdByName, Params().Text(spec.name)));
  if (found.empty()) {
    // A node creating the same account at once holds the name's row: this insert waits for
    // its commit, then inserts nothing, and the account it created is updated below.
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        pg_.Run(Sql::kInsertAccountName, Params().Text(spec.name)));
    if (!rows.empty()) {
      const AccountId id = rows.Int(0, 0);
      MW_RETURN_IF_ERROR(pg_.Run(Sql::kInsertAccount, Params()
                                                          .Int(id)
                                                          .Text(spec.name)
                                                          .Text(spec.report_to)
                                                          .Text(spec.language)
                                                          .OptionalInt(spec.max_per_day)
                                                          .OptionalInt(spec.max_per_hour)
                                                          .Int(now_ms)));
      return id;
    }
    MW_ASSIGN_OR_RETURN(found, pg_.Run(Sql::kSelectAccountIdByName, Params().Text(spec.name)));
    if (found.empty()) {
      return Fail(ErrorCode::kInternal,
                  fmt::format("store: account name '{}' conflicts but is not found", spec.name));
    }
  }
  const AccountId id = found.Int(0, 0);
  MW_ASSIGN_OR_RETURN(const Rows rows,
                      pg_.Run(Sql::kUpdateAccount, Params()
                                                       .Int(id)
                                                       .Text(spec.report_to)
                                                       .Text(spec.language)
                                                       .OptionalInt(spec.max_per_day)
                                                       .OptionalInt(spec.max_per_hour)));
  if (rows.Changed() == 0) {
    return Fail(ErrorCode::kInternal,
                fmt::format("store: account name '{}' names account {}, which does not exist",
                            spec.name, id));
  }
  return id;
}

Result<MessageId> PgStore::InsertMessageRow(const NewMessage& m,
                                            std::optional<TimePoint> lease_until,
                                            std::string_view lease_node) {
  const std::int64_t received = ToUnixMillis(m.received_at);
  MW_ASSIGN_OR_RETURN(
      const Rows rows,
      pg_.Run(Sql::kInsertMessage,
              Params()
                  .Int(m.account)
                  .Int(received)
                  .Int(m.uid)
                  .Int(static_cast<std::int64_t>(m.body.size()))
                  .Text(m.sender)
                  .Text(m.subject)
                  .Text(m.script)
                  .BytesRef(m.body)
                  .Int(lease_until ? schema::kMessageDelivering : schema::kMessageQueued)
                  .Int(lease_until ? 1 : 0)
                  .Int(lease_until ? ToUnixMillis(*lease_until) : received)
                  .Text(lease_until ? lease_node : std::string_view())
                  .Text(m.message_id)));
  if (rows.empty()) return Fail(ErrorCode::kInternal, "store: insert of a message returned no id");
  return rows.Int(0, 0);
}

Result<std::vector<ClaimedMessage>> PgStore::LeaseMessages(std::span<const LeaseItem> items,
                                                           const ClaimRequest& request) {
  std::vector<std::int64_t> accounts;
  std::vector<std::int64_t> ids;
  for (const LeaseItem& item : items) {
    accounts.push_back(item.account);
    ids.push_back(item.id);
  }
  // One statement leases them all, and one reads their recipients: two round trips a claim.
  std::map<MessageId, ClaimedMessage> leased;
  {
    MW_ASSIGN_OR_RETURN(Rows rows,
                        pg_.Run(Sql::kLeaseMessages, Params()
                                                         .IntArray(accounts)
                                                         .IntArray(ids)
                                                         .Int(ToUnixMillis(request.lease_until))
                                                         .Text(request.node)
                                                         .Int(kLargeBodyBytes)));
    for (int i = 0; i < rows.size(); ++i) {
      ClaimedMessage& message = leased[rows.Int(i, 0)];
      message.id = rows.Int(i, 0);
      message.sender = rows.Text(i, 1);
      message.subject = rows.Text(i, 2);
      message.attempts = static_cast<int>(rows.Int(i, 3)) - 1;
      message.received_at = FromUnixMillis(rows.Int(i, 4));
      message.body = rows.TakeText(i, 5);
      message.script = rows.Text(i, 6);
    }
  }
  // Large bodies one at a time, so that only one is held twice (encoded and decoded) at once.
  for (const LeaseItem& item : items) {
    if (item.size < kLargeBodyBytes) continue;
    auto it = leased.find(item.id);
    if (it == leased.end()) continue;  // reported by the caller
    MW_ASSIGN_OR_RETURN(Rows rows,
                        pg_.Run(Sql::kSelectLeasedBody, Params().Int(item.account).Int(item.id)));
    if (!rows.empty()) it->second.body = rows.TakeText(0, 0);
  }
  {
    MW_ASSIGN_OR_RETURN(const Rows rows, pg_.Run(Sql::kSelectClaimedRecipients,
                                                 Params().IntArray(accounts).IntArray(ids)));
    for (int i = 0; i < rows.size(); ++i) {
      auto it = leased.find(rows.Int(i, 0));
      if (it == leased.end()) continue;
      it->second.recipients.push_back(
          {.index = static_cast<int>(rows.Int(i, 1)), .address = rows.Text(i, 2)});
    }
  }
  std::vector<ClaimedMessage> claimed;
  claimed.reserve(items.size());
  for (const LeaseItem& item : items) {
    auto it = leased.find(item.id);
    if (it == leased.end()) {
      return Fail(ErrorCode::kInternal, fmt::format("store: message {} vanished", item.id));
    }
    claimed.push_back(std::move(it->second));
  }
  return claimed;
}

Result<void> PgStore::LockAccountsOfMessages(std::span<const MessageId> ids) {
  // One statement finds and locks them, and its rows are not read: no round trip of its own.
  MW_RETURN_IF_ERROR(pg_.Queue(Sql::kLockAccountsOfMessages, Params().IntArray(AsVector(ids))));
  return {};
}

Result<void> PgStore::DeleteUnfinished(AccountId account, std::span<const MessageId> ids) {
  // One statement for the batch; recipients and released marks go with them (ON DELETE
  // CASCADE).
  MW_RETURN_IF_ERROR(pg_.Run(Sql::kDeletePurged, Params().Int(account).IntArray(AsVector(ids))));
  return {};
}

// The batch's statements of one kind, one statement each (see sql_store.h).
Result<std::vector<Rows>> PgStore::LockMessageStates(std::span<const MessageId> ids) {
  if (ids.empty()) return std::vector<Rows>();
  MW_ASSIGN_OR_RETURN(const Rows rows,
                      pg_.Run(Sql::kLockMessageStates, Params().IntArray(AsVector(ids))));
  return RowsPerItem(rows, ids.size(), IdPlaces(ids, [](MessageId id) { return id; }));
}

Result<std::vector<Rows>> PgStore::UpdateRecipients(std::span<const RecipientUpdate> updates,
                                                    std::int64_t now_ms) {
  if (updates.empty()) return std::vector<Rows>();
  std::vector<std::int64_t> accounts, messages, indexes, statuses;
  std::vector<std::string> replies, categories;
  std::map<std::pair<MessageId, std::int64_t>, std::size_t> place;
  for (std::size_t i = 0; i < updates.size(); ++i) {
    const RecipientUpdate& u = updates[i];
    accounts.push_back(u.message.account);
    messages.push_back(u.message.id);
    indexes.push_back(u.index);
    statuses.push_back(u.status);
    replies.emplace_back(u.reply);
    categories.emplace_back(u.category);
    place.emplace(std::pair<MessageId, std::int64_t>(u.message.id, u.index), i);
  }
  MW_ASSIGN_OR_RETURN(const Rows rows, pg_.Run(Sql::kUpdateRecipients, Params()
                                                                           .IntArray(accounts)
                                                                           .IntArray(messages)
                                                                           .IntArray(indexes)
                                                                           .IntArray(statuses)
                                                                           .TextArray(replies)
                                                                           .TextArray(categories)
                                                                           .Int(now_ms)));
  // Each recipient's own UPDATE would have changed one row or none.
  std::vector<Rows> changed(updates.size());
  for (int i = 0; i < rows.size(); ++i) {
    const auto it = place.find({rows.Int(i, 0), rows.Int(i, 1)});
    if (it != place.end()) changed[it->second] = Rows(0, {}, 1);
  }
  return changed;
}

Result<std::vector<Rows>> PgStore::ReadRecipientStates(std::span<const MessageKey> messages) {
  if (messages.empty()) return std::vector<Rows>();
  auto [accounts, ids] = KeyArrays(messages);
  MW_ASSIGN_OR_RETURN(const Rows rows,
                      pg_.Run(Sql::kRecipientStatesOf, Params().IntArray(accounts).IntArray(ids)));
  return RowsPerItem(rows, messages.size(),
                     IdPlaces(messages, [](const MessageKey& m) { return m.id; }));
}

Result<void> PgStore::FinishMessages(std::span<const MessageKey> messages, std::int64_t now_ms) {
  if (messages.empty()) return {};
  auto [accounts, ids] = KeyArrays(messages);
  MW_RETURN_IF_ERROR(
      pg_.Queue(Sql::kFinishMessages,
                Params().IntArray(std::move(accounts)).IntArray(std::move(ids)).Int(now_ms)));
  return {};
}

Result<std::vector<Rows>> PgStore::ForgetReleased(std::span<const MessageKey> messages) {
  if (messages.empty()) return std::vector<Rows>();
  auto [accounts, ids] = KeyArrays(messages);
  MW_ASSIGN_OR_RETURN(const Rows rows,
                      pg_.Run(Sql::kForgetReleasedOf, Params().IntArray(accounts).IntArray(ids)));
  // Each message's own DELETE would have changed one row or none.
  const IdPlaces place(messages, [](const MessageKey& m) { return m.id; });
  std::vector<Rows> forgotten(messages.size());
  for (int i = 0; i < rows.size(); ++i) {
    if (const auto at = place(rows.Int(i, 0))) forgotten[*at] = Rows(0, {}, 1);
  }
  return forgotten;
}

Result<void> PgStore::WriteMessageEvents(std::span<const EventRow> events, std::int64_t at_ms) {
  if (events.empty()) return {};
  std::vector<std::int64_t> accounts, messages, recipients;
  std::vector<std::string> kinds, details;
  for (const EventRow& e : events) {
    accounts.push_back(e.message.account);
    messages.push_back(e.message.id);
    kinds.emplace_back(e.kind);
    recipients.push_back(e.recipient);
    details.emplace_back(CutAtUtf8Boundary(e.detail, kMaxEventDetailBytes));
  }
  MW_RETURN_IF_ERROR(pg_.Queue(Sql::kInsertMessageEvents, Params()
                                                              .IntArray(std::move(accounts))
                                                              .IntArray(std::move(messages))
                                                              .Int(at_ms)
                                                              .TextArray(std::move(kinds))
                                                              .IntArray(std::move(recipients))
                                                              .TextArray(std::move(details))));
  return {};
}

Result<std::vector<Rows>> PgStore::SelectSuppressions(
    std::span<const std::pair<AccountId, std::string>> keys, std::int64_t now_ms) {
  if (keys.empty()) return std::vector<Rows>();
  std::vector<std::int64_t> accounts;
  std::vector<std::string> addresses;
  for (const auto& [account, key] : keys) {
    accounts.push_back(account);
    addresses.push_back(key);
  }
  MW_ASSIGN_OR_RETURN(
      const Rows rows,
      pg_.Run(Sql::kSelectSuppressions,
              Params().IntArray(std::move(accounts)).TextArray(std::move(addresses)).Int(now_ms)));
  // WITH ORDINALITY counts from 1.
  return RowsPerItem(rows, keys.size(), [](std::int64_t n) -> std::optional<std::size_t> {
    if (n < 1) return std::nullopt;
    return static_cast<std::size_t>(n - 1);
  });
}

// Sent at commit to every listening node (PgChangeListener).
Result<void> PgStore::Notify(std::string_view kind, AccountId account) {
  MW_RETURN_IF_ERROR(pg_.Queue(
      Sql::kNotify, Params().Text(kPgNotifyChannel).Text(fmt::format("{}:{}", kind, account))));
  return {};
}

}  // namespace mailwarden
