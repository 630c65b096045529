#include "report/daily_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <string_view>

#include "core/failure_category.h"
#include "core/local_day.h"
#include "core/text.h"

namespace mailwarden {
namespace {

// The longest a stored text may be in a row: a reply or a subject is the sender's to choose,
// and one long one must not make the report unreadable.
constexpr std::size_t kMaxFieldBytes = 300;

struct Words {
  std::string_view subject;  // fmt: {0} account, {1} day
  std::string_view title;
  std::string_view account;
  std::string_view day;
  std::string_view local_time;
  std::string_view intro;
  std::string_view failed;
  std::string_view expired;  // fmt: {0} hold
  std::string_view sender;   // fmt: {0} held, {1} refused
  std::string_view time;
  std::string_view recipient;
  std::string_view meaning;
  std::string_view reply;
  std::string_view mail_subject;
  std::string_view none_listed;
  std::string_view more;  // fmt: {0} how many
  std::string_view next;
  std::array<std::string_view, 5> steps;
  std::string_view footer;
};

constexpr Words kEnglish{
    .subject = "E-mail sending error report: {0}, {1}",
    .title = "E-mail sending error report",
    .account = "Account",
    .day = "Day",
    .local_time = "the server's local time",
    .intro = "On this day some e-mails sent by the scripts of this account were not delivered.",
    .failed = "Failed deliveries",
    .expired = "Expired messages (held for longer than {0} while sending was blocked; not sent)",
    .sender =
        "Sender not allowed (the From address was not one of the account's domains): {0} "
        "held, {1} refused",
    .time = "Time",
    .recipient = "Recipient",
    .meaning = "What it means",
    .reply = "Reply of the receiving server",
    .mail_subject = "Subject",
    .none_listed = "(no failure is listed: the day's failures are no longer stored)",
    .more = "... and {0} more not listed here.",
    .next = "What to do next",
    .steps =
        {
            "Check the recipients listed: a reply starting with 5 (e.g. 550) means the "
            "receiving server refused the address for good. Correct or remove it in the script "
            "or form that sends to it.",
            "A reply starting with 4 is a temporary failure that lasted too long; the message "
            "is not tried again.",
            "Many failures to addresses you do not know may mean that a script is abused to send "
            "spam: block sending in the \"Email scripts\" tab, check the scripts, then purge the "
            "held e-mails or unblock sending.",
            "Expired messages were held while sending was blocked. Unblock sending sooner to have "
            "held e-mails sent.",
            "To change who receives this report, use \"Change recipient\" in the \"Email "
            "scripts\" tab.",
        },
    .footer = "This report was sent automatically by mailwarden, once for this day.",
};

constexpr Words kPolish{
    .subject = "Raport błędów wysyłki e-maili: {0}, {1}",
    .title = "Raport błędów wysyłki e-maili",
    .account = "Konto",
    .day = "Dzień",
    .local_time = "czas lokalny serwera",
    .intro = "Tego dnia części e-maili wysłanych przez skrypty tego konta nie udało się doręczyć.",
    .failed = "Nieudane doręczenia",
    .expired =
        "Wygasłe wiadomości (wstrzymane dłużej niż {0} przy zablokowanej wysyłce; nie "
        "zostały wysłane)",
    .sender =
        "Niedozwolony nadawca (adres From spoza domen konta): wstrzymane {0}, "
        "odrzucone {1}",
    .time = "Godzina",
    .recipient = "Odbiorca",
    .meaning = "Co to oznacza",
    .reply = "Odpowiedź serwera odbiorcy",
    .mail_subject = "Temat",
    .none_listed = "(brak listy: błędy z tego dnia nie są już przechowywane)",
    .more = "... oraz {0} kolejnych, niewymienionych tutaj.",
    .next = "Co dalej",
    .steps =
        {
            "Sprawdź wymienionych odbiorców: odpowiedź zaczynająca się od 5 (np. 550) oznacza, "
            "że serwer odbiorcy odrzucił adres na stałe. Popraw go lub usuń w skrypcie albo "
            "formularzu, który na niego wysyła.",
            "Odpowiedź zaczynająca się od 4 to błąd tymczasowy, który trwał zbyt długo; "
            "wiadomość nie będzie ponawiana.",
            "Wiele błędów dla nieznanych Ci adresów może oznaczać, że skrypt jest wykorzystywany "
            "do wysyłki spamu: zablokuj wysyłkę w zakładce „Skrypty e-mail”, sprawdź skrypty, a "
            "następnie wyczyść wstrzymane e-maile lub odblokuj wysyłkę.",
            "Wygasłe wiadomości były wstrzymane, gdy wysyłka była zablokowana. Odblokuj wysyłkę "
            "wcześniej, aby wstrzymane e-maile zostały wysłane.",
            "Aby zmienić odbiorcę tego raportu, użyj przycisku „Zmień odbiorcę” w zakładce "
            "„Skrypty e-mail”.",
        },
    .footer = "Ten raport został wysłany automatycznie przez mailwarden, jeden raz za ten dzień.",
};

// Control characters (a CR or LF in a decoded subject, a tab in a reply) become spaces, and a
// long text is cut at a character boundary, with an ellipsis.
std::string Clean(std::string_view text) {
  std::string out = ScrubControl(text);
  if (out.size() > kMaxFieldBytes) {
    out.resize(CutAtUtf8Boundary(out, kMaxFieldBytes).size());
    out += "…";
  }
  return out;
}

std::string Html(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

// An expired message never reached a receiving server: its category says all there is.
bool HasRemoteReply(FailureCategory c) { return c != FailureCategory::kExpired; }

std::string LocalClock(TimePoint t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  localtime_r(&secs, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

}  // namespace

namespace {

// The quarantine's section, in the report's language: how many, and the messages still held
// there with their spam score and main symbols.
struct QuarantineWords {
  std::string_view heading;
  std::string_view count;  // {} messages
  std::string_view score;  // spam score {}: {}
  std::string_view what;
};
constexpr QuarantineWords kQuarantineEnglish = {
    "Quarantined by the content scanner",
    "E-mails the content scanner judged spam or phishing and did not send: {}",
    "spam score {:.1f}: {}",
    "They are deleted after the hold time unless your hosting provider releases them. A "
    "script that sends spam was most likely abused: secure the site.",
};
constexpr QuarantineWords kQuarantinePolish = {
    "Zatrzymane przez skaner treści",
    "E-maile uznane przez skaner treści za spam lub phishing i niewysłane: {}",
    "wynik spamu {:.1f}: {}",
    "Zostaną usunięte po czasie wstrzymania, chyba że dostawca hostingu je wyśle. Skrypt, "
    "który wysyła spam, został najpewniej nadużyty: zabezpiecz stronę.",
};

std::string VerdictLine(const QuarantineWords& q, const StoredMessage& m) {
  if (!m.scan) return "";
  std::string symbols;
  for (const std::string& s : m.scan->symbols) symbols += (symbols.empty() ? "" : ", ") + s;
  return fmt::format(fmt::runtime(q.score), m.scan->score, symbols);
}

std::string QuarantineText(const DailyReportData& data, const QuarantineWords& q) {
  if (data.quarantined == 0 && data.quarantine.empty()) return "";
  std::string t = fmt::format("{}\n\n", q.heading);
  t += fmt::format(fmt::runtime(q.count), data.quarantined) + "\n\n";
  const std::size_t listed = std::min(data.quarantine.size(), kMaxReportQuarantined);
  for (std::size_t i = 0; i < listed; ++i) {
    const StoredMessage& m = data.quarantine[i];
    t += fmt::format("{:>3}. {}  {}\n", i + 1, LocalClock(m.received_at), Clean(m.subject));
    t += fmt::format("     {}\n\n", Clean(VerdictLine(q, m)));
  }
  t += fmt::format("{}\n\n", q.what);
  return t;
}

std::string QuarantineHtml(const DailyReportData& data, const QuarantineWords& q) {
  if (data.quarantined == 0 && data.quarantine.empty()) return "";
  std::string h = fmt::format("<h2 style=\"font-size: 16px;\">{}</h2>\n", Html(q.heading));
  h += fmt::format("<p>{}</p>\n<ul>\n", Html(fmt::format(fmt::runtime(q.count), data.quarantined)));
  const std::size_t listed = std::min(data.quarantine.size(), kMaxReportQuarantined);
  for (std::size_t i = 0; i < listed; ++i) {
    const StoredMessage& m = data.quarantine[i];
    h += fmt::format("<li>{} {} &mdash; {}</li>\n", LocalClock(m.received_at),
                     Html(Clean(m.subject)), Html(Clean(VerdictLine(q, m))));
  }
  h += fmt::format("</ul>\n<p>{}</p>\n", Html(q.what));
  return h;
}

}  // namespace

DailyReport RenderDailyReport(const DailyReportData& data) {
  const QuarantineWords& q = data.language == "pl" ? kQuarantinePolish : kQuarantineEnglish;
  const Words& w = data.language == "pl" ? kPolish : kEnglish;
  const std::string day = FormatDay(data.day);
  const std::size_t listed = std::min(data.rows.size(), kMaxReportRows);
  const std::int64_t more =
      static_cast<std::int64_t>(data.rows.size() - listed) + std::max<std::int64_t>(0, data.unread);
  const std::string hold = data.hold.empty() ? "72h" : data.hold;
  const std::string expired_label = fmt::format(fmt::runtime(w.expired), hold);

  DailyReport report;
  report.subject = fmt::format(fmt::runtime(w.subject), data.account_name, day);

  std::string& t = report.text;
  t += fmt::format("{}\n\n", w.title);
  t += fmt::format("{}: {}\n", w.account, data.account_name);
  t += fmt::format("{}: {} ({})\n\n", w.day, day, w.local_time);
  t += fmt::format("{}\n\n", w.intro);
  t += fmt::format("  {}: {}\n", w.failed, data.failed);
  t += fmt::format("  {}: {}\n", expired_label, data.expired);
  const bool sender = data.sender_held > 0 || data.sender_refused > 0;
  const std::string sender_line =
      fmt::format(fmt::runtime(w.sender), data.sender_held, data.sender_refused);
  if (sender) t += fmt::format("  {}\n", sender_line);
  t += "\n";
  for (std::size_t i = 0; i < listed; ++i) {
    const DeliveryError& e = data.rows[i];
    const FailureCategory category = StoredFailureCategory(e.category, e.reply);
    t += fmt::format("{:>3}. {}  {}\n", i + 1, LocalClock(e.at), Clean(e.recipient));
    t += fmt::format("     {}: {}\n", w.meaning, FailureCategoryText(category, data.language));
    if (HasRemoteReply(category)) t += fmt::format("     {}: {}\n", w.reply, Clean(e.reply));
    t += fmt::format("     {}: {}\n\n", w.mail_subject, Clean(e.subject));
  }
  if (listed == 0) t += fmt::format("{}\n\n", w.none_listed);
  if (more > 0) t += fmt::format(fmt::runtime(w.more), more) + "\n\n";
  t += QuarantineText(data, q);
  t += fmt::format("{}:\n", w.next);
  for (const std::string_view step : w.steps) t += fmt::format("- {}\n", step);
  t += fmt::format("\n-- \n{}\n", w.footer);

  std::string& h = report.html;
  h += "<!DOCTYPE html>\n<html lang=\"";
  h += data.language == "pl" ? "pl" : "en";
  h += "\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += fmt::format("<title>{}</title>\n", Html(report.subject));
  h += "</head>\n<body style=\"font-family: Arial, Helvetica, sans-serif; color: #222; "
       "max-width: 900px;\">\n";
  h += fmt::format("<h1 style=\"font-size: 20px;\">{}</h1>\n", Html(w.title));
  h += fmt::format("<p>{}: <b>{}</b><br>\n{}: <b>{}</b> ({})</p>\n", Html(w.account),
                   Html(data.account_name), Html(w.day), day, Html(w.local_time));
  h += fmt::format("<p>{}</p>\n", Html(w.intro));
  h += "<table style=\"border-collapse: collapse; margin-bottom: 16px;\">\n";
  h += fmt::format("<tr><td style=\"padding: 2px 12px 2px 0;\">{}</td><td><b>{}</b></td></tr>\n",
                   Html(w.failed), data.failed);
  h += fmt::format("<tr><td style=\"padding: 2px 12px 2px 0;\">{}</td><td><b>{}</b></td></tr>\n",
                   Html(expired_label), data.expired);
  if (sender) {
    h += fmt::format("<tr><td colspan=\"2\" style=\"padding: 2px 12px 2px 0;\">{}</td></tr>\n",
                     Html(sender_line));
  }
  h += "</table>\n";
  if (listed == 0) {
    h += fmt::format("<p>{}</p>\n", Html(w.none_listed));
  } else {
    constexpr std::string_view kCell =
        "padding: 4px 8px; border: 1px solid #ccc; text-align: left; vertical-align: top;";
    h += "<table style=\"border-collapse: collapse; font-size: 13px;\">\n<tr style=\"background: "
         "#eee;\">";
    for (const std::string_view head : {w.time, w.recipient, w.meaning, w.reply, w.mail_subject}) {
      h += fmt::format("<th style=\"{}\">{}</th>", kCell, Html(head));
    }
    h += "</tr>\n";
    for (std::size_t i = 0; i < listed; ++i) {
      const DeliveryError& e = data.rows[i];
      const FailureCategory category = StoredFailureCategory(e.category, e.reply);
      h += fmt::format(
          "<tr><td style=\"{0}\">{1}</td><td style=\"{0}\">{2}</td><td style=\"{0}\">{3}</td>"
          "<td style=\"{0}\">{4}</td><td style=\"{0}\">{5}</td></tr>\n",
          kCell, LocalClock(e.at), Html(Clean(e.recipient)),
          Html(FailureCategoryText(category, data.language)),
          HasRemoteReply(category) ? Html(Clean(e.reply)) : std::string(), Html(Clean(e.subject)));
    }
    h += "</table>\n";
  }
  if (more > 0) h += fmt::format("<p>{}</p>\n", Html(fmt::format(fmt::runtime(w.more), more)));
  h += QuarantineHtml(data, q);
  h += fmt::format("<h2 style=\"font-size: 16px;\">{}</h2>\n<ul>\n", Html(w.next));
  for (const std::string_view step : w.steps) h += fmt::format("<li>{}</li>\n", Html(step));
  h += fmt::format("</ul>\n<p style=\"color: #777; font-size: 12px;\">{}</p>\n</body>\n</html>\n",
                   Html(w.footer));
  return report;
}

}  // namespace mailwarden
