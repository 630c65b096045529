#include "smtp/smtp_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <exception>
#include <optional>
#include <string_view>
#include <tuple>
#include <utility>

#include "core/host_port.h"
#include "smtp/loopback_peer.h"
#include "smtp/no_throw.h"
#include "smtp/smtp_command.h"
#include "smtp/smtp_data_reader.h"
#include "smtp/smtp_session.h"

namespace mailwarden {
namespace asio = boost::asio;
using asio::ip::tcp;
using std::chrono::milliseconds;

namespace {}  // namespace

SmtpServer::SmtpServer(asio::any_io_executor ex, SmtpServerOptions options, SmtpBackend& backend,
                       ReceiveGate& gate)
    : ex_(ex),
      options_(std::move(options)),
      backend_(backend),
      gate_(gate),
      auth_limiter_(options_.max_auth_failures_per_minute, std::chrono::seconds(60)),
      all_ended_(ex) {}

SmtpServer::~SmtpServer() = default;

Result<std::shared_ptr<asio::ssl::context>> SmtpServer::LoadTlsContext(const std::string& cert,
                                                                       const std::string& key) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  boost::system::error_code ec;
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                           asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                           asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use,
                       ec);
  context->use_certificate_chain_file(cert, ec);
  if (ec)
    return Fail(ErrorCode::kInvalidInput, "smtp: TLS certificate " + cert + ": " + ec.message());
  context->use_private_key_file(key, asio::ssl::context::pem, ec);
  if (ec) return Fail(ErrorCode::kInvalidInput, "smtp: TLS key " + key + ": " + ec.message());
  return context;
}

Result<void> SmtpServer::ReloadTls(const std::string& cert, const std::string& key) {
  if (cert.empty() != key.empty()) {
    return Fail(ErrorCode::kInvalidInput,
                "smtp: a TLS certificate needs its key and a key its certificate");
  }
  if (cert.empty()) {
    tls_context_.reset();
    return {};
  }
  // Sessions already in TLS keep the context they started with (their SSL holds a reference
  // to it); the next STARTTLS uses the new one.
  MW_ASSIGN_OR_RETURN(tls_context_, LoadTlsContext(cert, key));
  return {};
}

Result<void> SmtpServer::Listen() {
  if (options_.tls_cert_file.empty() != options_.tls_key_file.empty()) {
    return Fail(ErrorCode::kInvalidInput,
                "smtp: a TLS certificate needs its key and a key its certificate");
  }
  if (!options_.tls_cert_file.empty()) {
    MW_ASSIGN_OR_RETURN(tls_context_,
                        LoadTlsContext(options_.tls_cert_file, options_.tls_key_file));
  }

  std::vector<std::string> addresses = options_.listen;
  addresses.insert(addresses.end(), options_.local_listen.begin(), options_.local_listen.end());
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    const std::string& address = addresses[i];
    const bool local = i >= options_.listen.size();
    const std::string key = local ? "smtp.local_listen" : options_.listen_key;
    if (i == options_.listen.size()) submission_acceptors_ = acceptors_.size();
    auto host_port = ParseHostPort(address, PortZero::kAllowed);
    if (!host_port) {
      return Fail(ErrorCode::kInvalidInput, key + ": " + host_port.error().message);
    }
    tcp::resolver resolver(ex_);
    boost::system::error_code ec;
    auto endpoints = resolver.resolve(host_port->host, std::to_string(host_port->port),
                                      tcp::resolver::numeric_service, ec);
    if (ec) {
      return Fail(ErrorCode::kInvalidInput, "smtp: listen " + address + ": " + ec.message());
    }
    for (const auto& entry : endpoints) {
      const tcp::endpoint endpoint = entry.endpoint();
      if (local && !Unmapped(endpoint.address()).is_loopback()) {
        // Without AUTH, a connection from another host must never reach it.
        return Fail(ErrorCode::kInvalidInput,
                    "smtp.local_listen: " + address + " is not a loopback address");
      }
      auto& acceptor = acceptors_.emplace_back(ex_);
      acceptor.open(endpoint.protocol(), ec);
      if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) acceptor.bind(endpoint, ec);
      if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
      if (ec) {
        acceptors_.clear();
        return Fail(ErrorCode::kUnavailable, "smtp: listen " + address + ": " + ec.message());
      }
    }
  }
  if (options_.local_listen.empty()) submission_acceptors_ = acceptors_.size();
  return {};
}

std::vector<std::string> SmtpServer::local_addresses() const {
  std::vector<std::string> out;
  for (const auto& acceptor : acceptors_) {
    boost::system::error_code ec;
    const auto endpoint = acceptor.local_endpoint(ec);
    if (!ec) out.push_back(FormatHostPort(endpoint.address().to_string(), endpoint.port()));
  }
  return out;
}

std::vector<std::uint16_t> SmtpServer::ports() const {
  std::vector<std::uint16_t> out;
  for (const auto& acceptor : acceptors_) {
    boost::system::error_code ec;
    auto endpoint = acceptor.local_endpoint(ec);
    out.push_back(ec ? 0 : endpoint.port());
  }
  return out;
}

asio::awaitable<void> SmtpServer::Run() {
  if (acceptors_.empty()) co_return;
  all_ended_.expires_at(asio::steady_timer::time_point::max());
  std::size_t index = 0;
  for (auto& acceptor : acceptors_) {
    ++tasks_;
    const bool local = index++ >= submission_acceptors_;
    asio::co_spawn(ex_, AcceptLoop(acceptor, local), [this](std::exception_ptr e) {
      if (e) spdlog::error("smtp: accept loop failed");
      TaskEnded();
    });
  }
  while (tasks_ > 0) {
    co_await all_ended_.async_wait(kNoThrow);
  }
}

std::chrono::milliseconds SmtpServer::IdleTimeout() const {
  return stressed_ ? std::min(options_.stress_idle_timeout, options_.idle_timeout)
                   : options_.idle_timeout;
}

void SmtpServer::CheckStress() {
  const bool stressed = sessions_.size() * 5 >= options_.max_connections * 4;
  if (stressed == stressed_) return;
  stressed_ = stressed;
  if (!stressed) return;
  spdlog::warn("smtp: {} connections, near the most ({}): idle clients now get {} s",
               sessions_.size(), options_.max_connections,
               std::chrono::duration_cast<std::chrono::seconds>(IdleTimeout()).count());
  for (auto& weak : sessions_) {
    if (auto session = weak.lock()) session->Hurry(IdleTimeout());
  }
}

bool SmtpServer::TakeClientSession(const std::string& client) {
  std::size_t& count = client_sessions_[client];
  if (count >= options_.max_connections_per_client) {
    if (count == 0) client_sessions_.erase(client);
    return false;
  }
  ++count;
  return true;
}

void SmtpServer::EndClientSession(const std::string& client) {
  auto it = client_sessions_.find(client);
  if (it == client_sessions_.end()) return;
  if (--it->second == 0) client_sessions_.erase(it);  // the map holds busy clients only
}

bool SmtpServer::TakeAccountSession(std::int64_t account) {
  std::size_t& count = account_sessions_[account];
  if (count >= options_.max_connections_per_account) return false;
  ++count;
  return true;
}

void SmtpServer::EndAccountSession(std::int64_t account) {
  auto it = account_sessions_.find(account);
  if (it == account_sessions_.end()) return;
  if (--it->second == 0) account_sessions_.erase(it);  // the map holds busy accounts only
}

void SmtpServer::TaskEnded() {
  if (--tasks_ == 0) all_ended_.cancel();
}

void SmtpServer::Close() {
  closing_ = true;
  for (auto& acceptor : acceptors_) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
  }
  for (auto& weak : sessions_) {
    if (auto session = weak.lock()) session->Close();
  }
}

void SmtpServer::Drain() {
  closing_ = true;
  for (auto& acceptor : acceptors_) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
  }
  for (auto& weak : sessions_) {
    if (auto session = weak.lock()) session->Drain();
  }
}

asio::awaitable<void> SmtpServer::AcceptLoop(tcp::acceptor& acceptor, bool local) {
  while (!closing_) {
    auto [ec, socket] = co_await acceptor.async_accept(kNoThrow);
    if (closing_ || !acceptor.is_open()) co_return;
    if (ec) {
      spdlog::warn("smtp: accept failed: {}", ec.message());
      if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space) {
        // Out of file descriptors: give sessions time to end instead of spinning.
        asio::steady_timer pause(ex_, std::chrono::milliseconds(100));
        co_await pause.async_wait(kNoThrow);
      }
      continue;
    }
    const bool over_limit = sessions_.size() >= options_.max_connections;
    auto session = std::make_shared<SmtpSession>(*this, std::move(socket), over_limit, local);
    sessions_.push_front(session);
    CheckStress();
    ++tasks_;
    asio::co_spawn(ex_, SmtpSession::Serve(session, sessions_.begin()),
                   [this](std::exception_ptr) { TaskEnded(); });
  }
}

}  // namespace mailwarden
