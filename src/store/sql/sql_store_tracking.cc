// SqlStore: message tracking, each message's history and the search of an account's mail.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <limits>

#include "core/name_table.h"
#include "core/text.h"
#include "store/sql/row_readers.h"
#include "store/sql/sql_store.h"

namespace mailwarden {
namespace {

constexpr NameTable<TrackStatus, 7> kTrackStatusNames = {{
    {TrackStatus::kQueued, "queued"},
    {TrackStatus::kHeld, "held"},
    {TrackStatus::kQuarantined, "quarantined"},
    {TrackStatus::kDelivered, "delivered"},
    {TrackStatus::kFailed, "failed"},
    {TrackStatus::kExpired, "expired"},
    {TrackStatus::kPurged, "purged"},
}};

// Where the candidate of row i of a kSearch* statement (its {tracked_columns} from `first`)
// stands, its account being held (blocked or purging) or not.
TrackStatus StatusOf(const Rows& rows, int i, int first, bool account_held) {
  if (rows.Int(i, first + 1) == schema::kMessageDone) {
    switch (rows.Int(i, first + 2)) {
      case schema::kOutcomeFailed:
        return TrackStatus::kFailed;
      case schema::kOutcomeExpired:
        return TrackStatus::kExpired;
      default:
        return TrackStatus::kDelivered;
    }
  }
  if (rows.Bool(i, first + 5)) return TrackStatus::kPurged;
  if (rows.Int(i, first + 4) == schema::kScanQuarantined) return TrackStatus::kQuarantined;
  if (rows.Bool(i, first + 6) || (account_held && !rows.Bool(i, first + 7))) {
    return TrackStatus::kHeld;
  }
  return TrackStatus::kQueued;
}

std::optional<int> OutcomeOf(TrackStatus status) {
  switch (status) {
    case TrackStatus::kDelivered:
      return schema::kOutcomeDelivered;
    case TrackStatus::kFailed:
      return schema::kOutcomeFailed;
    case TrackStatus::kExpired:
      return schema::kOutcomeExpired;
    default:
      return std::nullopt;
  }
}

}  // namespace

std::string_view TrackStatusName(TrackStatus status) { return NameOf(kTrackStatusNames, status); }

std::optional<TrackStatus> ParseTrackStatus(std::string_view name) {
  return LookupName(kTrackStatusNames, name);
}

std::string SearchTerm(std::string_view text) {
  text = TrimAscii(text, " \t");
  if (text.size() >= 2 && text.front() == '<' && text.back() == '>') {
    text = text.substr(1, text.size() - 2);
  }
  return ToAsciiLower(CutAtUtf8Boundary(text, kMaxSearchTermBytes));
}

// The first words of a subject as search terms (see kMaxSubjectWords).
static std::vector<std::string> SubjectWords(std::string_view subject) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < subject.size() && words.size() < kMaxSubjectWords) {
    // A word: a run of letters, digits and bytes of UTF-8 letters (>= 0x80).
    auto in_word = [&](std::size_t k) {
      const auto c = static_cast<unsigned char>(subject[k]);
      return c >= 0x80 || std::isalnum(c) != 0;
    };
    while (i < subject.size() && !in_word(i)) ++i;
    const std::size_t start = i;
    while (i < subject.size() && in_word(i)) ++i;
    if (i - start >= kMinSubjectWordBytes)
      words.push_back(SearchTerm(subject.substr(start, i - start)));
  }
  return words;
}

Result<void> SqlStore::WriteMessageEvent(AccountId account, MessageId id, std::int64_t at_ms,
                                         std::string_view kind, int recipient,
                                         std::string_view detail) {
  MW_RETURN_IF_ERROR(
      session_->Queue(Sql::kInsertMessageEvent,
                      Params().Int(account).Int(id).Int(at_ms).Text(kind).Int(recipient).Text(
                          CutAtUtf8Boundary(detail, kMaxEventDetailBytes))));
  return {};
}

Result<void> SqlStore::WriteArrival(const NewMessage& m, MessageId id) {
  const std::int64_t at_ms = ToUnixMillis(m.received_at);
  // How it came in, for people: "via drop-in, uid 1000, script ..., From ..., Message-ID <...>".
  std::vector<std::string> parts;
  if (!m.via.empty()) parts.push_back(fmt::format("via {}", m.via));
  if (m.uid != 0) parts.push_back(fmt::format("uid {}", m.uid));
  if (!m.script.empty()) parts.push_back(fmt::format("script {}", m.script));
  if (!m.from.empty()) parts.push_back(fmt::format("From {}", m.from));
  if (!m.message_id.empty()) parts.push_back(fmt::format("Message-ID <{}>", m.message_id));
  const std::string how = fmt::format("{}", fmt::join(parts, ", "));
  MW_RETURN_IF_ERROR(WriteMessageEvent(m.account, id, at_ms, kEventReceived, -1, how));
  if (!m.held_reason.empty()) {
    MW_RETURN_IF_ERROR(WriteMessageEvent(m.account, id, at_ms, kEventHeld, -1, m.held_reason));
  }
  // The terms a customer asks for: bounded per message, so that a message to a long list
  // costs a bounded number of rows (its first recipients are found by address).
  std::vector<std::string> terms;
  constexpr std::size_t kOthers = 4 + kMaxRecipientDomains + kMaxSubjectWords;
  for (const std::string& r : m.recipients) {
    if (terms.size() + kOthers >= kMaxTermsPerMessage) break;
    terms.push_back(SearchTerm(r));
  }
  for (std::string_view text : {std::string_view(m.sender), std::string_view(m.from),
                                std::string_view(m.message_id), std::string_view(m.subject)}) {
    if (!text.empty()) terms.push_back(SearchTerm(text));
  }
  // The recipients' domains ("all my mail to example.net"), and the subject's words.
  std::vector<std::string> domains;
  for (const std::string& r : m.recipients) {
    const auto at = r.rfind('@');
    if (at == std::string::npos || at + 1 >= r.size()) continue;
    std::string domain = SearchTerm(std::string_view(r).substr(at + 1));
    if (std::ranges::find(domains, domain) != domains.end()) continue;
    if (domains.size() == kMaxRecipientDomains) break;
    domains.push_back(std::move(domain));
  }
  for (std::string& domain : domains) terms.push_back(std::move(domain));
  for (std::string& word : SubjectWords(m.subject)) terms.push_back(std::move(word));
  std::ranges::sort(terms);
  const auto [first, last] = std::ranges::unique(terms);
  terms.erase(first, last);
  for (const std::string& term : terms) {
    if (term.empty()) continue;
    MW_RETURN_IF_ERROR(
        session_->Queue(Sql::kInsertMessageTerm, Params().Int(m.account).Int(id).Text(term)));
  }
  return {};
}

Result<void> SqlStore::SetOutcome(AccountId account, MessageId id) {
  MW_RETURN_IF_ERROR(session_->Queue(Sql::kSetOutcome, Params().Int(account).Int(id)));
  return {};
}

Result<MessageSearchPage> SqlStore::SearchMessages(AccountId account, const MessageSearch& search) {
  MessageSearchPage page;
  const int limit = std::clamp(search.limit, 1, kMaxSearchLimit);
  const std::string term = SearchTerm(search.term);
  const std::optional<int> outcome = search.status ? OutcomeOf(*search.status) : std::nullopt;
  const std::int64_t since_ms = ToUnixMillis(search.since);

  // One snapshot: the candidates and the rows read for them agree.
  MW_ASSIGN_OR_RETURN(auto tx, SqlTransaction::Begin(session(), TxKind::kRead));
  MW_ASSIGN_OR_RETURN(const AccountState state, ReadAccountState(account, false));
  const bool held = state != AccountState::kActive;

  // Where the candidates come from, each source newest first: a term's index; a finished
  // status's; the queue for an unfinished status; or the finished and the unfinished mail
  // merged by id.
  std::vector<Sql> sources;
  if (!term.empty()) {
    sources = {Sql::kSearchByTerm};
  } else if (outcome) {
    sources = {Sql::kSearchByOutcome};
  } else if (search.status) {
    sources = {Sql::kSearchUnfinished};
  } else {
    sources = {Sql::kSearchFinished, Sql::kSearchUnfinished};
  }
  struct Candidate {
    MessageId id = 0;
    std::int64_t received_ms = 0;
    TrackStatus status = TrackStatus::kQueued;
  };
  MessageId before = search.before > 0 ? search.before : std::numeric_limits<MessageId>::max();
  int read = 0;
  std::vector<MessageId> found;
  bool more = true;
  while (static_cast<int>(found.size()) < limit && read < kMaxSearchCandidates) {
    const int chunk = std::min(kMaxSearchCandidates - read, std::max(limit * 2, 50));
    // The newest `chunk` of all sources: each source's newest `chunk`, merged.
    std::vector<Candidate> candidates;
    bool source_full = false;
    for (const Sql sql : sources) {
      Params params;
      params.Int(account).Int(before).Int(chunk);
      if (sql == Sql::kSearchByTerm) params.Text(term);
      if (sql == Sql::kSearchByOutcome) params.Int(*outcome);
      MW_ASSIGN_OR_RETURN(const Rows rows, session().Run(sql, params));
      for (int i = 0; i < rows.size(); ++i) {
        candidates.push_back({rows.Int(i, 0), rows.Int(i, 3), StatusOf(rows, i, 0, held)});
      }
      source_full = source_full || rows.size() == chunk;
    }
    std::ranges::sort(candidates, std::ranges::greater{}, &Candidate::id);
    const bool merged_more = static_cast<int>(candidates.size()) > chunk;
    if (merged_more) candidates.resize(static_cast<std::size_t>(chunk));
    std::size_t i = 0;
    for (; i < candidates.size() && static_cast<int>(found.size()) < limit; ++i) {
      ++read;
      before = candidates[i].id;
      if (candidates[i].received_ms < since_ms) continue;
      if (search.status && candidates[i].status != *search.status) continue;
      found.push_back(candidates[i].id);
    }
    if (!source_full && !merged_more && i == candidates.size()) {
      more = false;
      break;
    }
  }
  for (const MessageId id : found) {
    MW_ASSIGN_OR_RETURN(auto message, ReadTracked(account, id, /*with_events=*/false));
    if (message) page.messages.push_back(std::move(*message));
  }
  if (more) page.next_before = before;
  MW_RETURN_IF_ERROR(tx.Commit());
  return page;
}

Result<std::optional<TrackedMessage>> SqlStore::GetTrackedMessage(AccountId account, MessageId id) {
  return ReadTracked(account, id, /*with_events=*/true);
}

Result<std::optional<TrackedMessage>> SqlStore::ReadTracked(AccountId account, MessageId id,
                                                            bool with_events) {
  TrackedMessage tracked;
  StoredMessage& message = tracked.message;
  message.id = id;
  message.account = account;
  {
    MW_ASSIGN_OR_RETURN(const Rows rows,
                        session_->Run(Sql::kSelectTrackedMessage, Params().Int(account).Int(id)));
    if (rows.empty()) return std::optional<TrackedMessage>();
    message.sender = rows.Text(0, 0);
    message.subject = rows.Text(0, 1);
    message.script = rows.Text(0, 2);
    message.uid = static_cast<Uid>(rows.Int(0, 3));
    message.size = rows.Int(0, 4);
    message.attempts = static_cast<int>(rows.Int(0, 5));
    message.next_attempt = FromUnixMillis(rows.Int(0, 6));
    if (!rows.IsNull(0, 7)) tracked.finished_at = FromUnixMillis(rows.Int(0, 7));
    MW_ASSIGN_OR_RETURN(message.status, MessageStatusFromCode(rows.Int(0, 9)));
    message.received_at = FromUnixMillis(rows.Int(0, 11));
    MW_ASSIGN_OR_RETURN(const AccountState state, ReadAccountState(account, false));
    tracked.status = StatusOf(rows, 0, 8, state != AccountState::kActive);
  }
  {
    MW_ASSIGN_OR_RETURN(const Rows held,
                        session_->Run(Sql::kIsHeldForSender, Params().Int(account).Int(id)));
    if (!held.empty()) message.held_reason = held.Text(0, 0);
  }
  MW_RETURN_IF_ERROR(ReadRecipients(message, account, id));
  MW_RETURN_IF_ERROR(ReadScanResult(message));
  if (!with_events) return std::optional<TrackedMessage>(std::move(tracked));
  MW_ASSIGN_OR_RETURN(const Rows rows,
                      session_->Run(Sql::kSelectMessageEvents, Params().Int(account).Int(id)));
  for (int i = 0; i < rows.size(); ++i) {
    MessageEvent& event = tracked.events.emplace_back();
    event.at = FromUnixMillis(rows.Int(i, 0));
    event.kind = rows.Text(i, 1);
    event.recipient = static_cast<int>(rows.Int(i, 2));
    event.detail = rows.Text(i, 3);
    for (const StoredRecipient& r : message.recipients) {
      if (r.index == event.recipient) event.address = r.address;
    }
  }
  return std::optional<TrackedMessage>(std::move(tracked));
}

}  // namespace mailwarden
