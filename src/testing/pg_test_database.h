// For tests only: a PostgreSQL database of a test's own, on the server whose admin url is in
// MW_TEST_PG_URL (for example postgresql://postgres@127.0.0.1:PORT/postgres, as
// scripts/pg-cluster prints it). Created when made, dropped (with its connections) when
// destroyed. Without MW_TEST_PG_URL there is no server: PgAdminUrl() is null and the tests
// that need one skip.
#pragma once

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace mailwarden::testing {

inline const char* PgAdminUrl() {
  const char* url = std::getenv("MW_TEST_PG_URL");
  return url != nullptr && *url != '\0' ? url : nullptr;
}

// Runs sql on the database of url (the admin url when empty); a failure fails the test.
inline void PgExec(const std::string& sql, const std::string& url = {}) {
  PGconn* conn = PQconnectdb(url.empty() ? PgAdminUrl() : url.c_str());
  PGresult* result = PQexec(conn, sql.c_str());
  const ExecStatusType status = PQresultStatus(result);
  EXPECT_TRUE(status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
      << sql << ": " << PQerrorMessage(conn);
  PQclear(result);
  PQfinish(conn);
}

// The first column of the first row of a query on the database of url (the admin url when
// empty); -1 if there is none.
inline std::int64_t PgQueryInt(const std::string& sql, const std::string& url = {}) {
  PGconn* conn = PQconnectdb(url.empty() ? PgAdminUrl() : url.c_str());
  PGresult* result = PQexec(conn, sql.c_str());
  std::int64_t value = -1;
  if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) > 0 &&
      !PQgetisnull(result, 0, 0)) {
    value = std::strtoll(PQgetvalue(result, 0, 0), nullptr, 10);
  }
  PQclear(result);
  PQfinish(conn);
  return value;
}

class PgTestDatabase {
 public:
  // prefix names the test program; the database is prefix_PID_N.
  explicit PgTestDatabase(const std::string& prefix) {
    static std::atomic<int> counter{0};
    name_ = prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    const std::string admin = PgAdminUrl();
    url_ = admin + (admin.find('?') == std::string::npos ? "?" : "&") + "dbname=" + name_;
    PgExec("CREATE DATABASE " + name_);
  }
  ~PgTestDatabase() { PgExec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)"); }
  PgTestDatabase(const PgTestDatabase&) = delete;
  PgTestDatabase& operator=(const PgTestDatabase&) = delete;

  const std::string& name() const { return name_; }
  const std::string& url() const { return url_; }

 private:
  std::string name_;
  std::string url_;
};

}  // namespace mailwarden::testing
