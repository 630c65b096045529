#include "delivery/account_guard.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>
#include <ctime>

#include "core/account_name.h"
#include "core/block_reason.h"
#include "core/duration.h"
#include "store/account_change.h"

namespace mailwarden {
namespace asio = boost::asio;

namespace {

// The rate the failures may pass before the bounce guard trips, as BounceGuardTrips reads it.
double AllowedRate(const Config::Policy& policy, bool tolerance_doubled) {
  return tolerance_doubled ? policy.bounce_rate * 2 : policy.bounce_rate;
}

int Percent(double rate) { return static_cast<int>(std::lround(rate * 100)); }

std::string FormatUtcMinute(TimePoint t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char out[32];
  std::strftime(out, sizeof out, "%Y-%m-%d %H:%M UTC", &tm);
  return out;
}

}  // namespace

void GuardCounts::Delivered(TimePoint now, std::int64_t attempted, std::int64_t failed) {
  if (attempted > 0) attempted_.Add(now, attempted);
  if (failed > 0) failed_.Add(now, failed);
}

bool ContentGuardTrips(const GuardCounts& counts, const Config::Policy& policy, TimePoint now) {
  return policy.quarantine_per_hour > 0 && counts.quarantined(now) >= policy.quarantine_per_hour;
}

std::optional<Actor> GuardTripped(const GuardCounts& counts, const Config::Policy& policy,
                                  bool tolerance_doubled, TimePoint now) {
  if (ContentGuardTrips(counts, policy, now)) return Actor::kSpamGuard;
  if (SpamGuardTrips(counts.submitted(now), policy.spam_per_hour)) return Actor::kSpamGuard;
  if (BounceGuardTrips(counts.failed(now), counts.attempted(now), policy.bounce_rate,
                       policy.bounce_min, tolerance_doubled)) {
    return Actor::kBounceGuard;
  }
  return std::nullopt;
}

std::string GuardReason(Actor guard, const GuardCounts& counts, const Config::Policy& policy,
                        bool tolerance_doubled, TimePoint now) {
  if (guard == Actor::kSpamGuard && ContentGuardTrips(counts, policy, now)) {
    return FormatBlockReason("content_quarantine", {{"quarantined", counts.quarantined(now)},
                                                    {"limit", policy.quarantine_per_hour}});
  }
  if (guard == Actor::kSpamGuard) {
    return FormatBlockReason(
        "spam_flood", {{"submitted", counts.submitted(now)}, {"limit", policy.spam_per_hour}});
  }
  const std::int64_t attempted = counts.attempted(now);
  const std::int64_t failed = counts.failed(now);
  const double rate = attempted > 0 ? static_cast<double>(failed) / attempted : 0.0;
  return FormatBlockReason(tolerance_doubled ? "bounce_rate_doubled" : "bounce_rate",
                           {{"failed", failed},
                            {"attempted", attempted},
                            {"rate", Percent(rate)},
                            {"limit", Percent(AllowedRate(policy, tolerance_doubled))}});
}

GuardNotice ComposeGuardNotice(Actor guard, const Account& account, std::string_view reason,
                               const Config::Policy& policy, TimePoint at) {
  GuardNotice notice;
  notice.to = account.report_to;
  const std::string when = FormatUtcMinute(at);
  const std::string hold = FormatDuration(policy.hold);
  const bool spam = guard == Actor::kSpamGuard;
  const bool complaints = guard == Actor::kComplaintGuard;
  if (account.language == "pl") {
    notice.subject =
        fmt::format("Wysyłka e-maili z konta {} została zablokowana ({})", account.name,
                    spam         ? "podejrzenie spamu"
                    : complaints ? "zgłoszenia spamu od odbiorców"
                                 : "zbyt wiele błędów");
    notice.text = fmt::format(
        "Dzień dobry,\n\n"
        "mailwarden zablokował {} wysyłkę e-maili ze skryptów konta \"{}\".\n\n"
        "Powód: {}\n\n"
        "Skrypty nadal mogą wysyłać e-maile: są one przyjmowane i wstrzymywane, nie są "
        "wysyłane ani usuwane. Wstrzymane e-maile wygasają po {}.\n\n",
        when, account.name, reason, hold);
    if (spam) {
      notice.text +=
          "Jak odblokować:\n"
          "1. Obejrzyj wstrzymane e-maile i skrypty, które je wysłały (panel, zakładka "
          "\"Skrypty e-mail\"). Jeśli to spam, zabezpiecz stronę: skrypt został najpewniej "
          "nadużyty.\n"
          "2. Usuń wstrzymane e-maile przyciskiem \"Wyczyść e-maile\" (PURGE). Po usunięciu "
          "wysyłka odblokuje się sama.\n"
          "Tej blokady nie można zdjąć przyciskiem \"Odblokuj\": e-maile wstrzymane podczas "
          "zalewu uznaje się za spam. Jeśli to prawdziwa poczta, skontaktuj się z "
          "administratorem hostingu.\n";
    } else if (complaints) {
      notice.text +=
          "Odbiorcy Twoich e-maili oznaczali je jako spam w swoich skrzynkach pocztowych, a "
          "dostawcy poczty przysłali te zgłoszenia. Zbyt wiele takich zgłoszeń psuje reputację "
          "serwera i sprawia, że poczta wszystkich klientów trafia do spamu.\n\n"
          "Jak odblokować:\n"
          "1. Sprawdź, do kogo i co wysyłają Twoje skrypty (panel, zakładka \"Skrypty "
          "e-mail\"): czy odbiorcy zgodzili się na te e-maile i czy mogą się łatwo wypisać. "
          "Jeśli skrypt został nadużyty do wysyłania spamu, zabezpiecz stronę.\n"
          "2. Odblokuj wysyłkę przyciskiem \"Odblokuj\" (UNBLOCK): wstrzymane e-maile zostaną "
          "wysłane, od najstarszego. Przez 24 godziny konto może dostać dwa razy więcej "
          "zgłoszeń, zanim zostanie znów zablokowane. Jeśli wstrzymane e-maile to spam, usuń je "
          "przyciskiem \"Wyczyść e-maile\" (PURGE).\n";
    } else {
      notice.text +=
          "Jak odblokować:\n"
          "1. Sprawdź ostatnie błędy (panel, zakładka \"Skrypty e-mail\") i popraw adresy "
          "odbiorców, do których piszą Twoje skrypty.\n"
          "2. Odblokuj wysyłkę przyciskiem \"Odblokuj\" (UNBLOCK): wstrzymane e-maile zostaną "
          "wysłane, od najstarszego. Przez 24 godziny konto może mieć dwa razy więcej "
          "błędów, zanim zostanie znów zablokowane.\n";
    }
    notice.text += "\n-- \nmailwarden\n";
    return notice;
  }
  notice.subject = fmt::format("Sending from account {} was blocked ({})", account.name,
                               spam         ? "suspected spam"
                               : complaints ? "spam complaints from recipients"
                                            : "too many failed deliveries");
  notice.text = fmt::format(
      "Hello,\n\n"
      "mailwarden blocked the sending of e-mail from the scripts of the account \"{}\" at {}.\n\n"
      "Reason: {}\n\n"
      "Scripts can still send: their e-mails are accepted and held, neither sent nor deleted. "
      "Held e-mails expire after {}.\n\n",
      account.name, when, reason, hold);
  if (spam) {
    notice.text +=
        "How to lift the block:\n"
        "1. Look at the held e-mails and the scripts that sent them (the panel's \"Email "
        "scripts\" tab). If they are spam, secure the site: the script was most likely "
        "abused.\n"
        "2. Delete the held e-mails with \"Purge e-mails\" (PURGE). Sending is unblocked by "
        "itself when the purge ends.\n"
        "\"Unblock sending\" cannot lift this block: the mail held during a flood is presumed "
        "spam. If it is real mail, ask your hosting provider's administrator.\n";
  } else if (complaints) {
    notice.text +=
        "The recipients of your e-mails marked them as spam in their mailboxes, and their mail "
        "providers sent us these complaints. Too many of them spoil the server's reputation and "
        "send every customer's mail to the spam folder.\n\n"
        "How to lift the block:\n"
        "1. Check whom your scripts send to and what (the panel's \"Email scripts\" tab): did "
        "the recipients ask for these e-mails, and can they easily unsubscribe? If a script "
        "was abused to send spam, secure the site.\n"
        "2. Unblock sending (UNBLOCK): the held e-mails go out, oldest first. For 24 hours the "
        "account may then get twice as many complaints before it is blocked again. If the "
        "held e-mails are spam, delete them with \"Purge e-mails\" (PURGE) instead.\n";
  } else {
    notice.text +=
        "How to lift the block:\n"
        "1. See the recent errors (the panel's \"Email scripts\" tab) and fix the recipient "
        "addresses your scripts send to.\n"
        "2. Unblock sending (UNBLOCK): the held e-mails go out, oldest first. For 24 hours the "
        "account may then have twice as many failures before it is blocked again.\n";
  }
  notice.text += "\n-- \nmailwarden\n";
  return notice;
}

AccountGuard::AccountGuard(asio::any_io_executor ex, const Config& config, StoreRunner& store,
                           const Clock& clock, Notify notify)
    : ex_(std::move(ex)),
      config_(config),
      store_(store),
      clock_(clock),
      notify_(std::move(notify)) {}

AccountGuard::Watch& AccountGuard::WatchOf(AccountId account, TimePoint now) {
  auto [it, added] = watches_.try_emplace(account);
  if (added) it->second.counting_from = now;
  return it->second;
}

void AccountGuard::OnSubmitted(AccountId account) {
  const TimePoint now = clock_.Now();
  Watch& watch = WatchOf(account, now);
  if (watch.exempt) return;
  watch.counts.Submitted(now);
  MaybeCheck(account, watch, now);
}

void AccountGuard::OnRecipients(AccountId account, const std::vector<std::string>& recipients,
                                std::int64_t unique_per_hour) {
  const TimePoint now = clock_.Now();
  Watch& watch = WatchOf(account, now);
  if (watch.exempt) return;
  watch.unique_limit = unique_per_hour;
  watch.unique.Add(recipients, unique_per_hour, now);
  MaybeCheck(account, watch, now);
}

void AccountGuard::OnOutcome(AccountId account, int attempted, int failed) {
  const TimePoint now = clock_.Now();
  Watch& watch = WatchOf(account, now);
  if (watch.exempt) return;
  watch.counts.Delivered(now, attempted, failed);
  MaybeCheck(account, watch, now);
}

void AccountGuard::OnQuarantined(AccountId account) {
  const TimePoint now = clock_.Now();
  Watch& watch = WatchOf(account, now);
  if (watch.exempt) return;
  watch.counts.Quarantined(now);
  MaybeCheck(account, watch, now);
}

void AccountGuard::OnComplaintBlock(const Account& before, std::string_view reason) {
  const TimePoint now = clock_.Now();
  ++blocks_;
  if (on_block_) on_block_(BlockedBy::kComplaintGuard);
  spdlog::warn("account={} actor={} action=BLOCK from={} to={} reason=\"{}\"", before.name,
               ActorName(Actor::kComplaintGuard), AccountStateName(before.state),
               AccountStateName(AccountState::kBlocked), reason);
  if (before.report_to.empty()) {
    spdlog::warn("guard: account={} has no report recipient; no notice sent", before.name);
    return;
  }
  if (notify_) {
    notify_(ComposeGuardNotice(Actor::kComplaintGuard, before, reason, config_.policy, now));
  }
}

void AccountGuard::MaybeCheck(AccountId account, Watch& watch, TimePoint now) {
  if (watch.checking) return;
  // The tolerance as last read; a stale one errs toward reading the store, which decides.
  const bool doubled = now < watch.bounce_tolerance_until;
  if (!watch.UniqueTrips() && !GuardTripped(watch.counts, config_.policy, doubled, now)) return;
  watch.checking = true;
  asio::co_spawn(ex_, Check(account), asio::detached);
}

asio::awaitable<void> AccountGuard::Check(AccountId account) {
  auto found = co_await store_.AsyncRun<std::optional<Account>>(
      [&](Store& s) { return s.GetAccount(account); }, asio::use_awaitable);
  Watch& watch = watches_.at(account);
  const TimePoint now = clock_.Now();
  if (!found || !*found) {
    if (!found) spdlog::warn("guard: cannot read account {}: {}", account, found.error().message);
    watch.checking = false;
    co_return;
  }
  const Account& a = **found;
  watch.bounce_tolerance_until = a.bounce_tolerance_until;
  if (IsReservedAccountName(a.name)) {
    watch.exempt = true;
    watch.counts.Reset();
    watch.checking = false;
    co_return;
  }
  // Counts from before a change of state, or of an account that is held anyway, do not block:
  // counting starts again.
  if (a.since > watch.counting_from || a.state != AccountState::kActive) {
    watch.counts.Reset();
    watch.unique.Reset();
    watch.counting_from = now;
    watch.checking = false;
    co_return;
  }
  const bool doubled = BounceToleranceDoubled(StatusOf(a), now);
  const bool unique = watch.UniqueTrips();
  const auto guard = unique ? std::optional<Actor>(Actor::kSpamGuard)
                            : GuardTripped(watch.counts, config_.policy, doubled, now);
  if (!guard) {
    watch.checking = false;
    co_return;
  }
  // A list-spam run: many different recipients, whatever the volume.
  const std::string reason =
      unique ? FormatBlockReason("unique_recipients", {{"limit", watch.unique_limit}})
             : GuardReason(*guard, watch.counts, config_.policy, doubled, now);
  auto decided = Decide(StatusOf(a), AccountAction::kBlock, *guard, reason, now);
  if (!decided) {
    spdlog::error("guard: account={} cannot block: {}", a.name, decided.error().message);
    watch.checking = false;
    co_return;
  }
  const AccountStateChange change = ChangeFor(a, *decided, *guard, AccountAction::kBlock);
  auto applied = co_await store_.AsyncRun<void>([&](Store& s) { return s.SetAccountState(change); },
                                                asio::use_awaitable);
  watch.counts.Reset();
  watch.unique.Reset();
  watch.counting_from = change.at;
  watch.checking = false;
  if (!applied) {
    // kConflict: someone changed the state first (a lost race); that state stands.
    if (applied.error().code != ErrorCode::kConflict) {
      spdlog::error("guard: account={} cannot block: {}", a.name, applied.error().message);
    }
    co_return;
  }
  ++blocks_;
  if (on_block_) on_block_(change.blocked_by);
  spdlog::warn("account={} actor={} action=BLOCK from={} to={} reason=\"{}\"", a.name, change.actor,
               AccountStateName(change.from), AccountStateName(change.to), reason);
  if (a.report_to.empty()) {
    spdlog::warn("guard: account={} has no report recipient; no notice sent", a.name);
    co_return;
  }
  if (notify_) notify_(ComposeGuardNotice(*guard, a, reason, config_.policy, now));
}

}  // namespace mailwarden
