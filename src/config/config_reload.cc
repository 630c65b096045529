#include "config/config_reload.h"

#include <iterator>

namespace mailwarden {
namespace {

// True when both configurations hold the same value of one key of a section.
template <auto Section, auto Member>
bool Same(const Config& a, const Config& b) {
  return (a.*Section).*Member == (b.*Section).*Member;
}

struct FixedKey {
  const char* name;
  bool (*same)(const Config&, const Config&);
};

// Every key that only a restart changes, in the order of DESIGN.md's configuration block.
constexpr FixedKey kFixedKeys[] = {
    {"hostname", [](const Config& a, const Config& b) { return a.hostname == b.hostname; }},
    {"store.url", Same<&Config::store, &Config::Store::url>},
    {"store.keep_finished", Same<&Config::store, &Config::Store::keep_finished>},
    {"submit.socket", Same<&Config::submit, &Config::Submit::socket>},
    {"submit.max_message_bytes", Same<&Config::submit, &Config::Submit::max_message_bytes>},
    {"submit.max_receiving_bytes", Same<&Config::submit, &Config::Submit::max_receiving_bytes>},
    {"submit.max_connections", Same<&Config::submit, &Config::Submit::max_connections>},
    {"submit.max_connections_per_uid",
     Same<&Config::submit, &Config::Submit::max_connections_per_uid>},
    {"submit.max_receive_time", Same<&Config::submit, &Config::Submit::max_receive_time>},
    {"submit.max_wait_for_room", Same<&Config::submit, &Config::Submit::max_wait_for_room>},
    {"submit.max_large_messages_per_uid",
     Same<&Config::submit, &Config::Submit::max_large_messages_per_uid>},
    {"submit.uid_wait", Same<&Config::submit, &Config::Submit::uid_wait>},
    {"smtp.listen", Same<&Config::smtp, &Config::Smtp::listen>},
    {"smtp.max_recipients", Same<&Config::smtp, &Config::Smtp::max_recipients>},
    {"smtp.max_connections_per_account",
     Same<&Config::smtp, &Config::Smtp::max_connections_per_account>},
    {"smtp.max_connections", Same<&Config::smtp, &Config::Smtp::max_connections>},
    {"smtp.max_connections_per_client",
     Same<&Config::smtp, &Config::Smtp::max_connections_per_client>},
    {"smtp.max_commands_before_auth", Same<&Config::smtp, &Config::Smtp::max_commands_before_auth>},
    {"http.listen", Same<&Config::http, &Config::Http::listen>},
    {"http.admin_token_file", Same<&Config::http, &Config::Http::admin_token_file>},
    {"http.panel_dir", Same<&Config::http, &Config::Http::panel_dir>},
    {"http.metrics_token_file", Same<&Config::http, &Config::Http::metrics_token_file>},
    {"http.held_action_batch", Same<&Config::http, &Config::Http::held_action_batch>},
    {"http.held_action_max", Same<&Config::http, &Config::Http::held_action_max>},
    {"http.max_answer_bytes", Same<&Config::http, &Config::Http::max_answer_bytes>},
    {"delivery.mode", Same<&Config::delivery, &Config::Delivery::mode>},
    {"delivery.relay", Same<&Config::delivery, &Config::Delivery::relay>},
    {"delivery.maildir", Same<&Config::delivery, &Config::Delivery::maildir>},
    {"delivery.concurrency", Same<&Config::delivery, &Config::Delivery::concurrency>},
    {"delivery.max_sending_bytes", Same<&Config::delivery, &Config::Delivery::max_sending_bytes>},
    {"delivery.max_lifetime", Same<&Config::delivery, &Config::Delivery::max_lifetime>},
    {"delivery.retry_first", Same<&Config::delivery, &Config::Delivery::retry_first>},
    {"delivery.retry_max", Same<&Config::delivery, &Config::Delivery::retry_max>},
    {"delivery.helo", Same<&Config::delivery, &Config::Delivery::helo>},
    {"delivery.lease", Same<&Config::delivery, &Config::Delivery::lease>},
    {"delivery.tls", Same<&Config::delivery, &Config::Delivery::tls>},
    {"delivery.tls_verify", Same<&Config::delivery, &Config::Delivery::tls_verify>},
    {"delivery.tls_ca_file", Same<&Config::delivery, &Config::Delivery::tls_ca_file>},
    {"delivery.tls_name", Same<&Config::delivery, &Config::Delivery::tls_name>},
    {"bounces.domain", Same<&Config::bounces, &Config::Bounces::domain>},
    {"bounces.listen", Same<&Config::bounces, &Config::Bounces::listen>},
    {"bounces.secret_file", Same<&Config::bounces, &Config::Bounces::secret_file>},
    {"bounces.forward", Same<&Config::bounces, &Config::Bounces::forward>},
    {"bounces.categories_file", Same<&Config::bounces, &Config::Bounces::categories_file>},
    {"scan.rspamd", Same<&Config::scan, &Config::Scan::rspamd>},
    {"scan.timeout", Same<&Config::scan, &Config::Scan::timeout>},
    {"scan.concurrency", Same<&Config::scan, &Config::Scan::concurrency>},
    {"scan.on_error", Same<&Config::scan, &Config::Scan::on_error>},
    {"scan.customer_release", Same<&Config::scan, &Config::Scan::customer_release>},
    {"daemon.user", Same<&Config::daemon, &Config::Daemon::user>},
    {"daemon.group", Same<&Config::daemon, &Config::Daemon::group>},
    {"daemon.shutdown_timeout", Same<&Config::daemon, &Config::Daemon::shutdown_timeout>},
};

}  // namespace

ReloadPlan PlanReload(const Config& running, const Config& fresh) {
  ReloadPlan plan{.config = running, .kept = {}};
  for (const FixedKey& key : kFixedKeys) {
    if (!key.same(running, fresh)) plan.kept.emplace_back(key.name);
  }
  plan.config.policy = fresh.policy;
  plan.config.report = fresh.report;
  plan.config.log = fresh.log;
  plan.config.accounts = fresh.accounts;
  plan.config.plans = fresh.plans;
  plan.config.auto_accounts = fresh.auto_accounts;
  plan.config.smtp.tls_cert = fresh.smtp.tls_cert;
  plan.config.smtp.tls_key = fresh.smtp.tls_key;
  return plan;
}

}  // namespace mailwarden
