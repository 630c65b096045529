// For tests only: runs tests/integration/relay_peer.py (an aiosmtpd relay) as a child process
// on a port the OS picks, and reads what it spooled. Needs MW_SOURCE_DIR defined.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "testing/temp_dir.h"

extern char** environ;

namespace mailwarden::testing {

struct SpooledMessage {
  std::string mail_from;
  std::vector<std::string> rcpt_tos;
  std::vector<std::string> mail_options;
  bool tls = false;
  int peer_port = 0;  // the client's source port: one port, one connection
  std::string content;
};

class RelayPeerProcess {
 public:
  // Starts the relay with spool in spool_dir and the extra arguments given; waits up to 15 s
  // for its "PORT n" line. Returns nullopt (with why in error) when it did not come up.
  static std::optional<RelayPeerProcess> Start(const std::filesystem::path& spool_dir,
                                               std::vector<std::string> extra_args,
                                               std::string* error) {
    const std::string script = std::string(MW_SOURCE_DIR) + "/tests/integration/relay_peer.py";
    std::vector<std::string> args = {"/usr/bin/python3", script, "--port", "0", "--spool",
                                     spool_dir.string()};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
      *error = "pipe failed";
      return std::nullopt;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    if (rc != 0) {
      close(fds[0]);
      *error = "cannot run /usr/bin/python3";
      return std::nullopt;
    }
    RelayPeerProcess peer(pid, fds[0]);
    std::string line;
    // Python and aiosmtpd's imports: seconds on a loaded machine.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < until) {
      pollfd p{fds[0], POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char c[256];
      const ssize_t n = read(fds[0], c, sizeof c);
      if (n <= 0) break;
      line.append(c, static_cast<std::size_t>(n));
    }
    if (!line.starts_with("PORT ") || line.find('\n') == std::string::npos) {
      *error = "relay_peer.py did not print its port (is python3-aiosmtpd installed?)";
      return std::nullopt;
    }
    peer.port_ = std::stoi(line.substr(5));
    return peer;
  }

  RelayPeerProcess(RelayPeerProcess&& other) noexcept
      : pid_(std::exchange(other.pid_, -1)),
        out_(std::exchange(other.out_, -1)),
        port_(other.port_) {}
  RelayPeerProcess& operator=(RelayPeerProcess&& other) noexcept {
    if (this != &other) {
      Stop();
      pid_ = std::exchange(other.pid_, -1);
      out_ = std::exchange(other.out_, -1);
      port_ = other.port_;
    }
    return *this;
  }
  ~RelayPeerProcess() { Stop(); }

  void Stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    if (out_ >= 0) close(std::exchange(out_, -1));
  }

  int port() const { return port_; }

 private:
  RelayPeerProcess(pid_t pid, int out) : pid_(pid), out_(out) {}

  pid_t pid_ = -1;
  int out_ = -1;
  int port_ = 0;
};

// The messages in spool_dir, in the order the relay accepted them.
inline std::vector<SpooledMessage> ReadSpool(const std::filesystem::path& spool_dir) {
  std::vector<std::filesystem::path> envelopes;
  for (const auto& entry : std::filesystem::directory_iterator(spool_dir)) {
    if (entry.path().extension() == ".json") envelopes.push_back(entry.path());
  }
  std::sort(envelopes.begin(), envelopes.end());
  std::vector<SpooledMessage> out;
  for (const auto& path : envelopes) {
    std::ifstream json_file(path);
    const auto json = nlohmann::json::parse(json_file);
    SpooledMessage m;
    m.mail_from = json.at("mail_from").get<std::string>();
    m.rcpt_tos = json.at("rcpt_tos").get<std::vector<std::string>>();
    m.mail_options = json.at("mail_options").get<std::vector<std::string>>();
    m.tls = json.at("tls").get<bool>();
    m.peer_port = json.at("peer").at(1).get<int>();
    auto eml = path;
    eml.replace_extension(".eml");
    std::ifstream eml_file(eml, std::ios::binary);
    m.content.assign(std::istreambuf_iterator<char>(eml_file), std::istreambuf_iterator<char>());
    out.push_back(std::move(m));
  }
  return out;
}

// Makes a self-signed certificate for "localhost" and 127.0.0.1 with the openssl tool.
inline bool MakeSelfSignedCertificate(const std::filesystem::path& cert,
                                      const std::filesystem::path& key) {
  const std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
      "-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout '" +
      key.string() + "' -out '" + cert.string() + "' >/dev/null 2>&1";
  return std::system(command.c_str()) == 0;
}

// A test with a relay_peer.py of its own: a fresh temporary folder (removed afterwards) with
// the relay's spool in it; StartRelay starts (or restarts) the relay with extra arguments.
class RelayPeerFixture : public ::testing::Test {
 protected:
  void TearDown() override { relay_.reset(); }

  void StartRelay(std::vector<std::string> args) {
    relay_.reset();
    std::string error;
    relay_ = RelayPeerProcess::Start(spool_, std::move(args), &error);
    ASSERT_TRUE(relay_) << error;
  }

  TempDir temp_dir_{"mw_relay_peer_test"};
  const std::filesystem::path dir_ = temp_dir_.path();
  const std::filesystem::path spool_ = dir_ / "spool";
  std::optional<RelayPeerProcess> relay_;
};

}  // namespace mailwarden::testing
