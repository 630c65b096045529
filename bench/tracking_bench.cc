// Tracking's latency at size: the searches a customer makes ("where is my mail?") over one
// account holding N finished messages (1,000,000 by default), on SQLite and, with
// MW_TEST_PG_URL set (a server where it may create and drop a database), on PostgreSQL.
//
// The store is made by the daemon's own migrations (OpenStore), then filled in bulk with SQL
// as the store would have left it: each message delivered (one in a hundred failed), with one
// recipient (customer<i mod 50,000>@example.net: about 20 messages each), its terms and its two
// events. Each search is timed through Store::SearchMessages (a page of 50), the median of 20.
// Prints a table, in milliseconds.
//
//   build/bin/tracking_bench [N]
#include <fmt/format.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace mailwarden {
namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;

// The bulk fill: one text per engine, {n} and {a} (the account's id) formatted in.
constexpr std::string_view kFillSqlite = R"sql(
CREATE TEMP TABLE seq (i INTEGER PRIMARY KEY);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n})
INSERT INTO seq SELECT i FROM s;
INSERT INTO messages (id, account_id, status, attempts, received_ms, next_attempt_ms, done_ms,
                      uid, size, sender, subject, script, body, outcome)
  SELECT i, {a}, 2, 1, {t0} + i * 10, {t0} + i * 10, {t0} + i * 10 + 5, 1000, 2000,
         'www@site.example', 'Order ' || i, '/home/site/shop.php', NULL,
         CASE WHEN i % 100 = 0 THEN 2 ELSE 1 END FROM seq;
INSERT INTO recipients (message_id, idx, account_id, address, status, reply, updated_ms, category)
  SELECT i, 0, {a}, 'customer' || (i % 50000) || '@example.net',
         CASE WHEN i % 100 = 0 THEN 2 ELSE 1 END,
         CASE WHEN i % 100 = 0 THEN '550 5.1.1 no such user' ELSE '250 2.0.0 Ok' END,
         {t0} + i * 10 + 5, CASE WHEN i % 100 = 0 THEN 'bad_mailbox' ELSE '' END FROM seq;
INSERT INTO message_terms (message_id, term, account_id)
  SELECT i, 'customer' || (i % 50000) || '@example.net', {a} FROM seq
  UNION ALL SELECT i, 'www@site.example', {a} FROM seq
  UNION ALL SELECT i, 'order ' || i, {a} FROM seq;
INSERT INTO message_events (message_id, account_id, at_ms, kind, recipient, detail)
  SELECT i, {a}, {t0} + i * 10, 'received', -1, 'via drop-in, uid 1000' FROM seq
  UNION ALL SELECT i, {a}, {t0} + i * 10 + 5,
         CASE WHEN i % 100 = 0 THEN 'failed' ELSE 'delivered' END, 0, '250 2.0.0 Ok' FROM seq;
DROP TABLE seq;
)sql";

constexpr std::string_view kFillPostgres = R"sql(
INSERT INTO messages (id, account_id, status, attempts, received_ms, next_attempt_ms, done_ms,
                      uid, size, sender, subject, script, body, outcome)
  SELECT i, {a}, 2, 1, {t0} + i * 10, {t0} + i * 10, {t0} + i * 10 + 5, 1000, 2000,
         'www@site.example', 'Order ' || i, '/home/site/shop.php', NULL,
         CASE WHEN i % 100 = 0 THEN 2 ELSE 1 END FROM generate_series(1, {n}) i;
INSERT INTO recipients (account_id, message_id, idx, address, status, reply, updated_ms, category)
  SELECT {a}, i, 0, 'customer' || (i % 50000) || '@example.net',
         CASE WHEN i % 100 = 0 THEN 2 ELSE 1 END,
         CASE WHEN i % 100 = 0 THEN '550 5.1.1 no such user' ELSE '250 2.0.0 Ok' END,
         {t0} + i * 10 + 5, CASE WHEN i % 100 = 0 THEN 'bad_mailbox' ELSE '' END
  FROM generate_series(1, {n}) i;
INSERT INTO message_terms (account_id, message_id, term)
  SELECT {a}, i, 'customer' || (i % 50000) || '@example.net' FROM generate_series(1, {n}) i
  UNION ALL SELECT {a}, i, 'www@site.example' FROM generate_series(1, {n}) i
  UNION ALL SELECT {a}, i, 'order ' || i FROM generate_series(1, {n}) i;
INSERT INTO message_events (account_id, message_id, at_ms, kind, recipient, detail)
  SELECT {a}, i, {t0} + i * 10, 'received', -1, 'via drop-in, uid 1000'
  FROM generate_series(1, {n}) i
  UNION ALL SELECT {a}, i, {t0} + i * 10 + 5,
         CASE WHEN i % 100 = 0 THEN 'failed' ELSE 'delivered' END, 0, '250 2.0.0 Ok'
  FROM generate_series(1, {n}) i;
SELECT setval(pg_get_serial_sequence('messages', 'id'), {n});
ANALYZE;
)sql";

struct Case {
  std::string name;
  std::function<Result<void>(Store&, AccountId)> run;
};

std::vector<Case> Cases(std::int64_t n) {
  auto search = [](MessageSearch s) {
    return [s](Store& store, AccountId a) -> Result<void> {
      auto page = store.SearchMessages(a, s);
      if (!page) return std::unexpected(page.error());
      if (page->messages.empty()) return Fail(ErrorCode::kInternal, "the search found nothing");
      return {};
    };
  };
  return {
      {"newest 50, no filter", search({})},
      {"by recipient (about 20 match)", search({.term = "customer12345@example.net"})},
      {"by envelope sender (all match)", search({.term = "www@site.example"})},
      {"by subject (1 matches)", search({.term = fmt::format("Order {}", n / 2)})},
      {"status delivered", search({.status = TrackStatus::kDelivered})},
      {"status failed (1 in 100)", search({.status = TrackStatus::kFailed})},
      {"page from the middle (cursor)", search({.before = n / 2})},
      {"recipient + status failed",
       search({.term = "customer100@example.net", .status = TrackStatus::kFailed})},
      {"one message with its history",
       [n](Store& store, AccountId a) -> Result<void> {
         auto m = store.GetTrackedMessage(a, n / 3);
         if (!m) return std::unexpected(m.error());
         if (!*m || (*m)->events.size() != 2) return Fail(ErrorCode::kInternal, "no history");
         return {};
       }},
  };
}

// Median milliseconds of 20 runs of each case (after one to warm the cache).
std::optional<std::vector<double>> Measure(Store& store, AccountId account, std::int64_t n) {
  std::vector<double> medians;
  for (const Case& c : Cases(n)) {
    std::vector<double> times;
    for (int i = 0; i < 21; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      auto done = c.run(store, account);
      const auto t1 = std::chrono::steady_clock::now();
      if (!done) {
        std::fprintf(stderr, "%s: %s\n", c.name.c_str(), done.error().message.c_str());
        return std::nullopt;
      }
      if (i > 0) times.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    std::ranges::sort(times);
    medians.push_back(times[times.size() / 2]);
  }
  return medians;
}

AccountId MakeAccount(Store& store) {
  AccountSpec spec;
  spec.name = "big";
  spec.uids = {64001};
  auto id = store.UpsertAccount(spec);
  if (!id) {
    std::fprintf(stderr, "account: %s\n", id.error().message.c_str());
    std::exit(1);
  }
  return *id;
}

std::string Fill(std::string_view text, std::int64_t n, AccountId a) {
  return fmt::format(fmt::runtime(text), fmt::arg("n", n), fmt::arg("a", a), fmt::arg("t0", kT0));
}

std::optional<std::vector<double>> RunSqlite(std::int64_t n) {
  const char* base = std::getenv("MW_BENCH_DIR");
  std::string tmpl =
      ((base != nullptr ? std::filesystem::path(base) : std::filesystem::temp_directory_path()) /
       "mw_tracking_bench.XXXXXX")
          .string();
  if (::mkdtemp(tmpl.data()) == nullptr) return std::nullopt;
  const std::filesystem::path dir = tmpl;
  const std::string file = (dir / "bench.db").string();
  std::optional<std::vector<double>> result;
  {
    auto store = OpenStore("sqlite:" + file);
    if (!store) {
      std::fprintf(stderr, "sqlite: %s\n", store.error().message.c_str());
      return std::nullopt;
    }
    const AccountId account = MakeAccount(**store);
    sqlite3* db = nullptr;
    sqlite3_open(file.c_str(), &db);
    char* error = nullptr;
    const std::string fill = "BEGIN;" + Fill(kFillSqlite, n, account) + "COMMIT; ANALYZE;";
    if (sqlite3_exec(db, fill.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      std::fprintf(stderr, "sqlite fill: %s\n", error != nullptr ? error : "");
      sqlite3_free(error);
      sqlite3_close(db);
      return std::nullopt;
    }
    sqlite3_close(db);
    result = Measure(**store, account, n);
  }
  std::filesystem::remove_all(dir);
  return result;
}

std::optional<std::vector<double>> RunPostgres(std::int64_t n, const std::string& admin_url) {
  const std::string name = fmt::format("mw_tracking_bench_{}", ::getpid());
  auto exec = [](const std::string& url, const std::string& sql) {
    PGconn* conn = PQconnectdb(url.c_str());
    PGresult* r = PQexec(conn, sql.c_str());
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok) std::fprintf(stderr, "postgresql: %s\n", PQerrorMessage(conn));
    PQclear(r);
    PQfinish(conn);
    return ok;
  };
  if (!exec(admin_url, "CREATE DATABASE " + name)) return std::nullopt;
  // The server's url with the new database in place of the one it names.
  std::string url = admin_url;
  const std::size_t slash = url.rfind('/');
  const std::size_t query = url.find('?', slash);
  url = url.substr(0, slash + 1) + name + (query == std::string::npos ? "" : url.substr(query));
  std::optional<std::vector<double>> result;
  {
    auto store = OpenStore(url);
    if (!store) {
      std::fprintf(stderr, "postgresql: %s\n", store.error().message.c_str());
    } else {
      const AccountId account = MakeAccount(**store);
      if (exec(url, Fill(kFillPostgres, n, account))) result = Measure(**store, account, n);
    }
  }
  exec(admin_url, "DROP DATABASE " + name + " WITH (FORCE)");
  return result;
}

int Main(int argc, char** argv) {
  const std::int64_t n = argc > 1 ? std::atoll(argv[1]) : 1'000'000;
  if (n < 100'000) {
    std::fprintf(stderr, "usage: tracking_bench [N >= 100000]\n");
    return 64;
  }
  const auto sqlite = RunSqlite(n);
  std::optional<std::vector<double>> pg;
  if (const char* url = std::getenv("MW_TEST_PG_URL"); url != nullptr && *url != '\0') {
    pg = RunPostgres(n, url);
  }
  std::printf("Tracking searches over %lld finished messages of one account (median of 20, ms)\n\n",
              static_cast<long long>(n));
  std::printf("| %-34s | %8s | %10s |\n", "search (a page of 50)", "SQLite", "PostgreSQL");
  std::printf("|%s|%s|%s|\n", std::string(36, '-').c_str(), std::string(9, '-').append(":").c_str(),
              std::string(11, '-').append(":").c_str());
  const auto cases = Cases(n);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    auto cell = [&](const std::optional<std::vector<double>>& column) {
      return column ? fmt::format("{:.2f}", (*column)[i]) : std::string("-");
    };
    std::printf("| %-34s | %8s | %10s |\n", cases[i].name.c_str(), cell(sqlite).c_str(),
                cell(pg).c_str());
  }
  return sqlite ? 0 : 1;
}

}  // namespace
}  // namespace mailwarden

int main(int argc, char** argv) { return mailwarden::Main(argc, argv); }
