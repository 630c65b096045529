#include "store/postgres/pg_listener.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/error.hpp>
#include <charconv>
#include <string>
#include <utility>
#include <vector>

#include "store/postgres/pg_store.h"

namespace mailwarden {
namespace {

constexpr std::chrono::milliseconds kFirstPause{500};
constexpr std::chrono::milliseconds kLongestPause{30'000};
// A connection attempt that has not completed by then is given up and tried again.
constexpr std::chrono::seconds kConnectTimeout{10};

void LogNotice(void* /*arg*/, const char* message) {
  spdlog::debug("postgresql listener: {}", PgMessageLine(message));
}

}  // namespace

PgChangeListener::PgChangeListener(boost::asio::any_io_executor executor, std::string url,
                                   Callback on_change)
    : executor_(std::move(executor)),
      url_(std::move(url)),
      on_change_(std::move(on_change)),
      socket_(executor_),
      timer_(executor_),
      pause_(kFirstPause),
      alive_(std::make_shared<bool>(true)) {}

PgChangeListener::~PgChangeListener() {
  Stop();
  *alive_ = false;
}

void PgChangeListener::Start() {
  if (!stopped_) return;
  stopped_ = false;
  Connect();
}

void PgChangeListener::Stop() {
  stopped_ = true;
  timer_.cancel();
  Close();
}

void PgChangeListener::Close() {
  listening_ = false;
  listen_sent_ = false;
  connecting_ = false;
  if (socket_.is_open()) socket_.release();
  if (conn_ != nullptr) {
    PQfinish(conn_);
    conn_ = nullptr;
  }
}

void PgChangeListener::Watch() {
  if (socket_.is_open()) socket_.release();
  boost::system::error_code ec;
  socket_.assign(PQsocket(conn_), ec);
  if (ec) Retry(fmt::format("cannot watch the connection's socket: {}", ec.message()));
}

void PgChangeListener::Connect() {
  if (stopped_) return;
  // Defaults first: what the url says wins. Keepalives find a server that vanished without
  // closing the connection (a listener otherwise only reads, and would wait forever).
  const char* keys[] = {"application_name", "keepalives_idle", "keepalives_interval",
                        "keepalives_count", "dbname",          nullptr};
  const char* values[] = {"mailwardend-listen", "60", "10", "3", url_.c_str(), nullptr};
  conn_ = PQconnectStartParams(keys, values, /*expand_dbname=*/1);
  if (conn_ == nullptr || PQstatus(conn_) == CONNECTION_BAD) {
    Retry(conn_ != nullptr ? PgMessageLine(PQerrorMessage(conn_)) : "out of memory");
    return;
  }
  connecting_ = true;
  timer_.expires_after(kConnectTimeout);
  timer_.async_wait([this, alive = alive_](boost::system::error_code ec) {
    if (!*alive || ec || stopped_ || !connecting_) return;
    Retry("no answer from the server");
  });
  // As the libpq manual says: start as if the last poll had asked to wait for writing.
  Poll(PGRES_POLLING_WRITING);
}

void PgChangeListener::Poll(PostgresPollingStatusType want) {
  if (stopped_ || conn_ == nullptr) return;
  switch (want) {
    case PGRES_POLLING_OK:
      OnConnected();
      return;
    case PGRES_POLLING_FAILED:
      Retry(PgMessageLine(PQerrorMessage(conn_)));
      return;
    default:
      break;
  }
  Watch();
  if (conn_ == nullptr) return;
  const auto wait = want == PGRES_POLLING_READING ? boost::asio::posix::descriptor_base::wait_read
                                                  : boost::asio::posix::descriptor_base::wait_write;
  socket_.async_wait(wait, [this, alive = alive_](boost::system::error_code ec) {
    if (!*alive || stopped_ || conn_ == nullptr || ec == boost::asio::error::operation_aborted) {
      return;
    }
    Poll(PQconnectPoll(conn_));
  });
}

void PgChangeListener::OnConnected() {
  PQsetNoticeProcessor(conn_, LogNotice, nullptr);
  if (PQsetnonblocking(conn_, 1) != 0) {
    Retry(PgMessageLine(PQerrorMessage(conn_)));
    return;
  }
  Watch();
  if (conn_ == nullptr) return;
  const std::string listen = fmt::format("LISTEN {}", kPgNotifyChannel);
  if (PQsendQuery(conn_, listen.c_str()) == 0) {
    Retry(PgMessageLine(PQerrorMessage(conn_)));
    return;
  }
  listen_sent_ = true;
  Flush();
}

void PgChangeListener::Flush() {
  const int rc = PQflush(conn_);
  if (rc < 0) {
    Retry(PgMessageLine(PQerrorMessage(conn_)));
    return;
  }
  if (rc == 1) {
    socket_.async_wait(boost::asio::posix::descriptor_base::wait_write,
                       [this, alive = alive_](boost::system::error_code ec) {
                         if (!*alive || stopped_ || conn_ == nullptr || ec) return;
                         Flush();
                       });
    return;
  }
  WaitForInput();
}

void PgChangeListener::WaitForInput() {
  socket_.async_wait(boost::asio::posix::descriptor_base::wait_read,
                     [this, alive = alive_](boost::system::error_code ec) {
                       if (!*alive || stopped_ || conn_ == nullptr ||
                           ec == boost::asio::error::operation_aborted) {
                         return;
                       }
                       OnReadable();
                     });
}

void PgChangeListener::OnReadable() {
  if (PQconsumeInput(conn_) == 0) {
    Retry(PgMessageLine(PQerrorMessage(conn_)));
    return;
  }
  // The answer to LISTEN (the only query sent).
  while (listen_sent_ && PQisBusy(conn_) == 0) {
    PGresult* result = PQgetResult(conn_);
    if (result == nullptr) {
      listen_sent_ = false;
      if (!listening_) {
        Retry("LISTEN got no answer");
        return;
      }
      break;
    }
    const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
    const std::string error = PgMessageLine(PQresultErrorMessage(result));
    PQclear(result);
    if (!ok) {
      Retry(error);
      return;
    }
    listening_ = true;
  }
  bool started = false;
  if (listening_ && connecting_) {
    // Listening (again): the connect timeout is over, and what was missed is unknown.
    connecting_ = false;
    timer_.cancel();
    pause_ = kFirstPause;
    started = true;
    if (lost_) spdlog::info("postgresql listener: listening again");
    lost_ = false;
  }
  // Callbacks may Stop() the listener: everything read is handed over first, then checked.
  std::vector<std::pair<std::string, AccountId>> changes;
  if (started) changes.emplace_back("listen", 0);
  while (PGnotify* notify = PQnotifies(conn_)) {
    const std::string_view payload = notify->extra != nullptr ? notify->extra : "";
    const auto colon = payload.rfind(':');
    AccountId account = 0;
    if (colon != std::string_view::npos) {
      const std::string_view digits = payload.substr(colon + 1);
      std::from_chars(digits.data(), digits.data() + digits.size(), account);
      changes.emplace_back(std::string(payload.substr(0, colon)), account);
    } else {
      changes.emplace_back(std::string(payload), 0);
    }
    PQfreemem(notify);
  }
  const std::shared_ptr<bool> alive = alive_;
  for (const auto& [kind, account] : changes) {
    on_change_(kind, account);
    if (!*alive || stopped_) return;
  }
  WaitForInput();
}

void PgChangeListener::Retry(std::string_view why) {
  const bool was_listening = listening_;
  Close();
  if (stopped_) return;
  if (was_listening) {
    lost_ = true;
    spdlog::warn("postgresql listener: connection lost ({}); trying again", why);
  } else {
    spdlog::warn("postgresql listener: cannot listen ({}); trying again in {} ms", why,
                 pause_.count());
  }
  timer_.cancel();
  timer_.expires_after(was_listening ? std::chrono::milliseconds(0) : pause_);
  if (!was_listening) pause_ = std::min(pause_ * 2, kLongestPause);
  timer_.async_wait([this, alive = alive_](boost::system::error_code ec) {
    if (!*alive || ec || stopped_) return;
    Connect();
  });
}

}  // namespace mailwarden
