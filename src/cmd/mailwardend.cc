// mailwardend - the mailwarden daemon
//
// SYNOPSIS
//   mailwardend --config FILE
//
// DESCRIPTION
//   Takes the mail that the scripts of a shared web hosting send (through mailwarden-sendmail
//   on the submission socket), stores it durably, and delivers it through the provider's
//   relay (or into a maildir for development), following each account's state. See
//   DESIGN.md for the promises it keeps.
//
// SECURITY
//   A script is identified by its uid as the kernel reports it (SO_PEERCRED), never by what it
//   writes. Input from scripts is bounded and checked before it is stored. The daemon needs
//   no privilege beyond its own files; run it as a dedicated user.
//
// DIAGNOSTICS
//   Logs one line per message event to standard error (queue id, account, sender, recipient,
//   result). Exit status: 0 after a clean stop (SIGTERM, SIGINT); 78 when the configuration is
//   missing or invalid (the message names the key and the reason); 69 when the store or a
//   listener cannot be opened.
#include <malloc.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <cerrno>
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
  app.add_option("-c,--config", config_file, "the configuration file (TOML)")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : mailwarden::kExitUsage;
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
  mailwarden::Daemon daemon(std::move(*config));
  if (auto r = daemon.Start(); !r) {
    spdlog::critical("cannot start: {}", r.error().message);
    // A conflict is the configuration's (a uid the store gives to another account).
    return r.error().code == mailwarden::ErrorCode::kConflict ? mailwarden::kExitConfig
                                                              : mailwarden::kExitUnavailable;
  }
  daemon.Run();
  return 0;
}
