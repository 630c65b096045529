#include "cmd/doctor.h"

#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/host_port.h"

namespace mailwarden {
namespace {

using json = nlohmann::json;

constexpr const char* kRuleSetCommand = "nft -j list table inet mailwarden 2>&1";
constexpr uid_t kNobody = 65534;
constexpr int kConnectTimeoutMs = 3000;

struct CommandOutput {
  int exit_code = -1;
  std::string text;
};

CommandOutput Run(const char* command) {
  CommandOutput out;
  FILE* pipe = popen(command, "r");
  if (pipe == nullptr) return out;
  char buffer[4096];
  std::size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) out.text.append(buffer, n);
  const int status = pclose(pipe);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

// What the loaded rule set does, read from nft's JSON.
struct RuleSet {
  std::set<int> redirect_ports;  // "redirect to :PORT"
  std::set<uid_t> smtp_users;    // "meta skuid { ... }": may open SMTP connections
  bool refuses = false;          // has a reject rule
};

void Walk(const json& node, RuleSet& rules) {
  if (node.is_object()) {
    if (auto redirect = node.find("redirect"); redirect != node.end() && redirect->is_object()) {
      if (auto port = redirect->find("port"); port != redirect->end() && port->is_number()) {
        rules.redirect_ports.insert(port->get<int>());
      }
    }
    if (node.contains("reject")) rules.refuses = true;
    if (auto match = node.find("match"); match != node.end() && match->is_object()) {
      const json& left = match->value("left", json());
      const json& right = match->value("right", json());
      if (left.is_object() && left.contains("meta") && left["meta"].value("key", "") == "skuid") {
        const json& values = right.is_object() && right.contains("set") ? right["set"] : right;
        if (values.is_array()) {
          for (const auto& v : values) {
            if (v.is_number()) rules.smtp_users.insert(v.get<uid_t>());
          }
        } else if (values.is_number()) {
          rules.smtp_users.insert(values.get<uid_t>());
        }
      }
    }
    for (const auto& [key, value] : node.items()) Walk(value, rules);
  } else if (node.is_array()) {
    for (const auto& value : node) Walk(value, rules);
  }
}

enum class Reach {
  kRefused,     // refused, or no answer in time
  kMailwarden,  // redirected into mailwarden: its greeting answered
  kReached,     // something else answered: the relay itself
};

// Connects to host:port as kNobody in a child process and reads the greeting. Needs root (to
// become kNobody); nullopt when the check could not be made.
std::optional<Reach> NobodyReaches(const HostPort& target) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (getaddrinfo(target.host.c_str(), std::to_string(target.port).c_str(), &hints, &found) != 0) {
    return std::nullopt;
  }
  const pid_t child = fork();
  if (child < 0) {
    freeaddrinfo(found);
    return std::nullopt;
  }
  if (child == 0) {
    // 0: reached, 1: refused or no answer, 2: could not become nobody, 3: mailwarden.
    if (setgroups(0, nullptr) != 0 || setgid(kNobody) != 0 || setuid(kNobody) != 0) _exit(2);
    const int fd = socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) _exit(1);
    if (connect(fd, found->ai_addr, found->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) _exit(1);
      pollfd p{fd, POLLOUT, 0};
      if (poll(&p, 1, kConnectTimeoutMs) != 1) _exit(1);
      int error = 0;
      socklen_t size = sizeof(error);
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size);
      if (error != 0) _exit(1);
    }
    // A relay on port 25 is reached through the redirect: mailwarden's greeting says so.
    std::string greeting;
    char buffer[512];
    pollfd p{fd, POLLIN, 0};
    while (greeting.find('\n') == std::string::npos && poll(&p, 1, kConnectTimeoutMs) == 1) {
      const ssize_t n = read(fd, buffer, sizeof buffer);
      if (n <= 0) break;
      greeting.append(buffer, static_cast<std::size_t>(n));
    }
    const bool mailwarden =
        greeting.starts_with("220 ") && greeting.find(" ESMTP mailwarden") != std::string::npos;
    _exit(mailwarden ? 3 : 0);
  }
  freeaddrinfo(found);
  int status = 0;
  if (waitpid(child, &status, 0) != child || !WIFEXITED(status)) return std::nullopt;
  switch (WEXITSTATUS(status)) {
    case 0:
      return Reach::kReached;
    case 1:
      return Reach::kRefused;
    case 3:
      return Reach::kMailwarden;
    default:
      return std::nullopt;
  }
}

}  // namespace

int RunDoctor(const Config& config) {
  std::vector<std::string> problems;
  auto say_ok = [](const std::string& line) { std::cout << "ok: " << line << "\n"; };

  // The rule set.
  const CommandOutput listed = Run(kRuleSetCommand);
  if (listed.exit_code == 127) {
    problems.push_back("nft is not installed: cannot tell whether the rule set is in force");
  } else if (listed.exit_code != 0 &&
             listed.text.find("Operation not permitted") != std::string::npos) {
    problems.push_back("not permitted to read the firewall: run doctor as root");
  } else if (listed.exit_code != 0) {
    problems.push_back(
        "the rule set is not loaded (no table inet mailwarden): scripts can reach SMTP servers "
        "without mailwarden; load it with nft -f (docs/bypass.md)");
  } else {
    RuleSet rules;
    try {
      Walk(json::parse(listed.text), rules);
    } catch (const json::exception& e) {
      problems.push_back(std::string("cannot read nft's answer: ") + e.what());
    }
    std::set<int> local_ports;
    for (const std::string& address : config.smtp.local_listen) {
      if (auto parsed = ParseHostPort(address, PortZero::kAllowed))
        local_ports.insert(parsed->port);
    }
    if (rules.redirect_ports.empty() || !rules.refuses) {
      problems.push_back("table inet mailwarden is loaded but lacks its redirect or reject rules");
    }
    for (const int port : rules.redirect_ports) {
      if (local_ports.contains(port)) {
        say_ok("the rule set is loaded; port 25 goes to smtp.local_listen at :" +
               std::to_string(port));
      } else {
        problems.push_back("the rule set redirects port 25 to :" + std::to_string(port) +
                           ", where smtp.local_listen does not listen");
      }
    }
    if (const passwd* user = getpwnam("mailwarden");
        user != nullptr && !rules.smtp_users.contains(user->pw_uid)) {
      problems.push_back("the rule set does not let the user mailwarden (uid " +
                         std::to_string(user->pw_uid) +
                         ") open SMTP connections: load it again after creating that user");
    }
  }

  // The relay, as a user that is not the daemon's.
  if (config.delivery.mode == DeliveryMode::kRelay) {
    auto relay = ParseHostPort(config.delivery.relay);
    const std::string shown = config.delivery.relay;
    std::optional<Reach> reached;
    if (geteuid() != 0) {
      problems.push_back("could not check whether other users reach the relay at " + shown +
                         ": run doctor as root");
    } else if (!relay || !(reached = NobodyReaches(*relay))) {
      problems.push_back("could not check whether other users reach the relay at " + shown);
    } else if (*reached == Reach::kReached) {
      problems.push_back("uid " + std::to_string(kNobody) +
                         " (nobody) can connect to the relay at " + shown +
                         ": scripts can send without mailwarden");
    } else if (*reached == Reach::kMailwarden) {
      say_ok("uid " + std::to_string(kNobody) + " (nobody) connecting to the relay at " + shown +
             " reaches mailwarden instead");
    } else {
      say_ok("uid " + std::to_string(kNobody) + " (nobody) cannot connect to the relay at " +
             shown);
    }
  }

  for (const std::string& problem : problems) std::cout << "problem: " << problem << "\n";
  std::cout.flush();
  return problems.empty() ? 0 : 1;
}

}  // namespace mailwarden
