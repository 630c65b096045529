// The daemon's configuration: one TOML file (DESIGN.md, "Configuration").
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/account_spec.h"
#include "core/failure_category.h"
#include "core/result.h"
#include "core/send_limits.h"
#include "core/sender_domain.h"
#include "core/types.h"

namespace mailwarden {

enum class DeliveryMode { kRelay, kMaildir };
// STARTTLS to the relay: never, when offered (a failed handshake is a failed delivery, never a
// fallback to plain text), or always (a relay without it is not used).
enum class RelayTls { kNone, kOpportunistic, kRequired };

struct Config {
  std::filesystem::path base_dir;  // the config file's folder: relative paths start here

  // This host's name: in Received lines, Message-IDs, EHLO and as the node's name in the
  // store. The key "hostname"; by default the system's host name.
  std::string hostname;

  struct Store {
    std::string url;  // "sqlite:PATH" (PATH made absolute) or "postgresql://..."
    // How long a finished message (sent, bounced, expired) stays for the errors list and the
    // reports; then it is deleted. Counters, volumes and sources are kept apart and stay.
    Duration keep_finished = std::chrono::hours(24 * 30);
    // One account's unfinished mail (waiting, held, being delivered) at most, in bytes and in
    // messages: its next message past either is told to try again later; other accounts are
    // not affected. 0: no bound. The bytes must be at least submit.max_message_bytes.
    std::int64_t max_held_bytes_per_account = 4LL * 1024 * 1024 * 1024;
    std::int64_t max_held_messages_per_account = 1'000'000;
    // Free space kept on the store's disk (SQLite: its file system's free space plus the
    // database's free pages), as Postfix's queue_minfree: new mail that would leave less is
    // told to try again later, so that blocking, unblocking, purging and delivery still have
    // room. 0: none kept. Not checked for PostgreSQL (the database server's disk).
    std::int64_t min_free_space = 100LL * 1024 * 1024;
    // Distinct values of each kind of source (scripts, senders, domains, subjects) an account
    // gets rows for in one hour; the mail of further values is counted in one row for the
    // rest of them ("other").
    std::int64_t max_sources_per_hour = 100;
  } store;

  struct Submit {
    std::filesystem::path socket;
    std::int64_t max_message_bytes = 25 * 1024 * 1024;
    // Memory for large messages being received, over the drop-in and SMTP together: this
    // divided by max_message_bytes is how many messages over 256 KiB are read at once (at
    // least one); others wait their turn, their senders blocked in their writes.
    std::int64_t max_receiving_bytes = 256 * 1024 * 1024;
    // Drop-in connections served at once; more wait in the socket's backlog.
    std::int64_t max_connections = 1000;
    // Drop-in connections of one uid served at once; more wait (uid_wait), then are told to
    // try again later (75), so that one account's scripts (a hacked site) cannot take every
    // connection from the others.
    std::int64_t max_connections_per_uid = 100;
    // The whole of one submission, from the connection to the end of its message: a client
    // still sending then is told to try again later (75), however steadily it trickles.
    Duration max_receive_time = std::chrono::minutes(5);
    // How long a message past 256 KiB waits for a large slot (its uid's, then one of all);
    // then it is told to try again later (75).
    Duration max_wait_for_room = std::chrono::seconds(30);
    // Large slots one uid holds at once (fewer if there are fewer slots), so that one local
    // user cannot take every slot from the others.
    std::int64_t max_large_messages_per_uid = 3;
    // How long a script past max_connections_per_uid waits for one of its uid's places
    // before it is told 75: PHP's mail() does not try again, so a burst of one site is served
    // in turn instead of cut. As many may wait as may be served; more are told 75 at once.
    Duration uid_wait = std::chrono::seconds(5);
  } submit;

  struct Smtp {
    std::vector<std::string> listen;  // "host:port"; none: no SMTP submission
    // Loopback "host:port" where local scripts speak SMTP without AUTH, each connection's mail
    // belonging to the account of the uid owning the client's socket; none: off.
    std::vector<std::string> local_listen;
    std::filesystem::path tls_cert;  // PEM; with tls_key, STARTTLS is offered
    std::filesystem::path tls_key;
    std::int64_t max_recipients = 100;
    // Authenticated sessions of one account at once (of max_connections); a further AUTH as
    // that account is told 421.
    std::int64_t max_connections_per_account = 50;
    std::int64_t max_connections = 200;  // sessions at once; more are told 421 at once
    // Sessions of one client at once (its address; on loopback, the local user owning the
    // client's socket); more are told 421 at once.
    std::int64_t max_connections_per_client = 20;
    // Commands before a successful AUTH; the next is told 421 and the connection closed.
    std::int64_t max_commands_before_auth = 20;
  } smtp;

  struct Http {
    std::string listen = "127.0.0.1:8025";
    std::filesystem::path admin_token_file;
    std::filesystem::path panel_dir;  // the panel's built assets; default: the build's web/dist
    // A token that reads GET /metrics only (for a scraper); empty: only the admin token does.
    std::filesystem::path metrics_token_file;
    // A selective release or delete (POST .../email/messages/release, .../delete) acts on at
    // most held_action_max messages a request, in transactions of held_action_batch on the
    // store's background lane; the answer says whether more matched ("more").
    std::int64_t held_action_batch = 500;
    std::int64_t held_action_max = 10000;
    // A list's answer (held mail, errors) stops before this many bytes of JSON and gives the
    // cursor to the rest.
    std::int64_t max_answer_bytes = 1024 * 1024;
    // Connections served at once; more are told 503 at once, unread.
    std::int64_t max_connections = 256;
    // Connections of one client at once (its address; on loopback, the local user owning the
    // client's socket); more are told 429 at once, unread.
    std::int64_t max_connections_per_client = 32;
    // A request's line and header fields; past it, 431 and the connection is closed.
    std::int64_t max_header_bytes = 16 * 1024;
    // A request's body, read only once its token is checked (a selective release or delete
    // may take up to 1 MiB whatever this says); past it, 413 without reading it.
    std::int64_t max_body_bytes = 64 * 1024;
    // Reading one request, header and body, from its first byte; then the connection closes.
    Duration request_timeout = std::chrono::seconds(30);
    // How long a connection waits for its first or next request.
    Duration idle_timeout = std::chrono::seconds(15);
  } http;

  struct Delivery {
    DeliveryMode mode = DeliveryMode::kMaildir;
    std::string relay = "127.0.0.1:25";  // "host:port"
    std::filesystem::path maildir;
    int concurrency = 20;
    // Memory for the bodies of mail being delivered, all together: a claim takes no message
    // that would go past it (one larger message still goes, alone), and the rest waits queued
    // until deliveries end.
    std::int64_t max_sending_bytes = 128 * 1024 * 1024;
    Duration max_lifetime = std::chrono::hours(24 * 5);
    Duration retry_first = std::chrono::minutes(1);  // first retry after a 4xx, then doubling
    Duration retry_max = std::chrono::hours(1);      // the retry delay never grows past this
    std::string helo;                                // the name given in EHLO; empty: the host name
    Duration lease = std::chrono::minutes(15);  // a claim ends then: a dead node's mail goes out
    // The key "tls": by default opportunistic for a relay on loopback (no one in between),
    // else required; "tls_verify" by default off on loopback (a self-signed certificate),
    // else on, against tls_ca_file (empty: the system's CAs) and the name tls_name (empty:
    // the relay's host).
    RelayTls tls = RelayTls::kOpportunistic;
    bool tls_verify = false;
    std::filesystem::path tls_ca_file;
    std::string tls_name;
  } delivery;

  struct Policy {
    Duration hold = std::chrono::hours(72);
    std::int64_t max_per_day = 1000;
    std::int64_t max_per_hour = 300;
    std::int64_t spam_per_hour = 3000;
    double bounce_rate = 0.2;
    std::int64_t bounce_min = 20;
    // The content guard: this many of an account's messages quarantined by the scanner
    // within an hour block it (spam_guard, a reason saying "content"). 0: off.
    std::int64_t quarantine_per_hour = 10;
    // The complaint guard: more spam complaints (feedback-loop reports) than this fraction of
    // the messages the account sent today blocks it (complaint_guard), once it sent at least
    // complaint_min today. 0.003 is the ceiling large mailbox providers enforce; at 1,000
    // messages it takes 4 complaints, where fewer messages would let one or two block.
    double complaint_rate = 0.003;
    std::int64_t complaint_min = 1000;
    // A message whose From domain (or envelope sender's) is not its account's: off (not
    // checked), hold (held as "sender not allowed") or reject (refused at submission).
    // Off by default: an upgrade must not hold the mail of accounts whose domains have not
    // been listed yet (docs/sender-identity.md).
    SenderCheck sender_check = SenderCheck::kOff;
    // Finer limits (core/send_limits.h; 0: none), each also a key of a [[plan]] and of an
    // account's overrides: per envelope sender and per script in a rolling hour (deferred),
    // recipients of one message (refused at submission), different recipients in an hour
    // (the spam guard blocks), what happens past a volume limit, and the fraction of a daily
    // limit past which the account is warned.
    std::int64_t max_per_sender_per_hour = 0;
    std::int64_t max_per_from_per_hour = 0;  // per From: header address
    std::int64_t max_per_script_per_hour = 0;
    std::int64_t max_recipients = 0;
    std::int64_t unique_recipients_per_hour = 0;
    OverLimit over_limit = OverLimit::kDefer;
    double warn_at = 0.8;
    // A recipient that bounced as a bad mailbox or bad domain is not sent to again by that
    // account for this long (its mail fails at once as "suppressed"); 0: off. Also a key of a
    // [[plan]] and of an account's overrides.
    Duration suppress_for = std::chrono::days(30);
  } policy;

  // Bounces that come back after the relay took the message (docs/bounces.md).
  struct Bounces {
    // The domain of the return path given to the relay (smtp/return_path.h); empty: off, and
    // the script's envelope sender goes to the relay as it is.
    std::string domain;
    // "host:port" where bounces and feedback-loop reports come back by SMTP, without AUTH;
    // none: no intake. Bounded by the [smtp] limits.
    std::vector<std::string> listen;
    // The return path's signing secret; made (0600) if missing. A fleet shares one file.
    std::filesystem::path secret_file;
    // Each bounce of a message still stored is passed on to the message's original envelope
    // sender (with the null sender; never to a null sender nor to a return path).
    bool forward = true;
    // Addresses the intake also takes mail for: the feedback-loop addresses a provider gives
    // mailbox providers (RFC 5965 complaints), compared case-insensitively. A report is
    // matched to its message through the return path of the original it carries.
    std::vector<std::string> feedback_addresses;
    // The secret itself: not a key of the file; the daemon reads (or makes) secret_file at
    // start, before delivery and the intake begin.
    std::string secret;
    // Rules a provider adds to the failure categories' table (core/failure_category.h), tried
    // before the built-in ones; read and checked at start. Empty: the built-in table alone.
    std::filesystem::path categories_file;
    std::vector<CategoryRule> category_rules;  // what categories_file says
  } bounces;

  // Outgoing content scanning by Rspamd (docs/scanning.md).
  enum class ScanOnError { kDeliver, kHold };
  struct Scan {
    // Rspamd's normal worker, "http://host:port"; empty: no scanning.
    std::string rspamd;
    std::string rspamd_host;  // parsed from rspamd
    std::string rspamd_port;
    Duration timeout = std::chrono::seconds(10);  // one scan, connect to verdict
    // Messages being scanned at once: bounds the bodies held for scanning (this many times
    // submit.max_message_bytes at most) and the load put on Rspamd.
    int concurrency = 8;
    // While Rspamd cannot answer (down, timing out, an error reply): deliver the message
    // unscanned (counted as a scan error), or hold it until a scan succeeds.
    ScanOnError on_error = ScanOnError::kDeliver;
    // Whether a customer may release their own quarantined mail (an operator always may).
    bool customer_release = false;
    bool enabled() const { return !rspamd.empty(); }
  } scan;

  struct Dns {
    // The resolver the DNS check of each domain's records asks, "host:port" (port 53 by
    // default); empty: the system's (/etc/resolv.conf).
    std::string server;
    // The SPF term that authorises the provider's relay ("include:_spf.example.net",
    // "ip4:192.0.2.0/24"): the DNS check looks for it in each domain's SPF record and tells
    // what to publish. Empty: SPF is only checked to exist.
    std::string spf;
  } dns;

  // [[plan]]: a name and the policy keys it sets (the rest are [policy]'s). An account names
  // its plan; its own overrides win over the plan's. Written to the store at start and on
  // SIGHUP (the store's plans are what applies: the API changes them for every node).
  struct Plan {
    std::string name;
    LimitOverrides limits;
  };
  std::vector<Plan> plans;

  // [[webhook]]: where events are POSTed (docs/webhooks.md), signed with the secret read from
  // secret_file; events: the types sent there ("*": all). An event not delivered within
  // max_age is given up.
  struct Webhook {
    std::string url;  // http:// or https://
    std::filesystem::path secret_file;
    std::vector<std::string> events;
    Duration max_age = std::chrono::hours(72);
  };
  std::vector<Webhook> webhooks;

  struct Report {
    int at_minutes = 6 * 60;  // minutes after local midnight
    std::string from = "mailwarden@localhost";
  } report;

  struct Log {
    std::string level = "info";
  } log;

  // How the process runs (DESIGN.md, "Privileges and signals").
  struct Daemon {
    // Started as root: bind the listeners, open the store, then become this user for good.
    // Empty: stay as started; as root that is refused, unless the key says "root" itself.
    std::string user;
    std::string group;  // empty: the user's primary group
    // SIGTERM: stop accepting, finish what was read, and exit within this.
    Duration shutdown_timeout = std::chrono::seconds(30);
  } daemon;

  // Accounts made from the system's user database: a uid in [uid_min, uid_max] with no
  // account gets one on its first mail, named after its passwd entry, with `language`. The
  // key "auto_accounts.uids" ("MIN-MAX"; empty, the default: off). A passwd name that is not a
  // valid account name, or that names an existing account, is refused and logged: that uid's
  // mail is refused as any uid without an account.
  struct AutoAccounts {
    Uid uid_min = 0;  // 0: off
    Uid uid_max = 0;
    std::string language = "en";
  } auto_accounts;

  std::vector<AccountSpec> accounts;
};

// The server's limits: [policy]'s keys as core/send_limits.h names them.
SendLimits ServerLimits(const Config::Policy& policy);
// The plan of that name, or null.
const Config::Plan* FindPlan(const Config& config, std::string_view name);
// An account's effective limits: its own keys, else its plan's (plan: the keys of the plan the
// account names as the store has it; null for none, or for a plan the store does not have),
// else [policy]'s.
ResolvedLimits ResolveAccountLimits(const Config& config, const LimitOverrides* plan,
                                    const LimitOverrides& own);

// Reads and checks the whole file. On failure the Error's message names the key and the
// reason ("delivery.concurrency: must be between 1 and 1000"); nothing is half-applied.
Result<Config> LoadConfig(const std::filesystem::path& file);

// The same from text, for tests; base_dir anchors relative paths.
Result<Config> ParseConfig(std::string_view toml_text, const std::filesystem::path& base_dir);

}  // namespace mailwarden
