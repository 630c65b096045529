// exec_bench — runs a command many times from parallel workers and reports how many runs per
// second exited 0: the submission rate of a sendmail-like program as a script host sees it
// (one exec per message, stdin a prepared message, counted when the program has exited).
//
//   exec_bench [--parallel P] [--count N] [--stdin FILE] [--fsync DIR [--fsync-bytes B]]
//              -- COMMAND [ARG...]
//
// N runs in all, shared by P workers (threads, each spawning one child at a time). With
// --fsync DIR each run is followed by appending the stdin file's first B bytes (2 KB unless
// told; 0: all of it) to the worker's own file in DIR and fsync()ing it: with COMMAND
// /bin/true that is the machine's floor for one durable submission of that size (an exec and
// one fsync on the store's filesystem).
//
// Prints one line: "runs N failed F seconds S per_s R". Exits 1 when a run failed (exit
// status not 0, or not spawned), 64 on bad usage.
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

extern char** environ;

namespace mailwarden {
namespace {

struct Options {
  int parallel = 1;
  long count = 1000;
  std::string stdin_path = "/dev/null";
  std::string fsync_dir;
  long fsync_bytes = 2048;     // 0: the whole stdin file
  std::vector<char*> command;  // null-terminated
};

bool ParseOptions(int argc, char** argv, Options& options) {
  int i = 1;
  for (; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (i + 1 >= argc) return false;
    if (arg == "--parallel") {
      options.parallel = std::atoi(argv[++i]);
    } else if (arg == "--count") {
      options.count = std::atol(argv[++i]);
    } else if (arg == "--stdin") {
      options.stdin_path = argv[++i];
    } else if (arg == "--fsync") {
      options.fsync_dir = argv[++i];
    } else if (arg == "--fsync-bytes") {
      options.fsync_bytes = std::atol(argv[++i]);
      if (options.fsync_bytes < 0) return false;
    } else {
      return false;
    }
  }
  if (i >= argc || options.parallel < 1 || options.count < 1) return false;
  for (; i < argc; ++i) options.command.push_back(argv[i]);
  options.command.push_back(nullptr);
  return true;
}

bool RunOnce(const Options& options, posix_spawn_file_actions_t* actions) {
  pid_t pid = 0;
  if (::posix_spawn(&pid, options.command[0], actions, nullptr, options.command.data(), environ) !=
      0) {
    return false;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return false;
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void Worker(const Options& options, int index, std::atomic<long>& next, std::atomic<long>& ok,
            std::atomic<long>& failed) {
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_addopen(&actions, 0, options.stdin_path.c_str(), O_RDONLY, 0);
  int out = -1;
  std::string record;
  if (!options.fsync_dir.empty()) {
    const std::string path = options.fsync_dir + "/floor." + std::to_string(index);
    out = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (const int in = ::open(options.stdin_path.c_str(), O_RDONLY | O_CLOEXEC); in >= 0) {
      struct stat st {};
      const long size = ::fstat(in, &st) == 0 ? static_cast<long>(st.st_size) : 2048;
      record.assign(static_cast<std::size_t>(options.fsync_bytes > 0 ? options.fsync_bytes : size),
                    'x');
      std::size_t have = 0;
      while (have < record.size()) {
        const ssize_t got = ::read(in, record.data() + have, record.size() - have);
        if (got <= 0) break;
        have += static_cast<std::size_t>(got);
      }
      if (have > 0) record.resize(have);
      ::close(in);
    } else {
      record.assign(2048, 'x');
    }
  }
  while (next.fetch_add(1) < options.count) {
    bool good = RunOnce(options, &actions);
    if (good && out >= 0) {
      // The one fsync a durable submission needs at least: data and the file's growth.
      good = ::write(out, record.data(), record.size()) == static_cast<ssize_t>(record.size()) &&
             ::fsync(out) == 0;
    }
    (good ? ok : failed).fetch_add(1);
  }
  if (out >= 0) ::close(out);
  ::posix_spawn_file_actions_destroy(&actions);
}

}  // namespace
}  // namespace mailwarden

int main(int argc, char** argv) {
  mailwarden::Options options;
  if (!mailwarden::ParseOptions(argc, argv, options)) {
    std::fprintf(stderr,
                 "usage: exec_bench [--parallel P] [--count N] [--stdin FILE] [--fsync DIR "
                 "[--fsync-bytes B]] -- COMMAND [ARG...]\n");
    return 64;
  }
  std::atomic<long> next{0};
  std::atomic<long> ok{0};
  std::atomic<long> failed{0};
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int i = 0; i < options.parallel; ++i) {
    workers.emplace_back([&, i] { mailwarden::Worker(options, i, next, ok, failed); });
  }
  for (auto& w : workers) w.join();
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  std::printf("runs %ld failed %ld seconds %.4f per_s %.1f\n", ok.load(), failed.load(),
              took.count(), static_cast<double>(ok.load()) / took.count());
  return failed.load() == 0 ? 0 : 1;
}
