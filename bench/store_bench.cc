// Store benchmarks.
//
// BM_InsertMessages: submissions per second through InsertMessages for batch sizes 1, 16 and
// 128 (2 KB bodies, one recipient): what group commit buys, since each batch is one fsync.
//
// BM_ClaimDue / BM_NextDueTime: the scheduler's two queries on a database where a blocked
// account holds 1,000,000 due messages (older than everything else) next to an active account
// with 1,000 queued: the time must not depend on the held mail. The waiting_accounts variant
// adds 10,000 active accounts whose only message is not due yet, to show the one cost that
// does grow: one index seek per active account with unfinished mail.
//
// BM_DeliveryCycle: a message's whole way through the store, in batches of 16 (one
// recipient each): InsertMessages (one group commit), ClaimDue, RecordOutcomes (sent). Items
// are messages; what one PostgreSQL node pays per message beside SQLite.
//
// The databases live under $MW_BENCH_DIR, else the system's temporary folder: put it on the
// disk the daemon would use, since insert throughput is the disk's fsync rate. With
// MW_BENCH_PG_URL (a PostgreSQL admin url, as scripts/pg-cluster prints it) each database is
// a database of its own on that server instead, created for the benchmark and dropped after.
//
//   build-store-rel/bin/store_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>
#include <libpq-fe.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "store/store.h"

namespace mailwarden {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;

const TimePoint kT0 = FromUnixMillis(1'700'000'000'000);

const char* PgAdminUrl() {
  const char* url = std::getenv("MW_BENCH_PG_URL");
  return url != nullptr && *url != '\0' ? url : nullptr;
}

// Runs sql on the PostgreSQL server's admin database; a failure ends the benchmark.
void PgAdmin(const std::string& sql) {
  PGconn* conn = PQconnectdb(PgAdminUrl());
  PGresult* result = PQexec(conn, sql.c_str());
  if (PQresultStatus(result) != PGRES_COMMAND_OK) {
    std::fprintf(stderr, "%s: %s\n", sql.c_str(), PQerrorMessage(conn));
    std::exit(1);
  }
  PQclear(result);
  PQfinish(conn);
}

// One database, removed at the end: a temporary folder holding an SQLite file, or with
// MW_BENCH_PG_URL a database of its own on that PostgreSQL server.
class BenchDatabase {
 public:
  BenchDatabase() {
    if (PgAdminUrl() != nullptr) {
      static int counter = 0;
      pg_name_ = "mw_bench_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
      PgAdmin("CREATE DATABASE " + pg_name_);
      const std::string admin = PgAdminUrl();
      Open(admin + (admin.find('?') == std::string::npos ? "?" : "&") + "dbname=" + pg_name_);
      return;
    }
    const char* base = std::getenv("MW_BENCH_DIR");
    std::string tmpl =
        ((base != nullptr ? std::filesystem::path(base) : std::filesystem::temp_directory_path()) /
         "mw_store_bench.XXXXXX")
            .string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      std::perror("mkdtemp");
      std::exit(1);
    }
    dir_ = tmpl;
    Open("sqlite:" + (dir_ / "bench.db").string());
  }
  ~BenchDatabase() {
    store_.reset();
    if (!pg_name_.empty()) {
      PgAdmin("DROP DATABASE IF EXISTS " + pg_name_ + " WITH (FORCE)");
      return;
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  Store& store() { return *store_; }

  AccountId MakeAccount(const std::string& name) {
    AccountSpec spec;
    spec.name = name;
    return Check(store_->UpsertAccount(spec), "upsert");
  }

  template <class T>
  static T Check(Result<T> r, const char* what) {
    if (!r) {
      std::fprintf(stderr, "%s: %s\n", what, r.error().message.c_str());
      std::exit(1);
    }
    if constexpr (!std::is_void_v<T>) return std::move(*r);
  }

 private:
  void Open(const std::string& url) {
    auto store = OpenStore(url);
    if (!store) {
      std::fprintf(stderr, "open: %s\n", store.error().message.c_str());
      std::exit(1);
    }
    store_ = std::move(*store);
  }

  std::filesystem::path dir_;
  std::string pg_name_;
  std::unique_ptr<Store> store_;
};

NewMessage Message(AccountId account, TimePoint received, std::size_t body_bytes) {
  NewMessage m;
  m.account = account;
  m.sender = "www@site.example";
  m.recipients = {"customer@example.net"};
  m.subject = "Your order";
  m.script = "/home/site/public_html/order.php";
  m.uid = 1000;
  m.body = "Subject: Your order\r\n\r\n" + std::string(body_bytes, 'x');
  m.received_at = received;
  return m;
}

void BM_InsertMessages(benchmark::State& state) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  BenchDatabase db;
  const AccountId account = db.MakeAccount("site");
  std::vector<NewMessage> messages(batch, Message(account, kT0, 2048));
  TimePoint received = kT0;
  for (auto _ : state) {
    for (auto& m : messages) m.received_at = (received += milliseconds(1));
    auto ids = db.store().InsertMessages(messages);
    if (!ids) {
      state.SkipWithError(ids.error().message.c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch));
  state.counters["commits/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_InsertMessages)->ArgName("batch")->Arg(1)->Arg(16)->Arg(128)->UseRealTime();

void BM_DeliveryCycle(benchmark::State& state) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  BenchDatabase db;
  const AccountId account = db.MakeAccount("site");
  std::vector<NewMessage> messages(batch, Message(account, kT0, 2048));
  TimePoint now = kT0;
  for (auto _ : state) {
    for (auto& m : messages) m.received_at = (now += milliseconds(1));
    auto inserted = db.store().InsertMessages(messages);
    if (!inserted) {
      state.SkipWithError(inserted.error().message.c_str());
      break;
    }
    now += milliseconds(1);
    auto claimed = db.store().ClaimDue({.now = now,
                                        .limit = static_cast<int>(batch),
                                        .lease_until = now + hours(1),
                                        .node = "bench"});
    if (!claimed || claimed->messages.size() != batch) {
      state.SkipWithError(claimed ? "claimed fewer than the batch"
                                  : claimed.error().message.c_str());
      break;
    }
    std::vector<DeliveryOutcome> outcomes;
    for (const ClaimedMessage& m : claimed->messages) {
      DeliveryOutcome& o = outcomes.emplace_back();
      o.id = m.id;
      o.recipients.push_back({.index = 0, .status = RecipientStatus::kSent, .reply = "250 ok"});
    }
    if (auto recorded = db.store().RecordOutcomes(outcomes, now); !recorded) {
      state.SkipWithError(recorded.error().message.c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch));
}
BENCHMARK(BM_DeliveryCycle)->ArgName("batch")->Arg(1)->Arg(16)->UseRealTime();

// A database for the scheduler's benchmarks, built once per shape and kept for every run.
struct SchedulerWorld {
  BenchDatabase db;
  TimePoint now = kT0 + hours(2);
};

SchedulerWorld& World(std::int64_t held, std::int64_t waiting_accounts) {
  static std::map<std::pair<std::int64_t, std::int64_t>, std::unique_ptr<SchedulerWorld>> worlds;
  auto& world = worlds[{held, waiting_accounts}];
  if (world) return *world;
  world = std::make_unique<SchedulerWorld>();
  BenchDatabase& db = world->db;
  const auto started = std::chrono::steady_clock::now();

  // The flood: due long ago, then blocked. Small bodies: claiming must not read them anyway.
  // Chunks of 50,000 keep the batch's memory small; each chunk is one transaction.
  const AccountId flood = db.MakeAccount("hacked-site");
  constexpr std::int64_t kChunk = 50'000;
  for (std::int64_t done = 0; done < held; done += kChunk) {
    std::vector<NewMessage> chunk;
    chunk.reserve(kChunk);
    for (std::int64_t i = done; i < std::min(held, done + kChunk); ++i) {
      chunk.push_back(Message(flood, kT0 + milliseconds(i / 1000), 256));
    }
    BenchDatabase::Check(db.store().InsertMessages(chunk), "insert held");
  }
  BenchDatabase::Check(db.store().SetAccountState({.account = flood,
                                                   .from = AccountState::kActive,
                                                   .to = AccountState::kBlocked,
                                                   .blocked_by = BlockedBy::kSpamGuard,
                                                   .reason = "flood",
                                                   .at = kT0}),
                       "block");

  // Accounts whose one message is deferred far into the future.
  for (std::int64_t i = 0; i < waiting_accounts; ++i) {
    const AccountId id = db.MakeAccount("waiting-" + std::to_string(i));
    const std::vector<NewMessage> one = {Message(id, kT0 + hours(24 * 30), 512)};
    BenchDatabase::Check(db.store().InsertMessages(one), "insert waiting");
  }

  // The active account: 1,000 queued, all due.
  const AccountId active = db.MakeAccount("busy-shop");
  std::vector<NewMessage> queued;
  for (int i = 0; i < 1000; ++i) queued.push_back(Message(active, kT0 + hours(1), 2048));
  BenchDatabase::Check(db.store().InsertMessages(queued), "insert queued");

  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  std::fprintf(stderr, "setup: %lld held, %lld waiting accounts: %.1f s\n",
               static_cast<long long>(held), static_cast<long long>(waiting_accounts),
               took.count());
  return *world;
}

void BM_ClaimDue(benchmark::State& state) {
  SchedulerWorld& world = World(state.range(0), state.range(1));
  for (auto _ : state) {
    // The lease ends at once, so what this claim takes is due again (at the back of the
    // account's queue) on the next: every iteration claims 100 of the 1,000.
    world.now += milliseconds(1);
    ClaimRequest request{.now = world.now, .limit = 100, .lease_until = world.now, .node = "b"};
    auto claimed = world.db.store().ClaimDue(request);
    if (!claimed || claimed->messages.size() != 100) {
      state.SkipWithError(claimed ? "claimed fewer than 100" : claimed.error().message.c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_ClaimDue)
    ->ArgNames({"held", "waiting_accounts"})
    ->Args({0, 0})
    ->Args({1'000'000, 0})
    ->Args({1'000'000, 10'000})
    ->UseRealTime();

void BM_NextDueTime(benchmark::State& state) {
  SchedulerWorld& world = World(state.range(0), state.range(1));
  for (auto _ : state) {
    auto next = world.db.store().NextDueTime();
    if (!next || !next->has_value()) {
      state.SkipWithError("no next due time");
      break;
    }
    benchmark::DoNotOptimize(next);
  }
}
BENCHMARK(BM_NextDueTime)
    ->ArgNames({"held", "waiting_accounts"})
    ->Args({0, 0})
    ->Args({1'000'000, 0})
    ->Args({1'000'000, 10'000})
    ->UseRealTime();

}  // namespace
}  // namespace mailwarden

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);  // keep the table readable
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
