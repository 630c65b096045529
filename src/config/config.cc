#include "config/config.h"

#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "core/account_name.h"
#include "core/duration.h"
#include "core/event_types.h"
#include "core/host_port.h"
#include "core/store_url.h"
#include "core/text.h"

namespace mailwarden {
namespace {

// Reads one TOML table, remembering which keys were read so that a key nobody read (a typo,
// a setting from another version) stops the start instead of being silently ignored.
class TableReader {
 public:
  TableReader(const toml::table* table, std::string prefix)
      : table_(table), prefix_(std::move(prefix)) {}

  std::string Key(std::string_view key) const {
    return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
  }

  const toml::node* Get(std::string_view key) {
    seen_.insert(std::string(key));
    return table_ == nullptr ? nullptr : table_->get(key);
  }

  Result<void> String(std::string_view key, std::string& out) {
    const toml::node* n = Get(key);
    if (n == nullptr) return {};
    auto v = n->value<std::string>();
    if (!v) return Fail(ErrorCode::kInvalidInput, Key(key) + ": must be a string");
    out = *v;
    return {};
  }

  Result<void> Int(std::string_view key, std::int64_t& out, std::int64_t min, std::int64_t max) {
    const toml::node* n = Get(key);
    if (n == nullptr) return {};
    auto v = n->value_exact<std::int64_t>();
    if (!v || *v < min || *v > max) {
      return Fail(ErrorCode::kInvalidInput, Key(key) + ": must be a whole number from " +
                                                std::to_string(min) + " to " + std::to_string(max));
    }
    out = *v;
    return {};
  }

  Result<void> Double(std::string_view key, double& out, double min, double max) {
    const toml::node* n = Get(key);
    if (n == nullptr) return {};
    auto v = n->value<double>();
    if (!v || *v < min || *v > max) {
      std::ostringstream msg;
      msg << Key(key) << ": must be a number from " << min << " to " << max;
      return Fail(ErrorCode::kInvalidInput, msg.str());
    }
    out = *v;
    return {};
  }

  Result<void> Dur(std::string_view key, Duration& out, Duration min) {
    std::string text;
    if (auto r = String(key, text); !r) return r;
    if (text.empty()) return {};
    auto d = ParseDuration(text);
    if (!d) return Fail(ErrorCode::kInvalidInput, Key(key) + ": " + d.error().message);
    if (*d < min) {
      return Fail(ErrorCode::kInvalidInput, Key(key) + ": must be at least " + FormatDuration(min));
    }
    out = *d;
    return {};
  }

  Result<void> CheckNoUnknownKeys() const {
    if (table_ == nullptr) return {};
    for (const auto& [k, v] : *table_) {
      if (!seen_.contains(std::string(k.str()))) {
        return Fail(ErrorCode::kInvalidInput, Key(k.str()) + ": unknown setting");
      }
    }
    return {};
  }

 private:
  const toml::table* table_;
  std::string prefix_;
  std::set<std::string, std::less<>> seen_;
};

std::filesystem::path Anchor(const std::filesystem::path& base, const std::string& p) {
  std::filesystem::path path(p);
  return path.is_absolute() ? path : (base / path).lexically_normal();
}

// value checked by ParseHostPort (core/host_port.h), its refusal under the key's name.
Result<void> CheckHostPort(std::string_view key, const std::string& value, PortZero port_zero) {
  if (auto parsed = ParseHostPort(value, port_zero); !parsed) {
    return Fail(ErrorCode::kInvalidInput, std::string(key) + ": " + parsed.error().message);
  }
  return {};
}

// A [section] of the file, read through a TableReader; a missing section reads as empty.
Result<TableReader> Section(TableReader& top, std::string_view key) {
  const toml::node* n = top.Get(key);
  if (n == nullptr) return TableReader(nullptr, std::string(key));
  if (!n->is_table()) return Fail(ErrorCode::kInvalidInput, std::string(key) + ": must be a table");
  return TableReader(n->as_table(), std::string(key));
}

std::string SystemHostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

// The top level's own key.
Result<void> ReadHostName(TableReader& top, Config& c) {
  MW_RETURN_IF_ERROR(top.String("hostname", c.hostname));
  if (c.hostname.empty()) c.hostname = SystemHostName();
  if (c.hostname.size() > 253 ||
      c.hostname.find_first_not_of(
          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
          std::string::npos) {
    return Fail(ErrorCode::kInvalidInput,
                "hostname: \"" + c.hostname + "\" is not a host name (letters, digits, '.', '-')");
  }
  return {};
}

// Each Read<Section> reads the keys of its [section] into c: a missing key keeps the default
// (those of config.h, and the relative paths below, taken from the file's folder).

Result<void> ReadStore(TableReader& r, Config& c) {
  std::string url = "sqlite:var/mailwarden.db";
  MW_RETURN_IF_ERROR(r.String("url", url));
  switch (StoreKindOf(url)) {
    case StoreKind::kSqlite: {
      const std::string path = url.substr(kSqliteUrlPrefix.size());
      if (path.empty()) {
        return Fail(ErrorCode::kInvalidInput, "store.url: sqlite: needs a file path");
      }
      c.store.url = std::string(kSqliteUrlPrefix) + Anchor(c.base_dir, path).string();
      break;
    }
    case StoreKind::kPostgresql:
      c.store.url = url;
      break;
    case StoreKind::kUnknown:
      return Fail(ErrorCode::kInvalidInput,
                  "store.url: must start with \"sqlite:\" or \"postgresql://\"");
  }
  MW_RETURN_IF_ERROR(
      r.Int("max_held_bytes_per_account", c.store.max_held_bytes_per_account, 0, 1LL << 50));
  MW_RETURN_IF_ERROR(
      r.Int("max_held_messages_per_account", c.store.max_held_messages_per_account, 0, 1LL << 40));
  MW_RETURN_IF_ERROR(r.Int("min_free_space", c.store.min_free_space, 0, 1LL << 50));
  // Two days at least: the daily report reads the errors of the day before.
  MW_RETURN_IF_ERROR(r.Dur("keep_finished", c.store.keep_finished, std::chrono::hours(48)));
  return r.Int("max_sources_per_hour", c.store.max_sources_per_hour, 1, 100'000);
}

Result<void> ReadSubmit(TableReader& r, Config& c) {
  std::string socket = "var/submit.sock";
  MW_RETURN_IF_ERROR(r.String("socket", socket));
  c.submit.socket = Anchor(c.base_dir, socket);
  MW_RETURN_IF_ERROR(r.Int("max_message_bytes", c.submit.max_message_bytes, 1024, 1LL << 30));
  MW_RETURN_IF_ERROR(
      r.Int("max_receiving_bytes", c.submit.max_receiving_bytes, 1024 * 1024, 1LL << 40));
  MW_RETURN_IF_ERROR(r.Int("max_connections", c.submit.max_connections, 1, 100000));
  MW_RETURN_IF_ERROR(r.Int("max_connections_per_uid", c.submit.max_connections_per_uid, 1, 100000));
  MW_RETURN_IF_ERROR(
      r.Dur("max_receive_time", c.submit.max_receive_time, std::chrono::milliseconds(100)));
  MW_RETURN_IF_ERROR(
      r.Dur("max_wait_for_room", c.submit.max_wait_for_room, std::chrono::milliseconds(10)));
  MW_RETURN_IF_ERROR(
      r.Int("max_large_messages_per_uid", c.submit.max_large_messages_per_uid, 1, 100000));
  return r.Dur("uid_wait", c.submit.uid_wait, std::chrono::milliseconds(0));
}

// A list of listening "host:port" under key; with loopback_only, each host an address of
// loopback (127.0.0.0/8, ::1).
Result<void> ReadListenList(TableReader& r, std::string_view key, bool loopback_only,
                            std::vector<std::string>& out) {
  const toml::node* n = r.Get(key);
  if (n == nullptr) return {};
  const std::string name = r.Key(key);
  const toml::array* arr = n->as_array();
  if (arr == nullptr) {
    return Fail(ErrorCode::kInvalidInput, name + ": must be a list of \"host:port\"");
  }
  for (const auto& item : *arr) {
    auto s = item.value<std::string>();
    if (!s) return Fail(ErrorCode::kInvalidInput, name + ": must be a list of \"host:port\"");
    MW_RETURN_IF_ERROR(CheckHostPort(name, *s, PortZero::kAllowed));
    if (loopback_only) {
      boost::system::error_code ec;
      const auto address =
          boost::asio::ip::make_address(ParseHostPort(*s, PortZero::kAllowed)->host, ec);
      if (ec || !address.is_loopback()) {
        return Fail(ErrorCode::kInvalidInput,
                    name + ": \"" + *s +
                        "\" must be a loopback address (127.0.0.1 or [::1]): it takes mail "
                        "without AUTH");
      }
    }
    out.push_back(*s);
  }
  return {};
}

Result<void> ReadSmtp(TableReader& r, Config& c) {
  MW_RETURN_IF_ERROR(ReadListenList(r, "listen", false, c.smtp.listen));
  MW_RETURN_IF_ERROR(ReadListenList(r, "local_listen", true, c.smtp.local_listen));
  std::string cert, key;
  MW_RETURN_IF_ERROR(r.String("tls_cert", cert));
  MW_RETURN_IF_ERROR(r.String("tls_key", key));
  if (cert.empty() != key.empty()) {
    return Fail(ErrorCode::kInvalidInput, "smtp.tls_cert and smtp.tls_key go together");
  }
  if (!cert.empty()) {
    c.smtp.tls_cert = Anchor(c.base_dir, cert);
    c.smtp.tls_key = Anchor(c.base_dir, key);
  }
  MW_RETURN_IF_ERROR(r.Int("max_recipients", c.smtp.max_recipients, 1, 1000));
  MW_RETURN_IF_ERROR(
      r.Int("max_connections_per_account", c.smtp.max_connections_per_account, 1, 100000));
  MW_RETURN_IF_ERROR(r.Int("max_connections", c.smtp.max_connections, 1, 100000));
  MW_RETURN_IF_ERROR(
      r.Int("max_connections_per_client", c.smtp.max_connections_per_client, 1, 100000));
  return r.Int("max_commands_before_auth", c.smtp.max_commands_before_auth, 3, 10000);
}

Result<void> ReadHttp(TableReader& r, Config& c) {
  std::string admin_token_file = "var/admin.token";
  std::string panel_dir = MW_PANEL_DIR;
  MW_RETURN_IF_ERROR(r.String("listen", c.http.listen));
  MW_RETURN_IF_ERROR(CheckHostPort("http.listen", c.http.listen, PortZero::kAllowed));
  MW_RETURN_IF_ERROR(r.String("admin_token_file", admin_token_file));
  MW_RETURN_IF_ERROR(r.String("panel_dir", panel_dir));
  MW_RETURN_IF_ERROR(r.Int("held_action_batch", c.http.held_action_batch, 1, 100'000));
  MW_RETURN_IF_ERROR(r.Int("held_action_max", c.http.held_action_max, 1, 10'000'000));
  MW_RETURN_IF_ERROR(
      r.Int("max_answer_bytes", c.http.max_answer_bytes, 4096, std::int64_t{1} << 30));
  MW_RETURN_IF_ERROR(r.Int("max_connections", c.http.max_connections, 1, 100000));
  MW_RETURN_IF_ERROR(
      r.Int("max_connections_per_client", c.http.max_connections_per_client, 1, 100000));
  MW_RETURN_IF_ERROR(r.Int("max_header_bytes", c.http.max_header_bytes, 1024, 1024 * 1024));
  MW_RETURN_IF_ERROR(r.Int("max_body_bytes", c.http.max_body_bytes, 1024, 64 * 1024 * 1024));
  MW_RETURN_IF_ERROR(r.Dur("request_timeout", c.http.request_timeout, std::chrono::seconds(1)));
  MW_RETURN_IF_ERROR(r.Dur("idle_timeout", c.http.idle_timeout, std::chrono::seconds(1)));
  c.http.admin_token_file = Anchor(c.base_dir, admin_token_file);
  c.http.panel_dir = Anchor(c.base_dir, panel_dir);
  std::string metrics_token_file;
  MW_RETURN_IF_ERROR(r.String("metrics_token_file", metrics_token_file));
  if (!metrics_token_file.empty()) {
    c.http.metrics_token_file = Anchor(c.base_dir, metrics_token_file);
  }
  return {};
}

// True for a host that is this machine: a loopback address, or "localhost".
bool IsLoopbackHost(const std::string& host) {
  if (ToAsciiLower(host) == "localhost") return true;
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

// delivery.tls and its companions; the defaults depend on where the relay is.
Result<void> ReadRelayTls(TableReader& r, Config& c) {
  auto relay = ParseHostPort(c.delivery.relay);
  const bool loopback = relay && IsLoopbackHost(relay->host);
  std::string tls = loopback ? "opportunistic" : "required";
  MW_RETURN_IF_ERROR(r.String("tls", tls));
  static constexpr std::pair<std::string_view, RelayTls> kModes[] = {
      {"none", RelayTls::kNone},
      {"opportunistic", RelayTls::kOpportunistic},
      {"required", RelayTls::kRequired},
  };
  const auto* mode = std::ranges::find(kModes, tls, &std::pair<std::string_view, RelayTls>::first);
  if (mode == std::end(kModes)) {
    return Fail(ErrorCode::kInvalidInput,
                "delivery.tls: must be \"none\", \"opportunistic\" or \"required\"");
  }
  c.delivery.tls = mode->second;
  c.delivery.tls_verify = !loopback && c.delivery.tls != RelayTls::kNone;
  if (const toml::node* n = r.Get("tls_verify")) {
    auto v = n->value_exact<bool>();
    if (!v) return Fail(ErrorCode::kInvalidInput, "delivery.tls_verify: must be true or false");
    c.delivery.tls_verify = *v;
  }
  if (c.delivery.tls_verify && c.delivery.tls == RelayTls::kNone) {
    return Fail(ErrorCode::kInvalidInput,
                "delivery.tls_verify: there is nothing to verify with delivery.tls = \"none\"");
  }
  std::string ca_file;
  MW_RETURN_IF_ERROR(r.String("tls_ca_file", ca_file));
  if (!ca_file.empty()) {
    c.delivery.tls_ca_file = Anchor(c.base_dir, ca_file);
    if (std::ifstream(c.delivery.tls_ca_file).fail()) {
      return Fail(ErrorCode::kInvalidInput,
                  "delivery.tls_ca_file: cannot read " + c.delivery.tls_ca_file.string());
    }
  }
  return r.String("tls_name", c.delivery.tls_name);
}

Result<void> ReadDelivery(TableReader& r, Config& c) {
  std::string mode = "maildir";
  MW_RETURN_IF_ERROR(r.String("mode", mode));
  if (mode == "relay") {
    c.delivery.mode = DeliveryMode::kRelay;
  } else if (mode == "maildir") {
    c.delivery.mode = DeliveryMode::kMaildir;
  } else {
    return Fail(ErrorCode::kInvalidInput, "delivery.mode: must be \"relay\" or \"maildir\"");
  }
  MW_RETURN_IF_ERROR(r.String("relay", c.delivery.relay));
  MW_RETURN_IF_ERROR(CheckHostPort("delivery.relay", c.delivery.relay, PortZero::kRefused));
  std::string maildir = "var/outbox";
  MW_RETURN_IF_ERROR(r.String("maildir", maildir));
  c.delivery.maildir = Anchor(c.base_dir, maildir);
  std::int64_t concurrency = c.delivery.concurrency;
  MW_RETURN_IF_ERROR(r.Int("concurrency", concurrency, 1, 1000));
  c.delivery.concurrency = static_cast<int>(concurrency);
  MW_RETURN_IF_ERROR(
      r.Int("max_sending_bytes", c.delivery.max_sending_bytes, 1024 * 1024, 1LL << 40));
  MW_RETURN_IF_ERROR(r.Dur("max_lifetime", c.delivery.max_lifetime, std::chrono::seconds(1)));
  MW_RETURN_IF_ERROR(r.Dur("retry_first", c.delivery.retry_first, std::chrono::milliseconds(100)));
  MW_RETURN_IF_ERROR(r.Dur("retry_max", c.delivery.retry_max, std::chrono::milliseconds(100)));
  MW_RETURN_IF_ERROR(r.String("helo", c.delivery.helo));
  MW_RETURN_IF_ERROR(r.Dur("lease", c.delivery.lease, std::chrono::seconds(1)));
  return ReadRelayTls(r, c);
}

Result<void> ReadPolicy(TableReader& r, Config& c) {
  MW_RETURN_IF_ERROR(r.Dur("hold", c.policy.hold, std::chrono::seconds(1)));
  MW_RETURN_IF_ERROR(r.Int("max_per_day", c.policy.max_per_day, 0, 100'000'000));
  MW_RETURN_IF_ERROR(r.Int("max_per_hour", c.policy.max_per_hour, 0, 100'000'000));
  MW_RETURN_IF_ERROR(r.Int("spam_per_hour", c.policy.spam_per_hour, 1, 100'000'000));
  MW_RETURN_IF_ERROR(r.Double("bounce_rate", c.policy.bounce_rate, 0.0, 1.0));
  MW_RETURN_IF_ERROR(r.Int("bounce_min", c.policy.bounce_min, 1, 100'000'000));
  MW_RETURN_IF_ERROR(r.Int("quarantine_per_hour", c.policy.quarantine_per_hour, 0, 100'000'000));
  MW_RETURN_IF_ERROR(r.Double("complaint_rate", c.policy.complaint_rate, 0.0, 1.0));
  MW_RETURN_IF_ERROR(r.Int("complaint_min", c.policy.complaint_min, 1, 100'000'000));
  std::string check(SenderCheckName(c.policy.sender_check));
  MW_RETURN_IF_ERROR(r.String("sender_check", check));
  const auto parsed = ParseSenderCheck(check);
  if (!parsed) {
    return Fail(ErrorCode::kInvalidInput,
                "policy.sender_check: must be \"off\", \"hold\" or \"reject\"");
  }
  c.policy.sender_check = *parsed;
  MW_RETURN_IF_ERROR(
      r.Int("max_per_sender_per_hour", c.policy.max_per_sender_per_hour, 0, 100'000'000));
  MW_RETURN_IF_ERROR(
      r.Int("max_per_from_per_hour", c.policy.max_per_from_per_hour, 0, 100'000'000));
  MW_RETURN_IF_ERROR(
      r.Int("max_per_script_per_hour", c.policy.max_per_script_per_hour, 0, 100'000'000));
  MW_RETURN_IF_ERROR(r.Int("max_recipients", c.policy.max_recipients, 0, 100'000));
  MW_RETURN_IF_ERROR(
      r.Int("unique_recipients_per_hour", c.policy.unique_recipients_per_hour, 0, 100'000'000));
  std::string over_limit = OverLimitName(c.policy.over_limit);
  MW_RETURN_IF_ERROR(r.String("over_limit", over_limit));
  if (over_limit != "defer" && over_limit != "refuse") {
    return Fail(ErrorCode::kInvalidInput, "policy.over_limit: must be \"defer\" or \"refuse\"");
  }
  c.policy.over_limit = over_limit == "refuse" ? OverLimit::kRefuse : OverLimit::kDefer;
  MW_RETURN_IF_ERROR(r.Double("warn_at", c.policy.warn_at, 0.0, 1.0));
  if (const toml::node* n = r.Get("suppress_for")) {
    // A duration ("30d"), or 0 (as a number or "0") for none.
    std::string suppress_for;
    if (auto i = n->value_exact<std::int64_t>(); i && *i == 0) {
      suppress_for = "0";
    } else if (auto str = n->value_exact<std::string>()) {
      suppress_for = *str;
    }
    LimitOverrides o;
    if (auto set = SetLimitOverride(o, kSuppressForKey, suppress_for); !set) {
      return Fail(ErrorCode::kInvalidInput, "policy." + set.error().message);
    }
    c.policy.suppress_for = *o.suppress_for;
  }
  return {};
}

Result<void> ReadScan(TableReader& r, Config& c) {
  MW_RETURN_IF_ERROR(r.String("rspamd", c.scan.rspamd));
  if (!c.scan.rspamd.empty()) {
    constexpr std::string_view kScheme = "http://";
    std::string_view rest = c.scan.rspamd;
    if (!rest.starts_with(kScheme)) {
      return Fail(ErrorCode::kInvalidInput,
                  "scan.rspamd: must be \"http://host:port\" (Rspamd's normal worker), or "
                  "empty for no scanning");
    }
    rest.remove_prefix(kScheme.size());
    while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    auto hp = ParseHostPort(rest, PortZero::kRefused);
    if (!hp) return Fail(ErrorCode::kInvalidInput, "scan.rspamd: " + hp.error().message);
    c.scan.rspamd_host = hp->host;
    c.scan.rspamd_port = std::to_string(hp->port);
  }
  MW_RETURN_IF_ERROR(r.Dur("timeout", c.scan.timeout, std::chrono::milliseconds(100)));
  if (c.scan.timeout > std::chrono::minutes(10)) {
    return Fail(ErrorCode::kInvalidInput, "scan.timeout: must be at most 10m");
  }
  std::int64_t concurrency = c.scan.concurrency;
  MW_RETURN_IF_ERROR(r.Int("concurrency", concurrency, 1, 256));
  c.scan.concurrency = static_cast<int>(concurrency);
  std::string on_error = "deliver";
  MW_RETURN_IF_ERROR(r.String("on_error", on_error));
  if (on_error == "deliver") {
    c.scan.on_error = Config::ScanOnError::kDeliver;
  } else if (on_error == "hold") {
    c.scan.on_error = Config::ScanOnError::kHold;
  } else {
    return Fail(ErrorCode::kInvalidInput, "scan.on_error: must be \"deliver\" or \"hold\"");
  }
  if (const toml::node* n = r.Get("customer_release")) {
    auto v = n->value_exact<bool>();
    if (!v) return Fail(ErrorCode::kInvalidInput, "scan.customer_release: must be true or false");
    c.scan.customer_release = *v;
  }
  return {};
}

Result<void> ReadDns(TableReader& r, Config& c) {
  MW_RETURN_IF_ERROR(r.String("spf", c.dns.spf));
  static constexpr std::string_view kSpfTerms[] = {
      "include:", "ip4:", "ip6:", "a:", "mx:", "a", "mx"};
  if (!c.dns.spf.empty() && (c.dns.spf.find_first_of(" \t\r\n\"") != std::string::npos ||
                             std::ranges::none_of(kSpfTerms, [&](std::string_view t) {
                               return t.back() == ':' ? c.dns.spf.starts_with(t) : c.dns.spf == t;
                             }))) {
    return Fail(ErrorCode::kInvalidInput,
                "dns.spf: must be one SPF mechanism, e.g. \"include:_spf.example.net\" or "
                "\"ip4:192.0.2.0/24\"");
  }
  MW_RETURN_IF_ERROR(r.String("server", c.dns.server));
  if (c.dns.server.empty()) return {};
  // A bare address means port 53.
  std::string with_port = c.dns.server;
  if (with_port.find(':') == std::string::npos) with_port += ":53";
  MW_RETURN_IF_ERROR(CheckHostPort("dns.server", with_port, PortZero::kRefused));
  c.dns.server = with_port;
  return {};
}

Result<void> ReadReport(TableReader& r, Config& c) {
  std::string at = "06:00";
  MW_RETURN_IF_ERROR(r.String("at", at));
  int h = -1, m = -1;
  if (at.size() != 5 || at[2] != ':' || std::sscanf(at.c_str(), "%2d:%2d", &h, &m) != 2 || h < 0 ||
      h > 23 || m < 0 || m > 59) {
    return Fail(ErrorCode::kInvalidInput,
                "report.at: \"" + at + "\" must be HH:MM, e.g. \"06:00\"");
  }
  c.report.at_minutes = h * 60 + m;
  return r.String("from", c.report.from);
}

Result<void> ReadLog(TableReader& r, Config& c) {
  MW_RETURN_IF_ERROR(r.String("level", c.log.level));
  static constexpr std::string_view kLevels[] = {"trace", "debug", "info", "warn", "error"};
  if (std::ranges::find(kLevels, c.log.level) == std::end(kLevels)) {
    return Fail(ErrorCode::kInvalidInput, "log.level: must be trace, debug, info, warn or error");
  }
  return {};
}

Result<void> ReadDaemon(TableReader& r, Config& c) {
  MW_RETURN_IF_ERROR(r.String("user", c.daemon.user));
  MW_RETURN_IF_ERROR(r.String("group", c.daemon.group));
  if (c.daemon.user.empty() && !c.daemon.group.empty()) {
    return Fail(ErrorCode::kInvalidInput, "daemon.group: needs daemon.user");
  }
  MW_RETURN_IF_ERROR(
      r.Dur("shutdown_timeout", c.daemon.shutdown_timeout, std::chrono::milliseconds(100)));
  if (c.daemon.shutdown_timeout > std::chrono::hours(1)) {
    return Fail(ErrorCode::kInvalidInput, "daemon.shutdown_timeout: must be at most 1h");
  }
  return {};
}

Result<void> ReadAutoAccounts(TableReader& r, Config& c) {
  std::string uids;
  MW_RETURN_IF_ERROR(r.String("uids", uids));
  if (!uids.empty()) {
    // Two decimal uids joined by '-'; the least is 1: root is never an account's user.
    auto number = [](std::string_view text, std::uint64_t& out) {
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
      return ec == std::errc() && end == text.data() + text.size() && !text.empty();
    };
    const std::string_view text = uids;
    const auto dash = text.find('-');
    std::uint64_t lo = 0, hi = 0;
    if (dash == std::string_view::npos || !number(text.substr(0, dash), lo) ||
        !number(text.substr(dash + 1), hi) || lo < 1 || hi < lo || hi > 4294967294ULL) {
      return Fail(ErrorCode::kInvalidInput,
                  "auto_accounts.uids: \"" + uids +
                      "\" must be MIN-MAX, two uids from 1 to 4294967294, e.g. \"1000-59999\"");
    }
    c.auto_accounts.uid_min = static_cast<Uid>(lo);
    c.auto_accounts.uid_max = static_cast<Uid>(hi);
  }
  MW_RETURN_IF_ERROR(r.String("language", c.auto_accounts.language));
  if (c.auto_accounts.language != "en" && c.auto_accounts.language != "pl") {
    return Fail(ErrorCode::kInvalidInput, "auto_accounts.language: must be \"en\" or \"pl\"");
  }
  return {};
}

Result<void> ReadBounces(TableReader& r, Config& c) {
  MW_RETURN_IF_ERROR(r.String("domain", c.bounces.domain));
  c.bounces.domain = ToAsciiLower(c.bounces.domain);
  if (!c.bounces.domain.empty() &&
      (c.bounces.domain.size() > 253 || c.bounces.domain.find('.') == std::string::npos ||
       c.bounces.domain.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-") !=
           std::string::npos)) {
    return Fail(ErrorCode::kInvalidInput,
                "bounces.domain: \"" + c.bounces.domain +
                    "\" is not a domain name (letters, digits, '.', '-'; at least one dot)");
  }
  MW_RETURN_IF_ERROR(ReadListenList(r, "listen", false, c.bounces.listen));
  if (!c.bounces.listen.empty() && c.bounces.domain.empty()) {
    return Fail(ErrorCode::kInvalidInput,
                "bounces.listen: needs bounces.domain (the addresses the intake accepts)");
  }
  if (const toml::node* n = r.Get("forward")) {
    auto v = n->value_exact<bool>();
    if (!v) return Fail(ErrorCode::kInvalidInput, "bounces.forward: must be true or false");
    c.bounces.forward = *v;
  }
  if (const toml::node* n = r.Get("feedback_addresses")) {
    const toml::array* list = n->as_array();
    if (list == nullptr) {
      return Fail(ErrorCode::kInvalidInput,
                  "bounces.feedback_addresses: must be a list of addresses, e.g. "
                  "[\"fbl@bounces.example.net\"]");
    }
    for (const toml::node& item : *list) {
      auto v = item.value_exact<std::string>();
      const std::size_t at = v ? v->rfind('@') : std::string::npos;
      if (!v || at == 0 || at == std::string::npos || at + 1 == v->size() ||
          v->find_first_of(" <>\t\r\n") != std::string::npos) {
        return Fail(ErrorCode::kInvalidInput,
                    "bounces.feedback_addresses: each must be one plain address, e.g. "
                    "\"fbl@bounces.example.net\"");
      }
      c.bounces.feedback_addresses.push_back(ToAsciiLower(*v));
    }
  }
  if (!c.bounces.feedback_addresses.empty() && c.bounces.listen.empty()) {
    return Fail(ErrorCode::kInvalidInput,
                "bounces.feedback_addresses: needs bounces.listen (where reports come in)");
  }
  std::string secret_file = "var/bounces.secret";
  MW_RETURN_IF_ERROR(r.String("secret_file", secret_file));
  if (secret_file.empty()) {
    return Fail(ErrorCode::kInvalidInput, "bounces.secret_file: must name a file");
  }
  c.bounces.secret_file = Anchor(c.base_dir, secret_file);
  std::string categories;
  MW_RETURN_IF_ERROR(r.String("categories_file", categories));
  if (!categories.empty()) {
    c.bounces.categories_file = Anchor(c.base_dir, categories);
    std::ifstream in(c.bounces.categories_file, std::ios::binary);
    if (!in) {
      return Fail(ErrorCode::kInvalidInput,
                  "bounces.categories_file: cannot read " + c.bounces.categories_file.string());
    }
    std::ostringstream text;
    text << in.rdbuf();
    auto rules = ParseCategoryRules(text.str());
    if (!rules) {
      return Fail(ErrorCode::kInvalidInput,
                  "bounces.categories_file: " + c.bounces.categories_file.string() + ": " +
                      rules.error().message);
    }
    c.bounces.category_rules = std::move(*rules);
  }
  return {};
}

// The [section]s in the order they are read; each also refuses a key it did not read.
struct SectionRule {
  std::string_view name;
  Result<void> (*read)(TableReader&, Config&);
};
constexpr SectionRule kSections[] = {
    {"store", ReadStore},       {"submit", ReadSubmit},
    {"smtp", ReadSmtp},         {"http", ReadHttp},
    {"delivery", ReadDelivery}, {"policy", ReadPolicy},
    {"report", ReadReport},     {"log", ReadLog},
    {"daemon", ReadDaemon},     {"auto_accounts", ReadAutoAccounts},
    {"bounces", ReadBounces},   {"scan", ReadScan},
    {"dns", ReadDns},
};

Result<AccountSpec> ReadAccount(const toml::table& t, std::size_t index) {
  TableReader r(&t, "account[" + std::to_string(index) + "]");
  AccountSpec a;
  MW_RETURN_IF_ERROR(r.String("name", a.name));
  if (!IsValidAccountName(a.name)) {
    return Fail(ErrorCode::kInvalidInput,
                r.Key("name") + ": must be " + std::string(kAccountNameRule));
  }
  if (const toml::node* n = r.Get("uids")) {
    const toml::array* arr = n->as_array();
    if (arr == nullptr) return Fail(ErrorCode::kInvalidInput, r.Key("uids") + ": must be a list");
    for (const auto& item : *arr) {
      auto uid = item.value_exact<std::int64_t>();
      if (!uid || *uid < 0 || *uid > 4294967294LL) {
        return Fail(ErrorCode::kInvalidInput,
                    r.Key("uids") + ": each uid must be a number from 0 to 4294967294");
      }
      a.uids.push_back(static_cast<Uid>(*uid));
    }
  }
  MW_RETURN_IF_ERROR(r.String("report_to", a.report_to));
  MW_RETURN_IF_ERROR(r.String("language", a.language));
  if (a.language != "en" && a.language != "pl") {
    return Fail(ErrorCode::kInvalidInput, r.Key("language") + ": must be \"en\" or \"pl\"");
  }
  std::int64_t v = -1;
  MW_RETURN_IF_ERROR(r.Int("max_per_day", v, 0, 100'000'000));
  if (v >= 0) a.max_per_day = v;
  v = -1;
  MW_RETURN_IF_ERROR(r.Int("max_per_hour", v, 0, 100'000'000));
  if (v >= 0) a.max_per_hour = v;
  if (const toml::node* n = r.Get("domains")) {
    const toml::array* arr = n->as_array();
    if (arr == nullptr) {
      return Fail(ErrorCode::kInvalidInput, r.Key("domains") + ": must be a list of domains");
    }
    for (const auto& item : *arr) {
      auto text = item.value<std::string>();
      if (!text)
        return Fail(ErrorCode::kInvalidInput, r.Key("domains") + ": each must be a string");
      auto domain = NormalizeDomain(*text);
      if (!domain) {
        return Fail(ErrorCode::kInvalidInput, r.Key("domains") + ": " + domain.error().message);
      }
      if (std::ranges::find(a.domains, *domain) == a.domains.end()) a.domains.push_back(*domain);
    }
  }
  if (r.Get("plan") != nullptr) {
    std::string plan;
    MW_RETURN_IF_ERROR(r.String("plan", plan));
    a.plan = plan;
  }
  MW_RETURN_IF_ERROR(r.CheckNoUnknownKeys());
  return a;
}

// The [[table]]s of one key, each handed to read with its index.
template <class Read>
Result<void> EachTable(TableReader& top, std::string_view key, Read read) {
  const toml::node* n = top.Get(key);
  if (n == nullptr) return {};
  const toml::array* arr = n->as_array();
  const std::string written =
      std::string(key) + ": must be written as [[" + std::string(key) + "]] tables";
  if (arr == nullptr) return Fail(ErrorCode::kInvalidInput, written);
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const toml::table* t = (*arr)[i].as_table();
    if (t == nullptr) return Fail(ErrorCode::kInvalidInput, written);
    TableReader r(t, std::string(key) + "[" + std::to_string(i) + "]");
    MW_RETURN_IF_ERROR(read(r, *t));
    MW_RETURN_IF_ERROR(r.CheckNoUnknownKeys());
  }
  return {};
}

// [[plan]]: a name, and any of the limit keys (core/send_limits.h).
Result<void> ReadPlans(TableReader& top, Config& c) {
  return EachTable(top, "plan", [&c](TableReader& r, const toml::table& t) -> Result<void> {
    Config::Plan plan;
    MW_RETURN_IF_ERROR(r.String("name", plan.name));
    if (!IsValidAccountName(plan.name)) {
      return Fail(ErrorCode::kInvalidInput,
                  r.Key("name") + ": must be " + std::string(kAccountNameRule));
    }
    if (FindPlan(c, plan.name) != nullptr) {
      return Fail(ErrorCode::kInvalidInput,
                  r.Key("name") + ": \"" + plan.name + "\" is listed twice");
    }
    for (const auto& [k, node] : t) {
      const std::string_view key = k.str();
      if (key == "name") continue;
      r.Get(key);
      std::string text;
      if (auto i = node.value_exact<std::int64_t>()) {
        text = std::to_string(*i);
      } else if (auto d = node.value_exact<double>()) {
        text = std::to_string(*d);
      } else if (auto str = node.value_exact<std::string>()) {
        text = *str;
      } else {
        return Fail(ErrorCode::kInvalidInput, r.Key(key) + ": must be a number or a string");
      }
      if (auto set = SetLimitOverride(plan.limits, key, text); !set) {
        return Fail(ErrorCode::kInvalidInput, "plan[" + plan.name + "]." + set.error().message);
      }
    }
    c.plans.push_back(std::move(plan));
    return {};
  });
}

// [[webhook]]: url, secret_file, events, max_age.
Result<void> ReadWebhooks(TableReader& top, Config& c) {
  return EachTable(top, "webhook", [&c](TableReader& r, const toml::table&) -> Result<void> {
    Config::Webhook w;
    MW_RETURN_IF_ERROR(r.String("url", w.url));
    if (!w.url.starts_with("http://") && !w.url.starts_with("https://")) {
      return Fail(ErrorCode::kInvalidInput, r.Key("url") + ": must be an http:// or https:// URL");
    }
    std::string secret;
    MW_RETURN_IF_ERROR(r.String("secret_file", secret));
    if (secret.empty()) {
      return Fail(ErrorCode::kInvalidInput,
                  r.Key("secret_file") + ": must name the file of the signing secret");
    }
    w.secret_file = Anchor(c.base_dir, secret);
    if (const toml::node* n = r.Get("events")) {
      const toml::array* arr = n->as_array();
      if (arr == nullptr) {
        return Fail(ErrorCode::kInvalidInput, r.Key("events") + ": must be a list");
      }
      for (const auto& item : *arr) {
        auto type = item.value<std::string>();
        if (!type || (*type != "*" && !IsEventType(*type))) {
          return Fail(ErrorCode::kInvalidInput, r.Key("events") +
                                                    ": each must be \"*\" or an event type of "
                                                    "docs/webhooks.md (\"account.blocked\", ...)");
        }
        w.events.push_back(*type);
      }
    }
    if (w.events.empty()) w.events.push_back("*");
    MW_RETURN_IF_ERROR(r.Dur("max_age", w.max_age, std::chrono::minutes(1)));
    c.webhooks.push_back(std::move(w));
    return {};
  });
}

// The [[account]] tables: each name and each uid once.
Result<void> ReadAccounts(TableReader& top, Config& c) {
  const toml::node* n = top.Get("account");
  if (n == nullptr) return {};
  const toml::array* arr = n->as_array();
  if (arr == nullptr) {
    return Fail(ErrorCode::kInvalidInput, "account: must be written as [[account]] tables");
  }
  std::set<std::string> names;
  std::set<Uid> uids;
  std::set<std::string> domains;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const toml::table* t = (*arr)[i].as_table();
    if (t == nullptr) {
      return Fail(ErrorCode::kInvalidInput, "account: must be written as [[account]] tables");
    }
    MW_ASSIGN_OR_RETURN(AccountSpec a, ReadAccount(*t, i));
    if (!names.insert(a.name).second) {
      return Fail(ErrorCode::kInvalidInput,
                  "account[" + std::to_string(i) + "].name: \"" + a.name + "\" is listed twice");
    }
    for (Uid u : a.uids) {
      if (!uids.insert(u).second) {
        return Fail(ErrorCode::kInvalidInput, "account[" + std::to_string(i) + "].uids: uid " +
                                                  std::to_string(u) + " belongs to two accounts");
      }
    }
    for (const std::string& d : a.domains) {
      if (!domains.insert(d).second) {
        return Fail(ErrorCode::kInvalidInput, "account[" + std::to_string(i) + "].domains: \"" + d +
                                                  "\" belongs to two accounts");
      }
    }
    c.accounts.push_back(std::move(a));
  }
  return {};
}

}  // namespace

Result<Config> ParseConfig(std::string_view toml_text, const std::filesystem::path& base_dir) {
  toml::table root;
  try {
    root = toml::parse(toml_text);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << "line " << e.source().begin.line << ": " << e.description();
    return Fail(ErrorCode::kInvalidInput, msg.str());
  }

  Config c;
  c.base_dir = base_dir;
  // The top level: a few keys and the sections; anything else is a mistake worth stopping for.
  TableReader top(&root, "");
  MW_RETURN_IF_ERROR(ReadHostName(top, c));
  for (const SectionRule& section : kSections) {
    MW_ASSIGN_OR_RETURN(TableReader r, Section(top, section.name));
    MW_RETURN_IF_ERROR(section.read(r, c));
    MW_RETURN_IF_ERROR(r.CheckNoUnknownKeys());
  }
  MW_RETURN_IF_ERROR(ReadPlans(top, c));
  MW_RETURN_IF_ERROR(ReadAccounts(top, c));
  MW_RETURN_IF_ERROR(ReadWebhooks(top, c));
  MW_RETURN_IF_ERROR(top.CheckNoUnknownKeys());
  for (std::size_t i = 0; i < c.accounts.size(); ++i) {
    const auto& plan = c.accounts[i].plan;
    if (plan && !plan->empty() && FindPlan(c, *plan) == nullptr) {
      return Fail(ErrorCode::kInvalidInput, "account[" + std::to_string(i) + "].plan: \"" + *plan +
                                                "\" is not a [[plan]] of the file");
    }
  }
  // A bound below one message's size would refuse that message for ever, as "try later".
  if (c.store.max_held_bytes_per_account > 0 &&
      c.store.max_held_bytes_per_account < c.submit.max_message_bytes) {
    return Fail(ErrorCode::kInvalidInput,
                "store.max_held_bytes_per_account: must be at least submit.max_message_bytes (" +
                    std::to_string(c.submit.max_message_bytes) + "), or 0 for no bound");
  }
  return c;
}

SendLimits ServerLimits(const Config::Policy& policy) {
  return SendLimits{.max_per_hour = policy.max_per_hour,
                    .max_per_day = policy.max_per_day,
                    .max_per_sender_per_hour = policy.max_per_sender_per_hour,
                    .max_per_from_per_hour = policy.max_per_from_per_hour,
                    .max_per_script_per_hour = policy.max_per_script_per_hour,
                    .max_recipients = policy.max_recipients,
                    .unique_recipients_per_hour = policy.unique_recipients_per_hour,
                    .over_limit = policy.over_limit,
                    .warn_at = policy.warn_at,
                    .suppress_for = policy.suppress_for};
}

const Config::Plan* FindPlan(const Config& config, std::string_view name) {
  for (const Config::Plan& p : config.plans) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

ResolvedLimits ResolveAccountLimits(const Config& config, const LimitOverrides* plan,
                                    const LimitOverrides& own) {
  return ResolveLimits(ServerLimits(config.policy), plan, own);
}

Result<Config> LoadConfig(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return Fail(ErrorCode::kNotFound, file.string() + ": cannot read the configuration file");
  }
  std::ostringstream text;
  text << in.rdbuf();
  const auto base = std::filesystem::absolute(file).parent_path();
  auto c = ParseConfig(text.str(), base);
  if (!c) return Fail(c.error().code, file.string() + ": " + c.error().message);
  return c;
}

}  // namespace mailwarden
