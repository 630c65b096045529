#include "delivery/limit_notice.h"

#include <fmt/format.h>

#include "core/event_types.h"

namespace mailwarden {

GuardNotice ComposeLimitWarning(const Account& account, std::int64_t count, std::int64_t limit,
                                OverLimit over_limit) {
  GuardNotice notice;
  notice.to = account.report_to;
  const bool refuse = over_limit == OverLimit::kRefuse;
  if (account.language == "pl") {
    notice.subject = fmt::format("Konto {} zbliża się do dziennego limitu e-maili ({} z {})",
                                 account.name, count, limit);
    notice.text = fmt::format(
        "Dzień dobry,\n\n"
        "skrypty konta \"{}\" wysłały dziś {} e-maili; dzienny limit to {} "
        "(policy.max_per_day).\n\n"
        "{}\n\n"
        "-- \nmailwarden\n",
        account.name, count, limit,
        refuse ? "Po jego osiągnięciu kolejne e-maile będą odrzucane do końca dnia: skrypty "
                 "dostaną odpowiedź \"spróbuj później\"."
               : "Po jego osiągnięciu kolejne e-maile poczekają w kolejce i zostaną wysłane "
                 "następnego dnia; żaden nie zostanie usunięty.");
    return notice;
  }
  notice.subject = fmt::format("Account {} is nearing its daily e-mail limit ({} of {})",
                               account.name, count, limit);
  notice.text = fmt::format(
      "Hello,\n\n"
      "the scripts of the account \"{}\" have sent {} e-mails today; the daily limit is {} "
      "(policy.max_per_day).\n\n"
      "{}\n\n"
      "-- \nmailwarden\n",
      account.name, count, limit,
      refuse ? "Once it is reached, further e-mails are refused until the day ends: scripts are "
               "told to try again later."
             : "Once it is reached, further e-mails wait in the queue and go out the next day; "
               "none is deleted.");
  return notice;
}

std::string LimitEventData(std::int64_t count, std::int64_t limit, int day) {
  return fmt::format(
      R"({{"version":{},"limit":"max_per_day","value":{},"count":{},"day":"{:04}-{:02}-{:02}"}})",
      kEventSchemaVersion, limit, count, day / 10000, day / 100 % 100, day % 100);
}

}  // namespace mailwarden
