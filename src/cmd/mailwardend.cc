// mailwardend - the mailwarden daemon
//
// SYNOPSIS
//   mailwardend --config FILE
//   mailwardend --check-config FILE
//
// DESCRIPTION
//   Takes the mail that the scripts of a shared web hosting send (through mailwarden-sendmail
//   on the submission socket, or SMTP), stores it durably, and delivers it through the
//   provider's relay (or into a maildir for development), following each account's state. See
//   DESIGN.md for the promises it keeps. --check-config reads and checks FILE and exits,
//   starting nothing.
//
// SIGNALS
//   SIGHUP   reads the file again: [policy], [report], [log], the accounts and the SMTP TLS
//            certificate and key take their new values; a key bound at start (listen
//            addresses, store.url, submit.socket, daemon.user...) is named in the log and
//            keeps its running value; a file with an error is refused, named in the log, and
//            the running configuration kept.
//   SIGTERM, SIGINT
//            stops accepting, answers every submission already being read, lets the
//            deliveries in flight end, and exits 0 within daemon.shutdown_timeout (what is
//            left then waits for the next start; nothing acknowledged is lost). kill -9 is as
//            safe, only slower to recover from.
//   Started by systemd (Type=notify), it says READY=1 once its listeners are bound and its
//   store is open, RELOADING=1 and READY=1 around a reload, and STOPPING=1.
//
// SECURITY
//   A script is identified by its uid as the kernel reports it (SO_PEERCRED), never by what it
//   writes. Input from scripts is bounded and checked before it is stored. The daemon never
//   handles mail as root: started as root, it binds its listeners, opens its store, gives
//   what it made (the SQLite store and its WAL, the admin token, the socket, their new
//   folders) to daemon.user, and becomes that user and group for good (checking that root
//   cannot be had back); with daemon.user empty it refuses to start as root. Only
//   daemon.user = "root" runs it as root, with a warning, for development. The store, the
//   tokens and TLS keys must be readable by the daemon's user alone (it warns otherwise);
//   mail written to a maildir is mode 0600.
//
// DIAGNOSTICS
//   Logs one line per message event to standard error (queue id, account, sender, recipient,
//   result). Exit status: 0 after a clean stop (SIGTERM, SIGINT) or a valid --check-config;
//   64 for a usage error; 78 when the configuration is missing or invalid, or daemon.user
//   cannot be used (the message names the key and the reason); 69 when the store (a schema
//   newer than this program knows included) or a listener cannot be opened, or the daemon's
//   user cannot be become.
#include <malloc.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "cmd/daemon.h"
#include "submit/submit_wire.h"

int main(int argc, char** argv) {
  // Messages are allocated on the I/O thread and freed on the store thread after their group
  // commit, a few megabytes a second. With glibc's default, adaptive thresholds each burst of
  // frees gives memory back to the kernel (madvise, munmap) and the next burst faults it in
  // again; on a multi-core machine each return is a TLB shoot-down of every core. Keeping up
  // to these amounts costs a few megabytes of resident memory and none of that work.
  mallopt(M_TRIM_THRESHOLD, 16 * 1024 * 1024);
  mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
  CLI::App app{"mailwardend - the mailwarden daemon"};
  std::string config_file;
  std::string check_file;
  auto* config_option = app.add_option("-c,--config", config_file, "the configuration file (TOML)");
  auto* check_option = app.add_option("--check-config", check_file,
                                      "check FILE and exit: 0 if valid, 78 naming the key if not");
  config_option->excludes(check_option);
  app.require_option(1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : mailwarden::kExitUsage;
  }

  if (!check_file.empty()) {
    auto checked = mailwarden::LoadConfig(check_file);
    if (!checked) {
      std::cerr << "mailwardend: " << checked.error().message << "\n";
      return mailwarden::kExitConfig;
    }
    // The user and group named must exist on this system (as a start as root would check).
    if (!checked->daemon.user.empty()) {
      if (auto user = mailwarden::ResolveDaemonUser(checked->daemon, 0); !user) {
        std::cerr << "mailwardend: " << check_file << ": " << user.error().message << "\n";
        return mailwarden::kExitConfig;
      }
    }
    std::cout << check_file << ": valid\n";
    return 0;
  }
  auto config = mailwarden::LoadConfig(config_file);
  if (!config) {
    std::cerr << "mailwardend: " << config.error().message << "\n";
    return mailwarden::kExitConfig;
  }
  spdlog::set_default_logger(spdlog::stderr_logger_mt("mailwardend"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z mailwardend[%P]: %v");
  spdlog::set_level(spdlog::level::from_str(config->log.level));
  spdlog::flush_on(spdlog::level::info);

  // Every connection (drop-in, SMTP, panel, relay) is a descriptor. The usual soft limit,
  // 1024, is below submit.max_connections plus the SMTP listener's own limit; the hard limit
  // is the provider's word, so the soft one is raised to it.
  if (rlimit files{}; getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &files) != 0) {
      spdlog::warn("cannot raise the open files limit: {}", std::strerror(errno));
    }
  }
  // Before anything is bound or opened: a daemon that could not drop root does not start.
  auto user = mailwarden::ResolveDaemonUser(config->daemon, geteuid());
  if (!user) {
    spdlog::critical("cannot start: {}", user.error().message);
    return mailwarden::kExitConfig;
  }
  mailwarden::Daemon daemon(std::move(*config), config_file, std::move(*user));
  if (auto r = daemon.Start(); !r) {
    spdlog::critical("cannot start: {}", r.error().message);
    // A conflict is the configuration's (a uid the store gives to another account).
    return r.error().code == mailwarden::ErrorCode::kConflict ? mailwarden::kExitConfig
                                                              : mailwarden::kExitUnavailable;
  }
  if (!daemon.Run()) {
    // daemon.shutdown_timeout passed: the parts still working (a delivery, the store thread)
    // are left as a kill would leave them, which the next start recovers from.
    spdlog::default_logger()->flush();
    std::_Exit(0);
  }
  return 0;
}
